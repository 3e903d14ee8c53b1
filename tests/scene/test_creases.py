"""Knuckle and flexion crease attributes (synth.scene.skin.crease_attributes)."""

from __future__ import annotations

import numpy as np
import pytest

from synth.hand.models import load_model
from synth.hand.skinning import forward
from synth.scene.skin import CREASE_HALF_WIDTH_M, crease_attributes


@pytest.mark.parametrize("side", ["right", "left"])
def test_creases_sit_across_every_flexion_joint(side):
    rig = load_model("open-hand", side)
    t, w = crease_attributes(rig)
    p = forward(rig)
    assert t.shape == w.shape == (rig.n_vertices,) and t.dtype == np.float32
    assert (w >= 0).all() and (w <= 1).all() and (np.abs(t[w > 0]) < CREASE_HALF_WIDTH_M).all()
    assert (t[w == 0] == 0).all()
    names = list(rig.bone_names)
    for digit in range(2, 6):  # index..pinky: MCP, PIP, DIP
        for k in (1, 2, 3):
            j = names.index(f"finger{digit}-{k}")
            near = np.linalg.norm(p.vertices - p.joints[j], axis=1) < 0.012
            on = near & (w > 0.3)
            assert on.sum() >= 4, (digit, k)
            # t changes sign across the joint: vertices on both sides of the crease line
            assert (t[on] > 0).any() and (t[on] < 0).any(), (digit, k)
    # fingertips (2 cm beyond the DIP) and the middle of the forearm carry no crease
    assert (w[rig.tip_vertex_ids] == 0).all()
    far_forearm = (rig.parts == 1) & (np.linalg.norm(p.vertices - p.keypoints[0], axis=1) > 0.05)
    assert (w[far_forearm] == 0).all()
    # the wrist has its crease ring too
    assert ((np.linalg.norm(p.vertices - p.keypoints[0], axis=1) < 0.03) & (w > 0.3)).sum() >= 4
