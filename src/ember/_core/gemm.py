"""Matrix products of backend arrays, and the cuBLAS path used while a CUDA graph is being captured.

Every array-level product in ember goes through :func:`matmul`: NumPy's or CuPy's ``matmul`` normally.
CuPy refuses to call cuBLAS while a stream captures a graph, so during capture (``ember.cuda.graphs``
sets ``device.CAPTURING``) products run on a cuBLAS handle of ember's own, called through ctypes:
``cublasGemmStridedBatchedEx`` on the arrays' memory, with operand layouts planned by :func:`plan` so that
transposed views need no copy.
"""

from __future__ import annotations

import ctypes
from typing import Any, NamedTuple

import numpy as np

from .device import CAPTURING

__all__ = ["matmul", "plan", "GemmPlan", "prepare_capture"]

_OP_N, _OP_T = 0, 1
_CUDA_TYPES = {np.dtype(np.float32): 0, np.dtype(np.float64): 1, np.dtype(np.float16): 2}
_COMPUTE_32F, _COMPUTE_32F_FAST_TF32, _COMPUTE_64F = 68, 77, 70


def matmul(xp: Any, a: Any, b: Any, out: Any = None) -> Any:
    """``a @ b`` (NumPy's matmul semantics) on ``xp``, into ``out`` when given; through ember's cuBLAS
    handle while capturing."""
    if xp is np or not CAPTURING[0]:
        return xp.matmul(a, b) if out is None else xp.matmul(a, b, out=out)
    res = _captured_matmul(xp, a, b)
    if out is None:
        return res
    out[...] = res
    return out


class GemmPlan(NamedTuple):
    """One column-major ``cublasGemmStridedBatchedEx`` computing row-major ``C = A @ B`` as ``Cᵀ = Bᵀ Aᵀ``:
    operand order (B first), transposes, sizes, leading dimensions and batch strides, all in elements."""

    trans_first: int
    trans_second: int
    m: int
    n: int
    k: int
    ld_first: int
    stride_first: int
    ld_second: int
    stride_second: int
    batch: int


def _layout(rows: int, cols: int, s_row: int, s_col: int) -> tuple[bool, int] | None:
    """How a (rows × cols) matrix with element strides (s_row, s_col) reads as column-major memory:
    (False, ld) when row-major (the memory is its transpose), (True, ld) when column-major, None when
    neither (it must be copied first)."""
    if (s_col == 1 or cols == 1) and (rows == 1 or s_row >= cols):
        return False, s_row if rows > 1 else max(cols, 1)
    if (s_row == 1 or rows == 1) and (cols == 1 or s_col >= rows):
        return True, s_col if cols > 1 else max(rows, 1)
    return None


def plan(a_shape: tuple[int, int, int], a_strides: tuple[int, int, int], b_shape: tuple[int, int, int],
         b_strides: tuple[int, int, int]) -> GemmPlan | None:
    """The cuBLAS call for batched ``a @ b`` (3-d shapes, element strides; a batch of 1 broadcasts with
    stride 0), or None when an operand's layout needs a copy first."""
    (ba, m, k), (bb, _, n) = a_shape, b_shape
    la = _layout(m, k, a_strides[1], a_strides[2])
    lb = _layout(k, n, b_strides[1], b_strides[2])
    if la is None or lb is None or min(a_strides + b_strides) < 0:
        return None
    batch = max(ba, bb)
    return GemmPlan(_OP_T if lb[0] else _OP_N, _OP_T if la[0] else _OP_N, n, m, k,
                    lb[1], b_strides[0] if bb > 1 else 0, la[1], a_strides[0] if ba > 1 else 0, batch)


class _Cublas:
    """ember's own cuBLAS handle (with a fixed workspace, so no allocation happens inside a capture)."""

    def __init__(self, cp: Any) -> None:
        cp.cuda.device.get_cublas_handle()   # makes CuPy load libcublas into the process
        with open("/proc/self/maps") as maps:
            path = next(line.split()[-1] for line in maps if "/libcublas.so" in line)
        lib = ctypes.CDLL(path)
        vp, i32, i64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_longlong
        lib.cublasGemmStridedBatchedEx.argtypes = [vp, i32, i32, i32, i32, i32, vp, vp, i32, i32, i64, vp, i32,
                                                   i32, i64, vp, vp, i32, i32, i64, i32, i32, i32]
        lib.cublasSetStream_v2.argtypes = [vp, vp]
        lib.cublasSetWorkspace_v2.argtypes = [vp, vp, ctypes.c_size_t]
        self.lib, self.handle = lib, vp()
        self._check(lib.cublasCreate_v2(ctypes.byref(self.handle)), "cublasCreate")
        self.workspace = cp.empty(32 << 20, cp.uint8)
        self._check(lib.cublasSetWorkspace_v2(self.handle, self.workspace.data.ptr, self.workspace.nbytes),
                    "cublasSetWorkspace")

    @staticmethod
    def _check(status: int, what: str) -> None:
        if status != 0:
            raise RuntimeError(f"CUDA error: {what} failed with cuBLAS status {status}")

    def gemm(self, cp: Any, p: GemmPlan, first: Any, second: Any, out: Any) -> None:
        dt = out.dtype
        if dt == np.float64:
            compute, alpha, beta = _COMPUTE_64F, ctypes.c_double(1.0), ctypes.c_double(0.0)
        else:
            from ..backends._precision import allow_tf32
            compute = _COMPUTE_32F_FAST_TF32 if dt == np.float32 and allow_tf32() else _COMPUTE_32F
            alpha, beta = ctypes.c_float(1.0), ctypes.c_float(0.0)
        ctype = _CUDA_TYPES[dt]
        self._check(self.lib.cublasSetStream_v2(self.handle, cp.cuda.get_current_stream().ptr), "cublasSetStream")
        self._check(self.lib.cublasGemmStridedBatchedEx(
            self.handle, p.trans_first, p.trans_second, p.m, p.n, p.k, ctypes.byref(alpha),
            first.data.ptr, ctype, p.ld_first, p.stride_first, second.data.ptr, ctype, p.ld_second,
            p.stride_second, ctypes.byref(beta), out.data.ptr, ctype, p.m, p.m * p.n, p.batch, compute, -1),
            "cublasGemmStridedBatchedEx")


_handles: dict[int, _Cublas] = {}


def prepare_capture(cp: Any) -> None:
    """Create the current GPU's handle before a capture starts (creation may allocate)."""
    dev = cp.cuda.runtime.getDevice()
    if dev not in _handles:
        _handles[dev] = _Cublas(cp)


def _as3d(cp: Any, x: Any, batch: tuple) -> Any:
    """``x`` as (B, rows, cols): its batch dims folded (B = 1 when it has none to broadcast)."""
    if x.ndim == 2:
        return x[None]
    if x.shape[:-2] != batch:
        x = cp.broadcast_to(x, batch + x.shape[-2:])
    return x.reshape(-1, *x.shape[-2:])   # a view when the batch dims fold, else a copy


def _plan_arrays(a3: Any, b3: Any) -> GemmPlan | None:
    """:func:`plan` for two 3-d arrays (their byte strides in elements)."""
    item = a3.dtype.itemsize
    return plan(a3.shape, tuple(s // item for s in a3.strides), b3.shape, tuple(s // item for s in b3.strides))


def _captured_matmul(cp: Any, a: Any, b: Any) -> Any:
    if a.dtype != b.dtype or a.dtype not in _CUDA_TYPES:
        raise RuntimeError(f"CUDA graph capture: ember's cuBLAS path multiplies float16/32/64 matrices of one "
                           f"dtype, got {a.dtype} and {b.dtype}")
    va, vb = a.ndim == 1, b.ndim == 1
    a2 = a[None] if va else a
    b2 = b[:, None] if vb else b
    batch = tuple(np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]))
    a3, b3 = _as3d(cp, a2, batch), _as3d(cp, b2, batch)
    m, k, n = a3.shape[1], a3.shape[2], b3.shape[2]
    nb = int(np.prod(batch)) if batch else 1
    out = cp.empty((nb, m, n), a.dtype)
    if out.size and k == 0:
        out.fill(0)
    elif out.size:
        p = _plan_arrays(a3, b3)
        if p is None:
            a3, b3 = cp.ascontiguousarray(a3), cp.ascontiguousarray(b3)
            p = _plan_arrays(a3, b3)
        _handles[cp.cuda.runtime.getDevice()].gemm(cp, p, b3, a3, out)
    out = out.reshape(batch + (m, n))
    if va:
        out = out[..., 0, :]
    if vb:
        out = out[..., 0]
    return out
