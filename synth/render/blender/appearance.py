"""Blender side of appearance diversity: skin and nail shader, world (HDRI / sky / studio and the
visible background), a pool of local lights. Built once per process; per sample only node input
values, images and light properties change (no operators).

This module imports bpy lazily through its callers (it is only imported from
:mod:`synth.render.blender`). Pure-numpy inputs come from :mod:`synth.scene.skin` and
:mod:`synth.scene.lighting`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth.scene.lighting import LightingSample
from synth.scene.skin import SkinSample

logger = logging.getLogger(__name__)

PALM_ATTR = "synth_palm"
NAIL_ATTR = "synth_nail"
CREASE_T_ATTR = "synth_crease_t"
CREASE_W_ATTR = "synth_crease_w"
LINE_ATTRS = ("synth_line_heart", "synth_line_head", "synth_line_life")
NAIL_U_ATTR = "synth_nail_u"
CONTACT_ATTR = "synth_contact"
VEIN_ATTR = "synth_vein"
HAIR_ATTR = "synth_hair"
REST_ATTR = "synth_rest"
#: Half-width (1/e) of a dorsal vein's raised ridge (metres) and its relief height.
VEIN_WIDTH_M = 0.0018
VEIN_RELIEF_M = 0.0009
#: Fine hair impression: texture frequency across / along the hairs (per metre of the rest pose).
HAIR_FREQ = (1400.0, 45.0)
#: Darkening of the skin where it touches another part of the hand (contact weight 1).
CONTACT_DARKEN = 0.9
#: Half-width (1/e) of the heart / head / life lines of the palm (metres).
PALM_LINE_WIDTH_M = 0.0007
#: Build the skin group with the palm lines / the nail lunula, free edge and crisp border
#: (``benchmarks/bench_render.py --realism`` turns them off to measure their cost).
PALM_LINES = True
NAIL_DETAIL = True
CONTACT_SHADING = True
#: Skin micro detail (issue 17): dorsal vein relief, fine hair impression, stronger knuckle
#: wrinkles and pores (``bench_render.py --realism`` builds without them to cost them).
VEINS = True
HAIR = True
WRINKLES = True
PORES = True
#: Spacing of the fine wrinkles across the back of a knuckle (metres). 1.6 mm (before issue 17's
#: micro detail) averaged out below a pixel at 256-512 px; 2.6 mm with wider grooves shows 3-4 folds.
WRINKLE_SPACING_M = 0.0016
WRINKLE_SPACING_BOLD_M = 0.0026
#: Half-width (1/e) of the palmar flexion crease (metres).
PALM_CREASE_WIDTH_M = 0.0005
N_LIGHTS = 3
#: Resolution of the world's light importance map (Cycles' ``sample_map_resolution``). Cycles
#: rebuilds the map by evaluating the world shader once per map pixel whenever any world value
#: changes, i.e. every sample (HDRI rotation, strength, background colours). The automatic
#: resolution follows the HDRI (1024 x 512 for Blender's bundled ones): 1.4 CPU-s per sample,
#: ~70 % of a 256 px draft sample. 256 x 128 costs 1/16 of that; the map only steers where
#: light samples go (noise), not the converged image. 0: Cycles' automatic resolution (the old
#: behaviour; ``benchmarks/bench_render.py`` measures it for comparison).
WORLD_MAP_RESOLUTION = 256


def _bpy():  # noqa: ANN202
    import bpy  # noqa: PLC0415 - the Blender layer

    return bpy


# ---- skin ---------------------------------------------------------------------------------


@dataclass
class SkinHandles:
    """Nodes of the skin group whose inputs change per sample."""

    group: Any
    back: Any
    palm: Any
    skin_bsdf: Any
    nail_bsdf: Any
    bump: Any
    pores: Any
    tone_var: Any
    crease_bump: Any = None
    rough_base: Any = None
    nail_base: Any = None
    lunula: Any = None
    free_edge: Any = None
    vein_k: Any = None
    hair_k: Any = None


def build_skin_group(name: str = "synth_skin") -> SkinHandles:
    """A node group with one shader output: subsurface skin whose albedo blends from the back
    of the hand to the palm by the ``synth_palm`` vertex attribute, with procedural pores
    (bump), tone and roughness variation, knuckle wrinkles and palmar flexion creases (bump and
    darkening from the ``synth_crease_t`` / ``synth_crease_w`` attributes), the heart, head and
    life lines of the palm (Gaussian grooves of the ``synth_line_*`` signed distances), contact
    shading (``synth_contact``, refreshed per sample: the gaps between touching fingers), mixed
    with a glossy nail material by a sharpened ``synth_nail`` whose colour has a lunula and a free
    edge along ``synth_nail_u``."""
    bpy = _bpy()
    g = bpy.data.node_groups.new(name, "ShaderNodeTree")
    g.interface.new_socket("BSDF", in_out="OUTPUT", socket_type="NodeSocketShader")
    N, L = g.nodes, g.links
    out = N.new("NodeGroupOutput")
    palm_attr = N.new("ShaderNodeAttribute")
    palm_attr.attribute_type = "GEOMETRY"
    palm_attr.attribute_name = PALM_ATTR
    nail_attr = N.new("ShaderNodeAttribute")
    nail_attr.attribute_type = "GEOMETRY"
    nail_attr.attribute_name = NAIL_ATTR
    back = N.new("ShaderNodeRGB")
    palm = N.new("ShaderNodeRGB")
    mix = N.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    L.new(palm_attr.outputs["Fac"], mix.inputs["Factor"])
    L.new(back.outputs[0], mix.inputs[6])
    L.new(palm.outputs[0], mix.inputs[7])
    # low-frequency tone variation (blotches, redness), object space so it sticks to the skin
    tex = N.new("ShaderNodeTexCoord")
    tone_noise = N.new("ShaderNodeTexNoise")
    tone_noise.inputs["Scale"].default_value = 25.0
    L.new(tex.outputs["Object"], tone_noise.inputs["Vector"])
    tone_var = N.new("ShaderNodeMix")
    tone_var.data_type = "RGBA"
    tone_var.blend_type = "MULTIPLY"
    tone_var.inputs["Factor"].default_value = 0.08
    L.new(mix.outputs[2], tone_var.inputs[6])
    L.new(tone_noise.outputs["Color"], tone_var.inputs[7])
    # pores / fine wrinkles: high-frequency noise into a bump
    pores = N.new("ShaderNodeTexNoise")
    pores.inputs["Scale"].default_value = 350.0
    pores.inputs["Detail"].default_value = 4.0
    L.new(tex.outputs["Object"], pores.inputs["Vector"])
    bump = N.new("ShaderNodeBump")
    bump.inputs["Distance"].default_value = 0.0003
    L.new(pores.outputs["Fac"], bump.inputs["Height"])
    # knuckle wrinkles (back) and flexion creases (palm) around each flexion joint: vertex
    # attributes t (signed distance along the bone from the joint) and w (weight), interpolated
    def attr(name: str) -> Any:
        a = N.new("ShaderNodeAttribute")
        a.attribute_type, a.attribute_name = "GEOMETRY", name
        return a.outputs["Fac"]

    def op(operation: str, a: Any, value: float | None = None) -> Any:
        """A Math node ``operation(a, value)`` (``a`` a socket); returns its output socket."""
        m = N.new("ShaderNodeMath")
        m.operation = operation
        L.new(a, m.inputs[0])
        if value is not None:
            m.inputs[1].default_value = value
        return m.outputs[0]

    ct, cw = attr(CREASE_T_ATTR), attr(CREASE_W_ATTR)
    spacing = WRINKLE_SPACING_BOLD_M if WRINKLES else WRINKLE_SPACING_M
    sine = op("SINE", op("MULTIPLY", ct, value=2.0 * math.pi / spacing))
    half = N.new("ShaderNodeMath")  # (sin + 1) / 2
    half.operation = "MULTIPLY_ADD"
    L.new(sine, half.inputs[0])
    half.inputs[1].default_value = 0.5
    half.inputs[2].default_value = 0.5
    wrinkle = op("POWER", half.outputs[0], value=3.0 if WRINKLES else 6.0)  # grooves between wider ridges
    wrinkle_noise = N.new("ShaderNodeTexNoise")
    wrinkle_noise.inputs["Scale"].default_value = 120.0
    L.new(tex.outputs["Object"], wrinkle_noise.inputs["Vector"])
    wmul = N.new("ShaderNodeMath")
    wmul.operation = "MULTIPLY"
    L.new(wrinkle, wmul.inputs[0])
    L.new(wrinkle_noise.outputs["Fac"], wmul.inputs[1])
    wrinkle = wmul.outputs[0]
    t_scaled = op("DIVIDE", ct, value=PALM_CREASE_WIDTH_M)
    sq = N.new("ShaderNodeMath")  # t^2 (POWER is undefined for negative bases in some versions)
    sq.operation = "MULTIPLY"
    L.new(t_scaled, sq.inputs[0])
    L.new(t_scaled, sq.inputs[1])
    palmar = op("EXPONENT", op("MULTIPLY", sq.outputs[0], value=-1.0))
    side = N.new("ShaderNodeMix")
    side.data_type = "FLOAT"
    L.new(palm_attr.outputs["Fac"], side.inputs[0])
    L.new(wrinkle, side.inputs[2])
    L.new(palmar, side.inputs[3])
    gmul = N.new("ShaderNodeMath")
    gmul.operation = "MULTIPLY"
    L.new(side.outputs[0], gmul.inputs[0])
    L.new(cw, gmul.inputs[1])
    groove = gmul.outputs[0]
    # the heart, head and life lines of the palm: a Gaussian groove of each signed distance
    for name, depth in zip(LINE_ATTRS, (1.0, 0.85, 1.0), strict=True) if PALM_LINES else ():
        dl = op("DIVIDE", attr(name), value=PALM_LINE_WIDTH_M)
        sq_l = N.new("ShaderNodeMath")
        sq_l.operation = "MULTIPLY"
        L.new(dl, sq_l.inputs[0])
        L.new(dl, sq_l.inputs[1])
        g_l = op("MULTIPLY", op("EXPONENT", op("MULTIPLY", sq_l.outputs[0], value=-1.0)), value=depth)
        add = N.new("ShaderNodeMath")
        add.operation = "ADD"
        add.use_clamp = True
        L.new(groove, add.inputs[0])
        L.new(g_l, add.inputs[1])
        groove = add.outputs[0]
    crease_bump = N.new("ShaderNodeBump")
    crease_bump.invert = True  # grooves go into the skin
    crease_bump.inputs["Distance"].default_value = 0.0004
    L.new(groove, crease_bump.inputs["Height"])
    L.new(bump.outputs["Normal"], crease_bump.inputs["Normal"])
    darker = N.new("ShaderNodeMix")  # the skin in a crease is a little darker
    darker.data_type = "RGBA"
    L.new(op("MULTIPLY", groove, value=0.5 if WRINKLES else 0.35), darker.inputs["Factor"])
    L.new(tone_var.outputs[2], darker.inputs[6])
    shade = N.new("ShaderNodeMix")
    shade.data_type, shade.blend_type = "RGBA", "MULTIPLY"
    shade.inputs["Factor"].default_value = 1.0
    shade.inputs[7].default_value = (0.55, 0.45, 0.45, 1.0)
    L.new(tone_var.outputs[2], shade.inputs[6])
    L.new(shade.outputs[2], darker.inputs[7])
    base_col = darker.outputs[2]
    normal = crease_bump.outputs["Normal"]
    vein_k = N.new("ShaderNodeValue")
    hair_k = N.new("ShaderNodeValue")
    if VEINS:  # dorsal veins: a raised ridge along each vein (Gaussian of the signed distance), a bluish tint
        dv = op("DIVIDE", attr(VEIN_ATTR), value=VEIN_WIDTH_M)
        sq_v = N.new("ShaderNodeMath")
        sq_v.operation = "MULTIPLY"
        L.new(dv, sq_v.inputs[0])
        L.new(dv, sq_v.inputs[1])
        ridge = N.new("ShaderNodeMath")
        ridge.operation = "MULTIPLY"
        L.new(op("EXPONENT", op("MULTIPLY", sq_v.outputs[0], value=-1.0)), ridge.inputs[0])
        L.new(vein_k.outputs[0], ridge.inputs[1])
        vein_bump = N.new("ShaderNodeBump")
        vein_bump.inputs["Distance"].default_value = VEIN_RELIEF_M
        L.new(ridge.outputs[0], vein_bump.inputs["Height"])
        L.new(normal, vein_bump.inputs["Normal"])
        normal = vein_bump.outputs["Normal"]
        tint = N.new("ShaderNodeMix")
        tint.data_type, tint.blend_type = "RGBA", "MULTIPLY"
        L.new(op("MULTIPLY", ridge.outputs[0], value=0.45), tint.inputs["Factor"])
        L.new(base_col, tint.inputs[6])
        tint.inputs[7].default_value = (0.72, 0.78, 0.95, 1.0)
        base_col = tint.outputs[2]
    if HAIR:  # fine hair: sparse dark streaks along the arm (rest-pose y), where the hair weight is
        rest = N.new("ShaderNodeAttribute")
        rest.attribute_type, rest.attribute_name = "GEOMETRY", REST_ATTR
        hmap = N.new("ShaderNodeMapping")
        hmap.inputs["Scale"].default_value = (HAIR_FREQ[0], HAIR_FREQ[1], HAIR_FREQ[0])
        L.new(rest.outputs["Vector"], hmap.inputs["Vector"])
        hn = N.new("ShaderNodeTexNoise")
        hn.inputs["Scale"].default_value = 1.0
        hn.inputs["Detail"].default_value = 1.0
        L.new(hmap.outputs["Vector"], hn.inputs["Vector"])
        streak = N.new("ShaderNodeMapRange")
        streak.inputs["From Min"].default_value, streak.inputs["From Max"].default_value = 0.58, 0.72
        L.new(hn.outputs["Fac"], streak.inputs["Value"])
        hw = N.new("ShaderNodeMath")
        hw.operation = "MULTIPLY"
        L.new(streak.outputs["Result"], hw.inputs[0])
        L.new(attr(HAIR_ATTR), hw.inputs[1])
        hf = N.new("ShaderNodeMath")
        hf.operation = "MULTIPLY"
        L.new(hw.outputs[0], hf.inputs[0])
        L.new(hair_k.outputs[0], hf.inputs[1])
        hair = N.new("ShaderNodeMix")
        hair.data_type = "RGBA"
        L.new(hf.outputs[0], hair.inputs["Factor"])
        L.new(base_col, hair.inputs[6])
        hair.inputs[7].default_value = (0.12, 0.08, 0.055, 1.0)
        base_col = hair.outputs[2]
    skin = N.new("ShaderNodeBsdfPrincipled")
    skin.subsurface_method = "BURLEY"  # less noise than random walk at dataset sample counts
    skin.inputs["Subsurface Weight"].default_value = 1.0
    skin.inputs["Subsurface Scale"].default_value = 1.0
    skin.inputs["Specular IOR Level"].default_value = 0.5
    skin.inputs["Coat Weight"].default_value = 0.05
    if CONTACT_SHADING:  # the shadowed gap where fingers touch each other or the palm (per sample)
        contact = N.new("ShaderNodeMix")
        contact.data_type, contact.blend_type = "RGBA", "MULTIPLY"
        L.new(op("MULTIPLY", op("SQRT", attr(CONTACT_ATTR)), value=CONTACT_DARKEN), contact.inputs["Factor"])
        L.new(base_col, contact.inputs[6])
        contact.inputs[7].default_value = (0.25, 0.14, 0.12, 1.0)
        L.new(contact.outputs[2], skin.inputs["Base Color"])
    else:
        L.new(base_col, skin.inputs["Base Color"])
    # roughness varies over the skin (oilier / drier patches): the sample's roughness +-0.08
    rough_base = N.new("ShaderNodeValue")
    rough_noise = N.new("ShaderNodeTexNoise")
    rough_noise.inputs["Scale"].default_value = 18.0
    L.new(tex.outputs["Object"], rough_noise.inputs["Vector"])
    rough = N.new("ShaderNodeMath")
    rough.operation = "MULTIPLY_ADD"  # (noise - 0.5) * 0.16 + base, written as noise * 0.16 + (base - 0.08)
    L.new(rough_noise.outputs["Fac"], rough.inputs[0])
    rough.inputs[1].default_value = 0.16
    base_off = op("SUBTRACT", rough_base.outputs[0], value=0.08)
    L.new(base_off, rough.inputs[2])
    L.new(rough.outputs[0], skin.inputs["Roughness"])
    L.new(normal, skin.inputs["Normal"])
    nail = N.new("ShaderNodeBsdfPrincipled")
    # nail colour: lunula (pale crescent at the cuticle) and free edge (white, no nail bed under
    # it) along synth_nail_u; their strengths are 0 under polish
    nail_u = attr(NAIL_U_ATTR)
    nail_base = N.new("ShaderNodeRGB")

    def band(lo: float, hi: float) -> Any:
        m = N.new("ShaderNodeMapRange")
        m.interpolation_type = "SMOOTHSTEP"
        L.new(nail_u, m.inputs["Value"])
        m.inputs["From Min"].default_value, m.inputs["From Max"].default_value = lo, hi
        return m.outputs["Result"]

    lunula_k = N.new("ShaderNodeValue")
    lunula_f = N.new("ShaderNodeMath")
    lunula_f.operation = "MULTIPLY"
    L.new(op("SUBTRACT", band(0.06, 0.2), value=1.0), lunula_f.inputs[0])  # band - 1 in -1..0
    L.new(lunula_k.outputs[0], lunula_f.inputs[1])
    lun = N.new("ShaderNodeMix")
    lun.data_type = "RGBA"
    L.new(op("ABSOLUTE", lunula_f.outputs[0]), lun.inputs["Factor"])
    L.new(nail_base.outputs[0], lun.inputs[6])
    lun.inputs[7].default_value = (0.86, 0.78, 0.74, 1.0)
    edge_k = N.new("ShaderNodeValue")
    edge_f = N.new("ShaderNodeMath")
    edge_f.operation = "MULTIPLY"
    L.new(band(0.86, 0.95), edge_f.inputs[0])
    L.new(edge_k.outputs[0], edge_f.inputs[1])
    fe = N.new("ShaderNodeMix")
    fe.data_type = "RGBA"
    L.new(edge_f.outputs[0], fe.inputs["Factor"])
    L.new(lun.outputs[2], fe.inputs[6])
    fe.inputs[7].default_value = (0.88, 0.84, 0.76, 1.0)
    L.new((fe.outputs[2] if NAIL_DETAIL else nail_base.outputs[0]), nail.inputs["Base Color"])
    nail.inputs["Coat Weight"].default_value = 0.6
    nail.inputs["Subsurface Weight"].default_value = 0.2
    nail.inputs["Subsurface Radius"].default_value = (0.002, 0.001, 0.0008)
    mixs = N.new("ShaderNodeMixShader")
    nail_sharp = N.new("ShaderNodeMapRange")  # a crisp nail border instead of a one-triangle ramp
    nail_sharp.interpolation_type = "SMOOTHSTEP"
    nail_sharp.inputs["From Min"].default_value, nail_sharp.inputs["From Max"].default_value = 0.3, 0.7
    L.new(nail_attr.outputs["Fac"], nail_sharp.inputs["Value"])
    L.new(nail_sharp.outputs["Result"] if NAIL_DETAIL else nail_attr.outputs["Fac"], mixs.inputs["Fac"])
    L.new(skin.outputs["BSDF"], mixs.inputs[1])
    L.new(nail.outputs["BSDF"], mixs.inputs[2])
    L.new(mixs.outputs[0], out.inputs[0])
    return SkinHandles(g, back, palm, skin, nail, bump, pores, tone_var, crease_bump, rough_base, nail_base,
                       lunula_k, edge_k, vein_k, hair_k)


def set_skin(h: SkinHandles, s: SkinSample) -> None:
    """Apply a sampled skin to the group (linear-RGB colours)."""
    h.back.outputs[0].default_value = (*s.back_color, 1.0)
    h.palm.outputs[0].default_value = (*s.palm_color, 1.0)
    b = h.skin_bsdf.inputs
    h.rough_base.outputs[0].default_value = s.roughness
    b["Subsurface Radius"].default_value = s.subsurface_radius
    # subtle: pores are sub-pixel at dataset sizes; they show as a broken-up specular sheen
    h.bump.inputs["Strength"].default_value = (0.5 if PORES else 0.25) * s.bump
    if h.vein_k is not None:
        h.vein_k.outputs[0].default_value = s.veins
        h.hair_k.outputs[0].default_value = 0.6 * s.hair
    h.crease_bump.inputs["Strength"].default_value = min(1.0, 0.5 + 1.5 * s.bump)
    n = h.nail_bsdf.inputs
    h.nail_base.outputs[0].default_value = (*(s.polish or s.nail_color), 1.0)
    h.lunula.outputs[0].default_value = 0.0 if s.polish is not None else 0.55
    h.free_edge.outputs[0].default_value = 0.0 if s.polish is not None else 0.8
    n["Roughness"].default_value = s.nail_gloss if s.polish is None else 0.08
    n["Coat Weight"].default_value = 1.0 if s.polish is not None else 0.6


def add_skin_attributes(mesh: Any, palm: np.ndarray, nail: np.ndarray, crease_t: np.ndarray | None = None,
                        crease_w: np.ndarray | None = None, palm_lines: np.ndarray | None = None,
                        nail_u: np.ndarray | None = None, veins: np.ndarray | None = None,
                        hair: np.ndarray | None = None, rest: np.ndarray | None = None) -> None:
    """Store per-vertex ``synth_palm`` and ``synth_nail`` (``(V,)`` floats 0..1), the crease
    attributes ``synth_crease_t`` (metres) / ``synth_crease_w`` (0..1), the palm-line distances
    (``(V, 3)`` metres), the nail coordinate ``synth_nail_u``, the dorsal vein distance
    ``synth_vein`` (metres), the hair weight ``synth_hair`` and the rest-pose positions
    ``synth_rest`` (``(V, 3)``, texture coordinates that stick to the skin) on a mesh (when not
    given: no creases, no palm lines, no lunula / free edge, no veins, no hair)."""
    zeros = np.zeros(len(palm), dtype=np.float32)
    far = np.full(len(palm), 0.05, dtype=np.float32)
    lines = [far] * 3 if palm_lines is None else [palm_lines[:, c] for c in range(3)]
    for name, values in ((PALM_ATTR, palm), (NAIL_ATTR, nail), (CREASE_T_ATTR, zeros if crease_t is None else crease_t),
                         (CREASE_W_ATTR, zeros if crease_w is None else crease_w),
                         (NAIL_U_ATTR, zeros if nail_u is None else nail_u), (CONTACT_ATTR, zeros),
                         *zip(LINE_ATTRS, lines, strict=True)):
        attr = mesh.attributes.get(name) or mesh.attributes.new(name, "FLOAT", "POINT")
        attr.data.foreach_set("value", np.ascontiguousarray(values, dtype=np.float32))
    for name, values in ((VEIN_ATTR, far if veins is None else veins), (HAIR_ATTR, zeros if hair is None else hair)):
        attr = mesh.attributes.get(name) or mesh.attributes.new(name, "FLOAT", "POINT")
        attr.data.foreach_set("value", np.ascontiguousarray(values, dtype=np.float32))
    if rest is not None:
        attr = mesh.attributes.get(REST_ATTR) or mesh.attributes.new(REST_ATTR, "FLOAT_VECTOR", "POINT")
        attr.data.foreach_set("vector", np.ascontiguousarray(rest, dtype=np.float32).ravel())


def set_contact(mesh: Any, contact: np.ndarray) -> None:
    """Per-sample contact weights ``(V,)`` (:func:`synth.scene.skin.contact_shading`)."""
    mesh.attributes[CONTACT_ATTR].data.foreach_set("value", np.ascontiguousarray(contact, dtype=np.float32))


# ---- world --------------------------------------------------------------------------------


@dataclass
class WorldHandles:
    world: Any
    env_image: Any
    env_mapping: Any
    env_tint: Any
    sky: Any
    studio: Any
    sel_hdri: Any
    sel_sky: Any
    env_bg: Any
    vis_a: Any
    vis_b: Any
    vis_noise: Any
    vis_image: Any
    sel_gradient: Any
    sel_noise: Any
    sel_image: Any
    sel_env: Any
    vis_bg: Any
    images: dict[str, Any]
    vis_voronoi: Any = None
    bokeh_dim: Any = None
    sel_bokeh: Any = None


def build_world(name: str = "synth_world") -> WorldHandles:
    """World nodes: an environment (HDRI, sky or uniform colour, chosen by mix factors) that
    lights the scene, and a separate background seen by camera rays (the environment itself,
    a solid colour, a gradient, noise, or a backplate image in window coordinates)."""
    bpy = _bpy()
    w = bpy.data.worlds.new(name)
    w.use_nodes = True
    # Set before the first render: Cycles does not re-read these when only they change.
    if WORLD_MAP_RESOLUTION:
        w.cycles.sampling_method = "MANUAL"
        w.cycles.sample_map_resolution = WORLD_MAP_RESOLUTION
    N, L = w.node_tree.nodes, w.node_tree.links
    N.clear()
    out = N.new("ShaderNodeOutputWorld")
    tc = N.new("ShaderNodeTexCoord")
    mapping = N.new("ShaderNodeMapping")
    L.new(tc.outputs["Generated"], mapping.inputs["Vector"])
    env = N.new("ShaderNodeTexEnvironment")
    L.new(mapping.outputs["Vector"], env.inputs["Vector"])
    tint = N.new("ShaderNodeMix")
    tint.data_type = "RGBA"
    tint.blend_type = "MULTIPLY"
    tint.inputs["Factor"].default_value = 1.0
    L.new(env.outputs["Color"], tint.inputs[6])
    sky = N.new("ShaderNodeTexSky")
    sky.sky_type = "MULTIPLE_SCATTERING" if "MULTIPLE_SCATTERING" in sky.bl_rna.properties["sky_type"].enum_items.keys() \
        else "NISHITA"
    studio = N.new("ShaderNodeRGB")
    sel_hdri = N.new("ShaderNodeMix")
    sel_hdri.data_type = "RGBA"
    L.new(studio.outputs[0], sel_hdri.inputs[6])
    L.new(tint.outputs[2], sel_hdri.inputs[7])
    sel_sky = N.new("ShaderNodeMix")
    sel_sky.data_type = "RGBA"
    L.new(sel_hdri.outputs[2], sel_sky.inputs[6])
    L.new(sky.outputs["Color"], sel_sky.inputs[7])
    env_bg = N.new("ShaderNodeBackground")
    L.new(sel_sky.outputs[2], env_bg.inputs["Color"])

    # camera-visible background
    vis_a, vis_b = N.new("ShaderNodeRGB"), N.new("ShaderNodeRGB")
    sep = N.new("ShaderNodeSeparateXYZ")
    L.new(tc.outputs["Window"], sep.inputs[0])
    grad = N.new("ShaderNodeMix")
    grad.data_type = "RGBA"
    L.new(sep.outputs["Y"], grad.inputs["Factor"])
    L.new(vis_b.outputs[0], grad.inputs[6])
    L.new(vis_a.outputs[0], grad.inputs[7])
    noise = N.new("ShaderNodeTexNoise")
    L.new(tc.outputs["Window"], noise.inputs["Vector"])
    nmix = N.new("ShaderNodeMix")
    nmix.data_type = "RGBA"
    L.new(noise.outputs["Fac"], nmix.inputs["Factor"])
    L.new(vis_a.outputs[0], nmix.inputs[6])
    L.new(vis_b.outputs[0], nmix.inputs[7])
    vor = N.new("ShaderNodeTexVoronoi")  # bokeh: smooth cells of random colours over the noise
    vor.feature = "SMOOTH_F1"
    vor.voronoi_dimensions = "2D"  # window coordinates are 2D (z = 0); 3D cost 5 % of a draft sample
    vor.inputs["Smoothness"].default_value = 1.0
    vor.inputs["Randomness"].default_value = 1.0
    L.new(tc.outputs["Window"], vor.inputs["Vector"])
    bokeh = N.new("ShaderNodeMix")
    bokeh.data_type = "RGBA"
    bokeh.inputs["Factor"].default_value = 0.45
    L.new(nmix.outputs[2], bokeh.inputs[6])
    L.new(vor.outputs["Color"], bokeh.inputs[7])
    bokeh_dim = N.new("ShaderNodeMix")  # keep the random cell colours near the sampled palette's brightness
    bokeh_dim.data_type = "RGBA"
    bokeh_dim.blend_type = "MULTIPLY"
    bokeh_dim.inputs["Factor"].default_value = 1.0
    L.new(bokeh.outputs[2], bokeh_dim.inputs[6])
    img = N.new("ShaderNodeTexImage")
    img.extension = "EXTEND"
    L.new(tc.outputs["Window"], img.inputs["Vector"])
    sel_gradient, sel_noise, sel_image, sel_env = (N.new("ShaderNodeMix") for _ in range(4))
    for m in (sel_gradient, sel_noise, sel_image, sel_env):
        m.data_type = "RGBA"
    L.new(vis_a.outputs[0], sel_gradient.inputs[6])
    L.new(grad.outputs[2], sel_gradient.inputs[7])
    L.new(sel_gradient.outputs[2], sel_noise.inputs[6])
    L.new(nmix.outputs[2], sel_noise.inputs[7])
    sel_bokeh = N.new("ShaderNodeMix")
    sel_bokeh.data_type = "RGBA"
    L.new(sel_noise.outputs[2], sel_bokeh.inputs[6])
    L.new(bokeh_dim.outputs[2], sel_bokeh.inputs[7])
    L.new(sel_bokeh.outputs[2], sel_image.inputs[6])
    L.new(img.outputs["Color"], sel_image.inputs[7])
    L.new(sel_image.outputs[2], sel_env.inputs[6])
    L.new(sel_sky.outputs[2], sel_env.inputs[7])
    vis_bg = N.new("ShaderNodeBackground")
    L.new(sel_env.outputs[2], vis_bg.inputs["Color"])
    lp = N.new("ShaderNodeLightPath")
    final = N.new("ShaderNodeMixShader")
    L.new(lp.outputs["Is Camera Ray"], final.inputs["Fac"])
    L.new(env_bg.outputs[0], final.inputs[1])
    L.new(vis_bg.outputs[0], final.inputs[2])
    L.new(final.outputs[0], out.inputs["Surface"])
    return WorldHandles(w, env, mapping, tint, sky, studio, sel_hdri, sel_sky, env_bg, vis_a, vis_b, noise, img,
                        sel_gradient, sel_noise, sel_image, sel_env, vis_bg, {}, vor, bokeh_dim, sel_bokeh)


def _image(h: WorldHandles, path: str, colorspace: str) -> Any:
    bpy = _bpy()
    img = h.images.get(path)
    if img is None:
        img = bpy.data.images.load(path, check_existing=True)
        img.colorspace_settings.name = colorspace
        if tuple(img.size) == (0, 0) or not img.has_data:  # would render as missing-texture magenta
            bpy.data.images.remove(img)
            from synth.render.assets import AssetError

            raise AssetError(f"asset {path}: Blender cannot decode the image")
        h.images[path] = img
    return img


def set_world(h: WorldHandles, s: LightingSample) -> None:
    """Apply a sampled environment and background."""
    e, bg = s.env, s.background
    h.sel_hdri.inputs["Factor"].default_value = 1.0 if e.kind == "hdri" else 0.0
    h.sel_sky.inputs["Factor"].default_value = 1.0 if e.kind == "sky" else 0.0
    if e.kind == "hdri" and e.hdri:
        h.env_image.image = _image(h, e.hdri, "Linear Rec.709")
        h.env_mapping.inputs["Rotation"].default_value = (0.0, 0.0, math.radians(e.rotation_deg))
        h.env_tint.inputs[7].default_value = (*e.tint, 1.0)
    if e.kind == "sky":
        h.sky.sun_elevation = math.radians(e.sun_elevation_deg)
        h.sky.sun_rotation = math.radians(e.sun_rotation_deg)
        h.sky.air_density = e.air
        if hasattr(h.sky, "aerosol_density"):
            h.sky.aerosol_density = e.dust
        elif hasattr(h.sky, "dust_density"):
            h.sky.dust_density = e.dust
    h.studio.outputs[0].default_value = (*e.color, 1.0)
    h.env_bg.inputs["Strength"].default_value = e.strength
    # visible background
    h.vis_a.outputs[0].default_value = (*bg.color_a, 1.0)
    h.vis_b.outputs[0].default_value = (*bg.color_b, 1.0)
    h.vis_noise.inputs["Scale"].default_value = bg.scale
    h.sel_gradient.inputs["Factor"].default_value = 1.0 if bg.kind == "gradient" else 0.0
    h.sel_noise.inputs["Factor"].default_value = 1.0 if bg.kind == "noise" else 0.0
    h.sel_bokeh.inputs["Factor"].default_value = 1.0 if bg.kind == "bokeh" else 0.0
    h.vis_voronoi.inputs["Scale"].default_value = bg.scale / 4.0
    grey = float(np.dot(np.add(bg.color_a, bg.color_b) / 2.0, (0.2126, 0.7152, 0.0722)))
    h.bokeh_dim.inputs[7].default_value = (*(min(1.0, 2.0 * grey + 0.05),) * 3, 1.0)
    h.sel_image.inputs["Factor"].default_value = 1.0 if bg.kind == "image" else 0.0
    h.sel_env.inputs["Factor"].default_value = 1.0 if bg.kind in ("environment", "room") else 0.0
    if bg.kind == "image" and bg.image:
        h.vis_image.image = _image(h, bg.image, "sRGB")
    h.vis_bg.inputs["Strength"].default_value = e.strength if bg.kind in ("environment", "room") else 1.0


# ---- room backdrop (background kind ``room``) ----------------------------------------------

#: Build the room backdrop (``benchmarks/bench_render.py --realism`` hides it to measure its cost).
ROOM = True


@dataclass
class RoomHandles:
    obj: Any
    materials: dict[str, Any]
    bsdf: dict[str, Any]
    window_emission: Any


def build_room(scene: Any) -> RoomHandles:
    """The room's one mesh of fixed topology (:data:`synth.scene.room.N_BOXES` boxes, 8 corners
    and 12 triangles each, one material per :data:`synth.scene.room.MATERIALS` entry), hidden
    until a sample has a room. Its materials have pass index 0 and write no part AOV, so the
    room is background in the label passes."""
    from synth.scene import room as rm

    bpy = _bpy()
    mesh = bpy.data.meshes.new("synth_room")
    F = (rm.BOX_FACES[None] + 8 * np.arange(rm.N_BOXES)[:, None, None]).reshape(-1, 3)
    mesh.vertices.add(8 * rm.N_BOXES)
    mesh.loops.add(3 * len(F))
    mesh.polygons.add(len(F))
    mesh.loops.foreach_set("vertex_index", F.astype(np.int32).ravel())
    mesh.polygons.foreach_set("loop_start", np.arange(0, 3 * len(F), 3, dtype=np.int32))
    mesh.polygons.foreach_set("loop_total", np.full(len(F), 3, dtype=np.int32))
    mats, bsdfs = {}, {}
    emission = None
    for name in rm.MATERIALS:
        mat = bpy.data.materials.new(f"synth_room_{name}")
        mat.use_nodes = True
        mat.pass_index = 0
        nt = mat.node_tree
        N, L = nt.nodes, nt.links
        N.clear()
        out = N.new("ShaderNodeOutputMaterial")
        if name == "window":  # a bright pane: daylight seen through the window
            em = N.new("ShaderNodeEmission")
            L.new(em.outputs[0], out.inputs["Surface"])
            emission = em
            # not a light to sample: a glowing pane seen by the camera (light-tree sampling of it
            # cost every shading point a shadow ray; the scene's lights and world light the hand)
            mat.cycles.emission_sampling = "NONE"
        else:
            # diffuse only (walls, wood, books, paint): one lobe to evaluate and sample, so a room
            # pixel costs little more than a world pixel
            b = N.new("ShaderNodeBsdfDiffuse")
            L.new(b.outputs["BSDF"], out.inputs["Surface"])
            if name in ("floor", "wood"):  # grain: colour streaks along the board (object x)
                tc = N.new("ShaderNodeTexCoord")
                mp = N.new("ShaderNodeMapping")
                mp.inputs["Scale"].default_value = (1.0, 12.0, 12.0)
                L.new(tc.outputs["Object"], mp.inputs["Vector"])
                nz = N.new("ShaderNodeTexNoise")
                nz.inputs["Scale"].default_value = 4.0
                nz.inputs["Detail"].default_value = 1.0
                L.new(mp.outputs["Vector"], nz.inputs["Vector"])
                rgb = N.new("ShaderNodeRGB")
                mix = N.new("ShaderNodeMix")
                mix.data_type = "RGBA"
                mix.blend_type = "MULTIPLY"
                L.new(nz.outputs["Fac"], mix.inputs["Factor"])
                L.new(rgb.outputs[0], mix.inputs[6])
                mix.inputs[7].default_value = (0.55, 0.5, 0.45, 1.0)
                L.new(mix.outputs[2], b.inputs["Color"])
                bsdfs[name + "_rgb"] = rgb
            bsdfs[name] = b
        mats[name] = mat
        mesh.materials.append(mat)
    mesh.polygons.foreach_set("material_index", np.repeat(rm.SLOTS, 12).astype(np.int32))
    mesh.polygons.foreach_set("use_smooth", np.zeros(len(F), dtype=bool))
    mesh.update(calc_edges=True)
    obj = bpy.data.objects.new("synth_room", mesh)
    # Seen by camera rays and casting shadows, but not by diffuse / glossy / transmission rays:
    # with full interreflection every path inside a room ran to the bounce limit instead of
    # escaping to the world (+0.68 CPU-s per 256 px draft sample, doubling it); this way a room
    # pixel costs about what a world pixel does. The hand's light is unchanged (the room stays
    # out of its indirect light, as with the card backgrounds).
    obj.visible_diffuse = False
    obj.visible_glossy = False
    obj.visible_transmission = False
    obj.hide_render = True
    scene.collection.objects.link(obj)
    return RoomHandles(obj, mats, bsdfs, emission)


def set_room(h: RoomHandles, room: Any) -> None:
    """Show ``room`` (a :class:`synth.scene.room.Room`; None hides the room): move the box
    corners, set the material values."""
    if room is None or not ROOM:
        h.obj.hide_render = True
        return
    mesh = h.obj.data
    mesh.vertices.foreach_set("co", np.ascontiguousarray(room.corners, dtype=np.float32).ravel())
    mesh.update()
    for name, b in h.bsdf.items():
        if name.endswith("_rgb"):
            b.outputs[0].default_value = (*room.colors[name[:-4]], 1.0)
            continue
        if name not in ("floor", "wood"):
            b.inputs["Color"].default_value = (*room.colors[name], 1.0)
        b.inputs["Roughness"].default_value = room.roughness[name]
    h.window_emission.inputs["Color"].default_value = (*room.window_color, 1.0)
    h.window_emission.inputs["Strength"].default_value = room.window_strength
    h.obj.hide_render = False


# ---- lights -------------------------------------------------------------------------------


def build_lights(scene: Any, n: int = N_LIGHTS) -> list[Any]:
    """A pool of ``n`` light objects, hidden until used."""
    bpy = _bpy()
    out = []
    for k in range(n):
        data = bpy.data.lights.new(f"synth_light{k}", type="AREA")
        obj = bpy.data.objects.new(f"synth_light{k}", data)
        scene.collection.objects.link(obj)
        obj.hide_render = True
        out.append(obj)
    return out


def set_lights(pool: list[Any], s: LightingSample, pose_fn: Any) -> None:
    """Apply the sampled local lights (``pose_fn(position, target) -> 4x4`` world matrix)."""
    for k, obj in enumerate(pool):
        if k >= len(s.lights):
            obj.hide_render = True
            continue
        li = s.lights[k]
        obj.hide_render = False
        if obj.data.type != li.kind:
            obj.data.type = li.kind
        d = obj.data
        d.energy = li.power
        d.color = li.color
        if li.kind == "AREA":
            d.size = li.size
        else:
            d.shadow_soft_size = li.size / 2.0
        if li.kind == "SPOT":
            d.spot_size = math.radians(li.spot_deg)
        obj.matrix_world = pose_fn(np.array(li.position), np.array(li.target))
