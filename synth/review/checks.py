"""``synth validate`` checks of ``DATASET/reviews/*.jsonl``.

Errors: a file name that is not a valid reviewer name, a line in the middle of a file that does
not parse as a valid action, a region outside its sample's image. Warnings: a torn last line (a
writer killed mid-append; readers ignore it, the next append starts a fresh line), reviews of
ids that are not in the manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synth.review.storage import REVIEWER_RE, REVIEWS_DIR, read_lines


def check_reviews(root: str | Path, entries: dict[int, Any]) -> tuple[list[str], list[str]]:
    """``(errors, warnings)`` about the review files of dataset ``root`` (none without reviews)."""
    errors: list[str] = []
    warnings: list[str] = []
    d = Path(root) / REVIEWS_DIR
    if not d.is_dir():
        return errors, warnings
    sizes: dict[int, Any] | None = None
    for p in sorted(d.iterdir()):
        rel = f"{REVIEWS_DIR}/{p.name}"
        if p.name.startswith("."):
            continue
        if p.suffix != ".jsonl" or not REVIEWER_RE.match(p.stem) or not p.is_file():
            errors.append(f"{rel}: not a review file (reviews/REVIEWER.jsonl, reviewer A-Z a-z 0-9 . _ -)")
            continue
        try:
            data = p.read_bytes()
            recs, bad = read_lines(p)
        except OSError as exc:
            errors.append(f"{rel}: unreadable ({exc.strerror})")
            continue
        n_lines = data.count(b"\n") + (not data.endswith(b"\n") and bool(data))
        torn = bool(data) and not data.endswith(b"\n")
        for n in bad:
            if torn and n == n_lines:
                warnings.append(f"{rel}: line {n} is a torn last line (ignored)")
            else:
                errors.append(f"{rel}: line {n} is not a valid review action")
        unknown = sorted({i for r in recs for i in ((r["id"],) if r["type"] == "review" else (r["a"], r["b"])) if i not in entries})
        if unknown:
            warnings.append(f"{rel}: {len(unknown)} reviewed id(s) not in the manifest (e.g. {unknown[0]})")
        for r in recs:
            if r["type"] != "review" or not r["regions"] or r["id"] not in entries:
                continue
            if sizes is None:
                from synth.review.index import build_index

                sizes = {s["id"]: s.get("size") for s in build_index(root)}
            size = sizes.get(r["id"])
            if size and any(b[2] > size[0] or b[3] > size[1] for b in r["regions"]):
                errors.append(f"{rel}: sample {r['id']}: a region lies outside the {size[0]}x{size[1]} image")
    return errors, warnings
