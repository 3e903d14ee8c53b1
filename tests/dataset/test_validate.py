"""synth validate: a clean dataset passes; each kind of damage is caught precisely."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from synth.cli import cli
from synth.dataset.imageio import read_image
from synth.dataset.layout import DatasetError
from synth.dataset.validate import validate_dataset


def _errors(root: Path) -> list[str]:
    rep = validate_dataset(root)
    assert rep.n_manifest >= 7
    return rep.errors


def test_clean_dataset_passes(fake_dataset: Path) -> None:
    rep = validate_dataset(fake_dataset)
    assert rep.ok, rep.errors
    assert rep.n_checked == rep.n_ok == 8
    res = CliRunner().invoke(cli, ["validate", str(fake_dataset)])
    assert res.exit_code == 0, res.output
    assert "8 clean" in res.output


def test_truncated_png(fake_dataset: Path) -> None:
    p = fake_dataset / "rgb/00000002.png"
    p.write_bytes(p.read_bytes()[:100])
    errs = _errors(fake_dataset)
    assert any(e.startswith("00000002: rgb/00000002.png: size 100 bytes") for e in errs), errs
    assert any("rgb/00000002.png: does not decode" in e for e in errs), errs
    assert all(e.startswith("00000002") for e in errs)


def test_deleted_depth(fake_dataset: Path, tmp_path: Path) -> None:
    (fake_dataset / "depth/00000005.exr").unlink()
    assert _errors(fake_dataset) == ["00000005: depth/00000005.exr: missing"]
    res = CliRunner().invoke(cli, ["validate", str(fake_dataset), "--report", str(tmp_path / "r.json")])
    assert res.exit_code == 1 and "00000005: depth/00000005.exr: missing" in res.output
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["ok"] is False and doc["clean"] == 7 and doc["errors"] == ["00000005: depth/00000005.exr: missing"]


def test_edited_label(fake_dataset: Path) -> None:
    p = fake_dataset / "labels/00000001.json"
    label = json.loads(p.read_text())
    label["keypoints_2d"][3][0] += 1.5
    p.write_text(json.dumps(label, indent=1) + "\n")
    errs = _errors(fake_dataset)
    assert any("labels/00000001.json: size" in e or "sha256 differs" in e for e in errs), errs
    assert any("keypoints_2d differ from the projection" in e for e in errs), errs


def test_edited_label_with_fixed_manifest_still_caught(fake_dataset: Path) -> None:
    """Even with the manifest hash rewritten, label/pixel inconsistencies are caught."""
    from synth.dataset.layout import read_manifest, sha256_bytes

    p = fake_dataset / "labels/00000004.json"
    label = json.loads(p.read_text())
    label["visibility"] = [1] * 21
    label["keypoints_3d_cam"][0][2] = -1.0
    body = (json.dumps(label, indent=1) + "\n").encode()
    p.write_bytes(body)
    entries = read_manifest(fake_dataset)
    e = entries[4]
    e.sha256["label"], e.bytes["label"] = sha256_bytes(body), len(body)
    (fake_dataset / "manifest.jsonl").write_text("".join(x.to_json() + "\n" for x in entries.values()))
    errs = _errors(fake_dataset)
    assert any("keypoints_3d_cam differ" in e for e in errs), errs


def _clearly_hidden(label: dict, depth: np.ndarray, i: int) -> bool:
    H, W = depth.shape
    u, v = (int(np.floor(x + 0.5)) for x in label["keypoints_2d"][i])
    if not (0 <= u < W and 0 <= v < H):
        return False
    win = depth[max(0, v - 1) : v + 2, max(0, u - 1) : u + 2]
    z = label["keypoints_3d_cam"][i][2]
    return bool(win.size and np.abs(win - z).min() > label["render"]["visibility"]["tolerance_m"] + 1e-3)


def test_visibility_inconsistent_with_depth(fake_dataset: Path) -> None:
    from synth.dataset.layout import read_manifest, sha256_bytes

    # Mark as visible a keypoint that the depth test says is hidden, in some sample.
    for sid, e in read_manifest(fake_dataset).items():
        p = fake_dataset / e.files["label"]
        label = json.loads(p.read_text())
        hidden = [i for i, v in enumerate(label["visibility"]) if v == 0]
        W, H = label["image_size"]
        depth = read_image(fake_dataset / e.files["depth"])
        hidden = [i for i in hidden if _clearly_hidden(label, depth, i)]
        if hidden:
            label["visibility"][hidden[0]] = 1
            body = (json.dumps(label, indent=1) + "\n").encode()
            p.write_bytes(body)
            entries = read_manifest(fake_dataset)
            entries[sid].sha256["label"], entries[sid].bytes["label"] = sha256_bytes(body), len(body)
            (fake_dataset / "manifest.jsonl").write_text("".join(x.to_json() + "\n" for x in entries.values()))
            break
    else:
        pytest.skip("no hidden in-image keypoint in the fake dataset")
    errs = _errors(fake_dataset)
    assert any(f"keypoints [{hidden[0]}] are labelled visible but the rendered depth" in e for e in errs), errs


def test_hidden_keypoint_labelled_visible_and_visible_labelled_hidden(fake_dataset: Path) -> None:
    """With surface radii in the label the depth test is checked both ways."""
    from synth.dataset.layout import read_manifest, sha256_bytes

    entries = read_manifest(fake_dataset)
    e = entries[2]
    p = fake_dataset / e.files["label"]
    label = json.loads(p.read_text())
    flipped = label["visibility"].index(1)
    label["visibility"][flipped] = 0
    body = (json.dumps(label, indent=1) + "\n").encode()
    p.write_bytes(body)
    e.sha256["label"], e.bytes["label"] = sha256_bytes(body), len(body)
    (fake_dataset / "manifest.jsonl").write_text("".join(x.to_json() + "\n" for x in entries.values()))
    errs = _errors(fake_dataset)
    assert errs == [
        f"00000002: depth/00000002.exr: keypoints [{flipped}] are labelled hidden but the rendered depth "
        "shows their surface (tolerance 0.004 m)"
    ]


def test_dropped_and_garbled_manifest_lines(fake_dataset: Path) -> None:
    m = fake_dataset / "manifest.jsonl"
    lines = m.read_text().splitlines(keepends=True)
    m.write_text("".join(lines[:6]) + "{not json\n" + lines[7][:30])
    res = CliRunner().invoke(cli, ["validate", str(fake_dataset)])
    assert res.exit_code == 1
    out = res.output
    assert "00000006: not in the manifest but has files" in out
    assert "manifest.jsonl: line 7 is not a valid manifest entry" in out
    assert "manifest.jsonl: last line is truncated" in out


def test_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not a synth dataset"):
        validate_dataset(tmp_path)
    res = CliRunner().invoke(cli, ["validate", str(tmp_path)])
    assert res.exit_code != 0 and "not a synth dataset" in res.output
    res = CliRunner().invoke(cli, ["validate", str(tmp_path / "nope")])
    assert res.exit_code != 0


def test_cli_help_and_unknown_options(fake_dataset: Path) -> None:
    r = CliRunner()
    for cmd in ("validate", "package", "preview", "stats"):
        res = r.invoke(cli, [cmd, "--help"])
        assert res.exit_code == 0 and "DATASET" in res.output
    res = r.invoke(cli, ["validate", str(fake_dataset), "--bogus"])
    assert res.exit_code == 2 and "No such option" in res.output
    res = r.invoke(cli, ["preview", str(fake_dataset), "--out", "x.png", "--count", "0"])
    assert res.exit_code == 2 and "--count" in res.output


def test_failures_jsonl_lists_failed_samples(fake_dataset: Path) -> None:
    from synth.dataset.layout import FAILURES_FILE

    recs = [{"id": i, "reason": f"RuntimeError: boom {i}"} for i in (21, 9, 30, 11, 12, 13, 14, 15, 16, 17, 18, 19)]
    (fake_dataset / FAILURES_FILE).write_text("".join(json.dumps(r) + "\n" for r in recs))
    rep = validate_dataset(fake_dataset)
    assert rep.n_ok == 8 and rep.failed_ids == sorted(r["id"] for r in recs)
    assert rep.errors == [f"{FAILURES_FILE}: 12 sample(s) failed to render (ids 9, 11, 12, 13, 14, 15, 16, 17, 18, 19 "
                          "and 2 more; first reason: RuntimeError: boom 9); the dataset is incomplete, re-run the job "
                          "to retry them"]
    res = CliRunner().invoke(cli, ["validate", str(fake_dataset)])
    assert res.exit_code == 1 and rep.errors[0] in res.output.splitlines()


@pytest.mark.parametrize("text", [
    '{"id": 3, "reason": "x"}\nnot json\n',
    '{"id": "3", "reason": "x"}\n',
    '{"id": 3}\n',
    '{"id": -1, "reason": "x"}\n',
    '{"id": true, "reason": "x"}\n',
    '[3, "x"]\n',
    '{"id": 3, "reason": "x"}\n\xff\xfe\n',
])
def test_malformed_failures_jsonl_is_an_error(fake_dataset: Path, text: str) -> None:
    from synth.dataset.layout import FAILURES_FILE

    (fake_dataset / FAILURES_FILE).write_bytes(text.encode("latin-1"))  # \xff\xfe: not UTF-8
    rep = validate_dataset(fake_dataset)
    bad = [e for e in rep.errors if "malformed" in e]
    assert len(bad) == 1 and bad[0].startswith(f"{FAILURES_FILE}: malformed, 1 line(s) ("), rep.errors
    res = CliRunner().invoke(cli, ["validate", str(fake_dataset)])
    assert res.exit_code == 1 and bad[0] in res.output


def test_failures_jsonl_symlink_is_not_followed(fake_dataset: Path, tmp_path: Path) -> None:
    from synth.dataset.layout import FAILURES_FILE

    target = tmp_path / "elsewhere.jsonl"
    target.write_text('{"id": 1, "reason": "x"}\n')
    (fake_dataset / FAILURES_FILE).symlink_to(target)
    rep = validate_dataset(fake_dataset)
    assert rep.errors == [f"{FAILURES_FILE}: is a symlink (not read)"] and rep.failed_ids == []
