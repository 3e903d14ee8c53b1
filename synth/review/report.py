"""Reject rates by attribute value, with Wilson 95 % intervals, for the dataset card and
``review suggest``.

A sample counts as *reviewed* when its merged verdict (:mod:`synth.review.merge`) is accept or
reject; its reject rate per attribute value is ``k / n`` over reviewed samples with that value.
The interval is Wilson's score interval::

    centre = (p + z^2 / (2n)) / (1 + z^2 / n),  half = z sqrt(p (1 - p) / n + z^2 / (4 n^2)) / (1 + z^2 / n)

with ``z = 1.959964`` (95 %), which stays inside [0, 1] and is sensible for small ``n`` and
rates near 0 or 1 (unlike the normal approximation).
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter
from pathlib import Path

from synth.review.index import FILTERS, build_index
from synth.review.merge import load_merged
from synth.review.storage import REASONS

logger = logging.getLogger(__name__)

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval ``(lo, hi)`` of ``k`` successes in ``n`` trials (``(0, 1)`` for n = 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    d = 1.0 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def reject_rates(root: str | os.PathLike[str]) -> dict[str, dict[str, tuple[int, int]]]:
    """``{attribute: {value: (rejected, reviewed)}}`` over samples with a merged verdict."""
    merged = load_merged(root)
    out: dict[str, dict[str, list[int]]] = {k: {} for k in FILTERS}
    for s in build_index(root):
        m = merged.get(s["id"])
        if m is None or m.verdict is None:
            continue
        for k in FILTERS:
            v = s["attrs"].get(k, "-")
            kn = out[k].setdefault(v, [0, 0])
            kn[0] += m.verdict == "reject"
            kn[1] += 1
    return {k: {v: (kn[0], kn[1]) for v, kn in sorted(d.items())} for k, d in out.items()}


def card_section(root: str | os.PathLike[str], plot_dir: Path, rel: str) -> list[str]:
    """Markdown lines of the card's "Human review" section (empty without review files), and its
    plot ``plot_dir/review_reject_rates.png``."""
    merged = load_merged(root)
    if not merged:
        return []
    rates = reject_rates(root)
    v = [m.verdict for m in merged.values()]
    n_rev = v.count("accept") + v.count("reject")
    L = ["## Human review\n"]
    from synth.review.storage import reviewers

    names = reviewers(root)
    L.append(f"{len(names)} reviewer(s) ({', '.join(names)}); {n_rev} sample(s) with a verdict: {v.count('accept')} accepted, "
             f"{v.count('reject')} rejected (merge rule: latest action per reviewer, then majority; ties reject -- "
             "`synth review merge`). Reject rates per attribute value, with Wilson 95 % intervals; "
             "`synth package --exclude-rejected` leaves the rejected samples out.\n")  # fmt: skip
    reasons = Counter(r for m in merged.values() if m.verdict == "reject" for r in m.reasons)
    if reasons:
        rows = "\n".join(f"| {REASONS.get(k, k)} | {n} |" for k, n in reasons.most_common())
        L.append("| reject reason | samples |\n|---|---:|\n" + rows)
        L.append("")
    shown = {k: d for k, d in rates.items() if d and not (len(d) == 1 and "-" in d)}
    for k, d in shown.items():
        L.append(f"| {FILTERS[k]} | reviewed | rejected | reject rate | 95 % interval |\n|---|---:|---:|---:|---|")
        for val, (kk, n) in sorted(d.items(), key=lambda x: -x[1][1])[:40]:
            lo, hi = wilson(kk, n)
            L.append(f"| {val} | {n} | {kk} | {kk / n:.1%} | {lo:.1%} - {hi:.1%} |")
        L.append("")
    name = _plot(shown, plot_dir)
    if name:
        L.append(f"![reject rate by attribute value]({rel}/{name})\n")
    return L


def _plot(rates: dict[str, dict[str, tuple[int, int]]], folder: Path) -> str | None:
    rates = {k: d for k, d in rates.items() if len(d) > 1}
    if not rates:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    n = len(rates)
    rows = [min(len(d), 20) for d in rates.values()]
    fig, axes = plt.subplots(n, 1, figsize=(7, 0.9 + 0.28 * sum(rows) + 0.5 * n), squeeze=False,
                             gridspec_kw={"height_ratios": rows})  # fmt: skip
    for ax, (k, d) in zip(axes[:, 0], rates.items(), strict=True):
        items = sorted(d.items(), key=lambda x: -x[1][1])[:20][::-1]
        p = [kk / nn for _, (kk, nn) in items]
        ci = [wilson(kk, nn) for _, (kk, nn) in items]
        err = [[max(0.0, pi - lo) for pi, (lo, _) in zip(p, ci, strict=True)],
               [max(0.0, hi - pi) for pi, (_, hi) in zip(p, ci, strict=True)]]  # fmt: skip
        ax.barh(range(len(items)), p, xerr=err, color="#e5484d", alpha=0.8, capsize=3, ecolor="#333")
        ax.set_yticks(range(len(items)), [f"{v} (n={nn})" for v, (_, nn) in items], fontsize=8)
        ax.set_xlim(0, 1)
        ax.set_title(f"reject rate by {FILTERS[k]} (95 % Wilson interval)", fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    name = "review_reject_rates.png"
    fig.savefig(folder / name, dpi=110)
    plt.close(fig)
    return name


def keep_ids(root: str | os.PathLike[str], ids: list[int], exclude_rejected: bool = False,
             min_rating: float | None = None) -> list[int]:  # fmt: skip
    """The ids of ``ids`` a package keeps: without merged verdict ``reject`` (``exclude_rejected``)
    and with a merged (mean) rating ``>= min_rating`` (unrated samples are left out when a
    minimum is given). Raises ValueError when the dataset has no reviews at all."""
    if not exclude_rejected and min_rating is None:
        return list(ids)
    merged = load_merged(root)
    if not merged:
        raise ValueError(f"{root} has no reviews (reviews/*.jsonl) for --exclude-rejected / --min-rating")
    out = []
    for i in ids:
        m = merged.get(i)
        if exclude_rejected and m is not None and m.verdict == "reject":
            continue
        if min_rating is not None and (m is None or m.rating is None or m.rating < min_rating):
            continue
        out.append(i)
    logger.info("review filter: kept %d of %d sample(s)", len(out), len(ids))
    return out
