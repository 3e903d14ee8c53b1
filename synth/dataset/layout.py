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

import hashlib
import json
import logging
import os
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
        if not isinstance(d, dict) or not isinstance(d.get("id"), int) or not isinstance(d.get("files"), dict):
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


def atomic_write(path: str | os.PathLike[str], data: bytes, fsync: bool = False) -> None:
    """Write ``data`` to a hidden temporary sibling of ``path`` and rename it over ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        if fsync:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)
