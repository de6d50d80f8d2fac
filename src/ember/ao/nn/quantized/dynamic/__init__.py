"""Dynamically quantized modules: int8 weights, activations quantized on the fly per call."""

from .modules import Linear

__all__ = ["Linear"]
