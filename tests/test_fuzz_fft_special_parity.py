"""Regressions found by differential fuzzing of torch.fft, torch.special, the windows and stft/istft against
torch: each case runs the same call in both and compares the outcome (values, dtype, shape, or error)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from oracle import torch


def _outcome(fn, lib):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(lib)
        except Exception as e:  # noqa: BLE001 - the exception is the compared outcome
            result = e
    return result, sorted({str(w.message).split(" (Triggered internally")[0] for w in caught})


def _same(fn, rtol: float = 1e-6, atol: float = 1e-7, warned: bool = True) -> None:
    """``fn(torch)`` and ``fn(ember)`` give equal tensors (dtype, shape, requires_grad, values) and (``warned``)
    warnings, or raise the same exception type with the same first line."""
    want, want_w = _outcome(fn, torch)
    got, got_w = _outcome(fn, ember)
    if isinstance(want, Exception):
        assert isinstance(got, Exception), f"ember returned {got!r}, torch raised {want!r}"
        assert type(got).__name__ == type(want).__name__, (got, want)
        assert str(got).split("\n")[0] == str(want).split("\n")[0]
        return
    assert not isinstance(got, Exception), f"ember raised {got!r}"
    assert got_w == want_w or not warned
    for g, w in zip(got, want, strict=True) if isinstance(want, tuple) else [(got, want)]:
        assert str(g.dtype) == str(w.dtype) and tuple(g.shape) == tuple(w.shape)
        assert g.requires_grad == w.requires_grad
        gn = g.detach().float().numpy() if g.dtype is ember.bfloat16 else g.detach().numpy()
        wn = w.detach().float().numpy() if w.dtype is torch.bfloat16 else w.detach().numpy()
        np.testing.assert_allclose(gn, wn, rtol=rtol, atol=atol, equal_nan=True)


def _out(lib, dtype: str, n: int = 0):
    return lib.empty(n, dtype=getattr(lib, dtype))


# ---- fft: out= checked in torch's order; an exact out dtype where torch conjugates in out ---------------------
@pytest.mark.parametrize("call", [
    lambda m: m.fft.fft(m.ones(4, dtype=m.float16), out=_out(m, "float32")),     # out kind before the dtype
    lambda m: m.fft.irfft(m.ones(4), n=0, out=_out(m, "complex64")),             # ... and before n
    lambda m: m.fft.hfft(m.ones(()), out=_out(m, "complex64")),                  # ... and before dim
    lambda m: m.fft.fft(m.ones(4, dtype=m.complex64), dim=2, out=_out(m, "float32")),  # complex input: dim first
    lambda m: m.fft.fft2(m.ones(0, 4, 4), out=_out(m, "float32")),               # out kind before MKL's empty batch
    lambda m: m.fft.hfft2(m.ones(0, 4, 4), out=_out(m, "complex64")),            # ... but hfftn's after it
    lambda m: m.fft.fft(m.ones(4, dtype=m.complex32), norm="bad"),               # complex32 refused late
    lambda m: m.fft.ifft(m.ones(4), out=_out(m, "complex128")),                  # conjugated in out: exact dtype
    lambda m: m.fft.ihfft(m.ones(4, dtype=m.float64), out=_out(m, "complex64")),
    lambda m: m.fft.ihfftn(m.ones(4, 4), dim=(1,), out=_out(m, "float64")),
    lambda m: m.fft.ifft(m.ones(2, dtype=m.float64, requires_grad=True), out=_out(m, "complex64")),  # before autograd
    lambda m: m.fft.rfft(m.ones(4, dtype=m.float64, requires_grad=True), out=_out(m, "complex128")),
    lambda m: m.fft.fft(m.ones(4), out=_out(m, "complex128", 2)),                # resize warning, widening cast
])
def test_fft_out_checks(call) -> None:
    _same(call)


@pytest.mark.parametrize("call", [
    lambda m: m.fft.fftfreq(6, 0.7, dtype=m.float16),                 # times the reciprocal in the dtype
    lambda m: m.fft.rfftfreq(7, 1 / 3, dtype=m.bfloat16),
    lambda m: m.fft.fftfreq(9, 0.1),
    lambda m: m.fft.fftfreq(5, 0.0),
    lambda m: m.fft.fftfreq(3, 1e-300, dtype=m.float16),
    lambda m: m.fft.rfftfreq(-1, 2.0),                                # C's n / 2 truncates toward zero
    lambda m: m.fft.rfftfreq(-4),
    lambda m: m.fft.fftfreq(-1, dtype=m.int64),
    lambda m: m.fft.fftfreq(4, dtype=m.complex64),
    lambda m: m.fft.fftfreq(4, dtype=m.float64, out=_out(m, "float32")),
    lambda m: m.fft.fftfreq(4, out=_out(m, "int64")),                 # the dtype defaults to out's
    lambda m: m.fft.rfftfreq(4, out=_out(m, "complex64")),
    lambda m: m.fft.fftfreq(9, requires_grad=True, out=_out(m, "float32", 8)),   # arange's resize warning
    lambda m: m.fft.fftfreq(6, out=_out(m, "float32", 6).view(2, 3)),            # same count: out keeps its shape
])
def test_fftfreq(call) -> None:
    _same(call, rtol=0, atol=0)


# ---- special ---------------------------------------------------------------------------------------------------
def _logit_and_grad(lib, eps):
    x = lib.tensor([0.1, 0.45, 0.9, -0.1, 1.2, 0.0], dtype=lib.float64, requires_grad=True)
    y = lib.special.logit(x, eps)
    return y, lib.autograd.grad(y.sum(), x)[0]


@pytest.mark.parametrize("eps", [0.6, -0.1, 0.2])
def test_logit_clamps_as_torch(eps: float) -> None:
    """Below eps gives eps, else above 1 - eps gives 1 - eps (so eps > 0.5 flips); a negative eps clamps
    nothing, its gradient is NaN outside [0, 1]."""
    _same(lambda m: _logit_and_grad(m, eps), rtol=1e-12, atol=0)


@pytest.mark.parametrize("call", [
    lambda m: m.special.round(m.tensor([1, 2])),                                  # decimals=0: round_vml_cpu
    lambda m: m.special.round(m.tensor([1j])),
    lambda m: m.special.round(m.tensor([1, 2]), decimals=1),                      # otherwise round_cpu
    lambda m: m.special.round(m.tensor([1, 2], dtype=m.int32), out=_out(m, "int64")),   # out= checked first
    lambda m: m.special.round(m.tensor([1.25, -2.5]), decimals=0),
    lambda m: m.special.round(m.tensor([41.78, -17.89, 0.1234]).half(), decimals=4),   # scaled in float32
    lambda m: m.round(m.tensor([41.78, -17.89, 0.1234]).bfloat16(), decimals=3),
])
def test_special_round(call) -> None:
    _same(call)


@pytest.mark.parametrize(("name", "dtype"), [("i1", "float16"), ("i1e", "bfloat16"), ("i1e", "float32")])
def test_i1_backward_dtypes(name: str, dtype: str) -> None:
    def call(m):
        x = m.tensor([0.5, 2.0], dtype=getattr(m, dtype), requires_grad=True)
        return m.autograd.grad(getattr(m.special, name)(x).sum(), x)[0]
    _same(call, rtol=1e-3, atol=1e-3)


# ---- windows ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda m: m.kaiser_window(6, True, 100.0),                         # I0 overflows in float32: 0 and NaN samples
    lambda m: m.kaiser_window(8, False, 100.0),                        # ... once exp(x) does (x > 88.72)
    lambda m: m.kaiser_window(5, False, 95.0, dtype=m.float16),
    lambda m: m.kaiser_window(6, True, 100.0, dtype=m.float64),
    lambda m: m.signal.windows.kaiser(6, beta=100.0),
    lambda m: m.hann_window(-1, dtype=m.int64),                        # the dtype first, in TensorOptions words
    lambda m: m.bartlett_window(4, dtype=m.bool),
    lambda m: m.hann_window(4, dtype=m.complex64),                     # complex: arange's error ...
    lambda m: m.blackman_window(1, dtype=m.complex64),                 # ... unless at most one sample
    lambda m: m.signal.windows.exponential(5, tau=0.0, center=0.0),    # length, dtype, tau, then center
    lambda m: m.signal.windows.exponential(-1, center=1.0),
    lambda m: m.signal.windows.gaussian(4, std=-1.0, dtype=m.float16),
    lambda m: m.signal.windows.kaiser(1, beta=-1.0, dtype=m.int64),
    lambda m: m.signal.windows.general_cosine(4, a=[]),
    lambda m: m.signal.windows.general_cosine(4, a=3),
    lambda m: m.signal.windows.general_cosine(1, a=[]),                # coefficients unchecked below two samples
    lambda m: m.hamming_window(8, alpha=0.5),                          # torch's overloads: periodic comes first
    lambda m: m.hamming_window(8, True, beta=0.1),
    lambda m: m.kaiser_window(8, beta=0.5),
    lambda m: m.hamming_window(8, periodic=False, alpha=0.5, beta=0.2),
    lambda m: m.kaiser_window(8, False, 3.0),
    lambda m: m.hann_window(8, periodic=1.5),
])
def test_windows(call) -> None:
    _same(call, rtol=2e-6, atol=1e-7)


# ---- stft / istft ------------------------------------------------------------------------------------------------
def _spec(m):
    return m.stft(m.ones(16), 4, window=m.ones(4), return_complex=True)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("call", [
    lambda m: m.stft(m.ones(16, dtype=m.complex64), 4, window=m.ones(4)),           # return_complex inferred
    lambda m: m.stft(m.ones(16), 4, window=m.ones(4, dtype=m.complex64)),
    lambda m: m.stft(m.ones(16, dtype=m.int64), 4, window=m.ones(4), return_complex=True),
    lambda m: m.stft(m.ones(3, dtype=m.float16), 8, hop_length=2, win_length=7, window=m.ones(7)),  # pad first
    lambda m: m.stft(m.ones(16, dtype=m.float16), 4, win_length=3, return_complex=True),  # ones in Half: MKL's
    lambda m: m.stft(m.ones(2, 3), 4, win_length=3, window=m.ones(3, dtype=m.complex64), center=False,
                     return_complex=True),                                  # torch's n_fft message (sic)
    lambda m: m.stft(m.ones(8, dtype=m.complex128), 4, hop_length=0, window=m.ones(4)),   # the window's own type
    lambda m: m.stft(m.ones(16), 4, window=m.ones(4), onesided=True, return_complex=True).abs(),
    lambda m: m.stft(m.ones(16, dtype=m.complex64), 4, window=m.ones(4), onesided=True),
    lambda m: m.istft(_spec(m), 4, hop_length=5, window=m.ones(4)),
    lambda m: m.istft(_spec(m), 4, win_length=5, window=m.ones(3)),
    lambda m: m.istft(_spec(m), 4, window=m.ones(2, 2)),
    lambda m: m.istft(_spec(m), 4, window=m.ones(4, dtype=m.complex64)),
    lambda m: m.istft(m.ones(3, dtype=m.complex64), 4),
    lambda m: m.istft(m.ones(1, 1, 3, 17, dtype=m.complex64), 4),
    lambda m: m.istft(m.ones(3, 0, dtype=m.complex64), 4, window=m.ones(4)),
    lambda m: m.istft(_spec(m), 4, window=m.ones(4), length=40),
    lambda m: m.istft(m.stft(m.ones(3), 16, window=m.ones(16), return_complex=True), 16, window=m.ones(16)),
    lambda m: m.istft(m.stft(m.ones(8), 1, window=m.ones(1), return_complex=True), 1, window=m.ones(1)),  # -0
    lambda m: m.istft(m.stft(m.ones(8), 1, window=m.ones(1), return_complex=True), 1, window=m.ones(1), length=8),
])
def test_stft_istft(call) -> None:
    _same(call, rtol=1e-5, atol=1e-5, warned=False)   # (stft's warnings come once per process)


# ---- torch.fft's argument parser -----------------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda m: m.fft.fft(m.ones(4), s=(4,)),
    lambda m: m.fft.fft(m.ones(4), dim=(0,)),
    lambda m: m.fft.fft(m.ones(4), norm=1),
    lambda m: m.fft.fft([1.0, 2.0]),
    lambda m: m.fft.fft(m.ones(4), None, -1, None, None),
    lambda m: m.fft.fft(m.ones(4), m.tensor(3)),                     # SymInt: an integer tensor is its value
    lambda m: m.fft.fftn(m.ones(4), s=4),                            # int[1]: a bare int
    lambda m: m.fft.fft2(m.ones(4, 4), s=[m.tensor(3), 4]),
    lambda m: m.fft.fftfreq(5.0),
    lambda m: m.fft.fftfreq(5, 1j),
    lambda m: m.fft.rfftfreq(m.tensor(5)),
    lambda m: m.fft.fftshift(m.ones(4), dim=1.0),
    lambda m: m.fft.ifftshift(m.ones(4), 0, 1),
])
def test_fft_argument_parsing(call) -> None:
    _same(call)


@pytest.mark.parametrize("call", [
    lambda m: m.special.multigammaln(m.tensor([0.2890625, -0.00137329, 3.578125]).to(m.bfloat16), 3),  # in bf16
    lambda m: m.special.multigammaln(m.tensor([3.578125, 7.25]).to(m.bfloat16), 5),
    lambda m: m.special.multigammaln(m.tensor([4.1875, 2.5]).to(m.float16), 2),
    lambda m: m.special.multigammaln(m.tensor([3.0]), 2, out=_out(m, "int64")),     # torch's wording
    lambda m: m.special.multigammaln(m.tensor([3]), 2, out=_out(m, "bool")),
    lambda m: m.special.multigammaln(m.tensor([1j]), 2, out=_out(m, "int64")),      # arange's error first
])
def test_multigammaln(call) -> None:
    _same(call, rtol=0, atol=0)
