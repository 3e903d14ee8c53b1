"""``synth review suggest``: simulated reviews reject one camera mode far more often; the overlay
cuts that mode's share in the next job's plans by the stated formula.

Formula: new weight = old * max(1 - r, 0.05); the expected share of mode m in the next job is
w_m (1 - r_m) / sum_u w_u (1 - r_u). Checked on 1500 planned (not rendered) samples within 4
binomial standard deviations.
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
REJECT_P = {"third_person": 0.1, "egocentric": 0.1, "selfie": 0.8}


def _labels_only_dataset(root: Path, n: int, seed: int) -> dict[int, str]:
    """A dataset of labels only (what the review index reads): camera modes drawn with the default
    mixture weights; returns {id: camera mode}."""
    rng = np.random.default_rng(seed)
    (root / "labels").mkdir(parents=True)
    base = JobConfig().to_dict()
    (root / "dataset.json").write_text(json.dumps({"config": base}))
    w = np.array([base["camera"][m] for m in MODES])
    modes = {}
    lines = []
    for i in range(n):
        m = MODES[int(rng.choice(3, p=w / w.sum()))]
        modes[i] = m
        lab = {"id": i, "image_size": [64, 64], "gesture": {"name": "fist", "category": "grasp"},
               "attributes": {"camera_mode": m, "lighting_type": "hdri", "monk_skin_tone": 1 + i % 10}}  # fmt: skip
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
    modes = _labels_only_dataset(root, 600, seed=11)
    rng = np.random.default_rng(12)
    k = dict.fromkeys(MODES, 0)
    n = dict.fromkeys(MODES, 0)
    lines = []
    for i, m in modes.items():
        rej = bool(rng.random() < REJECT_P[m])
        lines.append(json.dumps({"type": "review", "id": i, "verdict": "reject" if rej else "accept", "reviewer": "sim"}))
        k[m] += rej
        n[m] += 1
    storage.review_path(root, "sim").parent.mkdir()
    storage.review_path(root, "sim").write_text("\n".join(lines) + "\n")  # the documented line format
    overlay_path = tmp_path / "overlay.yaml"
    r = CliRunner().invoke(cli, ["review", "suggest", str(root), "--out", str(overlay_path)])
    assert r.exit_code == 0, r.output
    overlay = yaml.safe_load(overlay_path.read_text())
    base = JobConfig().to_dict()["camera"]
    rate = {m: k[m] / n[m] for m in MODES}
    for m in MODES:
        assert overlay["camera"][m] == pytest.approx(base[m] * (1 - rate[m]), rel=1e-5)
    w = {m: base[m] * (1 - rate[m]) for m in MODES}
    expected = w["selfie"] / sum(w.values())
    assert rate["selfie"] > 0.7 and expected < 0.1  # from 0.25 to under 0.1

    cfg = JobConfig.load(overlay_path).replace(seed=7)
    rigs = load_rigs(cfg)
    sampler = job_pose_sampler(cfg)
    N = 1500
    got = [plan_sample(cfg, i, rigs, sampler).camera_mode for i in range(N)]
    share = got.count("selfie") / N
    sd = math.sqrt(expected * (1 - expected) / N)
    assert abs(share - expected) <= 4 * sd, (share, expected, sd)
    # And the same planner without the overlay plans selfie at its configured 0.25.
    base_cfg = JobConfig().replace(seed=7)
    M = 500
    base_share = [plan_sample(base_cfg, i, rigs, sampler).camera_mode for i in range(M)].count("selfie") / M
    assert abs(base_share - 0.25) <= 4 * math.sqrt(0.25 * 0.75 / M), base_share
