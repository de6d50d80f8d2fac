"""Reductions, scans, sorting and statistics compared with torch (regressions found by differential fuzzing)."""
import numpy as np
import pytest

import ember
from oracle import outcomes, same_exception, torch

INF, NAN = float("inf"), float("nan")


def _same(t, e):
    """Same exception (type and text), or same dtype, shape and values (NaNs equal) element by element."""
    if same_exception(t, e, lines=None):
        return
    if isinstance(t, (tuple, list)):
        assert type(e).__name__ == type(t).__name__ and len(e) == len(t)
        for a, b in zip(t, e, strict=True):
            _same(a, b)
        return
    assert str(e.dtype) == str(t.dtype)
    assert tuple(e.shape) == tuple(t.shape)
    if t.dtype == torch.bfloat16:
        e, t = e.float(), t.float()
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6, atol=0, equal_nan=True)


def _check(fn):
    _same(*outcomes(fn))


@pytest.mark.parametrize("values", [[1, INF], [INF, 1], [1, INF, 2], [INF, INF], [INF],
                                    [NAN + 1j, 2 + 3j], [INF + 1j, 2 + 3j], [1 + 1j, 2 + INF * 1j]])
@pytest.mark.parametrize("op", ["var_mean", "std_mean"])
def test_moments_mean_of_infinities_as_welford(op, values):
    """The mean of var_mean/std_mean is Welford's: an infinity not reduced last turns it NaN (per complex part)."""
    _check(lambda m: getattr(m, op)(m.tensor(values), correction=0))


def test_var_mean_infinity_along_dims():
    x = [[1.0, INF, 3.0], [2.0, 3.0, INF]]
    for dim in (0, 1, (0, 1)):
        _check(lambda m, dim=dim: m.var_mean(m.tensor(x), dim))


@pytest.mark.parametrize("kw", [{"dim": 5}, {"dim": 1, "prepend": [[5]]}, {"dim": 1, "append": [[5]]},
                                {"dim": 0, "prepend": [[5]]}, {"dim": 5, "prepend": [[5]]}])
@pytest.mark.parametrize("n", [0, 1])
def test_diff_order_zero(n, kw):
    """n=0 returns a copy of the input: prepend/append are checked but not joined, dim is not checked."""
    _check(lambda m: m.diff(m.tensor([[1, 2, 4]]), n, **{k: m.tensor(v) if k != "dim" else v
                                                      for k, v in kw.items()}))


@pytest.mark.parametrize("op", ["sum", "prod", "cumsum", "cumprod", "nansum", "mean", "nanmean"])
@pytest.mark.parametrize("out_dtype", ["int32", "bool", "float16", "complex64", "float64"])
@pytest.mark.parametrize("dtype", [None, "float32"])
def test_out_dtype_rules_of_sums(op, out_dtype, dtype):
    """Without dtype= sum/prod/cumsum/cumprod compute in out's dtype (1.5 -> 1 for int32); with it, out must match."""
    def fn(m):
        kw = {"dtype": getattr(m, dtype)} if dtype else {}
        return getattr(m, op)(m.tensor([1.5, 2.5, 0.5]), 0, out=m.empty(0, dtype=getattr(m, out_dtype)), **kw)
    _check(fn)
    _check(lambda m: getattr(m, op)(m.tensor([1, 2]), 0, out=m.empty(0, dtype=getattr(m, out_dtype))))


@pytest.mark.parametrize("op", ["amax", "amin", "all", "any", "logsumexp"])
@pytest.mark.parametrize("out_dtype", ["uint8", "int32", "bool", "float64", "float32"])
def test_out_dtype_checks_of_reductions(op, out_dtype):
    _check(lambda m: getattr(m, op)(m.tensor([1.0, 0.0]), 0, out=m.empty(0, dtype=getattr(m, out_dtype))))
    _check(lambda m: getattr(m, op)(m.tensor([1.0, 0.0]), 3, out=m.empty(0, dtype=getattr(m, out_dtype))))


def test_mean_of_complex_into_real_out_and_norm_out():
    _check(lambda m: m.mean(m.tensor([1 + 1j, 2 + 5j]), 0, out=m.empty(0)))
    _check(lambda m: m.norm(m.tensor([3.0, 4.0]), 2, 0, out=m.empty(0, dtype=m.float64)))


@pytest.mark.parametrize("x", ["float64", "complex128", "float16"])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "complex64", "int32", "float64", "complex128"])
def test_vector_norm_dtype_checks(x, dtype):
    _check(lambda m: m.linalg.vector_norm(m.ones(2, dtype=getattr(m, x)), dtype=getattr(m, dtype)))


@pytest.mark.parametrize("a, b", [("int64", "float32"), ("int64", "complex64"), ("int64", "int64"), ("uint8", "bool"),
                                  ("float16", "float64")])
def test_dist_promotes_before_its_dtype_check(a, b):
    _check(lambda m: m.dist(m.tensor([1, 2], dtype=getattr(m, a)), m.tensor([1, 0], dtype=getattr(m, b))))


@pytest.mark.parametrize("op", ["cummax", "cummin"])
@pytest.mark.parametrize("x", [lambda m: m.tensor(1 + 1j), lambda m: m.zeros(0, 3, dtype=m.complex64),
                               lambda m: m.tensor([1 + 1j, 2 - 1j]), lambda m: m.zeros(0, 3)])
@pytest.mark.parametrize("dim", [0, 3])
def test_cummax_checks_dim_before_dtype_and_skips_empty(op, x, dim):
    _check(lambda m: tuple(getattr(m, op)(x(m), dim)))


def test_logcumsumexp_complex():
    vals = [1 + 1j, complex(INF, 0), complex(-INF, 2), complex(INF, 1), complex(NAN, 0), 2 - 1j, complex(-INF, 0)]
    for a in vals:
        _check(lambda m, a=a: m.logcumsumexp(m.tensor([[a, b] for b in vals], dtype=m.complex128), 1))
    x = [[-1.87 - 1.67j, 2.92 + 1.45j, -2.1 + 0.3j], [0.25 + 0.53j, 0.9 - 1.45j, -3.0 + 2.7j]]
    _check(lambda m: m.logcumsumexp(m.tensor(x, dtype=m.complex64), 1))   # the imaginary branch of a running sum
    e = ember.tensor(x, dtype=ember.complex128, requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: ember.logcumsumexp(t, 1), (e,))


def test_cumulative_start_values():
    """torch's running sum starts at +0 and its running product at 1+0j (multiplied in the naive way)."""
    _check(lambda m: m.cumsum(m.tensor([-0.0, -0.0]), 0).sign() + 1 / m.cumsum(m.tensor([-0.0, -0.0]), 0))
    _check(lambda m: m.cumprod(m.tensor([complex(INF, 1.5), 2 + 1j]), 0))


@pytest.mark.parametrize("b, v", [("int16", "bfloat16"), ("int64", "bfloat16"), ("bool", "bool"),
                                  ("float64", "complex64"), ("uint8", "int8")])
def test_searchsorted_promotes_its_operands(b, v):
    def bounds(m):
        return m.tensor([1, 5, 9], dtype=getattr(m, b))
    _check(lambda m: m.searchsorted(bounds(m), m.tensor([4.5, 5, -1], dtype=getattr(m, v))))
    _check(lambda m: m.searchsorted(bounds(m), m.zeros(0, 2, dtype=getattr(m, v))))


def test_searchsorted_empty_boundaries_and_bincount_of_nothing():
    _check(lambda m: m.searchsorted(m.zeros(2, 3, 0), m.ones(2, 3, 2)))
    _check(lambda m: m.bincount(m.tensor([], dtype=m.int32), m.tensor([]), 3))


@pytest.mark.parametrize("call", [
    lambda m: m.nansum(m.tensor([NAN, 2.5]), 0, dtype=m.int64),          # NaN zeroed before the cast
    lambda m: m.nansum(m.tensor([1.0, 2.0]), 0, dtype=m.complex64),
    lambda m: m.nanmean(m.zeros(0), 0, True, dtype=m.complex128),        # no kernel runs on an empty input
    lambda m: m.nansum(m.tensor([1, 2]), 0, dtype=m.complex64),           # integers take the sum path
    lambda m: m.nansum(m.tensor([1.0, 2.0]), 3, out=m.empty(0, dtype=m.int8)),
    lambda m: m.nansum(m.tensor([1.0, 2.0]), 0, dtype=m.int16, out=m.empty(0, dtype=m.int8)),
    lambda m: m.nansum(m.tensor([1.0, 2.0]), 3, dtype=m.complex64, out=m.empty(0)),
    lambda m: m.nansum(m.tensor([1 + 1j]), 3),
    lambda m: m.nanmean(m.tensor([1.0, 2.0]), 0, dtype=m.int64),
    lambda m: m.nanmean(m.zeros(0), 0, out=m.empty(0, dtype=m.int64)),
    lambda m: m.mean(m.tensor([0.3, 0.1, 0.7], dtype=m.float16), 0, out=m.empty(0)),   # summed in out's dtype
    lambda m: m.sum(m.tensor([1j, 0j]), 0, out=m.empty(0, dtype=m.bool)),
    lambda m: m.sum(m.tensor([1 + 2j, 2.5 - 1j]), 0, out=m.empty(0, dtype=m.int32)),
])
def test_nansum_nanmean_and_out_casts(call):
    _check(call)


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int32", "float16", "bfloat16", "complex64"])
@pytest.mark.parametrize("kw", [{}, {"range": (-1.0, 1.0)}, {"range": (1.0, -1.0)}, {"range": (0.0, 2.0)}])
def test_histogram_checks_in_torch_order(dtype, kw):
    """Range check, then the min/max kernel (float32/64), linspace in the input's dtype, the histogram kernel."""
    def x(m):
        return m.tensor([0.25, 1.5, 0.75, 0.5]).to(getattr(m, dtype))
    _check(lambda m: tuple(m.histogram(x(m), 3, **kw)))
    _check(lambda m: tuple(m.histogram(m.zeros(0, dtype=getattr(m, dtype)), 2, **kw)))
    lo, hi = kw.get("range", (0.0, 0.0))
    _check(lambda m: m.histc(x(m), 3, lo, hi))


def test_histogram_weight_dtype_and_half_edges():
    _check(lambda m: tuple(m.histogram(m.tensor([1.0]), 2, range=(0.0, 1.0), weight=m.tensor([1.0], dtype=m.float64))))
    def half(m, values):
        return m.tensor(values, dtype=m.float16)
    _check(lambda m: tuple(m.histogram(half(m, [0.1, 0.9]), half(m, [0.0, 0.5, 1.0]), weight=half(m, [2.0, 1.0]),
                                       density=True)))


_SELECTING = {
    "sort": lambda m, x, d: m.sort(x, d), "argsort": lambda m, x, d: m.argsort(x, d),
    "topk": lambda m, x, d: m.topk(x, 1, d), "topk_k": lambda m, x, d: m.topk(x, 5, d),
    "kthvalue": lambda m, x, d: m.kthvalue(x, 1, d), "kthvalue_k": lambda m, x, d: m.kthvalue(x, 5, d),
    "median": lambda m, x, d: m.median(x, d), "mode": lambda m, x, d: m.mode(x, d),
    "aminmax": lambda m, x, d: m.aminmax(x, dim=d), "max": lambda m, x, d: m.max(x, d),
    "amax": lambda m, x, d: m.amax(x, d), "max_all": lambda m, x, d: m.max(x),
    "aminmax_all": lambda m, x, d: m.aminmax(x),
    "unique": lambda m, x, d: m.unique(x, dim=d), "unique_consecutive": lambda m, x, d: m.unique_consecutive(x, dim=d),
}


@pytest.mark.parametrize("op", sorted(_SELECTING))
@pytest.mark.parametrize("dtype", ["complex64", "bool"])
@pytest.mark.parametrize("shape", [(), (2,), (0, 2)])
@pytest.mark.parametrize("dim", [0, -1, 3])
def test_dim_size_and_k_checks_come_before_dtype_checks(op, dtype, shape, dim):
    def fn(m):
        r = _SELECTING[op](m, m.zeros(shape, dtype=getattr(m, dtype)), dim)
        return tuple(r) if isinstance(r, tuple) else r
    _check(fn)


def test_unique_dim_with_nan_in_torchs_sort_order():
    """unique(dim=) std::sorts slices with a comparator NaN cannot order: the result depends on the swaps."""
    _check(lambda m: m.unique(m.tensor([NAN, 1.0, NAN, 0.0, 1.0]), dim=0, return_inverse=True, return_counts=True))
    rows = [[NAN, 1.0], [0.0, 2.0], [NAN, 0.0], [1.0, NAN], [0.0, 2.0], [1.0, NAN]] * 3
    _check(lambda m: m.unique(m.tensor(rows), dim=0, return_inverse=True, return_counts=True))


@pytest.mark.parametrize("x", [[1.0, 2.0], [], [1, 2]])
@pytest.mark.parametrize("q", [1.5, "t1.5", "t2d", "t64"])
@pytest.mark.parametrize("interpolation", ["linear", "bogus"])
@pytest.mark.parametrize("dim", [None, 3])
def test_quantile_checks_in_torch_order(x, q, interpolation, dim):
    def quantile(m):
        qs = {"t1.5": m.tensor([1.5]), "t2d": m.tensor([[0.5]]), "t64": m.tensor([0.5], dtype=m.float64)}
        return m.quantile(m.tensor(x), qs.get(q, q), dim, interpolation=interpolation)
    _check(quantile)


def test_quantile_list_q_is_a_type_error():
    with pytest.raises(TypeError, match=r"^quantile\(\) received an invalid combination of arguments - got "):
        ember.quantile(ember.tensor([1.0, 2.0]), [0.5])


@pytest.mark.parametrize("call", [
    lambda m: m.cov(m.tensor([[True, False]])),
    lambda m: m.corrcoef(m.tensor([[True, False]])),
    lambda m: m.corrcoef(m.zeros(2, 2, 2)),
    lambda m: m.cov(m.tensor([[1.0, 2.0], [3.0, 5.0]]), fweights=m.tensor([0, 0])),
    lambda m: m.cov(m.zeros(3, 0), aweights=m.zeros(0)),
])
def test_cov_checks(call):
    _check(call)


@pytest.mark.parametrize("y", [lambda m: m.tensor(1.0), lambda m: m.tensor([True, False]), lambda m: m.tensor(True),
                               lambda m: m.zeros(2, 0, dtype=m.int32), lambda m: m.zeros(2, 0, dtype=m.bool)])
@pytest.mark.parametrize("kw", [{}, {"dim": 2}, {"dx": 2}, {"x": [1.0, 2.0]}, {"x": [1.0, 2.0], "dim": 3}])
@pytest.mark.parametrize("op", ["trapezoid", "cumulative_trapezoid"])
def test_trapezoid_checks_and_empty_results(op, y, kw):
    _check(lambda m: getattr(m, op)(y(m), **{k: m.tensor(v) if k == "x" else v for k, v in kw.items()}))


@pytest.mark.parametrize("shape", [(), (2,), (2, 2)])
@pytest.mark.parametrize("p, maxnorm", [(1, -1.0), (0, 1.0), (-1, -1.0), (2, 1.0), (2, -1.5)])
def test_renorm_checks_in_torch_order(shape, p, maxnorm):
    _check(lambda m: m.renorm(m.ones(shape), p, 0, maxnorm))


@pytest.mark.parametrize("x", [lambda m: m.zeros(0), lambda m: m.ones(2, 3), lambda m: m.tensor(1.0),
                               lambda m: m.tensor(1 + 5j), lambda m: m.tensor(float("inf"))])
@pytest.mark.parametrize("dim", [(), 0, None])
@pytest.mark.parametrize("keepdim", [False, True])
def test_logsumexp_empty_dims_none_and_0d(x, dim, keepdim):
    """dim=() without keepdim fails in torch (its in-place add of the unsqueezed maxima); 0-d is exact."""
    _check(lambda m: m.logsumexp(x(m), dim, keepdim))


_NAMED = {
    "max": lambda m, x, d, o: m.max(x, d, out=o), "median": lambda m, x, d, o: m.median(x, d, out=o),
    "mode": lambda m, x, d, o: m.mode(x, d, out=o), "kthvalue": lambda m, x, d, o: m.kthvalue(x, 1, d, out=o),
    "sort": lambda m, x, d, o: m.sort(x, d, out=o), "topk": lambda m, x, d, o: m.topk(x, 1, d, out=o),
    "cummax": lambda m, x, d, o: m.cummax(x, d, out=o), "aminmax": lambda m, x, d, o: m.aminmax(x, dim=d, out=o),
}


@pytest.mark.parametrize("op", sorted(_NAMED))
@pytest.mark.parametrize("dtypes", [("float64", "int64"), ("float32", "int32"), ("float64", "int32"),
                                    ("float32", "int64")])
@pytest.mark.parametrize("dim", [1, 5])
def test_named_out_dtype_checks(op, dtypes, dim):
    """Each op's own words and order (median checks the indices first; mode and cummax before dim)."""
    def fn(m):
        out = tuple(m.empty(0, dtype=getattr(m, d)) for d in dtypes)
        return tuple(_NAMED[op](m, m.tensor([[1.0, 3.0, 2.0], [0.0, 5.0, 1.0]]), dim, out))
    _check(fn)


def test_var_mean_warns_on_an_empty_result():
    for m in (torch, ember):
        with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
            m.var_mean(m.zeros(0, 2), -1)


@pytest.mark.parametrize("call", [
    lambda m: m.std_mean(m.tensor([[1.5 + 0j, 2 + 1j], [0.5 + 0j, 3 - 1j]]), 0, correction=10),   # 0/0 imag: NaN
    lambda m: m.var(m.tensor([[1.5 + 2j, 2 + 1j], [0.5 - 1j, 3 - 1j]]), 1),
    lambda m: m.std(m.zeros(0, 4), correction=-1),
    lambda m: m.var_mean(m.zeros(0, 2), 0, correction=-2),
])
def test_var_of_complex_parts_and_of_nothing(call):
    _check(call)


@pytest.mark.parametrize("shape, dim", [((4, 0, 0), -2), ((4, 0, 0), 0), ((0, 3), 0), ((2, 0), 0), ((0, 0), 0)])
@pytest.mark.parametrize("op", ["unique", "unique_consecutive"])
def test_unique_dim_of_empty_tensors(op, shape, dim):
    _check(lambda m: getattr(m, op)(m.zeros(shape, dtype=m.int32), dim=dim, return_inverse=True, return_counts=True))


@pytest.mark.parametrize("shape", [(0, 3), (0,), (3,), ()])
@pytest.mark.parametrize("dim", [None, 0, 3, []])
@pytest.mark.parametrize("dtype", [None, "bool", "complex128", "float64"])
def test_vector_norm_checks_in_torch_order(shape, dim, dtype):
    """Empty-input checks of the identity-less norms, then dtype=, then dim."""
    def fn(m):
        kw = {"dtype": getattr(m, dtype)} if dtype else {}
        return m.linalg.vector_norm(m.zeros(shape, dtype=m.float16), float("-inf"), dim, **kw)
    _check(fn)


@pytest.mark.parametrize("dtype", ["float64", "float16", "complex64"])
def test_mean_into_an_integer_out(dtype):
    """torch sums into out= and then divides in place: the float quotient cannot be cast back."""
    _check(lambda m: m.mean(m.ones(2, dtype=getattr(m, dtype)), 0, out=m.empty(0, dtype=m.int64)))
    _check(lambda m: m.mean(m.ones(2, dtype=getattr(m, dtype)), 3, out=m.empty(0, dtype=m.int64)))


@pytest.mark.parametrize("shape", [(0,), (0, 2), (2, 3), (2, 0)])
@pytest.mark.parametrize("dim", [(0, 0), [0, -2], (1, 1), (0, 5), (-1, 0)])
@pytest.mark.parametrize("op", ["amax", "amin"])
def test_amax_checks_each_dims_size_before_repeats(op, shape, dim):
    _check(lambda m: getattr(m, op)(m.zeros(shape), dim))


@pytest.mark.parametrize("y", [[complex(-INF, 1.09), 1.72 - 0.18j, 0.49j], [0.5 + 1.48j, complex(INF, 0.61)]])
@pytest.mark.parametrize("kw", [{}, {"dx": 0.5}, {"x": [0.0, 1.0, 3.0]}])
@pytest.mark.parametrize("op", ["trapezoid", "cumulative_trapezoid"])
def test_trapezoid_complex_infinities(op, y, kw):
    """torch adds left + right (a complex sum's NaN parts depend on the order), then scales."""
    if "x" in kw and len(kw["x"]) != len(y):
        kw = {"x": kw["x"][:len(y)]}
    _check(lambda m: getattr(m, op)(m.tensor(y), **{k: m.tensor(v) if k == "x" else v for k, v in kw.items()}))
