"""A render worker for scale-out: scene built once, samples written into a shared dataset directory.

Several processes (array-job shards, Ray actors) may write into one dataset directory at the same
time. :class:`DatasetWriter` makes each sample atomic (files renamed into place, then one
``O_APPEND`` manifest line), which is safe across processes; but its start-up *recovery* rewrites
the manifest and deletes ``.tmp`` files, which would race with the other writers. So workers use
:class:`SharedDirWriter`, whose start-up only reads: it never rewrites the manifest and never
deletes temporaries (the driver, or the next single-process resume, does the repair).

:class:`RenderWorker` renders with the same functions as :func:`synth.render.job.run_job`
(``plan -> pose -> render -> label``), so its files are byte-identical to a single-process run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

from synth.config import JobConfig
from synth.dataset.layout import MANIFEST, ManifestEntry, scan_manifest, verify_sample
from synth.dataset.writer import DatasetWriter

logger = logging.getLogger(__name__)


class SharedDirWriter(DatasetWriter):
    """A :class:`DatasetWriter` that can share its directory with concurrent writers.

    Start-up reads the manifest and returns the complete ids without repairing anything. A
    manifest left without a final newline (a writer killed mid-append) gets one, so the next line
    starts cleanly; the torn line is skipped by every reader.

    Args:
        only_ids: the ids this writer cares about (its shard): only their manifest lines are parsed
            and only their files checked, which matters with a million samples on a network
            filesystem. An empty collection skips the scan (Ray actors: the driver knows what to do).
        other arguments: as :class:`DatasetWriter`.
    """

    shared_directory = True  # the directory lock is shared with the other shards of this job

    def __init__(self, out_dir: str | os.PathLike[str], dataset_meta: Any, *args: Any,
                 only_ids: Collection[int] | None = None, **kwargs: Any) -> None:
        self._only = None if only_ids is None else frozenset(int(i) for i in only_ids)
        super().__init__(out_dir, dataset_meta, *args, **kwargs)

    def _recover(self) -> set[int]:  # overrides the writer's repairing recovery
        path = self.root / MANIFEST
        if path.exists() and path.stat().st_size > 0:
            with open(path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                torn = f.read(1) != b"\n"
            if torn:
                logger.warning("%s ends with a torn line (a writer was killed mid-append); starting a new line", path)
                fd = os.open(path, os.O_WRONLY | os.O_APPEND)
                try:
                    os.write(fd, b"\n")
                finally:
                    os.close(fd)
        if self._only is not None and not self._only:
            return set()
        done: set[int] = set()
        for sid, e in _scan(path, self._only).items():
            if not verify_sample(self.root, e, check_hash=self.verify):  # size always, sha256 with verify
                done.add(sid)
        return done


def _scan(path: Path, only: frozenset[int] | None) -> dict[int, ManifestEntry]:
    """Manifest entries (last line of an id wins), parsing only the lines of ``only`` when given:
    the writer puts ``{"id":N,`` first, so other lines are skipped without JSON decoding."""
    if only is None:
        return scan_manifest(path.parent).entries
    entries: dict[int, ManifestEntry] = {}
    if not path.exists():
        return entries
    with open(path, "rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                continue  # torn
            if raw.startswith(b'{"id":'):
                head = raw[6:raw.find(b",", 6)]
                if head.isdigit() and int(head) not in only:
                    continue
            try:
                e = ManifestEntry.from_json(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                continue
            if e.id in only:
                entries[e.id] = e
    return entries


#: Lock file serialising the writers' start-up in a shared dataset directory (hidden: ignored by
#: the writer's "is this directory empty" check and by validation).
LOCK_NAME = ".synth-farm.lock"


@contextlib.contextmanager
def directory_lock(root: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``root/.synth-farm.lock`` (created with ``root``).

    Shards that start together on one directory would otherwise race on writing ``dataset.json``
    (same temporary name): measured, one of two local shards failed about one run in two. The lock
    is released when the block ends or the process dies. Where ``flock`` is unsupported (some
    network filesystems) it degrades to no locking.
    """
    import fcntl

    Path(root).mkdir(parents=True, exist_ok=True)
    fd = os.open(Path(root) / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            logger.warning("cannot lock %s (%s); starting without the lock", root, exc.strerror)
        yield
    finally:
        os.close(fd)


def manifest_ids_since(root: str | os.PathLike[str], offset: int) -> set[int]:
    """Ids of the complete manifest lines of ``root`` that start at or after byte ``offset``.

    Cheap "what did a dead worker finish" check: a chunk's samples can only have been appended
    after the chunk was handed out, so only the manifest's tail needs reading.
    """
    path = Path(root) / MANIFEST
    if not path.exists():
        return set()
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    ids: set[int] = set()
    for raw in data.split(b"\n")[:-1]:  # the last piece has no newline: torn or empty
        try:
            ids.add(ManifestEntry.from_json(raw.decode("utf-8")).id)
        except (ValueError, UnicodeDecodeError):
            continue
    return ids


def manifest_size(root: str | os.PathLike[str]) -> int:
    """Current byte size of ``root/manifest.jsonl`` (0 when absent)."""
    try:
        return (Path(root) / MANIFEST).stat().st_size
    except OSError:
        return 0


class RenderWorker:
    """A :class:`synth.render.job.RenderSession` (rigs, sampler, scene: built once) writing into a
    shared dataset directory.

    Args:
        cfg: the job (``cfg.out`` must be set); the recorded ``dataset.json`` config is this one.
        threads: CPU render threads for this worker (None: ``cfg.render.threads``). Not part of
            the dataset's identity (it does not change the output bytes), so it is applied to the
            renderer only, never to the recorded config.
        device: render device override for the renderer only (``"gpu"`` on GPU workers).
        in_process_recycle: rebuild the renderer every ``cfg.render.recycle_after`` samples, as
            :func:`synth.render.job.run_job` does; the Ray executor recycles whole processes instead.
        only_ids: the ids this worker may render (see :class:`SharedDirWriter`); None: all.

    ``samples_rendered`` counts the samples rendered by this process.
    """

    def __init__(self, cfg: JobConfig, threads: int | None = None, device: str | None = None, in_process_recycle: bool = True,
                 only_ids: Collection[int] | None = None):
        from synth.dataset.meta import dataset_meta
        from synth.render.job import RenderSession

        if not cfg.out:
            raise ValueError("the job has no output directory (out)")
        if cfg.defects.fraction > 0:  # OUT/twins is written by run_job only (synth.defects.twin)
            raise ValueError("defects.fraction: defect twins are rendered by plain runs only, not by farm workers")
        self.cfg = cfg
        changes: dict[str, Any] = {}
        if threads is not None:
            changes["threads"] = int(threads)
        if device is not None:
            changes["device"] = device
        if not in_process_recycle:
            changes["recycle_after"] = 0
        session_cfg = cfg
        if not in_process_recycle and cfg.render.recycle_after:
            # recycle_after is not read by planning or labels; the session only uses it to rebuild.
            session_cfg = dataclasses.replace(cfg, render=dataclasses.replace(cfg.render, recycle_after=0))
        self.session = RenderSession(session_cfg, render_settings=dataclasses.replace(cfg.render, **changes))
        with directory_lock(cfg.out):
            self.writer = SharedDirWriter(cfg.out, dataset_meta(cfg), resume=True, only_ids=only_ids)
        self.samples_rendered = 0
        self.render_seconds = 0.0
        #: ``{id: one-line reason}`` of the samples that failed (also in ``failures.jsonl``).
        self.failed: dict[int, str] = {}

    def completed_ids(self) -> set[int]:
        """Ids complete in the output directory when this worker started, plus its own."""
        return self.writer.completed_ids()

    def render_ids(
        self,
        ids: Iterable[int],
        skip: Iterable[int] = (),
        progress: Callable[[int], None] | None = None,
        before_sample: Callable[[int], None] | None = None,
    ) -> list[int]:
        """Render and write ``ids`` (minus ``skip``); block until they are on disk.

        Args:
            ids: sample ids, rendered in this order.
            skip: ids known to be complete already.
            progress: called with each id after it is queued for writing.
            before_sample: test hook, called with each id before it renders.

        Returns:
            the ids written by this call.
        """
        from synth.farm.blas import blas_threads, set_blas_threads

        skip = set(skip)
        written: list[int] = []
        with blas_threads(1):  # label bytes independent of the core count (see synth.farm.blas)
            for i in ids:
                if i in skip:
                    continue
                if before_sample is not None:
                    before_sample(i)
                set_blas_threads(1)  # also BLAS libraries loaded since (e.g. scipy's)
                t = time.perf_counter()
                try:
                    s = self.session.render(i)
                    images, extra = self.session.files(s)
                except (KeyboardInterrupt, MemoryError):
                    raise
                except Exception as exc:  # noqa: BLE001 - contained: recorded in failures.jsonl, the shard goes on
                    from synth.render.job import append_failure, one_line

                    reason = one_line(exc)
                    logger.error("sample %d failed: %s", i, reason)
                    self.failed[i] = reason
                    append_failure(self.writer.root, i, reason)
                    self.session.reset()
                    continue
                finally:
                    self.render_seconds += time.perf_counter() - t
                self.samples_rendered += 1
                self.writer.write_sample(i, images, s.label, extra)
                written.append(i)
                if progress is not None:
                    progress(i)
            self.writer.flush()
        return written

    def close(self) -> None:
        """Finish writing and free the renderer."""
        try:
            self.writer.close()
        finally:
            self.session.close()
