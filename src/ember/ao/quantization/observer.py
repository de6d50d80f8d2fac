"""Observers: modules that watch the tensors passing through them (running min/max, plain or as a moving
average, per tensor or per channel) and turn what they saw into a quantization scale and zero point.

The arithmetic is torch's, step for step in float32 ember ops, so ``calculate_qparams`` gives torch's scales
and zero points bit for bit.
"""

from __future__ import annotations

import warnings
from typing import Any

from ... import nn
from ..._core import dtype as D
from ...ops import creation as C
from ...ops import elementwise as E
from ...ops import indexing as I
from ...ops import reduction as R
from ...ops.quantize import (
    per_channel_affine,
    per_channel_affine_float_qparams,
    per_channel_symmetric,
    per_tensor_affine,
    per_tensor_symmetric,
)
from .utils import (
    _with_args,
    _with_callable_args,
    calculate_qmin_qmax,
    check_min_max_valid,
    is_per_channel,
    is_per_tensor,
    validate_qmin_qmax,
)

__all__ = [
    "ObserverBase", "UniformQuantizationObserverBase", "MinMaxObserver", "MovingAverageMinMaxObserver",
    "PerChannelMinMaxObserver", "MovingAveragePerChannelMinMaxObserver", "default_observer",
    "default_weight_observer", "default_per_channel_weight_observer", "weight_observer_range_neg_127_to_127",
    "per_channel_weight_observer_range_neg_127_to_127", "default_float_qparams_observer", "PlaceholderObserver",
    "default_placeholder_observer", "default_dynamic_quant_observer", "FixedQParamsObserver",
    "default_fixed_qparams_range_neg1to1_observer", "default_fixed_qparams_range_0to1_observer",
]

_EPS = 1.1920928955078125e-07      # torch.finfo(torch.float32).eps
_GAP17, _GAP21 = " " * 17, " " * 21    # torch's messages keep their source lines' indentation
_ALLOWED_DTYPES = ("qint8", "quint8", "quint4x2", "qint32", "int8", "uint8", "int16", "int32", "float8_e5m2",
                   "float8_e4m3fn", "uint16")


def _factory(factory_kwargs: dict | None) -> dict:
    """``torch.nn.factory_kwargs``: the device/dtype keywords a buffer is created with."""
    return {k: v for k, v in (factory_kwargs or {}).items() if k in ("device", "dtype") and v is not None}


class ObserverBase(nn.Module):
    """Base of all observers: ``forward`` records statistics, ``calculate_qparams`` turns them into qparams."""

    def __init__(self, dtype: Any, is_dynamic: bool = False) -> None:
        super().__init__()
        self.dtype = dtype
        self.is_dynamic = is_dynamic

    def forward(self, x: Any) -> Any:
        raise NotImplementedError

    def calculate_qparams(self, **kwargs: Any) -> Any:
        raise NotImplementedError

    with_args = classmethod(_with_args)
    with_callable_args = classmethod(_with_callable_args)


class UniformQuantizationObserverBase(ObserverBase):
    """Observers of affine/symmetric uniform quantization: the qscheme, the integer range (dtype's default or
    the user's, optionally halved by ``reduce_range``) and the ``eps`` floor for scales."""

    _version = 3

    def __init__(self, dtype: Any = D.quint8, qscheme: Any = per_tensor_affine, reduce_range: bool = False,
                 quant_min: int | None = None, quant_max: int | None = None, factory_kwargs: dict | None = None,
                 eps: float = _EPS, is_dynamic: bool = False, **kwargs: Any) -> None:
        factory_kwargs = _factory(factory_kwargs)
        super().__init__(dtype=dtype, is_dynamic=is_dynamic, **kwargs)
        self.qscheme = qscheme
        if reduce_range:
            warnings.warn("Please use quant_min and quant_max to specify the range for observers." + _GAP21
                          + "reduce_range will be deprecated in a future release of PyTorch.", stacklevel=2)
        self.reduce_range = reduce_range
        self.register_buffer("eps", C.tensor([eps], **factory_kwargs))
        if qscheme not in (per_tensor_affine, per_tensor_symmetric, per_channel_affine, per_channel_symmetric,
                           per_channel_affine_float_qparams):
            raise AssertionError("Default Observer only works for per_tensor_affine, per_tensor_symmetric, "
                                 "per_channel_affine, per_channel_symmetric and per_channel_float_qparams "
                                 "quantization scheme")
        if getattr(dtype, "name", None) not in _ALLOWED_DTYPES:
            allowed = ", ".join(f"torch.{n}" for n in _ALLOWED_DTYPES)
            raise AssertionError(f"Default Observer only works for ({allowed}) data type")
        self.has_customized_qrange = quant_min is not None and quant_max is not None
        if self.has_customized_qrange:
            validate_qmin_qmax(quant_min, quant_max)
        self.quant_min, self.quant_max = calculate_qmin_qmax(quant_min, quant_max, self.has_customized_qrange,
                                                             dtype, reduce_range)

    def _calculate_qparams(self, min_val: Any, max_val: Any) -> tuple[Any, Any]:
        """Scale and zero point for the range ``[min_val, max_val]`` (per tensor or per channel), widened to
        contain 0; symmetric schemes centre the range, the scale never goes below ``eps``."""
        if not check_min_max_valid(min_val, max_val):
            return C.tensor([1.0], device=min_val.device.type), C.tensor([0], device=min_val.device.type)
        quant_min, quant_max = self.quant_min, self.quant_max
        min_val_neg = R.min(min_val, C.zeros_like(min_val))
        max_val_pos = R.max(max_val, C.zeros_like(max_val))
        device = min_val_neg.device
        zero_point = C.zeros(min_val_neg.size(), dtype=D.int64, device=device)
        if self.qscheme in (per_tensor_symmetric, per_channel_symmetric):
            max_val_pos = R.max(-min_val_neg, max_val_pos)
            scale = R.max(max_val_pos / (float(quant_max - quant_min) / 2), self.eps)
            if self.dtype.name in ("quint8", "uint8"):
                mid = (quant_min + quant_max) // 2 if self.has_customized_qrange else 128
                zero_point = zero_point.new_full(zero_point.size(), mid)
            elif self.dtype.name == "uint16":
                zero_point = zero_point.new_full(zero_point.size(), 2 ** 15)
        elif self.qscheme is per_channel_affine_float_qparams:
            scale = (max_val - min_val) / float(quant_max - quant_min)
            scale = I.where(scale > self.eps, scale, C.ones_like(scale))
            zero_point = -1 * min_val / scale
        else:
            scale = R.max((max_val_pos - min_val_neg) / float(quant_max - quant_min), self.eps)
            zero_point = quant_min - E.round(min_val_neg / scale).to(D.int32)
            zero_point = E.clamp(zero_point, quant_min, quant_max)
        if scale.dim() == 0:
            scale = C.tensor([float(scale)], dtype=scale.dtype, device=device)
        if zero_point.dim() == 0:
            zero_point = C.tensor([int(zero_point)], dtype=zero_point.dtype, device=device)
            if self.qscheme is per_channel_affine_float_qparams:
                zero_point = C.tensor([float(zero_point)], dtype=zero_point.dtype, device=device)
        return scale, zero_point

    def reset_min_max_vals(self) -> None:
        raise NotImplementedError("Cannot reset min/max values in the given observer.")


class MinMaxObserver(UniformQuantizationObserverBase):
    """Running minimum and maximum of everything observed (per tensor)."""

    def __init__(self, dtype: Any = D.quint8, qscheme: Any = per_tensor_affine, reduce_range: bool = False,
                 quant_min: int | None = None, quant_max: int | None = None, factory_kwargs: dict | None = None,
                 eps: float = _EPS, is_dynamic: bool = False, **kwargs: Any) -> None:
        if not is_per_tensor(qscheme):
            raise NotImplementedError("MinMaxObserver's qscheme only support torch.per_tensor_symmetric" + _GAP21
                                      + "and torch.per_tensor_affine.")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range, quant_min=quant_min,
                         quant_max=quant_max, factory_kwargs=factory_kwargs, eps=eps, is_dynamic=is_dynamic,
                         **kwargs)
        fk = _factory(factory_kwargs)
        self.register_buffer("min_val", C.tensor(float("inf"), **fk))
        self.register_buffer("max_val", C.tensor(float("-inf"), **fk))
        if self.qscheme is per_tensor_symmetric and self.reduce_range and self.dtype is D.quint8:
            raise NotImplementedError("Cannot reduce range for symmetric" + " " * 40 + "quantization for quint8")

    def forward(self, x_orig: Any) -> Any:
        """Record the running minimum and maximum of ``x_orig``; returns it unchanged."""
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach().to(self.min_val.dtype)
        cur_min, cur_max = R.aminmax(x)
        self.min_val.copy_(R.min(cur_min, self.min_val))
        self.max_val.copy_(R.max(cur_max, self.max_val))
        return x_orig

    def calculate_qparams(self) -> tuple[Any, Any]:
        return self._calculate_qparams(self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"

    def reset_min_max_vals(self) -> None:
        self.min_val.copy_(C.tensor(float("inf")))
        self.max_val.copy_(C.tensor(float("-inf")))


class MovingAverageMinMaxObserver(MinMaxObserver):
    """Moving averages ``m += c * (min(X) - m)`` of the minimum and maximum (per tensor)."""

    def __init__(self, averaging_constant: float = 0.01, dtype: Any = D.quint8, qscheme: Any = per_tensor_affine,
                 reduce_range: bool = False, quant_min: int | None = None, quant_max: int | None = None,
                 eps: float = _EPS, is_dynamic: bool = False, **kwargs: Any) -> None:
        if not is_per_tensor(qscheme):
            raise NotImplementedError(
                f"MovingAverageMinMaxObserver's qscheme only support{_GAP17}torch.per_tensor_symmetric "
                f"and torch.per_tensor_affine.{_GAP17}but got: {qscheme}")
        self.averaging_constant = averaging_constant
        if is_dynamic and averaging_constant != 1:
            raise NotImplementedError("MovingAverageMinMaxObserver doesn't support dynamic quantization for "
                                      f"averaging constant of {averaging_constant}")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range, quant_min=quant_min,
                         quant_max=quant_max, eps=eps, is_dynamic=is_dynamic, **kwargs)

    def forward(self, x_orig: Any) -> Any:
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach().to(self.min_val.dtype)
        min_val, max_val = self.min_val, self.max_val
        cur_min, cur_max = R.aminmax(x)
        if min_val == float("inf") and max_val == float("-inf"):
            min_val, max_val = cur_min, cur_max
        else:
            min_val = min_val + self.averaging_constant * (cur_min - min_val)
            max_val = max_val + self.averaging_constant * (cur_max - max_val)
        self.min_val.copy_(min_val)
        self.max_val.copy_(max_val)
        return x_orig


def _channel_rows(x: Any, ch_axis: int) -> Any:
    """``x`` with the channel axis first and the rest flattened: one row per channel."""
    order = list(range(x.dim()))
    order[ch_axis], order[0] = 0, ch_axis
    return x.permute(order).flatten(1)


class PerChannelMinMaxObserver(UniformQuantizationObserverBase):
    """Running minimum and maximum per slice along ``ch_axis``."""

    def __init__(self, ch_axis: int = 0, dtype: Any = D.quint8, qscheme: Any = per_channel_affine,
                 reduce_range: bool = False, quant_min: int | None = None, quant_max: int | None = None,
                 factory_kwargs: dict | None = None, eps: float = _EPS, is_dynamic: bool = False,
                 **kwargs: Any) -> None:
        if not is_per_channel(qscheme):
            raise NotImplementedError(
                f"PerChannelMinMaxObserver's qscheme only support{_GAP21}torch.per_channel_symmetric, "
                "torch.per_channel_affine and torch.per_channel_affine_float_qparams.")
        if is_dynamic:
            raise NotImplementedError("PerChannelMinMaxObserver doesn't support dynamic quantization")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range, quant_min=quant_min,
                         quant_max=quant_max, factory_kwargs=factory_kwargs, eps=eps, is_dynamic=is_dynamic,
                         **kwargs)
        fk = _factory(factory_kwargs)
        self.ch_axis = ch_axis
        self.register_buffer("min_val", C.tensor([], **fk))
        self.register_buffer("max_val", C.tensor([], **fk))
        if self.qscheme is per_channel_symmetric and self.reduce_range and self.dtype is D.quint8:
            raise NotImplementedError("Cannot reduce range for symmetric quantization for quint8")

    def _combine(self, cur: Any, old: Any, take_min: bool) -> Any:
        return R.min(cur, old) if take_min else R.max(cur, old)

    def forward(self, x_orig: Any) -> Any:
        if x_orig.numel() == 0:
            return x_orig
        y = _channel_rows(x_orig.detach(), self.ch_axis).to(self.min_val.dtype)
        cur_min, cur_max = R.aminmax(y, dim=1)
        if self.min_val.numel() == 0 or self.max_val.numel() == 0:
            min_val, max_val = cur_min, cur_max
        else:
            min_val = self._combine(cur_min, self.min_val, True)
            max_val = self._combine(cur_max, self.max_val, False)
        self.min_val.resize_(min_val.shape)
        self.max_val.resize_(max_val.shape)
        self.min_val.copy_(min_val)
        self.max_val.copy_(max_val)
        return x_orig

    def calculate_qparams(self) -> tuple[Any, Any]:
        return self._calculate_qparams(self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        # the buffers start empty: take the checkpoint's sizes before the values are copied in
        version = local_metadata.get("version")
        names = ("min_vals", "max_vals") if version is not None and version < 3 else ("min_val", "max_val")
        for name, buf in zip(names, (self.min_val, self.max_val), strict=True):
            key = prefix + name
            if key in state_dict:
                buf.resize_(state_dict[key].shape)
            elif strict:
                missing_keys.append(key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys, unexpected_keys,
                                      error_msgs)

    def reset_min_max_vals(self) -> None:
        self.min_val = C.tensor([])
        self.max_val = C.tensor([])


class MovingAveragePerChannelMinMaxObserver(PerChannelMinMaxObserver):
    """Per-channel moving averages of the minimum and maximum."""

    def __init__(self, averaging_constant: float = 0.01, ch_axis: int = 0, dtype: Any = D.quint8,
                 qscheme: Any = per_channel_affine, reduce_range: bool = False, quant_min: int | None = None,
                 quant_max: int | None = None, eps: float = _EPS, is_dynamic: bool = False, **kwargs: Any) -> None:
        if not is_per_channel(qscheme):
            raise NotImplementedError(
                f"MovingAveragePerChannelMinMaxObserver's qscheme only support{_GAP21}torch.per_channel_symmetric, "
                "torch.per_channel_affine and torch.per_channel_affine_float_qparams.")
        if is_dynamic:
            raise NotImplementedError("MovingAveragePerChannelMinMaxObserver doesn't support dynamic quantization")
        super().__init__(ch_axis=ch_axis, dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max, eps=eps, is_dynamic=is_dynamic, **kwargs)
        self.averaging_constant = averaging_constant

    def _combine(self, cur: Any, old: Any, take_min: bool) -> Any:
        return old + self.averaging_constant * (cur - old)


class FixedQParamsObserver(ObserverBase):
    """An observer with fixed qparams (for ops of known output range such as sigmoid or tanh)."""

    def __init__(self, scale: float, zero_point: int, dtype: Any = D.quint8, qscheme: Any = per_tensor_affine,
                 quant_min: int = 0, quant_max: int = 255, is_dynamic: bool = False, **kwargs: Any) -> None:
        if is_dynamic:
            raise NotImplementedError("FixedQParamsObserver doesn't support dynamic quantization")
        super().__init__(dtype=dtype, is_dynamic=is_dynamic, **kwargs)
        self.quant_min, self.quant_max = quant_min, quant_max
        self.register_buffer("scale", C.tensor([scale], dtype=D.float32))
        self.register_buffer("zero_point", C.tensor([zero_point], dtype=D.int32))
        self.qscheme = qscheme

    def forward(self, X: Any) -> Any:
        return X

    def calculate_qparams(self) -> tuple[Any, Any]:
        return self.scale, self.zero_point


class PlaceholderObserver(ObserverBase):
    """An observer that records nothing: it only carries the dtype (and ``is_dynamic``) a later step uses."""

    def __init__(self, dtype: Any = D.float32, custom_op_name: str = "", compute_dtype: Any = None,
                 quant_min: int | None = None, quant_max: int | None = None, qscheme: Any = None,
                 eps: float | None = None, is_dynamic: bool = False) -> None:
        super().__init__(dtype=dtype, is_dynamic=is_dynamic)
        self.qscheme = per_tensor_affine if qscheme is None else qscheme
        self.quant_min, self.quant_max = quant_min, quant_max
        self.eps = _EPS if eps is None else eps
        self.custom_op = custom_op_name

    def forward(self, x: Any) -> Any:
        return x

    def extra_repr(self) -> str:
        return f"dtype={self.dtype}, is_dynamic={self.is_dynamic}"

    def calculate_qparams(self) -> Any:
        raise Exception("calculate_qparams should not be called for PlaceholderObserver")  # noqa: TRY002


default_observer = MinMaxObserver.with_args(quant_min=0, quant_max=127)
default_fixed_qparams_range_neg1to1_observer = FixedQParamsObserver.with_args(
    scale=2.0 / 256.0, zero_point=128, dtype=D.quint8, quant_min=0, quant_max=255)
default_fixed_qparams_range_0to1_observer = FixedQParamsObserver.with_args(
    scale=1.0 / 256.0, zero_point=0, dtype=D.quint8, quant_min=0, quant_max=255)
default_placeholder_observer = PlaceholderObserver
default_dynamic_quant_observer = PlaceholderObserver.with_args(dtype=D.quint8, quant_min=0, quant_max=255,
                                                               is_dynamic=True)
default_weight_observer = MinMaxObserver.with_args(dtype=D.qint8, qscheme=per_tensor_symmetric)
weight_observer_range_neg_127_to_127 = MinMaxObserver.with_args(
    dtype=D.qint8, qscheme=per_tensor_symmetric, quant_min=-127, quant_max=127, eps=2 ** -12)
default_per_channel_weight_observer = PerChannelMinMaxObserver.with_args(dtype=D.qint8, qscheme=per_channel_symmetric)
per_channel_weight_observer_range_neg_127_to_127 = PerChannelMinMaxObserver.with_args(
    dtype=D.qint8, qscheme=per_channel_symmetric, quant_min=-127, quant_max=127, eps=2 ** -12)
default_float_qparams_observer = PerChannelMinMaxObserver.with_args(
    dtype=D.quint8, qscheme=per_channel_affine_float_qparams, ch_axis=0)
