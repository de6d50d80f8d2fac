"""Sparse compressed tensors: ``layout=torch.sparse_csr / sparse_csc / sparse_bsr / sparse_bsc``.

Mechanism. A compressed tensor is a :class:`CompressedTensor`, a ``Tensor`` subclass (presented as
``Tensor``, as the COO :class:`~ember.sparse._coo.SparseTensor`) whose ``_data`` is a
:class:`CompressedStorage`: the compressed indices (``crow_indices`` for CSR/BSR, ``ccol_indices`` for
CSC/BSC; batch × (compressed size + 1)), the plain indices (batch × nnz), the values (batch × nnz ×
block × dense), the size and the layout. Like the COO storage it answers only the metadata every tensor
answers and refuses dense use with torch's "Could not run ... 'SparseCsrCPU' backend" error.

One generic description serves the four layouts: an entry has a batch position, a compressed and a
plain coordinate (rows and columns, or columns and rows), counted in blocks for BSR/BSC (1×1 blocks
otherwise). Every conversion goes through entry coordinates (:func:`_coords` out, :func:`_assemble` in),
vectorised with ``argsort``/``bincount``/``cumsum``; products use segment sums (``add.reduceat``) over
the rows, which CSR stores contiguously. Forward kernels run on the ``xp`` arrays; backward formulas use
ember ops and the differentiable functions of this module. As torch, ``is_sparse`` is False and
``is_sparse_csr`` True for CSR only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU, canonical, xp_of, xp_of_array
from .._core.warn import warn
from .._tensor import Tensor, from_array, wrap_dim
from ..ops._dispatch import make_node_class, torch_names
from ..ops.extra import _LAYOUTS, layout, strided
from ._coo import (
    NOT_SPARSE_IMPL,
    SparseBase,
    SparseStorage,
    SparseTensor,
    _host,
    _no_grad,
    _ordered_add,
    _record,
    _wrap,
    not_implemented,
    product_backward,
    refuse_args,
    resolve_check,
    row_products,
    sparse_coo,
    spgemm_entries,
)

__all__ = ["sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc", "CompressedTensor", "sparse_compressed_tensor",
           "sparse_csr_tensor", "sparse_csc_tensor", "sparse_bsr_tensor", "sparse_bsc_tensor", "is_compressed",
           "to_sparse_compressed", "compressed_mm", "compressed_matmul", "compressed_addmm", "sampled_addmm"]

sparse_csr, sparse_csc, sparse_bsr, sparse_bsc = (layout(n) for n in ("sparse_csr", "sparse_csc", "sparse_bsr",
                                                                      "sparse_bsc"))
for _l in (sparse_csr, sparse_csc, sparse_bsr, sparse_bsc):
    _LAYOUTS[_l._name] = _l
_COMPRESSED = (sparse_csr, sparse_csc, sparse_bsr, sparse_bsc)
_ROW_MAJOR = (sparse_csr, sparse_bsr)   # compressed dimension = rows
_BLOCKED = (sparse_bsr, sparse_bsc)
_KEY = {"strided": "Strided", "sparse_coo": "Sparse", "sparse_csr": "SparseCsr", "sparse_csc": "SparseCsc",
        "sparse_bsr": "SparseBsr", "sparse_bsc": "SparseBsc"}


def _key(lay: Any) -> str:
    """torch's dispatch-style name of a layout (``SparseCsr``), as its messages print it."""
    return "none" if lay is None else _KEY.get(getattr(lay, "_name", ""), str(lay))


def _names(lay: Any) -> tuple[str, str]:
    return ("crow_indices", "col_indices") if lay in _ROW_MAJOR else ("ccol_indices", "row_indices")


_beta_warned = [False]


def _beta_warning() -> None:
    if not _beta_warned[0]:
        _beta_warned[0] = True
        warn("Sparse CSR tensor support is in beta state. If you miss a functionality in the sparse tensor "
             "support, please submit a feature request to https://github.com/pytorch/pytorch/issues.",
             UserWarning, stacklevel=5)


class CompressedStorage(SparseStorage):
    """What a compressed tensor holds in ``_data``: its three arrays, size and layout; refuses dense use."""

    __slots__ = ("compressed", "plain", "layout")
    _backend = "SparseCsr"

    def __init__(self, compressed: Any, plain: Any, values: Any, shape: Sequence[int], lay: Any) -> None:
        self.compressed, self.plain, self.values = compressed, plain, values
        self.shape = tuple(int(s) for s in shape)
        self.layout = lay
        self.indices = None
        self.coalesced = True

    @property
    def nbatch(self) -> int:
        return self.compressed.ndim - 1

    @property
    def block(self) -> tuple[int, int]:
        """The block shape (1×1 for CSR/CSC)."""
        nb = self.nbatch
        return tuple(self.values.shape[nb + 1:nb + 3]) if self.layout in _BLOCKED else (1, 1)

    def astype(self, dtype: Any, copy: bool = True) -> CompressedStorage:
        return CompressedStorage(self.compressed, self.plain, self.values.astype(dtype), self.shape, self.layout)

    def __iadd__(self, other: Any) -> CompressedStorage:
        """Gradient accumulation ``old += new``: the sum has the union of both patterns."""
        if not isinstance(other, CompressedStorage) or other.shape != self.shape or other.layout is not self.layout:
            return self._refuse()
        self.compressed, self.plain, self.values = _add_arrays(self, other, 1)
        return self

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, out: Any = None, **kwargs: Any) -> Any:
        """``dense += compressed`` (a dense gradient accumulating a compressed one); other ufuncs refuse."""
        if ufunc is np.add and method == "__call__" and out is not None and len(inputs) == 2 \
                and inputs[0] is out[0] and inputs[1] is self and out[0].shape == self.shape:
            out[0] += _dense_array(self).astype(out[0].dtype, copy=False)
            return out[0]
        return self._refuse()


# ---- entry coordinates ------------------------------------------------------------------------------
def _coords(s: CompressedStorage) -> tuple[Any, Any, Any, Any]:
    """Per stored entry (in storage order): flat batch position, row and column (in blocks), and the
    values flattened over the batch: ``(B·nnz, *block, *dense)`` (no block axes for CSR/CSC)."""
    xp = xp_of_array(s.values)
    nb = s.nbatch
    nbatch = math.prod(s.shape[:nb])
    ncomp = s.compressed.shape[-1] - 1
    comp_idx = s.compressed.reshape(nbatch, ncomp + 1).astype(np.int64)
    counts = (comp_idx[:, 1:] - comp_idx[:, :-1]).reshape(-1)
    comp = xp.repeat(xp.tile(xp.arange(ncomp, dtype=np.int64), nbatch), counts)
    nnz = s.plain.shape[-1]
    b = xp.repeat(xp.arange(nbatch, dtype=np.int64), nnz)
    plain = s.plain.reshape(-1).astype(np.int64)
    vals = s.values.reshape((nbatch * nnz,) + s.values.shape[nb + 1:])
    rows, cols = (comp, plain) if s.layout in _ROW_MAJOR else (plain, comp)
    return b, rows, cols, vals


def _dense_array(s: CompressedStorage) -> Any:
    """The dense array of a compressed storage (entries scattered into zeros, duplicates added in order)."""
    xp = xp_of_array(s.values)
    nb = s.nbatch
    br, bc = s.block
    nrows, ncols = s.shape[nb:nb + 2]
    dense = s.shape[nb + 2:]
    nbatch = math.prod(s.shape[:nb])
    b, r, c, vals = _coords(s)
    if s.layout not in _BLOCKED:
        vals = vals.reshape((vals.shape[0], 1, 1) + dense)
    grid = (nbatch, nrows // br, ncols // bc)
    out = xp.zeros((math.prod(grid), br, bc) + dense, s.values.dtype)
    if b.shape[0]:
        _ordered_add(out, (b * grid[1] + r) * grid[2] + c, vals)
    out = out.reshape(grid + (br, bc) + dense)
    out = xp.moveaxis(out, 3, 2)   # (B, R/br, br, C/bc, bc, *dense)
    return out.reshape(s.shape)


def _assemble(batch: tuple[int, ...], nrows: int, ncols: int, b: Any, r: Any, c: Any, vals: Any, lay: Any,
              index_dtype: Any = np.int64) -> CompressedStorage:
    """A compressed storage of layout ``lay`` from distinct entries in any order: batch position, block row,
    block column and values ``(n, *block, *dense)`` (``(n, *dense)`` for CSR/CSC)."""
    xp = xp_of_array(vals)
    nbatch = math.prod(batch)
    br, bc = vals.shape[1:3] if lay in _BLOCKED else (1, 1)
    grid_r, grid_c = nrows // br, ncols // bc
    comp, plain, ncomp, nplain = (r, c, grid_r, grid_c) if lay in _ROW_MAJOR else (c, r, grid_c, grid_r)
    key = (b * ncomp + comp) * nplain + plain
    n = int(b.shape[0])
    order = None if n < 2 or bool((key[1:] >= key[:-1]).all()) else xp.argsort(key, kind="stable")
    per_batch = xp.bincount(b, minlength=nbatch) if n else xp.zeros(nbatch, np.int64)
    if nbatch and bool((per_batch != per_batch[0]).any()):
        raise RuntimeError("Expect the same number of specified elements per batch.")
    nnz = n // nbatch if nbatch else 0
    counts = xp.bincount(b * ncomp + comp, minlength=nbatch * ncomp) if n else xp.zeros(nbatch * ncomp, np.int64)
    compressed = xp.zeros((nbatch, ncomp + 1), np.int64)
    compressed[:, 1:] = xp.cumsum(counts.reshape(nbatch, ncomp), axis=1)
    plain_sorted = (plain if order is None else plain[order]).reshape(nbatch, nnz)
    values = (vals if order is None else vals[order]).reshape((nbatch, nnz) + vals.shape[1:])
    shape = batch + (nrows, ncols) + tuple(vals.shape[1 + (2 if lay in _BLOCKED else 0):])
    return CompressedStorage(compressed.reshape(batch + (ncomp + 1,)).astype(index_dtype, copy=False),
                             plain_sorted.reshape(batch + (nnz,)).astype(index_dtype, copy=False),
                             values.reshape(batch + values.shape[1:]), shape, lay)


def _blocks_of(nbatch: int, nrows: int, ncols: int, b: Any, r: Any, c: Any, vals: Any, blocksize: tuple[int, int],
               fname: str) -> tuple[Any, Any, Any, Any]:
    """Group element entries into the blocks that hold them: distinct (batch, block row, block column) and
    the blocks' values (zeros where no entry lies); ``fname`` names the conversion in torch's error."""
    xp = xp_of_array(vals)
    br, bc = blocksize
    _check_divisible(fname, nrows, ncols, br, bc)
    gr, gc = nrows // br, ncols // bc
    key = (b * gr + r // br) * gc + c // bc
    uniq, inv = xp.unique(key, return_inverse=True)
    out = xp.zeros((uniq.shape[0], br, bc) + vals.shape[1:], vals.dtype)
    out[inv.reshape(-1), r % br, c % bc] = vals
    return uniq // (gr * gc), (uniq // gc) % gr, uniq % gc, out


def _check_divisible(fname: str, nrows: int, ncols: int, br: int, bc: int) -> None:
    if nrows % br or ncols % bc:
        raise RuntimeError(f"{fname}: tensor sparse size ({nrows},{ncols}) must be divisible by given blocksize "
                           f"({br},{bc})")


# ---- the tensor -------------------------------------------------------------------------------------
class CompressedTensor(SparseBase):
    """A sparse compressed tensor (CSR, CSC, BSR or BSC); see the module docstring."""

    __slots__ = ()
    _data: CompressedStorage   # type: ignore[assignment]

    @property
    def is_sparse_csr(self) -> bool:
        return self._data.layout is sparse_csr   # torch: True for CSR only

    @property
    def layout(self) -> Any:
        return self._data.layout

    # ---- structure ---------------------------------------------------------------------------------
    def sparse_dim(self) -> int:
        return 2

    def dense_dim(self) -> int:
        s = self._data
        return len(s.shape) - s.nbatch - 2

    def _nnz(self) -> int:
        return int(self._data.plain.shape[-1])

    def _index(self, name: str, which: int) -> Tensor:
        s = self._data
        if name not in _names(s.layout):
            kind = "row" if name in ("crow_indices", "col_indices") else "column"
            raise RuntimeError(f"{name} expected sparse {kind} compressed tensor layout but got {_key(s.layout)}")
        arr = s.compressed if which == 0 else s.plain
        return from_array(arr, D.from_numpy_dtype(arr.dtype), self._device)

    def crow_indices(self) -> Tensor:
        return self._index("crow_indices", 0)

    def col_indices(self) -> Tensor:
        return self._index("col_indices", 1)

    def ccol_indices(self) -> Tensor:
        return self._index("ccol_indices", 0)

    def row_indices(self) -> Tensor:
        return self._index("row_indices", 1)

    def values(self) -> Tensor:
        out = from_array(self._data.values, self._dtype, self._device)
        return _record(out, _ValuesBackward0, (self,), src=self)

    def indices(self) -> Tensor:
        raise RuntimeError(f"indices expected sparse coordinate tensor layout but got {_key(self.layout)}")

    def coalesce(self) -> Tensor:
        raise RuntimeError(f"coalesce expected sparse coordinate tensor layout but got {_key(self.layout)}")

    def is_coalesced(self) -> bool:
        raise RuntimeError(f"is_coalesced expected sparse coordinate tensor layout but got {_key(self.layout)}")

    def _indices(self) -> Tensor:
        raise not_implemented("_indices", "SparseCsrCPU")

    def _values(self) -> Tensor:
        raise not_implemented("_values", "SparseCsrCPU")

    def stride(self, dim: int | None = None) -> Any:
        raise RuntimeError(f"Sparse {_key(self.layout)[6:].upper()} tensors do not have strides")

    def is_contiguous(self, memory_format: Any = None) -> bool:
        raise RuntimeError(f"Sparse {_key(self.layout)[6:].upper()} tensors do not have is_contiguous")

    contiguous = is_contiguous

    def numpy(self, *, force: bool = False) -> np.ndarray:
        raise TypeError(f"can't convert {_key(self.layout)} layout tensor to numpy. Use Tensor.to_dense() first.")

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self.numpy()

    def storage(self) -> Any:
        raise NotImplementedError("Cannot access storage of SparseCsrTensorImpl")

    untyped_storage = storage

    def data_ptr(self) -> int:
        raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage")

    def tolist(self) -> Any:
        raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage")

    def reshape(self, *shape: Any) -> Tensor:
        raise not_implemented("view", "SparseCsrCPU")

    view = flatten = reshape

    def __repr__(self, *, tensor_contents: Any = None) -> str:
        return _repr(self)

    __str__ = __repr__

    def __reduce_ex__(self, protocol: int) -> Any:
        s = self._data
        return (_rebuild, (_host(s.compressed), _host(s.plain), _host(s.values), s.shape, s.layout._name,
                           self._dtype.name, str(self._device), self._rg))

    def __deepcopy__(self, memo: dict) -> CompressedTensor:
        if id(self) in memo:
            return memo[id(self)]
        s = self._data
        new = _wrap_c(CompressedStorage(s.compressed.copy(), s.plain.copy(), s.values.copy(), s.shape, s.layout),
                      self._device, self._dtype)
        new._rg = self._rg
        memo[id(self)] = new
        return new

    def _sparse_reduce_args(self) -> tuple:
        """What ``torch.save`` pickles: ``_rebuild_sparse_tensor(layout, (compressed, plain, values, size))``."""
        s = self._data
        dt = D.from_numpy_dtype(s.compressed.dtype)
        return (s.layout, (from_array(s.compressed, dt, self._device), from_array(s.plain, dt, self._device),
                           from_array(s.values, self._dtype, self._device), self.shape))

    # ---- conversions -------------------------------------------------------------------------------
    def to_dense(self, dtype: Any = None, *, masked_grad: bool | None = None) -> Tensor:
        if dtype is not None:
            raise RuntimeError("dtype argument is not supported by sparse_csr_to_dense")
        out = from_array(_dense_array(self._data), self._dtype, self._device)
        return _record(out, _ToDenseBackward0, (self,), src=self)

    def to_sparse(self, sparse_dim: int | None = None, *, layout: Any = None, blocksize: Any = None,
                  dense_dim: int | None = None) -> Tensor:
        if layout is None or layout is sparse_coo:
            refuse_args("sparse_compressed_to_sparse", _key(self.layout), "Sparse", blocksize, dense_dim)
            if sparse_dim is not None and sparse_dim != 2:
                raise RuntimeError(f"sparse_compressed_to_sparse: conversion from {_key(self.layout)} to Sparse "
                                   f"with sparse_dim argument !=2 is not supported")
            return _compressed_to_coo(self)
        if layout is strided:
            return self.to_dense()
        return to_sparse_compressed(self, layout, blocksize, dense_dim, generic=True)

    def to_sparse_coo(self) -> Tensor:
        return _compressed_to_coo(self)

    def clone(self, *, memory_format: Any = None) -> CompressedTensor:
        s = self._data
        out = _wrap_c(CompressedStorage(s.compressed.copy(), s.plain.copy(), s.values.copy(), s.shape, s.layout),
                      self._device, self._dtype)
        return _record(out, _CloneBackward0, (self,))

    def detach(self) -> CompressedTensor:
        return _wrap_c(self._data, self._device, self._dtype)

    def to(self, *args: Any, **kwargs: Any) -> CompressedTensor:
        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, D.dtype):
                dtype = a
            elif a is not None and not isinstance(a, bool) and canonical(a) is not self._device:
                raise not_implemented("_to_copy", "SparseCsrCPU")
        if kwargs.get("device") is not None and canonical(kwargs["device"]) is not self._device:
            raise not_implemented("_to_copy", "SparseCsrCPU")
        if dtype is None or dtype is self._dtype:
            return self
        out = _wrap_c(self._data.astype(dtype.np), self._device, dtype)
        return _record(out, _ToCopyBackward0, (self,), dtype=self._dtype)

    def transpose(self, dim0: int, dim1: int) -> CompressedTensor:
        return _transpose(self, dim0, dim1, _TransposeBackward0)

    def t(self) -> CompressedTensor:
        if self.dim() > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.dim()}D")
        return _transpose(self, 0, 1, _TBackward0)

    @property
    def mT(self) -> CompressedTensor:   # noqa: N802 (torch's name)
        return _transpose(self, -2, -1, _TransposeBackward0)

    @property
    def T(self) -> Tensor:   # noqa: N802 (torch's name)
        raise not_implemented("as_strided", "SparseCsrCPU")

    def permute(self, *dims: Any) -> Tensor:
        raise not_implemented("as_strided", "SparseCsrCPU")

    # ---- arithmetic --------------------------------------------------------------------------------
    def mul(self, other: Any) -> CompressedTensor:
        return _mul(self, other)

    __mul__ = __rmul__ = mul

    def add(self, other: Any, *, alpha: Any = 1) -> Tensor:
        return _add(self, other, alpha)

    __add__ = add

    def __radd__(self, other: Any) -> Tensor:
        if isinstance(other, Tensor):
            return _add_dense(other, self, 1)
        return _add(self, other, 1)

    def _unsupported(self, *args: Any, **kwargs: Any) -> Tensor:
        raise RuntimeError(f"unsupported tensor layout: {_key(self.layout)}")

    sub = __sub__ = __rsub__ = div = __truediv__ = __rtruediv__ = _unsupported

    def sum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        return _sum(self, dim, keepdim, dtype)

    def mm(self, mat2: Tensor) -> Tensor:
        return compressed_mm(self, mat2)

    def matmul(self, other: Tensor) -> Tensor:
        return compressed_matmul(self, other)

    __matmul__ = matmul

    def __rmatmul__(self, other: Tensor) -> Tensor:
        """``dense @ compressed`` = ``(compressed.mT @ dense.mT).mT`` (torch's MmBackward0 result)."""
        if not isinstance(other, Tensor) or other.dim() != 2 or self.dim() != 2:
            raise not_implemented("mm", "SparseCsrCPU")
        out = _product(self.t(), other.t(), "mm", None).t()
        with _no_grad():
            out = out.contiguous()
        return _record(out, _RMmBackward0, (other, self), s=self, d=other)

    def mv(self, vec: Tensor) -> Tensor:
        return _mv(self, vec)

    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        raise not_implemented("addmm", "SparseCsrCPU")

    def sparse_mask(self, mask: Tensor) -> Tensor:
        return _sparse_mask(self.to_dense(), mask)

    def pow(self, exponent: Any) -> Tensor:
        raise RuntimeError(f"unsupported tensor layout: {_key(self.layout)}")

    __pow__ = pow

    def select(self, dim: int, index: int) -> Tensor:
        """The slice of a matrix as a (coalesced) COO tensor, as torch; batched inputs are not supported here."""
        d = wrap_dim(dim, self.dim())
        if self._data.nbatch or self.dense_dim():
            raise not_implemented("select", "SparseCsrCPU")
        if not -self.shape[d] <= index < self.shape[d]:
            raise IndexError(f"select(): index {index} out of range for tensor of size {list(self.shape)} at "
                             f"dimension {d}")
        if d == 0 and self.layout in _BLOCKED and not self._row_is_view(index % self.shape[0]):
            raise RuntimeError("select(): no view exists for the given input, consider using torch.select_copy.")
        out = _compressed_to_coo(self).select(d, index)
        out._data.coalesced = True
        return out

    def index_select(self, dim: int, index: Tensor) -> Tensor:
        raise not_implemented("index_select", "SparseCsrCPU")

    def narrow_copy(self, dim: int, start: int, length: int) -> Tensor:
        raise RuntimeError(f"Sparse {_key(self.layout)[6:].upper()} tensors do not have strides")

    def unsqueeze(self, dim: int) -> Tensor:
        raise RuntimeError(f"Sparse {_key(self.layout)[6:].upper()} tensors do not have strides")

    def mul_(self, other: Any) -> CompressedTensor:
        """In place times a number: the stored values scaled (torch's kernel for a scalar)."""
        from ._coo import _scalar_operand, _values_inplace
        c = _scalar_operand(other, "mul_")
        return _values_inplace(self, lambda v: v.mul_(c))

    def div_(self, other: Any, *, rounding_mode: str | None = None) -> CompressedTensor:
        raise RuntimeError(f"unsupported tensor layout: {_key(self.layout)}")

    def _row_is_view(self, row: int) -> bool:
        """Whether torch can view a row of a block layout: one-row blocks, stored next to each other (as
        observed of torch's select)."""
        st = self._data
        if st.block[0] != 1:
            return False
        if self.layout is sparse_bsr:
            return True
        pos = np.flatnonzero(_host(st.plain) == row)
        return pos.size == 0 or int(pos[-1] - pos[0]) + 1 == pos.size

    def __getitem__(self, key: Any) -> Tensor:
        if type(key) is int:
            return self.select(0, key)
        raise not_implemented("getitem", "SparseCsrCPU")

    def sparse_resize_(self, *args: Any) -> Tensor:
        raise not_implemented("sparse_resize_", "SparseCsrCPU")

    def zero_(self) -> CompressedTensor:
        s = self._data
        xp = xp_of(self._device)
        nb = s.nbatch
        s.compressed = xp.zeros_like(s.compressed)
        s.plain = s.plain[..., :0]
        s.values = xp.zeros(s.values.shape[:nb] + (0,) + s.values.shape[nb + 1:], s.values.dtype)
        self._vc[0] += 1
        return self


CompressedTensor.__name__ = CompressedTensor.__qualname__ = "Tensor"
CompressedTensor.__module__ = Tensor.__module__
_new = object.__new__


def is_compressed(t: Any) -> bool:
    return isinstance(t, CompressedTensor)


def _wrap_c(s: CompressedStorage, dev: Any = CPU, dtype: D.dtype | None = None) -> CompressedTensor:
    """A fresh compressed leaf over ``s`` (arrays not copied)."""
    _beta_warning()
    t = _new(CompressedTensor)
    t._data = s
    t._dtype = dtype if dtype is not None else D.from_numpy_dtype(s.values.dtype)
    t._device = dev
    t._base = None
    t._vc = [0]
    t._rg = False
    t._grad_fn = None
    t._output_nr = 0
    return t


def _like(src: CompressedTensor, values: Tensor) -> CompressedTensor:
    """A compressed tensor with ``src``'s pattern and the (differentiable) ``values``."""
    s = src._data
    out = _wrap_c(CompressedStorage(s.compressed, s.plain, values._data, s.shape, s.layout), values._device,
                  values._dtype)
    return _record(out, _SparseCompressedBackward0, (values,), src=out)


def _rebuild(compressed: np.ndarray, plain: np.ndarray, values: np.ndarray, shape: tuple, layout_name: str,
             dtype_name: str, dev: str, requires_grad: bool) -> CompressedTensor:
    d = canonical(dev)
    xp = xp_of(d)
    t = _wrap_c(CompressedStorage(xp.asarray(compressed), xp.asarray(plain), xp.asarray(values), shape,
                                  _LAYOUTS[layout_name]), d, D.BY_NAME[dtype_name])
    t._rg = requires_grad
    return t


def rebuild_compressed(lay: Any, data: tuple) -> CompressedTensor:
    """Unpickling torch's ``_rebuild_sparse_tensor(layout, (compressed, plain, values, size))``."""
    compressed, plain, values, size = data[:4]
    return sparse_compressed_tensor(compressed, plain, values, size, layout=lay, check_invariants=False)


# ---- printing ---------------------------------------------------------------------------------------
def _repr(t: CompressedTensor) -> str:
    """torch's form: compressed indices, plain indices and values, then size/nnz/dtype/layout suffixes."""
    from .._core import dtype as dt
    from .._tensor_str import _join_suffixes, _tensor_body
    indent = 7
    s = t._data
    cname, pname = _names(s.layout)
    parts = []
    idt = D.from_numpy_dtype(s.compressed.dtype)
    for name, arr, dty in ((cname, s.compressed, idt), (pname, s.plain, idt), ("values", s.values, t._dtype)):
        part = from_array(arr, dty, t._device)
        head = f"{name}=tensor("
        body = _tensor_body(part, indent + len(head))
        parts.append(head + body + (f", size={tuple(part.shape)})" if part.numel() == 0 else ")"))
    suffixes = [] if t.device.type == "cpu" else [f"device='{t.device}'"]
    suffixes += [f"size={tuple(t.shape)}", f"nnz={t._nnz()}"]
    default = dt.get_default_dtype()
    if t.dtype not in (default, dt.complex128 if default is dt.float64 else dt.complex64, dt.int64, dt.bool):
        suffixes.append(f"dtype={t.dtype!r}")
    suffixes.append(f"layout={t.layout!r}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _join_suffixes("tensor(" + (",\n" + " " * indent).join(parts), suffixes, indent)


# ---- construction -----------------------------------------------------------------------------------
def _as_tensor(x: Any, dev: Any, dtype: Any = None) -> Tensor:
    from ..ops.creation import tensor as make_tensor
    return x if isinstance(x, Tensor) else make_tensor(x, dtype=dtype, device=dev)


def _validate(ci: Tensor, pi: Tensor, vals: Tensor, shape: tuple[int, ...], lay: Any) -> None:
    """torch's invariant checks of ``check_invariants=True``, in its order and with its messages."""
    cname, pname = _names(lay)
    idt = (ci._dtype, pi._dtype)
    if idt[0] is not idt[1]:
        raise RuntimeError(f"{cname} and {pname} must have the same dtype, bot got {idt[0]._short} and "
                           f"{idt[1]._short}, respectively")
    if idt[0] not in (D.int32, D.int64):
        raise RuntimeError(f"{cname} and {pname} dtype must be Int or Long, but got {idt[0]._short}")
    if ci.dim() != pi.dim():
        raise RuntimeError(f"{cname} and {pname} dimensionalities must be equal but got {ci.dim()} and {pi.dim()}, "
                           "respectively")
    nb = ci.dim() - 1
    nblock = 2 if lay in _BLOCKED else 0
    if vals.dim() <= nb + nblock:
        raise RuntimeError(f"values must have dimensionality > sum of batch and block dimensionalities (={nb} + "
                           f"{nblock}) but got {vals.dim()}")
    ndense = vals.dim() - nb - 1 - nblock
    if len(shape) != nb + 2 + ndense:
        raise RuntimeError(f"tensor dimensionality must be sum of batch, base, and dense dimensionalities (={nb} + 2 "
                           f"+ {ndense}) but got {len(shape)}")
    batch = list(shape[:nb])
    if list(ci.shape[:nb]) != batch or list(pi.shape[:nb]) != batch or list(vals.shape[:nb]) != batch:
        raise RuntimeError(f"all batch dimensions of {cname} (={list(ci.shape[:nb])}), {pname} "
                           f"(={list(pi.shape[:nb])}), and values (={list(vals.shape[:nb])}) must be equal to tensor "
                           f"batch dimensions (={batch})")
    block = tuple(vals.shape[nb + 1:nb + 3]) if nblock else (1, 1)
    for i in range(2):
        if shape[nb + i] % block[i]:
            raise RuntimeError(f"tensor shape[{nb + i}] (={shape[nb + i]}) must be divisible with blocksize[{i}] "
                               f"(={block[i]}) as defined by values shape")
    row = lay in _ROW_MAJOR
    ncomp = shape[nb + (0 if row else 1)] // block[0 if row else 1]
    nplain = shape[nb + (1 if row else 0)] // block[1 if row else 0]
    what = "rows" if row else "columns"
    if ci.shape[-1] != ncomp + 1:
        raise RuntimeError(f"{cname}.shape[-1] must be equal to the number of {what} + 1 (={ncomp + 1}), but got "
                           f"{ci.shape[-1]}")
    nnz = vals.shape[nb]
    if pi.shape[-1] != nnz:
        raise RuntimeError(f"{pname}.shape[-1] must be equal to nnz (={nnz}) as defined by values.shape[{nb}], but "
                           f"got {pi.shape[-1]}")
    c, p = ci._data.astype(np.int64), pi._data.astype(np.int64)
    other = "ncols" if row else "nrows"
    checks = (
        (c[..., 0] == 0, f"`{cname}[..., 0] == 0`"),
        (c[..., -1] == nnz, f"`{cname}[..., -1] == nnz`"),
        (((c[..., 1:] - c[..., :-1]) >= 0) & ((c[..., 1:] - c[..., :-1]) <= nplain),
         f"`0 <= {cname}[..., 1:] - {cname}[..., :-1] <= {other}`"),
        ((p >= 0) & (p < nplain), f"`0 <= {pname} < {other}`"),
    )
    for ok, text in checks:
        if not bool(ok.all()):
            raise RuntimeError(f"{text} is not satisfied.")
    xp = xp_of(ci._device)
    flat_c = c.reshape(-1, ncomp + 1)
    flat_p = p.reshape(flat_c.shape[0], nnz)
    if nnz > 1:   # within each compressed slot the plain indices increase strictly
        step = flat_p[:, 1:] > flat_p[:, :-1]
        boundary = xp.zeros((flat_p.shape[0], nnz + 1), bool)
        xp.put_along_axis(boundary, flat_c, True, axis=1)
        if not bool((step | boundary[:, 1:nnz]).all()):
            s_what = "nrows" if row else "ncols"
            raise RuntimeError(f"`{pname}[..., {cname}[..., i - 1]:{cname}[..., i]] for all i = 1, ..., {s_what} are "
                               "sorted and distinct along the last dimension values` is not satisfied.")


def sparse_compressed_tensor(compressed_indices: Any, plain_indices: Any, values: Any,
                             size: Sequence[int] | None = None, *, dtype: Any = None, layout: Any = None,
                             device: Any = None, pin_memory: bool = False, requires_grad: bool = False,
                             check_invariants: bool | None = None) -> CompressedTensor:
    """``torch.sparse_compressed_tensor``: a CSR/CSC/BSR/BSC tensor from its compressed indices, plain
    indices and values; ``size`` is inferred when omitted; the invariants are checked when asked."""
    if layout not in _COMPRESSED:
        raise RuntimeError(f"sparse_compressed_tensor expected sparse compressed tensor layout but got {_key(layout)}")
    check_invariants = resolve_check(check_invariants)
    dev = canonical(device) if device is not None else None
    vals = _as_tensor(values, dev, dtype)
    if vals._device.type != "cpu":   # compressed layouts are CPU-only in ember
        raise not_implemented("sparse_compressed_tensor", "SparseCsrCUDA")
    ci = _as_tensor(compressed_indices, vals._device)
    pi = _as_tensor(plain_indices, vals._device)
    if dtype is not None and vals._dtype is not dtype:
        vals = vals.to(dtype)
    if ci.dim() < 1:
        raise RuntimeError(f"{_names(layout)[0]} must have dimensionality >= 1 but got {ci.dim()}")
    nb = ci.dim() - 1
    nblock = 2 if layout in _BLOCKED else 0
    if size is None:
        if vals.dim() <= nb + nblock:
            raise RuntimeError(f"values must have dimensionality > sum of batch and block dimensionalities (={nb} + "
                               f"{nblock}) but got {vals.dim()}")
        br, bc = tuple(vals.shape[nb + 1:nb + 3]) if nblock else (1, 1)
        ncomp = ci.shape[-1] - 1
        nplain = int(pi._data.max()) + 1 if pi.numel() else 0
        rows, cols = (ncomp * br, nplain * bc) if layout in _ROW_MAJOR else (nplain * br, ncomp * bc)
        shape = tuple(ci.shape[:-1]) + (rows, cols) + tuple(vals.shape[nb + 1 + nblock:])
    else:
        shape = tuple(int(s) for s in size)
        if any(s < 0 for s in shape):
            raise RuntimeError("numel: integer multiplication overflow")
    if check_invariants:
        _validate(ci, pi, vals, shape, layout)
    s = CompressedStorage(ci._data.copy(), pi._data.copy(), vals._data, shape, layout)
    if not requires_grad:
        out = _wrap_c(s, vals._device, vals._dtype)
        return _record(out, _SparseCompressedBackward0, (vals,), src=out)
    out = _wrap_c(s, vals._device, vals._dtype)
    out._set_requires_grad(True, "Only Tensors of floating point and complex dtype can require gradients")
    return out


def _layout_constructor(lay: Any) -> Any:
    cname, pname = _names(lay)

    def construct(compressed_indices: Any, plain_indices: Any, values: Any, size: Sequence[int] | None = None, *,
                  dtype: Any = None, layout: Any = None, device: Any = None, pin_memory: bool = False,
                  requires_grad: bool = False, check_invariants: bool | None = None) -> CompressedTensor:
        if layout is not None and layout is not lay:
            raise RuntimeError(f"sparse_{lay._name[7:]}_tensor: layout must be {_key(lay)} but got {_key(layout)}")
        return sparse_compressed_tensor(compressed_indices, plain_indices, values, size, dtype=dtype, layout=lay,
                                        device=device, pin_memory=pin_memory, requires_grad=requires_grad,
                                        check_invariants=check_invariants)

    torch_names(construct, (cname, pname))
    construct.__name__ = construct.__qualname__ = f"{lay._name}_tensor"
    construct.__doc__ = (f"``torch.{lay._name}_tensor``: a {_key(lay)[6:].upper()} tensor from ``{cname}``, "
                         f"``{pname}`` and ``values`` (see :func:`sparse_compressed_tensor`).")
    return construct


sparse_csr_tensor = _layout_constructor(sparse_csr)
sparse_csc_tensor = _layout_constructor(sparse_csc)
sparse_bsr_tensor = _layout_constructor(sparse_bsr)
sparse_bsc_tensor = _layout_constructor(sparse_bsc)


# ---- conversions ------------------------------------------------------------------------------------
def _blocksize(blocksize: Any) -> tuple[int, int]:
    if isinstance(blocksize, int):
        return (blocksize, blocksize)
    return tuple(int(b) for b in blocksize)


def _dense_to_compressed(t: Tensor, lay: Any, blocksize: Any, dense_dim: int | None, fname: str
                         ) -> CompressedStorage:
    n = t.dim()
    dd = dense_dim or 0
    if n < 2:
        nz = int((t._data != 0).sum())
        raise IndexError(f"select(): index 1 out of range for tensor of size [{nz}, {n}] at dimension 1")
    if not 0 <= dd <= n - 2:
        raise RuntimeError(f"{fname}: dense_dim argument must be in [0,{n - 2}] range, but {dd} is given")
    xp = xp_of(t._device)
    a = t._data
    nb = n - 2 - dd
    batch, (nrows, ncols), dense = a.shape[:nb], a.shape[nb:nb + 2], a.shape[nb + 2:]
    br, bc = _blocksize(blocksize) if lay in _BLOCKED else (1, 1)
    _check_divisible(fname, nrows, ncols, br, bc)
    nbatch = math.prod(batch)
    if lay in _BLOCKED:
        grid = a.reshape((nbatch, nrows // br, br, ncols // bc, bc) + dense)
        mask = (grid != 0).any(axis=(2, 4) + tuple(range(5, 5 + dd)))
    else:
        grid = a.reshape((nbatch, nrows, ncols) + dense)
        mask = (grid != 0).any(axis=tuple(range(3, 3 + dd))) if dd else grid != 0
    row = lay in _ROW_MAJOR
    ordered = mask if row else xp.swapaxes(mask, 1, 2)   # compressed dim second: nonzero lists entries in order
    b, comp, plain = (i.astype(np.int64, copy=False) for i in xp.nonzero(ordered))
    r, c = (comp, plain) if row else (plain, comp)
    vals = grid[b, r, :, c] if lay in _BLOCKED else grid[b, r, c]   # (n, br, bc, *dense) / (n, *dense)
    per_slot = ordered.sum(axis=2)   # (batch, compressed size)
    per_batch = per_slot.sum(axis=1)
    if nbatch and bool((per_batch != per_batch[0]).any()):
        raise RuntimeError("Expect the same number of specified elements per batch.")
    nnz = int(per_batch[0]) if nbatch else 0
    compressed = xp.zeros((nbatch, per_slot.shape[1] + 1), np.int64)
    xp.cumsum(per_slot, axis=1, out=compressed[:, 1:])
    return CompressedStorage(compressed.reshape(batch + (compressed.shape[1],)), plain.reshape(batch + (nnz,)),
                             vals.reshape(batch + (nnz,) + vals.shape[1:]), a.shape, lay)


def _coo_to_compressed(t: SparseTensor, lay: Any, blocksize: Any, fname: str) -> CompressedStorage:
    if t.sparse_dim() != 2:
        raise RuntimeError(f"{fname}: conversion from Sparse to {_key(lay)} for input tensors with "
                           "sparse_dim()!=2 is not supported")
    from ._coo import _coalesce_arrays
    st = t._data
    idx, vals = (st.indices, st.values) if st.coalesced else _coalesce_arrays(st)
    xp = xp_of(t._device)
    nrows, ncols = t.shape[:2]
    b = xp.zeros(idx.shape[1], np.int64)
    r, c = idx[0], idx[1]
    if lay in _BLOCKED:
        b, r, c, vals = _blocks_of(1, nrows, ncols, b, r, c, vals, _blocksize(blocksize), fname)
    return _assemble((), nrows, ncols, b, r, c, vals, lay)


def _compressed_to_compressed(t: CompressedTensor, lay: Any, blocksize: Any, fname: str) -> CompressedStorage:
    s = t._data
    src = s.layout
    if lay in _BLOCKED and src not in _BLOCKED:
        nb = s.nbatch
        if nb:
            raise RuntimeError(f"{fname}: conversion from {_key(src)} to {_key(lay)} for batched inputs is not "
                               "supported")
        b, r, c, vals = _coords(s)
        batch = s.shape[:nb]
        b, r, c, vals = _blocks_of(math.prod(batch), *s.shape[nb:nb + 2], b, r, c, vals, _blocksize(blocksize),
                                   fname)
    elif lay in _BLOCKED:
        new = _blocksize(blocksize)
        if new != s.block:
            raise RuntimeError(f"{fname}: conversion from {_key(src)} to {_key(lay)} with blocksize changed from "
                               f"{list(s.block)} to {list(new)} is not supported")
        b, r, c, vals = _coords(s)
    elif src in _BLOCKED:
        raise RuntimeError(f"sparse_compressed_to_{lay._name}: expected SparseCsr or SparseCsc layout but got "
                           f"{_key(src)}")
    else:
        b, r, c, vals = _coords(s)
    nb = s.nbatch
    return _assemble(s.shape[:nb], *s.shape[nb:nb + 2], b, r, c, vals, lay, s.compressed.dtype)


_TO_NODES: dict[Any, type] = {}


_CONVERSIONS = {False: ("dense_to_{}", "coo_to_{}", "sparse_compressed_to_{}", "to_{}"),
                True: ("dense_to_sparse", "sparse_coo_to_sparse", "sparse_compressed_to_sparse", "to_sparse")}


def to_sparse_compressed(t: Tensor, lay: Any, blocksize: Any = None, dense_dim: int | None = None,
                         generic: bool = False) -> Tensor:
    """``t.to_sparse_csr() / csc / bsr / bsc`` (``generic``: ``to_sparse(layout=...)``) from any layout;
    torch's errors name the conversion by the source kind and the entry point."""
    if t._device.type != "cpu":   # compressed layouts are CPU-only in ember
        raise not_implemented(f"_to_{lay._name}", "CUDA")
    kind = 3 if t.layout is lay else 2 if isinstance(t, CompressedTensor) else 1 if isinstance(t, SparseTensor) else 0
    fname = _CONVERSIONS[generic][kind].format(lay._name)
    if lay in _BLOCKED and blocksize is None:
        raise RuntimeError(f"{fname}: conversion from {_key(t.layout)} to {_key(lay)} without blocksize argument "
                           "given is not supported")
    if kind == 1 and lay in _BLOCKED and t.sparse_dim() == 2:   # a COO matrix: its sizes are checked first
        _check_divisible(fname, *t.shape[:2], *_blocksize(blocksize))
    if kind:
        refuse_args(fname, _key(t.layout), _key(lay), None, dense_dim)
    if isinstance(t, CompressedTensor):
        if t.layout is lay and (lay not in _BLOCKED or _blocksize(blocksize) == t._data.block):
            return t
        s = _compressed_to_compressed(t, lay, blocksize, fname)
    elif isinstance(t, SparseTensor):
        s = _coo_to_compressed(t, lay, blocksize, fname)
    else:
        s = _dense_to_compressed(t, lay, blocksize, dense_dim, fname)
    out = _wrap_c(s, t._device, t._dtype)
    return _record(out, _TO_NODES[lay], (t,), src_layout=t.layout,
                   src_block=t._data.block if isinstance(t, CompressedTensor) else None)


def _compressed_to_coo(t: CompressedTensor) -> SparseTensor:
    """COO with one index row per batch dim plus rows and columns (element coordinates, in storage order)."""
    s = t._data
    xp = xp_of(t._device)
    nb = s.nbatch
    b, r, c, vals = _coords(s)
    dense = s.shape[nb + 2:]
    # torch's flag: CSR, BSR of one-row blocks without batch dims, or one stored entry (block) per batch
    sorted_ = s.layout is sparse_csr or s.plain.shape[-1] == 1 or (s.layout is sparse_bsr and not nb
                                                                    and s.block[0] == 1)
    if s.layout in _BLOCKED:
        br, bc = s.block
        n = b.shape[0]
        ii, jj = (x.reshape(-1) for x in xp.meshgrid(xp.arange(br), xp.arange(bc), indexing="ij"))
        b = xp.repeat(b, br * bc)
        r = (xp.repeat(r, br * bc) * br + xp.tile(ii, n))
        c = (xp.repeat(c, br * bc) * bc + xp.tile(jj, n))
        vals = vals.reshape((n * br * bc,) + dense)
    batch_idx = list(xp.unravel_index(b, s.shape[:nb])) if nb else []
    idx = xp.stack(batch_idx + [r, c]).astype(np.int64)
    out = _wrap(idx, vals, s.shape, sorted_, t._device, t._dtype)
    out._data.coalesced = sorted_   # even without entries (torch's flag)
    return _record(out, _ToSparseBackward1, (t,), src_layout=s.layout, src_block=s.block)


def _to_layout(g: Tensor, lay: Any, block: Any) -> Tensor:
    """``g`` converted to ``lay`` (the gradient of a layout conversion goes back to the source layout)."""
    if lay is strided:
        return g.to_dense() if g.layout is not strided else g
    if lay is sparse_coo:
        return g.to_sparse()
    return to_sparse_compressed(g, lay, block if lay in _BLOCKED else None)


def _conversion_backward(n: Any, g: Tensor) -> tuple:
    return (_to_layout(g, n.src_layout, n.src_block),)


for _l, _name in ((sparse_csr, "ToSparseCsrBackward0"), (sparse_csc, "ToSparseCscBackward0"),
                  (sparse_bsr, "ToSparseBsrBackward0"), (sparse_bsc, "ToSparseBscBackward0")):
    _TO_NODES[_l] = make_node_class(_name, _conversion_backward)
_ToSparseBackward1 = make_node_class("ToSparseBackward1", _conversion_backward)


# ---- autograd helpers -------------------------------------------------------------------------------
def _gather(g: Tensor, src: CompressedTensor) -> Tensor:
    """``g`` (dense, or compressed of any pattern) at ``src``'s entries, shaped like ``src``'s values;
    differentiable in ``g``."""
    s = src._data
    if isinstance(g, CompressedTensor):
        gs = g._data
        if gs.layout is s.layout and gs.compressed is s.compressed and gs.plain is s.plain:
            return g.values()
        g = g.to_dense()
    elif isinstance(g, SparseTensor):
        g = g.to_dense()
    nb = s.nbatch
    b, r, c, _ = _coords(s)
    br, bc = s.block
    nrows, ncols = s.shape[nb:nb + 2]
    dense = s.shape[nb + 2:]
    nbatch = math.prod(s.shape[:nb])
    grid = g.reshape(nbatch, nrows // br, br, ncols // bc, bc, *dense)
    key = tuple(from_array(i, D.int64, g._device) for i in (b, r))
    picked = grid[key[0], key[1], :, from_array(c, D.int64, g._device)]   # (n, br, bc, *dense)
    if s.layout not in _BLOCKED:
        picked = picked.reshape(picked.shape[0], *dense)
    return picked.reshape(s.values.shape)


def _values_of(n: Any, g: Tensor) -> tuple:
    return (_gather(g, n.src),)


_SparseCompressedBackward0 = make_node_class("SparseCompressedTensorBackward0", _values_of)
_ValuesBackward0 = make_node_class("ValuesBackward0", lambda n, g: (_like(n.src, g),))
_ToDenseBackward0 = make_node_class("ToDenseBackward0", lambda n, g: (_like(n.src, _gather(g, n.src)),))
_CloneBackward0 = make_node_class("CloneBackward0", lambda n, g: (g,))
_ToCopyBackward0 = make_node_class("ToCopyBackward0", lambda n, g: (g.to(n.dtype),))
_TransposeBackward0 = make_node_class("TransposeBackward0", lambda n, g: (g.transpose(*n.dims),))
_TBackward0 = make_node_class("TBackward0", lambda n, g: (g.t(),))
_NODES_BY_NAME: dict[str, type] = {}


def _named_passthrough(name: str) -> type:
    """A node named like torch's for an op on the values (``MulBackward0``): it hands the output's gradient
    to the values tensor the op produced, whose own node (of the same name) differentiates the op."""
    cls = _NODES_BY_NAME.get(name)
    if cls is None:
        cls = _NODES_BY_NAME[name] = make_node_class(name, _values_of)
    return cls


def _map_values(t: CompressedTensor, fn: Any) -> CompressedTensor:
    """``fn`` (an ember op) applied to the values; the result keeps the pattern and carries the op's
    grad_fn name."""
    vals = fn(t.values())
    s = t._data
    out = _wrap_c(CompressedStorage(s.compressed, s.plain, vals._data, s.shape, s.layout), t._device, vals._dtype)
    if vals._grad_fn is not None:
        _record(out, _named_passthrough(type(vals._grad_fn).__name__), (vals,), src=out)
    return out


_UNARY = ("abs", "neg", "sqrt", "sin", "sinh", "tan", "tanh", "asin", "asinh", "atan", "atanh", "expm1", "log1p",
          "sign", "sgn", "floor", "ceil", "round", "trunc", "frac", "erf", "erfinv", "deg2rad", "rad2deg", "relu",
          "square", "signbit", "isnan", "isinf", "isposinf", "isneginf", "conj_physical", "angle", "nan_to_num")


def _make_unary(name: str) -> Any:
    def op(self: CompressedTensor, *args: Any, **kwargs: Any) -> CompressedTensor:
        return _map_values(self, lambda v: getattr(v, name)(*args, **kwargs))
    op.__name__ = name
    op.__doc__ = f"``{name}`` of the specified values (zero-preserving, so the pattern is kept)."
    return op


for _u in _UNARY:
    setattr(CompressedTensor, _u, _make_unary(_u))
CompressedTensor.__neg__ = CompressedTensor.neg   # type: ignore[attr-defined]
CompressedTensor.__abs__ = CompressedTensor.abs   # type: ignore[attr-defined]


# ---- structure-changing ops -------------------------------------------------------------------------
_SWAP = {sparse_csr: sparse_csc, sparse_csc: sparse_csr, sparse_bsr: sparse_bsc, sparse_bsc: sparse_bsr}


def _transpose(t: CompressedTensor, dim0: int, dim1: int, node: type) -> CompressedTensor:
    """Swapping the two sparse dims reinterprets the arrays in the transposed layout (CSR ↔ CSC, BSR ↔ BSC,
    blocks transposed); other pairs are refused as torch does."""
    s = t._data
    n = t.dim()
    d0, d1 = wrap_dim(dim0, n), wrap_dim(dim1, n)
    nb = s.nbatch
    kinds = ["Batch"] * nb + ["Sparse"] * 2 + ["Dense"] * (n - nb - 2)
    if kinds[d0] != kinds[d1]:
        raise RuntimeError(f"transpose(): can only transpose dimensions of the same type (Batch, Sparse, Dense), got "
                           f"{d0}({kinds[d0]}) and {d1}({kinds[d1]})")
    if d0 == d1:
        out = _wrap_c(s, t._device, t._dtype)
    elif kinds[d0] != "Sparse":
        raise not_implemented("transpose", "SparseCsrCPU")
    else:
        xp = xp_of(t._device)
        vals = xp.swapaxes(s.values, nb + 1, nb + 2) if s.layout in _BLOCKED else s.values
        shape = list(s.shape)
        shape[nb], shape[nb + 1] = shape[nb + 1], shape[nb]
        out = _wrap_c(CompressedStorage(s.compressed, s.plain, vals, shape, _SWAP[s.layout]), t._device, t._dtype)
    return _record(out, node, (t,), dims=(d0, d1))


def _pattern_keys(s: CompressedStorage) -> tuple[Any, Any, Any, Any, Any]:
    """:func:`_coords` plus each entry's linear key (batch, block row, block column)."""
    b, r, c, vals = _coords(s)
    nb = s.nbatch
    br, bc = s.block
    gr, gc = s.shape[nb] // br, s.shape[nb + 1] // bc
    return b, r, c, (b * gr + r) * gc + c, vals


def _add_arrays(a: CompressedStorage, b: CompressedStorage, alpha: Any) -> tuple[Any, Any, Any]:
    """``a + alpha * b`` on two storages of one layout: the union of the patterns, values summed."""
    xp = xp_of_array(a.values)
    ba, ra, ca, ka, va = _pattern_keys(a)
    bb, rb, cb, kb, vb = _pattern_keys(b)
    if alpha != 1:
        vb = vb * xp.asarray(alpha, dtype=vb.dtype)
    keys, first, inv = xp.unique(xp.concatenate((ka, kb)), return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    dt = np.result_type(va.dtype, vb.dtype)
    vals = xp.zeros((keys.shape[0],) + va.shape[1:], dt)
    vals[inv[:ka.shape[0]]] += va
    vals[inv[ka.shape[0]:]] += vb
    bs, rs, cs = (xp.concatenate(p)[first] for p in ((ba, bb), (ra, rb), (ca, cb)))
    nb = a.nbatch
    s = _assemble(a.shape[:nb], *a.shape[nb:nb + 2], bs, rs, cs, vals, a.layout, a.compressed.dtype)
    return s.compressed, s.plain, s.values


def _own(g: Tensor) -> Tensor:
    """A fresh copy of a gradient that goes to two inputs (autograd keeps an owned sparse gradient as
    ``.grad``; a shared one it would copy as a dense array, which a sparse storage cannot be)."""
    return g.clone()


_AddBackward0 = make_node_class("AddBackward0", lambda n, g: (_own(g), g * n.alpha if n.alpha != 1 else _own(g)))


def _add(a: CompressedTensor, b: Any, alpha: Any) -> Tensor:
    """compressed + compressed (CSR or BSR, same size and dtype) → the union pattern; + dense → dense."""
    if not isinstance(b, Tensor):
        raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but self has size [] while other "
                           f"has size {list(a.shape)} (FYI: op2-sparse addition does not currently support "
                           "broadcasting)")
    if not isinstance(b, CompressedTensor):
        if isinstance(b, SparseTensor):
            raise RuntimeError("add: compressed + COO is not supported")
        return _add_dense(b, a, 1, alpha_on_dense=alpha)
    if a._dtype is not b._dtype:
        raise RuntimeError(f"expected scalar type {a._dtype._short} but found {b._dtype._short}")
    if b.layout is not a.layout or a.layout not in _ROW_MAJOR:
        bad = b if a.layout in _ROW_MAJOR else a
        raise RuntimeError(f"crow_indices expected sparse row compressed tensor layout but got {_key(bad.layout)}")
    if a.shape != b.shape:
        raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but {list(a.shape)} != "
                           f"{list(b.shape)}")
    c, p, v = _add_arrays(a._data, b._data, alpha)
    out = _wrap_c(CompressedStorage(c, p, v, a.shape, a.layout), a._device, a._dtype)
    return _record(out, _AddBackward0, (a, b), alpha=alpha)


_AddDenseBackward0 = make_node_class(
    "AddBackward0", lambda n, g: (g * n.alpha_d if n.alpha_d != 1 else g, g * n.alpha_s if n.alpha_s != 1 else g))


def _add_dense(dense: Tensor, sp: CompressedTensor, alpha: Any, alpha_on_dense: Any = None) -> Tensor:
    """dense + alpha·compressed (or compressed + alpha·dense) → dense."""
    if dense.shape != sp.shape:
        raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but self has size {list(sp.shape)} "
                           f"while other has size {list(dense.shape)} (FYI: op2-sparse addition does not currently "
                           "support broadcasting)")
    dt = D.promote_types(dense._dtype, sp._dtype)
    arr = _dense_array(sp._data).astype(dt.np)
    d = dense._data.astype(dt.np, copy=False)
    if alpha_on_dense is None:
        arr = d + (arr if alpha == 1 else arr * dt.np.type(alpha))
        ad, as_ = 1, alpha
    else:
        arr = arr + (d if alpha_on_dense == 1 else d * dt.np.type(alpha_on_dense))
        ad, as_ = alpha_on_dense, 1
    out = from_array(arr, dt, dense._device)
    return _record(out, _AddDenseBackward0, (dense, sp) if alpha_on_dense is None else (sp, dense),
                   alpha_d=ad if alpha_on_dense is None else 1, alpha_s=as_ if alpha_on_dense is None else ad)


def _mul_backward(n: Any, g: Tensor) -> tuple:
    """Both factors' gradients on the product's pattern (dense for a dense factor)."""
    gp = _gather(g, n.pat)
    ga = _like(n.pat, gp * _gather(n.y, n.pat))
    gb = _like(n.pat, gp * _gather(n.x, n.pat))
    return (ga, gb if isinstance(n.y, CompressedTensor) else gb.to_dense())


_MulSparseBackward0 = make_node_class("MulBackward0", _mul_backward)


def _mul(a: CompressedTensor, other: Any) -> CompressedTensor:
    """× a scalar (or 0-d tensor): values scaled; × a same-size tensor: ``a``'s pattern (intersection with a
    compressed operand's pattern)."""
    if not isinstance(other, Tensor) or (other.dim() == 0 and not isinstance(other, (CompressedTensor, SparseTensor))):
        return _map_values(a, lambda v: v * other)
    if a.layout in _BLOCKED:   # torch's CPU kernels multiply CSR tensors only
        raise RuntimeError(f"empty_sparse_compressed expected sparse compressed (non-block) tensor layout but got "
                           f"{_key(a.layout)}")
    if a.layout is not sparse_csr:
        raise RuntimeError("Expected result Tensor to be of format CSR")
    if a.shape != other.shape:
        raise RuntimeError(f"mul: expected 'self' and 'other' to have same size, but {list(a.shape)} != "
                           f"{list(other.shape)}")
    if isinstance(other, CompressedTensor):
        if other.layout is not a.layout:
            raise RuntimeError(f"crow_indices expected sparse row compressed tensor layout but got "
                               f"{_key(other.layout)}")
        with _no_grad():
            ba, ra, ca, ka, va = _pattern_keys(a._data)
            kb, vb = _pattern_keys(other._data)[3:]
            xp = xp_of(a._device)
            keep = xp.isin(ka, kb)
            ob = xp.argsort(kb, kind="stable")
            vals = va[keep] * vb[ob[xp.searchsorted(kb[ob], ka[keep])]]
            nb = a._data.nbatch
            s = _assemble(a.shape[:nb], *a.shape[nb:nb + 2], ba[keep], ra[keep], ca[keep], vals, a.layout,
                          a._data.compressed.dtype)
            out = _wrap_c(s, a._device, D.promote_types(a._dtype, other._dtype))
        return _record(out, _MulSparseBackward0, (a, other), pat=out, x=a, y=other)
    with _no_grad():
        vals = a.values() * _gather(other.detach(), a)
        out = _like(a, vals).detach()
    return _record(out, _MulSparseBackward0, (a, other), pat=a, x=a, y=other)


def _sum(t: CompressedTensor, dim: Any, keepdim: bool, dtype: Any) -> Tensor:
    """``sum()`` (a dense 0-d tensor) or, for a 2-d CSR, ``sum(dim, keepdim=True)`` (a CSR result)."""
    if dtype is not None:
        t = t.to(dtype)
    if dim is None:
        with _no_grad():
            out = t.values().sum().detach()
        return _record(out, _SumBackward0, (t,), src=t)
    if t.layout is not sparse_csr:
        raise RuntimeError(f"Currently the only compressed sparse format supported for sum.dim_IntList is CSR, but "
                           f"got layout {_key(t.layout)}")
    if not keepdim:
        raise RuntimeError("reduction operations on CSR tensors with keepdim=False is unsupported")
    dims = sorted({wrap_dim(d, t.dim()) for d in ((dim,) if isinstance(dim, int) else dim)})
    xp = xp_of(t._device)
    s = t._data
    if t.dim() != 2 or s.values.ndim != 1 or not dims:
        raise not_implemented("sum.dim_IntList", "SparseCsrCPU")
    b, r, c, v = _coords(s)
    nrows, ncols = s.shape
    if dims == [0, 1]:
        tot = v.sum(keepdims=True)
        b, r, c, v, shape = b[:1], xp.zeros(1, np.int64), xp.zeros(1, np.int64), tot, (1, 1)
        if s.plain.shape[0] == 0:
            b, r, c, v = b[:0], r[:0], c[:0], v[:0]
    else:
        keep = r if dims == [1] else c
        uniq, inv = xp.unique(keep, return_inverse=True)
        vals = xp.zeros(uniq.shape[0], v.dtype)
        _ordered_add(vals, inv.reshape(-1), v)
        zero = xp.zeros(uniq.shape[0], np.int64)
        r, c = (uniq, zero) if dims == [1] else (zero, uniq)
        b, v, shape = zero, vals, ((nrows, 1) if dims == [1] else (1, ncols))
    out = _wrap_c(_assemble((), *shape, b, r, c, v, sparse_csr, s.compressed.dtype), t._device, t._dtype)
    return _record(out, _SumBackward1, (t,))


def _full_sum_backward(n: Any, g: Tensor) -> tuple:
    return (g.expand(*n.src.shape),)   # dense, as torch's


def _expand_refused(n: Any, g: Tensor) -> tuple:
    raise RuntimeError("expand is unsupported for SparseCsr tensors")


_SumBackward0 = make_node_class("SumBackward0", _full_sum_backward)
_SumBackward1 = make_node_class("SumBackward1", _expand_refused)


def _sparse_mask(dense: Tensor, mask: Tensor) -> Tensor:
    """``dense.sparse_mask(mask)``: ``dense``'s values at ``mask``'s entries, in ``mask``'s layout."""
    if dense.shape != mask.shape:
        raise RuntimeError(f"sparse_mask(): operands have incompatible sizes; self has size {list(dense.shape)} but "
                           f"mask has size {list(mask.shape)}")
    if isinstance(mask, CompressedTensor):
        with _no_grad():
            out = _like(mask, _gather(dense.detach(), mask).to(dense.dtype)).detach()
    elif isinstance(mask, SparseTensor):
        from ._coo import _gather as coo_gather
        ms = mask._data
        with _no_grad():
            vals = coo_gather(dense.detach(), ms.indices)
        out = _wrap(ms.indices, vals._data, ms.shape, ms.coalesced, dense._device, dense._dtype)
    else:
        raise not_implemented("sparse_mask", "CPU")
    return _record(out, _SparseMaskBackward0, (dense,), mask=out)


_SparseMaskBackward0 = make_node_class(
    "SparseMaskBackward0", lambda n, g: (g.to_dense() if g.layout is not strided else g,))


# ---- products ---------------------------------------------------------------------------------------
def _check_mm(s: CompressedTensor, d: Tensor, op: str, bias: Tensor | None = None) -> None:
    """torch's checks of compressed × dense (``+ bias``): shapes, the bias's broadcast, then dtypes."""
    if not isinstance(d, Tensor) or isinstance(d, (CompressedTensor, SparseTensor)):
        raise not_implemented(op, "SparseCsrCPU")
    if s.dim() != 2 or s.dense_dim():
        raise RuntimeError("Sparse CSR tensors do not have strides")
    if d.dim() != 2:
        raise RuntimeError(f"{op}: matrices expected, got {d.dim()}D tensor" if op != "mv" else
                           f"vector + matrix @ vector expected, got 1, 2, {d.dim()}")
    if s.shape[1] != d.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({s.shape[0]}x{s.shape[1]} and "
                           f"{d.shape[0]}x{d.shape[1]})")
    if bias is not None and tuple(bias.shape) != (s.shape[0], d.shape[1]):
        bias.expand(s.shape[0], d.shape[1])   # torch's error when it cannot broadcast
    ref = s if bias is None else bias   # the operands must have the dtype of the result's source
    for t in (s, d):
        if t._dtype is not ref._dtype:
            raise RuntimeError(f"expected scalar type {ref._dtype._short} but found {t._dtype._short}")


def _spmm_array(s: CompressedStorage, d: Any) -> Any:
    """The dense product ``s @ d`` (s 2-d compressed, d a dense ``ncols × p`` array): row-major layouts
    hand their rows to :func:`~ember.sparse._coo.row_products` as stored; CSC/BSC entries are first
    ordered by row (a stable argsort)."""
    xp = xp_of_array(d)
    nrows, ncols = s.shape
    br, bc = s.block
    p = d.shape[1]
    compressed = s.compressed.astype(np.int64)
    counts = compressed[1:] - compressed[:-1]
    if s.layout in _ROW_MAJOR:
        cols, vals, starts = s.plain.astype(np.int64), s.values, compressed[:-1]
    else:
        rows = s.plain.astype(np.int64)
        cols = xp.repeat(xp.arange(ncols // bc), counts)
        order = xp.argsort(rows, kind="stable")
        cols, vals = cols[order], s.values[order]
        counts = xp.bincount(rows, minlength=nrows // br) if rows.shape[0] else xp.zeros(nrows // br, np.int64)
        starts = xp.cumsum(counts) - counts
    dd = d.reshape(ncols // bc, bc, p) if s.layout in _BLOCKED else d
    return row_products(starts, counts, cols, vals, dd).reshape(nrows, p)


def _masked_product(g: Tensor, d: Tensor, s: CompressedTensor) -> CompressedTensor:
    """``g @ d.T`` at ``s``'s entries only (blocks for BSR/BSC), with ``s``'s pattern: differentiable."""
    st = s._data
    _, r, c, _ = _coords(st)
    br, bc = st.block
    nrows, ncols = st.shape
    p = g.shape[1]
    gr = g.reshape(nrows // br, br, p)[from_array(r, D.int64, g._device)]
    dc = d.reshape(ncols // bc, bc, p)[from_array(c, D.int64, g._device)]
    vals = gr.matmul(dc.transpose(1, 2))
    if st.layout not in _BLOCKED:
        vals = vals.reshape(-1)
    return _like(s, vals)


_product_backward = product_backward(_masked_product, lambda a, b: compressed_mm(a, b))   # (defined below)


_SparseAddmmBackward0 = make_node_class("SparseAddmmBackward0", _product_backward)
_MmBackward0 = make_node_class("MmBackward0", _product_backward)
_AddmmBackward0 = make_node_class("AddmmBackward0", _product_backward)
_RMmBackward0 = make_node_class("MmBackward0", lambda n, g: (compressed_mm(n.s, g.t()).t(), n.d.t().mm(g)))


def _check_kernel_dtype(s: CompressedTensor, d: Tensor, op: str) -> None:
    """torch's CPU kernels for compressed × dense products (MKL) take float, double and the complex types;
    without entries no kernel runs."""
    if s._nnz() and d._dtype not in (D.float32, D.float64, D.complex64, D.complex128):
        raise NotImplementedError(f"\"{op}_out_sparse_csr_impl_mkl\" not implemented for '{d._dtype._short}'")


def _product(s: CompressedTensor, d: Tensor, op: str, node: type | None, bias: Tensor | None = None, beta: Any = 1,
             alpha: Any = 1, masked: bool = False) -> Tensor:
    _check_mm(s, d, op, bias)
    _check_kernel_dtype(s, d, "addmm")
    arr = _spmm_array(s._data, d._data)
    if alpha != 1:
        arr = arr * arr.dtype.type(alpha)
    if bias is not None:
        arr = arr + (0 if beta == 0 else (bias._data if beta == 1 else bias._data * bias._data.dtype.type(beta)))
    out = from_array(arr, d._dtype, d._device)
    if node is None:
        return out
    inputs = (s, d) if bias is None else (bias, s, d)
    return _record(out, node, inputs, s=s, d=d, alpha=alpha, beta=beta, bias=bias is not None, masked=masked)


def compressed_mm(mat1: CompressedTensor, mat2: Tensor) -> Tensor:
    """``torch.mm`` with a compressed first operand: dense result; ``mat1``'s gradient is dense (MmBackward0).
    Two compressed (CSR/CSC) operands give a CSR product (:func:`_spgemm`)."""
    if isinstance(mat2, CompressedTensor):
        return _spgemm(mat1, mat2)
    return _product(mat1, mat2, "mm", _MmBackward0)


def _row_entries(t: CompressedTensor) -> CompressedStorage:
    """``t``'s storage as CSR (CSC converted by coordinates)."""
    s = t._data
    if s.layout is sparse_csr:
        return s
    b, r, c, vals = _coords(s)
    return _assemble((), *s.shape, b, r, c, vals, sparse_csr)


def _spgemm(a: CompressedTensor, b: CompressedTensor) -> CompressedTensor:
    """CSR/CSC × CSR/CSC → CSR with the symbolic product's pattern (zero sums kept), by
    :func:`~ember.sparse._coo.spgemm_entries`."""
    for t in (a, b):
        if t.dim() != 2 or t.dense_dim() or t.layout in _BLOCKED:
            raise not_implemented("mm", "SparseCsrCPU")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
                           f"{b.shape[0]}x{b.shape[1]})")
    if a._dtype is not b._dtype:
        raise RuntimeError(f"expected scalar type {a._dtype._short} but found {b._dtype._short}")
    xp = xp_of(a._device)
    _, ai, ap, av = _coords(a._data)
    bs = _row_entries(b)
    m = b.shape[1]
    rows, cols, vals = spgemm_entries(ai, ap, av, bs.compressed.astype(np.int64), bs.plain.astype(np.int64),
                                      bs.values, m)
    out = _wrap_c(_assemble((), a.shape[0], m, xp.zeros(rows.shape[0], np.int64), rows, cols, vals,
                            sparse_csr, a._data.compressed.dtype), a._device, a._dtype)
    return _record(out, _SpgemmBackward0, (a, b), a=a, b=b)


def _spgemm_backward(n: Any, g: Tensor) -> tuple:
    """torch's: ``a``'s gradient on ``a``'s pattern, ``b``'s the product ``a.T @ g`` (sparse for a sparse ``g``)."""
    a, b = n.a, n.b
    gd = g.to_dense() if g.layout is not strided else g
    ga = _like(a, _gather(gd.mm(b.to_dense().t()), a))
    return (ga, compressed_mm(a.t(), g))


_SpgemmBackward0 = make_node_class("MmBackward0", _spgemm_backward)


def compressed_sparse_mm(mat1: CompressedTensor, mat2: Tensor) -> Tensor:
    """``torch.sparse.mm``: ``mat1``'s gradient keeps its pattern and layout (SparseAddmmBackward0)."""
    return _product(mat1, mat2, "mm", _SparseAddmmBackward0, masked=True)


def compressed_addmm(input: Tensor, mat1: CompressedTensor, mat2: Tensor, beta: Any = 1, alpha: Any = 1,
                     masked: bool = False) -> Tensor:
    """``torch.addmm`` (``masked``: ``torch.sparse.addmm``) with a compressed ``mat1``."""
    return _product(mat1, mat2, "addmm", _SparseAddmmBackward0 if masked else _AddmmBackward0, input, beta, alpha,
                    masked)


def _mv_backward(n: Any, g: Tensor) -> tuple:
    col = g.unsqueeze(1)
    return (col * n.v.unsqueeze(0), compressed_mm(n.s.t(), col).squeeze(1))


_MvBackward0 = make_node_class("MvBackward0", _mv_backward)


def _mv(s: CompressedTensor, v: Tensor) -> Tensor:
    if not isinstance(v, Tensor) or v.dim() != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {s.dim()}, "
                           f"{v.dim() if isinstance(v, Tensor) else 0}")
    if s.dim() == 2 and s.shape[1] != v.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({s.shape[0]}), mat ({s.shape[0]}x{s.shape[1]}), vec "
                           f"({v.shape[0]})")
    _check_mm(s, v.unsqueeze(1), "mv")
    _check_kernel_dtype(s, v, "addmv")
    out = from_array(_spmm_array(s._data, v._data[:, None])[:, 0], v._dtype, v._device)
    return _record(out, _MvBackward0, (s, v), s=s, v=v)


def compressed_matmul(mat1: CompressedTensor, other: Tensor) -> Tensor:
    """``torch.matmul`` / ``@`` with a compressed first operand: ``mv`` for a vector, else ``mm``."""
    if isinstance(other, Tensor) and not isinstance(other, (CompressedTensor, SparseTensor)) and other.dim() == 1:
        return _mv(mat1, other)
    if isinstance(other, Tensor) and mat1.dim() > 2 and other.dim() > 2:
        raise RuntimeError("expand is unsupported for SparseCsr tensors")
    return compressed_mm(mat1, other)


# ---- methods of every tensor ------------------------------------------------------------------------
def _layout_error(name: str, expected: str) -> Any:
    def method(self: Tensor) -> Any:
        raise RuntimeError(f"{name} expected {expected} tensor layout but got {_key(self.layout)}")
    method.__name__ = name
    method.__doc__ = f"``{name}`` of a tensor without that layout: torch's error."
    return method


def _dense_not_implemented(name: str) -> Any:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        raise not_implemented(name, "CPU" if self.device.type == "cpu" else "CUDA")
    method.__name__ = name
    return method


def resize_as_compressed_(self: Tensor, src: Tensor) -> Tensor:
    """``resize_as_sparse_`` with a compressed operand: ``self`` (of ``src``'s layout) takes ``src``'s size and
    index arrays; its values keep their dtype and leading elements, cut or grown to ``src``'s values' shape
    (torch leaves the grown elements uninitialised; ember zeros them)."""
    for name, t in (("self", self), ("src", src)):
        if not isinstance(t, CompressedTensor):
            raise RuntimeError(f"resize_as_sparse_compressed_: {name}  expected sparse compressed tensor layout but "
                               f"got {_key(t.layout)}")
    if self.layout is not src.layout:
        raise RuntimeError("resize_as_sparse_compressed_tensor_: self and src must have the same layout, but got: "
                           f"self ({_key(self.layout)}) and source ({_key(src.layout)})")
    from ..ops._dispatch import check_inplace
    check_inplace(self)
    s, o = self._data, src._data
    xp = xp_of(self._device)
    values = xp.zeros(o.values.shape, s.values.dtype)
    n = min(values.size, s.values.size)
    values.reshape(-1)[:n] = s.values.reshape(-1)[:n]
    s.compressed, s.plain, s.values, s.shape = o.compressed.copy(), o.plain.copy(), values, o.shape
    self._vc[0] += 1
    return self


def _dense_resize_as_sparse_(self: Tensor, the_template: Tensor) -> Tensor:
    """``resize_as_sparse_`` of a strided tensor: torch's errors (its kernels take sparse tensors only)."""
    if isinstance(the_template, CompressedTensor):
        return resize_as_compressed_(self, the_template)
    if the_template.is_sparse:
        raise RuntimeError(NOT_SPARSE_IMPL)
    raise not_implemented("resize_as_sparse_", "CPU" if self.device.type == "cpu" else "CUDA")


def _dense_to_dense(self: Tensor, dtype: Any = None, *, masked_grad: bool | None = None) -> Tensor:
    """``to_dense`` of a strided tensor: itself (or a copy in ``dtype``)."""
    return self if dtype is None else self.to(dtype)


def _dense_smm(self: Tensor, mat2: Tensor) -> Tensor:
    raise RuntimeError("tensor.sspaddmm(...) can only be called on sparse tensors")


def _dense_sspaddmm(self: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    from ._coo import sspaddmm
    return sspaddmm(self, mat1, mat2, beta=beta, alpha=alpha)


def _to_sparse_layout(name: str, lay: Any) -> Any:
    if lay in _BLOCKED:
        def convert(self: Tensor, blocksize: Any, dense_dim: int | None = None) -> Tensor:
            return to_sparse_compressed(self, lay, blocksize, dense_dim)
    else:
        def convert(self: Tensor, dense_dim: int | None = None) -> Tensor:   # type: ignore[misc]
            return to_sparse_compressed(self, lay, None, dense_dim)
    convert.__name__ = name
    convert.__doc__ = f"``Tensor.{name}``: this tensor as a {_key(lay)[6:].upper()} tensor."
    return convert


for _name, _expected in (("indices", "sparse coordinate"), ("coalesce", "sparse coordinate"),
                         ("is_coalesced", "sparse coordinate"), ("values", "sparse"),
                         ("crow_indices", "sparse row compressed"), ("col_indices", "sparse row compressed"),
                         ("ccol_indices", "sparse column compressed"), ("row_indices", "sparse column compressed")):
    setattr(Tensor, _name, _layout_error(_name, _expected))
for _name in ("_indices", "_values", "_nnz", "sparse_resize_", "sparse_resize_and_clear_"):
    setattr(Tensor, _name, _dense_not_implemented(_name))
for _name, _lay in (("to_sparse_csr", sparse_csr), ("to_sparse_csc", sparse_csc), ("to_sparse_bsr", sparse_bsr),
                    ("to_sparse_bsc", sparse_bsc)):
    setattr(Tensor, _name, _to_sparse_layout(_name, _lay))
Tensor.is_sparse_csr = property(lambda self: False)   # type: ignore[attr-defined]
Tensor.sparse_dim = lambda self: 0   # type: ignore[attr-defined]
Tensor.dense_dim = lambda self: self.dim()   # type: ignore[attr-defined]
Tensor.to_dense = _dense_to_dense   # type: ignore[attr-defined]
Tensor.sparse_mask = _sparse_mask   # type: ignore[attr-defined]
Tensor.smm = _dense_smm   # type: ignore[attr-defined]
Tensor.sspaddmm = _dense_sspaddmm   # type: ignore[attr-defined]
Tensor.resize_as_sparse_ = _dense_resize_as_sparse_   # type: ignore[attr-defined]
CompressedTensor.resize_as_sparse_ = resize_as_compressed_   # type: ignore[attr-defined]
SparseTensor.sparse_mask = _sparse_mask   # type: ignore[attr-defined]


def _check_sampled_addmm(input: CompressedTensor, mat1: Tensor, mat2: Tensor) -> None:
    """torch's argument checks of ``sampled_addmm``, in its order."""
    for name, m in (("mat1", mat1), ("mat2", mat2)):
        if m.dim() < 2:
            raise RuntimeError(f"sampled_addmm: Expected {name} to be a matrix, got {m.dim()}-D tensor")
    for (na, a), (nb, b) in ((("mat1", mat1), ("mat2", mat2)), (("mat1", mat1), ("self", input))):
        if a._dtype is not b._dtype:
            raise RuntimeError(f"sampled_addmm: Expected {na} and {nb} to have the same dtype, but got "
                               f"{a._dtype._short} and {b._dtype._short}")
    for (na, a), (nb, b) in ((("mat1", mat1), ("mat2", mat2)), (("self", input), ("mat1", mat1))):
        if a.shape[:-2] != b.shape[:-2]:
            raise RuntimeError(f"sampled_addmm: Expected {na} and {nb} to have the same batch size, but got "
                               f"{list(a.shape[:-2])} and {list(b.shape[:-2])}")
    if mat1.shape[-1] != mat2.shape[-2]:
        raise RuntimeError(f"sampled_addmm: mat1 and mat2 shapes cannot be multiplied ({mat1.shape[-2]}x"
                           f"{mat1.shape[-1]} and {mat2.shape[-2]}x{mat2.shape[-1]})")
    for k, name, m in ((-2, "mat1", mat1), (-1, "mat2", mat2)):
        if input.shape[k] != m.shape[k]:
            raise RuntimeError(f"sampled_addmm: self.shape[{k}] must match {name}.shape[{k}]")
    if input._dtype not in (D.float32, D.float64, D.complex64, D.complex128):   # no half types either
        raise RuntimeError("sparse_sampled_addmm: Expected self to be a floating-point or complex tensor, but got "
                           f"{input._dtype._short}")


def sampled_addmm(input: CompressedTensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1.0, alpha: Any = 1.0
                  ) -> CompressedTensor:
    """``torch.sparse.sampled_addmm``: ``beta * input + alpha * (mat1 @ mat2)`` computed only at ``input``'s
    entries (a CSR result with its pattern; batched CSR with batched factors). Each entry is one row-column
    dot product; differentiable in all three operands through ember ops."""
    if not isinstance(input, CompressedTensor):
        raise not_implemented("sparse_sampled_addmm", "CPU")
    if input.layout is not sparse_csr:
        raise RuntimeError(f"sampled_addmm: Expected result to have sparse csr layout, but got {_key(input.layout)}")
    _check_sampled_addmm(input, mat1, mat2)
    s = input._data
    nb = s.nbatch
    nbatch = math.prod(s.shape[:nb])
    b, r, c, _ = _coords(s)
    dev = mat1._device
    bi, ri, ci = (from_array(i, D.int64, dev) for i in (b, r, c))
    left = mat1.reshape(nbatch, *mat1.shape[-2:])[bi, ri]
    right = mat2.reshape(nbatch, *mat2.shape[-2:]).transpose(-1, -2)[bi, ci]
    prod = (left * right).sum(-1).reshape(s.values.shape)
    vals = input.values() * beta + prod * alpha
    out = _wrap_c(CompressedStorage(s.compressed, s.plain, vals._data, s.shape, s.layout), input._device, vals._dtype)
    if vals._grad_fn is not None:
        _record(out, _named_passthrough("SparseSampledAddmmBackward0"), (vals,), src=out)
    return out
