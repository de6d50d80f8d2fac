"""Reverse-mode automatic differentiation: ``backward``, ``grad``, grad modes, custom Functions,
gradcheck, the legacy ``Variable`` and ``autograd.functional``."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from .._tensor import Tensor, from_array
from . import graph
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .graph import Node, RemovableHandle

__all__ = ["backward", "grad", "Function", "FunctionCtx", "once_differentiable", "Variable", "no_grad",
           "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled", "gradcheck", "gradgradcheck",
           "graph", "functional", "set_detect_anomaly", "detect_anomaly"]


def _as_tuple(x: Any) -> tuple:
    if x is None:
        return ()
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _make_grads(outputs: Sequence[Tensor], grads: Sequence[Any]) -> list[Tensor]:
    out = []
    for i, (o, g) in enumerate(zip(outputs, grads, strict=True)):
        if g is None:
            if o._rg and o._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not o._rg:
                raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
            if not o._dtype.is_floating_point and not o._dtype.is_complex:
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got "
                                   f"{o._dtype!r}")
            g = from_array(_ones_like(o._data), o._dtype, o._device)
        elif not isinstance(g, Tensor):
            g = from_array(_ones_like(o._data) * g, o._dtype, o._device)
        elif g._data.shape != o._data.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {tuple(g.shape)!s} and "
                               f"output[{i}] has a shape of {tuple(o.shape)!s}.".replace("(", "torch.Size([")
                               .replace(")", "])").replace(",])", "])"))
        out.append(g)
    return out


def _ones_like(arr: Any) -> Any:
    import numpy as np
    if isinstance(arr, np.ndarray):
        return np.ones(arr.shape, arr.dtype)
    import cupy
    return cupy.ones(arr.shape, arr.dtype)


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, grad_variables: Any = None, inputs: Any = None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of graph leaves."""
    outs = _as_tuple(tensors)
    grads = _as_tuple(grad_tensors) if grad_tensors is not None else (None,) * len(outs)
    if len(grads) != len(outs):
        raise RuntimeError(f"got {len(grads)} gradients for {len(outs)} outputs")
    for i, o in enumerate(outs):
        if not o._rg:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
    if retain_graph is None:
        retain_graph = create_graph
    ins = _as_tuple(inputs) if inputs is not None else None
    if ins is not None and len(ins) == 0:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    graph.run_backward(outs, _make_grads(outs, grads), retain_graph, create_graph, ins, accumulate=True)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs`` (returned, not accumulated)."""
    outs = _as_tuple(outputs)
    ins = _as_tuple(inputs)
    grads = _as_tuple(grad_outputs) if grad_outputs is not None else (None,) * len(outs)
    if allow_unused is None:
        allow_unused = materialize_grads
    if materialize_grads and not allow_unused:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but got: "
                         "allow_unused=False.")
    for i, o in enumerate(outs):
        if not o._rg:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
    if retain_graph is None:
        retain_graph = create_graph
    res = graph.run_backward(outs, _make_grads(outs, grads), retain_graph, create_graph, ins,
                             allow_unused=allow_unused, accumulate=False)
    if materialize_grads:
        res = [r if r is not None else from_array(_ones_like(t._data) * 0, t._dtype, t._device)
               for r, t in zip(res, ins, strict=True)]
    return tuple(res)


def Variable(tensor: Tensor, requires_grad: bool = False, volatile: bool = False) -> Tensor:  # noqa: N802
    """The legacy wrapper: returns a Tensor (as modern torch), a leaf with ``requires_grad``."""
    if volatile:
        warnings.warn("volatile was removed and now has no effect. Use `with torch.no_grad():` instead.",
                      UserWarning, stacklevel=2)
    if not isinstance(tensor, Tensor):
        raise TypeError(f"Variable data has to be a tensor, but got {type(tensor).__name__}")
    t = tensor.detach()
    if requires_grad:
        t.requires_grad_(True)
    return t


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
        return graph._add_hook(self, "_hooks", hook)
    node = self._grad_fn
    store = node.__dict__.setdefault("_tensor_pre_hooks", {})
    hooks = store.setdefault(self._output_nr, {})
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def _register_post_accumulate_grad_hook(self: Tensor, hook: Any) -> RemovableHandle:
    if self._grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    return graph._add_hook(self, "_post_acc_hooks", hook)


class _RetainGradHook:
    """Stores the gradient flowing through a non-leaf into its ``.grad`` (``retain_grad``)."""

    def __init__(self, t: Tensor) -> None:
        import weakref
        self.ref = weakref.ref(t)

    def __call__(self, g: Tensor) -> None:
        t = self.ref()
        if t is None:
            return
        old = t._grad_or_none()
        t._grad = g.detach().clone() if old is None else old + g


def _retain_grad(self: Tensor) -> None:
    if self._grad_fn is None:
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        return
    if getattr(self, "_retains_grad", False):
        return
    self._retains_grad = True
    _register_hook(self, _RetainGradHook(self))


Tensor.backward = _tensor_backward  # type: ignore[attr-defined]
Tensor.register_hook = _register_hook  # type: ignore[attr-defined]
Tensor.register_post_accumulate_grad_hook = _register_post_accumulate_grad_hook  # type: ignore[attr-defined]
Tensor.retain_grad = _retain_grad  # type: ignore[attr-defined]
Tensor.retains_grad = property(lambda self: getattr(self, "_retains_grad", False))  # type: ignore


class set_detect_anomaly:
    """Accepted for compatibility; ember's errors already name the failing operation."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.mode = mode

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


detect_anomaly = set_detect_anomaly

from . import functional  # noqa: E402
from .gradcheck import gradcheck, gradgradcheck  # noqa: E402
