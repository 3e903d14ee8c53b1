"""One body behind two hands: proportions from the hand, reachable elbows, forearm rotation
within range, forearms not through each other."""

from __future__ import annotations

import numpy as np
import pytest

from synth.gestures import bimanual as B
from synth.gestures import body
from synth.hand import anatomy
from synth.hand.models import load_model


@pytest.fixture(scope="module")
def dims():
    return body.body_dims(body.hand_length(load_model("open-hand", "right")))


def test_dims_follow_the_hand():
    rig = load_model("open-hand", "right")
    L = body.hand_length(rig)
    assert 0.16 < L < 0.21
    d = body.body_dims(L)
    assert d.forearm / d.hand == pytest.approx(0.146 / 0.108)
    assert d.upper_arm / d.hand == pytest.approx(0.186 / 0.108)
    assert 1.45 < d.stature < 1.95 and 0.35 < d.shoulder_width < 0.5
    i = list(rig.shape_names).index("hand_scale")
    big = rig.shape_default.copy()
    big[i] = rig.shape_range[i, 1]
    assert body.hand_length(rig, big) > L and body.body_dims(body.hand_length(rig, big)).upper_arm > d.upper_arm
    with pytest.raises(ValueError, match="hand length"):
        body.body_dims(0.5)


def test_every_two_hand_gesture_has_a_plausible_body(dims):
    bad = []
    for g in B.load_two_hand():
        f = body.fit_body(np.eye(4), g.left_in_right, dims)
        if not f.ok:
            bad.append(f"{g.name}: {f.problems}")
        # the elbows sit on the forearm axes and the shoulders one upper arm away
        np.testing.assert_allclose(np.linalg.norm(f.wrists - f.elbows, axis=1), dims.forearm, atol=1e-9)
        np.testing.assert_allclose(np.linalg.norm(f.shoulders[0] - f.shoulders[1]), dims.shoulder_width, atol=1e-9)
        if f.ok:
            assert np.all(np.abs(np.linalg.norm(f.elbows - f.shoulders, axis=1) - dims.upper_arm) <= body.REACH_TOL)
    assert not bad, bad


def test_hands_out_of_reach_are_refused(dims):
    T = np.eye(4)
    T[:3, 3] = [1.6, 0.0, 0.0]  # the left hand 1.6 m to the side of the right
    f = body.fit_body(np.eye(4), T, dims)
    assert not f.ok and any("out of reach" in p or "forearm" in p for p in f.problems)


def test_forearms_through_each_other_are_refused(dims):
    """The left forearm crosses the right one at mid-length, at the same depth."""
    T = np.eye(4)
    T[:3, :3] = anatomy.axis_angle_to_matrix(np.array([0.0, 0.0, np.pi / 2]))  # left forearm along +x
    mid = -0.5 * dims.forearm  # the right forearm's middle (model frame: forearm along -y)
    T[:3, 3] = [-0.5 * dims.forearm, mid, 0.0]
    f = body.fit_body(np.eye(4), T, dims)
    assert f.forearm_gap < 0.01
    assert any("pass through" in p for p in f.problems)


def test_pronation_measures_forearm_rotation():
    """Thumb-up right hand with the elbow bent 90 degrees: 0; palm down: +90 (pronation)."""
    s, e, w = np.zeros(3), np.array([0.0, -0.3, 0.0]), np.array([0.0, -0.3, 0.25])  # x left, y up, z fwd
    up = np.array([0.0, 1.0, 0.0])
    assert body._pronation(s, e, w, np.array([0.0, -1.0, 0.0]), "right", up) == pytest.approx(0.0, abs=1e-9)
    # palm down: the right little-finger axis points to the person's right (-x)
    assert body._pronation(s, e, w, np.array([-1.0, 0.0, 0.0]), "right", up) == pytest.approx(90.0)
    # left hand palm down: its little-finger axis points to the person's left (+x)
    s2 = np.array([0.4, 0.0, 0.0])
    assert body._pronation(s2, e + s2, w + s2, np.array([1.0, 0.0, 0.0]), "left", up) == pytest.approx(90.0)
