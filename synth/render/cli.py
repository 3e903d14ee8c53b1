"""``synth render``: render a labelled dataset (thin layer over :func:`synth.render.job.run_job`)."""

from __future__ import annotations

import logging
import re

import click

from synth.config import ConfigError, JobConfig, apply_overrides
from synth.farm.cli import farm_options, render_farm

logger = logging.getLogger(__name__)

#: CLI option -> dotted config key.
_OPTION_KEYS = {
    "out": "out", "count": "count", "seed": "seed", "start": "start",
    "resolution": "render.resolution", "samples": "render.samples", "preset": "render.preset",
    "device": "render.device", "engine": "render.engine", "renderer": "render.renderer",
    "side": "hand.side", "gestures": "hand.gestures", "save_mesh": "output.save_mesh",
    "hdri_dir": "lighting.hdri_dirs", "background_dir": "lighting.background_dirs",
    "allow_truncation": "camera.allow_truncation", "camera_mode": "camera.mode",
    "props": "props.names", "props_fraction": "props.fraction",
    "defects_fraction": "defects.fraction",
}  # fmt: skip


#: ``--help`` sections of ``synth render``: option name -> section (others: "Other").
SECTIONS: dict[str, tuple[str, ...]] = {
    "Output": ("out", "save_mesh", "no_resume", "force", "verify", "skip_bad_assets", "config", "overrides"),
    "Content": ("count", "seed", "start", "side", "gestures", "props", "props_fraction", "defects_fraction"),
    "Look": ("camera_mode", "allow_truncation", "hdri_dir", "background_dir"),
    "Quality": ("resolution", "samples", "preset", "engine", "renderer", "device"),
    "Scale-out": ("shard", "num_shards", "executor", "address", "workers", "cpus_per_worker", "gpus_per_worker",
                  "chunk_size"),
}


class SectionedCommand(click.Command):
    """A click command whose ``--help`` lists its options under :data:`SECTIONS` headings and
    shows every default: options that override the job config show the config's default
    (:class:`synth.config.JobConfig`, the one place defaults are defined)."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows: dict[str, list[tuple[str, str]]] = {name: [] for name in (*SECTIONS, "Other")}
        where = {p: s for s, names in SECTIONS.items() for p in names}
        for param in self.get_params(ctx):
            rec = param.get_help_record(ctx)
            if rec is not None:  # click puts a text default in parentheses: "[default: (8)]" -> "[default: 8]"
                rec = (rec[0], re.sub(r"\[default: \((.*?)\)(;|\])", r"[default: \1\2", rec[1]))
                rows[where.get(param.name or "", "Other")].append(rec)
        for name, recs in rows.items():
            if recs:
                with formatter.section(f"{name} options"):
                    formatter.write_dl(recs)


def _config_defaults(command: click.Command) -> None:
    """Show the job config's default of each option that maps to a config key."""
    defaults = JobConfig().to_dict()
    for param in command.params:
        key = _OPTION_KEYS.get(param.name or "")
        if key is None or key == "out" or not isinstance(param, click.Option) or param.is_flag:
            continue
        node: object = defaults
        for part in key.split("."):
            node = node[part]  # type: ignore[index]
        if node in (None, [], ""):
            node = {"props": "none", "gestures": "all", "samples": "from the preset"}.get(
                param.name or "", "none")
        elif isinstance(node, list):
            node = ",".join(map(str, node))
        param.show_default = str(node)


def build_config(config: str | None, options: dict[str, object], overrides: tuple[str, ...]) -> JobConfig:
    """Defaults < ``--config`` YAML < explicit options < ``--set`` overrides."""
    cfg = JobConfig.load(config) if config else JobConfig()
    items = []
    options = dict(options)
    props = options.get("props")
    if props is not None:
        # --props all|none|a,b,...: "none" turns props off; a prop list without --props-fraction
        # means every sample holds one of them (fraction 1).
        words = [w.strip() for w in str(props).split(",") if w.strip()]
        if words in (["none"], []):
            options["props"], options["props_fraction"] = "[]", 0.0
            overrides = ("props.grasp_fraction=0", *overrides)  # before the user's --set
        else:
            options["props"] = "[]" if words == ["all"] else "[" + ",".join(words) + "]"
            if options.get("props_fraction") is None:
                options["props_fraction"] = 1.0
    for name, key in _OPTION_KEYS.items():
        v = options.get(name)
        if v is None or (name in ("save_mesh", "allow_truncation") and v is False) or v == ():
            continue
        if name in ("hdri_dir", "background_dir"):
            v = "[" + ",".join(str(d) for d in v) + "]"  # type: ignore[union-attr]
        elif name == "gestures":
            v = "[" + ",".join(g.strip() for g in str(v).split(",") if g.strip()) + "]"
        elif isinstance(v, bool):
            v = "true" if v else "false"
        items.append(f"{key}={v}")
    return apply_overrides(cfg, items + list(overrides))


@click.command("render", cls=SectionedCommand)
@click.option("--out", type=click.Path(file_okay=False), help="Output dataset directory.")
@click.option("--count", type=int, help="Number of samples.")
@click.option("--seed", type=int, help="Job seed (sample i depends only on seed and i).")
@click.option("--start", type=int, help="First sample id.")
@click.option("--resolution", type=int, help="Square image size in pixels.")
@click.option("--samples", type=int, help="Samples per pixel (overrides the preset).")
@click.option("--preset", type=click.Choice(["draft", "standard", "high"]), help="Quality preset.")
@click.option("--device", type=click.Choice(["cpu", "gpu"]), help="Render device (gpu fails if none).")
@click.option("--engine", type=click.Choice(["cycles", "eevee"]), help="Blender engine.")
@click.option("--renderer", type=click.Choice(["blender", "raster"]), help="Backend.")
@click.option("--side", type=click.Choice(["right", "left", "both"]), help="Hand side(s).")
@click.option("--gestures", type=str, help="Comma-separated gesture names.")
@click.option("--save-mesh", is_flag=True, default=False, help="Also write mesh/ID.npz (world vertices, faces).")
@click.option("--camera-mode", type=click.Choice(["mixed", "third_person", "egocentric", "selfie", "orbit"]),
              help="Camera distribution (mixed: third-person, egocentric and selfie views).")
@click.option("--allow-truncation", is_flag=True, default=False, help="Let the hand leave the frame.")
@click.option("--hdri-dir", multiple=True, type=click.Path(), help="Extra HDRI directory (repeatable).")
@click.option("--background-dir", multiple=True, type=click.Path(),
              help="Background image directory (repeatable; enables backplate backgrounds).")
@click.option("--props", type=str, metavar="all|none|NAME,...",
              help="Objects held by the hand: all props, none, or a comma-separated list (e.g. phone,mug); "
                   "without --props-fraction every sample holds one.")
@click.option("--props-fraction", type=click.FloatRange(0.0, 1.0),
              help="Fraction of samples holding an object (default 1 with --props, else props.fraction; "
                   "grasp gestures hold one by default: props.grasp_fraction).")
@click.option("--defects-fraction", type=click.FloatRange(0.0, 1.0),
              help="Fraction of samples that also get a malformed-hand twin in OUT/twins/ (synth.defects).")
@click.option("--config", "config", type=click.Path(dir_okay=False), help="Job YAML file.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Dotted config override (repeatable).")
@click.option("--no-resume", is_flag=True, default=False, help="Refuse a directory that already holds samples.")
@click.option("--force", is_flag=True, default=False,
              help="Resume into a directory made by a different config (its complete samples are kept).")
@click.option("--skip-bad-assets", is_flag=True, default=False,
              help="Leave out HDRIs / background images that do not decode (warned, counted in dataset.json) "
                   "instead of refusing the job.")
@click.option("--verify", is_flag=True, default=False, help="On resume, also check the sha256 of existing samples (sizes always).")
@farm_options
def render_command(config: str | None, overrides: tuple[str, ...], no_resume: bool, force: bool, verify: bool,
                   skip_bad_assets: bool, **options: object) -> None:
    """Render COUNT labelled samples into OUT (rgb, depth, parts, normals, labels).

    Sample i depends only on the job seed and i, so shards (--shard I/N, Slurm/Kubernetes array
    indices, --executor ray) produce exactly the samples of a single run.
    """
    try:
        cfg = build_config(config, options, overrides)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    if not cfg.out:
        raise click.UsageError("--out is required (or 'out' in the --config file)")
    if cfg.count < 1:
        raise click.UsageError(f"--count must be >= 1, got {cfg.count}")
    # Plain runs go to run() below; --shard / array-job indices / --executor ray to the farm layer.
    render_farm(cfg, options, resume=not no_resume,
                run_local=lambda c, r: run(c, r, force=force, verify=verify, skip_bad_assets=skip_bad_assets))


_config_defaults(render_command)


def error_line(exc: BaseException) -> str:
    """One line for an expected failure; an ``OSError`` names its path."""
    if isinstance(exc, OSError) and exc.filename and type(exc) in (OSError, PermissionError, FileNotFoundError,
                                                                    IsADirectoryError, NotADirectoryError):
        return f"cannot write {exc.filename}: {exc.strerror or exc}"
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def run(cfg: JobConfig, resume: bool = True, force: bool = False, verify: bool = False,
        skip_bad_assets: bool = False) -> None:
    """Run a job with progress (a rich bar with samples/s and ETA on a terminal, periodic log
    lines otherwise), turning expected failures into one-line errors.

    Exit status: 0 when every sample is complete; 1 when samples failed (listed in
    ``failures.jsonl``; a re-run retries them) or on an error; 130 / 143 when SIGINT / SIGTERM
    stopped the job (the complete samples are kept; a re-run resumes)."""
    import sys
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from synth.dataset.layout import DatasetError
    from synth.hand.rig import RigError
    from synth.render.blender.renderer import DeviceError
    from synth.render.job import FAILURES_FILE, JobAborted, run_job

    try:
        if sys.stderr.isatty():
            cols = (TextColumn("rendering"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]:.2f} samples/s"), TimeRemainingColumn())
            with Progress(*cols, transient=True) as bar:
                task = bar.add_task("rendering", total=cfg.count, rate=0.0)
                t0 = time.perf_counter()
                done = [0]

                def tick(_i: int) -> None:
                    done[0] += 1
                    bar.update(task, advance=1, rate=done[0] / max(time.perf_counter() - t0, 1e-9))

                stats = run_job(cfg, progress=tick, resume=resume, force=force, verify=verify,
                                skip_bad_assets=skip_bad_assets)
        else:  # farm logs: a plain line every 30 s
            t0 = last = time.perf_counter()
            done = [0]

            def log_line(_i: int) -> None:
                nonlocal last
                done[0] += 1
                now = time.perf_counter()
                if now - last >= 30.0 or done[0] == cfg.count:
                    rate = done[0] / max(now - t0, 1e-9)
                    eta = (cfg.count - done[0]) / rate if rate > 0 else float("inf")
                    click.echo(f"rendered {done[0]}/{cfg.count} samples, {rate:.2f} samples/s, ETA {eta:.0f} s", err=True)
                    last = now

            stats = run_job(cfg, progress=log_line, resume=resume, force=force, verify=verify,
                            skip_bad_assets=skip_bad_assets)
    except (DeviceError, DatasetError, RigError, ValueError, OSError, JobAborted) as exc:
        raise click.ClickException(error_line(exc)) from None
    except KeyboardInterrupt:  # before the job's own handlers were installed (setup)
        click.echo("interrupted before rendering started; nothing written", err=True)
        sys.exit(130)
    n = len(stats.written)
    rate = n / stats.seconds if stats.seconds > 0 else 0.0
    summary = (f"wrote {n} samples to {cfg.out} ({len(stats.skipped)} already complete"
               + (f", {len(stats.failed)} failed" if stats.failed else "")
               + f") in {stats.seconds:.1f} s ({rate:.2f} samples/s)")
    if stats.interrupted is not None:
        import signal

        name = signal.Signals(stats.interrupted).name
        click.echo(f"{name}: stopped; {summary}; complete samples kept, re-run the command to resume", err=True)
        sys.exit(128 + int(stats.interrupted))
    if stats.failed:
        ids = sorted(stats.failed)
        shown = ", ".join(map(str, ids[:10])) + (", ..." if len(ids) > 10 else "")
        click.echo(f"error: {summary}; samples {shown} failed (reasons in {cfg.out}/{FAILURES_FILE}; "
                   "a re-run retries them)", err=True)
        sys.exit(1)
    click.echo(summary)


def register(group: click.Group) -> None:
    """Add ``render`` to the ``synth`` command group."""
    group.add_command(render_command)
