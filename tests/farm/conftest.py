"""Fixtures for the farm tests: a tiny real job (64 px, 1 spp) and its single-process reference."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from synth.config import JobConfig

#: The tiny job every farm test renders: real renderer, 64 px, 1 sample per pixel, both hands.
TINY_JOB: dict[str, Any] = {
    "seed": 7,
    "count": 6,
    "render": {"resolution": 64, "samples": 1},
    "hand": {"side": "both"},
}


def tiny_cfg(out: Path | str, **changes: Any) -> JobConfig:
    data = json.loads(json.dumps(TINY_JOB))
    data.update(changes)
    data["out"] = str(out)
    return JobConfig.from_dict(data)


@pytest.fixture(scope="session")
def tiny_job_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("job") / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY_JOB))
    return path


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny job rendered by one process through the renderer's own ``run_job``."""
    from synth.farm.blas import blas_threads
    from synth.render.job import run_job

    out = tmp_path_factory.mktemp("reference") / "single"
    # One BLAS thread, as in the farm workers: otherwise float64 label values may differ in the
    # last bits with the core count (see synth.farm.blas).
    with blas_threads(1):
        stats = run_job(tiny_cfg(out))
    assert len(stats.written) == TINY_JOB["count"]
    return out


def manifest_lines(root: Path) -> list[str]:
    return (root / "manifest.jsonl").read_text().splitlines()


def assert_same_dataset(got: Path, ref: Path, ids: list[int] | None = None) -> None:
    """``got`` equals ``ref`` (restricted to ``ids``): the same manifest lines in id order (files,
    sha256, sizes), byte-identical files, and ``dataset.json`` equal except ``config.out``/``count``."""
    ref_lines = {json.loads(s)["id"]: s for s in manifest_lines(ref)}
    got_lines = manifest_lines(got)
    got_ids = [json.loads(s)["id"] for s in got_lines]
    want_ids = sorted(ref_lines) if ids is None else sorted(ids)
    assert sorted(got_ids) == want_ids, "not the same ids"
    assert len(got_ids) == len(set(got_ids)), "an id appears twice in the manifest"
    assert sorted(got_lines, key=lambda s: json.loads(s)["id"]) == [ref_lines[i] for i in want_ids]
    for i in want_ids:
        for rel in json.loads(ref_lines[i])["files"].values():
            assert (got / rel).read_bytes() == (ref / rel).read_bytes(), rel
    a, b = (json.loads((p / "dataset.json").read_text()) for p in (got, ref))
    for m in (a, b):
        m["config"].pop("out")
        m["config"].pop("count")
    assert a == b
