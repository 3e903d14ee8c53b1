"""Defect twins: cost of a twin render relative to one sample render in the same Blender session.

Usage: ``python benchmarks/bench_defects.py [N] [RESOLUTION] [SPP]``. Renders N samples (Cycles,
CPU) and, right after each, its defect twin in the same scene; prints the mean seconds of each
and the ratio (target <= 1.2), measured in this one run.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from synth.config import JobConfig
from synth.defects.twin import choose_twin, render_twin, twin_hand_mesh
from synth.farm.blas import blas_threads
from synth.render.job import RenderSession


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    res = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    spp = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    cfg = JobConfig.from_dict({"seed": 3, "count": n, "render": {"resolution": res, "samples": spp},
                               "defects": {"fraction": 1.0}})
    session = RenderSession(cfg)
    session.render(0)  # build the scene once, outside the timing
    main_t, twin_t = [], []
    for i in range(1, n + 1):
        with blas_threads(1):
            t = time.perf_counter()
            s = session.render(i)
            main_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            spec = s.spec
            _, dm = choose_twin(session.rigs[spec.hand.side], spec, s.vertices, s.passes.depth, s.passes.parts, cfg.seed, i, 1.0)
            render_twin(session.renderer, spec, twin_hand_mesh(session.meshes[spec.hand.side], dm), dm.vertices)
            twin_t.append(time.perf_counter() - t)
    session.close()
    a, b = float(np.mean(main_t)), float(np.mean(twin_t))
    print(f"samples={n} resolution={res} spp={spp}: sample render {a:.3f} s, twin (defect + render) {b:.3f} s, "
          f"ratio {b / a:.2f} (target <= 1.2)")


if __name__ == "__main__":
    main()
