"""The ``preference`` parquet: read back by ``datasets``, Pick-a-Pic v2 columns, seeded pair order."""

from __future__ import annotations

import io

import numpy as np
import pytest

from synth.dataset.formats.preference import PreferenceRow, pair_swapped, write_preference_parquet
from synth.dataset.imageio import encode_png

datasets = pytest.importorskip("datasets")


def _rows(n: int) -> list[PreferenceRow]:
    rows = []
    for k in range(n):
        good = np.full((8, 8, 3), 10 + k, np.uint8)
        bad = np.full((8, 8, 3), 200 - k, np.uint8)
        mask = np.zeros((8, 8), np.uint8)
        mask[2:4, 2:5] = 255
        rows.append(PreferenceRow(caption=f"a hand {k}", image_0=encode_png(good), image_1=encode_png(bad),
                                  label_0=1.0, label_1=0.0, image_0_uid=str(k), image_1_uid=f"{k}/twin",
                                  artifact_mask=encode_png(mask), defect_type="extra_finger",
                                  defect_description="six fingers"))
    return rows


def test_preference_loads_and_keeps_preferred_image(tmp_path):
    from PIL import Image

    rows = _rows(12)
    write_preference_parquet(rows, tmp_path, seed=3)
    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / "data" / "*.parquet"), split="train")
    assert ds.column_names[:5] == ["caption", "jpg_0", "jpg_1", "label_0", "label_1"]
    assert len(ds) == 12
    swapped = 0
    for r in ds:
        k = int(r["pair_id"].split("|")[0])
        # The preferred image (label 1) is always the correct one, whichever column holds it.
        best = r["jpg_0"] if r["label_0"] == 1.0 else r["jpg_1"]
        assert np.asarray(Image.open(io.BytesIO(best)))[0, 0, 0] == 10 + k
        assert {r["label_0"], r["label_1"]} == {0.0, 1.0}
        swapped += r["label_0"] == 0.0
        assert r["image_0_uid"] == (f"{k}/twin" if r["label_0"] == 0.0 else str(k))
        assert np.asarray(r["artifact_mask"]).sum() == 6 * 255
        assert r["defect_type"] == "extra_finger"
    assert 0 < swapped < 12  # the order is drawn, not fixed
    assert swapped == sum(pair_swapped(3, f"{k}|{k}/twin") for k in range(12))


def test_preference_order_is_seeded(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    write_preference_parquet(_rows(10), a, seed=5)
    write_preference_parquet(list(reversed(_rows(10)))[::-1], b, seed=5)
    write_preference_parquet(_rows(10), c, seed=6)
    fa = sorted((a / "data").glob("*.parquet"))
    assert fa and fa[0].read_bytes() == sorted((b / "data").glob("*.parquet"))[0].read_bytes()
    assert fa[0].read_bytes() != sorted((c / "data").glob("*.parquet"))[0].read_bytes()


def test_preference_rejects_bad_label(tmp_path):
    r = _rows(1)[0]
    bad = PreferenceRow(**{**r.__dict__, "label_0": 2.0})
    with pytest.raises(ValueError, match="label_0"):
        write_preference_parquet([bad], tmp_path, seed=0)
