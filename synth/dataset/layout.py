"""The on-disk layout of a dataset directory: ids, paths, ``dataset.json``, ``manifest.jsonl``.

::

    DATASET/
      dataset.json      schema version, keypoints, part ids, conventions, generator, job config
      manifest.jsonl    one line per completed sample: {"id", "files", "sha256", "bytes"}
      rgb/00000042.png  depth/00000042.exr  parts/00000042.png  normals/00000042.exr
      labels/00000042.json  mesh/00000042.npz

The manifest is the source of truth: a sample exists when its manifest line exists. A line is
appended only after every file of the sample is fully written (temporary name, then rename).
When a sample appears more than once (it was redone) the last line wins.
"""

from __future__ import annotations

import errno as _errno
import hashlib
import json
import logging
import os
import posixpath
import re
import secrets
import stat as _stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synth.passes import PASSES

logger = logging.getLogger(__name__)

DATASET_FORMAT_VERSION = 1
ID_WIDTH = 8
DATASET_JSON = "dataset.json"
MANIFEST = "manifest.jsonl"
LABEL_KEY = "label"
#: Per-sample failures of a render job (one JSON object per line: ``{"id": int, "reason": str}``),
#: at the dataset root, written by :mod:`synth.render.job`; present only while some sample failed.
FAILURES_FILE = "failures.jsonl"

#: Directory and extension of each known per-sample file kind: the image passes
#: (:data:`synth.passes.PASSES`), the mesh and the label.
KINDS: dict[str, tuple[str, str]] = {
    **{p.name: (p.folder, p.extension) for p in PASSES.values()},
    "mesh": ("mesh", ".npz"),
    LABEL_KEY: ("labels", ".json"),
}

CONVENTIONS: dict[str, str] = {
    "units": "metres; angles in radians in code and labels unless a field name says _deg",
    "world_frame": "Blender's world frame: right-handed, Z up",
    "camera_frame": "OpenCV: x right, y down, z forward; world_to_cam is 4x4, K is 3x3",
    "pixels": "OpenCV: the centre of the top-left pixel is (0, 0); a centred principal point is "
    "cx = (W-1)/2. keypoints_2d = projectPoints(keypoints_3d_world, world_to_cam, K)",
    "visibility": "per keypoint, 1 when inside the image and not occluded: depth test of the "
    "keypoint's surface proxy against the rendered depth in a 3x3 window (exact definition and "
    "tolerance in dataset.json 'visibility'; per-keypoint surface radii in the label's "
    "keypoint_surface_radius), else 0",
    **{p.name: p.convention for p in PASSES.values()},
    "mesh": "npz with the exact rendered vertices (world frame, metres) and faces",
    "handedness": "'right' / 'left' of the person (not the mirrored-selfie convention)",
    "bbox": "[x0, y0, x1, y1] integer pixel indices with exclusive end (parts[y0:y1, x0:x1] holds the hand's rendered pixels)",
    "ids": "zero-padded to 8 digits (more digits past 10^8)",
}


class DatasetError(Exception):
    """A dataset directory is missing, not a dataset, or cannot be written as asked."""


class UnsafePathError(DatasetError):
    """A manifest path that is absolute, not normalised, outside the dataset, or resolves through a
    symlink out of it (untrusted manifests: see SECURITY.md). The message names the sample."""


class DatasetWriteError(DatasetError, OSError):
    """Writing a dataset file failed (disk full, permissions, a symlink where a folder should be).

    ``str()`` is one line naming the path; ``errno`` is the OS error number when there is one.
    The writer removed its own temporary file before raising.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str, err: int | None = None) -> None:
        super().__init__(err if err is not None else 0, reason, str(path))
        self.path = str(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"cannot write {self.path}: {self.reason}"

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across processes (Ray, multiprocessing)
        return (type(self), (self.path, self.reason, self.errno or None))


def stem(sample_id: int) -> str:
    """Zero-padded file stem of a sample id: ``42 -> "00000042"``."""
    if sample_id < 0:
        raise ValueError(f"sample ids are >= 0, got {sample_id}")
    return f"{int(sample_id):0{ID_WIDTH}d}"


def rel_path(kind: str, sample_id: int, ext: str | None = None) -> str:
    """Relative path (posix) of one file of a sample, e.g. ``("rgb", 42) -> "rgb/00000042.png"``."""
    folder, default_ext = KINDS.get(kind, (kind, ext or ""))
    return f"{folder}/{stem(sample_id)}{ext or default_ext}"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class ManifestEntry:
    """One manifest line: ``files``/``sha256``/``bytes`` are keyed by file kind."""

    id: int
    files: dict[str, str]
    sha256: dict[str, str]
    bytes: dict[str, int]

    def to_json(self) -> str:
        return json.dumps(
            {"id": self.id, "files": self.files, "sha256": self.sha256, "bytes": self.bytes},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, line: str) -> ManifestEntry:
        d = json.loads(line)
        if not isinstance(d, dict) or not isinstance(d.get("id"), int) or isinstance(d["id"], bool) or d["id"] < 0:
            raise ValueError("not a manifest entry")
        if not isinstance(d.get("files"), dict) or not isinstance(d.get("sha256", {}), dict) or not isinstance(d.get("bytes", {}), dict):
            raise ValueError("not a manifest entry")
        return cls(int(d["id"]), dict(d["files"]), dict(d.get("sha256", {})), dict(d.get("bytes", {})))


@dataclass
class ManifestScan:
    """Result of reading a manifest: last entry per id, plus what was wrong with the file."""

    entries: dict[int, ManifestEntry]
    n_lines: int
    bad_lines: list[int]  # 1-based line numbers that did not parse
    duplicates: int
    truncated_tail: bool  # the file does not end with a newline (killed mid-append)


def scan_manifest(root: str | os.PathLike[str]) -> ManifestScan:
    """Read ``root/manifest.jsonl`` (missing file = empty); the last line of an id wins."""
    path = Path(root) / MANIFEST
    entries: dict[int, ManifestEntry] = {}
    bad: list[int] = []
    dup = 0
    n = 0
    truncated = False
    if path.exists():
        data = path.read_bytes()
        truncated = bool(data) and not data.endswith(b"\n")
        for n, raw in enumerate(data.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                e = ManifestEntry.from_json(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                bad.append(n)
                continue
            if e.id in entries:
                dup += 1
            entries[e.id] = e
    return ManifestScan(dict(sorted(entries.items())), n, bad, dup, truncated)


@dataclass
class FailuresScan:
    """Result of reading ``failures.jsonl``: ``{id: reason}`` (last line of an id wins), the
    1-based numbers of lines that are not ``{"id": int >= 0, "reason": str}`` records, and a
    problem with the file itself (a symlink or not a regular file: not read)."""

    failures: dict[int, str]
    bad_lines: list[int]
    problem: str | None = None


def scan_failures(root: str | os.PathLike[str]) -> FailuresScan:
    """Read ``root/failures.jsonl`` (absent: no failures); never follows a symlink."""
    path = Path(root) / FAILURES_FILE
    if not os.path.lexists(path):
        return FailuresScan({}, [])
    if path.is_symlink() or not path.is_file():
        return FailuresScan({}, [], "is a symlink" if path.is_symlink() else "is not a regular file")
    out: dict[int, str] = {}
    bad: list[int] = []
    for n, raw in enumerate(path.read_bytes().splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            bad.append(n)
            continue
        i = rec.get("id") if isinstance(rec, dict) else None
        if type(i) is not int or i < 0 or not isinstance(rec.get("reason"), str):
            bad.append(n)
            continue
        out[i] = rec["reason"]
    return FailuresScan(dict(sorted(out.items())), bad)


def read_manifest(root: str | os.PathLike[str]) -> dict[int, ManifestEntry]:
    """Entries of a dataset's manifest, by id in increasing order (last line of an id wins)."""
    return scan_manifest(root).entries


def read_dataset_json(root: str | os.PathLike[str]) -> dict[str, Any]:
    """Load ``root/dataset.json``; :class:`DatasetError` when ``root`` is not a dataset."""
    root = Path(root)
    path = root / DATASET_JSON
    if not root.is_dir():
        raise DatasetError(f"{root} is not a directory")
    if not path.is_file():
        raise DatasetError(f"{root} is not a synth dataset (no {DATASET_JSON})")
    try:
        meta = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path} is unreadable: {exc}") from exc
    if not isinstance(meta, dict):
        raise DatasetError(f"{path} is not a JSON object")
    return meta


# ----------------------------------------------------------------------------- untrusted manifests
#: ``folder/name.ext`` with plain characters only: safe by construction (no ``.``/``..``/hidden part).
_PLAIN_REL = re.compile(r"[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*/[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")


def check_member_rel(rel: Any, sample_id: int | None = None) -> str:
    """Lexical check of one manifest path (no file system access); returns it unchanged.

    A member path must be a relative, normalised posix path ``folder/.../name`` (at least two
    components, none empty, ``.``, ``..`` or hidden) without backslashes or NUL bytes.

    Raises:
        UnsafePathError: naming the sample and the path.
    """
    if isinstance(rel, str) and _PLAIN_REL.fullmatch(rel):  # fast path: what the writer writes
        return rel
    who = f"sample {sample_id}" if sample_id is not None else "manifest"
    if not isinstance(rel, str) or not rel:
        raise UnsafePathError(f"{who}: manifest path {rel!r} is not a non-empty string")
    if "\\" in rel or "\x00" in rel:
        raise UnsafePathError(f"{who}: manifest path {rel!r} holds a backslash or NUL byte")
    if rel.startswith("/") or os.path.isabs(rel):
        raise UnsafePathError(f"{who}: manifest path {rel!r} is absolute; dataset paths are relative to the dataset root")
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts) or posixpath.normpath(rel) != rel:
        raise UnsafePathError(f"{who}: manifest path {rel!r} is not a normalised path inside the dataset")
    if len(parts) < 2 or any(p.startswith(".") for p in parts):
        raise UnsafePathError(f"{who}: manifest path {rel!r} is not a sample file (expected folder/name, nothing hidden)")
    return rel


def check_entry_paths(entry: ManifestEntry) -> None:
    """:func:`check_member_rel` on every file of a manifest entry (raises on the first bad one)."""
    for rel in entry.files.values():
        check_member_rel(rel, entry.id)


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def safe_member_path(root: str | os.PathLike[str], rel: Any, sample_id: int | None = None) -> Path:
    """``root / rel`` for a manifest path ``rel``, after checking that it stays inside ``root``.

    The one place every reader (validate, merge, package, preview, stats, ``HandDataset``, the
    writer's resume) turns an untrusted manifest path into a file path: ``rel`` must pass
    :func:`check_member_rel`, and when a component of it is a symlink, the fully resolved path
    must still lie inside the resolved ``root``. A path that does not exist (yet) is returned
    as is: callers report missing files themselves.

    Raises:
        UnsafePathError: one line naming the sample and the path.
    """
    check_member_rel(rel, sample_id)
    root_p = Path(root)
    cur = root_p
    for part in rel.split("/"):
        cur = cur / part
        try:
            st = os.lstat(cur)
        except OSError:
            break  # missing: reported by the caller
        if _stat.S_ISLNK(st.st_mode):
            real = os.path.realpath(root_p / rel)
            if not _within(real, os.path.realpath(root_p)):
                who = f"sample {sample_id}" if sample_id is not None else "manifest"
                raise UnsafePathError(f"{who}: manifest path {rel!r} resolves through the symlink {cur} to {real}, outside the dataset")
            break
    return root_p / rel


def verify_sample(root: str | os.PathLike[str], entry: ManifestEntry, check_hash: bool = False) -> list[str]:
    """Why one manifest entry is not a complete sample on disk (empty list: it is).

    Checks every file: its path is safe (:func:`safe_member_path`), it exists as a regular file,
    its size equals the manifest's ``bytes`` and, with ``check_hash``, its sha256 equals the
    manifest's ``sha256``. Resume (size always, sha256 with ``--verify``), ``validate`` and the
    packaging pre-check all use this. Each problem is one line ``ID: path: what``.
    """
    sid = stem(entry.id) if isinstance(entry.id, int) and entry.id >= 0 else str(entry.id)
    problems: list[str] = []
    if LABEL_KEY not in entry.files:
        problems.append(f"{sid}: manifest entry lists no label file")
    for kind, rel in entry.files.items():
        try:
            path = safe_member_path(root, rel, entry.id)
        except UnsafePathError as exc:
            problems.append(f"{sid}: {exc}")
            continue
        try:
            st = os.stat(path)
        except FileNotFoundError:
            problems.append(f"{sid}: {rel}: missing")
            continue
        except OSError as exc:
            problems.append(f"{sid}: {rel}: unreadable ({exc.strerror})")
            continue
        if not _stat.S_ISREG(st.st_mode):
            problems.append(f"{sid}: {rel}: not a regular file")
            continue
        want = entry.bytes.get(kind)
        if not isinstance(want, int):
            problems.append(f"{sid}: {rel}: the manifest records no size")
        elif st.st_size != want:
            problems.append(f"{sid}: {rel}: size {st.st_size} bytes, manifest says {want} (truncated?)")
        elif check_hash:
            want_sha = entry.sha256.get(kind)
            try:
                got = sha256_file(path)
            except OSError as exc:
                problems.append(f"{sid}: {rel}: unreadable ({exc.strerror})")
                continue
            if not isinstance(want_sha, str):
                problems.append(f"{sid}: {rel}: the manifest records no sha256")
            elif got != want_sha:
                problems.append(f"{sid}: {rel}: sha256 differs from the manifest (modified or corrupted)")
    return problems


# ----------------------------------------------------------------------------- safe writing
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def temp_name(name: str) -> str:
    """A unique hidden temporary name for ``name`` in the same folder (pid + random token)."""
    return f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def write_file_at(dir_fd: int, name: str, data: bytes, fsync: bool = False, display: str | os.PathLike[str] | None = None) -> None:
    """Write ``data`` as ``name`` in the directory ``dir_fd``, atomically and without following links.

    The bytes go to a fresh temporary file created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` under a
    unique name (a planted file or symlink of that name is never opened), optionally fsynced, then
    renamed over ``name`` (``rename`` replaces a symlink at ``name`` itself, never its target).
    On any failure the temporary file is removed.

    Raises:
        DatasetWriteError: one line naming ``display`` (default ``name``).
    """
    shown = str(display) if display is not None else name
    tmp = temp_name(name)
    fd = -1
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o644, dir_fd=dir_fd)
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if fsync:
            os.fsync(fd)
        os.close(fd)
        fd = -1
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        tmp = ""
        if fsync:
            os.fsync(dir_fd)
    except OSError as exc:
        raise DatasetWriteError(shown, exc.strerror or str(exc), exc.errno) from exc
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except OSError:
                pass


def open_dir_nofollow(name: str, dir_fd: int | None = None, create: bool = False, display: str | os.PathLike[str] | None = None) -> int:
    """Open (optionally create) the directory ``name`` without following a symlink at ``name``.

    Raises:
        DatasetWriteError: ``name`` is a symlink or not a directory, or cannot be created/opened.
    """
    shown = str(display) if display is not None else name
    if create:
        try:
            os.mkdir(name, 0o755, dir_fd=dir_fd)
        except FileExistsError:
            pass
        except OSError as exc:
            raise DatasetWriteError(shown, exc.strerror or str(exc), exc.errno) from exc
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError as exc:
        raise DatasetWriteError(shown, exc.strerror or str(exc), exc.errno) from exc
    if _stat.S_ISLNK(st.st_mode):
        raise DatasetWriteError(shown, "is a symlink; the dataset writer never follows links inside a dataset", _errno.ELOOP)
    if not _stat.S_ISDIR(st.st_mode):
        raise DatasetWriteError(shown, "exists and is not a directory", _errno.ENOTDIR)
    try:
        return os.open(name, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC, dir_fd=dir_fd)
    except OSError as exc:
        raise DatasetWriteError(shown, exc.strerror or str(exc), exc.errno) from exc


class SafeDir:
    """Writes files under ``root`` by relative path, never through a symlink below ``root``.

    ``root`` itself is opened once (it may be a symlink the user chose); every folder below it
    is opened with ``O_NOFOLLOW`` relative to that descriptor, so swapping ``rgb/`` for a link
    (before or during a job) cannot redirect a write. Call :meth:`close` when done.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        try:
            self.fd = os.open(self.root, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
        except OSError as exc:
            raise DatasetWriteError(self.root, exc.strerror or str(exc), exc.errno) from exc
        self._dirs: dict[str, int] = {}

    def dir_fd(self, folder: str) -> int:
        """Descriptor of ``root/folder`` (created if missing; nested folders allowed)."""
        if not folder:
            return self.fd
        got = self._dirs.get(folder)
        if got is not None:
            return got
        parent, _, name = folder.rpartition("/")
        fd = open_dir_nofollow(name, self.dir_fd(parent), create=True, display=self.root / folder)
        self._dirs[folder] = fd
        return fd

    def write(self, rel: str, data: bytes, fsync: bool = False) -> None:
        """Atomically write ``root/rel`` (``rel`` from the writer or a checked manifest)."""
        folder, _, name = rel.rpartition("/")
        write_file_at(self.dir_fd(folder), name, data, fsync=fsync, display=self.root / rel)

    def link(self, src: str | os.PathLike[str], rel: str) -> None:
        """Hard-link the existing file ``src`` as ``root/rel`` (temporary name, then rename)."""
        folder, _, name = rel.rpartition("/")
        dfd = self.dir_fd(folder)
        tmp = temp_name(name)
        try:
            os.link(src, tmp, dst_dir_fd=dfd, follow_symlinks=True)  # src was checked by safe_member_path
            os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
            tmp = ""
        except OSError as exc:
            raise DatasetWriteError(self.root / rel, exc.strerror or str(exc), exc.errno) from exc
        finally:
            if tmp:
                try:
                    os.unlink(tmp, dir_fd=dfd)
                except OSError:
                    pass

    def close(self) -> None:
        for fd in self._dirs.values():
            os.close(fd)
        self._dirs.clear()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> SafeDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def atomic_write(path: str | os.PathLike[str], data: bytes, fsync: bool = False) -> None:
    """Write ``data`` to a unique temporary sibling of ``path`` (created exclusively, never through a
    symlink) and rename it over ``path``; see :func:`write_file_at`.

    Raises:
        DatasetWriteError: one line naming ``path`` (no temporary file is left behind).
    """
    path = Path(path)
    try:
        dfd = os.open(path.parent, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    except OSError as exc:
        raise DatasetWriteError(path, exc.strerror or str(exc), exc.errno) from exc
    try:
        write_file_at(dfd, path.name, data, fsync=fsync, display=path)
    finally:
        os.close(dfd)
