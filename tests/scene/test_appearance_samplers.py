"""Natural viewpoints, skin tones and lighting samplers (pure numpy, no Blender)."""

from __future__ import annotations

import numpy as np
import pytest

from synth.hand import anatomy, skinning
from synth.hand.models import load_model
from synth.scene import lighting, skin
from synth.scene.camera import project, transform
from synth.scene.viewpoint import MODES, ViewpointConfig, hand_frame, sample_viewpoint


def _posed(rng, side):
    rig = load_model("open-hand", side)
    pose = rng.uniform(anatomy.LIMITS[..., 0] * 0.6, anatomy.LIMITS[..., 1] * 0.6)
    R = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    R *= np.sign(np.linalg.det(R))
    root = np.eye(4)
    root[:3, :3] = R
    root[:3, 3] = rng.normal(0, 0.2, 3)
    return rig, skinning.forward(rig, pose=pose, root=root)


def test_viewpoints_keep_hand_in_frame_and_forearm_cut_out_of_frame():
    rng = np.random.default_rng(0)
    W, H = 160, 120
    modes = dict.fromkeys(MODES, 0)
    for i in range(60):
        side = ("right", "left")[i % 2]
        rig, out = _posed(rng, side)
        vp = sample_viewpoint(rng, out.vertices, rig.parts, out.keypoints, side, W, H)
        modes[vp.mode] += 1
        cam = vp.camera
        hand = out.vertices[rig.parts >= 2]
        uv = project(hand, cam)
        assert (uv[:, 0] >= -0.5).all() and (uv[:, 0] <= W - 0.5).all()
        assert (uv[:, 1] >= -0.5).all() and (uv[:, 1] <= H - 0.5).all()
        extent = (uv.max(0) - uv.min(0)).max() / min(W, H)
        assert 0.3 - 1e-9 <= extent <= 0.7 + 1e-9
        assert 24.0 <= vp.focal_mm <= 85.0
        # the forearm cut never shows: cap vertices behind the camera or outside the image
        cap = hand_frame(out.vertices, rig.parts, out.keypoints, side)["cap"]
        pc = transform(cap, cam.world_to_cam)
        front = pc[:, 2] > 0
        cuv = project(cap[front], cam)
        inside = (cuv[:, 0] > -0.5) & (cuv[:, 0] < W - 0.5) & (cuv[:, 1] > -0.5) & (cuv[:, 1] < H - 0.5)
        assert not inside.any()
    assert all(v > 0 for v in modes.values()), modes


def test_viewpoint_is_deterministic_and_configurable():
    rng = np.random.default_rng(1)
    rig, out = _posed(rng, "right")
    a = sample_viewpoint(np.random.default_rng(5), out.vertices, rig.parts, out.keypoints, "right", 64, 64)
    b = sample_viewpoint(np.random.default_rng(5), out.vertices, rig.parts, out.keypoints, "right", 64, 64)
    np.testing.assert_array_equal(a.camera.world_to_cam, b.camera.world_to_cam)
    cfg = ViewpointConfig(mode="egocentric", fraction=(0.5, 0.6), focal_mm=(50, 50))
    c = sample_viewpoint(np.random.default_rng(5), out.vertices, rig.parts, out.keypoints, "right", 64, 64, cfg)
    assert c.mode == "egocentric" and c.focal_mm == 50 and 0.5 <= c.fraction <= 0.6
    with pytest.raises(ValueError, match="unknown camera mode"):
        ViewpointConfig(mode="drone")


def test_monk_fit_spans_all_ten_tones():
    # the stored parameters reproduce every Monk swatch within 0.07 (sRGB, per channel) ...
    for k, (m, h) in enumerate(skin.MONK_PARAMS):
        got = skin.linear_to_srgb(skin.albedo(m, h))
        want = skin.linear_to_srgb(skin.hex_to_linear(skin.MONK_HEX[k]))
        assert np.abs(got - want).max() < 0.07, k + 1
    # ... and the luminance decreases monotonically from step 1 to 10
    lum = [skin.albedo(m, h) @ [0.2126, 0.7152, 0.0722] for m, h in skin.MONK_PARAMS]
    assert np.all(np.diff(lum) < 0)


@pytest.mark.slow
def test_monk_parameters_match_a_fresh_fit():
    pytest.importorskip("scipy")
    np.testing.assert_allclose(skin.fit_monk(), skin.MONK_PARAMS, atol=2e-3)


def test_skin_samples_cover_the_scale_and_palms_are_lighter():
    rng = np.random.default_rng(2)
    steps = set()
    for _ in range(300):
        s = skin.sample_skin(rng)
        steps.add(s.monk)
        y = np.array([0.2126, 0.7152, 0.0722])
        assert np.array(s.palm_color) @ y > np.array(s.back_color) @ y
        assert 1 <= s.monk <= 10 and s.tone_words
    assert steps == set(range(1, 11))
    only_dark = np.zeros(10)
    only_dark[9] = 1
    assert skin.sample_skin(rng, only_dark).monk == 10


def test_lighting_uses_bundled_hdris_and_warm_to_cool_lights(tmp_path):
    hdris = lighting.available_hdris()
    assert len(hdris) >= 8 and all(p.suffix == ".exr" for p in hdris)
    warm, cool = lighting.kelvin_to_rgb(2700), lighting.kelvin_to_rgb(6500)
    assert warm[2] < 0.2 < cool[2] and warm[0] == 1.0
    rng = np.random.default_rng(3)
    cfg = lighting.LightingConfig()
    kinds = set()
    for _ in range(100):
        s = lighting.sample_lighting(rng, cfg, hdris, np.zeros(3), np.array([0.0, -0.5, 0.2]))
        kinds.add(s.env.kind)
        assert 1 <= len(s.lights) <= 3
        assert all(2700 <= li.kelvin <= 6500 for li in s.lights)
        s.attributes()
    assert kinds == {"hdri", "sky", "studio"}
    with pytest.raises(ValueError, match="no .exr/.hdr files"):
        lighting.available_hdris((str(tmp_path),))
    with pytest.raises(ValueError, match="not found"):
        lighting.list_files(tmp_path / "nope", lighting.IMAGE_SUFFIXES, "background")
    with pytest.raises(ValueError, match="needs --background-dir"):
        lighting.LightingConfig(bg_image=1.0)


def test_post_effects_are_recorded_deterministic_and_change_only_rgb():
    from synth.scene.post import PostConfig, PostSpec, apply_post, sample_post

    rng = np.random.default_rng(4)
    img = (np.random.default_rng(0).random((32, 48, 3)) * 255).astype(np.uint8)
    cfg = PostConfig(blur_prob=1, motion_prob=1, noise_prob=1, jpeg_prob=1)
    spec = sample_post(rng, cfg)
    assert set(spec.attributes()) == {"blur_sigma", "motion_px", "motion_angle_deg", "noise_sigma", "jpeg_quality"}
    a, b = apply_post(img, spec), apply_post(img, spec)
    np.testing.assert_array_equal(a, b)
    assert a.shape == img.shape and a.dtype == np.uint8 and not np.array_equal(a, img)
    np.testing.assert_array_equal(apply_post(img, PostSpec()), img)
    none = sample_post(np.random.default_rng(1), PostConfig(0, (0.5, 1), 0, (2, 3), 0, (1, 2), 0, (50, 60)))
    assert none.attributes() == {}
    with pytest.raises(ValueError, match="post.jpeg_prob"):
        PostConfig(jpeg_prob=2)


def test_palm_weights_mark_the_palmar_side():
    from synth.hand.skinning import forward
    from synth.scene.skin import skin_attributes

    for side in ("right", "left"):
        rig = load_model("open-hand", side)
        palm, nail = skin_attributes(rig)
        v = forward(rig).vertices
        on_palm = (rig.parts == 2) & (palm > 0.8)
        on_back = (rig.parts == 2) & (palm < 0.2)
        assert on_palm.sum() > 30 and on_back.sum() > 30
        assert v[on_palm, 2].mean() < v[on_back, 2].mean()  # palm faces -z in the model frame
        assert (palm[nail > 0] < 0.5).mean() > 0.9  # nails are on the back of the fingers


def test_configured_rates_over_2000_draws():
    """Monk steps, lighting types and camera modes occur at their configured rates (within 4 sigma
    of binomial sampling error over 2,000 draws)."""
    from collections import Counter

    from synth.scene.viewpoint import ViewpointConfig

    n = 2000

    def within(count: int, p: float) -> bool:
        return abs(count - n * p) <= 4 * np.sqrt(n * p * (1 - p)) + 1

    rng = np.random.default_rng(11)
    w = np.arange(1, 11, dtype=float)
    monk = Counter(skin.sample_skin(rng, w).monk for _ in range(n))
    assert all(within(monk[k], w[k - 1] / w.sum()) for k in range(1, 11)), monk
    cfg = lighting.LightingConfig(hdri=0.5, sky=0.3, studio=0.2)
    hdris = lighting.available_hdris()
    env = Counter(lighting.sample_lighting(rng, cfg, hdris, np.zeros(3), np.array([0.0, -0.5, 0.2])).env.kind
                  for _ in range(n))
    assert within(env["hdri"], 0.5) and within(env["sky"], 0.3) and within(env["studio"], 0.2), env
    # camera modes on real posed hands (a pool of 40 poses reused)
    pool = [(*_posed(rng, s), s) for s in ("right", "left") * 20]
    vcfg = ViewpointConfig(third_person=0.6, egocentric=0.25, selfie=0.15)
    modes = Counter()
    for k in range(n):
        rig, out, side = pool[k % len(pool)]
        modes[sample_viewpoint(rng, out.vertices, rig.parts, out.keypoints, side, 64, 64, vcfg).mode] += 1
    assert within(modes["third_person"], 0.6) and within(modes["egocentric"], 0.25) and within(modes["selfie"], 0.15), modes
