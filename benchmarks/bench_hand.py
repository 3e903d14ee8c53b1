"""Forward-pass speed of the built-in open hand (target: <= 1 ms per hand on one core).

Prints ms per hand for single and batched calls, measured in this run, and the ratio to the
1 ms target. Run: ``python benchmarks/bench_hand.py`` (single-threaded BLAS is forced).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import time  # noqa: E402

import numpy as np  # noqa: E402

from synth.hand import anatomy, skinning  # noqa: E402
from synth.hand.models import load_model  # noqa: E402


def _time(fn, reps: int) -> float:
    fn()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def main() -> None:
    rig = load_model("open-hand", "right")
    rng = np.random.default_rng(0)
    pose = rng.uniform(anatomy.LIMITS[..., 0], anatomy.LIMITS[..., 1])
    shape = rig.sample_shape(rng)
    single = _time(lambda: skinning.forward(rig, shape=shape, pose=pose), 300)
    B = 64
    poses = rng.uniform(anatomy.LIMITS[..., 0], anatomy.LIMITS[..., 1], size=(B, 16, 3))
    shapes = np.stack([rig.sample_shape(rng) for _ in range(B)])
    batched = _time(lambda: skinning.forward(rig, shape=shapes, pose=poses), 10) / B
    print(f"open hand: {rig.n_vertices} vertices, {rig.n_bones} bones, {rig.shape_dirs.shape[0]} blendshapes")
    print(f"forward, one hand per call : {single * 1e3:.3f} ms/hand  (target 1 ms: {1e-3 / single:.2f}x)")
    print(f"forward, batch of {B}       : {batched * 1e3:.3f} ms/hand  (target 1 ms: {1e-3 / batched:.2f}x)")


if __name__ == "__main__":
    main()
