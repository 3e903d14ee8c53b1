"""Merging several reviewers' files, and agreement between reviewers.

**Merge rule** (documented contract, used by ``package --exclude-rejected/--min-rating``, the
card's review section, ``review suggest`` and ``review export``):

1. Per reviewer, the *latest* ``review`` line of a sample wins (file order); a line whose verdict
   is null only carries a rating / reasons.
2. Across reviewers, the verdict is the *majority* of the reviewers' accept/reject verdicts.
   A *tie* (e.g. one accept, one reject) merges to **reject**: a sample that half of its
   reviewers reject is kept out of training sets (the conservative choice).
3. The merged rating is the mean of the reviewers' ratings (null when none rated); reasons are
   the union; regions are kept per reviewer.
4. Pairs: per reviewer the latest judgement of an unordered pair {a, b} wins; across reviewers the
   majority choice wins, a tie drops the pair (no preference).

**Agreement**: Cohen's kappa of the accept/reject verdicts for every pair of reviewers, over the
samples both judged: ``kappa = (p_o - p_e) / (1 - p_e)`` with ``p_o`` the observed agreement and
``p_e = sum_c p1(c) p2(c)`` the agreement expected from each reviewer's own verdict frequencies.
Undefined (None) when ``p_e == 1`` (both reviewers gave one and the same verdict throughout).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Any

from synth.review.storage import iter_all, latest_reviews


@dataclass
class Merged:
    """The merged judgement of one sample."""

    id: int
    verdict: str | None  # accept / reject / None (nobody gave a verdict)
    rating: float | None
    reasons: list[str]
    n_accept: int = 0
    n_reject: int = 0
    by_reviewer: dict[str, dict[str, Any]] = field(default_factory=dict)


def merge_reviews(per_reviewer: dict[str, dict[int, dict[str, Any]]]) -> dict[int, Merged]:
    """Merge ``{reviewer: {id: latest review}}`` by the module's rule; returns ``{id: Merged}``."""
    ids = sorted({i for revs in per_reviewer.values() for i in revs})
    out: dict[int, Merged] = {}
    for i in ids:
        mine = {r: revs[i] for r, revs in per_reviewer.items() if i in revs}
        verdicts = [v["verdict"] for v in mine.values() if v.get("verdict")]
        na, nr = verdicts.count("accept"), verdicts.count("reject")
        verdict = None if not verdicts else "accept" if na > nr else "reject"
        ratings = [v["rating"] for v in mine.values() if v.get("rating") is not None]
        reasons = sorted({r for v in mine.values() for r in v.get("reasons", [])})
        out[i] = Merged(i, verdict, sum(ratings) / len(ratings) if ratings else None, reasons, na, nr, mine)
    return out


def load_merged(root: str | os.PathLike[str]) -> dict[int, Merged]:
    """Merged reviews of a dataset (empty when it has no review files)."""
    return merge_reviews({name: latest_reviews(acts) for name, acts in iter_all(root)})


def merge_pairs(root: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Merged preference pairs, sorted: ``[{"winner", "winner_kind", "loser", "loser_kind", "votes",
    "against", "source"}]``; kinds are ``rgb`` or ``twin`` (a defect twin judged against its sample)."""
    votes: dict[tuple[int, int, str], list[int]] = {}
    for _name, acts in iter_all(root):
        latest: dict[tuple[int, int, str], dict[str, Any]] = {}
        for a in acts:
            if a["type"] == "pair":
                latest[(min(a["a"], a["b"]), max(a["a"], a["b"]), a.get("source", "random"))] = a
        for key, a in latest.items():
            if key[2] == "twin":
                first_wins = a["choice"] == "a"  # image A is the sample as rendered, B its twin
            else:
                first_wins = (a["a"] if a["choice"] == "a" else a["b"]) == key[0]
            votes.setdefault(key, [0, 0])[0 if first_wins else 1] += 1
    out = []
    for (lo, hi, source), (n0, n1) in sorted(votes.items()):
        if n0 == n1:
            continue
        kinds = ("rgb", "twin") if source == "twin" else ("rgb", "rgb")
        w, wk, lz, lk = (lo, kinds[0], hi, kinds[1]) if n0 > n1 else (hi, kinds[1], lo, kinds[0])
        out.append({"winner": w, "winner_kind": wk, "loser": lz, "loser_kind": lk, "votes": max(n0, n1),
                    "against": min(n0, n1), "source": source})
    return out


def cohen_kappa(a: list[str], b: list[str]) -> float | None:
    """Cohen's kappa of two equally long label sequences (None when ``p_e == 1``)."""
    if len(a) != len(b):
        raise ValueError("kappa needs two sequences of equal length")
    n = len(a)
    if n == 0:
        return None
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    cats = set(a) | set(b)
    pe = sum((a.count(c) / n) * (b.count(c) / n) for c in cats)
    if pe >= 1.0:
        return None
    return (po - pe) / (1.0 - pe)


def agreement(per_reviewer: dict[str, dict[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Kappa per pair of reviewers: ``[{"a", "b", "n", "observed", "kappa"}]`` over shared verdicts."""
    out = []
    for ra, rb in itertools.combinations(sorted(per_reviewer), 2):
        va, vb = per_reviewer[ra], per_reviewer[rb]
        shared = sorted(i for i in va if i in vb and va[i].get("verdict") and vb[i].get("verdict"))
        la = [va[i]["verdict"] for i in shared]
        lb = [vb[i]["verdict"] for i in shared]
        obs = sum(x == y for x, y in zip(la, lb, strict=True)) / len(shared) if shared else None
        out.append({"a": ra, "b": rb, "n": len(shared), "observed": obs, "kappa": cohen_kappa(la, lb)})
    return out
