"""gradcheck / gradgradcheck (signatures, tolerances, messages; a wrong backward must fail) and
autograd.functional (jacobian, hessian, vjp, jvp, hvp, vhp) against torch."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import ember
from oracle import torch
from test_autograd import f64, same
from test_autograd_function import make

RNG = np.random.default_rng(11)
A, B, M = RNG.standard_normal(4), RNG.standard_normal(4), RNG.standard_normal((3, 4))


@pytest.mark.parametrize("name", ["gradcheck", "gradgradcheck"])
def test_signatures_match_torch(name: str) -> None:
    e = inspect.signature(getattr(ember.autograd, name)).parameters
    t = inspect.signature(getattr(torch.autograd, name)).parameters
    def described(params: Any) -> list:
        return [(p.name, p.kind, p.default) for p in params.values()]
    assert described(e) == described(t)


FUNCS: dict[str, Callable] = {
    "elementwise": lambda L, a, b, m: (a.exp() * b.sin() / (b * b + 1), a.tanh()),
    "pow_sqrt": lambda L, a, b, m: (a.abs() + 1) ** b + (b * b + 1).sqrt(),
    "reductions": lambda L, a, b, m: (m.sum(0) * a, m.mean(1), (m * m).amax(1)),
    "matmul": lambda L, a, b, m: (m @ a, m.t() @ m @ b),
    "views": lambda L, a, b, m: (m.view(2, 6).t()[1:, :1] * 2, a.expand(3, 4) * m, m[1] + a[[0, 0, 2, 3]]),
    "broadcast": lambda L, a, b, m: m * a - b.view(1, 4) / (m * m + 1),
}


@pytest.mark.parametrize("name", FUNCS)
def test_gradcheck_and_gradgradcheck_pass(name: str) -> None:
    for L in (ember, torch):
        inputs = (f64(L, A), f64(L, B), f64(L, M))

        def fn(*xs: Any, L: Any = L) -> Any:
            return FUNCS[name](L, *xs)
        assert L.autograd.gradcheck(fn, inputs)
        assert L.autograd.gradgradcheck(fn, inputs)


def _square(L: Any, name: str, backward: Callable) -> Any:
    """``x²`` as a custom Function whose backward is ``backward(x, g)``."""
    def fwd(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x * x

    def bwd(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return backward(x, g)
    return make(L, name, fwd, bwd)


def _wrong_square(L: Any) -> Any:
    return _square(L, "WrongSquare", lambda x, g: 3 * x * g)   # wrong: d(x²)/dx is 2x


def _first_order_only(L: Any) -> Any:
    def fwd(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x ** 3

    def bwd(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return 3 * x.detach() ** 2 * g   # right values, but detached: second derivative lost
    return make(L, "FirstOrderOnly", fwd, bwd)


def _wrong_complex_square(L: Any) -> Any:
    # wrong for complex inputs: the gradient is 2 * g * conj(x)
    return _square(L, "WrongComplexSquare", lambda x, g: 2 * g * x)


def c128(L: Any, values: list) -> Any:
    return L.tensor(values, dtype=L.complex128, requires_grad=True)


CHECKS: dict[str, Callable] = {
    "complex_wrong_backward": lambda L: L.autograd.gradcheck(_wrong_complex_square(L).apply,
                                                             (c128(L, [1 + 2j, 0.5 - 1j]),)),
    "complex_wrong_backward_false": lambda L: L.autograd.gradcheck(
        _wrong_complex_square(L).apply, (c128(L, [1 + 2j]),), raise_exception=False),
    "complex64_warns": lambda L: L.autograd.gradcheck(lambda a: a * 2, (L.ones(2, dtype=L.complex64,
                                                                               requires_grad=True),)),
    "wrong_backward_raises": lambda L: L.autograd.gradcheck(_wrong_square(L).apply, (f64(L, [1.0, 2.0]),)),
    "wrong_backward_false": lambda L: L.autograd.gradcheck(_wrong_square(L).apply, (f64(L, [1.0, 2.0]),),
                                                           raise_exception=False),
    "wrong_second_order": lambda L: (
        L.autograd.gradcheck(_first_order_only(L).apply, (f64(L, [1.0, -2.0]),)),
        L.autograd.gradgradcheck(_first_order_only(L).apply, (f64(L, [1.0, -2.0]),), raise_exception=False)),
    "nothing_requires_grad": lambda L: L.autograd.gradcheck(lambda a: a * 2, (f64(L, [1.0], rg=False),)),
    "stride_0_input": lambda L: L.autograd.gradcheck(lambda a: a * 2, (f64(L, [1.0, 2.0]).expand(2, 2),)),
    "float32_warns": lambda L: L.autograd.gradcheck(lambda a: a * 2, (L.ones(2, requires_grad=True),),
                                                    atol=1e-2, rtol=1e-2),
    "integer_output_skipped": lambda L: L.autograd.gradcheck(lambda a: (a * 2).long(), (f64(L, [1.0, 2.0]),)),
    "detached_output": lambda L: L.autograd.gradcheck(lambda a: a.detach() * 2, (f64(L, [1.0, 2.0]),)),
    "non_tensor_inputs": lambda L: L.autograd.gradcheck(lambda a, k, b: a * k + b, (f64(L, [1.0]), 3.0,
                                                                                   f64(L, [2.0], rg=False))),
    "single_tensor_input": lambda L: L.autograd.gradcheck(lambda a: a.sin(), f64(L, [1.0, 2.0])),
    "tolerances": lambda L: (L.autograd.gradcheck(_wrong_square(L).apply, (f64(L, [1e-4]),), atol=1e-3),
                             L.autograd.gradcheck(_wrong_square(L).apply, (f64(L, [1.0]),), rtol=0.6)),
    "gradgrad_with_grad_outputs": lambda L: L.autograd.gradgradcheck(
        lambda a, b: a * b * a, (f64(L, [1.0, 2.0]), f64(L, [3.0, -1.0])), (f64(L, [0.5, 2.0]),)),
}


@pytest.mark.parametrize("name", CHECKS)
def test_gradcheck_outcomes(name: str) -> None:
    same(CHECKS[name])


COMPLEX_FUNCS: dict[str, Callable] = {   # complex→complex, complex→real, real→complex (C complex, R real)
    "mul": lambda L, c, r: c * c * r, "exp": lambda L, c, r: c.exp(), "abs": lambda L, c, r: c.abs() * r,
    "angle": lambda L, c, r: c.angle(), "conj": lambda L, c, r: c.conj() * c.sin(),
    "real_imag": lambda L, c, r: (c.real * c.imag, c.imag), "view_as_real": lambda L, c, r: L.view_as_real(c) * 2,
    "real_to_complex": lambda L, c, r: r * (1 + 2j) + L.polar(r.abs() + 1, r), "sum_0d": lambda L, c, r: (c * r).sum(),
    "matmul": lambda L, c, r: c.view(2, 2) @ c.view(2, 2).t().conj(),
}


@pytest.mark.parametrize("name", COMPLEX_FUNCS)
def test_gradcheck_complex_functions(name: str) -> None:
    """Complex inputs and outputs are checked as torch does (real and imaginary output parts, derivatives along
    both parts of complex inputs): correct functions pass gradcheck and gradgradcheck in both libraries."""
    rng = np.random.default_rng(5)
    c_vals, r_vals = rng.standard_normal(4) + 1j * rng.standard_normal(4), rng.standard_normal(4)
    for L in (ember, torch):
        inputs = (L.tensor(c_vals, requires_grad=True), L.tensor(r_vals, requires_grad=True))

        def fn(*xs: Any, L: Any = L) -> Any:
            return COMPLEX_FUNCS[name](L, *xs)
        assert L.autograd.gradcheck(fn, inputs)
        assert L.autograd.gradgradcheck(fn, inputs)


def test_gradcheck_error_type() -> None:
    from ember.autograd.gradcheck import GradcheckError
    with pytest.raises(GradcheckError) as e:
        ember.autograd.gradcheck(_wrong_square(ember).apply, (f64(ember, [1.0]),))
    assert isinstance(e.value, RuntimeError) and type(e.value).__name__ == "GradcheckError"


# ---- autograd.functional ----------------------------------------------------------------------------------
def _fn(L: Any, x: Any, y: Any) -> Any:
    return (x * x * y).sin(), (x + y).sum()


FUNCTIONAL: dict[str, Callable] = {   # (F: L.autograd.functional, L, x, y, v: ones like x)
    "jacobian_tuple": lambda F, L, x, y, v: F.jacobian(lambda a, b: _fn(L, a, b), (x, y)),
    "jacobian_single": lambda F, L, x, y, v: F.jacobian(lambda a: a.exp() @ a, x),
    "jacobian_matrix": lambda F, L, x, y, v: F.jacobian(lambda a: a.view(2, 2).t() * 3, x),
    "jacobian_unused": lambda F, L, x, y, v: F.jacobian(lambda a, b: a * 2, (x, y)),
    "jacobian_strict": lambda F, L, x, y, v: F.jacobian(lambda a, b: a * 2, (x, y), strict=True),
    "jacobian_create_graph": lambda F, L, x, y, v: (lambda j: (j, L.autograd.grad(j.sum(), x)))(
        F.jacobian(lambda a: a ** 3, x, create_graph=True)),
    "hessian_tuple": lambda F, L, x, y, v: F.hessian(lambda a, b: (a * a * b).sum(), (x, y)),
    "hessian_single": lambda F, L, x, y, v: F.hessian(lambda a: (a ** 3).sum() * a[0], x),
    "hessian_not_scalar": lambda F, L, x, y, v: F.hessian(lambda a: a * 2, x),
    "vjp": lambda F, L, x, y, v: F.vjp(lambda a: a ** 2, x, v),
    "vjp_tuple": lambda F, L, x, y, v: F.vjp(lambda a, b: _fn(L, a, b), (x, y), (v, v.sum())),
    "vjp_scalar_no_v": lambda F, L, x, y, v: F.vjp(lambda a: (a ** 2).sum(), x),
    "vjp_no_v_error": lambda F, L, x, y, v: F.vjp(lambda a: a ** 2, x),
    "vjp_bad_v": lambda F, L, x, y, v: F.vjp(lambda a: a ** 2, x, v[:3]),
    "vjp_bad_input": lambda F, L, x, y, v: F.vjp(lambda a: a, [x]),
    "vjp_strict": lambda F, L, x, y, v: F.vjp(lambda a: a.detach() * 2, x, v, strict=True),
    "vjp_create_graph": lambda F, L, x, y, v: F.vjp(lambda a: a ** 2, x, v, create_graph=True),
    "jvp": lambda F, L, x, y, v: F.jvp(lambda a: a.exp() * a, x, v),
    "jvp_tuple": lambda F, L, x, y, v: F.jvp(lambda a, b: _fn(L, a, b), (x, y), (x, y)),
    "jvp_no_v_error": lambda F, L, x, y, v: F.jvp(lambda a: a ** 2, x),
    "jvp_scalar_input": lambda F, L, x, y, v: F.jvp(lambda a: a * v[:2], v.sum()),
    "hvp": lambda F, L, x, y, v: F.hvp(lambda a: (a ** 3).sum(), x, y),
    "vhp_tuple": lambda F, L, x, y, v: F.vhp(lambda a, b: (a ** 3 * b).sum(), (x, y), (y, x)),
    "hvp_not_scalar": lambda F, L, x, y, v: F.hvp(lambda a: a ** 3, x, y),
}


@pytest.mark.parametrize("name", FUNCTIONAL)
def test_functional(name: str) -> None:
    def program(L: Any) -> Any:
        return FUNCTIONAL[name](L.autograd.functional, L, f64(L, A, rg=False), f64(L, B, rg=False),
                                L.ones(4, dtype=L.float64))
    same(program)
