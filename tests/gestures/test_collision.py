"""Collision proxy: geometry, exact kinematics, and agreement with the mesh test."""

from __future__ import annotations

import numpy as np
import pytest

from synth.gestures import collision
from synth.gestures.sampler import PoseSampler, default_skeleton_for, natural_random
from synth.gestures.skeleton import default_skeleton, skeleton_from_rig
from synth.hand import skinning
from synth.hand.models import load_model


def test_segment_distance_matches_brute_force():
    rng = np.random.default_rng(0)
    p1, q1, p2, q2 = (rng.normal(size=(200, 3)) for _ in range(4))
    q2[:20] = p2[:20]  # degenerate (point) segments
    q1[20:40] = p1[20:40] + 1e-9
    got = collision.segment_distance(p1, q1, p2, q2)
    t = np.linspace(0, 1, 401)
    a = p1[:, None] + t[None, :, None] * (q1 - p1)[:, None]
    b = p2[:, None] + t[None, :, None] * (q2 - p2)[:, None]
    brute = np.linalg.norm(a[:, :, None] - b[:, None], axis=-1).min(axis=(1, 2))
    assert np.all(got <= brute + 1e-9)
    np.testing.assert_allclose(got, brute, atol=5e-3)


@pytest.mark.parametrize("side", ["right", "left"])
def test_skeleton_matches_skinning(side):
    rig = load_model("open-hand", side)
    skel = skeleton_from_rig(rig)
    P = natural_random(np.random.default_rng(2), 50)
    want = skinning.forward(rig, pose=P).keypoints
    np.testing.assert_allclose(skel.forward(P), want, atol=1e-6)


def test_default_skeleton_is_mirrored():
    r, left = default_skeleton("right"), default_skeleton("left")
    P = natural_random(np.random.default_rng(3), 20)
    kr, kl = r.forward(P), left.forward(P)
    np.testing.assert_allclose(kl, kr * np.array([-1.0, 1.0, 1.0]), atol=1e-12)


def test_rest_is_free_and_crossed_fingers_collide():
    rig = load_model("open-hand", "right")
    skel = default_skeleton_for("right")
    rest = np.zeros((16, 3))
    assert collision.collision_free(skel, rest) and not collision.mesh_collides(rig, rest)
    crossed = rest.copy()
    crossed[4, 1], crossed[7, 1] = -20.0, 15.0  # index and middle pushed into each other
    assert not collision.collision_free(skel, crossed)
    assert collision.mesh_collides(rig, crossed)
    assert collision.colliding_pairs(skel, crossed)


def test_proxy_agrees_with_mesh():
    """On 120 unfiltered candidates (natural random + gesture variations), the proxy and the
    mesh test agree on most poses, and few proxy-accepted poses penetrate the mesh."""
    rig = load_model("open-hand", "right")
    skel = default_skeleton_for("right")
    rng = np.random.default_rng(5)
    sampler = PoseSampler(skeleton=skel)
    cand = np.concatenate([natural_random(rng, 60), sampler._draw(rng, 60, "variation").poses])
    ids = collision.mesh_test_vertices(rig, stride=4)
    mesh = np.array([collision.mesh_penetration(skinning.forward(rig, pose=p).vertices, rig.faces, rig.parts, ids)
                     >= 2 for p in cand])
    proxy = ~collision.collision_free(skel, cand)
    agree = np.mean(proxy == mesh)
    missed = np.sum(~proxy & mesh) / max(np.sum(~proxy), 1)
    assert 0.1 < mesh.mean() < 0.9  # the set holds both kinds
    assert agree >= 0.85, agree
    assert missed <= 0.12, missed
