"""WebDataset: size-bounded tar shards ``<split>-000000.tar`` ...

Per sample (key = zero-padded id): one member per pass present (:data:`EXTENSIONS`, from
:data:`synth.passes.PASSES`: ``.png`` RGB, ``.depth.exr``, ``.parts.png``, ``.normals.exr``, ...)
and ``.json`` (the full label). The
files are the dataset's own bytes (no re-encoding), written with the standard library's
``tarfile`` (no webdataset or torch import needed to package). ``<split>.shards.json`` lists the shards and
counts. Decode with ``webdataset`` plus :func:`decoders` (EXR and the uint8 part mask need them)::

    import webdataset as wds
    from synth.dataset.formats.wds import decoders
    for s in wds.WebDataset(urls, shardshuffle=False).decode(*decoders()): ...
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from synth.dataset.layout import safe_member_path
from synth.passes import PASSES

#: dataset file kind -> webdataset extension (the passes' from :data:`synth.passes.PASSES`).
EXTENSIONS: dict[str, str] = {**{p.name: p.wds_extension for p in PASSES.values()}, "label": "json"}


def _tar_bytes(sample: dict[str, Any]) -> int:
    """Bytes a sample takes in a tar: a 512-byte header per member plus data padded to 512."""
    return sum(512 + -(-len(v) // 512) * 512 for k, v in sample.items() if not k.startswith("_"))


def write_webdataset(ds: Any, out: Path, split: str, shard_size: int = 256 << 20, **_: Any) -> int:
    """Write one split as tar shards; returns the sample count.

    A shard is closed before a sample would push it past ``shard_size`` bytes (then tar rounds the
    file up to its 10240-byte record); a single sample larger than that gets a shard of its own.
    Member mtimes are 0, so packaging the same dataset twice gives identical shards.
    """
    from synth.dataset.layout import stem

    shards: list[dict[str, Any]] = []
    sink: tarfile.TarFile | None = None
    used = 0
    try:
        for k in range(len(ds)):
            entry = ds.entries[ds.ids[k]]
            key = stem(entry.id)
            sample: dict[str, bytes] = {}
            for kind, ext in EXTENSIONS.items():
                if kind in entry.files:
                    sample[ext] = safe_member_path(ds.root, entry.files[kind], entry.id).read_bytes()
            need = _tar_bytes(sample)
            if sink is None or (used > 1024 and used + need > shard_size):
                if sink is not None:
                    sink.close()
                name = f"{split}-{len(shards):06d}.tar"
                sink = tarfile.open(out / name, "w", format=tarfile.USTAR_FORMAT)
                shards.append({"url": name, "count": 0})
                used = 1024  # tar's end-of-archive blocks
            for ext, data in sample.items():
                info = tarfile.TarInfo(f"{key}.{ext}")
                info.size, info.mtime, info.mode = len(data), 0, 0o444
                info.uname = info.gname = "synth"
                sink.addfile(info, io.BytesIO(data))
            used += need
            shards[-1]["count"] += 1
    finally:
        if sink is not None:
            sink.close()
    (out / f"{split}.shards.json").write_text(json.dumps({"split": split, "shards": shards}, indent=1), "utf-8")
    return len(ds)


def _decode_png(data: bytes) -> np.ndarray:
    from synth.dataset.imageio import decode_image

    return decode_image(data)


def decoders() -> list[Any]:
    """webdataset decode handlers: EXR -> float32 arrays, ``.parts.png`` -> uint8 ids, ``.png`` ->
    (H, W, 3) uint8 RGB (``.json`` is decoded by webdataset's default handlers)."""
    import webdataset as wds

    return [
        wds.handle_extension("exr", _decode_png),
        wds.handle_extension("png", _decode_png),
    ]
