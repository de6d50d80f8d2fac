"""var/std/var_mean/std_mean as torch computes them on the CPU, bit for bit: float32 and 16-bit data accumulate in
double (Welford) and round once; a float32/float64 reduction to one value is torch's all-reduce (its mean in the
data's type, then the squared deviations added in double in order, a run per thread); complex inputs add the
parts' variances in the part type."""

from __future__ import annotations

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

CASES = [((10,), None), ((1000,), None), ((64, 33), 1), ((64, 33), 0), ((40000,), None), ((3, 5, 7), (0, 2)),
         ((5, 1), 1)]


def _pair(values: np.ndarray, dtype: str) -> tuple:
    if dtype == "complex64":
        re, im = values, values[::-1].copy()
        return torch.complex(torch.from_numpy(re), torch.from_numpy(im)), ember.complex(ember.from_numpy(re),
                                                                                         ember.from_numpy(im))
    return torch.from_numpy(values).to(getattr(torch, dtype)), ember.from_numpy(values).to(getattr(ember, dtype))


def _same(x: object, y: object) -> bool:
    wide_t = torch.complex128 if x.is_complex() else torch.float64
    wide_e = ember.complex128 if y.is_complex() else ember.float64
    return str(x.dtype) == str(y.dtype) and np.array_equal(x.to(wide_t).numpy(), y.to(wide_e).numpy(),
                                                           equal_nan=True)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "complex64"])
def test_low_precision_moments_bit_for_bit(dtype):
    rng = np.random.default_rng(0)
    fns = ["var", "var_mean"] if dtype == "complex64" else ["var", "std", "var_mean", "std_mean"]   # (complex std:
    for shape, dim in CASES:                                      # torch roots in float32 with MKL's vector sqrt)
        t, e = _pair((rng.standard_normal(shape) * 3 + 5).astype(np.float32), dtype)
        for fn in fns:
            for correction in (0, 1):
                kw = {} if dim is None else {"dim": dim}
                expected = getattr(torch, fn)(t, correction=correction, **kw)
                got = getattr(ember, fn)(e, correction=correction, **kw)
                pairs = zip(expected, got, strict=True) if isinstance(got, tuple) else [(expected, got)]
                assert all(_same(x, y) for x, y in pairs), (fn, shape, dim, correction)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_float64_all_reduce_bit_for_bit(threads):
    rng = np.random.default_rng(threads)
    previous = torch.get_num_threads(), ember.get_num_threads()
    torch.set_num_threads(threads)
    ember.set_num_threads(threads)
    try:
        for n in (10, 1000, 70001):
            a = rng.standard_normal(n) * 3 + 5
            for fn in ("var", "std"):
                assert getattr(torch, fn)(torch.from_numpy(a)).item() == getattr(ember, fn)(ember.from_numpy(a)).item()
    finally:
        torch.set_num_threads(previous[0])
        ember.set_num_threads(previous[1])
