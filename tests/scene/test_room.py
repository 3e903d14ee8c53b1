"""Room backdrops (synth.scene.room): behind everything labelled, background in the label passes."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")

ROOM_ONLY = {"bg_room": 1.0, "bg_environment": 0.0, "bg_solid": 0.0, "bg_gradient": 0.0, "bg_noise": 0.0,
             "bg_bokeh": 0.0}


@pytest.fixture(scope="module")
def rigs():
    from synth.hand.models import load_model

    return {s: load_model("open-hand", s) for s in ("right", "left")}


def test_rooms_lie_behind_everything_labelled(rigs):
    from synth.config import JobConfig
    from synth.labels.attributes import appearance_attributes, caption_words
    from synth.render.job import job_pose_sampler
    from synth.scene import room as rm
    from synth.scene.plan import plan_sample

    cfg = JobConfig.from_dict({"seed": 4, "render": {"resolution": 128}, "hand": {"side": "both"},
                               "lighting": {**ROOM_ONLY, "table_prob": 0.5}})
    sampler = job_pose_sampler(cfg)
    items: set[str] = set()
    for i in range(40):
        spec = plan_sample(cfg, i, rigs, sampler)
        room = spec.room
        assert room.corners.shape == (rm.N_BOXES, 8, 3) and np.isfinite(room.corners).all()
        v, _ = spec.hand.world()
        pts = np.concatenate([v] + [p.vertices for p in spec.props])  # hand, objects, accessories, table
        assert rm.room_depth_margin(room, spec.camera.world_to_cam, pts) >= rm.CLEARANCE_M - 1e-9
        # the room is not a labelled object
        assert all(p.category != "room" for p in spec.props)
        words = caption_words(spec)
        assert words["background"] == room.words
        if spec.lighting.sample.env.kind == "hdri":  # indoors: no "in a forest" from the HDRI's name
            assert words["lighting"] == "in natural light"
        assert appearance_attributes(spec)["room"]["items"] == list(room.items)
        items.update(room.items)
    assert {"desk", "shelf", "window"} <= items


def test_room_kind_is_the_most_common_non_environment_background():
    from synth.config import JobConfig

    w = JobConfig().lighting.background_weights
    assert max((k for k in w if k != "environment"), key=w.get) == "room"


def test_sample_room_is_deterministic_and_respects_the_clearance():
    from synth.rng import stream
    from synth.scene import room as rm
    from synth.scene.camera import intrinsics, look_at

    pts = np.random.default_rng(0).normal(scale=0.05, size=(200, 3))
    for k, eye in enumerate([(0.0, -0.5, 0.1), (0.0, -0.2, 0.6), (0.3, 0.3, -0.2), (0.0, 0.001, 0.5)]):
        M = look_at(np.array(eye), np.zeros(3))
        K = intrinsics(120.0, 128, 128)
        a = rm.sample_room(stream(1, k, "room"), M, K, (128, 128), pts)
        b = rm.sample_room(stream(1, k, "room"), M, K, (128, 128), pts)
        np.testing.assert_array_equal(a.corners, b.corners)
        assert rm.room_depth_margin(a, M, pts) >= rm.CLEARANCE_M - 1e-9


@pytest.mark.blender
def test_rendered_room_is_background_and_labels_stay_exact(tmp_path: Path):
    """Cycles at 64 px, 2 spp, every sample in a room: part mask and depth agree with a ray cast
    of the saved mesh (which holds no room), and visibility recomputed from the hand's depth
    equals the label."""
    import cv2
    from click.testing import CliRunner

    from synth.cli import cli
    from synth.dataset.imageio import read_image
    from synth.labels.visibility import visibility

    mod = importlib.util.spec_from_file_location(
        "_synth_raycast", Path(__file__).parents[1] / "props" / "test_render_props.py")
    rp = importlib.util.module_from_spec(mod)
    mod.loader.exec_module(rp)
    S = 64
    out = tmp_path / "ds"
    args = ["render", "--out", str(out), "--count", "4", "--seed", "3", "--resolution", str(S), "--samples", "2",
            "--save-mesh", "--set", "lighting.table_prob=0.5"]
    for k, v in ROOM_ONLY.items():
        args += ["--set", f"lighting.{k}={v}"]
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    for i in range(4):
        lab = json.loads((out / "labels" / f"{i:08d}.json").read_text())
        assert "room" in lab["attributes"] and "indoor room" in lab["caption"]
        parts = cv2.imread(str(out / lab["files"]["parts"]), cv2.IMREAD_UNCHANGED)
        depth = read_image(out / lab["files"]["depth"])
        with np.load(out / lab["files"]["mesh"]) as z:
            V, F, fp = z["vertices"], z["faces"], z["face_part"]
        K, M = np.array(lab["K"]), np.array(lab["world_to_cam"])
        ref, face = rp._raycast(V, F, K, M, S, S)
        ref_parts = np.where(face >= 0, fp[np.maximum(face, 0)], 0)
        assert (ref_parts == parts).mean() >= 0.99
        assert (depth[parts == 0] == 0).all()  # the room's pixels are background: no depth
        on = cv2.erode((parts > 0).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        assert np.median(np.abs(depth[on] - ref[on])) <= 1e-4
        kc = np.array(lab["keypoints_3d_cam"])
        hand = (parts > 0) & (parts <= 7)
        vis = visibility(np.array(lab["keypoints_2d"]), kc[:, 2], np.array(lab["keypoint_surface_radius"]),
                         np.where(hand, depth, 0.0))
        assert vis.astype(int).tolist() == lab["visibility"]
