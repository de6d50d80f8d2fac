"""Sparse tensors against torch: elementwise ops on COO entries, sparse*sparse, in-place forms, dtype
shorthands, transpose's coalesced flag, sparse softmax dtypes and sampled_addmm's argument checks."""

import pytest
import torch

import ember

pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")

_IDX, _VALS = [[0, 0, 1, 2], [1, 1, 0, 2]], [1.5, 2.0, -3.0, 0.25]   # (0, 1) twice: uncoalesced


def _pair(idx=_IDX, vals=_VALS, shape=(3, 3)):
    return tuple(L.sparse_coo_tensor(L.tensor(idx), L.tensor(vals), shape) for L in (torch, ember))


def _same(t, e):
    assert e.layout == ember.sparse_coo and t.layout == torch.sparse_coo
    assert str(e.dtype) == str(t.dtype) and tuple(e.shape) == tuple(t.shape)
    assert e.is_coalesced() == t.is_coalesced() and e._nnz() == t._nnz()
    assert e._indices().tolist() == t._indices().tolist()
    torch.testing.assert_close(torch.tensor(e._values().tolist(), dtype=t.dtype), t._values(), equal_nan=True)


def _same_error(ft, fe):
    with pytest.raises(Exception) as et:
        ft()
    with pytest.raises(type(et.value)) as ee:
        fe()
    assert str(ee.value) == str(et.value).split(" If you are a Facebook employee")[0]   # torch's first sentences


@pytest.mark.parametrize("op", ["abs", "sqrt", "neg", "sin", "tanh", "expm1", "floor", "sign", "sgn", "signbit",
                                "relu", "isnan", "nan_to_num", "square", "erfinv"])
@pytest.mark.parametrize("dt", ["float64", "int64"])
def test_unary_on_entries(op, dt):
    t, e = _pair()
    t, e = t.to(getattr(torch, dt)), e.to(getattr(ember, dt))
    try:
        want = getattr(t, op)()
    except RuntimeError:
        _same_error(lambda: getattr(t, op)(), lambda: getattr(e, op)())
        return
    _same(want, getattr(e, op)())
    _same(getattr(torch, op)(t), getattr(ember, op)(e))


@pytest.mark.parametrize("op", ["abs_", "sqrt_", "neg_", "floor_"])
def test_unary_inplace(op):
    t, e = _pair()
    if op != "neg_":   # the nonlinear ops need coalesced entries
        _same_error(lambda: getattr(t.clone(), op)(), lambda: getattr(e.clone(), op)())
    tc, ec = t.coalesce().clone(), e.coalesce().clone()
    assert getattr(ec, op)() is ec
    getattr(tc, op)()
    _same(tc, ec)


@pytest.mark.parametrize("op", ["exp", "cos", "exp_"])
def test_unary_refused_names_op(op):
    t, e = _pair()
    _same_error(lambda: getattr(t, op)(), lambda: getattr(e, op)())


@pytest.mark.parametrize("expr", ["s.pow(2)", "s ** -1", "s.pow(0.5)", "s.pow(0)", "s.long().pow(0.5)",
                                  "s.coalesce().pow_(2)", "s * 2", "s.mul_(3)", "s.div_(2)", "s.long().div_(2)",
                                  "s.add_(s)", "s.long().add_(s)", "L.mul(s, 2)", "L.pow(s, 3)"])
def test_scalar_ops(expr):
    t, e = _pair()
    try:
        want = eval(expr, {"s": t, "L": torch})
    except Exception as exc:
        with pytest.raises(type(exc)):
            eval(expr, {"s": e, "L": ember})
        return
    _same(want, eval(expr, {"s": e, "L": ember}))


def test_sparse_times_sparse_intersection():
    c = ([[1, 0, 0], [0, 1, 1]], [100.0, 1.0, 10.0])
    d = ([[2, 1, 0, 0], [2, 2, 1, 1]], [1.0, 1.0, 1.0, 1.0])
    f = ([[0, 2], [0, 2]], [3.0, 4.0])
    g = ([[0, 1, 1], [0, 0, 1]], [5.0, 6.0, 7.0])
    ops = [_pair(), _pair(*c), _pair(*d), _pair(*f), _pair(*g)]
    ops += [(t.coalesce(), e.coalesce()) for t, e in ops]
    for ta, ea in ops:
        for tb, eb in ops:
            _same(ta * tb, ea * eb)
    t, e = _pair()
    _same(t.clone().mul_(t.coalesce()), e.clone().mul_(e.coalesce()))
    _same_error(lambda: t * torch.sparse_coo_tensor(torch.tensor([[0]]), torch.tensor([1.0]), (3,)),
                lambda: e * ember.sparse_coo_tensor(ember.tensor([[0]]), ember.tensor([1.0]), (3,)))


def test_sparse_times_sparse_grad():
    t, e = _pair()
    t2, e2 = (x.coalesce() * 2 for x in (t, e))
    t, e, t2, e2 = (x.requires_grad_() for x in (t, e, t2, e2))
    (t * t2).to_dense().sum().backward()
    (e * e2).to_dense().sum().backward()
    for a, b in ((t, e), (t2, e2)):
        torch.testing.assert_close(torch.tensor(b.grad.to_dense().tolist()), a.grad.to_dense())


def test_dtype_shorthands_stay_sparse():
    t, e = _pair()
    for name in ("long", "int", "half", "bool", "cdouble"):
        _same(getattr(t, name)(), getattr(e, name)())
    assert e.to_sparse_csr().long().layout == ember.sparse_csr


def test_transpose_flag_with_one_entry():
    t, e = _pair([[0], [1]], [2.0])
    for d in ((0, 1), (1, 0), (0, 0)):
        _same(t.transpose(*d), e.transpose(*d))
    _same(t.t(), e.t())


@pytest.mark.parametrize("dt", ["int64", "complex64", "float16", "bool"])
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_sparse_softmax_dtypes(dt, fn):
    t, e = _pair()
    _same_error(lambda: getattr(torch.sparse, fn)(t.to(getattr(torch, dt)), 1),
                lambda: getattr(ember.sparse, fn)(e.to(getattr(ember, dt)), 1))
    _same_error(lambda: getattr(torch.sparse, fn)(t, 1, dtype=torch.int64),
                lambda: getattr(ember.sparse, fn)(e, 1, dtype=ember.int64))


@pytest.mark.parametrize("shapes", [((2, 2), (2, 3)), ((3, 2), (2, 4)), ((3, 2), (3, 3)), ((2,), (2, 3)),
                                    ((1, 3, 2), (2, 3))])
def test_sampled_addmm_checks(shapes):
    a, b = shapes
    _same_error(lambda: torch.sparse.sampled_addmm(torch.eye(3).to_sparse_csr(), torch.ones(a), torch.ones(b)),
                lambda: ember.sparse.sampled_addmm(ember.eye(3).to_sparse_csr(), ember.ones(a), ember.ones(b)))


@pytest.mark.parametrize("dts", [("float64", "float32", "float32"), ("float32", "float64", "float32"),
                                 ("float32", "float32", "float64"), ("int64", "int64", "int64")])
def test_sampled_addmm_dtype_checks(dts):
    def call(L):
        ds, d1, d2 = (getattr(L, d) for d in dts)
        return L.sparse.sampled_addmm(L.eye(3).to_sparse_csr().to(ds), L.ones(3, 2, dtype=d1),
                                      L.ones(2, 3, dtype=d2))
    _same_error(lambda: call(torch), lambda: call(ember))


def test_to_dense_grad_of_uncoalesced():
    t, e = _pair()
    for x in (t, e):
        x.requires_grad_()
        x.to_dense().sum().backward()
    _same(t.grad, e.grad)


_HYBRID = ([[2, 0]], [[1.0, 2.0], [3.0, 4.0]], (3, 2))


@pytest.mark.parametrize("expr", [
    "s[0]", "s[-1]", "s[0, 1]", "s[..., 0]", "s.select(1, 1)", "L.select(s, 0, 2)", "s.coalesce()[0]",
    "s.index_select(0, L.tensor([0, 2, 0]))", "s.coalesce().index_select(1, L.tensor([2, 0]))",
    "L.index_select(s, 0, L.tensor([-1]))", "s.narrow_copy(1, 1, 2)", "s.coalesce().narrow_copy(1, 0, 2)",
    "L.narrow_copy(s, 0, 0, 0)", "h.select(1, 0)", "h[2]", "h.index_select(1, L.tensor([1, 0]))",
    "h.narrow_copy(1, 1, 1)", "h.index_select(0, L.tensor([2]))",
    "s[5]", "s.select(0, -4)", "s.select(2, 0)", "s.index_select(0, L.tensor([5]))",
    "s.index_select(0, L.tensor([0], dtype=L.int32))", "s.narrow_copy(0, 2, 2)", "s.narrow_copy(0, 1, -1)",
    "s.narrow_copy(3, 0, 1)", "s[0:1]"])
def test_select_index_select_narrow_copy(expr):
    (t, e), (th, eh) = _pair(), _pair(*_HYBRID)
    try:
        want = eval(expr, {"s": t, "h": th, "L": torch})
    except Exception:
        _same_error(lambda: eval(expr, {"s": t, "h": th, "L": torch}),
                    lambda: eval(expr, {"s": e, "h": eh, "L": ember}))
        return
    got = eval(expr, {"s": e, "h": eh, "L": ember})
    if want.layout == torch.strided:
        assert got.layout == ember.strided and got.tolist() == want.tolist()
    else:
        _same(want, got)


@pytest.mark.parametrize("expr", ["s[0]", "s.select(1, 1)", "s.index_select(0, L.tensor([0]))",
                                  "s.narrow_copy(0, 0, 2)"])
def test_indexing_backward_refused_as_torch(expr):
    t, e = _pair()
    rt, re_ = (eval(expr, {"s": x.requires_grad_(), "L": L}) for x, L in ((t, torch), (e, ember)))
    assert type(re_.grad_fn).__name__ == type(rt.grad_fn).__name__
    _same_error(lambda: rt.to_dense().sum().backward(), lambda: re_.to_dense().sum().backward())


@pytest.mark.parametrize("fn", ["mm", "addmm"])
def test_product_grad_of_uncoalesced_at_distinct_entries(fn):
    t, e = _pair()
    grads = []
    for x, L in ((t, torch), (e, ember)):
        x = x.to(L.float64).requires_grad_()
        d = L.arange(6.0, dtype=L.float64).reshape(3, 2)
        r = L.sparse.mm(x, d) if fn == "mm" else L.sparse.addmm(L.ones(3, 2, dtype=L.float64), x, d, alpha=2)
        r.sum().backward()
        grads.append(x.grad)
    assert grads[1]._indices().tolist() == grads[0]._indices().tolist()
    assert grads[1]._values().tolist() == grads[0]._values().tolist()


@pytest.mark.parametrize("dt", ["int64", "int32", "float16"])
@pytest.mark.parametrize("expr", ["s @ d", "L.sparse.mm(s, d)", "d @ s", "L.sparse.addmm(d, s, d)",
                                  "s.to_sparse_csc() @ d"])
def test_compressed_product_dtypes(expr, dt):
    def call(L):
        dtype = getattr(L, dt)
        return eval(expr, {"L": L, "s": L.eye(2).to(dtype).to_sparse_csr(), "d": L.ones(2, 2, dtype=dtype)})
    _same_error(lambda: call(torch), lambda: call(ember))


def test_t_of_hybrid_refused():
    t, e = _pair(*_HYBRID)
    _same_error(t.t, e.t)


def test_sparse_times_sparse_sums_products_in_order():
    t, e = _pair([[0, 0, 1, 0]], [1.3, 0.45, 0.3, 0.7], (2,))
    t, e = t.double(), e.double()
    for x, y in ((t, t), (t, t.coalesce()), (t.coalesce(), t)):
        ex, ey = (ember.sparse_coo_tensor(ember.tensor(z._indices().tolist()), ember.tensor(z._values().tolist(),
                  dtype=ember.float64), (2,)) for z in (x, y))
        ex._coalesced_(x.is_coalesced())
        ey._coalesced_(y.is_coalesced())
        assert (ex * ey)._values().tolist() == (x * y)._values().tolist()
    _same(t.t(), e.t())


def test_compressed_product_without_entries_runs_no_kernel():
    for L in (torch, ember):
        s = L.zeros(2, 2, dtype=L.int64).to_sparse_csr()
        assert (s @ L.ones(2, 2, dtype=L.int64)).tolist() == [[0, 0], [0, 0]]


@pytest.mark.parametrize("expr", ["s * L.full((3, 3), 2.0)", "L.full((3, 3), 2.0) * s", "s * L.tensor([2.0, 3.0, 4.0])",
                                  "s * L.ones(2)", "s.long() * L.tensor([2.5, 1.0, 2.0])", "s.coalesce() * L.arange(3)",
                                  "L.mul(s, L.arange(3.0))", "s.mul_(L.arange(3.0))"])
def test_sparse_times_dense(expr):
    t, e = _pair()
    try:
        want = eval(expr, {"s": t, "L": torch})
    except Exception:
        _same_error(lambda: eval(expr, {"s": t, "L": torch}), lambda: eval(expr, {"s": e, "L": ember}))
        return
    _same(want, eval(expr, {"s": e, "L": ember}))
