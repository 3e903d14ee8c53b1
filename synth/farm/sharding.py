"""Deterministic sharding of a job's sample ids, and array-job environment detection.

A job's ids (``start .. start + count - 1``) are split into ``N`` contiguous, balanced blocks:
shard ``I`` gets ``ids[floor(I * n / N) : floor((I + 1) * n / N)]``. The split depends only on
the id list and ``N`` (never on the machine, the time or the environment), the shards are
disjoint, cover every id, and their sizes differ by at most one. Because sample ``i`` depends
only on ``(seed, i)``, any split renders the same samples as one process would.

Which shard a process renders comes from, in order:

1. ``--shard I/N`` (0-based ``I``);
2. Slurm job arrays: ``SLURM_ARRAY_TASK_ID`` with ``SLURM_ARRAY_TASK_MIN`` /
   ``SLURM_ARRAY_TASK_COUNT`` (and ``SLURM_ARRAY_TASK_STEP``): shard ``(ID - MIN) / STEP`` of
   ``COUNT``. With ``--num-shards N`` the task id itself is the shard index (``0 <= ID < N``),
   which lets you resubmit a few failed shards (``sbatch --array=3,17 ...``);
3. Kubernetes Indexed Jobs: ``JOB_COMPLETION_INDEX`` with ``--num-shards`` (the Job's
   ``completions``; Kubernetes does not expose it to the pod);
4. nothing: one shard, ``0/1``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)

SLURM_ID = "SLURM_ARRAY_TASK_ID"
SLURM_COUNT = "SLURM_ARRAY_TASK_COUNT"
SLURM_MIN = "SLURM_ARRAY_TASK_MIN"
SLURM_MAX = "SLURM_ARRAY_TASK_MAX"
SLURM_STEP = "SLURM_ARRAY_TASK_STEP"
K8S_INDEX = "JOB_COMPLETION_INDEX"


class ShardError(ValueError):
    """A shard specification or array-job environment that cannot be used (one-line message)."""


@dataclass(frozen=True)
class ShardSpec:
    """Shard ``index`` of ``count`` (0-based), and where that came from.

    Attributes:
        index: 0 <= index < count.
        count: number of shards, >= 1.
        source: ``"--shard"``, ``"slurm"``, ``"kubernetes"`` or ``"default"`` (no sharding).
    """

    index: int
    count: int
    source: str = "--shard"

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ShardError(f"the number of shards must be >= 1, got {self.count}")
        if not 0 <= self.index < self.count:
            raise ShardError(f"shard index {self.index} is outside 0..{self.count - 1}")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> tuple[int, int]:
    """Parse ``"I/N"`` (0-based ``I``) into ``(I, N)``; :class:`ShardError` when malformed."""
    i_s, sep, n_s = str(text).strip().partition("/")
    try:
        if not sep:
            raise ValueError
        i, n = int(i_s), int(n_s)
    except ValueError:
        raise ShardError(f"--shard must look like I/N with integers, 0 <= I < N (e.g. 3/16), got {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise ShardError(f"--shard {text}: need N >= 1 and 0 <= I < N (shards are numbered from 0)")
    return i, n


def _env_int(environ: Mapping[str, str], name: str) -> int | None:
    raw = environ.get(name)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        return int(str(raw).strip())
    except ValueError:
        raise ShardError(f"environment variable {name}={raw!r} is not an integer") from None


def resolve_shard(shard: str | None, num_shards: int | None, environ: Mapping[str, str]) -> ShardSpec:
    """Decide which shard this process renders (see the module docstring for the rules).

    Args:
        shard: the ``--shard I/N`` value, or None.
        num_shards: the ``--num-shards N`` value, or None.
        environ: the process environment (``os.environ``), passed explicitly for testing.

    Returns:
        the :class:`ShardSpec`; its ``source`` says which rule applied (also logged at INFO).

    Raises:
        ShardError: malformed values, an index outside the shard count, a Kubernetes index
            without ``--num-shards``, a non-contiguous Slurm array without ``--num-shards``,
            or ``--num-shards`` with nothing to say which shard this is.
    """
    if num_shards is not None and num_shards < 1:
        raise ShardError(f"--num-shards must be >= 1, got {num_shards}")
    if shard is not None:
        i, n = parse_shard(shard)
        if num_shards is not None and num_shards != n:
            raise ShardError(f"--shard {shard} disagrees with --num-shards {num_shards}")
        spec = ShardSpec(i, n, "--shard")
        ignored = [v for v in (SLURM_ID, K8S_INDEX) if environ.get(v) not in (None, "")]
        logger.info("rendering shard %s (from --shard%s)", spec, f"; ignoring {', '.join(ignored)}" if ignored else "")
        return spec

    task_id = _env_int(environ, SLURM_ID)
    if task_id is not None:
        spec = _slurm(task_id, num_shards, environ)
        logger.info("rendering shard %s (from the Slurm array: %s=%d)", spec, SLURM_ID, task_id)
        return spec

    k8s = _env_int(environ, K8S_INDEX)
    if k8s is not None:
        if num_shards is None:
            raise ShardError(
                f"{K8S_INDEX}={k8s} is set (Kubernetes Indexed Job) but --num-shards is not: "
                "pass --num-shards equal to the Job's completions"
            )
        if not 0 <= k8s < num_shards:
            raise ShardError(f"{K8S_INDEX}={k8s} is outside 0..{num_shards - 1} (--num-shards {num_shards})")
        spec = ShardSpec(k8s, num_shards, "kubernetes")
        logger.info("rendering shard %s (from the Kubernetes Indexed Job: %s=%d)", spec, K8S_INDEX, k8s)
        return spec

    if num_shards is not None and num_shards != 1:
        raise ShardError(
            f"--num-shards {num_shards} needs a shard index: pass --shard I/{num_shards}, or run as a "
            f"Slurm array task ({SLURM_ID}) or a Kubernetes Indexed Job ({K8S_INDEX})"
        )
    logger.info("rendering all ids (no --shard and no array-job environment)")
    return ShardSpec(0, 1, "default")


def _slurm(task_id: int, num_shards: int | None, environ: Mapping[str, str]) -> ShardSpec:
    if num_shards is not None:
        # The array task ids are the shard indices (--array=0-(N-1), or a resubmitted subset).
        if not 0 <= task_id < num_shards:
            raise ShardError(
                f"{SLURM_ID}={task_id} is outside 0..{num_shards - 1} (--num-shards {num_shards}): "
                f"submit with --array=0-{num_shards - 1} (or a subset of it)"
            )
        return ShardSpec(task_id, num_shards, "slurm")
    count = _env_int(environ, SLURM_COUNT)
    lo = _env_int(environ, SLURM_MIN)
    if count is None or lo is None:
        raise ShardError(
            f"{SLURM_ID}={task_id} is set but {SLURM_COUNT}/{SLURM_MIN} are not (not an array job?): "
            "pass --shard I/N or --num-shards N"
        )
    step = _env_int(environ, SLURM_STEP) or 1
    hi = _env_int(environ, SLURM_MAX)
    if step < 1 or (hi is not None and (hi - lo) // step + 1 != count) or (task_id - lo) % step:
        raise ShardError(
            f"the Slurm array is not a contiguous range (min {lo}, max {hi}, step {step}, count {count}): "
            "pass --num-shards N so the array task id is the shard index"
        )
    return ShardSpec((task_id - lo) // step, count, "slurm")


def shard_bounds(n: int, spec: ShardSpec) -> tuple[int, int]:
    """``(begin, end)`` positions of shard ``spec`` in a list of ``n`` ids (end exclusive)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return spec.index * n // spec.count, (spec.index + 1) * n // spec.count


def shard_ids(all_ids: Sequence[int], spec: ShardSpec) -> list[int]:
    """The ids of shard ``spec``: a contiguous block of the sorted, de-duplicated ``all_ids``."""
    ids = sorted(set(int(i) for i in all_ids))
    b, e = shard_bounds(len(ids), spec)
    return ids[b:e]


def shard_range(start: int, count: int, spec: ShardSpec) -> range:
    """The ids of shard ``spec`` of the job ids ``start .. start + count - 1`` (no list built)."""
    b, e = shard_bounds(count, spec)
    return range(start + b, start + e)


def partition(all_ids: Sequence[int], num_shards: int) -> list[list[int]]:
    """All ``num_shards`` shards of ``all_ids``, in shard order."""
    return [shard_ids(all_ids, ShardSpec(i, num_shards)) for i in range(num_shards)]
