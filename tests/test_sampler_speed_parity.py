"""The vectorised paths of the rejection samplers against torch (gamma's per-position acceptance thresholds,
draws in blocks, tests decided by NumPy's log with exact re-tests of near ties, Knuth's prefix sums, the
vectorised float32 log1pf): the same numbers and the same stream afterwards (position and cached normal), on
parameter mixes that exercise their edges."""

import numpy as np
import pytest
import torch

import ember
from ember.distributions import _samplers as S
from oracle import assert_close, to_ember


def _same_stream(fe, ft, seed):
    """``fe``/``ft`` under one seed give identical values and leave the generators in step."""
    ember.manual_seed(seed)
    torch.manual_seed(seed)
    assert_close(fe(), ft(), rtol=0, atol=0)
    assert_close(ember.randn(3, dtype=ember.float64), torch.randn(3, dtype=torch.float64), rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_standard_gamma_wide_concentrations(dtype):
    """Concentrations from 1e-3 to 1e6 in one tensor (acceptance levels spread over a wide d range; boosted
    and plain attempts; y <= 0 attempts near alpha 1)."""
    g = torch.Generator().manual_seed(3)
    a = torch.exp(torch.rand(400, generator=g, dtype=torch.float64) * 20 - 7).to(dtype)
    _same_stream(lambda: S._standard_gamma(to_ember(a)), lambda: torch._standard_gamma(a), seed=11)


def test_standard_gamma_narrow_concentrations_after_cached_normal():
    """Nearly equal concentrations (every element at one acceptance level) drawn after a cached normal."""
    a = torch.full((300,), 0.7) + torch.arange(300) * 1e-7

    def draw(lib, alpha):
        lib.randn(1, dtype=lib.float64)
        return lib._standard_gamma(alpha)
    _same_stream(lambda: draw(ember, to_ember(a)), lambda: draw(torch, a), seed=5)


@pytest.mark.parametrize("case", ["gamma", "gamma_scalar", "binomial_btrs", "binomial_inversion", "poisson",
                                  "dirichlet"])
def test_samplers_in_small_blocks(monkeypatch, case):
    """Draws evaluated in blocks of a few attempts/elements (``_BLOCK``): each block continues the stream (and
    the cached normal) where the previous one stopped."""
    monkeypatch.setattr(S, "_BLOCK", 37)
    g = torch.Generator().manual_seed(7)
    a = torch.rand(300, generator=g, dtype=torch.float64) * 3 + 0.2
    draw = {"gamma": lambda lib, a: lib._standard_gamma(a),
            "gamma_scalar": lambda lib, a: lib._standard_gamma(a[:1].expand(300).contiguous() + 2),
            "binomial_btrs": lambda lib, a: lib.binomial(a * 0 + 100, a * 0 + 0.3),
            "binomial_inversion": lambda lib, a: lib.binomial(a * 0 + 12, a * 0 + 0.2),
            "poisson": lambda lib, a: lib.poisson(a * 0 + 30),
            "dirichlet": lambda lib, a: lib._sample_dirichlet(a.reshape(100, 3))}[case]
    _same_stream(lambda: draw(ember, to_ember(a)), lambda: draw(torch, a), seed=2)


def test_binomial_float32_inversion_probabilities():
    """float32 inversion draws (mean below 10) whose log1p(-q) is evaluated vectorised as glibc's log1pf:
    probabilities across the split at 1 - 1/sqrt(2), tiny and subnormal ones, 1/2, and their complements."""
    q = torch.tensor([0.29289323, 0.2928932, 0.29289326, 0.3, 0.5, 1e-3, 1e-6, 3e-9, 1e-39, 0.1, 0.45, 0.25])
    prob = torch.cat([q, 1 - q, q]).repeat(20)
    count = torch.tensor([1.0, 5.0, 7.0, 19.0, 3.0, 20.0]).repeat(prob.numel() // 6)
    _same_stream(lambda: ember.binomial(to_ember(count), to_ember(prob)), lambda: torch.binomial(count, prob), seed=8)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("rate", [10.0, 37.5, 1e6, 3.3e12])
def test_poisson_expanded_rate_acceptance(dtype, rate):
    """One rate for every element: PTRS's log test decided with NumPy's log and Stirling's lgamma away from
    ties (glibc's at them), for small and huge rates."""
    rates = torch.full((600,), rate, dtype=dtype)
    _same_stream(lambda: ember.poisson(to_ember(rates)), lambda: torch.poisson(rates), seed=4)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("count,prob", [(25.0, 0.5), (300.0, 0.93), (2.0**24 + 10, 0.4), (3e9, 0.2)])
def test_binomial_expanded_parameters_acceptance(dtype, count, prob):
    """One (count, prob) for every element: BTRS's bound tested with NumPy's log away from ties."""
    c, p = torch.full((600,), count, dtype=dtype), torch.full((600,), prob, dtype=dtype)
    _same_stream(lambda: ember.binomial(to_ember(c), to_ember(p)), lambda: torch.binomial(c, p), seed=6)


def test_decide_settles_near_ties_exactly():
    """Tests within the margin are decided by the exact evaluation, the others by the approximate one."""
    def test(i, exact):
        lhs = np.array([1.0, 1.0 + 1e-15, 5.0])[i]
        rhs = np.array([1.0 + 1e-15, 1.0, 2.0])[i] + (0.0 if exact else 1e-14)   # approximate: ties flip
        return lhs, rhs, np.abs(lhs) + np.abs(rhs)
    assert S._decide(test, 3).tolist() == [True, False, False]


@pytest.mark.parametrize("rate", [1e-20, 1e-7, 0.4, 3.0, 9.99])
def test_poisson_expanded_small_rate(monkeypatch, rate):
    """One rate below 10 for every element: Knuth's products split by prefix sums of -log u (near ties replayed
    exactly), in blocks that continue the stream."""
    monkeypatch.setattr(S, "_BLOCK", 97)
    rates = torch.full((400,), rate, dtype=torch.float64)
    _same_stream(lambda: ember.poisson(to_ember(rates)), lambda: torch.poisson(rates), seed=12)


def test_knuth_stream_replays_ties_and_short_buffers():
    """A draw whose running sum ends next to the bound is replayed with torch's product; a buffer too short for
    a draw leaves it for the next."""
    u = np.array([0.5, 0.5, 0.25, 0.9, 0.1])
    enlam = 0.25   # 0.5 * 0.5 == 0.25 exactly: the draw from 0 stops at its second uniform (k = 1)
    drawn, used = S._knuth_stream(u, enlam, 10)
    assert (drawn.tolist(), used) == ([1, 0, 1], 5)
    drawn, used = S._knuth_stream(u[3:4], enlam, 10)
    assert (drawn.tolist(), used) == ([], 0)
