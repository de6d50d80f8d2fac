"""``torch.quasirandom``: the (optionally Owen-scrambled) Sobol engine, point for point as torch's.

The direction numbers are Joe and Kuo's ``new-joe-kuo-6.21201`` table (search criterion D(6)), the one torch
uses; ``_sobol_directions.npz`` holds each dimension's primitive polynomial and its initial numbers m_1..m_s
(byte planes, compressed). The rest of each dimension's 30 direction numbers follows from Bratley and Fox's
recurrence. Points are generated in Gray-code order, as torch does, so any run of draws matches torch's.
The engine always lives on the CPU (as torch's); its arithmetic is bit-level integer work in NumPy.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from ._core import dtype as D
from ._tensor import Tensor
from .ops import creation, shape
from .ops import random as _random

__all__ = ["SobolEngine"]


@functools.cache
def _directions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(polynomials, degrees, initial numbers concatenated), all int64; loaded once, on first use."""
    with np.load(Path(__file__).with_name("_sobol_directions.npz")) as z:
        poly, m = (z[k][0].astype(np.int64) | z[k][1].astype(np.int64) << 8 | z[k][2].astype(np.int64) << 16
                   for k in ("poly", "m"))
    deg = np.floor(np.log2(np.maximum(poly, 1))).astype(np.int64)
    return poly, deg, m


def _initial_state(dimension: int, maxbit: int) -> np.ndarray:
    """Direction numbers v[d, j] = m_j << (maxbit - 1 - j): dimension 0 is van der Corput's (all m_j = 1), the
    others take their m_1..m_s from the table and extend them with the polynomial's recurrence."""
    poly, deg, m = _directions()
    poly, deg = poly[:dimension], deg[:dimension]
    start = np.concatenate([[0], np.cumsum(deg)])[:dimension]
    rows = np.arange(dimension)
    v = np.ones((dimension, maxbit), np.int64)
    for j in range(maxbit):
        given = (j < deg) & (rows > 0)
        v[given, j] = m[start[given] + j]
        rec = (j >= deg) & (rows > 0)
        if rec.any():
            s, p = deg[rec], poly[rec]
            new = v[rec, j - s] ^ (v[rec, j - s] << s)
            for k in range(1, int(s.max())):
                tap = (k < s) & ((p >> np.maximum(s - k, 0)) & 1 == 1)
                new ^= np.where(tap, v[rec, j - k] << k, 0)
            v[rec, j] = new
    return v << np.arange(maxbit - 1, -1, -1)


def _rightmost_zero(n: np.ndarray) -> np.ndarray:
    """Index of the lowest 0 bit of each n (the Gray-code step from point n to n + 1)."""
    return np.log2((n + 1) & ~n).astype(np.int64)


def _gray(n: int) -> int:
    return n ^ (n >> 1)


class SobolEngine:
    r"""An engine for (scrambled) Sobol sequences, quasi-random points of low discrepancy in [0, 1)^dimension.

    Args:
        dimension (Int): The dimensionality of the sequence to be drawn (1 to 21201).
        scramble (bool, optional): Owen scrambling (random linear matrix scramble plus digital shift).
            Default: ``False``.
        seed (Int, optional): seed of the scrambling's generator; otherwise the global generator is used.
            Default: ``None``
    """

    MAXBIT = 30
    MAXDIM = 21201

    def __init__(self, dimension: int, scramble: bool = False, seed: int | None = None) -> None:
        if dimension > self.MAXDIM or dimension < 1:
            raise ValueError(f"Supported range of dimensionality for SobolEngine is [1, {self.MAXDIM}]")
        self.seed = seed
        self.scramble = scramble
        self.dimension = dimension
        self.sobolstate = creation.from_numpy(_initial_state(dimension, self.MAXBIT))
        if not self.scramble:
            self.shift = creation.zeros(self.dimension, dtype=D.int64)
        else:
            self._scramble()
        self.quasi = self.shift.clone()
        self._first_point = (self.quasi / 2**self.MAXBIT).reshape(1, -1)
        self.num_generated = 0

    def _points(self, n: int, index: int, dtype: Any) -> Tensor:
        """The n points after point ``index`` (the one ``quasi`` holds), as dtype; advances ``quasi``."""
        if dtype not in (D.float32, D.float64):   # torch's kernel is written for float and double
            raise NotImplementedError(f"\"_sobol_engine_draw\" not implemented for '{dtype._short}'")
        steps = self.sobolstate.numpy()[:, _rightmost_zero(np.arange(index, index + n, dtype=np.int64))]
        pts = np.bitwise_xor.accumulate(steps.T, axis=0) ^ self.quasi.numpy()
        if n > 0:
            self.quasi.copy_(creation.from_numpy(pts[-1]))
        return creation.tensor(pts * (1.0 / 2**self.MAXBIT), dtype=dtype).reshape(n, self.dimension)

    def draw(self, n: int = 1, out: Tensor | None = None, dtype: Any = None) -> Tensor:
        r"""Draw the next :attr:`n` points of the sequence, a tensor of shape ``(n, dimension)``."""
        if dtype is None:
            dtype = D.get_default_dtype()
        rows = n - 1 if self.num_generated == 0 else n   # the points torch's kernel is asked for
        if rows < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {rows}: [{rows}, {self.dimension}]")
        if self.num_generated == 0:
            result = self._first_point.to(dtype)
            if n > 1:
                result = shape.cat((result, self._points(n - 1, 0, dtype)), dim=-2)
        else:
            result = self._points(n, self.num_generated - 1, dtype)
        self.num_generated += n
        if out is not None:
            out.resize_as_(result).copy_(result)
            return out
        return result

    def draw_base2(self, m: int, out: Tensor | None = None, dtype: Any = None) -> Tensor:
        r"""Draw the next :attr:`2**m` points; the total drawn must stay a power of 2 (the sequence's balance)."""
        n = 2**m
        total_n = self.num_generated + n
        if total_n & (total_n - 1) != 0:
            raise ValueError("The balance properties of Sobol' points require n to be a power of 2. "
                             f"{self.num_generated} points have been previously generated, then: "
                             f"n={self.num_generated}+2**{m}={total_n}. If you still want to do this, please use "
                             "'SobolEngine.draw()' instead.")
        return self.draw(n=n, out=out, dtype=dtype)

    def reset(self) -> SobolEngine:
        r"""Return the engine to its initial state (the next draw starts again at the first point)."""
        self.quasi.copy_(self.shift)
        self.num_generated = 0
        return self

    def fast_forward(self, n: int) -> SobolEngine:
        r"""Skip :attr:`n` points, as drawing them would (one XOR: the Gray codes' difference selects the bits)."""
        index = max(self.num_generated - 1, 0)
        target = index + (n - 1 if self.num_generated == 0 else n)
        if target > index:
            flip = _gray(index) ^ _gray(target)
            cols = [b for b in range(flip.bit_length()) if flip >> b & 1]
            quasi = self.quasi.numpy() ^ np.bitwise_xor.reduce(self.sobolstate.numpy()[:, cols], axis=1)
            self.quasi.copy_(creation.from_numpy(quasi))
        self.num_generated += n
        return self

    def _scramble(self) -> None:
        """Random digital shift and lower-triangular linear scramble, drawn as torch draws them (same seed,
        same engine)."""
        g = None
        if self.seed is not None:
            g = _random.Generator()
            g.manual_seed(self.seed)
        shift_bits = _random.randint(2, (self.dimension, self.MAXBIT), generator=g).numpy()
        self.shift = creation.from_numpy(shift_bits @ (1 << np.arange(self.MAXBIT, dtype=np.int64)))
        ltm = np.tril(_random.randint(2, (self.dimension, self.MAXBIT, self.MAXBIT), generator=g).numpy())
        ltm[:, np.arange(self.MAXBIT), np.arange(self.MAXBIT)] = 1
        # bit (MAXBIT-1-p) of a scrambled number is the parity of row p of the matrix with the number's bits,
        # the matrix's column k meeting the number's bit MAXBIT-1-k
        state = self.sobolstate.numpy()
        bits = state[:, :, None] >> np.arange(self.MAXBIT - 1, -1, -1) & 1
        parity = np.einsum("djk,dpk->djp", bits, ltm) & 1
        self.sobolstate = creation.from_numpy(parity @ (1 << np.arange(self.MAXBIT - 1, -1, -1, dtype=np.int64)))

    def __repr__(self) -> str:
        fmt = [f"dimension={self.dimension}"]
        if self.scramble:
            fmt.append("scramble=True")
        if self.seed is not None:
            fmt.append(f"seed={self.seed}")
        return f"{type(self).__name__}({', '.join(fmt)})"
