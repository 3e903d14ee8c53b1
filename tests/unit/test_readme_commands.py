"""The README's two set-up commands are the ones CI and users run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = _bash_blocks(readme)
    test_cmd = next(b for b in blocks if "pytest" in b)
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_cmd.replace('"', "") in ci.replace('"', ""), "CI must run the README's test command verbatim"


def test_readme_demo_command_renders_with_embedded_defaults():
    readme = (ROOT / "README.md").read_text()
    demo = next(b for b in _bash_blocks(readme) if "synth render" in b)
    assert demo.startswith("pip install -e .") and "--out" in demo and "--count" in demo


@pytest.mark.blender
def test_readme_demo_command_runs(tmp_path: Path) -> None:
    """The README demo command, run (smaller: 2 samples at 64 px), produces a valid dataset."""
    import os
    import shlex
    import subprocess
    import sys

    pytest.importorskip("bpy")
    from synth.dataset.validate import validate_dataset

    readme = (ROOT / "README.md").read_text()
    demo = next(b for b in _bash_blocks(readme) if "synth render" in b)
    argv = shlex.split(demo.split("&&", 1)[1])
    assert argv[:2] == ["synth", "render"]
    smaller = {"--count": "2", "--resolution": "64", "--out": str(tmp_path / "demo")}
    for k, v in smaller.items():
        argv[argv.index(k) + 1] = v
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run([sys.executable, "-m", "synth.cli", *argv[1:]], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert "wrote 2 samples" in res.stdout
    rep = validate_dataset(tmp_path / "demo")
    assert rep.ok and rep.n_checked == 2, rep.errors
