"""``synth package``: turn a dataset directory into a training-ready format.

Formats: :data:`synth.dataset.formats.FORMATS` (one module each in :mod:`synth.dataset.formats`).
Splits are deterministic by id hash (:mod:`synth.dataset.splits`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synth.dataset.formats import FORMATS
from synth.dataset.layout import DatasetError
from synth.dataset.splits import assign

logger = logging.getLogger(__name__)


def prepare_out(out: str | os.PathLike[str], force: bool) -> Path:
    """Create ``out``; refuse a non-empty directory unless ``force`` (never deletes anything)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DatasetError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise DatasetError(f"--out {out} is not empty; choose an empty directory or use --force")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"cannot create --out {out}: {exc.strerror}") from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise DatasetError(f"--out {out} is not writable")
    return out


def package(
    root: str | os.PathLike[str],
    fmt: str,
    out: str | os.PathLike[str],
    splits: Mapping[str, float],
    force: bool = False,
    **options: Any,
) -> dict[str, int]:
    """Package dataset ``root`` as ``fmt`` into ``out``; returns sample counts per split.

    Options: ``conditioning`` (controlnet: ``depth``/``skeleton``/``parts``), ``shard_size``
    (webdataset/parquet: bytes per shard file).
    """
    from synth.data import HandDataset

    ds = HandDataset(root, load=())
    if not len(ds):
        raise DatasetError(f"{root} holds no complete samples")
    info = FORMATS.get(fmt)
    if info is None:
        raise DatasetError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    for kind in info.needed_passes(options):
        lacking = [i for i in ds.ids if kind not in ds.entries[i].files]
        if lacking:
            raise DatasetError(f"{fmt} needs the {kind} pass, which {len(lacking)} sample(s) lack (e.g. id {lacking[0]})")
    by_split = assign(ds.ids, splits)
    out_dir = prepare_out(out, force)
    writer = info.writer()
    counts: dict[str, int] = {}
    for split, ids in by_split.items():
        if not ids:
            logger.warning("split %r is empty", split)
        sub = ds.subset(ids)
        counts[split] = writer(sub, out_dir, split, **options)
        logger.info("%s: %s -> %d samples", fmt, split, counts[split])
    return counts
