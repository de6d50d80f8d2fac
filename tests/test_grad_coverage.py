"""Gradient coverage table (issue #3): each op's input gradients vs torch with a fixed random cotangent
(float64 and float32), ember.autograd.gradcheck in float64, gradgradcheck where torch supports double backward;
complex gradcheck (Wirtinger) on correct and deliberately wrong functions; matmul graph chains vs torch.

Ops added here (partial audit, time-boxed): cumprod, cummax, cummin, logcumsumexp, kthvalue, topk, sort, msort,
gather, scatter, index_select, take_along_dim, masked_fill, where, lerp, addcmul, addcdiv, hypot, atan2,
logsumexp, norm, var, std, prod, amax, amin, diff, roll, flip, rot90, tril, triu, diagonal, diag_embed, trace,
kron, outer, tensordot, einsum, cross, cdist, baddbmm, addmm, addmv, addr, unfold, repeat, tile,
repeat_interleave, narrow, movedim, unflatten, polar, xlogy, special.xlog1py, special.entr, sinc, logit,
frac, renorm (core ops only, no nn). Not yet audited exhaustively against the other test files.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from tests.oracle import assert_close

import ember

R = np.random.default_rng(1234)


def _pos(*s: int) -> np.ndarray:
    return R.uniform(0.5, 1.5, s)


def _n(*s: int) -> np.ndarray:
    return R.standard_normal(s)


def _idx(s: tuple[int, ...], hi: int) -> np.ndarray:
    return R.integers(0, hi, s)


# name, fn(lib, *tensors), inputs, double-backward?
CASES: list[tuple[str, Callable[..., Any], tuple[np.ndarray, ...], bool]] = [
    ("cumprod", lambda m, x: m.cumprod(x, 1), (_pos(3, 4),), True),
    ("cummax", lambda m, x: m.cummax(x, 1).values, (_n(3, 4),), True),
    ("cummin", lambda m, x: m.cummin(x, 0).values, (_n(3, 4),), True),
    ("logcumsumexp", lambda m, x: m.logcumsumexp(x, 1), (_n(3, 4),), True),
    ("kthvalue", lambda m, x: m.kthvalue(x, 2, 1).values, (_n(3, 4),), True),
    ("topk", lambda m, x: m.topk(x, 2, 1).values, (_n(3, 4),), True),
    ("sort", lambda m, x: m.sort(x, 1, descending=True).values, (_n(3, 4),), True),
    ("msort", lambda m, x: m.msort(x), (_n(3, 4),), True),
    ("gather", lambda m, x, i: m.gather(x, 1, i), (_n(3, 4), _idx((3, 2), 4)), True),
    ("scatter", lambda m, x, i, s: m.scatter(x, 1, i, s),
     (_n(3, 4), np.array([[0, 2], [1, 3], [3, 0]]), _n(3, 2)), True),
    ("scatter_add", lambda m, x, i, s: m.scatter_add(x, 1, i, s), (_n(3, 4), _idx((3, 2), 4), _n(3, 2)), True),
    ("index_select", lambda m, x, i: m.index_select(x, 0, i), (_n(3, 4), np.array([2, 0, 2])), True),
    ("take_along_dim", lambda m, x, i: m.take_along_dim(x, i, 1), (_n(3, 4), _idx((3, 2), 4)), True),
    ("masked_fill", lambda m, x: x.masked_fill(x > 0, 2.0), (_n(3, 4),), True),
    ("where", lambda m, x, y: m.where(x > y, x, y), (_n(3, 4), _n(4)), True),
    ("lerp", lambda m, x, y, w: m.lerp(x, y, w), (_n(3, 4), _n(3, 4), _n(4)), True),
    ("addcmul", lambda m, x, y, z: m.addcmul(x, y, z, value=0.5), (_n(3, 4), _n(3, 4), _n(4)), True),
    ("addcdiv", lambda m, x, y, z: m.addcdiv(x, y, z, value=0.5), (_n(3, 4), _n(3, 4), _pos(4)), True),
    ("hypot", lambda m, x, y: m.hypot(x, y), (_n(3, 4), _n(3, 4)), True),
    ("atan2", lambda m, x, y: m.atan2(x, y), (_n(3, 4), _n(3, 4)), True),
    ("logsumexp", lambda m, x: m.logsumexp(x, 1), (_n(3, 4),), True),
    ("norm", lambda m, x: m.norm(x, dim=1), (_n(3, 4),), True),
    ("norm_p3", lambda m, x: m.norm(x, p=3, dim=0), (_n(3, 4),), True),
    ("var", lambda m, x: m.var(x, 1), (_n(3, 4),), True),
    ("std", lambda m, x: m.std(x, 0, correction=0), (_n(3, 4),), True),
    ("prod", lambda m, x: m.prod(x, 1), (_n(3, 4),), True),
    ("amax", lambda m, x: m.amax(x, 1), (_n(3, 4),), True),
    ("amin", lambda m, x: m.amin(x, 0), (_n(3, 4),), True),
    ("diff", lambda m, x: m.diff(x, dim=1), (_n(3, 4),), True),
    ("roll", lambda m, x: m.roll(x, (1, -1), (0, 1)), (_n(3, 4),), True),
    ("flip", lambda m, x: m.flip(x, (1,)), (_n(3, 4),), True),
    ("rot90", lambda m, x: m.rot90(x, 1, (0, 1)), (_n(3, 4),), True),
    ("tril", lambda m, x: m.tril(x, -1), (_n(3, 4),), True),
    ("triu", lambda m, x: m.triu(x, 1), (_n(3, 4),), True),
    ("diagonal", lambda m, x: m.diagonal(x, 1), (_n(3, 4),), True),
    ("diag_embed", lambda m, x: m.diag_embed(x), (_n(2, 3),), True),
    ("trace", lambda m, x: m.trace(x), (_n(3, 4),), True),
    ("kron", lambda m, x, y: m.kron(x, y), (_n(2, 3), _n(2, 2)), True),
    ("outer", lambda m, x, y: m.outer(x, y), (_n(3), _n(4)), True),
    ("tensordot", lambda m, x, y: m.tensordot(x, y, dims=([1], [0])), (_n(3, 4), _n(4, 2)), True),
    ("einsum", lambda m, x, y: m.einsum("bij,bjk->bik", x, y), (_n(2, 3, 4), _n(2, 4, 2)), True),
    ("cross", lambda m, x, y: m.linalg.cross(x, y), (_n(4, 3), _n(4, 3)), True),
    ("cdist", lambda m, x, y: m.cdist(x, y), (_n(3, 2), _n(4, 2)), False),   # torch: no derivative of _cdist_backward
    ("baddbmm", lambda m, c, x, y: m.baddbmm(c, x, y, beta=0.5, alpha=2.0), (_n(2, 3, 2), _n(2, 3, 4), _n(2, 4, 2)),
     True),
    ("addmm", lambda m, c, x, y: m.addmm(c, x, y, beta=0.5), (_n(2), _n(3, 4), _n(4, 2)), True),
    ("addmv", lambda m, c, x, y: m.addmv(c, x, y, alpha=2.0), (_n(3), _n(3, 4), _n(4)), True),
    ("addr", lambda m, c, x, y: m.addr(c, x, y), (_n(3, 4), _n(3), _n(4)), True),
    ("unfold", lambda m, x: x.unfold(1, 2, 1), (_n(3, 4),), True),
    ("repeat", lambda m, x: x.repeat(2, 1, 2), (_n(3, 4),), True),
    ("tile", lambda m, x: m.tile(x, (2,)), (_n(3, 4),), True),
    ("repeat_interleave", lambda m, x: m.repeat_interleave(x, 2, 0), (_n(3, 4),), True),
    ("narrow", lambda m, x: m.narrow(x, 1, 1, 2), (_n(3, 4),), True),
    ("movedim", lambda m, x: m.movedim(x, 0, 2), (_n(2, 3, 4),), True),
    ("unflatten", lambda m, x: x.unflatten(1, (2, 2)), (_n(3, 4),), True),
    ("xlogy", lambda m, x, y: m.xlogy(x, y), (_n(3, 4), _pos(3, 4)), True),
    ("xlog1py", lambda m, x, y: m.special.xlog1py(x, y), (_n(3, 4), _pos(3, 4)), True),
    ("entr", lambda m, x: m.special.entr(x), (_pos(3, 4),), True),
    ("sinc", lambda m, x: m.sinc(x), (_n(3, 4),), True),
    ("logit", lambda m, x: m.logit(x), (R.uniform(0.1, 0.9, (3, 4)),), True),
    ("frac", lambda m, x: m.frac(x), (_n(3, 4) * 3,), True),
    ("renorm", lambda m, x: m.renorm(x, 2, 0, 1.0), (_n(3, 4),), False),
]
IDS = [c[0] for c in CASES]


def _run(m: Any, fn: Callable, arrs: tuple, dtype: Any, cot: np.ndarray | None) -> tuple:
    ins = [m.tensor(a, dtype=dtype if a.dtype.kind == "f" else None, requires_grad=a.dtype.kind == "f")
           for a in arrs]
    out = fn(m, *ins)
    if cot is None:
        cot = R.standard_normal(tuple(out.shape))
    out.backward(m.tensor(cot, dtype=out.dtype))
    return out, [t.grad for t in ins if t.requires_grad], cot


@pytest.mark.parametrize("dt", ["float64", "float32"])
@pytest.mark.parametrize(("name", "fn", "arrs", "gg"), CASES, ids=IDS)
def test_grad_vs_torch(name: str, fn: Callable, arrs: tuple, gg: bool, dt: str) -> None:
    t_out, t_grads, cot = _run(torch, fn, arrs, getattr(torch, dt), None)
    e_out, e_grads, _ = _run(ember, fn, arrs, getattr(ember, dt), cot)
    tol = {} if dt == "float64" else {"rtol": 1e-4, "atol": 1e-5}
    assert_close(e_out, t_out.detach(), **tol)
    assert type(e_out.grad_fn).__name__ == type(t_out.grad_fn).__name__
    for e, t in zip(e_grads, t_grads, strict=True):
        assert e is not None
        assert_close(e, t, **tol)


@pytest.mark.parametrize(("name", "fn", "arrs", "gg"), CASES, ids=IDS)
def test_gradcheck(name: str, fn: Callable, arrs: tuple, gg: bool) -> None:
    ins = [ember.tensor(a, dtype=ember.float64 if a.dtype.kind == "f" else None, requires_grad=a.dtype.kind == "f")
           for a in arrs]
    f = lambda *xs: fn(ember, *xs)  # noqa: E731
    assert ember.autograd.gradcheck(f, tuple(ins))
    if gg:
        assert ember.autograd.gradgradcheck(f, tuple(ins))


# ---- complex gradcheck (Wirtinger) ----
def _c(*s: int) -> Any:
    return ember.tensor(_n(*s) + 1j * _n(*s), dtype=ember.complex128, requires_grad=True)


@pytest.mark.parametrize("fn", [
    lambda z, w: z * w, lambda z, w: z.exp() + w, lambda z, w: z.abs() * w.real, lambda z, w: z.angle() + w.imag,
    lambda z, w: ember.view_as_real(z * w), lambda z, w: z.conj() * w, lambda z, w: (z / w).sum(),
], ids=["mul", "exp", "abs", "angle", "view_as_real", "conj", "div_sum"])
def test_complex_gradcheck(fn: Callable) -> None:
    z, w = _c(3), _c(3)
    assert ember.autograd.gradcheck(fn, (z, w))


class _WrongSquare(ember.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * x * 2   # right for real x; complex needs g * conj(2x)


class _WrongReal(ember.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * x.cos() * 1.01


def test_gradcheck_fails_on_wrong_backward() -> None:
    x = ember.tensor(_n(3), dtype=ember.float64, requires_grad=True)
    assert not ember.autograd.gradcheck(_WrongReal.apply, (x,), raise_exception=False)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        ember.autograd.gradcheck(_WrongReal.apply, (x,))
    assert ember.autograd.gradcheck(_WrongSquare.apply, (x,))          # correct for real inputs
    assert not ember.autograd.gradcheck(_WrongSquare.apply, (_c(3),), raise_exception=False)


# ---- matmul graphs vs torch ----
def _graph(f: Any) -> Any:
    """The whole backward graph below ``f`` as nested (class name, inputs) tuples."""
    return None if f is None else (type(f).__name__, tuple(_graph(n) for n, _ in f.next_functions))


SHAPES = [((3,), (3,)), ((3, 4), (4,)), ((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (4,)),
          ((4,), (2, 4, 5)), ((3, 4), (2, 4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 5)),
          ((2, 3, 4), (1, 4, 5)), ((1, 3, 4), (2, 4, 5)), ((2, 2, 3, 4), (4,)), ((4,), (2, 2, 4, 3))]


@pytest.mark.parametrize("grads", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize(("sa", "sb"), SHAPES)
def test_matmul_graph(sa: tuple, sb: tuple, grads: tuple[bool, bool]) -> None:
    """torch's matmul is a chain of views/expands around mm/mv/bmm (which one depends on the shapes and on
    which operand requires grad); ember records the same graph and gives the same gradients."""
    got = []
    xa, xb = _n(*sa), _n(*sb)
    cotangent = _n(*np.matmul(xa, xb).shape)
    for m in (torch, ember):
        a = m.tensor(xa, requires_grad=grads[0])
        b = m.tensor(xb, requires_grad=grads[1])
        out = m.matmul(a, b)
        out.backward(m.tensor(cotangent))
        got.append((_graph(out.grad_fn), out, a.grad, b.grad))
    assert got[1][0] == got[0][0]
    for e, t in zip(got[1][1:], got[0][1:], strict=True):
        if t is None:
            assert e is None
        else:
            assert_close(e, t)
