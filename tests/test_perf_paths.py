"""The fast paths added for speed (flat ``ufunc.at`` positions, branch-free masked fills, ``compress`` for
masks, cheap range checks, fused reductions, GELU / layer_norm backward kernels) against torch: values,
gradients, errors, and double backward where the backward must stay differentiable."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import ember
from oracle import assert_close, assert_same_error, check_grads, torch

RNG = np.random.default_rng(0)


def both(a: np.ndarray, requires_grad: bool = False) -> tuple[Any, Any]:
    return (ember.tensor(a.copy(), requires_grad=requires_grad),
            torch.tensor(a.copy(), requires_grad=requires_grad))


# ---- indexing --------------------------------------------------------------------------------------------
DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int8", "uint8", "bool", "complex64",
          "complex128"]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("value", [0, 1, -1, 2.5, True, -0.0])
def test_masked_setitem_number(dt: str, value: Any) -> None:
    """``x[mask] = number`` (the bit-blend path) for every element size, including -0.0 and wrapping ints."""
    base = (RNG.standard_normal((6, 7)) * 5).astype(np.float32)
    mask = RNG.random((6, 7)) > 0.5
    t = torch.tensor(base).to(getattr(torch, dt))
    e = ember.tensor(base).to(getattr(ember, dt))
    t[torch.tensor(mask)] = value
    e[ember.tensor(mask)] = value
    assert_close(e, t, rtol=0, atol=0)
    if dt.startswith("float"):
        assert np.array_equal(np.signbit(e.float().numpy()), np.signbit(t.float().numpy()))


def test_masked_setitem_strided_and_errors() -> None:
    base = RNG.standard_normal((5, 8)).astype(np.float32)
    e, t = both(base)
    ev, tv = e.t(), t.t()          # a non-contiguous view, written through
    ev[ev > 0] = 3.0
    tv[tv > 0] = 3.0
    assert_close(e, t, rtol=0, atol=0)
    ei, ti = ember.zeros(3, dtype=ember.int64), torch.zeros(3, dtype=torch.int64)
    m = [True, False, True]
    assert_same_error(lambda: ei.__setitem__(ember.tensor(m), float("inf")),
                      lambda: ti.__setitem__(torch.tensor(m), float("inf")))


@pytest.mark.parametrize("shape", [(7,), (6, 5), (3, 4, 5)])
def test_mask_getitem(shape: tuple) -> None:
    a = RNG.standard_normal(shape)
    check_grads(lambda L, x: x[x > 0.2] * 2, a)
    e, t = both(a)
    assert_close(e.mT[e.mT > 0], t.mT[t.mT > 0]) if len(shape) > 1 else assert_close(e[e < 0], t[t < 0])


@pytest.mark.parametrize("key", [
    lambda L: L.tensor([0, 2, 2, -1, 0]),                       # duplicates and a negative index
    lambda L: (L.tensor([[1, 1], [0, 3]]), L.tensor([2, 2])),   # two arrays, broadcast
    lambda L: (slice(None), L.tensor([1, 1, 0])),               # a slice first: the generic path
    lambda L: (L.tensor([3, 3]), 1, L.tensor([0, 0])),
])
def test_index_grad_accumulates(key: Any) -> None:
    """The gradient of ``x[key]`` sums duplicates (flat-position ``add.at``)."""
    check_grads(lambda L, x: x[key(L)] * 3, RNG.standard_normal((4, 3, 5)))


def test_index_put_accumulate() -> None:
    a = RNG.standard_normal((5, 4))
    v = RNG.standard_normal((6, 4))
    check_grads(lambda L, x, y: x.index_put((L.tensor([0, 4, 4, -2, 0, 1]),), y, accumulate=True), a, v)
    check_grads(lambda L, x, y: x.index_put((L.tensor([0, 0]), L.tensor([1, 1])), y[0, :1], accumulate=True),
                a, v)
    e, t = both(a)
    assert_same_error(lambda: e.index_put_((ember.tensor([5]),), ember.ones(4, dtype=ember.float64), True),
                      lambda: t.index_put_((torch.tensor([5]),), torch.ones(4, dtype=torch.float64), True),
                      match_message=False)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_add_and_select(dim: int) -> None:
    a = RNG.standard_normal((4, 5, 3))
    n = 7
    idx = RNG.integers(0, a.shape[dim], n)
    src_shape = list(a.shape)
    src_shape[dim] = n
    s = RNG.standard_normal(src_shape)
    check_grads(lambda L, x, y: x.index_add(dim, L.tensor(idx), y, alpha=2), a, s)
    check_grads(lambda L, x: x.index_select(dim, L.tensor(idx)), a)
    e, t = both(a)
    for bad in ([0, -1], [9, 0]):
        assert_same_error(lambda b=bad: e.index_select(0, ember.tensor(b)),
                          lambda b=bad: t.index_select(0, torch.tensor(b)))
        if dim != 1:   # torch's own message differs along dim 1 for negatives
            assert_same_error(lambda b=bad: e.index_add(dim, ember.tensor(b), e.narrow(dim, 0, 2)),
                              lambda b=bad: t.index_add(dim, torch.tensor(b), t.narrow(dim, 0, 2)))


@pytest.mark.parametrize("dim", [0, 1])
def test_gather_scatter_add(dim: int) -> None:
    a = RNG.standard_normal((5, 6))
    idx = RNG.integers(0, a.shape[dim], (4, 3))
    check_grads(lambda L, x: x.gather(dim, L.tensor(idx)), a)
    check_grads(lambda L, x, y: x.scatter_add(dim, L.tensor(idx), y), a, RNG.standard_normal((4, 3)))
    big = RNG.standard_normal((4, 5))   # src larger than index: only its leading block is read
    assert_close(ember.tensor(a).scatter_add(dim, ember.tensor(idx), ember.tensor(big)),
                 torch.tensor(a).scatter_add(dim, torch.tensor(idx), torch.tensor(big)))
    check_grads(lambda L, x, y: x.scatter_reduce(dim, L.tensor(idx), y, "mean"), a, RNG.standard_normal((4, 3)))
    check_grads(lambda L, x, y: x.scatter_reduce(dim, L.tensor(idx), y, "prod", include_self=False), a,
                RNG.standard_normal((4, 3)))
    e, t = both(a)
    for bad in ([[0, -1]], [[0, 9]]):
        assert_same_error(lambda b=bad: e.gather(dim, ember.tensor(b)), lambda b=bad: t.gather(dim, torch.tensor(b)))
    i32 = idx.astype(np.int32)
    assert_close(e.scatter(dim, ember.tensor(i32), 2.0, reduce="multiply"),
                 t.scatter(dim, torch.tensor(i32), 2.0, reduce="multiply"))


# ---- reductions (einsum sums, argmax along outer dims): sizes above the fast paths' threshold ---------------
BIG = (40, 30, 36)   # 43200 elements


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dim", [None, 0, (0, 1), 2, (1, 2), 1, (0, 2), -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_big_sums(dtype: Any, dim: Any, keepdim: bool) -> None:
    a = (RNG.standard_normal(BIG) + 0.5).astype(dtype)
    e, t = both(a)
    if dim is None:
        assert_close(e.sum(), t.sum())
        assert_close(e.mean(), t.mean())
        return
    assert_close(e.sum(dim, keepdim), t.sum(dim, keepdim))
    assert_close(e.mean(dim, keepdim), t.mean(dim, keepdim))
    assert_close(e.var(dim, keepdim=keepdim), t.var(dim, keepdim=keepdim), rtol=1e-5)
    assert_close(e.std(dim, keepdim=keepdim, correction=0), t.std(dim, keepdim=keepdim, correction=0), rtol=1e-5)
    assert_close(e.logsumexp(dim, keepdim), t.logsumexp(dim, keepdim))


def test_big_sums_odd_sizes_and_specials() -> None:
    a = RNG.random(40000 + 77).astype(np.float32)   # not a multiple of the 128-term columns
    a[5] = np.inf
    e, t = both(a)
    assert_close(e.sum(), t.sum())
    a[7] = np.nan
    e, t = both(a)
    assert_close(e.sum(), t.sum())
    big = RNG.random((5000, 8)).astype(np.float32)  # a long reduced extent: a cascade of 128-row sums
    assert_close(ember.tensor(big).sum(0), torch.tensor(big).sum(0))
    assert_close(ember.tensor(big.T.copy()).sum(1), torch.tensor(big.T.copy()).sum(1))
    for shape in ((5, 9216), (3, 3, 5, 1024)):        # long rows: cut into 1024-element pieces
        r = RNG.random(shape).astype(np.float32)
        assert_close(ember.tensor(r).sum(-1), torch.tensor(r).sum(-1))
        assert_close(ember.tensor(r).mean((-2, -1), keepdim=True), torch.tensor(r).mean((-2, -1), keepdim=True))
    h = RNG.random(BIG).astype(np.float16)          # half types accumulate in float32
    assert_close(ember.tensor(h).sum((1, 2)), torch.tensor(h).sum((1, 2)))


def test_big_sum_grads_and_double_backward() -> None:
    a = RNG.standard_normal(BIG)
    check_grads(lambda L, x: x.sum(0) * x.mean((1, 2)).sum(), a)
    check_grads(lambda L, x: x.var(0) + x.logsumexp(0), a, atol=1e-5)
    x = ember.tensor(a, requires_grad=True)
    (g,) = ember.autograd.grad(x.var((1, 2)).sum(), x, create_graph=True)
    (gg,) = ember.autograd.grad((g * g).sum(), x)
    xt = torch.tensor(a, requires_grad=True)
    (gt,) = torch.autograd.grad(xt.var((1, 2)).sum(), xt, create_graph=True)
    (ggt,) = torch.autograd.grad((gt * gt).sum(), xt)
    assert_close(gg, ggt)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int16", "uint8"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_big_arg_extremes(dtype: str, dim: int) -> None:
    """argmax/argmin/max/min along outer dims, with ties (the first index wins) and NaNs."""
    a = RNG.integers(0, 7, BIG).astype(np.float64)   # many ties
    e = ember.tensor(a).to(getattr(ember, dtype))
    t = torch.tensor(a).to(getattr(torch, dtype))
    for name in ("argmax", "argmin"):
        assert_close(getattr(e, name)(dim), getattr(t, name)(dim))
        assert_close(getattr(e, name)(dim, keepdim=True), getattr(t, name)(dim, keepdim=True))
    for name in ("max", "min"):
        assert_close(tuple(getattr(e, name)(dim)), tuple(getattr(t, name)(dim)))
    u = RNG.standard_normal(BIG)                     # distinct values: one hit per slice
    e, t = ember.tensor(u).to(getattr(ember, dtype)), torch.tensor(u).to(getattr(torch, dtype))
    assert_close(e.argmax(dim), t.argmax(dim))
    if dtype.startswith("float"):
        u[3, 4, 5] = u[7, 1, 2] = np.nan
        e, t = ember.tensor(u).to(getattr(ember, dtype)), torch.tensor(u).to(getattr(torch, dtype))
        assert_close(e.argmax(dim), t.argmax(dim))
        assert_close(e.argmin(dim), t.argmin(dim))


def test_big_max_dim_grad() -> None:
    check_grads(lambda L, x: x.max(0).values * 2, RNG.standard_normal(BIG))


def test_fast_paths_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests above reach the cascaded column sums and the outer-dim argmax (else they prove nothing)."""
    from ember.ops import reduction as R
    calls: list[str] = []
    for name in ("_sum_rows", "_arg_extreme_outer"):
        real = getattr(R, name)
        monkeypatch.setattr(R, name, lambda *a, _r=real, _n=name: calls.append(_n) or _r(*a))
    x = ember.tensor(RNG.standard_normal(BIG).astype(np.float32))
    x.sum(0), x.argmax(0)
    assert calls == ["_sum_rows", "_arg_extreme_outer"]
    calls.clear()
    ember.ones(10).sum(), x.double().sum(1)   # small, or a middle dim: NumPy's own sum
    assert not calls


# ---- gelu: array forward, backward from the saved CDF (or ember ops under create_graph) -------------------
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_values_grads(approximate: str) -> None:
    a = np.concatenate([RNG.standard_normal(200) * 3, [0.0, -0.0, 12.0, -12.0, 40.0, -40.0]])
    check_grads(lambda L, x: L.nn.functional.gelu(x, approximate=approximate), a)
    f32 = a.astype(np.float32).reshape(2, -1)
    # float32: both round tanh/erf near saturation (where 1 + t cancels) within ~1e-6 of the exact slope
    check_grads(lambda L, x: L.nn.functional.gelu(x, approximate=approximate) * 2, f32, rtol=1e-5, atol=1e-5)
    for dt in ("float16", "bfloat16"):
        e = ember.tensor(f32).to(getattr(ember, dt)).requires_grad_()
        t = torch.tensor(f32).to(getattr(torch, dt)).requires_grad_()
        ye = ember.nn.functional.gelu(e, approximate=approximate)
        yt = torch.nn.functional.gelu(t, approximate=approximate)
        assert_close(ye, yt, rtol=1e-2, atol=1e-3)   # one rounding of the half type apart at most
        ye.backward(ye.detach())
        yt.backward(yt.detach())
        assert_close(e.grad, t.grad, rtol=2e-2, atol=2e-2)
        assert ye.grad_fn.name() == "GeluBackward0"
    assert_close(ember.nn.functional.gelu(ember.tensor(0.7), approximate=approximate),
                 torch.nn.functional.gelu(torch.tensor(0.7), approximate=approximate))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_double_backward(approximate: str) -> None:
    a = RNG.standard_normal((3, 4)) * 2
    x = ember.tensor(a, requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda v: ember.nn.functional.gelu(v, approximate=approximate), (x,))
    xt = torch.tensor(a, requires_grad=True)
    outs = []
    for L, v in ((ember, x), (torch, xt)):
        (g,) = L.autograd.grad(L.nn.functional.gelu(v, approximate=approximate).sum(), v, create_graph=True)
        outs.append((g, *L.autograd.grad((g * g).sum(), v)))
    assert_close(outs[0], outs[1])


def test_gelu_errors() -> None:
    for dt in ("int64", "complex64"):
        assert_same_error(lambda d=dt: ember.nn.functional.gelu(ember.ones(2, dtype=getattr(ember, d))),
                          lambda d=dt: torch.nn.functional.gelu(torch.ones(2, dtype=getattr(torch, d))))
    assert_same_error(lambda: ember.nn.functional.gelu(ember.ones(2), approximate="x"),
                      lambda: torch.nn.functional.gelu(torch.ones(2), approximate="x"))


# ---- layer_norm: blocks of rows (several blocks and a partial last one here) ------------------------------
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm_blocks(affine: str) -> None:
    a = RNG.standard_normal((2, 550, 130)) * 3 + 1   # 143000 elements: two blocks, the last one partial
    w = RNG.standard_normal(130)
    b = RNG.standard_normal(130)
    if affine == "both":
        check_grads(lambda L, x, w, b: L.nn.functional.layer_norm(x, (130,), w, b), a, w, b)
    elif affine == "weight":
        check_grads(lambda L, x, w: L.nn.functional.layer_norm(x, (130,), w), a, w)
    else:
        check_grads(lambda L, x: L.nn.functional.layer_norm(x, (550, 130), eps=1e-3), a)
    f32 = a.astype(np.float32)
    e, t = both(f32, requires_grad=True)
    ye = ember.nn.functional.layer_norm(e, (130,), ember.tensor(w.astype(np.float32)))
    yt = torch.nn.functional.layer_norm(t, (130,), torch.tensor(w.astype(np.float32)))
    assert_close(ye, yt, rtol=1e-5)
    c = RNG.standard_normal(a.shape).astype(np.float32)
    ye.backward(ember.tensor(c))
    yt.backward(torch.tensor(c))
    assert_close(e.grad, t.grad, rtol=1e-4, atol=1e-5)


def test_layer_norm_double_backward_and_halves() -> None:
    a = RNG.standard_normal((3, 5))
    x = ember.tensor(a, requires_grad=True)
    w = ember.tensor(RNG.standard_normal(5), requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda v, u: ember.nn.functional.layer_norm(v, (5,), u), (x, w))
    h = RNG.standard_normal((4, 6)).astype(np.float32)
    c = RNG.standard_normal((4, 6)).astype(np.float32)
    for dt in ("float16", "bfloat16"):
        e = ember.tensor(h).to(getattr(ember, dt)).requires_grad_()
        t = torch.tensor(h).to(getattr(torch, dt)).requires_grad_()
        ye, yt = ember.nn.functional.layer_norm(e, (6,)), torch.nn.functional.layer_norm(t, (6,))
        assert_close(ye, yt, rtol=1e-2, atol=1e-3)   # one rounding of the half type apart at most
        ye.backward(ember.tensor(c).to(ye.dtype))    # (not ye itself: that gradient cancels to ~0)
        yt.backward(torch.tensor(c).to(yt.dtype))
        assert_close(e.grad, t.grad, rtol=2e-2, atol=2e-2)


def test_big_logsumexp_rows_specials() -> None:
    """logsumexp over trailing dims a block of rows at a time: rows of -inf, +inf and NaN, long rows."""
    a = RNG.standard_normal((300, 200)).astype(np.float32) * 30
    a[3] = -np.inf
    a[5, 7] = np.inf
    a[9, 1] = np.nan
    e, t = both(a)
    assert_close(e.logsumexp(1), t.logsumexp(1))
    assert_close(e.logsumexp(-1, keepdim=True), t.logsumexp(-1, keepdim=True))
    for shape in ((4, 9216), (3, 5001 * 4)):
        r = RNG.standard_normal(shape)
        check_grads(lambda L, x: x.logsumexp(-1), r)


@pytest.mark.parametrize("dt", DTYPES)
def test_masked_fill_branch_free(dt: str) -> None:
    """masked_fill as a copy plus the bit blend: broadcast masks and inputs, every element size."""
    base = (RNG.standard_normal((3, 1, 5)) * 4).astype(np.float32)
    mask = RNG.random((4, 5)) > 0.4
    for value in (-1, 0.5, True):
        t = torch.tensor(base).to(getattr(torch, dt)).masked_fill(torch.tensor(mask), value)
        e = ember.tensor(base).to(getattr(ember, dt)).masked_fill(ember.tensor(mask), value)
        assert_close(e, t, rtol=0, atol=0)


def test_masked_fill_grads() -> None:
    a = RNG.standard_normal((3, 4, 5))
    mask = RNG.random((4, 5)) > 0.5
    check_grads(lambda L, x: x.masked_fill(L.tensor(mask), -np.inf).softmax(-1), a)
    check_grads(lambda L, x, v: x.masked_fill(L.tensor(mask), v), a, np.array(2.5))


def test_index_double_backward() -> None:
    """The gradients built on flat-position ``add.at`` stay differentiable."""
    x = ember.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    i = ember.tensor([0, 2, 2, -1])
    assert ember.autograd.gradgradcheck(lambda v: v[i] * v[i], (x,))
    assert ember.autograd.gradgradcheck(lambda v: v.index_select(0, i % 4).pow(2), (x,))
    assert ember.autograd.gradgradcheck(lambda v: v.gather(1, ember.tensor([[0, 0], [2, 1], [1, 1], [0, 2]])).pow(2),
                                        (x,))
    assert ember.autograd.gradgradcheck(lambda v: v.masked_fill(v > 0, 0.5).pow(2), (x,))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_blocks_strided(approximate: str) -> None:
    """Inputs above one cache block (several blocks and a partial one), read through a transposed view."""
    a = RNG.standard_normal((300, 401)).astype(np.float32) * 3
    g = RNG.standard_normal((401, 300)).astype(np.float32)
    e, t = both(a, requires_grad=True)
    ye = ember.nn.functional.gelu(e.t(), approximate=approximate)
    yt = torch.nn.functional.gelu(t.t(), approximate=approximate)
    assert_close(ye, yt)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    assert_close(e.grad, t.grad)


@pytest.mark.parametrize("dim", [None, 0, (1, 2)])
def test_big_vector_norms(dim: Any) -> None:
    a = RNG.standard_normal(BIG).astype(np.float32)
    e, t = both(a)
    for p in (1, 2):   # torch's own float32 norms are off by ~1e-6 here (ember's by ~2e-7)
        assert_close(ember.linalg.vector_norm(e, p, dim), torch.linalg.vector_norm(t, p, dim), rtol=4e-6)
    check_grads(lambda L, x: L.linalg.vector_norm(x, 2, dim), a.astype(np.float64))


# ---- softmax rows: unshifted exp where the row sum allows, other rows redone shifted by their max -----------
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_unshifted_and_redone_rows(fn: str) -> None:
    """One block mixing rows kept unshifted and rows redone (overflowing, all very negative, sums just under 1
    or over 2**64, -inf/+inf/NaN): values, gradients and grad_fn as torch's, relative error of the float32
    values within a few ulp of the float64 ones, no warnings, and the same bits on any thread count."""
    import warnings

    from ember.nn.functional import _activation
    from ember.ops import _parallel, info
    a = RNG.standard_normal((64, 40)) * 3
    a[1] += 100            # exp overflows: redone
    a[2] -= 120            # every exp underflows or is tiny: redone
    a[3] = -1.0            # s = 40·e^-1 ≥ 1: kept
    a[4] = -4.0            # s = 40·e^-4 < 1: redone
    a[5, :3] = 44.4        # s just over 2**64: redone
    a[6, 0], a[7, 1], a[8, 2], a[9] = -np.inf, np.inf, np.nan, -np.inf
    f32 = a.astype(np.float32)
    g = RNG.standard_normal(a.shape).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outs = []
        for parts in (1, 3):
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(_activation, "_ROWS_MIN", 1)
                mp.setattr(_parallel, "_MIN_PART", 1)
                mp.setattr(_parallel, "_cores", lambda: 3)
                mp.setitem(info._threads, "intra", parts)
                e = ember.tensor(f32, requires_grad=True)
                ye = getattr(ember.nn.functional, fn)(e, -1)
                ye.backward(ember.tensor(g))
                outs.append((ye.detach().numpy(), e.grad.numpy()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    t = torch.tensor(f32, requires_grad=True)
    yt = getattr(torch.nn.functional, fn)(t, -1)
    yt.backward(torch.tensor(g))
    assert type(ye.grad_fn).__name__ == type(yt.grad_fn).__name__
    np.testing.assert_allclose(outs[0][0], yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outs[0][1], t.grad.numpy(), rtol=1e-5, atol=1e-5)
    fin = np.isfinite(f32).all(1)
    ref = getattr(torch.nn.functional, fn)(torch.tensor(f32[fin], dtype=torch.float64), -1).numpy()
    # in ulp of the values; of log_softmax's near 0 in ulp of 1 (there the row sum's rounding dominates both)
    ulp = np.spacing(np.maximum(np.abs(ref), fn == "log_softmax").astype(np.float32)).astype(np.float64)
    ok = np.abs(ref) > 1e-30    # (away from float32's subnormals)
    err = {k: (np.abs(v[fin].astype(np.float64) - ref) / ulp)[ok].max()
           for k, v in (("ember", outs[0][0]), ("torch", yt.detach().numpy()))}
    assert err["ember"] <= 1.5 * err["torch"] + 2, err    # as exact as torch


def test_softmax_rows_device_branch_on_numpy() -> None:
    """The branch taken off the CPU (every row shifted, one block, no check that waits for the device), run
    here through a stand-in namespace over NumPy: the same values as the CPU branch, the probabilities too."""
    from ember.nn.functional._activation import _softmax_rows

    class Proxy:   # not ``numpy`` itself, so the row kernel takes its device branch
        def __getattr__(self, name: str) -> object:
            return getattr(np, name)

    a = (RNG.standard_normal((50, 33)) * 4).astype(np.float32)
    a[3, 0], a[4] = np.inf, -np.inf
    with np.errstate(all="ignore"):
        for log in (False, True):
            cpu, cpu_e, cpu_s, _ = _softmax_rows(np, a, log, log)
            dev, dev_e, dev_s, _ = _softmax_rows(Proxy(), a, log, log)
            np.testing.assert_allclose(dev, cpu, rtol=1e-5, atol=1e-6)   # (sums rounded apart)
            if log:   # the probabilities, kept as row exps and their sums
                np.testing.assert_allclose(dev_e / dev_s[:, None], cpu_e / cpu_s[:, None], rtol=1e-5, atol=1e-6)
