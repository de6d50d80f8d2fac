"""Quantized activations: the float module's interface, quantized tensors in and out (output qparams where the
float function's range is not the input's)."""

from __future__ import annotations

from typing import Any

from ..... import nn
from ....._core import dtype as D
from ....._core.warn import warn
from .....nn import functional as F
from .....ops import creation as C
from .....ops.quantize import quantize_per_tensor
from .. import functional as qF
from .utils import _output_qparams

__all__ = ["ReLU6", "Hardswish", "ELU", "LeakyReLU", "Sigmoid", "Softmax", "PReLU"]


def _register_qparams(module: nn.Module, scale: float, zero_point: int, device: Any = None) -> None:
    """Output ``scale``/``zero_point`` as buffers (they appear in the state_dict, as torch's)."""
    module.register_buffer("scale", C.tensor(scale, device=device))
    module.register_buffer("zero_point", C.tensor(zero_point, device=device))


def _quantized_name(module: nn.Module) -> str:
    return "Quantized" + type(module).__name__


class ReLU6(nn.ReLU6):
    """Quantized ReLU6: a clamp of the integers to ``[zero_point, quantize(6)]``."""

    _get_name = _quantized_name

    def forward(self, input: Any) -> Any:
        return F.relu6(input, self.inplace)

    @staticmethod
    def from_float(mod: nn.Module, use_precomputed_fake_quant: bool = False) -> ReLU6:
        return ReLU6(mod.inplace)


class Hardswish(nn.Hardswish):
    """Quantized hardswish with output qparams."""

    _get_name = _quantized_name

    def __init__(self, scale: float, zero_point: int, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        _register_qparams(self, scale, zero_point, device)

    def forward(self, input: Any) -> Any:
        return qF.hardswish(input, float(self.scale), int(self.zero_point))

    @staticmethod
    def from_float(mod: nn.Module, use_precomputed_fake_quant: bool = False) -> Hardswish:
        return Hardswish(*_output_qparams(mod.activation_post_process))


class ELU(nn.ELU):
    """Quantized ELU with output qparams (plain attributes, as torch's)."""

    _get_name = _quantized_name

    def __init__(self, scale: float, zero_point: int, alpha: float = 1.0) -> None:
        super().__init__(alpha)
        self.scale, self.zero_point = scale, zero_point

    def forward(self, input: Any) -> Any:
        return qF.elu(input, self.scale, self.zero_point, self.alpha)

    @staticmethod
    def from_float(mod: nn.Module, use_precomputed_fake_quant: bool = False) -> ELU:
        return ELU(*_output_qparams(mod.activation_post_process), mod.alpha)


class LeakyReLU(nn.LeakyReLU):
    """Quantized leaky ReLU with output qparams."""

    _get_name = _quantized_name

    def __init__(self, scale: float, zero_point: int, negative_slope: float = 1e-2, inplace: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(negative_slope, inplace)
        _register_qparams(self, scale, zero_point, device)

    def forward(self, input: Any) -> Any:
        return qF.leaky_relu(input, self.negative_slope, self.inplace, float(self.scale), int(self.zero_point))

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> LeakyReLU:
        return cls(*_output_qparams(mod.activation_post_process), mod.negative_slope, mod.inplace)


class Sigmoid(nn.Sigmoid):
    """Quantized sigmoid with output qparams (prints as ``Sigmoid()``, as torch's)."""

    def __init__(self, output_scale: float, output_zero_point: int) -> None:
        super().__init__()
        self.output_scale, self.output_zero_point = output_scale, output_zero_point

    def forward(self, input: Any) -> Any:
        return qF.dequantized(F.sigmoid, input, self.output_scale, self.output_zero_point)

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> Sigmoid:
        return cls(*_output_qparams(mod.activation_post_process))


class Softmax(nn.Softmax):
    """Quantized softmax with output qparams."""

    _get_name = _quantized_name

    def __init__(self, dim: int | None = None, scale: float = 1.0, zero_point: int = 0) -> None:
        super().__init__()
        self.dim, self.scale, self.zero_point = dim, scale, zero_point

    def forward(self, input: Any) -> Any:
        dim = self.dim
        if dim is None:
            dim = 0 if input.dim() in (0, 1, 3) else 1
        return qF.dequantized(F.softmax, input, self.scale, self.zero_point, dim)

    @staticmethod
    def from_float(mod: nn.Module, use_precomputed_fake_quant: bool = False) -> Softmax:
        return Softmax(mod.dim, *_output_qparams(mod.activation_post_process))


class PReLU(nn.Module):
    """Quantized PReLU: a quint8 slope per channel (or one), output qparams ``scale``/``zero_point``."""

    _get_name = _quantized_name

    def __init__(self, output_scale: float, output_zero_point: int, num_parameters: int = 1) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.scale, self.zero_point = output_scale, output_zero_point
        self.weight = quantize_per_tensor(C.zeros(num_parameters), 1.0, 0, D.quint8)

    def set_weight(self, w: Any) -> None:
        self.weight = w

    def forward(self, input: Any) -> Any:
        return qF.dequantized(F.prelu, input, self.scale, self.zero_point, self.weight.dequantize())

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> PReLU:
        """The slope quantized to quint8 with the qconfig's weight observer, output qparams observed."""
        scale, zero_point = _output_qparams(mod.activation_post_process)
        new = cls(scale, zero_point, mod.num_parameters)
        weight = mod.weight.detach().float()
        observer = mod.qconfig.weight()
        observer(weight)
        if observer.dtype is not D.quint8:
            warn(f"PReLU's weight observer should have dtype quint8 but got {observer.dtype}", stacklevel=2)
        w_scale, w_zero_point = _output_qparams(observer)
        new.set_weight(quantize_per_tensor(weight, w_scale, w_zero_point, D.quint8))
        return new


