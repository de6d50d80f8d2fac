"""Discrete Fourier transforms: ``torch.fft``'s functions on three differentiable ops, as torch's own —
complex-to-complex (``FftC2CBackward0``), real-to-complex (``FftR2CBackward0``, optionally one-sided) and
one-sided complex-to-real (``FftC2RBackward0``). Each op is an unnormalised transform over some dims times a
scale; each backward is another of the three (the adjoint), so gradients of any order follow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU
from . import creation as C
from . import shape as S
from ._dispatch import Node, Tensor, from_array, needs_grad, record, wrap_dim, write_out, xp_of

__all__: list[str] = []   # reached as ember.fft.*, not from the top-level namespace


def _xp(t: Tensor) -> Any:
    return np if t._device is CPU else xp_of(t._device)


def _complex_of(dt: D.dtype) -> D.dtype:
    if dt.is_complex:
        return dt
    return D.complex128 if dt is D.float64 else D.complex64


def _real_of(dt: D.dtype) -> D.dtype:
    return D.float64 if dt in (D.complex128, D.float64) else D.float32


def _wrap(arr: Any, dt: D.dtype, like: Tensor) -> Tensor:
    return from_array(_xp(like).asarray(arr, dt.np), dt, like._device)


# ---- the three ops --------------------------------------------------------------------------------------------------
class FftC2CBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (c2c(g, self.dims, not self.forward, self.scale),)


class FftR2CBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        if self.onesided:   # the dropped half of the spectrum received no gradient
            d = self.dims[-1]
            missing = self.last - g.shape[d]
            if missing:
                shape = list(g.shape)
                shape[d] = missing
                g = S.cat([g, C.zeros(shape, dtype=g.dtype, device=g.device)], d)
        return (c2c(g, self.dims, False, self.scale).real,)


class FftC2RBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        d = self.dims[-1]
        gi = r2c(g, self.dims, self.scale, onesided=True)
        m, n = gi.shape[d], g.shape[d]
        # bins 1 .. n - m stand for two (conjugate) bins of the full spectrum
        twice = np.ones(m)
        twice[1: n - m + 1] = 2
        shape = [1] * g.dim()
        shape[d] = m
        return (gi * from_array(_xp(g).asarray(twice.reshape(shape), _real_of(g._dtype).np),
                                _real_of(g._dtype), g._device),)


def c2c(x: Tensor, dims: Sequence[int], forward: bool, scale: float) -> Tensor:
    """``scale`` times the unnormalised DFT of a complex tensor over ``dims`` (``forward``: exp(-2 pi i ...))."""
    xp = _xp(x)
    dims = tuple(dims)
    arr = xp.fft.fftn(x._data, axes=dims) if forward else xp.fft.ifftn(x._data, axes=dims, norm="forward")
    if scale != 1:
        arr = arr * scale
    out = _wrap(arr, x._dtype, x)
    if needs_grad(x):
        node = record(out, FftC2CBackward0(), (x,))
        node.__dict__.update(dims=dims, forward=forward, scale=scale)
    return out


def r2c(x: Tensor, dims: Sequence[int], scale: float, onesided: bool) -> Tensor:
    """``scale`` times the forward DFT of a real tensor over ``dims`` (the last one halved when ``onesided``)."""
    xp = _xp(x)
    dims = tuple(dims)
    arr = xp.fft.rfftn(x._data, axes=dims) if onesided else xp.fft.fftn(x._data, axes=dims)
    if scale != 1:
        arr = arr * scale
    out = _wrap(arr, _complex_of(x._dtype), x)
    if needs_grad(x):
        node = record(out, FftR2CBackward0(), (x,))
        node.__dict__.update(dims=dims, scale=scale, onesided=onesided, last=x.shape[dims[-1]])
    return out


def c2r(x: Tensor, dims: Sequence[int], scale: float, last: int) -> Tensor:
    """``scale`` times the unnormalised inverse DFT of a one-sided Hermitian spectrum over ``dims``, giving
    ``last`` real samples along the last of them (imaginary parts of self-conjugate bins are ignored)."""
    xp = _xp(x)
    dims = tuple(dims)
    sizes = [x.shape[d] for d in dims[:-1]] + [last]
    arr = xp.fft.irfftn(x._data, s=sizes, axes=dims, norm="forward")
    if scale != 1:
        arr = arr * scale
    out = _wrap(arr, _real_of(x._dtype), x)
    if needs_grad(x):
        node = record(out, FftC2RBackward0(), (x,))
        node.__dict__.update(dims=dims, scale=scale)
    return out


# ---- argument handling ----------------------------------------------------------------------------------------------
def _scale(norm: str | None, n: int, forward: bool) -> float:
    if norm is None or norm == "backward":
        return 1.0 if forward else 1.0 / n
    if norm == "forward":
        return 1.0 / n if forward else 1.0
    if norm == "ortho":
        return 1.0 / math.sqrt(n)
    raise RuntimeError(f'Invalid normalization mode: "{norm}"')


def _floating(x: Tensor) -> Tensor:
    if x._dtype.is_floating_point or x._dtype.is_complex:
        return x.float() if x._dtype in (D.float16, D.bfloat16) else x
    return x.to(D.get_default_dtype())


def _resize(x: Tensor, dims: Sequence[int], sizes: Sequence[int]) -> Tensor:
    """``x`` trimmed or zero-padded at the end of each of ``dims`` to ``sizes``."""
    for d, n in zip(dims, sizes, strict=True):
        cur = x.shape[d]
        if n < cur:
            x = x.narrow(d, 0, n)
        elif n > cur:
            shape = list(x.shape)
            shape[d] = n - cur
            x = S.cat([x, C.zeros(shape, dtype=x.dtype, device=x.device)], d)
    return x


def _plan(x: Tensor, s: Any, dim: Any, default_all: bool) -> tuple[list[int], list[int | None]]:
    """The signal dims and their requested sizes (None: as the input) from torch's ``s``/``dim`` rules."""
    if _is_int(dim):
        dim = [dim]
    if s is not None and dim is not None and len(s) != len(dim):
        raise RuntimeError("When given, dim and shape arguments must have the same length")
    if dim is None:
        if s is not None:
            dims = list(range(x.dim() - len(s), x.dim()))
        else:
            dims = list(range(x.dim())) if default_all else [x.dim() - 2, x.dim() - 1]
    else:
        dims = [wrap_dim(d, x.dim()) for d in dim]
    if len(set(dims)) != len(dims):
        raise RuntimeError("FFT dims must be unique")
    sizes: list[int | None] = [None] * len(dims) if s is None else [None if n == -1 else int(n) for n in s]
    for n in sizes:
        if n is not None and n < 1:
            raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return dims, sizes


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _one(x: Tensor, n: int | None, dim: int) -> tuple[list[int], list[int | None]]:
    if x.dim() == 0:
        raise IndexError("Dimension specified as -1 but tensor has no dimensions")
    d = wrap_dim(dim, x.dim())
    if n is not None and n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return [d], [n]


def _written(out: Tensor | None, res: Tensor) -> Tensor:
    """``res``, or copied into the caller's ``out=`` tensor."""
    return res if out is None else write_out(out, res)


# ---- complex-input / full-spectrum transforms -----------------------------------------------------------------------
def _fftn(x: Tensor, dims: list[int], sizes: list[int | None], norm: str | None, forward: bool,
          promote: bool = False, out: Tensor | None = None) -> Tensor:
    """Complex-output transform over ``dims``. A real signal goes through a real-to-complex transform, or
    with ``promote`` (torch's fft2/fftn family) is first converted to complex (torch's ToCopyBackward0)."""
    x = _floating(x)
    if promote and not x.is_complex():
        x = x.to(D.complex128 if x.dtype is D.float64 else D.complex64)
    x = _resize(x, dims, [x.shape[d] if n is None else n for d, n in zip(dims, sizes, strict=True)])
    scale = _scale(norm, math.prod(x.shape[d] for d in dims), forward)
    if x.is_complex():
        return _written(out, c2c(x, dims, forward, scale))
    # a real signal: forward transform along the last dim (for the inverse, its conjugate), then the rest
    y = r2c(x, dims[-1:], scale if len(dims) == 1 else 1.0, onesided=False)
    y = y if forward else y.conj()
    return _written(out, y if len(dims) == 1 else c2c(y, dims[:-1], forward, scale))


def fft(input: Tensor, n: int | None = None, dim: int = -1,
        norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The one-dimensional discrete Fourier transform along ``dim``."""
    return _fftn(input, *_one(input, n, dim), norm, True, out=out)


def ifft(input: Tensor, n: int | None = None, dim: int = -1,
         norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`fft`."""
    return _fftn(input, *_one(input, n, dim), norm, False, out=out)


def fft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
         norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The 2-d discrete Fourier transform over ``dim`` (default: the last two)."""
    return _fftn(input, *_plan(input, s, dim, False), norm, True, promote=True, out=out)


def ifft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
          norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`fft2`."""
    return _fftn(input, *_plan(input, s, dim, False), norm, False, promote=True, out=out)


def fftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
         norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The N-dimensional discrete Fourier transform over ``dim`` (default: all dims, or the last ``len(s)``)."""
    return _fftn(input, *_plan(input, s, dim, True), norm, True, promote=True, out=out)


def ifftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
          norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`fftn`."""
    return _fftn(input, *_plan(input, s, dim, True), norm, False, promote=True, out=out)


# ---- real-input and Hermitian transforms ----------------------------------------------------------------------------
def _rfftn(x: Tensor, dims: list[int], sizes: list[int | None], norm: str | None, name: str,
           inverse: bool, out: Tensor | None = None) -> Tensor:
    if x.is_complex():
        raise RuntimeError(f"{name} expects a real input tensor, but got {x._dtype._short}")
    x = _floating(x)
    x = _resize(x, dims, [x.shape[d] if n is None else n for d, n in zip(dims, sizes, strict=True)])
    scale = _scale(norm, math.prod(x.shape[d] for d in dims), not inverse)
    if not inverse:
        return _written(out, r2c(x, dims, scale, onesided=True))
    y = r2c(x, dims[-1:], scale if len(dims) == 1 else 1.0, onesided=True).conj()
    return _written(out, y if len(dims) == 1 else c2c(y, dims[:-1], False, scale))


def _irfftn(x: Tensor, dims: list[int], sizes: list[int | None], norm: str | None, forward: bool,
            out: Tensor | None = None) -> Tensor:
    x = _floating(x)
    if not x.is_complex():
        x = x.to(_complex_of(x._dtype))
    last = sizes[-1] if sizes[-1] is not None else 2 * (x.shape[dims[-1]] - 1)
    if last < 1:
        raise RuntimeError(f"Invalid number of data points ({last}) specified")
    lead = [x.shape[d] if n is None else n for d, n in zip(dims[:-1], sizes[:-1], strict=True)]
    x = _resize(x, dims, lead + [last // 2 + 1])
    if forward:
        x = x.conj()
    return _written(out, c2r(x, dims, _scale(norm, math.prod(lead) * last, forward), last))


def rfft(input: Tensor, n: int | None = None, dim: int = -1,
         norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The one-sided Fourier transform of a real signal (``n // 2 + 1`` bins)."""
    return _rfftn(input, *_one(input, n, dim), norm, "rfft", False, out=out)


def irfft(input: Tensor, n: int | None = None, dim: int = -1,
          norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`rfft`: ``n`` real samples (default ``2 * (bins - 1)``)."""
    return _irfftn(input, *_one(input, n, dim), norm, False, out=out)


def rfft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
          norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The 2-d Fourier transform of a real signal (the last dim halved)."""
    return _rfftn(input, *_plan(input, s, dim, False), norm, "rfftn", False, out=out)


def irfft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
           norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`rfft2`."""
    return _irfftn(input, *_plan(input, s, dim, False), norm, False, out=out)


def rfftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
          norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The N-d Fourier transform of a real signal (the last transformed dim halved)."""
    return _rfftn(input, *_plan(input, s, dim, True), norm, "rfftn", False, out=out)


def irfftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
           norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`rfftn` (``s`` gives the output sizes)."""
    return _irfftn(input, *_plan(input, s, dim, True), norm, False, out=out)


def hfft(input: Tensor, n: int | None = None, dim: int = -1,
         norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The Fourier transform of a Hermitian-symmetric signal given by its first half (a real spectrum)."""
    return _irfftn(input, *_one(input, n, dim), norm, True, out=out)


def ihfft(input: Tensor, n: int | None = None, dim: int = -1,
          norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`hfft`: the first half of a real signal's inverse transform."""
    return _rfftn(input, *_one(input, n, dim), norm, "ihfft", True, out=out)


def hfft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
          norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The 2-d transform of a Hermitian-symmetric signal given by its half (a real result)."""
    return _irfftn(input, *_plan(input, s, dim, False), norm, True, out=out)


def ihfft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
           norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`hfft2`."""
    return _rfftn(input, *_plan(input, s, dim, False), norm, "ihfftn", True, out=out)


def hfftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
          norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The N-d transform of a Hermitian-symmetric signal given by its half (a real result)."""
    return _irfftn(input, *_plan(input, s, dim, True), norm, True, out=out)


def ihfftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
           norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`hfftn`."""
    return _rfftn(input, *_plan(input, s, dim, True), norm, "ihfftn", True, out=out)


# ---- frequencies and shifts -----------------------------------------------------------------------------------------
def fftfreq(n: int, d: float = 1.0, *, dtype: Any = None, layout: Any = None, device: Any = None,
            pin_memory: bool | None = False, requires_grad: bool = False, out: Tensor | None = None) -> Tensor:
    """The sample frequencies of an ``n``-point DFT with sample spacing ``d`` (negative ones last)."""
    k = C.arange(n, dtype=_freq_dtype("fftfreq", dtype), device=device)
    k._data[(n + 1) // 2:] -= n
    res = k.div_(n * d)
    return _written(out, res.requires_grad_() if requires_grad else res)


def rfftfreq(n: int, d: float = 1.0, *, dtype: Any = None, layout: Any = None, device: Any = None,
             pin_memory: bool | None = False, requires_grad: bool = False, out: Tensor | None = None) -> Tensor:
    """The sample frequencies of :func:`rfft`'s ``n // 2 + 1`` bins."""
    res = C.arange(n // 2 + 1, dtype=_freq_dtype("rfftfreq", dtype), device=device).div_(n * d)
    return _written(out, res.requires_grad_() if requires_grad else res)


def _freq_dtype(name: str, dtype: Any) -> D.dtype:
    dt = dtype or D.get_default_dtype()
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"{name} requires a floating point or complex dtype")
    return dt


def _shift(x: Tensor, dim: Any, back: bool) -> Tensor:
    from .shape import roll
    dims = list(range(x.dim())) if dim is None else [dim] if _is_int(dim) else list(dim)
    dims = [wrap_dim(d, x.dim()) for d in dims]
    return roll(x, [(x.shape[d] + 1) // 2 if back else x.shape[d] // 2 for d in dims], dims)


def fftshift(input: Tensor, dim: Any = None) -> Tensor:
    """Move the zero-frequency term to the centre of ``dim`` (default: every dim)."""
    return _shift(input, dim, False)


def ifftshift(input: Tensor, dim: Any = None) -> Tensor:
    """The inverse of :func:`fftshift`."""
    return _shift(input, dim, True)
