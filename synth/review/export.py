"""``synth review export --pairs``: human preference pairs in the ``preference`` package format.

Rows follow the Pick-a-Pic v2 columns of :mod:`synth.dataset.formats.preference` (``caption``,
``jpg_0``, ``jpg_1``, ``label_0``, ``label_1`` plus ``image_0_uid``, ``image_1_uid``,
``pair_id``, ``are_different``, ``has_label``, ``artifact_mask``, ``defect_type``,
``defect_description``, ``source`` = ``"human_review"``), written by that module's
``write_preference_parquet`` (``OUT/data/train-NNNNN-of-MMMMM.parquet``, read by
``datasets.load_dataset``). Where that module is not installed yet, :func:`_write_fallback`
writes the same columns and Features with pyarrow.

Pairs come from the merged pair judgements (:func:`synth.review.merge.merge_pairs`: latest per
reviewer, majority across reviewers, ties dropped). The preferred image gets label 1.0, the
other 0.0; which is stored as ``jpg_0`` is drawn from the seeded pair-order stream. With
``from_verdicts``, each merged-rejected sample is also paired with an accepted sample of the
same gesture (the accepted one preferred; the partner is the next accepted id, deterministic).
A twin pair whose twin lost carries the twin's artifact mask and defect type when the dataset has
them.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import zlib
from pathlib import Path
from typing import Any

from synth.dataset.layout import LABEL_KEY, DatasetError, read_manifest
from synth.review.index import ARTIFACT_KINDS, TWIN_KINDS, build_index
from synth.review.merge import load_merged, merge_pairs
from synth.rng import STREAMS, stream

logger = logging.getLogger(__name__)

PAIR_ORDER_STREAM = STREAMS["pair_order"]  # the preference format's pair-order stream id (synth.rng)


def _defect(label: dict[str, Any]) -> tuple[str | None, str | None]:
    d = label.get("defect") or label.get("twin_defect") or {}
    if isinstance(d, list):
        d = d[0] if d else {}
    if not isinstance(d, dict):
        return None, None
    return d.get("type"), d.get("description") or d.get("words") or label.get("defect_description")


def pair_rows(root: str | os.PathLike[str], from_verdicts: bool = False) -> list[dict[str, Any]]:
    """The rows to write (before the order swap): dicts of the PreferenceRow fields."""
    root = Path(root)
    from synth.defects.twin import with_twin_files

    entries = with_twin_files(root, read_manifest(root))
    facts = {s["id"]: s for s in build_index(root)}
    pairs = merge_pairs(root)
    if from_verdicts:
        merged = load_merged(root)
        accepted: dict[str, list[int]] = {}
        for i, m in sorted(merged.items()):
            if m.verdict == "accept" and i in facts:
                accepted.setdefault(facts[i]["attrs"]["gesture"], []).append(i)
        for i, m in sorted(merged.items()):
            if m.verdict != "reject" or i not in facts:
                continue
            pool = accepted.get(facts[i]["attrs"]["gesture"], [])
            if pool:
                partner = next((a for a in pool if a > i), pool[0])
                pairs.append({"winner": partner, "winner_kind": "rgb", "loser": i, "loser_kind": "rgb",
                              "votes": 1, "against": 0, "source": "verdicts"})  # fmt: skip

    def path(i: int, kind: str) -> Path:
        e = entries[i]
        k = "rgb" if kind == "rgb" else next(x for x in TWIN_KINDS if x in e.files)
        return root / e.files[k]

    def uid(i: int, kind: str) -> str:
        return str(i) if kind == "rgb" else f"{i}/twin"

    rows = []
    for p in pairs:
        w, lz = p["winner"], p["loser"]
        if w not in entries or lz not in entries:
            logger.warning("pair %s/%s: a sample is no longer in the manifest; skipped", w, lz)
            continue
        mask = dtype = desc = None
        if p["loser_kind"] == "twin":
            e = entries[lz]
            mk = next((k for k in ARTIFACT_KINDS if k in e.files), None)
            mask = root / e.files[mk] if mk else None
            dtype, desc = _defect(json.loads((root / e.files.get("twin_label", e.files[LABEL_KEY])).read_text("utf-8")))
        u0, u1 = uid(w, p["winner_kind"]), uid(lz, p["loser_kind"])
        rows.append({"caption": facts.get(w, {}).get("caption", ""), "image_0": path(w, p["winner_kind"]),
                     "image_1": path(lz, p["loser_kind"]), "label_0": 1.0, "label_1": 0.0, "image_0_uid": u0,
                     "image_1_uid": u1, "pair_id": f"{u0}|{u1}", "artifact_mask": mask, "defect_type": dtype,
                     "defect_description": desc, "source": "human_review" if p["source"] != "verdicts" else "human_verdicts"})  # fmt: skip
    return rows


def export_pairs(root: str | os.PathLike[str], out: str | os.PathLike[str], seed: int = 0, from_verdicts: bool = False,
                 force: bool = False) -> int:  # fmt: skip
    """Write the human preference pairs of ``root`` to ``out``; returns the number of pairs."""
    from synth.dataset.package import prepare_out

    rows = pair_rows(root, from_verdicts)
    if not rows:
        raise DatasetError(f"{root} has no human preference pairs (judge some in the review page's pairs mode"
                           + ("" if from_verdicts else ", or use --from-verdicts") + ")")
    out_dir = Path(prepare_out(out, force))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Built in a hidden directory beside --out and moved into place when complete: an interrupted
    # export never leaves a half-written package that looks complete.
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        try:
            from synth.dataset.formats.preference import PreferenceRow, write_preference_parquet
        except ImportError:  # the preference format module is not in this tree yet
            _write_fallback(rows, tmp, seed)
        else:
            write_preference_parquet((PreferenceRow(**r) for r in rows), tmp, seed=seed)
        if out_dir.is_dir() and not any(out_dir.iterdir()):
            out_dir.rmdir()
        if not out_dir.exists():
            os.rename(tmp, out_dir)
        else:  # --force into a non-empty directory: replace same-named files
            for src in sorted(tmp.rglob("*")):
                dst = out_dir / src.relative_to(tmp)
                if src.is_dir():
                    dst.mkdir(exist_ok=True)
                else:
                    os.replace(src, dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return len(rows)


def _swapped(seed: int, pair_id: str) -> bool:
    return bool(stream(seed, zlib.crc32(pair_id.encode()), "pair_order").integers(2))


def _write_fallback(rows: list[dict[str, Any]], out_dir: Path, seed: int) -> Path:
    """Same columns, Features and order rule as ``synth.dataset.formats.preference`` (pyarrow)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Features, Image, Value

    feats = Features({"caption": Value("string"), "jpg_0": Value("binary"), "jpg_1": Value("binary"),
                      "label_0": Value("float64"), "label_1": Value("float64"), "image_0_uid": Value("string"),
                      "image_1_uid": Value("string"), "pair_id": Value("string"), "are_different": Value("bool"),
                      "has_label": Value("bool"), "artifact_mask": Image(), "defect_type": Value("string"),
                      "defect_description": Value("string"), "source": Value("string")})  # fmt: skip
    recs = []
    for r in rows:
        a, b = Path(r["image_0"]).read_bytes(), Path(r["image_1"]).read_bytes()
        la, lb, ua, ub = r["label_0"], r["label_1"], r["image_0_uid"], r["image_1_uid"]
        if _swapped(seed, r["pair_id"]):
            a, b, la, lb, ua, ub = b, a, lb, la, ub, ua
        m = Path(r["artifact_mask"]).read_bytes() if r["artifact_mask"] else None
        recs.append({"caption": r["caption"], "jpg_0": a, "jpg_1": b, "label_0": la, "label_1": lb, "image_0_uid": ua,
                     "image_1_uid": ub, "pair_id": r["pair_id"], "are_different": a != b, "has_label": True,
                     "artifact_mask": None if m is None else {"bytes": m, "path": r["pair_id"].replace("/", "_") + "_mask.png"},
                     "defect_type": r["defect_type"], "defect_description": r["defect_description"], "source": r["source"]})  # fmt: skip
    data = out_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    tmp = data / ".train-00000.tmp"
    pq.write_table(pa.Table.from_pylist(recs, schema=feats.arrow_schema), tmp)
    os.replace(tmp, data / "train-00000-of-00001.parquet")
    return data
