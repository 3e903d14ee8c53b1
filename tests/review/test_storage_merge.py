"""Review storage (atomic append, torn lines, kill -9) and the merge rule / Cohen's kappa."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synth.review import storage
from synth.review.merge import agreement, cohen_kappa, merge_reviews


def test_reviewer_names_are_validated(tmp_path: Path) -> None:
    for bad in ["", "../x", "a/b", "a\\b", ".hidden", "x" * 65, "a b", "é", "..", "/abs"]:
        with pytest.raises(storage.ReviewError):
            storage.review_path(tmp_path, bad)
    assert storage.review_path(tmp_path, "Ann.B-2_x").name == "Ann.B-2_x.jsonl"


def test_actions_validated_and_appended_one_line_each(tmp_path: Path) -> None:
    rec = storage.append_action(tmp_path, "bob", {"type": "review", "id": 3, "verdict": "reject", "rating": 2,
                                                   "reasons": ["skin", "skin", "other"], "note": "waxy", "regions": [[1.2, 2, 10, 12.6]]})
    assert rec["reasons"] == ["skin", "other"] and rec["regions"] == [[1, 2, 10, 13]]
    for bad in [{"type": "review", "id": -1}, {"type": "review", "id": 1, "verdict": "maybe"},
                {"type": "review", "id": 1, "rating": 6}, {"type": "review", "id": 1, "rating": True},
                {"type": "review", "id": 1, "reasons": ["nope"]}, {"type": "review", "id": 1, "regions": [[5, 5, 2, 9]]},
                {"type": "pair", "a": 1, "b": 1, "choice": "a"}, {"type": "pair", "a": 1, "b": 2, "choice": "c"},
                {"type": "delete", "id": 1}]:  # fmt: skip
        with pytest.raises(storage.ReviewError):
            storage.append_action(tmp_path, "bob", bad)
    storage.append_action(tmp_path, "bob", {"type": "pair", "a": 4, "b": 4, "choice": "b", "source": "twin"})
    lines = (tmp_path / "reviews" / "bob.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 3
    assert [json.loads(x)["type"] for x in lines[:2]] == ["review", "pair"]


def test_torn_last_line_is_ignored_and_next_append_starts_fresh(tmp_path: Path) -> None:
    storage.append_action(tmp_path, "c", {"type": "review", "id": 1, "verdict": "accept"})
    path = tmp_path / "reviews" / "c.jsonl"
    with open(path, "ab") as f:  # what a kill -9 in the middle of a write would leave
        f.write(b'{"type":"review","id":2,"verd')
    assert [a["id"] for a in storage.read_actions(tmp_path, "c")] == [1]
    storage.append_action(tmp_path, "c", {"type": "review", "id": 3, "verdict": "reject"})
    acts = storage.read_actions(tmp_path, "c")
    assert [a["id"] for a in acts] == [1, 3]
    recs, bad = storage.read_lines(path)
    assert bad == [2] and len(recs) == 2


_WRITER = """
import sys
from synth.review import storage
root = sys.argv[1]
i = 0
while True:
    storage.append_action(root, "k", {"type": "review", "id": i, "verdict": "accept" if i % 2 else "reject",
                                      "rating": 1 + i % 5, "note": "x" * (i % 300)})
    i += 1
"""


def test_survives_kill_9(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    path = tmp_path / "reviews" / "k.jsonl"
    for _round in range(3):
        p = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path)], env=env)
        t0 = time.monotonic()
        while (not path.exists() or path.stat().st_size < 20_000 * (_round + 1)) and time.monotonic() - t0 < 60:
            time.sleep(0.01)
        p.send_signal(signal.SIGKILL)
        p.wait()
    recs, bad = storage.read_lines(path)
    # Every complete line parses; at most one torn line per kill, never a half-valid record.
    assert len(recs) > 100 and len(bad) <= 3
    for r in recs:
        assert r["verdict"] == ("accept" if r["id"] % 2 else "reject") and r["note"] == "x" * (r["id"] % 300)


def _rv(i: int, verdict: str | None, rating: int | None = None) -> dict:
    return {"type": "review", "id": i, "verdict": verdict, "rating": rating, "reasons": [], "note": "", "regions": []}


def test_merge_latest_then_majority_tie_rejects(tmp_path: Path) -> None:
    storage.append_action(tmp_path, "a", _rv(1, "reject"))
    storage.append_action(tmp_path, "a", _rv(1, "accept", 4))  # latest wins for a
    storage.append_action(tmp_path, "b", _rv(1, "accept", 2))
    storage.append_action(tmp_path, "c", _rv(1, "reject"))
    storage.append_action(tmp_path, "a", _rv(2, "accept"))
    storage.append_action(tmp_path, "b", _rv(2, "reject"))  # tie 1:1 -> reject
    storage.append_action(tmp_path, "a", _rv(3, None, 5))  # rating only
    from synth.review.merge import load_merged

    m = load_merged(tmp_path)
    assert (m[1].verdict, m[1].n_accept, m[1].n_reject, m[1].rating) == ("accept", 2, 1, 3.0)
    assert m[2].verdict == "reject" and m[2].n_accept == m[2].n_reject == 1
    assert m[3].verdict is None and m[3].rating == 5.0


def test_cohen_kappa_against_hand_computation() -> None:
    # 10 shared samples. a: A A A A A A R R R R ; b: A A A A R R R R R A
    a = list("AAAAAARRRR")
    b = list("AAAARRRRRA")
    # p_o = agreements / 10: positions 0-3 (A,A) and 6-8 (R,R) -> 7/10.
    # p_e = P(a=A)P(b=A) + P(a=R)P(b=R) = 0.6*0.5 + 0.4*0.5 = 0.5 -> kappa = (0.7-0.5)/(1-0.5) = 0.4
    assert cohen_kappa(a, b) == pytest.approx(0.4, abs=1e-12)
    assert cohen_kappa(list("AR"), list("AR")) == pytest.approx(1.0)
    assert cohen_kappa(list("AR"), list("RA")) == pytest.approx(-1.0)
    assert cohen_kappa(list("AAA"), list("AAA")) is None  # p_e = 1: undefined
    per = {"x": {i: _rv(i, "accept" if v == "A" else "reject") for i, v in enumerate(a)},
           "y": {i: _rv(i, "accept" if v == "A" else "reject") for i, v in enumerate(b)}}
    per["y"][99] = _rv(99, "accept")  # not shared
    (ag,) = agreement(per)
    assert ag["n"] == 10 and ag["observed"] == pytest.approx(0.7) and ag["kappa"] == pytest.approx(0.4)
    assert merge_reviews(per)[99].verdict == "accept"


def test_merge_cli_reports_kappa(review_ds: Path) -> None:
    from click.testing import CliRunner

    from synth.cli import cli

    for i, (va, vb) in enumerate(zip("AAAAAARRRR", "AAAARRRRRA", strict=True)):
        storage.append_action(review_ds, "x", _rv(i, "accept" if va == "A" else "reject"))
        storage.append_action(review_ds, "y", _rv(i, "accept" if vb == "A" else "reject"))
    r = CliRunner().invoke(cli, ["review", "merge", str(review_ds)])
    assert r.exit_code == 0, r.output
    assert "Cohen's kappa 0.400" in r.output and "10 shared" in r.output
    r = CliRunner().invoke(cli, ["review", "merge", str(review_ds.parent)])
    assert r.exit_code != 0
