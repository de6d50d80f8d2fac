"""The element order of torch's CPU ``topk``, which runs libstdc++'s selection algorithms on (value, index)
pairs: ``std::partial_sort`` when ``64 * k <= n``, else ``std::nth_element`` at ``k - 1`` (then ``std::sort``
of the first ``k - 1`` when sorted). Those algorithms are not stable, so which of several equal values torch
returns, and the order of an unsorted result, is whatever their swaps produce; this module replays them.

Elements are positions into a list of integer sort keys ``kv`` (smaller key first, equal keys tie), so each
comparison is one int comparison; ``a`` is the working permutation, rearranged in place as libstdc++ does.
"""

from __future__ import annotations

_THRESHOLD = 16  # libstdc++'s _S_threshold: introsort leaves ranges this small to insertion sort


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
    while last - first > _THRESHOLD:
        if not depth:
            _heap_select(a, kv, first, last, last)
            _sort_heap(a, kv, first, last)
            return
        depth -= 1
        cut = _partition_pivot(a, kv, first, last)
        _introsort_loop(a, kv, cut, last, depth)
        last = cut


def _sort(a: list[int], kv: list[int], first: int, last: int) -> None:
    """``std::sort``: introsort down to ranges of 16, then one insertion sort pass."""
    if last - first < 2:
        return
    _introsort_loop(a, kv, first, last, 2 * ((last - first).bit_length() - 1))
    if last - first > _THRESHOLD:
        _insertion_sort(a, kv, first, first + _THRESHOLD)
        for i in range(first + _THRESHOLD, last):
            _linear_insert(a, kv, i)
    else:
        _insertion_sort(a, kv, first, last)


def _nth_element(a: list[int], kv: list[int], nth: int) -> None:
    """``std::nth_element``: introselect (partition into the side holding ``nth``), heap select at depth 0."""
    first, last = 0, len(a)
    depth = 2 * (last.bit_length() - 1)
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


def topk_order(kv: list[int], k: int, sorted: bool) -> list[int]:
    """Positions of the ``k`` elements torch's CPU topk returns for keys ``kv`` (smaller key is better), in
    its output order."""
    n = len(kv)
    a = list(range(n))
    if k * 64 <= n:
        _heap_select(a, kv, 0, k, n)
        _sort_heap(a, kv, 0, k)
    else:
        _nth_element(a, kv, k - 1)
        if sorted:
            _sort(a, kv, 0, k - 1)
    return a[:k]
