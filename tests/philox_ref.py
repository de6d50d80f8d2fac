"""A NumPy reference of Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
SC'11), written from the paper's round function, to check ember's GPU generator against."""

from __future__ import annotations

import numpy as np

M0, M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
W0, W1 = np.uint32(0x9E3779B9), np.uint32(0xBB67AE85)
MASK = np.uint64(0xFFFFFFFF)


def philox4x32_10(ctr: np.ndarray, key: tuple[int, int]) -> np.ndarray:
    """Blocks for counters ``ctr`` (shape (n, 4), uint32) under ``key``; returns (n, 4) uint32."""
    c = [ctr[:, i].astype(np.uint64) for i in range(4)]
    k0, k1 = np.uint32(key[0]), np.uint32(key[1])
    with np.errstate(over="ignore"):
        for _ in range(10):
            p0, p1 = M0 * c[0], M1 * c[2]
            hi0, lo0 = p0 >> np.uint64(32), p0 & MASK
            hi1, lo1 = p1 >> np.uint64(32), p1 & MASK
            c = [hi1 ^ c[1] ^ np.uint64(k0), lo1, hi0 ^ c[3] ^ np.uint64(k1), lo0]
            k0, k1 = np.uint32(k0 + W0), np.uint32(k1 + W1)
    return np.stack(c, axis=1).astype(np.uint32)


def uniform64(seed: int, offset: int, n: int) -> np.ndarray:
    """ember's float64 uniform draw: counter ``offset + i`` in the low 64 bits, key = seed; 53 bits of
    words 0 and 1."""
    ctrs = (np.uint64(offset) + np.arange(n, dtype=np.uint64))
    ctr = np.zeros((n, 4), np.uint32)
    ctr[:, 0], ctr[:, 1] = ctrs & MASK, ctrs >> np.uint64(32)
    w = philox4x32_10(ctr, (seed & 0xFFFFFFFF, seed >> 32)).astype(np.uint64)
    return ((w[:, 0] << np.uint64(32) | w[:, 1]) >> np.uint64(11)).astype(np.float64) / 2.0**53
