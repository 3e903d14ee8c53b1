"""Renderer-independent types: the mesh to draw and the passes that come back (pure numpy)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class HandMesh:
    """Static topology of one hand model side, uploaded once per renderer.

    Attributes:
        side: ``right`` or ``left``.
        faces: ``(F, 3)`` int triangles, counter-clockwise seen from outside.
        face_parts: ``(F,)`` uint8 part id of each triangle (1..7).
        face_uvs: ``(F, 3, 2)`` per-corner UVs, or None.
        palm: ``(V,)`` palmar-side weight per vertex (skin shader), or None.
        nail: ``(V,)`` nail weight per vertex (skin shader), or None.
        crease_t, crease_w: ``(V,)`` knuckle / flexion crease coordinate (metres) and weight
            (:func:`synth.scene.skin.crease_attributes`), or None.
        palm_lines: ``(V, 3)`` signed distances to the heart, head and life lines (metres,
            :func:`synth.scene.skin.palm_line_attributes`), or None.
        nail_u: ``(V,)`` position along each nail, 0 cuticle .. 1 free edge
            (:func:`synth.scene.skin.nail_coordinate`), or None.
        veins: ``(V,)`` signed distance to the nearest dorsal vein, metres
            (:func:`synth.scene.skin.vein_attribute`), or None.
        hair: ``(V,)`` fine-hair weight 0..1 (:func:`synth.scene.skin.hair_weight`), or None.
        rest_vertices: ``(V, 3)`` rest-pose vertices (metres) for the contact shading
            (:func:`synth.scene.skin.contact_shading`), or None (no contact shading).
    """

    side: str
    faces: np.ndarray
    face_parts: np.ndarray
    face_uvs: np.ndarray | None = None
    palm: np.ndarray | None = None
    nail: np.ndarray | None = None
    crease_t: np.ndarray | None = None
    crease_w: np.ndarray | None = None
    palm_lines: np.ndarray | None = None
    nail_u: np.ndarray | None = None
    rest_vertices: np.ndarray | None = None
    veins: np.ndarray | None = None
    hair: np.ndarray | None = None


def face_parts_from_vertex_parts(faces: np.ndarray, vertex_parts: np.ndarray) -> np.ndarray:
    """``(F,)`` part id per triangle: the majority of its three vertices' ids (first on ties)."""
    p = vertex_parts[faces]  # (F, 3)
    out = p[:, 0].copy()
    out[p[:, 1] == p[:, 2]] = p[p[:, 1] == p[:, 2], 1]
    return out.astype(np.uint8)


@dataclass
class Passes:
    """One rendered sample: the passes every renderer produces, and any other pass of
    :data:`synth.passes.PASSES` by name (``passes["instance"]``: rendered into ``extra`` by a
    renderer that produces it, else derived from these by the registry's ``derive``).

    Attributes:
        rgb: ``(H, W, 3)`` uint8 sRGB.
        depth: ``(H, W)`` float32 planar camera z, metres, 0 where no surface.
        parts: ``(H, W)`` uint8 part ids (0 background).
        normals: ``(H, W, 3)`` float32 unit normals in the OpenCV camera frame (0 background).
        info: renderer facts for the label's attributes (e.g. the exposure applied).
        extra: further rendered passes by name.
    """

    rgb: np.ndarray
    depth: np.ndarray
    parts: np.ndarray
    normals: np.ndarray
    info: dict = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        """Pass ``name``: rendered (a field or ``extra``) or derived (``KeyError`` if neither)."""
        from synth.passes import PASSES

        if name in self.extra:
            return self.extra[name]
        a = getattr(self, name, None)
        if isinstance(a, np.ndarray):
            return a
        p = PASSES.get(name)
        if p is None or p.derive is None:
            raise KeyError(f"no pass {name!r} in this render")
        return p.derive(self)  # type: ignore[arg-type]


#: Label names of the colour pipelines (``render.view_transform`` / ``render.tone_mapping``).
STANDARD_VIEW_TRANSFORM = "Standard (sRGB)"
#: :func:`filmic_srgb8`: the sRGB transfer after a soft highlight shoulder.
FILMIC_VIEW_TRANSFORM = "synth filmic (sRGB after a highlight shoulder)"
FILMIC_TONE_MAPPING = "linear to 0.6, then y = 0.6 + 0.4 d / (d + 0.4) with d = x - 0.6 (values up to ~4 stay below 1)"


def linear_to_srgb8(linear: np.ndarray) -> np.ndarray:
    """The sRGB transfer function ("Standard" view transform), linear float -> uint8."""
    x = np.clip(np.asarray(linear, dtype=np.float32), 0.0, 1.0)
    s = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, np.float32(1.0 / 2.4)) - 0.055)
    return np.rint(s * 255.0).astype(np.uint8)


#: Fraction of its albedo at which the skin's median pixel is exposed (a photographer places lit skin
#: about a stop under paper white; 1.0 burns out the lightest tones under the shoulder curve).
SKIN_KEY = 0.55


def auto_exposure(linear: np.ndarray, mask: np.ndarray, albedo: float, limit_stops: float = 4.0) -> float:
    """Exposure (stops) of an incident-light meter at the hand: the light falling on the hand is
    estimated as the hand's median linear luminance (pixels where ``mask``) divided by the skin's
    albedo luminance, and exposed so that the skin's median renders at :data:`SKIN_KEY` times its albedo. Skin tones
    therefore keep their brightness whatever the light strength (dark skin stays dark, light
    skin light), as a photographer metering for skin would. Clamped to +-``limit_stops``."""
    if not mask.any() or albedo <= 0:
        return 0.0
    lum = np.asarray(linear, dtype=np.float32)[mask] @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    irradiance = float(np.median(lum)) / albedo
    if irradiance <= 1e-6:
        return limit_stops
    return float(np.clip(np.log2(SKIN_KEY / irradiance), -limit_stops, limit_stops))


def filmic_srgb8(linear: np.ndarray) -> np.ndarray:
    """sRGB with a soft highlight shoulder: linear up to 0.6, then compressed smoothly so that
    values up to ~4 map below 1 instead of clipping (keeps bright skin from burning out)."""
    x = np.maximum(np.asarray(linear, dtype=np.float32), 0.0)
    k = np.float32(0.6)
    over = x > k
    y = x.copy()
    d = x[over] - k
    y[over] = k + (1 - k) * (d / (d + (1 - k)))
    return linear_to_srgb8(y)
