"""QAT Linear: ``nn.Linear`` computing with its fake-quantized weight."""

from __future__ import annotations

from typing import Any

from ..... import nn
from .....nn import functional as F
from ._common import attach_weight_fake_quant, float_source, share_parameters

__all__ = ["Linear"]


class Linear(nn.Linear):
    """``nn.Linear`` whose weight goes through ``qconfig.weight()`` (a fake-quantize module) in every forward."""

    _FLOAT_MODULE = nn.Linear

    def __init__(self, in_features: int, out_features: int, bias: bool = True, qconfig: Any = None,
                 device: Any = None, dtype: Any = None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__(in_features, out_features, bias, **factory_kwargs)
        attach_weight_fake_quant(self, qconfig, factory_kwargs)

    def forward(self, input: Any) -> Any:
        return F.linear(input, self.weight_fake_quant(self.weight), self.bias)

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> Linear:
        """The QAT twin of a float ``nn.Linear`` carrying a ``qconfig``; it shares the float module's
        parameters (a fresh layer is built first, as torch does, so the random stream advances the same)."""
        qconfig = mod.qconfig if hasattr(mod, "qconfig") else None
        mod = float_source(cls, mod)
        return share_parameters(cls(mod.in_features, mod.out_features, bias=mod.bias is not None, qconfig=qconfig),
                                mod)

    def to_float(self) -> nn.Linear:
        """A plain ``nn.Linear`` with copies of this module's parameters."""
        linear = nn.Linear(self.in_features, self.out_features, self.bias is not None)
        linear.weight = nn.Parameter(self.weight.detach())
        if self.bias is not None:
            linear.bias = nn.Parameter(self.bias.detach())
        linear.train(self.training)
        return linear
