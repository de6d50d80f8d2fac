"""torch's older linear-algebra spellings and LAPACK-shaped functions: ``qr``, ``lu``/``lu_unpack``/``lu_solve``,
``triangular_solve``, ``cholesky_solve``/``cholesky_inverse``, ``geqrf``/``orgqr``/``ormqr`` (and
``linalg.householder_product``), the deprecated ``frobenius_norm``/``nuclear_norm``, the randomized
``svd_lowrank``/``pca_lowrank``, and the removed ``eig``/``symeig``/``lstsq``/``solve``/``matrix_rank`` (torch's
errors). Built on :mod:`.linalg` and ember ops, with torch's node names.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU
from .._core.warn import warn
from ..autograd.graph import SavedOutput
from . import creation as C
from . import indexing as I
from . import linalg as LA
from . import reduction as R
from . import shape as S
from ._dispatch import (
    Node,
    Tensor,
    bind,
    broadcast_shapes,
    from_array,
    needs_grad,
    out_dtype_error,
    record,
    unimplemented_node,
    write_out,
    xp_of,
)
from .extra import composed
from .reduction import finish, return_type


def _xp(t: Tensor) -> Any:
    return np if t._device is CPU else xp_of(t._device)


# ---- removed and deprecated spellings -----------------------------------------------------------------------------
_deprecated_warned: set[str] = set()


def _deprecated(name: str, message: str) -> None:
    if name not in _deprecated_warned:
        _deprecated_warned.add(name)
        warn(message, UserWarning, stacklevel=3)


def _removed(message: str, sep: str = " ") -> Callable[..., Any]:
    def fn(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("This function was deprecated since version 1.9 and is now removed." + sep + message)
    return fn


matrix_rank = _removed(sep="\n", message="Please use the `torch.linalg.matrix_rank` function instead. The parameter "
                       "'symmetric' was renamed in `torch.linalg.matrix_rank()` to 'hermitian'.")
eig = _removed("`torch.linalg.eig` returns complex tensors of dtype `cfloat` or `cdouble` rather than real tensors "
               "mimicking complex tensors.\n\nL, _ = torch.eig(A) should be replaced with:\nL_complex = "
               "torch.linalg.eigvals(A)\n\nand\n\nL, V = torch.eig(A, eigenvectors=True) should be replaced "
               "with:\nL_complex, V_complex = torch.linalg.eig(A)")
symeig = _removed("The default behavior has changed from using the upper triangular portion of the matrix by "
                  "default to using the lower triangular portion.\n\nL, _ = torch.symeig(A, upper=upper) should be "
                  "replaced with:\nL = torch.linalg.eigvalsh(A, UPLO='U' if upper else 'L')\n\nand\n\nL, V = "
                  "torch.symeig(A, eigenvectors=True) should be replaced with:\nL, V = torch.linalg.eigh(A, "
                  "UPLO='U' if upper else 'L')")
lstsq = _removed("`torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`.\n`torch.linalg.lstsq` has reversed "
                 "arguments and does not return the QR decomposition in the returned tuple (although it returns "
                 "other information about the problem).\n\nTo get the QR decomposition consider using "
                 "`torch.linalg.qr`.\n\nThe returned solution in `torch.lstsq` stored the residuals of the solution "
                 "in the last m - n columns of the returned value whenever m > n. In torch.linalg.lstsq, the "
                 "residuals are in the field 'residuals' of the returned named tuple.\n\nThe unpacking of the "
                 "solution, as in\nX, _ = torch.lstsq(B, A).solution[:A.size(1)]\nshould be replaced with:\nX = "
                 "torch.linalg.lstsq(A, B).solution")
solve = _removed("`torch.solve` is deprecated in favor of `torch.linalg.solve`. `torch.linalg.solve` has its "
                 "arguments reversed and does not return the LU factorization.\n\nTo get the LU factorization see "
                 "`torch.lu`, which can be used with `torch.lu_solve` or `torch.lu_unpack`.\nX = torch.solve(B, "
                 "A).solution should be replaced with:\nX = torch.linalg.solve(A, B)")


def qr(input: Tensor, some: bool = True, *, out: Any = None) -> Any:
    """``(Q, R)`` of ``input`` (``some``: reduced; else complete); prefer ``linalg.qr``."""
    _deprecated("qr", "torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future PyTorch "
                "release.\nThe boolean parameter 'some' has been replaced with a string parameter 'mode'.\nQ, R = "
                "torch.qr(A, some)\nshould be replaced with\nQ, R = torch.linalg.qr(A, 'reduced' if some else "
                "'complete')")
    q, r = LA.qr(input, "reduced" if some else "complete")
    return finish(return_type("qr", ("Q", "R"))(q, r), out, out_dtype_error)


def _solve_tri(A: Tensor, B: Tensor, upper: bool, transpose: bool, unitriangular: bool) -> Tensor:
    A_ = A.mT if transpose else A
    return LA.solve_triangular(A_, B, upper=upper != transpose, unitriangular=unitriangular)


def triangular_solve(input: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False, *, out: Any = None) -> Any:
    """``(solution, cloned_coefficient)`` of ``A X = b`` (``A^T X = b`` with ``transpose``); torch names ``b``
    ``input``."""
    b = input
    _deprecated("triangular_solve", "torch.triangular_solve is deprecated in favor of "
                "torch.linalg.solve_triangularand will be removed in a future PyTorch release.\n"
                "torch.linalg.solve_triangular has its arguments reversed and does not return a copy of one of "
                "the inputs.\nX = torch.triangular_solve(B, A).solution\nshould be replaced with\nX = "
                "torch.linalg.solve_triangular(A, B).")
    for name, t in (("b", b), ("A", A)):
        if t.dim() < 2:
            raise RuntimeError(f"torch.triangular_solve: Expected {name} to have at least 2 dimensions, but it has "
                               f"{t.dim()} dimensions instead")
    LA._same_b_A(b, A)
    _b_A_shapes(b, A, "triangular_solve")
    sol = composed("TriangularSolveBackward0",
                    lambda bb, AA: _solve_tri(AA, bb, upper, transpose, unitriangular), b, A)
    coefficient = A.expand(*sol.shape[:-2], *A.shape[-2:]).clone()   # broadcast to the solution's batch
    return finish(return_type("triangular_solve", ("solution", "cloned_coefficient"))(sol, coefficient), out,
                  out_dtype_error)


def _cholesky_solve(B: Tensor, L: Tensor, upper: bool) -> Tensor:
    if upper:
        y = LA.solve_triangular(L.mH, B, upper=False)
        return LA.solve_triangular(L, y, upper=True)
    y = LA.solve_triangular(L, B, upper=False)
    return LA.solve_triangular(L.mH, y, upper=True)


def _b_A_shapes(b: Tensor, A: Tensor, fn: str) -> None:
    """The shape checks torch's triangular_solve and cholesky_solve share: square A, matching rows, batch
    dimensions that broadcast."""
    LA._square(A, "")   # (torch's message names no function here)
    n = A.shape[-1]
    if b.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for {fn}: each A matrix is {n} by {n} but each b matrix is "
                           f"{b.shape[-2]} by {b.shape[-1]}")
    broadcast_shapes(tuple(b.shape[:-2]), tuple(A.shape[:-2]))


def cholesky_solve(input: Tensor, input2: Tensor, upper: bool = False, *, out: Tensor | None = None) -> Tensor:
    """``A^{-1} B`` for ``A = L L^H`` (or ``U^H U`` with ``upper``), given the Cholesky factor ``L``
    (torch's names: ``B`` is ``input``, ``L`` is ``input2``)."""
    B, L = input, input2
    if B.dim() < 2:
        raise RuntimeError(f"b should have at least 2 dimensions, but has {B.dim()} dimensions instead")
    if L.dim() < 2:
        raise RuntimeError(f"u should have at least 2 dimensions, but has {L.dim()} dimensions instead")
    LA._same_b_A(B, L)
    _b_A_shapes(B, L, "cholesky_solve")
    LA._kernel(L, "cholesky_solve_cpu")
    res = composed("CholeskySolveBackward0", lambda b, l_: _cholesky_solve(b, l_, upper), B, L,
                    grad_form=lambda b, l_: LA.solve(_gram(l_, upper), b))
    return res if out is None else LA._write_castable(out, res, "cholesky_solve")


def cholesky_inverse(input: Tensor, upper: bool = False, *, out: Tensor | None = None) -> Tensor:
    """The inverse of ``A = L L^H`` (or ``U^H U``) from its Cholesky factor ``input``."""
    L = input
    if L.dim() < 2:
        raise RuntimeError("cholesky_inverse: The input tensor A must have at least 2 dimensions.")
    LA._square(L, "cholesky_inverse")
    LA._kernel(L, "cholesky_inverse_out_cpu")
    n = L.shape[-1]
    if n:   # LAPACK's potri refuses an exactly zero diagonal element of the factor
        zero = L._data.diagonal(0, -2, -1) == 0
        info = _xp(L).where(zero.any(-1), zero.argmax(-1) + 1, 0)
        LA._raise_info("cholesky_inverse", info, L.dim() > 2, LA._singular_message)

    def fn(l_: Tensor) -> Tensor:
        eye = C.eye(n, dtype=l_.dtype, device=l_.device).expand(l_.shape)
        return _cholesky_solve(eye, l_, upper)
    res = composed("CholeskyInverseBackward0", fn, L, grad_form=lambda l_: LA.inv(_gram(l_, upper)))
    return res if out is None else LA._write_castable(out, res, "cholesky_inverse")


def _gram(factor: Tensor, upper: bool) -> Tensor:
    """``L L^H`` (or ``U^H U``): the matrix a Cholesky factor stands for, using every entry of ``factor`` (torch
    differentiates this form, so the gradient is not confined to the triangle)."""
    return factor.mH @ factor if upper else factor @ factor.mH


def _write(out: Tensor, res: Tensor) -> Tensor:
    return write_out(out, res)


def _perm_from_pivots(xp: Any, piv: Any, m: int) -> Any:
    """The row permutation (rows of A in P^T A order) from LAPACK's 1-based pivots."""
    k = piv.shape[-1]
    p = piv.reshape(math.prod(piv.shape[:-1]), k).astype(np.int64) - 1
    perm = xp.broadcast_to(xp.arange(m), (p.shape[0], m)).copy()
    rows = xp.arange(p.shape[0])
    for i in range(k):
        j = p[:, i]
        a, b = perm[rows, i].copy(), perm[rows, j].copy()
        perm[rows, i], perm[rows, j] = b, a
    return perm.reshape(piv.shape[:-1] + (m,))


def _lu_grad(L: Tensor, U: Tensor, gL: Tensor | None, gU: Tensor | None, perm: Any) -> Tensor:
    """The gradient of ``A = P L U`` (L: m x k unit lower, U: k x n upper) from those of L and U.

    With ``M = L^{-1} P^T dA U1^{-1}`` (square case) ``dL = L tril_{-1}(M)`` and ``dU = triu(M) U``; the wide
    (m < n) case adds ``dU2 = L^{-1} P^T dA2 - tril_{-1}(M) U2`` and the tall case (m > n) the mirror image
    for the rows of ``L`` below ``k``. The adjoints of these maps give the formulas below.
    """
    m, n = L.shape[-2], U.shape[-1]
    k = builtins.min(m, n)
    if gL is None:
        gL = C.zeros_like(L)
    if gU is None:
        gU = C.zeros_like(U)
    if m <= n:
        U1, U2, gU1, gU2 = U[..., :k], U[..., k:], gU[..., :k], gU[..., k:]
        gM = (L.mH @ gL - gU2 @ U2.mH).tril(-1) + (gU1 @ U1.mH).triu()
        g1 = LA.solve_triangular(U1.mH, gM, upper=False, left=False)
        gA = LA.solve_triangular(L.mH, S.cat([g1, gU2], -1) if n > k else g1, upper=True, unitriangular=True)
    else:
        L1, L2, gL1, gL2 = L[..., :k, :], L[..., k:, :], gL[..., :k, :], gL[..., k:, :]
        gM = (L1.mH @ gL1).tril(-1) + (gU @ U.mH - L2.mH @ gL2).triu()
        g1 = LA.solve_triangular(L1.mH, gM, upper=True, unitriangular=True)
        gA = LA.solve_triangular(U.mH, S.cat([g1, gL2], -2), upper=False, left=False)
    return _rows(gA, _xp(gA).argsort(perm, axis=-1))


def _unpack(LU: Tensor) -> tuple[Tensor, Tensor]:
    """The unit lower ``L`` (m x k) and upper ``U`` (k x n) packed in ``LU``."""
    m, n = LU.shape[-2], LU.shape[-1]
    k = builtins.min(m, n)
    L = LU[..., :, :k].tril(-1) + C.eye(m, k, dtype=LU.dtype, device=LU.device)
    return L, LU[..., :k, :].triu()


class LinalgLuFactorExBackward0(Node):
    """Backward of the packed LU factorisation: the strict lower part of the gradient flows to L, the upper
    part to U."""

    __slots__ = ()

    def backward(self, g: Tensor, *_: Any) -> tuple:
        L, U = _unpack(self.saved[0])
        k = L.shape[-1]
        return (_lu_grad(L, U, g[..., :, :k].tril(-1), g[..., :k, :].triu(), self.perm),)


class LinalgLuBackward0(Node):
    """Backward of ``linalg.lu``'s ``(L, U)`` (``P`` is not differentiable)."""

    __slots__ = ()

    def backward(self, gL: Tensor, gU: Tensor) -> tuple:
        L, U = self.saved
        return (_lu_grad(L, U, gL, gU, self.perm),)


def _rows(t: Tensor, order: Any) -> Tensor:
    """``t``'s rows (dim -2) taken in ``order`` (an index array per matrix)."""
    idx = from_array(_xp(t).broadcast_to(order[..., None], order.shape + (t.shape[-1],)).astype(np.int64),
                     D.int64, t._device)
    return I.gather(t, -2, idx)


def _lu_checks(A: Tensor, fn: str, pivot: bool, api: str) -> None:
    LA._arg(api, "A", 1, A)
    if A.dim() < 2:
        raise RuntimeError(f"{fn}: Expected tensor with 2 or more dimensions. Got size: {list(A.shape)} instead")
    LA._kernel(A, "lu_cpu", skip_empty=True)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")


_LuFactorEx = return_type("linalg_lu_factor_ex", ("LU", "pivots", "info"))
_LuFactor = return_type("linalg_lu_factor", ("LU", "pivots"))
_Lu = return_type("linalg_lu", ("P", "L", "U"))


def _lu_factor_ex(A: Tensor, errors: str | None) -> tuple[Tensor, Tensor, Tensor]:
    """``(LU, pivots, info)`` recorded as ``LinalgLuFactorExBackward0``; ``errors``: the function name a
    LinAlgError is raised under for a zero pivot (None: info only)."""
    xp = _xp(A)
    packed, piv, perm, info = LA._getrf(xp, A._data)
    if errors:
        LA._raise_info(errors, info, A.dim() > 2, lambda k: (
            f"U[{k},{k}] is zero and using it on lu_solve would result in a division by zero. If you still want "
            "to perform the factorization, consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)"),
            RuntimeError)
    LU = from_array(packed, A._dtype, A._device)
    if needs_grad(A):
        node = record(LU, LinalgLuFactorExBackward0(), (A,))
        node.save(SavedOutput(LU))
        node.perm = perm
    return LU, from_array(piv, D.int32, A._device), from_array(info, D.int32, A._device)


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False, out: Any = None) -> Any:
    """``(LU, pivots, info)``: the packed LU factorisation with partial pivoting; info > 0 marks the first
    zero pivot of ``U`` instead of raising (unless ``check_errors``)."""
    _lu_checks(A, "torch.lu_factor", pivot, "linalg_lu_factor_ex")
    res = _LuFactorEx(*_lu_factor_ex(A, "torch.linalg.lu_factor_ex" if check_errors else None))
    return finish(res, out, out_dtype_error)


def lu_factor(A: Tensor, *, pivot: bool = True, out: Any = None) -> Any:
    """``(LU, pivots)``: the packed LU factorisation; LinAlgError when a pivot of ``U`` is zero."""
    _lu_checks(A, "torch.lu_factor", pivot, "linalg_lu_factor")
    res = _LuFactor(*_lu_factor_ex(A, "torch.linalg.lu_factor")[:2])
    return finish(res, out, out_dtype_error)


def linalg_lu(A: Tensor, *, pivot: bool = True, out: Any = None) -> Any:
    """``(P, L, U)`` with ``A = P L U``: P a permutation, L unit lower (m x k), U upper (k x n)."""
    _lu_checks(A, "linalg.lu", pivot, "linalg_lu")
    xp = _xp(A)
    packed, _, perm, _ = LA._getrf(xp, A._data)
    m, n = packed.shape[-2:]
    k = builtins.min(m, n)
    low = xp.tril(packed[..., :, :k], -1) + xp.eye(m, k, dtype=packed.dtype)
    P = xp.ascontiguousarray(xp.swapaxes(xp.eye(m, dtype=packed.dtype)[perm], -1, -2))
    outs = [from_array(x, A._dtype, A._device) for x in (P, low, xp.triu(packed[..., :k, :]))]
    if needs_grad(A):
        node = record(outs[1:], LinalgLuBackward0(), (A,))
        node.save(SavedOutput(outs[1]), SavedOutput(outs[2]))
        node.perm = perm
    res = _Lu(*outs)
    return finish(res, out, out_dtype_error)


def lu(A: Tensor, pivot: bool = True, get_infos: bool = False, *, out: Any = None) -> tuple:
    """``(LU, pivots[, infos])``: the packed LU factorisation with partial pivoting (LAPACK's getrf)."""
    _deprecated("lu", "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and "
                "will be removed in a future PyTorch release.\nLU, pivots = torch.lu(A, compute_pivots)\nshould be "
                "replaced with\nLU, pivots = torch.linalg.lu_factor(A, compute_pivots)\nand\nLU, pivots, info = "
                "torch.lu(A, compute_pivots, get_infos=True)\nshould be replaced with\nLU, pivots, info = "
                "torch.linalg.lu_factor_ex(A, compute_pivots)")
    _lu_checks(A, "torch.lu_factor", pivot, "lu")
    LU, piv, info = _lu_factor_ex(A, None)   # torch.lu never raises for a zero pivot
    return finish((LU, piv, info) if get_infos else (LU, piv), out, out_dtype_error)


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True, unpack_pivots: bool = True,
              *, out: Any = None) -> Any:
    """``(P, L, U)`` from a packed LU factorisation and its pivots."""
    m = LU_data.shape[-2]
    empty = C.empty(0, dtype=LU_data.dtype, device=LU_data.device)
    L, U = _unpack(LU_data) if unpack_data else (empty, empty)
    if unpack_pivots:
        if LU_pivots._dtype is not D.int32:
            raise RuntimeError("lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype. "
                               "Note: this function is intended to be used with the output produced by "
                               "torch.linalg.lu_factor")
        xp = _xp(LU_data)
        perm = _perm_from_pivots(xp, LU_pivots._data, m)
        eye = xp.eye(m, dtype=LU_data._dtype.np)
        P = xp.swapaxes(eye[perm], -1, -2)  # A = P L U: column j of P is e_{perm[j]}
        Pt = from_array(xp.ascontiguousarray(P), LU_data._dtype, LU_data._device)
    else:
        Pt = empty
    return finish(return_type("lu_unpack", ("P", "L", "U"))(Pt, L, U), out, out_dtype_error)


def _lu_solve_checks(LU: Tensor, pivots: Tensor, B: Tensor, left: bool) -> None:
    fn = "linalg.lu_solve"
    for i, (name, t) in enumerate((("LU", LU), ("pivots", pivots), ("B", B))):
        LA._arg("linalg_lu_solve", name, i + 1, t)
    LA._square(LU, "torch.linalg.lu_solve")
    if B.dim() < 2:
        raise RuntimeError(f"{fn}: The input tensor B must have at least 2 dimensions.")
    n = LU.shape[-1]
    r, c = B.shape[-2:]
    if (r if left else c) != n:
        raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation {'AX = B' if left else 'XA = B'} "
                           f"({n}x{n} and {r}x{c})")
    if pivots.dim() == 0 or pivots.shape[-1] != n:
        raise RuntimeError(f"{fn}: Number of pivots per batch should be same as the dimension of the matrix")
    if tuple(pivots.shape) != tuple(LU.shape[:-1]):
        raise RuntimeError(f"{fn}: Expected LU.shape[:-1] and pivots.shape to be the same, but got pivots with "
                           f"shape {list(pivots.shape)} instead")
    if pivots._dtype is not D.int32:
        raise RuntimeError(f"{fn}: pivots should be a Tensor of scalar type torch.int32")
    LA._inexact(LU, "torch.linalg.lu_solve")
    LA._same_dtype(fn, LU, B, "LU", "B")


def _pivot_bounds(pivots: Tensor, n: int) -> None:
    """torch's check that the pivots are 1-based row indices (an empty solve skips it)."""
    p = pivots._data
    if p.size and bool((p < 1).any()):
        raise RuntimeError("Pivots given to lu_solve must all be greater or equal to 1. Did you properly pass the "
                           "result of lu_factor?")
    if p.size and bool((p > n).any()):
        raise RuntimeError("Pivots given to lu_solve must all be smaller or equal to LU.size(-2). Did you properly "
                           "pass the result of lu_factor?")


def linalg_lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False,
                    out: Tensor | None = None) -> Tensor:
    """Solve ``A X = B`` (``X A = B`` unless ``left``; ``A^H`` with ``adjoint``) from ``A``'s packed LU
    factorisation and pivots (``linalg.lu_factor``'s output), batch dimensions broadcast. An empty result
    is returned before the pivots' and the kernel's checks, as torch does."""
    _lu_solve_checks(LU, pivots, B, left)
    xp = _xp(LU)
    batch = tuple(broadcast_shapes(B.shape[:-2], LU.shape[:-2]))
    n = LU.shape[-1]
    if math.prod(batch + tuple(B.shape[-2:])) == 0:
        res = composed("LinalgLuSolveBackward0", lambda lu_, b: b.expand(*batch, *b.shape[-2:]).clone(), LU, B)
        return res if out is None else write_out(out, res, None, out_dtype_error)
    _pivot_bounds(pivots, n)
    LA._kernel(LU, "linalg.lu_solve_cpu")
    perm = xp.broadcast_to(_perm_from_pivots(xp, pivots._data, n), batch + (n,))

    def solve(lu_: Tensor, b: Tensor, adj: bool) -> Tensor:
        b = b.expand(*batch, *b.shape[-2:])
        if not adj:   # U^{-1} L^{-1} P^T B
            y = LA.solve_triangular(lu_, _rows(b, perm), upper=False, unitriangular=True)
            return LA.solve_triangular(lu_, y, upper=True)
        y = LA.solve_triangular(lu_.mH, b, upper=False)   # P L^{-H} U^{-H} B
        y = LA.solve_triangular(lu_.mH, y, upper=True, unitriangular=True)
        return _rows(y, xp.argsort(perm, axis=-1))

    def fn(lu_: Tensor, b: Tensor) -> Tensor:
        return solve(lu_, b, adjoint) if left else solve(lu_, b.mH, not adjoint).mH   # X A = B <=> A^H X^H = B^H
    res = composed("LinalgLuSolveBackward0", fn, LU, B)
    return res if out is None else write_out(out, res, None, out_dtype_error)


def lu_solve(input: Tensor, LU_data: Tensor, LU_pivots: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``A^{-1} b`` (``b``: ``input``) from ``A``'s packed LU factorisation and pivots (``torch.lu``'s output)."""
    _deprecated("lu_solve", "torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in a "
                "future PyTorch release.\nNote that torch.linalg.lu_solve has its arguments reversed.\nX = "
                "torch.lu_solve(B, LU, pivots)\nshould be replaced with\nX = torch.linalg.lu_solve(LU, pivots, B)")
    return linalg_lu_solve(LU_data, LU_pivots, input, out=out)


def frobenius_norm(input: Tensor, dim: Sequence[int], keepdim: bool = False, *, out: Tensor | None = None
                   ) -> Tensor:
    """Deprecated spelling of ``linalg.vector_norm(input, 2, dim, keepdim)``."""
    _deprecated("frobenius_norm", "at::frobenius_norm is deprecated and it is just left for JIT compatibility. It "
                "will be removed in a future PyTorch release. Please use `linalg.vector_norm(A, 2., dim, keepdim)` "
                "instead")
    res = composed("NormBackward1", lambda x: R.vector_norm(x, 2, list(dim), keepdim), input)
    return res if out is None else _write(out, res)


def nuclear_norm(input: Tensor, dim: Any = None, keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    """Deprecated spelling of ``linalg.matrix_norm(input, 'nuc', dim, keepdim)``."""
    _deprecated("nuclear_norm", "at::nuclear_norm is deprecated and it is just left for JIT compatibility. It will "
                "be removed in a future PyTorch release. Please use `linalg.matrix_norm(A, 'nuc', dim, keepdim)` "
                "instead")
    if isinstance(dim, bool):
        dim, keepdim = None, dim
    res = LA.matrix_norm(input, "nuc", (-2, -1) if dim is None else tuple(dim), keepdim)
    return res if out is None else _write(out, res)


# ---- Householder QR pieces: geqrf, householder_product (orgqr), ormqr ------------------------------------------
def geqrf(input: Tensor, *, out: Any = None) -> Any:
    """LAPACK's geqrf: ``(a, tau)``, R in ``a``'s upper triangle and the Householder vectors below it."""
    if input.dim() < 2:
        raise RuntimeError("torch.geqrf: input must have at least 2 dimensions.")
    LA._kernel(input, "geqrf_cpu")
    xp = _xp(input)
    h, tau = xp.linalg.qr(input._data, mode="raw")
    outs = [from_array(xp.ascontiguousarray(xp.swapaxes(h, -1, -2)), input._dtype, input._device),
            from_array(xp.asarray(tau, input._dtype.np), input._dtype, input._device)]
    if needs_grad(input):
        if input._dtype.is_complex:
            raise RuntimeError("geqrf does not support automatic differentiation for outputs with complex dtype.")
        record(outs, unimplemented_node("GeqrfBackward0", "geqrf"), (input,))
    res = return_type("geqrf", ("a", "tau"))(*outs)
    if out is not None and len(out) == len(res):
        for o, r, what in zip(out, res, res._fields, strict=True):
            LA._castable(o, r, "torch.geqrf", what)
    return finish(res, out)


def _reflect(v: Tensor, tau: Tensor, c: Tensor, adjoint: bool) -> Tensor:
    """``H c`` (or ``H^H c``) for the reflector ``H = I - tau v v^H`` (``v``: (..., m, 1))."""
    t = tau.conj() if adjoint else tau
    return c - (t[..., None, None] * v) @ (v.mH @ c)


def _reflectors(A: Tensor, k: int) -> list[Tensor]:
    """The Householder vectors stored below ``A``'s diagonal (unit first entry), one (..., m, 1) per column; the
    entries on and above the diagonal are not read (selected away, so an infinity there leaves no NaN)."""
    m = A.shape[-2]
    rows = C.arange(m, device=A.device)
    out = []
    for i in builtins.range(k):
        col = A[..., :, i:i + 1]
        unit = (rows == i).to(A.dtype)[:, None]
        out.append(I.where((rows > i)[:, None], col, unit))
    return out


def _tau_batch(fn: str, A: Tensor, tau: Tensor, other: Tensor | None = None) -> None:
    """torch's checks that ``tau`` (and ormqr's ``other``) carry exactly ``A``'s batch dimensions."""
    if A.dim() - tau.dim() != 1:
        raise RuntimeError(f"{fn}: Expected tau to have one dimension less than input, but got tau.ndim equal to "
                           f"{tau.dim()} and input.ndim is equal to {A.dim()}")
    if other is not None and other.dim() != A.dim():
        raise RuntimeError(f"{fn}: Expected other to have the same number of dimensions as input, but got "
                           f"other.ndim equal to {other.dim()} and input.ndim is equal to {A.dim()}")
    for name, t, k in (("tau", tau, 1), ("other", other, 2)):
        if t is not None and tuple(t.shape[:-k]) != tuple(A.shape[:-2]):
            raise RuntimeError(f"{fn}: Expected batch dimensions of {name} to be equal to input.shape[:-2], but got "
                               f"{list(t.shape[:-k])}")


def _check_householder(fn: str, A: Tensor, tau: Tensor) -> None:
    if A.dim() < 2:
        raise RuntimeError(f"{fn}: input must have at least 2 dimensions.")
    if A.shape[-2] < A.shape[-1]:
        raise RuntimeError(f"{fn}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    if tau.shape[-1] > A.shape[-1]:
        raise RuntimeError(f"{fn}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    _tau_batch(fn, A, tau)
    if A._dtype is not tau._dtype:
        raise RuntimeError(f"{fn}: tau dtype {tau._dtype._short} does not match input dtype {A._dtype._short}")
    LA._kernel(A, "orgqr_cpu")


def householder_product(input: Tensor, tau: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The first ``n`` columns of ``H_1 ... H_k`` from Householder vectors and scales (LAPACK's orgqr)."""
    _check_householder("torch.linalg.householder_product", input, tau)

    def fn(a: Tensor, t: Tensor) -> Tensor:
        m, n = a.shape[-2], a.shape[-1]
        q = C.eye(m, n, dtype=a.dtype, device=a.device).expand(*a.shape[:-2], m, n)
        for i, v in reversed(list(enumerate(_reflectors(a, t.shape[-1])))):
            q = _reflect(v, t[..., i], q, False)
        return q
    res = composed("LinalgHouseholderProductBackward0", fn, input, tau)
    return res if out is None else LA._write_castable(out, res, "torch.linalg.householder_product")


def orgqr(input: Tensor, input2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Alias of :func:`householder_product` (torch names the Householder scalars ``input2`` here)."""
    return householder_product(input, input2, out=out)


def ormqr(input: Tensor, input2: Tensor, input3: Tensor, left: bool = True, transpose: bool = False, *,
          out: Tensor | None = None) -> Tensor:
    """``other`` multiplied by the ``Q`` of a geqrf factorisation: ``Q C``, ``Q^H C``, ``C Q`` or ``C Q^H``
    (torch names ``tau`` ``input2`` and ``other`` ``input3``)."""
    tau, other = input2, input3
    fn = "torch.ormqr"
    for name, t in (("input", input), ("other", other)):
        if t.dim() < 2:
            raise RuntimeError(f"{fn}: {name} must have at least 2 dimensions.")
    side = -2 if left else -1
    if other.shape[side] != input.shape[-2]:
        raise RuntimeError(f"{fn}: other.shape[{side}] must be equal to input.shape[-2]")
    if tau.shape[-1] != min(other.shape[side], input.shape[-1]):
        raise RuntimeError(f"{fn}: tau.shape[-1] must be equal to min(other.shape[{side}], input.shape[-1])")
    _tau_batch(fn, input, tau, other)
    if tau._dtype is not input._dtype:   # torch's wording, "dtype" glued to the first name
        raise RuntimeError(f"{fn}: Expected input and tau to have the same dtype, but input has dtype"
                           f"{input._dtype._short} and tau has dtype {tau._dtype._short}")
    if input._dtype is not other._dtype:   # torch's wording, "dtype" glued to the first name
        raise RuntimeError(f"torch.ormqr: Expected input and other to have the same dtype, but input has dtype"
                           f"{input._dtype._short} and other has dtype {other._dtype._short}")
    LA._kernel(input, "ormqr_cpu")

    def fn(a: Tensor, t: Tensor, c: Tensor) -> Tensor:
        refl = list(enumerate(_reflectors(a, t.shape[-1])))
        # Q = H_1 ... H_k; C Q = (Q^H C^H)^H, so the right-hand cases apply the adjoint order to C^H
        adj = transpose if left else not transpose
        order = refl if adj else list(reversed(refl))
        x = c if left else c.mH
        for i, v in order:
            x = _reflect(v, t[..., i], x, adj)
        return x if left else x.mH
    res = composed("OrmqrBackward0", fn, input, tau, other)
    return res if out is None else _write(out, res)


# ---- randomized low-rank factorizations (Halko, Martinsson & Tropp, 2009) -----------------------------------------
def _approximate_basis(A: Tensor, q: int, niter: int, M: Tensor | None) -> Tensor:
    """``q`` orthonormal columns whose span approximates the range of ``A - M`` (a random sketch refined by
    ``niter`` power iterations, re-orthonormalised after each product)."""
    from .random import randn
    dt = A.dtype if A.is_complex() or A.is_floating_point() else D.float32

    def times(X: Tensor, adjoint: bool) -> Tensor:
        out = (A.mH if adjoint else A) @ X
        return out if M is None else out - (M.mH if adjoint else M) @ X
    Q = LA.qr(times(randn(A.shape[-1], q, dtype=dt, device=A.device), False)).Q
    for _ in builtins.range(niter):
        Q = LA.qr(times(Q, True)).Q
        Q = LA.qr(times(Q, False)).Q
    return Q


def _svd_lowrank(A: Tensor, q: int, niter: int, M: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(A.shape)
    wide = m < n
    if wide:   # work on the tall adjoint: the sketch is then the smaller side
        A, M = A.mH, (None if M is None else M.mH)
    Q = _approximate_basis(A, q, niter, M)
    B = Q.mH @ A if M is None else Q.mH @ A - Q.mH @ M
    U, S, Vh = LA.linalg_svd(B, full_matrices=False)
    U, V = Q @ U, Vh.mH
    return (V, S, U) if wide else (U, S, V)


def svd_lowrank(A: Tensor, q: int | None = 6, niter: int | None = 2, M: Tensor | None = None
                ) -> tuple[Tensor, Tensor, Tensor]:
    """An approximate rank-``q`` SVD ``(U, S, V)`` of ``A`` (or ``A - M``) by randomized subspace iteration."""
    return _svd_lowrank(A, 6 if q is None else q, 2 if niter is None else niter, M)


def pca_lowrank(A: Tensor, q: int | None = None, center: bool = True, niter: int = 2
                ) -> tuple[Tensor, Tensor, Tensor]:
    """Principal components of the rows of ``A`` (centred by default) via :func:`svd_lowrank`."""
    m, n = A.shape[-2:]
    if q is None:
        q = builtins.min(6, m, n)
    elif not 0 <= q <= builtins.min(m, n):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={builtins.min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    return _svd_lowrank(A - A.mean(dim=(-2,), keepdim=True) if center else A, q, niter, None)


bind({"cholesky_solve": cholesky_solve, "cholesky_inverse": cholesky_inverse, "lu": lu, "lu_solve": lu_solve,
      "qr": qr, "triangular_solve": triangular_solve, "geqrf": geqrf, "orgqr": orgqr, "ormqr": ormqr,
      "eig": eig, "symeig": symeig, "lstsq": lstsq, "solve": solve})

__all__ = ["matrix_rank", "eig", "symeig", "lstsq", "solve", "qr", "triangular_solve", "cholesky_solve",
           "cholesky_inverse", "lu", "lu_unpack", "lu_solve", "frobenius_norm", "nuclear_norm", "geqrf", "orgqr",
           "ormqr", "householder_product", "svd_lowrank", "pca_lowrank", "lu_factor", "lu_factor_ex", "linalg_lu",
           "linalg_lu_solve"]
