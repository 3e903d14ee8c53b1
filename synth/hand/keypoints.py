"""The 21-keypoint schema (version 1) and converters to other orders.

Order: OpenPose / MediaPipe / FreiHAND -- 0 wrist; 1-4 thumb CMC, MCP, IP, tip; 5-8 index MCP,
PIP, DIP, tip; 9-12 middle; 13-16 ring; 17-20 pinky. Joints are skeleton joint centres (the
head of the corresponding bone); tips are fixed surface vertices at the finger ends, whose ids
are listed per model in the rig asset (``tip_vertex_ids``).
"""

from __future__ import annotations

import numpy as np

SCHEMA_VERSION = 1

KEYPOINT_NAMES: tuple[str, ...] = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
)  # fmt: skip
N_KEYPOINTS = 21

#: Skeleton edges (parent, child) in keypoint indices.
SKELETON: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 4),
    (0, 5), (5, 6), (6, 7), (7, 8),
    (0, 9), (9, 10), (10, 11), (11, 12),
    (0, 13), (13, 14), (14, 15), (15, 16),
    (0, 17), (17, 18), (18, 19), (19, 20),
)  # fmt: skip

#: Keypoint index of each fingertip, thumb..pinky.
TIP_KEYPOINTS: tuple[int, ...] = (4, 8, 12, 16, 20)

#: Anatomical joint (synth.hand.anatomy.JOINTS row) whose centre each non-tip keypoint is;
#: ``None`` for tips.
KEYPOINT_JOINT: tuple[int | None, ...] = (
    0, 1, 2, 3, None, 4, 5, 6, None, 7, 8, 9, None, 10, 11, 12, None, 13, 14, 15, None,
)  # fmt: skip

#: MANO-native order as produced by ``smplx.MANO`` with fingertips appended (thumb, index,
#: middle, ring, pinky tips): wrist, index1-3, middle1-3, pinky1-3, ring1-3, thumb1-3, tips.
MANO_FROM_SYNTH: tuple[int, ...] = (0, 5, 6, 7, 9, 10, 11, 17, 18, 19, 13, 14, 15, 1, 2, 3, 4, 8, 12, 16, 20)
#: synth order from MANO-native order.
SYNTH_FROM_MANO: tuple[int, ...] = tuple(int(i) for i in np.argsort(MANO_FROM_SYNTH))

#: RHD order: wrist, then per finger (thumb, index, middle, ring, little) tip to base.
RHD_FROM_SYNTH: tuple[int, ...] = (0, 4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9, 16, 15, 14, 13, 20, 19, 18, 17)
SYNTH_FROM_RHD: tuple[int, ...] = tuple(int(i) for i in np.argsort(RHD_FROM_SYNTH))


def to_mano_order(kp: np.ndarray) -> np.ndarray:
    """Reorder ``(..., 21, D)`` keypoints from synth order to MANO-native order."""
    return np.asarray(kp)[..., MANO_FROM_SYNTH, :]


def from_mano_order(kp: np.ndarray) -> np.ndarray:
    """Reorder ``(..., 21, D)`` keypoints from MANO-native order to synth order."""
    return np.asarray(kp)[..., SYNTH_FROM_MANO, :]


def to_rhd_order(kp: np.ndarray) -> np.ndarray:
    """Reorder ``(..., 21, D)`` keypoints from synth order to RHD order."""
    return np.asarray(kp)[..., RHD_FROM_SYNTH, :]


def from_rhd_order(kp: np.ndarray) -> np.ndarray:
    """Reorder ``(..., 21, D)`` keypoints from RHD order to synth order."""
    return np.asarray(kp)[..., SYNTH_FROM_RHD, :]


def schema() -> dict[str, object]:
    """The keypoint schema as a JSON-ready dict (written into ``dataset.json``)."""
    return {
        "version": SCHEMA_VERSION,
        "names": list(KEYPOINT_NAMES),
        "skeleton": [list(e) for e in SKELETON],
        "order": "OpenPose/MediaPipe/FreiHAND",
        "joints": "skeleton joint centres (bone heads)",
        "tips": "fixed surface vertices at the finger ends (rig tip_vertex_ids)",
    }
