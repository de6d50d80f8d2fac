"""torch.linalg and its torch aliases compared with torch (regressions found by differential fuzzing)."""
import math
import warnings

import numpy as np
import pytest

import ember
from oracle import same_exception, torch

INF, NAN = math.inf, math.nan


def _run(fn, lib):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(lib)
    except Exception as e:   # noqa: BLE001 - the exception is the compared result
        return e


def _same(t, e):
    """Same exception (type name and text), or same dtype, shape and values (NaNs equal)."""
    if same_exception(t, e, lines=None):
        return
    if isinstance(t, (tuple, list)):
        assert len(e) == len(t)
        for a, b in zip(t, e, strict=True):
            _same(a, b)
        return
    assert str(e.dtype) == str(t.dtype)
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.float().numpy() if e.dtype is ember.bfloat16 else e.numpy(),
                               t.float().numpy() if t.dtype is torch.bfloat16 else t.numpy(),
                               rtol=1e-6, atol=1e-12, equal_nan=True)


def _check(fn):
    _same(_run(fn, torch), _run(fn, ember))


def _t(lib, a, dtype="float64"):
    return lib.tensor(np.asarray(a, dtype=np.float64)).to(getattr(lib, dtype))


_EMPTY_OK = {   # torch returns before the LAPACK kernel's dtype check for empty inputs
    "det": lambda L, a: L.linalg.det(a),
    "cholesky_ex": lambda L, a: L.linalg.cholesky_ex(a),
    "eigh": lambda L, a: L.linalg.eigh(a),
    "ldl_factor": lambda L, a: L.linalg.ldl_factor(a),
    "lu": lambda L, a: L.linalg.lu(a),
    "lu_factor_ex": lambda L, a: L.linalg.lu_factor_ex(a),
    "solve": lambda L, a: L.linalg.solve(a, a),
    "svd": lambda L, a: L.linalg.svd(a),
    "qr": lambda L, a: L.linalg.qr(a),   # not skipped by torch: geqrf refuses
}


@pytest.mark.parametrize("name", sorted(_EMPTY_OK))
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "int64"])
@pytest.mark.parametrize("shape", [(2, 0, 0), (0, 3, 3), (3, 3)])
def test_empty_low_precision_inputs(name, dtype, shape):
    _check(lambda L: _EMPTY_OK[name](L, _t(L, np.eye(3)[:shape[-2], :shape[-1]] * np.ones(shape), dtype)))


@pytest.mark.parametrize("kw", [{}, {"atol": 0.5}, {"rtol": 0.1}, {"tol": 0.5}, {"rtol": 0.1, "hermitian": True}])
@pytest.mark.parametrize("dtype", ["float16", "int64"])
@pytest.mark.parametrize("shape", [(0, 2), (2, 2)])
def test_matrix_rank_pinv_dtype_paths(kw, dtype, shape):
    _check(lambda L: L.linalg.matrix_rank(_t(L, np.ones(shape), dtype), **kw))
    if "tol" not in kw:
        _check(lambda L: L.linalg.pinv(_t(L, np.ones(shape), dtype), **kw))


def test_lu_pivots_like_lapack():
    """getrf pivots on |re| + |im| for complex entries; NaN wins only in the first place."""
    for col in ([3, 2 + 2j, 0], [1, NAN, 5], [NAN, 5, 1]):
        a = np.eye(3, dtype=complex) + 0.5
        a[:, 0] = col
        _check(lambda L, a=a: L.linalg.lu_factor(L.tensor(a)))
        _check(lambda L, a=a: L.linalg.lu_factor(L.tensor(a.real.copy())))


def test_lu_solve_empty_and_pivot_bounds():
    lu = np.eye(3)
    for piv, b, dt in (([0, 2, 3], (3, 2), "float32"), ([1, 2, 4], (3, 2), "float16"), ([0, 2, 3], (3, 0), "float16"),
                       ([1, 2, 3], (3, 2), "float16")):
        _check(lambda L, piv=piv, b=b, dt=dt: L.linalg.lu_solve(_t(L, lu, dt), L.tensor(piv, dtype=L.int32),
                                                                _t(L, np.ones(b), dt)))


@pytest.mark.parametrize("ord", ["nuc", 2, -2, 1, -1, INF, -INF])
@pytest.mark.parametrize("shape", [(0, 3), (2, 0, 3)])
def test_matrix_norm_empty(ord, shape):
    _check(lambda L: L.linalg.matrix_norm(_t(L, np.ones(shape), "float32"), ord))
    _check(lambda L: L.linalg.matrix_norm(_t(L, np.ones(shape), "float16"), ord, (-1, -2)))


@pytest.mark.parametrize("ord", [-1, -0.5, INF, 0, 2])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 1)])
def test_vector_norm_empty_dims(ord, dim):
    _check(lambda L: L.linalg.vector_norm(L.zeros(0, 3), ord, dim))


def test_norm_argument_checks_order():
    _check(lambda L: L.linalg.norm(L.ones(4, 2, dtype=L.float16), "nuc", -1))
    _check(lambda L: L.linalg.norm(L.ones(4, 2, dtype=L.int64), "fro", 0))
    _check(lambda L: L.linalg.norm(L.ones(4, 2, dtype=L.int64), None, (0, 1)))
    _check(lambda L: L.linalg.matrix_norm(L.ones(3, dtype=L.float16), 3, (0,)))
    _check(lambda L: L.linalg.matrix_norm(L.ones(3, 3, dtype=L.float16), 2, (0,)))
    for dt in ("float16", "bfloat16", "bool", "int8"):
        _check(lambda L, dt=dt: L.linalg.vander(L.ones(3, dtype=getattr(L, dt)), N=1))


@pytest.mark.parametrize("a_shape,b_shape", [((4, 4), (4,)), ((1, 1), (1,)), ((2, 3, 3), (2, 3)), ((3, 3), (2, 3))])
def test_solve_right_side_vectors(a_shape, b_shape):
    _check(lambda L: L.linalg.solve(L.eye(a_shape[-1]).expand(*a_shape), L.ones(b_shape), left=False))
    _check(lambda L: L.linalg.solve(L.eye(a_shape[-1], dtype=L.float16).expand(*a_shape),
                                    L.ones(b_shape, dtype=L.float16), left=False))
    _check(lambda L: L.linalg.solve_triangular(L.eye(a_shape[-1], dtype=L.float16).expand(*a_shape),
                                               L.ones(b_shape + (2,), dtype=L.float16), upper=True))


def test_singular_error_types_and_names():
    z = [[1.0, 2.0], [2.0, 4.0]]
    _check(lambda L: L.linalg.lu_factor(_t(L, z)))   # a plain RuntimeError in torch
    _check(lambda L: L.linalg.lu_factor_ex(_t(L, [z, z]), check_errors=True))
    _check(lambda L: L.lu(_t(L, z)))                 # torch.lu never raises
    _check(lambda L: L.linalg.tensorinv(_t(L, z), 1))
    _check(lambda L: L.cholesky_inverse(_t(L, [[1.0, 0.0], [5.0, 0.0]])))
    _check(lambda L: L.cholesky_inverse(_t(L, [[[1.0, 0.0], [5.0, 1.0]], [[1.0, 0.0], [5.0, 0.0]]]), upper=True))
    _check(lambda L: L.cholesky_inverse(_t(L, [[1.0, 0.0], [5.0, NAN]])))
    assert type(_run(lambda L: L.linalg.ldl_factor(L.zeros(2, 2)), ember)) is RuntimeError


_OUTS = {   # torch's out= dtype checks differ per function: exact, castable (named) or own wording
    "inv": lambda L, A, o: L.linalg.inv(A, out=o),
    "solve_triangular": lambda L, A, o: L.linalg.solve_triangular(A, A, upper=True, out=o),
    "matrix_norm": lambda L, A, o: L.linalg.matrix_norm(A, out=o),
    "norm": lambda L, A, o: L.linalg.norm(A, out=o),
    "matrix_power": lambda L, A, o: L.linalg.matrix_power(A, 2, out=o),
    "pinv": lambda L, A, o: L.linalg.pinv(A, out=o),
    "multi_dot": lambda L, A, o: L.linalg.multi_dot([A, A], out=o),
    "vecdot": lambda L, A, o: L.linalg.vecdot(A, A, out=o),
    "tensordot": lambda L, A, o: L.tensordot(A, A, out=o),
    "eigvals": lambda L, A, o: L.linalg.eigvals(A, out=o),
    "lu_solve": lambda L, A, o: L.linalg.lu_solve(*L.linalg.lu_factor(A), A, out=o),
    "cholesky_inverse": lambda L, A, o: L.cholesky_inverse(A, out=o),
}


@pytest.mark.parametrize("name", sorted(_OUTS))
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_out_dtype_checks(name, dtype):
    _check(lambda L: _OUTS[name](L, L.eye(3, dtype=L.float64) * 2 + 0.1, L.empty(0, dtype=getattr(L, dtype))))


@pytest.mark.parametrize("a_shape,b_shape", [((1, 3, 2), (3, 2)), ((0, 3, 2), (3, 2)), ((3, 2), (4,)),
                                             ((2, 3, 2), (3,)), ((2, 0, 5), (2, 0)), ((0, 3, 1), (0, 3)),
                                             ((3, 0), (3, 2))])
@pytest.mark.parametrize("driver", ["gelsy", "gels", "gelsd"])
def test_lstsq_shapes_and_checks(a_shape, b_shape, driver):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    _check(lambda L: tuple(L.linalg.lstsq(L.tensor(a), L.tensor(b), driver=driver)))
    _check(lambda L: L.linalg.lstsq(L.tensor(a).half(), L.tensor(b).half(), rcond=0.1, driver=driver))


def test_argument_checks_misc():
    _check(lambda L: tuple(L.triangular_solve(L.ones(2, 3, 2), L.eye(3))))
    _check(lambda L: L.linalg.tensorsolve(L.ones(6, 2, 3), L.ones(6), dims=(0,)))
    _check(lambda L: L.linalg.solve(L.ones(3, 4, dtype=L.complex64), L.ones(3, 2, dtype=L.float64)))
    _check(lambda L: L.linalg.solve(L.ones(3, 4, dtype=L.int64), L.ones(3, 2)))
    _check(lambda L: L.linalg.matrix_norm(L.ones(2, 3, 4), 1, (-3, 0), dtype=L.complex128))
    _check(lambda L: L.linalg.matrix_norm(L.ones(2, 3, 4), "fro", dtype=L.complex128))
    _check(lambda L: L.linalg.matrix_norm(L.ones(2, 3, 4), 2, dtype=L.float16))
    _check(lambda L: L.lu_unpack(*L.linalg.lu_factor(L.zeros(2, 0, 0))))


_TUPLE_OUTS = {   # (function, the out kinds: f result dtype, i int32)
    "slogdet": (lambda L, A, o: L.linalg.slogdet(A, out=o), "ff"),
    "lu_factor_ex": (lambda L, A, o: L.linalg.lu_factor_ex(A, out=o), "fii"),
    "cholesky_ex": (lambda L, A, o: L.linalg.cholesky_ex(A, out=o), "fi"),
    "svd": (lambda L, A, o: L.linalg.svd(A, out=o), "fff"),
    "eig": (lambda L, A, o: L.linalg.eig(A, out=o), "cc"),
    "geqrf": (lambda L, A, o: L.geqrf(A, out=o), "ff"),
    "ldl_factor": (lambda L, A, o: L.linalg.ldl_factor(A, out=o), "fi"),
}


@pytest.mark.parametrize("name", sorted(_TUPLE_OUTS))
@pytest.mark.parametrize("bad", ["float32", "int64"])
def test_tuple_out_dtype_checks(name, bad):
    fn, kinds = _TUPLE_OUTS[name]
    for k in range(len(kinds)):
        def call(L, k=k):
            dts = {"f": L.float64, "i": L.int32, "c": L.complex128, "l": L.int64}
            outs = tuple(L.empty(0, dtype=getattr(L, bad) if j == k else dts[c]) for j, c in enumerate(kinds))
            return fn(L, L.eye(3, dtype=L.float64) * 2 + 0.1, outs)
        _check(call)
    _check(lambda L: fn(L, L.eye(3), tuple(L.empty(0) for _ in kinds[1:])))   # a tuple of the wrong length


@pytest.mark.parametrize("a_shape,b_shape", [((3, 2), (1, 3)), ((1, 2), (3, 2)), ((1, 3), (3, 3)), ((2, 3), (2, 1, 3))])
def test_cross_default_dim_from_input(a_shape, b_shape):
    _check(lambda L: L.cross(L.ones(a_shape), L.arange(float(math.prod(b_shape))).reshape(b_shape)))


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_cholesky_solve_inverse_checks_before_kernel(dtype):
    for b, a in (((3, 2), (3, 4)), ((3, 2), (4, 4)), ((2, 4, 2), (3, 4, 4))):
        _check(lambda L, b=b, a=a: L.cholesky_solve(L.ones(b, dtype=getattr(L, dtype)),
                                                    L.ones(a, dtype=getattr(L, dtype))))
    _check(lambda L: L.cholesky_inverse(L.ones(3, 4, dtype=getattr(L, dtype))))


@pytest.mark.parametrize("beta", [0.5, 2.0, 0.0, 2, 1 + 0j, 1 + 1j])
def test_fused_products_empty_contraction_beta(beta):
    """addmm/baddbmm/addbmm with k == 0 scale input in place, refusing a scalar beta of a higher category."""
    _check(lambda L: L.addmm(L.full((1, 1), 3, dtype=L.int64), L.ones(1, 0, dtype=L.int64),
                             L.ones(0, 2, dtype=L.int64), beta=beta))
    _check(lambda L: L.baddbmm(L.full((1, 1, 2), 3.0), L.ones(1, 1, 0), L.ones(1, 0, 2), beta=beta))
    _check(lambda L: L.addbmm(L.full((1, 2), 3, dtype=L.int64), L.ones(1, 1, 0, dtype=L.int64),
                              L.ones(1, 0, 2, dtype=L.int64), beta=beta))
    _check(lambda L: L.baddbmm(L.ones(2, 0, 4, dtype=L.int64), L.ones(2, 0, 0, dtype=L.int64),
                               L.ones(2, 0, 4, dtype=L.int64), beta=beta))   # an empty result: nothing scaled


_SHAPE_ERRORS = [   # argument checks in torch's order and words
    lambda L: L.linalg.matrix_rank(L.ones(3)),
    lambda L: L.linalg.tensorinv(L.ones(3)),
    lambda L: L.svd(L.ones(3)),
    lambda L: L.cholesky(L.ones(3, 4)),
    lambda L: L.lu(L.ones(3)),
    lambda L: L.linalg.solve_ex(L.eye(3), L.ones(4, 3, 2))[1],   # info keeps A's batch shape
    lambda L: L.linalg.solve_triangular(L.ones(3, 4), L.ones(3), upper=True),
    lambda L: L.linalg.multi_dot([L.ones(3), L.ones(2, 3)]),
    lambda L: L.linalg.lu_solve(*L.linalg.lu_factor(L.eye(3).expand(2, 3, 3)), L.ones(4, 3, 2)),
    lambda L: L.linalg.lu_solve(L.ones(3, 4), L.ones(3, dtype=L.int32), L.ones(3)),
    lambda L: L.linalg.ldl_solve(*L.linalg.ldl_factor(L.eye(3).expand(2, 3, 3)), L.ones(4, 3, 2)),
    lambda L: L.triangular_solve(L.ones(3), L.ones(3, 3)),
    lambda L: L.triangular_solve(L.ones(2, 2), L.eye(3)),
    lambda L: L.triangular_solve(L.ones(3, 2), L.ones(3, 4)),
    lambda L: L.linalg.tensorsolve(L.ones(3, 3), L.ones(2, 3, 3)),
    lambda L: L.linalg.householder_product(L.ones(4, 3), L.ones(3, 2)),
    lambda L: L.linalg.householder_product(L.ones(2, 4, 3), L.ones(1, 3)),
    lambda L: L.ormqr(L.ones(3), L.ones(3), L.ones(3, 3)),
    lambda L: L.ormqr(L.ones(4, 3), L.ones(3), L.ones(3, 2)),
    lambda L: L.ormqr(L.ones(4, 2), L.ones(1), L.ones(4, 2)),
    lambda L: L.ormqr(L.ones(4, 3), L.ones(3), L.ones(4, 2, 2)),
    lambda L: L.ormqr(L.ones(2, 4, 3), L.ones(2, 3), L.ones(1, 4, 2)),
    lambda L: L.ormqr(L.ones(4, 3), L.ones(3, dtype=L.float64), L.ones(4, 2)),
    lambda L: L.linalg.cross(L.ones(3), L.ones(1, 3), dim=1),
    lambda L: L.linalg.cross(L.ones(()), L.ones(())),
    lambda L: L.trace(L.ones((), dtype=L.bool)),
    lambda L: L.tensordot(L.ones(3), L.ones(2, 3, dtype=L.float64), 1),
    lambda L: L.einsum("ij,jk->ik", L.ones(2, 3), L.ones(2, 3, dtype=L.float64)),
]


@pytest.mark.parametrize("case", range(len(_SHAPE_ERRORS)))
def test_shape_errors(case):
    _check(_SHAPE_ERRORS[case])


@pytest.mark.parametrize("dtype", ["int64", "int32", "float32", "float16"])
def test_fused_products_complex_scalars(dtype):
    for beta, alpha in ((1 + 0j, 2.7 + 0j), (1 + 1j, 1), (1, 2 - 1j)):
        _check(lambda L, beta=beta, alpha=alpha: L.addmm(
            L.ones(1, 2, dtype=getattr(L, dtype)), L.ones(1, 2, dtype=getattr(L, dtype)),
            L.ones(2, 2, dtype=getattr(L, dtype)), beta=beta, alpha=alpha))


_EMPTY_PRODUCTS = [   # an empty result or contraction runs no kernel: no dtype refusal
    lambda L: L.mm(L.ones(1, 0, dtype=L.bool), L.ones(0, 2, dtype=L.bool)),
    lambda L: L.mm(L.ones(0, 3, dtype=L.bool), L.ones(3, 2, dtype=L.bool)),
    lambda L: L.bmm(L.ones(2, 1, 0, dtype=L.bool), L.ones(2, 0, 2, dtype=L.bool)),
    lambda L: L.mv(L.ones(2, 0, dtype=L.bool), L.ones(0, dtype=L.bool)),
    lambda L: L.matmul(L.ones(3, 2, 0, dtype=L.bool), L.ones(3, 0, 2, dtype=L.bool)),
    lambda L: L.addmm(L.ones(1, 2, dtype=L.bool), L.ones(1, 0, dtype=L.bool), L.ones(0, 2, dtype=L.bool)),
    lambda L: L.mm(L.ones(1, 0, dtype=L.uint16), L.ones(0, 2, dtype=L.uint16)),
]


@pytest.mark.parametrize("case", range(len(_EMPTY_PRODUCTS)))
def test_empty_products_skip_kernel_checks(case):
    _check(_EMPTY_PRODUCTS[case])


@pytest.mark.parametrize("a_shape,b_shape,dims", [((1, 3), (3,), 1), ((2, 3), (2, 3), 2), ((3,), (3, 2), 1)])
def test_tensordot_vector_contraction_is_dot(a_shape, b_shape, dims):
    """torch contracts to a dot when neither side keeps more than one element (its graph and kernel)."""
    def run(L):
        a = L.ones(a_shape, requires_grad=True)
        r = L.tensordot(a, L.arange(float(math.prod(b_shape))).reshape(b_shape), dims)
        r.sum().backward()
        return r.grad_fn.next_functions[0][0].name(), r.detach(), a.grad
    t, e = run(torch), run(ember)
    assert t[0] == e[0]
    _same(t[1:], e[1:])
    _check(lambda L: L.inner(L.ones(3, dtype=L.bool), L.ones(3, dtype=L.bool)))
