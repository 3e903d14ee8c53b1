"""Text-to-image packages of a dataset rendered with defect twins (``OUT/twins``, see
:mod:`synth.defects.twin`): ``preference``, ``inpaint`` and ``feedback``. Only samples that have
a twin are packaged.

* ``preference``: :mod:`synth.dataset.formats.preference` rows (correct image preferred,
  label 1.0; the twin 0.0), caption = the correct sample's caption.
* ``inpaint`` (HandRefiner-style; columns read by diffusers' ``train_controlnet.py``: ``image``,
  ``conditioning_image``, ``text``): ``image`` = the target (correct render), ``conditioning_image``
  = normalised inverse depth of the correct hand (as :func:`controlnet.depth_conditioning`),
  ``text`` = caption, plus ``input_image`` (the defective twin) and ``mask`` (the union of both
  hands' pixels, dilated by :data:`MASK_DILATE_FRAC` and feathered with a Gaussian of
  :data:`MASK_FEATHER_FRAC` of the image width; uint8).
* ``feedback`` (RichHF-18K layout): ``filename``, ``image``, ``prompt``, ``artifact_map`` (the
  soft heatmap, uint8), ``artifact_score`` (RichHF's plausibility score, 1 = plausible: correct
  images 1.0, twins ``0.4 * (1 - severity)``), ``defect_type``; one row per correct image and one
  per twin.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

#: Hand-mask dilation radius and feather sigma of the inpaint package, fractions of the width
#: (8 px and 4 px at 512 px).
MASK_DILATE_FRAC = 8.0 / 512.0
MASK_FEATHER_FRAC = 4.0 / 512.0


def _twin(ds: Any, k: int) -> tuple[Path, dict[str, Any]] | None:
    from synth.dataset.layout import stem

    sid = ds.ids[k]
    lab = ds.root / "twins" / "labels" / f"{stem(sid)}.json"
    if not lab.is_file():
        return None
    return ds.root / "twins", json.loads(lab.read_text("utf-8"))


def write_preference(ds: Any, out: Path, split: str, seed: int = 0, **_: Any) -> int:
    from synth.dataset.formats.preference import PreferenceRow, write_preference_parquet

    rows = []
    for k in range(len(ds)):
        tw = _twin(ds, k)
        if tw is None:
            continue
        root, tl = tw
        label = ds.label(k)
        sid = ds.ids[k]
        rows.append(PreferenceRow(caption=label.get("caption") or "", image_0=ds.path(k, "rgb"),
                                  image_1=root / tl["files"]["rgb"], label_0=1.0, label_1=0.0,
                                  image_0_uid=str(sid), image_1_uid=f"{sid}/twin",
                                  artifact_mask=root / tl["files"]["artifact_mask"],
                                  defect_type=tl["defect"]["type"], defect_description=tl["defect_description"]))
    write_preference_parquet(rows, out, seed=seed, split=split)
    return len(rows)


def inpaint_mask(parts_a: np.ndarray, parts_b: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint8: both hands' pixels (parts 1..7), dilated and feathered."""
    m = (((parts_a >= 1) & (parts_a <= 7)) | ((parts_b >= 1) & (parts_b <= 7))).astype(np.uint8)
    W = m.shape[1]
    r = max(1, round(MASK_DILATE_FRAC * W))
    m = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    s = max(0.5, MASK_FEATHER_FRAC * W)
    f = cv2.GaussianBlur(m.astype(np.float32), (0, 0), sigmaX=s, sigmaY=s)
    return np.rint(np.clip(f, 0, 1) * 255).astype(np.uint8)


def write_inpaint(ds: Any, out: Path, split: str, shard_size: int = 256 << 20, **_: Any) -> int:
    from datasets import Features, Image, Value

    from synth.dataset.formats.controlnet import depth_conditioning
    from synth.dataset.formats.parquet import write_rows
    from synth.dataset.imageio import encode_png, read_image

    feats = Features({"image": Image(), "conditioning_image": Image(), "text": Value("string"),
                      "input_image": Image(), "mask": Image(), "defect_type": Value("string"), "id": Value("int64")})

    def rows():  # noqa: ANN202
        for k in range(len(ds)):
            tw = _twin(ds, k)
            if tw is None:
                continue
            root, tl = tw
            sid = ds.ids[k]
            label = ds.label(k)
            mask = inpaint_mask(read_image(ds.path(k, "parts")), read_image(root / tl["files"]["parts"]))
            yield {"image": {"bytes": ds.path(k, "rgb").read_bytes(), "path": f"{sid}.png"},
                   "conditioning_image": {"bytes": encode_png(depth_conditioning(read_image(ds.path(k, "depth")))),
                                          "path": f"{sid}_depth.png"},
                   "text": label.get("caption") or "",
                   "input_image": {"bytes": (root / tl["files"]["rgb"]).read_bytes(), "path": f"{sid}_twin.png"},
                   "mask": {"bytes": encode_png(mask), "path": f"{sid}_mask.png"},
                   "defect_type": tl["defect"]["type"], "id": int(sid)}

    return write_rows(rows(), len(ds), feats, out, split, shard_size)


def write_feedback(ds: Any, out: Path, split: str, shard_size: int = 256 << 20, **_: Any) -> int:
    from datasets import Features, Image, Value

    from synth.dataset.formats.parquet import write_rows
    from synth.dataset.imageio import encode_png

    feats = Features({"filename": Value("string"), "image": Image(), "prompt": Value("string"),
                      "artifact_map": Image(), "artifact_score": Value("float32"), "defect_type": Value("string"),
                      "id": Value("int64")})

    def rows():  # noqa: ANN202
        for k in range(len(ds)):
            tw = _twin(ds, k)
            if tw is None:
                continue
            root, tl = tw
            sid = ds.ids[k]
            prompt = ds.label(k).get("caption") or ""
            rgb = ds.path(k, "rgb")
            h, w = (int(x) for x in tl["image_size"][::-1])
            yield {"filename": f"{sid}.png", "image": {"bytes": rgb.read_bytes(), "path": f"{sid}.png"},
                   "prompt": prompt, "artifact_map": {"bytes": encode_png(np.zeros((h, w), np.uint8)), "path": f"{sid}_map.png"},
                   "artifact_score": 1.0, "defect_type": None, "id": int(sid)}
            yield {"filename": f"{sid}_twin.png",
                   "image": {"bytes": (root / tl["files"]["rgb"]).read_bytes(), "path": f"{sid}_twin.png"},
                   "prompt": prompt,
                   "artifact_map": {"bytes": (root / tl["files"]["artifact_heatmap"]).read_bytes(), "path": f"{sid}_twin_map.png"},
                   "artifact_score": 0.4 * (1.0 - float(tl["defect"]["severity"])),
                   "defect_type": tl["defect"]["type"], "id": int(sid)}

    return write_rows(rows(), len(ds), feats, out, split, shard_size)
