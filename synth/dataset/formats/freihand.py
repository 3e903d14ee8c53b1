"""FreiHAND layout, for pose-estimation codebases that read it.

Per split ``S`` (``train`` -> ``training``, ``test`` -> ``evaluation``, other names kept):

* ``S_K.json``: list of 3x3 intrinsics; ``S_xyz.json``: list of 21x3 keypoints in the camera
  frame, metres, FreiHAND's (= our) keypoint order;
* ``S/rgb/%08d.jpg`` (JPEG quality 95) and ``S/mask/%08d.jpg`` (hand mask, 255 = hand), indexed
  0..N-1 in the order of the json lists;
* ``S_ids.json`` (our sample id of each index), ``S_visibility.json``, ``S_handedness.json``.

FreiHAND's ``S_mano.json`` / ``S_verts.json`` (MANO fits) are not written: synth's own hand
model is not MANO, and the FreiHAND loader's MANO assertions must be skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

SET_NAMES = {"train": "training", "test": "evaluation"}


def write_freihand(ds: Any, out: Path, split: str, **_: Any) -> int:
    """Write one split; returns the sample count."""
    from synth.dataset.imageio import read_image

    name = SET_NAMES.get(split, split)
    (out / name / "rgb").mkdir(parents=True, exist_ok=True)
    (out / name / "mask").mkdir(parents=True, exist_ok=True)
    Ks, xyz, ids, vis, hands = [], [], [], [], []
    for k in range(len(ds)):
        label = ds.label(k)
        rgb = read_image(ds.path(k, "rgb"))[..., :3]
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 95])
        assert ok
        (out / name / "rgb" / f"{k:08d}.jpg").write_bytes(buf.tobytes())
        if "parts" in ds.entries[ds.ids[k]].files:
            parts = read_image(ds.path(k, "parts"))
            mask = np.where((parts > 0) & (parts < 16), 255, 0).astype(np.uint8)
            ok, buf = cv2.imencode(".jpg", mask, [cv2.IMWRITE_JPEG_QUALITY, 95])
            (out / name / "mask" / f"{k:08d}.jpg").write_bytes(buf.tobytes())
        Ks.append(label["K"])
        xyz.append(label["keypoints_3d_cam"])
        ids.append(int(label["id"]))
        vis.append(label["visibility"])
        hands.append(label.get("handedness"))
    for suffix, data in (("K", Ks), ("xyz", xyz), ("ids", ids), ("visibility", vis), ("handedness", hands)):
        (out / f"{name}_{suffix}.json").write_text(json.dumps(data), "utf-8")
    return len(ds)
