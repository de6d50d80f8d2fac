"""CUDA graphs (``torch.cuda.CUDAGraph`` / ``torch.cuda.graph``) over CuPy's stream capture.

A captured graph replays the recorded kernels on the same memory with one launch, which removes the
Python and launch cost of every op. As in torch, the arrays made during capture come from a memory pool
private to the graph (so nothing outside can be given that memory while the graph may still write
it), work must not synchronise with the host during capture, and warm-up iterations belong before it.
"""

from __future__ import annotations

from typing import Any

from .._core import gemm
from .._core.device import CAPTURING, _probe_cupy
from ..ops import _philox
from .streams import Stream

__all__ = ["CUDAGraph", "graph", "graph_pool_handle", "is_current_stream_capturing"]


def _cupy() -> Any:
    cp = _probe_cupy()
    if cp is None:
        raise AssertionError("Torch not compiled with CUDA enabled")
    return cp


def is_current_stream_capturing() -> bool:
    """Whether a CUDA graph is being captured now (work queued now is recorded, not run)."""
    if _probe_cupy() is None:
        raise RuntimeError("Tried to instantiate dummy base class _cuda_isCurrentStreamCapturing")
    return CAPTURING[0]


class _Pool:
    """A memory pool private to one or more graphs (``graph_pool_handle`` / ``CUDAGraph.pool``)."""

    def __init__(self) -> None:
        self.pool = _cupy().cuda.MemoryPool()


def graph_pool_handle() -> _Pool:
    """A pool handle that several graphs can share (``pool=`` of ``graph`` / ``capture_begin``)."""
    return _Pool()


class CUDAGraph:
    """One captured CUDA graph: ``capture_begin``/``capture_end`` around work on a side stream, then
    ``replay()`` re-runs it."""

    def __init__(self, keep_graph: bool = False) -> None:
        if _probe_cupy() is None:
            raise RuntimeError("Tried to instantiate dummy base class CUDAGraph")
        self._graph: Any = None
        self._pool: _Pool | None = None
        self._stream: Stream | None = None
        self._prev_allocator: Any = None
        self._device = 0
        self._draws: Any = None

    def capture_begin(self, pool: _Pool | None = None, capture_error_mode: str = "global") -> None:
        if self._graph is not None:
            raise RuntimeError(
                "This CUDAGraph instance already owns a captured graph. To capture a new graph, create a new instance."
            )
        cp = _cupy()
        from .streams import current_stream

        self._stream = current_stream()
        if self._stream._cp.ptr == cp.cuda.Stream.null.ptr:
            raise RuntimeError(
                "CUDA graphs must be captured on a non-default stream. (However, after capture, "
                "it's ok to replay them on the default stream.)"
            )
        self._pool = pool if pool is not None else _Pool()
        self._prev_allocator = cp.cuda.get_allocator()
        cp.cuda.set_allocator(self._pool.pool.malloc)
        if capture_error_mode not in ("global", "thread_local", "relaxed"):
            raise RuntimeError(f"Unknown capture_error_mode: {capture_error_mode}")
        gemm.prepare_capture(cp)   # products run on ember's own cuBLAS handle while capturing
        self._device = cp.cuda.runtime.getDevice()
        _philox.begin_capture(cp, self._device)   # random draws read their counter from device memory
        # Always relaxed: the private pool may call cudaMalloc while capturing, which stricter modes forbid.
        self._stream._cp.begin_capture(cp.cuda.runtime.streamCaptureModeRelaxed)
        CAPTURING[0] = True

    def capture_end(self) -> None:
        cp = _cupy()
        try:
            self._draws = _philox.end_capture(self._device)   # kept alive: replays advance its counter
            self._graph = self._stream._cp.end_capture()
        finally:
            CAPTURING[0] = False
            cp.cuda.set_allocator(self._prev_allocator)

    def replay(self) -> None:
        """Launch the captured work again on the current stream."""
        if self._graph is None:
            raise RuntimeError("CUDA graph must be captured before replay")
        from .streams import current_stream

        self._graph.launch(current_stream()._cp)

    def reset(self) -> None:
        self._graph = None

    def pool(self) -> _Pool:
        if self._pool is None:
            raise RuntimeError("Graph has no memory pool until capture_begin")
        return self._pool


class graph:
    """``with ember.cuda.graph(g):`` captures the block's GPU work into ``g`` on a side stream."""

    default_capture_stream: Stream | None = None

    def __init__(
        self,
        cuda_graph: CUDAGraph,
        pool: _Pool | None = None,
        stream: Stream | None = None,
        capture_error_mode: str = "global",
    ) -> None:
        if stream is None:
            if graph.default_capture_stream is None:
                graph.default_capture_stream = Stream()
            stream = graph.default_capture_stream
        self.stream, self.pool, self.cuda_graph, self.mode = stream, pool, cuda_graph, capture_error_mode

    def __enter__(self) -> None:
        _cupy().cuda.runtime.deviceSynchronize()
        import gc

        gc.collect()
        self.stream.__enter__()
        self.cuda_graph.capture_begin(self.pool, self.mode)

    def __exit__(self, *exc: object) -> None:
        try:
            self.cuda_graph.capture_end()
        finally:
            self.stream.__exit__(*exc)
