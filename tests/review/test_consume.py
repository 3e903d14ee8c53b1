"""Consumers of reviews: package --exclude-rejected / --min-rating, the card's review section,
validate's checks of review files, and export --pairs (loaded with datasets.load_dataset)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from synth.cli import cli
from synth.review import storage


def _rv(root: Path, who: str, i: int, verdict: str | None, rating: int | None = None, reasons=()) -> None:  # noqa: ANN001
    storage.append_action(root, who, {"type": "review", "id": i, "verdict": verdict, "rating": rating, "reasons": list(reasons)})


def _coco_ids(out: Path) -> set[int]:
    ids = set()
    for p in out.rglob("*.json"):
        d = json.loads(p.read_text())
        if isinstance(d, dict) and "images" in d:
            ids |= {int(im["id"]) for im in d["images"]}
    return ids


def test_package_exclude_rejected_and_min_rating(review_ds: Path, tmp_path: Path) -> None:
    run = CliRunner().invoke
    r = run(cli, ["package", str(review_ds), "--format", "coco", "--out", str(tmp_path / "x"), "--split", "none", "--exclude-rejected"])
    assert r.exit_code != 0 and "no reviews" in r.output
    _rv(review_ds, "a", 0, "reject")
    _rv(review_ds, "a", 1, "accept", 5)
    _rv(review_ds, "a", 2, "accept", 2)
    _rv(review_ds, "a", 3, "reject", 4)
    _rv(review_ds, "b", 3, "accept", 4)  # 1:1 tie -> reject
    _rv(review_ds, "a", 4, "accept", 3)
    _rv(review_ds, "b", 4, None, 4)  # mean rating 3.5
    out = tmp_path / "ex"
    r = run(cli, ["package", str(review_ds), "--format", "coco", "--out", str(out), "--split", "none", "--exclude-rejected"])
    assert r.exit_code == 0, r.output
    assert _coco_ids(out) == set(range(30)) - {0, 3}
    out = tmp_path / "mr"
    r = run(cli, ["package", str(review_ds), "--format", "coco", "--out", str(out), "--split", "none", "--min-rating", "3.5"])
    assert r.exit_code == 0, r.output
    assert _coco_ids(out) == {1, 3, 4}  # unrated samples are left out
    out = tmp_path / "both"
    r = run(cli, ["package", str(review_ds), "--format", "coco", "--out", str(out), "--split", "none", "--exclude-rejected",
                  "--min-rating", "3"])  # fmt: skip
    assert r.exit_code == 0 and _coco_ids(out) == {1, 4}
    r = run(cli, ["package", str(review_ds), "--format", "coco", "--out", str(tmp_path / "none"), "--min-rating", "5.0",
                  "--exclude-rejected", "--split", "none"])  # fmt: skip
    assert r.exit_code == 0 and _coco_ids(tmp_path / "none") == {1}
    r = run(cli, ["package", str(review_ds), "--format", "coco", "--out", str(tmp_path / "bad"), "--min-rating", "7"])
    assert r.exit_code != 0 and "--min-rating" in r.output


def test_card_review_section(review_ds: Path) -> None:
    from synth.review.index import build_index

    gestures = {s["id"]: s["attrs"]["gesture"] for s in build_index(review_ds)}
    first = gestures[0]
    for i in range(30):  # every sample of sample 0's gesture rejected (rate 1: the interval's edge case)
        rej = i % 3 == 0 or gestures[i] == first
        _rv(review_ds, "a", i, "reject" if rej else "accept", reasons=["skin"] if i % 3 == 0 else [])
    r = CliRunner().invoke(cli, ["stats", str(review_ds)])
    assert r.exit_code == 0, r.output
    card = (review_ds / "README.md").read_text()
    n_rej = sum(i % 3 == 0 or gestures[i] == first for i in range(30))
    assert "## Human review" in card and f"{n_rej} rejected" in card and "| unrealistic skin | 10 |" in card
    assert f"| {first} | {sum(g == first for g in gestures.values())} |" in card and "| 100.0% |" in card
    assert "95 % interval" in card and "(card_plots/review_reject_rates.png)" in card
    png = (review_ds / "card_plots" / "review_reject_rates.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_validate_checks_review_files(review_ds: Path) -> None:
    from synth.dataset.validate import validate_dataset

    _rv(review_ds, "a", 1, "accept")
    storage.append_action(review_ds, "a", {"type": "review", "id": 2, "verdict": "reject", "regions": [[10, 10, 40, 40]]})
    assert validate_dataset(review_ds, check_hashes=False, decode=False).ok
    path = review_ds / "reviews" / "a.jsonl"
    with open(path, "ab") as f:
        f.write(b'{"type":"review","id":3,"verd')  # torn tail: a warning
    rep = validate_dataset(review_ds, check_hashes=False, decode=False)
    assert rep.ok and any("torn last line" in w for w in rep.warnings)
    storage.append_action(review_ds, "a", {"type": "review", "id": 5, "verdict": "reject", "regions": [[10, 10, 400, 40]]})
    storage.append_action(review_ds, "a", {"type": "review", "id": 777, "verdict": "reject"})
    with open(path, "ab") as f:
        f.write(b"not json\n")
    (review_ds / "reviews" / "bad name.jsonl").write_text("")
    rep = validate_dataset(review_ds, check_hashes=False, decode=False)
    assert not rep.ok
    text = "\n".join(rep.errors)
    assert "outside the 96x96 image" in text and "is not a valid review action" in text and "bad name.jsonl" in text
    assert any("not in the manifest" in w for w in rep.warnings)


def test_export_pairs_loads_with_datasets(review_ds: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    from PIL import Image

    for who, choice in (("a", "a"), ("b", "a"), ("c", "b")):  # 2:1 for sample 3 over 7
        storage.append_action(review_ds, who, {"type": "pair", "a": 3, "b": 7, "choice": choice})
    storage.append_action(review_ds, "a", {"type": "pair", "a": 10, "b": 4, "choice": "b"})
    storage.append_action(review_ds, "b", {"type": "pair", "a": 1, "b": 2, "choice": "a"})
    storage.append_action(review_ds, "c", {"type": "pair", "a": 2, "b": 1, "choice": "a"})  # 1:1 tie -> dropped
    out = tmp_path / "pref"
    r = CliRunner().invoke(cli, ["review", "export", str(review_ds), "--pairs", "--out", str(out), "--seed", "3"])
    assert r.exit_code == 0, r.output
    assert "wrote 2 pair(s)" in r.output
    assert not list(tmp_path.glob(".pref.*"))  # the staging directory was renamed into place
    r = CliRunner().invoke(cli, ["review", "export", str(review_ds), "--pairs", "--out", str(out)])
    assert r.exit_code != 0 and "not empty" in r.output
    ds = datasets.load_dataset("parquet", data_files=str(out / "data" / "*.parquet"), split="train")
    cols = set(ds.column_names)
    assert {"caption", "jpg_0", "jpg_1", "label_0", "label_1", "artifact_mask", "defect_type", "image_0_uid", "image_1_uid"} <= cols
    rgb = {i: (review_ds / "rgb" / f"{i:08d}.png").read_bytes() for i in (3, 4, 7, 10)}
    got = {}
    for row in ds:
        win = row["image_0_uid"] if row["label_0"] == 1.0 else row["image_1_uid"]
        lose = row["image_1_uid"] if row["label_0"] == 1.0 else row["image_0_uid"]
        assert {row["label_0"], row["label_1"]} == {0.0, 1.0}
        assert row["jpg_0"] == rgb[int(row["image_0_uid"])] and row["jpg_1"] == rgb[int(row["image_1_uid"])]
        Image.open(io.BytesIO(row["jpg_0"])).verify()
        got[int(win)] = int(lose)
    assert got == {3: 7, 4: 10}
    # --from-verdicts adds rejected-vs-accepted pairs of the same gesture.
    for i in range(30):
        _rv(review_ds, "a", i, "reject" if i % 5 == 0 else "accept")
    r = CliRunner().invoke(cli, ["review", "export", str(review_ds), "--pairs", "--out", str(tmp_path / "p2"), "--from-verdicts"])
    assert r.exit_code == 0, r.output
    n = int(r.output.split("wrote ")[1].split()[0])
    assert 2 < n <= 2 + 6


def test_twin_pairs_through_the_server_and_export(review_ds: Path, tmp_path: Path) -> None:
    import http.client
    import threading

    datasets = pytest.importorskip("datasets")
    from review_helpers import add_twins

    from synth.review.server import make_server

    add_twins(review_ds, [2, 5])
    srv = make_server(review_ds, "alice", port=0)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        def req(method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
            c = http.client.HTTPConnection(*srv.server_address[:2], timeout=10)
            c.request(method, path, body=json.dumps(body).encode() if body else None,
                      headers={"X-Synth-Token": srv.app.token, "Content-Type": "application/json"})  # fmt: skip
            r = c.getresponse()
            return r.status, r.read()

        assert json.loads(req("GET", "/api/meta")[1])["has_twins"]
        s = json.loads(req("GET", "/api/sample/2")[1])
        assert s["twin_kind"] == "twin_rgb" and s["artifact_kinds"] == ["artifact_mask"]
        status, png = req("GET", "/view/2/artifact_mask")
        assert status == 200 and png[:4] == b"\x89PNG"
        pair = json.loads(req("GET", "/api/pair")[1])["pair"]
        assert (pair["source"], pair["a"], pair["b"], pair["b_kind"]) == ("twin", 2, 2, "twin_rgb")
        assert req("POST", "/api/pair", {"a": 2, "b": 2, "choice": "a", "source": "twin"})[0] == 200
        pair = json.loads(req("GET", "/api/pair")[1])["pair"]
        assert pair["a"] == 5
        assert req("POST", "/api/pair", {"a": 5, "b": 5, "choice": "b", "source": "twin"})[0] == 200
        assert json.loads(req("GET", "/api/pair")[1])["pair"] is None
    finally:
        srv.shutdown()
        srv.server_close()
    out = tmp_path / "pref"
    r = CliRunner().invoke(cli, ["review", "export", str(review_ds), "--pairs", "--out", str(out)])
    assert r.exit_code == 0, r.output
    ds = datasets.load_dataset("parquet", data_files=str(out / "data" / "*.parquet"), split="train")
    rows = {row["pair_id"]: row for row in ds}
    assert set(rows) == {"2|2/twin", "5/twin|5"}
    good = rows["2|2/twin"]  # the rendered sample won: the twin lost and brings its mask and defect
    assert good["defect_type"] == "extra_finger" and good["artifact_mask"] is not None
    import numpy as np

    m = np.asarray(good["artifact_mask"])
    assert m[30, 30] == 255 and m[5, 5] == 0
    bad = rows["5/twin|5"]  # the reviewer preferred the twin: no artifact mask on the rendered loser
    assert bad["artifact_mask"] is None and bad["defect_type"] is None
