"""Benchmark default held objects: share of planned default samples holding an object, the fit
stages (drawn gesture / fall-back / none) and the planning cost per sample, in one run.

Usage::

    python benchmarks/bench_holding.py [--n 2000] [--seed 0] [--json out.json]

Plans samples ``0 .. n-1`` of the default job (planning only, no render) and, for the same ids,
of the same job with held objects off (``props.fraction = props.grasp_fraction = 0``),
interleaved, and prints: the share holding an object, the share per gesture kind (grasp, device
gesture that holds something, other), the fit stage counts, the prop and grasp counts, and the
CPU milliseconds per planned sample with and without held objects (one BLAS thread).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synth.config import JobConfig  # noqa: E402
from synth.hand.models import load_model  # noqa: E402
from synth.props.holding import HOLDING_GESTURES  # noqa: E402
from synth.render.job import job_pose_sampler  # noqa: E402
from synth.scene.plan import plan_sample  # noqa: E402


class _Count(logging.Handler):
    """Counts the planner's 'no grasp fit found' warnings (samples that drew an object but got none)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.n = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.n += "no grasp fit" in record.getMessage()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    failures = _Count()
    logging.getLogger("synth.scene.plan").addHandler(failures)

    cfg = JobConfig(seed=args.seed)
    off = dataclasses.replace(cfg, props=dataclasses.replace(cfg.props, fraction=0.0, grasp_fraction=0.0))
    rigs = {s: load_model(cfg.hand.model, s) for s in ("right", "left")}
    sampler = job_pose_sampler(cfg)
    plan_sample(cfg, 0, rigs, sampler)  # warm caches (library, contact regions)
    held = 0
    stages: collections.Counter[str] = collections.Counter()
    kinds: dict[str, list[int]] = {"grasp": [0, 0], "holding device gesture": [0, 0], "other": [0, 0]}
    objects: collections.Counter[str] = collections.Counter()
    grasps: collections.Counter[str] = collections.Counter()
    cpu_on = cpu_off = 0.0
    for i in range(args.n):
        c0 = time.process_time()
        base = plan_sample(off, i, rigs, sampler)
        c1 = time.process_time()
        spec = plan_sample(cfg, i, rigs, sampler)
        c2 = time.process_time()
        cpu_off += c1 - c0
        cpu_on += c2 - c1
        g, cat = base.hand.gesture, base.hand.gesture_category
        kind = "grasp" if cat == "grasp" else "holding device gesture" if g in HOLDING_GESTURES else "other"
        obj = [p for p in spec.props if p.category not in ("accessory", "surface")]
        kinds[kind][1] += 1
        if obj:
            held += 1
            kinds[kind][0] += 1
            stages[obj[0].fit["stage"]] += 1
            objects[obj[0].name] += 1
            grasps[obj[0].grasp] += 1
        if (i + 1) % 250 == 0:
            print(f"{i + 1} planned: share holding {held / (i + 1):.3f}", flush=True)
    n = args.n
    stages["none"] = failures.n
    print(f"\n{n} default samples (seed {args.seed}): {held} hold an object, share {held / n:.3f}")
    for k, (h, t) in kinds.items():
        print(f"  drawn gesture {k:24s} {t:5d} samples, {h:5d} hold ({h / max(t, 1):.3f})")
    tried = stages["drawn"] + stages["fallback"] + stages["none"]
    print(f"fit stages (of the samples that drew an object): "
          f"drawn {stages['drawn']}, fallback {stages['fallback']}, none {stages['none']} "
          f"-> fall-back rate {stages['fallback'] / max(tried, 1):.3f}, failure rate {stages['none'] / max(tried, 1):.3f}")
    print("objects:", dict(objects.most_common()))
    print("grasps:", dict(grasps.most_common()))
    print(f"planning CPU per sample: {1000 * cpu_on / n:.1f} ms with held objects, {1000 * cpu_off / n:.1f} ms "
          f"without (+{1000 * (cpu_on - cpu_off) / n:.1f} ms; {1000 * (cpu_on - cpu_off) / max(held, 1):.0f} ms per "
          "held object)")
    if args.json:
        Path(args.json).write_text(json.dumps({"n": n, "held": held, "stages": dict(stages), "kinds": kinds,
                                               "objects": dict(objects), "grasps": dict(grasps),
                                               "cpu_ms_on": 1000 * cpu_on / n, "cpu_ms_off": 1000 * cpu_off / n},
                                              indent=1))


if __name__ == "__main__":
    main()
