"""The tensor-level random API gives torch's exact CPU streams (bits compared, not closeness)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import ember
from oracle import assert_close, assert_same_error, torch


def _same_bits(e: ember.Tensor, t: object) -> None:
    tt = t.to(torch.float32) if t.dtype == torch.bfloat16 else t
    ee = e.float() if e.dtype is ember.bfloat16 else e
    assert tuple(e.shape) == tuple(t.shape) and repr(e.dtype) == str(t.dtype)
    a, b = ee.numpy(), tt.numpy()
    assert a.tobytes() == b.tobytes(), f"\nember {a}\ntorch {b}"


CALLS = [
    ("rand", lambda L: L.rand(5)), ("rand", lambda L: L.rand(3, 7, dtype=L.float64)),
    ("rand16", lambda L: L.rand(33, dtype=L.float16)), ("randbf16", lambda L: L.rand(17, dtype=L.bfloat16)),
    ("randn<16", lambda L: L.randn(5)), ("randn16", lambda L: L.randn(16)), ("randn17", lambda L: L.randn(17)),
    ("randn2d", lambda L: L.randn(4, 25)), ("randn64", lambda L: L.randn(31, dtype=L.float64)),
    ("randint", lambda L: L.randint(0, 10, (5,))), ("randint32", lambda L: L.randint(-5, 2**30, (9,), dtype=L.int32)),
    ("randint1", lambda L: L.randint(7, (3, 3))), ("randperm", lambda L: L.randperm(10)),
    ("randperm1k", lambda L: L.randperm(1000)),
    ("normal", lambda L: L.normal(2.0, 3.0, size=(20,))),
    ("normal_t", lambda L: L.normal(L.arange(4.0), L.ones(4) * 0.5)),
    ("uniform_", lambda L: L.empty(19).uniform_(-3, 7.3)),
    ("uniform_T", lambda L: L.empty(4, 5).t().uniform_()),
    ("normal_T", lambda L: L.empty(6, 5).t().normal_(1, 2)),
    ("bernoulli_", lambda L: L.empty(8).bernoulli_(0.5)),
    ("bernoulli", lambda L: L.bernoulli(L.full((3, 4), 0.3))),
    ("exponential_", lambda L: L.empty(2, dtype=L.float64).exponential_()),
    ("geometric_", lambda L: L.empty(6).geometric_(0.3)),
    ("cauchy_", lambda L: L.empty(6).cauchy_()),
    ("log_normal_", lambda L: L.empty(6).log_normal_()),
    ("random_", lambda L: L.empty(6, dtype=L.int64).random_()),
    ("random_ab", lambda L: L.empty(6, dtype=L.int32).random_(3, 9)),
    ("multinomial", lambda L: L.multinomial(L.tensor([0.1, 0.2, 0.3, 0.4]), 2)),
    ("multinomial_r", lambda L: L.multinomial(L.tensor([[0.1, 0.2, 0.3, 0.4], [1, 1, 1, 1.0]]), 4, replacement=True)),
    ("rand_like", lambda L: L.rand_like(L.ones(3, 3))), ("randn_like", lambda L: L.randn_like(L.ones(20))),
    ("randint_like", lambda L: L.randint_like(L.ones(5), 3, 8)),
]


@pytest.mark.parametrize("seed", [0, 1, 2**32 + 5])
@pytest.mark.parametrize("name,call", CALLS, ids=[c[0] for c in CALLS])
def test_stream_matches_torch(seed: int, name: str, call: object) -> None:
    ember.manual_seed(seed)
    torch.manual_seed(seed)
    _same_bits(call(ember), call(torch))
    _same_bits(ember.rand(3), torch.rand(3))         # the stream continues in step


def test_normal_cache_and_state_roundtrip() -> None:
    ember.manual_seed(0)
    torch.manual_seed(0)
    _same_bits(ember.rand(3), torch.rand(3))
    _same_bits(ember.randn(1), torch.randn(1))
    _same_bits(ember.randn(1), torch.randn(1))          # the cached sin half
    state = ember.get_rng_state()
    assert state.dtype is ember.uint8 and state.numpy().tobytes() == torch.get_rng_state().numpy().tobytes()
    a = ember.rand(4)
    ember.set_rng_state(state)
    assert ember.rand(4).tolist() == a.tolist()
    ember.set_rng_state(ember.from_numpy(torch.get_rng_state().numpy()))
    _same_bits(ember.randn(20), torch.randn(20))
    assert ember.initial_seed() == 0


def test_generators_are_independent() -> None:
    g, tg = ember.Generator().manual_seed(42), torch.Generator().manual_seed(42)
    ember.manual_seed(0)
    torch.manual_seed(0)
    _same_bits(ember.rand(3, generator=g), torch.rand(3, generator=tg))
    _same_bits(ember.rand(3), torch.rand(3))
    _same_bits(ember.randperm(7, generator=g), torch.randperm(7, generator=tg))
    assert ember.Generator().initial_seed() == torch.Generator().initial_seed()
    assert g.get_state().numpy().tobytes() == tg.get_state().numpy().tobytes()


def test_seed_rules_and_errors() -> None:
    ember.manual_seed(-1)
    assert ember.initial_seed() == 2**64 - 1
    assert_same_error(lambda: ember.manual_seed(2**64), lambda: torch.manual_seed(2**64))
    for fn in ("uniform_", "normal_", "log_normal_", "exponential_", "cauchy_"):
        assert_same_error(lambda f=fn: getattr(ember.empty(3, dtype=ember.int64), f)(),
                          lambda f=fn: getattr(torch.empty(3, dtype=torch.int64), f)())
    s = ember.seed()
    assert ember.initial_seed() == s
    assert np.unique(ember.randperm(50).numpy()).size == 50


@pytest.mark.parametrize("fill", ["normal_", "uniform_", "bernoulli_"])
@pytest.mark.parametrize("make", [lambda L: L.empty(2, 3, 4, 5).transpose(1, 3),
                                  lambda L: L.empty(3, 1, 5).transpose(0, 2),
                                  lambda L: L.empty(4, 6)[:, ::2]])
def test_fill_of_permuted_and_strided_tensors_follows_memory_order(fill: str, make: Any) -> None:
    args = (0.3,) if fill == "bernoulli_" else ()
    ember.manual_seed(5)
    torch.manual_seed(5)
    assert_close(getattr(make(ember), fill)(*args), getattr(make(torch), fill)(*args))


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_complex_random_streams_match_torch(seed: int, dtype: str) -> None:
    """Complex rand/randn/normal_/uniform_ fill the real and imaginary parts from torch's stream."""
    def draws(lib):  # noqa: ANN001, ANN202
        dt = getattr(lib, dtype)
        lib.manual_seed(seed)
        out = [lib.randn(17, dtype=dt), lib.rand(2, 3, dtype=dt), lib.empty(5, dtype=dt).normal_(2.0, 3.0),
               lib.empty(4, dtype=dt).uniform_(-1, 1), lib.randn_like(lib.zeros(3, dtype=dt))]
        return [lib.view_as_real(t).numpy() for t in out]
    for e, t in zip(draws(ember), draws(torch), strict=True):
        np.testing.assert_array_equal(e, t)


POISSON_RATES = {
    "mixed<10": lambda: torch.cat([torch.rand(400, generator=torch.Generator().manual_seed(1)) * 10, torch.zeros(5)]),
    "mixed<60": lambda: torch.rand(400, generator=torch.Generator().manual_seed(2)) * 60,
    "large": lambda: torch.rand(300, generator=torch.Generator().manual_seed(3)) * 1e4 + 10,
    "one>=10": lambda: torch.full((2000,), 37.5),
    "one=10": lambda: torch.full((500,), 10.0),
    "one huge": lambda: torch.full((300,), 1e9),
    "one<10": lambda: torch.full((300,), 3.0),
    "one=0": lambda: torch.zeros(50),
    "edges": lambda: torch.tensor([float("inf"), 3.0, 1e300, 0.0, 9.999999, 10.0, 1e-300]),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(POISSON_RATES))
def test_poisson_matches_torch(dtype: str, name: str) -> None:
    """``torch.poisson``: Knuth below 10, PTRS from 10 (one shared rate vectorised), inf/huge rates giving
    INT64_MIN as torch; the stream (and the cached normal, which Poisson does not touch) stays in step."""
    rates = POISSON_RATES[name]().to(getattr(torch, dtype))
    torch.manual_seed(4)
    ember.manual_seed(4)
    _same_bits(ember.randn(1), torch.randn(1))
    _same_bits(ember.poisson(ember.tensor(rates.numpy())), torch.poisson(rates))
    _same_bits(ember.randn(1), torch.randn(1))
    _same_bits(ember.rand(3), torch.rand(3))


def test_poisson_errors() -> None:
    for bad in ([-1.0], [float("nan")]):
        assert_same_error(lambda bad=bad: ember.poisson(ember.tensor(bad)),
                          lambda bad=bad: torch.poisson(torch.tensor(bad)))
