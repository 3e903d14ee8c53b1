"""`synth gestures list|show` and `synth poses sample`."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from synth.cli import cli
from synth.hand import anatomy


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_list_json():
    r = run("gestures", "list", "--json")
    assert r.exit_code == 0, r.output
    items = json.loads(r.stdout)
    assert len(items) >= 150
    for it in items:
        assert {"name", "category", "description", "tags"} <= set(it)
    r = run("gestures", "list", "--category", "grasp", "--json")
    assert len(json.loads(r.stdout)) == 33


def test_list_unknown_category():
    r = CliRunner().invoke(cli, ["gestures", "list", "--category", "grasps"])
    assert r.exit_code != 0 and "did you mean grasp" in r.output


def test_show_and_preview(tmp_path):
    out = tmp_path / "p.png"
    r = run("gestures", "show", "peace", "--side", "left", "--out", str(out), "--size", "96")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["name"] == "peace" and "left hand" in info["caption"]
    assert set(info["pose_deg"]) == set(anatomy.JOINTS)
    import cv2

    img = cv2.imread(str(out))
    assert img is not None and img.shape[0] >= 96
    assert img.std() > 5  # not a blank image


def test_show_unknown_name_suggests():
    r = CliRunner().invoke(cli, ["gestures", "show", "thumb_up"])
    assert r.exit_code != 0
    assert "unknown gesture 'thumb_up'" in r.output and "thumbs_up" in r.output


def test_poses_sample(tmp_path):
    out = tmp_path / "poses.npz"
    r = run("poses", "sample", "--count", "300", "--seed", "4", "--gestures", "fist,peace,ok_sign", "--out", str(out))
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["count"] == 300
    d = np.load(out)
    assert d["poses"].shape == (300, 16, 3)
    assert np.all(anatomy.is_valid(d["poses"], tol=1e-3))
    assert set(d["gesture"]) <= {"fist", "peace", "ok_sign", "natural_random"}
    attrs = [json.loads(a) for a in d["attributes_json"]]
    assert all("fingers" in a and "palm_facing" in a for a in attrs)
    r2 = run("poses", "sample", "--count", "300", "--seed", "4", "--gestures", "fist,peace,ok_sign",
             "--out", str(tmp_path / "b.npz"))
    assert r2.exit_code == 0
    np.testing.assert_array_equal(np.load(tmp_path / "b.npz")["poses"], d["poses"])


def test_poses_sample_bad_gesture():
    r = CliRunner().invoke(cli, ["poses", "sample", "--count", "3", "--seed", "0", "--gestures", "fist,pece"])
    assert r.exit_code != 0 and "peace" in r.output


def test_list_two_hand():
    r = run("gestures", "list", "--two-hand", "--json")
    assert r.exit_code == 0, r.output
    items = json.loads(r.stdout)
    assert len(items) >= 60 and {it["category"] for it in items} == {"interacting", "sign", "fingerspelling",
                                                                     "manipulation"}
    signs = [it for it in items if it["category"] == "sign"]
    assert len(signs) >= 20 and all(it["references"] for it in signs)
    r = CliRunner().invoke(cli, ["gestures", "list", "--two-hand", "--category", "dance"])
    assert r.exit_code == 2 and "unknown two-hand category" in r.output


def test_solve_contacts_reports_a_solved_gesture():
    """The library build step on one gesture: already solved, so it reports the contact reached
    (without --write nothing is rewritten)."""
    r = run("gestures", "solve-contacts", "--name", "ok_sign")
    assert r.exit_code == 0, r.output
    row = json.loads(r.stdout.splitlines()[0])
    assert row["name"] == "ok_sign" and row["ok"] and abs(row["after_mm"]["thumb-index"]) <= 2.0
    r = CliRunner().invoke(cli, ["gestures", "solve-contacts", "--name", "ok_sing"])
    assert r.exit_code == 2 and "did you mean" in r.output
