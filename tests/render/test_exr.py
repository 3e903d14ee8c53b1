"""The EXR reader against files written by OpenCV (single part, ZIP and uncompressed)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
import cv2  # noqa: E402

from synth.render.exr import ExrError, read_exr  # noqa: E402


@pytest.mark.parametrize("compression", [cv2.IMWRITE_EXR_COMPRESSION_NO, cv2.IMWRITE_EXR_COMPRESSION_ZIP,
                                         cv2.IMWRITE_EXR_COMPRESSION_ZIPS])
def test_read_exr_matches_opencv(tmp_path, compression: int) -> None:
    rng = np.random.default_rng(1)
    img = rng.normal(size=(37, 53, 3)).astype(np.float32)
    p = tmp_path / "a.exr"
    assert cv2.imwrite(str(p), img, [cv2.IMWRITE_EXR_TYPE, cv2.IMWRITE_EXR_TYPE_FLOAT,
                                     cv2.IMWRITE_EXR_COMPRESSION, compression])
    ch = read_exr(p)
    assert set(ch) == {"R", "G", "B"}
    got = np.stack([ch["B"], ch["G"], ch["R"]], axis=-1)  # OpenCV stores BGR
    assert np.array_equal(got, img)


def test_not_an_exr(tmp_path) -> None:
    p = tmp_path / "x.exr"
    p.write_bytes(b"hello world")
    with pytest.raises(ExrError, match="not an OpenEXR"):
        read_exr(p)
