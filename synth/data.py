"""A minimal reader of synth datasets: ``HandDataset`` (numpy only) and a torch adapter.

Example::

    from synth.data import HandDataset
    ds = HandDataset("out/", load=("rgb", "parts"), split="train")
    s = ds[0]
    s["rgb"].shape, s["keypoints_2d"].shape   # (H, W, 3) uint8, (21, 2) float32
    tds = ds.torch()                            # torch.utils.data.Dataset (needs torch)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from synth.dataset.imageio import read_image
from synth.dataset.layout import LABEL_KEY, check_entry_paths, read_dataset_json, read_manifest, safe_member_path
from synth.dataset.splits import parse_splits, split_of
from synth.defects.labels import KEYPOINT_FIELDS, keypoint_rows_as_nan
from synth.passes import PASSES

#: Label fields returned as numpy arrays, with their dtype.
ARRAY_FIELDS: dict[str, Any] = {
    "K": np.float64,
    "world_to_cam": np.float64,
    "keypoints_3d_world": np.float32,
    "keypoints_3d_cam": np.float32,
    "keypoints_2d": np.float32,
    "visibility": np.uint8,
    "bbox": np.float32,
}


class HandDataset(Sequence[dict[str, Any]]):
    """Random access to the complete samples of a dataset directory (manifest order = id order).

    Args:
        root: dataset directory (has ``dataset.json`` and ``manifest.jsonl``).
        load: image kinds to decode per sample, among those present (``"rgb"``, ``"depth"``,
            ``"parts"``, ``"normals"``); ``()`` for labels only.
        split: keep only the ids of this split; ``splits`` gives the fractions (the same
            deterministic by-id-hash rule as ``synth package --split``).
        ids: keep only these ids.

    Raises:
        synth.dataset.layout.DatasetError: not a dataset; ``UnsafePathError`` (naming the sample)
            when a manifest path is absolute, not normalised or leads out of ``root``, also through
            a symlink (checked when the file is opened).

    Each item is a dict: ``id``; ``label`` (the full JSON label); the arrays of
    :data:`ARRAY_FIELDS` (``keypoints_2d`` (21, 2) px, ``keypoints_3d_cam`` (21, 3) m, ``K`` (3, 3),
    ``visibility`` (21,) 0/1, ``bbox`` (4,) [x0, y0, x1, y1] px ...; keypoints a label gives as
    ``null`` -- the removed digit of a ``missing_finger`` defect twin -- are NaN rows); and each loaded image:
    ``rgb`` (H, W, 3) uint8, ``depth`` (H, W) float32 metres, ``parts`` (H, W) uint8,
    ``normals`` (H, W, 3) float32.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        load: Sequence[str] = ("rgb", "depth", "parts"),
        split: str | None = None,
        splits: str | dict[str, float] = "train=0.9,val=0.05,test=0.05",
        ids: Sequence[int] | None = None,
    ) -> None:
        self.root = Path(root)
        self.meta = read_dataset_json(self.root)
        self.entries = read_manifest(self.root)
        self.load = tuple(load)
        keep = list(self.entries)
        if ids is not None:
            wanted = set(int(i) for i in ids)
            keep = [i for i in keep if i in wanted]
        if split is not None:
            fr = parse_splits(splits) if isinstance(splits, str) else dict(splits)
            if split not in fr:
                raise ValueError(f"unknown split {split!r}; splits are {sorted(fr)}")
            keep = [i for i in keep if split_of(i, fr) == split]
        for i in keep:  # untrusted manifest: every path relative, normalised, inside root
            check_entry_paths(self.entries[i])
        self.ids: list[int] = keep

    def subset(self, ids: Sequence[int]) -> HandDataset:
        """A view on the given ids (those present), sharing this dataset's manifest in memory."""
        sub = object.__new__(HandDataset)
        sub.root, sub.meta, sub.entries, sub.load = self.root, self.meta, self.entries, self.load
        sub.ids = [int(i) for i in ids if int(i) in self.entries]
        for i in sub.ids:
            check_entry_paths(self.entries[i])
        return sub

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for k in range(len(self)):
            yield self[k]

    def label(self, index: int) -> dict[str, Any]:
        """The JSON label of the ``index``-th sample (no image decoding)."""
        e = self.entries[self.ids[index]]
        return json.loads(safe_member_path(self.root, e.files[LABEL_KEY], e.id).read_text("utf-8"))

    def path(self, index: int, kind: str) -> Path:
        """Path of one file of the ``index``-th sample (``KeyError`` if absent), checked to lie
        inside the dataset (:func:`synth.dataset.layout.safe_member_path`)."""
        e = self.entries[self.ids[index]]
        return safe_member_path(self.root, e.files[kind], e.id)

    def __getitem__(self, index: int) -> dict[str, Any]:  # type: ignore[override]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        e = self.entries[self.ids[index]]
        label = self.label(index)
        item: dict[str, Any] = {"id": e.id, "label": label}
        for name, dtype in ARRAY_FIELDS.items():
            if name in label:
                value = label[name]
                if name in KEYPOINT_FIELDS:  # a defect twin's removed digit: null rows -> NaN
                    value = keypoint_rows_as_nan(value, 3 if name.startswith("keypoints_3d") else 2)
                item[name] = np.asarray(value, dtype=dtype)
        for kind in self.load:
            if kind in e.files:
                item[kind] = read_image(safe_member_path(self.root, e.files[kind], e.id))
        return item

    def torch(self, with_label: bool = False) -> Any:
        """A ``torch.utils.data.Dataset`` over this dataset (needs torch).

        Items hold tensors, ``id`` and ``caption`` -- all collatable by the default
        ``DataLoader`` collate. ``with_label=True`` adds the raw JSON ``label`` dict (whose
        variable-length fields need a custom ``collate_fn``).
        """
        from synth._lazy import require

        torch = require("torch")
        parent = self

        class TorchHandDataset(torch.utils.data.Dataset):  # type: ignore[misc,name-defined]
            """Tensors: ``rgb`` (3, H, W) float in [0, 1], ``depth`` (1, H, W), ``normals``
            (3, H, W), ``parts`` (H, W) int64, label arrays (``keypoints_2d`` ...) as tensors."""

            def __len__(self) -> int:
                return len(parent)

            def __getitem__(self, index: int) -> dict[str, Any]:
                s = parent[index]
                out: dict[str, Any] = {"id": s["id"], "caption": s["label"].get("caption", "")}
                if with_label:
                    out["label"] = s["label"]
                for k, v in s.items():
                    if k in ("id", "label"):
                        continue
                    how = PASSES[k].tensor if k in PASSES else None
                    if how == "image":
                        out[k] = torch.from_numpy(np.ascontiguousarray(v.transpose(2, 0, 1))).float() / 255.0
                    elif how == "map":
                        out[k] = torch.from_numpy(v)[None]
                    elif how == "vector":
                        out[k] = torch.from_numpy(np.ascontiguousarray(v.transpose(2, 0, 1)))
                    elif how == "index":
                        out[k] = torch.from_numpy(v.astype(np.int64))
                    else:
                        out[k] = torch.from_numpy(np.asarray(v))
                return out

        return TorchHandDataset()
