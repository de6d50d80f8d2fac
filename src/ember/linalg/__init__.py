"""``ember.linalg``: torch.linalg's functions (re-exported from ``ember.ops.linalg``)."""

from __future__ import annotations

from ..ops.lapack import householder_product, lu_factor, lu_factor_ex
from ..ops.lapack import linalg_lu as lu
from ..ops.lapack import linalg_lu_solve as lu_solve
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
from ..ops.linalg_extra import cond, eig, eigvals, ldl_factor, ldl_factor_ex, ldl_solve, vander
from ..ops.matmul import matmul
from ..ops.reduction import vector_norm

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals",
           "eigvalsh", "householder_product", "inv", "ldl_factor", "ldl_factor_ex", "ldl_solve", "lu", "lu_factor",
           "lu_factor_ex", "lu_solve", "vander",
           "inv_ex", "lstsq", "matmul", "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank",
           "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex", "solve_triangular", "svd",
           "svdvals", "tensorinv", "tensorsolve", "vecdot", "vector_norm"]
