"""JobConfig: defaults, YAML, dotted overrides, validation errors (unit, no bpy)."""

from __future__ import annotations

import pytest

from synth.config import ConfigError, JobConfig, apply_overrides, load_yaml


def test_defaults_validate_and_round_trip() -> None:
    cfg = JobConfig()
    cfg.validate()
    again = JobConfig.from_dict(cfg.to_dict())
    assert again == cfg
    assert cfg.render.size == (128, 128)
    assert cfg.render.effective_samples == 4 and cfg.render.effective_denoise is True  # 4 spp is unusable raw


def test_yaml_then_overrides(tmp_path) -> None:
    p = tmp_path / "job.yaml"
    p.write_text("seed: 3\ncount: 10\nrender: {resolution: 64, preset: standard}\nhand: {side: both}\n")
    cfg = JobConfig.load(p, ["render.samples=16", "hand.gestures=fist, ok_sign", "camera.fov=[30, 40]"])
    assert (cfg.seed, cfg.count, cfg.render.resolution) == (3, 10, 64)
    assert cfg.render.effective_samples == 16 and cfg.render.effective_denoise is True
    assert cfg.hand.side == "both" and cfg.hand.gestures == ["fist", "ok_sign"]
    assert cfg.camera.fov == (30.0, 40.0)
    cfg2 = apply_overrides(cfg, ["render.samples=null"])
    assert cfg2.render.effective_samples == 32


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("render.foo=1", "unknown config key 'render.foo'"),
        ("render.samples=abc", "render.samples: expected an integer"),
        ("render.samples=0", "render.samples: must be in 1..65536"),
        ("render.device=tpu", "render.device: must be cpu or gpu"),
        ("hand.side=middle", "hand.side: must be right, left or both"),
        ("camera.distance=[0.9, 0.2]", "camera.distance: must be (min, max)"),
        ("output.passes=rgb,albedo", "output.passes: unknown pass(es) albedo"),
        ("novalue", "must look like key=value"),
        ("hand.gesture_weights={fist: -1}", "hand.gesture_weights.fist: must be a finite number >= 0"),
        ("hand.gesture_weights={fist: abc}", "hand.gesture_weights.fist: expected a number"),
        ("hand.gesture_weights={fist: .nan}", "hand.gesture_weights.fist: must be a finite number >= 0"),
        ("hand.gesture_weights={fists: 0.5}", "hand.gesture_weights: unknown gesture(s) fists"),
        ("hand.gesture_weights=[fist]", "hand.gesture_weights: expected a mapping"),
        ("hand.gesture_weights={1: 0.5}", "hand.gesture_weights: expected a string"),
    ],
)
def test_bad_overrides_give_one_line_errors(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        apply_overrides(JobConfig(), [override])
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_yaml_files(tmp_path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_yaml(tmp_path / "missing.yaml")
    p = tmp_path / "list.yaml"
    p.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_yaml(p)
    p.write_text("render: {resolution: 64, colour: red}\n")
    with pytest.raises(ConfigError, match="unknown config key.*in render.: colour"):
        JobConfig.load(p)


def test_gesture_weights_knob() -> None:
    cfg = apply_overrides(JobConfig(), ["hand.gesture_weights={fist: 0.25, peace: 2}"])
    assert cfg.hand.gesture_weights == {"fist": 0.25, "peace": 2.0}
    assert JobConfig.from_dict(cfg.to_dict()) == cfg
    assert JobConfig().hand.gesture_weights == {}
    with pytest.raises(ConfigError, match="^hand.gesture_weights: every gesture that can be drawn has weight 0$"):
        JobConfig.from_dict({"hand": {"gestures": ["fist", "peace"], "gesture_weights": {"fist": 0, "peace": 0.0}}})
    JobConfig.from_dict({"hand": {"gestures": ["fist", "peace"], "gesture_weights": {"fist": 0}}})  # peace weighs 1


def test_empty_or_equal_gesture_weights_plan_the_same_bytes() -> None:
    """Weights that do not change the distribution (none, all equal) draw the same random numbers:
    planned labels are byte-identical to a job without the knob."""
    from synth.dataset.writer import label_bytes
    from synth.labels.captions import describe
    from synth.render.job import job_pose_sampler, load_rigs, plan_label

    def labels(overrides: list[str]) -> list[bytes]:
        cfg = apply_overrides(JobConfig(), ["hand.side=both", "seed=5", *overrides])
        rigs, sampler = load_rigs(cfg), job_pose_sampler(cfg)
        return [label_bytes(plan_label(cfg, i, rigs, sampler, describe)) for i in range(6)]

    ref = labels([])
    assert labels(["hand.gesture_weights={fist: 1.0, peace: 1}"]) == ref
    assert labels(["hand.gesture_weights={fist: 0.05}"]) != ref
