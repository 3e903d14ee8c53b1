"""Hugging Face ``datasets``-compatible Parquet: ``data/<split>-NNNNN-of-MMMMM.parquet``.

Columns: ``id``; one per pass of :data:`synth.passes.PASSES`: the PNG passes as Image columns
(``image``: RGB, ``parts``: uint8 part ids, ...), then the EXR passes as binary columns
(``depth_exr``, ``normals_exr``: float32 OpenEXR); ``caption``, ``handedness``,
``gesture``, ``gesture_category`` (strings); ``image_size``, ``K``, ``world_to_cam``,
``keypoints_2d``, ``keypoints_3d_cam``, ``keypoints_3d_world``, ``visibility``, ``bbox``
(lists); ``label`` (the full JSON label as a string). The Hugging Face feature types are stored
in the Parquet schema metadata, so ``datasets.load_dataset("parquet", data_files=...)`` (or
``load_dataset(OUT)``) returns PIL images for the Image columns.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synth.dataset.layout import safe_member_path
from synth.passes import PASSES

ROWS_PER_GROUP = 64

#: The pass columns: PNG passes (Image) first, then EXR passes (binary).
PASS_COLUMNS = [p for p in PASSES.values() if p.codec == "png"] + [p for p in PASSES.values() if p.codec != "png"]


def features() -> Any:
    """The ``datasets.Features`` of the table."""
    from datasets import Features, Image, Value

    try:
        from datasets import List
    except ImportError:  # datasets < 4
        from datasets import Sequence as List

    f32 = Value("float32")
    return Features({
        "id": Value("int64"),
        **{p.parquet_column: Image() if p.codec == "png" else Value("binary") for p in PASS_COLUMNS},
        "caption": Value("string"),
        "handedness": Value("string"),
        "gesture": Value("string"),
        "gesture_category": Value("string"),
        "image_size": List(Value("int32")),
        "K": List(List(Value("float64"))),
        "world_to_cam": List(List(Value("float64"))),
        "keypoints_2d": List(List(f32)),
        "keypoints_3d_cam": List(List(f32)),
        "keypoints_3d_world": List(List(f32)),
        "visibility": List(Value("int8")),
        "bbox": List(f32),
        "label": Value("string"),
    })  # fmt: skip


def _row(ds: Any, k: int) -> dict[str, Any]:
    entry = ds.entries[ds.ids[k]]
    label = ds.label(k)

    def blob(kind: str) -> bytes | None:
        return safe_member_path(ds.root, entry.files[kind], entry.id).read_bytes() if kind in entry.files else None

    def img(kind: str) -> dict[str, Any] | None:
        data = blob(kind)
        return None if data is None else {"bytes": data, "path": Path(entry.files[kind]).name}

    g = label.get("gesture") or {}
    return {
        "id": entry.id,
        **{p.parquet_column: img(p.name) if p.codec == "png" else blob(p.name) for p in PASS_COLUMNS},
        "caption": label.get("caption"),
        "handedness": label.get("handedness"),
        "gesture": g.get("name"),
        "gesture_category": g.get("category"),
        **{
            k: label.get(k)
            for k in ("image_size", "K", "world_to_cam", "keypoints_2d", "keypoints_3d_cam", "keypoints_3d_world", "visibility", "bbox")
        },  # fmt: skip
        "label": json.dumps(label, separators=(",", ":")),
    }


def write_rows(rows_iter: Any, n: int, feats: Any, out: Path, split: str, shard_size: int) -> int:
    """Stream rows into ``data/<split>-NNNNN-of-MMMMM.parquet`` files of about ``shard_size`` bytes
    (none for an empty split)."""
    from synth._lazy import require

    pa = require("pyarrow")
    pq = require("pyarrow.parquet")
    schema = feats.arrow_schema
    data_dir = out / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    parts: list[Path] = []
    writer = None
    written = 0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal writer, written
        if not batch:
            return
        if writer is None:
            parts.append(data_dir / f".{split}-{len(parts):05d}.tmp")
            writer = pq.ParquetWriter(parts[-1], schema)
        writer.write_table(pa.Table.from_pylist(batch, schema=schema))
        batch.clear()

    size = 0
    for row in rows_iter:
        batch.append(row)
        size += sum(len(v) for v in row.values() if isinstance(v, bytes))
        size += sum(len(v["bytes"]) for v in row.values() if isinstance(v, dict) and v.get("bytes"))
        written += 1
        if len(batch) >= ROWS_PER_GROUP:
            flush()
        if size >= shard_size:
            flush()
            if writer is not None:
                writer.close()
                writer = None
            size = 0
    flush()
    if writer is not None:
        writer.close()
    # An empty split gets no file: `datasets` cannot read a zero-row Parquet file as a split.
    for i, p in enumerate(parts):
        p.rename(data_dir / f"{split}-{i:05d}-of-{len(parts):05d}.parquet")
    return written


def write_parquet(ds: Any, out: Path, split: str, shard_size: int = 256 << 20, **_: Any) -> int:
    """Write one split; returns the sample count."""
    return write_rows((_row(ds, k) for k in range(len(ds))), len(ds), features(), out, split, shard_size)
