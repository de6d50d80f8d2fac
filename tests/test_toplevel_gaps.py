"""Top-level torch names ember used to lack (legacy sparse products, Sym* classes, sparse ``*_copy`` accessors,
fork/wait, ...), compared with torch."""

import numpy as np
import pytest
import torch

import ember

pytestmark = pytest.mark.filterwarnings("ignore:Sparse (CSR tensor support|invariant checks)")


def _coo(lib, idx, vals, size):
    return lib.sparse_coo_tensor(lib.tensor(idx), lib.tensor(vals), size)


def _same(e, t):
    assert e.layout.__repr__() == t.layout.__repr__() and tuple(e.shape) == tuple(t.shape)
    if t.layout == torch.sparse_coo:
        assert e.is_coalesced() == t.is_coalesced()
        np.testing.assert_array_equal(e._indices().numpy(), t._indices().numpy())
        e, t = e._values(), t._values()
    assert str(e.dtype) == str(t.dtype)
    np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())


def _raises(fn_e, fn_t):
    with pytest.raises(Exception) as te:
        fn_t()
    with pytest.raises(type(te.value)) as ee:
        fn_e()
    assert str(ee.value).split("\n")[0][:120] == str(te.value).split("\n")[0][:120]


@pytest.mark.parametrize("name", ["spmm", "dsmm", "hsmm"])
def test_legacy_products(name):
    args = ([[0, 1, 1], [2, 0, 2]], [3.0, 4.0, 5.0], (2, 3))
    d = np.arange(6.0, dtype=np.float32).reshape(3, 2)
    for lib, res in ((torch, []), (ember, [])):
        s, dd = _coo(lib, *args), lib.tensor(d)
        res.append(getattr(lib, name)(s, dd))
        if name != "hsmm":
            res.append(getattr(lib, name)(dd.t(), dd))   # dense @ dense, as mm
            res.append(getattr(lib, name)(dd, s))
            res.append(getattr(lib, name)(s, s.t()))    # sparse @ sparse: sparse
        if lib is torch:
            ref = res
    for e, t in zip(res, ref, strict=True):
        _same(e, t)
    _raises(lambda: getattr(ember, name)(_coo(ember, *args), ember.ones(2, 2)),
            lambda: getattr(torch, name)(_coo(torch, *args), torch.ones(2, 2)))
    if name == "hsmm":   # dense operands: torch has no dense kernel
        _raises(lambda: ember.hsmm(ember.ones(2, 2), ember.ones(2, 2)), lambda: torch.hsmm(torch.ones(2, 2),
                                                                                           torch.ones(2, 2)))


def test_gcn_style_spmm_grad():
    """spmm of a sparse adjacency and a dense support that requires grad (pytorch/examples' gcn)."""
    r = []
    for lib in (torch, ember):
        adj = _coo(lib, [[0, 1, 1, 2], [1, 0, 2, 1]], [0.5, 0.5, 0.25, 1.0], (3, 3))
        w = lib.tensor([[1.0, -2.0], [0.5, 3.0], [2.0, 1.0]], requires_grad=True)
        out = lib.spmm(adj, w)
        out.sum().backward()
        r.append((out.detach().numpy(), w.grad.numpy(), type(out.grad_fn).__name__))
    np.testing.assert_array_equal(r[0][0], r[1][0])
    np.testing.assert_array_equal(r[0][1], r[1][1])
    assert r[0][2] == r[1][2]


def test_saddmm_and_hspmm_checks():
    args = ([[0, 1, 1], [2, 0, 2]], [3.0, 4.0, 5.0], (2, 3))
    d = np.arange(6.0, dtype=np.float32).reshape(3, 2)
    out = []
    for lib in (torch, ember):
        inp = _coo(lib, [[0], [0]], [1.0], (2, 2))
        out.append(lib.saddmm(inp, _coo(lib, *args), lib.tensor(d), beta=2, alpha=3))
    _same(out[1], out[0])
    for f in (lambda lib: lib.hspmm(_coo(lib, *args), lib.ones(2)),                  # mat2 not a matrix
              lambda lib: lib.hspmm(_coo(lib, [[0]], [1.0], (3,)), lib.ones(3, 2)),  # mat1 1 sparse dim
              lambda lib: lib.smm(_coo(lib, *args), lib.ones(2, 2)),                 # sizes
              lambda lib: lib.saddmm(lib.zeros(2, 2), _coo(lib, *args), lib.ones(3, 2))):
        _raises(lambda f=f: f(ember), lambda f=f: f(torch))


def test_sparse_coo_tensor_size_only():
    for args, kw in ((((2, 3),), {}), ((), {"size": (2, 3), "dtype": torch.float64})):
        kw_e = {k: (ember.float64 if k == "dtype" else v) for k, v in kw.items()}
        _same(ember.sparse_coo_tensor(*args, **kw_e), torch.sparse_coo_tensor(*args, **kw))


def test_resize_as_sparse_():
    for lib in (torch, ember):
        x = _coo(lib, [[0, 1], [1, 0]], [1.0, 2.0], (2, 2))
        assert lib.resize_as_sparse_(x, lib.sparse_coo_tensor((3, 4))) is x
        if lib is torch:
            ref = x
    _same(x, ref)
    cases = [lambda lib: _coo(lib, [[0], [1]], [1.0], (2, 2)).resize_as_sparse_(lib.sparse_coo_tensor((1, 1))),
             lambda lib: _coo(lib, [[0], [1]], [1.0], (2, 2)).resize_as_sparse_(lib.zeros(2)),
             lambda lib: lib.zeros(2).resize_as_sparse_(lib.sparse_coo_tensor((1, 1))),
             lambda lib: lib.zeros(2).resize_as_sparse_(lib.zeros(2)),
             lambda lib: _coo(lib, [[0], [1]], [1.0], (2, 2)).resize_as_sparse_(lib.zeros(2, 2).to_sparse_csr()),
             lambda lib: lib.zeros(2, 2).to_sparse_csr().resize_as_sparse_(lib.zeros(2, 2).to_sparse_csc())]
    for f in cases:
        _raises(lambda f=f: f(ember), lambda f=f: f(torch))
    for lib in (torch, ember):   # compressed: src's indices, self's leading values
        a = lib.tensor([[1.0, 0, 2], [0, 3, 0]]).to_sparse_csr()
        a.resize_as_sparse_(lib.tensor([[0, 5.0], [0, 0]]).to_sparse_csr())
        if lib is torch:
            ref = a
    for acc in ("crow_indices", "col_indices", "values"):
        _same(getattr(a, acc)(), getattr(ref, acc)())


def test_sym_classes_and_constraints():
    for cls in ("SymInt", "SymFloat", "SymBool"):
        assert not isinstance(3, getattr(ember, cls)) and getattr(ember, cls).__module__ == "torch"
    for name in ("sym_constrain_range", "sym_constrain_range_for_size"):
        for args, kw in (((5,), {}), ((5,), {"min": 2, "max": 7}), ((5.5,), {"max": 5}), ((-1,), {"min": -5})):
            assert getattr(ember, name)(*args, **kw) is getattr(torch, name)(*args, **kw) is None
        for args, kw in (((5,), {"min": 6}), ((5,), {"max": 4}), ((-1,), {}), ((5,), {"min": 7, "max": 2}),
                         ((1,), {"max": 2}), ((1j,), {})):
            try:
                getattr(torch, name)(*args, **kw)
            except RuntimeError as err:
                with pytest.raises(RuntimeError, match=str(err).replace("[", r"\[").replace("]", r"\]")):
                    getattr(ember, name)(*args, **kw)
            else:
                assert getattr(ember, name)(*args, **kw) is None


def test_aliases_and_errors():
    assert ember.bit is ember.uint1 and str(ember.bit) == str(torch.bit)
    assert ember.legacy_contiguous_format is ember.contiguous_format
    assert ember.Storage is ember.FloatStorage
    from ember.ops import tensor_storage
    tensor_storage._typed_storage_warned[0] = False   # torch warns once per process
    with pytest.warns(UserWarning, match="^TypedStorage is deprecated"):
        assert ember.Storage(3).dtype is ember.float32
    assert issubclass(ember.AcceleratorError, RuntimeError) and not issubclass(ember.FatalError, RuntimeError)
    assert ember.cuda.AcceleratorError is ember.AcceleratorError
    assert ember.thread_safe_generator() is None is torch.thread_safe_generator()

    class A:
        @ember.classproperty
        def name(cls):
            return cls.__name__
    assert A.name == A().name == "A"


def test_fork_wait():
    fut = ember.fork(lambda x, y=1: x + y, 2, y=3)
    assert isinstance(fut, ember.Future) and fut.done() and ember.wait(fut) == 5
    with pytest.raises(ZeroDivisionError):
        ember.fork(lambda: 1 / 0)
    _raises(lambda: ember.fork(3), lambda: torch.fork(3))
    _raises(lambda: ember.wait(3), lambda: torch.wait(3))


def _layouts(lib):
    s = _coo(lib, [[1, 0], [0, 2]], [3.0, 4.0], (2, 3))
    b = lib.zeros(4, 4)
    b[0, 0] = 1
    return [s, s.coalesce().to_sparse_csr(), s.coalesce().to_sparse_csc(), b.to_sparse_bsr((2, 2)), lib.ones(2, 2)]


@pytest.mark.parametrize("name", ["indices_copy", "values_copy", "crow_indices_copy", "col_indices_copy",
                                  "ccol_indices_copy", "row_indices_copy"])
def test_sparse_accessor_copies(name):
    for e, t in zip(_layouts(ember), _layouts(torch), strict=True):
        try:
            ref = getattr(torch, name)(t)
        except (RuntimeError, NotImplementedError):
            _raises(lambda e=e: getattr(ember, name)(e), lambda t=t: getattr(torch, name)(t))
            continue
        _same(getattr(ember, name)(e), ref)
    if name == "values_copy":   # the accessor's gradient, its node renamed; out= of another dtype refused
        r = []
        for lib in (torch, ember):
            c = lib.tensor([[0, 1.0], [2, 0]]).requires_grad_().to_sparse_csr()
            r.append(type(lib.values_copy(c).grad_fn).__name__)
        assert r[0] == r[1] == "ValuesBackward0_copy"
        _raises(lambda: ember.values_copy(_layouts(ember)[1], out=ember.empty(0, dtype=ember.float64)),
                lambda: torch.values_copy(_layouts(torch)[1], out=torch.empty(0, dtype=torch.float64)))


def test_native_norm():
    x = [[1.0, -2, 3], [4, 5, -6]]
    for p in (2, 1, 0, 3, float("inf"), float("-inf"), 0.5):
        e, t = ember.native_norm(ember.tensor(x).to_sparse(), p), torch.native_norm(torch.tensor(x).to_sparse(), p)
        assert str(e.dtype) == str(t.dtype) and abs(e.item() - t.item()) <= 1e-6 * abs(t.item())
    _same(ember.native_norm(ember.tensor(x).double().to_sparse(), 2, [0, 1], False, None),
          torch.native_norm(torch.tensor(x).double().to_sparse(), 2, [0, 1], False, None))
    for f in (lambda lib: lib.native_norm(lib.tensor(x)),
              lambda lib: lib.native_norm(lib.tensor(x).to_sparse_csr()),
              lambda lib: lib.native_norm(lib.tensor(x).to_sparse(), 2, [1], False, None),
              lambda lib: lib.native_norm(lib.tensor(x).to_sparse(), 2, [0, 1], True, None),
              lambda lib: lib.native_norm(lib.tensor(x).long().to_sparse())):
        _raises(lambda f=f: f(ember), lambda f=f: f(torch))


def test_empty_quantized():
    r = []
    for lib in (torch, ember):
        x = lib.tensor([[1.0, -2, 3], [4, 5, -6]])
        q = lib.quantize_per_tensor(x, 0.1, 3, lib.quint8)
        qc = lib.quantize_per_channel(x, lib.tensor([0.1, 0.2]), lib.tensor([1, 2]), 0, lib.qint8)
        a, b = lib.empty_quantized([2, 5], q, dtype=lib.qint8), lib.empty_quantized([2, 4], qc)
        r.append((str(a.dtype), a.shape, a.q_scale(), a.q_zero_point(), str(b.dtype), b.q_per_channel_axis(),
                  b.q_per_channel_scales().tolist(), b.q_per_channel_zero_points().tolist()))
    assert r[0] == r[1]
    for f in (lambda lib: lib.empty_quantized([2], lib.ones(2)),
              lambda lib: lib.empty_quantized(2, lib.quantize_per_tensor(lib.ones(2), 0.1, 0, lib.quint8)),
              lambda lib: lib.empty_quantized([2], lib.quantize_per_tensor(lib.ones(2), 0.1, 0, lib.quint8),
                                              dtype=lib.float32)):
        _raises(lambda f=f: f(ember), lambda f=f: f(torch))


def test_sync_batch_norm_blocks():
    """torch's CPU backend refuses them all; the math (run on GPUs) checked against batch norm's own."""
    from ember.ops import extra as X
    for name, args in (("batch_norm_stats", lambda L: (L.ones(3, 2, 4), 1e-5)),
                       ("batch_norm_elemt", lambda L: (L.ones(3, 2), None, None, L.zeros(2), L.ones(2), 1e-5)),
                       ("batch_norm_gather_stats", lambda L: (L.ones(3, 2), L.zeros(1, 2), L.ones(1, 2), None, None,
                                                              0.1, 1e-5, 6)),
                       ("batch_norm_backward_reduce", lambda L: (L.ones(3, 2), L.ones(3, 2), L.zeros(2), L.ones(2),
                                                                 None, True, True, True))):
        _raises(lambda n=name, a=args: getattr(ember, n)(*a(ember)),
                lambda n=name, a=args: getattr(torch, n)(*a(torch)))
    g = torch.Generator().manual_seed(0)
    x, dy = (torch.randn(3, 2, 4, dtype=torch.float64, generator=g) for _ in range(2))
    w, b = torch.randn(2, dtype=torch.float64, generator=g), torch.randn(2, dtype=torch.float64, generator=g)
    xt, wt, bt = (t.clone().requires_grad_() for t in (x, w, b))
    rm, rv = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    y = torch.nn.functional.batch_norm(xt, rm, rv, wt, bt, True, 0.1, 1e-5)
    y.backward(dy)
    E = lambda t: ember.tensor(t.detach().numpy())  # noqa: E731
    parts = [X._bn_stats(E(p), 1e-5) for p in (x[:1], x[1:])]
    erm, erv = ember.zeros(2, dtype=ember.float64), ember.ones(2, dtype=ember.float64)
    mean, invstd = X._bn_gather(ember.stack([m for m, _ in parts]), ember.stack([i for _, i in parts]), erm, erv,
                                0.1, 1e-5, ember.tensor([4.0, 8.0]))
    sum_dy, sum_dy_xmu, gw, gb = X._bn_backward_reduce(E(dy), E(x), mean, invstd, E(w), True, True, True)
    gx = X._bn_backward_elemt(E(dy), E(x), mean, invstd, E(w), sum_dy, sum_dy_xmu,
                              ember.tensor([12], dtype=ember.int32))
    for e, t in ((X._bn_elemt(E(x), E(w), E(b), mean, invstd), y), (erm, rm), (erv, rv), (gw, wt.grad),
                 (gb, bt.grad), (gx, xt.grad)):
        np.testing.assert_allclose(e.numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_choose_qparams_optimized():
    rng = np.random.default_rng(1)
    for _ in range(12):
        x = (rng.standard_normal(int(rng.integers(1, 120))) * 3).astype(np.float32)
        args = (int(rng.integers(1, x.size + 1)), int(rng.integers(1, 200)), float(rng.uniform(0, 1)),
                int(rng.choice([2, 4, 8])))
        t = torch.choose_qparams_optimized(torch.from_numpy(x), *args)
        e = ember.choose_qparams_optimized(ember.from_numpy(x), *args)
        for a, b in zip(e, t, strict=True):
            _same(a, b)
    for f in (lambda lib: lib.choose_qparams_optimized(lib.arange(4.0), 5, 10, 0.5, 8),
              lambda lib: lib.choose_qparams_optimized(lib.arange(4.0).double(), 4, 10, 0.5, 8)):
        _raises(lambda f=f: f(ember), lambda f=f: f(torch))


def test_sparse_norm():
    x = [[1.0, -2, 3], [4, 5, -6]]
    for call in (lambda lib, s: s.norm(), lambda lib, s: s.norm(1), lambda lib, s: lib.norm(s, p=3),
                 lambda lib, s: s.norm(float("inf")), lambda lib, s: s.norm(2, (0, 1))):
        e, t = call(ember, ember.tensor(x).to_sparse()), call(torch, torch.tensor(x).to_sparse())
        assert str(e.dtype) == str(t.dtype) and abs(e.item() - t.item()) <= 1e-6 * abs(t.item())
    for f in (lambda lib: lib.tensor(x).to_sparse().norm(2, 1), lambda lib: lib.tensor(x).to_sparse().norm("nuc"),
              lambda lib: lib.tensor(x).to_sparse().norm(2, dtype=lib.float64),
              lambda lib: lib.tensor(x).to_sparse().requires_grad_().norm().backward()):
        _raises(lambda f=f: f(ember), lambda f=f: f(torch))


def test_hspmm_saddmm_out():
    args = ([[0, 1], [1, 2]], [1.0, 2.0], (2, 3))
    res = []
    for lib in (torch, ember):
        o1, o2 = lib.sparse_coo_tensor((5, 5)), lib.sparse_coo_tensor((5, 5))
        assert lib.hsmm(_coo(lib, *args), lib.ones(3, 2), out=o1) is o1
        assert lib.saddmm(lib.sparse_coo_tensor((2, 2)), _coo(lib, *args), lib.ones(3, 2), out=o2) is o2
        res.append((o1, o2))
    for e, t in zip(res[1], res[0], strict=True):
        _same(e, t)
    for f in (lambda lib: lib.hspmm(_coo(lib, *args), lib.ones(3, 2), out=lib.sparse_coo_tensor((5, 5),
                                                                                              dtype=lib.float64)),
              lambda lib: lib.hspmm(_coo(lib, *args), lib.ones(3, 2), out=lib.zeros(2)),
              lambda lib: lib.hspmm(_coo(lib, *args), lib.ones(3, 2),
                                    out=lib.sparse_coo_tensor((5, 5)).requires_grad_())):
        _raises(lambda f=f: f(ember), lambda f=f: f(torch))
