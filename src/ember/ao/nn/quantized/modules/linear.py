"""Static quantized Linear (``torch.ao.nn.quantized.Linear``): quint8 in, quint8 out, int8 weight."""

from __future__ import annotations

from typing import Any

from ..... import nn
from ....._core import dtype as D
from .....nn.modules.linear import NonDynamicallyQuantizableLinear
from .....ops import creation as C
from .....ops.quantize import QuantizedTensor, quantize_per_tensor
from ..functional import linear_int
from .utils import WeightedQuantizedModule, _output_qparams, _PackedParams, _qparams_to_state, _quantize_weight

__all__ = ["LinearPackedParams", "Linear"]


class LinearPackedParams(_PackedParams):
    """Holder of the quantized weight and float bias (torch's packed-parameter module; its state_dict entries
    are ``dtype`` and the ``(weight, bias)`` tuple ``_packed_params``)."""

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


class Linear(WeightedQuantizedModule):
    """Quantized ``nn.Linear``: fbgemm's integer GEMM and requantization to ``scale``/``zero_point``."""

    _version = 3
    _FLOAT_MODULE: Any = (nn.Linear, NonDynamicallyQuantizableLinear)
    _RELU = False

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

    def _get_name(self) -> str:
        return "QuantizedLinear"

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, scale={self.scale}, "
                f"zero_point={self.zero_point}, qscheme={self.weight().qscheme()}")

    def forward(self, x: Any) -> Any:
        return linear_int(x, *self._weight_bias(), self.scale, self.zero_point, relu=self._RELU)

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        _qparams_to_state(destination, prefix, self.scale, self.zero_point)

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
    def _float_source(cls, mod: nn.Module) -> tuple[nn.Module, Any, Any]:
        """The float linear, its weight post-process and its activation post-process, after torch's checks."""
        if hasattr(mod, "weight_fake_quant"):
            if type(mod).__name__ == "LinearBn1d":
                from .....nn.utils.fusion import fuse_linear_bn_weights
                mod.weight, mod.bias = fuse_linear_bn_weights(mod.weight, mod.bias, mod.bn.running_mean,
                                                              mod.bn.running_var, mod.bn.eps, mod.bn.weight,
                                                              mod.bn.bias)
            return mod, mod.weight_fake_quant, mod.activation_post_process
        floats = cls._FLOAT_MODULE if isinstance(cls._FLOAT_MODULE, tuple) else (cls._FLOAT_MODULE,)
        if type(mod) not in floats:
            raise AssertionError(f"nnq.{cls.__name__}.from_float only works for "
                                 f"{', '.join(f.__name__ for f in floats)}, but got: {type(mod)}")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        act = mod.activation_post_process
        if isinstance(mod, nn.Sequential):     # a fused linear + activation
            mod = mod[0]
        return mod, mod.qconfig.weight(), act

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> Linear:
        """Quantize an observed float (or QAT) linear: int8 weight from its weight observer, output qparams
        from its activation observer."""
        mod, weight_post_process, act = cls._float_source(mod)
        if not use_precomputed_fake_quant:
            weight_post_process(mod.weight)
        dtype = weight_post_process.dtype
        scale, zero_point = _output_qparams(act)
        if dtype is not D.qint8:
            raise AssertionError("Weight observer must have dtype torch.qint8")
        qweight = _quantize_weight(mod.weight.detach().float(), weight_post_process)
        qlinear = cls(mod.in_features, mod.out_features, dtype=dtype)
        qlinear.set_weight_bias(qweight, mod.bias)
        qlinear.scale, qlinear.zero_point = scale, zero_point
        return qlinear
