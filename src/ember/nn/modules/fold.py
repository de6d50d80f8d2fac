"""``Unfold`` and ``Fold``: sliding local blocks of a batched 2-d input to columns and back."""

from __future__ import annotations

from collections.abc import Sequence

from ..._tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["Unfold", "Fold"]

_IntOrSeq = int | Sequence[int]


class Unfold(Module):
    """Extract sliding local blocks of a batched 2-d input as columns (``F.unfold``)."""

    def __init__(self, kernel_size: _IntOrSeq, dilation: _IntOrSeq = 1, padding: _IntOrSeq = 0,
                 stride: _IntOrSeq = 1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Module):
    """Combine columns of sliding local blocks into a batched 2-d output, summing overlaps (``F.fold``)."""

    def __init__(self, output_size: _IntOrSeq, kernel_size: _IntOrSeq, dilation: _IntOrSeq = 1,
                 padding: _IntOrSeq = 0, stride: _IntOrSeq = 1) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
