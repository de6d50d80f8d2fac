"""Whole backward graphs vs torch for in-place variants, index writes, scatter/index reductions, nan-aware and
order-statistic reductions and other composites: for each program the graph below every output (node class
names and edges), the values and the gradients for a fixed cotangent equal torch's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import ember
from oracle import assert_close, torch

R = np.random.default_rng(0)
X, Y, Z = R.standard_normal((3, 4)), R.standard_normal((3, 4)), R.standard_normal((3, 4))
COLS, ROW, VEC2 = R.standard_normal((3, 2)), R.standard_normal(4), R.standard_normal(2)
MASK = X > 0
XNAN = np.where(MASK, X, np.nan)
IDX = np.array([0, 2])
SCAT = np.array([[0, 0], [2, 3], [1, 0]])


def _graph(fn: Any) -> Any:
    return None if fn is None else (type(fn).__name__, tuple(_graph(n) for n, _ in fn.next_functions))


def _i(L: Any, a: np.ndarray) -> Any:
    return L.tensor(a)


# name -> (program(L, *tensors), inputs); each input is a float64 array made a non-leaf (x * 1) requiring grad
PROGRAMS: dict[str, tuple[Callable, list[np.ndarray]]] = {
    "add_": (lambda L, a, b: a.add_(b), [X, Y]),
    "sub_alpha": (lambda L, a, b: a.sub_(b, alpha=2), [X, Y]),
    "div_": (lambda L, a, b: a.div_(b), [X, Y]),
    "pow_": (lambda L, a: a.pow_(2), [X]),
    "sigmoid_": (lambda L, a: a.sigmoid_(), [X]),
    "clamp_": (lambda L, a: a.clamp_(-0.5, 0.5), [X]),
    "addcmul_": (lambda L, a, b, c: a.addcmul_(b, c, value=0.5), [X, Y, Z]),
    "addcdiv_": (lambda L, a, b, c: a.addcdiv_(b, c, value=0.5), [X, Y, Z]),
    "lerp_": (lambda L, a, b: a.lerp_(b, 0.3), [X, Y]),
    "fill_": (lambda L, a: a.fill_(2.0), [X]),
    "zero_": (lambda L, a: a.zero_(), [X]),
    "copy_": (lambda L, a, b: a.copy_(b), [X, Y]),
    "masked_fill_": (lambda L, a: a.masked_fill_(_i(L, MASK), 0.0), [X]),
    "masked_fill_tensor": (lambda L, a, b: a.masked_fill(_i(L, MASK), b.sum()), [X, Y]),
    "index_fill_": (lambda L, a: a.index_fill_(1, _i(L, IDX), 0.0), [X]),
    "index_add_alpha": (lambda L, a, b: a.index_add_(1, _i(L, IDX), b, alpha=2), [X, COLS]),
    "index_copy_": (lambda L, a, b: a.index_copy_(1, _i(L, IDX), b), [X, COLS]),
    "index_put_": (lambda L, a, b: a.index_put_((_i(L, IDX), _i(L, np.array([1, 3]))), b), [X, VEC2]),
    "index_put_acc": (lambda L, a, b: a.index_put_((_i(L, np.array([0, 0])), _i(L, np.array([1, 1]))), b,
                                                   accumulate=True), [X, VEC2]),
    "masked_scatter_": (lambda L, a, b: a.masked_scatter_(_i(L, MASK), b), [X, R.standard_normal(12)]),
    "scatter_": (lambda L, a, b: a.scatter_(1, _i(L, np.array([[0, 1], [2, 3], [1, 0]])), b), [X, COLS]),
    "scatter_add_": (lambda L, a, b: a.scatter_add_(1, _i(L, SCAT), b), [X, COLS]),
    "scatter_reduce_prod": (lambda L, a, b: a.scatter_reduce(1, _i(L, SCAT), b, "prod"), [X, COLS]),
    "scatter_reduce_amax": (lambda L, a, b: a.scatter_reduce(1, _i(L, SCAT), b, "amax", include_self=False),
                            [X, COLS]),
    "scatter_reduce_mean": (lambda L, a, b: a.scatter_reduce(1, _i(L, SCAT), b, "mean"), [X, COLS]),
    "index_reduce_mean": (lambda L, a, b: a.index_reduce(1, _i(L, IDX), b, "mean", include_self=False),
                          [X, COLS]),
    "index_reduce_amax": (lambda L, a, b: a.index_reduce(1, _i(L, IDX), b, "amax"), [X, COLS]),
    "put_acc": (lambda L, a, b: a.put_(_i(L, np.array([0, 0])), b, accumulate=True), [X, VEC2]),
    "setitem_column": (lambda L, a, b: (a.__setitem__((slice(None), 1), b), a)[1], [X, R.standard_normal(3)]),
    "view_of_transpose_exp_": (lambda L, a: (a.t()[1].exp_(), a)[1], [X]),
    "diagonal_zero_": (lambda L, a: (a[:, :3].diagonal().zero_(), a)[1], [X]),
    "tril_": (lambda L, a: a.tril_(), [X]),
    "t_": (lambda L, a: a.t_(), [X]),
    "squeeze_": (lambda L, a: a.unsqueeze(0).squeeze_(0), [X]),
    "cumsum_": (lambda L, a: a.cumsum_(1), [X]),
    "polygamma_": (lambda L, a: (a.abs() + 1).polygamma_(1), [X]),
    "mvlgamma_": (lambda L, a: (a.abs() + 2).mvlgamma_(2), [X]),
    "nan_to_num_": (lambda L, a: a.log().nan_to_num_(0.0), [X]),
    "nansum": (lambda L, a: a.nansum(1), [XNAN]),
    "nanmean": (lambda L, a: a.nanmean(1), [XNAN]),
    "nanmedian": (lambda L, a: a.nanmedian(1), [XNAN]),
    "nanmedian_all": (lambda L, a: a.nanmedian(), [XNAN]),
    "median": (lambda L, a: a.median(1), [X]),
    "mode": (lambda L, a: a.mode(1), [np.round(X)]),
    "kthvalue": (lambda L, a: a.kthvalue(2, 1), [X]),
    "quantile_dim": (lambda L, a: a.quantile(0.3, dim=1), [X]),
    "quantile_all": (lambda L, a: a.quantile(0.3), [X]),
    "quantile_vector_q": (lambda L, a: a.quantile(L.tensor([0.3, 0.7], dtype=L.float64), dim=1), [X]),
    "quantile_keepdim": (lambda L, a: a.quantile(0.3, dim=1, keepdim=True), [X]),
    "quantile_dim0_midpoint": (lambda L, a: a.quantile(0.5, dim=0, interpolation="midpoint"), [X]),
    "quantile_nearest": (lambda L, a: a.quantile(0.3, dim=1, interpolation="nearest"), [X]),
    "quantile_nan": (lambda L, a: a.quantile(0.3, dim=1), [XNAN]),
    "nanquantile": (lambda L, a: a.nanquantile(0.3, dim=1), [XNAN]),
    "cummax": (lambda L, a: a.cummax(1), [X]),
    "logcumsumexp": (lambda L, a: a.logcumsumexp(1), [X]),
    "aminmax": (lambda L, a: L.aminmax(a, dim=1), [X]),
    "var_mean": (lambda L, a: L.var_mean(a, dim=1, correction=0), [X]),
    "max_ties": (lambda L, a: a.max(), [np.round(X)]),
    "amax_ties": (lambda L, a: a.amax(1), [np.round(X)]),
    "take_along_dim": (lambda L, a: L.take_along_dim(a, _i(L, np.array([[0], [1], [2]])), 1), [X]),
    "masked_select": (lambda L, a: a.masked_select(_i(L, MASK)), [X]),
    "mask_index": (lambda L, a: a[a > 0], [X]),
    "renorm": (lambda L, a: a.renorm(2, 0, 1.0), [X]),
    "pairwise_distance": (lambda L, a, b: L.nn.functional.pairwise_distance(a, b), [X, Y]),
    "cosine_similarity": (lambda L, a, b: L.nn.functional.cosine_similarity(a, b), [X, Y]),
    "diagonal_scatter": (lambda L, a, b: L.diagonal_scatter(a, b), [X, R.standard_normal(3)]),
    "slice_scatter": (lambda L, a, b: L.slice_scatter(a, b, 1, 0, 2), [X, COLS]),
    "split_pieces": (lambda L, a: a.split(2, 1), [X]),
    "unbind": (lambda L, a: a.unbind(0), [X]),
}


def _run(L: Any, name: str) -> Any:
    program, arrays = PROGRAMS[name]
    leaves = [L.tensor(a, requires_grad=True) for a in arrays]
    out = program(L, *[t * 1 for t in leaves])
    outs = [o for o in (out if isinstance(out, tuple) else (out,)) if o.requires_grad]
    cotangents = [L.tensor(np.random.default_rng(1).standard_normal(tuple(o.shape))) for o in outs]
    grads = L.autograd.grad(outs, leaves, cotangents, allow_unused=True)
    return [_graph(o.grad_fn) for o in outs], outs, grads


@pytest.mark.parametrize("name", PROGRAMS)
def test_graph_values_and_gradients(name: str) -> None:
    t_graphs, t_outs, t_grads = _run(torch, name)
    e_graphs, e_outs, e_grads = _run(ember, name)
    assert e_graphs == t_graphs
    assert_close(list(e_outs), list(t_outs), equal_nan=True)
    for e, t in zip(e_grads, t_grads, strict=True):
        assert (e is None) == (t is None)
        if t is not None:
            assert_close(e, t, equal_nan=True)


# finite differences cannot check these: NaN inputs, or ties between maxima (torch's gradgradcheck fails too)
NOT_SMOOTH = {"nansum", "nanmean", "nanmedian", "nanmedian_all", "quantile_nan", "nanquantile", "max_ties",
              "amax_ties"}


@pytest.mark.parametrize("name", [n for n in PROGRAMS if n not in NOT_SMOOTH])
def test_double_backward(name: str) -> None:
    """Each backward is made of differentiable ember ops: gradients of gradients match finite differences."""
    program, arrays = PROGRAMS[name]

    def fn(*xs: Any) -> tuple:
        out = program(ember, *[x * 1 for x in xs])
        return tuple(o for o in (out if isinstance(out, tuple) else (out,)) if o.requires_grad)
    assert ember.autograd.gradgradcheck(fn, tuple(ember.tensor(a, requires_grad=True) for a in arrays))


@pytest.mark.parametrize(("size", "stride", "offset"), [((2, 2), (1, 2), 0), ((2, 2), (4, 1), 1), ((3,), (5,), 0)])
def test_as_strided_scatter_gradient(size: tuple, stride: tuple, offset: int) -> None:
    """torch 2.13's as_strided_scatter backward fails its own gradcheck (it zeroes the wrong elements of the
    input's gradient); ember's is the true derivative, checked by finite differences."""
    x = ember.tensor(X, requires_grad=True)
    src = ember.tensor(R.standard_normal(size), requires_grad=True)
    assert ember.autograd.gradcheck(lambda a, b: ember.as_strided_scatter(a, b, size, stride, offset), (x, src))
    assert not torch.autograd.gradcheck(lambda a, b: torch.as_strided_scatter(a, b, size, stride, offset),
                                        (torch.tensor(X, requires_grad=True),
                                         torch.tensor(src.detach().numpy(), requires_grad=True)),
                                        raise_exception=False)


def test_cosine_similarity_clamped_norm() -> None:
    """A norm below eps is clamped outside autograd (torch's gradient, not the clamp's)."""
    a = np.full((2, 3), 1e-10)
    b = R.standard_normal((1, 3))
    got = []
    for L in (torch, ember):
        x, y = L.tensor(a, requires_grad=True), L.tensor(b, requires_grad=True)
        out = L.nn.functional.cosine_similarity(x, y, eps=1e-8)
        out.sum().backward()
        got.append((_graph(out.grad_fn), out, x.grad, y.grad))
    assert got[1][0] == got[0][0]
    assert_close(list(got[1][1:]), list(got[0][1:]))
