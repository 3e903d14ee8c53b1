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
        veins: visibility of the dorsal veins' relief and tint, 0..1.
        hair: strength of the fine arm / back-of-hand hair impression, 0..1.
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
    veins: float = 0.0
    hair: float = 0.0

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
    # the plate is translucent: the (pink) bed with some of the surrounding skin's tone, so dark
    # hands do not get near-white nails; the lunula and free edge are whiter (skin shader)
    nail = np.clip(0.55 * bed + 0.72 * back, 0.0, 0.85)
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
        # drawn last, so the draws above are those of samples made before these existed
        veins=float(rng.uniform(0.2, 1.0)), hair=float(rng.uniform(0.0, 1.0) ** 1.5),
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


#: The three major palm lines as quadratic Bezier curves (start, control, end) in the palm's
#: rest-pose frame, in units of the wrist-to-middle-MCP length: x towards the radial (index,
#: thumb) side, y from the wrist towards the middle finger. Heart (distal transverse), head
#: (proximal transverse) and life (thenar) creases, after the usual palmistry charts.
PALM_LINES: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "heart": ((-0.40, 0.70), (-0.12, 0.68), (0.13, 0.87)),
    "head": ((0.29, 0.72), (0.02, 0.67), (-0.28, 0.55)),
    "life": ((0.29, 0.69), (0.04, 0.42), (0.11, 0.07)),
}
#: Signed distance stored where a vertex is not near a palm line (metres): no groove there.
NO_LINE_M = 0.05


def _bezier(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, n: int = 64) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def palm_line_attributes(rig: object, palm: np.ndarray) -> np.ndarray:
    """Per-vertex signed distances (metres) to the heart, head and life lines of the palm.

    The lines (:data:`PALM_LINES`) are placed from the rest-pose keypoints (wrist, index, middle
    and pinky MCP), so they follow each hand's size and mirror with the side. For palm vertices
    on the palmar side (``palm`` weight > 0.4) whose nearest curve point is inside the curve,
    the value is the signed in-plane distance (linear across a triangle, so the shader's narrow
    Gaussian groove stays sharp on a coarse mesh); elsewhere :data:`NO_LINE_M`.

    Returns:
        ``(V, 3)`` float32: heart, head, life.
    """
    from synth.hand.skinning import forward

    p = forward(rig)  # type: ignore[arg-type]
    v, k = p.vertices, p.keypoints
    y = k[9] - k[0]
    L = float(np.linalg.norm(y))
    y = y / L
    x = k[5] - k[17]
    x = x - x.dot(y) * y
    x /= np.linalg.norm(x)
    rel = v - k[0]
    xy = np.stack([rel @ x, rel @ y], axis=1) / L  # palm-plane coordinates, units of L
    on = (np.asarray(rig.parts) == 2) & (palm > 0.4)  # type: ignore[attr-defined]
    out = np.full((len(v), 3), NO_LINE_M, dtype=np.float64)
    for c, (p0, p1, p2) in enumerate(PALM_LINES.values()):
        curve = _bezier(np.array(p0), np.array(p1), np.array(p2))
        a, b = curve[:-1], curve[1:]
        ab = b - a
        q = xy[on][:, None, :] - a[None]  # (P, S, 2)
        s = np.clip((q * ab[None]).sum(-1) / (ab * ab).sum(-1)[None], 0.0, 1.0)
        d = np.linalg.norm(q - s[..., None] * ab[None], axis=-1)
        j = d.argmin(axis=1)
        rows = np.arange(len(j))
        inside = ~(((j == 0) & (s[rows, j] <= 0.0)) | ((j == len(ab) - 1) & (s[rows, j] >= 1.0)))
        cross = ab[j, 0] * q[rows, j, 1] - ab[j, 1] * q[rows, j, 0]
        signed = np.sign(cross) * d[rows, j] * L
        out[np.flatnonzero(on), c] = np.where(inside, signed, NO_LINE_M)
    return out.astype(np.float32)


#: Dorsal hand veins in the palm-plane coordinates of :func:`palm_line_attributes` (x toward the
#: index, y from the wrist to the middle MCP, units of that length): quadratic Bezier control
#: points of the metacarpal veins running from between the knuckles to the wrist, their arch,
#: and the two forearm veins they drain into (cephalic, radial; basilic, ulnar).
DORSAL_VEINS: tuple[tuple[tuple[float, float], tuple[float, float], tuple[float, float]], ...] = (
    ((0.20, 0.86), (0.26, 0.50), (0.13, -0.05)),
    ((-0.04, 0.86), (0.03, 0.55), (0.01, 0.12)),
    ((-0.27, 0.84), (-0.31, 0.45), (-0.21, -0.05)),
    ((-0.30, 0.48), (0.00, 0.66), (0.25, 0.42)),
    ((0.13, -0.05), (0.17, -0.45), (0.10, -0.95)),
    ((-0.21, -0.05), (-0.27, -0.45), (-0.22, -0.95)),
)


def vein_attribute(rig: object, palm: np.ndarray) -> np.ndarray:
    """Per-vertex signed distance (metres) to the nearest dorsal vein (:data:`DORSAL_VEINS`) on
    the back of the hand and forearm (``palm`` weight < 0.35, palm and forearm parts), linear
    across a triangle like the palm lines so that the shader's narrow raised ridge stays sharp on
    a coarse mesh; :data:`NO_LINE_M` elsewhere (and past a curve's ends).

    Returns:
        ``(V,)`` float32.
    """
    from synth.hand.skinning import forward

    p = forward(rig)  # type: ignore[arg-type]
    v, k = p.vertices, p.keypoints
    y = k[9] - k[0]
    L = float(np.linalg.norm(y))
    y = y / L
    x = k[5] - k[17]
    x = x - x.dot(y) * y
    x /= np.linalg.norm(x)
    rel = v - k[0]
    xy = np.stack([rel @ x, rel @ y], axis=1) / L
    parts = np.asarray(rig.parts)  # type: ignore[attr-defined]
    on = np.isin(parts, (1, 2)) & (palm < 0.35) & (xy[:, 1] > -1.0) & (xy[:, 1] < 0.9)
    best = np.full(int(on.sum()), np.inf)
    out_on = np.full(int(on.sum()), NO_LINE_M)
    q_all = xy[on]
    for p0, p1, p2 in DORSAL_VEINS:
        curve = _bezier(np.array(p0), np.array(p1), np.array(p2))
        a, b = curve[:-1], curve[1:]
        ab = b - a
        q = q_all[:, None, :] - a[None]
        s = np.clip((q * ab[None]).sum(-1) / (ab * ab).sum(-1)[None], 0.0, 1.0)
        d = np.linalg.norm(q - s[..., None] * ab[None], axis=-1)
        j = d.argmin(axis=1)
        rows = np.arange(len(j))
        inside = ~(((j == 0) & (s[rows, j] <= 0.0)) | ((j == len(ab) - 1) & (s[rows, j] >= 1.0)))
        cross = ab[j, 0] * q[rows, j, 1] - ab[j, 1] * q[rows, j, 0]
        dist = d[rows, j]
        closer = inside & (dist < best)
        best = np.where(closer, dist, best)
        out_on = np.where(closer, np.sign(cross) * dist * L, out_on)
    out = np.full(len(v), NO_LINE_M, dtype=np.float64)
    out[np.flatnonzero(on)] = out_on
    return out.astype(np.float32)


def hair_weight(rig: object, palm: np.ndarray) -> np.ndarray:
    """Per-vertex weight 0..1 of fine body hair: the forearm (its back fully, its inner side at
    0.35), the back of the hand (fading out toward the knuckles), the back of the proximal
    finger segments (0.3); none on palms, the distal fingers or nails.

    Returns:
        ``(V,)`` float32.
    """
    from synth.hand.skinning import forward

    p = forward(rig)  # type: ignore[arg-type]
    v, k = p.vertices, p.keypoints
    y = k[9] - k[0]
    L = float(np.linalg.norm(y))
    t = (v - k[0]) @ (y / L) / L  # 0 at the wrist, 1 at the middle MCP
    parts = np.asarray(rig.parts)  # type: ignore[attr-defined]
    dorsal = 1.0 - np.clip(palm, 0.0, 1.0)
    w = np.zeros(len(v))
    fore = parts == 1
    w[fore] = 0.35 + 0.65 * dorsal[fore]
    hand = parts == 2
    w[hand] = dorsal[hand] ** 2 * np.clip(1.0 - t[hand] / 0.95, 0.0, 1.0) * 0.5
    fingers = np.isin(parts, (4, 5, 6, 7)) & (t > 0.95) & (t < 1.3)
    w[fingers] = 0.3 * dorsal[fingers] ** 2
    w *= 1.0 - np.asarray(rig.nail_mask, dtype=np.float64)  # type: ignore[attr-defined]
    return w.astype(np.float32)


def nail_coordinate(rig: object) -> np.ndarray:
    """Per-vertex position along each fingernail: 0 at the nail's proximal edge (cuticle), 1 at
    its distal end (the free edge), linear in the rest pose along the distal phalanx's axis
    (``DIP -> tip`` keypoints), on every vertex of that finger within 3 mm of the nail's extent
    (so it interpolates exactly across the nail's border triangles); 0 elsewhere. The skin
    shader draws the lunula near 0 and the free edge near 1.

    Returns:
        ``(V,)`` float32.
    """
    from synth.hand.skinning import forward

    p = forward(rig)  # type: ignore[arg-type]
    v, k = p.vertices, p.keypoints
    parts = np.asarray(rig.parts)  # type: ignore[attr-defined]
    nail = np.asarray(rig.nail_mask, dtype=bool)  # type: ignore[attr-defined]
    u = np.zeros(len(v))
    for f, part in enumerate(range(3, 8)):  # thumb .. pinky
        dip, tip = k[3 + 4 * f], k[4 + 4 * f]
        a = (tip - dip) / np.linalg.norm(tip - dip)
        t = (v - dip) @ a
        m = nail & (parts == part)
        if not m.any():
            continue
        t0, t1 = t[m].min(), t[m].max()
        near = (parts == part) & (t > t0 - 0.003)
        u[near] = np.clip((t[near] - t0) / max(t1 - t0, 1e-6), -0.5, 1.5)
    return u.astype(np.float32)


#: Distance under which two surfaces of the hand that are apart in the rest pose darken each
#: other (metres): fingers pressed together or curled onto the palm.
CONTACT_RADIUS_M = 0.012
#: Pairs closer than this in the rest pose are neighbours on the skin, not a contact (metres).
CONTACT_REST_MIN_M = 0.03
#: The same for two different fingers: their facing sides (away from the finger webs).
CONTACT_FINGER_REST_MIN_M = 0.012


def contact_shading(posed: np.ndarray, rest: np.ndarray, parts: np.ndarray | None = None,
                    radius: float = CONTACT_RADIUS_M, rest_min: float = CONTACT_REST_MIN_M) -> np.ndarray:
    """Per-vertex contact weight in 0..1: how close (``1 - d / radius``) the nearest vertex is
    that was at least ``rest_min`` away in the rest pose (another finger, the palm under a curled
    finger). The skin shader darkens the skin by it: the shadowed gap between fingers of a fist
    or a tight grasp, which 4-spp path tracing plus a denoiser blurs away.

    Args:
        posed: ``(V, 3)`` posed vertices (metres).
        rest: ``(V, 3)`` the same vertices in the rest pose.
        parts: ``(V,)`` part ids (3..7 thumb..pinky); two different fingers count as apart from
            :data:`CONTACT_FINGER_REST_MIN_M` (their sides, not only ``rest_min``).
    Returns:
        ``(V,)`` float32.
    """
    from scipy.spatial import cKDTree

    pairs = cKDTree(posed).query_pairs(radius, output_type="ndarray")
    out = np.zeros(len(posed), dtype=np.float64)
    if len(pairs) == 0:
        return out.astype(np.float32)
    i, j = pairs[:, 0], pairs[:, 1]
    need = np.full(len(i), rest_min)
    if parts is not None:
        pi, pj = parts[i], parts[j]
        need[(pi >= 3) & (pj >= 3) & (pi != pj)] = CONTACT_FINGER_REST_MIN_M
    far = np.linalg.norm(rest[i] - rest[j], axis=1) > need
    i, j = i[far], j[far]
    w = 1.0 - np.linalg.norm(posed[i] - posed[j], axis=1) / radius
    np.maximum.at(out, i, w)
    np.maximum.at(out, j, w)
    return out.astype(np.float32)
