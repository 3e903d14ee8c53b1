"""Library build step: solve every gesture's declared contacts and write the angles back.

``synth gestures solve-contacts [--write]`` runs :func:`synth.gestures.contact.solve_gesture` on
the open hand (right; the left hand is its exact mirror image, so the same angles hold) for each
gesture that declares contacts, and with ``--write`` rewrites that gesture's pose in its YAML
file as explicit numbers (:func:`fingers_line`, 0.1 degree), leaving comments and every other
line alone. The solved angles then live in the YAML: reproducible, reviewed in diffs, and free
at run time.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from synth.hand import anatomy

logger = logging.getLogger(__name__)


def _r(x: float) -> str:
    v = round(float(x), 1)
    return str(int(v)) if v == int(v) else f"{v:g}"


def fingers_line(pose: np.ndarray) -> str:
    """The ``fingers:`` flow mapping (one YAML line, two-space indent) that expands to ``pose``
    ``(16, 3)`` degrees for every DOF the compact notation holds (thumb CMC flex/abd/twist, MCP
    and IP flexion; finger MCP flexion and abduction, PIP and DIP flexion)."""
    p = anatomy.as_pose(pose)
    th = [p[1, 0], p[1, 1], p[2, 0], p[3, 0], p[1, 2]]
    parts = [f"thumb: [{', '.join(_r(v) for v in th)}]"]
    for f in anatomy.FINGERS[1:]:
        m, pi, d = anatomy.joints_of(f)
        parts.append(f"{f}: [{_r(p[m, 0])}, {_r(p[pi, 0])}, {_r(p[d, 0])}, {_r(p[m, 1])}]")
    return "  fingers: {" + ", ".join(parts) + "}"


def representable(pose: np.ndarray, tol: float = 1e-9) -> bool:
    """True when :func:`fingers_line` (plus ``wrist``) holds every non-zero angle of ``pose``."""
    p = anatomy.as_pose(pose).copy()
    p[0] = 0.0
    p[1] = 0.0
    p[2, 0] = p[3, 0] = 0.0
    for f in anatomy.FINGERS[1:]:
        m, pi, d = anatomy.joints_of(f)
        p[m, :2] = 0.0
        p[pi, 0] = p[d, 0] = 0.0
    return bool(np.all(np.abs(p) <= tol))


def rewrite_pose(text: str, name: str, pose: np.ndarray) -> str:
    """``text`` (a gesture YAML file) with gesture ``name``'s ``fingers``/``spread``/``default``
    lines replaced by one explicit ``fingers:`` line for ``pose``; raises ValueError when the
    entry is missing or holds a ``joints:`` block (not rewritten automatically)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if re.fullmatch(rf"- name: {re.escape(name)}\s*", ln)), None)
    if start is None:
        raise ValueError(f"gesture {name!r} not found")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("- ")), len(lines))
    block = lines[start:end]
    if any(ln.startswith("  joints:") for ln in block):
        raise ValueError(f"gesture {name!r} has a joints: block; edit it by hand")
    if not representable(pose):
        raise ValueError(f"gesture {name!r}: the solved pose has angles the compact notation cannot hold")
    out, placed = [], False
    for ln in block:
        if ln.startswith(("  fingers:", "  spread:", "  default:")):
            if not placed:
                out.append(fingers_line(pose) + "\n")
                placed = True
            continue
        out.append(ln)
    if not placed:
        out.append(fingers_line(pose) + "\n")
    return "".join(lines[:start] + out + lines[end:])


def solve_library(names: list[str] | None = None, write: bool = False) -> list[dict[str, object]]:
    """Solve the contacts of the library's gestures (all that declare any, or ``names``).

    Returns one row per gesture: name, file, ok, before/after signed distances (mm), largest
    angle change (degrees), forward passes. With ``write`` the YAML files are rewritten.
    """
    from synth.gestures import contact
    from synth.gestures.library import ASSET_DIR, load_library
    from synth.hand.models import load_model

    lib = load_library()
    rig = load_model("open-hand", "right")
    rows: list[dict[str, object]] = []
    edits: dict[str, str] = {}
    for g in lib:
        if names is not None and g.name not in names:
            continue
        if not contact.contact_pairs(g.contacts) and not g.features:
            continue
        res = contact.solve_gesture(rig, g.pose, g.contacts, features=g.features)
        pose = np.round(res.pose, 1)
        rows.append({
            "name": g.name, "file": g.source, "ok": res.ok,
            "before_mm": {f"{a}-{b}": round(1000 * d, 2) for (a, b), d in res.before.items()},
            "after_mm": {f"{a}-{b}": round(1000 * d, 2) for (a, b), d in res.distances.items()},
            "max_change_deg": round(float(np.abs(pose - g.pose).max()), 1), "evaluations": res.evaluations,
        })
        if write and res.ok:
            path = ASSET_DIR / g.source
            text = edits.get(g.source, path.read_text())
            edits[g.source] = rewrite_pose(text, g.name, pose)
    for src, text in edits.items():
        Path(ASSET_DIR / src).write_text(text)
        logger.info("rewrote %s", src)
    return rows
