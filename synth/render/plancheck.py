"""Planning and labelling checked at scale, without rendering (tests and ``benchmarks/soak_plan.py``).

:func:`check_planned` runs the job's planning, posing, captioning and label code
(:func:`synth.render.job.plan_label`) for a range of sample ids and reports every sample whose
label cannot be produced, is not finite JSON, or breaks the label schema
(:func:`synth.dataset.validate.check_label`). Pure numpy: no Blender.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence

#: Job configurations (dotted overrides) that together cover every planning mode: both sides,
#: held props, each accessory at probability 1, tables, each camera mode, truncation.
MODES: dict[str, tuple[str, ...]] = {
    "default": (),
    "both_sides": ("hand.side=both",),
    "props": ("hand.side=both", "props.fraction=1.0"),
    "sleeve": ("hand.side=both", "accessories.sleeve_prob=1.0"),
    "watch": ("hand.side=both", "accessories.watch_prob=1.0"),
    "bracelet": ("hand.side=both", "accessories.bracelet_prob=1.0"),
    "ring": ("hand.side=both", "accessories.ring_prob=1.0"),
    "table": ("hand.side=both", "lighting.table_prob=1.0"),
    "third_person": ("hand.side=both", "camera.mode=third_person"),
    "egocentric": ("hand.side=both", "camera.mode=egocentric"),
    "selfie": ("hand.side=both", "camera.mode=selfie"),
    "orbit": ("hand.side=both", "camera.mode=orbit"),
    "truncation": ("hand.side=both", "camera.allow_truncation=true"),
}


@functools.lru_cache(maxsize=4)
def _job(overrides: tuple[str, ...], seed: int):  # noqa: ANN202 - (cfg, rigs, sampler, describe)
    from synth.config import JobConfig, apply_overrides
    from synth.labels.captions import describe
    from synth.render.job import job_pose_sampler, load_rigs

    cfg = apply_overrides(JobConfig(), [*overrides, f"seed={seed}"])
    return cfg, load_rigs(cfg), job_pose_sampler(cfg), describe


def check_planned(overrides: Sequence[str], seed: int, ids: Iterable[int]) -> list[tuple[int, str]]:
    """``[(id, one-line reason)]`` of the samples of the job ``JobConfig() + overrides`` (seed
    ``seed``) whose planned label fails; empty when every label is finite, schema-valid JSON."""
    from synth.dataset.validate import check_label
    from synth.dataset.writer import label_bytes
    from synth.render.job import plan_label

    cfg, rigs, sampler, describe = _job(tuple(overrides), int(seed))
    bad: list[tuple[int, str]] = []
    for i in ids:
        try:
            label = json.loads(label_bytes(plan_label(cfg, i, rigs, sampler, describe)))
        except Exception as exc:  # noqa: BLE001 - every failure is a finding
            bad.append((int(i), f"{type(exc).__name__}: {exc}".splitlines()[0][:300]))
            continue
        # A planned label has no pixels: no files yet and no bbox (no hand pixel); both are
        # filled in by a render, so they are set to neutral values for the schema check.
        label["files"] = {}
        if label.get("bbox") is None:
            label["bbox"] = [0, 0, 0, 0]
        errs = check_label(label)
        if errs:
            bad.append((int(i), "; ".join(errs)[:300]))
    return bad


def check_chunk(task: tuple) -> tuple[str, int, int, list[tuple[int, str]]]:
    """:func:`check_planned` of ``(mode, seed, first, stop[, extra_overrides])`` (a picklable task
    for process pools); returns ``(mode, seed, n, failures)``."""
    mode, seed, first, stop, *rest = task
    extra = tuple(rest[0]) if rest else ()
    return mode, seed, stop - first, check_planned(MODES[mode] + extra, seed, range(first, stop))
