"""``synth gestures list|show`` and ``synth poses sample``: thin click wrappers over the library."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click
import numpy as np

logger = logging.getLogger(__name__)


def _library():  # noqa: ANN202 - deferred import keeps `synth --help` fast
    from synth.gestures.library import GestureError, load_library

    try:
        return load_library()
    except GestureError as exc:
        raise click.ClickException(str(exc)) from exc


def _get(lib, name: str):  # noqa: ANN001, ANN202
    from synth.gestures.library import GestureError

    try:
        return lib.get(name)
    except GestureError as exc:
        raise click.UsageError(str(exc)) from exc


@click.group("gestures")
def gestures_group() -> None:
    """The gesture library (assets/gestures/*.yaml)."""


@gestures_group.command("list")
@click.option("--category", "-c", default=None, help="Only this category (grasp, sign, emblem, device, counting).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of {name, category, description, tags, ...}.")
@click.option("--two-hand", "two_hand", is_flag=True,
              help="List the two-hand gestures (assets/gestures/two_hand: interacting, sign, fingerspelling, "
                   "manipulation) instead.")
def list_cmd(category: str | None, as_json: bool, two_hand: bool) -> None:
    """List gestures."""
    from synth.gestures.library import GestureError

    if two_hand:
        from synth.gestures.bimanual import CATEGORIES, load_two_hand

        try:
            items2 = load_two_hand()
        except GestureError as exc:
            raise click.ClickException(str(exc)) from exc
        if category is not None and category not in CATEGORIES:
            raise click.UsageError(f"unknown two-hand category {category!r}; expected one of {', '.join(CATEGORIES)}")
        items2 = [g for g in items2 if category is None or g.category == category]
        if as_json:
            click.echo(json.dumps([g.to_dict() for g in items2], indent=1))
            return
        width = max(len(g.name) for g in items2)
        for g in items2:
            click.echo(f"{g.name:<{width}}  {g.category:<14} {g.description}")
        click.echo(f"{len(items2)} two-hand gestures", err=True)
        return
    lib = _library()
    try:
        items = lib.in_category(category) if category else list(lib)
    except GestureError as exc:
        raise click.UsageError(str(exc)) from exc
    if as_json:
        click.echo(json.dumps([g.to_dict() for g in items], indent=1))
        return
    width = max(len(g.name) for g in items)
    for g in items:
        click.echo(f"{g.name:<{width}}  {g.category:<9} {g.description}")
    click.echo(f"{len(items)} gestures", err=True)


@gestures_group.command("solve-contacts")
@click.option("--name", "names", multiple=True, help="Only these gestures (repeatable); default: all with contacts.")
@click.option("--write", is_flag=True, help="Rewrite the solved poses into assets/gestures/*.yaml.")
def solve_contacts_cmd(names: tuple[str, ...], write: bool) -> None:
    """Solve declared finger contacts on the mesh (library build step); prints one JSON line per gesture."""
    from synth.gestures.build import solve_library

    lib = _library()
    for n in names:
        _get(lib, n)
    rows = solve_library(list(names) or None, write=write)
    for r in rows:
        click.echo(json.dumps(r))
    bad = [r["name"] for r in rows if not r["ok"]]
    click.echo(f"{len(rows) - len(bad)}/{len(rows)} solved" + (f"; open: {', '.join(bad)}" if bad else ""), err=True)


@gestures_group.command("solve-two-hand")
@click.option("--name", "names", multiple=True, help="Only these two-hand gestures (repeatable).")
@click.option("--write", is_flag=True, help="Rewrite the solved placements into assets/gestures/two_hand/*.yaml.")
def solve_two_hand_cmd(names: tuple[str, ...], write: bool) -> None:
    """Solve two-hand placements (contacts reached, no interpenetration); one JSON line per gesture."""
    from synth.gestures.bimanual import load_two_hand, solve_all
    from synth.gestures.library import GestureError

    try:
        known = {g.name for g in load_two_hand()}
    except GestureError as exc:
        raise click.ClickException(str(exc)) from exc
    for n in names:
        if n not in known:
            raise click.UsageError(f"unknown two-hand gesture {n!r}; see `synth gestures list --two-hand`")
    rows = solve_all(list(names) or None, write=write)
    for r in rows:
        click.echo(json.dumps(r))
    bad = [r["name"] for r in rows if not r["ok"]]
    click.echo(f"{len(rows) - len(bad)}/{len(rows)} solved" + (f"; open: {', '.join(bad)}" if bad else ""), err=True)


@gestures_group.command("show")
@click.argument("name")
@click.option("--side", type=click.Choice(["right", "left"]), default="right", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a shaded preview image of the posed hand (PNG).")
@click.option("--size", type=click.IntRange(64, 2048), default=384, show_default=True, help="Preview size, pixels.")
def show_cmd(name: str, side: str, out: Path | None, size: int) -> None:
    """Print a gesture's angles and caption; optionally render a preview."""
    from synth.labels.captions import describe

    lib = _library()
    g = _get(lib, name)
    caption, attrs = describe(g.pose, side, g.name)
    info = g.to_dict(with_pose=True)
    info["caption"] = caption
    info["attributes"] = attrs
    click.echo(json.dumps(info, indent=1))
    if out is not None:
        from synth.gestures.preview import render_preview

        backend = render_preview(g.pose, side, out, size=size)
        click.echo(f"wrote {out} ({backend})", err=True)


@click.group("poses")
def poses_group() -> None:
    """Anatomical pose sampling."""


@poses_group.command("sample")
@click.option("--count", "-n", type=click.IntRange(1, 10_000_000), required=True, help="Number of poses.")
@click.option("--seed", "-s", type=int, required=True, help="Seed of the numpy Generator.")
@click.option("--gestures", "-g", default=None, help="Comma-separated gesture names to vary and blend (default: all).")
@click.option("--mode", type=click.Choice(["mixed", "variation", "blend", "random"]), default="mixed", show_default=True)
@click.option("--min-distance", type=click.FloatRange(0.0), default=5.0, show_default=True,
              help="Minimum L2 distance (degrees, over all 48 angles) between any two poses; 0 disables.")
@click.option("--side", type=click.Choice(["right", "left"]), default="right", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write poses.npz (poses, gesture, mode, blend_with, blend_t, attributes_json).")
@click.option("--captions/--no-captions", default=True, show_default=True, help="Store caption attributes.")
@click.option("--mesh-check", is_flag=True, help="Also verify every pose on the posed mesh (exact, ~7 poses/s).")
def sample_cmd(count: int, seed: int, gestures: str | None, mode: str, min_distance: float, side: str,
               out: Path | None, captions: bool, mesh_check: bool) -> None:
    """Sample valid, collision-free, distinct poses."""
    import time

    from synth.gestures.sampler import PoseSampler, default_skeleton_for

    lib = _library()
    names = None
    if gestures:
        names = [n.strip() for n in gestures.split(",") if n.strip()]
        for n in names:
            _get(lib, n)
    rig = None
    if mesh_check:
        from synth.hand.models import load_model

        rig = load_model("open-hand", side)
    sampler = PoseSampler(library=lib, skeleton=default_skeleton_for(side), gestures=names, mesh_rig=rig)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    m = None if mode == "mixed" else mode
    try:
        if min_distance > 0:
            batch = sampler.sample_distinct(rng, count, min_distance, mode=m)
        else:
            batch = sampler.sample(rng, count, mode=m)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    dt = time.perf_counter() - t0
    summary = {"count": len(batch), "seed": seed, "seconds": round(dt, 3),
               "poses_per_second": round(len(batch) / max(dt, 1e-9), 1),
               "acceptance": round(len(batch) / max(batch.attempts, 1), 3), "min_distance_deg": min_distance}
    if out is not None:
        payload: dict[str, np.ndarray] = {
            "poses": batch.poses.astype(np.float32),
            "gesture": batch.gesture.astype(str),
            "mode": batch.mode.astype(str),
            "blend_with": batch.blend_with.astype(str),
            "blend_t": batch.blend_t.astype(np.float32),
            "joints": np.array(_joints()),
            "side": np.array(side),
            "seed": np.array(seed),
        }
        if captions:
            from synth.labels.captions import describe

            attrs = []
            for p, g in zip(batch.poses, batch.gesture, strict=True):
                attrs.append(json.dumps(describe(p, side, str(g))[1], sort_keys=True))
            payload["attributes_json"] = np.array(attrs)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp.npz")
        np.savez_compressed(tmp, **payload)
        tmp.replace(out)
        summary["out"] = str(out)
    click.echo(json.dumps(summary))


def _joints() -> list[str]:
    from synth.hand.anatomy import JOINTS

    return list(JOINTS)


def register(group: click.Group) -> None:
    """Add ``gestures`` and ``poses`` to the top-level CLI."""
    group.add_command(gestures_group)
    group.add_command(poses_group)
