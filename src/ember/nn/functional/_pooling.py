"""Pooling, unpooling, resampling (interpolate, grid_sample, affine_grid) and pixel/channel shuffles.

One N-d implementation serves the 1d/2d/3d names. A pool loops in Python over its few kernel offsets, never
over pixels: each offset reads one contiguous slice of the input's stride phases (see :class:`_Windows`), or
of a reshaped view when the windows tile the input exactly. Every map that is linear in its input (average
pooling, the scatter/gather of max pooling, interpolation, shuffles) is recorded as a :func:`_linear` op
whose backward is its adjoint, recorded the same way, so gradients of gradients come for free; resampling
taps follow torch's coordinate conventions (and its quirks), computed once per dim.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..._core import dtype as D
from ..._core import gemm
from ..._core.fma import fused_multiply_add
from ..._core.memory_format import channels_last, contiguous_format, memory_format
from ..._core.warn import warn
from ...ops.extra import composed
from ._common import Node, Tensor, compute_array, dense_in, fused, layout_of, needs_grad, result, tie, xp

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d",
    "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
    "max_unpool1d", "max_unpool2d", "max_unpool3d",
    "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices",
    "lp_pool1d", "lp_pool2d", "lp_pool3d",
    "fractional_max_pool2d", "fractional_max_pool3d",
    "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices",
    "interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
    "grid_sample", "affine_grid",
    "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle",
]

ArrayFn = Callable[[Any], Any]


# ---- linear ops: forward and adjoint recorded alike --------------------------------------------------
class _LinearBackward(Node):
    """Backward of a map linear in its input: the adjoint, itself recorded as a linear op."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        gx = _linear(g, self.adj, self.fwd, self.adj_name, type(self).__name__, self.ranks, self.adj_fmt)
        return (tie(gx, self, self.adj_name) if self.tied else gx,)


_NODES: dict[tuple[str, type[Node]], type[Node]] = {}


def _node(name: str, base: type[Node] = _LinearBackward) -> type[Node]:
    """The Node class called ``name`` with behaviour ``base`` (one class per pair: torch's names repeat across
    behaviours, e.g. max pooling's forward node and the linear adjoint recorded by its backward)."""
    cls = _NODES.get((name, base))
    if cls is None:
        cls = _NODES[name, base] = type(name, (base,), {"__slots__": ()})
    return cls


def _linear(x: Tensor, fwd: ArrayFn, adj: ArrayFn, name: str, adj_name: str, ranks: tuple[int, ...] = (),
            fmt: memory_format | None = None, adj_fmt: memory_format | None = None, tied: bool = False) -> Tensor:
    """``fwd(x)`` with grad_fn ``name`` whose backward applies the adjoint ``adj`` (recorded as ``adj_name``).
    The result is dense in ``fmt``, by default the layout ``x`` suggests at the ``ranks`` where torch's kernel
    keeps channels-last inputs so (contiguous otherwise); the adjoint's, likewise, in ``adj_fmt`` or after the
    incoming gradient. ``tied``: torch's backward kernel takes ``x`` too (see :func:`tie`)."""
    res = result(dense_in(fwd(compute_array(x)), fmt or layout_of(x, ranks), xp(x)), x)
    return fused(res, _node(name), (x,), (), fwd=fwd, adj=adj, adj_name=adj_name, ranks=ranks, adj_fmt=adj_fmt,
                 tied=tied)


# ---- argument handling -----------------------------------------------------------------------------
def _tuple(v: Any, n: int, fn: str, what: str, omit: bool = False) -> tuple[int, ...]:
    """An int or a 1-/n-tuple as an n-tuple, with torch's message for other lengths."""
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            return tuple(v) * n
        if len(v) != n:
            words = {1: "one int", 2: "two ints", 3: "three ints"}[n]
            middle = "be omitted, a single int, or" if omit else "be a single int, or"
            raise RuntimeError(f"{fn}: {what} must either {middle} a tuple of {words}")
        return tuple(v)
    return (v,) * n


_FLOATS = frozenset({D.float16, D.bfloat16, D.float32, D.float64})
# the dtypes each CPU kernel takes (torch names the kernel that refuses the others)
_KERNEL_DTYPES = {"max_pool1d_impl": _FLOATS, "avg_pool2d": _FLOATS | {D.int64},
                  "avg_pool3d_out_frame": frozenset({D.float32, D.float64, D.int64}),
                  "max_pool2d": _FLOATS | {D.uint8, D.int8, D.int16, D.int32, D.int64},
                  "max_unpool2d": _FLOATS, "max_unpool3d": _FLOATS}
_KERNEL_DTYPES["max_pool3d"] = _KERNEL_DTYPES["max_pool2d"]


def _check_kernel_dtype(input: Tensor, kernel: str) -> None:
    if input.dtype not in _KERNEL_DTYPES[kernel]:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{input.dtype._short}'")


def _dims_error(input: Tensor, nd: int, kind: str) -> None:
    """torch's check of an (N, C, *spatial) or (C, *spatial) input to the 2d/3d pools (``kind`` 'max'/'avg')."""
    if kind == "avg" and nd == 2 and input.dim() < 3:
        input.size(-3)   # avg_pool2d reads the channels first: torch's IndexError
    if input.dim() not in (nd + 1, nd + 2):
        if kind == "avg" and nd == 2:
            raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, "
                               f"but got:{list(input.shape)}")
        raise RuntimeError(f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for input")
    if any(s == 0 for s in input.shape[-nd - 1:]):
        if nd == 3:   # (torch names dimension 0 whichever is empty)
            name = "avg_pool3d" if kind == "avg" else "max_pool3d_with_indices_out_cpu_template"
            raise RuntimeError(f"{name}(): Expected input's non-batch dimensions to have positive length, but input "
                               f"has a shape of {list(input.shape)} and non-batch dimension 0 has length zero!")
        raise RuntimeError(
            f"Expected {nd + 1}D or {nd + 2}D (batch mode) tensor with optional 0 dim batch size for input, "
            f"but got:{list(input.shape)}"
        )


def _out_size(n: int, k: int, s: int, p: int, d: int, ceil: bool) -> int:
    """torch's pooling_output_shape: floor (or ceil) division; a last window must start inside."""
    num = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)
    o = num // s + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def _pool_geometry(input: Tensor, nd: int, k: tuple, s: tuple, p: tuple, d: tuple, ceil: bool,
                   kind: str) -> tuple[int, ...]:
    """torch's checks of the max (``kind`` 'max') / average pools, in its order; the output spatial size."""
    if any(v == 0 for v in s):
        raise RuntimeError("stride should not be zero")
    if any(v <= 0 for v in k):
        names = ("kT", "kH", "kW")[3 - nd:]
        raise RuntimeError("kernel size should be greater than zero, but got "
                           + " ".join(f"{a}: {b}" for a, b in zip(names, k, strict=True)))
    if any(v <= 0 for v in d):
        names = ("dilationT", "dilationH", "dilationW")[3 - nd:]
        raise RuntimeError("dilation should be greater than zero, but got "
                           + " ".join(f"{a}: {b}" for a, b in zip(names, d, strict=True)))
    for ki, pi, di in zip(k, p, d, strict=True):
        if pi < 0 or pi > ((ki - 1) * di + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={pi}, "
                               f"kernel_size={ki} and dilation={di}")
    if kind == "max" and any(pi > ki // 2 for pi, ki in zip(p, k, strict=True)):
        if nd == 2:
            detail = f"padW = {p[1]}, padH = {p[0]}, kW = {k[1]}, kH = {k[0]}"
        else:
            detail = f"kT: {k[0]} kW: {k[2]} kH: {k[1]} padT: {p[0]} padW: {p[2]} padH: {p[1]}"
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got {detail}")
    _dims_error(input, nd, kind)
    sp = tuple(input.shape[-nd:])
    if kind == "avg" and nd == 3 and any(n < ki for n, ki in zip(sp, k, strict=True)):
        raise RuntimeError(f"input image (T: {sp[0]} H: {sp[1]} W: {sp[2]}) smaller than kernel size "
                           f"(kT: {k[0]} kH: {k[1]} kW: {k[2]})")
    out = tuple(_out_size(*a, ceil) for a in zip(sp, k, s, p, d, strict=True))
    if any(o < 1 for o in out):
        lead = tuple(input.shape[-nd - 1:-nd])
        fmt = "x".join
        raise RuntimeError(f"Given input size: ({fmt(map(str, lead + sp))}). Calculated output size: "
                           f"({fmt(map(str, lead + out))}). Output size is too small")
    _check_kernel_dtype(input, f"max_pool{nd}d" if kind == "max" else ("avg_pool2d", "avg_pool3d_out_frame")[nd - 2])
    return out


class _Windows:
    """The kernel offsets of a pool over the trailing ``nd`` dims, in a flat "wide" layout.

    The input, conceptually padded (to the padding, any ceil_mode overhang, and a multiple of the stride), is
    split into its stride phases ``a[..., r::s]``, each stored flat. Kernel offset j then reads one contiguous
    1-d slice of a phase (shifted by the offset), whose element i is that offset's value for wide output i;
    the wide output has the phase planes' shape, and its leading ``out`` corner is the real output. Every
    per-offset operation is thus one contiguous, vectorised ufunc call over the whole batch.
    """

    def __init__(self, sp: tuple, out: tuple, k: tuple, s: tuple, p: tuple, d: tuple) -> None:
        self.sp, self.out, self.k, self.s, self.p, self.d = sp, out, k, s, p, d
        need = [max(n + pi, (o - 1) * si + (ki - 1) * di + 1) for n, o, ki, si, pi, di in
                zip(sp, out, k, s, p, d, strict=True)]
        self.q = tuple(-(-m // si) for m, si in zip(need, s, strict=True))   # phase plane shape
        self.plane = tuple(int(np.prod(sp[i + 1:])) for i in range(len(sp)))
        qstride = [int(np.prod(self.q[i + 1:])) for i in range(len(sp))]
        self.offs = list(itertools.product(*(range(ki) for ki in k)))
        self.phase = [tuple(o * di % si for o, di, si in zip(off, d, s, strict=True)) for off in self.offs]
        self.shift = [sum(o * di // si * qs for o, di, si, qs in zip(off, d, s, qstride, strict=True))
                      for off in self.offs]
        self.size = int(np.prod(self.q))

    def _interior(self) -> tuple:
        return (Ellipsis, *(slice(pi, pi + n) for pi, n in zip(self.p, self.sp, strict=True)))

    def views(self, ns: Any, a: Any, value: Any) -> list[Any]:
        """One flat view per kernel offset (in window order), each of the wide output's size."""
        lead = a.shape[:-len(self.sp)]
        total = int(np.prod(lead)) * self.size
        slack = max(self.shift)
        padded = any(self.p) or tuple(qi * si for qi, si in zip(self.q, self.s, strict=True)) != tuple(self.sp)
        planes: dict = {}
        views = []
        for phase, shift in zip(self.phase, self.shift, strict=True):
            if phase not in planes:
                flat = ns.empty(total + slack, a.dtype)
                flat[total:] = value
                plane = flat[:total].reshape(lead + self.q)
                if padded:
                    plane[...] = value
                dst, src = self._phase_slices(phase)
                plane[dst] = a[src]
                planes[phase] = flat
            views.append(planes[phase][shift:shift + total])
        return views

    def _phase_slices(self, phase: tuple) -> tuple[tuple, tuple]:
        """(slice of the phase plane, strided slice of the input) holding the same, in-bounds elements."""
        dst, src = [Ellipsis], [Ellipsis]
        for r, si, pi, n in zip(phase, self.s, self.p, self.sp, strict=True):
            q0, q1 = -(-(pi - r) // si), -(-(pi + n - r) // si)   # phase rows inside the input
            dst.append(slice(q0, q1))
            src.append(slice(r + si * q0 - pi, None, si))
        return tuple(dst), tuple(src)

    def narrow(self, wide: Any, lead: tuple) -> Any:
        """The real output (a view) of a wide flat array."""
        return wide.reshape(lead + self.q)[(Ellipsis, *(slice(0, o) for o in self.out))]

    def widen(self, ns: Any, g: Any) -> Any:
        """``g`` (output-shaped) placed in a zero wide flat array."""
        lead = g.shape[:-len(self.sp)]
        w = ns.zeros(lead + self.q, g.dtype)
        w[(Ellipsis, *(slice(0, o) for o in self.out))] = g
        return w.reshape(-1)

    def _assemble(self, ns: Any, planes: dict, lead: tuple, dtype: Any) -> Any:
        """Interleave the flat phase planes back into an input-shaped array (the padding dropped)."""
        total = int(np.prod(lead)) * self.size
        if all(si == 1 for si in self.s):
            return planes[(0,) * len(self.s)][:total].reshape(lead + self.q)[self._interior()]
        complete = len(planes) == math.prod(self.s)
        out = (ns.empty if complete else ns.zeros)(lead + tuple(self.sp), dtype)
        for phase, plane in planes.items():
            inside, positions = self._phase_slices(phase)
            out[positions] = plane[:total].reshape(lead + self.q)[inside]
        return out

    def accumulate(self, ns: Any, g: Any, which: Any = None) -> Any:
        """The adjoint of :meth:`views`: output gradient ``g`` added back at every kernel offset's positions
        (or, given the wide flat ``which``, only at the offset each window selected), cropped to the input.
        Each offset is one contiguous add into its phase plane."""
        lead = g.shape[:-len(self.sp)]
        gw = self.widen(ns, g)
        total = gw.size
        planes: dict = {}
        mask = None if which is None else ns.empty(total, bool)
        for j, (phase, shift) in enumerate(zip(self.phase, self.shift, strict=True)):
            if phase not in planes:
                planes[phase] = ns.zeros(total + max(self.shift), g.dtype)
            if which is None:
                planes[phase][shift:shift + total] += gw
            else:
                ns.equal(which, j, out=mask)
                planes[phase][shift:shift + total] += gw * mask
        return self._assemble(ns, planes, lead, g.dtype)

    def flat_index(self, ns: Any, off: tuple[int, ...]) -> Any:
        """Flat input-plane position of offset ``off`` in every window, shaped like the output."""
        idx = 0
        for ax, (o, n, si, pi, di, st) in enumerate(zip(off, self.out, self.s, self.p, self.d, self.plane,
                                                         strict=True)):
            shape = [1] * len(self.out)
            shape[ax] = n
            idx = idx + ((ns.arange(n) * si - pi + o * di) * st).reshape(shape)
        return idx

    def first_valid(self, ns: Any) -> Any:
        """Flat position of each window's first in-bounds element (torch's index for all -inf windows)."""
        first = []
        for pi, si, di, n in zip(self.p, self.s, self.d, self.out, strict=True):
            start = ns.arange(n) * si - pi
            first.append(ns.where(start < 0, (-start + di - 1) // di * di, 0))
        return self.flat_index(ns, (0,) * len(self.out)) + sum(
            f.reshape([-1 if i == ax else 1 for i in range(len(first))]) * st
            for ax, (f, st) in enumerate(zip(first, self.plane, strict=True)))


def _lowest(dtype: Any) -> Any:
    return -np.inf if np.issubdtype(dtype, np.floating) else np.iinfo(dtype).min


def _running_max(ns: Any, views: Sequence[Any]) -> Any:
    """Elementwise max of the candidate views (NaN propagates, as in torch)."""
    if len(views) == 1:
        return views[0].copy()
    best = ns.maximum(views[0], views[1])
    for v in views[2:]:
        ns.maximum(best, v, out=best)
    return best


def _argmax_offsets(ns: Any, views: Sequence[Any], best: Any) -> Any:
    """Which candidate holds each max, by torch's scan rule (a value replaces the max when greater or NaN):
    the first of equal maxima, the last NaN; -1 where none equals ``best``. Branch-free: a running max of
    ``(view == best) · (K - j)`` finds the first match."""
    k = len(views)
    dt = np.int8 if k < 127 else np.int32
    code = ns.zeros(best.shape, dt)
    tmp = ns.empty(best.shape, dt)
    for j, v in enumerate(views):
        ns.multiply(v == best, dt(k - j), out=tmp)
        ns.maximum(code, tmp, out=code)
    which = ns.subtract(dt(k), code, dtype=dt)
    which[which == k] = -1
    if np.issubdtype(best.dtype, np.floating) and (ns is not np or ns.isnan(best).any()):   # GPU: no host check
        last = ns.zeros(best.shape, dt)
        for j, v in enumerate(views):
            ns.multiply(v != v, dt(j + 1), out=tmp)
            ns.maximum(last, tmp, out=last)
        which = ns.where(last > 0, last - 1, which).astype(dt)
    return which


# ---- max pooling -------------------------------------------------------------------------------------
class _MaxPoolBackward(Node):
    """Max pooling: the gradient goes to each window's argmax (a scatter, recorded as a linear op)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        name = type(self).__name__[:-1] + "Backward0"
        return (tie(_linear(g, self.scatter, self.gather, name, type(self).__name__, fmt=self.fmt), self, name),)


def _scatter_gather(ns: Any, flat: Any, in_shape: tuple, nd: int) -> tuple[ArrayFn, ArrayFn]:
    """The scatter of output gradients to the input positions ``flat`` (per plane) and its adjoint gather."""
    plane = int(np.prod(in_shape[len(in_shape) - nd:]))
    lead = in_shape[:len(in_shape) - nd]
    n_lead = int(np.prod(lead))

    # a window lying wholly in the padding points past its plane (as in torch); it reads and receives nothing
    outside = flat >= plane if flat.size and (ns is not np or int(flat.max()) >= plane) else None   # GPU: no check

    def global_index() -> Any:
        local = flat if outside is None else ns.where(outside, 0, flat)
        per_plane = flat.size // n_lead if n_lead else 0
        return (local.reshape(n_lead, per_plane) + (ns.arange(n_lead) * plane)[:, None]).reshape(-1)

    def scatter(g: Any) -> Any:
        w = g if outside is None else ns.where(outside, 0, g)
        out = ns.bincount(global_index(), weights=w.reshape(-1), minlength=n_lead * plane)
        return out.reshape(in_shape).astype(g.dtype, copy=False)

    def gather(g: Any) -> Any:
        out = g.reshape(-1)[global_index()].reshape(flat.shape)
        return out if outside is None else ns.where(outside, 0, out)

    return scatter, gather


def _max_pool(input: Tensor, nd: int, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
              ceil_mode: bool, fn: str, want_indices: bool) -> tuple[Tensor, Tensor | None]:
    """Max pooling over the trailing ``nd`` dims; the indices only when asked (or for the backward)."""
    k = _tuple(kernel_size, nd, fn, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) else _tuple(stride, nd, fn, "stride")
    p = _tuple(padding, nd, fn, "padding")
    d = _tuple(dilation, nd, fn, "dilation")
    out_sp = _pool_geometry(input, nd, k, s, p, d, ceil_mode, "max")
    ns = xp(input)
    a = compute_array(input)
    grad = needs_grad(input)
    fmt = layout_of(input)
    if not (grad or want_indices) and s == k and not any(p) and all(di == 1 for di in d) and \
            all(n % ki == 0 for n, ki in zip(a.shape[-nd:], k, strict=True)):
        return result(dense_in(_tiled_max(ns, a, k), fmt, ns), input), None
    win = _Windows(tuple(a.shape[-nd:]), out_sp, k, s, p, d)
    lead = a.shape[:-nd]
    views = win.views(ns, a, _lowest(a.dtype))
    best_w = _running_max(ns, views)
    best = win.narrow(best_w, lead)
    out = result(dense_in(best, fmt, ns), input)
    if not (grad or want_indices):
        return out, None
    which_w = _argmax_offsets(ns, views, best_w)
    which = win.narrow(which_w, lead)
    if any(pi for pi in p) or any(qi * si > n for qi, si, n in zip(win.q, s, win.sp, strict=True)):
        # windows with nothing above -inf: torch points at the window's first in-bounds element
        which[best == _lowest(a.dtype)] = -1
    in_shape = tuple(a.shape)
    cache: list = []

    def flat_index() -> Any:
        """The flat input-plane index of each max (computed on demand)."""
        if not cache:
            flat = ns.empty(best.shape, np.int64)
            flat[...] = win.first_valid(ns)
            for j, o in enumerate(win.offs):
                ns.copyto(flat, win.flat_index(ns, o), where=which == j)
            cache.append(flat)
        return cache[0]

    def scatter(g: Any) -> Any:
        lost = which < 0
        if ns is not np or lost.any():   # on a GPU both parts, rather than a host round trip to choose
            return (win.accumulate(ns, ns.where(lost, 0, g), which_w)
                    + _scatter_gather(ns, flat_index(), in_shape, nd)[0](ns.where(lost, g, 0)))
        return win.accumulate(ns, g, which_w)

    def gather(g: Any) -> Any:
        return _scatter_gather(ns, flat_index(), in_shape, nd)[1](g)

    if grad:
        fused(out, _node(f"MaxPool{nd}DWithIndicesBackward0", _MaxPoolBackward), (input,), (),
              scatter=scatter, gather=gather, fmt=fmt)
    return out, result(dense_in(flat_index(), fmt, ns), input, D.int64) if want_indices else None


def _tiled_max(ns: Any, a: Any, k: tuple[int, ...]) -> Any:
    """Max over windows that tile the trailing dims exactly (no gradient or indices needed): one dim at a
    time, as ``k_i`` slices of a reshaped view."""
    nd = len(k)
    for i in range(nd):
        ax = a.ndim - nd + i
        r = a.reshape(a.shape[:ax] + (a.shape[ax] // k[i], k[i]) + a.shape[ax + 1:])
        pick = (slice(None),) * (ax + 1)
        a = _running_max(ns, [r[(*pick, j)] for j in range(k[i])])
    return a


def _check_1d(input: Tensor, fn: str) -> None:
    if input.dim() not in (2, 3) or 0 in input.shape[-2:]:
        raise RuntimeError(f"{fn}: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for "
                           f"input, but got:{list(input.shape)}")


def _max_pool_nd(nd: int) -> Callable:
    fn = f"max_pool{nd}d"

    def pool(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
             ceil_mode: bool = False, return_indices: bool = False) -> Any:
        if nd == 1:
            if return_indices:   # torch runs max_pool2d_with_indices on an unsqueezed input
                _check_rank_1d(input, fn)
            else:
                _check_1d(input, fn)
            k, = _tuple(kernel_size, 1, fn, "kernel_size")
            st = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) \
                else _tuple(stride, 1, fn, "stride")[0]
            pd, = _tuple(padding, 1, fn, "padding")
            dl, = _tuple(dilation, 1, fn, "dilation")
            for what, v in (("kernel_size", k), ("stride", st), ("dilation", dl)) if not return_indices else ():
                if v <= 0:
                    raise RuntimeError(f"max_pool1d() {what} must be greater than zero, but got {v}")
            if not return_indices:   # max_pool1d's own checks (with indices torch runs the 2-d ones)
                if pd < 0:
                    raise RuntimeError(f"max_pool1d() padding must be non-negative, but got {pd}")
                if pd > k // 2:
                    raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but got "
                                       f"padding={pd} and kernel_size={k}")
                size = _out_size(input.shape[-1], k, st, pd, dl, ceil_mode)
                if size < 1:
                    raise RuntimeError(f"max_pool1d() Invalid computed output size: {size}")
                _check_kernel_dtype(input, "max_pool1d_impl")
            out, idx = _max_pool(input.unsqueeze(-2), 2, (1, k), (1, st), (0, pd), (1, dl), ceil_mode, fn,
                                 return_indices)
            out, idx = out.squeeze(-2), idx.squeeze(-2) if return_indices else None
        else:
            out, idx = _max_pool(input, nd, kernel_size, stride, padding, dilation, ceil_mode, fn, return_indices)
        return (out, idx) if return_indices else out

    def with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                     ceil_mode: bool = False, return_indices: bool = True) -> Any:
        return pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)

    pool.__name__, pool.__qualname__ = fn, fn
    pool.__doc__ = (f"{nd}-d max pooling over windows of ``kernel_size`` (stride defaults to the kernel); "
                    "``return_indices`` also gives each max's flat index in its input plane.")
    with_indices.__name__ = with_indices.__qualname__ = fn + "_with_indices"
    with_indices.__doc__ = f"{fn} returning (values, indices)."
    return pool, with_indices


max_pool1d, max_pool1d_with_indices = _max_pool_nd(1)
max_pool2d, max_pool2d_with_indices = _max_pool_nd(2)
max_pool3d, max_pool3d_with_indices = _max_pool_nd(3)


# ---- max unpooling -----------------------------------------------------------------------------------
def _unpool_size(input: Tensor, nd: int, k: tuple, s: tuple, p: tuple, output_size: Any) -> tuple[int, ...]:
    """The unpooled spatial size: the default inverse of the pool's size, or ``output_size`` when it is
    within a stride of it."""
    default = tuple((input.shape[i - nd] - 1) * si - 2 * pi + ki   # (torch's IndexError for too few dims)
                    for i, (si, pi, ki) in enumerate(zip(s, p, k, strict=True)))
    if output_size is None:
        return default
    size = output_size[2:] if len(output_size) == nd + 2 else output_size
    if len(size) != nd:
        raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} elements, but it has "
                         f"a length of '{len(size)}'")
    for i, (o, dflt) in enumerate(zip(size, default, strict=True)):
        lo, hi = dflt - s[i], dflt + s[i]
        if not lo < o < hi:
            raise ValueError(f'invalid output_size "{size}" (dim {i} must be between {lo} and {hi})')
    return tuple(size)


def _max_unpool(input: Tensor, indices: Tensor, nd: int, out_sp: tuple[int, ...]) -> Tensor:
    """Scatter each value of ``input`` to its flat ``indices`` in zero planes of size ``out_sp``."""
    if indices.dtype is not D.int64:
        raise RuntimeError(f"elements in indices should be type int64 but got: {indices.dtype._short}")
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"Input to max_unpooling{nd}d should be a {nd + 1}d or {nd + 2}d Tensor, but got a tensor "
                           f"with {input.dim()} dimensions.")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}")
    for i in range(input.dim() - nd - 1, input.dim()):
        if input.shape[i] == 0:
            raise RuntimeError(f"max_unpooling{nd}d_forward_out_cpu(): Expected input to have non-zero size for "
                               f"non-batch dimensions, but got {list(input.shape)} with dimension {i} being empty.")
    _check_kernel_dtype(input, f"max_unpool{nd}d")
    ns = xp(input)
    flat = indices._data
    plane = int(np.prod(out_sp))
    if flat.size and (int(flat.min()) < 0 or int(flat.max()) >= plane):
        bad = int(flat[(flat < 0) | (flat >= plane)].reshape(-1)[0])
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(map(str, out_sp))})")
    out_shape = tuple(input.shape[:-nd]) + out_sp
    _, gather = _scatter_gather(ns, flat, out_shape, nd)
    n_lead = int(np.prod(out_shape[:-nd]))
    glob = (flat.reshape(n_lead, flat.size // n_lead if n_lead else 0) + (ns.arange(n_lead) * plane)[:, None]
            ).reshape(-1)

    def unpool(a: Any) -> Any:
        o = ns.zeros(n_lead * plane, a.dtype)
        o[glob] = a.reshape(-1)
        return o.reshape(out_shape)

    return _linear(input, unpool, gather, f"MaxUnpool{nd}DBackward0", f"MaxUnpool{nd}DBackwardBackward0", (4,))


def _max_unpool_nd(nd: int) -> Callable:
    fn = f"max_unpool{nd}d"

    def unpool(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               output_size: Any = None) -> Tensor:
        k = _tuple(kernel_size, nd, fn, "kernel_size")
        s = k if stride is None else _tuple(stride, nd, fn, "stride")
        p = _tuple(padding, nd, fn, "padding")
        size = _unpool_size(input, nd, k, s, p, output_size)
        if nd == 1:   # as torch: a 2-d unpool over a width-1 view
            return _max_unpool(input.unsqueeze(-1), indices.unsqueeze(-1), 2, (*size, 1)).squeeze(-1)
        return _max_unpool(input, indices, nd, size)

    unpool.__name__ = unpool.__qualname__ = fn
    unpool.__doc__ = f"Inverse of {nd}-d max pooling: each value goes to its index, the rest are zero."
    return unpool


max_unpool1d = _max_unpool_nd(1)
max_unpool2d = _max_unpool_nd(2)
max_unpool3d = _max_unpool_nd(3)


# ---- average pooling ---------------------------------------------------------------------------------
def _avg_divisor(ns: Any, win: _Windows, include_pad: bool) -> Any:
    """The per-window divisor (a separable product over dims)."""
    div = 1
    for ax, (n, o, ki, si, pi) in enumerate(zip(win.sp, win.out, win.k, win.s, win.p, strict=True)):
        start = ns.arange(o) * si - pi
        end = ns.minimum(start + ki, n + pi)
        size = end - start if include_pad else ns.minimum(end, n) - ns.maximum(start, 0)
        div = div * size.reshape([-1 if i == ax else 1 for i in range(len(win.sp))])
    return div


def _tiles(ns: Any, k: tuple[int, ...]) -> tuple[ArrayFn, ArrayFn]:
    """Sums over the exact ``k`` tiling of the trailing dims (windows that neither overlap nor pad), one
    dim at a time as ``k_i`` slice adds of a reshaped view, and the adjoint (each sum repeated over its tile)."""
    nd = len(k)

    def total(a: Any) -> Any:
        for i, ki in enumerate(k):
            ax = a.ndim - nd + i
            r = a.reshape(a.shape[:ax] + (a.shape[ax] // ki, ki) + a.shape[ax + 1:])
            pick = (slice(None),) * (ax + 1)
            acc = r[(*pick, 0)] if ki == 1 else r[(*pick, 0)] + r[(*pick, 1)]
            for j in range(2, ki):
                acc += r[(*pick, j)]
            a = acc
        return a

    def repeat(g: Any) -> Any:
        for i, ki in enumerate(k):
            g = ns.repeat(g, ki, axis=g.ndim - nd + i)
        return g

    return total, repeat


def _avg_pool(input: Tensor, nd: int, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool,
              count_include_pad: bool, divisor_override: int | None, fn: str) -> Tensor:
    k = _tuple(kernel_size, nd, fn, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) \
        else _tuple(stride, nd, fn, "stride", omit=True)
    p = _tuple(padding, nd, fn, "padding")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    out_sp = _pool_geometry(input, nd, k, s, p, (1,) * nd, ceil_mode, "avg")
    ns = xp(input)
    win = _Windows(tuple(input.shape[-nd:]), out_sp, k, s, p, (1,) * nd)
    div = divisor_override if divisor_override is not None else _avg_divisor(ns, win, count_include_pad)
    integral = input.dtype.category < 2
    if s == k and not any(p) and all(n % ki == 0 for n, ki in zip(input.shape[-nd:], k, strict=True)):
        tile_sum, tile_spread = _tiles(ns, k)
    else:
        tile_sum = tile_spread = None

    def pool(a: Any) -> Any:
        if tile_sum is not None:
            total = tile_sum(a)
        else:
            views = win.views(ns, a, 0)
            total = views[0].copy() if len(views) == 1 else views[0] + views[1]
            for v in views[2:]:
                total += v
            total = win.narrow(total, a.shape[:-nd])
        if integral:
            return ns.sign(total) * (ns.abs(total) // div)
        return total / ns.asarray(div, dtype=total.dtype)

    def spread(g: Any) -> Any:
        gd = g / ns.asarray(div, dtype=g.dtype)
        return tile_spread(gd) if tile_spread is not None else win.accumulate(ns, gd)

    return _linear(input, pool, spread, f"AvgPool{nd}DBackward0", f"AvgPool{nd}DBackwardBackward0", (4,),
                   adj_fmt=layout_of(input, (4,)), tied=True)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-d average pooling (an avg_pool2d over a height-1 view, as torch)."""
    fn = "avg_pool1d"
    _check_rank_1d(input, fn)
    k, = _tuple(kernel_size, 1, fn, "kernel_size")
    st = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) \
        else _tuple(stride, 1, fn, "stride", omit=True)[0]
    pd, = _tuple(padding, 1, fn, "padding")
    out = _avg_pool(input.unsqueeze(-2), 2, (1, k), (1, st), (0, pd), ceil_mode, count_include_pad, None, fn)
    return out.squeeze(-2)


def _avg_pool_nd(nd: int) -> Callable:
    fn = f"avg_pool{nd}d"

    def pool(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
             count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
        return _avg_pool(input, nd, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
                         fn)

    pool.__name__ = pool.__qualname__ = fn
    pool.__doc__ = (f"{nd}-d average pooling; ``count_include_pad`` counts zero padding in the divisor, "
                    "``divisor_override`` replaces it.")
    return pool


avg_pool2d = _avg_pool_nd(2)
avg_pool3d = _avg_pool_nd(3)


# ---- lp pooling --------------------------------------------------------------------------------------
def _lp_pool(input: Tensor, nd: int, norm_type: float, kernel_size: Any, stride: Any, ceil_mode: bool) -> Tensor:
    """(Σ x^p)^(1/p) over each window: an average of x^p scaled by the window size (as torch)."""
    k = _tuple(kernel_size, nd, f"lp_pool{nd}d", "kernel_size")
    pooled = (avg_pool1d if nd == 1 else _avg_pool_nd(nd))(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (pooled.sign() * pooled.abs().relu()).mul(math.prod(k)).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: int, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    """1-d power-average pooling."""
    return _lp_pool(input, 1, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    """2-d power-average pooling."""
    return _lp_pool(input, 2, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    """3-d power-average pooling."""
    return _lp_pool(input, 3, norm_type, kernel_size, stride, ceil_mode)


# ---- adaptive pooling --------------------------------------------------------------------------------
def _adaptive_size(input: Tensor, output_size: Any, nd: int, fn: str) -> tuple[int, ...]:
    if isinstance(output_size, (list, tuple)):
        if nd == 1 and None in output_size:   # (only the 2-d/3-d Python wrappers fill in None)
            raise TypeError(f"{fn}(): argument 'output_size' (position 2) must be tuple of ints, but found element "
                            f"of type NoneType at pos {list(output_size).index(None)}")
        if len(output_size) != nd:
            raise RuntimeError(f"{fn}: output_size must be {nd}")
        size = tuple(output_size)
    else:
        size = (output_size,) * nd
    return tuple(input.shape[-nd + i] if v is None else int(v) for i, v in enumerate(size))


def _bounds(n: int, o: int) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive windows along one dim: [floor(i·n/o), ceil((i+1)·n/o))."""
    i = np.arange(o)
    return (i * n) // o, ((i + 1) * n + o - 1) // o


def _along(ns: Any, a: Any, axis: int, m: Any) -> Any:
    """Apply the matrix ``m`` (out × in) along ``axis`` of ``a``."""
    moved = ns.moveaxis(a, axis, -1)
    return ns.moveaxis(gemm.matmul(ns, moved, m.T), -1, axis)


def _check_rank_1d(input: Tensor, fn: str) -> None:
    if input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for "
                           f"argument #1 'self' (while checking arguments for {fn})")


def _check_adaptive(input: Tensor, nd: int, fn: str, kind: str) -> None:
    if nd == 1:
        _check_rank_1d(input, fn)
    elif input.dim() not in (nd + 1, nd + 2):
        sep = ": " if kind == "max" else " "
        raise RuntimeError(f"{fn}(): Expected {nd + 1}D or {nd + 2}D tensor, but got{sep}{list(input.shape)}")
    shape, spatial = list(input.shape), nd
    if nd == 1 and kind == "avg":   # torch runs it as adaptive_avg_pool2d over a height-1 view
        fn, shape, spatial = "adaptive_avg_pool2d", [*shape[:-1], 1, shape[-1]], 2
    no_channels = kind == "avg" and spatial == 2   # (adaptive_avg_pool2d takes zero channels)
    for i in range(len(shape) - spatial - (not no_channels), len(shape)):   # the channels and spatial dims
        if shape[i] == 0:
            raise RuntimeError(f"{fn}(): Expected input to have non-zero size for non-batch dimensions, but input "
                               f"has sizes {shape} with dimension {i} being empty")
    if input.dtype.category < 2 or input.dtype.is_complex:
        kernel = {1: f"adaptive_{kind}_pool2d", 2: fn, 3: f"{fn}_cpu"}[nd]
        if nd == 2 and input.dim() == 4 and layout_of(input) is channels_last:
            kernel += "_channels_last"
        raise NotImplementedError(f"\"{kernel}\" not implemented for "
                                  f"'{input.dtype._short}'")


def _adaptive_avg(input: Tensor, nd: int, output_size: Any) -> Tensor:
    fn = f"adaptive_avg_pool{nd}d"
    size = _adaptive_size(input, output_size, nd, fn)
    if all(v == 1 for v in size):
        out = input.mean(tuple(range(-nd, 0)), keepdim=True)
        if input.dim() == nd + 2 and layout_of(input) is not contiguous_format:
            c = out.shape[1]   # torch restrides the (N, C, 1, ...) mean in place, as channels-last
            out.as_strided_(out.shape, (c, 1) + (c,) * nd)
        return out
    ns = xp(input)
    sp = tuple(input.shape[-nd:])
    if all(o and n % o == 0 for n, o in zip(sp, size, strict=True)):   # uniform windows: an exact tiling
        total, repeat = _tiles(ns, tuple(n // o for n, o in zip(sp, size, strict=True)))
        count = math.prod(sp) // math.prod(size)
        return _linear(input, lambda a: total(a) / a.dtype.type(count), lambda g: repeat(g / g.dtype.type(count)),
                       f"AdaptiveAvgPool{nd}DBackward0", f"AdaptiveAvgPool{nd}DBackwardBackward0", (4,),
                       adj_fmt=layout_of(input, (4,)), tied=True)
    a_dtype = compute_array(input).dtype
    mats = []
    for n, o in zip(input.shape[-nd:], size, strict=True):
        start, end = _bounds(n, o)
        j = np.arange(n)
        m = ((j >= start[:, None]) & (j < end[:, None])) / (end - start)[:, None]
        mats.append(ns.asarray(m, dtype=a_dtype))
    ndim = input.dim()

    def pool(a: Any) -> Any:
        for i, m in enumerate(mats):
            a = _along(ns, a, ndim - nd + i, m.astype(a.dtype, copy=False))
        return a

    def spread(g: Any) -> Any:
        for i, m in enumerate(mats):
            g = _along(ns, g, ndim - nd + i, m.T.astype(g.dtype, copy=False))
        return g

    return _linear(input, pool, spread, f"AdaptiveAvgPool{nd}DBackward0", f"AdaptiveAvgPool{nd}DBackwardBackward0",
                   (4,), adj_fmt=layout_of(input, (4,)), tied=True)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """Average over ``output_size`` adaptive windows of the last dim."""
    _check_adaptive(input, 1, "adaptive_avg_pool1d", "avg")
    size, = _adaptive_size(input, output_size, 1, "adaptive_avg_pool1d")
    return _adaptive_avg(input.unsqueeze(-2), 2, (1, size)).squeeze(-2)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average over adaptive windows of the last two dims (a mean for output (1, 1))."""
    _check_adaptive(input, 2, "adaptive_avg_pool2d", "avg")
    return _adaptive_avg(input, 2, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """Average over adaptive windows of the last three dims."""
    _check_adaptive(input, 3, "adaptive_avg_pool3d", "avg")
    return _adaptive_avg(input, 3, output_size)


def _max_at(input: Tensor, positions: Any, nd: int, node_name: str, fmt: memory_format = contiguous_format
            ) -> tuple[Tensor, Any]:
    """Max over candidate windows given as flat input-plane ``positions`` (broadcastable to
    (*lead, *out, K)), by torch's first-max / last-NaN rule; returns the output and each max's flat index,
    both laid out in ``fmt``."""
    ns = xp(input)
    a = compute_array(input)
    lead = a.shape[:-nd]
    pos = ns.broadcast_to(positions, lead + positions.shape[positions.ndim - nd - 1:])
    plane = (math.prod(a.shape[-nd:]),)   # (explicit sizes: -1 is ambiguous in an empty batch)
    win = ns.take_along_axis(a.reshape(lead + plane), pos.reshape(lead + (math.prod(pos.shape[len(lead):]),)),
                             axis=-1).reshape(pos.shape)
    views = [win[..., j] for j in range(win.shape[-1])]
    best = _running_max(ns, views)
    which = _argmax_offsets(ns, views, best)
    flat = ns.take_along_axis(pos, ns.maximum(which, 0).astype(np.int64)[..., None], axis=-1)[..., 0]
    out = result(dense_in(best, fmt, ns), input)
    if needs_grad(input):
        scatter, gather = _scatter_gather(ns, flat, tuple(a.shape), nd)
        fused(out, _node(node_name, _MaxPoolBackward), (input,), (), scatter=scatter, gather=gather, fmt=fmt)
    return out, dense_in(flat, fmt, ns)


def _window_positions(starts: Sequence[Any], k: Sequence[int], sp: Sequence[int], ns: Any,
                      ends: Sequence[Any] | None = None) -> Any:
    """Flat input-plane positions (*lead, *out, K) of the windows starting at ``starts[i]`` (*lead, out_i)
    with sizes ``k``; with ``ends``, positions past a window's end repeat its last element."""
    nd = len(sp)
    total = 0
    for i, (st, ki) in enumerate(zip(starts, k, strict=True)):
        pos = st[..., :, None] + ns.arange(ki)
        if ends is not None:
            pos = ns.minimum(pos, ends[i][..., :, None] - 1)
        pos = pos.reshape(pos.shape[:-2] + tuple(pos.shape[-2] if j == i else 1 for j in range(nd))
                          + tuple(ki if j == i else 1 for j in range(nd)))
        total = total + pos * math.prod(sp[i + 1:])
    return total.reshape(total.shape[:total.ndim - nd] + (math.prod(total.shape[total.ndim - nd:]),))


def _adaptive_max(input: Tensor, nd: int, output_size: Any) -> tuple[Tensor, Any]:
    size = _adaptive_size(input, output_size, nd, f"adaptive_max_pool{nd}d")
    ns = xp(input)
    sp = tuple(input.shape[-nd:])
    bounds = [tuple(ns.asarray(b) for b in _bounds(n, o)) for n, o in zip(sp, size, strict=True)]
    # windows padded to the widest by repeating their last element (which never changes the max or its index)
    widths = [int((end - start).max()) if o else 1 for (start, end), o in zip(bounds, size, strict=True)]
    positions = _window_positions([b[0] for b in bounds], widths, sp, ns, [b[1] for b in bounds])
    return _max_at(input, positions, nd, f"AdaptiveMaxPool{nd}DBackward0", layout_of(input, (4,)))


def _adaptive_max_nd(nd: int) -> tuple[Callable, Callable]:
    fn = f"adaptive_max_pool{nd}d"

    def pool(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
        _check_adaptive(input, nd, fn, "max")
        if nd == 1:
            size, = _adaptive_size(input, output_size, 1, fn)
            out, idx = _adaptive_max(input.unsqueeze(-2), 2, (1, size))
            out, idx = out.squeeze(-2), idx[..., 0, :]
        else:
            out, idx = _adaptive_max(input, nd, output_size)
        return (out, result(idx, input, D.int64)) if return_indices else out

    def with_indices(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
        return pool(input, output_size, True)

    pool.__name__ = pool.__qualname__ = fn
    pool.__doc__ = f"Max over adaptive windows of the last {nd} dim(s); ``return_indices`` as max_pool."
    with_indices.__name__ = with_indices.__qualname__ = fn + "_with_indices"
    with_indices.__doc__ = f"{fn} returning (values, indices)."
    return pool, with_indices


adaptive_max_pool1d, adaptive_max_pool1d_with_indices = _adaptive_max_nd(1)
adaptive_max_pool2d, adaptive_max_pool2d_with_indices = _adaptive_max_nd(2)
adaptive_max_pool3d, adaptive_max_pool3d_with_indices = _adaptive_max_nd(3)


# ---- fractional max pooling ---------------------------------------------------------------------------
def _fractional_starts(sample: Any, n: int, o: int, k: int, ns: Any) -> Any:
    """Window starts of fractional max pooling along one dim (torch's generate_intervals, in the samples'
    precision): pseudo-random steps of floor or ceil of (n - k) / (o - 1), the last window at the end."""
    seq = ns.full(sample.shape + (o,), n - k, np.int64)
    if o > 1:
        alpha = sample.dtype.type(n - k) / sample.dtype.type(o - 1)
        i = ns.arange(o - 1, dtype=sample.dtype)
        first = (sample * alpha).astype(np.int64)[..., None]
        seq[..., :-1] = ((i + sample[..., None]) * alpha).astype(np.int64) - first
    return seq


def _fractional_max_pool(input: Tensor, nd: int, kernel_size: Any, output_size: Any, output_ratio: Any,
                         return_indices: bool, samples: Tensor | None) -> Any:
    from ...ops.random import rand

    fn = f"fractional_max_pool{nd}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{fn} requires specifying either an output_size or an output_ratio")
    k = _tuple(kernel_size, nd, fn, "kernel_size")
    sp = tuple(input.shape[-nd:])
    if output_size is None:
        ratio = _tuple(output_ratio, nd, fn, "output_ratio")
        size = tuple(int(n * r) for n, r in zip(sp, ratio, strict=True))
    else:
        size = _tuple(output_size, nd, fn, "output_size")
    if samples is None:   # drawn as torch's Python wrapper draws them, before the kernel's checks
        n_batch = 1 if input.dim() == nd + 1 else input.size(0)
        samples = rand(n_batch, input.size(-nd - 1), nd, dtype=input.dtype, device=input.device)
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{fn}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: {list(input.shape)}")
    names = ("time", "height", "width")[3 - nd:]
    label = "fractional_max_pool2d()" if nd == 2 else "fractional_max_pool3d_out()"
    for i in range(input.dim() - nd - 1, input.dim()):
        if input.shape[i] == 0:
            raise RuntimeError(f"{label}: Expected input to have non-zero size for non-batch dimensions, but "
                               f"got{list(input.shape)} with dimension {i} being empty.")
    for name, n, o, ki in zip(names, sp, size, k, strict=True):
        if o + ki - 1 > n - (nd == 3):   # torch's 3-d kernel wants room to spare
            raise RuntimeError(f"{label}: pool {name} {ki} too large relative to input {name} {n}")
    if input.dtype.is_complex:   # (the samples were drawn: the kernel takes real floats)
        raise NotImplementedError(f"\"fractional_max_pool{nd}d_out_frame\" not implemented for '{input.dtype._short}'")
    batched = input.dim() == nd + 2
    ns = xp(input)
    smp = compute_array(samples)
    if not batched:
        smp = smp[0]
    # one sample per plane and dim; torch's 2-d kernel reads them as (width, height), its 3-d as (t, h, w)
    order = (1, 0) if nd == 2 else (0, 1, 2)
    starts = [_fractional_starts(smp[..., order[i]], n, o, ki, ns)
              for i, (n, o, ki) in enumerate(zip(sp, size, k, strict=True))]
    out, flat = _max_at(input, _window_positions(starts, k, sp, ns), nd, f"FractionalMaxPool{nd}DBackward0")
    return (out, result(flat, input, D.int64)) if return_indices else out


def fractional_max_pool2d(input: Tensor, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                          return_indices: bool = False, _random_samples: Tensor | None = None) -> Any:
    """Max over pseudo-randomly placed windows (Graham's fractional max pooling), 2-d."""
    return _fractional_max_pool(input, 2, kernel_size, output_size, output_ratio, return_indices, _random_samples)


def fractional_max_pool3d(input: Tensor, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                          return_indices: bool = False, _random_samples: Tensor | None = None) -> Any:
    """Max over pseudo-randomly placed windows (Graham's fractional max pooling), 3-d."""
    return _fractional_max_pool(input, 3, kernel_size, output_size, output_ratio, return_indices, _random_samples)


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size: Any, output_size: Any = None,
                                       output_ratio: Any = None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None) -> Any:
    return _fractional_max_pool(input, 2, kernel_size, output_size, output_ratio, True, _random_samples)


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size: Any, output_size: Any = None,
                                       output_ratio: Any = None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None) -> Any:
    return _fractional_max_pool(input, 3, kernel_size, output_size, output_ratio, True, _random_samples)


# ---- interpolation -----------------------------------------------------------------------------------
_MODE_NODE = {"nearest": "Nearest", "nearest-exact": "NearestExact", "linear": "Linear", "bilinear": "Bilinear",
              "bicubic": "Bicubic", "trilinear": "Trilinear", "lanczos": "Lanczos"}
_MODE_KERNEL = {"linear": "linear", "trilinear": "linear", "bicubic": "cubic"}
_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3, "lanczos": 2}


def _cubic_weights(t: Any) -> Any:
    """Keys' cubic convolution weights (A = -0.75) of the 4 taps around a fractional offset ``t``."""
    a = -0.75

    def near(x: Any) -> Any:
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: Any) -> Any:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=-1)


def _taps(mode: str, n: int, o: int, align: bool, scale: float | None, ct: Any,
          exact_sizes: bool = False, half: Any = None) -> tuple[np.ndarray, Any]:
    """Source indices (o, taps) and weights (or None for a plain copy) of one resampled dim, computed in the
    kernel's precision ``ct`` with torch's coordinate conventions. ``exact_sizes``: nearest maps same-size
    and doubled dims as o and o >> 1 whatever the scale factor (torch's nearest backward does, and its 2-d
    forward; its 1-d/3-d forward scale by the given factor)."""
    out = np.arange(o)
    if exact_sizes and mode == "nearest" and o in (n, 2 * n):
        return (out if o == n else out >> 1)[:, None], None
    if mode in ("nearest", "nearest-exact"):
        sc = np.float32(1.0 / scale) if scale is not None and scale > 0 else np.float32(n) / np.float32(o)
        if mode == "nearest-exact":
            src = np.floor(((out + 0.5) * np.float64(sc)).astype(np.float32))
        else:
            src = np.floor(out.astype(np.float32) * sc)
        return np.minimum(src.astype(np.int64), n - 1)[:, None], None
    if align:
        ratio = ct((n - 1) / (o - 1)) if o > 1 else ct(0)
    else:
        ratio = ct(1.0 / scale) if scale is not None and scale > 0 else ct(n) / ct(o)
    if mode.endswith("-aa"):
        return _aa_taps(mode, n, o, float(ratio), ct=ct)
    oc = out.astype(ct)
    real = ratio * oc if align else ratio * (oc + ct(0.5)) - ct(0.5)
    if mode == "bicubic":
        i0 = np.floor(real)
        w = _cubic_weights((real - i0).astype(ct)).astype(ct)
        if half is not None:
            w = w.astype(half).astype(ct)
        idx = np.clip(i0.astype(np.int64)[:, None] + np.arange(-1, 3), 0, n - 1)
        return idx, w
    if o == n:
        return out[:, None], None
    real = np.maximum(real, ct(0))
    i0 = np.minimum(np.floor(real).astype(np.int64), n - 1)
    lam = np.clip(real - i0.astype(ct), 0, 1).astype(ct)
    i1 = i0 + (i0 < n - 1)
    if half is not None:   # weights kept in a 16-bit type: λ rounded, then 1 - λ
        lam = lam.astype(half).astype(ct)
        return np.stack([i0, i1], -1), np.stack([(ct(1) - lam).astype(half).astype(ct), lam], -1)
    return np.stack([i0, i1], -1), np.stack([ct(1) - lam, lam], -1)


def _aa_filter(mode: str) -> tuple[int, Callable[[np.ndarray], np.ndarray]]:
    """Filter width (taps at scale 1) and function of an antialiased mode: PIL's triangle, Keys a=-0.5 cubic and
    Lanczos-3; the unprefixed "bilinear"/"bicubic" give uint8's plain triangle / Keys a=-0.75 taps."""
    base = mode.removesuffix("-aa")
    if base == "bilinear":
        return 2, lambda x: np.maximum(0.0, 1.0 - np.abs(x))
    if base == "bicubic":
        a = -0.5 if mode != base else -0.75

        def cubic(x: np.ndarray) -> np.ndarray:
            x = np.abs(x)
            return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                            np.where(x < 2, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0.0))
        return 4, cubic
    return 6, lambda x: np.where(np.abs(x) < 3, np.sinc(x) * np.sinc(x / 3), 0.0)


def _aa_taps(mode: str, n: int, o: int, scale: float, delta: float = 0.0,
             ct: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Antialiased taps (torch's PIL-style separable filters; also uint8's plain taps, see ``_aa_filter``): the
    filter is stretched by the downscale factor so every input pixel under it contributes; weights sum to 1.
    ``delta`` (0.5 for uint8 align_corners) shifts the pixel centres. ``ct`` is the kernel's type (float32 for
    float32 inputs): values are rounded to it where torch stores them, so the weights are torch's bit for bit."""
    size, filt = _aa_filter(mode)
    sc = float(ct(scale))
    stretch = mode.endswith("-aa") and sc >= 1
    support = ct(size / 2 * sc if stretch else size / 2)
    inv = float(ct(1 / sc if stretch else 1.0))
    center = (sc * (np.arange(o) + 0.5 - delta)).astype(ct)
    lo = np.maximum(((center - support).astype(np.float64) + 0.5 + delta).astype(np.int64), 0)
    hi = np.minimum(((center + support).astype(np.float64) + 0.5 + delta).astype(np.int64), n)
    cnt = np.clip(hi - lo, 0, math.ceil(support) * 2 + 1 if mode.endswith("-aa") else size)
    width = max(int(cnt.max()), 1)
    j = np.arange(width)
    x = ((((j + lo[:, None]).astype(ct) - center[:, None]).astype(np.float64) + 0.5 - delta) * inv).astype(ct)
    w = np.where(j < cnt[:, None], filt(x), 0.0).astype(ct)
    total = np.zeros(o, ct)
    for column in w.T:   # summed in tap order, as torch
        total += column
    w = np.where(total[:, None] != 0, w / np.where(total != 0, total, 1)[:, None], w).astype(ct)
    return np.minimum(lo[:, None] + j, n - 1), w


def _u8_taps(mode: str, n: int, o: int, align: bool, scale: float | None) -> tuple[np.ndarray, np.ndarray, int]:
    """uint8 bilinear/bicubic/lanczos taps as torch's CPU fixed-point kernel (after Pillow-SIMD) uses them:
    float64 weights quantised to int16 with the largest precision that keeps the biggest weight in range."""
    if mode == "bicubic":   # float's edge-replicating taps, with repeated edge taps merged into one
        idx, w = _taps(mode, n, o, align, scale, np.float64)
        same = idx[:, :, None] == idx[:, None, :]
        first = np.concatenate([np.ones((o, 1), bool), idx[:, 1:] != idx[:, :-1]], 1)
        w = np.where(first, (w[:, None, :] * same).sum(-1), 0.0)
    else:
        if align:
            ratio = (n - 1) / (o - 1) if o > 1 else 0.0
        else:
            ratio = 1.0 / scale if scale is not None and scale > 0 else n / o
        idx, w = _aa_taps(mode, n, o, ratio, 0.5 if align and not mode.endswith("-aa") else 0.0)
    top = float(w.max(initial=0.0))
    prec = next((p for p in range(22) if int(0.5 + top * (1 << (p + 1))) >= 1 << 15), 22)
    q = w * (1 << prec)
    return idx, np.trunc(q + np.where(q < 0, -0.5, 0.5)).astype(np.int32), prec


def _resample_u8(input: Tensor, mode: str, size: tuple[int, ...], scales: Sequence[float | None] | None,
                 align: bool) -> Tensor:
    """uint8 2-d resampling in torch's integer arithmetic: a horizontal then a vertical pass (each skipped when
    its size is unchanged), int32 sums of int16 weights rounded, shifted and clamped to uint8 between passes."""
    ns = xp(input)
    a = compute_array(input)
    for axis in (-1, -2):
        n, o = a.shape[axis], size[axis]
        if n == o:
            continue
        idx, w, prec = _u8_taps(mode, n, o, align, None if scales is None else scales[axis])
        idx, w = ns.asarray(idx), ns.asarray(w).reshape((o, -1) + (1,) * (-1 - axis))
        acc = ns.full((), 1 << (prec - 1), ns.int32)   # the rounding term
        for t in range(idx.shape[1]):
            acc = acc + ns.take(a, idx[:, t], axis=axis) * w[:, t]
        a = ns.clip(acc >> prec, 0, 255).astype(ns.uint8)
    if input.shape[1] > 4 and size[-1] == 1 and a.shape[-2] > 1:
        # torch's generic (non-AVX2, > 4 channels) kernel writes row 0 to every row of a width-1 output
        a = ns.broadcast_to(a[..., :1, :], a.shape)
    return result(dense_in(a, layout_of(input), ns), input)


def _resample(input: Tensor, mode: str, size: tuple[int, ...], scales: Sequence[float | None] | None,
              align: bool) -> Tensor:
    nd = len(size)
    ns = xp(input)
    ct = np.float64 if input.dtype is D.float64 else np.float32
    # torch's 16-bit linear, trilinear and bicubic kernels keep the weights in the type; bilinear in float32
    half = input.dtype.np if input.dtype in (D.float16, D.bfloat16) and mode != "bilinear" else None
    ndim = input.dim()
    # a channels-last input is resampled in its storage order (N, *spatial, C), which the result keeps
    perm = (0, *range(2, ndim), 1) if layout_of(input) is not contiguous_format else None
    back = tuple(np.argsort(perm)) if perm else None
    c_last = 1 if perm else 0
    plan = []
    for i, (n, o) in enumerate(zip(input.shape[-nd:], size, strict=True)):
        sc = None if scales is None else scales[i]
        idx, w = _taps(mode, n, o, align, sc, ct, exact_sizes=nd == 2, half=half)
        bidx, bw = _taps(mode, n, o, align, sc, ct, exact_sizes=True)
        dense = np.zeros((o, n))
        np.add.at(dense, (np.repeat(np.arange(o), bidx.shape[1]), bidx.reshape(-1)),
                  1.0 if bw is None else bw.reshape(-1))
        bshape = (o,) + (1,) * (nd - 1 - i + c_last)
        plan.append((ndim - nd + i - c_last, ns.asarray(idx), None if w is None else ns.asarray(w), bshape,
                     ns.asarray(dense)))

    # torch's antialiased kernel on a non-channels-last input resized in height to one column gives every row
    # the first row's values (its gradient stays that of the true resize)
    first_row_only = (mode.endswith("-aa") and size[-1] == 1 and 1 < size[-2] != input.shape[-2]
                      and layout_of(input) is not channels_last)

    def fwd(a: Any) -> Any:
        if perm:
            a = a.transpose(perm)
        for axis, idx, w, bshape, _ in plan:
            if w is None:
                a = ns.take(a, idx[:, 0], axis=axis)
                continue
            acc = None
            for t in range(idx.shape[1]):
                term = ns.take(a, idx[:, t], axis=axis) * w[:, t].astype(a.dtype).reshape(bshape)
                acc = term if acc is None else acc + term
            a = acc
        if first_row_only:
            a = ns.ascontiguousarray(ns.broadcast_to(a[..., :1, :], a.shape))
        return a.transpose(back) if perm else a

    def adj(g: Any) -> Any:
        if perm:
            g = g.transpose(perm)
        for axis, _, _, _, dense in plan:
            g = _along(ns, g, axis, dense.T.astype(g.dtype))
        return g.transpose(back) if perm else g

    base = mode[:-3] if mode.endswith("-aa") else mode
    name = f"Upsample{_MODE_NODE[base]}{nd}D{'Aa' if base != mode else ''}Backward0"
    return _linear(input, fwd, adj, name, name[:-1] + "Backward0", (4, 5))


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of an (N, C, *spatial) input to ``size`` or by ``scale_factor``."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    nd = input.dim() - 2
    spatial = list(input.shape[2:])
    scales: list | None = None
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != nd:
                raise ValueError(
                    f"Input and output must have the same number of spatial dimensions, but got input with "
                    f"spatial dimensions of {spatial} and output size of {size}. Please provide input tensor in "
                    "(N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format.")
            if not all(isinstance(v, (int, np.integer)) for v in size):
                raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, int] or Tuple[int, int, "
                                f"int], but got size with types {[type(v) for v in size]}")
            out_size = [int(v) for v in size]
        else:
            out_size = [int(size)] * nd
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != nd:
                raise ValueError(
                    f"Input and scale_factor must have the same number of spatial dimensions, but got input with "
                    f"spatial dimensions of {spatial} and scale_factor of shape {scale_factor}. Please provide "
                    "input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(v) for v in scale_factor]
        else:
            scales = [float(scale_factor)] * nd
        out_size = [math.floor(float(n) * s) for n, s in zip(spatial, scales, strict=True)]
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if recompute_scale_factor or mode == "area":
        scales = None
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.dim() == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a "
                         "4-D tensor as input")
    dim = input.dim()
    if mode == "lanczos" and dim == 4:
        if align_corners:
            raise ValueError("Lanczos mode does not support align_corners=True")
        if not antialias:
            raise ValueError("Lanczos mode requires antialias=True")
    supported = mode in ("nearest", "nearest-exact", "area") and dim in (3, 4, 5)
    if not supported and (mode not in _MODE_DIMS or _MODE_DIMS[mode] + 2 != dim):
        if mode in ("linear", "bilinear", "trilinear") and dim in (3, 4, 5):
            raise NotImplementedError(f"Got {dim}D input, but {mode} mode needs {_MODE_DIMS[mode] + 2}D input")
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {dim}D) for the modes: nearest | linear | "
            f"bilinear | bicubic | trilinear | lanczos | area | nearest-exact (got {mode})")
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[nd - 1](input, out_size)
    if any(o <= 0 for o in out_size) or any(n <= 0 for n in spatial):
        def sizes(v: Sequence[int]) -> str:
            return ", ".join(f"{c}: {n}" for c, n in zip("DHW"[3 - nd:], v, strict=True))

        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input ({sizes(spatial)})"
                           f"{' and' if nd == 1 else ''} output ({sizes(out_size)})")
    if input.numel() == 0 and not math.prod(input.shape[1:]):
        raise RuntimeError(f"Non-empty {dim}D data tensor expected but got a tensor with sizes {list(input.shape)}")
    _check_resample_dtype(input, mode, antialias)
    if input.dtype is D.uint8 and mode not in ("nearest", "nearest-exact"):
        return _resample_u8(input, mode + "-aa" if antialias else mode, tuple(out_size), scales, bool(align_corners))
    return _resample(input, mode + "-aa" if antialias else mode, tuple(out_size), scales, bool(align_corners))


def _check_resample_dtype(input: Tensor, mode: str, antialias: bool) -> None:
    """torch resamples integer inputs only as uint8 (and linear/trilinear not even then), complex ones not at all,
    and antialiases neither float16 nor bfloat16: raise its errors (named by the kernel that refuses)."""
    dt = input.dtype
    if dt.is_floating_point and not (antialias and dt.itemsize == 2) or (
            dt is D.uint8 and mode not in ("linear", "trilinear")):
        return
    if antialias:
        kernel = "compute_index_ranges_weights"
    elif mode in ("nearest", "nearest-exact", "bilinear") and input.dim() == 4:
        kernel = f"upsample_{mode.split('-')[0]}2d_channels_last"
    else:
        kernel = f"compute_indices_weights_{'nearest' if mode.startswith('nearest') else _MODE_KERNEL[mode]}"
    raise NotImplementedError(f"\"{kernel}\" not implemented for '{dt._short}'")


def _deprecated(name: str) -> None:

    warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=3)


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of :func:`interpolate`."""
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Deprecated: ``interpolate(mode='nearest')``."""
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Deprecated: ``interpolate(mode='bilinear', align_corners=True)``."""
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---- composite ops with torch's node names ---------------------------------------------------------
# ---- grid_sample / affine_grid -----------------------------------------------------------------------
def _unnormalize(c: Tensor, n: int, align: bool, nd: int) -> Tensor:
    """Grid coordinate → pixel index with torch's roundings (near a pixel edge one ulp picks the cell, hence
    the gradient): aligned ``(c+1)/2·(n-1)``; else in 2-d torch's kernel fuses ``(c+1)·(n/2) - 0.5`` into one
    multiply-add, whose value is taken here (the gradient stays ``n/2``), and 3-d computes ``((c+1)·n - 1)/2``."""
    if align:
        return (c + 1) / 2 * (n - 1)
    if nd != 2:
        return ((c + 1) * n - 1) / 2
    c1 = c + 1
    u = c1 * (n / 2) - 0.5
    fused = fused_multiply_add(c1.detach()._data.astype(np.float64), n / 2, -0.5)
    return u + (result(fused, u) - u.detach())


def _reflect(c: Tensor, lo2: int, hi2: int) -> Tensor:
    """Fold ``c`` into [lo2/2, hi2/2] by reflections (slope ±1; +1 at the fold points, as torch)."""
    from ...ops.indexing import where

    if lo2 == hi2:
        return c * 0
    lo, span = lo2 / 2, (hi2 - lo2) / 2
    c = c - lo
    c = where(c.detach() < 0, -c, c)
    extra = c.fmod(span)
    flips = (c.detach() / span).floor()
    return where(flips.fmod(2) == 0, extra + lo, span - extra + lo)


def _clip(c: Tensor, n: int) -> Tensor:
    """Clamp to [0, n-1] with zero slope at and beyond the bounds (torch's clip_coordinates)."""
    from ...ops.indexing import where

    return where((c.detach() > 0) & (c.detach() < n - 1), c, c.detach().clamp(0, n - 1))


def _pad_coord(c: Tensor, n: int, padding_mode: str, align: bool) -> Tensor:
    if padding_mode == "border":
        return _clip(c, n)
    if padding_mode == "reflection":
        return _clip(_reflect(c, 0, 2 * (n - 1)) if align else _reflect(c, -1, 2 * n - 1), n)
    return c


def _grid_sample_composite(mode: str, padding_mode: str, align: bool) -> Callable[[Tensor, Tensor], Tensor]:
    def sample(input: Tensor, grid: Tensor) -> Tensor:
        from ...ops.indexing import gather

        n, c = input.shape[:2]
        sp = tuple(input.shape[2:])
        nd = len(sp)
        out_sp = tuple(grid.shape[1:-1])
        flat_in = input.reshape(n, c, -1)
        coords = [_unnormalize(grid[..., nd - 1 - i], sp[i], align, nd) for i in range(nd)]
        if mode != "bicubic":
            coords = [_pad_coord(x, sp[i], padding_mode, align) for i, x in enumerate(coords)]
        if mode == "nearest":
            taps = [[(x.detach().round(), None)] for x in coords]
        elif mode == "bilinear":
            taps = []
            for x in coords:
                x0 = x.detach().floor()
                w1 = x - x0
                taps.append([(x0, 1 - w1), (x0 + 1, w1)])
        else:
            taps = []
            for x in coords:
                x0 = x.detach().floor()
                t = x - x0
                a = -0.75
                near = [((a + 2) * u - (a + 3)) * u * u + 1 for u in (t, 1 - t)]
                far = [((a * u - 5 * a) * u + 8 * a) * u - 4 * a for u in (t + 1, 2 - t)]
                taps.append([(x0 - 1, far[0]), (x0, near[0]), (x0 + 1, near[1]), (x0 + 2, far[1])])
        total = None
        for combo in itertools.product(*taps):
            lin = 0
            valid = None
            weight = None
            for i, (pos, w) in enumerate(combo):
                if mode == "bicubic":
                    pos = _pad_coord(pos, sp[i], padding_mode, align).round()
                ok = (pos >= 0) & (pos <= sp[i] - 1)
                valid = ok if valid is None else valid & ok
                lin = lin * sp[i] + pos.clamp(0, sp[i] - 1).long()
                if w is not None:
                    weight = w if weight is None else weight * w
            vals = gather(flat_in, 2, lin.reshape(n, 1, -1).expand(n, c, -1)).reshape(n, c, *out_sp)
            mask = valid.to(input.dtype)
            coef = mask if weight is None else weight * mask
            term = vals * coef.unsqueeze(1)
            total = term if total is None else total + term
        return total

    return sample


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """Sample ``input`` at the normalised (x, y[, z]) locations of ``grid`` (in [-1, 1])."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if align_corners is None:

        warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since "
             "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
             "documentation of grid_sample for details.", stacklevel=2)
        align_corners = False
    nd = input.dim() - 2
    if input.dim() not in (4, 5):
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, "
                           f"but got input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    if grid.dim() != input.dim() or grid.shape[0] != input.shape[0] or grid.shape[-1] != nd:
        if grid.dim() != input.dim():
            raise RuntimeError(f"grid_sampler(): expected grid to have same number of dimensions as input, but got "
                               f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
        if grid.shape[0] != input.shape[0]:
            raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got input "
                               f"with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
        raise RuntimeError(f"grid_sampler(): expected grid to have size {nd} in last dimension, but got grid with "
                           f"sizes {list(grid.shape)}")
    if mode == "bicubic" and nd != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if not input.dtype.is_floating_point:
        kernel = "grid_sampler_2d_cpu_kernel_impl" if nd == 2 else "grid_sampler3d_cpu"
        raise NotImplementedError(f'"{kernel}" not implemented for \'{input.dtype._short}\'')
    if grid.dtype is not input.dtype:
        raise RuntimeError(f"expected scalar type {input.dtype._short} but found {grid.dtype._short}")
    def tied(g: Tensor, node: Node) -> Tensor:   # torch's backward kernel takes the input and grid
        return tie(g, node, f"GridSampler{nd}DBackwardBackward0", (0, 1), undefined=(0,) if mode == "nearest" else ())

    return composed(f"GridSampler{nd}DBackward0", _grid_sample_composite(mode, padding_mode, bool(align_corners)),
                    input, grid, twice={0: tied, 1: tied})


def _base_coords(steps: int, align: bool, like: Tensor) -> Tensor:
    from ...ops.creation import linspace, zeros

    if steps <= 1:
        return zeros(1, dtype=like.dtype, device=like.device)
    lin = linspace(-1, 1, steps, dtype=like.dtype, device=like.device)
    return lin if align else lin * (steps - 1) / steps   # two roundings, as torch's (not one by (steps-1)/steps)


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: bool | None = None) -> Tensor:
    """The sampling grid (N, *spatial, nd) of the affine maps ``theta`` (N, nd, nd+1) for ``grid_sample``."""
    from ...ops.creation import ones
    from ...ops.shape import stack

    if align_corners is None:

        warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since "
             "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
             "documentation of grid_sample for details.", stacklevel=2)
        align_corners = False
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = list(size)
    if len(size) == 4:
        if theta.dim() != 3 or tuple(theta.shape[-2:]) != (2, 3):
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {tuple(size)}. "
                             f"Got {theta.shape}.")
    elif len(size) == 5:
        if theta.dim() != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {tuple(size)}. "
                             f"Got {theta.shape}.")
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {tuple(size)}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {tuple(size)}")
    if align_corners and min(size[2:]) == 1:

        warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
             "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
             "of affine_grid for details.", stacklevel=2)
    n, sp = size[0], size[2:]
    nd = len(sp)
    axes = [_base_coords(s, bool(align_corners), theta) for s in sp]
    # base[..., :] = (x, y[, z], 1) with x along the last spatial dim
    mesh = []
    for i in range(nd):
        shape = [1] * nd
        shape[nd - 1 - i] = sp[nd - 1 - i]
        mesh.append(axes[nd - 1 - i].reshape(shape).expand(*sp))
    mesh.append(ones(*sp, dtype=theta.dtype, device=theta.device))
    base = stack(mesh, -1).reshape(1, -1, nd + 1)

    def generate(th: Tensor) -> Tensor:
        # base · thetaᵀ summed term by term, each product and sum rounded in order: torch's values bit for bit
        # (a BLAS product may fuse or reorder them, and a one-ulp shift moves a sample across a pixel edge)
        out = None
        for k in range(nd + 1):
            term = base[..., k:k + 1] * th[:, :, k].unsqueeze(1)
            out = term if out is None else out + term
        return out.reshape(n, *sp, nd)

    return composed("AffineGridGeneratorBackward0", generate, theta)


# ---- pixel and channel shuffles ----------------------------------------------------------------------
def _check_shuffle_layout(input: Tensor) -> None:
    """torch's pixel (un)shuffle kernels take contiguous or 4-d channels-last inputs only."""
    if layout_of(input, (5,)) is not contiguous_format:
        raise RuntimeError("Unsupported memory format. Supports only ChannelsLast, Contiguous")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C·r², H, W) → (*, C, H·r, W·r)."""
    r = upscale_factor
    if input.dim() < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    _check_shuffle_layout(input)
    k = len(lead)
    oc = c // (r * r)

    def shuffle(a: Any) -> Any:
        a = a.reshape(*lead, oc, r, r, h, w).transpose(*range(k), k, k + 3, k + 1, k + 4, k + 2)
        return a.reshape(*lead, oc, h * r, w * r)

    def unshuffle(a: Any) -> Any:
        a = a.reshape(*lead, oc, h, r, w, r).transpose(*range(k), k, k + 2, k + 4, k + 1, k + 3)
        return a.reshape(*lead, c, h, w)

    return _linear(input, shuffle, unshuffle, "PixelShuffleBackward0", "PixelUnshuffleBackward0", (4,))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H·r, W·r) → (*, C·r², H, W), the inverse of :func:`pixel_shuffle`."""
    r = downscale_factor
    if input.dim() < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, but "
                           f"input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, but "
                           f"input.size(-1)={w} is not divisible by {r}")
    _check_shuffle_layout(input)
    k = len(lead)
    oh, ow = h // r, w // r

    def unshuffle(a: Any) -> Any:
        a = a.reshape(*lead, c, oh, r, ow, r).transpose(*range(k), k, k + 2, k + 4, k + 1, k + 3)
        return a.reshape(*lead, c * r * r, oh, ow)

    def shuffle(a: Any) -> Any:
        a = a.reshape(*lead, c, r, r, oh, ow).transpose(*range(k), k, k + 3, k + 1, k + 4, k + 2)
        return a.reshape(*lead, c, h, w)

    return _linear(input, unshuffle, shuffle, "PixelUnshuffleBackward0", "PixelShuffleBackward0", (4,))


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` groups: (N, g·k, *) → channel order k-major."""
    if input.dim() <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with sizes "
                           f"{list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    per = c // groups

    def shuffle(a: Any) -> Any:
        return a.reshape(n, groups, per, *rest).swapaxes(1, 2).reshape(n, c, *rest)

    def unshuffle(a: Any) -> Any:
        return a.reshape(n, per, groups, *rest).swapaxes(1, 2).reshape(n, c, *rest)

    return _linear(input, shuffle, unshuffle, "ChannelShuffleBackward0", "ChannelShuffleBackward0", (4, 5))


native_channel_shuffle = channel_shuffle
