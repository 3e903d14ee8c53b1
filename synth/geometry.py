"""Small geometry shared by every layer (pure numpy, imports nothing from synth).

Conventions: points are ``(..., 3)`` arrays in metres; rigid transforms are ``(4, 4)`` matrices
acting on column vectors (``p' = M[:3, :3] p + M[:3, 3]``); the camera frame is OpenCV's (x right,
y down, z forward) and pixels put the centre of the top-left pixel at ``(0, 0)``.
"""

from __future__ import annotations

import numpy as np


# ---- meshes ---------------------------------------------------------------------------------
def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals ``(V, 3)`` float64 of a triangle mesh.

    Args:
        vertices: ``(V, 3)`` positions.
        faces: ``(F, 3)`` vertex indices, counter-clockwise seen from outside.

    Returns:
        The normalised sum of the (twice-area-weighted) normals of each vertex's triangles; a
        vertex on no triangle (or only on degenerate ones) gets ``(0, 0, 0)``.
    """
    v = np.asarray(vertices, dtype=np.float64)
    fn = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    vn = np.zeros_like(v)
    for k in range(3):
        np.add.at(vn, faces[:, k], fn)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-12)


# ---- rotations ------------------------------------------------------------------------------
def skew(v: np.ndarray) -> np.ndarray:
    """``(3, 3)`` cross-product matrix of ``v`` (``skew(v) @ x == np.cross(v, x)``)."""
    return np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minimal ``(3, 3)`` rotation taking unit vector ``a`` to unit vector ``b`` (Rodrigues).

    For opposite vectors every half turn about an axis perpendicular to ``a`` is minimal; this
    one turns about the coordinate axis least aligned with ``a``, made perpendicular to it (so
    ``a = -y`` turns about x: ``diag(1, -1, -1)``).
    """
    v, c = np.cross(a, b), float(a @ b)
    if np.linalg.norm(v) < 1e-9:
        if c > 0:
            return np.eye(3)
        e = np.zeros(3)
        e[int(np.argmin(np.abs(a)))] = 1.0
        u = e - (e @ a) * a
        u /= np.linalg.norm(u)
        return 2.0 * np.outer(u, u) - np.eye(3)
    Vx = skew(v)
    return np.eye(3) + Vx + Vx @ Vx / (1.0 + c)


# ---- rigid transforms and projection -------------------------------------------------------
def transform(points: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Apply a ``(4, 4)`` rigid transform to ``(..., 3)`` points (float64 out)."""
    p = np.asarray(points, dtype=np.float64)
    return p @ M[:3, :3].T + M[:3, 3]


def project_camera(points_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    """``(..., 3)`` camera-frame points -> ``(..., 2)`` pixel coordinates (points need z > 0)."""
    p = np.asarray(points_cam, dtype=np.float64)
    uvw = p @ np.asarray(K, dtype=np.float64).T
    return uvw[..., :2] / uvw[..., 2:3]


def project_points(points_world: np.ndarray, K: np.ndarray, world_to_cam: np.ndarray) -> np.ndarray:
    """``(..., 3)`` world points -> ``(..., 2)`` pixels; equals ``cv2.projectPoints`` without
    distortion."""
    return project_camera(transform(points_world, world_to_cam), K)


# ---- hands ----------------------------------------------------------------------------------
def palm_normal(keypoints: np.ndarray, side: str) -> np.ndarray:
    """``(3,)`` unit normal out of the palm of ``(21, 3)`` keypoints (OpenPose order) in any
    frame, same frame out: ``(index MCP - wrist) x (pinky MCP - wrist)``, negated for a left hand."""
    k = np.asarray(keypoints)
    n = np.cross(k[5] - k[0], k[17] - k[0]) * (1.0 if side == "right" else -1.0)
    return n / max(float(np.linalg.norm(n)), 1e-12)

