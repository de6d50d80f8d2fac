"""``ember.func``'s autograd transforms under ``inference_mode``/``no_grad`` against torch.func: inference mode is
off inside them (tangents and gradients are not zero, results are normal tensors), and inference tensors are
differentiated like any other."""

from __future__ import annotations

from typing import Any

import pytest

import ember
from oracle import assert_close, torch

TRANSFORMS = {
    "jvp": lambda L, f, x: L.func.jvp(f, (x,), (L.tensor([1.0, -2.0]),)),
    "grad": lambda L, f, x: (L.func.grad(lambda v: f(v).sum())(x),),
    "vjp": lambda L, f, x: L.func.vjp(f, x)[1](L.tensor([1.0, -2.0])),
    "jacfwd": lambda L, f, x: (L.func.jacfwd(f)(x),),
    "jacrev": lambda L, f, x: (L.func.jacrev(f)(x),),
    "hessian": lambda L, f, x: (L.func.hessian(lambda v: f(v).sum())(x),),
}


def _run(L: Any, transform: str, mode: str) -> tuple[list, list]:
    seen = []

    def f(v: Any) -> Any:
        seen.append((L.is_inference_mode_enabled(), L.is_grad_enabled(), v.is_inference()))
        return v.sin() * L.tensor([2.0, 3.0])
    with getattr(L, mode)():
        outs = TRANSFORMS[transform](L, f, L.tensor([0.5, 1.0]))
    return [(o, o.is_inference(), o.requires_grad) for o in outs], seen[:1]


@pytest.mark.parametrize("mode", ["inference_mode", "no_grad"])
@pytest.mark.parametrize("transform", list(TRANSFORMS))
def test_transforms_differentiate_under_inference_mode(transform: str, mode: str) -> None:
    (e, e_seen), (t, t_seen) = _run(ember, transform, mode), _run(torch, transform, mode)
    assert e_seen == t_seen
    assert [x[1:] for x in e] == [x[1:] for x in t]
    assert_close([x[0] for x in e], [x[0] for x in t])


def _jvp_of_inference_tensors(L: Any) -> Any:
    with L.inference_mode():
        x, t = L.tensor([0.5, 1.0]), L.tensor([1.0, -2.0])
    return L.func.jvp(L.sin, (x,), (t,)) + (L.func.grad(lambda v: v.sin().sum())(x),)


def test_transforms_take_inference_tensors() -> None:
    assert_close(_jvp_of_inference_tensors(ember), _jvp_of_inference_tensors(torch))
