"""Declared finger contacts are reached on the mesh, sign features hold, and sampled variations
keep both (or are re-drawn)."""

from __future__ import annotations

import numpy as np
import pytest

from synth.gestures import collision, contact
from synth.gestures.build import fingers_line, rewrite_pose
from synth.gestures.library import GestureError, expand_pose, load_library, parse_gesture
from synth.gestures.sampler import PoseSampler, default_skeleton_for
from synth.hand import skinning
from synth.hand.models import load_model


@pytest.fixture(scope="module")
def lib():
    return load_library()


@pytest.fixture(scope="module")
def rig():
    return load_model("open-hand", "right")


def test_every_declared_contact_is_reached(lib, rig):
    """All 41 declared finger pairs: signed surface distance within [-2, +2] mm on the mesh."""
    d = []
    for g in lib:
        if g.contacts:
            V = skinning.forward(rig, pose=g.pose).vertices
            d += [(g.name, a, b, v) for (a, b), v in contact.measure(V, rig, g.contacts).items()]
    assert len(d) >= 41
    bad = [f"{n} {a}-{b} {1000 * v:.1f} mm" for n, a, b, v in d if not contact.reached(v)]
    assert not bad, bad
    assert np.median([abs(v) for *_, v in d]) < 0.001


def test_left_hand_reaches_the_same_contacts(lib):
    """The left rig is the mirror image: the same angles reach the same contacts."""
    left = load_model("open-hand", "left")
    for name in ("ok_sign", "asl_u", "asl_r", "chinese_7", "vulcan_salute"):
        g = lib.get(name)
        V = skinning.forward(left, pose=g.pose).vertices
        for pair, v in contact.measure(V, left, g.contacts).items():
            assert contact.reached(v), (name, pair, v)


def test_no_gesture_penetrates_itself_on_the_mesh(lib, rig):
    """Per-gesture validity over the whole library: joint limits, capsule proxy (declared contacts
    allowed their overlap) and mesh penetration depth <= 2 mm."""
    skel = default_skeleton_for("right")
    bad = []
    for g in lib:
        pairs = contact.contact_pairs(g.contacts)
        allow = collision.contact_pairs_mask(pairs) * collision.CONTACT_ALLOWANCE
        if not collision.collision_free(skel, g.pose, allowance=allow):
            bad.append(f"{g.name}: proxy {collision.colliding_pairs(skel, g.pose)}")
        pen = contact.penetration_depths(skinning.forward(rig, pose=g.pose).vertices, rig, stride=3)
        if max(pen.values()) > 0.002:
            bad.append(f"{g.name}: mesh {pen}")
    assert not bad, bad


def test_penetration_depth_detects_a_buried_finger(rig):
    """Index and middle crossed through each other (abduction toward each other, no flexion)."""
    p = np.zeros((16, 3))
    p[4, 1], p[7, 1] = -20.0, 15.0
    pen = contact.penetration_depths(skinning.forward(rig, pose=p).vertices, rig)
    assert max(pen["index"], pen["middle"]) > 0.002
    assert max(contact.penetration_depths(skinning.forward(rig).vertices, rig).values()) < 1e-3


@pytest.mark.parametrize("side", ["right", "left"])
def test_sign_features_tell_signs_apart(lib, side):
    skel = default_skeleton_for(side)

    def tips(name, a, b):
        kp = skel.forward(lib.get(name).pose)
        return np.linalg.norm(kp[contact._TIPS[a]] - kp[contact._TIPS[b]])

    assert tips("asl_u", "index", "middle") < 0.022 < 0.040 < tips("asl_v", "index", "middle")
    for g in lib:
        if g.features:
            assert contact.features_hold(skel.forward(g.pose), side, g.features), (g.name, side)
    # U is not V, A is not S, V is not R
    u = skel.forward(lib.get("asl_u").pose)
    assert not contact.features_hold(u, side, lib.get("asl_v").features)
    assert not contact.features_hold(skel.forward(lib.get("asl_s").pose), side, lib.get("asl_a").features)
    assert not contact.features_hold(skel.forward(lib.get("asl_a").pose), side, lib.get("asl_s").features)
    assert not contact.features_hold(skel.forward(lib.get("asl_v").pose), side, lib.get("asl_r").features)


def test_solver_closes_an_opened_pinch(lib, rig):
    g = lib.get("ok_sign")
    opened = g.pose.copy()
    opened[1, 0] -= 8.0  # thumb CMC extends: the circle opens
    before = contact.measure(skinning.forward(rig, pose=opened).vertices, rig, g.contacts)
    assert not all(contact.reached(v) for v in before.values())
    res = contact.solve_contacts(rig, opened, g.contacts)
    assert res.ok and all(contact.reached(v) for v in res.distances.values())
    assert np.all(res.pose >= contact.anatomy.LIMITS[..., 0]) and np.all(res.pose <= contact.anatomy.LIMITS[..., 1])


def test_refine_for_a_sampled_hand_shape(lib, rig):
    """A different hand shape (finger length, spacing) opens library contacts; a warm-started
    refinement closes them again."""
    rng = np.random.default_rng(3)
    opened = closed = 0
    for name in ("ok_sign", "asl_u", "asl_9"):
        g = lib.get(name)
        shape = rig.sample_shape(rng)
        V = skinning.forward(rig, shape=shape, pose=g.pose).vertices
        opened += sum(not contact.reached(v) for v in contact.measure(V, rig, g.contacts).values())
        res = contact.refine_contacts(rig, g.pose, g.contacts, shape=shape, max_nfev=40)
        closed += res.ok
    assert closed == 3, (opened, closed)


def test_sampled_variations_keep_their_meaning(lib, rig):
    """Variations of gestures with contacts or features, checked on the mesh: every sample's
    declared contacts are reached and its features hold; the label is never kept otherwise."""
    names = [g.name for g in lib if g.contacts or g.features]
    sampler = PoseSampler(gestures=names, mesh_rig=rig)
    batch = sampler.sample(np.random.default_rng(11), 12, mode="variation")
    skel = default_skeleton_for("right")
    for pose, name in zip(batch.poses, batch.gesture, strict=True):
        g = lib.get(str(name))
        V = skinning.forward(rig, pose=pose).vertices
        for pair, v in contact.measure(V, rig, g.contacts).items():
            assert contact.reached(v), (name, pair, v)
        assert contact.features_hold(skel.forward(pose), "right", g.features), name
    # the cheap proxy gate alone (no mesh): features always hold, contacts within the proxy slack
    fast = PoseSampler(gestures=names)
    b = fast.sample(np.random.default_rng(12), 100, mode="variation")
    assert all(fast._meaning[str(n)].holds(skel, skel.forward(p)) for p, n in zip(b.poses, b.gesture, strict=True))


def test_rewrite_pose_round_trips(lib):
    g = lib.get("asl_v")
    text = "- name: asl_v\n  category: sign\n  description: d\n  tags: [t]\n  contacts: []\n" \
           "  fingers: {index: extended}\n  spread: 5\n  wrist: [1, 2, 3]\n- name: other\n"
    out = rewrite_pose(text, "asl_v", np.round(g.pose, 1))
    assert "spread" not in out and out.endswith("- name: other\n") and "  wrist: [1, 2, 3]\n" in out
    import yaml

    entry = yaml.safe_load(out)[0]
    np.testing.assert_allclose(expand_pose(entry)[1:], np.round(g.pose, 1)[1:], atol=1e-9)
    assert fingers_line(g.pose).startswith("  fingers: {thumb: [")


def test_bad_features_raise():
    base = {"name": "x", "category": "c", "description": "d", "tags": ["t"], "contacts": []}
    with pytest.raises(GestureError, match="unknown feature"):
        parse_gesture({**base, "features": {"wiggle": []}})
    with pytest.raises(GestureError, match="features.thumb"):
        parse_gesture({**base, "features": {"thumb": "under"}})
    with pytest.raises(GestureError, match="unknown finger"):
        parse_gesture({**base, "features": {"apart": [["index", "toe"]]}})
