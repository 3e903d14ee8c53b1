"""``synth review suggest``: simulated reviews reject one camera mode far more often; the overlay
cuts that mode's share in the next job's plans by the stated formula.

Formula: new weight = old * max(1 - r, 0.05); the expected share of mode m in the next job is
w_m (1 - r_m) / sum_u w_u (1 - r_u). Checked for the camera mode and the lighting kind on 1500
planned (not rendered) samples within 4 binomial standard deviations.
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


def _labels_only_dataset(root: Path, n: int, seed: int) -> dict[int, tuple[str, str]]:
    """A dataset of labels only (what the review index reads): camera modes and lighting kinds
    drawn with the default mixture weights; returns {id: (camera mode, lighting kind)}."""
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
        modes[i] = (m, li)
        lab = {"id": i, "image_size": [64, 64], "gesture": {"name": "fist", "category": "grasp"},
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
    assert any("gesture fist" in n for n in notes)
    cfg = JobConfig.from_dict(overlay)  # a valid job config
    assert cfg.camera.selfie == pytest.approx(0.05)


def test_overlay_cuts_the_rejected_mode_in_the_next_plans(tmp_path: Path) -> None:
    from synth.render.job import job_pose_sampler, load_rigs
    from synth.scene.plan import plan_sample

    root = tmp_path / "ds"
    modes = _labels_only_dataset(root, 800, seed=11)
    rng = np.random.default_rng(12)
    k = dict.fromkeys(MODES + KINDS, 0)
    n = dict.fromkeys(MODES + KINDS, 0)
    lines = []
    for i, (m, li) in modes.items():  # a sample is rejected for its camera mode or for its lighting
        rej = bool(rng.random() < REJECT_P[m]) or bool(rng.random() < REJECT_LIGHT_P[li])
        lines.append(json.dumps({"type": "review", "id": i, "verdict": "reject" if rej else "accept", "reviewer": "sim"}))
        for v in (m, li):
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
    rate = {v: k[v] / n[v] for v in MODES + KINDS}
    for m in MODES:
        assert overlay["camera"][m] == pytest.approx(base[m] * (1 - rate[m]), rel=1e-5)
    for li in KINDS:
        assert overlay["lighting"][li] == pytest.approx(base_l[li] * (1 - rate[li]), rel=1e-5)
    w = {m: base[m] * (1 - rate[m]) for m in MODES}
    expected = w["selfie"] / sum(w.values())
    assert rate["selfie"] > 0.7 and expected < 0.1  # from 0.25 to under 0.1
    wl = {li: base_l[li] * (1 - rate[li]) for li in KINDS}
    expected_l = wl["studio"] / sum(wl.values())
    assert rate["studio"] > 0.5 and expected_l < 0.13  # from 0.2

    cfg = JobConfig.load(overlay_path).replace(seed=7)
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
    base_cfg = JobConfig().replace(seed=7)
    M = 500
    base_share = [plan_sample(base_cfg, i, rigs, sampler).camera_mode for i in range(M)].count("selfie") / M
    assert abs(base_share - 0.25) <= 4 * math.sqrt(0.25 * 0.75 / M), base_share
