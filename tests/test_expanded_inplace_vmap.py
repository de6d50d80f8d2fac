"""Against torch: in-place writes of numbers into expanded tensors, reads of values inside ``func.vmap``,
``autograd.functional`` under ``inference_mode`` and ``vmap(randomness='different')``'s numbers."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import ember
from oracle import assert_same_error, torch


def _run(lib: Any, fn: Any) -> tuple[Any, list[str]]:
    """``fn(lib)``'s result as nested lists and the warnings it gave (torch's C++ location suffix cut off)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(lib)
    return out.tolist(), [str(w.message).split(" (Triggered internally")[0] for w in caught]


def _expanded(L: Any) -> Any:
    return L.zeros(3, 1).expand(3, 4)


def _idx(L: Any, *v: int) -> Any:
    return L.tensor(list(v))


# every alias of a location shows the last write; torch warns that writing there is deprecated
@pytest.mark.parametrize("write", [
    lambda L, x: x.masked_fill_(L.tensor([[True, False, False, False], [False] * 3 + [True], [False] * 4]), 1.0),
    lambda L, x: x.masked_fill_(L.tensor([False, True, False, False]), L.tensor(2)),
    lambda L, x: x.index_fill_(0, _idx(L, 0, 2), 1.0),
    lambda L, x: x.index_fill_(-1, _idx(L, 3), 5),
    lambda L, x: x.index_put_((_idx(L, 0, 0, 1), _idx(L, 1, 2, 3)), L.tensor([5.0, 6.0, 7.0])),
    lambda L, x: x.index_put_((_idx(L, 0, 0, 1), _idx(L, 1, 2, 0)), L.tensor(5.0), accumulate=True),
    lambda L, x: x.index_put_((_idx(L, 0, 1),), L.arange(8.0).view(2, 4)),
    lambda L, x: x.__setitem__(L.tensor([[True] + [False] * 3, [False] * 4, [False] * 3 + [True]]), 3.0),
    lambda L, x: x.__setitem__((slice(None), _idx(L, 1, 2)), 4.0),
    lambda L, x: x.__setitem__((0, _idx(L, 1)), 4.0),
])
def test_number_writes_into_an_expanded_tensor(write: Any) -> None:
    def run(L: Any) -> Any:
        x = _expanded(L)
        write(L, x)
        return x
    assert _run(ember, run) == _run(torch, run)


def test_a_distinct_part_of_an_expanded_tensor_takes_writes_without_warning() -> None:
    def run(L: Any) -> Any:
        x = L.zeros(1, 3).expand(2, 3)
        x[0, L.tensor([1])] = 5.0
        x.index_fill_(1, L.tensor([2]), 7.0)
        return x
    assert _run(ember, run) == _run(torch, run)
    assert _run(ember, run)[1] == ["Use of index_fill_ on expanded tensors is deprecated. Please clone() the tensor "
                                   "before performing this operation. This also applies to advanced indexing e.g. "
                                   "tensor[mask] = scalar"]


@pytest.mark.parametrize("write", [
    lambda L, x: x.add_(1), lambda L, x: x.clamp_(0.5, 1), lambda L, x: x.masked_scatter_(x > -1, L.ones(12)),
    lambda L, x: x.scatter_(1, L.tensor([[0], [1], [2]]), 1.0), lambda L, x: x.index_copy_(1, _idx(L, 0), L.ones(3, 1)),
    lambda L, x: x.exp_(), lambda L, x: x.copy_(L.ones(3, 4)),
])
def test_other_inplace_writes_into_an_expanded_tensor_refuse(write: Any) -> None:
    assert_same_error(lambda: write(ember, _expanded(ember)), lambda: write(torch, _expanded(torch)))


def test_masked_fill_of_an_expanded_tensor_requiring_grad_refuses() -> None:
    # torch raises in backward, ember already at the write (both refuse to differentiate it)
    x = ember.zeros(3, 1, requires_grad=True).clone().expand(3, 4)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        x.masked_fill_(ember.tensor([True, False, False, False]), 2.0)


# ---- reading values inside vmap ---------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda L, t: L.tensor(t.sum().item()), lambda L, t: t.sum().item(), lambda L, t: L.tensor(float(t.sum())),
    lambda L, t: L.tensor(int(t.sum())), lambda L, t: L.tensor(t.sum().long().__index__()),
    lambda L, t: t if t.sum() > 3 else -t, lambda L, t: L.tensor(t.tolist()), lambda L, t: L.tensor(t.numpy()),
    lambda L, t: L.func.vmap(lambda u: u * t.sum().item())(t),
])
def test_reading_a_batched_value_inside_vmap_raises(fn: Any) -> None:
    def run(L: Any) -> Any:
        return L.func.vmap(lambda t: fn(L, t))(L.arange(6.0).view(3, 2))
    assert_same_error(lambda: run(ember), lambda: run(torch))


def test_reading_an_unbatched_value_inside_vmap_works() -> None:
    def run(L: Any) -> Any:
        c = L.tensor(2.0)
        return L.func.vmap(lambda t: t * c.item() * bool(c) + len(t))(L.arange(6.0).view(3, 2))
    assert run(ember).tolist() == run(torch).tolist()


# ---- autograd.functional under inference_mode: no graph is built, torch's zeros -------------------------------
@pytest.mark.parametrize("call", [
    lambda F, x, v: F.jvp(lambda a: a ** 3, x, v), lambda F, x, v: F.vjp(lambda a: a ** 3, x, v, create_graph=True),
    lambda F, x, v: F.jacobian(lambda a: a ** 3, x), lambda F, x, v: F.hessian(lambda a: (a ** 3).sum(), x),
    lambda F, x, v: F.hvp(lambda a: (a ** 3).sum(), x, v), lambda F, x, v: F.vhp(lambda a: (a ** 3).sum(), x, v),
    lambda F, x, v: F.jacobian(lambda a: a ** 3, x, strict=True),
])
def test_autograd_functional_under_inference_mode(call: Any) -> None:
    def run(L: Any) -> Any:
        with L.inference_mode():
            out = call(L.autograd.functional, L.tensor([1.0, 2.0]), L.tensor([1.0, 1.0]))
        outs = out if isinstance(out, tuple) else (out,)
        return [(o.tolist(), o.requires_grad, o.is_inference()) for o in outs]
    try:
        expected = run(torch)
    except RuntimeError:
        assert_same_error(lambda: run(ember), lambda: run(torch))
        return
    assert run(ember) == expected


def test_enable_grad_inside_inference_mode_records_nothing() -> None:
    def run(L: Any) -> Any:
        with L.inference_mode(), L.enable_grad():
            a = L.ones(2).requires_grad_()
            y = a * 2
            return L.is_grad_enabled(), a.requires_grad, y.requires_grad, y.grad_fn is None
    assert run(ember) == run(torch)


# ---- vmap(randomness='different') draws torch's batched tensor ------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda L, t: L.randn(20), lambda L, t: L.randn(3), lambda L, t: L.randn(3, 7, dtype=L.float64),
    lambda L, t: L.randn_like(t), lambda L, t: (L.rand(3), L.randn(17)), lambda L, t: L.normal(t, 2.0),
    lambda L, t: (L.randint(0, 10, (5,)), t.clone().normal_()), lambda L, t: (L.bernoulli(t), L.randn(17)),
    lambda L, t: (L.nn.functional.dropout(t, 0.5), L.randn(9, dtype=L.float16)),
    lambda L, t: L.func.vmap(lambda u: (L.randn(3), L.rand(2)), randomness="different")(t),
    lambda L, t: (L.randn(5), L.func.vmap(lambda u: L.randn(5), randomness="same")(t)),
])
def test_vmap_different_randomness_matches_torch(fn: Any) -> None:
    def run(L: Any) -> Any:
        L.manual_seed(0)
        x = L.rand(4, 5)
        out = L.func.vmap(lambda t: fn(L, t), randomness="different")(x)
        outs = out if isinstance(out, tuple) else (out,)
        return [np.asarray(o.float().tolist()) for o in outs], L.rand(1).item()
    (got, after), (expected, expected_after) = run(ember), run(torch)
    assert after == expected_after
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=4e-7, atol=0)   # a few ulp: torch's float32 normal is AVX2 code


def test_vmap_different_randomness_per_chunk_matches_torch() -> None:
    def run(L: Any) -> Any:
        L.manual_seed(0)
        out = L.func.vmap(lambda t: (L.randn(7), L.func.vmap(lambda u: L.rand(2), randomness="different",
                                                              chunk_size=2)(t)),
                          randomness="different", chunk_size=2)(L.rand(3, 3))
        return [o.tolist() for o in out], L.rand(1).item()
    (got, after), (expected, expected_after) = run(ember), run(torch)
    assert after == expected_after and got[1] == expected[1]
    np.testing.assert_allclose(got[0], expected[0], rtol=4e-7, atol=0)


def test_reads_inside_vmap_are_checked_with_tensor_subclasses_around() -> None:
    class Sub(ember.Tensor):   # Tensor methods then dispatch through __torch_function__ wrappers
        pass
    Sub(ember.ones(1))
    with pytest.raises(RuntimeError, match=r"calling \.item\(\)"):
        ember.func.vmap(lambda t: t.sum().item())(ember.arange(6.0).view(3, 2))
