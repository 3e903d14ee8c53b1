"""Asset checks at job start: every HDRI and background image is decoded once before rendering.

A file that does not decode (truncated, corrupt, not an image) would otherwise render as
Blender's missing-texture magenta under labels that say "a photographic backdrop".
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from synth.config import JobConfig

logger = logging.getLogger(__name__)


class AssetError(ValueError):
    """An asset file (HDRI, background image) that does not decode; the message names it."""


@dataclass
class AssetReport:
    """What :func:`check_assets` looked at: ``checked`` files, ``bad`` ``{path: reason}``."""

    checked: int = 0
    bad: dict[str, str] = field(default_factory=dict)


def decode_problem(path: Path) -> str | None:
    """Why ``path`` does not decode as an image (None when it decodes to a non-empty, finite
    image). HDRIs (.exr/.hdr) and 8-bit images are read with OpenCV."""
    os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")  # read at the first EXR decode
    import cv2
    import numpy as np

    try:
        if path.stat().st_size == 0:
            return "is empty"
        with open(path, "rb"):
            pass
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    try:  # imread, not imdecode: OpenCV decodes EXR from memory through a temporary file
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        img = None
    if img is None and path.suffix.lower() == ".exr":  # an OpenCV build without OpenEXR
        try:
            from synth.render.exr import read_exr

            ch = read_exr(path)
            img = next(iter(ch.values()), None)
        except Exception:  # noqa: BLE001 - any failure means it does not decode
            img = None
    if img is None or img.size == 0:
        return "does not decode as an image (truncated or corrupt)"
    if img.dtype.kind == "f" and not np.isfinite(img).all():
        return "has non-finite pixels"
    return None


def job_asset_files(cfg: JobConfig) -> list[Path]:
    """The HDRIs and background images the job can draw (natural lighting only)."""
    if cfg.lighting.mode != "natural":
        return []
    from synth.scene.lighting import IMAGE_SUFFIXES, available_hdris, list_files

    files = list(available_hdris(tuple(cfg.lighting.hdri_dirs)))
    for d in cfg.lighting.background_dirs:
        files += list_files(d, IMAGE_SUFFIXES, "background")
    return files


def check_assets(cfg: JobConfig, skip_bad: bool = False) -> AssetReport:
    """Decode every asset the job can draw, once.

    Args:
        cfg: the job.
        skip_bad: log a warning per bad file instead of raising (the caller leaves them out).
    Raises:
        AssetError: a file does not decode (without ``skip_bad``), or every background image of a
            job that draws them is bad.
    """
    report = AssetReport()
    for path in job_asset_files(cfg):
        report.checked += 1
        why = decode_problem(path)
        if why is None:
            continue
        if not skip_bad:
            raise AssetError(f"asset {path} {why} (fix or remove it, or pass --skip-bad-assets)")
        logger.warning("skipping asset %s: %s", path, why)
        report.bad[str(path)] = why
    if skip_bad and cfg.lighting.bg_image > 0 and cfg.lighting.background_dirs:
        from synth.scene.lighting import IMAGE_SUFFIXES, list_files

        good = [p for d in cfg.lighting.background_dirs for p in list_files(d, IMAGE_SUFFIXES, "background")
                if str(p) not in report.bad]
        if not good:
            raise AssetError(f"no background image in {', '.join(cfg.lighting.background_dirs)} decodes")
    return report
