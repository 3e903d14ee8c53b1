"""Helpers shared by the review tests."""

from __future__ import annotations

import json
from pathlib import Path


def add_twins(root: Path, ids: list[int]) -> None:
    """Give samples a defect twin image and artifact mask (the issue-15 file kinds) in the manifest."""
    import numpy as np

    from synth.dataset.imageio import encode_png, read_image
    from synth.dataset.layout import MANIFEST, read_manifest, sha256_bytes

    entries = read_manifest(root)
    lines = []
    for i, e in entries.items():
        files, sha, size = dict(e.files), dict(e.sha256), dict(e.bytes)
        if i in ids:
            rgb = read_image(root / e.files["rgb"])
            twin = rgb.copy()
            twin[20:40, 20:40] = (255, 0, 255)
            mask = np.zeros(rgb.shape[:2], np.uint8)
            mask[20:40, 20:40] = 255
            for kind, img in (("twin_rgb", twin), ("artifact_mask", mask)):
                data = encode_png(img)
                rel = f"{kind}/{i:08d}.png"
                (root / kind).mkdir(exist_ok=True)
                (root / rel).write_bytes(data)
                files[kind], sha[kind], size[kind] = rel, sha256_bytes(data), len(data)
            lab = json.loads((root / e.files["label"]).read_text())
            lab["defect"] = {"type": "extra_finger", "description": "six fingers"}
            data = json.dumps(lab).encode()
            (root / e.files["label"]).write_bytes(data)
            sha["label"], size["label"] = sha256_bytes(data), len(data)
        lines.append(json.dumps({"id": i, "files": files, "sha256": sha, "bytes": size}))
    (root / MANIFEST).write_text("\n".join(lines) + "\n")
