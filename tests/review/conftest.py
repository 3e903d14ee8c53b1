"""Fixtures for review tests: a small fake dataset (tests/dataset/synth_fake_render.py) and a
running review server on a free loopback port."""

from __future__ import annotations

import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "dataset"))
sys.path.insert(0, str(Path(__file__).parent))

from synth_fake_render import write_fake_dataset  # noqa: E402


@pytest.fixture(scope="session")
def _review_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("review") / "ds"
    write_fake_dataset(out, 30, seed=5, size=96)
    return out


@pytest.fixture
def review_ds(_review_master: Path, tmp_path: Path) -> Path:
    """A fresh copy of a 30-sample 96-px fake dataset."""
    dst = tmp_path / "ds"
    shutil.copytree(_review_master, dst)
    return dst


@pytest.fixture
def server(review_ds: Path) -> Iterator:
    """A review server for ``review_ds`` (reviewer ``alice``) on a free port, shut down after."""
    from synth.review.server import make_server

    srv = make_server(review_ds, "alice", port=0)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    t.join(5)
