"""Images for the review page: lazy cached thumbnails and colourised passes (PNG bytes).

Thumbnails are made on first request (PIL, longest side :data:`THUMB_PX`) and cached as JPEG in
``DATASET/.cache/thumbs/ID-SHA12.jpg`` -- the rgb file's sha256 prefix is in the name, so a
re-rendered sample never shows a stale thumbnail. Rendered samples are only read.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import numpy as np

from synth.dataset.layout import ManifestEntry, stem

THUMB_PX = 192


def thumb_path(cache: Path, e: ManifestEntry, kind: str = "rgb") -> Path:
    tag = (e.sha256.get(kind) or str(e.bytes.get(kind, 0)))[:12]
    return cache / "thumbs" / f"{stem(e.id)}-{kind}-{tag}.jpg"


def make_thumb(src: Path, size: int = THUMB_PX) -> bytes:
    """JPEG bytes of ``src`` scaled so its longest side is at most ``size`` (never upscaled)."""
    from PIL import Image

    with Image.open(src) as im:
        im = im.convert("RGB")
        im.thumbnail((size, size), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def cached_thumb(cache: Path, src: Path, e: ManifestEntry, kind: str = "rgb") -> bytes:
    """The thumbnail of one sample's image, from the cache or made (and cached) now."""
    path = thumb_path(cache, e, kind)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data = make_thumb(src)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:  # read-only dataset: serve uncached
        pass
    return data


def _png(img: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def view_png(path: Path, kind: str) -> bytes:
    """PNG bytes for showing one pass: ``parts`` as RGBA colours (transparent background),
    ``depth`` colour-mapped RGBA (near = warm, transparent where there is no surface), ``normals``
    as (n + 1) / 2, artifact masks as red RGBA; other images as RGB."""
    from synth.dataset.imageio import read_image

    img = read_image(path)
    if kind == "parts":
        from synth.dataset.formats.controlnet import PART_COLOURS

        pal = np.zeros((256, 4), np.uint8)
        cols = np.asarray(PART_COLOURS, np.uint8).reshape(-1, 3)
        pal[: len(cols), :3] = cols
        pal[1 : len(cols), 3] = 255
        pal[len(cols) :] = (255, 255, 255, 255)
        ids = img if img.ndim == 2 else img[..., 0]
        return _png(pal[ids])
    if kind == "depth":
        from synth.dataset.preview import _depth_thumb

        d = np.asarray(img if img.ndim == 2 else img[..., 0], np.float32)
        rgba = np.dstack([_depth_thumb(d), np.where(d > 0, 255, 0).astype(np.uint8)])  # no surface: transparent
        return _png(rgba)
    if kind == "normals":
        n = np.asarray(img, np.float32)[..., :3]
        out = np.clip((n + 1.0) * 127.5, 0, 255).astype(np.uint8)
        out[np.abs(n).sum(axis=-1) == 0] = 0
        return _png(out)
    if kind in ("artifact_mask", "artifact", "artifact_heatmap"):
        m = img if img.ndim == 2 else img[..., :3].max(axis=-1)
        m = np.asarray(m, np.float32)
        m = m / max(float(m.max()), 1e-9)
        out = np.zeros((*m.shape, 4), np.uint8)
        out[..., 0] = 255
        out[..., 1] = 40
        out[..., 3] = np.round(m * 220).astype(np.uint8)
        return _png(out)
    if img.dtype != np.uint8:
        img = np.clip(np.asarray(img, np.float32) * 255.0, 0, 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    return _png(img)
