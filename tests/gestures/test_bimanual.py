"""Two-hand gestures: every one loads, its contacts are reached and the hands do not
interpenetrate (measured on both meshes), contacts are labelled, signs are cited."""

from __future__ import annotations

import numpy as np
import pytest

from synth.gestures import bimanual as B
from synth.gestures.library import GestureError, load_library
from synth.hand import anatomy
from synth.hand.models import load_model


@pytest.fixture(scope="module")
def two():
    return B.load_two_hand()


@pytest.fixture(scope="module")
def rigs():
    return load_model("open-hand", "right"), load_model("open-hand", "left")


def test_library_loads_with_unique_names(two):
    lib = load_library()
    names = [g.name for g in two]
    assert len(names) == len(set(names)) and not set(names) & set(lib.names)
    assert len(two) >= 60
    cats = [g.category for g in two]
    assert cats.count("sign") >= 20 and cats.count("fingerspelling") >= 9 and cats.count("manipulation") >= 9
    for g in two:
        assert g.category in B.CATEGORIES and g.description
        for p in (g.right_pose, g.left_pose):
            assert not anatomy.violations(p), g.name
        R = g.left_in_right[:3, :3]
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-9)
        assert np.linalg.det(R) > 0.999
        if g.category in ("sign", "fingerspelling"):
            assert g.references and all(r["url"].startswith("https://") for r in g.references), g.name


def test_every_two_hand_gesture_is_valid_on_the_meshes(two, rigs):
    """Per-gesture validity: contacts reached (|d| <= 2 mm), inter-hand penetration <= 2 mm,
    interacting gestures touch (labelled vertices on both hands), each hand free of
    self-penetration."""
    from synth.gestures import contact
    from synth.hand import skinning

    rr, rl = rigs
    bad = []
    for g in two:
        vr, vl = B.posed_pair(g, rr, rl)
        m = B.measure(g, vr, vl, rr, rl)
        if not m.ok:
            bad.append(f"{g.name}: {m.contacts} pen {1000 * m.penetration:.1f} mm")
        if g.contacts and (not len(m.touching_right) or not len(m.touching_left)):
            bad.append(f"{g.name}: no touching vertices")
        for rig, pose in ((rr, g.right_pose), (rl, g.left_pose)):
            pen = contact.penetration_depths(skinning.forward(rig, pose=pose).vertices, rig, stride=3)
            if max(pen.values()) > 0.002:
                bad.append(f"{g.name}: self-penetration {pen}")
    assert not bad, bad


def test_measure_sees_interpenetration(two, rigs):
    """Pushing the left hand 2 cm into the right breaks the bounds; the touching labels are the
    vertices within 3 mm of the other hand's surface."""
    rr, rl = rigs
    g = next(g for g in two if g.name == "stacked_hands")
    T = g.left_in_right.copy()
    T[2, 3] -= 0.02
    vr, vl = B.posed_pair(g, rr, rl, left_in_right=T)
    m = B.measure(g, vr, vl, rr, rl)
    assert m.penetration > 0.01 and not m.ok
    vr, vl = B.posed_pair(g, rr, rl)
    m = B.measure(g, vr, vl, rr, rl)
    from synth.gestures.contact import _closest_dist

    d = _closest_dist(vl[m.touching_left], vr[np.asarray(rr.faces)])
    assert np.mean(d <= B.TOUCH_DIST + 1e-9) > 0.5 and np.all(d <= 0.015)  # within 3 mm, or their triangle's corners


def test_mirror_placement_is_a_reflection():
    T = B.mirror_matrix(np.array([1.0, 0.0, 0.0]), np.array([0.05, 0.0, 0.0]))
    # a point of the left model at x maps to the mirror image of the right model's point at -x
    p = np.array([0.02, 0.1, 0.01])
    right_point = p * np.array([-1.0, 1.0, 1.0])
    q = T[:3, :3] @ p + T[:3, 3]
    np.testing.assert_allclose(q, [0.1 - right_point[0], 0.1, 0.01], atol=1e-12)


def test_bad_entries_raise():
    lib = load_library()
    base = {"name": "x", "category": "interacting", "description": "d", "right": {"gesture": "fist"},
            "left": {"gesture": "fist"}, "placement": {"translate_cm": [0, 0, 5]}}
    B.parse_two_hand(base, lib)
    with pytest.raises(GestureError, match="needs at least one reference"):
        B.parse_two_hand({**base, "category": "sign"}, lib)
    with pytest.raises(GestureError, match="unknown region"):
        B.parse_two_hand({**base, "contacts": [["palm", "plam"]]}, lib)
    with pytest.raises(GestureError, match="unknown gesture"):
        B.parse_two_hand({**base, "right": {"gesture": "fsit"}}, lib)
    with pytest.raises(GestureError, match="category"):
        B.parse_two_hand({**base, "category": "dance"}, lib)
