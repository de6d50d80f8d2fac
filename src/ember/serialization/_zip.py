"""The zip container of torch checkpoints: a writer laying files out byte for byte as torch's, and
bounded readers for the entries of any zip (stored or deflated, aligned or not).

Writer layout (torch's miniz writer): stored entries, general-purpose flags 0x0808 (data descriptor,
UTF-8 names), zero times, an ``FB`` extra field padding each entry so its data starts at a multiple of
64, ZIP64 extra fields for entries or offsets past 4 GiB, and ZIP64 end records always.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from typing import Any, BinaryIO

import numpy as np

__all__ = ["ZipWriter", "EntryReader", "CorruptZip"]

ALIGNMENT = 64
_U32 = 0xFFFFFFFF  # the placeholder of 32-bit fields whose value is in a ZIP64 record
_ZIP64_AT = _U32  # sizes and offsets from here on need ZIP64 records
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_MAX_DEFLATE_RATIO = 1032  # deflate cannot expand more than this: larger declared sizes are lies
_CHUNK = 1 << 26


class CorruptZip(zipfile.BadZipFile, RuntimeError):
    """A checkpoint zip that cannot be read: a :class:`zipfile.BadZipFile` that is also the ``RuntimeError``
    torch's zip reader raises."""


class ZipWriter:
    """Writes entries ``<archive>/<name>`` to ``f`` as torch does; :meth:`close` writes the directory."""

    def __init__(self, f: BinaryIO, archive: str) -> None:
        self.f = f
        self.prefix = archive + "/"
        self.pos = 0
        self.central: list[bytes] = []

    def _write(self, data: Any) -> None:
        self.f.write(data)
        self.pos += memoryview(data).nbytes

    def write_record(self, name: str, data: Any) -> None:
        """Write one entry; ``data`` is bytes or a flat uint8 array (written without a copy)."""
        fname = (self.prefix + name).encode("utf-8")
        size = len(data) if isinstance(data, bytes) else int(data.nbytes)
        offset = self.pos
        big_size, big_offset = size >= _ZIP64_AT, offset >= _ZIP64_AT
        fields = (struct.pack("<QQ", size, size) if big_size else b"") + (
            struct.pack("<Q", offset) if big_offset else b""
        )
        zip64 = struct.pack("<HH", 1, len(fields)) + fields if fields else b""
        start = offset + _LOCAL.size + len(fname) + len(zip64) + 4
        pad = -start % ALIGNMENT
        extra = zip64 + b"FB" + struct.pack("<H", pad) + b"Z" * pad
        self._write(_LOCAL.pack(b"PK\x03\x04", 0, 0x0808, 0, 0, 0, 0, 0, 0, len(fname), len(extra)))
        self._write(fname + extra)
        crc = 0
        view = memoryview(data)
        for i in range(0, size, _CHUNK):
            chunk = view[i : i + _CHUNK]
            crc = zlib.crc32(chunk, crc)
            self._write(chunk)
        if size > 0:
            wide = big_size or big_offset
            self._write(struct.pack("<4sIQQ" if wide else "<4sIII", b"PK\x07\x08", crc, size, size))
        self.central.append(
            _CENTRAL.pack(
                b"PK\x01\x02",
                0,
                0,
                0x0808,
                0,
                0,
                0,
                crc,
                _U32 if big_size else size,
                _U32 if big_size else size,
                len(fname),
                len(zip64),
                0,
                0,
                0,
                0,
                _U32 if big_offset else offset,
            )
            + fname
            + zip64
        )

    def close(self) -> None:
        """Write the central directory and the (ZIP64) end records."""
        cd_offset = self.pos
        for entry in self.central:
            self._write(entry)
        cd_size, n = self.pos - cd_offset, len(self.central)
        eocd64 = self.pos
        self._write(
            struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 0x031E, 0x2D, 0, 0, n, n, cd_size, cd_offset)
        )
        self._write(struct.pack("<4sIQI", b"PK\x06\x07", 0, eocd64, 1))
        self._write(
            struct.pack(
                "<4sHHHHIIH",
                b"PK\x05\x06",
                0,
                0,
                min(n, 0xFFFF),
                min(n, 0xFFFF),
                _U32 if cd_size >= _ZIP64_AT else cd_size,
                _U32 if cd_offset >= _ZIP64_AT else cd_offset,
                0,
            )
        )
        self.f.flush()


class EntryReader:
    """Reads entries of a zip opened by :mod:`zipfile`, refusing sizes the file cannot back."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        try:
            self.zf = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, EOFError, ValueError) as e:   # (UnicodeDecodeError is a ValueError)
            raise CorruptZip(f"failed reading zip archive: {e}") from None
        self.file_size = f.seek(0, 2)
        self.infos = {i.filename: i for i in self.zf.infolist()}

    def info(self, name: str) -> zipfile.ZipInfo:
        try:
            return self.infos[name]
        except KeyError:
            raise RuntimeError(f"failed locating file {name}: file not found (the checkpoint has no such entry)") \
                from None

    def data_offset(self, info: zipfile.ZipInfo) -> int:
        """Where the entry's (stored) bytes start in the file, checked against the file's size."""
        self.f.seek(info.header_offset)
        header = self.f.read(_LOCAL.size)
        if len(header) != _LOCAL.size or header[:4] != b"PK\x03\x04":
            raise CorruptZip(f"bad local header offset for entry {info.filename!r}")
        n_name, n_extra = struct.unpack("<HH", header[26:30])
        if self.f.read(n_name).decode("utf-8", "replace") != info.filename:
            raise CorruptZip(f"local header name does not match directory entry {info.filename!r}")
        offset = info.header_offset + _LOCAL.size + n_name + n_extra
        if offset + info.compress_size > self.file_size:
            raise CorruptZip(
                f"entry {info.filename!r} runs past the end of the file (truncated or corrupt checkpoint)"
            )
        return offset

    def validate(self, info: zipfile.ZipInfo) -> int | None:
        """Refuse unknown compression and sizes the file cannot back; returns a stored entry's data offset."""
        if info.compress_type == zipfile.ZIP_STORED:
            if info.file_size != info.compress_size:
                raise CorruptZip(
                    f"stored entry {info.filename!r} declares {info.file_size} bytes but holds "
                    f"{info.compress_size}"
                )
            return self.data_offset(info)
        if info.compress_type != zipfile.ZIP_DEFLATED:
            raise CorruptZip(
                f"entry {info.filename!r} uses unsupported compression method {info.compress_type}"
            )
        if info.file_size > info.compress_size * _MAX_DEFLATE_RATIO + 64:
            raise CorruptZip(
                f"entry {info.filename!r} declares {info.file_size} bytes from {info.compress_size} "
                "compressed bytes, beyond what deflate can produce (zip bomb?)"
            )
        self.data_offset(info)
        return None

    def read_into(self, info: zipfile.ZipInfo, out: np.ndarray, offset: int | None) -> None:
        """Fill the uint8 array ``out`` with the entry's bytes (``offset`` as :meth:`validate` gave)."""
        view = memoryview(out)
        src: Any = self.f
        if offset is None:
            try:
                src = self.zf.open(info)
            except zipfile.BadZipFile as e:
                raise CorruptZip(f"failed reading entry {info.filename!r}: {e}") from None
        else:
            self.f.seek(offset)
        got = 0
        while got < out.nbytes:
            try:
                n = src.readinto(view[got : got + _CHUNK])
            except (zlib.error, zipfile.BadZipFile) as e:   # (a bad CRC, say)
                raise CorruptZip(f"corrupt compressed data in entry {info.filename!r}: {e}") from None
            if not n:
                raise CorruptZip(f"checkpoint truncated inside entry {info.filename!r}")
            got += n

    def read(self, name: str) -> bytes:
        """The whole (small) entry ``name``."""
        info = self.info(name)
        offset = self.validate(info)
        out = np.empty(info.file_size, np.uint8)
        self.read_into(info, out, offset)
        return out.tobytes()
