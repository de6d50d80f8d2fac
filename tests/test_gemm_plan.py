"""The cuBLAS call ember plans for products inside CUDA graph capture, executed by a NumPy emulation of
column-major ``cublasGemmStridedBatchedEx`` on the operands' raw memory, must equal ``a @ b`` for every
layout (contiguous, transposed, sliced, broadcast batch). Needs no GPU."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

from ember._core.gemm import plan


def _col_major(buf: np.ndarray, rows: int, cols: int, ld: int, trans: int) -> np.ndarray:
    """The column-major matrix at the start of ``buf`` (rows × cols, leading dim ld), transposed if asked."""
    item = buf.itemsize
    m = as_strided(buf, (rows, cols), (item, ld * item))
    return m.T if trans else m


def _emulate(p, first: np.ndarray, second: np.ndarray, first_stride: int, second_stride: int) -> np.ndarray:
    """The planned call's result read back row-major: per batch, column-major C (p.m × p.n) =
    op(first) @ op(second)."""
    out = np.empty((p.batch, p.n, p.m), first.dtype)   # row-major (rows of A) x (cols of B)
    for i in range(p.batch):
        fa = first[i * first_stride:]
        sa = second[i * second_stride:]
        f_rows, f_cols = (p.k, p.m) if p.trans_first else (p.m, p.k)
        s_rows, s_cols = (p.n, p.k) if p.trans_second else (p.k, p.n)
        c = _col_major(fa, f_rows, f_cols, p.ld_first, p.trans_first) @ \
            _col_major(sa, s_rows, s_cols, p.ld_second, p.trans_second)
        out[i] = c.T   # the column-major (n × m) C holds the row-major (m × n) product
    return out


LAYOUTS = ["contiguous", "transposed", "sliced", "padded_rows"]


def _make(rng: np.random.Generator, batch: int, rows: int, cols: int, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """A (batch, rows, cols) float64 array with the given memory layout, and its flat backing buffer."""
    if layout == "contiguous":
        buf = rng.standard_normal(batch * rows * cols)
        return as_strided(buf, (batch, rows, cols), (rows * cols * 8, cols * 8, 8)), buf
    if layout == "transposed":   # each matrix column-major (e.g. weight.T)
        buf = rng.standard_normal(batch * rows * cols)
        return as_strided(buf, (batch, rows, cols), (rows * cols * 8, 8, rows * 8)), buf
    if layout == "padded_rows":   # row stride larger than the row (a column slice of a wider matrix)
        buf = rng.standard_normal(batch * rows * (cols + 3))
        return as_strided(buf, (batch, rows, cols), (rows * (cols + 3) * 8, (cols + 3) * 8, 8)), buf
    buf = rng.standard_normal(batch * rows * cols * 2)   # every other column: needs a copy
    return as_strided(buf, (batch, rows, cols), (rows * cols * 16, cols * 16, 16)), buf


@pytest.mark.parametrize("la", LAYOUTS)
@pytest.mark.parametrize("lb", LAYOUTS)
@pytest.mark.parametrize("shape", [(1, 4, 3, 5), (3, 4, 3, 5), (2, 1, 6, 1), (2, 5, 1, 4), (1, 1, 1, 1)])
@pytest.mark.parametrize("broadcast", ["none", "a", "b"])
def test_planned_cublas_call_computes_the_product(la: str, lb: str, shape: tuple, broadcast: str) -> None:
    batch, m, k, n = shape
    rng = np.random.default_rng(0)
    ba = 1 if broadcast == "a" else batch
    bb = 1 if broadcast == "b" else batch
    a, abuf = _make(rng, ba, m, k, la)
    b, bbuf = _make(rng, bb, k, n, lb)
    p = plan(a.shape, tuple(s // 8 for s in a.strides), b.shape, tuple(s // 8 for s in b.strides))
    if la == "sliced" and m > 1 and k > 1 or lb == "sliced" and k > 1 and n > 1:
        assert p is None   # strided in both dims: ember copies to a contiguous array first
        return
    assert p is not None and p.batch == max(ba, bb)
    got = _emulate(p, bbuf, abuf, p.stride_first, p.stride_second)
    np.testing.assert_allclose(got, np.matmul(a, b), rtol=1e-12, atol=1e-12)
