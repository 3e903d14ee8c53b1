"""In-process Cycles renders at 96 px, 4 spp: completeness, exactness, determinism, two runtimes,
raster agreement. One job is rendered once per module and checked against independent
computations (OpenCV, Blender's own projection, trimesh ray casts of the saved mesh, pyrender)."""

from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
import cv2  # noqa: E402

pytestmark = pytest.mark.blender

ROOT = Path(__file__).resolve().parents[2]
N = 4
#: Worn accessories off: this file tests the hand (and held objects) alone (see test_accessories_render.py).
NO_ACC = [f"accessories.{k}_prob=0" for k in ("sleeve", "watch", "bracelet", "ring")] + ["lighting.table_prob=0"] + \
    ["props.fraction=0", "props.grasp_fraction=0"]  # no table, no held object (tests/props covers them)
ARGS = ["--count", str(N), "--seed", "7", "--resolution", "96", "--samples", "4", "--side", "both", "--save-mesh",
        *(a for kv in NO_ACC for a in ("--set", kv))]
TIPS = [4, 8, 12, 16, 20]


def _cli(args: list[str]):  # noqa: ANN202
    from synth.cli import cli

    return CliRunner().invoke(cli, ["render", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds") / "cli"
    res = _cli(["--out", str(out), *ARGS])
    assert res.exit_code == 0, res.output
    return out


def _label(ds: Path, i: int) -> dict:
    return json.loads((ds / "labels" / f"{i:08d}.json").read_text())


def _exr(p: Path) -> np.ndarray:
    """Float EXR as written by the dataset writer, channels in RGB (x, y, z) order."""
    from synth.dataset.imageio import read_image

    return read_image(p)


def test_all_samples_complete(dataset: Path) -> None:
    lines = (dataset / "manifest.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["id"] for x in lines) == list(range(N))
    sides = set()
    for i in range(N):
        lab = _label(dataset, i)
        sides.add(lab["handedness"])
        for kind in ("rgb", "depth", "parts", "normals", "mesh", "label"):
            assert (dataset / lab["files"][kind]).is_file()
        rgb = cv2.imread(str(dataset / lab["files"]["rgb"]), cv2.IMREAD_UNCHANGED)
        assert rgb.shape == (96, 96, 3) and rgb.dtype == np.uint8
        n = _exr(dataset / lab["files"]["normals"])
        d = _exr(dataset / lab["files"]["depth"])
        hand = d > 0
        assert np.allclose(np.linalg.norm(n[hand], axis=-1), 1.0, atol=1e-4)
        # OpenCV camera frame: the visible surface faces the camera (n . ray < 0).
        rows, cols = np.nonzero(hand)
        rays = np.stack([cols, rows, np.ones_like(cols)], -1) @ np.linalg.inv(np.array(lab["K"])).T
        assert ((n[hand] * rays).sum(-1) < 0).mean() >= 0.97
        assert lab["hand_pixels"] > 100 and len(lab["keypoints_2d"]) == 21
    assert sides == {"right", "left"}
    meta = json.loads((dataset / "dataset.json").read_text())
    assert "visibility" in json.dumps(meta)


def test_keypoints_match_opencv_and_camera_frame(dataset: Path) -> None:
    from synth.labels.projection import rvec_tvec

    for i in range(N):
        lab = _label(dataset, i)
        K, M = np.array(lab["K"]), np.array(lab["world_to_cam"])
        kw, kc, uv = (np.array(lab[k]) for k in ("keypoints_3d_world", "keypoints_3d_cam", "keypoints_2d"))
        rvec, tvec = rvec_tvec(M)
        ref, _ = cv2.projectPoints(kw, rvec, tvec, K, None)
        assert np.abs(uv - ref[:, 0]).max() < 1e-3
        assert np.abs(kc - (kw @ M[:3, :3].T + M[:3, 3])).max() < 1e-6


def test_keypoints_match_blender_world_to_camera_view(dataset: Path) -> None:
    import bpy
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    from synth.config import JobConfig, apply_overrides
    from synth.labels.projection import blender_ndc_to_pixels
    from synth.render.blender.renderer import BlenderRenderer
    from synth.render.job import hand_meshes, job_pose_sampler, load_rigs
    from synth.scene.plan import plan_sample

    cfg = apply_overrides(JobConfig(), ["seed=7", "render.resolution=96", "hand.side=both", *NO_ACC])
    rigs = load_rigs(cfg)
    r = BlenderRenderer(cfg.render, hand_meshes(rigs))
    sampler = job_pose_sampler(cfg)
    try:
        for i in range(N):
            spec = plan_sample(cfg, i, rigs, sampler)
            lab = _label(dataset, i)
            r._update(spec, np.zeros((rigs[spec.hand.side].n_vertices, 3)))
            bpy.context.view_layer.update()
            ndc = np.array([list(world_to_camera_view(r.scene, r.camera, Vector(p)))[:2]
                            for p in lab["keypoints_3d_world"]])
            uv = blender_ndc_to_pixels(ndc, 96, 96)
            assert np.abs(uv - np.array(lab["keypoints_2d"])).max() < 0.01
    finally:
        r.close()


def _raycast_depth(mesh: dict, K: np.ndarray, M: np.ndarray, W: int, H: int, where: np.ndarray) -> np.ndarray:
    """Planar depth of the first hit of the pixel-centre rays (``where`` selects the pixels): a
    brute-force Moller-Trumbore ray/triangle test in numpy, independent of any renderer."""
    V, F = np.asarray(mesh["vertices"], np.float64), np.asarray(mesh["faces"])
    Vc = V @ M[:3, :3].T + M[:3, 3]  # camera frame: rays start at the origin
    v0, e1, e2 = Vc[F[:, 0]], Vc[F[:, 1]] - Vc[F[:, 0]], Vc[F[:, 2]] - Vc[F[:, 0]]
    rows, cols = np.nonzero(where)
    d = np.stack([cols, rows, np.ones_like(cols)], -1).astype(np.float64) @ np.linalg.inv(K).T  # z = 1
    out = np.zeros((H, W))
    for s in range(0, len(d), 256):
        dc = d[s:s + 256, None, :]
        p = np.cross(dc, e2[None])
        det = (p * e1[None]).sum(-1)
        inv = 1.0 / np.where(np.abs(det) < 1e-15, np.nan, det)
        tv = -v0[None]
        u = (tv * p).sum(-1) * inv
        q = np.cross(tv, e1[None])
        v = (dc * q).sum(-1) * inv
        t = (e2[None] * q).sum(-1) * inv
        hit = (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
        z = np.where(hit, t, np.inf).min(axis=1)  # d has z = 1, so t is the planar depth
        out[rows[s:s + 256], cols[s:s + 256]] = np.where(np.isfinite(z), z, 0.0)
    return out


def test_depth_parts_bbox_and_tips_are_exact(dataset: Path) -> None:
    from synth.labels.bbox import bbox_from_mask

    for i in range(N):
        lab = _label(dataset, i)
        K, M = np.array(lab["K"]), np.array(lab["world_to_cam"])
        depth = _exr(dataset / lab["files"]["depth"])
        parts = cv2.imread(str(dataset / lab["files"]["parts"]), cv2.IMREAD_UNCHANGED)
        with np.load(dataset / lab["files"]["mesh"]) as z:
            mesh = {k: z[k] for k in z.files}
        # Independent ray cast of the saved mesh, over the hand's bbox grown by 3 px (rays
        # elsewhere are far from any surface); silhouette pixels (1 px border) excluded.
        x0, y0, x1, y1 = lab["bbox"]
        roi = np.zeros((96, 96), bool)
        roi[max(y0 - 3, 0):y1 + 3, max(x0 - 3, 0):x1 + 3] = True
        ref = _raycast_depth(mesh, K, M, 96, 96, roi)
        assert ((ref > 0) == (depth > 0)).mean() >= 0.995
        inner = cv2.erode((depth > 0).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & (ref > 0)
        err = np.abs(depth[inner] - ref[inner])
        assert np.median(err) <= 1e-4, np.median(err)
        assert (err <= 2e-3).mean() >= 0.99
        # Part mask exactly where depth is.
        assert ((parts > 0) == (depth > 0)).mean() >= 0.995
        assert set(np.unique(parts)) <= set(range(8))
        assert lab["bbox"] == bbox_from_mask(parts)
        # Fingertips: visible ones are on the rendered surface, in-frame hidden ones are not.
        kc, uv, vis = (np.array(lab[k]) for k in ("keypoints_3d_cam", "keypoints_2d", "visibility"))
        for t in TIPS:
            c, r = int(np.floor(uv[t, 0] + 0.5)), int(np.floor(uv[t, 1] + 0.5))
            if not (0 <= c < 96 and 0 <= r < 96):
                assert vis[t] == 0
                continue
            win = depth[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2]
            on_surface = bool(((win > 0) & (np.abs(win - kc[t, 2]) <= 3e-3)).any())
            assert on_surface == bool(vis[t]), (i, t)


def test_shim_argument_path_in_process(tmp_path: Path, monkeypatch) -> None:
    """The shim run as Blender runs it (``-P`` executes it as __main__ with Blender's own
    arguments before ``--``): only what follows ``--`` is parsed."""
    monkeypatch.setattr(sys, "argv", ["blender", "-b", "--factory-startup", "-P", "render_shard.py", "--",
                                      "--out", str(tmp_path / "x"), "--resolution", "7"])
    with pytest.raises(SystemExit) as ex:
        runpy.run_path(str(ROOT / "blender_scripts" / "render_shard.py"), run_name="__main__")
    assert ex.value.code == 2  # our usage error, not Blender's arguments
    mod = runpy.run_path(str(ROOT / "blender_scripts" / "render_shard.py"))
    assert mod["args_after_dashdash"](["blender", "-b", "-P", "s.py", "--", "--count", "3"]) == ["--count", "3"]
    assert mod["args_after_dashdash"](["blender", "-b"]) == []


def test_shim_in_a_fresh_process_gives_identical_files(dataset: Path, tmp_path: Path) -> None:
    """`blender -b -P blender_scripts/render_shard.py -- ARGS`, run with python in a new process
    (no Blender binary needed): a shard of ids 1..2 equals the CLI's labels and PNG/EXR bytes."""
    out = tmp_path / "shim"
    cmd = [sys.executable, str(ROOT / "blender_scripts" / "render_shard.py"), "--", "--out", str(out), *ARGS,
           "--start", "1", "--count", "2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for i in (1, 2):
        a, b = _label(dataset, i), _label(out, i)
        assert a == b
        for kind in ("rgb", "parts", "depth", "normals", "mesh"):
            assert (dataset / a["files"][kind]).read_bytes() == (out / b["files"][kind]).read_bytes(), kind
    shutil.rmtree(out)


def test_raster_depth_agrees_with_cycles(dataset: Path) -> None:
    from synth.config import JobConfig, apply_overrides
    from synth.render.job import hand_meshes, job_pose_sampler, load_rigs, render_sample
    from synth.render.raster import RasterRenderer

    cfg = apply_overrides(JobConfig(), ["seed=7", "render.resolution=96", "hand.side=both", "render.renderer=raster",
                                        *NO_ACC])
    rigs = load_rigs(cfg)
    r = RasterRenderer(cfg.render, hand_meshes(rigs))
    try:
        for i in range(2):
            s = render_sample(cfg, i, rigs, r, job_pose_sampler(cfg))
            cyc = _exr(dataset / "depth" / f"{i:08d}.exr")
            both = (cyc > 0) & (s.passes.depth > 0)
            assert both.sum() > 100
            assert np.median(np.abs(cyc[both] - s.passes.depth[both])) <= 1e-3
            assert ((cyc > 0) == (s.passes.depth > 0)).mean() >= 0.99
            assert s.label["keypoints_2d"] == _label(dataset, i)["keypoints_2d"]
            cn = _exr(dataset / "normals" / f"{i:08d}.exr")
            assert np.median((cn[both] * s.passes.normals[both]).sum(-1)) >= 0.99
    finally:
        r.close()


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    res = _cli(["--out", str(tmp_path / "x"), "--resolution", "7"])
    assert res.exit_code == 2 and "render.resolution" in res.output
    res = _cli(["--count", "1"])
    assert res.exit_code == 2 and "--out is required" in res.output
    if shutil.which("nvidia-smi") is None:
        res = _cli(["--out", str(tmp_path / "g"), "--count", "1", "--resolution", "32", "--device", "gpu"])
        assert res.exit_code == 1 and "no OptiX/CUDA" in res.output


def test_cli_config_overrides_and_resume_with_raster(tmp_path: Path) -> None:
    """--config YAML + --set through the CLI (raster backend: fast), then a resumed run."""
    job = tmp_path / "job.yaml"
    job.write_text("seed: 11\ncount: 2\nrender: {resolution: 64, renderer: raster}\nhand: {side: left}\n")
    out = tmp_path / "r"
    res = _cli(["--config", str(job), "--out", str(out), "--set", "camera.fov=[30, 35]"])
    assert res.exit_code == 0, res.output
    meta = json.loads((out / "dataset.json").read_text())
    text = json.dumps(meta)
    assert '"renderer": "raster"' in text and '"fov": [30.0, 35.0]' in text
    labels = [_label(out, i) for i in range(2)]
    assert all(lab["handedness"] == "left" and lab["render"]["renderer"] == "raster" for lab in labels)
    res = _cli(["--config", str(job), "--out", str(out), "--set", "camera.fov=[30, 35]", "--count", "3"])
    assert res.exit_code == 0 and "2 already complete" in res.output
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 3


def test_recycled_renderer_gives_identical_samples(dataset: Path, tmp_path: Path) -> None:
    """Rebuilding the Blender scene every sample (render.recycle_after=1) changes nothing."""
    out = tmp_path / "recycled"
    res = _cli(["--out", str(out), *ARGS, "--count", "2", "--set", "render.recycle_after=1"])
    assert res.exit_code == 0, res.output
    for i in range(2):
        a, b = _label(dataset, i), _label(out, i)
        assert a == b
        assert (dataset / a["files"]["rgb"]).read_bytes() == (out / b["files"]["rgb"]).read_bytes()


@pytest.mark.parametrize(("W", "H", "cx", "cy"), [(64, 96, 20.0, 50.0), (96, 64, 60.0, 20.0)])
def test_portrait_landscape_and_shifted_principal_point(W: int, H: int, cx: float, cy: float) -> None:
    """Blender's camera (lens and shift) reproduces any centred or shifted K with square pixels:
    Blender's own projection and the rendered depth both match the OpenCV model."""
    import dataclasses

    import bpy
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    from synth.config import JobConfig, apply_overrides
    from synth.labels.projection import blender_ndc_to_pixels, project_points
    from synth.render.blender.renderer import BlenderRenderer
    from synth.render.job import hand_meshes, load_rigs
    from synth.scene.camera import Camera
    from synth.scene.plan import plan_sample, posed_world

    cfg = apply_overrides(JobConfig(), [f"render.width={W}", f"render.height={H}", "hand.pose_source=free"])
    rigs = load_rigs(cfg)
    r = BlenderRenderer(cfg.render, hand_meshes(rigs))
    try:
        spec = plan_sample(cfg, 0, rigs)
        K = spec.camera.K.copy()
        K[0, 2], K[1, 2] = cx, cy
        spec = dataclasses.replace(spec, camera=Camera(K, spec.camera.world_to_cam, W, H))
        v, kp = posed_world(rigs[spec.hand.side], spec.hand)
        p = r.render(spec, v)
        bpy.context.view_layer.update()
        ndc = np.array([list(world_to_camera_view(r.scene, r.camera, Vector(x)))[:2] for x in kp])
        uv = project_points(kp, K, spec.camera.world_to_cam)
        assert np.abs(uv - blender_ndc_to_pixels(ndc, W, H)).max() < 0.01
        ref = _raycast_depth({"vertices": v, "faces": rigs[spec.hand.side].faces}, K, spec.camera.world_to_cam,
                             W, H, np.ones((H, W), bool))
        assert (ref > 0).sum() > 50
        assert ((ref > 0) == (p.depth > 0)).mean() >= 0.995
        both = (ref > 0) & (p.depth > 0)
        assert np.median(np.abs(ref[both] - p.depth[both])) <= 1e-4
    finally:
        r.close()


_EEVEE_SCRIPT = """
import json, sys
import numpy as np
from synth.config import JobConfig, apply_overrides
from synth.render.blender.renderer import BlenderRenderer
from synth.render.job import hand_meshes, load_rigs, render_sample
out = {}
for engine in ("eevee", "cycles"):
    cfg = apply_overrides(JobConfig(), [f"render.engine={engine}", "render.resolution=48", "hand.pose_source=free",
                                        "render.samples=1"])
    rigs = load_rigs(cfg)
    r = BlenderRenderer(cfg.render, hand_meshes(rigs))
    out[engine] = render_sample(cfg, 2, rigs, r).passes
    r.close()
e, c = out["eevee"], out["cycles"]
both = (e.depth > 0) & (c.depth > 0)
print(json.dumps({"hand": int((c.parts > 0).sum()), "parts_equal": float((e.parts == c.parts).mean()),
                  "median_dz": float(np.median(np.abs(e.depth[both] - c.depth[both])))}))
"""


@pytest.mark.slow
def test_eevee_labels_match_cycles() -> None:
    """EEVEE (GPU machines; here a software OpenGL context, a few seconds at 48 px): the part AOV
    and depth with the 0.01 px filter give Cycles' labels. Run in its own process: EEVEE's
    OpenGL context must not meet the one pyrender opened in this process."""
    proc = subprocess.run([sys.executable, "-c", _EEVEE_SCRIPT], capture_output=True, text=True, timeout=300,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["hand"] > 30
    assert res["parts_equal"] >= 0.995
    assert res["median_dz"] <= 1e-4
