"""The shared-directory writer: start-up never repairs (so concurrent writers are safe)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synth.dataset.layout import read_manifest
from synth.dataset.writer import DatasetWriter
from synth.farm.worker import SharedDirWriter, manifest_ids_since, manifest_size

META = {"config": {"seed": 1, "count": 10, "out": "x"}}


def write(w: DatasetWriter, i: int) -> None:
    w.write_sample(i, {"rgb": np.full((4, 4, 3), i, np.uint8)}, {"id": i})


def test_start_up_leaves_other_writers_alone(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path, META, background=False) as w:
        for i in range(4):
            write(w, i)
    tmp = tmp_path / "rgb" / ".00000009.png.tmp"  # another writer's file in flight
    tmp.write_bytes(b"partial")
    (tmp_path / "manifest.jsonl").open("ab").write(b'{"id":7,"files":{"rgb":"rgb/00000007.png"}}\n')  # files gone
    before = (tmp_path / "manifest.jsonl").read_bytes()
    w = SharedDirWriter(tmp_path, META, background=False)
    assert w.completed_ids() == {0, 1, 2, 3}
    w.close()
    assert tmp.exists() and (tmp_path / "manifest.jsonl").read_bytes() == before
    # The repairing writer (single process) would have deleted both:
    DatasetWriter(tmp_path, META, background=False).close()
    assert not tmp.exists() and 7 not in read_manifest(tmp_path)


def test_torn_last_line_gets_a_newline_and_only_ids_filters(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path, META, background=False) as w:
        for i in range(6):
            write(w, i)
    (tmp_path / "manifest.jsonl").open("ab").write(b'{"id":6,"fi')  # killed mid-append
    w = SharedDirWriter(tmp_path, META, background=False, only_ids={1, 4, 6})
    assert w.completed_ids() == {1, 4}
    offset = manifest_size(tmp_path)
    write(w, 6)
    w.close()
    assert sorted(read_manifest(tmp_path)) == list(range(7))
    assert manifest_ids_since(tmp_path, offset) == {6}
    assert manifest_ids_since(tmp_path, 0) == set(range(7))
    assert SharedDirWriter(tmp_path, META, background=False, only_ids=()).completed_ids() == set()
