"""Activation functions. Where torch has a fused kernel (its own grad_fn, e.g. ``GeluBackward0``), the
forward runs on arrays and the backward is a node written with ember ops; the rest are composites."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ... import backends
from ..._core import dtype as D
from ..._core import random as R
from ..._core.device import lanes16
from ..._core.memory_format import storage_order
from ..._core.warn import warn
from ..._tensor import wrap_dim
from ...ops import elementwise as E
from ...ops._dispatch import make_node_class, new_tensor, tie
from ...ops._parallel import split_rows
from ...ops.indexing import where
from ...ops.random import Generator, _gen
from ...ops.reduction import extreme
from ...ops.shape import cat
from ...ops.special import erf as erf_op
from ...ops.special import erf_half_kernel, erf_kernel
from ._common import (
    OUT,
    STATE,
    Node,
    Tensor,
    compute_array,
    fused,
    inplace_apply,
    needs_grad,
    onednn_dtypes,
    result,
    xp,
)
from ._layers import _row_dots

__all__ = [
    "relu",
    "relu_",
    "relu6",
    "hardtanh",
    "hardtanh_",
    "leaky_relu",
    "leaky_relu_",
    "rrelu",
    "rrelu_",
    "elu",
    "elu_",
    "selu",
    "selu_",
    "celu",
    "celu_",
    "gelu",
    "silu",
    "mish",
    "sigmoid",
    "tanh",
    "hardsigmoid",
    "hardswish",
    "softplus",
    "softsign",
    "tanhshrink",
    "threshold",
    "threshold_",
    "logsigmoid",
    "hardshrink",
    "softshrink",
    "prelu",
    "softmax",
    "log_softmax",
    "softmin",
    "glu",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _pointwise(
    grad_name: str, fwd: Callable[..., Any], bwd: Callable[..., Tensor], inplace_name: bool = False,
    inplace_check: Callable[..., None] | None = None, result_bwd: Callable[..., Tensor] | None = None,
    kernel: str | None = None, complex_ok: bool = False,
) -> Callable[..., Tensor]:
    """A fused elementwise op: ``fwd(xp, array, **params)``; ``bwd(grad, x, **params)`` in ember ops.
    ``inplace_name``: torch names the in-place variant's node ``...Backward1`` (``LeakyReluBackward1``), whose
    backward first runs ``inplace_check(**params)``; with ``result_bwd(grad, result, **params)`` that variant
    saves its result instead of its input, as torch's (changing the result in place then raises). ``kernel``:
    torch's kernel, which refuses inputs that are not floating point (nor complex, unless ``complex_ok``)."""

    def backward(node: Node, g: Tensor) -> tuple:
        return (bwd(g, *node.saved, **node.params),)

    def inplace_backward(node: Node, g: Tensor) -> tuple:
        if inplace_check is not None:
            inplace_check(**node.params)
        return ((result_bwd or bwd)(g, *node.saved, **node.params),)

    node_cls = make_node_class(grad_name, backward)
    inplace_cls = make_node_class(grad_name[:-1] + "1", inplace_backward) if inplace_name else node_cls

    def apply(x: Tensor, _inplace: bool = False, **params: Any) -> Tensor:
        if kernel is not None and not (x._dtype.is_floating_point or complex_ok and x._dtype.is_complex):
            raise NotImplementedError(f"\"{kernel}\" not implemented for '{x._dtype._short}'")
        out = result(fwd(xp(x), compute_array(x), **params), x)
        if _inplace and result_bwd is not None:
            return fused(out, inplace_cls, (x,), (OUT,), params=params)
        return fused(out, inplace_cls if _inplace else node_cls, (x,), (x,), params=params)

    return apply


def _with_inplace(fn: Callable[..., Tensor], x: Tensor, inplace: bool, **params: Any) -> Tensor:
    return inplace_apply(x, lambda t: fn(t, _inplace=True, **params)) if inplace else fn(x, **params)


# ---- rectifiers ----------------------------------------------------------------------------------
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0) (grad_fn ReluBackward0)."""
    return E.relu._inplace(input) if inplace else E.relu(input)  # type: ignore[attr-defined]


def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


_hardtanh = _pointwise(
    "HardtanhBackward0",
    lambda xp, a, lo, hi: xp.clip(a, lo, hi),
    lambda g, x, lo, hi: E.hardtanh_backward(g, x, lo, hi),
)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _with_inplace(_hardtanh, input, inplace, lo=min_val, hi=max_val)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) (torch records it as hardtanh)."""
    return hardtanh(input, 0.0, 6.0, inplace)


_leaky = _pointwise(
    "LeakyReluBackward0",
    lambda xp, a, slope: xp.where(a > 0, a, a * slope),
    lambda g, x, slope: E.leaky_relu_backward(g, x, slope),
    inplace_name=True,
    inplace_check=lambda slope: _no_negative_slope(slope),
    result_bwd=lambda g, r, slope: E.leaky_relu_backward(g, r, slope),   # r > 0 exactly where x > 0
    kernel="leaky_relu_cpu",
)


def _no_negative_slope(slope: float) -> None:
    """The in-place leaky_relu saved its result, which a negative slope makes ambiguous: torch's error."""
    if slope < 0:
        raise RuntimeError("In-place leakyReLu backward calculation is triggered with a negative slope which is not "
                           "supported. This is caused by calling in-place forward function with a negative slope, "
                           "please call out-of-place version instead. File an issue at "
                           "https://github.com/pytorch/pytorch if you do require supporting in-place leakRelu "
                           "backward calculation with negative slope")


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return _with_inplace(_leaky, input, inplace, slope=negative_slope)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, inplace=True)


def _rrelu_backward(node: Node, g: Tensor) -> tuple:
    """g times the slopes; torch's kernel takes the input too (see :func:`tie`)."""
    return (tie(g * node.noise, node, "RreluWithNoiseBackwardBackward0"),)


RreluWithNoiseBackward0 = make_node_class("RreluWithNoiseBackward0", _rrelu_backward)
RreluWithNoiseBackward1 = make_node_class("RreluWithNoiseBackward1", _rrelu_backward)


def _rrelu(
    x: Tensor, lower: float, upper: float, training: bool, generator: Generator | None = None, _inplace: bool = False
) -> Tensor:
    """x where x > 0, else x·slope: slopes drawn per element as torch (one ``random64()`` uniform in
    [lower, upper) for each x <= 0, in order, computed in float64 then rounded to the dtype) when training,
    (lower + upper) / 2 otherwise; the slopes (``noise``) give the gradient."""
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f"\"rrelu_with_noise_out_cpu\" not implemented for '{x.dtype._short}'")
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    ns, a = xp(x), compute_array(x)
    if training:
        # torch reads the bounds in the op's math type (float for every dtype but double)
        cast = float if a.dtype == ns.float64 else lambda v: float(ns.float32(v))
        lo, hi = cast(lower), cast(upper)
        neg = a <= 0
        slopes = R._u53(_gen(generator), int(neg.sum())) * (hi - lo) + lo
        noise = ns.ones_like(a)
        noise[neg] = ns.asarray(slopes).astype(a.dtype)
    else:
        noise = ns.where(a > 0, 1, (lower + upper) / 2).astype(a.dtype)
    out = result(ns.asarray(a * noise, order="C"), x)   # torch's kernel writes a contiguous result
    node = RreluWithNoiseBackward1 if _inplace else RreluWithNoiseBackward0
    return fused(out, node, (x,), noise=result(noise, x))


def rrelu(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, inplace: bool = False
) -> Tensor:
    """Randomized leaky ReLU (grad_fn RreluWithNoiseBackward0, ...Backward1 in place)."""
    return _with_inplace(_rrelu, input, inplace, lower=lower, upper=upper, training=training)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    return rrelu(input, lower, upper, training, inplace=True)


def torch_rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """``torch.rrelu``: as :func:`rrelu`, drawing from ``generator`` (default: the global one)."""
    return _rrelu(input, lower, upper, training, generator)


def torch_rrelu_(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """``torch.rrelu_``: :func:`torch_rrelu` in place."""
    return _with_inplace(_rrelu, input, True, lower=lower, upper=upper, training=training, generator=generator)


def _elu_fwd(xp: Any, a: Any, alpha: float, scale: float, input_scale: float) -> Any:
    return xp.where(a > 0, a * scale, xp.expm1(a * input_scale) * (alpha * scale))


def _elu_bwd(g: Tensor, x: Tensor, alpha: float, scale: float, input_scale: float) -> Tensor:
    # create_graph: torch's second derivative is 0 at x = 0 (the exp branch's slope only below 0)
    neg = where(x >= 0, 0.0, x) if STATE.grad else x   # (NaN passes)
    return where(x > 0, g * scale, g * (neg * input_scale).exp() * (alpha * scale * input_scale))


def _elu_result_bwd(g: Tensor, r: Tensor, alpha: float, scale: float, input_scale: float) -> Tensor:
    """The gradient from the result (the in-place forms save it): ``r + alpha * scale`` is the exp term."""
    neg = where(r >= 0, 0.0, r) if STATE.grad else r   # as _elu_bwd
    return where(r > 0, g * scale, g * input_scale * (neg + alpha * scale))


_elu = _pointwise("EluBackward0", _elu_fwd, _elu_bwd, inplace_name=True, result_bwd=_elu_result_bwd,
                  kernel="elu_cpu")
_celu = _pointwise("CeluBackward0", _elu_fwd, _elu_bwd, inplace_name=True, result_bwd=_elu_result_bwd,
                   kernel="elu_cpu")


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _with_inplace(_elu, input, inplace, alpha=alpha, scale=1.0, input_scale=1.0)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    return _with_inplace(_elu, input, inplace, alpha=_SELU_ALPHA, scale=_SELU_SCALE, input_scale=1.0)


def selu_(input: Tensor) -> Tensor:
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _with_inplace(_celu, input, inplace, alpha=alpha, scale=1.0, input_scale=1.0 / alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, inplace=True)


_threshold = _pointwise(
    "ThresholdBackward0",
    lambda xp, a, th, value: xp.where(a <= th, value, a),   # NaN passes, as torch's
    lambda g, x, th, value: E.threshold_backward(g, x, th),
    inplace_name=True,
)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value."""
    return _with_inplace(_threshold, input, inplace, th=threshold, value=value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return _with_inplace(_threshold, input, True, th=threshold, value=value)


_hardshrink = _pointwise(
    "HardshrinkBackward0",
    lambda xp, a, lambd: xp.where((a >= -lambd) & (a <= lambd), 0, a),   # NaN passes, as torch's
    lambda g, x, lambd: E.hardshrink_backward(g, x, lambd),
    kernel="hardshrink_cpu",
)
_softshrink = _pointwise(
    "SoftshrinkBackward0",
    lambda xp, a, lambd: xp.where(a > lambd, a - lambd, xp.where(a < -lambd, a + lambd, a * 0)),   # torch's x * 0
    lambda g, x, lambd: E.softshrink_backward(g, x, lambd),
    kernel="softshrink_check",
)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    return _hardshrink(input, lambd=lambd)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    return _softshrink(input, lambd=lambd)


class PreluKernelBackward0(Node):
    """prelu: gradients for the input and for the slopes (in the slopes' broadcast shape)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, w = self.saved
        if STATE.grad:
            return _prelu_grads_graph(self, g, x, w)
        pos = x > 0
        gx = where(pos, g, g * w) if self._next[0] is not None else None
        gw = where(pos, 0.0, x * g).sum_to_size(w.shape) if self._next[1] is not None else None
        return gx, gw


def _prelu_grads_graph(node: Node, g: Tensor, x: Tensor, w: Tensor) -> tuple:
    """prelu's gradients under ``create_graph``, differentiating as torch's formulas: the slopes' side is x < 0
    there (x >= 0 counts as positive), while the values keep x = 0 on the slopes' side; torch's kernel takes the
    input and slopes (see :func:`tie`)."""
    pos = x >= 0
    gx = gw = None
    if node._next[0] is not None:
        gx = where(pos, g, g * w) + where(x == 0, g * (w - 1), 0.0).detach()
        gx = tie(gx, node, "PreluKernelBackwardBackward0", (0, 1))
    if node._next[1] is not None:
        gw = tie(where(pos, 0.0, x * g).sum_to_size(w.shape), node, "PreluKernelBackwardBackward0", (0, 1))
    return gx, gw


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """max(0, x) + weight * min(0, x), one slope per channel (dim 1) or one for all. As torch, the slopes
    are viewed to broadcast over a ≥2-d input before its kernel (``PreluKernelBackward0``) runs."""
    if weight._dtype is not input._dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got {input._dtype._short} and "
                           f"{weight._dtype._short}")
    if weight.dim() > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.dim()}")
    channels = input.shape[1] if input.dim() >= 2 else 1
    if input.dim() == 0 and weight.numel() != 1:
        raise RuntimeError("Not allow zero-dim input tensor.")
    if weight.numel() != 1 and weight.numel() != channels:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                           f"{weight.numel()} and channel size = {channels}.")
    if not input._dtype.is_floating_point:
        raise NotImplementedError(f'"prelu_cpu" not implemented for \'{input._dtype._short}\'')
    if input.dim() != 1:   # (a 0-d input keeps its shape)
        weight = weight.reshape([1, weight.numel()] + [1] * (input.dim() - 2) if input.dim() else [])
    a = compute_array(input)
    out = result(xp(input).where(a > 0, a, a * compute_array(weight)), input)
    return fused(out, PreluKernelBackward0, (input, weight), (input, weight))


# ---- smooth activations --------------------------------------------------------------------------
_GELU_K = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


# gelu in torch's formulas, each written once for arrays and for tensors (``erf``, ``tanh``, ``exp`` come
# from the caller's namespace). The forward keeps ``q``: Φ(x) = (1 + erf(x/√2))/2, or for 'tanh'
# t = tanh(√(2/π)·(x + 0.044715·x³)); the backward needs only ``x`` and ``q``.
def _gelu_q(x: Any, approximate: str, erf: Callable, tanh: Callable) -> Any:
    if approximate == "tanh":
        return tanh((x + _GELU_C * (x * x * x)) * _GELU_K)
    return 0.5 * (1 + erf(x * math.sqrt(0.5)))


def _gelu_out(x: Any, q: Any, approximate: str) -> Any:
    return 0.5 * x * (1 + q) if approximate == "tanh" else x * q


def _gelu_slope(x: Any, q: Any, approximate: str, exp: Callable) -> Any:
    """d gelu / dx from ``x`` and ``q``."""
    if approximate == "tanh":
        return 0.5 * (1 + q) + 0.5 * x * (1 - q * q) * _GELU_K * (1 + 3 * _GELU_C * (x * x))
    return q + x * (exp(x * x * -0.5) * _INV_SQRT_2PI)


_BLOCK = 1 << 18   # elements per block: a formula's passes over a block stay in the CPU's L2/L3 caches (at
                   # 1 << 16 the ~1 µs cost of each NumPy call was ~10% of gelu's and softmax's time)


def _in_blocks(ns: Any, fn: Callable[..., tuple], *arrays: Any) -> tuple:
    """``fn(*arrays)`` (a tuple of arrays shaped like its inputs), on the CPU evaluated over cache-sized flat
    blocks of the same-shape ``arrays`` and assembled: many cheap passes run ~2x faster from cache."""
    shape = arrays[0].shape
    flat = [a.reshape(-1) for a in arrays]
    if ns is not np or flat[0].size <= _BLOCK:
        return fn(*arrays)
    outs: list = []
    for i in range(0, flat[0].size, _BLOCK):
        res = fn(*(f[i : i + _BLOCK] for f in flat))
        if not outs:
            outs = [ns.empty(flat[0].size, r.dtype) for r in res]
        for o, r in zip(outs, res, strict=True):
            o[i : i + _BLOCK] = r
    return tuple(o.reshape(shape) for o in outs)


def _erf(ns: Any, a: Any) -> Any:
    """erf of an array in its own dtype, rounded as the ``erf`` op rounds (the kernel wants one dim)."""
    return erf_kernel(ns, a.reshape(-1)).reshape(a.shape).astype(a.dtype, copy=False)


def _tanh(ns: Any, a: Any) -> Any:
    """tanh as ``2·sigmoid(2a) - 1``: one exp, ~2x faster than NumPy's tanh, and as exact where gelu reads
    it (``1 + t`` and ``1 - t²`` near t = -1 come out as from a correctly rounded tanh)."""
    return 2 / (1 + ns.exp(a * -2)) - 1


# float32 gelu in one sweep of in-place passes (no temporaries, sign and |x| by bit masks: NumPy's float
# copysign/minimum are not vectorised). 'none': Φ(-|x|) = φ(x)·M(|x|) with M the Mills ratio, a rational
# P/Q of degrees 3/4 (fit in relative error: 6e-8 on [0, 6], where Φ(-|x|) matters next to 1, and 6e-5 on
# [6, 16]; |x| is clamped to 16, beyond which φ(x) underflows to 0 in float32), so one exp gives both Φ and the
# slope Φ + x·φ; within a few ulp of the exact values (torch's own kernel is off by up to 4e-7). Where torch
# hands a contiguous float32/bfloat16 CPU tensor of more than one element to oneDNN, gelu(+inf) is NaN there
# (``inf_nan``); its elementwise loop (other layouts, one element, other dtypes, tanh) gives +inf.
# 'tanh': 0.5·(1 + tanh(u)) = σ(2u), with 1 - σ = e·σ for e = exp(-2u) (no cancellation near σ = 1).
_MILLS_P = (36.654831335392174, 24.52947524848719, 7.659495970988513, 0.9993980161994269)
_MILLS_Q = (29.246325783254992, 42.90677592181225, 25.72388858168559, 7.643335119951273)
_LOG2_INV_SQRT_2PI = -0.5 * math.log2(2 * math.pi)
_LOG2_E = 1 / math.log(2)   # the exps are taken as exp2 of exponents scaled by log2(e) in the same passes:
                            # NumPy's float32 exp2 runs ~2x faster than its exp
_SIGN, _MAGNITUDE = -(1 << 31), (1 << 31) - 1                # int32 masks of a float32's sign and |x|
_BITS_16, _BITS_HALF, _BITS_1E30 = 0x41800000, 0x3F000000, 0x7149F2CA   # float32 16, 0.5, 1e30 as int32
_BITS_INF = 0x7F800000                                       # float32 inf as int32


def _gelu32_block(ns: Any, x: Any, y: Any, d: Any, work: list, approximate: str, inf_nan: bool) -> None:
    """gelu of the 1-d float32 ``x`` into ``y`` and (``d`` not None) its slope into ``d``; ``work``: three
    float32 scratch arrays of ``x``'s size and an int32 one filled with the clamp's bound (NumPy's minimum
    against an array runs ~3x faster than against a scalar; on the CPU it runs only where the block's
    maximum, a cheaper read-only pass, needs it). ``inf_nan``: gelu(+inf) is NaN (CPU only)."""
    a, p, q, lim = work
    if approximate == "tanh":
        ns.multiply(x, x, out=p)
        ns.multiply(p, -2 * _LOG2_E * _GELU_K * _GELU_C, out=a)
        a += -2 * _LOG2_E * _GELU_K
        a *= x
        ns.exp2(a, out=q)                                       # e = exp(-2u)
        ns.add(q, 1.0, out=a)
        ns.divide(1.0, a, out=a)                                # σ = Φ (NumPy's reciprocal is ~2x slower)
        ns.multiply(x, a, out=y)
        if d is not None:
            if ns is not np or int(q.view(ns.int32).max()) > _BITS_1E30:
                ns.minimum(q.view(ns.int32), lim, out=q.view(ns.int32))   # e = inf (σ = 0) would give inf·0
            q *= a
            q *= a                                              # σ(1 - σ) = e·σ²
            p *= 6 * _GELU_K * _GELU_C
            p += 2 * _GELU_K
            p *= x
            p *= q
            ns.add(p, a, out=d)
        return
    ai = a.view(ns.int32)
    ns.bitwise_and(x.view(ns.int32), _MAGNITUDE, out=ai)
    top = int(ai.max()) if ns is np else _BITS_INF              # the largest |x| (a GPU would wait for it)
    if top > _BITS_16:
        ns.minimum(ai, lim, out=ai)                             # |x| clamped (M(inf) would be inf/inf)
    ns.multiply(a, _MILLS_P[-1], out=p)                         # Horner: P, and Q with leading coefficient 1
    for c in _MILLS_P[-2:0:-1]:
        p += c
        p *= a
    p += _MILLS_P[0]
    ns.add(a, _MILLS_Q[-1], out=q)
    for c in _MILLS_Q[-2::-1]:
        q *= a
        q += c
    p /= q                                                      # M(|x|)
    ns.multiply(x, -0.5 * _LOG2_E, out=q)
    q *= x
    q += _LOG2_INV_SQRT_2PI
    ns.exp2(q, out=q)                                           # φ(x)
    p *= q                                                      # Φ(-|x|)
    ns.bitwise_and(x.view(ns.int32), _SIGN, out=ai)
    ns.bitwise_or(p.view(ns.int32), ai, out=p.view(ns.int32))    # ±Φ(-|x|) with x's sign
    ns.bitwise_or(ai, _BITS_HALF, out=ai)
    a += 0.5                                                    # 1 where x >= +0, else 0
    a -= p                                                      # Φ(x)
    ns.multiply(x, a, out=y)
    if inf_nan and top >= _BITS_INF:
        y[x == math.inf] = math.nan
    if d is not None:
        ns.multiply(q, x, out=d)
        d += a


def _gelu32(ns: Any, x: Any, approximate: str, slope: bool, inf_nan: bool) -> tuple:
    """gelu of the float32 array ``x`` and its slope (or None), over cache-sized blocks on the CPU;
    ``inf_nan``: gelu(+inf) is NaN (as torch's oneDNN path)."""
    flat = x.reshape(-1)
    n = flat.size
    y = ns.empty(n, np.float32)
    d = ns.empty(n, np.float32) if slope else None
    # at least 8 blocks from 512K elements on (the threads take whole blocks: their shares stay even)
    step = max(min(n, _BLOCK, max(1 << 16, -(-n // 8))) if ns is np else n, 1)

    def part(lo: int, hi: int) -> None:   # blocks lo..hi on one thread, with its own scratch
        work = [ns.empty(step, np.float32) for _ in range(3)]
        work.append(ns.full(step, _BITS_1E30 if approximate == "tanh" else _BITS_16, np.int32))
        with _quiet(ns):   # exp(-2u) below x ≈ -9.5 and x² beyond 1.8e19 overflow, as meant (a worker's
            # NumPy error state is its own: the caller's does not reach it)
            for i in range(lo * step, min(hi * step, n), step):
                j = min(i + step, n)
                _gelu32_block(ns, flat[i:j], y[i:j], None if d is None else d[i:j], [w[: j - i] for w in work],
                              approximate, inf_nan)

    split_rows(ns, -(-n // step), step, part)
    return y.reshape(x.shape), None if d is None else d.reshape(x.shape)


def _times(ns: Any, a: Any, b: Any) -> Any:
    """``a * b``; for two C-contiguous arrays of one shape and dtype, in parts on the intra-op threads."""
    if a.shape != b.shape or a.dtype != b.dtype or not (a.flags.c_contiguous and b.flags.c_contiguous):
        return a * b
    out = ns.empty(a.shape, a.dtype)
    fa, fb, fo = a.reshape(-1), b.reshape(-1), out.reshape(-1)

    def part(lo: int, hi: int) -> None:
        with _quiet(ns):   # an overflow is silent, as torch's (on a worker as on the caller)
            ns.multiply(fa[lo:hi], fb[lo:hi], out=fo[lo:hi])

    split_rows(ns, fa.size, 1, part)
    return out


class GeluBackward0(Node):
    """gelu's gradient: the forward's saved slope times ``g``, or ember ops recomputing it from ``x`` when a
    graph of the gradient is built (``create_graph``)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, slope = self.saved
        approximate = self.params["approximate"]
        if STATE.enabled:
            q = _gelu_q(x, approximate, erf_op, E.tanh)
            return (g * _gelu_slope(x, q, approximate, E.exp),)
        return (result(_times(xp(g), compute_array(g), slope._data), g),)



def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Φ(x); ``approximate='tanh'`` uses the tanh formula. Runs on arrays; the forward also keeps the
    slope for the backward."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    if not input._dtype.is_floating_point:
        raise NotImplementedError(f"\"GeluKernelImpl\" not implemented for '{input._dtype._short}'")
    ns = xp(input)
    a = compute_array(input)
    grad = needs_grad(input)
    perm = storage_order(a.shape, tuple(s // a.itemsize for s in a.strides))
    if perm is not None:   # computed on the C-contiguous view: the result keeps the input's layout, as torch's
        a = a.transpose(perm)
    if a.dtype == np.float32:
        one_dnn = (ns is np and approximate == "none" and input._dtype in onednn_dtypes()
                   and input.numel() > 1 and input.is_contiguous() and backends.mkldnn.enabled)
        y, d = _gelu32(ns, a, approximate, grad, one_dnn)
        if ns is np and approximate == "none" and input._dtype.np.itemsize == 2 and not one_dnn:
            # torch's 16-bit vector kernel: x·½·(1 + erf(x/√2)) with its erf approximation
            y = a * np.float32(0.5) * (1 + erf_half_kernel(a * np.float32(math.sqrt(0.5))))
    else:
        def values(v: Any) -> tuple:
            q = _gelu_q(v, approximate, lambda u: _erf(ns, u), lambda u: _tanh(ns, u))
            return (_gelu_out(v, q, approximate), *((_gelu_slope(v, q, approximate, ns.exp),) if grad else ()))

        y, *rest = _in_blocks(ns, values, a)
        d = rest[0] if grad else None
    if perm is not None:
        back = tuple(np.argsort(perm).tolist())
        y, d = y.transpose(back), None if d is None else d.transpose(back)
    out = result(y, input)
    if grad:
        saved = new_tensor(d, D.from_numpy_dtype(d.dtype), input._device)
        return fused(out, GeluBackward0, (input,), (input, saved), params={"approximate": approximate})
    return out


def _sigmoid_arr(xp: Any, a: Any) -> Any:
    return 1 / (1 + xp.exp(-a))


def _silu_bwd(g: Tensor, x: Tensor) -> Tensor:
    s = x.sigmoid()
    return g * s * (1 + x * (1 - s))


_silu = _pointwise("SiluBackward0", lambda xp, a: a * _sigmoid_arr(xp, a), _silu_bwd, kernel="silu_cpu",
                   complex_ok=True)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x)."""
    return _with_inplace(_silu, input, inplace)


def _softplus_arr(xp: Any, a: Any) -> Any:
    return xp.maximum(a, 0) + xp.log1p(xp.exp(-xp.abs(a)))


def _mish_bwd(g: Tensor, x: Tensor) -> Tensor:
    t = softplus(x).tanh()
    return g * (t + x * x.sigmoid() * (1 - t * t))


_mish = _pointwise("MishBackward0", lambda xp, a: a * xp.tanh(_softplus_arr(xp, a)), _mish_bwd, kernel="mish_cpu")


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    return _with_inplace(_mish, input, inplace)


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


_hardsigmoid = _pointwise(
    "HardsigmoidBackward0",
    lambda xp, a: xp.clip(a + 3, 0, 6) / 6,   # torch's kernel: relu6(x + 3) / 6 ...
    E.hardsigmoid_backward,                   # ... and its gradient times 1/6 (a float literal)
    kernel="hardsigmoid_cpu",
)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    return _with_inplace(_hardsigmoid, input, inplace)


_hardswish = _pointwise(
    "HardswishBackward0",
    lambda xp, a: a * xp.clip(a + 3, 0, 6) / 6,
    lambda g, x: where(x <= -3, 0.0, where(x < 3, g * (x / 3 + 0.5), g)),   # torch's: -3 and 3 take the outer pieces
    kernel="hardswish_cpu",
)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    return _with_inplace(_hardswish, input, inplace)


def _softplus_fwd(xp: Any, a: Any, beta: float, threshold: float) -> Any:
    z = a * beta
    return xp.where(z > threshold, a, _softplus_arr(xp, z) / beta)


def _softplus_bwd(g: Tensor, x: Tensor, beta: float, threshold: float) -> Tensor:
    z = x * beta
    # create_graph: torch's second derivative is 0 from z = threshold on (the sigmoid's slope only below it)
    s = where(z >= threshold, float(threshold), z).sigmoid() if STATE.grad else z.sigmoid()
    return where(z > threshold, g, g * s)


_softplus = _pointwise("SoftplusBackward0", _softplus_fwd, _softplus_bwd, kernel="softplus_cpu")


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, linear above ``threshold``."""
    return _softplus(input, beta=beta, threshold=threshold)


def softsign(input: Tensor) -> Tensor:
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    return input - input.tanh()


_logsigmoid = _pointwise(
    "LogSigmoidBackward0", lambda xp, a: xp.asarray(-_softplus_arr(xp, -a), order="C"), lambda g, x: g * (-x).sigmoid()
)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), stable for large |x|."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"log_sigmoid_cpu\" not implemented for '{input.dtype._short}'")
    return _logsigmoid(input)


# ---- softmax family ------------------------------------------------------------------------------
def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as "
        "an argument.",
        stacklevel=stacklevel,
    )
    return 0 if ndim in (0, 1, 3) else 1


def _shifted(t: Tensor, dim: int) -> tuple[Any, Any, Any]:
    """(namespace, x - max along dim, exp of that) for a numerically stable softmax. An all -inf row gives NaN
    (-inf - -inf), and so does a row holding +inf, as torch's."""
    ns = xp(t)
    a = compute_array(t)
    if a.ndim == 0:
        a = a.reshape(1)
    if a.size == 0:   # nothing to normalise (torch returns the empty result)
        return ns, a, a
    z = a - extreme(ns, a, dim, True, True)
    return ns, z, ns.exp(z)


def _row_sums(ns: Any, a: Any) -> Any:
    """Sums of the rows of a 2-d block: ``einsum``'s vector accumulators for rows up to 4096 long (~3x faster
    than NumPy's pairwise sum), the pairwise sum for longer ones (its error grows with log n, not n)."""
    return ns.einsum("ij->i", a) if a.shape[1] <= 4096 else a.sum(1)


_SOFTMAX_SUM_MAX = 2.0**64   # the largest row sum of the unshifted softmax (1/s stays a normal float)


def _quiet(ns: Any) -> Any:
    """NumPy's errstate with overflow and invalid-value warnings off (a no-op context off the CPU)."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore") if ns is np else contextlib.nullcontext()


def _softmax_rows(ns: Any, a: Any, log: bool, probs: bool, exps: bool = False) -> tuple[Any, Any, Any, Any]:
    """softmax (``log``: log_softmax) of each row of the C-contiguous float ``(m, n)`` array ``a``; returns
    ``(out, kept, sums, shift)``. With ``probs`` (log_softmax's backward wants the softmax) ``kept`` holds the
    row exps and ``sums`` their row sums (the softmax is ``kept / sums``, one pass less than normalising here);
    with ``exps`` (not ``log``) ``out`` itself holds the unnormalised exps, ``sums`` their sums and ``shift``
    what each row was shifted by (0 or its max), so that ``log(sums) + shift`` is its logsumexp. A cache-sized
    block of rows at a time, the rows split over the intra-op threads (the exp dominates and releases the GIL);
    each row is computed whole by one thread, so the result does not depend on the thread count. One block on
    a GPU.

    A row is first taken unshifted: ``exp(x) / s`` with ``s = Σ exp(x)`` (one pass less than a shift by the
    row max, and as exact: ``x`` is not rounded by a subtraction). That is kept where ``1 <= s <= 2**64``: no
    term overflowed, the largest is not below 1/n, and 1/s is a normal float; the other rows (an overflow, an
    all-small row, -inf, +inf or NaN) are computed again shifted by their max. log_softmax subtracts log(s)
    in two float32 parts, so that the largest entries (near 0) are as exact as from the shifted form."""
    m, n = a.shape
    out = ns.empty((m, n), a.dtype)
    p = ns.empty((m, n), a.dtype) if probs else None
    sums = ns.empty(m, a.dtype) if probs or exps else None
    shift = ns.zeros(m, a.dtype) if exps else None
    step = max(1, _BLOCK // n) if ns is np else max(m, 1)
    lowest = np.finfo(a.dtype).min

    def shifted(x: Any, e: Any) -> tuple[Any, Any, Any]:
        """``x`` less its row max (an all -inf row gives NaN, as torch's), its exp into ``e``, the row sums,
        the maxes."""
        mx = ns.maximum(x.max(1), lowest)
        z = x - mx[:, None]
        ns.exp(z, out=e)
        return z, _row_sums(ns, e), mx

    def block(ak: Any, ok: Any, e: Any, rows: slice) -> None:
        if ns is np:
            ns.exp(ak, out=e)
            s = _row_sums(ns, e)
            redo = (~((s >= 1) & (s <= _SOFTMAX_SUM_MAX))).nonzero()[0]
            if redo.size:
                ez = ns.empty((redo.size, ak.shape[1]), ak.dtype)
                z, sz, mx = shifted(ak[redo], ez)
                e[redo], s[redo] = ez, sz
                if shift is not None:
                    shift[rows][redo] = mx
            if log:   # x - log(s), log(s) as a float64 split in two: x - hi is exact where it is small
                lse = ns.log(s.astype(np.float64))
                hi = lse.astype(ak.dtype)
                ns.subtract(ak, hi[:, None], out=ok)
                if ak.dtype != np.float64:
                    ok -= (lse - hi).astype(ak.dtype)[:, None]
                if redo.size:
                    ok[redo] = z - ns.log(sz)[:, None]
        else:   # on a GPU every row shifted (checking the sums would wait for the device)
            z, s, mx = shifted(ak, e)
            if shift is not None:
                shift[rows] = mx
            if log:
                ns.subtract(z, ns.log(s)[:, None], out=ok)
        if sums is not None:
            sums[rows] = s
        elif not log:   # softmax: normalise the exps (in ``out``)
            e *= (1 / s)[:, None]

    def part(lo: int, hi: int) -> None:   # the exps go where the softmax is wanted, else to a scratch block
        tmp = ns.empty((min(step, hi - lo), n), a.dtype) if log and not probs else None
        with _quiet(ns):   # an unshifted exp may overflow (the row is then redone)
            for i in range(lo, hi, step):
                j = min(i + step, hi)
                e = tmp[: j - i] if tmp is not None else (p if probs else out)[i:j]
                block(a[i:j], out[i:j], e, slice(i, j))

    split_rows(ns, m, n, part)
    return out, p, sums, shift


def _softmax_grad_rows(ns: Any, g: Any, y: Any, p: Any, sums: Any) -> Any:
    """The input gradient of softmax over the rows of ``(m, n)`` arrays from its output ``y``:
    ``(g - Σ g·y)·y``; of log_softmax (``p / sums``: the softmax) ``g - p·(Σ g / sums)``. Blocks of rows on
    the threads."""
    m, n = y.shape
    gx = ns.empty((m, n), y.dtype)
    # rows over 8192 long: _row_dots' einsum sums a block of one row in another order than a row of a larger
    # block, so those blocks keep the row counts of 1 << 16 elements (the results stay as they were)
    step = max(1, (_BLOCK if n <= 8192 else 1 << 16) // n) if ns is np else max(m, 1)

    def part(lo: int, hi: int) -> None:
        with _quiet(ns):   # rows with inf/NaN give NaN silently, as torch's (on a worker as on the caller)
            for i in range(lo, hi, step):
                j = min(i + step, hi)
                gk, ok = g[i:j], gx[i:j]
                if p is None:
                    ns.subtract(gk, _row_dots(ns, gk, y[i:j])[:, None], out=ok)
                    ok *= y[i:j]
                else:
                    ns.multiply(p[i:j], (_row_sums(ns, gk) / sums[i:j])[:, None], out=ok)
                    ns.subtract(gk, ok, out=ok)

    split_rows(ns, m, n, part)
    return gx


def _softmax_backward(node: Node, g: Tensor, log: bool) -> Tensor:
    """The gradient from the saved output: by array math over rows when the forward ran its row path (and no
    graph of the gradient is built), else in ember ops."""
    (y,) = node.saved
    rows = node.__dict__.get("rows")
    if rows is None or STATE.enabled:
        if log:
            return g - y.exp() * g.sum(node.dim, keepdim=True)
        return (g - (g * y).sum(node.dim, keepdim=True)) * y
    ns = xp(g)
    ga = ns.ascontiguousarray(compute_array(g)).reshape(rows)
    gx = _softmax_grad_rows(ns, ga, y._data.reshape(rows), node.probs if log else None, node.__dict__.get("sums"))
    return result(gx.reshape(y.shape), g)


class SoftmaxBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (_softmax_backward(self, g, False),)


class LogSoftmaxBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        if self.__dict__.get("passthrough"):   # cross_entropy's: its NllLossBackward0 gave the input gradient
            return (g,)
        return (_softmax_backward(self, g, True),)


def _prepare(input: Tensor, dim: int | None, dtype: Any, name: str, stacklevel: int) -> tuple[Tensor, int]:
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        dim = _softmax_dim(name, input.dim(), stacklevel + 1)
    dim = wrap_dim(dim, input.dim())
    # torch's CPU kernels take real floating types only (an empty input runs none: it comes back in its dtype)
    if not input._dtype.is_floating_point and input._data.size:
        kernel = f"{name}_lastdim_kernel_impl" if dim == max(input.dim(), 1) - 1 else f"{name}_kernel_impl"
        raise NotImplementedError(f'"{kernel}" not implemented for \'{input._dtype._short}\'')
    return input, dim


_ROWS_MIN = 1 << 14   # elements from which softmax takes the row path (below, its set-up costs more than it saves)


def _softmax_op(input: Tensor, dim: int, log: bool) -> Tensor:
    """softmax / log_softmax along ``dim``: over the rows of an ``(m, n)`` view (:func:`_softmax_rows`) when
    ``dim`` is the last one of a large float32/float64 tensor, else from the whole shifted array."""
    a = compute_array(input)
    node = LogSoftmaxBackward0 if log else SoftmaxBackward0
    if dim == a.ndim - 1 and a.size >= _ROWS_MIN and input._dtype in (D.float32, D.float64):
        rows = (a.size // a.shape[-1], a.shape[-1])
        grad = needs_grad(input)
        y, p, sums, _ = _softmax_rows(xp(input), xp(input).ascontiguousarray(a).reshape(rows), log, log and grad)
        out = result(y.reshape(a.shape), input)
        return fused(out, node, (input,), (OUT,), dim=dim, rows=rows, probs=p, sums=sums)
    ns, z, e = _shifted(input, dim)
    s = np.add.reduce(e, axis=dim, keepdims=True) if ns is np else e.sum(axis=dim, keepdims=True)   # (np.sum's own)
    if ns is np and input._dtype in (D.float16, D.bfloat16) and z.size:   # (torch's CPU kernels' rounding)
        y = _softmax16(ns, z, e, s, dim, log, input._dtype.np)
    elif log:
        y = z - ns.log(s)
    else:   # over the last dim torch's kernel multiplies by the sum's reciprocal (as _softmax_rows), else divides
        y = e * (1 / s) if dim == z.ndim - 1 else e / s
    out = result(ns.asarray(y.reshape(input._data.shape), order="C"), input)   # as torch
    return fused(out, node, (input,), (OUT,), dim=dim)


def _softmax16(ns: Any, z: Any, e: Any, s: Any, dim: int, log: bool, dt: Any) -> Any:
    """softmax / log_softmax of a 16-bit float CPU tensor (computed in float32: the shifted ``z``, its exps ``e``
    and their sums ``s``) rounded where torch's kernels round: over the last dim, log_softmax subtracts the log
    of the sum rounded to the type, itself rounded; over another dim, softmax's scalar tail (the inner positions
    past the last whole vector of :func:`lanes16`; torch's threads add tails at their chunks' ends, not modelled)
    divides the exps rounded to the type."""
    def rounded(v: Any) -> Any:
        return v.astype(dt).astype(np.float32)

    if dim == z.ndim - 1:
        return z - rounded(ns.log(rounded(s))) if log else e / s
    if log:
        return z - ns.log(s)
    inner = math.prod(z.shape[dim + 1:])
    start = inner // lanes16() * lanes16()
    if start == inner:
        return e / s
    tail = ns.arange(inner).reshape(z.shape[dim + 1:]) >= start
    return ns.where(tail, rounded(e) / s, e / s)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (computed from x - max, so large logits are safe)."""
    input, dim = _prepare(input, dim, dtype, "softmax", _stacklevel)
    return _softmax_op(input, dim, False)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """x - logsumexp(x) along ``dim``."""
    input, dim = _prepare(input, dim, dtype, "log_softmax", _stacklevel)
    return _softmax_op(input, dim, True)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """softmax(-x)."""
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        dim = _softmax_dim("softmin", input.dim(), _stacklevel)
    return softmax(-input, dim)


class GluBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (x,) = self.saved
        a, b = x.chunk(2, self.dim)
        s = b.sigmoid()
        return (cat([g * s, g * a * s * (1 - s)], self.dim),)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) where a, b are the two halves of ``input`` along ``dim``."""
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    dim = wrap_dim(dim, input.dim())
    n = input.shape[dim]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim} is size {n}")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"glu_cpu\" not implemented for '{input.dtype._short}'")
    a = compute_array(input)
    first, second = xp(input).split(a, 2, axis=dim)
    out = result(first * _sigmoid_arr(xp(input), second), input)
    return fused(out, GluBackward0, (input,), (input,), dim=dim)


def _method(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """``torch.softmax(input, dim, dtype=None)`` and ``Tensor.softmax(dim, dtype=None)``: the functional form with
    dim required and ``dtype`` the third positional argument (the functional's third is ``_stacklevel``)."""
    def method(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
        if dim is None:   # (the functional's implicit dim is not the method's)
            raise TypeError(f"{fn.__name__}(): argument 'dim' must be int, not NoneType")
        return fn(input, dim, dtype=dtype)
    method.__name__ = method.__qualname__ = fn.__name__
    return method


# torch exposes these as Tensor methods and torch-level functions too; their fused kernels live here, so the
# bindings do as well
torch_softmax = Tensor.softmax = _method(softmax)  # type: ignore[attr-defined]
torch_log_softmax = Tensor.log_softmax = _method(log_softmax)  # type: ignore[attr-defined]
