"""Dataset commands: ``synth validate``, ``synth package``, ``synth preview``, ``synth stats``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from synth.dataset.formats import FORMATS

logger = logging.getLogger(__name__)

CONDITIONINGS = ("depth", "skeleton", "parts")


SKIP_HELP = ("Leave out samples that fail the pre-check (missing or modified files, bad label JSON, unsafe paths) "
             "and list them in the summary and the output; without it such a dataset is refused.")


def _skipped_text(report: dict) -> str:
    """``"; skipped N invalid sample(s): ids ..."`` from a ``report["skipped_invalid"]`` record."""
    rec = report.get("skipped_invalid") or {}
    if not rec.get("count"):
        return ""
    ids = rec["ids"]
    return f"; skipped {rec['count']} invalid sample(s): ids " + ", ".join(map(str, ids[:20])) + (" ..." if len(ids) > 20 else "")


def _dataset_dir(path: str) -> Path:
    from synth.dataset.layout import DatasetError
    from synth.dataset.validate import require_dataset

    try:
        require_dataset(path)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from None
    return Path(path)


@click.command("validate")
@click.argument("dataset", type=click.Path(file_okay=False, path_type=str))
@click.option("--no-decode", is_flag=True, help="Do not decode images (no pixel checks).")
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="Checker threads.")
@click.option("--max-errors", type=click.IntRange(0), default=200, show_default=True, help="Print at most this many problems (0: all).")
@click.option("--report", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Also write the full result as JSON to this file.")  # fmt: skip
def validate_cmd(dataset: str, no_decode: bool, workers: int | None, max_errors: int,
                 report: str | None) -> None:  # fmt: skip
    """Check every sample of DATASET: manifest paths (relative, inside DATASET), file sizes and
    sha256 (always), image decoding and sizes, label schema and consistency (keypoints vs K and
    world_to_cam, visibility vs depth); samples listed in failures.jsonl (the job could not render
    them). Exit 1 on any problem, each named by its sample id."""
    from synth.dataset.layout import read_manifest
    from synth.dataset.validate import validate_dataset

    root = _dataset_dir(dataset)
    total = len(read_manifest(root))
    with _progress("validating", total) as advance:
        rep = validate_dataset(root, check_hashes=True, decode=not no_decode, workers=workers,
                               progress=advance)  # fmt: skip
    shown = rep.errors if max_errors == 0 else rep.errors[:max_errors]
    for line in shown:
        click.echo(line)
    if len(shown) < len(rep.errors):
        click.echo(f"... and {len(rep.errors) - len(shown)} more")
    for line in rep.warnings:
        click.echo(f"warning: {line}", err=True)
    click.echo(rep.summary())
    if report:
        import json

        doc = {"dataset": str(root), "ok": rep.ok, "samples": rep.n_manifest, "checked": rep.n_checked,
               "clean": rep.n_ok, "failed": rep.failed_ids, "errors": rep.errors, "warnings": rep.warnings}  # fmt: skip
        try:
            Path(report).write_text(json.dumps(doc, indent=1) + "\n", "utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot write --report {report}: {exc.strerror}") from None
    if not rep.ok:
        sys.exit(1)


@click.command("package")
@click.argument("dataset", type=click.Path(file_okay=False, path_type=str))
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), required=True,
              help="Output format: " + "; ".join(f"{f.name}: {f.summary}" for f in FORMATS.values()) + ".")
@click.option("--out", "out", type=click.Path(path_type=str), required=True, help="Output directory.")
@click.option(
    "--split",
    "split",
    default="train=0.9,val=0.05,test=0.05",
    show_default=True,
    help="Deterministic split by id hash, NAME=FRACTION,...; 'none' for one 'train' split.",
)
@click.option(
    "--conditioning", type=click.Choice(CONDITIONINGS), default="skeleton", show_default=True, help="controlnet: conditioning image."
)
@click.option(
    "--shard-size", type=click.IntRange(1 << 16), default=256 << 20, show_default=True, help="webdataset: maximum bytes per tar shard."
)
@click.option("--force", is_flag=True, help="Write into a non-empty --out directory.")
@click.option("--skip-invalid", is_flag=True, help=SKIP_HELP)
@click.option("--exclude-rejected", is_flag=True, help="Leave out samples human review rejected (synth review).")
@click.option("--min-rating", type=click.FloatRange(1, 5), default=None,
              help="Keep only samples whose merged realism rating is >= R (unrated samples are left out).")  # fmt: skip
def package_cmd(dataset: str, fmt: str, out: str, split: str, conditioning: str, shard_size: int,
                force: bool, skip_invalid: bool, exclude_rejected: bool, min_rating: float | None) -> None:  # fmt: skip
    """Package DATASET into --out in one of the formats of --format."""
    from synth.dataset.layout import DatasetError
    from synth.dataset.package import package
    from synth.dataset.splits import parse_splits

    root = _dataset_dir(dataset)
    try:
        splits = parse_splits(None if split.lower() == "none" else split)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--split") from None
    report: dict = {}
    try:
        counts = package(root, fmt, out, splits, conditioning=conditioning, shard_size=shard_size, force=force,
                         skip_invalid=skip_invalid, report=report, exclude_rejected=exclude_rejected,
                         min_rating=min_rating)  # fmt: skip
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{fmt}: wrote " + ", ".join(f"{k} {v}" for k, v in counts.items()) + f" sample(s) to {out}"
               + _skipped_text(report))  # fmt: skip


@click.command("preview")
@click.argument("dataset", type=click.Path(file_okay=False, path_type=str))
@click.option("--out", type=click.Path(dir_okay=False, path_type=str), required=True, help="Sheet image (.png/.jpg).")
@click.option("--count", type=click.IntRange(1, 400), default=16, show_default=True, help="Samples on the sheet.")
@click.option("--seed", type=int, default=0, show_default=True, help="Which samples (0: the first ids).")
@click.option("--thumb", type=click.IntRange(32, 1024), default=256, show_default=True, help="Tile size, px.")
@click.option("--skip-invalid", is_flag=True, help=SKIP_HELP)
def preview_cmd(dataset: str, out: str, count: int, seed: int, thumb: int, skip_invalid: bool) -> None:
    """A contact sheet: RGB with skeleton overlay (visible: filled, occluded: hollow), part mask
    and depth thumbnails, caption under each sample."""
    from synth.dataset.layout import DatasetError
    from synth.dataset.preview import contact_sheet

    root = _dataset_dir(dataset)
    report: dict = {}
    try:
        n = contact_sheet(root, out, count=count, seed=seed, thumb=thumb, skip_invalid=skip_invalid, report=report)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {out} ({n} sample(s))" + _skipped_text(report))


@click.command("stats")
@click.argument("dataset", type=click.Path(file_okay=False, path_type=str))
@click.option("--out", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Card path (default DATASET/README.md); plots go next to it in card_plots/.")
@click.option("--skip-invalid", is_flag=True, help=SKIP_HELP)  # fmt: skip
def stats_cmd(dataset: str, out: str | None, skip_invalid: bool) -> None:
    """Write a dataset card (README.md): counts, generator and config, conventions, licences,
    and distribution plots."""
    from synth.dataset.layout import DatasetError
    from synth.dataset.stats import write_card

    root = _dataset_dir(dataset)
    report: dict = {}
    try:
        path = write_card(root, out, skip_invalid=skip_invalid, report=report)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {path}" + _skipped_text(report))


class _progress:
    """Rich progress bar (samples/s, ETA) on a terminal; plain periodic lines on stderr otherwise
    (farm logs): one every 30 s, and every 10% for 1000 samples or more."""

    def __init__(self, what: str, total: int) -> None:
        self.what, self.total = what, total
        self._bar = None
        self._last_n = 0
        self._t0 = self._last_t = 0.0

    def __enter__(self):  # noqa: ANN204
        import time

        self._t0 = self._last_t = time.monotonic()
        if sys.stderr.isatty() and self.total:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                ProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.text import Text

            class _Speed(ProgressColumn):
                def render(self, task):  # noqa: ANN001, ANN202
                    speed = task.finished_speed or task.speed
                    return Text(f"{speed:.1f} samples/s" if speed else "- samples/s")

            self._bar = Progress(
                TextColumn(self.what),
                BarColumn(),
                MofNCompleteColumn(),
                _Speed(),
                TimeRemainingColumn(),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.what, total=self.total)
        return self.advance

    def advance(self, done: int) -> None:
        import time

        if self._bar is not None:
            self._bar.update(self._task, completed=done)
            return
        now = time.monotonic()
        step = self.total >= 1000 and done - self._last_n >= self.total // 10
        if step or now - self._last_t >= 30:
            rate = done / max(now - self._t0, 1e-9)
            eta = (self.total - done) / rate if rate > 0 else float("inf")
            click.echo(f"{self.what}: {done}/{self.total} samples, {rate:.1f} samples/s, ETA {eta:.0f} s", err=True)
            self._last_n, self._last_t = done, now

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def register(group: click.Group) -> None:
    """Add the dataset commands to the ``synth`` group."""
    for cmd in (validate_cmd, package_cmd, preview_cmd, stats_cmd):
        group.add_command(cmd)
