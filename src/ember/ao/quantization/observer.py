"""Observers: modules that watch the tensors passing through them (running min/max, plain or as a moving
average, per tensor or per channel) and turn what they saw into a quantization scale and zero point.

The arithmetic is torch's, step for step in float32 ember ops, so ``calculate_qparams`` gives torch's scales
and zero points bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import nn
from ..._core import dtype as D
from ..._core.warn import warn
from ...ops import creation as C
from ...ops import elementwise as E
from ...ops import indexing as I
from ...ops import reduction as R
from ...ops import sorting as S
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
    "HistogramObserver", "default_histogram_observer", "NoopObserver", "RecordingObserver", "ReuseInputObserver",
    "default_debug_observer", "default_reuse_input_observer", "default_affine_fixed_qparams_observer",
    "default_symmetric_fixed_qparams_observer", "default_float_qparams_observer_4bit", "get_observer_state_dict",
    "load_observer_state_dict",
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
            warn("Please use quant_min and quant_max to specify the range for observers." + _GAP21
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


class HistogramObserver(UniformQuantizationObserverBase):
    """A running histogram of the observed values (re-binned as the range grows); the qparams come from the
    sub-range that minimises the L2 quantization error (torch's non-linear search). The array work follows
    torch's float32 steps; the error sums are taken in float64, so a near-tie between two candidate ranges could
    end the search one step apart from torch."""

    def __init__(self, bins: int = 2048, dtype: Any = D.quint8, qscheme: Any = per_tensor_affine,
                 reduce_range: bool = False, quant_min: int | None = None, quant_max: int | None = None,
                 factory_kwargs: dict | None = None, eps: float = _EPS, is_dynamic: bool = False,
                 **kwargs: Any) -> None:
        if not is_per_tensor(qscheme):
            raise NotImplementedError("HistogramObserver's qscheme only support torch.per_tensor_symmetric"
                                      + _GAP21 + "and torch.per_tensor_affine.")
        if is_dynamic:
            raise NotImplementedError("HistogramObserver doesn't support dynamic quantization")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range, quant_min=quant_min,
                         quant_max=quant_max, factory_kwargs=factory_kwargs, eps=eps, is_dynamic=is_dynamic,
                         **kwargs)
        fk = _factory(factory_kwargs)
        self.bins = bins
        self.register_buffer("histogram", C.zeros(bins, **fk))
        self.register_buffer("min_val", C.tensor(float("inf"), **fk))
        self.register_buffer("max_val", C.tensor(float("-inf"), **fk))
        self.dst_nbins = 2 ** (8 * dtype.itemsize)
        self.upsample_rate = 16

    # -- the histogram --------------------------------------------------------------------------------------
    def _histc(self, x: Any, lo: Any, hi: Any) -> Any:
        return S.histc(x, self.bins, min=float(lo), max=float(hi))

    def _upscale_histogram(self, hist: Any, orig_min: Any, orig_max: Any, new_min: Any, new_max: Any) -> Any:
        """Spread the old histogram over 16x finer bins and drop their mid-points into the new bins (float32
        sums in index order, as torch's bincount)."""
        f32 = np.float32
        rate, n = self.upsample_rate, self.bins
        h = np.repeat(hist._data, rate) / f32(rate)
        size = (orig_max - orig_min) / (n * rate)
        mids = C.linspace(orig_min, orig_max, n * rate + 1)[:-1] + 0.5 * size
        bounds = C.linspace(new_min, new_max, n + 1)
        idx = np.searchsorted(bounds._data, mids._data, side="right") - 1
        idx = np.clip(idx, 0, n - 1)
        out = np.zeros(n, f32)
        np.add.at(out, idx, h)
        return C.tensor(out)

    def _combine_histograms(self, orig_hist: Any, orig_min: Any, orig_max: Any, update_hist: Any, update_min: Any,
                            update_max: Any) -> Any:
        if update_min == orig_min and update_max == orig_max:
            return orig_hist + update_hist
        if orig_min == orig_max:
            return self._histc(orig_min, update_min, update_max) * R.sum(orig_hist) + update_hist
        if update_min > orig_min:
            raise AssertionError("update_min must be <= orig_min")
        if update_max < orig_max:
            raise AssertionError("update_max must be >= orig_max")
        return update_hist + self._upscale_histogram(orig_hist, orig_min, orig_max, update_min, update_max)

    def _store(self, name: str, value: Any) -> None:
        buf = getattr(self, name)
        buf.detach_().resize_(value.shape)
        buf.copy_(value)

    def reset_histogram(self, x: Any, min_val: Any, max_val: Any) -> None:
        self._store("min_val", min_val)
        self._store("max_val", max_val)
        self._store("histogram", self._histc(x, min_val, max_val))

    def forward(self, x_orig: Any) -> Any:
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach()
        x_min, x_max = R.aminmax(x)
        if x_min == float("-inf") or x_max == float("inf"):
            warn("torch.inf detected in input tensor, ignoring input", stacklevel=2)
            x = x[x.abs() != float("inf")]
            if x.numel() == 0:
                return x_orig
            x_min, x_max = R.aminmax(x)
        cur_min, cur_max = self.min_val, self.max_val
        if cur_min == float("inf") or cur_max == float("-inf"):
            self.reset_histogram(x, x_min, x_max)
            return x_orig
        new_min, new_max = R.min(cur_min, x_min).detach(), R.max(cur_max, x_max).detach()
        update = self._histc(x, new_min, new_max)
        if new_min == cur_min and new_max == cur_max:
            self._store("histogram", self.histogram + update)
        else:
            self._store("histogram", self._combine_histograms(self.histogram, cur_min, cur_max, update, new_min,
                                                              new_max))
            self._store("min_val", new_min)
            self._store("max_val", new_max)
        return x_orig

    # -- the search -----------------------------------------------------------------------------------------
    def _compute_quantization_error(self, start: int, end: int) -> float:
        """L2 error of quantizing the histogram with bins ``start..end`` as the range (torch's float32 steps)."""
        f32 = np.float32
        bin_width = (self.max_val.item() - self.min_val.item()) / self.bins
        dst_width = bin_width * (end - start + 1) / self.dst_nbins
        if dst_width == 0.0:
            return 0.0
        w, dw = f32(bin_width), f32(dst_width)
        begin = (np.arange(self.bins) - start).astype(f32) * w
        stop = begin + w
        top = f32(self.dst_nbins - 1)
        dst_begin = np.clip(np.floor_divide(begin, dw), f32(0), top)
        dst_end = np.clip(np.floor_divide(stop, dw), f32(0), top)
        density = self.histogram._data / w

        def l2(lo: Any, hi: Any) -> Any:
            return density * ((hi * hi * hi - lo * lo * lo) / f32(3))

        half = f32(dst_width / 2)
        norm = np.zeros(self.bins, f32)
        norm += l2(begin - (dst_begin + f32(0.5)) * dw, np.ones(self.bins, f32) * half)
        norm += (dst_end - dst_begin - f32(1)) * l2(f32(-dst_width / 2), half)
        norm += l2(f32(-dst_width / 2), stop - (dst_end * dw + half))
        return float(norm.astype(np.float64).sum().astype(f32))

    def _non_linear_param_search(self) -> tuple[Any, Any]:
        """Shrink the range from whichever end holds less of the histogram mass while the L2 error falls."""
        if self.histogram.numel() != self.bins:
            raise AssertionError("bins mismatch")
        bin_width = (self.max_val - self.min_val) / self.bins
        hist = self.histogram._data
        total = float(hist.astype(np.float64).sum().astype(np.float32))
        csum = np.cumsum(hist.astype(np.float64)).astype(np.float32).tolist()
        step, alpha, beta = 1e-5, 0.0, 1.0
        start, end = 0, self.bins - 1
        norm_min = float("inf")
        while alpha < beta:
            next_alpha, next_beta = alpha + step, beta - step
            lo, hi = start, end
            while lo < end and csum[lo] < next_alpha * total:
                lo += 1
            while hi > start and csum[hi] > next_beta * total:
                hi -= 1
            next_start, next_end = start, end
            if (lo - start) > (end - hi):
                next_start, alpha = lo, next_alpha
            else:
                next_end, beta = hi, next_beta
            if next_start == start and next_end == end:
                continue
            norm = self._compute_quantization_error(next_start, next_end)
            if norm > norm_min:
                break
            norm_min, start, end = norm, next_start, next_end
        return self.min_val + bin_width * start, self.min_val + bin_width * (end + 1)

    def calculate_qparams(self) -> tuple[Any, Any]:
        if self.min_val == float("inf") and self.max_val == float("-inf"):
            warn("must run observer before calling calculate_qparams." + " " * 36
                 + "Returning default scale and zero point ", stacklevel=2)
            return C.tensor([1.0], device=self.min_val.device.type), C.tensor([0], device=self.min_val.device.type)
        if self.bins != len(self.histogram):
            raise AssertionError("The number of bins in histogram should be equal to the number of bins supplied "
                                 "while making this observer")
        new_min, new_max = self._non_linear_param_search()
        return self._calculate_qparams(new_min, new_max)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


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


class RecordingObserver(ObserverBase):
    """Debugging observer: keeps a copy of every tensor it sees (``get_tensor_value``)."""

    __annotations__ = {"tensor_val": list[Any | None]}

    def __init__(self, dtype: Any = D.quint8) -> None:
        super().__init__(dtype=dtype, is_dynamic=False)
        self.tensor_val: list = []

    def forward(self, x: Any) -> Any:
        self.tensor_val.append(x.clone())
        return x

    def calculate_qparams(self) -> Any:
        raise Exception("calculate_qparams should not be called for RecordingObserver")  # noqa: TRY002

    def get_tensor_value(self) -> list:
        return self.tensor_val


class NoopObserver(ObserverBase):
    """Observes nothing; only carries a dtype (fp16 by default) for the conversion step."""

    def __init__(self, dtype: Any = D.float16, custom_op_name: str = "") -> None:
        super().__init__(dtype=dtype, is_dynamic=False)
        self.dtype = dtype
        self.custom_op = custom_op_name

    def forward(self, x: Any) -> Any:
        return x

    def calculate_qparams(self) -> Any:
        raise Exception("calculate_qparams should not be called for NoopObserver")  # noqa: TRY002


class ReuseInputObserver(ObserverBase):
    """Marks an output that reuses its input's qparams (``reshape`` and friends)."""

    def __init__(self) -> None:
        super().__init__(D.quint8, is_dynamic=False)

    def forward(self, x: Any) -> Any:
        return x

    def calculate_qparams(self) -> Any:
        raise Exception("calculate_qparams should not be called for ReuseInputObserver")  # noqa: TRY002


def get_observer_state_dict(mod: nn.Module) -> dict:
    """The state_dict entries of the observers / fake-quantizers in ``mod`` (their ``activation_post_process``
    and ``*_fake_quant`` submodules)."""
    from collections import OrderedDict
    return OrderedDict((k, v) for k, v in mod.state_dict().items()
                       if "activation_post_process" in k or "fake_quant" in k)


def load_observer_state_dict(mod: nn.Module, obs_dict: dict) -> None:
    """Load observer statistics saved by :func:`get_observer_state_dict` (min/max buffers resized as needed)."""
    missing = []
    for name, module in mod.named_modules():
        prefix = name + "." if name else ""
        if isinstance(module, ObserverBase):
            for key in ("min_val", "max_val"):
                if prefix + key in obs_dict and hasattr(module, key):
                    getattr(module, key).resize_(obs_dict[prefix + key].shape)
    unexpected = []
    for key, value in obs_dict.items():
        try:
            target = mod.get_submodule(key.rsplit(".", 1)[0]) if "." in key else mod
            buf = getattr(target, key.rsplit(".", 1)[-1])
            buf.copy_(value)
        except AttributeError:
            unexpected.append(key)
    if missing or unexpected:
        raise Exception(f"Missing keys for observer {missing} in state_dict")  # noqa: TRY002


default_observer = MinMaxObserver.with_args(quant_min=0, quant_max=127)
default_fixed_qparams_range_neg1to1_observer = FixedQParamsObserver.with_args(
    scale=2.0 / 256.0, zero_point=128, dtype=D.quint8, quant_min=0, quant_max=255)
default_fixed_qparams_range_0to1_observer = FixedQParamsObserver.with_args(
    scale=1.0 / 256.0, zero_point=0, dtype=D.quint8, quant_min=0, quant_max=255)
default_placeholder_observer = PlaceholderObserver
default_histogram_observer = HistogramObserver.with_args(quant_min=0, quant_max=127)
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
default_float_qparams_observer_4bit = PerChannelMinMaxObserver.with_args(
    dtype=D.quint4x2, qscheme=per_channel_affine_float_qparams, ch_axis=0)
default_debug_observer = RecordingObserver
default_reuse_input_observer = ReuseInputObserver
default_affine_fixed_qparams_observer = default_fixed_qparams_range_0to1_observer
default_symmetric_fixed_qparams_observer = default_fixed_qparams_range_neg1to1_observer
