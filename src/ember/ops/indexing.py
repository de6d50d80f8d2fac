"""Indexing: ``t[key]`` (basic indexing gives views; advanced indexing copies), ``t[key] = v``,
``index_put``, the ``index_*``/``scatter*``/``gather``/``masked_*``/``take``/``put`` family, ``nonzero`` and
``where``; plus the flat-position helpers used by view autograd.

A key is applied as torch does: ints, slices, ``None`` and ``...`` first (a view, ints removing their
dims), then the advanced indices (tensors, lists, masks) with NumPy's placement rules on that view.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CAPTURING, CPU, check_on_device, to_host, xp_of_array
from .._core.memory_format import layout_strides, preserve_format
from .._core.warn import warn
from ..autograd.grad_mode import STATE
from ..autograd.graph import SavedOutput
from ._dispatch import (
    Node,
    Tensor,
    binary_dtype,
    bind,
    broadcast_error,
    broadcast_shapes,
    check_inplace,
    check_same_device,
    from_array,
    history_alias,
    inplace,
    new_tensor,
    no_unsigned_kernel,
    out_dtype_error,
    record,
    wrap_dim,
    writable_alias,
    write_out,
    xp_of,
)
from .creation import _elem_strides, _iteration_strides, _strided_copy, follow_first
from .views import (
    AliasBackward0,
    SelectBackward0,
    SliceBackward0,
    UnsqueezeIndexBackward0,
    basic_index,
    expand,
    index_view,
    make_view,
    node_of,
    reshape,
    unbind,
    view,
    warn_once,
)

_isinstance = isinstance
_INDEX_DTYPES = "tensors used as indices must be long, int, byte or bool tensors"
_SEQ_WARNING = ("Using a non-tuple sequence for multidimensional indexing is deprecated and will be changed "
                "in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this will be "
                "interpreted as tensor index, x[torch.tensor(seq)], which will result either in an error or "
                "a different result")
_UINT8_WARNING = "indexing with dtype torch.uint8 is now deprecated, please use a dtype torch.bool instead."


def _xp(t: Tensor) -> Any:
    return np if t._device is CPU else xp_of(t._device)


def _zeros(shape: tuple, like: Tensor) -> Tensor:
    return from_array(_xp(like).zeros(shape, like._dtype.np), like._dtype, like._device)


def _copy(t: Tensor) -> Any:
    """A C-contiguous copy of ``t``'s array (what the scatter-like ops write into)."""
    return _xp(t).array(t._data, copy=True, order="C")


def _cloned_layout(arr: Any, t: Tensor) -> Any:
    """``arr`` (C-contiguous, ``t``'s shape) laid out as ``t.clone()`` is: the result of the out-of-place ops
    torch runs as a clone and the in-place op (index_fill, index_put, put)."""
    a = t._data
    if a.flags.c_contiguous:
        return arr
    strides = _elem_strides(a)
    return _strided_copy(arr, layout_strides(a.shape, strides, preserve_format) or _iteration_strides(a.shape, strides),
                         _xp(t))


# ---- scalars written into tensors --------------------------------------------------------------------
_C_NAMES = {"float32": "float", "float64": "double", "float16": "double", "bfloat16": "double",
            "int64": "int64_t", "int32": "int", "int16": "int16_t", "int8": "int8_t", "uint8": "uint8_t",
            "uint16": "uint16_t", "uint32": "uint32_t", "uint64": "uint64_t", "bool": "bool",
            "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


_F32_MAX = float(np.finfo(np.float32).max)
_INT_RANGE = {d: (int(np.iinfo(d.np).min), int(np.iinfo(d.np).max)) for d in D.ALL_DTYPES if d.category == 1}


# a kernel of the destination's dtype (masked_fill, index_fill, scatter) names its 16-bit float types as such
_KERNEL_NAMES = {**_C_NAMES, "float16": "c10::Half", "bfloat16": "c10::BFloat16"}


def scalar_value(value: Any, dt: D.dtype, kernel: bool = False) -> Any:
    """A Python number made fit for ``dt`` as torch's fill does, with its overflow error: as it is when an
    array of ``dt`` takes it unchanged, else a NumPy scalar of ``dt`` (``kernel``: converted by an op's kernel,
    whose error names the 16-bit float types, not indexing's assignment, which goes through double)."""
    if _isinstance(value, Tensor):
        value = value.item()
    elif type(value) is int and not -_INT64_BOUND <= value < 2 * _INT64_BOUND:   # torch's Scalar: 64 bits
        raise OverflowError("int too big to convert" if value > 0 else "can't convert negative int to unsigned")
    if dt.kind:   # float8 / complex32: torch's own rounding (saturating where it does), not the storage type's
        src = D.complex128 if _isinstance(value, complex) else D.float64
        return D.convert(np.asarray(value, src.np), src, dt)[()]
    tv = type(value)
    if dt.category == 2 and (tv is float or tv is int or tv is bool) and not (
            dt is D.float32 and _F32_MAX < abs(value) < math.inf):
        # (float16 through float32; a kernel refuses finite values beyond a 16-bit type's range)
        return D.checked_scalar(dt, value, half_range=kernel) if dt is D.float16 or kernel else value
    if tv is int and dt.category == 1 and _INT_RANGE[dt][0] <= value <= _INT_RANGE[dt][1]:
        return value
    v = value
    bad = False
    if dt is D.bool:
        return np.bool_(bool(value))
    if _isinstance(v, complex) and not dt.is_complex:
        bad = v.imag != 0
        v = v.real
    elif dt.is_complex:   # (complex64: each part within float32's range)
        D.checked_scalar(dt, v)
    if not bad and dt.category == 1:   # (a float below an unsigned type's 0 overflows; an int wraps)
        return np.asarray(D.checked_scalar(dt, v)).astype(dt.np)[()]
    if not bad and dt is D.float32 and _isinstance(v, (int, float)) and np.isfinite(v):
        bad = abs(v) > np.finfo(np.float32).max
    if bad:
        raise RuntimeError(f"value cannot be converted to type {(_KERNEL_NAMES if kernel else _C_NAMES)[dt.name]} "
                           "without overflow")
    return np.asarray(v).astype(dt.np)[()]


# ---- key parsing ----------------------------------------------------------------------------------------
_NONE, _ELL, _INT, _SLICE, _BOOL, _ADV, _MASK = range(7)


def _index_array(a: Any, dt: D.dtype, xp: Any) -> tuple[int, Any]:
    """Classify an array index by its dtype: an int (0-d integers), an index array or a mask (uint8 masks
    warn)."""
    if a.ndim == 0 and dt.category == 1 and dt is not D.uint8:
        return _INT, int(a)
    if dt is D.uint8:
        if a.ndim:
            warn(_UINT8_WARNING, UserWarning, stacklevel=4)
        dt = D.bool
        a = a.astype(bool)
    if dt is D.bool:
        return (_BOOL, bool(a)) if a.ndim == 0 else (_MASK, xp.asarray(a))
    if dt is not D.int64 and dt is not D.int32:
        raise IndexError(_INDEX_DTYPES)
    return _ADV, xp.asarray(a)


_INT64_BOUND = 2 ** 63


def _classify(k: Any, xp: Any) -> tuple[int, Any]:
    tk = type(k)
    if tk is int:
        if not -_INT64_BOUND <= k < _INT64_BOUND:
            raise ValueError("Overflow when unpacking long long")
        return _INT, k
    if tk is slice:
        return _SLICE, k
    if k is None:
        return _NONE, None
    if k is Ellipsis:
        return _ELL, None
    if tk is bool:
        return _BOOL, k
    if _isinstance(k, Tensor):
        return _index_array(k._data, k._dtype, xp)
    if _isinstance(k, np.integer):
        return _INT, int(k)
    seq = _isinstance(k, (list, tuple, np.ndarray))
    if seq or (hasattr(tk, "__getitem__") and hasattr(tk, "__len__") and not issubclass(tk, (dict, str, bytes))):
        a = np.asarray(k if seq else list(k))   # any sequence (range, deque, array) is an index array, as torch
        if a.size == 0 and a.dtype.kind not in "biu":
            a = a.astype(np.int64)
        if a.dtype.kind == "f":
            a = a.astype(np.int64)   # torch reads a list of numbers as an integer index
        try:
            dt = D.from_numpy_dtype(a.dtype)
        except TypeError:
            raise IndexError(_INDEX_DTYPES) from None
        return _index_array(a, dt, xp)
    if tk is str or tk is bytes:   # torch tries to make a tensor of it
        raise TypeError(f"new(): invalid data type '{tk.__name__}'")
    if hasattr(tk, "__index__") and tk is not np.bool_:
        return _INT, k.__index__()
    raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
                     f"valid indices (got {_type_name(k)})")


def _seq_as_tuple(key: list) -> bool:
    """torch's (NumPy's old) rule: a short list holding slices, None, ... or sequences is a tuple of "
      "indices."""
    return len(key) < 32 and any(k is None or k is Ellipsis or _isinstance(k, (slice, list, tuple, Tensor))
                                 for k in key)


def _zero_dim_error(key: Any, single: bool) -> None:
    """The errors torch raises when indexing a 0-d tensor with something that consumes a dim."""
    for k in key:
        if k is None or k is Ellipsis or type(k) is bool or (
                _isinstance(k, Tensor) and k._data.ndim == 0 and k._dtype in (D.bool, D.uint8)):
            continue
        if single and type(k) is int:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number" if k == 0 else
                             f"index {k} is out of bounds for dimension 0 with size 0")
        if single and type(k) is slice:
            raise IndexError("slice() cannot be applied to a 0-dim tensor.")
        raise IndexError("too many indices for tensor of dimension 0")


def _step(s: slice) -> slice:
    """``s`` with int bounds (tensors and NumPy integers converted); steps must be positive, as torch."""
    start, stop, step = s.start, s.stop, s.step
    if step is not None:
        step = int(step)
        if step <= 0:
            raise ValueError("slice step cannot be zero" if step == 0 else "step must be greater than zero")
    if (start is None or type(start) is int) and (stop is None or type(stop) is int) and (
            step is None or type(s.step) is int):
        return s
    return slice(*(None if v is None else int(v) for v in (start, stop, step)))


def parse_key(self: Tensor, key: Any) -> tuple[tuple, type[Node] | None, list]:
    """Split ``key`` into the basic NumPy key of the view, the view's grad_fn class (None: no view
    needed), and the advanced indices ``[(dim in the view, array, is_mask)]``."""
    single = type(key) is not tuple
    if single:
        if type(key) is list and _seq_as_tuple(key):
            warn(_SEQ_WARNING, UserWarning, stacklevel=3)
            key = tuple(key)
        else:
            key = (key,)
    shape = self._data.shape
    ndim = len(shape)
    if ndim == 0:
        _zero_dim_error(key, single)
    xp = _xp(self)
    items = []
    dtype_error = None   # torch checks index tensors' dtypes after the count and the ints' bounds
    for k in key:
        try:
            items.append(_classify(k, xp))
        except IndexError as e:
            if str(e) != _INDEX_DTYPES:
                raise
            dtype_error = e
            items.append((_ADV, None))
    consumed = 0
    for kind, v in items:
        if kind is _INT or kind is _SLICE or kind is _ADV:
            consumed += 1
        elif kind is _MASK:
            consumed += v.ndim
    if consumed > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    fill = ndim - consumed
    basic: list = []
    adv: list = []
    dim = rdim = 0
    cur = ndim   # dims of the result so far
    cls: type[Node] | None = None
    for pos, (kind, v) in enumerate(items):   # torch names an int's dim by its position in the key
        if dim >= ndim and kind is not _NONE and kind is not _BOOL and kind is not _ELL:
            # pushed past the end by a repeated "...": torch skips full slices and fails on the rest
            if kind is _SLICE and v.start in (None, 0) and v.stop is None and v.step in (None, 1):
                continue
            if kind is _ADV or kind is _MASK:
                raise IndexError(f"too many indices for tensor of dimension {cur} (got "
                                 f"{dim + (1 if kind is _ADV else v.ndim)})")
            wrap_dim(rdim, cur)
        if kind is _INT:
            size = shape[dim]
            if not -size <= v < size:
                raise IndexError(f"index {v} is out of bounds for dimension {pos} with size {size}")
            basic.append(v)
            dim += 1
            cur -= 1
            cls = SelectBackward0
        elif kind is _SLICE:
            v = _step(v)
            basic.append(v)
            if not (v.start in (None, 0) and v.step in (None, 1) and (v.stop is None or v.stop >= shape[dim])):
                cls = SliceBackward0   # torch skips slices that keep the whole dim
            dim += 1
            rdim += 1
        elif kind is _NONE or kind is _BOOL:
            wrap_dim(rdim, cur + 1)
            basic.append(None)
            if kind is _BOOL:
                adv.append((rdim, xp.zeros(1 if v else 0, dtype=np.int64), False))
            rdim += 1
            cur += 1
            cls = UnsqueezeIndexBackward0
        elif kind is _ELL:   # torch lets a repeated "..." skip dims again (without slicing anything)
            if dim + fill <= ndim:
                basic.extend([slice(None)] * fill)
            dim += fill
            rdim += fill
        else:
            n = 1 if kind is _ADV else v.ndim
            basic.extend([slice(None)] * n)
            adv.append((rdim, v, kind is _MASK))
            dim += n
            rdim += n
    if dtype_error is not None:
        raise dtype_error
    if cls is None and not adv:
        cls = AliasBackward0
    return tuple(basic), cls, adv


def _advanced_key(shape: tuple, adv: list, xp: Any) -> tuple:
    """The NumPy key (slices and integer arrays) applying ``adv`` to an array of ``shape``; masks are
    checked against the shape and turned into their nonzero positions."""
    key: list = []
    for rdim, arr, is_mask in adv:
        key.extend([slice(None)] * (rdim - len(key)))
        if is_mask:
            for j, n in enumerate(arr.shape):
                if n != shape[rdim + j]:
                    raise IndexError(f"The shape of the mask {list(arr.shape)} at index {j} does not match "
                                     f"the shape of the indexed tensor {list(shape)} at index {rdim + j}")
            key.extend(xp.nonzero(arr))
        else:
            key.append(arr)
    return tuple(key)


def _check_key(shape: tuple, key: tuple) -> bool:
    """torch's errors for non-broadcastable index arrays in ``key`` and for out-of-range entries (unchecked
    where the result is empty, as torch); True where the result is empty."""
    arrays = [(d, k) for d, k in enumerate(key) if not _isinstance(k, slice)]
    try:
        index_shape = np.broadcast_shapes(*(tuple(k.shape) for _, k in arrays))
    except ValueError:
        shapes = ", ".join(str(list(k.shape)) for _, k in arrays)
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with shapes "
                         f"{shapes}") from None
    for d, k in arrays:
        if k.size and shape[d] == 0:
            raise IndexError("index is out of bounds for dimension with size 0")
    if 0 in index_shape or any(n == 0 for d, n in enumerate(shape) if d >= len(key) or _isinstance(key[d], slice)):
        return True
    for rank, (d, k) in enumerate(arrays):
        size = shape[d]
        if k.size:   # on a GPU reported at the next host read (no synchronisation)
            bad = (k >= size) | (k < -size)
            check_on_device(xp_of_array(k), bad.any(), lambda k=k, bad=bad, rank=rank, size=size: IndexError(
                f"index {int(to_host(k[bad].reshape(-1)[:1])[0])} is out of bounds for dimension {rank} "
                f"with size {size}"))
    return False


def _inert(key: tuple) -> tuple:
    """``key`` with its index arrays zeroed: the same (empty) result shape, no out-of-range entry."""
    return tuple(k if _isinstance(k, slice) else k * 0 for k in key)


class IndexBackward0(Node):
    """Gradient of advanced indexing: the gradient added into zeros at the indexed positions."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (index_put_key(_zeros(self._meta[0][0], g), self.key, g, True),)


def _torch_layout(arr: Any, src: Any, key: tuple, xp: Any) -> Any:
    """``arr = src[key]`` laid out as torch's index kernel lays it: its TensorIterator orders the result's dims
    by the strides of ``src`` (0 along the indexed dims, which replace the indexed ones in place when adjacent,
    else lead) and then of the broadcast index arrays (NumPy puts the indexed dims outermost)."""
    if arr.ndim < 2:
        return arr
    if src.flags.c_contiguous and 1 not in src.shape and 1 not in arr.shape:
        for k in key:
            if not (type(k) is slice or k.flags.c_contiguous):
                break
        else:   # no stride orders two dims against C order: torch's result is C-contiguous
            return arr if arr.flags.c_contiguous else xp.ascontiguousarray(arr)
    arrays = [(d, k) for d, k in enumerate(key) if not _isinstance(k, slice)]
    dims = [d for d, _ in arrays]
    index_shape = np.broadcast_shapes(*(tuple(k.shape) for _, k in arrays))
    strides = [st // src.itemsize for st in src.strides]
    rest = [d for d in range(src.ndim) if d not in dims]
    lead = sum(d < dims[0] for d in rest) if dims == list(range(dims[0], dims[-1] + 1)) else 0
    zeros = [0] * len(index_shape)
    operands = [tuple(strides[d] for d in rest[:lead]) + tuple(zeros) + tuple(strides[d] for d in rest[lead:])]
    shape = arr.shape
    for _, k in arrays:   # viewed with 1-dims around: strides kept where the result's dim is 1 too
        kb = xp.broadcast_to(k, index_shape) if k.shape != index_shape else k
        kb = kb.reshape((1,) * lead + index_shape + (1,) * (arr.ndim - lead - len(index_shape)))
        operands.append(tuple(0 if n == 1 and m != 1 else st // kb.itemsize
                              for n, m, st in zip(kb.shape, shape, kb.strides, strict=True)))
    want = _iteration_strides(shape, *operands)
    if want == tuple(st // arr.itemsize for st in arr.strides):
        return arr
    return _strided_copy(arr, want, xp)


def gather_key(src: Tensor, key: tuple) -> Tensor:
    """``src[key]`` for a NumPy key of slices and integer arrays (differentiable: IndexBackward0)."""
    if src._device is not CPU:
        _check_key(src._data.shape, key)
    try:
        arr = src._data[key]
    except (IndexError, ValueError):
        if not _check_key(src._data.shape, key):
            raise
        arr = src._data[_inert(key)]
    res = from_array(_torch_layout(arr, src._data, key, _xp(src)), src._dtype, src._device)
    if src._rg and STATE.enabled:
        record(res, node_of(IndexBackward0, key=key), (src,))
    return res


def _masked_get(self: Tensor, mask: Any) -> Tensor:
    """``self[mask]`` for a mask of ``self``'s shape (the common ``x[x > 0]``): ``compress`` on the flat
    arrays is several times faster than NumPy's boolean indexing (no per-element branching)."""
    xp = _xp(self)
    res = from_array(xp.compress(mask.reshape(-1), self._data.reshape(-1)), self._dtype, self._device)
    if self._rg and STATE.enabled:
        record(res, node_of(IndexBackward0, key=_xp(self).nonzero(mask)), (self,))
    return res


def _basic_steps(self: Tensor, basic: list, cls: type[Node]) -> Tensor:
    """``self[basic]`` as torch's graph records it: one view (and node) per int, None and cutting slice, in key
    order (``x[0, 1:]`` is SliceBackward0 → SelectBackward0); a key with one such step is a single view."""
    shape = self._data.shape
    steps = []
    d = r = 0   # the dim of ``self`` and of the result each item applies to
    for item in basic:
        if item is None:
            steps.append((r, None, UnsqueezeIndexBackward0))
            r += 1
        elif type(item) is slice:
            stop = item.stop
            if not (item.start in (None, 0) and item.step in (None, 1) and (stop is None or stop >= shape[d])):
                steps.append((r, item, SliceBackward0))
            d += 1
            r += 1
        else:
            steps.append((r, item, SelectBackward0))
            d += 1
    if len(steps) < 2:
        return basic_index(self, basic, cls)
    for r, item, step_cls in steps:
        self = basic_index(self, (slice(None),) * r + (item,), step_cls)
    return self


def getitem(self: Tensor, key: Any) -> Tensor:
    """``self[key]``: ints/slices/None/... give a view; tensors, lists and masks give a copy."""
    if type(key) is int:
        shape = self._data.shape
        if shape and -shape[0] <= key < shape[0]:
            return basic_index(self, (key,), SelectBackward0)
    elif key is None and self._data.flags.c_contiguous and 1 not in self._data.shape:
        # x[None]: a reshape gives torch's strides (not where a 1-dim's stride is arbitrary)
        arr = self._data.reshape((1,) + self._data.shape)
        return make_view(self, arr, UnsqueezeIndexBackward0, key=(None,))
    elif type(key) is Tensor and key._data.ndim and self._data.ndim:
        if key._dtype is D.int64:
            idx = key._data if key._device is self._device else _xp(self).asarray(key._data)
            return gather_key(self, (idx,))
        if key._dtype is D.bool and key._data.shape == self._data.shape and key._device is self._device:
            return _masked_get(self, key._data)
    basic, cls, adv = parse_key(self, key)
    if type(key) is slice:
        cls = SliceBackward0   # torch's fast path for a lone slice slices even when nothing is cut
    if cls is None:
        src = self
    elif len(basic) > 1 and self._rg and STATE.enabled:
        src = _basic_steps(self, basic, cls)
    else:
        src = basic_index(self, basic, cls)
    if not adv:
        return src
    return gather_key(src, _advanced_key(src._data.shape, adv, _xp(src)))


# ---- writing: setitem / index_put ------------------------------------------------------------------------
def _strip_ones(a: Any) -> Any:
    """``a`` without leading size-1 dims (torch drops them from values written through an index)."""
    k = 0
    while k < a.ndim and a.shape[k] == 1:
        k += 1
    return a.reshape(a.shape[k:]) if k else a


def _assigned(dst: Any, src: Any) -> bool:
    """``dst[...] = src``; False where the shapes do not broadcast."""
    try:
        dst[...] = src
    except ValueError:
        return False
    return True


def _overlap_error() -> RuntimeError:
    return RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                        "single memory location. Please clone() the tensor before performing the operation.")


_EXPANDED_EXAMPLE = {"index_put_": "indices] = tensor", "masked_fill_": "mask] = scalar",
                     "index_fill_": "mask] = scalar"}


def _writable(arr: Any, ops: tuple[str, ...]) -> Any:
    """``arr``, or where it is read-only (a NumPy view of an expanded tensor) a writable alias of its memory:
    torch writes the selected elements one by one, so every alias of a location shows the last write; where
    two elements share a location it warns (once per op in ``ops``) that this is deprecated."""
    if type(arr) is not np.ndarray or arr.flags.writeable:
        return arr
    alias = writable_alias(arr)
    if alias is None:
        alias = writable_alias(arr, overlapping=True)
        if alias is None:
            raise _overlap_error()
        level, frame = 1, sys._getframe()   # attributed to the caller's line, as torch's warnings
        while frame is not None and frame.f_globals.get("__name__", "").startswith("ember."):
            level, frame = level + 1, frame.f_back
        for op in ops:
            warnings.warn(f"Use of {op} on expanded tensors is deprecated. Please clone() the tensor before "
                          "performing this operation. This also applies to advanced indexing e.g. "
                          f"tensor[{_EXPANDED_EXAMPLE[op]}", UserWarning, stacklevel=level)
    return alias


def _flat_positions(xp: Any, arr: Any, key: tuple) -> Any:
    """The flat positions ``arr[key]`` reads, shaped like it, when ``arr`` is C-contiguous and ``key`` holds
    in-range integer arrays for its leading dims (else None): ``ufunc.at`` on them is ~10x faster than on
    ``key`` itself (the gradient of ``x[idx]``, of embeddings)."""
    if not arr.flags.c_contiguous or any(_isinstance(k, slice) for k in key):
        return None
    shape = arr.shape
    lin = 0
    stride = math.prod(shape[len(key):])
    for k, n in zip(reversed(key), reversed(shape[:len(key)]), strict=False):
        if xp is np and not in_range(k, n, negative_ok=True):   # a GPU key was checked (deferred) already
            return None
        lin = lin + k % n * stride
        stride *= n
    if not _isinstance(lin, int) and shape[len(key):]:
        inner = xp.arange(math.prod(shape[len(key):])).reshape(shape[len(key):])
        lin = lin.reshape(lin.shape + (1,) * inner.ndim) + inner
    return None if _isinstance(lin, int) else lin


def _put_arrays(xp: Any, arr: Any, key: tuple, v: Any, accumulate: bool, strip: bool = True) -> None:
    """``arr[key] = v`` (``+=`` with duplicates summed when ``accumulate``), with torch's errors; ``strip``:
    ``v``'s leading 1-dims are dropped first (as ``x[key] = v`` does; ``index_put_`` does not)."""
    if xp is not np:
        _check_key(arr.shape, key)
    if strip and hasattr(v, "ndim"):
        v = _strip_ones(v)
    elif getattr(v, "ndim", 0) and v.shape[0] == 1:   # NumPy would drop the leading 1-dims; torch does not
        _check_value_shape(v.shape, arr[_inert(key) if _check_key(arr.shape, key) else key].shape)
    try:
        if accumulate:
            lin = _flat_positions(xp, arr, key)
            if lin is None:
                xp.add.at(arr, key, v)
            else:
                reduce_at(xp, "add", arr.reshape(-1), lin, v)
        else:
            arr[key] = v
    except (IndexError, ValueError) as e:
        if "read-only" in str(e):
            raise _overlap_error() from None
        if _check_key(arr.shape, key):   # an empty result: nothing to write
            key = _inert(key)
            if _assigned(arr[key], v):
                return
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(v.shape)} cannot be broadcast to "
                           f"indexing result of shape {list(arr[key].shape)}") from None


class IndexPutBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        key = self.key
        gs = gv = None
        if self._next[0] is not None:
            gs = g if self.accumulate else index_put_key(g, key, _zeros((), g), False)
        if self._next[1] is not None:
            gv = gather_key(g, key)
            vshape = self._meta[1][0]
            if len(vshape) > gv._data.ndim:
                gv = reshape(gv, (1,) * (len(vshape) - gv._data.ndim) + gv._data.shape)
        return gs, gv


def index_put_key(self: Tensor, key: tuple, values: Tensor, accumulate: bool, strip: bool = True) -> Tensor:
    """Out-of-place ``self[key] = values`` for a NumPy key (differentiable: IndexPutBackward0)."""
    xp = _xp(self)
    arr = _copy(self)
    _put_arrays(xp, arr, key, values._data, accumulate, strip)
    res = from_array(_cloned_layout(arr, self), self._dtype, self._device)
    if STATE.enabled and (self._rg or values._rg):
        record(res, node_of(IndexPutBackward0, key=key, accumulate=accumulate), (self, values))
    return res


def _index_put_inplace(self: Tensor, key: tuple, values: Tensor, accumulate: bool, strip: bool) -> Tensor:
    check_inplace(self)
    if STATE.enabled and (self._rg or values._rg):
        return inplace(self, index_put_key(history_alias(self), key, values, accumulate, strip))
    _put_arrays(_xp(self), self._data, key, values._data, accumulate, strip)
    self._vc[0] += 1
    return self


def _value_tensor(self: Tensor, value: Any) -> Tensor:
    """A number as a 0-d tensor of ``self``'s dtype (torch's conversion rules and errors)."""
    return from_array(_xp(self).asarray(scalar_value(value, self._dtype), dtype=self._dtype.np), self._dtype,
                      self._device)


def _write(self: Tensor, basic: tuple, cls: type[Node] | None, adv: list, value: Any,
           accumulate: bool, strip: bool = True) -> None:
    """``self[basic][adv] = value`` in place; through a view, autograd records CopySlices on the base.
    ``strip``: the value's leading 1-dims are ignored (``x[key] = v``; not ``index_put_``)."""
    is_tensor = _isinstance(value, Tensor)
    if adv and is_tensor:
        value = _put_value(self, basic, cls, adv, value, accumulate, strip)
    if STATE.enabled and (self._rg or is_tensor and value._rg):
        val = value if is_tensor else _value_tensor(self, value)
        target = self if cls is None else basic_index(self, basic, cls)
        if adv:
            _index_put_inplace(target, _advanced_key(target._data.shape, adv, _xp(target)), val, accumulate,
                               strip)
        elif accumulate:
            target.add_(val)
        else:
            _copy_to(target, val)
        return
    check_inplace(self)
    xp = _xp(self)
    v = value._data if is_tensor else scalar_value(value, self._dtype)
    if is_tensor and strip:
        v = _strip_ones(v)   # NumPy refuses a (1,) value for a single element
    if adv:
        arr = self._data if cls is None else index_view(self._data, basic, xp)
        key = _advanced_key(arr.shape, adv, xp)
        mask_fill = not accumulate and len(adv) == 1 and adv[0][2] and (not is_tensor or v.size == 1)
        arr = _writable(arr, ("index_put_", "masked_fill_") if mask_fill else ("index_put_",))
        _put_arrays(xp, arr, key, v, accumulate, strip)
    else:
        try:
            if accumulate:
                index_view(self._data, basic, xp)[...] += v
            else:
                cast = is_tensor and v.dtype != self._data.dtype
                if cast and (self._dtype.kind or value._dtype.kind):
                    v, cast = D.convert(v, value._dtype, self._dtype), False
                self._data[basic] = v.astype(self._data.dtype) if cast else v
        except ValueError as e:
            alias = writable_alias(index_view(self._data, basic, xp)) if "read-only" in str(e) else None
            if "read-only" in str(e) and (alias is None or accumulate):
                if is_tensor:   # torch's shape error comes first
                    _raise_shape_error(value, from_array(index_view(self._data, basic, xp), self._dtype, self._device))
                raise _overlap_error() from None
            if alias is None or not _assigned(alias, v.astype(self._data.dtype) if cast else v):
                target = from_array(index_view(self._data, basic, xp), self._dtype, self._device)
                _raise_shape_error(value, target)
                raise
    self._vc[0] += 1


def _same_dtype(self: Tensor, values: Tensor) -> None:
    if values._dtype is not self._dtype:
        raise RuntimeError("Index put requires the source and destination dtypes match, got "
                           f"{self._dtype._short} for the destination and {values._dtype._short} for the "
                           "source.")


def _put_value(self: Tensor, basic: tuple, cls: type[Node] | None, adv: list, value: Tensor,
               accumulate: bool, strip: bool) -> Tensor:
    """The tensor an advanced-index write puts. As torch: through a single boolean mask, a one-element CPU
    value is a masked fill of its number (any dtype, any shape); otherwise the dtypes must match, checked
    after the value's shape and before the indices' bounds (torch's order of errors)."""
    masked_fill = (not accumulate and len(adv) == 1 and adv[0][2] and value._data.size == 1
                   and value._device is CPU)
    if value._dtype is self._dtype and (strip or not masked_fill):
        return value
    xp = _xp(self)
    arr = self._data if cls is None else index_view(self._data, basic, xp)
    key = _advanced_key(arr.shape, adv, xp)   # the mask's shape error, if any
    if masked_fill:
        if value._dtype is self._dtype:
            return reshape(value, ())
        return value.to(self._dtype) if STATE.enabled and value._rg else _value_tensor(self, value.item())
    try:   # the result's shape, its indices unchecked
        target = arr[_inert(key)].shape
    except (IndexError, ValueError):
        _check_key(arr.shape, key)
        raise
    _check_value_shape((_strip_ones(value._data) if strip else value._data).shape, target)
    _same_dtype(self, value)
    return value


def _check_value_shape(shape: tuple, target: tuple) -> None:
    """torch's error unless a value of ``shape`` broadcasts to the indexing result's ``target`` shape."""
    if len(shape) > len(target) or any(s not in (1, t) for s, t in zip(shape[::-1], target[::-1], strict=False)):
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(shape)} cannot be broadcast to "
                           f"indexing result of shape {list(target)}")


def _copy_to(dst: Tensor, src: Tensor) -> None:
    """``dst[...] = src`` under autograd as torch's ``copy_to`` records it: a copy for equal shapes, a fill
    from a 0-d CPU value, else ``src`` viewed without leading 1-dims, expanded to ``dst`` and copied."""
    if src._data.shape == dst._data.shape:
        dst.copy_(src)
    elif src._data.ndim == 0 and src._device is CPU:
        dst.fill_(src)
    else:
        v = view(src, _strip_ones(src._data).shape)
        dst.copy_(v if v._data.shape == dst._data.shape else expand(v, dst._data.shape))


def _raise_shape_error(value: Tensor, target: Tensor) -> None:
    """torch's expand error for a ``value`` (leading 1-dims dropped) that does not fit ``target``."""
    expand(view(value.detach(), _strip_ones(value._data).shape), target._data.shape)


def _fill_where(xp: Any, arr: Any, mask: Any, value: Any) -> None:
    """``arr[mask] = value`` in place (``value`` from :func:`scalar_value`). A masked copy branches on each
    element, slow on random masks; on a same-size integer view the bits blend without branches:
    ``arr = arr & keep | bits(value) & ~keep`` where ``keep`` is all ones outside the mask."""
    v = xp.asarray(value, dtype=arr.dtype)
    size = arr.dtype.itemsize
    if size not in (1, 2, 4, 8) or arr.size < 2048:   # complex128, or small: the plain masked copy
        xp.copyto(arr, v, where=mask)
        return
    ints = arr.view(f"i{size}")
    keep = mask.view(np.int8) - np.int8(1)   # int8 -1 / 0, sign-extended to all ones / zeros
    xp.bitwise_and(ints, keep, out=ints)
    bits = v.view(f"i{size}")
    if np.asarray(value, dtype=arr.dtype).view(f"i{size}") != 0:   # read on the host: no GPU sync
        xp.bitwise_or(ints, xp.bitwise_and(bits, xp.invert(keep)), out=ints)


def _type_name(value: Any) -> str:
    t = type(value)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__name__}"


def setitem(self: Tensor, key: Any, value: Any) -> None:
    """``self[key] = value``: a number or a tensor (broadcast); duplicate indices: the last write wins."""
    if not _isinstance(value, (Tensor, int, float, bool, complex)):
        if not _isinstance(value, np.integer):   # (torch reads NumPy integers as ints, no other NumPy scalar)
            raise TypeError(f"can't assign a {_type_name(value)} to a {self.type()}")
        value = int(value)
    if type(value) is int and not -_INT64_BOUND <= value < _INT64_BOUND:
        raise ValueError("Overflow when unpacking long long")
    if type(key) is int and self._data.ndim and -self._data.shape[0] <= key < self._data.shape[0]:
        _write(self, (key,), SelectBackward0, [], value, False)
        return
    if type(key) is bool:   # torch: a lone False writes nothing, a lone True writes as None does (a copy)
        if not key:
            return
        key = None
    if (_isinstance(key, Tensor) and key._dtype is D.bool and type(value) in (int, float, bool)
            and key._data.shape == self._data.shape and key._device is self._device
            and not (STATE.enabled and self._rg) and getattr(self._data.flags, "writeable", True)):
        # x[mask] = number (the seeds' `grad_h[h < 0] = 0`): a masked fill, no index arrays
        check_inplace(self)
        _fill_where(_xp(self), self._data, key._data, scalar_value(value, self._dtype))
        self._vc[0] += 1
        return
    basic, cls, adv = parse_key(self, key)
    if cls is AliasBackward0:
        cls = None
    _write(self, basic, cls, adv, value, False)


def _indices_key(self: Tensor, indices: Any, values: Any, name: str) -> tuple:
    if not _isinstance(values, Tensor):
        raise TypeError(f"{name}(): argument 'values' (position 2) must be Tensor, not {_type_name(values)}")
    indices = tuple(indices)
    for i, k in enumerate(indices):
        if not _isinstance(k, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(k).__name__}")
    if len(indices) > self._data.ndim:
        raise IndexError(f"too many indices for tensor of dimension {self._data.ndim} (got {len(indices)})")
    basic, cls, adv = parse_key(self, indices)
    return basic, (None if cls is AliasBackward0 else cls), adv


def index_put_(input: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    """In place: ``input[indices] = values`` (``accumulate=True`` adds, duplicates included)."""
    basic, cls, adv = _indices_key(input, indices, values, "index_put_")
    if not adv:
        _same_dtype(input, values)
    _write(input, basic, cls, adv, values, accumulate, strip=False)
    return input


def index_put(input: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    """Out-of-place ``index_put_``."""
    basic, cls, adv = _indices_key(input, indices, values, "index_put")
    if cls is None and adv and values._dtype is input._dtype and (accumulate or values._data.size != 1):
        return index_put_key(input, _advanced_key(input._data.shape, adv, _xp(input)), values, accumulate,
                             strip=False)
    return index_put_(input.clone(), indices, values, accumulate)


# ---- flat-position helpers (view autograd) -----------------------------------------------------------
def scatter_flat(g: Tensor, shape: tuple, index: Tensor) -> Tensor:
    """Zeros of ``shape`` with ``g``'s elements added at flat positions ``index`` (same shape as ``g``;
    position ``numel`` collects what falls outside and is dropped)."""
    n = int(np.prod(shape))
    z = _zeros((n + 1,), g)
    full = index_put_key(z, (index._data.reshape(-1),), reshape(g, (-1,)), True)
    return reshape(basic_index(full, (slice(0, n),), SliceBackward0), shape)


def gather_flat(g: Tensor, index: Tensor, shape: tuple) -> Tensor:
    """Elements of ``g`` at flat positions ``index``, shaped ``shape``."""
    return reshape(gather_key(reshape(g, (-1,)), (index._data.reshape(-1),)), shape)


def scatter_flat_into(g: Tensor, index: Tensor, values: Tensor | None) -> Tensor:
    """``g`` with the flat positions ``index`` replaced by ``values`` (zeros when None)."""
    v = reshape(values, (-1,)) if values is not None else _zeros((), g)
    return reshape(index_put_key(reshape(g, (-1,)), (index._data.reshape(-1),), v, False), g._data.shape)


# ---- index_select / index_add / index_copy / index_fill ---------------------------------------------------
def _index_vector(index: Any, name: str, dtype_error: Callable[[], Exception],
                  dims_error: Callable[[], Exception], dtypes: tuple = (D.int64, D.int32)) -> Any:
    """The flat array of a 0-d/1-d integer ``index`` argument, with the op's errors (built on demand)."""
    if not _isinstance(index, Tensor):
        raise TypeError(f"{name}(): argument 'index' (position 2) must be Tensor, not {type(index).__name__}")
    if index._dtype not in dtypes:
        raise dtype_error()
    if index._data.ndim > 1:
        raise dims_error()
    return index._data.reshape(-1)


_OUT_OF_BOUNDS = "index {} is out of bounds for dimension {dim} with size {}"


def _front(arr: Any, d: int) -> Any:
    """A view of ``arr`` with dim ``d`` first (0-d arrays as 1-d)."""
    return arr.reshape(1) if arr.ndim == 0 else arr if d == 0 else arr.swapaxes(0, d)


def in_range(idx: Any, size: int, negative_ok: bool = False) -> bool:
    """Whether every entry of the integer array ``idx`` lies in ``[0, size)`` (``[-size, size)`` when
    ``negative_ok``): one reduction, reading signed entries as unsigned so that negatives count as huge.
    Inside a CUDA graph capture the check is skipped: reading the answer would sync with the host."""
    if not idx.size or CAPTURING[0]:
        return True
    if negative_ok:
        idx = idx + size
        size *= 2
    if idx.dtype.kind == "i":
        idx = idx.view(f"u{idx.dtype.itemsize}")
    return int(idx.max()) < size


def _check_range(idx: Any, size: int, msg: str, exc: type = IndexError, negative_ok: bool = False) -> None:
    """torch's error (``exc`` with ``msg`` naming the first bad index) for entries outside the range; on a
    GPU the check runs there and is reported at the next host read (no synchronisation)."""
    def error() -> Exception:
        bad = (idx >= size) | (idx < (-size if negative_ok else 0))
        return exc(msg.format(int(to_host(idx[bad])[0]), size))

    if isinstance(idx, np.ndarray):
        if not in_range(idx, size, negative_ok):
            raise error()
    elif idx.size:
        lo = -size if negative_ok else 0
        check_on_device(xp_of_array(idx), (idx.min() < lo) | (idx.max() >= size), error)


class IndexSelectBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (index,) = self.saved
        return (index_add(_zeros(self._meta[0][0], g), self.dim, index, g),)


def index_select(input: Tensor, dim: int, index: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The slices of ``input`` at positions ``index`` along ``dim``."""
    if out is None and getattr(input, "_sparse_layout", False):   # sparse: ember.sparse's method
        return input.index_select(dim, index)
    d = wrap_dim(dim, input._data.ndim)
    if not input._data.ndim and _isinstance(index, Tensor) and index._data.size != 1:
        raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {index._data.size} value(s)")
    idx = _index_vector(index, "index_select",
                        lambda: RuntimeError("index_select(): Expected dtype int32 or int64 for index"),
                        lambda: IndexError("index_select(): Index is supposed to be a vector"))
    no_unsigned_kernel("index_select", input._dtype)
    a = input._data
    size = a.shape[d] if a.ndim else 1
    if not size and idx.size and a.ndim > 1:
        raise RuntimeError("index_select(): self indexing axis dim should be positive")
    if d == 1 or not a.size and a.ndim > 1:   # torch's kernel for dim 1 (and empty tensors) and its own error
        _check_range(idx, size, "INDICES element is out of DATA bounds, id={} axis_dim={}", RuntimeError)
    else:
        _check_range(idx, size, "index out of range in self")
    xp = _xp(input)
    arr = xp.take(a, xp.asarray(idx), axis=d) if a.ndim else a.reshape(1)[xp.asarray(idx)].reshape(())
    res = from_array(arr, input._dtype, input._device)
    if input._rg and STATE.enabled:
        record(res, node_of(IndexSelectBackward0, dim=d), (input,)).save(index)
    return write_out(out, res, "index_select", _same_scalar_type("index_select")) if out is not None else res


def _same_scalar_type(op: str) -> Callable[[D.dtype, D.dtype], Exception]:
    """torch's ``out=`` dtype error of ``index_select`` and ``masked_select``."""
    return lambda want, got: RuntimeError(f"{op}(): self and result must have the same scalar type")


def _source_checks(self: Tensor, d: int, n_idx: int, source: Tensor, name: str) -> None:
    s_shape = source._data.shape
    n_src = s_shape[d] if source._data.ndim else 1
    if name == "index_add_":
        if n_idx != n_src and not source._data.ndim:   # torch's message reads source.size(dim)
            raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
        if n_idx != n_src:
            raise RuntimeError(f"index_add_(): Number of indices ({n_idx}) should be equal to "
                               f"source.size(dim): ({n_src}), for dim: {d}")
        if source._data.ndim not in (0, self._data.ndim) or source._data.ndim and any(
                a != b for i, (a, b) in enumerate(zip(self._data.shape, s_shape, strict=True)) if i != d):
            raise RuntimeError("source tensor shape must match self tensor shape, excluding the specified "
                               f"dimension. Got self.shape = {list(self._data.shape)} source.shape = "
                               f"{list(s_shape)}")
    else:
        if n_idx != n_src:
            raise IndexError(f"index_copy_(): Number of indices ({n_idx}) should be equal to "
                             f"source.size(dim) ({n_src})")
        rest_self = [s for i, s in enumerate(self._data.shape) if i != d]
        rest_src = [s for i, s in enumerate(s_shape) if i != d]
        for i, (a, b) in enumerate(zip(rest_self, rest_src, strict=False)):
            if a != b:
                raise RuntimeError("index_copy_(): Source/destination tensor must have same slice shapes. "
                                   f"Destination slice shape: {a} at dimension {i} and source slice shape: "
                                   f"{b} at dimension {i}.")


class IndexAddBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (index,) = self.saved
        gs = None
        if self._next[1] is not None:
            gs = index_select(g, self.dim, index) if g._data.ndim else g
            if self.alpha != 1:
                gs = gs * self.alpha
            if len(self._meta[1][0]) != gs._data.ndim:
                gs = reshape(gs, self._meta[1][0])
        return g, gs


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1,
              out: Tensor | None = None) -> Tensor:
    """``input`` with ``alpha * source`` slices added at positions ``index`` along ``dim``."""
    d = wrap_dim(dim, input._data.ndim)
    idx = _index_vector(index, "index_add",
                        lambda: RuntimeError("index_add_(): Expected dtype int32/int64 for index but got: "
                                             f"{index._dtype._short}"),
                        lambda: IndexError("index_add_(): Index is supposed to be a vector, but got dim: "
                                           f"{index._data.ndim} with type: {index._dtype._short} and size: "
                                           f"{list(index._data.shape)}"))
    if source._dtype is not input._dtype:
        raise RuntimeError(f"index_add_(): self ({input._dtype._short}) and source ({source._dtype._short}) "
                           "must have the same scalar type")
    _source_checks(input, d, idx.size, source, "index_add_")
    nd = input._data.ndim
    size = input._data.shape[d] if nd else 1
    if nd < 2:   # (uint16/32/64: torch's kernels refuse them, a 1-d kernel even with nothing to add)
        no_unsigned_kernel("index_add_", input._dtype)
    # torch's kernels: scatter_add's error (an outer dim, int64 indices, a non-bool alpha of 1), else index_add's
    if nd < 2 or input._data.size:
        if nd >= 2 and d in (0, nd - 1) and type(alpha) is not bool and alpha == 1 and index._dtype is D.int64:
            if idx.size:
                no_unsigned_kernel("scatter_gather_tensor_cpu", input._dtype)
            _check_range(idx, size, _OUT_OF_BOUNDS.replace("{dim}", str(d)), RuntimeError)
        else:
            if nd >= 2 and idx.size:
                no_unsigned_kernel("add_stub", input._dtype)
            _check_range(idx, size, "index out of range in self")
    xp = _xp(input)
    arr = _copy(input)
    src = source._data if alpha == 1 else source._data * scalar_value(alpha, input._dtype)
    if not arr.size:   # nothing to add to (torch leaves the indices unchecked)
        pass
    elif src.ndim == arr.ndim and arr.ndim:   # on flat positions (see reduce_at)
        lead = [1] * arr.ndim
        lead[d] = -1
        key = _grid_key(xp.broadcast_to(xp.asarray(idx).reshape(lead), src.shape), d, arr.shape, xp)
        reduce_at(xp, "add", arr.reshape(-1), key, src)
    else:
        xp.add.at(_front(arr, d), xp.asarray(idx), _front(src, d))
    res = from_array(arr, input._dtype, input._device)
    if STATE.enabled and (input._rg or source._rg):
        record(res, node_of(IndexAddBackward0, dim=d, alpha=alpha), (input, source)).save(index)
    return write_out(out, res, "index_add", out_dtype_error) if out is not None else res


class IndexCopyBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (index,) = self.saved
        gi = index_fill(g, self.dim, index, 0) if self._next[0] is not None else None
        gs = None
        if self._next[1] is not None:
            gs = index_select(g, self.dim, index) if g._data.ndim else g
            if len(self._meta[1][0]) != gs._data.ndim:
                gs = reshape(gs, self._meta[1][0])
        return gi, gs


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``input`` with its slices at ``index`` along ``dim`` replaced by ``source``'s (the last duplicate "
      "wins)."""
    d = wrap_dim(dim, input._data.ndim)
    if _isinstance(source, Tensor) and not source._data.ndim and _isinstance(index, Tensor) and index._data.size != 1:
        raise IndexError(f"index_copy_(): When source is scalar, index should have one element (got "
                         f"{index._data.size})")
    idx = _index_vector(index, "index_copy",
                        lambda: RuntimeError("index_copy_(): Expected a long tensor for index, but got "
                                             f"{index._dtype._short}"),
                        lambda: IndexError("index_copy_(): Index should have dimension 1 or 0 (got "
                                           f"{index._data.ndim})"), (D.int64,))
    if source._dtype is not input._dtype:
        raise RuntimeError("index_copy_(): self and source expected to have the same dtype, but got (self) "
                           f"{input._dtype._short} and (source) {source._dtype._short}")
    _source_checks(input, d, idx.size, source, "index_copy_")
    size = input._data.shape[d] if input._data.ndim else 1
    xp = _xp(input)
    arr = _copy(input)
    if arr.size:   # (torch copies nothing and checks nothing into an empty tensor)
        _check_range(idx, size, "index_copy_(): " + _OUT_OF_BOUNDS.replace("{dim}", str(d)))
        no_unsigned_kernel("index_copy_cpu", input._dtype)
        _front(arr, d)[xp.asarray(idx)] = _front(source._data, d)
    res = from_array(arr, input._dtype, input._device)
    if STATE.enabled and (input._rg or source._rg):
        record(res, node_of(IndexCopyBackward0, dim=d), (input, source)).save(index)
    return write_out(out, res, "index_copy", out_dtype_error) if out is not None else res


class IndexFillBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (index,) = self.saved
        gi = index_fill(g, self.dim, index, 0) if self._next[0] is not None else None
        if len(self._next) == 1:
            return (gi,)
        gv = index_select(g, self.dim, index).sum() if self._next[1] is not None else None
        return gi, gv


class IndexFillBackward1(IndexFillBackward0):
    __slots__ = ()


def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """``input`` with its slices at ``index`` along ``dim`` set to ``value`` (a number or 0-d tensor)."""
    idx = _index_vector(index, "index_fill_",
                        lambda: IndexError("index_fill_(): Expected dtype int64 for index."),
                        lambda: RuntimeError("Index has to be a vector/scalar"), (D.int64,))
    no_unsigned_kernel("index_fill_cpu", input._dtype)
    d = wrap_dim(dim, input._data.ndim)
    if _isinstance(value, Tensor) and value._data.ndim:
        raise RuntimeError("index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value._data.ndim} dimension(s).")
    if (value._dtype.is_complex if _isinstance(value, Tensor) else _isinstance(value, complex)) and \
            not input._dtype.is_complex:
        raise RuntimeError("index_fill_(): Converting complex Scalar to non-complex type is not supported")
    size = input._data.shape[d] if input._data.ndim else 1
    if input._data.size:   # (torch fills nothing and checks nothing in an empty tensor)
        _check_range(idx, size, _OUT_OF_BOUNDS.replace("{dim}", str(d)), negative_ok=True)
    xp = _xp(input)
    out = _copy(input)
    if out.size:
        _front(out, d)[xp.asarray(idx)] = scalar_value(value, input._dtype, kernel=True)
    res = from_array(_cloned_layout(out, input), input._dtype, input._device)
    if _isinstance(value, Tensor):
        if STATE.enabled and (input._rg or value._rg):
            record(res, node_of(IndexFillBackward1, dim=d), (input, value)).save(index)
    elif STATE.enabled and input._rg:
        record(res, node_of(IndexFillBackward0, dim=d), (input,)).save(index)
    return res


# ---- gather / scatter family ------------------------------------------------------------------------------
def _grid_key(index: Any, d: int, shape: tuple, xp: Any) -> Any:
    """Flat (C-order) positions in an array of ``shape`` addressed by ``index`` along dim ``d``, the other
    dims at their own positions: one integer array, so gathers and ``ufunc.at`` run on a 1-d view."""
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * shape[i + 1]
    lin = index * strides[d] if strides[d] != 1 else index.astype(np.int64, copy=False)
    for i, n in enumerate(index.shape):
        if i != d and n > 1:
            offsets = [1] * index.ndim
            offsets[i] = n
            lin = lin + (xp.arange(n) * strides[i]).reshape(offsets)
    return lin


def _scatter_checks(name: str, input: Tensor, dim: int, index: Any, src: Tensor | None,
                    kernel: str | None = None) -> tuple[int, Any]:
    """Validate a gather/scatter call; returns the wrapped dim and the index array (inputs 0-d as 1-d).
    ``kernel``: torch's kernel refusing uint16/32/64 (a non-empty index given: no kernel runs otherwise), before
    the indices' range is checked."""
    n = input._data.ndim
    d = wrap_dim(dim, n)
    if not _isinstance(index, Tensor):
        raise TypeError(f"{name}(): argument 'index' (position 2) must be Tensor, not {type(index).__name__}")
    idx = index._data
    if idx.size and index._dtype not in (D.int64, D.int32):
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index")
    check_same_device(input, index)
    if src is not None:
        check_same_device(input, src)
    if src is not None and src._dtype is not input._dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if not idx.size:   # torch checks an empty index no further (nothing is read or written)
        return d, None
    if idx.ndim != max(n, 1) and not (idx.ndim == 0 and n <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as "
                           f"{'input' if name == 'gather' else 'self'} tensor")
    if src is not None and src._data.ndim != idx.ndim and src._data.ndim:
        wrap_dim(d, src._data.ndim)
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    idx = idx.reshape(-1) if idx.ndim == 0 else idx
    shape = input._data.shape or (1,)
    small = all(i <= s for k, (i, s) in enumerate(zip(idx.shape, shape, strict=False)) if k != d)
    if src is None and not small:
        bad = next(k for k, (i, s) in enumerate(zip(idx.shape, shape, strict=False)) if k != d and i > s)
        lead = "Expected index" if name == "scatter" else f"Size does not match at dimension {bad} expected index"
        raise RuntimeError(f"{lead} {list(index._data.shape)} to be no larger than self {list(input._data.shape)} "
                           f"apart from dimension {d}")
    if src is not None:
        sshape = src._data.shape or (1,)
        if not small or any(i > s for i, s in zip(idx.shape, sshape, strict=False)):
            raise RuntimeError(f"Expected index {list(index._data.shape)} to be no larger than self "
                               f"{list(input._data.shape)} apart from dimension {d} and to be no larger "
                               f"size than src {list(src._data.shape)}")
    if kernel is not None:
        no_unsigned_kernel(kernel, input._dtype)
    _check_range(idx, shape[d], _OUT_OF_BOUNDS.replace("{dim}", str(d)), RuntimeError)
    return d, idx


def _src_part(src: Tensor, shape: tuple) -> Any:
    """The leading ``shape`` block of ``src``'s array (scatter reads only that much of src)."""
    a = src._data.reshape(1) if src._data.ndim == 0 else src._data
    return a[tuple(slice(0, s) for s in shape)]


class GatherBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (index,) = self.saved
        return (scatter_add(_zeros(self._meta[0][0], g), self.dim, index, g),)


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False,
           out: Tensor | None = None) -> Tensor:
    """Values of ``input`` at positions ``index`` along ``dim``."""
    d, idx = _scatter_checks("gather", input, dim, index, None, "scatter_gather_tensor_cpu")
    a = input._data.reshape(1) if input._data.ndim == 0 else input._data
    xp = _xp(input)
    if idx is None:
        arr = xp.empty(index._data.shape, a.dtype)
    else:
        arr = a.reshape(-1).take(_grid_key(xp.asarray(idx), d, a.shape, xp)).reshape(index._data.shape)
    res = from_array(arr, input._dtype, input._device)
    if input._rg and STATE.enabled:
        record(res, node_of(GatherBackward0, dim=d), (input,)).save(index)
    return write_out(out, res, "gather", out_dtype_error) if out is not None else res


def reduce_at(xp: Any, op: str, flat: Any, lin: Any, vals: Any) -> None:
    """``flat[lin] op= vals`` with repeated positions combined (``ufunc.at``) for a 1-d ``flat`` and positions
    ``lin`` (``vals`` broadcast to them). Both go in as 1-d arrays: NumPy's ``ufunc.at`` is ~10x faster on
    one 1-d index. CuPy has no ``multiply.at``: there the products of each position's values are formed
    first by a segmented scan."""
    if xp is not np and op == "multiply":
        vals = xp.broadcast_to(xp.asarray(vals, dtype=flat.dtype), lin.shape)
    if getattr(vals, "ndim", 0):
        vals = xp.broadcast_to(vals, lin.shape).reshape(-1)
    lin = lin.reshape(-1)
    if xp is np or op != "multiply":
        getattr(xp, op).at(flat, lin, vals)
    else:
        multiply_segments(xp, flat, lin, vals)


def multiply_segments(xp: Any, flat: Any, lin: Any, vals: Any) -> None:
    """``flat[lin] *= vals`` combining repeated positions, with only vectorised gathers/scatters."""
    order = xp.argsort(lin)
    lin, vals = lin[order], vals[order]
    step = 1
    while step < lin.size:
        same = lin[step:] == lin[:-step]
        vals = xp.concatenate([vals[:step], xp.where(same, vals[step:] * vals[:-step], vals[step:])])
        step *= 2
    last = xp.ones(lin.shape, dtype=bool)
    last[:-1] = lin[1:] != lin[:-1]
    flat[lin[last]] *= vals[last]


class ScatterBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (index,) = self.saved
        gi = scatter(g, self.dim, index, 0) if self._next[0] is not None else None
        if len(self._next) == 1:
            return (gi,)
        return gi, gather(g, self.dim, index) if self._next[1] is not None else None


class ScatterBackward1(ScatterBackward0):
    __slots__ = ()


class _NotImplementedBackward(Node):
    __slots__ = ()

    def backward(self, *grads: Tensor) -> tuple:
        raise RuntimeError(f"derivative for aten::{self.op} is not implemented")


NotImplemented_ = type("NotImplemented", (_NotImplementedBackward,), {"__slots__": ()})


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: str | None = None, out: Tensor | None = None) -> Tensor:
    """A copy of ``input`` with ``src`` (or the number ``value``) written at ``index`` along ``dim``;
    ``reduce='add'|'multiply'`` combines instead of overwriting."""
    if src is None:
        if value is None:
            raise TypeError("scatter() received an invalid combination of arguments - got (int, Tensor), but "
                            "expected one of:\n * (int dim, Tensor index, Tensor src)\n * (int dim, Tensor index, "
                            "Tensor src, *, str reduce)\n * (int dim, Tensor index, Number value)\n * (int dim, "
                            "Tensor index, Number value, *, str reduce)\n")
        src = value
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    tsrc = src if _isinstance(src, Tensor) else None
    if tsrc is not None and reduce is not None:   # (torch warns once, before checking the arguments)
        warn_once("The reduce argument of torch.scatter with Tensor src is deprecated and will be removed in a "
                  "future PyTorch release. Use torch.scatter_reduce instead for more reduction options.")
    d, idx = _scatter_checks("scatter", input, dim, index, tsrc,
                             "scatter_gather_scalar_cpu" if tsrc is None else "scatter_gather_tensor_cpu")
    xp = _xp(input)
    arr = _copy(input)
    if idx is not None:
        idx = xp.asarray(idx)
        key = _grid_key(idx, d, arr.shape or (1,), xp)
        o = arr.reshape(-1)
        vals = _src_part(tsrc, idx.shape) if tsrc is not None else scalar_value(src, input._dtype, kernel=True)
        if reduce is None:
            o[key] = vals
        else:
            reduce_at(xp, "add" if reduce == "add" else "multiply", o, key, vals)
    res = from_array(arr, input._dtype, input._device)
    if STATE.enabled and (input._rg or (tsrc is not None and tsrc._rg)):
        if reduce is not None:
            node: Node = node_of(NotImplemented_, op="scatter")
        else:
            node = node_of(ScatterBackward0 if tsrc is not None else ScatterBackward1, dim=d)
        record(res, node, (input, tsrc) if tsrc is not None else (input,)).save(index)
    if out is None:
        return res
    return write_out(out, res, "scatter" if reduce is None else "aten::scatter", out_dtype_error)


class ScatterAddBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (index,) = self.saved
        return g, gather(g, self.dim, index) if self._next[1] is not None else None


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor, *, out: Tensor | None = None) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (duplicates accumulate)."""
    if not _isinstance(src, Tensor):
        raise TypeError("scatter_add(): argument 'src' (position 3) must be Tensor, not "
                        f"{type(src).__name__}")
    d, idx = _scatter_checks("scatter", input, dim, index, src, "scatter_gather_tensor_cpu")
    xp = _xp(input)
    arr = _copy(input)
    if idx is not None:
        idx = xp.asarray(idx)
        reduce_at(xp, "add", arr.reshape(-1), _grid_key(idx, d, arr.shape or (1,), xp), _src_part(src, idx.shape))
    res = from_array(arr, input._dtype, input._device)
    if STATE.enabled and (input._rg or src._rg):
        record(res, node_of(ScatterAddBackward0, dim=d), (input, src)).save(index)
    return write_out(out, res, "scatter_add", out_dtype_error) if out is not None else res


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _scatter_reduce_arrays(input: Tensor, d: int, idx: Any, src: Tensor, reduce: str,
                           include_self: bool) -> Any:
    """The forward of ``scatter_reduce`` on arrays (``mean`` of integers rounds down, as torch)."""
    xp = _xp(input)
    out = _copy(input)
    key = _grid_key(idx, d, out.shape or (1,), xp)
    o = out.reshape(-1)
    vals = _src_part(src, idx.shape)
    if not include_self:
        if reduce in ("sum", "mean"):
            init: Any = 0
        elif reduce == "prod":
            init = 1
        elif input._dtype.is_floating_point:
            init = -np.inf if reduce == "amax" else np.inf
        else:
            info = np.iinfo(input._dtype.np) if input._dtype is not D.bool else None
            init = (info.min if reduce == "amax" else info.max) if info else reduce == "amin"
        o[key] = init
    op = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum", "amin": "minimum"}[reduce]
    reduce_at(xp, op, o, key, vals)
    if reduce == "mean":
        count = xp.ones(o.shape, dtype=o.dtype) if include_self else xp.zeros(o.shape, dtype=o.dtype)
        reduce_at(xp, "add", count, key, o.dtype.type(1))
        count[count == 0] = 1
        if input._dtype.is_floating_point or input._dtype.is_complex:
            o /= count
        else:
            o //= count
    return out


class ScatterReduceBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        index, x, src, result = self.saved
        d, reduce = self.dim, self.reduce
        touched = scatter(_zeros(x._data.shape, g).bool(), d, index, True)
        if reduce == "sum":
            gi, gs = g, gather(g, d, index)
        elif reduce == "mean":
            n = scatter_add(_ones_like(g) if self.include_self else _zeros(g._data.shape, g), d, index,
                            _ones_like(src))
            n = n.masked_fill(n == 0, 1)
            gi, gs = g / n, gather(g / n, d, index)
        elif reduce == "prod":
            xm = x.masked_fill(x == 0, 1)
            gi = g * scatter_reduce(xm, d, index, src, "prod", include_self=self.include_self) / xm
            src_zero = src == 0
            zeros = scatter_add(_zeros(x._data.shape, g), d, index, src_zero.to(g._dtype))
            single = src_zero & (gather(zeros, d, index) == 1)
            without = scatter_reduce(x, d, index, src.masked_fill(single, 1), "prod",
                                     include_self=self.include_self)
            gs = where(single, gather(g * without, d, index),
                       gather(g * result, d, index) / src.masked_fill(src_zero, 1))
        else:
            value = gather(result, d, index)
            x_is = x == result   # torch counts ties with self even when self is not included
            src_is = src == value
            n = scatter_add(x_is.to(g._dtype), d, index, src_is.to(g._dtype))
            share = g / n
            gi, gs = share.masked_fill(~x_is, 0), gather(share, d, index).masked_fill(~src_is, 0)
        if not self.include_self:
            gi = gi.masked_fill(touched, 0)
        return (gi if self._next[0] is not None else None), (gs if self._next[1] is not None else None)


def _ones_like(t: Tensor) -> Tensor:
    return from_array(_xp(t).ones(t._data.shape, t._dtype.np), t._dtype, t._device)


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True, out: Tensor | None = None) -> Tensor:
    """Reduce ``src`` into a copy of ``input`` at ``index`` along ``dim`` with sum/prod/mean/amax/amin."""
    return reduce_scattered(input, dim, index, src, reduce, include_self, out, unsigned=False)


def reduce_scattered(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, include_self: bool = True,
                     out: Tensor | None = None, unsigned: bool = True) -> Tensor:
    """scatter_reduce; on uint16/32/64 only where ``unsigned`` (torch's scatter_reduce kernels refuse them, a
    non-empty index given; index_reduce's own take some)."""
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    kernel = None if unsigned else "scatter_reduce_exclude_input_init" if not include_self else \
        "scatter_gather_tensor_cpu" if reduce in ("sum", "prod") else f"scatter_gather_tensor_cpu_reduce_{reduce}"
    d, idx = _scatter_checks("scatter", input, dim, index, src, kernel)
    dt = input._dtype
    if kernel is not None and idx is None and reduce == "mean":   # (its count, even with nothing to count)
        no_unsigned_kernel("masked_fill", dt)
    if reduce == "mean" and dt is D.bool or reduce in ("amax", "amin") and dt.is_complex and idx is not None:
        kernel = "div_floor_cpu" if idx is None else f"scatter_gather_tensor_cpu_reduce_{reduce}"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{dt._short}'")
    arr = _copy(input) if idx is None else _scatter_reduce_arrays(input, d, _xp(input).asarray(idx), src, reduce,
                                                                   include_self)
    res = from_array(arr, input._dtype, input._device)
    if STATE.enabled and (input._rg or src._rg):
        node = record(res, node_of(ScatterReduceBackward0, dim=d, reduce=reduce, include_self=include_self),
                      (input, src))   # no edge for the index, as torch
        node.save(index, input, src, SavedOutput(res))   # with their history: double backward works
    return write_out(out, res, "scatter_reduce", out_dtype_error) if out is not None else res


# ---- masks ----------------------------------------------------------------------------------------------
def _broadcast_pair(a: Tensor, b: Tensor) -> tuple:
    try:
        return np.broadcast_shapes(a._data.shape, b._data.shape)
    except ValueError:
        raise broadcast_error(a._data.shape, b._data.shape) from None


class MaskedFillBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (mask,) = self.saved
        gi = g.masked_fill(mask, 0) if self._next[0] is not None else None
        if len(self._next) == 1:
            return (gi,)
        gv = g.masked_fill(~mask, 0).sum() if self._next[1] is not None else None
        return gi, gv


class MaskedFillBackward1(MaskedFillBackward0):
    __slots__ = ()


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``value`` where ``mask`` is True (``mask`` broadcasts with ``input``)."""
    shape = _broadcast_pair(mask, input)   # torch's order of checks: shapes, the value's, the mask's
    no_unsigned_kernel("masked_fill", input._dtype)
    if _isinstance(value, Tensor) and value._data.ndim:
        raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value._data.ndim} dimension(s).")
    if mask._dtype is not D.bool:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{D.CPP_NAMES.get(mask._dtype, mask._dtype.name)}")
    xp = _xp(input)
    src = input._data
    arr = src.copy() if src.shape == shape else xp.array(xp.broadcast_to(src, shape))   # then fill in place
    _fill_where(xp, arr, mask._data, scalar_value(value, input._dtype, kernel=True))
    res = new_tensor(arr, input._dtype, input._device)
    if _isinstance(value, Tensor):
        if STATE.enabled and (input._rg or value._rg):
            record(res, MaskedFillBackward1(), (input, value)).save(mask)
    elif STATE.enabled and input._rg:
        record(res, MaskedFillBackward0(), (input,)).save(mask)
    return res


class MaskedSelectBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (mask,) = self.saved
        shape = np.broadcast_shapes(self._meta[0][0], mask._data.shape)
        return (masked_scatter(_zeros(shape, g), mask, g),)


def masked_select(input: Tensor, mask: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The elements of ``input`` where ``mask`` is True, as a 1-d tensor (both broadcast)."""
    if mask._dtype is not D.bool:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = _broadcast_pair(mask, input)
    no_unsigned_kernel("masked_select", input._dtype)
    xp = _xp(input)
    arr = xp.broadcast_to(input._data, shape)[xp.broadcast_to(mask._data, shape)]
    res = from_array(arr, input._dtype, input._device)
    if input._rg and STATE.enabled:
        record(res, MaskedSelectBackward0(), (input,)).save(mask)
    return write_out(out, res, "masked_select", _same_scalar_type("masked_select")) if out is not None else res


class MaskedScatterBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        from .shape import cat
        (mask,) = self.saved
        gi = g.masked_fill(mask, 0) if self._next[0] is not None else None
        gs = None
        if self._next[1] is not None:
            shape = self._meta[1][0]
            picked = masked_select(g, mask)
            rest = int(np.prod(shape)) - picked._data.size
            gs = reshape(cat([picked, _zeros((rest,), g)]) if rest else picked, shape)
        return gi, gs


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``input`` with the positions where ``mask`` is True filled, in order, from ``source``'s elements."""
    shape = _broadcast_pair(mask, input)   # torch's order of checks: shapes, dtypes, the mask's
    no_unsigned_kernel("masked_scatter", input._dtype)
    if source._dtype is not input._dtype:
        raise RuntimeError("masked_scatter: expected self and source to have same dtypes but "
                           f"got{input._dtype._short} and {source._dtype._short}")
    if mask._dtype is D.uint8:
        warn("masked_scatter_ received a mask with dtype torch.uint8, this behavior is now deprecated,"
             "please use a mask with dtype torch.bool instead.", UserWarning, stacklevel=2)
    if mask._dtype is not D.bool:
        raise RuntimeError("masked_scatter_ only supports boolean masks, but got mask with dtype "
                           f"{mask._dtype._short}")
    xp = _xp(input)
    out = xp.array(xp.broadcast_to(input._data, shape), copy=True, order="C")
    m = xp.broadcast_to(mask._data, shape)
    count = int(m.sum())
    if source._data.size < count:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    out[m] = source._data.reshape(-1)[:count]
    res = from_array(out, input._dtype, input._device)
    if STATE.enabled and (input._rg or source._rg):
        record(res, MaskedScatterBackward0(), (input, source)).save(mask)
    return res


# ---- take / put / take_along_dim -------------------------------------------------------------------------
def _flat_index(input: Tensor, index: Tensor, name: str) -> Any:
    if index._dtype is not D.int64:
        raise RuntimeError(f"{name}(): Expected a long tensor for index, but got {index._dtype._short}")
    idx = index._data.reshape(-1)
    n = input._data.size
    if not n and idx.size:
        raise IndexError("take(): tried to take from an empty tensor" if name == "take" else
                         "put_(): Tried to put elements into an empty tensor")
    _check_range(idx, n, "out of range: tried to access index {} on a tensor of {} elements.",
                 negative_ok=True)
    return _xp(input).asarray(idx)


class TakeBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (index,) = self.saved
        return (put(_zeros(self._meta[0][0], g), index, g, accumulate=True),)


def take(input: Tensor, index: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Elements of the flattened ``input`` at ``index`` (shaped like ``index``; negatives count back)."""
    idx = _flat_index(input, index, "take")
    no_unsigned_kernel("take_cpu", input._dtype)
    res = from_array(input._data.reshape(-1)[idx].reshape(index._data.shape), input._dtype, input._device)
    if input._rg and STATE.enabled:
        record(res, TakeBackward0(), (input,)).save(index)
    return write_out(out, res, "take", _take_dtype_error) if out is not None else res


def _take_dtype_error(want: D.dtype, got: D.dtype) -> RuntimeError:
    return RuntimeError(f"take(): self and out expected to have the same dtype, but got self.dtype = {want._short} "
                        f"and out.dtype = {got._short}")


class PutBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (index,) = self.saved
        gi = gs = None
        if self._next[0] is not None:
            gi = g if self.accumulate else put(g, index, _zeros(index._data.shape, g))
        if self._next[1] is not None:
            gs = reshape(take(g, index), self._meta[1][0])
        return gi, gs


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with its flattened positions ``index`` set to (or, accumulating, added) "
      "``source``."""
    if index._dtype is not D.int64:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got {index._dtype._short}")
    if source._dtype is not input._dtype:
        raise RuntimeError("put_(): self and source expected to have the same dtype, but got self.dtype = "
                           f"{input._dtype._short} and source.dtype = {source._dtype._short}")
    if source._data.size != index._data.size:
        raise IndexError("put_(): Expected source and index to have the same number of elements, but got "
                         f"source.numel() = {source._data.size}, index.numel() = {index._data.size}")
    idx = _flat_index(input, index, "put_")
    no_unsigned_kernel("take_put_cpu", input._dtype)
    xp = _xp(input)
    out = _copy(input)
    _put_arrays(xp, out.reshape(-1), (idx,), source._data.reshape(-1), accumulate)
    res = from_array(_cloned_layout(out, input), input._dtype, input._device)
    if STATE.enabled and (input._rg or source._rg):
        record(res, node_of(PutBackward0, accumulate=accumulate), (input, source)).save(index)
    return res


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None, *,
                   out: Tensor | None = None) -> Tensor:
    """``gather`` with ``indices`` and ``input`` broadcast against each other except along ``dim``
    (the flattened tensor when ``dim`` is None)."""
    if indices._dtype is not D.int64:
        raise RuntimeError("torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{indices._dtype._short}")
    if dim is None:
        res = gather(view(input, -1), 0, view(indices, -1))
        return write_out(out, res) if out is not None else res
    n = input._data.ndim
    if not n and not indices._data.ndim:
        wrap_dim(dim, 1)
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    if indices._data.ndim != n:
        raise RuntimeError("torch.take_along_dim(): input and indices should have the same number of "
                           f"dimensions, but got {n} dimensions for input, and {indices._data.ndim} "
                           "dimensions for indices")
    d = wrap_dim(dim, n)
    a_shape = list(input._data.shape)
    i_shape = list(indices._data.shape)
    a_shape[d] = i_shape[d]
    try:
        shape = list(np.broadcast_shapes(tuple(a_shape), tuple(i_shape)))
    except ValueError:
        raise broadcast_error(tuple(a_shape), tuple(i_shape)) from None
    size = input._data.shape[d]
    if indices._data.size:   # torch takes the indices modulo the dim's size
        if not size:
            raise RuntimeError("ZeroDivisionError")
        indices = from_array(_xp(indices).remainder(indices._data, size), D.int64, indices._device)
    in_shape = list(shape)
    in_shape[d] = size
    res = gather(expand(input, in_shape), d, expand(indices, shape))
    return write_out(out, res) if out is not None else res


# ---- nonzero / where ------------------------------------------------------------------------------------
def nonzero(input: Tensor, *, as_tuple: bool = False, out: Tensor | None = None) -> Any:
    """Indices of the nonzero elements: an ``(n, ndim)`` tensor, or one 1-d tensor per dim (``as_tuple``)."""
    if input._dtype.kind not in ("", "complex32"):   # torch counts them first, with no kernel for float8 and others
        raise NotImplementedError(f"\"nonzero_count_cpu\" not implemented for '{input._dtype._short}'")
    no_unsigned_kernel("nonzero_count_cpu", input._dtype)
    xp = _xp(input)
    a = input._data
    idx = xp.nonzero(a.reshape(1) if a.ndim == 0 else a)
    if as_tuple and a.ndim == 0:   # a 0-d tensor counts as 1-d here
        return nonzero(reshape(input, (1,)), as_tuple=True)
    # column-major like torch's, so the as_tuple rows are contiguous
    arr = xp.stack(idx).astype(np.int64).T if a.ndim else xp.zeros((idx[0].size, 0), np.int64)
    res = from_array(arr, D.int64, input._device)
    if as_tuple:   # views of the (n, ndim) result, as torch
        return unbind(res, 1)
    return write_out(out, res) if out is not None else res


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: an ``(n, ndim)`` tensor of the nonzero positions."""
    return nonzero(input)


class WhereBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (cond,) = self.saved
        return (g.masked_fill(~cond, 0) if self._next[0] is not None else None,
                g.masked_fill(cond, 0) if self._next[1] is not None else None)


_WHERE_UINT8 = ["where received a uint8 condition tensor. This behavior is deprecated and will be removed in a "
                 "future version of PyTorch. Use a boolean condition instead."]   # emptied once warned


_ABSENT: Any = object()


def _where_args(condition: Tensor, input: Any, other: Any, out: Tensor | None) -> None:
    """torch's argument checks of ``where``: its overloads (numbers only without ``out=``), the condition's
    dtype (uint8 still taken, with a deprecation warning once)."""
    missing = input is None or other is None or input is _ABSENT or other is _ABSENT
    if missing or out is not None and not (_isinstance(input, Tensor) and _isinstance(other, Tensor)):
        if out is not None and not missing:
            arg, pos, x = ("input", 2, input) if not _isinstance(input, Tensor) else ("other", 3, other)
            raise TypeError(f"where(): argument '{arg}' (position {pos}) must be Tensor, not {type(x).__name__}")
        got = ", ".join(type(x).__name__ for x in (condition, input, other) if x is not _ABSENT)
        raise TypeError(f"where() received an invalid combination of arguments - got ({got}"
                        f"{', out=Tensor' if out is not None else ''}), but expected one of:")
    if condition._dtype is D.uint8:
        if _WHERE_UINT8:
            warn(_WHERE_UINT8.pop(), UserWarning, stacklevel=3)
    elif condition._dtype is not D.bool:
        raise RuntimeError("where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{condition._dtype._short}")


def where(condition: Tensor, input: Any = _ABSENT, other: Any = _ABSENT, *, out: Tensor | None = None) -> Any:
    """``input`` where ``condition`` else ``other``; with one argument, ``nonzero(as_tuple=True)``."""
    if input is _ABSENT and other is _ABSENT and out is None:
        return nonzero(condition, as_tuple=True)
    dt = binary_dtype(input, other) if _isinstance(input, Tensor) and _isinstance(other, Tensor) else None
    if out is not None and dt is not None and out._dtype is not dt:
        raise RuntimeError(f"Expected out type to be {dt._short} but got {out._dtype._short}")
    _where_args(condition, input, other, out)
    dt = dt or binary_dtype(input, other)
    like = input if _isinstance(input, Tensor) else other if _isinstance(other, Tensor) else condition
    xp = _xp(like)
    a = input._data if _isinstance(input, Tensor) else scalar_value(input, dt)
    b = other._data if _isinstance(other, Tensor) else scalar_value(other, dt)
    mask = condition._data if condition._dtype is D.bool else condition._data.astype(bool)
    try:
        arr = xp.where(mask, xp.asarray(a, dtype=dt.np), xp.asarray(b, dtype=dt.np))
    except ValueError:
        broadcast_shapes(condition._data.shape, xp.shape(a), xp.shape(b))   # torch's error
        raise
    if not condition._data.flags.c_contiguous:
        arr = follow_first(arr, condition._data, xp)
    res = new_tensor(arr, dt, like._device)
    if STATE.enabled and any(_isinstance(t, Tensor) and t._rg for t in (input, other)):
        record(res, WhereBackward0(), (input, other)).save(condition)   # no edge for the condition, as torch
    return write_out(out, res) if out is not None else res


def _where_method(self: Tensor, condition: Tensor, other: Any = _ABSENT) -> Tensor:
    """``self.where(condition, other)``: ``where(condition, self, other)``."""
    if other is _ABSENT or not _isinstance(condition, Tensor):
        got = ", ".join(type(x).__name__ for x in (condition, other) if x is not _ABSENT)
        raise TypeError(f"where() received an invalid combination of arguments - got ({got}), but expected one of:")
    return where(condition, self, other)


# ---- in-place variants ------------------------------------------------------------------------------------
def _dense(a: Any) -> bool:
    return a.flags.c_contiguous or a.flags.f_contiguous


def _check_inputs_apart(self: Tensor, args: tuple, kwargs: dict) -> None:
    """torch's error when a tensor argument shares memory with ``self`` (checked, as torch, only where both are
    dense: their memory ranges then tell)."""
    a = self._data
    for t in (*args, *kwargs.values()):
        if _isinstance(t, Tensor) and t._data.size and a.size and _dense(a) and _dense(t._data) and \
                np.may_share_memory(a, t._data):
            raise RuntimeError("unsupported operation: some elements of the input tensor and the written-to tensor "
                               "refer to a single memory location. Please clone() the tensor before performing the "
                               "operation.")


def _inplace_variant(fn: Any, name: str, written: Callable[..., Any] | None = None, apart: bool = False) -> Any:
    """``fn_``: run ``fn`` out of place and write the result into ``self`` (recorded for autograd).
    ``written(self, *args)``: a boolean array (broadcasting to ``self``) of the elements the op writes, for
    ops that torch lets write into an expanded tensor (those elements only, one by one); ``apart``: torch
    refuses tensor arguments sharing memory with ``self``."""
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        check_inplace(self)
        if apart:
            _check_inputs_apart(self, args, kwargs)
        grad = STATE.enabled and (self._rg or any(_isinstance(a, Tensor) and a._rg
                                                  for a in (*args, *kwargs.values())))
        res = fn(history_alias(self) if grad else self, *args, **kwargs)
        if res._data.shape != self._data.shape:
            raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the broadcast "
                               f"shape {list(res._data.shape)}")
        if grad:
            return inplace(self, res)
        try:
            self._data[...] = res._data
        except ValueError:
            if written is None:
                raise _overlap_error() from None
            np.copyto(_writable(self._data, (name,)), res._data, where=written(self, *args, **kwargs))
        self._vc[0] += 1
        return self
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place ``{fn.__name__}``."
    return method


def _index_filled(self: Tensor, dim: int, index: Tensor, value: Any) -> Any:
    """Where ``index_fill_`` writes: the slices at ``index`` along ``dim``."""
    sel = np.zeros(self._data.shape, bool)
    _front(sel, wrap_dim(dim, sel.ndim))[index._data] = True
    return sel


index_add_ = _inplace_variant(index_add, "index_add_", apart=True)
index_copy_ = _inplace_variant(index_copy, "index_copy_", apart=True)
index_fill_ = _inplace_variant(index_fill, "index_fill_", _index_filled)
scatter_ = _inplace_variant(scatter, "scatter_", apart=True)
scatter_add_ = _inplace_variant(scatter_add, "scatter_add_", apart=True)
scatter_reduce_ = _inplace_variant(scatter_reduce, "scatter_reduce_", apart=True)
_masked_fill_inplace = _inplace_variant(masked_fill, "masked_fill_", lambda self, mask, value: mask._data)


def masked_fill_(self: Tensor, mask: Tensor, value: Any) -> Tensor:
    """In place: ``value`` where ``mask`` (broadcast to ``self``'s shape) is True."""
    _broadcast_pair(self, mask)
    return _masked_fill_inplace(self, mask, value)
masked_scatter_ = _inplace_variant(masked_scatter, "masked_scatter_")
put_ = _inplace_variant(put, "put_", apart=True)

bind({"__getitem__": getitem, "__setitem__": setitem, "index_put": index_put, "index_put_": index_put_,
      "index_select": index_select, "index_add": index_add, "index_add_": index_add_,
      "index_copy": index_copy,
      "index_copy_": index_copy_, "index_fill": index_fill, "index_fill_": index_fill_, "gather": gather,
      "scatter": scatter, "scatter_": scatter_, "scatter_add": scatter_add, "scatter_add_": scatter_add_,
      "scatter_reduce": scatter_reduce, "scatter_reduce_": scatter_reduce_, "masked_fill": masked_fill,
      "masked_fill_": masked_fill_, "masked_select": masked_select, "masked_scatter": masked_scatter,
      "masked_scatter_": masked_scatter_, "take": take, "take_along_dim": take_along_dim, "put": put,
      "put_": put_, "nonzero": nonzero, "argwhere": argwhere,
      "where": _where_method})

__all__ = ["index_put", "index_put_", "index_select", "index_add", "index_copy", "index_fill", "gather",
           "scatter",
           "scatter_add", "scatter_reduce", "masked_fill", "masked_select", "masked_scatter", "take",
           "take_along_dim", "put", "nonzero", "argwhere", "where", "index_add_", "index_copy_",
           "index_fill_",
           "scatter_", "scatter_add_", "scatter_reduce_", "masked_fill_", "masked_scatter_", "put_"]
