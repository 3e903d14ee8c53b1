"""Finger contacts and sign features: measure them on the skinned mesh, and solve poses that reach them.

A gesture's ``contacts`` (:mod:`synth.gestures.library`) name finger pads that touch. Each group
``(a, b, ...)`` stands for every pair in it. A pair's **contact surfaces** are the distal
phalanx of the thumb and the middle and distal phalanges of the other fingers (a pinch meets at
the pads, the ASL K thumb rests on the middle phalanx, U and H fingers lie side by side): the
mesh vertices of that finger's part skinned mostly to those bones, and the triangles between them.

**Measure** (:func:`measure_pair`, exact on the mesh): the signed surface distance of a pair is
the smallest point-triangle distance between the two surfaces (both directions), or, when
vertices of one surface lie *inside* the hand behind the other (generalised winding number over
the hand surface without the first finger's own triangles), minus the deepest such vertex's
distance to the other surface. A contact is **reached** when ``-max_penetration <= d <=
max_gap`` (2 mm each, :data:`CONTACT_TOL`).

**Solve** (:func:`solve_contacts`): least squares (:func:`scipy.optimize.least_squares`, box
bounds = :data:`synth.hand.anatomy.LIMITS`) over the anatomical angles of the fingers in the
contacts (thumb: CMC flexion, abduction and twist, MCP and IP flexion; other fingers: MCP
flexion and abduction, PIP and DIP flexion). Residuals: each pair's signed distance minus a
small target gap (point-to-plane distance to the nearest vertex of the other surface, a smooth
stand-in for the exact measure), a prior pulling every angle toward the authored pose (so the
gesture keeps its look), the capsule self-collision proxy (:mod:`synth.gestures.collision`) of
every *other* segment pair, and the PIP/DIP tendon coupling. The library is solved once at
build time (``synth gestures solve-contacts --write``; the YAML stores the solved angles), and
:func:`refine_contacts` re-solves warm-started for a sampled shape or variation.

**Features** (:func:`features_hold`) tell similar signs apart on the 21 keypoints, in the hand
frame (x toward the little finger, y wrist to middle knuckle, palm normal z):

* ``apart: [[index, middle]]`` fingertips at least :data:`APART_MIN` apart (V, not U);
* ``crossed: [[index, middle]]`` the second finger's tip lies on the thumb side of the first's
  (R, crossed fingers);
* ``thumb: beside`` the thumb tip stays on the thumb side of the index knuckle (A);
  ``thumb: over`` it lies across the front of the fingers, past the index knuckle toward the
  little finger and palmar of the knuckles (S, E).

Units: metres and degrees; model frame of :mod:`synth.hand.rig`.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from synth.hand import anatomy

logger = logging.getLogger(__name__)

#: (max gap, max penetration) of a reached contact, metres.
CONTACT_TOL: tuple[float, float] = (0.002, 0.002)
#: Gap the solver aims at (metres): pads touching with a hair of compression allowed.
TARGET_GAP = 0.0003
#: Least fingertip distance of an ``apart`` pair (metres); U's tips are a few mm apart.
APART_MIN = 0.020
#: Margin (metres) beyond a feature's threshold that the solver aims for.
FEATURE_MARGIN = 0.003
#: Bones whose skin forms each finger's contact surface (anatomical joints driving them).
SURFACE_JOINTS: dict[str, tuple[str, ...]] = {
    "thumb": ("thumb_ip",),
    "index": ("index_pip", "index_dip"),
    "middle": ("middle_pip", "middle_dip"),
    "ring": ("ring_pip", "ring_dip"),
    "pinky": ("pinky_pip", "pinky_dip"),
}
_TIPS = {"thumb": 4, "index": 8, "middle": 12, "ring": 16, "pinky": 20}
_MCPS = {"thumb": 2, "index": 5, "middle": 9, "ring": 13, "pinky": 17}
#: Anatomical DOFs the solver may move per finger: (joint row, dof column).
_DOFS: dict[str, tuple[tuple[int, int], ...]] = {
    "thumb": ((1, 0), (1, 1), (1, 2), (2, 0), (3, 0)),
    "index": ((4, 0), (4, 1), (5, 0), (6, 0)),
    "middle": ((7, 0), (7, 1), (8, 0), (9, 0)),
    "ring": ((10, 0), (10, 1), (11, 0), (12, 0)),
    "pinky": ((13, 0), (13, 1), (14, 0), (15, 0)),
}


def contact_pairs(contacts: Sequence[Sequence[str]]) -> list[tuple[str, str]]:
    """Every finger pair of every contact group (``palm`` left out), in order, no repeats."""
    out: list[tuple[str, str]] = []
    for grp in contacts:
        for a, b in itertools.combinations([f for f in grp if f != "palm"], 2):
            if (a, b) not in out and (b, a) not in out:
                out.append((a, b))
    return out


# --- surfaces --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Surfaces:
    """Contact surfaces of a rig (see the module docstring).

    Attributes:
        verts: finger -> ``(n,)`` vertex ids of its contact surface.
        faces: finger -> ``(m, 3)`` triangles (vertex ids) of that surface.
        other_faces: finger -> ``(k, 3)`` triangles of the whole hand *not* in that finger's part
            (the surface a vertex of the finger is inside of when it penetrates another part).
        part_verts: finger -> ``(p,)`` all vertex ids of the finger's part.
    """

    verts: dict[str, np.ndarray]
    faces: dict[str, np.ndarray]
    other_faces: dict[str, np.ndarray]
    part_verts: dict[str, np.ndarray]


_SURF_CACHE: dict[int, tuple[object, Surfaces]] = {}


def surfaces(rig: object) -> Surfaces:
    """The contact surfaces of ``rig`` (a :class:`synth.hand.rig.HandRig`), cached per rig."""
    hit = _SURF_CACHE.get(id(rig))
    if hit is not None and hit[0] is rig:
        return hit[1]
    from synth.hand.rig import PART_IDS

    parts = np.asarray(rig.parts)
    faces = np.asarray(rig.faces)
    dom = np.asarray(rig.skin_weights).argmax(axis=1)
    bones = np.asarray(rig.anat_bones)
    verts, fcs, other, pv = {}, {}, {}, {}
    for f in anatomy.FINGERS:
        part = parts == PART_IDS[f]
        want = [int(bones[anatomy.JOINT_INDEX[j]]) for j in SURFACE_JOINTS[f]]
        sel = part & np.isin(dom, want)
        verts[f] = np.nonzero(sel)[0]
        fcs[f] = faces[sel[faces].sum(axis=1) >= 2]
        fcs[f] = fcs[f][part[fcs[f]].all(axis=1)]
        other[f] = faces[~part[faces].all(axis=1)]
        pv[f] = np.nonzero(part)[0]
    s = Surfaces(verts, fcs, other, pv)
    if len(_SURF_CACHE) > 8:
        _SURF_CACHE.clear()
    _SURF_CACHE[id(rig)] = (rig, s)
    return s


def _closest_dist(points: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Unsigned distance ``(N,)`` of points ``(N, 3)`` to the triangle set ``(F, 3, 3)``."""
    import trimesh

    P = np.asarray(points, dtype=np.float64)
    if not len(P):
        return np.zeros(0)
    cen = tris.mean(axis=1)
    rad = np.linalg.norm(tris - cen[:, None], axis=-1).max(axis=1)
    dc = np.linalg.norm(P[:, None] - cen[None], axis=-1)  # (N, F)
    ub = (dc + rad[None]).min(axis=1)  # an upper bound on the distance
    pi, fi = np.nonzero(dc - rad[None] <= ub[:, None] + 1e-12)
    cp = trimesh.triangles.closest_point(tris[fi], P[pi])
    d = np.full(len(P), np.inf)
    np.minimum.at(d, pi, np.linalg.norm(cp - P[pi], axis=1))
    return d


def measure_pair(vertices: np.ndarray, rig: object, a: str, b: str) -> float:
    """Exact signed surface distance (metres) between the contact surfaces of fingers ``a`` and
    ``b`` on posed ``vertices`` ``(V, 3)``: positive a gap, negative a penetration depth."""
    from synth.gestures.collision import winding_numbers

    V = np.asarray(vertices, dtype=np.float64)
    s = surfaces(rig)
    gap = np.inf
    depth = 0.0
    for x, y in ((a, b), (b, a)):
        tri_y = V[s.faces[y]]
        px = V[s.verts[x]]
        d = _closest_dist(px, tri_y)
        near = d < 0.006
        if near.any():
            inside = winding_numbers(px[near], V[s.other_faces[x]]) > 0.5
            if inside.any():
                depth = max(depth, float(d[near][inside].max()))
            out = ~inside
            if out.any():
                gap = min(gap, float(d[near][out].min()))
        else:
            gap = min(gap, float(d.min()))
    return -depth if depth > 0.0 else float(gap)


def measure(vertices: np.ndarray, rig: object, contacts: Sequence[Sequence[str]]) -> dict[tuple[str, str], float]:
    """:func:`measure_pair` for every pair of ``contacts``."""
    return {(a, b): measure_pair(vertices, rig, a, b) for a, b in contact_pairs(contacts)}


def reached(d: float, tol: tuple[float, float] = CONTACT_TOL) -> bool:
    """Whether a signed surface distance ``d`` (m) counts as a reached contact."""
    return -tol[1] <= d <= tol[0]


def nearest_vertex_distance(vertices: np.ndarray, rig: object, a: str, b: str) -> float:
    """Smallest vertex-vertex distance (m) between the *whole* parts of fingers ``a`` and ``b``
    (the coarse measure the library was first audited with)."""
    s = surfaces(rig)
    V = np.asarray(vertices)
    pa, pb = V[s.part_verts[a]], V[s.part_verts[b]]
    return float(np.sqrt(((pa[:, None] - pb[None]) ** 2).sum(-1).min()))


# --- approximate (solver) distance -------------------------------------------------------------


_INC_CACHE: dict[int, tuple[np.ndarray, object]] = {}


def _vertex_normals(V: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals of batched vertices ``(B, V, 3)`` -> ``(B, V, 3)``."""
    from scipy.sparse import csr_matrix

    hit = _INC_CACHE.get(id(faces))
    if hit is None or hit[0] is not faces:
        F = len(faces)
        inc = csr_matrix((np.ones(3 * F), (faces.reshape(-1), np.repeat(np.arange(F), 3))),
                         shape=(V.shape[1], F))
        hit = (faces, inc)
        _INC_CACHE.clear()
        _INC_CACHE[id(faces)] = hit
    inc = hit[1]
    tri = V[:, faces]  # (B, F, 3, 3)
    fn = np.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0])  # (B, F, 3)
    B, F = fn.shape[:2]
    vn = (inc @ fn.transpose(1, 0, 2).reshape(F, 3 * B)).reshape(-1, B, 3).transpose(1, 0, 2)
    return vn / np.maximum(np.linalg.norm(vn, axis=-1, keepdims=True), 1e-12)


def _plane_dist(px: np.ndarray, py: np.ndarray, ny: np.ndarray, reach: float = np.inf) -> float:
    """Smallest point-to-plane signed distance of points ``px`` to the tangent planes of their
    nearest points ``py`` (normals ``ny``); points farther than ``reach`` from ``py`` are ignored."""
    from scipy.spatial import cKDTree

    d, j = cKDTree(py).query(px, distance_upper_bound=reach)
    ok = np.isfinite(d)
    if not ok.any():
        return float(reach)
    return float(((px[ok] - py[j[ok]]) * ny[j[ok]]).sum(-1).min())


def approx_pair(V: np.ndarray, N: np.ndarray, s: Surfaces, a: str, b: str) -> np.ndarray:
    """Point-to-plane signed distance ``(B,)`` between two contact surfaces of batched posed
    vertices ``V`` ``(B, V, 3)`` with normals ``N``: each vertex of one against the tangent plane
    of its nearest vertex on the other, the smallest over both directions."""
    out = np.empty(V.shape[0])
    for i in range(V.shape[0]):
        out[i] = min(_plane_dist(V[i, s.verts[x]], V[i, s.verts[y]], N[i, s.verts[y]])
                     for x, y in ((a, b), (b, a)))
    return out


# --- features -------------------------------------------------------------------------------


def _hand_axes(kp: np.ndarray, side: str) -> np.ndarray:
    """Rows x (toward the little finger), y (wrist -> middle knuckle), z (out of the palm)."""
    from synth.labels.captions import hand_frame

    return hand_frame(kp, side)[1]


def feature_values(keypoints: np.ndarray, side: str, features: dict[str, object]) -> dict[str, float]:
    """Signed margins of declared features on ``(21, 3)`` keypoints: a feature holds when its
    margin is >= 0 (metres)."""
    kp = np.asarray(keypoints, dtype=np.float64)
    ax = _hand_axes(kp, side)
    u = (kp - kp[0]) @ ax[0]  # lateral coordinate, toward the little finger
    z = (kp - kp[0]) @ ax[2]  # out of the palm
    out: dict[str, float] = {}
    for a, b in features.get("apart", []) or []:  # type: ignore[union-attr]
        out[f"apart:{a}-{b}"] = float(np.linalg.norm(kp[_TIPS[a]] - kp[_TIPS[b]]) - APART_MIN)
    for a, b in features.get("crossed", []) or []:  # type: ignore[union-attr]
        # b crosses over a: b's tip on the far side of a's tip from where b's knuckle is.
        side_k = np.sign(u[_MCPS[b]] - u[_MCPS[a]])
        out[f"crossed:{a}-{b}"] = float(-side_k * (u[_TIPS[b]] - u[_TIPS[a]]))
    thumb = features.get("thumb")
    if thumb is not None:
        half = 0.5 * (u[9] - u[5])
        if thumb == "beside":
            out["thumb:beside"] = float(u[5] + 0.25 * half - u[4])
        elif thumb == "over":
            out["thumb:over"] = float(min(u[4] - (u[5] + 0.25 * half), z[4] - z[5]))
    return out


def features_hold(keypoints: np.ndarray, side: str, features: dict[str, object]) -> bool:
    """True when every declared feature holds (see :func:`feature_values`)."""
    return all(v >= 0.0 for v in feature_values(keypoints, side, features).values())


# --- solving ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SolveResult:
    """A contact solve.

    Attributes:
        pose: ``(16, 3)`` solved angles, degrees (within LIMITS).
        distances: pair -> exact signed surface distance after the solve, metres.
        before: pair -> the same before the solve.
        ok: every pair reached.
        evaluations: forward passes used.
    """

    pose: np.ndarray
    distances: dict[tuple[str, str], float]
    before: dict[tuple[str, str], float]
    ok: bool
    evaluations: int


_SKEL_CACHE: dict[tuple[int, bytes | None], tuple[object, object]] = {}


def _skeleton_for(rig: object, shape_key: bytes | None) -> object:
    from synth.gestures.skeleton import skeleton_from_rig

    hit = _SKEL_CACHE.get((id(rig), shape_key))
    if hit is not None and hit[0] is rig:
        return hit[1]
    shape = None if shape_key is None else np.frombuffer(shape_key)
    skel = skeleton_from_rig(rig, shape)
    if len(_SKEL_CACHE) > 16:
        _SKEL_CACHE.clear()
    _SKEL_CACHE[(id(rig), shape_key)] = (rig, skel)
    return skel


def solve_contacts(
    rig: object,
    pose_deg: np.ndarray,
    contacts: Sequence[Sequence[str]],
    shape: np.ndarray | None = None,
    prior_sigma: float = 12.0,
    max_nfev: int = 60,
    target: float = TARGET_GAP,
    extra_fingers: Sequence[str] = (),
    rounds: int = 4,
    features: dict[str, object] | None = None,
) -> SolveResult:
    """Move the contact fingers' angles so that every declared pair touches (see module docstring).

    Args:
        rig: a :class:`synth.hand.rig.HandRig`.
        pose_deg: ``(16, 3)`` starting pose (degrees); also the prior's centre.
        contacts: contact groups (finger names).
        shape: shape parameters of ``rig`` (default shape if None).
        prior_sigma: degrees of change that cost as much as ``1 mm`` of contact gap.
        max_nfev: solver iterations (each one batched forward pass).
        target: gap aimed at, metres.
        extra_fingers: fingers free to move besides those in the contacts.
        rounds: solves, each correcting the smooth stand-in by the exact distance.
        features: sign features to enforce (margin :data:`FEATURE_MARGIN` beyond the threshold);
            their fingers move too.
    """
    from scipy.optimize import least_squares

    from synth.gestures import collision
    from synth.hand import skinning

    pairs = contact_pairs(contacts)
    p0 = anatomy.clamp(anatomy.as_pose(pose_deg)).astype(np.float64)
    feats = dict(features or {})
    feat_fingers = {f for k in ("apart", "crossed") for pr in feats.get(k, []) or [] for f in pr}  # type: ignore[union-attr]
    if "thumb" in feats:
        feat_fingers.add("thumb")
    fingers = sorted({f for pr in pairs for f in pr} | set(extra_fingers) | feat_fingers, key=anatomy.FINGERS.index)
    dofs = [d for f in fingers for d in _DOFS[f]]
    rows = np.array([d[0] for d in dofs], dtype=int)
    cols = np.array([d[1] for d in dofs], dtype=int)
    x0 = p0[rows, cols]
    lo = anatomy.LIMITS[rows, cols, 0]
    hi = anatomy.LIMITS[rows, cols, 1]
    s = surfaces(rig)
    shape_arr = None if shape is None else np.asarray(shape, dtype=np.float64)
    skel = _skeleton_for(rig, None if shape_arr is None else shape_arr.tobytes())
    palm_pairs = _palm_pairs()
    palm_tol = collision.DEFAULT_TOLERANCE - 0.0002  # the solved pose must still pass the proxy
    tested = _tested_vertices(rig)
    moving = set(fingers)
    finger_pairs = [(a, b) for a, b in itertools.combinations(anatomy.FINGERS, 2) if a in moving or b in moving]
    faces = np.asarray(rig.faces)
    nfev = [0]
    offset = np.zeros(len(pairs))

    def poses(X: np.ndarray) -> np.ndarray:
        P = np.repeat(p0[None], len(X), axis=0)
        P[:, rows, cols] = X
        return P

    def resid_batch(X: np.ndarray) -> np.ndarray:
        P = poses(X)
        nfev[0] += 1
        V = skinning.forward(rig, shape=shape_arr, pose=P).vertices.reshape(len(X), -1, 3)
        N = _vertex_normals(V, faces)
        r = [1000.0 * (np.linalg.norm(V[:, ia] - V[:, ib], axis=-1) + offset[k] - target)
             for k, (ia, ib) in enumerate(anchors)]
        for a, b in finger_pairs:  # mesh penetration between fingers (beyond 1 mm)
            sd = _approx_parts(V, N, tested, a, b)
            r.append(3000.0 * np.maximum(-sd - 0.001, 0.0))
        kp = skel.forward(P)
        if feats:
            fv = np.array([list(feature_values(k, str(rig.side), feats).values()) for k in kp])
            r.extend(list((3000.0 * np.maximum(FEATURE_MARGIN - fv, 0.0)).T))
        pd = collision.pair_depths(skel, kp)[:, palm_pairs]
        r.append(3000.0 * np.maximum(pd - palm_tol, 0.0).max(axis=1))
        prior = (X - x0) / prior_sigma
        return np.concatenate([np.stack(r, axis=1), prior], axis=1)

    def fun(x: np.ndarray) -> np.ndarray:
        return resid_batch(x[None])[0]

    def jac(x: np.ndarray) -> np.ndarray:
        h = 0.25
        X = np.repeat(x[None], len(x) + 1, axis=0)
        step = np.where(x + h <= hi, h, -h)
        X[1:][np.arange(len(x)), np.arange(len(x))] += step
        R = resid_batch(X)
        return ((R[1:] - R[0]) / step[:, None]).T

    def exact(P: np.ndarray) -> dict[tuple[str, str], float]:
        return measure(skinning.forward(rig, shape=shape_arr, pose=P).vertices, rig, contacts)

    before = exact(p0)
    pose, after = p0, before
    x = np.clip(x0, lo, hi)
    anchors: list[tuple[int, int]] = []
    def feats_ok(P: np.ndarray) -> bool:
        return not feats or all(v >= 0.0 for v in feature_values(skel.forward(P), str(rig.side), feats).values())

    for _round in range(max(1, rounds)):
        if all(abs(after[pr] - target) <= 0.0005 for pr in pairs) and feats_ok(pose):
            break
        # this round pulls together the closest vertex pair of each contact, offset so that the
        # residual starts at the exact signed distance minus the target (a smooth stand-in).
        Vc = skinning.forward(rig, shape=shape_arr, pose=pose).vertices
        anchors = []
        for k, (a, b) in enumerate(pairs):
            va, vb = s.verts[a], s.verts[b]
            d2 = ((Vc[va][:, None] - Vc[vb][None]) ** 2).sum(-1)
            i, j = np.unravel_index(int(d2.argmin()), d2.shape)
            anchors.append((int(va[i]), int(vb[j])))
            offset[k] = after[(a, b)] - float(np.sqrt(d2[i, j]))
        res = least_squares(fun, x, jac=jac, bounds=(lo, hi), max_nfev=max_nfev, method="trf",
                            ftol=1e-8, xtol=1e-8, gtol=1e-8)
        x = res.x
        pose = poses(x[None])[0]
        after = exact(pose)
    ok = all(reached(d) for d in after.values()) and feats_ok(pose)
    return SolveResult(pose, after, before, ok, nfev[0])


def _palm_pairs() -> np.ndarray:
    """Capsule pairs of :data:`collision.PAIRS` between a finger segment and the palm."""
    from synth.gestures import collision

    fi = collision.SEG_FINGER[collision.PAIRS]
    return (fi == 5).any(axis=1)


_TEST_CACHE: dict[int, tuple[object, dict[str, np.ndarray]]] = {}


def _tested_vertices(rig: object) -> dict[str, np.ndarray]:
    """finger -> vertex ids of its part without the root (see collision.mesh_test_vertices)."""
    hit = _TEST_CACHE.get(id(rig))
    if hit is not None and hit[0] is rig:
        return hit[1]
    from synth.gestures.collision import FINGER_PARTS, mesh_test_vertices

    ids = mesh_test_vertices(rig, stride=1)
    parts = np.asarray(rig.parts)[ids]
    out = {f: ids[parts == FINGER_PARTS[k]] for k, f in enumerate(anatomy.FINGERS)}
    _TEST_CACHE.clear()
    _TEST_CACHE[id(rig)] = (rig, out)
    return out


def _approx_parts(V: np.ndarray, N: np.ndarray, tested: dict[str, np.ndarray], a: str, b: str) -> np.ndarray:
    """Point-to-plane signed distance ``(B,)`` between the (root-less) parts of two fingers, over
    points within 1 cm of the other part (1 cm when none is)."""
    out = np.empty(V.shape[0])
    for i in range(V.shape[0]):
        out[i] = min(_plane_dist(V[i, tested[x]], V[i, tested[y]], N[i, tested[y]], reach=0.01)
                     for x, y in ((a, b), (b, a)))
    return out


def solve_gesture(rig: object, pose_deg: np.ndarray, contacts: Sequence[Sequence[str]],
                  shape: np.ndarray | None = None, features: dict[str, object] | None = None) -> SolveResult:
    """:func:`solve_contacts`, retried with a looser prior and more iterations when the first
    solve leaves a contact open (the library build uses this)."""
    first = solve_contacts(rig, pose_deg, contacts, shape=shape, features=features)
    if first.ok:
        return first
    second = solve_contacts(rig, first.pose, contacts, shape=shape, prior_sigma=30.0, max_nfev=150,
                            features=features)
    worst = max(abs(d) for d in second.distances.values()) if second.distances else 0.0
    worst1 = max(abs(d) for d in first.distances.values()) if first.distances else 0.0
    best = second if (second.ok or worst < worst1) else first
    return SolveResult(best.pose, best.distances, first.before, best.ok, first.evaluations + second.evaluations)


def refine_contacts(rig: object, pose_deg: np.ndarray, contacts: Sequence[Sequence[str]],
                    shape: np.ndarray | None = None, max_nfev: int = 12) -> SolveResult:
    """A cheap warm-started re-solve (for a sampled shape or pose variation): few iterations,
    a loose prior (the pose is already close)."""
    return solve_contacts(rig, pose_deg, contacts, shape=shape, prior_sigma=20.0, max_nfev=max_nfev)


def penetration_depths(vertices: np.ndarray, rig: object, stride: int = 1) -> dict[str, float]:
    """Deepest penetration (metres, 0 when none) of each finger into the rest of the hand.

    Every tested vertex of a finger (:func:`synth.gestures.collision.mesh_test_vertices`: the
    finger without its root) that lies inside the hand surface with that finger's own
    triangles removed (generalised winding number > 0.5) is buried; its depth is its distance
    to that surface. Unlike :func:`synth.gestures.collision.mesh_collides` (which counts
    vertices within a tolerance band), this gives a depth in metres.
    """
    from synth.gestures.collision import FINGER_PARTS, mesh_test_vertices, winding_numbers

    V = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(rig.faces)
    parts = np.asarray(rig.parts)
    ids = mesh_test_vertices(rig, stride)
    out: dict[str, float] = {}
    for k, f in enumerate(anatomy.FINGERS):
        sel = ids[parts[ids] == FINGER_PARTS[k]]
        own = (parts[faces] == FINGER_PARTS[k]).all(axis=1)
        tri = V[faces[~own]]
        from scipy.spatial import cKDTree

        d, _ = cKDTree(V[parts != FINGER_PARTS[k]]).query(V[sel], distance_upper_bound=0.008)
        near = sel[np.isfinite(d)]
        depth = 0.0
        if len(near):
            inside = near[winding_numbers(V[near], tri) > 0.5]
            if len(inside):
                depth = float(_closest_dist(V[inside], tri).max())
        out[f] = depth
    return out
