"""Keypoint visibility by a depth test against the rendered depth (pure numpy).

Joints sit inside the finger, so their own depth is never on the rendered surface. Each keypoint
``k`` gets a *surface radius* ``rho_k``: the distance from the keypoint to the nearest vertex of
the posed mesh (0 for the fingertips, which are surface vertices). Its **surface proxy** is the
point ``rho_k`` in front of it along the view direction, at camera depth ``z_k - rho_k``.

A keypoint is **visible** (1) when

1. it projects inside the image (``-0.5 <= u < W - 0.5``, same for v) in front of the camera, and
2. some pixel of the 3x3 window around its nearest pixel has a surface (depth > 0) whose depth
   ``D`` satisfies ``|D - (z_k - rho_k)| <= rho_k + tol`` (``tol`` = :data:`DEPTH_TOLERANCE_M`,
   3 mm): the first surface along the ray is the keypoint's own skin, not something in front of it.

So a joint is hidden when another surface lies more than ``2 rho_k + 3 mm`` in front of its centre
(one finger thickness), and a fingertip is visible exactly when it lies on the rendered surface
within 3 mm in a 3x3 window. The 3x3 window absorbs the half-pixel quantisation at silhouettes.
"""

from __future__ import annotations

import numpy as np

from synth.labels.projection import in_frame

#: Depth tolerance of the visibility test, metres.
DEPTH_TOLERANCE_M = 0.003
#: Half-size of the pixel window searched around each keypoint (1 -> 3x3).
WINDOW_RADIUS = 1


def surface_radius(keypoints_world: np.ndarray, vertices_world: np.ndarray) -> np.ndarray:
    """``(N,)`` distance (metres) from each keypoint to the nearest mesh vertex."""
    kp = np.asarray(keypoints_world, dtype=np.float64)
    v = np.asarray(vertices_world, dtype=np.float64)
    d2 = ((kp[:, None, :] - v[None, :, :]) ** 2).sum(-1)
    return np.sqrt(d2.min(axis=1))


def visibility(
    uv: np.ndarray,
    z: np.ndarray,
    rho: np.ndarray,
    depth: np.ndarray,
    tol: float = DEPTH_TOLERANCE_M,
    window: int = WINDOW_RADIUS,
) -> np.ndarray:
    """Visibility flags.

    Args:
        uv: ``(N, 2)`` keypoint pixels (OpenCV convention).
        z: ``(N,)`` keypoint camera depths, metres.
        rho: ``(N,)`` surface radii, metres (see :func:`surface_radius`).
        depth: ``(H, W)`` rendered planar depth, metres, 0 for background.
        tol: depth tolerance, metres.
        window: window half-size in pixels.
    Returns:
        ``(N,)`` uint8, 1 visible, 0 not.
    """
    H, W = depth.shape
    inside = in_frame(uv, z, W, H)
    out = np.zeros(len(uv), dtype=np.uint8)
    for k in np.flatnonzero(inside):
        c, r = int(np.floor(uv[k, 0] + 0.5)), int(np.floor(uv[k, 1] + 0.5))
        win = depth[max(r - window, 0):r + window + 1, max(c - window, 0):c + window + 1]
        proxy = z[k] - rho[k]
        ok = (win > 0) & (np.abs(win - proxy) <= rho[k] + tol)
        out[k] = 1 if ok.any() else 0
    return out
