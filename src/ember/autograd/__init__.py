"""Reverse-mode automatic differentiation: ``backward``, ``grad``, grad modes, custom Functions,
gradcheck, the legacy ``Variable`` and ``autograd.functional``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._core.device import xp_of
from .._core.warn import warn
from .._tensor import Size, Tensor, from_array, zeros_of
from . import forward_ad, graph, profiler, profiler_util
from .anomaly_mode import (
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_anomaly_enabled,
    set_detect_anomaly,
)
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (
    _force_original_view_tracking,  # noqa: F401 (torch.autograd's private name, used by libraries)
    enable_grad,
    enforce_grad_layout_policy,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    is_multithreading_enabled,
    is_view_replay_enabled,
    no_grad,
    set_grad_enabled,
    set_multithreading_enabled,
)
from .graph import RemovableHandle
from .profiler import ProfilerActivity, _supported_activities, kineto_available  # noqa: F401
from .profiler_util import DeviceType
from .variable import Variable

__all__ = ["backward", "grad", "Function", "FunctionCtx", "once_differentiable", "Variable", "no_grad",
           "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled",
           "gradcheck", "gradgradcheck", "graph", "forward_ad", "functional", "set_detect_anomaly", "detect_anomaly",
           "set_anomaly_enabled", "is_anomaly_enabled", "is_anomaly_check_nan_enabled", "profiler", "profiler_util",
           "ProfilerActivity", "kineto_available", "DeviceType", "set_multithreading_enabled",
           "is_multithreading_enabled", "is_view_replay_enabled", "enforce_grad_layout_policy"]


def _as_tuple(x: Any) -> tuple:
    return (x,) if isinstance(x, (Tensor, graph.GradientEdge)) else tuple(x)


def _inputs_tuple(inputs: Any, api: str) -> tuple:
    if type(inputs) is dict:
        return tuple(inputs.values())
    if isinstance(inputs, Mapping):
        raise TypeError(f"`inputs` argument to `{api}()` must be a dict, not {type(inputs).__name__}. Other "
                        "Mapping types are not supported.")
    ins = _as_tuple(inputs)
    if not ins:
        raise RuntimeError(f"`inputs` argument to `{api}()` cannot be empty.")
    return ins


def _make_grads(outputs: Sequence[Tensor], grads: Any) -> list[Tensor | None]:
    """Check user gradients against the outputs (torch's texts) and create the implicit ones."""
    grads = (None,) * len(outputs) if grads is None else _as_tuple(grads)
    out: list[Tensor | None] = []
    for i, (o, g) in enumerate(zip(outputs, grads, strict=False)):
        if isinstance(g, Tensor):
            if g._data.shape != o._data.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and "
                                   f"output[{i}] has a shape of {o.shape}.")
            if g._dtype.is_complex != o._dtype.is_complex:
                raise RuntimeError("For complex Tensors, both grad_output and output are required to have "
                                   f"the same dtype. Mismatch in dtype: grad_output[{i}] has a dtype of "
                                   f"{g._dtype} and output[{i}] has a dtype of {o._dtype}.")
            if g._dtype is not o._dtype:
                g = g.to(o._dtype)
        elif g is None:
            if o._rg:
                if o._data.size != 1:
                    raise RuntimeError("grad can be implicitly created only for scalar outputs")
                if not o._dtype.is_floating_point:
                    raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got "
                                       f"{o._dtype}")
                arr = xp_of(o._device).empty(o._data.shape, o._dtype.np)
                arr.fill(1)   # much faster than numpy.ones for the usual 0-d case
                g = from_array(arr, o._dtype, o._device)
        else:
            raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}")
        out.append(g)
    if len(out) != len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grads)} gradients")
    for i, o in enumerate(outputs):
        if not o._rg:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
    return out


def _zeros_like(t: Tensor, requires_grad: bool) -> Tensor:
    z = zeros_of(t._data.shape, t._dtype, t._device)
    z._rg = requires_grad
    return z


_warned_create_graph = [False]


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, grad_variables: Any = None, inputs: Any = None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of graph leaves (or of ``inputs``)."""
    if grad_variables is not None:
        warn("`grad_variables` is deprecated. Use `grad_tensors` instead.", FutureWarning,
             stacklevel=2)
        if grad_tensors is not None:
            raise RuntimeError("`grad_tensors` and `grad_variables` (deprecated) arguments both passed to "
                               "`backward()`. Please only use `grad_tensors`.")
        grad_tensors = grad_variables
    ins = _inputs_tuple(inputs, "backward") if inputs is not None else None
    outs = _as_tuple(tensors)
    grads = _make_grads(outs, grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    if ins is not None:
        for t in ins:
            t.retain_grad()   # as torch: gradients of non-leaf inputs land in their .grad
    if create_graph and not _warned_create_graph[0]:
        _warned_create_graph[0] = True
        warn(
            "Using backward() with create_graph=True will create a reference cycle between the parameter "
            "and its gradient which can cause a memory leak. We recommend using autograd.grad when creating "
            "the graph to avoid this. If you have to use this function, make sure to reset the .grad fields "
            "of your parameters to None after use to break the cycle and avoid the leak. (Triggered "
            "internally at "
            "/__w/pytorch/pytorch/torch/csrc/autograd/engine.cpp:1307.)", UserWarning, stacklevel=3)
    graph.run_backward(outs, grads, retain_graph, create_graph, ins, accumulate=True)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> Any:
    """Gradients of ``outputs`` with respect to ``inputs`` (returned, not accumulated)."""
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but "
                         "got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    outs = _as_tuple(outputs)
    ins = _inputs_tuple(inputs, "grad")
    if not only_inputs:
        warn("only_inputs argument is deprecated and is ignored now (defaults to True). To "
             "accumulate gradient for other parts of the graph, please use "
             "torch.autograd.backward.",
             FutureWarning,
             stacklevel=2)
    if is_grads_batched:
        return _batched_grad(outs, inputs, ins, grad_outputs, retain_graph, create_graph, allow_unused,
                             materialize_grads)
    grads = _make_grads(outs, grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    res = graph.run_backward(outs, grads, retain_graph, create_graph, ins, allow_unused=allow_unused,
                             accumulate=False)
    if materialize_grads:
        res = [r if r is not None else _zeros_like(t, create_graph) for r, t in zip(res, ins, strict=True)]
    if type(inputs) is dict:
        return dict(zip(inputs.keys(), res, strict=True))
    return tuple(res)


def _batched_grad(outs: tuple, inputs: Any, ins: tuple, grad_outputs: Any, retain_graph: bool | None,
                  create_graph: bool, allow_unused: bool, materialize_grads: bool) -> Any:
    """``grad(..., is_grads_batched=True)``: one vector-Jacobian product per row of the grad_outputs (their first
    dimension), stacked. torch vmaps the backward; here the graph is run once per row (kept until the last)."""
    from ..ops.shape import stack

    given = _as_tuple(grad_outputs) if grad_outputs is not None else (None,) * len(outs)
    if any(g is None for g in given):
        _make_grads(outs, None)   # torch's error for non-scalar outputs; a scalar output takes no batch
    for i, (g, o) in enumerate(zip(given, outs, strict=True)):
        if g is not None and (g.dim() == 0 or tuple(g.shape[1:]) != tuple(o.shape)):
            raise RuntimeError(
                "If `is_grads_batched=True`, we interpret the first dimension of each grad_output as the batch "
                "dimension. The sizes of the remaining dimensions are expected to match the shape of corresponding "
                f"output, but a mismatch was detected: grad_output[{i}] has a shape of "
                f"{Size(g.shape[1:] if g.dim() else ())} and output[{i}] has a shape of {Size(o.shape)}. If you "
                "only want some tensors in `grad_output` to be considered batched, consider using vmap.")
    rows = given[0].shape[0]
    keep = create_graph if retain_graph is None else retain_graph
    per_row = [grad(outs, ins, tuple(g[r] for g in given), retain_graph=keep or r < rows - 1,
                    create_graph=create_graph, allow_unused=True) for r in range(rows)]
    res: list[Any] = []
    for j, t in enumerate(ins):
        parts = [row[j] for row in per_row]
        if rows and all(p is None for p in parts):
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the graph. "
                                   "Set allow_unused=True if this is the desired behavior.")
            res.append(_zeros_like(t, create_graph) if materialize_grads else None)
        else:
            res.append(stack([p if p is not None else _zeros_like(t, create_graph) for p in parts]))
    if type(inputs) is dict:
        return dict(zip(inputs.keys(), res, strict=True))
    return tuple(res)


# ---- Tensor methods that belong to autograd ---------------------------------------------------------
def _tensor_backward(self: Tensor, gradient: Any = None, retain_graph: bool | None = None,
                     create_graph: bool = False, inputs: Any = None) -> None:
    """Backpropagate from this tensor (a scalar unless ``gradient`` is given)."""
    backward(self, gradient, retain_graph, create_graph, inputs=inputs)


def _register_hook(self: Tensor, hook: Any) -> RemovableHandle:
    """``hook(grad)`` runs when this tensor's gradient is computed; may return a replacement."""
    if not self._rg:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if self._grad_fn is None:
        return graph.add_hook(self, "_hooks", hook)
    return self._grad_fn._add_hook("_tensor_pre_hooks", hook, self._output_nr)


def _register_post_accumulate_grad_hook(self: Tensor, hook: Any) -> RemovableHandle:
    """``hook(tensor)`` runs after a gradient was accumulated into this leaf's ``.grad``."""
    if self._grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    return graph.add_hook(self, "_post_acc_hooks", hook)


Tensor.backward = _tensor_backward  # type: ignore[attr-defined]
Tensor.register_hook = _register_hook  # type: ignore[attr-defined]
Tensor.register_post_accumulate_grad_hook = _register_post_accumulate_grad_hook  # type: ignore[attr-defined]
Tensor.retain_grad = graph.retain_grad  # type: ignore[attr-defined]
Tensor.retains_grad = property(lambda self: getattr(self, "_retains_grad", False))  # type: ignore


from . import functional  # noqa: E402
from .gradcheck import gradcheck, gradgradcheck  # noqa: E402
