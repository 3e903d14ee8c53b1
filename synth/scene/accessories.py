"""Worn accessories: sleeves, watches, bracelets and rings (pure numpy).

Each accessory is a closed, rigid triangle mesh built in the hand model frame at rest for the
sample's shape, fitted to the rig's vertices with a clearance, and attached to one bone:

* **sleeve** (cloth cuff): a loose thick-walled tube around the forearm (``parts == 1``) from
  3-8 cm above the wrist joint up past the forearm's cut end (so the cut is hidden); the inner
  radius follows the forearm's cross-section per ring and angle plus 3-8 mm. Bone ``root``.
* **watch**: a strap band 1-2 mm around the forearm, its centre 3-4.5 cm above the wrist joint,
  and a cylindrical case (with a dark glass face) on the back of the forearm. Bone ``root``.
* **bracelet**: a round band (elliptical cross-section) 1.5-3 mm around the forearm just above
  the wrist, 2.5-4 cm above it. Bone ``root``.
* **ring**: a circular band around a finger's proximal phalanx (55-70 % of the way to the PIP
  joint), inner radius the skin's largest radius there (posed, in the bone's frame) plus 0.5-1 mm.
  Bone ``finger<n>-1`` of that finger. Only where the band fits: any other surface in its slab
  (a neighbouring finger pressed against it, the palm's web, a curled finger's own tip) must lie
  outside its outer radius; the drawn finger is tried first, then the others, else no ring (in
  the gesture library's poses about 40 % of ``ring_prob = 1`` samples get one).

In this rig the forearm is skinned to the root bone only (vertices more than about 1.2 cm above
the wrist joint do not move with the wrist), so forearm accessories are rigid with the forearm
and never meet the bulging skin of a flexed wrist; rings sit mid-phalanx, away from the knuckles.

World placement: ``world = hand.root @ bone_transforms[bone] @ rest-model geometry``, with
``bone_transforms`` from :func:`synth.hand.skinning.forward`.

Part ids: accessories follow the held objects in :attr:`SampleSpec.props`, so accessory ``k``
of a sample with ``n`` held objects has part id ``16 + n + k`` (category ``accessory``; the
label's ``objects`` list names each one).

Sampling (:func:`sample_accessories`) draws from its own stream ``accessories`` (:mod:`synth.rng`)
(``synth.rng.stream(seed, i, "accessories")``) in a fixed order: four decisions (sleeve, watch, bracelet, ring, always
drawn), then each drawn accessory's size and colour.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from synth.hand.rig import HandRig
from synth.scene.spec import OBJECT_PART_BASE, PropMaterial, PropSpec

if TYPE_CHECKING:
    from synth.hand.skinning import PosedHand

logger = logging.getLogger(__name__)

#: Accessory kinds, in draw order.
KINDS = ("sleeve", "watch", "bracelet", "ring")
#: Most accessories one sample can wear (sleeve, watch or bracelet, ring).
MAX_ACCESSORIES = 3

#: Finger name -> (rig part id, proximal phalanx bone name).
FINGERS = {"index": (4, "finger2-1"), "middle": (5, "finger3-1"), "ring": (6, "finger4-1"),
           "pinky": (7, "finger5-1")}
#: Free space a ring needs beyond its outer radius from other parts of the hand, metres.
RING_ROOM_M = 0.0
#: How often a ring is on each finger.
RING_FINGER_WEIGHTS = {"index": 0.15, "middle": 0.2, "ring": 0.45, "pinky": 0.2}

#: Cloth colours (linear RGB) by word.
CLOTH = {"navy": (0.02, 0.03, 0.09), "blue": (0.05, 0.12, 0.35), "grey": (0.18, 0.18, 0.18),
         "black": (0.015, 0.015, 0.017), "white": (0.75, 0.75, 0.72), "red": (0.45, 0.03, 0.03),
         "green": (0.05, 0.18, 0.06), "beige": (0.45, 0.36, 0.24), "denim": (0.06, 0.1, 0.2),
         "striped grey": (0.3, 0.3, 0.32), "olive": (0.12, 0.13, 0.04), "pink": (0.7, 0.3, 0.35)}
#: Metals: word -> (linear RGB, roughness range).
METALS = {"silver": ((0.8, 0.8, 0.8), (0.15, 0.35)), "gold": ((0.9, 0.65, 0.25), (0.15, 0.3)),
          "rose gold": ((0.85, 0.5, 0.4), (0.15, 0.3)), "black": ((0.03, 0.03, 0.03), (0.3, 0.5))}
#: Watch straps: word -> (linear RGB, roughness, metallic).
STRAPS = {"brown leather": ((0.15, 0.06, 0.025), 0.55, 0.0), "black leather": ((0.02, 0.02, 0.02), 0.5, 0.0),
          "black rubber": ((0.03, 0.03, 0.03), 0.7, 0.0), "blue fabric": ((0.04, 0.08, 0.25), 0.9, 0.0),
          "metal": ((0.8, 0.8, 0.8), 0.25, 1.0)}
#: Bead / band colours of non-metal bracelets.
BEADS = {"red": (0.5, 0.03, 0.03), "black": (0.02, 0.02, 0.02), "turquoise": (0.05, 0.4, 0.35),
         "white": (0.7, 0.7, 0.68), "brown": (0.2, 0.09, 0.04), "multicoloured": (0.5, 0.3, 0.1)}


@dataclass(frozen=True)
class Accessory:
    """One accessory in the rest model frame of the sample's shape.

    Attributes:
        kind: one of :data:`KINDS`.
        bone: rig bone name it is attached to.
        vertices: ``(N, 3)`` float64, rest model frame, metres.
        faces: ``(M, 3)`` int64 outward counter-clockwise triangles (a closed mesh).
        face_material: ``(M,)`` int64 index into ``materials``.
        materials: its materials (the first one names its colour).
        params: JSON-safe sizes and placement (metres).
        words: caption words (``"a silver watch"``).
    """

    kind: str
    bone: str
    vertices: np.ndarray
    faces: np.ndarray
    face_material: np.ndarray
    materials: tuple[PropMaterial, ...]
    params: dict
    words: str


def _a(words: str) -> str:
    """``words`` with its indefinite article (``"an olive sleeve"``)."""
    return f"{'an' if words[:1] in 'aeiou' else 'a'} {words}"


# ---- geometry -------------------------------------------------------------------------------
def _frame(axis: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors ``(u, w)`` spanning the plane normal to ``axis``, ``u`` closest to ``up``;
    ``(axis, u, w)`` is right-handed."""
    a = axis / np.linalg.norm(axis)
    u = up - (up @ a) * a
    u /= np.linalg.norm(u)
    return u, np.cross(a, u)


def _ring_grid(n_rings: int, m: int) -> np.ndarray:
    """``(2 * (n_rings - 1) * m, 3)`` quads-as-triangles between consecutive rings of ``m``
    vertices (ring ``i`` vertex ``j`` is ``i * m + j``), oriented for counter-clockwise angle
    order around ``+axis`` with rings advancing along ``+axis`` (normals point away from the axis)."""
    i, j = np.meshgrid(np.arange(n_rings - 1), np.arange(m), indexing="ij")
    a, b = i * m + j, i * m + (j + 1) % m
    c, d = a + m, b + m
    return np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)])


def tube_mesh(origin: np.ndarray, axis: np.ndarray, up: np.ndarray, s: np.ndarray, r_in: np.ndarray,
              thickness: float | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A closed thick-walled tube around an axis.

    Args:
        origin: ``(3,)`` a point on the axis.
        axis: ``(3,)`` axis direction (rings advance along it).
        up: ``(3,)`` direction of angle 0.
        s: ``(n,)`` increasing ring positions along the axis, metres from ``origin``.
        r_in: ``(n, m)`` inner radius per ring and angle (angles ``2 pi j / m`` counter-clockwise
            about ``axis`` from ``up``), metres.
        thickness: wall thickness, metres (scalar or ``(n, m)``).
    Returns:
        ``(vertices (2 n m, 3), faces (F, 3), face_kind (F,))``: face kind 0 outer, 1 inner,
        2 end caps.
    """
    a = axis / np.linalg.norm(axis)
    u, w = _frame(a, up)
    n, m = r_in.shape
    th = 2.0 * np.pi * np.arange(m) / m
    d = np.cos(th)[:, None] * u + np.sin(th)[:, None] * w  # (m, 3)
    r_out = r_in + thickness
    centre = origin + s[:, None] * a  # (n, 3)
    outer = (centre[:, None, :] + r_out[..., None] * d[None]).reshape(-1, 3)
    inner = (centre[:, None, :] + r_in[..., None] * d[None]).reshape(-1, 3)
    g = _ring_grid(n, m)
    f_out = g
    f_in = g[:, ::-1] + n * m
    j = np.arange(m)
    jn = (j + 1) % m
    # End caps: annuli joining outer and inner rings at both ends.
    o0, i0 = j, n * m + j
    o0n, i0n = jn, n * m + jn
    cap0 = np.concatenate([np.stack([o0, i0n, o0n], -1), np.stack([o0, i0, i0n], -1)])
    o1, i1 = (n - 1) * m + j, n * m + (n - 1) * m + j
    o1n, i1n = (n - 1) * m + jn, n * m + (n - 1) * m + jn
    cap1 = np.concatenate([np.stack([o1, o1n, i1n], -1), np.stack([o1, i1n, i1], -1)])
    faces = np.concatenate([f_out, f_in, cap0, cap1]).astype(np.int64)
    kind = np.concatenate([np.zeros(len(f_out)), np.ones(len(f_in)), np.full(len(cap0) + len(cap1), 2)]).astype(np.int64)
    return np.concatenate([outer, inner]), faces, kind


def torus_mesh(centre: np.ndarray, axis: np.ndarray, up: np.ndarray, r_in: float, width: float, thickness: float,
               m: int = 48, k: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """A closed band with an elliptical cross-section (a ring or round bracelet).

    Args:
        centre: ``(3,)`` centre; axis: ``(3,)`` its axis; up: direction of angle 0.
        r_in: inner radius (the innermost points of the cross-section), metres.
        width: extent along the axis, metres; thickness: radial extent, metres.
        m: segments around the axis; k: segments around the cross-section.
    Returns:
        ``(vertices (m k, 3), faces (2 m k, 3))`` outward counter-clockwise.
    """
    a = axis / np.linalg.norm(axis)
    u, w = _frame(a, up)
    th = 2.0 * np.pi * np.arange(m) / m
    ph = 2.0 * np.pi * np.arange(k) / k
    d = np.cos(th)[:, None] * u + np.sin(th)[:, None] * w  # (m, 3)
    R = r_in + thickness / 2.0
    rad = R + (thickness / 2.0) * np.cos(ph)  # (k,)
    ax = (width / 2.0) * np.sin(ph)
    v = centre + rad[None, :, None] * d[:, None, :] + ax[None, :, None] * a
    v = v.reshape(-1, 3)
    i, j = np.meshgrid(np.arange(m), np.arange(k), indexing="ij")
    p00 = i * k + j
    p10 = ((i + 1) % m) * k + j
    p01 = i * k + (j + 1) % k
    p11 = ((i + 1) % m) * k + (j + 1) % k
    faces = np.concatenate([np.stack([p00, p10, p11], -1).reshape(-1, 3), np.stack([p00, p11, p01], -1).reshape(-1, 3)])
    # Orientation: make the first face's normal point away from the band's core circle.
    f = faces[0]
    nrm = np.cross(v[f[1]] - v[f[0]], v[f[2]] - v[f[0]])
    core = centre + R * d[0]
    if nrm @ (v[f].mean(0) - core) < 0:
        faces = faces[:, ::-1]
    return v, faces.astype(np.int64)


def cylinder_mesh(centre: np.ndarray, axis: np.ndarray, radius: float, height: float,
                  m: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A closed cylinder (a watch case). Returns ``(vertices, faces, is_top (F,) bool)``: the cap
    on the ``+axis`` side is the top."""
    a = axis / np.linalg.norm(axis)
    ref = np.array([1.0, 0.0, 0.0]) if abs(a[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u, w = _frame(a, ref)
    th = 2.0 * np.pi * np.arange(m) / m
    d = np.cos(th)[:, None] * u + np.sin(th)[:, None] * w
    bot = centre - a * height / 2.0 + radius * d
    top = centre + a * height / 2.0 + radius * d
    v = np.concatenate([bot, top, [centre - a * height / 2.0], [centre + a * height / 2.0]])
    j = np.arange(m)
    jn = (j + 1) % m
    side = np.concatenate([np.stack([j, jn, m + jn], -1), np.stack([j, m + jn, m + j], -1)])
    bcap = np.stack([np.full(m, 2 * m), jn, j], -1)
    tcap = np.stack([np.full(m, 2 * m + 1), m + j, m + jn], -1)
    faces = np.concatenate([side, bcap, tcap]).astype(np.int64)
    is_top = np.concatenate([np.zeros(len(side) + m, bool), np.ones(m, bool)])
    return v, faces, is_top


@dataclass(frozen=True)
class ForearmFrame:
    """The forearm's axis in the rest model frame: ``origin`` (the wrist joint projected on the
    axis), ``axis`` (unit, toward the hand), ``up`` (unit, toward the back of the hand), and the
    axial position ``s_cut`` of the forearm's cut end (negative, metres)."""

    origin: np.ndarray
    axis: np.ndarray
    up: np.ndarray
    s_cut: float


def forearm_frame(rest_vertices: np.ndarray, faces: np.ndarray, parts: np.ndarray, wrist: np.ndarray) -> ForearmFrame:
    """Fit the forearm axis: the principal direction of the forearm's surface points (a long
    tube: its surface centroid lies on its axis), through their centroid."""
    pts = forearm_points(rest_vertices, faces, parts)
    pts = pts[(rest_vertices[parts == 1][:, 1].min() + 0.01 < pts[:, 1])]  # not the capped cut end
    c = pts.mean(0)
    _, _, vt = np.linalg.svd(pts - c, full_matrices=False)
    axis = vt[0] if vt[0][1] > 0 else -vt[0]
    origin = c + ((wrist - c) @ axis) * axis
    up = np.array([0.0, 0.0, 1.0])
    v = rest_vertices[parts == 1]
    s_cut = float(((v - origin) @ axis).min())
    return ForearmFrame(origin=origin, axis=axis, up=up, s_cut=s_cut)


def polar_profile(points: np.ndarray, origin: np.ndarray, axis: np.ndarray, up: np.ndarray, s: np.ndarray,
                  m: int, half_width: float) -> np.ndarray:
    """``(n, m)`` outer radius of a point cloud around an axis: for ring ``i`` (axial position
    ``s[i]``) and angle bin ``j``, the largest radial distance of the points within
    ``half_width`` of the ring, counting each point in the bins its angular extent could
    reach; empty bins are filled from their neighbours."""
    a = axis / np.linalg.norm(axis)
    u, w = _frame(a, up)
    rel = points - origin
    sp = rel @ a
    x, z = rel @ u, rel @ w
    r = np.hypot(x, z)
    th = np.mod(np.arctan2(z, x), 2.0 * np.pi)
    out = np.zeros((len(s), m))
    for i, si in enumerate(s):
        sel = np.abs(sp - si) <= half_width
        if not sel.any():
            continue
        b = (th[sel] / (2.0 * np.pi) * m).astype(int) % m
        prof = np.zeros(m)
        np.maximum.at(prof, b, r[sel])
        # A radius r at angle theta bounds the surface over the neighbouring bins too: spread by one.
        prof = np.maximum(prof, np.maximum(np.roll(prof, 1), np.roll(prof, -1)))
        if (prof == 0).any():
            good = np.flatnonzero(prof > 0)
            prof = np.interp(np.arange(m), good, prof[good], period=m)
        out[i] = prof
    for i in range(len(s)):  # rings without points: nearest ring with points
        if not out[i].any():
            ok = np.flatnonzero(out.any(1))
            out[i] = out[ok[np.argmin(np.abs(ok - i))]]
    return out


def _smooth_up(prof: np.ndarray, k: int = 2) -> np.ndarray:
    """Upper envelope of a circular profile (max over ``+-k`` bins), then a light circular blur."""
    p = prof.copy()
    for d in range(1, k + 1):
        p = np.maximum(p, np.maximum(np.roll(prof, d, axis=-1), np.roll(prof, -d, axis=-1)))
    return np.maximum(p, (np.roll(p, 1, -1) + p + np.roll(p, -1, -1)) / 3.0)


def surface_points(vertices: np.ndarray, faces: np.ndarray, face_mask: np.ndarray, n: int = 8) -> np.ndarray:
    """``(K, 3)`` points on the masked triangles: a barycentric grid of ``n`` steps per edge
    (the forearm's rings are centimetres apart, so its vertices alone undersample the surface)."""
    f = faces[face_mask]
    i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    ok = i + j <= n
    b1, b2 = i[ok] / n, j[ok] / n
    b0 = 1.0 - b1 - b2
    tri = vertices[f]  # (F, 3, 3)
    pts = b0[None, :, None] * tri[:, None, 0] + b1[None, :, None] * tri[:, None, 1] + b2[None, :, None] * tri[:, None, 2]
    return pts.reshape(-1, 3)


def forearm_points(rest: np.ndarray, faces: np.ndarray, parts: np.ndarray, all_parts: bool = False) -> np.ndarray:
    """Surface points of the forearm (triangles touching a ``parts == 1`` vertex; every
    triangle when ``all_parts``)."""
    mask = np.ones(len(faces), bool) if all_parts else (parts[faces] == 1).any(1)
    return surface_points(rest, faces, mask)


# ---- builders ---------------------------------------------------------------------------------
def build_sleeve(rest: np.ndarray, faces: np.ndarray, parts: np.ndarray, fr: ForearmFrame, rng: np.random.Generator,
                 start: float | None = None) -> Accessory:
    """A cloth sleeve from ``start`` metres above the wrist (default 3-8 cm) past the cut end."""
    start = float(rng.uniform(0.03, 0.08)) if start is None else float(start)
    clearance = float(rng.uniform(0.003, 0.008))
    thick = float(rng.uniform(0.002, 0.004))
    s = np.linspace(fr.s_cut - 0.015, -start, 24)
    m = 48
    prof = polar_profile(forearm_points(rest, faces, parts, start < 0.02), fr.origin, fr.axis, fr.up,
                         np.clip(s, fr.s_cut, None), m, 0.008)
    r_in = _smooth_up(prof) + clearance
    # A cloth cuff: a little wider toward its open end at the wrist (a rolled rim).
    r_in[-2:] += 0.0015
    v, f, kind = tube_mesh(fr.origin, fr.axis, fr.up, s, r_in, thick)
    word = list(CLOTH)[int(rng.integers(len(CLOTH)))]
    col = np.clip(np.array(CLOTH[word]) * rng.uniform(0.85, 1.15, 3), 0, 1)
    mats = (PropMaterial("cloth", tuple(map(float, col)), roughness=float(rng.uniform(0.8, 1.0)), color_name=word),
            PropMaterial("lining", tuple(map(float, col * 0.6)), roughness=0.95, color_name=word))
    fm = (kind == 1).astype(np.int64)
    return Accessory("sleeve", "root", v, f, fm, mats,
                     {"start_above_wrist_m": start, "clearance_m": clearance, "thickness_m": thick,
                      "length_m": float(s[-1] - s[0])}, _a(f"{word} sleeve"))


def build_watch(rest: np.ndarray, faces: np.ndarray, parts: np.ndarray, fr: ForearmFrame, rng: np.random.Generator,
                centre_above: float | None = None) -> Accessory:
    """A watch: strap band around the forearm and a case on its back."""
    above = float(rng.uniform(0.03, 0.045)) if centre_above is None else float(centre_above)
    width = float(rng.uniform(0.016, 0.022))
    clearance = float(rng.uniform(0.001, 0.002))
    thick = float(rng.uniform(0.002, 0.003))
    m = 64
    s = np.linspace(-above - width / 2.0, -above + width / 2.0, 5)
    prof = polar_profile(forearm_points(rest, faces, parts), fr.origin, fr.axis, fr.up, s, m, 0.004)
    r_band = _smooth_up(prof.max(0, keepdims=True), 1).repeat(len(s), 0) + clearance
    v, f, _ = tube_mesh(fr.origin, fr.axis, fr.up, s, r_band, thick)
    # Case on the back: a cylinder whose bottom clears the band under its footprint.
    case_r = float(rng.uniform(0.016, 0.021))
    case_h = float(rng.uniform(0.008, 0.011))
    c_axis = fr.up - (fr.up @ fr.axis) * fr.axis
    c_axis /= np.linalg.norm(c_axis)
    base = fr.origin - above * fr.axis
    rel = v - base
    foot = np.linalg.norm(rel - np.outer(rel @ c_axis, c_axis), axis=1) <= case_r + 0.002
    bottom = float((rel[foot] @ c_axis).max()) - 0.0005
    cv, cf, top = cylinder_mesh(base + (bottom + case_h / 2.0) * c_axis, c_axis, case_r, case_h)
    strap_word = list(STRAPS)[int(rng.integers(len(STRAPS)))]
    strap_col, strap_rough, strap_metal = STRAPS[strap_word]
    metal = ("silver", "gold", "black")[int(rng.integers(3))]
    mcol, mrough = METALS[metal]
    mats = (PropMaterial("case", mcol, roughness=float(rng.uniform(*mrough)), metallic=1.0, color_name=metal),
            PropMaterial("strap", strap_col, roughness=strap_rough, metallic=strap_metal, color_name=strap_word),
            PropMaterial("glass", (0.01, 0.012, 0.015), roughness=0.05, color_name="black"))
    fm = np.concatenate([np.ones(len(f), np.int64), np.where(top, 2, 0).astype(np.int64)])
    return Accessory("watch", "root", np.concatenate([v, cv]), np.concatenate([f, cf + len(v)]), fm, mats,
                     {"centre_above_wrist_m": above, "strap_width_m": width, "clearance_m": clearance,
                      "case_radius_m": case_r, "case_height_m": case_h},
                     _a(f"{metal} watch on a {strap_word} strap"))


def build_bracelet(rest: np.ndarray, faces: np.ndarray, parts: np.ndarray, fr: ForearmFrame, rng: np.random.Generator) -> Accessory:
    """A round bangle or bead band around the forearm just above the wrist."""
    above = float(rng.uniform(0.025, 0.04))
    clearance = float(rng.uniform(0.0015, 0.003))
    width = float(rng.uniform(0.004, 0.009))
    thick = float(rng.uniform(0.002, 0.004))
    prof = polar_profile(forearm_points(rest, faces, parts), fr.origin, fr.axis, fr.up, np.array([-above]), 64,
                         width / 2.0 + 0.003)
    r_in = float(prof.max()) + clearance
    v, f = torus_mesh(fr.origin - above * fr.axis, fr.axis, fr.up, r_in, width, thick, m=64, k=12)
    if rng.random() < 0.6:
        word = ("silver", "gold", "rose gold")[int(rng.integers(3))]
        col, rough = METALS[word]
        mat = PropMaterial("band", col, roughness=float(rng.uniform(*rough)), metallic=1.0, color_name=word)
    else:
        word = list(BEADS)[int(rng.integers(len(BEADS)))]
        mat = PropMaterial("band", BEADS[word], roughness=float(rng.uniform(0.3, 0.7)), color_name=word)
    return Accessory("bracelet", "root", v, f, np.zeros(len(f), np.int64), (mat,),
                     {"centre_above_wrist_m": above, "inner_radius_m": r_in, "width_m": width, "thickness_m": thick},
                     _a(f"{word} bracelet"))


def build_ring(rest: np.ndarray, faces: np.ndarray, parts: np.ndarray, joints: np.ndarray, bone_index: dict[str, int], finger: str,
               rng: np.random.Generator, posed: np.ndarray | None = None, bone_transforms: np.ndarray | None = None) -> Accessory:
    """A ring around the middle of ``finger``'s proximal phalanx (circular, 0.5-1 mm clearance).

    With ``posed`` ``(V, 3)`` model-frame vertices and their ``bone_transforms`` ``(J, 4, 4)``,
    the radius is fitted to the posed skin mapped back into the bone's rest frame (skinning
    blends neighbouring bones near the knuckles, so a flexed finger's skin is not rigid with its
    bone); the ring stays rigid with the bone."""
    part, bone = FINGERS[finger]
    b = bone_index[bone]
    if posed is not None and bone_transforms is not None:
        Ti = np.linalg.inv(bone_transforms[b])
        rest = posed @ Ti[:3, :3].T + Ti[:3, 3]
    child = b + 1  # finger<n>-2 follows finger<n>-1 in the rig's bone order
    p0, p1 = joints[b], joints[child]
    axis = (p1 - p0) / np.linalg.norm(p1 - p0)
    t = float(rng.uniform(0.55, 0.7))
    centre = p0 + t * (p1 - p0)
    width = float(rng.uniform(0.002, 0.005))
    thick = float(rng.uniform(0.0012, 0.002))
    clearance = float(rng.uniform(0.0005, 0.001))
    # Every hand surface point in the ring's slab, in polar coordinates about the bone axis. The
    # nearest surface in each direction is the phalanx's own skin (the axis runs inside it): the
    # ring's inner radius clears the largest of those; anything further out in the slab (a curled
    # finger's distal phalanges, a neighbouring finger, the palm's web) must leave room for the band.
    pts = surface_points(rest, faces, np.ones(len(faces), bool), n=5)
    rel = pts - centre
    ax = rel @ axis
    u, w = _frame(axis, np.array([0.0, 0.0, 1.0]))
    x, z = rel @ u, rel @ w
    rad = np.hypot(x, z)
    sel = (np.abs(ax) <= width / 2.0 + 0.0015) & (rad < 0.04)
    nb = 24
    b_of = (np.mod(np.arctan2(z[sel], x[sel]), 2 * np.pi) / (2 * np.pi) * nb).astype(int) % nb
    inner = np.full(nb, np.inf)
    np.minimum.at(inner, b_of, rad[sel])
    further = rad[sel] > inner[b_of] + 0.002
    r_in = (float(rad[sel][~further].max()) if sel.any() else 0.0) + clearance
    # Room for the band: the nearest surface beyond the phalanx's own skin; None when nothing in
    # the slab bounds it (no neighbouring finger or web within 4 cm: unlimited room).
    room: float | None = float(rad[sel][further].min()) if further.any() else None
    if not np.isfinite(inner).all():  # the skin does not surround the bone axis here: no room
        room = 0.0
    up = np.array([0.0, 0.0, 1.0])
    v, f = torus_mesh(centre, axis, up, r_in, width, thick, m=40, k=10)
    word = ("silver", "gold", "rose gold", "black")[int(rng.choice(4, p=[0.45, 0.4, 0.1, 0.05]))]
    col, rough = METALS[word]
    mat = PropMaterial("metal", col, roughness=float(rng.uniform(*rough)), metallic=1.0, color_name=word)
    return Accessory("ring", bone, v, f, np.zeros(len(f), np.int64), (mat,),
                     {"finger": finger, "position_on_phalanx": t, "inner_radius_m": r_in, "width_m": width,
                      "thickness_m": thick, "clearance_m": clearance, "room_m": room},
                     _a(f"{word} ring on the {'little' if finger == 'pinky' else finger} finger"))


# ---- sampling and placement ---------------------------------------------------------------------
def sample_accessories(rng: np.random.Generator, rig: HandRig, shape: np.ndarray, probs: dict[str, float],
                       pose: np.ndarray | None = None, posed: PosedHand | None = None) -> list[Accessory]:
    """Draw the accessories of one sample (rest model frame of ``shape``).

    Args:
        rng: the sample's accessories stream (``synth.rng.stream(seed, i, "accessories")``).
        rig: the hand rig; shape: ``(P,)`` shape parameters.
        pose: ``(16, 3)`` anatomical pose, degrees (a ring is fitted to the posed finger).
        posed: the sample's posed hand for ``shape`` and ``pose`` (a
            :class:`synth.hand.skinning.PosedHand`, model frame) when the caller has it; else
            computed here.
        probs: probability per kind (``sleeve``, ``watch``, ``bracelet``, ``ring``), 0..1.
    Returns:
        Accessories in the order sleeve, watch or bracelet (a watch takes the wrist: no bracelet
        then), ring. With a watch or bracelet, a sleeve starts above it.
    """
    u = rng.random(4)  # always drawn
    want = {k: bool(u[j] < probs.get(k, 0.0)) for j, k in enumerate(KINDS)}
    if not any(want.values()):
        return []
    from synth.hand.skinning import forward

    p = forward(rig, shape, None)
    rest, joints = p.rest_vertices, p.joints
    bone_index = {n: j for j, n in enumerate(rig.bone_names)}
    fr = forearm_frame(rest, rig.faces, rig.parts, joints[bone_index["wrist"]])
    out: list[Accessory] = []
    wrist_item = None
    if want["watch"]:
        wrist_item = build_watch(rest, rig.faces, rig.parts, fr, rng)
    elif want["bracelet"]:
        wrist_item = build_bracelet(rest, rig.faces, rig.parts, fr, rng)
    if want["sleeve"]:
        start = None
        if wrist_item is not None:  # pushed up above the watch / bracelet
            pr = wrist_item.params
            top = pr["centre_above_wrist_m"] + pr.get("strap_width_m", pr.get("width_m", 0.0)) / 2.0
            start = top + float(rng.uniform(0.004, 0.03))
        out.append(build_sleeve(rest, rig.faces, rig.parts, fr, rng, start))
    if wrist_item is not None:
        out.append(wrist_item)
    if want["ring"]:
        # The drawn finger first, then the others by weight: the first whose neighbours leave room
        # for the band (they press against the proximal phalanx in adducted poses); else no ring.
        names = list(RING_FINGER_WEIGHTS)
        w = np.array([RING_FINGER_WEIGHTS[n] for n in names])
        first = names[int(rng.choice(len(names), p=w / w.sum()))]
        order = [first] + sorted((n for n in names if n != first), key=lambda n: -RING_FINGER_WEIGHTS[n])
        pp = posed if posed is not None else forward(rig, shape, pose)
        seed = int(rng.integers(2**31))
        for finger in order:
            ring = build_ring(rest, rig.faces, rig.parts, joints, bone_index, finger, np.random.default_rng(seed),
                              pp.vertices, pp.bone_transforms)
            room = ring.params["room_m"]
            if room is None or room >= ring.params["inner_radius_m"] + ring.params["thickness_m"] + RING_ROOM_M:
                out.append(ring)
                break
        else:
            logger.debug("no finger has room for a ring; the sample wears none")
    return out


def place(acc: Accessory, bone_transforms: np.ndarray, root: np.ndarray, bone_names: tuple[str, ...] | list[str],
          part_id: int) -> PropSpec:
    """The world-frame :class:`PropSpec` of an accessory on a posed hand.

    Args:
        acc: the accessory (rest model frame).
        bone_transforms: ``(J, 4, 4)`` model-frame bone transforms of the posed hand
            (:func:`synth.hand.skinning.forward` without root).
        root: ``(4, 4)`` model-to-world transform of the hand.
        bone_names: the rig's bone names.
        part_id: its part id (``>= 16``).
    """
    T = np.asarray(root, dtype=np.float64) @ np.asarray(bone_transforms[list(bone_names).index(acc.bone)], dtype=np.float64)
    v = acc.vertices @ T[:3, :3].T + T[:3, 3]
    return PropSpec(name=acc.kind, category="accessory", part_id=int(part_id), object_to_world=T, vertices=v,
                    faces=acc.faces, face_material=acc.face_material, materials=acc.materials,
                    description={"params": {**acc.params, "bone": acc.bone}, "kind": acc.kind, "words": acc.words})


def accessory_specs(accs: list[Accessory], bone_transforms: np.ndarray, root: np.ndarray,
                    bone_names: tuple[str, ...] | list[str], n_objects: int) -> tuple[PropSpec, ...]:
    """Place every accessory; part ids continue after the ``n_objects`` held objects."""
    return tuple(place(a, bone_transforms, root, bone_names, OBJECT_PART_BASE + n_objects + k)
                 for k, a in enumerate(accs))
