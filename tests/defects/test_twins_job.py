"""Defect twins in a job (raster backend): correct samples unchanged, artifact masks equal an
independent ray cast of the two saved meshes (>= 99 % IoU away from 1-px silhouette borders)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from synth.config import JobConfig
from synth.dataset.imageio import read_image
from synth.dataset.layout import read_manifest
from synth.defects.mask import DEPTH_TOLERANCE_M
from synth.hand.models import load_model
from synth.render.job import run_job
from synth.render.types import face_parts_from_vertex_parts

trimesh = pytest.importorskip("trimesh")
pytest.importorskip("pyrender")


def _job(out: Path, fraction: float) -> JobConfig:
    return JobConfig.from_dict({"seed": 11, "count": 6, "out": str(out),
                                "render": {"renderer": "raster", "resolution": 96},
                                "output": {"save_mesh": True}, "defects": {"fraction": fraction}})


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    a = tmp_path_factory.mktemp("plain")
    b = tmp_path_factory.mktemp("twins")
    run_job(_job(a, 0.0))
    run_job(_job(b, 1.0))
    return a, b


def test_twins_leave_correct_samples_unchanged(jobs):
    a, b = jobs
    ma, mb = read_manifest(a), read_manifest(b)
    assert ma.keys() == mb.keys() and len(ma) == 6
    for i in ma:
        assert ma[i].sha256 == mb[i].sha256  # every file of the correct sample, label included
    tw = read_manifest(b / "twins")
    assert set(tw) == set(ma)
    assert not (a / "twins").exists()


def _cast(mesh: trimesh.Trimesh, face_part: np.ndarray, label: dict) -> tuple[np.ndarray, np.ndarray]:
    W, H = label["image_size"]
    K = np.array(label["K"])
    T = np.array(label["world_to_cam"])
    u, v = np.meshgrid(np.arange(W), np.arange(H))
    d_cam = np.stack([u.ravel(), v.ravel(), np.ones(W * H)], 1) @ np.linalg.inv(K).T
    R, t = T[:3, :3], T[:3, 3]
    origin = -R.T @ t
    dirs = d_cam @ R  # R^T d per row
    loc, ray, tri = mesh.ray.intersects_location(np.repeat(origin[None], len(dirs), 0), dirs, multiple_hits=False)
    depth = np.zeros(W * H)
    parts = np.zeros(W * H, np.uint8)
    z = (loc @ R.T + t)[:, 2]
    depth[ray] = z
    parts[ray] = face_part[tri]
    return depth.reshape(H, W), parts.reshape(H, W)


def test_artifact_mask_matches_ray_cast(jobs):
    _, b = jobs
    rig = load_model("open-hand", "right")
    ious = []
    for i in read_manifest(b / "twins"):
        lab = json.loads((b / "labels" / f"{i:08d}.json").read_text())
        if lab["handedness"] != "right":
            continue
        m0 = np.load(b / "mesh" / f"{i:08d}.npz")
        m1 = np.load(b / "twins" / "mesh" / f"{i:08d}.npz")
        fp0 = m0["face_part"] if "face_part" in m0 else face_parts_from_vertex_parts(rig.faces, rig.parts)
        d0, p0 = _cast(trimesh.Trimesh(m0["vertices"], m0["faces"], process=False), fp0, lab)
        n_hand = len(m1["faces"])
        fp1 = m1["face_part"]
        V1, F1 = m1["vertices"], m1["faces"]
        if "face_part" in m0 and len(m0["faces"]) > int(m0["n_hand_faces"]):  # props stay in the twin's scene
            nv, nf = int(m0["n_hand_vertices"]), int(m0["n_hand_faces"])
            V1 = np.concatenate([V1, m0["vertices"][nv:]])
            F1 = np.concatenate([F1, m0["faces"][nf:] - nv + len(m1["vertices"])])
            fp1 = np.concatenate([fp1, m0["face_part"][nf:]])
        assert n_hand == len(m1["face_part"])
        d1, p1 = _cast(trimesh.Trimesh(V1, F1, process=False), fp1, lab)
        ref = (p0 != p1) | ((d0 > 0) & (d1 > 0) & (np.abs(d0 - d1) > DEPTH_TOLERANCE_M))
        mask = read_image(b / "twins" / "artifact_mask" / f"{i:08d}.png") > 0
        border = np.zeros_like(ref)
        for p in (p0, p1):
            pad = np.pad(p, 1, mode="edge")
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    border |= pad[1 + dy:1 + dy + p.shape[0], 1 + dx:1 + dx + p.shape[1]] != p
        keep = ~border
        inter = (ref & mask & keep).sum()
        union = ((ref | mask) & keep).sum()
        if union:
            ious.append(inter / union)
    assert ious
    assert min(ious) >= 0.99, ious


@pytest.mark.parametrize("fmt", ["preference", "inpaint", "feedback"])
def test_t2i_packages_load_with_datasets(jobs, tmp_path, fmt):
    datasets = pytest.importorskip("datasets")
    from synth.dataset.package import package

    _, b = jobs
    counts = package(b, fmt, tmp_path / fmt, {"train": 1.0})
    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / fmt / "data" / "*.parquet"), split="train")
    n = 6 * (2 if fmt == "feedback" else 1)
    assert len(ds) == counts["train"] == n
    r = ds[0]
    if fmt == "preference":
        assert {r["label_0"], r["label_1"]} == {0.0, 1.0} and r["defect_type"]
        assert np.asarray(r["artifact_mask"]).max() == 255
    elif fmt == "inpaint":
        assert ds.column_names[:3] == ["image", "conditioning_image", "text"]
        m = np.asarray(r["mask"])
        assert m.max() == 255 and 0 < (m == 255).mean() < 0.9
        assert np.asarray(r["input_image"]).shape == np.asarray(r["image"]).shape
    else:
        scores = sorted(ds["artifact_score"])
        assert scores[-1] == 1.0 and scores[0] <= 0.4
        assert max(np.asarray(x).max() for x in ds["artifact_map"]) == 255


def test_package_refuses_without_twins(jobs, tmp_path):
    from synth.dataset.layout import DatasetError
    from synth.dataset.package import package

    a, _ = jobs
    with pytest.raises(DatasetError, match="defects-fraction"):
        package(a, "preference", tmp_path / "p", {"train": 1.0})


def test_review_index_sees_twins(jobs):
    from synth.defects.twin import with_twin_files
    from synth.review.index import build_index

    a, b = jobs
    facts = build_index(b)
    assert facts and all({"twin_rgb", "artifact_mask", "artifact_heatmap"} <= set(f["kinds"]) for f in facts)
    e = with_twin_files(b, read_manifest(b))
    for i, entry in e.items():
        assert (b / entry.files["twin_rgb"]).is_file()
        assert json.loads((b / entry.files["twin_label"]).read_text())["twin_of"] == i
    assert with_twin_files(a, read_manifest(a)) == read_manifest(a)
