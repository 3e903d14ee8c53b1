"""Per-sample facts the review page filters and shows: a small index built from the labels.

The index (``DATASET/.cache/review/index.json``) holds, per manifest id, the filter attributes
(:data:`FILTERS`), the caption and which passes exist. It is rebuilt when ``manifest.jsonl``
changes (size and mtime are the key), so opening a reviewed 10,000-sample dataset a second time
reads one file instead of 10,000 labels.
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from synth.dataset.layout import LABEL_KEY, MANIFEST, ManifestEntry, atomic_write, read_manifest

logger = logging.getLogger(__name__)

CACHE_DIR = ".cache"
INDEX_VERSION = 1
#: Filter attributes: key -> words on the page.
FILTERS: dict[str, str] = {
    "gesture": "gesture",
    "category": "category",
    "monk": "Monk tone",
    "camera_mode": "camera mode",
    "lighting": "lighting",
    "held_object": "held object",
    "two_hands": "two hands",
}
#: File kinds of a defect twin's image and of artifact masks (issue 15), when a dataset has them.
TWIN_KINDS = ("twin_rgb", "twin", "defect_rgb")
ARTIFACT_KINDS = ("artifact_mask", "artifact", "artifact_heatmap")
#: Passes the detail view can show (in this order) when the manifest lists them.
VIEW_KINDS = ("rgb", *TWIN_KINDS, "parts", "depth", "normals", *ARTIFACT_KINDS)


def cache_dir(root: str | os.PathLike[str]) -> Path:
    return Path(root) / CACHE_DIR


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


def attributes_of(label: dict[str, Any]) -> dict[str, str]:
    """The filter attributes of one label (``"-"`` where the label does not say)."""
    attrs = label.get("attributes") or {}
    g = label.get("gesture") or {}
    hands = label.get("hands")
    out: dict[str, Any] = {
        "gesture": g.get("name") if isinstance(g, dict) else g,
        "category": g.get("category") if isinstance(g, dict) else None,
    }
    monk = attrs.get("monk_skin_tone")
    if monk is None and isinstance(attrs.get("skin"), dict):
        monk = attrs["skin"].get("monk")
    if monk is None and isinstance(attrs.get("skin_tone"), (int, str)):
        monk = attrs["skin_tone"]
    out["monk"] = monk
    out["camera_mode"] = attrs.get("camera_mode") or label.get("camera_mode")
    light = attrs.get("lighting_type")
    if light is None:
        li = attrs.get("lighting")
        light = li if isinstance(li, str) else (li.get("kind") or li.get("env", {}).get("kind")) if isinstance(li, dict) else None
    out["lighting"] = light
    held = [o for o in label.get("objects") or [] if isinstance(o, dict) and o.get("category") not in ("accessory", "surface")]
    out["held_object"] = (held[0].get("name") or held[0].get("category")) if held else "none"
    two = attrs.get("two_hands")
    if two is None:
        two = isinstance(hands, list) and len(hands) >= 2
    out["two_hands"] = "yes" if two else "no"
    return {k: (_str(v) if v is not None else "-") for k, v in out.items()}


def _entry_facts(root: Path, e: ManifestEntry) -> dict[str, Any]:
    facts: dict[str, Any] = {"id": e.id, "kinds": [k for k in VIEW_KINDS if k in e.files]}
    try:
        label = json.loads((root / e.files[LABEL_KEY]).read_text("utf-8"))
    except (KeyError, OSError, ValueError):
        facts.update(attrs={k: "-" for k in FILTERS}, caption="", size=None)
        return facts
    facts["attrs"] = attributes_of(label)
    cap = label.get("caption")
    if isinstance(cap, dict):  # several caption styles: show the first
        cap = next(iter(cap.values()), "")
    facts["caption"] = cap if isinstance(cap, str) else ""
    facts["size"] = label.get("image_size")
    return facts


def _key(root: Path) -> list[float]:
    st = (root / MANIFEST).stat()
    return [st.st_size, st.st_mtime_ns]


def build_index(root: str | os.PathLike[str], workers: int = 8) -> list[dict[str, Any]]:
    """Facts of every manifest sample (id order), from the cache when the manifest is unchanged."""
    root = Path(root)
    path = cache_dir(root) / "review" / "index.json"
    key = _key(root)
    if path.exists():
        try:
            doc = json.loads(path.read_text("utf-8"))
            if doc.get("version") == INDEX_VERSION and doc.get("key") == key:
                return doc["samples"]
        except (OSError, ValueError, KeyError):
            pass
    from synth.defects.twin import with_twin_files

    entries = list(with_twin_files(root, read_manifest(root)).values())
    with ThreadPoolExecutor(max_workers=workers) as ex:
        samples = list(ex.map(lambda e: _entry_facts(root, e), entries, chunksize=64))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps({"version": INDEX_VERSION, "key": key, "samples": samples}).encode())
    except OSError as exc:  # a read-only dataset still reviews (reviews/ must be writable)
        logger.warning("cannot cache the review index in %s: %s", path.parent, exc)
    return samples
