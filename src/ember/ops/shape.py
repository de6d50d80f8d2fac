"""Joining and rearranging: cat/stack and friends, repeat/tile, flip/roll/rot90, the ``*_scatter`` ops,
meshgrid and atleast_nd. Results are new tensors (except meshgrid/atleast_nd, which return views)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU
from .._core.memory_format import contiguous_format, suggest_memory_format
from ..autograd.grad_mode import STATE
from ._dispatch import (
    Node,
    Tensor,
    bind,
    check_same_device,
    from_array,
    out_dtype_error,
    record,
    sized,
    wrap_dim,
    write_out,
    xp_of,
)
from ._signature import type_name
from .creation import copy_like, dense_in
from .views import (
    SelectBackward0,
    SliceBackward0,
    basic_index,
    contiguous_copy,
    diagonal,
    diagonal_dims,
    expand,
    int_arg,
    int_list,
    narrow_args,
    node_of,
    reshape,
    unbind,
    unique_dims,
    unsqueeze,
    warn_once,
)

_isinstance = isinstance


def _xp(t: Tensor) -> Any:
    return np if t._device is CPU else xp_of(t._device)


def _result(arr: Any, like: Tensor, cls: type[Node], **attrs: Any) -> Tensor:
    """Wrap ``arr`` (of ``like``'s dtype) as a new tensor; when ``like`` requires grad, record a ``cls``
    node carrying ``attrs``."""
    t = from_array(arr, like._dtype, like._device)
    if like._rg and STATE.enabled:
        record(t, node_of(cls, **attrs), (like,))
    return t


def _dims(dims: Any, n: int, fn: str) -> tuple[int, ...]:
    """``dims`` (an int or a sequence) wrapped, with torch's errors for repeats and wrong types."""
    if not _isinstance(dims, (int, np.integer, list, tuple)):
        raise TypeError(f"{fn}(): argument 'dims' (position 1) must be tuple of ints, not "
                        f"{type(dims).__name__}")
    raw = [dims] if _isinstance(dims, (int, np.integer)) else list(int_list((dims,), fn, "dims"))
    return unique_dims([int(d) for d in raw], n)


# ---- cat / stack -----------------------------------------------------------------------------------------
def _tensors(tensors: Any, name: str) -> list[Tensor]:
    if _isinstance(tensors, Tensor):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor")
    ts = list(tensors)
    if not all(issubclass(tp, Tensor) for tp in set(map(type, ts))):   # (the few distinct types, not each element)
        i, t = next((i, t) for i, t in enumerate(ts) if not _isinstance(t, Tensor))
        raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type_name(t)}")
    if not ts:
        if name == "cat":
            raise ValueError("torch.cat(): expected a non-empty list of Tensors")
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return ts


def _promoted(ts: list[Tensor]) -> D.dtype:
    """The promoted dtype of ``ts`` (all on one device, as torch requires)."""
    first = ts[0]
    dt = first._dtype
    for t in ts:
        if t._dtype is not dt:
            dt = D.promote_types(dt, t._dtype)
        if t._device is not first._device:
            check_same_device(first, t)
    return dt


_requires_grad = attrgetter("_rg")


class CatBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        out, start = [], 0
        for shape, _ in self._meta:
            if shape == (0,) and g._data.ndim != 1:
                out.append(None)
                continue
            n = shape[self.dim]
            out.append(basic_index(g, (slice(None),) * self.dim + (slice(start, start + n),), SliceBackward0))
            start += n
        return tuple(out)


def cat(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None,
        out: Tensor | None = None) -> Tensor:
    """Concatenate along ``dim`` (``axis`` is NumPy's name for it); dtypes promote; legacy 1-d empty
    tensors are skipped, as torch."""
    ts = _tensors(tensors, "cat")
    if out is None and any(t._sparse_layout and t.is_sparse for t in ts):   # sparse COO: ember.sparse
        from ..sparse._coo import sparse_cat
        return sparse_cat(ts, dim if axis is None else axis)
    dt = _promoted(ts)
    parts = []
    for i, t in enumerate(ts):
        a = t._data
        if a.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
        if a.shape != (0,):
            parts.append((i, a))
    ref = parts[0][1] if parts else ts[0]._data
    d = wrap_dim(dim if axis is None else axis, ref.ndim) if parts else 0   # all legacy empties: unchecked
    _check_out_cast(dt, out)
    rshape, npdt = ref.shape, dt.np
    arrays, n = [], 0
    for i, a in parts:
        shape = a.shape
        if shape != rshape:
            if len(shape) != len(rshape):
                raise RuntimeError(f"Tensors must have same number of dimensions: got {len(rshape)} and "
                                   f"{len(shape)}")
            if shape[:d] != rshape[:d] or shape[d + 1:] != rshape[d + 1:]:
                a, b = next((a, b) for k, (a, b) in enumerate(zip(rshape, shape, strict=True))
                            if k != d and a != b)
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size {a} but "
                                   f"got size {b} for tensor number {i} in the list.")
        arrays.append(a if a.dtype == npdt else a.astype(npdt))
        n += shape[d]
    if not arrays:
        arrays, n = [ref.astype(npdt)], ref.shape[0]
    res = from_array(_concatenated(_xp(ts[0]), arrays, d, n), dt, ts[0]._device)
    if STATE.enabled and any(map(_requires_grad, ts)):
        record(res, node_of(CatBackward0, dim=d), ts)
    return write_out(out, res) if out is not None else res


concat = concatenate = cat


def _check_out_cast(dt: D.dtype, out: Tensor | None) -> None:
    """torch.cat's check of an ``out=`` tensor's dtype (before the shapes; stack's, hstack's... too)."""
    if _isinstance(out, Tensor) and not D.can_cast(dt, out._dtype):
        raise TypeError(f"torch.cat(): input types can't be cast to the desired output type {out._dtype._short}")


def _concatenated(xp: Any, arrays: list, d: int, n: int) -> Any:
    """``arrays`` joined along ``d`` (``n``: the sum of their sizes there), laid out as torch's cat: for 4-d/5-d,
    the inputs' memory format when they share one, else (and for any other rank, whatever the inputs' layouts)
    contiguous."""
    shape = arrays[0].shape
    if len(shape) in (4, 5):
        r = xp.concatenate(arrays, axis=d)
    else:   # (NumPy would follow the inputs' layouts)
        r = xp.empty(shape[:d] + (n,) + shape[d + 1:], arrays[0].dtype)
        xp.concatenate(arrays, axis=d, out=r)
    if r.ndim in (4, 5) and not r.flags.c_contiguous:
        fmts = {suggest_memory_format(a.shape, tuple(s // a.itemsize for s in a.strides)) for a in arrays}
        r = dense_in(r, fmts.pop() if len(fmts) == 1 else contiguous_format, xp)
    return r


class StackBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return unbind(g, self.dim)


def stack(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None,
          out: Tensor | None = None) -> Tensor:
    """Join equal-shaped tensors along a new dim (``axis``: NumPy's name for ``dim``)."""
    dim = dim if axis is None else axis
    ts = _tensors(tensors, "stack")
    if out is None and any(t._sparse_layout and t.is_sparse for t in ts):   # sparse COO: ember.sparse
        from ..sparse._coo import sparse_stack
        return sparse_stack(ts, dim)
    shape = ts[0]._data.shape
    d = wrap_dim(dim, len(shape) + 1)
    for i, t in enumerate(ts[1:], 1):
        if t._data.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shape)} at entry "
                               f"0 and {list(t._data.shape)} at entry {i}")
    dt = _promoted(ts)
    _check_out_cast(dt, out)
    xp = _xp(ts[0])
    arrays = [t._data.astype(dt.np, copy=False) for t in ts]
    if d < len(shape) and len(shape) in (4, 5):   # torch's layout: the cat along d, its dim d split in two
        r = _concatenated(xp, arrays, d, len(arrays) * shape[d]).reshape(shape[:d] + (len(arrays),) + shape[d:])
    elif xp is np and d == 0:   # contiguous: np.array copies equal arrays into a new leading dim fastest
        r = np.array(arrays, dtype=dt.np)
    else:   # contiguous, as torch, whatever the inputs' layouts (xp.stack's concatenation, without its checks)
        r = xp.empty(shape[:d] + (len(arrays),) + shape[d:], dt.np)
        at = (slice(None),) * d + (None,)
        xp.concatenate([a[at] for a in arrays], axis=d, out=r)
    res = from_array(r, dt, ts[0]._device)
    if STATE.enabled and any(map(_requires_grad, ts)):
        record(res, node_of(StackBackward0, dim=d), ts)
    return write_out(out, res) if out is not None else res


def hstack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    """Concatenate along dim 1 (dim 0 for 1-d inputs); 0-d inputs count as 1-d."""
    ts = [atleast_1d(t) for t in _tensors(tensors, "hstack")]
    return cat(ts, 0 if ts[0]._data.ndim == 1 else 1, out=out)


def vstack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    """Concatenate along dim 0 after making inputs at least 2-d."""
    return cat([atleast_2d(t) for t in _tensors(tensors, "vstack")], 0, out=out)


row_stack = vstack


def dstack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    """Concatenate along dim 2 after making inputs at least 3-d."""
    return cat([atleast_3d(t) for t in _tensors(tensors, "dstack")], 2, out=out)


def column_stack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    """Concatenate along dim 1, 0-d/1-d inputs as columns."""
    ts = [reshape(t, (-1, 1)) if t._data.ndim <= 1 else t for t in _tensors(tensors, "column_stack")]
    return cat(ts, 1, out=out)


# ---- atleast_nd / meshgrid (views) ---------------------------------------------------------------------
def _each(tensors: tuple, fn: Callable[[Tensor], Tensor], name: str) -> Any:
    """Apply ``fn`` to one tensor (returning a tensor) or to several / a sequence (returning a tuple)."""
    if len(tensors) == 1 and _isinstance(tensors[0], Tensor):
        return fn(tensors[0])
    seq = tensors[0] if len(tensors) == 1 and _isinstance(tensors[0], (list, tuple)) else tensors
    for t in seq:
        if not _isinstance(t, Tensor):
            raise TypeError(f"{name}() received an invalid combination of arguments - got "
                            f"({type(t).__name__}), but expected one of:\n * (Tensor input)\n * (tuple of "
                            "Tensors tensors)\n")
    return tuple(fn(t) for t in seq)


def _at_least_1d(t: Tensor) -> Tensor:
    return reshape(t, (1,)) if t._data.ndim == 0 else t


def _at_least_2d(t: Tensor) -> Tensor:
    n = t._data.ndim
    return reshape(t, (1, 1)) if n == 0 else unsqueeze(t, 0) if n == 1 else t


def _at_least_3d(t: Tensor) -> Tensor:
    n = t._data.ndim
    if n == 0:
        return reshape(t, (1, 1, 1))
    if n == 1:
        return unsqueeze(unsqueeze(t, 0), -1)
    return unsqueeze(t, -1) if n == 2 else t


def atleast_1d(*tensors: Any) -> Any:
    """Each tensor viewed with at least 1 dim (a tensor for one input, else a tuple)."""
    return _each(tensors, _at_least_1d, "atleast_1d")


def atleast_2d(*tensors: Any) -> Any:
    """Each tensor viewed with at least 2 dims (a tensor for one input, else a tuple)."""
    return _each(tensors, _at_least_2d, "atleast_2d")


def atleast_3d(*tensors: Any) -> Any:
    """Each tensor viewed with at least 3 dims (a tensor for one input, else a tuple)."""
    return _each(tensors, _at_least_3d, "atleast_3d")


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Coordinate grids (expanded views) of 0-d/1-d tensors; ``indexing='xy'`` swaps the first two dims."""
    if len(tensors) == 1 and not _isinstance(tensors[0], Tensor):
        tensors = tuple(tensors[0])
    if indexing is None:
        warn_once("torch.meshgrid: in an upcoming release, it will be required to pass the indexing "
                  "argument.")
        indexing = "ij"
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t}")
        if t._dtype is not tensors[0]._dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
        if t._device is not tensors[0]._device:
            raise RuntimeError("meshgrid expects all tensors to have the same device")
    if indexing not in ("xy", "ij"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    ts = list(tensors)
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t._data.size for t in ts)
    grids = []
    for i, t in enumerate(ts):
        vshape = [1] * len(ts)
        vshape[i] = -1
        grids.append(expand(reshape(t, vshape), shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


# ---- repeat / tile / repeat_interleave ------------------------------------------------------------------
class RepeatBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        padded, reps = self.padded, self.repeats
        split = tuple(v for r, s in zip(reps, padded, strict=True) for v in (r, s))
        summed = reshape(g, split).sum(tuple(range(0, len(split), 2)))
        return (reshape(summed, self._meta[0][0]),)


def repeat(self: Tensor, *args: Any, repeats: Any = None) -> Tensor:
    """Tile the tensor ``repeats`` times along each dim (extra leading repeats add dims)."""
    reps = int_list(sized(args, repeats, "repeat", "repeats"), "repeat", "repeats")
    shape = self._data.shape
    if len(reps) < len(shape):
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of "
                           "dimensions of tensor")
    padded = (1,) * (len(reps) - len(shape)) + shape
    target = [r * s for r, s in zip(reps, padded, strict=True)]
    for s in target:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {target}")
    xp = _xp(self)
    if not reps:
        arr = self._data.copy()
    elif 0 in target:   # (NumPy's tile of an empty array may be a view of it)
        arr = xp.empty(tuple(target), self._data.dtype)
    else:
        arr = xp.ascontiguousarray(xp.tile(self._data.reshape(padded), reps))
    return _result(arr, self, RepeatBackward0, padded=padded, repeats=reps)


def tile(input: Tensor, dims: Any, *more: Any) -> Tensor:
    """``repeat`` with ``dims`` padded with leading 1s to the tensor's number of dims (the method takes them as
    ``x.tile(1, 2)`` too)."""
    reps = int_list((dims, *more) if more or _isinstance(dims, (int, np.integer)) else (dims,), "tile", "dims")
    return repeat(input, (1,) * (input._data.ndim - len(reps)) + reps)


def repeat_interleave(input: Tensor, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each element (or slice along ``dim``) ``repeats`` times; ``repeat_interleave(r)`` gives the
    indices ``0..len(r)-1`` each repeated ``r[i]`` times."""
    from .indexing import index_select
    if repeats is None:
        return _repeat_indices(input, output_size)
    if dim is None:
        input, d = reshape(input, (-1,)), 0
    elif input._data.ndim or not _isinstance(repeats, Tensor):
        d = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[d] if input._data.ndim else 1
    if not _isinstance(repeats, Tensor):
        r = int(repeats)
        if r < 0:
            raise RuntimeError("Repeats must be non-negative")
        if dim is not None and not input._data.ndim:   # torch unsqueezes the 0-d input at dim + 1
            wrap_dim(d + 1, 0)
        if output_size is not None and output_size != size * r:
            raise RuntimeError(f"repeat_interleave: Invalid output_size, expected {size * r} but got "
                               f"{output_size}")
        x = input if input._data.ndim else reshape(input, (1,))
        grown = expand(unsqueeze(x, d + 1), x._data.shape[:d + 1] + (r,) + x._data.shape[d + 1:])
        c = contiguous_copy(grown)
        return reshape(c, x._data.shape[:d] + (size * r,) + x._data.shape[d + 1:])
    if repeats._data.ndim > 1:
        raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
    if dim is not None and not input._data.ndim:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    counts = repeats._data.reshape(-1)
    if counts.size == 1:
        counts = _xp(repeats).broadcast_to(counts, (size,))
    idx = _repeat_indices(from_array(counts, repeats._dtype, repeats._device), output_size, size,
                          0 if dim is None else dim)
    x = input if input._data.ndim else reshape(input, (1,))
    return index_select(x, d, idx)


def _repeat_indices(repeats: Tensor, output_size: int | None, expected: int | None = None, dim: int = 0) -> Tensor:
    if repeats._dtype not in (D.int32, D.int64):
        raise NotImplementedError(f'"repeat_interleave_cpu" not implemented for \'{repeats._dtype._short}\'')
    if repeats._data.ndim != 1:
        raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
    counts = repeats._data
    if expected is not None and counts.size != expected:
        raise RuntimeError("repeats must have the same size as input along dim, but got repeats.size(0) = "
                           f"{counts.size} and input.size({dim}) = {expected}")
    xp = _xp(repeats)
    if counts.size and int(counts.min()) < 0:
        raise RuntimeError("repeats can not be negative")
    if output_size is not None and counts.size and int(counts.sum()) != output_size:
        raise RuntimeError("allocated size does not match required size")
    reps = counts if xp is np else counts.tolist()   # CuPy's repeat takes counts as a list
    return from_array(xp.repeat(xp.arange(counts.size, dtype=counts.dtype), reps), repeats._dtype,
                      repeats._device)


# ---- flip / roll / rot90 ---------------------------------------------------------------------------------
class FlipBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (flip(g, self.dims),)


def _canonical_copy(xp: Any, arr: Any) -> Any:
    """A C-contiguous copy of ``arr`` with torch's strides for a new tensor (NumPy's copies may keep a size-1
    dim's own stride)."""
    out = xp.empty(arr.shape, arr.dtype)
    out[...] = arr
    return out


def _copy_k(xp: Any, arr: Any) -> Any:
    """A copy of ``arr`` laid out like it (positive strides), as torch's elementwise results."""
    return xp.array(arr, copy=True, order="K")


def flip(input: Tensor, dims: Any) -> Tensor:
    """A copy with the order of elements reversed along ``dims``."""
    d = _dims(dims, input._data.ndim, "flip")
    return _result(_flipped(_xp(input), input._data, d), input, FlipBackward0, dims=d)


def _flipped(xp: Any, a: Any, dims: tuple[int, ...]) -> Any:
    """A copy of ``a`` reversed along ``dims``, laid out as torch's flip lays it out."""
    return copy_like(xp.flip(a, axis=dims) if dims and a.ndim else a, a, xp)


def _flip_method(self: Tensor, *args: Any, dims: Any = None) -> Tensor:
    args = sized(args, dims, "flip", "dims")
    return flip(self, args[0] if len(args) == 1 else args)


def _delitem(self: Tensor, key: Any) -> None:
    raise TypeError("Tensor does not support deleting items")


def fliplr(input: Tensor) -> Tensor:
    """``flip`` along dim 1 (needs at least 2 dims)."""
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    """``flip`` along dim 0 (needs at least 1 dim)."""
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, (0,))


class RollBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (roll(g, tuple(-s for s in self.shifts), self.dims),)


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Rotate elements along ``dims`` by ``shifts`` (the flattened tensor when ``dims`` is None)."""
    sh = [shifts] if _isinstance(shifts, (int, np.integer, Tensor)) else list(shifts)
    sh = [int(s) for s in sh]
    dl = [] if dims is None else [dims] if _isinstance(dims, (int, np.integer)) else list(dims)
    if not sh:
        raise RuntimeError("`shifts` required")
    if (dims is None and len(sh) != 1) or (dims is not None and len(sh) != len(dl)):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, dims:{len(dl)}")
    n = input._data.ndim
    if n == 0 and dl:
        raise IndexError(f"Dimension specified as {int(dl[0])} but tensor has no dimensions")
    xp = _xp(input)
    a = input._data
    if not a.size:   # nothing moves: a copy (contiguous for the flattened roll), its dims unchecked (as torch)
        arr = xp.empty(a.shape, a.dtype) if dims is None else copy_like(a, a, xp)
        return _result(arr, input, RollBackward0, shifts=tuple(sh), dims=None if dims is None else
                       tuple(int(x) for x in dl))
    d = tuple(wrap_dim(int(x), n) for x in dl)
    if dims is None:
        arr = xp.roll(a.reshape(-1), sh[0]).reshape(a.shape)
    else:
        arr = xp.roll(a, tuple(sh), axis=d)
        if not arr.flags.c_contiguous or 1 in arr.shape:   # contiguous, as torch's (size-1 dims' strides too)
            arr = _canonical_copy(xp, arr)
    return _result(arr, input, RollBackward0, shifts=tuple(sh), dims=None if dims is None else d)


class Rot90Backward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (rot90(g, -self.k, self.dims),)


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotate by 90° ``k`` times in the plane of ``dims`` (from the first towards the second)."""
    dims = tuple(dims)
    n = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if n < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {n}")
    d0, d1 = wrap_dim(dims[0], n), wrap_dim(dims[1], n)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = "
                           f"{dims[1]}")
    k = int(k) % 4
    xp = _xp(input)
    a = input._data
    if k == 1:
        arr = _flipped(xp, a, (d1,)).swapaxes(d0, d1)
    elif k == 2:
        arr = _flipped(xp, a, (d0, d1))
    elif k == 3:
        arr = _flipped(xp, a, (d0,)).swapaxes(d0, d1)
    else:   # a contiguous clone, as torch
        arr = xp.array(a, copy=True, order="C")
    return _result(arr, input, Rot90Backward0, k=k, dims=(d0, d1))


# ---- narrow_copy and the *_scatter family ---------------------------------------------------------------
class NarrowCopyBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        z = from_array(_xp(g).zeros(self._meta[0][0], g._dtype.np), g._dtype, g._device)
        return (slice_scatter(z, g, self.dim, self.start, self.start + g._data.shape[self.dim]),)


def narrow_copy(input: Tensor, dim: int, start: Any, length: int, *, out: Tensor | None = None) -> Tensor:
    """A contiguous copy of ``narrow(dim, start, length)``."""
    if out is None and getattr(input, "_sparse_layout", False):   # sparse: ember.sparse's method
        return input.narrow_copy(dim, start, length)
    d, s, n = narrow_args(input, dim, start, length, "narrow_copy")
    arr = _xp(input).ascontiguousarray(input._data[(slice(None),) * d + (slice(s, s + n),)]).copy()
    res = _result(arr, input, NarrowCopyBackward0, dim=d, start=s)
    return res if out is None else write_out(out, res, "narrow_copy")


class _ScatterIntoViewBackward(Node):
    """Gradient of ``input`` with ``src`` written into ``view_of(input)``: the gradient with that view
    zeroed for ``input``; the view of the gradient for ``src``."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        shape, dt = self._meta[1]
        zeros = from_array(_xp(g).zeros(shape, g._dtype.np), g._dtype, g._device)
        gi = _scatter_into_view(g, zeros, self.view_of, type(self)) if self._next[0] is not None else None
        gs = self.view_of(g) if self._next[1] is not None else None
        return gi, gs


class DiagonalScatterBackward0(_ScatterIntoViewBackward):
    __slots__ = ()


class SelectScatterBackward0(_ScatterIntoViewBackward):
    __slots__ = ()


class SliceScatterBackward0(_ScatterIntoViewBackward):
    __slots__ = ()


def _scatter_into_view(input: Tensor, src: Tensor, view_of: Callable[[Tensor], Tensor],
                       cls: type[Node]) -> Tensor:
    """A copy of ``input`` whose view ``view_of(copy)`` holds ``src`` (cast to ``input``'s dtype)."""
    out = from_array(_copy_k(_xp(input), input._data), input._dtype, input._device)
    target = view_of(out)._data
    if target.shape != src._data.shape:
        raise RuntimeError("expected src to have a size equal to the slice of self. src size = "
                           f"{list(src._data.shape)}, slice size = {list(target.shape)}")
    target[...] = src._data.astype(input._dtype.np, copy=False)
    if STATE.enabled and (input._rg or src._rg):
        record(out, node_of(cls, view_of=view_of), (input, src))
    return out


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """``input`` with its diagonal (as ``diagonal(offset, dim1, dim2)``) replaced by ``src``."""
    d1, d2 = diagonal_dims(input, dim1, dim2)
    return _scatter_into_view(input, src, lambda t: diagonal(t, offset, d1, d2), DiagonalScatterBackward0)


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """``input`` with ``input.select(dim, index)`` replaced by ``src``."""
    from .views import select
    d = wrap_dim(dim, input._data.ndim)
    index = int_arg(index, "select_scatter", "index", 4)
    select(input.detach(), d, index)   # torch's range check and message
    key = (slice(None),) * d + (index % input._data.shape[d],)
    return _scatter_into_view(input, src, lambda t: basic_index(t, key, SelectBackward0),
                              SelectScatterBackward0)


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
                  step: int = 1, *, out: Tensor | None = None) -> Tensor:
    """``input`` with ``input[start:end:step]`` along ``dim`` replaced by ``src``."""
    if not input._data.ndim:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, input._data.ndim)
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    key = (slice(None),) * d + (slice(start, end, step),)
    res = _scatter_into_view(input, src, lambda t: basic_index(t, key, SliceBackward0), SliceScatterBackward0)
    return write_out(out, res, "aten::slice_scatter", out_dtype_error) if out is not None else res


bind({
    "repeat": repeat, "tile": tile, "repeat_interleave": repeat_interleave, "flip": _flip_method,
    "__delitem__": _delitem,
    "fliplr": fliplr, "flipud": flipud, "roll": roll, "rot90": rot90, "narrow_copy": narrow_copy,
    "diagonal_scatter": diagonal_scatter, "select_scatter": select_scatter, "slice_scatter": slice_scatter,
})

__all__ = ["cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack", "column_stack",
           "atleast_1d", "atleast_2d", "atleast_3d", "meshgrid", "repeat_interleave", "tile", "flip",
           "fliplr",
           "flipud", "roll", "rot90", "narrow_copy", "diagonal_scatter", "select_scatter", "slice_scatter"]
