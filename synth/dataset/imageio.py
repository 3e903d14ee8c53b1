"""Image encoding and decoding for dataset files (OpenCV; PNG and float32 OpenEXR).

All arrays are in RGB channel order in memory; OpenCV's BGR order is only used on disk, so a
3-channel EXR (normals) stores x, y, z as the R, G, B channels that every EXR viewer shows.
"""

from __future__ import annotations

import os

# OpenCV refuses EXR IO unless this is set before its first use.
os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

_EXR_PARAMS = [cv2.IMWRITE_EXR_TYPE, cv2.IMWRITE_EXR_TYPE_FLOAT]
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 3]


class ImageDecodeError(ValueError):
    """A file does not decode as the image it claims to be."""


def _swap_rb(img: np.ndarray) -> np.ndarray:
    return img[..., ::-1] if img.ndim == 3 and img.shape[2] in (3, 4) else img


def encode_png(img: np.ndarray) -> bytes:
    """Encode an ``(H, W)`` or ``(H, W, 3|4)`` uint8/uint16 RGB(A) array as PNG bytes."""
    img = np.asarray(img)
    if img.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG needs uint8 or uint16 pixels, got {img.dtype}")
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(_swap_rb(img)), _PNG_PARAMS)
    if not ok:
        raise ValueError(f"could not encode a {img.shape} {img.dtype} array as PNG")
    return buf.tobytes()


def encode_exr(img: np.ndarray) -> bytes:
    """Encode an ``(H, W)`` or ``(H, W, 3)`` float array as float32 OpenEXR bytes."""
    img = np.asarray(img, dtype=np.float32)
    ok, buf = cv2.imencode(".exr", np.ascontiguousarray(_swap_rb(img)), _EXR_PARAMS)
    if not ok:
        raise ValueError(f"could not encode a {img.shape} array as EXR")
    return buf.tobytes()


def encode_image(img: np.ndarray) -> tuple[bytes, str]:
    """Encode by dtype: float -> (EXR bytes, ``".exr"``), integer -> (PNG bytes, ``".png"``)."""
    img = np.asarray(img)
    if np.issubdtype(img.dtype, np.floating):
        return encode_exr(img), ".exr"
    return encode_png(img), ".png"


def decode_image(data: bytes, what: str = "image") -> np.ndarray:
    """Decode PNG/EXR bytes to an array in RGB order (uint8/uint16 or float32).

    Raises:
        ImageDecodeError: when the bytes are not a complete image.
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    img = cv2.imdecode(arr, cv2.IMREAD_UNCHANGED) if arr.size else None
    if img is None:
        raise ImageDecodeError(f"{what} does not decode")
    return _swap_rb(img).copy() if img.ndim == 3 else img


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a PNG/EXR file to an array in RGB order (see :func:`decode_image`)."""
    with open(path, "rb") as f:
        return decode_image(f.read(), str(path))
