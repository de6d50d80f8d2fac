"""Sparse COO tensors (``layout=torch.sparse_coo``): storage, construction, arithmetic and autograd.

Mechanism. A sparse tensor is a :class:`SparseTensor`, a subclass of ``ember.Tensor`` that presents
itself as ``Tensor`` (``isinstance`` holds and ``type(t).__name__ == 'Tensor'``, as torch's sparse
tensors are plain ``torch.Tensor``). Its ``_data`` slot, which holds the array of a dense tensor, holds a
:class:`SparseStorage` instead: ``indices`` (int64, sparse_dim × nnz), ``values`` (nnz × dense sizes), the
size and the coalesced flag. The storage answers only the metadata every tensor answers (``shape``,
``ndim``, ``size`` = numel, ``dtype``), so autograd records, shape checks and ``t.shape``/``dim()``/
``numel()`` work unchanged; anything else a dense code path does with it (array attributes and methods,
indexing, arithmetic, NumPy conversion, ufuncs) raises torch's ``NotImplementedError`` "Could not run
'aten::<op>' with arguments from the 'SparseCPU' backend", the op being the outermost ember function on
the stack. Dense code therefore never silently reads a sparse tensor as dense; sparse support grows by
overriding methods here (and by small ``if t.is_sparse`` hooks at dense entry points such as ``mm``).

Two array operations are implemented on the storage because autograd's leaf accumulation uses them:
``storage += storage`` (sparse gradients add by concatenation, uncoalesced, as in torch) and
``dense += storage`` (a dense ``.grad`` plus a sparse one, added entry by entry in order).

Forward kernels run on ``xp`` arrays (vectorised: ``unique``/``argsort``/``reduceat``, no loops over
nonzeros; torch's sequential merge of two *unsorted* entry lists is resolved level by level, see
:func:`_merge_picks`); backward formulas are ember ops (indexing, ``mm``) and the sparse ops of this module.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU, canonical, xp_of, xp_of_array
from .._core.fma import multiply_wide, wide_dtype
from .._core.warn import warn
from .._tensor import Tensor, from_array, wrap_dim
from ..ops._dispatch import make_node_class, needs_grad, record
from ..ops.extra import _LAYOUTS, layout
from ..ops.views import permutation

__all__ = ["sparse_coo", "SparseTensor", "check_sparse_tensor_invariants", "sparse_coo_tensor", "to_sparse",
           "sparse_sum", "sparse_mm", "sparse_addmm", "mm_dense", "addmm_dense", "smm", "hspmm", "sspaddmm",
           "sparse_softmax", "embedding_grad", "is_sparse"]

sparse_coo = layout("sparse_coo")
_LAYOUTS["sparse_coo"] = sparse_coo

_EMBER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _calling_op() -> str:
    """The outermost ember function on the stack (the op the user called), for the error text."""
    f: Any = sys._getframe(2)
    name = None
    while f is not None:
        path = f.f_code.co_filename
        if path.startswith(_EMBER_DIR):
            if not path.startswith(_HERE):
                name = f.f_code.co_name
                loc = f.f_locals
                if name in ("op", "op_") and isinstance(loc.get("name"), str):   # a factory-built op: its name
                    name = loc["name"] + name[2:]
                elif name in ("wrapper", "<lambda>", "inner") or name.startswith("call"):   # a decorator's frame
                    inner = next((loc[k] for k in ("fn", "func", "step", "f", "inner") if callable(loc.get(k))), None)
                    name = getattr(inner, "__name__", name)
        elif name is not None:
            break
        f = f.f_back
    return (name or "unknown").lstrip("_") or "unknown"


# the operators torch's dispatcher names where ember's function is named otherwise (the norms: torch computes
# them all with linalg_vector_norm; torch.norm on a compressed layout reaches norm.out)
_ATEN_NAMES = {"vector_norm": "linalg_vector_norm", "matrix_norm": "linalg_vector_norm",
               "linalg_norm": "linalg_vector_norm", "norm": "norm.out"}


def not_implemented(op: str, backend: str = "SparseCPU") -> NotImplementedError:
    """torch's dispatcher error for an operator without a sparse kernel."""
    return NotImplementedError(
        f"Could not run 'aten::{op}' with arguments from the '{backend}' backend. This could be because the "
        "operator doesn't exist for this backend, or was omitted during the selective/custom build process "
        "(if using custom build).")


class _Flags:
    __slots__ = ()
    c_contiguous = True   # the storage owns its arrays (autograd may keep a sparse gradient without a copy)
    f_contiguous = False


class SparseStorage:
    """What a sparse tensor holds in ``_data``: COO arrays plus size; refuses use as a dense array."""

    __slots__ = ("indices", "values", "shape", "coalesced")
    flags = _Flags()
    base = None
    _backend = "Sparse"   # the dispatch key torch names in its refusals (``SparseCsr`` for compressed layouts)

    def __init__(self, indices: Any, values: Any, shape: tuple[int, ...], coalesced: bool) -> None:
        self.indices = indices
        self.values = values
        self.shape = tuple(shape)
        self.coalesced = coalesced or indices.shape[1] <= 1

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def dtype(self) -> Any:
        return self.values.dtype

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        backend = self._backend + ("CPU" if isinstance(self.values, np.ndarray) else "CUDA")
        op = _calling_op()
        raise not_implemented(_ATEN_NAMES.get(op, op), backend)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._refuse()

    __array__ = __array_function__ = __getitem__ = __setitem__ = __iter__ = _refuse
    __float__ = __int__ = __index__ = __complex__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _refuse
    __floordiv__ = __mod__ = __pow__ = __matmul__ = __rmatmul__ = __neg__ = __abs__ = _refuse
    __lt__ = __le__ = __gt__ = __ge__ = __and__ = __or__ = __xor__ = __invert__ = _refuse
    __isub__ = __imul__ = __itruediv__ = _refuse

    def __iadd__(self, other: Any) -> SparseStorage:
        """Gradient accumulation ``old += new`` of two sparse gradients: torch's sparse ``add_``."""
        if not isinstance(other, SparseStorage) or other.shape != self.shape:
            return self._refuse()
        self.indices, self.values, self.coalesced = _sum_entries(
            self, other, self.values, other.values.astype(self.values.dtype, copy=False))
        return self

    def astype(self, dtype: Any, copy: bool = True) -> SparseStorage:
        return SparseStorage(self.indices, self.values.astype(dtype), self.shape, self.coalesced)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, out: Any = None, **kwargs: Any) -> Any:
        """``dense += sparse`` (a dense gradient accumulating a sparse one); every other ufunc refuses."""
        if ufunc is np.add and method == "__call__" and out is not None and len(inputs) == 2 \
                and inputs[0] is out[0] and inputs[1] is self and out[0].shape == self.shape:
            _scatter_add(out[0], self.indices, self.values, 1)
            return out[0]
        return self._refuse()


def _scatter_add(dense: Any, indices: Any, values: Any, alpha: Any) -> None:
    """``dense[indices] += alpha * values`` entry by entry in order (torch's dense += sparse rounding: each a
    fused multiply-add, the product kept exact in the wide dtype)."""
    xp = xp_of_array(dense)
    if alpha == 1:
        v = values.astype(dense.dtype, copy=False)
    else:
        v = multiply_wide(values, xp.asarray(alpha, dtype=values.dtype), dense)
        if wide_dtype(dense) is None:
            v = v.astype(dense.dtype, copy=False)
    sd = indices.shape[0]
    if sd == 0 or not dense.flags.c_contiguous:
        xp.add.at(dense, tuple(indices), v)
        return
    lin = xp.ravel_multi_index(tuple(indices), dense.shape[:sd]) if sd > 1 else indices[0]
    _ordered_add(dense.reshape((-1,) + dense.shape[sd:]), lin, v)


_MAX_ROUNDS = 16


def _ordered_add(flat: Any, lin: Any, v: Any) -> None:
    """``flat[lin[k]] += v[k]`` for k in order. Entries are grouped by their occurrence number per target
    (the 1st, 2nd, ... time a row is hit); each round adds one occurrence per row with plain fancy indexing,
    which keeps the sequential rounding. Many repeats of a row fall back to ``add.at``."""
    xp = xp_of_array(flat)
    n = lin.shape[0]
    if n == 0:
        return
    order = xp.argsort(lin, kind="stable")
    rank = xp.empty(n, np.int64)
    rank[order] = _run_rank(xp, lin[order])
    rounds = int(rank.max()) + 1
    if rounds > _MAX_ROUNDS:
        xp.add.at(flat, lin, v)
    elif rounds == 1:
        flat[lin] += v
    else:
        for r in range(rounds):
            sel = xp.flatnonzero(rank == r)
            flat[lin[sel]] += v[sel]


class SparseBase(Tensor):
    """What sparse tensors of every layout share: the dtype/device shorthands over their own ``to``."""

    _sparse_layout = True
    __slots__ = ()

    def cpu(self) -> Any:
        return self.to("cpu")

    def _as_leaf_grad(self) -> Tensor:
        """What a leaf keeps as ``.grad`` when it takes this (unshared) gradient without a copy."""
        return self


def _shorthand(dtype: D.dtype) -> Callable:
    def convert(self: SparseBase, memory_format: Any = None) -> Any:
        return self.to(dtype)
    return convert


for _name, _dt in (("double", D.float64), ("float", D.float32), ("half", D.float16), ("bfloat16", D.bfloat16),
                   ("long", D.int64), ("int", D.int32), ("short", D.int16), ("char", D.int8), ("byte", D.uint8),
                   ("bool", D.bool), ("cfloat", D.complex64), ("cdouble", D.complex128)):
    setattr(SparseBase, _name, _shorthand(_dt))


_RESIZE_ADVICE = ("\nYou could try the following options:\n1. If you need an empty sparse tensor of this size, call "
                  "`x = torch.sparse_coo_tensor(size)`.\n2. If you need to resize this tensor, you have the following "
                  "options:\n    1. For both sparse and dense dimensions, keep the number of them constant and the "
                  "size of them non-shrinking, and then try the same call again.\n    2. Or, create a new sparse "
                  "tensor with the correct indices and values from this sparse tensor.")   # torch's advice


class SparseTensor(SparseBase):
    """A sparse COO tensor (``layout=torch.sparse_coo``); see the module docstring."""

    __slots__ = ()
    _data: SparseStorage   # type: ignore[assignment]

    @property
    def is_sparse(self) -> bool:
        return True

    @property
    def layout(self) -> Any:
        return sparse_coo

    # ---- structure ---------------------------------------------------------------------------------
    def sparse_dim(self) -> int:
        return int(self._data.indices.shape[0])

    def dense_dim(self) -> int:
        return self._data.values.ndim - 1

    def _nnz(self) -> int:
        return int(self._data.indices.shape[1])

    def is_coalesced(self) -> bool:
        return self._data.coalesced

    def _as_leaf_grad(self) -> SparseTensor:
        """torch's AccumulateGrad takes an unshared COO gradient with contiguous indices and values as a new
        tensor over them, which it flags uncoalesced (others it clones, flag kept)."""
        s = self._data
        if not (s.values.flags.c_contiguous and s.indices.flags.c_contiguous):
            return self.clone()
        return _wrap(s.indices, s.values, s.shape, False, self._device, self._dtype)

    def _coalesced_(self, coalesced: bool) -> SparseTensor:
        self._data.coalesced = coalesced
        return self

    def _indices(self) -> Tensor:
        return from_array(self._data.indices, D.int64, self._device)

    def _values(self) -> Tensor:
        return from_array(self._data.values, self._dtype, self._device)

    def indices(self) -> Tensor:
        if not self._data.coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return self._indices()

    def values(self) -> Tensor:
        if not self._data.coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        out = self._values()
        return _record(out, _ValuesBackward0, (self,), src=self)

    def zero_(self) -> SparseTensor:
        """Drop every entry (nnz becomes 0), as torch's sparse ``zero_``."""
        s = self._data
        xp = xp_of(self._device)
        s.indices = xp.zeros((s.indices.shape[0], 0), np.int64)
        s.values = xp.zeros((0,) + s.values.shape[1:], s.values.dtype)
        s.coalesced = True
        self._vc[0] += 1
        return self

    def sparse_resize_(self, size: Sequence[int], sparse_dim: int, dense_dim: int) -> SparseTensor:
        """Resize in place keeping the entries: only growing sizes, the same numbers of sparse and dense dims
        (anything goes without entries). Grown dense sizes keep the values' memory order (torch's ``resize_``
        of the values; the new elements, uninitialised in torch, are zeros)."""
        return self._resize(size, sparse_dim, dense_dim, False)

    def sparse_resize_and_clear_(self, size: Sequence[int], sparse_dim: int, dense_dim: int) -> SparseTensor:
        """Drop every entry and take the new size and numbers of sparse and dense dims."""
        return self._resize(size, sparse_dim, dense_dim, True)

    def resize_as_sparse_(self, the_template: Tensor) -> SparseTensor:
        """Take ``the_template``'s size and numbers of sparse and dense dims (:meth:`sparse_resize_`'s rules)."""
        if the_template._sparse_layout and not isinstance(the_template, SparseTensor):
            from ._compressed import resize_as_compressed_
            return resize_as_compressed_(self, the_template)
        return self._resize(the_template.shape, the_template.sparse_dim(), the_template.dense_dim(), False,
                            _ResizeAsBackward)

    def _resize(self, size: Sequence[int], sd: int, dd: int, clear: bool, node: type | None = None
                ) -> SparseTensor:
        from ..ops._dispatch import check_inplace
        check_inplace(self)
        size = tuple(int(n) for n in size)
        if len(size) != sd + dd:
            raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = {len(size)}, "
                               f"sparse_dim = {sd}, dense_dim = {dd}")
        s = self._data
        xp = xp_of(self._device)
        if clear or not s.indices.shape[1]:
            s.indices = xp.zeros((sd, 0), np.int64)
            s.values = xp.zeros((0,) + size[sd:], s.values.dtype)
            s.coalesced = True
        else:
            old_sd = s.indices.shape[0]
            for what, new_n, old_n in (("sparse", sd, old_sd), ("dense", dd, s.values.ndim - 1)):
                if new_n != old_n:
                    raise RuntimeError(f"changing the number of {what} dimensions (from {old_n} to {new_n}) on a "
                                       "non-empty sparse tensor is not supported." + _RESIZE_ADVICE)
            for what, new, old in (("sparse", size[:sd], s.shape[:sd]), ("dense", size[sd:], s.shape[sd:])):
                if any(n < o for n, o in zip(new, old, strict=True)):
                    raise RuntimeError(f"shrinking the size of {what} dimensions (from {list(old)} to {list(new)}) "
                                       "on a non-empty sparse tensor is not supported." + _RESIZE_ADVICE)
            if size[sd:] != s.shape[sd:]:
                vals = xp.zeros((s.values.shape[0],) + size[sd:], s.values.dtype)
                vals.reshape(-1)[:s.values.size] = s.values.reshape(-1)
                s.values = vals
        s.shape = size
        self._vc[0] += 1
        if self._grad_fn is not None:   # torch has no derivative for these: a backward through them fails
            _record(self, node or _ResizeBackward[clear], (self,))
        return self

    def stride(self, dim: int | None = None) -> Any:
        return (0,) * self.dim() if dim is None else 0

    def is_contiguous(self, memory_format: Any = None) -> bool:
        return False

    def numpy(self, *, force: bool = False) -> np.ndarray:
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() first.")

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self.numpy()

    def reshape(self, *shape: Any) -> Tensor:
        raise RuntimeError("reshape is not implemented for sparse tensors")

    flatten = reshape

    def __reduce_ex__(self, protocol: int) -> Any:
        s = self._data
        return (_rebuild_sparse, (_host(s.indices), _host(s.values), s.shape, s.coalesced, self._dtype.name,
                                  str(self._device), self._rg))

    def _sparse_reduce_args(self) -> tuple:
        """What ``torch.save`` pickles: ``_rebuild_sparse_tensor(layout, (indices, values, size, coalesced))``."""
        return (sparse_coo, (self._indices(), self._values().detach(), self.shape, self.is_coalesced()))

    def __deepcopy__(self, memo: dict) -> SparseTensor:
        if id(self) in memo:
            return memo[id(self)]
        new = _wrap(self._data.indices.copy(), self._data.values.copy(), self._data.shape, self._data.coalesced,
                    self._device, self._dtype)
        new._rg = self._rg
        memo[id(self)] = new
        return new

    # ---- conversions -------------------------------------------------------------------------------
    def coalesce(self) -> SparseTensor:
        if self._data.coalesced:
            return self
        idx, vals = _coalesce_arrays(self._data)
        out = _wrap(idx, vals, self._data.shape, True, self._device, self._dtype)
        return _record(out, _CoalesceBackward0, (self,))

    def to_dense(self, dtype: Any = None, *, masked_grad: bool | None = None) -> Tensor:
        s = self._data
        xp = xp_of(self._device)
        arr = xp.zeros(s.shape, s.values.dtype)
        _scatter_add(arr, s.indices, s.values, 1)
        out = from_array(arr, self._dtype, self._device)
        _record(out, _ToDenseBackward0, (self,), src=self)
        return out if dtype is None else out.to(dtype)

    def to_sparse(self, sparse_dim: int | None = None, *, layout: Any = None, blocksize: Any = None,
                  dense_dim: int | None = None) -> SparseTensor:
        if layout is not None and layout is not sparse_coo:
            return _to_other_layout(self, layout, blocksize, dense_dim)
        refuse_args("to_sparse", "Sparse", "Sparse", blocksize, dense_dim)
        if sparse_dim is not None and sparse_dim != self.sparse_dim():
            raise RuntimeError("to_sparse: conversion from Sparse to Sparse with sparse_dim argument "
                               "!=self.sparse_dim() is not supported")
        return self

    to_sparse_coo = to_sparse

    def clone(self, *, memory_format: Any = None) -> SparseTensor:
        s = self._data
        out = _wrap(s.indices.copy(), s.values.copy(), s.shape, s.coalesced, self._device, self._dtype)
        return _record(out, _CloneBackward0, (self,))

    def detach(self) -> SparseTensor:
        s = self._data
        return _wrap(s.indices, s.values, s.shape, s.coalesced, self._device, self._dtype)

    def to(self, *args: Any, **kwargs: Any) -> SparseTensor:
        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, D.dtype):
                dtype = a
            elif a is not None and not isinstance(a, bool) and canonical(a) is not self._device:
                raise not_implemented("_to_copy")
        if kwargs.get("device") is not None and canonical(kwargs["device"]) is not self._device:
            raise not_implemented("_to_copy")
        if dtype is None or dtype is self._dtype:
            return self
        s = self._data
        out = _wrap(s.indices, s.values.astype(dtype.np), s.shape, s.coalesced, self._device, dtype)
        return _record(out, _ToCopyBackward0, (self,), dtype=self._dtype)

    def transpose(self, dim0: int, dim1: int) -> SparseTensor:
        n, sd = self.dim(), self.sparse_dim()
        d0, d1 = wrap_dim(dim0, n), wrap_dim(dim1, n)
        if d0 >= sd or d1 >= sd:
            raise RuntimeError(f"sparse transpose: transposed dimensions must be sparse Got sparse_dim: {sd}, "
                               f"d0: {d0}, d1: {d1}")
        s = self._data
        order = list(range(sd))
        order[d0], order[d1] = d1, d0
        shape = list(s.shape)
        shape[d0], shape[d1] = shape[d1], shape[d0]
        out = _wrap(s.indices[order], s.values, tuple(shape), False, self._device, self._dtype)
        out._data.coalesced = s.coalesced and (d0 == d1 or not s.indices.shape[1])   # torch's, even for 1 entry
        return _record(out, _TransposeBackward0, (self,), dims=(d0, d1))

    def t(self) -> SparseTensor:
        if self.sparse_dim() > 2 or self.dense_dim():
            raise RuntimeError(f"t() expects a tensor with <= 2 sparse and 0 dense dimensions, but got "
                               f"{self.sparse_dim()} sparse and {self.dense_dim()} dense dimensions")
        if self.dim() < 2:
            return self
        out = self.transpose(0, 1)
        if out._grad_fn is not None:
            out._grad_fn = _retype(out._grad_fn, _TBackward0)
        return out

    def permute(self, *dims: Any) -> SparseTensor:
        """The dims reordered, sparse dims among themselves and dense dims among themselves (torch's rule)."""
        order = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        n, sd = self.dim(), self.sparse_dim()
        order = permutation(order, n)
        if any(d >= sd for d in order[:sd]):
            raise RuntimeError("permute(sparse_coo): transpositions between sparse and dense dimensions are not "
                               "allowed.Only transpositions within sparse and dense dimensions are supported.")
        st = self._data
        vals = st.values.transpose((0,) + tuple(d - sd + 1 for d in order[sd:]))
        out = _wrap(st.indices[list(order[:sd])], vals, tuple(st.shape[d] for d in order), False, self._device,
                    self._dtype)
        out._data.coalesced = st.coalesced and (not sd or order[0] == 0)   # torch's flag, even for one entry
        inverse = tuple(order.index(d) for d in range(n))
        return _record(out, _PermuteBackward0, (self,), inverse=inverse)

    def unsqueeze(self, dim: int) -> SparseTensor:
        """A new dim of size 1: a sparse dim (a zero index row) up to ``sparse_dim()``, else a dense dim."""
        d, sd = wrap_dim(dim, self.dim() + 1), self.sparse_dim()
        st = self._data
        xp = xp_of(self._device)
        shape = st.shape[:d] + (1,) + st.shape[d:]
        if d <= sd:
            idx = xp.concatenate((st.indices[:d], xp.zeros((1, st.indices.shape[1]), np.int64), st.indices[d:]))
            out = _wrap(idx, st.values, shape, False, self._device, self._dtype)
        else:
            out = _wrap(st.indices, xp.expand_dims(st.values, d - sd + 1), shape, False, self._device, self._dtype)
        return _record(out, _UnsqueezeBackward0, (self,))

    # ---- indexing (torch's backward of these refuses sparse gradients; so does ember's) ---------------
    def _keep_entries(self, keep: Any, dim: int, new_index: Any, size: int, node: type) -> SparseTensor:
        """The entries ``keep`` with sparse index row ``dim`` replaced by ``new_index`` (of extent ``size``)."""
        s = self._data
        idx = s.indices[:, keep]
        idx[dim] = new_index
        shape = list(s.shape)
        shape[dim] = size
        return _record(_wrap(idx, s.values[keep], shape, False, self._device, self._dtype), node, (self,))

    def _map_dense_dim(self, fn: Callable, dim: int, size: int, coalesced: bool, node: type) -> SparseTensor:
        """The entries with ``fn`` applied to their values along dense dim ``dim``, now of extent ``size``."""
        s = self._data
        shape = list(s.shape)
        shape[dim] = size
        vals = fn(s.values, dim - s.indices.shape[0] + 1)
        out = _wrap(s.indices, vals, [k for k in shape if k is not None], False, self._device, self._dtype)
        out._data.coalesced = coalesced
        return _record(out, node, (self,))

    def select(self, dim: int, index: int) -> Tensor:
        """The slice at ``index`` of ``dim``: sparse (dense when its only sparse dim is selected)."""
        if self.dim() == 0:
            raise IndexError("select() cannot be applied to a 0-dim tensor.")
        d, sd = wrap_dim(dim, self.dim()), self.sparse_dim()
        size = self.shape[d]
        if not -size <= index < size:
            raise IndexError(f"select(): index {index} out of range for tensor of size {list(self.shape)} at "
                             f"dimension {d}")
        i = index % size
        s = self._data
        if d >= sd:
            return self._map_dense_dim(lambda v, a: v[(slice(None),) * a + (i,)], d, None, s.indices.shape[1] <= 1,
                                       _SelectBackward0)
        xp = xp_of(self._device)
        keep = xp.flatnonzero(s.indices[d] == i)
        if sd > 1:
            out = self._keep_entries(keep, d, 0, 1, _SelectBackward0)
            out._data.indices = xp.delete(out._data.indices, d, axis=0)
            out._data.shape = s.shape[:d] + s.shape[d + 1:]
            return out
        acc = xp.zeros((1,) + s.values.shape[1:], s.values.dtype)   # the entries summed in order
        _ordered_add(acc, xp.zeros(keep.shape[0], np.int64), s.values[keep])
        return _record(from_array(acc.reshape(acc.shape[1:]), self._dtype, self._device), _SelectBackward0, (self,))

    def __getitem__(self, key: Any) -> Tensor:
        keys = key if isinstance(key, tuple) else (key,)
        if not all(type(k) is int or k is Ellipsis for k in keys) or sum(k is Ellipsis for k in keys) > 1:
            raise not_implemented("as_strided" if any(isinstance(k, slice) for k in keys) else "index.Tensor")
        n = self.dim()
        if len(keys) - (Ellipsis in keys) > n:
            raise IndexError(f"too many indices for tensor of dimension {n}")
        out: Tensor = self
        dim = 0
        for k in keys:
            if k is Ellipsis:
                dim += n - len(keys) + 1
                continue
            if not -self.shape[dim] <= k < self.shape[dim]:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with size {self.shape[dim]}")
            out = out.select(dim - (n - out.dim()), k)
        return out

    def index_select(self, dim: int, index: Tensor) -> SparseTensor:
        """The slices ``index`` of ``dim``: the matching entries of each index in turn, in entry order."""
        d, sd = wrap_dim(dim, self.dim()), self.sparse_dim()
        if not isinstance(index, Tensor) or is_sparse(index) or index.dim() > 1 or index._dtype is not D.int64:
            raise IndexError("index_select() argument index must be 1-D strided (non-sparse) long-tensor.")
        size = self.shape[d]
        pos = index._data.reshape(-1)
        bad = (pos < -size) | (pos >= size)
        if bad.any():
            raise IndexError(f"index_select(): index contains {int(pos[bad][0])} that is out of range for tensor of "
                             f"size {list(self.shape)} at dimension {d}")
        pos = pos % size
        if d >= sd:
            return self._map_dense_dim(lambda v, a: v.take(pos, axis=a), d, pos.shape[0],
                                       self._nnz() <= 1, _IndexSelectBackward0)
        xp = xp_of(self._device)
        p, k = xp.nonzero(pos[:, None] == self._data.indices[d][None, :])
        return self._keep_entries(k, d, p, pos.shape[0], _IndexSelectBackward0)

    def narrow_copy(self, dim: int, start: int, length: int) -> SparseTensor:
        """The entries in ``[start, start + length)`` of ``dim``, shifted to start at 0."""
        n = self.dim()
        if not -n <= dim < n:
            raise RuntimeError(f"Dimension {dim} out of range. Expecting 0 <= dim < {n}.")
        d, sd = dim % n, self.sparse_dim()
        if length < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        if start < 0 or start + length > self.shape[d]:
            raise RuntimeError("Invalid range to narrow. range(start, start+length) must be a subset of "
                               f"range(0, {self.shape[d]}).")
        if d >= sd:
            return self._map_dense_dim(lambda v, a: v.take(np.arange(start, start + length), axis=a), d, length,
                                       self.is_coalesced(), _NarrowCopyBackward0)
        xp = xp_of(self._device)
        row = self._data.indices[d]
        keep = xp.flatnonzero((row >= start) & (row < start + length))
        out = self._keep_entries(keep, d, row[keep] - start, length, _NarrowCopyBackward0)
        out._data.coalesced = self.is_coalesced()   # the input's flag, even for no entries (as torch)
        return out

    # ---- arithmetic --------------------------------------------------------------------------------
    def neg(self) -> SparseTensor:
        return _map_values(self, lambda v: -v, _NegBackward0)

    __neg__ = neg

    def mul(self, other: Any) -> SparseTensor:
        if isinstance(other, SparseTensor):
            return _intersect_mul(self, other)
        if isinstance(other, Tensor) and other.dim() and not other._sparse_layout:
            return _mul_dense(self, other)
        c = _scalar_operand(other, "mul")
        return _map_values(self, lambda v: v * c, _MulBackward0, factor=c)

    __mul__ = __rmul__ = mul

    def _assign(self, r: SparseTensor) -> SparseTensor:
        """Take the entries of ``r`` (an in-place op's result), refusing a dtype ``self`` cannot hold."""
        if r._dtype is not self._dtype:
            from ..ops.elementwise import cast_error
            raise cast_error(r._dtype, self._dtype)
        self._data = r._data
        self._vc[0] += 1
        return self

    def mul_(self, other: Any) -> SparseTensor:
        if isinstance(other, SparseTensor):
            return self._assign(_intersect_mul(self, other))
        if isinstance(other, Tensor) and other.dim() and not other._sparse_layout:
            return self._assign(_mul_dense(self, other))
        c = _scalar_operand(other, "mul_")
        return _values_inplace(self, lambda v: v.mul_(c))

    def div_(self, other: Any, *, rounding_mode: str | None = None) -> SparseTensor:
        c = _scalar_operand(other, "div_")
        return _values_inplace(self, lambda v: v.div_(c, rounding_mode=rounding_mode))

    def pow(self, exponent: Any) -> SparseTensor:
        """``self ** exponent`` for a number exponent (coalesced first); 0 would fill the zeros, so refused."""
        if isinstance(exponent, Tensor):
            raise not_implemented("pow.Tensor_Tensor")
        if exponent == 0:
            raise RuntimeError("pow: cannot raise to zeroth power on sparse tensor; it would make the result "
                               "tensor dense")
        c = self.coalesce()
        v = c.values().pow(exponent)
        if v._dtype is not self._dtype:
            from ..ops.elementwise import cast_error
            raise cast_error(v._dtype, self._dtype)
        return _from_values(c._data.indices, v, c.shape, True)

    __pow__ = pow

    def pow_(self, exponent: Any) -> SparseTensor:
        raise not_implemented("pow_.Tensor" if isinstance(exponent, Tensor) else "pow_.Scalar")

    def square(self) -> SparseTensor:
        return self.pow(2)

    def square_(self) -> SparseTensor:
        return self.pow_(2)

    def div(self, other: Any, *, rounding_mode: str | None = None) -> SparseTensor:
        """``self / other`` for a number ``other``; with a rounding mode on the coalesced entries, as torch."""
        c = _scalar_operand(other, "div")
        if rounding_mode is None:
            return _map_values(self, lambda v: v / c, _DivBackward0, factor=c)
        co = self.coalesce()
        with _no_grad():
            v = co._values().div(c, rounding_mode=rounding_mode)
        out = _wrap(co._data.indices, v._data, co.shape, True, self._device, v._dtype)
        return _record(out, _DivModeBackward2, (self,))

    __truediv__ = div

    def floor_divide(self, other: Any) -> SparseTensor:
        return self.div(other, rounding_mode="floor")

    __floordiv__ = floor_divide

    def add(self, other: Any, *, alpha: Any = 1) -> Tensor:
        return _add(self, other, alpha, _AddBackward0)

    __add__ = add

    def sub(self, other: Any, *, alpha: Any = 1) -> Tensor:
        return _add(self, other, -alpha, _SubBackward0)

    __sub__ = sub

    def add_(self, other: Any, *, alpha: Any = 1) -> SparseTensor:
        if not isinstance(other, SparseTensor):
            raise RuntimeError(_ADD_DENSE)
        return self._assign(_add(self.detach(), other.detach(), alpha, _AddBackward0))

    def sub_(self, other: Any, *, alpha: Any = 1) -> SparseTensor:
        if not isinstance(other, SparseTensor):
            raise RuntimeError(_ADD_DENSE)
        return self._assign(_add(self.detach(), other.detach(), -alpha, _SubBackward0))

    def __radd__(self, other: Any) -> Tensor:
        if isinstance(other, Tensor):
            return add_dense_sparse(other, self, 1)
        return _add(self, other, 1, _AddBackward0)

    def __rsub__(self, other: Any) -> Tensor:
        if not isinstance(other, Tensor):
            from ..ops.creation import tensor
            other = tensor(other, device=self._device)
        return add_dense_sparse(other, self, -1)

    def sum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        if dim is None:
            if keepdim:
                raise TypeError("sum() received an invalid combination of arguments - got (keepdim=bool, ), but "
                                "expected one of:")
            return sparse_sum(self, None, dtype=dtype)
        if dtype is None and not (self._dtype.is_floating_point or self._dtype.is_complex):
            dtype = D.int64   # as a dense sum, integral and bool sums over dims are int64
        with _no_grad():   # torch's sum over dims: the sparse sum, the summed dims kept as size 1 (unsqueezed)
            out = sparse_sum(self, dim, dtype=dtype)
            if keepdim:
                for d in sorted({wrap_dim(d, self.dim()) for d in ((dim,) if isinstance(dim, int) else dim)}):
                    out = out.unsqueeze(d)
        return _record(out.detach(), _SumBackward1, (self,), shape=tuple(self.shape), dims=dim, keepdim=keepdim)

    def mm(self, mat2: Tensor) -> Tensor:
        return mm_dense(self, mat2)

    def matmul(self, other: Tensor) -> Tensor:
        return matmul_dense(self, other)

    __matmul__ = matmul

    def bmm(self, mat2: Tensor) -> Tensor:
        return sparse_bmm(self, mat2)

    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return addmm_dense(self, mat1, mat2, beta, alpha)

    addmm_ = addmm


def _refused_comparison(name: str) -> Callable:
    """A comparison torch has no sparse kernel for: its dispatcher's refusal (``eq.Scalar`` / ``eq.Tensor``)."""
    def method(self: SparseTensor, other: Any) -> Tensor:
        raise not_implemented(f"{name}.{'Tensor' if isinstance(other, Tensor) else 'Scalar'}")
    method.__name__ = name
    return method


for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    setattr(SparseTensor, _name, _refused_comparison(_name))
    setattr(SparseTensor, f"__{_name}__", getattr(SparseTensor, _name))
SparseTensor.__hash__ = Tensor.__hash__   # type: ignore[method-assign] (defining __eq__ drops it)


def _refused_squeeze(self: SparseTensor, dim: Any = None) -> Tensor:
    raise not_implemented("as_strided")   # torch's squeeze views the sparse tensor


SparseTensor.squeeze = _refused_squeeze   # type: ignore[attr-defined]
SparseTensor.__name__ = SparseTensor.__qualname__ = "Tensor"
SparseTensor.__module__ = Tensor.__module__
_new = object.__new__


def is_sparse(t: Any) -> bool:
    return isinstance(t, SparseTensor)


def _host(a: Any) -> np.ndarray:
    return a if isinstance(a, np.ndarray) else a.get()


def _rebuild_sparse(indices: np.ndarray, values: np.ndarray, shape: tuple, coalesced: bool, dtype_name: str,
                    dev: str, requires_grad: bool) -> SparseTensor:
    d = canonical(dev)
    xp = xp_of(d)
    t = _wrap(xp.asarray(indices), xp.asarray(values), shape, coalesced, d, D.BY_NAME[dtype_name])
    t._rg = requires_grad
    return t


def rebuild_sparse_tensor(layout: Any, data: tuple) -> SparseTensor:
    """Unpickling torch's ``torch._utils._rebuild_sparse_tensor(layout, (indices, values, size[, coalesced]))``."""
    if layout is not sparse_coo:
        from ._compressed import _COMPRESSED, rebuild_compressed
        if layout in _COMPRESSED:
            return rebuild_compressed(layout, data)
        raise RuntimeError(f"rebuilding sparse tensor for layout {layout}")
    indices, values, size = data[:3]
    out = sparse_coo_tensor(indices, values, size, check_invariants=False, is_coalesced=bool(data[3])
                            if len(data) > 3 and data[3] is not None else None)
    return out


def reduce_sparse(t: SparseTensor) -> tuple:
    """What ``torch.save`` pickles for a sparse tensor: the rebuild call on its indices, values, size and flag."""
    return (rebuild_sparse_tensor, (sparse_coo, (t._indices(), t._values().detach(), tuple(t.shape),
                                                 t.is_coalesced())))


def _wrap(indices: Any, values: Any, shape: Sequence[int], coalesced: bool, dev: Any = CPU,
          dtype: D.dtype | None = None) -> SparseTensor:
    """A fresh sparse leaf over the given arrays (not copied)."""
    t = _new(SparseTensor)
    t._data = SparseStorage(indices, values, tuple(int(s) for s in shape), coalesced)
    t._dtype = dtype if dtype is not None else D.from_numpy_dtype(values.dtype)
    t._device = dev
    t._base = None
    t._vc = [0]
    t._rg = False
    t._grad_fn = None
    t._output_nr = 0
    return t


def _coalesce_arrays(s: SparseStorage) -> tuple[Any, Any]:
    """Sorted unique indices and the values of duplicates summed (in order of appearance)."""
    xp = xp_of_array(s.values)
    sd = s.indices.shape[0]
    sizes = s.shape[:sd]
    if s.indices.shape[1] == 0:
        return s.indices, s.values
    if sd == 0:
        return s.indices[:, :1], s.values.sum(0, keepdims=True)
    lin = xp.ravel_multi_index(tuple(s.indices), sizes)
    uniq, inv = xp.unique(lin, return_inverse=True)
    vals = xp.zeros((uniq.shape[0],) + s.values.shape[1:], s.values.dtype)
    _ordered_add(vals, inv.reshape(-1), s.values)
    idx = xp.stack(xp.unravel_index(uniq, sizes)).astype(np.int64)
    return idx, vals


# ---- autograd ----------------------------------------------------------------------------------------
def _record(out: Tensor, cls: type, inputs: tuple, **attrs: Any) -> Any:
    """Record ``cls`` as ``out``'s grad_fn when an input requires grad; ``attrs`` go on the node."""
    if needs_grad(*inputs):
        node = record(out, cls(), inputs)
        node.__dict__.update(attrs)
    return out


def _retype(node: Any, cls: type) -> Any:
    new = cls()
    new._next, new._meta = node._next, node._meta
    new.__dict__.update(node.__dict__)
    return new


def _from_values(indices: Any, values: Tensor, shape: Sequence[int], coalesced: bool) -> SparseTensor:
    """A sparse tensor over ``indices`` (an array) whose values are the (differentiable) tensor ``values``."""
    out = _wrap(indices, values._data, shape, coalesced, values._device, values._dtype)
    return _record(out, _SparseCooBackward0, (values,), indices=indices)


def _gather(g: Tensor, indices: Any) -> Tensor:
    """``g[indices]`` per nonzero (dense ``g``; sparse ``g`` is densified first), differentiable in ``g``."""
    if isinstance(g, SparseTensor):
        g = g.to_dense()
    key = tuple(from_array(i, D.int64, g._device) for i in indices)
    return g[key]


def _like_pattern(src: SparseTensor, values: Tensor) -> SparseTensor:
    return _from_values(src._data.indices, values, src._data.shape, src._data.coalesced)


_SparseCooBackward0 = make_node_class(
    "SparseCooTensorWithDimsAndTensorsBackward0", lambda n, g: (_gather(g, n.indices),))
def _to_dense_backward(n: Any, g: Tensor) -> tuple:
    """``g`` at the input's distinct entries, sorted and flagged coalesced (an uncoalesced input's duplicates
    get one entry), as torch's."""
    s = n.src._data
    idx = _distinct_indices(s)
    return (_from_values(idx, _gather(g, idx), s.shape, True),)


def _distinct_indices(s: SparseStorage) -> Any:
    """The sorted distinct indices of ``s`` (its own when coalesced)."""
    return s.indices if s.coalesced else _coalesce_arrays(s)[0]


_ToDenseBackward0 = make_node_class("ToDenseBackward0", _to_dense_backward)
_ValuesBackward0 = make_node_class("ValuesBackward0", lambda n, g: (_like_pattern(n.src, g),))
_CoalesceBackward0 = make_node_class("CoalesceBackward0", lambda n, g: (g,))
_CloneBackward0 = make_node_class("CloneBackward0", lambda n, g: (g,))
_ToCopyBackward0 = make_node_class("ToCopyBackward0", lambda n, g: (g.to(n.dtype),))
_TransposeBackward0 = make_node_class("TransposeBackward0", lambda n, g: (g.transpose(*n.dims),))
_TBackward0 = make_node_class("TBackward0", lambda n, g: (g.t(),))
_PermuteBackward0 = make_node_class("PermuteBackward0", lambda n, g: (g.permute(n.inverse),))
_NegBackward0 = make_node_class("NegBackward0", lambda n, g: (-g,))
_MulBackward0 = make_node_class("MulBackward0", lambda n, g: (g * n.factor,))
_DivBackward0 = make_node_class("DivBackward0", lambda n, g: (g / n.factor,))
_DivModeBackward2 = make_node_class("DivBackward2", lambda n, g: (g * 0,))   # rounding: zero gradient
def _own(g: Tensor) -> Tensor:
    """A fresh copy of a gradient that goes to two inputs (autograd keeps an owned sparse gradient as
    ``.grad``; a shared one it would copy as a dense array, which a sparse storage cannot be)."""
    return g.clone() if isinstance(g, SparseTensor) else g


_AddBackward0 = make_node_class("AddBackward0", lambda n, g: (_own(g), g * n.alpha if n.alpha != 1 else _own(g)))
_SubBackward0 = make_node_class("SubBackward0", lambda n, g: (_own(g), g * n.alpha))
_ToSparseBackward0 = make_node_class("ToSparseBackward0", lambda n, g: (g.to_dense() if is_sparse(g) else g,))
_ToSparseBackward1 = make_node_class("ToSparseBackward1", lambda n, g: (g.to_dense() if is_sparse(g) else g,))


def _scalar_operand(other: Any, op: str) -> Any:
    if isinstance(other, Tensor):
        if other.dim() == 0 and not isinstance(other, SparseTensor):
            return other.item()
        raise not_implemented(f"{op}.Tensor")
    if isinstance(other, (bool, int, float, complex)):
        return other
    raise TypeError(f"unsupported operand type for {op}: '{type(other).__name__}'")


def _map_values(t: SparseTensor, fn: Any, node: type, **attrs: Any) -> SparseTensor:
    """A sparse tensor with ``t``'s pattern and ``fn`` applied to its values (ember ops decide the dtype)."""
    v = fn(from_array(t._data.values, t._dtype, t._device))
    out = _wrap(t._data.indices, v._data, t._data.shape, t._data.coalesced, t._device, v._dtype)
    return _record(out, node, (t,), **attrs)


# Elementwise ops torch runs on sparse COO tensors (f(0) == 0). The nonlinear ones coalesce first and give a
# coalesced result; the linear ones map the entries as they are. Any other elementwise op is refused.
_COALESCING_UNARY = frozenset((
    "abs", "sqrt", "sin", "tan", "tanh", "asin", "atan", "sinh", "asinh", "atanh", "expm1", "log1p", "erf",
    "erfinv", "trunc", "floor", "ceil", "round", "sign", "sgn", "signbit", "relu", "deg2rad", "rad2deg", "frac",
    "isnan", "isinf", "isneginf", "isposinf", "nan_to_num", "square"))
_LINEAR_UNARY = frozenset(("neg", "negative"))


def _backend(t: Tensor) -> str:
    return t._data._backend + ("CPU" if t._device is CPU else "CUDA")


def sparse_unary(op: Callable, t: Tensor, params: tuple) -> Tensor:
    """The dense elementwise ``op`` (an ember op) applied to the entries of the sparse tensor ``t``."""
    name = op.__name__
    if not isinstance(t, SparseTensor) or name not in _COALESCING_UNARY | _LINEAR_UNARY:
        raise not_implemented(name, _backend(t))
    if name in _LINEAR_UNARY:
        return _map_values(t, lambda v: op(v, *params), _NegBackward0)
    c = t.coalesce()
    return _from_values(c._data.indices, op(c.values(), *params), c.shape, True)


def sparse_unary_(op: Callable, t: Tensor, params: tuple) -> Tensor:
    """In-place ``op`` on the entries of ``t``, COO or compressed (the nonlinear ops need a coalesced COO ``t``,
    as torch)."""
    name = op.__name__
    if name not in _COALESCING_UNARY | _LINEAR_UNARY:
        raise not_implemented(name + "_", _backend(t))
    if name in _COALESCING_UNARY and isinstance(t, SparseTensor) and not t.is_coalesced():
        raise RuntimeError(f"{name}_ requires coalesced input")
    return _values_inplace(t, lambda v: op._inplace(v, *params))


def _values_inplace(t: SparseTensor, fn: Callable) -> SparseTensor:
    """``fn`` (a dense in-place op, with its dtype checks) run on ``t``'s values array; ``t`` is returned."""
    v = from_array(t._data.values, t._dtype, t._device)
    fn(v)
    t._data.values = v._data
    t._vc[0] += 1
    return t


def _mul_dense(s: SparseTensor, d: Tensor) -> SparseTensor:
    """sparse * dense (broadcast to the sparse shape): each entry times ``d`` at its index; ``s``'s pattern."""
    from ..ops._dispatch import broadcast_shapes
    if broadcast_shapes(d.shape, s.shape) != tuple(s.shape):
        raise not_implemented("mul.Tensor")
    key = tuple(from_array(i, D.int64, d._device) for i in s._data.indices)
    vals = _record(s._values(), _ValuesBackward0, (s,), src=s) * d.expand(s.shape)[key]
    return _from_values(s._data.indices, vals, s.shape, s._data.coalesced)


def _intersect_mul(a: SparseTensor, b: SparseTensor) -> SparseTensor:
    """sparse * sparse as torch's intersection kernel: each entry of one operand (``a`` or ``b``: the uncoalesced
    one, else the one with fewer entries, else ``b``) times every entry of the other at its index, summed in
    order; the result keeps that operand's pattern, unmatched entries as zeros unless both operands are
    coalesced (then they are dropped and the result is coalesced)."""
    sa, sb = a._data, b._data
    sd = sa.indices.shape[0]
    if a.dim() != b.dim() or sd != sb.indices.shape[0] or sa.shape[:sd] != sb.shape[:sd]:
        raise RuntimeError("sparse_binary_op_intersection_cpu(): expects sparse inputs with equal dimensionality, "
                           "number of sparse dimensions, and shape of sparse dimensions")
    if sa.coalesced != sb.coalesced:
        src, other = (a, b) if sb.coalesced else (b, a)
    else:
        src, other = (b, a) if sa.indices.shape[1] >= sb.indices.shape[1] else (a, b)
    xp = xp_of(a._device)
    ss, so = src._data, other._data
    sizes = sa.shape[:sd]

    def linear(idx: Any) -> Any:
        return xp.ravel_multi_index(tuple(idx), sizes) if sd else xp.zeros(idx.shape[1], np.int64)

    lin_o, lin_s = linear(so.indices), linear(ss.indices)
    order = xp.argsort(lin_o, kind="stable")
    first = xp.searchsorted(lin_o[order], lin_s, "left")
    count = xp.searchsorted(lin_o[order], lin_s, "right") - first
    both = ss.coalesced and so.coalesced
    keep = xp.flatnonzero(count) if both else xp.arange(lin_s.shape[0])
    count = count[keep]
    k = xp.repeat(xp.arange(keep.shape[0]), count)   # one (entry, match) pair per product
    start = xp.cumsum(count) - count
    m = order[first[keep][k] + xp.arange(k.shape[0]) - start[k]]
    prod = from_array(ss.values[keep[k]], src._dtype, a._device) * from_array(so.values[m], other._dtype, a._device)
    vals = xp.zeros((keep.shape[0],) + prod.shape[1:], prod._data.dtype)
    _ordered_add(vals, k, prod._data)
    out = _wrap(ss.indices[:, keep], vals, ss.shape, both, a._device, prod._dtype)
    return _record(out, _SparseMulBackward0, (a, b), a=a.detach(), b=b.detach(), res=out.detach())


def _sparse_mul_backward(n: Any, g: Tensor) -> tuple:
    """torch's formulas ``g * b`` and ``g * a`` (sparse products), ``g`` coalesced at the result's entries."""
    g = g.coalesce() if is_sparse(g) else _like_pattern(n.res, _gather(g, n.res._data.indices)).coalesce()
    return _intersect_mul(g, n.b), _intersect_mul(g, n.a)


_SparseMulBackward0 = make_node_class("MulBackward0", _sparse_mul_backward)


_ADD_DENSE = "add(sparse, dense) is not supported. Use add(dense, sparse) instead."


def _add(a: SparseTensor, b: Any, alpha: Any, node: type) -> Tensor:
    """sparse ± sparse: the entries of both (uncoalesced unless both inputs are coalesced, as torch)."""
    if not isinstance(b, SparseTensor):   # a dense tensor or a number
        raise RuntimeError(_ADD_DENSE)
    if a._dtype is D.bool and b._dtype is D.bool and node is _SubBackward0:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
                           "or `logical_xor()` operator instead.")
    if a._dtype is b._dtype and a._dtype in (D.bool, D.float16):   # torch's CPU kernel lacks these
        raise NotImplementedError(f"\"cadd_sparse\" not implemented for '{a._dtype._short}'")
    if a.shape != b.shape:
        raise RuntimeError(f"add: expected sizes of 'self' and 'other' to match, but {list(a.shape)} != "
                           f"{list(b.shape)}")
    sa, sb = a._data, b._data
    dt = D.promote_types(a._dtype, b._dtype)
    if isinstance(alpha, float) and not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    va = sa.values.astype(dt.np, copy=False)
    vb = from_array(sb.values, b._dtype, b._device)
    vb = (vb * alpha if alpha != 1 else vb)._data.astype(dt.np, copy=False)
    idx, vals, coalesced = _sum_entries(sa, sb, va, vb)
    out = _wrap(idx, vals, sa.shape, coalesced, a._device, dt)
    out._data.coalesced = coalesced   # even for one entry, as torch
    return _record(out, node, (a, b), alpha=alpha)


def _sum_entries(sa: SparseStorage, sb: SparseStorage, va: Any, vb: Any) -> tuple[Any, Any, bool]:
    """The entries of ``sa`` plus those of ``sb`` (values ``va``, ``vb``) as torch's CPU kernel: strided values
    are concatenated (uncoalesced), contiguous ones merged (:func:`_merge`; coalesced when both are)."""
    xp = xp_of_array(va)
    if not (sa.values.flags.c_contiguous and sb.values.flags.c_contiguous):
        return xp.concatenate((sa.indices, sb.indices), axis=1), xp.concatenate((va, vb)), False
    idx, vals = _merge(sa, sb, va, vb)
    # torch allocates indices for every entry and narrows them to the merged ones: they are then not contiguous,
    # which decides how a leaf takes the sum as its gradient (:meth:`SparseTensor._as_leaf_grad`)
    n = idx.shape[1]
    buf = xp.empty((idx.shape[0], sa.indices.shape[1] + sb.indices.shape[1]), np.int64)
    buf[:, :n] = idx
    return buf[:, :n], vals, sa.coalesced and sb.coalesced


def _merge(sa: SparseStorage, sb: SparseStorage, va: Any, vb: Any) -> tuple[Any, Any]:
    """torch's CPU sparse + sparse: a two-pointer merge of the two entry lists in their stored order, taking
    the smaller index first and summing the heads when they are equal (exact for any order, coalesced or not).

    When both lists are sorted the merge pairs the k-th occurrence of an index in one list with its k-th
    occurrence in the other, which is computed with one lexsort; unsorted lists are merged step by step."""
    xp = xp_of_array(va)
    sd = sa.indices.shape[0]
    la = xp.ravel_multi_index(tuple(sa.indices), sa.shape[:sd]) if sd else xp.zeros(sa.indices.shape[1], np.int64)
    lb = xp.ravel_multi_index(tuple(sb.indices), sb.shape[:sd]) if sd else xp.zeros(sb.indices.shape[1], np.int64)
    na, nb = la.shape[0], lb.shape[0]
    if bool((la[1:] >= la[:-1]).all()) and bool((lb[1:] >= lb[:-1]).all()):
        lin = xp.concatenate((la, lb))
        rank = xp.concatenate((_run_rank(xp, la), _run_rank(xp, lb)))
        side = xp.concatenate((xp.zeros(na, np.int8), xp.ones(nb, np.int8)))
        order = xp.lexsort((side, rank, lin))
        lin, rank = lin[order], rank[order]
        new = xp.ones(na + nb, bool)
        new[1:] = (lin[1:] != lin[:-1]) | (rank[1:] != rank[:-1])
        starts = xp.flatnonzero(new)
        allv = xp.concatenate((va, vb))[order]
        vals = xp.add.reduceat(allv, starts, axis=0) if starts.size else allv
        return xp.concatenate((sa.indices, sb.indices), axis=1)[:, order[starts]], vals
    picks = _merge_picks(xp, la, lb)
    ia, ib = picks if picks is not None else _merge_picks_loop(xp, la, lb)
    zero = xp.zeros((1,) + va.shape[1:], va.dtype)   # a missing side adds exactly nothing
    vals = xp.concatenate((va, zero))[ia] + xp.concatenate((vb, zero))[ib]
    pad = xp.zeros((sd, 1), np.int64)
    idx = xp.where(ia >= 0, xp.concatenate((sa.indices, pad), axis=1)[:, ia],
                   xp.concatenate((sb.indices, pad), axis=1)[:, ib])
    return idx.astype(np.int64), vals


_MERGE_LEVELS = 48


def _merge_picks(xp: Any, la: Any, lb: Any) -> tuple[Any, Any] | None:
    """The output of torch's two-pointer merge of two unsorted key lists, vectorised: which entry of ``a``
    and of ``b`` (or -1) each output entry takes.

    The merge emits each list in runs: a run starts at a prefix maximum (a "record") and holds the
    smaller keys after it, and all of a run leaves before anything with a larger prefix maximum. So the
    output is the entries sorted by prefix maximum, except where both lists have a record of the same key:
    the two records meet as heads and are summed, then the rest of those two runs merge among themselves
    by the same rule. Each round resolves one such level for all runs at once (segmented prefix maxima
    over ranks); ``None`` after ``_MERGE_LEVELS`` rounds (deeply nested equal runs), or off NumPy, for the loop."""
    if xp is not np:   # segmented prefix maxima need ufunc.accumulate, which CuPy lacks: the loop runs instead
        return None
    na, nb = la.shape[0], lb.shape[0]
    n = na + nb
    if na == 0 or nb == 0:
        return xp.concatenate((xp.arange(na), xp.full(nb, -1))), xp.concatenate((xp.full(na, -1), xp.arange(nb)))
    rank = xp.concatenate((la, lb)).astype(np.int64)
    span = int(rank.max()) + 1
    if span * (n + 1) >= 2 ** 62:   # keys too large to offset by run: compress them to ranks first
        _, rank = xp.unique(rank, return_inverse=True)
        rank, span = rank.reshape(-1), n
    side = xp.concatenate((xp.zeros(na, np.int64), xp.ones(nb, np.int64)))
    levels = []
    partner = xp.full(n, -1, np.int64)   # the b record summed into an a record
    act = xp.arange(n)
    gid = xp.zeros(n, np.int64)
    while act.shape[0]:
        if len(levels) == _MERGE_LEVELS:
            return None
        k, g = rank[act], gid[act]
        comb = g * span + k
        split = int((side[act] == 0).sum())
        pm = np.concatenate((np.maximum.accumulate(comb[:split]), np.maximum.accumulate(comb[split:])))
        level = xp.full(n, -1, np.int64)
        level[act] = pm - g * span
        levels.append(level)
        first = xp.ones(act.shape[0], bool)
        first[1:] = pm[1:] != pm[:-1]
        if split < act.shape[0]:
            first[split] = True
        runs_a, runs_b = pm[:split][first[:split]], pm[split:][first[split:]]   # sorted, distinct
        at = xp.minimum(xp.searchsorted(runs_b, runs_a), max(runs_b.shape[0] - 1, 0))
        shared_keys = runs_a[runs_b[at] == runs_a] if runs_b.shape[0] else runs_a[:0]
        in_shared = xp.isin(pm, shared_keys)
        rec = first & in_shared
        rec_a, rec_b = act[:split][rec[:split]], act[split:][rec[split:]]
        partner[rec_a] = rec_b
        tail = in_shared & ~first
        new_gid = xp.searchsorted(shared_keys, pm[tail])
        act = act[tail]
        gid[act] = new_gid
    pos = xp.concatenate((xp.arange(na), xp.arange(nb)))
    order = xp.lexsort((pos, side, *levels[::-1]))
    paired_b = xp.zeros(n, bool)
    paired_b[partner[partner >= 0]] = True
    order = order[~paired_b[order]]
    is_a = side[order] == 0
    ia = xp.where(is_a, pos[order], -1)
    pb = xp.where(is_a, partner[order], order)
    ib = xp.where(pb >= 0, pb - na, -1)
    return ia.astype(np.int64), ib.astype(np.int64)


def _merge_picks_loop(xp: Any, la: Any, lb: Any) -> tuple[Any, Any]:
    """torch's two-pointer merge step by step (for lists whose equal runs nest too deep)."""
    ha, hb = _host(la).tolist(), _host(lb).tolist()
    na, nb = len(ha), len(hb)
    pick_a, pick_b = [], []
    i = j = 0
    while i < na and j < nb:
        if ha[i] == hb[j]:
            pick_a.append(i)
            pick_b.append(j)
            i += 1
            j += 1
        elif ha[i] < hb[j]:
            pick_a.append(i)
            pick_b.append(-1)
            i += 1
        else:
            pick_a.append(-1)
            pick_b.append(j)
            j += 1
    pick_a += list(range(i, na)) + [-1] * (nb - j)
    pick_b += [-1] * (na - i) + list(range(j, nb))
    return xp.asarray(pick_a, np.int64), xp.asarray(pick_b, np.int64)


def _run_rank(xp: Any, lin: Any) -> Any:
    """For a sorted array: each element's rank among its equal neighbours (0, 1, ... per value)."""
    n = lin.shape[0]
    pos = xp.arange(n)
    first = xp.ones(n, bool)
    first[1:] = lin[1:] != lin[:-1]
    starts = pos[first]   # where each run of equal values begins (no ufunc.accumulate: CuPy lacks it)
    return pos - starts[xp.cumsum(first) - 1]


_AddDenseBackward0 = make_node_class("AddBackward0", lambda n, g: (g, g * n.alpha if n.alpha != 1 else g))


def add_dense_sparse(dense: Tensor, sp: SparseTensor, alpha: Any = 1) -> Tensor:
    """dense + alpha·sparse → dense: the sparse entries added one by one, in order (torch's kernel)."""
    if not isinstance(sp, SparseTensor):   # a compressed layout
        from ._compressed import _add_dense
        return _add_dense(dense, sp, alpha)
    if dense.shape != sp.shape:
        raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but self has size "
                           f"{list(dense.shape)} while other has size {list(sp.shape)} (FYI: dense-sparse "
                           "addition does not currently support broadcasting)")
    dt = D.promote_types(dense._dtype, sp._dtype)
    arr = dense._data.astype(dt.np, copy=True)
    _scatter_add(arr, sp._data.indices, sp._data.values, alpha)
    out = from_array(arr, dt, dense._device)
    return _record(out, _AddDenseBackward0, (dense, sp), alpha=alpha)


# ---- creation ----------------------------------------------------------------------------------------
_warned_invariants = [False]
_check_enabled = [False]


class check_sparse_tensor_invariants:   # noqa: N801 (torch's name)
    """``torch.sparse.check_sparse_tensor_invariants``: whether sparse constructors called without
    ``check_invariants`` check their arguments. A context manager and decorator (``enable`` for its extent),
    with the global switches ``enable()``, ``disable()`` and ``is_enabled()``."""

    @staticmethod
    def is_enabled() -> bool:
        return _check_enabled[0]

    @staticmethod
    def enable() -> None:
        _check_enabled[0] = True

    @staticmethod
    def disable() -> None:
        _check_enabled[0] = False

    def __init__(self, enable: bool = True) -> None:
        self.state = enable
        self.saved: bool | None = None

    def __enter__(self) -> check_sparse_tensor_invariants:
        if self.saved is not None:
            raise RuntimeError("This context manager instance is already activated. Use a different context "
                               "manager instance for context nesting.")
        self.saved = _check_enabled[0]
        _check_enabled[0] = self.state
        return self

    def __exit__(self, *exc: Any) -> None:
        _check_enabled[0] = bool(self.saved)
        self.saved = None

    def __call__(self, fn: Any) -> Any:
        import functools

        @functools.wraps(fn)
        def checked(*args: Any, **kwargs: Any) -> Any:
            with check_sparse_tensor_invariants(self.state):
                return fn(*args, **kwargs)
        return checked


def resolve_check(check_invariants: bool | None) -> bool:
    """A constructor's ``check_invariants``: the global switch when omitted (warning once, as torch, that the
    checks are off)."""
    if check_invariants is not None:
        return bool(check_invariants)
    if _check_enabled[0]:
        return True
    if not _warned_invariants[0]:
        _warned_invariants[0] = True
        warn("Sparse invariant checks are implicitly disabled. Memory errors (e.g. SEGFAULT) will occur "
             "when operating on a sparse tensor which violates the invariants, but checks incur "
             "performance overhead. To silence this warning, explicitly opt in or out. See "
             "`torch.sparse.check_sparse_tensor_invariants.__doc__` for guidance.  (Triggered internally at "
             "/__w/pytorch/pytorch/aten/src/ATen/Context.cpp:816.)", UserWarning,
             stacklevel=3)
    return False


def sparse_coo_tensor(indices: Any = None, values: Any = None, size: Sequence[int] | None = None, *,
                      dtype: Any = None, device: Any = None, pin_memory: bool = False, requires_grad: bool = False,
                      check_invariants: bool | None = None, is_coalesced: bool | None = None) -> SparseTensor:
    """``torch.sparse_coo_tensor``: a COO tensor from ``indices`` (sparse_dim × nnz) and ``values``; or, given
    only a size (``sparse_coo_tensor(size)``), an empty one of that size (all dims sparse)."""
    from ..ops.creation import tensor as make_tensor
    if values is None:
        size = size if indices is None else indices
        if size is None or isinstance(size, Tensor):
            raise TypeError("sparse_coo_tensor(): argument 'size' (position 1) must be tuple of ints, not "
                            f"{type(size).__name__}")
        from ..ops.creation import zeros
        dev = canonical(device) if device is not None else None
        return sparse_coo_tensor(zeros(len(size), 0, dtype=D.int64, device=dev), zeros(0, dtype=dtype, device=dev),
                                 size, check_invariants=check_invariants, requires_grad=requires_grad)
    check_invariants = resolve_check(check_invariants)
    dev = canonical(device) if device is not None else None
    if not isinstance(values, Tensor):
        values = make_tensor(values, dtype=dtype, device=dev)
    if not isinstance(indices, Tensor):
        indices = make_tensor(indices, device=values._device)
    if dtype is not None and values._dtype is not dtype:
        values = values.to(dtype)
    if indices.dim() != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(indices.shape)}")
    xp = xp_of(values._device)
    idx = indices._data.astype(np.int64)   # a copy: the tensor owns its indices
    sd, nnz = idx.shape

    def check_nnz() -> None:
        if values.dim() == 0 or values.shape[0] != nnz:
            raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: {nnz}, nnz from "
                               f"values: {values.shape[0] if values.dim() else 1}")

    def check_negative() -> None:
        if nnz and bool((idx < 0).any()):
            d = int(xp.nonzero((idx < 0).any(axis=1))[0][0])
            raise RuntimeError(f"found negative index {int(idx[d][idx[d] < 0][0])} for dim {d}")

    if values.dim() == 0:
        check_nnz()
    dense_shape = tuple(values.shape[1:])
    if size is None:   # torch's order: the indices, then the entry counts
        check_negative()
        check_nnz()
        sparse_shape = tuple(int(m) + 1 for m in idx.max(axis=1)) if nnz else (0,) * sd
        shape = sparse_shape + dense_shape
    else:   # the size's length, the invariants (when checked), the entry counts, the dense sizes
        shape = tuple(int(n) for n in size)
        if len(shape) != sd + len(dense_shape):
            raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = {len(shape)}, "
                               f"sparse_dim = {sd}, dense_dim = {len(dense_shape)}")
        if check_invariants:
            check_negative()
            top = idx.max(axis=1) if nnz else ()
            for d in range(len(top)):
                if int(top[d]) >= shape[d]:
                    raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is {shape[d]} but "
                                       f"found index {int(top[d])}")
        check_nnz()
        if tuple(shape[sd:]) != dense_shape:
            raise RuntimeError(f"values has incorrect size, expected {[nnz, *shape[sd:]]}, got "
                               f"{list(values.shape)}")
    if not requires_grad:   # differentiable in ``values`` (SparseCooTensorWithDimsAndTensorsBackward0)
        return _from_values(idx, values, shape, bool(is_coalesced))
    out = _wrap(idx, values._data, shape, bool(is_coalesced), values._device, values._dtype)
    out._set_requires_grad(True, "Only Tensors of floating point and complex dtype can require gradients")
    return out


def to_sparse(self: Tensor, sparse_dim: int | None = None, *, layout: Any = None, blocksize: Any = None,
              dense_dim: int | None = None) -> SparseTensor:
    """``Tensor.to_sparse`` of a dense tensor: its nonzero entries (or nonzero slices past ``sparse_dim``)."""
    if isinstance(self._data, SparseStorage):   # COO or compressed
        return self.to_sparse(sparse_dim, layout=layout, blocksize=blocksize, dense_dim=dense_dim)
    if layout is not None and layout is not sparse_coo:
        if sparse_dim is not None:
            raise TypeError("to_sparse() takes 0 positional arguments but 1 was given")
        return _to_other_layout(self, layout, blocksize, dense_dim)
    refuse_args("dense_to_sparse", "Strided", "Sparse", blocksize, None)
    n = self.dim()
    sd = n if sparse_dim is None else sparse_dim
    if sparse_dim is None and dense_dim is not None:
        sd = n - dense_dim
    if not 0 <= sd <= n:
        raise RuntimeError(f"dense_to_sparse: sparse_dim argument must be in [0,{n}] range, but {sd} is given")
    if sd == 0 and n > 0:
        raise RuntimeError("dense_to_sparse: sparse_dim argument must be in >0 when self.dim()>0")
    xp = xp_of(self._device)
    a = self._data
    nz = a != 0
    if n > sd:
        nz = nz.reshape(a.shape[:sd] + (-1,)).any(axis=-1)
    idx = xp.stack(xp.nonzero(nz)).astype(np.int64).reshape(sd, -1) if sd else xp.zeros((0, 1), np.int64)
    key = tuple(from_array(i, D.int64, self._device) for i in idx)
    vals = self[key] if sd else self.unsqueeze(0)
    out = _wrap(idx, vals._data, a.shape, True, self._device, self._dtype)
    return _record(out, _ToSparseBackward1 if sparse_dim is None else _ToSparseBackward0, (self,))


def _to_other_layout(self: Tensor, lay: Any, blocksize: Any, dense_dim: int | None) -> Tensor:
    """``to_sparse(layout=...)`` for a strided or compressed target layout."""
    if lay is _LAYOUTS["strided"]:
        return self.to_dense()
    from ._compressed import to_sparse_compressed
    return to_sparse_compressed(self, lay, blocksize, dense_dim, generic=True)


def refuse_args(fname: str, src: str, dst: str, blocksize: Any, dense_dim: Any) -> None:
    """torch's refusal of a ``blocksize`` or ``dense_dim`` argument that a layout conversion does not take."""
    for name, arg in (("blocksize", blocksize), ("dense_dim", dense_dim)):
        if arg is not None:
            raise RuntimeError(f"{fname}: conversion from {src} to {dst} with {name} argument given is not supported")


def _to_sparse_coo(self: Tensor) -> SparseTensor:
    return to_sparse(self)


# ---- joining -------------------------------------------------------------------------------------------
def sparse_cat(tensors: Sequence[Tensor], dim: int) -> SparseTensor:
    """``torch.cat`` of COO tensors: the entries of each in turn (uncoalesced), their index along a sparse
    ``dim`` shifted by the sizes before; along a dense dim each one's values sit in their slice (zeros
    elsewhere), as torch."""
    ts = list(tensors)
    if not is_sparse(ts[0]):
        raise not_implemented("_values", "CPU")
    for i, t in enumerate(ts):
        if not is_sparse(t):
            raise RuntimeError(f"Concatenating sparse tensors, but a dense tensor was found at position {i}.")
    first = ts[0]
    d, sd, dd = wrap_dim(dim, first.dim()), first.sparse_dim(), first.dense_dim()
    for i, t in enumerate(ts):
        if (t.sparse_dim(), t.dense_dim()) != (sd, dd):
            raise RuntimeError(f"All tensors must have the same sparse_dim and dense_dim: {sd}, {dd}, but tensor at "
                               f"position {i} has {t.sparse_dim()}, {t.dense_dim()}.")
        if any(a != b for k, (a, b) in enumerate(zip(t.shape, first.shape, strict=True)) if k != d):
            raise RuntimeError(f"All tensors must have the same shape: {list(first.shape)} (except in the "
                               f"concatenating dimension), but found shape: {list(t.shape)} at position {i}.")
    xp = xp_of(first._device)
    dt = first._dtype
    for t in ts[1:]:
        dt = D.promote_types(dt, t._dtype)
    sizes = [t.shape[d] for t in ts]
    starts = np.cumsum([0] + sizes[:-1]).tolist()
    idx, vals = [], []
    for t, start, size in zip(ts, starts, sizes, strict=True):
        st = t._data
        v = st.values.astype(dt.np, copy=False)
        if d < sd:
            i = st.indices.copy()
            i[d] += start
        else:   # a dense dim: the values placed in their slice of the joined dim
            i, axis = st.indices, d - sd + 1
            shape = list(v.shape)
            shape[axis] = sum(sizes)
            full = xp.zeros(shape, v.dtype)
            full[(slice(None),) * axis + (slice(start, start + size),)] = v
            v = full
        idx.append(i)
        vals.append(v)
    shape = list(first.shape)
    shape[d] = sum(sizes)
    out = _wrap(xp.concatenate(idx, axis=1), xp.concatenate(vals), shape, False, first._device, dt)
    return _record(out, _CatBackward0, tuple(ts))


def sparse_stack(tensors: Sequence[Tensor], dim: int) -> SparseTensor:
    """``torch.stack`` of COO tensors: the cat of the tensors each unsqueezed at ``dim``."""
    ts = list(tensors)
    for i, t in enumerate(ts[1:], 1):
        if tuple(t.shape) != tuple(ts[0].shape):
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(ts[0].shape)} at entry 0 "
                               f"and {list(t.shape)} at entry {i}")
    d = wrap_dim(dim, ts[0].dim() + 1)
    with _no_grad():
        out = sparse_cat([t.unsqueeze(d) if is_sparse(t) else t for t in ts], d)
    return _record(out.detach(), _StackBackward0, tuple(ts), dim=d, count=len(ts))


# ---- reductions --------------------------------------------------------------------------------------
def sparse_sum(input: SparseTensor, dim: Any = None, dtype: Any = None) -> Tensor:
    """``torch.sparse.sum``: all entries (a dense 0-d tensor) or over ``dim``s (sparse while sparse dims
    remain, else dense)."""
    if not isinstance(input, SparseTensor):
        raise RuntimeError("input must be sparse")
    if dtype is not None:
        input = input.to(dtype)
    s = input._data
    sd = input.sparse_dim()
    vals = from_array(s.values, input._dtype, input._device)
    with _no_grad():
        if dim is None:
            out = vals.sum().detach()
    if dim is None:
        return _record(out, _SumBackward0, (input,), src=input)
    with _no_grad():
        dims = sorted({wrap_dim(d, input.dim()) for d in ((dim,) if isinstance(dim, int) else dim)})
        keep = [d for d in range(sd) if d not in dims]
        dense_red = tuple(d - sd + 1 for d in dims if d >= sd)
        v = vals.sum(dense_red) if dense_red else vals
        if not keep:
            out = v.sum(0).detach()
        else:
            shape = tuple(n for d, n in enumerate(s.shape) if d not in dims)
            part = _wrap(s.indices[keep], v._data, shape, False, input._device, v._dtype)
            idx, va = _coalesce_arrays(part._data)
            out = _wrap(idx, va, shape, True, input._device, v._dtype)
    return _record(out, _SparseSumBackward0, (input,), src=input, keep=keep, dims=dims)


def _sum_backward(n: Any, g: Tensor) -> tuple:
    """The gradient on the input's coalesced pattern (as torch's), ``g`` spread over the summed dims."""
    src = n.src
    s = src._data
    sd = src.sparse_dim()
    idx, _ = _coalesce_arrays(s)
    nnz = idx.shape[1]
    if n.keep:
        gv = _gather(g, idx[n.keep])
    else:
        gv = (g.to_dense() if is_sparse(g) else g).unsqueeze(0).expand(nnz, *g.shape)
    for d in n.dims:
        if d >= sd:
            gv = gv.unsqueeze(d - sd + 1)
    return (_from_values(idx, gv.expand(nnz, *s.values.shape[1:]), s.shape, True),)


def _full_sum_backward(n: Any, g: Tensor) -> tuple:
    """torch's ``sum()`` backward: the 0-d ``g`` expanded to the input's shape (a dense gradient)."""
    return (g.expand(n.src.shape),)


_SumBackward0 = make_node_class("SumBackward0", _full_sum_backward)


def _sum_dims_backward(n: Any, g: Tensor) -> tuple:
    """torch's ``sum(dim)`` backward: ``g`` expanded to the input's shape (dense; a sparse ``g`` is refused)."""
    if g._sparse_layout:
        raise RuntimeError("expand is unsupported for Sparse tensors")
    if not n.keepdim:
        for d in sorted({wrap_dim(d, len(n.shape)) for d in ((n.dims,) if isinstance(n.dims, int) else n.dims)}):
            g = g.unsqueeze(d)
    return (g.expand(n.shape),)


_SumBackward1 = make_node_class("SumBackward1", _sum_dims_backward)
_SparseSumBackward0 = make_node_class("SparseSumBackward0", _sum_backward)


def _no_grad() -> Any:
    from ..autograd.grad_mode import no_grad
    return no_grad()


# ---- products ----------------------------------------------------------------------------------------
def _check_mm(s: SparseTensor, d: Tensor, op: str, bias: Tensor | None = None) -> None:
    """torch's checks of sparse × dense (``+ bias``): the operands' shapes, the bias's broadcast, then the
    kernel's dtypes."""
    if isinstance(d, SparseTensor):
        raise not_implemented(op)
    if s.sparse_dim() != 2 or s.dense_dim() != 0:
        if s.dim() == 1:
            raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got -2)")
        if s.dim() != 2:
            raise RuntimeError(f"addmm: matrices expected, got {s.dim()}D tensor")
        raise RuntimeError(f"{op}: expected first two dims to be sparse (indices has size 2 at first dim), but "
                           f"got {s.sparse_dim()} sparse dims")
    if d.dim() == 1:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    if d.dim() != 2:
        raise RuntimeError(f"{op}: matrices expected, got {d.dim()}D tensor")
    if s.shape[1] != d.shape[0]:
        raise RuntimeError(f"addmm: Argument #3 (dense): Expected dim 0 size {s.shape[1]}, got {d.shape[0]}")
    if bias is not None and tuple(bias.shape) != (s.shape[0], d.shape[1]):
        bias.expand(s.shape[0], d.shape[1])   # torch's error when it cannot broadcast
    _check_dtype(s, d)
    if bias is not None:
        _check_dtype(s, bias)
    if s._nnz() and s._dtype is D.bool:
        raise NotImplementedError("\"addmm_sparse_dense\" not implemented for 'Bool'")


def _check_dtype(s: SparseTensor, d: Tensor) -> None:
    """torch's kernel check that a dense operand has the sparse one's dtype (no kernel runs without entries)."""
    if s._nnz() and s._dtype is not d._dtype:
        raise RuntimeError(f"expected scalar type {s._dtype._short} but found {d._dtype._short}")


def row_products(starts: Any, counts: Any, cols: Any, vals: Any, d: Any) -> Any:
    """``out[i] = Σ vals[k] · d[cols[k]]`` over the entries ``starts[i] .. starts[i] + counts[i]`` of row ``i``
    (entries stored row by row). Rows are grouped by their entry count ``m``; each group is one batched
    product ``(rows, 1, m) @ (rows, m, p)``: no loop over rows, no padding, no short segments (``reduceat``
    over ~10-entry rows costs ~10x more). Block values ``(nnz, br, bc)`` multiply blocks of ``d``
    (``d`` then is ``(ncols / bc, bc, p)`` and the result ``(nrows, br, p)``)."""
    xp = xp_of_array(d)
    blocked = vals.ndim == 3
    nrows = counts.shape[0]
    out = xp.zeros((nrows,) + ((vals.shape[1],) if blocked else ()) + d.shape[-1:], xp.result_type(vals, d))
    if cols.shape[0] == 0 or nrows == 0:
        return out
    if not blocked and d.shape[-1] == 1:   # a vector: one contiguous 1-d segment sum is cheapest
        nonempty = xp.flatnonzero(counts)
        out[nonempty, 0] = xp.add.reduceat(vals * d[cols, 0], starts[nonempty])
        return out
    order = xp.argsort(counts, kind="stable")
    by_count = counts[order]
    bounds = _host(xp.flatnonzero(xp.concatenate((xp.ones(1, bool), by_count[1:] != by_count[:-1])))).tolist()
    sizes = _host(by_count[bounds]).tolist()
    bounds.append(nrows)
    for lo, hi, m in zip(bounds[:-1], bounds[1:], sizes, strict=True):
        if m == 0:
            continue
        rows = order[lo:hi]
        idx = starts[rows][:, None] + xp.arange(m)
        gathered = d[cols[idx]]
        if blocked:
            out[rows] = xp.einsum("nmij,nmjp->nip", vals[idx], gathered)
        else:
            out[rows] = xp.matmul(vals[idx][:, None, :].astype(out.dtype, copy=False), gathered)[:, 0]
    return out


def _spmm_array(s: SparseTensor, d: Tensor) -> Any:
    """The dense product ``s @ d`` (s sparse n×m, d dense m×p): entries ordered by row, then
    :func:`row_products`."""
    st = s._data
    xp = xp_of(s._device)
    rows, cols = st.indices
    vals = st.values
    if not st.coalesced:   # coalesced rows are already sorted
        order = xp.argsort(rows, kind="stable")
        rows, cols, vals = rows[order], cols[order], vals[order]
    counts = xp.bincount(rows, minlength=st.shape[0]) if rows.shape[0] else xp.zeros(st.shape[0], np.int64)
    starts = xp.cumsum(counts) - counts
    return row_products(starts, counts, cols, vals, d._data).astype(d._data.dtype, copy=False)


def _masked_product(g: Tensor, d: Tensor, s: SparseTensor) -> SparseTensor:
    """``(g @ d.T)`` at ``s``'s distinct entries only (duplicates merged, coalesced, as torch's)."""
    idx = _distinct_indices(s._data)
    rows, cols = (from_array(i, D.int64, g._device) for i in idx)
    return _from_values(idx, (g[rows] * d[cols]).sum(1), s.shape, True)


def product_backward(masked_product: Callable, sparse_times: Callable, masked: bool | None = None) -> Callable:
    """The backward of ``beta*bias + alpha*(s @ d)`` for a sparse ``s`` of either kind: ``s``'s gradient dense,
    or only at its pattern (``masked``; None: as the node's ``masked`` says), ``d``'s through ``s.t() @ g``."""
    def backward(n: Any, g: Tensor) -> tuple:
        s, d = n.s, n.d
        gs = masked_product(g, d, s) if (n.masked if masked is None else masked) else g.mm(d.t())
        gd = sparse_times(s.t(), g)
        if n.alpha != 1:
            gs, gd = gs * n.alpha, gd * n.alpha
        if n.bias:
            return (g * n.beta if n.beta != 1 else g, gs, gd)
        return (gs, gd)
    return backward


_spmm_backward = product_backward(_masked_product, lambda a, b: sparse_mm(a, b), masked=True)   # (defined below)
_mm_backward = product_backward(_masked_product, lambda a, b: sparse_mm(a, b), masked=False)
_SparseAddmmBackward0 = make_node_class("SparseAddmmBackward0", _spmm_backward)
_MmBackward0 = make_node_class("MmBackward0", _mm_backward)
_AddmmBackward0 = make_node_class("AddmmBackward0", _mm_backward)


def _product(s: SparseTensor, d: Tensor, op: str, node: type, bias: Tensor | None = None, beta: Any = 1,
             alpha: Any = 1) -> Tensor:
    _check_mm(s, d, op, bias)
    arr = _spmm_array(s, d)
    if alpha != 1:
        arr = arr * arr.dtype.type(alpha)
    if bias is not None:
        b = bias._data if beta == 1 else bias._data * bias._data.dtype.type(beta)
        arr = arr + (0 if beta == 0 else b)
    out = from_array(arr, d._dtype, d._device)
    inputs = (s, d) if bias is None else (bias, s, d)
    return _record(out, node, inputs, s=s, d=d, alpha=alpha, beta=beta, bias=bias is not None)


def sparse_mm(mat1: SparseTensor, mat2: Tensor) -> Tensor:
    """``torch.sparse.mm``: sparse × dense → dense (the sparse gradient keeps ``mat1``'s pattern), sparse ×
    sparse → sparse, dense × sparse as torch composes it: ``(mat2.t() @ mat1.t()).t()``."""
    if isinstance(mat1, SparseTensor):
        if isinstance(mat2, SparseTensor):
            return sparse_sparse_mm(mat1, mat2, _SparseSparseMatmulBackward0)
        return _product(mat1, mat2, "mm", _SparseAddmmBackward0)
    if isinstance(mat2, SparseTensor) and isinstance(mat1, Tensor) and not mat1._sparse_layout:
        _check_dense_first(mat1, mat2)
        return sparse_mm(mat2.transpose(0, 1), mat1.transpose(0, 1)).transpose(0, 1)
    from ..ops.matmul import mm
    return mm(mat1, mat2)


def _check_dense_first(mat1: Tensor, mat2: SparseTensor) -> None:
    """torch's checks of dense × sparse (computed as ``(mat2.t() @ mat1.t()).t()``) on the dense operand."""
    if mat1.dim() == 1:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got -2)")
    if mat1.dim() != 2:
        raise RuntimeError(f"addmm: matrices expected, got {mat1.dim()}D tensor")


def _check_addmm_layouts(input: Tensor, mat1: Tensor, mat2: Tensor) -> None:
    """torch's addmm with a COO operand: a strided ``input`` and a sparse × strided product only."""
    if is_sparse(input):
        raise RuntimeError("addmm_sparse_dense: expected strided result tensor, got tensor with layout Sparse")
    if not is_sparse(mat1) or mat2._sparse_layout:
        names = tuple("Sparse" if is_sparse(m) else "Strided" if not m._sparse_layout else m._data._backend
                      for m in (mat1, mat2))
        raise RuntimeError("addmm_sparse_dense: expected either 'mat1' to have sparse layout and 'mat2' to have "
                           f"strided layout, got 'mat1' with layout {names[0]} and 'mat2' with layout {names[1]}")


def sparse_addmm(input: Tensor, mat1: SparseTensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``torch.sparse.addmm``: beta·input + alpha·(mat1 @ mat2), mat1 sparse."""
    _check_addmm_layouts(input, mat1, mat2)
    return _product(mat1, mat2, "addmm", _SparseAddmmBackward0, input, beta, alpha)


# mm with a sparse second operand (dense × sparse, sparse × sparse): the gradients are products again
_PairMmBackward0 = make_node_class("MmBackward0", lambda n, g: (_mm(g, n.b.t()), _mm(n.a.t(), g)))


def _mm(a: Tensor, b: Tensor) -> Tensor:
    from ..ops.matmul import mm
    return mm(a, b)


def mm_dense(mat1: Tensor, mat2: Tensor) -> Tensor:
    """``torch.mm`` / ``matmul`` / ``@`` with a sparse operand: sparse × dense → dense (its gradient dense, as
    torch's), sparse × sparse → sparse, dense × sparse → dense, computed as ``(mat2.t() @ mat1.t()).t()``."""
    if mat1._sparse_layout and not isinstance(mat1, SparseTensor):   # a compressed layout
        from ._compressed import compressed_mm
        return compressed_mm(mat1, mat2)
    if isinstance(mat1, SparseTensor):
        if isinstance(mat2, SparseTensor):
            return sparse_sparse_mm(mat1, mat2, _PairMmBackward0)
        return _product(mat1, mat2, "mm", _MmBackward0)
    if not isinstance(mat2, SparseTensor):   # dense × compressed
        return mat2.__rmatmul__(mat1)
    _check_dense_first(mat1, mat2)
    with _no_grad():
        out = _product(mat2.t(), mat1.t(), "mm", _MmBackward0).t()
    return _record(out, _PairMmBackward0, (mat1, mat2), a=mat1.detach(), b=mat2.detach())


def _mv_backward(n: Any, g: Tensor) -> tuple:
    col = g.unsqueeze(1)
    return (col * n.v.unsqueeze(0), sparse_mm(n.s.t(), col).squeeze(1))


_MvBackward0 = make_node_class("MvBackward0", _mv_backward)


def sparse_mv(mat: SparseTensor, vec: Tensor) -> Tensor:
    """``torch.mv`` of a sparse matrix and a dense vector (torch's checks, then the sparse × dense kernel)."""
    if mat.dim() != 2 or vec.dim() != 1:
        raise RuntimeError(f"mv: two tensor dim should be 2 and 1, but got SparseTensor Dim: {mat.dim()}Tensor Dim: "
                           f"{vec.dim()}")
    if mat.shape[1] != vec.shape[0]:
        raise RuntimeError("mv: expected self.size(-1) == vec.size(-1)")
    _check_mm(mat, vec.unsqueeze(1), "mv")
    out = from_array(_spmm_array(mat, vec.unsqueeze(1))[:, 0], vec._dtype, vec._device)
    return _record(out, _MvBackward0, (mat, vec), s=mat, v=vec)


def matmul_dense(mat1: Tensor, other: Tensor) -> Tensor:
    """``torch.matmul`` / ``@`` with a sparse operand: a matrix product, ``mv`` for a sparse matrix and a
    vector, and a dense vector or batch times a sparse matrix as torch's (``mm`` of the folded batch)."""
    if mat1._sparse_layout and not isinstance(mat1, SparseTensor):   # a compressed layout
        from ._compressed import compressed_matmul
        return compressed_matmul(mat1, other)
    na, nb = mat1.dim(), other.dim()
    if na == 1 and nb == 1:
        raise not_implemented("dot", _backend(mat1 if mat1._sparse_layout else other))
    if max(na, nb) >= 3:   # torch folds a batch (its reshape refuses a sparse batch) or expands both (refused)
        if (na >= 3 and nb <= 2 and is_sparse(mat1)) or (na == 1 and is_sparse(other)):
            raise RuntimeError("reshape is not implemented for sparse tensors")
        if na < 3 or nb >= 3 or nb == 1:
            raise RuntimeError("expand is unsupported for Sparse tensors")
        from ..ops.views import unsafe_view
        lead = tuple(mat1.shape[:-1])
        return unsafe_view(mm_dense(mat1.reshape(-1, mat1.shape[-1]), other), lead + (other.shape[1],))
    if is_sparse(mat1) and not other._sparse_layout and nb == 1:
        return sparse_mv(mat1, other)
    if not mat1._sparse_layout and na == 1:
        return mm_dense(mat1.unsqueeze(0), other).squeeze_(0)
    if nb != 2 or na != 2:   # a sparse vector as a factor
        raise not_implemented("as_strided" if na > 1 else "as_strided_", _backend(mat1 if na == 1 else other))
    return mm_dense(mat1, other)


def addmm_dense(input: Tensor, mat1: Tensor, mat2: Tensor, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``torch.addmm`` with a sparse operand (a sparse ``mat1`` times a dense ``mat2`` into a dense ``input``)."""
    if mat1._sparse_layout and not isinstance(mat1, SparseTensor):   # a compressed layout
        from ._compressed import compressed_addmm
        return compressed_addmm(input, mat1, mat2, beta, alpha)
    _check_addmm_layouts(input, mat1, mat2)
    return _product(mat1, mat2, "addmm", _AddmmBackward0, input, beta, alpha)


# ---- sparse × sparse -----------------------------------------------------------------------------------
def spgemm_entries(ar: Any, ac: Any, av: Any, crow: Any, bcols: Any, bvals: Any, ncols: int
                   ) -> tuple[Any, Any, Any]:
    """The product of the entries ``(ar, ac, av)`` of a matrix (in row-major order) with a CSR matrix
    (``crow``, ``bcols``, ``bvals``; ``ncols`` columns), as torch's CPU kernel: an output entry wherever some
    ``a[i, p]`` meets ``b[p, j]`` (zero sums kept), each summing its products in order of ``p``. Every entry
    of ``a`` meets the row of ``b`` it selects; the pairs are expanded with ``repeat`` and summed per output
    position. Returns the sorted output rows, columns and values."""
    xp = xp_of_array(av)
    counts = (crow[1:] - crow[:-1])[ac]
    pair = xp.repeat(xp.arange(ac.shape[0]), counts)
    pos = crow[:-1][ac][pair] + xp.arange(pair.shape[0]) - xp.repeat(xp.cumsum(counts) - counts, counts)
    m = max(ncols, 1)
    keys, inv = xp.unique(ar[pair] * m + bcols[pos], return_inverse=True)
    vals = xp.zeros(keys.shape[0], xp.result_type(av, bvals))
    _ordered_add(vals, inv.reshape(-1), av[pair] * bvals[pos])
    return keys // m, keys % m, vals


NOT_SPARSE_IMPL = ('self.is_sparse() INTERNAL ASSERT FAILED at "/__w/pytorch/pytorch/aten/src/ATen/native/'
                   'SparseTensorUtils.h":28, please report a bug to PyTorch. _internal_get_SparseTensorImpl: not a '
                   'sparse tensor')   # torch's error for a strided tensor where its sparse kernel needs a COO one
_NOT_SPARSE = ('{}_.is_sparse() INTERNAL ASSERT FAILED at "/__w/pytorch/pytorch/aten/src/ATen/native/sparse/'
               'SparseMatMul.cpp":{}, please report a bug to PyTorch. ')


def _check_spgemm(a: SparseTensor, b: SparseTensor) -> None:
    """torch's checks of sparse × sparse, in its order."""
    for name, t in (("mat1", a), ("mat2", b)):
        if t.dim() != 2:
            raise RuntimeError(f"Expected {name}_.dim() == 2 to be true, but got false.  (Could this error message "
                               "be improved?  If so, please report an enhancement request to PyTorch.)")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
                           f"{b.shape[0]}x{b.shape[1]})")
    if a._dtype is not b._dtype:
        raise RuntimeError(f"mat1 dtype {a._dtype._short} does not match mat2 dtype {b._dtype._short}")
    for t in (a, b):
        if t.dense_dim():
            raise RuntimeError(f"sparse_sparse_matmul_cpu: scalar values expected, got {t.dense_dim()}D values")
    if a._dtype not in (D.float32, D.float64, D.complex64, D.complex128):
        raise NotImplementedError(f"\"sparse_matmul\" not implemented for '{a._dtype._short}'")


def sparse_sparse_mm(a: SparseTensor, b: SparseTensor, node: type) -> SparseTensor:
    """Sparse × sparse → a coalesced sparse product (both operands coalesced first, as torch's)."""
    _check_spgemm(a, b)
    xp = xp_of(a._device)
    (ar, ac), av = _coalesced(a._data)
    (br, bc), bv = _coalesced(b._data)
    counts = xp.bincount(br, minlength=b.shape[0]) if br.shape[0] else xp.zeros(b.shape[0], np.int64)
    crow = xp.concatenate((xp.zeros(1, np.int64), xp.cumsum(counts)))
    rows, cols, vals = spgemm_entries(ar, ac, av, crow, bc, bv, b.shape[1])
    out = _wrap(xp.stack((rows, cols)).astype(np.int64), vals, (a.shape[0], b.shape[1]), True, a._device,
                a._dtype)
    return _record(out, node, (a, b), a=a.detach(), b=b.detach())


def _coalesced(s: SparseStorage) -> tuple[Any, Any]:
    return (s.indices, s.values) if s.coalesced else _coalesce_arrays(s)


def _mask_like_grad(x: SparseTensor, gx: SparseTensor) -> SparseTensor:
    """The gradient ``gx`` (coalesced) of the sparse ``x``, kept where ``x`` has entries, as torch's: on
    ``x``'s pattern when ``x`` is coalesced with fewer entries than ``gx``, else on ``gx``'s pattern with zeros
    where ``x`` has no entry."""
    xp = xp_of(x._device)
    sx, sg = x._data, gx._data
    lx = xp.ravel_multi_index(tuple(sx.indices), sx.shape)
    lg = xp.ravel_multi_index(tuple(sg.indices), sg.shape)
    if sx.coalesced and lx.shape[0] < lg.shape[0]:
        pos = xp.minimum(xp.searchsorted(lg, lx), max(lg.shape[0] - 1, 0))
        found = lg[pos] == lx if lg.shape[0] else xp.zeros(lx.shape[0], bool)
        vals = xp.where(found, sg.values[pos] if lg.shape[0] else 0, 0).astype(sg.values.dtype)
        return _wrap(sx.indices, vals, sx.shape, True, x._device, gx._dtype)
    vals = xp.where(xp.isin(lg, lx), sg.values, 0).astype(sg.values.dtype)
    return _wrap(sg.indices, vals, sg.shape, sg.coalesced, x._device, gx._dtype)


def _sparse_sparse_backward(n: Any, g: Tensor) -> tuple:
    """torch's: each operand's gradient the sparse product with the other (``g @ b.T``, ``a.T @ g``), kept
    where the operand has entries (:func:`_mask_like_grad`); a dense ``g`` fails as torch's kernel asserts."""
    need_a, need_b = (e is not None for e in n._next)
    if not isinstance(g, SparseTensor):
        raise RuntimeError(_NOT_SPARSE.format("mat2", 266) if need_b else _NOT_SPARSE.format("mat1", 265))
    gb = _mask_like_grad(n.b, sparse_sparse_mm(n.a.t(), g, _PairMmBackward0)) if need_b else None
    ga = _mask_like_grad(n.a, sparse_sparse_mm(g, n.b.t(), _PairMmBackward0)) if need_a else None
    return ga, gb


_SparseSparseMatmulBackward0 = make_node_class("SparseSparseMatmulBackward0", _sparse_sparse_backward)


# ---- batched ------------------------------------------------------------------------------------------
def sparse_bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """``torch.bmm`` with a sparse operand: a 3-d sparse batch (3 sparse dims) times a dense batch, each
    matrix of the coalesced batch times its dense matrix as :func:`sparse_mm` (one block-diagonal product)."""
    if mat2._sparse_layout:
        raise RuntimeError("bmm_sparse: Tensor 'mat2' must be dense")
    if input.dense_dim():
        raise RuntimeError(f"bmm_sparse: Tensor 'self' must have 0 dense dims, but has {input.dense_dim()}")
    if input.sparse_dim() != 3:
        raise RuntimeError(f"bmm_sparse: Tensor 'self' must have 3 sparse dims, but has {input.sparse_dim()}")
    if mat2.dim() != 3:
        raise RuntimeError(f"bmm_sparse: Tensor 'mat2' must have 3 dims, but has {mat2.dim()}")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError("bmm_sparse: 'self.size(0)' and 'mat2.size(0)' must match")
    if input.shape[2] != mat2.shape[1]:
        raise RuntimeError("bmm_sparse: 'self.size(2)' and 'mat2.size(1)' must match")
    _check_dtype(input, mat2)
    if input._nnz() and input._dtype in (D.float16, D.bfloat16, D.bool):
        raise NotImplementedError(f"\"bmm_sparse_dense\" not implemented for '{input._dtype._short}'")
    nb, n, k = input.shape
    p = mat2.shape[2]
    (bi, ri, ci), vals = _coalesced(input._data)
    flat = _wrap(xp_of(input._device).stack((bi * n + ri, bi * k + ci)), vals, (nb * n, nb * k), True,
                 input._device, input._dtype)
    arr = _spmm_array(flat, from_array(mat2._data.reshape(nb * k, p), mat2._dtype, mat2._device))
    out = from_array(arr.reshape(nb, n, p), mat2._dtype, mat2._device)
    return _record(out, _BmmBackward0, (input, mat2), s=input.detach(), d=mat2.detach())


_BmmBackward0 = make_node_class("BmmBackward0", lambda n, g: (g.bmm(n.d.transpose(1, 2)),
                                                              sparse_bmm(n.s.transpose(1, 2), g)))


def _refused_backward(name: str, op: str) -> type:
    """A node named ``name`` whose backward refuses as torch's ``op`` does for a sparse gradient."""
    def backward(n: Any, g: Tensor) -> tuple:
        raise not_implemented(op, _backend(g) if g._sparse_layout else "SparseCPU")
    return make_node_class(name, backward)


_SelectBackward0 = _refused_backward("SelectBackward0", "select_backward")
_UnsqueezeBackward0 = _refused_backward("UnsqueezeBackward0", "as_strided")
_CatBackward0 = _refused_backward("CatBackward0", "as_strided")
_StackBackward0 = make_node_class("StackBackward0", lambda n, g: tuple(g.select(n.dim, i) for i in range(n.count)))
_IndexSelectBackward0 = _refused_backward("IndexSelectBackward0", "index_add_")
_NarrowCopyBackward0 = _refused_backward("NarrowCopyBackward0", "as_strided")


def _no_derivative(op: str) -> type:
    def backward(n: Any, g: Tensor) -> tuple:
        raise RuntimeError(f"derivative for aten::{op} is not implemented")
    return make_node_class("NotImplemented", backward)


_HspmmBackward = _no_derivative("hspmm")
_SmmBackward = _no_derivative("sspaddmm")
_ResizeBackward = {False: _no_derivative("sparse_resize_"), True: _no_derivative("sparse_resize_and_clear_")}
_ResizeAsBackward = _no_derivative("resize_as_sparse_")


def _check_hspmm(mat1: Tensor, mat2: Tensor, op: str) -> None:
    """torch's checks of ``hspmm`` (and of ``sspaddmm`` for ``smm``, ``op``) before the sparse × dense kernel's."""
    if not mat1._sparse_layout and not mat2._sparse_layout:
        raise not_implemented("hspmm", "CPU" if mat1._device is CPU else "CUDA")
    if isinstance(mat2, SparseTensor) and isinstance(mat1, SparseTensor):
        raise RuntimeError("addmm_sparse_dense: expected strided result tensor, got tensor with layout Sparse")
    for arg, n in ((2, mat1.sparse_dim() if isinstance(mat1, SparseTensor) else 0), (3, mat2.dim())):
        if n != 2:
            raise RuntimeError(f"{op}: Argument #{arg}: matrices expected, got {n}D tensor")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"{op}: Argument #3: Expected dim 0 size {mat1.shape[1]}, got {mat2.shape[0]}")
    _check_mm(mat1, mat2, "hspmm")


def _sparse_out(op: str, out: Tensor | None, inputs: tuple, compute: Callable[[], SparseTensor]) -> SparseTensor:
    """``compute()``, or, with ``out=``, its result moved into the sparse ``out`` (torch's checks: no grad,
    a COO ``out`` of the result's dtype)."""
    if out is None:
        return compute()
    from ..ops._dispatch import check_out_grad
    check_out_grad(f"aten::{op}", out, *inputs)
    if not isinstance(out, SparseTensor):
        raise RuntimeError(NOT_SPARSE_IMPL)
    res = compute()
    if res._dtype is not out._dtype:
        raise RuntimeError(f"dtype of values ({res._dtype._short}) must match dtype of sparse tensor "
                           f"({out._dtype._short})")
    out._data = res._data
    out._vc[0] += 1
    return out


def hspmm(mat1: SparseTensor, mat2: Tensor, *, out: SparseTensor | None = None) -> SparseTensor:
    """``torch.hspmm``: the product's rows where ``mat1`` has entries, as a hybrid sparse tensor (1 sparse
    dim, dense rows)."""
    return _sparse_out("hspmm", out, (mat1, mat2), lambda: _hspmm(mat1, mat2, "hspmm"))


def _hspmm(mat1: SparseTensor, mat2: Tensor, op: str) -> SparseTensor:
    _check_hspmm(mat1, mat2, op)
    xp = xp_of(mat1._device)
    rows = xp.unique(mat1._data.indices[0])
    vals = _spmm_array(mat1, mat2)[rows]
    out = _wrap(rows[None].astype(np.int64), vals, (mat1.shape[0], mat2.shape[1]), False, mat2._device,
                mat2._dtype)
    return _record(out, _HspmmBackward, (mat1, mat2))


def smm(input: SparseTensor, mat2: Tensor) -> SparseTensor:
    """``torch.smm``: sparse × dense as a sparse tensor with an entry per (row of ``input`` with entries,
    column of the product)."""
    if input._dtype in (D.float16, D.bfloat16, D.bool):
        raise NotImplementedError(f"\"sspmm\" not implemented for '{input._dtype._short}'")
    h = _hspmm(input, mat2, "sspaddmm")
    xp = xp_of(input._device)
    rows = h._data.indices[0]
    p = mat2.shape[1]
    idx = xp.stack((xp.repeat(rows, p), xp.tile(xp.arange(p, dtype=np.int64), rows.shape[0])))
    out = _wrap(idx, h._data.values.reshape(-1), h.shape, False, mat2._device, mat2._dtype)
    return _record(out, _SmmBackward, (input, mat2))


def sspaddmm(input: SparseTensor, mat1: SparseTensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1,
             out: SparseTensor | None = None) -> SparseTensor:
    """``torch.sspaddmm``: ``beta * input`` followed by the entries of ``alpha * smm(mat1, mat2)`` (uncoalesced)."""
    return _sparse_out("sspaddmm", out, (input, mat1, mat2), lambda: _sspaddmm(input, mat1, mat2, beta, alpha))


def _sspaddmm(input: SparseTensor, mat1: SparseTensor, mat2: Tensor, beta: Any, alpha: Any) -> SparseTensor:
    if not any(isinstance(t, SparseTensor) for t in (input, mat1, mat2)):
        raise RuntimeError("tensor.sspaddmm(...) can only be called on sparse tensors")
    if not isinstance(mat1, SparseTensor):
        raise RuntimeError("sspaddmm: expected 'mat1' to have sparse layout, got 'mat1' with layout Strided")
    if isinstance(mat2, SparseTensor):
        raise RuntimeError("sspaddmm: expected 'mat2' to have strided layout, got 'mat2' with layout Sparse")
    if not isinstance(input, SparseTensor):
        raise RuntimeError(NOT_SPARSE_IMPL)
    if mat1.dim() == 2 and mat2.dim() == 2:
        if mat1.shape[1] != mat2.shape[0]:
            raise RuntimeError(f"sspaddmm: Argument #3: Expected dim 0 size {mat1.shape[1]}, got {mat2.shape[0]}")
        for d, n in enumerate((mat1.shape[0], mat2.shape[1])):
            if input.dim() == 2 and input.shape[d] != n:
                raise RuntimeError(f"sspaddmm: Argument #1: Expected dim {d} size {n}, got {input.shape[d]}")
    with _no_grad():
        prod = smm(mat1, mat2)
    xp = xp_of(input._device)
    a, p = input._data, prod._data
    dt = D.promote_types(input._dtype, prod._dtype)
    va = a.values if beta == 1 else a.values * a.values.dtype.type(beta)
    vp = p.values if alpha == 1 else p.values * p.values.dtype.type(alpha)
    out = _wrap(xp.concatenate((a.indices, p.indices), axis=1),
                xp.concatenate((va.astype(dt.np, copy=False), vp.astype(dt.np, copy=False))), a.shape, False,
                input._device, dt)
    return _record(out, _SmmBackward, (input, mat1, mat2))


SparseTensor.smm = smm   # type: ignore[attr-defined]
SparseTensor.sspaddmm = sspaddmm   # type: ignore[attr-defined]


_NativeNormBackward = _no_derivative("native_norm")


def _norm_backward(n: Any, g: Tensor) -> tuple:
    raise not_implemented("masked_fill_.Scalar")   # torch's backward masks the sparse input, which has no kernel


_SparseNormBackward = make_node_class("NormBackward1", _norm_backward)


def native_norm(input: Tensor, p: Any = 2, dim: Sequence[int] | None = None, keepdim: bool = False,
                dtype: Any = None) -> Tensor:
    """``torch.native_norm``: the ``p``-norm of a COO tensor's (coalesced) values, a full reduction only
    (torch has no strided or compressed kernel for it)."""
    op = "native_norm" if dim is None else "native_norm.ScalarOpt_dim_dtype"
    if not isinstance(input, SparseTensor):
        raise not_implemented(op, _backend(input) if input._sparse_layout else
                              "CPU" if input._device is CPU else "CUDA")
    if dim is not None:
        if {wrap_dim(d, input.dim()) for d in dim} not in (set(), set(range(input.dim()))):
            raise RuntimeError("norm_sparse currently only supports full reductions, so 'dim' must either be empty "
                               "or contain all dimensions of the input")
        if keepdim:
            raise RuntimeError("norm_sparse currently does not support keepdim=True")
        if dtype is not None:
            raise RuntimeError("norm_sparse currently does not support 'dtype' argument")
    if not (input._dtype.is_floating_point or input._dtype.is_complex):
        raise RuntimeError("norm(): input dtype should be either floating point or complex. Got "
                           f"{input._dtype._short} instead.")
    from ..linalg import vector_norm
    with _no_grad():
        out = vector_norm(input.coalesce()._values().reshape(-1), 2 if p is None else p)
    return _record(out, _NativeNormBackward, (input,))


def _sparse_norm(self: SparseTensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None
                 ) -> Tensor:
    """``Tensor.norm`` / ``torch.norm`` of a COO tensor: :func:`native_norm`'s full reductions ('fro' is p=2;
    its backward fails as torch's)."""
    if p == "nuc":
        raise not_implemented("_linalg_svd")
    dims = None if dim is None else [dim] if isinstance(dim, int) else list(dim)
    with _no_grad():
        out = native_norm(self, 2 if p == "fro" else p, dims or [], keepdim, dtype)
    return _record(out, _SparseNormBackward, (self,))


SparseTensor.norm = _sparse_norm   # type: ignore[method-assign]


# ---- softmax -----------------------------------------------------------------------------------------
def _group_sum(x: Tensor, gid: Tensor, n: int) -> Tensor:
    from ..ops.creation import zeros
    return zeros(n, *x.shape[1:], dtype=x.dtype, device=x.device).index_add(0, gid, x)[gid]


def _softmax_backward(n: Any, g: Tensor) -> tuple:
    gv = _gather(g, n.indices)
    y = n.y
    if n.log:
        grad = gv - y.exp() * _group_sum(gv, n.gid, n.groups)
    else:
        grad = y * (gv - _group_sum(gv * y, n.gid, n.groups))
    return (_from_values(n.indices, grad, n.shape, True),)


_SparseSoftmaxBackward0 = make_node_class("SparseSoftmaxBackward0", _softmax_backward)
_SparseLogSoftmaxBackward0 = make_node_class("SparseLogSoftmaxBackward0", _softmax_backward)


def sparse_softmax(input: SparseTensor, dim: int, dtype: Any = None, log: bool = False) -> SparseTensor:
    """``torch.sparse.softmax`` / ``log_softmax`` along a sparse ``dim``: over the specified entries of each
    slice only (unspecified entries count as -inf, not 0); the result has the coalesced pattern."""
    if dtype is not None:
        input = input.to(dtype)
    if input._dtype not in (D.float32, D.float64):   # torch's CPU kernel has float and double only
        kernel = "log_softmax" if log else "softmax"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{input._dtype._short}'")
    d = wrap_dim(dim, input.dim())
    sd = input.sparse_dim()
    if d >= sd:
        raise not_implemented("_sparse_log_softmax" if log else "_sparse_softmax")
    xp = xp_of(input._device)
    idx, v = _coalesce_arrays(input._data)
    others = [k for k in range(sd) if k != d]
    if others and idx.shape[1]:
        lin = xp.ravel_multi_index(tuple(idx[others]), tuple(input.shape[k] for k in others))
        _, gid = xp.unique(lin, return_inverse=True)
        gid = gid.reshape(-1)
    else:
        gid = xp.zeros(idx.shape[1], np.int64)
    groups = int(gid.max()) + 1 if gid.size else 0
    m = xp.full((groups,) + v.shape[1:], -np.inf, v.dtype)
    xp.maximum.at(m, gid, v)
    shifted = v - m[gid]
    e = xp.exp(shifted)
    tot = xp.zeros_like(m)
    xp.add.at(tot, gid, e)
    y = shifted - xp.log(tot)[gid] if log else e / tot[gid]
    out = _wrap(idx, y, input.shape, True, input._device, input._dtype)
    node = _SparseLogSoftmaxBackward0 if log else _SparseSoftmaxBackward0
    return _record(out, node, (input,), indices=idx, shape=tuple(input.shape), log=log, groups=groups,
                   y=from_array(y, input._dtype, input._device), gid=from_array(gid, D.int64, input._device))


# ---- nn hooks ------------------------------------------------------------------------------------------
def embedding_grad(idx: Tensor, g: Tensor, num: int, padding_idx: int | None, scale_grad_by_freq: bool
                   ) -> SparseTensor:
    """The sparse gradient of an embedding lookup: one entry per looked-up index (padding dropped),
    uncoalesced, in lookup order (torch's ``embedding_backward`` with ``sparse=True``)."""
    if scale_grad_by_freq:
        raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with sparse gradients")
    dim = g.shape[-1]
    flat = idx._data.reshape(-1).astype(np.int64)
    gf = g.reshape(-1, dim)
    if padding_idx is not None:
        keep = flat != padding_idx
        flat = flat[keep]
        gf = gf[from_array(keep, D.bool, g._device)]
    return _from_values(flat[None], gf, (num, dim), False)


Tensor.to_sparse = to_sparse   # type: ignore[attr-defined]
Tensor.to_sparse_coo = _to_sparse_coo   # type: ignore[attr-defined]
