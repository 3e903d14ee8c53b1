"""Merge shard output directories into one dataset (``synth merge DIR... --out DIR``).

Shards of one job that wrote into separate directories hold disjoint ids of the same dataset.
:func:`merge` checks that they were made by the same job (``dataset.json`` equal except the
output directory and the id range), copies (or hard-links) every sample's files after checking
their size and sha256 against the shard's manifest, and writes one ``manifest.jsonl`` sorted by
id, in the writer's line format. So the result equals a single-process render of the same ids:
same files, byte-identical labels, same manifest lines; ``dataset.json`` differs only in
``config.out`` (and ``config.start``/``config.count`` when the inputs covered different ranges).

An id present in several inputs is kept once when its files are identical, refused otherwise.
The manifest is written last (atomically), so an interrupted merge can simply be run again.

Shard directories are untrusted input: every manifest path of every input is checked
(:func:`synth.dataset.layout.check_entry_paths`) before anything is written, a source file
reached through a symlink out of its shard is refused, and the output is written without
following symlinks (:class:`synth.dataset.layout.SafeDir`) while holding ``--out``'s lock.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synth.dataset.layout import (
    DATASET_JSON,
    MANIFEST,
    DatasetError,
    ManifestEntry,
    SafeDir,
    UnsafePathError,
    check_entry_paths,
    read_dataset_json,
    safe_member_path,
    scan_manifest,
    sha256_bytes,
)
from synth.dataset.lock import GUARD_FILE, LOCK_FILE, DirectoryLock, job_fingerprint

logger = logging.getLogger(__name__)

#: Dotted ``config`` keys that may differ between shards of one job: where, which id range, and
#: how each process ran (threads, recycling), none of which changes a sample's bytes.
SHARD_VARIABLE_KEYS: tuple[str, ...] = ("out", "start", "count", "render.threads", "render.recycle_after")


class MergeError(Exception):
    """Inputs that cannot be merged (different jobs, conflicting or missing files); one line."""


@dataclass
class MergeStats:
    """What :func:`merge` did.

    Attributes:
        ids: number of samples in the merged manifest.
        copied: samples whose files were copied (or linked) by this call.
        duplicates: samples found in more than one input with identical files (kept once).
        bytes: bytes of sample files copied or linked.
        missing: ids of the job's range (``config.start .. start + count - 1``) absent from the result.
        skipped_lines: unreadable or truncated manifest lines ignored in the inputs.
    """

    ids: int = 0
    copied: int = 0
    duplicates: int = 0
    bytes: int = 0
    missing: list[int] = field(default_factory=list)
    skipped_lines: int = 0
    result: dict[int, ManifestEntry] = field(default_factory=dict, repr=False)


def _comparable(meta: dict[str, Any]) -> dict[str, Any]:
    m = copy.deepcopy(meta)
    m.pop("previous_configs", None)
    for key in SHARD_VARIABLE_KEYS:
        *parents, last = ("config." + key).split(".")
        node: Any = m
        for p in parents:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    return m


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                return f"{path}{k} is only in one of them"
            if a[k] != b[k]:
                return _first_difference(a[k], b[k], f"{path}{k}.")
        return "no difference"
    return f"{path.rstrip('.') or 'dataset.json'}: {json.dumps(a)[:50]} vs {json.dumps(b)[:50]}"


def _job_range(metas: Sequence[dict[str, Any]]) -> tuple[int, int] | None:
    """``(start, end)`` covering every input's ``config.start .. start + count``, if stated."""
    spans = []
    for m in metas:
        cfg = m.get("config") or {}
        if isinstance(cfg.get("start"), int) and isinstance(cfg.get("count"), int):
            spans.append((cfg["start"], cfg["start"] + cfg["count"]))
    if not spans:
        return None
    return min(s for s, _ in spans), max(e for _, e in spans)


def merge(
    dirs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    link: bool = False,
    verify: bool = True,
    progress: Callable[[int], None] | None = None,
) -> MergeStats:
    """Combine shard dataset directories ``dirs`` into the dataset ``out``.

    Args:
        dirs: shard output directories (each with ``dataset.json`` and ``manifest.jsonl``).
        out: the merged dataset directory: new, empty, or a dataset of the same job (its samples
            are kept, so merging can be repeated as shards finish).
        link: hard-link files instead of copying them (same filesystem only).
        verify: check every file's sha256 against its shard's manifest (sizes are always checked).
        progress: called with the id of each sample copied.

    Returns:
        :class:`MergeStats`.

    Raises:
        MergeError: no inputs, ``out`` among the inputs, inputs from different jobs, an id with
            different files in two inputs, a file missing or not matching its checksum.
        DatasetError: an input that is not a dataset, or an ``out`` that cannot be used.
    """
    if not dirs:
        raise MergeError("nothing to merge: give at least one shard directory")
    out_p = Path(out)
    srcs = [Path(d) for d in dirs]
    for d in srcs:
        if d.exists() and out_p.exists() and os.path.samefile(d, out_p):
            raise MergeError(f"--out {out_p} is also an input; merge into a new directory")
    if len({p.resolve() for p in srcs}) != len(srcs):
        raise MergeError("the same shard directory is given twice")
    metas = [read_dataset_json(d) for d in srcs]
    ref = _comparable(metas[0])
    for d, m in zip(srcs[1:], metas[1:], strict=True):
        if _comparable(m) != ref:
            raise MergeError(f"{d} and {srcs[0]} were made by different jobs ({_first_difference(ref, _comparable(m))})")

    scans = []
    for d in srcs:  # untrusted shards: every path checked before anything is written
        scan = scan_manifest(d)
        for e in scan.entries.values():
            try:
                check_entry_paths(e)
            except UnsafePathError as exc:
                raise MergeError(f"{d}: {exc}") from None
        scans.append(scan)

    merged_meta = copy.deepcopy(metas[0])
    merged_meta.pop("previous_configs", None)
    existing: dict[int, ManifestEntry] = {}
    if out_p.exists() and any(p.name not in (LOCK_FILE, GUARD_FILE) for p in out_p.iterdir()):
        if not (out_p / DATASET_JSON).is_file():
            raise DatasetError(f"{out_p} is not empty and is not a synth dataset; merge into a new or empty directory")
        old = read_dataset_json(out_p)
        if _comparable(old) != ref:
            raise MergeError(f"{out_p} holds a different job ({_first_difference(ref, _comparable(old))})")
        existing = scan_manifest(out_p).entries
        metas = [*metas, old]
    cfg = merged_meta.get("config")
    if isinstance(cfg, dict):
        cfg["out"] = str(out)
        span = _job_range(metas)
        if span is not None and "start" in cfg and "count" in cfg:
            cfg["start"], cfg["count"] = span[0], span[1] - span[0]
    try:
        out_p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"cannot write {out_p}: {exc.strerror}") from exc
    with DirectoryLock(out_p, job_fingerprint(ref.get("config"))), SafeDir(out_p) as sink:
        sink.write(DATASET_JSON, (json.dumps(merged_meta, indent=1, allow_nan=False) + "\n").encode("utf-8"), fsync=True)
        stats = _merge_into(sink, srcs, scans, existing, out_p, link=link, verify=verify, progress=progress)
    stats.ids = len(stats.result)
    if isinstance(cfg, dict) and isinstance(cfg.get("start"), int) and isinstance(cfg.get("count"), int):
        stats.missing = [i for i in range(cfg["start"], cfg["start"] + cfg["count"]) if i not in stats.result]
    logger.info("merged %d shard(s) into %s: %d samples (%d copied, %d duplicates, %d missing)",
                len(srcs), out_p, stats.ids, stats.copied, stats.duplicates, len(stats.missing))
    return stats


def _merge_into(sink: SafeDir, srcs: Sequence[Path], scans: Sequence[Any], existing: dict[int, ManifestEntry], out_p: Path, *,
                link: bool, verify: bool, progress: Callable[[int], None] | None) -> MergeStats:
    stats = MergeStats()
    result: dict[int, ManifestEntry] = dict(existing)
    owner: dict[int, Path] = {i: out_p for i in existing}
    for d, scan in zip(srcs, scans, strict=True):
        bad = len(scan.bad_lines) + int(scan.truncated_tail)
        if bad:
            logger.warning("%s: ignoring %d unreadable or truncated manifest line(s)", d, bad)
            stats.skipped_lines += bad
        for sid, e in scan.entries.items():
            if sid in result:
                if result[sid].sha256 != e.sha256 or result[sid].files != e.files:
                    raise MergeError(f"sample {sid} differs between {owner[sid]} and {d}: not shards of one deterministic job")
                stats.duplicates += 1
                continue
            stats.bytes += _copy_sample(d, sink, e, link=link, verify=verify)
            result[sid] = e
            owner[sid] = d
            stats.copied += 1
            if progress is not None:
                progress(sid)

    body = "".join(result[i].to_json() + "\n" for i in sorted(result)).encode("utf-8")
    sink.write(MANIFEST, body, fsync=True)
    stats.result = result
    return stats


def _copy_sample(src: Path, sink: SafeDir, e: ManifestEntry, *, link: bool, verify: bool) -> int:
    """Copy (or link) one sample's files, checking size and checksum; returns the bytes."""
    total = 0
    for kind, rel in e.files.items():
        try:
            s = safe_member_path(src, rel, e.id)
        except UnsafePathError as exc:
            raise MergeError(f"{src}: {exc}") from None
        want_size = e.bytes.get(kind)
        try:
            size = s.stat().st_size
        except OSError:
            raise MergeError(f"{s} (sample {e.id}) is missing: re-run that shard (it resumes) and merge again") from None
        if want_size is not None and size != want_size:
            raise MergeError(f"{s} has {size} bytes, its manifest says {want_size}: re-run that shard")
        if link:
            if verify:
                _check_sha(s, s.read_bytes(), e.sha256.get(kind))
            try:
                sink.link(s, rel)
            except DatasetError as exc:
                raise MergeError(f"cannot hard-link {s} into {sink.root} ({exc}); merge without --link") from exc
        else:
            data = s.read_bytes()
            if verify:
                _check_sha(s, data, e.sha256.get(kind))
            sink.write(rel, data)
        total += size
    return total


def _check_sha(path: Path, data: bytes, want: str | None) -> None:
    if want is not None and sha256_bytes(data) != want:
        raise MergeError(f"{path} does not match its manifest checksum: re-run that shard")
