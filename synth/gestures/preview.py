"""A simple shaded preview image of a posed hand (pyrender offscreen, matplotlib fallback)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


def _posed_mesh(pose_deg: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Posed vertices and faces of the open hand, forearm stub removed (preview of the hand)."""
    from synth.hand import skinning
    from synth.hand.models import load_model
    from synth.hand.rig import PART_IDS

    rig = load_model("open-hand", side)
    posed = skinning.forward(rig, pose=pose_deg)
    keep = np.asarray(rig.parts) != PART_IDS["forearm"]
    faces = np.asarray(rig.faces)
    faces = faces[keep[faces].all(axis=1)]
    return np.asarray(posed.vertices), faces


def _view(vertices: np.ndarray) -> tuple[np.ndarray, float]:
    """A camera in front of the palm (model -z side), looking at the hand's centre; (pose, dist)."""
    vertices = vertices[np.isfinite(vertices).all(1)]
    c = 0.5 * (vertices.min(0) + vertices.max(0))
    r = float(np.linalg.norm(vertices - c, axis=1).max())
    dist = 2.6 * r
    eye = c + np.array([0.0, 0.0, -dist])
    # OpenGL camera: looks along its -z; up = +y (toward the fingers).
    z = (eye - c) / np.linalg.norm(eye - c)
    x = np.cross(np.array([0.0, 1.0, 0.0]), z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    T = np.eye(4)
    T[:3, :3] = np.stack([x, y, z], axis=1)
    T[:3, 3] = eye
    return T, dist


def render_pyrender(vertices: np.ndarray, faces: np.ndarray, size: int) -> np.ndarray:
    """``(size, size, 3)`` uint8 shaded render with pyrender (EGL offscreen)."""
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    import pyrender
    import trimesh

    mesh = trimesh.Trimesh(vertices, faces, process=False)
    mesh.remove_unreferenced_vertices()
    mat = pyrender.MetallicRoughnessMaterial(baseColorFactor=(0.85, 0.66, 0.55, 1.0), roughnessFactor=0.7)
    scene = pyrender.Scene(bg_color=(1.0, 1.0, 1.0, 1.0), ambient_light=(0.25, 0.25, 0.25))
    scene.add(pyrender.Mesh.from_trimesh(mesh, material=mat, smooth=True))
    T, dist = _view(vertices[np.unique(faces)])
    scene.add(pyrender.PerspectiveCamera(yfov=np.deg2rad(40.0), znear=0.01, zfar=10.0 * dist), pose=T)
    scene.add(pyrender.DirectionalLight(intensity=3.0), pose=T)
    r = pyrender.OffscreenRenderer(size, size)
    try:
        color, _ = r.render(scene)
    finally:
        r.delete()
    return np.asarray(color)[..., :3]


def render_matplotlib(vertices: np.ndarray, faces: np.ndarray, size: int, out: Path) -> None:
    """Flat-shaded orthographic projection of the triangles (painter's algorithm) with matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    T, _ = _view(vertices[np.unique(faces)])
    cam = (vertices - T[:3, 3]) @ T[:3, :3]  # camera coordinates, camera looks along -z
    tri = cam[faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    shade = np.clip(n[:, 2], 0.0, 1.0) * 0.75 + 0.25
    order = np.argsort(tri[:, :, 2].mean(1))  # far (most negative z) first
    base = np.array([0.85, 0.66, 0.55])
    fig = plt.figure(figsize=(size / 100, size / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.add_collection(PolyCollection(tri[order][:, :, :2], facecolors=shade[order, None] * base, edgecolors="none"))
    used = cam[np.unique(faces)]
    lo, hi = used[:, :2].min(0), used[:, :2].max(0)
    c, h = 0.5 * (lo + hi), 0.55 * float((hi - lo).max())
    ax.set_xlim(c[0] - h, c[0] + h)
    ax.set_ylim(c[1] - h, c[1] + h)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.savefig(out, dpi=100, facecolor="white")
    plt.close(fig)


def render_preview(pose_deg: np.ndarray, side: str, out: str | Path, size: int = 384) -> str:
    """Write a preview PNG of the open hand in ``pose_deg`` ``(16, 3)`` degrees, seen from the
    palm side. Returns the backend used (``"pyrender"`` or ``"matplotlib"``)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    v, f = _posed_mesh(pose_deg, side)
    try:
        img = render_pyrender(v, f, size)
    except Exception as exc:  # noqa: BLE001 - any GL/EGL failure falls back to matplotlib
        logger.info("pyrender preview unavailable (%s); using matplotlib", exc)
        render_matplotlib(v, f, size, out)
        return "matplotlib"
    import cv2

    if not cv2.imwrite(str(out), img[..., ::-1]):
        raise OSError(f"could not write {out}")
    return "pyrender"
