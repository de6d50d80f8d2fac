"""``linear_cross_entropy``: cross-entropy of linearly projected inputs, as torch 2.13.

Two paths, as in torch. ``options=None`` is the reference: ``linear`` then ``cross_entropy``, recorded as the
ordinary graph (so every autograd feature works). With ``options`` (a ``LinearCrossEntropyOptions``) the batch
is processed ``batch_chunk_size`` rows at a time so the full ``(N, C)`` logits never exist: for 'mean'/'sum' the
forward also computes the gradients of input, linear weight and bias, and the backward only scales them by the
upstream gradient (consumed in place unless ``allow_retain_graph``); for 'none' the backward recomputes them
chunk by chunk with the per-sample upstream gradient folded into the row weights. The chunked path supports
neither higher-order gradients (its gradients come back as constants) nor label smoothing, probability targets
or K-dimensional weights: those fall back to the reference path with torch's warning.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..._core import dtype as D
from ..._core.device import check_on_device, to_host
from ..._core.warn import warn
from ...autograd import forward_ad as _fw
from ._common import STATE, Node, Tensor, compute_array, fused, result, xp
from ._layers import linear
from ._loss import cross_entropy

__all__ = ["linear_cross_entropy"]

_CONSUMED = object()   # a precomputed gradient already handed to a backward
_TWICE = ("linear_cross_entropy chunked backward called twice; "
          "retain_graph=True / double backward are not supported.")


def _check_shapes(input: Tensor, linear_weight: Tensor, linear_bias: Tensor | None) -> tuple[int, tuple[int, ...]]:
    """torch's argument checks; returns the number of classes and the K-dimensional ``out_features``."""
    if input.dim() < 1 or input.dim() > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.dim()}")
    if linear_weight.dim() < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got {linear_weight.dim()}")
    in_features = input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError("expected equal input and linear_weight last dimensions (in_features), "
                           f"got {in_features} and {linear_weight.shape[-1]}, respectively")
    num_classes = linear_weight.shape[0]
    out_features = tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(num_classes, *out_features)}, "
                           f"got {tuple(linear_bias.shape)}")
    if out_features and input.dim() == 1:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} requires"
                           f" batched input, (N, {in_features}), got unbatched input with shape {tuple(input.shape)}")
    return num_classes, out_features


def linear_cross_entropy(
    input: Tensor,
    linear_weight: Tensor,
    target: Tensor,
    *,
    linear_bias: Tensor | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    options: Any = None,
) -> Tensor:
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``; ``linear_weight`` is
    ``(C, in_features)`` or ``(C, d_1, ..., d_K, in_features)`` for a K-dimensional loss. ``ignore_index=None``
    means -100 for class-index targets and is the only value allowed for probability targets. ``options`` (a
    ``LinearCrossEntropyOptions``) selects the chunked, lower-memory path where it applies."""
    num_classes, out_features = _check_shapes(input, linear_weight, linear_bias)
    in_features = input.shape[-1]
    logits_shape = (*input.shape[:-1], num_classes, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    ignore_index = -100 if ignore_index is None else ignore_index
    chunked = (reduction in ("mean", "sum", "none") and label_smoothing == 0.0 and target.dtype is D.int64
               and not out_features)
    if options is not None and not chunked:
        bias_shape = tuple(linear_bias.shape) if linear_bias is not None else None
        warn(
            "linear_cross_entropy: ``options`` ignored; chunked path needs reduction in {'mean','sum','none'}, "
            "label_smoothing == 0, target.dtype == int64, out_features == (). Got "
            f"reduction={reduction!r}, label_smoothing={label_smoothing}, target.dtype={target.dtype}, "
            f"out_features={out_features}, tracing=False, linear_bias.shape={bias_shape}.",
            stacklevel=2,
        )
    if options is not None and chunked:
        batched = input.dim() == 2
        if not batched:
            input, target = input.unsqueeze(0), target.unsqueeze(0)
        options = options._adjust(num_batches=input.shape[0], in_features=in_features, num_classes=num_classes,
                                  dtype=input.dtype, device=input.device)
        if reduction == "none":
            out = _chunked_none(input, linear_weight, target, linear_bias, weight, ignore_index, options)
        else:
            from ...compiler import is_compiling

            if not options.allow_retain_graph and is_compiling():
                warn("linear_cross_entropy: forcing allow_retain_graph=True under torch.compile (adds one "
                     "gradient-sized allocation/call). Construct options with allow_retain_graph=True to "
                     "silence.", stacklevel=2)
                options = dataclasses.replace(options, allow_retain_graph=True)
            out = _chunked_scalar(input, linear_weight, target, linear_bias, weight, reduction, ignore_index, options)
        return out if batched else out.squeeze(0)
    if out_features:
        rows = math.prod(out_features, start=num_classes)
        linear_weight = linear_weight.reshape(rows, in_features)
        if linear_bias is not None:
            linear_bias = linear_bias.reshape(rows)
    logits = linear(input, linear_weight, linear_bias).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, reduction=reduction, ignore_index=ignore_index,
                         label_smoothing=label_smoothing)


# ---- the chunked path ----------------------------------------------------------------------------
_CPP = {"float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float", "float64": "double"}


def _check_chunked(input: Tensor, linear_weight: Tensor, acc_dtype: D.dtype) -> None:
    """The checks torch's chunked op makes before any arithmetic: accumulation dtype, then the matmul's."""
    dt = input.dtype
    if dt is not acc_dtype and not (dt in (D.float16, D.bfloat16) and acc_dtype is D.float32):
        raise RuntimeError("linear_cross_entropy supports float32 acc_dtype with float16/bfloat16 inputs, but got "
                           f"{acc_dtype} acc_dtype and {dt} inputs.")
    if linear_weight.dtype is not dt:
        a, b = (_CPP.get(t.name, t.name) for t in (dt, linear_weight.dtype))
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a} != {b}")


def _chunked_arrays(
    input: Tensor,
    linear_weight: Tensor,
    target: Tensor,
    linear_bias: Tensor | None,
    weight: Tensor | None,
    reduction: str,
    ignore_index: int,
    chunk: int,
    want: tuple[bool, bool, bool],
    upstream: Tensor | None = None,
) -> tuple[Any, Any, Any, Any]:
    """The chunked loop on arrays: ``(loss, grad_input, grad_linear_weight, grad_linear_bias)`` (grads None
    unless ``want``ed). ``reduction='none'`` without ``upstream`` gives the per-row losses; with ``upstream``
    (the backward) the grads of ``sum(upstream * loss)``.

    Per row the logits' gradient is ``w[t]·(softmax − onehot(t))`` scaled by the reduction (and upstream); it is
    built in the ``(chunk, C)`` logits buffer and turned into the three gradients by one GEMM each."""
    ns = xp(input)
    x = compute_array(input)
    ct = x.dtype
    wl = compute_array(linear_weight).astype(ct, copy=False)
    bl = compute_array(linear_bias).astype(ct, copy=False) if linear_bias is not None else None
    n, f = x.shape
    c = wl.shape[0]
    t = target._data.astype(ns.int64, copy=False)
    mask = t == ignore_index
    tc = ns.where(mask, 0, t) if not 0 <= ignore_index < c else t
    if weight is None:
        rw = (~mask).astype(ct)
    else:
        cw = compute_array(weight).astype(ct, copy=False)
        bad_w = ((tc < 0) | (tc >= cw.shape[0])).any()
        check_on_device(ns, bad_w, lambda: IndexError("index out of range in self"))
        rw = ns.where(mask, 0, cw[tc]).astype(ct)
    bad = (tc < 0) | (tc >= c)
    check_on_device(ns, bad.any(), lambda: RuntimeError(
        f"index {int(to_host(tc[bad])[0])} is out of bounds for dimension 1 with size {c}"))
    forward_none = reduction == "none" and upstream is None
    if reduction == "mean":
        d = rw.sum()
        rw = rw / ns.where(d == 0, ns.nan, -d)
    elif reduction == "sum":
        rw = -rw
    elif upstream is not None:
        rw = -rw * compute_array(upstream).astype(ct, copy=False)
    # rw: the row weights; for the scalar reductions and the backward, negated (loss = Σ rw·(z_t − lse))
    want_i, want_w, want_b = want
    grads = any(want) and not forward_none
    loss = ns.zeros(n if forward_none else (), ct)
    gi = ns.empty((n, f), ct) if want_i and not forward_none else None
    gw = ns.zeros((c, f), ct) if want_w and not forward_none else None
    gb = ns.zeros(c, ct) if want_b and not forward_none else None
    buf = ns.empty((min(chunk, n), c), ct)
    wt = wl.T
    for s in range(0, n, chunk):
        e = min(s + chunk, n)
        z = buf[: e - s]
        ns.matmul(x[s:e], wt, out=z)
        if bl is not None:
            z += bl
        z -= z.max(1, keepdims=True)
        rows = ns.arange(e - s)
        tz = z[rows, tc[s:e]]
        ns.exp(z, out=z)
        se = z.sum(1)
        lse = ns.log(se)
        r = rw[s:e]
        if forward_none:
            loss[s:e] = (lse - tz) * r
            continue
        loss += r @ (tz - lse)
        if grads:
            z *= (-r / se)[:, None]   # −rw·softmax ...
            z[rows, tc[s:e]] += r     # ... + rw·onehot: the logits' gradient
            if gb is not None:
                gb += z.sum(0)
            if gi is not None:
                ns.matmul(z, wl, out=gi[s:e])
            if gw is not None:
                gw += z.T @ x[s:e]
    if reduction == "mean" and n == 0:
        loss = ns.full((), ns.nan, ct)
    return loss, gi, gw, gb


def _records(differentiable: tuple) -> bool:
    """Whether the chunked op records its node: as torch's (a custom autograd.Function), only under grad mode
    with an input requiring grad, and with no forward-AD formula: a dual input then raises, and otherwise
    tangents do not flow through it."""
    if not (STATE.grad and any(t is not None and t.requires_grad for t in differentiable)):
        return False
    if _fw.ACTIVE[0] and any(t is not None and _fw.tangent_of(t) is not None for t in differentiable):
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it "
                                  "with forward mode AD.")
    return True


def _chunked_scalar(input: Tensor, linear_weight: Tensor, target: Tensor, linear_bias: Tensor | None,
                    weight: Tensor | None, reduction: str, ignore_index: int, options: Any) -> Tensor:
    """'mean'/'sum': the loss and, for whatever requires grad, the gradients, in one chunked pass."""
    _check_chunked(input, linear_weight, options.acc_dtype)
    on = _records((input, linear_weight, linear_bias))
    want = (on and input.requires_grad, on and linear_weight.requires_grad,
            on and linear_bias is not None and linear_bias.requires_grad)
    loss, gi, gw, gb = _chunked_arrays(input, linear_weight, target, linear_bias, weight, reduction, ignore_index,
                                       options.batch_chunk_size, want)
    out = result(loss, input)
    if not on:
        return out
    keys = ("_gi", "_gw", None, "_gb", None)
    inputs = (input, linear_weight, target, linear_bias, weight)
    return fused(
        out, GeneratedBackwardFor_torch_nn__linear_cross_entropy_batch_chunked_defaultBackward,
        tuple(t for t in inputs if t is not None), (),
        keys=tuple(k for k, t in zip(keys, inputs, strict=True) if t is not None),
        allow_retain_graph=options.allow_retain_graph,
        _gi=None if gi is None else result(gi, input), _gw=None if gw is None else result(gw, linear_weight),
        _gb=None if gb is None else result(gb, linear_bias),
    )


def _chunked_none(input: Tensor, linear_weight: Tensor, target: Tensor, linear_bias: Tensor | None,
                  weight: Tensor | None, ignore_index: int, options: Any) -> Tensor:
    """'none': the per-row losses; the backward recomputes the gradients from the saved inputs."""
    _check_chunked(input, linear_weight, options.acc_dtype)
    loss = _chunked_arrays(input, linear_weight, target, linear_bias, weight, "none", ignore_index,
                           options.batch_chunk_size, (False, False, False))[0]
    out = result(loss, input)
    if not _records((input, linear_weight, linear_bias)):
        return out
    inputs = (input, linear_weight, target, linear_bias, weight)
    present = tuple(t for t in inputs if t is not None)
    return fused(
        out, GeneratedBackwardFor_torch_nn__linear_cross_entropy_batch_chunked_no_reduction_defaultBackward,
        present, tuple(t.detach() if t is not None else None for t in inputs),
        positions=tuple(i for i, t in enumerate(inputs) if t is not None),
        want=(input.requires_grad, linear_weight.requires_grad,
              linear_bias is not None and linear_bias.requires_grad),
        ignore_index=ignore_index, chunk=options.batch_chunk_size,
    )


class GeneratedBackwardFor_torch_nn__linear_cross_entropy_batch_chunked_defaultBackward(Node):  # noqa: N801
    """'mean'/'sum' chunked op: the gradients computed in forward, times the upstream gradient; consumed (a
    second backward raises) unless ``allow_retain_graph``."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        d = self.__dict__
        out: list[Tensor | None] = []
        for k in self.keys:
            stash = d[k] if k is not None else None
            if stash is None:   # not differentiable, or its gradient was not asked for
                out.append(None)
            elif self.allow_retain_graph:
                out.append(stash * g)
            elif stash is _CONSUMED:
                raise RuntimeError(_TWICE)
            else:
                d[k] = _CONSUMED
                out.append(stash.mul_(g))
        return tuple(out)


class GeneratedBackwardFor_torch_nn__linear_cross_entropy_batch_chunked_no_reduction_defaultBackward(Node):  # noqa: N801
    """'none' chunked op: recompute the gradients chunk by chunk with the per-row upstream gradient folded in."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, lw, target, lb, w = self.saved
        want = (self.want[0], self.want[1], self.want[2])
        _, gi, gw, gb = _chunked_arrays(x, lw, target, lb, w, "none", self.ignore_index, self.chunk, want, g)
        grads = (gi, gw, None, gb, None)
        like = (x, lw, None, lb)
        return tuple(None if i > 3 or grads[i] is None else result(grads[i], like[i]) for i in self.positions)

