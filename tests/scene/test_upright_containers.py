"""Held containers stand (nearly) upright (synth.scene.plan.upright_root)."""

from __future__ import annotations

import numpy as np

from synth.config import JobConfig
from synth.hand.models import load_model
from synth.scene.plan import UPRIGHT_FOREARM_MAX_DEG, UPRIGHT_TILT_DEG, plan_sample, upright_root


def test_held_containers_are_upright_and_forearms_stay_below_the_limit():
    from synth.render.job import job_pose_sampler

    cfg = JobConfig.from_dict({"seed": 1, "render": {"resolution": 128}, "hand": {"side": "both"},
                               "props": {"fraction": 1.0, "names": ["mug", "cup", "bottle"]}})
    rigs = {s: load_model("open-hand", s) for s in ("right", "left")}
    sampler = job_pose_sampler(cfg)
    tilts, empty = [], []
    for i in range(40):
        spec = plan_sample(cfg, i, rigs, sampler)
        held = [p for p in spec.props if p.category == "container"]
        if not held:  # a drawn device gesture whose own prop is not in props.names may find no fit
            empty.append(i)
            continue
        up = held[0].object_to_world[:3, :3] @ np.array([0.0, 0.0, 1.0])
        tilts.append(np.degrees(np.arccos(np.clip(up[2], -1.0, 1.0))))
    tilts = np.array(tilts)
    assert len(empty) <= 4, empty
    assert (tilts <= UPRIGHT_TILT_DEG + 1e-6).mean() >= 0.85, tilts


def test_upright_root_rotates_about_the_palm_centre_and_respects_the_forearm():
    rng = np.random.default_rng(0)
    turned = 0
    for k in range(50):
        q = rng.standard_normal(4)
        q /= np.linalg.norm(q)
        w, x, y, z = q
        R = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                      [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                      [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
        root = np.eye(4)
        root[:3, :3] = R
        root[:3, 3] = rng.normal(size=3) * 0.05
        o2m = np.eye(4)
        out = upright_root(3, k, root, o2m)
        palm = -R.T @ root[:3, 3]  # the model point the root maps to the world origin
        np.testing.assert_allclose(out[:3, :3] @ palm + out[:3, 3], 0.0, atol=1e-12)
        np.testing.assert_allclose(out[:3, :3] @ out[:3, :3].T, np.eye(3), atol=1e-12)
        if not np.array_equal(out, root):
            turned += 1
            up = out[:3, :3] @ np.array([0.0, 0.0, 1.0])
            assert np.degrees(np.arccos(np.clip(up[2], -1, 1))) <= UPRIGHT_TILT_DEG + 1e-6
            fore = out[:3, :3] @ np.array([0.0, -1.0, 0.0])
            assert np.degrees(np.arccos(np.clip(-fore[2], -1, 1))) <= UPRIGHT_FOREARM_MAX_DEG + 1e-6
    assert turned >= 20  # most random holds get turned upright; the rest would lift the elbow
