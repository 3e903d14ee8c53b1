"""Bounding boxes from masks (pure numpy)."""

from __future__ import annotations

import numpy as np


def bbox_from_mask(mask: np.ndarray) -> list[int] | None:
    """Tight box of the non-zero pixels of an ``(H, W)`` mask.

    Returns:
        ``[x0, y0, x1, y1]`` in integer pixel indices with exclusive ends, so
        ``mask[y0:y1, x0:x1]`` holds every non-zero pixel and each side touches one (in OpenCV
        pixel-centre coordinates the box edges are at ``x0 - 0.5`` .. ``x1 - 0.5``); None when the
        mask is empty.
    """
    m = np.asarray(mask) != 0
    rows = np.flatnonzero(m.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(m.any(axis=0))
    return [int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1]
