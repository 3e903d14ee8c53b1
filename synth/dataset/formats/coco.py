"""COCO keypoints: ``annotations/hand_keypoints_<split>.json`` + ``images/<split>/ID.png``.

One category ``hand`` with the 21 keypoint names and the skeleton (1-based, as COCO expects).
Per annotation: ``keypoints`` [x, y, v] * 21 with v = 2 visible, 1 in the image but occluded,
0 outside the image (x = y = 0); ``bbox`` [x, y, w, h]; ``area`` and ``segmentation``
(polygons) from the part mask (all hand parts, ids 1..15). Extra fields (``synth_id``,
``handedness``, ``gesture``, ``keypoints_3d_cam``, ``K``) ride along; COCO tools ignore them.
For OKS evaluation use :data:`OKS_SIGMAS` (``COCOeval.params.kpt_oks_sigmas``).

Coordinates: keypoints keep synth's pixel-centre convention (the centre of the top-left pixel is
(0, 0), as Detectron2 reads COCO keypoints); ``bbox`` is the label's [x0, y0, x1, y1] with an
exclusive end, i.e. pixel-edge coordinates, as COCO boxes are.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from synth.hand.keypoints import KEYPOINT_NAMES, SKELETON

#: Per-keypoint OKS sigmas in our (= COCO-WholeBody hand) order, the values COCO-WholeBody uses
#: for hands; pass to ``COCOeval.params.kpt_oks_sigmas``.
OKS_SIGMAS = np.array([
    0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024, 0.035, 0.018, 0.024,
    0.022, 0.026, 0.017, 0.021, 0.021, 0.032, 0.02, 0.019, 0.022, 0.031,
])  # fmt: skip


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (same file system), else copy."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def mask_polygons(mask: np.ndarray) -> list[list[float]]:
    """COCO polygons ``[[x0, y0, x1, y1, ...], ...]`` of a boolean ``(H, W)`` mask (pixel edges)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polys = []
    for c in contours:
        c = c.reshape(-1, 2).astype(np.float64)
        if len(c) >= 3:
            polys.append([round(float(x), 2) for x in c.ravel()])
    return polys


def coco_keypoints(label: dict[str, Any]) -> tuple[list[float], int]:
    """Flat COCO keypoints [x, y, v] * 21 and the number with v > 0."""
    W, H = label["image_size"]
    uv = np.asarray(label["keypoints_2d"], dtype=np.float64)
    vis = np.asarray(label["visibility"], dtype=int)
    inside = (uv[:, 0] >= -0.5) & (uv[:, 0] < W - 0.5) & (uv[:, 1] >= -0.5) & (uv[:, 1] < H - 0.5)
    flat: list[float] = []
    for (x, y), v, ins in zip(uv, vis, inside, strict=True):
        flag = 2 if v else 1 if ins else 0
        flat += [round(float(x), 3), round(float(y), 3), flag] if flag else [0.0, 0.0, 0]
    return flat, int(sum(1 for f in flat[2::3] if f > 0))


def write_coco(ds: Any, out: Path, split: str, **_: Any) -> int:
    """Write one split of ``ds`` (a :class:`synth.data.HandDataset`); returns the sample count."""
    from synth.dataset.imageio import read_image

    categories = [{
        "id": 1, "name": "hand", "supercategory": "hand",
        "keypoints": list(KEYPOINT_NAMES), "skeleton": [[a + 1, b + 1] for a, b in SKELETON],
    }]  # fmt: skip
    images, annotations = [], []
    for k in range(len(ds)):
        label = ds.label(k)
        sid = int(label["id"])
        W, H = (int(x) for x in label["image_size"])
        rel = f"images/{split}/{Path(ds.path(k, 'rgb')).name}"
        link_or_copy(ds.path(k, "rgb"), out / rel)
        images.append({"id": sid, "file_name": rel, "width": W, "height": H})
        x0, y0, x1, y1 = (float(v) for v in label["bbox"])
        ann: dict[str, Any] = {
            "id": sid + 1, "image_id": sid, "category_id": 1, "iscrowd": 0,
            "bbox": [x0, y0, x1 - x0, y1 - y0],
        }  # fmt: skip
        if "parts" in ds.entries[ds.ids[k]].files:
            parts = read_image(ds.path(k, "parts"))
            mask = (parts > 0) & (parts < 16)
            ann["area"] = float(mask.sum())
            ann["segmentation"] = mask_polygons(mask)
        else:
            ann["area"] = float((x1 - x0) * (y1 - y0))
            ann["segmentation"] = [[x0, y0, x1, y0, x1, y1, x0, y1]]
        ann["keypoints"], ann["num_keypoints"] = coco_keypoints(label)
        ann["synth_id"] = sid
        ann["handedness"] = label.get("handedness")
        ann["gesture"] = label.get("gesture")
        ann["keypoints_3d_cam"] = label.get("keypoints_3d_cam")
        ann["K"] = label.get("K")
        annotations.append(ann)
    doc = {
        "info": {"description": f"synth hands, split {split}", "version": "1"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    (out / "annotations" / f"hand_keypoints_{split}.json").write_text(json.dumps(doc), "utf-8")
    return len(images)
