"""Benchmark the pose sampler: speed (one core), diversity, coverage, proxy-vs-mesh agreement.

Run: ``python benchmarks/bench_gestures.py [--count 10000] [--mesh 300]``. Prints the figures
quoted in benchmarks/README.md. Threads are pinned to one before numpy loads.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-distance", type=float, default=5.0)
    ap.add_argument("--mesh", type=int, default=200, help="poses for the proxy-vs-mesh comparison (0: skip)")
    args = ap.parse_args()

    from scipy.spatial import cKDTree

    from synth.gestures import collision
    from synth.gestures.library import load_library
    from synth.gestures.sampler import PoseSampler, natural_random
    from synth.hand import anatomy
    from synth.labels.captions import describe

    lib = load_library()
    print(f"library: {len(lib)} gestures, categories " + ", ".join(
        f"{c} {len(lib.in_category(c))}" for c in lib.categories))
    sampler = PoseSampler(library=lib)
    sampler.sample(np.random.default_rng(123), 500)  # warm-up

    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    batch = sampler.sample(rng, args.count)
    dt = time.perf_counter() - t0
    print(f"sample (mixed modes): {args.count} valid poses in {dt:.2f} s = {args.count / dt:,.0f} poses/s "
          f"(one core, collision proxy included); acceptance {args.count / batch.attempts:.2f}")
    for mode in ("variation", "blend", "random"):
        t0 = time.perf_counter()
        b = sampler.sample(np.random.default_rng(args.seed), 2000, mode=mode)
        dt = time.perf_counter() - t0
        print(f"  mode {mode:9s}: {2000 / dt:,.0f} poses/s, acceptance {2000 / b.attempts:.2f}")

    t0 = time.perf_counter()
    distinct = sampler.sample_distinct(np.random.default_rng(args.seed), args.count, args.min_distance)
    dt = time.perf_counter() - t0
    flat = distinct.poses.reshape(len(distinct), -1)
    d, _ = cKDTree(flat).query(flat, k=2)
    fingers = distinct.poses[:, 1:].reshape(len(distinct), -1)
    df, _ = cKDTree(fingers).query(fingers, k=2)
    print(f"distinct: {len(distinct)} poses in {dt:.2f} s; nearest-neighbour L2 over 48 angles: "
          f"min {d[:, 1].min():.2f} deg, median {np.median(d[:, 1]):.2f} deg; over the 45 finger angles "
          f"(wrist excluded): min {df[:, 1].min():.2f}, median {np.median(df[:, 1]):.2f} deg")
    valid = sampler.valid(distinct.poses)
    print(f"  all within limits and proxy-free: {bool(valid.all())}; gestures of origin used: "
          f"{len(set(distinct.gesture) - {'natural_random'})}/{len(lib)}; modes "
          + ", ".join(f"{m} {np.mean(distinct.mode == m):.2f}" for m in ("variation", "blend", "random")))

    print("coverage: per-joint flexion histogram (10 bins over the joint's limits, % of poses)")
    for j, name in enumerate(anatomy.JOINTS):
        lo, hi = anatomy.LIMITS[j, 0]
        h, _ = np.histogram(distinct.poses[:, j, 0], bins=10, range=(lo, hi))
        pct = " ".join(f"{100 * x / len(distinct):4.1f}" for x in h)
        print(f"  {name:11s} flex [{lo:5.0f},{hi:4.0f}]: {pct}")
    for j, name in ((1, "thumb_cmc"), (4, "index_mcp"), (13, "pinky_mcp")):
        lo, hi = anatomy.LIMITS[j, 1]
        h, _ = np.histogram(distinct.poses[:, j, 1], bins=10, range=(lo, hi))
        print(f"  {name:11s} abd  [{lo:5.0f},{hi:4.0f}]: " + " ".join(f"{100 * x / len(distinct):4.1f}" for x in h))

    t0 = time.perf_counter()
    crng = np.random.default_rng(0)
    for p, g in zip(distinct.poses[:2000], distinct.gesture[:2000], strict=True):
        describe(p, "right", str(g), rng=crng)
    dt = time.perf_counter() - t0
    print(f"captions: {2000 / dt:,.0f} per second")

    if args.mesh:
        from synth.hand import skinning
        from synth.hand.models import load_model

        rig = load_model("open-hand", "right")
        skel = sampler.skeleton
        ids = collision.mesh_test_vertices(rig, 3)
        mrng = np.random.default_rng(1)
        half = args.mesh // 2
        cand = np.concatenate([natural_random(mrng, half), sampler._draw(mrng, args.mesh - half, None).poses])
        t0 = time.perf_counter()
        mesh = np.array([collision.mesh_penetration(skinning.forward(rig, pose=p).vertices, rig.faces, rig.parts,
                                                    ids) >= 3 for p in cand])
        tm = (time.perf_counter() - t0) / len(cand)
        proxy = ~collision.collision_free(skel, cand)
        agree = np.mean(proxy == mesh)
        miss = np.sum(~proxy & mesh) / max(np.sum(~proxy), 1)
        print(f"proxy vs mesh on {len(cand)} unfiltered candidates: agreement {agree:.3f}; of proxy-accepted poses "
              f"{miss:.3f} penetrate the mesh; mesh colliding {mesh.mean():.2f}; mesh test {1000 * tm:.0f} ms/pose")
        acc = sampler.sample(np.random.default_rng(2), args.mesh)
        bad = np.array([collision.mesh_penetration(skinning.forward(rig, pose=p).vertices, rig.faces, rig.parts,
                                                   ids) >= 3 for p in acc.poses])
        print(f"sampler output checked on the mesh: {bad.mean():.3f} of {args.mesh} penetrate")


if __name__ == "__main__":
    main()
