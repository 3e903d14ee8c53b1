"""``synth review suggest``: reject rates -> a config overlay that samples rejected values less.

For every attribute value with at least ``min_reviews`` reviewed samples (merged verdicts) and
reject rate ``r = rejected / reviewed``, the sampling weight of that value becomes::

    new weight = old weight * max(1 - r, FLOOR)        (FLOOR = 0.05, so no value is switched off)

so the value's share in the next job is ``w_v (1 - r_v) / sum_u w_u (1 - r_u)`` (values without
enough reviews keep ``r_u = 0``). The weights this applies to (``synth/config.py``):

* camera mode (``camera_mode``): ``camera.third_person``, ``camera.egocentric``, ``camera.selfie``
  (used when ``camera.mode`` is ``mixed``);
* lighting kind (``lighting``): ``lighting.hdri``, ``lighting.sky``, ``lighting.studio``
  (``lighting.mode`` natural);
* skin, Monk tone (``monk``, steps 1..10): ``appearance.monk_weights[step - 1]``
  (``appearance.skin`` monk);
* gesture (``gesture``): ``hand.gesture_weights[name]`` (default 1; the gesture sampler draws a
  sample's gesture with these weights, so its share becomes ``w_g c_g / sum_u w_u c_u`` with
  ``c`` the shares at equal weights). The overlay lists every weight of the base plus the new
  ones. Gesture names the sampler cannot draw (``natural_random``, ``free``, names outside
  ``hand.gestures`` when it lists some) get a comment only.

Old weights come from the dataset's own job config (``dataset.json`` ``config``) or ``--config``. The overlay holds only the changed keys
(defaults for everything else when used alone as ``synth render --config overlay.yaml``); with
``full=True`` it is the whole base config with the changes applied.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from synth.review.report import reject_rates, wilson

FLOOR = 0.05
CAMERA_MODES = ("third_person", "egocentric", "selfie")
LIGHT_KINDS = ("hdri", "sky", "studio")


class SuggestError(ValueError):
    """No reviews, or no base config to start from."""


def new_weight(old: float, rate: float) -> float:
    """``old * max(1 - rate, FLOOR)``."""
    return float(old) * max(1.0 - float(rate), FLOOR)


def overlay_from_rates(rates: dict[str, dict[str, tuple[int, int]]], base: dict[str, Any],
                       min_reviews: int = 5) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """The overlay (nested dict of changed keys) and human-readable notes for ``rates``
    (``{attribute: {value: (rejected, reviewed)}}``) applied to the plain config dict ``base``."""
    overlay: dict[str, Any] = {}
    notes: list[str] = []

    def rate(attr: str, value: str) -> tuple[float, int] | None:
        k, n = rates.get(attr, {}).get(value, (0, 0))
        return (k / n, n) if n >= min_reviews else None

    def note(attr: str, value: str, key: str, old: float, new: float, r: float, n: int) -> None:
        k = round(r * n)
        lo, hi = wilson(k, n)
        notes.append(f"{key}: {old:g} -> {new:.4g}  ({attr} {value}: {k}/{n} rejected, {r:.1%}, 95 % {lo:.1%}-{hi:.1%})")

    cam = base.get("camera", {})
    for m in CAMERA_MODES:
        got = rate("camera_mode", m)
        if got and got[0] > 0 and m in cam:
            new = new_weight(cam[m], got[0])
            overlay.setdefault("camera", {})[m] = round(new, 6)
            note("camera mode", m, f"camera.{m}", cam[m], new, *got)
    if overlay.get("camera") and cam.get("mode", "mixed") != "mixed":
        notes.append(f"note: camera.mode is {cam.get('mode')!r}; the mode weights act only with camera.mode mixed")
    li = base.get("lighting", {})
    for kind in LIGHT_KINDS:
        got = rate("lighting", kind)
        if got and got[0] > 0 and kind in li:
            new = new_weight(li[kind], got[0])
            overlay.setdefault("lighting", {})[kind] = round(new, 6)
            note("lighting", kind, f"lighting.{kind}", li[kind], new, *got)
    app = base.get("appearance", {})
    monk = list(app.get("monk_weights", [1.0] * 10))
    changed = False
    for step in range(1, 11):
        got = rate("monk", str(step))
        if got and got[0] > 0:
            old = monk[step - 1]
            monk[step - 1] = round(new_weight(old, got[0]), 6)
            note("Monk tone", str(step), f"appearance.monk_weights[{step - 1}]", old, monk[step - 1], *got)
            changed = True
    if changed:
        overlay.setdefault("appearance", {})["monk_weights"] = monk
    hand = base.get("hand", {})
    gw = dict(hand.get("gesture_weights") or {})
    drawable = _drawable_gestures(hand.get("gestures") or [])
    changed = False
    for g in sorted(rates.get("gesture", {})):
        got = rate("gesture", g)
        if not got or got[0] <= 0:
            continue
        if g not in drawable:
            k, n = rates["gesture"][g]
            notes.append(f"# gesture {g}: {k}/{n} rejected ({k / n:.1%}) -- not a gesture the sampler draws "
                         "(hand.gestures / the gesture library), so it has no weight")  # fmt: skip
            continue
        old = float(gw.get(g, 1.0))
        gw[g] = round(new_weight(old, got[0]), 6)
        note("gesture", g, f"hand.gesture_weights.{g}", old, gw[g], *got)
        changed = True
    if changed:
        overlay.setdefault("hand", {})["gesture_weights"] = gw
    return overlay, notes


def _drawable_gestures(gestures: list[str]) -> set[str]:
    """Gesture names the job's sampler can draw: ``gestures`` or else the whole library."""
    from synth.gestures.library import load_library

    return set(gestures) if gestures else set(load_library().names)


def _deep_update(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(a)
    for k, v in b.items():
        out[k] = _deep_update(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def suggest_overlay(root: str | os.PathLike[str], config: str | os.PathLike[str] | None = None, min_reviews: int = 5,
                    full: bool = False) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """Overlay and notes for dataset ``root`` (see the module docstring)."""
    from synth.config import ConfigError, JobConfig
    from synth.dataset.layout import read_dataset_json

    rates = reject_rates(root)
    if not any(n for d in rates.values() for _, n in d.values()):
        raise SuggestError(f"{root} has no reviewed samples (reviews/*.jsonl with accept/reject verdicts)")
    try:
        if config is not None:
            base = JobConfig.load(config).to_dict()
        else:
            cfg = read_dataset_json(root).get("config")
            base = JobConfig.from_dict(cfg).to_dict() if isinstance(cfg, dict) else JobConfig().to_dict()
    except (ConfigError, ValueError, TypeError) as exc:
        raise SuggestError(f"cannot read the base config: {exc}") from None
    overlay, notes = overlay_from_rates(rates, base, min_reviews)
    if full:
        overlay = _deep_update(base, overlay)
        JobConfig.from_dict(overlay)  # still a valid config
    else:
        JobConfig.from_dict(overlay)
    return overlay, notes


def write_overlay(path: str | os.PathLike[str], overlay: dict[str, Any], notes: list[str]) -> Path:
    """Write the overlay YAML with the notes as a comment header."""
    import yaml

    head = ["# synth review suggest: sampling weights lowered by human reject rates",
            "# new weight = old weight * max(1 - reject rate, 0.05)"]  # fmt: skip
    head += [("# " + n.lstrip("# ")) for n in notes]
    body = yaml.safe_dump(overlay, sort_keys=False) if overlay else "{}\n"
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join(head) + "\n" + body, "utf-8")
    os.replace(tmp, path)
    return path
