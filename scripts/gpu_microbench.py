"""Per-call cost of the layers under one small GPU op (10 float32 elements): raw CuPy (ufunc, ufunc with
``out=``, ElementwiseKernel, RawKernel launch), ember and torch; where ember's per-op time goes on a GPU.

    python scripts/gpu_microbench.py
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def per_call(fn: Callable[[], Any], sync: Callable[[], Any], n: int = 3000) -> float:
    """Best-of-5 microseconds per call of ``fn`` (the GPU drained before and after each round)."""
    best = float("inf")
    for _ in range(5):
        sync()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        sync()
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6


def main() -> None:
    import cupy as cp
    import torch

    import ember
    sync = cp.cuda.runtime.deviceSynchronize
    a, b, c = cp.ones(10, cp.float32), cp.ones(10, cp.float32), cp.empty(10, cp.float32)
    add_kernel = cp.ElementwiseKernel("T x, T y", "T z", "z = x + y", "micro_add")
    raw = cp.RawKernel(r'extern "C" __global__ void micro_raw(const float* x, const float* y, float* z, int n)'
                       r'{ int i = threadIdx.x; if (i < n) z[i] = x[i] + y[i]; }', "micro_raw")
    n10 = cp.int32(10)
    e1, e2 = ember.ones(10, device="cuda"), ember.ones(10, device="cuda")
    t1, t2 = torch.ones(10, device="cuda"), torch.ones(10, device="cuda")
    rows = {
        "cupy a + b": lambda: a + b,
        "cupy add(a, b, out=c)": lambda: cp.add(a, b, out=c),
        "cupy ElementwiseKernel(a, b, c)": lambda: add_kernel(a, b, c),
        "cupy RawKernel launch": lambda: raw((1,), (32,), (a, b, c, n10)),
        "cupy empty(10)": lambda: cp.empty(10, cp.float32),
        "ember x + y": lambda: e1 + e2,
        "torch x + y": lambda: t1 + t2,
    }
    for name, fn in rows.items():
        print(f"{name:34s} {per_call(fn, sync):7.2f} µs")


if __name__ == "__main__":
    main()
