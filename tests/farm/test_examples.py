"""The farm examples parse, and the commands they run are the tested ones (run here at 64 px)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from synth.config import JobConfig
from synth.farm.sharding import ShardSpec, shard_range

from .conftest import TINY_JOB, assert_same_dataset

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples" / "farm"
SBATCH = EX / "slurm_array.sbatch"
K8S = EX / "k8s_indexed_job.yaml"
LOCAL = EX / "local_shards.sh"
RAY = EX / "ray_cluster.sh"


def render_command() -> click.Command:
    from synth.cli import cli

    cmd = cli.commands["render"]
    if "shard" not in {p.name for p in cmd.params}:
        pytest.fail("synth render has no --shard option (synth.farm.cli.farm_options is not wired into it)")
    return cmd


def words(line: str, env: dict[str, str]) -> list[str]:
    """The argv bash makes of ``line`` (variables expanded with ``env``)."""
    out = subprocess.run(["bash", "-c", f'set -- {line}; printf "%s\\0" "$@"'], env={**env, "PATH": os.environ["PATH"]},
                         capture_output=True, check=True, text=True).stdout
    return out.split("\0")[:-1]


def command_lines(path: Path, start: str) -> list[str]:
    return [s.strip() for s in path.read_text().splitlines() if s.strip().startswith(start)]


def k8s_docs() -> tuple[dict, dict]:
    docs = list(yaml.safe_load_all(K8S.read_text()))
    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    job = next(d for d in docs if d["kind"] == "Job")
    return cm, job


def test_example_files_parse() -> None:
    for script in (SBATCH, LOCAL, RAY):
        subprocess.run(["bash", "-n", str(script)], check=True)
    assert JobConfig.from_dict(yaml.safe_load((EX / "job.yaml").read_text())).count == 1_000_000
    cm, job = k8s_docs()
    assert JobConfig.from_dict(yaml.safe_load(cm["data"]["job.yaml"])).count == 1_000_000
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and spec["template"]["spec"]["restartPolicy"] == "Never"
    (container,) = spec["template"]["spec"]["containers"]
    cmd = container["command"]
    assert cmd[:3] == ["synth", "-v", "render"]
    assert int(cmd[cmd.index("--num-shards") + 1]) == spec["completions"]  # Kubernetes does not tell the pod
    assert cmd[cmd.index("--config") + 1].startswith(next(m["mountPath"] for m in container["volumeMounts"]
                                                          if m["name"] == "config"))
    # The sbatch array has 100 tasks and the script is the one documented in its header.
    assert re.search(r"^#SBATCH --array=0-99%\d+$", SBATCH.read_text(), re.M)
    assert "sbatch examples/farm/slurm_array.sbatch" in SBATCH.read_text()


def test_example_commands_are_valid_render_invocations(tiny_job_yaml: Path) -> None:
    cmd = render_command()
    env = {"JOB_CONFIG": "job.yaml", "OUT": "out", "SLURM_CPUS_PER_TASK": "4"}
    argvs = [words(command_lines(SBATCH, "srun ")[0], env)[1:]]
    argvs.append(k8s_docs()[1]["spec"]["template"]["spec"]["containers"][0]["command"])
    argvs.append(words(command_lines(LOCAL, "for ")[0].split("; do ", 1)[1].split(" & ")[0].replace("$i", "0"), env))
    argvs.append(words(command_lines(RAY, "synth ")[0], env))
    for argv in argvs:
        assert argv[0] == "synth"
        args = argv[argv.index("render") + 1:]
        ctx = cmd.make_context("render", list(args))  # raises on an unknown option or a bad value
        assert ctx.params["config"]
    assert ctx.params["executor"] == "ray" and ctx.params["address"] == "auto"


def fake_srun(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    srun = bin_dir / "srun"
    srun.write_text('#!/bin/bash\nexec "$@"\n')
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "JOB_COMPLETION_INDEX"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


@pytest.mark.slow
@pytest.mark.blender
def test_sbatch_script_renders_the_single_process_dataset(reference: Path, tiny_job_yaml: Path, tmp_path: Path) -> None:
    render_command()
    if shutil.which("synth") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):  # CI installs it (pip install -e)
            pytest.fail("the synth console script is not installed")
        pytest.skip("the synth console script is not installed")
    out = tmp_path / "out"
    bin_dir = fake_srun(tmp_path)
    for task in (10, 11):  # an array submitted as --array=10-11
        env = child_env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", JOB_CONFIG=str(tiny_job_yaml), OUT=str(out),
                        SLURM_ARRAY_TASK_ID=str(task), SLURM_ARRAY_TASK_MIN="10", SLURM_ARRAY_TASK_MAX="11",
                        SLURM_ARRAY_TASK_COUNT="2", SLURM_CPUS_PER_TASK="1")
        res = subprocess.run(["bash", str(SBATCH)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr[-2000:]
        assert f"shard {task - 10}/2 (slurm)" in res.stderr
        assert "from the Slurm array: SLURM_ARRAY_TASK_ID=" in res.stderr
    assert_same_dataset(out, reference)


@pytest.mark.slow
@pytest.mark.blender
def test_local_one_liner_renders_the_single_process_dataset(reference: Path, tiny_job_yaml: Path, tmp_path: Path) -> None:
    render_command()
    if shutil.which("synth") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):  # CI installs it (pip install -e)
            pytest.fail("the synth console script is not installed")
        pytest.skip("the synth console script is not installed")
    (line,) = command_lines(LOCAL, "for ")
    out = tmp_path / "out"
    line = line.replace("examples/farm/job.yaml", shlex.quote(str(tiny_job_yaml))).replace("out/hands-1m", shlex.quote(str(out)))
    res = subprocess.run(["bash", "-c", line], cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert_same_dataset(out, reference)


@pytest.mark.blender
def test_kubernetes_command_renders_its_index(reference: Path, tiny_job_yaml: Path, tmp_path: Path) -> None:
    from synth.cli import cli

    render_command()
    argv = k8s_docs()[1]["spec"]["template"]["spec"]["containers"][0]["command"]
    out = tmp_path / "out"
    args = [str(tiny_job_yaml) if a == "/config/job.yaml" else str(out) if a == "/data/hands-1m" else a for a in argv[1:]]
    n_shards = int(argv[argv.index("--num-shards") + 1])
    rendered: list[int] = []
    n = TINY_JOB["count"]
    # n < 100 ids over 100 shards: most shards are empty; run the first and last non-empty ones and an empty one.
    full = [k for k in range(n_shards) if len(shard_range(0, n, ShardSpec(k, n_shards)))]
    empty = next(k for k in range(n_shards) if k not in full)
    for index in (full[0], full[-1], empty):
        res = CliRunner().invoke(cli, args, env={"JOB_COMPLETION_INDEX": str(index)})
        assert res.exit_code == 0, res.output
        rendered += list(shard_range(0, n, ShardSpec(index, n_shards)))
    assert rendered == [0, n - 1]
    assert_same_dataset(out, reference, ids=rendered)
    res = CliRunner().invoke(cli, args, env={"JOB_COMPLETION_INDEX": "100"})
    assert res.exit_code == 2 and "outside 0..99" in res.output


@pytest.mark.blender
def test_blender_shim_command_from_the_sbatch_header(reference: Path, tiny_job_yaml: Path, tmp_path: Path) -> None:
    """The documented ``blender -b -P blender_scripts/render_shard.py -- ...`` command, run by this
    Python instead of a Blender binary (the shim parses only the arguments after ``--``)."""
    render_command()
    shim = ROOT / "blender_scripts" / "render_shard.py"
    assert shim.exists(), "blender_scripts/render_shard.py is missing"
    (line,) = [s.lstrip("# ").strip() for s in SBATCH.read_text().splitlines() if "blender -b" in s]
    out = tmp_path / "out"
    argv = words(line, {"JOB_CONFIG": str(tiny_job_yaml), "OUT": str(out)})
    assert argv[:4] == ["blender", "-b", "--factory-startup", "-P"]
    after = argv.index("--")
    cmd = [sys.executable, str(ROOT / argv[4]), *argv[after:], "--shard", "1/2"]
    res = subprocess.run(cmd, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert_same_dataset(out, reference, ids=list(shard_range(0, TINY_JOB["count"], ShardSpec(1, 2))))
