"""Ray executor on a local 2-CPU cluster: exactly once with a worker killed mid-chunk, recycling,
aggregated progress, and failures that must stop the job."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from synth.dataset.layout import read_manifest, scan_manifest
from synth.farm.ray_executor import FarmError, run_ray

from .conftest import TINY_JOB, assert_same_dataset, tiny_cfg

ray = pytest.importorskip("ray")
pytestmark = [pytest.mark.farm, pytest.mark.blender]


@pytest.fixture(scope="module", autouse=True)
def local_cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def kill_self_at(target: int, out: Path, marker: Path, wait_for: int | None) -> Callable[[int], None]:
    """A before-sample hook: the first actor to reach ``target`` SIGKILLs its own process, after
    waiting until ``wait_for`` (an earlier id of the same chunk) is in the manifest."""

    def hook(i: int) -> None:
        if i != target:
            return
        if wait_for is not None:
            deadline = time.monotonic() + 20
            while wait_for not in read_manifest(out) and time.monotonic() < deadline:
                time.sleep(0.02)
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # only the first actor dies
        except FileExistsError:
            return
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)

    return hook


def test_actor_killed_mid_chunk_is_replaced_and_every_sample_is_written_exactly_once(reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "ray"
    marker = tmp_path / "killed.pid"
    n = TINY_JOB["count"]
    # chunks [0,1] [2,3] [4,5]: the actor dies on 5 after writing 4 (so the redo must skip 4)
    stats = run_ray(tiny_cfg(out), num_workers=2, chunk_size=2, before_sample=kill_self_at(5, out, marker, wait_for=4))
    assert marker.exists(), "the fault was not injected"
    assert stats.failures == 1 and stats.actors_started == 3
    assert sorted(stats.written) == list(range(n))
    scan = scan_manifest(out)
    assert scan.duplicates == 0 and scan.n_lines == n and not scan.bad_lines
    assert_same_dataset(out, reference)


def test_workers_recycle_and_progress_is_aggregated(reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "ray"
    seen: list[tuple[int, int]] = []
    n = TINY_JOB["count"]
    stats = run_ray(tiny_cfg(out), num_workers=2, chunk_size=2, recycle_after=2, progress=lambda d, t: seen.append((d, t)))
    # 3 chunks of 2 on 2 slots: every process is retired after its 2 samples while work remains
    # (how many spare actors start depends on timing: one may retire while the other restarts).
    pids = [pid for pid, _, _ in stats.rss_mb]
    assert len(pids) == len(set(pids)) == n // 2  # one chunk per process
    assert all(samples == 2 for _, samples, _ in stats.rss_mb)
    assert stats.recycled >= 1 and stats.actors_started == stats.workers + stats.recycled
    assert seen[0] == (0, n) and seen[-1] == (n, n)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert_same_dataset(out, reference)
    # Resume: a second run finds everything done and starts no actor.
    again = run_ray(tiny_cfg(out), num_workers=2)
    assert again.skipped == list(range(n)) and again.written == [] and again.actors_started == 0


def test_a_chunk_that_keeps_killing_workers_fails_the_job(tmp_path: Path) -> None:
    out = tmp_path / "ray"

    def always_die(i: int) -> None:
        if i == 2:
            os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(FarmError, match="killed 2 workers"):
        run_ray(tiny_cfg(out), ids=[2], num_workers=1, max_chunk_retries=2, before_sample=always_die)


def test_an_exception_in_a_worker_fails_the_job_at_once(tmp_path: Path) -> None:
    def boom(i: int) -> None:
        raise ValueError(f"cannot render {i}")

    with pytest.raises(FarmError, match="cannot render 3"):
        run_ray(tiny_cfg(tmp_path / "ray"), ids=[3], num_workers=1, before_sample=boom)


def test_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(FarmError, match="--device gpu"):
        run_ray(tiny_cfg(tmp_path / "a"), gpus_per_worker=1)
    gpu_cfg = tiny_cfg(tmp_path / "b", render={"resolution": 64, "samples": 1, "device": "gpu"})
    with pytest.raises(FarmError, match="no room for one worker of 1.0 GPU"):
        run_ray(gpu_cfg, gpus_per_worker=1.0)


def test_render_command_with_executor_ray(reference: Path, tiny_job_yaml: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from synth.cli import cli

    if "executor" not in {p.name for p in cli.commands["render"].params}:
        pytest.fail("synth render has no --executor option (synth.farm.cli.farm_options is not wired into it)")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["render", "--config", str(tiny_job_yaml), "--out", str(out), "--executor", "ray",
                                   "--workers", "2", "--chunk-size", "3"])
    assert res.exit_code == 0, res.output
    assert "with 2 Ray worker(s)" in res.output
    assert_same_dataset(out, reference)
    res = CliRunner().invoke(cli, ["render", "--config", str(tiny_job_yaml), "--out", str(out), "--workers", "2"])
    assert res.exit_code == 2 and "need --executor ray" in res.output
