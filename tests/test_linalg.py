"""Linear algebra against torch: einsum, tensordot, kron, trace, diagonals, tril/triu, cross, block_diag,
cdist and torch.linalg (norms, det, inverses, solvers, factorizations, pinv, rank, lstsq, matrix functions):
values, dtypes, shapes, errors, grad_fn names, gradients (fixed random cotangents and gradcheck) and double
backward.

Decompositions whose outputs are defined up to sign (svd, eigh, qr) are compared through gauge-invariant
functions of them, as torch's own tests do."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from oracle import assert_close, assert_same_error, check_grads, to_torch, torch

rng = np.random.default_rng(7)


def r(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def spd(n: int, *batch: int) -> np.ndarray:
    """A well-conditioned symmetric positive-definite matrix (batch)."""
    x = r(*batch, n, n)
    return x @ np.swapaxes(x, -1, -2) + n * np.eye(n)


def compare(f, *arrays: np.ndarray, **tol: float) -> None:  # noqa: ANN001
    """``f(lib, *tensors)`` under ember and torch: same values, dtypes and shapes."""
    assert_close(
        f(ember, *[ember.tensor(a) for a in arrays]), f(torch, *[torch.tensor(a) for a in arrays]), **tol
    )


def same_grad_fn(f, *arrays: np.ndarray) -> None:  # noqa: ANN001
    names = [
        type(f(lib, *[lib.tensor(a, requires_grad=True) for a in arrays]).grad_fn).__name__
        for lib in (ember, torch)
    ]
    assert names[0] == names[1], names


def gradcheck(f, *arrays: np.ndarray) -> None:  # noqa: ANN001
    assert ember.autograd.gradcheck(
        lambda *ts: f(ember, *ts), [ember.tensor(a, requires_grad=True) for a in arrays]
    )


def double_backward(f, *arrays: np.ndarray) -> None:  # noqa: ANN001
    """Second derivatives against torch: d/dx <grad_x(f)(g), w> for fixed random g, w."""
    results = []
    for lib in (ember, torch):
        ins = [lib.tensor(a, requires_grad=True) for a in arrays]
        y = f(lib, *ins)
        gy = lib.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)))
        gs = lib.autograd.grad(y, ins, gy, create_graph=True)
        ws = [
            lib.tensor(np.random.default_rng(2 + i).standard_normal(tuple(g.shape))) for i, g in enumerate(gs)
        ]
        second = lib.autograd.grad(
            sum((g * w).sum() for g, w in zip(gs, ws, strict=True)), ins, allow_unused=True
        )
        results.append((gs, second))
    for a, b in zip(results[0][0] + results[0][1], results[1][0] + results[1][1], strict=True):
        if b is None:
            assert a is None or not a.abs().sum().item()
        else:
            assert_close(a, b, rtol=1e-6, atol=1e-6)


# ---- einsum ---------------------------------------------------------------------------------------------
EINSUM = [
    ("ij,jk->ik", (3, 4), (4, 5)),
    ("ii->i", (3, 3)),
    ("ii", (3, 3)),
    ("ij->", (2, 3)),
    ("ij->ji", (2, 3)),
    ("bij,bjk->bik", (2, 3, 4), (2, 4, 5)),
    ("...ij,...j->...i", (4, 2, 3), (3,)),
    ("i,j->ij", (3,), (4,)),
    ("ij,jk->i", (3, 4), (4, 5)),
    ("ij,ij->ij", (2, 3), (1, 3)),
    ("ij,jk,kl->il", (2, 3), (3, 4), (4, 2)),
    ("iij->j", (3, 3, 2)),
    ("ij,jk", (3, 4), (4, 5)),
    ("i,i->", (4,), (4,)),
    ("bA,aB", (2, 3), (4, 5)),
    ("...ij,...jk->...ik", (4, 1, 2, 3), (5, 3, 2)),
    ("i...j->j...i", (2, 3, 4, 5)),
    ("...ij", (2, 3, 4)),
    ("ij->...", (2, 3)),
    ("iji->j", (2, 3, 2)),
    ("i->", (0,)),
    ("ij,jk->ik", (0, 3), (3, 2)),
]


@pytest.mark.parametrize("eq,shapes", [(e[0], e[1:]) for e in EINSUM])
def test_einsum(eq: str, shapes: tuple) -> None:
    arrays = [r(*s) for s in shapes]
    check_grads(lambda lib, *ts: lib.einsum(eq, *ts), *arrays)
    compare(lambda lib, *ts: lib.einsum(eq, *[t.float() for t in ts]), *arrays)
    if 0 not in sum(shapes, ()):
        same_grad_fn(lambda lib, *ts: lib.einsum(eq, *ts), *arrays)


def test_einsum_forms_dtypes_and_double_backward() -> None:
    a, b = r(2, 3), r(3, 4)
    compare(lambda lib, x, y: lib.einsum(x, [0, 1], y, [1, 2], [0, 2]), a, b)
    compare(lambda lib, x: lib.einsum(x, [Ellipsis, 1], [Ellipsis]), a)
    compare(lambda lib, x, y: lib.einsum("ij,jk->ik", [x, y]), a, b)
    compare(lambda lib, x, y: lib.einsum(" i j , j k -> i k ", x, y), a, b)
    compare(lambda lib, x, y: lib.einsum("i,i", x.round().long(), y.round().long()), r(3), r(3))
    compare(lambda lib, x: (lib.einsum("ij->j", x > 0), lib.einsum("ij->ji", x > 0)), a)
    compare(lambda lib, x: lib.einsum("ij->ji", x.t()[1:]), r(4, 3))  # non-contiguous operand
    gradcheck(lambda lib, x, y: lib.einsum("ij,jk->ik", x, y), a, b)
    gradcheck(lambda lib, x: lib.einsum("iij->ij", x), r(2, 2, 3))
    double_backward(lambda lib, x, y: lib.einsum("bij,jk->bik", x, y), r(2, 3, 4), r(4, 2))
    double_backward(lambda lib, x: lib.einsum("ii->i", x) ** 2, r(3, 3))


def _einsum_errors(lib):  # noqa: ANN001, ANN202
    o, d = lib.ones, lib.float64
    return [
        lambda: lib.einsum("ij,jk->ik", o(2, 2), o(2, 2, dtype=d)),
        lambda: lib.einsum("ij,jk->ik", o(2, 2), o(3, 2)),
        lambda: lib.einsum("ij,jk->ik", o(2, 2)),
        lambda: lib.einsum("ij->ik", o(2, 2)),
        lambda: lib.einsum("ij->ii", o(2, 2)),
        lambda: lib.einsum("ijk->i", o(2, 2)),
        lambda: lib.einsum("i1->i", o(2, 2)),
        lambda: lib.einsum("ij", o(2, 2), o(2)),
        lambda: lib.einsum("i.j", o(2, 3)),
        lambda: lib.einsum("ij->j->i", o(2, 3)),
        lambda: lib.einsum("ij-i", o(2, 3)),
        lambda: lib.einsum("...i...", o(2, 3)),
        lambda: lib.einsum("ij,jk", o(2, 3)),
        lambda: lib.einsum("ii", o(2, 3)),
        lambda: lib.einsum("...ijk", o(2, 3)),
    ]


@pytest.mark.parametrize("i", range(len(_einsum_errors(torch))))
def test_einsum_errors(i: int) -> None:
    assert_same_error(_einsum_errors(ember)[i], _einsum_errors(torch)[i])


# ---- tensordot, kron, inner, trace, diagonals, triangles --------------------------------------------------
@pytest.mark.parametrize(
    "f,shapes",
    [
        (lambda lib, a, b: lib.tensordot(a, b, dims=([1, 0], [0, 2])), ((3, 4, 5), (4, 2, 3))),
        (lambda lib, a, b: lib.tensordot(a, b), ((2, 3, 4), (3, 4, 5))),
        (lambda lib, a, b: lib.tensordot(a, b, dims=0), ((2, 3), (3,))),
        (lambda lib, a, b: lib.tensordot(a, b, dims=[[1], [0]]), ((2, 3), (3, 2))),
        (lambda lib, a, b: lib.tensordot(a.t(), b, dims=1).sum(1), ((3, 2), (3, 2))),
        (lambda lib, a, b: lib.kron(a, b), ((2, 3), (3, 2))),
        (lambda lib, a, b: lib.kron(a, b), ((2, 3, 2), (3,))),
        (lambda lib, a, b: lib.inner(a, b), ((2, 3), (4, 3))),
        (lambda lib, a, b: lib.inner(a, b), ((2, 3), ())),
        (lambda lib, a: lib.trace(a), ((3, 4),)),
        (lambda lib, a: lib.trace(a[:, ::2]), ((3, 4),)),
        (lambda lib, a: lib.diag(a, 1), ((3,),)),
        (lambda lib, a: lib.diag(a, -1), ((3, 4),)),
        (lambda lib, a: lib.diag(a, 5), ((2, 3),)),
        (lambda lib, a: lib.diag_embed(a, 1, 0, 2), ((2, 3),)),
        (lambda lib, a: lib.diag_embed(a, -1, -1, -3), ((2, 3),)),
        (lambda lib, a: lib.diagflat(a, -1), ((2, 2),)),
        (lambda lib, a: lib.tril(a, -1), ((2, 3, 4),)),
        (lambda lib, a: lib.triu(a.mT, 1), ((3, 4),)),
        (lambda lib, a: (a * 1).tril_(1), ((3, 4),)),
        (lambda lib, a: (a * 1).triu_(), ((2, 3, 3),)),
    ],
)
def test_products_diagonals_triangles(f, shapes: tuple) -> None:  # noqa: ANN001
    arrays = [r(*s) for s in shapes]
    check_grads(f, *arrays)
    same_grad_fn(f, *arrays)
    if all(len(s) <= 2 and np.prod(s) <= 12 for s in shapes):
        gradcheck(f, *arrays)


def test_dtypes_and_in_place() -> None:
    a = r(3, 4).round()
    compare(lambda lib, x: (lib.trace(x.long()), lib.trace(x.int()), lib.trace(x.float())), a)
    compare(lambda lib, x: (lib.tril(x.long(), 1), lib.triu(x > 0, -1), lib.diag(x.long())), a)
    compare(lambda lib, x, y: (lib.kron(x.float(), y), lib.kron(x.long(), y)), r(2, 2).round(), r(2, 3))
    compare(lambda lib, x, y: lib.tensordot(x.long(), y.long(), dims=1), a, r(4, 2).round())
    for lib in (ember, torch):
        x = lib.tensor(a)
        assert x.tril_(-1) is x
    assert_close(ember.tensor(a).triu_(1), torch.tensor(a).triu_(1))
    compare(lambda lib, x: lib.block_diag(), a)
    compare(lambda lib, x, y, z: lib.block_diag(x, y.long(), z.long()), r(2, 2), r(2).round(), np.array(3.0))
    compare(lambda lib, x: lib.trace(x.half()), r(3, 3), rtol=1e-2, atol=1e-2)


def _shape_errors(lib):  # noqa: ANN001, ANN202
    o, d = lib.ones, lib.float64
    return [
        lambda: lib.tensordot(o(2, 3), o(4, 2), dims=1),
        lambda: lib.tensordot(o(2, 3), o(3, 2, dtype=d), dims=1),
        lambda: lib.tensordot(o(2, 3), o(3, 2), dims=([0, 1], [1])),
        lambda: lib.tensordot(o(2, 3), o(3, 2), dims=-1),
        lambda: lib.tensordot(o(2, 3), o(3, 2), dims=3),
        lambda: lib.trace(o(2, 3, 4)),
        lambda: lib.trace(o(2, 3, dtype=lib.bool)),
        lambda: lib.diag(o(2, 3, 4)),
        lambda: lib.diag(lib.tensor(1.0)),
        lambda: lib.diag_embed(o(2, 3), 1, 0, 0),
        lambda: lib.diag_embed(lib.tensor(1.0)),
        lambda: lib.tril(o(3)),
        lambda: lib.triu(o(3)),
        lambda: o(3).tril_(),
        lambda: o(2, 2, requires_grad=True).triu_(),
        lambda: lib.block_diag(o(2, 2, 2)),
        lambda: lib.inner(o(2, 3), o(4)),
    ]


@pytest.mark.parametrize("i", range(len(_shape_errors(torch))))
def test_shape_errors(i: int) -> None:
    assert_same_error(_shape_errors(ember)[i], _shape_errors(torch)[i])


# ---- cross, block_diag, cdist ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "f,shapes",
    [
        (lambda lib, a, b: lib.linalg.cross(a, b), ((4, 3), (1, 3))),
        (lambda lib, a, b: lib.cross(a, b, dim=0), ((3, 2), (3, 2))),
        (lambda lib, a, b: lib.linalg.cross(a, b, dim=1), ((2, 3, 4), (2, 3, 4))),
        (lambda lib, a, b, c: lib.block_diag(a, b, c), ((2, 3), (3,), ())),
        (lambda lib, a, b: lib.cdist(a, b), ((4, 3), (5, 3))),
        (lambda lib, a, b: lib.cdist(a, b, p=1), ((4, 3), (5, 3))),
        (lambda lib, a, b: lib.cdist(a, b, p=3), ((2, 4, 3), (5, 3))),
        (lambda lib, a, b: lib.cdist(a, b, p=0.5), ((4, 3), (5, 3))),
        (lambda lib, a, b: lib.cdist(a, b, p=float("inf")), ((1, 4, 3), (2, 5, 3))),
    ],
)
def test_cross_block_diag_cdist(f, shapes: tuple) -> None:  # noqa: ANN001
    arrays = [r(*s) for s in shapes]
    check_grads(f, *arrays)
    same_grad_fn(f, *arrays)


def test_cross_default_dim_and_cdist_cases() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare(lambda lib, a, b: lib.cross(a, b), r(3, 2), r(3, 2))
    with pytest.warns(UserWarning, match="Using torch.cross without specifying the dim arg is deprecated"):
        ember.cross(ember.ones(3), ember.ones(3))
    x = r(4, 3)
    compare(lambda lib, a, b: lib.cdist(a, b, p=0), x.round(), r(5, 3).round())
    compare(lambda lib, a, b: lib.cdist(a, b), r(30, 3), r(40, 3), rtol=1e-6, atol=1e-6)  # torch's mm path
    compare(lambda lib, a: lib.cdist(a.float(), a.float()), x, rtol=1e-5, atol=1e-5)
    check_grads(lambda lib, a, b: lib.cdist(a, b), x, np.concatenate([x[:2], r(2, 3)]))  # zero distances


def _cross_cdist_errors(lib):  # noqa: ANN001, ANN202
    o, d, L = lib.ones, lib.float64, lib.linalg
    return [
        lambda: L.cross(o(2, 3), o(3)),
        lambda: L.cross(o(2, 4), o(2, 4)),
        lambda: L.cross(o(2, 3), o(2, 3, dtype=d)),
        lambda: lib.cross(o(3, 2), o(3, 2), dim=1),
        lambda: lib.cdist(o(3), o(3)),
        lambda: lib.cdist(o(2, 3), o(2, 4)),
        lambda: lib.cdist(o(2, 3, dtype=lib.long), o(2, 3)),
        lambda: lib.cdist(o(2, 3), o(2, 3, dtype=d)),
        lambda: lib.cdist(o(2, 3), o(2, 3), p=-1),
        lambda: lib.cdist(o(5, 2, 3), o(4, 2, 3)),
    ]


@pytest.mark.parametrize("i", range(len(_cross_cdist_errors(torch))))
def test_cross_cdist_errors(i: int) -> None:
    assert_same_error(_cross_cdist_errors(ember)[i], _cross_cdist_errors(torch)[i])


# ---- torch.linalg: values and gradients ------------------------------------------------------------------
def _psd_fn(f):  # noqa: ANN001, ANN202
    """``f`` of the symmetric positive-definite matrix built from its argument (keeps inputs valid)."""
    return lambda lib, a: f(lib, a @ a.mT + 3 * lib.eye(a.shape[-1], dtype=a.dtype))


def _proj(V):  # noqa: ANN001, ANN202
    """A sign-invariant function of the columns of V (a weighted sum of projectors v v^T)."""
    w = V.new_tensor(np.arange(1.0, V.shape[-1] + 1))
    return (V * w) @ V.mT


LINALG = [
    ("det", lambda lib, a: lib.linalg.det(a), ((2, 3, 3),)),
    ("torch.det", lambda lib, a: a.det(), ((3, 3),)),
    ("slogdet", lambda lib, a: lib.linalg.slogdet(a).logabsdet, ((2, 3, 3),)),
    ("logdet", _psd_fn(lambda lib, a: lib.logdet(a)), ((3, 3),)),
    ("inv", lambda lib, a: lib.linalg.inv(a), ((2, 3, 3),)),
    ("inverse", lambda lib, a: a.t().inverse(), ((3, 3),)),
    ("inv_ex", lambda lib, a: lib.linalg.inv_ex(a).inverse, ((3, 3),)),
    ("solve", lambda lib, a, b: lib.linalg.solve(a, b), ((2, 3, 3), (3, 2))),
    ("solve vec", lambda lib, a, b: lib.linalg.solve(a, b), ((2, 3, 3), (2, 3))),
    ("solve right", lambda lib, a, b: lib.linalg.solve(a, b, left=False), ((3, 3), (2, 3))),
    (
        "solve_triangular",
        lambda lib, a, b: lib.linalg.solve_triangular(a + 4 * lib.eye(3, dtype=a.dtype), b, upper=True),
        ((3, 3), (2, 3, 2)),
    ),
    (
        "solve_triangular right unit",
        lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=False, left=False, unitriangular=True),
        ((3, 3), (2, 3)),
    ),
    ("cholesky", _psd_fn(lambda lib, a: lib.linalg.cholesky(a)), ((2, 3, 3),)),
    ("cholesky upper", _psd_fn(lambda lib, a: lib.linalg.cholesky(a, upper=True)), ((3, 3),)),
    ("cholesky_ex", _psd_fn(lambda lib, a: lib.linalg.cholesky_ex(a).L), ((3, 3),)),
    ("qr Q", lambda lib, a: lib.linalg.qr(a).Q, ((4, 3),)),
    ("qr R", lambda lib, a: lib.linalg.qr(a).R, ((2, 4, 3),)),
    ("qr wide", lambda lib, a: lib.linalg.qr(a).Q @ lib.linalg.qr(a).R.square(), ((3, 5),)),
    ("qr complete square", lambda lib, a: lib.linalg.qr(a, mode="complete").R, ((3, 3),)),
    ("svdvals", lambda lib, a: lib.linalg.svdvals(a), ((2, 4, 3),)),
    ("svd U", lambda lib, a: _proj(lib.linalg.svd(a, full_matrices=False).U), ((4, 3),)),
    ("svd V wide", lambda lib, a: _proj(lib.linalg.svd(a, full_matrices=False).Vh.mT), ((3, 5),)),
    (
        "svd all",
        lambda lib, a: (lambda u, s, vh: _proj(u) * s.sum() + _proj(vh.mT)[:3, :3])(
            *lib.linalg.svd(a, full_matrices=False)
        ),
        ((3, 3),),
    ),
    ("svd full S", lambda lib, a: lib.linalg.svd(a).S, ((4, 3),)),
    ("eigvalsh", _psd_fn(lambda lib, a: lib.linalg.eigvalsh(a)), ((2, 3, 3),)),
    ("eigh", _psd_fn(lambda lib, a: (lambda w, v: _proj(v) + w.sum())(*lib.linalg.eigh(a))), ((4, 4),)),
    ("eigh U", lambda lib, a: lib.linalg.eigh(a, UPLO="U").eigenvalues, ((3, 3),)),
    ("pinv", lambda lib, a: lib.linalg.pinv(a), ((2, 4, 3),)),
    ("pinv wide", lambda lib, a: lib.linalg.pinv(a), ((3, 5),)),
    ("pinv hermitian", _psd_fn(lambda lib, a: lib.linalg.pinv(a, hermitian=True)), ((3, 3),)),
    ("pinverse", lambda lib, a: lib.pinverse(a), ((4, 3),)),
    ("lstsq", lambda lib, a, b: lib.linalg.lstsq(a, b).solution, ((5, 3), (5, 2))),
    ("lstsq wide", lambda lib, a, b: lib.linalg.lstsq(a, b).solution, ((3, 5), (3, 2))),
    (
        "lstsq residuals",
        lambda lib, a, b: lib.linalg.lstsq(a, b, driver="gelsd").residuals,
        ((2, 5, 3), (2, 5, 2)),
    ),
    ("lstsq vec", lambda lib, a, b: lib.linalg.lstsq(a, b, driver="gelss").solution, ((5, 3), (5,))),
    ("matrix_power 3", lambda lib, a: lib.linalg.matrix_power(a, 3), ((3, 3),)),
    ("matrix_power batch", lambda lib, a: lib.linalg.matrix_power(a, 3), ((2, 3, 3),)),
    ("matrix_power -2", lambda lib, a: lib.linalg.matrix_power(a, -2), ((3, 3),)),
    ("matrix_power 0", lambda lib, a: lib.linalg.matrix_power(a, 0), ((3, 3),)),
    ("matrix_power 1", lambda lib, a: a.matrix_power(1), ((3, 3),)),
    ("matrix_exp", lambda lib, a: lib.linalg.matrix_exp(a), ((2, 3, 3),)),
    ("matrix_exp large", lambda lib, a: lib.matrix_exp(4 * a), ((3, 3),)),
    ("multi_dot", lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]), ((3,), (3, 4), (4, 2))),
    (
        "multi_dot 4",
        lambda lib, a, b, c, d: lib.linalg.multi_dot([a, b, c, d]),
        ((6, 2), (2, 5), (5, 3), (3,)),
    ),
    ("chain_matmul", lambda lib, a, b: lib.chain_matmul(a, b, a.mT), ((2, 3), (3, 3))),
    ("vecdot", lambda lib, a, b: lib.linalg.vecdot(a, b), ((2, 3), (3,))),
    ("vecdot dim", lambda lib, a, b: lib.linalg.vecdot(a, b, dim=0), ((3, 2), (3, 2))),
    ("norm", lambda lib, a: lib.linalg.norm(a), ((3, 4),)),
    ("norm vec 3", lambda lib, a: lib.linalg.norm(a, 3), ((5,),)),
    ("norm dims", lambda lib, a: lib.linalg.norm(a, dim=(0, 2)), ((2, 3, 4),)),
    ("norm nuc dims", lambda lib, a: lib.linalg.norm(a, "nuc", dim=(2, 0), keepdim=True), ((2, 3, 4),)),
    ("matrix_norm fro", lambda lib, a: lib.linalg.matrix_norm(a), ((2, 3, 4),)),
    ("matrix_norm nuc", lambda lib, a: lib.linalg.matrix_norm(a, "nuc"), ((4, 3),)),
    ("matrix_norm 2", lambda lib, a: lib.linalg.matrix_norm(a, 2), ((4, 3),)),
    ("matrix_norm -2", lambda lib, a: lib.linalg.matrix_norm(a, -2), ((4, 3),)),
    ("matrix_norm 1", lambda lib, a: lib.linalg.matrix_norm(a, 1), ((4, 3),)),
    ("matrix_norm -1", lambda lib, a: lib.linalg.matrix_norm(a, -1, dim=(2, 0)), ((2, 3, 4),)),
    ("matrix_norm inf", lambda lib, a: lib.linalg.matrix_norm(a, float("inf"), keepdim=True), ((2, 4, 3),)),
    ("matrix_norm -inf", lambda lib, a: lib.linalg.matrix_norm(a, -float("inf")), ((4, 3),)),
    ("tensorinv", lambda lib, a: lib.linalg.tensorinv(a, 1), ((4, 2, 2),)),
    ("tensorsolve", lambda lib, a, b: lib.linalg.tensorsolve(a, b), ((6, 2, 3), (6,))),
    ("non-contiguous inv", lambda lib, a: lib.linalg.inv(a.mT[..., ::2, :]), ((2, 3, 6),)),
    (
        "non-contiguous solve",
        lambda lib, a, b: lib.linalg.solve(a.mT, b.expand(2, 3, 2)),
        ((2, 3, 3), (3, 2)),
    ),
    ("non-contiguous det", lambda lib, a: lib.linalg.det(a[:, 1:, ::2]), ((2, 4, 6),)),
]


@pytest.mark.parametrize("name,f,shapes", LINALG, ids=[c[0] for c in LINALG])
def test_linalg_values_grads_names(name: str, f, shapes: tuple) -> None:  # noqa: ANN001
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # chain_matmul's deprecation
        arrays = [r(*s) for s in shapes]
        check_grads(f, *arrays)
        if name != "tensorinv":  # torch: ReshapeAliasBackward0, an internal alias of ViewBackward0
            same_grad_fn(f, *arrays)
        compare(lambda lib, *ts: f(lib, *[t.float() for t in ts]), *arrays, rtol=2e-4, atol=2e-4)


GRADCHECK = [
    "det",
    "slogdet",
    "inv",
    "solve",
    "solve_triangular",
    "cholesky",
    "qr Q",
    "qr wide",
    "svd all",
    "svd V wide",
    "eigh",
    "pinv",
    "pinv hermitian",
    "lstsq",
    "lstsq residuals",
    "matrix_exp",
    "matrix_norm nuc",
    "matrix_norm 2",
    "multi_dot",
    "tensorinv",
]


@pytest.mark.parametrize("name", GRADCHECK)
def test_linalg_gradcheck(name: str) -> None:
    _, f, shapes = next(c for c in LINALG if c[0] == name)
    gradcheck(f, *[r(*s) for s in shapes])


@pytest.mark.parametrize(
    "name",
    [
        "det",
        "inv",
        "slogdet",
        "solve",
        "cholesky",
        "matrix_exp",
        "pinv",
        "svdvals",
        "eigvalsh",
        "qr R",
        "solve_triangular",
        "lstsq",
    ],
)
def test_linalg_double_backward(name: str) -> None:
    _, f, shapes = next(c for c in LINALG if c[0] == name)
    double_backward(f, *[r(*s) for s in shapes])


def test_det_gradient_of_singular_matrices() -> None:
    """Exactly singular: zero gradient (torch's perturbed LU); with create_graph: the adjugate."""
    for m in [
        np.array([[1.0, 2.0], [2.0, 4.0]]),
        np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]]),
        np.zeros((3, 3)),
        np.stack([np.eye(2), np.array([[1.0, 2], [2, 4]])]),
    ]:
        for create_graph in (False, True):
            grads = []
            for lib in (ember, torch):
                a = lib.tensor(m, requires_grad=True)
                (g,) = lib.autograd.grad(lib.linalg.det(a).sum(), a, create_graph=create_graph)
                grads.append(g)
            assert_close(*grads)


# ---- special outputs, drivers, tolerances -----------------------------------------------------------------
def test_failure_outputs_without_raising() -> None:
    sing = np.array([[1.0, 2.0], [2.0, 4.0]])
    compare(lambda lib, a: tuple(lib.linalg.inv_ex(a)), sing)
    compare(lambda lib, a: tuple(lib.linalg.inv_ex(a.float())), np.zeros((3, 3)))
    compare(lambda lib, a: lib.linalg.inv_ex(a).info, np.stack([np.eye(2), sing]))
    compare(lambda lib, a, b: tuple(lib.linalg.solve_ex(a, b)), np.stack([np.eye(2), sing]), r(2, 2))
    compare(lambda lib, a, b: tuple(lib.linalg.solve_ex(a, b)), sing, np.array([1.0, 2.0]))
    compare(lambda lib, a: tuple(lib.linalg.cholesky_ex(a)), r(3, 3))
    compare(
        lambda lib, a: tuple(lib.linalg.cholesky_ex(a)),
        np.stack([np.eye(3), -np.eye(3), np.diag([1.0, 2, -3])]),
    )
    compare(lambda lib, a: tuple(lib.linalg.cholesky_ex(a, upper=True)), np.diag([1.0, -2.0, 3.0]) + 0.1)
    compare(lambda lib, a: tuple(lib.linalg.slogdet(a)), -np.eye(3))
    compare(lambda lib, a: tuple(lib.linalg.slogdet(a)), sing)
    compare(
        lambda lib, a: (lib.logdet(a), lib.logdet(-a), lib.logdet(a[:2, :2] * 0)), np.diag([1.0, 2.0, 3.0])
    )
    compare(lambda lib, a: lib.linalg.solve_triangular(a, a, upper=True), np.triu(r(3, 3)) * [1, 0, 1])
    assert issubclass(ember.linalg.LinAlgError, RuntimeError)
    with pytest.raises(ember.linalg.LinAlgError):
        ember.linalg.inv(ember.zeros(2, 2))


@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
def test_lstsq_drivers(driver: str | None) -> None:
    a53 = r(5, 3)
    deficient = a53.copy()
    deficient[:, 2] = deficient[:, 0]
    lst = lambda lib, a, b: tuple(lib.linalg.lstsq(a, b, driver=driver))  # noqa: E731
    compare(lst, a53, r(5, 2))
    compare(lst, a53, r(5))
    compare(lst, r(2, 5, 3), r(2, 5, 2))
    compare(lst, r(2, 5, 3), r(2, 5))
    compare(lst, r(3, 5), r(3, 2))
    compare(lambda lib, a, b: lst(lib, a.float(), b.float()), a53, r(5, 2), rtol=1e-4, atol=1e-5)
    if driver != "gels":  # gels assumes full rank
        compare(lst, deficient, r(5, 2))
    compare(lambda lib, a, b: lib.linalg.lstsq(a, b, rcond=0.5, driver=driver).rank, a53, r(5, 2))


def test_rank_pinv_tolerances_and_legacy_forms() -> None:
    x = r(3, 4)
    for kw in [{}, {"atol": 1.0}, {"rtol": 0.5}, {"atol": 0.5, "rtol": 0.1}, {"hermitian": True}]:
        m = x @ x.T if kw.get("hermitian") else x
        compare(lambda lib, a, kw=kw: (lib.linalg.matrix_rank(a, **kw), lib.linalg.pinv(a, **kw)), m)
    compare(
        lambda lib, a: (
            lib.linalg.matrix_rank(a, tol=1.0),
            lib.linalg.matrix_rank(a, 1.0),
            lib.linalg.pinv(a, 0.5),
        ),
        x,
    )
    compare(lambda lib, a: lib.linalg.pinv(a, rtol=lib.tensor([0.5, 0.01], dtype=lib.float64)), r(2, 3, 4))
    compare(
        lambda lib, a: lib.linalg.matrix_rank(a), np.stack([x, np.zeros((3, 4)), np.outer(x[:, 0], x[0])])
    )
    compare(lambda lib, a: (lib.svd(a).S, lib.svd(a).V.abs(), lib.svd(a).U.abs()), r(4, 3))
    compare(lambda lib, a: tuple(lib.svd(a, compute_uv=False)), r(4, 3))
    compare(lambda lib, a: tuple(t.shape for t in lib.svd(a, some=False)), r(4, 3))
    compare(lambda lib, a: (lib.slogdet(a), type(lib.slogdet(a)).__name__), r(3, 3))
    compare(lambda lib, a: tuple(t.shape for t in lib.linalg.qr(a, mode="complete")), r(4, 3))
    compare(lambda lib, a: (lib.linalg.qr(a, mode="r").Q.shape, lib.linalg.qr(a, mode="r").R.abs()), r(4, 3))
    compare(lambda lib, a: lib.linalg.qr(a).R.abs(), r(3, 5))
    compare(lambda lib, a: lib.linalg.svd(a).S, r(2, 4, 3))
    compare(
        lambda lib, a: (lib.linalg.matrix_power(a.round().long(), 3), lib.linalg.matrix_power(a.long(), 0)),
        r(2, 3, 3),
    )
    compare(
        lambda lib, a: tuple(
            lib.linalg.norm(a, o) for o in [None, "fro", "nuc", 2, -2, 1, -1, float("inf"), -float("inf")]
        ),
        r(3, 4),
    )
    compare(
        lambda lib, a: tuple(
            lib.linalg.norm(a, o) for o in [None, 0, 1, 2, 3.5, float("inf"), -float("inf")]
        ),
        r(5),
    )
    with pytest.warns(UserWarning, match="torch.cholesky is deprecated"):
        ember.cholesky(ember.eye(2))


def test_zero_size_and_matrix_exp_cases() -> None:
    compare(lambda lib, a: (lib.linalg.det(a), lib.linalg.inv(a), lib.linalg.svdvals(a)), np.zeros((0, 3, 3)))
    compare(lambda lib, a: (lib.linalg.det(a), lib.linalg.inv(a)), np.zeros((2, 0, 0)))
    compare(lambda lib, a: lib.linalg.pinv(a), np.zeros((0, 3)))
    compare(lambda lib, a: lib.linalg.matrix_exp(a), np.zeros((3, 3)))
    compare(lambda lib, a: lib.linalg.matrix_exp(a), r(2, 4, 4) * 5)
    compare(lambda lib, a: lib.linalg.matrix_exp(a), np.array([[0.0, 1e-3], [-1e-3, 0.0]]))


# ---- errors ---------------------------------------------------------------------------------------------
def _linalg_errors(lib):  # noqa: ANN001, ANN202
    o, d, L = lib.ones, lib.float64, lib.linalg
    sing = lib.tensor([[1.0, 2.0], [2.0, 4.0]])
    return [
        lambda: L.inv(sing),
        lambda: L.inv(lib.stack([lib.eye(2), sing])),
        lambda: L.inv(lib.zeros(3, 3)),
        lambda: L.inv(lib.tensor([[1.0, 2, 3], [2, 4, 6], [1, 1, 1]])),
        lambda: L.inv(o(2, 3)),
        lambda: L.inv(o(3)),
        lambda: L.inv(o(2, 2, dtype=lib.long)),
        lambda: L.inv(o(2, 2, dtype=lib.float16)),
        lambda: L.inv_ex(sing, check_errors=True),
        lambda: L.det(o(2, 2, dtype=lib.long)),
        lambda: L.det(o(2, 3)),
        lambda: L.cholesky(sing),
        lambda: L.cholesky(-lib.eye(3)),
        lambda: L.cholesky(lib.stack([lib.eye(2), -lib.eye(2)])),
        lambda: L.cholesky(o(2, 3)),
        lambda: L.cholesky_ex(-lib.eye(2), check_errors=True),
        lambda: lib.cholesky(-lib.eye(2)),
        lambda: L.solve_ex(lib.zeros(2, 2), o(2), check_errors=True),
        lambda: lib.inverse(lib.zeros(2, 2)),
        lambda: L.solve(sing, o(2)),
        lambda: L.solve(o(2, 2) + lib.eye(2), o(3)),
        lambda: L.solve(o(2, 2) + lib.eye(2), o(2, dtype=d)),
        lambda: L.solve(o(3, 2, 2) + lib.eye(2), o(4, 2, 2)),
        lambda: L.solve(lib.stack([lib.eye(2), lib.zeros(2, 2)]), o(2, 2)),
        lambda: L.solve(lib.eye(3).expand(2, 3, 3), o(4, 1, 3)),
        lambda: L.solve(lib.eye(3), o(3, dtype=lib.long)),
        lambda: L.solve(lib.eye(3, dtype=lib.long), o(3)),
        lambda: L.solve(o(3), o(3)),
        lambda: L.solve_triangular(o(2, 2), o(2, 3), upper=True, left=False),
        lambda: L.solve_triangular(o(2, 2), o(2), upper=True),
        lambda: L.solve_triangular(o(2, 3), o(2, 2), upper=True),
        lambda: L.solve_triangular(o(2), o(2, 2), upper=True),
        lambda: L.solve_triangular(o(3, 2, 2), o(4, 2, 2), upper=True),
        lambda: L.eigh(o(2, 3)),
        lambda: L.eigh(o(2, 2), UPLO="X"),
        lambda: L.svd(o(2, 3, dtype=lib.long)),
        lambda: L.qr(o(2, 3), mode="x"),
        lambda: L.matrix_power(o(2, 3), 2),
        lambda: L.matrix_power(sing, -1),
        lambda: L.matrix_power(o(2, 2, dtype=lib.long), -1),
        lambda: L.multi_dot([o(2, 2)]),
        lambda: L.multi_dot([o(2, 2), o(3, 2)]),
        lambda: L.multi_dot([o(2, 2, 2), o(2, 2)]),
        lambda: L.multi_dot([o(2, 2), o(2, 2, dtype=d)]),
        lambda: L.multi_dot([o(2, 2), o(2, 2, 2), o(2)]),
        lambda: L.multi_dot([o(2, 2), o(2, 2, 2)]),
        lambda: L.matrix_rank(o(2, 3, dtype=lib.long)),
        lambda: L.vecdot(o(2, 3), o(2)),
        lambda: L.vecdot(o(2, 3), o(3, dtype=d)),
        lambda: L.lstsq(o(2, 5, 3), o(3, 2)),
        lambda: L.lstsq(o(5, 3), o(5, 2), driver="foo"),
        lambda: L.lstsq(o(5, 3), o(5, 2, dtype=d)),
        lambda: L.lstsq(o(5), o(5)),
        lambda: L.matrix_norm(o(3)),
        lambda: L.matrix_norm(o(3, 3), 3),
        lambda: L.matrix_norm(o(3, 3), "abc"),
        lambda: L.matrix_norm(o(3, 3), dim=(0, 0)),
        lambda: L.matrix_norm(o(3, 3), dim=(0,)),
        lambda: L.norm(o(2, 2, 2), 2),
        lambda: L.norm(o(2, 2), "fro", dim=0),
        lambda: L.tensorinv(o(4, 2, 3), 1),
        lambda: L.tensorinv(o(4, 2, 2), 0),
        lambda: L.qr(lib.randn(3, 2, requires_grad=True), mode="r").R.sum().backward(),
        lambda: L.qr(lib.randn(3, 2, requires_grad=True), mode="complete").Q.sum().backward(),
    ]


@pytest.mark.filterwarnings("ignore:torch.cholesky is deprecated")
@pytest.mark.parametrize("i", range(len(_linalg_errors(torch))))
def test_linalg_errors(i: int) -> None:
    assert_same_error(_linalg_errors(ember)[i], _linalg_errors(torch)[i])


def test_namespace() -> None:
    for name in [
        "norm",
        "vector_norm",
        "matrix_norm",
        "det",
        "slogdet",
        "inv",
        "inv_ex",
        "solve",
        "solve_ex",
        "solve_triangular",
        "cholesky",
        "cholesky_ex",
        "qr",
        "svd",
        "svdvals",
        "eigh",
        "eigvalsh",
        "pinv",
        "matrix_rank",
        "lstsq",
        "matrix_power",
        "matrix_exp",
        "multi_dot",
        "cross",
        "vecdot",
        "tensorinv",
        "tensorsolve",
        "matmul",
        "diagonal",
        "LinAlgError",
    ]:
        assert hasattr(ember.linalg, name), name
    x = r(3, 4)
    compare(lambda lib, a: (lib.linalg.diagonal(a), lib.linalg.matmul(a, a.mT)), x)
    assert to_torch(ember.tensor(x)).shape == (3, 4)


# ---- complex ---------------------------------------------------------------------------------------------
def c(*shape: int) -> np.ndarray:
    return r(*shape) + 1j * r(*shape)


def _proj_h(V):  # noqa: ANN001, ANN202
    """A phase-invariant function of the columns of complex V."""
    return (V * V.new_tensor(np.arange(1.0, V.shape[-1] + 1)).to(V.dtype)) @ V.mH


COMPLEX = [
    ("einsum", lambda lib, a, b: lib.einsum("ii,j->ij", a, b), ((3, 3), (2,))),
    ("det", lambda lib, a: lib.linalg.det(a), ((2, 3, 3),)),
    ("slogdet", lambda lib, a: lib.linalg.slogdet(a).sign * lib.linalg.slogdet(a).logabsdet, ((3, 3),)),
    ("inv", lambda lib, a: lib.linalg.inv(a), ((3, 3),)),
    ("solve", lambda lib, a, b: lib.linalg.solve(a, b), ((3, 3), (3,))),
    ("solve_triangular", lambda lib, a, b: lib.linalg.solve_triangular(a + 3 * lib.eye(3), b, upper=False),
     ((3, 3), (3, 2))),
    ("cholesky", lambda lib, a: lib.linalg.cholesky(a @ a.mH + 3 * lib.eye(3)), ((3, 3),)),
    ("qr", lambda lib, a: lib.linalg.qr(a).R, ((4, 3),)),
    ("qr wide", lambda lib, a: _proj_h(lib.linalg.qr(a).Q) + lib.linalg.qr(a).R.sum(), ((3, 5),)),
    ("svd", lambda lib, a: (lambda u, s, vh: _proj_h(u) * s.sum() + (u * s) @ vh)(
        *lib.linalg.svd(a, full_matrices=False)), ((3, 3),)),
    ("eigh", lambda lib, a: _proj_h(lib.linalg.eigh(a + a.mH).eigenvectors), ((3, 3),)),
    ("pinv", lambda lib, a: lib.linalg.pinv(a), ((4, 3),)),
    ("matrix_exp", lambda lib, a: lib.linalg.matrix_exp(a), ((3, 3),)),
    ("lstsq", lambda lib, a, b: lib.linalg.lstsq(a, b).solution, ((5, 3), (5, 2))),
    ("cross", lambda lib, a, b: lib.linalg.cross(a, b), ((2, 3), (2, 3))),
    ("kron", lambda lib, a, b: lib.kron(a, b), ((2, 2), (2, 3))),
]


@pytest.mark.parametrize("name,f,shapes", COMPLEX, ids=[x[0] for x in COMPLEX])
def test_complex_values_and_grads(name: str, f, shapes: tuple) -> None:  # noqa: ANN001
    arrays = [c(*s) for s in shapes]
    results = []
    for lib in (ember, torch):
        ins = [lib.tensor(a, requires_grad=True) for a in arrays]
        y = f(lib, *ins)
        cot = np.random.default_rng(3).standard_normal(tuple(y.shape)) * (1 + 0.5j)
        y.backward(lib.tensor(cot.astype(np.complex128)))
        results.append([y] + [t.grad for t in ins])
    for e, t in zip(*results, strict=True):
        assert_close(e, t, rtol=1e-6, atol=1e-6)


def test_complex_gauge_errors() -> None:
    g = np.random.default_rng(0)
    a = g.standard_normal((3, 3)) + 1j * g.standard_normal((3, 3))

    def phase_dependent(lib, fn):  # noqa: ANN001, ANN202
        return lambda: fn(lib, lib.tensor(a, requires_grad=True)).sum().backward()

    for fn in (lambda lib, x: lib.linalg.svd(x).U.real, lambda lib, x: lib.linalg.eigh(x + x.mH)[1].real):
        assert_same_error(phase_dependent(ember, fn), phase_dependent(torch, fn))
