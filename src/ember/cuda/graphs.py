"""CUDA graphs (``torch.cuda.CUDAGraph`` / ``torch.cuda.graph``) over CuPy's stream capture.

A captured graph replays the recorded kernels on the same memory with one launch, which removes the
Python and launch cost of every op. As in torch, the arrays made during capture come from a memory pool
private to the graph (so nothing outside can be given that memory while the graph may still write
it), work must not synchronise with the host during capture, and warm-up iterations belong before it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._core import gemm
from .._core.device import CAPTURING, _probe_cupy
from ..ops import _philox
from .streams import Stream

__all__ = ["CUDAGraph", "graph", "graph_pool_handle", "is_current_stream_capturing", "make_graphed_callables"]


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


def _check_callable(fn: Any, args: tuple) -> tuple:
    """torch's checks of one callable and its sample arguments; the flat tuple of those arguments."""
    from ..nn import Module
    from ..utils._pytree import tree_leaves

    if isinstance(fn, Module):
        if fn._backward_hooks or fn._forward_hooks or fn._forward_pre_hooks:
            raise AssertionError(
                "Modules must not have hooks registered at the time they are passed. However, registering hooks "
                "on modules after passing them through make_graphed_callables is allowed.")
        if any(b.requires_grad for b in fn.buffers()):
            raise AssertionError(
                "In any :class:`~torch.nn.Module` passed to :func:`~make_graphed_callables`, only parameters may be "
                "trainable. All buffers must have ``requires_grad=False``.")
    from .._tensor import Tensor

    flat = tuple(tree_leaves(args))
    if not all(isinstance(a, Tensor) for a in flat):
        raise AssertionError("In the beta API, sample_args for each callable must contain only Tensors. Other types "
                             "are not allowed.")
    return flat


def _grads(outputs: tuple, inputs: tuple, grad_outputs: tuple, allow_unused: bool) -> tuple:
    from .. import autograd

    return autograd.grad(outputs=outputs, inputs=inputs, grad_outputs=grad_outputs, only_inputs=True,
                         allow_unused=allow_unused)


def _graphed_function(fwd: CUDAGraph, bwd: CUDAGraph, surface: tuple, n_user: int, params: tuple,
                      outputs: tuple, spec: Any, grad_outputs: tuple, grad_inputs: tuple) -> Callable:
    """The callable that replays ``fwd`` (after copying its arguments into the static inputs) and, in its
    backward, ``bwd`` (after copying the incoming gradients into the static gradient outputs)."""
    from ..autograd import Function
    from ..autograd.function import once_differentiable
    from ..utils._pytree import tree_leaves, tree_unflatten

    class Graphed(Function):
        @staticmethod
        def forward(ctx: Any, *inputs: Any) -> tuple:
            for static, given in zip(surface[:n_user], inputs[:n_user], strict=True):
                if static.data_ptr() != given.data_ptr():
                    static.copy_(given)
            fwd.replay()
            return tuple(o.detach() for o in outputs)

        @staticmethod
        @once_differentiable
        def backward(ctx: Any, *grads: Any) -> tuple:
            for static, given in zip(grad_outputs, grads, strict=True):
                if static is not None and static.data_ptr() != given.data_ptr():
                    static.copy_(given)
            bwd.replay()
            return tuple(None if g is None else g.detach() for g in grad_inputs)

    def graphed(*user_args: Any) -> Any:
        return tree_unflatten(list(Graphed.apply(*tree_leaves(user_args), *params)), spec)

    return graphed


def make_graphed_callables(callables: Any, sample_args: tuple, num_warmup_iters: int = 3,
                           allow_unused_input: bool = False, pool: _Pool | None = None) -> Any:
    """CUDA-graphed versions of callables (or modules, whose ``forward`` is replaced while in the training mode
    they were graphed in): forward and backward are each captured once from ``sample_args`` and replayed on
    every call. Arguments must keep the sample's shapes, dtypes and devices; control flow must not depend on
    values, as torch requires."""
    from .. import is_autocast_cache_enabled, is_autocast_enabled
    from ..nn import Module
    from ..utils._pytree import tree_flatten, tree_leaves
    from . import synchronize
    from .streams import stream as use_stream

    if is_autocast_enabled() and is_autocast_cache_enabled():
        raise RuntimeError(
            "make_graphed_callables does not support the autocast caching. Please set `cache_enabled=False`.")
    one = not isinstance(callables, tuple)
    fns, all_args = ((callables,), (sample_args,)) if one else (callables, sample_args)
    flat_args = [_check_callable(fn, args) for fn, args in zip(fns, all_args, strict=True)]
    params = [tuple(fn.parameters()) if isinstance(fn, Module) else () for fn in fns]
    surfaces = [a + p for a, p in zip(flat_args, params, strict=True)]
    fwd_graphs = [CUDAGraph() for _ in fns]
    bwd_graphs = [CUDAGraph() for _ in fns]
    mempool = graph_pool_handle() if pool is None else pool

    synchronize()
    with use_stream(Stream()):   # warm-up on a side stream, as capture will run there
        for fn, args, surface in zip(fns, all_args, surfaces, strict=True):
            for _ in range(num_warmup_iters):
                needs = tuple(o for o in tree_leaves(fn(*args)) if o.requires_grad)
                if needs:
                    _grads(needs, tuple(i for i in surface if i.requires_grad),
                           tuple(o.new_empty(o.shape) for o in needs), allow_unused_input)
    synchronize()

    outputs, specs = [], []
    for fn, args, g in zip(fns, all_args, fwd_graphs, strict=True):
        with graph(g, pool=mempool):
            flat, spec = tree_flatten(fn(*args))
        outputs.append(tuple(flat))
        specs.append(spec)

    grad_outs: list[tuple] = [()] * len(fns)
    grad_ins: list[tuple] = [()] * len(fns)
    for k in reversed(range(len(fns))):   # backward graphs in reverse order, as autograd would run them
        static_grads = tuple(o.new_empty(o.shape) if o.requires_grad else None for o in outputs[k])
        needs = tuple(o for o in outputs[k] if o.requires_grad)
        wanted = tuple(i for i in surfaces[k] if i.requires_grad)
        got: list[Any] = []
        if needs:
            with graph(bwd_graphs[k], pool=mempool):
                got = list(_grads(needs, wanted, tuple(g for g in static_grads if g is not None), allow_unused_input))
        grad_outs[k] = static_grads
        grad_ins[k] = tuple(got.pop(0) if i.requires_grad and got else None for i in surfaces[k])

    result = []
    for k, fn in enumerate(fns):
        graphed = _graphed_function(fwd_graphs[k], bwd_graphs[k], surfaces[k], len(flat_args[k]), params[k],
                                    outputs[k], specs[k], grad_outs[k], grad_ins[k])
        if isinstance(fn, Module):
            fn.forward = _mode_switch(fn, fn.training, graphed, fn.forward)
            result.append(fn)
        else:
            result.append(graphed)
    return result[0] if one else tuple(result)


def _mode_switch(module: Any, mode: bool, graphed: Callable, eager: Callable) -> Callable:
    """A module's forward that replays the graphs in the training mode they were captured in, else runs eagerly."""
    def forward(*args: Any, **kwargs: Any) -> Any:
        return (graphed if module.training == mode else eager)(*args, **kwargs)
    return forward
