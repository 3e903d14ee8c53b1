"""Artifact masks of a defect twin (pure numpy + OpenCV).

**Rule.** A pixel is an artifact pixel when the twin's geometry seen through that pixel centre
differs from the correct sample's: its part id differs (``parts`` passes, background 0 included,
so added or removed surface counts), or both see a surface and their planar depths differ by more
than :data:`DEPTH_TOLERANCE_M` (1 mm). Both passes are the first-sample (pixel-centre) passes,
so the mask is exact to the geometry, not to the antialiased RGB.

**Heatmap.** RichHF-18K marks implausible regions with points and blurs them into a heatmap; we
treat every artifact pixel as a point and blur with a Gaussian of standard deviation
:data:`HEATMAP_SIGMA_FRAC` of the image width (8 px at 512 px), then scale to a peak of 1:
``uint8`` 0..255 in the saved PNG.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Depth difference (metres) above which two surfaces differ.
DEPTH_TOLERANCE_M = 1e-3
#: Gaussian sigma of the soft heatmap, as a fraction of the image width.
HEATMAP_SIGMA_FRAC = 8.0 / 512.0


def artifact_mask(depth_a: np.ndarray, parts_a: np.ndarray, depth_b: np.ndarray, parts_b: np.ndarray,
                  tol: float = DEPTH_TOLERANCE_M) -> np.ndarray:
    """``(H, W)`` bool: pixels where sample ``a`` and twin ``b`` see different geometry.

    Args:
        depth_a, depth_b: ``(H, W)`` planar depth, metres, 0 where no surface.
        parts_a, parts_b: ``(H, W)`` uint8 part ids (0 background).
        tol: depth tolerance in metres.
    """
    both = (depth_a > 0) & (depth_b > 0)
    return (parts_a != parts_b) | (both & (np.abs(depth_a.astype(np.float64) - depth_b) > tol))


def heatmap(mask: np.ndarray, sigma_frac: float = HEATMAP_SIGMA_FRAC) -> np.ndarray:
    """``(H, W)`` float32 in [0, 1]: the mask blurred with a Gaussian (sigma = ``sigma_frac * W`` px),
    scaled to a peak of 1 (all zeros for an empty mask)."""
    m = mask.astype(np.float32)
    if not m.any():
        return np.zeros(mask.shape, np.float32)
    s = max(sigma_frac * mask.shape[1], 0.5)
    h = cv2.GaussianBlur(m, (0, 0), sigmaX=s, sigmaY=s, borderType=cv2.BORDER_CONSTANT)
    return (h / h.max()).astype(np.float32)


def heatmap_u8(mask: np.ndarray) -> np.ndarray:
    """:func:`heatmap` as ``(H, W)`` uint8 0..255."""
    return np.rint(heatmap(mask) * 255).astype(np.uint8)
