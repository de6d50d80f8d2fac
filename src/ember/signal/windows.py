"""``ember.signal.windows``: torch.signal.windows' window functions (``sym=True``: symmetric, for filter
design; ``sym=False``: periodic, for spectral analysis)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .._core import dtype as D
from ..ops.creation import tensor as _tensor
from ..ops.elementwise import sub as _sub
from ..ops.signal import Tensor, build_window, cosine_sum, kaiser_formula
from ..ops.special import i0 as _i0

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
           "hamming", "hann", "kaiser", "nuttall"]


def _make(name: str, M: int, sym: bool, dtype: Any, device: Any, requires_grad: bool, formula: Any,
          check: Any = None, formula_at_one: bool = False, graph: Any = None) -> Tensor:
    """The window ``formula`` of ``M`` samples after torch's checks: the length, the dtype, then ``check()``
    (the window's own parameters); see :func:`build_window` for ``formula_at_one``. With ``requires_grad``,
    as torch (whose windows are made of differentiable ops on a leaf of sample positions),
    ``graph(leaf, n, N)`` computes the window from leaves (``leaf(values)``) of the positions ``n`` (float64,
    ``N`` of them, see :func:`build_window`), where torch does so (two samples or more; one with
    ``formula_at_one``)."""
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    dt = dtype or D.get_default_dtype()
    if dt not in (D.float32, D.float64):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {dt}")
    if check is not None:
        check()
    if requires_grad and graph is not None and (M > 1 or M == 1 and formula_at_one):
        N = M + 1 if not sym and M > 1 else M

        def leaf(values: Any) -> Tensor:
            return _tensor(np.asarray(values, np.float64), dtype=dt, device=device, requires_grad=True)
        return graph(leaf, np.arange(M, dtype=np.float64), N)
    return build_window(M, not sym, dt, device, requires_grad, formula, formula_at_one)


def _cosine_graph(coeffs: Any) -> Any:
    """torch's graph of a cosine sum: the signed coefficients times the cosines of each term's angles,
    summed over the terms."""
    def graph(leaf: Any, n: Any, N: int) -> Tensor:
        a = leaf([(-1) ** k * c for k, c in enumerate(coeffs)])
        angles = leaf(2 * math.pi * n / (N - 1))
        terms = leaf(np.arange(len(coeffs), dtype=np.float64)[:, None])
        return (a.unsqueeze(-1) * (angles.unsqueeze(0) * terms).cos()).sum(0)
    return graph


def general_cosine(M: int, *, a: Iterable[float], sym: bool = True, dtype: Any = None, layout: Any = None,
                   device: Any = None, requires_grad: bool = False) -> Tensor:
    """``sum_k (-1)^k a_k cos(2 pi k n / (M - 1))``."""
    def formula(xp: Any, n: Any, N: int) -> Any:   # torch checks the coefficients only for two samples or more
        if not isinstance(a, (list, tuple)):
            raise TypeError("Coefficients must be a list/tuple")
        if not a:
            raise ValueError("Coefficients cannot be empty")
        return cosine_sum(*a)(xp, n, N)
    return _make("general_cosine", M, sym, dtype, device, requires_grad, formula, graph=_cosine_graph(a))


def general_hamming(M: int, *, alpha: float = 0.54, sym: bool = True, dtype: Any = None, layout: Any = None,
                    device: Any = None, requires_grad: bool = False) -> Tensor:
    """``alpha - (1 - alpha) cos(2 pi n / (M - 1))``."""
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, device=device,
                          requires_grad=requires_grad)


def hann(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """The Hann window ``0.5 - 0.5 cos(2 pi n / (M - 1))``."""
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, device=device, requires_grad=requires_grad)


def hamming(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """The Hamming window ``0.54 - 0.46 cos(2 pi n / (M - 1))``."""
    return general_hamming(M, sym=sym, dtype=dtype, device=device, requires_grad=requires_grad)


def blackman(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """The Blackman window (cosine sum 0.42, 0.5, 0.08)."""
    return _make("blackman", M, sym, dtype, device, requires_grad, cosine_sum(0.42, 0.5, 0.08),
                 graph=_cosine_graph((0.42, 0.5, 0.08)))


def nuttall(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """The Nuttall window (a four-term cosine sum)."""
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym, dtype=dtype,
                          device=device, requires_grad=requires_grad)


def bartlett(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """The triangular window ``1 - |2 n / (M - 1) - 1|``."""
    return _make("bartlett", M, sym, dtype, device, requires_grad,
                 lambda xp, n, N: 1 - xp.abs(2 * n / (N - 1) - 1),
                 graph=lambda leaf, n, N: 1 - leaf(2 * n / (N - 1) - 1).abs())


def cosine(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """The sine window ``sin(pi (n + 1/2) / M)``."""
    return _make("cosine", M, sym, dtype, device, requires_grad, lambda xp, n, N: xp.sin(math.pi * (n + 0.5) / N),
                 formula_at_one=True, graph=lambda leaf, n, N: leaf(math.pi * (n + 0.5) / N).sin())


def gaussian(M: int, *, std: float = 1.0, sym: bool = True, dtype: Any = None, layout: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """``exp(-(n - (M - 1) / 2)^2 / (2 std^2))``."""
    def check() -> None:
        if std <= 0:
            raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    return _make("gaussian", M, sym, dtype, device, requires_grad,
                 lambda xp, n, N: xp.exp(-((n - (N - 1) / 2) ** 2) / (2 * std * std)), check, formula_at_one=True,
                 graph=lambda leaf, n, N: (-leaf((n - (N - 1) / 2) / (std * math.sqrt(2))).pow(2)).exp())


def exponential(M: int, *, center: float | None = None, tau: float = 1.0, sym: bool = True, dtype: Any = None,
                layout: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """``exp(-|n - center| / tau)`` (``center`` defaults to the middle; symmetric windows must not set it)."""
    def check() -> None:
        if tau <= 0:
            raise ValueError(f"Tau must be positive, got: {tau} instead.")
        if sym and center is not None:
            raise ValueError("Center must be None for symmetric windows")

    def at(n: Any, N: int) -> Any:   # (a 0-d tensor centre is its number, as torch's)
        return (n - ((N - 1) / 2 if center is None else float(center))) / tau
    return _make("exponential", M, sym, dtype, device, requires_grad, lambda xp, n, N: xp.exp(-xp.abs(at(n, N))),
                 check, formula_at_one=True,   # (a periodic window's centre may lie off its one sample)
                 graph=lambda leaf, n, N: (-leaf(at(n, N)).abs()).exp())


def kaiser(M: int, *, beta: float = 12.0, sym: bool = True, dtype: Any = None, layout: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """``I0(beta sqrt(1 - ((n - (M - 1) / 2) / ((M - 1) / 2))^2)) / I0(beta)``."""
    def check() -> None:
        if beta < 0:
            raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    def graph(leaf: Any, n: Any, N: int) -> Tensor:
        dt = dtype or D.get_default_dtype()
        k = leaf(beta * (2 * n / (N - 1) - 1))
        return _i0(_sub(_tensor(beta * beta, dtype=dt), k.pow(2)).sqrt()) / _i0(_tensor(beta, dtype=dt))
    return _make("kaiser", M, sym, dtype, device, requires_grad, kaiser_formula(beta, dtype), check, graph=graph)
