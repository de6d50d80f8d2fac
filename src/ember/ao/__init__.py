"""torch.ao: architecture optimisation, here the quantization-aware-training part of it."""

from . import nn, quantization

__all__ = ["nn", "quantization"]
