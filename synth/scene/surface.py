"""Table / ground surfaces under the hand (pure numpy).

A sample whose lighting drew ``background.table`` (probability ``lighting.table_prob``) gets a
horizontal slab (world +Z is up) under everything it renders -- the hand, its forearm, a held
object and worn accessories:

* **resting** (probability ``lighting.table_rest_prob``): the slab's top touches the lowest
  point of that geometry (an elbow, the side of a hand, the bottom of a held mug), less
  :data:`CONTACT_CLEARANCE_M`, so nothing penetrates it;
* **above**: the top is 1-30 cm below the lowest point.

The top is always below the camera (by :data:`CAMERA_CLEARANCE_M`; otherwise the sample keeps no
table), so the slab can never hide any part of the hand: a segment between a point above a plane
and a camera above it stays above the plane. The slab is a rotated box (0.7-1.2 m by 1.2-2.4 m, 3
cm thick) placed so the geometry's footprint lies inside it, with a wood, laminate, stone or
tablecloth material. It becomes one more :class:`synth.scene.spec.PropSpec` (category
``surface``, the part id after the held objects and accessories), so the depth, part, normal
passes and ``mesh/ID.npz`` include it like any object.

Random draws come from the sample's own stream ``surface`` (:mod:`synth.rng`), always the same
number of them, so the rest of the sample does not depend on whether it has a table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.scene.spec import PropMaterial, PropSpec

#: The top lies this far below the lowest point of a resting hand (metres): no penetration.
CONTACT_CLEARANCE_M = 2e-4
#: Hand vertices within this distance of the top are the resting contacts (metres).
CONTACT_TOLERANCE_M = 2e-3
#: The camera stays at least this far above the top (metres).
CAMERA_CLEARANCE_M = 0.05
#: Slab thickness (metres).
THICKNESS_M = 0.03
#: Smallest margin between the geometry's footprint and the slab's edge (metres).
EDGE_MARGIN_M = 0.08

SURFACE_KINDS = ("wood", "laminate", "stone", "cloth")
_KIND_WEIGHTS = np.array([0.4, 0.25, 0.2, 0.15])

#: Linear-RGB wood tones (light grain colour, dark grain colour).
_WOODS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "oak": ((0.52, 0.33, 0.16), (0.33, 0.19, 0.08)),
    "pine": ((0.65, 0.45, 0.22), (0.45, 0.27, 0.10)),
    "walnut": ((0.20, 0.10, 0.05), (0.09, 0.045, 0.02)),
    "cherry": ((0.40, 0.16, 0.07), (0.24, 0.08, 0.03)),
    "ash": ((0.66, 0.55, 0.40), (0.48, 0.38, 0.25)),
}
_STONES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "white marble": ((0.80, 0.80, 0.78), (0.45, 0.45, 0.47)),
    "grey granite": ((0.30, 0.30, 0.30), (0.10, 0.10, 0.11)),
    "beige stone": ((0.55, 0.45, 0.33), (0.38, 0.30, 0.21)),
    "black granite": ((0.035, 0.035, 0.04), (0.12, 0.12, 0.13)),
}
_PLAIN: dict[str, tuple[float, float, float]] = {
    "white": (0.80, 0.80, 0.78), "light grey": (0.45, 0.46, 0.47), "black": (0.025, 0.025, 0.03),
    "red": (0.50, 0.05, 0.04), "blue": (0.06, 0.15, 0.45), "green": (0.10, 0.30, 0.09),
    "yellow": (0.75, 0.55, 0.08), "beige": (0.62, 0.50, 0.35),
}  # fmt: skip


@dataclass(frozen=True)
class Surface:
    """A sampled table slab (world frame, metres).

    Attributes:
        kind: ``wood``, ``laminate``, ``stone`` or ``cloth``.
        finish: colour / species word (``oak``, ``white marble``, ``blue``...).
        top_z: world height of the top.
        gap_m: height of the lowest rendered point above the top.
        resting: whether the hand (or the held object) touches the top.
        size_m: ``(length, width)`` of the top.
        yaw_deg: rotation of the slab's long axis about world +Z.
        centre: ``(x, y)`` centre of the top.
        color_a, color_b: linear-RGB pattern colours (equal for a plain colour).
        roughness: specular roughness.
        pattern: ``wave`` (wood grain), ``noise`` (stone, cloth) or ``""``.
        pattern_scale: pattern frequency (per metre).
    """

    kind: str
    finish: str
    top_z: float
    gap_m: float
    resting: bool
    size_m: tuple[float, float]
    yaw_deg: float
    centre: tuple[float, float]
    color_a: tuple[float, float, float]
    color_b: tuple[float, float, float]
    roughness: float
    pattern: str
    pattern_scale: float

    @property
    def noun(self) -> str:
        return {"wood": f"{'an' if self.finish[0] in 'aeiou' else 'a'} {self.finish} table",
                "laminate": f"a {self.finish} table", "stone": f"a {self.finish} countertop",
                "cloth": f"a table with a {self.finish} tablecloth"}[self.kind]

    def attributes(self) -> dict[str, object]:
        return {"kind": self.kind, "finish": self.finish, "top_z_m": round(self.top_z, 5),
                "gap_m": round(self.gap_m, 5), "resting": self.resting,
                "size_m": [round(x, 4) for x in self.size_m], "yaw_deg": round(self.yaw_deg, 3)}


def _jitter(u3: np.ndarray, c: tuple[float, float, float], amount: float) -> tuple[float, float, float]:
    return tuple(float(x) for x in np.clip(np.asarray(c) * (1.0 + amount * (2.0 * u3 - 1.0)), 0.0, 1.0))


def sample_surface(rng: np.random.Generator, points: np.ndarray, camera_position: np.ndarray,
                   rest_prob: float = 0.6) -> Surface | None:
    """Draw a table under ``points`` (``(N, 3)`` world-frame vertices of everything rendered).

    Returns None when the camera is not at least :data:`CAMERA_CLEARANCE_M` above the top (the
    draws are consumed either way).
    """
    u = rng.random(8)
    gap_above = 0.01 + 0.29 * u[1]
    kind = SURFACE_KINDS[int(np.searchsorted(np.cumsum(_KIND_WEIGHTS), u[2] * _KIND_WEIGHTS.sum(), side="right"))]
    woods, stones, plains = list(_WOODS), list(_STONES), list(_PLAIN)
    pick = rng.integers(0, 1 << 30, size=3)
    size = (1.2 + 1.2 * u[3], 0.7 + 0.5 * u[4])
    yaw = 360.0 * u[5]
    scale = 10.0 + 20.0 * u[6]  # wood grain: band period 0.63 / scale m (2-6 cm), finer lines from detail
    jit = rng.random(3)
    ja, jb = rng.random(3), rng.random(3)
    resting = bool(u[0] < rest_prob)
    gap = 0.0 if resting else gap_above
    P = np.asarray(points, dtype=np.float64)
    top = float(P[:, 2].min()) - gap - CONTACT_CLEARANCE_M
    if float(camera_position[2]) < top + CAMERA_CLEARANCE_M:
        return None
    if kind == "wood":
        finish = woods[pick[0] % len(woods)]
        a, b = _WOODS[finish]
        a, b = _jitter(ja, a, 0.12), _jitter(jb, b, 0.12)
        rough, pattern = 0.35 + 0.35 * jit[0], "wave"
    elif kind == "stone":
        finish = stones[pick[1] % len(stones)]
        a, b = _STONES[finish]
        rough, pattern, scale = 0.15 + 0.3 * jit[0], "noise", 3.0 + 6.0 * jit[1]
    else:
        finish = plains[pick[2] % len(plains)]
        a = b = _jitter(ja, _PLAIN[finish], 0.1)
        if kind == "cloth":
            b = tuple(float(x) * 0.8 for x in a)
            rough, pattern, scale = 0.85 + 0.1 * jit[0], "noise", 60.0 + 60.0 * jit[1]
        else:
            rough, pattern = 0.2 + 0.4 * jit[0], ""
    # Place the top so the footprint of the points (in the slab's frame) keeps a margin to its edges.
    c, s = np.cos(np.radians(yaw)), np.sin(np.radians(yaw))
    R2 = np.array([[c, s], [-s, c]])  # world xy -> slab xy
    q = P[:, :2] @ R2.T
    lo, hi = q.min(axis=0), q.max(axis=0)
    half = np.array(size) / 2.0 - EDGE_MARGIN_M
    c_lo, c_hi = hi - half, lo + half
    centre_s = np.where(c_lo <= c_hi, c_lo + (c_hi - c_lo) * jit[2], (lo + hi) / 2.0)
    centre = centre_s @ R2  # slab xy -> world xy
    return Surface(kind=kind, finish=finish, top_z=top, gap_m=float(P[:, 2].min()) - top, resting=resting,
                   size_m=(float(size[0]), float(size[1])), yaw_deg=float(yaw), centre=(float(centre[0]), float(centre[1])),
                   color_a=a, color_b=b, roughness=float(rough), pattern=pattern, pattern_scale=float(scale))


def slab_mesh(s: Surface) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(vertices (8, 3) world, faces (12, 3) outward counter-clockwise, object_to_world (4, 4))``
    of the slab: a box ``size_m`` by :data:`THICKNESS_M` whose top is at ``top_z``."""
    L, Wd = s.size_m
    x, y = L / 2.0, Wd / 2.0
    box = np.array([[-x, -y, -THICKNESS_M], [x, -y, -THICKNESS_M], [x, y, -THICKNESS_M], [-x, y, -THICKNESS_M],
                    [-x, -y, 0.0], [x, -y, 0.0], [x, y, 0.0], [-x, y, 0.0]])
    faces = np.array([[4, 5, 6], [4, 6, 7], [0, 2, 1], [0, 3, 2], [0, 1, 5], [0, 5, 4],
                      [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7]], dtype=np.int64)
    c, sn = np.cos(np.radians(s.yaw_deg)), np.sin(np.radians(s.yaw_deg))
    T = np.eye(4)
    T[:3, :3] = [[c, -sn, 0.0], [sn, c, 0.0], [0.0, 0.0, 1.0]]
    T[:3, 3] = (s.centre[0], s.centre[1], s.top_z)
    return box @ T[:3, :3].T + T[:3, 3], faces, T


def surface_spec(s: Surface, part_id: int, hand_vertices: np.ndarray, hand_parts: np.ndarray) -> PropSpec:
    """The slab as a :class:`PropSpec` (category ``surface``); the contacts are the hand vertices
    within :data:`CONTACT_TOLERANCE_M` of the top (none when only a held object touches it)."""
    from synth.hand.rig import PART_NAMES

    V, F, T = slab_mesh(s)
    h = np.asarray(hand_vertices)[:, 2] - s.top_z
    near = np.flatnonzero(h <= CONTACT_TOLERANCE_M)
    contacts: tuple[dict[str, object], ...] = ()
    if s.resting and len(near):
        low = int(near[np.argmin(h[near])])
        region = PART_NAMES.get(int(hand_parts[low]), "hand")
        finger = region if region in ("thumb", "index", "middle", "ring", "pinky") else None
        contacts = ({"region": region, "finger": finger, "vertex_id": low, "vertex_ids": [int(v) for v in near],
                     "distance_m": float(h[low])},)
    mat = PropMaterial(name="top", base_color=s.color_a, roughness=s.roughness, color_name=s.finish,
                       pattern=s.pattern, pattern_color=s.color_b, pattern_scale=s.pattern_scale,
                       pattern_yaw_deg=s.yaw_deg)
    return PropSpec(name="table", category="surface", part_id=int(part_id), object_to_world=T, vertices=V, faces=F,
                    face_material=np.zeros(len(F), dtype=np.int64), materials=(mat,), contacts=contacts,
                    description={"params": s.attributes(), "words": s.noun})


def surface_words(s: Surface, hand_touches: bool) -> str:
    """Caption words: ``resting on an oak table`` / ``at a white table`` / ``above a stone countertop``."""
    if s.resting and hand_touches:
        return f"resting on {s.noun}"
    if s.resting:
        return f"at {s.noun}"
    return f"above {s.noun}"
