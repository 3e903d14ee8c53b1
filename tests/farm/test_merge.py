"""``synth merge``: shards rendered into separate directories merge into the single-process dataset."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from synth.dataset.layout import DatasetError
from synth.dataset.writer import DatasetWriter
from synth.farm.local import render_ids
from synth.farm.merge import MergeError, merge
from synth.farm.sharding import ShardSpec, shard_range

from .conftest import TINY_JOB, assert_same_dataset, manifest_lines, tiny_cfg


@pytest.mark.blender
def test_merge_of_separate_shards_equals_the_single_process_render(reference: Path, tmp_path: Path) -> None:
    n = TINY_JOB["count"]
    dirs = []
    for k, threads in ((0, None), (1, 1), (2, None)):  # one shard on 1 thread: thread count changes nothing
        d = tmp_path / f"shard{k}"
        ids = shard_range(0, n, ShardSpec(k, 3))
        stats = render_ids(tiny_cfg(d), ids, threads=threads)
        assert stats.written == list(ids)
        dirs.append(d)
    # Each shard alone holds exactly its ids, with the reference's bytes.
    assert_same_dataset(dirs[1], reference, ids=list(shard_range(0, n, ShardSpec(1, 3))))

    out = tmp_path / "merged"
    stats = merge(list(reversed(dirs)), out)
    assert (stats.ids, stats.copied, stats.duplicates, stats.missing) == (n, n, 0, [])
    assert_same_dataset(out, reference)
    # Manifest lines sorted by id, byte-equal to the single run's (which writes in id order).
    assert manifest_lines(out) == manifest_lines(reference)
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["config"]["out"] == str(out)

    from synth.dataset.validate import validate_dataset

    rep = validate_dataset(out)
    assert rep.ok and rep.n_ok == n, rep.errors[:3]


# ---- fast tests on fake datasets written through DatasetWriter ---------------------------------
def fake_dataset(root: Path, ids: range | list[int], config: dict | None = None, salt: int = 0) -> Path:
    cfg = {"seed": 1, "count": 10, "start": 0, "out": str(root), "render": {"samples": 4}}
    cfg.update(config or {})
    with DatasetWriter(root, {"config": cfg}, background=False) as w:
        for i in ids:
            rng = np.random.default_rng([i, salt])
            w.write_sample(i, {"rgb": rng.integers(0, 255, (8, 8, 3), dtype=np.uint8),
                               "depth": rng.random((8, 8), dtype=np.float32)}, {"id": i, "v": float(rng.random())})
    return root


def test_merge_cli_and_dedup_of_identical_overlap(tmp_path: Path) -> None:
    from synth.cli import cli

    a = fake_dataset(tmp_path / "a", range(0, 6))
    b = fake_dataset(tmp_path / "b", range(4, 10))  # 4, 5 in both, identical bytes
    full = fake_dataset(tmp_path / "full", range(0, 10))
    res = CliRunner().invoke(cli, ["merge", str(a), str(b), "--out", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    assert "10 samples" in res.output and "2 duplicate" in res.output
    assert manifest_lines(tmp_path / "m") == manifest_lines(full)


def test_merge_refuses_mixed_configs(tmp_path: Path) -> None:
    from synth.cli import cli

    a = fake_dataset(tmp_path / "a", range(0, 3))
    b = fake_dataset(tmp_path / "b", range(3, 6), config={"render": {"samples": 8}})
    res = CliRunner().invoke(cli, ["merge", str(a), str(b), "--out", str(tmp_path / "m")])
    assert res.exit_code == 1
    assert "different jobs" in res.output and "render.samples" in res.output
    assert not (tmp_path / "m").exists()
    # out/start/count and threads may differ: where, which ids and how, not what the samples are.
    c = fake_dataset(tmp_path / "c", range(10, 12), config={"start": 10, "count": 2, "render": {"samples": 4, "threads": 3}})
    stats = merge([a, c], tmp_path / "m2")
    cfg = json.loads((tmp_path / "m2" / "dataset.json").read_text())["config"]
    assert (cfg["start"], cfg["count"]) == (0, 12)
    assert stats.missing == list(range(3, 10))
    res = CliRunner().invoke(cli, ["merge", str(a), str(c), "--out", str(tmp_path / "m3"), "--require-complete"])
    assert res.exit_code == 1 and "missing" in res.output


def test_merge_refuses_conflicting_samples_and_damaged_files(tmp_path: Path) -> None:
    a = fake_dataset(tmp_path / "a", range(0, 3))
    b = fake_dataset(tmp_path / "b", range(2, 4), salt=1)  # id 2 with other bytes
    with pytest.raises(MergeError, match="sample 2 differs"):
        merge([a, b], tmp_path / "m")
    c = fake_dataset(tmp_path / "c", range(3, 5))
    (c / "rgb" / "00000004.png").unlink()
    with pytest.raises(MergeError, match="00000004.png .* missing"):
        merge([a, c], tmp_path / "m2")
    d = fake_dataset(tmp_path / "d", range(5, 7))
    p = d / "depth" / "00000005.exr"
    data = bytearray(p.read_bytes())
    data[-1] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises(MergeError, match="checksum"):
        merge([a, d], tmp_path / "m3")
    merge([a, d], tmp_path / "m4", verify=False)  # sizes still match: only the checksum catches it


def test_merge_output_rules_and_incremental_merge(tmp_path: Path) -> None:
    a = fake_dataset(tmp_path / "a", range(0, 5))
    b = fake_dataset(tmp_path / "b", range(5, 10))
    full = fake_dataset(tmp_path / "full", range(0, 10))
    with pytest.raises(MergeError, match="also an input"):
        merge([a, b], a)
    with pytest.raises(MergeError, match="twice"):
        merge([a, a], tmp_path / "x")
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("hi")
    with pytest.raises(DatasetError, match="not a synth dataset"):
        merge([a], junk)
    with pytest.raises(DatasetError, match="not a synth dataset"):
        merge([junk], tmp_path / "y")
    out = tmp_path / "m"
    assert merge([a], out).ids == 5
    stats = merge([b], out)  # as more shards finish
    assert (stats.ids, stats.copied) == (10, 5)
    assert manifest_lines(out) == manifest_lines(full)


def test_merge_with_hard_links(tmp_path: Path) -> None:
    a = fake_dataset(tmp_path / "a", range(0, 2))
    out = tmp_path / "m"
    merge([a], out, link=True)
    src, dst = a / "rgb" / "00000001.png", out / "rgb" / "00000001.png"
    assert os.stat(src).st_ino == os.stat(dst).st_ino
    assert manifest_lines(out) == manifest_lines(a)
