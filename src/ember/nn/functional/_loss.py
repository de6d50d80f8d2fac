"""Loss functions. Those torch computes with a fused kernel (its own grad_fn: ``MseLossBackward0``,
``NllLossBackward0``, …) run on arrays with a backward node written in ember ops; the rest are composites
of ember ops, as in torch."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..._core import dtype as D
from ..._core.device import check_on_device, to_host
from ..._core.warn import warn
from ...autograd.grad_mode import STATE, no_grad
from ...ops._cascade import nll_sum
from ...ops._dispatch import _FW, broadcast_error, broadcast_shapes
from ...ops._parallel import split_rows
from ...ops.creation import full_like, zeros
from ...ops.elementwise import add_scalar, div_scalar, mul_scalar, scalar_minus, sub_scalar
from ...ops.extra import composed, no_derivative
from ...ops.indexing import where
from ...ops.reduction import mean_array, sum_array
from ...ops.views import broadcast_tensors
from . import _activation
from ._activation import LogSoftmaxBackward0, _quiet, _softmax_rows, _softplus_arr, log_softmax, logsigmoid, softmax
from ._common import (
    Node,
    Tensor,
    check_reduction,
    compute_array,
    fused,
    legacy_reduction,
    needs_grad,
    not_differentiable,
    reduce_loss,
    result,
    tie,
    xp,
)
from ._layers import pairwise_distance

__all__ = [
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "nll_loss",
    "cross_entropy",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "kl_div",
    "poisson_nll_loss",
    "gaussian_nll_loss",
    "margin_ranking_loss",
    "hinge_embedding_loss",
    "cosine_embedding_loss",
    "triplet_margin_loss",
    "multilabel_soft_margin_loss",
    "soft_margin_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
]


def _warn_size(input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        warn(
            f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
            "This will likely lead to incorrect results due to broadcasting. Please ensure they have the "
            "same size.",
            stacklevel=3,
        )


# ---- fused elementwise losses --------------------------------------------------------------------
class _PointwiseLossBackward(Node):
    """Backward of ``reduce(f(x, t))``: ``self.grads(x, t, **params)`` gives ∂f/∂x and ∂f/∂t (ember ops)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, t = self.saved
        dx, dt = type(self).grads(x, t, **self.params)
        scale = g / self.count if self.reduction == "mean" else g
        gx = dx * scale if self._next[0] is not None else None
        if len(self._next) == 1:
            return (gx,)
        return gx, (dt * scale if self._next[1] is not None and dt is not None else None)


def _promoted(input: Tensor, target: Tensor) -> D.dtype:
    return D.promote_types(input._dtype, target._dtype)


def _pointwise_loss(
    grad_name: str, fwd: Callable[..., Any], grads: Callable[..., tuple], target_differentiable: bool = True,
    dtype_of: Callable[[Tensor, Tensor], D.dtype] | None = None, own_type: frozenset | None = frozenset(),
) -> Callable[..., Tensor]:
    """A fused loss: ``fwd(xp, x, t, **params)`` is the elementwise loss on arrays; ``grads`` its partials.
    Without ``target_differentiable`` the node has no edge for the target and torch's error guards it.
    ``dtype_of(input, target)`` is the result's dtype as torch's kernel gives it (default: the input's).
    ``own_type``: the 16-bit float dtypes torch computes the loss in (each operation rounded, as NumPy's
    float16/bfloat16 arithmetic does; composites and kernels without a float32 path): ``fwd`` gets those
    arrays as they are, other 16-bit floats widened to float32 and rounded once (None: every array as it is,
    ``fwd`` minding the dtypes)."""
    node_cls = type(grad_name, (_PointwiseLossBackward,), {"__slots__": (), "grads": staticmethod(grads)})

    fn_name = grad_name.removesuffix("Backward0")
    fn_name = "".join("_" + c.lower() if c.isupper() else c for c in fn_name).lstrip("_")

    def apply(input: Tensor, target: Tensor, reduction: str, **params: Any) -> Tensor:
        check_reduction(reduction)
        if not target_differentiable:
            not_differentiable(fn_name, target=target)
        own = own_type is None or input._dtype in own_type and target._dtype is input._dtype
        x, t = (input._data, target._data) if own else (compute_array(input), compute_array(target))
        ns = xp(input)
        try:
            x, t = ns.broadcast_arrays(x, t)
        except ValueError:
            raise broadcast_error(input._data.shape, target._data.shape) from None
        loss = fwd(ns, x, t, **params)
        if loss.dtype in _HALF_NP:   # (reduced in float32 as torch's sum and mean)
            loss = loss.astype(np.float32)
        n = loss.size
        if reduction == "sum":   # (torch's sum and mean, in its order)
            loss = sum_array(ns, loss, tuple(range(loss.ndim)))
        elif reduction == "mean":
            loss = mean_array(ns, loss, tuple(range(loss.ndim)), False)
        out = result(loss, input, None if dtype_of is None else dtype_of(input, target))
        inputs = (input, target) if target_differentiable else (input,)
        return fused(out, node_cls, inputs, (input, target), params=params, reduction=reduction, count=n)

    return apply


_HALVES = frozenset({D.float16, D.bfloat16})
_HALF_NP = frozenset({D.float16.np, D.bfloat16.np})
_mse = _pointwise_loss(
    "MseLossBackward0", lambda ns, x, t: (x - t) ** 2, lambda x, t: (2 * (x - t), -2 * (x - t)), dtype_of=_promoted,
    own_type=_HALVES,
)


def _smooth_l1_grad(x: Tensor, t: Tensor, beta: float) -> tuple:
    d = x - t
    gd = where(d.abs() < beta, d / beta, d.sign())
    return gd, -gd


def _smooth_l1_fwd(ns: Any, x: Any, t: Any, beta: float) -> Any:
    z, b, half = ns.abs(x - t), x.dtype.type(beta), x.dtype.type(0.5)   # (the numbers in the arrays' type)
    return ns.where(z < b, half * z * z / b, z - half * b)


def _huber_fwd(ns: Any, x: Any, t: Any, delta: float) -> Any:
    z, d, half = ns.abs(x - t), x.dtype.type(delta), x.dtype.type(0.5)
    return ns.where(z < d, half * z * z, d * (z - half * d))


_smooth_l1 = _pointwise_loss(
    "SmoothL1LossBackward0",
    _smooth_l1_fwd,
    _smooth_l1_grad,
    dtype_of=_promoted,
    own_type=frozenset({D.float16}),   # (bfloat16 has torch's float32 path)
)


def _huber_grad(x: Tensor, t: Tensor, delta: float) -> tuple:
    d = x - t
    gd = d.clamp(-delta, delta)
    return gd, -gd


_huber = _pointwise_loss(
    "HuberLossBackward0",
    _huber_fwd,
    _huber_grad,
    own_type=frozenset({D.bfloat16}),   # (float16 has torch's float32 path)
)


def _weighted(loss: Tensor, weight: Tensor, input: Tensor, reduction: str, by_weight: bool = True) -> Tensor:
    """The ``weight=`` form of mse/l1/huber: weighted elementwise loss; its mean is Σ w·l / Σ w (mse, l1)
    or the plain mean of w·l (huber)."""
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / weight.sum() if by_weight else loss.mean()
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean squared error."""
    _warn_size(input, target)
    reduction = legacy_reduction(size_average, reduce, reduction)
    if weight is not None:
        return _weighted((input - target) ** 2, weight, input, reduction)
    _check_pointwise_loss(input, target, "mse_cpu")
    return _mse(input, target, reduction)


def _check_pointwise_loss(input: Tensor, target: Tensor, kernel: str, keeps_input_dtype: bool = False) -> None:
    """The shapes broadcast, then the CPU kernel takes the promoted dtype if it is a real floating one (huber's
    result, in the input's dtype, must hold it)."""
    if not (isinstance(input, Tensor) and isinstance(target, Tensor)):
        return
    broadcast_shapes(input.shape, target.shape)
    dt = D.promote_types(input._dtype, target._dtype)
    if keeps_input_dtype and not D.can_cast(dt, input._dtype):
        raise RuntimeError(f"result type {dt._short} can't be cast to the desired output type {input._dtype._short}")
    if not dt.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{dt._short}\'')


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean absolute error (a composite, as in torch)."""
    _warn_size(input, target)
    reduction = legacy_reduction(size_average, reduce, reduction)
    if input.shape != target.shape:   # broadcast first, as torch: both take part in the type promotion
        input, target = broadcast_tensors(input, target)
    if weight is not None:
        return _weighted((input - target).abs(), weight, input, reduction)
    return reduce_loss((input - target).abs(), check_reduction(reduction))


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """Quadratic below ``beta``, linear above (``beta = 0`` is the L1 loss)."""
    _warn_size(input, target)
    reduction = legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:
        return l1_loss(input, target, reduction=reduction)
    _check_pointwise_loss(input, target, "smooth_l1_cpu")
    return _smooth_l1(input, target, reduction, beta=beta)


def huber_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0, weight: Tensor | None = None
) -> Tensor:
    """Quadratic below ``delta``, ``delta``-scaled linear above."""
    _warn_size(input, target)
    _check_pointwise_loss(input, target, "huber_cpu", keeps_input_dtype=True)
    if weight is not None:   # torch: the unweighted kernel (the input's dtype), then the weights
        return _weighted(_huber(input, target, "none", delta=delta), weight, input, reduction, by_weight=False)
    return _huber(input, target, reduction, delta=delta)


def _bce_grads(x: Tensor, t: Tensor, weight: Any) -> tuple:
    w = 1.0 if weight is None else weight
    dx = w * (x - t) / ((1 - x) * x).clamp_min(1e-12)
    dt = w * ((1 - x).log().clamp_min(-100) - x.log().clamp_min(-100))
    return dx, dt


def _bce_fwd(ns: Any, x: Any, t: Any, weight: Any) -> Any:
    log_x = ns.maximum(ns.log(x), -100)
    log_1mx = ns.maximum(ns.log1p(-x), -100)
    loss = -(t * log_x + (1 - t) * log_1mx)
    return loss if weight is None else loss * compute_array(weight)


_bce = _pointwise_loss("BinaryCrossEntropyBackward0", _bce_fwd, _bce_grads)


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-w (t log x + (1 - t) log(1 - x)), logs clamped at -100 as torch."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size."
        )
    not_differentiable("binary_cross_entropy", weight=weight)   # (torch's autograd check precedes the kernel's)
    if target._dtype is not input._dtype:
        raise RuntimeError(f"Found dtype {target._dtype._short} but expected {input._dtype._short}")
    a = input._data
    if a.size:
        check_on_device(xp(input), ~((a >= 0) & (a <= 1)).all(),
                        lambda: RuntimeError("all elements of input should be between 0 and 1"))
        b = target._data
        check_on_device(xp(input), ~((b >= 0) & (b <= 1)).all(),
                        lambda: RuntimeError("all elements of target should be between 0 and 1"))
    if weight is not None:
        weight = weight.expand(input.shape)
    return _bce(input, target, reduction, weight=weight)


def _bce_logits_fwd(ns: Any, x: Any, t: Any, weight: Any, pos_weight: Any) -> Any:
    """torch's composite ``(1 - t)·x - log_sigmoid(x)·((pos_weight - 1)·t + 1)``, times the weight, step by step
    in the arrays' dtypes (16-bit floats round each step; an in-place step keeps its tensor's dtype)."""
    log_sigmoid = (-_softplus_arr(ns, -(x.astype(np.float32) if x.dtype in _HALF_NP else x))).astype(x.dtype)
    if pos_weight is not None:
        log_sigmoid = (log_sigmoid * ((pos_weight._data - 1) * t + 1)).astype(x.dtype, copy=False)
    loss = (((1 - t) * x).astype(t.dtype, copy=False) - log_sigmoid).astype(t.dtype, copy=False)
    return loss if weight is None else (loss * weight._data).astype(t.dtype, copy=False)


def _bce_logits_grads(x: Tensor, t: Tensor, weight: Any, pos_weight: Any) -> tuple:
    s = x.sigmoid()
    if pos_weight is None:
        dx, dt = s - t, -x
    else:
        dx = (1 + (pos_weight - 1) * t) * s - pos_weight * t
        dt = -x + (pos_weight - 1) * ((-x).clamp_min(0) + (-x.abs()).exp().log1p())
    return (dx, dt) if weight is None else (dx * weight, dt * weight)


_bce_logits = _pointwise_loss(   # torch's result is built in place from (1 - target): the target's dtype
    "BinaryCrossEntropyWithLogitsBackward0", _bce_logits_fwd, _bce_logits_grads,
    dtype_of=lambda input, target: target._dtype if target._dtype.is_floating_point else input._dtype,
    own_type=None)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable formula; ``pos_weight`` weighs the positive term."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    if target.dtype is D.bool:   # torch builds the loss in place in (1 - target): its errors
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                           "`logical_xor()` operator instead.")
    if not target.dtype.is_floating_point:
        (1 - target).mul_(input)
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"log_sigmoid_cpu\" not implemented for '{input.dtype._short}'")
    not_differentiable("binary_cross_entropy_with_logits", weight=weight, pos_weight=pos_weight)
    return _bce_logits(
        input,
        target,
        reduction,
        weight=weight,
        pos_weight=pos_weight,
    )


def _soft_margin_grads(x: Tensor, t: Tensor) -> tuple:
    s = (-t * x).sigmoid()   # (a bool target is refused here, as torch's backward refuses it)
    return -t * s, -x * s


_soft_margin = _pointwise_loss(   # torch's composite log1p(exp(-x·t)), each step in the dtype: it overflows to inf
    "SoftMarginLossBackward0",
    lambda ns, x, t: ns.log1p(ns.exp(-x * t)),
    _soft_margin_grads,
    target_differentiable=False,
    own_type=_HALVES,
)


def soft_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """log(1 + exp(-y x))."""
    _warn_size(input, target)
    if input.dtype is D.bool:   # torch negates the input first
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")
    return _soft_margin(input, target, legacy_reduction(size_average, reduce, reduction))


# ---- negative log likelihood and cross-entropy ---------------------------------------------------
class NllLossBackward0(Node):
    """∂/∂input of -w[t]·input[t]: a scatter of -w[t]·g (÷ total weight for 'mean') into the class dim."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (coef,) = self.saved  # -w[t] per sample (0 where ignored), shape of the flattened target
        scale = coef * (
            g.reshape(-1) if self.reduction == "none" else g / self.total if self.reduction == "mean" else g
        )
        if self.reduction == "mean":   # ignored targets get none, also of a total weight of 0 (0·∞ is NaN)
            scale = scale.masked_fill(self.ignored, 0)
        n, c = self.flat_shape
        probs = self.__dict__.get("probs")
        if probs is not None and not STATE.enabled:   # cross_entropy's rows: d/d input in one pass
            return (result(_ce_input_grad(xp(g), probs, self.sums, self.target._data, scale._data), g),)
        if STATE.enabled:   # create_graph: the scatter stays differentiable
            flat = zeros(n, c, dtype=g.dtype, device=g.device).scatter(
                1, self.target.unsqueeze(1), scale.unsqueeze(1)
            )
        else:   # one write into fresh zeros (the scatter would copy them first)
            ns = xp(g)
            arr = ns.zeros((n, c), dtype=scale._data.dtype)
            arr[ns.arange(n), self.target._data] = scale._data
            flat = result(arr, scale)
        if probs is not None:   # through log_softmax's backward (its node in the graph passes this on)
            flat = flat - softmax(self.logits, 1) * scale.unsqueeze(1)
        gx = flat.reshape(*self.moved_shape).movedim(-1, 1) if len(self.moved_shape) > 1 else flat.reshape(
            self.moved_shape)
        return (gx if probs is not None else tie(gx, self, type(self).__name__[:-1] + "Backward0"),)


class NllLoss2DBackward0(NllLossBackward0):
    __slots__ = ()


def _check_target(input: Tensor, target: Tensor) -> None:
    """torch's checks of class-index targets, shapes before the dtype (a float target of the wrong shape, a
    common slip, gets the shape error). Read from the arrays' shapes (no Size objects on this per-step path)."""
    shape, tshape = input._data.shape, target._data.shape
    nd, tnd = len(shape), len(tshape)
    if nd == 1:
        if tnd > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if tnd == 1 and tshape[0] != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: {tshape[0]}")
    else:
        batch = tshape[0] if tnd else 0   # (torch reads a 0-d target's batch size as 0)
        if shape[0] != batch:
            raise ValueError(f"Expected input batch_size ({shape[0]}) to match target batch_size ({batch}).")
        if not tnd:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        if nd == 2 and tnd != 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if nd > 2 and list(tshape) != [shape[0], *shape[2:]]:
        raise RuntimeError(f"Expected target size {[shape[0], *shape[2:]]}, got {list(tshape)}")
    if target._dtype is not D.int64 and target._dtype is not D.uint8:
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {target._dtype._short}")


def _check_weight(weight: Tensor | None, c: int, input: Tensor) -> None:
    """Class weights: one per class, of the input's dtype (torch's kernels read them as such)."""
    if weight is None:
        return
    if weight.numel() != c:
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no classes but "
                           f"got weight tensor of shape: {list(weight.shape)}")
    _same_scalar_type(weight, input)


def _same_scalar_type(weight: Tensor, input: Tensor) -> None:
    if weight._dtype is not input._dtype:
        raise RuntimeError(f"expected scalar type {input._dtype._short} but found {weight._dtype._short}")


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-input[n, target[n]] (weighted), classes along dim 1; targets equal to ``ignore_index`` count zero."""
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    if input.dim() == 1 and target.shape == (1,):   # one sample either way: torch's result is 0-d
        target = target.reshape(())
    tc, w, valid = _nll_targets(input, target, weight, ignore_index)
    ns = xp(input)
    a = compute_array(input)
    moved = ns.moveaxis(a, 1, -1) if a.ndim > 2 else a   # (classes last: already so for (n, c))
    flat = moved.reshape(-1, moved.shape[-1])
    return _nll_reduce(input, target, -w * flat[ns.arange(flat.shape[0]), tc], tc, w, valid, reduction, moved.shape)


def _nll_targets(input: Tensor, target: Tensor, weight: Tensor | None,
                 ignore_index: int) -> tuple[Any, Any, Any]:
    """nll_loss's checks; the flat target with ignored entries as class 0, each sample's weight (0 where
    ignored) and whether it is not ignored, as arrays."""
    _check_target(input, target)
    if weight is not None:
        not_differentiable("nll_loss_forward", weight=weight)
    shape = input._data.shape
    c = shape[1] if len(shape) > 1 else shape[0]
    _check_weight(weight, c, input)
    ns = xp(input)
    t = target._data.reshape(-1).astype(ns.int64)
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= c))
    check_on_device(ns, bad.any(), lambda: IndexError(f"Target {int(to_host(t[bad])[0])} is out of bounds."))
    tc = ns.where(valid, t, 0)
    dtype = compute_array(input).dtype
    return tc, compute_array(weight)[tc] * valid if weight is not None else valid.astype(dtype), valid


def _nll_reduce(input: Tensor, target: Tensor, losses: Any, tc: Any, w: Any, valid: Any, reduction: str,
                moved_shape: tuple, **attrs: Any) -> Tensor:
    """nll_loss's output from the per-sample ``losses`` (weighted), with its NllLossBackward0 node. On the CPU the
    losses and weights are summed in the order of torch's kernel (its results bit for bit)."""
    if xp(input) is np and reduction != "none":
        kept = np.flatnonzero(valid)
        total = nll_sum(w[kept], kept, valid.size)
        loss_sum = nll_sum(losses.reshape(-1)[kept], kept, valid.size)
    else:
        total, loss_sum = w.sum(), losses.sum()
    if reduction == "none":
        out_arr = losses.reshape(target.shape)
    elif reduction == "sum":
        out_arr = loss_sum
    else:
        out_arr = loss_sum / total
    out = result(out_arr, input)
    if not needs_grad(input):   # (the node's attributes below are built only for a graph)
        return out
    node = NllLoss2DBackward0 if input.dim() > 2 else NllLossBackward0
    return fused(
        out,
        node,
        (input,),
        (result(-w, input),),
        reduction=reduction,
        # a number on the CPU; on a GPU a 0-d tensor, so that the forward does not wait for the device
        total=float(total) if input._device.type == "cpu" else result(total, input, D.from_numpy_dtype(total.dtype)),
        target=result(tc, input, D.int64),
        ignored=result(~valid, input, D.bool),
        flat_shape=(math.prod(moved_shape[:-1]), moved_shape[-1]),
        moved_shape=moved_shape,
        **attrs,
    )


def _ce_input_grad(ns: Any, e: Any, sums: Any, t: Any, scale: Any) -> Any:
    """cross_entropy's input gradient ``(onehot(t) - e / sums)·scale`` per row from the row exps ``e`` (rows
    split over the intra-op threads): log_softmax's backward ``g - p·Σg`` of nll's one-hot ``g``, in one pass."""
    gx = ns.empty(e.shape, e.dtype)
    neg = (-scale / sums).astype(e.dtype)[:, None]

    def part(lo: int, hi: int) -> None:
        with _quiet(ns):   # inf·0 in a row with -inf logits is NaN silently, as torch's (on a worker too)
            ns.multiply(e[lo:hi], neg[lo:hi], out=gx[lo:hi])

    split_rows(ns, e.shape[0], e.shape[1], part)
    gx[ns.arange(e.shape[0]), t] += scale.astype(e.dtype)
    return gx


def _cross_entropy_rows(input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int,
                        reduction: str) -> Tensor:
    """cross_entropy of ``(n, c)`` logits against class indices from the rows' exps and their sums alone: the
    loss is ``logsumexp - x[t]`` and the backward ``(e / Σe - onehot)·scale`` in one pass (no log-probabilities,
    no one-hot gradient). The graph is torch's, NllLossBackward0 then LogSoftmaxBackward0; the latter passes on
    the input gradient the former computed (its log-probabilities are never materialised)."""
    ns = xp(input)
    tc, w, valid = _nll_targets(input, target, weight, ignore_index)
    a = ns.ascontiguousarray(compute_array(input))
    e, _, sums, shift = _softmax_rows(ns, a, False, False, exps=True)
    with _quiet(ns):   # x[t] - logsumexp in float64 (-inf - -inf: an all -inf row gives NaN, as torch's)
        picked = a[ns.arange(a.shape[0]), tc].astype(ns.float64) - shift - ns.log(sums.astype(ns.float64))
    logp = result(ns.broadcast_to(ns.zeros((), a.dtype), a.shape), input)   # torch's graph; values never read
    fused(logp, LogSoftmaxBackward0, (input,), passthrough=True, dim=1)
    return _nll_reduce(logp, target, -w * picked.astype(a.dtype), tc, w, valid, reduction, a.shape, probs=e, sums=sums,
                       logits=input)


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """log_softmax over dim 1 followed by the NLL loss; targets are class indices or class probabilities."""
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing:g}")
    if target.shape == input.shape and not target.dtype.is_floating_point:   # read as class probabilities
        raise RuntimeError(f"Expected floating point type for target with class probabilities, got "
                           f"{target.dtype._short}")
    class_dim = 0 if input.dim() == 1 else 1
    if not input.dim():
        input.size(class_dim)   # torch reads the classes' size first: its IndexError
    if weight is not None and not target.dtype.is_floating_point and input.dim():
        _check_target(input, target)
        _check_weight(weight, input.shape[class_dim], input)
    if (input.dim() == 2 and not target.dtype.is_floating_point and label_smoothing == 0 and not _FW[0]
            and input._dtype in (D.float32, D.float64) and input.numel() >= _activation._ROWS_MIN):
        return _cross_entropy_rows(input, target, weight, ignore_index, reduction)
    logp = log_softmax(input, class_dim)
    c = input.shape[class_dim]
    if weight is not None and weight.numel() != c:
        _check_weight(weight, c, input)
    w_view = None
    if weight is not None:
        w_view = weight.reshape([c] + [1] * (input.dim() - class_dim - 1))
    if target.dtype.is_floating_point:
        if target.shape != input.shape:   # not class probabilities: read as class indices, as torch
            _check_target(input, target)
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / c
        prod = logp * target if w_view is None else logp * target * w_view
        if reduction == "none":
            return -prod.sum(class_dim)
        total = -prod.sum()
        if reduction == "sum":
            return total
        n = input.numel() // c
        return div_scalar(total, n)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0:
        return nll
    ignored = target == ignore_index
    smooth = -(logp if w_view is None else logp * w_view).sum(class_dim)
    smooth = smooth.masked_fill(ignored, 0.0)
    if reduction == "sum":
        smooth = smooth.sum()
    elif reduction == "mean":
        if weight is None:
            smooth = smooth.sum() / (~ignored).sum()
        else:
            smooth = smooth.sum() / weight[target.masked_fill(ignored, 0)].masked_fill(ignored, 0).sum()
    return mul_scalar(nll, 1 - label_smoothing) + mul_scalar(smooth, label_smoothing / c)


# ---- composite losses ----------------------------------------------------------------------------
def kl_div(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL(target ‖ exp(input)) with ``input`` given as log-probabilities."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction == "mean":
        warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support size."
            "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
            "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
            stacklevel=2,
        )
    if input.dtype.is_complex or target.dtype.is_complex:   # (torch's Python wrapper warned first)
        raise RuntimeError("kl_div: Complex inputs not supported.")
    if input.dtype.category < 2 or target.dtype.category < 2:
        raise RuntimeError("kl_div: Integral inputs not supported.")
    loss = target.exp() * (target - input) if log_target else target.xlogy(target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.dim() != 0 else loss.sum()
    return reduce_loss(loss, reduction)


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Poisson negative log likelihood; ``full`` adds the Stirling term for targets > 1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return reduce_loss(loss, reduction)


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var: Tensor | float,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """0.5 (log var + (input - target)² / var), var clamped below by ``eps`` (without gradient there)."""
    if not isinstance(var, Tensor):
        var = full_like(input, float(var))
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)
        elif not (input.shape[:-1] == var.shape[:-1] and var.shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    check_reduction(reduction)
    if bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    var = var.clone()
    with no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction)


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, -y (x1 - x2) + margin)."""
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(
            f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} "
        )
    return reduce_loss(add_scalar(-target * (input1 - input2), margin).clamp_min(0), reduction)


def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1."""
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    margin_part = where(target != 1, scalar_minus(margin, input).clamp_min(0), 0.0)
    self_part = where(target != -1, input, 0.0)
    return reduce_loss(margin_part + self_part, reduction)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1."""
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if target.dim() > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if not input1.dim() == input2.dim() == target.dim() + 1:
        raise RuntimeError(
            f"{target.dim()}D target tensor expects {target.dim() + 1}D input tensors, but found "
            f"inputs with sizes {list(input1.shape)} and {list(input2.shape)}."
        )
    dim = input1.dim() - 1
    eps = 1e-12
    prod = (input1 * input2).sum(dim)
    mag1 = add_scalar((input1 * input1).sum(dim), eps)
    mag2 = add_scalar((input2 * input2).sum(dim), eps)
    cos = prod / (mag1 * mag2).sqrt()
    pos = where(target == 1, scalar_minus(1, cos), 0.0)
    neg = where(target == -1, sub_scalar(cos, margin).clamp_min(0), 0.0)
    return reduce_loss(pos + neg, reduction)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, d(a, p) - d(a, n) + margin) with p-norm distances (``swap`` uses the closer negative)."""
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if not (anchor.dim() == positive.dim() == negative.dim()):
        raise RuntimeError(
            f"The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {anchor.dim()}D, positive {positive.dim()}D, and "
            f"negative {negative.dim()}D inputs"
        )
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return reduce_loss((add_scalar(d_pos, margin) - d_neg).clamp_min(0), reduction)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Per-class logistic loss averaged over classes."""
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(class_dim) / input.size(class_dim)
    return reduce_loss(loss, reduction)


def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Σ_{j≠y} max(0, margin - x[y] + x[j])^p / C (weighted by ``weight[y]``)."""
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    _check_margin_input(input)
    frames = input.shape[0] if input.dim() == 2 else 1
    if target.dim() > 1 or target.numel() != frames:
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                           f"samples (batch size). Expected target size [{frames}], but got {list(target.shape)}. "
                           f"Input has shape {list(input.shape)}.")
    c = input.shape[-1] if input.dim() else 1
    if weight is not None and (weight.dim() > 1 or weight.numel() != c):
        raise RuntimeError(f"inconsistent weight size, expected {c} but got {list(weight.shape)}")
    _check_margin_dtypes(input, target, "multi_margin_loss_cpu_kernel")
    if target.numel() and bool(((target._data < 0) | (target._data >= c)).any()):
        raise RuntimeError("target out of range")
    t = target.reshape(-1, 1)
    not_target = result(xp(input).arange(c)[None, :] != t._data, input, D.bool)
    not_differentiable("multi_margin_loss", weight=weight)
    if weight is not None:
        _same_scalar_type(weight, input)
    w = None if weight is None else weight[t]

    def fn(input: Tensor) -> Tensor:
        x = input if input.dim() == 2 else input.reshape(1, -1)
        z = (margin - x.gather(1, t) + x).relu()   # (torch's kernel: no gradient where z = 0)
        if p == 2:
            z = z * z
        if w is not None:
            z = z * w
        loss = (z * not_target).sum(1) / c
        if input.dim() != 2:
            loss = loss.reshape(target.shape)
        return reduce_loss(loss, reduction)

    return composed("MultiMarginLossBackward0", fn, input, twice={0: no_derivative("multi_margin_loss_backward")})


def _check_margin_input(input: Tensor) -> None:
    """The margin losses take a vector or a (batch, classes) matrix with classes."""
    if input.dim() > 2 or (input.dim() and input.shape[-1] == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")


def _check_margin_dtypes(input: Tensor, target: Tensor, kernel: str) -> None:
    if input.dtype not in (D.float32, D.float64):
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{input.dtype._short}'")
    if target.dtype is not D.int64:
        raise RuntimeError(f"expected scalar type Long but found {target.dtype._short}")


def multilabel_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Σ_{j target, i not target} max(0, 1 - x[y_j] + x[i]) / C, the targets being the leading entries of
    ``target`` before its first -1."""
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    _check_margin_input(input)
    if (target.shape != input.shape if input.dim() == 2 else target.dim() > 1 or target.numel() != input.numel()):
        raise RuntimeError(
            f"inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}"
        )
    ns = xp(input)
    c = input.shape[-1] if input.dim() else 1
    y = target._data.reshape(-1, c)
    if ((y < -1) | (y >= c)).any():
        raise RuntimeError("argument #2 'target' is out of range")
    _check_margin_dtypes(input, target, "multilabel_margin_loss_forward_out_frame")
    valid = ns.cumprod(y >= 0, axis=1).astype(bool)  # the entries before the first -1
    hit = ns.zeros(y.shape, dtype=bool)
    rows = ns.broadcast_to(ns.arange(y.shape[0])[:, None], y.shape)
    hit[rows[valid], y[valid]] = True
    idx = result(ns.where(valid, y, 0), input, D.int64)
    pairs = result(valid[:, :, None] & ~hit[:, None, :], input, D.bool)

    def fn(input: Tensor) -> Tensor:
        x = input.reshape(-1, c)
        z = (1 - x.gather(1, idx)[:, :, None] + x[:, None, :]).relu()   # (torch's kernel: no gradient where z = 0)
        loss = (z * pairs).sum((1, 2)) / c
        return reduce_loss(loss.reshape(input.shape[:-1]) if input.dim() else loss.reshape(()), reduction)

    return composed("MultilabelMarginLossBackward0", fn, input,
                    twice={0: no_derivative("multilabel_margin_loss_backward")})
