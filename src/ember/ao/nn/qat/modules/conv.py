"""QAT convolutions: ``nn.Conv{1,2,3}d`` computing with their fake-quantized weights (one implementation)."""

from __future__ import annotations

from typing import Any, ClassVar

from ..... import nn
from ._common import attach_weight_fake_quant, float_source, share_parameters

__all__ = ["Conv1d", "Conv2d", "Conv3d"]


class _ConvNd:
    """Mixin over a float convolution class: ``weight_fake_quant`` from the qconfig, applied in forward."""

    _FLOAT_MODULE: ClassVar[type]        # what from_float accepts (a conv, or a fused conv + relu)
    _FLOAT_CONV_MODULE: ClassVar[type]   # the float convolution itself

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 qconfig: Any = None, device: Any = None, dtype: Any = None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        self._FLOAT_CONV_MODULE.__init__(self, in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                                    dilation=dilation, groups=groups, bias=bias, padding_mode=padding_mode,
                                    **factory_kwargs)
        attach_weight_fake_quant(self, qconfig, factory_kwargs)

    def forward(self, input: Any) -> Any:
        return self._conv_forward(input, self.weight_fake_quant(self.weight), self.bias)

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> Any:
        """The QAT twin of a float convolution carrying a ``qconfig``, sharing its parameters."""
        qconfig = mod.qconfig if hasattr(mod, "qconfig") else None
        mod = float_source(cls, mod)
        return share_parameters(cls(mod.in_channels, mod.out_channels, mod.kernel_size, stride=mod.stride,
                                    padding=mod.padding, dilation=mod.dilation, groups=mod.groups,
                                    bias=mod.bias is not None, padding_mode=mod.padding_mode, qconfig=qconfig), mod)

    def to_float(self) -> Any:
        """A plain float convolution with copies of this module's parameters."""
        conv = self._FLOAT_CONV_MODULE(self.in_channels, self.out_channels, self.kernel_size, self.stride, self.padding,
                                  self.dilation, self.groups, self.bias is not None, self.padding_mode)
        conv.weight = nn.Parameter(self.weight.detach())
        if self.bias is not None:
            conv.bias = nn.Parameter(self.bias.detach())
        return conv


class Conv1d(_ConvNd, nn.Conv1d):
    """QAT ``nn.Conv1d``."""

    _FLOAT_MODULE = _FLOAT_CONV_MODULE = nn.Conv1d


class Conv2d(_ConvNd, nn.Conv2d):
    """QAT ``nn.Conv2d``."""

    _FLOAT_MODULE = _FLOAT_CONV_MODULE = nn.Conv2d


class Conv3d(_ConvNd, nn.Conv3d):
    """QAT ``nn.Conv3d``."""

    _FLOAT_MODULE = _FLOAT_CONV_MODULE = nn.Conv3d
