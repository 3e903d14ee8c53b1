"""ControlNet triplets for diffusers' ``examples/controlnet/train_controlnet.py``.

Layout: ``OUT/data/<split>-NNNNN-of-MMMMM.parquet`` with the columns ``image`` (Image, the RGB
render), ``conditioning_image`` (Image) and ``text`` (the caption) first, in that order, then
``id``. The training script loads it with ``load_dataset(args.train_data_dir)`` (``--train_data_dir
OUT``) and its default column arguments (``image``, ``conditioning_image``, ``text``).

Conditioning (``conditioning=``):

* ``depth``: normalised inverse depth, 8-bit grey as RGB: hand pixels map ``1/z`` linearly to
  [0.1, 1] (nearest = white), background 0 -- the MiDaS-style maps depth ControlNets use;
* ``skeleton``: an OpenPose-style hand drawing on black: bones coloured by a hue wheel over the
  20 edges, keypoints as red dots; all keypoints inside the image are drawn (occluded ones too,
  the pose is known exactly);
* ``parts``: the part mask in a fixed colour palette.
"""

from __future__ import annotations

import colorsys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from synth.hand.keypoints import SKELETON

#: RGB colour of each part id 0..7 (background black).
PART_COLOURS = np.array([
    (0, 0, 0), (128, 128, 128), (230, 25, 75), (60, 180, 75), (255, 225, 25),
    (0, 130, 200), (245, 130, 48), (145, 30, 180),
], np.uint8)  # fmt: skip


def depth_conditioning(depth: np.ndarray) -> np.ndarray:
    """``(H, W)`` metres (0 = none) -> ``(H, W, 3)`` uint8 normalised inverse depth."""
    out = np.zeros(depth.shape, np.float64)
    m = depth > 0
    if m.any():
        inv = 1.0 / depth[m]
        lo, hi = inv.min(), inv.max()
        out[m] = 0.1 + 0.9 * ((inv - lo) / (hi - lo) if hi > lo else 1.0)
    g = np.round(out * 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=2)


def skeleton_conditioning(label: dict[str, Any], width: int, height: int) -> np.ndarray:
    """``(H, W, 3)`` uint8 OpenPose-style hand skeleton drawing from ``label["keypoints_2d"]``."""
    img = np.zeros((height, width, 3), np.uint8)
    uv = np.asarray(label["keypoints_2d"], np.float64)
    inside = (uv[:, 0] >= -0.5) & (uv[:, 0] < width - 0.5) & (uv[:, 1] >= -0.5) & (uv[:, 1] < height - 0.5)
    # OpenPose's hand drawing at 512 px: lines 2 px, dots of radius 4; scaled to the image.
    thick = max(1, round(min(width, height) / 256))
    radius = max(1, round(min(width, height) / 128))
    shift = 4  # sub-pixel drawing
    pts = np.round(uv * (1 << shift)).astype(np.int64)
    for e, (a, b) in enumerate(SKELETON):
        if inside[a] and inside[b]:
            r, g, bl = colorsys.hsv_to_rgb(e / len(SKELETON), 1.0, 1.0)
            col = (int(r * 255), int(g * 255), int(bl * 255))
            cv2.line(img, tuple(map(int, pts[a])), tuple(map(int, pts[b])), col, thick, cv2.LINE_AA, shift)
    for i in np.nonzero(inside)[0]:
        cv2.circle(img, tuple(map(int, pts[i])), radius << shift, (255, 0, 0), -1, cv2.LINE_AA, shift)
    return img


def parts_conditioning(parts: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint8 part ids -> ``(H, W, 3)`` uint8 colours (ids >= 8 white)."""
    lut = np.full((256, 3), 255, np.uint8)
    lut[: len(PART_COLOURS)] = PART_COLOURS
    return lut[parts]


def conditioning_image(ds: Any, k: int, label: dict[str, Any], kind: str) -> np.ndarray:
    """The ``(H, W, 3)`` uint8 conditioning image of sample ``k`` of ``ds``."""
    from synth.dataset.imageio import read_image
    from synth.dataset.layout import DatasetError

    W, H = (int(x) for x in label["image_size"])
    if kind == "skeleton":
        return skeleton_conditioning(label, W, H)
    files = ds.entries[ds.ids[k]].files
    if kind not in files:
        raise DatasetError(f"--conditioning {kind}: sample {ds.ids[k]} has no {kind} pass")
    if kind == "depth":
        return depth_conditioning(read_image(ds.path(k, "depth")))
    if kind == "parts":
        return parts_conditioning(read_image(ds.path(k, "parts")))
    raise DatasetError(f"unknown conditioning {kind!r}; choose depth, skeleton or parts")


def features() -> Any:
    from datasets import Features, Image, Value

    return Features({"image": Image(), "conditioning_image": Image(), "text": Value("string"), "id": Value("int64")})


def write_controlnet(ds: Any, out: Path, split: str, conditioning: str = "skeleton",
                     shard_size: int = 256 << 20, **_: Any) -> int:  # fmt: skip
    """Write one split of (image, conditioning_image, text) rows; returns the sample count."""
    from synth.dataset.formats.parquet import write_rows
    from synth.dataset.imageio import encode_png

    def rows():  # noqa: ANN202
        for k in range(len(ds)):
            label = ds.label(k)
            stem = ds.path(k, "rgb").stem
            yield {
                "image": {"bytes": ds.path(k, "rgb").read_bytes(), "path": f"{stem}.png"},
                "conditioning_image": {
                    "bytes": encode_png(conditioning_image(ds, k, label, conditioning)),
                    "path": f"{stem}_{conditioning}.png",
                },
                "text": label.get("caption") or "",
                "id": int(label["id"]),
            }

    return write_rows(rows(), len(ds), features(), out, split, shard_size)
