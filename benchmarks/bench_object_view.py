"""Time of a held-object camera search (:func:`synth.scene.viewpoint.sample_viewpoint` with the
object's points): ms per camera over fitted grasps. Target: < 50 ms per camera (128 px).

    python benchmarks/bench_object_view.py [--n 24]

Moved here from tests/scene/test_object_view.py: a wall-clock limit in a unit test flakes on
shared machines.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from synth.farm.blas import blas_threads
from synth.gestures.library import load_library
from synth.hand import skinning
from synth.hand.models import load_model
from synth.props.fitting import sample_fit
from synth.scene import viewpoint as vpm

TARGET_MS = 50.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=24)
    a = ap.parse_args()
    rig = load_model("open-hand", "right")
    poses = {g.name: g.pose for g in load_library().in_category("grasp")}
    dt = []
    with blas_threads(1):
        for i in range(a.n):
            fit = sample_fit(rig, None, np.random.default_rng([5, i]), poses)
            if fit is None:
                continue
            posed = skinning.forward(rig, fit.shape, fit.pose_deg)
            t0 = time.perf_counter()
            vpm.sample_viewpoint(np.random.default_rng([7, i]), posed.vertices, rig.parts, posed.keypoints,
                                 "right", 128, 128, extra_points=fit.object_vertices)
            dt.append(time.perf_counter() - t0)
    ms = 1000.0 * float(np.mean(dt))
    print(f"{len(dt)} cameras: {ms:.1f} ms per camera (median {1000 * float(np.median(dt)):.1f}), "
          f"target {TARGET_MS:.0f} ms: {TARGET_MS / ms:.2f}x {'within' if ms < TARGET_MS else 'OVER'}")


if __name__ == "__main__":
    main()
