"""Protocol-buffer wire encoding, by hand, for the few TensorBoard messages the writer emits.

Each helper returns the bytes of one field (key + payload); a message is the concatenation of its fields in
field-number order, as protobuf's own serializer writes them. proto3 semantics: a scalar field equal to its
default is left out unless ``keep`` (a field with presence, e.g. a ``oneof`` member); sub-messages are always
written (setting one gives it presence). Field numbers live next to their use in ``summary.py``/``writer.py``.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable

import numpy as np

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


_ONE_BYTE = [bytes((i,)) for i in range(0x80)]


def varint(value: int) -> bytes:
    """Base-128 varint; negative numbers as their 64-bit two's complement (ten bytes), as protobuf does."""
    value = int(value)
    if 0 <= value < 0x80:
        return _ONE_BYTE[value]
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


@functools.cache
def _key(field: int, wire: int) -> bytes:
    return varint(field << 3 | wire)


def uint(field: int, value: int, keep: bool = False) -> bytes:
    """int32 / int64 / uint32 / bool / enum field."""
    value = int(value)
    return _key(field, _VARINT) + varint(value) if value or keep else b""


def double(field: int, value: float, keep: bool = False) -> bytes:
    raw = struct.pack("<d", float(value))
    return _key(field, _FIXED64) + raw if keep or raw != b"\0" * 8 else b""


def float32(field: int, value: float, keep: bool = False) -> bytes:
    raw = struct.pack("<f", float(value))
    return _key(field, _FIXED32) + raw if keep or raw != b"\0" * 4 else b""


def blob(field: int, data: bytes | str, keep: bool = False) -> bytes:
    """string / bytes field (left out when empty unless ``keep``)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return _key(field, _LENGTH) + varint(len(data)) + data if data or keep else b""


def message(field: int, body: bytes) -> bytes:
    """A set sub-message: written even when all its fields are defaults."""
    return blob(field, body, keep=True)


def strings(field: int, items: Iterable[bytes | str]) -> bytes:
    """A repeated string / bytes / sub-message field (one entry per element, empty ones included)."""
    return b"".join(blob(field, item, keep=True) for item in items)


def packed_double(field: int, values) -> bytes:
    arr = np.asarray(values, dtype="<f8").ravel()
    return blob(field, arr.tobytes())


def packed_float(field: int, values) -> bytes:
    arr = np.asarray(values, dtype="<f4").ravel()
    return blob(field, arr.tobytes())


def packed_varint(field: int, values: Iterable[int]) -> bytes:
    return blob(field, b"".join(varint(v) for v in values))
