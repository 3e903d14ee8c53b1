"""One writer per dataset directory: an advisory ``flock`` on ``DATASET/.lock``.

* A plain job (``synth render`` in one process) holds the lock **exclusively** for its whole run.
* Shards of one job that share a directory (array tasks, Ray actors: see
  :class:`synth.farm.worker.SharedDirWriter`) hold it **shared**, and only together with shards
  of the same job: the lock file records the job fingerprint (sha256 of the job config without
  the keys that may differ between shards), and a shard of another job is refused. Shards of
  one job never lose or mix samples: every file is written under a unique temporary name and
  renamed into place, a sample of id *i* has the same bytes whichever shard writes it, and each
  sample's manifest line is one ``O_APPEND`` write.

While held, ``.lock`` holds one JSON line naming the holder (pid, host, start time, job
fingerprint, mode) so that a refused process can say who holds it; the last holder empties
it on release. The lock is released by the kernel when the process dies, so a killed job never
leaves a stale lock. On a filesystem without ``flock`` (some network mounts) a warning is logged
and the job runs unlocked.
"""

from __future__ import annotations

import datetime as _dt
import errno
import fcntl
import hashlib
import json
import logging
import os
import socket
from pathlib import Path
from typing import Any

from synth.dataset.layout import DatasetError

logger = logging.getLogger(__name__)

LOCK_FILE = ".lock"
GUARD_FILE = ".lock.guard"
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_UNSUPPORTED = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL)


class DatasetLockedError(DatasetError):
    """Another process holds the dataset directory's lock; the message names it (pid@host)."""


def job_fingerprint(config: Any) -> str:
    """Short sha256 of a JSON-able job config (keys sorted, compact separators)."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


def _holder_text(info: dict[str, Any]) -> str:
    if not info:
        return "another process (holder unknown)"
    return (
        f"pid {info.get('pid', '?')}@{info.get('host', '?')} since {info.get('started', '?')} "
        f"(job {info.get('job', '?')}, {info.get('mode', '?')})"
    )


def _open(root: Path, name: str) -> int:
    try:
        return os.open(root / name, os.O_RDWR | os.O_CREAT | _O_NOFOLLOW | _O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DatasetError(f"{root / name} is a symlink; refusing to use it as the dataset lock") from exc
        raise DatasetError(f"cannot open the lock file {root / name}: {exc.strerror}") from exc


def _read_info(fd: int) -> dict[str, Any]:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 4096)
        info = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError, UnicodeDecodeError):
        return {}


def _write_info(fd: int, info: dict[str, Any]) -> None:
    data = (json.dumps(info, sort_keys=True) + "\n").encode("utf-8")
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


class DirectoryLock:
    """Hold ``root/.lock`` (see the module docstring) until :meth:`release` or process exit.

    Args:
        root: the dataset directory (must exist).
        job: job fingerprint (:func:`job_fingerprint`); shared holders must agree on it.
        shared: shard mode (several holders of one job) instead of one exclusive writer.

    Raises:
        DatasetLockedError: held by another writer (or by shards of another job); one line naming it.
    """

    def __init__(self, root: str | os.PathLike[str], job: str, shared: bool = False) -> None:
        self.root = Path(root)
        self.job = job
        self.shared = shared
        self.locked = False
        self.info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "job": job,
            "mode": "shared" if shared else "exclusive",
        }
        self.fd = _open(self.root, LOCK_FILE)
        try:
            self._acquire()
        except BaseException:
            os.close(self.fd)
            self.fd = -1
            raise

    def _refuse(self, why: str = "") -> DatasetLockedError:
        holder = _read_info(self.fd)
        return DatasetLockedError(
            f"{self.root} is being written by {_holder_text(holder)}{why}; "
            "wait for it to finish or use another output directory"
        )

    def _acquire(self) -> None:
        guard = _open(self.root, GUARD_FILE)  # serialises acquisition (the shared downgrade below)
        try:
            try:
                fcntl.flock(guard, fcntl.LOCK_EX)
            except OSError as exc:
                if exc.errno in _UNSUPPORTED:
                    logger.warning("cannot lock %s (%s); writing without the one-writer lock", self.root, exc.strerror)
                    return
                raise
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                alone = True
            except BlockingIOError:
                alone = False
            if alone:
                _write_info(self.fd, self.info)
                if self.shared:
                    fcntl.flock(self.fd, fcntl.LOCK_SH)  # under the guard: nobody can slip in
                self.locked = True
                return
            if not self.shared:
                raise self._refuse()
            try:
                fcntl.flock(self.fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                raise self._refuse() from None
            holder = _read_info(self.fd)
            if holder.get("mode") != "shared" or holder.get("job") != self.job:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
                raise self._refuse(f", a different job than this one ({self.job})")
            self.locked = True
        finally:
            os.close(guard)

    def release(self) -> None:
        """Release the lock; the last holder empties the holder record."""
        if self.fd < 0:
            return
        guard = -1
        try:
            if self.locked:
                try:
                    guard = _open(self.root, GUARD_FILE)
                    fcntl.flock(guard, fcntl.LOCK_EX)
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # only when nobody else holds it
                    os.ftruncate(self.fd, 0)
                except (OSError, DatasetError):
                    pass
                fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
            if guard >= 0:
                os.close(guard)
            self.fd = -1
            self.locked = False

    def __enter__(self) -> DirectoryLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
