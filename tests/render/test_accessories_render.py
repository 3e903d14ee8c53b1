"""Worn accessories in rendered samples (Cycles at 72 px, 2 spp): part ids after the held
objects, depth against an independent ray cast of the saved hand + accessories mesh, a watch
hiding the wrist keypoint, ``synth validate``, and probabilities 0 = a job without them."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
import cv2  # noqa: E402

pytestmark = pytest.mark.blender

N = 3
S = 72
ON = ["--set", "accessories.sleeve_prob=1", "--set", "accessories.watch_prob=1", "--set", "accessories.ring_prob=1"]
OFF = [a for k in ("sleeve", "watch", "bracelet", "ring") for a in ("--set", f"accessories.{k}_prob=0")]
BASE = ["--seed", "7", "--resolution", str(S), "--samples", "2", "--save-mesh", "--set", "lighting.table_prob=0",
        "--set", "props.fraction=0", "--set", "props.grasp_fraction=0"]  # accessories alone


def _invoke(args: list[str]):  # noqa: ANN202
    from synth.cli import cli

    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("acc") / "ds"
    res = _invoke(["render", "--out", str(out), "--count", str(N), *BASE, *ON])
    assert res.exit_code == 0, res.output
    return out


def _label(ds: Path, i: int) -> dict:
    return json.loads((ds / "labels" / f"{i:08d}.json").read_text())


def test_accessories_rendered_depth_matches_ray_cast(dataset: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("_rp", Path(__file__).parents[1] / "props" / "test_render_props.py")
    rp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rp)
    from synth.dataset.imageio import read_image

    seen = set()
    for i in range(N):
        lab = _label(dataset, i)
        objs = lab["objects"]
        names = [o["name"] for o in objs]
        assert names[:2] == ["sleeve", "watch"] and names[2:] in ([], ["ring"])  # a ring only where it fits
        assert [o["part_id"] for o in objs] == list(range(16, 16 + len(objs)))
        assert all(o["category"] == "accessory" for o in objs)
        assert [a["kind"] for a in lab["attributes"]["accessories"]] == names
        assert "wearing" in lab["caption"] and "watch" in lab["caption"]
        parts = cv2.imread(str(dataset / lab["files"]["parts"]), cv2.IMREAD_UNCHANGED)
        depth = read_image(dataset / lab["files"]["depth"])
        with np.load(dataset / lab["files"]["mesh"]) as z:
            mesh = {k: z[k] for k in z.files}
        assert set(np.unique(parts).tolist()) <= set(range(8)) | {o["part_id"] for o in objs}
        assert ((parts > 0) == (depth > 0)).all()
        K, M = np.array(lab["K"]), np.array(lab["world_to_cam"])
        ref, face = rp._raycast(mesh["vertices"], mesh["faces"], K, M, S, S)
        ref_parts = np.where(face >= 0, mesh["face_part"][np.maximum(face, 0)], 0)
        assert ((ref > 0) == (depth > 0)).mean() >= 0.995
        assert (ref_parts == parts).mean() >= 0.99
        inner = cv2.erode((depth > 0).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & (ref > 0)
        assert np.median(np.abs(depth[inner] - ref[inner])) <= 1e-4
        for o in objs:
            assert o["pixels"] == int((parts == o["part_id"]).sum())
            on = inner & (parts == o["part_id"])
            if on.sum() >= 5:
                seen.add(o["name"])
                assert np.median(np.abs(depth[on] - ref[on])) <= 1e-4
    assert {"sleeve", "watch"} <= seen


def test_validate_passes(dataset: Path) -> None:
    res = _invoke(["validate", str(dataset)])
    assert res.exit_code == 0, res.output


def test_zero_probabilities_equal_a_job_without_accessories(tmp_path: Path) -> None:
    base = ["--count", "1", "--seed", "5", "--resolution", "64", "--samples", "1"]
    no_props = ["--set", "props.fraction=0", "--set", "props.grasp_fraction=0"]  # the hand alone
    res = _invoke(["render", "--out", str(tmp_path / "off"), *base, *OFF, *no_props])
    assert res.exit_code == 0, res.output
    lab = _label(tmp_path / "off", 0)
    assert lab["objects"] == [] and "accessories" not in lab["attributes"]
    parts = cv2.imread(str(tmp_path / "off" / lab["files"]["parts"]), cv2.IMREAD_UNCHANGED)
    assert int(parts.max()) <= 7
    # The same sample with accessories: everything but the accessories is unchanged.
    res = _invoke(["render", "--out", str(tmp_path / "on"), *base, *ON, *no_props])
    assert res.exit_code == 0, res.output
    lab2 = _label(tmp_path / "on", 0)
    for k in ("K", "world_to_cam", "keypoints_3d_cam", "hand_model", "gesture"):
        assert lab[k] == lab2[k], k


def test_watch_hides_the_wrist_keypoint() -> None:
    """A watch built around the wrist joint itself covers the wrist keypoint seen from the back
    of the hand: the pixel shows the watch (part id 16) and the label marks the wrist hidden."""
    from synth.config import JobConfig, apply_overrides
    from synth.hand.skinning import forward
    from synth.labels.sample import build_label
    from synth.render.blender.renderer import BlenderRenderer
    from synth.render.job import hand_meshes, load_rigs
    from synth.scene import accessories as acc
    from synth.scene.camera import Camera, intrinsics, look_at
    from synth.scene.plan import plan_sample, posed_hand

    cfg = apply_overrides(JobConfig(), ["seed=3", "render.resolution=64", "render.samples=1", "hand.pose_source=free",
                                        *(f"accessories.{k}_prob=0" for k in acc.KINDS)])
    rigs = load_rigs(cfg)
    spec = plan_sample(cfg, 0, rigs)
    rig = rigs[spec.hand.side]
    pose = np.zeros((16, 3))
    hand = posed_hand(rig, dataclasses.replace(spec.hand, pose_deg=pose))
    ph = forward(rig, hand.shape, None)
    fr = acc.forearm_frame(ph.rest_vertices, rig.faces, rig.parts, ph.joints[1])
    watch = acc.build_watch(ph.rest_vertices, rig.faces, rig.parts, fr, np.random.default_rng(0), centre_above=0.0)
    ps = acc.place(watch, forward(rig, hand.shape, pose).bone_transforms, hand.root, rig.bone_names, 16)
    v, kp = hand.world()
    # Camera 25 cm out of the back of the hand (model +z), looking at the wrist.
    R = hand.root[:3, :3]
    eye = kp[0] + 0.25 * (R @ fr.up)
    cam = Camera(K=intrinsics(60.0, 64, 64), world_to_cam=look_at(eye, kp[0], up=R @ fr.axis), width=64, height=64)
    spec = dataclasses.replace(spec, hands=(hand,), camera=cam, props=(ps,))
    r = BlenderRenderer(cfg.render, hand_meshes(rigs))
    try:
        bare = r.render(dataclasses.replace(spec, props=()), v)
        lab0 = build_label(dataclasses.replace(spec, props=()), kp, v, bare.depth, bare.parts, {}, {})
        p = r.render(spec, v)
        lab = build_label(spec, kp, v, p.depth, p.parts, {}, {})
    finally:
        r.close()
    assert lab0["visibility"][0] == 1
    u, w = np.floor(np.array(lab["keypoints_2d"][0]) + 0.5).astype(int)
    assert p.parts[w, u] == 16
    assert lab["visibility"][0] == 0
