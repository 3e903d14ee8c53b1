"""The README's two set-up commands are the ones CI and users run."""

from __future__ import annotations

import re
from pathlib import Path

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
