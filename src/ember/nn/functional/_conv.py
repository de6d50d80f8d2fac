"""Convolutions (``conv1d/2d/3d``, ``conv_transpose1d/2d/3d``) and ``unfold``/``fold``: one N-d implementation.

Everything is built from three array steps, so the work is in BLAS GEMMs on contiguous operands:

- *im2col*: one strided view of the (zero-padded) input gives every window; it is copied into columns,
  sample-major ``(N, C, *K, *Out)`` (the windows' own order; a 1x1 convolution's are the input itself) or,
  where a sample's positions are few against the weight's size, channel-major ``(C, *K, N, *Out)``
  (:func:`_sample_major`);
- GEMMs with the weight ``(groups, O/g, C/g·K)``: ``W·cols`` is the convolution, ``Wᵀ·x`` the columns of
  a transposed convolution and ``cols·gᵀ`` the weight gradient: sample-major one product per sample on
  contiguous operands (the output born in ``(N, O, *Out)`` layout, the weight gradient summed over
  samples), channel-major one product per group over the whole batch;
- *col2im*: the adjoint of im2col, a sum of strided slices, one per kernel offset (a loop over the
  kernel's ``prod(K)`` offsets, never over pixels, channels or batch elements); with stride 1 the GEMM's
  operand is first laid on the padded image's row length, so each offset's slice is one long run per plane
  (:func:`_adjoint_image`).

Depthwise convolutions skip im2col, the padded copy and the grouped GEMMs: per block of (sample, channel)
rows the kernel offsets' contiguous runs of the unpadded planes (of the input's phases ``x[..., r::s]`` for a
stride ``s``) are copied side by side and reduced by the channel's weights and bias, one small product per
row written into the output's rows (:func:`_depthwise_pass`); the backward gets the input and weight
gradients from one such pass per phase. On the CPU the copies and passes outside BLAS, and stacks of
per-sample GEMMs too small for BLAS to thread, are split by rows over the intra-op threads
(:mod:`ember.ops._parallel`).

The gradient of a convolution is a transposed convolution and vice versa, and the weight gradient is
bilinear in (input, grad): :class:`ConvolutionBackward0` computes all three with the steps above, and when
a graph of the gradient is wanted (``create_graph``) records :class:`ConvolutionBackwardBackward0`, whose
backward is again written with convolutions, so gradients of any order exist, as in torch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from ..._core import dtype as D
from ..._core import gemm
from ..._core.memory_format import channels_last
from ..._core.warn import warn
from ..._tensor import _cpp_name
from ...ops._dispatch import broadcast_shapes, record
from ...ops._parallel import contiguous, split_axis, split_rows
from ...ops.creation import relayout
from ._common import Node, Tensor, compute_array, fused, layout_of, needs_grad, onednn_dtypes, result, type_string, xp

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "unfold",
    "fold",
]

_IntOrSeq = int | Sequence[int]
_AXES = ("depth", "height", "width")
_KEEP_COLUMNS = 32 << 20   # bytes: columns up to this size are kept from forward to backward
_CACHE_BLOCK = 2 << 20   # bytes: the tap columns a depthwise convolution builds at a time on the CPU
_DEVICE_BLOCK = 256 << 20   # bytes: the same on a GPU
_SMALL_GEMM = 1 << 20   # multiply-adds: OpenBLAS runs a product up to about this size on one core (small kernels)
_MACS_PER_ELEMENT = 32   # a GEMM's multiply-adds that cost about one element of an elementwise pass


class _Geom(NamedTuple):
    """Geometry of a convolution: per spatial dim stride, (low, high) zero padding and dilation; groups.
    For a transposed convolution the padding is that of the convolution it is the adjoint of (a negative
    high pad is output_padding)."""

    stride: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    groups: int


# ---- array steps (xp = numpy or cupy) ------------------------------------------------------------
def _conv_size(n: int, k: int, s: int, pad: tuple[int, int], d: int) -> int:
    return (n + pad[0] + pad[1] - d * (k - 1) - 1) // s + 1


def _transposed_size(n: int, k: int, s: int, pad: tuple[int, int], d: int) -> int:
    return (n - 1) * s - pad[0] - pad[1] + d * (k - 1) + 1


def _pad_array(ns: Any, a: Any, pads: tuple[tuple[int, int], ...], out: Any = None) -> Any:
    """Zero-pad (or crop, for negative amounts) the spatial dims of ``a`` ``(N, C, *S)``, into ``out`` (of the
    padded shape, any strides) when given."""
    if not any(lo or hi for lo, hi in pads) and out is None:
        return a
    lead = 2
    shape = a.shape[:lead] + tuple(n + lo + hi for n, (lo, hi) in zip(a.shape[lead:], pads, strict=True))
    if out is None:
        out = ns.empty(shape, dtype=a.dtype)
    src = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(a.shape[lead:], pads, strict=True))
    dst = tuple(slice(max(lo, 0), n - max(hi, 0)) for n, (lo, hi) in zip(shape[lead:], pads, strict=True))

    def run(index: tuple[slice, slice]) -> None:
        out[(*index, *dst)] = a[(*index, *src)]

    split_axis(ns, a.shape, run)
    for i, (n, (lo, hi)) in enumerate(zip(shape[lead:], pads, strict=True)):   # zero only the borders
        for border in (slice(0, max(lo, 0)), slice(n - max(hi, 0), n)):
            out[(*(slice(None),) * (lead + i), border)] = 0
    return out


def _windows(ns: Any, a: Any, ksize: tuple[int, ...], geom: _Geom) -> Any:
    """A strided view ``(N, C, *K, *Out)`` of every window of the padded ``a`` ``(N, C, *S)`` (no copy of
    the windows)."""
    a = _pad_array(ns, a, geom.pads)
    sizes = a.shape[2:]
    out = tuple((n - d * (k - 1) - 1) // s + 1 for n, k, s, d in zip(sizes, ksize, geom.stride, geom.dilation,
                                                                     strict=True))
    st = a.strides
    shape = (*a.shape[:2], *ksize, *out)
    strides = (*st[:2], *(x * d for x, d in zip(st[2:], geom.dilation, strict=True)),
               *(x * s for x, s in zip(st[2:], geom.stride, strict=True)))
    return ns.lib.stride_tricks.as_strided(a, shape, strides)


def _sample_major(length: int, rows: int, outs: int) -> bool:
    """Whether the columns of a convolution with ``length`` output positions per sample, ``rows`` = C/g·prod(K)
    and ``outs`` = O/g are laid sample by sample, ``(N, C·K, L)``, rather than channel-major, ``(C·K, N·L)``.
    Sample-major, im2col copies the windows in the input's own order and each GEMM is per sample on
    contiguous operands, its result born in ``(N, O, L)`` layout; channel-major, each GEMM runs once over the
    whole batch, with a transposing copy of its operands and result. The copies cost ~``N·L·(rows + outs)``,
    a GEMM per sample packs the weight again each time, ~``N·rows·outs``: sample-major where the first is the
    larger (the factor measured with OpenBLAS)."""
    return length * (rows + outs) >= 7 * rows * outs


def _im2col(ns: Any, a: Any, ksize: tuple[int, ...], geom: _Geom, outs: int) -> Any:
    """Columns of ``a`` ``(N, C, *S)`` for a GEMM with ``outs`` rows per group, as an ``(N, groups, C/g·prod(K),
    L)`` view of a contiguous array laid as :func:`_sample_major` says: sample-major (a 1x1 stride-1 unpadded
    convolution's are ``a`` itself) or channel-major ``(groups, C/g·prod(K), N, L)``."""
    v = _windows(ns, a, ksize, geom)
    nd = len(ksize)
    n, c, out = v.shape[0], v.shape[1], v.shape[2 + nd:]
    rows, length = c // geom.groups * math.prod(ksize), math.prod(out)
    if _sample_major(length, rows, outs):
        return contiguous(ns, v).reshape(n, geom.groups, rows, length)
    v = v.transpose(1, *range(2, 2 + nd), 0, *range(2 + nd, 2 + 2 * nd))
    return contiguous(ns, v).reshape(geom.groups, rows, n, length).transpose(2, 0, 1, 3)


def _channel_major(cols: Any) -> bool:
    """Whether columns from :func:`_im2col` are laid channel-major (a batch of one reads as either)."""
    return cols.strides[0] < cols.strides[2]


def _col2im(ns: Any, cols: Any, size: tuple[int, ...], geom: _Geom) -> Any:
    """Adjoint of :func:`_windows`: ``cols`` ``(A, B, *K, *Out)`` (any strides) summed into an ``(A, B, *size)``
    image, one strided slice per kernel offset, windows clipped to the image (padding is dropped)."""
    nd = len(size)
    ksize, out = cols.shape[2:2 + nd], cols.shape[2 + nd:]
    img = ns.zeros((*cols.shape[:2], *size), dtype=cols.dtype)
    parts = []   # (image slice, columns slice) of each kernel offset whose windows touch the image
    for kidx in itertools.product(*map(range, ksize)):
        dst, src = [], []
        for k, o, m, s, (lo, _), d in zip(kidx, out, size, geom.stride, geom.pads, geom.dilation, strict=True):
            t0 = k * d - lo   # image position of window 0 at this offset
            first = -(t0 // s) if t0 < 0 else 0
            last = min(o, (m - 1 - t0) // s + 1)
            if last <= first:
                break
            dst.append(slice(t0 + first * s, t0 + (last - 1) * s + 1, s))
            src.append(slice(first, last))
        else:
            parts.append(((*dst,), (*kidx, *src)))

    def run(index: tuple[slice, slice]) -> None:
        for dst, src in parts:
            img[(*index, *dst)] += cols[(*index, *src)]

    split_axis(ns, img.shape, run)
    return img


def _stack_matmul(ns: Any, a: Any, b: Any, out: Any) -> Any:
    """``a @ b`` into ``out`` for a stack of products along ``out``'s first dim (``a``, ``b``: of that length
    there, or broadcast). BLAS runs a small product on one core, so a stack of small ones (a convolution's
    per-sample GEMMs) is split over the intra-op threads on the CPU; every product is the same call either
    way, so the results do not depend on the split."""
    n, macs = out.shape[0], math.prod(out.shape[1:]) * a.shape[-1]
    if out.ndim < 3 or macs > _SMALL_GEMM:
        return gemm.matmul(ns, a, b, out=out)

    def run(start: int, stop: int) -> None:
        part = [v[start:stop] if v.ndim == out.ndim and v.shape[0] == n else v for v in (a, b)]
        gemm.matmul(ns, *part, out=out[start:stop])

    split_rows(ns, n, macs // _MACS_PER_ELEMENT, run)
    return out


def _matmul(ns: Any, a: Any, b: Any) -> Any:
    """``a @ b`` for stacks of matrices: with a contraction of length 1 (depthwise convolutions) an outer
    product, which broadcasting does far faster than a stack of rank-1 GEMMs; else by :func:`_stack_matmul`."""
    if a.shape[-1] == 1:
        return a * b
    shape = (*broadcast_shapes(a.shape[:-2], b.shape[:-2]), a.shape[-2], b.shape[-1])
    return _stack_matmul(ns, a, b, ns.empty(shape, dtype=ns.result_type(a, b)))


def _to_cm(ns: Any, a: Any, groups: int) -> Any:
    """``(N, C, *S)`` → channel-major ``(groups, C/g, N·L)``, contiguous."""
    n, c = a.shape[:2]
    return contiguous(ns, a.swapaxes(0, 1)).reshape(groups, c // groups, n * math.prod(a.shape[2:]))


def _finish(ns: Any, y: Any, bias: Any) -> Any:
    """``y`` ``(N, C, *size)`` (any strides) as a contiguous array, plus ``bias`` in the same pass."""
    if bias is None:
        return contiguous(ns, y)
    out = ns.empty(y.shape, dtype=y.dtype)
    bias = ns.broadcast_to(bias.reshape(-1, *(1,) * (y.ndim - 2)), y.shape[1:])

    def run(index: tuple[slice, slice]) -> None:
        ns.add(y[index], bias[index[1]], out=out[index])

    split_axis(ns, y.shape, run)
    return out


def _weight_times_cols(ns: Any, wm: Any, cols: Any, size: tuple[int, ...], bias: Any) -> Any:
    """``wm`` ``(groups, O/g, C/g·K)`` times the columns ``(N, groups, C/g·K, L)`` of :func:`_im2col`, plus
    ``bias``, as ``(N, O, *size)``: sample-major one GEMM per sample and group straight into that layout,
    channel-major one GEMM per group over the batch, laid out (with the bias) in one more pass."""
    n, g, rows, length = cols.shape
    if _channel_major(cols):
        y = gemm.matmul(ns, wm, cols.transpose(1, 2, 0, 3).reshape(g, rows, n * length))
        return _finish(ns, y.reshape(g * wm.shape[1], n, *size).swapaxes(0, 1), bias)
    y = ns.empty((n, g, wm.shape[1], length), dtype=ns.result_type(wm, cols))
    _stack_matmul(ns, wm, cols, y)   # given ``out``: NumPy may lay a batched result out in its inputs' order
    y = y.reshape(n, g * wm.shape[1], *size)
    if bias is not None:
        bias = bias.reshape(-1, *(1,) * len(size))

        def run(index: tuple[slice, slice]) -> None:
            y[index] += bias[index[1]]

        split_axis(ns, y.shape, run)
    return y


def _cols_times(ns: Any, cols: Any, a: Any) -> Any:
    """``Σ_n cols_n · a_nᵀ``, ``(groups, C/g·K, A/g)``: the columns ``(N, groups, C/g·K, L)`` of :func:`_im2col`
    against ``a`` ``(N, A, *Out)`` over samples and positions (a weight gradient). Channel-major one GEMM per
    group; sample-major one per sample, summed over blocks of samples (a bounded temporary)."""
    n, g, rows, length = cols.shape
    if _channel_major(cols):
        return gemm.matmul(ns, cols.transpose(1, 2, 0, 3).reshape(g, rows, n * length),
                           _to_cm(ns, a, g).swapaxes(1, 2))
    am = a.reshape(n, g, a.shape[1] // g, length).swapaxes(2, 3)
    acc = ns.zeros((g, rows, am.shape[3]), dtype=ns.result_type(cols, a))
    block = max(1, _CACHE_BLOCK // (acc.nbytes or 1))
    for s in range(0, n, block):
        acc += _matmul(ns, cols[s:s + block], am[s:s + block]).sum(0)
    return acc


def _adjoint_image(ns: Any, wm: Any, a: Any, ksize: tuple[int, ...], size: tuple[int, ...], geom: _Geom,
                   half: Any = None) -> Any:
    """``col2im(Wᵀ·a)``: what ``a`` ``(N, O, *Out)`` (an output gradient, or a transposed convolution's input)
    makes through ``wm`` ``(groups, O/g, C/g·K)``, as an ``(N, C, *size)`` view, the columns laid as
    :func:`_sample_major` says for ``Out``. With stride 1 and no negative padding, ``a`` is laid on rows as
    long as the image's, so that every kernel offset adds one contiguous run per plane of the image's last
    two dims (per row for 1-d) where col2im by slices adds one short run per output row. Where ``a``'s
    copies per last-dim tap are fewer than the columns' rows (and the weight, rearranged by a copy, is no
    larger than the columns), the last dim is moreover a correlation: ``a`` is copied once per last-dim tap,
    shifted (its im2col along that dim), so the GEMM sums those taps over a longer contraction and its
    columns, already of the image's width, are K[-1] times fewer to add; else the rows are the padded
    image's (zeros past the output width) and every kernel offset is added. ``half``: a 16-bit NumPy dtype the
    columns are rounded to and the image summed in, offset after offset (torch's slow 16-bit kernel)."""
    n, gr, nd, out, o = a.shape[0], geom.groups, len(ksize), a.shape[2:], a.shape[1]
    sm, og = _sample_major(math.prod(out), wm.shape[2], wm.shape[1]), o // gr
    c = gr * wm.shape[2] // math.prod(ksize)
    if half is not None or any(s != 1 for s in geom.stride) or any(lo < 0 or hi < 0 for lo, hi in geom.pads):
        wt = wm.swapaxes(1, 2)
        if sm:
            cols = _matmul(ns, wt, a.reshape(n, gr, og, math.prod(out)))
            return _col2im(ns, cols.reshape(n, c, *ksize, *out).astype(half or cols.dtype, copy=False), size, geom)
        cols = _matmul(ns, wt, _to_cm(ns, a, gr)).reshape(c, *ksize, n, *out).astype(half or a.dtype, copy=False)
        return _col2im(ns, cols.transpose(0, 1 + nd, *range(1, 1 + nd), *range(2 + nd, 2 + 2 * nd)), size,
                       geom).swapaxes(0, 1)
    grid = [m + lo + hi for m, (lo, hi) in zip(size, geom.pads, strict=True)]
    pads = list(geom.pads)
    taps, shift = 1, 0   # last-dim taps correlated, and where tap 0 reads a from
    if og * ksize[-1] <= wm.shape[2] and og <= n * math.prod(out):
        taps, shift, grid[-1], pads[-1] = ksize[-1], geom.pads[-1][0], size[-1], (0, 0)
    lead = ksize[:-1] if taps > 1 else ksize   # the taps col2im adds
    kl, width, dw = math.prod(lead), grid[-1], geom.dilation[-1]
    wt = wm.reshape(gr, og, c // gr, kl, taps).transpose(0, 2, 3, 1, 4).reshape(gr, c // gr * kl, og * taps)
    length = math.prod(out[:-1]) * width
    rows = ns.zeros((n, o, taps, length) if sm else (o, taps, n, length), dtype=a.dtype)
    view = (rows if sm else rows.transpose(2, 0, 1, 3)).reshape(n, o, taps, *out[:-1], width)
    spans = [(t, max(0, t * dw - shift), min(width, out[-1] + t * dw - shift)) for t in range(taps)]

    def place(index: tuple[slice, slice]) -> None:   # tap t at row column x reads a's column x + shift - t·dw
        for t, x0, x1 in spans:
            if x0 < x1:
                view[index][:, :, t, ..., x0:x1] = a[index][..., x0 + shift - t * dw:x1 + shift - t * dw]

    split_axis(ns, view.shape, place)
    if sm:
        cols = _matmul(ns, wt, rows.reshape(n, gr, og * taps, length)).reshape(n, c, kl, length)
    else:
        cols = _matmul(ns, wt, rows.reshape(gr, og * taps, n * length)).reshape(c, kl, n, length)
        cols = cols.transpose(2, 0, 1, 3)
    total = math.prod(grid)
    extent = total + (ksize[-1] - 1) * dw   # slack for the last plane's spilling runs
    img = ns.zeros((n, c, extent), cols.dtype) if sm else ns.zeros((c, n, extent), cols.dtype).swapaxes(0, 1)
    flat = [math.prod(grid[i + 1:]) for i in range(nd)]
    run = out[-2] * width if nd > 1 else width   # the last two dims as one run
    shape = (n, c, *out[:-2], run)
    strides = (*img.strides[:2], *(f * img.itemsize for f in flat[:-2]), img.itemsize)
    runs = cols.reshape(n, c, kl, *out[:-2], run)
    offsets = [sum(t * d * f for t, d, f in zip(kidx, geom.dilation, flat, strict=False))
               for kidx in itertools.product(*map(range, lead))]

    def add(index: tuple[slice, slice]) -> None:   # a run may spill into the next plane: zeros (or the slack)
        for j, off in enumerate(offsets):
            dst = ns.lib.stride_tricks.as_strided(img[:, :, off:], shape, strides)
            dst[index] += runs[:, :, j][index]

    split_axis(ns, img.shape, add)
    img = img[:, :, :total].reshape(n, c, *grid)
    return img[(slice(None), slice(None), *(slice(lo, lo + m) for (lo, _), m in zip(pads, size, strict=True)))]


def _depthwise(w: Any, geom: _Geom, transposed: bool) -> bool:
    """Whether a convolution is depthwise (one input and one output channel per group), which the tap-column
    formulation below computes far faster than tiny per-group GEMMs, with windows overlapping along every
    strided dim: where the stride reaches the kernel's extent each phase is read by one tap at most there,
    and im2col's single gather beats a pass per phase."""
    return not transposed and w.shape[0] == geom.groups and w.shape[1] == 1 and all(
        s == 1 or s <= d * (k - 1) for s, d, k in zip(geom.stride, geom.dilation, w.shape[2:], strict=True))


def _phase_split(a: Any, stride: tuple[int, ...], bulk: Sequence[int]) -> Any:
    """The first ``bulk`` entries per dim of every phase ``a[..., r::s]`` of ``a`` ``(N, C, *S)`` (``bulk`` at
    most ``S//s``), as one ``(N, C, *s, *bulk)`` view."""
    nd = len(stride)
    v = a[(Ellipsis, *(slice(q * s) for q, s in zip(bulk, stride, strict=True)))]
    v = v.reshape(*a.shape[:2], *itertools.chain.from_iterable(zip(bulk, stride, strict=True)))
    return v.transpose(0, 1, *range(3, 2 + 2 * nd, 2), *range(2, 2 + 2 * nd, 2))


class _Taps(NamedTuple):
    """Kernel taps reading ``(N, C, *S)`` planes seen flat, as a stride-1 correlation. A stride-``s`` input is
    split into its phases ``x[..., r::s]`` (one plane each, per dim ``ceil(S/s)`` long): the tap at offset
    ``t·d - lo = a·s + r`` reads phase ``r`` at ``q + a`` for output ``q``. Source and output are laid on planes
    of the same size past the first dim (``grid``: the larger of the two per dim), so each tap reads one
    contiguous run per plane. A position whose source lies past the grid along a later dim would wrap into
    the next line, and one outside the source along the first dim falls off the run's ends: both read zero
    (the padding)."""

    grid: tuple[int, ...]     # the source planes' first dim, then per later dim max(source, output)
    out: tuple[int, ...]      # output size
    shifts: tuple[tuple[int, ...], ...]   # per dim, per kernel index along it: source minus output index
    phases: tuple[tuple[int, ...], ...]   # per dim, per kernel index along it: the source phase it reads
    stride: tuple[int, ...]   # the source's phases per dim (the taps are the product of the per-dim ones)

    @classmethod
    def of(cls, size: tuple[int, ...], ksize: tuple[int, ...], geom: _Geom) -> _Taps:
        """The taps of a depthwise convolution of ``size`` planes."""
        out = tuple(_conv_size(n, k, s, p, d) for n, k, s, p, d in
                    zip(size, ksize, geom.stride, geom.pads, geom.dilation, strict=True))
        offs = [[t * d - lo for t in range(k)] for k, d, (lo, _) in zip(ksize, geom.dilation, geom.pads, strict=True)]
        src = [-(-n // s) for n, s in zip(size, geom.stride, strict=True)]
        return cls((src[0], *(max(n, o) for n, o in zip(src[1:], out[1:], strict=True))), out,
                   tuple(tuple(o // s for o in off) for off, s in zip(offs, geom.stride, strict=True)),
                   tuple(tuple(o % s for o in off) for off, s in zip(offs, geom.stride, strict=True)), geom.stride)

    def lay(self, ns: Any, a: Any) -> Any:
        """``a`` ``(N, C, *S)`` split into its phases, each zero-padded at its ends to the grid, as flat rows
        ``(N·C, phases·prod(grid))``."""
        views = [a[(Ellipsis, *(slice(i, None, s) for i, s in zip(r, self.stride, strict=True)))]
                 for r in itertools.product(*map(range, self.stride))]
        pads = [tuple((0, g - m) for g, m in zip(self.grid, v.shape[2:], strict=True)) for v in views]
        rows = (a.shape[0] * a.shape[1], len(views) * math.prod(self.grid))
        if len(views) == 1:   # stride 1: a copy only where the grid is larger than the input (often none)
            return contiguous(ns, _pad_array(ns, a, pads[0])).reshape(rows)
        out = ns.empty((*a.shape[:2], len(views), *self.grid), dtype=a.dtype)
        bulk = [m // s for m, s in zip(a.shape[2:], self.stride, strict=True)]   # entries every phase has
        dst = out.reshape(*a.shape[:2], *self.stride, *self.grid)[(Ellipsis, *map(slice, bulk))]
        src = _phase_split(a, self.stride, bulk)

        def run(index: tuple[slice, slice]) -> None:   # all phases in one copy, along their rows
            dst[index] = src[index]

        split_axis(ns, dst.shape, run)
        nd = len(bulk)
        for j, (v, pad) in enumerate(zip(views, pads, strict=True)):   # each phase past the bulk, and its padding
            for i, (q, g) in enumerate(zip(bulk, self.grid, strict=True)):
                if g > q:
                    rest = (Ellipsis, *(slice(q, None) if d == i else slice(None) for d in range(nd)))
                    _pad_array(ns, v[rest], pad, out[:, :, j][rest])
        return out.reshape(rows)

    def crop(self, flat: Any) -> Any:
        """Output-grid rows ``(N, C, out[0]·prod(grid[1:]))`` → the ``(N, C, *out)`` view of the outputs."""
        y = flat.reshape(*flat.shape[:2], self.out[0], *self.grid[1:])
        return y[(Ellipsis, *(slice(o) for o in self.out[1:]))]


def _depthwise_pass(ns: Any, xf: Any, n: int, c: int, w: Any, b: Any, taps: _Taps, dot: Any = None,
                    out: Any = None) -> tuple[Any, Any]:
    """Depthwise correlation of ``xf`` (``(N, C, *S)`` laid by ``taps``) with ``w`` ``(C, taps)`` plus ``b``: a
    block of (sample, channel) rows at a time, the taps' runs are copied side by side (zeros where they read
    padding) and each row's reduced by its channel's weights and bias (a row of ones) in one BLAS product,
    straight into the output's rows when the grid is the output's size. Plain copies and a product: faster
    than a multiply and an add per tap, and the columns stay in cache (on the CPU; a bounded block on GPUs).
    With ``dot`` (``(N·C, L)``, L the output grid's size) also returns each row's dot products of its runs
    with ``dot``, ``(N·C, taps)`` — a weight gradient — else None; with ``w`` None only those. ``out``: where
    the output goes when given, ``(N, C, *size)`` of any strides, ``size`` at most ``taps.out`` (the rest is
    dropped)."""
    rows, nd = n * c, len(taps.grid)
    kdims = tuple(map(len, taps.shifts))
    k = math.prod(kdims)
    inner, size = math.prod(taps.grid[1:]), math.prod(taps.grid)
    length = taps.out[0] * inner
    flat = [math.prod(taps.grid[i + 1:]) for i in range(nd)]
    runs = []   # per tap: the output range read and where it reads from
    for j, kidx in enumerate(itertools.product(*map(range, kdims))):
        shift = sum(sh[t] * f for sh, t, f in zip(taps.shifts, kidx, flat, strict=True))
        phase = 0
        for ph, t, s in zip(taps.phases, kidx, taps.stride, strict=True):
            phase = phase * s + ph[t]
        lo, hi = max(0, -shift), max(0, min(length, size - shift))
        if lo < hi:
            runs.append((j, lo, hi, phase * size + shift))
    wraps = []   # per later dim and kernel index along it: the output lines (all such taps) reading zeros
    for i in range(1, nd):
        for t, a in enumerate(taps.shifts[i]):
            m = taps.grid[i]
            if a:
                lines = slice(0, min(-a, m)) if a < 0 else slice(max(m - a, 0), m)
                wraps.append((slice(None), *(t if q == i else slice(None) for q in range(nd)),
                              *(lines if q == i else slice(None) for q in range(nd))))
    kb = k + (b is not None and w is not None)   # a bias multiplies a row of ones
    wr = None
    direct = out is None and taps.out[1:] == taps.grid[1:]
    if w is not None:
        wr = w.reshape(1, c, k) if b is None else ns.concatenate((w.reshape(1, c, k), b.reshape(1, c, 1)), axis=2)
        wr = ns.broadcast_to(wr, (n, c, kb)).reshape(rows, 1, kb)
        if out is None:
            out = ns.empty((n, c, *taps.out), dtype=xf.dtype)
        target = out.reshape(rows, *out.shape[2:])   # a view: only spatial dims are sliced
        crop = (Ellipsis, *map(slice, out.shape[2:]))
    sums = None if dot is None else ns.empty((rows, k, 1), dtype=xf.dtype)
    budget = _CACHE_BLOCK if ns.__name__ == "numpy" else _DEVICE_BLOCK
    block = max(1, budget // (kb * length * xf.itemsize))

    def run(start: int, stop: int) -> None:   # rows start:stop, block by block, with buffers of its own
        cols = ns.zeros((min(block, stop - start), kb, length), dtype=xf.dtype)   # zeros: what reads padding
        cols[:, k:] = 1
        buf = ns.empty((cols.shape[0], 1, length), dtype=xf.dtype) if w is not None and not direct else None
        spatial = cols.reshape(len(cols), kb * length)[:, :k * length].reshape(len(cols), *kdims, taps.out[0],
                                                                               *taps.grid[1:])
        copies = [(cols[:, j, lo:hi], lo + src, hi + src) for j, lo, hi, src in runs]
        zeros = [spatial[index] for index in wraps]
        for r in range(start, stop, block):
            m = min(block, stop - r)
            for dst, lo, hi in copies:
                dst[:m] = xf[r:r + m, lo:hi]
            for z in zeros:
                z[:m] = 0
            if w is not None:
                if direct:
                    gemm.matmul(ns, wr[r:r + m], cols[:m], out=out.reshape(rows, 1, length)[r:r + m])
                else:
                    gemm.matmul(ns, wr[r:r + m], cols[:m], out=buf[:m])
                    target[r:r + m] = taps.crop(buf[:m].reshape(1, m, -1))[0][crop]
            if dot is not None:
                gemm.matmul(ns, cols[:m, :k], dot[r:r + m, :, None], out=sums[r:r + m])

    split_rows(ns, rows, length * kb, run)
    return out, None if sums is None else sums.reshape(rows, k)


def _depthwise_backward(ns: Any, g: Any, x: Any, w: Any, geom: _Geom, mask: tuple[bool, bool, bool],
                        xf: Any = None) -> tuple[Any, Any, Any]:
    """Gradients of a depthwise convolution, one pass per phase of the input: the phase's input gradient is
    the stride-1 correlation of ``g`` with the taps reading that phase, negated shifts; the dot products of
    those taps' columns with the phase of ``x`` (laid on the same grid; ``xf``: as the forward laid it) are
    their weight gradients."""
    ksize, nd = w.shape[2:], w.ndim - 2
    n, c = g.shape[:2]
    gx = gw = gb = None
    if mask[0] or mask[1]:
        fwd = _Taps.of(x.shape[2:], ksize, geom)
        adj = fwd._replace(grid=(g.shape[2], *fwd.grid[1:]), out=(fwd.grid[0], *(-(-m // s) for m, s in
                           zip(x.shape[3:], geom.stride[1:], strict=True))), stride=(1,) * nd)
        gf = adj.lay(ns, g)
        if mask[1] and xf is None:
            xf = fwd.lay(ns, x)
        wk = w.reshape(c, *ksize)
        size = math.prod(fwd.grid)
        phases = list(itertools.product(*map(range, geom.stride)))
        if mask[0] and len(phases) > 1:
            gx = ns.empty(x.shape, dtype=g.dtype)
        if mask[1]:
            gw = ns.zeros(wk.shape, dtype=g.dtype)
        for p, r in enumerate(phases):
            idx = [[t for t, ph in enumerate(phs) if ph == ri] for phs, ri in zip(fwd.phases, r, strict=True)]
            view = None if gx is None else gx[(Ellipsis, *(slice(i, None, s) for i, s in
                                                          zip(r, geom.stride, strict=True)))]
            if not all(idx):
                if view is not None:
                    view[...] = 0   # no tap reads this phase
                continue
            taps = adj._replace(shifts=tuple(tuple(-sh[t] for t in ix) for sh, ix in zip(fwd.shifts, idx, strict=True)),
                                phases=tuple((0,) * len(ix) for ix in idx))
            sel = (slice(None), *ns.ix_(*idx))
            part, sums = _depthwise_pass(ns, gf, n, c, wk[sel].reshape(c, -1) if mask[0] else None, None, taps,
                                         xf[:, p * size:(p + 1) * size] if mask[1] else None, view)
            if mask[0] and len(phases) == 1:
                gx = part
            if mask[1]:
                gw[sel] = sums.reshape(n, c, *map(len, idx)).sum(0)
        if mask[1]:
            gw = gw.reshape(w.shape)
    if mask[2]:
        gb = g.sum(axis=(0, *range(2, g.ndim)))
    return gx, gw, gb


def _forward(ns: Any, x: Any, w: Any, b: Any, geom: _Geom, transposed: bool, half: Any = None) -> tuple[Any, Any]:
    """The convolution (or transposed convolution) of batched arrays ``x`` with ``w`` plus ``b``, and the
    columns of ``x`` it used (a depthwise one: ``x`` laid in phases; None for a transposed one). ``half``: see
    :func:`_adjoint_image`."""
    n, g = x.shape[0], geom.groups
    ksize = w.shape[2:]
    if _depthwise(w, geom, transposed):
        taps = _Taps.of(x.shape[2:], ksize, geom)
        xf = taps.lay(ns, x)
        return _depthwise_pass(ns, xf, n, w.shape[0], w.reshape(w.shape[0], -1), b, taps)[0], xf
    if not transposed:
        cols = _im2col(ns, x, ksize, geom, w.shape[0] // g)
        size = tuple(_conv_size(m, k, s, p, d) for m, k, s, p, d in
                     zip(x.shape[2:], ksize, geom.stride, geom.pads, geom.dilation, strict=True))
        return _weight_times_cols(ns, w.reshape(g, w.shape[0] // g, -1), cols, size, b), cols
    size = tuple(_transposed_size(m, k, s, p, d) for m, k, s, p, d in
                 zip(x.shape[2:], ksize, geom.stride, geom.pads, geom.dilation, strict=True))
    return _finish(ns, _adjoint_image(ns, w.reshape(g, w.shape[0] // g, -1), x, ksize, size, geom, half), b), None


def _backward(ns: Any, g: Any, x: Any, w: Any, geom: _Geom, transposed: bool, mask: tuple[bool, bool, bool],
              x_shape: tuple[int, ...], cols: Any = None) -> tuple[Any, Any, Any]:
    """Arrays of the gradients w.r.t. (input, weight, bias) of a convolution, for those in ``mask``; ``cols``:
    the input's columns (or phases) when the forward kept them."""
    if _depthwise(w, geom, transposed):
        return _depthwise_backward(ns, g, x, w, geom, mask, cols)
    gr = geom.groups
    ksize = w.shape[2:]
    wm = w.reshape(gr, w.shape[0] // gr, -1)
    gx = gw = gb = None
    if not transposed:   # y = W·cols(x):  gx = col2im(Wᵀ·g),  gw = g·cols(x)ᵀ
        if mask[0]:
            gx = _finish(ns, _adjoint_image(ns, wm, g, ksize, x_shape[2:], geom), None)
        if mask[1]:
            if cols is None:
                cols = _im2col(ns, x, ksize, geom, wm.shape[1])
            gw = _cols_times(ns, cols, g).swapaxes(1, 2).reshape(w.shape)
    # y = col2im(Wᵀ·x):  gx = W·cols(g),  gw = x·cols(g)ᵀ
    elif mask[0] or mask[1]:
        cols = _im2col(ns, g, ksize, geom, wm.shape[1])
        if mask[0]:
            gx = _weight_times_cols(ns, wm, cols, x_shape[2:], None)
        if mask[1]:
            gw = _cols_times(ns, cols, x).swapaxes(1, 2).reshape(w.shape)
    if mask[2]:
        gb = g.sum(axis=(0, *range(2, g.ndim)))
    return gx, gw, gb


# ---- autograd ------------------------------------------------------------------------------------
class ConvolutionBackward0(Node):
    """Gradients of a convolution: a transposed convolution for the input (and vice versa), a GEMM
    against the input's columns for the weight, a sum for the bias."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, w = self.saved
        mask = tuple(e is not None for e in self._next)
        return _convolution_backward(g, x, w, self.geom, self.transposed, mask, cols=self.__dict__.pop("cols", None))


class ConvolutionBackwardBackward0(Node):
    """Double backward of a convolution. With F the forward map (conv or transposed conv), F* its adjoint
    and G the weight gradient, the outputs are (F*(g, w), G(x, g), Σg); given their cotangents
    (ggx, ggw, ggb): d/dg = F(ggx, w) + ggb + F(x, ggw), d/dx = F*(g, ggw), d/dw = G(ggx, g) — the last two
    are exactly a convolution backward with input ggx and weight ggw."""

    __slots__ = ()

    def fill_missing(self, grads: list) -> list:
        return grads

    def backward(self, *grads: Any) -> tuple:
        g, x, w = self.saved
        ggx = ggw = ggb = None
        for i, gr in zip(self.outputs, grads, strict=True):
            if i == 0:
                ggx = gr
            elif i == 1:
                ggw = gr
            else:
                ggb = gr
        need = tuple(e is not None for e in self._next)
        geom, tr = self.geom, self.transposed
        dg = dx = dw = None
        if need[0]:
            if ggx is not None:
                dg = _convolution(ggx, w, ggb, geom, tr)
            elif ggb is not None:
                dg = ggb.reshape(-1, *(1,) * (g.dim() - 2)).expand(g.shape)
            if ggw is not None:
                t = _convolution(x, ggw, None, geom, tr)
                dg = t if dg is None else dg + t
        mask = (need[1] and ggw is not None, need[2] and ggx is not None, False)
        if mask[0] or mask[1]:
            inp = ggx if ggx is not None else x.detach()
            wt = ggw if ggw is not None else w.detach()
            dx, dw, _ = _convolution_backward(g, inp, wt, geom, tr, mask, x_shape=tuple(x.shape))
        return dg, dx, dw


def _convolution(x: Tensor, w: Tensor, b: Tensor | None, geom: _Geom, transposed: bool) -> Tensor:
    """The recorded op on batched, validated tensors."""
    ns = xp(x)
    half = x._dtype.np if transposed and x._device.type == "cpu" and x._dtype in (D.float16, D.bfloat16) and \
        x._dtype not in onednn_dtypes() else None   # (torch's slow kernel, not oneDNN's)
    arr, cols = _forward(ns, compute_array(x), compute_array(w), None if b is None else compute_array(b), geom,
                         transposed, half)
    if arr.ndim == 4 and (layout_of(x) is channels_last or layout_of(w) is channels_last):
        arr = relayout(arr, channels_last, ns)   # torch's 2-d convolutions keep channels-last operands so
    out = fused(result(arr, x), ConvolutionBackward0, (x, w, b), (x, w), geom=geom, transposed=transposed)
    if cols is not None and w._rg and out._grad_fn is not None and cols.nbytes <= _KEEP_COLUMNS:
        out._grad_fn.cols = cols   # spares the weight gradient a second im2col / phase split (taken by 1st backward)
    return out


def _convolution_backward(g: Tensor, x: Tensor, w: Tensor, geom: _Geom, transposed: bool,
                          mask: tuple[bool, ...], x_shape: tuple[int, ...] | None = None, cols: Any = None) -> tuple:
    ns = xp(g)
    gx, gw, gb = _backward(ns, compute_array(g), compute_array(x), compute_array(w), geom, transposed, mask,
                           x_shape or tuple(x.shape), cols)
    outs = (result(gx, x) if gx is not None else None, result(gw, w) if gw is not None else None,
            result(gb, g) if gb is not None else None)
    if needs_grad(g, x, w):
        which = tuple(i for i, o in enumerate(outs) if o is not None)
        node = record([outs[i] for i in which], ConvolutionBackwardBackward0(), (g, x, w))
        node.save(g, x, w)
        node.geom, node.transposed, node.outputs = geom, transposed, which
    return outs


# ---- argument checks (torch's messages) ----------------------------------------------------------
def _expand(value: _IntOrSeq, n: int) -> list[int]:
    """What torch's argument parser makes of an int-or-tuple argument of an ``n``-d function."""
    if isinstance(value, int):
        return [value] * n
    return [int(v) for v in value]


def _per_dim(name: str, value: list[int], nd: int) -> tuple[int, ...]:
    if len(value) == 1:
        return tuple(value) * nd
    if len(value) != nd:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {nd} values to match "
                           f"the convolution dimensions, but got {name}={value}")
    return tuple(value)


def _check_dim(input: Tensor, name: str, nd: int) -> None:
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got "
                           f"input of size: {list(input.shape)}")


def _check_types(input: Tensor, weight: Tensor, bias: Tensor | None, transposed: bool = False) -> None:
    """torch's dtype checks; its direct (not oneDNN) convolution compares the bias first (float64 data fed to a
    float32 model with biases is told about the bias)."""
    bias_first = not transposed and input.dtype is not D.float32
    if not (bias_first and bias is not None and bias.dtype is not input.dtype):
        _check_weight_type(input, weight)
    if bias is not None and bias.dtype is not input.dtype:
        name = type_string if transposed and input.dtype.is_complex else _cpp_name
        raise RuntimeError(f"Input type ({name(input.dtype)}) and bias type ({name(bias.dtype)}) should be the same")
    if input.device != weight.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{input.device} and {weight.device}!")


def _check_weight_type(input: Tensor, weight: Tensor) -> None:
    """The weight's dtype against the input's."""
    if input.dtype is weight.dtype:
        return
    if input.dtype.is_complex:
        raise RuntimeError(f"Input type ({type_string(input.dtype)}) and weight type ({type_string(weight.dtype)}) "
                           "should be the same")
    if input.dtype is D.float32 and weight.dtype.is_floating_point:
        raise RuntimeError(f"Input type ({type_string(input.dtype)}) and weight type ({type_string(weight.dtype)}) "
                           "should be the same or input should be a MKLDNN tensor and weight is a dense tensor")
    raise RuntimeError(f"expected scalar type {input.dtype._short} but found {weight.dtype._short}")


def _check_shapes(input: Tensor, weight: Tensor, bias: Tensor | None, padding: tuple[int, ...], groups: int,
                  transposed: bool) -> None:
    ws = list(weight.shape)
    if weight.dim() != input.dim():
        raise RuntimeError(f"Expected {weight.dim()}-dimensional input for {weight.dim()}-dimensional weight {ws}, "
                           f"but got {input.dim()}-dimensional input of size {list(input.shape)} instead")
    if ws[0] < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, but "
                           f"got weight of size {ws} instead")
    if ws[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size [{ws}] instead")
    c = input.shape[1]
    if not transposed:
        if c != ws[1] * groups:
            raise RuntimeError(f"Given groups={groups}, weight of size {ws}, expected input{list(input.shape)} to "
                               f"have {ws[1] * groups} channels, but got {c} channels instead")
        out_c, what = ws[0], f"Given weight of size {ws}"
    else:
        if c != ws[0]:
            raise RuntimeError(f"Given transposed=1, weight of size {ws}, expected input{list(input.shape)} to "
                               f"have {ws[0]} channels, but got {c} channels instead")
        out_c, what = ws[1] * groups, f"Given transposed=1, weight of size {ws}"
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != out_c):
        raise RuntimeError(f"{what}, expected bias to be 1-dimensional with {out_c} elements, but got bias of "
                           f"size {list(bias.shape)} instead")


def _check_params(stride: tuple[int, ...], padding: tuple[int, ...], dilation: tuple[int, ...],
                  output_padding: tuple[int, ...], groups: int) -> None:
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d < 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if any(d == 0 for d in dilation):
        raise RuntimeError("non-positive dilation is not supported")


def _sizes(values: Sequence[int]) -> str:
    return " x ".join(map(str, values))


def _prepare(name: str, nd: int, input: Tensor) -> tuple[Tensor, bool]:
    """Check the input rank for ``name`` and batch an unbatched input."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    _check_dim(input, name, nd)
    batched = input.dim() == nd + 2
    return (input if batched else input.unsqueeze(0)), batched


def _conv(name: str, nd: int, input: Tensor, weight: Tensor, bias: Tensor | None, stride: _IntOrSeq,
          padding: _IntOrSeq | str, dilation: _IntOrSeq, groups: int) -> Tensor:
    """``conv{nd}d``: checks as torch, then the recorded op (an unbatched input is batched and squeezed)."""
    if isinstance(input, Tensor) and bias is not None and bias.dtype is not input.dtype:   # (before the rank)
        raise RuntimeError(f"Input type ({_cpp_name(input.dtype)}) and bias type ({_cpp_name(bias.dtype)}) should be "
                           "the same")
    x, batched = _prepare(name, nd, input)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        if padding == "same" and any(s != 1 for s in _expand(stride, nd)):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
    pad = padding if isinstance(padding, str) else _expand(padding, nd)
    out = _convolution_checked(x, weight, bias, _expand(stride, nd), pad, _expand(dilation, nd), False, [0], groups)
    return out if batched else out.squeeze(0)


def _convolution_checked(x: Tensor, weight: Tensor, bias: Tensor | None, stride: list[int],
                         padding: list[int] | str, dilation: list[int], transposed: bool,
                         output_padding: list[int], groups: int) -> Tensor:
    """torch's ``_convolution`` checks on batched ``x``, then :func:`_convolution`."""
    if transposed and bias is not None and isinstance(weight, Tensor) and bias.dtype is not x.dtype \
            and weight.dtype is x.dtype and not x.dtype.is_complex:   # torch's real transposed kernels take a bias
        # of any dtype (oneDNN's not)
        if x.dtype in onednn_dtypes() and x.dtype is not D.float32:
            raise RuntimeError(f"Input type ({type_string(x.dtype)}) and bias type ({type_string(bias.dtype)}) "
                               "should be the same or input should be a MKLDNN tensor and bias is a dense tensor")
        bias = bias.to(x.dtype)
    if not isinstance(weight, Tensor):
        raise TypeError(f"conv(): argument 'weight' (position 2) must be Tensor, not {type(weight).__name__}")
    early = not transposed or x.dtype.is_complex   # (a real transposed convolution checks them after the shapes)
    if early:
        _check_types(x, weight, bias, transposed)
    if weight.dim() < 3:
        raise RuntimeError("weight should have at least three dimensions")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    k = weight.dim() - 2
    st = _per_dim("stride", stride, k)
    pad_list = [0] if isinstance(padding, str) else padding
    pd = _per_dim("padding", pad_list, k)
    dl = _per_dim("dilation", dilation, k)
    op = _per_dim("output_padding", output_padding, k)
    _check_params(st, pd, dl, op, groups)
    _check_shapes(x, weight, bias, pd, groups, transposed)
    ksize = tuple(weight.shape[2:])
    if padding == "same":
        pads = []
        for kk, d in zip(ksize, dl, strict=True):
            total = d * (kk - 1)
            pads.append((total // 2, total - total // 2))
        if any(lo != hi for lo, hi in pads):
            warn("Using padding='same' with even kernel lengths and odd dilation may require a zero-padded "
                 "copy of the input be created", stacklevel=4)
    else:
        pads = [(p, p - o) for p, o in zip(pd, op, strict=True)]
    spatial = tuple(x.shape[2:])
    if not transposed:
        padded = [m + lo + hi for m, (lo, hi) in zip(spatial, pads, strict=True)]
        kext = [d * (kk - 1) + 1 for kk, d in zip(ksize, dl, strict=True)]
        if any(p < e for p, e in zip(padded, kext, strict=True)):
            raise RuntimeError(f"Calculated padded input size per channel: ({_sizes(padded)}). Kernel size: "
                               f"({_sizes(kext)}). Kernel size can't be greater than actual input size")
    else:
        if any(o >= s and o >= d for o, s, d in zip(op, st, dl, strict=True)):
            names = _AXES[-max(k, 2):]
            pairs = (list(op) if k > 1 else [0, *op], list(st) if k > 1 else [1, *st],
                     list(dl) if k > 1 else [1, *dl])
            labels = ("output_padding", "stride", "dilation")
            parts = [f"{what}_{ax}: {v}" for what, vals in zip(labels, pairs, strict=True)
                     for ax, v in zip(names, vals, strict=True)]
            raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                               + " ".join(parts))
        size = [_transposed_size(m, kk, s, p, d) for m, kk, s, p, d in zip(spatial, ksize, st, pads, dl, strict=True)]
        if any(s < 1 for s in size):
            lead = [1] * (2 - k)   # torch runs 1-d transposed convolutions as 2-d ones and reports a leading 1
            raise RuntimeError(f"Given input size per channel: ({_sizes(lead + list(spatial))}). Calculated output "
                               f"size per channel: ({_sizes(lead + size)}). Output size is too small")
    if x.dtype is D.bool or (transposed and x.dtype.category == 1 and x.dtype is not D.int64):   # the kernels' dtypes
        kernel = (f"slow_conv_transpose{max(k, 2)}d_out_cpu" if transposed
                  else "compute_columns3d" if k == 3 else "slow_conv2d_cpu")
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{x.dtype._short}'")
    if not early:
        _check_types(x, weight, bias, transposed)
    return _convolution(x, weight, bias, _Geom(st, tuple(pads), dl, groups), transposed)


# ---- public functions ----------------------------------------------------------------------------
def convolution(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Sequence[int], padding: Sequence[int],
                dilation: Sequence[int], transposed: bool, output_padding: Sequence[int], groups: int) -> Tensor:
    """``torch.convolution``: a batched N-d (transposed) convolution with explicit per-dim parameters."""
    if input.dim() != weight.dim():
        raise RuntimeError(f"Expected {weight.dim()}-dimensional input for {weight.dim()}-dimensional weight "
                           f"{list(weight.shape)}, but got {input.dim()}-dimensional input of size "
                           f"{list(input.shape)} instead")
    return _convolution_checked(input, weight, bias, list(stride), list(padding), list(dilation), bool(transposed),
                                list(output_padding), groups)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _IntOrSeq = 1,
           padding: _IntOrSeq | str = 0, dilation: _IntOrSeq = 1, groups: int = 1) -> Tensor:
    """1-d cross-correlation over ``(N, C, L)`` (or unbatched ``(C, L)``) with weight ``(O, C/groups, K)``."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _IntOrSeq = 1,
           padding: _IntOrSeq | str = 0, dilation: _IntOrSeq = 1, groups: int = 1) -> Tensor:
    """2-d cross-correlation over ``(N, C, H, W)`` (or unbatched) with weight ``(O, C/groups, kH, kW)``."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _IntOrSeq = 1,
           padding: _IntOrSeq | str = 0, dilation: _IntOrSeq = 1, groups: int = 1) -> Tensor:
    """3-d cross-correlation over ``(N, C, D, H, W)`` (or unbatched) with weight ``(O, C/groups, kD, kH, kW)``."""
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(name: str, nd: int, input: Tensor, weight: Tensor, bias: Tensor | None, stride: _IntOrSeq,
                    padding: _IntOrSeq, output_padding: _IntOrSeq, groups: int, dilation: _IntOrSeq) -> Tensor:
    if isinstance(padding, str):
        raise TypeError(f"{name}(): argument 'padding' must be tuple of ints, not str")
    x, batched = _prepare(name, nd, input)
    out = _convolution_checked(x, weight, bias, _expand(stride, nd), _expand(padding, nd), _expand(dilation, nd),
                               True, _expand(output_padding, nd), groups)
    return out if batched else out.squeeze(0)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _IntOrSeq = 1,
                     padding: _IntOrSeq = 0, output_padding: _IntOrSeq = 0, groups: int = 1,
                     dilation: _IntOrSeq = 1) -> Tensor:
    """1-d transposed convolution (the gradient of conv1d w.r.t. its input); weight ``(C, O/groups, K)``."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _IntOrSeq = 1,
                     padding: _IntOrSeq = 0, output_padding: _IntOrSeq = 0, groups: int = 1,
                     dilation: _IntOrSeq = 1) -> Tensor:
    """2-d transposed convolution; weight ``(C, O/groups, kH, kW)``."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _IntOrSeq = 1,
                     padding: _IntOrSeq = 0, output_padding: _IntOrSeq = 0, groups: int = 1,
                     dilation: _IntOrSeq = 1) -> Tensor:
    """3-d transposed convolution; weight ``(C, O/groups, kD, kH, kW)``."""
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


# ---- unfold / fold -------------------------------------------------------------------------------
class Im2ColBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (_fold(g, self.size, self.ksize, self.geom),)


class Col2ImBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (_unfold(g, self.ksize, self.geom),)


def _unfold(x: Tensor, ksize: tuple[int, ...], geom: _Geom) -> Tensor:
    """``(N, C, *S)`` → ``(N, C·prod(K), L)``; an unbatched ``(C, *S)`` gives ``(C·prod(K), L)``."""
    ns = xp(x)
    nd = len(ksize)
    batched = x.dim() == nd + 2
    v = _windows(ns, x._data if batched else x._data[None], ksize, geom)
    shape = (v.shape[1] * math.prod(ksize), math.prod(v.shape[2 + nd:]))
    arr = contiguous(ns, v).reshape((v.shape[0], *shape) if batched else shape)
    return fused(result(arr, x), Im2ColBackward0, (x,), (), size=tuple(x.shape[x.dim() - nd:]), ksize=ksize,
                 geom=geom)


def _fold(cols: Tensor, size: tuple[int, ...], ksize: tuple[int, ...], geom: _Geom) -> Tensor:
    """``(N, C·prod(K), L)`` → ``(N, C, *size)``, overlapping entries summed; unbatched ``(C·prod(K), L)`` too."""
    ns = xp(cols)
    out = tuple(_conv_size(m, k, s, p, d) for m, k, s, p, d in
                zip(size, ksize, geom.stride, geom.pads, geom.dilation, strict=True))
    batched = cols.dim() == 3
    a = cols._data if batched else cols._data[None]
    img = _col2im(ns, a.reshape(a.shape[0], a.shape[1] // math.prod(ksize), *ksize, *out), size, geom)
    return fused(result(img if batched else img[0], cols), Col2ImBackward0, (cols,), (), ksize=ksize, geom=geom)


def _pair(name: str, value: _IntOrSeq) -> tuple[int, int]:
    v = _expand(value, 2)
    if len(v) != 2:
        raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(v)}")
    return v[0], v[1]


def _fold_params(kernel_size: _IntOrSeq, dilation: _IntOrSeq, padding: _IntOrSeq,
                 stride: _IntOrSeq) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]:
    k, d, p, s = (_pair(n, v) for n, v in (("kernel_size", kernel_size), ("dilation", dilation),
                                           ("padding", padding), ("stride", stride)))
    for name, nm, v, low in (("kernel size", "kernel", k, 1), ("stride", "stride", s, 1),
                             ("dilation", "dilation", d, 1), ("padding", "pad", p, 0)):
        if v[0] < low or v[1] < low:
            what = "greater than zero" if low else "non-negative"
            raise RuntimeError(f"{name} should be {what}, but got {nm}_height: {v[0]} {nm}_width: {v[1]}")
    return k, d, p, s


def _blocks(size: Sequence[int], k: Sequence[int], d: Sequence[int], p: Sequence[int], s: Sequence[int]) -> list:
    return [_conv_size(m, kk, ss, (pp, pp), dd) for m, kk, ss, pp, dd in zip(size, k, s, p, d, strict=True)]


def _check_fold_dtype(input: Tensor, kernel: str) -> None:
    """im2col/col2im take floats, complex numbers and bools: torch's error for the integer types."""
    if input.dtype.category == 1:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{input.dtype._short}'")


def unfold(input: Tensor, kernel_size: _IntOrSeq, dilation: _IntOrSeq = 1, padding: _IntOrSeq = 0,
           stride: _IntOrSeq = 1) -> Tensor:
    """Sliding local blocks of a ``(N, C, H, W)`` (or ``(C, H, W)``) input as columns ``(N, C·kH·kW, L)``."""
    if input.dim() < 3:   # torch reads sizes 1 and 2 first: its IndexError
        input.size(1), input.size(2)
    if input.dim() not in (3, 4) or any(s == 0 for s in input.shape[1:]):
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    k, d, p, s = _fold_params(kernel_size, dilation, padding, stride)
    blocks = _blocks(input.shape[-2:], k, d, p, s)
    if any(b < 1 for b in blocks):
        raise RuntimeError(f"Given input with spatial size ({input.shape[-2]}, {input.shape[-1]}), kernel_size="
                           f"({k[0]}, {k[1]}), dilation=({d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), calculated "
                           f"shape of the array of sliding blocks as ({blocks[0]}, {blocks[1]}), but its components "
                           "must be at least one.")
    _check_fold_dtype(input, "im2col_out_cpu")
    return _unfold(input, k, _Geom(s, ((p[0], p[0]), (p[1], p[1])), d, 1))


def fold(input: Tensor, output_size: _IntOrSeq, kernel_size: _IntOrSeq, dilation: _IntOrSeq = 1,
         padding: _IntOrSeq = 0, stride: _IntOrSeq = 1) -> Tensor:
    """Sum columns ``(N, C·kH·kW, L)`` (or ``(C·kH·kW, L)``) of sliding blocks back into ``(N, C, *output_size)``."""
    if input.dim() not in (2, 3) or any(s == 0 for s in input.shape[-2:]):
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    size = _pair("output_size", output_size)
    k, d, p, s = _fold_params(kernel_size, dilation, padding, stride)
    kk = k[0] * k[1]
    c_k, length = input.shape[-2:]
    if c_k % kk:
        raise RuntimeError("Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
                           f"got input.size(1)={c_k} and kernel_size=({k[0]}, {k[1]}).")
    blocks = _blocks(size, k, d, p, s)
    where = (f"Given output_size=({size[0]}, {size[1]}), kernel_size=({k[0]}, {k[1]}), dilation=({d[0]}, {d[1]}), "
             f"padding=({p[0]}, {p[1]}), stride=({s[0]}, {s[1]}), ")
    if length != blocks[0] * blocks[1]:
        raise RuntimeError(f"{where}expected size of input's dimension 2 to match the calculated number of sliding "
                           f"blocks {blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got input.size(2)="
                           f"{length}.")
    if any(b < 1 for b in blocks):
        raise RuntimeError(f"{where}calculated shape of the array of sliding blocks as ({blocks[0]}, {blocks[1]}), "
                           "but its components must be at least one.")
    _check_fold_dtype(input, "col2im_out_cpu")
    return _fold(input, size, k, _Geom(s, ((p[0], p[0]), (p[1], p[1])), d, 1))

