"""``synth review``: the review page and what consumes its judgements.

``synth review DATASET`` (same as ``synth review serve DATASET``) starts the page;
``merge`` reports merged verdicts and agreement; ``suggest`` writes a config overlay;
``export --pairs`` writes human preference pairs.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

logger = logging.getLogger(__name__)


class _ReviewGroup(click.Group):
    """``synth review DATASET`` runs ``serve``: a first argument that is no sub-command is a dataset."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["serve", *args]
        return super().parse_args(ctx, args)


def _dataset(path: str) -> Path:
    from synth.dataset.layout import DatasetError
    from synth.dataset.validate import require_dataset

    try:
        require_dataset(path)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from None
    return Path(path)


@click.group("review", cls=_ReviewGroup)
def review_group() -> None:
    """Human review: `synth review DATASET` opens a local review page (see `synth review serve -h`)."""


@review_group.command("serve")
@click.argument("dataset", type=click.Path(file_okay=False, path_type=str))
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="TCP port (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; anything but loopback exposes the dataset.")
@click.option("--reviewer", default=None, help="Your name (A-Z a-z 0-9 . _ -); default: $USER.")
def serve_cmd(dataset: str, port: int, host: str, reviewer: str | None) -> None:
    """Serve a review page for DATASET: grid, detail view with overlays, keyboard verdicts,
    ratings, reasons and regions, pairs mode. Reviews go to DATASET/reviews/REVIEWER.jsonl."""
    import getpass

    from synth.review.server import is_loopback, make_server
    from synth.review.storage import ReviewError, check_reviewer

    root = _dataset(dataset)
    name = reviewer or getpass.getuser()
    try:
        check_reviewer(name)
    except ReviewError as exc:
        raise click.BadParameter(str(exc), param_hint="--reviewer") from None
    if not is_loopback(host):
        click.echo(f"warning: --host {host} is not a loopback address: anyone who can reach port {port} can see this "
                   "dataset (reviews still need the page's session token)", err=True)  # fmt: skip
    try:
        srv = make_server(root, name, host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"synth review: {srv.url}  (reviewer {name}, {len(srv.app.samples)} samples; Ctrl-C to stop)", err=False)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


@review_group.command("merge")
@click.argument("dataset", type=click.Path(file_okay=False, path_type=str))
@click.option("--out", type=click.Path(dir_okay=False, path_type=str), default=None, help="Also write the merged verdicts as JSONL.")
def merge_cmd(dataset: str, out: str | None) -> None:
    """Merge all reviewers (latest action per reviewer, then majority; ties reject) and report
    agreement (Cohen's kappa per pair of reviewers)."""
    import json

    from synth.review.merge import agreement, load_merged
    from synth.review.storage import iter_all, latest_reviews

    root = _dataset(dataset)
    per = {name: latest_reviews(acts) for name, acts in iter_all(root)}
    if not per:
        raise click.ClickException(f"{root} has no review files (reviews/*.jsonl)")
    merged = load_merged(root)
    v = [m.verdict for m in merged.values()]
    click.echo(f"reviewers: {', '.join(f'{n} ({len(r)})' for n, r in per.items())}")
    click.echo(f"merged: {len(merged)} sample(s): {v.count('accept')} accepted, {v.count('reject')} rejected, "
               f"{v.count(None)} without verdict; ties: {sum(m.n_accept == m.n_reject > 0 for m in merged.values())} (-> reject)")
    for a in agreement(per):
        k = "undefined" if a["kappa"] is None else f"{a['kappa']:.3f}"
        obs = "-" if a["observed"] is None else f"{a['observed']:.3f}"
        click.echo(f"agreement {a['a']} vs {a['b']}: {a['n']} shared verdict(s), observed {obs}, Cohen's kappa {k}")
    if out:
        lines = [json.dumps({"id": m.id, "verdict": m.verdict, "rating": m.rating, "reasons": m.reasons,
                             "accept": m.n_accept, "reject": m.n_reject}) for m in merged.values()]
        from synth.dataset.layout import atomic_write

        atomic_write(out, ("\n".join(lines) + ("\n" if lines else "")).encode())
        click.echo(f"wrote {out}")


@review_group.command("suggest")
@click.argument("dataset", type=click.Path(file_okay=False, path_type=str))
@click.option("--out", type=click.Path(dir_okay=False, path_type=str), required=True, help="Overlay YAML to write.")
@click.option("--config", "config", type=click.Path(dir_okay=False, exists=True, path_type=str), default=None,
              help="Base job YAML whose weights to lower (default: the dataset's own job config).")
@click.option("--min-reviews", type=click.IntRange(1), default=5, show_default=True,
              help="Ignore attribute values with fewer reviewed samples.")
@click.option("--full", is_flag=True, help="Write the whole base config with the lowered weights (else only the changed keys).")
def suggest_cmd(dataset: str, out: str, config: str | None, min_reviews: int, full: bool) -> None:
    """Turn reject rates into a config overlay: new weight = old weight x (1 - reject rate) for
    camera modes, lighting kinds and Monk skin steps (use it with `synth render --config`)."""
    from synth.review.suggest import SuggestError, suggest_overlay, write_overlay

    root = _dataset(dataset)
    try:
        overlay, notes = suggest_overlay(root, config, min_reviews=min_reviews, full=full)
    except SuggestError as exc:
        raise click.ClickException(str(exc)) from None
    write_overlay(out, overlay, notes)
    for line in notes:
        click.echo(line)
    click.echo(f"wrote {out}")


@review_group.command("export")
@click.argument("dataset", type=click.Path(file_okay=False, path_type=str))
@click.option("--pairs", is_flag=True, required=True, help="Export human preference pairs (the only export so far).")
@click.option("--out", type=click.Path(file_okay=False, path_type=str), required=True, help="Output directory.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the stored pair order.")
@click.option("--from-verdicts", is_flag=True, help="Also pair each rejected sample with an accepted one of the same gesture.")
@click.option("--force", is_flag=True, help="Write into a non-empty --out directory.")
def export_cmd(dataset: str, pairs: bool, out: str, seed: int, from_verdicts: bool, force: bool) -> None:
    """Write the merged human preference pairs in the `preference` package format (Parquet,
    Pick-a-Pic v2 columns)."""
    from synth.dataset.layout import DatasetError
    from synth.review.export import export_pairs

    root = _dataset(dataset)
    try:
        n = export_pairs(root, out, seed=seed, from_verdicts=from_verdicts, force=force)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"preference: wrote {n} pair(s) to {out}")


def register(group: click.Group) -> None:
    """Add ``synth review`` to the ``synth`` group."""
    group.add_command(review_group)
