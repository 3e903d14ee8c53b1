"""``synth package``: turn a dataset directory into a training-ready format.

Formats: :data:`synth.dataset.formats.FORMATS` (one module each in :mod:`synth.dataset.formats`).
Splits are deterministic by id hash (:mod:`synth.dataset.splits`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synth.dataset.formats import FORMATS
from synth.dataset.layout import DatasetError
from synth.dataset.splits import assign

logger = logging.getLogger(__name__)


def prepare_out(out: str | os.PathLike[str], force: bool) -> Path:
    """Check ``out`` can be written: absent, empty, or (``force``) any directory. Creates nothing
    but its parent folder; the package is built beside it (see :func:`publish_dir`)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DatasetError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise DatasetError(f"--out {out} is not empty; choose an empty directory or use --force")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"cannot create the folder of --out {out}: {exc.strerror}") from exc
    if not os.access(out.parent, os.W_OK | os.X_OK) or (out.is_dir() and not os.access(out, os.W_OK | os.X_OK)):
        raise DatasetError(f"--out {out} is not writable")
    return out


def staging_dir(out: Path) -> Path:
    """A fresh hidden directory beside ``out`` (same filesystem) to build the output in."""
    try:
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as exc:
        raise DatasetError(f"cannot create a temporary directory beside --out {out}: {exc.strerror}") from exc


def publish_dir(tmp: Path, out: Path) -> None:
    """Move the finished ``tmp`` into place as ``out``: one rename when ``out`` is absent or empty;
    into an existing non-empty ``out`` (``--force``) file by file, replacing same-named files."""
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        os.rename(tmp, out)
        return
    for src in sorted(tmp.rglob("*")):
        dst = out / src.relative_to(tmp)
        if src.is_dir() and not src.is_symlink():
            dst.mkdir(exist_ok=True)
        else:
            os.replace(src, dst)
    shutil.rmtree(tmp, ignore_errors=True)


def package(
    root: str | os.PathLike[str],
    fmt: str,
    out: str | os.PathLike[str],
    splits: Mapping[str, float],
    force: bool = False,
    skip_invalid: bool = False,
    report: dict[str, Any] | None = None,
    exclude_rejected: bool = False,
    min_rating: float | None = None,
    **options: Any,
) -> dict[str, int]:
    """Package dataset ``root`` as ``fmt`` into ``out``; returns sample counts per split.

    Every sample is checked first (files and sha256 as in the manifest, label JSON: see
    :func:`synth.dataset.validate.sample_problems`). An invalid sample is an error naming it,
    and nothing is written; with ``skip_invalid`` it is left out, and the skipped ids are
    recorded in ``out/skipped_invalid.json`` and in ``report["skipped_invalid"]``. The package is
    built in a temporary directory beside ``out`` and renamed into place only when complete.

    ``exclude_rejected`` / ``min_rating``: leave out samples that human review rejected / rated
    below this (merged reviews, :func:`synth.review.report.keep_ids`).

    Options: ``conditioning`` (controlnet: ``depth``/``skeleton``/``parts``), ``shard_size``
    (webdataset/parquet: bytes per shard file).
    """
    from synth.data import HandDataset
    from synth.dataset.layout import read_manifest
    from synth.dataset.validate import skipped_summary, usable_ids

    entries = read_manifest(root)
    good, bad = usable_ids(root, entries, skip_invalid, "package")
    if report is not None:
        report["skipped_invalid"] = skipped_summary(bad)
    ds = HandDataset(root, load=(), ids=good)
    if exclude_rejected or min_rating is not None:
        from synth.review.report import keep_ids

        try:
            ds = ds.subset(keep_ids(root, ds.ids, exclude_rejected, min_rating))
        except ValueError as exc:
            raise DatasetError(str(exc)) from None
        if not len(ds):
            raise DatasetError("no samples left after --exclude-rejected / --min-rating")
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
    if info.needs_twins and not (ds.root / "twins" / "manifest.jsonl").is_file():
        raise DatasetError(f"--format {fmt} needs defect twins ({root}/twins): render with --defects-fraction")
    writer = info.writer()
    out_p = prepare_out(out, force)
    tmp = staging_dir(out_p)
    try:
        counts: dict[str, int] = {}
        for split, ids in by_split.items():
            if not ids:
                logger.warning("split %r is empty", split)
            sub = ds.subset(ids)
            counts[split] = writer(sub, tmp, split, **options)
            logger.info("%s: %s -> %d samples", fmt, split, counts[split])
        if bad:
            doc = {"source": str(root), "format": fmt, "skipped_invalid": skipped_summary(bad)}
            (tmp / "skipped_invalid.json").write_text(json.dumps(doc, indent=1) + "\n", "utf-8")
        publish_dir(tmp, out_p)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return counts
