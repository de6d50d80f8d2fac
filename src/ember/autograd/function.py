"""Custom differentiable operators: ``ember.autograd.Function`` with torch's ctx API."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .._tensor import Tensor, from_array
from .grad_mode import STATE, no_grad
from .graph import Node, SavedOutput, grad_edge

__all__ = ["Function", "FunctionCtx", "once_differentiable", "BackwardCFunction"]


class FunctionCtx:
    """What ``forward`` receives as ``ctx``: save tensors, mark outputs, read ``needs_input_grad``."""

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError("save_for_backward can only save variables, but argument 0 is of type "
                                f"{type(t).__name__}")
        self._to_save = tensors

    def save_for_forward(self, *tensors: Tensor | None) -> None:
        self._to_save_fwd = tensors

    def mark_dirty(self, *args: Tensor) -> None:
        self._dirty = args

    def mark_non_differentiable(self, *args: Tensor) -> None:
        self._non_diff = args

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize = value


class BackwardCFunction(Node, FunctionCtx):
    """The graph node of one ``Function.apply`` call; it is also the ``ctx``."""

    __slots__ = ()
    _forward_cls: type[Function]

    def __init__(self) -> None:
        self._saved = None
        self._materialize = True

    @property
    def saved_tensors(self) -> tuple:
        if getattr(self, "_to_save", None) is None:
            return ()
        return self.saved

    saved_variables = saved_tensors

    def backward(self, *grads: Any) -> tuple:
        cls = self._forward_cls
        if self._materialize:
            grads = tuple(g if g is not None else _zeros(m) for g, m in zip(grads, self._out_meta_all, strict=True))
        result = cls.backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n_args = len(self._arg_is_tensor)
        if len(result) != n_args:
            if len(result) < n_args or any(r is not None for r in result[n_args:]):
                raise RuntimeError(f"function {type(self).__name__} returned an incorrect number of gradients "
                                   f"(expected {n_args}, got {len(result)})")
            result = result[:n_args]
        return tuple(r for r, is_t in zip(result, self._arg_is_tensor, strict=True) if is_t)

    def fill_missing(self, grads: list) -> list:
        return grads


def _zeros(meta: tuple) -> Tensor:
    shape, dtype, dev = meta
    from .._core.device import xp_of
    return from_array(xp_of(dev).zeros(shape, dtype.np), dtype, dev)


class _FunctionMeta(type):
    """Gives each Function subclass its own node class named ``<Name>Backward``."""

    def __init__(cls, name: str, bases: tuple, attrs: dict) -> None:
        super().__init__(name, bases, attrs)
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,), {"__slots__": (), "_forward_cls": cls})


class Function(FunctionCtx, metaclass=_FunctionMeta):
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call ``apply``."""

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> Any:
        return _SingleLevel

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx: Any, *grad_inputs: Any) -> Any:
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it "
                                  "with forward mode AD.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. Please use "
                           "new-style autograd function with static forward method. (Example: "
                           "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        node = cls._backward_cls()
        is_tensor = tuple(isinstance(a, Tensor) for a in args)
        node._arg_is_tensor = is_tensor
        node.needs_input_grad = tuple(isinstance(a, Tensor) and a._rg for a in args)
        uses_setup = cls.setup_context is not Function.setup_context
        with no_grad():
            if uses_setup:
                outputs = cls.forward(*args, **kwargs)
                cls.setup_context(node, args, outputs)
            else:
                outputs = cls.forward(node, *args, **kwargs)
        return _wrap_outputs(node, args, outputs)


class _SingleLevel:
    pass


def _wrap_outputs(node: BackwardCFunction, args: tuple, outputs: Any) -> Any:
    single = not isinstance(outputs, tuple)
    outs = (outputs,) if single else outputs
    tensor_inputs = [a for a in args if isinstance(a, Tensor)]
    differentiable = STATE.enabled and any(t._rg for t in tensor_inputs)
    dirty = {id(t) for t in getattr(node, "_dirty", ())}
    non_diff = {id(t) for t in getattr(node, "_non_diff", ())}
    input_ids = {id(a) for a in tensor_inputs}
    wrapped = []
    for o in outs:
        if isinstance(o, Tensor) and id(o) in input_ids and id(o) not in dirty:
            alias = from_array(o._data, o._dtype, o._device)   # torch returns a view of a returned input
            alias._vc = o._vc
            alias._base = o._base if o._base is not None else o
            o = alias
        wrapped.append(o)
    if differentiable:
        node._next = tuple(grad_edge(t) for t in tensor_inputs)
        node._meta = tuple((t._data.shape, t._dtype) for t in tensor_inputs)
        node._n_outputs = len(wrapped)
        node._out_meta_all = tuple((o._data.shape, o._dtype, o._device) if isinstance(o, Tensor) else
                                   ((), None, None) for o in wrapped)
        for i, o in enumerate(wrapped):
            if not isinstance(o, Tensor):
                continue
            if id(o) in non_diff or not (o._dtype.is_floating_point or o._dtype.is_complex):
                o._rg = False
                continue
            if id(o) in dirty and o._grad_fn is None and o._rg:
                raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
            if id(o) in dirty:
                o._vc[0] += 1
            o._grad_fn = node
            o._output_nr = i
            o._rg = True
    to_save = getattr(node, "_to_save", None)
    if to_save is not None:
        out_ids = {id(o): o for o in wrapped if isinstance(o, Tensor)}
        orig_ids = {id(orig): w for orig, w in zip(outs, wrapped, strict=True) if isinstance(orig, Tensor)}
        saved = []
        for t in to_save:
            if t is not None and (id(t) in out_ids or id(t) in orig_ids) and differentiable:
                w = out_ids.get(id(t)) or orig_ids[id(t)]
                saved.append(SavedOutput(w) if w._grad_fn is node else w)
            else:
                saved.append(t)
        node.save(*saved)
    return wrapped[0] if single else tuple(wrapped)


def once_differentiable(fn: Callable) -> Callable:
    """Run a custom backward without recording it (its result cannot be differentiated again)."""
    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any) -> Any:
        with no_grad():
            return fn(ctx, *args)
    return wrapper
