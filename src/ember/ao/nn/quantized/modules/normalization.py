"""Quantized normalizations (LayerNorm, GroupNorm, InstanceNorm*, BatchNorm2d/3d): the float module's
parameters, float statistics of the dequantized input, the output quantized with the module's qparams."""

from __future__ import annotations

from typing import Any

from ..... import nn
from .....nn import functional as F
from .. import functional as qF
from .activation import _quantized_name, _register_qparams
from .utils import _output_qparams

__all__ = ["LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "BatchNorm2d",
           "BatchNorm3d"]


def _set_affine(module: nn.Module, weight: Any, bias: Any) -> None:
    module.weight = weight
    module.bias = bias


class LayerNorm(nn.LayerNorm):
    """Quantized layer norm."""

    _get_name = _quantized_name

    def __init__(self, normalized_shape: Any, weight: Any, bias: Any, scale: float, zero_point: int,
                 eps: float = 1e-5, elementwise_affine: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(normalized_shape, eps=eps, elementwise_affine=elementwise_affine)
        _set_affine(self, weight, bias)
        _register_qparams(self, scale, zero_point, device)

    def forward(self, input: Any) -> Any:
        return qF.dequantized(F.layer_norm, input, float(self.scale), int(self.zero_point), self.normalized_shape,
                              self.weight, self.bias, self.eps)

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> LayerNorm:
        return cls(mod.normalized_shape, mod.weight, mod.bias, *_output_qparams(mod.activation_post_process),
                   mod.eps, mod.elementwise_affine)


class GroupNorm(nn.GroupNorm):
    """Quantized group norm."""

    _get_name = _quantized_name

    def __init__(self, num_groups: int, num_channels: int, weight: Any, bias: Any, scale: float, zero_point: int,
                 eps: float = 1e-5, affine: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(num_groups, num_channels, eps, affine)
        _set_affine(self, weight, bias)
        _register_qparams(self, scale, zero_point, device)

    def forward(self, input: Any) -> Any:
        return qF.dequantized(F.group_norm, input, float(self.scale), int(self.zero_point), self.num_groups,
                              self.weight, self.bias, self.eps)

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> GroupNorm:
        return cls(mod.num_groups, mod.num_channels, mod.weight, mod.bias,
                   *_output_qparams(mod.activation_post_process), mod.eps, mod.affine)


class _InstanceNorm:
    _get_name = _quantized_name

    def __init__(self, num_features: int, weight: Any, bias: Any, scale: float, zero_point: int, eps: float = 1e-5,
                 momentum: float = 0.1, affine: bool = False, track_running_stats: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats)   # type: ignore[call-arg]
        _set_affine(self, weight, bias)   # type: ignore[arg-type]
        _register_qparams(self, scale, zero_point, device)   # type: ignore[arg-type]

    def forward(self, input: Any) -> Any:
        return qF.dequantized(F.instance_norm, input, float(self.scale), int(self.zero_point), None, None,
                              self.weight, self.bias, eps=self.eps)

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> Any:
        return cls(mod.num_features, mod.weight, mod.bias, *_output_qparams(mod.activation_post_process), mod.eps,
                   mod.affine)


class InstanceNorm1d(_InstanceNorm, nn.InstanceNorm1d):
    """Quantized 1-d instance norm."""


class InstanceNorm2d(_InstanceNorm, nn.InstanceNorm2d):
    """Quantized 2-d instance norm."""


class InstanceNorm3d(_InstanceNorm, nn.InstanceNorm3d):
    """Quantized 3-d instance norm."""


class _BatchNorm:
    """Quantized batch norm with the running statistics (inference), optionally followed by ReLU."""

    _N: int
    _RELU = False
    _FLOAT_MODULE: Any
    _get_name = _quantized_name

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(num_features, eps, momentum, True, True)   # type: ignore[call-arg]
        _register_qparams(self, 1.0, 0, device)   # type: ignore[arg-type]

    def forward(self, input: Any) -> Any:
        if input.dim() != self._N + 2:
            raise ValueError(f"Input shape must be `(N, C, {', '.join('DHW'[3 - self._N:])})`!")
        out = qF.dequantized(F.batch_norm, input, float(self.scale), int(self.zero_point), self.running_mean,
                             self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return F.relu(out) if self._RELU else out

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> Any:
        act = mod.activation_post_process
        if isinstance(mod, nn.Sequential):   # BNReLU
            mod = mod[0]
        scale, zero_point = _output_qparams(act)
        new = cls(mod.num_features, mod.eps)
        new.weight, new.bias = mod.weight, mod.bias
        new.running_mean, new.running_var = mod.running_mean, mod.running_var
        new.scale.fill_(scale)
        new.zero_point.fill_(zero_point)
        return new


class BatchNorm2d(_BatchNorm, nn.BatchNorm2d):
    """Quantized ``nn.BatchNorm2d`` (inference)."""

    _N, _FLOAT_MODULE = 2, nn.BatchNorm2d


class BatchNorm3d(_BatchNorm, nn.BatchNorm3d):
    """Quantized ``nn.BatchNorm3d`` (inference)."""

    _N, _FLOAT_MODULE = 3, nn.BatchNorm3d
