"""In CI, a skipped import of an extra that CI installs is a failure (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MISSING = "synth_no_such_package_for_ci_probe"


@pytest.mark.skipif(os.environ.get("SYNTH_CI_PROBE") != "1", reason="only run by test_ci_makes_importorskip_strict")
def test_probe() -> None:
    pytest.importorskip(MISSING)


def _probe(ci: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(SYNTH_CI_PROBE="1", SYNTH_CI_REQUIRED=MISSING, PYTHONPATH=str(ROOT))
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           f"{Path(__file__).relative_to(ROOT)}::test_probe"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip


def test_ci_makes_importorskip_strict() -> None:
    local = _probe(None)
    assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout
    ci = _probe("true")
    assert ci.returncode == 1 and "1 failed" in ci.stdout, ci.stdout
    assert f"CI installs {MISSING!r}, but it does not import" in ci.stdout


def test_the_default_run_leaves_out_the_torch_reference_tests() -> None:
    """`python -m pytest` deselects ``torchref``; ``-m torchref`` selects exactly those (mano and
    bake tests are torchref automatically)."""
    def collected(*args: str) -> set[str]:
        res = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                              "tests/hand", "tests/dataset/test_package.py", *args],
                             cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                             timeout=300)  # fmt: skip
        return {ln for ln in res.stdout.splitlines() if "::" in ln}

    default, torchref = collected(), collected("-m", "torchref")
    assert torchref and not default & torchref
    assert any("test_open_hand_vs_anny" in t for t in torchref)
    assert any("test_matches_smplx_right" in t for t in torchref)
    assert any("test_hand_dataset_torch_loader" in t for t in torchref)
    assert not any("test_open_hand_vs_anny" in t for t in default)
