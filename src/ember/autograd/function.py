"""Custom differentiable operators: ``ember.autograd.Function`` with torch's ctx API.

``apply`` runs ``forward`` without recording, then makes one graph node (an instance of the class's
``<Name>Backward`` subclass of :class:`BackwardCFunction`, which is also the ``ctx``) the ``grad_fn`` of
the differentiable outputs. Outputs the node saves are held as :class:`SavedOutput`, so saving them
creates no reference cycle.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

from .._core.warn import warn
from .._tensor import Tensor, from_array, zeros_of
from . import forward_ad
from .grad_mode import STATE, no_grad, switch
from .graph import _RELEASED, FREED, Node, SavedOutput, grad_edge

__all__ = ["Function", "FunctionCtx", "once_differentiable", "BackwardCFunction", "InplaceFunction"]


class FunctionCtx:
    """What ``forward`` (or ``setup_context``) receives as ``ctx``: save tensors, mark outputs."""

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep tensors (inputs, outputs or None) for ``backward``; read them back as ``saved_tensors``."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} is of type "
                                f"{type(t).__name__}")
        self._to_save = tensors

    def save_for_forward(self, *tensors: Tensor | None) -> None:
        """Keep tensors for ``jvp`` (forward-mode AD), where they are read back as ``saved_tensors``."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_forward expects all arguments to be tensors; but got {i}-th argument of "
                                f"type {type(t).__name__}")
        self._to_save_fwd = tensors

    def mark_dirty(self, *args: Tensor) -> None:
        """Declare inputs that ``forward`` modified in place (they must be returned)."""
        self._dirty = args

    def mark_non_differentiable(self, *args: Tensor) -> None:
        """Declare outputs that get no gradient (their incoming gradient is always zero)."""
        self._non_diff = args

    def set_materialize_grads(self, value: bool) -> None:
        """With False, ``backward`` receives None (not zeros) for outputs that got no gradient."""
        self._materialize = value


class BackwardCFunction(Node, FunctionCtx):
    """The graph node of one ``Function.apply`` call; it is also the ``ctx``."""

    _forward_cls: type[Function]
    _materialize = True
    _to_save: tuple | None = None
    _runs_ungraded = True

    @property
    def saved_tensors(self) -> tuple:
        if self._to_save is None:
            return ()
        if self._saved is not None and self._versions is _RELEASED:
            raise RuntimeError(FREED)
        return self.saved

    saved_variables = saved_tensors

    def apply(self, *grads: Any) -> Any:
        """The user's ``backward`` on this ctx, as is."""
        return self._forward_cls.backward(self, *grads)

    def backward(self, *grads: Any) -> tuple:
        """Call the user's ``backward`` and check its result (count, types) as torch does."""
        if self._materialize:
            grads = tuple(zeros_of(*m) if g is None and m is not None else g
                          for g, m in zip(grads, self._out_meta, strict=True))
        result = self._forward_cls.backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        is_tensor = self._arg_is_tensor
        n = len(is_tensor)
        name = type(self).__name__
        if len(result) != n:
            if len(result) < n or any(r is not None for r in result[n:]):
                raise RuntimeError(f"function {name} returned an incorrect number of gradients (expected "
                                   f"{n}, got {len(result)})")
        out = []
        for i, (r, t) in enumerate(zip(result, is_tensor, strict=False)):
            if t:
                if r is not None and not isinstance(r, Tensor):
                    raise RuntimeError(f"expected Variable or None (got {type(r).__name__})")
                out.append(r)
            elif r is not None:
                raise RuntimeError(f"function {name} returned a gradient different than None at position "
                                   f"{i + 1}, but the corresponding forward input was not a Variable")
        return tuple(out)

    def fill_missing(self, grads: list) -> list:
        return grads   # materialised (or not) in backward, per set_materialize_grads

    def __repr__(self) -> str:
        return f"<torch.autograd.function.{type(self).__name__} object at {hex(id(self))}>"


class _FunctionMeta(type):
    """Gives each Function subclass its own node class named ``<Name>Backward``."""

    def __init__(cls, name: str, bases: tuple, attrs: dict) -> None:
        super().__init__(name, bases, attrs)
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,),
                                 {"_forward_cls": cls, "__module__": "torch.autograd.function"})


class _Transforms(threading.local):
    """The ``ember.func`` transforms running on this thread, innermost last ("vmap" or "grad")."""

    stack: tuple[str, ...] = ()


TRANSFORMS = _Transforms()
_NEEDS_SETUP_CONTEXT = ("In order to use an autograd.Function with functorch transforms (vmap, grad, jvp, jacrev, "
                        "...), it must override the setup_context staticmethod. For more details, please see "
                        "https://pytorch.org/docs/main/notes/extending.func.html")


class Function(FunctionCtx, metaclass=_FunctionMeta):
    """Subclass with static ``forward(ctx, *args)`` (or ``forward(*args)`` plus ``setup_context``) and
    ``backward(ctx, *grads)``; call ``apply``. Under ``ember.func`` transforms torch's rules hold: the function
    needs ``setup_context``, and under ``vmap`` a ``vmap`` staticmethod or ``generate_vmap_rule = True`` (ember
    maps the forward slice by slice either way)."""

    generate_vmap_rule = False

    @staticmethod
    def forward(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> Any:
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx: Any, *grad_inputs: Any) -> Any:
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use "
                                  "it with forward mode AD.")

    @staticmethod
    def vmap(info: Any, in_dims: Any, *args: Any) -> Any:
        raise NotImplementedError("To use autograd.Function with vmap, you must either override the vmap "
                                  "staticmethod or set generate_vmap_rule=True.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warn(f"{self.__class__} should not be instantiated. Methods on autograd functions are all "
             "static, so you should invoke them on the class itself. Instantiating an autograd "
             "function will raise an error in a future version of "
             "PyTorch.", DeprecationWarning, stacklevel=2)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. Please "
                           "use new-style autograd function with static forward method. (Example: "
                           "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` and record one node for its outputs (when some tensor input requires grad)."""
        uses_setup = cls.setup_context is not Function.setup_context
        if TRANSFORMS.stack:
            if not uses_setup:
                raise RuntimeError(_NEEDS_SETUP_CONTEXT)
            if TRANSFORMS.stack[-1] == "vmap" and not cls.generate_vmap_rule and cls.vmap is Function.vmap:
                raise RuntimeError(f"You tried to vmap over {cls.__name__}, but it does not have vmap support. "
                                   "Please override and implement the vmap staticmethod or set "
                                   "generate_vmap_rule=True. For more details, please see "
                                   "https://pytorch.org/docs/main/notes/extending.func.html")
        if uses_setup or kwargs:
            sig = inspect.signature(cls.forward)
            bound = sig.bind(*args, **kwargs) if uses_setup else sig.bind(None, *args, **kwargs)
            if uses_setup:   # setup_context sees every input, defaults included (torch)
                bound.apply_defaults()
            args = bound.args if uses_setup else bound.args[1:]
            kwargs = bound.kwargs
        node = cls._backward_cls()
        differentiable = STATE.grad and any(isinstance(a, Tensor) and a._rg and not a._fw_only for a in args)
        node._arg_is_tensor = tuple(isinstance(a, Tensor) for a in args)
        node.needs_input_grad = tuple(differentiable and isinstance(a, Tensor) and a._rg and not a._fw_only
                                      for a in args)
        fw = forward_ad.ACTIVE[0]
        prev = switch(False, False)   # forward runs under no_grad, and sees no tangents (its jvp gives them)
        try:
            if uses_setup:
                outputs = cls.forward(*args, **kwargs)
                cls.setup_context(node, args, outputs)
            else:
                outputs = cls.forward(node, *args, **kwargs)
        finally:
            switch(*prev)
        if fw:
            dual = any(isinstance(a, Tensor) and forward_ad.tangent_of(a) is not None for a in args)
            wrapped = _wrap_outputs(node, args, outputs, differentiable)
            if dual:
                forward_ad.function_jvp(cls, node, args, wrapped)
            return wrapped
        return _wrap_outputs(node, args, outputs, differentiable)


InplaceFunction = Function


def _alias(t: Tensor, view: bool) -> Tensor:
    """A new tensor on ``t``'s memory and version counter (a view of it when ``view``)."""
    a = from_array(t._data, t._dtype, t._device)
    a._vc = t._vc
    if view:
        a._base = t._base if t._base is not None else t
    return a


def _wrap_outputs(node: BackwardCFunction, args: tuple, outputs: Any, differentiable: bool) -> Any:
    single = not isinstance(outputs, tuple)
    outs = (outputs,) if single else outputs
    tensor_inputs = [a for a in args if isinstance(a, Tensor)]
    input_ids = {id(a) for a in tensor_inputs}
    d = node.__dict__
    marked_dirty = d.pop("_dirty", ())   # popped: the node must not hold its outputs (no cycles)
    dirty = {id(t) for t in marked_dirty}
    non_diff = {id(t) for t in d.pop("_non_diff", ())}
    if dirty - {id(o) for o in outs}:
        raise RuntimeError("Some elements marked as dirty during the forward method were not returned as "
                           "output. The inputs that are modified inplace must all be outputs of the "
                           "Function.")
    for t in marked_dirty:
        _check_dirty(t, differentiable)
        t._vc[0] += 1
    wrapped = [_alias(o, differentiable and id(o) not in non_diff)
               if isinstance(o, Tensor) and id(o) in input_ids and id(o) not in dirty else o for o in outs]
    if differentiable:
        node._next = tuple(grad_edge(t) for t in tensor_inputs)
        node._meta = tuple((t._data.shape, t._dtype) for t in tensor_inputs)
        node._n_outputs = len(wrapped)
        node._out_meta = tuple((o._data.shape, o._dtype, o._device) if isinstance(o, Tensor) else None
                               for o in wrapped)
        for i, (orig, o) in enumerate(zip(outs, wrapped, strict=True)):
            if not isinstance(o, Tensor):
                continue
            if id(orig) in non_diff or not (o._dtype.is_floating_point or o._dtype.is_complex):
                o._rg = False
            elif id(o) in dirty and o._base is not None and len(wrapped) == 1 and o is args[0]:
                from ..ops.views import rebase_view
                rebase_view(o, node)
            else:
                o._grad_fn = node
                o._output_nr = i
                o._rg = True
    to_save = d.get("_to_save")
    if to_save is not None:
        node._to_save = ()
        produced = {id(o): w for o, w in zip(outs, wrapped, strict=True) if isinstance(o, Tensor)}
        produced.update((id(w), w) for w in wrapped if isinstance(w, Tensor))
        saved = []
        for t in to_save:
            w = produced.get(id(t)) if t is not None else None
            saved.append(SavedOutput(w) if w is not None and w._grad_fn is node else t)
        node.save(*saved)
    return wrapped[0] if single else tuple(wrapped)


def _check_dirty(t: Tensor, differentiable: bool) -> None:
    """torch's errors for marking a leaf (or a view of one) that requires grad as modified in place."""
    if not differentiable:
        return
    if t._rg and t._grad_fn is None and t._base is None:
        raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
    base = t._base
    if base is not None and base._rg and base._grad_fn is None:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                           "operation.")


class DelayedError(Node):
    """Stands behind the outputs of a ``once_differentiable`` backward: differentiating them raises."""

    def backward(self, *grads: Any) -> tuple:
        raise RuntimeError("trying to differentiate twice a function that was marked with "
                           "@once_differentiable")


def once_differentiable(fn: Callable) -> Callable:
    """Run a custom backward without recording; differentiating its result again raises."""
    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        with no_grad():
            outputs = fn(ctx, *args, **kwargs)
        if not STATE.grad or not any(isinstance(a, Tensor) and a._rg for a in args):
            return outputs
        single = not isinstance(outputs, tuple)
        outs = tuple(o.detach() if isinstance(o, Tensor) else o for o in ((outputs,) if single else outputs))
        err = DelayedError()
        ins = [a for a in args if isinstance(a, Tensor) and a._rg]
        err._next = tuple(grad_edge(a) for a in ins)
        err._meta = tuple((a._data.shape, a._dtype) for a in ins)
        for o in outs:
            if isinstance(o, Tensor):
                o._grad_fn, o._rg = err, True
        return outs[0] if single else outs
    return wrapper
