"""The posed hand is computed once per sample (by the planner, carried in HandSpec.posed) and
every later step (root, accessories, sleeve check, table, camera, render, labels) reuses it."""

from __future__ import annotations

import numpy as np
import pytest

from synth.config import JobConfig


def test_each_sample_poses_its_hand_once(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    pytest.importorskip("pyrender")
    from synth.hand import skinning
    from synth.render.job import RenderSession

    calls: list[tuple[bytes, bytes]] = []
    real = skinning.forward

    def counting(rig, shape=None, pose=None, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        if pose is not None:
            calls.append((np.asarray(shape, dtype=np.float64).tobytes(), np.asarray(pose, dtype=np.float64).tobytes()))
        return real(rig, shape, pose, *a, **k)

    monkeypatch.setattr(skinning, "forward", counting)
    cfg = JobConfig(count=3, seed=5, out=str(tmp_path / "ds"))
    cfg.render.renderer, cfg.render.resolution = "raster", 64
    cfg.hand.side = "both"
    cfg.lighting.table_prob = 1.0
    cfg.accessories.sleeve_prob = cfg.accessories.watch_prob = cfg.accessories.ring_prob = 1.0
    session = RenderSession(cfg)
    try:
        for i in range(3):
            calls.clear()
            s = session.render(i)
            key = (np.asarray(s.spec.hand.shape, dtype=np.float64).tobytes(),
                   np.asarray(s.spec.hand.pose_deg, dtype=np.float64).tobytes())
            assert calls.count(key) == 1, f"sample {i}: the posed hand was computed {calls.count(key)} times"
            assert any(p.category == "accessory" for p in s.spec.props)
            v, kp = s.spec.hand.world()
            np.testing.assert_array_equal(v, s.vertices)
    finally:
        session.close()


def test_handspec_without_a_posed_hand_refuses_world() -> None:
    from synth.scene.spec import HandSpec

    h = HandSpec(model="open-hand", side="right", shape=np.zeros(1), pose_deg=np.zeros((16, 3)), root=np.eye(4))
    with pytest.raises(ValueError, match="posed"):
        h.world()
