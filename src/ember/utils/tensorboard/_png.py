"""A minimal PNG encoder (8-bit grey, grey+alpha, RGB, RGBA; not interlaced), so images need no Pillow.

Each row is filtered with the one of PNG's five filters whose output, read as signed bytes, has the smallest
absolute sum (libpng's heuristic, as Pillow uses), then the whole image is deflated by zlib at level 6.
All five candidates depend only on the raw pixels, so they are computed for the whole image at once in NumPy.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["encode_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}     # channels -> grey, grey+alpha, RGB, RGBA


def _chunk(kind: bytes, data: bytes) -> bytes:
    """length | type | data | CRC-32 of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _filtered_rows(img: np.ndarray) -> bytes:
    """The image's scanlines, each prefixed by its filter type byte (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth)."""
    h, w, c = img.shape
    x = img.reshape(h, w * c)
    left, up, up_left = (np.zeros_like(x) for _ in range(3))
    left[:, c:] = x[:, :-c]
    up[1:] = x[:-1]
    up_left[1:, c:] = x[:-1, :-c]
    a, b, d = (v.astype(np.int16) for v in (left, up, up_left))
    p_left, p_up, p_up_left = np.abs(b - d), np.abs(a - d), np.abs(a + b - 2 * d)   # |p - a| etc., p = a + b - d
    paeth = np.where(p_up <= p_up_left, up, up_left)
    np.copyto(paeth, left, where=(p_left <= p_up) & (p_left <= p_up_left))
    average = ((a + b) >> 1).astype(np.uint8)
    candidates = np.stack([x, x - left, x - up, x - average, x - paeth])          # uint8: differences mod 256
    cost = np.minimum(candidates, 0 - candidates).sum(axis=2, dtype=np.int32)   # sum of |byte read as signed|
    best = cost.argmin(axis=0)
    return np.concatenate([best.astype(np.uint8)[:, None], candidates[best, np.arange(h)]], axis=1).tobytes()


def encode_png(img: np.ndarray) -> bytes:
    """PNG bytes of a uint8 (H, W, C) array, C in 1..4 (errors as Pillow's for other shapes)."""
    h, w, c = img.shape
    if c not in _COLOR_TYPE:
        raise TypeError(f"Cannot handle this data type: (1, 1, {c}), |u1")
    if h == 0 or w == 0:
        raise ValueError("cannot write empty image")
    # width, height, bit depth, colour type, compression (deflate), filter method, interlace (none)
    header = struct.pack(">IIBBBBB", w, h, 8, _COLOR_TYPE[c], 0, 0, 0)
    idat = zlib.compress(_filtered_rows(np.ascontiguousarray(img, dtype=np.uint8)), 6)
    return _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
