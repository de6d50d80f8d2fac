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


# torch's checks, in its order: a 1-d transform checks a real-input kind's input, then (unless complex-to-complex)
# out='s kind, the dtype, the dim, n; an n-d one (named by its n-d kernel) checks the dims, the sizes, then the
# dtype; both then check norm, out='s kind and (on the CPU) refuse complex32 and an empty batch as MKL does.
def _invalid(n: int) -> RuntimeError:
    return RuntimeError(f"Invalid number of data points ({n}) specified")


def _dim(d: int, ndim: int) -> int:
    if ndim == 0:
        raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
    return wrap_dim(d, ndim)


def _supported(x: Tensor) -> None:
    """The CPU FFT's refusal of 16-bit floats (complex32 is refused later, by the kernel: :func:`_scaled`)."""
    if x._device is CPU and x._dtype in (D.float16, D.bfloat16):
        raise RuntimeError(f"Unsupported dtype {x._dtype._short}")


def _real_input(x: Tensor, name: str) -> None:
    if x.is_complex():
        kind = "real input" if name in ("rfft", "ihfft") else "real-valued input"
        raise RuntimeError(f"{name} expects a {kind} tensor, but got {x._dtype._short}")


def _one(x: Tensor, n: int | None, dim: int, name: str, out: Tensor | None) -> tuple[list[int], list[int | None]]:
    """The dim and size of a 1-d transform (whose ``out=`` kind torch checks before the rest)."""
    if name in ("rfft", "ihfft"):
        _real_input(x, name)
    if not (x.is_complex() and name in ("fft", "ifft")):   # (a complex-to-complex kernel's check comes later)
        _out_kind(out, name)
    _supported(x)
    n = _int_arg(n, f"fft_{name}(): argument 'n' must be int")
    d = _dim(dim, x.dim())
    if n is not None and n < 1:
        raise _invalid(n)
    return [d], [n]


def _plan(x: Tensor, s: Any, dim: Any, public: str, name: str) -> tuple[list[int], list[int | None]]:
    """The signal dims and their requested sizes (None: as the input) of the n-d transform ``public`` (its
    kernel ``name``), from torch's ``s``/``dim`` rules."""
    if dim is None and public.endswith("2"):
        raise TypeError(f"fft_{public}(): argument 'dim' must be tuple of ints, not NoneType")
    if name == "rfftn":
        _real_input(x, name)
    if _is_int(dim):
        dim = [dim]
    if s is not None:
        s = [_int_arg(n, f"fft_{public}(): argument 's' must be tuple of ints") for n in ([s] if _is_int(s) else s)]
    if dim is None:
        if s is None:
            dims = list(range(x.dim()))
        elif len(s) > x.dim():
            raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has {x.dim()} dimensions.")
        else:
            dims = list(range(x.dim() - len(s), x.dim()))
    else:
        dims = [_dim(d, x.dim()) for d in dim]
    if len(set(dims)) != len(dims):
        raise RuntimeError("FFT dims must be unique")
    if s is not None and dim is not None and len(s) != len(dims):
        raise RuntimeError("When given, dim and shape arguments must have the same length")
    if name != "fftn" and not dims:
        raise RuntimeError(f"{name} must transform at least one axis")
    sizes: list[int | None] = [None] * len(dims) if s is None else [None if n == -1 else int(n) for n in s]
    for d, n in zip(dims, sizes, strict=True):
        if (x.shape[d] if n is None else n) < 1:
            raise _invalid(x.shape[d] if n is None else n)
    if name in ("irfftn", "hfftn"):   # the output length along the last dim
        last = sizes[-1] if sizes[-1] is not None else 2 * (x.shape[dims[-1]] - 1)
        if last < 1:
            raise _invalid(last)
    _supported(x)
    return dims, sizes


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _int_arg(v: Any, what: str) -> Any:
    """``v`` (None, or an int: a one-element integer tensor taken as its value, as torch's SymInt), else
    TypeError ``what`` (the op's argument wrapper rewords it as torch's parser)."""
    if v is None or _is_int(v):
        return v
    if isinstance(v, Tensor) and not (v.is_floating_point() or v.is_complex() or v._dtype is D.bool) and \
            v.numel() == 1:
        return int(v.item())
    raise TypeError(f"{what}, not {type(v).__name__}")


def _checked_sizes(sizes: list[int]) -> None:
    """Every signal size positive."""
    for n in sizes:
        if n < 1:
            raise _invalid(n)


def _scaled(x: Tensor, dims: list[int], norm: str | None, n: int, forward: bool, name: str,
            out: Tensor | None) -> float:
    """The normalisation of an ``n``-point transform of ``x`` (already resized) over ``dims``; refuses a bad
    ``norm``, then (ihfftn) a complex input, then a wrong kind of ``out=``, then on the CPU complex32 and an
    empty batch (MKL's errors). A one-dim ihfftn checks its out= only on the final copy; a many-dim hfftn
    after MKL's errors (from its first, complex-to-complex, transform)."""
    scale = _scale(norm, n, forward)
    if name == "ihfftn" and x.is_complex():
        raise RuntimeError(f"Only supports floating-point dtypes, but found: {x._dtype._short}")
    late = name == "hfftn" and len(dims) > 1
    if not late and not (name == "ihfftn" and len(dims) == 1):
        _out_kind(out, name)
    if x._device is CPU and x._dtype is D.complex32:
        raise RuntimeError("MKL FFT doesn't support tensors of type: Half")
    if dims and x._device is CPU and x.numel() == 0:
        raise RuntimeError("MKL FFT error: Intel oneMKL DFTI ERROR: Inconsistent configuration parameters")
    if late:
        _out_kind(out, name)
    return scale


def _out_kind(out: Tensor | None, name: str) -> None:
    """Refuse an ``out=`` tensor not of the kind of result torch's kernel ``name`` writes (complex, or real
    floating for the complex-to-real transforms)."""
    if out is None:
        return
    if name.startswith(("irfft", "hfft")):
        if not out._dtype.is_floating_point:
            raise RuntimeError(f"{name} expects a floating point output tensor, but got {out._dtype._short}")
    elif not out.is_complex():
        raise RuntimeError(f"{name} expects a complex output tensor, but got {out._dtype._short}")


# the private aten ops torch's out= autograd error names, by the node of the result
_OUT_OPS = {FftC2CBackward0: "_fft_c2c", FftR2CBackward0: "_fft_r2c", FftC2RBackward0: "_fft_c2r"}


def _written(out: Tensor | None, res: Tensor, conj: str | None = None) -> Tensor:
    """``res``, or copied into the caller's ``out=`` tensor (its kind already checked). ``conj``: ``res`` is a
    real signal's one-dim inverse transform, which torch conjugates into ``out`` (``"out"``: in place, as ifft
    and ihfft; ``"copy"``: as ihfftn's copy), so ``out`` must have ``res``'s dtype, the error naming first
    ``out``'s or the result's dtype."""
    if out is None:
        return res
    if conj is not None and out._dtype is not res._dtype:   # (before out='s autograd check)
        found, expected = (out._dtype, res._dtype) if conj == "out" else (res._dtype, out._dtype)
        raise RuntimeError(f"Found dtype {found._short} but expected {expected._short}")
    return write_out(out, res, _OUT_OPS.get(type(res._grad_fn)))


# ---- complex-input / full-spectrum transforms -----------------------------------------------------------------------
def _fftn(x: Tensor, plan: tuple[list[int], list[int | None]], norm: str | None, forward: bool, name: str,
          out: Tensor | None = None) -> Tensor:
    """Complex-output transform over the planned dims. A real signal goes through a real-to-complex transform,
    or in torch's fft2/fftn family (``name`` "fftn") is first converted to complex (torch's ToCopyBackward0)."""
    dims, sizes = plan
    x = _floating(x)
    if name == "fftn" and not x.is_complex():
        x = x.to(D.complex128 if x.dtype is D.float64 else D.complex64)
    full = [x.shape[d] if n is None else n for d, n in zip(dims, sizes, strict=True)]
    _checked_sizes(full)
    x = _resize(x, dims, full)
    scale = _scaled(x, dims, norm, math.prod(full), forward, name, out)
    if x.is_complex():
        return _written(out, c2c(x, dims, forward, scale))
    # a real signal: forward transform along the last dim (for the inverse, its conjugate), then the rest
    y = r2c(x, dims[-1:], scale if len(dims) == 1 else 1.0, onesided=False)
    y = y if forward else y.conj()
    if len(dims) == 1:
        return _written(out, y, None if forward else "out")
    return _written(out, c2c(y, dims[:-1], forward, scale))


def fft(input: Tensor, n: int | None = None, dim: int = -1,
        norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The one-dimensional discrete Fourier transform along ``dim``."""
    return _fftn(input, _one(input, n, dim, "fft", out), norm, True, "fft", out=out)


def ifft(input: Tensor, n: int | None = None, dim: int = -1,
         norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`fft`."""
    return _fftn(input, _one(input, n, dim, "ifft", out), norm, False, "ifft", out=out)


def fft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
         norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The 2-d discrete Fourier transform over ``dim`` (default: the last two)."""
    return _fftn(input, _plan(input, s, dim, "fft2", "fftn"), norm, True, "fftn", out=out)


def ifft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
          norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`fft2`."""
    return _fftn(input, _plan(input, s, dim, "ifft2", "fftn"), norm, False, "fftn", out=out)


def fftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
         norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The N-dimensional discrete Fourier transform over ``dim`` (default: all dims, or the last ``len(s)``)."""
    return _fftn(input, _plan(input, s, dim, "fftn", "fftn"), norm, True, "fftn", out=out)


def ifftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
          norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`fftn`."""
    return _fftn(input, _plan(input, s, dim, "ifftn", "fftn"), norm, False, "fftn", out=out)


# ---- real-input and Hermitian transforms ----------------------------------------------------------------------------
def _rfftn(x: Tensor, plan: tuple[list[int], list[int | None]], norm: str | None, name: str,
           inverse: bool, out: Tensor | None = None) -> Tensor:
    dims, sizes = plan
    x = _floating(x)
    full = [x.shape[d] if n is None else n for d, n in zip(dims, sizes, strict=True)]
    _checked_sizes(full)
    x = _resize(x, dims, full)
    scale = _scaled(x, dims, norm, math.prod(full), not inverse, name, out)
    if not inverse:
        return _written(out, r2c(x, dims, scale, onesided=True))
    y = r2c(x, dims[-1:], scale if len(dims) == 1 else 1.0, onesided=True).conj()
    if len(dims) == 1:
        return _written(out, y, "out" if name == "ihfft" else "copy")
    return _written(out, c2c(y, dims[:-1], False, scale))


def _irfftn(x: Tensor, plan: tuple[list[int], list[int | None]], norm: str | None, forward: bool, name: str,
            out: Tensor | None = None) -> Tensor:
    dims, sizes = plan
    x = _floating(x)
    if not x.is_complex():
        x = x.to(_complex_of(x._dtype))
    last = sizes[-1] if sizes[-1] is not None else 2 * (x.shape[dims[-1]] - 1)
    lead = [x.shape[d] if n is None else n for d, n in zip(dims[:-1], sizes[:-1], strict=True)]
    _checked_sizes(lead + [last])
    x = _resize(x, dims, lead + [last // 2 + 1])
    if forward:
        x = x.conj()
    scale = _scaled(x, dims, norm, math.prod(lead) * last, forward, name, out)
    return _written(out, c2r(x, dims, scale, last))


def rfft(input: Tensor, n: int | None = None, dim: int = -1,
         norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The one-sided Fourier transform of a real signal (``n // 2 + 1`` bins)."""
    return _rfftn(input, _one(input, n, dim, "rfft", out), norm, "rfft", False, out=out)


def irfft(input: Tensor, n: int | None = None, dim: int = -1,
          norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`rfft`: ``n`` real samples (default ``2 * (bins - 1)``)."""
    return _irfftn(input, _one(input, n, dim, "irfft", out), norm, False, "irfft", out=out)


def rfft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
          norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The 2-d Fourier transform of a real signal (the last dim halved)."""
    return _rfftn(input, _plan(input, s, dim, "rfft2", "rfftn"), norm, "rfftn", False, out=out)


def irfft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
           norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`rfft2`."""
    return _irfftn(input, _plan(input, s, dim, "irfft2", "irfftn"), norm, False, "irfftn", out=out)


def rfftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
          norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The N-d Fourier transform of a real signal (the last transformed dim halved)."""
    return _rfftn(input, _plan(input, s, dim, "rfftn", "rfftn"), norm, "rfftn", False, out=out)


def irfftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
           norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`rfftn` (``s`` gives the output sizes)."""
    return _irfftn(input, _plan(input, s, dim, "irfftn", "irfftn"), norm, False, "irfftn", out=out)


def hfft(input: Tensor, n: int | None = None, dim: int = -1,
         norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The Fourier transform of a Hermitian-symmetric signal given by its first half (a real spectrum)."""
    return _irfftn(input, _one(input, n, dim, "hfft", out), norm, True, "hfft", out=out)


def ihfft(input: Tensor, n: int | None = None, dim: int = -1,
          norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`hfft`: the first half of a real signal's inverse transform."""
    return _rfftn(input, _one(input, n, dim, "ihfft", out), norm, "ihfft", True, out=out)


def hfft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
          norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The 2-d transform of a Hermitian-symmetric signal given by its half (a real result)."""
    return _irfftn(input, _plan(input, s, dim, "hfft2", "hfftn"), norm, True, "hfftn", out=out)


def ihfft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
           norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`hfft2`."""
    return _rfftn(input, _plan(input, s, dim, "ihfft2", "ihfftn"), norm, "ihfftn", True, out=out)


def hfftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
          norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The N-d transform of a Hermitian-symmetric signal given by its half (a real result)."""
    return _irfftn(input, _plan(input, s, dim, "hfftn", "hfftn"), norm, True, "hfftn", out=out)


def ihfftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
           norm: str | None = None, *, out: Tensor | None = None) -> Tensor:
    """The inverse of :func:`hfftn`."""
    return _rfftn(input, _plan(input, s, dim, "ihfftn", "ihfftn"), norm, "ihfftn", True, out=out)


# ---- frequencies and shifts -----------------------------------------------------------------------------------------
def fftfreq(n: int, d: float = 1.0, *, dtype: Any = None, layout: Any = None, device: Any = None,
            pin_memory: bool | None = False, requires_grad: bool = False, out: Tensor | None = None) -> Tensor:
    """The sample frequencies of an ``n``-point DFT with sample spacing ``d`` (negative ones last)."""
    n = _int_arg(n, "fft_fftfreq(): argument 'n' must be int")
    k = _freq_range("fftfreq", n, dtype, device, out)
    k._data[(n + 1) // 2:] -= n
    return _freq_scaled(k, n * d, requires_grad)


def rfftfreq(n: int, d: float = 1.0, *, dtype: Any = None, layout: Any = None, device: Any = None,
             pin_memory: bool | None = False, requires_grad: bool = False, out: Tensor | None = None) -> Tensor:
    """The sample frequencies of :func:`rfft`'s ``n // 2 + 1`` bins (the half rounded toward zero, as in C)."""
    n = _int_arg(n, "fft_rfftfreq(): argument 'n' must be int")
    half = abs(n) // 2 * (1 if n >= 0 else -1)
    return _freq_scaled(_freq_range("rfftfreq", half + 1, dtype, device, out), n * d, requires_grad)


def _freq_range(name: str, count: int, dtype: Any, device: Any, out: Tensor | None) -> Tensor:
    """``0 .. count - 1`` in the result dtype (``out``'s by default), after torch's checks in its order."""
    if out is not None and dtype is not None and dtype is not out._dtype:
        raise RuntimeError(f"dtype {dtype._short} does not match dtype of out parameter ({out._dtype._short})")
    if out is None and count < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {count}: [{count}]")
    dt = dtype or (D.get_default_dtype() if out is None else out._dtype)
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"{name} requires a floating point or complex dtype")
    return C.arange(count, dtype=dt, device=device, out=out)


def _freq_scaled(k: Tensor, span: float, requires_grad: bool) -> Tensor:
    """``k`` times ``1 / span`` in place (torch multiplies by the reciprocal rounded to ``k``'s dtype; ``1 / 0``
    is a signed infinity), then marked as requiring grad when asked (``out=`` included)."""
    scale = C.full((), 1.0 / span if span else math.copysign(math.inf, span), dtype=D.float64, device=k.device)
    k.mul_(scale.to(k._dtype))
    return k.requires_grad_() if requires_grad else k


def _shift(x: Tensor, dim: Any, back: bool) -> Tensor:
    from .shape import roll
    dims = list(range(x.dim())) if dim is None else [dim] if _is_int(dim) else list(dim)
    dims = [_dim(d, x.dim()) for d in dims]
    return roll(x, [(x.shape[d] + 1) // 2 if back else x.shape[d] // 2 for d in dims], dims)


def fftshift(input: Tensor, dim: Any = None) -> Tensor:
    """Move the zero-frequency term to the centre of ``dim`` (default: every dim)."""
    return _shift(input, dim, False)


def ifftshift(input: Tensor, dim: Any = None) -> Tensor:
    """The inverse of :func:`fftshift`."""
    return _shift(input, dim, True)
