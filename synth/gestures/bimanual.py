"""Two-hand gestures: both hands' poses, where the left hand sits in the right hand's frame, and
the contacts between them (``assets/gestures/two_hand/*.yaml``; pure numpy + trimesh).

A two-hand gesture has ``name``, ``category`` (``interacting``, ``sign``, ``fingerspelling``,
``manipulation``), ``description``, ``tags``, ``references`` (``[{name, url}]``: the public
dictionary entry or chart a sign is taken from; required for ``sign`` and ``fingerspelling``),
``right`` and ``left`` (each either ``{gesture: <one-hand library name>}`` or an inline pose in
the one-hand notation of :mod:`synth.gestures.library`), ``placement`` and ``contacts``.

``placement`` puts the left hand's model frame (:mod:`synth.hand.rig`: wrist origin, +y to the
fingers, palm toward -z) in the right hand's model frame: ``rotate: [[axis, degrees], ...]``
(successive rotations about the right hand's x/y/z axes) or the solved form ``rotvec_deg: [x,
y, z]`` (axis times angle), and ``translate_cm: [x, y, z]``. ``contacts`` is a list of
``[right_region, left_region]``: a region of :data:`synth.props.grasps.REGIONS` (finger pads,
``<finger>_side``, ``<finger>_mid``, ``palm``) or ``back`` (the back of the hand), ``wrist``
(the forearm's last 5 cm), ``edge`` (the little-finger edge of the palm and little finger) or
``knuckles`` (the back of the proximal and middle phalanges: the front of a fist) or
``<finger>_tip`` (the end of a fingertip, all around).
Authoring forms of ``placement`` (the solver writes the explicit one): ``{mirror: palm,
offset_cm: d}`` (the left hand is the right one's mirror image through a plane parallel to the
right palm), ``{mirror: {normal, point_cm}}`` (through any plane), optionally ``shift_cm``;
``{left_axes: {x: [..], y: [..]}, translate_cm: [..]}`` (where the left hand's x and y axes
point). Gestures with contacts are first slid together along the mirror normal (or the line
between the wrists) until the meshes touch.

Measured on the two posed meshes (:func:`measure`): each contact's signed surface distance
(negative: penetration), the inter-hand penetration depth (vertices of one hand inside the
other's closed surface, by winding number, and their depth), and the contact labels (vertices of
each hand within :data:`TOUCH_DIST` of the other, and the corners of the triangles the other
hand's touching vertices are nearest to). :func:`solve_placement` refines the
left hand's 6-DoF placement by least squares so that every contact is reached (|d| <= 2 mm) and
the hands do not interpenetrate by more than 2 mm; ``synth gestures solve-two-hand --write``
stores the solved placement in the YAML.
"""

from __future__ import annotations

import difflib
import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from synth.gestures.library import GestureError, GestureLibrary, expand_pose, load_library
from synth.hand import anatomy

logger = logging.getLogger(__name__)

#: Folder of the shipped two-hand gesture files.
ASSET_DIR = Path(__file__).resolve().parents[2] / "assets" / "gestures" / "two_hand"
CATEGORIES: tuple[str, ...] = ("interacting", "sign", "fingerspelling", "manipulation")
#: Vertices of one hand within this distance (metres) of the other are labelled as touching it.
TOUCH_DIST = 0.003
#: (max gap, max penetration) of a reached inter-hand contact and of the hands overall, metres.
CONTACT_TOL: tuple[float, float] = (0.002, 0.002)
_KEYS = {"name", "category", "description", "tags", "references", "right", "left", "placement", "contacts", "prop"}
_POSE_KEYS = {"gesture", "fingers", "spread", "wrist", "joints", "default"}
EXTRA_REGIONS = ("back", "wrist", "edge", "knuckles") + tuple(f"{f}_tip" for f in anatomy.FINGERS)


@dataclass(frozen=True)
class TwoHandGesture:
    """One two-hand gesture (angles in degrees, placement in metres).

    Attributes:
        name, category, description, tags: as for one-hand gestures.
        references: ``({name, url}, ...)`` sources of a sign.
        right_pose, left_pose: ``(16, 3)`` anatomical angles of each hand.
        right_gesture, left_gesture: the one-hand library gesture each hand uses (``""`` inline).
        left_in_right: ``(4, 4)`` rigid transform of the left hand's model frame into the right's.
        contacts: ``((right_region, left_region), ...)``.
        prop: optional prop description (manipulation), e.g. ``{name: box, size_cm: [30, 20, 10]}``.
        source: file name.
    """

    name: str
    category: str
    description: str
    tags: tuple[str, ...]
    references: tuple[dict[str, str], ...]
    right_pose: np.ndarray
    left_pose: np.ndarray
    right_gesture: str
    left_gesture: str
    left_in_right: np.ndarray
    contacts: tuple[tuple[str, str], ...]
    prop: dict[str, object] = field(default_factory=dict)
    source: str = ""

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready summary."""
        return {"name": self.name, "category": self.category, "description": self.description,
                "tags": list(self.tags), "references": [dict(r) for r in self.references],
                "right": self.right_gesture or "inline", "left": self.left_gesture or "inline",
                "contacts": [list(c) for c in self.contacts], **({"prop": self.prop} if self.prop else {})}


def _axis_rot(axis: str, deg: float) -> np.ndarray:
    k = "xyz".index(axis)
    v = np.zeros(3)
    v[k] = np.deg2rad(deg)
    return anatomy.axis_angle_to_matrix(v)


def mirror_matrix(normal: np.ndarray, point: np.ndarray) -> np.ndarray:
    """``(4, 4)`` placement of a left hand that is the mirror image of the right hand through the
    plane ``(x - point) . normal = 0`` (right model frame, metres): the reflection composed with
    the left rig's own mirror ``x -> -x``, a proper rigid transform."""
    n = np.asarray(normal, dtype=np.float64)
    n = n / np.linalg.norm(n)
    S = np.eye(4)
    S[:3, :3] = np.eye(3) - 2.0 * np.outer(n, n)
    S[:3, 3] = 2.0 * float(np.asarray(point, dtype=np.float64) @ n) * n
    return S @ np.diag([-1.0, 1.0, 1.0, 1.0])


def palm_mirror(right_pose: np.ndarray, offset: float, side: str = "right") -> np.ndarray:
    """Mirror placement through the plane parallel to the right palm (keypoint plane of the
    wrist and the four knuckles of the built-in hand), ``offset`` metres out of the palm."""
    from synth.gestures.sampler import default_skeleton_for
    from synth.labels.captions import hand_frame

    kp = default_skeleton_for(side).forward(right_pose)
    _, ax = hand_frame(kp, side)
    c = kp[[0, 5, 9, 13, 17]].mean(axis=0)
    return mirror_matrix(ax[2], c + offset * ax[2])


def placement_matrix(spec: object, where: str, right_pose: np.ndarray | None = None) -> np.ndarray:
    """``(4, 4)`` transform from a ``placement`` mapping (see the module docstring); the authoring
    form ``{mirror: palm, offset_cm: d}`` mirrors the left hand through the plane ``d`` cm out of
    the right palm, ``{mirror: {normal: [..], point_cm: [..]}}`` through any plane."""
    if not isinstance(spec, dict):
        raise GestureError(f"{where}: 'placement' must be a mapping with rotate/rotvec_deg and translate_cm")
    unknown = set(spec) - {"rotate", "rotvec_deg", "translate_cm", "mirror", "offset_cm", "left_axes", "shift_cm"}
    if unknown:
        raise GestureError(f"{where}: unknown placement keys {sorted(unknown)}")
    if "mirror" in spec:
        mir = spec["mirror"]
        if mir == "palm":
            if right_pose is None:
                raise GestureError(f"{where}: mirror: palm needs the right hand's pose")
            T = palm_mirror(right_pose, float(spec.get("offset_cm", 0.0)) / 100.0)
        elif isinstance(mir, dict) and {"normal", "point_cm"} <= set(mir):
            T = mirror_matrix(np.asarray(mir["normal"], float), np.asarray(mir["point_cm"], float) / 100.0)
        else:
            raise GestureError(f"{where}: placement.mirror must be 'palm' or {{normal, point_cm}}")
        T[:3, 3] += np.asarray(spec.get("shift_cm", [0, 0, 0]), dtype=np.float64) / 100.0
        return T
    R = np.eye(3)
    if "left_axes" in spec:  # where the left hand's x (little-finger side... of a left hand: thumb) and y point
        ax = spec["left_axes"]
        if not (isinstance(ax, dict) and {"x", "y"} <= set(ax)):
            raise GestureError(f"{where}: placement.left_axes needs x and y directions")
        x = np.asarray(ax["x"], dtype=np.float64)
        y = np.asarray(ax["y"], dtype=np.float64)
        x /= np.linalg.norm(x)
        y = y - (y @ x) * x
        y /= np.linalg.norm(y)
        R = np.stack([x, y, np.cross(x, y)], axis=1)
    if "rotvec_deg" in spec:
        rv = spec["rotvec_deg"]
        if not isinstance(rv, list) or len(rv) != 3:
            raise GestureError(f"{where}: placement.rotvec_deg must be 3 numbers")
        R = anatomy.axis_angle_to_matrix(np.deg2rad(np.asarray(rv, dtype=np.float64)))
    for item in spec.get("rotate", []) or []:
        if not (isinstance(item, list) and len(item) == 2 and item[0] in ("x", "y", "z")):
            raise GestureError(f"{where}: placement.rotate items are [axis, degrees] with axis x, y or z")
        R = _axis_rot(item[0], float(item[1])) @ R
    t = spec.get("translate_cm", [0, 0, 0])
    if not isinstance(t, list) or len(t) != 3:
        raise GestureError(f"{where}: placement.translate_cm must be 3 numbers")
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = np.asarray(t, dtype=np.float64) / 100.0
    return T


def _hand_pose(spec: object, lib: GestureLibrary, where: str) -> tuple[np.ndarray, str]:
    if not isinstance(spec, dict):
        raise GestureError(f"{where}: a hand must be a mapping ({{gesture: name}} or an inline pose)")
    unknown = set(spec) - _POSE_KEYS
    if unknown:
        raise GestureError(f"{where}: unknown keys {sorted(unknown)}")
    if "gesture" in spec:
        name = str(spec["gesture"])
        rest = {k: v for k, v in spec.items() if k != "gesture"}
        base = lib.get(name).pose.copy()
        if rest:  # inline overrides on top of the library pose (wrist, say)
            over = expand_pose({**rest, "default": rest.get("default", "relaxed")}, where)
            if "wrist" in rest:
                base[0] = over[0]
            if any(k in rest for k in ("fingers", "spread", "joints")):
                raise GestureError(f"{where}: a hand that names a gesture may override only its wrist")
        return base, name
    return expand_pose(spec, where), ""


def _regions_ok(region: object, where: str) -> str:
    from synth.props.grasps import REGIONS

    if region not in REGIONS and region not in EXTRA_REGIONS:
        close = difflib.get_close_matches(str(region), list(REGIONS) + list(EXTRA_REGIONS), n=3)
        raise GestureError(f"{where}: unknown region {region!r}" + (f"; did you mean {', '.join(close)}?" if close else ""))
    return str(region)


def parse_two_hand(entry: dict[str, object], lib: GestureLibrary, source: str = "") -> TwoHandGesture:
    """Validate one YAML entry (angles against the joint limits)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise GestureError(f"{source}: each two-hand gesture must be a mapping with a name")
    name = str(entry["name"])
    where = f"{source}:{name}"
    unknown = set(entry) - _KEYS
    if unknown:
        raise GestureError(f"{where}: unknown keys {sorted(unknown)}")
    cat = entry.get("category")
    if cat not in CATEGORIES:
        raise GestureError(f"{where}: category must be one of {', '.join(CATEGORIES)}, got {cat!r}")
    if not isinstance(entry.get("description"), str) or not entry["description"]:
        raise GestureError(f"{where}: missing 'description'")
    refs = entry.get("references") or []
    if not isinstance(refs, list) or not all(isinstance(r, dict) and r.get("name") and r.get("url") for r in refs):
        raise GestureError(f"{where}: 'references' must be a list of {{name, url}}")
    if cat in ("sign", "fingerspelling") and not refs:
        raise GestureError(f"{where}: a sign needs at least one reference (its dictionary entry or chart)")
    rp, rg = _hand_pose(entry.get("right"), lib, f"{where}.right")
    lp, lg = _hand_pose(entry.get("left"), lib, f"{where}.left")
    for side, p in (("right", rp), ("left", lp)):
        bad = anatomy.violations(p)
        if bad:
            raise GestureError(f"{where}.{side}: angles outside the joint limits: {'; '.join(bad)}")
    T = placement_matrix(entry.get("placement"), where, rp)
    contacts = []
    for c in entry.get("contacts") or []:
        if not isinstance(c, list) or len(c) != 2:
            raise GestureError(f"{where}: each contact is [right_region, left_region]")
        contacts.append((_regions_ok(c[0], where), _regions_ok(c[1], where)))
    prop = entry.get("prop") or {}
    if not isinstance(prop, dict):
        raise GestureError(f"{where}: 'prop' must be a mapping")
    return TwoHandGesture(name, str(cat), str(entry["description"]), tuple(str(t) for t in entry.get("tags") or []),
                          tuple({"name": str(r["name"]), "url": str(r["url"])} for r in refs), rp, lp, rg, lg, T,
                          tuple(contacts), dict(prop), source)


def load_two_hand(paths: Sequence[str | Path] | None = None, lib: GestureLibrary | None = None) -> list[TwoHandGesture]:
    """Load two-hand gesture files (default: every ``*.yaml`` in :data:`ASSET_DIR`)."""
    if paths is None and lib is None:
        return list(_default())
    lib = lib or load_library()
    files = sorted(ASSET_DIR.glob("*.yaml")) if paths is None else [Path(p) for p in paths]
    out: list[TwoHandGesture] = []
    seen: set[str] = set(lib.names)
    for f in files:
        try:
            data = yaml.safe_load(f.read_text())
        except yaml.YAMLError as exc:
            raise GestureError(f"{f}: invalid YAML: {exc}".splitlines()[0]) from exc
        if not isinstance(data, list):
            raise GestureError(f"{f}: expected a list of two-hand gestures")
        for e in data:
            g = parse_two_hand(e, lib, f.name)
            if g.name in seen:
                raise GestureError(f"{f.name}: duplicate gesture name {g.name!r}")
            seen.add(g.name)
            out.append(g)
    return out


@functools.lru_cache(maxsize=1)
def _default() -> tuple[TwoHandGesture, ...]:
    return tuple(load_two_hand(None, load_library()))


# --- geometry ------------------------------------------------------------------------------


_REG_CACHE: dict[int, tuple[object, dict[str, np.ndarray]]] = {}


def regions(rig: object) -> dict[str, np.ndarray]:
    """Region name -> vertex ids on ``rig``: the grasp regions plus :data:`EXTRA_REGIONS`."""
    hit = _REG_CACHE.get(id(rig))
    if hit is not None and hit[0] is rig:
        return hit[1]
    out = _regions(rig)
    _REG_CACHE[id(rig)] = (rig, out)
    return out


def _regions(rig: object) -> dict[str, np.ndarray]:
    from synth.hand import skinning
    from synth.hand.rig import PART_IDS
    from synth.props.grasps import contact_regions

    out = dict(contact_regions(rig))
    V = skinning.forward(rig).vertices
    parts = np.asarray(rig.parts)
    palm = np.nonzero(parts == PART_IDS["palm"])[0]
    z = V[palm, 2]
    out["back"] = palm[z >= z.max() - 0.25 * (z.max() - z.min())]
    fa = np.nonzero(parts == PART_IDS["forearm"])[0]
    out["wrist"] = fa[V[fa, 1] > -0.05]
    # the ulnar edge (little-finger side) of the palm and the little finger
    pp = np.nonzero(np.isin(parts, (PART_IDS["palm"], PART_IDS["pinky"])))[0]
    ux = V[pp, 0] if rig.side == "right" else -V[pp, 0]
    out["edge"] = pp[ux >= ux.max() - 0.006]
    # the back of the proximal and middle phalanges of index..pinky (the front of a fist)
    dom = np.asarray(rig.skin_weights).argmax(axis=1)
    kn = []
    for f in anatomy.FINGERS[1:]:
        mcp, pip, _ = anatomy.joints_of(f)
        for j in (mcp, pip):
            b = int(rig.anat_bones[j])
            sel = np.nonzero((parts == PART_IDS[f]) & (dom == b))[0]
            local_z = (V[sel] - np.asarray(rig.rest_joints)[b]) @ np.asarray(rig.joint_frames)[b][:, 2]
            kn.append(sel[local_z >= local_z.max() - 0.4 * (local_z.max() - local_z.min())])
    out["knuckles"] = np.concatenate(kn)
    # the end of each fingertip (the distal quarter of the distal phalanx, all around)
    for f in anatomy.FINGERS:
        j = anatomy.joints_of(f)[2]
        b = int(rig.anat_bones[j])
        sel = np.nonzero((parts == PART_IDS[f]) & (dom == b))[0]
        x = (V[sel] - np.asarray(rig.rest_joints)[b]) @ np.asarray(rig.joint_frames)[b][:, 0]
        out[f"{f}_tip"] = sel[x >= x.max() - 0.25 * (x.max() - x.min())]
    return out


def posed_pair(g: TwoHandGesture, rig_r: object, rig_l: object, shape_r: np.ndarray | None = None,
               shape_l: np.ndarray | None = None, left_in_right: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Posed vertices of both hands in the right hand's model frame, ``((V, 3), (V, 3))``."""
    from synth.hand import skinning

    T = g.left_in_right if left_in_right is None else left_in_right
    vr = skinning.forward(rig_r, shape=shape_r, pose=g.right_pose).vertices
    vl = skinning.forward(rig_l, shape=shape_l, pose=g.left_pose).vertices
    return vr, vl @ T[:3, :3].T + T[:3, 3]


@dataclass(frozen=True)
class PairMeasure:
    """Inter-hand measurements (metres).

    Attributes:
        contacts: ``(right_region, left_region) -> signed surface distance``.
        penetration: deepest vertex of either hand inside the other.
        touching_right, touching_left: vertex ids of each hand within :data:`TOUCH_DIST` of the
            other, plus the corners of the triangle nearest to each such vertex of the other hand.
    """

    contacts: dict[tuple[str, str], float]
    penetration: float
    touching_right: np.ndarray
    touching_left: np.ndarray

    @property
    def ok(self) -> bool:
        return self.penetration <= CONTACT_TOL[1] and all(
            -CONTACT_TOL[1] <= d <= CONTACT_TOL[0] for d in self.contacts.values())


def _signed_to_mesh(points: np.ndarray, V: np.ndarray, faces: np.ndarray, reach: float = 0.012
                    ) -> np.ndarray:
    """Signed distance of points to a closed mesh (negative inside), +inf beyond ``reach``."""
    from scipy.spatial import cKDTree

    from synth.gestures.collision import winding_numbers
    from synth.gestures.contact import _closest_dist

    d0, _ = cKDTree(V).query(points, distance_upper_bound=reach)
    out = np.full(len(points), np.inf)
    near = np.nonzero(np.isfinite(d0))[0]
    if len(near):
        tri = V[faces]
        d = _closest_dist(points[near], tri)
        inside = winding_numbers(points[near], tri) > 0.5
        out[near] = np.where(inside, -d, d)
    return out


def measure(g: TwoHandGesture, vr: np.ndarray, vl: np.ndarray, rig_r: object, rig_l: object) -> PairMeasure:
    """Measure a posed pair (both in one frame) on the meshes (see the module docstring)."""
    fr, fl = np.asarray(rig_r.faces), np.asarray(rig_l.faces)
    sl = _signed_to_mesh(vl, vr, fr)  # left vertices vs the right hand
    sr = _signed_to_mesh(vr, vl, fl)
    pen = float(max(0.0, -sl.min(), -sr.min()))
    reg_r, reg_l = regions(rig_r), regions(rig_l)
    contacts = {}
    for a, b in g.contacts:
        contacts[(a, b)] = float(min(sl[reg_l[b]].min(), sr[reg_r[a]].min()))
    # a contact region's distance to the *other hand* is the relevant one only when the nearest
    # part of the other hand is the named region: measure region to region for the gap.
    for a, b in g.contacts:
        d = contacts[(a, b)]
        if d > 0:
            from synth.gestures.contact import _closest_dist

            tri_r = vr[fr[np.isin(fr, reg_r[a]).any(axis=1)]]
            contacts[(a, b)] = float(_closest_dist(vl[reg_l[b]], tri_r).min())
    tr, tl = np.nonzero(sr <= TOUCH_DIST)[0], np.nonzero(sl <= TOUCH_DIST)[0]
    # a vertex touching the inside of a large triangle of the other hand: label that triangle's
    # corners too, so that both hands of a contact carry labels
    tl_extra = fl[_closest_faces(vr[tr], vl[fl])].reshape(-1) if len(tr) else np.zeros(0, int)
    tr_extra = fr[_closest_faces(vl[tl], vr[fr])].reshape(-1) if len(tl) else np.zeros(0, int)
    return PairMeasure(contacts, pen, np.union1d(tr, tr_extra), np.union1d(tl, tl_extra))


def _closest_faces(points: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Index ``(N,)`` of the triangle of ``tris`` ``(F, 3, 3)`` closest to each point ``(N, 3)``."""
    import trimesh

    cen = tris.mean(axis=1)
    out = np.empty(len(points), dtype=np.int64)
    for k, p in enumerate(points):
        cand = np.argsort(((cen - p) ** 2).sum(-1))[:24]
        cp = trimesh.triangles.closest_point(tris[cand], np.repeat(p[None], len(cand), axis=0))
        out[k] = cand[int(np.argmin(((cp - p) ** 2).sum(-1)))]
    return out


def approach(g: TwoHandGesture, rig_r: object, rig_l: object, direction: np.ndarray | None = None,
             lo: float = -0.06, hi: float = 0.10, iters: int = 14) -> np.ndarray:
    """Slide the left hand along ``direction`` (right frame; default: along the mirror plane's
    normal for a mirror placement, else from the left wrist toward the right's) until the two
    meshes just touch (deepest penetration about 0.5 mm), by bisection on the distance moved.
    Returns the moved placement ``(4, 4)``."""
    T0 = g.left_in_right
    if direction is None:
        M = T0[:3, :3] @ np.diag([-1.0, 1.0, 1.0])  # for a mirror placement: I - 2 n n^T
        w, v = np.linalg.eigh(0.5 * (M + M.T))
        if w.min() < -0.5 and np.allclose(M, M.T, atol=1e-6):
            n = v[:, int(np.argmin(w))]
            vr0, vl1 = posed_pair(g, rig_r, rig_l)
            if n @ (vl1.mean(axis=0) - vr0.mean(axis=0)) < 0:  # from the right hand toward the left one
                n = -n
        else:  # from the right region of the first contact toward the left one
            a, b = g.contacts[0]
            vr0, vl1 = posed_pair(g, rig_r, rig_l)
            n = vl1[regions(rig_l)[b]].mean(axis=0) - vr0[regions(rig_r)[a]].mean(axis=0)
        direction = n / max(float(np.linalg.norm(n)), 1e-9)
    d = np.asarray(direction, dtype=np.float64)
    vr, vl0 = posed_pair(g, rig_r, rig_l, left_in_right=np.eye(4))
    fr = np.asarray(rig_r.faces)

    def pen(s: float) -> float:
        T = T0.copy()
        T[:3, 3] += s * d
        vl = vl0 @ T[:3, :3].T + T[:3, 3]
        return float(max(0.0, -_signed_to_mesh(vl, vr, fr).min()))

    if pen(hi) > 0.0005:
        return T0
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if pen(mid) > 0.0005:
            lo = mid
        else:
            hi = mid
    T = T0.copy()
    T[:3, 3] += hi * d
    return T


def solve_placement(g: TwoHandGesture, rig_r: object, rig_l: object, rounds: int = 8, max_nfev: int = 80,
                    rot_sigma_deg: float = 15.0, trans_sigma: float = 0.03) -> tuple[np.ndarray, PairMeasure]:
    """Refine the left hand's placement: first :func:`approach` (the hands brought together until
    they touch), then, if a declared contact is still open, least squares: contacts reached, no
    interpenetration beyond 1 mm (stand-in: point-to-plane distance to the nearest vertex of the
    other hand), near the approached placement. Returns ``(left_in_right (4, 4), measure)``."""
    import dataclasses

    if g.contacts:
        g = dataclasses.replace(g, left_in_right=approach(g, rig_r, rig_l))
    from scipy.optimize import least_squares
    from scipy.spatial import cKDTree

    from synth.gestures.contact import _vertex_normals

    vr, vl0 = posed_pair(g, rig_r, rig_l, left_in_right=np.eye(4))
    nr = _vertex_normals(vr[None], np.asarray(rig_r.faces))[0]
    nl0 = _vertex_normals(vl0[None], np.asarray(rig_l.faces))[0]
    tree_r = cKDTree(vr)
    reg_r, reg_l = regions(rig_r), regions(rig_l)
    T0 = g.left_in_right.copy()

    def transform(x: np.ndarray) -> np.ndarray:
        T = np.eye(4)
        T[:3, :3] = anatomy.axis_angle_to_matrix(x[:3]) @ T0[:3, :3]
        T[:3, 3] = T0[:3, 3] + x[3:]
        return T

    anchors: list[tuple[int, int]] = []
    offset = np.zeros(len(g.contacts))

    def fun(x: np.ndarray) -> np.ndarray:
        T = transform(x)
        vl = vl0 @ T[:3, :3].T + T[:3, 3]
        nl = nl0 @ T[:3, :3].T
        r = [1000.0 * (np.linalg.norm(vr[i] - vl[j]) + offset[k] - 0.0003) for k, (i, j) in enumerate(anchors)]
        d, idx = tree_r.query(vl, distance_upper_bound=0.015)
        ok = np.isfinite(d)
        sd = np.full(len(vl), 1.0)
        sd[ok] = ((vl[ok] - vr[idx[ok]]) * nr[idx[ok]]).sum(-1)
        d2, idx2 = cKDTree(vl).query(vr, distance_upper_bound=0.015)
        ok2 = np.isfinite(d2)
        sd2 = np.full(len(vr), 1.0)
        sd2[ok2] = ((vr[ok2] - vl[idx2[ok2]]) * nl[idx2[ok2]]).sum(-1)
        pen = np.concatenate([np.sort(sd)[:20], np.sort(sd2)[:20]])
        r.extend(list(3000.0 * np.maximum(-pen - 0.001, 0.0)))
        r.extend(list(x[:3] / np.deg2rad(rot_sigma_deg)))
        r.extend(list(x[3:] / trans_sigma))
        return np.asarray(r)

    x = np.zeros(6)
    m = measure(g, vr, vl0 @ T0[:3, :3].T + T0[:3, 3], rig_r, rig_l)
    for _ in range(rounds):
        if m.ok and all(abs(d) <= 0.001 for d in m.contacts.values()):
            break
        T = transform(x)
        vl = vl0 @ T[:3, :3].T + T[:3, 3]
        anchors = []
        for k, (a, b) in enumerate(g.contacts):
            pa, pb = vr[reg_r[a]], vl[reg_l[b]]
            d2 = ((pa[:, None] - pb[None]) ** 2).sum(-1)
            i, j = np.unravel_index(int(d2.argmin()), d2.shape)
            anchors.append((int(reg_r[a][i]), int(reg_l[b][j])))
            offset[k] = m.contacts[(a, b)] - float(np.sqrt(d2[i, j]))
        res = least_squares(fun, x, method="trf", max_nfev=max_nfev, diff_step=1e-4)
        x = res.x
        T = transform(x)
        m = measure(g, vr, vl0 @ T[:3, :3].T + T[:3, 3], rig_r, rig_l)
    return transform(x), m


def placement_spec(T: np.ndarray) -> str:
    """The canonical one-line YAML ``placement`` of a transform (0.01 degree / 0.01 cm)."""
    rv = np.rad2deg(anatomy.matrix_to_axis_angle(T[:3, :3]))
    t = 100.0 * T[:3, 3]

    def f(v: np.ndarray) -> str:
        return ", ".join(f"{round(float(a), 2) + 0.0:g}" for a in v)

    return f"  placement: {{rotvec_deg: [{f(rv)}], translate_cm: [{f(t)}]}}"


def rewrite_placement(text: str, name: str, T: np.ndarray) -> str:
    """``text`` with gesture ``name``'s one-line ``placement:`` replaced by :func:`placement_spec`."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if re.fullmatch(rf"- name: {re.escape(name)}\s*", ln)), None)
    if start is None:
        raise ValueError(f"two-hand gesture {name!r} not found")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("- ")), len(lines))
    for i in range(start, end):
        if lines[i].startswith("  placement:"):
            lines[i] = placement_spec(T) + "\n"
            return "".join(lines)
    raise ValueError(f"two-hand gesture {name!r} has no one-line placement")


def solve_all(names: Sequence[str] | None = None, write: bool = False) -> list[dict[str, object]]:
    """Solve the placement of every two-hand gesture (or ``names``); rewrite the YAML with ``write``."""
    from synth.hand.models import load_model

    rig_r, rig_l = load_model("open-hand", "right"), load_model("open-hand", "left")
    rows: list[dict[str, object]] = []
    edits: dict[str, str] = {}
    for g in load_two_hand(None, load_library()):
        if names and g.name not in names:
            continue
        before = measure(g, *posed_pair(g, rig_r, rig_l), rig_r, rig_l)
        T, m = solve_placement(g, rig_r, rig_l)
        rows.append({"name": g.name, "ok": m.ok, "penetration_mm": round(1000 * m.penetration, 2),
                     "before_mm": {f"{a}-{b}": round(1000 * d, 2) for (a, b), d in before.contacts.items()},
                     "after_mm": {f"{a}-{b}": round(1000 * d, 2) for (a, b), d in m.contacts.items()},
                     "before_penetration_mm": round(1000 * before.penetration, 2)})
        if write and m.ok:
            path = ASSET_DIR / g.source
            edits[g.source] = rewrite_placement(edits.get(g.source, path.read_text()), g.name, T)
    for src, text in edits.items():
        (ASSET_DIR / src).write_text(text)
    _default.cache_clear()
    return rows
