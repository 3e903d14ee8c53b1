"""Deterministic train/val/test splits by id hash.

A sample's split depends only on its id (and an optional salt), never on the dataset size or
on which other samples exist, so a dataset that grows keeps every old sample in its split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

DEFAULT_SPLITS: dict[str, float] = {"train": 0.9, "val": 0.05, "test": 0.05}


def parse_splits(text: str | None) -> dict[str, float]:
    """Parse ``"train=0.9,val=0.05,test=0.05"``; fractions must be > 0 and sum to 1.

    ``None`` or ``""`` -> a single ``{"train": 1.0}`` split.
    """
    if not text:
        return {"train": 1.0}
    out: dict[str, float] = {}
    for part in text.split(","):
        name, eq, value = part.partition("=")
        name = name.strip()
        if not eq or not name or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"bad split {part!r}: expected NAME=FRACTION, e.g. train=0.9,val=0.1")
        if name in out:
            raise ValueError(f"split {name!r} given twice")
        try:
            frac = float(value)
        except ValueError:
            raise ValueError(f"bad split fraction {value!r} for {name!r}") from None
        if not 0.0 < frac <= 1.0:
            raise ValueError(f"split fraction for {name!r} must be in (0, 1], got {frac}")
        out[name] = frac
    total = sum(out.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"split fractions must sum to 1, got {total:g}")
    return out


def id_unit(sample_id: int, salt: str = "") -> float:
    """A uniform number in [0, 1) derived from the sha256 of the id (and salt)."""
    h = hashlib.sha256(f"{salt}:{int(sample_id)}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2.0**64


def split_of(sample_id: int, splits: Mapping[str, float], salt: str = "") -> str:
    """Name of the split ``sample_id`` belongs to (splits in their given order)."""
    u = id_unit(sample_id, salt)
    acc = 0.0
    names = list(splits)
    for name in names:
        acc += splits[name]
        if u < acc:
            return name
    return names[-1]


def assign(ids: Iterable[int], splits: Mapping[str, float], salt: str = "") -> dict[str, list[int]]:
    """Group ids by split: ``{name: sorted ids}`` (every split name present, maybe empty)."""
    out: dict[str, list[int]] = {name: [] for name in splits}
    for i in sorted(ids):
        out[split_of(i, splits, salt)].append(i)
    return out
