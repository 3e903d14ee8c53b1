"""Skin tones: a melanin / haemoglobin albedo model spanning the Monk Skin Tone scale (pure numpy).

Albedo model (linear RGB, per channel ``c``)::

    albedo_c(m, h) = BASE_c * exp(-(m * MELANIN_c + BROADBAND * m**2 + h * HAEMOGLOBIN_c))

``m`` (melanin) and ``h`` (haemoglobin) are dimensionless optical depths; the absorption spectra
are reduced to relative RGB coefficients (melanin absorbs strongly toward blue, haemoglobin in
the green and blue). The quadratic broadband term stands in for the flattening of the effective
absorption of dense melanin (multiple scattering in a layered skin): without it the darkest tones
come out saturated orange instead of deep brown. Each of the 10 Monk Skin Tone (MST) reference
colours (Monk 2019, the scale's published sRGB swatches) was fitted (Nelder-Mead on the sRGB
error, :func:`fit_monk`; max channel error 0.061 in sRGB) into :data:`MONK_PARAMS`; sampling picks
a Monk step, perturbs its ``(m, h)`` and records both. Palms and nail beds have less melanin than the
backs of hands (Taylor 2002: palmoplantar skin is lighter at every constitutive tone), modelled by
scaling ``m`` down and ``h`` up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from synth.geometry import vertex_normals

#: Monk Skin Tone scale swatches, steps 1..10 (sRGB hex).
MONK_HEX: tuple[str, ...] = (
    "#f6ede4", "#f3e7db", "#f7ead0", "#eadaba", "#d7bd96",
    "#a07e56", "#825c43", "#604134", "#3a312a", "#292420",
)  # fmt: skip
#: Words for captions, per Monk step.
MONK_WORDS: tuple[str, ...] = (
    "very fair", "fair", "light", "light-medium", "medium",
    "medium-brown", "brown", "dark brown", "dark", "very dark",
)  # fmt: skip

BASE = np.array([0.92, 0.90, 0.88])
MELANIN = np.array([0.45, 0.8, 1.4])
BROADBAND = 0.7
HAEMOGLOBIN = np.array([0.08, 0.75, 0.55])

HAEMOGLOBIN_FLOOR = 0.14
PALM_MELANIN_SCALE = 0.35
PALM_HAEMOGLOBIN_SCALE = 1.25
NAILBED_MELANIN_SCALE = 0.2


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """sRGB (0..1) -> linear RGB."""
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    """Linear RGB -> sRGB (0..1)."""
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


def hex_to_linear(h: str) -> np.ndarray:
    """``#rrggbb`` -> linear RGB ``(3,)``."""
    return srgb_to_linear(np.array([int(h[i : i + 2], 16) for i in (1, 3, 5)]) / 255.0)


def albedo(melanin: float | np.ndarray, haemoglobin: float | np.ndarray) -> np.ndarray:
    """Linear-RGB albedo ``(..., 3)`` of skin with the given optical depths."""
    m = np.asarray(melanin, dtype=np.float64)[..., None]
    h = np.asarray(haemoglobin, dtype=np.float64)[..., None]
    return BASE * np.exp(-(m * MELANIN + BROADBAND * m * m + h * HAEMOGLOBIN))


def fit_monk() -> np.ndarray:
    """Re-fit ``(10, 2)`` melanin and haemoglobin to the Monk swatches (needs scipy; used by the
    tests to check :data:`MONK_PARAMS`)."""
    from scipy.optimize import minimize

    out = np.zeros((len(MONK_HEX), 2))
    for k, hx in enumerate(MONK_HEX):
        target = linear_to_srgb(hex_to_linear(hx))

        def err(x: np.ndarray, target: np.ndarray = target) -> float:
            return float(np.sum((linear_to_srgb(albedo(abs(x[0]), abs(x[1]))) - target) ** 2))

        best = min((minimize(err, [m0, h0], method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-10})
                    for m0 in (0.1, 1.0, 3.0) for h0 in (0.0, 0.5)), key=lambda r: r.fun)
        out[k] = np.abs(best.x)
    return out


#: ``(10, 2)`` fitted (melanin, haemoglobin) per Monk step (see :func:`fit_monk`).
MONK_PARAMS: np.ndarray = np.array([
    [0.064, 0.0231], [0.1131, 0.0436], [0.1598, 0.0], [0.3001, 0.0], [0.487, 0.1127],
    [0.917, 0.2983], [1.1214, 0.4873], [1.3931, 0.3536], [1.6949, 0.0], [1.8787, 0.0],
])  # fmt: skip



@dataclass(frozen=True)
class SkinSample:
    """A sampled skin appearance (colours in linear RGB).

    Attributes:
        monk: Monk Skin Tone step, 1..10.
        melanin, haemoglobin: optical depths of the back of the hand.
        back_color: ``(3,)`` albedo of the back of the hand.
        palm_color: ``(3,)`` albedo of the palm (less melanin).
        nail_color: ``(3,)`` colour of the nail plate over the nail bed.
        nail_gloss: nail specular roughness (lower is shinier).
        polish: optional nail polish colour ``(3,)`` or None.
        roughness: skin specular roughness.
        bump: micro-detail (pores, creases) bump strength.
        subsurface_radius: ``(3,)`` mean free paths, metres.
    """

    monk: int
    melanin: float
    haemoglobin: float
    back_color: tuple[float, float, float]
    palm_color: tuple[float, float, float]
    nail_color: tuple[float, float, float]
    nail_gloss: float
    polish: tuple[float, float, float] | None
    roughness: float
    bump: float
    subsurface_radius: tuple[float, float, float]

    @property
    def tone_words(self) -> str:
        return MONK_WORDS[self.monk - 1]

    def attributes(self) -> dict[str, object]:
        d = asdict(self)
        d["tone_words"] = self.tone_words
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


POLISH_COLOURS = np.array([[0.5, 0.02, 0.03], [0.8, 0.25, 0.35], [0.05, 0.05, 0.06], [0.9, 0.55, 0.6],
                           [0.2, 0.05, 0.35], [0.02, 0.15, 0.4]])


def sample_skin(rng: np.random.Generator, monk_weights: np.ndarray | None = None, polish_prob: float = 0.1) -> SkinSample:
    """Draw a skin appearance. ``monk_weights`` (10,) weights the Monk steps (default uniform)."""
    w = np.ones(10) if monk_weights is None else np.asarray(monk_weights, dtype=np.float64)
    if w.shape != (10,) or (w < 0).any() or w.sum() <= 0:
        raise ValueError("monk_weights must be 10 non-negative weights, not all zero")
    k = int(rng.choice(10, p=w / w.sum()))
    m0, h0 = MONK_PARAMS[k]
    m = float(m0 * np.exp(rng.normal(0.0, 0.06)))
    # living skin is never bloodless: a haemoglobin floor keeps the palest swatches (which are
    # near-white paint chips) from rendering as grey plaster
    h = float(max(HAEMOGLOBIN_FLOOR, h0 * (1.0 + rng.normal(0.0, 0.12))) + 0.03 * rng.random())
    back = albedo(m, h)
    palm = albedo(m * PALM_MELANIN_SCALE, h * PALM_HAEMOGLOBIN_SCALE)
    bed = albedo(m * NAILBED_MELANIN_SCALE, h * 1.4)
    nail = 0.55 * bed + 0.45 * np.array([0.85, 0.8, 0.78])
    polish = None
    if rng.random() < polish_prob:
        polish = tuple(float(x) for x in POLISH_COLOURS[int(rng.integers(len(POLISH_COLOURS)))])
    # subsurface mean free path grows for lighter skin (less absorption), red travels furthest
    sss = np.array([0.0045, 0.0022, 0.0012]) * (1.15 - 0.05 * k)
    return SkinSample(
        monk=k + 1, melanin=m, haemoglobin=h,
        back_color=tuple(float(x) for x in back), palm_color=tuple(float(x) for x in palm),
        nail_color=tuple(float(x) for x in nail), nail_gloss=float(rng.uniform(0.08, 0.35)), polish=polish,
        roughness=float(rng.uniform(0.35, 0.6)), bump=float(rng.uniform(0.1, 0.35)),
        subsurface_radius=tuple(float(x) for x in sss),
    )  # fmt: skip


def skin_attributes(rig: object) -> tuple[np.ndarray, np.ndarray]:
    """Per-vertex ``(palm, nail)`` weights in 0..1 for a rig (``synth.hand.rig.HandRig``).

    ``palm`` measures how much a vertex lies on the palmar side: the rest-pose vertex normal
    against the palmar direction (``-z``) of its dominant bone's anatomical frame, smoothly
    ramped (palms and the palmar sides of fingers and forearm are lighter; on the forearm the
    lightening fades from the palm's at the wrist to a quarter 6 cm up). ``nail`` is the rig's
    nail region.
    """
    from synth.hand.skinning import forward

    v = forward(rig).vertices  # type: ignore[arg-type]
    vn = vertex_normals(v, rig.faces)  # type: ignore[attr-defined]
    dom = np.argmax(rig.skin_weights, axis=1)  # type: ignore[attr-defined]
    palmar = -rig.joint_frames[dom][:, :, 2]  # type: ignore[attr-defined]
    # (left rigs: frames S F D keep z = S z_right and normals mirror to S n, so c is unchanged)
    c = np.sum(vn * palmar, axis=1)
    palm = np.clip((c + 0.15) / 0.6, 0.0, 1.0)
    palm = palm * palm * (3 - 2 * palm)  # smoothstep
    # The inner forearm is only slightly lighter than its back: fade the palmar lightening from the
    # palm's at the wrist to a quarter of it 6 cm up the forearm (a step here showed as a seam).
    fore = rig.parts == 1  # type: ignore[attr-defined]
    wrist = forward(rig).keypoints[0]  # type: ignore[arg-type]
    d = np.linalg.norm(v[fore] - wrist, axis=1)
    palm[fore] *= 0.25 + 0.75 * np.clip(1.0 - d / 0.06, 0.0, 1.0) ** 2
    return palm.astype(np.float32), np.asarray(rig.nail_mask, dtype=np.float32)  # type: ignore[attr-defined]


#: Half-width of the skin creases around a flexion joint, along the bone (metres).
CREASE_HALF_WIDTH_M = 0.008


def crease_attributes(rig: object) -> tuple[np.ndarray, np.ndarray]:
    """Per-vertex ``(t, w)`` driving the knuckle and flexion creases of the skin shader.

    For every flexion joint -- the wrist, the thumb's MCP and IP, the fingers' MCP, PIP and DIP
    (the heads of the rig's bones whose children bend the digit) -- the vertices dominated by the
    joint's bone or its parent, within 2.5 cm of the bone axis, get ``t``: their signed position
    along the proximal bone's axis relative to the joint centre (metres, rest pose), and ``w``:
    ``(1 - |t| / CREASE_HALF_WIDTH_M)^2`` (0 beyond). A vertex near two joints takes the
    nearer. The shader draws fine wrinkles across the back of each knuckle (a sine of ``t``)
    and one deep crease on the palmar side (a Gaussian of ``t``), blended by the palm weight.

    Returns:
        ``t`` (V,) float32 metres and ``w`` (V,) float32 in 0..1 (0 away from joints).
    """
    from synth.hand.skinning import forward

    p = forward(rig)  # type: ignore[arg-type]
    v, heads = p.vertices, p.joints
    names = list(rig.bone_names)  # type: ignore[attr-defined]
    parents = np.asarray(rig.bone_parents)  # type: ignore[attr-defined]
    children = {int(b): [int(c) for c in np.flatnonzero(parents == b)] for b in range(len(names))}
    # Flexion joints: the wrist and every bone head whose bone has a child and is not a metacarpal
    # or the thumb's CMC base (anny: finger1-1).
    joints = [j for j in range(len(names)) if parents[j] >= 0 and children[j]
              and not names[j].startswith("metacarpal") and names[j] not in ("finger1-1",)]
    joints += [j for j in range(len(names)) if names[j].startswith("finger") and names[j].endswith("-3")
               and names[j] != "finger1-3"]  # DIP joints are the heads of the distal bones
    joints += [j for j in range(len(names)) if names[j] == "finger1-3"]  # thumb IP
    joints = sorted(set(joints))
    dom = np.argmax(rig.skin_weights, axis=1)  # type: ignore[attr-defined]
    V = len(v)
    best_t = np.zeros(V)
    best_abs = np.full(V, np.inf)
    for j in joints:
        a = heads[j] - heads[parents[j]]
        if np.linalg.norm(a) < 1e-6:  # the wrist: its parent (the forearm) starts at the same point
            a = heads[children[j]].mean(axis=0) - heads[j]
        a = a / np.linalg.norm(a)
        ok = np.isin(dom, [j, parents[j]])
        rel = v[ok] - heads[j]
        t = rel @ a
        rho = np.linalg.norm(rel - np.outer(t, a), axis=1)
        idx = np.flatnonzero(ok)
        sel = (rho < 0.025) & (np.abs(t) < best_abs[idx])
        best_abs[idx[sel]] = np.abs(t[sel])
        best_t[idx[sel]] = t[sel]
    w = np.clip(1.0 - best_abs / CREASE_HALF_WIDTH_M, 0.0, 1.0) ** 2
    t_out = np.where(w > 0, best_t, 0.0)
    return t_out.astype(np.float32), w.astype(np.float32)
