"""QAT ``conv + batch norm (+ relu)``: the batch norm's scale folded into the weight before fake quantization
(torch's approximate fused forward), the batch norm itself still run on the unscaled conv output so its
statistics keep updating until :func:`freeze_bn_stats`."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from ...... import nn
from ......nn import functional as F
from ......nn import init
from ......nn.utils.fusion import fuse_conv_bn_weights
from ......ops import creation as C
from ...modules import fused as nni

__all__ = ["ConvBn1d", "ConvBn2d", "ConvBn3d", "ConvBnReLU1d", "ConvBnReLU2d", "ConvBnReLU3d", "update_bn_stats",
           "freeze_bn_stats"]


class _ConvBnNd:
    """Mixin over a float convolution class (bases: this, the convolution, the fused-module marker)."""

    _version = 2
    _FLOAT_MODULE: ClassVar[type]
    _FLOAT_CONV_MODULE: ClassVar[type]
    _FLOAT_BN_MODULE: ClassVar[type]
    _FUSED_FLOAT_MODULE: ClassVar[type | None] = None
    _RELU = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: Any = None, padding_mode: str = "zeros",
                 eps: float = 1e-05, momentum: float = 0.1, freeze_bn: bool = False, qconfig: Any = None) -> None:
        self._FLOAT_CONV_MODULE.__init__(self, in_channels, out_channels, kernel_size, stride=stride,
                                         padding=padding, dilation=dilation, groups=groups, bias=False,
                                         padding_mode=padding_mode)
        if not qconfig:
            raise AssertionError("qconfig must be provided for QAT module")
        self.qconfig = qconfig
        self.freeze_bn = freeze_bn if self.training else True
        self.bn = self._FLOAT_BN_MODULE(out_channels, eps, momentum, True, True)
        self.weight_fake_quant = self.qconfig.weight()
        if bias:
            self.bias = nn.Parameter(C.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_bn_parameters()
        if self.training and not freeze_bn:
            self.update_bn_stats()
        else:
            self.freeze_bn_stats()

    def reset_running_stats(self) -> None:
        self.bn.reset_running_stats()

    def reset_bn_parameters(self) -> None:
        """Batch-norm statistics reset, its weight uniform in [0, 1), its bias zero, the conv bias as
        ``nn.Conv``'s (the random draws in torch's order)."""
        self.bn.reset_running_stats()
        init.uniform_(self.bn.weight)
        init.zeros_(self.bn.bias)
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def update_bn_stats(self) -> _ConvBnNd:
        self.freeze_bn = False
        self.bn.training = True
        return self

    def freeze_bn_stats(self) -> _ConvBnNd:
        self.freeze_bn = True
        self.bn.training = False
        return self

    def forward(self, input: Any) -> Any:
        """conv with the fake-quantized ``weight * gamma / running_std``, divided back per channel, plus the
        bias, through the batch norm (then ReLU for the ConvBnReLU modules)."""
        running_std = (self.bn.running_var + self.bn.eps).sqrt()
        scale_factor = self.bn.weight / running_std
        weight_shape = [1] * self.weight.dim()
        weight_shape[0] = -1
        bias_shape = [1] * self.weight.dim()
        bias_shape[1] = -1
        scaled_weight = self.weight_fake_quant(self.weight * scale_factor.reshape(weight_shape))
        zero_bias = C.zeros(self.out_channels, device=scaled_weight.device, dtype=input.dtype)
        conv = self._conv_forward(input, scaled_weight, zero_bias)
        conv_orig = conv / scale_factor.reshape(bias_shape)
        if self.bias is not None:
            conv_orig = conv_orig + self.bias.reshape(bias_shape)
        out = self.bn(conv_orig)
        return F.relu(out) if self._RELU else out

    def train(self, mode: bool = True) -> _ConvBnNd:
        """Like Module.train, but a frozen batch norm stays in eval mode."""
        self.training = mode
        if not self.freeze_bn:
            for module in self.children():
                module.train(mode)
        return self

    @classmethod
    def from_float(cls, mod: Any, use_precomputed_fake_quant: bool = False) -> _ConvBnNd:
        """The QAT module of a fused float ``ConvBn``/``ConvBnReLU`` container, sharing its parameters and
        batch-norm buffers."""
        if type(mod) is not cls._FLOAT_MODULE:
            raise AssertionError(f"qat.{cls.__name__}.from_float only works for {cls._FLOAT_MODULE.__name__}")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        if not mod.qconfig:
            raise AssertionError("Input float module must have a valid qconfig")
        conv, bn = mod[0], mod[1]
        qat = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                  conv.groups, conv.bias is not None, conv.padding_mode, bn.eps, bn.momentum, False, mod.qconfig)
        qat.weight, qat.bias = conv.weight, conv.bias
        qat.bn.weight, qat.bn.bias = bn.weight, bn.bias
        qat.bn.running_mean, qat.bn.running_var = bn.running_mean, bn.running_var
        qat.bn.num_batches_tracked = bn.num_batches_tracked
        return qat

    def to_float(self) -> nn.Module:
        """A float convolution with the batch norm folded in (in a ConvReLU container for the ReLU variants)."""
        conv = self._FLOAT_CONV_MODULE(self.in_channels, self.out_channels, self.kernel_size, self.stride,
                                       self.padding, self.dilation, self.groups, self.bias is not None,
                                       self.padding_mode)
        conv.weight = nn.Parameter(self.weight.detach())
        if self.bias is not None:
            conv.bias = nn.Parameter(self.bias.detach())
        conv.weight, conv.bias = fuse_conv_bn_weights(conv.weight, conv.bias, self.bn.running_mean,
                                                      self.bn.running_var, self.bn.eps, self.bn.weight,
                                                      self.bn.bias)
        out = self._FUSED_FLOAT_MODULE(conv, nn.ReLU()) if self._RELU else conv
        out.train(self.training)
        return out


def _make(name: str, dim: int, relu: bool) -> type:
    conv = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[dim - 1]
    attrs = {
        "_FLOAT_MODULE": getattr(nni, f"ConvBn{'ReLU' if relu else ''}{dim}d"),
        "_FLOAT_CONV_MODULE": conv,
        "_FLOAT_BN_MODULE": (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)[dim - 1],
        "_FUSED_FLOAT_MODULE": getattr(nni, f"ConvReLU{dim}d") if relu else None,
        "_RELU": relu,
        "__doc__": f"QAT ``Conv{dim}d + BatchNorm{dim}d{' + ReLU' if relu else ''}``.",
        "__module__": __name__,
    }
    return type(name, (_ConvBnNd, conv, nni._FusedModule), attrs)


ConvBn1d = _make("ConvBn1d", 1, False)
ConvBn2d = _make("ConvBn2d", 2, False)
ConvBn3d = _make("ConvBn3d", 3, False)
ConvBnReLU1d = _make("ConvBnReLU1d", 1, True)
ConvBnReLU2d = _make("ConvBnReLU2d", 2, True)
ConvBnReLU3d = _make("ConvBnReLU3d", 3, True)
_ALL = (ConvBn1d, ConvBn2d, ConvBn3d, ConvBnReLU1d, ConvBnReLU2d, ConvBnReLU3d)


def update_bn_stats(mod: nn.Module) -> None:
    """``model.apply(update_bn_stats)``: let the fused batch norms update their statistics again."""
    if type(mod) in _ALL:
        mod.update_bn_stats()


def freeze_bn_stats(mod: nn.Module) -> None:
    """``model.apply(freeze_bn_stats)``: stop the fused batch norms' statistics (they then run in eval mode)."""
    if type(mod) in _ALL:
        mod.freeze_bn_stats()
