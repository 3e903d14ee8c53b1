"""Worn accessories: closed meshes, fitted without penetrating the hand, rigid with their bone."""

from __future__ import annotations

import numpy as np
import pytest

trimesh = pytest.importorskip("trimesh")

from synth.config import JobConfig  # noqa: E402
from synth.hand.models import load_model  # noqa: E402
from synth.hand.skinning import forward  # noqa: E402
from synth.scene.accessories import FINGERS, place, sample_accessories  # noqa: E402
from synth.scene.plan import free_pose, plan_sample  # noqa: E402

ALL = {"sleeve": 1.0, "watch": 0.5, "bracelet": 1.0, "ring": 1.0}


@pytest.fixture(scope="module")
def rig():
    return load_model("open-hand", "right")


def _penetration(hand, ps) -> tuple[float, float]:
    """(accessory vertices inside the hand, hand vertices inside the accessory): deepest, metres."""
    inside = hand.contains(ps.vertices)
    d1 = trimesh.proximity.closest_point(hand, ps.vertices[inside])[1].max() if inside.any() else 0.0
    am = trimesh.Trimesh(ps.vertices, ps.faces, process=False)
    hin = am.contains(hand.vertices)
    d2 = trimesh.proximity.closest_point(am, hand.vertices[hin])[1].max() if hin.any() else 0.0
    return float(d1), float(d2)


def test_closed_meshes_no_penetration(rig):
    worst: dict[str, float] = {}
    kinds = set()
    for i in range(16):
        rng = np.random.default_rng(100 + i)
        shape = rig.sample_shape(rng)
        pose = free_pose(rng, 0.6)
        accs = sample_accessories(rng, rig, shape, ALL, pose)
        ph = forward(rig, shape, pose)
        hand = trimesh.Trimesh(ph.vertices, rig.faces, process=False)
        for a in accs:
            kinds.add(a.kind)
            ps = place(a, ph.bone_transforms, np.eye(4), rig.bone_names, 17)
            am = trimesh.Trimesh(ps.vertices, ps.faces, process=False)
            assert am.is_watertight and am.is_winding_consistent and am.volume > 0, a.kind
            if a.kind == "ring":  # only the ring's own finger: adjacent fingers may press against it
                part = FINGERS[a.params["finger"]][0]
                own = trimesh.Trimesh(ph.vertices, rig.faces, process=False)
                hin = am.contains(own.vertices[rig.parts == part])
                d = trimesh.proximity.closest_point(am, own.vertices[rig.parts == part][hin])[1].max() if hin.any() else 0.0
                worst["ring"] = max(worst.get("ring", 0.0), float(d))
            else:
                worst[a.kind] = max(worst.get(a.kind, 0.0), *_penetration(hand, ps))
    assert kinds >= {"sleeve", "bracelet", "ring", "watch"}
    for k, d in worst.items():
        assert d <= 0.001, (k, d)


def test_attachment_follows_bone(rig):
    pose0 = np.zeros((16, 3))
    pose0[[4, 7, 10, 13], 1] = [20.0, 5.0, 10.0, 20.0]  # fingers spread: room for a ring
    for seed in range(10):
        rng = np.random.default_rng(seed)
        shape = rig.sample_shape(rng)
        accs = sample_accessories(rng, rig, shape, {"ring": 1.0}, pose0)
        if accs:
            break
    assert accs, "no ring fitted in 10 shapes of a spread hand"
    ring = accs[0]
    pose1 = pose0.copy()
    pose1[4 + 3 * list(FINGERS).index(ring.params["finger"]), 0] = 60.0  # flex that finger's MCP
    for pose in (pose0, pose1):
        ph = forward(rig, shape, pose)
        ps = place(ring, ph.bone_transforms, np.eye(4), rig.bone_names, 16)
        b = list(rig.bone_names).index(ring.bone)
        # The ring's centre stays between the posed MCP and PIP joints.
        p0, p1 = ph.joints[b], ph.joints[b + 1]
        c = ps.vertices.mean(0)
        t = (c - p0) @ (p1 - p0) / np.sum((p1 - p0) ** 2)
        off = np.linalg.norm(c - (p0 + t * (p1 - p0)))
        assert 0.5 < t < 0.75 and off < 0.004, (t, off)


def test_plan_determinism_and_zero_probs():
    from synth.render.job import load_rigs

    # no default held objects either: this test is about worn accessories only
    base = {"count": 4, "render": {"resolution": 64}, "lighting": {"table_prob": 0.0}, "props": {"grasp_fraction": 0.0, "fraction": 0.0}}
    cfg0 = JobConfig.from_dict({**base, "accessories": {"sleeve_prob": 0, "watch_prob": 0, "bracelet_prob": 0,
                                                          "ring_prob": 0}})
    cfg1 = JobConfig.from_dict({**base, "accessories": {"sleeve_prob": 1, "watch_prob": 1, "ring_prob": 1}})
    rigs = load_rigs(cfg0)
    for i in range(3):
        a, b, b2 = plan_sample(cfg0, i, rigs), plan_sample(cfg1, i, rigs), plan_sample(cfg1, i, rigs)
        assert not a.props
        names = [p.name for p in b.props]
        assert names[:2] == ["sleeve", "watch"] and names[2:] in ([], ["ring"])
        assert [p.part_id for p in b.props] == list(range(16, 16 + len(names)))
        assert all(p.category == "accessory" for p in b.props)
        for p, q in zip(b.props, b2.props, strict=True):
            np.testing.assert_array_equal(p.vertices, q.vertices)
        # The main draw order is untouched: same hand, camera and skin.
        np.testing.assert_array_equal(a.hand.root, b.hand.root)
        np.testing.assert_array_equal(a.camera.world_to_cam, b.camera.world_to_cam)
        assert a.material == b.material
