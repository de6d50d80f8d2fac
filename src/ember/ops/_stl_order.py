"""The element order of torch's CPU ``topk``, which runs libstdc++'s selection algorithms on (value, index)
pairs: ``std::partial_sort`` when ``64 * k <= n``, else ``std::nth_element`` at ``k - 1`` (then ``std::sort``
of the first ``k - 1`` when sorted). Those algorithms are not stable, so which of several equal values torch
returns, and the order of an unsorted result, is whatever their swaps produce; this module replays them.

Elements are positions into a list of integer sort keys ``kv`` (smaller key first, equal keys tie), so each
comparison is one int comparison; ``a`` is the working permutation, rearranged in place as libstdc++ does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_THRESHOLD = 16  # libstdc++'s _S_threshold: introsort leaves ranges this small to insertion sort
_BIG = 64  # ranges longer than this are partitioned with NumPy
_SMALL = 512  # slices up to this long are rearranged in Python alone
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
    """:func:`topk_order` on plain lists: any keys with ``<``."""
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


class _Slice:
    """One slice being rearranged: ``a`` the permutation (element ids), ``kk`` the keys in that order, ``kv``
    the keys by element id (NumPy and list); big ranges move in NumPy, small ones in Python lists."""

    def __init__(self, keys: np.ndarray) -> None:
        self.keys, self.kv = keys, keys.tolist()
        self.a, self.kk = np.arange(len(keys)), keys.copy()
        self.tied = np.bincount(keys) > 1  # by key: whether another element shares it

    def run(self, fn: Any, first: int, last: int, *args: int) -> None:
        """Apply a list routine ``fn(a, kv, 0, ..., *args)`` to ``[first, last)``, indices relative."""
        sub = self.a[first:last].tolist()
        fn(sub, self.kv, 0, *args)
        self.a[first:last] = sub
        self.kk[first:last] = self.keys[sub]

    def partition(self, first: int, last: int) -> int:
        """``_partition_pivot`` in NumPy: the Hoare scans stop at the keys not below (left) / not above (right)
        the pivot, so they swap the j-th left stop with the j-th right stop until the two cross."""
        a, kk = self.a, self.kk
        x, y, z = first + 1, first + (last - first) // 2, last - 1
        kx, ky, kz = kk[x], kk[y], kk[z]
        if kx < ky:
            m = y if ky < kz else z if kx < kz else x
        else:
            m = x if kx < kz else z if ky < kz else y
        a[[first, m]], kk[[first, m]] = a[[m, first]], kk[[m, first]]
        seg = kk[first + 1:last]
        left = np.flatnonzero(seg >= kk[first])
        right = np.flatnonzero(seg <= kk[first])[::-1]
        c = min(len(left), len(right))
        crossed = np.flatnonzero(left[:c] >= right[:c])
        j = int(crossed[0]) if len(crossed) else c
        cut = int(left[j]) if j < len(left) else last
        if j:
            cut = min(cut, int(right[j - 1]))
            lo, hi = left[:j] + first + 1, right[:j] + first + 1
            a[lo], a[hi] = a[hi], a[lo]
            kk[lo], kk[hi] = kk[hi], kk[lo]
        return first + 1 + cut

    def introselect(self, nth: int) -> None:
        first, last, depth = 0, len(self.a), _depth(len(self.a))
        while last - first > _BIG and depth:
            depth -= 1
            cut = self.partition(first, last)
            if cut <= nth:
                first = cut
            else:
                last = cut
        self.run(_introselect, first, last, nth - first, last - first, depth)

    def introsort(self, first: int, last: int, depth: int) -> None:
        """``_introsort_loop``, skipping ranges without tied keys: the final stable sort orders them alone."""
        while last - first > _THRESHOLD:
            if not self.tied[self.kk[first:last]].any():
                return
            if last - first <= _BIG or not depth:
                self.run(_introsort_loop, first, last, last - first, depth)
                return
            depth -= 1
            cut = self.partition(first, last)
            self.introsort(cut, last, depth)
            last = cut

    def heap_select(self, k: int) -> None:
        """``_heap_select(0, k, n)`` on the untouched slice, screening in NumPy for the elements that can beat
        the heap top (its key only falls, and unvisited elements still sit at their own index)."""
        a, kv = self.a[:k].tolist(), self.kv
        _heap_select(a, kv, 0, k, k)
        for start in range(k, len(kv), _CHUNK):
            for i in (np.flatnonzero(self.keys[start:start + _CHUNK] < kv[a[0]]) + start).tolist():
                if kv[i] < kv[a[0]]:  # pop_heap(0, k, i): i replaces the top, which leaves for position i
                    _adjust_heap(a, kv, 0, 0, k, i)
        _sort_heap(a, kv, 0, k)
        self.a[:k] = a


def topk_order(keys: np.ndarray, k: int, sorted: bool) -> np.ndarray:
    """Positions of the ``k`` (``1 <= k <= n``) elements torch's CPU topk returns for ``keys``, dense ranks
    (0, 1, ...: smaller is better, equal keys tie), in its output order."""
    n = len(keys)
    if n <= _SMALL:
        return np.array(_topk_order_py(keys.tolist(), k, sorted))
    st = _Slice(keys)
    if k * 64 <= n:
        st.heap_select(k)
    else:
        st.introselect(k - 1)
        if sorted and k > 2:
            st.introsort(0, k - 1, _depth(k - 1))
            st.a[:k - 1] = st.a[:k - 1][np.argsort(st.kk[:k - 1], kind="stable")]
    return st.a[:k]
