"""Sorting and searching: sort/argsort/msort/topk, order statistics (kthvalue, median, nanmedian, mode,
quantile), unique, searchsorted/bucketize, and counting (histc, histogram, bincount).

Every sort is stable with NaN as the largest value, as torch's; ops that pick elements return
``torch.return_types.<name>`` and scatter their gradient back to the picked positions.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._core import dtype as D
from ..autograd.grad_mode import STATE
from ._dispatch import (
    NO_DIM,
    Tensor,
    bind,
    given_dim,
    new_tensor,
    no_unsigned_kernel,
    record,
    unimplemented_node,
    wrap_dim,
    write_out,
)
from ._stl_order import (
    _THRESHOLD,
    _depth,
    _insertion_sort,
    _introsort_loop,
    _linear_insert,
    kth_indices,
    mode_indices,
    sort_orders,
    topk_orders,
)
from .reduction import (
    EvenlyDistributeBackward,
    ValueSelectingBackward,
    attach,
    check_named_out,
    empty_check,
    finish,
    laid_out,
    node_class,
    not_implemented,
    return_type,
    scan,
    select_scalar,
    select_with_indices,
    unsupported_dtype,
    xp_for,
)

_isinstance = isinstance


def _sortable(a: Any) -> Any:
    """``a`` as NumPy orders it correctly: bfloat16 (ml_dtypes) as float32, exactly (NumPy's sorts misplace
    its NaNs)."""
    return a.astype(np.float32) if a.dtype == D.bfloat16.np else a


def argsort_array(xp: Any, a: Any, axis: int, descending: bool = False) -> Any:
    """Stable argsort along ``axis`` (NaN largest); descending keeps equal elements in their order."""
    a = _sortable(a)
    kind = "stable" if xp is np else None
    if not descending:
        return xp.argsort(a, axis=axis, kind=kind)
    last = a.shape[axis] - 1
    return last - xp.flip(xp.argsort(xp.flip(a, axis), axis=axis, kind=kind), axis)


def _kept(shape: tuple[int, ...], d: int) -> tuple[int, ...]:
    """``shape`` with dim ``d`` reduced to size 1."""
    return shape[:d] + (1,) + shape[d + 1:]


def _no_complex(input: Tensor, what: str) -> None:
    if input._dtype.is_complex:
        raise RuntimeError(f" {what} does not support complex dtypes on CPU")


# ---- sort / argsort / msort / topk ---------------------------------------------------------------------
SortBackward0 = node_class("SortBackward0", ValueSelectingBackward)
TopkBackward0 = node_class("TopkBackward0", ValueSelectingBackward)


def _sorted_along(input: Tensor, dim: int, descending: bool, k: int | None = None,
                  stable: bool = True) -> tuple[Any, Any, int]:
    """(values, indices, dim) of ``input`` sorted along ``dim``, keeping the first ``k`` when given; equal
    values in torch's CPU ``std::sort`` order unless ``stable``."""
    a = input._data
    xp = xp_for(input)
    d = wrap_dim(dim, a.ndim)
    if not a.ndim:
        return a.copy(), xp.zeros((), np.int64), d
    idx = argsort_array(xp, a, d, descending)
    if not stable and xp is np:
        _std_sort_order(a, idx, d)
    if k is not None:
        idx = idx[(slice(None),) * d + (slice(0, k),)]
    return xp.take_along_axis(a, idx, axis=d), idx, d


_SORT_REPLAY = 2048   # elements: larger sorts with ties keep the stable order (a replay costs ~1 µs/element)


def _std_sort_order(a: np.ndarray, idx: np.ndarray, d: int) -> None:
    """Rearrange the stable order ``idx`` along ``d`` of ``a`` into torch's unstable CPU sort's: slices longer
    than 16 holding equal values (all NaNs equal) go through ``std::sort``'s introsort, whose partitions move
    them; shorter ones are insertion-sorted, stable. The replay runs in Python, so only while the slices with
    ties hold ``_SORT_REPLAY`` elements in all; beyond, equal values keep their stable order, one of those an
    unstable sort may give (and the one torch's radix sort of 32768 or more integers gives)."""
    n = a.shape[d]
    if not _THRESHOLD < n <= _SORT_REPLAY:
        return

    def tied(rows: np.ndarray, orders: np.ndarray) -> np.ndarray:
        has = _ties(np.take_along_axis(rows, orders, 1)).any(1)
        return has if np.count_nonzero(has) * n <= _SORT_REPLAY else np.zeros_like(has)

    _replay_rows(a, idx, idx, d, tied, lambda rank, _: sort_orders(rank))


def _stable_overload(fn: Callable) -> Callable:
    """``fn`` refusing, as torch's bindings, ``stable=`` with a positional ``dim``/``descending``: its overload
    taking ``stable`` has only keywords after ``input``."""
    @functools.wraps(fn)
    def checked(input: Tensor, *args: Any, **kwargs: Any) -> Any:
        if args and "stable" in kwargs:
            got = ", ".join([type(a).__name__ for a in args] + [f"{k}={type(v).__name__}" for k, v in kwargs.items()])
            raise TypeError(f"{fn.__name__}() received an invalid combination of arguments - got ({got}), but "
                            "expected one of:\n * (*, bool stable, int dim = -1, bool descending = False)\n"
                            " * (int dim = -1, bool descending = False)\n")
        return fn(input, *args, **kwargs)
    return checked


@_stable_overload
def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool | None = False,
         out: Any = None) -> Any:
    """Values and indices sorted along ``dim`` (always stable; NaN sorts as the largest)."""
    if input._dtype.kind:
        unsupported_dtype("sorting_kernel_method_name", input)
    wrap_dim(dim, input.ndim)   # torch checks dim first
    _no_complex(input, "Sort")
    values, idx, d = _sorted_along(input, dim, descending, stable=bool(stable))
    return select_with_indices("sort", input, values, idx, d, True, SortBackward0, out, keep_layout=True)


@_stable_overload
def argsort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool | None = False,
            out: Tensor | None = None) -> Tensor:
    """Indices that sort ``input`` along ``dim`` (stable)."""
    if input._dtype.kind:
        unsupported_dtype("sorting_kernel_method_name", input)
    wrap_dim(dim, input.ndim)   # torch checks dim first
    _no_complex(input, "Sort")
    _, idx, _ = _sorted_along(input, dim, descending, stable=bool(stable))
    res = new_tensor(laid_out(idx.astype(np.int64, copy=False), input, True), D.int64,
                     input._device)
    return res if out is None else write_out(out, res)


def msort(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``input`` sorted along its first dim."""
    if input._dtype.kind:
        unsupported_dtype("sorting_kernel_method_name", input)
    return finish(sort(input, 0).values, out)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *,
         out: Any = None) -> Any:
    """The ``k`` largest (smallest) elements along ``dim`` with their indices; on the CPU picked and ordered as
    torch's CPU kernel does (which of equal values, and the order when not ``sorted``)."""
    if input._dtype.few:
        unsupported_dtype("topk_cpu", input)
    a = input._data
    d = wrap_dim(dim, a.ndim)
    if not 0 <= k <= (a.shape[d] if a.ndim else 1):
        raise RuntimeError("selected index k out of range")
    _no_complex(input, "topk")
    if input._dtype is D.bool:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    if a.ndim and k and xp_for(input) is np:
        keys = a.astype(np.float32) if a.dtype.kind == "V" else a  # NumPy mis-sorts ml_dtypes' bfloat16
        idx = _stl_topk_indices(keys, d, k, largest, sorted)
        values = np.take_along_axis(a, idx, axis=d)
    else:
        values, idx, d = _sorted_along(input, d, largest, k)
    return select_with_indices("topk", input, values, idx, d, True, TopkBackward0, out)


def _ties(s: np.ndarray) -> np.ndarray:
    """Whether each neighbour pair along the last axis of sorted ``s`` is equal (NaNs equal each other)."""
    tie = s[..., 1:] == s[..., :-1]
    if D.holds_nan(s.dtype):
        tie |= np.isnan(s[..., 1:]) & np.isnan(s[..., :-1])
    return tie


def _stl_topk_indices(a: np.ndarray, d: int, k: int, largest: bool, sorted: bool) -> Any:
    """The indices torch's CPU topk picks along ``d`` of ``a`` (NumPy-sortable).

    torch selects with libstdc++'s unstable partial_sort / nth_element, so equal values (all NaNs are equal)
    come out in the order their swaps leave them, and an unsorted nth_element result in a scrambled order.
    The stable order's best ``k`` are right for slices where neither can happen (no ties among the best
    ``k + 1``, which then are the only elements of their values; found by partitioning when ``k`` is small);
    the others are replayed by ``_stl_order``.
    """
    n = a.shape[d]
    rows = np.moveaxis(a, d, -1).reshape(-1, n)
    scrambled = not sorted and 1 < k and 64 * k > n
    orders = None
    if scrambled or 4 * (k + 1) >= n:
        orders = argsort_array(np, rows, 1, largest)
        best = orders[:, :k + 1]
    else:
        best = np.argpartition(rows, n - k - 1 if largest else k, axis=1)
        best = best[:, n - k - 1:] if largest else best[:, :k + 1]
        by_value = np.argsort(np.take_along_axis(rows, best, 1), axis=1, kind="stable")  # NaN last
        best = np.take_along_axis(best, by_value[:, ::-1] if largest else by_value, 1)
    idx = best[:, :k].copy()
    sel = np.flatnonzero(np.ones(len(rows), bool) if scrambled
                         else _ties(np.take_along_axis(rows, best, 1)).any(1))
    if len(sel):
        sub = rows[sel]
        idx[sel] = topk_orders(_dense_ranks(sub, argsort_array(np, sub, 1, largest) if orders is None
                                            else orders[sel]), k, sorted)
    return np.moveaxis(idx.reshape(a.shape[:d] + a.shape[d + 1:] + (k,)), -1, d)


# ---- kthvalue / median / nanmedian / mode ---------------------------------------------------------------
KthvalueBackward0 = node_class("KthvalueBackward0", ValueSelectingBackward)
MedianBackward1 = node_class("MedianBackward1", ValueSelectingBackward)
NanmedianBackward1 = node_class("NanmedianBackward1", ValueSelectingBackward)
ModeBackward0 = node_class("ModeBackward0", ValueSelectingBackward)
MedianBackward0 = node_class("MedianBackward0", EvenlyDistributeBackward)
NanmedianBackward0 = node_class("NanmedianBackward0", EvenlyDistributeBackward)


def _pick(xp: Any, a: Any, order: Any, pos: Any, d: int, keepdim: bool) -> tuple[Any, Any]:
    """Values and original indices at sorted positions ``pos`` (shaped like ``a`` with ``d`` of size 1)."""
    idx = xp.take_along_axis(order, pos, axis=d)
    values = xp.take_along_axis(a, idx, axis=d)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return values, idx


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False, *, out: Any = None) -> Any:
    """The ``k``-th smallest element along ``dim`` and its index."""
    if input._dtype.few:
        unsupported_dtype("kthvalue_cpu", input)
    a = input._data
    xp = xp_for(input)
    d = wrap_dim(dim, a.ndim)
    if a.ndim:
        empty_check("kthvalue()", a, (d,))
    if not 1 <= k <= (a.shape[d] if a.ndim else 1):
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    check_named_out("kthvalue", (input._dtype, D.int64), out)
    if not a.ndim:
        return select_scalar("kthvalue", input, KthvalueBackward0, out)
    if input._dtype is D.bool or input._dtype.is_complex:
        raise not_implemented("kthvalue_cpu", input._dtype)
    order = argsort_array(xp, a, d)
    pos = xp.full(_kept(a.shape, d), k - 1, np.int64)
    if xp is np:
        idx = np.take_along_axis(order, pos, axis=d)
        near = slice(max(k - 2, 0), k + 1)
        _replay_rows(a, order, idx, d, lambda rows, orders: _ties(np.take_along_axis(rows, orders[:, near], 1)).any(1),
                     lambda rank, _: kth_indices(rank, k - 1))
        values = np.take_along_axis(a, idx, axis=d)
        if not keepdim:
            values, idx = values.squeeze(d), idx.squeeze(d)
    else:
        values, idx = _pick(xp, a, order, pos, d, keepdim)
    return select_with_indices("kthvalue", input, values, idx, d, keepdim, KthvalueBackward0, out)


def _dense_ranks(rows: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """Each element's rank in its row's stable sort ``orders``, equal values (all NaNs) sharing one: 0, 1, ..."""
    rank = np.empty(rows.shape, np.int64)
    s = np.take_along_axis(rows, orders, 1)
    np.put_along_axis(rank, orders, np.concatenate((np.zeros((len(rows), 1), np.int64),
                                                    np.cumsum(~_ties(s), 1)), 1), 1)
    return rank


def _replay_rows(a: np.ndarray, order: np.ndarray, idx: np.ndarray, d: int, need: Any, pick: Any) -> None:
    """Overwrite ``idx`` (shaped like ``a`` but for ``d``) along ``d`` with ``pick(ranks, rows)`` for the slices
    along ``d`` that ``need(rows, orders)`` selects (slices and their stable argsorts as rows), ``ranks`` being
    their :func:`_dense_ranks`, one row each."""
    n, w = a.shape[d], idx.shape[d]
    rows = np.moveaxis(a, d, -1).reshape(-1, n)
    orders = np.moveaxis(order, d, -1).reshape(-1, n)
    sel = np.flatnonzero(need(rows, orders))
    if not len(sel):
        return
    out = np.moveaxis(idx, d, -1).reshape(-1, w)
    out[sel] = pick(_dense_ranks(rows[sel], orders[sel]), rows[sel]).reshape(len(sel), w)
    idx[...] = np.moveaxis(out.reshape(idx.shape[:d] + idx.shape[d + 1:] + (w,)), -1, d)


def _median_arrays(xp: Any, a: Any, d: int, keepdim: bool, ignore_nan: bool) -> tuple[Any, Any]:
    """Lower median along ``d`` and its index; NaN wins (first NaN) unless ``ignore_nan``."""
    order = argsort_array(xp, a, d)
    n = a.shape[d]
    if not D.holds_nan(a.dtype):
        return _pick(xp, a, order, xp.full(_kept(a.shape, d), (n - 1) // 2, np.int64), d, keepdim)
    nan = xp.isnan(a)
    count = n - nan.sum(axis=d, keepdims=True) if ignore_nan else xp.full(_kept(a.shape, d), n)
    pos = xp.maximum((count - 1) // 2, 0).astype(np.int64)
    values, idx = _pick(xp, a, order, pos, d, keepdim)
    if not ignore_nan:
        has_nan = nan.any(axis=d, keepdims=keepdim)
        idx = xp.where(has_nan, xp.argmax(nan, axis=d, keepdims=keepdim), idx)
        values = xp.where(has_nan, xp.asarray(np.nan, a.dtype), values)
    return values, idx


def _median(name: str, input: Tensor, dim: Any, keepdim: bool, out: Any) -> Any:
    if input._dtype.few:
        unsupported_dtype("median_cpu" if dim is None else "median_out", input)
    a = input._data
    xp = xp_for(input)
    if dim is None and not a.size:   # NaN, converted to the dtype as torch does (before any dtype check)
        return finish(new_tensor(xp.asarray(np.nan).astype(a.dtype), input._dtype, input._device), out)
    d = None if dim is None else wrap_dim(dim, a.ndim)   # (dim and size before the dtype)
    if a.ndim and d is not None:
        empty_check("median()", a, (d,))
    if d is not None:
        check_named_out(name, (input._dtype, D.int64), out)
    if input._dtype is D.bool or input._dtype.is_complex:
        raise not_implemented("median_cpu" if dim is None else "median_out", input._dtype)
    ignore_nan = name == "nanmedian"
    if d is None:
        values, _ = _median_arrays(xp, a.reshape(-1), 0, False, ignore_nan)
        res = new_tensor(values, input._dtype, input._device)
        cls = NanmedianBackward0 if ignore_nan else MedianBackward0
        return finish(attach(res, input, cls, True, True), out)
    cls = NanmedianBackward1 if ignore_nan else MedianBackward1
    if not a.ndim:
        return select_scalar(name, input, cls, out)
    values, idx = _median_arrays(xp, a, d, keepdim, ignore_nan)
    return select_with_indices(name, input, values, idx, d, keepdim, cls, out)


def median(input: Tensor, dim: Any = NO_DIM, keepdim: bool = False, *, out: Any = None) -> Any:
    """Lower median of all elements (0-d, NaN if any), or ``(values, indices)`` along ``dim``."""
    return _median("median", input, given_dim("median", dim), keepdim, out)


def nanmedian(input: Tensor, dim: Any = NO_DIM, keepdim: bool = False, *, out: Any = None) -> Any:
    """Median ignoring NaN (NaN only where everything is NaN)."""
    return _median("nanmedian", input, given_dim("nanmedian", dim), keepdim, out)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False, *, out: Any = None) -> Any:
    """Most frequent value along ``dim`` (the smallest on ties) and the index of its last occurrence."""
    if input._dtype.few:
        unsupported_dtype("mode_cpu", input)
    check_named_out("mode", (input._dtype, D.int64), out)
    a = input._data
    xp = xp_for(input)
    d = wrap_dim(dim, a.ndim)
    if not a.ndim:
        return select_scalar("mode", input, ModeBackward0, out)
    empty_check("mode()", a, (d,))
    if input._dtype.is_complex and a.size:
        raise not_implemented("mode_cpu", input._dtype)
    order = argsort_array(xp, a, d)
    s = xp.take_along_axis(a, order, axis=d)
    n = a.shape[d]
    head = (slice(None),) * d
    starts = xp.ones(a.shape, bool)
    starts[head + (slice(1, None),)] = s[head + (slice(1, None),)] != s[head + (slice(0, n - 1),)]
    pos = xp.arange(n).reshape((-1,) + (1,) * (a.ndim - d - 1))
    run_length = pos - scan(xp, xp.maximum, xp.where(starts, pos, 0), d) + 1
    best = xp.argmax(run_length, axis=d, keepdims=True)
    if xp is np:
        idx = np.take_along_axis(order, best, axis=d)
        _replay_rows(a, order, idx, d, _mode_ties, _mode_indices)
        values = np.take_along_axis(a, idx, axis=d)
        if not keepdim:
            values, idx = values.squeeze(d), idx.squeeze(d)
    else:
        values, idx = _pick(xp, a, order, best, d, keepdim)
    return select_with_indices("mode", input, values, idx, d, keepdim, ModeBackward0, out)


def _mode_ties(rows: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """Rows where std::sort may leave another copy of the modal value last than the stable sort does: rows
    longer than 16 (shorter ones are insertion sorted, stably) whose values repeat, and rows with NaN (which
    its ``<`` cannot order)."""
    s = np.take_along_axis(rows, orders, 1)
    need = _ties(s).any(1) & (rows.shape[1] > _THRESHOLD)
    return need | np.isnan(s).any(1) if D.holds_nan(s.dtype) else need


def _mode_indices(rank: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The indices torch's CPU mode reports for these rows (``rank`` their dense ranks): replayed on the ranks
    for all rows at once, on the values themselves one by one for rows with NaN."""
    nan = np.isnan(rows).any(1) if D.holds_nan(rows.dtype) else np.zeros(len(rows), bool)
    out = np.empty(len(rows), np.int64)
    if not nan.all():
        out[~nan] = mode_indices(rank[~nan])
    for r in np.flatnonzero(nan):
        out[r] = _nan_mode_index(rows[r].astype(np.float64).tolist())
    return out


def _std_sort(kv: list[Any]) -> list[int]:
    """The permutation libstdc++'s std::sort leaves of ``kv`` (compared with their ``<``, even when that orders
    nothing, as C's for NaN): introsort, then the insertion sort, unguarded past the first 16."""
    n = len(kv)
    a = list(range(n))
    _introsort_loop(a, kv, 0, n, _depth(n))
    _insertion_sort(a, kv, 0, min(n, _THRESHOLD))
    for i in range(_THRESHOLD, n):
        _linear_insert(a, kv, i)
    return a


class _RowKey:
    """A slice as torch's unique(dim=) compares them in std::sort: the first element where one is ``<`` the
    other decides, and NaN, neither, passes on to the next."""

    __slots__ = ("row",)

    def __init__(self, row: list[float]) -> None:
        self.row = row

    def __lt__(self, other: _RowKey) -> bool:
        for x, y in zip(self.row, other.row, strict=True):
            if x < y:
                return True
            if x > y:
                return False
        return False


def _nan_mode_index(kv: list[float]) -> int:
    """:func:`mode_indices` for a slice holding NaN: libstdc++'s std::sort replayed with C's ``<`` (NaN is
    unordered, so runs of a value may split), its final insertion sort unguarded past the first 16, then
    torch's scan for the first strictly longest run of ``==`` values."""
    n = len(kv)
    a = _std_sort(kv)
    best, run, most = 0, 0, 0
    for p in range(n):
        run += 1
        if p == n - 1 or kv[a[p]] != kv[a[p + 1]]:
            if run > most:
                best, most = a[p], run
            run = 0
    return best


# ---- quantile / nanquantile ------------------------------------------------------------------------------
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(name: str, input: Tensor, q: Any, dim: int | None, keepdim: bool, interpolation: str,
              out: Tensor | None) -> Tensor:
    """Quantiles from the sorted values, composed as torch composes them (sort, view, gather, in-place lerp,
    squeeze), so gradients flow to the one or two elements each quantile interpolates and the graph is
    torch's."""
    if not _isinstance(q, Tensor):
        if not _isinstance(q, (int, float)):
            sig = "(Tensor input, {} q, int dim = None, bool keepdim = False, *, str interpolation = \"linear\", " \
                  "Tensor out = None)"
            raise TypeError(f"{name}() received an invalid combination of arguments - got (Tensor, "
                            f"{type(q).__name__}), but expected one of:\n * {sig.format('Tensor')}\n * "
                            f"{sig.format('float')}\n")
        if not 0 <= q <= 1:
            raise RuntimeError(f"quantile() q must be in the range [0, 1] but got {q}")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError("quantile() interpolation must be one of linear, lower, higher, midpoint or "
                           f"nearest, but got {interpolation}")
    if not input.numel():
        raise RuntimeError("quantile() input tensor must be non-empty")
    if _isinstance(q, Tensor) and q.ndim > 1:
        raise RuntimeError("quantile() q must be a scalar or 1D tensor")
    if input._dtype not in (D.float32, D.float64):
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    xp = xp_for(input)
    if _isinstance(q, Tensor) and q._dtype is not input._dtype:
        raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
    d = None if dim is None else wrap_dim(dim, input.ndim)
    if _isinstance(q, Tensor):
        qa = q._data
        if bool(((qa < 0) | (qa > 1)).any()):
            raise RuntimeError("quantile() q values must be in the range [0, 1]")
    else:
        qa = xp.asarray(q, input._dtype.np)
    if d is None:
        sorted_x = sort(input.flatten(), -1).values
        shape: tuple[int, ...] = (1,) * input.ndim if keepdim else ()
    else:
        x = input if d == input.ndim - 1 else input.unsqueeze(-1).transpose(d, -1)
        sorted_x = sort(x, -1).values
        shape = tuple(1 if i == d else s for i, s in enumerate(input.shape) if keepdim or i != d)
    n = sorted_x.shape[-1]
    sorted_x = sorted_x.view(shape + (n,))   # (*, n): quantiles are taken along the last dim
    a = sorted_x._data
    nan = xp.isnan(a)
    if name == "nanquantile":
        ranks = qa.reshape(-1) * (n - nan.sum(axis=-1, keepdims=True) - 1).astype(a.dtype)
        ranks = xp.maximum(ranks, 0)
    else:
        ranks = xp.where(nan.any(axis=-1, keepdims=True), n - 1, qa.reshape(-1) * (n - 1)).astype(a.dtype)
    if interpolation in ("lower", "higher", "nearest"):
        ranks = {"lower": xp.floor, "higher": xp.ceil, "nearest": xp.round}[interpolation](ranks)
    below = ranks.astype(np.int64)
    res = sorted_x.gather(-1, new_tensor(below, D.int64, input._device))
    if interpolation in ("linear", "midpoint"):
        weights = ranks - below if interpolation == "linear" else xp.full(ranks.shape, 0.5, a.dtype)
        above = sorted_x.gather(-1, new_tensor(xp.ceil(ranks).astype(np.int64), D.int64, input._device))
        res.lerp_(above, new_tensor(weights.astype(a.dtype), input._dtype, input._device))
    if not _isinstance(q, Tensor) or q.ndim == 0:
        res.squeeze_(-1)
    else:   # the quantiles move to the front
        res.unsqueeze_(0).transpose_(0, -1).squeeze_(-1)
    return finish(res, out)


def quantile(input: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear", out: Tensor | None = None) -> Tensor:
    """The ``q``-quantiles (a number or 1-D tensor in [0, 1]) along ``dim``; NaN if a slice has NaN."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, out)


def nanquantile(input: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear", out: Tensor | None = None) -> Tensor:
    """Quantiles ignoring NaN."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, out)


# ---- unique / unique_consecutive -------------------------------------------------------------------------
def _unique(input: Tensor, sort_first: bool, return_inverse: bool, return_counts: bool,
            dim: int | None) -> Any:
    if input._dtype.is_complex:
        plain = dim is None or (not sort_first and dim == 0 and input.ndim == 1)   # as torch's dispatch
        raise not_implemented("unique" if plain else "unique_dim", input._dtype)
    a = input._data
    xp = xp_for(input)
    if dim is None:
        rows = a.reshape(-1, 1)
        d = 0
    else:
        if not a.ndim:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        d = wrap_dim(dim, a.ndim)
        others = a.shape[:d] + a.shape[d + 1:]
        if not a.size and 0 in others:
            if not a.shape[d]:
                raise RuntimeError("Number of zero sized dimensions is more than one, so unique cannot be applied ")
            raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so unique cannot be "
                               "applied")
        rows = xp.moveaxis(a, d, 0).reshape(a.shape[d], math.prod(others))
    n = rows.shape[0]
    if sort_first and n and dim is not None and xp is np and D.holds_nan(rows.dtype) and np.isnan(rows).any():
        order = np.array(_std_sort([_RowKey(r) for r in _sortable(rows).tolist()]), np.int64)   # NaN: torch's order
    elif sort_first and n:
        order = xp.lexsort(_sortable(rows).T[::-1]) if rows.shape[1] > 1 else argsort_array(xp, rows[:, 0], 0)
    else:
        order = xp.arange(n)
    s = rows[order]
    starts = xp.ones(n, bool)
    starts[1:] = (s[1:] != s[:-1]).any(axis=1)
    kept = s[starts]
    if dim is None:
        values = kept.reshape(-1)
    else:
        values = xp.moveaxis(kept.reshape((kept.shape[0],) + others), 0, d)
    result = [new_tensor(values, input._dtype, input._device)]
    if STATE.enabled and input._rg:   # torch records the values but has no derivative for them
        name, op = (("UniqueConsecutiveBackward0", "unique_consecutive") if not sort_first else
                    ("Unique2Backward0", "_unique2") if dim is None else ("UniqueDimBackward0", "unique_dim"))
        record(result[0], unimplemented_node(name, op), (input,))
    if return_inverse:
        inverse = xp.empty(n, np.int64)
        inverse[order] = xp.cumsum(starts) - 1
        result.append(new_tensor(inverse.reshape(a.shape if dim is None else (n,)), D.int64, input._device))
    if return_counts:
        bounds = xp.concatenate([xp.nonzero(starts)[0], xp.asarray([n])])
        result.append(new_tensor(xp.diff(bounds).astype(np.int64), D.int64, input._device))
    return result[0] if len(result) == 1 else tuple(result)


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
           dim: int | None = None) -> Any:
    """Distinct elements (or slices along ``dim``) in ascending order, with the inverse mapping and the
    counts on request (each NaN is distinct)."""
    return _unique(input, True, return_inverse, return_counts, dim)


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None) -> Any:
    """Collapse runs of equal consecutive elements (or slices along ``dim``)."""
    return _unique(input, False, return_inverse, return_counts, dim)


# ---- searchsorted / bucketize ----------------------------------------------------------------------------
def _search(xp: Any, b: Any, v: Any, right: bool) -> Any:
    """Insertion points of ``v`` in the rows of sorted ``b`` (1-d ``b``: one sequence for all values).

    Batched rows use one stable sort of ``[values, boundaries]`` per row (boundaries first for
    ``right``): a value's merged position minus its rank among the values counts the boundaries
    before it."""
    side = "right" if right else "left"
    b, v = _sortable(b), _sortable(v)
    if b.shape[-1] > 1 and bool((~(b[..., 1:] >= b[..., :-1])).any()):
        return _bisect(xp, b, v, right)
    if b.ndim == 1:
        return xp.searchsorted(b, v, side=side)
    m = b.shape[-1]
    bb, vv = b.reshape(-1, m), v.reshape(-1, v.shape[-1])
    merged = xp.concatenate([bb, vv] if right else [vv, bb], axis=1)
    kind = "stable" if xp is np else None
    where_in_merged = xp.argsort(xp.argsort(merged, axis=1, kind=kind), axis=1, kind=kind)
    pos = where_in_merged[:, m:] if right else where_in_merged[:, :vv.shape[1]]
    rank = xp.argsort(xp.argsort(pos, axis=1, kind=kind), axis=1, kind=kind)
    return (pos - rank).reshape(v.shape)


def _bisect(xp: Any, b: Any, v: Any, right: bool) -> Any:
    """torch's binary search step by step, for all values at once: on boundaries that are not sorted (NaNs
    included) its answer depends on which elements the search happens to visit, which NumPy's search does
    not reproduce. A value moves right of ``b[mid]`` unless ``b[mid] >= v`` (``>`` for ``right``)."""
    m = b.shape[-1]
    rows = b.reshape(-1, m)
    vals = v.reshape(rows.shape[0] if b.ndim > 1 else 1, -1)
    lo = xp.zeros(vals.shape, np.int64)
    hi = xp.full(vals.shape, m, np.int64)
    while True:
        active = lo < hi
        if not bool(active.any()):
            return lo.reshape(v.shape)
        mid = lo + ((hi - lo) >> 1)
        seen = xp.take_along_axis(rows, xp.minimum(mid, m - 1), axis=1)
        stop = (seen > vals) if right else (seen >= vals)
        lo = xp.where(active & ~stop, mid + 1, lo)
        hi = xp.where(active & stop, mid, hi)


def searchsorted(sorted_sequence: Tensor, input: Any, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter: Tensor | None = None, out: Tensor | None = None) -> Tensor:
    """Indices where ``input`` would be inserted into ``sorted_sequence`` (its last dim) to keep it sorted."""
    if side not in (None, "left", "right"):
        raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
    if side == "left" and right:
        raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                           "while right was True")
    right = right or side == "right"
    b = sorted_sequence
    if not b.ndim:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive dimension, but "
                           "got 0 dimension")
    xp = xp_for(b)
    v = input._data if _isinstance(input, Tensor) else xp.asarray(input)
    if b.ndim > 1 and (v.ndim != b.ndim or v.shape[:-1] != b._data.shape[:-1]):
        raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                           "dimensions of boundaries tensor and input value tensor must match, but we got "
                           f"boundaries tensor {list(b.shape)} and input value tensor {list(v.shape)}")
    bd = b._data
    if sorter is not None:
        if sorter._dtype is not D.int64:
            raise RuntimeError("torch.searchsorted(): sorter must be a tensor of long dtype but got dtype "
                               f"{sorter._dtype._short}")
        if sorter.shape != b.shape:
            raise RuntimeError("torch.searchsorted(): boundary and sorter must have the same size, but got "
                               f"boundary tensor {list(b.shape)}and got sorter tensor {list(sorter.shape)}")
        if sorter.numel() and bool(((sorter._data < 0) | (sorter._data >= b.shape[-1])).any()):
            raise RuntimeError("torch.searchsorted(): sorter index out of range")
        bd = xp.take_along_axis(bd, sorter._data, axis=-1)
    from .elementwise import result_type
    common = result_type(b, input)   # torch's promotion (bfloat16 included), then one kernel per dtype
    if v.size and (common.category == 0 or common.is_complex):   # (no kernel runs for no values)
        raise not_implemented("searchsorted_out_cpu", common)
    if v.size and bd.shape[-1]:
        idx = _search(xp, bd.astype(common.np, copy=False), v.astype(common.np, copy=False), right)
    else:
        idx = xp.zeros(v.shape, np.int64)
    dt = D.int32 if out_int32 else D.int64
    return finish(new_tensor(xp.asarray(idx).astype(dt.np), dt, b._device), out)


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False,
              out: Tensor | None = None) -> Tensor:
    """Bucket index of each element: ``boundaries[i-1] < x <= boundaries[i]`` (``right``: ``<=``, ``<``)."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right, out=out)


# ---- histc / histogram / bincount ------------------------------------------------------------------------
def _bins_check(bins: int) -> None:
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")


def _edges_check(dt: D.dtype, lo: float, hi: float) -> None:
    """torch makes the bin edges with linspace in the input's dtype, then runs its histogram kernel (floating
    types only): their errors, in that order."""
    if dt is D.bool:
        raise not_implemented("linspace_cpu", dt)
    if dt.category == 1:
        D.checked_scalar(dt, lo)
        D.checked_scalar(dt, hi)
    if dt.category != 2:
        raise not_implemented("histogram_cpu", dt)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0, *,
          out: Tensor | None = None) -> Tensor:
    """Counts of ``bins`` equal-width bins over ``[min, max]`` (the data's range when both are equal);
    elements outside are ignored; the result has ``input``'s dtype."""
    _bins_check(bins)
    if max < min:
        raise RuntimeError("torch.histc: max must be larger than min")
    a = input._data.reshape(-1)
    xp = xp_for(input)
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        if input._dtype.is_complex:
            raise not_implemented("aminmax_cpu", input._dtype)
        no_unsigned_kernel("aminmax_cpu", input._dtype)
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo:g}, {hi:g}] is not finite")
    _edges_check(input._dtype, lo, hi)
    scalar = np.dtype(input._dtype.np).type   # bin positions are computed in the input's dtype, as torch
    lo_s, hi_s = scalar(lo), scalar(hi)
    inside = (a >= lo_s) & (a <= hi_s)
    pos = ((a[inside] - lo_s) * scalar(bins) / (hi_s - lo_s)).astype(np.int64)
    counts = xp.bincount(xp.minimum(pos, bins - 1), minlength=bins)
    return finish(new_tensor(counts.astype(input._dtype.np), input._dtype, input._device), out)


_C_NAMES = {D.float32: "float", D.float64: "double", D.int64: "long int", D.int32: "int", D.float16: "c10::Half",
            D.bfloat16: "c10::BFloat16"}


def histogram(input: Tensor, bins: Any = 100, *, range: tuple[float, float] | None = None,
              weight: Tensor | None = None, density: bool = False, out: Any = None) -> Any:
    """Histogram with ``bins`` equal-width bins (over ``range`` or the data's range) or the given edges;
    returns ``torch.return_types.histogram(hist, bin_edges)``."""
    xp = xp_for(input)
    a = input._data.reshape(-1)
    if _isinstance(bins, Tensor):
        if range is not None:
            raise TypeError("histogram(): range can only be given with an int number of bins")
        if bins.ndim != 1:
            raise RuntimeError("torch.histogramdd: bins tensor should have one dimension, but got "
                               f"{bins.ndim} dimensions in the bins tensor for dimension 0")
        if bins._dtype is not input._dtype:
            raise RuntimeError("torch.histogramdd: input tensor and bins tensors should have the same dtype, "
                               f"but got input with dtype {_C_NAMES.get(input._dtype, input._dtype._short)} "
                               "and bins for dimension 0 with dtype "
                               f"{_C_NAMES.get(bins._dtype, bins._dtype._short)}")
        _bins_check(bins.numel() - 1)
        _edges_check(input._dtype, 0, 0)
        edges = bins.detach().clone()
    else:
        _bins_check(bins)
        if range is not None:
            lo, hi = float(range[0]), float(range[1])
            if lo > hi:
                raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {lo:g} max "
                                   f"{hi:g} for dimension 0")
        else:   # torch's own min/max kernel: float32/float64 only
            if input._dtype not in (D.float32, D.float64) and a.size:
                raise not_implemented("histogramdd", input._dtype)
            lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 1.0)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise RuntimeError(f"torch.histogramdd: dimension 0's range [{lo:g}, {hi:g}] is not finite")
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        _edges_check(input._dtype, lo, hi)
        from .creation import linspace
        edges = linspace(lo, hi, bins + 1, dtype=input._dtype, device=input._device)
    if weight is not None and tuple(weight.shape) != tuple(input.shape):
        raise RuntimeError("torch.histogramdd: if weight tensor is provided it should have the same shape as "
                           "the input tensor excluding its innermost dimension, but got input with shape "
                           f"[{a.size}, 1] and weight with shape {list(weight.shape)}")
    if weight is not None and weight._dtype is not input._dtype:
        raise RuntimeError("torch.histogramdd: if weight tensor is provided, input tensor and weight tensor should "
                           f"have the same dtype, but got input({_C_NAMES.get(input._dtype, input._dtype._short)}), "
                           f"and weight({_C_NAMES.get(weight._dtype, weight._dtype._short)})")
    e = edges._data
    nb = e.shape[0] - 1
    inside = (a >= e[0]) & (a <= e[-1])
    pos = xp.minimum(xp.searchsorted(e, a[inside], side="right") - 1, nb - 1)
    w = weight._data.reshape(-1)[inside] if weight is not None else None
    hist = xp.bincount(pos, weights=w, minlength=nb).astype(input._dtype.np)
    if density:
        hist = hist / (hist.sum() * xp.diff(e))
    hist_t = new_tensor(hist, input._dtype, input._device)
    if STATE.enabled and (input._rg or weight is not None and weight._rg):
        from .indexing import NotImplemented_, node_of
        edges = edges.detach().clone()
        record([hist_t, edges], node_of(NotImplemented_, op="histogram"), (input, weight))
    return finish(return_type("histogram", ("hist", "bin_edges"))(hist_t, edges), out)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Occurrences of each non-negative integer (weighted sums with ``weights``: float32 weights give
    float32, others float64)."""
    if input._dtype is D.bool or input._dtype.category != 1:
        raise not_implemented("bincount_cpu", input._dtype)
    no_unsigned_kernel("bincount_cpu", input._dtype)
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    a = input._data
    xp = xp_for(input)
    if a.ndim != 1 or (a.size and int(a.min()) < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None or not a.size:   # torch ignores the weights of an empty input (int64 zeros)
        return new_tensor(xp.bincount(a, minlength=minlength).astype(np.int64), D.int64, input._device)
    if weights.ndim != 1 or weights.shape[0] != a.shape[0]:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    dt = D.float32 if weights._dtype is D.float32 else D.float64
    if dt is D.float32 and xp is np:   # torch adds float32 weights one by one in input order, in float32
        counts = np.zeros(max(minlength, int(a.max()) + 1 if a.size else 0), np.float32)
        np.add.at(counts, a, weights._data)
        return new_tensor(counts, dt, input._device)
    counts = xp.bincount(a, weights=weights._data.astype(np.float64), minlength=minlength)
    return new_tensor(counts.astype(dt.np), dt, input._device)


bind({
    "sort": sort, "argsort": argsort, "msort": msort, "topk": topk, "kthvalue": kthvalue, "median": median,
    "nanmedian": nanmedian, "mode": mode, "quantile": quantile, "nanquantile": nanquantile, "unique": unique,
    "unique_consecutive": unique_consecutive, "histc": histc, "histogram": histogram, "bincount": bincount,
})

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode", "quantile",
           "nanquantile", "unique", "unique_consecutive", "searchsorted", "bucketize", "histc", "histogram",
           "bincount"]
