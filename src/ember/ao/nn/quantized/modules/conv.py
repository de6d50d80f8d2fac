"""Static quantized convolutions (``torch.ao.nn.quantized.Conv1d`` … ``ConvTranspose3d``): one N-d
implementation, fbgemm's integer arithmetic (see :mod:`..functional`)."""

from __future__ import annotations

from typing import Any, ClassVar

from ..... import nn
from ....._core import dtype as D
from .....nn.utils.fusion import fuse_conv_bn_weights
from .....ops import creation as C
from .....ops.quantize import QuantizedTensor, quantize_per_tensor
from ..functional import conv_int
from .utils import WeightedQuantizedModule, _output_qparams, _qparams_to_state, _quantize_weight

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

_SUPPORTED_PADDING = ("zeros", "reflect")


def _ntuple(v: Any, n: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


class _ConvNd(WeightedQuantizedModule):
    """A quantized (transposed) convolution: qint8 weight and float bias held packed, output qparams."""

    _version = 1
    _N: ClassVar[int]
    _TRANSPOSED: ClassVar[bool] = False
    _RELU: ClassVar[bool] = False
    _FLOAT_MODULE: ClassVar[Any]

    def _init(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any, padding: Any,
              dilation: Any, output_padding: Any, groups: int, bias: bool, padding_mode: str) -> None:
        super().__init__()
        n = self._N
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in _SUPPORTED_PADDING:
            raise ValueError(f"'padding_mode' {padding_mode} is not supported by quantized convolution")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride, self.padding = _ntuple(stride, n), _ntuple(padding, n)
        self.dilation = _ntuple(dilation, n)
        self.transposed = self._TRANSPOSED
        self.output_padding = _ntuple(output_padding, n)
        self.groups, self.padding_mode = groups, padding_mode
        shape = [in_channels, out_channels // groups] if self._TRANSPOSED else [out_channels, in_channels // groups]
        qweight = quantize_per_tensor(C.zeros(*shape, *self.kernel_size), 1.0, 0, D.qint8)
        self.set_weight_bias(qweight, C.zeros(out_channels) if bias else None)
        self.scale = 1.0
        self.zero_point = 0

    def set_weight_bias(self, w: QuantizedTensor, b: Any) -> None:
        self._packed_params = (w, b)

    def _weight_bias(self) -> tuple:
        return self._packed_params

    def weight(self) -> QuantizedTensor:
        return self._packed_params[0]

    def bias(self) -> Any:
        return self._packed_params[1]

    def _get_name(self) -> str:
        return "Quantized" + type(self).__name__

    def extra_repr(self) -> str:
        n = self._N
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
             f"scale={self.scale}, zero_point={self.zero_point}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias() is None:
            s += ", bias=False"
        return s

    def forward(self, input: Any) -> Any:
        w, b = self._packed_params
        return conv_int(input, w, b, self.stride, self.padding, self.dilation, self.groups, self.scale,
                        self.zero_point, relu=self._RELU, transposed=self._TRANSPOSED,
                        output_padding=self.output_padding, padding_mode=self.padding_mode)

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        w, b = self._weight_bias()
        destination[prefix + "weight"] = w
        destination[prefix + "bias"] = b
        _qparams_to_state(destination, prefix, self.scale, self.zero_point)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        for key in ("weight", "bias", "scale", "zero_point"):
            if prefix + key not in state_dict:
                missing_keys.append(prefix + key)
        if any(k.startswith(prefix) for k in missing_keys):
            return
        self.set_weight_bias(state_dict.pop(prefix + "weight"), state_dict.pop(prefix + "bias"))
        self.scale = float(state_dict.pop(prefix + "scale"))
        self.zero_point = int(state_dict.pop(prefix + "zero_point"))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys, unexpected_keys,
                                      error_msgs)

    @classmethod
    def _quantized_from(cls, mod: Any, act: Any, weight_post_process: Any, precomputed: bool) -> _ConvNd:
        if not precomputed:
            weight_post_process(mod.weight)
        if weight_post_process.dtype is not D.qint8:
            raise AssertionError("Weight observer must have a dtype of qint8")
        qweight = _quantize_weight(mod.weight.detach().float(), weight_post_process)
        if cls._TRANSPOSED:
            qconv = cls(mod.in_channels, mod.out_channels, mod.kernel_size, mod.stride, mod.padding,
                        mod.output_padding, mod.groups, mod.bias is not None, mod.dilation, mod.padding_mode)
        else:
            qconv = cls(mod.in_channels, mod.out_channels, mod.kernel_size, mod.stride, mod.padding, mod.dilation,
                        mod.groups, mod.bias is not None, mod.padding_mode)
        qconv.set_weight_bias(qweight, None if mod.bias is None else mod.bias.detach())
        if act is not None and act.dtype is not D.float32:
            qconv.scale, qconv.zero_point = _output_qparams(act)
        return qconv

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> _ConvNd:
        """Quantize an observed float (fused, or QAT) convolution: int8 weight from its weight observer (batch
        norm of a QAT ConvBn folded in first), output qparams from its activation observer."""
        if hasattr(mod, "weight_fake_quant"):
            if hasattr(mod, "bn"):
                mod.weight, mod.bias = fuse_conv_bn_weights(mod.weight, mod.bias, mod.bn.running_mean,
                                                            mod.bn.running_var, mod.bn.eps, mod.bn.weight,
                                                            mod.bn.bias)
            if not hasattr(mod, "activation_post_process"):
                raise AssertionError("Input QAT module must have observer attached")
            return cls._quantized_from(mod, mod.activation_post_process, mod.weight_fake_quant,
                                       use_precomputed_fake_quant)
        if type(mod) is not cls._FLOAT_MODULE:
            raise AssertionError(f" nnq.{cls.__name__}.from_float only works for {cls._FLOAT_MODULE.__name__} but "
                                 f"got:{type(mod)}")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined.")
        act = getattr(mod, "activation_post_process", None)
        if isinstance(mod, nn.Sequential):
            mod = mod[0]
        return cls._quantized_from(mod, act, mod.qconfig.weight(), use_precomputed_fake_quant)


class _Conv(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        self._init(in_channels, out_channels, kernel_size, stride, padding, dilation, 0, groups, bias, padding_mode)


class _ConvTranspose(_ConvNd):
    _TRANSPOSED = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        self._init(in_channels, out_channels, kernel_size, stride, padding, dilation, output_padding, groups, bias,
                   padding_mode)


class Conv1d(_Conv):
    """Quantized ``nn.Conv1d``."""

    _N, _FLOAT_MODULE = 1, nn.Conv1d


class Conv2d(_Conv):
    """Quantized ``nn.Conv2d``."""

    _N, _FLOAT_MODULE = 2, nn.Conv2d


class Conv3d(_Conv):
    """Quantized ``nn.Conv3d``."""

    _N, _FLOAT_MODULE = 3, nn.Conv3d


class ConvTranspose1d(_ConvTranspose):
    """Quantized ``nn.ConvTranspose1d``."""

    _N, _FLOAT_MODULE = 1, nn.ConvTranspose1d


class ConvTranspose2d(_ConvTranspose):
    """Quantized ``nn.ConvTranspose2d``."""

    _N, _FLOAT_MODULE = 2, nn.ConvTranspose2d


class ConvTranspose3d(_ConvTranspose):
    """Quantized ``nn.ConvTranspose3d``."""

    _N, _FLOAT_MODULE = 3, nn.ConvTranspose3d
