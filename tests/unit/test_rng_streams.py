"""synth.rng: one table of stream ids, the only place that seeds per-sample Generators."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from synth.rng import MAIN, STREAMS, stream

SYNTH = Path(__file__).resolve().parents[2] / "synth"


def test_stream_ids_are_unique_positive_and_not_main() -> None:
    ids = list(STREAMS.values())
    assert len(set(ids)) == len(ids), STREAMS
    assert all(isinstance(i, int) and i >= 1 for i in ids)
    assert MAIN not in STREAMS


def test_streams_are_the_documented_seed_sequences_and_independent() -> None:
    a = stream(3, 7).random(4)
    np.testing.assert_array_equal(a, np.random.default_rng(np.random.SeedSequence([3, 7])).random(4))
    for name, sid in STREAMS.items():
        b = stream(3, 7, name).random(4)
        np.testing.assert_array_equal(b, np.random.default_rng(np.random.SeedSequence([3, 7, sid])).random(4))
        assert not np.array_equal(a, b)
    with pytest.raises(KeyError):
        stream(3, 7, "no-such-stream")


def test_no_module_seeds_a_sample_stream_outside_the_table() -> None:
    """Every ``SeedSequence(...)`` in synth/ is in synth/rng.py (docstrings may mention it)."""
    offenders = []
    for p in SYNTH.rglob("*.py"):
        if p.name == "rng.py" and p.parent == SYNTH:
            continue
        for n, line in enumerate(p.read_text().splitlines(), 1):
            if re.search(r"np\.random\.SeedSequence\(|numpy\.random\.SeedSequence\(\[", line) and "``" not in line:
                offenders.append(f"{p.relative_to(SYNTH)}:{n}")
    assert not offenders, offenders
