"""MANO import: chumpy-free loading, exactness against smplx, left-hand fix, frames, errors.

No licensed file is used: ``mano_fixture`` builds a synthetic MANO-format model.
"""

from __future__ import annotations

import importlib.util
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scipy")

from synth.hand import anatomy, keypoints  # noqa: E402
from synth.hand.models.mano import (  # noqa: E402
    MANO_TIP_VERTEX_IDS,
    import_mano,
    mano_pose_from_rotations,
    rotations_from_mano_pose,
)
from synth.hand.rig import RigError, load_rig  # noqa: E402
from synth.hand.skinning import forward  # noqa: E402


def _load_fixture():
    spec = importlib.util.spec_from_file_location("_synth_mano_fixture", Path(__file__).with_name("mano_fixture.py"))
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


mf = _load_fixture()
S = np.diag([-1.0, 1.0, 1.0])


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    rng = np.random.default_rng(1234)
    right = mf.make_mano_right(rng)
    left = mf.mirror_model(right, buggy_shapedirs=True)
    left_ok = mf.mirror_model(right, buggy_shapedirs=False)
    d = tmp_path_factory.mktemp("mano")
    out = {}
    for sub, model, name in (("plain_r", right, "MANO_RIGHT.pkl"), ("plain_l", left, "MANO_LEFT.pkl")):
        (d / sub).mkdir()
        out[sub] = mf.save_pkl(model, d / sub / name, chumpy=False)
    out["right_ch"] = mf.save_pkl(right, d / "MANO_RIGHT_chumpy.pkl", chumpy=True)
    out["left_ch"] = mf.save_pkl(left, d / "MANO_LEFT_chumpy.pkl", chumpy=True)
    out["left_ok"] = mf.save_pkl(left_ok, d / "MANO_LEFT_fixed.pkl", chumpy=True)
    out["right_ch0"] = mf.save_pkl(right, d / "MANO_RIGHT_chumpy_p0.pkl", chumpy=True, protocol=0)
    out["right_npz"] = mf.save_npz(right, d / "MANO_RIGHT.npz")
    out["right_npz_obj"] = mf.save_npz(right, d / "MANO_RIGHT_sparse.npz", sparse_object=True)
    out["unsupported"] = mf.save_unsupported_chumpy_pkl(right, d / "MANO_RIGHT_op.pkl")
    return out


def _random_mano(rng: np.random.Generator, B: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return rng.normal(size=(B, 10)), rng.normal(scale=0.6, size=(B, 3)), rng.normal(scale=0.4, size=(B, 45))


def _smplx_forward(pkl: Path, betas, go, hp, left_fix: bool = False, pca: int = 0):
    torch = pytest.importorskip("torch")
    smplx = pytest.importorskip("smplx")
    m = smplx.MANO(model_path=str(pkl), is_rhand="RIGHT" in pkl.name, use_pca=pca > 0, num_pca_comps=pca or 6,
                   flat_hand_mean=pca == 0, dtype=torch.float64)
    if left_fix:  # the fix users apply to smplx's left model (smplx issue #48)
        with torch.no_grad():
            m.shapedirs[:, 0, :] *= -1
    out = m(betas=torch.tensor(betas), global_orient=torch.tensor(go), hand_pose=torch.tensor(hp))
    return out.vertices.detach().numpy(), out.joints.detach().numpy()


def _to_model(rig, pts: np.ndarray) -> np.ndarray:
    T = rig.extra["mano_to_model"]
    return pts @ T[:3, :3].T + T[:3, 3]


@pytest.mark.mano
@pytest.mark.parametrize("key", ["right_ch", "right_npz", "right_npz_obj"])
def test_matches_smplx_right(files: dict[str, Path], key: str) -> None:
    rig = import_mano(files[key])
    assert rig.side == "right" and rig.shape_kind == "linear" and rig.posedirs.shape == (135, 3 * 778)
    rng = np.random.default_rng(7)
    betas, go, hp = _random_mano(rng, 8)
    vs, js = _smplx_forward(files["plain_r"], betas, go, hp)
    ph = forward(rig, shape=betas, bone_rotations=rotations_from_mano_pose(rig, go, hp))
    assert np.abs(ph.vertices - _to_model(rig, vs)).max() <= 1e-5
    assert np.abs(ph.joints - _to_model(rig, js)).max() <= 1e-5
    # keypoints in MANO-native order = smplx joints + smplx's MANO tip vertices
    ref = np.concatenate([js, vs[:, list(MANO_TIP_VERTEX_IDS)]], axis=1)
    assert np.abs(keypoints.to_mano_order(ph.keypoints) - _to_model(rig, ref)).max() <= 1e-5
    # the pose correctives matter at this scale, so the comparison covers them
    no_pd = forward(rig.__class__(**{**rig.__dict__, "posedirs": np.zeros((0, 3 * 778))}), shape=betas,
                    bone_rotations=rotations_from_mano_pose(rig, go, hp))
    assert np.abs(no_pd.vertices - _to_model(rig, vs)).max() > 1e-3


@pytest.mark.mano
def test_matches_smplx_left_with_shapedirs_fix(files: dict[str, Path]) -> None:
    rig = import_mano(files["left_ch"])
    assert rig.side == "left" and "shapedirs fix applied" in rig.provenance
    assert np.allclose(rig.angle_signs, [1, -1, -1])
    rng = np.random.default_rng(8)
    betas, go, hp = _random_mano(rng, 8)
    vs, js = _smplx_forward(files["plain_l"], betas, go, hp, left_fix=True)
    ph = forward(rig, shape=betas, bone_rotations=rotations_from_mano_pose(rig, go, hp))
    assert np.abs(ph.vertices - _to_model(rig, vs)).max() <= 1e-5
    assert np.abs(ph.joints - _to_model(rig, js)).max() <= 1e-5
    vs_bug, _ = _smplx_forward(files["plain_l"], betas, go, hp, left_fix=False)
    assert np.abs(ph.vertices - _to_model(rig, vs_bug)).max() > 1e-3


@pytest.mark.mano
def test_matches_smplx_pca_pose(files: dict[str, Path]) -> None:
    """smplx defaults (use_pca, flat_hand_mean=False) via the stored pose PCA."""
    from synth.hand.models.mano import hand_pose_from_pca

    rig = import_mano(files["right_ch"])
    rng = np.random.default_rng(11)
    betas, go, _ = _random_mano(rng, 4)
    coeffs = rng.normal(scale=0.5, size=(4, 6))
    vs, _ = _smplx_forward(files["plain_r"], betas, go, coeffs, pca=6)
    ph = forward(rig, shape=betas, bone_rotations=rotations_from_mano_pose(rig, go, hand_pose_from_pca(rig, coeffs)))
    assert np.abs(ph.vertices - _to_model(rig, vs)).max() <= 1e-5
    hp = hand_pose_from_pca(rig, coeffs, flat_hand_mean=True)  # the mean added at rotation time instead
    R = rotations_from_mano_pose(rig, go, hp, flat_hand_mean=False)
    assert np.abs(forward(rig, shape=betas, bone_rotations=R).vertices - ph.vertices).max() < 1e-12


def test_left_fix_detection(files: dict[str, Path]) -> None:
    fixed = import_mano(files["left_ch"])
    ok = import_mano(files["left_ok"])  # already-correct shape directions: left alone
    assert "fix applied" not in ok.provenance
    assert np.allclose(fixed.shape_dirs, ok.shape_dirs, atol=1e-12)
    forced_off = import_mano(files["left_ch"], fix_left_shapedirs=False)
    assert np.abs(forced_off.shape_dirs - fixed.shape_dirs).max() > 1e-3
    right = import_mano(files["right_ch"])
    assert "fix" not in right.provenance  # never applied to a right hand


def test_chumpy_pkl_npz_agree(files: dict[str, Path]) -> None:
    assert "chumpy" not in sys.modules
    a = import_mano(files["right_ch"])
    for key in ("right_ch0", "right_npz", "right_npz_obj", "plain_r"):
        other = import_mano(files[key])
        for k in ("template_vertices", "skin_weights", "rest_joints", "joint_frames", "shape_dirs",
                  "joint_shape_dirs", "posedirs", "faces"):
            assert np.allclose(getattr(a, k), getattr(other, k), atol=1e-12), k


def test_left_is_mirror_of_right(files: dict[str, Path]) -> None:
    """Same anatomical angles and betas -> exact mirror images (frames, angle signs, fix)."""
    right, left = import_mano(files["right_ch"]), import_mano(files["left_ch"])
    rng = np.random.default_rng(3)
    lo, hi = anatomy.LIMITS[..., 0], anatomy.LIMITS[..., 1]
    pose = lo + (hi - lo) * rng.random((6, 16, 3))
    betas = rng.uniform(-2, 2, size=(6, 10))
    pr, pl = forward(right, betas, pose), forward(left, betas, pose)
    assert np.abs(pl.vertices - pr.vertices @ S).max() < 1e-9
    assert np.abs(pl.keypoints - pr.keypoints @ S).max() < 1e-9


def test_anatomical_directions(files: dict[str, Path]) -> None:
    rig = import_mano(files["right_ch"])
    rest = forward(rig)
    # model frame: wrist at the origin, fingers +y, thumb on the -x side of a right hand
    assert np.allclose(rest.keypoints[0], 0, atol=1e-12)
    assert rest.keypoints[12, 1] > 0.15 and rest.keypoints[4, 0] < rest.keypoints[20, 0]
    for finger in ("index", "middle", "ring", "pinky"):
        mcp, pip, dip = anatomy.joints_of(finger)
        tip = 4 * (anatomy.FINGERS.index(finger) + 1)
        bent = forward(rig, pose={anatomy.JOINTS[pip]: {"flex": 60}})
        assert bent.keypoints[tip, 2] < rest.keypoints[tip, 2] - 0.01  # toward the palm (-z)
        spread = forward(rig, pose={anatomy.JOINTS[mcp]: {"abd": 15}})
        dx = spread.keypoints[tip, 0] - rest.keypoints[tip, 0]
        assert (dx < -1e-3) if finger in ("index", "middle") else (dx > 1e-3)
    thumb = forward(rig, pose={"thumb_ip": {"flex": 60}})
    d = thumb.keypoints[4] - rest.keypoints[4]
    assert d[2] < -0.003 and d[0] > 0.0  # toward the palm and the little finger
    wrist = forward(rig, pose={"wrist": {"flex": 40}})
    assert wrist.keypoints[12, 2] < -0.05  # whole hand rotates about the wrist (no forearm in MANO)


def test_joint_frames_follow_anatomy_rules(files: dict[str, Path]) -> None:
    """x distal toward the child joint / tip vertex; -z = the flexion target t made orthogonal to x
    (palmar for fingers and wrist, ulnar for the thumb CMC, ulnar+palmar for thumb MCP/IP)."""
    right, left = import_mano(files["right_ch"]), import_mano(files["left_ch"])
    palmar, ulnar = np.array([0.0, 0.0, -1.0]), np.array([1.0, 0.0, 0.0])
    child = {0: 4, 1: 2, 2: 3, 4: 5, 5: 6, 7: 8, 8: 9, 10: 11, 11: 12, 13: 14, 14: 15}
    tip_of = {15: 0, 3: 1, 6: 2, 12: 3, 9: 4}
    for rig, mirror in ((right, np.eye(3)), (left, S)):
        J = rig.rest_joints @ mirror
        F = mirror @ rig.joint_frames @ (np.eye(3) if rig.side == "right" else np.diag([1.0, -1.0, 1.0]))
        for b in range(16):
            end = J[child[b]] if b in child else rig.template_vertices[rig.tip_vertex_ids[tip_of[b]]] @ mirror
            x = (end - J[b]) / np.linalg.norm(end - J[b])
            t = ulnar if b == 13 else (ulnar + palmar) / np.sqrt(2) if b in (14, 15) else palmar
            t_perp = t - x * (t @ x)
            assert np.allclose(F[b][:, 0], x, atol=1e-9), (rig.side, b)
            assert np.allclose(-F[b][:, 2], t_perp / np.linalg.norm(t_perp), atol=1e-9), (rig.side, b)


def test_labels(files: dict[str, Path]) -> None:
    rig = import_mano(files["right_ch"])
    assert tuple(rig.tip_vertex_ids) == MANO_TIP_VERTEX_IDS
    assert list(rig.keypoint_kind.nonzero()[0]) == [4, 8, 12, 16, 20]
    assert list(rig.keypoint_index[[4, 8, 12, 16, 20]]) == list(MANO_TIP_VERTEX_IDS)
    assert list(rig.keypoint_index[[0, 1, 5, 9, 13, 17]]) == [0, 13, 1, 4, 10, 7]
    counts = np.bincount(rig.parts, minlength=8)
    assert counts[1] == 0 and (counts[2:] > 0).all()  # no forearm in MANO
    assert 0 < rig.nail_mask.sum() < 200
    distal = np.isin(np.argmax(rig.skin_weights, 1), [3, 6, 9, 12, 15])
    assert not (rig.nail_mask & ~distal).any()
    assert "MANO licence" in rig.licence and "sha256=" in rig.provenance


def test_native_roundtrip_and_save(files: dict[str, Path], tmp_path: Path) -> None:
    rig = import_mano(files["right_npz"])
    rng = np.random.default_rng(5)
    _, go, hp = _random_mano(rng, 4)
    go2, hp2 = mano_pose_from_rotations(rig, rotations_from_mano_pose(rig, go, hp))
    assert np.allclose(go2, go, atol=1e-9) and np.allclose(hp2, hp, atol=1e-9)
    back = load_rig(rig.save(tmp_path / "mano_right.npz"))
    assert np.allclose(back.extra["mano_to_model"], rig.extra["mano_to_model"])
    pose = anatomy.clamp(rng.normal(scale=30, size=(16, 3)))
    betas = rng.normal(size=10)
    a, b = forward(rig, betas, pose), forward(back, betas, pose)
    assert a.vertices.shape == (778, 3)
    assert np.abs(a.vertices - b.vertices).max() < 1e-6  # float32 weights in the file


def _one_line_error(path: Path, **kw) -> str:
    with pytest.raises(RigError) as ei:
        import_mano(path, **kw)
    msg = str(ei.value)
    assert msg and "\n" not in msg
    return msg


def test_bad_files(files: dict[str, Path], tmp_path: Path) -> None:
    assert "not found" in _one_line_error(tmp_path / "MANO_RIGHT.pkl")
    rng = np.random.default_rng(0)
    for name in ("MANO_RIGHT.pkl", "MANO_RIGHT.npz", "junk.bin"):
        p = tmp_path / name
        p.write_bytes(rng.bytes(4096))
        _one_line_error(p)
    p = tmp_path / "MANO_RIGHT_trunc.pkl"
    p.write_bytes(files["right_ch"].read_bytes()[:5000])
    _one_line_error(p)
    p = tmp_path / "MANO_RIGHT_trunc.npz"
    p.write_bytes(files["right_npz"].read_bytes()[:5000])
    _one_line_error(p)
    p = tmp_path / "MANO_RIGHT_wrong.npz"
    np.savez(p, a=np.zeros(3))
    assert "missing v_template" in _one_line_error(p)
    p = tmp_path / "MANO_RIGHT_list.pkl"
    p.write_bytes(pickle.dumps([1, 2, 3]))
    assert "not a MANO model" in _one_line_error(p)
    assert "unsupported chumpy object chumpy.ch_ops.add" in _one_line_error(files["unsupported"])
    p = tmp_path / "MANO_RIGHT_evil.pkl"
    p.write_bytes(b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueq\x00\x85R.")
    assert "refusing" in _one_line_error(p)
    model = mf.make_mano_right(np.random.default_rng(9))
    model["weights"] = np.asarray(model["weights"])[:, :15]
    p = mf.save_npz(model, tmp_path / "MANO_RIGHT_bad.npz")
    assert "weights" in _one_line_error(p)
    assert "side" in _one_line_error(_copy(files["right_npz"], tmp_path / "hand.npz"))
    assert import_mano(tmp_path / "hand.npz", side="right").side == "right"


def _copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes())
    return dst


def test_cli_import_mano(files: dict[str, Path], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from synth.cli import cli

    runner = CliRunner()
    out = tmp_path / "rig_left.npz"
    res = runner.invoke(cli, ["models", "import-mano", str(files["left_ch"]), "--out", str(out)])
    assert res.exit_code == 0, res.output
    rig = load_rig(out)
    assert rig.side == "left" and rig.n_vertices == 778
    res = runner.invoke(cli, ["models", "import-mano", str(files["right_npz"]), "--out", str(tmp_path / "r.npz"),
                              "--side", "left"])
    assert res.exit_code == 0 and load_rig(tmp_path / "r.npz").side == "left"
    bad = tmp_path / "MANO_RIGHT.pkl"
    bad.write_bytes(b"\x80\x02garbage" * 10)
    for path in (tmp_path / "nope.pkl", bad):
        res = runner.invoke(cli, ["models", "import-mano", str(path), "--out", str(tmp_path / "x.npz")])
        assert res.exit_code == 2
        assert len(res.output.strip().splitlines()) == 1 and "Error" in res.output
    assert not (tmp_path / "x.npz").exists()
