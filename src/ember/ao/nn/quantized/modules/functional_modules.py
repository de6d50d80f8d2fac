"""Modules standing for tensor arithmetic in a quantizable model: ``FloatFunctional`` (float, observed after
prepare) and ``QFunctional`` (quantized, with the observed output qparams) after convert."""

from __future__ import annotations

from typing import Any

from ..... import nn
from .....nn import functional as F
from .....ops.quantize import quantize_per_tensor
from .utils import _output_qparams, _qparams_to_state

__all__ = ["FloatFunctional", "FXFloatFunctional", "QFunctional"]


class FloatFunctional(nn.Module):
    """Float ``add`` / ``mul`` / ``cat`` … whose outputs an observer can watch (``activation_post_process``)."""

    def __init__(self) -> None:
        super().__init__()
        self.activation_post_process = nn.Identity()

    def forward(self, x: Any) -> Any:
        raise RuntimeError("FloatFunctional is not intended to use the 'forward'. Please use the underlying "
                           "operation")

    def add(self, x: Any, y: Any) -> Any:
        return self.activation_post_process(x + y)

    def add_scalar(self, x: Any, y: float) -> Any:
        return x + y      # not observed: the output qparams follow the input's

    def mul(self, x: Any, y: Any) -> Any:
        return self.activation_post_process(x * y)

    def mul_scalar(self, x: Any, y: float) -> Any:
        return x * y

    def cat(self, x: list, dim: int = 0) -> Any:
        from .....ops.shape import cat
        return self.activation_post_process(cat(x, dim=dim))

    def add_relu(self, x: Any, y: Any) -> Any:
        return self.activation_post_process(F.relu(x + y))

    def matmul(self, x: Any, y: Any) -> Any:
        return self.activation_post_process(x @ y)


class FXFloatFunctional(FloatFunctional):
    """``FloatFunctional`` for FX graph mode (no observer inside: FX inserts them)."""

    def __init__(self) -> None:
        nn.Module.__init__(self)

    def add(self, x: Any, y: Any) -> Any:
        return x + y

    def mul(self, x: Any, y: Any) -> Any:
        return x * y

    def cat(self, x: list, dim: int = 0) -> Any:
        from .....ops.shape import cat
        return cat(x, dim=dim)

    def add_relu(self, x: Any, y: Any) -> Any:
        return F.relu(x + y)

    def matmul(self, x: Any, y: Any) -> Any:
        return x @ y


def _requant(y: Any, like: Any, scale: float, zero_point: int) -> Any:
    return quantize_per_tensor(y, float(scale), int(zero_point), like.dtype)


class QFunctional(nn.Module):
    """Quantized arithmetic: dequantized inputs combined in float and quantized with ``scale``/``zero_point``
    (the scalar variants choose their output qparams as torch's kernels)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = 1.0
        self.zero_point = 0
        self.activation_post_process = nn.Identity()

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        _qparams_to_state(destination, prefix, self.scale, self.zero_point)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        self.scale = float(state_dict.pop(prefix + "scale"))
        self.zero_point = int(state_dict.pop(prefix + "zero_point"))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys, unexpected_keys,
                                      error_msgs)

    def _get_name(self) -> str:
        return "QFunctional"

    def extra_repr(self) -> str:
        return f"scale={self.scale}, zero_point={self.zero_point}"

    def forward(self, x: Any) -> Any:
        raise RuntimeError("Functional is not intended to use the 'forward'. Please use the underlying operation")

    def add(self, x: Any, y: Any) -> Any:
        return self.activation_post_process(_requant(x.dequantize() + y.dequantize(), x, self.scale,
                                                     self.zero_point))

    def add_scalar(self, x: Any, y: float) -> Any:
        """``x + y`` with the input's scale, the zero point shifted by ``-y / scale`` (torch's kernel)."""
        s, z = x.q_scale(), x.q_zero_point()
        return self.activation_post_process(_requant(x.dequantize() + y, x, s, z - round(y / s)))

    def mul(self, x: Any, y: Any) -> Any:
        return self.activation_post_process(_requant(x.dequantize() * y.dequantize(), x, self.scale,
                                                     self.zero_point))

    def mul_scalar(self, x: Any, y: float) -> Any:
        """``x * y`` with the scale times ``|y|``; a negative ``y`` mirrors the zero point in the range."""
        from .....ops.quantize import _QDTYPES
        _, lo, hi = _QDTYPES[x.dtype.name]
        z = x.q_zero_point() if y >= 0 else lo + hi - x.q_zero_point()
        return self.activation_post_process(_requant(x.dequantize() * y, x, x.q_scale() * abs(y), z))

    def cat(self, x: list, dim: int = 0) -> Any:
        from .....ops.shape import cat
        return self.activation_post_process(_requant(cat([t.dequantize() for t in x], dim=dim), x[0], self.scale,
                                                     self.zero_point))

    def add_relu(self, x: Any, y: Any) -> Any:
        return self.activation_post_process(_requant(F.relu(x.dequantize() + y.dequantize()), x, self.scale,
                                                     self.zero_point))

    def matmul(self, x: Any, y: Any) -> Any:
        return self.activation_post_process(_requant(x.dequantize() @ y.dequantize(), x, self.scale,
                                                     self.zero_point))

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> QFunctional:
        if type(mod) is not FloatFunctional:
            raise AssertionError("QFunctional.from_float expects an instance of FloatFunctional")
        new = QFunctional()
        new.scale, new.zero_point = _output_qparams(mod.activation_post_process)
        return new
