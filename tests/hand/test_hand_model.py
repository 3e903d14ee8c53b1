"""The open hand: skinning, anatomy semantics, left/right mirror symmetry, keypoints, rig files."""

from __future__ import annotations

import numpy as np
import pytest

from synth.hand import anatomy, keypoints, skinning
from synth.hand.models import load_model
from synth.hand.rig import RigError, load_rig

S = np.diag([-1.0, 1.0, 1.0])


@pytest.fixture(scope="module")
def right():
    return load_model("open-hand", "right")


@pytest.fixture(scope="module")
def left():
    return load_model("open-hand", "left")


def random_poses(rng, n):
    return rng.uniform(anatomy.LIMITS[..., 0], anatomy.LIMITS[..., 1], size=(n, 16, 3))


def test_left_is_mirror_of_right(right, left):
    rng = np.random.default_rng(0)
    for pose in random_poses(rng, 10):
        shape = right.sample_shape(rng)
        r = skinning.forward(right, shape=shape, pose=pose)
        l = skinning.forward(left, shape=shape, pose=pose)
        np.testing.assert_allclose(l.vertices, r.vertices @ S, atol=1e-9)
        np.testing.assert_allclose(l.keypoints, r.keypoints @ S, atol=1e-9)


def test_left_hand_normals_face_out(left, right):
    trimesh = pytest.importorskip("trimesh")
    for rig in (right, left):
        m = trimesh.Trimesh(skinning.forward(rig).vertices, rig.faces, process=False)
        assert m.is_watertight, "forearm stub must be capped: no open tube at the wrist"
        assert m.is_winding_consistent
        assert m.volume > 3e-4  # m^3; positive volume <=> outward normals


def test_batched_forward_equals_loop(right):
    rng = np.random.default_rng(1)
    poses = random_poses(rng, 4)
    shapes = np.stack([right.sample_shape(rng) for _ in range(4)])
    roots = np.tile(np.eye(4), (4, 1, 1))
    roots[:, :3, 3] = rng.normal(size=(4, 3))
    b = skinning.forward(right, shape=shapes, pose=poses, root=roots)
    for i in range(4):
        one = skinning.forward(right, shape=shapes[i], pose=poses[i], root=roots[i])
        np.testing.assert_allclose(b.vertices[i], one.vertices, atol=1e-12)
        np.testing.assert_allclose(b.keypoints[i], one.keypoints, atol=1e-12)


def test_keypoints_documented_order_and_tips_on_surface(right):
    out = skinning.forward(right)
    kp = out.keypoints
    assert kp.shape == (21, 3)
    np.testing.assert_allclose(kp[0], 0.0, atol=1e-7)  # model origin is the wrist (float32 blendshapes)
    # MCPs of index..pinky go from the thumb side to the little-finger side (+x for a right hand)
    mcp_x = kp[[5, 9, 13, 17], 0]
    assert np.all(np.diff(mcp_x) > 0)
    assert kp[4, 0] < kp[5, 0]  # thumb tip on the thumb side
    # along each finger the keypoints move away from the wrist
    for f in range(5):
        chain = kp[[0, 1 + 4 * f, 2 + 4 * f, 3 + 4 * f, 4 + 4 * f]]
        d = np.linalg.norm(chain - kp[0], axis=1)
        assert np.all(np.diff(d) > 0), keypoints.KEYPOINT_NAMES[1 + 4 * f]
    # tips are surface vertices and the farthest points of their finger
    for f, k in enumerate(keypoints.TIP_KEYPOINTS):
        vid = right.tip_vertex_ids[f]
        np.testing.assert_allclose(kp[k], out.vertices[vid])
        part = 3 + f
        finger = out.vertices[right.parts == part]
        base = kp[k - 3]
        assert np.linalg.norm(kp[k] - base) >= np.linalg.norm(finger - base, axis=1).max() - 0.004
    # keypoints converters round-trip
    np.testing.assert_array_equal(keypoints.from_mano_order(keypoints.to_mano_order(kp)), kp)
    np.testing.assert_array_equal(keypoints.from_rhd_order(keypoints.to_rhd_order(kp)), kp)
    assert keypoints.to_rhd_order(kp)[1].tolist() == kp[4].tolist()  # RHD lists the thumb tip first


@pytest.mark.parametrize("side", ["right", "left"])
def test_anatomical_angle_semantics(side):
    rig = load_model("open-hand", side)
    sgn = 1.0 if side == "right" else -1.0  # +x is the little-finger side of a right hand
    rest = skinning.forward(rig).keypoints
    # flexing the index PIP 60 degrees moves the tip toward the palm (-z), nothing else moves
    p = skinning.forward(rig, pose={"index_pip": {"flex": 60}}).keypoints
    assert p[8, 2] < rest[8, 2] - 0.01
    np.testing.assert_allclose(np.delete(p, [7, 8], 0), np.delete(rest, [7, 8], 0), atol=1e-12)
    # spreading the index moves it toward the thumb side; spreading the little finger away from it
    p = skinning.forward(rig, pose={"index_mcp": {"abd": 20}}).keypoints
    assert sgn * (p[8, 0] - rest[8, 0]) < -0.01
    p = skinning.forward(rig, pose={"pinky_mcp": {"abd": 20}}).keypoints
    assert sgn * (p[20, 0] - rest[20, 0]) > 0.01
    # wrist flexion bends the hand toward the palm; the forearm stays
    out = skinning.forward(rig, pose={"wrist": {"flex": 45}})
    assert out.keypoints[12, 2] < rest[12, 2] - 0.03
    fore = rig.parts == 1
    np.testing.assert_allclose(out.vertices[fore][-10:], skinning.forward(rig).vertices[fore][-10:], atol=1e-12)
    # thumb CMC palmar abduction moves the thumb tip to the palm side
    p = skinning.forward(rig, pose={"thumb_cmc": {"abd": 40}}).keypoints
    assert p[4, 2] < rest[4, 2] - 0.01


def test_native_roundtrip_and_limits(right):
    rng = np.random.default_rng(2)
    poses = random_poses(rng, 50)
    native = skinning.to_native(right, poses)
    assert native.shape == (50, right.n_bones, 3)
    np.testing.assert_allclose(skinning.from_native(right, native), poses, atol=1e-6)
    assert anatomy.is_valid(poses).all()
    bad = poses[0].copy()
    bad[anatomy.JOINT_INDEX["index_pip"], 0] = 150.0
    assert not anatomy.is_valid(bad)
    assert anatomy.violations(bad) == ["index_pip.flex=150.0 outside [-5, 110]"]
    assert anatomy.is_valid(anatomy.clamp(bad))
    with pytest.raises(ValueError, match="unknown joint"):
        anatomy.as_pose({"index_knuckle": {"flex": 3}})


def test_shape_parameters_change_the_hand(right):
    base = skinning.forward(right).keypoints
    longer = skinning.forward(right, shape={"finger_length": 1.0}).keypoints
    assert np.linalg.norm(longer[12] - longer[9]) > np.linalg.norm(base[12] - base[9]) + 0.002
    with pytest.raises(ValueError, match="unknown shape parameter"):
        right.shape_params({"finger_girth": 1.0})


@pytest.mark.parametrize("side", ["right", "left"])
def test_forearm_stub_keeps_its_form_for_every_shape(side):
    """anny's phenotypes move the whole hand (by up to ~0.4 m); the forearm stub must move with it,
    not shear: every stub edge keeps 0.5-2x its default-shape length (wrist girth and hand scale
    change it by up to ~1.7x; the sheared stub reached 29x), and the stub stays a
    straight tube (no vertex farther than 1.6x the median from its principal axis)."""
    rig = load_model("open-hand", side)
    fore = np.flatnonzero(rig.parts == 1)
    e = rig.faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    e = e[np.isin(e, fore).all(1)]
    v0 = skinning.forward(rig, rig.shape_default).vertices
    l0 = np.linalg.norm(v0[e[:, 0]] - v0[e[:, 1]], axis=1)
    rng = np.random.default_rng(2)
    for _ in range(40):
        v = skinning.forward(rig, rig.sample_shape(rng)).vertices
        ratio = np.linalg.norm(v[e[:, 0]] - v[e[:, 1]], axis=1) / l0
        assert 0.5 <= ratio.min() and ratio.max() <= 2.0, (ratio.min(), ratio.max())
        f = v[fore]
        c = f.mean(0)
        a = np.linalg.svd(f - c, full_matrices=False)[2][0]
        r = np.linalg.norm((f - c) - np.outer((f - c) @ a, a), axis=1)
        assert r.max() <= 1.6 * np.median(r)


def test_rig_roundtrip_and_bad_files(tmp_path, right):
    p = right.save(tmp_path / "r.npz")
    again = load_rig(p)
    np.testing.assert_array_equal(again.faces, right.faces)
    np.testing.assert_allclose(skinning.forward(again).vertices, skinning.forward(right).vertices)
    with pytest.raises(RigError, match="not found"):
        load_rig(tmp_path / "missing.npz")
    (tmp_path / "corrupt.npz").write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(RigError, match="not a readable rig"):
        load_rig(tmp_path / "corrupt.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(RigError, match="not a synth rig file"):
        load_rig(tmp_path / "other.npz")
    arrays = right.to_arrays()
    arrays["skin_weights"] = arrays["skin_weights"][:-1]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(RigError, match="skin_weights must be"):
        load_rig(tmp_path / "bad.npz")
    for e in (RigError,):
        assert "\n" not in str(e("x"))


def test_models_cli(tmp_path):
    from click.testing import CliRunner

    from synth.cli import cli

    r = CliRunner().invoke(cli, ["models", "list"])
    assert r.exit_code == 0, r.output
    assert "open-hand (right, left)" in r.output
    r = CliRunner().invoke(cli, ["models", "show", "no-such-hand"])
    assert r.exit_code == 2 and "unknown hand model" in r.output
    out = tmp_path / "p.png"
    r = CliRunner().invoke(cli, ["models", "show", "open-hand", "--side", "left", "--out", str(out), "--size", "96"])
    assert r.exit_code == 0, r.output
    import cv2

    img = cv2.imread(str(out))
    assert img.shape == (96, 288, 3)
    assert (img < 250).any(axis=2).mean() > 0.05  # the hand is drawn
