"""Pinhole camera in OpenCV conventions (pure numpy).

Camera frame: x right, y down, z forward. Pixels: the *centre* of the top-left pixel is (0, 0),
so a centred principal point is ``cx = (W - 1) / 2``. World frame: Blender's (right-handed, Z up).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.geometry import project_points, transform

__all__ = ["Camera", "intrinsics", "look_at", "project", "transform"]


@dataclass(frozen=True)
class Camera:
    """A pinhole camera.

    Attributes:
        K: ``(3, 3)`` intrinsics, OpenCV pixel-centre convention, pixels.
        world_to_cam: ``(4, 4)`` rigid transform, world (metres) -> OpenCV camera frame.
        width: image width, pixels.
        height: image height, pixels.
    """

    K: np.ndarray
    world_to_cam: np.ndarray
    width: int
    height: int

    @property
    def cam_to_world(self) -> np.ndarray:
        """``(4, 4)`` inverse of :attr:`world_to_cam`."""
        R, t = self.world_to_cam[:3, :3], self.world_to_cam[:3, 3]
        M = np.eye(4)
        M[:3, :3] = R.T
        M[:3, 3] = -R.T @ t
        return M

    @property
    def position(self) -> np.ndarray:
        """Camera centre in world coordinates, ``(3,)`` metres."""
        return self.cam_to_world[:3, 3]

    def to_dict(self) -> dict[str, object]:
        return {"K": self.K.tolist(), "world_to_cam": self.world_to_cam.tolist(),
                "width": int(self.width), "height": int(self.height)}


def intrinsics(focal_px: float, width: int, height: int) -> np.ndarray:
    """``(3, 3)`` K with square pixels and a centred principal point ``((W-1)/2, (H-1)/2)``."""
    return np.array([[focal_px, 0.0, (width - 1) / 2.0], [0.0, focal_px, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray | None = None) -> np.ndarray:
    """``(4, 4)`` world_to_cam of an OpenCV camera at ``eye`` looking at ``target`` (metres).

    Image "up" (-y) is as close as possible to world ``up``.
    """
    up = np.array([0.0, 0.0, 1.0]) if up is None else up
    eye, target, up = (np.asarray(a, dtype=np.float64) for a in (eye, target, up))
    z = target - eye
    z = z / np.linalg.norm(z)
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-8:  # looking along up: pick any perpendicular
        x = np.cross(z, np.array([1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.array([0.0, 1.0, 0.0]))
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])  # rows: camera axes in world
    M = np.eye(4)
    M[:3, :3] = R
    M[:3, 3] = -R @ eye
    return M


def project(points_world: np.ndarray, cam: Camera) -> np.ndarray:
    """Project ``(N, 3)`` world points (metres) to ``(N, 2)`` pixel coordinates (OpenCV convention)."""
    return project_points(points_world, cam.K, cam.world_to_cam)
