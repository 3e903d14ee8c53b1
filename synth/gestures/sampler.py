"""Anatomical pose sampler: variations around gestures, blends, and natural random hands.

Every random choice comes from the ``numpy.random.Generator`` passed in, so a given generator
state and request always give the same poses. Poses are drawn in batches; each candidate is
clamped to :data:`synth.hand.anatomy.LIMITS` and tested for self-penetration with the capsule
proxy (:mod:`synth.gestures.collision`); rejected slots are re-drawn from the same generator in
the next round, so the re-draws are deterministic too.

Modes (chosen per sample with probabilities ``SamplerConfig.p_*``):

* ``variation``: a library gesture plus anatomically coupled noise. Per finger a "curl" offset
  ``c ~ N(0, sigma * looseness)`` moves MCP by ``0.8 c`` and PIP by ``c``; the DIP follows the PIP
  (``dDIP = 2/3 dPIP``, the tendon coupling of the flexor profundus), plus small independent
  per-joint noise; ``looseness`` is drawn per finger in ``looseness_range``. Neighbouring fingers
  share part of their curl offset (ring with middle and little finger, as the shared flexor
  muscle bellies do). Abduction, thumb and wrist get their own noise.
* ``blend``: a convex mix ``(1 - t) a + t b`` of two library gestures, plus light coupled noise.
* ``random``: a natural random hand over the whole range of motion: a per-finger curl level drawn
  around a hand-wide level, MCP/PIP/DIP from it with the same DIP coupling, a common spread,
  and a thumb drawn over its limits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from synth.gestures import collision
from synth.gestures.library import GestureLibrary, load_library
from synth.gestures.skeleton import Skeleton
from synth.hand import anatomy

logger = logging.getLogger(__name__)

MODES: tuple[str, ...] = ("variation", "blend", "random")
_FLEX = np.s_[..., 0]
_FINGER_ROWS = np.array([[4, 5, 6], [7, 8, 9], [10, 11, 12], [13, 14, 15]])
_LO = anatomy.LIMITS[..., 0]
_HI = anatomy.LIMITS[..., 1]


@dataclass(frozen=True)
class SamplerConfig:
    """Sampler parameters (angles in degrees).

    Attributes:
        curl_sigma: std of the per-finger coupled curl offset in ``variation`` mode.
        joint_sigma: std of the independent per-joint flexion noise.
        abd_sigma: std of the finger abduction noise.
        thumb_sigma: std of the thumb angle noise.
        wrist_sigma: std of (flex, deviation, twist) wrist noise.
        looseness_range: per-finger multiplier range on the noise.
        blend_sigma_scale: noise scale in ``blend`` mode relative to ``variation``.
        p_variation, p_blend, p_random: mode probabilities (normalised).
        tolerance: proxy penetration tolerance, metres.
        max_rounds: re-draw rounds before giving up.
    """

    curl_sigma: float = 9.0
    joint_sigma: float = 4.0
    abd_sigma: float = 3.0
    thumb_sigma: float = 6.0
    wrist_sigma: tuple[float, float, float] = (15.0, 7.0, 4.0)
    looseness_range: tuple[float, float] = (0.4, 1.6)
    blend_sigma_scale: float = 0.5
    p_variation: float = 0.6
    p_blend: float = 0.25
    p_random: float = 0.15
    tolerance: float = collision.DEFAULT_TOLERANCE
    max_rounds: int = 60


@dataclass
class PoseBatch:
    """Sampled poses and where they came from.

    Attributes:
        poses: ``(N, 16, 3)`` anatomical angles, degrees, within LIMITS and collision-free.
        gesture: ``(N,)`` gesture of origin (``"natural_random"`` for random mode).
        mode: ``(N,)`` one of :data:`MODES`.
        blend_with: ``(N,)`` second gesture of a blend (``""`` otherwise).
        blend_t: ``(N,)`` blend weight of ``blend_with`` (0 otherwise).
    """

    poses: np.ndarray
    gesture: np.ndarray
    mode: np.ndarray
    blend_with: np.ndarray
    blend_t: np.ndarray
    attempts: int = 0

    def __len__(self) -> int:
        return int(self.poses.shape[0])

    def take(self, idx: np.ndarray) -> PoseBatch:
        """A sub-batch by index array."""
        return PoseBatch(self.poses[idx], self.gesture[idx], self.mode[idx], self.blend_with[idx],
                         self.blend_t[idx], self.attempts)


def default_skeleton_for(side: str = "right", model: str = "open-hand") -> Skeleton:
    """The skeleton of a hand model (the built-in open hand by default)."""
    from synth.gestures.skeleton import skeleton_from_rig
    from synth.hand.models import load_model

    return skeleton_from_rig(load_model(model, side))


@dataclass
class PoseSampler:
    """Draws valid poses from a gesture library (see the module docstring).

    Args:
        library: gestures to vary and blend (default: the shipped library).
        skeleton: kinematic skeleton for the collision proxy (default: the open hand's).
        config: sampling parameters.
        gestures: restrict ``variation``/``blend`` to these gesture names.
        weights: relative weight of drawing each gesture as a pose's gesture (names not listed
            weigh 1; ``hand.gesture_weights`` of the job config). Empty, None or all-equal: the
            uniform draw (the same random numbers as without weights). The second gesture of a
            blend stays uniform, so a weight scales its gesture's share of the poses exactly
            (share ``w_g c_g / sum_u w_u c_u``, ``c`` the unweighted shares).
        mesh_rig: if given (a :class:`synth.hand.rig.HandRig`), poses that pass the proxy are also
            checked with the exact mesh test (:func:`collision.mesh_collides`, ~0.15 s per pose)
            and re-drawn when they fail: slow, for when every pose must be verified on the mesh.
            Poses of gestures with declared contacts are instead checked on the mesh for those
            contacts (:func:`synth.gestures.contact.measure_pair` within
            :data:`synth.gestures.contact.CONTACT_TOL`) and for penetration deeper than 2 mm
            (:func:`synth.gestures.contact.penetration_depths`); the band test of
            ``mesh_collides`` would count touching pads as a collision.
    """

    library: GestureLibrary | None = None
    skeleton: Skeleton | None = None
    config: SamplerConfig = field(default_factory=SamplerConfig)
    gestures: list[str] | None = None
    mesh_rig: object | None = None
    weights: dict[str, float] | None = None

    def __post_init__(self) -> None:
        if self.library is None:
            self.library = load_library()
        if self.skeleton is None:
            self.skeleton = default_skeleton_for("right")
        names = self.gestures if self.gestures else self.library.names
        self._names = np.array([self.library.get(n).name for n in names])
        self._base = np.stack([self.library.get(n).pose for n in names])
        self._meaning = {n: _Meaning.of(self.library.get(n), self.skeleton) for n in self._names}
        self._w: np.ndarray | None = None  # None: uniform (rng.integers, as before weights existed)
        if self.weights:
            by_name = {self.library.get(k).name: float(v) for k, v in self.weights.items()}
            w = np.array([by_name.get(str(n), 1.0) for n in self._names])
            if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
                raise ValueError("gesture weights must be finite, >= 0 and not all zero over the gestures drawn")
            if not np.all(w == w[0]):
                self._w = w / w.sum()
        c = self.config
        p = np.array([c.p_variation, c.p_blend, c.p_random], dtype=float)
        if (p < 0).any() or p.sum() <= 0:
            raise ValueError("mode probabilities must be non-negative and not all zero")
        self._p = p / p.sum()

    # --- public -------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator, n: int, mode: str | None = None) -> PoseBatch:
        """Draw ``n`` valid poses.

        Args:
            rng: the only source of randomness.
            n: number of poses.
            mode: force one of :data:`MODES` (default: mixed by the configured probabilities).
        Raises:
            RuntimeError: if some slot stays invalid after ``config.max_rounds`` rounds.
        """
        if mode is not None and mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
        poses = np.zeros((n, 16, 3))
        gesture = np.empty(n, dtype=object)
        modes = np.empty(n, dtype=object)
        other = np.full(n, "", dtype=object)
        tt = np.zeros(n)
        todo = np.arange(n)
        attempts = 0
        for _ in range(self.config.max_rounds):
            if not len(todo):
                break
            cand = self._draw(rng, len(todo), mode)
            attempts += len(todo)
            cand.poses[:] = self.restore_contacts(cand.poses, cand.gesture, cand.mode)
            ok = self.valid(cand.poses, cand.gesture, cand.mode)
            idx = todo[ok]
            poses[idx] = cand.poses[ok]
            gesture[idx] = cand.gesture[ok]
            modes[idx] = cand.mode[ok]
            other[idx] = cand.blend_with[ok]
            tt[idx] = cand.blend_t[ok]
            todo = todo[~ok]
        if len(todo):
            raise RuntimeError(f"{len(todo)} of {n} poses still self-colliding after "
                               f"{self.config.max_rounds} rounds; loosen the sampler settings")
        return PoseBatch(poses, gesture.astype(str), modes.astype(str), other.astype(str), tt, attempts)

    def sample_distinct(
        self, rng: np.random.Generator, n: int, min_distance: float = 5.0, mode: str | None = None
    ) -> PoseBatch:
        """Draw ``n`` valid poses no two of which are within ``min_distance`` degrees (L2 norm
        over all 48 angles); later duplicates are re-drawn from ``rng``."""
        from scipy.spatial import cKDTree

        batch = self.sample(rng, n, mode)
        for _ in range(self.config.max_rounds):
            flat = batch.poses.reshape(n, -1)
            pairs = cKDTree(flat).query_pairs(min_distance, output_type="ndarray")
            if not len(pairs):
                return batch
            redo = np.unique(pairs.max(axis=1))
            new = self.sample(rng, len(redo), mode)
            batch.poses[redo] = new.poses
            batch.gesture[redo] = new.gesture
            batch.mode[redo] = new.mode
            batch.blend_with[redo] = new.blend_with
            batch.blend_t[redo] = new.blend_t
            batch.attempts += new.attempts
        raise RuntimeError(f"could not reach {n} poses at least {min_distance} degrees apart")

    def valid(self, poses: np.ndarray, gesture: np.ndarray | None = None, mode: np.ndarray | None = None
              ) -> np.ndarray:
        """``(N,)`` True where poses are within limits, pass the collision proxy and, when
        ``gesture`` names are given, keep their gesture's meaning: every declared contact still
        touches (capsule proxy within :data:`CONTACT_SLACK` of the library pose's) and every
        declared feature holds (:func:`synth.gestures.contact.features_hold`). A variation or
        blend that loses them is rejected (and re-drawn), never labelled as that gesture."""
        flat = np.asarray(poses).reshape(-1, 16, 3)
        inside = np.asarray(anatomy.is_valid(flat)).reshape(-1)
        allow = np.zeros((len(flat), len(collision.PAIRS)))
        if gesture is not None:
            for i, g in enumerate(gesture):
                m = self._meaning.get(str(g))
                if m is not None:
                    allow[i] = m.allowance
        free = collision.collision_free(self.skeleton, flat, self.config.tolerance, allow).reshape(-1)
        ok = inside & free
        if gesture is not None:
            kp = self.skeleton.forward(flat)
            for i in np.nonzero(ok)[0]:
                m = self._meaning.get(str(gesture[i]))
                if m is not None and not m.holds(self.skeleton, kp[i]):
                    ok[i] = False
        if self.mesh_rig is not None:
            from synth.gestures import contact
            from synth.hand import skinning

            for i in np.nonzero(ok)[0]:
                m = self._meaning.get(str(gesture[i])) if gesture is not None else None
                if m is not None and m.pairs:
                    V = skinning.forward(self.mesh_rig, pose=flat[i]).vertices
                    if not all(contact.reached(contact.measure_pair(V, self.mesh_rig, a, b)) for a, b in m.pairs):
                        ok[i] = False
                        continue
                    pen = contact.penetration_depths(V, self.mesh_rig, stride=3)
                    ok[i] = max(pen.values()) <= contact.CONTACT_TOL[1]
                else:
                    ok[i] = not collision.mesh_collides(self.mesh_rig, flat[i], stride=3)
        return ok

    def restore_contacts(self, poses: np.ndarray, gesture: np.ndarray, mode: np.ndarray) -> np.ndarray:
        """Poses ``(N, 16, 3)`` whose gesture declares contacts, pulled back onto them: a few
        Gauss-Newton steps on the contact fingers' angles bring each contact's capsule overlap
        back to the library pose's (the noise otherwise opens every pinch)."""
        out = np.array(poses, dtype=np.float64, copy=True)
        for i, g in enumerate(gesture):
            m = self._meaning.get(str(g))
            if m is None or not m.pairs or str(mode[i]) == "random":
                continue
            out[i] = m.restore(self.skeleton, out[i])
        return out

    # --- drawing ------------------------------------------------------------------------
    def _draw(self, rng: np.random.Generator, n: int, mode: str | None) -> PoseBatch:
        if mode is None:
            m = rng.choice(3, size=n, p=self._p)
        else:
            m = np.full(n, MODES.index(mode))
        G = len(self._names)
        a = rng.integers(0, G, size=n) if self._w is None else rng.choice(G, size=n, p=self._w)
        b = rng.integers(0, G, size=n)
        t = rng.random(n)
        poses = self._base[a].copy()
        is_blend = m == 1
        tb = np.where(is_blend, t, 0.0)
        poses = (1.0 - tb)[:, None, None] * poses + tb[:, None, None] * self._base[b]
        scale = np.where(is_blend, self.config.blend_sigma_scale, 1.0)
        poses = self._perturb(rng, poses, scale)
        rnd = natural_random(rng, n)
        is_rand = m == 2
        poses[is_rand] = rnd[is_rand]
        poses = np.clip(poses, _LO, _HI)
        gesture = np.where(is_rand, "natural_random", self._names[a])
        other = np.where(is_blend, self._names[b], "")
        return PoseBatch(poses, gesture, np.array(MODES)[m], other, tb)

    def _perturb(self, rng: np.random.Generator, poses: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """Coupled noise (see module docstring); ``scale`` ``(N,)`` multiplies every sigma."""
        c = self.config
        n = poses.shape[0]
        out = poses.copy()
        s = scale[:, None]
        lo, hi = c.looseness_range
        loose = lo + (hi - lo) * rng.random((n, 4))
        own = rng.normal(0.0, 1.0, (n, 4))
        shared = rng.normal(0.0, 1.0, (n, 1))
        # ring shares with middle and little finger; a common hand-wide component for all.
        mix = own.copy()
        mix[:, 2] = 0.6 * own[:, 2] + 0.4 * 0.5 * (own[:, 1] + own[:, 3])
        curl = c.curl_sigma * s * loose * (0.75 * mix + 0.5 * shared)
        jn = rng.normal(0.0, c.joint_sigma, (n, 4, 3)) * s[:, :, None] * loose[:, :, None]
        d_mcp = 0.8 * curl + jn[..., 0]
        d_pip = curl + jn[..., 1]
        d_dip = (2.0 / 3.0) * d_pip + jn[..., 2] * 0.5
        out[:, _FINGER_ROWS[:, 0], 0] += d_mcp
        out[:, _FINGER_ROWS[:, 1], 0] += d_pip
        out[:, _FINGER_ROWS[:, 2], 0] += d_dip
        out[:, _FINGER_ROWS[:, 0], 1] += rng.normal(0.0, c.abd_sigma, (n, 4)) * s
        thumb = rng.normal(0.0, c.thumb_sigma, (n, 4)) * s
        out[:, 1, 0] += thumb[:, 0]
        out[:, 1, 1] += thumb[:, 1]
        out[:, 2, 0] += thumb[:, 2]
        out[:, 3, 0] += 0.5 * thumb[:, 2] + 0.7 * thumb[:, 3]
        out[:, 1, 2] += rng.normal(0.0, 0.5 * c.thumb_sigma, n) * scale
        out[:, 0] += rng.normal(0.0, 1.0, (n, 3)) * np.asarray(c.wrist_sigma) * s
        return out


#: How much (metres) a contact's capsule overlap may fall short of its library pose's before the
#: contact counts as lost.
CONTACT_SLACK = 0.0015


@dataclass
class _Meaning:
    """What a gesture's variations must keep: its contacts (capsule pairs and their library
    overlap) and its features."""

    pairs: list[tuple[str, str]]
    masks: list[np.ndarray]
    depth0: np.ndarray
    allowance: np.ndarray
    features: dict[str, object]
    side: str

    @staticmethod
    def of(g: object, skel: Skeleton) -> _Meaning | None:
        from synth.gestures import contact

        pairs = contact.contact_pairs(g.contacts)  # type: ignore[attr-defined]
        feats = dict(g.features)  # type: ignore[attr-defined]
        if not pairs and not feats:
            return None
        masks = [collision.contact_pairs_mask([p]) for p in pairs]
        d = collision.pair_depths(skel, skel.forward(g.pose))  # type: ignore[attr-defined]
        depth0 = np.array([d[m].max() for m in masks]) if masks else np.zeros(0)
        allow = collision.contact_pairs_mask(pairs) * collision.CONTACT_ALLOWANCE
        return _Meaning(pairs, masks, depth0, allow, feats, skel.side)

    def depths(self, skel: Skeleton, kp: np.ndarray) -> np.ndarray:
        d = collision.pair_depths(skel, kp)
        return np.stack([d[..., m].max(axis=-1) for m in self.masks], axis=-1)

    def holds(self, skel: Skeleton, kp: np.ndarray) -> bool:
        from synth.gestures import contact

        if self.pairs and np.any(self.depths(skel, kp) < self.depth0 - CONTACT_SLACK):
            return False
        return not self.features or contact.features_hold(kp, self.side, self.features)

    def restore(self, skel: Skeleton, pose: np.ndarray, iters: int = 6) -> np.ndarray:
        from synth.gestures.contact import _DOFS

        fingers = sorted({f for p in self.pairs for f in p}, key=anatomy.FINGERS.index)
        dofs = np.array([d for f in fingers for d in _DOFS[f]])
        lo, hi = _LO[dofs[:, 0], dofs[:, 1]], _HI[dofs[:, 0], dofs[:, 1]]
        p = pose.copy()
        n = len(dofs)
        for _ in range(iters):
            P = np.repeat(p[None], n + 1, axis=0)
            P[np.arange(1, n + 1), dofs[:, 0], dofs[:, 1]] += 0.5
            r = 1000.0 * (self.depths(skel, skel.forward(P)) - self.depth0)  # (n+1, k) mm
            if np.all(np.abs(r[0]) < 0.2):
                break
            J = (r[1:] - r[0]) / 0.5  # (n, k)
            # minimum-norm step (damped): change the angles as little as possible
            step = -J @ np.linalg.solve(J.T @ J + 1e-3 * np.eye(J.shape[1]), r[0])
            step = np.clip(step, -10.0, 10.0)
            p[dofs[:, 0], dofs[:, 1]] = np.clip(p[dofs[:, 0], dofs[:, 1]] + step, lo, hi)
        return p


def natural_random(rng: np.random.Generator, n: int) -> np.ndarray:
    """``(n, 16, 3)`` natural random hands over the range of motion (degrees, not yet checked
    for collisions): per-finger curl levels around a hand-wide level, DIP coupled to PIP."""
    hand = rng.random((n, 1))
    level = np.clip(hand + rng.normal(0.0, 0.3, (n, 4)), 0.0, 1.0)
    level[:, 2] = np.clip(0.5 * level[:, 2] + 0.25 * (level[:, 1] + level[:, 3]), 0.0, 1.0)
    P = anatomy.zero_pose(n)
    mcp_hi = _HI[_FINGER_ROWS[:, 0], 0]
    pip_hi = _HI[_FINGER_ROWS[:, 1], 0]
    mcp = level * mcp_hi * np.clip(rng.normal(0.85, 0.2, (n, 4)), 0.0, 1.0) + rng.normal(0.0, 5.0, (n, 4))
    pip = level * pip_hi * np.clip(rng.normal(0.85, 0.2, (n, 4)), 0.0, 1.0) + rng.normal(0.0, 5.0, (n, 4))
    dip = (2.0 / 3.0) * pip + rng.normal(0.0, 6.0, (n, 4))
    P[:, _FINGER_ROWS[:, 0], 0] = mcp
    P[:, _FINGER_ROWS[:, 1], 0] = pip
    P[:, _FINGER_ROWS[:, 2], 0] = dip
    spread = rng.uniform(-3.0, 18.0, (n, 1)) * (1.0 - 0.6 * level)
    P[:, _FINGER_ROWS[:, 0], 1] = spread * np.array([1.0, 0.0, 0.8, 1.2]) + rng.normal(0.0, 3.0, (n, 4))
    u = rng.random((n, 4))
    P[:, 1, 0] = _LO[1, 0] + u[:, 0] * (_HI[1, 0] - _LO[1, 0])
    P[:, 1, 1] = _LO[1, 1] + u[:, 1] * (_HI[1, 1] - _LO[1, 1])
    P[:, 2, 0] = _LO[2, 0] + u[:, 2] * (_HI[2, 0] - _LO[2, 0]) * 0.9
    P[:, 3, 0] = 0.6 * P[:, 2, 0] + u[:, 3] * 30.0 - 10.0
    P[:, 1, 2] = rng.normal(0.0, 8.0, n)
    P[:, 0] = rng.normal(0.0, 1.0, (n, 3)) * np.array([25.0, 10.0, 4.0])
    return np.clip(P, _LO, _HI)
