"""synth package: every format loads with its real client library."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from synth.cli import cli
from synth.data import HandDataset
from synth.dataset.layout import read_manifest
from synth.dataset.splits import assign, parse_splits, split_of


def _package(ds: Path, out: Path, fmt: str, *extra: str) -> None:
    res = CliRunner().invoke(cli, ["package", str(ds), "--format", fmt, "--out", str(out), *extra])
    assert res.exit_code == 0, res.output


def test_splits_deterministic_and_stable() -> None:
    fr = parse_splits("train=0.8,val=0.1,test=0.1")
    a = assign(range(2000), fr)
    assert sum(len(v) for v in a.values()) == 2000
    assert 1450 < len(a["train"]) < 1750 and 100 < len(a["val"]) < 300
    b = assign(range(1000, 3000), fr)  # other ids present: same split per id
    assert all(split_of(i, fr) == s for s, ids in b.items() for i in ids)
    assert set(a["val"]) & set(range(1000, 2000)) == set(b["val"]) & set(range(1000, 2000))
    for bad in ("train=0.9", "train=0.5,val=x", "train", "train=0.5,train=0.5", "a=1.5,b=-0.5"):
        with pytest.raises(ValueError):
            parse_splits(bad)


def test_coco_loads_and_self_eval_ap_is_one(fake_dataset: Path, tmp_path: Path) -> None:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from synth.dataset.formats.coco import OKS_SIGMAS

    out = tmp_path / "coco"
    _package(fake_dataset, out, "coco", "--split", "none")
    ann = out / "annotations/hand_keypoints_train.json"
    gt = COCO(str(ann))
    assert len(gt.getImgIds()) == 8
    cat = gt.loadCats(1)[0]
    assert cat["name"] == "hand" and len(cat["keypoints"]) == 21 and [1, 2] in cat["skeleton"]
    label = HandDataset(fake_dataset, load=()).label(0)
    a = gt.loadAnns(gt.getAnnIds(imgIds=[0]))[0]
    kp = np.asarray(a["keypoints"]).reshape(21, 3)
    assert np.allclose(kp[kp[:, 2] > 0, :2], np.asarray(label["keypoints_2d"])[kp[:, 2] > 0], atol=1e-3)
    assert ((kp[:, 2] == 2) == (np.asarray(label["visibility"]) == 1)).all()
    m = gt.annToMask(a)
    assert m.shape == (64, 64) and abs(int(m.sum()) - a["area"]) <= 0.25 * a["area"]
    img = gt.loadImgs([0])[0]
    assert (out / img["file_name"]).is_file()
    # Ground truth against itself: AP = 1.
    dets = [{"image_id": x["image_id"], "category_id": 1, "keypoints": x["keypoints"], "score": 1.0}
            for x in gt.loadAnns(gt.getAnnIds())]  # fmt: skip
    dt = gt.loadRes(dets)
    ev = COCOeval(gt, dt, "keypoints")
    ev.params.kpt_oks_sigmas = OKS_SIGMAS
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)
    # A wrong prediction scores lower: the metric is real.
    bad = [dict(d, keypoints=[v + 6.0 if i % 3 != 2 else v for i, v in enumerate(d["keypoints"])]) for d in dets]
    ev2 = COCOeval(gt, gt.loadRes(bad), "keypoints")
    ev2.params.kpt_oks_sigmas = OKS_SIGMAS
    ev2.evaluate()
    ev2.accumulate()
    ev2.summarize()
    assert ev2.stats[0] < 0.9


def test_webdataset_iterates_and_decodes(fake_dataset: Path, tmp_path: Path) -> None:
    import webdataset as wds

    from synth.dataset.formats.wds import decoders

    out = tmp_path / "wds"
    _package(fake_dataset, out, "webdataset", "--split", "none", "--shard-size", "65536")
    urls = sorted(str(p) for p in out.glob("train-*.tar"))
    index = json.loads((out / "train.shards.json").read_text())
    assert [s["url"] for s in index["shards"]] == [Path(u).name for u in urls]
    assert sum(s["count"] for s in index["shards"]) == 8
    assert len(urls) >= 2  # size-bounded: 8 samples of ~15 kB in 64 kB shards
    assert all(Path(u).stat().st_size <= 71680 for u in urls)  # 64 kB rounded up to tar records
    ref = HandDataset(fake_dataset, load=("rgb", "depth", "parts", "normals"))
    by_id = {s["id"]: s for s in ref}
    n = 0
    for s in wds.WebDataset(urls, shardshuffle=False, empty_check=False).decode(*decoders()):
        r = by_id[int(s["__key__"])]
        assert np.array_equal(s["png"], r["rgb"]) and s["png"].dtype == np.uint8
        assert np.array_equal(s["depth.exr"], r["depth"]) and s["depth.exr"].dtype == np.float32
        assert np.array_equal(s["parts.png"], r["parts"]) and s["parts.png"].ndim == 2
        assert np.array_equal(s["normals.exr"], r["normals"])
        assert s["json"]["keypoints_2d"] == r["label"]["keypoints_2d"]
        n += 1
    assert n == 8
    # Stock decoders read the PNGs too.
    s = next(iter(wds.WebDataset(urls[:1], shardshuffle=False, empty_check=False).decode("rgb8")))
    assert s["png"].shape == (64, 64, 3)


def test_parquet_loads_with_datasets(fake_dataset: Path, tmp_path: Path) -> None:
    import datasets

    out = tmp_path / "pq"
    _package(fake_dataset, out, "parquet", "--split", "train=0.5,val=0.25,test=0.25")
    files = {s: sorted(str(p) for p in (out / "data").glob(f"{s}-*.parquet")) for s in ("train", "val", "test")}
    d = datasets.load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "cache"))
    assert sum(len(d[s]) for s in d) == 8
    ids = sorted(i for s in d for i in d[s]["id"])
    assert ids == sorted(read_manifest(fake_dataset))
    expect = assign(ids, parse_splits("train=0.5,val=0.25,test=0.25"))
    assert all(sorted(d[s]["id"]) == expect[s] for s in d)
    assert isinstance(d["train"].features["image"], datasets.Image)
    row = d["train"][0]
    ref = HandDataset(fake_dataset, load=("rgb", "parts", "depth"), ids=[row["id"]])[0]
    assert np.array_equal(np.asarray(row["image"]), ref["rgb"])
    assert np.array_equal(np.asarray(row["parts"]), ref["parts"])
    from synth.dataset.imageio import decode_image

    assert np.array_equal(decode_image(row["depth_exr"]), ref["depth"])
    assert np.allclose(row["keypoints_2d"], ref["keypoints_2d"], atol=1e-4)
    assert json.loads(row["label"])["caption"] == row["caption"]


@pytest.mark.parametrize("cond", ["skeleton", "depth", "parts"])
def test_controlnet_layout(fake_dataset: Path, tmp_path: Path, cond: str) -> None:
    import datasets

    out = tmp_path / "cn"
    _package(fake_dataset, out, "controlnet", "--split", "none", "--conditioning", cond)
    # What diffusers' train_controlnet.py does with --train_data_dir OUT.
    d = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    cols = d["train"].column_names
    assert cols[:3] == ["image", "conditioning_image", "text"]
    ex = d["train"][0]
    img, cond_img = ex["image"].convert("RGB"), ex["conditioning_image"].convert("RGB")
    assert img.size == cond_img.size == (64, 64)
    c = np.asarray(cond_img)
    ref = HandDataset(fake_dataset, load=("parts", "depth"), ids=[ex["id"]])[0]
    hand = ref["parts"] > 0
    if cond == "depth":
        assert (c[~hand] == 0).all() and (c[hand] >= 25).all() and c[hand].max() == 255
    elif cond == "parts":
        assert (c[~hand] == 0).all() and (c[hand].max(axis=-1) > 0).all()
    else:
        assert c.any(axis=-1).sum() > 50 and ex["text"] == ref["label"]["caption"]


def test_controlnet_with_an_empty_split_loads(fake_dataset: Path, tmp_path: Path) -> None:
    import datasets

    split = "train=0.9,val=0.05,test=0.05"
    expect = assign(range(8), parse_splits(split))
    assert any(not v for v in expect.values())  # the case under test: some split is empty
    out = tmp_path / "cn"
    _package(fake_dataset, out, "controlnet", "--split", split)
    d = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    assert {s: sorted(d[s]["id"]) for s in d} == {s: v for s, v in expect.items() if v}


def test_freihand_layout(fake_dataset: Path, tmp_path: Path) -> None:
    import cv2

    out = tmp_path / "fh"
    _package(fake_dataset, out, "freihand", "--split", "none")
    K = json.load(open(out / "training_K.json"))
    xyz = json.load(open(out / "training_xyz.json"))
    ids = json.load(open(out / "training_ids.json"))
    assert len(K) == len(xyz) == len(ids) == 8
    # The FreiHAND projection recipe: uv = (K @ xyz.T).T, uv = uv[:, :2] / uv[:, 2:].
    for idx in (0, 7):
        uv = (np.asarray(K[idx]) @ np.asarray(xyz[idx]).T).T
        uv = uv[:, :2] / uv[:, 2:]
        ref = HandDataset(fake_dataset, load=(), ids=[ids[idx]])[0]
        assert np.allclose(uv, ref["keypoints_2d"], atol=1e-3)
        img = cv2.imread(str(out / "training/rgb" / f"{idx:08d}.jpg"))
        assert img.shape == (64, 64, 3)
        assert cv2.imread(str(out / "training/mask" / f"{idx:08d}.jpg"), cv2.IMREAD_GRAYSCALE).shape == (64, 64)


def test_package_bad_input(fake_dataset: Path, tmp_path: Path) -> None:
    r = CliRunner()
    res = r.invoke(cli, ["package", str(tmp_path), "--format", "coco", "--out", str(tmp_path / "o")])
    assert res.exit_code != 0 and "not a synth dataset" in res.output
    res = r.invoke(cli, ["package", str(fake_dataset), "--format", "yolo", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "yolo" in res.output
    res = r.invoke(cli, ["package", str(fake_dataset), "--format", "coco", "--out", str(tmp_path / "o"),
                         "--split", "train=0.7"])  # fmt: skip
    assert res.exit_code == 2 and "sum to 1" in res.output
    (tmp_path / "full").mkdir()
    (tmp_path / "full/x").write_text("keep me")
    res = r.invoke(cli, ["package", str(fake_dataset), "--format", "coco", "--out", str(tmp_path / "full")])
    assert res.exit_code == 1 and "not empty" in res.output
    assert (tmp_path / "full/x").read_text() == "keep me"


def test_hand_dataset_reader(fake_dataset: Path) -> None:
    ds = HandDataset(fake_dataset, load=("rgb", "depth", "parts", "normals"))
    assert len(ds) == 8
    s = ds[-1]
    assert s["id"] == 7 and s["rgb"].shape == (64, 64, 3) and s["depth"].dtype == np.float32
    assert s["keypoints_2d"].shape == (21, 2) and s["visibility"].shape == (21,) and s["K"].shape == (3, 3)
    assert s["normals"].shape == (64, 64, 3)
    tr = HandDataset(fake_dataset, split="train", splits="train=0.5,val=0.5")
    va = HandDataset(fake_dataset, split="val", splits="train=0.5,val=0.5")
    assert sorted(tr.ids + va.ids) == list(range(8)) and not set(tr.ids) & set(va.ids)
    with pytest.raises(IndexError):
        ds[8]


@pytest.mark.torchref  # torch in its own pytest process (see tests/conftest.py)
def test_hand_dataset_torch_loader(fake_dataset: Path) -> None:
    ds = HandDataset(fake_dataset, load=("rgb", "depth", "parts", "normals"))
    torch = pytest.importorskip("torch")
    t = ds.torch()[0]
    assert t["rgb"].shape == (3, 64, 64) and t["rgb"].dtype == torch.float32 and float(t["rgb"].max()) <= 1.0
    assert t["depth"].shape == (1, 64, 64) and t["keypoints_2d"].shape == (21, 2)
    batch = next(iter(torch.utils.data.DataLoader(ds.torch(), batch_size=4)))
    assert batch["rgb"].shape == (4, 3, 64, 64) and batch["visibility"].shape == (4, 21)
    assert len(batch["caption"]) == 4 and batch["id"].tolist() == [0, 1, 2, 3]


def test_package_refuses_missing_pass(tmp_path: Path) -> None:
    from synth_fake_render import fake_sample

    from synth.dataset.writer import DatasetWriter

    with DatasetWriter(tmp_path / "ds", {}) as w:
        for i in range(2):
            images, label, _ = fake_sample(i)
            w.write_sample(i, {"rgb": images["rgb"], "parts": images["parts"]}, label)
    r = CliRunner()
    res = r.invoke(cli, ["package", str(tmp_path / "ds"), "--format", "controlnet", "--conditioning", "depth",
                         "--out", str(tmp_path / "o")])  # fmt: skip
    assert res.exit_code == 1 and "needs the depth pass, which 2 sample(s) lack" in res.output
    res = r.invoke(cli, ["package", str(tmp_path / "ds"), "--format", "webdataset", "--out", str(tmp_path / "w"),
                         "--split", "none"])  # fmt: skip
    assert res.exit_code == 0, res.output
