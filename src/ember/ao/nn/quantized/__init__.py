"""Quantized modules (``torch.ao.nn.quantized``); so far the dynamic ones."""

from . import dynamic

__all__ = ["dynamic"]
