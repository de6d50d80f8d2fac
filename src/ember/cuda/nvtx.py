"""``ember.cuda.nvtx``: NVTX ranges and markers (shown by Nsight Systems) through ``cupy.cuda.nvtx``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .._core.device import _probe_cupy

__all__ = ["range_push", "range_pop", "range_start", "range_end", "mark", "range"]

_COLOR = 0xFF76B900   # ARGB of range_start's ranges (CuPy requires one)
_depth = [0]   # open range_push ranges (NVTX's push/pop return the level, CuPy's return nothing)


def _nvtx(stub_attr: str | None = None) -> Any:
    """cupy.cuda.nvtx; without a GPU torch's error (its stub lacks ``stub_attr`` for range_start/range_end)."""
    cp = _probe_cupy()
    if cp is None or not cp.cuda.nvtx.available:
        if stub_attr is not None:
            raise AttributeError(f"'_NVTXStub' object has no attribute '{stub_attr}'")
        raise RuntimeError("NVTX functions not installed. Are you sure you have a CUDA build?")
    return cp.cuda.nvtx


def range_push(msg: str) -> int:
    """Open a nested range named ``msg``; returns its zero-based depth."""
    _nvtx().RangePush(msg)
    _depth[0] += 1
    return _depth[0] - 1


def range_pop() -> int:
    """Close the innermost range; returns its depth (-1 when none was open)."""
    nvtx = _nvtx()
    if _depth[0] == 0:
        return -1
    nvtx.RangePop()
    _depth[0] -= 1
    return _depth[0]


def range_start(msg: str) -> int:
    """Start a range that may end on another thread; returns its id for :func:`range_end`."""
    return _nvtx("rangeStartA").RangeStart(msg, _COLOR)


def range_end(range_id: int) -> None:
    _nvtx("rangeEnd").RangeEnd(range_id)


def mark(msg: str) -> None:
    """An instantaneous event named ``msg``."""
    _nvtx().Mark(msg)


@contextlib.contextmanager
def range(msg: str, *args: Any, **kwargs: Any) -> Iterator[None]:
    """``with nvtx.range('step {}', i):`` a range around the block (``msg.format(*args, **kwargs)``)."""
    range_push(msg.format(*args, **kwargs))
    try:
        yield
    finally:
        range_pop()
