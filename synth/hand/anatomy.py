"""Anatomical joint angles: a model-independent hand pose in degrees.

A hand pose is a ``(16, 3)`` array of angles in **degrees**, one row per anatomical joint in
:data:`JOINTS` order, columns ``(flexion, abduction, twist)`` (:data:`DOFS`). Angles are
measured from the rig's rest pose (a relaxed, open, flat hand).

Joint frames (documented so that "flex the index PIP 60 degrees" means the same on every model):
every joint carries an orthonormal frame ``F = [x, y, z]`` (columns, world axes of the rest pose)
stored in the rig asset:

* ``x`` points distally along the bone (from the joint to the next joint);
* ``y`` is the flexion axis, chosen so that a positive rotation about ``y`` bends the bone
  toward the palm (fingers: palmar; thumb CMC: across the palm toward the little finger;
  thumb MCP/IP: toward the palm and the little finger);
* ``z = x cross y`` (dorsal for the fingers).

The local rotation of a joint in its frame is ``A = Rz(s_a * abd) @ Ry(flex) @ Rx(s_t * twist)``
and in world-aligned axes ``R = F A F^T``. ``s_a`` is :data:`ABDUCTION_SIGN` times the rig's
``angle_signs``: positive abduction always means *spreading*: index and middle toward the thumb
side, ring and little finger toward the little-finger side, thumb CMC palmar abduction (away from
the palm plane), wrist radial deviation. The left-hand rig stores mirrored frames and
``angle_signs = (1, -1, -1)`` so that the same angles give the exact mirror image of the right
hand (see :mod:`synth.hand.rig`).

Joint limits come from the hand-anatomy literature (active range of motion: Hume et al. 1990,
J Hand Surg 15A; Cobos et al. 2008; Lee & Kroemer 1993; Kapandji, *The Physiology of the
Joints*), re-expressed relative to the rest pose of a relaxed flat hand. They are collected in
:data:`LIMITS_DEG` -- the one table every part of synth uses.
"""

from __future__ import annotations

import numpy as np

FINGERS: tuple[str, ...] = ("thumb", "index", "middle", "ring", "pinky")

#: The 16 anatomical joints, in pose-array row order.
JOINTS: tuple[str, ...] = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip",
    "index_mcp", "index_pip", "index_dip",
    "middle_mcp", "middle_pip", "middle_dip",
    "ring_mcp", "ring_pip", "ring_dip",
    "pinky_mcp", "pinky_pip", "pinky_dip",
)  # fmt: skip
JOINT_INDEX: dict[str, int] = {n: i for i, n in enumerate(JOINTS)}

DOFS: tuple[str, ...] = ("flex", "abd", "twist")
N_JOINTS = len(JOINTS)

#: Anatomical parent of each joint (index into JOINTS; -1 for the wrist).
JOINT_PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14)

#: Per joint (min, max) for (flex, abd, twist), degrees, relative to the flat rest pose.
#: Sources: Hume 1990 (MCP 100, PIP 105, DIP 85 active flexion; thumb MCP 56, IP 73),
#: Cobos 2008 (abduction and hyperextension ranges), Lee & Kroemer 1993 (wrist 75/70, deviation 20/35).
LIMITS_DEG: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "wrist": ((-70.0, 75.0), (-35.0, 20.0), (-10.0, 10.0)),
    "thumb_cmc": ((-20.0, 50.0), (-15.0, 50.0), (-20.0, 35.0)),
    "thumb_mcp": ((-10.0, 60.0), (-10.0, 10.0), (-10.0, 10.0)),
    "thumb_ip": ((-15.0, 80.0), (-5.0, 5.0), (-5.0, 5.0)),
    "index_mcp": ((-25.0, 95.0), (-20.0, 25.0), (-10.0, 10.0)),
    "index_pip": ((-5.0, 110.0), (-3.0, 3.0), (-5.0, 5.0)),
    "index_dip": ((-10.0, 85.0), (-3.0, 3.0), (-3.0, 3.0)),
    "middle_mcp": ((-25.0, 95.0), (-15.0, 15.0), (-10.0, 10.0)),
    "middle_pip": ((-5.0, 110.0), (-3.0, 3.0), (-5.0, 5.0)),
    "middle_dip": ((-10.0, 85.0), (-3.0, 3.0), (-3.0, 3.0)),
    "ring_mcp": ((-25.0, 95.0), (-15.0, 20.0), (-10.0, 10.0)),
    "ring_pip": ((-5.0, 110.0), (-3.0, 3.0), (-5.0, 5.0)),
    "ring_dip": ((-10.0, 85.0), (-3.0, 3.0), (-3.0, 3.0)),
    "pinky_mcp": ((-25.0, 95.0), (-15.0, 30.0), (-10.0, 10.0)),
    "pinky_pip": ((-5.0, 110.0), (-3.0, 3.0), (-5.0, 5.0)),
    "pinky_dip": ((-10.0, 85.0), (-3.0, 3.0), (-3.0, 3.0)),
}

#: (16, 3, 2) array form of LIMITS_DEG: [..., 0] min, [..., 1] max.
LIMITS: np.ndarray = np.array([LIMITS_DEG[j] for j in JOINTS], dtype=np.float64)

#: Sign turning "spread" abduction into a rotation about the frame's z axis for a right hand
#: whose frames follow the rules above (z dorsal for fingers): rotation about +z moves a finger
#: toward the thumb side (and the thumb CMC palmar), so ring and little finger need -1.
ABDUCTION_SIGN: np.ndarray = np.array(
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0]
)


def joints_of(finger: str) -> tuple[int, int, int]:
    """Row indices of a finger's three joints, proximal to distal (thumb: CMC, MCP, IP)."""
    if finger not in FINGERS:
        raise ValueError(f"unknown finger {finger!r}; expected one of {', '.join(FINGERS)}")
    if finger == "thumb":
        return (1, 2, 3)
    k = FINGERS.index(finger)
    return (1 + 3 * k, 2 + 3 * k, 3 + 3 * k)


def zero_pose(batch: int | None = None) -> np.ndarray:
    """The rest pose: ``(16, 3)`` zeros, or ``(batch, 16, 3)``."""
    shape = (N_JOINTS, 3) if batch is None else (batch, N_JOINTS, 3)
    return np.zeros(shape, dtype=np.float64)


def as_pose(pose: np.ndarray | dict[str, object] | None) -> np.ndarray:
    """Normalise a pose given as an array ``(..., 16, 3)`` / ``(..., 48)`` or a dict.

    A dict maps joint names to ``{flex, abd, twist}`` dicts or 3-sequences (degrees); joints not
    named stay at 0. Raises ValueError on unknown joints or shapes.
    """
    if pose is None:
        return zero_pose()
    if isinstance(pose, dict):
        out = zero_pose()
        for name, val in pose.items():
            if name not in JOINT_INDEX:
                raise ValueError(f"unknown joint {name!r}; expected one of {', '.join(JOINTS)}")
            if isinstance(val, dict):
                for k, v in val.items():
                    if k not in DOFS:
                        raise ValueError(f"unknown degree of freedom {k!r} for {name}; expected flex/abd/twist")
                    out[JOINT_INDEX[name], DOFS.index(k)] = float(v)  # type: ignore[arg-type]
            else:
                arr = np.asarray(val, dtype=np.float64).reshape(-1)
                if arr.size != 3:
                    raise ValueError(f"joint {name}: expected 3 angles (flex, abd, twist), got {arr.size}")
                out[JOINT_INDEX[name]] = arr
        return out
    arr = np.asarray(pose, dtype=np.float64)
    if arr.shape[-1] == 3 * N_JOINTS and (arr.ndim == 1 or arr.shape[-2] != N_JOINTS):
        arr = arr.reshape(*arr.shape[:-1], N_JOINTS, 3)
    if arr.shape[-2:] != (N_JOINTS, 3):
        raise ValueError(f"pose must have shape (..., {N_JOINTS}, 3) in degrees, got {arr.shape}")
    return arr


def clamp(pose: np.ndarray) -> np.ndarray:
    """Clamp ``(..., 16, 3)`` angles (degrees) to :data:`LIMITS`."""
    p = as_pose(pose)
    return np.clip(p, LIMITS[..., 0], LIMITS[..., 1])


def violations(pose: np.ndarray, tol: float = 1e-6) -> list[str]:
    """Human-readable list of limit violations of one ``(16, 3)`` pose (degrees)."""
    p = as_pose(pose)
    out = []
    for j, name in enumerate(JOINTS):
        for d, dof in enumerate(DOFS):
            lo, hi = LIMITS[j, d]
            if not (lo - tol <= p[j, d] <= hi + tol):
                out.append(f"{name}.{dof}={p[j, d]:.1f} outside [{lo:g}, {hi:g}]")
    return out


def is_valid(pose: np.ndarray, tol: float = 1e-6) -> np.ndarray | bool:
    """True where ``(..., 16, 3)`` poses are within :data:`LIMITS` (to ``tol`` degrees)."""
    p = as_pose(pose)
    ok = (p >= LIMITS[..., 0] - tol) & (p <= LIMITS[..., 1] + tol)
    res = ok.all(axis=(-1, -2))
    return bool(res) if res.ndim == 0 else res


# --- rotations -----------------------------------------------------------------------------


def _rot(axis: int, ang: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` about a coordinate axis by ``ang`` radians ``(...)``."""
    c, s = np.cos(ang), np.sin(ang)
    R = np.zeros(ang.shape + (3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    R[..., axis, axis] = 1.0
    R[..., i, i] = c
    R[..., j, j] = c
    R[..., i, j] = -s
    R[..., j, i] = s
    return R


def local_rotations(pose_deg: np.ndarray, signs: np.ndarray | None = None) -> np.ndarray:
    """Rotations in each joint's anatomical frame, ``A = Rz(abd) Ry(flex) Rx(twist)``.

    Args:
        pose_deg: ``(..., 16, 3)`` degrees (flex, abd, twist).
        signs: ``(3,)`` rig angle signs (right hand ``(1, 1, 1)``, left ``(1, -1, -1)``).
    Returns:
        ``(..., 16, 3, 3)`` rotation matrices.
    """
    p = np.deg2rad(as_pose(pose_deg))
    sg = np.ones(3) if signs is None else np.asarray(signs, dtype=np.float64)
    flex = p[..., 0] * sg[0]
    abd = p[..., 1] * ABDUCTION_SIGN * sg[1]
    twist = p[..., 2] * sg[2]
    return _rot(2, abd) @ _rot(1, flex) @ _rot(0, twist)


def angles_from_local_rotations(A: np.ndarray, signs: np.ndarray | None = None) -> np.ndarray:
    """Inverse of :func:`local_rotations`: ``(..., 16, 3, 3)`` -> ``(..., 16, 3)`` degrees.

    Uses the intrinsic z-y-x decomposition; exact for |flex| < 90 degrees, the range
    of every joint but finger flexion near 90+, where the decomposition is still unique because
    abduction and twist of those joints are small.
    """
    sg = np.ones(3) if signs is None else np.asarray(signs, dtype=np.float64)
    flex = np.arcsin(np.clip(-A[..., 2, 0], -1.0, 1.0))
    abd = np.arctan2(A[..., 1, 0], A[..., 0, 0])
    twist = np.arctan2(A[..., 2, 1], A[..., 2, 2])
    # Beyond 90 degrees of flexion the z-y-x decomposition has a twin (flex' = pi - flex,
    # abd and twist +- pi); anatomical abduction and twist are always well below 90 degrees.
    twin = (np.abs(abd) > np.pi / 2) & (np.abs(twist) > np.pi / 2)
    flex = np.where(twin, np.sign(flex) * np.pi - flex, flex)
    abd = np.where(twin, abd - np.sign(abd) * np.pi, abd)
    twist = np.where(twin, twist - np.sign(twist) * np.pi, twist)
    out = np.stack([flex * sg[0], abd * ABDUCTION_SIGN * sg[1], twist * sg[2]], axis=-1)
    return np.rad2deg(out)


def axis_angle_to_matrix(aa: np.ndarray) -> np.ndarray:
    """Rodrigues: ``(..., 3)`` axis-angle (radians) -> ``(..., 3, 3)``."""
    aa = np.asarray(aa, dtype=np.float64)
    theta = np.linalg.norm(aa, axis=-1, keepdims=True)
    k = aa / np.where(theta < 1e-12, 1.0, theta)
    K = np.zeros(aa.shape[:-1] + (3, 3))
    K[..., 0, 1], K[..., 0, 2] = -k[..., 2], k[..., 1]
    K[..., 1, 0], K[..., 1, 2] = k[..., 2], -k[..., 0]
    K[..., 2, 0], K[..., 2, 1] = -k[..., 1], k[..., 0]
    th = theta[..., None]
    return np.eye(3) + np.sin(th) * K + (1.0 - np.cos(th)) * (K @ K)


def matrix_to_axis_angle(R: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` rotation matrices -> ``(..., 3)`` axis-angle (radians), robust near pi."""
    R = np.asarray(R, dtype=np.float64)
    tr = np.clip((np.trace(R, axis1=-2, axis2=-1) - 1.0) / 2.0, -1.0, 1.0)
    theta = np.arccos(tr)
    v = np.stack([R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], -1)
    s = np.sin(theta)
    small = s > 1e-6
    out = np.where(small[..., None], v * (theta / np.where(small, 2.0 * s, 1.0))[..., None], 0.5 * v)
    near_pi = (theta > np.pi - 1e-3)
    if np.any(near_pi):
        # axis from the symmetric part: R + I = 2 k k^T (1 - cos) ...
        B = (R + np.swapaxes(R, -1, -2)) / 2.0 - tr[..., None, None] * np.eye(3)
        idx = np.argmax(np.diagonal(B, axis1=-2, axis2=-1), axis=-1)
        col = np.take_along_axis(B, idx[..., None, None].repeat(3, -1), axis=-2)[..., 0, :]
        k = col / np.linalg.norm(col, axis=-1, keepdims=True)
        k = k * np.sign(np.sum(k * v, -1, keepdims=True) + 1e-30)
        out = np.where(near_pi[..., None], k * theta[..., None], out)
    return out
