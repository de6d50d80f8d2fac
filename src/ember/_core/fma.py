"""Fused multiply-add emulation: torch's CPU kernels (vectorised lerp, the optimizers' addcmul/lerp steps)
round ``a·b + c`` once; NumPy has no FMA, so the product is formed in a wider dtype where it is exact (or
nearly) and the sum rounded once on the way back."""

from __future__ import annotations

from typing import Any

import numpy as np

from .device import xp_of_array


def wide_dtype(a: Any) -> Any:
    """The dtype in which one multiply-add of ``a``'s dtype is (nearly always) exact: float32 → float64,
    float64 → extended precision on the CPU, 16-bit floats → float32; None for other dtypes."""
    if a.dtype == np.float32:
        return np.float64
    if a.dtype == np.float64:
        return np.longdouble if isinstance(a, np.ndarray) else None
    return np.float32 if a.dtype.itemsize == 2 and a.dtype.kind in "fV" else None


def multiply_wide(a: Any, b: Any, like: Any) -> Any:
    """``a·b`` as a new array in ``like``'s wide dtype (the exact product of an FMA). An array times a number
    is widened, then scaled in place: the same values, without NumPy's slower mixed-type loop."""
    wide = wide_dtype(like)
    if wide is None:
        return a * b
    if isinstance(b, (float, int, np.generic)) and hasattr(a, "astype"):
        acc = a.astype(wide)
        acc *= wide(b)
        return acc
    return xp_of_array(like).multiply(a, b, dtype=wide)


def _veltkamp(a: Any) -> tuple[Any, Any]:
    """Veltkamp's split of float64 values into high and low halves whose products are exact."""
    t = a * 134217729.0   # 2**27 + 1
    hi = t - (t - a)
    return hi, a - hi


def two_product(a: Any, b: Any) -> tuple[Any, Any]:
    """float64 ``a*b`` as its rounded value and the exact rounding error (Dekker)."""
    p = a * b
    (ah, al), (bh, bl) = _veltkamp(a), _veltkamp(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def add_product(p: Any, p_err: Any, c: Any) -> Any:
    """``(p + p_err) + c`` rounded once, for a product given exactly as :func:`two_product`'s pair: the sum
    (Knuth's two-sum) is carried exactly and only the low parts are rounded together."""
    h = p + c
    v = h - p
    t = h - v   # (after these three, the work is in place: fresh pages of large arrays are costly)
    np.subtract(p, t, out=t)
    np.subtract(c, v, out=v)
    t += v
    t += p_err
    h += t
    return h


def fused_multiply_add(a: Any, b: Any, c: Any) -> Any:
    """``a*b + c`` in float64 rounded once, as a fused multiply-add."""
    return add_product(*two_product(a, b), c)
