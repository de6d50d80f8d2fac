"""QAT twins of the fused containers whose weights are fake-quantized (conv + relu, linear + relu)."""

from .modules import ConvReLU2d, ConvReLU3d, LinearReLU

__all__ = ["ConvReLU2d", "ConvReLU3d", "LinearReLU"]
