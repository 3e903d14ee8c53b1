"""Render a job on a Ray cluster: long-lived render actors pulling chunks of ids, exactly once.

Design:

* one actor per CPU slot (``cpus_per_worker`` cores, Cycles threads set to match) or GPU slot
  (``gpus_per_worker``; Ray sets ``CUDA_VISIBLE_DEVICES`` so each actor sees its own GPU). Each
  actor builds the hand rigs and the Blender scene once (:class:`synth.farm.worker.RenderWorker`)
  and writes its samples itself into the output directory (a shared filesystem on a multi-node
  cluster) with the dataset writer: atomic files, one ``O_APPEND`` manifest line per sample;
* the driver keeps a queue of chunks of ids and hands the next chunk to whichever actor is idle
  (pull scheduling: fast and slow nodes stay busy);
* fault tolerance: when an actor dies (killed, out of memory, node lost), the driver starts a
  replacement and puts its chunk back at the head of the queue. The redo skips ids whose manifest
  line the dead actor had already appended (only the manifest's tail written since the chunk was
  handed out is read), so every id ends up in the manifest exactly once. A chunk that kills
  ``max_chunk_retries`` actors in a row fails the job (a poison sample must not loop forever);
  an ordinary Python exception in an actor fails the job at once;
* recycling: an actor that has rendered ``recycle_after`` samples is retired after its chunk and
  replaced by a fresh process, which bounds Blender's memory growth;
* progress: actors report per-sample progress to a small progress actor; the driver aggregates it
  for one progress callback (``progress(done, total)``).

Ray is imported lazily (extra ``farm``).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from synth.config import JobConfig

logger = logging.getLogger(__name__)


class FarmError(RuntimeError):
    """The distributed job cannot run or failed (one-line message)."""


@dataclass
class Chunk:
    """A unit of work: ``ids`` to render; ``redo_offset`` is the manifest size when a failed
    attempt started (None on the first attempt)."""

    index: int
    ids: list[int]
    attempts: int = 0
    redo_offset: int | None = None


@dataclass
class RayStats:
    """What :func:`run_ray` did.

    Attributes:
        written: ids written by this run (each once).
        skipped: ids already complete in the output directory (resume).
        chunks: number of chunks.
        workers: number of actor slots.
        actors_started: actors created (workers + replacements + recycled).
        failures: actors that died mid-chunk (their chunks were redone).
        recycled: actors retired after ``recycle_after`` samples.
        seconds: wall-clock time of the run.
        rss_mb: (actor pid, samples rendered by it, resident memory in MiB) after each chunk.
    """

    written: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    chunks: int = 0
    workers: int = 0
    actors_started: int = 0
    failures: int = 0
    recycled: int = 0
    seconds: float = 0.0
    rss_mb: list[tuple[int, int, float]] = field(default_factory=list)


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux ``/proc``; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RenderActor:
    """The actor body (wrapped by ``ray.remote`` in :func:`run_ray`): one scene, many chunks.

    Args:
        cfg_dict: ``JobConfig.to_dict()`` of the job.
        threads: Cycles CPU threads (None: the config's).
        device: renderer device override (``"gpu"`` for GPU slots), or None.
        before_sample: optional hook called with each id before it renders (fault-injection tests).
    """

    def __init__(self, cfg_dict: dict[str, Any], threads: int | None, device: str | None,
                 before_sample: Callable[[int], None] | None = None) -> None:
        from synth.farm.worker import RenderWorker

        self.cfg = JobConfig.from_dict(cfg_dict)
        # only_ids=(): no manifest scan at start-up (the driver hands out only ids still to do).
        self.worker = RenderWorker(self.cfg, threads=threads, device=device, in_process_recycle=False, only_ids=())
        self.before_sample = before_sample

    def ready(self) -> int:
        """The actor's process id (returns once the scene is built)."""
        return os.getpid()

    def render_chunk(self, key: tuple[int, int], ids: list[int], redo_offset: int | None, progress: Any) -> dict[str, Any]:
        """Render a chunk; ``progress`` is the progress actor (or None). Returns counts and memory."""
        from synth.farm.worker import manifest_ids_since

        skip: set[int] = set()
        if redo_offset is not None:
            skip = manifest_ids_since(self.cfg.out, redo_offset) & set(ids)  # type: ignore[arg-type]
        n = [len(skip)]

        def tick(_i: int) -> None:
            n[0] += 1
            if progress is not None:
                progress.report.remote(key, n[0])

        if skip and progress is not None:
            progress.report.remote(key, n[0])
        written = self.worker.render_ids(ids, skip=skip, progress=tick, before_sample=self.before_sample)
        failed = {i: r for i, r in self.worker.failed.items() if i in set(ids)}
        if failed:  # recorded in failures.jsonl by the worker; a Ray job still stops at once (one line)
            i = min(failed)
            raise RuntimeError(f"sample {i} failed: {failed[i]} (see failures.jsonl)")
        return {"written": written, "skipped": sorted(skip), "pid": os.getpid(),
                "samples": self.worker.samples_rendered, "rss_mb": rss_mb()}

    def close(self) -> None:
        """Flush the writer and free the renderer (before a graceful retirement)."""
        self.worker.close()


class ProgressTracker:
    """The progress actor body: samples done per in-flight chunk attempt."""

    def __init__(self) -> None:
        self.counts: dict[tuple[int, int], int] = {}
        self.closed: set[tuple[int, int]] = set()

    def report(self, key: tuple[int, int], n: int) -> None:
        if key not in self.closed:
            self.counts[key] = max(n, self.counts.get(key, 0))

    def finish(self, key: tuple[int, int]) -> None:
        self.closed.add(key)
        self.counts.pop(key, None)

    def in_flight(self) -> int:
        return sum(self.counts.values())


def default_chunk_size(n: int, workers: int, recycle_after: int = 0) -> int:
    """About 8 chunks per worker, 1..64 ids each, and no more than ``recycle_after``."""
    size = max(1, min(64, math.ceil(n / max(1, workers * 8))))
    return min(size, recycle_after) if recycle_after else size


def run_ray(
    cfg: JobConfig,
    ids: Iterable[int] | None = None,
    *,
    address: str | None = None,
    num_workers: int | None = None,
    cpus_per_worker: float = 1.0,
    gpus_per_worker: float = 0.0,
    chunk_size: int | None = None,
    recycle_after: int | None = None,
    max_chunk_retries: int = 3,
    progress: Callable[[int, int], None] | None = None,
    before_sample: Callable[[int], None] | None = None,
    ray_init_kwargs: dict[str, Any] | None = None,
) -> RayStats:
    """Render ``ids`` of ``cfg`` into ``cfg.out`` on a Ray cluster, each id exactly once.

    Args:
        cfg: the job (``cfg.out`` must be set, on a filesystem every node sees).
        ids: ids to render (default the job's ``start .. start + count - 1``); ids already complete
            in ``cfg.out`` are skipped (resume).
        address: Ray cluster (``"auto"``, ``"ray://host:10001"``); None starts a local one, or uses
            the one this process already initialised.
        num_workers: actor slots (default: the cluster's CPUs / ``cpus_per_worker``, or its GPUs /
            ``gpus_per_worker`` when that is > 0).
        cpus_per_worker: CPUs reserved per actor; CPU actors render with that many threads.
        gpus_per_worker: GPUs per actor (> 0 needs ``cfg.render.device == "gpu"``).
        chunk_size: ids per chunk (default :func:`default_chunk_size`).
        recycle_after: samples after which an actor process is replaced (default
            ``cfg.render.recycle_after``; 0 never).
        max_chunk_retries: actor deaths one chunk may cause before the job fails.
        progress: called as ``progress(done, total)`` while rendering (done includes skipped ids).
        before_sample: hook run in the actor before each sample (fault-injection tests).
        ray_init_kwargs: extra ``ray.init`` arguments when this call starts Ray.

    Returns:
        :class:`RayStats`.

    Raises:
        FarmError: bad arguments, no resources, an actor failing to start or raising, a chunk
            killing too many actors, or a manifest that does not hold every id exactly once.
    """
    from synth._lazy import require
    from synth.dataset.layout import scan_manifest
    from synth.dataset.meta import dataset_meta

    ray = require("ray")
    if not cfg.out:
        raise FarmError("the job has no output directory (out)")
    if gpus_per_worker < 0 or cpus_per_worker <= 0:
        raise FarmError("--gpus-per-worker must be >= 0 and cpus per worker > 0")
    if gpus_per_worker > 0 and cfg.render.device != "gpu":
        raise FarmError("--gpus-per-worker needs --device gpu (the job renders on the CPU)")
    if max_chunk_retries < 1:
        raise FarmError("max_chunk_retries must be >= 1")
    t0 = time.perf_counter()
    stats = RayStats()
    all_ids = list(range(cfg.start, cfg.start + cfg.count)) if ids is None else sorted(set(int(i) for i in ids))

    # The driver does the one repairing recovery and writes dataset.json before any actor starts.
    from synth.dataset.writer import DatasetWriter

    boot = DatasetWriter(cfg.out, dataset_meta(cfg), resume=True, background=False)
    done_before = boot.completed_ids()
    boot.close()
    todo = [i for i in all_ids if i not in done_before]
    stats.skipped = [i for i in all_ids if i in done_before]
    total = len(all_ids)
    if progress is not None:
        progress(len(stats.skipped), total)
    if not todo:
        stats.seconds = time.perf_counter() - t0
        return stats

    started_ray = False
    if not ray.is_initialized():
        kw = {"address": address, "log_to_driver": logger.isEnabledFor(logging.DEBUG)}
        kw.update(ray_init_kwargs or {})
        try:
            ray.init(**kw)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise FarmError(f"cannot connect to the Ray cluster at {address!r}: {str(exc).splitlines()[0]}") from exc
        started_ray = True
    try:
        res = ray.cluster_resources()
        if num_workers is None:
            slots = res.get("GPU", 0) / gpus_per_worker if gpus_per_worker > 0 else res.get("CPU", 0) / cpus_per_worker
            num_workers = int(slots + 1e-9)
        if num_workers < 1:
            kind = f"{gpus_per_worker} GPU" if gpus_per_worker > 0 else f"{cpus_per_worker} CPU"
            raise FarmError(f"the Ray cluster has no room for one worker of {kind} (resources: {res})")
        recycle = cfg.render.recycle_after if recycle_after is None else recycle_after
        size = chunk_size or default_chunk_size(len(todo), num_workers, recycle)
        queue = deque(Chunk(k, todo[b:b + size]) for k, b in enumerate(range(0, len(todo), size)))
        stats.chunks = len(queue)
        num_workers = min(num_workers, len(queue))
        stats.workers = num_workers
        logger.info("ray: %d ids in %d chunks of <= %d on %d worker(s) (%s CPU, %s GPU each), recycle after %s",
                    len(todo), len(queue), size, num_workers, cpus_per_worker, gpus_per_worker, recycle or "never")
        _Scheduler(ray, cfg, stats, cpus_per_worker, gpus_per_worker, recycle, max_chunk_retries, before_sample).run(
            queue, num_workers, progress, len(stats.skipped), total)
    finally:
        if started_ray:
            ray.shutdown()

    scan = scan_manifest(cfg.out)
    got = [i for i in all_ids if i in scan.entries]
    if scan.duplicates or len(got) != len(all_ids):
        raise FarmError(f"{cfg.out}: the manifest holds {len(got)} of {len(all_ids)} ids with {scan.duplicates} duplicate line(s)")
    stats.written.sort()
    stats.seconds = time.perf_counter() - t0
    return stats


class _Scheduler:
    """The driver's scheduling loop: start actors, hand out chunks, replace dead and worn-out actors."""

    def __init__(self, ray: Any, cfg: JobConfig, stats: RayStats, cpus: float, gpus: float, recycle: int, max_retries: int,
                 before_sample: Callable[[int], None] | None) -> None:
        self.ray, self.cfg, self.stats = ray, cfg, stats
        self.recycle, self.max_retries, self.before_sample = recycle, max_retries, before_sample
        self.actor_cls = ray.remote(num_cpus=cpus, num_gpus=gpus, max_restarts=0, max_task_retries=0)(RenderActor)
        self.tracker = ray.remote(num_cpus=0)(ProgressTracker).remote()
        self.cfg_dict = cfg.to_dict()
        self.threads = None if gpus > 0 else max(1, int(cpus))
        self.device = "gpu" if gpus > 0 else None
        self.starting: dict[Any, int] = {}  # ready ref -> slot
        self.handles: dict[int, Any] = {}  # slot -> actor
        self.samples: dict[int, int] = {}  # slot -> samples rendered by its current process
        self.idle: deque[int] = deque()
        self.busy: dict[Any, tuple[int, Chunk, tuple[int, int]]] = {}  # chunk ref -> (slot, chunk, key)

    def start(self, slot: int) -> None:
        h = self.actor_cls.remote(self.cfg_dict, self.threads, self.device, self.before_sample)
        self.handles[slot] = h
        self.samples[slot] = 0
        self.starting[h.ready.remote()] = slot
        self.stats.actors_started += 1

    def retire(self, slot: int) -> None:
        from ray.exceptions import RayActorError

        h = self.handles.pop(slot)
        try:
            self.ray.get(h.close.remote())
        except RayActorError:
            pass
        self.ray.kill(h, no_restart=True)

    def run(self, queue: deque[Chunk], num_workers: int, progress: Callable[[int, int], None] | None,
            done: int, total: int) -> None:
        try:
            self._run(queue, num_workers, progress, done, total)
        finally:
            for h in self.handles.values():  # already retired on success; on an error, stop them
                self.ray.kill(h, no_restart=True)
            self.ray.kill(self.tracker)

    def _run(self, queue: deque[Chunk], num_workers: int, progress: Callable[[int, int], None] | None,
             done: int, total: int) -> None:
        from ray.exceptions import RayActorError, RayTaskError, WorkerCrashedError

        from synth.farm.worker import manifest_size

        ray, stats, busy, idle, starting = self.ray, self.stats, self.busy, self.idle, self.starting
        for slot in range(num_workers):
            self.start(slot)
        last_poll = 0.0
        shown = done
        while queue or busy:
            while idle and queue:
                slot = idle.popleft()
                chunk = queue.popleft()
                key = (chunk.index, chunk.attempts)
                offset = manifest_size(self.cfg.out)  # type: ignore[arg-type]
                ref = self.handles[slot].render_chunk.remote(key, chunk.ids, chunk.redo_offset, self.tracker)
                busy[ref] = (slot, chunk, key)
                chunk.attempts += 1
                if chunk.redo_offset is None:
                    chunk.redo_offset = offset  # where a redo of this chunk starts reading the manifest
            if not busy and not starting:
                break
            ready, _ = ray.wait([*starting, *busy], num_returns=1, timeout=0.25)
            for ref in ready:
                if ref in starting:
                    slot = starting.pop(ref)
                    try:
                        pid = ray.get(ref)
                    except (RayActorError, RayTaskError) as exc:
                        raise FarmError(f"a render worker failed to start: {_short(exc)}") from exc
                    logger.debug("worker slot %d ready (pid %d)", slot, pid)
                    idle.append(slot)
                    continue
                slot, chunk, key = busy.pop(ref)
                try:
                    out = ray.get(ref)
                except (RayActorError, WorkerCrashedError) as exc:
                    stats.failures += 1
                    self.tracker.finish.remote(key)
                    logger.warning("worker slot %d died during chunk %d (attempt %d): %s; redoing the chunk on a new worker",
                                   slot, chunk.index, chunk.attempts, _short(exc))
                    if chunk.attempts >= self.max_retries:
                        raise FarmError(f"chunk {chunk.index} (ids {chunk.ids[0]}..{chunk.ids[-1]}) killed {chunk.attempts} "
                                        "workers; giving up (see the worker logs)") from exc
                    self.handles.pop(slot, None)
                    queue.appendleft(chunk)
                    self.start(slot)
                    continue
                except RayTaskError as exc:
                    raise FarmError(f"rendering chunk {chunk.index} failed: {_short(exc)}") from exc
                self.tracker.finish.remote(key)
                stats.written.extend(out["written"] + out["skipped"])  # skipped: written by a dead actor of this run
                done += len(chunk.ids)
                self.samples[slot] = out["samples"]
                stats.rss_mb.append((out["pid"], out["samples"], out["rss_mb"]))
                if self.recycle and self.samples[slot] >= self.recycle and queue:
                    logger.info("recycling worker slot %d (pid %d) after %d samples, %.0f MiB", slot, out["pid"],
                                out["samples"], out["rss_mb"])
                    self.retire(slot)
                    stats.recycled += 1
                    self.start(slot)
                else:
                    idle.append(slot)
            now = time.perf_counter()
            if progress is not None and now - last_poll > 0.2:
                last_poll = now
                # Monotone: a dead actor's in-flight count vanishes, but the samples it wrote are
                # skipped (and counted at once) by the redo.
                shown = max(shown, min(total, done + ray.get(self.tracker.in_flight.remote())))
                progress(shown, total)
        if progress is not None:
            progress(done, total)
        for slot in list(self.handles):
            self.retire(slot)


def _short(exc: BaseException) -> str:
    lines = [s for s in str(exc).splitlines() if s.strip()]
    return lines[-1][:300] if lines else type(exc).__name__
