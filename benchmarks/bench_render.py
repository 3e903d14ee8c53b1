"""Render throughput benchmark: ratios measured in one run on one machine.

Prints (and writes as JSON with ``--json``), at the given resolution with the ``draft`` preset and
the default (natural) look:

* images/hour through the full labelled pipeline (plan, pose, scene update, render, passes,
  labels, dataset files via the background writer), in wall and process-CPU seconds;
* the per-sample wall time against the steady re-render of the same, unchanged frame
  (``bpy.ops.render.render`` again with nothing changed: path tracing, denoiser and EXR without
  any scene sync), sample by sample in the same process (goal <= 1.3); ``--repeats`` times, with
  the spread; ``--before`` also measures the pre-issue-17 world (Cycles' automatic importance
  map) in the same run;
* ``per_process``: one fresh Python+bpy process per image (import, scene build, render, write),
  the pattern of ObMan/BlenderProc-style scripts, and the pipeline's ratio to it (goal > 3);
* ``--changes``: the sync cost of each kind of per-sample change (world value, HDRI rotation,
  skin value, light, camera, visibility, the full update) at 64 px 1 spp and at the resolution;
* ``--presets``: images/hour of ``run_job`` for each preset; ``--memory N``: resident memory over N
  samples.

The machine is shared: every line also reports the load average; compare the ratios, which are
measured sample by sample in the same process under the same load.

Examples::

    python benchmarks/bench_render.py --resolution 256 --n 12 --repeats 2 --before --changes
    python benchmarks/bench_render.py --resolution 256 --device gpu --engine cycles   # GPU machine
    python benchmarks/bench_render.py --resolution 64 --memory 1000 --n 0

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

import numpy as np

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


def _clock() -> np.ndarray:
    """``[wall, cpu]`` seconds now (CPU: all threads of this process, the writer's included)."""
    return np.array([time.perf_counter(), time.process_time()])


#: Build-time switches of the issue-17 realism features (synth.render.blender.appearance).
REALISM_FLAGS = ("PALM_LINES", "NAIL_DETAIL", "CONTACT_SHADING", "ROOM", "VEINS", "HAIR", "WRINKLES", "PORES")
SKIN_MICRO = ("VEINS", "HAIR", "WRINKLES", "PORES")


def bench_steady(cfg: JobConfig, n: int, world_map: int | None = None, realism: bool = True,
                 off: tuple[str, ...] = ()) -> dict[str, float]:
    """Per-sample cost of the labelled pipeline against the steady re-render of the same frame.

    For each sample k (one process, one Blender scene): ``RenderSession.render(k)`` (plan, pose,
    per-sample scene update, render, read passes, labels) plus writing it with the dataset writer
    (files encoded on its thread), then ``bpy.ops.render.render(write_still=True)`` again with
    nothing changed: the real lower bound of a sample (path tracing, denoiser, passes, EXR) with
    no scene sync. Both are timed in wall and process-CPU seconds; the ratio of the means is the
    sync / set-up overhead factor (goal <= 1.3).

    Args:
        world_map: the world importance-map resolution to build with (0: Cycles' automatic
            resolution, the behaviour before issue 17; None: the renderer's default).
        realism: False builds without every issue-17 realism feature (:data:`REALISM_FLAGS`: palm
            lines, nail detail, contact shading, the room backdrop -- hidden, the specs are
            unchanged -- and the skin micro detail).
        off: names of :data:`REALISM_FLAGS` to switch off (the others stay on).
    Returns:
        mean wall / CPU seconds per labelled sample and per steady re-render, their ratios, and
        images/hour through the labelled pipeline (writer close included).
    """
    import bpy

    from synth.dataset.meta import dataset_meta
    from synth.dataset.writer import DatasetWriter
    from synth.render.blender import appearance
    from synth.render.blender.renderer import _quiet_stdout
    from synth.render.job import RenderSession

    saved = appearance.WORLD_MAP_RESOLUTION, {f: getattr(appearance, f) for f in REALISM_FLAGS}
    if world_map is not None:
        appearance.WORLD_MAP_RESOLUTION = world_map
    for f in REALISM_FLAGS:
        setattr(appearance, f, realism and f not in off)
    try:
        session = RenderSession(cfg)
        writer = DatasetWriter(cfg.out, dataset_meta(cfg))
        session.render(0)  # build the scene, warm up
        lab, steady = np.zeros(2), np.zeros(2)
        for k in range(1, n + 1):
            t = _clock()
            s = session.render(k)
            images, extra = session.files(s)
            writer.write_sample(k, images, s.label, extra)
            lab += _clock() - t
            t = _clock()
            with _quiet_stdout():
                bpy.ops.render.render(write_still=True)
            steady += _clock() - t
        t = _clock()
        writer.close()  # wait for the last files and manifest lines
        lab += _clock() - t
        session.close()
    finally:
        appearance.WORLD_MAP_RESOLUTION = saved[0]
        for f, v in saved[1].items():
            setattr(appearance, f, v)
    lab, steady = lab / n, steady / n
    return {"labelled_s": lab[0], "labelled_cpu_s": lab[1], "steady_s": steady[0], "steady_cpu_s": steady[1],
            "over_steady": lab[0] / steady[0], "over_steady_cpu": lab[1] / steady[1],
            "images_per_hour": 3600.0 / lab[0]}


def bench_changes(cfg: JobConfig, reps: int = 3) -> dict[str, float]:
    """Wall seconds of one re-render after a single kind of scene change (median of ``reps``),
    minus the steady re-render: what each per-sample change costs Cycles to sync."""
    import bpy

    from synth.render.blender.renderer import _quiet_stdout
    from synth.render.job import RenderSession

    session = RenderSession(cfg)
    k = 0
    while True:  # a sample lit by an HDRI (the most common environment), a held object if possible
        s = session.render(k)
        if s.spec.lighting.sample.env.kind == "hdri" or k > 20:
            break
        k += 1
    r = session.renderer
    rng = np.random.default_rng(0)

    def rr() -> float:
        t = time.perf_counter()
        with _quiet_stdout():
            bpy.ops.render.render(write_still=True)
        return time.perf_counter() - t

    def cost(change) -> float:  # noqa: ANN001
        ts = []
        for _ in range(reps):
            change()
            ts.append(rr())
        return float(np.median(ts))

    w = r.app_world
    changes = {
        "steady": lambda: None,
        "world_value": lambda: w.env_bg.inputs["Strength"].__setattr__("default_value", float(rng.uniform(0.5, 2))),
        "hdri_rotation": lambda: w.env_mapping.inputs["Rotation"].__setattr__(
            "default_value", (0.0, 0.0, float(rng.uniform(0, 6)))),
        "skin_value": lambda: r.app_skin.back.outputs[0].__setattr__("default_value", (*rng.random(3), 1.0)),
        "light_energy": lambda: r.app_lights[0].data.__setattr__("energy", float(rng.uniform(10, 80))),
        "camera_move": lambda: r.camera.location.__setattr__("x", r.camera.location.x + 1e-4),
        "visibility_toggle": lambda: r.prop_objects[-1].__setattr__("hide_render", not r.prop_objects[-1].hide_render),
        "full_update": lambda: r._update(s.spec, s.vertices),  # the whole per-sample update, same values
    }
    out = {name: cost(fn) for name, fn in changes.items()}
    session.close()
    base = out["steady"]
    return {"steady_s": base, **{f"{k}_extra_s": v - base for k, v in out.items() if k != "steady"}}


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
    ap.add_argument("--n", type=int, default=10, help="samples per timing")
    ap.add_argument("--repeats", type=int, default=2, help="repeat the steady-ratio measurement (spread)")
    ap.add_argument("--before", action="store_true",
                    help="also measure the pre-issue-17 world (automatic importance map) in the same run")
    ap.add_argument("--realism", action="store_true",
                    help="also measure the skin without palm lines, nail detail, contact shading (their cost)")
    ap.add_argument("--changes", action="store_true", help="cost of each kind of per-sample scene change")
    ap.add_argument("--per-process", type=int, default=3, help="images for the one-process-per-image timing")
    ap.add_argument("--presets", default="", help="also time run_job for these presets, e.g. draft,standard,high")
    ap.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    ap.add_argument("--engine", default="cycles", choices=["cycles", "eevee"])
    ap.add_argument("--memory", type=int, default=0, help="samples for the memory test (0: skip)")
    ap.add_argument("--set", action="append", default=[], help="extra dotted config overrides")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    res: dict[str, object] = {"resolution": args.resolution, "device": args.device, "engine": args.engine,
                              "cpus": os.cpu_count(), "load_start": os.getloadavg()}
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cpus)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        runs: list[dict[str, float]] = []
        room_only = ["lighting.bg_room=1", "lighting.bg_environment=0", "lighting.bg_solid=0",
                     "lighting.bg_gradient=0", "lighting.bg_noise=0", "lighting.bg_bokeh=0"]
        variants = [("now", None, True, (), [])] + ([("before", 0, True, (), [])] if args.before else []) + \
            ([("plain", None, False, (), []), ("nomicro", None, True, SKIN_MICRO, []),
              ("room", None, True, (), room_only), ("noroom", None, True, ("ROOM",), room_only)]
             if args.realism else [])
        for rep in range(args.repeats if args.n else 0):
            for name, wm, realism, off, extra in variants:
                cfg = make_cfg(args, f"{tmp}/steady_{name}_{rep}", ["render.preset=draft", *extra])
                r = bench_steady(cfg, args.n, wm, realism, off)
                r["variant"] = name  # type: ignore[assignment]
                runs.append(r)
                print(f"[{rep}] {name:6s} draft {args.resolution}px: labelled {r['labelled_s']:.3f} s/img "
                      f"({r['labelled_cpu_s']:.3f} CPU-s) = {r['images_per_hour']:,.0f} images/h; steady re-render "
                      f"{r['steady_s']:.3f} s ({r['steady_cpu_s']:.3f} CPU-s); labelled/steady "
                      f"{r['over_steady']:.2f} wall, {r['over_steady_cpu']:.2f} CPU (goal <= 1.3)", flush=True)
        res["steady_runs"] = runs
        now = [r for r in runs if r["variant"] == "now"]
        if now:
            ih = [r["images_per_hour"] for r in now]
            ratio = [r["over_steady"] for r in now]
            print(f"labelled pipeline: {np.mean(ih):,.0f} images/h (runs {min(ih):,.0f}-{max(ih):,.0f}); "
                  f"labelled/steady {np.mean(ratio):.2f} ({min(ratio):.2f}-{max(ratio):.2f})", flush=True)
            before = [r for r in runs if r["variant"] == "before"]
            if before:
                gain = np.mean([b["labelled_cpu_s"] for b in before]) / np.mean([r["labelled_cpu_s"] for r in now])
                print(f"before issue 17 (automatic world importance map): "
                      f"{np.mean([b['images_per_hour'] for b in before]):,.0f} images/h, labelled/steady "
                      f"{np.mean([b['over_steady'] for b in before]):.2f}; CPU per sample now {gain:.2f}x less",
                      flush=True)
            def mean(name: str, key: str) -> float:
                return float(np.mean([r[key] for r in runs if r["variant"] == name]))

            for a, b, what in (("now", "plain", "all issue-17 realism (palm lines, nails, contact shading, room at "
                                                "its default share, skin micro detail)"),
                               ("now", "nomicro", "skin micro detail (veins, hair, bold knuckle wrinkles, pores)"),
                               ("room", "noroom", "the room backdrop, per sample that shows it (every sample a room)")):
                if any(r["variant"] == b for r in runs):
                    d_cpu = mean(a, "labelled_cpu_s") - mean(b, "labelled_cpu_s")
                    d_wall = mean(a, "labelled_s") - mean(b, "labelled_s")
                    d_st = mean(a, "steady_cpu_s") - mean(b, "steady_cpu_s")
                    print(f"{what}: {d_cpu:+.3f} CPU-s ({d_wall:+.3f} wall s) per labelled sample, {d_st:+.3f} CPU-s "
                          f"on the steady re-render ({a} {mean(a, 'labelled_cpu_s'):.3f} vs {b} "
                          f"{mean(b, 'labelled_cpu_s'):.3f} CPU-s)", flush=True)
            if args.per_process:
                pp = bench_per_process(make_cfg(args, f"{tmp}/pp", ["render.preset=draft"]), args.per_process)
                lab = float(np.mean([r["labelled_s"] for r in now]))
                res["per_process_s"], res["per_process_over_pipeline"] = pp, pp / lab
                print(f"one process per image: {pp:.3f} s/img; the pipeline is {pp / lab:.1f}x faster (goal > 3)",
                      flush=True)
        if args.changes:
            for size, extra in ((64, ["render.samples=1", "render.denoise=false"]), (args.resolution, [])):
                a = argparse.Namespace(**{**vars(args), "resolution": size})
                ch = bench_changes(make_cfg(a, f"{tmp}/changes{size}", ["render.preset=draft", *extra]))
                res[f"changes_{size}"] = ch
                print(f"scene-change costs at {size}px {'1 spp' if extra else 'draft'} (s over the steady "
                      f"{ch['steady_s']:.3f} s): " + ", ".join(f"{k[:-8]} {v:+.3f}" for k, v in ch.items()
                                                               if k != "steady_s"), flush=True)
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
    res["load_end"] = os.getloadavg()
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
