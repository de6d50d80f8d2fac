"""Functional forms of the layers: linear maps, dropout, embeddings, normalisation, padding, distances."""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Sequence

import numpy as np

from ..._core import dtype as D
from ..._core.device import check_on_device, to_host
from ..._core.memory_format import contiguous_format
from ..._core.warn import warn
from ..._tensor import _cpp_name
from ...autograd.grad_mode import no_grad
from ...ops._parallel import split_rows
from ...ops.creation import empty, empty_like, zeros
from ...ops.elementwise import add_scalar
from ...ops.extra import composed, no_derivative
from ...ops.indexing import index_put
from ...ops.matmul import addmm
from ...ops.shape import stack
from ._common import (
    STATE,
    Node,
    Tensor,
    compute_array,
    dense_in,
    full_in,
    fused,
    layout_of,
    result,
    tie,
    type_string,
    xp,
)

__all__ = [
    "linear",
    "bilinear",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "feature_alpha_dropout",
    "embedding",
    "embedding_bag",
    "layer_norm",
    "rms_norm",
    "normalize",
    "one_hot",
    "pad",
    "cosine_similarity",
    "pairwise_distance",
    "pdist",
]


# ---- linear maps ---------------------------------------------------------------------------------
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``, built as torch builds it (so grad_fns match): addmm for 2-d input, addmm
    on a 2-d view for other contiguous input (1-d and ≥3-d), otherwise matmul then an in-place add."""
    nd = input.dim()
    if not (nd and weight.dim()):
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are {nd}D and "
                           f"{weight.dim()}D")
    wt = weight.t()
    if bias is not None and nd == 2:
        return addmm(bias, input, wt)
    if bias is not None and input.dim() >= 1 and weight.dim() == 2 and input.is_contiguous():
        flat = input.view(math.prod(input.shape[:-1]), input.shape[-1])   # (-1 is ambiguous of 0 features)
        return addmm(bias, flat, wt).view(*input.shape[:-1], weight.shape[0])
    out = input.matmul(wt)
    return out.add_(bias) if bias is not None else out


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y_k = x1ᵀ W_k x2 + b_k`` over matching leading dims (torch's checks in its order)."""
    dts = [("input1", input1), ("input2", input2), ("weight", weight)] + ([("bias", bias)] if bias is not None else [])
    if any(t._dtype is not input1._dtype for _, t in dts):
        raise RuntimeError("All tensors must have the same dtype, got " +
                           ", ".join(f"{name}: {_cpp_name(t._dtype)}" for name, t in dts))
    if input1.dim() != input2.dim():
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.dim()} and {input2.dim()}")
    for i, (a, b) in enumerate(zip(input1.shape[:-1], input2.shape[:-1], strict=True)):
        if a != b:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {i}: got {a} and {b}")
    out_f, in1 = weight.size(0), weight.size(1)
    if input1.size(-1) != in1:
        raise RuntimeError(
            f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} but expected {in1}"
        )
    if input2.shape[-1] != (in2 := weight.size(2)):
        raise RuntimeError(
            f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} but expected {in2}"
        )
    if bias is not None and bias.size(0) != out_f:
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {bias.shape[0]} but expected "
                           f"{out_f}")
    lead = input1.shape[:-1]

    def trilinear(x1: Tensor, w: Tensor, x2: Tensor) -> Tensor:
        t = x1.mm(w.permute(1, 0, 2).reshape(in1, out_f * in2)).view(-1, out_f, in2)
        return (t * x2.unsqueeze(1)).sum(-1)
    # torch's graph: one _trilinear node over 2-d views, the result viewed back, then the bias added
    y = composed("TrilinearBackward0", trilinear, input1.reshape(-1, in1), weight, input2.reshape(-1, in2))
    y = y.view(*lead, out_f)
    return y + bias if bias is not None else y


# ---- dropout -------------------------------------------------------------------------------------
def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout(input: Tensor, p: float, training: bool, inplace: bool, alpha: bool, feature: bool) -> Tensor:
    """torch's dropout recipe (same random stream): keep mask ``bernoulli_(1 - p)``, rescaled in the input
    dtype; the alpha variants also shift dropped units to keep mean and variance."""
    _check_p(p)
    if input.numel() == 0 or p == 0 or not training:   # (numel first: a non-tensor raises, as for torch)
        return input
    if p == 1:
        return input.mul_(0) if inplace else input * zeros((), dtype=input.dtype, device=input.device)
    if feature:
        if input.dim() < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        noise = empty(*input.shape[:2], *([1] * (input.dim() - 2)), dtype=input.dtype, device=input.device)
    else:
        noise = empty_like(input)
    noise.bernoulli_(1 - p)
    if alpha:
        a_ = 1.7580993408473766
        a = 1.0 / math.sqrt((a_ * a_ * p + 1) * (1 - p))
        b = noise.add(-1).mul_(a_ * a).add_(a_ * a * p)
        noise.mul_(a)
        return (input.mul_(noise) if inplace else input * noise).add_(b)
    noise.div_(1 - p)
    return input.mul_(noise) if inplace else input * noise


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (training only)."""
    return _dropout(input, p, training, inplace, alpha=False, feature=False)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout that keeps SELU's zero mean / unit variance."""
    return _dropout(input, p, training, inplace, alpha=True, feature=False)


def feature_alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    return _dropout(input, p, training, inplace, alpha=True, feature=True)


def _channel_dropout(input: Tensor, p: float, training: bool, inplace: bool, dims: int) -> Tensor:
    """dropout{1,2,3}d: zero whole channels. An unbatched input gets a batch dim for the mask, except in
    dropout2d, which (as torch, with a warning) takes a 3-d input as (N, C, L); dropout2d/3d only warn about
    other ranks."""
    _check_p(p)
    d = input.dim()
    if d not in (dims + 1, dims + 2):
        if dims == 1:
            raise RuntimeError(
                f"dropout1d: Expected 2D or 3D input, but received a {d}D input. Note that dropout1d exists to "
                "provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, and an "
                "optional batch dimension (i.e. 2D or 3D inputs).")
        warn(f"dropout{dims}d: Received a {d}-D input to dropout{dims}d, which is deprecated and will "
             "result in an error in a future release. To retain the behavior and silence this warning, "
             f"please use dropout instead. Note that dropout{dims}d exists to provide channel-wise dropout "
             f"on inputs with {dims} spatial dimensions, a channel dimension, and an optional batch "
             f"dimension (i.e. {dims + 1}D or {dims + 2}D inputs).", stacklevel=3)
    if dims == 2 and d == 3:
        warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
             "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
             "This behavior will change in a future release to interpret the input as one without a "
             "batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, "
             "please switch to using dropout1d instead.", stacklevel=3)
    batched = dims == 2 or d == dims + 2
    out = _dropout(input if batched else input.unsqueeze(0), p, training, inplace, alpha=False, feature=True)
    return out if batched else input if inplace else out.squeeze(0)   # in place: torch returns the input


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    return _channel_dropout(input, p, training, inplace, 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    return _channel_dropout(input, p, training, inplace, 2)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    return _channel_dropout(input, p, training, inplace, 3)


# ---- embeddings ----------------------------------------------------------------------------------
class EmbeddingBackward0(Node):
    """Rows of the weight gradient accumulate the gradients of every lookup of that row."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (idx,) = self.saved
        num, dim = self.weight_shape
        if self.sparse:   # sparse COO gradient (ember.sparse)
            from ...sparse._coo import embedding_grad
            return (embedding_grad(idx, g, num, self.padding_idx, self.scale_grad_by_freq),)
        flat = idx.reshape(-1)
        gf = g.reshape(-1, dim)
        if self.scale_grad_by_freq:
            counts = xp(g).bincount(flat._data, minlength=num)
            gf = gf / result(counts[flat._data], g).unsqueeze(1)
        if self.padding_idx is not None:
            gf = gf * (flat != self.padding_idx).unsqueeze(1)
        return (index_put(zeros(num, dim, dtype=g.dtype, device=g.device), (flat,), gf, accumulate=True),)


def _check_index_dtype(input: Tensor, op: str) -> None:
    if input.dtype not in (D.int64, D.int32):
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: "
            f"Long, Int; but got {type_string(input.dtype)} instead (while checking arguments for {op})"
        )


def _check_indices(input: Tensor, num: int) -> None:
    _check_index_dtype(input, "embedding")
    a = input._data
    if a.size:
        check_on_device(xp(input), (a.min() < 0) | (a.max() >= num), lambda: IndexError("index out of range in self"))


def _check_bag_indices(input: Tensor, num: int, mode: str) -> None:
    """embedding_bag's index checks, with torch's texts (its max kernel words them differently)."""
    _check_index_dtype(input, "embedding_bag")
    a = to_host(input._data).reshape(-1)
    bad = np.flatnonzero((a < 0) | (a >= num))
    if bad.size:
        i = int(bad[0])
        if mode == "max":
            raise RuntimeError(f"embedding_bag: Expected idx >= 0 && idx < num_embeddings but found idx to be {a[i]}")
        raise RuntimeError(f"Index {i} of input takes value {a[i]} which is not in the valid range [0, {num})")


def _renorm_rows(weight: Tensor, input: Tensor, max_norm: float, norm_type: float) -> None:
    """``embedding_renorm_``: rescale (in place) the looked-up rows whose norm exceeds ``max_norm``."""
    ns = xp(weight)
    rows = ns.unique(input._data.reshape(-1))
    w = weight._data
    sub = w[rows].astype(np.float64)
    norms = (ns.abs(sub) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = ns.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    w[rows] = (sub * scale[:, None]).astype(w.dtype)
    weight._vc[0] += 1


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` selected by the integer ``input``; the padding row receives no gradient."""
    num = weight.shape[0]
    if padding_idx is not None:
        if padding_idx > 0 and padding_idx >= num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            if padding_idx < -num:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx += num
    _check_indices(input, num)
    if max_norm is not None:
        with no_grad():
            _renorm_rows(weight, input, max_norm, norm_type)
    out = result(xp(weight).take(weight._data, input._data, axis=0), weight)
    return fused(
        out,
        EmbeddingBackward0,
        (weight,),
        (input,),
        weight_shape=tuple(weight.shape),
        padding_idx=padding_idx,
        scale_grad_by_freq=scale_grad_by_freq,
        sparse=sparse,
    )


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """Sums, means or maxima of bags of embeddings: rows of a 2-d ``input``, or ``offsets`` into a 1-d one."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, but got {mode}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
            "on GitHub."
        )
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                "fixed length sequences. However, found offsets of type "
                f"{type(offsets).__name__}"
            )
        n, length = input.shape
        bounds = [(i * length, (i + 1) * length) for i in range(n)]
        input = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        starts = [int(o) for o in offsets.tolist()]
        n = input.numel()
        if include_last_offset and not starts:
            raise RuntimeError("include_last_offset: number of offset should be at least 1")
        if starts and starts[0] != 0:
            raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
                               f"from position 0. However, got {starts[0]}\n[ {offsets.type()}{{}} ]")
        if starts and starts[-1] > n:
            raise RuntimeError(f"offsets[-1] can not be greater than input's length {n} but got offsets[-1] of "
                               f"{starts[-1]}")
        if include_last_offset:
            starts = starts[:-1]
        bounds = list(zip(starts, starts[1:] + [n], strict=False))
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    if not weight.dtype.is_floating_point:
        raise RuntimeError("Expected tensor for argument #1 'weight' to have one of the following scalar types: Half, "
                           f"BFloat16, Float, Double; but got {type_string(weight.dtype)} instead (while checking "
                           "arguments for embedding_bag)")
    if per_sample_weights is not None and per_sample_weights.dtype is not weight.dtype:
        raise RuntimeError("Expected tensor for argument #1 'weight' to have the same type as tensor for argument #1 "
                           f"'per_sample_weights'; but type {type_string(weight.dtype)} does not equal "
                           f"{type_string(per_sample_weights.dtype)} (while checking arguments for embedding_bag)")
    _check_bag_indices(input, weight.shape[0], mode)
    if max_norm is not None:
        with no_grad():
            _renorm_rows(weight, input, max_norm, norm_type)
    if sparse and mode == "max":
        raise ValueError("max mode does not support sparse weights")
    fn = _bag_fn(input, bounds, padding_idx, mode, scale_grad_by_freq, sparse)
    return composed("EmbeddingBagBackward0", fn, weight, per_sample_weights, twice={
        0: lambda g, node: tie(g, node, "EmbeddingBagBackwardBackward0", (1,), (
            NotImplementedError, "the derivative for '_embedding_bag_backward' is not implemented.")),
        1: no_derivative("_embedding_bag_per_sample_weights_backward")})


def _first_max(rows: Tensor) -> Tensor:
    """The column maxima of ``rows``, each taken from its first maximal row (torch's max bags: the gradient goes
    there alone)."""
    return rows.gather(0, rows.detach().argmax(0, keepdim=True)).squeeze(0)


def _bag_fn(input: Tensor, bounds: list[tuple[int, int]], padding_idx: int | None, mode: str, scale: bool,
            sparse: bool = False):
    """embedding_bag's value as ember ops of ``(weight, per_sample_weights)``."""
    keep = [i for i, v in enumerate(input.tolist()) if v != padding_idx]
    keep_set = set(keep)

    def fn(weight: Tensor, per_sample_weights: Tensor | None) -> Tensor:
        rows = embedding(input, weight, padding_idx if sparse else None, None, 2.0, scale, sparse)
        if mode == "max":
            empty = weight[:0].sum(0)   # an empty bag's zeros, in the graph (all bags empty: still differentiable)
            return stack([_first_max(rows[members]) if members else empty
                          for members in ([i for i in range(s, e) if i in keep_set] for s, e in bounds)])
        coef = np.zeros((len(bounds), input.numel()))
        for b, (s, e) in enumerate(bounds):
            members = [i for i in range(s, e) if i in keep_set]
            for i in members:
                coef[b, i] = 1.0 / len(members) if mode == "mean" else 1.0
        mix = result(coef, weight)
        if per_sample_weights is not None:
            mix = mix * per_sample_weights
        return mix.mm(rows)

    return fn


# ---- normalisation -------------------------------------------------------------------------------
def _norm_dims(input: Tensor, normalized_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(normalized_shape) if not isinstance(normalized_shape, int) else (normalized_shape,)
    k = len(shape)
    if k == 0 or input.dim() < k or tuple(input.shape[input.dim() - k :]) != shape:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(map(str, shape))}], but got input of size{list(input.shape)}"
        )
    return tuple(range(input.dim() - k, input.dim()))


def _layer_norm_graph(node: Node, g: Tensor, x: Tensor, w: Tensor | None) -> tuple:
    """layer_norm's gradients in ember ops (for ``create_graph``): statistics are recomputed from ``x`` so the
    result differentiates again, through them too."""
    dims, eps = node.dims, node.eps
    mean = x.mean(dims, keepdim=True)
    xc = x - mean
    rstd = ((xc * xc).mean(dims, keepdim=True) + eps).rsqrt()
    xhat = xc * rstd
    gx = gw = gb = None
    batch = tuple(range(x.dim() - len(dims)))
    if node._next[0] is not None:
        gh = g * w if w is not None else g
        gx = rstd * (gh - gh.mean(dims, keepdim=True) - xhat * (gh * xhat).mean(dims, keepdim=True))
    if node._next[1] is not None:
        gw = (g * xhat).sum(batch) if batch else g * xhat
    if node._next[2] is not None:
        gb = g.sum(batch) if batch else g
    return gx, gw, gb


_BLOCK = 1 << 17   # elements per block of rows: a block's passes stay in the CPU's L2 cache (~2x faster)


def _row_blocks(ns: object, m: int, n: int) -> range:
    """Starts of the row blocks covering an ``(m, n)`` array: cache-sized on the CPU, one block on a GPU."""
    return range(0, m, max(m, 1) if ns is not np else max(1, _BLOCK // max(n, 1)))


def _tiled(ns: object, v: np.ndarray | None, rows: int) -> np.ndarray | None:
    """The row vector ``v`` repeated as ``rows`` contiguous rows on the CPU (a block times it runs ~2x faster
    than broadcasting ``v``: NumPy's loop over a broadcast row is slow); ``v`` itself on a GPU."""
    return v if v is None or ns is not np else np.ascontiguousarray(np.broadcast_to(v, (rows, v.shape[-1])))


def _row_dots(ns: object, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The dot products of the rows of two 2-d arrays: on the CPU NumPy's ``vecdot`` (a BLAS dot per row, ~30%
    faster than ``einsum``; rows up to 8192 long, which BLAS does not split over threads of its own)."""
    if ns is np and a.shape[1] <= 8192 and hasattr(np, "vecdot"):   # NumPy 2
        return np.vecdot(a, b)
    return ns.einsum("ij,ij->i", a, b)


def _layer_norm_arrays(node: Node, g: Tensor, x: Tensor, w: Tensor | None) -> tuple:
    """The same gradients by array math on an ``(M, N)`` view, from the forward's mean and 1/std, a block of
    rows at a time. With ``xc = x - mean``, ``r = 1/std`` and ``gh = g·w``:
    ``gx = r·(gh - mean(gh) - xc·r²·mean(gh·xc))``, ``gw = Σ_rows r·(g·xc)``, ``gb = Σ_rows g``."""
    ns = xp(x)
    m, n = node.mean.shape[0], node.n
    a = compute_array(x).reshape(m, n)
    g2 = compute_array(g).reshape(m, n)
    want_x, want_w, want_b = (e is not None for e in node._next)
    wa = compute_array(w).reshape(-1) if w is not None else None
    gx = ns.empty((m, n), a.dtype) if want_x else None
    rows = _row_blocks(ns, m, n)
    k = min(rows.step, m)
    wt = _tiled(ns, wa, k) if want_x else None
    partial: dict[int, tuple] = {}   # per part of the rows (one per thread): its (gw, gb) sums

    def part(lo: int, hi: int) -> None:
        xc, tmp = ns.empty((k, n), a.dtype), ns.empty((k, n), a.dtype)
        pw = ns.zeros(n, a.dtype) if want_w else None
        pb = ns.zeros(n, a.dtype) if want_b else None
        for i in range(lo, hi, rows.step):
            j = min(i + rows.step, hi)
            gk, rk, xk, tk = g2[i:j], node.rstd[i:j], xc[: j - i], tmp[: j - i]
            ns.subtract(a[i:j], node.mean[i:j], out=xk)
            if want_b:
                pb += ns.einsum("ij->j", gk)
            if want_w:
                ns.multiply(gk, xk, out=tk)
                pw += ns.einsum("i,ij->j", rk[:, 0], tk)
            if want_x:
                gh = gk if wt is None else ns.multiply(gk, wt if wt.ndim == 1 else wt[: j - i], out=tk)
                s1 = ns.einsum("ij->i", gh)[:, None]
                s2 = _row_dots(ns, gh, xk)[:, None]
                s2 *= rk
                s2 *= rk
                s2 /= -max(n, 1)
                s1 /= -max(n, 1)
                gxk = ns.multiply(xk, s2, out=gx[i:j])       # r·(gh - s1/n - xc·r²·s2/n)
                gxk += gh
                gxk += s1
                gxk *= rk
        partial[lo] = (pw, pb)

    split_rows(ns, m, n, part)
    sums = [partial[lo] for lo in sorted(partial)]
    gw = functools.reduce(operator.add, (p[0] for p in sums)) if want_w else None
    gb = functools.reduce(operator.add, (p[1] for p in sums)) if want_b else None
    return (result(gx.reshape(x.shape), x) if want_x else None,
            result(gw.reshape(w.shape), w) if want_w else None,
            result(gb.reshape(w.shape if w is not None else x.shape[x.dim() - len(node.dims):]), x)
            if want_b else None)


class NativeLayerNormBackward0(Node):
    """layer_norm: array math from the saved statistics, or ember ops when a graph of the gradient is built."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, w = self.saved
        if not STATE.enabled:
            return _layer_norm_arrays(self, g, x, w)
        grads = _layer_norm_graph(self, g, x, w)   # torch's kernel takes the input and weight (see :func:`tie`)
        return tuple(None if t is None else tie(t, self, "NativeLayerNormBackwardBackward0", (0, 1), undefined=(0, 1))
                     for t in grads)


def layer_norm(
    input: Tensor,
    normalized_shape: Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims (biased variance), then scale and shift; works on
    an ``(M, N)`` view, a block of rows at a time: a row mean, one centring pass, the variance by a row dot, the
    rest in place."""
    from ._normalization import _check_dtypes
    given = [p for p in (weight, bias) if p is not None]
    mixed = bool(given) and given[0].dtype is not input.dtype
    if mixed:   # torch's order: the mixed-dtype rules, the shapes, then the kernel's dtype checks
        _check_dtypes(input, "LayerNormKernelImpl", (weight, bias), (weight, bias))
    if not isinstance(normalized_shape, (tuple, list)):
        raise TypeError(f"layer_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, not "
                        f"{type(normalized_shape).__name__}")
    for i, v in enumerate(normalized_shape):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
            raise TypeError(f"layer_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, but "
                            f"found element of type {type(v).__name__} at pos {i}")
    shape = tuple(int(v) for v in normalized_shape)
    if not shape:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one "
                           "element, but got normalized_shape = []")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                               f"{list(p.shape)} and normalized_shape = {list(shape)}")
    dims = _norm_dims(input, normalized_shape)
    if not mixed:
        _check_dtypes(input, "LayerNormKernelImpl", (weight, bias), (weight, bias))
    ns = xp(input)
    k = input.dim() - len(dims)
    m, n = math.prod(input.shape[:k]), math.prod(input.shape[k:])
    a = compute_array(input).reshape(m, n)
    wa = compute_array(weight).reshape(-1) if weight is not None else None
    ba = compute_array(bias).reshape(-1) if bias is not None else None
    y = ns.empty((m, n), a.dtype)
    mean = ns.empty((m, 1), a.dtype)
    rstd = ns.empty((m, 1), a.dtype)
    rows = _row_blocks(ns, m, n)
    wt, bt = _tiled(ns, wa, min(rows.step, m)), _tiled(ns, ba, min(rows.step, m))

    def part(lo: int, hi: int) -> None:   # the rows of one thread, a cache-sized block at a time
        for i in range(lo, hi, rows.step):
            j = min(i + rows.step, hi)
            ak, yk, mk, rk = a[i:j], y[i:j], mean[i:j], rstd[i:j]
            mk[:, 0] = ns.einsum("ij->i", ak)  # row sums with vector accumulators (~3x faster than .sum)
            mk /= max(n, 1)
            ns.subtract(ak, mk, out=yk)
            rk[:, 0] = _row_dots(ns, yk, yk)
            rk /= n
            rk += eps
            ns.sqrt(rk, out=rk)
            ns.reciprocal(rk, out=rk)
            yk *= rk
            if wt is not None:
                yk *= wt if wt.ndim == 1 else wt[: j - i]
            if bt is not None:
                yk += bt if bt.ndim == 1 else bt[: j - i]

    split_rows(ns, m, n, part)
    out = result(y.reshape(input._data.shape), input)
    return fused(
        out, NativeLayerNormBackward0, (input, weight, bias), (input, weight), dims=dims, eps=eps, n=n,
        mean=mean, rstd=rstd,
    )


def rms_norm(
    input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None, eps: float | None = None
) -> Tensor:
    """x / sqrt(mean(x²) + eps) over the trailing dims, times ``weight``; as torch's composite, 16-bit inputs are
    computed in float32 and each step's result takes the input's dtype."""
    shape = [normalized_shape] if isinstance(normalized_shape, int) else list(normalized_shape)
    if not shape:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one "
                           "element, but got normalized_shape = []")
    if weight is not None and list(weight.shape) != shape:
        raise RuntimeError(f"Expected weight to be of same shape as normalized_shape, but got weight of shape "
                           f"{list(weight.shape)} and normalized_shape = {shape}")
    if input.dim() < len(shape):
        raise ValueError(f"Input tensor must have at least {len(shape)} dimensions, but got {input.dim()}")
    if list(input.shape[input.dim() - len(shape):]) != shape:
        raise RuntimeError(f"Given normalized_shape={shape}, expected input with shape [*{', '.join(map(str, shape))}]"
                           f", but got input of size{list(input.shape)}")
    dims = tuple(range(input.dim() - len(shape), input.dim()))
    dt = input.dtype
    if not dt.is_floating_point:
        raise NotImplementedError(f'"rms_norm" not implemented for \'{dt._short}\'')
    x = input.float() if dt is D.float16 or dt is D.bfloat16 else input
    if eps is None:   # (the compute type's: float32's for 16-bit inputs)
        eps = D.finfo(x.dtype).eps
    y = x * add_scalar(x.pow(2).mean(dims, keepdim=True), eps).rsqrt()
    if weight is not None and weight.dtype is dt:   # torch's one rounding, after the weight
        return (y * weight.to(x.dtype)).to(dt)
    y = y.to(dt)
    if weight is None:
        return y
    if weight.dtype is not dt:
        warn(f"Mismatch dtype between input and weight: input dtype = {_cpp_name(dt)}, weight dtype = "
             f"{_cpp_name(weight.dtype)}, Cannot dispatch to fused implementation.", stacklevel=2)
    return (y * weight).to(dt)


def normalize(
    input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None
) -> Tensor:
    """``input / max(‖input‖_p, eps)`` along ``dim``."""
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    if out is not None:
        from ...ops.elementwise import div

        return div(input, denom, out=out)
    return input / denom


def one_hot(input: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a new last dim of size ``num_classes`` (inferred when -1)."""
    if input.dtype is not D.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    a = input._data
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    if a.size:
        if int(a.min()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if int(a.max()) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    ns = xp(input)
    return result(ns.arange(num_classes) == a[..., None], input, D.int64)


# ---- padding -------------------------------------------------------------------------------------
class ConstantPadNdBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (_constant_pad(g, [-p for p in self.pads], 0.0),)


def _constant_pad(input: Tensor, pads: Sequence[int], value: float) -> Tensor:
    """Pad (or crop, for negative amounts) the trailing dims: ``pads`` = (left_last, right_last, ...)."""
    nd = input.dim()
    shape = list(input.shape)
    src: list[slice] = [slice(None)] * nd
    dst: list[slice] = [slice(None)] * nd
    for i in range(len(pads) // 2):
        d = nd - 1 - i
        lo, hi = pads[2 * i], pads[2 * i + 1]
        n = shape[d]
        new = n + lo + hi
        if n + min(lo, 0) < 0 or n + min(lo, 0) + min(hi, 0) < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        src[d] = slice(max(-lo, 0), n - max(-hi, 0))
        dst[d] = slice(max(lo, 0), new - max(hi, 0))
        shape[d] = new
    arr = full_in(shape, value, input._data.dtype, layout_of(input), xp(input))   # keeps channels-last, as torch
    arr[tuple(dst)] = input._data[tuple(src)]
    out = result(arr, input)
    return fused(out, ConstantPadNdBackward0, (input,), (), pads=tuple(pads))


class _IndexPadBackward(Node):
    """reflect/replicate padding: gradients of repeated source positions add up."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        for d, idx, n in reversed(self.maps):
            moved = g.movedim(d, 0)
            acc = zeros(n, *moved.shape[1:], dtype=g.dtype, device=g.device)
            g = index_put(acc, (result(idx, g, D.int64),), moved, accumulate=True).movedim(0, d)
        return (tie(g, self, type(self).__name__[:-1] + "Backward0"),)


_PAD_NODES: dict[str, type[Node]] = {}


def _pad_node(name: str) -> type[Node]:
    cls = _PAD_NODES.get(name)
    if cls is None:
        cls = _PAD_NODES[name] = type(name, (_IndexPadBackward,), {"__slots__": ()})
    return cls


def _source_index(mode: str, n: int, lo: int, hi: int) -> np.ndarray:
    """For each output position along a padded dim, the input position it copies (reflect, replicate)."""
    j = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    j = np.abs(j)
    return np.where(j > n - 1, 2 * (n - 1) - j, j)


def _circular_pad(input: Tensor, pads: Sequence[int]) -> Tensor:
    """Circular padding as torch composes it (so its graph is torch's chain of CopySlices): the kept input
    copied into the middle of an empty result, then each padded dim's borders copied from the far side."""
    k = len(pads) // 2
    dims = [input.dim() - 1 - i for i in range(k)]
    shape = list(input.shape)
    for i, d in enumerate(dims):
        shape[d] += pads[2 * i] + pads[2 * i + 1]
    out = empty(shape, dtype=input.dtype, device=input.device)
    out_part, in_part = out, input
    for i, d in enumerate(dims):
        lo, hi = pads[2 * i], pads[2 * i + 1]
        out_part = out_part.narrow(d, max(lo, 0), shape[d] - max(lo, 0) - max(hi, 0))
        in_part = in_part.narrow(d, max(-lo, 0), input.shape[d] - max(-lo, 0) - max(-hi, 0))
    out_part.copy_(in_part)
    for i, d in enumerate(dims):
        lo, hi = pads[2 * i], pads[2 * i + 1]
        if lo > 0:
            out.narrow(d, 0, lo).copy_(out.narrow(d, shape[d] - lo - max(hi, 0), lo))
        if hi > 0:
            out.narrow(d, shape[d] - hi, hi).copy_(out.narrow(d, max(lo, 0), hi))
    return out


def _index_pad(input: Tensor, pads: Sequence[int], mode: str) -> Tensor:
    k = len(pads) // 2
    if len(pads) not in (2, 4, 6) or input.dim() not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pads)} is not supported for {input.dim()}D input tensor.\nSupported "
            "combinations for non-constant padding:\n  - 2D or 3D input: padding size = 2 (pads last "
            "dimension)\n  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n  - 4D or 5D input: "
            "padding size = 6 (pads last 3 "
            "dimensions)"
        )
    if mode != "circular" and 0 in input.shape[input.dim() - k - 1:]:
        raise RuntimeError(f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and other "
                           f"non-zero dimensions for input, but got: {list(input.shape)}")
    ns = xp(input)
    fmt = layout_of(input)
    # a channels-last input is indexed in its storage order (N, *spatial, C), which the result keeps
    order = None if fmt is contiguous_format else [0, *range(2, input.dim()), 1]
    arr = input._data if order is None else input._data.transpose(order)
    maps = []
    for i in range(k):
        d = input.dim() - 1 - i
        lo, hi = pads[2 * i], pads[2 * i + 1]
        n = input.shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(
                f"Argument #{4 + 2 * i}: Padding size should be less than the corresponding input dimension, "
                f"but got: padding ({lo}, {hi}) at dimension {d} of input {list(input.shape)}"
            )
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if mode == "circular":
            continue
        idx = _source_index(mode, n, lo, hi)
        arr = ns.take(arr, ns.asarray(idx), axis=d if order is None else order.index(d))
        maps.append((d, idx, n))
    if mode == "circular":
        return _circular_pad(input, pads)
    kind = "Reflection" if mode == "reflect" else "Replication"
    if input.dtype is D.bool or input.dtype in (D.uint16, D.uint32, D.uint64):   # (the kernels' dtypes)
        raise NotImplementedError(f"\"{kind.lower()}_pad{k}d\" not implemented for '{input.dtype._short}'")
    name = f"{kind}Pad{k}DBackward0"
    if order is not None:
        arr = arr.transpose(tuple(np.argsort(order).tolist()))
    return fused(result(dense_in(arr, fmt, ns), input), _pad_node(name), (input,), (), maps=tuple(maps))


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the trailing dims by ``pad`` = (left_last, right_last, left_prev, right_prev, ...)."""
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError(
            f"Padding length should be less than or equal to two times the input dimension but got "
            f"padding length {len(pad)} and input of dimension {input.dim()}"
        )
    if mode == "constant":
        return _constant_pad(input, pad, 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    return _index_pad(input, pad, mode)


# ---- distances -----------------------------------------------------------------------------------
def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Σ x1·x2 / (max(‖x1‖, eps) · max(‖x2‖, eps)) along ``dim``. As torch, the operands are broadcast
    (expanded) first and each norm is clamped on a copy outside autograd: the clamp is not differentiated."""
    from ...linalg import vector_norm
    from ...ops._dispatch import broadcast_error
    common = D.promote_types(x1._dtype, x2._dtype)
    if not common.is_floating_point:
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is {common._short}")
    x1, x2 = (x.to(common) if x._dtype.category < 2 else x for x in (x1, x2))   # integers and bools: cast
    if x1.shape != x2.shape:
        try:
            shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
        except ValueError:
            raise broadcast_error(tuple(x1.shape), tuple(x2.shape)) from None
        x1, x2 = x1.expand(shape), x2.expand(shape)
    n1 = vector_norm(x1, 2, dim, keepdim=True).clone()
    n2 = vector_norm(x2, 2, dim, keepdim=True).clone()
    with no_grad():
        n1.clamp_min_(eps)
        n2.clamp_min_(eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """‖x1 - x2 + eps‖_p along the last dim (recorded as torch's C++ composite: AddBackward1, NormBackward1)."""
    from ...linalg import vector_norm
    shifted = add_scalar(x1 - x2, eps)
    dim = max(x1.dim(), x2.dim()) - 1
    return composed("NormBackward1", lambda d: vector_norm(d, p, dim, keepdim), shifted)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """Distances between all pairs of rows i < j, in row-major order."""
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if input._dtype is D.float16 or input._dtype is D.bfloat16:
        raise NotImplementedError(f'"pdist" not implemented for \'{input._dtype._short}\'')
    if not input._dtype.is_floating_point:
        raise RuntimeError("pdist only supports floating-point dtypes")
    i, j = np.triu_indices(input.shape[0], 1)
    idx_i, idx_j = result(i, input, D.int64), result(j, input, D.int64)

    def grad_form(x: Tensor) -> Tensor:   # for p = inf torch's kernel gives each tied largest |difference| all
        d = (x[idx_i] - x[idx_j]).abs()
        return (d * (d == d.amax(1, keepdim=True))).sum(1)

    return composed("PdistBackward0", lambda x: (x[idx_i] - x[idx_j]).norm(p, 1), input,
                    grad_form=grad_form if math.isinf(p) else None, twice={0: lambda g, node: tie(
                        g, node, "PdistBackwardBackward0", (0,), (NotImplementedError, "the derivative for "
                                                                  "'_pdist_backward' is not implemented."))})
