"""``ember.autograd.functional``: jacobian, hessian, vjp, jvp, hvp, vhp — torch's API and results, built on
reverse mode (forward products through the double-backward trick)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


def _unpack(res: Sequence[Any], is_tuple: bool) -> Any:
    return res if is_tuple else res[0]


def _validate_v(v: tuple, other: tuple, is_other_tuple: bool) -> None:
    if len(v) != len(other):
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}."
                           if is_other_tuple else "The given v should contain a single Tensor.")
    for i, (a, b) in enumerate(zip(v, other, strict=True)):
        if a.shape != b.shape:
            prefix = f"Entry {i} in " if is_other_tuple else ""
            raise RuntimeError(f"{prefix}v has invalid size: should be {b.shape} but got {a.shape}.")


_NOT_DIFFERENTIABLE = {
    "outputs": "Output {i} of the user-provided function does not require gradients. The outputs must be computed "
               "in a differentiable manner from the input when running in strict mode.",
    "jacobian": "While computing the hessian, found that the jacobian of the user-provided function with respect to "
                "input {i} is independent of the input. This is not allowed in strict mode. You should ensure that "
                "your function is twice differentiable and that the jacobian depends on the inputs (this would be "
                "violated by a linear function for example).",
    "grad_inputs": "The gradient with respect to input {i} is independent of the inputs of the user-provided "
                   "function. This is not allowed in strict mode.",
}


def _check_requires_grad(xs: tuple, kind: str, strict: bool) -> None:
    """Strict mode: each of ``xs`` (outputs, or gradients: None where independent) must require grad."""
    if strict:
        for i, x in enumerate(xs):
            if x is None:
                raise RuntimeError(_INDEPENDENT.format(i=i))
            if not x.requires_grad:
                raise RuntimeError(_NOT_DIFFERENTIABLE[kind].format(i=i))


_INDEPENDENT = ("The output of the user-provided function is independent of input {i}. This is not allowed "
                "in strict mode.")


def _grad(outs: tuple, ins: tuple, vs: tuple | None, create_graph: bool) -> tuple:
    """``autograd.grad`` over the outputs that require grad; None for inputs not reached."""
    from . import grad
    pairs = [(o, v if vs is not None else None) for o, v in zip(outs, vs or (None,) * len(outs), strict=True)
             if o.requires_grad]
    if not pairs:
        return (None,) * len(ins)
    return grad([p[0] for p in pairs], ins, [p[1] for p in pairs] if vs is not None else None,
                create_graph=create_graph, allow_unused=True, retain_graph=True)


def _fill(grads: tuple, refs: tuple, strict: bool, what: str, create_graph: bool = False,
          order: str = "jacobian") -> tuple:
    """Zeros for missing gradients (an error in strict mode, as is one without a graph under ``create_graph``;
    ``order`` names the derivative in that error)."""
    out = []
    for i, (g, r) in enumerate(zip(grads, refs, strict=True)):
        if g is None:
            if strict:
                raise RuntimeError(what.format(i=i))
            g = r.new_zeros(r.shape)
        elif strict and create_graph and not g.requires_grad:
            raise RuntimeError(f"The {order} of the user-provided function is independent of input {i}. This is "
                               "not allowed in strict mode when create_graph=True.")
        out.append(g)
    return tuple(out)


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """(func(inputs), vᵀ·J)."""
    with enable_grad():
        is_in_tuple, ins = _as_tuple(inputs, "inputs", "vjp")
        ins = _prep(ins, create_graph)
        out = func(*ins)
        is_out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "vjp")
        _check_requires_grad(outs, "outputs", strict)
        if v is not None:
            vs = _prep(_as_tuple(v, "v", "vjp")[1], create_graph, need_graph=False)
            _validate_v(vs, outs, is_out_tuple)
        elif len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function returns a "
                               "single Tensor with a single element.")
        else:
            vs = None
    with set_grad_enabled(create_graph or STATE.grad):
        res = _fill(_grad(outs, ins, vs, create_graph), ins, strict, _INDEPENDENT, create_graph)
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
        _check_requires_grad(outs, "outputs", strict)
        dummies = tuple(o.new_zeros(o.shape, requires_grad=True) for o in outs)
        grad_ins = _grad(outs, ins, dummies, create_graph=True)
        _check_requires_grad(grad_ins, "grad_inputs", strict)
        used = [(g, vv) for g, vv in zip(grad_ins, vs or (None,) * len(ins), strict=True) if g is not None]
        with set_grad_enabled(create_graph):
            seeds = tuple(u[1] for u in used) if vs is not None else None
            res = _grad(tuple(u[0] for u in used), dummies, seeds, create_graph) if used else (None,) * len(
                outs)
            res = _fill(res, outs, strict, "The gradient with respect to the input is independent of entry "
                                           "{i} in the grad_outputs when using the double backward trick to "
                                           "compute forward mode gradients. This is not allowed in strict "
                                           "mode.", create_graph)
    return _post(_unpack(outs, is_out_tuple), create_graph), _post(_unpack(res, is_out_tuple), create_graph)


_FORWARD_WITH = ('torch.autograd.functional.jacobian: `{0}=True` and `strategy="forward-mode"` are not supported '
                 'together (yet). Please either set `{0}=False` or `strategy="reverse-mode"`.')


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func`` at ``inputs``, shaped ``output.shape + input.shape`` and nested like torch's (per
    output, then per input): one reverse pass per output element, or with ``strategy="forward-mode"`` (which torch
    runs only vectorized) one forward pass per input element."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                             'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                             'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(_FORWARD_WITH.format("create_graph"))
        if strict:
            raise RuntimeError(_FORWARD_WITH.format("strict"))
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian isonly "
                                      "implemented for `vectorize=True`.")
        return _jacobian_forward(func, inputs)
    from ..ops.shape import stack
    with enable_grad():
        is_in_tuple, ins = _as_tuple(inputs, "inputs", "jacobian")
        ins = _prep(ins, create_graph)
        out = func(*ins)
        is_out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "jacobian")
        _check_requires_grad(outs, "outputs", strict)
        if vectorize and strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
                               "supported together. Please either set `strict=False` or `vectorize=False`.")
        result = []
        for k, o in enumerate(outs):
            rows: list[list[Tensor]] = [[] for _ in ins]
            flat = o.reshape(-1)
            for j in range(flat.numel()):
                gs = _grad((flat[j],), ins, None, create_graph)
                for i, (g, x) in enumerate(zip(gs, ins, strict=True)):
                    if strict and g is None:
                        raise RuntimeError(f"Output {k} of the user-provided function is independent of "
                                           f"input {i}. This is not allowed in strict mode.")
                    if strict and create_graph and not g.requires_grad:   # torch names the output's index
                        raise RuntimeError(f"The jacobian of the user-provided function is independent of input "
                                           f"{k}. This is not allowed in strict mode when create_graph=True.")
                    rows[i].append(g if g is not None else x.new_zeros(x.shape))
            jac = tuple((stack(r) if r else x.new_zeros((0, *x.shape))).reshape((*o.shape, *x.shape))
                        for r, x in zip(rows, ins, strict=True))
            result.append(_unpack(_post(jac, create_graph), is_in_tuple))
    return _unpack(tuple(result), is_out_tuple)


def _jacobian_forward(func: Callable, inputs: Any) -> Any:
    """:func:`jacobian` by forward-mode AD: every input dual, one basis tangent per pass (zeros elsewhere)."""
    from ..ops.shape import stack
    from . import forward_ad as fw
    is_in_tuple, ins = _as_tuple(inputs, "inputs", "jacobian")
    zeros = [x.new_zeros(x.shape) for x in ins]
    columns: list[list[tuple]] = [[] for _ in ins]   # per input, per element: the outputs' tangents
    outs: tuple = ()
    is_out_tuple = False
    for i, x in enumerate(ins):
        basis = x.new_ones(x.numel()).diag()
        for j in range(x.numel()):
            with fw.dual_level():
                duals = [fw.make_dual(y, basis[j].reshape(x.shape) if k == i else zeros[k])
                         for k, y in enumerate(ins)]
                is_out_tuple, outs = _as_tuple(func(*duals), "outputs", "jacobian")
                pairs = [fw.unpack_dual(o) for o in outs]
            outs = tuple(p.primal for p in pairs)
            columns[i].append(tuple(p.tangent if p.tangent is not None else p.primal.new_zeros(p.primal.shape)
                                    for p in pairs))
    if not any(columns):   # no input element: the outputs' shapes from one call
        is_out_tuple, outs = _as_tuple(func(*ins), "outputs", "jacobian")
    result = [_unpack([stack([c[k] for c in cols], -1).reshape((*o.shape, *x.shape)) if cols
                       else o.new_zeros((*o.shape, *x.shape)) for cols, x in zip(columns, ins, strict=True)],
                      is_in_tuple) for k, o in enumerate(outs)]
    return _unpack(result, is_out_tuple)   # lists where torch's vectorized path keeps them


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a scalar ``func``: the :func:`jacobian` (by ``outer_jacobian_strategy``) of its gradient."""
    is_in_tuple, ins = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def scalar(*xs: Tensor) -> Tensor:
        out = func(*xs)
        is_out_tuple, _ = _as_tuple(out, "outputs of the user-provided function", "hessian")
        if is_out_tuple:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should contain a "
                               "single element")
        return out.squeeze()

    def gradient(*xs: Tensor) -> tuple:
        if outer_jacobian_strategy == "forward-mode":
            xs = tuple(x.requires_grad_(True) for x in xs)
        jac = jacobian(scalar, xs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        return jac

    res = jacobian(gradient, ins, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return _unpack(type(res)(_unpack(r, is_in_tuple) for r in res), is_in_tuple)


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """(func(inputs), vᵀ·H)."""
    return _hessian_product("vhp", func, inputs, v, create_graph, strict)


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """(func(inputs), H·v), by torch's double-backward trick (equal to vᵀ·H where the Hessian is symmetric)."""
    return _hessian_product("hvp", func, inputs, v, create_graph, strict)


_HESSIAN_INDEPENDENT = {   # torch's texts: vhp's second backward, hvp's double-backward trick
    "vhp": "The jacobian of the user-provided function is independent of input {i}. This is not allowed in strict "
           "mode.",
    "hvp": "The hessian of the user-provided function is independent of entry {i} in the grad_jacobian. This is not "
           "allowed in strict mode as it prevents from using the double backward trick to replace forward mode AD."}


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
        _check_requires_grad(outs, "outputs", strict)
        if is_out_tuple:
            raise RuntimeError(f"The function given to {name} should return a single Tensor")
        if outs[0].numel() != 1:
            raise RuntimeError(f"The Tensor returned by the function given to {name} should contain a single "
                               "element")
        jac = _grad(outs, ins, None, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        wrt = ins
        if name == "hvp":   # torch's double-backward trick: H·v as the derivative of (uᵀH) w.r.t. u, not vᵀH
            wrt = tuple(x.new_zeros(x.shape, requires_grad=True) for x in ins)
            pairs = [(g, u) for g, u in zip(jac, wrt, strict=True) if g is not None]
            jac = _grad(tuple(p[0] for p in pairs), ins, tuple(p[1] for p in pairs), True) if pairs else jac
        used = [(g, vv) for g, vv in zip(jac, vs or (None,) * len(ins), strict=True) if g is not None]
        with set_grad_enabled(create_graph):
            res = _grad(tuple(u[0] for u in used), wrt, tuple(u[1] for u in used) if vs is not None else None,
                        create_graph) if used else (None,) * len(ins)
            res = _fill(res, ins, strict, _HESSIAN_INDEPENDENT[name], create_graph, "hessian")
    return _post(outs[0], create_graph), _post(_unpack(res, is_in_tuple), create_graph)
