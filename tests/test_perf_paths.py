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
