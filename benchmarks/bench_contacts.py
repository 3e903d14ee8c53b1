"""Benchmark gesture contacts: the library audit (before/after numbers), the cost of keeping
contacts in sampled variations, and of a per-sample refinement for a sampled hand shape.

Run: ``python benchmarks/bench_contacts.py [--n 40] [--shapes 12]``. Prints the figures quoted in
benchmarks/README.md. Threads are pinned to one before numpy loads.
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
    ap.add_argument("--n", type=int, default=40, help="variations for the mesh check")
    ap.add_argument("--shapes", type=int, default=12, help="sampled hand shapes for the refinement")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from synth.gestures import contact
    from synth.gestures.library import load_library
    from synth.gestures.sampler import PoseSampler
    from synth.hand import skinning
    from synth.hand.models import load_model

    lib = load_library()
    rig = load_model("open-hand", "right")
    names = [g.name for g in lib if g.contacts]
    d, nv = [], []
    for g in lib:
        if g.contacts:
            V = skinning.forward(rig, pose=g.pose).vertices
            for a, b in contact.contact_pairs(g.contacts):
                d.append(contact.measure_pair(V, rig, a, b))
                nv.append(contact.nearest_vertex_distance(V, rig, a, b))
    d, nv = np.array(d), np.array(nv)
    print(f"library contacts: {len(d)} pairs in {len(names)} gestures; signed surface distance median "
          f"{1000 * np.median(d):.2f} mm, > 2 mm: {(d > 0.002).sum()}, penetration > 2 mm: {(d < -0.002).sum()}, "
          f"deepest {-1000 * min(d.min(), 0):.2f} mm; nearest-vertex median {1000 * np.median(nv):.2f} mm, "
          f"> 3 mm: {(nv > 0.003).sum()}")

    # variations: without the gate (raw noise), with restore + proxy gate, with the mesh check
    rng = np.random.default_rng(args.seed)
    raw = PoseSampler(gestures=names)
    raw.restore_contacts = lambda p, g, m: p  # type: ignore[method-assign]
    raw.valid = lambda p, g=None, m=None: np.ones(len(np.asarray(p).reshape(-1, 16, 3)), bool)  # type: ignore
    gated = PoseSampler(gestures=names)
    meshed = PoseSampler(gestures=names, mesh_rig=rig)
    for label, s in (("raw noise", raw), ("restore + proxy gate", gated), ("mesh-checked", meshed)):
        n = args.n if s is not meshed else max(args.n // 2, 5)
        t = time.perf_counter()
        b = s.sample(rng, n, mode="variation")
        dt = time.perf_counter() - t
        reached = total = 0
        for pose, name in zip(b.poses, b.gesture, strict=True):
            V = skinning.forward(rig, pose=pose).vertices
            for v in contact.measure(V, rig, lib.get(str(name)).contacts).values():
                total += 1
                reached += contact.reached(v)
        print(f"variations, {label}: {1000 * dt / n:.1f} ms / pose, {b.attempts / n:.2f} draws / pose, "
              f"contacts reached on the mesh {reached}/{total}")

    # a sampled hand shape (finger length, spacing) moves the pads: refine, warm-started
    opened = closed = 0
    times = []
    for k in range(args.shapes):
        g = lib.get(names[k % len(names)])
        shape = rig.sample_shape(rng)
        V = skinning.forward(rig, shape=shape, pose=g.pose).vertices
        was = all(contact.reached(v) for v in contact.measure(V, rig, g.contacts).values())
        opened += not was
        t = time.perf_counter()
        res = contact.refine_contacts(rig, g.pose, g.contacts, shape=shape, max_nfev=40)
        times.append(time.perf_counter() - t)
        closed += res.ok
    print(f"sampled shapes: {opened}/{args.shapes} library poses lose a contact at the new shape; refinement "
          f"reaches all contacts in {closed}/{args.shapes}; {1000 * np.median(times):.0f} ms median, "
          f"{1000 * max(times):.0f} ms max per sample")


if __name__ == "__main__":
    main()
