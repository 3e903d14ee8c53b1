"""Every job config shipped in examples/ loads and validates (gesture names included)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from synth.config import JobConfig

ROOT = Path(__file__).resolve().parents[2]


def _is_job_config(p: Path) -> bool:
    docs = list(yaml.safe_load_all(p.read_text()))
    return len(docs) == 1 and isinstance(docs[0], dict) and "kind" not in docs[0]  # not a Kubernetes manifest


CONFIGS = sorted(p for p in (ROOT / "examples").rglob("*.yaml") if _is_job_config(p))


def test_there_are_example_configs():
    assert len(CONFIGS) >= 4


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_example_config_loads(path: Path):
    cfg = JobConfig.load(path)
    assert cfg.count > 0
    if cfg.hand.gestures:
        from synth.gestures.library import load_library

        lib = load_library()
        missing = [g for g in cfg.hand.gestures if g not in lib]
        assert not missing, missing
