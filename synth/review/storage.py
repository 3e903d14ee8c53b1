"""Review storage: ``DATASET/reviews/REVIEWER.jsonl``, append-only, one atomic line per action.

Each action is one JSON object on one line, appended with a single ``os.write`` of the whole
line to a file opened with ``O_APPEND``, then ``fsync``. A process killed mid-write (kill -9)
leaves at worst a torn last line without its newline; readers ignore such a line (and any line
that does not parse), so every complete action survives. Rendered samples are never touched.

Actions (``type``):

* ``review``: the reviewer's whole current judgement of one sample -- ``id``, ``verdict``
  (``accept``/``reject``/``null``), ``rating`` (1-5 or null), ``reasons`` (list of
  :data:`REASONS` keys), ``note`` (free text for ``other``), ``regions`` (list of
  ``[x0, y0, x1, y1]`` boxes in image pixels, exclusive end). The latest line per id wins.
* ``pair``: a preference between two images -- ``a``, ``b`` (ids), ``choice`` (``a``/``b``),
  ``source``: ``random`` (two different samples' rgb) or ``twin`` (``a == b``: image A is the
  sample's rgb, image B its defect twin).

Every line also carries ``reviewer`` and ``time`` (ISO-8601 UTC wall clock of the judgement;
review records are not generated content).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

REVIEWS_DIR = "reviews"
#: Reviewer names: letters, digits, ``.``, ``_``, ``-``; 1-64 characters, not starting with ``.``.
REVIEWER_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")
#: The fixed list of reject reasons: key -> words shown on the page.
REASONS: dict[str, str] = {
    "wrong_label": "wrong label",
    "bad_pose": "anatomically wrong pose",
    "skin": "unrealistic skin",
    "lighting": "bad lighting",
    "clipping": "object clipping",
    "caption": "caption wrong",
    "other": "other",
}
VERDICTS = ("accept", "reject")
MAX_NOTE = 2000
MAX_REGIONS = 64


class ReviewError(ValueError):
    """A review action or reviewer name is invalid."""


def check_reviewer(name: str) -> str:
    """Return ``name`` if it is a safe reviewer name (no path characters), else raise."""
    if not isinstance(name, str) or not REVIEWER_RE.match(name):
        raise ReviewError(f"reviewer name {name!r} must be 1-64 of A-Z a-z 0-9 . _ - (not starting with '.')")
    return name


def review_path(root: str | os.PathLike[str], reviewer: str) -> Path:
    """``root/reviews/REVIEWER.jsonl`` (the name is validated)."""
    return Path(root) / REVIEWS_DIR / f"{check_reviewer(reviewer)}.jsonl"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _int_id(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ReviewError(f"{what} must be a sample id (int >= 0), got {v!r}")
    return v


def normalise(action: dict[str, Any]) -> dict[str, Any]:
    """Validate one action and return its canonical form (unknown keys dropped); raises ReviewError."""
    if not isinstance(action, dict):
        raise ReviewError("an action is a JSON object")
    kind = action.get("type")
    out: dict[str, Any] = {"type": kind}
    if kind == "review":
        out["id"] = _int_id(action.get("id"), "id")
        verdict = action.get("verdict")
        if verdict not in (*VERDICTS, None):
            raise ReviewError(f"verdict must be accept, reject or null, got {verdict!r}")
        rating = action.get("rating")
        if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5):
            raise ReviewError(f"rating must be 1..5 or null, got {rating!r}")
        reasons = action.get("reasons") or []
        if not isinstance(reasons, list) or any(r not in REASONS for r in reasons):
            raise ReviewError(f"reasons must be a list of {sorted(REASONS)}, got {reasons!r}")
        note = action.get("note") or ""
        if not isinstance(note, str) or len(note) > MAX_NOTE:
            raise ReviewError(f"note must be text of at most {MAX_NOTE} characters")
        regions = action.get("regions") or []
        if not isinstance(regions, list) or len(regions) > MAX_REGIONS:
            raise ReviewError(f"regions must be a list of at most {MAX_REGIONS} boxes")
        boxes = []
        for r in regions:
            if (not isinstance(r, list) or len(r) != 4
                    or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in r)):  # fmt: skip
                raise ReviewError(f"a region is [x0, y0, x1, y1] in pixels, got {r!r}")
            x0, y0, x1, y1 = (int(round(v)) for v in r)
            if x1 <= x0 or y1 <= y0 or min(x0, y0) < 0:
                raise ReviewError(f"a region needs 0 <= x0 < x1 and 0 <= y0 < y1, got {r!r}")
            boxes.append([x0, y0, x1, y1])
        out.update(verdict=verdict, rating=rating, reasons=list(dict.fromkeys(reasons)), note=note, regions=boxes)
    elif kind == "pair":
        out["a"] = _int_id(action.get("a"), "a")
        out["b"] = _int_id(action.get("b"), "b")
        out["source"] = action.get("source") if action.get("source") in ("twin", "random") else "random"
        if (out["a"] == out["b"]) != (out["source"] == "twin"):
            raise ReviewError("a pair is a sample and its defect twin (source twin, a == b) or two different samples")
        if action.get("choice") not in ("a", "b"):
            raise ReviewError(f"choice must be 'a' or 'b', got {action.get('choice')!r}")
        out["choice"] = action["choice"]
    else:
        raise ReviewError(f"unknown action type {kind!r} (review or pair)")
    return out


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def append_action(root: str | os.PathLike[str], reviewer: str, action: dict[str, Any]) -> dict[str, Any]:
    """Validate ``action``, stamp ``reviewer`` and ``time``, append it as one line; return the record.

    The line is written by a single ``os.write`` on an ``O_APPEND`` descriptor and fsynced, so a
    concurrent or killed writer never interleaves or half-writes a complete-looking line.
    """
    path = review_path(root, reviewer)
    rec = normalise(action)
    rec["reviewer"] = reviewer
    rec["time"] = action.get("time") if isinstance(action.get("time"), str) else now_iso()
    line = (json.dumps(rec, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locks_guard:
        lock = _locks.setdefault(str(path), threading.Lock())
    with lock:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            # A previous writer killed mid-line left a torn tail: start on a fresh line so this
            # record parses (the torn fragment stays one ignored line).
            size = os.fstat(fd).st_size
            if size:
                with open(path, "rb") as f:
                    f.seek(size - 1)
                    if f.read(1) != b"\n":
                        line = b"\n" + line
            n = os.write(fd, line)
            if n != len(line):
                raise OSError(f"short write to {path} ({n} of {len(line)} bytes)")
            os.fsync(fd)
        finally:
            os.close(fd)
    return rec


def read_lines(path: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], list[int]]:
    """Parsed actions of one review file, and the 1-based numbers of lines that did not parse
    (a torn last line, garbage). Invalid actions count as bad lines."""
    recs: list[dict[str, Any]] = []
    bad: list[int] = []
    data = Path(path).read_bytes()
    for n, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            d = json.loads(raw.decode("utf-8"))
            rec = normalise(d)
        except (ValueError, UnicodeDecodeError):
            bad.append(n)
            continue
        rec["reviewer"] = d.get("reviewer")
        rec["time"] = d.get("time")
        recs.append(rec)
    return recs, bad


def reviewers(root: str | os.PathLike[str]) -> list[str]:
    """Names of the reviewers with a file under ``root/reviews/`` (sorted)."""
    d = Path(root) / REVIEWS_DIR
    if not d.is_dir():
        return []
    return sorted(p.stem for p in d.glob("*.jsonl") if REVIEWER_RE.match(p.stem))


def read_actions(root: str | os.PathLike[str], reviewer: str) -> list[dict[str, Any]]:
    """All valid actions of one reviewer in file order (missing file: none)."""
    path = review_path(root, reviewer)
    if not path.exists():
        return []
    recs, bad = read_lines(path)
    if bad:
        logger.warning("%s: ignored %d unreadable line(s) (e.g. line %d)", path, len(bad), bad[0])
    return recs


def latest_reviews(actions: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The latest ``review`` action per sample id (file order: a later line wins)."""
    out: dict[int, dict[str, Any]] = {}
    for a in actions:
        if a["type"] == "review":
            out[a["id"]] = a
    return out


def iter_all(root: str | os.PathLike[str]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """``(reviewer, actions)`` for every reviewer of the dataset."""
    for name in reviewers(root):
        yield name, read_actions(root, name)
