"""What a defect twin's label says about its keypoints (pure Python/numpy, no rig or mesh code).

A twin with a ``missing_finger`` defect has no keypoints for the removed digit: its rows of
``keypoints_3d_world`` / ``keypoints_3d_cam`` / ``keypoints_2d`` are ``null`` in the JSON label and
its visibility is 0 (:mod:`synth.defects.twin`). Readers and the validator use
:func:`removed_keypoints` to know which rows those are; every other label (and every row of a
correct sample) must be numeric.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from synth.hand.anatomy import FINGERS

#: Label fields holding one row per keypoint that a removed digit leaves ``null``.
KEYPOINT_FIELDS: tuple[str, ...] = ("keypoints_3d_world", "keypoints_3d_cam", "keypoints_2d")


def digit_keypoints(finger: int) -> np.ndarray:
    """``(4,)`` keypoint ids of finger ``finger`` (0 thumb .. 4 pinky): MCP/CMC, PIP/MCP, DIP/IP, tip."""
    return np.arange(1 + 4 * finger, 5 + 4 * finger)


def removed_keypoints(label: dict[str, Any]) -> np.ndarray:
    """Sorted keypoint ids (int ``(n,)``) that ``label`` records as removed: the four keypoints of
    ``defect.removed_finger`` in a twin label (one with ``twin_of``) whose ``defect.type`` is
    ``missing_finger``; empty for any other label, including a malformed defect record."""
    d = label.get("defect")
    if "twin_of" not in label or not isinstance(d, dict) or d.get("type") != "missing_finger":
        return np.zeros(0, dtype=np.int64)
    finger = d.get("removed_finger")
    if finger not in FINGERS:
        return np.zeros(0, dtype=np.int64)
    return digit_keypoints(FINGERS.index(finger))


def keypoint_rows_as_nan(value: Any, width: int, rows: Iterable[int] | None = None) -> Any:
    """``value`` (a label's list of keypoint rows) with its ``null`` rows -- only those among
    ``rows`` when given -- replaced by ``width`` NaNs, so that it converts to a float array (a
    ``null`` left in place still does not); anything that is not a list is returned unchanged."""
    if not isinstance(value, list):
        return value
    allowed = None if rows is None else {int(i) for i in rows}
    nan_row = [float("nan")] * width
    return [nan_row if r is None and (allowed is None or i in allowed) else r for i, r in enumerate(value)]
