"""The row path of softmax / log_softmax over the last dim (cache-sized blocks of rows on the intra-op threads,
array backward) against torch: values and gradients (float32/float64, partial blocks, long rows, special
values, non-contiguous inputs, expanded gradients), cross_entropy, double backward, and results that do not
depend on the thread count."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from oracle import assert_close, torch

RNG = np.random.default_rng(5)
FNS = ["softmax", "log_softmax"]


@pytest.fixture(autouse=True, params=["rows", "whole"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs on the row path (taken from any size here) and on the whole-array path."""
    from ember.nn.functional import _activation
    monkeypatch.setattr(_activation, "_ROWS_MIN", 1 if request.param == "rows" else 1 << 62)
    return request.param


def _run(lib: object, fn: str, a: np.ndarray, g: np.ndarray, dim: int = -1, view: bool = False) -> list:
    x = lib.tensor(a, requires_grad=True)
    y = getattr(lib.nn.functional, fn)(x.mT if view else x, dim)
    y.backward(lib.tensor(g))
    return [y.detach().numpy(), x.grad.numpy(), type(y.grad_fn).__name__]


@pytest.mark.parametrize("fn", FNS)
@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 4, 300), (70000, 3), (2, 5000), (1, 7)])
def test_rows_match_torch(fn: str, dt: str, shape: tuple) -> None:
    """Values and input gradients as torch's: blocks of many short rows, a partial last block, rows longer
    than 4096 (pairwise sums), a single row; the grad_fn names are torch's."""
    a = (RNG.standard_normal(shape) * 5).astype(dt)
    g = RNG.standard_normal(shape).astype(dt)
    e, t = _run(ember, fn, a, g), _run(torch, fn, a, g)
    tol = dict(rtol=1e-5, atol=1e-5) if dt == "float32" else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(e[0], t[0], **tol)
    np.testing.assert_allclose(e[1], t[1], **tol)
    assert e[2] == t[2]


@pytest.mark.parametrize("fn", FNS)
def test_special_rows(fn: str) -> None:
    """Rows with -inf, +inf and NaN: torch's NaN pattern in values and gradients (an all -inf row and any row
    holding +inf or NaN are NaN; -inf entries of a finite row are 0 / -inf)."""
    a = np.array([[1, 2, 3], [-np.inf] * 3, [0, np.inf, 1], [0, np.nan, 1], [np.inf, np.inf, 0],
                  [-np.inf, 0, 1]], np.float32)
    g = np.ones_like(a)
    g[:, 0] = 2
    e, t = _run(ember, fn, a, g), _run(torch, fn, a, g)
    np.testing.assert_allclose(e[0], t[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(e[1], t[1], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fn", FNS)
def test_non_contiguous_input_other_dims_and_expanded_grad(fn: str) -> None:
    """A transposed input (copied to rows), a dim other than the last (the whole-array path) and the
    expanded gradient of ``sum()``."""
    a = RNG.standard_normal((40, 30)).astype(np.float32)
    g = RNG.standard_normal((30, 40)).astype(np.float32)
    for dim in (-1, 0):
        e, t = _run(ember, fn, a, g, dim, view=True), _run(torch, fn, a, g, dim, view=True)
        np.testing.assert_allclose(e[0], t[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(e[1], t[1], rtol=1e-5, atol=1e-6)
    res = []
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        (getattr(lib.nn.functional, fn)(x, -1) * lib.tensor(a)).sum().backward()
        res.append(x.grad.numpy())
    np.testing.assert_allclose(res[0], res[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn", FNS)
def test_double_backward_and_gradcheck(fn: str) -> None:
    """With ``create_graph`` the backward is built from ember ops, so it differentiates again."""
    x = ember.tensor(RNG.standard_normal((3, 6)), requires_grad=True)
    f = getattr(ember.nn.functional, fn)
    assert ember.autograd.gradcheck(lambda v: f(v, -1), (x,))
    assert ember.autograd.gradgradcheck(lambda v: f(v, -1), (x,))


def test_cross_entropy_matches_torch() -> None:
    a = (RNG.standard_normal((300, 50)) * 3).astype(np.float32)
    y = RNG.integers(0, 50, 300)
    res = []
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(x, lib.tensor(y), label_smoothing=0.1)
        loss.backward()
        res.append((loss.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-6)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_cross_entropy_rows_match_torch(dt: str, path: str) -> None:
    """Class-index cross_entropy of (n, c) logits (on the row path from the softmax alone, its backward in one
    pass): losses, input gradients and grad_fn names as torch's for each reduction, with class weights,
    ignored targets, -inf logits (at the target: an infinite loss), huge logits (a tiny target probability);
    with ``create_graph`` its gradient differentiates again as torch's."""
    a = (RNG.standard_normal((40, 30)) * 3).astype(dt)
    a[1] *= 300
    a[2, 5], a[3, :] = -np.inf, -np.inf
    a[3, 8] = 2.0
    y = RNG.integers(0, 30, 40)
    y[0], y[1], y[2], y[3] = -100, int(np.argmin(a[1])), 5, 8
    w = RNG.random(30).astype(dt)
    g = RNG.standard_normal(40).astype(dt)
    for red, weight in (("mean", None), ("sum", w), ("none", w), ("mean", w)):
        res = []
        for lib in (ember, torch):
            x = lib.tensor(a, requires_grad=True)
            loss = lib.nn.functional.cross_entropy(x, lib.tensor(y), None if weight is None else lib.tensor(weight),
                                                   reduction=red)
            loss.backward(lib.tensor(g) if red == "none" else lib.tensor(np.array(1.5, dt)))
            names = loss.grad_fn.name(), loss.grad_fn.next_functions[0][0].name()
            if lib is ember:   # the fused rows path is taken exactly on the row path
                assert (getattr(loss.grad_fn, "probs", None) is not None) == (path == "rows")
            res.append((loss.detach().numpy(), x.grad.numpy(), names))
        tol = {"rtol": 1e-5, "atol": 1e-6} if dt == "float32" else {"rtol": 1e-12, "atol": 1e-15}
        np.testing.assert_allclose(res[0][0], res[1][0], **tol)
        np.testing.assert_allclose(res[0][1], res[1][1], **tol)
        assert res[0][2] == res[1][2] == ("NllLossBackward0", "LogSoftmaxBackward0")
    grads = []
    for lib in (ember, torch):
        x = lib.tensor(a[4:], requires_grad=True)
        (gx,) = lib.autograd.grad(lib.nn.functional.cross_entropy(x, lib.tensor(y[4:])), x, create_graph=True)
        (gg,) = lib.autograd.grad((gx * gx * lib.tensor(a[4:])).sum(), x)
        grads.append((gx.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("fn", FNS)
def test_halves_match_torch(fn: str) -> None:
    a = RNG.standard_normal((9, 33)).astype(np.float32)
    for dt in ("float16", "bfloat16"):
        e = getattr(ember.nn.functional, fn)(ember.tensor(a).to(getattr(ember, dt)), -1)
        t = getattr(torch.nn.functional, fn)(torch.tensor(a).to(getattr(torch, dt)), -1)
        assert_close(e, t, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("fn", FNS)
@pytest.mark.parametrize("parts", [1, 3])
def test_threads_match_torch_and_one_thread(fn: str, parts: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Row blocks split over threads in unequal parts: torch's values and gradients, and bit-identical to one
    thread (each row is computed whole by one thread)."""
    from ember.ops import _parallel, info
    monkeypatch.setattr(_parallel, "_MIN_PART", 1)
    monkeypatch.setattr(_parallel, "_cores", lambda: 3)
    a = (RNG.standard_normal((7001, 33)) * 4).astype(np.float32)
    g = RNG.standard_normal(a.shape).astype(np.float32)
    monkeypatch.setitem(info._threads, "intra", parts)
    e = _run(ember, fn, a, g)
    t = _run(torch, fn, a, g)
    np.testing.assert_allclose(e[0], t[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(e[1], t[1], rtol=1e-5, atol=1e-5)
    monkeypatch.setitem(info._threads, "intra", 1)
    one = _run(ember, fn, a, g)
    np.testing.assert_array_equal(e[0], one[0])
    np.testing.assert_array_equal(e[1], one[1])


def test_row_path_taken_from_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """From 2**14 elements on, the last dim takes the row path (it keeps log_softmax's probabilities on the
    node); smaller tensors and other dims take the whole-array path."""
    from ember.nn.functional import _activation
    monkeypatch.setattr(_activation, "_ROWS_MIN", 1 << 14)
    for size, rows in ((1 << 14, True), ((1 << 14) - 1, False)):
        x = ember.randn(size, 1, requires_grad=True)
        for dim in (1, 0):
            node = ember.nn.functional.log_softmax(x, dim).grad_fn
            assert (getattr(node, "probs", None) is not None) == (rows and dim == 1)
