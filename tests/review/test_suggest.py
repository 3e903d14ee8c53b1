"""``synth review suggest``: simulated reviews reject one camera mode far more often; the overlay
cuts that mode's share in the next job's plans by the stated formula.

Formula: new weight = old * max(1 - r, 0.05); the expected share of mode m in the next job is
w_m (1 - r_m) / sum_u w_u (1 - r_u). Checked for the camera mode and the lighting kind on 1500
planned (not rendered) samples within 4 binomial standard deviations. Gestures
(``hand.gesture_weights``): the share of gesture g among the library-gesture samples becomes
w_g c_g / sum_u w_u c_u, with c the shares at equal weights (measured on the 500 base plans;
their sampling error is added to the tolerance by the delta method).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from synth.cli import cli
from synth.config import JobConfig
from synth.review import storage
from synth.review.report import wilson
from synth.review.suggest import overlay_from_rates

MODES = ("third_person", "egocentric", "selfie")
KINDS = ("hdri", "sky", "studio")
REJECT_P = {"third_person": 0.1, "egocentric": 0.1, "selfie": 0.8}
REJECT_LIGHT_P = {"hdri": 0.05, "sky": 0.05, "studio": 0.6}
GESTURES = ("fist", "ok_sign", "peace")
REJECT_GESTURE_P = {"fist": 0.0, "ok_sign": 0.0, "peace": 0.7}


def _labels_only_dataset(root: Path, n: int, seed: int) -> dict[int, tuple[str, str, str]]:
    """A dataset of labels only (what the review index reads): camera modes and lighting kinds
    drawn with the default mixture weights, gestures uniform over :data:`GESTURES`; returns
    {id: (camera mode, lighting kind, gesture)}."""
    rng = np.random.default_rng(seed)
    (root / "labels").mkdir(parents=True)
    base = JobConfig().to_dict()
    (root / "dataset.json").write_text(json.dumps({"config": base}))
    w = np.array([base["camera"][m] for m in MODES])
    wl = np.array([base["lighting"][k] for k in KINDS])
    modes = {}
    lines = []
    for i in range(n):
        m = MODES[int(rng.choice(3, p=w / w.sum()))]
        li = KINDS[int(rng.choice(3, p=wl / wl.sum()))]
        g = GESTURES[i % 3]
        modes[i] = (m, li, g)
        lab = {"id": i, "image_size": [64, 64], "gesture": {"name": g, "category": "emblem"},
               "attributes": {"camera_mode": m, "lighting_type": li, "monk_skin_tone": 1 + i % 10}}  # fmt: skip
        rel = f"labels/{i:08d}.json"
        (root / rel).write_text(json.dumps(lab))
        lines.append(json.dumps({"id": i, "files": {"label": rel}, "sha256": {}, "bytes": {}}))
    (root / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return modes


def test_wilson_interval_known_values() -> None:
    lo, hi = wilson(8, 10)  # textbook: 0.490 - 0.943
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    assert wilson(0, 10)[0] == pytest.approx(0.0, abs=1e-12) and wilson(10, 10)[1] == pytest.approx(1.0)
    assert wilson(0, 10)[1] == pytest.approx(0.2775, abs=1e-3)  # the "rule of three"-like upper bound


def test_overlay_keys_are_real_config_keys() -> None:
    base = JobConfig().to_dict()
    rates = {"camera_mode": {"selfie": (8, 10)}, "lighting": {"studio": (5, 10), "sky": (1, 2)},
             "monk": {"3": (10, 10)}, "gesture": {"fist": (6, 10)}}  # fmt: skip
    overlay, notes = overlay_from_rates(rates, base, min_reviews=5)
    assert overlay["camera"] == {"selfie": pytest.approx(base["camera"]["selfie"] * 0.2)}
    assert overlay["lighting"] == {"studio": pytest.approx(base["lighting"]["studio"] * 0.5)}  # sky: n < 5
    assert overlay["appearance"]["monk_weights"][2] == pytest.approx(0.05) and overlay["appearance"]["monk_weights"][0] == 1.0
    assert overlay["hand"] == {"gesture_weights": {"fist": pytest.approx(0.4)}}
    assert any(n.startswith("hand.gesture_weights.fist: 1 -> 0.4") for n in notes), notes
    cfg = JobConfig.from_dict(overlay)  # a valid job config
    assert cfg.camera.selfie == pytest.approx(0.05) and cfg.hand.gesture_weights == {"fist": pytest.approx(0.4)}
    # Base weights are kept; names the sampler cannot draw get a comment, not a key.
    base["hand"]["gesture_weights"] = {"peace": 0.5}
    rates = {"gesture": {"fist": (6, 10), "natural_random": (9, 10), "free": (5, 5)}}
    overlay, notes = overlay_from_rates(rates, base, min_reviews=5)
    assert overlay == {"hand": {"gesture_weights": {"peace": 0.5, "fist": pytest.approx(0.4)}}}
    assert any("gesture natural_random: 9/10" in n and "no weight" in n for n in notes), notes
    base["hand"]["gestures"] = ["peace"]  # fist cannot be drawn by this job
    overlay, notes = overlay_from_rates(rates, base, min_reviews=5)
    assert overlay == {} and any("gesture fist: 6/10" in n for n in notes)


def test_overlay_cuts_the_rejected_mode_in_the_next_plans(tmp_path: Path) -> None:
    from synth.render.job import job_pose_sampler, load_rigs
    from synth.scene.plan import plan_sample

    root = tmp_path / "ds"
    modes = _labels_only_dataset(root, 800, seed=11)
    rng = np.random.default_rng(12)
    k = dict.fromkeys(MODES + KINDS + GESTURES, 0)
    n = dict.fromkeys(MODES + KINDS + GESTURES, 0)
    lines = []
    for i, (m, li, g) in modes.items():  # a sample is rejected for its camera mode, lighting or gesture
        rej = bool(rng.random() < REJECT_P[m]) or bool(rng.random() < REJECT_LIGHT_P[li])
        rej = bool(rng.random() < REJECT_GESTURE_P[g]) or rej
        lines.append(json.dumps({"type": "review", "id": i, "verdict": "reject" if rej else "accept", "reviewer": "sim"}))
        for v in (m, li, g):
            k[v] += rej
            n[v] += 1
    storage.review_path(root, "sim").parent.mkdir()
    storage.review_path(root, "sim").write_text("\n".join(lines) + "\n")  # the documented line format
    overlay_path = tmp_path / "overlay.yaml"
    r = CliRunner().invoke(cli, ["review", "suggest", str(root), "--out", str(overlay_path)])
    assert r.exit_code == 0, r.output
    overlay = yaml.safe_load(overlay_path.read_text())
    base = JobConfig().to_dict()["camera"]
    base_l = JobConfig().to_dict()["lighting"]
    rate = {v: k[v] / n[v] for v in MODES + KINDS + GESTURES}
    for m in MODES:
        assert overlay["camera"][m] == pytest.approx(base[m] * (1 - rate[m]), rel=1e-5, abs=1e-6)
    wg = overlay["hand"]["gesture_weights"]
    assert wg.keys() == set(GESTURES)
    for g in GESTURES:
        assert wg[g] == pytest.approx(1 - rate[g], rel=1e-5, abs=1e-6)
    assert rate["peace"] > 0.7 and max(rate["fist"], rate["ok_sign"]) < 0.45
    for li in KINDS:
        assert overlay["lighting"][li] == pytest.approx(base_l[li] * (1 - rate[li]), rel=1e-5, abs=1e-6)
    w = {m: base[m] * (1 - rate[m]) for m in MODES}
    expected = w["selfie"] / sum(w.values())
    assert rate["selfie"] > 0.7 and expected < 0.1  # from 0.25 to under 0.1
    wl = {li: base_l[li] * (1 - rate[li]) for li in KINDS}
    expected_l = wl["studio"] / sum(wl.values())
    assert rate["studio"] > 0.5 and expected_l < 0.13  # from 0.2

    # The next job draws the three reviewed gestures (hand.gestures) with the overlay's weights.
    cfg = JobConfig.from_dict({**yaml.safe_load(overlay_path.read_text()), "seed": 7,
                               "hand": {"gestures": list(GESTURES), "gesture_weights": wg}})
    rigs = load_rigs(cfg)
    sampler = job_pose_sampler(cfg)
    N = 1500
    specs = [plan_sample(cfg, i, rigs, sampler) for i in range(N)]
    share = [s.camera_mode for s in specs].count("selfie") / N
    sd = math.sqrt(expected * (1 - expected) / N)
    assert abs(share - expected) <= 4 * sd, (share, expected, sd)
    share_l = [s.lighting.sample.env.kind for s in specs].count("studio") / N
    sd_l = math.sqrt(expected_l * (1 - expected_l) / N)
    assert abs(share_l - expected_l) <= 4 * sd_l, (share_l, expected_l, sd_l)
    print(f"selfie: reject rate {rate['selfie']:.3f}, share {share:.4f} planned vs {expected:.4f} expected (sd {sd:.4f}); "
          f"studio: reject rate {rate['studio']:.3f}, share {share_l:.4f} vs {expected_l:.4f} (sd {sd_l:.4f})")
    # And the same planner without the overlay plans selfie at its configured 0.25.
    base_cfg = JobConfig.from_dict({"seed": 7, "hand": {"gestures": list(GESTURES)}})
    M = 500
    base_specs = [plan_sample(base_cfg, i, rigs, job_pose_sampler(base_cfg)) for i in range(M)]
    base_share = [s.camera_mode for s in base_specs].count("selfie") / M
    assert abs(base_share - 0.25) <= 4 * math.sqrt(0.25 * 0.75 / M), base_share
    # Gestures: peace's share among the library-gesture samples is cut to w c / sum w c.
    def counts(ss: list) -> np.ndarray:
        names = [s.hand.gesture for s in ss]
        return np.array([names.count(g) for g in GESTURES], dtype=float)

    c0, c1 = counts(base_specs), counts(specs)
    c = c0 / c0.sum()  # shares at equal weights
    w = np.array([wg[g] for g in GESTURES])
    p = GESTURES.index("peace")
    expected_g = w[p] * c[p] / (w @ c)
    grad = -w[p] * c[p] * w / (w @ c) ** 2  # d expected / d c (delta method, multinomial c)
    grad[p] += w[p] / (w @ c)
    var_c = (grad @ (np.diag(c) - np.outer(c, c)) @ grad) / c0.sum()
    share_g = c1[p] / c1.sum()
    sd_g = math.sqrt(expected_g * (1 - expected_g) / c1.sum() + var_c)
    assert abs(share_g - expected_g) <= 4 * sd_g, (share_g, expected_g, sd_g)
    assert c[p] > 0.2 and expected_g < 0.6 * c[p]  # a real cut (about 0.26 -> 0.12)
    print(f"peace: reject rate {rate['peace']:.3f}, share {c[p]:.4f} at equal weights -> {share_g:.4f} planned vs "
          f"{expected_g:.4f} expected (sd {sd_g:.4f})")
