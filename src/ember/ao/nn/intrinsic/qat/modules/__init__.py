"""The fused QAT modules (``torch.ao.nn.intrinsic.qat.modules``)."""

from .conv_fused import (
    ConvBn1d,
    ConvBn2d,
    ConvBn3d,
    ConvBnReLU1d,
    ConvBnReLU2d,
    ConvBnReLU3d,
    freeze_bn_stats,
    update_bn_stats,
)
from .fused import ConvReLU2d, ConvReLU3d, LinearReLU

__all__ = ["ConvReLU2d", "ConvReLU3d", "LinearReLU", "ConvBn1d", "ConvBn2d", "ConvBn3d", "ConvBnReLU1d",
           "ConvBnReLU2d", "ConvBnReLU3d", "update_bn_stats", "freeze_bn_stats"]
