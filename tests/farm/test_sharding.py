"""Sharding: partition properties and array-job environment detection (pure Python, fast)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from synth.farm.sharding import (
    ShardError,
    ShardSpec,
    parse_shard,
    partition,
    resolve_shard,
    shard_bounds,
    shard_ids,
    shard_range,
)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 100, 1001])
@pytest.mark.parametrize("k", [1, 2, 3, 16, 150])
def test_partition_is_disjoint_complete_balanced_and_ordered(n: int, k: int) -> None:
    ids = list(range(5, 5 + n))
    shards = partition(ids, k)
    assert len(shards) == k
    flat = [i for s in shards for i in s]
    assert flat == ids  # disjoint, complete, contiguous blocks in shard order
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 1
    for i, s in enumerate(shards):
        r = shard_range(5, n, ShardSpec(i, k))
        assert list(r) == s


def test_partition_is_deterministic_and_independent_of_input_order() -> None:
    rng = np.random.default_rng(0)
    ids = rng.choice(10_000, size=997, replace=False).tolist()
    shuffled = list(rng.permutation(ids))
    for k in (1, 4, 9):
        assert partition(ids, k) == partition(shuffled, k) == partition(ids + ids[:10], k)


def test_shard_bounds_match_the_documented_formula() -> None:
    n, k = 1_000_000, 7
    for i in range(k):
        assert shard_bounds(n, ShardSpec(i, k)) == (i * n // k, (i + 1) * n // k)
    assert sum(e - b for b, e in (shard_bounds(n, ShardSpec(i, k)) for i in range(k))) == n


def test_shard_ids_of_sparse_ids() -> None:
    assert shard_ids([10, 3, 7, 3, 99], ShardSpec(0, 2)) == [3, 7]
    assert shard_ids([10, 3, 7, 3, 99], ShardSpec(1, 2)) == [10, 99]


@pytest.mark.parametrize("text,expected", [("0/1", (0, 1)), ("3/16", (3, 16)), (" 15/16 ", (15, 16))])
def test_parse_shard(text: str, expected: tuple[int, int]) -> None:
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["3", "a/b", "16/16", "-1/4", "1/0", "1/2/3", ""])
def test_parse_shard_rejects(text: str) -> None:
    with pytest.raises(ShardError, match="--shard"):
        parse_shard(text)


def test_explicit_shard_wins_over_environment(caplog: pytest.LogCaptureFixture) -> None:
    env = {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "10", "SLURM_ARRAY_TASK_MIN": "0"}
    with caplog.at_level(logging.INFO, logger="synth.farm.sharding"):
        spec = resolve_shard("2/4", None, env)
    assert (spec.index, spec.count, spec.source) == (2, 4, "--shard")
    assert "ignoring SLURM_ARRAY_TASK_ID" in caplog.text
    with pytest.raises(ShardError, match="disagrees"):
        resolve_shard("2/4", 8, {})


def test_no_shard_no_environment_is_one_shard() -> None:
    assert resolve_shard(None, None, {}) == ShardSpec(0, 1, "default")
    assert resolve_shard(None, 1, {}) == ShardSpec(0, 1, "default")
    with pytest.raises(ShardError, match="needs a shard index"):
        resolve_shard(None, 4, {})


def test_slurm_array_detection(caplog: pytest.LogCaptureFixture) -> None:
    env = {"SLURM_ARRAY_TASK_ID": "12", "SLURM_ARRAY_TASK_COUNT": "10", "SLURM_ARRAY_TASK_MIN": "10",
           "SLURM_ARRAY_TASK_MAX": "19"}
    with caplog.at_level(logging.INFO, logger="synth.farm.sharding"):
        assert resolve_shard(None, None, env) == ShardSpec(2, 10, "slurm")
    assert "Slurm array" in caplog.text and "SLURM_ARRAY_TASK_ID=12" in caplog.text
    # --array=0-15:4 -> task ids 0, 4, 8, 12: four shards
    step = {"SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "0",
            "SLURM_ARRAY_TASK_MAX": "12", "SLURM_ARRAY_TASK_STEP": "4"}
    assert resolve_shard(None, None, step) == ShardSpec(2, 4, "slurm")


def test_slurm_every_task_of_an_array_gets_a_distinct_shard() -> None:
    seen = set()
    for tid in range(100, 132):
        env = {"SLURM_ARRAY_TASK_ID": str(tid), "SLURM_ARRAY_TASK_COUNT": "32", "SLURM_ARRAY_TASK_MIN": "100"}
        seen.add(resolve_shard(None, None, env).index)
    assert seen == set(range(32))


def test_slurm_errors_and_resubmission_with_num_shards() -> None:
    listed = {"SLURM_ARRAY_TASK_ID": "17", "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_MIN": "3",
              "SLURM_ARRAY_TASK_MAX": "17"}  # sbatch --array=3,17
    with pytest.raises(ShardError, match="not a contiguous range"):
        resolve_shard(None, None, listed)
    assert resolve_shard(None, 100, listed) == ShardSpec(17, 100, "slurm")
    with pytest.raises(ShardError, match="outside 0..9"):
        resolve_shard(None, 10, listed)
    with pytest.raises(ShardError, match="not an integer"):
        resolve_shard(None, None, {"SLURM_ARRAY_TASK_ID": "x"})
    with pytest.raises(ShardError, match="not an array job"):
        resolve_shard(None, None, {"SLURM_ARRAY_TASK_ID": "1"})


def test_kubernetes_indexed_job_detection() -> None:
    assert resolve_shard(None, 8, {"JOB_COMPLETION_INDEX": "7"}) == ShardSpec(7, 8, "kubernetes")
    with pytest.raises(ShardError, match="--num-shards is not"):
        resolve_shard(None, None, {"JOB_COMPLETION_INDEX": "7"})
    with pytest.raises(ShardError, match="outside 0..7"):
        resolve_shard(None, 8, {"JOB_COMPLETION_INDEX": "8"})
    with pytest.raises(ShardError, match=">= 1"):
        resolve_shard(None, 0, {"JOB_COMPLETION_INDEX": "0"})


def test_slurm_takes_precedence_over_kubernetes() -> None:
    env = {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_MIN": "0", "JOB_COMPLETION_INDEX": "0"}
    assert resolve_shard(None, None, env).source == "slurm"


def test_shard_spec_validates() -> None:
    with pytest.raises(ShardError):
        ShardSpec(3, 3)
    with pytest.raises(ShardError):
        ShardSpec(0, 0)
    assert str(ShardSpec(3, 16)) == "3/16"
