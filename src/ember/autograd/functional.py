"""``ember.autograd.functional``: jacobian, hessian, vjp, jvp, hvp, vhp — torch's API and results, built on
reverse mode (forward products through the double-backward trick)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._tensor import Tensor
from .grad_mode import STATE, enable_grad, set_grad_enabled

__all__ = ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"]


def _as_tuple(x: Any, arg: str, fn: str) -> tuple[bool, tuple]:
    """(whether ``x`` was a tuple, ``x`` as a tuple of Tensors) with torch's type errors."""
    is_tuple = isinstance(x, tuple)
    xs = x if is_tuple else (x,)
    for i, el in enumerate(xs):
        if not isinstance(el, Tensor):
            where = f"value at index {i}" if is_tuple else f"given {arg}"
            raise TypeError(f"The {arg} given to {fn} must be either a Tensor or a tuple of Tensors but the "
                            f"{where} has type {type(el)}.")
    return is_tuple, xs


def _prep(xs: tuple, create_graph: bool, need_graph: bool = True) -> tuple:
    """Inputs as fresh leaves (or, under ``create_graph``, views keeping their history)."""
    return tuple(x.view_as(x) if create_graph and x.requires_grad else x.detach().requires_grad_(need_graph)
                 for x in xs)


def _post(xs: Any, create_graph: bool) -> Any:
    if isinstance(xs, Tensor):
        return xs if create_graph else xs.detach()
    return tuple(_post(x, create_graph) for x in xs)


def _unpack(res: tuple, is_tuple: bool) -> Any:
    return res if is_tuple else res[0]


def _validate_v(v: tuple, other: tuple, is_other_tuple: bool) -> None:
    if len(v) != len(other):
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}."
                           if is_other_tuple else "The given v should contain a single Tensor.")
    for i, (a, b) in enumerate(zip(v, other, strict=True)):
        if a.shape != b.shape:
            prefix = f"Entry {i} in " if is_other_tuple else ""
            raise RuntimeError(f"{prefix}v has invalid size: should be {b.shape} but got {a.shape}.")


def _check_outputs(outs: tuple, strict: bool) -> None:
    if strict:
        for i, o in enumerate(outs):
            if not o.requires_grad:
                raise RuntimeError(f"Output {i} of the user-provided function does not require gradients. "
                                   "The outputs must be computed in a differentiable manner from the input "
                                   "when running in strict mode.")


def _grad(outs: tuple, ins: tuple, vs: tuple | None, create_graph: bool) -> tuple:
    """``autograd.grad`` over the outputs that require grad; None for inputs not reached."""
    from . import grad
    pairs = [(o, v if vs is not None else None) for o, v in zip(outs, vs or (None,) * len(outs), strict=True)
             if o.requires_grad]
    if not pairs:
        return (None,) * len(ins)
    return grad([p[0] for p in pairs], ins, [p[1] for p in pairs] if vs is not None else None,
                create_graph=create_graph, allow_unused=True, retain_graph=True)


def _fill(grads: tuple, refs: tuple, strict: bool, what: str) -> tuple:
    """Zeros for missing gradients (an error in strict mode)."""
    out = []
    for i, (g, r) in enumerate(zip(grads, refs, strict=True)):
        if g is None:
            if strict:
                raise RuntimeError(what.format(i=i))
            g = r.new_zeros(r.shape)
        out.append(g)
    return tuple(out)


_INDEPENDENT = ("The output of the user-provided function is independent of input {i}. This is not allowed "
                "in strict mode.")


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """(func(inputs), vᵀ·J)."""
    with enable_grad():
        is_in_tuple, ins = _as_tuple(inputs, "inputs", "vjp")
        ins = _prep(ins, create_graph)
        out = func(*ins)
        is_out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "vjp")
        _check_outputs(outs, strict)
        if v is not None:
            vs = _prep(_as_tuple(v, "v", "vjp")[1], create_graph, need_graph=False)
            _validate_v(vs, outs, is_out_tuple)
        elif len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function returns a "
                               "single Tensor with a single element.")
        else:
            vs = None
    with set_grad_enabled(create_graph or STATE.grad):
        res = _fill(_grad(outs, ins, vs, create_graph), ins, strict, _INDEPENDENT)
    return _post(_unpack(outs, is_out_tuple), create_graph), _post(_unpack(res, is_in_tuple), create_graph)


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """(func(inputs), J·v), through the double-backward trick."""
    with enable_grad():
        is_in_tuple, ins = _as_tuple(inputs, "inputs", "jvp")
        ins = _prep(ins, create_graph)
        if v is not None:
            vs = _prep(_as_tuple(v, "v", "jvp")[1], create_graph, need_graph=False)
            _validate_v(vs, ins, is_in_tuple)
        elif len(ins) != 1 or ins[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided function is "
                               "a single Tensor with a single element.")
        else:
            vs = None
        out = func(*ins)
        is_out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "jvp")
        _check_outputs(outs, strict)
        dummies = tuple(o.new_zeros(o.shape).requires_grad_(True) for o in outs)
        grad_ins = _grad(outs, ins, dummies, create_graph=True)
        if strict:
            for i, g in enumerate(grad_ins):
                if g is None:
                    raise RuntimeError(_INDEPENDENT.format(i=i))
        used = [(g, vv) for g, vv in zip(grad_ins, vs or (None,) * len(ins), strict=True) if g is not None]
        with set_grad_enabled(create_graph):
            seeds = tuple(u[1] for u in used) if vs is not None else None
            res = _grad(tuple(u[0] for u in used), dummies, seeds, create_graph) if used else (None,) * len(
                outs)
            res = _fill(res, outs, strict, "The gradient with respect to the input is independent of entry "
                                           "{i} in the grad_outputs when using the double backward trick to "
                                           "compute forward mode gradients. This is not allowed in strict "
                                           "mode.")
    return _post(_unpack(outs, is_out_tuple), create_graph), _post(_unpack(res, is_out_tuple), create_graph)


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func`` at ``inputs``: one reverse pass per output element; shaped
    ``output.shape + input.shape`` and nested like torch's (per output, then per input)."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise RuntimeError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                           'function has more outputs than inputs, "forward-mode" tends to be more '
                           'performant. Otherwise, prefer to use "reverse-mode".')
    from ..ops.shape import stack
    with enable_grad():
        is_in_tuple, ins = _as_tuple(inputs, "inputs", "jacobian")
        ins = _prep(ins, create_graph)
        out = func(*ins)
        is_out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "jacobian")
        _check_outputs(outs, strict)
        result = []
        for k, o in enumerate(outs):
            rows: list[list[Tensor]] = [[] for _ in ins]
            flat = o.reshape(-1)
            for j in range(flat.numel()):
                gs = _grad((flat[j],), ins, None, create_graph)
                for i, (g, x) in enumerate(zip(gs, ins, strict=True)):
                    if g is None and strict:
                        raise RuntimeError(f"Output {k} of the user-provided function is independent of "
                                           f"input {i}. This is not allowed in strict mode.")
                    rows[i].append(g if g is not None else x.new_zeros(x.shape))
            jac = tuple((stack(r) if r else x.new_zeros((0, *x.shape))).reshape((*o.shape, *x.shape))
                        for r, x in zip(rows, ins, strict=True))
            result.append(_unpack(_post(jac, create_graph), is_in_tuple))
    return _unpack(tuple(result), is_out_tuple)


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a scalar ``func``: the Jacobian of its gradient."""
    is_in_tuple, ins = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs: Tensor) -> tuple:
        out = func(*xs)
        is_out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        if is_out_tuple or not isinstance(out, Tensor):
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should contain a "
                               "single element")
        return _fill(_grad((out.squeeze(),), xs, None, True), xs, strict, _INDEPENDENT)

    res = jacobian(gradient, ins, create_graph=create_graph, strict=strict)
    return _unpack(tuple(_unpack(r, is_in_tuple) for r in res), is_in_tuple)


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """(func(inputs), vᵀ·H)."""
    return _hessian_product("vhp", func, inputs, v, create_graph, strict)


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """(func(inputs), H·v) (equal to vᵀ·H for twice-differentiable ``func``: the Hessian is symmetric)."""
    return _hessian_product("hvp", func, inputs, v, create_graph, strict)


def _hessian_product(name: str, func: Callable, inputs: Any, v: Any, create_graph: bool,
                     strict: bool) -> tuple:
    with enable_grad():
        is_in_tuple, ins = _as_tuple(inputs, "inputs", name)
        ins = _prep(ins, create_graph)
        if v is not None:
            vs = _prep(_as_tuple(v, "v", name)[1], create_graph, need_graph=False)
            _validate_v(vs, ins, is_in_tuple)
        elif len(ins) != 1 or ins[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided function is "
                               "a single Tensor with a single element.")
        else:
            vs = None
        out = func(*ins)
        is_out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", name)
        if is_out_tuple:
            raise RuntimeError(f"The function given to {name} should return a single Tensor")
        if outs[0].numel() != 1:
            raise RuntimeError(f"The Tensor returned by the function given to {name} should contain a single "
                               "element")
        _check_outputs(outs, strict)
        jac = _grad(outs, ins, None, create_graph=True)
        used = [(g, vv) for g, vv in zip(jac, vs or (None,) * len(ins), strict=True) if g is not None]
        with set_grad_enabled(create_graph):
            res = _grad(tuple(u[0] for u in used), ins, tuple(u[1] for u in used) if vs is not None else None,
                        create_graph) if used else (None,) * len(ins)
            res = _fill(res, ins, strict, "The hessian of the user-provided function is independent of "
                                          "input {i}. This is not allowed in strict mode.")
    return _post(outs[0], create_graph), _post(_unpack(res, is_in_tuple), create_graph)
