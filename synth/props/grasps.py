"""Which hand regions touch the *object* in each Feix grasp, and where those regions are on a rig.

``assets/gestures/grasps.yaml`` lists, per grasp, the finger pads that touch *each other*
(``contacts``); the hand-object contacts are a different thing and live here, from the
opposition types and virtual fingers of Feix et al. 2016 (Table I / Fig. 3).

Contact region names (:data:`REGIONS`):

* ``thumb``, ``index``, ``middle``, ``ring``, ``pinky``: the palmar pad of the distal phalanx;
* ``<finger>_side``: the radial side (toward the thumb) of the middle and distal phalanges
  (key pinch on the index, the pen resting on the middle finger in a writing tripod);
* ``<finger>_mid``: the palmar side of the middle phalanx (hook grip);
* ``palm``: the palmar surface of the palm.

:func:`contact_regions` turns these into vertex ids of a rig, chosen on the rest pose from the
skinning weights and the anatomical joint frames (so they work for any model with the rig
format, right or left).
"""

from __future__ import annotations

import logging

import numpy as np

from synth.hand import anatomy, skinning
from synth.hand.rig import PART_IDS, HandRig

logger = logging.getLogger(__name__)

FINGER_NAMES = anatomy.FINGERS
REGIONS: tuple[str, ...] = (
    FINGER_NAMES
    + tuple(f"{f}_side" for f in FINGER_NAMES[1:])
    + tuple(f"{f}_mid" for f in FINGER_NAMES[1:])
    + ("palm",)
)

#: Feix grasp name -> hand regions that must touch the object.
GRASP_CONTACTS: dict[str, tuple[str, ...]] = {
    "large_diameter": ("palm", "thumb", "index", "middle"),
    "small_diameter": ("palm", "thumb", "index", "middle"),
    "medium_wrap": ("palm", "thumb", "index", "middle"),
    "adducted_thumb": ("palm", "index", "middle", "ring"),
    "light_tool": ("palm", "thumb", "index", "middle"),
    "prismatic_4_finger": ("thumb", "index", "middle", "ring"),
    "prismatic_3_finger": ("thumb", "index", "middle"),
    "prismatic_2_finger": ("thumb", "index", "middle"),
    "palmar_pinch": ("thumb", "index"),
    "power_disk": ("palm", "thumb", "index", "middle"),
    "power_sphere": ("palm", "thumb", "index", "middle"),
    "precision_disk": ("thumb", "index", "middle", "ring"),
    "precision_sphere": ("thumb", "index", "middle", "ring"),
    "tripod": ("thumb", "index", "middle"),
    "fixed_hook": ("index_mid", "middle_mid"),
    "lateral": ("thumb", "index_side"),
    "index_finger_extension": ("palm", "thumb", "index", "middle"),
    "extension_type": ("thumb", "index", "middle"),
    "distal_type": ("thumb", "index", "middle"),
    "writing_tripod": ("thumb", "index", "middle_side"),
    "tripod_variation": ("thumb", "index", "middle"),
    "parallel_extension": ("thumb", "index", "middle"),
    "adduction_grip": ("index_side", "middle_side"),
    "tip_pinch": ("thumb", "index"),
    "lateral_tripod": ("thumb", "index", "middle_side"),
    "sphere_4_finger": ("thumb", "index", "middle", "ring"),
    "quadpod": ("thumb", "index", "middle", "ring"),
    "sphere_3_finger": ("thumb", "index", "middle"),
    "stick": ("thumb", "index_side"),
    "palmar": ("palm", "index", "middle"),
    "ring_grasp": ("thumb", "index"),
    "ventral": ("thumb", "index"),
    "inferior_pincer": ("thumb", "index"),
}


#: Grasps that hold a prop with a handle (a mug) *by its handle* -> the hand regions that touch
#: the handle: the handle's outer bar lies in the crook of the hooked fingers, which pass
#: through the loop (between the bar and the body); the other fingers stay free of the object.
HANDLE_GRASPS: dict[str, tuple[str, ...]] = {
    "fixed_hook": ("index_mid", "middle_mid"),
}


def contacts_for(grasp: str) -> tuple[str, ...]:
    """Object-contact regions of a Feix grasp; raises ValueError for unknown names."""
    if grasp not in GRASP_CONTACTS:
        raise ValueError(f"no object contacts known for grasp {grasp!r}; expected one of "
                         f"{', '.join(GRASP_CONTACTS)}")
    return GRASP_CONTACTS[grasp]


def region_finger(region: str) -> str | None:
    """The finger a region belongs to (``None`` for the palm)."""
    base = region.split("_")[0]
    return base if base in FINGER_NAMES else None


def _bone_of(rig: HandRig, joint_name: str) -> int:
    return int(rig.anat_bones[anatomy.JOINT_INDEX[joint_name]])


def _lowest(local_z: np.ndarray, frac: float) -> np.ndarray:
    lo, hi = local_z.min(), local_z.max()
    return local_z <= lo + frac * (hi - lo)


def _compute_regions(rig: HandRig) -> dict[str, np.ndarray]:
    rest = skinning.forward(rig, None, None)  # default shape, flat rest pose
    V, J = rest.rest_vertices, rest.joints
    dom = rig.skin_weights.argmax(axis=1)
    out: dict[str, np.ndarray] = {}
    # thumb side direction in the model frame (right hand: -x)
    thumb_side = np.array([-1.0 if rig.side == "right" else 1.0, 0.0, 0.0])
    for f in FINGER_NAMES:
        j_prox, j_mid, j_dist = (anatomy.JOINTS[i] for i in anatomy.joints_of(f))
        b_dist = _bone_of(rig, j_dist)
        b_mid = _bone_of(rig, j_mid)
        part = rig.parts == PART_IDS[f]
        for region, bones, axis, frac in (
            (f, (b_dist,), "pad", 0.3),
            (f"{f}_mid", (b_mid,), "pad", 0.3),
            (f"{f}_side", (b_mid, b_dist), "side", 0.25),
        ):
            if f == "thumb" and region != "thumb":
                continue
            sel = np.nonzero(part & np.isin(dom, bones))[0]
            if len(sel) == 0:
                raise ValueError(f"rig {rig.name}: no vertices skinned to the {region} bones")
            F = rig.joint_frames[bones[-1]]
            head = J[bones[0]]
            local = (V[sel] - head) @ F  # (n, 3) in (x distal, y flex axis, z dorsal)
            if axis == "pad":
                mask = _lowest(local[:, 2], frac)
            else:
                y_dir = F[:, 1] if F[:, 1] @ thumb_side > 0 else -F[:, 1]
                s = (V[sel] - head) @ y_dir
                mask = s >= s.max() - frac * (s.max() - s.min())
            out[region] = sel[mask]
    palm = np.nonzero(rig.parts == PART_IDS["palm"])[0]
    out["palm"] = palm[_lowest(V[palm, 2], 0.25)]
    return out


def contact_regions(rig: HandRig) -> dict[str, np.ndarray]:
    """Region name -> vertex ids ``(n,)`` of that region on ``rig`` (see the module docstring)."""
    hit = _CACHE.get(id(rig))
    if hit is None or hit[0] is not rig:
        if len(_CACHE) > 16:
            _CACHE.clear()
        hit = (rig, _compute_regions(rig))
        _CACHE[id(rig)] = hit
    return hit[1]


_CACHE: dict[int, tuple[HandRig, dict[str, np.ndarray]]] = {}
