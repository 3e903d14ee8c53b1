"""``synth preview``: a contact sheet of samples with their labels drawn on.

Each cell: the RGB image with the skeleton overlaid (visible keypoints as filled dots, occluded
ones as hollow rings, bones coloured per finger and drawn thin when an end is occluded), the
part mask and a depth map as half-size thumbnails on the right, and the caption (wrapped) with
the id and gesture below.
"""

from __future__ import annotations

import json
import logging
import math
import os
import struct
import textwrap
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from synth.dataset.formats.controlnet import PART_COLOURS
from synth.dataset.layout import DatasetError, atomic_write
from synth.hand.keypoints import SKELETON

logger = logging.getLogger(__name__)

#: RGB colour per finger (thumb..pinky), wrist/palm edges take the finger's colour.
FINGER_COLOURS = [(255, 80, 80), (255, 200, 0), (60, 220, 60), (0, 200, 255), (200, 100, 255)]
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _depth_thumb(depth: np.ndarray) -> np.ndarray:
    """(H, W) metres -> (H, W, 3) uint8 colour-mapped inverse depth (near = warm, none = black)."""
    out = np.zeros((*depth.shape, 3), np.uint8)
    m = depth > 0
    if m.any():
        inv = 1.0 / depth[m]
        lo, hi = inv.min(), inv.max()
        t = (inv - lo) / (hi - lo) if hi > lo else np.ones_like(inv)
        g = np.round(40 + 215 * t).astype(np.uint8)
        cm = cv2.applyColorMap(g.reshape(-1, 1), cv2.COLORMAP_INFERNO).reshape(-1, 3)[:, ::-1]
        out[m] = cm
    return out


def draw_skeleton(img: np.ndarray, uv: np.ndarray, vis: np.ndarray, scale: float) -> np.ndarray:
    """Draw 21 keypoints (pixels of the original image) on ``img`` scaled by ``scale``."""
    out = img.copy()
    p = (uv + 0.5) * scale - 0.5
    H, W = out.shape[:2]
    inside = (p[:, 0] > -W) & (p[:, 0] < 2 * W) & (p[:, 1] > -H) & (p[:, 1] < 2 * H)
    shift = 4
    q = np.round(p * (1 << shift)).astype(np.int64)
    r = max(3, round(W / 50))
    for e, (a, b) in enumerate(SKELETON):
        if inside[a] and inside[b]:
            col = FINGER_COLOURS[e // 4]
            thick = max(1, r // 2) if vis[a] and vis[b] else 1
            cv2.line(out, tuple(map(int, q[a])), tuple(map(int, q[b])), col, thick, cv2.LINE_AA, shift)
    for i in range(21):
        if not inside[i]:
            continue
        col = (255, 255, 255) if i == 0 else FINGER_COLOURS[(i - 1) // 4]
        c = tuple(map(int, q[i]))
        if vis[i]:
            cv2.circle(out, c, r << shift, (0, 0, 0), -1, cv2.LINE_AA, shift)
            cv2.circle(out, c, (r - 1) << shift, col, -1, cv2.LINE_AA, shift)
        else:
            cv2.circle(out, c, r << shift, col, 1, cv2.LINE_AA, shift)
    return out


def _fit(img: np.ndarray, size: int, nearest: bool = False) -> tuple[np.ndarray, float]:
    h, w = img.shape[:2]
    s = size / max(h, w)
    interp = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    out = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=interp)
    canvas = np.zeros((size, size, 3), np.uint8)
    canvas[: out.shape[0], : out.shape[1]] = out if out.ndim == 3 else out[..., None]
    return canvas, s


def _png_with_text(png: bytes, key: str, text: str) -> bytes:
    """``png`` with a ``tEXt`` chunk ``key: text`` inserted after ``IHDR`` (Latin-1 text)."""
    body = key.encode("latin-1") + b"\0" + text.encode("latin-1", "replace")
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body) & 0xFFFFFFFF)
    ihdr_end = 8 + 4 + 4 + 13 + 4
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def contact_sheet(root: str | os.PathLike[str], out: str | os.PathLike[str], count: int = 16, seed: int = 0, thumb: int = 256,
                  skip_invalid: bool = False, report: dict[str, Any] | None = None) -> int:
    """Write a contact sheet of ``count`` samples of dataset ``root`` to ``out``; returns how many.

    ``seed`` 0 takes the first ids; any other seed picks a random subset with that seed. Every
    sample is checked first (:func:`synth.dataset.validate.sample_problems`): an invalid one is an
    error naming it and nothing is written; with ``skip_invalid`` it is left out, listed in
    ``report["skipped_invalid"]`` and, for a PNG sheet, in its ``synth:skipped_invalid`` text chunk.
    The sheet is written to a temporary file and renamed into place.
    """
    from synth.data import HandDataset
    from synth.dataset.layout import read_manifest
    from synth.dataset.validate import skipped_summary, usable_ids

    out = Path(out)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise DatasetError(f"--out {out}: use a .png or .jpg file name")
    if out.parent and not out.parent.exists():
        raise DatasetError(f"--out {out}: folder {out.parent} does not exist")
    good, bad = usable_ids(root, read_manifest(root), skip_invalid, "preview")
    if report is not None:
        report["skipped_invalid"] = skipped_summary(bad)
    ds = HandDataset(root, load=("rgb", "parts", "depth"), ids=good)
    if not len(ds):
        raise DatasetError(f"{root} holds no complete samples")
    n = min(count, len(ds))
    idx = list(range(n)) if seed == 0 else sorted(np.random.default_rng(seed).choice(len(ds), n, replace=False))
    half = thumb // 2
    scale_txt = max(0.35, thumb / 640)
    line_h = int(22 * scale_txt / 0.5)
    chars = max(10, int((thumb + half) / (11 * scale_txt / 0.5)))
    text_lines = 4
    cell_w, cell_h = thumb + half, thumb + text_lines * line_h + 6
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    pad = 6
    sheet = np.full((rows * (cell_h + pad) + pad, cols * (cell_w + pad) + pad, 3), 24, np.uint8)
    for c, k in enumerate(idx):
        s = ds[int(k)]
        label = s["label"]
        y0 = pad + (c // cols) * (cell_h + pad)
        x0 = pad + (c % cols) * (cell_w + pad)
        rgb = s.get("rgb")
        if rgb is None:
            W, H = label["image_size"]
            rgb = np.zeros((H, W, 3), np.uint8)
        tile, sc = _fit(rgb[..., :3], thumb)
        tile = draw_skeleton(tile, np.asarray(label["keypoints_2d"], float), np.asarray(label["visibility"]), sc)
        sheet[y0 : y0 + thumb, x0 : x0 + thumb] = tile
        if "parts" in s:
            lut = np.full((256, 3), 255, np.uint8)
            lut[: len(PART_COLOURS)] = PART_COLOURS
            sheet[y0 : y0 + half, x0 + thumb : x0 + thumb + half] = _fit(lut[s["parts"]], half, nearest=True)[0]
        if "depth" in s:
            sheet[y0 + half : y0 + thumb, x0 + thumb : x0 + thumb + half] = _fit(_depth_thumb(s["depth"]), half)[0]
        g = label.get("gesture") or {}
        head = f"#{label['id']} {label.get('handedness', '?')} {g.get('name', '?')}"
        lines = [head] + textwrap.wrap(str(label.get("caption", "")), chars)
        if len(lines) > text_lines:
            lines = lines[:text_lines]
            lines[-1] = lines[-1][: max(0, chars - 3)] + "..."
        for li, text in enumerate(lines):
            col = (255, 220, 120) if li == 0 else (230, 230, 230)
            cv2.putText(sheet, text, (x0 + 2, y0 + thumb + (li + 1) * line_h), FONT, scale_txt, col, 1, cv2.LINE_AA)
    ok, enc = cv2.imencode(out.suffix.lower(), sheet[..., ::-1])
    if not ok:
        raise DatasetError(f"could not encode {out}")
    data = enc.tobytes()
    if bad and out.suffix.lower() == ".png":
        data = _png_with_text(data, "synth:skipped_invalid", json.dumps(skipped_summary(bad)))
    atomic_write(out, data)
    logger.info("contact sheet of %d samples -> %s", n, out)
    return n
