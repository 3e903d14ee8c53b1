"""Assembly of the per-sample label (``labels/ID.json``, schema version 2), pure numpy.

Everything here is computed from explicit inputs (the spec, the posed hand, the rendered depth
and part mask), never read back from a renderer's scene, so it is testable without Blender.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synth.hand.keypoints import SCHEMA_VERSION
from synth.labels.bbox import bbox_from_mask
from synth.labels.projection import project_camera, to_camera
from synth.labels.visibility import DEPTH_TOLERANCE_M, surface_radius, visibility
from synth.scene.spec import SampleSpec

#: Version of the label schema (2: ``render`` records the colour pipeline as applied:
#: ``view_transform``, ``tone_mapping``, ``exposure_stops``). The keypoint schema has its own
#: version (``keypoint_schema_version``).
LABEL_SCHEMA_VERSION = 2
#: Largest hand part id (1 forearm .. 7 pinky); ids >= 16 are held objects.
HAND_PART_MAX = 7

#: Human-readable definition stored in dataset.json.
VISIBILITY_DEFINITION = (
    "1 when the keypoint projects inside the image in front of the camera and, in the 3x3 pixel "
    "window around its nearest pixel, some rendered depth D of a hand pixel (part id 1..7: held objects "
    "and worn accessories never count as the keypoint's surface) satisfies |D - (z - rho)| <= rho + "
    f"{DEPTH_TOLERANCE_M * 1000:g} mm, where z is the keypoint's camera depth and rho its distance to "
    "the nearest mesh vertex (0 for fingertips, which are surface vertices); else 0"
)


def keypoint_geometry(
    keypoints_world: np.ndarray, vertices_world: np.ndarray, world_to_cam: np.ndarray, K: np.ndarray
) -> dict[str, np.ndarray]:
    """Camera-frame keypoints ``(21, 3)``, pixels ``(21, 2)`` and surface radii ``(21,)``."""
    kc = to_camera(keypoints_world, world_to_cam)
    return {"cam": kc, "uv": project_camera(kc, K), "rho": surface_radius(keypoints_world, vertices_world)}


def build_label(
    spec: SampleSpec,
    keypoints_world: np.ndarray,
    vertices_world: np.ndarray,
    depth: np.ndarray,
    parts: np.ndarray,
    hand_model: dict[str, Any],
    render: dict[str, Any],
    caption: str = "",
    attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The label dict of one sample (JSON-able; ``files`` is added by the writer).

    Args:
        spec: the sample spec (camera, hand, appearance).
        keypoints_world: ``(21, 3)`` keypoints, world frame, metres.
        vertices_world: ``(V, 3)`` rendered vertices, world frame, metres.
        depth: ``(H, W)`` rendered planar depth, metres (0 background).
        parts: ``(H, W)`` uint8 part mask (0 background, 1..7 hand, >= 16 held objects); the bbox
            and ``hand_pixels`` count the hand's parts only.
        hand_model: ``{name, side, shape, pose_deg, pose_native}``.
        render: render settings to record.
        caption: text caption.
        attributes: attributes (finger states, palm facing, ...), merged with the appearance.
    """
    cam = spec.camera
    geo = keypoint_geometry(keypoints_world, vertices_world, cam.world_to_cam, cam.K)
    # Only hand pixels can show a keypoint's own surface: an object or accessory within the depth
    # tolerance (a watch strap over the wrist) hides it. Without objects this is ``depth`` itself.
    hand_depth = np.where((parts > 0) & (parts <= HAND_PART_MAX), depth, 0.0) if parts is not None else depth
    vis = visibility(geo["uv"], geo["cam"][:, 2], geo["rho"], hand_depth)
    attrs: dict[str, Any] = dict(attributes or {})
    app = spec.appearance_dict()
    attrs.setdefault("skin_tone", spec.material.skin_tone)
    attrs.setdefault("camera_mode", spec.camera_mode)
    attrs.setdefault("lighting", {"lights": app["lights"], "background": app["background"]})
    attrs.setdefault("material", app["material"])
    hand_mask = (parts > 0) & (parts < HAND_PART_MAX + 1)
    return {
        "schema_version": LABEL_SCHEMA_VERSION,
        "keypoint_schema_version": SCHEMA_VERSION,
        "id": int(spec.sample_id),
        "seed": int(spec.seed),
        "image_size": [int(cam.width), int(cam.height)],
        "handedness": spec.hand.side,
        "K": cam.K.tolist(),
        "world_to_cam": cam.world_to_cam.tolist(),
        "keypoints_3d_world": np.asarray(keypoints_world, dtype=np.float64).tolist(),
        "keypoints_3d_cam": geo["cam"].tolist(),
        "keypoints_2d": geo["uv"].tolist(),
        "visibility": vis.astype(int).tolist(),
        "keypoint_surface_radius": geo["rho"].tolist(),
        "bbox": bbox_from_mask(hand_mask),
        "hand_pixels": int(hand_mask.sum()),
        "gesture": {"name": spec.hand.gesture, "category": spec.hand.gesture_category},
        "caption": caption,
        "attributes": attrs,
        "hand_model": hand_model,
        "render": render,
        "objects": [{**p.label(), "pixels": int((parts == p.part_id).sum())} for p in spec.props],
    }
