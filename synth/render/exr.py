"""A small reader for the scanline OpenEXR files Blender writes (pure numpy + zlib).

Blender writes all render passes of one render into one multilayer EXR; neither OpenCV (which
reads only R/G/B/A/Y) nor the bpy wheel (no OpenImageIO module) reads channels by name, so this
module does. Supported: scanline images, channel types HALF/FLOAT/UINT, compression NONE, ZIPS
and ZIP (what ``exr_codec`` ``NONE``/``ZIP`` produce). Tiled and deep images are refused.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

_MAGIC = 20000630
_PIXEL_DTYPES = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}
_LINES_PER_BLOCK = {0: 1, 2: 1, 3: 16}


class ExrError(ValueError):
    """The file is not an EXR this reader supports."""


def _cstr(buf: bytes, pos: int) -> tuple[str, int]:
    end = buf.index(b"\0", pos)
    return buf[pos:end].decode("latin-1"), end + 1


def _parse_channels(data: bytes) -> list[tuple[str, int]]:
    out, pos = [], 0
    while data[pos] != 0:
        name, pos = _cstr(data, pos)
        ptype, _plinear, xs, ys = struct.unpack_from("<iB3xii", data, pos)
        pos += 16
        if xs != 1 or ys != 1:
            raise ExrError("sub-sampled channels are not supported")
        out.append((name, ptype))
    return out


def _unzip(raw: bytes, expected: int) -> bytes:
    """OpenEXR ZIP/ZIPS: zlib, then undo the delta predictor and the byte interleave."""
    t = np.frombuffer(zlib.decompress(raw), dtype=np.uint8)
    if t.size != expected:
        raise ExrError(f"corrupt ZIP block ({t.size} != {expected} bytes)")
    # Predictor: out[i] = out[i-1] + t[i] - 128 (mod 256), as a running sum.
    d = np.empty_like(t)
    acc = np.cumsum(t.astype(np.int64) - 128)
    d[0] = t[0]
    d[1:] = ((acc[1:] - acc[0] + int(t[0])) & 0xFF).astype(np.uint8)
    half = (t.size + 1) // 2
    out = np.empty_like(d)
    out[0::2] = d[:half]
    out[1::2] = d[half:]
    return out.tobytes()


def _read_header(buf: bytes, pos: int) -> tuple[dict[str, tuple[str, bytes]], int]:
    attrs: dict[str, tuple[str, bytes]] = {}
    while buf[pos] != 0:
        name, pos = _cstr(buf, pos)
        atype, pos = _cstr(buf, pos)
        size = struct.unpack_from("<i", buf, pos)[0]
        pos += 4
        attrs[name] = (atype, buf[pos:pos + size])
        pos += size
    return attrs, pos + 1


def read_exr(path: str | Path) -> dict[str, np.ndarray]:
    """Read every channel of a scanline EXR (single- or multi-part, as Blender 5 writes).

    Returns:
        ``{channel name: (H, W) array}`` (float32 for HALF/FLOAT, uint32 for UINT), e.g.
        ``"ViewLayer.Depth.Z"`` in a Blender multilayer file.
    """
    buf = Path(path).read_bytes()
    if len(buf) < 8 or struct.unpack_from("<i", buf, 0)[0] != _MAGIC:
        raise ExrError(f"{path}: not an OpenEXR file")
    version = struct.unpack_from("<i", buf, 4)[0]
    multipart = bool(version & 0x1000)
    if version & 0x200 or version & 0x800:
        raise ExrError(f"{path}: tiled or deep EXR files are not supported")
    pos = 8
    headers = []
    while True:
        attrs, pos = _read_header(buf, pos)
        headers.append(attrs)
        if not multipart or buf[pos] == 0:
            break
    if multipart:
        pos += 1
    layouts = []
    for attrs in headers:
        if multipart and attrs.get("type", ("", b""))[1].rstrip(b"\0") != b"scanlineimage":
            raise ExrError(f"{path}: only scanline parts are supported")
        channels = _parse_channels(attrs["channels"][1])
        comp = attrs["compression"][1][0]
        if comp not in _LINES_PER_BLOCK:
            raise ExrError(f"{path}: EXR compression {comp} is not supported (use NONE or ZIP)")
        x0, y0, x1, y1 = struct.unpack("<iiii", attrs["dataWindow"][1])
        lpb = _LINES_PER_BLOCK[comp]
        nblocks = (y1 - y0 + lpb) // lpb
        offsets = np.frombuffer(buf, dtype="<u8", count=nblocks, offset=pos)
        pos += 8 * nblocks
        layouts.append((channels, lpb, x0, y0, x1, y1, offsets))
    out: dict[str, np.ndarray] = {}
    hdr = 12 if multipart else 8
    for channels, lpb, x0, y0, x1, y1, offsets in layouts:
        W, H = x1 - x0 + 1, y1 - y0 + 1
        sizes = [_PIXEL_DTYPES[t].itemsize for _, t in channels]
        types = {t for _, t in channels}
        stride = hdr + W * sum(sizes)
        if (lpb == 1 and len(types) == 1 and len(offsets) == H and
                np.all(np.diff(offsets.astype(np.int64)) == stride) and int(offsets[0]) + H * stride <= len(buf)):
            # Uncompressed scanlines stored back to back in order: one strided view.
            blk = np.frombuffer(buf, dtype=np.uint8, count=H * stride, offset=int(offsets[0])).reshape(H, stride)
            ys = blk[:, hdr - 8:hdr - 4].copy().view("<i4")[:, 0]
            if np.array_equal(ys, np.arange(y0, y1 + 1)):
                px = blk[:, hdr:].copy().view(_PIXEL_DTYPES[types.pop()]).reshape(H, len(channels), W)
                for c, (name, t) in enumerate(channels):
                    out[name] = px[:, c].astype(np.float32 if t != 0 else np.uint32)
                continue
        part = {n: np.empty((H, W), dtype=np.float32 if t != 0 else np.uint32) for n, t in channels}
        for off in offsets:
            o = int(off) + (4 if multipart else 0)
            y, dsize = struct.unpack_from("<ii", buf, o)
            raw = buf[o + 8:o + 8 + dsize]
            nl = min(lpb, y1 + 1 - y)
            expected = nl * W * sum(sizes)
            data = raw if dsize == expected else _unzip(raw, expected)
            p = 0
            r0 = y - y0
            for line in range(nl):
                for (name, t), s in zip(channels, sizes, strict=True):
                    part[name][r0 + line] = np.frombuffer(data, dtype=_PIXEL_DTYPES[t], count=W, offset=p)
                    p += W * s
        out.update(part)
    return out
