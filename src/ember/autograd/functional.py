"""``ember.autograd.functional``: jacobian, hessian, vjp, jvp, hvp, vhp built on reverse mode
(jvp through the double-backward trick)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._tensor import Tensor

__all__ = ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"]


def _tuple(x: Any) -> tuple[tuple, bool]:
    if isinstance(x, Tensor):
        return (x,), True
    return tuple(x), False


def _prep(inputs: tuple, create_graph: bool) -> tuple:
    return tuple(t.detach().requires_grad_(True) if not create_graph or not t.requires_grad else t
                 for t in inputs)


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """(func(inputs), vᵀ·J)."""
    from . import grad
    ins, single = _tuple(inputs)
    ins = _prep(ins, create_graph)
    out = func(*ins)
    outs, single_out = _tuple(out)
    vs = _tuple(v)[0] if v is not None else (None,) * len(outs)
    gs = grad(outs, ins, vs, create_graph=True, allow_unused=True)
    gs = tuple(g if g is not None else t.new_zeros(t.shape) for g, t in zip(gs, ins, strict=True))
    if not create_graph:
        out = out.detach() if isinstance(out, Tensor) else tuple(o.detach() for o in out)
        gs = tuple(g.detach() for g in gs)
    return out, gs[0] if single else gs


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """(func(inputs), J·v), via the double-backward trick."""
    from . import grad
    ins, single = _tuple(inputs)
    ins = _prep(ins, True)
    out = func(*ins)
    outs, single_out = _tuple(out)
    dummies = tuple(o.new_zeros(o.shape).requires_grad_(True) for o in outs)
    gs = grad(outs, ins, dummies, create_graph=True, allow_unused=True)
    vs = _tuple(v)[0] if v is not None else tuple(t.new_ones(t.shape) for t in ins)
    pairs = [(g, vv) for g, vv in zip(gs, vs, strict=True) if g is not None]
    res = grad([p[0] for p in pairs], dummies, [p[1] for p in pairs], create_graph=create_graph,
               allow_unused=True)
    res = tuple(r if r is not None else o.new_zeros(o.shape) for r, o in zip(res, outs, strict=True))
    if not create_graph:
        out = out.detach() if isinstance(out, Tensor) else tuple(o.detach() for o in out)
        res = tuple(r.detach() for r in res)
    return out, res[0] if single_out else res


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func`` at ``inputs`` (one reverse pass per output element)."""
    from . import grad
    from ..ops.shape import stack
    ins, single = _tuple(inputs)
    ins = _prep(ins, create_graph)
    out = func(*ins)
    outs, single_out = _tuple(out)
    result = []
    for o in outs:
        flat = o.reshape(-1)
        per_input: list[list[Tensor]] = [[] for _ in ins]
        for j in range(flat.numel()):
            gs = grad(flat[j], ins, retain_graph=True, create_graph=create_graph, allow_unused=True)
            for k, (g, t) in enumerate(zip(gs, ins, strict=True)):
                per_input[k].append(g if g is not None else t.new_zeros(t.shape))
        jac = tuple((stack(rows).reshape(tuple(o.shape) + tuple(t.shape)) if rows else
                     t.new_zeros(tuple(o.shape) + tuple(t.shape)))
                    for rows, t in zip(per_input, ins, strict=True))
        if not create_graph:
            jac = tuple(j.detach() for j in jac)
        result.append(jac[0] if single else jac)
    return result[0] if single_out else tuple(result)


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a scalar ``func``: the Jacobian of its gradient."""
    from . import grad
    ins, single = _tuple(inputs)

    def gradient(*xs: Tensor) -> Any:
        gs = grad(func(*xs), xs, create_graph=True, allow_unused=True)
        gs = tuple(g if g is not None else x.new_zeros(x.shape) for g, x in zip(gs, xs, strict=True))
        return gs[0] if single else gs

    return jacobian(gradient, ins[0] if single else ins, create_graph=create_graph)


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """(func(inputs), vᵀ·H)."""
    from . import grad
    ins, single = _tuple(inputs)
    ins = _prep(ins, True)
    out = func(*ins)
    gs = grad(out, ins, create_graph=True)
    vs = _tuple(v)[0]
    res = grad(gs, ins, vs, create_graph=create_graph, allow_unused=True)
    res = tuple(r if r is not None else t.new_zeros(t.shape) for r, t in zip(res, ins, strict=True))
    if not create_graph:
        out, res = out.detach(), tuple(r.detach() for r in res)
    return out, res[0] if single else res


hvp = vhp
