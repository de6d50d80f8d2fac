"""CRC-32C (Castagnoli), as TFRecord framing needs it, without any compiled extension.

Short inputs (event headers, scalar events) go through a byte-at-a-time table loop. Long inputs (PNG images,
histograms) are cut into equal chunks whose CRCs are computed side by side with NumPy (one vectorised table
lookup per byte *position*, not per byte), then merged pairwise: the CRC register is linear over GF(2), so the
register after ``A || B`` is ``shift_{len(B)}(reg(A)) ^ reg(B)``, where ``shift_n`` (feeding ``n`` zero bytes) is
a 32x32 bit matrix applied as four 256-entry lookup tables.
"""

from __future__ import annotations

import numpy as np

_POLY = 0x82F63B78          # CRC-32C polynomial, bit-reflected
_MASK_DELTA = 0xA282EAD8    # TFRecord's mask constant


def _byte_table() -> np.ndarray:
    reg = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        reg = np.where(reg & 1, (reg >> 1) ^ np.uint32(_POLY), reg >> 1).astype(np.uint32)
    return reg


_TABLE = _byte_table()
_TABLE_LIST = _TABLE.tolist()
_BIT_OF_BYTE = ((np.arange(256)[:, None] >> np.arange(8)) & 1).astype(bool)   # [byte, bit]


def _shift_tables(columns: np.ndarray) -> np.ndarray:
    """Four byte tables (4, 256) applying the linear map whose image of bit ``i`` is ``columns[i]``."""
    cols = columns.reshape(4, 1, 8)
    return np.bitwise_xor.reduce(np.where(_BIT_OF_BYTE[None], cols, np.uint32(0)), axis=2)


def _apply(tables: np.ndarray, reg: np.ndarray) -> np.ndarray:
    return (tables[0][reg & 0xFF] ^ tables[1][(reg >> 8) & 0xFF]
            ^ tables[2][(reg >> 16) & 0xFF] ^ tables[3][reg >> 24])


def _zero_shift_tables(levels: int) -> list[np.ndarray]:
    """``out[p]`` applies the register map of feeding ``2**p`` zero bytes."""
    basis = np.uint32(1) << np.arange(32, dtype=np.uint32)
    one = _TABLE[basis & 0xFF] ^ (basis >> 8)          # one zero byte, applied to each basis bit
    out = [_shift_tables(one)]
    for _ in range(levels - 1):                        # shift_{2n} = shift_n ∘ shift_n
        out.append(_shift_tables(_apply(out[-1], _apply(out[-1], basis))))
    return out


_SHIFTS = _zero_shift_tables(40)
_VECTOR_MIN = 2048   # below this the plain loop is faster than NumPy's per-call overhead


def _crc_loop(data: bytes, reg: int) -> int:
    table = _TABLE_LIST
    for b in data:
        reg = table[(reg ^ b) & 0xFF] ^ (reg >> 8)
    return reg


def _crc_vector(data: bytes) -> int:
    n = len(data)
    log_chunk = max(int(n).bit_length() // 2 - 3, 2)      # fewer, wider NumPy steps: ~sqrt(n)/8 of them
    chunk = 1 << log_chunk
    count = 1 << (-(-n // chunk) - 1).bit_length()           # number of chunks, a power of two
    padded = np.zeros(count * chunk, dtype=np.uint8)
    padded[-n:] = np.frombuffer(data, dtype=np.uint8)
    padded[-n:][:4] ^= 0xFF       # an all-ones initial register == complementing the first four bytes
    columns = padded.reshape(count, chunk).T.astype(np.uint32)   # leading zero bytes keep a zero register zero
    reg = np.zeros(count, dtype=np.uint32)
    for col in columns:
        col ^= reg
        col &= 0xFF
        reg >>= 8
        reg ^= _TABLE[col]
    level = log_chunk
    while reg.size > 1:
        reg = _apply(_SHIFTS[level], reg[0::2]) ^ reg[1::2]
        level += 1
    return int(reg[0])


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` (initial register and final xor all ones, as iSCSI / TFRecord use)."""
    data = bytes(data)
    if len(data) < _VECTOR_MIN:
        return _crc_loop(data, 0xFFFFFFFF) ^ 0xFFFFFFFF
    return _crc_vector(data) ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC: rotate right by 15 bits, then add a constant (mod 2**32)."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF
