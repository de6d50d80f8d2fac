"""torch.linalg's eig/eigvals, cond, vander, the LU family (lu, lu_factor, lu_factor_ex, lu_solve) and the LDL
family (ldl_factor, ldl_factor_ex, ldl_solve) against torch: values, dtypes, named tuples, grad_fn names,
gradients, errors; gradcheck in float64."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ember
from oracle import assert_close, assert_same_error, to_ember, to_torch, torch

RNG = np.random.default_rng(0)


def _pair(a: np.ndarray, rg: bool = False) -> tuple:
    return ember.tensor(a, requires_grad=rg), torch.tensor(a, requires_grad=rg)


def _names(res: tuple) -> list:
    return [type(t.grad_fn).__name__ if t.grad_fn is not None else None for t in res]


def _diagonalizable(n: int, batch: tuple = ()) -> np.ndarray:
    """A real matrix with distinct real eigenvalues 1..n (well-conditioned eigenvectors)."""
    q = RNG.standard_normal(batch + (n, n)) + 2 * np.eye(n)
    return q @ np.diag(np.arange(1.0, n + 1)) @ np.linalg.inv(q)


# ---- LU family -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 5), (2, 5, 3), (0, 2)])
def test_lu_factor_ex_matches_torch(shape: tuple) -> None:
    a = RNG.standard_normal(shape)
    e, t = _pair(a, True)
    re, rt = ember.linalg.lu_factor_ex(e), torch.linalg.lu_factor_ex(t)
    assert type(re).__name__ == "linalg_lu_factor_ex" and re._fields == ("LU", "pivots", "info")
    assert_close(list(re), list(rt))
    assert _names(re) == _names(rt) == ["LinalgLuFactorExBackward0", None, None]
    assert_close(list(ember.linalg.lu_factor(e)), list(torch.linalg.lu_factor(t)))
    if a.size:
        g = RNG.standard_normal(rt.LU.shape)
        rt.LU.backward(torch.tensor(g))
        re.LU.backward(ember.tensor(g))
        assert_close(e.grad, t.grad)
        assert ember.autograd.gradcheck(lambda x: ember.linalg.lu_factor(x).LU, (ember.tensor(a, requires_grad=True),))


@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 5), (5, 3)])
def test_linalg_lu_matches_torch(shape: tuple) -> None:
    a = RNG.standard_normal(shape)
    e, t = _pair(a, True)
    re, rt = ember.linalg.lu(e), torch.linalg.lu(t)
    assert re._fields == ("P", "L", "U") and type(re).__name__ == "linalg_lu"
    assert_close(list(re), list(rt))
    assert _names(re) == _names(rt) == [None, "LinalgLuBackward0", "LinalgLuBackward0"]
    gl, gu = RNG.standard_normal(rt.L.shape), RNG.standard_normal(rt.U.shape)
    ((rt.L * torch.tensor(gl)).sum() + (rt.U * torch.tensor(gu)).sum()).backward()
    ((re.L * ember.tensor(gl)).sum() + (re.U * ember.tensor(gu)).sum()).backward()
    assert_close(e.grad, t.grad)
    x = ember.tensor(a, requires_grad=True)
    assert ember.autograd.gradcheck(lambda y: ember.linalg.lu(y)[1:], (x,))
    assert ember.autograd.gradgradcheck(lambda y: ember.linalg.lu(y).U, (x,))


def test_lu_singular_pivots() -> None:
    z = np.array([[1.0, 2], [2, 4]])
    e, t = _pair(z)
    assert_close(list(ember.linalg.lu_factor_ex(e)), list(torch.linalg.lu_factor_ex(t)))
    assert_close(list(ember.linalg.lu(e)), list(torch.linalg.lu(t)))
    assert_same_error(lambda: ember.linalg.lu_factor(e), lambda: torch.linalg.lu_factor(t))
    assert_same_error(lambda: ember.linalg.lu_factor_ex(e, check_errors=True),
                      lambda: torch.linalg.lu_factor_ex(t, check_errors=True))
    b = np.stack([np.eye(2), z])
    assert_same_error(lambda: ember.linalg.lu_factor(ember.tensor(b)), lambda: torch.linalg.lu_factor(torch.tensor(b)))
    # torch raises a plain RuntimeError here, not LinAlgError
    assert not isinstance(_raised(lambda: ember.linalg.lu_factor(e)), ember.linalg.LinAlgError)
    assert not isinstance(_raised(lambda: torch.linalg.lu_factor(t)), torch.linalg.LinAlgError)


def _raised(fn: object) -> BaseException:
    with pytest.raises(Exception) as ex:
        fn()  # type: ignore[operator]
    return ex.value


@pytest.mark.parametrize("call", [
    lambda L, x: L.linalg.lu_factor(x(3)), lambda L, x: L.linalg.lu_factor_ex(x(3)), lambda L, x: L.linalg.lu(x(3)),
    lambda L, x: L.linalg.lu(x(3, 3).long()), lambda L, x: L.linalg.lu_factor(x(3, 3).half()),
    lambda L, x: L.linalg.lu_factor(x(3, 3), pivot=False), lambda L, x: L.linalg.lu(x(3, 3), pivot=False),
    lambda L, x: L.linalg.lu([[1.0]]), lambda L, x: L.linalg.lu_factor([[1.0]]),
    lambda L, x: L.linalg.lu_factor_ex([[1.0]]),
])
def test_lu_errors(call: object) -> None:
    def make(lib: object) -> object:
        return lambda *s: lib.ones(*s)  # type: ignore[attr-defined]
    assert_same_error(lambda: call(ember, make(ember)), lambda: call(torch, make(torch)))  # type: ignore[operator]


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_lu_solve_matches_torch(left: bool, adjoint: bool, dtype: type) -> None:
    a = RNG.standard_normal((2, 3, 3)).astype(dtype)
    b = RNG.standard_normal((4, 1, 3, 2) if left else (4, 1, 2, 3)).astype(dtype)
    if dtype is np.complex128:
        a = a + 1j * RNG.standard_normal(a.shape)
        b = b + 1j * RNG.standard_normal(b.shape)
    LUt, pt = torch.linalg.lu_factor(torch.tensor(a))
    LUt.requires_grad_()
    LUe, pe = to_ember(LUt, True), to_ember(pt)
    be, bt = _pair(b, True)
    xe = ember.linalg.lu_solve(LUe, pe, be, left=left, adjoint=adjoint)
    xt = torch.linalg.lu_solve(LUt, pt, bt, left=left, adjoint=adjoint)
    assert_close(xe, xt.resolve_conj())
    assert type(xe.grad_fn).__name__ == type(xt.grad_fn).__name__ == "LinalgLuSolveBackward0"
    g = RNG.standard_normal(xt.shape) + (1j * RNG.standard_normal(xt.shape) if dtype is np.complex128 else 0)
    xt.backward(torch.tensor(g))
    xe.backward(ember.tensor(g))
    assert_close(LUe.grad, LUt.grad.resolve_conj())
    assert_close(be.grad, bt.grad.resolve_conj())
    if dtype is np.float64:
        assert ember.autograd.gradcheck(
            lambda lu_, rhs: ember.linalg.lu_solve(lu_, pe[0], rhs, left=left, adjoint=adjoint),
            (LUe.detach()[0].requires_grad_(), be.detach()[0].requires_grad_()))


def test_legacy_lu_uses_the_same_kernels() -> None:
    a = RNG.standard_normal((2, 4, 3))
    e, t = _pair(a, True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        re, rt = ember.lu(e, get_infos=True), torch.lu(t, get_infos=True)
        assert_close(list(re), list(rt))
        assert type(re[0].grad_fn).__name__ == "LinalgLuFactorExBackward0"
        sq = RNG.standard_normal((3, 3))
        LU, piv = ember.lu(ember.tensor(sq))
        b = RNG.standard_normal((3, 2))
        assert_close(ember.lu_solve(ember.tensor(b), LU, piv),
                     torch.lu_solve(torch.tensor(b), *map(to_torch, (LU, piv))))


@pytest.mark.parametrize("args", [
    ((3, 3), (3, 3), (3,), {}), ((3, 3), (3, 3), (2, 2), {}), ((3, 3), (3, 3), (3, 2), {"left": False}),
    ((2, 3), (2,), (2, 2), {}), ((3, 3), (2,), (3, 2), {}), ((2, 3, 3), (3,), (3, 2), {}),
    ((3, 3), (2, 3), (3, 2), {}),
])
def test_lu_solve_errors(args: tuple) -> None:
    lu_s, piv_s, b_s, kw = args
    lu, b = RNG.standard_normal(lu_s), RNG.standard_normal(b_s)
    piv = np.ones(piv_s, dtype=np.int32)
    assert_same_error(lambda: ember.linalg.lu_solve(ember.tensor(lu), ember.tensor(piv), ember.tensor(b), **kw),
                      lambda: torch.linalg.lu_solve(torch.tensor(lu), torch.tensor(piv), torch.tensor(b), **kw))


def test_lu_solve_dtype_errors() -> None:
    lu, piv = np.eye(3), np.arange(1, 4, dtype=np.int32)
    for p, b in ((piv.astype(np.int64), np.ones((3, 2))), (piv, np.ones((3, 2), np.float32))):
        assert_same_error(lambda p=p, b=b: ember.linalg.lu_solve(ember.tensor(lu), ember.tensor(p), ember.tensor(b)),
                          lambda p=p, b=b: torch.linalg.lu_solve(torch.tensor(lu), torch.tensor(p), torch.tensor(b)))


# ---- eig / eigvals ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32])
def test_eig_matches_torch(dtype: type) -> None:
    a = RNG.standard_normal((2, 4, 4)).astype(dtype)
    if dtype is np.complex128:
        a = a + 1j * RNG.standard_normal(a.shape)
    e, t = _pair(a)
    re, rt = ember.linalg.eig(e), torch.linalg.eig(t)
    assert type(re).__name__ == "linalg_eig" and re._fields == ("eigenvalues", "eigenvectors")
    assert_close(ember.linalg.eigvals(e), torch.linalg.eigvals(t), rtol=1e-4, atol=1e-4)
    assert_close(re.eigenvalues, rt.eigenvalues, rtol=1e-4, atol=1e-4)
    # geev fixes each eigenvector's norm but not its sign/phase, and LAPACK builds differ there (NumPy's vs
    # torch's MKL): compare up to one unit factor per column
    ve, vt = re.eigenvectors.numpy(), rt.eigenvectors.numpy()
    assert ve.dtype == vt.dtype
    phase = (vt.conj() * ve).sum(-2, keepdims=True)
    tol = 1e-4 if dtype is np.float32 else 1e-10
    np.testing.assert_allclose(np.abs(phase), 1, atol=tol)
    np.testing.assert_allclose(ve, vt * phase, atol=tol)


def test_eig_real_with_complex_eigenvalues() -> None:
    a = np.array([[0.0, 1], [-1, 0]])
    assert_close(list(ember.linalg.eig(ember.tensor(a))), list(torch.linalg.eig(torch.tensor(a))))
    assert_close(list(ember.linalg.eig(ember.zeros(0, 0))), list(torch.linalg.eig(torch.zeros(0, 0))))


def _eig_loss(lib: object, A: object) -> object:
    """Gauge invariant: eigenvalues and |V|, as torch's own tests use."""
    L, V = lib.linalg.eig(A)  # type: ignore[attr-defined]
    w = lib.tensor(np.arange(1.0, 1.0 + np.prod(V.shape)).reshape(V.shape))  # type: ignore[attr-defined]
    return (L * L).real.sum() + (V.abs() * w).sum() + lib.linalg.eigvals(A).imag.sum()  # type: ignore[attr-defined]


@pytest.mark.parametrize("complex_input", [False, True])
def test_eig_grads(complex_input: bool) -> None:
    a = _diagonalizable(4, (2,))
    if complex_input:
        a = a + 0.1j * RNG.standard_normal(a.shape)
    e, t = _pair(a, True)
    L, V = ember.linalg.eig(e)
    assert _names((L, V)) == _names(torch.linalg.eig(t)) == ["LinalgEigBackward0"] * 2
    assert type(ember.linalg.eigvals(e).grad_fn).__name__ == type(torch.linalg.eigvals(t).grad_fn).__name__
    _eig_loss(ember, e).backward()
    _eig_loss(torch, t).backward()
    assert_close(e.grad, t.grad)
    assert ember.autograd.gradcheck(lambda x: _eig_loss(ember, x), (ember.tensor(a[0], requires_grad=True),))
    if not complex_input:
        assert ember.autograd.gradcheck(lambda x: (ember.linalg.eigvals(x).real, ember.linalg.eigvals(x).imag),
                                        (ember.tensor(a[0], requires_grad=True),))


def test_eig_gauge_error() -> None:
    a = _diagonalizable(3) + 0.1j * RNG.standard_normal((3, 3))
    e, t = _pair(a, True)
    assert_same_error(lambda: ember.linalg.eig(e)[1].sum().abs().backward(),
                      lambda: torch.linalg.eig(t)[1].sum().abs().backward())


@pytest.mark.parametrize("fn", ["eig", "eigvals"])
@pytest.mark.parametrize("make", [
    lambda L: L.ones(2, 3), lambda L: L.ones(3), lambda L: L.ones(2, 2, dtype=L.int64),
    lambda L: L.ones(2, 2, dtype=L.float16), lambda L: L.ones(2, 2, dtype=L.bool), lambda L: [[1.0]],
])
def test_eig_errors(fn: str, make: object) -> None:
    assert_same_error(lambda: getattr(ember.linalg, fn)(make(ember)),  # type: ignore[operator]
                      lambda: getattr(torch.linalg, fn)(make(torch)))  # type: ignore[operator]


def test_eig_nonfinite() -> None:
    a = np.array([[1.0, math.nan], [0, 1]])
    assert_same_error(lambda: ember.linalg.eig(ember.tensor(a)), lambda: torch.linalg.eig(torch.tensor(a)))


# ---- cond ------------------------------------------------------------------------------------------------
ORDS = [None, 2, -2, "fro", "nuc", 1, -1, math.inf, -math.inf]


@pytest.mark.parametrize("p", ORDS)
def test_cond_matches_torch(p: object) -> None:
    a = RNG.standard_normal((2, 3, 3))
    e, t = _pair(a, True)
    re, rt = ember.linalg.cond(e, p), torch.linalg.cond(t, p)
    assert_close(re, rt, rtol=1e-6)
    assert type(re.grad_fn).__name__ == type(rt.grad_fn).__name__
    singular = np.array([[1.0, 2], [2, 4]])   # its smallest singular value is rounding noise (LAPACK-dependent)
    if p in (None, 2, "nuc"):
        assert ember.linalg.cond(ember.tensor(singular), p).item() > 1e15 < torch.linalg.cond(torch.tensor(singular), p)
    else:
        assert_close(ember.linalg.cond(ember.tensor(singular), p), torch.linalg.cond(torch.tensor(singular), p),
                     rtol=1e-6)
    assert_close(ember.linalg.cond(ember.zeros(2, 2, dtype=ember.float64), p),
                 torch.linalg.cond(torch.zeros(2, 2, dtype=torch.float64), p), rtol=1e-6)
    if p in (None, 2, -2, "nuc"):
        rt.sum().backward()
    else:   # torch's own backward fails (it masks the inverse in place); differentiate its formula instead
        (torch.linalg.matrix_norm(t, p) * torch.linalg.matrix_norm(torch.linalg.inv(t), p)).sum().backward()
    re.sum().backward()
    assert_close(e.grad, t.grad, rtol=1e-6)
    assert ember.autograd.gradcheck(lambda x: ember.linalg.cond(x, p), (ember.tensor(a[0], requires_grad=True),))


def test_cond_shapes() -> None:
    r = RNG.standard_normal((2, 3, 5))
    assert_close(ember.linalg.cond(ember.tensor(r)), torch.linalg.cond(torch.tensor(r)))
    assert_close(ember.linalg.cond(ember.tensor(r), -2), torch.linalg.cond(torch.tensor(r), -2))
    for shape, p in (((0, 0), None), ((2, 0, 0), "fro"), ((0, 3), None)):
        assert_close(ember.linalg.cond(ember.zeros(*shape), p), torch.linalg.cond(torch.zeros(*shape), p))
    c = (RNG.standard_normal((3, 3)) + 1j * RNG.standard_normal((3, 3))).astype(np.complex64)
    assert_close(ember.linalg.cond(ember.tensor(c)), torch.linalg.cond(torch.tensor(c)), rtol=1e-5)


@pytest.mark.parametrize("args", [((3, 3), 3), ((3, 3), "foo"), ((2, 3), "fro"), ((2, 3), "nuc"), ((3,), None),
                                  ((2, 3), 1)])
def test_cond_errors(args: tuple) -> None:
    shape, p = args
    assert_same_error(lambda: ember.linalg.cond(ember.ones(*shape), p),
                      lambda: torch.linalg.cond(torch.ones(*shape), p))
    assert_same_error(lambda: ember.linalg.cond(ember.ones(2, 2, dtype=ember.int64), "fro"),
                      lambda: torch.linalg.cond(torch.ones(2, 2, dtype=torch.int64), "fro"))


# ---- vander ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", [((3,), None, np.float64), ((2, 3), 5, np.float64), ((2, 2), 4, np.int8),
                                  ((), 3, np.float32), ((4,), 2, np.complex128), ((3,), 3, np.uint8)])
def test_vander_matches_torch(case: tuple) -> None:
    shape, n, dt = case
    x = (RNG.integers(1, 4, shape) if np.dtype(dt).kind in "iu" else RNG.standard_normal(shape)).astype(dt)
    grad = np.dtype(dt).kind in "fc"
    e, t = _pair(x, grad)
    re, rt = ember.linalg.vander(e, N=n), torch.linalg.vander(t, N=n)
    assert_close(re, rt)
    if grad:
        assert type(re.grad_fn).__name__ == type(rt.grad_fn).__name__ == "CatBackward0"
    if dt is np.float64:
        assert ember.autograd.gradcheck(lambda y: ember.linalg.vander(y, N=n), (ember.tensor(x, requires_grad=True),))


@pytest.mark.parametrize("args", [([1.0, 2], 0), ([1.0, 2], 1), ([1.0], None), ([True, False], None), ([], None)])
def test_vander_errors(args: tuple) -> None:
    x, n = args
    assert_same_error(lambda: ember.linalg.vander(ember.tensor(x), N=n),
                      lambda: torch.linalg.vander(torch.tensor(x), N=n))


# ---- LDL -------------------------------------------------------------------------------------------------
def _ldl_input(shape: tuple, dtype: type) -> np.ndarray:
    a = RNG.standard_normal(shape)
    if dtype is np.complex128:
        a = a + 1j * RNG.standard_normal(shape)
    a[..., 0, 0] = 0   # forces 2x2 pivots
    return a


@pytest.mark.parametrize("hermitian", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shape", [(3, 3), (4, 5, 5), (7, 7)])
def test_ldl_matches_torch(shape: tuple, dtype: type, hermitian: bool) -> None:
    a = _ldl_input(shape, dtype)
    e, t = _pair(a)
    re, rt = ember.linalg.ldl_factor_ex(e, hermitian=hermitian), torch.linalg.ldl_factor_ex(t, hermitian=hermitian)
    assert re._fields == ("LD", "pivots", "info") and type(re).__name__ == "linalg_ldl_factor_ex"
    assert_close(list(re), list(rt))
    f = ember.linalg.ldl_factor(e, hermitian=hermitian)
    assert type(f).__name__ == "linalg_ldl_factor" and f._fields == ("LD", "pivots")
    b = RNG.standard_normal(shape[:-1] + (2,)).astype(dtype)
    xe = ember.linalg.ldl_solve(re.LD, re.pivots, ember.tensor(b), hermitian=hermitian)
    xt = torch.linalg.ldl_solve(rt.LD, rt.pivots, torch.tensor(b), hermitian=hermitian)
    assert_close(xe, xt, rtol=1e-6, atol=1e-6)


def test_ldl_small_cases_and_info() -> None:
    for a in ([[1.0, 2, 3], [2, 1, 0], [3, 0, 1]], [[0.0, 1], [1, 0]], [[0.0, 0], [0, 0]]):
        assert_close(list(ember.linalg.ldl_factor_ex(ember.tensor(a))),
                     list(torch.linalg.ldl_factor_ex(torch.tensor(a))))
    z = ember.zeros(2, 2)
    err = _raised(lambda: ember.linalg.ldl_factor(z))
    assert isinstance(err, RuntimeError) and "torch.linalg.ldl_factor: Unknown error code: 1." in str(err)
    err = _raised(lambda: ember.linalg.ldl_factor_ex(z, check_errors=True))
    assert "torch.linalg.ldl_factor_ex: Unknown error code: 1." in str(err)


def test_ldl_not_differentiable_and_broadcast() -> None:
    a = _ldl_input((2, 4, 4), np.float64)
    e = ember.tensor(a, requires_grad=True)
    LD, piv = ember.linalg.ldl_factor(e)
    assert type(LD.grad_fn).__name__ == "NotImplemented" and piv.grad_fn is None
    assert "derivative for aten::linalg_ldl_factor_ex is not implemented" in str(_raised(lambda: LD.sum().backward()))
    b = ember.tensor(RNG.standard_normal((3, 1, 4, 2)), requires_grad=True)
    x = ember.linalg.ldl_solve(LD.detach(), piv, b)
    assert type(x.grad_fn).__name__ == "NotImplemented" and tuple(x.shape) == (3, 2, 4, 2)
    sym = np.tril(a) + np.swapaxes(np.tril(a, -1), -1, -2)
    np.testing.assert_allclose((ember.tensor(sym) @ x).detach().numpy(), np.broadcast_to(b.detach().numpy(), x.shape),
                               atol=1e-10)


@pytest.mark.parametrize("make", [lambda L: L.ones(2, 3), lambda L: L.ones(3), lambda L: L.ones(2, 2, dtype=L.int64),
                                  lambda L: L.ones(2, 2, dtype=L.float16)])
def test_ldl_factor_errors(make: object) -> None:
    for fn in ("ldl_factor", "ldl_factor_ex"):
        assert_same_error(lambda fn=fn: getattr(ember.linalg, fn)(make(ember)),  # type: ignore[operator]
                          lambda fn=fn: getattr(torch.linalg, fn)(make(torch)))  # type: ignore[operator]


def test_ldl_solve_errors() -> None:
    a = np.array([[1.0, 2, 3], [2, 1, 0], [3, 0, 1]])
    LDt, pt = torch.linalg.ldl_factor(torch.tensor(a))
    LDe, pe = to_ember(LDt), to_ember(pt)
    for b, p, ld in ((np.ones(3), None, None), (np.ones((2, 2)), None, None), (np.ones((3, 2), np.float32), None, None),
                     (np.ones((3, 2)), slice(0, 2), None), (np.ones((3, 2)), None, slice(0, 2))):
        assert_same_error(
            lambda b=b, p=p, ld=ld: ember.linalg.ldl_solve(LDe if ld is None else LDe[ld], pe if p is None else pe[p],
                                                           ember.tensor(b)),
            lambda b=b, p=p, ld=ld: torch.linalg.ldl_solve(LDt if ld is None else LDt[ld], pt if p is None else pt[p],
                                                           torch.tensor(b)))


def test_double_backward_and_out() -> None:
    a = _diagonalizable(3)
    assert ember.autograd.gradgradcheck(lambda x: _eig_loss(ember, x), (ember.tensor(a, requires_grad=True),))
    LU, piv = ember.linalg.lu_factor(ember.tensor(RNG.standard_normal((3, 3))))
    b = ember.tensor(RNG.standard_normal((3, 2)), requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda lu_, rhs: ember.linalg.lu_solve(lu_, piv, rhs),
                                        (LU.requires_grad_(), b))
    assert ember.autograd.gradgradcheck(lambda x: ember.linalg.cond(x, "nuc"),
                                        (ember.tensor(RNG.standard_normal((3, 3)), requires_grad=True),))
    outs = (ember.empty(0, dtype=ember.float64), ember.empty(0, dtype=ember.int32))
    res = ember.linalg.lu_factor(ember.tensor(a), out=outs)
    assert type(res).__name__ == "linalg_lu_factor_out" and res.LU is outs[0]
    assert_close(list(res), list(torch.linalg.lu_factor(torch.tensor(a))))
    outs = (ember.empty(0, dtype=ember.complex128), ember.empty(0, dtype=ember.complex128))
    res = ember.linalg.eig(ember.tensor(a), out=outs)
    assert res.eigenvalues is outs[0]
    assert_close(res.eigenvalues, torch.linalg.eigvals(torch.tensor(a)))
