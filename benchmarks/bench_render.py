"""Render throughput benchmark: ratios measured in one run on one machine.

Prints (and writes as JSON with ``--json``):

* a bare Cycles loop (precomputed scene updates + ``bpy.ops.render.render``) and the labelled
  pipeline (plan, pose, render, read passes, labels, atomic files, manifest), interleaved sample
  by sample on one scene so both see the same machine load, and their throughput ratio
  (goal >= 0.85);
* ``per_process``: one fresh Python+bpy process per image (import, scene build, render, write),
  the pattern of ObMan/BlenderProc-style scripts, and e2e's ratio to it (goal >= 3);
* images/hour at the given resolution for each preset;
* optionally (``--memory N``) the resident memory of one process over N samples.

Examples::

    python benchmarks/bench_render.py --resolution 256 --n 20
    python benchmarks/bench_render.py --resolution 256 --device gpu --engine cycles   # GPU machine
    python benchmarks/bench_render.py --resolution 64 --memory 1000 --presets ""

Poses are free poses (``hand.pose_source=free``) unless ``--set hand.pose_source=auto``, so the
figures measure the rendering pipeline rather than the gesture sampler.
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
sys.path.insert(0, str(ROOT))

from synth.config import JobConfig, apply_overrides  # noqa: E402


def rss_mb() -> float:
    """Resident set size of this process, MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def make_cfg(args: argparse.Namespace, out: str, extra: list[str] = ()) -> JobConfig:  # type: ignore[assignment]
    sets = [f"out={out}", f"render.resolution={args.resolution}", f"render.device={args.device}",
            f"render.engine={args.engine}", "hand.pose_source=free", *args.set, *extra]
    return apply_overrides(JobConfig(), sets)


def bench_interleaved(cfg: JobConfig, n: int) -> tuple[float, float]:
    """Seconds per image of the bare loop and of the labelled pipeline, interleaved sample by
    sample in one process on one Blender scene, so both see the same machine load.

    * bare: a precomputed scene update (vertices, camera, material, lights of sample k + 1) and
      ``bpy.ops.render.render(write_still=True)`` (the same passes into the same EXR file;
      nothing read back, no labels, no dataset files);
    * labelled: ``RenderSession.render(i)`` (plan, pose, render, read passes, labels) plus writing
      the sample with the dataset writer (its background thread encodes and writes files,
      checksums and manifest lines, competing for the same cores), and the final wait for it.
    """
    import bpy

    from synth.dataset.writer import DatasetWriter
    from synth.render.blender.renderer import _quiet_stdout
    from synth.render.job import RenderSession, dataset_meta
    from synth.scene.plan import plan_sample

    session = RenderSession(cfg)
    writer = DatasetWriter(cfg.out, dataset_meta(cfg))
    scenes = {}
    for i in range(2, n + 2):
        spec = plan_sample(cfg, i, session.rigs, session.pose_sampler)
        scenes[i] = (spec, spec.hand.world()[0])
    session.render(0)  # build the scene, warm up
    bare = labelled = 0.0
    # Order bare(2), labelled(1), bare(3), labelled(2), ...: both loops render (almost) the same
    # scenes, and every render differs from the one before it (no reuse of an unchanged scene).
    for k in range(1, n + 1):
        t = time.perf_counter()
        with _quiet_stdout():
            session.renderer._update(*scenes[k + 1])
            bpy.ops.render.render(write_still=True)
        bare += time.perf_counter() - t
        t = time.perf_counter()
        s = session.render(k)
        images, extra = session.files(s)
        writer.write_sample(k, images, s.label, extra)  # encoded and written on the writer's thread
        labelled += time.perf_counter() - t
    t = time.perf_counter()
    writer.close()  # wait for the last files and manifest lines
    labelled += time.perf_counter() - t
    session.close()
    return bare / n, labelled / n


def bench_e2e(cfg: JobConfig, n: int) -> float:
    """Steady-state seconds per image of run_job: the time between the first and the last
    sample written, over n - 1 (scene build and warm-up excluded)."""
    from synth.render.job import run_job

    stamps: list[float] = []
    run_job(cfg.replace(count=n + 1, start=0), progress=lambda _i: stamps.append(time.perf_counter()))
    return (stamps[-1] - stamps[0]) / n


def bench_per_process(cfg: JobConfig, n: int) -> float:
    """Seconds per image when every image is a fresh process (import bpy, build, render, write)."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "from synth.config import JobConfig\nfrom synth.render.job import run_job\n"
            "run_job(JobConfig.from_dict(__import__('json').loads(sys.argv[1])))\n")
    t = time.perf_counter()
    for i in range(n):
        c = cfg.replace(count=1, start=1000 + i)
        subprocess.run([sys.executable, "-c", code, json.dumps(c.to_dict())], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t) / n


def bench_memory(cfg: JobConfig, n: int) -> dict[str, float]:
    """RSS after the first 50 samples and after ``n`` samples in one process."""
    from synth.render.job import run_job

    run_job(cfg.replace(count=50, start=0))
    first = rss_mb()
    t = time.perf_counter()
    run_job(cfg.replace(count=n - 50, start=50))
    return {"samples": n, "rss_after_50_mb": first, f"rss_after_{n}_mb": rss_mb(),
            "seconds_per_image": (time.perf_counter() - t) / (n - 50)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--n", type=int, default=10, help="images per timing")
    ap.add_argument("--per-process", type=int, default=3, help="images for the one-process-per-image timing")
    ap.add_argument("--presets", default="draft,standard,high")
    ap.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    ap.add_argument("--engine", default="cycles", choices=["cycles", "eevee"])
    ap.add_argument("--memory", type=int, default=0, help="samples for the memory test (0: skip)")
    ap.add_argument("--set", action="append", default=[], help="extra dotted config overrides")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    res: dict[str, object] = {"resolution": args.resolution, "device": args.device, "engine": args.engine,
                              "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = make_cfg(args, f"{tmp}/e2e", ["render.preset=draft"])
        if args.n:
            bare, e2e = bench_interleaved(cfg, args.n)
            res["draft_bare_s"], res["draft_labelled_s"], res["labelled_over_bare"] = bare, e2e, bare / e2e
            print(f"draft {args.resolution}px, interleaved: bare loop {bare:.3f} s/img, labelled pipeline "
                  f"{e2e:.3f} s/img; throughput ratio {bare / e2e:.2f}", flush=True)
            if args.per_process:
                pp = bench_per_process(make_cfg(args, f"{tmp}/pp", ["render.preset=draft"]), args.per_process)
                res["per_process_s"], res["e2e_over_per_process"] = pp, pp / e2e
                print(f"one process per image: {pp:.3f} s/img; end-to-end is {pp / e2e:.1f}x faster", flush=True)
        for preset in [p for p in args.presets.split(",") if p]:
            c = make_cfg(args, f"{tmp}/{preset}", [f"render.preset={preset}"])
            n = max(2, args.n if preset == "draft" else args.n // 3)
            s = bench_e2e(c, n)
            res[f"{preset}_e2e_s"], res[f"{preset}_images_per_hour"] = s, 3600.0 / s
            print(f"preset {preset} ({c.render.effective_samples} spp, denoise {c.render.effective_denoise}): "
                  f"{s:.3f} s/img = {3600 / s:,.0f} images/hour", flush=True)
        if args.memory:
            m = bench_memory(make_cfg(args, f"{tmp}/mem", ["render.preset=draft", "output.save_mesh=false"]),
                             args.memory)
            res["memory"] = m
            print(f"memory: {json.dumps(m)}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
