"""Contact-consistent grasp fitting: put a prop in a posed hand (pure numpy + trimesh).

``fit_grasp(hand_rig, shape, pose_deg, contacts, prop, rng) -> GraspFit | None``:

1. Pose the hand (:func:`synth.hand.skinning.forward`) and find the contact regions named by
   ``contacts`` (:mod:`synth.props.grasps`: finger pads, finger sides, palm).
2. Initial alignment: the grasp centre is the least-squares meeting point of the regions' normal
   lines; the opposition axis (thumb against the other contacts, or palm against the fingers) is
   matched to the prop axis whose size best fits the hand's aperture; the remaining axes and
   signs, and a small roll, are drawn from ``rng`` (a few starts). Grasps of a prop's *handle*
   (:data:`synth.props.grasps.HANDLE_GRASPS`: a mug hooked by its handle) instead put the
   handle's bar in the crook of the hooked fingers, the body beyond them (:func:`_handle_poses`),
   and add a knuckles-only pass to step 4 so that the fingers' crooks line up on the bar.
3. Levenberg-Marquardt on the prop's 6-DoF pose against the analytic signed distance
   (:mod:`synth.props.shapes`): each contact region's closest vertex is pulled to
   within ``[contact_lo, contact_hi]`` of the surface, every hand vertex is pushed out of the object.
4. Finger flexion adjustment: every finger's MCP/PIP/DIP (thumb CMC/MCP/IP) flexion may change by
   up to ``flex_tol_deg``; a batched forward pass tries a grid of offsets and keeps, per finger,
   the one that best removes penetration and closes its contacts. Steps 3-4 alternate twice.
5. Check against the prop's *meshes* (:func:`measure`, exact point-triangle distances, checked
   against :func:`trimesh.proximity.signed_distance` in the tests): max penetration of any hand
   vertex ``<= max_penetration`` (2 mm), every named region within ``contact_tol`` (3 mm) of the
   surface, and the thumb opposing another contact (:func:`opposition`) with the object between
   them (the segment joining the two contacts passes through it), so that a pinch does not end
   with the object merely touching the outside of two closed pads. Otherwise the next start is
   tried, and ``None`` is returned when none passes.

Speed: the analytic distances are evaluated only where they can matter. They are 1-Lipschitz,
so a vertex's distance at its last evaluation minus how far it has moved since (in the prop
frame), or its distance to the prop's bounding sphere, bounds it from below; vertices whose
bound clears the threshold of a query (the penetration margin in the optimisation, zero in the
checks) keep the bound. The objective is the same as with every distance evaluated.

All randomness comes from ``rng``; the result is a pure function of the inputs and the
Generator's state. :func:`sample_fit` draws grasp/prop pairs and re-draws failures.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import trimesh

from synth.geometry import vertex_normals
from synth.hand import anatomy, skinning
from synth.hand.rig import PART_IDS, HandRig
from synth.props.grasps import (
    GRASP_CONTACTS,
    HANDLE_GRASPS,
    REGIONS,
    contact_regions,
    contacts_for,
    region_finger,
)
from synth.props.library import PROP_NAMES, Prop, make_prop
from synth.props.shapes import mesh_signed_distance, row_sq_norms, union_sdf, union_sdf_grad

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitConfig:
    """Tolerances (metres, degrees) and effort of the fitter."""

    max_penetration: float = 0.002
    contact_tol: float = 0.003
    contact_lo: float = 0.0
    contact_hi: float = 0.0015
    pen_margin: float = 0.0004
    pen_weight: float = 3.0
    accept_margin: float = 0.0002
    flex_tol_deg: float = 10.0
    flex_steps: int = 9
    n_starts: int = 4
    lm_iters: int = 25
    refine_rounds: int = 2
    roll_jitter_deg: float = 15.0
    hopeless: float = 0.008
    max_opposition: float = -0.3
    thumb_abduction: bool = True
    mcp_pass: bool = False


@dataclass(frozen=True)
class Contact:
    """One named hand-object contact of a fit.

    Attributes:
        region: region name (``index``, ``palm``, ``index_side``...).
        finger: finger name, or ``None`` for the palm.
        vertex_id: the region's hand vertex closest to the object surface.
        vertex_ids: ``(n,)`` region vertices within the contact tolerance of the surface.
        distance: unsigned distance (m) of ``vertex_id`` to the object mesh.
    """

    region: str
    finger: str | None
    vertex_id: int
    vertex_ids: np.ndarray
    distance: float

    def as_dict(self) -> dict[str, object]:
        return {"region": self.region, "finger": self.finger, "vertex_id": self.vertex_id,
                "vertex_ids": [int(v) for v in self.vertex_ids], "distance_m": self.distance}


@dataclass(frozen=True)
class GraspFit:
    """A prop placed in a posed hand (everything in the hand *model* frame, metres).

    Attributes:
        prop: the drawn prop (mesh in its own frame).
        object_to_model: ``(4, 4)`` rigid transform from the prop frame to the hand model frame.
        pose_deg: ``(16, 3)`` the hand pose after the flexion adjustment (degrees).
        shape: ``(P,)`` hand shape parameters used.
        hand_vertices: ``(V, 3)`` posed hand vertices.
        contacts: the named contacts, measured on the meshes.
        max_penetration: deepest hand vertex inside the object mesh (m, 0 if none).
        grasp: grasp name if known.
        opposition: see :func:`opposition` (-1: the thumb presses straight against another
            contact; fits need <= ``FitConfig.max_opposition``).
        pose_offsets_deg: ``(16, 3)`` change of the pose made by the fit (degrees): finger
            flexion and the thumb CMC abduction, each within ``FitConfig.flex_tol_deg``.
        stage: how a sample's planner got it (:mod:`synth.props.holding`): ``drawn`` (fits the
            drawn gesture), ``fallback`` (another grasp or prop), or None (fitted directly).
    """

    prop: Prop
    object_to_model: np.ndarray
    pose_deg: np.ndarray
    shape: np.ndarray
    hand_vertices: np.ndarray
    contacts: tuple[Contact, ...]
    max_penetration: float
    grasp: str | None = None
    pose_offsets_deg: np.ndarray = field(default_factory=lambda: np.zeros((16, 3)))
    opposition: float = -1.0
    stage: str | None = None

    @property
    def object_vertices(self) -> np.ndarray:
        """``(N, 3)`` prop mesh vertices in the hand model frame."""
        v = np.asarray(self.prop.mesh.vertices)
        return v @ self.object_to_model[:3, :3].T + self.object_to_model[:3, 3]

    def object_mesh(self) -> trimesh.Trimesh:
        """The prop mesh in the hand model frame."""
        return trimesh.Trimesh(self.object_vertices, np.asarray(self.prop.mesh.faces), process=False)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary (no vertex arrays except the contact ids)."""
        return {
            "prop": self.prop.describe(),
            "grasp": self.grasp,
            "object_to_model": self.object_to_model.tolist(),
            "contacts": [c.as_dict() for c in self.contacts],
            "max_penetration_m": self.max_penetration,
            "pose_offsets_deg": np.round(self.pose_offsets_deg, 4).tolist(),
            "opposition": self.opposition,
        }


# ---- shape baked into a rig (forward passes without recomputing the shape) ------------------


_SHAPED: dict[tuple[int, bytes], tuple[HandRig, HandRig]] = {}


def shaped_rig(rig: HandRig, shape: np.ndarray) -> HandRig:
    """``rig`` with the shape ``(P,)`` baked into its rest vertices and joints (one inert
    shape parameter left), so repeated :func:`synth.hand.skinning.forward` calls skip the shape
    blend; ``forward(shaped_rig(rig, s), None, pose)`` equals ``forward(rig, s, pose)``."""
    sp = np.asarray(rig.shape_params(shape), dtype=np.float64)
    key = (id(rig), sp.tobytes())
    hit = _SHAPED.get(key)
    if hit is not None and hit[0] is rig:
        return hit[1]
    rest = skinning.forward(rig, sp, None)
    V, J = rig.n_vertices, rig.n_bones
    out = dataclasses.replace(
        rig, template_vertices=rest.rest_vertices, rest_joints=rest.joints, shape_kind="linear",
        shape_dirs=np.zeros((1, V, 3)), joint_shape_dirs=np.zeros((1, J, 3)), shape_names=("baked",),
        shape_default=np.zeros(1), shape_range=np.zeros((1, 2)), extra={},
    )
    if len(_SHAPED) > 32:
        _SHAPED.clear()
    _SHAPED[key] = (rig, out)
    return out


# ---- small geometry helpers ---------------------------------------------------------------------


def _rodrigues(w: np.ndarray) -> np.ndarray:
    th = float(np.linalg.norm(w))
    if th < 1e-12:
        return np.eye(3)
    k = w / th
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(th) * K + (1 - np.cos(th)) * (K @ K)


def _to_obj(P: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Model-frame points ``(N, 3)`` -> prop frame, for ``object_to_model = [R | t]``."""
    return (P - t) @ R


# ---- the objective ---------------------------------------------------------------------------


@dataclass
class _Problem:
    """The fitting objective. Distances are evaluated exactly only where they can matter:
    every analytic distance is 1-Lipschitz, so a hand vertex whose object-frame position moved by
    ``s`` since it was last measured at distance ``d0`` (or lies ``s`` outside the prop's bounding
    sphere) is at least ``d0 - s`` away; vertices whose lower bound clears the threshold of a
    query keep the bound instead of being evaluated. The residuals are therefore the same as with
    all distances evaluated, at a fraction of the cost."""

    prop: Prop
    regions: list[np.ndarray]  # vertex ids per named contact
    center: np.ndarray  # (3,) prop bbox centre, prop frame
    radius: float  # bounding radius about center
    cfg: FitConfig
    pen_mask: np.ndarray | None = None  # (V,) vertices that may not penetrate; None: all
    region_mask: np.ndarray | None = None  # (V,) union of the regions
    contact_prims: tuple | None = None  # primitives the contacts must touch (a handle); None: all
    _q0: np.ndarray | None = None  # (V, 3) object-frame positions at the last full query
    _l0: np.ndarray | None = None  # (V,) lower bounds of the distances there

    def bounded(self, q: np.ndarray, thr: float, allowed: np.ndarray | None = None,
                remember: bool = True) -> np.ndarray:
        """Signed distances ``(V,)`` of object-frame hand vertices ``q`` ``(V, 3)``: exact on the
        regions and wherever the distance may be below ``thr`` (among ``allowed`` vertices),
        a lower bound (``>= thr``) elsewhere."""
        lb = np.sqrt(row_sq_norms(q - self.center)) - self.radius
        if self._q0 is not None and len(self._q0) == len(q):
            lb = np.maximum(lb, self._l0 - np.sqrt(row_sq_norms(q - self._q0)))
        ev = lb < thr
        if allowed is not None:
            ev &= allowed
        if self.region_mask is not None:
            ev |= self.region_mask
        d = lb
        if ev.any():
            d[ev] = self.prop.sdf(q[ev])
        if remember:
            self._q0, self._l0 = q, d
        return d

    def distances(self, V: np.ndarray, R: np.ndarray, t: np.ndarray, thr: float = 0.0) -> np.ndarray:
        """Signed distances ``(V,)`` of hand vertices ``(V, 3)`` (model frame): exact on the
        regions and below ``thr``, a lower bound ``>= thr`` elsewhere."""
        return self.bounded(_to_obj(V, R, t), thr)

    def residuals(self, V: np.ndarray, R: np.ndarray, t: np.ndarray, jac: bool):
        """Residuals: per named region, the distance of its closest vertex outside the band
        ``[contact_lo, contact_hi]`` (zero inside it); per hand vertex closer than ``pen_margin``,
        ``pen_weight * (d - pen_margin)``. Also the ``(M, 6)`` Jacobian for the update
        ``R <- exp(w) R, t <- t + dt`` when ``jac``, and the distances ``(V,)`` (exact on the
        regions and below ``pen_margin``)."""
        cfg = self.cfg
        qa = _to_obj(V, R, t)
        d = self.bounded(qa, cfg.pen_margin, self.pen_mask)
        if self.contact_prims is None:
            ks = np.array([reg[np.argmin(d[reg])] for reg in self.regions], dtype=np.int64)
            dc = d[ks]
        else:
            dr = [union_sdf(self.contact_prims, qa[reg]) for reg in self.regions]
            ks = np.array([reg[np.argmin(x)] for reg, x in zip(self.regions, dr, strict=True)], dtype=np.int64)
            dc = np.array([x.min() for x in dr])
        rc = np.where(dc > cfg.contact_hi, dc - cfg.contact_hi, np.minimum(dc - cfg.contact_lo, 0.0))
        pen_ok = d < cfg.pen_margin
        if self.pen_mask is not None:
            pen_ok &= self.pen_mask
        pen = np.nonzero(pen_ok)[0]
        ii = np.concatenate([ks, pen])
        w = np.concatenate([(rc != 0).astype(np.float64), np.full(len(pen), cfg.pen_weight)])
        r = np.concatenate([rc, cfg.pen_weight * (d[pen] - cfg.pen_margin)])
        if not jac:
            return r, None, d
        q = _to_obj(V[ii], R, t)
        _, g = union_sdf_grad(self.prop.primitives, q)
        if self.contact_prims is not None:
            g[: len(ks)] = union_sdf_grad(self.contact_prims, q[: len(ks)])[1]
        gw = g @ R.T  # gradient in the model frame
        wv = V[ii] - t
        J = np.concatenate([np.cross(gw, wv), -gw], axis=1) * w[:, None]
        return r, J, d

    def region_distances(self, V: np.ndarray, R: np.ndarray, t: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Per named region, the signed distance ``(k,)`` of its closest vertex to the surface
        the contacts must touch (``d``: the distances of :meth:`distances`)."""
        if self.contact_prims is None:
            return np.array([d[reg].min() for reg in self.regions])
        return np.array([union_sdf(self.contact_prims, _to_obj(V[reg], R, t)).min() for reg in self.regions])

    def cost(self, V: np.ndarray, R: np.ndarray, t: np.ndarray) -> float:
        r, _, _ = self.residuals(V, R, t, jac=False)
        return float(r @ r)


def _lm(prob: _Problem, V: np.ndarray, R: np.ndarray, t: np.ndarray, iters: int
        ) -> tuple[np.ndarray, np.ndarray, float]:
    lam = 1e-3
    r, J, _ = prob.residuals(V, R, t, jac=True)
    cost = float(r @ r)
    for _ in range(iters):
        assert J is not None
        A = J.T @ J
        b = -J.T @ r
        D = np.diag(np.maximum(np.diag(A), 1e-9))
        try:
            step = np.linalg.solve(A + lam * D + 1e-12 * np.eye(6), b)
        except np.linalg.LinAlgError:
            break
        step[:3] = np.clip(step[:3], -0.3, 0.3)
        step[3:] = np.clip(step[3:], -0.02, 0.02)
        R2 = _rodrigues(step[:3]) @ R
        t2 = t + step[3:]
        r2, J2, _ = prob.residuals(V, R2, t2, jac=True)
        c2 = float(r2 @ r2)
        if c2 < cost:
            converged = cost - c2 < 1e-2 * cost
            R, t, r, J, cost = R2, t2, r2, J2, c2
            lam = max(lam / 3, 1e-6)
            if cost < 1e-10 or converged:
                break
        else:
            lam *= 5
            if lam > 1e4:
                break
    return R, t, cost


def _batch_distances(prob: _Problem, hands: np.ndarray, R: np.ndarray, t: np.ndarray,
                     allowed: np.ndarray, reach: float = 0.015) -> np.ndarray:
    """Distances ``(B, V)`` of a batch of posed hands ``(B, V, 3)`` (model frame), exact on the
    regions and wherever negative among the ``allowed`` ``(V,)`` vertices, a non-negative lower
    bound elsewhere (how far each vertex lies from its position in the middle hand of the batch,
    which is measured exactly up to ``reach`` m)."""
    B = len(hands)
    q = _to_obj(hands.reshape(-1, 3), R, t).reshape(B, -1, 3)
    mid = B // 2
    d0 = prob.bounded(q[mid], reach, allowed, remember=False)
    lb = np.sqrt(((q - prob.center) ** 2).sum(axis=2)) - prob.radius
    lb = np.maximum(lb, d0[None] - np.sqrt(((q - q[mid][None]) ** 2).sum(axis=2)))
    ev = (lb < 0.0) & allowed[None]
    if prob.region_mask is not None:
        ev |= prob.region_mask[None]
    ev[mid] = False
    d = lb
    d[mid] = d0
    if ev.any():
        d[ev] = prob.prop.sdf(q[ev])
    return d


def _adjust_fingers(
    rig: HandRig, pose0: np.ndarray, prob: _Problem, R: np.ndarray, t: np.ndarray,
    region_names: Sequence[str],
) -> tuple[np.ndarray, np.ndarray]:
    """Re-pose the fingers: per finger, flexion offsets within ``flex_tol_deg`` of ``pose0``
    (degrees) chosen on a grid in two passes (all three joints together; then the two distal
    joints, and the thumb CMC abduction), each a batched forward pass. Returns the new pose
    ``(16, 3)`` and vertices."""
    cfg = prob.cfg
    tol = cfg.flex_tol_deg
    deltas = np.linspace(-tol, tol, cfg.flex_steps)
    B = len(deltas)
    parts = rig.parts
    fingers_mask = parts >= PART_IDS["thumb"]
    pose = pose0.copy()
    thumb_cmc = anatomy.JOINT_INDEX["thumb_cmc"]
    # two passes, each one batched forward: per finger the (joint position, dof) pairs moved
    # together. First all three flexions; then the two distal flexions, and for the thumb its
    # CMC palmar abduction (its main opening motion) when enabled.
    all3 = [(0, 0), (1, 0), (2, 0)]
    distal = [(1, 0), (2, 0)]
    passes = [
        {f: all3 for f in anatomy.FINGERS},
        {f: ([(0, 1)] if f == "thumb" and cfg.thumb_abduction else distal) for f in anatomy.FINGERS},
    ]
    if cfg.mcp_pass:  # the knuckles alone: lines up the crooks of hooked fingers
        passes.insert(1, {f: [(0, 0)] for f in anatomy.FINGERS})
    for moves in passes:
        poses = np.repeat(pose[None], B, axis=0)
        for f, mv in moves.items():
            for jj, dof in mv:
                j = anatomy.joints_of(f)[jj]
                poses[:, j, dof] = np.clip(pose[j, dof] + deltas, pose0[j, dof] - tol, pose0[j, dof] + tol)
        poses = anatomy.clamp(poses)
        hands = skinning.forward(rig, None, poses).vertices  # (B, V, 3)
        d = _batch_distances(prob, hands, R, t, fingers_mask)  # (B, V)
        for fi, f in enumerate(anatomy.FINGERS):
            verts = np.nonzero(parts == fi + 3)[0]  # part ids: thumb 3 .. pinky 7
            pen = np.maximum(0.0, -d[:, verts].min(axis=1))
            costs = 20.0 * np.maximum(pen - cfg.pen_margin, 0.0)
            for name, reg in zip(region_names, prob.regions, strict=True):
                if region_finger(name) == f:
                    if prob.contact_prims is None:
                        dc = d[:, reg].min(axis=1)
                    else:
                        qr = _to_obj(hands[:, reg].reshape(-1, 3), R, t)
                        dc = union_sdf(prob.contact_prims, qr).reshape(B, len(reg)).min(axis=1)
                    costs = costs + np.maximum(dc - cfg.contact_hi, 0.0) + np.maximum(cfg.contact_lo - dc, 0.0)
            jf = list(anatomy.joints_of(f))
            costs = costs + 1e-6 * np.abs(poses[:, jf, :2] - pose0[jf, :2]).sum(axis=(1, 2)) / tol
            k = int(np.argmin(costs))
            pose[jf, :2] = poses[k, jf, :2]
    assert abs(pose[thumb_cmc, 1] - pose0[thumb_cmc, 1]) <= tol + 1e-9
    V = skinning.forward(rig, None, pose).vertices
    return pose, V


def measure(
    prop: Prop, hand_vertices: np.ndarray, object_to_model: np.ndarray,
    regions: dict[str, np.ndarray], names: Sequence[str], contact_tol: float = 0.003,
    near: float = 0.0015, per_region: int = 4,
) -> tuple[float, list[Contact]]:
    """Measure a placement on the prop's meshes (:func:`synth.props.shapes.mesh_signed_distance`).

    Queried hand vertices ``(V, 3)`` (model frame): those whose analytic distance to a component is
    under ``near`` (m; larger than the tessellation error, so no vertex farther away can be inside
    the mesh) and the ``per_region`` analytically closest vertices of each named region. Each is
    queried against the closed component meshes it is near; the union's signed distance is the
    max over components (trimesh: positive inside).

    Returns:
        ``(max_penetration_m, contacts)``; a contact's ``vertex_ids`` are the queried region
        vertices within ``contact_tol``.
    """
    R, t = object_to_model[:3, :3], object_to_model[:3, 3]
    q = _to_obj(hand_vertices, R, t)
    # only vertices that can be within reach of the surface are evaluated (bounding sphere)
    lo, hi = prop.mesh.bounds
    reach = max(near, 0.0) + contact_tol + 0.002
    cand = np.sqrt(row_sq_norms(q - (lo + hi) / 2)) - float(np.linalg.norm(hi - lo) / 2) < reach
    for n in names:
        cand[regions[n]] = True
    comp_d = np.full((len(prop.primitives), len(q)), np.inf)
    ci = np.nonzero(cand)[0]
    for c, p in enumerate(prop.primitives):
        comp_d[c, ci] = p.sdf(q[ci])  # (C, V), inf where out of reach
    d_an = comp_d.min(axis=0)
    sel = d_an < near
    for n in names:
        reg = regions[n]
        sel[reg[np.argsort(d_an[reg])[:per_region]]] = True
    sd = np.full(len(q), -np.inf)  # union signed distance, trimesh sign (positive inside)
    for c, mesh in enumerate(prop.component_meshes()):
        ids = np.nonzero(sel & (comp_d[c] < max(near, 0.0) + contact_tol + 0.002))[0]
        if len(ids):
            sd[ids] = np.maximum(sd[ids], mesh_signed_distance(mesh, q[ids], sign_hint=-comp_d[c, ids]))
    ids = np.nonzero(sel)[0]
    pen = float(max(0.0, sd[ids].max())) if len(ids) else 0.0
    contacts: list[Contact] = []
    for n in names:
        reg = regions[n]
        dist = np.abs(sd[reg])
        k = int(np.argmin(dist))
        contacts.append(Contact(n, region_finger(n), int(reg[k]), reg[dist <= contact_tol],
                                float(dist[k])))
    return pen, contacts


def opposition(prop: Prop, hand_vertices: np.ndarray, object_to_model: np.ndarray,
               contacts: Sequence[Contact]) -> float:
    """How squarely the thumb opposes the other contacts: the minimum over the other contacts of
    the dot product of the object's outward surface normals at the thumb's and at that contact's
    closest vertices (-1: opposite sides, as in a pinch; +1: the same side, i.e. not held).
    ``-1`` when the thumb is not a contact or is the only one."""
    names = [c.region for c in contacts]
    if "thumb" not in names or len(names) < 2:
        return -1.0
    R, t = object_to_model[:3, :3], object_to_model[:3, 3]
    q = _to_obj(hand_vertices[[c.vertex_id for c in contacts]], R, t)
    _, g = union_sdf_grad(prop.primitives, q)
    g = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
    k = names.index("thumb")
    others = [i for i in range(len(names)) if i != k]
    return float((g[others] @ g[k]).min())


def _through_handle(prop: Prop, hand_vertices: np.ndarray, object_to_model: np.ndarray,
                    parts: np.ndarray, names: Sequence[str]) -> bool:
    """Whether every finger named in ``names`` passes through the handle's loop
    (:meth:`synth.props.library.Prop.in_handle_opening` holds for one of its vertices)."""
    q = _to_obj(hand_vertices, object_to_model[:3, :3], object_to_model[:3, 3])
    for n in names:
        f = region_finger(n)
        if f is not None and not prop.in_handle_opening(q[parts == PART_IDS[f]]).any():
            return False
    return True


def _thumb_across(prop: Prop, hand_vertices: np.ndarray, object_to_model: np.ndarray,
                  contacts: Sequence[Contact], n: int = 64, depth: float = 0.0001) -> bool:
    """Whether the object lies between the thumb and at least one other contact: the segment
    joining their closest vertices passes at least ``depth`` m inside the object (analytic
    distance, ``n`` samples). True when the thumb is not a contact or is the only one."""
    names = [c.region for c in contacts]
    if "thumb" not in names or len(names) < 2:
        return True
    R, t = object_to_model[:3, :3], object_to_model[:3, 3]
    P = _to_obj(hand_vertices[[c.vertex_id for c in contacts]], R, t)
    k = names.index("thumb")
    s = np.linspace(0.0, 1.0, n)[:, None]
    segs = np.concatenate([P[k] * (1 - s) + P[i] * s for i in range(len(P)) if i != k])
    d = prop.sdf(segs).reshape(len(P) - 1, n)
    return bool((d.min(axis=1) < -depth).any())


# ---- initial alignment -------------------------------------------------------------------------


_AXIS_PERMS = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]


def _initial_poses(
    prop: Prop, V: np.ndarray, normals: np.ndarray, regions: list[np.ndarray], names: Sequence[str],
    side: str, rng: np.random.Generator, n: int, roll_jitter_deg: float,
) -> list[tuple[np.ndarray, np.ndarray]]:
    P = np.array([V[r].mean(axis=0) for r in regions])  # (k, 3)
    N = np.array([normals[r].mean(axis=0) for r in regions])
    N /= np.maximum(np.linalg.norm(N, axis=1, keepdims=True), 1e-12)
    # least-squares meeting point of the normal lines, pulled slightly to the contacts' centroid
    lam = 0.05 * len(P)
    A = lam * np.eye(3)
    b = lam * P.mean(axis=0)
    for p, nn in zip(P, N, strict=True):
        M = np.eye(3) - np.outer(nn, nn)
        A += M
        b += M @ p
    c0 = np.linalg.solve(A, b)
    is_thumb = np.array([nm == "thumb" for nm in names])
    is_palm = np.array([nm == "palm" for nm in names])
    if is_thumb.any() and (~is_thumb & ~is_palm).any():
        e1 = P[is_thumb].mean(0) - P[~is_thumb & ~is_palm].mean(0)
    elif is_palm.any() and (~is_palm).any():
        e1 = P[~is_palm].mean(0) - P[is_palm].mean(0)
    elif len(P) >= 2:
        e1 = P[0] - P[1]
    else:
        e1 = -N[0]
    aperture = float(np.linalg.norm(e1))
    e1 = e1 / max(aperture, 1e-9)
    if is_palm.any():
        # the palm presses on the object: the size along the palm normal matters, not the span
        aperture = max(aperture, 0.02)
    x = np.array([1.0, 0.0, 0.0])
    e2 = x - (x @ e1) * e1
    if np.linalg.norm(e2) < 1e-6:
        e2 = np.array([0.0, 0.0, 1.0]) - e1[2] * e1
    e2 /= np.linalg.norm(e2)
    e3 = np.cross(e1, e2)
    E = np.stack([e1, e2, e3], axis=1)  # columns

    # the main body (first primitive) decides the axes: a mug's handle must not make the axis
    # through the handle the "longest" one
    main = prop.primitives[0]
    blo, bhi = main.local_bounds()
    corners = np.array([[x, y, z] for x in (blo[0], bhi[0]) for y in (blo[1], bhi[1]) for z in (blo[2], bhi[2])])
    corners = corners @ main.transform[:3, :3].T + main.transform[:3, 3]
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    bc = (lo + hi) / 2
    size = hi - lo
    # rank axis permutations: prop axis on e1 closest to the aperture; palm grasps prefer the
    # longest axis across the palm (e2), others draw the order of the remaining two from rng
    scored = []
    for perm in _AXIS_PERMS:
        s = abs(size[perm[0]] - aperture)
        if is_palm.any():
            s += 0.2 * (size.max() - size[perm[1]])
        s += 1e-4 * rng.random()
        scored.append((s, perm))
    scored.sort(key=lambda x: x[0])
    out = []
    for _, perm in scored[:n]:
        signs = rng.choice([-1.0, 1.0], size=2)
        # prop axis perm[i] maps to E[:, i] (with a sign); fix the third sign for det = +1
        Rm = np.zeros((3, 3))
        Rm[:, perm[0]] = signs[0] * E[:, 0]
        Rm[:, perm[1]] = signs[1] * E[:, 1]
        Rm[:, perm[2]] = E[:, 2]
        if np.linalg.det(Rm) < 0:
            Rm[:, perm[2]] *= -1
        roll = np.radians(rng.uniform(-roll_jitter_deg, roll_jitter_deg))
        Rm = _rodrigues(e1 * roll) @ Rm
        t = c0 - Rm @ bc
        out.append((Rm, t))
    return out


def _handle_poses(
    prop: Prop, handle: int, V: np.ndarray, normals: np.ndarray,
    regions: list[np.ndarray], rng: np.random.Generator, n: int,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Starts for a hook grasp *of the handle* (primitive ``handle`` of ``prop``: a mug's handle
    bar, a capsule along its local z axis): the bar lies in the crook of the hooked fingers (the
    contact regions, e.g. the middle phalanges), which pass through the loop between the bar and
    the body. The bar runs across the fingers (through the crooks' most open points); the
    direction from the body to the bar is the mean outward normal of the contact regions, so the
    body lies beyond the fingers. The position along the bar, a small tilt and which end of the
    bar points to the thumb are drawn from ``rng``. Returns ``n`` ``(R, t)`` object-to-model
    starts."""
    prim = prop.primitives[handle]
    P = np.array([V[r].mean(axis=0) for r in regions])
    N = np.array([normals[r].mean(axis=0) for r in regions])
    N /= np.maximum(np.linalg.norm(N, axis=1, keepdims=True), 1e-12)
    # per region, the most open point of the crook along its normal (largest clearance from the
    # hand's surface): where the bar's centre line goes
    s = np.linspace(0.0, 0.025, 26)
    C = []
    for p, nn in zip(P, N, strict=True):
        cand = p + s[:, None] * nn  # (S, 3)
        clear = np.sqrt(((cand[:, None] - V[None]) ** 2).sum(-1)).min(axis=1)
        C.append(cand[int(np.argmax(clear))])
    C = np.array(C)
    c_model = C.mean(axis=0)
    e1 = N.mean(axis=0)
    e1 /= max(float(np.linalg.norm(e1)), 1e-9)
    x = C[-1] - C[0] if len(C) > 1 else np.array([1.0, 0.0, 0.0])
    e2 = x - (x @ e1) * e1  # the bar's axis: across the fingers
    e2 /= max(float(np.linalg.norm(e2)), 1e-9)
    Rh, th = prim.transform[:3, :3], prim.transform[:3, 3]
    half_len = float(prim.local_bounds()[1][2])
    axis = Rh[:, 2]  # the bar's axis, prop frame
    out_dir = th - (th @ axis) * axis  # from the body's axis to the bar
    out_dir /= max(float(np.linalg.norm(out_dir)), 1e-9)
    F = np.stack([out_dir, axis, np.cross(out_dir, axis)], axis=1)  # prop frame, columns
    out = []
    for _ in range(n):
        sgn = float(rng.choice([-1.0, 1.0]))  # the mug's top toward the thumb or the little finger
        E = np.stack([e1, sgn * e2, sgn * np.cross(e1, e2)], axis=1)
        tilt = np.radians(rng.uniform(-8.0, 8.0))
        Rm = _rodrigues(e1 * tilt) @ E @ F.T
        c_prop = th + axis * rng.uniform(-0.15, 0.15) * half_len
        out.append((Rm, c_model - Rm @ c_prop))
    return out


# ---- the public API ----------------------------------------------------------------------------


def handle_primitive(prop: Prop, grasp: str | None) -> int | None:
    """Index of the primitive of ``prop`` that ``grasp`` holds it by (its handle, see
    :data:`synth.props.grasps.HANDLE_GRASPS`), or ``None`` when the grasp holds the whole object."""
    if grasp not in HANDLE_GRASPS:
        return None
    return prop.handle


def fit_contacts(grasp: str, prop: Prop | str) -> tuple[str, ...]:
    """The hand regions that touch ``prop`` (a :class:`Prop` or a prop name) in a fit of the Feix
    grasp ``grasp``: :data:`synth.props.grasps.HANDLE_GRASPS` when the prop has a handle and the
    grasp holds it by the handle, else :data:`synth.props.grasps.GRASP_CONTACTS`."""
    has_handle = (make_prop(prop, np.random.default_rng(0)).handle if isinstance(prop, str) else prop.handle) is not None
    if grasp in HANDLE_GRASPS and has_handle:
        return HANDLE_GRASPS[grasp]
    return contacts_for(grasp)


def resolve_contacts(contacts: Sequence[str] | str) -> tuple[str, ...]:
    """A grasp name (str) or a list of region names -> validated region names."""
    names = contacts_for(contacts) if isinstance(contacts, str) else tuple(contacts)
    if not names:
        raise ValueError("at least one contact region is needed")
    for n in names:
        if n not in REGIONS:
            raise ValueError(f"unknown contact region {n!r}; expected one of {', '.join(REGIONS)}")
    return names


def fit_grasp(
    hand_rig: HandRig,
    shape: np.ndarray | dict[str, float] | None,
    pose_deg: np.ndarray,
    contacts: Sequence[str] | str,
    prop_name: str | Prop,
    rng: np.random.Generator,
    config: FitConfig | None = None,
    grasp: str | None = None,
) -> GraspFit | None:
    """Place a prop in the posed hand so that the named contacts touch it and nothing penetrates.

    Args:
        hand_rig: the hand model (e.g. ``synth.hand.models.load_model("open-hand", "right")``).
        shape: ``(P,)`` shape parameters (``None``: the rig default).
        pose_deg: ``(16, 3)`` anatomical pose, degrees (e.g. a grasp gesture's pose).
        contacts: region names (:data:`synth.props.grasps.REGIONS`) or a Feix grasp name.
        prop_name: a prop name (drawn from ``rng``) or an already drawn :class:`Prop`.
        rng: the sample's Generator (start orientations; prop size when a name is given).
        config: tolerances and effort.
        grasp: grasp name stored in the result (defaults to ``contacts`` when it is a str).

    Returns:
        A :class:`GraspFit` that passed the mesh checks, or ``None``.
    """
    cfg = config or FitConfig()
    names = resolve_contacts(contacts)
    if grasp is None and isinstance(contacts, str):
        grasp = contacts
    prop = make_prop(prop_name, rng) if isinstance(prop_name, str) else prop_name
    handle = handle_primitive(prop, grasp)
    if handle is not None and isinstance(contacts, str):
        names = fit_contacts(contacts, prop)  # held by the handle: the hooked fingers touch it
        cfg = dataclasses.replace(cfg, mcp_pass=True)
    sp = hand_rig.shape_params(shape)
    rig_s = shaped_rig(hand_rig, sp)
    pose0 = anatomy.clamp(anatomy.as_pose(pose_deg))
    all_regions = contact_regions(hand_rig)
    regions = [all_regions[n] for n in names]
    lo, hi = prop.mesh.bounds
    prob = _Problem(prop, regions, (lo + hi) / 2, float(np.linalg.norm(hi - lo) / 2), cfg)
    prob.region_mask = np.zeros(hand_rig.n_vertices, dtype=bool)
    for reg in regions:
        prob.region_mask[reg] = True
    posed0 = skinning.forward(rig_s, None, pose0)
    V0 = posed0.vertices
    normals = vertex_normals(V0, hand_rig.faces)
    if handle is not None:
        prob.contact_prims = tuple(prop.primitives[handle:])
        starts = _handle_poses(prop, handle, V0, normals, regions, rng, cfg.n_starts)
    else:
        starts = _initial_poses(prop, V0, normals, regions, names, hand_rig.side, rng, cfg.n_starts,
                                cfg.roll_jitter_deg)
    lim = cfg.contact_tol - cfg.accept_margin
    fingers = {region_finger(n) for n in names} - {None}
    contact_fingers = np.isin(hand_rig.parts, [PART_IDS[f] for f in fingers])
    for si, (R, t) in enumerate(starts):
        V, pose = V0, pose0
        # precision grasps: first place the object against the other fingers only; the contact
        # fingers may overlap it (they open or close to it in the adjustment that follows)
        prob.pen_mask = None if "palm" in names else ~contact_fingers
        R, t, _ = _lm(prob, V, R, t, cfg.lm_iters)
        prob.pen_mask = None
        for rnd in range(cfg.refine_rounds):
            pose, V = _adjust_fingers(rig_s, pose0, prob, R, t, names)
            R, t, _ = _lm(prob, V, R, t, max(cfg.lm_iters // 2, 5))
            d = prob.distances(V, R, t)
            if rnd == 0 and prob.region_distances(V, R, t, d).max() > cfg.hopeless:
                break  # a contact this far will not close within the flexion tolerance
        d = prob.distances(V, R, t)
        pen_an = max(0.0, -float(d.min()))
        dreg = prob.region_distances(V, R, t, d)
        con_an = float(np.abs(dreg).max())
        if pen_an > cfg.max_penetration or con_an > lim:
            if not logger.isEnabledFor(logging.DEBUG):
                continue
            worst = int(np.argmin(d))
            logger.debug("start %d: analytic pen %.2f mm (part %d, primitive %d), contacts %s mm", si,
                         pen_an * 1e3, int(hand_rig.parts[worst]),
                         int(np.argmin([p.sdf(_to_obj(V[worst:worst + 1], R, t))[0] for p in prop.primitives])),
                         [round(float(x) * 1e3, 1) for x in dreg])
            continue
        T = np.eye(4)
        T[:3, :3], T[:3, 3] = R, t
        pen, cons = measure(prop, V, T, all_regions, names, cfg.contact_tol)
        opp = opposition(prop, V, T, cons)
        if handle is not None and not _through_handle(prop, V, T, hand_rig.parts, names):
            logger.debug("start %d: a hooked finger does not pass through the handle", si)
            continue
        if opp > cfg.max_opposition or not _thumb_across(prop, V, T, cons):
            logger.debug("start %d: no opposition (thumb normal . others = %.2f)", si, opp)
            continue
        if pen <= cfg.max_penetration and all(c.distance <= cfg.contact_tol for c in cons):
            return GraspFit(prop, T, pose, sp, V, tuple(cons), pen, grasp, pose - pose0, opp)
        logger.debug("start %d rejected by the mesh check: pen %.2f mm, contacts %s", si, pen * 1e3,
                     [round(c.distance * 1e3, 2) for c in cons])
    return None


def affording_pairs(grasps: Sequence[str] | None = None, props: Sequence[str] | None = None
                    ) -> list[tuple[str, str]]:
    """All (grasp, prop) pairs where the prop affords the grasp and the grasp has known contacts."""
    from synth.props.library import affordances

    g_ok = set(grasps) if grasps is not None else set(GRASP_CONTACTS)
    out = []
    for p in props if props is not None else PROP_NAMES:
        for g in affordances(p):
            if g in g_ok and g in GRASP_CONTACTS:
                out.append((g, p))
    return out


def sample_fit(
    hand_rig: HandRig,
    shape: np.ndarray | dict[str, float] | None,
    rng: np.random.Generator,
    pose_of: dict[str, np.ndarray],
    pairs: Sequence[tuple[str, str]] | None = None,
    max_tries: int = 8,
    config: FitConfig | None = None,
) -> GraspFit | None:
    """Draw a (grasp, prop) pair from ``pairs`` and fit it; failures are re-drawn (new pair and
    new prop instance) up to ``max_tries`` times. ``pose_of`` maps grasp names to ``(16, 3)``
    poses (e.g. ``{g.name: g.pose for g in load_library().in_category("grasp")}``)."""
    pairs = [p for p in (pairs if pairs is not None else affording_pairs()) if p[0] in pose_of]
    if not pairs:
        raise ValueError("no (grasp, prop) pair to draw from: check the grasp poses and props given")
    for _ in range(max_tries):
        g, p = pairs[int(rng.integers(len(pairs)))]
        fit = fit_grasp(hand_rig, shape, pose_of[g], g, p, rng, config, grasp=g)
        if fit is not None:
            return fit
    return None
