"""Quick shaded previews of a posed hand (pyrender offscreen over EGL, OSMesa fallback).

Colours show the part labels. For previews only; the dataset renderers live in synth.render.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from synth._lazy import require
from synth.hand.rig import HandRig
from synth.hand.skinning import forward
from synth.scene.camera import intrinsics, look_at

logger = logging.getLogger(__name__)

PART_COLOURS = np.array(
    [[0, 0, 0], [150, 150, 150], [225, 180, 150], [230, 60, 60], [60, 200, 60], [60, 90, 230], [230, 210, 60],
     [200, 70, 200]], dtype=np.uint8,
)  # fmt: skip


def _pyrender():  # noqa: ANN202
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    return require("pyrender")


def render_views(
    rig: HandRig,
    pose: np.ndarray | None = None,
    shape: np.ndarray | None = None,
    size: int = 256,
    views: tuple[str, ...] = ("back", "palm", "side"),
) -> np.ndarray:
    """Render the posed hand from several fixed views; returns ``(size, size * len(views), 3)`` uint8."""
    pyrender = _pyrender()
    trimesh = require("trimesh")
    posed = forward(rig, shape=shape, pose=pose)
    v = posed.vertices
    centre = v[rig.parts > 1].mean(0)
    mesh = trimesh.Trimesh(v, rig.faces, process=False)
    mesh.visual.vertex_colors = np.concatenate([PART_COLOURS[rig.parts], np.full((len(v), 1), 255, np.uint8)], 1)
    scene = pyrender.Scene(bg_color=[1.0, 1.0, 1.0, 1.0], ambient_light=[0.35, 0.35, 0.35])
    scene.add(pyrender.Mesh.from_trimesh(mesh, smooth=True))
    dirs = {"back": np.array([0.0, 0.0, 1.0]), "palm": np.array([0.0, 0.0, -1.0]),
            "side": np.array([-1.0 if rig.side == "right" else 1.0, 0.0, 0.2])}
    K = intrinsics(size * 1.6, size, size)
    cam = pyrender.IntrinsicsCamera(K[0, 0], K[1, 1], K[0, 2], K[1, 2], znear=0.01, zfar=5.0)
    renderer = pyrender.OffscreenRenderer(size, size)
    out = []
    try:
        for name in views:
            d = dirs[name] / np.linalg.norm(dirs[name])
            eye = centre + d * 0.45
            w2c = look_at(eye, centre, up=np.array([0.0, 1.0, 0.0]))
            c2w = np.linalg.inv(w2c) @ np.diag([1.0, -1.0, -1.0, 1.0])  # OpenCV -> OpenGL camera axes
            cn = scene.add(cam, pose=c2w)
            ln = scene.add(pyrender.DirectionalLight(color=np.ones(3), intensity=3.0), pose=c2w)
            col, _ = renderer.render(scene)
            scene.remove_node(cn)
            scene.remove_node(ln)
            out.append(col[..., :3])
    finally:
        renderer.delete()
    return np.concatenate(out, axis=1)


def save_preview(path: str | Path, image: np.ndarray) -> Path:
    """Write an RGB uint8 image as PNG."""
    cv2 = require("cv2")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image[..., ::-1]):
        raise OSError(f"could not write {path}")
    return path
