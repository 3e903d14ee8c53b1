"""Resume cost: reopening a finished dataset with size checks (default) vs sha256 (``--verify``).

Writes N samples of realistic size (256 px: rgb PNG, depth and normals EXR, parts PNG, label,
mesh npz) once, then reopens the directory with :class:`synth.dataset.writer.DatasetWriter`
several times, alternating the modes, and prints the median time per sample of each and their
ratio, against the bare manifest parse. Files are in the page cache (warm), so the sha256 figure
is the hashing cost, not the disk's.

    python benchmarks/bench_resume.py --n 300 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from synth.dataset.layout import scan_manifest
from synth.dataset.writer import DatasetWriter, npz_bytes


def _sample(i: int, size: int) -> tuple[dict[str, np.ndarray], dict, dict[str, bytes]]:
    rng = np.random.default_rng(i)
    yy, xx = np.mgrid[0:size, 0:size] / size
    rgb = np.stack([xx * 200, yy * 180, (xx + yy) * 90], -1) + rng.normal(0, 6, (size, size, 3))
    depth = (0.5 + 0.1 * xx + 0.05 * np.sin(8 * yy)).astype(np.float32)
    depth[rng.random((size, size)) < 0.5] = 0
    normals = np.stack([xx - 0.5, yy - 0.5, np.ones_like(xx)], -1).astype(np.float32)
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    parts = (np.floor(xx * 8) % 8).astype(np.uint8)
    images = {"rgb": np.clip(rgb, 0, 255).astype(np.uint8), "depth": depth, "parts": parts, "normals": normals}
    label = {"id": i, "keypoints_2d": rng.random((21, 2)) * size, "caption": "a hand " * 20}
    mesh = {"mesh": npz_bytes(vertices=rng.random((1790, 3)).astype(np.float32), faces=np.zeros((3500, 3), np.int32))}
    return images, label, mesh


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    meta = {"config": {"seed": 0, "bench": "resume"}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ds"
        with DatasetWriter(root, meta) as w:
            for i in range(a.n):
                w.write_sample(i, *_sample(i, a.size))
        total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        times: dict[str, list[float]] = {"parse": [], "size": [], "sha256": []}
        for _ in range(a.repeat):
            t = time.perf_counter()
            scan_manifest(root)
            times["parse"].append(time.perf_counter() - t)
            for mode, verify in (("size", False), ("sha256", True)):
                t = time.perf_counter()
                w = DatasetWriter(root, meta, verify=verify, background=False)
                assert len(w.completed_ids()) == a.n
                w.close()
                times[mode].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{a.n} samples of {a.size} px, {total / a.n / 1024:.0f} KiB per sample, median of {a.repeat}:")
    for k in ("parse", "size", "sha256"):
        print(f"  {k:7s} {1e3 * med[k] / a.n:8.3f} ms/sample  ({med[k]:.3f} s total)")
    print(f"  sha256 / size = {med['sha256'] / med['size']:.1f}x; size check / bare parse = {med['size'] / med['parse']:.1f}x")


if __name__ == "__main__":
    main()
