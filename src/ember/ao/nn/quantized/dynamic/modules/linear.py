"""Dynamic int8 Linear: an int8 weight (quantized once) times the input quantized per call to uint8."""

from __future__ import annotations

from typing import Any

from ...... import nn
from ......_core import dtype as D
from ......nn.modules.linear import NonDynamicallyQuantizableLinear
from ......ops.quantize import linear_dynamic
from ...modules import linear as nnq
from ...modules.utils import _quantize_weight

__all__ = ["Linear", "LinearPackedParams"]

LinearPackedParams = nnq.LinearPackedParams


class Linear(nnq.Linear):
    """``torch.ao.nn.quantized.dynamic.Linear`` (prints as ``DynamicQuantizedLinear``): float in, float out,
    with fbgemm's numerics (see :func:`ember.ops.quantize.linear_dynamic`)."""

    _version = 4
    _FLOAT_MODULE: Any = (nn.Linear, NonDynamicallyQuantizableLinear)

    def __init__(self, in_features: int, out_features: int, bias_: bool = True, dtype: Any = D.qint8) -> None:
        super().__init__(in_features, out_features, bias_, dtype=dtype)
        self.version = 4

    def forward(self, x: Any) -> Any:
        weight, bias = self._weight_bias()
        return linear_dynamic(x, weight, bias, reduce_range=self.version is not None and self.version >= 4)

    def _get_name(self) -> str:
        return "DynamicQuantizedLinear"

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"dtype={self._packed_params.dtype}, qscheme={self.weight().qscheme()}")

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> Linear:
        """Quantize a float ``nn.Linear`` (its ``qconfig``'s weight observer, else the default dynamic one):
        the weight to int8 once, the bias kept in float."""
        from ....intrinsic.modules.fused import LinearReLU
        allowed = (nn.Linear, NonDynamicallyQuantizableLinear, LinearReLU)
        if type(mod) not in allowed:
            raise AssertionError(f"nn.quantized.dynamic.Linear.from_float only works for one of"
                                 f"{[f.__name__ for f in allowed]}, got {type(mod)}")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        if isinstance(mod, nn.Sequential):
            mod = mod[0]
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
