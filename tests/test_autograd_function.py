"""Custom ``autograd.Function`` against torch: forward/backward and setup_context styles, saved tensors
(inputs, outputs — without reference cycles — and after they are freed), needs_input_grad, mark_dirty,
mark_non_differentiable, set_materialize_grads, once_differentiable, non-tensor arguments, several outputs,
returned inputs, and the errors for a wrong backward."""

from __future__ import annotations

import functools
import gc
import weakref
from collections.abc import Callable
from typing import Any

import pytest

import ember
from oracle import torch
from test_autograd import f64, same


def make(L: Any, name: str, forward: Callable, backward: Callable,
         setup_context: Callable | None = None) -> Any:
    """A Function subclass of ``L`` named ``name`` (so its node is ``<name>Backward``)."""
    attrs: dict[str, Any] = {"forward": staticmethod(forward), "backward": staticmethod(backward)}
    if setup_context is not None:
        attrs["setup_context"] = staticmethod(setup_context)
    return type(name, (L.autograd.Function,), attrs)


def _square(L: Any) -> Any:
    def fwd(ctx: Any, x: Any, k: float = 2.0) -> Any:
        ctx.save_for_backward(x)
        ctx.k = k
        return x * x * k

    def bwd(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return 2 * x * g * ctx.k, None
    return make(L, "Square", fwd, bwd)


def _basic(L: Any) -> Any:
    Square = _square(L)
    x = f64(L, [1.0, -2.0])
    y = Square.apply(x, 3.0)
    info = (y.grad_fn, y.grad_fn.name(), y.grad_fn.next_functions, y.is_leaf, y.grad_fn.needs_input_grad,
            y.grad_fn.saved_tensors, y.grad_fn._forward_cls is Square,
            y.grad_fn.apply(L.ones(2, dtype=L.float64)))
    y.sum().backward()
    return y, info, x.grad


def _saved_after_free(L: Any) -> Any:
    y = _square(L).apply(f64(L, [1.0, 2.0]))
    y.sum().backward()
    return y.grad_fn.saved_tensors


def _backward_twice(L: Any) -> Any:
    y = _square(L).apply(f64(L, [1.0, 2.0])).sum()
    y.backward()
    y.backward()


def _setup_context(L: Any) -> Any:
    def fwd(x: Any, k: float, scale: float = 2.0) -> Any:
        return x.exp() * k * scale

    def setup(ctx: Any, inputs: tuple, output: Any) -> None:
        x, k, scale = inputs
        ctx.save_for_backward(output)
        ctx.k = k
        ctx.n_inputs = len(inputs)

    def bwd(ctx: Any, g: Any) -> Any:
        (out,) = ctx.saved_tensors
        return g * out, None, None
    F = make(L, "ExpScaled", fwd, bwd, setup)
    x = f64(L, [0.5, 1.0])
    y = F.apply(x, 3.0)
    y.sum().backward()
    return y, y.grad_fn.n_inputs, x.grad


def _needs_input_grad(L: Any) -> Any:
    def fwd(ctx: Any, a: Any, b: Any, n: int) -> Any:
        ctx.seen = ctx.needs_input_grad
        return a * b * n

    def bwd(ctx: Any, g: Any) -> Any:
        return g, g, None
    F = make(L, "Nig", fwd, bwd)
    a, b = L.ones(2, requires_grad=True), L.ones(2)
    out = [F.apply(a, b, 3).grad_fn.seen, F.apply(b, a, 3).grad_fn.seen]
    with L.no_grad():
        out.append(F.apply(a, b, 3).grad_fn)
    return out, F.apply(b, b, 1).requires_grad


def _kwargs(L: Any) -> Any:
    def fwd(ctx: Any, x: Any, y: Any = None) -> Any:
        ctx.seen = ctx.needs_input_grad
        return x * 2 if y is None else x * y

    def bwd(ctx: Any, g: Any) -> Any:
        return g * 2, None
    F = make(L, "Kw", fwd, bwd)
    x = L.ones(2, requires_grad=True)
    a, b = F.apply(x=x), F.apply(x, y=x)
    return a, a.grad_fn.seen, b, b.grad_fn.seen


def _multiple_outputs(L: Any) -> Any:
    def fwd(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x * 2, x.exp(), x > 0

    def bwd(ctx: Any, ga: Any, gb: Any, gc: Any) -> Any:
        (x,) = ctx.saved_tensors
        return ga * 2 + gb * x.exp()
    F = make(L, "Multi", fwd, bwd)
    x = f64(L, [0.5, -1.0])
    a, b, c = F.apply(x)
    flags = (a.output_nr, b.output_nr, c.requires_grad, c.grad_fn, a.grad_fn is b.grad_fn)
    (a.sum() + b.sum() * 3).backward(retain_graph=True)
    first = x.grad.clone()
    b.sum().backward()   # the other output got no gradient: materialised as zeros
    return flags, first, x.grad


def _non_tensor_outputs(L: Any) -> Any:
    F = make(L, "Mixed", lambda ctx, x: (x * 2, 7, None), lambda ctx, g, g2, g3: g * 2)
    x = L.ones(2, requires_grad=True)
    a, n, none = F.apply(x)
    a.sum().backward()
    return a, n, none, x.grad, F.apply(x)[0].grad_fn


def _returns_input(L: Any) -> Any:
    F = make(L, "Ident", lambda ctx, x: x, lambda ctx, g: g * 3)
    x = L.ones(2, requires_grad=True)
    y = F.apply(x)
    flags = (y is x, y._base is x, y.grad_fn, y.data_ptr() == x.data_ptr(), y._version, y.requires_grad)
    y.sum().backward()
    nl = x * 1
    z = F.apply(nl)
    with L.no_grad():
        w = F.apply(x)
    return flags, x.grad, z._base is nl, z.grad_fn, (w is x, w._base is x, w.requires_grad)


def _mark_dirty(L: Any) -> Any:
    def fwd(ctx: Any, x: Any) -> Any:
        x.mul_(2)
        ctx.mark_dirty(x)
        return x

    F = make(L, "Double", fwd, lambda ctx, g: g * 2)
    a = L.tensor([1.0, 2.0], requires_grad=True)
    x = a * 1
    y = F.apply(x)
    flags = (y is x, x.grad_fn, x._version)
    (y * L.tensor([1.0, 10.0])).sum().backward()
    return flags, a.grad


def _mark_dirty_view(L: Any) -> Any:
    def fwd(ctx: Any, x: Any) -> Any:
        x.mul_(2)
        ctx.mark_dirty(x)
        return x

    F = make(L, "DoubleV", fwd, lambda ctx, g: g * 2)
    a = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = a * 1
    v = y[:2]
    r = F.apply(v)
    flags = (r is v, v.grad_fn, y.grad_fn)
    (y * L.tensor([1.0, 10.0, 100.0])).sum().backward()
    return flags, a.grad


def _dirty_errors(L: Any, which: str) -> Any:
    def fwd(ctx: Any, x: Any, y: Any) -> Any:
        x.mul_(2)
        ctx.mark_dirty(x)
        return y * 1 if which == "not_returned" else x

    F = make(L, "Dirty", fwd, lambda ctx, g: (g, g))
    a = L.ones(2, requires_grad=True)
    target = {"leaf": a, "view_of_leaf": a[:1], "not_returned": a * 1}[which]
    return F.apply(target, a)


def _non_differentiable(L: Any) -> Any:
    def fwd(ctx: Any, x: Any) -> Any:
        a, c = x * 2, x * 3
        ctx.mark_non_differentiable(c)
        return a, x > 1, c

    def bwd(ctx: Any, ga: Any, gb: Any, gc: Any) -> Any:
        return ga * 2 + gc
    F = make(L, "NonDiff", fwd, bwd)
    x = L.tensor([1.0, 2.0], requires_grad=True)
    a, b, c = F.apply(x)
    flags = (a.requires_grad, b.requires_grad, c.requires_grad, c.grad_fn, c.is_leaf)
    a.sum().backward()
    G = make(L, "NonDiffInput", lambda ctx, x: (ctx.mark_non_differentiable(x), x)[1], lambda ctx, g: g)
    r = G.apply(x)
    return flags, x.grad, (r.requires_grad, r._base is x)


def _materialize(L: Any, materialize: bool) -> Any:
    seen = []

    def fwd(ctx: Any, x: Any) -> Any:
        ctx.set_materialize_grads(materialize)
        return x * 2, x * 3

    def bwd(ctx: Any, ga: Any, gb: Any) -> Any:
        seen.append((ga, gb))
        return ga * 2 if gb is None else ga * 2 + gb * 3
    F = make(L, "Mat", fwd, bwd)
    x = L.ones(2, requires_grad=True)
    a, _ = F.apply(x)
    a.sum().backward()
    return seen, x.grad


def _once_differentiable(L: Any, create_graph_seed: bool) -> Any:
    def fwd(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x * x

    @L.autograd.function.once_differentiable
    def bwd(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return 2 * x * g
    F = make(L, "Once", fwd, bwd)
    x = f64(L, [1.0, 2.0])
    y = F.apply(x)
    if not create_graph_seed:
        g = L.autograd.grad(y.sum(), x, create_graph=True)[0]
        return g, g.requires_grad, g.grad_fn
    seed = f64(L, [1.0, 1.0])
    g = L.autograd.grad(y, x, seed, create_graph=True)[0]
    flags = (g.requires_grad, g.grad_fn.name() if hasattr(g.grad_fn, "name") else None)
    g.sum().backward()
    return flags


def _wrong_gradients(L: Any, which: str) -> Any:
    backs = {"too_many": lambda ctx, g: (g, g), "too_few": lambda ctx, g: g,
             "bad_shape": lambda ctx, g: L.ones(3), "float": lambda ctx, g: 5.0,
             "int_grad": lambda ctx, g: g.long(), "grad_for_non_tensor": lambda ctx, g: (g, g),
             "extra_nones": lambda ctx, g: (g, None, None, None), "none": lambda ctx, g: None,
             "broadcastable": lambda ctx, g: g.sum(), "double": lambda ctx, g: g.double()}
    two = which in ("too_few", "grad_for_non_tensor", "extra_nones")
    F = make(L, "Wrong", (lambda ctx, x, k: x * 2) if two else (lambda ctx, x: x * 2), backs[which])
    x = L.ones(2, requires_grad=True)
    (F.apply(x, 2.0) if two else F.apply(x)).sum().backward()
    return x.grad


def _saved_output_cycle(L: Any) -> Any:
    def fwd(ctx: Any, x: Any) -> Any:
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    def bwd(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        return g * y
    F = make(L, "SaveOut", fwd, bwd)
    gc.collect()
    gc.disable()
    try:
        x = f64(L, [1.0, 2.0])
        y = F.apply(x)
        node = weakref.ref(y.grad_fn)
        g1 = L.autograd.grad(y.sum(), x, create_graph=True)[0]
        g2 = L.autograd.grad(g1.sum(), x)[0]
        del y, g1
        return node() is None, g2
    finally:
        gc.enable()


def _saved_output_modified(L: Any) -> Any:
    def fwd(ctx: Any, x: Any) -> Any:
        y = x.exp()
        ctx.save_for_backward(y)
        return y
    F = make(L, "SaveOut", fwd, lambda ctx, g: g * ctx.saved_tensors[0])
    y = F.apply(L.ones(2, requires_grad=True))
    y.mul_(2)
    y.sum().backward()


def _save_intermediate(L: Any) -> Any:
    def fwd(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x * 3, None)
        return x * 2

    def bwd(ctx: Any, g: Any) -> Any:
        t, none = ctx.saved_tensors
        return g * t
    x = L.ones(2, requires_grad=True)
    make(L, "Inter", fwd, bwd).apply(x).sum().backward()
    return x.grad


PROGRAMS: dict[str, Callable] = {
    "basic": _basic, "saved_after_free": _saved_after_free, "backward_twice": _backward_twice,
    "setup_context": _setup_context, "needs_input_grad": _needs_input_grad, "kwargs": _kwargs,
    "multiple_outputs": _multiple_outputs, "non_tensor_outputs": _non_tensor_outputs,
    "returns_input": _returns_input, "mark_dirty": _mark_dirty, "mark_dirty_view": _mark_dirty_view,
    "dirty_leaf": lambda L: _dirty_errors(L, "leaf"),
    "dirty_view_of_leaf": lambda L: _dirty_errors(L, "view_of_leaf"),
    "dirty_not_returned": lambda L: _dirty_errors(L, "not_returned"),
    "non_differentiable": _non_differentiable, "materialize": lambda L: _materialize(L, True),
    "no_materialize": lambda L: _materialize(L, False),
    "once_differentiable": lambda L: _once_differentiable(L, False),
    "once_differentiable_twice": lambda L: _once_differentiable(L, True),
    "saved_output_no_cycle": _saved_output_cycle, "saved_output_modified": _saved_output_modified,
    "save_intermediate": _save_intermediate,
    "save_non_tensor": lambda L: make(L, "SaveInt", lambda ctx, x: (ctx.save_for_backward(x, 3), x * 2)[1],
                                      lambda ctx, g: g).apply(L.ones(1, requires_grad=True)),
    "no_grad_input": lambda L: (lambda y: (y.requires_grad, y.grad_fn))(_square(L).apply(L.ones(2))),
    "instantiate": lambda L: _square(L)()(L.ones(1)),
    **{f"wrong_{w}": functools.partial(_wrong_gradients, which=w) for w in
       ("too_many", "too_few", "bad_shape", "float", "int_grad", "grad_for_non_tensor", "extra_nones", "none",
        "broadcastable", "double")},
}


@pytest.mark.parametrize("name", PROGRAMS)
def test_custom_function(name: str) -> None:
    same(PROGRAMS[name])


def test_hooks_on_custom_nodes() -> None:
    def program(L: Any) -> Any:
        seen = []
        x = f64(L, [1.0, 2.0])
        y = _square(L).apply(x)
        y.grad_fn.register_prehook(lambda go: seen.append(("pre", go)))
        y.grad_fn.register_hook(lambda gi, go: seen.append(("post", gi)))
        y.register_hook(lambda g: g * 10)
        y.sum().backward()
        return seen, x.grad
    same(program)


def test_gradcheck_of_custom_function() -> None:
    x = ember.tensor([0.3, -1.2, 2.0], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: _square(ember).apply(t, 1.5), (x,))
    assert torch.autograd.gradcheck(lambda t: _square(torch).apply(t, 1.5), (torch.tensor(x.tolist(),
                                                                                       dtype=torch.float64,
                                                                                       requires_grad=True),))
