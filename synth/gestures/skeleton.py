"""A light kinematic skeleton for fast, batched keypoint forward kinematics (pure numpy).

The sampler and the self-collision proxy need the 21 keypoints of thousands of poses per
second, which full linear blend skinning of a mesh cannot give. A :class:`Skeleton` holds only
what the anatomical joints need: the rest position and anatomical frame of each of the 16
joints (:data:`synth.hand.anatomy.JOINTS`), the rest position of the five fingertips (rigidly
attached to the distal joint), and the rig's angle signs. It follows exactly the rotation
convention of :mod:`synth.hand.anatomy` and :func:`synth.hand.skinning.forward`
(``R = F A F^T`` about the joint centre, composed along :data:`anatomy.JOINT_PARENTS`), so built
from a rig (:func:`skeleton_from_rig`) it reproduces the rig's posed joint centres exactly, and
its tips to within the skinning blend at the fingertip (well under a millimetre).

:func:`default_skeleton` is a built-in average adult hand (bone lengths from the anthropometric
literature, e.g. Buryanov & Kotiuk 2010), used where no rig is given. Units: metres, model frame
(origin at the wrist, +y toward the fingers, +z dorsal, palm facing -z, +x toward the little
finger of a right hand).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.hand import anatomy

#: Anatomical joint whose bone each fingertip is attached to, thumb..pinky.
TIP_PARENT: tuple[int, ...] = (3, 6, 9, 12, 15)
#: Palm capsule radius relative to the measured median, fit so that the proxy agrees with the
#: mesh test (656 poses of the open hand, natural random and gesture variations: agreement 0.95,
#: 1.5 % of proxy-accepted poses penetrating the mesh; see tests/gestures/test_collision.py).
PALM_RADIUS_SCALE = 1.1
_LEVELS: tuple[tuple[int, ...], ...] = ((1, 4, 7, 10, 13), (2, 5, 8, 11, 14), (3, 6, 9, 12, 15))


@dataclass(frozen=True)
class Skeleton:
    """Rest geometry for keypoint forward kinematics.

    Attributes:
        side: ``"right"`` or ``"left"``.
        joints: ``(16, 3)`` rest joint centres in metres, anatomy.JOINTS order.
        frames: ``(16, 3, 3)`` anatomical frames (columns x, y, z) of the joints.
        tips: ``(5, 3)`` rest fingertip positions, thumb..pinky.
        signs: ``(3,)`` angle signs, ``(1, 1, 1)`` right, ``(1, -1, -1)`` left.
        radii: ``(5, 3)`` capsule radius (metres) of each finger's three segments
            (thumb: metacarpal, proximal, distal; fingers: proximal, middle, distal).
        palm_radius: radius (metres) of the four metacarpal capsules that stand for the palm.
    """

    side: str
    joints: np.ndarray
    frames: np.ndarray
    tips: np.ndarray
    signs: np.ndarray
    radii: np.ndarray
    palm_radius: float

    def forward(self, pose_deg: np.ndarray, root: np.ndarray | None = None) -> np.ndarray:
        """Posed 21 keypoints, see :func:`forward_keypoints`."""
        return forward_keypoints(self, pose_deg, root)


def forward_keypoints(skel: Skeleton, pose_deg: np.ndarray, root: np.ndarray | None = None) -> np.ndarray:
    """Keypoints of poses.

    Args:
        skel: the skeleton.
        pose_deg: ``(..., 16, 3)`` anatomical angles in degrees.
        root: optional ``(4, 4)`` model-to-world transform.
    Returns:
        ``(..., 21, 3)`` keypoints in metres, synth order (wrist, thumb CMC..tip, index MCP..tip, ...).
    """
    p = anatomy.as_pose(pose_deg)
    lead = p.shape[:-2]
    p = p.reshape(-1, anatomy.N_JOINTS, 3)
    B = p.shape[0]
    A = anatomy.local_rotations(p, skel.signs)  # (B, 16, 3, 3)
    F = skel.frames
    Rw = F[None] @ A @ np.swapaxes(F, -1, -2)[None]  # world-aligned local rotations
    Rg = np.empty((B, 16, 3, 3))
    tg = np.empty((B, 16, 3))
    pos = np.empty((B, 16, 3))
    j0 = skel.joints[0]
    Rg[:, 0] = Rw[:, 0]
    tg[:, 0] = j0 - Rw[:, 0] @ j0
    pos[:, 0] = j0
    par = np.asarray(anatomy.JOINT_PARENTS)
    for lvl in _LEVELS:
        idx = np.asarray(lvl)
        pr = par[idx]
        Rp, tp = Rg[:, pr], tg[:, pr]
        pj = skel.joints[idx]
        Rg[:, idx] = Rp @ Rw[:, idx]
        pos[:, idx] = np.einsum("bkij,kj->bki", Rp, pj) + tp
        tg[:, idx] = pos[:, idx] - np.einsum("bkij,kj->bki", Rg[:, idx], pj)
    tp_idx = np.asarray(TIP_PARENT)
    tips = np.einsum("bkij,kj->bki", Rg[:, tp_idx], skel.tips) + tg[:, tp_idx]
    kp = np.empty((B, 21, 3))
    kp[:, 0] = pos[:, 0]
    kp[:, 1:4] = pos[:, 1:4]
    kp[:, 4] = tips[:, 0]
    for f in range(4):
        kp[:, 5 + 4 * f: 8 + 4 * f] = pos[:, 4 + 3 * f: 7 + 3 * f]
        kp[:, 8 + 4 * f] = tips[:, 1 + f]
    if root is not None:
        T = np.asarray(root, dtype=np.float64)
        kp = kp @ T[:3, :3].T + T[:3, 3]
    return kp.reshape(lead + (21, 3))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _finger_frame(d: np.ndarray) -> np.ndarray:
    """Frame of a finger joint whose bone points along ``d`` in the palm plane (right hand)."""
    x = _unit(d)
    z = np.array([0.0, 0.0, 1.0])
    y = np.cross(z, x)  # = -X for d = +Y: positive rotation bends toward the palm (-z)
    return np.stack([x, y, np.cross(x, y)], axis=1)


def default_skeleton(side: str = "right") -> Skeleton:
    """A built-in average adult hand skeleton (metres), mirrored for ``side="left"``."""
    if side not in ("right", "left"):
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    joints = np.zeros((16, 3))
    frames = np.zeros((16, 3, 3))
    tips = np.zeros((5, 3))
    frames[0] = np.stack([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], axis=1)
    # Fingers: MCP position, in-plane fan angle (deg, + toward the little finger), phalanx lengths.
    fingers = {
        "index": ((-0.026, 0.094, 0.0), -5.0, (0.042, 0.025, 0.021)),
        "middle": ((-0.006, 0.096, 0.0), 0.0, (0.046, 0.029, 0.022)),
        "ring": ((0.012, 0.090, 0.0), 4.0, (0.043, 0.027, 0.021)),
        "pinky": ((0.028, 0.081, 0.0), 9.0, (0.034, 0.020, 0.019)),
    }
    for k, (name, (mcp, fan, lengths)) in enumerate(fingers.items()):
        a = np.deg2rad(fan)
        d = np.array([np.sin(a), np.cos(a), 0.0])
        i0 = 4 + 3 * k
        pts = [np.asarray(mcp)]
        for ln in lengths:
            pts.append(pts[-1] + ln * d)
        joints[i0:i0 + 3] = pts[:3]
        tips[1 + k] = pts[3]
        frames[i0:i0 + 3] = _finger_frame(d)
        del name
    # Thumb: CMC near the wrist on the radial side, lying in the palm plane 40 deg from +y.
    a = np.deg2rad(-40.0)
    d = np.array([np.sin(a), np.cos(a), 0.0])
    cmc = np.array([-0.022, 0.024, -0.008])
    lens = (0.044, 0.032, 0.028)
    pts = [cmc]
    for ln in lens:
        pts.append(pts[-1] + ln * d)
    joints[1:4] = pts[:3]
    tips[0] = pts[3]
    x = d
    y_cmc = np.array([0.0, 0.0, -1.0])  # rotation about -z moves the thumb toward the little finger
    frames[1] = np.stack([x, y_cmc, np.cross(x, y_cmc)], axis=1)
    perp = np.array([np.cos(a), -np.sin(a), 0.0])  # in-plane, toward the little finger
    phi = np.deg2rad(35.0)
    f = _unit(np.cos(phi) * np.array([0.0, 0.0, -1.0]) + np.sin(phi) * perp)
    y_t = _unit(np.cross(x, f))
    frames[2] = frames[3] = np.stack([x, y_t, np.cross(x, y_t)], axis=1)
    radii = np.array(
        [
            [0.0120, 0.0105, 0.0095],
            [0.0095, 0.0085, 0.0078],
            [0.0098, 0.0088, 0.0080],
            [0.0092, 0.0083, 0.0076],
            [0.0082, 0.0074, 0.0068],
        ]
    )
    signs = np.array([1.0, 1.0, 1.0])
    if side == "left":
        M = np.diag([-1.0, 1.0, 1.0])
        S = np.diag([1.0, -1.0, 1.0])
        joints = joints @ M
        tips = tips @ M
        frames = M[None] @ frames @ S[None]
        signs = np.array([1.0, -1.0, -1.0])
    return Skeleton(side, joints, frames, tips, signs, radii, 0.0125)


def skeleton_from_rig(rig: object, shape: np.ndarray | dict[str, float] | None = None) -> Skeleton:
    """Build a :class:`Skeleton` from a :class:`synth.hand.rig.HandRig` (at ``shape``).

    Joint centres and frames are the rig's; fingertips are its tip vertices; capsule radii are
    measured on the rest mesh (median distance of each segment's vertices to the segment axis);
    the palm radius is the median distance of palmar palm vertices to the metacarpal axes, times
    :data:`PALM_RADIUS_SCALE`.
    """
    from synth.hand import skinning

    posed = skinning.forward(rig, shape=shape)  # rest pose at this shape
    bones = np.asarray(rig.anat_bones)
    joints = np.asarray(posed.joints)[bones]
    verts = np.asarray(posed.vertices)
    tips = verts[np.asarray(rig.tip_vertex_ids)]
    frames = np.asarray(rig.joint_frames)[bones]
    parts = np.asarray(rig.parts)
    radii = np.zeros((5, 3))
    for f in range(5):
        pv = verts[parts == 3 + f]
        ids = anatomy.joints_of(anatomy.FINGERS[f])
        chain = [joints[i] for i in ids] + [tips[f]]
        for s in range(3):
            a, b = chain[s], chain[s + 1]
            t, d = _seg_param_dist(pv, a, b)
            sel = (t > 0.25) & (t < 0.75)
            radii[f, s] = float(np.median(d[sel])) if sel.sum() >= 8 else 0.008
    palm = verts[parts == 2]
    segs = [(joints[0], joints[i]) for i in (4, 7, 10, 13)]
    dists = np.min(np.stack([_seg_param_dist(palm, a, b)[1] for a, b in segs]), axis=0)
    palmar = palm[:, 2] < joints[0, 2]
    palm_r = float(np.median(dists[palmar])) if palmar.sum() >= 8 else 0.0125
    palm_r *= PALM_RADIUS_SCALE
    return Skeleton(str(rig.side), joints, frames, tips, np.asarray(rig.angle_signs, dtype=float), radii, palm_r)


def _seg_param_dist(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unclamped parameter ``t`` (N,) of the projection of points ``p`` (N, 3) on segment ab and
    their distance to the clamped segment (N,)."""
    ab = b - a
    t = (p - a) @ ab / max(float(ab @ ab), 1e-12)
    q = a + np.clip(t, 0.0, 1.0)[:, None] * ab
    return t, np.linalg.norm(p - q, axis=1)
