"""Atomic, resumable dataset writer.

Guarantees:

* every file is written to a hidden temporary name and ``os.replace``-d into place;
* ``labels/ID.json`` is the last per-sample file written, then exactly one ``manifest.jsonl``
  line (id, files, sha256 and size of each file) is appended with one ``write`` + ``fsync``;
* so a sample is in the manifest only when all its files are complete, whenever the process dies.
  On resume, a sample whose files exist but whose manifest line is missing is redone, a manifest
  line whose files are missing, have the wrong size or (with ``verify=True``, ``synth render
  --verify``) the wrong sha256 is dropped and redone, and a truncated last manifest line (killed
  mid-append) is removed;
* the output directory is untrusted: nothing is written through a symlink inside it (a linked
  ``rgb/`` or manifest is refused), temporary files are created exclusively under unique names
  (``O_CREAT | O_EXCL | O_NOFOLLOW``), and manifest paths of a resumed dataset are checked;
* one writer per directory: the writer holds ``DATASET/.lock`` for its lifetime
  (:mod:`synth.dataset.lock`); shards of one job share it (``SharedDirWriter``);
* a failed write raises :class:`~synth.dataset.layout.DatasetWriteError` (one line naming the
  path) after removing its temporary file; re-running the job resumes byte-identically.

Writing happens on one background thread by default (``background=True``), so the renderer can
render the next sample meanwhile; errors raised there surface on the next call or on ``close``.

Example::

    w = DatasetWriter("out", {"config": cfg.to_dict()})
    for i in range(n):
        if i in w.completed_ids():
            continue
        w.write_sample(i, {"rgb": rgb, "depth": depth, "parts": parts}, label)
    w.close()
"""

from __future__ import annotations

import copy
import errno
import io
import json
import logging
import os
import queue
import stat
import threading
import zipfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from synth.dataset.imageio import encode_exr, encode_image, encode_png
from synth.dataset.layout import (
    CONVENTIONS,
    DATASET_FORMAT_VERSION,
    DATASET_JSON,
    KINDS,
    LABEL_KEY,
    MANIFEST,
    DatasetError,
    DatasetWriteError,
    ManifestEntry,
    SafeDir,
    UnsafePathError,
    check_entry_paths,
    rel_path,
    scan_manifest,
    sha256_bytes,
    sha256_file,
)
from synth.dataset.lock import DirectoryLock, job_fingerprint
from synth.jsonable import to_jsonable
from synth.passes import PASSES

logger = logging.getLogger(__name__)

#: A queued sample: id, arrays by kind, label bytes, pre-encoded files by kind, relative paths.
_Item = tuple[int, dict[str, np.ndarray], bytes, dict[str, bytes], dict[str, str]]

#: Dotted config keys that may differ between runs into the same directory (how many samples,
#: where, how parallel) without making it a different dataset.
DEFAULT_RESUME_IGNORED_KEYS: tuple[str, ...] = (
    "num_samples", "count", "n", "start", "end", "stop", "shard", "shards",
    "num_shards", "shard_index", "out", "out_dir", "output_dir", "resume", "force",
    "progress", "workers", "num_workers", "verbose", "log_level",
    "job.num_samples", "job.count", "job.out", "job.output", "job.resume", "job.force",
    "job.workers", "job.start", "job.shard", "job.shards",
    # Performance-only render knobs: they change how fast, not what is rendered.
    "render.threads", "render.persistent_data", "render.recycle_after",
)  # fmt: skip


def label_bytes(label: Mapping[str, Any]) -> bytes:
    """Canonical JSON bytes of a label (deterministic; NaN/inf refused)."""
    try:
        return (json.dumps(to_jsonable(label), indent=1, allow_nan=False) + "\n").encode("utf-8")
    except ValueError as exc:
        raise ValueError(f"label is not finite JSON: {exc}") from exc


def _strip_keys(cfg: Any, dotted: Iterable[str]) -> Any:
    cfg = copy.deepcopy(to_jsonable(cfg))
    if not isinstance(cfg, dict):
        return cfg
    for key in dotted:
        parts = key.split(".")
        node: Any = cfg
        for p in parts[:-1]:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(parts[-1], None)
    return cfg


def dataset_json(dataset_meta: Mapping[str, Any]) -> dict[str, Any]:
    """The full ``dataset.json`` content: fixed schema/conventions plus ``dataset_meta``."""
    from synth import __version__
    from synth.hand.keypoints import SCHEMA_VERSION, schema
    from synth.hand.rig import PART_IDS

    meta: dict[str, Any] = {
        "format": "synth-dataset",
        "format_version": DATASET_FORMAT_VERSION,
        "label_schema_version": SCHEMA_VERSION,
        "keypoints": schema(),
        "part_ids": dict(PART_IDS),
        "conventions": dict(CONVENTIONS),
        "layout": {"id_width": 8, "manifest": MANIFEST, "label_dir": "labels"},
        "generator": {"name": "synth", "version": __version__},
    }
    extra = to_jsonable(dict(dataset_meta))
    if isinstance(extra.get("generator"), dict):
        meta["generator"].update(extra.pop("generator"))
    elif isinstance(extra.get("generator"), str):
        meta["generator"]["description"] = extra.pop("generator")
    meta.update(extra)
    return meta


class DatasetWriter:
    """Write samples into a dataset directory, atomically and resumably.

    Args:
        out_dir: dataset directory (created if missing).
        dataset_meta: merged into ``dataset.json``; its ``"config"`` entry (the resolved job
            config) decides whether resuming is allowed.
        resume: keep complete samples already in ``out_dir`` (default). With ``resume=False`` a
            directory that already holds samples is refused unless ``force``; with ``force`` its
            manifest is emptied (files are overwritten as samples are rewritten).
        force: resume even when the existing ``dataset.json`` config differs (the new config
            is recorded, the old one kept under ``"previous_configs"``), or write into a
            non-empty directory that is not a dataset.
        background: encode and write on a background thread.
        max_pending: samples queued for the background thread before ``write_sample`` blocks.
        fsync_files: also fsync every data file before its rename (survives power loss, slower).
            The manifest is always fsynced.
        resume_ignored_keys: dotted config keys allowed to differ on resume.
        config_defaults: the config's default values (default: :class:`synth.config.JobConfig`'s).
            On resume, a key that one of the two configs lacks counts as its default, so a
            dataset written before a config field existed resumes when the new field keeps its
            default (and is another job when it does not).
        verify: on resume, also check the sha256 of every file of every complete sample (sizes
            are always checked); a sample that does not match is redone.

    Raises:
        DatasetError: the directory cannot be used (unwritable, not a dataset, other config, a
            symlink inside it); :class:`~synth.dataset.lock.DatasetLockedError` when another
            process writes it; :class:`~synth.dataset.layout.DatasetWriteError` on a write error.
    """

    #: Hold the directory lock shared with other writers of the same job (shards), not exclusively.
    shared_directory: bool = False

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        dataset_meta: Mapping[str, Any],
        resume: bool = True,
        force: bool = False,
        background: bool = True,
        max_pending: int = 2,
        fsync_files: bool = False,
        resume_ignored_keys: Iterable[str] = DEFAULT_RESUME_IGNORED_KEYS,
        verify: bool = False,
        config_defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self.root = Path(out_dir)
        self._defaults = None if config_defaults is None else dict(config_defaults)
        self.fsync_files = fsync_files
        self.verify = bool(verify)
        self._ignored = tuple(resume_ignored_keys)
        self._closed = False
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._manifest_fd = -1
        self._dir: SafeDir | None = None
        self._dir_lock: DirectoryLock | None = None
        try:
            self._open_root()
            job = job_fingerprint(_strip_keys(dict(dataset_meta).get("config", {}), self._ignored))
            self._dir_lock = DirectoryLock(self.root, job, shared=self.shared_directory)
            self._prepare_dir(dataset_meta, resume, force)
            self._completed = self._recover()
            try:
                self._manifest_fd = os.open(
                    MANIFEST, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=self._dir.fd
                )
            except OSError as exc:
                raise DatasetWriteError(self.root / MANIFEST, exc.strerror or str(exc), exc.errno) from exc
        except BaseException:
            self._release()
            raise
        self._queue: queue.Queue[_Item | None] | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._queue = queue.Queue(maxsize=max(1, max_pending))
            self._thread = threading.Thread(target=self._worker, name="synth-dataset-writer", daemon=True)
            self._thread.start()

    # ----------------------------------------------------------------------------- setup
    def _config_defaults(self) -> dict[str, Any]:
        return self._defaults if self._defaults is not None else job_config_defaults()

    def _open_root(self) -> None:
        """Create/open the output directory; refuse symlinks where the writer puts files."""
        root = self.root
        if root.exists() and not root.is_dir():
            raise DatasetError(f"output path {root} exists and is not a directory")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatasetError(f"cannot create output directory {root}: {exc.strerror}") from exc
        if not os.access(root, os.W_OK | os.X_OK):
            raise DatasetError(f"output directory {root} is not writable")
        self._dir = SafeDir(root)
        for name in sorted({DATASET_JSON, MANIFEST, *(folder for folder, _ in KINDS.values())}):
            try:
                st = os.stat(name, dir_fd=self._dir.fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(st.st_mode):
                raise DatasetError(
                    f"{root / name} is a symlink; the dataset writer never writes through links inside "
                    "the output directory (replace it by a real file or folder)"
                )

    def _prepare_dir(self, dataset_meta: Mapping[str, Any], resume: bool, force: bool) -> None:
        root = self.root
        assert self._dir is not None
        meta = dataset_json(dataset_meta)
        meta_path = root / DATASET_JSON
        has_manifest = (root / MANIFEST).exists() and (root / MANIFEST).stat().st_size > 0
        if meta_path.exists():
            try:
                old = json.loads(meta_path.read_text("utf-8"))
            except (OSError, ValueError) as exc:
                if not force:
                    raise DatasetError(f"{meta_path} is unreadable ({exc}); use --force to overwrite") from exc
                old = {}
            if not resume and has_manifest:
                if not force:
                    raise DatasetError(f"{root} already holds samples and resume is off; use --force to overwrite them")
                logger.warning("overwriting the dataset in %s (resume off, force on)", root)
                self._dir.write(MANIFEST, b"", fsync=True)
            elif has_manifest:
                a = _strip_keys(old.get("config", {}), self._ignored)
                b = _strip_keys(meta.get("config", {}), self._ignored)
                if a != b:  # a key one side lacks counts as its default (a field newer than the dataset)
                    defaults = self._config_defaults()
                    a = _strip_keys(_with_defaults(old.get("config", {}), defaults), self._ignored)
                    b = _strip_keys(_with_defaults(meta.get("config", {}), defaults), self._ignored)
                if a != b:
                    if not force:
                        raise DatasetError(
                            f"{root} was made by a different config ({_first_difference(a, b)}); "
                            "use another output directory, or --force to resume anyway"
                        )
                    logger.warning("resuming %s with a different config (forced)", root)
                    meta["previous_configs"] = list(old.get("previous_configs", [])) + [old.get("config")]
                else:
                    # Same dataset: keep the original dataset.json (byte-stable across resumes).
                    self.meta = old
                    return
        elif any(p.name != MANIFEST and not p.name.startswith(".") for p in root.iterdir()):
            if not force:
                raise DatasetError(
                    f"{root} is not empty and is not a synth dataset (no {DATASET_JSON}); use an empty directory, or --force"
                )
        data = (json.dumps(meta, indent=1, allow_nan=False) + "\n").encode("utf-8")
        self._dir.write(DATASET_JSON, data, fsync=True)
        self.meta = meta

    def _recover(self) -> set[int]:
        """Drop manifest lines that are unreadable, repeated, unsafe or whose files are not exactly
        as recorded; return the complete ids. Also removes leftover temporaries of killed writes.

        A sample is complete when every file exists as a regular file (not a symlink) with the
        manifest's size and, with ``verify``, its sha256. Sizes come from one ``scandir`` pass per
        folder (one ``lstat`` per file), so reopening a large directory costs a manifest parse
        plus a directory listing; ``verify`` reads every file (see benchmarks/README.md).
        """
        self._remove_root_temporaries()
        scan = scan_manifest(self.root)
        safe: dict[int, ManifestEntry] = {}
        reasons: list[str] = []
        for sid, e in scan.entries.items():
            try:
                check_entry_paths(e)
            except UnsafePathError as exc:
                reasons.append(str(exc))
                continue
            safe[sid] = e
        listing: dict[str, dict[str, int]] = {}
        folders = {rel.rpartition("/")[0] for e in safe.values() for rel in e.files.values()}
        for folder in sorted(folders | {f for f, _ in KINDS.values()}):
            listing[folder] = self._list_folder(folder)
        complete: dict[int, ManifestEntry] = {}
        to_hash: list[ManifestEntry] = []
        for sid, e in safe.items():
            why = _size_problem(e, listing)
            if why:
                reasons.append(why)
            elif self.verify:
                to_hash.append(e)
            else:
                complete[sid] = e
        if to_hash:
            with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
                for e, why in zip(to_hash, pool.map(self._hash_problem, to_hash), strict=True):
                    if why:
                        reasons.append(why)
                    else:
                        complete[e.id] = e
            complete = dict(sorted(complete.items()))
        dropped = len(scan.entries) - len(complete)
        if scan.bad_lines or scan.duplicates or scan.truncated_tail or dropped:
            logger.warning(
                "repairing manifest of %s: %d unreadable line(s), %d duplicate(s), %d incomplete sample(s) to redo%s",
                self.root,
                len(scan.bad_lines),
                scan.duplicates,
                dropped,
                (": " + "; ".join(reasons[:3]) + (" ..." if len(reasons) > 3 else "")) if reasons else "",
            )
            body = "".join(e.to_json() + "\n" for e in complete.values()).encode("utf-8")
            assert self._dir is not None
            self._dir.write(MANIFEST, body, fsync=True)
        return set(complete)

    def _remove_root_temporaries(self) -> None:
        """Remove ``.dataset.json.*.tmp`` / ``.manifest.jsonl.*.tmp`` left by a killed writer (we hold
        the exclusive lock, so no other writer's temporary can be in flight)."""
        if self.shared_directory:
            return
        with os.scandir(self.root) as it:
            for d in it:
                if d.name.startswith((f".{DATASET_JSON}.", f".{MANIFEST}.")) and d.name.endswith(".tmp"):
                    try:
                        os.unlink(d.path)
                    except OSError:
                        pass

    def _hash_problem(self, e: ManifestEntry) -> str:
        for kind, rel in e.files.items():
            try:
                got = sha256_file(self.root / rel)
            except OSError as exc:
                return f"{e.id}: {rel}: unreadable ({exc.strerror})"
            if got != e.sha256.get(kind):
                return f"{e.id}: {rel}: sha256 differs from the manifest"
        return ""

    def _list_folder(self, folder: str) -> dict[str, int]:
        """Sizes of the regular files in ``root/folder`` (removing hidden ``.*.tmp`` leftovers of
        killed writes). A folder that is a symlink lists as empty (its samples are redone, and
        writing there is refused)."""
        sizes: dict[str, int] = {}
        path = self.root
        for part in folder.split("/"):
            path = path / part
            try:
                st = os.lstat(path)
            except OSError:
                return sizes
            if not stat.S_ISDIR(st.st_mode):
                return sizes
        with os.scandir(path) as it:
            for d in it:
                if d.name.startswith("."):
                    if d.name.endswith(".tmp") and not self.shared_directory:
                        try:
                            os.unlink(d.path)
                        except OSError:
                            pass
                    continue
                try:
                    if d.is_file(follow_symlinks=False):
                        sizes[d.name] = d.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
        return sizes

    # ----------------------------------------------------------------------------- API
    def completed_ids(self) -> set[int]:
        """Ids whose manifest line exists and whose files exist (including ones written here)."""
        with self._lock:
            return set(self._completed)

    def write_sample(
        self,
        sample_id: int,
        images: Mapping[str, np.ndarray],
        label: Mapping[str, Any],
        extra_files: Mapping[str, bytes] | None = None,
    ) -> None:
        """Queue (or write) one sample.

        Args:
            sample_id: integer id >= 0.
            images: the passes of :data:`synth.passes.PASSES` by name (dtype, channels and codec
                from there); any other key: integer arrays -> PNG, float arrays -> EXR, in a
                folder of that name.
            label: the per-sample label (JSON-able; numpy arrays allowed). ``label["files"]`` is
                filled here with the relative path of every file, ``"label"`` included.
            extra_files: already encoded files, e.g. ``{"mesh": npz_bytes}`` -> ``mesh/ID.npz``;
                a key ``"name.ext"`` keeps its extension (``"mesh.ply"`` -> ``mesh/ID.ply``).
        """
        self._check()
        sample_id = int(sample_id)
        arrays = {k: _check_image(k, v) for k, v in images.items()}
        sizes = {(a.shape[1], a.shape[0]) for a in arrays.values()}
        if len(sizes) > 1:
            raise ValueError(f"sample {sample_id}: images have different sizes {sorted(sizes)}")
        files: dict[str, str] = {}
        for k, a in arrays.items():
            ext = PASSES[k].extension if k in PASSES else ".exr" if np.issubdtype(a.dtype, np.floating) else ".png"
            files[k] = rel_path(k, sample_id, ext)
        extras: dict[str, bytes] = {}
        for k, data in (extra_files or {}).items():
            kind, dot, ext = k.partition(".")
            files[kind] = rel_path(kind, sample_id, f".{ext}" if dot else None if kind == "mesh" else ".bin")
            extras[kind] = bytes(data)
        files[LABEL_KEY] = rel_path(LABEL_KEY, sample_id)
        lab = dict(label)
        lab["files"] = dict(files)
        body = label_bytes(lab)
        if self._queue is None:
            self._write(sample_id, arrays, body, extras, files)
        else:
            # Copies: the caller may reuse its buffers while we write.
            self._queue.put((sample_id, {k: a.copy() for k, a in arrays.items()}, body, extras, files))

    def flush(self) -> None:
        """Block until every queued sample is written (re-raises a background error)."""
        if self._queue is not None:
            self._queue.join()
        self._check()

    def close(self) -> None:
        """Write what is queued, stop the thread, close the manifest."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._queue is not None and self._thread is not None:
                self._queue.put(None)
                self._thread.join()
        finally:
            self._release()
        if self._error is not None:
            raise self._error

    def _release(self) -> None:
        """Close the manifest and the directory, and release the directory lock."""
        if self._manifest_fd >= 0:
            os.close(self._manifest_fd)
            self._manifest_fd = -1
        if self._dir is not None:
            self._dir.close()
            self._dir = None
        if self._dir_lock is not None:
            self._dir_lock.release()
            self._dir_lock = None

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------- internals
    def _check(self) -> None:
        if self._error is not None:
            if isinstance(self._error, DatasetError):
                raise self._error
            raise RuntimeError(f"the dataset writer failed: {self._error}") from self._error
        if self._closed:
            raise RuntimeError("the dataset writer is closed")

    def _worker(self) -> None:
        assert self._queue is not None
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self._error is None:
                    self._write(*item)
            except BaseException as exc:  # surfaced on the caller's next call
                logger.error("writing sample %s failed: %s", item[0] if item else "?", exc)
                self._error = exc
            finally:
                self._queue.task_done()

    def _write(
        self,
        sample_id: int,
        arrays: dict[str, np.ndarray],
        body: bytes,
        extras: dict[str, bytes],
        files: dict[str, str],
    ) -> None:
        blobs: dict[str, bytes] = {}
        for k, a in arrays.items():
            if k in PASSES:
                blobs[k] = (encode_exr if PASSES[k].codec == "exr" else encode_png)(a)
            else:
                blobs[k] = encode_image(a)[0]
        blobs.update(extras)
        blobs[LABEL_KEY] = body  # last: a label on disk means the data files are already there
        digests: dict[str, str] = {}
        sizes: dict[str, int] = {}
        assert self._dir is not None
        for k, data in blobs.items():
            self._dir.write(files[k], data, fsync=self.fsync_files)
            digests[k] = sha256_bytes(data)
            sizes[k] = len(data)
        line = (ManifestEntry(sample_id, files, digests, sizes).to_json() + "\n").encode("utf-8")
        try:
            n = os.write(self._manifest_fd, line)  # one write: O_APPEND keeps lines whole
            if n != len(line):  # a short append (disk full): the torn line is dropped on resume
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            os.fsync(self._manifest_fd)
        except OSError as exc:
            raise DatasetWriteError(self.root / MANIFEST, exc.strerror or str(exc), exc.errno) from exc
        with self._lock:
            self._completed.add(sample_id)


def _size_problem(e: ManifestEntry, listing: dict[str, dict[str, int]]) -> str:
    """Why ``e`` is incomplete judging by file sizes (``""``: every file has its recorded size)."""
    for kind, rel in e.files.items():
        folder, _, name = rel.rpartition("/")
        got = listing.get(folder, {}).get(name)
        want = e.bytes.get(kind)
        if got is None:
            return f"{e.id}: {rel}: missing"
        if got != want:
            return f"{e.id}: {rel}: size {got} bytes, manifest says {want}"
    return ""


def _with_defaults(cfg: Any, defaults: Any) -> Any:
    """A copy of the config dict ``cfg`` with every key of ``defaults`` that it lacks (at any
    depth of nested mappings present in both) set to its default value."""
    if not isinstance(cfg, dict) or not isinstance(defaults, dict):
        return cfg
    out = dict(cfg)
    for k, v in defaults.items():
        out[k] = copy.deepcopy(v) if k not in out else _with_defaults(out[k], v)
    return out


def job_config_defaults() -> dict[str, Any]:
    """The default job config (:class:`synth.config.JobConfig`) as the plain dict ``dataset.json`` records."""
    from synth.config import JobConfig

    return JobConfig().to_dict()


def _check_image(key: str, a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim not in (2, 3) or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"image {key!r} must be (H, W) or (H, W, C), got shape {a.shape}")
    return PASSES[key].check(a) if key in PASSES else a


def npz_bytes(**arrays: np.ndarray) -> bytes:
    """Encode arrays as ``.npz`` bytes, e.g. for ``extra_files``.

    Unlike ``np.savez`` (which stamps each member with the wall-clock time) the bytes depend only
    on the arrays, so a resumed job writes byte-identical files. ``np.load`` reads them.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, a in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(a), allow_pickle=False)
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                return f"{path + k!s} only in the new config"
            if k not in b:
                return f"{path + k!s} only in the existing config"
            if a[k] != b[k]:
                return _first_difference(a[k], b[k], f"{path}{k}.")
        return "no difference"
    return f"{path.rstrip('.') or 'config'}: existing {json.dumps(a)[:60]} vs new {json.dumps(b)[:60]}"
