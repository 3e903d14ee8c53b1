"""Self-collision tests: a fast capsule proxy and the mesh test it stands for.

**Proxy** (:func:`penetration_depth`): every finger segment is a capsule around its bone
(thumb: metacarpal CMC->MCP, proximal MCP->IP, distal IP->tip; fingers: proximal, middle,
distal phalanx), and the palm is four metacarpal capsules (wrist -> each finger MCP). The
penetration depth of a pair is ``r1 + r2 - d`` (``d`` the segment-segment distance); a pose
collides when any checked pair penetrates by more than a tolerance (default
:data:`DEFAULT_TOLERANCE`) beyond the overlap the same pair has in the flat rest pose (capsules
only approximate the soft tissue, e.g. at the finger webs). Checked pairs (segments that cannot legitimately meet are skipped;
neighbours along one chain always meet at their joint):

* every segment of a finger against every segment of another finger (thumb included, the thumb
  metacarpal only against the index and middle phalanges);
* the middle and distal segments of each finger, and the proximal and distal thumb segments,
  against the palm capsules (the thumb against the index..pinky metacarpals).

**Mesh test** (:func:`mesh_penetration`): on a posed mesh with per-vertex part ids, the depth by
which vertices of one part lie behind the surface of another (signed distance along the
nearest vertex's normal, with a k-d tree), for the same part pairs; the proxy is validated
against it in ``tests/gestures/test_collision.py``.
"""

from __future__ import annotations

import logging

import numpy as np

from synth.geometry import vertex_normals
from synth.gestures.skeleton import Skeleton

logger = logging.getLogger(__name__)

#: Capsule penetration (metres, beyond the rest-pose overlap) tolerated by the proxy; with the
#: palm radius scale of :mod:`synth.gestures.skeleton`, fit to agree with the mesh test.
DEFAULT_TOLERANCE = 0.002
#: Depth (metres) a vertex must be buried in another part for the mesh test to count it: finger
#: pads that touch compress by about this much, so a touch is not a collision.
MESH_OFFSET = 0.0025

# Segment table: (keypoint a, keypoint b, finger 0..4, level 0..2); palm segments use finger 5.
_SEGS: list[tuple[int, int, int, int]] = []
for _f in range(5):
    _base = 1 + 4 * _f
    for _s in range(3):
        _a = (_base + _s) if _f == 0 else (_base + _s)
        _SEGS.append((_a, _a + 1, _f, _s))
# Palm: wrist -> index/middle/ring/pinky MCP.
for _k, _m in enumerate((5, 9, 13, 17)):
    _SEGS.append((0, _m, 5, _k))
SEG_A = np.array([s[0] for s in _SEGS])
SEG_B = np.array([s[1] for s in _SEGS])
SEG_FINGER = np.array([s[2] for s in _SEGS])
SEG_LEVEL = np.array([s[3] for s in _SEGS])


def _pairs() -> np.ndarray:
    out = []
    n = len(_SEGS)
    for i in range(n):
        for j in range(i + 1, n):
            fi, si = SEG_FINGER[i], SEG_LEVEL[i]
            fj, sj = SEG_FINGER[j], SEG_LEVEL[j]
            if fi == fj:
                continue
            if fi == 5 or fj == 5:  # palm vs a finger segment
                f, s = (fj, sj) if fi == 5 else (fi, si)
                palm_k = si if fi == 5 else sj  # 0 index .. 3 pinky metacarpal
                if f == 0:
                    if s >= 1:
                        out.append((i, j))
                elif s >= 1 and not (palm_k == f - 1 and s == 0):
                    out.append((i, j))
                continue
            if fi == 0 and si == 0:  # thumb metacarpal vs phalanges of index/middle
                if fj in (1, 2):
                    out.append((i, j))
                continue
            out.append((i, j))
    return np.asarray(out, dtype=np.int64)


#: (P, 2) checked segment pairs, indices into the segment table.
PAIRS: np.ndarray = _pairs()


def segment_radii(skel: Skeleton) -> np.ndarray:
    """Capsule radius of every segment ``(24,)`` metres (15 finger segments, 4 palm)."""
    r = np.empty(len(_SEGS))
    for i, (_, _, f, s) in enumerate(_SEGS):
        r[i] = skel.palm_radius if f == 5 else skel.radii[f, s]
    return r


def segment_distance(p1: np.ndarray, q1: np.ndarray, p2: np.ndarray, q2: np.ndarray) -> np.ndarray:
    """Closest distance between segments ``p1q1`` and ``p2q2`` (``(..., 3)`` each) -> ``(...)``.

    The clamped closest-point method (Ericson, *Real-Time Collision Detection*, 5.1.9), vectorised.
    """
    d1 = q1 - p1
    d2 = q2 - p2
    r = p1 - p2
    a = np.einsum("...i,...i->...", d1, d1)
    e = np.einsum("...i,...i->...", d2, d2)
    f = np.einsum("...i,...i->...", d2, r)
    c = np.einsum("...i,...i->...", d1, r)
    b = np.einsum("...i,...i->...", d1, d2)
    denom = a * e - b * b
    eps = 1e-14
    s = np.where(denom > eps, np.clip((b * f - c * e) / np.where(denom > eps, denom, 1.0), 0.0, 1.0), 0.0)
    t = (b * s + f) / np.maximum(e, eps)
    # t outside [0,1]: clamp and recompute s.
    t_lo = t < 0.0
    t_hi = t > 1.0
    t = np.clip(t, 0.0, 1.0)
    s = np.where(t_lo, np.clip(-c / np.maximum(a, eps), 0.0, 1.0), s)
    s = np.where(t_hi, np.clip((b - c) / np.maximum(a, eps), 0.0, 1.0), s)
    # Degenerate segments (points): the closest point on the other segment directly.
    e0 = e <= eps
    a0 = a <= eps
    s = np.where(e0, np.clip(-c / np.maximum(a, eps), 0.0, 1.0), s)
    t = np.where(e0, 0.0, t)
    t = np.where(a0, np.clip(f / np.maximum(e, eps), 0.0, 1.0), t)
    s = np.where(a0, 0.0, s)
    c1 = p1 + s[..., None] * d1
    c2 = p2 + t[..., None] * d2
    return np.linalg.norm(c1 - c2, axis=-1)


def _raw_depths(skel: Skeleton, keypoints: np.ndarray) -> np.ndarray:
    kp = np.asarray(keypoints, dtype=np.float64)
    A = kp[..., SEG_A, :]
    B = kp[..., SEG_B, :]
    i, j = PAIRS[:, 0], PAIRS[:, 1]
    d = segment_distance(A[..., i, :], B[..., i, :], A[..., j, :], B[..., j, :])
    r = segment_radii(skel)
    return (r[i] + r[j]) - d


_REST_CACHE: dict[int, tuple[Skeleton, np.ndarray]] = {}


def rest_allowance(skel: Skeleton) -> np.ndarray:
    """``(P,)`` overlap of each capsule pair in the rest pose (metres, >= 0): capsules are a coarse
    stand-in for soft tissue, and whatever they overlap in the flat open hand is not a collision."""
    hit = _REST_CACHE.get(id(skel))
    if hit is not None and hit[0] is skel:
        return hit[1]
    allow = np.maximum(_raw_depths(skel, skel.forward(np.zeros((16, 3)))), 0.0)
    _REST_CACHE[id(skel)] = (skel, allow)
    return allow


def pair_depths(skel: Skeleton, keypoints: np.ndarray) -> np.ndarray:
    """Penetration depth of every checked pair beyond its rest-pose overlap, ``(..., P)`` metres
    (negative: a gap).

    Args:
        skel: supplies the capsule radii (and the rest pose).
        keypoints: ``(..., 21, 3)`` posed keypoints in metres (any rigid frame).
    """
    return _raw_depths(skel, keypoints) - rest_allowance(skel)


def penetration_depth(skel: Skeleton, keypoints: np.ndarray, allowance: np.ndarray | None = None) -> np.ndarray:
    """Largest capsule penetration of each pose, ``(...)`` metres (negative: no contact), less
    a per-pair ``allowance`` ``(..., P)`` metres (declared contacts, see :func:`contact_pairs_mask`)."""
    d = pair_depths(skel, keypoints)
    if allowance is not None:
        d = d - allowance
    return d.max(axis=-1)


def contact_pairs_mask(pairs: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> np.ndarray:
    """``(P,)`` True for the capsule pairs that belong to a declared finger contact: the distal
    segment of the thumb, or any segment of another finger (fingers held together touch along
    their length), against those of the other finger of a pair. Capsules
    stand in coarsely for the pads, so touching pads overlap their capsules by several mm; the
    contact itself is measured on the mesh."""
    from synth.hand.anatomy import FINGERS

    fi = SEG_FINGER[PAIRS]
    lv = SEG_LEVEL[PAIRS]
    surf = np.where(fi == 0, lv == 2, fi < 5)
    out = np.zeros(len(PAIRS), dtype=bool)
    for a, b in pairs:
        ia, ib = FINGERS.index(a), FINGERS.index(b)
        hit = ((fi[:, 0] == ia) & (fi[:, 1] == ib)) | ((fi[:, 0] == ib) & (fi[:, 1] == ia))
        out |= hit & surf.all(axis=1)
    return out


#: Extra capsule overlap (metres) granted to a declared contact pair: touching pads overlap their
#: capsules by up to ~7 mm (measured over the solved library), so only a deeper overlap is a collision.
CONTACT_ALLOWANCE = 0.009


def collision_free(
    skel: Skeleton, pose_deg: np.ndarray, tolerance: float = DEFAULT_TOLERANCE,
    allowance: np.ndarray | None = None,
) -> np.ndarray:
    """True where ``(..., 16, 3)`` poses (degrees) do not self-penetrate (proxy test); pairs of
    declared contacts may overlap by ``allowance`` ``(..., P)`` metres more."""
    return penetration_depth(skel, skel.forward(pose_deg), allowance) <= tolerance


def colliding_pairs(skel: Skeleton, pose_deg: np.ndarray, tolerance: float = DEFAULT_TOLERANCE) -> list[str]:
    """Human-readable colliding segment pairs of one pose (for error messages)."""
    from synth.hand.anatomy import FINGERS

    names = [("palm" if f == 5 else FINGERS[f]) + f"[{s}]" for _, _, f, s in _SEGS]
    d = pair_depths(skel, skel.forward(pose_deg))
    out = []
    for k in np.nonzero(d > tolerance)[0]:
        i, j = PAIRS[k]
        out.append(f"{names[i]}-{names[j]} {1000 * d[k]:.1f} mm")
    return out


# --- mesh test -----------------------------------------------------------------------------

#: Part ids (synth.hand.rig.PART_IDS) of the palm and of thumb..pinky.
PALM_PART = 2
FINGER_PARTS = (3, 4, 5, 6, 7)


def winding_numbers(points: np.ndarray, triangles: np.ndarray, chunk: int = 128) -> np.ndarray:
    """Generalised winding numbers ``(N,)`` of points ``(N, 3)`` w.r.t. triangles ``(F, 3, 3)``
    (van Oosterom & Strackee solid angles): ~1 inside a closed outward-oriented mesh, ~0 outside."""
    p = np.asarray(points, dtype=np.float64)
    tri = np.asarray(triangles, dtype=np.float64)
    out = np.empty(len(p))
    for s in range(0, len(p), chunk):
        q = p[s:s + chunk, None, None, :]
        d = tri[None] - q  # (n, F, 3, 3)
        a, b, c = d[..., 0, :], d[..., 1, :], d[..., 2, :]
        la, lb, lc = (np.linalg.norm(x, axis=-1) for x in (a, b, c))
        num = np.einsum("...i,...i->...", a, np.cross(b, c))
        den = (la * lb * lc + np.einsum("...i,...i->...", a, b) * lc
               + np.einsum("...i,...i->...", b, c) * la + np.einsum("...i,...i->...", c, a) * lb)
        out[s:s + chunk] = np.arctan2(num, den).sum(-1) / (2.0 * np.pi)
    return out


def mesh_test_vertices(rig: object, stride: int = 2, root_fraction: float = 0.5) -> np.ndarray:
    """Finger vertex ids tested by :func:`mesh_penetration`: every ``stride``-th vertex of
    parts thumb..pinky, leaving out the root of each finger (the first ``root_fraction`` of the
    proximal segment). The root borders the palm: it would test against the opening left there,
    and at strong MCP flexion linear blend skinning pushes its palmar crease into the palm."""
    from synth.hand import anatomy

    v = np.asarray(rig.template_vertices)
    parts = np.asarray(rig.parts)
    joints = np.asarray(rig.rest_joints)[np.asarray(rig.anat_bones)]
    keep = np.zeros(len(v), dtype=bool)
    for f, name in enumerate(anatomy.FINGERS):
        a, b, _ = anatomy.joints_of(name)
        sel = np.nonzero(parts == FINGER_PARTS[f])[0]
        ab = joints[b] - joints[a]
        t = (v[sel] - joints[a]) @ ab / float(ab @ ab)
        keep[sel[t > root_fraction]] = True
    return np.nonzero(keep)[0][::stride]


def mesh_penetration(
    vertices: np.ndarray,
    faces: np.ndarray,
    parts: np.ndarray,
    test_ids: np.ndarray,
    offset: float = MESH_OFFSET,
) -> int:
    """Mesh self-penetration test: how many finger vertices lie inside *another* part of the hand.

    Each tested vertex of finger part ``f`` is moved ``offset`` metres outward along its normal
    and its generalised winding number is taken over the surface with part ``f``'s own triangles
    removed. That surface (palm, forearm and the other fingers) is closed except where ``f``
    attaches, so the number is ~1 when the vertex is buried more than ``offset`` deep in another
    finger or the palm and ~0 otherwise -- skin folding onto its own finger at a flexion crease (a
    skinning artefact, not a collision) does not count.

    Args:
        vertices: ``(V, 3)`` posed vertices, metres (a closed, outward-oriented surface).
        faces: ``(F, 3)`` triangles.
        parts: ``(V,)`` part ids (3..7 thumb..pinky).
        test_ids: vertex ids to test (see :func:`mesh_test_vertices`).
        offset: penetration depth tolerated, metres.
    Returns:
        The number of tested vertices buried deeper than ``offset``.
    """
    from scipy.spatial import cKDTree

    v = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces)
    parts = np.asarray(parts)
    n = vertex_normals(v, faces)
    ids = np.asarray(test_ids)
    face_part = np.where((parts[faces] == parts[faces][:, :1]).all(1), parts[faces][:, 0], 0)
    total = 0
    for fp in FINGER_PARTS:
        sel = ids[parts[ids] == fp]
        if not len(sel):
            continue
        p = v[sel] + offset * n[sel]
        # Only points near another part can be inside it: cull with a k-d tree of the others.
        d, _ = cKDTree(v[parts != fp]).query(p, distance_upper_bound=0.02)
        near = np.isfinite(d)
        if not near.any():
            continue
        tri = v[faces[face_part != fp]]
        total += int((winding_numbers(p[near], tri) > 0.5).sum())
    return total


def mesh_collides(rig: object, pose_deg: np.ndarray, min_vertices: int = 3,
                  offset: float = MESH_OFFSET, shape: np.ndarray | None = None, stride: int = 2) -> bool:
    """The mesh test for one pose of a rig: at least ``min_vertices`` tested finger vertices
    (every ``stride``-th) buried deeper than ``offset`` metres (see :func:`mesh_penetration`)."""
    from synth.hand import skinning

    posed = skinning.forward(rig, shape=shape, pose=pose_deg)
    ids = mesh_test_vertices(rig, stride)
    return mesh_penetration(posed.vertices, rig.faces, rig.parts, ids, offset) >= min_vertices
