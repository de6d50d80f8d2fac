"""Reductions: sum, mean, prod, max/min (values + indices), var/std, all/any, logsumexp, norms.

``dim`` may be an int, a tuple, or None (all dims); ``keepdim`` and ``dtype=`` follow torch. Gradients
expand back over the reduced dims (``_expand_back``).
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU
from ..autograd.grad_mode import STATE
from ..autograd.graph import SavedOutput
from ._dispatch import Node, Tensor, bind, dim_list, new_tensor, record, wrap_dim, write_out, xp_of

_isinstance = isinstance


def _xp(t: Tensor) -> Any:
    return np if t._device is CPU else xp_of(t._device)


def _expand_back(g: Tensor, shape: tuple[int, ...], dims: tuple[int, ...], keepdim: bool) -> Tensor:
    """The gradient of a reduction over ``dims``, broadcast back to the input ``shape``."""
    if not keepdim and dims:
        kept = list(g.shape)
        for d in sorted(dims):
            kept.insert(d, 1)
        g = g.reshape(kept)
    return g.expand(shape)


def _node(cls: type[Node], **attrs: Any) -> Node:
    n = cls()
    n.__dict__.update(attrs)
    return n


def _finish(res: Tensor, input: Tensor, node: Node | None, out: Tensor | None, *save: Any) -> Tensor:
    if node is not None and input._rg and STATE.enabled:
        record(res, node, (input,))
        node.save(*save)
    return write_out(out, res) if out is not None else res


def _sum_dtype(dt: D.dtype) -> D.dtype:
    return D.int64 if dt.category < 2 else dt


class SumBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (g.expand(self._meta[0][0]),)


class SumBackward1(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (_expand_back(g, self._meta[0][0], self.dims, self.keepdim),)


def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
        out: Tensor | None = None) -> Tensor:
    """Sum over ``dim`` (all when None); bool/integer inputs accumulate in int64."""
    from .creation import _resolve_dtype
    dt = _resolve_dtype(dtype) or _sum_dtype(input._dtype)
    a = input._data
    if dim is None:
        arr = _xp(input).sum(a, dtype=dt.np) if not keepdim else a.sum(dtype=dt.np, keepdims=True)
        node = SumBackward0() if not keepdim else _node(SumBackward1, dims=tuple(range(a.ndim)), keepdim=True)
    else:
        dims = dim_list(dim, a.ndim) if a.ndim else ()
        arr = a.sum(axis=dims, dtype=dt.np, keepdims=keepdim) if a.ndim else a.astype(dt.np, copy=True)
        node = _node(SumBackward1, dims=dims, keepdim=keepdim)
    res = new_tensor(arr, dt, input._device)
    return _finish(res, input, node, out)


def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    return sum(input.nan_to_num(0.0, float("inf"), float("-inf")) if input._dtype.is_floating_point else input,
               dim, keepdim, dtype=dtype)


def sum_to_size(self: Tensor, *size: Any) -> Tensor:
    """Sum broadcast dims away so the result has ``size`` (the gradient of broadcasting)."""
    shape = tuple(size[0]) if len(size) == 1 and not _isinstance(size[0], int) else tuple(size)
    cur = self._data.shape
    if cur == shape:
        return self
    lead = len(cur) - len(shape)
    if lead < 0:
        raise RuntimeError(f"size {{{list(shape)}}} is not expandable to size {{{list(cur)}}}.")
    dims = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and cur[i + lead] != 1)
    r = sum(self, dims, keepdim=True) if dims else self
    return r.reshape(shape) if r._data.shape != shape else r


def _float_check(name: str, dt: D.dtype) -> None:
    if dt.category < 2:
        raise RuntimeError(f"{name}(): could not infer output dtype. Input dtype must be either a floating point "
                           f"or complex dtype. Got: {dt._short}")


class MeanBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        shape = self._meta[0][0]
        n = math.prod(shape)
        return ((g / n if n else g).expand(shape),)


class MeanBackward1(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        shape = self._meta[0][0]
        n = math.prod(shape[d] for d in self.dims)
        return (_expand_back(g / n, shape, self.dims, self.keepdim),)


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
         out: Tensor | None = None) -> Tensor:
    """Arithmetic mean over ``dim``; integer inputs need ``dtype=`` (torch's error otherwise)."""
    from .creation import _resolve_dtype
    dt = _resolve_dtype(dtype) or input._dtype
    _float_check("mean", dt)
    a = input._data
    if a.dtype != dt.np:
        a = a.astype(dt.np)
    xp = _xp(input)
    with np.errstate(all="ignore"):
        if dim is None:
            arr = xp.mean(a, keepdims=keepdim) if a.size else xp.full((1,) * a.ndim if keepdim else (), np.nan,
                                                                       dt.np)
            node = MeanBackward0() if not keepdim else _node(MeanBackward1, dims=tuple(range(a.ndim)),
                                                               keepdim=True)
        else:
            dims = dim_list(dim, a.ndim) if a.ndim else ()
            arr = a.mean(axis=dims, keepdims=keepdim) if a.ndim else a.copy()
            node = _node(MeanBackward1, dims=dims, keepdim=keepdim)
    res = new_tensor(arr, dt, input._device)
    if res._data.dtype != dt.np:
        res._data = res._data.astype(dt.np)
    return _finish(res, input, node, out)


def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    _float_check("nanmean", input._dtype)
    notnan = ~input.isnan()
    return nansum(input, dim, keepdim, dtype=dtype) / notnan.sum(dim, keepdim)


class ProdBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, r = self.saved
        dims = self.dims
        if self.all:
            g = g.expand(x.shape)
            r = r.expand(x.shape)
        else:
            g = _expand_back(g, x.shape, dims, self.keepdim)
            r = _expand_back(r, x.shape, dims, self.keepdim)
        zero = x == 0
        if not bool(zero.any()):
            return (g * r / x,)
        # with zeros: product of the others, computed by exclusive cumulative products
        d = dims[0] if not self.all else None
        xs = x.reshape(-1) if d is None else x
        dd = 0 if d is None else d
        ones = xs.narrow(dd, 0, 1) * 0 + 1
        left = _cat_excl(xs.cumprod(dd), ones, dd)
        right = _cat_excl(xs.flip(dd).cumprod(dd), ones, dd).flip(dd)
        others = (left * right).reshape(x.shape)
        return (g * others,)


def _cat_excl(c: Tensor, ones: Tensor, d: int) -> Tensor:
    from .shape import cat
    return cat([ones, c.narrow(d, 0, c.shape[d] - 1)], d)


def prod(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    from .creation import _resolve_dtype
    dt = _resolve_dtype(dtype) or _sum_dtype(input._dtype)
    a = input._data
    if dim is None:
        arr = _xp(input).prod(a, dtype=dt.np)
        node = _node(ProdBackward0, dims=tuple(range(a.ndim)), keepdim=False, all=True)
    else:
        d = wrap_dim(dim, a.ndim)
        arr = a.prod(axis=d, dtype=dt.np, keepdims=keepdim) if a.ndim else a.astype(dt.np, copy=True)
        node = _node(ProdBackward0, dims=(d,), keepdim=keepdim, all=False)
    res = new_tensor(arr, dt, input._device)
    if input._rg and STATE.enabled:
        record(res, node, (input,))
        node.save(input, SavedOutput(res))
    return res


# ---- max / min -----------------------------------------------------------------------------------------
_return_types: dict[str, type] = {}


def return_type(name: str) -> type:
    """``torch.return_types.<name>``: a named tuple (values, indices) printing like torch's."""
    cls = _return_types.get(name)
    if cls is None:
        base = namedtuple(name, ["values", "indices"])  # type: ignore[misc]

        def __repr__(self: Any) -> str:
            return f"torch.return_types.{name}(\nvalues={self.values!r},\nindices={self.indices!r})"

        cls = type(name, (base,), {"__repr__": __repr__, "__slots__": (), "__module__": "torch.return_types"})
        _return_types[name] = cls
    return cls


class _IndexReductionBackward(Node):
    """Gradient of a reduction that picks one element along ``dim`` (max/min/median/mode/kthvalue)."""

    __slots__ = ()

    def backward(self, g: Tensor, g_idx: Tensor | None = None) -> tuple:
        (idx,) = self.saved
        from .creation import zeros
        shape = self._meta[0][0]
        d = self.dim
        if not self.keepdim and len(shape):
            g = g.unsqueeze(d)
            idx = idx.unsqueeze(d)
        z = zeros(shape, dtype=g.dtype, device=g.device)
        return (z.scatter(d, idx, g) if len(shape) else g.reshape(shape),)

    def fill_missing(self, grads: list) -> list:
        return grads


class MaxBackward0(_IndexReductionBackward):
    __slots__ = ()


class MinBackward0(_IndexReductionBackward):
    __slots__ = ()


class _FullExtremumBackward(Node):
    """Gradient of a full max/min: split evenly among the tied maximal elements (as torch)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, r = self.saved
        mask = (x == r).to(g.dtype)
        return (mask * (g / mask.sum()),)


class MaxBackward1(_FullExtremumBackward):
    __slots__ = ()


class MinBackward1(_FullExtremumBackward):
    __slots__ = ()


class AmaxBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, r = self.saved
        shape = x.shape
        mask = (x == _expand_back(r, shape, self.dims, self.keepdim)).to(g.dtype)
        count = _expand_back(mask.sum(self.dims, keepdim=True), shape, (), True)
        return (_expand_back(g, shape, self.dims, self.keepdim) * mask / count,)


class AminBackward0(AmaxBackward0):
    __slots__ = ()


def _empty_check(name: str, a: Any, dim: Any) -> None:
    if a.size == 0:
        if dim is None:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        for d in dim_list(dim, a.ndim):
            if a.shape[d] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


def _nan_aware(xp: Any, fn: str, a: Any, axis: Any, keepdims: bool) -> Any:
    """max/min that propagate NaN as torch does (NumPy's maximum.reduce already does)."""
    return getattr(xp, fn)(a, axis=axis, keepdims=keepdims)


def _arg_extremum(xp: Any, fn: str, a: Any, axis: int, keepdims: bool) -> Any:
    """First index of the max/min along ``axis``, NaN counting as the extremum (torch's rule)."""
    if a.dtype.kind in "fc" or a.dtype == np.float16:
        nan = xp.isnan(a)
        if nan.any():
            return xp.argmax(nan, axis=axis, keepdims=keepdims) * 0 + xp.where(
                nan.any(axis=axis, keepdims=keepdims), xp.argmax(nan, axis=axis, keepdims=keepdims),
                getattr(xp, fn)(a, axis=axis, keepdims=keepdims))
    return getattr(xp, fn)(a, axis=axis, keepdims=keepdims)


def _extremum(name: str, input: Tensor, dim: Any, keepdim: bool, other: Any, out: Any) -> Any:
    if _isinstance(dim, Tensor) and other is None:
        other, dim = dim, None
    if other is not None:
        from . import elementwise
        return (elementwise.maximum if name == "max" else elementwise.minimum)(input, other, out=out)
    a = input._data
    xp = _xp(input)
    if input._dtype.is_complex:
        raise RuntimeError(f"{name}(): does not support complex input")
    if dim is None:
        _empty_check(name, a, None)
        arr = getattr(xp, "max" if name == "max" else "min")(a)
        res = new_tensor(arr, input._dtype, input._device)
        if input._rg and STATE.enabled:
            node = record(res, (MaxBackward1 if name == "max" else MinBackward1)(), (input,))
            node.save(input, SavedOutput(res))
        return res
    d = wrap_dim(dim, a.ndim)
    _empty_check(name, a, d)
    ax = d if a.ndim else None
    values = getattr(xp, "max" if name == "max" else "min")(a, axis=ax, keepdims=keepdim and a.ndim > 0)
    idx = _arg_extremum(xp, "argmax" if name == "max" else "argmin", a, ax, keepdim and a.ndim > 0)
    v = new_tensor(values, input._dtype, input._device)
    i = new_tensor(xp.asarray(idx, dtype=np.int64), D.int64, input._device)
    if input._rg and STATE.enabled:
        node = (MaxBackward0 if name == "max" else MinBackward0)()
        node.__dict__.update(dim=d, keepdim=keepdim)
        record(v, node, (input,))
        node.save(i)
    result = return_type(name)(v, i)
    if out is not None:
        write_out(out[0], v)
        write_out(out[1], i)
        return return_type(name)(out[0], out[1])
    return result


def max(input: Tensor, dim: Any = None, keepdim: bool = False, *, out: Any = None) -> Any:
    """Full max (0-d), ``max(dim)`` → (values, indices), or ``max(other)`` elementwise."""
    other = None
    if _isinstance(dim, Tensor):
        other, dim = dim, None
    return _extremum("max", input, dim, keepdim, other, out)


def min(input: Tensor, dim: Any = None, keepdim: bool = False, *, out: Any = None) -> Any:
    other = None
    if _isinstance(dim, Tensor):
        other, dim = dim, None
    return _extremum("min", input, dim, keepdim, other, out)


def _amax_amin(name: str, input: Tensor, dim: Any, keepdim: bool) -> Tensor:
    a = input._data
    dims = dim_list(dim if dim != () else None, a.ndim) if a.ndim else ()
    if a.size == 0:
        for d in dims:
            if a.shape[d] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    arr = getattr(_xp(input), "max" if name == "amax" else "min")(a, axis=dims or None, keepdims=keepdim) \
        if a.ndim else a.copy()
    res = new_tensor(arr, input._dtype, input._device)
    if input._rg and STATE.enabled:
        node = _node(AmaxBackward0 if name == "amax" else AminBackward0, dims=dims, keepdim=keepdim)
        record(res, node, (input,))
        node.save(input, SavedOutput(res))
    return res


def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    return _amax_amin("amax", input, dim, keepdim)


def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    return _amax_amin("amin", input, dim, keepdim)


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False) -> Any:
    cls = namedtuple("aminmax", ["min", "max"])  # type: ignore[misc]
    return cls(amin(input, () if dim is None else dim, keepdim), amax(input, () if dim is None else dim, keepdim))


def _argext(name: str, input: Tensor, dim: int | None, keepdim: bool) -> Tensor:
    a = input._data
    xp = _xp(input)
    fn = "argmax" if name == "argmax" else "argmin"
    if dim is None:
        _empty_check(name, a, None)
        idx = _arg_extremum(xp, fn, a.reshape(-1), 0, False)
        if keepdim:
            idx = xp.asarray(idx).reshape((1,) * a.ndim)
    else:
        d = wrap_dim(dim, a.ndim)
        _empty_check(name, a, d)
        idx = _arg_extremum(xp, fn, a, d if a.ndim else None, keepdim and a.ndim > 0)
    return new_tensor(xp.asarray(idx, dtype=np.int64), D.int64, input._device)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _argext("argmax", input, dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _argext("argmin", input, dim, keepdim)


# ---- var / std -------------------------------------------------------------------------------------------
class VarBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (x,) = self.saved
        shape = x.shape
        n = math.prod(shape[d] for d in self.dims)
        mu = x.mean(self.dims, keepdim=True)
        g = _expand_back(g, shape, self.dims, self.keepdim)
        return (g * 2 * (x - mu) / builtins.max(n - self.correction, 0),)


class StdBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, r = self.saved
        shape = x.shape
        n = math.prod(shape[d] for d in self.dims)
        mu = x.mean(self.dims, keepdim=True)
        g = _expand_back(g / (r * 2), shape, self.dims, self.keepdim)
        return (g * 2 * (x - mu) / builtins.max(n - self.correction, 0),)


def _correction(unbiased: Any, correction: Any) -> float:
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def _var_impl(input: Tensor, dim: Any, unbiased: Any, keepdim: bool, correction: Any, take_sqrt: bool) -> Tensor:
    if _isinstance(dim, bool):
        unbiased, dim = dim, None
    name = "std" if take_sqrt else "var"
    if input._dtype.category < 2:
        raise RuntimeError(f"{name} and {name}_mean only support floating point and complex dtypes")
    c = _correction(unbiased, correction)
    a = input._data
    dims = dim_list(dim, a.ndim) if a.ndim else ()
    with np.errstate(all="ignore"):
        arr = _xp(input).var(a, axis=dims if dims else None, ddof=c, keepdims=keepdim) if a.ndim else \
            _xp(input).var(a, ddof=c)
        if take_sqrt:
            arr = _xp(input).sqrt(arr)
    rdt = input._dtype.to_real()
    res = new_tensor(arr, rdt, input._device)
    if res._data.dtype != rdt.np:
        res._data = res._data.astype(rdt.np)
    if input._rg and STATE.enabled:
        node = _node(StdBackward0 if take_sqrt else VarBackward0, dims=dims, keepdim=keepdim, correction=c)
        record(res, node, (input,))
        node.save(input, SavedOutput(res)) if take_sqrt else node.save(input)
    return res


def var(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None,
        out: Tensor | None = None) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``)."""
    return _var_impl(input, dim, unbiased, keepdim, correction, False)


def std(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None,
        out: Tensor | None = None) -> Tensor:
    return _var_impl(input, dim, unbiased, keepdim, correction, True)


def var_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple[Tensor, Tensor]:
    return (var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim))


def std_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple[Tensor, Tensor]:
    return (std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim))


# ---- boolean reductions ------------------------------------------------------------------------------
def _bool_reduce(fn: str, input: Tensor, dim: Any, keepdim: bool) -> Tensor:
    a = input._data
    xp = _xp(input)
    if dim is None:
        arr = getattr(xp, fn)(a)
    else:
        dims = dim_list(dim, a.ndim) if a.ndim else None
        arr = getattr(xp, fn)(a, axis=dims, keepdims=keepdim)
    dt = D.uint8 if input._dtype is D.uint8 else D.bool
    return new_tensor(xp.asarray(arr).astype(dt.np), dt, input._device)


def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _bool_reduce("all", input, dim, keepdim)


def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _bool_reduce("any", input, dim, keepdim)


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    a = input._data
    xp = _xp(input)
    dims = dim_list(dim, a.ndim) if dim is not None else None
    return new_tensor(xp.asarray(xp.count_nonzero(a, axis=dims), dtype=np.int64), D.int64, input._device)


# ---- logsumexp ---------------------------------------------------------------------------------------
class LogsumexpBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, r = self.saved
        shape = x.shape
        return (_expand_back(g, shape, self.dims, self.keepdim) *
                (x - _expand_back(r, shape, self.dims, self.keepdim)).exp(),)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``dim``, stable for large inputs."""
    if input._dtype.category < 2:
        input = input.to(D.get_default_dtype())
    a = input._data
    xp = _xp(input)
    dims = dim_list(dim, a.ndim) if a.ndim else ()
    with np.errstate(all="ignore"):
        if a.ndim == 0:
            arr = a.copy()
        elif a.size == 0:
            arr = xp.log(xp.sum(xp.exp(a), axis=dims, keepdims=keepdim))
        else:
            m = xp.max(a, axis=dims, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)
            arr = xp.log(xp.sum(xp.exp(a - m), axis=dims, keepdims=True)) + m
            if not keepdim:
                arr = arr.reshape([s for i, s in enumerate(a.shape) if i not in dims])
    res = new_tensor(arr.astype(input._dtype.np), input._dtype, input._device)
    if input._rg and STATE.enabled:
        node = _node(LogsumexpBackward0, dims=dims, keepdim=keepdim)
        record(res, node, (input,))
        node.save(input, SavedOutput(res))
    return res


bind({
    "sum": sum, "nansum": nansum, "sum_to_size": sum_to_size, "mean": mean, "nanmean": nanmean, "prod": prod,
    "max": max, "min": min, "amax": amax, "amin": amin, "aminmax": aminmax, "argmax": argmax, "argmin": argmin,
    "var": var, "std": std, "all": all, "any": any, "count_nonzero": count_nonzero, "logsumexp": logsumexp,
})

__all__ = ["sum", "nansum", "sum_to_size", "mean", "nanmean", "prod", "max", "min", "amax", "amin", "aminmax", "argmax", "argmin", "var", "std", "var_mean", "std_mean", "all", "any", "count_nonzero", "logsumexp"]
