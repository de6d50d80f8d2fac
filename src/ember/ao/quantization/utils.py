"""Small shared helpers of the quantization package: qscheme classes, integer ranges of quantized dtypes,
module-factory wrappers (``with_args``)."""

from __future__ import annotations

import functools
from typing import Any

from ..._core import dtype as D
from ..._core.warn import warn
from ...ops.quantize import (
    per_channel_affine,
    per_channel_affine_float_qparams,
    per_channel_symmetric,
    per_tensor_affine,
    per_tensor_symmetric,
)

__all__ = ["calculate_qmin_qmax", "validate_qmin_qmax", "check_min_max_valid", "is_per_tensor", "is_per_channel",
           "dtype_range"]


def is_per_tensor(qscheme: Any) -> bool:
    return qscheme is per_tensor_affine or qscheme is per_tensor_symmetric


def is_per_channel(qscheme: Any) -> bool:
    return qscheme in (per_channel_affine, per_channel_affine_float_qparams, per_channel_symmetric)


def _is_float_qparams(qscheme: Any) -> bool:
    return qscheme is per_channel_affine_float_qparams


def _is_symmetric_quant(qscheme: Any) -> bool:
    return qscheme in (per_tensor_symmetric, per_channel_symmetric)


def dtype_range(dtype: Any) -> tuple[int, int]:
    """The integers a (quantized) dtype holds, as ``torch.iinfo(dtype)`` gives them."""
    name = dtype.name
    if name in ("qint8", "int8"):
        return -128, 127
    if name in ("quint8", "uint8"):
        return 0, 255
    if name in ("qint32", "int32"):
        return -(2 ** 31), 2 ** 31 - 1
    if name == "int16":
        return -(2 ** 15), 2 ** 15 - 1
    if name == "uint16":
        return 0, 2 ** 16 - 1
    if name == "quint4x2":
        return 0, 15
    raise TypeError(f"{dtype} is not an integer dtype")


def _is(dtype: Any, *names: str) -> bool:
    return isinstance(dtype, D.dtype) and dtype.name in names


def validate_qmin_qmax(quant_min: int, quant_max: int) -> None:
    """A user-given range must contain 0 and be non-empty."""
    if not quant_min <= 0 <= quant_max:
        raise AssertionError("Used-specified quantization range must include 0.")
    if quant_min >= quant_max:
        raise AssertionError("qmin must be strictly less than qmax for user-specified quantization range.")


def calculate_qmin_qmax(quant_min: int | None, quant_max: int | None, has_customized_qrange: bool, dtype: Any,
                        reduce_range: bool) -> tuple[int, int]:
    """The effective integer range of an observer: the user's (halved with ``reduce_range``) or the dtype's
    8-bit default (7-bit with ``reduce_range``)."""
    if has_customized_qrange:
        lo, hi = (0, 2 ** 32 - 1) if _is(dtype, "qint32", "int32") else (0, 255)
        if quant_min is not None and quant_max is not None:
            lo, hi = quant_min, quant_max
        n = hi - lo + 1
        if _is(dtype, "qint8", "int8") and not 0 < n <= 256:
            raise AssertionError("quantization range should be positive and not exceed the maximum bit range (=256).")
        if _is(dtype, "qint32", "int32") and not 0 < n <= 2 ** 32:
            raise AssertionError(
                "quantization range should be positive and not exceed the maximum bit range (=4294967296).")
        if reduce_range:
            quant_min, quant_max = quant_min // 2, quant_max // 2
        return quant_min, quant_max
    if _is(dtype, "qint8", "int8"):
        return (-64, 63) if reduce_range else (-128, 127)
    if _is(dtype, "quint8", "uint8"):
        return (0, 127) if reduce_range else (0, 255)
    if _is(dtype, "qint32", "int32"):
        return -(2 ** 31), 2 ** 31 - 1
    if _is(dtype, "uint16"):
        return 0, 2 ** 16 - 1
    if _is(dtype, "int16"):
        return -(2 ** 15), 2 ** 15 - 1
    return 0, 15


def check_min_max_valid(min_val: Any, max_val: Any) -> bool:
    """Whether the observed range can give qparams (False, with torch's warning, before any observation)."""
    if min_val.numel() == 0 or max_val.numel() == 0:
        warn("must run observer before calling calculate_qparams. Returning default values.", stacklevel=2)
        return False
    if min_val.dim() == 0 or max_val.dim() == 0:
        if min_val == float("inf") and max_val == float("-inf"):
            warn("must run observer before calling calculate_qparams. Returning default values.",
                 stacklevel=2)
            return False
        if min_val > max_val:
            raise AssertionError(f"min {min_val} should be less than max {max_val}")
    elif bool((min_val > max_val).any()):
        raise AssertionError(f"min {min_val} should be less than max {max_val}")
    return True


class _PartialWrapper:
    """A constructor with bound keyword arguments (``Observer.with_args(...)``), printed as torch's."""

    def __init__(self, p: functools.partial) -> None:
        self.p = p
        self.callable_args: dict[str, Any] = {}

    def __call__(self, *args: Any, **keywords: Any) -> Any:
        for name, fn in self.callable_args.items():
            keywords.setdefault(name, fn())
        return self.p(*args, **keywords)

    def __repr__(self) -> str:
        return repr(self.p) + repr(self.callable_args)

    def with_args(self, **kwargs: Any) -> _PartialWrapper:
        return _with_args(self, **kwargs)

    def with_callable_args(self, **kwargs: Any) -> _PartialWrapper:
        result = _PartialWrapper(self.p)
        result.callable_args = {**self.callable_args, **kwargs}
        return result


def _with_args(cls_or_self: Any, **kwargs: Any) -> _PartialWrapper:
    """A factory that builds ``cls_or_self(**kwargs)`` anew on every call."""
    return _PartialWrapper(functools.partial(cls_or_self, **kwargs))


def _with_callable_args(cls_or_self: Any, **kwargs: Any) -> _PartialWrapper:
    """A factory whose keyword arguments are computed (by calling them) at construction time."""
    result = _PartialWrapper(functools.partial(cls_or_self))
    return result.with_callable_args(**kwargs)
