"""Intra-op threads for the elementwise passes of convolutions, layer_norm and gelu on the CPU.

NumPy runs each ufunc on one core while torch's CPU kernels use ``torch.get_num_threads()`` threads; BLAS
products are threaded already, the multiply-accumulate passes and copies around them are not. Those passes
release the GIL, so splitting their rows into contiguous parts, one per thread, runs them side by side.
Each part writes a disjoint slice of the result, so results do not depend on the thread count. The calling
thread also takes the parts no worker has started when it is done with its own, so a loaded machine (workers
waiting for a core) costs at most the serial time, not a scheduler wake-up per part.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .info import get_num_threads
from .info import usable_cores as _cores

__all__ = ["split_rows", "split_axis", "contiguous"]

_MIN_PART = 1 << 18   # elements: a smaller part is not worth a thread hand-off
_POOL: dict[str, Any] = {"pid": None, "size": 0, "executor": None}


def _executor(workers: int) -> ThreadPoolExecutor:
    """The process's worker threads (made again in a forked child, whose copy has no threads)."""
    if _POOL["pid"] != os.getpid() or _POOL["size"] < workers:
        _POOL.update(pid=os.getpid(), size=workers,
                     executor=ThreadPoolExecutor(workers, thread_name_prefix="ember-intraop"))
    return _POOL["executor"]


def split_rows(ns: Any, rows: int, row_size: int, fn: Callable[[int, int], None]) -> None:
    """Call ``fn(start, stop)`` over contiguous parts of ``range(rows)`` (rows of ``row_size`` elements) on up
    to ``get_num_threads()`` threads; one call on the whole range off the CPU or for small work."""
    parts = 1
    if ns is np:
        parts = max(1, min(get_num_threads(), _cores(), rows, rows * row_size // _MIN_PART))
    if parts == 1:
        fn(0, rows)
        return
    bounds = [rows * i // parts for i in range(parts + 1)]
    unclaimed = list(range(1, parts))

    def run_unclaimed() -> None:   # (list.pop is atomic: each part runs once, on whichever thread claims it)
        while unclaimed:
            try:
                i = unclaimed.pop()
            except IndexError:
                return
            fn(bounds[i], bounds[i + 1])

    pool = _executor(parts - 1)
    helpers = [pool.submit(run_unclaimed) for _ in range(parts - 1)]
    fn(bounds[0], bounds[1])
    run_unclaimed()   # parts no worker has started yet (a busy machine) run here rather than wait for one
    for f in helpers:
        if not f.cancel():
            f.result()


def split_axis(ns: Any, shape: tuple[int, ...], fn: Callable[[tuple[slice, slice]], None]) -> None:
    """Call ``fn(index)`` on parts of an array of ``shape`` (2 dims at least) split along the longer of its
    first two axes; ``index`` (two slices) selects the part."""
    axis = int(shape[1] > shape[0])
    size = math.prod(shape)
    if not size:
        fn((slice(None), slice(None)))
        return
    split_rows(ns, shape[axis], size // shape[axis],
               lambda start, stop: fn((slice(None), slice(start, stop)) if axis else (slice(start, stop), slice(None))))


def contiguous(ns: Any, v: Any) -> Any:
    """``ns.ascontiguousarray(v)``, the copy in parts on the threads."""
    if v.ndim < 2 or v.flags.c_contiguous:
        return ns.ascontiguousarray(v)
    out = ns.empty(v.shape, dtype=v.dtype)

    def run(index: tuple[slice, ...]) -> None:
        out[index] = v[index]

    split_axis(ns, v.shape, run)
    return out
