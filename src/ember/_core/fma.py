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
    """``a·b`` as a new array in ``like``'s wide dtype (the exact product of an FMA)."""
    wide = wide_dtype(like)
    return xp_of_array(like).multiply(a, b, dtype=wide) if wide is not None else a * b


def _veltkamp(a: Any) -> tuple[Any, Any]:
    """Veltkamp's split of float64 values into high and low halves whose products are exact."""
    t = a * 134217729.0   # 2**27 + 1
    hi = t - (t - a)
    return hi, a - hi


def fused_multiply_add(a: Any, b: Any, c: Any) -> Any:
    """``a*b + c`` in float64 rounded once, as a fused multiply-add: the product (Dekker) and the sum (Knuth's
    two-sum) are carried exactly and only their low parts are rounded together."""
    p = a * b
    (ah, al), (bh, bl) = _veltkamp(a), _veltkamp(b)
    p_err = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    h = p + c
    v = h - p
    return h + (((p - (h - v)) + (c - v)) + p_err)
