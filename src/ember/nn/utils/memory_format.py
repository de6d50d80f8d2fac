"""Giving the weights of every (transposed) 2-d or 3-d convolution in a module tree a memory format, e.g.
``channels_last``, so they are stored in the layout the format names (strides as torch's)."""

from __future__ import annotations

from typing import Any, TypeVar

from ...autograd.grad_mode import no_grad
from ...ops.creation import empty_like
from ..modules.conv import Conv2d, Conv3d, ConvTranspose2d, ConvTranspose3d

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]

M = TypeVar("M")


def _convert(module: Any, memory_format: Any, kinds: tuple[type, ...]) -> Any:
    if isinstance(module, kinds):
        with no_grad():
            weight = empty_like(module.weight, memory_format=memory_format)
            weight.copy_(module.weight)
        module.weight.data = weight
    for child in module.children():
        _convert(child, memory_format, kinds)
    return module


def convert_conv2d_weight_memory_format(module: M, memory_format: Any) -> M:
    """``module`` with the weight of each ``Conv2d``/``ConvTranspose2d`` in it (recursively) re-laid out in
    ``memory_format`` (the same Parameter objects, new storage)."""
    return _convert(module, memory_format, (Conv2d, ConvTranspose2d))


def convert_conv3d_weight_memory_format(module: M, memory_format: Any) -> M:
    """``module`` with the weight of each ``Conv3d``/``ConvTranspose3d`` in it (recursively) re-laid out in
    ``memory_format`` (the same Parameter objects, new storage)."""
    return _convert(module, memory_format, (Conv3d, ConvTranspose3d))
