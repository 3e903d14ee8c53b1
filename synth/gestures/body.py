"""One body behind two hands: arm proportions from the hand, shoulders, elbows and checks (pure numpy).

Both hands of a two-hand sample must belong to one person. :func:`body_dims` scales a body to
the hand: with Drillis & Contini's (1966) segment lengths as fractions of stature ``H`` (hand
length 0.108 H, forearm 0.146 H, upper arm 0.186 H, biacromial shoulder width 0.259 H) the
stature follows from the hand length measured on the posed rig (wrist joint to the middle
fingertip, flat hand), and every other length from the stature.

:func:`fit_body` then places a torso behind two hand placements. A hand's model frame
(:mod:`synth.hand.rig`) holds its forearm along ``-y`` from the wrist joint, so each hand's root
transform fixes its elbow: ``elbow = wrist - forearm * y_model``. The torso (origin midway between
the shoulders; body frame x toward the person's left, y up, z forward) is solved by least squares
(6 DoF) so that each shoulder is one upper-arm length from its elbow, the elbows hang below the
shoulders and the hands are in front of the chest. The fit is **plausible** when:

* both elbows are reached (shoulder-elbow distance within :data:`REACH_TOL` of the upper arm);
* elbow flexion (angle between upper arm and forearm) lies in ``[0, 150]`` degrees;
* forearm rotation (pronation / supination, the hand's little-finger axis against the neutral
  thumb-up position about the forearm) lies in ``[-80, 85]`` degrees (Boone & Azen 1979);
* the forearms do not pass through each other: the segments elbow -> wrist, less the last
  :data:`WRIST_CLEARANCE` near the hands (which may legitimately touch), stay at least two
  forearm radii apart (:data:`FOREARM_RADIUS`), less :data:`FOREARM_SQUEEZE` for forearms
  resting against each other.

The torso's roll about the forearms' mean direction is left open by the arms, so the fit starts
from four rolls and keeps the first plausible result (else the lowest cost).

Units: metres, degrees; transforms are ``(4, 4)`` in any common frame (e.g. the right hand's).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from synth.hand import anatomy

logger = logging.getLogger(__name__)

#: Drillis & Contini (1966) segment lengths as fractions of stature.
HAND_FRACTION = 0.108
FOREARM_FRACTION = 0.146
UPPER_ARM_FRACTION = 0.186
SHOULDER_FRACTION = 0.259
#: Shoulder-elbow distance error tolerated for a reached elbow (metres).
REACH_TOL = 0.01
#: Radius of the forearm capsule (metres, adult mid-forearm) and the length near each wrist that
#: is left out of the forearm crossing test.
FOREARM_RADIUS = 0.03
WRIST_CLEARANCE = 0.08
#: How much two forearms resting against each other may compress (metres).
FOREARM_SQUEEZE = 0.01
ELBOW_FLEX_RANGE = (0.0, 150.0)
PRONATION_RANGE = (-80.0, 85.0)


@dataclass(frozen=True)
class BodyDims:
    """Body lengths (metres)."""

    stature: float
    hand: float
    forearm: float
    upper_arm: float
    shoulder_width: float


def body_dims(hand_length: float) -> BodyDims:
    """Body lengths from a hand length (wrist to middle fingertip, metres)."""
    if not 0.1 <= hand_length <= 0.3:
        raise ValueError(f"hand length {hand_length:.3f} m is outside 0.10-0.30 m")
    H = hand_length / HAND_FRACTION
    return BodyDims(H, hand_length, FOREARM_FRACTION * H, UPPER_ARM_FRACTION * H, SHOULDER_FRACTION * H)


def hand_length(rig: object, shape: np.ndarray | None = None) -> float:
    """Wrist joint to middle fingertip of ``rig`` at ``shape``, flat hand (metres)."""
    from synth.hand import skinning

    kp = skinning.forward(rig, shape=shape).keypoints
    return float(np.linalg.norm(kp[12] - kp[0]))


@dataclass(frozen=True)
class BodyFit:
    """A torso behind two hands (all in the frame of the hand transforms).

    Attributes:
        torso: ``(4, 4)`` body frame (x to the person's left, y up, z forward; origin between
            the shoulders).
        shoulders, elbows, wrists: ``(2, 3)`` right then left.
        reach_error: ``(2,)`` shoulder-elbow distance minus the upper arm (metres).
        elbow_flexion: ``(2,)`` degrees.
        pronation: ``(2,)`` degrees (positive: palm turned down from thumb-up).
        forearm_gap: closest distance between the forearm axes (less the wrist ends), metres.
    """

    dims: BodyDims
    torso: np.ndarray
    shoulders: np.ndarray
    elbows: np.ndarray
    wrists: np.ndarray
    reach_error: np.ndarray
    elbow_flexion: np.ndarray
    pronation: np.ndarray
    forearm_gap: float

    @property
    def problems(self) -> list[str]:
        """Human-readable failed checks (empty: plausible)."""
        out = []
        for k, side in enumerate(("right", "left")):
            if abs(self.reach_error[k]) > REACH_TOL:
                out.append(f"{side} elbow out of reach by {1000 * self.reach_error[k]:.0f} mm")
            lo, hi = ELBOW_FLEX_RANGE
            if not lo - 1e-6 <= self.elbow_flexion[k] <= hi:
                out.append(f"{side} elbow flexion {self.elbow_flexion[k]:.0f} deg outside [{lo:g}, {hi:g}]")
            lo, hi = PRONATION_RANGE
            if not lo <= self.pronation[k] <= hi:
                out.append(f"{side} forearm rotation {self.pronation[k]:.0f} deg outside [{lo:g}, {hi:g}]")
        if self.forearm_gap < 2.0 * FOREARM_RADIUS - FOREARM_SQUEEZE:
            out.append(f"forearms {1000 * self.forearm_gap:.0f} mm apart pass through each other")
        return out

    @property
    def ok(self) -> bool:
        return not self.problems


def _elbow_flexion(s: np.ndarray, e: np.ndarray, w: np.ndarray) -> float:
    u, f = e - s, w - e
    c = float(u @ f / max(np.linalg.norm(u) * np.linalg.norm(f), 1e-12))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def _pronation(s: np.ndarray, e: np.ndarray, w: np.ndarray, hand_x: np.ndarray, side: str, up: np.ndarray
               ) -> float:
    """Forearm rotation of a hand: 0 with the thumb up (little-finger axis ``hand_x`` pointing
    down, given the elbow hinge), positive when the palm turns down (pronation)."""
    f = (w - e) / np.linalg.norm(w - e)
    u = e - s
    h = np.cross(u, f)
    if np.linalg.norm(h) < 1e-6 * max(np.linalg.norm(u), 1e-9):  # straight arm: the hinge from "up"
        h = np.cross(-up, f)
    h /= np.linalg.norm(h)
    neutral = -np.cross(h, f)
    x = hand_x - (hand_x @ f) * f
    x /= max(np.linalg.norm(x), 1e-12)
    ang = np.degrees(np.arctan2(np.cross(neutral, x) @ f, neutral @ x))
    return float(-ang if side == "right" else ang)


def _segment_gap(p1: np.ndarray, q1: np.ndarray, p2: np.ndarray, q2: np.ndarray) -> float:
    from synth.gestures.collision import segment_distance

    return float(segment_distance(p1, q1, p2, q2))


def fit_body(right_root: np.ndarray, left_root: np.ndarray, dims: BodyDims, iters: int = 200) -> BodyFit:
    """Place a torso behind two hands (see the module docstring).

    Args:
        right_root, left_root: ``(4, 4)`` hand model frames (wrist joint at the origin, forearm
            along ``-y``) in one common frame.
        dims: body lengths (:func:`body_dims`).
    """
    from scipy.optimize import least_squares

    Tr, Tl = np.asarray(right_root, float), np.asarray(left_root, float)
    wr, wl = Tr[:3, 3], Tl[:3, 3]
    er = wr - dims.forearm * Tr[:3, 1]
    el = wl - dims.forearm * Tl[:3, 1]
    elbows = np.stack([er, el])
    wrists = np.stack([wr, wl])
    # initial torso: forward is the mean forearm direction, up from the forearms' plane
    fwd = (wr - er) + (wl - el)
    fwd /= max(np.linalg.norm(fwd), 1e-9)
    left = el - er
    left = left - (left @ fwd) * fwd
    if np.linalg.norm(left) < 1e-6:
        left = np.cross(np.array([0.0, 0.0, 1.0]), fwd)
    left /= np.linalg.norm(left)
    up = np.cross(fwd, left)
    R0 = np.stack([left, up, fwd], axis=1)
    half = 0.5 * dims.shoulder_width

    def frame(x: np.ndarray, R0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        R = anatomy.axis_angle_to_matrix(x[:3]) @ R0
        return R, 0.5 * (er + el) - 0.15 * R0[:, 2] + 0.5 * dims.upper_arm * R0[:, 1] + x[3:]

    def fun(x: np.ndarray, R0: np.ndarray) -> np.ndarray:
        R, c = frame(x, R0)
        s = np.stack([c - half * R[:, 0], c + half * R[:, 0]])
        reach = np.linalg.norm(elbows - s, axis=1) - dims.upper_arm
        rel = (elbows - c) @ R  # elbows in the body frame
        hands = (wrists - c) @ R
        pron = np.array([_pronation(s[0], er, wr, Tr[:3, 0], "right", R[:, 1]),
                         _pronation(s[1], el, wl, -Tl[:3, 0], "left", R[:, 1])])
        flex = np.array([_elbow_flexion(s[k], elbows[k], wrists[k]) for k in range(2)])
        lo, hi = PRONATION_RANGE
        return np.concatenate([
            100.0 * reach,
            10.0 * np.maximum(rel[:, 1] + 0.05, 0.0),  # elbows below the shoulders
            10.0 * np.maximum(0.15 - hands[:, 2], 0.0),  # hands in front of the chest
            2.0 * np.maximum(0.05 - rel[:, 2], 0.0),  # elbows not far behind the back
            0.05 * (np.maximum(pron - (hi - 5.0), 0.0) + np.maximum((lo + 5.0) - pron, 0.0)),
            0.05 * np.maximum(flex - (ELBOW_FLEX_RANGE[1] - 5.0), 0.0),
            0.05 * x[:3],
        ])

    best = None
    for roll in (0.0, 180.0, 90.0, 270.0):  # the forearms leave the roll about "forward" open
        Rs = anatomy.axis_angle_to_matrix(np.deg2rad(roll) * fwd) @ R0
        res = least_squares(fun, np.zeros(6), args=(Rs,), max_nfev=iters)
        if best is None or res.cost < best[0].cost:
            best = (res, Rs)
        if res.cost < 1e-4:  # every soft check met
            break
    res, R0 = best
    R, c = frame(res.x, R0)
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, c
    s = np.stack([c - half * R[:, 0], c + half * R[:, 0]])
    reach = np.linalg.norm(elbows - s, axis=1) - dims.upper_arm
    flex = np.array([_elbow_flexion(s[k], elbows[k], wrists[k]) for k in range(2)])
    pron = np.array([_pronation(s[0], er, wr, Tr[:3, 0], "right", R[:, 1]),
                     _pronation(s[1], el, wl, -Tl[:3, 0], "left", R[:, 1])])
    cut = max(dims.forearm - WRIST_CLEARANCE, 0.0) / dims.forearm
    gap = _segment_gap(er, er + cut * (wr - er), el, el + cut * (wl - el))
    return BodyFit(dims, T, s, elbows, wrists, reach, flex, pron, gap)
