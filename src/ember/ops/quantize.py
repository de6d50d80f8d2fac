"""Fake quantization: the float-in, float-out ops quantization-aware training is built from.

Each op rounds ``x / scale`` to the integer grid ``[quant_min, quant_max]`` around ``zero_point`` and maps it
back, in the precision steps of torch's CPU kernels (a float32 ``1 / scale`` multiplied in, round-half-even,
the zero point added in float, the product with ``scale`` rounded once to float32 for per-tensor parameters),
so results are bit-identical with torch's. The gradient is the straight-through estimate: the incoming
gradient where the value fell inside the grid, zero where it was clamped (torch's ``*Cachemask*`` nodes keep
that mask). The learnable variant also returns gradients for ``scale`` and ``zero_point``.

The ``qscheme`` objects (``torch.per_tensor_affine`` …) live here too, and the quantized tensors
(``quantize_per_tensor`` / ``quantize_per_channel``: integers plus the affine map, fbgemm's rounding) with the
dynamic int8 linear kernel that ``quantize_dynamic``'s modules call. Float functions applied to a per-tensor
quantized tensor (``relu``, pooling, reshapes, ``cat`` …) behave as torch's quantized kernels through the
tensor's ``__torch_function__``, switched on when the first quantized tensor is made.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU, canonical
from .._core.warn import _TRANSPARENT
from ..autograd.grad_mode import STATE, no_grad
from ._dispatch import Node, Tensor, needs_grad, new_tensor, record, wrap_dim, xp_of

__all__ = [
    "qscheme", "per_tensor_affine", "per_channel_affine", "per_tensor_symmetric", "per_channel_symmetric",
    "per_channel_affine_float_qparams", "fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine",
    "fake_quantize_per_tensor_affine_cachemask", "fake_quantize_per_channel_affine_cachemask",
    "_fake_quantize_learnable_per_tensor_affine", "_fake_quantize_learnable_per_channel_affine",
    "fused_moving_avg_obs_fake_quant", "choose_qparams_minmax",
    "QuantizedTensor", "quantize_per_tensor", "quantize_per_channel", "linear_dynamic",
]


class qscheme:
    """A quantization scheme (``torch.per_tensor_affine`` …); prints as torch's."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return "torch." + self.name

    def __reduce__(self) -> str:
        return self.name      # pickles as the module-level singleton


per_tensor_affine = qscheme("per_tensor_affine")
per_channel_affine = qscheme("per_channel_affine")
per_tensor_symmetric = qscheme("per_tensor_symmetric")
per_channel_symmetric = qscheme("per_channel_symmetric")
per_channel_affine_float_qparams = qscheme("per_channel_affine_float_qparams")

_F32 = np.float32
_SMALL_SCALE = np.float32(6.1e-5)   # fbgemm's cut-off for tiny scales (fp16's smallest normal)


def _xp(t: Tensor) -> Any:
    return np if t._device is CPU else xp_of(t._device)


def _check_float_input(x: Tensor, kernel: str) -> None:
    if not x._dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{x._dtype._short}\'')


def _check_range(quant_min: int, quant_max: int) -> None:
    if quant_min > quant_max:
        raise RuntimeError("`quant_min` should be less than or         equal to `quant_max`.")


def _no_grad_for(fn: str, **args: Tensor) -> None:
    """torch's error for a qparam tensor that requires grad where the op has no derivative for it."""
    if STATE.grad:
        for name, t in args.items():
            if isinstance(t, Tensor) and t._rg:
                raise RuntimeError(f"The function '{fn}' is not differentiable with respect to argument '{name}'. "
                                   "This input cannot have requires_grad True.")


def _compute(x: Tensor) -> Any:
    """``x``'s array in the kernels' arithmetic type: 16-bit floats as float32 (C++ promotes them), else as is."""
    a = x._data
    return a.astype(_F32) if a.dtype.itemsize < 4 else a


def _per_tensor_arrays(x: Tensor, scale: float, zero_point: int, quant_min: int, quant_max: int) -> tuple:
    """torch's per-tensor kernel: ``q = z + rint(x * (1f / s))``, clamped; ``(q - z) * s`` in float32."""
    ns = _xp(x)
    sc = _F32(scale)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        inv = _F32(1.0) / sc
        a = _compute(x)
        qf = ns.rint(a * inv.astype(a.dtype))
        qf += a.dtype.type(zero_point)
        mask = (qf >= quant_min) & (qf <= quant_max)
        q = ns.fmin(ns.fmax(qf, quant_min), quant_max)       # NaN lands on quant_min, as fmax does in C
        q -= zero_point
        y = q.astype(_F32) * sc
    return y.astype(x._dtype.np, copy=False), mask


class FakeQuantizePerTensorAffineCachemaskBackward0(Node):
    """Straight-through gradient: ``grad * mask``."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (g * self.mask,)


class FakeQuantizePerTensorAffineCachemaskTensorQparamsBackward0(FakeQuantizePerTensorAffineCachemaskBackward0):
    __slots__ = ()


class FakeQuantizePerChannelAffineCachemaskBackward0(FakeQuantizePerTensorAffineCachemaskBackward0):
    __slots__ = ()


class FusedMovingAvgObsFqHelperBackward0(FakeQuantizePerTensorAffineCachemaskBackward0):
    __slots__ = ()


def _masked(x: Tensor, y: Any, mask: Any, node_cls: type[Node]) -> tuple[Tensor, Tensor]:
    out = new_tensor(y, x._dtype, x._device)
    m = new_tensor(mask, D.bool, x._device)
    if needs_grad(x):
        node = record(out, node_cls(), (x,))
        node.mask = m
    return out, m


def fake_quantize_per_tensor_affine_cachemask(
    input: Tensor, scale: float, zero_point: int, quant_min: int, quant_max: int
) -> tuple[Tensor, Tensor]:
    """Fake-quantized ``input`` and the mask of values inside the grid (what the gradient passes)."""
    _check_range(quant_min, quant_max)
    if not quant_min <= zero_point <= quant_max:
        raise RuntimeError("`zero_point` must be between `quant_min` and `quant_max`.")
    _check_float_input(input, "fake_quantize_tensor_cachemask_kernel_type_handling")
    y, mask = _per_tensor_arrays(input, scale, int(zero_point), quant_min, quant_max)
    return _masked(input, y, mask, FakeQuantizePerTensorAffineCachemaskBackward0)


def _item(t: Tensor) -> Any:
    if t.numel() != 1:
        raise RuntimeError(f"a Tensor with {t.numel()} elements cannot be converted to Scalar")
    return t._data.reshape(-1)[0].item()


def _per_tensor_tensor_qparams(
    input: Tensor, scale: Tensor, zero_point: Tensor, quant_min: int, quant_max: int,
    node_cls: type[Node] = FakeQuantizePerTensorAffineCachemaskTensorQparamsBackward0,
) -> tuple[Tensor, Tensor]:
    """The tensor-qparams kernel: ``scale`` read as a float, ``zero_point`` truncated to an integer, no range
    check of the zero point (torch's ``_fake_quantize_per_tensor_affine_cachemask_tensor_qparams``)."""
    _check_range(quant_min, quant_max)
    _check_float_input(input, "fake_quantize_tensor_cachemask_kernel_type_handling")
    sc, zp = float(_F32(_item(scale))), int(_item(zero_point))
    y, mask = _per_tensor_arrays(input, sc, zp, quant_min, quant_max)
    return _masked(input, y, mask, node_cls)


def fake_quantize_per_tensor_affine(
    input: Tensor, scale: float | Tensor, zero_point: int | Tensor, quant_min: int, quant_max: int
) -> Tensor:
    """``(clamp(round(input / scale) + zero_point, quant_min, quant_max) - zero_point) * scale``, with the
    straight-through gradient; ``scale`` and ``zero_point`` are numbers or one-element tensors."""
    if isinstance(scale, Tensor) or isinstance(zero_point, Tensor):
        if not (isinstance(scale, Tensor) and isinstance(zero_point, Tensor)):
            raise TypeError("fake_quantize_per_tensor_affine(): scale and zero_point must both be numbers "
                            "or both be tensors")
        _no_grad_for("_fake_quantize_per_tensor_affine_cachemask_tensor_qparams", scale=scale,
                     zero_point=zero_point)
        return _per_tensor_tensor_qparams(input, scale, zero_point, quant_min, quant_max)[0]
    return fake_quantize_per_tensor_affine_cachemask(input, scale, zero_point, quant_min, quant_max)[0]


def _channel_shape(x: Tensor, axis: int) -> tuple[int, ...]:
    return tuple(-1 if d == axis else 1 for d in range(x.dim()))


def fake_quantize_per_channel_affine_cachemask(
    input: Tensor, scale: Tensor, zero_point: Tensor, axis: int, quant_min: int, quant_max: int
) -> tuple[Tensor, Tensor]:
    """Per-channel fake quantization along ``axis`` (``scale[c]``, ``zero_point[c]`` for slice ``c``) and its
    mask. An int32 zero point is added after rounding; a float one before (torch's two kernels)."""
    if scale._dtype not in (D.float32, D.bfloat16):
        raise RuntimeError(f"Scale must be Float or BFloat16, found {scale._dtype._short}")
    if zero_point._dtype not in (D.int32, D.float32, D.float16):
        raise RuntimeError(f"Zero-point must be Int32, Float or Half, found {zero_point._dtype._short}")
    if scale.dim() != 1:
        raise RuntimeError("scale should be a 1-D tensor")
    if zero_point.dim() != 1:
        raise RuntimeError("zero point should be a 1-D tensor")
    if scale.numel() != zero_point.numel():
        raise RuntimeError("scale and zero-point need to have the same dimensions")
    if scale.numel() != input.shape[wrap_dim(axis, input.dim())]:
        raise RuntimeError("dimensions of scale and zero-point are not consistent with input tensor")
    _check_range(quant_min, quant_max)
    float_zp = zero_point._dtype.is_floating_point
    if not float_zp and not bool(((zero_point._data >= quant_min) & (zero_point._data <= quant_max)).all()):
        raise RuntimeError("`zero_point` must be between `quant_min` and `quant_max`.")
    if not 0 <= axis < input.dim():
        raise RuntimeError("`axis` must be between 0 and number of dimensions of input")
    _check_float_input(input, "fake_quantize_channel_cachemask_cpu_type_handling")
    ns = _xp(input)
    shape = _channel_shape(input, axis)
    sc = scale._data.astype(_F32).reshape(shape)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        inv = _F32(1.0) / sc
        a = _compute(input)
        v = a * inv.astype(a.dtype)
        if float_zp:       # lrintf(zero_point + x * inv_scale): the sum rounded to float32
            zp = zero_point._data.astype(_F32).reshape(shape)
            qf = ns.rint((v + zp).astype(_F32)).astype(np.float64)
        else:              # zero_point + nearbyint(x * inv_scale), then an int64 cast
            zp = zero_point._data.astype(np.int64).reshape(shape)
            qf = (ns.rint(v) + zp.astype(v.dtype)).astype(np.float64)
        qf[~ns.isfinite(qf) | (ns.abs(qf) >= 2.0 ** 63)] = -(2.0 ** 63)   # the cast's x86 result
        mask = (qf >= quant_min) & (qf <= quant_max)
        q = ns.minimum(ns.maximum(qf, quant_min), quant_max)
        y = (q - zp) * sc.astype(np.float64)
    return _masked(input, y.astype(input._dtype.np), mask, FakeQuantizePerChannelAffineCachemaskBackward0)


def fake_quantize_per_channel_affine(
    input: Tensor, scale: Tensor, zero_point: Tensor, axis: int, quant_min: int, quant_max: int
) -> Tensor:
    """Per-channel fake quantization along ``axis``, with the straight-through gradient."""
    _no_grad_for("fake_quantize_per_channel_affine_cachemask", scale=scale, zero_point=zero_point)
    return fake_quantize_per_channel_affine_cachemask(input, scale, zero_point, axis, quant_min, quant_max)[0]


# ---- learnable scale and zero point (LSQ-style QAT) --------------------------------------------------------
def _zero_point_of(zero_point: Tensor, quant_min: int, quant_max: int, forward: bool) -> int:
    """torch's reading of a float zero point: rounded (forward) or ``+ 0.5`` and truncated (backward),
    clamped in float32."""
    z = _F32(_item(zero_point))
    z = np.rint(z) if forward else z + _F32(0.5)
    return int(min(max(z, _F32(quant_min)), _F32(quant_max)))


def _lsq_grads(x: Tensor, g: Tensor, sc: Any, zp: Any, qmin: int, qmax: int, factor: float) -> tuple:
    """Per-element gradients of learnable fake quantization (torch's float32 kernel): straight-through for x;
    for the scale ``(x_fq - x) / s`` inside the grid and ``qmin - z`` / ``qmax - z`` outside; for the zero point
    ``-s`` outside, 0 inside; both times ``grad_factor``."""
    ns = _xp(x)
    f = _F32(factor)
    a, dy = x._data, g._data.astype(_F32)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        inv = _F32(1.0) / sc
        xq = ns.rint(zp + a * inv)
        inside = (xq >= qmin) & (xq <= qmax)
        xfq = (ns.clip(xq, qmin, qmax) - zp) * sc
        dscale = ns.where(inside, dy * (xfq - a) * inv, ns.where(xq < qmin, dy * (qmin - zp), dy * (qmax - zp))) * f
        dzp = ns.where(inside, _F32(0.0), dy * _F32(-1.0) * sc * f)
    as_t = lambda arr: new_tensor(arr.astype(_F32), D.float32, x._device)   # noqa: E731
    return as_t(dy * inside), as_t(dscale), as_t(dzp)


class FakeQuantizeLearnablePerTensorAffineBackward0(Node):
    """Gradients for input (straight-through), scale and zero point (torch's LSQ formulas), in float32."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, scale, zero_point = self.saved
        qmin, qmax = self.quant_min, self.quant_max
        if not qmin <= 0 <= qmax:
            raise RuntimeError("`quant_min` should be less than or         equal to `quant_max`, and the "
                               "quantization range should include 0.")
        z = _zero_point_of(zero_point, qmin, qmax, False)
        if not qmin <= z <= qmax:
            raise RuntimeError("`zero_point` must be between `quant_min` and `quant_max`.")
        sc = _F32(_item(scale))
        dx, ds, dz = _lsq_grads(x, g, sc, _F32(z), qmin, qmax, self.grad_factor)
        return dx, ds.sum().unsqueeze(0), dz.sum().unsqueeze(0)


class FakeQuantizeLearnablePerChannelAffineBackward0(Node):
    """Per-channel LSQ gradients: per-element terms as per tensor, summed over all dims but ``axis``."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, scale, zero_point = self.saved
        qmin, qmax, axis = self.quant_min, self.quant_max, self.axis
        if not qmin <= 0 <= qmax:
            raise RuntimeError("Expecting `quant_min` <= 0 and `quant_max` >= 0")
        shape = _channel_shape(x, axis)
        zp = np.clip(np.rint(zero_point._data.astype(_F32)), qmin, qmax).astype(_F32)
        dx, ds, dz = _lsq_grads(x, g, scale._data.astype(_F32).reshape(shape), zp.reshape(shape), qmin, qmax,
                                self.grad_factor)
        dims = tuple(d for d in range(x.dim()) if d != axis)
        return dx, ds.sum(dims), dz.sum(dims)


def _fake_quantize_learnable_per_tensor_affine(
    input: Tensor, scale: Tensor, zero_point: Tensor, quant_min: int, quant_max: int, grad_factor: float = 1.0
) -> Tensor:
    """Per-tensor fake quantization whose ``scale`` and (float) ``zero_point`` are learnt: the forward uses
    ``scale[0]`` and the rounded, clamped zero point; the backward also gives their gradients (float32 only)."""
    sc = float(_F32(_item(scale)))
    zp = _zero_point_of(zero_point, quant_min, quant_max, True)
    _check_range(quant_min, quant_max)
    _check_float_input(input, "fake_quantize_tensor_cachemask_kernel_type_handling")
    y, _ = _per_tensor_arrays(input, sc, zp, quant_min, quant_max)
    out = new_tensor(y, input._dtype, input._device)
    if needs_grad(input, scale, zero_point):
        node = record(out, FakeQuantizeLearnablePerTensorAffineBackward0(), (input, scale, zero_point))
        node.save(input, scale, zero_point)
        node.quant_min, node.quant_max, node.grad_factor = quant_min, quant_max, grad_factor
    return out


def _fake_quantize_learnable_per_channel_affine(
    input: Tensor, scale: Tensor, zero_point: Tensor, axis: int, quant_min: int, quant_max: int,
    grad_factor: float = 1.0,
) -> Tensor:
    """Per-channel fake quantization with learnt ``scale`` and float ``zero_point`` (rounded and clamped for the
    forward); the backward gives per-channel scale and zero-point gradients."""
    zp = new_tensor(np.clip(np.rint(zero_point._data), quant_min, quant_max).astype(np.int32), D.int32,
                    zero_point._device)
    with no_grad():
        y, _ = fake_quantize_per_channel_affine_cachemask(input, scale.detach(), zp, axis, quant_min, quant_max)
    out = new_tensor(y._data, input._dtype, input._device)
    if needs_grad(input, scale, zero_point):
        node = record(out, FakeQuantizeLearnablePerChannelAffineBackward0(), (input, scale, zero_point))
        node.save(input, scale, zero_point)
        node.quant_min, node.quant_max, node.grad_factor, node.axis = quant_min, quant_max, grad_factor, axis
    return out


# ---- the fused observer + fake-quantize op of QAT's default qconfigs -------------------------------------
def choose_qparams_minmax(
    min_val: Any, max_val: Any, qmin: int, qmax: int, preserve_sparsity: bool = False
) -> tuple[Any, Any]:
    """fbgemm's ``ChooseQuantizationParams`` on arrays of float32 ranges: float64 scales (to be stored as
    float32) and int zero points, with its widening to include 0, its 0.1 fallback, its small-scale cut-off
    and its choice of the less error-prone end for the zero point."""
    ns = np
    mn = ns.asarray(min_val, dtype=_F32).copy()
    mx = ns.asarray(max_val, dtype=_F32).copy()
    if bool((mn > mx).any()):
        raise RuntimeError("In ChooseQuantizationParams, min should be less than or equal to max")
    if preserve_sparsity:
        lo, hi = -((qmax - qmin) // 2 + 1), (qmax - qmin) // 2
        both = (mn < 0) & (mx > 0)
        big = ns.maximum(ns.abs(mn / _F32(lo)), ns.abs(mx / _F32(hi))).astype(np.float64)
        mn = ns.where(both, (big * lo).astype(_F32), mn)
        mx = ns.where(both, (big * hi).astype(_F32), mx)
    mn = ns.minimum(mn, _F32(0.0))
    mx = ns.maximum(mx, _F32(0.0))
    if qmin >= qmax:
        raise RuntimeError("In ChooseQuantizationParams, qmin should be less than qmax")
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        scale = (mx.astype(np.float64) - mn) / (qmax - qmin)
        s32 = scale.astype(_F32)
        scale = ns.where((s32 == 0) | ns.isinf(_F32(1.0) / s32), 0.1, scale)
        small = scale < _SMALL_SCALE
        if bool(small.any()):
            amp = _SMALL_SCALE / scale.astype(_F32)
            span = _SMALL_SCALE * _F32(qmax - qmin)
            mn2 = ns.where(mn == 0, mn, ns.where(mx == 0, -span, mn * amp))
            mx2 = ns.where(mn == 0, span, ns.where(mx == 0, mx, mx * amp))
            mn, mx = ns.where(small, mn2, mn), ns.where(small, mx2, mx)
            scale = ns.where(small, np.float64(_SMALL_SCALE), scale)
        from_min = mn / scale
        from_max = mx / scale
        zp = ns.where(abs(qmin) - ns.abs(from_min) < abs(qmax) - ns.abs(from_max), qmin - from_min, qmax - from_max)
    if preserve_sparsity:
        zp = ns.where((mn < 0) & (mx > 0), (qmin + qmax) / 2, zp)
    zp = ns.where(zp < qmin, qmin, ns.where(zp > qmax, qmax, ns.rint(zp)))
    return scale, zp.astype(np.int64)


def _host(a: Any) -> Any:
    """A small device array's values as a NumPy array (the qparam choice runs on the host, as torch's)."""
    return a.get() if hasattr(a, "get") else np.asarray(a)


def _write(t: Tensor, arr: Any) -> None:
    """Store ``arr`` into the buffer ``t`` in place (as torch's kernel writes its running statistics)."""
    t._data[...] = _xp(t).asarray(arr)
    t._vc[0] += 1


def fused_moving_avg_obs_fake_quant(
    self: Tensor, observer_on: Tensor, fake_quant_on: Tensor, running_min: Tensor, running_max: Tensor,
    scale: Tensor, zero_point: Tensor, averaging_const: float, quant_min: int, quant_max: int, ch_axis: int,
    per_row_fake_quant: bool = False, symmetric_quant: bool = False,
) -> Tensor:
    """One step of QAT's fused observer: update the moving-average min/max (in place), choose scale and zero
    point from them (in place) and fake-quantize ``self`` with them — per tensor, or per row of axis 0."""
    if self.numel() == 0:
        return self.clone()
    ns = _xp(self)
    c = _F32(averaging_const)
    if per_row_fake_quant:
        if ch_axis != 0:
            raise RuntimeError("Per-channel FakeQuant in fused_moving_avg_obs_fake_quant is only supported on "
                               "axis == 0")
        size = self.shape[ch_axis]
        if running_min.numel() == 0:
            for buf, fill in ((running_min, np.inf), (running_max, -np.inf), (scale, None), (zero_point, None)):
                buf.resize_(size)
                if fill is not None:
                    _write(buf, fill)
        rows = self._data.reshape(size, -1)
    else:
        rows = self._data.reshape(1, -1)
    if int(_item(observer_on)):
        cur_min, cur_max = rows.min(axis=1).astype(_F32), rows.max(axis=1).astype(_F32)
        rmin, rmax = running_min._data.reshape(-1), running_max._data.reshape(-1)
        with np.errstate(invalid="ignore"):
            _write(running_min, ns.where(ns.isinf(rmin), cur_min, rmin + c * (cur_min - rmin)).reshape(
                running_min.shape))
            _write(running_max, ns.where(ns.isinf(rmax), cur_max, rmax + c * (cur_max - rmax)).reshape(
                running_max.shape))
    if not int(_item(fake_quant_on)):
        return _masked(self, self._data.copy(), ns.ones(self.shape, bool), FusedMovingAvgObsFqHelperBackward0)[0]
    s, z = choose_qparams_minmax(_host(running_min._data).reshape(-1), _host(running_max._data).reshape(-1),
                                 quant_min, quant_max, symmetric_quant)
    if per_row_fake_quant:
        _write(scale, s.astype(_F32))
        _write(zero_point, z.astype(zero_point._data.dtype))
        with no_grad():
            y, mask = fake_quantize_per_channel_affine_cachemask(self, scale, zero_point, ch_axis, quant_min,
                                                                 quant_max)
        return _masked(self, y._data, mask._data, FusedMovingAvgObsFqHelperBackward0)[0]
    _write(scale, s[:1].astype(_F32))
    _write(zero_point, z[:1].astype(zero_point._data.dtype))
    return _per_tensor_tensor_qparams(self, scale, zero_point, quant_min, quant_max,
                                      FusedMovingAvgObsFqHelperBackward0)[0]


# ---- quantized tensors -------------------------------------------------------------------------------------
_QDTYPES = {"qint8": (np.int8, -128, 127), "quint8": (np.uint8, 0, 255), "qint32": (np.int32, -(2 ** 31), 2 ** 31 - 1)}
_INT_REPR = {"qint8": D.int8, "quint8": D.uint8, "qint32": D.int32}


class QuantizedTensor(Tensor):
    """A quantized tensor (``torch.quint8`` / ``qint8`` / ``qint32``): integer values plus the affine map
    ``real = (q - zero_point) * scale``, per tensor or per channel along ``axis``. ``_data`` holds the integers."""

    __slots__ = ("_qscheme", "_scale", "_zero_point", "_axis")

    @property
    def is_quantized(self) -> bool:
        return True

    def qscheme(self) -> qscheme:
        return self._qscheme

    def _per_tensor(self, what: str) -> None:
        if self._qscheme is not per_tensor_affine:
            raise RuntimeError(f"Expected quantizer->qscheme() == kPerTensorAffine to be true, but got false.  "
                               f"({what})")

    def _per_channel(self) -> None:
        if self._qscheme is per_tensor_affine:
            raise RuntimeError("Expected quantizer->qscheme() == kPerChannelAffine || quantizer->qscheme() == "
                               "kPerChannelAffineFloatQParams to be true, but got false.  (Could this error message "
                               "be improved?  If so, please report an enhancement request to PyTorch.)")

    def q_scale(self) -> float:
        self._per_tensor("q_scale")
        return self._scale

    def q_zero_point(self) -> int:
        self._per_tensor("q_zero_point")
        return self._zero_point

    def q_per_channel_scales(self) -> Tensor:
        self._per_channel()
        return self._scale.clone()

    def q_per_channel_zero_points(self) -> Tensor:
        self._per_channel()
        return self._zero_point.clone()

    def q_per_channel_axis(self) -> int:
        self._per_channel()
        return self._axis

    def _scalar(self, read: str = "item") -> Any:
        """The one element as torch reads a quantized scalar (``item()``, ``float()``, formatting): its dequantized
        value."""
        return self.dequantize()._scalar(read)

    def __index__(self) -> int:
        raise TypeError("only integer tensors of a single element can be converted to an index")

    def tolist(self) -> Any:
        raise RuntimeError("load_scalar: invalid type")

    def int_repr(self) -> Tensor:
        """The stored integers as a plain int8/uint8/int32 tensor."""
        return new_tensor(self._data.copy(), _INT_REPR[self._dtype.name], self._device)

    def dequantize(self) -> Tensor:
        """``(q - zero_point) * scale`` as float32 (per tensor in float32, per channel via the float64 scales)."""
        if self._qscheme is per_tensor_affine:     # the difference in C ints (wrapping for qint32, as fbgemm)
            with np.errstate(over="ignore"):
                diff = self._data.astype(np.int32) - np.int32(self._zero_point)
            out = _F32(self._scale) * diff.astype(_F32)
        else:
            q = self._data.astype(_F32)
            shape = _channel_shape(self, self._axis)
            zp = self._zero_point._data.reshape(shape)
            out = ((q - zp.astype(_F32)).astype(np.float64) * self._scale._data.reshape(shape)).astype(_F32)
        return new_tensor(out, D.float32, self._device)

    def clone(self, *, memory_format: Any = None) -> QuantizedTensor:
        return _qtensor(self._data.copy(), self._dtype, self._device, self._qscheme, self._scale, self._zero_point,
                        self._axis)

    def __reduce_ex__(self, protocol: int) -> Any:
        """Pickled (and ``copy.copy``'d, sharing the data) as the integer data and the quantizer."""
        return (_qtensor, (self._data, self._dtype, self._device, self._qscheme, self._scale, self._zero_point,
                           self._axis))

    def __deepcopy__(self, memo: dict) -> QuantizedTensor:
        per_tensor = self._qscheme is per_tensor_affine
        out = _qtensor(self._data.copy(), self._dtype, self._device, self._qscheme,
                       self._scale if per_tensor else self._scale.clone(),
                       self._zero_point if per_tensor else self._zero_point.clone(), self._axis)
        memo[id(self)] = out
        return out

    def __repr__(self, *, tensor_contents: Any = None) -> str:
        from .._tensor_str import _join_suffixes, _tensor_body
        suffixes = [f"size={tuple(self.shape)}", f"dtype={self._dtype!r}", f"quantization_scheme={self._qscheme!r}"]
        if self._qscheme is per_tensor_affine:
            suffixes += [f"scale={self._scale!r}", f"zero_point={self._zero_point}"]
        else:
            suffixes += [f"scale={self._scale!r}", f"zero_point={self._zero_point!r}", f"axis={self._axis}"]
        return _join_suffixes("tensor(" + _tensor_body(self.dequantize(), 7), suffixes, 7)

    __str__ = __repr__


_DEPRECATED = [False]   # torch warns once per process, at the first quantized tensor made


def _warn_deprecated() -> None:
    """torch's deprecation warning for quantized tensors, attributed (as its C++ warning is) to the first frame
    outside ember's ops."""
    _DEPRECATED[0] = True
    ops = os.path.dirname(__file__)
    frame, level = sys._getframe(1), 2
    while frame is not None and (frame.f_code.co_filename.startswith(ops) or frame.f_code in _TRANSPARENT):
        frame, level = frame.f_back, level + 1
    warnings.warn("torch.quantize_per_tensor, torch.quantize_per_channel and other quantized tensor creation "
                  "functions that produce tensors with dtype torch.quint8, torch.qint8, and torch.qint32 are "
                  "deprecated and will be removed in a future PyTorch release. Please see "
                  "https://github.com/pytorch/pytorch/issues/184982 for more information. (Triggered internally "
                  "at /__w/pytorch/pytorch/aten/src/ATen/quantized/Quantizer.cpp:111.)", UserWarning,
                  stacklevel=level)


def _qtensor(arr: Any, dtype: D.dtype, dev: Any, scheme: qscheme, scale: Any, zero_point: Any,
             axis: int | None) -> QuantizedTensor:
    if not _DEPRECATED[0]:
        _warn_deprecated()
    if not (_DISPATCHING and _DISPATCHING[0]._ACTIVE):
        _start_dispatch()
    t = new_tensor(arr, dtype, dev)
    q = QuantizedTensor.__new__(QuantizedTensor)
    for name in ("_data", "_dtype", "_device", "_base", "_vc", "_rg", "_grad_fn", "_output_nr"):
        setattr(q, name, getattr(t, name))
    q._qscheme, q._scale, q._zero_point, q._axis = scheme, scale, zero_point, axis
    return q


def _check_quantize_input(input: Tensor, dtype: Any, kernel: str | None = None) -> tuple:
    """The (storage dtype, low, high) of a quantized ``dtype``; refuses non-float32 input with the message of
    torch's generic check, or of the per-channel affine ``kernel`` that checks first."""
    if getattr(dtype, "name", None) not in _QDTYPES:
        raise RuntimeError(f"ScalarType {getattr(dtype, '_short', dtype)} is not supported in new_qtensor.")
    if input._dtype is not D.float32:
        what = f"{kernel} expects a" if kernel else "Quantize only works on"
        raise RuntimeError(f"{what} Float Tensor, got {input._dtype._short}")
    return _QDTYPES[dtype.name]


def quantize_per_tensor(input: Tensor, scale: float | Tensor, zero_point: int | Tensor, dtype: Any) -> Tensor:
    """``clamp(round(input / scale) + zero_point)`` stored as ``dtype`` (fbgemm's rounding: ``input`` times the
    float32 reciprocal of ``scale``, plus the zero point, one rounding, then round-half-even)."""
    if isinstance(scale, Tensor):
        scale = float(_F32(_item(scale)))
    if isinstance(zero_point, Tensor):
        zero_point = int(_item(zero_point))
    np_dt, lo, hi = _check_quantize_input(input, dtype)
    if zero_point > hi:
        raise RuntimeError(f"quantize_tensor_per_tensor_affine zero_point {zero_point} is above upper bound.")
    if zero_point < lo:
        raise RuntimeError(f"quantize_tensor_per_tensor_affine zero_point {zero_point} is below lower bound.")
    ns = _xp(input)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        inv = np.float64(_F32(1.0) / _F32(scale))
        v = (input._data.astype(np.float64) * inv + zero_point).astype(_F32)   # the kernel's fused multiply-add
        q = ns.rint(v).astype(np.float64)
        q = ns.where(ns.isnan(q), lo if dtype.name == "qint32" else hi, q)   # where: a 0-d input gives a scalar
        q = ns.clip(q, lo, hi).astype(np_dt)
    return _qtensor(q, dtype, input._device, per_tensor_affine, float(scale), int(zero_point), None)


def quantize_per_channel(input: Tensor, scales: Tensor, zero_points: Tensor, axis: int, dtype: Any) -> Tensor:
    """Quantize each slice along ``axis`` with its own scale and zero point (kept as float64 / int64); float
    zero points give ``per_channel_affine_float_qparams`` (``rint(x * (1 / s) + z)`` in float32, the qparams
    kept as float32: the embedding tables' scheme)."""
    if scales.numel() != zero_points.numel():
        raise RuntimeError("number of elements in scales and zero_points must match")
    float_qparams = zero_points._dtype.is_floating_point
    np_dt, lo, hi = _check_quantize_input(input, dtype, None if float_qparams else "quantize_tensor_per_channel_affine")
    if not 0 <= axis < input.dim():
        scheme = "float qparams" if float_qparams else "affine"
        raise RuntimeError(f"Channel axis out of range in per channel {scheme} quantization. Got: {axis}Expected: "
                           f"[0, {input.dim()})")
    if scales.numel() != input.shape[axis]:
        raise RuntimeError(f"length of scales must equal to channel, expected {input.shape[axis]} got, "
                           f"{scales.numel()}")
    ns = _xp(input)
    shape = _channel_shape(input, axis)
    if float_qparams:
        sc32, zp32 = scales._data.astype(_F32), zero_points._data.astype(_F32)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            inv = ns.where(sc32 == 0, _F32(1.0), _F32(1.0) / sc32).reshape(shape)
            q = ns.rint(input._data * inv + zp32.reshape(shape))
            q[ns.isnan(q)] = 0
            q = ns.clip(q, lo, hi).astype(np_dt)
        return _qtensor(q, dtype, input._device, per_channel_affine_float_qparams,
                        new_tensor(sc32, D.float32, input._device), new_tensor(zp32, D.float32, input._device), axis)
    sc = scales._data.astype(np.float64)
    zp = zero_points._data.astype(np.int64)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        inv = (_F32(1.0) / sc.astype(_F32)).reshape(shape)
        q = ns.rint(input._data * inv).astype(np.float64) + zp.reshape(shape)
        q[ns.isnan(q)] = lo if dtype.name == "qint32" else 0
        q = ns.clip(q, lo, hi).astype(np_dt)
    return _qtensor(q, dtype, input._device, per_channel_affine, new_tensor(sc, D.float64, input._device),
                    new_tensor(zp, D.int64, input._device), axis)


def linear_dynamic(input: Tensor, weight: QuantizedTensor, bias: Tensor | None, reduce_range: bool = True) -> Tensor:
    """fbgemm's dynamic int8 linear (``torch.ops.quantized.linear_dynamic``): ``input`` quantized to uint8 with
    qparams from its own min/max (7-bit with ``reduce_range``), an exact integer GEMM with the int8 weight, then
    ``acc * (input_scale * weight_scale) + bias`` rounded once to float32 (the kernel's fused multiply-add)."""
    if input._dtype is not D.float32:
        raise RuntimeError(f"expected scalar type Float but found {input._dtype._short}")
    k = weight.shape[1]
    if input.shape[-1] != k:
        raise RuntimeError(f"The last dimension of input ({input.shape[-1]}) must match in_features ({k}) of the "
                           "packed weight")
    ns = _xp(input)
    a = input._data.reshape(-1, k)
    lo_val, hi_val = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    s, z = choose_qparams_minmax(np.float32([lo_val]), np.float32([hi_val]), 0, 127 if reduce_range else 255)
    scale, zp = float(_F32(s[0])), int(z[0])
    xq = quantize_per_tensor(new_tensor(a, D.float32, input._device), scale, zp, D.quint8)._data
    w = weight._data.astype(np.float64)
    if weight._qscheme is per_tensor_affine:
        w = w - weight._zero_point
        mult = np.float64(_F32(scale) * _F32(weight._scale))
    else:
        w = w - weight._zero_point._data.astype(np.float64)[:, None]
        mult = (_F32(scale) * weight._scale._data.astype(_F32)).astype(np.float64)
    acc = (xq.astype(np.float64) - zp) @ w.T      # integers below 2**53: exact in float64 BLAS
    out = acc * mult
    if bias is not None:
        out = out + bias._data.astype(_F32)
    return new_tensor(ns.asarray(out.astype(_F32)).reshape(*input.shape[:-1], weight.shape[0]), D.float32,
                      input._device)


# ---- float functions applied to quantized tensors ---------------------------------------------------------
# torch runs these on quantized tensors directly; ember routes them through ``__torch_function__``, turned on
# (for the process) when the first quantized tensor is made, so programs without quantization never pay for it.
_DISPATCHING: list = []   # ember.overrides, once imported
# functions that only move or select elements: run on the integers, the result keeps the qparams
_STRUCTURAL = frozenset({
    "view", "view_as", "reshape", "reshape_as", "flatten", "unflatten", "permute", "transpose", "t", "squeeze",
    "unsqueeze", "contiguous", "__getitem__", "expand", "expand_as", "chunk", "split", "unbind", "narrow",
    "select", "detach", "movedim", "flip", "roll", "repeat", "max_pool1d", "max_pool2d", "max_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle",
    "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
})
# averages (the input's qparams): computed on the zero-point-shifted integers in float64, rounded half to even
_AVERAGES = frozenset({"avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
                          "adaptive_avg_pool3d", "interpolate", "upsample", "upsample_nearest", "mean"})
# functions whose output range is known: quantized with fixed qparams (torch's choice)
_FIXED_QPARAMS = {"sigmoid": (1.0 / 256, 0), "hardsigmoid": (1.0 / 256, 0), "tanh": (2.0 / 256, 128)}
_CLAMPS = {"relu": (0.0, None), "relu_": (0.0, None), "relu6": (0.0, 6.0), "hardtanh": (-1.0, 1.0),
           "hardtanh_": (-1.0, 1.0), "clamp": (None, None), "clamp_": (None, None), "clip": (None, None)}


def _start_dispatch() -> None:
    from .. import overrides as eo
    _DISPATCHING[:] = [eo]
    QuantizedTensor.__torch_function__ = classmethod(_quantized_torch_function)   # type: ignore[assignment]
    eo._KIND.pop(QuantizedTensor, None)
    eo._PLAIN_TYPES.discard(QuantizedTensor)
    eo.activate()


def _plain(a: Any) -> Any:
    """A per-tensor quantized tensor as a plain tensor of its integers (sharing memory); lists mapped."""
    if isinstance(a, QuantizedTensor):
        return new_tensor(a._data, _INT_REPR[a._dtype.name], a._device)
    if isinstance(a, (list, tuple)):
        return type(a)(_plain(b) for b in a)
    return a


def _rewrap(r: Any, like: QuantizedTensor) -> Any:
    if isinstance(r, Tensor) and r._dtype is _INT_REPR[like._dtype.name]:
        return _qtensor(r._data, like._dtype, r._device, like._qscheme, like._scale, like._zero_point, None)
    if isinstance(r, (list, tuple)):
        return type(r)(_rewrap(b, like) for b in r)
    return r


_QUANTIZED_KERNELS = _STRUCTURAL | _CLAMPS.keys() | _AVERAGES | _FIXED_QPARAMS.keys() | {"cat", "stack", "concat",
                                                                                     "concatenate"}
# per-channel tensors: torch refuses to restride them, and runs its other quantized kernels per tensor only
_RESTRIDES = frozenset({"transpose", "permute", "t", "expand", "expand_as", "flip", "repeat", "movedim", "roll",
                        "pixel_shuffle", "pixel_unshuffle", "channel_shuffle"})
_NOT_PER_TENSOR = "Expected quantizer->qscheme() == kPerTensorAffine to be true, but got false.  (Could this " \
    "error message be improved?  If so, please report an enhancement request to PyTorch.)"


def _per_channel_function(name: str, func: Any, q: QuantizedTensor, args: tuple, kwargs: dict) -> Any:
    """A float function on a per-channel tensor: selections and reshapes carry each element's channel along (the
    function is run on the integers and on a map of channel numbers); torch's errors for the rest."""
    if name in ("cat", "stack", "concat", "concatenate"):
        raise RuntimeError("Only per-tensor quantization is supported in 'cat'!")
    if name in _RESTRIDES or (name == "contiguous" and not q.is_contiguous()):
        raise RuntimeError("Setting strides is possible only on uniformly quantized tensor")
    if name not in _STRUCTURAL or name.startswith(("max_pool", "adaptive_max_pool")):
        raise RuntimeError(_NOT_PER_TENSOR)
    ns = _xp(q)
    shape = _channel_shape(q, q._axis)
    channels = ns.ascontiguousarray(ns.broadcast_to(ns.arange(q.shape[q._axis]).reshape(shape), q.shape))
    channel_map = new_tensor(channels, D.int64, q._device)
    with no_grad():
        data = func(*_plain(args), **kwargs)
        mapped = func(*[channel_map if a is q else a for a in args], **kwargs)
    return _rewrap_channels(data, mapped, q)


def _rewrap_channels(r: Any, mapped: Any, like: QuantizedTensor) -> Any:
    """Integers ``r`` as a quantized tensor whose elements came from the channels ``mapped``: per tensor when
    they all came from one channel (torch's choice), per channel along the one dimension they vary on."""
    if isinstance(r, (list, tuple)):
        return type(r)(_rewrap_channels(a, b, like) for a, b in zip(r, mapped, strict=True))
    if not isinstance(r, Tensor) or r._dtype is not _INT_REPR[like._dtype.name]:
        return r
    ch = mapped._data
    varying = [d for d in range(ch.ndim) if ch.shape[d] > 1 and bool((ch != ch.take([0], axis=d)).any())]
    if ch.size and not varying and like._qscheme is per_channel_affine:
        k = int(ch.reshape(-1)[0])
        return _qtensor(r._data, like._dtype, r._device, per_tensor_affine, float(like._scale._data[k]),
                        int(like._zero_point._data[k]), None)
    if len(varying) > 1:
        raise RuntimeError("Setting strides is possible only on uniformly quantized tensor")
    axis = varying[0] if varying else min(like._axis, max(ch.ndim - 1, 0))
    picked = ch[tuple(slice(None) if d == axis else 0 for d in range(ch.ndim))] if ch.ndim else ch.reshape(1)
    steps = set((picked[1:] - picked[:-1]).tolist())
    if len(steps) <= 1 and min(steps, default=1) > 0:   # a strided run of channels: views of the qparams, as torch
        picked = slice(int(picked[0]), int(picked[-1]) + 1, steps.pop() if steps else 1)
    scale, zero_point = (new_tensor(v._data[picked], v._dtype, v._device)
                         for v in (like._scale, like._zero_point))
    return _qtensor(r._data, like._dtype, r._device, like._qscheme, scale, zero_point, axis)


def _quantize_like(y: Tensor, like: QuantizedTensor, scale: float, zero_point: int) -> QuantizedTensor:
    return quantize_per_tensor(y.float(), scale, zero_point, like._dtype)


def _first_q(args: Any) -> QuantizedTensor | None:
    for a in args:
        if isinstance(a, QuantizedTensor):
            return a
        if isinstance(a, (list, tuple)):
            q = _first_q(a)
            if q is not None:
                return q
    return None


def _clamp(func_name: str, q: QuantizedTensor, args: tuple, kwargs: dict) -> QuantizedTensor:
    """relu / relu6 / hardtanh / clamp on the integers: the bounds quantized with the input's qparams."""
    lo, hi = _CLAMPS[func_name]
    rest = list(args[1:])
    if func_name.startswith("hardtanh"):
        lo, hi = (rest + [kwargs.get("min_val", lo), kwargs.get("max_val", hi)])[:2] if rest else \
            (kwargs.get("min_val", lo), kwargs.get("max_val", hi))
    elif func_name in ("clamp", "clamp_", "clip"):
        lo, hi = (rest + [None, None])[:2]
        lo, hi = kwargs.get("min", lo), kwargs.get("max", hi)
    inplace = func_name.endswith("_") or bool(kwargs.get("inplace", False)) or \
        (func_name in ("relu", "relu6") and len(rest) > 0 and bool(rest[0]))
    lo_i, hi_i = _QDTYPES[q._dtype.name][1:]
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        if lo is not None:
            lo_i = max(lo_i, q._zero_point + int(np.rint(_F32(lo) / _F32(q._scale))))
        if hi is not None:
            hi_i = min(hi_i, q._zero_point + int(np.rint(_F32(hi) / _F32(q._scale))))
    out = _xp(q).clip(q._data, lo_i, hi_i).astype(q._data.dtype)
    if inplace:
        _write(q, out)
        return q
    return _qtensor(out, q._dtype, q._device, q._qscheme, q._scale, q._zero_point, None)


def _quantized_torch_function(cls: type, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
    """What torch's quantized kernels do for float functions on per-tensor quantized tensors; anything else runs
    as on a plain tensor (its integers)."""
    from ..overrides import _disabled_torch_function_impl
    kwargs = kwargs or {}
    name = getattr(func, "__name__", "")
    q = _first_q(args) if name != "dropout" else None
    if q is not None and q._qscheme is per_tensor_affine:
        if name in _STRUCTURAL:
            return _rewrap(func(*_plain(args), **kwargs), q)
        if name in _CLAMPS:
            return _clamp(name, q, args, kwargs)
        if name in _AVERAGES:
            shifted = new_tensor(q._data.astype(np.float64) - q._zero_point, D.float64, q._device)
            y = func(*[shifted if a is q else a for a in args], **kwargs)
            _, lo, hi = _QDTYPES[q._dtype.name]
            out = _xp(q).clip(_xp(q).rint(y._data) + q._zero_point, lo, hi).astype(q._data.dtype)
            return _qtensor(out, q._dtype, q._device, q._qscheme, q._scale, q._zero_point, None)
        if name in ("cat", "stack", "concat", "concatenate") or name in _FIXED_QPARAMS:
            deq = [a.dequantize() if isinstance(a, QuantizedTensor) else a for a in args]
            deq = [[b.dequantize() if isinstance(b, QuantizedTensor) else b for b in a]
                   if isinstance(a, (list, tuple)) else a for a in deq]
            y = func(*deq, **kwargs)
            scale, zp = _FIXED_QPARAMS.get(name, (q._scale, q._zero_point))
            return _quantize_like(y, q, scale, zp)
    if q is not None and name in _QUANTIZED_KERNELS:   # a per-channel tensor
        return _per_channel_function(name, func, q, args, kwargs)
    if name == "dropout" and isinstance(args[0], QuantizedTensor) and \
            not (args[2] if len(args) > 2 else kwargs.get("training", True)):
        return args[0]
    return _disabled_torch_function_impl(func, types, args, kwargs)


# ---- the quantized-tensor API on ordinary tensors ---------------------------------------------------------
def _dequantize_dense(self: Tensor) -> Tensor:
    """An unquantized tensor dequantizes to float32: a float32 one to itself (torch returns the same object)."""
    return self if self._dtype is D.float32 else self.float()


def _no_quantizer(op: str) -> Any:
    """A Tensor method that exists only for quantized tensors: torch's dispatcher error on a plain one."""
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"Could not run 'aten::{op}' with arguments from the '{'CUDA' if self.is_cuda else 'CPU'}' backend. "
            "This could be because the operator doesn't exist for this backend, or was omitted during the "
            "selective/custom build process (if using custom build).")
    method.__name__ = op
    return method


_QUANTIZED_ONLY = ("int_repr", "q_scale", "q_zero_point", "q_per_channel_scales", "q_per_channel_zero_points",
                   "q_per_channel_axis")
for _name in _QUANTIZED_ONLY:
    if _name not in vars(Tensor):
        setattr(Tensor, _name, _no_quantizer(_name))
if "dequantize" not in vars(Tensor):
    Tensor.dequantize = _dequantize_dense   # type: ignore[attr-defined]
if "qscheme" not in vars(Tensor):
    Tensor.qscheme = _no_quantizer("qscheme")   # type: ignore[attr-defined]


def dequantize(tensors: Any) -> Any:
    """``torch.dequantize``: a tensor, or each of a list of tensors, as float."""
    if isinstance(tensors, (list, tuple)):
        return [t.dequantize() for t in tensors]
    return tensors.dequantize()


def _method_function(name: str) -> Any:
    def function(input: Tensor) -> Any:
        return getattr(input, name)()
    function.__name__ = name
    function.__doc__ = f"``torch.{name}``: ``input.{name}()``."
    return function


int_repr, q_scale, q_zero_point, q_per_channel_scales, q_per_channel_zero_points, q_per_channel_axis = (
    _method_function(n) for n in _QUANTIZED_ONLY)
__all__ += ["dequantize", *_QUANTIZED_ONLY]


# ---- torch's lower-level constructors and quantized ops of quantized tensors -----------------------------
_FROM_INT = {"uint8": D.quint8, "int8": D.qint8, "int32": D.qint32}


def _make_per_tensor_quantized_tensor(input: Tensor, scale: float, zero_point: int) -> QuantizedTensor:
    """The integers of ``input`` (uint8 / int8 / int32) read as a quantized tensor with the given qparams."""
    dtype = _FROM_INT.get(input._dtype.name)
    if dtype is None:
        raise RuntimeError(f"Unsupported dtype for _make_per_tensor_quantized_tensor: {input._dtype._short}")
    return _qtensor(input._data.copy(), dtype, input._device, per_tensor_affine, float(scale), int(zero_point), None)


def _make_per_channel_quantized_tensor(input: Tensor, scale: Tensor, zero_point: Tensor,
                                       axis: int) -> QuantizedTensor:
    """The integers of ``input`` read as a per-channel quantized tensor along ``axis``."""
    dtype = _FROM_INT.get(input._dtype.name)
    if dtype is None:
        raise RuntimeError(f"Unsupported dtype for _make_per_channel_quantized_tensor: {input._dtype._short}")
    return _qtensor(input._data.copy(), dtype, input._device, per_channel_affine,
                    new_tensor(scale._data.astype(np.float64), D.float64, input._device),
                    new_tensor(zero_point._data.astype(np.int64), D.int64, input._device), axis)


def _empty_affine_quantized(size: Any, *, scale: float = 1.0, zero_point: int = 0, dtype: Any = None,
                            device: Any = None, **_: Any) -> QuantizedTensor:
    """A per-tensor quantized tensor of ``size`` (its integers zero: ember does not expose uninitialised memory)."""
    from .creation import zeros
    dtype = D.quint8 if dtype is None else dtype
    np_dt = _QDTYPES[dtype.name][0]
    base = zeros(tuple(size) if isinstance(size, (list, tuple)) else (size,), device=device)
    return _qtensor(_xp(base).zeros(base.shape, np_dt), dtype, base._device, per_tensor_affine, float(scale),
                    int(zero_point), None)


def empty_quantized(size: Sequence[int], qtensor: Tensor, *, dtype: Any = None, layout: Any = None,
                    device: Any = None, pin_memory: bool | None = None, memory_format: Any = None) -> QuantizedTensor:
    """A quantized tensor of ``size`` with ``qtensor``'s quantizer (scheme, scales, zero points, axis), in
    ``dtype`` (by default ``qtensor``'s); its integers are zero (ember exposes no uninitialised memory)."""
    if not isinstance(size, (list, tuple)):
        raise TypeError(f"empty_quantized(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type(size).__name__}")
    if not isinstance(qtensor, QuantizedTensor):
        raise NotImplementedError(f"Could not run 'aten::empty_quantized' with arguments from the "
                                  f"'{'CUDA' if qtensor.is_cuda else 'CPU'}' backend. This could be because the "
                                  "operator doesn't exist for this backend, or was omitted during the "
                                  "selective/custom build process (if using custom build).")
    if memory_format is not None:
        raise RuntimeError("Cannot set memory_format both in TensorOptions and explicit argument; please delete the "
                           "redundant setter.")
    dtype = qtensor._dtype if dtype is None else dtype
    if dtype.name not in _QDTYPES:
        raise RuntimeError("Creation of quantized tensor requires quantized dtype like torch.quint8")
    dev = qtensor._device if device is None else canonical(device)
    xp = xp_of(dev)
    return _qtensor(xp.zeros(tuple(int(n) for n in size), _QDTYPES[dtype.name][0]), dtype, dev, qtensor._qscheme,
                    qtensor._scale, qtensor._zero_point, qtensor._axis)


def _range_loss(x: np.ndarray, lo: np.float32, hi: np.float32, bit_width: int) -> np.float32:
    """The L2 error of ``x`` quantized to ``bit_width`` bits over ``[lo, hi]`` (``lo`` and the scale rounded to
    float16, as the embedding-bag 4/2-bit formats store them), summed in order in float32."""
    f32 = np.float32
    lo = f32(np.float16(lo))
    span = f32(hi - lo)
    qmax = f32((1 << bit_width) - 1)
    scale = f32(1.0) if span == 0 else f32(np.float16(span / qmax))
    inv = f32(1.0) if scale == 0 else f32(1.0) / scale
    d = x - (np.clip(np.rint((x - lo) * inv), f32(0), qmax) * scale + lo)
    return np.sqrt(np.cumsum(d * d, dtype=f32)[-1]) if d.size else f32(0)


def choose_qparams_optimized(input: Tensor, numel: int, n_bins: int, ratio: float, bit_width: int
                             ) -> tuple[Tensor, Tensor]:
    """``(max, min)`` (1-element float32 tensors) of the range to quantize the first ``numel`` elements of a
    float32 ``input`` with: a greedy search that narrows the min/max range one ``1/n_bins`` step at a time from
    either end (the end whose move costs less error), down to ``(1 - ratio)`` of it, keeping the range with the
    least error among the local minima met (the full range if none beats it)."""
    if numel < 0 or numel > input.numel():
        raise RuntimeError("numel is out of the bound of input tensor")
    if input._dtype is not D.float32:
        raise RuntimeError(f"expected scalar type Float but found {input._dtype._short}")
    f32 = np.float32
    x = _host(input._data).reshape(-1)[:numel]
    lo = hi = x.min() if numel else _host(input._data).reshape(-1)[0]
    if numel:
        hi = x.max()
    step = f32((hi - lo) / f32(n_bins))
    thr = f32(f32(int(n_bins * (1.0 - float(f32(ratio))))) * step)
    best = cur = _range_loss(x, lo, hi, bit_width)
    cur_lo, cur_hi = lo, hi
    while f32(cur_lo + thr) < cur_hi:
        up, down = _range_loss(x, f32(cur_lo + step), cur_hi, bit_width), _range_loss(x, cur_lo, f32(cur_hi - step),
                                                                                      bit_width)
        if cur < up and cur < down and cur < best:   # a local minimum better than any before
            best, lo, hi = cur, cur_lo, cur_hi
        if up < down:
            cur_lo, cur = f32(cur_lo + step), up
        else:
            cur_hi, cur = f32(cur_hi - step), down
    xp = xp_of(input._device)
    return (new_tensor(xp.asarray([hi], f32), D.float32, input._device),
            new_tensor(xp.asarray([lo], f32), D.float32, input._device))


def quantize_per_tensor_dynamic(input: Tensor, dtype: Any, reduce_range: bool) -> QuantizedTensor:
    """Quantize with qparams chosen from ``input``'s own min/max (``quint8`` or ``qint8``; 7 bits with
    ``reduce_range``), as dynamic quantization does per call."""
    if getattr(dtype, "name", None) not in ("quint8", "qint8"):
        raise RuntimeError(f"dtype {dtype} not supported for quantize_per_tensor_dynamic")
    lo, hi = (0, 255) if dtype.name == "quint8" else (-128, 127)
    if reduce_range:
        lo, hi = lo // 2, hi // 2
    a = _host(input._data)
    mn, mx = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    s, z = choose_qparams_minmax(np.float32([mn]), np.float32([mx]), lo, hi)
    return quantize_per_tensor(input, float(s[0]), int(z[0]), dtype)


def _pool_like(name: str) -> Any:
    def pool(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
             ceil_mode: bool = False) -> Tensor:
        from ..nn import functional as F
        return getattr(F, name)(input, kernel_size, stride or None, padding, dilation, ceil_mode=ceil_mode)
    pool.__name__ = "quantized_" + name
    pool.__doc__ = f"``{name}`` of a quantized tensor's integers (its qparams kept)."
    return pool


quantized_max_pool1d, quantized_max_pool2d, quantized_max_pool3d = (
    _pool_like(n) for n in ("max_pool1d", "max_pool2d", "max_pool3d"))


def quantized_batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, mean: Tensor, var: Tensor,
                         eps: float, output_scale: float, output_zero_point: int) -> QuantizedTensor:
    """Inference batch norm of a quantized tensor, quantized with the output qparams."""
    from ..nn import functional as F
    y = F.batch_norm(input.dequantize(), mean, var, weight, bias, False, 0.0, eps)
    return quantize_per_tensor(y, float(output_scale), int(output_zero_point), input._dtype)


__all__ += ["_make_per_tensor_quantized_tensor", "_make_per_channel_quantized_tensor", "_empty_affine_quantized",
            "quantize_per_tensor_dynamic", "quantized_max_pool1d", "quantized_max_pool2d", "quantized_max_pool3d",
            "quantized_batch_norm"]
