"""Benchmark grasp fitting: fitting rate and speed per (grasp, prop) pair, on one core.

Usage::

    python benchmarks/bench_props.py [--seeds 3] [--side right] [--grasp NAME] [--prop NAME] [--json out.json]

For every grasp of ``assets/gestures/grasps.yaml`` and every prop that affords it
(:func:`synth.props.fitting.affording_pairs`), fits ``--seeds`` attempts (seed = (pair index,
k)), each with a freshly drawn prop instance, and prints per pair the success rate and the mean
time per attempt, then the totals: attempts/s, fitted grasps/s (counting the time of failed
attempts too) and the bounds measured on the successful fits (max penetration, worst contact
distance, both on the meshes with trimesh). Also times ``sample_fit`` (draw a pair, re-draw on
failure), which is what a dataset worker calls.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from synth.gestures.library import load_library  # noqa: E402
from synth.hand.models import load_model  # noqa: E402
from synth.props.fitting import affording_pairs, fit_grasp, sample_fit  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--side", default="right")
    ap.add_argument("--grasp", default=None)
    ap.add_argument("--prop", default=None)
    ap.add_argument("--sample-fits", type=int, default=40, help="number of sample_fit calls to time")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    rig = load_model("open-hand", args.side)
    poses = {g.name: g.pose for g in load_library().in_category("grasp")}
    pairs = [p for p in affording_pairs() if p[0] in poses]
    if args.grasp:
        pairs = [p for p in pairs if p[0] == args.grasp]
    if args.prop:
        pairs = [p for p in pairs if p[1] == args.prop]
    if not pairs:
        raise SystemExit("no (grasp, prop) pair matches")
    rows = []
    pens, cons = [], []
    t_all = 0.0
    cpu = 0.0
    n_ok = 0
    n_att = 0
    for pi, (g, p) in enumerate(pairs):
        ok = 0
        dt = 0.0
        for k in range(args.seeds):
            rng = np.random.default_rng([pi, k])
            t0 = time.perf_counter()
            c0 = time.process_time()
            fit = fit_grasp(rig, None, poses[g], g, p, rng, grasp=g)
            dt += time.perf_counter() - t0
            cpu += time.process_time() - c0
            if fit is not None:
                ok += 1
                pens.append(fit.max_penetration)
                cons.append(max(c.distance for c in fit.contacts))
        rows.append({"grasp": g, "prop": p, "fitted": ok, "attempts": args.seeds,
                     "ms_per_attempt": 1000 * dt / args.seeds})
        print(f"{g:24s} {p:11s} {ok}/{args.seeds}  {1000 * dt / args.seeds:7.0f} ms/attempt", flush=True)
        t_all += dt
        n_ok += ok
        n_att += args.seeds
    print(f"\npairs: {len(pairs)}   attempts: {n_att}   fitted: {n_ok} ({100 * n_ok / n_att:.1f} %)")
    print(f"wall time per attempt: {1000 * t_all / n_att:.0f} ms   attempts/s: {n_att / t_all:.2f}   "
          f"fitted grasps/s: {n_ok / t_all:.2f}")
    print(f"CPU time per attempt: {1000 * cpu / n_att:.0f} ms   fitted grasps per CPU-second (one core, "
          f"single-threaded BLAS): {n_ok / cpu:.2f}")
    if pens:
        print(f"on the fits: max penetration {1000 * max(pens):.2f} mm (mean {1000 * np.mean(pens):.2f}), "
              f"worst contact distance {1000 * max(cons):.2f} mm (mean {1000 * np.mean(cons):.2f})")
    # sample_fit: what a dataset worker sees (draw a pair, re-draw on failure)
    sf_ok = 0
    c0 = time.process_time()
    t0 = time.perf_counter()
    for i in range(args.sample_fits):
        fit = sample_fit(rig, None, np.random.default_rng([10_000, i]), poses, pairs=pairs)
        sf_ok += fit is not None
    sf_t = time.perf_counter() - t0
    sf_c = time.process_time() - c0
    if args.sample_fits:
        print(f"sample_fit: {sf_ok}/{args.sample_fits} returned a fit, {1000 * sf_t / args.sample_fits:.0f} ms "
              f"wall / {1000 * sf_c / args.sample_fits:.0f} ms CPU per call -> {sf_ok / sf_c:.2f} fitted "
              "grasps per CPU-second")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "fitted": n_ok, "attempts": n_att,
                                               "seconds": t_all, "cpu_seconds": cpu}, indent=1))


if __name__ == "__main__":
    main()
