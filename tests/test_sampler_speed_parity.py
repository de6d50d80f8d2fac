"""The vectorised paths of the rejection samplers (gamma's per-position acceptance levels, ...) against torch:
the same numbers and the same stream afterwards (position and cached normal), on parameter mixes that
exercise their edges."""

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
