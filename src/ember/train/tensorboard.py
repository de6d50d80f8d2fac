"""A minimal TensorBoard event-file writer (scalars only): TFRecord framing + the few protobuf fields needed.

Written here rather than importing tensorboard/protobuf, so logging a scalar costs no heavy import.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from pathlib import Path

__all__ = ["EventWriter", "crc32c"]


def _table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum of TFRecord framing."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked(data: bytes) -> bytes:
    crc = crc32c(data)
    return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, wire: int, payload: bytes) -> bytes:
    key = _varint(number << 3 | wire)
    return key + (_varint(len(payload)) + payload if wire == 2 else payload)


def _event(step: int | None = None, version: str | None = None, scalars: dict[str, float] | None = None) -> bytes:
    """An ``Event`` message: wall_time (1), step (2), file_version (3) or summary (5) of simple_value scalars."""
    msg = _field(1, 1, struct.pack("<d", time.time()))
    if step is not None:
        msg += _field(2, 0, _varint(step))
    if version is not None:
        msg += _field(3, 2, version.encode())
    if scalars:
        values = b"".join(_field(1, 2, _field(1, 2, tag.encode()) + _field(2, 5, struct.pack("<f", v)))
                          for tag, v in scalars.items())
        msg += _field(5, 2, values)
    return msg


class EventWriter:
    """Appends scalar events to ``<folder>/events.out.tfevents.<time>.<host>``, readable by TensorBoard."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}"
        self._fh = self.path.open("ab")
        self._write(_event(version="brain.Event:2"))

    def _write(self, record: bytes) -> None:
        header = struct.pack("<Q", len(record))
        self._fh.write(header + _masked(header) + record + _masked(record))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def add_scalars(self, step: int, scalars: dict[str, float]) -> None:
        self._write(_event(step=step, scalars=scalars))

    def close(self) -> None:
        self._fh.close()
