"""``torch.lobpcg``: a few extreme eigenpairs of a symmetric positive definite (generalized) eigenproblem,
matrix-free, by Knyazev's LOBPCG ("basic") or its variant with an orthogonal search basis ("ortho",
Stathopoulos & Wu; Duersch et al. 2018), step for step as torch's implementation (same random start under the
same seed, same Rayleigh-Ritz, SVQB and convergence rules), written with ember ops.
"""

from __future__ import annotations

from typing import Any

from . import linalg as _linalg
from ._core import dtype as D
from ._tensor import Tensor
from .autograd import Function
from .ops import creation, indexing
from .ops import random as _random
from .ops.lapack import cholesky_solve

__all__ = ["lobpcg"]


def _mm(A: Tensor | None, X: Tensor) -> Tensor:
    """A @ X, where a missing A stands for the identity."""
    return X if A is None else A @ X


def _qform(A: Tensor | None, S: Tensor) -> Tensor:
    return S.mT @ _mm(A, S)


def _symeig(A: Tensor, largest: bool | None = False) -> tuple[Tensor, Tensor]:
    """Eigenpairs in ascending order, or descending when ``largest``."""
    E, Z = _linalg.eigh(A, UPLO="U")
    return (E.flip(-1), Z.flip(-1)) if largest else (E, Z)


def _fnorm(X: Tensor) -> Tensor:
    return X.norm()


def _symeig_backward_full(D_grad: Tensor, U_grad: Tensor, D: Tensor, U: Tensor) -> Tensor:
    """dL/dA = U (diag(D_grad) + (U^T U_grad) * F) U^T with F_ij = 1 / (d_j - d_i), F_ii = 0: the gradient's part
    in span(U) (all of it when U is a complete eigenbasis)."""
    diff = D.unsqueeze(-2) - D.unsqueeze(-1)
    off = 1 - creation.eye(D.shape[-1], dtype=D.dtype, device=D.device)
    F = off / (diff + (1 - off))
    return U @ ((D_grad.diag_embed() + (U.mT @ U_grad) * F) @ U.mT)


def _symeig_backward(D_grad: Tensor, U_grad: Tensor, A: Tensor, D: Tensor, U: Tensor, largest: bool) -> Tensor:
    """Gradient of k eigenpairs (D, U) of symmetric A. With k < m, the part outside span(U) solves the Sylvester
    equation Uo^T A Uo dX - dX D = -Uo^T A U in the complement basis Uo by the characteristic-polynomial
    formula (Hu & Cheng 2006): p(A) restricted to Uo is inverted (Cholesky; its sign is (-1)^k for the largest
    eigenvalues), p being the characteristic polynomial of D. Uo comes from torch's fixed-seed generator."""
    m, k = U.shape[-2], U.shape[-1]
    res = _symeig_backward_full(D_grad, U_grad, D, U)
    if k == m:
        return res
    eye = creation.eye(m, dtype=A.dtype, device=A.device)
    g = _random.Generator(A.device)
    Uo = (eye - U @ U.mT) @ _random.randn((*A.shape[:-1], m - k), dtype=A.dtype, device=A.device, generator=g)
    # coefficients c_0..c_k (c_k = 1) of prod_i (x - d_i), one root at a time
    coeffs = [creation.ones_like(D[..., 0])]
    for i in range(k):
        d = D[..., i]
        coeffs = ([-d * coeffs[0]] + [coeffs[j - 1] - d * coeffs[j] for j in range(1, len(coeffs))]
                  + [coeffs[-1]])
    series = creation.zeros_like(U_grad)
    AkG = U_grad
    for j in range(1, k + 1):
        q = coeffs[k].unsqueeze(-1) * creation.ones_like(D)   # sum_{i>=j} c_i D^(i-j), by Horner
        for i in range(k - 1, j - 1, -1):
            q = q * D + coeffs[i].unsqueeze(-1)
        series = series + AkG * q.unsqueeze(-2)
        AkG = A @ AkG
    pA = coeffs[k].unsqueeze(-1).unsqueeze(-1) * eye   # p(A) by Horner
    for i in range(k - 1, -1, -1):
        pA = A @ pA + coeffs[i].unsqueeze(-1).unsqueeze(-1) * eye
    sign = -1 if (largest and k % 2 == 1) else 1
    L = _linalg.cholesky(sign * (Uo.mT @ pA @ Uo))
    return res - Uo @ (sign * cholesky_solve(Uo.mT @ series, L)) @ U.mT


class LOBPCGAutogradFunction(Function):
    """lobpcg with a gradient for A (B = I): symmetric eigenpair backward of the k computed pairs."""

    @staticmethod
    def forward(ctx: Any, A: Tensor, largest: bool | None, run: Any) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        D, U = run(A.contiguous())
        ctx.save_for_backward(A, D, U)
        ctx.largest = True if largest is None else largest
        return D, U

    @staticmethod
    def backward(ctx: Any, D_grad: Tensor, U_grad: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        A, D, U = ctx.saved_tensors
        if D_grad is None:
            D_grad = creation.zeros_like(D)
        if U_grad is None:
            U_grad = creation.zeros_like(U)
        return _symeig_backward(D_grad, U_grad, A, D, U, ctx.largest), None, None


class _Worker:
    """State of one LOBPCG run: the iterate X with Ritz values E, residual R and search basis S (X, P, W)."""

    def __init__(self, A: Tensor, B: Tensor | None, X: Tensor, iK: Tensor | None, iparams: dict[str, int],
                 fparams: dict[str, float], bparams: dict[str, bool], method: str, tracker: Any) -> None:
        self.A, self.B, self.iK, self.X = A, B, iK, X
        self.iparams, self.fparams, self.bparams = iparams, fparams, bparams
        self.method, self.tracker = method, tracker
        m, n = iparams["m"], iparams["n"]
        self.E = creation.zeros((n,), dtype=X.dtype, device=X.device)
        self.R = creation.zeros((m, n), dtype=X.dtype, device=X.device)
        self.S = creation.zeros((m, 3 * n), dtype=X.dtype, device=X.device)
        self.tvars: dict[str, Tensor] = {}
        self.ivars: dict[str, int] = {"istep": 0}
        self.fvars: dict[str, float] = {"_": 0.0}
        self.bvars: dict[str, bool] = {"_": False}

    def run(self) -> None:
        self.update()
        if self.tracker is not None:
            self.tracker(self)
        while not self.stop_iteration():
            self.update()
            if self.tracker is not None:
                self.tracker(self)

    def update(self) -> None:
        if self.ivars["istep"] == 0:
            x_norm = float(_fnorm(self.X))
            self.fvars["X_norm"] = x_norm
            self.fvars["A_norm"] = float(_fnorm(_mm(self.A, self.X))) / x_norm
            self.fvars["B_norm"] = float(_fnorm(_mm(self.B, self.X))) / x_norm
            self.ivars["iterations_left"] = self.iparams["niter"]
            self.ivars["converged_count"] = 0
            self.ivars["converged_end"] = 0
        self._update_ortho() if self.method == "ortho" else self._update_basic()
        self.ivars["iterations_left"] -= 1
        self.ivars["istep"] += 1

    def update_residual(self) -> None:
        self.R = _mm(self.A, self.X) - _mm(self.B, self.X) * self.E

    def update_converged_count(self) -> int:
        """Leading eigenpairs whose backward-stable relative residual is below tol (Duersch et al., Sec 4.3)."""
        prev = self.ivars["converged_count"]
        E, X, R = self.E, self.X, self.R
        rerr = R.norm(2, (0,)) / (X.norm(2, (0,)) * (self.fvars["A_norm"] + E[: X.shape[-1]].abs()
                                                       * self.fvars["B_norm"]))
        count = 0
        for ok in (rerr < self.fparams["tol"]).tolist():
            if not ok:
                break
            count += 1
        if count < prev:
            raise AssertionError(f"the number of converged eigenpairs (was {prev}, got {count}) cannot decrease")
        self.ivars["converged_count"] = count
        self.tvars["rerr"] = rerr
        return count

    def stop_iteration(self) -> bool:
        return (self.bvars.get("force_stop", False) or self.ivars["iterations_left"] == 0
                or self.ivars["converged_count"] >= self.iparams["k"])

    def _set_xp(self, n: int, P: Tensor | None) -> int:
        """S[:, :n + np] = [X, P]; returns n + np, where W goes."""
        self.S[:, :n] = self.X
        if P is None:
            return n
        self.S[:, n: n + P.shape[-1]] = P
        return n + P.shape[-1]

    def _set_w(self, start: int, W: Tensor) -> None:
        """S[:, start:] = W; ``converged_end`` marks the basis' end."""
        ns = self.ivars["converged_end"] = start + W.shape[-1]
        self.S[:, start:ns] = W

    def _update_basic(self) -> None:
        ns, nc, n = self.ivars["converged_end"], self.ivars["converged_count"], self.iparams["n"]
        largest = self.bparams["largest"]
        if self.ivars["istep"] == 0:
            Ri = self._rayleigh_ritz_transform(self.X)
            E, Z = _symeig(_qform(_qform(self.A, self.X), Ri), largest)
            self.X[:] = self.X @ (Ri @ Z)
            self.E[:] = E
            self.update_residual()
            self.update_converged_count()
            self._set_w(self._set_xp(n, None), _mm(self.iK, self.R))
        else:
            S_ = self.S[:, nc:ns]
            Ri = self._rayleigh_ritz_transform(S_)
            E_, Z = _symeig(_qform(_qform(self.A, S_), Ri), largest)
            self.X[:, nc:] = S_ @ (Ri @ Z[:, : n - nc])
            self.E[nc:] = E_[: n - nc]
            P = S_ @ (Ri @ Z[:, n: 2 * n - nc])
            self.update_residual()
            nc = self.update_converged_count()
            self._set_w(self._set_xp(n, P), _mm(self.iK, self.R[:, nc:]))

    def _update_ortho(self) -> None:
        ns, nc, n = self.ivars["converged_end"], self.ivars["converged_count"], self.iparams["n"]
        largest = self.bparams["largest"]
        if self.ivars["istep"] == 0:
            Ri = self._rayleigh_ritz_transform(self.X)
            _, Z = _symeig(_qform(_qform(self.A, self.X), Ri), largest)
            self.X = self.X @ (Ri @ Z)
            self.update_residual()
            self.update_converged_count()
            self._set_w(self._set_xp(n, None), self._get_ortho(self.R, self.X))
        else:
            S_ = self.S[:, nc:ns]
            E_, Z = _symeig(_qform(self.A, S_), largest)
            self.X[:, nc:] = S_ @ Z[:, : n - nc]
            self.E[nc:] = E_[: n - nc]
            P = S_ @ (Z[:, n - nc:] @ _linalg.qr(Z[: n - nc, n - nc:].mT).Q)
            self.update_residual()
            nc = self.update_converged_count()
            end = self._set_xp(n, P)
            self._set_w(end, self._get_ortho(self.R[:, nc:], self.S[:, :end]))

    def _rayleigh_ritz_transform(self, S: Tensor) -> Tensor:
        """Upper-triangular Ri with Ri^T S^T B S Ri = I (Cholesky of the diagonally scaled Gram matrix), which
        turns (S^T A S) C = (S^T B S) C E into a standard symmetric eigenproblem."""
        SBS = _qform(self.B, S)
        d_row = SBS.diagonal(0, -2, -1) ** -0.5
        d_col = d_row.reshape(d_row.shape[0], 1)
        R = _linalg.cholesky((SBS * d_row) * d_col, upper=True)
        return _linalg.solve_triangular(R, d_row.diag_embed(), upper=True, left=False)

    def _get_svqb(self, U: Tensor, drop: bool, tau: float) -> Tensor:
        """B-orthonormal columns spanning U (SVQB, Duersch's Algorithm 4); with ``drop``, columns contributing
        less than tau are dropped instead of being lifted to it."""
        if U.numel() == 0:
            return U
        UBU = _qform(self.B, U)
        d = UBU.diagonal(0, -2, -1)
        nz = indexing.nonzero(d.abs() != 0.0, as_tuple=True)[0]
        if len(nz) < len(d):
            U = U[:, nz]
            if U.numel() == 0:
                return U
            UBU = _qform(self.B, U)
            d = UBU.diagonal(0, -2, -1)
        d_col = (d**-0.5).reshape(d.shape[0], 1)
        E, Z = _symeig((UBU * d_col) * d_col.mT)
        t = tau * float(E.abs().max())
        if drop:
            keep = indexing.nonzero(E > t, as_tuple=True)[0]
            E, Z, d_col = E[keep], Z[:, keep], d_col[keep]
        else:
            E[indexing.nonzero(E < t, as_tuple=True)[0]] = t
        return (U * d_col.mT) @ (Z * E**-0.5)

    def _get_ortho(self, U: Tensor, V: Tensor) -> Tensor:
        """B-orthonormal columns spanning U and B-orthogonal to V (Duersch's Algorithm 3, or 6 with drop)."""
        m = self.iparams["m"]
        tau_ortho, tau_drop, tau_replace = (self.fparams[k] for k in ("ortho_tol", "ortho_tol_drop",
                                                                      "ortho_tol_replace"))
        use_drop = self.bparams["ortho_use_drop"]
        for key in [k for k in self.fvars if k.startswith("ortho_") and k.endswith("_rerr")]:
            self.fvars.pop(key)
        self.ivars.pop("ortho_i", 0)
        self.ivars.pop("ortho_j", 0)
        BV_norm = _fnorm(_mm(self.B, V))
        BU = _mm(self.B, U)
        VBU = V.mT @ BU
        i = j = 0
        for i in range(self.iparams["ortho_i_max"]):
            U = U - V @ VBU
            drop, tau_svqb = False, tau_drop
            for j in range(self.iparams["ortho_j_max"]):
                if use_drop:
                    U = self._get_svqb(U, drop, tau_svqb)
                    drop, tau_svqb = True, tau_replace
                else:
                    U = self._get_svqb(U, False, tau_replace)
                if U.numel() == 0:
                    self.ivars["ortho_i"], self.ivars["ortho_j"] = i, j
                    return U
                BU = _mm(self.B, U)
                UBU = U.mT @ BU
                R = UBU - creation.eye(UBU.shape[-1], device=UBU.device, dtype=UBU.dtype)
                rerr = float(_fnorm(R)) * float(_fnorm(BU) * _fnorm(U)) ** -1
                self.fvars[f"ortho_UBUmI_rerr[{i}, {j}]"] = rerr
                if rerr < tau_ortho:
                    break
            VBU = V.mT @ BU
            rerr = float(_fnorm(VBU)) * float(BV_norm * _fnorm(U)) ** -1
            self.fvars[f"ortho_VBU_rerr[{i}]"] = rerr
            if rerr < tau_ortho:
                break
            if m < U.shape[-1] + V.shape[-1]:
                B = self.B
                if B is None:
                    raise AssertionError("B must not be None")
                raise ValueError(f"Overdetermined shape of U: #B-cols(={B.shape[-1]}) >= #U-cols(={U.shape[-1]}) "
                                 f"+ #V-cols(={V.shape[-1]}) must hold")
        self.ivars["ortho_i"], self.ivars["ortho_j"] = i, j
        return U


def lobpcg(A: Tensor, k: int | None = None, B: Tensor | None = None, X: Tensor | None = None, n: int | None = None,
           iK: Tensor | None = None, niter: int | None = None, tol: float | None = None,
           largest: bool | None = None, method: str | None = None, tracker: Any = None,
           ortho_iparams: dict[str, int] | None = None, ortho_fparams: dict[str, float] | None = None,
           ortho_bparams: dict[str, bool] | None = None) -> tuple[Tensor, Tensor]:
    """The k largest (or smallest) eigenvalues and eigenvectors of A x = λ B x (A symmetric, B SPD, both
    ``(*, m, m)``; B defaults to the identity), from the start X (``(*, m, n)``, random normal by default) and the
    optional preconditioner iK. ``method`` is "ortho" (default, robust) or "basic"; tracker(worker) is called
    after every iteration. Returns ``(E, X)`` of shapes ``(*, k)`` and ``(*, m, k)``."""
    if A.requires_grad or (B is not None and B.requires_grad):
        if B is not None:   # torch checks this in backward; here the forward already knows
            raise ValueError("lobpcg.backward does not support backward with B != I yet.")
        return LOBPCGAutogradFunction.apply((A + A.mT) / 2, largest, lambda A_: _lobpcg(
            A_, k, B, X, n, iK, niter, tol, largest, method, tracker, ortho_iparams, ortho_fparams, ortho_bparams))
    return _lobpcg(A, k, B, X, n, iK, niter, tol, largest, method, tracker, ortho_iparams, ortho_fparams,
                   ortho_bparams)


def _lobpcg(A: Tensor, k: int | None, B: Tensor | None, X: Tensor | None, n: int | None, iK: Tensor | None,
            niter: int | None, tol: float | None, largest: bool | None, method: str | None, tracker: Any,
            ortho_iparams: dict[str, int] | None, ortho_fparams: dict[str, float] | None,
            ortho_bparams: dict[str, bool] | None) -> tuple[Tensor, Tensor]:
    if A.shape[-2] != A.shape[-1]:
        raise AssertionError(f"A must be square, got shape {A.shape}")
    if B is not None and A.shape != B.shape:
        raise AssertionError(f"A and B must have same shape, got {A.shape} vs {B.shape}")
    dtype = A.dtype if A.dtype in (D.float16, D.float32, D.float64) else D.float32
    device = A.device
    if tol is None:
        tol = {D.float32: 1.2e-07, D.float64: 2.23e-16}[dtype] ** 0.5
    m = A.shape[-1]
    k = (1 if X is None else X.shape[-1]) if k is None else k
    n = (k if n is None else n) if X is None else X.shape[-1]
    if m < 3 * n:
        raise ValueError(f"LOBPCG algorithm is not applicable when the number of A rows (={m}) is smaller than "
                         f"3 x the number of requested eigenpairs (={n})")
    method = "ortho" if method is None else method
    iparams = {"m": m, "n": n, "k": k, "niter": 1000 if niter is None else niter}
    fparams = {"tol": tol}
    bparams = {"largest": True if largest is None else largest}
    if method == "ortho":
        iparams.update(ortho_iparams or {})
        fparams.update(ortho_fparams or {})
        bparams.update(ortho_bparams or {})
        iparams.setdefault("ortho_i_max", 3)
        iparams.setdefault("ortho_j_max", 3)
        for key in ("ortho_tol", "ortho_tol_drop", "ortho_tol_replace"):
            fparams.setdefault(key, tol)
        bparams.setdefault("ortho_use_drop", False)

    def solve(A_: Tensor, B_: Tensor | None, X_: Tensor | None) -> _Worker:
        X_ = _random.randn((m, n), dtype=dtype, device=device) if X_ is None else X_
        if not (len(X_.shape) == 2 and X_.shape == (m, n)):
            raise AssertionError(f"X{'_' if len(A.shape) > 2 else ''} shape mismatch: got {X_.shape}, "
                                 f"expected {(m, n)}")
        worker = _Worker(A_, B_, X_, iK, iparams, fparams, bparams, method, tracker)
        worker.run()
        return worker

    if len(A.shape) <= 2:
        worker = solve(A, B, X)
        return worker.E[:k], worker.X[:, :k]
    N = 1
    for s in A.shape[:-2]:
        N *= s
    bA = A.reshape((N,) + tuple(A.shape[-2:]))
    bB = B.reshape((N,) + tuple(A.shape[-2:])) if B is not None else None
    bX = X.reshape((N,) + tuple(X.shape[-2:])) if X is not None else None
    bE = creation.empty((N, k), dtype=dtype, device=device)
    bXret = creation.empty((N, m, k), dtype=dtype, device=device)
    for i in range(N):
        iparams["batch_index"] = i
        worker = solve(bA[i], bB[i] if bB is not None else None, bX[i] if bX is not None else None)
        bE[i] = worker.E[:k]
        bXret[i] = worker.X[:, :k]
    return bE.reshape(tuple(A.shape[:-2]) + (k,)), bXret.reshape(tuple(A.shape[:-2]) + (m, k))
