"""Appearance diversity end to end (issue 5): sampled skin, lighting, cameras and post effects
are rendered, recorded in the labels and used by the captions; labels stay exact."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")

pytestmark = pytest.mark.blender


def _render(out: Path, *args: str):  # noqa: ANN202
    from synth.cli import cli

    return CliRunner().invoke(cli, ["render", "--out", str(out), "--resolution", "64", "--samples", "2", *args])


def _labels(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "labels").glob("*.json"))]


def test_natural_appearance_is_recorded_and_captioned(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    r = _render(out, "--count", "6", "--seed", "3", "--side", "both", "--set", "post.jpeg_prob=1.0")
    assert r.exit_code == 0, r.output
    labels = _labels(out)
    assert len(labels) == 6
    for lab in labels:
        a = lab["attributes"]
        assert 1 <= a["monk_skin_tone"] <= 10
        assert a["lighting_type"] in ("hdri", "sky", "studio")
        assert a["camera_mode"] in ("third_person", "egocentric", "selfie")
        assert 24 <= a["focal_mm"] <= 85 and 0.3 <= a["hand_fraction"] <= 0.7
        assert "jpeg_quality" in a["post"]
        assert a["skin"]["tone_words"].split()[0] in lab["caption"].lower()
        # the hand is fully in frame (no truncation by default): bbox inside the image
        x0, y0, x1, y1 = lab["bbox"]
        assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64
        uv = np.array(lab["keypoints_2d"])
        assert (uv > -0.5).all() and (uv < 63.5).all()
    # the forearm leaves the frame (forearm pixels, part 1, touch the image border in every sample)
    # or ends under a sleeve (its pixels touch the border instead)
    import cv2

    for lab in labels:
        parts = cv2.imread(str(out / lab["files"]["parts"]), cv2.IMREAD_UNCHANGED)
        border = np.concatenate([parts[0], parts[-1], parts[:, 0], parts[:, -1]])
        sleeve = [o["part_id"] for o in lab["objects"] if o["name"] == "sleeve"]
        assert np.isin(border, [1, *sleeve]).any(), f"sample {lab['id']}: the forearm does not leave the frame"


def test_camera_mode_and_basic_modes(tmp_path: Path) -> None:
    out = tmp_path / "ego"
    r = _render(out, "--count", "2", "--seed", "1", "--set", "camera.mode=egocentric", "--set", "lighting.mode=basic",
                "--set", "appearance.skin=basic")
    assert r.exit_code == 0, r.output
    for lab in _labels(out):
        assert lab["attributes"]["camera_mode"] == "egocentric"
        assert "lighting_type" not in lab["attributes"] and "monk_skin_tone" not in lab["attributes"]


def test_bad_appearance_inputs_fail_in_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for args, msg in ((["--set", f"lighting.hdri_dirs=[{empty}]"], "no .exr/.hdr files"),
                      (["--set", "lighting.background_dirs=[/no/such/dir]"], "not found"),
                      (["--set", "camera.mode=drone"], "camera.mode"),
                      (["--set", "lighting.bg_image=1.0"], "needs --background-dir"),
                      (["--set", "appearance.monk_weights=[1,2]"], "monk_weights")):
        r = _render(tmp_path / "x", "--count", "1", *args)
        assert r.exit_code != 0 and msg in r.output, (args, r.output)
        assert not (tmp_path / "x").exists()


def test_background_and_hdri_dirs_from_the_cli(tmp_path: Path) -> None:
    import cv2

    bgs = tmp_path / "bgs"
    bgs.mkdir()
    img = np.zeros((40, 60, 3), np.uint8)
    img[:, :30] = (0, 0, 255)
    cv2.imwrite(str(bgs / "red_black.png"), img)
    hd = tmp_path / "hdris"
    hd.mkdir()
    cv2.imwrite(str(hd / "flat.exr"), np.full((16, 32, 3), 0.5, np.float32))
    out = tmp_path / "ds"
    r = _render(out, "--count", "2", "--seed", "2", "--background-dir", str(bgs), "--hdri-dir", str(hd),
                "--set", "lighting.bg_image=100", "--set", "lighting.hdri=100")
    assert r.exit_code == 0, r.output
    labs = _labels(out)
    assert any(lab["attributes"]["lighting"]["background"]["kind"] == "image" for lab in labs)
    cfg = json.loads((out / "dataset.json").read_text())["config"]
    assert cfg["lighting"]["background_dirs"] == [str(bgs)] and cfg["lighting"]["hdri_dirs"] == [str(hd)]
