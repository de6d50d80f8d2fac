"""Reductions and scans: sum/mean/prod, max/min and friends, var/std, all/any, logsumexp, norm, cumulative ops
and diff.

``dim`` may be an int, a tuple/list, or None (all dims); ``keepdim`` and ``dtype=`` follow torch. Each op
computes its forward on the backend array (``xp``) and attaches a node named like torch's grad_fn whose
backward is written with ember ops (so double backward works); gradients of reductions are broadcast back
over the reduced dims (:func:`unreduce`).
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU
from .._core.warn import warn
from ..autograd.grad_mode import STATE
from ..autograd.graph import SavedOutput
from ._cascade import GRAIN, cascade_sum, norm2_squares
from ._dispatch import (
    NO_DIM,
    Node,
    Tensor,
    bind,
    dim_list,
    from_array,
    given_dim,
    new_tensor,
    out_dtype_error,
    record,
    sized,
    wrap_dim,
    write_out,
    xp_of,
)
from ._parallel import split_rows
from .creation import _elem_strides, _iteration_strides, _strided_copy
from .info import get_num_threads

_isinstance = isinstance
_inf = math.inf


# ---- shared helpers (also used by ``sorting``) ------------------------------------------------------
def xp_for(t: Tensor) -> Any:
    """The array namespace of ``t``'s device."""
    return np if t._device is CPU else xp_of(t._device)


def reduce_dims(dim: Any, ndim: int) -> tuple[int, ...]:
    """Dims to reduce: None or an empty tuple/list mean all; a 0-d input reduces nothing (dim 0/-1 ok)."""
    if dim is None or _isinstance(dim, (tuple, list)) and not dim:
        return tuple(range(ndim))
    dims = dim_list(dim, ndim)
    return dims if ndim else ()


def unreduce(g: Tensor, shape: tuple[int, ...], dims: tuple[int, ...], keepdim: bool,
             expand: bool = True) -> Tensor:
    """``g`` (a reduction's result or gradient) with the reduced ``dims`` restored as size 1, expanded
    back to ``shape`` unless ``expand`` is False."""
    if not keepdim and dims and len(shape):
        kept = list(g.shape)
        for d in sorted(dims):
            kept.insert(d, 1)
        g = g.reshape(kept)
    return g.expand(shape) if expand else g


_FAST_MIN = 1 << 15      # elements from which a sum takes the fast path (below it NumPy is as fast)
_FAST_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_EXACT_MAX = 1 << 20     # elements up to which a sum to one value follows torch's order (~0.5 ns per element)


def sum_array(xp: Any, a: Any, dims: tuple[int, ...], keepdim: bool = False) -> Any:
    """``xp.sum(a, axis=dims, keepdims=keepdim)``. On the CPU, float32/float64/complex sums that torch computes
    one way on any machine (under 32768 elements, one thread) and sums to one value (whose order follows the
    thread count, as torch's, up to ``_EXACT_MAX`` elements) add in torch's order (:mod:`._cascade`), so sums,
    means and the losses made of them equal torch's bit for bit; larger sums over some dims take the fast path:

    NumPy's reductions add one element at a time; BLAS's matrix-vector product (row sums) and ``einsum``
    (column sums) use vector accumulators. A sum over the leading or trailing dims of a C-contiguous
    float32/float64 array runs as row or column sums of a 2-d view; accuracy is kept by short runs of
    sequential terms: long rows are cut into 1024-element pieces whose sums are added pairwise, leading dims
    are summed as a cascade of 128-row column sums.
    """
    if xp is np and a.dtype.kind in "fc" and a.dtype.itemsize >= 4 and (dims or not a.ndim) and (
            a.size < GRAIN or a.size <= _EXACT_MAX and a.size == math.prod(a.shape[d] for d in dims)):
        res = cascade_sum(a, dims, get_num_threads())
        return res.reshape([1 if i in dims else s for i, s in enumerate(a.shape)]) if keepdim else res
    if xp is not np or a.size < _FAST_MIN or a.dtype not in _FAST_FLOATS or not a.flags.c_contiguous or not dims:
        if xp is np and dims:   # the ufunc's own reduce: np.sum's Python wrapper costs more than a small sum
            return np.add.reduce(a, axis=dims, keepdims=keepdim)
        return xp.sum(a, axis=dims, keepdims=keepdim)
    nd, k = a.ndim, len(dims)
    ds = sorted(dims)
    n = math.prod(a.shape[d] for d in ds)
    m = a.size // n
    if m == 1:
        flat = a.reshape(-1)
        q = flat.size // 1024
        res = xp.asarray(_row_sums(xp, flat[: q * 1024].reshape(q, 1024)).sum() + flat[q * 1024 :].sum())
    elif ds == list(range(k)):
        res = _sum_rows(xp, a.reshape(n, m))
    elif ds != list(range(nd - k, nd)):
        return xp.sum(a, axis=dims, keepdims=keepdim)
    elif n <= 4096:
        res = _row_sums(xp, a.reshape(m, n))
    elif n % 1024 == 0:
        res = _row_sums(xp, a.reshape(-1, 1024)).reshape(m, n // 1024).sum(1)
    else:
        return xp.sum(a, axis=dims, keepdims=keepdim)
    kept = [1 if i in dims else s for i, s in enumerate(a.shape)] if keepdim else \
        [s for i, s in enumerate(a.shape) if i not in dims]
    return res.reshape(kept)


_ONES: dict[tuple[int, Any], Any] = {}


def _ones(n: int, dtype: Any) -> Any:
    """A read-only NumPy vector of ``n`` ones (cached: row sums take one per row length)."""
    v = _ONES.get((n, dtype))
    if v is None:
        v = _ONES[(n, dtype)] = np.ones(n, dtype)
        v.flags.writeable = False
    return v


def _row_sums(xp: Any, a: Any) -> Any:
    """The row sums of a C-contiguous 2-d NumPy array: a BLAS matrix-vector product with ones, rows split
    over BLAS's threads (on 8 MB of float32 rows ~2x faster than ``einsum`` on ember's threads, also with
    another process busy on a core). Rows of one element are copied."""
    if a.shape[1] < 2:
        return xp.einsum("ij->i", a)
    return xp.matmul(a, _ones(a.shape[1], a.dtype))


def _sum_rows(xp: Any, a: Any) -> Any:
    """The column sums of a C-contiguous ``(n, m)`` array: rows summed 128 at a time (row ``i`` with rows
    ``i + q``, ``i + 2q``...: one contiguous ``(128, q·m)`` view), then those partial sums the same way."""
    n, m = a.shape
    if n <= 128:
        return xp.einsum("ij->j", a)
    q = n // 128
    res = _sum_rows(xp, xp.einsum("ij->j", a[: q * 128].reshape(128, q * m)).reshape(q, m))
    if n > q * 128:
        res = res + _sum_rows(xp, a[q * 128 :])
    return res


def not_implemented(kernel: str, dt: D.dtype) -> NotImplementedError:
    """torch's error for a dtype a kernel does not handle."""
    return NotImplementedError(f"\"{kernel}\" not implemented for '{dt._short}'")


def attach(res: Tensor, input: Tensor, cls: type[Node], save_input: bool = False, save_output: bool = False,
           **attrs: Any) -> Tensor:
    """Record ``cls`` (with ``attrs``) as ``res``'s grad_fn when ``input`` requires grad; it saves
    ``(input or None, result or None)``."""
    if input._rg and STATE.enabled:
        node = cls()
        if attrs:
            node.__dict__.update(attrs)
        record(res, node, (input,))
        node.save(input if save_input else None, SavedOutput(res) if save_output else None)
    return res


def finish(res: Any, out: Any, dtype_error: Callable[[D.dtype, D.dtype], Exception] | None = None) -> Any:
    """Copy ``res`` (a tensor or a tuple of tensors) into the user's ``out=`` when given; a named result comes
    back as torch's ``<name>_out`` type. ``dtype_error`` makes each ``out`` need its result's dtype exactly."""
    if out is None:
        return res
    if _isinstance(res, Tensor):
        return write_out(out, res, None, dtype_error)
    if len(out) != len(res):
        raise TypeError(f"expected tuple of {len(res)} elements but got {len(out)}")
    for o, r in zip(out, res, strict=True):
        write_out(o, r, None, dtype_error)
    return return_type(f"{type(res).__name__}_out", res._fields)(*out) if hasattr(res, "_fields") else tuple(out)


_return_types: dict[str, type] = {}


def return_type(name: str, fields: Sequence[str] = ("values", "indices")) -> type:
    """``torch.return_types.<name>``: a named tuple printing like torch's structseq."""
    cls = _return_types.get(name)
    if cls is None:
        base = namedtuple(name, fields)  # type: ignore[misc]

        def __repr__(self: Any) -> str:
            body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self, strict=True))
            return f"torch.return_types.{name}(\n{body})"

        def __new__(cls: type, *args: Any) -> Any:
            """torch's structseq takes one sequence of all fields (ember's ops also pass the fields)."""
            if len(args) == 1 and len(fields) > 1:
                seq = args[0]
                if not isinstance(seq, Sequence):
                    raise TypeError("constructor requires a sequence")
                if len(seq) != len(fields):
                    raise TypeError(f"torch.return_types.{name}() takes a {len(fields)}-sequence ({len(seq)}-sequence "
                                    "given)")
                args = tuple(seq)
            return base.__new__(cls, *args)

        cls = type(name, (base,), {"__repr__": __repr__, "__new__": __new__, "__slots__": (),
                                   "__module__": "torch.return_types"})
        _return_types[name] = cls
    return cls


def value_selecting_backward(g: Tensor, dim: int, indices: Tensor, shape: tuple[int, ...],
                             keepdim: bool) -> Tensor:
    """Gradient of an op that picked ``input`` elements at ``indices`` along ``dim``: scattered back."""
    if not len(shape):
        return g.reshape(())
    if not keepdim:
        g, indices = g.unsqueeze(dim), indices.unsqueeze(dim)
    from .creation import zeros
    return zeros(shape, dtype=g.dtype, device=g.device).scatter(dim, indices, g)


class ValueSelectingBackward(Node):
    """Backward of max/min/median/mode/kthvalue with ``dim``, sort and topk: saves the indices."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (indices,) = self.saved
        return (value_selecting_backward(g, self.dim, indices, self._meta[0][0], self.keepdim),)


_CLASSIC = ("Byte", "Char", "Short", "Int", "Long", "Half", "Float", "Double")


def _type_name(dt: D.dtype) -> str:
    """A dtype as torch's deprecated type properties print it: ``torch.FloatTensor``, ``CPUBoolType``."""
    return f"torch.{dt._legacy}" if dt._short in _CLASSIC else f"CPU{dt._short}Type"


def _named_out_error(name: str, i: int, want: D.dtype, got: D.dtype) -> Exception:
    """torch's error, for op ``name``, when its ``i``-th out= tensor (0: values, 1: indices) is not ``want``."""
    if name in ("median", "nanmedian"):
        if i:
            return RuntimeError("Expected tensor for argument #1 'indices' to have scalar type Long; but got "
                                f"{_type_name(got)} instead (while checking arguments for median)")
        return RuntimeError("Expected tensor for 'values' to have the same type as tensor for argument #2 'self'; "
                            f"but type {_type_name(got)} does not equal {_type_name(want)} (while checking arguments "
                            "for median)")
    if name == "mode":
        return RuntimeError(f"expected scalar type '{want._short}' but got '{got._short}' for "
                            f"{'indices' if i else 'values'} output")
    if name == "kthvalue":
        return RuntimeError("output indices must be of scalar type Long" if i else
                            "output values must be of same type as input")
    if name in ("cummax", "cummin"):
        return RuntimeError(f"expected scalar_type {want._short} but found {got._short}")
    return out_dtype_error(want, got)


def check_named_out(name: str, want: Sequence[D.dtype], out: Any) -> None:
    """torch's per-op checks that each tensor of a ``(values, indices)``-like out= has exactly the dtype in ``want``
    (median's checks the indices first). mode, kthvalue, median and the cumulative ones check before anything else
    (their callers call this first), the structured kernels (max, sort, topk...) once the result is known."""
    if _isinstance(out, (tuple, list)) and len(out) == len(want):
        order = (1, 0) if name in ("median", "nanmedian") else range(len(want))
        for i in order:
            if _isinstance(out[i], Tensor) and out[i]._dtype is not want[i]:
                raise _named_out_error(name, i, want[i], out[i]._dtype)


def select_with_indices(name: str, input: Tensor, values: Any, indices: Any, dim: int, keepdim: bool,
                        cls: type[Node], out: Any = None, keep_layout: bool = False) -> Any:
    """Wrap ``(values, indices)`` arrays as ``torch.return_types.<name>`` with a value-selecting grad_fn, laid
    out as torch's (``keep_layout``: in ``input``'s dim order, else C-contiguous)."""
    v = new_tensor(laid_out(values, input, keep_layout), input._dtype, input._device)
    i = new_tensor(laid_out(indices.astype(np.int64, copy=False), input, keep_layout), D.int64, input._device)
    if input._rg and STATE.enabled:
        node = cls()
        node.__dict__.update(dim=dim, keepdim=keepdim)
        record(v, node, (input,))
        node.save(i)
    check_named_out(name, (v._dtype, D.int64), out)
    return finish(return_type(name)(v, i), out)


def select_scalar(name: str, input: Tensor, cls: type[Node], out: Any = None) -> Any:
    """The ``(values, indices)`` result of a 0-d input: the input itself, at index 0."""
    return select_with_indices(name, input, input._data.copy(), xp_for(input).zeros((), np.int64), 0, False,
                               cls, out)


def evenly_distribute(g: Tensor, x: Tensor, r: Tensor) -> Tensor:
    """Gradient of a full max/min/median: split evenly among the elements equal to the result (NaN
    results: among the NaNs)."""
    mask = (x == r) | (x.isnan() & r.isnan())
    return mask * (g / mask.sum())


class EvenlyDistributeBackward(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, r = self.saved
        return (evenly_distribute(g, x, r),)


def node_class(name: str, base: type[Node]) -> type[Node]:
    """A subclass of ``base`` named like torch's grad_fn (several ops share one backward formula)."""
    return type(name, (base,), {"__slots__": (), "__module__": "torch.autograd.graph"})


def unsupported_dtype(kernel: str, input: Tensor, dtype: Any = None, var_all: bool = False) -> None:
    """torch's error for a reduction over a float8, complex32, sub-byte or quantized tensor, which it has no CPU
    kernel for (unless ``dtype=`` asks for an ordinary dtype to reduce in)."""
    dt = input._dtype
    if dtype is not None and not _dtype_arg(dtype).kind:
        return
    if var_all:
        raise RuntimeError(f"std_var_all: Unsupported dtype {dt._short}")
    raise NotImplementedError(f"\"{kernel}\" not implemented for '{dt._short}'")


def empty_check(name: str, a: Any, dims: tuple[int, ...] | None, error: type = RuntimeError,
                hint: bool = True, shown: Any = None) -> None:
    """torch's errors (prefixed ``name``) for reducing an empty tensor without an identity (``dims`` None:
    all dims; ``shown``: the dims as written by the user, which some ops print instead of wrapped ones)."""
    if a.size:
        return
    if dims is None:
        msg = f"{name}: Expected reduction dim to be specified for input.numel() == 0."
        raise error(msg + " Specify the reduction dim with the 'dim' argument." if hint else msg)
    for d, label in zip(dims, dims if shown is None else shown, strict=True):
        if a.shape[d] == 0:
            raise IndexError(f"{name}: Expected reduction dim {label} to have non-zero size.")


def as_list(dim: Any) -> list:
    """``dim`` as written by the user, as a list (an int becomes a one-element list)."""
    return list(dim) if _isinstance(dim, (tuple, list)) else [dim]


_WIDER = {D.float16: np.dtype(np.float32), D.bfloat16: np.dtype(np.float32), D.float32: np.dtype(np.float64),
          D.complex32: np.dtype(np.complex64), D.complex64: np.dtype(np.complex128)}


def _acc(dt: D.dtype) -> Any:
    """The NumPy dtype to accumulate ``dt`` in (half types accumulate in float32, as torch on CPU)."""
    return np.float32 if dt in (D.float16, D.bfloat16) else dt.np


def acc_type(dt: D.dtype) -> Any:
    """The NumPy dtype torch's simple CPU loops (trace, cumsum) accumulate ``dt`` in: a wider float for floats
    (16-bit in float32, float32 in float64), complex likewise, others as they are."""
    return _WIDER.get(dt, dt.np)


def _sum_dtype(dt: D.dtype) -> D.dtype:
    return D.int64 if dt.category < 2 else dt


def _out_dtype(dtype: Any, out: Any) -> Any:
    """The dtype sum/prod/cumsum/cumprod compute in: without ``dtype=``, an ``out=``'s (torch casts the input to
    it), so their ``out`` always needs the result's dtype exactly."""
    return out._dtype if dtype is None and _isinstance(out, Tensor) else dtype


def _dtype_arg(dtype: Any) -> D.dtype | None:
    if dtype is None or _isinstance(dtype, D.dtype):   # the common case skips the late import
        return dtype
    from .creation import _resolve_dtype
    return _resolve_dtype(dtype)


def _cast(input: Tensor | Any, dt: D.dtype, stacklevel: int = 3) -> Any:
    """``input``'s array (or an array) converted to ``dt``'s accumulation type (complex to real: torch's warning,
    once, attributed ``stacklevel`` frames up)."""
    a = input._data if _isinstance(input, Tensor) else input
    acc = _acc(dt)
    if a.dtype.kind == "c" and dt.category in (1, 2):
        from .elementwise import _COMPLEX_CAST_WARNING as once
        if once:
            warn(once.pop(), UserWarning, stacklevel=stacklevel)
        a = a.real   # the imaginary part dropped, as tensor.to() does (without NumPy's ComplexWarning)
    return a if a.dtype == acc else a.astype(acc)


def laid_out(arr: Any, input: Tensor, keep: bool = False) -> Any:
    """``arr``, computed from ``input``'s array ``a``, laid out as torch's result: C-contiguous, with the strides of a
    C-contiguous tensor even on size-1 dims (reductions, topk), or with ``keep`` in ``a``'s dim order (sort,
    which allocates as empty_like). NumPy lays a reduction out in its input's order and an indexing result in
    C order, so only a non-C-contiguous ``a`` (channels-last, transposed) needs the copy or restride."""
    a = input._data
    if a.flags.c_contiguous or not getattr(arr, "ndim", 0):
        return arr
    xp = xp_for(input)
    if keep:
        return _strided_copy(arr, _iteration_strides(a.shape, _elem_strides(a)), xp)
    arr = xp.ascontiguousarray(arr)
    return arr.reshape(-1).reshape(arr.shape)


def _wrap(arr: Any, dt: D.dtype, input: Tensor) -> Tensor:
    """A result array (maybe a NumPy scalar, maybe in an accumulation type) as a tensor of ``dt``, in torch's
    reduction layout."""
    res = new_tensor(laid_out(arr, input), dt, input._device)
    if res._data.dtype != dt.np:
        res._data = res._data.astype(dt.np)
    return res


# ---- sum / nansum / mean / nanmean ----------------------------------------------------------------------
class SumBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (g.expand(self._meta[0][0]),)


class SumBackward1(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (unreduce(g, self._meta[0][0], self.dims, self.keepdim),)


class NansumBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, _ = self.saved
        return (unreduce(g, x.shape, self.dims, self.keepdim) * ~x.isnan(),)


def _summed(input: Tensor, dim: Any, keepdim: bool, dtype: Any, nan: bool) -> tuple[Tensor, tuple]:
    dt = _dtype_arg(dtype) or _sum_dtype(input._dtype)
    xp = xp_for(input)
    a = input._data
    if nan and D.holds_nan(a.dtype):   # before any cast (NaN as an integer would be garbage)
        a = xp.where(xp.isnan(a), 0, a)
    a = _cast(a, dt, 4)
    dims = reduce_dims(dim, a.ndim)
    return _wrap(sum_array(xp, a, dims, keepdim), dt, input), dims


def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
        out: Tensor | None = None) -> Tensor:
    """Sum over ``dim`` (all when None); bool/integer inputs accumulate in int64, half types in float32."""
    if input._dtype.kind:
        unsupported_dtype("sum_cpu", input, dtype)
    dt = input._dtype
    a = input._data
    if (dtype is None and out is None and (dt is D.float32 or dt is D.float64) and input._device is CPU
            and a.size < _FAST_MIN):   # the common small float sum: no cast, no out=
        if dim is None and not keepdim:
            return attach(from_array(sum_array(np, a, tuple(range(a.ndim))), dt, CPU), input, SumBackward0)
        dims = reduce_dims(dim, a.ndim)
        if dims:
            res = new_tensor(laid_out(sum_array(np, a, dims, keepdim), input), dt, CPU)
            return attach(res, input, SumBackward1, dims=dims, keepdim=keepdim)
    res, dims = _summed(input, dim, keepdim, _out_dtype(dtype, out), False)
    if dim is None and not keepdim:
        return finish(attach(res, input, SumBackward0), out, out_dtype_error)
    return finish(attach(res, input, SumBackward1, dims=dims, keepdim=keepdim), out, out_dtype_error)


def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
           out: Tensor | None = None) -> Tensor:
    """Sum treating NaN as zero. Bool/integer inputs take torch's sum path, floats its nansum kernel, which runs
    in ``out``'s dtype and has no complex variant."""
    if input._dtype.kind:
        unsupported_dtype("nansum_cpu", input, dtype)
    if input._dtype.is_complex:
        if out is None:
            reduce_dims(dim, input.ndim)   # torch checks dim first, but after this with out=
        raise RuntimeError("nansum on CPU does not support complex inputs")
    dt = _dtype_arg(dtype)
    if input._dtype.category == 2:
        if _isinstance(out, Tensor):
            if dt is not None and dt.category >= 2 and dt is not out._dtype:
                raise RuntimeError(f"nansum: provided dtype must match dtype of result. Got {out._dtype._short} "
                                   f"and {dt._short}.")
        reduce_dims(dim, input.ndim)   # (then dim, then the kernel's dtype)
        if _isinstance(out, Tensor):
            if dt is None and out._dtype.category != 2 and input.numel():
                raise not_implemented("nansum_cpu", out._dtype)
        if dt is not None and dt.is_complex and input.numel():   # (no kernel runs on an empty input)
            raise not_implemented("nansum_cpu", dt)
    res, dims = _summed(input, dim, keepdim, _out_dtype(dtype, out), True)
    return finish(attach(res, input, NansumBackward0, save_input=True, dims=dims, keepdim=keepdim), out,
                  out_dtype_error)


def sum_to_size(self: Tensor, *sizes: Any, size: Any = None) -> Tensor:
    """Sum broadcast dims away so the result has ``size`` (the gradient of broadcasting)."""
    sizes = sized(sizes, size, "sum_to_size", "size")
    shape = tuple(sizes[0]) if len(sizes) == 1 and not _isinstance(sizes[0], int) else tuple(sizes)
    cur = self._data.shape
    if not shape:   # everything summed, even a 0-d tensor's (a new tensor; integers in int64), as torch
        return sum(self)
    if cur == shape:
        return self
    lead = len(cur) - len(shape)
    if lead < 0 or builtins.any(s != 1 and s != c for s, c in zip(shape, cur[lead:], strict=True)):
        raise RuntimeError(f"size {{{list(shape)}}} is not expandable to size {{{list(cur)}}}.")
    dims = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and cur[i + lead] != 1)
    r = sum(self, dims, keepdim=True) if dims else self
    return r.reshape(shape) if r._data.shape != shape else r


def _float_check(name: str, dt: D.dtype, requested: bool) -> None:
    if dt.category < 2:
        which = "Optional" if requested else "Input"
        raise RuntimeError(f"{name}(): could not infer output dtype. {which} dtype must be either a floating "
                           f"point or complex dtype. Got: {dt._short}")


class MeanBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        shape = self._meta[0][0]
        return ((g / builtins.max(math.prod(shape), 1)).expand(shape),)


class MeanBackward1(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        shape = self._meta[0][0]
        n = math.prod(shape[d] for d in self.dims)
        return (unreduce(g / builtins.max(n, 1), shape, self.dims, self.keepdim),)


def mean_array(xp: Any, a: Any, dims: tuple[int, ...], keepdim: bool) -> Any:
    """Mean as sum / count (an empty reduction gives NaN, without NumPy's warning)."""
    n = math.prod(a.shape[d] for d in dims)
    total = sum_array(xp, a, dims, keepdim)
    return total / n if n else total * np.nan


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
         out: Tensor | None = None) -> Tensor:
    """Arithmetic mean over ``dim``; integer inputs need ``dtype=`` (torch's error otherwise)."""
    if input._dtype.kind:
        unsupported_dtype("sum_cpu", input, dtype)
    dt = _dtype_arg(dtype) or input._dtype
    _float_check("mean", dt, dtype is not None)
    if dtype is None and _isinstance(out, Tensor) and out._dtype.category < 2:   # torch's sum into out=, then div_
        reduce_dims(dim, input.ndim)
        raise RuntimeError(f"result type Float can't be cast to the desired output type {out._dtype._short}")
    if dtype is None and _isinstance(out, Tensor) and out._dtype.category >= 2:
        dt = out._dtype   # torch sums into out= (in its dtype: a complex input's real parts), then divides
    a = _cast(input, dt)
    dims = reduce_dims(dim, a.ndim)
    res = _wrap(mean_array(xp_for(input), a, dims, keepdim), dt, input)
    error = None if dtype is None else out_dtype_error
    if dim is None and not keepdim:
        return finish(attach(res, input, MeanBackward0), out, error)
    return finish(attach(res, input, MeanBackward1, dims=dims, keepdim=keepdim), out, error)


def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
            out: Tensor | None = None) -> Tensor:
    """Mean of the non-NaN elements (a composite: nansum / count, as torch)."""
    if input._dtype.kind:
        unsupported_dtype("nansum_cpu", input, dtype)
    if input._dtype.category < 2:
        if out is not None:   # torch's out= overload words it otherwise
            raise RuntimeError("nanmean(): integral types and 'Bool' are not supported for nanmean, even for "
                               "empty tensors.")
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype but got "
                           f"{input._dtype._short}")
    if dtype is not None:
        _float_check("nanmean", _dtype_arg(dtype), True)
    count = (~input.isnan()).sum(dim, keepdim)
    if out is None:
        return nansum(input, dim, keepdim, dtype=dtype) / count
    return nansum(input, dim, keepdim, dtype=dtype, out=out).div_(count)   # the sum in out's dtype, as torch


# ---- prod ---------------------------------------------------------------------------------------------
class _ProdBackward(Node):
    """Gradient of a product: ``g * prod / x`` without zeros; with zeros, the product of the others
    (exclusive cumulative products from both ends)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, r = self.saved
        shape = x.shape
        if self.dim is None:
            g, r, d = g.expand(shape), r.expand(shape), None
        else:
            d = self.dim
            g = unreduce(g, shape, (d,), self.keepdim)
            r = unreduce(r, shape, (d,), self.keepdim)
        if not bool((x == 0).any()):   # torch's grad·conj(result/input), in that order
            return (g * (r / x).conj(),)
        xs = x.reshape(-1) if d is None else x
        dd = 0 if d is None else d
        before = _exclusive_cumprod(xs, dd)
        after = _flip(_exclusive_cumprod(_flip(xs, dd), dd), dd)
        return (g * (before * after).reshape(shape),)


ProdBackward0 = node_class("ProdBackward0", _ProdBackward)
ProdBackward1 = node_class("ProdBackward1", _ProdBackward)


def _exclusive_cumprod(x: Tensor, d: int) -> Tensor:
    """``[1, x0, x0*x1, ...]`` along ``d``."""
    from .creation import ones_like
    from .shape import cat
    return cat([ones_like(x.narrow(d, 0, 1)), cumprod(x.narrow(d, 0, x.shape[d] - 1), d)], d)


def prod(input: Tensor, dim: Any = NO_DIM, keepdim: bool = False, *, dtype: Any = None,
         out: Tensor | None = None) -> Tensor:
    """Product of all elements, or along one ``dim``; bool/integer inputs accumulate in int64."""
    dim = given_dim("prod", dim)
    if input._dtype.kind:
        unsupported_dtype("prod_out_cpu", input, dtype)
    dt = _dtype_arg(_out_dtype(dtype, out)) or _sum_dtype(input._dtype)
    a = _cast(input, dt)
    xp = xp_for(input)
    if dim is None:
        res = _wrap(xp.prod(a), dt, input)
        return finish(attach(res, input, ProdBackward0, True, True, dim=None, keepdim=False), out, out_dtype_error)
    d = wrap_dim(dim, a.ndim)
    res = _wrap(xp.prod(a, axis=d, keepdims=keepdim) if a.ndim else xp.prod(a.reshape(1), axis=0), dt, input)
    node_dim = d if a.ndim else None
    return finish(attach(res, input, ProdBackward1, True, True, dim=node_dim, keepdim=keepdim), out,
                  out_dtype_error)


# ---- max / min / amax / amin / aminmax / argmax / argmin ----------------------------------------------
MaxBackward0 = node_class("MaxBackward0", ValueSelectingBackward)
MinBackward0 = node_class("MinBackward0", ValueSelectingBackward)
MaxBackward1 = node_class("MaxBackward1", EvenlyDistributeBackward)
MinBackward1 = node_class("MinBackward1", EvenlyDistributeBackward)


def arg_extreme(xp: Any, a: Any, axis: int | None, largest: bool, keepdims: bool = False) -> Any:
    """First index of the max (min) along ``axis``; NaN counts as the extreme, as in torch.

    NumPy's own argmax/argmin already return the first NaN for its float types; complex and bfloat16
    (ml_dtypes) need the explicit NaN pass.
    """
    if a.dtype.kind == "c" or a.dtype == D.bfloat16.np:
        nan = xp.isnan(a)
        fn = xp.argmax if largest else xp.argmin
        return xp.where(nan.any(axis=axis, keepdims=keepdims), xp.argmax(nan, axis=axis, keepdims=keepdims),
                        fn(xp.where(nan, 0, a), axis=axis, keepdims=keepdims))
    if (xp is np and axis is not None and axis != a.ndim - 1 and a.size >= _FAST_MIN and a.flags.c_contiguous
            and a.dtype.kind in "fiu"):
        idx = _arg_extreme_outer(xp, a, axis, largest)
        if idx is not None:
            return idx if keepdims else idx.squeeze(axis)
    return (a.argmax if largest else a.argmin)(axis=axis, keepdims=keepdims)   # (the method: no NumPy wrapper)


def _arg_extreme_outer(xp: Any, a: Any, axis: int, largest: bool) -> Any:
    """``arg_extreme`` along a dim other than the last (kept as size 1), or None when a slice holds NaN.

    NumPy's argmax along such a dim first copies the array transposed (slow); instead the extremes are
    reduced in place and the first position equal to its slice's extreme is found among the few hits.
    """
    m = extreme(xp, a, axis, largest, True)
    if D.holds_nan(m.dtype) and bool(xp.isnan(m).any()):
        return None
    eq = a == m
    hits = xp.flatnonzero(eq)
    if hits.size > 2 * m.size:                  # many ties: the first True of each slice
        return xp.argmax(eq, axis=axis, keepdims=True)
    n, inner = a.shape[axis], math.prod(a.shape[axis + 1 :])
    idx = xp.full(m.size, n, np.int64)
    xp.minimum.at(idx, hits // (inner * n) * inner + hits % inner, hits // inner % n)
    return idx.reshape(m.shape)


def extreme(xp: Any, a: Any, axis: Any, largest: bool, keepdims: bool = False) -> Any:
    """max (min) along ``axis`` propagating NaN (``xp.max`` does; on the CPU its ufunc's reduce, which it calls, without
    NumPy's Python wrapper)."""
    if xp is np:
        return (np.maximum if largest else np.minimum).reduce(a, axis=axis, keepdims=keepdims)
    return (xp.max if largest else xp.min)(a, axis=axis, keepdims=keepdims)


_GRIDS: dict[tuple[tuple[int, ...], int], tuple[Any, ...]] = {}


def gather_along(xp: Any, a: Any, idx: Any, d: int) -> Any:
    """``xp.take_along_axis(a, idx, d)`` for ``idx`` of ``a``'s shape with dim ``d`` of size 1 (an arg-reduction's
    result). On the CPU one fancy index with the other dims' index grids, cached per shape (NumPy's
    ``take_along_axis`` builds them each call, which costs more than a small gather)."""
    if xp is not np:
        return xp.take_along_axis(a, idx, axis=d)
    key = (a.shape, d)
    grids = _GRIDS.get(key)
    if grids is None:
        if len(_GRIDS) >= 256:
            _GRIDS.clear()
        n = a.ndim
        grids = _GRIDS[key] = tuple(
            None if i == d else np.arange(s).reshape([s if j == i else 1 for j in range(n)])
            for i, s in enumerate(a.shape))
    return a[grids[:d] + (idx,) + grids[d + 1:]]


def _max_min(name: str, input: Tensor, dim: Any, keepdim: bool, out: Any) -> Any:
    if input._dtype.few and not _isinstance(dim, Tensor):
        unsupported_dtype(f"{name}_all" if dim is None else f"{name}_cpu", input)
    largest = name == "max"
    if _isinstance(dim, Tensor):
        from .elementwise import maximum, minimum
        return (maximum if largest else minimum)(input, dim, out=out)
    a = input._data
    xp = xp_for(input)
    if dim is None:
        if not a.size:   # (the message only built when needed)
            empty_check(f"{name}()", a, None)
        if input._dtype.is_complex:
            raise not_implemented(f"{name}_all", input._dtype)
        res = new_tensor(extreme(xp, a, None, largest), input._dtype, input._device)
        return finish(attach(res, input, MaxBackward1 if largest else MinBackward1, True, True), out)
    d = wrap_dim(dim, a.ndim)
    if a.ndim and not a.size:
        empty_check(f"{name}()", a, (d,))
    if input._dtype.is_complex:
        raise RuntimeError(f"{name}(): does not support complex input")
    if not a.ndim:
        return select_scalar(name, input, MaxBackward0 if largest else MinBackward0, out)
    idx = arg_extreme(xp, a, d, largest, True)     # one pass: the values are gathered at the indices
    values = gather_along(xp, a, idx, d)
    if not keepdim:
        idx, values = idx.squeeze(d), values.squeeze(d)
    return select_with_indices(name, input, values, idx, d, keepdim, MaxBackward0 if largest else MinBackward0, out)


def max(input: Tensor, dim: Any = NO_DIM, keepdim: bool = False, *, other: Tensor | None = None,
        out: Any = None) -> Any:
    """Full max (0-d; gradient split among ties), ``max(dim)`` → ``(values, indices)``, or
    ``max(other)`` elementwise."""
    return _max_min("max", input, given_dim("max", dim) if other is None else other, keepdim, out)


def min(input: Tensor, dim: Any = NO_DIM, keepdim: bool = False, *, other: Tensor | None = None,
        out: Any = None) -> Any:
    """Full min, ``min(dim)`` → ``(values, indices)``, or ``min(other)`` elementwise."""
    return _max_min("min", input, given_dim("min", dim) if other is None else other, keepdim, out)


class AmaxBackward0(Node):
    """Gradient of amax/amin: split evenly among the elements equal to the result along ``dims``."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, r = self.saved
        mask = x == unreduce(r, x.shape, self.dims, self.keepdim)
        count = mask.sum(self.dims, keepdim=True)
        return (unreduce(g, x.shape, self.dims, self.keepdim) * (mask / count),)


AminBackward0 = node_class("AminBackward0", AmaxBackward0)


def _amax_amin(name: str, input: Tensor, dim: Any, keepdim: bool, out: Tensor | None) -> Tensor:
    if input._dtype.few:
        unsupported_dtype(f"{name[1:]}_values_cpu", input)
    if _isinstance(out, Tensor) and out._dtype is not input._dtype:
        raise RuntimeError(f"Expected the dtype for input and out to match, but got {input._dtype._short} for "
                           f"input's dtype and {out._dtype._short} for out's dtype.")
    a = input._data
    if dim is not None and as_list(dim):   # each dim's size checked in turn, before the repeated-dims check
        for label in as_list(dim):
            empty_check(f"{name}()", a, (wrap_dim(label, a.ndim),), shown=(label,))
    else:
        empty_check(f"{name}()", a, None)
    dims = reduce_dims(dim, a.ndim)
    if input._dtype.is_complex and a.size:   # (no kernel runs for an empty result)
        raise not_implemented(f"{name[1:]}_values_cpu", input._dtype)
    res = _wrap(extreme(xp_for(input), a, dims, name == "amax", keepdim), input._dtype, input)
    cls = AmaxBackward0 if name == "amax" else AminBackward0
    return finish(attach(res, input, cls, True, True, dims=dims, keepdim=keepdim), out)


def amax(input: Tensor, dim: Any = (), keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    """Maximum over ``dim`` (all by default); the gradient is split among ties."""
    return _amax_amin("amax", input, dim, keepdim, out)


def amin(input: Tensor, dim: Any = (), keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    """Minimum over ``dim`` (all by default); the gradient is split among ties."""
    return _amax_amin("amin", input, dim, keepdim, out)


class AminmaxBackward0(Node):
    __slots__ = ()

    def backward(self, g_min: Tensor, g_max: Tensor) -> tuple:
        x, _ = self.saved
        shape, dims, keepdim = x.shape, self.dims, self.keepdim
        total = None
        for g, r in ((g_min, self.mins), (g_max, self.maxs)):
            mask = x == unreduce(r, shape, dims, keepdim)
            part = unreduce(g, shape, dims, keepdim) * (mask / mask.sum(dims, keepdim=True))
            total = part if total is None else total + part
        return (total,)


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False, out: Any = None) -> Any:
    """``(min, max)`` over all elements or one ``dim``, as ``torch.return_types.aminmax``."""
    if input._dtype.few:
        unsupported_dtype("aminmax_cpu", input)
    a = input._data
    dims = reduce_dims(dim, a.ndim)
    if dim is None and a.size == 0:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has "
                           "no identity.")
    empty_check("aminmax", a, dims)
    if input._dtype.is_complex:   # (a 0-d tensor with dim= is refused in other words)
        if dim is not None and not a.ndim:
            raise RuntimeError(f"aminmax not implemented for {input._dtype._short}")
        raise not_implemented("aminmax_cpu", input._dtype)
    xp = xp_for(input)
    lo = _wrap(extreme(xp, a, dims, False, keepdim), input._dtype, input)
    hi = _wrap(extreme(xp, a, dims, True, keepdim), input._dtype, input)
    if input._rg and STATE.enabled:
        node = AminmaxBackward0()
        node.__dict__.update(dims=dims, keepdim=keepdim, mins=lo.detach(), maxs=hi.detach())
        record((lo, hi), node, (input,))
        node.save(input, None)
    check_named_out("aminmax", (lo._dtype, hi._dtype), out)
    return finish(return_type("aminmax", ("min", "max"))(lo, hi), out)


def _argext(name: str, input: Tensor, dim: int | None, keepdim: bool, out: Tensor | None) -> Tensor:
    a = input._data
    xp = xp_for(input)
    if input._dtype.is_complex or input._dtype is D.bool:
        kind = "complex" if input._dtype.is_complex else "bool"
        raise RuntimeError(f"{name}(): does not support {kind} input")
    largest = name == "argmax"
    if dim is None:
        empty_check(f"{name}()", a, None, IndexError, hint=False)
        idx = xp.asarray(arg_extreme(xp, a.reshape(-1), 0, largest))
        if keepdim:
            idx = idx.reshape((1,) * a.ndim)
    else:
        d = wrap_dim(dim, a.ndim)
        if a.ndim:
            empty_check(f"{name}()", a, (d,))
            idx = arg_extreme(xp, a, d, largest, keepdim)
        else:
            idx = xp.zeros((), np.int64)
    return finish(new_tensor(xp.asarray(idx, dtype=np.int64), D.int64, input._device), out)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False, *,
           out: Tensor | None = None) -> Tensor:
    """Index of the first maximum (flattened when ``dim`` is None); NaN is the maximum."""
    if input._dtype.few:
        unsupported_dtype("argmax_cpu", input)
    return _argext("argmax", input, dim, keepdim, out)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False, *,
           out: Tensor | None = None) -> Tensor:
    """Index of the first minimum (flattened when ``dim`` is None); NaN is the minimum."""
    if input._dtype.few:
        unsupported_dtype("argmin_cpu", input)
    return _argext("argmin", input, dim, keepdim, out)


# ---- var / std / var_mean / std_mean --------------------------------------------------------------------
def _var_grad(g: Tensor, x: Tensor, dims: tuple[int, ...], keepdim: bool, correction: float) -> Tensor:
    n = math.prod(x.shape[d] for d in dims)
    scale = 2 / (n - correction) if n > correction else _inf
    return unreduce(g, x.shape, dims, keepdim, expand=False) * (x - x.mean(dims, keepdim=True)) * scale


def _std_grad(g: Tensor, x: Tensor, r: Tensor, dims: tuple[int, ...], keepdim: bool,
              correction: float) -> Tensor:
    zero = r == 0   # 0 there, without dividing by it (the gradient's own derivatives, forward AD's, stay finite)
    return _var_grad((g / (r * 2).masked_fill(zero, 1)).masked_fill(zero, 0), x, dims, keepdim, correction)


class VarBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, _ = self.saved
        return (_var_grad(g, x, self.dims, self.keepdim, self.correction),)


class StdBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, r = self.saved
        return (_std_grad(g, x, r, self.dims, self.keepdim, self.correction),)


class _MomentsBackward(Node):
    """Backward of var_mean/std_mean: one node, two outputs (the spread and the mean)."""

    __slots__ = ()

    def backward(self, g_spread: Tensor, g_mean: Tensor) -> tuple:
        x, r = self.saved
        dims, keepdim, c = self.dims, self.keepdim, self.correction
        n = builtins.max(math.prod(x.shape[d] for d in dims), 1)
        spread = _std_grad(g_spread, x, r, dims, keepdim, c) if self.sqrt else \
            _var_grad(g_spread, x, dims, keepdim, c)
        return (spread + unreduce(g_mean / n, x.shape, dims, keepdim),)


VarMeanBackward0 = node_class("VarMeanBackward0", _MomentsBackward)
StdMeanBackward0 = node_class("StdMeanBackward0", _MomentsBackward)


def _var_args(dim: Any, unbiased: Any, correction: Any) -> tuple[Any, float]:
    """torch's overloads: ``var(unbiased)``, ``var(dim, unbiased)``, ``var(dim, correction=)``."""
    if _isinstance(dim, bool):
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError("var() received an invalid combination of arguments - got both unbiased and "
                        "correction")
    if correction is not None:
        return dim, correction
    return dim, 1 if unbiased is None or unbiased else 0


def _welford_mean(xp: Any, a: Any, dims: tuple[int, ...]) -> Any:
    """The mean (kept dims) as torch's var_mean gets it from Welford's running update, each part of a complex
    number on its own: an infinity survives only when it is the single one and the last element reduced; any
    element after it makes the running mean NaN."""
    if a.dtype.kind == "c":
        mu = xp.empty([1 if i in dims else s for i, s in enumerate(a.shape)], a.dtype)
        mu.real, mu.imag = _welford_mean(xp, a.real, dims), _welford_mean(xp, a.imag, dims)
        return mu
    mu = mean_array(xp, a, dims, True)
    inf = xp.isinf(mu)
    if inf.any():
        last = a[tuple(slice(-1, None) if i in dims else slice(None) for i in range(a.ndim))]
        alone = sum_array(xp, xp.isinf(a), dims, True) == 1
        mu = xp.where(inf & ~(alone & xp.isinf(last)), xp.asarray(np.nan, mu.dtype), mu)
    return mu


def _spread(xp: Any, a: Any, dims: tuple[int, ...], dof: float, all_reduce: bool) -> tuple[Any, Any]:
    """(variance before the square root, mean) of the real array ``a`` over ``dims`` (kept as size 1), as torch
    gets them on the CPU: float32 and 16-bit data accumulate in double (Welford's running moments) and are rounded
    once at the end; a float32/float64 reduction to one value (``all_reduce``) is torch's all-reduce: its mean in
    the data's type, then the squared deviations added in double one after another, a run per thread from 32768
    elements on; torch's running moments of nothing are NaN."""
    wide = xp is np and a.dtype.itemsize <= 4
    if xp is np and all_reduce and a.size:
        mu = mean_array(xp, a, dims, True).astype(np.float64)
        dev = np.ravel(a, order="K").astype(np.float64) - mu.reshape(())
        sq = np.multiply(dev, dev, out=dev)
        runs = builtins.min(get_num_threads(), -(-sq.size // GRAIN)) if sq.size >= GRAIN else 1
        step = -(-sq.size // runs)
        total = np.float64(0)
        for r in range(runs):   # (each thread's run from 0, the runs' sums added in thread order)
            total = total + np.add.accumulate(sq[r * step: (r + 1) * step])[-1]
        return np.asarray(total / dof).reshape(mu.shape), mu.astype(a.dtype)
    mu = _welford_mean(xp, a.astype(np.float64) if wide else a, dims)
    dev = (a.astype(np.float64) if wide else a) - mu
    sq = xp.multiply(dev, dev, out=dev) if dev.ndim else dev * dev   # in place: one temporary
    spread = sum_array(xp, sq, dims, True) / dof
    if not math.prod(a.shape[d] for d in dims):
        spread = spread + xp.asarray(np.nan, spread.dtype)
    if wide:   # (the square root, taken by the caller, then rounds a second time: torch takes it in double)
        return spread, mu.astype(a.dtype)
    return spread, mu


def _moments(name: str, input: Tensor, dim: Any, unbiased: Any, keepdim: bool, correction: Any,
             sqrt: bool) -> tuple[Tensor, Tensor, tuple[int, ...], float]:
    """(spread, mean) tensors, the reduced dims and the correction; warns as torch when dof <= 0."""
    if input._dtype.category < 2:
        what = name if name.endswith("_mean") else "std and var"
        raise RuntimeError(f"{what} only support floating point and complex dtypes")
    dim, c = _var_args(dim, unbiased, correction)
    xp = xp_for(input)
    a = _cast(input, input._dtype)
    dims = reduce_dims(dim, a.ndim)
    n = math.prod(a.shape[d] for d in dims)
    if (n if a.size else 0) - c <= 0:   # torch's reduction factor, input numel / output numel, is 0 when empty
        for _ in range(2 if a.dtype.kind == "c" else 1):   # (torch: once per part of a complex input)
            warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the reduction "
                 "factor (input numel divided by output numel).", UserWarning, stacklevel=4 if "_" in name else 3)
    dof = builtins.max(n - c, 0)
    # torch's own all-reduce: a float32/float64 reduction to one value (complex: of each part)
    one_value = a.size == n and not name.endswith("_mean") and \
        input._dtype in (D.float32, D.float64, D.complex64, D.complex128)
    if a.dtype.kind == "c":   # torch: the variances of the real and imaginary parts, added in their type
        var_re, mu_re = _spread(xp, a.real, dims, dof, one_value)
        var_im, mu_im = _spread(xp, a.imag, dims, dof, one_value)
        part = a.real.dtype   # (each part's variance rounded to it, then added and rooted in it)
        spread, mu = var_re.astype(part, copy=False) + var_im.astype(part, copy=False), mu_re + 1j * mu_im
    else:
        spread, mu = _spread(xp, a, dims, dof, one_value)
    if sqrt:
        spread = xp.sqrt(spread)
    if not keepdim:
        kept = [s for i, s in enumerate(a.shape) if i not in dims]
        spread, mu = spread.reshape(kept), mu.reshape(kept)
    return (_wrap(spread, input._dtype.to_real(), input), _wrap(mu, input._dtype, input), dims, c)


def var(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None, out: Tensor | None = None) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``); complex input gives a real result."""
    if input._dtype.kind:
        unsupported_dtype("std_cpu", input, var_all=dim is None)
    res, _, dims, c = _moments("var", input, dim, unbiased, keepdim, correction, False)
    res = attach(res, input, VarBackward0, True, False, dims=dims, keepdim=keepdim, correction=c)
    return finish(res, out)


def std(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None, out: Tensor | None = None) -> Tensor:
    """Standard deviation (``sqrt(var)``); the gradient is zero where the result is zero."""
    if input._dtype.kind:
        unsupported_dtype("std_cpu", input, var_all=dim is None)
    res, _, dims, c = _moments("std", input, dim, unbiased, keepdim, correction, True)
    return finish(attach(res, input, StdBackward0, True, True, dims=dims, keepdim=keepdim, correction=c), out)


def _with_mean(name: str, input: Tensor, dim: Any, unbiased: Any, keepdim: bool, correction: Any,
               sqrt: bool) -> tuple[Tensor, Tensor]:
    spread, mu, dims, c = _moments(name, input, dim, unbiased, keepdim, correction, sqrt)
    if input._rg and STATE.enabled:
        node = (StdMeanBackward0 if sqrt else VarMeanBackward0)()
        node.__dict__.update(dims=dims, keepdim=keepdim, correction=c, sqrt=sqrt)
        record((spread, mu), node, (input,))
        node.save(input, SavedOutput(spread))
    return spread, mu


def var_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple[Tensor, Tensor]:
    """``(var, mean)`` in one pass, with one grad_fn (VarMeanBackward0) for both."""
    if input._dtype.kind:
        unsupported_dtype("std_cpu", input, var_all=dim is None)
    return _with_mean("var_mean", input, dim, unbiased, keepdim, correction, False)


def std_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple[Tensor, Tensor]:
    """``(std, mean)`` in one pass, with one grad_fn (StdMeanBackward0) for both."""
    if input._dtype.kind:
        unsupported_dtype("std_cpu", input, var_all=dim is None)
    return _with_mean("std_mean", input, dim, unbiased, keepdim, correction, True)


# ---- boolean reductions and counting --------------------------------------------------------------------
def _bool_reduce(fn: str, input: Tensor, dim: Any, keepdim: bool, out: Tensor | None) -> Tensor:
    """all/any: bool (uint8 for uint8 input), or an ``out=``'s dtype, which must be one of those two."""
    dt = D.uint8 if input._dtype is D.uint8 else D.bool
    if _isinstance(out, Tensor):
        if out._dtype is not D.bool and out._dtype is not D.uint8:
            raise RuntimeError(f"{fn} only supports bool tensor for result, got: {out._dtype._short}")
        dt = out._dtype
    a = input._data
    xp = xp_for(input)
    dims = tuple(range(a.ndim)) if dim is None else dim_list(dim, a.ndim) if a.ndim or dim != () else ()
    dims = dims if a.ndim else ()
    arr = getattr(xp, fn)(a, axis=dims, keepdims=keepdim) if dims or dim is None else a != 0
    return finish(_wrap(xp.asarray(arr), dt, input), out)


def all(input: Tensor, dim: Any = None, keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    """True where every element is nonzero (uint8 input gives uint8, as torch)."""
    return _bool_reduce("all", input, dim, keepdim, out)


def any(input: Tensor, dim: Any = None, keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    """True where some element is nonzero (uint8 input gives uint8, as torch)."""
    return _bool_reduce("any", input, dim, keepdim, out)


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    """Number of nonzero elements over ``dim`` (int64). torch counts complex32 and, over a dim (``!= 0`` then a
    sum), float8 too."""
    kind = input._dtype.kind
    if kind and kind != "complex32" and (dim is None or kind != "float8") or \
            input._dtype.few and not kind and dim is None:   # (uint16/32/64: counted over a dim only)
        unsupported_dtype("nonzero_count_cpu" if dim is None else "copy_", input)
    a = input._data
    xp = xp_for(input)
    dims = reduce_dims(dim, a.ndim)
    return _wrap(xp.asarray(xp.sum(a != 0, axis=dims), dtype=np.int64), D.int64, input)


# ---- logsumexp -----------------------------------------------------------------------------------------
class LogsumexpBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, r = self.saved
        shape = x.shape
        p = (x - unreduce(r, shape, self.dims, self.keepdim, False)).exp()
        return (unreduce(g, shape, self.dims, self.keepdim, False) * (p.conj() if p.is_complex() else p),)


def _float_input(input: Tensor) -> Tensor:
    """Integer/bool inputs of float-valued ops promote to the default float dtype."""
    return input.to(D.get_default_dtype()) if input._dtype.category < 2 else input


def _lse_rows(xp: Any, a: Any) -> Any:
    """logsumexp of each row of a C-contiguous real ``(m, n)`` array, a cache-sized block of rows at a time
    on the CPU (a block's shift, exp and sum run from cache; the rows split over the intra-op threads); one
    block on a GPU (each block costs launches)."""
    m, n = a.shape
    out = xp.empty(m, a.dtype)
    step = builtins.max(1, (1 << 16) // n) if xp is np else builtins.max(m, 1)

    def rows(lo: int, hi: int) -> None:   # one thread's rows, a block at a time
        for i in range(lo, hi, step):
            block = a[i : builtins.min(i + step, hi)]
            top = block.max(1)
            top[xp.isinf(top)] = 0
            e = block - top[:, None]
            xp.exp(e, out=e)
            out[i : i + len(block)] = xp.log(xp.einsum("ij->i", e) if n <= 4096 else sum_array(xp, e, (1,))) + top
    split_rows(xp, m, n, rows)
    return out


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    """``log(sum(exp(x)))`` over ``dim``, shifted by the maximum for stability."""
    if dim is None:
        raise TypeError("logsumexp(): argument 'dim' (position 2) must be tuple of ints, not NoneType")
    if input._dtype.kind:
        unsupported_dtype("max_values_cpu", input)
    if _isinstance(out, Tensor) and out._dtype.category < 2:
        raise RuntimeError(f"logsumexp(): Expected floating point type for result tensor, but got: {out._dtype._short}")
    input = _float_input(input)
    a = _cast(input, input._dtype)
    xp = xp_for(input)
    dims = reduce_dims(dim, a.ndim)
    if a.size and a.ndim and not keepdim and not as_list(dim):   # torch's in-place add of the unsqueezed maxima
        raise RuntimeError(f"output with shape [] doesn't match the broadcast shape {[1] * a.ndim}")
    k = len(dims)
    if builtins.any(a.shape[d] == 0 for d in dims):
        arr = xp.log(xp.sum(xp.exp(a), axis=dims, keepdims=keepdim))
    elif (xp is np and a.size >= _FAST_MIN and a.dtype is input._data.dtype and a.dtype in _FAST_FLOATS
          and a.flags.c_contiguous and sorted(dims) == list(range(a.ndim - k, a.ndim))):
        kept = a.shape[: a.ndim - k]
        arr = _lse_rows(xp, a.reshape(math.prod(kept), -1)).reshape(kept + ((1,) * k if keepdim else ()))
    else:   # 16-bit floats round each step (shift, exp, sum, log) to their type, as torch's composite does
        rnd = (lambda v: v) if a.dtype is input._data.dtype else lambda v: v.astype(input._data.dtype).astype(a.dtype)
        m = xp.max(a.real, axis=dims, keepdims=True)
        m = xp.where(xp.isinf(m), 0, m)
        e = rnd(xp.asarray(a - m))   # (an array even for 0-d)
        arr = rnd(xp.log(rnd(sum_array(xp, rnd(xp.exp(e, out=e)), dims, True)))) + m
        if not keepdim:
            arr = arr.reshape([s for i, s in enumerate(a.shape) if i not in dims])
    res = _wrap(arr, input._dtype, input)
    return finish(attach(res, input, LogsumexpBackward0, True, True, dims=dims, keepdim=keepdim), out)


# ---- norm ----------------------------------------------------------------------------------------------
class LinalgVectorNormBackward0(Node):
    """Gradient of ``vector_norm`` for each order (torch's zero-handling: 0 where the norm is 0)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, r = self.saved
        p, dims, keepdim = self.ord, self.dims, self.keepdim
        g = unreduce(g, x.shape, dims, keepdim, False)
        r = unreduce(r, x.shape, dims, keepdim, False)
        if p == 0:
            return (None,)
        if p == 1:
            return (x.sgn() * g,)
        if p == 2 and STATE.grad:   # torch's form under create_graph: its second derivative is NaN at a 0 norm
            return (g * (x / r).masked_fill(r == 0, 0),)
        if p == 2:
            return (x * (g / r).masked_fill(r == 0, 0),)
        if math.isinf(p):
            mask = x.abs() == r
            return (x.sgn() * (mask / mask.sum(dims, keepdim=True)) * g,)
        if p < 1:
            return (x.sgn() * x.abs().pow(p - 1).masked_fill(x == 0, 0) * g * r.pow(1 - p),)
        zero = r == 0   # as _std_grad: no division by the zero norm
        scale = (g / r.pow(p - 1).masked_fill(zero, 1)).masked_fill(zero, 0)
        return ((x.sgn() * x.abs().pow(p - 1) if p < 2 else x * x.abs().pow(p - 2)) * scale,)


def norm_dtype(x: Tensor, dtype: Any, fn: str) -> D.dtype | None:
    """torch's checks of a norm's ``dtype=`` (worded under ``fn``) against the input ``x``; the dtype."""
    dt = _dtype_arg(dtype)
    if dt is not None and dt is not x._dtype:
        if dt.category < 2 or dt.is_complex != x._dtype.is_complex:
            want = ("floating point or complex" if dt.category < 2 else
                    "complex for complex inputs" if x._dtype.is_complex else "real for real inputs")
            raise RuntimeError(f"{fn}: dtype should be {want}, but got {dt._short}")
        if D.promote_types(x._dtype, dt) is not dt:
            raise RuntimeError(f"{fn}: the dtype of the input ({x._dtype._short}) should be convertible without "
                               f"narrowing to the specified dtype ({dt._short})")
    return dt


def vector_norm(x: Tensor, ord: float = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
                out: Tensor | None = None) -> Tensor:
    """The ``ord``-norm of ``x`` over ``dim`` (all when None), as ``torch.linalg.vector_norm`` (complex32 through
    complex64, the result rounded to float16 as torch's kernel gives it)."""
    if x._dtype is D.complex32 and dtype is None:
        res = vector_norm(x.to(D.complex64), ord, dim, keepdim).to(D.float16)
        return finish(res, out, out_dtype_error)
    if x._dtype.kind:
        unsupported_dtype("norm_cpu", x, dtype)
    if x._dtype.category < 2:
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{x._dtype._short}")
    a = x._data
    xp = xp_for(x)
    p = float(ord)
    empty = (math.isinf(p) or p < 0) and a.size == 0   # max, min and 1/sum(1/..) have no identity
    if empty and (dim is None or a.ndim == 0 or not as_list(dim)):
        raise RuntimeError(f"linalg.vector_norm cannot compute the {p:g} norm on an empty tensor because the "
                           "operation does not have an identity")
    if empty:
        for d, label in zip(reduce_dims(dim, a.ndim), as_list(dim), strict=True):
            if a.shape[d] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {p:g} norm on the dimension "
                                   f"{label}because this dimension is empty and the operation does not have "
                                   "an identity")
    dt = norm_dtype(x, dtype, "linalg.vector_norm")   # (torch's order: the empty checks, the dtype, then dim)
    dims = reduce_dims(dim, a.ndim)
    if dt is not None and dt is not x._dtype:
        x = x.to(dt)
        a = x._data
    rdt = x._dtype.to_real()
    m = xp.abs(a).astype(_acc(rdt), copy=False)
    if math.isinf(p):
        arr = extreme(xp, m, dims, p > 0, keepdim)
    elif p == 0:
        arr = xp.sum(m != 0, axis=dims, keepdims=keepdim).astype(m.dtype)
    elif p == 1:
        arr = sum_array(xp, m, dims, keepdim)
    elif p == 2 and xp is np and m.ndim and m.dtype is a.dtype and a.dtype in _FAST_FLOATS:
        arr = np.sqrt(norm2_squares(a, dims, get_num_threads()))   # torch's order: its norm bit for bit
        if keepdim:
            arr = arr.reshape([1 if i in dims else s for i, s in enumerate(a.shape)])
    elif p == 2:   # (|a| is a fresh array: squared in place)
        arr = xp.sqrt(sum_array(xp, xp.multiply(m, m, out=m) if m.ndim else m * m, dims, keepdim))
    else:
        arr = xp.sum(m ** p, axis=dims, keepdims=keepdim) ** (1 / p)
    res = _wrap(arr, rdt, x)
    res = attach(res, x, LinalgVectorNormBackward0, True, True, ord=p, dims=dims, keepdim=keepdim)
    return finish(res, out, out_dtype_error)


def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, out: Tensor | None = None,
         dtype: Any = None) -> Tensor:
    """``torch.norm``: a vector norm for numeric ``p`` and for ``'fro'`` over at most two dims, otherwise
    ``linalg.matrix_norm`` (``'nuc'``, or torch's errors)."""
    if input.is_sparse:   # a COO tensor: its method (torch's full-reduction sparse norm)
        return input.norm(p, dim, keepdim, dtype)
    if input._dtype.kind and input._dtype is not D.complex32:
        unsupported_dtype("norm_cpu", input)
    dims = [dim] if _isinstance(dim, int) else dim
    if p is None or not _isinstance(p, str) or (p == "fro" and (dims is None or len(dims) <= 2)):
        return vector_norm(input, 2 if p is None or p == "fro" else p, dims, keepdim, dtype=dtype, out=out)
    if p not in ("fro", "nuc"):
        raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
    from .linalg import matrix_norm
    dims = list(range(input.ndim)) if dims is None else dims
    return matrix_norm(input, p, dims, keepdim, dtype=dtype, out=out)


def _norm_method(self: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """``Tensor.norm``: torch's method takes ``dtype`` fourth, where the function takes ``out``."""
    return norm(self, p, dim, keepdim, dtype=dtype)


_norm_method.__name__ = _norm_method.__qualname__ = "norm"


# ---- scans: cumsum / cumprod / cummax / cummin / logcumsumexp ---------------------------------------
def scan(xp: Any, op: Callable, a: Any, axis: int) -> Any:
    """Inclusive scan of the associative elementwise ``op`` along ``axis`` in ``log2(n)`` vectorised
    steps (Hillis-Steele), so it runs alike on NumPy and CuPy (whose ufuncs lack ``accumulate``)."""
    out = a.copy()
    n = a.shape[axis]
    shift = 1
    while shift < n:
        hi = (slice(None),) * axis + (slice(shift, None),)
        lo = (slice(None),) * axis + (slice(0, n - shift),)
        out[hi] = op(out[hi], out[lo])
        shift *= 2
    return out


class FlipBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (_flip(g, self.dim),)


def _flip(x: Tensor, d: int) -> Tensor:
    """``x`` reversed along ``d`` (a differentiable copy, used by scan gradients)."""
    a, ns = x._data, xp_for(x)
    arr = ns.asarray(ns.flip(a, d), order="C") if a.shape[d] > 1 else a.copy()   # no negative strides
    res = new_tensor(arr, x._dtype, x._device)
    return attach(res, x, FlipBackward0, dim=d)


def _reverse_cumsum(g: Tensor, d: int) -> Tensor:
    return _flip(cumsum(_flip(g, d), d), d)


class CumsumBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (_reverse_cumsum(g, self.dim) if g.ndim else g,)


class CumprodBackward0(Node):
    """Gradient of cumprod, exact with zeros: ``grad_k = sum_{j>=k} g_j prod_{i<=j, i!=k} x_i``.

    Without zeros it is ``revcumsum(g * out) / x``. With zeros, first-order backward uses the O(n) split
    at the first zero (before it: the formula above; at it: ``revcumsum(g * cumprod(x with it set to 1))``;
    after it: 0); when the graph of the gradient is being built (double backward), the O(n^2) product
    table is used instead, since the split's masks hide the dependence on the zero itself."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, out = self.saved
        d = self.dim
        if not x.ndim or x.numel() == 0:
            return (g,)
        if x._dtype.is_complex:   # the gradient takes the conjugate products
            x, out = x.conj(), out.conj()
        zero = x == 0
        if not bool(zero.any()):
            return (_reverse_cumsum(g * out, d) / x,)
        if STATE.enabled:
            return (_cumprod_grad_table(g, x, d),)
        from .indexing import where
        seen = zero.cumsum(d)
        before = seen == 0
        first = zero & (seen == 1)
        grad_before = _reverse_cumsum(g * out, d) / where(before, x, 1)
        grad_first = _reverse_cumsum(g * cumprod(where(first, 1, x), d), d)
        return (where(before, grad_before, where(first, grad_first, 0)),)


def _cumprod_grad_table(g: Tensor, x: Tensor, d: int) -> Tensor:
    """``sum_j g_j * T[k, j]`` with ``T[k, j] = prod_{i<=j, i!=k} x_i`` (j >= k), built for all k at once."""
    from .creation import arange
    from .indexing import where
    xm, gm = x.movedim(d, -1), g.movedim(d, -1)
    n = xm.shape[-1]
    pos = arange(n, device=x.device)
    rows = where(pos.unsqueeze(1) == pos, 1, xm.unsqueeze(-2).expand(*xm.shape[:-1], n, n))
    table = where(pos.unsqueeze(1) <= pos, rows.cumprod(-1), 0)
    return (table * gm.unsqueeze(-2)).sum(-1).movedim(-1, d)


def _cum_dtype(input: Tensor, dtype: Any) -> D.dtype:
    return _dtype_arg(dtype) or _sum_dtype(input._dtype)


def _cumulative(fn: str, input: Tensor, dim: int, dtype: Any) -> tuple[Tensor, int]:
    """cumsum/cumprod accumulate in torch's CPU accumulation type (:func:`acc_type`) and round once per element,
    as its kernel, so long scans give torch's values bit for bit."""
    dt = _cum_dtype(input, dtype)
    a = _cast(input, dt, 4).astype(acc_type(dt), copy=False)
    d = wrap_dim(dim, a.ndim)
    if dt is D.bool and a.ndim and a.size:   # (torch's kernel runs only on a nonempty tensor)
        raise not_implemented(f"{fn}_out_cpu", dt)
    ns = xp_for(input)
    if fn == "cumprod" and a.dtype.kind == "c" and a.size and a.ndim:   # torch's product starts from 1: (1+0j) * x0
        a = ns.concatenate([a.take([0], axis=d) * (1 + 0j), a.take(ns.arange(1, a.shape[d]), axis=d)], axis=d)
    arr = ns.asarray(getattr(ns, fn)(a, axis=d), order="C") if a.ndim else a.copy()   # contiguous, as torch's
    if fn == "cumsum" and a.dtype.kind in "fc":
        arr += 0   # torch's sum starts from +0: a leading -0.0 gives 0.0
    return _wrap(arr, dt, input), d


def cumsum(input: Tensor, dim: int, *, dtype: Any = None, out: Tensor | None = None) -> Tensor:
    """Cumulative sum along ``dim``; bool/integer inputs accumulate in int64."""
    if input._dtype.kind:
        unsupported_dtype("cumsum_out_cpu", input, dtype)
    res, d = _cumulative("cumsum", input, dim, _out_dtype(dtype, out))
    return finish(attach(res, input, CumsumBackward0, dim=d), out, out_dtype_error)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None, out: Tensor | None = None) -> Tensor:
    """Cumulative product along ``dim``; bool/integer inputs accumulate in int64."""
    if input._dtype.kind:
        unsupported_dtype("cumprod_out_cpu", input, dtype)
    res, d = _cumulative("cumprod", input, dim, _out_dtype(dtype, out))
    return finish(attach(res, input, CumprodBackward0, True, True, dim=d), out, out_dtype_error)


def _inplace_scan(fn: Callable) -> Callable:
    def method(self: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
        from ._dispatch import check_inplace, history_alias, inplace
        check_inplace(self)
        if _isinstance(dtype, D.dtype) and dtype is not self._dtype:   # (after the dim's check)
            wrap_dim(dim, self._data.ndim)
            raise RuntimeError(f"Bad in-place call: input tensor dtype {D.CPP_NAMES[self._dtype]} and output tensor "
                               f"dtype {D.CPP_NAMES[dtype]} should match")
        src = history_alias(self) if self._rg and STATE.enabled else self
        return inplace(self, fn(src, dim, dtype=dtype or self._dtype))
    method.__name__ = method.__qualname__ = fn.__name__ + "_"
    return method


class _CumExtremeBackward(Node):
    """Gradient of cummax/cummin: each output's gradient goes to the element it came from (accumulated)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (indices,) = self.saved
        if not g.ndim:
            return (g,)
        from .creation import zeros
        return (zeros(g.shape, dtype=g.dtype, device=g.device).scatter_add(self.dim, indices, g),)


CummaxBackward0 = node_class("CummaxBackward0", _CumExtremeBackward)
CumminBackward0 = node_class("CumminBackward0", _CumExtremeBackward)


def _cum_extreme(name: str, input: Tensor, dim: int, out: Any) -> Any:
    """cummax/cummin; as torch, a 0-d or empty input comes back as it is (an empty one without checking dim),
    the dtype is checked after dim."""
    check_named_out(name, (input._dtype, D.int64), out)
    a = input._data
    xp = xp_for(input)
    if not a.ndim and dim not in (0, -1):
        raise IndexError(f"{name}(): Expected reduction dim -1 or 0 for scalar but got {dim}")
    largest = name == "cummax"
    cls = CummaxBackward0 if largest else CumminBackward0
    if not a.ndim:
        return select_scalar(name, input, cls, out)
    if not a.size:
        return select_with_indices(name, input, a.copy(), xp.zeros(a.shape, np.int64), 0, True, cls, out)
    d = wrap_dim(dim, a.ndim)
    if input._dtype.is_complex:
        raise not_implemented(f"{name}_cpu", input._dtype)
    values = scan(xp, xp.maximum if largest else xp.minimum, a, d)
    newer = (a >= values) if largest else (a <= values)
    if D.holds_nan(a.dtype):
        newer |= xp.isnan(a)
    pos = xp.arange(a.shape[d]).reshape((-1,) + (1,) * (a.ndim - d - 1))
    idx = scan(xp, xp.maximum, xp.where(newer, pos, 0), d)
    return select_with_indices(name, input, values, idx, d, True, cls, out)


def cummax(input: Tensor, dim: int, *, out: Any = None) -> Any:
    """Running maximum along ``dim`` and the index it came from (the last tie; NaN propagates)."""
    if input._dtype.few:
        unsupported_dtype("cummax_cpu", input)
    return _cum_extreme("cummax", input, dim, out)


def cummin(input: Tensor, dim: int, *, out: Any = None) -> Any:
    """Running minimum along ``dim`` and the index it came from (the last tie; NaN propagates)."""
    if input._dtype.few:
        unsupported_dtype("cummin_cpu", input)
    return _cum_extreme("cummin", input, dim, out)


class LogcumsumexpBackward0(Node):
    """``grad_i = sum_{j>=i} g_j exp(x_i - out_j)``, evaluated in log space with ``g`` split by sign
    (entries of the other sign get the dtype's lowest value, not ``-inf``, so the formula stays
    differentiable)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x, out = self.saved
        d = self.dim
        if not x.ndim:
            return (g,)
        if x.is_complex():   # d out_j / d x_i = exp(x_i - out_j) for i <= j, conjugated (torch's convention)
            return (_reverse_cumsum(g * (-out).exp().conj(), d) * x.exp().conj(),)
        from .indexing import where
        lowest = D.finfo(g.dtype).min
        log_abs = g.abs().log()

        def part(mask: Tensor) -> Tensor:
            w = where(mask, log_abs, lowest) - out
            return (x + _flip(logcumsumexp(_flip(w, d), d), d)).exp()

        return (part(g > 0) - part(g < 0),)


def _logaddexp_complex(xp: Any, x: Any, y: Any) -> Any:
    """``log(exp(x) + exp(y))`` of complex arrays with torch's special values: the operand of the larger real part
    plus ``log1p(exp(other - it))``; that operand itself beside a real part of -inf or when its own is +inf; for
    two real parts both +inf the sum of the exponentials, both -inf gives -inf+0j; any NaN part gives NaN+NaNj."""
    swap = x.real < y.real
    hi, lo = xp.where(swap, y, x), xp.where(swap, x, y)
    with np.errstate(all="ignore"):
        res = hi + xp.log1p(xp.exp(lo - hi))
        res = xp.where((lo.real == -np.inf) | (hi.real == np.inf), hi, res)
        same_inf = xp.isinf(lo.real) & (lo.real == hi.real)
        res = xp.where(same_inf, xp.log(xp.exp(x) + xp.exp(y)), res)
        res = xp.where(same_inf & (hi.real < 0), xp.asarray(complex(-np.inf, 0), res.dtype), res)
    return xp.where(xp.isnan(x) | xp.isnan(y), xp.asarray(complex(np.nan, np.nan), res.dtype), res)


def logcumsumexp(input: Tensor, dim: int, *, out: Tensor | None = None) -> Tensor:
    """``log(cumsum(exp(x)))`` along ``dim``, computed as a running ``logaddexp`` (stable)."""
    if input._dtype.few:
        unsupported_dtype("logcumsumexp_out_cpu", input)
    d = wrap_dim(dim, input.ndim)
    if input._dtype.category < 2:
        raise not_implemented("logcumsumexp_out_cpu", input._dtype)
    a = _cast(input, input._dtype)
    xp = xp_for(input)
    if not a.ndim:
        arr = a.copy()
    elif a.dtype.kind == "c":   # element after element from -inf+0j, as torch (the imaginary branch depends on it)
        arr = xp.moveaxis(a.copy(), d, 0)
        prev = xp.asarray(complex(-np.inf, 0), a.dtype)
        for i in range(arr.shape[0]):
            arr[i] = prev = _logaddexp_complex(xp, prev, arr[i])
        arr = xp.ascontiguousarray(xp.moveaxis(arr, 0, d))
    elif xp is np:   # element after element in torch's accumulation type (its loop's rounding)
        arr = np.logaddexp.accumulate(a.astype(acc_type(input._dtype), copy=False), axis=d)
    else:
        arr = scan(xp, xp.logaddexp, a, d)
    res = _wrap(arr, input._dtype, input)
    return finish(attach(res, input, LogcumsumexpBackward0, True, True, dim=d), out)


# ---- diff ----------------------------------------------------------------------------------------------
def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None, *, out: Tensor | None = None) -> Tensor:
    """``n``-th forward difference along ``dim`` after joining ``prepend``/``append`` (bool: ``!=``)."""
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    for extra in (prepend, append):
        if extra is not None:
            if extra.ndim != input.ndim:
                raise RuntimeError("diff expects prepend or append to be the same dimension as input")
            d = wrap_dim(dim, input.ndim)
            for i in range(input.ndim):
                if i != d and extra.shape[i] != input.shape[i]:
                    raise RuntimeError("diff expects the shape of tensor to prepend or append to match that "
                                       "of input except along the differencing dimension; "
                                       f"input.size({i}) = {input.shape[i]}, but got tensor.size({i}) = "
                                       f"{extra.shape[i]}")
    if not n:   # torch neither joins prepend/append nor checks dim then
        return finish(input.clone(), out)
    d = wrap_dim(dim, input.ndim)
    if prepend is not None or append is not None:
        from .shape import cat
        input = cat([t for t in (prepend, input, append) if t is not None], d)
    from .elementwise import logical_xor
    for _ in range(builtins.min(n, input.shape[d])):
        size = input.shape[d]
        hi, lo = input.narrow(d, 1, size - 1), input.narrow(d, 0, size - 1)
        input = logical_xor(hi, lo) if input.dtype is D.bool else hi - lo
    return finish(input, out)


bind({
    "sum": sum, "nansum": nansum, "sum_to_size": sum_to_size, "mean": mean, "nanmean": nanmean, "prod": prod,
    "max": max, "min": min, "amax": amax, "amin": amin, "aminmax": aminmax, "argmax": argmax,
    "argmin": argmin, "var": var, "std": std, "all": all, "any": any, "count_nonzero": count_nonzero,
    "logsumexp": logsumexp, "norm": _norm_method, "cumsum": cumsum, "cumprod": cumprod,
    "cumsum_": _inplace_scan(cumsum), "cumprod_": _inplace_scan(cumprod), "cummax": cummax, "cummin": cummin,
    "logcumsumexp": logcumsumexp, "diff": diff,
})

__all__ = ["sum", "nansum", "sum_to_size", "mean", "nanmean", "prod", "max", "min", "amax", "amin", "aminmax",
           "argmax", "argmin", "var", "std", "var_mean", "std_mean", "all", "any", "count_nonzero",
           "logsumexp", "norm", "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp", "diff"]
