"""``torch.sparse``: sparse COO and compressed (CSR/CSC/BSR/BSC) tensors and the ``torch.sparse`` functions.

The tensor types, their storages and the design (Tensor subclasses whose ``_data`` refuses dense use) are in
:mod:`ember.sparse._coo` and :mod:`ember.sparse._compressed`. Importing this package also binds
``Tensor.to_sparse``/``to_sparse_coo``/``to_sparse_csr``/... and the sparse accessors of every tensor.
"""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor
from ._compressed import (
    CompressedTensor,
    compressed_addmm,
    compressed_sparse_mm,
    is_compressed,
    sampled_addmm,
    sparse_bsc,
    sparse_bsc_tensor,
    sparse_bsr,
    sparse_bsr_tensor,
    sparse_compressed_tensor,
    sparse_csc,
    sparse_csc_tensor,
    sparse_csr,
    sparse_csr_tensor,
)
from ._coo import (
    SparseTensor,
    check_sparse_tensor_invariants,
    hspmm,
    not_implemented,
    smm,
    sparse_addmm,
    sparse_coo,
    sparse_coo_tensor,
    sparse_mm,
    sparse_softmax,
    sparse_sum,
    sspaddmm,
)
from ._functions import (
    BFloat16Tensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
    as_sparse_gradcheck,
    spdiags,
    spsolve,
)

__all__ = ["sum", "mm", "addmm", "softmax", "log_softmax", "smm", "hspmm", "sspaddmm", "sparse_coo",
           "sparse_coo_tensor", "SparseTensor", "check_sparse_tensor_invariants", "sparse_csr", "sparse_csc",
           "sparse_bsr", "sparse_bsc", "sparse_compressed_tensor", "sparse_csr_tensor", "sparse_csc_tensor",
           "sparse_bsr_tensor", "sparse_bsc_tensor", "CompressedTensor",
           "sampled_addmm", "spdiags", "spsolve", "as_sparse_gradcheck", "BFloat16Tensor", "ByteTensor", "CharTensor",
           "DoubleTensor", "FloatTensor", "HalfTensor", "IntTensor", "LongTensor", "ShortTensor"]


def sum(input: SparseTensor, dim: Any = None, dtype: Any = None) -> Tensor:   # noqa: A001 (torch's name)
    """All entries of ``input`` (a dense 0-d tensor: the coalesced values summed, as torch), or its sum over
    ``dim`` (in ``input``'s dtype or ``dtype``)."""
    if is_compressed(input):   # torch's sparse.sum coalesces first, which compressed layouts refuse
        return input.coalesce()
    if dim is None and isinstance(input, SparseTensor):
        return input.coalesce().values().sum(dtype=dtype)
    return sparse_sum(input, dim, dtype)


def mm(mat1: Tensor, mat2: Tensor, reduce: str = "sum") -> Tensor:
    """Sparse × dense matrix product; the gradient of ``mat1`` is sparse with ``mat1``'s pattern."""
    if reduce != "sum":
        raise NotImplementedError(f"sparse.mm: reduce='{reduce}' is not supported by ember")
    if is_compressed(mat1):
        return compressed_sparse_mm(mat1, mat2)
    return sparse_mm(mat1, mat2)


def addmm(mat: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1.0, alpha: Any = 1.0) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` with a sparse ``mat1``."""
    if is_compressed(mat1):
        return compressed_addmm(mat, mat1, mat2, beta, alpha, masked=True)
    return sparse_addmm(mat, mat1, mat2, beta=beta, alpha=alpha)


def softmax(input: SparseTensor, dim: int, *, dtype: Any = None) -> SparseTensor:
    """Softmax over the specified entries of each slice along ``dim`` (unspecified entries are -inf)."""
    if is_compressed(input):
        raise not_implemented("_sparse_softmax", "SparseCsrCPU")
    return sparse_softmax(input, dim, dtype)


def log_softmax(input: SparseTensor, dim: int, *, dtype: Any = None) -> SparseTensor:
    """Log-softmax over the specified entries of each slice along ``dim``."""
    if is_compressed(input):
        raise not_implemented("_sparse_log_softmax", "SparseCsrCPU")
    return sparse_softmax(input, dim, dtype, log=True)
