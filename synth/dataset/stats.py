"""``synth stats``: a dataset card (``README.md``) with counts, provenance, conventions and plots.

The card is generated from ``dataset.json`` and the labels only (nothing is invented): counts
per split-free total, handedness, gesture and category, the generator and the resolved job
config, the label conventions, the licences of the assets used (``assets/NOTICE`` plus any
provenance recorded in ``dataset.json``), and matplotlib plots of the gesture / category
histograms, palm facing and viewpoint, skin tone, lighting, hand bbox sizes and per-keypoint
visibility rates. Plots go to ``card_plots/`` next to the card.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from synth.dataset.layout import DatasetError, ManifestEntry, atomic_write, read_dataset_json, read_manifest, safe_member_path
from synth.geometry import palm_normal
from synth.hand.keypoints import KEYPOINT_NAMES

logger = logging.getLogger(__name__)

#: At most this many labels are read for the plots (a deterministic subset beyond it).
MAX_LABELS = 50_000


def _notice_text() -> str | None:
    import synth

    p = Path(synth.__file__).resolve().parent.parent / "assets" / "NOTICE"
    return p.read_text("utf-8") if p.is_file() else None


def _kind(d: Any) -> str | None:
    if isinstance(d, dict):
        for key in ("kind", "type", "mode", "preset"):
            if isinstance(d.get(key), str):
                return d[key]
    return d if isinstance(d, str) else None


def _lighting_kind(v: Any) -> tuple[str, str]:
    """(lighting type, background type) of a label's ``attributes.lighting``."""
    if not isinstance(v, dict):
        return (_kind(v) or "not recorded"), "not recorded"
    env = _kind(v.get("env")) or _kind(v)
    lights = v.get("lights") if isinstance(v.get("lights"), list) else []
    if env is None:
        kinds = sorted({_kind(x) or "area" for x in lights})
        env = f"{len(lights)} {'/'.join(kinds)} light(s)" if lights else "not recorded"
    elif lights:
        env = f"{env} + {len(lights)} light(s)"
    bg = v.get("background")
    bg_kind = _kind(bg) or ("uniform colour" if isinstance(bg, dict) and "color" in bg else "not recorded")
    return env, bg_kind


def _find(attrs: dict[str, Any], *needles: str) -> tuple[str, Any] | None:
    for k, v in attrs.items():
        if any(n in k.lower() for n in needles):
            return k, v
    return None


def hand_view_angles(label: dict[str, Any]) -> tuple[float, float] | None:
    """Direction to the camera in the hand's own frame, degrees: (azimuth, elevation).

    Hand frame from the 3D keypoints: ``y`` wrist -> middle MCP, ``z`` the palm normal pointing
    out of the palm, ``x = y x z``. Elevation +90: the camera looks straight at the palm; -90: at
    the back of the hand; azimuth 0: the camera is on the fingertip side, +-180: on the forearm side.
    """
    try:
        kp = np.asarray(label["keypoints_3d_world"], float)
        M = np.asarray(label["world_to_cam"], float)
    except (KeyError, TypeError, ValueError):
        return None
    if kp.shape != (21, 3) or M.shape != (4, 4):
        return None
    cam = -M[:3, :3].T @ M[:3, 3]
    y = kp[9] - kp[0]
    z = palm_normal(kp, "left" if label.get("handedness") == "left" else "right")
    y_n = np.linalg.norm(y)
    if y_n < 1e-9 or np.linalg.norm(z) < 1e-12:
        return None
    y = y / y_n
    z = z - (z @ y) * y
    z = z / np.linalg.norm(z)
    x = np.cross(y, z)
    d = cam - kp[[0, 5, 9, 13, 17]].mean(axis=0)
    d = d / np.linalg.norm(d)
    return float(np.degrees(np.arctan2(d @ x, d @ y))), float(np.degrees(np.arcsin(np.clip(d @ z, -1, 1))))


def collect(root: Path, labels_limit: int = MAX_LABELS, entries: dict[int, ManifestEntry] | None = None) -> dict[str, Any]:
    """Counters and arrays for the card, from the labels of ``root`` (of ``entries``: default all)."""
    entries = read_manifest(root) if entries is None else entries
    ids = list(entries)
    if len(ids) > labels_limit:
        rng = np.random.default_rng(0)
        ids = sorted(rng.choice(ids, labels_limit, replace=False).tolist())
    c: dict[str, Any] = {
        "n": len(entries), "n_read": len(ids), "gesture": Counter(), "category": Counter(),
        "handedness": Counter(), "size": Counter(), "palm": Counter(), "camera_mode": Counter(),
        "skin": Counter(), "lighting": Counter(), "background": Counter(), "hdris": Counter(), "elev": [], "azim": [], "bbox_wh": [],
        "vis": np.zeros(21), "in_frame": np.zeros(21), "files": Counter(), "objects": Counter(),
        "surface": Counter(), "post": Counter(),
    }  # fmt: skip
    for i in ids:
        e = entries[i]
        c["files"].update(e.files.keys())
        try:
            lab = json.loads(safe_member_path(root, e.files["label"], e.id).read_text("utf-8"))
        except (OSError, ValueError, KeyError):
            continue
        g = lab.get("gesture") or {}
        c["gesture"][str(g.get("name"))] += 1
        c["category"][str(g.get("category"))] += 1
        c["handedness"][str(lab.get("handedness"))] += 1
        W, H = lab.get("image_size", [0, 0])
        c["size"][f"{W}x{H}"] += 1
        a = lab.get("attributes") or {}
        hit = _find(a, "palm")
        c["palm"][str(hit[1]) if hit else "not recorded"] += 1
        c["camera_mode"][str(a.get("camera_mode", "not recorded"))] += 1
        skin = a.get("skin_tone", "not recorded")
        c["skin"][str(skin.get("name", skin.get("label", skin)) if isinstance(skin, dict) else skin)] += 1
        lt = a.get("lighting")
        env = lt.get("env") if isinstance(lt, dict) else None
        if isinstance(env, dict) and isinstance(env.get("hdri"), str) and env["hdri"]:
            c["hdris"][env["hdri"]] += 1
        light, bg = _lighting_kind(a.get("lighting", "not recorded"))
        c["lighting"][light] += 1
        c["background"][bg] += 1
        for o in lab.get("objects") or []:
            if isinstance(o, dict):
                c["objects"][f"{o.get('category', '?')}: {o.get('name', '?')}"] += 1
        surf = a.get("surface")
        c["surface"]["none" if not isinstance(surf, dict) else
                     f"{surf.get('kind')} ({'resting' if surf.get('resting') else 'above'})"] += 1
        post = a.get("post") if isinstance(a.get("post"), dict) else {}
        effects = {"depth of field": "dof_f_number", "soft focus": "blur_sigma", "motion blur": "motion_px",
                   "sensor noise": "noise_sigma", "JPEG": "jpeg_quality"}
        for name, key in effects.items():
            c["post"][name] += key in post
        c["post"]["none"] += not any(k in post for k in effects.values())
        view = hand_view_angles(lab)
        if view is not None:
            c["azim"].append(view[0])
            c["elev"].append(view[1])
        if "bbox" in lab:
            x0, y0, x1, y1 = lab["bbox"]
            c["bbox_wh"].append((x1 - x0, y1 - y0, max(W, H) or 1))
        vis = np.asarray(lab.get("visibility", np.zeros(21)), float)
        uv = np.asarray(lab.get("keypoints_2d", np.full((21, 2), -1e9)), float)
        inside = (uv[:, 0] >= -0.5) & (uv[:, 0] < W - 0.5) & (uv[:, 1] >= -0.5) & (uv[:, 1] < H - 0.5)
        if vis.shape == (21,):
            c["vis"] += vis
            c["in_frame"] += inside
    return c


def _bar(ax: Any, counter: Counter, title: str, top: int = 30) -> None:
    items = counter.most_common(top)
    names = [k for k, _ in items][::-1]
    vals = [v for _, v in items][::-1]
    ax.barh(range(len(names)), vals, color="#4c72b0")
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=7)
    ax.set_title(title + (f" (top {top} of {len(counter)})" if len(counter) > top else ""), fontsize=9)
    ax.set_xlabel("samples", fontsize=8)


def plots(c: dict[str, Any], folder: Path) -> list[tuple[str, str]]:
    """Write the plots as PNGs into ``folder``; returns (title, file name) pairs."""
    from synth._lazy import require

    mpl = require("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    out: list[tuple[str, str]] = []

    def save(fig: Any, name: str, title: str) -> None:
        fig.tight_layout()
        fig.savefig(folder / name, dpi=90, metadata={"Software": None})
        plt.close(fig)
        out.append((title, name))

    fig, axs = plt.subplots(1, 2, figsize=(11, max(3.0, 0.18 * min(30, len(c["gesture"])) + 1)))
    _bar(axs[0], c["gesture"], "gestures")
    _bar(axs[1], c["category"], "gesture categories")
    save(fig, "gestures.png", "Gesture and category histograms")

    fig, axs = plt.subplots(1, 3, figsize=(12, 3.2))
    _bar(axs[0], c["palm"], "palm facing")
    _bar(axs[1], c["camera_mode"], "camera mode")
    if c["elev"]:
        axs[2].scatter(c["azim"], c["elev"], s=4, alpha=0.5)
        axs[2].set_xlim(-180, 180)
        axs[2].set_ylim(-90, 90)
        axs[2].set_xlabel("azimuth in the hand frame, deg (0: fingertip side)", fontsize=8)
        axs[2].set_ylabel("elevation, deg (+90: palm)", fontsize=8)
        axs[2].set_title("camera direction seen from the hand", fontsize=9)
    else:
        axs[2].text(0.5, 0.5, "no viewpoint angles recorded", ha="center", va="center")
        axs[2].set_axis_off()
    save(fig, "viewpoint.png", "Palm facing and viewpoint")

    fig, axs = plt.subplots(1, 3, figsize=(13, 3.2))
    _bar(axs[0], c["skin"], "skin tone")
    _bar(axs[1], c["lighting"], "lighting")
    _bar(axs[2], c["background"], "background")
    save(fig, "appearance.png", "Skin tone, lighting and background")

    fig, axs = plt.subplots(1, 2, figsize=(11, 3.2))
    if c["bbox_wh"]:
        wh = np.asarray(c["bbox_wh"], float)
        axs[0].hist(np.sqrt(np.clip(wh[:, 0] * wh[:, 1], 0, None)), bins=30, color="#4c72b0")
        axs[0].set_xlabel("sqrt(bbox area), px", fontsize=8)
        axs[0].set_title("hand bbox size", fontsize=9)
        axs[1].hist(np.maximum(wh[:, 0], wh[:, 1]) / wh[:, 2], bins=30, color="#dd8452")
        axs[1].set_xlabel("bbox longer side / image size", fontsize=8)
        axs[1].set_title("hand bbox size relative to the image", fontsize=9)
    save(fig, "bbox.png", "Hand bounding-box sizes")

    fig, ax = plt.subplots(figsize=(11, 3.2))
    n = max(1, c["n_read"])
    x = np.arange(21)
    ax.bar(x - 0.2, c["in_frame"] / n, width=0.4, label="in frame", color="#bbbbbb")
    ax.bar(x + 0.2, c["vis"] / n, width=0.4, label="visible", color="#4c72b0")
    ax.set_xticks(x)
    ax.set_xticklabels(KEYPOINT_NAMES, rotation=60, fontsize=7, ha="right")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("per-keypoint rates", fontsize=9)
    save(fig, "visibility.png", "Per-keypoint visibility rates")
    return out


def _table(counter: Counter, head: str, top: int = 40) -> str:
    rows = [f"| {head} | samples |", "|---|---:|"]
    rows += [f"| {k} | {v} |" for k, v in counter.most_common(top)]
    if len(counter) > top:
        rows.append(f"| ... {len(counter) - top} more | |")
    return "\n".join(rows)


def write_card(root: str | os.PathLike[str], out: str | os.PathLike[str] | None = None, skip_invalid: bool = False,
               report: dict[str, Any] | None = None) -> Path:
    """Write the dataset card of ``root`` (default ``root/README.md``); returns its path.

    Every sample is checked first (:func:`synth.dataset.validate.sample_problems`): an invalid
    one is an error naming it and nothing is written; with ``skip_invalid`` it is left out and
    listed in the card (and in ``report["skipped_invalid"]``). The plots are drawn into a
    temporary folder and renamed into place, the card is written atomically.
    """
    import shutil
    import tempfile

    import yaml

    from synth.dataset.validate import skipped_summary, usable_ids

    root = Path(root)
    meta = read_dataset_json(root)
    card = Path(out) if out else root / "README.md"
    if not card.parent.is_dir():
        raise DatasetError(f"--out {card}: folder {card.parent} does not exist")
    all_entries = read_manifest(root)
    good, bad = usable_ids(root, all_entries, skip_invalid, "stats")
    if report is not None:
        report["skipped_invalid"] = skipped_summary(bad)
    entries = {i: all_entries[i] for i in good}
    c = collect(root, entries=entries)
    if c["n"] == 0:
        raise DatasetError(f"{root} holds no complete samples")
    plot_dir = card.parent / "card_plots"
    staging = Path(tempfile.mkdtemp(prefix=".card_plots.", suffix=".tmp", dir=card.parent))
    try:
        figs = plots(c, staging)
        if plot_dir.exists():
            old_dir = Path(tempfile.mkdtemp(prefix=".card_plots.old.", suffix=".tmp", dir=card.parent))
            os.rename(plot_dir, old_dir / "card_plots")
            os.rename(staging, plot_dir)
            shutil.rmtree(old_dir, ignore_errors=True)
        else:
            os.rename(staging, plot_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    rel = os.path.relpath(plot_dir, card.parent)
    gen = meta.get("generator", {})
    gen_text = f"{gen.get('name', 'synth')} {gen.get('version', '?')}" if isinstance(gen, dict) else str(gen)
    cfg = meta.get("config")
    L: list[str] = []
    L.append(f"# {root.resolve().name}: synthetic hand dataset\n")
    L.append(
        f"{c['n']} samples rendered by {gen_text}"
        + (f" (Blender {meta['blender_version']})" if meta.get("blender_version") else "")
        + f"; image sizes: {', '.join(f'{k} ({v})' for k, v in c['size'].most_common())}; "
        + f"handedness: {', '.join(f'{k} {v}' for k, v in c['handedness'].most_common())}."
    )
    from synth.dataset.splits import DEFAULT_SPLITS, assign

    by_split = assign(entries, DEFAULT_SPLITS)
    L.append(
        "\nDefault deterministic split (`synth package --split train=0.9,val=0.05,test=0.05`): "
        + ", ".join(f"{k} {len(v)}" for k, v in by_split.items())
        + "."
    )
    if bad:
        ids = sorted(bad)
        L.append(
            f"\n**{len(ids)} invalid sample(s) left out** (`synth stats --skip-invalid`; see `synth validate`): ids "
            + ", ".join(str(i) for i in ids[:50]) + (" ..." if len(ids) > 50 else "") + "."
        )
    if c["n_read"] < c["n"]:
        L.append(f"\nStatistics below are computed on a deterministic subset of {c['n_read']} labels.")
    L.append("\n## Contents\n")
    L.append("| file kind | samples |\n|---|---:|\n" + "\n".join(f"| {k} | {v} |" for k, v in sorted(c["files"].items())))
    L.append("\nLayout: `dataset.json`, `manifest.jsonl` (one line per complete sample with the sha256 of every "
             "file), `rgb/ID.png`, `depth/ID.exr`, `parts/ID.png`, `normals/ID.exr`, `labels/ID.json`, "
             "`mesh/ID.npz`; ids are zero-padded to 8 digits. Check it with `synth validate`.")  # fmt: skip
    L.append("\n## Gestures\n")
    L.append(_table(c["category"], "category"))
    L.append("")
    L.append(_table(c["gesture"], "gesture", top=25))
    L.append("\n## Scene content\n")
    L.append("Objects in the labels' `objects` lists (held objects, worn accessories, tables):\n")
    L.append(_table(c["objects"], "category: object") if c["objects"] else "No objects.")
    L.append("")
    L.append(_table(c["surface"], "table under the hand"))
    L.append("")
    L.append(_table(Counter({k: v for k, v in c["post"].items() if v}), "post effect (RGB only)"))
    L.append("\n## Plots\n")
    for title, name in figs:
        L.append(f"### {title}\n\n![{title}]({rel}/{name})\n")
    from synth.review.report import card_section  # the human review section (none without reviews)

    L.extend(card_section(root, plot_dir, rel))
    L.append("## Label conventions\n")
    conv = meta.get("conventions", {})
    L.extend(f"- **{k}**: {v}" for k, v in conv.items())
    kp = meta.get("keypoints", {})
    if kp:
        L.append(f"- **keypoints** ({kp.get('order', '')}): " + ", ".join(f"{i} {n}" for i, n in enumerate(kp.get("names", []))))
    if meta.get("part_ids"):
        L.append("- **part ids**: " + ", ".join(f"{v} {k}" for k, v in meta["part_ids"].items()))
    L.append("\nPer-sample label fields: `id, seed, image_size, handedness, K, world_to_cam, keypoints_3d_world, "
             "keypoints_3d_cam, keypoints_2d, visibility, bbox, gesture, caption, attributes, hand_model, render, "
             "files`.")  # fmt: skip
    L.append("\n## Generator and configuration\n")
    prov = {k: v for k, v in meta.items() if k not in ("config", "conventions", "keypoints", "part_ids", "layout")}
    L.append("```yaml\n" + yaml.safe_dump(prov, sort_keys=False).rstrip() + "\n```")
    if cfg is not None:
        L.append("\nResolved job config (re-render or extend with `synth render --config` of this):\n")
        L.append("```yaml\n" + yaml.safe_dump(cfg, sort_keys=False).rstrip() + "\n```")
    L.append("\n## Licences of the assets used\n")
    for key in ("licenses", "licences", "assets", "hand_model"):
        if key in meta:
            L.append(f"Recorded in dataset.json `{key}`:\n\n```yaml\n{yaml.safe_dump(meta[key], sort_keys=False).rstrip()}\n```\n")
    if c["hdris"]:
        L.append(
            "HDRIs seen in the labels (Blender's bundled studio lights are CC0; any other file is "
            "user-supplied and keeps its source's licence): " + ", ".join(f"`{k}` ({v})" for k, v in sorted(c["hdris"].items())) + "\n"
        )
    notice = _notice_text()
    if notice:
        L.append("From synth's `assets/NOTICE`:\n\n```text\n" + notice.rstrip() + "\n```")
    else:
        L.append("synth's `assets/NOTICE` was not found next to the installed package; see the synth repository.")
    L.append("\nUser-supplied HDRIs and backgrounds (if the config names any) keep the licences of their sources.\n")
    text = "\n".join(L) + "\n"
    atomic_write(card, text.encode("utf-8"))
    logger.info("dataset card -> %s", card)
    return card
