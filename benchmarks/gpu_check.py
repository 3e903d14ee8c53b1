"""GPU check: throughput and label exactness of the default look on Cycles (OptiX, CUDA) and EEVEE.

For each backend and size (default 256 and 512 px, ``draft`` preset, default natural look, held
objects and accessories included) one fresh process renders ``--n`` samples with ``run_job`` and
times the steady rate (first sample excluded: scene build, kernel load). Then every sample is
checked against independent computations from its label and saved mesh (``mesh/ID.npz``: the
hand, held objects, accessories and table, world frame):

* keypoints: ``cv2.projectPoints`` of ``keypoints_3d_world`` with ``K`` / ``world_to_cam``,
  max difference <= 1e-3 px;
* depth and parts: a brute-force numpy ray cast of the saved mesh through pixel centres (2,000
  pixels on the surfaces, 1,000 anywhere; seeded), hit/miss agreement >= 0.995, median depth error
  <= 0.1 mm and >= 99 % within 2 mm away from silhouettes, part id of the hit triangle equal to the
  parts pass on >= 99 % of those pixels.

Prints one line per backend and size (images/hour, check results) and exits 0 when everything
that ran passed, 1 when a check failed or a render crashed, 2 when no GPU is available (without
a GPU it does nothing else: run it on a GPU machine). ``benchmarks/gpu_check.sh`` wraps it.

Example::

    bash benchmarks/gpu_check.sh                      # all: optix, cuda, eevee x 256, 512
    python benchmarks/gpu_check.py --backends optix --sizes 256 --n 8
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")

BACKENDS = {"optix": ("cycles", "OPTIX"), "cuda": ("cycles", "CUDA"), "eevee": ("eevee", None)}
NO_GPU = 2


def render_one(backend: str, size: int, n: int, out: str) -> dict:
    """In this process: render ``n + 1`` samples (ids 0..n) of the default look on ``backend``;
    returns steady seconds per image and the device description."""
    from synth.config import JobConfig, apply_overrides
    from synth.render.blender import renderer
    from synth.render.job import run_job

    engine, kind = BACKENDS[backend]
    if kind is not None:
        renderer.GPU_BACKENDS = (kind,)
    cfg = apply_overrides(JobConfig(), [f"out={out}", f"render.resolution={size}", "render.preset=draft",
                                        "render.device=gpu", f"render.engine={engine}", "output.save_mesh=true",
                                        f"count={n + 1}", "seed=17"])
    stamps: list[float] = []
    run_job(cfg, progress=lambda _i: stamps.append(time.perf_counter()))
    info: dict = {"seconds_per_image": (stamps[-1] - stamps[0]) / max(1, len(stamps) - 1)}
    lab = json.loads(sorted((Path(out) / "labels").glob("*.json"))[0].read_text())
    info["device"] = str(lab.get("render", {}).get("device_info", "?"))
    if engine == "eevee":
        try:
            import gpu

            info["gl_renderer"] = gpu.platform.renderer_get()
        except Exception as exc:  # noqa: BLE001 - informative only
            info["gl_renderer"] = f"unknown ({exc})"
    return info


def _raycast(V: np.ndarray, F: np.ndarray, K: np.ndarray, M: np.ndarray, px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Planar depth ``(P,)`` (0: miss) and hit triangle ``(P,)`` (-1: miss) of pixel-centre rays
    ``px`` ``(P, 2)`` (column, row) through mesh ``V`` ``(N, 3)`` / ``F`` ``(T, 3)`` (world, metres)."""
    Vc = V @ M[:3, :3].T + M[:3, 3]
    v0, e1, e2 = Vc[F[:, 0]], Vc[F[:, 1]] - Vc[F[:, 0]], Vc[F[:, 2]] - Vc[F[:, 0]]
    d = np.concatenate([px.astype(np.float64), np.ones((len(px), 1))], 1) @ np.linalg.inv(K).T
    depth, tri = np.zeros(len(px)), np.full(len(px), -1)
    for s in range(0, len(d), 64):
        dc = d[s:s + 64, None, :]
        p = np.cross(dc, e2[None])
        det = (p * e1[None]).sum(-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / np.where(np.abs(det) < 1e-15, np.nan, det)
            tv = -v0[None]
            u = (tv * p).sum(-1) * inv
            q = np.cross(tv, e1[None])
            v = (dc * q).sum(-1) * inv
            t = (e2[None] * q).sum(-1) * inv
            hit = (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
        z = np.where(hit, t, np.inf)
        k = z.argmin(1)
        zmin = z[np.arange(len(k)), k]
        ok = np.isfinite(zmin)
        depth[s:s + 64] = np.where(ok, zmin, 0.0)
        tri[s:s + 64] = np.where(ok, k, -1)
    return depth, tri


def check_dataset(root: Path) -> list[str]:
    """Exactness failures of every sample in ``root`` (empty: all passed)."""
    import cv2

    from synth.dataset.imageio import read_image
    from synth.labels.projection import rvec_tvec

    fails: list[str] = []
    rng = np.random.default_rng(0)
    for lp in sorted((root / "labels").glob("*.json")):
        lab = json.loads(lp.read_text())
        i = lab["id"]
        K, M = np.array(lab["K"], float), np.array(lab["world_to_cam"], float)
        kw, uv = np.array(lab["keypoints_3d_world"], float), np.array(lab["keypoints_2d"], float)
        ref, _ = cv2.projectPoints(kw, *rvec_tvec(M), K, None)
        if np.abs(uv - ref[:, 0]).max() > 1e-3:
            fails.append(f"{i}: keypoints differ from projectPoints by {np.abs(uv - ref[:, 0]).max():.2e} px")
        depth = read_image(root / lab["files"]["depth"])
        depth = depth[..., 0] if depth.ndim == 3 else depth
        parts = cv2.imread(str(root / lab["files"]["parts"]), cv2.IMREAD_UNCHANGED)
        with np.load(root / lab["files"]["mesh"]) as z:
            V, F = z["vertices"], z["faces"]
            if "face_part" in z.files:
                fpart = z["face_part"]
            else:  # hand only: part of each face from the parts pass is not known here; skip parts
                fpart = None
        H, W = depth.shape
        on = np.argwhere(depth > 0)[:, ::-1]
        pick = on[rng.choice(len(on), min(2000, len(on)), replace=False)] if len(on) else np.zeros((0, 2), int)
        anywhere = np.stack([rng.integers(0, W, 1000), rng.integers(0, H, 1000)], 1)
        px = np.concatenate([pick, anywhere])
        ref_d, tri = _raycast(V, F, K, M, px)
        got = depth[px[:, 1], px[:, 0]]
        agree = ((ref_d > 0) == (got > 0)).mean()
        if agree < 0.995:
            fails.append(f"{i}: hit/miss agreement {agree:.4f} < 0.995")
        inner = cv2.erode((depth > 0).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        sel = inner[px[:, 1], px[:, 0]] & (ref_d > 0)
        if sel.any():
            err = np.abs(got[sel] - ref_d[sel])
            if np.median(err) > 1e-4 or (err <= 2e-3).mean() < 0.99:
                fails.append(f"{i}: depth error median {np.median(err):.2e} m, within 2 mm {(err <= 2e-3).mean():.3f}")
            if fpart is not None:
                same = (parts[px[sel, 1], px[sel, 0]] == fpart[tri[sel]]).mean()
                if same < 0.99:
                    fails.append(f"{i}: parts pass equals the ray-cast triangle's part on {same:.3f} < 0.99")
    return fails


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backends", default="optix,cuda,eevee")
    ap.add_argument("--sizes", default="256,512")
    ap.add_argument("--n", type=int, default=12, help="timed samples per backend and size")
    ap.add_argument("--keep", type=Path, help="keep the rendered datasets under this folder")
    ap.add_argument("--one", nargs=4, metavar=("BACKEND", "SIZE", "N", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:  # child process: one backend and size
        b, size, n, out = args.one
        from synth.render.blender.renderer import DeviceError

        try:
            info = render_one(b, int(size), int(n), out)
        except DeviceError as exc:
            print(json.dumps({"unavailable": str(exc)}))
            return NO_GPU
        print(json.dumps(info))
        return 0
    if shutil.which("nvidia-smi") is None and not os.environ.get("SYNTH_GPU_CHECK_ANYWAY"):
        print("gpu_check: no GPU on this machine (nvidia-smi not found); nothing measured. Run it on a GPU machine.")
        return NO_GPU
    backends = [b for b in args.backends.split(",") if b]
    bad = [b for b in backends if b not in BACKENDS]
    if bad:
        print(f"gpu_check: unknown backend(s) {bad}; expected {', '.join(BACKENDS)}")
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="synth_gpu_check_")) if args.keep is None else args.keep
    status, ran = 0, 0
    for b in backends:
        for size in (int(s) for s in args.sizes.split(",") if s):
            out = tmp / f"{b}_{size}"
            t = time.perf_counter()
            proc = subprocess.run([sys.executable, __file__, "--one", b, str(size), str(args.n), str(out)],
                                  capture_output=True, text=True)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
            info = json.loads(lines[-1]) if lines else {}
            if "unavailable" in info:
                print(f"{b:6s} {size}px: unavailable ({info['unavailable']})", flush=True)
                break
            if proc.returncode != 0 or not info:
                print(f"{b:6s} {size}px: FAILED (exit {proc.returncode}): {proc.stderr.strip()[-600:]}", flush=True)
                status = 1
                continue
            ran += 1
            fails = check_dataset(out)
            s = info["seconds_per_image"]
            extra = f"; device {info.get('device', '?')}" + (f", GL {info['gl_renderer']}" if "gl_renderer" in info else "")
            print(f"{b:6s} {size}px: {3600 / s:,.0f} images/h ({s * 1000:.1f} ms/img steady, {args.n} samples, "
                  f"{time.perf_counter() - t:.0f} s with start-up); exactness: "
                  f"{'OK' if not fails else 'FAILED'}{extra}", flush=True)
            for f in fails[:10]:
                print(f"    {f}", flush=True)
            status = max(status, 1 if fails else 0)
    if args.keep is None:
        shutil.rmtree(tmp, ignore_errors=True)
    if not ran and status == 0:
        print("gpu_check: no backend was available; nothing measured")
        return NO_GPU
    return status


if __name__ == "__main__":
    sys.exit(main())
