"""The array fast paths of layer_norm (blocks of rows, forward and backward), float32 gelu and the trailing /
leading / full sum and mean against torch: values, every gradient, layouts (non-contiguous, expanded), dtypes
(float64 with gradcheck, float16/bfloat16), partial blocks and empty tensors."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from oracle import assert_close, check_grads, torch

RNG = np.random.default_rng(11)
F32 = dict(rtol=1e-4, atol=1e-5)


def _pair(a: np.ndarray, requires_grad: bool = False) -> tuple:
    return (ember.tensor(a, requires_grad=requires_grad), torch.tensor(a, requires_grad=requires_grad))


# ---- layer_norm ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_layer_norm_float64_all_grads_partial_block(affine: str) -> None:
    """Rows over two blocks with a short last one, each affine combination: output and x/w/b gradients."""
    a = RNG.standard_normal((3, 400, 120)) * 2 - 1
    w, b = RNG.standard_normal(120), RNG.standard_normal(120)
    fns = {
        "both": (lambda L, x, w, b: L.nn.functional.layer_norm(x, (120,), w, b), (a, w, b)),
        "weight": (lambda L, x, w: L.nn.functional.layer_norm(x, (120,), w), (a, w)),
        "bias": (lambda L, x, b: L.nn.functional.layer_norm(x, (120,), None, b), (a, b)),
        "none": (lambda L, x: L.nn.functional.layer_norm(x, (400, 120), eps=1e-2), (a,)),
    }
    fn, args = fns[affine]
    check_grads(fn, *args, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("which", ["x", "w", "b", "wb"])
def test_layer_norm_float32_subset_of_grads(which: str) -> None:
    """Only some inputs require grad (the backward skips the others' passes): the wanted ones as torch."""
    a = RNG.standard_normal((700, 64)).astype(np.float32)
    w, b = RNG.standard_normal(64).astype(np.float32), RNG.standard_normal(64).astype(np.float32)
    c = RNG.standard_normal(a.shape).astype(np.float32)
    grads = []
    for L in (ember, torch):
        x = L.tensor(a, requires_grad="x" in which)
        wt = L.tensor(w, requires_grad="w" in which)
        bt = L.tensor(b, requires_grad="b" in which)
        y = L.nn.functional.layer_norm(x, (64,), wt, bt)
        y.backward(L.tensor(c))
        grads.append([t.grad for t in (x, wt, bt)])
    for e, t in zip(*grads, strict=True):
        assert (e is None) == (t is None)
        if t is not None:
            assert_close(e, t, **F32)


def test_layer_norm_non_contiguous_input_and_expanded_grad() -> None:
    """A transposed input and a broadcast (stride-0) cotangent go through the same row view."""
    a = RNG.standard_normal((48, 30, 5)).astype(np.float32)
    w, b = RNG.standard_normal(30).astype(np.float32), RNG.standard_normal(30).astype(np.float32)
    g = RNG.standard_normal(30).astype(np.float32)
    res = []
    for L in (ember, torch):
        base = L.tensor(a, requires_grad=True)
        x = base.transpose(1, 2)                 # (48, 5, 30), not contiguous
        wt, bt = L.tensor(w, requires_grad=True), L.tensor(b, requires_grad=True)
        y = L.nn.functional.layer_norm(x, (30,), wt, bt)
        y.backward(L.tensor(g).expand(48, 5, 30))
        assert type(y.grad_fn).__name__ == "NativeLayerNormBackward0"
        res.append([y, base.grad, wt.grad, bt.grad])
    assert_close(res[0], res[1], **F32)


def test_layer_norm_offset_rows_float32_within_torch_error() -> None:
    """Rows far from zero mean (the centring pass matters): no further from the float64 values than torch."""
    a = (RNG.standard_normal((900, 96)) * 0.25 + 500).astype(np.float32)
    w, b = RNG.standard_normal(96).astype(np.float32), RNG.standard_normal(96).astype(np.float32)
    c = RNG.standard_normal(a.shape).astype(np.float32)
    out = {}
    for name, L, dt in (("ember", ember, np.float32), ("torch", torch, np.float32), ("ref", torch, np.float64)):
        x, wt, bt = (L.tensor(v.astype(dt), requires_grad=True) for v in (a, w, b))
        y = L.nn.functional.layer_norm(x, (96,), wt, bt)
        y.backward(L.tensor(c.astype(dt)))
        out[name] = [np.asarray(v.detach().numpy(), np.float64) for v in (y, x.grad, wt.grad, bt.grad)]
    for got, tor, ref in zip(out["ember"], out["torch"], out["ref"], strict=True):
        assert np.abs(got - ref).max() <= 2 * np.abs(tor - ref).max() + 1e-6


def test_layer_norm_gradcheck_and_gradgradcheck() -> None:
    x = ember.tensor(RNG.standard_normal((4, 3, 6)), requires_grad=True)
    w = ember.tensor(RNG.standard_normal((3, 6)), requires_grad=True)
    b = ember.tensor(RNG.standard_normal((3, 6)), requires_grad=True)
    fn = lambda v, u, c: ember.nn.functional.layer_norm(v, (3, 6), u, c)   # noqa: E731
    assert ember.autograd.gradcheck(fn, (x, w, b))
    assert ember.autograd.gradgradcheck(fn, (x, w, b))


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_layer_norm_halves(dt: str) -> None:
    """Half inputs are computed in float32 and rounded once: output and gradients no further from the float64
    values than torch's (which rounds the weight gradient's partial sums to the half type too)."""
    h = RNG.standard_normal((300, 40)).astype(np.float32)
    c = RNG.standard_normal((300, 40)).astype(np.float32)
    w = RNG.standard_normal(40).astype(np.float32)
    out = {}
    for name, L, t in (("ember", ember, dt), ("torch", torch, dt), ("ref", torch, "float64")):
        x = L.tensor(h).to(getattr(L, t)).requires_grad_()
        wt = L.tensor(w).to(getattr(L, t)).requires_grad_()
        y = L.nn.functional.layer_norm(x, (40,), wt)
        y.backward(L.tensor(c).to(y.dtype))
        assert y.dtype == getattr(L, t) and x.grad.dtype == getattr(L, t) and wt.grad.dtype == getattr(L, t)
        out[name] = [np.asarray(v.detach().float().numpy(), np.float64) for v in (y, x.grad, wt.grad)]
    for got, tor, ref in zip(out["ember"], out["torch"], out["ref"], strict=True):
        assert np.abs(got - ref).max() <= 1.01 * np.abs(tor - ref).max() + 1e-6


@pytest.mark.parametrize("shape", [(0, 8), (3, 0, 8)])
def test_layer_norm_empty_batch(shape: tuple) -> None:
    res = []
    for L in (ember, torch):
        x = L.zeros(shape, requires_grad=True)
        w = L.ones(8, requires_grad=True)
        b = L.zeros(8, requires_grad=True)
        y = L.nn.functional.layer_norm(x, (8,), w, b)
        y.sum().backward()
        res.append([y, x.grad, w.grad, b.grad])
    assert_close(res[0], res[1])


def test_layer_norm_constant_and_nan_rows() -> None:
    """A constant row (variance 0: 1/sqrt(eps)) and a row with NaN, forward and backward, as torch."""
    a = RNG.standard_normal((6, 10)).astype(np.float32)
    a[1] = 3.0
    a[4, 2] = np.nan
    c = RNG.standard_normal(a.shape).astype(np.float32)
    res = []
    for L in (ember, torch):
        x = L.tensor(a, requires_grad=True)
        w = L.tensor(np.linspace(-1, 1, 10, dtype=np.float32), requires_grad=True)
        y = L.nn.functional.layer_norm(x, (10,), w)
        y.backward(L.tensor(c))
        res.append([y, x.grad, w.grad])
    assert_close(res[0], res[1], **F32)


# ---- gelu -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float32_blocks_non_contiguous(approximate: str) -> None:
    """Several kernel blocks, a short last one, through a transposed view; the saved slope gives the gradient."""
    a = (RNG.standard_normal((170, 800)) * 4).astype(np.float32)
    c = RNG.standard_normal((800, 170)).astype(np.float32)
    res = []
    for L in (ember, torch):
        base = L.tensor(a, requires_grad=True)
        y = L.nn.functional.gelu(base.t(), approximate=approximate)
        y.backward(L.tensor(c))
        assert type(y.grad_fn).__name__ == "GeluBackward0"
        res.append([y, base.grad])
    assert_close(res[0], res[1])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float64_gradcheck_and_specials(approximate: str) -> None:
    x = ember.tensor(RNG.standard_normal((5, 4)) * 3, requires_grad=True)
    assert ember.autograd.gradcheck(lambda v: ember.nn.functional.gelu(v, approximate=approximate), (x,))
    s = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e30, -1e30, 25.0, -25.0, 1e-30], np.float32)
    for dt in (np.float32, np.float64):
        e, t = _pair(s.astype(dt))
        assert_close(ember.nn.functional.gelu(e, approximate=approximate),
                     torch.nn.functional.gelu(t, approximate=approximate))


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_gelu_halves_grad(dt: str) -> None:
    a = RNG.standard_normal((64, 33)).astype(np.float32) * 3
    c = RNG.standard_normal((64, 33)).astype(np.float32)
    res = []
    for L in (ember, torch):
        x = L.tensor(a).to(getattr(L, dt)).requires_grad_()
        y = L.nn.functional.gelu(x)
        y.backward(L.tensor(c).to(y.dtype))
        res.append([y, x.grad])
    assert_close(res[0], res[1], rtol=1e-2, atol=1e-2)


# ---- sum / mean over trailing, leading and all dims ------------------------------------------------------------
_DIMS = [-1, (-2, -1), (1, 2), 0, (0, 1), None, (0, 2)]


@pytest.mark.parametrize("dim", _DIMS)
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_sum_mean_fast_sizes(dim: object, dt: str) -> None:
    """Arrays big enough for the fast paths (row sums of a 2-d view, 1024-long pieces, cascaded column sums)."""
    a = RNG.standard_normal((40, 48, 1030)).astype(dt) + 0.5
    e, t = _pair(a)
    kw = {} if dim is None else {"dim": dim}
    tol = dict(rtol=2e-5, atol=1e-4) if dt == "float32" else {}
    assert_close(e.sum(**kw), t.sum(**kw), **tol)
    assert_close(e.mean(**kw), t.mean(**kw), **tol)
    if dim is not None:
        assert_close(e.mean(dim, keepdim=True), t.mean(dim, keepdim=True), **tol)


@pytest.mark.parametrize("dim", [-1, (-2, -1), 0, None])
def test_sum_mean_non_contiguous_and_expanded(dim: object) -> None:
    a = RNG.standard_normal((64, 40, 36)).astype(np.float32)
    e, t = _pair(a)
    kw = {} if dim is None else {"dim": dim}
    for ev, tv in ((e.transpose(0, 2), t.transpose(0, 2)), (e[:, ::2], t[:, ::2]),
                   (e[:1].expand(64, 40, 36), t[:1].expand(64, 40, 36))):
        assert_close(ev.sum(**kw), tv.sum(**kw), rtol=2e-5, atol=1e-4)
        assert_close(ev.mean(**kw), tv.mean(**kw), rtol=2e-5, atol=1e-5)


def test_sum_mean_trailing_grads_float64() -> None:
    a = RNG.standard_normal((30, 20, 70))
    check_grads(lambda L, x: x.mean((-2, -1)) * 3 + x.sum(-1).sum(-1), a)
    check_grads(lambda L, x: x.mean(-1, keepdim=True) * x, a)
    x = ember.tensor(RNG.standard_normal((3, 4, 5)), requires_grad=True)
    assert ember.autograd.gradcheck(lambda v: v.mean((-2, -1)), (x,))
    assert ember.autograd.gradcheck(lambda v: v.sum((0, 1)), (x,))
    e = ember.tensor(a, requires_grad=True)
    assert type(e.mean(-1).grad_fn).__name__ == "MeanBackward1"
    assert type(e.mean().grad_fn).__name__ == "MeanBackward0"
    assert type(e.sum((-2, -1)).grad_fn).__name__ == "SumBackward1"


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_sum_mean_halves(dt: str) -> None:
    a = RNG.standard_normal((50, 40, 30)).astype(np.float32)
    e, t = ember.tensor(a).to(getattr(ember, dt)), torch.tensor(a).to(getattr(torch, dt))
    for dim in (-1, (-2, -1), None):
        kw = {} if dim is None else {"dim": dim}
        assert_close(e.sum(**kw), t.sum(**kw), rtol=1e-2, atol=1e-1)
        assert_close(e.mean(**kw), t.mean(**kw), rtol=1e-2, atol=1e-2)


def test_sum_mean_empty() -> None:
    for shape, dim in (((0, 5), -1), ((4, 0), -1), ((3, 0, 2), (-2, -1)), ((0,), None)):
        e, t = _pair(np.zeros(shape, np.float32))
        kw = {} if dim is None else {"dim": dim}
        assert_close(e.sum(**kw), t.sum(**kw))
        assert_close(e.mean(**kw), t.mean(**kw))


# ---- intra-op threads -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("parts", [1, 3])
def test_threaded_layer_norm_and_gelu_match_torch(parts: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows (layer_norm) and blocks (gelu) split over threads, parts of unequal size: values and gradients as
    torch's; the forwards are bit-identical to the one-thread result (each thread writes its own rows)."""
    from ember.ops import _parallel, info
    monkeypatch.setattr(_parallel, "_MIN_PART", 1)
    monkeypatch.setattr(_parallel, "_cores", lambda: 3)
    monkeypatch.setitem(info._threads, "intra", parts)
    a = RNG.standard_normal((5, 7000, 33)).astype(np.float32)
    w, b = RNG.standard_normal(33).astype(np.float32), RNG.standard_normal(33).astype(np.float32)
    g = RNG.standard_normal(a.shape).astype(np.float32)
    res = []
    for lib in (ember, torch):
        x, wt, bt = (lib.tensor(v, requires_grad=True) for v in (a, w, b))
        y = lib.nn.functional.layer_norm(x, (33,), wt, bt)
        z = lib.nn.functional.gelu(x)
        (y * lib.tensor(g)).sum().backward()
        (z * lib.tensor(g)).sum().backward()
        res.append([t.detach().numpy() for t in (y, z, x.grad, wt.grad, bt.grad)])
    for e, t in zip(res[0], res[1], strict=True):
        np.testing.assert_allclose(e, t, rtol=1e-4, atol=1e-5 * np.abs(t).max())   # sums of 35,000 rows
    monkeypatch.setitem(info._threads, "intra", 1)
    one = ember.nn.functional.layer_norm(ember.tensor(a), (33,), ember.tensor(w), ember.tensor(b))
    np.testing.assert_array_equal(res[0][0], one.numpy())
    np.testing.assert_array_equal(res[0][1], ember.nn.functional.gelu(ember.tensor(a)).numpy())


@pytest.mark.parametrize("parts", [1, 3])
@pytest.mark.parametrize("dims", [(-1,), (-2, -1), None])
def test_threaded_trailing_sums_match_torch(parts: int, dims: tuple | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Trailing sums (BLAS row sums, each row summed whole by one BLAS thread) under any intra-op thread count:
    torch's values, bit-identical to one thread; a sum to one value is torch's bit for bit, whose order (a
    run per thread) follows the thread count."""
    from ember.ops import _parallel, info
    monkeypatch.setattr(_parallel, "_MIN_PART", 1)
    monkeypatch.setattr(_parallel, "_cores", lambda: 3)
    a = RNG.standard_normal((7, 33, 2048)).astype(np.float32)
    e, t = _pair(a)
    monkeypatch.setitem(info._threads, "intra", parts)
    if dims is None:
        before = torch.get_num_threads()
        torch.set_num_threads(parts)
        try:
            np.testing.assert_array_equal(e.sum().numpy(), t.sum().numpy())
        finally:
            torch.set_num_threads(before)
        return
    got = e.mean(dims).numpy()
    np.testing.assert_allclose(got, t.mean(dims).numpy(), rtol=2e-5, atol=1e-5)
    monkeypatch.setitem(info._threads, "intra", 1)
    np.testing.assert_array_equal(got, e.mean(dims).numpy())


@pytest.mark.parametrize("parts", [1, 3])
def test_threaded_logsumexp_rows_match_torch(parts: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """logsumexp over trailing dims with its row blocks split over threads: torch's values (with -inf and +inf
    rows), bit-identical to one thread, and torch's gradient."""
    from ember.ops import _parallel, info
    monkeypatch.setattr(_parallel, "_MIN_PART", 1)
    monkeypatch.setattr(_parallel, "_cores", lambda: 3)
    a = RNG.standard_normal((301, 200)).astype(np.float32) * 30
    a[5] = -np.inf
    a[7, 3] = np.inf
    e, t = _pair(a, requires_grad=True)
    monkeypatch.setitem(info._threads, "intra", parts)
    got = e.logsumexp(1)
    np.testing.assert_allclose(got.detach().numpy(), t.logsumexp(1).detach().numpy(), rtol=1e-6, atol=1e-5)
    got[8:].sum().backward()
    t.logsumexp(1)[8:].sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)
    monkeypatch.setitem(info._threads, "intra", 1)
    np.testing.assert_array_equal(got.detach().numpy(), e.detach().logsumexp(1).numpy())


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_threaded_gelu_backward_same_bits(approximate: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """gelu's backward (slope times gradient in parts on the threads) gives the same bits for any thread count,
    and torch's gradient; a broadcast gradient takes the plain product."""
    from ember.ops import _parallel, info
    monkeypatch.setattr(_parallel, "_MIN_PART", 1)
    monkeypatch.setattr(_parallel, "_cores", lambda: 3)
    a = RNG.standard_normal((301, 67)).astype(np.float32) * 3
    g = RNG.standard_normal(a.shape).astype(np.float32)
    grads = []
    for parts in (3, 1):
        monkeypatch.setitem(info._threads, "intra", parts)
        x = ember.tensor(a, requires_grad=True)
        ember.nn.functional.gelu(x, approximate=approximate).backward(ember.tensor(g))
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    t = torch.tensor(a, requires_grad=True)
    torch.nn.functional.gelu(t, approximate=approximate).backward(torch.tensor(g))
    np.testing.assert_allclose(grads[0], t.grad.numpy(), rtol=1e-4, atol=1e-5)
    e, t = _pair(a, requires_grad=True)
    ember.nn.functional.gelu(e, approximate=approximate).sum().backward()
    torch.nn.functional.gelu(t, approximate=approximate).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", [(4, 3, 4000), (6, 300)])
def test_layer_norm_row_dots_long_and_short_rows(shape: tuple) -> None:
    """Rows up to 8192 long take BLAS row dots (``vecdot``), longer ones ``einsum``: both give torch's values
    and gradients."""
    a = (RNG.standard_normal(shape) * 2 + 3).astype(np.float32)
    g = RNG.standard_normal(shape).astype(np.float32)
    w, b = RNG.standard_normal(shape[1:]).astype(np.float32), RNG.standard_normal(shape[1:]).astype(np.float32)
    res = []
    for lib in (ember, torch):
        x, wt, bt = (lib.tensor(v, requires_grad=True) for v in (a, w, b))
        y = lib.nn.functional.layer_norm(x, shape[1:], wt, bt)
        y.backward(lib.tensor(g))
        res.append([t.detach().numpy() for t in (y, x.grad, wt.grad, bt.grad)])
    for e, t in zip(res[0], res[1], strict=True):
        np.testing.assert_allclose(e, t, rtol=1e-4, atol=1e-4)
