"""Import a user's MANO hand model file into a synth rig (pure numpy; no chumpy, no torch).

MANO (Romero et al. 2017) is distributed as ``MANO_RIGHT.pkl`` / ``MANO_LEFT.pkl`` under a
non-commercial licence, so synth never ships it: :func:`import_mano` converts the user's own file
into a :class:`~synth.hand.rig.HandRig` (``synth models import-mano PATH --out RIG.npz``).

Accepted inputs:

* ``.pkl`` as released (Python-2 pickles holding ``chumpy`` objects and a ``scipy.sparse``
  joint regressor) or already "cleaned" pickles with plain numpy arrays. The pickle is read with
  a *restricted* unpickler: only numpy arrays/dtypes, ``scipy.sparse`` matrices and chumpy
  objects can be built; chumpy objects are replaced by the numpy array they hold (``x`` of a
  ``chumpy.ch.Ch``; ``a`` of the reordering/op wrappers), so chumpy never needs installing and
  a pickle naming any other callable is refused.
* ``.npz`` with the same keys (object members are read with the same restricted unpickler).

Required keys: ``v_template`` (778, 3), ``f`` (F, 3), ``weights`` (778, 16), ``kintree_table``
(2, 16), ``J_regressor`` (16, 778) dense or sparse, ``shapedirs`` (778, 3, >=10), ``posedirs``
(778, 3, 135). The optional pose PCA ``hands_components`` / ``hands_mean`` is kept in
``rig.extra`` (``mano_hands_components``, ``mano_hands_mean``) only to convert native MANO poses
(:func:`hand_pose_from_pca`, ``flat_hand_mean=False``); the rig itself is posed with full
per-joint rotations and its rest pose is the flat template (``flat_hand_mean=True`` in smplx).

Conversion (exact, all maps linear):

* **Model frame.** synth rigs live in the model frame of :mod:`synth.hand.rig` (origin at the wrist
  joint of the default shape, +y toward the fingers, +z dorsal). The MANO data are moved there by
  the rigid map ``m = Q (p - o)`` with ``o`` the MANO wrist joint at ``betas = 0`` and ``Q`` a
  proper rotation derived from the template joints exactly as the open hand's frame (y: wrist ->
  middle MCP; x: index MCP -> pinky MCP, orthogonalised; z = x cross y, dorsal), so the palmar
  direction is -z and the ulnar direction +x of the right hand. ``Q`` and ``o`` are kept as the 4x4
  ``rig.extra["mano_to_model"]``. Vertex, joint and shape directions are rotated; the pose
  correctives are re-expressed for the conjugated rotations ``R' = Q R Q^T`` (the pose feature
  ``vec(R' - I)`` is an orthogonal linear map of ``vec(R - I)``), so :func:`synth.hand.skinning.forward`
  with ``bone_rotations = Q R_mano Q^T`` reproduces smplx's MANO output mapped by ``m``.
  :func:`rotations_from_mano_pose` / :func:`mano_pose_from_rotations` convert MANO's
  ``global_orient`` + 45-D ``hand_pose`` (axis-angle, radians) to and from rig bone rotations.
* **Shape.** ``shape_kind = "linear"``, the 10 betas (range [-2, 2]); ``joint_shape_dirs =
  J_regressor @ shapedirs``, ``rest_joints = J_regressor @ v_template`` (both exact).
* **Left-hand shapedirs fix** (smplx issue #48): the released ``MANO_LEFT.pkl`` carries the right
  hand's shape directions, whose x components (MANO frame, the mirror axis) have the wrong sign.
  smplx itself does not fix it; users apply ``shapedirs[:, 0, :] *= -1`` to the left model. With
  only one file at hand we detect the bug from the file: the first shape component of MANO is an
  overall size change, so its displacements correlate with ``v - mean(v)`` with one sign on all
  three axes; the buggy left file shows an x correlation of the opposite sign to the y and z ones.
  ``fix_left_shapedirs=True/False`` overrides the detection.
* **Bones.** MANO joint order: 0 wrist (root), 1-3 index, 4-6 middle, 7-9 pinky, 10-12 ring,
  13-15 thumb. MANO has no separate forearm or wrist bone: the anatomical ``wrist`` joint drives
  the root bone, i.e. wrist angles rotate the whole hand about the wrist joint, and no vertex has
  the forearm part (1); vertices dominated by the root bone are palm (2).
* **Joint frames** follow :mod:`synth.hand.anatomy` exactly as the open hand does: x distal along
  the bone (toward the child joint; for distal bones toward the fingertip vertex), y =
  normalize(x cross t) with t the flexion target (palmar for fingers and wrist; ulnar in the palm
  plane for the thumb CMC; normalize(ulnar + palmar) for the thumb MCP/IP), z = x cross y. For a
  left file the frames are computed right-style on the mirror image and mapped back with
  ``S F D`` (``S = diag(-1, 1, 1)``, ``D = diag(1, -1, 1)``) and ``angle_signs = (1, -1, -1)``,
  the convention of :func:`synth.hand.rig.mirror_rig`.
* **Keypoints.** Joints are bone heads; fingertips are smplx's MANO tip vertices (thumb 744,
  index 320, middle 443, ring 554, pinky 671, same ids for both sides).
* MANO has no UVs: ``face_uvs`` is a planar projection of the rest template onto the model x-y
  plane (normalised to [0, 1]); no quads.
"""

from __future__ import annotations

import hashlib
import io
import logging
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from synth.geometry import vertex_normals
from synth.hand import anatomy
from synth.hand.rig import HandRig, RigError, validate

logger = logging.getLogger(__name__)

N_VERTICES = 778
N_JOINTS = 16
N_BETAS = 10

#: MANO bone names in MANO joint order.
MANO_BONE_NAMES: tuple[str, ...] = (
    "wrist",
    "index1", "index2", "index3",
    "middle1", "middle2", "middle3",
    "pinky1", "pinky2", "pinky3",
    "ring1", "ring2", "ring3",
    "thumb1", "thumb2", "thumb3",
)  # fmt: skip

#: MANO bone driven by each anatomical joint (anatomy.JOINTS order).
MANO_ANAT_BONES: tuple[int, ...] = (0, 13, 14, 15, 1, 2, 3, 4, 5, 6, 10, 11, 12, 7, 8, 9)

#: smplx's MANO fingertip vertex ids (``smplx.vertex_ids.vertex_ids["mano"]``), thumb..pinky.
MANO_TIP_VERTEX_IDS: tuple[int, ...] = (744, 320, 443, 554, 671)

#: synth part id of each MANO bone (the root bone is palm: MANO has no forearm).
MANO_BONE_PARTS: tuple[int, ...] = (2, 4, 4, 4, 5, 5, 5, 7, 7, 7, 6, 6, 6, 3, 3, 3)

#: Distal bone of each finger, thumb..pinky (its x axis points at the tip vertex).
_DISTAL_BONES: tuple[int, ...] = (15, 3, 6, 12, 9)

_REQUIRED_KEYS = ("v_template", "f", "weights", "kintree_table", "J_regressor", "shapedirs", "posedirs")

LICENCE = "MANO licence (user-supplied file, not redistributable)"


# ---- restricted, chumpy-free unpickling ------------------------------------------------------
class _ChumpyShim:
    """Stand-in for any pickled chumpy object: keeps its state dict, never runs chumpy code."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._chumpy_args = args

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (dict, slots)
            state = {**(state[0] or {}), **(state[1] or {})}
        self._chumpy_state = state if isinstance(state, dict) else {"state": state}


def _make_shim(qualname: str) -> type:
    return type(qualname.rsplit(".", 1)[-1], (_ChumpyShim,), {"_chumpy_class": qualname})


_SAFE_GLOBALS: dict[tuple[str, str], str] = {
    ("copyreg", "_reconstructor"): "copyreg",
    ("copy_reg", "_reconstructor"): "copyreg",
    ("__builtin__", "object"): "builtins",
    ("builtins", "object"): "builtins",
    ("__builtin__", "set"): "builtins",
    ("builtins", "set"): "builtins",
    ("__builtin__", "frozenset"): "builtins",
    ("builtins", "frozenset"): "builtins",
    ("__builtin__", "slice"): "builtins",
    ("builtins", "slice"): "builtins",
    ("__builtin__", "complex"): "builtins",
    ("builtins", "complex"): "builtins",
    ("_codecs", "encode"): "_codecs",
}
_NUMPY_NAMES = {"_reconstruct", "ndarray", "dtype", "scalar", "_frombuffer", "matrix"}
_SPARSE_NAMES = re.compile(r"^(csc|csr|coo|lil|dok|bsr|dia)_(matrix|array)$")


class _RestrictedUnpickler(pickle.Unpickler):
    """Builds numpy arrays, scipy.sparse matrices and chumpy shims; refuses everything else."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "chumpy" or module.startswith("chumpy."):
            return _make_shim(f"{module}.{name}")
        if (module, name) in _SAFE_GLOBALS:
            mod = {"copy_reg": "copyreg", "__builtin__": "builtins"}.get(module, module)
            return super().find_class(mod, name)
        if module.split(".")[0] == "numpy" and name in _NUMPY_NAMES:
            return super().find_class(module, name)
        if module.startswith("scipy.sparse") and _SPARSE_NAMES.match(name):
            import scipy.sparse  # lazy: only pickles with a sparse regressor need scipy

            return getattr(scipy.sparse, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy, scipy.sparse and chumpy data allowed)")


def _unchumpy(obj: Any, depth: int = 0) -> Any:
    """Replace chumpy shims (recursively) by the numpy arrays they hold.

    Supported: terminal ``Ch`` (its ``x``) and chumpy's pure reorderings (``Reshape``,
    ``transpose``, ``Select``, ``Concatenate``, ``Tile``, ``Repeat``, ``swapaxes``, ``rollaxis``,
    ``AtleastNd``), evaluated with numpy. Anything else (arithmetic ops) is refused rather than
    guessed."""
    if depth > 50:
        raise RigError("chumpy object nesting too deep")
    if isinstance(obj, dict):
        return {k: _unchumpy(v, depth + 1) for k, v in obj.items()}
    if not isinstance(obj, _ChumpyShim):
        return obj
    st = getattr(obj, "_chumpy_state", {})
    cls = getattr(obj, "_chumpy_class", "chumpy")
    short = cls.rsplit(".", 1)[-1]

    def arr(key: str) -> np.ndarray:
        return np.asarray(_unchumpy(st[key], depth + 1))

    try:
        if short == "Ch" and "x" in st:
            return arr("x")
        if short == "AtleastNd":
            return {1: np.atleast_1d, 2: np.atleast_2d, 3: np.atleast_3d}[int(st["ndims"])](arr("x"))
        if short == "Reshape":
            return arr("a").reshape(st["newshape"])
        if short == "transpose":
            return np.transpose(arr("a"), st.get("axes"))
        if short == "Select":
            out = arr("a").ravel()[np.asarray(st["idxs"])]
            return out.reshape(st["preferred_shape"]) if st.get("preferred_shape") is not None else out
        if short == "Concatenate":
            names = list(st.get("dterms") or [])
            return np.concatenate([arr(n) for n in names], axis=st["axis"])
        if short == "Tile":
            return np.tile(arr("a"), st["reps"])
        if short == "Repeat":
            return np.repeat(arr("a"), st["repeats"], st.get("axis"))
        if short == "swapaxes":
            return np.swapaxes(arr("a"), st["axis1"], st["axis2"])
        if short == "rollaxis":
            return np.rollaxis(arr("a"), st["axis"], st.get("start", 0))
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise RigError(f"malformed chumpy object {cls} ({type(exc).__name__}: {exc})") from exc
    raise RigError(f"unsupported chumpy object {cls}; convert the file to plain numpy arrays")


def _load_pickle_bytes(data: bytes) -> Any:
    return _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()


def _load_npz(path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with zipfile.ZipFile(path) as zf:
        for member in zf.namelist():
            if not member.endswith(".npy"):
                continue
            with zf.open(member) as fp:
                buf = io.BytesIO(fp.read())
            version = np.lib.format.read_magic(buf)
            shape, fortran, dtype = np.lib.format._read_array_header(buf, version)  # noqa: SLF001
            if dtype.hasobject:
                arr: Any = _RestrictedUnpickler(buf, encoding="latin1").load()
                if isinstance(arr, np.ndarray) and arr.dtype.hasobject and arr.shape == ():
                    arr = arr.item()
            else:
                buf.seek(0)
                arr = np.lib.format.read_array(buf, allow_pickle=False)
            out[member[: -len(".npy")]] = arr
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""


def load_mano_data(path: str | Path) -> dict[str, Any]:
    """Read a MANO ``.pkl``/``.npz`` into a dict of numpy arrays (sparse matrices kept sparse).

    Raises :class:`RigError` with a one-line reason for a missing, unreadable or non-MANO file.
    """
    path = Path(path)
    if not path.is_file():
        raise RigError(f"MANO file not found: {path}")
    raw = path.read_bytes()
    try:
        if raw[:4] == b"PK\x03\x04":
            data = _load_npz(path)
        elif raw[:1] == b"\x80" or raw[:1] in (b"(", b"}"):
            data = _load_pickle_bytes(raw)
        else:
            raise RigError(f"{path}: not a MANO .pkl or .npz file (unrecognised content)")
    except RigError:
        raise
    except pickle.UnpicklingError as exc:
        raise RigError(f"{path}: cannot read the pickle: {_first_line(exc) or 'corrupt'}") from exc
    except Exception as exc:  # noqa: BLE001 - any decoding failure of a corrupt file
        raise RigError(f"{path}: corrupt or unreadable MANO file ({type(exc).__name__}: {_first_line(exc)})") from exc
    if not isinstance(data, dict):
        raise RigError(f"{path}: not a MANO model (the file holds a {type(data).__name__}, not a dict of arrays)")
    data = _unchumpy(data)
    missing = [k for k in _REQUIRED_KEYS if k not in data]
    if missing:
        raise RigError(f"{path}: not a MANO model file, missing {', '.join(missing)}")
    return data


# ---- geometry helpers ------------------------------------------------------------------------
def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    if np.any(n < 1e-12):
        raise RigError("degenerate MANO geometry (zero-length direction)")
    return v / n


def _right_frame(joints: np.ndarray) -> np.ndarray:
    """Rotation ``Q`` (rows x, y, z) mapping a *right* MANO hand to the model frame axes, defined
    as for the open hand (``open_hand.canonical_frame``): y from the wrist to the middle MCP,
    x from the index MCP to the pinky MCP made orthogonal to y, z = x cross y (dorsal)."""
    y = _unit(joints[4] - joints[0])
    x = joints[7] - joints[1]
    x = _unit(x - y * (x @ y))
    return np.stack([x, y, np.cross(x, y)])


def _right_joint_frames(joints: np.ndarray, parents: np.ndarray, tips: np.ndarray) -> np.ndarray:
    """Anatomical joint frames ``(J, 3, 3)`` (columns x, y, z) of a right hand in model axes
    (palmar = -z, ulnar = +x), following the rules of :mod:`synth.hand.anatomy`."""
    palmar = np.array([0.0, 0.0, -1.0])
    ulnar = np.array([1.0, 0.0, 0.0])
    J = joints.shape[0]
    frames = np.zeros((J, 3, 3))
    children: dict[int, int] = {}
    for j in range(1, J):
        children.setdefault(int(parents[j]), j)
    distal = dict(zip(_DISTAL_BONES, tips, strict=True))
    for j in range(J):
        if j == 0:
            target_pt = joints[4]  # the root's "child": the middle finger MCP
        elif j in distal:
            target_pt = distal[j]
        else:
            target_pt = joints[children[j]]
        x = _unit(target_pt - joints[j])
        if j == 13:
            t = ulnar
        elif j in (14, 15):
            t = _unit(ulnar + palmar)
        else:
            t = palmar
        y = _unit(np.cross(x, t))
        z = np.cross(x, y)
        frames[j] = np.stack([x, y, z], axis=1)
    return frames


def _needs_left_fix(v: np.ndarray, shapedirs: np.ndarray, name: str) -> bool:
    """Detect the MANO_LEFT shapedirs bug (module docstring): True if the first shape direction's
    x correlation with ``v - mean(v)`` has the opposite sign of its y and z correlations. When the
    first direction is not size-like (some |correlation| < 0.2) the test is inconclusive and the
    fix is applied, because the released left file has the bug; a warning says so."""
    d = v - v.mean(0)
    s0 = shapedirs[:, :, 0]
    c = (d * s0).sum(0) / np.maximum(np.linalg.norm(d, axis=0) * np.linalg.norm(s0, axis=0), 1e-30)
    logger.debug("%s: shapedirs[..., 0] axis correlations with the template: %s", name, c)
    if np.abs(c).min() < 0.2:
        logger.warning("%s: cannot tell whether the left-hand shapedirs fix is needed (correlations %s); "
                       "applying it as for the released MANO_LEFT.pkl -- pass fix_left_shapedirs to override",
                       name, np.round(c, 3))
        return True
    return bool(c[0] * c[1] < 0 and c[0] * c[2] < 0)


def _side_from_name(path: Path) -> str | None:
    stem = path.name.upper()
    if "LEFT" in stem and "RIGHT" not in stem:
        return "left"
    if "RIGHT" in stem and "LEFT" not in stem:
        return "right"
    return None


def _as_dense(a: Any, name: str, path: Path) -> np.ndarray:
    if hasattr(a, "toarray"):  # scipy.sparse
        a = a.toarray()
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise RigError(f"{path}: MANO key {name} is not numeric ({exc})") from exc
    if not np.isfinite(arr).all():
        raise RigError(f"{path}: MANO key {name} has non-finite values")
    return arr


# ---- the import ------------------------------------------------------------------------------
def import_mano(
    path: str | Path,
    side: str | None = None,
    *,
    fix_left_shapedirs: bool | None = None,
    name: str = "mano",
) -> HandRig:
    """Convert a MANO model file (``.pkl`` with or without chumpy, or ``.npz``) to a rig.

    Args:
        path: the user's ``MANO_RIGHT.pkl`` / ``MANO_LEFT.pkl`` (or an ``.npz`` with the same keys).
        side: ``"right"`` or ``"left"``; default: from the file name (``LEFT`` / ``RIGHT``).
        fix_left_shapedirs: left files only: negate the x components of the shape directions
            (smplx issue #48). ``None`` (default) detects the bug from the file (module docstring).
        name: the rig name.
    Returns:
        A validated :class:`HandRig` in the synth model frame (metres), with ``posedirs``,
        10 linear shape parameters, ``extra["mano_to_model"]`` (4, 4) and, when the file has
        them, ``extra["mano_hands_mean"]`` (45,) and ``extra["mano_hands_components"]`` (n, 45).
    Raises:
        RigError: one-line reason for a missing, corrupt or wrong-kind file, or an unknown side.
    """
    path = Path(path)
    data = load_mano_data(path)
    if side is None:
        side = _side_from_name(path)
        if side is None:
            raise RigError(f"{path}: cannot tell the hand side from the file name; pass side 'left' or 'right'")
    if side not in ("right", "left"):
        raise RigError(f"side must be 'right' or 'left', got {side!r}")
    named = _side_from_name(path)
    if named is not None and named != side:
        logger.warning("%s: file name says %s hand but side=%s was requested; using %s", path.name, named, side, side)

    v = _as_dense(data["v_template"], "v_template", path)
    V = v.shape[0]
    if v.shape != (N_VERTICES, 3):
        raise RigError(f"{path}: not a MANO model: v_template is {v.shape}, expected ({N_VERTICES}, 3)")
    kin = np.asarray(_as_dense(data["kintree_table"], "kintree_table", path))
    if kin.shape != (2, N_JOINTS):
        raise RigError(f"{path}: not a MANO model: kintree_table is {kin.shape}, expected (2, {N_JOINTS})")
    if not np.array_equal(kin[1], np.arange(N_JOINTS)):
        raise RigError(f"{path}: kintree_table row 1 must list joints 0..15 in order")
    parents = kin[0].astype(np.int64)
    parents[0] = -1
    if not all(0 <= parents[j] < j for j in range(1, N_JOINTS)):
        raise RigError(f"{path}: kintree_table parents are not topologically sorted")
    f = np.asarray(data["f"])
    if f.ndim != 2 or f.shape[1] != 3 or f.size == 0 or not np.issubdtype(np.asarray(f).dtype, np.number):
        raise RigError(f"{path}: MANO faces f must be (F, 3) integers, got {f.shape}")
    f = f.astype(np.int64)
    if f.min() < 0 or f.max() >= V:
        raise RigError(f"{path}: MANO faces index outside the {V} vertices")
    W = _as_dense(data["weights"], "weights", path)
    Jreg = _as_dense(data["J_regressor"], "J_regressor", path)
    sd = _as_dense(data["shapedirs"], "shapedirs", path)
    pd = _as_dense(data["posedirs"], "posedirs", path)
    for key, arr, shp in (("weights", W, (V, N_JOINTS)), ("J_regressor", Jreg, (N_JOINTS, V)),
                          ("posedirs", pd, (V, 3, 9 * (N_JOINTS - 1)))):
        if arr.shape != shp:
            raise RigError(f"{path}: MANO key {key} is {arr.shape}, expected {shp}")
    if sd.ndim != 3 or sd.shape[:2] != (V, 3) or sd.shape[2] < N_BETAS:
        raise RigError(f"{path}: MANO key shapedirs is {sd.shape}, expected ({V}, 3, >={N_BETAS})")
    sd = sd[:, :, :N_BETAS].copy()
    if not np.allclose(W.sum(1), 1.0, atol=1e-4):
        raise RigError(f"{path}: MANO skinning weights rows do not sum to 1")

    fixed = False
    if side == "left":
        fixed = _needs_left_fix(v, sd, path.name) if fix_left_shapedirs is None else bool(fix_left_shapedirs)
        if fixed:
            sd[:, 0, :] *= -1.0
            logger.info("%s: applied the MANO left-hand shapedirs fix (x components negated)", path.name)

    # Rigid map to the model frame. Left: compute the right-hand frame of the x-mirror.
    J0 = Jreg @ v  # (16, 3) MANO frame
    M = np.diag([-1.0, 1.0, 1.0])
    S = np.diag([-1.0, 1.0, 1.0])
    D = np.diag([1.0, -1.0, 1.0])
    Q = _right_frame(J0) if side == "right" else S @ _right_frame(J0 @ M) @ M
    o = J0[0].copy()

    tv = (v - o) @ Q.T
    rest_joints = (J0 - o) @ Q.T
    shape_dirs = np.einsum("vcs,dc->svd", sd, Q)  # (10, V, 3)
    joint_shape_dirs = np.einsum("jv,svd->sjd", Jreg, shape_dirs)
    # Pose correctives for the conjugated rotations: feat = feat' (Q kron Q) per bone.
    P = pd.reshape(3 * V, -1).T  # (135, 3V), smplx's layout: feature @ P -> (V*3)
    QQ = np.kron(Q, Q)  # (9, 9)
    K = np.kron(np.eye(N_JOINTS - 1), QQ)  # (135, 135)
    posedirs = ((K @ P).reshape(-1, V, 3) @ Q.T).reshape(-1, 3 * V)

    tips = np.array(MANO_TIP_VERTEX_IDS, dtype=np.int32)
    if side == "right":
        frames = _right_joint_frames(rest_joints, parents, tv[tips])
        angle_signs = np.array([1.0, 1.0, 1.0])
    else:
        fr = _right_joint_frames(rest_joints @ S, parents, tv[tips] @ S)
        frames = S @ fr @ D
        angle_signs = np.array([1.0, -1.0, -1.0])

    dom = np.argmax(W, axis=1)
    parts = np.asarray(MANO_BONE_PARTS, dtype=np.uint8)[dom]
    nail = _nail_mask(tv, f, dom, rest_joints, frames, tips)

    lo, hi = tv[:, :2].min(0), tv[:, :2].max(0)
    uv = ((tv[:, :2] - lo) / np.maximum(hi - lo, 1e-9)).astype(np.float32)

    kp_kind = np.zeros(21, dtype=np.int8)
    kp_index = np.zeros(21, dtype=np.int32)
    for k, j in enumerate((0, 13, 14, 15, None, 1, 2, 3, None, 4, 5, 6, None, 10, 11, 12, None, 7, 8, 9, None)):
        if j is None:
            kp_kind[k] = 1
            kp_index[k] = tips[(k // 4) - 1]
        else:
            kp_index[k] = j

    T = np.eye(4)
    T[:3, :3] = Q
    T[:3, 3] = -Q @ o
    extra: dict[str, np.ndarray] = {"mano_to_model": T}
    for key in ("hands_mean", "hands_components"):  # MANO's pose PCA, for native-pose conversion
        if key in data:
            a = _as_dense(data[key], key, path)
            if a.shape[-1] == 3 * (N_JOINTS - 1):
                extra[f"mano_{key}"] = a
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    rig = HandRig(
        name=name,
        side=side,
        template_vertices=tv,
        faces=f.astype(np.int32),
        face_uvs=uv[f].astype(np.float32),
        quads=np.zeros((0, 4), dtype=np.int32),
        quad_uvs=np.zeros((0, 4, 2), dtype=np.float32),
        skin_weights=W.astype(np.float32),
        bone_names=MANO_BONE_NAMES,
        bone_parents=parents.astype(np.int32),
        rest_joints=rest_joints,
        joint_frames=frames,
        angle_signs=angle_signs,
        anat_bones=np.array(MANO_ANAT_BONES, dtype=np.int32),
        shape_kind="linear",
        shape_dirs=shape_dirs,
        joint_shape_dirs=joint_shape_dirs,
        shape_names=tuple(f"beta{i}" for i in range(N_BETAS)),
        shape_default=np.zeros(N_BETAS),
        shape_range=np.tile([-2.0, 2.0], (N_BETAS, 1)),
        posedirs=posedirs,
        parts=parts,
        tip_vertex_ids=tips,
        nail_mask=nail,
        keypoint_kind=kp_kind,
        keypoint_index=kp_index,
        licence=LICENCE,
        provenance=(f"{path.name} sha256={sha}; imported by synth.hand.models.mano ({side} hand"
                    f"{', left shapedirs fix applied' if fixed else ''})"),
        extra=extra,
    )
    validate(rig)
    return rig


def _nail_mask(tv: np.ndarray, f: np.ndarray, dom: np.ndarray, joints: np.ndarray,
               frames: np.ndarray, tips: np.ndarray) -> np.ndarray:
    """Vertices of the distal segments, in their distal 60 %, whose normals face dorsally
    (normal . z_frame > 0.5). ``(V,)`` bool."""
    vn = vertex_normals(tv, f)
    mask = np.zeros(tv.shape[0], dtype=bool)
    for b, tip in zip(_DISTAL_BONES, tips, strict=True):
        sel = dom == b
        x, z = frames[b][:, 0], frames[b][:, 2]
        length = max(float((tv[tip] - joints[b]) @ x), 1e-6)
        t = (tv - joints[b]) @ x / length
        mask |= sel & (t > 0.4) & (vn @ z > 0.5)
    return mask


# ---- native pose conversion ------------------------------------------------------------------
def _mano_to_model(rig_or_transform: HandRig | np.ndarray) -> np.ndarray:
    if isinstance(rig_or_transform, HandRig):
        T = rig_or_transform.extra.get("mano_to_model")
        if T is None:
            raise RigError(f"rig {rig_or_transform.name!r} has no mano_to_model transform (not imported from MANO)")
        return np.asarray(T, dtype=np.float64)[:3, :3]
    T = np.asarray(rig_or_transform, dtype=np.float64)
    return T[:3, :3]


def hand_pose_from_pca(rig: HandRig, coeffs: np.ndarray, flat_hand_mean: bool = False) -> np.ndarray:
    """MANO's full 45-D ``hand_pose`` ``(..., 45)`` (radians, relative to the flat hand) from PCA
    coefficients ``(..., n)`` as smplx computes it with ``use_pca=True``: ``coeffs @
    hands_components[:n]``, plus ``hands_mean`` unless ``flat_hand_mean``."""
    if "mano_hands_components" not in rig.extra or "mano_hands_mean" not in rig.extra:
        raise RigError(f"rig {rig.name!r} has no MANO pose PCA (hands_components/hands_mean were not in the file)")
    c = np.asarray(coeffs, dtype=np.float64)
    pose = c @ rig.extra["mano_hands_components"][: c.shape[-1]]
    return pose if flat_hand_mean else pose + rig.extra["mano_hands_mean"]


def rotations_from_mano_pose(
    rig: HandRig | np.ndarray, global_orient: np.ndarray, hand_pose: np.ndarray, flat_hand_mean: bool = True
) -> np.ndarray:
    """Rig bone rotations ``(..., 16, 3, 3)`` (model axes, for ``forward(bone_rotations=)``) from
    MANO's ``global_orient`` ``(..., 3)`` and full ``hand_pose`` ``(..., 45)`` (axis-angle, radians).
    ``rig`` may be the imported rig or its ``mano_to_model`` (4, 4). With ``flat_hand_mean=False``
    (smplx's default) the file's ``hands_mean`` is added to ``hand_pose`` first, as smplx does."""
    Q = _mano_to_model(rig)
    go = np.asarray(global_orient, dtype=np.float64)
    hp = np.asarray(hand_pose, dtype=np.float64)
    if not flat_hand_mean:
        if not isinstance(rig, HandRig) or "mano_hands_mean" not in rig.extra:
            raise RigError("flat_hand_mean=False needs the imported rig with its MANO hands_mean")
        hp = hp + rig.extra["mano_hands_mean"]
    hp = hp.reshape(go.shape[:-1] + (N_JOINTS - 1, 3))
    R = anatomy.axis_angle_to_matrix(np.concatenate([go[..., None, :], hp], axis=-2))
    return Q @ R @ Q.T


def mano_pose_from_rotations(rig: HandRig | np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`rotations_from_mano_pose`: ``(global_orient (..., 3), hand_pose (..., 45))``."""
    Q = _mano_to_model(rig)
    aa = anatomy.matrix_to_axis_angle(Q.T @ np.asarray(R, dtype=np.float64) @ Q)
    return aa[..., 0, :], aa[..., 1:, :].reshape(aa.shape[:-2] + (3 * (N_JOINTS - 1),))


__all__ = [
    "LICENCE",
    "MANO_ANAT_BONES",
    "MANO_BONE_NAMES",
    "MANO_TIP_VERTEX_IDS",
    "hand_pose_from_pca",
    "import_mano",
    "load_mano_data",
    "mano_pose_from_rotations",
    "rotations_from_mano_pose",
]
