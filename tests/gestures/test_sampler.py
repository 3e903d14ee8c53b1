"""Pose sampler: determinism, validity, coupling, modes, distinctness."""

from __future__ import annotations

import numpy as np
import pytest

from synth.gestures import collision
from synth.gestures.library import load_library
from synth.gestures.sampler import MODES, PoseSampler, SamplerConfig, default_skeleton_for, natural_random
from synth.hand import anatomy


@pytest.fixture(scope="module")
def sampler():
    return PoseSampler()


def test_deterministic_from_generator(sampler):
    a = sampler.sample(np.random.default_rng(7), 300)
    b = sampler.sample(np.random.default_rng(7), 300)
    c = sampler.sample(np.random.default_rng(8), 300)
    np.testing.assert_array_equal(a.poses, b.poses)
    assert list(a.gesture) == list(b.gesture) and list(a.mode) == list(b.mode)
    assert not np.allclose(a.poses, c.poses)


def test_samples_valid_and_collision_free(sampler):
    batch = sampler.sample(np.random.default_rng(1), 2000)
    assert batch.poses.shape == (2000, 16, 3)
    assert np.all(anatomy.is_valid(batch.poses))
    skel = default_skeleton_for("right")
    # declared contacts of a sample's gesture may overlap their capsules (touching pads)
    from synth.gestures.contact import contact_pairs

    lib0 = load_library()
    allow = np.stack([collision.contact_pairs_mask(contact_pairs(lib0.get(str(g)).contacts if str(g) in lib0 else ()))
                      for g in batch.gesture]) * collision.CONTACT_ALLOWANCE
    assert collision.penetration_depth(skel, skel.forward(batch.poses), allow).max() <= collision.DEFAULT_TOLERANCE
    assert set(batch.mode) == set(MODES)
    assert batch.attempts >= len(batch)
    lib = load_library()
    for g, m, o in zip(batch.gesture[:200], batch.mode[:200], batch.blend_with[:200], strict=True):
        if m == "random":
            assert g == "natural_random"
        else:
            assert g in lib
        assert (o != "") == (m == "blend")


def test_rejected_samples_are_redrawn_not_dropped():
    """A strict tolerance rejects many candidates; the sampler still returns every slot."""
    strict = PoseSampler(config=SamplerConfig(tolerance=0.0005, max_rounds=200))
    batch = strict.sample(np.random.default_rng(3), 400)
    assert len(batch) == 400 and batch.attempts > 400
    assert np.all(strict.valid(batch.poses, batch.gesture, batch.mode))


def test_dip_follows_pip_in_variations():
    """Coupling: across variations of one gesture, DIP changes track PIP changes (slope ~2/3)."""
    s = PoseSampler(gestures=["relaxed"], config=SamplerConfig(p_variation=1, p_blend=0, p_random=0))
    batch = s.sample(np.random.default_rng(0), 1500)
    base = load_library().get("relaxed").pose
    d = batch.poses - base
    for f in ("index", "middle", "ring", "pinky"):
        _, pip, dip = anatomy.joints_of(f)
        slope = np.polyfit(d[:, pip, 0], d[:, dip, 0], 1)[0]
        assert 0.45 < slope < 0.85, (f, slope)
        r = np.corrcoef(d[:, pip, 0], d[:, dip, 0])[0, 1]
        assert r > 0.8


def test_blend_lies_between_gestures():
    s = PoseSampler(gestures=["fist", "open_palm"],
                    config=SamplerConfig(p_variation=0, p_blend=1, p_random=0, blend_sigma_scale=0.0,
                                         wrist_sigma=(0.0, 0.0, 0.0)))
    batch = s.sample(np.random.default_rng(0), 200)
    lib = load_library()
    for p, g, o, t in zip(batch.poses, batch.gesture, batch.blend_with, batch.blend_t, strict=True):
        expect = anatomy.clamp((1 - t) * lib.get(g).pose + t * lib.get(o).pose)
        np.testing.assert_allclose(p, expect, atol=1e-9)


def test_natural_random_covers_range():
    P = natural_random(np.random.default_rng(0), 5000)
    assert np.all(anatomy.is_valid(P))
    pip = P[:, 5, 0]
    assert pip.min() < 10 and pip.max() > 90  # from open to curled
    assert np.std(P[:, 1, 1]) > 10  # thumb abduction spread over its range


def test_distinct_poses(sampler):
    batch = sampler.sample_distinct(np.random.default_rng(0), 3000, min_distance=5.0)
    from scipy.spatial import cKDTree

    d, _ = cKDTree(batch.poses.reshape(3000, -1)).query(batch.poses.reshape(3000, -1), k=2)
    assert d[:, 1].min() >= 5.0
    assert np.all(sampler.valid(batch.poses, batch.gesture, batch.mode))


def test_gesture_subset_and_unknown_name():
    s = PoseSampler(gestures=["peace", "fist"], config=SamplerConfig(p_random=0))
    b = s.sample(np.random.default_rng(0), 100)
    assert set(b.gesture) <= {"peace", "fist"}
    with pytest.raises(ValueError, match="did you mean"):
        PoseSampler(gestures=["peaces"])


def test_gesture_weights():
    """Weighted draws follow w / sum(w) among the gesture candidates (before the collision test:
    ``_draw``), equal weights keep the uniform draw's random numbers, zero weight never draws."""
    names = ["peace", "fist", "ok_sign"]
    cfg = SamplerConfig(p_random=0)
    plain = PoseSampler(gestures=names, config=cfg)
    equal = PoseSampler(gestures=names, config=cfg, weights={"fist": 3.0, "peace": 3.0, "ok_sign": 3.0})
    a = plain._draw(np.random.default_rng(1), 50, None)
    b = equal._draw(np.random.default_rng(1), 50, None)
    assert np.array_equal(a.poses, b.poses) and list(a.gesture) == list(b.gesture)
    w = PoseSampler(gestures=names, config=cfg, weights={"peace": 0.2, "ok_sign": 0.0})
    n = 6000
    g = list(w._draw(np.random.default_rng(2), n, None).gesture)
    assert g.count("ok_sign") == 0
    p = 0.2 / 1.2
    assert abs(g.count("peace") / n - p) <= 4 * np.sqrt(p * (1 - p) / n)
    with pytest.raises(ValueError, match="not all zero"):
        PoseSampler(gestures=["peace"], weights={"peace": 0.0})


def test_exact_mesh_mode():
    """With mesh_rig set, every returned pose also passes the mesh test."""
    from synth.hand.models import load_model

    rig = load_model("open-hand", "right")
    s = PoseSampler(mesh_rig=rig)
    batch = s.sample(np.random.default_rng(9), 12)
    from synth.gestures import contact
    from synth.hand import skinning

    lib = load_library()
    for p, g in zip(batch.poses, batch.gesture, strict=True):
        if str(g) in lib and lib.get(str(g)).contacts:  # touching pads: penetration depth, contacts reached
            V = skinning.forward(rig, pose=p).vertices
            assert max(contact.penetration_depths(V, rig).values()) <= 0.002
            assert all(contact.reached(v) for v in contact.measure(V, rig, lib.get(str(g)).contacts).values())
        else:
            assert not collision.mesh_collides(rig, p, stride=3)
