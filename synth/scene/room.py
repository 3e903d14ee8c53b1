"""Procedural indoor room behind the hand (pure numpy): background kind ``room``.

A room corner seen past the hand: a back wall and floor (open above), sometimes a side wall, and
furniture-like boxes along the back wall -- desks (top, legs, a monitor or a stack of boxes),
bookshelves (sides, boards, rows of books), cabinets, wardrobes -- picture frames and a window
(an emissive pane in a frame) whose glow lights the room. World +Z is up; the back wall faces the
camera's horizontal viewing direction, 0.9-3.2 m beyond the hand.

Everything is a box from fixed pools (:data:`SLOTS`: a material per slot), so the renderer
builds one mesh of fixed topology once and only moves its vertices, changes material values and
hides it per sample (no per-sample scene rebuild). Unused slots collapse to a point (zero-area
triangles).

**Labels.** The room is *background*: it is not in the depth, parts or normals passes nor in
``mesh/ID.npz`` (the renderer gives it part id 0, so those pixels read as background, like the
world), and every room vertex is at least :data:`CLEARANCE_M` farther from the camera (planar
depth) than every point of the hand, held object, accessories and table, so it can never hide
anything that is labelled: along a camera ray depth grows monotonically, so a surface whose
vertices all lie beyond a depth plane lies beyond it everywhere (boxes are convex). Boxes that
would come nearer are pushed back or trimmed (:func:`sample_room`).

Random draws come from the sample's own stream ``room`` (:mod:`synth.rng`), so the rest of the
sample does not depend on the room.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Room vertices lie at least this much deeper (planar camera depth, metres) than the hand.
CLEARANCE_M = 0.15

#: Material slots of the room's materials (the renderer builds one material each).
MATERIALS: tuple[str, ...] = ("wall", "floor", "ceiling", "wood", "paint", "book_a", "book_b", "book_c",
                              "frame", "art", "window", "metal")
#: Box pool: material -> number of boxes.
POOL: dict[str, int] = {"wall": 2, "floor": 1, "ceiling": 1, "wood": 30, "paint": 8, "book_a": 18, "book_b": 18,
                        "book_c": 18, "frame": 12, "art": 3, "window": 1, "metal": 4}
#: Material index of every box slot, ``(N_BOXES,)`` (the pools one after another).
SLOTS: np.ndarray = np.concatenate([np.full(n, MATERIALS.index(m)) for m, n in POOL.items()])
N_BOXES = int(SLOTS.size)
#: Triangles of one box over its 8 corners (corner k has bits x = k & 1, y = k >> 1 & 1, z = k >> 2).
BOX_FACES = np.array([[0, 2, 1], [1, 2, 3], [4, 5, 6], [5, 7, 6], [0, 1, 4], [1, 5, 4],
                      [2, 6, 3], [3, 6, 7], [0, 4, 2], [2, 4, 6], [1, 3, 5], [3, 7, 5]], dtype=np.int64)

_WALLS = ((0.80, 0.78, 0.74), (0.70, 0.72, 0.74), (0.78, 0.70, 0.60), (0.55, 0.62, 0.58), (0.62, 0.56, 0.50),
          (0.35, 0.40, 0.48), (0.85, 0.84, 0.82))
_FLOORS = ((0.35, 0.22, 0.12), (0.52, 0.36, 0.20), (0.20, 0.13, 0.08), (0.45, 0.45, 0.44), (0.28, 0.26, 0.25),
           (0.60, 0.52, 0.42))
_WOODS = ((0.52, 0.33, 0.16), (0.65, 0.45, 0.22), (0.20, 0.10, 0.05), (0.40, 0.16, 0.07), (0.66, 0.55, 0.40),
          (0.85, 0.84, 0.80), (0.08, 0.08, 0.08))


@dataclass(frozen=True)
class Room:
    """A sampled room.

    Attributes:
        corners: ``(N_BOXES, 8, 3)`` world-frame box corners, metres (slot ``k`` has material
            ``MATERIALS[SLOTS[k]]``; unused slots are collapsed to one point).
        colors: material name -> linear RGB base colour.
        roughness: material name -> roughness.
        window_strength: emission strength of the window pane (0 when there is no window).
        window_color: linear RGB of the window's light.
        items: what stands in the room (``desk``, ``shelf``, ``cabinet``, ``wardrobe``,
            ``picture``, ``window``, ``side wall``), for captions and attributes.
        window_in_view: the window's centre projects inside the image.
    """

    corners: np.ndarray
    colors: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    roughness: dict[str, float] = field(default_factory=dict)
    window_strength: float = 0.0
    window_color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    items: tuple[str, ...] = ()
    window_in_view: bool = False

    @property
    def words(self) -> str:
        """Caption words: ``"an indoor room"``, ``"an indoor room with a bright window"``."""
        return "an indoor room with a bright window" if self.window_in_view else "an indoor room"

    def attributes(self) -> dict[str, object]:
        return {"items": list(self.items), "window_in_view": self.window_in_view,
                "window_strength": round(self.window_strength, 3),
                "colors": {k: [round(x, 4) for x in v] for k, v in self.colors.items()}}


class _Builder:
    """Boxes in the room frame (u lateral, v away from the hand along the view, w up)."""

    def __init__(self) -> None:
        self.boxes: dict[str, list[tuple[np.ndarray, np.ndarray, str]]] = {m: [] for m in MATERIALS}

    def add(self, mat: str, lo: tuple[float, float, float], hi: tuple[float, float, float], group: str) -> bool:
        if len(self.boxes[mat]) >= POOL[mat]:
            return False
        self.boxes[mat].append((np.array(lo, dtype=np.float64), np.array(hi, dtype=np.float64), group))
        return True

    def free(self, mat: str) -> int:
        return POOL[mat] - len(self.boxes[mat])


def _jit(rng: np.random.Generator, c: tuple[float, float, float], amount: float = 0.08) -> tuple[float, float, float]:
    return tuple(float(x) for x in np.clip(np.asarray(c) * (1.0 + amount * (2.0 * rng.random(3) - 1.0)), 0.0, 1.0))


def _desk(b: _Builder, rng: np.random.Generator, u0: float, width: float, D: float, wf: float) -> None:
    d, h, t = rng.uniform(0.55, 0.8), rng.uniform(0.71, 0.77), 0.03
    b.add("wood", (u0, D - d, wf + h - t), (u0 + width, D, wf + h), "desk")
    leg = 0.05
    for uu in (u0 + 0.03, u0 + width - 0.03 - leg):
        for vv in (D - d + 0.03, D - 0.03 - leg):
            b.add("metal" if b.free("metal") else "wood", (uu, vv, wf), (uu + leg, vv + leg, wf + h - t), "desk")
    top = wf + h
    if rng.random() < 0.6 and b.free("paint") >= 2:  # a monitor on a stand
        mw, mh = rng.uniform(0.45, 0.65), rng.uniform(0.28, 0.38)
        mc = u0 + rng.uniform(0.3, 0.7) * width
        b.add("paint", (mc - 0.04, D - 0.25, top), (mc + 0.04, D - 0.2, top + 0.12), "desk")
        b.add("paint", (mc - mw / 2, D - 0.24, top + 0.1), (mc + mw / 2, D - 0.21, top + 0.1 + mh), "desk")
    for _ in range(int(rng.integers(0, 4))):  # books / boxes lying on the desk
        mat = ("book_a", "book_b", "book_c")[int(rng.integers(3))]
        bw, bd, bh = rng.uniform(0.15, 0.3), rng.uniform(0.12, 0.25), rng.uniform(0.02, 0.08)
        uc = u0 + rng.uniform(0.1, 0.9) * width
        vc = D - rng.uniform(0.15, d - 0.15)
        b.add(mat, (uc - bw / 2, vc - bd / 2, top), (uc + bw / 2, vc + bd / 2, top + bh), "desk")


def _shelf(b: _Builder, rng: np.random.Generator, u0: float, width: float, D: float, wf: float) -> None:
    d, h, t = rng.uniform(0.28, 0.4), rng.uniform(1.2, 2.1), 0.02
    b.add("wood", (u0, D - d, wf), (u0 + t, D, wf + h), "shelf")
    b.add("wood", (u0 + width - t, D - d, wf), (u0 + width, D, wf + h), "shelf")
    n = int(h // 0.35)
    for k in range(n + 1):
        z = wf + 0.05 + k * (h - 0.07) / n
        b.add("wood", (u0 + t, D - d, z), (u0 + width - t, D, z + t), "shelf")
        if k == n:
            break
        u = u0 + t + rng.uniform(0.0, 0.1)
        while u < u0 + width - t - 0.05:  # a row of books, with gaps
            bw, bh = rng.uniform(0.02, 0.06), rng.uniform(0.17, 0.3)
            mat = ("book_a", "book_b", "book_c")[int(rng.integers(3))]
            if u + bw > u0 + width - t or not b.free(mat):
                break
            if rng.random() < 0.85:
                b.add(mat, (u, D - d + rng.uniform(0.02, 0.06), z + t), (u + bw, D - 0.01, z + t + bh), "shelf")
            u += bw + (0.0 if rng.random() < 0.8 else rng.uniform(0.05, 0.2))


def _cabinet(b: _Builder, rng: np.random.Generator, u0: float, width: float, D: float, wf: float,
             tall: bool) -> None:
    d = rng.uniform(0.4, 0.6)
    h = rng.uniform(1.7, 2.1) if tall else rng.uniform(0.5, 0.9)
    mat = "paint" if rng.random() < 0.6 else "wood"
    b.add(mat, (u0, D - d, wf + 0.06), (u0 + width, D, wf + h), "wardrobe" if tall else "cabinet")
    b.add("metal" if b.free("metal") else "wood", (u0 + 0.02, D - d + 0.02, wf), (u0 + width - 0.02, D - 0.02, wf + 0.06),
          "wardrobe" if tall else "cabinet")
    if not tall and b.free("wood") and rng.random() < 0.7:  # a darker top slab
        b.add("wood", (u0 - 0.01, D - d - 0.01, wf + h), (u0 + width + 0.01, D, wf + h + 0.025), "cabinet")


def _window(b: _Builder, rng: np.random.Generator, D: float, wf: float, uc: float) -> None:
    ww, wh = rng.uniform(0.8, 1.6), rng.uniform(1.0, 1.45)
    z0 = wf + rng.uniform(0.8, 1.1)
    b.add("window", (uc - ww / 2, D - 0.004, z0), (uc + ww / 2, D + 0.002, z0 + wh), "window")
    f, fd = 0.05, 0.07
    bars = [((uc - ww / 2 - f, z0 - f), (uc - ww / 2, z0 + wh + f)), ((uc + ww / 2, z0 - f), (uc + ww / 2 + f, z0 + wh + f)),
            ((uc - ww / 2, z0 - f), (uc + ww / 2, z0)), ((uc - ww / 2, z0 + wh), (uc + ww / 2, z0 + wh + f)),
            ((uc - 0.015, z0), (uc + 0.015, z0 + wh))]
    if rng.random() < 0.6:
        zm = z0 + wh * rng.uniform(0.55, 0.7)
        bars.append(((uc - ww / 2, zm - 0.015), (uc + ww / 2, zm + 0.015)))
    for (ua, za), (ub, zb) in bars:
        b.add("frame", (ua, D - fd, za), (ub, D, zb), "window")
    b.add("frame", (uc - ww / 2 - 0.08, D - 0.2, z0 - f - 0.03), (uc + ww / 2 + 0.08, D, z0 - f), "window")  # sill


def _corners(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    k = np.arange(8)
    bits = np.stack([k & 1, (k >> 1) & 1, (k >> 2) & 1], axis=1).astype(bool)
    return np.where(bits, hi, lo)


def sample_room(rng: np.random.Generator, world_to_cam: np.ndarray, K: np.ndarray, size: tuple[int, int],
                points: np.ndarray) -> Room:
    """Draw a room behind ``points`` (everything labelled: hand, objects, table; ``(N, 3)`` world,
    metres) for the camera ``world_to_cam`` ``(4, 4)`` / ``K`` ``(3, 3)`` of an image ``size``
    ``(W, H)``. Every room corner ends at least :data:`CLEARANCE_M` deeper than all ``points``."""
    R, t = world_to_cam[:3, :3], world_to_cam[:3, 3]
    axis = R[2]  # camera forward (planar depth = axis . p + t_z)
    depth_min = float((np.asarray(points) @ axis + t[2]).max()) + CLEARANCE_M
    fh = np.array([axis[0], axis[1], 0.0])
    if np.linalg.norm(fh) < 0.15:  # looking nearly straight down or up: any horizontal direction
        a = 2.0 * np.pi * rng.random()
        fh = np.array([np.cos(a), np.sin(a), 0.0])
    else:
        rng.random()
    f = fh / np.linalg.norm(fh)
    r = np.cross(f, np.array([0.0, 0.0, 1.0]))
    # the room frame's origin: below the hand's centre (world origin) on the floor
    low = float(np.asarray(points)[:, 2].min())
    wf = min(low - 0.05, -float(rng.uniform(0.75, 1.25)))
    H = float(rng.uniform(2.5, 3.0))
    D = float(rng.uniform(0.9, 3.2))
    b = _Builder()
    # furniture along the back wall, left to right
    u = -3.5 + float(rng.uniform(0.0, 0.8))
    items: list[str] = []
    kinds = ("desk", "shelf", "cabinet", "wardrobe", "gap")
    weights = np.array([0.27, 0.27, 0.2, 0.1, 0.16])
    while u < 3.5:
        kind = kinds[int(rng.choice(len(kinds), p=weights))]
        width = {"desk": rng.uniform(1.0, 1.6), "shelf": rng.uniform(0.6, 1.0), "cabinet": rng.uniform(0.6, 1.4),
                 "wardrobe": rng.uniform(0.8, 1.2), "gap": rng.uniform(0.3, 1.2)}[kind]
        if kind == "desk":
            _desk(b, rng, u, width, D, wf)
        elif kind == "shelf":
            _shelf(b, rng, u, width, D, wf)
        elif kind in ("cabinet", "wardrobe"):
            _cabinet(b, rng, u, width, D, wf, kind == "wardrobe")
        if kind != "gap":
            items.append(kind)
        u += width + float(rng.uniform(0.0, 0.4))
    has_window = rng.random() < 0.7
    wuc = float(rng.uniform(-1.5, 1.5))
    if has_window:
        _window(b, rng, D, wf, wuc)
        items.append("window")
    for _ in range(int(rng.integers(0, 3))):  # pictures on the wall, above the furniture
        pw, ph = rng.uniform(0.3, 0.8), rng.uniform(0.25, 0.6)
        pu, pz = rng.uniform(-3.0, 3.0), wf + rng.uniform(1.4, 1.9)
        if has_window and abs(pu - wuc) < 1.2:
            continue
        if b.free("frame") and b.free("art"):
            b.add("frame", (pu - pw / 2, D - 0.03, pz), (pu + pw / 2, D, pz + ph), "picture")
            b.add("art", (pu - pw / 2 + 0.03, D - 0.035, pz + 0.03), (pu + pw / 2 - 0.03, D - 0.03, pz + ph - 0.03),
                  "picture")
            items.append("picture")
    # shell: back wall, floor (reaching toward the camera), maybe a side wall
    near = -8.0
    b.add("wall", (-8.0, D, wf), (8.0, D + 0.1, wf + H), "wall")
    b.add("floor", (-8.0, near, wf - 0.05), (8.0, D + 0.1, wf), "floor")
    # no ceiling: the room is open above (a ceiling rarely shows, and it would shadow the room from
    # the sky / HDRI, the room's main light now that it has no interreflection)
    if rng.random() < 0.5:
        us = float(rng.choice([-1.0, 1.0]) * rng.uniform(1.8, 3.8))
        b.add("wall", (us, near, wf), (us + 0.1 * np.sign(us), D, wf + H), "side wall")
        items.append("side wall")

    # to world; push the furniture back if any of it is nearer than depth_min, then trim/drop
    fa = float(f @ axis)
    corners = np.full((N_BOXES, 8, 3), np.nan)
    start = {m: int(np.flatnonzero(SLOTS == MATERIALS.index(m))[0]) for m in MATERIALS}
    o = np.zeros(3)

    def world(lo: np.ndarray, hi: np.ndarray, shift: float) -> np.ndarray:
        c = _corners(lo, hi)
        return o + (c[:, 0:1] * r + (c[:, 1:2] + shift) * f + c[:, 2:3] * np.array([0.0, 0.0, 1.0]))

    shell = ("wall", "floor", "ceiling", "side wall")
    inner = [world(lo, hi, 0.0) for m in MATERIALS for lo, hi, g in b.boxes[m] if g not in shell]
    shift = 0.0
    if inner and fa > 0.05:
        dmin = float((np.concatenate(inner) @ axis + t[2]).min())
        shift = max(0.0, (depth_min - dmin) / fa)
    shift = min(shift, 6.0)
    used_items = set()
    for m in MATERIALS:
        for k, (lo, hi, g) in enumerate(b.boxes[m]):
            lo, hi = lo.copy(), hi.copy()
            lo[1] += shift
            hi[1] += shift
            c = world(lo, hi, 0.0)
            d = c @ axis + t[2]
            if d.min() < depth_min:  # trim the near face (v) until every corner is deep enough
                if fa <= 1e-6:
                    continue
                need = float(((depth_min - (d - (c - o) @ f * fa)) / fa).max())  # v with depth == depth_min
                if need >= hi[1] - 1e-3:
                    continue
                lo[1] = max(lo[1], need + 1e-4)
                c = world(lo, hi, 0.0)
                if (c @ axis + t[2]).min() < depth_min - 1e-9:
                    continue
            corners[start[m] + k] = c
            used_items.add(g)
    # collapse unused slots onto one far point on the view axis (zero-area triangles)
    cam = -R.T @ t
    corners[np.isnan(corners[:, 0, 0])] = cam + axis * 90.0
    window = corners[start["window"]]
    window_in_view = False
    if "window" in used_items and np.ptp(window, axis=0).max() > 0:
        pc = window.mean(axis=0) @ R.T + t
        uv = K @ pc
        W, Hh = size
        window_in_view = bool(pc[2] > 0 and 0 <= uv[0] / uv[2] < W and 0 <= uv[1] / uv[2] < Hh)
    wall = _WALLS[int(rng.integers(len(_WALLS)))]
    colors = {"wall": _jit(rng, wall), "floor": _jit(rng, _FLOORS[int(rng.integers(len(_FLOORS)))]),
              "ceiling": _jit(rng, (0.85, 0.85, 0.84), 0.03), "wood": _jit(rng, _WOODS[int(rng.integers(len(_WOODS)))]),
              "paint": _jit(rng, tuple(rng.uniform(0.05, 0.8) * np.ones(3) * (1 + 0.3 * (rng.random(3) - 0.5)))),
              "book_a": tuple(float(x) for x in rng.uniform(0.03, 0.7, 3)),
              "book_b": tuple(float(x) for x in rng.uniform(0.03, 0.7, 3)),
              "book_c": tuple(float(x) for x in rng.uniform(0.03, 0.7, 3)),
              "frame": _jit(rng, (0.8, 0.8, 0.78) if rng.random() < 0.6 else (0.1, 0.09, 0.08)),
              "art": tuple(float(x) for x in rng.uniform(0.05, 0.8, 3)),
              "window": (1.0, 1.0, 1.0), "metal": _jit(rng, (0.55, 0.55, 0.56))}
    rough = {m: float(rng.uniform(0.3, 0.9)) for m in MATERIALS}
    rough["metal"] = float(rng.uniform(0.2, 0.5))
    kelvin = float(rng.uniform(5000.0, 9000.0))
    from synth.scene.lighting import kelvin_to_rgb

    return Room(corners=corners, colors=colors, roughness=rough,
                window_strength=float(rng.uniform(3.0, 12.0)) if "window" in used_items else 0.0,
                window_color=kelvin_to_rgb(kelvin), items=tuple(g for g in dict.fromkeys(items) if g in used_items),
                window_in_view=window_in_view)


def room_depth_margin(room: Room, world_to_cam: np.ndarray, points: np.ndarray) -> float:
    """Smallest planar depth of the room's used corners minus the largest depth of ``points``
    (metres; >= :data:`CLEARANCE_M` by construction)."""
    axis, tz = world_to_cam[2, :3], world_to_cam[2, 3]
    c = room.corners.reshape(-1, 3)
    d = c @ axis + tz
    return float(d.min() - (np.asarray(points) @ axis + tz).max())
