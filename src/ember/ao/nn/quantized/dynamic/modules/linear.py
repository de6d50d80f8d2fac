"""Dynamic int8 Linear: an int8 weight (quantized once) times the input quantized per call to uint8."""

from __future__ import annotations

from typing import Any

from ...... import nn
from ......_core import dtype as D
from ......ops import creation as C
from ......ops.quantize import (
    QuantizedTensor,
    linear_dynamic,
    per_tensor_affine,
    per_tensor_symmetric,
    quantize_per_channel,
    quantize_per_tensor,
)

__all__ = ["Linear", "LinearPackedParams"]


class LinearPackedParams(nn.Module):
    """Holder of the quantized weight and float bias (torch's packed-parameter module)."""

    _version = 3

    def __init__(self, dtype: Any = D.qint8) -> None:
        super().__init__()
        self.dtype = dtype
        self.set_weight_bias(quantize_per_tensor(C.zeros(1, 1), 1.0, 0, D.qint8), None)

    def set_weight_bias(self, weight: QuantizedTensor, bias: Any) -> None:
        if self.dtype is not D.qint8:
            raise RuntimeError("Unsupported dtype on dynamic quantized linear!")
        self._packed_params = (weight, bias)

    def _weight_bias(self) -> tuple:
        return self._packed_params

    def forward(self, x: Any) -> Any:
        return x

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "dtype"] = self.dtype
        destination[prefix + "_packed_params"] = self._weight_bias()

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        self.dtype = state_dict.pop(prefix + "dtype", self.dtype)
        packed = state_dict.pop(prefix + "_packed_params", None)
        if packed is not None:
            self.set_weight_bias(*packed)
        elif strict:
            missing_keys.append(prefix + "_packed_params")
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys, unexpected_keys,
                                      error_msgs)

    def __repr__(self) -> str:
        return repr(self._weight_bias())


def _quantize_weight(weight: Any, observer: Any) -> QuantizedTensor:
    """The weight quantized with the qparams its observer chose (per tensor or per channel)."""
    scale, zero_point = observer.calculate_qparams()
    if observer.qscheme in (per_tensor_affine, per_tensor_symmetric):
        return quantize_per_tensor(weight, float(scale), int(zero_point), D.qint8)
    return quantize_per_channel(weight, scale.to(D.float64), zero_point.to(D.int64), observer.ch_axis, D.qint8)


class Linear(nn.Module):
    """``torch.ao.nn.quantized.dynamic.Linear`` (prints as ``DynamicQuantizedLinear``): float in, float out,
    with fbgemm's numerics (see :func:`ember.ops.quantize.linear_dynamic`)."""

    _version = 4

    def __init__(self, in_features: int, out_features: int, bias_: bool = True, dtype: Any = D.qint8) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        if dtype is not D.qint8:
            raise RuntimeError("Unsupported dtype specified for quantized Linear!")
        qweight = quantize_per_tensor(C.zeros(out_features, in_features), 1.0, 0, D.qint8)
        bias = C.zeros(out_features) if bias_ else None
        self._packed_params = LinearPackedParams(dtype)
        self._packed_params.set_weight_bias(qweight, bias)
        self.scale = 1.0
        self.zero_point = 0
        self.version = 4

    def forward(self, x: Any) -> Any:
        weight, bias = self._weight_bias()
        return linear_dynamic(x, weight, bias, reduce_range=self.version is not None and self.version >= 4)

    def _get_name(self) -> str:
        return "DynamicQuantizedLinear"

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"dtype={self._packed_params.dtype}, qscheme={self.weight().qscheme()}")

    def __repr__(self) -> str:
        return f"{self._get_name()}({self.extra_repr()})"

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "scale"] = C.tensor(self.scale)
        destination[prefix + "zero_point"] = C.tensor(self.zero_point)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        self.scale = float(state_dict.pop(prefix + "scale", self.scale))
        self.zero_point = int(state_dict.pop(prefix + "zero_point", self.zero_point))
        self.version = local_metadata.get("version", None)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys, unexpected_keys,
                                      error_msgs)

    def _weight_bias(self) -> tuple:
        return self._packed_params._weight_bias()

    def weight(self) -> QuantizedTensor:
        return self._weight_bias()[0]

    def bias(self) -> Any:
        return self._weight_bias()[1]

    def set_weight_bias(self, w: QuantizedTensor, b: Any) -> None:
        self._packed_params.set_weight_bias(w, b)

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> Linear:
        """Quantize a float ``nn.Linear`` (its ``qconfig``'s weight observer, else the default dynamic one):
        the weight to int8 once, the bias kept in float."""
        if type(mod) is not nn.Linear:
            raise AssertionError(f"nn.quantized.dynamic.Linear.from_float only works for one of['Linear', "
                                 f"'NonDynamicallyQuantizableLinear', 'LinearReLU', 'Linear'], got {type(mod)}")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        if mod.qconfig is not None and mod.qconfig.weight is not None:
            observer = mod.qconfig.weight()
        else:
            from .....quantization.qconfig import default_dynamic_qconfig
            observer = default_dynamic_qconfig.weight()
        if observer.dtype is not D.qint8:
            raise AssertionError(f"The only supported dtypes for dynamic quantized linear are qint8 and float16, "
                                 f"got: {observer.dtype}")
        observer(mod.weight)
        qweight = _quantize_weight(mod.weight.detach().float(), observer)
        qlinear = cls(mod.in_features, mod.out_features, dtype=observer.dtype)
        qlinear.set_weight_bias(qweight, mod.bias)
        return qlinear
