"""Farm commands and the scale-out options of ``synth render``.

``synth merge DIR... --out DIR`` is registered here. The ``synth render`` options ``--shard``,
``--num-shards``, ``--executor``, ``--address``, ``--workers``, ``--cpus-per-worker``,
``--gpus-per-worker`` and ``--chunk-size`` are provided by :func:`farm_options` and run by
:func:`render_farm`, for the render command to use::

    @farm_options
    def render_command(config, overrides, no_resume, **options):
        ...
        render_farm(cfg, options, resume=not no_resume, run_local=run)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from synth.config import JobConfig

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

#: The option names :func:`farm_options` adds (as click passes them to the command).
FARM_OPTION_NAMES = ("shard", "num_shards", "executor", "address", "workers", "cpus_per_worker",
                     "gpus_per_worker", "chunk_size")  # fmt: skip


def farm_options(f: F) -> F:
    """Add the scale-out options to a click command (see the module docstring)."""
    opts = [
        click.option("--shard", type=str, default=None, metavar="I/N",
                     help="Render only shard I of N (0-based, a deterministic split of the ids). Default: from "
                          "SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX when set, else all ids."),
        click.option("--num-shards", type=int, default=None,
                     help="Number of shards for a Kubernetes Indexed Job (its completions), or a Slurm array "
                          "whose task ids are the shard indices."),
        click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                     help="local: this process; ray: render actors on a Ray cluster (extra 'farm')."),
        click.option("--address", type=str, default=None,
                     help="Ray cluster address (auto, ray://host:10001); default a local Ray instance."),
        click.option("--workers", type=int, default=None, help="Ray render actors (default: one per CPU/GPU slot)."),
        click.option("--cpus-per-worker", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="CPUs (Cycles threads) per render process or Ray actor; default: all cores for a "
                          "local process, 1 per Ray actor. Not part of the dataset's identity."),
        click.option("--gpus-per-worker", type=click.FloatRange(min=0), default=0.0, show_default=True,
                     help="GPUs per Ray actor (> 0 needs --device gpu)."),
        click.option("--chunk-size", type=int, default=None, help="Ids per Ray work item (default: automatic)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _progress_bar() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    transient=True)


def render_farm(
    cfg: JobConfig,
    options: Mapping[str, Any],
    resume: bool = True,
    run_local: Callable[[JobConfig, bool], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Run ``synth render`` with its scale-out options (one-line errors as click exceptions).

    Args:
        cfg: the resolved job (``cfg.out`` set).
        options: the command's keyword options (only :data:`FARM_OPTION_NAMES` are read).
        resume: False refuses a directory that already holds samples.
        run_local: the render command's own single-process runner, used when there is neither a
            shard nor Ray (so plain ``synth render`` behaves exactly as before).
        environ: environment for array-job detection (default ``os.environ``).
    """
    from synth.dataset.layout import DatasetError, read_manifest
    from synth.farm.sharding import ShardError, resolve_shard, shard_range

    env = os.environ if environ is None else environ
    try:
        spec = resolve_shard(options.get("shard"), options.get("num_shards"), env)
    except ShardError as exc:
        raise click.UsageError(str(exc)) from exc
    executor = options.get("executor") or "local"
    if executor == "local" and any(options.get(k) is not None for k in ("address", "workers", "chunk_size")):
        raise click.UsageError("--address/--workers/--chunk-size need --executor ray")
    if executor == "local" and (options.get("gpus_per_worker") or 0) > 0:
        raise click.UsageError("--gpus-per-worker needs --executor ray")
    if executor == "local" and spec.source == "default" and run_local is not None and options.get("cpus_per_worker") is None:
        run_local(cfg, resume)
        return
    assert cfg.out
    if not resume and os.path.isdir(cfg.out) and read_manifest(cfg.out):
        raise click.ClickException(f"{cfg.out} already holds samples and --no-resume was given")
    ids = shard_range(cfg.start, cfg.count, spec)
    where = f"shard {spec} ({spec.source}): ids {ids.start}..{ids.stop - 1}" if len(ids) else f"shard {spec}: no ids"
    click.echo(f"{where}, {len(ids)} samples -> {cfg.out}", err=True)
    try:
        if executor == "ray":
            _run_ray_cli(cfg, ids, options)
        else:
            cpus = options.get("cpus_per_worker")
            _run_shard_cli(cfg, ids, None if cpus is None else max(1, int(cpus)))
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from exc


def _run_shard_cli(cfg: JobConfig, ids: range, threads: int | None) -> None:
    from synth.farm.local import render_ids

    try:
        with _progress_bar() as bar:
            task = bar.add_task("rendering", total=len(ids))
            stats = render_ids(cfg, ids, progress=lambda _i: bar.advance(task), threads=threads)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    n = len(stats.written)
    click.echo(f"wrote {n} samples to {cfg.out} ({len(stats.skipped)} already complete) in {stats.seconds:.1f} s"
               f" ({n / stats.seconds if stats.seconds > 0 else 0.0:.2f} samples/s)")
    if stats.failed:
        ids_ = sorted(stats.failed)
        raise click.ClickException(f"{len(ids_)} sample(s) failed ({', '.join(map(str, ids_[:10]))}"
                                   f"{', ...' if len(ids_) > 10 else ''}); reasons in {cfg.out}/failures.jsonl, "
                                   "a re-run retries them")


def _run_ray_cli(cfg: JobConfig, ids: range, options: Mapping[str, Any]) -> None:
    from synth._lazy import MissingDependencyError
    from synth.farm.ray_executor import FarmError, run_ray

    try:
        with _progress_bar() as bar:
            task = bar.add_task("rendering (ray)", total=len(ids))
            stats = run_ray(cfg, ids, address=options.get("address"), num_workers=options.get("workers"),
                            cpus_per_worker=float(options.get("cpus_per_worker") or 1.0),
                            gpus_per_worker=float(options.get("gpus_per_worker") or 0.0),
                            chunk_size=options.get("chunk_size"),
                            progress=lambda done, total: bar.update(task, completed=done, total=total))
    except (FarmError, MissingDependencyError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    n = len(stats.written)
    click.echo(f"wrote {n} samples to {cfg.out} ({len(stats.skipped)} already complete) in {stats.seconds:.1f} s "
               f"with {stats.workers} Ray worker(s) ({stats.failures} failure(s) redone, {stats.recycled} recycled)")


@click.command("merge")
@click.argument("dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Merged dataset directory.")
@click.option("--link", is_flag=True, default=False, help="Hard-link files instead of copying (same filesystem).")
@click.option("--no-verify", is_flag=True, default=False, help="Check sizes only, not sha256 checksums.")
@click.option("--require-complete", is_flag=True, default=False,
              help="Fail when ids of the job's range are missing from the result.")
def merge_command(dirs: tuple[str, ...], out: str, link: bool, no_verify: bool, require_complete: bool) -> None:
    """Merge shard output directories DIRS of one job into the dataset OUT."""
    from synth.dataset.layout import DatasetError
    from synth.farm.merge import MergeError, merge

    try:
        stats = merge(list(dirs), out, link=link, verify=not no_verify)
    except (MergeError, DatasetError) as exc:
        raise click.ClickException(str(exc)) from exc
    msg = (f"merged {len(dirs)} dir(s) into {out}: {stats.ids} samples ({stats.copied} copied, "
           f"{stats.duplicates} duplicate(s) kept once)")
    if stats.missing:
        head = ", ".join(map(str, stats.missing[:5])) + (" ..." if len(stats.missing) > 5 else "")
        msg += f"; {len(stats.missing)} id(s) of the job missing: {head}"
    click.echo(msg)
    if require_complete and stats.missing:
        raise click.ClickException(f"{len(stats.missing)} id(s) of the job are missing (--require-complete)")


def register(group: click.Group) -> None:
    """Add ``merge`` to the ``synth`` command group."""
    group.add_command(merge_command)
