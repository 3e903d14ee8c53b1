"""Pure-numpy skin detail attributes (issue 17): palm lines, nail coordinate, contact shading."""

from __future__ import annotations

import numpy as np
import pytest

from synth.config import JobConfig, apply_overrides
from synth.hand.skinning import forward
from synth.render.job import load_rigs
from synth.scene.skin import NO_LINE_M, contact_shading, nail_coordinate, palm_line_attributes, skin_attributes


@pytest.fixture(scope="module")
def rigs() -> dict:
    return load_rigs(apply_overrides(JobConfig(), ["hand.side=both"]))


def test_palm_lines_cross_the_palmar_side_only(rigs: dict) -> None:
    counts = []
    for side in ("right", "left"):
        r = rigs[side]
        palm, _ = skin_attributes(r)
        d = palm_line_attributes(r, palm)
        assert d.shape == (r.n_vertices, 3) and d.dtype == np.float32
        near = d < NO_LINE_M
        # only palm-part vertices on the palmar side carry a distance
        assert (np.asarray(r.parts)[near.any(axis=1)] == 2).all()
        assert (palm[near.any(axis=1)] > 0.4).all()
        for c in range(3):
            dc = d[near[:, c], c]
            # each line runs through the palm: vertices on both sides of it within 6 mm
            assert (dc[np.abs(dc) < 0.006] > 0).any() and (dc[np.abs(dc) < 0.006] < 0).any()
        counts.append(near.sum(axis=0))
    np.testing.assert_array_equal(counts[0], counts[1])  # the left hand mirrors the right


def test_nail_coordinate_runs_from_cuticle_to_tip(rigs: dict) -> None:
    r = rigs["right"]
    u = nail_coordinate(r)
    p = forward(r)
    nail = np.asarray(r.nail_mask, bool)
    assert u[nail].min() == pytest.approx(0.0, abs=1e-6) and u[nail].max() == pytest.approx(1.0, abs=1e-6)
    for f, part in enumerate(range(3, 8)):
        m = nail & (np.asarray(r.parts) == part)
        dist_to_tip = np.linalg.norm(p.vertices[m] - p.keypoints[4 + 4 * f], axis=1)
        assert np.corrcoef(u[m], dist_to_tip)[0, 1] < -0.8  # larger u: nearer the fingertip


def test_contact_shading_marks_touching_fingers_only(rigs: dict) -> None:
    r = rigs["right"]
    rest = forward(r).vertices.astype(np.float64)
    parts = np.asarray(r.parts)
    assert not contact_shading(rest, rest, parts).any()  # in the rest pose nothing touches
    # move the middle finger sideways onto the index finger: both get contact weight there
    posed = rest.copy()
    mid = parts == 5
    shift = (rest[parts == 4].mean(0) - rest[mid].mean(0)) * np.array([1.0, 0.0, 0.0])
    posed[mid] += shift * 0.9
    c0, c1 = contact_shading(rest, rest, parts), contact_shading(posed, rest, parts)
    assert c1[parts == 4].max() > c0[parts == 4].max() + 0.3
    assert c1[mid].max() > 0.3
    assert (c1[parts == 7] == c0[parts == 7]).all()  # the little finger is not involved
    np.testing.assert_array_equal(c1, contact_shading(posed, rest, parts))  # deterministic


def test_dorsal_veins_and_hair_lie_on_the_back_of_the_hand_and_arm(rigs: dict) -> None:
    from synth.scene.skin import hair_weight, vein_attribute

    counts = []
    for side in ("right", "left"):
        r = rigs[side]
        palm, nail = skin_attributes(r)
        parts = np.asarray(r.parts)
        v = vein_attribute(r, palm)
        assert v.shape == (r.n_vertices,) and v.dtype == np.float32
        near = v < NO_LINE_M
        # veins only on the back of the palm part and the forearm, never on the palmar side
        assert np.isin(parts[near], (1, 2)).all() and (palm[near] < 0.35).all()
        # a vein runs through the back of the hand: vertices on both sides of it within 4 mm
        back = near & (parts == 2)
        assert (v[back & (np.abs(v) < 0.004)] > 0).any() and (v[back & (np.abs(v) < 0.004)] < 0).any()
        h = hair_weight(r, palm)
        assert h.shape == (r.n_vertices,) and (h >= 0).all() and (h <= 1).all()
        assert h[nail > 0.5].max() == 0 and h[(parts == 2) & (palm > 0.9)].max() < 0.05  # no hair on nails, palms
        assert h[parts == 1].mean() > h[parts == 2].mean() > 0  # the forearm is hairier than the hand
        counts.append((int(near.sum()), int((h > 0.2).sum())))
    assert counts[0] == counts[1]  # the left hand mirrors the right


def test_skin_sample_draws_veins_and_hair_last() -> None:
    from synth.scene.skin import sample_skin

    a = sample_skin(np.random.default_rng(5))
    assert 0.2 <= a.veins <= 1.0 and 0.0 <= a.hair <= 1.0
    assert "veins" in a.attributes() and "hair" in a.attributes()
