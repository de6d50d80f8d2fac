"""QAT ``conv + relu`` and ``linear + relu``: the QAT layer with a ReLU applied to its output."""

from __future__ import annotations

from typing import Any

from ......nn import functional as F
from ....qat import Conv2d, Conv3d, Linear
from ...modules import fused as nni

__all__ = ["ConvReLU2d", "ConvReLU3d", "LinearReLU"]


class _ReLUAfter:
    """Mixin: ``relu`` of the QAT layer's output; built from the fused float container's first layer."""

    def forward(self, input: Any) -> Any:
        return F.relu(super().forward(input))


class ConvReLU2d(_ReLUAfter, Conv2d, nni._FusedModule):
    """QAT ``Conv2d + ReLU``."""

    _FLOAT_MODULE = nni.ConvReLU2d


class ConvReLU3d(_ReLUAfter, Conv3d, nni._FusedModule):
    """QAT ``Conv3d + ReLU``."""

    _FLOAT_MODULE = nni.ConvReLU3d


class LinearReLU(_ReLUAfter, Linear, nni._FusedModule):
    """QAT ``Linear + ReLU``."""

    _FLOAT_MODULE = nni.LinearReLU
