"""DatasetWriter: atomic files, manifest, resume and refusal rules."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from synth_fake_render import fake_sample, write_fake_dataset

from synth.dataset.imageio import read_image
from synth.dataset.layout import DatasetError, read_manifest, sha256_file, stem
from synth.dataset.writer import DatasetWriter


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_files_and_manifest(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    write_fake_dataset(out, 3, seed=1)
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["keypoints"]["names"][0] == "wrist" and len(meta["keypoints"]["names"]) == 21
    assert meta["part_ids"]["pinky"] == 7 and meta["config"]["seed"] == 1
    entries = read_manifest(out)
    assert sorted(entries) == [0, 1, 2]
    for sid, e in entries.items():
        assert set(e.files) == {"rgb", "depth", "parts", "normals", "mesh", "label"}
        for kind, rel in e.files.items():
            assert stem(sid) in rel
            assert sha256_file(out / rel) == e.sha256[kind]
        label = json.loads((out / e.files["label"]).read_text())
        assert label["files"] == e.files
    images, label, _ = fake_sample(1, 1, 64)
    assert np.array_equal(read_image(out / "rgb/00000001.png"), images["rgb"])
    assert np.array_equal(read_image(out / "depth/00000001.exr"), images["depth"])
    assert np.array_equal(read_image(out / "normals/00000001.exr"), images["normals"])
    mesh = np.load(out / "mesh/00000001.npz")
    assert np.array_equal(mesh["vertices"], np.asarray(label["keypoints_3d_world"], np.float32))
    assert not list(out.rglob(".*.tmp"))


def test_background_and_foreground_byte_identical(tmp_path: Path) -> None:
    write_fake_dataset(tmp_path / "a", 3, background=True)
    write_fake_dataset(tmp_path / "b", 3, background=False)
    assert _tree_bytes(tmp_path / "a") == _tree_bytes(tmp_path / "b")


def test_resume_skips_complete_and_redoes_incomplete(tmp_path: Path) -> None:
    ref, out = tmp_path / "ref", tmp_path / "ds"
    write_fake_dataset(ref, 5)
    write_fake_dataset(out, 5)
    # Sample 1 lost a file, sample 3's manifest line is missing (files exist), sample 4 is
    # half-appended (killed mid-write of its manifest line).
    (out / "depth/00000001.exr").unlink()
    lines = (out / "manifest.jsonl").read_text().splitlines(keepends=True)
    (out / "manifest.jsonl").write_text("".join(lines[:3]) + lines[4][:40])
    assert write_fake_dataset(out, 5) == [1, 3, 4]
    assert write_fake_dataset(out, 5) == []
    assert _tree_bytes(out).keys() == _tree_bytes(ref).keys()
    a, b = _tree_bytes(out), _tree_bytes(ref)
    assert all(a[k] == b[k] for k in a if k != "manifest.jsonl")
    assert sorted(read_manifest(out)) == [0, 1, 2, 3, 4]
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 5


def test_refuses_other_config_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    write_fake_dataset(out, 2, seed=0)
    before = _tree_bytes(out)
    with pytest.raises(DatasetError, match="different config.*seed"):
        write_fake_dataset(out, 2, seed=5)
    assert _tree_bytes(out) == before
    write_fake_dataset(out, 4, seed=0)  # more samples is the same dataset
    write_fake_dataset(out, 4, seed=5, force=True)
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["config"]["seed"] == 5 and meta["previous_configs"][0]["seed"] == 0


def _without(cfg: dict, *dotted: str) -> dict:
    """``cfg`` as a synth that predates the ``dotted`` keys wrote it (keys removed)."""
    import copy

    cfg = copy.deepcopy(cfg)
    for key in dotted:
        *parents, last = key.split(".")
        node = cfg
        for k in parents:
            node = node[k]
        del node[last]
    return cfg


def _write_job(out: Path, config: dict, n: int = 2, **kw) -> list[int]:  # noqa: ANN003
    written = []
    with DatasetWriter(out, {"config": config}, **kw) as w:
        done = w.completed_ids()
        for i in range(n):
            if i not in done:
                w.write_sample(i, *fake_sample(i, 0, 32))
                written.append(i)
    return written


def test_resume_across_a_new_config_field_at_its_default(tmp_path: Path) -> None:
    """A dataset made before a config field existed resumes when the new field has its default
    (and a whole new section at its defaults too); a non-default value is still another job."""
    from synth.config import JobConfig, apply_overrides

    new = JobConfig().to_dict()
    old = _without(new, "hand.gesture_weights", "lighting.exclude_files", "defects")
    out = tmp_path / "ds"
    assert _write_job(out, old) == [0, 1]
    before = _tree_bytes(out)
    assert _write_job(out, new, n=3) == [2]  # resumed: the two complete samples kept
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["config"] == old and "previous_configs" not in meta  # dataset.json kept byte for byte
    assert all(_tree_bytes(out)[k] == v for k, v in before.items() if k != "manifest.jsonl")
    # The other direction: a dataset written with the field, resumed by a config without it.
    out2 = tmp_path / "ds2"
    _write_job(out2, new)
    assert _write_job(out2, old, n=3) == [2]
    # A non-default value of the missing field is a different job, named by its key.
    weighted = apply_overrides(JobConfig(), ["hand.gesture_weights={fist: 0.5}"]).to_dict()
    with pytest.raises(DatasetError, match=r"different config \(hand\.gesture_weights\.fist only in the new config"):
        _write_job(out, weighted, n=3)
    excluded = apply_overrides(JobConfig(), ["lighting.exclude_files=[a.exr]"]).to_dict()
    with pytest.raises(DatasetError, match=r"different config \(lighting\.exclude_files: existing \[\] vs new"):
        _write_job(out, excluded, n=3)
    other = apply_overrides(JobConfig(), ["seed=3"]).to_dict()  # a plain difference is still refused
    with pytest.raises(DatasetError, match=r"different config \(seed"):
        _write_job(out, other, n=3)


def test_refuses_non_dataset_dir_and_unwritable(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other/notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not a synth dataset"):
        DatasetWriter(tmp_path / "other", {})
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetError, match="not a directory"):
        DatasetWriter(tmp_path / "file", {})
    if os.geteuid() != 0:  # root ignores permission bits
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(DatasetError, match="not writable"):
            DatasetWriter(ro, {})


def test_resume_off_refuses_existing_samples(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    write_fake_dataset(out, 2)
    with pytest.raises(DatasetError, match="resume is off"):
        DatasetWriter(out, {"config": {"seed": 0, "size": 64, "renderer": "fake"}}, resume=False)
    assert len(read_manifest(out)) == 2


def test_large_ids_and_bad_input(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path / "ds", {}) as w:
        images, label, _ = fake_sample(0)
        w.write_sample(123_456_789, images, label)
        with pytest.raises(ValueError, match="rgb"):
            w.write_sample(1, {"rgb": np.zeros((4, 4), np.float32)}, label)
        with pytest.raises(ValueError, match="finite"):
            w.write_sample(2, images, {**label, "bbox": [float("nan")] * 4})
    assert (tmp_path / "ds/rgb/123456789.png").exists()
    assert stem(1_000_000) == "01000000"
    assert sorted(read_manifest(tmp_path / "ds")) == [123_456_789]


def test_background_error_surfaces(tmp_path: Path) -> None:
    w = DatasetWriter(tmp_path / "ds", {})
    images, label, _ = fake_sample(0)
    (tmp_path / "ds/rgb").write_text("a file where a folder should be")
    w.write_sample(0, images, label)
    with pytest.raises(Exception):  # noqa: B017 - whatever the OS says, it must surface
        w.close()
    assert read_manifest(tmp_path / "ds") == {}
