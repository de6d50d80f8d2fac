"""``ember.linalg``: torch.linalg's functions (re-exported from ``ember.ops.linalg``)."""

from __future__ import annotations

from ..ops.lapack import householder_product
from ..ops.linalg import (
    LinAlgError,
    cholesky_ex,
    eigh,
    eigvalsh,
    inv,
    inv_ex,
    lstsq,
    matrix_exp,
    matrix_norm,
    matrix_power,
    matrix_rank,
    multi_dot,
    pinv,
    qr,
    solve,
    solve_ex,
    solve_triangular,
    svdvals,
    tensorinv,
    tensorsolve,
    vecdot,
)
from ..ops.linalg import linalg_cholesky as cholesky
from ..ops.linalg import linalg_cross as cross
from ..ops.linalg import linalg_det as det
from ..ops.linalg import linalg_diagonal as diagonal
from ..ops.linalg import linalg_norm as norm
from ..ops.linalg import linalg_slogdet as slogdet
from ..ops.linalg import linalg_svd as svd
from ..ops.matmul import matmul
from ..ops.reduction import vector_norm

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cross", "det", "diagonal", "eigh", "eigvalsh",
           "householder_product", "inv",
           "inv_ex", "lstsq", "matmul", "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank",
           "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex", "solve_triangular", "svd",
           "svdvals", "tensorinv", "tensorsolve", "vecdot", "vector_norm"]
