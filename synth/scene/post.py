"""Camera post effects applied to the RGB image only (pure numpy + OpenCV): thin-lens depth of
field from the rendered depth, a whole-image soft-focus blur, linear motion blur, sensor noise and
JPEG compression. Labels always describe the sharp geometry; the effects and their parameters are
recorded in the sample's ``attributes.post`` so users can filter or re-balance.

Depth of field (:func:`defocus`) follows the thin-lens model: a point at depth ``d`` seen by a
lens of focal length ``f`` and f-number ``N`` focused at ``s`` images to a circle of confusion of
diameter ``c = (f / N) * f_px * |d - s| / (d * (s - f))`` pixels (``f_px`` the focal length in
pixels; 35 mm-equivalent ``f`` and ``N``, so the blur matches a full-frame camera with the same
field of view). It is computed from the *exact* depth pass of the same render (background, depth
0, is at infinity): the image is split into depth layers of similar blur, each layer is blurred with
a disc of its circle of confusion and composited back to front over the layers behind it, whose
pixels hidden by nearer layers are filled by normalised convolution, so the sharp hand does not
bleed into the blurred background and a blurred near finger spreads over what lies behind it.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")


@dataclass
class PostConfig:
    """Probabilities and ranges of the post effects on the RGB image only, recorded in
    ``attributes.post``: the job config's ``post`` section and the sampler's input (one definition).

    Attributes:
        blur_prob: probability of a whole-image Gaussian soft-focus blur, sigma in ``blur_sigma`` px.
        motion_prob: probability of a linear motion blur of ``motion_px`` length.
        noise_prob: probability of sensor noise (Gaussian, ``noise_sigma`` in 8-bit levels,
            plus signal-dependent shot noise).
        jpeg_prob: probability of JPEG compression at quality ``jpeg_quality``.
        dof_prob: probability of thin-lens depth of field focused on the hand.
        dof_f_number: ``(lo, hi)`` 35 mm-equivalent f-number, drawn log-uniformly.
    """

    blur_prob: float = 0.1
    blur_sigma: tuple[float, float] = (0.5, 1.5)
    motion_prob: float = 0.05
    motion_px: tuple[float, float] = (2.0, 7.0)
    noise_prob: float = 0.3
    noise_sigma: tuple[float, float] = (1.0, 6.0)
    jpeg_prob: float = 0.3
    jpeg_quality: tuple[int, int] = (40, 95)
    dof_prob: float = 0.3
    dof_f_number: tuple[float, float] = (1.4, 11.0)

    def __post_init__(self) -> None:
        if not 0.5 <= self.dof_f_number[0] <= self.dof_f_number[1] <= 64.0:
            raise ValueError(f"post.dof_f_number must be (lo, hi) with 0.5 <= lo <= hi <= 64, got {self.dof_f_number}")
        for k in ("blur_prob", "motion_prob", "noise_prob", "jpeg_prob", "dof_prob"):
            if not 0.0 <= getattr(self, k) <= 1.0:
                raise ValueError(f"post.{k} must be in 0..1")
        if not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise ValueError("post.jpeg_quality must be (lo, hi) in 1..100")


@dataclass(frozen=True)
class PostSpec:
    """The sampled effects (``None`` = not applied).

    Depth of field: ``dof_f_number`` (35 mm-equivalent), ``dof_focus_m`` (focus distance, planar
    camera depth, metres), ``dof_focal_mm`` (35 mm-equivalent focal length) and ``dof_focal_px``
    (focal length in pixels), and ``dof_coc_px_at_infinity`` (circle-of-confusion diameter of the
    far background, pixels).
    """

    blur_sigma: float | None = None
    motion_px: float | None = None
    motion_angle_deg: float | None = None
    noise_sigma: float | None = None
    jpeg_quality: int | None = None
    noise_seed: int = 0
    dof_f_number: float | None = None
    dof_focus_m: float | None = None
    dof_focal_mm: float | None = None
    dof_focal_px: float | None = None
    dof_coc_px_at_infinity: float | None = None

    def attributes(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v is not None and k != "noise_seed"}


def sample_post(rng: np.random.Generator, cfg: PostConfig, focus_m: float | None = None,
                focal_mm: float | None = None, focal_px: float | None = None) -> PostSpec:
    """Draw the post effects of one sample (always consumes the same number of draws).

    Depth of field needs the camera: ``focus_m`` (planar depth of the hand centre, metres),
    ``focal_mm`` (35 mm-equivalent) and ``focal_px``; without them it is never applied. The focus
    distance is jittered by up to +-3 %.
    """
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
        **_sample_dof(rng, cfg, focus_m, focal_mm, focal_px),
    )


def _sample_dof(rng: np.random.Generator, cfg: PostConfig, focus_m: float | None, focal_mm: float | None,
                focal_px: float | None) -> dict[str, float]:
    u, lo_hi, jit = rng.random(), np.log(cfg.dof_f_number), rng.uniform(-0.03, 0.03)
    n = float(np.exp(rng.uniform(lo_hi[0], lo_hi[1])))
    if u >= cfg.dof_prob or focus_m is None or focal_mm is None or focal_px is None:
        return {}
    s = float(focus_m) * (1.0 + jit)
    f_m = focal_mm / 1000.0
    if s <= 2.0 * f_m:  # closer than macro range: no meaningful thin-lens focus
        return {}
    return {"dof_f_number": round(n, 3), "dof_focus_m": round(s, 5), "dof_focal_mm": round(float(focal_mm), 3),
            "dof_focal_px": round(float(focal_px), 4),
            "dof_coc_px_at_infinity": round(coc_px(np.array([np.inf]), float(focal_px), f_m, n, s)[0], 3)}


def coc_px(depth_m: np.ndarray, focal_px: float, focal_m: float, f_number: float, focus_m: float) -> np.ndarray:
    """Thin-lens circle-of-confusion diameter (pixels) of points at planar depths ``depth_m``
    (any shape, metres; ``inf`` allowed), for a lens of focal length ``focal_m`` (35 mm
    equivalent, metres; ``focal_px`` in pixels) at f-number ``f_number`` focused at ``focus_m``."""
    d = np.asarray(depth_m, dtype=np.float64)
    rel = np.ones_like(d)
    fin = np.isfinite(d)
    rel[fin] = np.abs(d[fin] - focus_m) / d[fin]
    return (focal_m / f_number) * focal_px * rel / (focus_m - focal_m)


def _disc(radius: float) -> np.ndarray:
    """Normalised antialiased disc kernel of ``radius`` pixels."""
    n = int(np.ceil(radius))
    y, x = np.mgrid[-n:n + 1, -n:n + 1]
    k = np.clip(radius + 0.5 - np.hypot(x, y), 0.0, 1.0).astype(np.float32)
    return k / k.sum()


def _fill(img: np.ndarray, have: np.ndarray, need: np.ndarray) -> np.ndarray:
    """``img`` with the pixels of ``need`` not in ``have`` replaced by a push-pull interpolation of
    the ``have`` pixels (an area-averaged pyramid of colour x mask, then from coarse to fine each
    level's mean colour of the known pixels, blended by their coverage with the coarser estimate):
    smooth, O(pixels), and reaching any distance."""
    import cv2

    out = img * have[..., None]
    missing = need & ~have
    if not missing.any() or not have.any():
        return out
    levels = [(out.astype(np.float32), have.astype(np.float32))]
    while max(levels[-1][1].shape) > 1:
        c, w = levels[-1]
        size = (max(1, (c.shape[1] + 1) // 2), max(1, (c.shape[0] + 1) // 2))
        levels.append((cv2.resize(c, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], 3),
                       cv2.resize(w, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0])))
    c, w = levels[-1]
    est = c / np.maximum(w, 1e-12)[..., None]
    for c, w in reversed(levels[:-1]):
        up = cv2.resize(est, (c.shape[1], c.shape[0]), interpolation=cv2.INTER_LINEAR).reshape(c.shape)
        est = c + (1.0 - w)[..., None] * up  # = w * (mean of known) + (1 - w) * coarser estimate
    out[missing] = est[missing]
    return out


#: Layer boundaries of :func:`defocus` in circle-of-confusion *radius* (pixels).
_DOF_EDGES = (0.5, 1.0, 2.0, 3.0, 4.5, 6.5, 9.0, 13.0, 18.0, 26.0, 36.0, 52.0, 72.0, 104.0)


def defocus(img_lin: np.ndarray, depth: np.ndarray, focal_px: float, focal_m: float, f_number: float,
            focus_m: float, max_coc_frac: float = 0.2) -> np.ndarray:
    """Thin-lens depth of field (see the module docstring).

    Args:
        img_lin: ``(H, W, 3)`` float32 linear RGB.
        depth: ``(H, W)`` planar depth, metres; 0 = background at infinity.
        focal_px, focal_m: focal length in pixels and (35 mm-equivalent) metres.
        f_number: 35 mm-equivalent f-number.
        focus_m: focus distance (planar depth), metres.
        max_coc_frac: circle-of-confusion diameters are capped at this fraction of the long side.
    Returns:
        ``(H, W, 3)`` float32 defocused linear RGB.
    """
    import cv2

    H, W = depth.shape
    d = np.where(depth > 0, depth.astype(np.float64), np.inf)
    r = 0.5 * np.minimum(coc_px(d, focal_px, focal_m, f_number, focus_m), max_coc_frac * max(H, W))
    signed = np.where(d > focus_m, r, -r)
    edges = np.array(_DOF_EDGES)
    bins = np.digitize(signed, np.concatenate([-edges[::-1], edges]))  # larger bin = farther
    img = img_lin.astype(np.float32)
    acc = np.zeros_like(img)
    # Pixels within 2 px of a surface nearer by more than 2 cm (and 5 %): an occlusion boundary, not
    # a continuous surface crossing from one layer to the next.
    dd = np.where(np.isinf(d), 1e9, d).astype(np.float32)
    dmin = cv2.erode(dd, np.ones((5, 5), np.uint8))
    occluded_edge = (dd - dmin) > np.maximum(0.02, 0.05 * dmin)
    present = np.unique(bins)[::-1]  # far to near
    radii = [float(np.median(r[bins == b])) for b in present]
    for n_layer, b in enumerate(present):
        m = bins == b
        radius = radii[n_layer]
        nearer = bins < b
        if n_layer == 0:
            support = np.ones_like(m)  # the farthest layer fills the whole frame
        else:
            # Behind the nearer layers as far as their blur can open them up (their largest
            # radius) plus this layer's own blur, so the layers' coverage always adds up to 1.
            grow = int(np.ceil(radius + max(radii[n_layer + 1:], default=0.0))) + 1
            ker = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
            support = m | (cv2.dilate(m.astype(np.uint8), ker).astype(bool) & nearer)
        # Antialiased pixels along an occluding silhouette mix this layer's colour with the nearer
        # surface's: they are not used as a source (else a wide blur smears a halo of the hand
        # into the background); they are filled from the layer's clean pixels like hidden ones.
        src = m & ~occluded_edge
        if radius < 0.5 or not src.any():
            src = m
        col = _fill(img, src, support)
        s = support.astype(np.float32)
        if radius >= 0.5:
            k = _disc(radius)
            col = cv2.filter2D(col, -1, k, borderType=cv2.BORDER_REPLICATE)
            s = cv2.filter2D(s, -1, k, borderType=cv2.BORDER_REPLICATE)
        else:
            col = col * s[..., None]
        acc = col + (1.0 - s)[..., None] * acc
    return acc


def _srgb_to_linear(x: np.ndarray) -> np.ndarray:
    x = x / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return (255.0 * np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)).astype(np.float32)


def apply_post(rgb: np.ndarray, spec: PostSpec, depth: np.ndarray | None = None) -> np.ndarray:
    """Apply the effects to an ``(H, W, 3)`` uint8 sRGB image; returns a new uint8 image.
    Deterministic: the noise comes from ``spec.noise_seed``. Depth of field (first, in linear
    light) needs ``depth``, the ``(H, W)`` planar depth of the same render (metres, 0 background)."""
    import cv2

    img = rgb.astype(np.float32)
    if spec.dof_f_number:
        if depth is None or depth.shape != rgb.shape[:2]:
            raise ValueError("depth of field needs the (H, W) depth pass of the same render")
        lin = defocus(_srgb_to_linear(img), depth, float(spec.dof_focal_px), float(spec.dof_focal_mm) / 1000.0,
                      float(spec.dof_f_number), float(spec.dof_focus_m))
        img = _linear_to_srgb(lin)
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
