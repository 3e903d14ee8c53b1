"""Contact-consistent grasp fitting: put a prop in a posed hand (pure numpy + trimesh).

``fit_grasp(hand_rig, shape, pose_deg, contacts, prop, rng) -> GraspFit | None``:

1. Pose the hand (:func:`synth.hand.skinning.forward`) and find the contact regions named by
   ``contacts`` (:mod:`synth.props.grasps`: finger pads, finger sides, palm).
2. Initial alignment: the grasp centre is the least-squares meeting point of the regions' normal
   lines; the opposition axis (thumb against the other contacts, or palm against the fingers) is
   matched to the prop axis whose size best fits the hand's aperture; the remaining axes and
   signs, and a small roll, are drawn from ``rng`` (a few starts).
3. Levenberg-Marquardt on the prop's 6-DoF pose against the analytic signed distance
   (:mod:`synth.props.shapes`): each contact region's closest vertex is pulled to
   ``contact_target`` from the surface, every hand vertex is pushed out of the object.
4. Finger flexion adjustment: every finger's MCP/PIP/DIP (thumb CMC/MCP/IP) flexion may change by
   up to ``flex_tol_deg``; a batched forward pass tries a grid of offsets and keeps, per finger,
   the one that best removes penetration and closes its contacts. Steps 3-4 alternate twice.
5. Check against the *meshes* with :func:`trimesh.proximity.signed_distance`
   (:func:`measure`): max penetration of any hand vertex ``<= max_penetration`` (2 mm) and every
   named region within ``contact_tol`` (3 mm) of the surface. Otherwise the next start is tried,
   and ``None`` is returned when none passes.

All randomness comes from ``rng``; the result is a pure function of the inputs and the
Generator's state. :func:`sample_fit` draws grasp/prop pairs and re-draws failures.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import trimesh

from synth.hand import anatomy, skinning
from synth.hand.rig import HandRig
from synth.props.grasps import GRASP_CONTACTS, REGIONS, contact_regions, contacts_for, region_finger
from synth.props.library import PROP_NAMES, Prop, make_prop
from synth.props.shapes import union_sdf, union_sdf_grad

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitConfig:
    """Tolerances (metres, degrees) and effort of the fitter."""

    max_penetration: float = 0.002
    contact_tol: float = 0.003
    contact_target: float = 0.0008
    pen_margin: float = 0.0004
    flex_tol_deg: float = 10.0
    flex_steps: int = 9
    n_starts: int = 4
    lm_iters: int = 25
    refine_rounds: int = 2
    roll_jitter_deg: float = 15.0


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
        flex_offsets_deg: ``(5,)`` flexion offset applied per finger (thumb..pinky).
    """

    prop: Prop
    object_to_model: np.ndarray
    pose_deg: np.ndarray
    shape: np.ndarray
    hand_vertices: np.ndarray
    contacts: tuple[Contact, ...]
    max_penetration: float
    grasp: str | None = None
    flex_offsets_deg: np.ndarray = field(default_factory=lambda: np.zeros(5))

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
            "flex_offsets_deg": [float(x) for x in self.flex_offsets_deg],
        }


# ---- small geometry helpers ---------------------------------------------------------------------


def _vertex_normals(V: np.ndarray, F: np.ndarray) -> np.ndarray:
    fn = np.cross(V[F[:, 1]] - V[F[:, 0]], V[F[:, 2]] - V[F[:, 0]])
    n = np.zeros_like(V)
    for k in range(3):
        np.add.at(n, F[:, k], fn)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


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
    prop: Prop
    regions: list[np.ndarray]  # vertex ids per named contact
    center: np.ndarray  # (3,) prop bbox centre, prop frame
    radius: float  # bounding radius about center
    cfg: FitConfig

    def near(self, q: np.ndarray, pad: float = 0.01) -> np.ndarray:
        return np.linalg.norm(q - self.center, axis=1) < self.radius + pad

    def distances(self, V: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Analytic signed distance of every hand vertex (far ones get a large value)."""
        q = _to_obj(V, R, t)
        d = np.full(len(V), 1.0)
        m = self.near(q)
        if m.any():
            d[m] = self.prop.sdf(q[m])
        return d

    def residuals(self, V: np.ndarray, R: np.ndarray, t: np.ndarray, jac: bool):
        cfg = self.cfg
        d = self.distances(V, R, t)
        idx: list[int] = []
        target: list[float] = []
        weight: list[float] = []
        for reg in self.regions:
            k = int(reg[np.argmin(d[reg])])
            idx.append(k)
            target.append(cfg.contact_target)
            weight.append(1.0)
        pen = np.nonzero(d < cfg.pen_margin)[0]
        idx.extend(pen.tolist())
        target.extend([cfg.pen_margin] * len(pen))
        weight.extend([3.0] * len(pen))
        ii = np.asarray(idx, dtype=np.int64)
        tg = np.asarray(target)
        w = np.asarray(weight)
        r = d[ii] - tg
        if len(self.regions):
            # contacts only pull when outside the target, and push when inside it
            pass
        r = w * r
        # penetration residuals are one-sided (already selected); contacts are two-sided
        if not jac:
            return r, None, d
        q = _to_obj(V[ii], R, t)
        _, g = union_sdf_grad(self.prop.primitives, q)
        gw = g @ R.T  # gradient in the model frame
        wv = V[ii] - t
        J = np.concatenate([np.cross(gw, wv), -gw], axis=1) * w[:, None]
        return r, J, d

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
            R, t, r, J, cost = R2, t2, r2, J2, c2
            lam = max(lam / 3, 1e-6)
            if cost < 1e-10:
                break
        else:
            lam *= 5
            if lam > 1e4:
                break
    return R, t, cost


def _adjust_fingers(
    rig: HandRig, shape: np.ndarray, pose: np.ndarray, base_offsets: np.ndarray, prob: _Problem,
    R: np.ndarray, t: np.ndarray, region_names: Sequence[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per finger flexion offset (degrees, within the tolerance around ``base_offsets = 0``)."""
    cfg = prob.cfg
    deltas = np.linspace(-cfg.flex_tol_deg, cfg.flex_tol_deg, cfg.flex_steps)
    B = len(deltas)
    poses = np.repeat(pose[None], B, axis=0)
    for f in anatomy.FINGERS:
        for j in anatomy.joints_of(f):
            poses[:, j, 0] = pose[j, 0] + deltas
    poses = anatomy.clamp(poses)
    hands = skinning.forward(rig, shape, poses).vertices  # (B, V, 3)
    parts = rig.parts
    best = np.zeros(5)
    out_pose = pose.copy()
    for fi, f in enumerate(anatomy.FINGERS):
        fid = fi + 3  # part ids: thumb 3 .. pinky 7
        verts = np.nonzero(parts == fid)[0]
        regs = [(k, reg) for k, (name, reg) in enumerate(zip(region_names, prob.regions, strict=True))
                if region_finger(name) == f]
        costs = np.empty(B)
        for b in range(B):
            d = prob.distances(hands[b][verts], R, t)
            pen = max(0.0, -float(d.min()))
            c = 20.0 * max(pen - cfg.pen_margin, 0.0)
            if regs:
                dm = prob.distances(hands[b], R, t)
                for _, reg in regs:
                    c += abs(float(dm[reg].min()) - cfg.contact_target)
            c += 1e-5 * abs(deltas[b] - base_offsets[fi]) / cfg.flex_tol_deg
            costs[b] = c
        k = int(np.argmin(costs))
        best[fi] = deltas[k]
        for j in anatomy.joints_of(f):
            out_pose[j, 0] = poses[k, j, 0]
    V = skinning.forward(rig, shape, out_pose).vertices
    return out_pose, best, V


def measure(
    prop: Prop, hand_vertices: np.ndarray, object_to_model: np.ndarray,
    regions: dict[str, np.ndarray], names: Sequence[str], contact_tol: float = 0.003,
    near: float = 0.01,
) -> tuple[float, list[Contact]]:
    """Measure a placement on the meshes with :func:`trimesh.proximity.signed_distance`.

    Hand vertices ``(V, 3)`` (model frame) whose analytic distance is under ``near`` (m), and all
    vertices of the named regions, are queried against each closed component mesh of the prop;
    the union's signed distance is the max over components (trimesh: positive inside).

    Returns:
        ``(max_penetration_m, contacts)``.
    """
    R, t = object_to_model[:3, :3], object_to_model[:3, 3]
    q = _to_obj(hand_vertices, R, t)
    d_an = union_sdf(prop.primitives, q)
    sel = d_an < near
    for n in names:
        sel[regions[n]] = True
    ids = np.nonzero(sel)[0]
    sd = np.full(len(q), -np.inf)
    if len(ids):
        parts = [trimesh.proximity.signed_distance(m, q[ids]) for m in prop.component_meshes()]
        sd[ids] = np.max(parts, axis=0)
    pen = float(max(0.0, sd[ids].max())) if len(ids) else 0.0
    contacts: list[Contact] = []
    for n in names:
        reg = regions[n]
        dist = np.abs(sd[reg])
        k = int(np.argmin(dist))
        contacts.append(Contact(n, region_finger(n), int(reg[k]), reg[dist <= contact_tol],
                                float(dist[k])))
    return pen, contacts


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

    lo, hi = prop.mesh.bounds
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


# ---- the public API ----------------------------------------------------------------------------


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
    sp = hand_rig.shape_params(shape)
    pose0 = anatomy.clamp(anatomy.as_pose(pose_deg))
    all_regions = contact_regions(hand_rig)
    regions = [all_regions[n] for n in names]
    lo, hi = prop.mesh.bounds
    prob = _Problem(prop, regions, (lo + hi) / 2, float(np.linalg.norm(hi - lo) / 2), cfg)
    V0 = skinning.forward(hand_rig, sp, pose0).vertices
    normals = _vertex_normals(V0, hand_rig.faces)
    starts = _initial_poses(prop, V0, normals, regions, names, hand_rig.side, rng, cfg.n_starts,
                            cfg.roll_jitter_deg)
    for si, (R, t) in enumerate(starts):
        V, pose = V0, pose0
        offsets = np.zeros(5)
        R, t, _ = _lm(prob, V, R, t, cfg.lm_iters)
        for _ in range(cfg.refine_rounds):
            pose, offs, V = _adjust_fingers(hand_rig, sp, pose0, offsets, prob, R, t, names)
            offsets = offs
            R, t, _ = _lm(prob, V, R, t, max(cfg.lm_iters // 2, 5))
        d = prob.distances(V, R, t)
        pen_an = max(0.0, -float(d.min()))
        con_an = max(float(np.abs(d[reg]).min()) for reg in regions)
        if pen_an > cfg.max_penetration or con_an > cfg.contact_tol:
            logger.debug("start %d: analytic pen %.2f mm, contacts %s mm, flex %s", si, pen_an * 1e3,
                         [round(float(d[reg].min()) * 1e3, 1) for reg in regions], offsets)
            continue
        T = np.eye(4)
        T[:3, :3], T[:3, 3] = R, t
        pen, cons = measure(prop, V, T, all_regions, names, cfg.contact_tol)
        if pen <= cfg.max_penetration and all(c.distance <= cfg.contact_tol for c in cons):
            return GraspFit(prop, T, pose, sp, V, tuple(cons), pen, grasp, offsets)
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
