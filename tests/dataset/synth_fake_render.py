"""A fake renderer for dataset tests: correctly shaped, self-consistent synthetic samples.

A procedural 21-keypoint hand (wrist + five straight-ish fingers) is posed from a seeded
Generator, seen by a real pinhole camera (synth.scene.camera), and "rendered" by painting a
disc per keypoint and a thick segment per bone into depth / parts / rgb, nearest last (a
painter's z-buffer). Visibility is the depth test of each keypoint against that depth.

Run as a script it drives DatasetWriter like a render job would (used by the kill/resume test):
``python synth_fake_render.py OUT N [--seed S] [--size PX] [--sleep SECONDS]``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from synth.dataset.validate import depth_visibility
from synth.dataset.writer import DatasetWriter, npz_bytes
from synth.hand.keypoints import SKELETON
from synth.scene.camera import Camera, intrinsics, look_at, project, transform

FINGER_PART = [2] + [3] * 4 + [4] * 4 + [5] * 4 + [6] * 4 + [7] * 4
GESTURES = [("open_palm", "static"), ("fist", "grasp"), ("point", "pointing"), ("pinch", "grasp")]
VIS_TOL = 0.004


def fake_keypoints(rng: np.random.Generator) -> np.ndarray:
    """(21, 3) world keypoints, metres, a roughly hand-sized fan around the origin."""
    kp = np.zeros((21, 3))
    base_angles = np.radians([-50, -15, 0, 15, 30])
    lengths = [(0.03, 0.03, 0.025, 0.02), (0.09, 0.04, 0.025, 0.02), (0.09, 0.045, 0.03, 0.02),
               (0.085, 0.04, 0.027, 0.02), (0.08, 0.03, 0.02, 0.018)]  # fmt: skip
    for f in range(5):
        a = base_angles[f] + rng.uniform(-0.1, 0.1)
        curl = rng.uniform(0.0, 1.2)
        p = np.zeros(3)
        direction = np.array([np.sin(a), 0.0, np.cos(a)])
        for j in range(4):
            bend = curl * (j > 0)
            d = direction * np.cos(bend * j / 2) + np.array([0.0, -np.sin(bend * j / 2), 0.0])
            p = p + lengths[f][j] * d / np.linalg.norm(d)
            kp[1 + 4 * f + j] = p
    return kp + rng.normal(0, 0.002, size=(21, 3))


def fake_sample(sample_id: int, seed: int = 0, size: int = 64) -> tuple[dict, dict, dict]:
    """Return (images, label, extra_files) for one fake sample, a pure function of (seed, id)."""
    import cv2

    rng = np.random.default_rng(np.random.SeedSequence([seed, sample_id]))
    W = H = size
    kp_w = fake_keypoints(rng)
    centre = kp_w.mean(axis=0)
    eye = centre + 0.45 * np.array([rng.uniform(-0.3, 0.3), rng.uniform(-1.0, -0.7), rng.uniform(0.2, 0.6)])
    cam = Camera(intrinsics(size * 1.1, W, H), look_at(eye, centre), W, H)
    kp_c = transform(kp_w, cam.world_to_cam)
    kp_2d = project(kp_w, cam)
    depth = np.zeros((H, W), np.float32)
    parts = np.zeros((H, W), np.uint8)
    rgb = np.full((H, W, 3), 40, np.uint8)
    rgb[..., 2] = 90
    r = max(2, size // 20)
    # Painter's algorithm: draw bones then joints, far to near.
    prims = [(kp_c[[a, b], 2].mean(), "bone", a, b) for a, b in SKELETON]
    prims += [(kp_c[i, 2], "joint", i, i) for i in range(21)]
    for _, kind, a, b in sorted(prims, key=lambda p: (p[1] == "joint", -p[0])):
        layer = np.zeros((H, W), np.uint8)
        pa = tuple(int(round(v)) for v in kp_2d[a])
        pb = tuple(int(round(v)) for v in kp_2d[b])
        if kind == "bone":
            cv2.line(layer, pa, pb, 1, thickness=max(1, r))
            z = float(kp_c[[a, b], 2].mean())
        else:
            cv2.circle(layer, pa, r, 1, thickness=-1)
            z = float(kp_c[a, 2])
        m = layer.astype(bool)
        depth[m] = z
        parts[m] = FINGER_PART[b]
        rgb[m] = (200, 150 + 5 * FINGER_PART[b], 120)
    # The label contract's depth test (3x3 window), keypoints lying on the painted surface (rho 0).
    vis = depth_visibility(kp_2d, kp_c[:, 2], np.zeros(21), depth, VIS_TOL).astype(int)
    ys, xs = np.nonzero(parts)
    bbox = [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]
    g = GESTURES[int(rng.integers(len(GESTURES)))]
    normals = np.zeros((H, W, 3), np.float32)
    normals[parts > 0] = (0.0, 0.0, -1.0)
    label = {
        "id": sample_id,
        "seed": seed,
        "image_size": [W, H],
        "handedness": "right" if rng.random() < 0.5 else "left",
        "K": cam.K,
        "world_to_cam": cam.world_to_cam,
        "keypoints_3d_world": kp_w,
        "keypoints_3d_cam": kp_c,
        "keypoints_2d": kp_2d,
        "visibility": vis,
        "bbox": bbox,
        "gesture": {"name": g[0], "category": g[1]},
        "caption": f"a synthetic hand making a {g[0].replace('_', ' ')} gesture",
        "attributes": {
            "palm_facing": ["camera", "away", "side"][int(rng.integers(3))],
            "skin_tone": int(rng.integers(1, 7)),
            "lighting": ["hdri", "studio", "point"][int(rng.integers(3))],
            "camera_mode": "third_person",
            "camera_azimuth_deg": float(rng.uniform(-180, 180)),
            "camera_elevation_deg": float(rng.uniform(-30, 60)),
        },
        "hand_model": {"name": "fake", "side": "right"},
        "render": {
            "engine": "fake",
            "samples": 0,
            "device": "cpu",
            "visibility": {"tolerance_m": VIS_TOL, "surface_radius_m": [0.0] * 21},
        },
    }
    images = {"rgb": rgb, "depth": depth, "parts": parts, "normals": normals}
    extra = {"mesh": npz_bytes(vertices=kp_w.astype(np.float32), faces=np.zeros((0, 3), np.int32))}
    return images, label, extra


def write_fake_dataset(out, n: int, seed: int = 0, size: int = 64, **writer_kw) -> list[int]:
    """Write samples ``0..n-1`` (skipping complete ones); return the ids written."""
    written = []
    meta = {"config": {"seed": seed, "size": size, "renderer": "fake", "num_samples": n}}
    with DatasetWriter(out, meta, **writer_kw) as w:
        done = w.completed_ids()
        for i in range(n):
            if i in done:
                continue
            w.write_sample(i, *fake_sample(i, seed, size))
            written.append(i)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--sleep", type=float, default=0.0)
    ap.add_argument("--start", type=int, default=0, help="first id (ids start .. n-1)")
    ap.add_argument("--shared", action="store_true", help="write as one shard of a job sharing OUT (SharedDirWriter)")
    ap.add_argument("--wait-for", default=None, help="start writing only once this file exists (a start barrier)")
    a = ap.parse_args(argv)
    meta = {"config": {"seed": a.seed, "size": a.size, "renderer": "fake", "num_samples": a.n}}
    if a.shared:
        from synth.farm.worker import SharedDirWriter

        writer: DatasetWriter = SharedDirWriter(a.out, meta, only_ids=range(a.start, a.n))
    else:
        writer = DatasetWriter(a.out, meta)
    print("opened", flush=True)
    if a.wait_for:
        from pathlib import Path

        while not Path(a.wait_for).exists():
            time.sleep(0.01)
    with writer as w:
        done = w.completed_ids()
        for i in range(a.start, a.n):
            if i in done:
                continue
            w.write_sample(i, *fake_sample(i, a.seed, a.size))
            print(f"queued {i}", flush=True)
            time.sleep(a.sleep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
