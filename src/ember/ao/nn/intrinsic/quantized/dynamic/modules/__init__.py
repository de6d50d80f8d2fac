"""Dynamically quantized fused modules (``torch.ao.nn.intrinsic.quantized.dynamic.modules``)."""

from __future__ import annotations

from .....quantized.dynamic.modules.linear import Linear
from ....modules import fused as nni

__all__ = ["LinearReLU"]


class LinearReLU(Linear):
    """Dynamic quantized ``Linear + ReLU``: float in, float out, ReLU on the float result."""

    _FLOAT_MODULE = (nni.LinearReLU,)

    def _get_name(self) -> str:
        return "DynamicQuantizedLinearReLU"

    def forward(self, x):  # type: ignore[no-untyped-def]
        return super().forward(x).relu()
