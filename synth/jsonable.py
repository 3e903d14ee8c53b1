"""Plain JSON values from numpy-bearing structures (the one converter: labels, attributes,
``dataset.json``, configs)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import numpy as np


def to_jsonable(obj: Any) -> Any:
    """Plain JSON types from nested mappings, sequences, numpy arrays/scalars and paths (tuples
    become lists, mapping keys strings)."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, PurePath):
        return str(obj)
    return obj
