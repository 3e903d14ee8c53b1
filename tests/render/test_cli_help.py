"""What a newcomer meets: ``synth render --help`` grouped with every config default shown, and a
plain run that keeps Blender's own log lines out of the terminal unless -v."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]


def test_render_help_is_grouped_and_shows_the_config_defaults() -> None:
    from synth.cli import cli
    from synth.config import JobConfig

    out = CliRunner().invoke(cli, ["render", "--help"], terminal_width=200).output
    heads = [line for line in out.splitlines() if line.endswith(" options:")]
    assert heads == ["Output options:", "Content options:", "Look options:", "Quality options:", "Scale-out options:",
                     "Other options:"]
    d = JobConfig()
    blocks: dict[str, str] = {}  # option -> its help text, wrapped lines joined
    for line in out.splitlines():
        if line.startswith("  -"):
            key = line.split()[0].rstrip(",")
            blocks[key] = line
        elif line.startswith("   ") and blocks:
            blocks[key] += " " + line.strip()
    for opt, value in (("--count", d.count), ("--resolution", d.render.resolution), ("--preset", d.render.preset),
                       ("--side", d.hand.side), ("--seed", d.seed), ("--camera-mode", d.camera.mode),
                       ("--renderer", d.render.renderer)):
        assert f"[default: {value}]" in blocks[opt], blocks[opt]
    content = out[out.index("Content options:"):out.index("Look options:")]
    assert "--props " in content and "--gestures" in content and "--resolution" not in content


@pytest.mark.timeout(600)
def test_plain_render_prints_no_blender_log_lines(tmp_path: Path) -> None:
    pytest.importorskip("bpy")
    cmd = [sys.executable, "-m", "synth.cli", "render", "--out", str(tmp_path / "ds"), "--count", "1",
           "--resolution", "32", "--samples", "1"]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr
    terminal = run.stdout + run.stderr
    assert "wrote 1 samples" in terminal
    assert "CUEW" not in terminal and "| WARNING" not in terminal, terminal
    verbose = subprocess.run([sys.executable, "-m", "synth.cli", "-v", *cmd[3:4], "--out", str(tmp_path / "v"),
                              *cmd[6:]], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert verbose.returncode == 0, verbose.stderr
    assert "cycles" in (verbose.stdout + verbose.stderr).lower()  # -v shows Blender's own lines again
