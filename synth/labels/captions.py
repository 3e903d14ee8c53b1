"""Pose-grounded captions: what the hand actually does, from its final joint angles and camera.

:func:`describe` is a pure function of the final anatomical angles (plus, optionally, the
keypoints / palm normal in the camera frame and appearance words) returning a caption and a
structured ``attributes`` dict. Nothing is taken on trust from the gesture name: the name is
mentioned only when the final pose still matches that gesture (:func:`recognisable`).

Rules (all angles in degrees, flexion of each finger's MCP, PIP and DIP; thumb: MCP and IP):

* finger state (:func:`finger_states`):
  ``extended``: every joint below :data:`EXTENDED_MAX` (20);
  ``curled``: PIP at least :data:`CURLED_PIP_MIN` (60) and MCP+PIP+DIP at least
  :data:`CURLED_SUM_MIN` (150);
  ``bent``: not curled and MCP+PIP+DIP at least :data:`BENT_SUM_MIN` (90) or any joint at least
  :data:`BENT_JOINT_MIN` (45); otherwise ``slightly bent``.
  The thumb uses its MCP and IP with the same ``extended`` rule, ``bent`` when MCP+IP >= 60.
* fingertip contact (:func:`touching_pairs`): tip keypoints closer than :data:`CONTACT_M`.
* thumb relation (:func:`thumb_relation`), in the hand's own frame: ``touching the <finger>
  fingertip``; ``tucked`` (tip on the palm side, past the index knuckle toward the little finger,
  under at least two bent or curled fingers); ``across the palm`` (same position, fingers
  open); ``extended`` (MCP and IP below 20 and not across); else ``bent``.
* palm facing (:func:`palm_facing`): the dominant axis of the palm normal in the camera frame
  (OpenCV: x right, y down, z forward): ``toward the camera`` (-z), ``away from the camera``
  (+z), ``up`` (-y), ``down`` (+y), ``sideways`` (x).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence

import numpy as np

from synth.geometry import palm_normal
from synth.hand import anatomy

logger = logging.getLogger(__name__)

EXTENDED_MAX = 20.0
CURLED_PIP_MIN = 60.0
CURLED_SUM_MIN = 150.0
BENT_SUM_MIN = 90.0
BENT_JOINT_MIN = 45.0
THUMB_BENT_SUM_MIN = 60.0
#: Fingertip keypoints closer than this (metres) count as touching.
CONTACT_M = 0.02
#: Largest mean absolute flexion difference (degrees) at which a gesture is still recognisable.
RECOGNISE_MEAN_DEG = 15.0

STATES: tuple[str, ...] = ("extended", "slightly bent", "bent", "curled")
FINGER_WORDS: dict[str, str] = {"thumb": "thumb", "index": "index", "middle": "middle", "ring": "ring",
                                "pinky": "little"}
_TIPS = (4, 8, 12, 16, 20)


# --- per-finger rules ----------------------------------------------------------------------


def finger_state(flex: np.ndarray) -> str:
    """State of index..pinky from ``(3,)`` MCP, PIP, DIP flexion (degrees); see module rules."""
    mcp, pip, dip = (float(x) for x in flex)
    total = mcp + pip + dip
    if max(mcp, pip, dip) < EXTENDED_MAX:
        return "extended"
    if pip >= CURLED_PIP_MIN and total >= CURLED_SUM_MIN:
        return "curled"
    if total >= BENT_SUM_MIN or max(mcp, pip, dip) >= BENT_JOINT_MIN:
        return "bent"
    return "slightly bent"


def thumb_state(flex_mcp: float, flex_ip: float) -> str:
    """State of the thumb from its MCP and IP flexion (degrees)."""
    if max(flex_mcp, flex_ip) < EXTENDED_MAX:
        return "extended"
    if flex_mcp + flex_ip >= THUMB_BENT_SUM_MIN:
        return "bent"
    return "slightly bent"


def finger_states(pose_deg: np.ndarray) -> dict[str, str]:
    """``{finger: state}`` for thumb..pinky from a ``(16, 3)`` pose in degrees."""
    p = anatomy.as_pose(pose_deg)
    out = {"thumb": thumb_state(p[2, 0], p[3, 0])}
    for f in anatomy.FINGERS[1:]:
        out[f] = finger_state(p[list(anatomy.joints_of(f)), 0])
    return out


# --- geometry ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _skeleton(side: str) -> object:
    from synth.gestures.sampler import default_skeleton_for

    return default_skeleton_for(side)


def model_keypoints(pose_deg: np.ndarray, side: str) -> np.ndarray:
    """``(21, 3)`` keypoints (metres, model frame) of the built-in hand in this pose."""
    return _skeleton(side).forward(anatomy.as_pose(pose_deg))  # type: ignore[attr-defined]


def hand_frame(keypoints: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Hand frame from ``(21, 3)`` keypoints in any rigid frame.

    Returns ``(origin (3,), R (3, 3))`` with rows of ``R`` the unit axes: ``x`` toward the little
    finger, ``y`` from the wrist to the middle knuckle, ``z`` the palm normal (out of the palm).
    """
    k = np.asarray(keypoints, dtype=np.float64)
    o = k[0]
    y = k[9] - o
    y /= np.linalg.norm(y)
    across = k[17] - k[5]  # index knuckle -> little knuckle
    x = across - (across @ y) * y
    x /= np.linalg.norm(x)
    # x toward the little finger and y distal: x cross y is dorsal for a right hand and
    # palmar for the mirror-image left hand.
    z = -np.cross(x, y) if side == "right" else np.cross(x, y)
    return o, np.stack([x, y, z])


def palm_facing(normal_cam: np.ndarray) -> str:
    """Where the palm faces, from its unit normal in the OpenCV camera frame."""
    n = np.asarray(normal_cam, dtype=np.float64)
    n = n / max(float(np.linalg.norm(n)), 1e-12)
    k = int(np.argmax(np.abs(n)))
    if k == 2:
        return "toward the camera" if n[2] < 0 else "away from the camera"
    if k == 1:
        return "up" if n[1] < 0 else "down"
    return "sideways"


def touching_pairs(keypoints: np.ndarray) -> list[tuple[str, str]]:
    """Fingers whose tips meet, from tip keypoints closer than :data:`CONTACT_M`: the thumb with
    any finger, and fingers that are not neighbours (neighbouring fingertips lie side by side
    whenever the hand is closed, which is not a contact worth stating)."""
    k = np.asarray(keypoints, dtype=np.float64)
    out = []
    for i in range(5):
        for j in range(i + 1, 5):
            if i > 0 and j == i + 1:
                continue
            if np.linalg.norm(k[_TIPS[i]] - k[_TIPS[j]]) < CONTACT_M:
                out.append((anatomy.FINGERS[i], anatomy.FINGERS[j]))
    return out


def thumb_relation(pose_deg: np.ndarray, keypoints: np.ndarray, side: str,
                   states: Mapping[str, str] | None = None) -> str:
    """The thumb's relation to the rest of the hand (see module rules)."""
    p = anatomy.as_pose(pose_deg)
    k = np.asarray(keypoints, dtype=np.float64)
    st = dict(states) if states is not None else finger_states(p)
    d = [np.linalg.norm(k[4] - k[t]) for t in _TIPS[1:]]
    j = int(np.argmin(d))
    if d[j] < CONTACT_M:
        return f"touching the {FINGER_WORDS[anatomy.FINGERS[1 + j]]} fingertip"
    o, R = hand_frame(k, side)
    tip = R @ (k[4] - o)
    idx = R @ (k[5] - o)
    mid = R @ (k[9] - o)
    across = tip[2] > 0.0 and tip[0] > idx[0] + 0.25 * (mid[0] - idx[0]) and tip[1] > 0.2 * mid[1]
    if across:
        closed = sum(st[f] in ("bent", "curled") for f in ("index", "middle", "ring"))
        return "tucked" if closed >= 2 else "across the palm"
    if max(p[2, 0], p[3, 0]) < EXTENDED_MAX:
        return "extended"
    return "bent"


def recognisable(pose_deg: np.ndarray, gesture_pose: np.ndarray) -> bool:
    """True when a pose still shows a gesture: each finger in the same open (extended / slightly
    bent) or closed (bent / curled) class, and mean |flexion difference| of the 15 finger joints
    at most :data:`RECOGNISE_MEAN_DEG`."""
    a = finger_states(pose_deg)
    b = finger_states(gesture_pose)
    open_ = ("extended", "slightly bent")
    for f in anatomy.FINGERS[1:]:
        if (a[f] in open_) != (b[f] in open_):
            return False
    diff = np.abs(anatomy.as_pose(pose_deg)[1:, 0] - anatomy.as_pose(gesture_pose)[1:, 0])
    return float(diff.mean()) <= RECOGNISE_MEAN_DEG


# --- text ----------------------------------------------------------------------------------


def _join(words: list[str]) -> str:
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def held_object_phrase(name: str, color: str, grasp: str | None,
                       contacts: Sequence[Mapping[str, object]]) -> str:
    """What the hand holds and how, for captions (the ``held_object`` word of :func:`describe`).

    Args:
        name: prop name (``"mug"``).
        color: colour word of its main material (``""`` or ``"natural"``: not named).
        grasp: the Feix grasp it is held with, if known.
        contacts: the fit's contacts, dicts with ``region`` and ``finger``
            (:meth:`synth.props.fitting.Contact.as_dict`).
    Returns:
        e.g. ``"a white mug by its handle, index, middle and ring fingers through the handle"``
        (a grasp of the handle, :data:`synth.props.grasps.HANDLE_GRASPS`), ``"a red pen between
        the thumb and the index and middle fingers"``, ``"a blue ball against the palm"``.
    """
    from synth.props.grasps import HANDLE_GRASPS

    colour = color if color not in ("", "natural") else ""
    noun = f"{colour} {name}".strip()
    art = "an" if noun[0] in "aeiou" else "a"
    regions = [str(c.get("region", "")) for c in contacts]
    fingers = [f for f in FINGER_WORDS if any(c.get("finger") == f for c in contacts)]
    others = [FINGER_WORDS[f] for f in fingers if f != "thumb"]
    plural = "s" if len(others) > 1 else ""
    if grasp in HANDLE_GRASPS and regions and tuple(regions) == HANDLE_GRASPS[grasp]:
        how = f" by its handle, {_join(others)} finger{plural} through the handle" if others else " by its handle"
    elif "thumb" in fingers and others:
        how = f" between the thumb and the {_join(others)} finger{plural}"
    elif "palm" in regions:
        how = " against the palm"
    else:
        how = ""
    return f"{art} {noun}{how}"


def finger_phrase(states: Mapping[str, str]) -> str:
    """e.g. ``"index and middle fingers extended, ring and little fingers curled"`` (thumb
    excluded; groups in the order extended, slightly bent, bent, curled)."""
    parts = []
    for s in STATES:
        fs = [FINGER_WORDS[f] for f in anatomy.FINGERS[1:] if states[f] == s]
        if fs:
            noun = "finger" if len(fs) == 1 else "fingers"
            parts.append(f"{_join(fs)} {noun} {s}")
    return ", ".join(parts)


def _gesture_words(name: str) -> str:
    """Noun phrase for a gesture, e.g. ``"an OK sign pose"``, ``"the ASL letter B handshape"``."""
    if name.startswith("asl_"):
        sym = name[4:].upper()
        return f"the ASL {'number' if sym.isdigit() else 'letter'} {sym} handshape"
    words = name.replace("_", " ").replace("ok ", "OK ")
    article = "an" if words[:1].lower() in "aeiou" or words.startswith("OK") else "a"
    return f"{article} {words} pose"


def _appearance(extra: Mapping[str, object] | None) -> list[str]:
    if not extra:
        return []
    out = []
    skin = extra.get("skin_tone")
    if skin:
        out.append(f"{skin} skin")
    light = extra.get("lighting")
    if light:
        out.append(f"{light}")
    surface = extra.get("surface")  # e.g. "resting on an oak table"
    if surface:
        out.append(f"{surface}")
    bg = extra.get("background")
    if bg:
        out.append(f"in front of {bg}")
    cam = extra.get("camera_mode")
    if cam:
        out.append(f"{cam} view")
    return [str(x) for x in out]


def describe(
    pose_deg: np.ndarray,
    side: str,
    gesture_name: str | None,
    palm_normal_cam: np.ndarray | None = None,
    keypoints_cam: np.ndarray | None = None,
    extra: Mapping[str, object] | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[str, dict[str, object]]:
    """Caption and attributes of one hand.

    Args:
        pose_deg: ``(16, 3)`` final anatomical angles, degrees.
        side: ``"right"`` or ``"left"`` (the person's hand).
        gesture_name: gesture the pose came from (None or ``"natural_random"`` for none); named
            in the caption only if :func:`recognisable` against the library pose.
        palm_normal_cam: ``(3,)`` palm normal in the camera frame (OpenCV axes), if known.
        keypoints_cam: ``(21, 3)`` keypoints in the camera frame, metres; used for contacts, the
            thumb relation and (without ``palm_normal_cam``) palm facing. Without them the
            built-in hand's keypoints in the model frame are used and palm facing is omitted.
        extra: appearance words, e.g. ``{"skin_tone": "light brown", "lighting": "soft
            daylight", "background": "a kitchen", "camera_mode": "egocentric"}``; ``held_object``
            (e.g. ``"a white mug"``, see :func:`held_object_phrase`) follows the hand: "a left
            hand holding a white mug by its handle, ...".
        rng: picks one of several phrasings (default: the first phrasing).
    Returns:
        ``(caption, attributes)``; attributes hold ``handedness``, ``gesture``,
        ``gesture_recognised``, ``fingers`` ({finger: state}), ``thumb``, ``touching``
        (list of finger pairs), ``palm_facing`` (or None), ``flexion_deg`` ({finger: MCP+PIP+DIP})
        and every ``extra`` item.
    """
    if side not in ("right", "left"):
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    p = anatomy.as_pose(pose_deg)
    if p.shape != (16, 3):
        raise ValueError(f"describe takes one (16, 3) pose, got {p.shape}")
    kp = model_keypoints(p, side) if keypoints_cam is None else np.asarray(keypoints_cam, dtype=np.float64)
    states = finger_states(p)
    thumb = thumb_relation(p, kp, side, states)
    touching = touching_pairs(kp)
    facing = None
    if palm_normal_cam is not None:
        facing = palm_facing(palm_normal_cam)
    elif keypoints_cam is not None:
        facing = palm_facing(palm_normal(kp, side))
    recognised = False
    name = gesture_name if gesture_name and gesture_name != "natural_random" else None
    if name is not None:
        from synth.gestures.library import GestureError, load_library

        try:
            recognised = recognisable(p, load_library().get(name).pose)
        except GestureError:
            logger.debug("gesture %s not in the library; not named in the caption", name)
    attrs: dict[str, object] = {
        "handedness": side,
        "gesture": name,
        "gesture_recognised": recognised,
        "fingers": states,
        "thumb": thumb,
        "touching": [list(t) for t in touching],
        "palm_facing": facing,
        "flexion_deg": {f: round(float(p[list(anatomy.joints_of(f)), 0].sum()), 1) for f in anatomy.FINGERS},
    }
    if extra:
        for k, v in extra.items():
            attrs.setdefault(str(k), v)

    fingers = finger_phrase(states)
    thumb_txt = f"thumb {thumb}"
    touch_txt = ""
    non_thumb = [t for t in touching if t[0] != "thumb"]
    if non_thumb:
        pairs = [f"{FINGER_WORDS[a]} and {FINGER_WORDS[b]}" for a, b in non_thumb]
        touch_txt = f"the {_join(pairs)} fingertips touch"
    looks = _appearance(extra)
    gest = _gesture_words(name) if recognised and name else None
    hand = f"{side} hand"
    if extra and extra.get("held_object"):  # e.g. "a white mug between the thumb and index finger"
        hand += f" holding {extra['held_object']}"
    if extra and extra.get("accessories"):  # e.g. "a silver watch and a gold ring on the ring finger"
        hand += f" wearing {extra['accessories']}"
    variant = 0 if rng is None else int(rng.integers(0, 3))
    if variant == 0:
        s = f"A {hand}" + (f" in {gest}" if gest else "")
        if facing:
            s += f", palm facing {facing}"
        s += f": {fingers}; {thumb_txt}"
        if touch_txt:
            s += f"; {touch_txt}"
        s += "."
        if looks:
            s += " " + _cap(_join(looks)) + "."
    elif variant == 1:
        s = _cap(fingers) + f", {thumb_txt}"
        if touch_txt:
            s += f", {touch_txt}"
        s += f" on a {hand}"
        if facing:
            s += f" with the palm facing {facing}"
        if gest:
            s += f", showing {gest}"
        s += "."
        if looks:
            s += " " + _cap(_join(looks)) + "."
    else:
        shot = "Wide shot" if "wide " in str((extra or {}).get("camera_mode", "")) else "Close-up"
        lead = f"{shot} of a {hand}" if not looks else f"{shot} of a {hand}, {_join(looks)}"
        s = lead + (f", showing {gest}" if gest else "") + "."
        s += f" {_cap(fingers)}; {thumb_txt}"
        if touch_txt:
            s += f"; {touch_txt}"
        if facing:
            s += f"; palm facing {facing}"
        s += "."
    return s, attrs


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def caption_styles(label: Mapping[str, object]) -> dict[str, str]:
    """Three caption styles of a labelled sample, from its ``caption`` and ``attributes``:

    * ``short``: one noun phrase, e.g. ``"a right hand making an OK sign"``, ``"a left hand
      holding a white mug"``, ``"a right hand with the palm facing the camera"``;
    * ``detailed``: the sample's caption (:func:`describe`);
    * ``tags``: comma-separated tags, e.g. ``"hand, right hand, OK sign, palm facing camera,
      light brown skin, soft daylight"``.
    """
    attrs = label.get("attributes") or {}
    assert isinstance(attrs, Mapping)
    side = str(attrs.get("handedness") or label.get("handedness") or "right")
    gest = attrs.get("gesture") if attrs.get("gesture_recognised") else None
    gwords = None
    if gest:
        gwords = _gesture_words(str(gest)).removesuffix(" pose").removesuffix(" handshape")
    short = f"a {side} hand"
    if attrs.get("held_object"):
        short += f" holding {str(attrs['held_object']).split(' between ')[0].split(' by ')[0]}"
    elif gwords:
        short += f" making {gwords}"
    elif attrs.get("palm_facing"):
        short += f" with the palm facing {attrs['palm_facing']}"
    tags = ["hand", f"{side} hand"]
    if gwords:
        tags.append(gwords.split(" ", 1)[1] if gwords.startswith(("a ", "an ", "the ")) else gwords)
    if attrs.get("palm_facing"):
        tags.append(f"palm facing {attrs['palm_facing']}")
    for key in ("skin_tone", "lighting", "background", "camera_mode"):
        v = attrs.get(key)
        if isinstance(v, str) and v:
            tags.append(f"{v} skin" if key == "skin_tone" else f"{v.replace('_', '-')} view" if key == "camera_mode" else v)
    return {"short": short, "detailed": str(label.get("caption") or ""), "tags": ", ".join(tags)}
