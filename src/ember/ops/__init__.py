"""Every operator, one family per module; importing this package binds them as Tensor methods and
Python operators."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import (
    creation,
    elementwise,
    extra,
    indexing,
    lapack,
    linalg,
    matmul,
    random,
    reduction,
    shape,
    signal,
    sorting,
    special,
    tensor_storage,
    views,
)
from ._dispatch import Tensor, bind

E = elementwise
C = creation
_FAST_OPERANDS = frozenset((Tensor, int, float, bool, complex))
_OPERANDS = (Tensor, int, float, bool, complex)


def _operand_ok(other: Any) -> bool:
    """Whether a Python operator should handle ``other`` (tensors, numbers, NumPy scalars); anything else gets
    ``NotImplemented`` so the other operand's reflected method can run."""
    return type(other) in _FAST_OPERANDS or isinstance(other, _OPERANDS) or \
        hasattr(other, "dtype") and not hasattr(other, "__len__")


def _cmp(fn: Any, arrays: bool = False) -> Any:
    """A comparison operator; ``arrays`` (torch's == only): a numeric NumPy array is compared as a tensor."""
    def method(self: Tensor, other: Any) -> Any:
        if not _operand_ok(other):
            if not (arrays and isinstance(other, np.ndarray) and other.dtype.kind in "biufc"):
                return NotImplemented
            other = C.as_tensor(other)
        return fn(self, other)
    return method


def _binop(fn: Any, reflected: bool = False) -> Any:
    """An arithmetic operator (in-place ones too): ``NotImplemented`` for operands it does not take, as torch's."""
    def method(self: Tensor, other: Any) -> Any:
        if not _operand_ok(other):
            return NotImplemented
        return fn(other, self) if reflected else fn(self, other)
    return method


def _pow_method(pow2: Any) -> Any:
    """``__pow__``; three-argument ``pow(t, e, m)`` is not supported: NotImplemented (Python's TypeError, as
    torch)."""
    def method(self: Tensor, other: Any, modulo: Any = None) -> Any:
        return pow2(self, other) if modulo is None else NotImplemented
    return method


bind({
    "__add__": _binop(E._add), "__radd__": _binop(E._add), "__iadd__": _binop(E.add_),
    "__sub__": _binop(E._sub), "__rsub__": _binop(E._rsub1), "__isub__": _binop(E.sub_),
    "__mul__": _binop(E.mul), "__rmul__": _binop(E.mul), "__imul__": _binop(E.mul._inplace),
    "__truediv__": _binop(E.div), "__rtruediv__": _binop(lambda self, other: E.reciprocal(self) * other),
    "__itruediv__": _binop(E.div_),
    "__floordiv__": _binop(E._floor_div), "__rfloordiv__": _binop(E._floor_div, True),
    "__ifloordiv__": _binop(E._floor_div._inplace),
    "__mod__": _binop(E.remainder), "__rmod__": _binop(E.remainder, True), "__imod__": _binop(E.remainder._inplace),
    "__pow__": _pow_method(_binop(E.pow)), "__rpow__": _binop(E._pow, True), "__ipow__": _binop(E.pow_),
    "__and__": _binop(E.bitwise_and), "__rand__": _binop(E.bitwise_and), "__iand__": _binop(E.bitwise_and._inplace),
    "__or__": _binop(E.bitwise_or), "__ror__": _binop(E.bitwise_or), "__ior__": _binop(E.bitwise_or._inplace),
    "__xor__": _binop(E.bitwise_xor), "__rxor__": _binop(E.bitwise_xor), "__ixor__": _binop(E.bitwise_xor._inplace),
    "__lshift__": _binop(E.bitwise_left_shift), "__rlshift__": _binop(E.bitwise_left_shift, True),
    "__ilshift__": _binop(E.bitwise_left_shift._inplace),
    "__rshift__": _binop(E.bitwise_right_shift), "__rrshift__": _binop(E.bitwise_right_shift, True),
    "__irshift__": _binop(E.bitwise_right_shift._inplace),
    "__neg__": E.neg, "__pos__": E.positive, "__abs__": E.abs, "__invert__": E.invert,
    "__eq__": _cmp(E.eq, True), "__ne__": _cmp(E.ne), "__lt__": _cmp(E.lt), "__le__": _cmp(E.le),
    "__gt__": _cmp(E.gt), "__ge__": _cmp(E.ge),
    "add": E.add, "add_": E.add_, "sub": E.sub, "sub_": E.sub_, "subtract": E.sub, "subtract_": E.sub_,
    "div": E.div, "div_": E.div_, "divide": E.div, "divide_": E.div_,
    "true_divide": E.div, "true_divide_": E.div_, "multiply": E.mul, "multiply_": E.mul._inplace,
})
Tensor.__hash__ = object.__hash__  # type: ignore[assignment]

__all__ = ["creation", "elementwise", "extra", "indexing", "lapack", "linalg", "matmul", "random", "reduction",
           "shape", "signal", "sorting", "special", "tensor_storage", "views"]


def __getattr__(name: str) -> Any:
    """``ember.ops.<namespace>`` (torch.ops): the operators of a ``ember.library`` namespace; ``aten`` also
    reaches ember's built-in operators."""
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from ..library import OpNamespace
    return OpNamespace(name)
