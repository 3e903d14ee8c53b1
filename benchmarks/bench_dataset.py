"""Dataset writer / resume / validate / package throughput, measured in one run.

* writer: samples/s writing 256x256 rgb + depth + parts + normals + label, on the calling
  thread vs the background thread, and the fraction of a simulated render time (``--render-ms``,
  a GIL-free sleep standing in for Blender) that the background thread hides;
* resume: seconds to reopen a directory of N samples (manifest scan + stat of every file);
* validate: samples/s with sha256 and decoding;
* package: samples/s for webdataset and coco.

Run: ``python benchmarks/bench_dataset.py [--n 200] [--size 256] [--render-ms 50]``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from synth.dataset.package import package
from synth.dataset.validate import validate_dataset
from synth.dataset.writer import DatasetWriter


def fake_passes(i: int, size: int) -> tuple[dict[str, np.ndarray], dict]:
    """Smooth images with a little noise (PNG/EXR compress them like renders), and a label."""
    rng = np.random.default_rng(i)
    yy, xx = np.mgrid[0:size, 0:size] / size
    r = np.hypot(xx - 0.5, yy - 0.5)
    hand = r < 0.3
    rgb = np.clip(np.stack([xx, yy, 1 - r], -1) * 255 + rng.normal(0, 3, (size, size, 3)), 0, 255).astype(np.uint8)
    depth = np.where(hand, 0.4 + 0.1 * r, 0).astype(np.float32)
    parts = np.where(hand, 1 + (np.arctan2(yy - 0.5, xx - 0.5) > 0) * 3, 0).astype(np.uint8)
    normals = np.zeros((size, size, 3), np.float32)
    normals[hand] = (0, 0, -1)
    K = np.array([[size, 0, (size - 1) / 2], [0, size, (size - 1) / 2], [0, 0, 1.0]])
    kc = np.column_stack([rng.uniform(-0.05, 0.05, (21, 2)), np.full(21, 0.4)])
    uv = (kc @ K.T)[:, :2] / 0.4
    label = {
        "id": i, "seed": 0, "image_size": [size, size], "handedness": "right", "K": K,
        "world_to_cam": np.eye(4), "keypoints_3d_world": kc, "keypoints_3d_cam": kc, "keypoints_2d": uv,
        "visibility": np.zeros(21, int), "bbox": [0.2 * size, 0.2 * size, 0.8 * size, 0.8 * size],
        "gesture": {"name": "bench", "category": "bench"}, "caption": "benchmark sample",
        "attributes": {}, "hand_model": {}, "render": {},
    }  # fmt: skip
    return {"rgb": rgb, "depth": depth, "parts": parts, "normals": normals}, label


def write(out: Path, samples: list, background: bool, render_s: float) -> float:
    t0 = time.perf_counter()
    with DatasetWriter(out, {"config": {"bench": True}}, background=background) as w:
        for i, (images, label) in enumerate(samples):
            if render_s:
                time.sleep(render_s)
            w.write_sample(i, images, label)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--render-ms", type=float, default=50.0)
    a = ap.parse_args()
    samples = [fake_passes(i, a.size) for i in range(a.n)]
    tmp = Path(tempfile.mkdtemp(prefix="synth-bench-"))
    try:
        fg = write(tmp / "fg", samples, False, 0.0)
        bg = write(tmp / "bg", samples, True, 0.0)
        print(f"writer, {a.size}px, {a.n} samples: caller thread {a.n / fg:.1f} samples/s "
              f"({1000 * fg / a.n:.1f} ms each); background thread {a.n / bg:.1f} samples/s")  # fmt: skip
        rs = a.render_ms / 1000
        fg_r = write(tmp / "fg_r", samples, False, rs)
        bg_r = write(tmp / "bg_r", samples, True, rs)
        pure = a.n * rs
        print(f"with a simulated {a.render_ms:.0f} ms render: caller thread {fg_r:.2f} s, background {bg_r:.2f} s, "
              f"render alone {pure:.2f} s -> background hides {100 * (fg_r - bg_r) / max(fg_r - pure, 1e-9):.0f}% "
              "of the write time")  # fmt: skip
        t0 = time.perf_counter()
        DatasetWriter(tmp / "bg", {"config": {"bench": True}}).close()
        t_res = time.perf_counter() - t0
        print(f"resume scan of {a.n} samples: {1000 * t_res:.1f} ms ({1e6 * t_res / a.n:.0f} us/sample)")
        t0 = time.perf_counter()
        rep = validate_dataset(tmp / "bg")
        t_val = time.perf_counter() - t0
        assert rep.ok, rep.errors[:5]
        print(f"validate (sha256 + decode + checks): {a.n / t_val:.1f} samples/s")
        for fmt in ("webdataset", "coco"):
            t0 = time.perf_counter()
            package(tmp / "bg", fmt, tmp / fmt, {"train": 1.0})
            print(f"package {fmt}: {a.n / (time.perf_counter() - t0):.1f} samples/s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
