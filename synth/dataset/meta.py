"""What a render job writes into ``dataset.json``: generator versions, hand-model provenance,
the resolved config, the keypoint schema, part ids and the prose of the label contract."""

from __future__ import annotations

from typing import Any

import numpy as np

from synth import __version__
from synth.config import JobConfig
from synth.labels.sample import LABEL_SCHEMA_VERSION, VISIBILITY_DEFINITION
from synth.labels.visibility import DEPTH_TOLERANCE_M


def _blender_version() -> str | None:
    """Version of the installed bpy (read from package metadata: no bpy import), or of the
    running Blender when synth runs inside a Blender binary."""
    import sys
    from importlib import metadata

    if "bpy" in sys.modules and hasattr(sys.modules["bpy"], "app"):
        return str(sys.modules["bpy"].app.version_string)
    try:
        return metadata.version("bpy")
    except metadata.PackageNotFoundError:
        return None


def hand_model_provenance(cfg: JobConfig) -> dict[str, Any]:
    """Name, asset files (sha256), licence and provenance of the hand model(s) of the job."""
    import hashlib
    from pathlib import Path

    from synth.hand.models import BUILTIN, assets_dir, load_model

    out: dict[str, Any] = {"name": cfg.hand.model, "sides": {}}
    for side in cfg.hand.sides:
        rig = load_model(cfg.hand.model, side)
        path = assets_dir() / BUILTIN[cfg.hand.model][side] if cfg.hand.model in BUILTIN else Path(cfg.hand.model)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        out["sides"][side] = {"file": path.name, "sha256": digest, "vertices": rig.n_vertices}
        out["licence"] = rig.licence
        out["provenance"] = rig.provenance
    return out


def object_part_ids(cfg: JobConfig) -> dict[str, int]:
    """Part ids of held objects (``object_0``: 16), when the job has any."""
    from synth.scene.spec import OBJECT_PART_BASE

    return {"object_0": OBJECT_PART_BASE} if cfg.props.fraction > 0 or cfg.props.grasp_fraction > 0 else {}


def dataset_meta(cfg: JobConfig) -> dict[str, Any]:
    """The ``dataset.json`` content this job contributes."""
    from synth.hand.keypoints import SCHEMA_VERSION as KEYPOINT_SCHEMA_VERSION
    from synth.hand.keypoints import schema
    from synth.hand.rig import PART_IDS

    return {"generator": {"name": "synth", "version": __version__, "blender": _blender_version(),
                          "numpy": np.__version__},
            "label_schema_version": LABEL_SCHEMA_VERSION, "keypoint_schema_version": KEYPOINT_SCHEMA_VERSION,
            "hand_model": hand_model_provenance(cfg), "config": cfg.to_dict(), "keypoints": schema(),
            "part_ids": {**PART_IDS, **object_part_ids(cfg)},
            "objects": "labels' objects[k] (name, category, object_to_world 4x4 prop->world, part_id 16+k, grasp, "
                       "contacts with hand vertex ids, material colour) is drawn with part id 16+k; bbox and "
                       "hand_pixels cover the hand parts 1..7 only; mesh/ID.npz holds the hand then the objects "
                       "(face_part gives each triangle's part id)",
            "accessories": "worn accessories (sleeve, watch, bracelet, ring; accessories config section) follow the "
                           "held objects in labels' objects list with category 'accessory': objects[k] has part id "
                           "16+k, so a sample with n held objects gives its accessories 16+n, 16+n+1, ...; they are "
                           "in the depth pass and mesh/ID.npz, so they hide the keypoints behind them",
            "surface": "a table slab under the hand (lighting.table_prob) is the last entry of labels' objects, with "
                       "category 'surface', name 'table' and the next part id; it is in the depth, parts and normals "
                       "passes and mesh/ID.npz; its contacts are the hand vertices within 2 mm of its top; it is "
                       "always below the camera, so it never hides the hand",
            "room": "background kind 'room' (lighting.bg_room) draws a procedural indoor room behind the hand "
                    "(attributes.room): it is background, not in the depth, parts or normals passes nor in "
                    "mesh/ID.npz (depth 0, part 0, normal 0 like the world), and lies deeper than everything "
                    "labelled, so it never hides the hand, objects or table",
            "visibility": {"definition": VISIBILITY_DEFINITION, "depth_tolerance_m": DEPTH_TOLERANCE_M},
            "bbox": "[x0, y0, x1, y1] integer pixel indices, exclusive end: parts[y0:y1, x0:x1] holds the hand"}
