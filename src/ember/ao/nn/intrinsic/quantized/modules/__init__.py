"""Quantized fused modules (``torch.ao.nn.intrinsic.quantized.modules``): the quantized layer with its ReLU
applied in the requantization (the output clamped at its zero point)."""

from __future__ import annotations

from typing import Any

from ......_core import dtype as D
from ....quantized import modules as nnq
from ...modules import fused as nni

__all__ = ["LinearReLU", "ConvReLU1d", "ConvReLU2d", "ConvReLU3d", "BNReLU2d", "BNReLU3d"]


def _quantized_name(self: Any) -> str:
    return "Quantized" + type(self).__name__


class LinearReLU(nnq.Linear):
    """Quantized ``Linear + ReLU``."""

    _FLOAT_MODULE = (nni.LinearReLU,)
    _RELU = True
    _get_name = _quantized_name

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: Any = D.qint8) -> None:
        super().__init__(in_features, out_features, bias, dtype=dtype)


class ConvReLU1d(nnq.Conv1d):
    """Quantized ``Conv1d + ReLU``."""

    _FLOAT_MODULE, _RELU = nni.ConvReLU1d, True


class ConvReLU2d(nnq.Conv2d):
    """Quantized ``Conv2d + ReLU``."""

    _FLOAT_MODULE, _RELU = nni.ConvReLU2d, True


class ConvReLU3d(nnq.Conv3d):
    """Quantized ``Conv3d + ReLU``."""

    _FLOAT_MODULE, _RELU = nni.ConvReLU3d, True


class BNReLU2d(nnq.BatchNorm2d):
    """Quantized ``BatchNorm2d + ReLU``."""

    _FLOAT_MODULE, _RELU = nni.BNReLU2d, True


class BNReLU3d(nnq.BatchNorm3d):
    """Quantized ``BatchNorm3d + ReLU``."""

    _FLOAT_MODULE, _RELU = nni.BNReLU3d, True
