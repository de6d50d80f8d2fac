"""The fused QAT modules (``torch.ao.nn.intrinsic.qat.modules``)."""

from .fused import ConvReLU2d, ConvReLU3d, LinearReLU

__all__ = ["ConvReLU2d", "ConvReLU3d", "LinearReLU"]
