"""Thin-lens depth of field (synth.scene.post.defocus): blur extent, layering, recording."""

from __future__ import annotations

import numpy as np
import pytest

from synth.scene.post import PostConfig, PostSpec, apply_post, coc_px, defocus, sample_post

F_PX, F_M, N, S = 355.0, 0.05, 2.0, 0.4


def _crossings(row: np.ndarray, lo: float, hi: float) -> tuple[float, float, float]:
    """(first x where the falling edge leaves 1, x of 50 %, last x before it reaches 0)."""
    span = hi - lo
    t = (row - lo) / span
    start = np.argmax(t < 0.995)
    end = np.argmax(t < 0.005)
    i = np.argmax(t < 0.5)
    x50 = i - 1 + (t[i - 1] - 0.5) / (t[i - 1] - t[i])
    return float(start), float(x50), float(end)


def test_thin_lens_coc_formula():
    # Independent: lens equation image distances v = f d / (d - f); blur circle on the sensor
    # c = A |v_d - v_s| / v_d with aperture A = f / N, in pixels via f_px / f.
    for d in (0.2, 0.35, 0.5, 2.0, 30.0):
        vs, vd = F_M * S / (S - F_M), F_M * d / (d - F_M)
        c = (F_M / N) * abs(vd - vs) / vd * F_PX / F_M
        assert coc_px(np.array([d]), F_PX, F_M, N, S)[0] == pytest.approx(c, rel=1e-9)
    assert coc_px(np.array([S]), F_PX, F_M, N, S)[0] == 0.0
    assert coc_px(np.array([np.inf]), F_PX, F_M, N, S)[0] == pytest.approx((F_M / N) * F_PX / (S - F_M))


def test_background_edge_spreads_over_the_circle_of_confusion():
    H = W = 256
    depth = np.zeros((H, W), np.float32)  # all background (infinity)
    img = np.zeros((H, W, 3), np.float32)
    img[:, :128] = 1.0
    out = defocus(img, depth, F_PX, F_M, N, S)
    c = coc_px(np.array([np.inf]), F_PX, F_M, N, S)[0]  # 25.4 px
    start, x50, end = _crossings(out[128, :, 0], 0.0, 1.0)
    assert abs(x50 - 127.5) <= 0.5
    assert abs((end - start) - c) <= 2.0, (start, end, c)
    # Energy is preserved (normalised kernels).
    assert out[:, :, 0].mean() == pytest.approx(img[:, :, 0].mean(), abs=2e-3)


def test_in_focus_hand_stays_sharp_and_does_not_bleed_into_the_background():
    H = W = 256
    rng = np.random.default_rng(0)
    bg = rng.random((H, W, 3)).astype(np.float32)
    depth = np.zeros((H, W), np.float32)
    depth[96:160, 96:160] = S
    img = bg.copy()
    # Antialiasing: the 1 px ring outside the square is background by depth but half red.
    img[95:161, 95:161] = 0.5 * bg[95:161, 95:161] + 0.5 * np.array([5.0, 0.0, 0.0], np.float32)
    img[96:160, 96:160] = (5.0, 0.0, 0.0)  # a very bright, saturated in-focus square
    out = defocus(img, depth, F_PX, F_M, N, S)
    np.testing.assert_array_equal(out[96:160, 96:160], img[96:160, 96:160])
    alone = defocus(bg, np.zeros_like(depth), F_PX, F_M, N, S)
    ring = np.zeros((H, W), bool)
    ring[93:163, 93:163] = True
    ring[96:160, 96:160] = False
    # Next to the square the background is its own blur (filled behind the square), not red:
    # no halo from the square or from its antialiased edge, within 30 px.
    assert np.abs(out[ring] - alone[ring]).max() < 0.1  # (the guard band is filled, not copied)
    assert out[ring][:, 0].mean() < 0.7
    wide = np.zeros((H, W), bool)
    wide[66:190, 66:190] = True
    wide[95:161, 95:161] = False
    assert np.abs(out[wide] - alone[wide]).max() < 0.1
    assert abs(float((out[wide][:, 0] - alone[wide][:, 0]).mean())) < 0.01


def test_near_object_blurs_over_the_focused_layer():
    H = W = 200
    depth = np.full((H, W), S, np.float32)
    img = np.zeros((H, W, 3), np.float32)
    near = 0.25
    depth[:, :100] = near
    img[:, :100] = 1.0
    out = defocus(img, depth, F_PX, F_M, N, S)
    c = coc_px(np.array([near]), F_PX, F_M, N, S)[0]
    start, x50, end = _crossings(out[100, :, 0], 0.0, 1.0)
    assert abs(x50 - 99.5) <= 1.0
    assert abs((end - start) - c) <= 2.0, (start, end, c)


def test_apply_post_dof_changes_rgb_only_with_depth_and_is_recorded():
    rng = np.random.default_rng(3)
    cfg = PostConfig(blur_prob=0, motion_prob=0, noise_prob=0, jpeg_prob=0, dof_prob=1.0)
    spec = sample_post(rng, cfg, focus_m=0.4, focal_mm=50.0, focal_px=F_PX)
    a = spec.attributes()
    assert set(a) == {"dof_f_number", "dof_focus_m", "dof_focal_mm", "dof_focal_px", "dof_coc_px_at_infinity"}
    assert 1.4 <= a["dof_f_number"] <= 11.0 and abs(a["dof_focus_m"] / 0.4 - 1) <= 0.03
    img = (np.random.default_rng(1).random((64, 64, 3)) * 255).astype(np.uint8)
    depth = np.zeros((64, 64), np.float32)
    depth[20:40, 20:40] = a["dof_focus_m"]
    out = apply_post(img, spec, depth)
    np.testing.assert_array_equal(out[20:40, 20:40], img[20:40, 20:40])  # in focus: identical bytes
    assert np.abs(out.astype(int) - img).mean() > 5  # the background is blurred
    with pytest.raises(ValueError, match="depth pass"):
        apply_post(img, spec)
    # No camera given: never applied; the same number of draws either way.
    r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
    assert sample_post(r1, cfg).attributes() == {}
    sample_post(r2, cfg, focus_m=0.4, focal_mm=50.0, focal_px=F_PX)
    assert r1.random() == r2.random()
    assert apply_post(img, PostSpec(), depth) is not img


def test_dof_rate_matches_config():
    rng = np.random.default_rng(11)
    cfg = PostConfig(dof_prob=0.3)
    hits = sum(bool(sample_post(rng, cfg, 0.5, 35.0, 250.0).dof_f_number) for _ in range(2000))
    assert abs(hits / 2000 - 0.3) < 3 * np.sqrt(0.3 * 0.7 / 2000)
    with pytest.raises(ValueError, match="dof_f_number"):
        PostConfig(dof_f_number=(0.1, 2.0))


def test_continuous_surface_crossing_layers_gets_no_foreign_colour():
    """A surface whose depth crosses many blur layers (no occlusion): every output pixel stays
    within the range of the input around it -- within twice the largest blur radius (a far layer
    seen through a near layer's blurred edge) -- and no colour is fetched from farther away."""
    import cv2

    H = W = 160
    yy, xx = np.mgrid[0:H, 0:W]
    depth = (0.25 + 0.35 * xx / W + 0.02 * np.sin(yy / 6.0)).astype(np.float32)  # wavy layer boundaries
    img = np.full((H, W, 3), 0.05, np.float32)
    img[:, 100:] = 0.9  # a bright far region
    out = defocus(img, depth, F_PX, F_M, 1.4, S)
    r = 2 * int(np.ceil(coc_px(np.array([0.25, 0.6]), F_PX, F_M, 1.4, S).max() / 2)) + 3
    hi = cv2.dilate(img, np.ones((2 * r + 1, 2 * r + 1), np.uint8))
    lo = cv2.erode(img, np.ones((2 * r + 1, 2 * r + 1), np.uint8))
    assert (out <= hi + 1e-3).all() and (out >= lo - 1e-3).all()
