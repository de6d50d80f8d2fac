"""``torch.linalg``'s general eigendecomposition (``eig``, ``eigvals``), condition number (``cond``), Vandermonde
matrices (``vander``) and the symmetric-indefinite LDL factorisation (``ldl_factor``/``_ex``, ``ldl_solve``).

The LU family lives in :mod:`.lapack`. ``eig`` runs LAPACK's geev through NumPy; CuPy has no general
eigensolver, so CUDA inputs are decomposed on the host and the results copied back. ``ldl_factor`` is
LAPACK's unblocked Bunch-Kaufman ``sytf2``/``hetf2`` (lower storage) vectorised over the batch, each matrix
keeping its own column cursor since 1x1 and 2x2 pivots advance it differently.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._core import dtype as D
from ..autograd.graph import SavedOutput
from . import creation as C
from . import elementwise as E
from . import indexing as I
from . import linalg as LA
from . import shape as S
from ._dispatch import Node, Tensor, broadcast_shapes, from_array, needs_grad, out_dtype_error, record, write_out
from .reduction import cumprod, finish, return_type


def _host(xp: Any, fn: Any, a: Any) -> Any:
    """``fn`` (a NumPy routine) applied on the host; the results come back to ``xp``'s device."""
    if xp is np:
        return fn(a)
    res = fn(xp.asnumpy(a))
    return tuple(xp.asarray(r) for r in res) if isinstance(res, tuple) else xp.asarray(res)


# ---- eig / eigvals ---------------------------------------------------------------------------------------
_EIG_GAUGE = ("linalg_eig_backward: The eigenvectors in the complex case are specified up to multiplication by "
              "e^{i phi}. The specified loss function depends on this quantity, so it is ill-defined.")


class LinalgEigBackward0(Node):
    """Gradient of ``A V = V diag(L)`` with unit-norm eigenvectors: ``V^{-H} (diag(gL) + G / conj(L_j - L_i))
    V^H``, where ``G`` is ``V^H gV`` projected to remove the norm (phase-and-scale) directions."""

    __slots__ = ()

    def backward(self, gL: Tensor, gV: Tensor | None = None) -> tuple:
        L, V = self.saved
        n = L.shape[-1]
        Vh = V.mH
        inner = gL.diag_embed() if LA._defined(gL) else C.zeros_like(V)
        if gV is not None and LA._defined(gV):
            VhgV = Vh @ gV
            diag = LA._diagonal(VhgV)
            LA._gauge_check(LA._xp(V), diag.imag._data, 0, _EIG_GAUGE)
            G = VhgV - Vh @ (V * diag.real.unsqueeze(-2))
            Lc = L.conj()
            off = G / (Lc.unsqueeze(-2) - Lc.unsqueeze(-1) + LA._eye(n, L))
            inner = inner + off * (1 - LA._eye(n, L))
        gA = LA.solve(Vh, inner @ Vh)
        return (gA.real if self.real else gA,)


_Eig = return_type("linalg_eig", ("eigenvalues", "eigenvectors"))


def _eig(A: Tensor, fn: str, vectors: bool) -> tuple[Tensor, Tensor | None]:
    """Eigenvalues and (when asked, or needed for the gradient) eigenvectors, both complex."""
    LA._arg(f"linalg_{fn}", "input", 1, A)
    LA._square(A, f"linalg.{fn}")
    dt = A._dtype
    if dt.category < 2 or dt.kind == "float8":   # no complex counterpart
        raise RuntimeError(f"Unknown Complex ScalarType for {dt._short}")
    LA._kernel(A, "linalg_eig_out_cpu")
    xp = LA._xp(A)
    a = A._data
    cdt = dt.to_complex() if not dt.is_complex else dt
    finite = bool(xp.isfinite(a).all())
    if not finite and vectors:
        raise RuntimeError("torch.linalg.eig: input tensor should not contain infs or NaNs.")
    grad = needs_grad(A)
    if not finite:   # eigvals: NaN eigenvalues, as LAPACK gives
        w, v = xp.full(a.shape[:-1], complex("nan"), cdt.np), None
    else:
        w, v = _host(xp, np.linalg.eig, a)
    L = from_array(xp.asarray(w, cdt.np), cdt, A._device)
    V = None if v is None else from_array(xp.ascontiguousarray(xp.asarray(v, cdt.np)), cdt, A._device)
    if grad and V is not None:   # eigvals too records V as an output: its gradient's graph runs through it
        node = record([L, V], LinalgEigBackward0(), (A,))
        node.save(SavedOutput(L), SavedOutput(V))
        node.real = not dt.is_complex
    return L, (V if vectors else None)


def eig(input: Tensor, *, out: Any = None) -> Any:
    """``(eigenvalues, eigenvectors)`` of square matrices, complex (unit-norm eigenvectors, LAPACK's geev)."""
    res = _Eig(*_eig(input, "eig", True))
    if out is not None and len(out) == len(res):
        for o, r, what in zip(out, res, ("eigenvalues", "eigenvectors"), strict=True):
            LA._castable(o, r, "torch.linalg.eig", what)
    return finish(res, out)


def eigvals(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Eigenvalues of square matrices, complex (eigenvectors are computed only for the gradient)."""
    res = _eig(input, "eigvals", False)[0]
    return res if out is None else LA._write_castable(out, res, "torch.linalg.eigvals", what="eigenvalues")


# ---- cond ------------------------------------------------------------------------------------------------
_COND_ORDS = (None, 2, -2, 1, -1, math.inf, -math.inf, "fro", "nuc")


def cond(input: Tensor, p: Any = None, *, out: Tensor | None = None) -> Tensor:
    """The condition number of ``A`` in the ``p`` norm: the singular-value ratio for ``None``/``2``/``-2``
    (any shape), ``norm(A) * norm(A^{-1})`` otherwise (square; ``inf`` for singular matrices)."""
    A = input
    LA._arg("linalg_cond", "input", 1, A)
    if not (p in ("fro", "nuc") if isinstance(p, str) else p is None or p in _COND_ORDS[1:7]):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    if A.dim() < 2:
        raise RuntimeError("linalg.cond: The input tensor must have at least 2 dimensions.")
    spectral = p is None or (not isinstance(p, str) and abs(p) == 2)
    if not spectral:
        LA._square(A, f"linalg.cond(ord={p})")
    if A.numel() == 0:
        real = A._dtype.to_real() if A._dtype.is_complex else A._dtype
        res = C.zeros(A.shape[:-2], dtype=real, device=A.device)
    elif spectral:
        s = LA.svdvals(A)
        hi, lo = s[..., :1], s[..., -1:]
        res = (lo / hi if p == -2 else hi / lo).squeeze(-1)
    elif p == "nuc":
        s = LA.svdvals(A)
        res = s.sum(-1) * s.reciprocal().sum(-1)
    else:
        inv, info = LA.inv_ex(A)
        inv = I.masked_fill(inv, (info > 0)[..., None, None], math.inf)
        res = E.nan_to_num(LA.matrix_norm(A, p) * LA.matrix_norm(inv, p), nan=math.inf, posinf=math.inf)
    return res if out is None else LA._write_castable(out, res, "linalg.cond")


# ---- vander ----------------------------------------------------------------------------------------------
def vander(x: Tensor, N: int | None = None) -> Tensor:
    """The Vandermonde matrix ``[1, x, x^2, ..., x^(N-1)]`` along a new last dimension (``N``: len(x))."""
    LA._arg("linalg_vander", "x", 1, x)
    if x._dtype is D.bool or (x._dtype.category > 1 and x._dtype.name not in LA._LAPACK_DTYPES):
        raise RuntimeError("linalg.vander supports floating point, complex, and integer tensors, but got "
                           f"{x._dtype._short}")
    if x.dim() == 0:
        x = x.unsqueeze(0)
    n = x.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    powers = cumprod(x.unsqueeze(-1).expand(*x.shape, n - 1), -1)
    return S.cat([C.ones(*x.shape, 1, dtype=powers.dtype, device=x.device), powers], -1)


# ---- LDL (Bunch-Kaufman) ---------------------------------------------------------------------------------
_LdlFactorEx = return_type("linalg_ldl_factor_ex", ("LD", "pivots", "info"))
_LdlFactor = return_type("linalg_ldl_factor", ("LD", "pivots"))
_BK_ALPHA = (1 + math.sqrt(17)) / 8   # Bunch-Kaufman's growth bound


def _mirror(xp: Any, w: Any, herm: bool) -> Any:
    """The full symmetric (Hermitian) matrix whose lower triangle is ``w``'s."""
    low = xp.tril(w, -1)
    up = xp.swapaxes(xp.conj(low) if herm else low, -1, -2)
    d = xp.diagonal(w, 0, -2, -1)
    diag = d.real.astype(w.dtype) if herm else d
    return low + up + diag[..., None] * xp.eye(w.shape[-1], dtype=w.dtype)


def _sytf2(xp: Any, a: Any, herm: bool) -> tuple[Any, Any, Any]:
    """LAPACK's ``?sytf2``/``?hetf2`` (uplo 'L') on each matrix: the packed ``L``/``D``, 1-based pivots (negative
    for 2x2 blocks) and info (the first exactly-zero diagonal block, 0: none). Works on full symmetric storage so
    that the row/column interchange of the trailing block is one symmetric permutation per matrix."""
    n = a.shape[-1]
    w = _mirror(xp, a, herm).reshape((math.prod(a.shape[:-2]), n, n))
    nb = w.shape[0]
    rows, ar = xp.arange(nb), xp.arange(n)
    piv = xp.zeros((nb, n), dtype=np.int32)
    info = xp.zeros(nb, dtype=np.int32)
    k = xp.zeros(nb, dtype=np.int64)

    def off_abs(z: Any) -> Any:   # LAPACK's cabs1 (|re| + |im|) for complex, |x| for real
        return xp.abs(z.real) + xp.abs(z.imag) if xp.iscomplexobj(z) else xp.abs(z)

    def diag_abs(z: Any) -> Any:
        return xp.abs(z.real) if herm else off_abs(z)

    conj = xp.conj if herm else (lambda z: z)
    for _ in range(n):
        act = k < n
        if not bool(act.any()):
            break
        kc = xp.minimum(k, n - 1)
        col = w[rows, :, kc]
        absakk = diag_abs(col[rows, kc])
        below = ar[None, :] > kc[:, None]
        cab = xp.where(below, off_abs(col), -1.0)
        imax = xp.argmax(cab, axis=1)
        colmax = xp.maximum(cab[rows, imax], 0.0)
        zero = ~(xp.maximum(absakk, colmax) > 0)
        rowv = xp.where((ar[None, :] >= kc[:, None]) & (ar[None, :] != imax[:, None]), off_abs(w[rows, imax, :]),
                        -1.0)
        rowmax = xp.maximum(rowv.max(axis=1), 0.0)
        keep = zero | (absakk >= _BK_ALPHA * colmax)
        with np.errstate(all="ignore"):
            keep |= absakk >= _BK_ALPHA * colmax * (colmax / rowmax)
        swap_diag = diag_abs(w[rows, imax, imax]) >= _BK_ALPHA * rowmax
        kp = xp.where(keep, kc, imax)
        two = act & ~keep & ~swap_diag
        kk = kc + two
        # interchange rows/columns kk and kp of the trailing block
        trail = (ar[None, :] >= kc[:, None]) & act[:, None]
        r_kk, r_kp = w[rows, kk, :], w[rows, kp, :]          # rows, over the trailing columns
        w[rows, kk, :] = xp.where(trail, r_kp, r_kk)
        w[rows, kp, :] = xp.where(trail, r_kk, r_kp)
        c_kk, c_kp = w[rows, :, kk], w[rows, :, kp]          # then columns, over the trailing rows
        w[rows, :, kk] = xp.where(trail, c_kp, c_kk)
        w[rows, :, kp] = xp.where(trail, c_kk, c_kp)
        one = act & ~two & ~zero
        with np.errstate(all="ignore"):
            # 1x1 pivot: A22 -= x r1 x^H, then the column becomes x r1
            x = xp.where(below, w[rows, :, kc], 0)
            akk = w[rows, kc, kc]
            r1 = 1 / (akk.real if herm else akk)
            t = r1[:, None] * conj(x)
            # 2x2 pivot on columns k, k+1: the rows below the block get W = X D^{-1}
            k1 = xp.minimum(kc + 1, n - 1)
            below2 = ar[None, :] > k1[:, None]
            xk, xk1 = (xp.where(below2, w[rows, :, c], 0) for c in (kc, k1))
            d21 = w[rows, k1, kc]
            if herm:
                dd = xp.abs(d21)
                d11, d22 = w[rows, k1, k1].real / dd, w[rows, kc, kc].real / dd
                tt = 1 / (d11 * d22 - 1)
                e21 = d21 / dd
                s = tt / dd
                wk = s[:, None] * (d11[:, None] * xk - e21[:, None] * xk1)
                wk1 = s[:, None] * (d22[:, None] * xk1 - xp.conj(e21)[:, None] * xk)
            else:
                d11, d22 = w[rows, k1, k1] / d21, w[rows, kc, kc] / d21
                s = (1 / (d11 * d22 - 1)) / d21
                wk = s[:, None] * (d11[:, None] * xk - xk1)
                wk1 = s[:, None] * (d22[:, None] * xk1 - xk)
        # the rank-1 or rank-2 update of the trailing block as one batched product X W
        X = xp.stack([xp.where(one[:, None], x, xp.where(two[:, None], xk, 0)),
                      xp.where(two[:, None], xk1, 0)], -1)
        W = xp.stack([xp.where(one[:, None], t, xp.where(two[:, None], conj(wk), 0)),
                      xp.where(two[:, None], conj(wk1), 0)], -2)
        w -= X @ W
        w[rows, :, kc] = xp.where(one[:, None], xp.where(below, x * r1[:, None], w[rows, :, kc]), w[rows, :, kc])
        for c, val in ((kc, wk), (k1, wk1)):
            w[rows, :, c] = xp.where(two[:, None] & below2, val, w[rows, :, c])
        for c in (kc, k1):   # the new columns of L also fill their rows (full storage)
            w[rows, c, :] = xp.where(below, xp.conj(w[rows, :, c]) if herm else w[rows, :, c], w[rows, c, :])
        if herm:
            w[:, ar, ar] = w[:, ar, ar].real
        piv[rows, kc] = xp.where(act, xp.where(two, -(kp + 1), kp + 1), piv[rows, kc])
        piv[rows, k1] = xp.where(two, -(kp + 1), piv[rows, k1])
        info = xp.where(act & zero & (info == 0), kc + 1, info)
        k = xp.where(act, k + 1 + two, k)
    batch = a.shape[:-2]
    return xp.tril(w).reshape(a.shape), piv.reshape(batch + (n,)), info.reshape(batch)


def _no_derivative(out: Tensor, op: str, inputs: tuple) -> None:
    """torch records these ops under a ``NotImplemented`` node whose backward raises."""
    if needs_grad(*inputs):
        node = I.NotImplemented_()
        node.op = op
        record(out, node, inputs)


def _ldl_checks(A: Tensor, fn: str) -> None:
    LA._arg(fn, "input", 1, A)
    where = "torch.linalg.ldl_factor_ex"
    LA._square(A, where)
    dt = A._dtype
    if dt.category < 2:
        raise RuntimeError(f"{where}: Expected a floating point or complex tensor as input. Got {dt._short}")
    if dt.kind == "float8":   # torch's copy of the lower triangle comes first
        raise NotImplementedError(f"\"tril\" not implemented for '{dt._short}'")
    LA._kernel(A, "ldl_factor_kernel_cpu", skip_empty=True)


def _ldl_factor_ex(A: Tensor, hermitian: bool, errors: str | None) -> tuple[Tensor, Tensor, Tensor]:
    xp = LA._xp(A)
    ld, piv, info = _sytf2(xp, A._data, hermitian and A._dtype.is_complex)
    if errors:
        # torch reports a singular D through an internal assertion; ember keeps its wording's informative part
        LA._raise_info(errors, info, False, lambda k: f"Unknown error code: {k}.", RuntimeError)
    LD = from_array(xp.ascontiguousarray(ld), A._dtype, A._device)
    _no_derivative(LD, "linalg_ldl_factor_ex", (A,))
    return LD, from_array(piv, D.int32, A._device), from_array(info, D.int32, A._device)


def ldl_factor_ex(input: Tensor, *, hermitian: bool = False, check_errors: bool = False, out: Any = None) -> Any:
    """``(LD, pivots, info)``: the Bunch-Kaufman factorisation ``A = L D L^T`` (``L D L^H`` when
    ``hermitian``) of symmetric matrices (lower triangle read), as LAPACK's sytrf; info > 0 marks a singular
    ``D`` instead of raising (unless ``check_errors``)."""
    _ldl_checks(input, "linalg_ldl_factor_ex")
    res = _LdlFactorEx(*_ldl_factor_ex(input, hermitian, "torch.linalg.ldl_factor_ex" if check_errors else None))
    return finish(res, out, out_dtype_error)


def ldl_factor(input: Tensor, *, hermitian: bool = False, out: Any = None) -> Any:
    """``(LD, pivots)``: :func:`ldl_factor_ex` raising for a singular ``D``."""
    _ldl_checks(input, "linalg_ldl_factor")
    res = _LdlFactor(*_ldl_factor_ex(input, hermitian, "torch.linalg.ldl_factor")[:2])
    return finish(res, out, out_dtype_error)


def _ldl_unpack(xp: Any, ld: Any, piv: Any, herm: bool) -> tuple[Any, Any, Any]:
    """From LAPACK's packed form (``L = P_1 L_1 P_2 L_2 ...``) to ``A[perm][:, perm] = L D L^T``: each
    interchange is also applied to the rows of the columns already produced, as getrf does."""
    n = ld.shape[-1]
    nb = ld.shape[0]
    rows = xp.arange(nb)
    low = xp.broadcast_to(xp.eye(n, dtype=ld.dtype), ld.shape).copy()
    dm = xp.zeros_like(ld)
    perm = xp.broadcast_to(xp.arange(n), (nb, n)).copy()
    second = xp.zeros(nb, dtype=bool)
    conj = xp.conj if herm else (lambda z: z)
    for j in range(n):
        p = piv[:, j].astype(np.int64)
        start2 = (p < 0) & ~second
        s = xp.where(start2, min(j + 1, n - 1), j)
        t = xp.where(p > 0, p - 1, -p - 1)
        act = ~second
        t = xp.where(act, t, s)
        perm[rows, s], perm[rows, t] = perm[rows, t], perm[rows, s].copy()
        old_s, old_t = low[rows, s].copy(), low[rows, t].copy()
        earlier = xp.arange(n)[None, :] < j   # only the columns already produced
        low[rows, s] = xp.where(earlier, old_t, old_s)
        low[rows, t] = xp.where(earlier, old_s, old_t)
        first = xp.arange(n)[None, :] > j + start2[:, None]
        low[:, :, j] = xp.where(act[:, None] & first, ld[:, :, j], low[:, :, j])
        if j + 1 < n:
            low[:, :, j + 1] = xp.where(start2[:, None] & first, ld[:, :, j + 1], low[:, :, j + 1])
            dm[:, j + 1, j] = xp.where(start2, ld[:, j + 1, j], 0)
            dm[:, j, j + 1] = conj(dm[:, j + 1, j])
        dm[:, j, j] = ld[:, j, j].real if herm else ld[:, j, j]
        second = start2
    return low, dm, perm


def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False, out: Tensor | None = None
              ) -> Tensor:
    """Solve ``A X = B`` from :func:`ldl_factor`'s ``(LD, pivots)``, batch dimensions broadcast."""
    fn = "torch.linalg.ldl_solve"
    for i, (name, t) in enumerate((("LD", LD), ("pivots", pivots), ("B", B))):
        LA._arg("linalg_ldl_solve", name, i + 1, t)
    LA._square(LD, fn)
    if B.dim() < 2:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got -2)")
    n = LD.shape[-1]
    if B.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for {fn}: each A matrix is {n} by {n} but each b matrix is "
                           f"{B.shape[-2]} by {B.shape[-1]}")
    if tuple(pivots.shape) != tuple(LD.shape[:-1]):
        raise RuntimeError(f"{fn}: Expected LD.shape[:-1] and pivots.shape to be the same, but got pivots with "
                           f"shape {list(pivots.shape)} instead")
    if pivots._dtype.category != 1:
        raise RuntimeError(f"{fn}: Expected pivots to be integers. Got {pivots._dtype._short}")
    LA._inexact(LD, fn)
    LA._same_b_A(B, LD)
    LA._kernel(LD, "ldl_solve_kernel_cpu")
    xp = LA._xp(LD)
    herm = hermitian and LD._dtype.is_complex
    batch = tuple(broadcast_shapes(B.shape[:-2], LD.shape[:-2]))
    nb = math.prod(batch)
    ld = xp.broadcast_to(LD._data, batch + (n, n)).reshape((nb, n, n))
    piv = xp.broadcast_to(pivots._data, batch + (n,)).reshape((nb, n))
    b = xp.broadcast_to(B._data, batch + B.shape[-2:]).reshape((nb,) + B.shape[-2:])
    low, dm, perm = _ldl_unpack(xp, ld, piv, herm)
    rows = xp.arange(low.shape[0])[:, None]
    with np.errstate(all="ignore"):
        y = LA._substitute(xp, low, b[rows, perm], False, True)
        y = xp.linalg.solve(dm, y) if n else y
        lt = xp.swapaxes(xp.conj(low) if herm else low, -1, -2)
        y = LA._substitute(xp, lt, y, True, True)
    x = xp.empty_like(y)
    x[rows, perm] = y
    res = from_array(x.reshape(batch + B.shape[-2:]), LD._dtype, LD._device)
    _no_derivative(res, "linalg_ldl_solve", (LD, B))
    return res if out is None else write_out(out, res, None, out_dtype_error)


__all__ = ["eig", "eigvals", "cond", "vander", "ldl_factor", "ldl_factor_ex", "ldl_solve"]
