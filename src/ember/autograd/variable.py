"""The legacy ``Variable``: constructing one gives a Tensor (as in modern torch); every Tensor is an instance."""

from __future__ import annotations

from typing import Any

from .._core.device import CPU
from .._core.dtype import get_default_dtype
from .._core.warn import warn
from .._tensor import Tensor, zeros_of
from . import graph

__all__ = ["Variable"]


class _VariableMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor)


class _ExecutionEngine:
    """``Variable._execution_engine``: the backward engine's hooks that libraries (e.g. DDP) use."""

    @staticmethod
    def queue_callback(callback: Any) -> None:
        graph.queue_callback(callback)


class Variable(metaclass=_VariableMeta):
    """The legacy wrapper: ``Variable(t)`` gives a Tensor (as in modern torch) sharing ``t``'s memory and
    version counter, a leaf with ``requires_grad``; every Tensor is an instance."""

    _execution_engine = _ExecutionEngine()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = False, volatile: bool = False) -> Any:
        if volatile:
            warn("volatile was removed and now has no effect. Use `with torch.no_grad():` instead.",
                 UserWarning, stacklevel=2)
        if data is None:
            return zeros_of((0,), get_default_dtype(), CPU)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        t = data.detach()
        if requires_grad:
            if not (t._dtype.is_floating_point or t._dtype.is_complex):
                raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
            t._rg = True
        return t
