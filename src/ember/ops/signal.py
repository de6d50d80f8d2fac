"""Signal processing: torch's window functions and the short-time Fourier transform (``stft``/``istft``).

The transforms frame and window the signal with ember ops and transform the frames with the FFT ops of
:mod:`ember.ops.spectral` (as torch does), so gradients of any order follow.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU
from . import creation as C
from . import shape as S
from ._dispatch import Tensor, bind, from_array, xp_of
from .spectral import c2c, c2r, r2c
from .views import warn_once

__all__ = ["bartlett_window", "blackman_window", "hamming_window", "hann_window", "kaiser_window", "stft", "istft"]


def _xp(t: Tensor) -> Any:
    return np if t._device is CPU else xp_of(t._device)


# ---- windows ------------------------------------------------------------------------------------------
def _window(name: str, window_length: int, periodic: bool, dtype: Any, device: Any, requires_grad: bool,
            formula: Any) -> Tensor:
    """A window of ``window_length`` samples (torch's checks and messages for the ``*_window`` factories; a
    complex dtype passes them, to fail in torch's arange when more than one sample is computed)."""
    dt = dtype or D.get_default_dtype()
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"{name} expects floating point dtypes, got: TensorOptions(dtype={D.CPP_NAMES[dt]}, "
                           "device=cpu, layout=Strided (default), requires_grad=false (default), "
                           "pinned_memory=false, memory_format=(nullopt))")
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
    if dt.is_complex and window_length > 1:
        raise NotImplementedError(f"\"arange_cpu\" not implemented for '{dt._short}'")
    return build_window(window_length, periodic, dt, device, requires_grad, formula)


def build_window(length: int, periodic: bool, dt: D.dtype, device: Any, requires_grad: bool, formula: Any,
                 formula_at_one: bool = False) -> Tensor:
    """``formula(xp, n, N)`` on ``n = 0..N-1`` (in float64) as a tensor of ``length`` samples; ``periodic``
    computes ``N = length + 1`` samples and drops the last (the form for spectral analysis). A single sample is
    1, or with ``formula_at_one`` the formula's value at ``n = 0, N = 1`` (a window with an offset centre)."""
    out = C.empty(length, dtype=dt, device=device)
    if length:
        xp = _xp(out)
        if length == 1 and not formula_at_one:
            vals = xp.ones(1)
        else:
            n = length + 1 if periodic and length > 1 else length
            vals = formula(xp, xp.arange(n, dtype=np.float64), n)[:length]
        out._data[...] = vals.astype(dt.np)
    if requires_grad:
        out.requires_grad_()
    return out


def cosine_sum(*coeffs: float) -> Any:
    """The formula of a generalised cosine window with coefficients ``a_0, a_1, ...``."""
    def formula(xp: Any, n: Any, N: int) -> Any:
        return sum(((-1) ** k) * c * xp.cos(2 * math.pi * k * n / (N - 1)) for k, c in enumerate(coeffs))
    return formula


def hann_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The Hann window ``0.5 - 0.5 cos(2 pi n / (N - 1))``."""
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad, cosine_sum(0.5, 0.5))


def _overload(name: str, *given: Any) -> None:
    """Refuse a parameter given without the one before it (torch's overloads take them in order, ``periodic``
    first; the argument parser words the error)."""
    if any(a is None and b is not None for a, b in zip(given, given[1:], strict=False)):
        raise TypeError(f"{name}() received an invalid combination of arguments")


def hamming_window(window_length: int, periodic: bool | None = None, alpha: float | None = None,
                   beta: float | None = None, *, dtype: Any = None, layout: Any = None, device: Any = None,
                   pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The generalised Hamming window ``alpha - beta cos(2 pi n / (N - 1))`` (periodic, alpha 0.54 and beta 0.46
    by default)."""
    _overload("hamming_window", periodic, alpha, beta)
    return _window("hamming_window", window_length, periodic is not False, dtype, device, requires_grad,
                   cosine_sum(0.54 if alpha is None else alpha, 0.46 if beta is None else beta))


def blackman_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                    device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The Blackman window ``0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))``."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   cosine_sum(0.42, 0.5, 0.08))


def bartlett_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                    device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The triangular window ``1 - |2 n / (N - 1) - 1|``."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   lambda xp, n, N: 1 - xp.abs(2 * n / (N - 1) - 1))


def kaiser_window(window_length: int, periodic: bool | None = None, beta: float | None = None, *,
                  dtype: Any = None, layout: Any = None, device: Any = None, pin_memory: bool = False,
                  requires_grad: bool = False) -> Tensor:
    """The Kaiser window ``I0(beta sqrt(1 - (2 n / (N - 1) - 1)^2)) / I0(beta)`` (periodic, beta 12 by default)."""
    _overload("kaiser_window", periodic, beta)
    return _window("kaiser_window", window_length, periodic is not False, dtype, device, requires_grad,
                   kaiser_formula(12.0 if beta is None else beta, dtype))


def kaiser_formula(beta: float, dtype: Any) -> Any:
    """The Kaiser window's formula, its two Bessel values as torch's in float32 unless the window is float64
    (torch computes in the window's dtype, or float32 for 16-bit ones)."""
    real = np.float64 if (dtype or D.get_default_dtype()) is D.float64 else np.float32

    def formula(xp: Any, n: Any, N: int) -> Any:
        with np.errstate(over="ignore", invalid="ignore"):
            top = _i0(xp, beta * xp.sqrt(xp.clip(1 - (2 * n / (N - 1) - 1) ** 2, 0, None)), real)
            return top / _i0(xp, xp.asarray(beta, np.float64), real)
    return formula


_EXP_MAX_F32 = 88.72283935546875   # the largest float32 whose exp is finite


def _i0(xp: Any, a: Any, real: Any) -> Any:
    """``I0`` of float64 ``a`` rounded to ``real``: in float32 infinite once ``exp(a)`` overflows, as torch's
    float32 kernel (``exp(a)`` times a series from ``a > 8``), 0 and NaN samples in a window."""
    v = xp.i0(a)
    if real is np.float32:
        v = xp.where(xp.abs(a) > _EXP_MAX_F32, xp.inf, v)
    return v.astype(real)


# ---- stft / istft -----------------------------------------------------------------------------------------
def _kind(t: Tensor) -> str:
    """How torch's stft/istft errors name a tensor's type: ``torch.FloatTensor``, ``CPUComplexFloatType``."""
    return f"CPU{t._dtype._short}Type" if t.is_complex() else f"torch.{t._dtype._short}Tensor"


def _window_text(window: Tensor | None) -> str:
    return "None" if window is None else f"{_kind(window)}{{{list(window.shape)}}}"


def _signature(input: Tensor, shape: list[int], n_fft: int, hop: int, win: int, window: Tensor | None,
               normalized: bool, onesided: bool | None, return_complex: bool | None) -> str:
    """The call as torch spells it at the start of its stft errors."""
    def opt(v: bool | None) -> str:
        return "None" if v is None else str(int(v))
    return (f"stft({_kind(input)}{shape}, n_fft={n_fft}, hop_length={hop}, win_length={win}, "
            f"window={_window_text(window)}, normalized={int(normalized)}, onesided={opt(onesided)}, "
            f"return_complex={opt(return_complex)}, align_to_window=None) : ")


def _padded_window(window: Tensor | None, win: int, n_fft: int, dtype: D.dtype, device: Any) -> Tensor:
    """The window (ones of ``dtype`` when absent) zero-padded on both sides to ``n_fft`` samples."""
    w = C.ones(win, dtype=dtype, device=device) if window is None else window
    left = (n_fft - win) // 2
    if left or n_fft - win - left:
        w = S.cat([C.zeros(left, dtype=w.dtype, device=w.device), w,
                   C.zeros(n_fft - win - left, dtype=w.dtype, device=w.device)])
    return w


def stft(input: Tensor, n_fft: int, hop_length: int | None = None, win_length: int | None = None,
         window: Tensor | None = None, center: bool = True, pad_mode: str = "reflect", normalized: bool = False,
         onesided: bool | None = None, return_complex: bool | None = None, align_to_window: bool | None = None
         ) -> Tensor:
    """The short-time Fourier transform: ``(*, freq, frames)`` spectra of windowed frames of a 1-d/2-d signal."""
    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    x = input
    if center:
        if x.dim() not in (1, 2):   # torch pads first, so its message shows the padded length
            shape = [*x.shape[:-1], x.shape[-1] + 2 * (n_fft // 2)] if x.dim() else []
            sig = _signature(x, shape, n_fft, hop, win, window, normalized, onesided, return_complex)
            _stft_input(x, window, return_complex, sig)
            raise RuntimeError(sig + "expected a 1D or 2D tensor")
        from ..nn.functional import pad
        p = n_fft // 2
        signal_dim = x.dim()   # torch pads a (1, [batch,] length) view, then views the signal back
        x = pad(x.view([1] * (3 - signal_dim) + list(x.shape)), [p, p], pad_mode)
        x = x.view(x.shape[-signal_dim:])
    if window is None:
        warn_once("A window was not provided. A rectangular window will be applied,which is known to cause "
                  "spectral leakage. Other windows such as torch.hann_window or torch.hamming_window are "
                  "recommended to reduce spectral leakage.To suppress this warning and use a rectangular "
                  "window, explicitly set `window=torch.ones(n_fft, device=<device>)`.", stacklevel=3)
    sig = _signature(x, list(x.shape), n_fft, hop, win, window, normalized, onesided, return_complex)
    _stft_input(x, window, return_complex, sig)
    if x.dim() not in (1, 2):
        raise RuntimeError(sig + "expected a 1D or 2D tensor")
    length = x.shape[-1]
    if not 0 < n_fft <= length:
        raise RuntimeError(sig + f"expected 0 < n_fft < {length}, but got n_fft={win}")   # (torch's, sic)
    if hop <= 0:
        raise RuntimeError(sig + f"expected hop_length > 0, but got hop_length={hop}")
    if not 0 < win <= n_fft:
        raise RuntimeError(sig + f"expected 0 < win_length <= n_fft, but got win_length={win}")
    if window is not None and (window.dim() != 1 or window.shape[0] != win):
        raise RuntimeError(sig + f"expected a 1D window tensor of size equal to win_length={win}, but got window "
                           f"with size {list(window.shape)}")
    # torch's framing: a batch dim, then one as_strided view of (batch, frames, n_fft), windowed when a window
    # is given or shorter than n_fft
    batched = x if x.dim() == 2 else x.unsqueeze(0)
    st = batched.stride()
    frames = batched.as_strided((batched.shape[0], 1 + (length - n_fft) // hop, n_fft), (st[0], hop * st[1], st[1]))
    if window is not None or win < n_fft:
        frames = frames * _padded_window(window, win, n_fft, x._dtype, x.device)
    complex_in = frames.is_complex()
    one = (not complex_in) if onesided is None else onesided
    if one and complex_in:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    if return_complex is False:
        warn_once("stft with return_complex=False is deprecated. In a future pytorch release, stft will return "
                  "complex tensors for all inputs, and return_complex=False will raise an error.\nNote: you can "
                  "still call torch.view_as_real on the complex output to recover the old return format.",
                  stacklevel=3)
    if frames._dtype in (D.float16, D.bfloat16) and frames._device is CPU:
        raise RuntimeError(f"MKL FFT doesn't support tensors of type: {frames._dtype._short}")
    scale = n_fft ** -0.5 if normalized else 1.0
    last = [frames.dim() - 1]
    spec = c2c(frames, last, True, scale) if complex_in else r2c(frames, last, scale, one)
    spec.transpose_(1, 2)
    if x.dim() == 1:
        spec.squeeze_(0)
    if return_complex or return_complex is None:   # (None only with a complex input or window)
        return spec
    from .extra import view_as_real
    return view_as_real(spec)


def _stft_input(x: Tensor, window: Tensor | None, return_complex: bool | None, sig: str) -> None:
    """stft's first checks of the (padded) input: return_complex given for a real signal, a float input."""
    if return_complex is None and not x.is_complex() and (window is None or not window.is_complex()):
        raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will further "
                           "require that return_complex=True in a future PyTorch release.")
    if not (x._dtype.is_floating_point or x.is_complex()):
        raise RuntimeError(sig + "expected a tensor of floating point or complex values")


def istft(input: Tensor, n_fft: int, hop_length: int | None = None, win_length: int | None = None,
          window: Tensor | None = None, center: bool = True, normalized: bool = False, onesided: bool | None = None,
          length: int | None = None, return_complex: bool = False) -> Tensor:
    """The inverse of :func:`stft` by windowed overlap-add, divided by the summed squared window."""
    if not input.is_complex():
        raise RuntimeError("istft requires a complex-valued input tensor matching the output from stft with "
                           "return_complex=True.")
    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    if window is None:
        warn_once("A window was not provided. A rectangular window will be applied.Please provide the same "
                  "window used by stft to make the inversion lossless.To suppress this warning and use a "
                  "rectangular window, explicitly set `window=torch.ones(n_fft, device=<device>)`.", stacklevel=3)
    call = (f"istft({_kind(input)}{list(input.shape)}, n_fft={n_fft}, hop_length={hop}, win_length={win}, "
           f"window={_window_text(window)}, center={int(center)}, normalized={int(normalized)}, "
           f"onesided={'None' if onesided is None else int(onesided)}, length={length}, "
           f"return_complex={int(return_complex)}) ")
    if input.dim() == 1:   # (torch's view_as_real input has a dim -3 only from 2-d)
        raise IndexError("Dimension out of range (expected to be in range of [-2, 1], but got -3)")
    if input.dim() not in (2, 3):
        raise RuntimeError(call + f": expected a tensor with 3 or 4 dimensions, but got {input.dim() + 1}")
    if not 0 < hop <= win:
        raise RuntimeError(call + ": expected 0 < hop_length <= win_length")
    if not 0 < win <= n_fft:
        raise RuntimeError(call + ": expected 0 < win_length <= n_fft")
    if input.numel() == 0:
        raise RuntimeError(call + ": input tensor cannot be empty.")
    spec = input.unsqueeze(0) if input.dim() == 2 else input
    n_freq, n_frames = spec.shape[-2], spec.shape[-1]
    one = (n_freq != n_fft) if onesided is None else onesided
    if one and n_freq != n_fft // 2 + 1:
        raise RuntimeError(call + ": expected the frequency dimension (3rd to the last) of the input tensor to "
                           f"match n_fft / 2 + 1 when onesided=True, but got {n_freq}")
    if not one and n_freq != n_fft:
        raise RuntimeError(call + ": expected the frequency dimension (3rd to the last) of the input tensor to "
                           f"match n_fft when onesided=False, but got {n_freq}")
    if window is not None and (window.dim() != 1 or window.shape[0] != win):
        raise RuntimeError(call + ": Invalid window shape. window has to be 1D and length of `win_length`")
    if window is not None and window.is_complex() and not return_complex:
        raise RuntimeError("Complex windows are incompatible with return_complex=False")
    frames = spec.transpose(-1, -2)                                               # (B, frames, freq)
    scale = n_fft ** -0.5 if normalized else 1.0 / n_fft
    if return_complex:
        if one:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        sig = c2c(frames, [2], False, scale)
    else:   # a real signal: torch inverts the one-sided half (irfft)
        sig = c2r(frames[..., : n_fft // 2 + 1].contiguous(), [2], scale, n_fft)
    w = _padded_window(window, win, n_fft, D.float64 if sig._dtype in (D.float64, D.complex128) else D.float32,
                       sig.device)
    sig = sig * w
    total = n_fft + hop * (n_frames - 1)
    xp = _xp(input)
    pos = (xp.arange(n_frames)[:, None] * hop + xp.arange(n_fft)[None, :]).reshape(-1)
    idx = from_array(xp.asarray(pos, np.int64), D.int64, input._device)
    B = sig.shape[0]
    y = C.zeros(B, total, dtype=sig.dtype, device=sig.device).index_add(1, idx, sig.reshape(B, -1))
    env = C.zeros(total, dtype=w.dtype, device=w.device).index_add(0, idx, (w * w).expand(n_frames, n_fft)
                                                                  .reshape(-1))
    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + length
    else:   # (torch slices to -(n_fft // 2) when centred: nothing for n_fft == 1)
        end = total - n_fft // 2 if center and n_fft > 1 else 0 if center else total
    end = min(end, total)
    y = y[:, start:end]
    env = env[start:end]
    if not env.numel():   # torch's overlap-add check takes the minimum of nothing
        raise RuntimeError("min(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                           "reduction dim with the 'dim' argument.")
    if bool((env.abs() < 1e-11).any()):
        raise RuntimeError(call + "window overlap add min: 1\n[ CPUBoolType{} ]")
    y = y / env
    if length is not None and y.shape[-1] < length:
        warn_once("The length of signal is shorter than the length parameter. Result is being padded with zeros "
                  "in the tail. Please check your center and hop_length settings.", stacklevel=3)
        y = S.cat([y, C.zeros(B, length - y.shape[-1], dtype=y.dtype, device=y.device)], -1)
    return y.squeeze(0) if input.dim() == 2 else y


bind({"stft": stft, "istft": istft})
