"""Projection of 3D points to pixels in OpenCV conventions (pure numpy).

Pixels: the centre of the top-left pixel is (0, 0). Camera frame: x right, y down, z forward.
"""

from __future__ import annotations

import numpy as np

from synth.geometry import project_camera, project_points
from synth.geometry import transform as to_camera

__all__ = ["blender_ndc_to_pixels", "in_frame", "project_camera", "project_points", "rvec_tvec", "to_camera"]


def rvec_tvec(world_to_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV ``(rvec (3,), tvec (3,))`` of a ``(4, 4)`` world_to_cam (for ``cv2.projectPoints``)."""
    from scipy.spatial.transform import Rotation

    M = np.asarray(world_to_cam, dtype=np.float64)
    return Rotation.from_matrix(M[:3, :3]).as_rotvec(), M[:3, 3].copy()


def blender_ndc_to_pixels(ndc_xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Blender ``world_to_camera_view`` (x, y in 0..1 from the bottom-left image corner) -> OpenCV
    pixels: ``u = x W - 0.5``, ``v = (1 - y) H - 0.5``."""
    ndc = np.asarray(ndc_xy, dtype=np.float64)
    return np.stack([ndc[:, 0] * width - 0.5, (1.0 - ndc[:, 1]) * height - 0.5], axis=1)


def in_frame(uv: np.ndarray, z: np.ndarray, width: int, height: int) -> np.ndarray:
    """``(N,)`` bool: in front of the camera and inside the image (pixel-edge bounds)."""
    uv = np.asarray(uv, dtype=np.float64)
    return (
        (np.asarray(z) > 0)
        & (uv[:, 0] >= -0.5) & (uv[:, 0] < width - 0.5)
        & (uv[:, 1] >= -0.5) & (uv[:, 1] < height - 0.5)
    )  # fmt: skip
