"""The element order of torch's CPU sort, topk, kthvalue and mode, which are not stable. sort runs
``std::sort`` on (value, index) pairs; topk runs libstdc++'s selection algorithms on them: ``std::partial_sort``
when ``64 * k <= n``, else ``std::nth_element`` at ``k - 1`` (then ``std::sort`` of the first ``k - 1`` when
sorted); mode ``std::sort``s the pairs by value; kthvalue runs torch's own quickselect. Which of several equal
values they return, and the order of an unsorted topk, is whatever their swaps produce; this module replays them.

Keys are dense ranks (smaller key first, equal keys tie), so each comparison is one int comparison. The list
routines rearrange one slice's permutation ``a`` in place as libstdc++ does; the partitions are also replayed on
all slices at once in NumPy (each partition step on every range that needs one), as the scans' stops can be
found and paired with array operations."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

_THRESHOLD = 16  # libstdc++'s _S_threshold: introsort leaves ranges this small to insertion sort
_CHUNK = 4096  # heap select screens this many candidates at a time with NumPy


def _adjust_heap(a: list[int], kv: list[int], first: int, hole: int, length: int, value: int) -> None:
    """Sift the hole at ``hole`` down to a leaf (larger child up), then push ``value`` up from there."""
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if kv[a[first + child]] < kv[a[first + child - 1]]:
            child -= 1
        a[first + hole] = a[first + child]
        hole = child
    if not length & 1 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        a[first + hole] = a[first + child - 1]
        hole = child - 1
    key = kv[value]
    parent = (hole - 1) // 2
    while hole > top and kv[a[first + parent]] < key:
        a[first + hole] = a[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    a[first + hole] = value


def _pop_heap(a: list[int], kv: list[int], first: int, last: int, result: int) -> None:
    """Move the heap top of ``[first, last)`` to ``result`` and re-heap with the element that was there."""
    value = a[result]
    a[result] = a[first]
    _adjust_heap(a, kv, first, 0, last - first, value)


def _heap_select(a: list[int], kv: list[int], first: int, middle: int, last: int) -> None:
    """Heap the first ``middle - first`` elements, then swap in each later element that beats the heap top."""
    length = middle - first
    if length >= 2:
        parent = (length - 2) // 2
        while True:
            _adjust_heap(a, kv, first, parent, length, a[first + parent])
            if not parent:
                break
            parent -= 1
    for i in range(middle, last):
        if kv[a[i]] < kv[a[first]]:
            _pop_heap(a, kv, first, middle, i)


def _sort_heap(a: list[int], kv: list[int], first: int, last: int) -> None:
    while last - first > 1:
        last -= 1
        _pop_heap(a, kv, first, last, last)


def _partition_pivot(a: list[int], kv: list[int], first: int, last: int) -> int:
    """Median of (first + 1, middle, last - 1) moved to ``first``, then an unguarded Hoare partition of the
    rest around it; returns the cut."""
    x, y, z = first + 1, first + (last - first) // 2, last - 1
    kx, ky, kz = kv[a[x]], kv[a[y]], kv[a[z]]
    if kx < ky:
        m = y if ky < kz else z if kx < kz else x
    else:
        m = x if kx < kz else z if ky < kz else y
    a[first], a[m] = a[m], a[first]
    pivot = kv[a[first]]
    lo, hi = first + 1, last
    while True:
        while kv[a[lo]] < pivot:
            lo += 1
        hi -= 1
        while pivot < kv[a[hi]]:
            hi -= 1
        if lo >= hi:
            return lo
        a[lo], a[hi] = a[hi], a[lo]
        lo += 1


def _linear_insert(a: list[int], kv: list[int], last: int) -> None:
    """Shift ``a[last]`` left past the larger elements (unguarded: something before it is not larger)."""
    value = a[last]
    key = kv[value]
    prev = last - 1
    while key < kv[a[prev]]:
        a[last] = a[prev]
        last = prev
        prev -= 1
    a[last] = value


def _insertion_sort(a: list[int], kv: list[int], first: int, last: int) -> None:
    for i in range(first + 1, last):
        if kv[a[i]] < kv[a[first]]:
            a[first:i + 1] = [a[i]] + a[first:i]
        else:
            _linear_insert(a, kv, i)


def _introsort_loop(a: list[int], kv: list[int], first: int, last: int, depth: int) -> None:
    """Quicksort ``[first, last)`` down to ranges of 16 (heapsort at depth 0); std::sort's last step, an
    insertion sort, equals a stable sort of the result."""
    while last - first > _THRESHOLD:
        if not depth:
            _heap_select(a, kv, first, last, last)
            _sort_heap(a, kv, first, last)
            return
        depth -= 1
        cut = _partition_pivot(a, kv, first, last)
        _introsort_loop(a, kv, cut, last, depth)
        last = cut


def _introselect(a: list[int], kv: list[int], first: int, nth: int, last: int, depth: int) -> None:
    """std::nth_element's loop: partition into the side holding ``nth``, heap select at depth 0."""
    while last - first > 3:
        if not depth:
            _heap_select(a, kv, first, nth + 1, last)
            a[first], a[nth] = a[nth], a[first]
            return
        depth -= 1
        cut = _partition_pivot(a, kv, first, last)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(a, kv, first, last)


def _depth(n: int) -> int:
    """libstdc++'s recursion budget, 2 * floor(log2(n))."""
    return 2 * (n.bit_length() - 1)


def _topk_order_py(kv: list[Any], k: int, sorted: bool) -> list[int]:
    """:func:`topk_orders` of one row, on a plain list: any keys with ``<``."""
    n = len(kv)
    a = list(range(n))
    if k * 64 <= n:
        _heap_select(a, kv, 0, k, n)
        _sort_heap(a, kv, 0, k)
    else:
        _introselect(a, kv, 0, k - 1, n, _depth(n))
        if sorted and k > 2:  # std::sort: introsort, then insertion sort (ends as any stable sort would)
            _introsort_loop(a, kv, 0, k - 1, _depth(k - 1))
            _insertion_sort(a, kv, 0, k - 1)
    return a[:k]


def _heap_order(keys: np.ndarray, k: int) -> np.ndarray:
    """``partial_sort(0, k, n)`` of one slice: heap select, screening in NumPy for the elements that can beat
    the heap top (its key only falls, and unvisited elements still sit at their own index), then sort_heap."""
    kv = keys.tolist()
    a = list(range(k))
    _heap_select(a, kv, 0, k, k)
    for start in range(k, len(kv), _CHUNK):
        for i in (np.flatnonzero(keys[start:start + _CHUNK] < kv[a[0]]) + start).tolist():
            if kv[i] < kv[a[0]]:  # pop_heap(0, k, i): i replaces the top, which leaves for position i
                _adjust_heap(a, kv, 0, 0, k, i)
    _sort_heap(a, kv, 0, k)
    return np.array(a)


# ---- many slices at once ---------------------------------------------------------------------------------
# The slices are the rows of a (rows, n) array of keys, flattened into one array ``c`` of codes key << 32 | id
# (id: the element's index in its row), in their current order. A range of positions is a segment ``[first,
# last)`` in flat positions; one partition step runs on many segments at once, of any rows, each segment a row
# of a padded 2-d window.
_SHIFT = 32
_CELLS = 1 << 16  # rows are replayed in chunks of about this many elements: NumPy is much faster on small arrays
_FEW, _SHORT = 32, 512  # fewer rows than _FEW, none longer than _SHORT: replayed one by one in Python, faster


def _codes(keys: np.ndarray) -> np.ndarray:
    """The rows of ``keys`` as one flat array of codes, in their initial order."""
    return ((keys.astype(np.int64) << _SHIFT) | np.arange(keys.shape[1])).ravel()


def _swap(c: np.ndarray, i: np.ndarray, j: np.ndarray) -> None:
    """Swap positions ``i`` and ``j`` (pairwise; no position twice) of ``c``."""
    c[i], c[j] = c[j], c[i].copy()


def _nth(mask: np.ndarray, rank: np.ndarray, j: np.ndarray, fill: int) -> np.ndarray:
    """Per row, the column where ``mask`` holds and ``rank`` equals ``j``; ``fill`` where there is none."""
    hit = mask & (rank == j[:, None])
    return np.where(hit.any(1), hit.argmax(1), fill)


def _hoare(c: np.ndarray, first: np.ndarray, last: np.ndarray, piv: np.ndarray, skip: int, strict: bool) -> Any:
    """The two scans of Hoare partitions around ``piv`` on the segments ``[first, last)`` at once: the rising
    scan (from column ``skip`` on) stops at keys not below the pivot, the falling one (below the top ``skip``
    columns) at keys not above it, and the j-th stops of both swap until they cross (or meet, unless
    ``strict``); no stop sees a swapped key first, as the gap between the j-th stops only shrinks. Returns each
    scan's stops as (mask, rank) over the segments' columns (the falling scan's ranked from the top), and each
    segment's number of swaps."""
    w = last - first
    cols = np.arange(int(w.max(initial=0)))
    pos = np.minimum(first[:, None] + cols, len(c) - 1)
    k = c[pos] >> _SHIFT
    ge = (k >= piv[:, None]) & (cols >= skip) & (cols < w[:, None])
    le = (k <= piv[:, None]) & (cols < w[:, None] - skip)
    cl = np.cumsum(ge, 1, dtype=np.int32)
    after = np.count_nonzero(le, 1)[:, None] - np.cumsum(le, 1, dtype=np.int32)  # falling stops above this one
    sl = ge & (after + (le if strict else 0) >= cl)
    sr = le & (cl - (0 if strict else ge) > after)
    ls, rs = pos[sl], pos[:, ::-1][sr[:, ::-1]]
    c[ls], c[rs] = c[rs], c[ls]
    return (ge, cl - 1), (le, after), np.count_nonzero(sl, 1)


def _partition_pivots(c: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """:func:`_partition_pivot` on the segments ``[first, last)`` at once; returns their cuts."""
    x, y, z = first + 1, first + (last - first) // 2, last - 1
    kx, ky, kz = c[x] >> _SHIFT, c[y] >> _SHIFT, c[z] >> _SHIFT
    m = np.where(kx < ky, np.where(ky < kz, y, np.where(kx < kz, z, x)),
                 np.where(kx < kz, x, np.where(ky < kz, z, y)))
    _swap(c, first, m)
    left, right, n = _hoare(c, first + 1, last, c[first] >> _SHIFT, 0, False)
    big = len(c)
    return first + 1 + np.minimum(_nth(*left, n, big), _nth(*right, n - 1, big))


def _stable_sort(c: np.ndarray, first: np.ndarray, last: np.ndarray) -> None:
    """Insertion sort (a stable sort by key) of each segment."""
    n = np.maximum(last - first, 0)
    seg = np.repeat(np.arange(len(n)), n)
    pos = np.arange(len(seg)) + np.repeat(first - (np.cumsum(n) - n), n)
    c[pos] = c[pos[np.lexsort((c[pos] >> _SHIFT, seg))]]


def _introselect_rows(c: np.ndarray, n: int, nth: int) -> np.ndarray:
    """:func:`_introselect` at ``nth`` on every row; returns the rows whose depth ran out (left unfinished)."""
    first = np.arange(0, len(c), n)
    last, nth_at = first + n, first + nth
    depth = np.full(len(first), _depth(n))
    while len(s := np.flatnonzero((last - first > 3) & (depth > 0))):
        depth[s] -= 1
        cut = _partition_pivots(c, first[s], last[s])
        up = cut <= nth_at[s]
        first[s[up]], last[s[~up]] = cut[up], cut[~up]
    _stable_sort(c, first, last)
    return last - first > 3


def _introsort_rows(c: np.ndarray, n: int, m: int, hot: np.ndarray) -> np.ndarray:
    """:func:`_introsort_loop` on the first ``m`` positions of every row, except its heap sorts: returns the rows
    that reach one (left unfinished). A range is partitioned only while it holds two elements whose keys are
    ``hot`` (indexed by row * n + key): the order among the others does not matter to the caller."""
    first = np.arange(0, len(c), n)
    last, depth = first + m, np.full(len(first), _depth(m))
    bad = np.zeros(len(first), bool)
    while len(first):
        cols = np.arange(int((last - first).max()))
        pos = np.minimum(first[:, None] + cols, len(c) - 1)
        many = np.count_nonzero(hot[pos // n * n + (c[pos] >> _SHIFT)] & (cols < (last - first)[:, None]), 1) > 1
        s = np.flatnonzero(many & (last - first > _THRESHOLD))
        bad[first[s[depth[s] == 0]] // n] = True
        s = s[depth[s] > 0]
        if not len(s):
            break
        first, last, depth = first[s], last[s], depth[s] - 1
        cut = _partition_pivots(c, first, last)
        first, last, depth = np.concatenate((cut, first)), np.concatenate((last, cut)), np.tile(depth, 2)
    return bad


def _chunked(fn: Any) -> Any:
    """Run ``fn(keys, *args)`` on chunks of rows of ``keys`` of about ``_CELLS`` elements; stack the results."""
    def run(keys: np.ndarray, *args: Any) -> np.ndarray:
        step = max(1, _CELLS // keys.shape[1])
        return np.concatenate([fn(keys[i:i + step], *args) for i in range(0, len(keys), step)])
    return functools.wraps(fn)(run)


def _few(keys: np.ndarray) -> bool:
    """Whether to replay the rows one by one in Python: NumPy's cost per call outweighs its speed on few."""
    return len(keys) < _FEW and keys.shape[1] <= _SHORT


def topk_orders(keys: np.ndarray, k: int, sorted: bool) -> np.ndarray:
    """The positions of the ``k`` (``1 <= k <= n``) elements torch's CPU topk returns for each row of ``keys``,
    dense ranks (0, 1, ...: smaller is better, equal keys tie), in its output order."""
    if k * 64 <= keys.shape[1]:
        return np.array([_heap_order(row, k) for row in keys]).reshape(len(keys), k)
    if _few(keys):
        return np.array([_topk_order_py(row, k, sorted) for row in keys.tolist()]).reshape(len(keys), k)
    return _topk_rows(keys, k, sorted)


@_chunked
def _topk_rows(keys: np.ndarray, k: int, sorted: bool) -> np.ndarray:
    """:func:`topk_orders` by nth_element (and sort) on all rows at once."""
    rows, n = keys.shape
    c = _codes(keys)
    bad = _introselect_rows(c, n, k - 1)
    if sorted and k > 2:
        counts = np.bincount((np.arange(rows)[:, None] * n + keys).ravel(), minlength=rows * n)
        bad |= _introsort_rows(c, n, k - 1, counts > 1)
    head = c.reshape(rows, n)[:, :k]
    if sorted:
        head[:, :k - 1] = np.take_along_axis(head[:, :k - 1], np.argsort(head[:, :k - 1] >> _SHIFT, axis=1,
                                                                            kind="stable"), 1)
    out = head & 0xFFFFFFFF
    for r in np.flatnonzero(bad):
        out[r] = _topk_order_py(keys[r].tolist(), k, sorted)
    return out


def _sort_order_py(kv: list[int]) -> list[int]:
    """std::sort's order of one row of keys: the introsort, then its final insertion sort (a stable sort)."""
    a = list(range(len(kv)))
    _introsort_loop(a, kv, 0, len(kv), _depth(len(kv)))
    return sorted(a, key=kv.__getitem__)


def sort_orders(keys: np.ndarray) -> np.ndarray:
    """The order in which torch's CPU sort (``std::sort`` of (value, index) pairs) leaves each row of dense
    ranks ``keys``: the positions of the row's elements, first to last."""
    return np.array([_sort_order_py(row) for row in keys.tolist()], dtype=np.int64).reshape(keys.shape)


def _mode_index_py(kv: list[int], m: int) -> int:
    """The last element of key ``m`` after std::sort's introsort of one row (a list of keys)."""
    a = list(range(len(kv)))
    _introsort_loop(a, kv, 0, len(kv), _depth(len(kv)))
    return [i for i in a if kv[i] == m][-1]


def mode_indices(keys: np.ndarray) -> np.ndarray:
    """The index torch's CPU mode reports for each row of dense ranks ``keys``: std::sort the (value, index)
    pairs by value, then the last of the first longest run of equal values. Its introsort leaves equal values in
    an order that the final insertion sort keeps."""
    if _few(keys):
        return np.array([_mode_index_py(row, key) for row, key in zip(keys.tolist(), _modal(keys).tolist(),
                                                                      strict=True)])
    return _mode_rows(keys)


def _modal(keys: np.ndarray) -> np.ndarray:
    """Each row's most frequent key (the smallest of those)."""
    rows, n = keys.shape
    return np.bincount((np.arange(rows)[:, None] * n + keys).ravel(), minlength=rows * n).reshape(rows, n).argmax(1)


@_chunked
def _mode_rows(keys: np.ndarray) -> np.ndarray:
    """:func:`mode_indices` on all rows at once."""
    rows, n = keys.shape
    m = _modal(keys)
    hot = np.zeros(rows * n, bool)
    hot[np.arange(rows) * n + m] = True
    c = _codes(keys)
    bad = _introsort_rows(c, n, n, hot)
    c = c.reshape(rows, n)
    out = c[np.arange(rows), n - 1 - np.argmax(((c >> _SHIFT) == m[:, None])[:, ::-1], 1)] & 0xFFFFFFFF
    for r in np.flatnonzero(bad):
        out[r] = _mode_index_py(keys[r].tolist(), int(m[r]))
    return out


def _sedgewick_partitions(c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[Any, Any]:
    """One step of torch's quickselect on the segments ``[lo, hi]`` (``hi > lo + 1``): the median of (lo, middle,
    hi) to ``lo``, the smaller one to ``lo + 1``, then Sedgewick's partition; returns where the scans stopped
    (``i``) and the pivot's place (``j``)."""
    _swap(c, (lo + hi) >> 1, lo + 1)
    for x, y in ((lo + 1, hi), (lo, hi), (lo + 1, lo)):
        s = (c[x] >> _SHIFT) > (c[y] >> _SHIFT)
        _swap(c, x[s], y[s])
    left, right, n = _hoare(c, lo + 1, hi + 1, c[lo] >> _SHIFT, 1, True)
    big = len(c)
    # the scans stop at their next stops, or at the last pair that really swapped (its keys now face them)
    last = np.where(_nth(*right, n - 1, -1) > _nth(*left, n - 1, big), n - 1, n - 2)
    i = np.minimum(_nth(*left, n, big), _nth(*right, last, big))
    j = np.maximum(_nth(*right, n, -1), _nth(*left, last, -1))
    j = lo + 1 + j
    _swap(c, lo, j)
    return lo + 1 + i, j


def _quickselect_py(v: list[int], k: int) -> int:
    """:func:`kth_indices` of one row, on a list of keys."""
    ix = list(range(len(v)))
    lo, hi = 0, len(v) - 1

    def swap(i: int, j: int) -> None:
        v[i], v[j] = v[j], v[i]
        ix[i], ix[j] = ix[j], ix[i]

    while hi > lo + 1:
        swap((lo + hi) >> 1, lo + 1)
        for x, y in ((lo + 1, hi), (lo, hi), (lo + 1, lo)):
            if v[x] > v[y]:
                swap(x, y)
        piv, i, j = v[lo], lo + 1, hi
        while True:
            i += 1
            while piv > v[i]:
                i += 1
            j -= 1
            while v[j] > piv:
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(lo, j)
        if j <= k:
            lo = i
        if j >= k:
            hi = j - 1
    if hi == lo + 1 and v[lo] > v[hi]:
        swap(lo, hi)
    return ix[k]


def kth_indices(keys: np.ndarray, k: int) -> np.ndarray:
    """The index torch's CPU kthvalue reports for each row of dense ranks ``keys``: its own quickselect (not
    libstdc++'s: Sedgewick's partition around the median of three) moves the element that lands at position
    ``k`` there; equal values go where its swaps leave them."""
    if _few(keys):
        return np.array([_quickselect_py(row, k) for row in keys.tolist()], np.int64)
    return _kth_rows(keys, k)


@_chunked
def _kth_rows(keys: np.ndarray, k: int) -> np.ndarray:
    """:func:`kth_indices` on all rows at once."""
    rows, n = keys.shape
    c = _codes(keys)
    lo = np.arange(0, rows * n, n)
    hi, at = lo + n - 1, lo + k
    while len(s := np.flatnonzero(hi > lo + 1)):
        i, j = _sedgewick_partitions(c, lo[s], hi[s])
        lo[s] = np.where(j <= at[s], i, lo[s])
        hi[s] = np.where(j >= at[s], j - 1, hi[s])
    s = (hi == lo + 1) & ((c[lo] >> _SHIFT) > (c[hi] >> _SHIFT))
    _swap(c, lo[s], hi[s])
    return c[at] & 0xFFFFFFFF
