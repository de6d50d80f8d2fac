"""Normalisation over batches, instances and groups: ``batch_norm``, ``instance_norm``, ``group_norm``,
``local_response_norm`` (and the legacy ``CrossMapLRN2d`` function).

Batch and group norm share one kernel on an ``(N, C, L)`` view of the input: one walk over cache-sized
blocks for Σx and Σx² (BLAS row sums and dots, or column sums for batch norm with short rows), the
statistics reduced per channel (batch norm) or per group of channels (group norm), then one blocked
multiply-add walk. Their backward takes two such walks (Σg and Σg·x, then ``k·(g + x·B + C)``) and, when a
graph of the gradient is wanted (``create_graph``), the same formula in ember ops, so gradients of
gradients flow. Instance norm is batch norm over the input seen as one sample of N·C channels, as in torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._core import dtype as D
from ..._core import gemm
from ...autograd.function import Function
from ...autograd.grad_mode import no_grad
from ...ops._parallel import split_rows
from ._common import STATE, Node, Tensor, compute_array, dense_in, fused, layout_of, result, tie, xp
from ._layers import _BLOCK, _row_blocks, pad

__all__ = ["batch_norm", "instance_norm", "group_norm", "local_response_norm"]


# ---- the shared kernel on (N, C, L) arrays ----------------------------------------------------------
def _row_sum(ns: Any, a2: Any, ones: Any) -> Any:
    """Sums of the rows of a 2-d array, by BLAS (a matrix-vector product with ``ones``) unless rows are short
    on the CPU (there one BLAS call per few elements costs more than NumPy's reduction)."""
    if a2.shape[1] < 16 and ns is np:
        return np.einsum("ij->i", a2)
    return gemm.matmul(ns, a2, ones)


def _row_dot(ns: Any, a2: Any, b2: Any) -> Any:
    """Dot products of the rows of two 2-d arrays: on the CPU a BLAS dot per row (``vecdot``) or, for short
    rows, ``einsum``; otherwise batched BLAS (which on a GPU also works inside a CUDA graph capture)."""
    if ns is np and a2.shape[1] < 16:
        return np.einsum("ij,ij->i", a2, b2)
    if ns is np and a2.shape[1] <= 8192:   # longer rows go to batched BLAS, which splits them over threads
        return np.vecdot(a2, b2)
    return gemm.matmul(ns, a2[:, None, :], b2[:, :, None])[:, 0, 0]


_CANCEL = 8.0  # above this mean²/var the one-pass variance is recomputed from centred values


class _Layout:
    """Where the statistics live: per channel over (N, L) (``groups`` None: batch norm) or per (sample,
    group of channels) over (C/G, L) (group norm), and how the passes walk the data.

    Arrays are seen through :meth:`view`: as (N·C, L) rows or, for batch norm with short rows on the CPU
    (``columns``), as (N, C, L) with statistics reduced down the columns; passes walk the first axis a
    cache-sized block at a time on the CPU's threads. Sums come per *unit* (a channel for batch norm, a
    (sample, channel) for group norm); ``reduce`` folds units into statistics, ``expand`` spreads statistics
    back over units, and :meth:`vec` lays a per-unit vector out against the view. The elementwise walks of
    batch norm on the CPU (``wide``, when a block holds whole samples) go over (N, C, L) blocks of samples
    against per-channel vectors tiled to a block (:meth:`tile`): a NumPy pass against a broadcast column runs
    ~1.6x slower than against a contiguous operand."""

    __slots__ = ("ns", "n", "c", "length", "groups", "columns", "wide")

    def __init__(self, ns: Any, shape: tuple, groups: int | None) -> None:
        self.ns, self.n, self.c, self.groups = ns, shape[0], shape[1], groups
        self.length = 1
        for s in shape[2:]:
            self.length *= s
        self.columns = groups is None and self.length < 16 and ns is np
        self.wide = groups is None and ns is np and (self.columns or self.c * self.length <= _BLOCK)

    @property
    def count(self) -> int:
        """How many elements feed each statistic."""
        if self.groups is None:
            return self.n * self.length
        return self.c // self.groups * self.length

    def reduce(self, units: Any) -> Any:
        if self.groups is None:
            return units
        return units.reshape(self.n, self.groups, self.c // self.groups).sum(2)

    def expand(self, stat: Any) -> Any:
        if self.groups is None:
            return stat
        return self.ns.repeat(stat, self.c // self.groups, axis=1)

    def view(self, a: Any) -> Any:
        """A contiguous (N·C, L), or with ``columns`` (N, C, L), view of an (N, C, ...) array."""
        a = self.ns.ascontiguousarray(a)
        return a.reshape(self.n, self.c, self.length) if self.columns else a.reshape(self.n * self.c, self.length)

    def vec(self, v: Any) -> Any:
        """A per-unit vector ((C,) or (N, C)) as a column that broadcasts against :meth:`view` (and its
        blocks of rows)."""
        if self.columns:
            return self.ns.broadcast_to(v[:, None], (self.n, self.c, 1))
        return self.ns.broadcast_to(v, (self.n, self.c)).reshape(-1, 1)

    def walk(self, av: Any) -> Any:
        """The view of a viewed array that the elementwise walks (``blocks(fn, walk=True)``) index: (N, C, L)
        with ``wide``, (N·G, C/G, L) groups for group norm (a per-group value then broadcasts over a whole
        contiguous group, which NumPy runs at full speed), else :meth:`view`'s."""
        if self.wide:
            return av.reshape(self.n, self.c, self.length)
        if self.groups is not None:
            return av.reshape(self.n * self.groups, self.c // self.groups, self.length)
        return av

    def tile(self, v: Any) -> Any:
        """A per-unit vector against :meth:`walk`, read through :meth:`at`: with ``wide``, tiled over one
        block of samples as a contiguous (samples, C, L) array; else broadcasting (:meth:`vec`)."""
        if self.groups is not None:
            return v.reshape(self.n * self.groups, self.c // self.groups, 1)
        if not self.wide:
            return self.vec(v)
        rows = min(self._walk(True)[2], self.n)
        return self.ns.ascontiguousarray(self.ns.broadcast_to(v[:, None], (rows, self.c, self.length)))

    def group_tile(self, v: Any) -> Any:
        """A per-(sample, group) (N, G) vector against group norm's :meth:`walk`, read through :meth:`at`."""
        return v.reshape(self.n * self.groups, 1, 1)

    def at(self, t: Any, r: slice) -> Any:
        """The part of a :meth:`tile` against the block ``r`` of :meth:`walk`."""
        return t[: r.stop - r.start] if self.wide else t[r]

    def _walk(self, walk: bool) -> tuple:
        """(rows, elements per row, rows per block) of :meth:`view` or, with ``walk``, of :meth:`walk`."""
        if walk and self.wide or self.columns:
            m, size = self.n, self.c * self.length
        elif walk and self.groups is not None:
            m, size = self.n * self.groups, self.c // self.groups * self.length
        else:
            m, size = self.n * self.c, self.length
        return m, size, _row_blocks(self.ns, m, size).step

    def blocks(self, fn: Any, walk: bool = False) -> None:
        """``fn(index)`` over cache-sized slices of the first axis of :meth:`view` (of :meth:`walk` with
        ``walk``), on the CPU's threads (one slice on a GPU)."""
        m, size, step = self._walk(walk)

        def part(lo: int, hi: int) -> None:
            for i in range(lo, hi, step):
                fn(slice(i, min(i + step, hi)))

        split_rows(self.ns, m, size, part)

    def sums(self, a: Any, b: Any) -> tuple:
        """(Σ a, Σ a·b) per unit of two viewed arrays: in one walk over the blocks of rows (the second reading
        of a block comes from the cache), or, with ``columns``, as two column reductions."""
        ns = self.ns
        if self.columns:
            k = self.c * self.length
            a2, b2 = a.reshape(self.n, k), b.reshape(self.n, k)
            s = gemm.matmul(ns, ns.ones(self.n, dtype=a2.dtype), a2)
            d = ns.einsum("nk,nk->k", a2, b2)
            return s.reshape(self.c, self.length).sum(1), d.reshape(self.c, self.length).sum(1)
        s = ns.empty(a.shape[0], a.dtype)
        d = ns.empty(a.shape[0], a.dtype)
        ones = ns.ones(self.length, a.dtype)

        def fn(r: slice) -> None:
            s[r] = _row_sum(ns, a[r], ones)
            d[r] = _row_dot(ns, a[r], b[r])

        self.blocks(fn)
        s, d = s.reshape(self.n, self.c), d.reshape(self.n, self.c)
        return (s, d) if self.groups is not None else (s.sum(0), d.sum(0))


def _moments(av: Any, lay: _Layout) -> tuple:
    """Per unit of the viewed array: (mean, biased variance, the centred view or None). The variance is
    E[x²] - mean² from the sums of one walk; where that would lose digits to cancellation (mean² ≫ var) it is
    recomputed from centred values."""
    ns = lay.ns
    m = max(lay.count, 1)
    s, d = lay.sums(av, av)
    mean = lay.reduce(s) / m
    var = lay.reduce(d) / m - mean * mean
    centred = None
    if ns is not np or bool((mean * mean > _CANCEL * var).any()):   # a GPU always centres: no host check
        centred = av - lay.vec(lay.expand(mean))
        var = lay.reduce(lay.sums(centred, centred)[1]) / m
    return mean, ns.maximum(var, 0), centred


def _normalize(a: Any, lay: _Layout, w: Any, b: Any, eps: float, stats: tuple | None) -> tuple:
    """``(x - mean) * invstd * w + b`` on an (N, C, ...) array, as one multiply-add walk; statistics (biased
    variance, :func:`_moments`) from the data unless ``stats`` = (mean, invstd) is given. Returns (y, mean,
    var or None, invstd)."""
    ns = lay.ns
    av = lay.view(a)
    var = None
    if stats is None:
        mean, var, centred = _moments(av, lay)
        mean_in = mean
        if centred is not None:
            av, mean_in = centred, ns.zeros_like(mean)   # av is centred now
        invstd = 1 / ns.sqrt(var + eps)
    else:
        mean = mean_in = stats[0]
        invstd = stats[1]
    scale = lay.expand(invstd)
    if w is not None:
        scale = scale * w
    shift = -lay.expand(mean_in) * scale   # y = x·scale + (b - mean·scale)
    if b is not None:
        shift += b
    scale, shift = lay.tile(scale), lay.tile(shift)
    av = lay.walk(av)
    y = ns.empty_like(av)

    def fn(r: slice) -> None:
        yk = ns.multiply(av[r], lay.at(scale, r), out=y[r])
        yk += lay.at(shift, r)

    lay.blocks(fn, walk=True)
    return y.reshape(a.shape), mean, var, invstd


def _grads_arrays(node: Node, g: Tensor, x: Tensor, w: Tensor | None) -> tuple:
    """The gradients of :func:`_normalize` (and the affine map) by array math: one walk for the two sums per
    unit, one for the fused ``k·(g + x·B + C)`` (batch norm) or ``k·g + x·B + C`` (group norm, as torch's
    kernel: closer to its values, and B, C are per group)."""
    lay: _Layout = node.layout
    ns = lay.ns
    av, gv = lay.view(compute_array(x)), lay.view(compute_array(g))
    mean, invstd = lay.expand(node.mean), lay.expand(node.invstd)
    centre = ns is not np or bool((node.mean * node.mean * node.invstd * node.invstd > _CANCEL).any())
    sg, dot = lay.sums(gv, av - lay.vec(mean) if centre else av)
    if not centre:
        dot -= mean * sg  # Σ g·(x - mean) per unit
    gx = gw = gb = None
    wa = compute_array(w) if w is not None else None
    if node._next[0] is not None:
        k = invstd * wa if wa is not None else invstd
        av, gv = lay.walk(av), lay.walk(gv)
        out = ns.empty_like(av)
        if not node.training:
            kv = lay.tile(k)

            def fn(r: slice) -> None:
                ns.multiply(gv[r], lay.at(kv, r), out=out[r])
        else:
            m = max(lay.count, 1)
            s1 = lay.reduce(sg * wa if wa is not None else sg)
            s2 = lay.reduce(dot * wa if wa is not None else dot)
            coef = -node.invstd**3 * s2 / m   # per statistic
            shift = -node.invstd * s1 / m - coef * node.mean
            if lay.groups is None and (wa is None or (ns is np and bool((wa != 0).all()))):
                # batch norm: k·(x·coef/k + g + shift/k), in place
                kv, cv, sv = lay.tile(k), lay.tile(coef / k), lay.tile(shift / k)

                def fn(r: slice) -> None:
                    o = ns.multiply(av[r], lay.at(cv, r), out=out[r])
                    o += gv[r]
                    o += lay.at(sv, r)
                    o *= lay.at(kv, r)
            else:   # k·g + coef·x + shift (torch's group norm form; per-group terms over whole groups)
                kv = lay.tile(k)
                cv, sv = (lay.group_tile(v) if lay.groups is not None else lay.tile(v) for v in (coef, shift))

                def fn(r: slice) -> None:
                    o = ns.multiply(gv[r], lay.at(kv, r), out=out[r])
                    o += av[r] * lay.at(cv, r)
                    o += lay.at(sv, r)
        lay.blocks(fn, walk=True)
        gx = result(dense_in(out.reshape(x.shape), layout_of(x), ns), x)
    if node._next[1] is not None:
        gw = result((dot * invstd).reshape(-1, lay.c).sum(0), w)
    if node._next[2] is not None:
        gb = result(sg.reshape(-1, lay.c).sum(0), w if w is not None else x)
    return gx, gw, gb


def _grads_graph(node: Node, g: Tensor, x: Tensor, w: Tensor | None) -> tuple:
    """The same gradients in ember ops (for ``create_graph``): statistics are recomputed from ``x`` so the
    result differentiates again, through them too."""
    lay: _Layout = node.layout
    if lay.groups is None:
        shape, dims = (lay.n, lay.c, lay.length), (0, 2)
    else:
        shape, dims = (lay.n, lay.groups, -1), (2,)
    xs = x.reshape(shape)
    if node.training:
        mean = xs.mean(dims, keepdim=True)
        xc = xs - mean
        rstd = ((xc * xc).mean(dims, keepdim=True) + node.eps).rsqrt()
    else:
        xc = xs - result(node.mean[:, None], x)
        rstd = result(node.invstd[:, None], x)
    xhat = xc * rstd
    chan = (1, lay.c) + (1,) * (x.dim() - 2)
    gh = (g * w.reshape(chan) if w is not None else g).reshape(shape)
    if node.training:
        gx = rstd * (gh - gh.mean(dims, keepdim=True) - xhat * (gh * xhat).mean(dims, keepdim=True))
    else:
        gx = gh * rstd
    other = (0, *range(2, x.dim()))
    gw = (g * xhat.reshape(x.shape)).sum(other) if node._next[1] is not None else None
    gb = g.sum(other) if node._next[2] is not None else None
    return gx.reshape(x.shape), gw, gb


class _NormBackward(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, w = self.saved
        return (_grads_graph if STATE.enabled else _grads_arrays)(self, g, x, w)


class NativeBatchNormBackward0(_NormBackward):
    """torch's backward kernel takes the input and weight: all three gradients depend on them (see :func:`tie`)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        grads = super().backward(g)
        if not STATE.grad:
            return grads
        return tuple(None if t is None else tie(t, self, "NativeBatchNormBackwardBackward0", (0, 1), undefined=(0, 1))
                     for t in grads)


class NativeGroupNormBackward0(_NormBackward):
    __slots__ = ()


# ---- argument checks ---------------------------------------------------------------------------------
def _check_dtypes(input: Tensor, op: str, params: tuple, kernel_order: tuple, floating_first: bool = False) -> None:
    """torch's CPU rules: a floating input (checked first for batch norm, last for group norm). When the first
    given of ``params`` has a dtype other than the input's (mixed), every parameter must be float32 and the
    input 16-bit float; otherwise each parameter, in ``kernel_order``, must have the input's dtype."""
    dt = input.dtype
    if floating_first and not dt.is_floating_point:
        raise NotImplementedError(f'"{op}" not implemented for \'{dt._short}\'')
    given = [p for p in params if p is not None]
    if given and given[0].dtype is not dt:
        if any(p.dtype is not D.float32 for p in given):
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
        if dt is not D.float16 and dt is not D.bfloat16:
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
        return
    if not dt.is_floating_point:
        raise NotImplementedError(f'"{op}" not implemented for \'{dt._short}\'')
    for p in kernel_order:
        if p is not None and p.dtype is not dt:
            raise RuntimeError(f"expected scalar type {dt._short} but found {p.dtype._short}")


def _verify_batch_size(size: Any) -> None:
    n = size[0]
    for s in size[2:]:
        n *= s
    if n == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {size}")


# ---- batch norm ----------------------------------------------------------------------------------------
def _update_running(
    running_mean: Tensor | None, running_var: Tensor | None, momentum: float, mean: Any, var: Any, count: float
) -> None:
    """Exponential averages of the batch mean and unbiased variance, written in place without a version
    bump (as torch's kernel; 16-bit ones computed in double and rounded through float, as its update)."""
    def blend(old: Any, new: Any) -> Any:
        if old.dtype.itemsize == 2:
            return ((1 - momentum) * old.reshape(-1).astype(np.float64) + momentum * new).astype(np.float32)
        return (1 - momentum) * old.reshape(-1) + momentum * new

    if running_mean is not None:
        rm = running_mean._data
        rm[...] = blend(rm, mean).reshape(rm.shape)
    if running_var is not None:
        rv = running_var._data
        unbiased = var * (count / (count - 1)) if count > 1 else var * float("inf")
        rv[...] = blend(rv, unbiased).reshape(rv.shape)


def _batch_norm(
    input: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
) -> Tensor:
    """torch.batch_norm: normalise per channel (dim 1) with batch statistics (updating the running ones in
    place, unbiased variance) or, when not training, with the running statistics."""
    if not training:
        if running_mean is None:
            raise RuntimeError("running_mean must be defined in evaluation mode")
        if running_var is None:
            raise RuntimeError("running_var must be defined in evaluation mode")
    elif (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be None")
    c = input.size(1)
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:   # torch's order
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    params = (weight, bias, running_mean, running_var)
    order = params[2:] + params[:2] if training else params   # the order the kernels read them in
    _check_dtypes(input, "batch_norm", params, order, floating_first=True)
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and t.requires_grad and STATE.grad:   # grad mode, not forward AD
            raise RuntimeError(
                f"The function 'native_batch_norm' is not differentiable with respect to argument '{name}'. "
                "This input cannot have requires_grad True."
            )
    ns = xp(input)
    lay = _Layout(ns, tuple(input.shape), None)
    w = compute_array(weight).reshape(-1) if weight is not None else None
    b = compute_array(bias).reshape(-1) if bias is not None else None
    stats = None
    if not training:
        rm = compute_array(running_mean).reshape(-1)
        stats = (rm, 1 / ns.sqrt(compute_array(running_var).reshape(-1) + eps))
    a = compute_array(input)
    first = next((p for p in params if p is not None), input)   # (the mixed form keeps float32 statistics)
    if training and input._dtype in (D.float16, D.bfloat16) and first._dtype is input._dtype:
        # torch keeps 16-bit statistics and normalises with those rounded values (float16 exactly as torch;
        # torch's bfloat16 invstd is a further ulp off in some channels); the running ones take the exact mean
        mean, var, _ = _moments(lay.view(a), lay)
        stats = tuple(v.astype(input._dtype.np).astype(v.dtype) for v in (mean, 1 / ns.sqrt(var + eps)))
    y, saved_mean, var_, invstd = _normalize(a, lay, w, b, eps, stats)
    if stats is None or not training:
        mean, var = saved_mean, var_
    if training and lay.count > 0:
        _update_running(running_mean, running_var, momentum, mean, var, lay.count)
    out = result(dense_in(y, layout_of(input), ns), input)   # channels-last in, channels-last out (as torch)
    return fused(
        out, NativeBatchNormBackward0, (input, weight, bias), (input, weight),
        layout=lay, mean=saved_mean, invstd=invstd, training=training, eps=eps,
    )


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel (dim 1) over the batch and spatial dims, then scale and shift."""
    if training:
        _verify_batch_size(input.size())
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    if not isinstance(momentum, (int, float)):
        raise TypeError(
            f"batch_norm(): argument 'momentum' (position 7) must be float, not {type(momentum).__name__}"
        )
    if input.numel() == 0:   # torch returns before its checks, the result kept in the graph of the parameters
        out = input.clone()
        out = out * weight[0] if weight is not None else out
        return out + bias[0] if bias is not None else out
    return _batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)


class SyncBatchNorm(Function):
    """Batch norm whose statistics (and the two gradient sums its backward needs) are summed over the
    processes of ``group`` by ``ember.distributed.all_reduce``; parameter gradients stay local (the data
    parallel wrapper averages them)."""

    @staticmethod
    def forward(
        ctx: Any,
        input: Tensor,
        weight: Tensor | None,
        bias: Tensor | None,
        running_mean: Tensor | None,
        running_var: Tensor | None,
        eps: float,
        momentum: float,
        group: Any,
    ) -> Tensor:
        from ... import distributed as dist

        ns = xp(input)
        lay = _Layout(ns, tuple(input.shape), None)
        av = lay.view(compute_array(input))
        sums = ns.stack([*lay.sums(av, av), ns.full(lay.c, lay.count, dtype=av.dtype)])
        total = result(sums, input, D.float64)
        dist.all_reduce(total, group=group)
        s1, s2, count = (total._data[i] for i in range(3))
        mean = s1 / count
        var = ns.maximum(s2 / count - mean * mean, 0)
        n = float(count[0])
        _update_running(running_mean, running_var, momentum, mean, var, n)
        mean, invstd = mean.astype(av.dtype), (1 / ns.sqrt(var + eps)).astype(av.dtype)
        w = compute_array(weight) if weight is not None else None
        b = compute_array(bias) if bias is not None else None
        y, *_ = _normalize(compute_array(input), lay, w, b, eps, (mean, invstd))
        ctx.save_for_backward(input, weight)
        ctx.stats = (lay, mean, invstd, n, group)
        return result(y, input)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple:
        from ... import distributed as dist

        x, w = ctx.saved_tensors
        lay, mean, invstd, n, group = ctx.stats
        ns = lay.ns
        a3 = compute_array(x).reshape(lay.n, lay.c, lay.length)
        g3 = compute_array(g).reshape(lay.n, lay.c, lay.length)
        sg, dot = lay.sums(lay.view(g3), lay.view(a3 - mean[:, None]))
        gw = result(dot * invstd, w) if w is not None and ctx.needs_input_grad[1] else None
        gb = result(sg, w if w is not None else x) if ctx.needs_input_grad[2] else None
        gx = None
        if ctx.needs_input_grad[0]:
            total = result(ns.stack([sg, dot]), x, D.float64)
            dist.all_reduce(total, group=group)
            sg_all, dot_all = (total._data[i].astype(a3.dtype) for i in range(2))
            k = invstd * compute_array(w) if w is not None else invstd
            coef = -invstd * invstd * dot_all / n
            out = a3 - mean[:, None]
            out *= coef[:, None]
            out += g3
            out -= (sg_all / n)[:, None]
            out *= k[:, None]
            gx = result(out.reshape(x.shape), x)
        return gx, gw, gb, None, None, None, None, None


# ---- instance norm ---------------------------------------------------------------------------------------
def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of each sample on its own: batch norm of the input seen as one sample of
    N·C channels (as torch builds it, so grad_fns match); running statistics are averaged over the batch."""
    if use_input_stats:
        size = input.size()
        n = 1
        for s in size[2:]:
            n *= s
        if n == 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input size {size}")
    b, c = input.shape[0], input.shape[1]
    shape = (1, b * c, *input.shape[2:])
    rm = running_mean.repeat(b) if running_mean is not None else None
    rv = running_var.repeat(b) if running_var is not None else None
    out = _batch_norm(
        input.contiguous().view(shape),
        weight.repeat(b) if weight is not None else None,
        bias.repeat(b) if bias is not None else None,
        rm, rv, use_input_stats, momentum, eps,
    )
    if use_input_stats:
        with no_grad():
            if running_mean is not None:
                running_mean.copy_(rm.view(b, c).mean(0))
            if running_var is not None:
                running_var.copy_(rv.view(b, c).mean(0))
    return out.view(input.shape)


# ---- group norm --------------------------------------------------------------------------------------------
def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each group of ``C / num_groups`` channels of each sample, then scale and shift per channel."""
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.dim()}")
    shape = list(input.shape)
    _verify_batch_size([shape[0] * shape[1] // num_groups, num_groups, *shape[2:]])
    c = shape[1]
    if c % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input of shape "
            f"{shape} and num_groups={num_groups}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dim() != 1 or t.numel() != c):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in input, but got "
                f"{name} of shape {list(t.shape)} and input of shape {shape}"
            )
    _check_dtypes(input, "GroupNormKernelImpl", (weight, bias), (weight, bias))
    lay = _Layout(xp(input), tuple(shape), num_groups)
    w = compute_array(weight) if weight is not None else None
    b = compute_array(bias) if bias is not None else None
    y, mean, _, invstd = _normalize(compute_array(input), lay, w, b, eps, None)
    out = result(dense_in(y, layout_of(input), lay.ns), input)
    return fused(
        out, NativeGroupNormBackward0, (input, weight, bias), (input, weight),
        layout=lay, mean=mean, invstd=invstd, training=True, eps=eps,
    )


# ---- local response norm --------------------------------------------------------------------------------------
def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """``x / (k + alpha · mean of x² over a window of `size` neighbouring channels) ** beta`` (zero padded)."""
    dim = input.dim()
    if dim < 3:
        raise ValueError(
            f"Expected 3D or higher dimensionality                          input (got {dim} dimensions)"
        )
    if input.numel() == 0:
        return input
    if size <= 0:  # torch's error comes from the average pooling it builds the window with
        kernel = f"kH: {size} kW: 1" if dim == 3 else f"kT: {size} kH: 1 kW: 1"
        raise RuntimeError(f"kernel size should be greater than zero, but got {kernel}")
    from ._pooling import avg_pool2d, avg_pool3d
    div = input.mul(input)   # the channel window is an average pool over a padded channel axis, as torch
    if dim == 3:
        div = pad(div.unsqueeze(1), (0, 0, size // 2, (size - 1) // 2))
        div = avg_pool2d(div, (size, 1), stride=1).squeeze(1)
    else:
        sizes = input.shape
        div = div.view(sizes[0], 1, sizes[1], sizes[2], -1)
        div = pad(div, (0, 0, 0, 0, size // 2, (size - 1) // 2))
        div = avg_pool3d(div, (size, 1, 1), stride=1).squeeze(1).view(sizes)
    return input / div.mul(alpha).add(k).pow(beta)


class CrossMapLRN2d(Function):
    """The legacy Lua-torch cross-channel LRN on 4-d input, window and gradient exactly as torch computes
    them (its running window never drops channel 0, and its backward uses its own window)."""

    @staticmethod
    def forward(ctx: Any, input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> Tensor:
        if input.dim() != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D instead.")
        ns = xp(input)
        a = compute_array(input)
        c = a.shape[1]
        sq = a * a
        csum = ns.concatenate([ns.zeros_like(sq[:, :1]), ns.cumsum(sq, axis=1)], axis=1)
        pre = int((size - 1) / 2 + 1)
        ch = ns.arange(c)
        lo = ns.maximum(ch - pre + 1, 1)
        hi = ns.minimum(ch + pre, c)
        scale = sq[:, :1] + csum[:, hi] - csum[:, lo]
        scale = scale * (alpha / size) + k
        out = result(scale ** -beta * a, input)
        ctx.scale = scale
        ctx.size, ctx.alpha, ctx.beta = size, alpha, beta
        ctx.save_for_backward(input, out)
        return out

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple:
        input, output = ctx.saved_tensors
        ns = xp(input)
        a, g, scale = compute_array(input), compute_array(grad_output), ctx.scale
        size, c = ctx.size, a.shape[1]
        ratio = g * compute_array(output) / scale
        csum = ns.concatenate([ns.zeros_like(ratio[:, :1]), ns.cumsum(ratio, axis=1)], axis=1)
        inv = int(size - (size - 1) / 2)
        ch = ns.arange(c)
        lo = ns.clip(ch - inv, 0, c)
        hi = ns.clip(ch + size - inv, 0, c)
        accum = csum[:, hi] - csum[:, lo]
        grad = scale ** -ctx.beta * g - (2 * ctx.alpha * ctx.beta / size) * a * accum
        return result(grad, input), None, None, None, None


# ---- torch's top-level forms (``torch.batch_norm`` ...: other argument order, no Python-side checks) ----------
def aten_batch_norm(
    input: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool,
) -> Tensor:
    """``torch.batch_norm``."""
    return _batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)


def aten_instance_norm(
    input: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    use_input_stats: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool,
) -> Tensor:
    """``torch.instance_norm``."""
    return instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def aten_group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
    cudnn_enabled: bool = True,
) -> Tensor:
    """``torch.group_norm``."""
    return group_norm(input, num_groups, weight, bias, eps)
