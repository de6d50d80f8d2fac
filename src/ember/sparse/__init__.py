"""``torch.sparse``: sparse COO tensors and the functions of the ``torch.sparse`` namespace.

The tensor type, its storage and the design (a Tensor subclass whose ``_data`` refuses dense use) are in
:mod:`ember.sparse._coo`. Importing this package also binds ``Tensor.to_sparse``/``to_sparse_coo``.
"""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor
from ._coo import (
    SparseTensor,
    hspmm,
    smm,
    sparse_addmm,
    sparse_coo,
    sparse_coo_tensor,
    sparse_mm,
    sparse_softmax,
    sparse_sum,
)

__all__ = ["sum", "mm", "addmm", "softmax", "log_softmax", "smm", "hspmm", "sparse_coo", "sparse_coo_tensor",
           "SparseTensor"]


def sum(input: SparseTensor, dim: Any = None, dtype: Any = None) -> Tensor:   # noqa: A001 (torch's name)
    """All entries of ``input`` (a dense 0-d tensor), or its sum over ``dim``."""
    return sparse_sum(input, dim, dtype)


def mm(mat1: Tensor, mat2: Tensor, reduce: str = "sum") -> Tensor:
    """Sparse × dense matrix product; the gradient of ``mat1`` is sparse with ``mat1``'s pattern."""
    if reduce != "sum":
        raise NotImplementedError(f"sparse.mm: reduce='{reduce}' is not supported by ember")
    return sparse_mm(mat1, mat2)


def addmm(mat: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1.0, alpha: Any = 1.0) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` with a sparse ``mat1``."""
    return sparse_addmm(mat, mat1, mat2, beta=beta, alpha=alpha)


def softmax(input: SparseTensor, dim: int, *, dtype: Any = None) -> SparseTensor:
    """Softmax over the specified entries of each slice along ``dim`` (unspecified entries are -inf)."""
    return sparse_softmax(input, dim, dtype)


def log_softmax(input: SparseTensor, dim: int, *, dtype: Any = None) -> SparseTensor:
    """Log-softmax over the specified entries of each slice along ``dim``."""
    return sparse_softmax(input, dim, dtype, log=True)
