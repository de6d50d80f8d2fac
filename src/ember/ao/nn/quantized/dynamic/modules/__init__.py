"""The dynamic quantized modules (``torch.ao.nn.quantized.dynamic.modules``)."""

from .linear import Linear, LinearPackedParams

__all__ = ["Linear", "LinearPackedParams"]
