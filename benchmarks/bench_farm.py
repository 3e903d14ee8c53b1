"""Scale-out figures on this machine: process scaling, Ray overhead, output volume, worker memory.

Measured in one run (the machine is shared and noisy, so compare the ratios printed here):

1. steady-state seconds per image of one render process with 1 and with 2 Cycles threads;
2. scaling: 2 processes x 1 thread (array shards of one job into one directory) vs 1 process x
   1 thread and 1 process x 2 threads, wall clock from launch to the last sample, start-up included;
3. Ray overhead: the same job with ``run_ray`` (2 actors x 1 CPU) vs the 2 plain processes of (2);
   Ray's own start-up (``ray.init``) is reported separately;
4. output volume per sample at this resolution: the raw dataset files by kind, and the packaged
   formats (``synth package --format coco|webdataset|parquet``);
5. with ``--memory N``: resident memory of one worker over N samples (64 px, 1 spp) without
   recycling, and of Ray workers recycled every ``N/4`` samples.

Run: ``python benchmarks/bench_farm.py [--n 16] [--resolution 256] [--preset standard] [--memory 1000]``;
on a GPU node add ``--device gpu --skip-ray`` for the per-image GPU figure the 1 M-image plan needs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def job(out: Path, args: argparse.Namespace, **render: object) -> dict:
    r = {"resolution": args.resolution, "preset": args.preset, "device": args.device}
    r.update(render)
    return {"seed": 11, "count": args.n, "out": str(out), "render": r, "hand": {"side": "both"}}


def cpu_seconds() -> float:
    """User + system CPU time of this process, all threads (Cycles, the writer thread)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child(spec: dict) -> None:
    """Render ``spec['ids']`` in this process; print timing and memory as JSON. The first
    ``warmup`` ids (the scene is built on the first render) are excluded from ``steady_s``/``cpu_s``,
    not from ``wall_s``."""
    from synth.config import JobConfig
    from synth.farm.ray_executor import rss_mb
    from synth.farm.worker import RenderWorker

    t0 = time.perf_counter()
    cfg = JobConfig.from_dict(spec["job"])
    w = RenderWorker(cfg, threads=spec["threads"], in_process_recycle=False)
    build = time.perf_counter() - t0
    ids = spec["ids"]
    warm = spec.get("warmup", 0)
    w.render_ids(ids[:warm])
    t1 = time.perf_counter()
    c1 = cpu_seconds()
    mem = []
    every = spec.get("rss_every", 0)
    for k in range(warm, len(ids), every or len(ids)):
        w.render_ids(ids[k:k + (every or len(ids))])
        mem.append((k + (every or len(ids)), round(rss_mb(), 1)))
    w.writer.flush()
    steady = time.perf_counter() - t1
    cpu = cpu_seconds() - c1
    w.close()
    print(json.dumps({"build_s": build, "steady_s": steady, "cpu_s": cpu, "n_steady": len(ids) - warm,
                      "wall_s": time.perf_counter() - t0, "rss": mem}))


def spawn(spec: dict) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, __file__, "--child", json.dumps(spec)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)


def collect(p: subprocess.Popen) -> dict:
    out, _ = p.communicate()
    if p.returncode != 0:
        raise SystemExit(f"child failed with exit code {p.returncode}")
    return json.loads(out.strip().splitlines()[-1])


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def memory(args: argparse.Namespace, tmp: Path) -> None:
    """Resident memory of render workers over many samples, without and with recycling."""
    if args.memory:
        m = args.memory
        small = {"seed": 11, "count": m, "render": {"resolution": args.memory_resolution, "samples": 1}, "hand": {"side": "both"}}
        t = time.perf_counter()
        k = collect(spawn({"job": {**small, "out": str(tmp / "m1")}, "ids": list(range(m)), "threads": 1,
                           "rss_every": max(1, m // 10)}))
        print(f"memory, one worker, no recycling, {m} samples ({time.perf_counter() - t:.0f} s): RSS MiB after "
              + ", ".join(f"{i}: {r}" for i, r in k["rss"]))
        if not args.skip_ray:
            import ray

            from synth.config import JobConfig
            from synth.farm.ray_executor import run_ray

            ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
            st = run_ray(JobConfig.from_dict({**small, "out": str(tmp / "m2")}), num_workers=1,
                         chunk_size=max(1, m // 20), recycle_after=max(1, m // 4))
            ray.shutdown()
            print(f"memory, Ray worker recycled every {m // 4} samples ({st.recycled} recycled): RSS MiB "
                  + ", ".join(f"pid {p} n={s}: {r:.1f}" for p, s, r in st.rss_mb))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=16, help="images per scaling run")
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--preset", default="standard")
    ap.add_argument("--device", default="cpu", choices=["cpu", "gpu"], help="Cycles device (gpu: per-image GPU figures)")
    ap.add_argument("--memory", type=int, default=0, help="samples for the memory runs (0: skip)")
    ap.add_argument("--memory-resolution", type=int, default=64, help="image size of the memory runs (1 spp)")
    ap.add_argument("--only-memory", action="store_true", help="run only the memory part")
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--repeats", type=int, default=2, help="alternating repetitions of the scaling runs")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(json.loads(args.child))
        return

    print(f"load average at start: {os.getloadavg()}; cores: {os.cpu_count()}")
    if args.only_memory:
        memory(args, Path(tempfile.mkdtemp(prefix="bench_farm_")))
        return
    n = args.n
    tmp = Path(tempfile.mkdtemp(prefix="bench_farm_"))
    ids = list(range(n))
    res: dict[str, float] = {}

    # 1. one process, 2 threads and 1 thread (steady state, warm-up excluded)
    a = collect(spawn({"job": job(tmp / "a", args), "ids": ids, "threads": 2, "warmup": 1}))
    b = collect(spawn({"job": job(tmp / "b", args), "ids": ids[: n // 2 + 1], "threads": 1, "warmup": 1}))
    res["s_img_2t"] = a["steady_s"] / a["n_steady"]
    res["s_img_1t"] = b["steady_s"] / b["n_steady"]
    res["cpu_img_2t"] = a["cpu_s"] / a["n_steady"]
    res["cpu_img_1t"] = b["cpu_s"] / b["n_steady"]
    print(f"1 process x 2 threads: {res['s_img_2t']:.3f} s/image wall, {res['cpu_img_2t']:.3f} CPU-s/image")
    print(f"1 process x 1 thread:  {res['s_img_1t']:.3f} s/image wall, {res['cpu_img_1t']:.3f} CPU-s/image; "
          f"2 threads are {res['s_img_1t'] / res['s_img_2t']:.2f}x faster than 1 (wall) and cost "
          f"{res['cpu_img_2t'] / res['cpu_img_1t']:.2f}x the CPU time")

    # Fixed per-sample cost outside path tracing (planning, skinning, scene update, EXR read-back,
    # labels, PNG/EXR encoding): 1 spp, no denoiser. A GPU node must feed its GPU at least this much CPU.
    o = collect(spawn({"job": job(tmp / "o", args, samples=1, denoise=False), "ids": ids, "threads": 1, "warmup": 1}))
    res["cpu_img_overhead"] = o["cpu_s"] / o["n_steady"]
    print(f"per-sample work outside path tracing (1 spp, no denoiser, 1 thread): {o['steady_s'] / o['n_steady']:.3f} s/image wall, "
          f"{res['cpu_img_overhead']:.3f} CPU-s/image")

    # 2. scaling, wall clock incl. start-up: 2 processes x 1 thread vs 1 process x {1, 2} threads.
    # Configurations alternate, `--repeats` times; the minimum wall time of each is the least
    # disturbed by other load on a shared machine.
    def plain(tag: str, procs: int, threads: int) -> tuple[float, list[dict]]:
        t = time.perf_counter()
        kids = [spawn({"job": job(tmp / tag, args), "ids": ids[k * n // procs:(k + 1) * n // procs], "threads": threads,
                       "warmup": 1}) for k in range(procs)]
        out = [collect(p) for p in kids]
        return time.perf_counter() - t, out

    walls: dict[str, list[float]] = {"1p x 1t": [], "1p x 2t": [], "2p x 1t": [], "ray 2 x 1t": []}
    cpu_2p: list[float] = []
    if not args.skip_ray:
        import ray

        from synth.config import JobConfig
        from synth.farm.ray_executor import run_ray

        t = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        init_s = time.perf_counter() - t
    for r in range(args.repeats):
        walls["1p x 1t"].append(plain(f"c1_{r}", 1, 1)[0])
        w, kids = plain(f"c3_{r}", 2, 1)
        walls["2p x 1t"].append(w)
        cpu_2p.append(sum(k["cpu_s"] for k in kids) / sum(k["n_steady"] for k in kids))
        walls["1p x 2t"].append(plain(f"c2_{r}", 1, 2)[0])
        if not args.skip_ray:
            t = time.perf_counter()
            run_ray(JobConfig.from_dict(job(tmp / f"r_{r}", args)), num_workers=2)  # 3. Ray, same job
            walls["ray 2 x 1t"].append(time.perf_counter() - t)
    if not args.skip_ray:
        ray.shutdown()
    best = {k: min(v) for k, v in walls.items() if v}
    print(f"{n} images, wall incl. process start-up (min of {args.repeats}; all runs): "
          + "; ".join(f"{k} {best[k]:.1f} s {[round(x, 1) for x in v]}" for k, v in walls.items() if v))
    print(f"scaling on 2 cores: 2 processes x 1 thread vs 1 process x 1 thread {best['1p x 1t'] / best['2p x 1t']:.2f}x "
          f"(ideal 2); vs 1 process x 2 threads {best['1p x 2t'] / best['2p x 1t']:.2f}x; "
          f"CPU-s/image in the 2 processes {min(cpu_2p):.3f} (1 process x 1 thread: {res['cpu_img_1t']:.3f})")
    if not args.skip_ray:
        print(f"ray: init {init_s:.1f} s (once per cluster); job with 2 actors / 2 plain processes = "
              f"{best['ray 2 x 1t'] / best['2p x 1t']:.2f}x (+{best['ray 2 x 1t'] - best['2p x 1t']:.1f} s)")

    # 4. output volume per sample
    from synth.dataset.layout import read_manifest

    man = read_manifest(tmp / "a")
    kinds: dict[str, int] = {}
    for e in man.values():
        for k, v in e.bytes.items():
            kinds[k] = kinds.get(k, 0) + v
    per = {k: v / len(man) for k, v in kinds.items()}
    print(f"raw dataset at {args.resolution} px, bytes/sample: "
          + ", ".join(f"{k} {v / 1024:.1f} KiB" for k, v in per.items()) + f"; total {sum(per.values()) / 1024:.1f} KiB")
    for fmt in ("coco", "webdataset", "parquet"):
        out = tmp / f"pkg_{fmt}"
        r = subprocess.run([sys.executable, "-m", "synth.cli", "package", str(tmp / "a"), "--format", fmt, "--out", str(out),
                            "--split", "none"], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        if r.returncode == 0:
            print(f"package {fmt}: {dir_bytes(out) / len(man) / 1024:.1f} KiB/sample")
        else:
            print(f"package {fmt}: failed ({(r.stderr.strip().splitlines() or ['?'])[-1]})")

    memory(args, tmp)
    print(f"(outputs in {tmp})")


if __name__ == "__main__":
    main()
