"""Pick-a-Pic-v2-style preference pairs for Diffusion-DPO: ``OUT/data/<split>-NNNNN-of-MMMMM.parquet``.

Columns (the Pick-a-Pic v2 ones first, same names and types):

* ``caption`` (string): the prompt both images answer;
* ``jpg_0``, ``jpg_1`` (binary): encoded image bytes (PNG as rendered, or JPEG when
  ``jpeg_quality`` is given -- Pick-a-Pic stores JPEG; the training scripts only call
  ``PIL.Image.open(io.BytesIO(b))`` so either decodes);
* ``label_0``, ``label_1`` (float64): preference of image 0 / 1; 1.0 = preferred, 0.0 = rejected,
  0.5 each for a tie (Pick-a-Pic's convention);
* ``image_0_uid``, ``image_1_uid`` (string): ids of the two images (for defect twins:
  ``"<sample id>"`` and ``"<sample id>/twin"``); ``pair_id`` (string);
* ``are_different``, ``has_label`` (bool): as in Pick-a-Pic v2;
* ``artifact_mask`` (Image, may be null): the per-pixel mask of the *rejected* image's artifacts
  (uint8 PNG, 255 = artifact) -- which image it belongs to is the one with label 0.0;
* ``defect_type`` (string, may be null) and ``defect_description`` (string, may be null): the
  named error of the rejected image (``"extra_finger"``, ``"six fingers"``);
* ``source`` (string): where the pair comes from (``"defect_twin"``, ``"human_review"`` ...).

Pair order: which image is stored as ``jpg_0`` is drawn per pair from
``SeedSequence([seed, crc32(pair_id), PAIR_ORDER_STREAM])``, so half the pairs put the preferred
image first, the order does not depend on row order, and the same seed gives the same bytes.

How Diffusion-DPO consumes it (SalesforceAIResearch/DiffusionDPO ``train.py`` and diffusers'
``examples/research_projects/diffusion_dpo``): ``load_dataset(...)`` of this directory (or
``load_dataset("parquet", data_files=...)``), optionally ``.filter(lambda r: r["label_0"] in (0, 1))``
to drop ties, then per batch decode ``jpg_0`` and ``jpg_1`` with ``Image.open(io.BytesIO(...))``,
swap the pair when ``label_0 == 0`` so the preferred image comes first, concatenate the two along
channels and tokenize ``caption`` (``--caption_column caption``, the default). The extra columns
are ignored by those scripts; reward-model or localisation code reads ``artifact_mask`` and
``defect_type``.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synth.rng import STREAMS, stream

#: Named random stream of the pair order (see the module docstring).
PAIR_ORDER_STREAM = STREAMS["pair_order"]  # 0x5052 "PR" (synth.rng)
ROWS_PER_GROUP = 64


@dataclass(frozen=True)
class PreferenceRow:
    """One preference pair, before the seeded order swap.

    Attributes:
        caption: the prompt.
        image_0, image_1: encoded image bytes, or a path to an image file.
        label_0, label_1: preference of each image (1.0 preferred, 0.0 rejected, 0.5 tie).
        image_0_uid, image_1_uid: ids of the two images.
        pair_id: id of the pair (also keys the order stream); defaults to ``"uid0|uid1"``.
        artifact_mask: PNG bytes (or a path) of the rejected image's artifact mask, or None.
        defect_type, defect_description: the named error of the rejected image, or None.
        source: where the pair comes from.
    """

    caption: str
    image_0: bytes | str | Path
    image_1: bytes | str | Path
    label_0: float
    label_1: float
    image_0_uid: str
    image_1_uid: str
    pair_id: str | None = None
    artifact_mask: bytes | str | Path | None = None
    defect_type: str | None = None
    defect_description: str | None = None
    source: str = "defect_twin"


def features() -> Any:
    """The ``datasets.Features`` of the table."""
    from datasets import Features, Image, Value

    return Features({
        "caption": Value("string"),
        "jpg_0": Value("binary"),
        "jpg_1": Value("binary"),
        "label_0": Value("float64"),
        "label_1": Value("float64"),
        "image_0_uid": Value("string"),
        "image_1_uid": Value("string"),
        "pair_id": Value("string"),
        "are_different": Value("bool"),
        "has_label": Value("bool"),
        "artifact_mask": Image(),
        "defect_type": Value("string"),
        "defect_description": Value("string"),
        "source": Value("string"),
    })  # fmt: skip


def _bytes(x: bytes | str | Path | None) -> bytes | None:
    if x is None or isinstance(x, bytes):
        return x
    return Path(x).read_bytes()


def _jpeg(data: bytes, quality: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def pair_swapped(seed: int, pair_id: str) -> bool:
    """Whether pair ``pair_id`` is stored in swapped order (its own seeded stream)."""
    rng = stream(seed, zlib.crc32(pair_id.encode()), "pair_order")
    return bool(rng.integers(2))


def to_record(row: PreferenceRow, seed: int, jpeg_quality: int | None = None) -> dict[str, Any]:
    """The table row of ``row``, with the seeded order swap applied."""
    for name in ("label_0", "label_1"):
        v = float(getattr(row, name))
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {v}")
    pair_id = row.pair_id or f"{row.image_0_uid}|{row.image_1_uid}"
    a, b = _bytes(row.image_0), _bytes(row.image_1)
    if jpeg_quality is not None:
        a, b = _jpeg(a, jpeg_quality), _jpeg(b, jpeg_quality)
    la, lb, ua, ub = float(row.label_0), float(row.label_1), row.image_0_uid, row.image_1_uid
    if pair_swapped(seed, pair_id):
        a, b, la, lb, ua, ub = b, a, lb, la, ub, ua
    mask = _bytes(row.artifact_mask)
    return {
        "caption": row.caption, "jpg_0": a, "jpg_1": b, "label_0": la, "label_1": lb,
        "image_0_uid": ua, "image_1_uid": ub, "pair_id": pair_id, "are_different": a != b, "has_label": True,
        "artifact_mask": None if mask is None else {"bytes": mask, "path": f"{pair_id.replace('/', '_')}_mask.png"},
        "defect_type": row.defect_type, "defect_description": row.defect_description, "source": row.source,
    }  # fmt: skip


def write_preference_parquet(
    rows: Iterable[PreferenceRow],
    out_dir: str | Path,
    *,
    seed: int,
    split: str = "train",
    jpeg_quality: int | None = None,
    shard_size: int = 256 << 20,
) -> Path:
    """Write ``rows`` as ``out_dir/data/<split>-NNNNN-of-MMMMM.parquet`` (Hugging Face
    ``datasets`` Parquet, Pick-a-Pic v2 columns; see the module docstring).

    Args:
        rows: the pairs, in any order (the stored order of each pair is drawn from ``seed``).
        out_dir: output directory (created; existing shards of ``split`` are overwritten).
        seed: seed of the pair-order stream.
        split: split name in the file names.
        jpeg_quality: re-encode both images as JPEG of this quality (None: keep the bytes).
        shard_size: start a new file after about this many bytes.
    Returns:
        The ``out_dir/data`` directory holding the shard(s) (none for zero rows).
    """
    from synth._lazy import require

    pa = require("pyarrow")
    pq = require("pyarrow.parquet")
    schema = features().arrow_schema
    data_dir = Path(out_dir) / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    parts: list[Path] = []
    writer = None
    batch: list[dict[str, Any]] = []
    size = 0

    def flush() -> None:
        nonlocal writer
        if not batch:
            return
        if writer is None:
            parts.append(data_dir / f".{split}-{len(parts):05d}.tmp")
            writer = pq.ParquetWriter(parts[-1], schema)
        writer.write_table(pa.Table.from_pylist(batch, schema=schema))
        batch.clear()

    def records() -> Iterator[dict[str, Any]]:
        for r in rows:
            yield to_record(r, seed, jpeg_quality)

    for rec in records():
        batch.append(rec)
        size += len(rec["jpg_0"]) + len(rec["jpg_1"])
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
    for i, p in enumerate(parts):
        p.rename(data_dir / f"{split}-{i:05d}-of-{len(parts):05d}.parquet")
    return data_dir
