"""Malformed-hand defects made on the skinned hand mesh (pure numpy).

Every operation takes the rig, the sample's shape / pose and root (model -> world), and a
:class:`Defect` (type, finger(s), severity in [0, 1]), and returns a :class:`DefectMesh`: the
twin's world-frame surface, its topology (which may differ from the rig's), where each new vertex
and triangle came from (to carry UVs, part ids and skin-shader attributes), its keypoints and a
JSON-safe record of what changed.

Operations (finger ids: 0 thumb .. 4 pinky, :data:`synth.hand.anatomy.FINGERS` order):

* ``extra_finger`` / ``extra_thumb``: the finger's triangles (all three vertices of its part)
  are copied, scaled by 0.85-1.0 and turned ``25 + 15 * severity`` degrees about the palm normal
  through its MCP (thumb: CMC) keypoint, away from its neighbour; the copy's open base is closed
  with a dome cap, so it is a separate closed component that meets the palm at the knuckle.
* ``missing_finger``: the finger's triangles are removed and the hole is closed with a low dome
  (palm part id), the finger's four keypoints become NaN.
* ``fused_fingers``: two adjacent fingers move toward each other by ``alpha / 2`` of the rigid
  map between corresponding bones (``alpha = 0.85 + 0.15 * severity``), blended by each vertex's
  skin weights on the finger's bones, so the gap closes and the two read as one wide digit.
* ``hyperextension``: one joint is posed past its limit in :data:`synth.hand.anatomy.LIMITS_DEG`
  (``backward``: flexion below the minimum; ``sideways``: abduction beyond the range) by
  ``35 + 35 * severity`` degrees, and the hand is re-skinned.
* ``finger_length``: a finger's rest geometry is stretched along its axis from the MCP by
  ``1.4 + 0.4 * severity`` (``long``) or its inverse (``short``), then re-skinned.
* ``blob_tip``: the distal segment swells radially up to ``1.6 + 0.8 * severity`` times toward the
  tip, with a low-frequency lumpiness and a sag toward the palm: a melted fingertip.
* ``thumb_wrong_side``: the thumb is cut off (hole capped) and mirrored, with its own cap,
  across the palm's mid-plane (through the wrist and middle MCP keypoints, containing the palm
  normal), so it grows from the little-finger side.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synth.defects.mesh import boundary_loops, compact, dome_cap
from synth.hand import anatomy
from synth.hand.rig import HandRig

FINGERS = anatomy.FINGERS
TYPES: tuple[str, ...] = (
    "extra_finger", "extra_thumb", "missing_finger", "fused_fingers", "hyperextension",
    "finger_length", "blob_tip", "thumb_wrong_side",
)  # fmt: skip


@dataclass(frozen=True)
class Defect:
    """One named defect.

    Attributes:
        type: one of :data:`TYPES`.
        fingers: affected finger ids (0 thumb .. 4 pinky).
        severity: in [0, 1]; scales the operation (see the module docstring).
        params: type-specific choices (``joint``, ``direction``, ``side`` ...).
    """

    type: str
    fingers: tuple[int, ...]
    severity: float
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class DefectMesh:
    """The defect twin's hand.

    Attributes:
        vertices: ``(V', 3)`` world frame, metres.
        faces: ``(F', 3)`` triangles (counter-clockwise from outside).
        vertex_source: ``(V',)`` rig vertex each vertex copies its attributes from.
        face_source: ``(F',)`` rig triangle each triangle copies its UVs from.
        face_parts: ``(F',)`` uint8 part id of each triangle.
        keypoints: ``(21, 3)`` world keypoints; NaN rows for digits that no longer exist.
        extra_keypoints: ``(n, 3)`` keypoints of added digits (MCP, PIP, DIP, tip), world.
        record: JSON-safe description of the change (goes into the label).
    """

    vertices: np.ndarray
    faces: np.ndarray
    vertex_source: np.ndarray
    face_source: np.ndarray
    face_parts: np.ndarray
    keypoints: np.ndarray
    extra_keypoints: np.ndarray
    record: dict[str, Any]


def finger_bones(k: int) -> np.ndarray:
    """Bone ids of finger ``k``'s three segments, proximal to distal (the rig's bone order)."""
    return np.array([2 + 4 * k, 3 + 4 * k, 4 + 4 * k])


def finger_keypoints(k: int) -> np.ndarray:
    """Keypoint ids of finger ``k`` (MCP/CMC, PIP/MCP, DIP/IP, tip)."""
    return np.arange(1 + 4 * k, 5 + 4 * k)


def palm_normal_model(kp: np.ndarray, side: str) -> np.ndarray:
    """``(3,)`` unit normal out of the palm (palmar side) from keypoints ``(21, 3)``."""
    n = np.cross(kp[5] - kp[0], kp[17] - kp[0])
    n = n if side == "right" else -n
    return n / np.linalg.norm(n)


def _rot(axis: np.ndarray, ang: float) -> np.ndarray:
    a = axis / np.linalg.norm(axis)
    K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(ang) * K + (1 - np.cos(ang)) * K @ K


@dataclass
class _Base:
    rig: HandRig
    V: np.ndarray  # (V, 3) posed model frame
    kp: np.ndarray  # (21, 3)
    posed: Any
    face_parts: np.ndarray


def _posed(rig: HandRig, shape: np.ndarray, pose: np.ndarray) -> _Base:
    from synth.hand.skinning import forward
    from synth.render.types import face_parts_from_vertex_parts

    p = forward(rig, shape, pose)
    return _Base(rig, p.vertices, p.keypoints, p, face_parts_from_vertex_parts(rig.faces, rig.parts))


def _vertex_face(faces: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.int64)
    out[faces[::-1].ravel()] = np.repeat(np.arange(len(faces))[::-1], 3)
    return out


def _cap_all(V: np.ndarray, faces: np.ndarray, loops: list[np.ndarray], toward: np.ndarray,
             height: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cap every loop; returns ``(new_vertices, new_faces, new_vertex_source_loopvertex, n_cap_faces)``."""
    new_v, new_f, src = [], [], []
    base = len(V)
    for loop in loops:
        c = V[loop].mean(axis=0)
        out = toward - c
        cv, cf = dome_cap(V, loop, out, height=height)
        cf = np.where(cf >= len(V), cf - len(V) + base, cf)
        n = len(loop)
        src.append(np.concatenate([np.tile(loop, len(cv) // n), loop[:1]]))
        new_v.append(cv)
        new_f.append(cf)
        base += len(cv)
    if not new_v:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(new_v), np.concatenate(new_f), np.concatenate(src), np.zeros(0, np.int64)


def _finger_faces(b: _Base, k: int) -> np.ndarray:
    pid = 3 + k
    return np.nonzero((b.rig.parts[b.rig.faces] == pid).all(axis=1))[0]


def _separate_finger(b: _Base, k: int, V: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The finger's triangles as a closed component: ``(vertices, faces, vertex_source, face_source)``
    (vertices in the same frame as ``V``)."""
    V = b.V if V is None else V
    fid = _finger_faces(b, k)
    F = b.rig.faces[fid]
    loops = boundary_loops(F)
    centroid = V[np.unique(F)].mean(axis=0)
    # Finger component: the cap bulges back toward the palm (away from the finger's centroid).
    caps_v, caps_f, caps_src = [], [], []
    base = len(V)
    for loop in loops:
        c = V[loop].mean(axis=0)
        cv, cf = dome_cap(V, loop, c - centroid, height=0.3)
        cf = np.where(cf >= len(V), cf - len(V) + base, cf)
        caps_v.append(cv)
        caps_f.append(cf)
        caps_src.append(np.concatenate([np.tile(loop, len(cv) // len(loop)), loop[:1]]))
        base += len(cv)
    allV = np.concatenate([V, *caps_v])
    allF = np.concatenate([F, *caps_f])
    src = np.concatenate([np.arange(len(V)), *caps_src])
    vf = _vertex_face(b.rig.faces, len(b.V))
    fsrc = np.concatenate([fid, vf[src[allF[len(F):, 0]]]])
    Vc, Fc, kept = compact(allV, allF)
    return Vc, Fc, src[kept], fsrc


def _remove_finger(b: _Base, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The hand without finger ``k``, its hole capped: ``(V, F, vertex_source, face_source, face_parts)``."""
    fid = _finger_faces(b, k)
    keep = np.setdiff1d(np.arange(len(b.rig.faces)), fid)
    F = b.rig.faces[keep]
    loops = boundary_loops(F)
    tip = b.kp[finger_keypoints(k)[-1]]
    cv, cf, csrc, _ = _cap_all(b.V, F, loops, tip, height=0.25)
    allV = np.concatenate([b.V, cv])
    allF = np.concatenate([F, cf])
    src = np.concatenate([np.arange(len(b.V)), csrc])
    vf = _vertex_face(b.rig.faces, len(b.V))
    fsrc = np.concatenate([keep, vf[src[cf[:, 0]]]])
    fparts = np.concatenate([b.face_parts[keep], np.full(len(cf), 2, np.uint8)])
    Vc, Fc, kept = compact(allV, allF)
    return Vc, Fc, src[kept], fsrc, fparts


def _world(V: np.ndarray, root: np.ndarray) -> np.ndarray:
    return V @ root[:3, :3].T + root[:3, 3]


def _finish(b: _Base, root: np.ndarray, V, F, vsrc, fsrc, fparts, kp, extra, record) -> DefectMesh:  # noqa: ANN001
    extra = np.zeros((0, 3)) if extra is None else np.asarray(extra)
    return DefectMesh(_world(V, root), F.astype(np.int64), vsrc.astype(np.int64), fsrc.astype(np.int64),
                      np.asarray(fparts, np.uint8), _world(kp, root), _world(extra, root) if len(extra) else extra,
                      record)


def extra_digit(b: _Base, root: np.ndarray, d: Defect) -> DefectMesh:
    k = d.fingers[0]
    n = palm_normal_model(b.kp, b.rig.side)
    pivot = b.kp[finger_keypoints(k)[0]]
    neighbour = b.kp[finger_keypoints(1 if k == 0 else (3 if k == 4 else k + 1))[0]]
    ang = np.radians(25 + 15 * d.severity)
    scale = float(d.params.get("scale", 0.92))
    tip = b.kp[finger_keypoints(k)[-1]]
    # Turn away from the neighbour: pick the sign that moves the tip farther from it.
    sgn = max((1.0, -1.0), key=lambda s: np.linalg.norm((tip - pivot) @ _rot(n, s * ang).T + pivot - neighbour))
    R = _rot(n, sgn * ang) * scale
    Vf, Ff, vs, fs = _separate_finger(b, k)
    Vf = (Vf - pivot) @ R.T + pivot
    pid = 3 + k
    V = np.concatenate([b.V, Vf])
    F = np.concatenate([b.rig.faces, Ff + len(b.V)])
    vsrc = np.concatenate([np.arange(len(b.V)), vs])
    fsrc = np.concatenate([np.arange(len(b.rig.faces)), fs])
    fparts = np.concatenate([b.face_parts, np.full(len(Ff), pid, np.uint8)])
    extra = (b.kp[finger_keypoints(k)] - pivot) @ R.T + pivot
    rec = {"copied_finger": FINGERS[k], "angle_deg": round(float(np.degrees(sgn * ang)), 3), "scale": scale,
           "digits": 6}
    return _finish(b, root, V, F, vsrc, fsrc, fparts, b.kp, extra, rec)


def missing_finger(b: _Base, root: np.ndarray, d: Defect) -> DefectMesh:
    k = d.fingers[0]
    V, F, vsrc, fsrc, fparts = _remove_finger(b, k)
    kp = b.kp.copy()
    kp[finger_keypoints(k)] = np.nan
    return _finish(b, root, V, F, vsrc, fsrc, fparts, kp, None, {"removed_finger": FINGERS[k], "digits": 4})


def fused_fingers(b: _Base, root: np.ndarray, d: Defect) -> DefectMesh:
    ka, kb = d.fingers
    rig = b.rig
    G = b.posed.bone_transforms  # (J, 4, 4) rest -> posed
    coeffs = np.atleast_2d(rig.shape_coefficients(rig.shape_params(b.posed_shape)))[0]  # type: ignore[attr-defined]
    S = rig.joint_shape_dirs.shape[0]
    j_rest = rig.rest_joints + (coeffs @ rig.joint_shape_dirs.reshape(S, -1)).reshape(-1, 3)
    alpha = 0.85 + 0.15 * d.severity
    W = rig.skin_weights.astype(np.float64)
    V = b.V.copy()
    kp = b.kp.copy()
    for a, c in ((ka, kb), (kb, ka)):
        ba, bc = finger_bones(a), finger_bones(c)
        disp = np.zeros_like(V)
        kdisp = np.zeros((4, 3))
        for s in range(3):
            Fa, Fc = rig.joint_frames[ba[s]], rig.joint_frames[bc[s]]
            M = np.eye(4)
            M[:3, :3] = Fc @ Fa.T
            M[:3, 3] = j_rest[bc[s]] - M[:3, :3] @ j_rest[ba[s]]
            T = G[bc[s]] @ M @ np.linalg.inv(G[ba[s]])
            moved = b.V @ T[:3, :3].T + T[:3, 3]
            disp += W[:, ba[s], None] * (moved - b.V)
            if s < 3:
                kpt = b.kp[finger_keypoints(a)[s]]
                kdisp[s] = (T[:3, :3] @ kpt + T[:3, 3]) - kpt
        V += 0.5 * alpha * disp
        kdisp[0] *= 0.5  # the MCP keypoint sits where the finger meets the palm
        kp[finger_keypoints(a)[:3]] += 0.5 * alpha * kdisp[:3]
        tipv = rig.tip_vertex_ids[a]
        kp[finger_keypoints(a)[3]] = V[tipv]
    rec = {"fused": [FINGERS[ka], FINGERS[kb]], "alpha": round(alpha, 4), "digits": 4}
    n = len(V)
    return _finish(b, root, V, rig.faces, np.arange(n), np.arange(len(rig.faces)), b.face_parts, kp, None, rec)


def _reskinned(b: _Base, root: np.ndarray, rig: HandRig, shape: np.ndarray, pose: np.ndarray, rec: dict) -> DefectMesh:
    from synth.hand.skinning import forward

    p = forward(rig, shape, pose)
    n = len(p.vertices)
    return _finish(b, root, p.vertices, rig.faces, np.arange(n), np.arange(len(rig.faces)), b.face_parts,
                   p.keypoints, None, rec)


def hyperextension(b: _Base, root: np.ndarray, d: Defect, shape: np.ndarray, pose: np.ndarray) -> DefectMesh:
    k = d.fingers[0]
    joint = d.params["joint"]  # 0 MCP, 1 PIP, 2 DIP (thumb: CMC, MCP, IP)
    direction = d.params["direction"]
    j = anatomy.joints_of(FINGERS[k])[joint]
    beyond = 35.0 + 35.0 * d.severity
    p = anatomy.as_pose(pose).copy()
    if direction == "backward":
        dof, limit = 0, float(anatomy.LIMITS[j, 0, 0])
        p[j, 0] = limit - beyond
    else:
        dof = 1
        sgn = 1.0 if d.params.get("sign", 1) > 0 else -1.0
        limit = float(anatomy.LIMITS[j, 1, 1 if sgn > 0 else 0])
        p[j, 1] = limit + sgn * beyond
    rec = {"joint": anatomy.JOINTS[j], "direction": direction, "dof": anatomy.DOFS[dof],
           "angle_deg": round(float(p[j, dof]), 4), "limit_deg": limit, "beyond_limit_deg": round(beyond, 4),
           "pose_deg": p.tolist(), "digits": 5}
    return _reskinned(b, root, b.rig, shape, p, rec)


def finger_length(b: _Base, root: np.ndarray, d: Defect, shape: np.ndarray, pose: np.ndarray) -> DefectMesh:
    k = d.fingers[0]
    rig = b.rig
    factor = 1.4 + 0.4 * d.severity
    if d.params["direction"] == "short":
        factor = 1.0 / factor
    coeffs = np.atleast_2d(rig.shape_coefficients(rig.shape_params(shape)))[0]
    S = rig.shape_dirs.shape[0]
    v_rest = rig.template_vertices + (coeffs @ rig.shape_dirs.reshape(S, -1)).reshape(-1, 3)
    j_rest = rig.rest_joints + (coeffs @ rig.joint_shape_dirs.reshape(S, -1)).reshape(-1, 3)
    bones = finger_bones(k)
    j0 = j_rest[bones[0]]
    tip = v_rest[rig.tip_vertex_ids[k]]
    u = (tip - j0) / np.linalg.norm(tip - j0)
    w = rig.skin_weights[:, bones].sum(axis=1).astype(np.float64)
    t = np.maximum((v_rest - j0) @ u, 0.0)
    v2 = v_rest + ((factor - 1.0) * t * w)[:, None] * u
    j2 = j_rest.copy()
    for bb in bones[1:]:
        j2[bb] = j_rest[bb] + (factor - 1.0) * max(float((j_rest[bb] - j0) @ u), 0.0) * u
    rig2 = dataclasses.replace(rig, template_vertices=v2, rest_joints=j2, shape_dirs=np.zeros_like(rig.shape_dirs),
                               joint_shape_dirs=np.zeros_like(rig.joint_shape_dirs))
    rec = {"finger": FINGERS[k], "direction": d.params["direction"], "length_factor": round(factor, 4), "digits": 5}
    return _reskinned(b, root, rig2, shape, pose, rec)


def blob_tip(b: _Base, root: np.ndarray, d: Defect) -> DefectMesh:
    k = d.fingers[0]
    rig = b.rig
    dip_b = finger_bones(k)[2]
    dip = b.posed.joints[dip_b]
    tipv = b.V[rig.tip_vertex_ids[k]]
    L = float(np.linalg.norm(tipv - dip))
    u = (tipv - dip) / L
    a = (b.V - dip) @ u
    t = np.clip(a / L, 0.0, 1.2)
    w = rig.skin_weights[:, dip_b].astype(np.float64) + rig.skin_weights[:, finger_bones(k)[1]] * 0.5
    g = np.clip(w, 0, 1) * (t * t * (3 - 2 * np.minimum(t, 1.0)))
    c = dip + a[:, None] * u
    radial = b.V - c
    f = 1.6 + 0.8 * d.severity
    # Low-frequency lumps around the axis (phase from the defect's params: its own stream).
    e1 = np.cross(u, [0.0, 0.0, 1.0])
    e1 = e1 / max(np.linalg.norm(e1), 1e-9)
    e2 = np.cross(u, e1)
    phi = np.arctan2(radial @ e2, radial @ e1)
    lump = 1.0 + 0.18 * np.sin(3 * phi + float(d.params.get("phase", 0.0))) * np.sin(np.pi * np.clip(t, 0, 1))
    n = palm_normal_model(b.kp, rig.side)
    V = b.V + ((f * lump - 1.0) * g)[:, None] * radial + (g * g * 0.35 * L * d.severity)[:, None] * n + \
        (g * g * 0.15 * L)[:, None] * u
    kp = b.kp.copy()
    kp[finger_keypoints(k)[3]] = V[rig.tip_vertex_ids[k]]
    rec = {"finger": FINGERS[k], "swell": round(f, 4), "digits": 5}
    return _finish(b, root, V, rig.faces, np.arange(len(V)), np.arange(len(rig.faces)), b.face_parts, kp, None, rec)


def thumb_wrong_side(b: _Base, root: np.ndarray, d: Defect) -> DefectMesh:
    V0, F0, vs0, fs0, fp0 = _remove_finger(b, 0)
    Vt, Ft, vst, fst = _separate_finger(b, 0)
    n = palm_normal_model(b.kp, b.rig.side)
    m = np.cross(b.kp[9] - b.kp[0], n)
    m /= np.linalg.norm(m)
    o = b.kp[0]

    def mirror(x: np.ndarray) -> np.ndarray:
        return x - 2.0 * ((x - o) @ m)[..., None] * m

    Vt = mirror(Vt)
    Ft = Ft[:, ::-1]  # a mirror flips the winding
    V = np.concatenate([V0, Vt])
    F = np.concatenate([F0, Ft + len(V0)])
    kp = b.kp.copy()
    kp[finger_keypoints(0)] = mirror(b.kp[finger_keypoints(0)])
    rec = {"mirror_plane_normal_model": np.round(m, 6).tolist(), "digits": 5}
    return _finish(b, root, V, F, np.concatenate([vs0, vst]), np.concatenate([fs0, fst]),
                   np.concatenate([fp0, np.full(len(Ft), 3, np.uint8)]), kp, None, rec)


def apply_defect(rig: HandRig, shape: np.ndarray, pose: np.ndarray, root: np.ndarray, d: Defect) -> DefectMesh:
    """Build the defect twin of a hand (``shape (P,)``, ``pose (16, 3)`` degrees, ``root (4, 4)``)."""
    b = _posed(rig, shape, pose)
    b.posed_shape = shape  # type: ignore[attr-defined]
    if d.type in ("extra_finger", "extra_thumb"):
        out = extra_digit(b, root, d)
    elif d.type == "missing_finger":
        out = missing_finger(b, root, d)
    elif d.type == "fused_fingers":
        out = fused_fingers(b, root, d)
    elif d.type == "hyperextension":
        out = hyperextension(b, root, d, shape, pose)
    elif d.type == "finger_length":
        out = finger_length(b, root, d, shape, pose)
    elif d.type == "blob_tip":
        out = blob_tip(b, root, d)
    elif d.type == "thumb_wrong_side":
        out = thumb_wrong_side(b, root, d)
    else:
        raise ValueError(f"unknown defect type {d.type!r}; expected one of {', '.join(TYPES)}")
    out.record = {"type": d.type, "fingers": [FINGERS[k] for k in d.fingers], "severity": round(float(d.severity), 6),
                  "params": d.params, **out.record}
    return out
