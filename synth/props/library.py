"""Procedural everyday props: meshes, material descriptions and afforded grasps (pure Python).

``make_prop(name, rng) -> Prop`` builds one instance of a prop with its size drawn from ``rng``.
Every prop is the union of a few analytic primitives (:mod:`synth.props.shapes`): its
``mesh`` is the concatenation of their watertight meshes (overlapping closed components: every
edge is shared by exactly two faces, so ``mesh.is_watertight`` holds), in metres, in the prop's
own frame (origin near the centre of the object). ``Prop.sdf`` is the signed distance to the
union (negative inside).

Materials are plain data for the renderer to turn into shader nodes: ``face_material`` ``(F,)``
indexes ``material_slots``, and ``materials[slot]`` holds the drawn base colour (linear RGB,
0..1), roughness, metallic, transmission and a colour word for captions. The ranges they are
drawn from are in :data:`MATERIAL_PRESETS`.

``affords`` lists the grasps of the Feix et al. (2016) GRASP taxonomy (snake_case names as in
``assets/gestures/grasps.yaml``) that the object supports.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import trimesh

from synth.props.shapes import (
    Ellipsoid,
    Primitive,
    Revolved,
    RoundedBox,
    Sphere,
    arc_profile,
    union_sdf,
)

logger = logging.getLogger(__name__)


# ---- materials ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaterialSpec:
    """Ranges a material is drawn from. ``palette`` maps colour words to linear RGB (0..1)."""

    palette: dict[str, tuple[float, float, float]]
    roughness: tuple[float, float]
    metallic: float = 0.0
    transmission: float = 0.0
    color_jitter: float = 0.04


@dataclass(frozen=True)
class Material:
    """A drawn material: what the renderer needs for a Principled BSDF."""

    name: str
    base_color: tuple[float, float, float]
    roughness: float
    metallic: float
    transmission: float
    color_name: str

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "base_color": list(self.base_color),
            "roughness": self.roughness,
            "metallic": self.metallic,
            "transmission": self.transmission,
            "color_name": self.color_name,
        }


_PLASTIC = {
    "black": (0.02, 0.02, 0.02),
    "white": (0.8, 0.8, 0.78),
    "grey": (0.2, 0.2, 0.21),
    "red": (0.6, 0.03, 0.03),
    "blue": (0.03, 0.1, 0.55),
    "green": (0.05, 0.35, 0.08),
    "yellow": (0.8, 0.6, 0.02),
}
_CERAMIC = {
    "white": (0.85, 0.85, 0.82),
    "black": (0.02, 0.02, 0.02),
    "blue": (0.05, 0.15, 0.5),
    "red": (0.55, 0.05, 0.04),
    "yellow": (0.85, 0.65, 0.1),
    "green": (0.1, 0.4, 0.15),
}

#: Material slot -> ranges. Colours are linear RGB.
MATERIAL_PRESETS: dict[str, MaterialSpec] = {
    "phone_case": MaterialSpec(
        {"black": (0.015, 0.015, 0.015), "silver": (0.6, 0.6, 0.62), "blue": (0.05, 0.12, 0.35),
         "white": (0.8, 0.8, 0.8), "red": (0.5, 0.03, 0.04)}, (0.25, 0.55), metallic=0.3),
    "screen": MaterialSpec({"black": (0.005, 0.005, 0.006)}, (0.03, 0.08), color_jitter=0.0),
    "ceramic": MaterialSpec(_CERAMIC, (0.08, 0.25)),
    "plastic": MaterialSpec(_PLASTIC, (0.3, 0.6)),
    "glossy_plastic": MaterialSpec(_PLASTIC, (0.1, 0.3)),
    "clear_plastic": MaterialSpec(
        {"clear": (0.9, 0.92, 0.95), "blue": (0.6, 0.75, 0.95), "green": (0.6, 0.9, 0.65)},
        (0.02, 0.1), transmission=0.95, color_jitter=0.02),
    "paper": MaterialSpec(
        {"white": (0.85, 0.85, 0.82), "brown": (0.45, 0.3, 0.15), "red": (0.6, 0.08, 0.06)},
        (0.6, 0.85)),
    "metal": MaterialSpec({"silver": (0.9, 0.9, 0.9)}, (0.15, 0.35), metallic=1.0, color_jitter=0.02),
    "brass": MaterialSpec({"brass": (0.8, 0.6, 0.25), "silver": (0.85, 0.85, 0.85)}, (0.2, 0.4),
                          metallic=1.0, color_jitter=0.02),
    "wood": MaterialSpec({"yellow": (0.8, 0.55, 0.05), "natural": (0.6, 0.4, 0.2)}, (0.5, 0.7)),
    "graphite": MaterialSpec({"dark grey": (0.05, 0.05, 0.05)}, (0.4, 0.6), color_jitter=0.0),
    "rubber": MaterialSpec(
        {"yellow": (0.75, 0.8, 0.05), "orange": (0.85, 0.3, 0.02), "red": (0.6, 0.04, 0.03),
         "blue": (0.05, 0.15, 0.6), "white": (0.85, 0.85, 0.85)}, (0.5, 0.9)),
    "book_cover": MaterialSpec(
        {"red": (0.4, 0.03, 0.03), "blue": (0.03, 0.07, 0.3), "green": (0.04, 0.2, 0.08),
         "black": (0.02, 0.02, 0.02), "white": (0.8, 0.78, 0.72)}, (0.4, 0.8)),
    "pages": MaterialSpec({"white": (0.8, 0.78, 0.7)}, (0.7, 0.9)),
    "bristles": MaterialSpec({"white": (0.85, 0.85, 0.85), "blue": (0.2, 0.4, 0.8)}, (0.4, 0.6)),
    "card": MaterialSpec(
        {"blue": (0.05, 0.15, 0.5), "gold": (0.7, 0.5, 0.15), "black": (0.02, 0.02, 0.02),
         "green": (0.05, 0.35, 0.1), "white": (0.85, 0.85, 0.85)}, (0.2, 0.4)),
}


def draw_material(slot: str, rng: np.random.Generator) -> Material:
    """Draw the parameters of material ``slot`` (see :data:`MATERIAL_PRESETS`) from ``rng``."""
    spec = MATERIAL_PRESETS[slot]
    names = sorted(spec.palette)
    cname = names[int(rng.integers(len(names)))]
    base = np.asarray(spec.palette[cname]) + rng.uniform(-1, 1, 3) * spec.color_jitter
    rough = float(rng.uniform(*spec.roughness))
    return Material(slot, tuple(float(x) for x in np.clip(base, 0.0, 1.0)), rough,
                    spec.metallic, spec.transmission, cname)


# ---- the prop --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prop:
    """One drawn instance of a prop (metres, prop frame).

    Attributes:
        name: prop name (a key of :data:`PROPS`).
        category: coarse category (``phone``, ``container``, ``utensil``, ...).
        mesh: watertight union of the primitives' meshes, ``(V, 3)`` vertices / ``(F, 3)`` faces.
        primitives: the analytic solids the mesh tessellates (for :meth:`sdf`).
        face_material: ``(F,)`` int index into ``material_slots`` per face of ``mesh``.
        material_slots: slot names.
        materials: slot name -> drawn :class:`Material`.
        affords: Feix grasp names this object supports.
        params: the drawn dimensions (metres) by name.
        component_faces: ``(F,)`` int index of the primitive each face belongs to.
        handle: index of the first primitive of the handle (a mug's bar; its arms follow: the
            handle is ``primitives[handle:]``), or ``None``; grasps of the handle touch only it.
    """

    name: str
    category: str
    mesh: trimesh.Trimesh
    primitives: tuple[Primitive, ...]
    face_material: np.ndarray
    material_slots: tuple[str, ...]
    materials: dict[str, Material]
    affords: tuple[str, ...]
    params: dict[str, float] = field(default_factory=dict)
    component_faces: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    handle: int | None = None

    def sdf(self, points: np.ndarray) -> np.ndarray:
        """Signed distance ``(N,)`` in metres of prop-frame points ``(N, 3)``; negative inside."""
        return union_sdf(self.primitives, points)

    @property
    def color_name(self) -> str:
        """Colour word of the main (first) material, for captions."""
        return self.materials[self.material_slots[0]].color_name

    @functools.cached_property
    def _components(self) -> tuple[trimesh.Trimesh, ...]:
        out = []
        for k in range(len(self.primitives)):
            out.append(self.mesh.submesh([np.nonzero(self.component_faces == k)[0]], append=True))
        return tuple(out)

    def in_handle_opening(self, points: np.ndarray, slab: float = 0.003) -> np.ndarray:
        """Which prop-frame points ``(N, 3)`` lie in the opening of the handle's loop (within
        ``slab`` m of the loop's plane, between the wall and the bar, between the arms): a
        finger with such a point passes through the handle. All False without a handle."""
        q = np.asarray(points, dtype=np.float64)
        if self.handle is None:
            return np.zeros(len(q), dtype=bool)
        R, gap, inner = self.params["radius"], self.params["handle_gap"], self.params["handle_height"]
        return (np.abs(q[:, 1]) < slab) & (q[:, 0] > R) & (q[:, 0] < R + gap) & (np.abs(q[:, 2]) < inner / 2)

    def component_meshes(self) -> list[trimesh.Trimesh]:
        """The closed component meshes (one per primitive) as separate trimeshes (cached)."""
        return list(self._components)

    def describe(self) -> dict[str, object]:
        """JSON-friendly description (no geometry)."""
        return {
            "name": self.name,
            "category": self.category,
            "affords": list(self.affords),
            "params": dict(self.params),
            "materials": {k: v.as_dict() for k, v in self.materials.items()},
            "material_slots": list(self.material_slots),
        }


def _assemble(
    name: str,
    category: str,
    prims: list[Primitive],
    affords: tuple[str, ...],
    rng: np.random.Generator,
    params: dict[str, float],
    face_override: Callable[[trimesh.Trimesh, np.ndarray], np.ndarray] | None = None,
    extra_slots: tuple[str, ...] = (),
    handle: int | None = None,
) -> Prop:
    slots: list[str] = []
    for p in prims:
        if p.material not in slots:
            slots.append(p.material)
    for s in extra_slots:
        if s not in slots:
            slots.append(s)
    meshes = [p.mesh() for p in prims]
    comp = np.concatenate([np.full(len(m.faces), k, dtype=np.int32) for k, m in enumerate(meshes)])
    mat = np.concatenate(
        [np.full(len(m.faces), slots.index(p.material), dtype=np.int32) for p, m in zip(prims, meshes, strict=True)]
    )
    mesh = trimesh.util.concatenate(meshes)
    if face_override is not None:
        mat = face_override(mesh, mat).astype(np.int32)
    materials = {s: draw_material(s, rng) for s in slots}
    return Prop(name, category, mesh, tuple(prims), mat, tuple(slots), materials, affords,
                {k: float(v) for k, v in params.items()}, comp, handle)


def _T(t: tuple[float, float, float] = (0.0, 0.0, 0.0), rot: np.ndarray | None = None) -> np.ndarray:
    M = np.eye(4)
    if rot is not None:
        M[:3, :3] = rot
    M[:3, 3] = t
    return M


def _rx(deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], dtype=np.float64)


# ---- the generators ------------------------------------------------------------------------------


def _phone(rng: np.random.Generator) -> Prop:
    w, length, t = rng.uniform(0.066, 0.078), rng.uniform(0.138, 0.165), rng.uniform(0.0075, 0.0095)
    r = 0.48 * t
    body = RoundedBox("phone_case", half=(w / 2 - r, length / 2 - r, t / 2 - r), radius=r,
                      n_flat=8, n_round=5)

    def screen(mesh: trimesh.Trimesh, mat: np.ndarray) -> np.ndarray:
        c = mesh.triangles_center
        n = mesh.face_normals
        on = (n[:, 2] > 0.999) & (np.abs(c[:, 0]) < w / 2 - r) & (np.abs(c[:, 1]) < length / 2 - r)
        out = mat.copy()
        out[on] = 1
        return out

    return _assemble("phone", "phone", [body],
                     ("prismatic_4_finger", "prismatic_3_finger", "prismatic_2_finger", "parallel_extension",
                      "tip_pinch"),
                     rng, {"width": w, "length": length, "thickness": t}, screen, ("screen",))


def _mug(rng: np.random.Generator) -> Prop:
    R, H = rng.uniform(0.036, 0.045), rng.uniform(0.085, 0.105)
    wall, bottom = rng.uniform(0.0035, 0.005), 0.007
    prof = np.array([[0, -H / 2], [R, -H / 2], [R, H / 2], [R - wall, H / 2], [R - wall, -H / 2 + bottom],
                     [0, -H / 2 + bottom]])
    body = Revolved("ceramic", profile=prof, sections=56)
    # D-shaped handle in the x-z plane: a straight vertical bar (the part a hand hooks) joined to
    # the wall by two horizontal arms, all round tubes (capsules) of radius `tube`; the arms'
    # inner ends are buried in the wall. The loop's inner opening is `gap` wide and `inner` tall,
    # room for the index and middle fingers (the ring finger hooks under the lower arm).
    tube = rng.uniform(0.0035, 0.0042)
    gap = rng.uniform(0.034, 0.039)
    inner = min(rng.uniform(0.04, 0.046), H - 2 * tube - 0.016)
    xb = R + gap + tube
    zc = inner / 2 + tube
    eps = 1e-5
    bar = RoundedBox("ceramic", _T((xb, 0.0, 0.0)), half=(eps, eps, zc), radius=tube, n_flat=8, n_round=5)
    x0 = R - wall / 2
    arms = [RoundedBox("ceramic", _T(((x0 + xb) / 2, 0.0, z)), half=((xb - x0) / 2, eps, eps), radius=tube,
                       n_flat=6, n_round=5) for z in (-zc, zc)]
    return _assemble("mug", "container", [body, bar, *arms],
                     ("large_diameter", "sphere_4_finger", "prismatic_2_finger", "fixed_hook"),
                     rng, {"radius": R, "height": H, "wall": wall, "handle_gap": gap,
                           "handle_height": inner, "handle_tube": tube}, handle=1)


def _bottle(rng: np.random.Generator) -> Prop:
    R, H = rng.uniform(0.03, 0.038), rng.uniform(0.18, 0.24)
    rn, neck = rng.uniform(0.011, 0.014), rng.uniform(0.02, 0.03)
    shoulder = rng.uniform(0.035, 0.05)
    z0, z_sh = -H / 2, H / 2 - neck - shoulder
    sh = np.linspace(0, 1, 8)[1:-1]
    shoulder_pts = np.stack([rn + (R - rn) * np.cos(sh * np.pi / 2) ** 1.0,
                             z_sh + shoulder * np.sin(sh * np.pi / 2)], 1)
    prof = np.concatenate([[[0, z0], [R - 0.004, z0]], arc_profile(0.004, z0 + 0.004, -np.pi / 2, 0, 5)
                           + [R - 0.004, 0], [[R, z_sh]], shoulder_pts,
                           [[rn, z_sh + shoulder], [rn, H / 2 - 0.012], [0, H / 2 - 0.012]]])
    prof = prof[np.r_[True, np.any(np.diff(prof, axis=0) != 0, axis=1)]]
    body = Revolved("clear_plastic", profile=prof, sections=48)
    cap_r = rn + 0.0015
    cap = Revolved("plastic", _T((0, 0, H / 2 - 0.014)),
                   profile=np.array([[0, 0], [cap_r, 0], [cap_r, 0.016], [0, 0.016]]), sections=32)
    return _assemble("bottle", "container", [body, cap],
                     ("large_diameter", "precision_disk"),
                     rng, {"radius": R, "height": H, "neck_radius": rn})


def _cup(rng: np.random.Generator) -> Prop:
    rb, rt, H = rng.uniform(0.024, 0.03), rng.uniform(0.035, 0.042), rng.uniform(0.085, 0.115)
    wall = 0.0025
    prof = np.array([[0, -H / 2], [rb, -H / 2], [rt, H / 2], [rt - wall, H / 2],
                     [rb - wall, -H / 2 + wall], [0, -H / 2 + wall]])
    body = Revolved("paper", profile=prof, sections=56)
    return _assemble("cup", "container", [body],
                     ("large_diameter", "medium_wrap", "precision_disk", "precision_sphere",
                      "sphere_4_finger", "power_disk"),
                     rng, {"bottom_radius": rb, "top_radius": rt, "height": H})


def _pen(rng: np.random.Generator) -> Prop:
    r, L = rng.uniform(0.0045, 0.006), rng.uniform(0.13, 0.15)
    cone = rng.uniform(0.015, 0.022)
    body = Revolved("glossy_plastic", profile=np.array(
        [[0, -L / 2], [r * 0.8, -L / 2], [r, -L / 2 + 0.002], [r, L / 2 - cone], [0, L / 2 - cone]]),
        sections=32)
    tip = Revolved("metal", profile=np.array(
        [[0, L / 2 - cone - 0.001], [r * 0.95, L / 2 - cone - 0.001], [0.0007, L / 2], [0, L / 2]]),
        sections=32)
    return _assemble("pen", "writing", [body, tip],
                     ("writing_tripod", "tripod", "tip_pinch", "palmar_pinch", "lateral_tripod",
                      "inferior_pincer", "prismatic_2_finger"),
                     rng, {"radius": r, "length": L})


def _pencil(rng: np.random.Generator) -> Prop:
    r, L = rng.uniform(0.0036, 0.0042), rng.uniform(0.12, 0.19)
    cone = rng.uniform(0.016, 0.02)
    body = Revolved("wood", profile=np.array(
        [[0, -L / 2], [r, -L / 2], [r, L / 2 - cone], [0, L / 2 - cone]]), sections=6)
    tip = Revolved("graphite", profile=np.array(
        [[0, L / 2 - cone - 0.0005], [r * 0.85, L / 2 - cone - 0.0005], [0.0005, L / 2], [0, L / 2]]),
        sections=24)
    return _assemble("pencil", "writing", [body, tip],
                     ("writing_tripod", "tripod", "tip_pinch", "palmar_pinch", "lateral_tripod",
                      "inferior_pincer", "prismatic_2_finger"),
                     rng, {"radius": r, "length": L})


def _ball(rng: np.random.Generator) -> Prop:
    r = rng.uniform(0.027, 0.037)  # tennis ball 3.3 cm, baseball 3.7 cm
    body = Sphere("rubber", radius=r)
    return _assemble("ball", "ball", [body],
                     ("precision_sphere", "sphere_4_finger", "sphere_3_finger", "tripod", "quadpod"),
                     rng, {"radius": r})


def _card(rng: np.random.Generator) -> Prop:
    w, h, t = 0.0856 * rng.uniform(0.98, 1.02), 0.054 * rng.uniform(0.98, 1.02), 0.00076
    r = t / 2 - 1e-5
    body = RoundedBox("card", half=(w / 2 - r, h / 2 - r, 1e-5), radius=r, n_flat=8, n_round=3)
    return _assemble("card", "card", [body],
                     ("lateral", "palmar_pinch", "tip_pinch", "prismatic_2_finger"),
                     rng, {"width": w, "height": h, "thickness": t})


def _key(rng: np.random.Generator) -> Prop:
    L, bw, t = rng.uniform(0.032, 0.042), rng.uniform(0.007, 0.009), rng.uniform(0.0018, 0.0024)
    hr = rng.uniform(0.011, 0.014)
    r = t / 2 - 1e-5
    blade = RoundedBox("brass", _T((0, L / 2, 0)), half=(bw / 2 - r, L / 2, 1e-5), radius=r,
                       n_flat=5, n_round=3)
    head = Revolved("brass", _T((0, -hr * 0.8, 0)), profile=np.array(
        [[0, -t / 2 - 0.0003], [hr, -t / 2 - 0.0003], [hr, t / 2 + 0.0003], [0, t / 2 + 0.0003]]),
        sections=40)
    return _assemble("key", "key", [blade, head],
                     ("lateral", "tip_pinch", "palmar_pinch"),
                     rng, {"blade_length": L, "head_radius": hr, "thickness": t})


def _mouse(rng: np.random.Generator) -> Prop:
    rx, ry, rz = rng.uniform(0.029, 0.034), rng.uniform(0.054, 0.062), rng.uniform(0.018, 0.022)
    shell = Ellipsoid("glossy_plastic", radii=(rx, ry, rz), subdivisions=4)
    return _assemble("mouse", "electronics", [shell],
                     ("precision_sphere", "power_sphere", "sphere_4_finger", "palmar", "tripod"),
                     rng, {"width": 2 * rx, "length": 2 * ry, "height": 2 * rz})


def _remote(rng: np.random.Generator) -> Prop:
    w, length, t = rng.uniform(0.042, 0.05), rng.uniform(0.16, 0.21), rng.uniform(0.018, 0.025)
    r = rng.uniform(0.005, 0.008)
    body = RoundedBox("plastic", half=(w / 2 - r, length / 2 - r, t / 2 - r), radius=r, n_flat=6, n_round=5)
    return _assemble("remote", "electronics", [body],
                     ("prismatic_4_finger", "prismatic_3_finger", "prismatic_2_finger", "parallel_extension",
                      "extension_type"),
                     rng, {"width": w, "length": length, "thickness": t})


def _book(rng: np.random.Generator) -> Prop:
    w, h, t = rng.uniform(0.12, 0.16), rng.uniform(0.18, 0.23), rng.uniform(0.012, 0.035)
    r = 0.0015
    body = RoundedBox("book_cover", half=(w / 2 - r, h / 2 - r, t / 2 - r), radius=r, n_flat=8, n_round=2)

    def pages(mesh: trimesh.Trimesh, mat: np.ndarray) -> np.ndarray:
        c = mesh.triangles_center
        n = mesh.face_normals
        side = (np.abs(n[:, 2]) < 0.5) & (np.abs(c[:, 2]) < t / 2 - r) & ~(n[:, 0] < -0.5)
        out = mat.copy()
        out[side] = 1
        return out

    return _assemble("book", "book", [body],
                     ("prismatic_4_finger", "palmar"),
                     rng, {"width": w, "height": h, "thickness": t}, pages, ("pages",))


def _handle(rng: np.random.Generator, y0: float) -> tuple[RoundedBox, float]:
    L, w, t = rng.uniform(0.09, 0.11), rng.uniform(0.011, 0.014), rng.uniform(0.0035, 0.005)
    r = t / 2 - 1e-4
    return RoundedBox("metal", _T((0, y0 - L / 2, 0)), half=(w / 2 - r, L / 2 - r, 1e-4), radius=r,
                      n_flat=6, n_round=3), L


_CUTLERY_GRASPS = ("writing_tripod", "tripod", "lateral_tripod", "prismatic_2_finger", "tip_pinch",
                   "palmar_pinch", "lateral")


def _knife(rng: np.random.Generator) -> Prop:
    handle, L = _handle(rng, 0.0)
    bl, bw, bt = rng.uniform(0.09, 0.11), rng.uniform(0.016, 0.022), 0.0012
    blade = RoundedBox("metal", _T((0, bl / 2, 0)), half=(bw / 2 - bt / 2, bl / 2, 1e-4),
                       radius=bt / 2, n_flat=6, n_round=3)
    return _assemble("knife", "utensil", [handle, blade], _CUTLERY_GRASPS, rng,
                     {"handle_length": L, "blade_length": bl, "blade_width": bw})


def _fork(rng: np.random.Generator) -> Prop:
    handle, L = _handle(rng, 0.0)
    hw, hl, t = rng.uniform(0.02, 0.025), rng.uniform(0.02, 0.025), 0.0016
    head = RoundedBox("metal", _T((0, hl / 2, 0)), half=(hw / 2 - t / 2, hl / 2, 1e-4), radius=t / 2,
                      n_flat=5, n_round=3)
    tl = rng.uniform(0.028, 0.035)
    prims: list[Primitive] = [handle, head]
    tw = 0.0022
    for k in range(4):
        x = (k - 1.5) * (hw - tw - t) / 3
        prims.append(RoundedBox("metal", _T((x, hl + tl / 2 - 0.002, 0)),
                                half=(max(tw / 2 - t / 2, 1e-4), tl / 2, 1e-4), radius=t / 2,
                                n_flat=3, n_round=3))
    return _assemble("fork", "utensil", prims, _CUTLERY_GRASPS, rng,
                     {"handle_length": L, "head_width": hw, "tine_length": tl})


def _spoon(rng: np.random.Generator) -> Prop:
    handle, L = _handle(rng, 0.0)
    bw, bl, bd = rng.uniform(0.018, 0.022), rng.uniform(0.025, 0.032), rng.uniform(0.004, 0.006)
    bowl = Ellipsoid("metal", _T((0, bl * 0.9, 0)), radii=(bw, bl, bd), subdivisions=4)
    return _assemble("spoon", "utensil", [handle, bowl], _CUTLERY_GRASPS, rng,
                     {"handle_length": L, "bowl_width": 2 * bw, "bowl_length": 2 * bl})


def _toothbrush(rng: np.random.Generator) -> Prop:
    L, w, t = rng.uniform(0.15, 0.17), rng.uniform(0.011, 0.013), rng.uniform(0.007, 0.009)
    r = t / 2 - 5e-4
    handle = RoundedBox("glossy_plastic", half=(w / 2 - r, L / 2 - r, t / 2 - r), radius=r,
                        n_flat=8, n_round=4)
    bl, bh = rng.uniform(0.022, 0.026), rng.uniform(0.009, 0.011)
    bristles = RoundedBox("bristles", _T((0, L / 2 - bl / 2 - 0.004, t / 2 + bh / 2 - 0.002)),
                          half=(w / 2 - 0.0015, bl / 2 - 0.001, bh / 2 - 0.001), radius=0.001,
                          n_flat=4, n_round=2)
    return _assemble("toothbrush", "hygiene", [handle, bristles],
                     ("writing_tripod", "lateral_tripod", "prismatic_2_finger", "palmar_pinch",
                      "adduction_grip", "tripod"),
                     rng, {"length": L, "width": w, "thickness": t})


#: Prop name -> generator ``rng -> Prop``.
PROPS: dict[str, Callable[[np.random.Generator], Prop]] = {
    "phone": _phone,
    "mug": _mug,
    "bottle": _bottle,
    "cup": _cup,
    "pen": _pen,
    "pencil": _pencil,
    "ball": _ball,
    "card": _card,
    "key": _key,
    "mouse": _mouse,
    "remote": _remote,
    "book": _book,
    "knife": _knife,
    "fork": _fork,
    "spoon": _spoon,
    "toothbrush": _toothbrush,
}
PROP_NAMES: tuple[str, ...] = tuple(PROPS)


def make_prop(name: str, rng: np.random.Generator) -> Prop:
    """Draw one instance of prop ``name`` (sizes and materials from ``rng``)."""
    if name not in PROPS:
        raise ValueError(f"unknown prop {name!r}; expected one of {', '.join(PROP_NAMES)}")
    return PROPS[name](rng)


_AFFORD_CACHE: dict[str, tuple[str, ...]] = {}


def affordances(name: str) -> tuple[str, ...]:
    """The Feix grasps prop ``name`` affords (they do not depend on the drawn instance)."""
    if name not in PROPS:
        raise ValueError(f"unknown prop {name!r}; expected one of {', '.join(PROP_NAMES)}")
    if name not in _AFFORD_CACHE:
        _AFFORD_CACHE[name] = PROPS[name](np.random.default_rng(0)).affords
    return _AFFORD_CACHE[name]


def props_affording(grasp: str) -> tuple[str, ...]:
    """Names of the props that afford ``grasp``."""
    return tuple(n for n in PROP_NAMES if grasp in affordances(n))
