"""The hand-instance pass (synth.passes 'instance'): written by default, equal to the hand's
pixels of the part mask, loadable by PIL / synth.data / torch, checked by the validator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synth.config import JobConfig


@pytest.fixture(scope="module")
def raster_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("pyrender")
    from synth.render.job import run_job

    out = tmp_path_factory.mktemp("inst") / "ds"
    cfg = JobConfig(count=3, seed=11, out=str(out))
    cfg.render.renderer, cfg.render.resolution = "raster", 64
    cfg.props.fraction = 1.0
    cfg.hand.side = "both"
    run_job(cfg)
    return out


def test_instance_is_one_plus_hand_index_on_hand_pixels_only(raster_dataset: Path) -> None:
    from PIL import Image

    from synth.dataset.layout import read_manifest

    entries = read_manifest(raster_dataset)
    assert len(entries) == 3
    some_object = False
    for e in entries.values():
        inst = np.asarray(Image.open(raster_dataset / e.files["instance"]))
        parts = np.asarray(Image.open(raster_dataset / e.files["parts"]))
        assert inst.dtype == np.uint8 and inst.shape == parts.shape
        assert set(np.unique(inst).tolist()) == {0, 1}  # one hand: index 0 -> 1
        np.testing.assert_array_equal(inst == 1, (parts >= 1) & (parts <= 7))
        some_object |= bool((parts >= 16).any())
        assert not (inst[parts >= 16]).any()  # objects keep their ids in parts only
    assert some_object  # the test saw held objects / accessories / tables


def test_instance_loads_through_the_reader_and_validates(raster_dataset: Path) -> None:
    from synth.data import HandDataset
    from synth.dataset.validate import validate_dataset

    ds = HandDataset(raster_dataset, load=("parts", "instance"))
    s = ds[0]
    assert s["instance"].dtype == np.uint8 and s["instance"].shape == s["parts"].shape
    report = validate_dataset(raster_dataset)
    assert report.ok, report
    torch = pytest.importorskip("torch")
    t = ds.torch()[0]
    assert t["instance"].dtype == torch.int64 and tuple(t["instance"].shape) == s["parts"].shape


def test_validator_catches_an_instance_mask_that_disagrees_with_parts(raster_dataset: Path, tmp_path: Path) -> None:
    import shutil

    from PIL import Image

    from synth.dataset.layout import read_manifest
    from synth.dataset.validate import validate_dataset

    bad = tmp_path / "bad"
    shutil.copytree(raster_dataset, bad)
    e = next(iter(read_manifest(bad).values()))
    p = bad / e.files["instance"]
    Image.fromarray(np.zeros_like(np.asarray(Image.open(p)))).save(p)
    report = validate_dataset(bad, check_hashes=False)
    assert not report.ok
    assert any("disagree with the hand parts" in m for m in map(str, report.errors)), report.errors
