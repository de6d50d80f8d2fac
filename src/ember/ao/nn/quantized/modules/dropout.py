"""Quantized dropout: the identity (quantized models run in inference)."""

from __future__ import annotations

from typing import Any

from ..... import nn
from .activation import _quantized_name

__all__ = ["Dropout"]


class Dropout(nn.Dropout):
    """``nn.Dropout`` for quantized tensors: returns its input."""

    _get_name = _quantized_name

    def forward(self, input: Any) -> Any:
        return input

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> Dropout:
        return cls(mod.p, mod.inplace)
