"""torch.func / autograd.functional / forward-AD parity cases found by differential fuzzing (each compared with
torch: values, dtypes, shapes, requires_grad, errors)."""

from __future__ import annotations

from typing import Any

import numpy as np

from oracle import outcomes


def _flags_and_values(out: Any) -> list:
    leaves = out if isinstance(out, (tuple, list)) else [out]
    return [(o.requires_grad, np.round(o.detach().numpy(), 10).tolist()) for o in leaves]


def _transforms_keep_outer_history(L: Any) -> list:
    """Results keep the history of tensors requiring grad outside the transform (closures, arguments not
    differentiated), not the history through the transform's own inputs (aux outputs, vjp of a constant)."""
    x, y = L.tensor([1.0, 2.0]), L.tensor([3.0, 4.0], requires_grad=True)
    f = L.func
    out = [*f.grad_and_value(lambda a, b: (a * b).sum())(x, y),
           f.grad_and_value(lambda a, b: ((a * b).sum(), a * 2), has_aux=True)(x, y)[1][1],
           *f.vjp(lambda a, b: (a * b, a * 2), x, y, has_aux=True)[::2],
           *f.vjp(lambda a, b: a * b, x, y)[1](L.ones(2)),
           *f.jvp(lambda a: a * y, (x,), (L.ones(2),)), f.jacrev(lambda a: a * y)(x), f.jacfwd(lambda a: a * y)(x),
           f.hessian(lambda a: (a ** 3 * y).sum())(x), f.jacfwd(f.jacrev(lambda a: (a ** 3).sum()))(x)]
    with L.no_grad():
        out.append(f.grad(lambda a: (a * y).sum())(x))
    h = f.hessian(lambda a: (a ** 3 * y).sum())(x)
    return out + list(L.autograd.grad(h.sum(), y))


def test_transforms_keep_only_outer_history_as_torch() -> None:
    t, e = outcomes(_transforms_keep_outer_history)
    assert _flags_and_values(e) == _flags_and_values(t)
