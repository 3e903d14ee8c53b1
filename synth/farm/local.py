"""Render one shard of a job in this process (array-job tasks, local multi-process runs)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from synth.config import JobConfig

if TYPE_CHECKING:
    from synth.farm.worker import RenderWorker

logger = logging.getLogger(__name__)


@dataclass
class ShardStats:
    """What :func:`render_ids` did: ids written, ids already complete, wall-clock seconds."""

    written: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0


def render_ids(
    cfg: JobConfig,
    ids: Iterable[int],
    progress: Callable[[int], None] | None = None,
    threads: int | None = None,
) -> ShardStats:
    """Render ``ids`` of ``cfg`` into ``cfg.out``, skipping ids already complete there.

    Safe while other processes write other ids into the same directory (see
    :class:`synth.farm.worker.SharedDirWriter`); the scene is built once for the whole shard.

    Args:
        cfg: the job (``cfg.out`` must be set).
        ids: the shard's ids, e.g. from :func:`synth.farm.sharding.shard_range`.
        progress: called with each id written or skipped.
        threads: CPU render threads for this process (None: ``cfg.render.threads``).
    """
    t0 = time.perf_counter()
    ids = list(ids)
    stats = ShardStats()
    worker = _open_worker(cfg, threads, ids)
    try:
        done = worker.completed_ids()
        stats.skipped = [i for i in ids if i in done]
        for i in stats.skipped:
            if progress is not None:
                progress(i)
        stats.written = worker.render_ids([i for i in ids if i not in done], progress=progress)
        stats.failed = dict(worker.failed)
    finally:
        worker.close()
    stats.seconds = time.perf_counter() - t0
    return stats


def _open_worker(cfg: JobConfig, threads: int | None, ids: list[int]) -> RenderWorker:
    from synth.farm.worker import RenderWorker

    return RenderWorker(cfg, threads=threads, only_ids=ids)
