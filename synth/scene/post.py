"""Camera post effects applied to the RGB image only (pure numpy + OpenCV): defocus-like blur,
linear motion blur, sensor noise and JPEG compression. Labels always describe the sharp
geometry; the effects and their parameters are recorded in the sample's ``attributes.post`` so
users can filter or re-balance.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")


@dataclass(frozen=True)
class PostConfig:
    """Probabilities and ranges of the post effects.

    Attributes:
        blur_prob: probability of a Gaussian (defocus-like) blur, sigma in ``blur_sigma`` px.
        motion_prob: probability of a linear motion blur of ``motion_px`` length.
        noise_prob: probability of sensor noise (Gaussian, ``noise_sigma`` in 8-bit levels,
            plus signal-dependent shot noise).
        jpeg_prob: probability of JPEG compression at quality ``jpeg_quality``.
    """

    blur_prob: float = 0.1
    blur_sigma: tuple[float, float] = (0.5, 1.5)
    motion_prob: float = 0.05
    motion_px: tuple[float, float] = (2.0, 7.0)
    noise_prob: float = 0.3
    noise_sigma: tuple[float, float] = (1.0, 6.0)
    jpeg_prob: float = 0.3
    jpeg_quality: tuple[int, int] = (40, 95)

    def __post_init__(self) -> None:
        for k in ("blur_prob", "motion_prob", "noise_prob", "jpeg_prob"):
            if not 0.0 <= getattr(self, k) <= 1.0:
                raise ValueError(f"post.{k} must be in 0..1")
        if not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise ValueError("post.jpeg_quality must be (lo, hi) in 1..100")


@dataclass(frozen=True)
class PostSpec:
    """The sampled effects (``None`` = not applied)."""

    blur_sigma: float | None = None
    motion_px: float | None = None
    motion_angle_deg: float | None = None
    noise_sigma: float | None = None
    jpeg_quality: int | None = None
    noise_seed: int = 0

    def attributes(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v is not None and k != "noise_seed"}


def sample_post(rng: np.random.Generator, cfg: PostConfig) -> PostSpec:
    """Draw the post effects of one sample (always consumes the same number of draws)."""
    u = rng.random(4)
    blur = float(rng.uniform(*cfg.blur_sigma))
    mlen, mang = float(rng.uniform(*cfg.motion_px)), float(rng.uniform(0, 180))
    sig = float(rng.uniform(*cfg.noise_sigma))
    q = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
    seed = int(rng.integers(2**31))
    return PostSpec(
        blur_sigma=blur if u[0] < cfg.blur_prob else None,
        motion_px=mlen if u[1] < cfg.motion_prob else None,
        motion_angle_deg=mang if u[1] < cfg.motion_prob else None,
        noise_sigma=sig if u[2] < cfg.noise_prob else None,
        jpeg_quality=q if u[3] < cfg.jpeg_prob else None,
        noise_seed=seed,
    )


def apply_post(rgb: np.ndarray, spec: PostSpec) -> np.ndarray:
    """Apply the effects to an ``(H, W, 3)`` uint8 sRGB image; returns a new uint8 image.
    Deterministic: the noise comes from ``spec.noise_seed``."""
    import cv2

    img = rgb.astype(np.float32)
    if spec.blur_sigma:
        img = cv2.GaussianBlur(img, (0, 0), spec.blur_sigma)
    if spec.motion_px:
        n = max(3, int(round(spec.motion_px)) | 1)
        k = np.zeros((n, n), np.float32)
        k[n // 2, :] = 1.0
        R = cv2.getRotationMatrix2D(((n - 1) / 2.0, (n - 1) / 2.0), float(spec.motion_angle_deg or 0.0), 1.0)
        k = cv2.warpAffine(k, R, (n, n))
        k /= max(k.sum(), 1e-6)
        img = cv2.filter2D(img, -1, k, borderType=cv2.BORDER_REFLECT)
    if spec.noise_sigma:
        g = np.random.default_rng(spec.noise_seed)
        shot = np.sqrt(np.clip(img, 0, 255) / 255.0) * spec.noise_sigma
        img = img + g.standard_normal(img.shape).astype(np.float32) * (spec.noise_sigma * 0.5 + shot)
    out = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    if spec.jpeg_quality:
        ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(spec.jpeg_quality)])
        if not ok:  # pragma: no cover
            raise RuntimeError("JPEG encoding failed")
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()
    return out
