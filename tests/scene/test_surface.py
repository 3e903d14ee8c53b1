"""Table slabs under the hand (synth.scene.surface): placement, labels, rendering."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")


@pytest.fixture(scope="module")
def rigs():
    from synth.hand.models import load_model

    return {s: load_model("open-hand", s) for s in ("right", "left")}


def _cfg(**lighting):
    from synth.config import JobConfig

    return JobConfig.from_dict({"seed": 7, "render": {"resolution": 128}, "hand": {"side": "both"},
                                "props": {"fraction": 0.3}, "lighting": lighting})


def test_tables_lie_under_everything_and_below_the_camera(rigs):
    from synth.labels.attributes import caption_words
    from synth.render.job import job_pose_sampler
    from synth.scene import surface as sf
    from synth.scene.plan import plan_sample

    cfg = _cfg(table_prob=1.0)
    sampler = job_pose_sampler(cfg)
    n_table = n_rest = 0
    for i in range(120):
        spec = plan_sample(cfg, i, rigs, sampler)
        surf = spec.surface.surface if spec.surface is not None else None
        assert spec.lighting.sample.background.table == (surf is not None)
        if surf is None:
            continue
        n_table += 1
        table = spec.props[-1]
        assert table.category == "surface" and table.part_id == 16 + len(spec.props) - 1
        assert [p.category for p in spec.props].count("surface") == 1
        v, _ = spec.hand.world()
        others = np.concatenate([v] + [p.vertices for p in spec.props[:-1]])
        low = float(others[:, 2].min())
        # Nothing penetrates the top; the top is the slab's highest point; the camera is above it.
        assert low >= surf.top_z and np.isclose(table.vertices[:, 2].max(), surf.top_z)
        assert spec.camera.position[2] >= surf.top_z + sf.CAMERA_CLEARANCE_M
        # Every point's footprint lies on the slab (inside its rotated rectangle).
        T = table.object_to_world
        local = (others - T[:3, 3]) @ T[:3, :3]
        assert (np.abs(local[:, :2]) <= np.array(surf.size_m) / 2 - sf.EDGE_MARGIN_M + 1e-9).all()
        if surf.resting:
            n_rest += 1
            assert low - surf.top_z <= sf.CONTACT_CLEARANCE_M + 1e-9
            for c in table.contacts:  # the listed hand vertices really are on the top
                assert (v[c["vertex_ids"], 2] - surf.top_z <= sf.CONTACT_TOLERANCE_M + 1e-12).all()
        else:
            assert 0.01 <= surf.gap_m - sf.CONTACT_CLEARANCE_M <= 0.3 + 1e-9
        for li in spec.lighting.sample.lights:  # no light is left under the top
            assert li.position[2] >= surf.top_z + 0.1
        words = caption_words(spec)
        assert words["surface"].endswith(surf.noun)
        assert "table" not in (words.get("held_object") or "")
    assert n_table >= 40 and 0.4 <= n_rest / n_table <= 0.8


def test_table_draws_do_not_change_the_rest_of_the_sample(rigs):
    from synth.render.job import job_pose_sampler
    from synth.scene.plan import plan_sample

    a_cfg, b_cfg = _cfg(table_prob=0.0), _cfg(table_prob=1.0)
    sampler = job_pose_sampler(a_cfg)
    for i in range(20):
        a, b = plan_sample(a_cfg, i, rigs, sampler), plan_sample(b_cfg, i, rigs, sampler)
        assert a.surface is None
        np.testing.assert_array_equal(a.hand.pose_deg, b.hand.pose_deg)
        np.testing.assert_array_equal(a.camera.world_to_cam, b.camera.world_to_cam)
        assert [p.name for p in a.props] == [p.name for p in b.props if p.category != "surface"]
        assert a.post == b.post
        assert a.lighting.sample.env == b.lighting.sample.env


def test_table_rate_config_and_errors():
    from synth.config import ConfigError, JobConfig

    with pytest.raises(ConfigError, match="lighting.table_prob"):
        JobConfig.from_dict({"lighting": {"table_prob": 1.5}})
    from synth.scene.surface import sample_surface

    pts = np.array([[0.0, 0.0, 0.0], [0.1, 0.0, 0.05]])
    # Camera below the top: no table, but the stream is consumed the same.
    r1, r2 = np.random.default_rng(1), np.random.default_rng(1)
    assert sample_surface(r1, pts, np.array([0.0, 0.0, -1.0]), rest_prob=1.0) is None
    s = sample_surface(r2, pts, np.array([0.0, 0.0, 1.0]), rest_prob=1.0)
    assert s is not None and s.resting and s.top_z == pytest.approx(-2e-4)


@pytest.mark.blender
def test_rendered_table_matches_a_ray_cast_and_never_hides_keypoints(tmp_path: Path):
    """Cycles at 64 px, 2 spp: the table is in the part mask with its id, its depth matches an
    independent ray cast of the saved mesh, and visibility is unchanged by it."""
    import cv2
    from click.testing import CliRunner

    from synth.cli import cli
    from synth.dataset.imageio import read_image

    mod = importlib.util.spec_from_file_location(
        "_synth_raycast", Path(__file__).parents[1] / "props" / "test_render_props.py")
    rp = importlib.util.module_from_spec(mod)
    mod.loader.exec_module(rp)
    S = 64
    out = tmp_path / "ds"
    args = ["render", "--out", str(out), "--count", "6", "--seed", "3", "--resolution", str(S), "--samples", "2",
            "--save-mesh", "--set", "lighting.table_prob=1", "--set", "post.dof_prob=1"]
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    seen = 0
    for i in range(6):
        lab = json.loads((out / "labels" / f"{i:08d}.json").read_text())
        tables = [o for o in lab["objects"] if o["category"] == "surface"]
        if not tables:
            continue
        t = tables[0]
        parts = cv2.imread(str(out / lab["files"]["parts"]), cv2.IMREAD_UNCHANGED)
        depth = read_image(out / lab["files"]["depth"])
        assert t["pixels"] == int((parts == t["part_id"]).sum())
        assert lab["attributes"]["surface"]["part_id"] == t["part_id"]
        with np.load(out / lab["files"]["mesh"]) as z:
            V, F, fp = z["vertices"], z["faces"], z["face_part"]
        assert (fp == t["part_id"]).sum() == 12  # the slab's 12 triangles are in the saved mesh
        K, M = np.array(lab["K"]), np.array(lab["world_to_cam"])
        ref, face = rp._raycast(V, F, K, M, S, S)
        ref_parts = np.where(face >= 0, fp[np.maximum(face, 0)], 0)
        assert (ref_parts == parts).mean() >= 0.99
        on = cv2.erode((parts == t["part_id"]).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        if on.sum() >= 20:
            seen += 1
            assert np.median(np.abs(depth[on] - ref[on])) <= 1e-4
        # Visibility with and without the table's pixels: the table never hides a keypoint.
        from synth.labels.visibility import visibility

        kc = np.array(lab["keypoints_3d_cam"])
        hand = (parts > 0) & (parts <= 7)
        vis = visibility(np.array(lab["keypoints_2d"]), kc[:, 2], np.array(lab["keypoint_surface_radius"]),
                         np.where(hand, depth, 0.0))
        assert vis.astype(int).tolist() == lab["visibility"]
        assert "dof_f_number" in lab["attributes"]["post"]
    assert seen >= 1


def test_surface_spec_is_a_closed_outward_box():
    import trimesh

    from synth.scene.surface import Surface, slab_mesh

    s = Surface("wood", "oak", 0.1, 0.0, True, (1.5, 0.9), 30.0, (0.2, -0.1), (0.5, 0.3, 0.1), (0.3, 0.2, 0.1),
                0.5, "wave", 12.0)
    V, F, T = slab_mesh(s)
    m = trimesh.Trimesh(V, F, process=False)
    assert m.is_watertight and m.volume == pytest.approx(1.5 * 0.9 * 0.03)
    assert np.isclose(V[:, 2].max(), 0.1) and np.allclose(T[:3, 3], (0.2, -0.1, 0.1))
    assert dataclasses.asdict(s)["kind"] == "wood"
