"""Fixtures for dataset tests: tiny fake-rendered datasets (see synth_fake_render.py)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from synth_fake_render import write_fake_dataset  # noqa: E402


@pytest.fixture(scope="session")
def _fake_dataset_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fake") / "ds"
    write_fake_dataset(out, 8, seed=3, size=64)
    return out


@pytest.fixture
def fake_dataset(_fake_dataset_master: Path, tmp_path: Path) -> Path:
    """A fresh copy of an 8-sample 64-px fake dataset (safe to corrupt)."""
    dst = tmp_path / "ds"
    shutil.copytree(_fake_dataset_master, dst)
    return dst
