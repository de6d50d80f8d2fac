"""``ember.signal.windows``: torch.signal.windows' window functions (``sym=True``: symmetric, for filter
design; ``sym=False``: periodic, for spectral analysis)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .._core import dtype as D
from ..ops.signal import Tensor, build_window, cosine_sum, kaiser_formula

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
           "hamming", "hann", "kaiser", "nuttall"]


def _make(name: str, M: int, sym: bool, dtype: Any, device: Any, requires_grad: bool, formula: Any,
          check: Any = None, formula_at_one: bool = False) -> Tensor:
    """The window ``formula`` of ``M`` samples after torch's checks: the length, the dtype, then ``check()``
    (the window's own parameters); see :func:`build_window` for ``formula_at_one``."""
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    dt = dtype or D.get_default_dtype()
    if dt not in (D.float32, D.float64):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {dt}")
    if check is not None:
        check()
    return build_window(M, not sym, dt, device, requires_grad, formula, formula_at_one)


def general_cosine(M: int, *, a: Iterable[float], sym: bool = True, dtype: Any = None, layout: Any = None,
                   device: Any = None, requires_grad: bool = False) -> Tensor:
    """``sum_k (-1)^k a_k cos(2 pi k n / (M - 1))``."""
    def formula(xp: Any, n: Any, N: int) -> Any:   # torch checks the coefficients only for two samples or more
        if not isinstance(a, (list, tuple)):
            raise TypeError("Coefficients must be a list/tuple")
        if not a:
            raise ValueError("Coefficients cannot be empty")
        return cosine_sum(*a)(xp, n, N)
    return _make("general_cosine", M, sym, dtype, device, requires_grad, formula)


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
    return _make("blackman", M, sym, dtype, device, requires_grad, cosine_sum(0.42, 0.5, 0.08))


def nuttall(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """The Nuttall window (a four-term cosine sum)."""
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym, dtype=dtype,
                          device=device, requires_grad=requires_grad)


def bartlett(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """The triangular window ``1 - |2 n / (M - 1) - 1|``."""
    return _make("bartlett", M, sym, dtype, device, requires_grad,
                 lambda xp, n, N: 1 - xp.abs(2 * n / (N - 1) - 1))


def cosine(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """The sine window ``sin(pi (n + 1/2) / M)``."""
    return _make("cosine", M, sym, dtype, device, requires_grad, lambda xp, n, N: xp.sin(math.pi * (n + 0.5) / N))


def gaussian(M: int, *, std: float = 1.0, sym: bool = True, dtype: Any = None, layout: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """``exp(-(n - (M - 1) / 2)^2 / (2 std^2))``."""
    def check() -> None:
        if std <= 0:
            raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    return _make("gaussian", M, sym, dtype, device, requires_grad,
                 lambda xp, n, N: xp.exp(-((n - (N - 1) / 2) ** 2) / (2 * std * std)), check)


def exponential(M: int, *, center: float | None = None, tau: float = 1.0, sym: bool = True, dtype: Any = None,
                layout: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """``exp(-|n - center| / tau)`` (``center`` defaults to the middle; symmetric windows must not set it)."""
    def check() -> None:
        if tau <= 0:
            raise ValueError(f"Tau must be positive, got: {tau} instead.")
        if sym and center is not None:
            raise ValueError("Center must be None for symmetric windows")
    return _make("exponential", M, sym, dtype, device, requires_grad,
                 lambda xp, n, N: xp.exp(-xp.abs(n - ((N - 1) / 2 if center is None else center)) / tau), check,
                 formula_at_one=True)   # (a periodic window's centre may lie off its one sample)


def kaiser(M: int, *, beta: float = 12.0, sym: bool = True, dtype: Any = None, layout: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """``I0(beta sqrt(1 - ((n - (M - 1) / 2) / ((M - 1) / 2))^2)) / I0(beta)``."""
    def check() -> None:
        if beta < 0:
            raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    return _make("kaiser", M, sym, dtype, device, requires_grad, kaiser_formula(beta, dtype), check)
