"""``torch.utils.checkpoint``: activation checkpointing — run a function without keeping its intermediate
activations and recompute them during backward, with the RNG state of the forward restored so random ops
(dropout) give the same values again.

Two implementations, as torch: the reentrant one is a custom :class:`~ember.autograd.Function` whose backward
reruns the function with grad enabled and back-propagates through it; the non-reentrant one runs the function
with grad enabled (so outputs carry the real ``grad_fn``), then frees what the new graph nodes saved and, on the
first backward that reaches one of them, recomputes the function and hands each node the tensors its twin in
the recomputed graph saved (ember has no saved-tensor hooks; node-by-node pairing in creation order plays
their role).
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager as ContextManager
from typing import Any

from .._tensor import Size, Tensor
from ..autograd import Function, enable_grad, is_grad_enabled, no_grad
from ..autograd import graph as _graph
from ..ops.random import get_rng_state, set_rng_state
from ..random import fork_rng

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "CheckpointFunction",
           "check_backward_validity", "detach_variable", "noop_context_fn"]

_DEFAULT_DETERMINISM_MODE = "default"
_DEBUG_TIP = (
    "\nTip: To see a more detailed error message, either pass `debug=True` to\n"
    "`torch.utils.checkpoint.checkpoint(...)` or wrap the code block\n"
    "with `with torch.utils.checkpoint.set_checkpoint_debug_enabled(True):` to\n"
    "enable checkpoint\u2011debug mode globally.\n")


class CheckpointError(RuntimeError):
    """Raised when the recomputation does not reproduce what the original forward saved."""


def noop_context_fn() -> tuple[ContextManager, ContextManager]:
    """The default ``context_fn``: no context around the forward nor the recomputation."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def detach_variable(inputs: tuple) -> tuple:
    """Detach the tensors of ``inputs``, keeping their ``requires_grad``."""
    if not isinstance(inputs, tuple):
        raise RuntimeError(f"Only tuple of tensors is supported. Got Unsupported input type: {type(inputs).__name__}")
    out = []
    for inp in inputs:
        if not isinstance(inp, Tensor):
            out.append(inp)
            continue
        x = inp.detach()
        x.requires_grad = inp.requires_grad
        out.append(x)
    return tuple(out)


def check_backward_validity(inputs: Iterable[Any]) -> None:
    """Warn (as torch) when no tensor input requires grad: the checkpointed segment gets no gradient."""
    if not any(inp.requires_grad for inp in inputs if isinstance(inp, Tensor)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)


@contextlib.contextmanager
def _forward_rng(preserve: bool, state: Any) -> Any:
    """Run the recomputation under the forward's RNG state, restoring the surrounding state afterwards."""
    with fork_rng(devices=[], enabled=preserve):
        if preserve:
            set_rng_state(state)
        yield


def _is_checkpoint_valid() -> bool:
    """Whether the backward running this node was started without ``inputs`` (``.backward()``, not
    ``autograd.grad``): read from the innermost engine frame, as torch asks its current graph task."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is _graph.run_backward.__code__:
            return frame.f_locals.get("inputs") is None
        frame = frame.f_back
    return True


class CheckpointFunction(Function):
    """The reentrant checkpoint: forward under ``no_grad``; backward recomputes and back-propagates."""

    @staticmethod
    def forward(ctx: Any, run_function: Callable, preserve_rng_state: bool, *args: Any) -> Any:
        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.preserve_rng_state = preserve_rng_state
        if preserve_rng_state:
            ctx.fwd_cpu_state = get_rng_state()
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])
        with no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        from ..autograd import backward as _backward

        if not _is_checkpoint_valid():
            raise RuntimeError("When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() or "
                               "passing an `inputs` parameter to .backward(). To resolve this error, you can either "
                               "set use_reentrant=False, or call .backward() without passing the `inputs` "
                               "argument.")
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors, strict=True):
            inputs[i] = t
        with _forward_rng(ctx.preserve_rng_state, getattr(ctx, "fwd_cpu_state", None)):
            detached = detach_variable(tuple(inputs))
            with enable_grad():
                outputs = ctx.run_function(*detached)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grads, strict=False) if isinstance(o, Tensor) and o.requires_grad]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        _backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(x.grad if isinstance(x, Tensor) else None for x in detached)


def _flat_tensors(obj: Any) -> list[Tensor]:
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _flat_tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _flat_tensors(o)]
    return []


def _nodes_since(outputs: Any, start: int) -> list[_graph.Node]:
    """The graph nodes created after sequence number ``start`` that the outputs reach, in creation order."""
    seen: dict[int, _graph.Node] = {}
    stack = [t.grad_fn for t in _flat_tensors(outputs) if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or isinstance(node, _graph.AccumulateGrad) or node._seq <= start:
            continue
        seen[id(node)] = node
        stack.extend(edge[0] for edge in node._next if edge is not None)
    return sorted(seen.values(), key=lambda n: n._seq)


def _saved_meta(nodes: list[_graph.Node]) -> list[dict[str, Any]]:
    return [{"shape": Size(t.shape), "dtype": t._dtype, "device": t._device}
            for n in nodes for t in (n._saved or ()) if isinstance(t, (Tensor, _graph.SavedOutput))]


class _Frame:
    """One non-reentrant checkpoint: the nodes whose saved tensors were freed and how to recompute them."""

    def __init__(self, fn: Callable, args: tuple, kwargs: dict, preserve: bool, rng_state: Any,
                 recompute_ctx: ContextManager, check: bool) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.preserve, self.rng_state, self.recompute_ctx, self.check = preserve, rng_state, recompute_ctx, check
        self.nodes: list[_graph.Node] = []
        self.meta: list[dict[str, Any]] = []
        self.handles: list[Any] = []
        self.done = False

    def release(self, nodes: list[_graph.Node]) -> None:
        self.nodes = [n for n in nodes if n._saved is not None]
        self.meta = _saved_meta(self.nodes)
        for n in self.nodes:
            n._saved = None
            self.handles.append(n.register_prehook(self._prehook))

    def _prehook(self, grads: tuple) -> None:
        if not self.done:
            self.recompute()

    def recompute(self) -> None:
        with _forward_rng(self.preserve, self.rng_state):
            with enable_grad(), self.recompute_ctx:   # on the original inputs, so double backward reaches them
                start = _graph._next_seq()
                out = self.fn(*self.args, **self.kwargs)
        twins = [n for n in _nodes_since(out, start) if n._saved is not None]
        meta = _saved_meta(twins)
        if self.check:
            if len(meta) != len(self.meta) or len(twins) != len(self.nodes):
                raise CheckpointError(
                    "torch.utils.checkpoint: A different number of tensors was saved during the original forward "
                    f"and recomputation.\nNumber of tensors saved during forward: {len(self.meta)}\n"
                    f"Number of tensors saved during recomputation: {len(meta)}.\n{_DEBUG_TIP}")
            bad = [f"tensor at position {i}:\nsaved metadata: {a}\nrecomputed metadata: {b}\n"
                   for i, (a, b) in enumerate(zip(self.meta, meta, strict=True)) if a != b]
            if bad:
                raise CheckpointError("torch.utils.checkpoint: Recomputed values for the following tensors have "
                                      f"different metadata than during the forward pass.\n{''.join(bad)}.\n"
                                      f"{_DEBUG_TIP}")
        for node, twin in zip(self.nodes, twins, strict=False):
            node._saved, node._versions = twin._saved, twin._versions
        self.done = True
        for h in self.handles:
            h.remove()


def _checkpoint_without_reentrant(function: Callable, preserve: bool, context_fn: Callable,
                                  determinism_check: str, debug: bool, args: tuple, kwargs: dict) -> Any:
    if debug and context_fn is not noop_context_fn:
        raise ValueError("debug=True is incompatible with non-default context_fn")
    forward_ctx, recompute_ctx = context_fn()
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check should be one of ['default', 'none'], but got {determinism_check}")
    if not is_grad_enabled():
        return function(*args, **kwargs)
    rng_state = get_rng_state() if preserve else None
    frame = _Frame(function, args, kwargs, preserve, rng_state, recompute_ctx, determinism_check == "default")
    start = _graph._next_seq()
    with forward_ctx:
        out = function(*args, **kwargs)
    frame.release(_nodes_since(out, start))
    return out


def checkpoint(function: Callable, *args: Any, use_reentrant: bool | None = None,
               context_fn: Callable[[], tuple[ContextManager, ContextManager]] = noop_context_fn,
               determinism_check: str = _DEFAULT_DETERMINISM_MODE, debug: bool = False, early_stop: bool = True,
               **kwargs: Any) -> Any:
    """Run ``function(*args, **kwargs)`` without storing its activations; they are recomputed in backward."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting in "
            "PyTorch 2.9, calling checkpoint without use_reentrant will raise an exception. use_reentrant=False "
            "is recommended, but if you need to preserve the current default behavior, you can pass "
            "use_reentrant=True. Refer to docs for more details on the differences between the two variants.",
            stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        return CheckpointFunction.apply(function, preserve, *args)
    return _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check, debug, args, kwargs)


def checkpoint_sequential(functions: Any, segments: int, input: Any, use_reentrant: bool | None = None,
                          **kwargs: Any) -> Any:
    """Split ``functions`` (a list or ``nn.Sequential``) into ``segments`` chunks and checkpoint all but the
    last, which runs normally."""
    from ..nn import Sequential

    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed "
            "explicitly. In version 2.9 we will raise an exception if use_reentrant is not passed. "
            "use_reentrant=False is recommended, but if you need to preserve the current default behavior, you "
            "can pass use_reentrant=True. Refer to docs for more details on the differences between the two "
            "variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))

    def run(start: int, end: int) -> Callable:
        def forward(x: Any) -> Any:
            for j in range(start, end + 1):
                x = functions[j](x)
            return x
        return forward

    if isinstance(functions, Sequential):
        functions = list(functions.children())
    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)
