"""Functional quantized operators (``torch.ao.nn.quantized.functional``) and the kernels the quantized modules
run.

Linear and convolution follow fbgemm's arithmetic: an exact integer product of the zero-point-shifted uint8
input and int8 weight (a float32 GEMM where all partial sums stay below 2**24, else float64: exact either
way), then fbgemm's requantization in float32
``rint((float(acc) + bias / (s_x * s_w)) * ((s_x * s_w) / s_out)) + z_out``, clamped (at ``z_out`` for the
fused ReLU). Results equal torch's x86/fbgemm engines bit for bit while the activations use 7 bits (the default
``reduce_range`` qconfigs); with full 8-bit activations fbgemm's int16 pair sums may saturate, ember's do not.
The other operators dequantize, compute in float and quantize with the output's qparams.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...._core import dtype as D
from ....nn import functional as F
from ....ops._dispatch import Tensor, new_tensor
from ....ops.quantize import (
    _QDTYPES,
    QuantizedTensor,
    _clamp,
    _qtensor,
    per_tensor_affine,
    quantize_per_tensor,
)

__all__ = ["linear", "conv1d", "conv2d", "conv3d", "hardswish", "elu", "celu", "leaky_relu", "hardtanh",
           "hardsigmoid", "clamp", "threshold", "max_pool1d", "max_pool2d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool2d", "adaptive_avg_pool3d", "interpolate", "upsample", "upsample_nearest",
           "upsample_bilinear"]

_F32 = np.float32


def _shifted(q: QuantizedTensor) -> Any:
    """``q - zero_point`` as float64 integers (per tensor, or per channel along axis 0)."""
    a = q._data.astype(np.float64)
    if q._qscheme is per_tensor_affine:
        return a - q._zero_point
    shape = (-1,) + (1,) * (a.ndim - 1)
    if q._axis != 0:
        raise RuntimeError("quantized weights are per channel along axis 0")
    return a - q._zero_point._data.astype(np.float64).reshape(shape)


def _weight_scales(w: QuantizedTensor, channels: int) -> Any:
    if w._qscheme is per_tensor_affine:
        return np.full(channels, w._scale, _F32)
    return w._scale._data.astype(_F32)


def _exact_dtype(a: Any, w: Any, k: int) -> Any:
    """float32 when every partial sum of the integer products stays below 2**24 (exact, and twice as fast as
    float64), else float64 (exact below 2**53)."""
    bound = float(np.abs(a).max(initial=0)) * float(np.abs(w).max(initial=0)) * k
    return np.float32 if bound < 2 ** 24 else np.float64


def requantize(acc: Any, x: QuantizedTensor, w: QuantizedTensor, bias: Tensor | None, scale: float,
               zero_point: int, relu: bool = False, axis: int = -1, out_dtype: Any = D.quint8) -> QuantizedTensor:
    """fbgemm's output stage: the exact int32 accumulator ``acc`` (channels along ``axis``) with the float
    bias, rescaled to the output's qparams in float32 and rounded half to even."""
    channels = acc.shape[axis]
    shape = [1] * acc.ndim
    shape[axis] = channels
    ats = (_F32(x._scale) * _weight_scales(w, channels)).reshape(shape)
    f = acc.astype(_F32)
    if bias is not None:
        f = f + (bias.detach()._data.astype(_F32).reshape(shape) / ats)
    _, lo, hi = _QDTYPES[out_dtype.name]
    with np.errstate(over="ignore", invalid="ignore"):
        y = np.rint(f * (ats / _F32(scale))).astype(np.float64) + zero_point
    y = np.clip(y, zero_point if relu else lo, hi).astype(_QDTYPES[out_dtype.name][0])
    return _qtensor(y, out_dtype, x._device, per_tensor_affine, float(scale), int(zero_point), None)


def _check_input(x: Any, what: str) -> None:
    if not isinstance(x, QuantizedTensor):
        raise NotImplementedError(
            f"Could not run '{what}' with arguments from the 'CPU' backend. This could be because the operator "
            "doesn't exist for this backend, or was omitted during the selective/custom build process (if using "
            "custom build).")
    if x._dtype is not D.quint8:
        raise RuntimeError(f"{what} (ONEDNN/FBGEMM): data type of input should be QUint8.")


def linear_int(x: QuantizedTensor, w: QuantizedTensor, bias: Tensor | None, scale: float, zero_point: int,
               relu: bool = False) -> QuantizedTensor:
    """Quantized ``x @ w.T + bias`` (``torch.ops.quantized.linear`` / ``linear_relu``)."""
    _check_input(x, "quantized::linear")
    k = w.shape[1]
    if x.shape[-1] != k:
        raise RuntimeError(f"The number of rows in the packW should be equal to K: {x.shape[-1]}")
    a = (x._data.astype(np.float64) - x._zero_point).reshape(-1, k)
    wi = _shifted(w)
    dt = _exact_dtype(a, wi, k)
    acc = a.astype(dt) @ wi.astype(dt).T
    out = requantize(acc, x, w, bias, scale, zero_point, relu)
    out._data = out._data.reshape(*x.shape[:-1], w.shape[0])
    return out


def conv_int(x: QuantizedTensor, w: QuantizedTensor, bias: Tensor | None, stride: Any, padding: Any,
             dilation: Any, groups: int, scale: float, zero_point: int, relu: bool = False,
             transposed: bool = False, output_padding: Any = 0, padding_mode: str = "zeros") -> QuantizedTensor:
    """Quantized N-d (transposed) convolution: float convolution of the shifted integers (exact), requantized."""
    n = w.dim() - 2
    _check_input(x, f"quantized::conv{'_transpose' if transposed else ''}{n}d")
    if x.dim() != n + 2:
        raise ValueError(f"Input shape must be `(N, C, {', '.join('DHW'[3 - n:])})`!")
    ai, wi = x._data.astype(np.float64) - x._zero_point, _shifted(w)
    dt = _exact_dtype(ai, wi, wi[0].size if not transposed else wi.shape[0] * wi[0, 0].size)
    a = new_tensor(ai.astype(dt), D.float32 if dt is np.float32 else D.float64, x._device)
    if padding_mode != "zeros":
        pad = [p for p in reversed(padding) for _ in range(2)]
        a = F.pad(a, pad, mode=padding_mode)
        padding = (0,) * n
    wt = new_tensor(wi.astype(dt), a.dtype, w._device)
    if transposed:
        fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[n - 1]
        acc = fn(a, wt, None, stride, padding, output_padding, groups, dilation)
    else:
        fn = (F.conv1d, F.conv2d, F.conv3d)[n - 1]
        acc = fn(a, wt, None, stride, padding, dilation, groups)
    return requantize(acc._data, x, w, bias, scale, zero_point, relu, axis=1)


def dequantized(fn: Any, x: QuantizedTensor, scale: float, zero_point: int, *args: Any, **kwargs: Any) -> Any:
    """``fn`` in float between a dequantize and a quantize with the given output qparams."""
    return quantize_per_tensor(fn(x.dequantize(), *args, **kwargs), float(scale), int(zero_point), x._dtype)


# ---- torch.ao.nn.quantized.functional -------------------------------------------------------------------
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None, scale: float | None = None,
           zero_point: int | None = None) -> Tensor:
    """Quantized linear; the output qparams default to the input's."""
    scale = input.q_scale() if scale is None else scale
    zero_point = input.q_zero_point() if zero_point is None else zero_point
    return linear_int(input, weight, bias, scale, zero_point)


def _conv(n: int, input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any, dilation: Any,
          groups: int, padding_mode: str, scale: float, zero_point: int, dtype: Any) -> Tensor:
    if padding_mode != "zeros":
        raise NotImplementedError("Only zero-padding is supported!")
    if input.dtype is not D.quint8:
        raise NotImplementedError("Only torch.quint8 is supported for activation tensor!")
    if weight.dtype is not D.qint8:
        raise NotImplementedError("Only torch.qint8 is supported for weight tensor!")
    if input.ndim != n + 2:
        raise ValueError(f"Input shape must be `(N, C, {', '.join('DHW'[3 - n:])})`!")
    tup = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,) * n   # noqa: E731
    return conv_int(input, weight, bias, tup(stride), tup(padding), tup(dilation), groups, scale, zero_point)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           groups: int = 1, padding_mode: str = "zeros", scale: float = 1.0, zero_point: int = 0,
           dtype: Any = D.quint8) -> Tensor:
    """Quantized 1-d convolution (quint8 input, qint8 weight, float bias)."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups, padding_mode, scale, zero_point, dtype)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           groups: int = 1, padding_mode: str = "zeros", scale: float = 1.0, zero_point: int = 0,
           dtype: Any = D.quint8) -> Tensor:
    """Quantized 2-d convolution (quint8 input, qint8 weight, float bias)."""
    return _conv(2, input, weight, bias, stride, padding, dilation, groups, padding_mode, scale, zero_point, dtype)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           groups: int = 1, padding_mode: str = "zeros", scale: float = 1.0, zero_point: int = 0,
           dtype: Any = D.quint8) -> Tensor:
    """Quantized 3-d convolution (quint8 input, qint8 weight, float bias)."""
    return _conv(3, input, weight, bias, stride, padding, dilation, groups, padding_mode, scale, zero_point, dtype)


def _quantized_only(input: Any, name: str) -> None:
    if not getattr(input, "is_quantized", False):
        raise ValueError(f"Input to 'quantized.{name}' must be quantized!")


def hardswish(input: Tensor, scale: float, zero_point: int) -> Tensor:
    """Quantized hardswish with the given output qparams."""
    _quantized_only(input, "hardswish")
    return dequantized(F.hardswish, input, scale, zero_point)


def elu(input: Tensor, scale: float, zero_point: int, alpha: float = 1.0) -> Tensor:
    """Quantized ELU with the given output qparams."""
    _quantized_only(input, "elu")
    return dequantized(F.elu, input, scale, zero_point, alpha)


def celu(input: Tensor, scale: float, zero_point: int, alpha: float = 1.0) -> Tensor:
    """Quantized CELU with the given output qparams."""
    _quantized_only(input, "celu")
    return dequantized(F.celu, input, scale, zero_point, alpha)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False, scale: float | None = None,
               zero_point: int | None = None) -> Tensor:
    """Quantized leaky ReLU; the output qparams default to the input's."""
    scale = input.q_scale() if scale is None else scale
    zero_point = input.q_zero_point() if zero_point is None else zero_point
    return dequantized(F.leaky_relu, input, scale, zero_point, negative_slope)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """Quantized hardtanh: a clamp of the integers at the quantized bounds."""
    _quantized_only(input, "hardtanh")
    return _clamp("hardtanh_" if inplace else "hardtanh", input, (input, min_val, max_val), {})


def clamp(input: Tensor, min_: float, max_: float) -> Tensor:
    """Quantized clamp at the quantized bounds."""
    _quantized_only(input, "clamp")
    return _clamp("clamp", input, (input, min_, max_), {})


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    """Quantized threshold (the input's qparams)."""
    if threshold is None:
        raise ValueError("Input to 'threshold' must be specified!")
    if value is None:
        raise ValueError("Input to 'value' must be specified!")
    return dequantized(F.threshold, input, input.q_scale(), input.q_zero_point(), threshold, value)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """Quantized hardsigmoid (output qparams 1/256, 0)."""
    _quantized_only(input, "hardsigmoid")
    return F.hardsigmoid(input)


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """Max pooling of the integers (the qparams kept)."""
    if return_indices:
        raise NotImplementedError("return_indices is not yet implemented!")
    return F.max_pool1d(input, kernel_size, stride if stride is not None else kernel_size, padding, dilation,
                        ceil_mode=ceil_mode)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """Max pooling of the integers (the qparams kept)."""
    if return_indices:
        raise NotImplementedError("return_indices is not yet implemented!")
    return F.max_pool2d(input, kernel_size, stride if stride is not None else kernel_size, padding, dilation,
                        ceil_mode=ceil_mode)


def _same_qparams(fn: Any, name: str) -> Any:
    def op(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        _quantized_only(input, name)
        return fn(input, *args, **kwargs)
    op.__name__ = name
    op.__doc__ = f"Quantized ``{name}`` (computed in float, the input's qparams)."
    return op


avg_pool2d = _same_qparams(F.avg_pool2d, "avg_pool2d")
avg_pool3d = _same_qparams(F.avg_pool3d, "avg_pool3d")
adaptive_avg_pool2d = _same_qparams(F.adaptive_avg_pool2d, "adaptive_avg_pool2d")
adaptive_avg_pool3d = _same_qparams(F.adaptive_avg_pool3d, "adaptive_avg_pool3d")
interpolate = _same_qparams(F.interpolate, "interpolate")


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Quantized upsampling (``interpolate``)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Quantized nearest upsampling."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Quantized bilinear upsampling (``align_corners=True``)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)

