"""Padding modules: constant (zero), reflection, replication and circular padding in 1d/2d/3d."""

from __future__ import annotations

from typing import Any

from ..._tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = [
    "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
    "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
    "CircularPad1d", "CircularPad2d", "CircularPad3d",
]


def _pads(padding: Any, n: int) -> tuple[int, ...]:
    """An int pads every side; a tuple is (left, right[, top, bottom[, front, back]])."""
    return tuple(padding) if isinstance(padding, (list, tuple)) else (padding,) * (2 * n)


class _ConstantPadNd(Module):
    """Pad the trailing dims with a constant ``value``."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(value)
        self.padding = _pads(padding, 1)


class ConstantPad2d(_ConstantPadNd):
    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(value)
        self.padding = _pads(padding, 2)


class ConstantPad3d(_ConstantPadNd):
    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(value)
        self.padding = _pads(padding, 3)


class ZeroPad1d(ConstantPad1d):
    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ModePadNd(Module):
    """Pad the trailing dims by ``F.pad`` in a non-constant mode (reflect, replicate, circular)."""

    _mode = ""
    _n = 0

    def __init__(self, padding: Any) -> None:
        super().__init__()
        self.padding = _pads(padding, self._n)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ReflectionPadNd(_ModePadNd):
    _mode = "reflect"


class _ReplicationPadNd(_ModePadNd):
    _mode = "replicate"


class _CircularPadNd(_ModePadNd):
    _mode = "circular"

    def forward(self, input: Tensor) -> Tensor:
        n = self._n
        if input.dim() not in (n + 1, n + 2):
            raise ValueError(f"expected {n + 1}D or {n + 2}D input (got {input.dim()}D input)")
        return super().forward(input)


class ReflectionPad1d(_ReflectionPadNd):
    _n = 1


class ReflectionPad2d(_ReflectionPadNd):
    _n = 2


class ReflectionPad3d(_ReflectionPadNd):
    _n = 3


class ReplicationPad1d(_ReplicationPadNd):
    _n = 1


class ReplicationPad2d(_ReplicationPadNd):
    _n = 2


class ReplicationPad3d(_ReplicationPadNd):
    _n = 3


class CircularPad1d(_CircularPadNd):
    _n = 1


class CircularPad2d(_CircularPadNd):
    _n = 2


class CircularPad3d(_CircularPadNd):
    _n = 3
