"""Default held objects (:mod:`synth.props.holding`): grasp gestures hold an object that fits
them, falling back to another grasp or prop; the default share of samples holding one is at least
0.3; captions name an object exactly when one is held. Planning only (no render).

``SYNTH_HOLDING_N`` sets the number of planned default samples (default 200; the property run
recorded in benchmarks/README.md used 3000)."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from synth.config import JobConfig
from synth.hand import anatomy
from synth.hand.models import load_model
from synth.labels.attributes import held_object_words
from synth.labels.captions import describe
from synth.props.holding import HOLDING_GESTURES, first_pairs, holds_object
from synth.props.library import PROP_NAMES, affordances
from synth.render.job import job_pose_sampler
from synth.scene.plan import plan_sample, prop_pairs
from synth.scene.spec import OBJECT_PART_BASE

N = int(os.environ.get("SYNTH_HOLDING_N", "200"))


@pytest.fixture(scope="module")
def planned() -> list[tuple[object, object]]:
    """``(default spec, spec of the same id with held objects off)`` for ids ``0 .. N-1``."""
    cfg = JobConfig(seed=11)
    off = dataclasses.replace(cfg, props=dataclasses.replace(cfg.props, fraction=0.0, grasp_fraction=0.0))
    rigs = {s: load_model(cfg.hand.model, s) for s in ("right", "left")}
    sampler = job_pose_sampler(cfg)
    return [(plan_sample(cfg, i, rigs, sampler), plan_sample(off, i, rigs, sampler)) for i in range(N)]


def _held(spec) -> list:  # noqa: ANN001
    return [p for p in spec.props if p.category not in ("accessory", "surface")]


@pytest.mark.slow
def test_default_share_of_held_objects(planned) -> None:  # noqa: ANN001
    share = np.mean([bool(_held(s)) for s, _ in planned])
    assert share >= 0.3, share
    holding = [(s, b) for s, b in planned if holds_object(b.hand.gesture, b.hand.gesture_category)]
    assert holding
    assert np.mean([bool(_held(s)) for s, _ in holding]) >= 0.97  # grasp_fraction 1: only fit failures miss


@pytest.mark.slow
def test_every_planned_sample_is_consistent(planned) -> None:  # noqa: ANN001
    rng = np.random.default_rng(0)
    for spec, base in planned:
        held = _held(spec)
        assert len(held) <= 1
        assert np.all(spec.hand.pose_deg >= anatomy.LIMITS[..., 0] - 1e-6)
        assert np.all(spec.hand.pose_deg <= anatomy.LIMITS[..., 1] + 1e-6)
        words = held_object_words(spec)
        caption, attrs = describe(spec.hand.pose_deg, spec.hand.side, spec.hand.gesture,
                                  extra={"held_object": words} if words else None, rng=rng)
        if not held:  # nothing fitted: the drawn sample unchanged, no object named
            assert words is None and "hand holding" not in caption
            assert spec.hand.gesture == base.hand.gesture
            np.testing.assert_array_equal(spec.hand.pose_deg, base.hand.pose_deg)
            continue
        p = held[0]
        assert p.part_id == OBJECT_PART_BASE and p.name in PROP_NAMES
        assert p.grasp in affordances(p.name)
        # the rendered pose is the fitted grasp, and the caption names that grasp and the object
        assert spec.hand.gesture == p.grasp and spec.hand.gesture_category == "grasp"
        assert words and p.name in words and f"holding {words}" in caption
        assert p.fit["max_penetration_m"] <= 0.002 + 1e-9
        assert p.fit["stage"] in ("drawn", "fallback")
        g, cat = base.hand.gesture, base.hand.gesture_category
        if p.fit["stage"] == "drawn" and cat == "grasp":
            assert p.grasp == g  # the drawn grasp holds an object that affords it
        if p.fit["stage"] == "drawn" and g in HOLDING_GESTURES and cat != "grasp":
            assert p.name in HOLDING_GESTURES[g]  # holding_bottle holds a bottle
        # held objects leave the rest of the sample's draws alone: same side and shape
        assert spec.hand.side == base.hand.side
        np.testing.assert_array_equal(spec.hand.shape, base.hand.shape)


@pytest.mark.slow
def test_grasps_mostly_hold_what_fits_the_drawn_grasp(planned) -> None:  # noqa: ANN001
    stages = [_held(s)[0].fit["stage"] for s, b in planned if _held(s) and b.hand.gesture_category == "grasp"]
    assert stages and stages.count("drawn") / len(stages) >= 0.7, stages


def test_planning_is_deterministic() -> None:
    cfg = JobConfig(seed=3)
    rigs = {s: load_model(cfg.hand.model, s) for s in ("right", "left")}
    sampler = job_pose_sampler(cfg)
    for i in range(6):
        a, b = plan_sample(cfg, i, rigs, sampler), plan_sample(cfg, i, rigs, sampler)
        assert [p.name for p in a.props] == [p.name for p in b.props]
        for pa, pb in zip(a.props, b.props, strict=True):
            np.testing.assert_array_equal(pa.vertices, pb.vertices)
        np.testing.assert_array_equal(a.hand.pose_deg, b.hand.pose_deg)


def test_first_pairs() -> None:
    pairs = prop_pairs(JobConfig())
    rng = np.random.default_rng(0)
    assert {g for g, _ in first_pairs("tripod", "grasp", pairs, rng)} == {"tripod"}
    assert {p for _, p in first_pairs("holding_bottle", "device", pairs, rng)} == {"bottle"}
    assert first_pairs("holding_umbrella", "device", pairs, rng) == []  # no umbrella: the fall-back
    other = first_pairs("ok_sign", "emblem", pairs, rng)
    assert len({p for _, p in other}) == 1  # one prop drawn uniformly, in any grasp it affords
    assert holds_object("tripod", "grasp") and holds_object("holding_cup", "device")
    assert not holds_object("ok_sign", "emblem")
    for g, props in HOLDING_GESTURES.items():
        assert all(p in PROP_NAMES for p in props), g


def test_props_off_holds_nothing() -> None:
    cfg = JobConfig(seed=11)
    cfg = dataclasses.replace(cfg, props=dataclasses.replace(cfg.props, fraction=0.0, grasp_fraction=0.0))
    rigs = {s: load_model(cfg.hand.model, s) for s in ("right", "left")}
    sampler = job_pose_sampler(cfg)
    assert not any(_held(plan_sample(cfg, i, rigs, sampler)) for i in range(20))
