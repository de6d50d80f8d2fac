"""What the quantized modules share: weight quantization from an observer, the float qparams as state_dict
tensors, and torch's repr that hides the packed-parameter holder."""

from __future__ import annotations

from typing import Any

from ..... import nn
from ....._core import dtype as D
from .....nn.modules.module import _addindent
from .....ops import creation as C
from .....ops.quantize import (
    QuantizedTensor,
    per_channel_affine,
    per_channel_affine_float_qparams,
    per_channel_symmetric,
    per_tensor_affine,
    per_tensor_symmetric,
    quantize_per_channel,
    quantize_per_tensor,
)

__all__ = ["WeightedQuantizedModule"]


def _quantize_weight(float_wt: Any, observer: Any) -> QuantizedTensor:
    """``float_wt`` quantized with the qparams its (already run) observer chose."""
    scale, zero_point = observer.calculate_qparams()
    if observer.qscheme in (per_tensor_affine, per_tensor_symmetric):
        return quantize_per_tensor(float_wt, float(scale), int(zero_point), D.qint8)
    if observer.qscheme in (per_channel_affine, per_channel_symmetric):
        return quantize_per_channel(float_wt, scale.to(D.float64), zero_point.to(D.int64), observer.ch_axis,
                                    D.qint8)
    if observer.qscheme is per_channel_affine_float_qparams:
        return quantize_per_channel(float_wt, scale.float(), zero_point.float(), observer.ch_axis, observer.dtype)
    raise ValueError(f"Unexpected qscheme {observer.qscheme}")


def _output_qparams(observer: Any) -> tuple[float, int]:
    scale, zero_point = observer.calculate_qparams()
    return float(scale), int(zero_point)


class WeightedQuantizedModule(nn.Module):
    """Base of the quantized modules with weights (Linear, Conv*): output ``scale``/``zero_point`` attributes
    saved as tensors, the packed-parameter holder hidden from the repr."""

    def __repr__(self) -> str:
        lines = [f"({name}): " + _addindent(repr(m), 2) for name, m in self._modules.items()
                 if not isinstance(m, _PackedParams)]
        extra = self.extra_repr()
        if not lines:
            return f"{self._get_name()}({extra})"
        body = ([extra] if extra else []) + lines
        return f"{self._get_name()}(\n  " + "\n  ".join(body) + "\n)"

    @classmethod
    def from_reference(cls, ref_module: Any, output_scale: float, output_zero_point: int) -> Any:
        raise NotImplementedError("ember has no reference quantized modules")


class _PackedParams(nn.Module):
    """Marker base of the packed-parameter holders (hidden from their owners' reprs)."""


def _qparams_to_state(destination: dict, prefix: str, scale: float, zero_point: int) -> None:
    destination[prefix + "scale"] = C.tensor(scale)
    destination[prefix + "zero_point"] = C.tensor(zero_point)
