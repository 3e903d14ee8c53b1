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
import inspect
import logging
import os
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from synth.config import JobConfig
from synth.dataset.layout import MANIFEST, ManifestEntry, scan_manifest
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
            if all((self.root / rel).exists() for rel in e.files.values()):
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


def _pose_sampler(cfg: JobConfig, find_pose_sampler: Callable[..., Any]) -> Any:
    """The pose sampler exactly as :func:`synth.render.job.run_job` sets it up.

    Mirrors run_job (the farm renders the same samples); copes with the signatures this function
    has had. TODO(render): replace with a session object exported by synth.render.job.
    """
    params = inspect.signature(find_pose_sampler).parameters
    source = getattr(cfg.hand, "pose_source", "auto")
    if source == "free":
        return None
    if len(params) >= 2:
        sampler = find_pose_sampler(cfg.hand.gestures, cfg.hand.pose_range)
    elif len(params) == 1:
        sampler = find_pose_sampler(cfg.hand.gestures)
    else:
        sampler = find_pose_sampler()
    if source == "gestures" and sampler is None:
        raise ValueError("hand.pose_source=gestures, but synth.gestures has no pose sampler")
    return sampler


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
    """Build the hand rigs and the renderer's scene once; render ids into ``cfg.out``.

    Args:
        cfg: the job (``cfg.out`` must be set); the recorded ``dataset.json`` config is this one.
        threads: CPU render threads for this worker (None: ``cfg.render.threads``). Not part of
            the dataset's identity (it does not change the output bytes), so it is applied to the
            renderer only, never to the recorded config.
        device: render device override for the renderer only (``"gpu"`` on GPU workers).
        in_process_recycle: rebuild the renderer every ``cfg.render.recycle_after`` samples.
        only_ids: the ids this worker may render (see :class:`SharedDirWriter`); None: all.

    ``samples_rendered`` counts the samples rendered by this process; ``cfg.render.recycle_after``
    rebuilds the renderer in-process after that many (as :func:`synth.render.job.run_job` does);
    the Ray executor recycles whole processes instead.
    """

    def __init__(self, cfg: JobConfig, threads: int | None = None, device: str | None = None, in_process_recycle: bool = True,
                 only_ids: Collection[int] | None = None):
        from synth.render.job import dataset_meta, find_describe, find_pose_sampler, hand_meshes, load_rigs

        if not cfg.out:
            raise ValueError("the job has no output directory (out)")
        self.cfg = cfg
        changes: dict[str, Any] = {}
        if threads is not None:
            changes["threads"] = int(threads)
        if device is not None:
            changes["device"] = device
        self.render_settings = dataclasses.replace(cfg.render, **changes)
        self._render_cfg = dataclasses.replace(cfg, render=self.render_settings)
        self.in_process_recycle = in_process_recycle
        with directory_lock(cfg.out):
            self.writer = SharedDirWriter(cfg.out, dataset_meta(cfg), resume=True, only_ids=only_ids)
        self.rigs = load_rigs(cfg)
        self.meshes = hand_meshes(self.rigs)
        self.pose_sampler = _pose_sampler(cfg, find_pose_sampler)
        self.describe = find_describe()
        self.renderer: Any = None
        self.samples_rendered = 0
        self._since_build = 0
        self.render_seconds = 0.0
        self._build()

    def _build(self) -> None:
        from synth.render.job import make_renderer

        t = time.perf_counter()
        self.renderer = make_renderer(self._render_cfg, self.meshes)
        self._since_build = 0
        logger.debug("renderer built in %.2f s (pid %d)", time.perf_counter() - t, os.getpid())

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
        from synth.farm.blas import blas_threads

        with blas_threads(1):  # label bytes independent of the core count (see synth.farm.blas)
            return self._render_ids(ids, set(skip), progress, before_sample)

    def _render_ids(
        self,
        ids: Iterable[int],
        skip: set[int],
        progress: Callable[[int], None] | None,
        before_sample: Callable[[int], None] | None,
    ) -> list[int]:
        from synth.dataset.writer import npz_bytes
        from synth.farm.blas import set_blas_threads
        from synth.render.job import render_sample

        written: list[int] = []
        cfg = self.cfg
        recycle = cfg.render.recycle_after if self.in_process_recycle else 0
        for i in ids:
            if i in skip:
                continue
            if recycle and self._since_build >= recycle:
                self.renderer.close()
                self._build()
            if before_sample is not None:
                before_sample(i)
            set_blas_threads(1)  # also BLAS libraries loaded since (e.g. scipy's)
            t = time.perf_counter()
            s = render_sample(cfg, i, self.rigs, self.renderer, self.pose_sampler, self.describe)
            self.render_seconds += time.perf_counter() - t
            self.samples_rendered += 1
            self._since_build += 1
            images = {k: getattr(s.passes, k) for k in cfg.output.passes}
            extra = None
            if cfg.output.save_mesh:
                extra = {"mesh": npz_bytes(vertices=s.vertices.astype(np.float64), faces=s.faces.astype(np.int32))}
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
            if self.renderer is not None:
                self.renderer.close()
                self.renderer = None
