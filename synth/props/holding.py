"""Which object a drawn gesture holds by default, and the fit with its fall-backs (pure numpy).

A sample whose drawn gesture holds something -- a Feix grasp (gesture category ``grasp``) or a
device gesture such as ``holding_cup`` (:data:`HOLDING_GESTURES`) -- holds a fitted prop by
default (``props.grasp_fraction``, 1.0); other gestures hold one with probability
``props.fraction``. :func:`fit_for_gesture` tries, in order:

1. ``drawn``: the drawn grasp itself with a prop that affords it (a grasp gesture), or a prop
   that matches a device gesture (``holding_bottle`` -> a bottle) in any grasp it affords; for
   other gestures, one prop drawn uniformly, in any grasp it affords (the behaviour of
   ``props.fraction`` before grasps held objects by default);
2. ``fallback``: any (grasp, prop) pair of the job.

A fit replaces the drawn pose by the fitted grasp (its gesture name becomes the Feix grasp), so
the caption names the grasp that is rendered and the object in it; when nothing fits
(``none``) the hand keeps its drawn pose and holds nothing, and the caption names no object.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from synth.hand.rig import HandRig

logger = logging.getLogger(__name__)

#: Device gestures whose hand holds an object -> the library props that match it (empty: no
#: library prop matches, e.g. an umbrella handle; any prop of the job is fitted instead).
HOLDING_GESTURES: dict[str, tuple[str, ...]] = {
    "phone_hold_thumb_tap": ("phone",),
    "phone_hold_thumb_reach": ("phone",),
    "phone_swipe_thumb": ("phone",),
    "phone_to_ear": ("phone",),
    "phone_landscape_hold": ("phone",),
    "holding_cup": ("cup", "mug"),
    "holding_mug_handle": ("mug",),
    "holding_bottle": ("bottle",),
    "holding_card": ("card",),
    "holding_playing_cards": ("card",),
    "holding_tablet": ("book",),
    "holding_chopsticks": ("pencil", "pen"),
    "holding_spoon": ("spoon",),
    "holding_knife": ("knife",),
    "holding_toothbrush": ("toothbrush",),
    "holding_umbrella": (),
}

#: Fit attempts per stage (each attempt re-draws the pair and a new prop instance).
DRAWN_TRIES = 4
FALLBACK_TRIES = 4


def holds_object(gesture: str, category: str) -> bool:
    """True for gestures whose hand closes on an object: Feix grasps and
    :data:`HOLDING_GESTURES`."""
    return category == "grasp" or gesture in HOLDING_GESTURES


def first_pairs(gesture: str, category: str, pairs: Sequence[tuple[str, str]],
                rng: np.random.Generator) -> list[tuple[str, str]]:
    """The (grasp, prop) pairs of stage ``drawn`` (see the module docstring); may be empty
    (then only the fall-back is tried). Draws one integer from ``rng`` only for gestures that
    neither are a grasp nor name an object (the uniform prop)."""
    if category == "grasp":
        return [pg for pg in pairs if pg[0] == gesture]
    if gesture in HOLDING_GESTURES:
        want = HOLDING_GESTURES[gesture]
        return [pg for pg in pairs if pg[1] in want]
    names = sorted({p for _, p in pairs}, key=[p for _, p in pairs].index)
    name = names[int(rng.integers(len(names)))]
    return [pg for pg in pairs if pg[1] == name]


def fit_for_gesture(
    rig: HandRig,
    shape: np.ndarray,
    rng: np.random.Generator,
    pose_of: dict[str, np.ndarray],
    pairs: Sequence[tuple[str, str]],
    gesture: str,
    category: str,
):  # noqa: ANN201 - tuple[GraspFit | None, str]
    """Fit an object for a sample whose drawn gesture is ``gesture`` (``category``).

    Args:
        rig, shape: the hand model and its ``(P,)`` shape parameters.
        rng: the sample's props stream.
        pose_of: grasp name -> ``(16, 3)`` library pose, degrees.
        pairs: the job's (grasp, prop) pairs (:func:`synth.scene.plan.prop_pairs`).
        gesture, category: the drawn gesture and its library category.
    Returns:
        ``(fit or None, stage)`` with stage ``"drawn"``, ``"fallback"`` or ``"none"``.
    """
    from synth.props.fitting import sample_fit

    first = [pg for pg in first_pairs(gesture, category, pairs, rng) if pg[0] in pose_of]
    if first:
        fit = sample_fit(rig, shape, rng, pose_of, first, max_tries=DRAWN_TRIES)
        if fit is not None:
            return fit, "drawn"
    fit = sample_fit(rig, shape, rng, pose_of, pairs, max_tries=FALLBACK_TRIES)
    return fit, ("fallback" if fit is not None else "none")
