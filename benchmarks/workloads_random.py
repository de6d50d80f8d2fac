"""Random samplers with torch's streams: rejection samplers (gamma, beta, Dirichlet, Student-t, binomial,
Poisson) with scalar and tensor parameters, multinomial/categorical, randperm, normal with tensor parameters,
and the plain fills (randn, rand, a 1024x1024 Linear's initialisation).  10^5 draws, except 2*10^4 for
rejection samplers with a parameter per element (torch draws those element after element from one stream,
and so does ember, in Python: ~0.1 s per call)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

N = 100_000
M = 20_000   # draws with a parameter per element


def _param(lib: Any, low: float, high: float, dtype: Any = None, n: int = N) -> Any:
    """``n`` parameters spread over [low, high) (drawn once, outside the timed step)."""
    lib.manual_seed(1)
    return lib.rand(n, dtype=dtype or lib.float32) * (high - low) + low


def standard_gamma(lib: Any, low: float, high: float, dtype: str = "float32") -> Callable[[], Any]:
    """``torch._standard_gamma`` on M concentrations in [low, high)."""
    alpha = _param(lib, low, high, getattr(lib, dtype), M)
    return lambda: lib._standard_gamma(alpha)


def poisson_scalar(lib: Any) -> Callable[[], Any]:
    """``Poisson(30).sample((N,))``: one rate expanded."""
    d = lib.distributions.Poisson(lib.tensor(30.0))
    return lambda: d.sample((N,))


def gamma_scalar(lib: Any) -> Callable[[], Any]:
    """``Gamma(2.5, 1).sample((N,))``: one concentration expanded."""
    d = lib.distributions.Gamma(lib.tensor(2.5), lib.tensor(1.0))
    return lambda: d.sample((N,))


def beta(lib: Any) -> Callable[[], Any]:
    """``Beta(a, b).sample()`` on M/2 pairs (a gamma draw per concentration)."""
    d = lib.distributions.Beta(_param(lib, 0.5, 4.0, n=M // 2), _param(lib, 1.0, 3.0, n=M // 2))
    return lambda: d.sample()


def dirichlet(lib: Any) -> Callable[[], Any]:
    """``Dirichlet(alpha).sample()`` with alpha of shape (M/10, 10)."""
    d = lib.distributions.Dirichlet(_param(lib, 0.3, 3.0, n=M).reshape(-1, 10))
    return lambda: d.sample()


def student_t(lib: Any) -> Callable[[], Any]:
    """``StudentT(df).sample()`` on M degrees of freedom in [2, 10)."""
    d = lib.distributions.StudentT(_param(lib, 2.0, 10.0, n=M))
    return lambda: d.sample()


def binomial(lib: Any, count: tuple[float, float], prob: tuple[float, float], dtype: str = "float32"
             ) -> Callable[[], Any]:
    """``torch.binomial`` on M (count, prob) pairs spread over the given ranges."""
    dt = getattr(lib, dtype)
    c = _param(lib, *count, dt, M).floor()
    p = _param(lib, *prob, dt, M)
    return lambda: lib.binomial(c, p)


def binomial_scalar(lib: Any) -> Callable[[], Any]:
    """``Binomial(100, 0.3).sample((N,))``."""
    d = lib.distributions.Binomial(100, lib.tensor(0.3))
    return lambda: d.sample((N,))


def poisson(lib: Any, low: float, high: float, dtype: str = "float32") -> Callable[[], Any]:
    """``torch.poisson`` on M rates in [low, high)."""
    rates = _param(lib, low, high, getattr(lib, dtype), M)
    return lambda: lib.poisson(rates)


def multinomial(lib: Any, rows: int, cats: int, k: int, replacement: bool) -> Callable[[], Any]:
    """``torch.multinomial`` of k draws from each of ``rows`` distributions over ``cats`` categories."""
    probs = _param(lib, 0.0, 1.0, n=rows * cats).reshape(rows, cats)
    return lambda: lib.multinomial(probs, k, replacement)


def categorical(lib: Any) -> Callable[[], Any]:
    """``Categorical(probs).sample((1000,))`` for 100 distributions over 50 categories."""
    d = lib.distributions.Categorical(probs=_param(lib, 0.0, 1.0, n=5000).reshape(100, 50))
    return lambda: d.sample((1000,))


def randperm(lib: Any) -> Callable[[], Any]:
    """``torch.randperm(N)``."""
    return lambda: lib.randperm(N)


def normal_tensor(lib: Any) -> Callable[[], Any]:
    """``torch.normal(mean, std)`` with N-element tensor mean and std."""
    mean, std = _param(lib, -1.0, 1.0), _param(lib, 0.5, 2.0)
    return lambda: lib.normal(mean, std)


def linear_init(lib: Any) -> Callable[[], Any]:
    """``nn.Linear(1024, 1024)``: kaiming-uniform weight and uniform bias (model construction time)."""
    return lambda: lib.nn.Linear(1024, 1024)


WORKLOADS: dict[str, tuple[Callable[[Any], Callable[[], Any]], int]] = {
    "_standard_gamma M f32 alpha 0.5-5": (lambda lib: standard_gamma(lib, 0.5, 5.0), 1),
    "_standard_gamma M f64 alpha 0.5-5": (lambda lib: standard_gamma(lib, 0.5, 5.0, "float64"), 1),
    "_standard_gamma M f32 alpha 0.05-0.9": (lambda lib: standard_gamma(lib, 0.05, 0.9), 1),
    "_standard_gamma M f32 alpha 10-1000": (lambda lib: standard_gamma(lib, 10.0, 1000.0), 1),
    "Gamma(2.5).sample(N)": (gamma_scalar, 1),
    "Beta(a,b).sample M/2": (beta, 1),
    "Dirichlet (M/10,10).sample": (dirichlet, 1),
    "StudentT(df M).sample": (student_t, 1),
    "binomial M f32 n 0-20 p 0-1": (lambda lib: binomial(lib, (0.0, 20.0), (0.0, 1.0)), 1),
    "binomial M f32 n 20-1000 p 0.1-0.9": (lambda lib: binomial(lib, (20.0, 1000.0), (0.1, 0.9)), 1),
    "binomial M f64 n 0-200 p 0-1": (lambda lib: binomial(lib, (0.0, 200.0), (0.0, 1.0), "float64"), 1),
    "Binomial(100,0.3).sample(N)": (binomial_scalar, 1),
    "poisson M f32 rate 0-10": (lambda lib: poisson(lib, 0.0, 10.0), 1),
    "poisson M f32 rate 10-1000": (lambda lib: poisson(lib, 10.0, 1000.0), 1),
    "poisson M f64 rate 0-50": (lambda lib: poisson(lib, 0.0, 50.0, "float64"), 1),
    "Poisson(30).sample(N)": (poisson_scalar, 1),
    "multinomial 1000x100 k=10 w/o repl": (lambda lib: multinomial(lib, 1000, 100, 10, False), 1),
    "multinomial 100x1000 k=1000 repl": (lambda lib: multinomial(lib, 100, 1000, 1000, True), 1),
    "Categorical(100x50).sample(1000)": (categorical, 1),
    "randperm N": (randperm, 1),
    "normal(mean, std) tensors": (normal_tensor, 1),
    "randn N f32": (lambda lib: lambda: lib.randn(N), 1),
    "randn N f64": (lambda lib: lambda: lib.randn(N, dtype=lib.float64), 1),
    "rand N f32": (lambda lib: lambda: lib.rand(N), 1),
    "nn.Linear(1024, 1024) init": (linear_init, 1),
}
