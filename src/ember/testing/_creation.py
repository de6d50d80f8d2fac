"""``torch.testing.make_tensor``: a tensor of a given shape, dtype and device filled with uniform random values,
drawn exactly as torch draws them (``randint`` for bool/integers, ``uniform_`` for floating and complex types), so
the same seed gives the same tensor."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .._core import dtype as D
from .._core.warn import warn
from .._tensor import Tensor
from ..ops.creation import empty
from ..ops.extra import view_as_real
from ..ops.random import randint

__all__ = ["make_tensor"]

_INTEGRAL = (D.uint8, D.int8, D.int16, D.int32, D.int64, D.uint16, D.uint32, D.uint64)
_FLOATING = (D.float16, D.bfloat16, D.float32, D.float64)
_COMPLEX = (D.complex64, D.complex128)


def _bounds(dtype: D.dtype, low: Any, high: Any, lowest: float, highest: float, default_low: float,
            default_high: float) -> tuple[Any, Any]:
    """The sampling interval ``[low, high)``: defaults filled in, validated, clamped to what ``dtype`` holds
    (``[lowest, highest)``), and for bool/integers rounded up to integers (``randint``'s ``high`` is exclusive)."""
    low = default_low if low is None else low
    high = default_high if high is None else high
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low!r} and high={high!r}")
    if low == high and dtype in _FLOATING + _COMPLEX:
        warn("Passing `low==high` to `torch.testing.make_tensor` for floating or complex types is "
             "deprecated since 2.1 and will be removed in 2.3. Use `torch.full(...)` instead.",
             FutureWarning, stacklevel=3)
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    elif high < lowest or low >= highest:
        raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), but {dtype} only "
                         f"supports [{lowest}, {highest})")
    low, high = min(max(low, lowest), highest), min(max(high, lowest), highest)
    if dtype is D.bool or dtype in _INTEGRAL:
        return math.ceil(low), math.ceil(high)
    return low, high


def make_tensor(*shape: int | Sequence[int], dtype: D.dtype, device: Any, low: float | None = None,
                high: float | None = None, requires_grad: bool = False, noncontiguous: bool = False,
                exclude_zero: bool = False, memory_format: Any = None) -> Tensor:
    """A tensor of ``shape`` with values drawn uniformly from ``[low, high)`` (defaults by dtype: bool [0, 2),
    unsigned [0, 10), signed integers [-9, 10), floating/complex [-9, 9); bounds clamped to the dtype's range).
    ``noncontiguous`` gives a strided view (every other element of a last dimension twice as long);
    ``exclude_zero`` replaces zeros by 1 (bool/integers) or the dtype's smallest normal number."""
    if len(shape) == 1 and isinstance(shape[0], Sequence):
        shape = tuple(shape[0])
    size = tuple(shape)
    if noncontiguous and memory_format is not None:
        raise ValueError(f"The parameters `noncontiguous` and `memory_format` are mutually exclusive, but got "
                         f"noncontiguous={noncontiguous!r} and memory_format={memory_format!r}")
    integral = dtype is D.bool or dtype in _INTEGRAL
    if requires_grad and integral:
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral dtypes, but got "
                         f"dtype={dtype!r}")
    noncontiguous = noncontiguous and math.prod(size) > 1
    if noncontiguous:   # twice as long a last dimension, so that the strided view's neighbours differ
        size = (*size[:-1], 2 * size[-1])
    if dtype is D.bool:
        low, high = _bounds(dtype, low, high, 0, 2, 0, 2)
        result = randint(low, high, size, device=device, dtype=dtype)
    elif dtype in _INTEGRAL:
        info = D.iinfo(dtype)   # randint's bounds pass through int64: 2**63 - 1 itself cannot be drawn
        low, high = _bounds(dtype, low, high, info.min, info.max + (dtype is not D.int64), -9, 10)
        result = randint(low, high, size, device=device, dtype=dtype)
    elif dtype in _FLOATING + _COMPLEX:
        info = D.finfo(dtype)
        low, high = _bounds(dtype, low, high, info.min, info.max, -9, 9)
        result = empty(size, device=device, dtype=dtype)
        target = view_as_real(result) if dtype in _COMPLEX else result
        if high - low >= info.max:   # uniform_ needs high - low to be finite in the dtype: draw half, double it
            target.uniform_(low / 2, high / 2).mul_(2)
        else:
            target.uniform_(low, high)
    else:
        raise TypeError(f"The requested dtype '{dtype}' is not supported by torch.testing.make_tensor(). To "
                        "request support, file an issue at: https://github.com/pytorch/pytorch/issues")
    if noncontiguous:
        result = result[..., 1::2]   # starting at 1 also exercises a storage offset
    elif memory_format is not None:
        result = result.clone(memory_format=memory_format)
    if exclude_zero:
        result[result == 0] = 1 if integral else D.finfo(dtype).tiny
    if not integral:
        result.requires_grad = requires_grad
    return result
