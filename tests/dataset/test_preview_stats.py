"""synth preview (contact sheet) and synth stats (dataset card)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from click.testing import CliRunner

from synth.cli import cli
from synth.dataset.preview import draw_skeleton


def test_preview_sheet(fake_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "sheet.png"
    res = CliRunner().invoke(cli, ["preview", str(fake_dataset), "--out", str(out), "--count", "5", "--thumb", "96"])
    assert res.exit_code == 0, res.output
    img = cv2.imread(str(out))
    # 5 cells -> 3 columns x 2 rows of (96 + 48) x (96 + text) cells.
    assert img.shape[1] == 6 + 3 * (96 + 48 + 6)
    assert img.shape[0] > 2 * 96
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 20  # images, overlays and text, not blank
    res = CliRunner().invoke(cli, ["preview", str(fake_dataset), "--out", str(tmp_path / "x.gif")])
    assert res.exit_code == 1 and ".png or .jpg" in res.output
    res = CliRunner().invoke(cli, ["preview", str(tmp_path), "--out", str(out)])
    assert res.exit_code == 1 and "not a synth dataset" in res.output


def test_skeleton_visible_and_occluded_drawn_differently() -> None:
    canvas = np.zeros((100, 100, 3), np.uint8)
    uv = np.full((21, 2), -1000.0)
    uv[0], uv[2] = (30, 50), (70, 50)  # not joined by a bone
    vis = np.zeros(21, int)
    vis[0] = 1
    out = draw_skeleton(canvas, uv, vis, 1.0)
    # Visible: filled disc (centre coloured); occluded: ring (centre empty, ring coloured).
    assert out[50, 30].any() and not out[50, 70].any() and out[50, 74].any() | out[50, 66].any()


def test_stats_card(fake_dataset: Path) -> None:
    res = CliRunner().invoke(cli, ["stats", str(fake_dataset)])
    assert res.exit_code == 0, res.output
    card = (fake_dataset / "README.md").read_text()
    assert "8 samples rendered by synth" in card
    for needle in ("## Gestures", "| grasp |", "## Label conventions", "camera_frame", "## Licences",
                   "Resolved job config", "seed: 3", "## Scene content",
                   "| table under the hand | samples |\n|---|---:|\n| none | 8 |"):  # fmt: skip
        assert needle in card, needle
    for name in ("gestures", "viewpoint", "appearance", "bbox", "visibility"):
        p = fake_dataset / "card_plots" / f"{name}.png"
        assert f"card_plots/{name}.png" in card
        assert cv2.imread(str(p)).shape[0] > 100
    # The card does not make the dataset invalid.
    assert CliRunner().invoke(cli, ["validate", str(fake_dataset)]).exit_code == 0


def test_hand_view_angles_on_the_open_hand() -> None:
    from synth.dataset.stats import hand_view_angles
    from synth.hand.models import load_model
    from synth.hand.skinning import forward
    from synth.scene.camera import look_at

    for side in ("right", "left"):
        kp = forward(load_model(side=side)).keypoints
        c = kp[[0, 5, 9, 13, 17]].mean(0)
        up = np.array([0.0, 1.0, 0.0])
        palm = hand_view_angles({"keypoints_3d_world": kp, "world_to_cam": look_at(c + [0, 0, -0.5], c, up),
                                 "handedness": side})  # fmt: skip
        back = hand_view_angles({"keypoints_3d_world": kp, "world_to_cam": look_at(c + [0, 0, 0.5], c, up),
                                 "handedness": side})  # fmt: skip
        tips = hand_view_angles({"keypoints_3d_world": kp, "world_to_cam": look_at(c + [0, 0.5, 0], c),
                                 "handedness": side})  # fmt: skip
        assert palm is not None and back is not None and tips is not None
        assert palm[1] > 80 and back[1] < -80  # the model's palm faces -z
        assert abs(tips[0]) < 5 and abs(tips[1]) < 10
