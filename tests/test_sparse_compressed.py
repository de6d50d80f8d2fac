"""Sparse compressed tensors (CSR/CSC/BSR/BSC, ember.sparse) against torch: layouts, construction and its
validation, conversions between all layouts, printing, accessors (and their errors on dense/COO tensors),
arithmetic, products with their gradients, and file interchange."""

from __future__ import annotations

import io

import numpy as np
import pytest

import ember
import ember.sparse as esp
from oracle import assert_same_error, torch

pytestmark = pytest.mark.filterwarnings("ignore:Sparse CSR tensor support", "ignore:Sparse invariant checks")

LAYOUTS = ("sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc")
D2 = [[0.0, 1.0, 0.0, 0.0], [2.0, 0.0, 3.0, 0.0], [0.0, 0.0, 0.0, 0.0], [4.0, 0.0, 0.0, 5.0]]


def lay(name):
    return getattr(esp, name), getattr(torch, name)


def same(e, t, rtol=1e-6):
    """Same layout, index arrays, values, dtype, shape and printed form."""
    assert repr(e.layout) == repr(t.layout)
    assert e.is_sparse == t.is_sparse and e.is_sparse_csr == t.is_sparse_csr
    if t.layout in (torch.sparse_csr, torch.sparse_bsr):
        pairs = [(e.crow_indices(), t.crow_indices()), (e.col_indices(), t.col_indices())]
    elif t.layout in (torch.sparse_csc, torch.sparse_bsc):
        pairs = [(e.ccol_indices(), t.ccol_indices()), (e.row_indices(), t.row_indices())]
    elif t.layout == torch.sparse_coo:
        assert e.is_coalesced() == t.is_coalesced()
        pairs = [(e._indices(), t._indices())]
    else:
        pairs = []
    for a, b in pairs:
        assert a.tolist() == b.tolist() and a.dtype.name == str(b.dtype).split(".")[1]
    if t.layout == torch.strided:
        ev, tv = e.detach().numpy(), t.detach().numpy()
    elif t.layout == torch.sparse_coo:
        ev, tv = e._values().detach().numpy(), t._values().detach().numpy()
    else:
        ev, tv = e.values().detach().numpy(), t.values().detach().numpy()
    np.testing.assert_allclose(ev, tv, rtol=rtol, atol=1e-6)
    assert e.dtype.name == str(t.dtype).split(".")[1] and tuple(e.shape) == tuple(t.shape)
    assert repr(e) == repr(t)


def agree(fe, ft, match_message=True):
    """Both raise the same error, or both return the same tensor (or value)."""
    try:
        tr = ft()
    except Exception:   # noqa: BLE001 (any error torch raises must be matched)
        assert_same_error(fe, ft, match_message)
        return
    er = fe()
    if isinstance(tr, torch.Tensor):
        same(er, tr)
    else:
        assert er == tr


def both(data, dtype=None):
    return ember.tensor(data, dtype=None if dtype is None else getattr(ember, dtype)), \
        torch.tensor(data, dtype=None if dtype is None else getattr(torch, dtype))


def test_layout_objects_and_flags():
    for name in LAYOUTS:
        el, tl = lay(name)
        assert repr(el) == repr(tl) == f"torch.{name}"
    e, t = both(D2)
    c = e.to_sparse_csr()
    assert isinstance(c, ember.Tensor) and type(c).__name__ == "Tensor"
    assert (c.is_sparse, c.is_sparse_csr, e.is_sparse_csr) == (False, True, False)
    assert (c.sparse_dim(), c.dense_dim(), c._nnz(), c.dim(), c.numel()) == (2, 0, 5, 2, 16)
    assert (e.sparse_dim(), e.dense_dim()) == (t.sparse_dim(), t.dense_dim())


@pytest.mark.parametrize("name", LAYOUTS)
@pytest.mark.parametrize("case", [
    (D2, (2, 2), {}),
    (D2, (1, 4), {}),
    ([[0, 1, 0], [2, 0, 3]], (1, 1), {}),
    (np.arange(24.0).reshape(2, 3, 4) % 4, (1, 2), {}),                                 # batched (equal nnz)
    ((np.arange(24.0).reshape(3, 4, 2) % 3 > 0) * 1.0, (1, 2), {"dense_dim": 1}),       # hybrid
    (np.zeros((2, 3, 2)), (1, 1), {}),
    (np.ones((2, 2, 2, 2, 3)), (1, 1), {"dense_dim": 1}),
])
def test_dense_to_compressed_and_back(name, case):
    data, block, kw = case
    data = np.asarray(data).tolist()
    e, t = both(data)
    args = (block,) if name in ("sparse_bsr", "sparse_bsc") else ()
    ec = getattr(e, "to_" + name)(*args, **kw)
    tc = getattr(t, "to_" + name)(*args, **kw)
    same(ec, tc)
    same(ec.to_dense(), tc.to_dense())
    el, tl = lay(name)
    same(e.to_sparse(layout=el, blocksize=block if args else None, **kw),
         t.to_sparse(layout=tl, blocksize=block if args else None, **kw))


@pytest.mark.parametrize("src", ["sparse_coo", *LAYOUTS])
@pytest.mark.parametrize("dst", ["sparse_coo", *LAYOUTS])
def test_conversions_between_layouts(src, dst):
    e, t = both(D2, "float64")

    def convert(x, name, block):
        if name == "sparse_coo":
            return x.to_sparse()
        return getattr(x, "to_" + name)(*((block,) if name in ("sparse_bsr", "sparse_bsc") else ()))

    es, ts = convert(e, src, (2, 2)), convert(t, src, (2, 2))
    agree(lambda: convert(es, dst, (2, 2)), lambda: convert(ts, dst, (2, 2)))
    agree(lambda: convert(es, dst, (1, 2)), lambda: convert(ts, dst, (1, 2)))


def test_batched_coo_and_uncoalesced():
    e, t = both((np.arange(24.0).reshape(2, 3, 4) + 1).tolist())
    same(e.to_sparse_csr().to_sparse(), t.to_sparse_csr().to_sparse())
    same(e.to_sparse_csr(dense_dim=1).to_sparse(), t.to_sparse_csr(dense_dim=1).to_sparse())
    same(e.to_sparse(2).to_sparse_csr(), t.to_sparse(2).to_sparse_csr())
    ec = esp.sparse_coo_tensor(ember.tensor([[0, 0, 1], [1, 1, 0]]), ember.tensor([1.0, 2.0, 5.0]), (2, 2))
    tc = torch.sparse_coo_tensor(torch.tensor([[0, 0, 1], [1, 1, 0]]), torch.tensor([1.0, 2.0, 5.0]), (2, 2))
    same(ec.to_sparse_csr(), tc.to_sparse_csr())
    same(ec.to_sparse_csc(), tc.to_sparse_csc())


def test_conversion_errors():
    e, t = both(D2)
    for fn in (lambda x: x.to_sparse_bsr((3, 3)), lambda x: x.to_sparse_bsr(3),
               lambda x: x.to_sparse_csr(dense_dim=1), lambda x: x.to_sparse_csr(1),
               lambda x: x.to_sparse(layout=lay_of(x, "sparse_bsr")),
               lambda x: x.to_sparse_csr().to_sparse_csr(dense_dim=0),
               lambda x: x.to_sparse_csr().to_sparse_bsr((1, 1), dense_dim=1),
               lambda x: x.to_sparse_csr().to_sparse(1),
               lambda x: x.to_sparse_bsr((1, 1)).to_sparse_csr(),
               lambda x: x[0].to_sparse_csr(),
               lambda x: x.to_sparse_csr().to_dense(x.dtype),
               lambda x: x.unsqueeze(0).expand(2, 4, 4).to_sparse().to_sparse_csr()):
        assert_same_error(lambda fn=fn: fn(e), lambda fn=fn: fn(t))
    b = [[[1.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]]
    assert_same_error(lambda: ember.tensor(b).to_sparse_csr(), lambda: torch.tensor(b).to_sparse_csr())


def lay_of(x, name):
    return getattr(torch if isinstance(x, torch.Tensor) else esp, name)


T3 = ([0, 1, 3], [1, 0, 2], [1.0, 2.0, 3.0])


@pytest.mark.parametrize("case", [
    ("sparse_csr", T3, None, {}),
    ("sparse_csr", T3, (2, 5), {}),
    ("sparse_csr", T3, (2, 3), {"dtype": "float64"}),
    ("sparse_csr", T3, (2, 3), {"requires_grad": True}),
    ("sparse_csc", T3, None, {}),
    ("sparse_csc", T3, (3, 2), {"check_invariants": True}),
    ("sparse_csr", ([[0, 1, 3], [0, 2, 3]], [[1, 0, 2], [0, 1, 2]], [[1.0, 2, 3], [4, 5, 6]]), None, {}),
    ("sparse_csr", ([0, 1, 3], [1, 0, 2], [[1.0], [2.0], [3.0]]), (2, 3, 1), {"check_invariants": True}),
    ("sparse_bsr", ([0, 1, 3], [1, 0, 2], np.arange(12.0).reshape(3, 2, 2).tolist()), None, {}),
    ("sparse_bsc", ([0, 1, 3], [1, 0, 2], np.arange(12.0).reshape(3, 2, 2).tolist()), (6, 4),
     {"check_invariants": True}),
    ("sparse_csr", ([0], [], []), None, {}),
    ("sparse_csr", ([0, 0, 0], [], []), None, {"check_invariants": True}),
])
def test_construction(case):
    name, (ci, pi, vals), size, kw = case
    args = () if size is None else (size,)
    ekw = {k: (getattr(ember, v) if k == "dtype" else v) for k, v in kw.items()}
    tkw = {k: (getattr(torch, v) if k == "dtype" else v) for k, v in kw.items()}
    e = getattr(esp, name + "_tensor")(ember.tensor(ci, dtype=ember.int64), ember.tensor(pi, dtype=ember.int64),
                                       ember.tensor(vals), *args, **ekw)
    t = getattr(torch, name + "_tensor")(torch.tensor(ci, dtype=torch.int64), torch.tensor(pi, dtype=torch.int64),
                                         torch.tensor(vals), *args, **tkw)
    same(e, t)
    el, tl = lay(name)
    e2 = esp.sparse_compressed_tensor(ember.tensor(ci, dtype=ember.int64), ember.tensor(pi, dtype=ember.int64),
                                      ember.tensor(vals), *args, layout=el, **ekw)
    t2 = torch.sparse_compressed_tensor(torch.tensor(ci, dtype=torch.int64), torch.tensor(pi, dtype=torch.int64),
                                        torch.tensor(vals), *args, layout=tl, **tkw)
    same(e2, t2)


def test_int32_indices_and_python_lists():
    e = esp.sparse_csr_tensor(ember.tensor([0, 1, 3], dtype=ember.int32), ember.tensor([1, 0, 2], dtype=ember.int32),
                              [1, 2, 3], (2, 3))
    t = torch.sparse_csr_tensor(torch.tensor([0, 1, 3], dtype=torch.int32),
                                torch.tensor([1, 0, 2], dtype=torch.int32), [1, 2, 3], (2, 3))
    same(e, t)
    same(e.t(), t.t())


K = {"check_invariants": True}


@pytest.mark.parametrize("case", [
    ("sparse_csr", ([0, 1, 3], [1, 0, 2], [1.0, 2.0]), (2, 3), K),
    ("sparse_csr", ([0, 1, 3], [1, 0, 2], [1.0, 2.0, 3.0]), (2, 3, 4), K),
    ("sparse_csr", ([0, 1, 3], [1, 0, 2], [1.0, 2.0, 3.0]), (3, 3), K),
    ("sparse_csr", ([0, 1, 3], [1, 0, 2], [1.0, 2.0, 3.0]), (2, 2), K),
    ("sparse_csr", ([0, 1, 4], [1, 0, 2], [1.0, 2.0, 3.0]), (2, 3), K),
    ("sparse_csr", ([1, 1, 3], [1, 0, 2], [1.0, 2.0, 3.0]), (2, 3), K),
    ("sparse_csr", ([0, 2, 1, 3], [0, 1, 0], [1.0, 2.0, 3.0]), (3, 3), K),
    ("sparse_csr", ([0, 2, 3], [1, 0, 2], [1.0, 2.0, 3.0]), (2, 3), K),
    ("sparse_csr", ([0, 2, 3], [0, 0, 2], [1.0, 2.0, 3.0]), (2, 3), K),
    ("sparse_csr", ([0, 1, 3], [1, 0, -1], [1.0, 2.0, 3.0]), (2, 3), K),
    ("sparse_csr", ([[0, 1, 3]], [1, 0, 2], [1.0, 2.0, 3.0]), (2, 3), K),
    ("sparse_csr", ([[0, 1, 3]], [[1, 0, 2]], [1.0, 2.0, 3.0]), (2, 3), K),
    ("sparse_csr", ([[0, 1, 3]], [[1, 0, 2]], [[1.0, 2.0, 3.0]]), (2, 2, 3), K),
    ("sparse_csr", (0, [1, 0, 2], [1.0, 2.0, 3.0]), None, {}),
    ("sparse_csr", ([0, 1, 3], [1, 0, 2], 1.0), None, {}),
    ("sparse_csc", ([0, 1, 3], [1, 0, 2], [1.0, 2.0, 3.0]), (3, 3), K),
    ("sparse_csc", ([1, 1, 3], [1, 0, 2], [1.0, 2.0, 3.0]), (3, 2), K),
    ("sparse_csc", ([0, 2, 3], [1, 0, 2], [1.0, 2.0, 3.0]), (3, 2), K),
    ("sparse_csc", ([0, 1, 3], [1, 0, 5], [1.0, 2.0, 3.0]), (3, 2), K),
    ("sparse_bsr", ([0, 1, 3], [1, 0, 2], [1.0, 2.0, 3.0]), None, {}),
    ("sparse_bsr", ([0, 1, 3], [1, 0, 2], np.ones((3, 2, 2)).tolist()), (4, 5), K),
    ("sparse_bsr", ([0, 1, 3], [1, 0, 2], np.ones((3, 2, 2)).tolist()), (4, 4), K),
    ("sparse_bsr", ([0, 1, 3], [1, 0, 0], np.ones((3, 2, 2)).tolist()), (4, 6), K),
])
def test_construction_errors(case):
    name, (ci, pi, vals), size, kw = case
    args = () if size is None else (size,)
    assert_same_error(
        lambda: getattr(esp, name + "_tensor")(ember.tensor(ci), ember.tensor(pi), ember.tensor(vals), *args, **kw),
        lambda: getattr(torch, name + "_tensor")(torch.tensor(ci), torch.tensor(pi), torch.tensor(vals), *args, **kw))


def test_construction_argument_errors():
    ci, pi, v = ([0, 1, 3], [1, 0, 2], [1.0, 2.0, 3.0])
    assert_same_error(
        lambda: esp.sparse_csr_tensor(ember.tensor([0.0, 1, 3]), ember.tensor(pi), ember.tensor(v), (2, 3), **K),
        lambda: torch.sparse_csr_tensor(torch.tensor([0.0, 1, 3]), torch.tensor(pi), torch.tensor(v), (2, 3), **K))
    assert_same_error(
        lambda: esp.sparse_csr_tensor(ember.tensor(ci, dtype=ember.int16), ember.tensor(pi, dtype=ember.int16),
                                      ember.tensor(v), (2, 3), **K),
        lambda: torch.sparse_csr_tensor(torch.tensor(ci, dtype=torch.int16), torch.tensor(pi, dtype=torch.int16),
                                        torch.tensor(v), (2, 3), **K))
    assert_same_error(lambda: esp.sparse_csr_tensor(ci, pi, v, (2, 3), layout=esp.sparse_csc),
                      lambda: torch.sparse_csr_tensor(ci, pi, v, (2, 3), layout=torch.sparse_csc))
    for el, tl in ((None, None), (esp.sparse_coo, torch.sparse_coo), (ember.strided, torch.strided)):
        assert_same_error(lambda el=el: esp.sparse_compressed_tensor(ci, pi, v, (2, 3), layout=el),
                          lambda tl=tl: torch.sparse_compressed_tensor(ci, pi, v, (2, 3), layout=tl))
    assert_same_error(lambda: esp.sparse_csr_tensor(ci, pi, [1, 2, 3], (2, 3), requires_grad=True),
                      lambda: torch.sparse_csr_tensor(ci, pi, [1, 2, 3], (2, 3), requires_grad=True))


ACCESSORS = ("indices", "values", "crow_indices", "col_indices", "ccol_indices", "row_indices", "_indices",
             "_values", "coalesce", "is_coalesced", "_nnz", "stride", "is_contiguous", "numpy", "storage",
             "data_ptr", "tolist")


@pytest.mark.parametrize("kind", ["dense", "coo", *LAYOUTS])
def test_accessors_and_their_errors(kind):
    e, t = both(D2)

    def make(x):
        if kind == "dense":
            return x
        if kind == "coo":
            return x.to_sparse()
        return getattr(x, "to_" + kind)(*(((2, 2),) if kind in ("sparse_bsr", "sparse_bsc") else ()))

    ek, tk = make(e), make(t)
    for name in ACCESSORS:
        if kind in ("dense", "coo") and name in ("stride", "is_contiguous", "numpy", "storage", "data_ptr",
                                                 "tolist", "_nnz", "_indices", "_values"):
            continue
        agree(lambda name=name: getattr(ek, name)(), lambda name=name: getattr(tk, name)(),
              match_message=not name.startswith("_") or kind == "dense")
    assert_same_error(lambda: e._nnz(), lambda: t._nnz(), match_message=False)
    assert_same_error(lambda: e.sparse_resize_((4, 4), 2, 0), lambda: t.sparse_resize_((4, 4), 2, 0),
                      match_message=False)


def test_dense_helpers():
    e, t = both(D2)
    same(e.to_dense(), t.to_dense())
    same(e.to_dense(ember.float64), t.to_dense(torch.float64))
    assert_same_error(lambda: e.smm(e), lambda: t.smm(t))
    for mk in (lambda x: x.to_sparse(), lambda x: x.to_sparse_csr(), lambda x: x.to_sparse_csc(),
               lambda x: x.to_sparse_bsr((1, 1))):
        same((e + 1).sparse_mask(mk(e)), (t + 1).sparse_mask(mk(t)))
    for mk in (lambda x: x.to_sparse(), lambda x: x.to_sparse_csr()):
        same(mk(e).sparse_mask(mk(e)), mk(t).sparse_mask(mk(t)))
    ec = esp.sparse_coo_tensor(ember.tensor([[0, 0], [1, 1]]), ember.tensor([1.0, 2.0]), (4, 4))
    tc = torch.sparse_coo_tensor(torch.tensor([[0, 0], [1, 1]]), torch.tensor([1.0, 2.0]), (4, 4))
    same((e + 1).sparse_mask(ec), (t + 1).sparse_mask(tc))
    assert_same_error(lambda: e.sparse_mask(e), lambda: t.sparse_mask(t), match_message=False)
    assert_same_error(lambda: e[:2].sparse_mask(ec), lambda: t[:2].sparse_mask(tc))


def test_sparse_mask_gradient():
    e, t = both(D2, "float64")
    e.requires_grad_()
    t.requires_grad_()
    em, tm = e.sparse_mask(e.detach().to_sparse()), t.sparse_mask(t.detach().to_sparse())
    assert type(em.grad_fn).__name__ == type(tm.grad_fn).__name__ == "SparseMaskBackward0"
    em.to_dense().pow(2).sum().backward()
    tm.to_dense().pow(2).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy())


def test_transpose():
    e, t = both(D2)
    for fn in (lambda x: x.t(), lambda x: x.transpose(0, 1), lambda x: x.transpose(1, 0), lambda x: x.transpose(0, 0),
               lambda x: x.mT):
        for mk in (lambda x: x.to_sparse_csr(), lambda x: x.to_sparse_csc(), lambda x: x.to_sparse_bsr((1, 2)),
                   lambda x: x.to_sparse_bsc((2, 1))):
            same(fn(mk(e)), fn(mk(t)))
    eb, tb = both((np.arange(24.0).reshape(2, 3, 4) + 1).tolist())
    same(eb.to_sparse_csr().mT, tb.to_sparse_csr().mT)
    same(eb.to_sparse_csr().transpose(1, 2), tb.to_sparse_csr().transpose(1, 2))
    assert_same_error(lambda: eb.to_sparse_csr().transpose(0, 1), lambda: tb.to_sparse_csr().transpose(0, 1))
    assert_same_error(lambda: e.to_sparse_csr().T, lambda: t.to_sparse_csr().T, match_message=False)


D3 = [[4.0, 0.0, 0.0, 1.0], [2.0, 0.0, 0.0, 0.0], [0.0, 0.0, 5.0, 0.0], [0.0, 0.0, 0.0, 6.0]]


def test_arithmetic():
    e, t = both(D2, "float64")
    e2, t2 = both(D3, "float64")
    ec, tc, ec2, tc2 = e.to_sparse_csr(), t.to_sparse_csr(), e2.to_sparse_csr(), t2.to_sparse_csr()
    same(ec + ec2, tc + tc2)
    same(ec.add(ec2, alpha=2), tc.add(tc2, alpha=2))
    same(ec * 2, tc * 2)
    same(2 * ec, 2 * tc)
    same(ec * ember.tensor(2.0, dtype=ember.float64), tc * torch.tensor(2.0, dtype=torch.float64))
    same(ec * ec2, tc * tc2)
    same(ec * e2, tc * t2)
    same(ec + e2, tc + t2)
    same(e2 + ec, t2 + tc)
    same(-ec, -tc)
    same(ec.abs(), tc.abs())
    same(ec.sqrt(), tc.sqrt())
    same(ec.to(ember.float32), tc.to(torch.float32))
    same(ec.clone(), tc.clone())
    eb, tb = e.to_sparse_bsr((2, 2)), t.to_sparse_bsr((2, 2))
    same(eb * 3, tb * 3)
    for fn in (lambda a, b: a - b, lambda a, b: a / 2, lambda a, b: a + 1, lambda a, b: a + b.float(),
               lambda a, b: a.to_sparse_csc() + b.to_sparse_csc(), lambda a, b: a + b.to_sparse_csc()):
        assert_same_error(lambda fn=fn: fn(ec, ec2), lambda fn=fn: fn(tc, tc2))


def test_sums_and_softmax():
    e, t = both(D2, "float64")
    for mk in (lambda x: x.to_sparse_csr(), lambda x: x.to_sparse_csc(), lambda x: x.to_sparse_bsr((2, 2))):
        same(mk(e).sum(), mk(t).sum())
    ec, tc = e.to_sparse_csr(), t.to_sparse_csr()
    same(ec.sum(dtype=ember.float32), tc.sum(dtype=torch.float32))
    for dims in (0, 1, (0, 1), -1):
        same(ec.sum(dims, keepdim=True), tc.sum(dims, keepdim=True))
    for fn in (lambda x, m: x.sum(0), lambda x, m: x.to_sparse_csc().sum(0, keepdim=True),
               lambda x, m: m.sparse.sum(x), lambda x, m: m.sparse.softmax(x, 1),
               lambda x, m: m.sparse.log_softmax(x, 0)):
        assert_same_error(lambda fn=fn: fn(ec, ember), lambda fn=fn: fn(tc, torch),
                          match_message=False)
    eb, tb = both((np.arange(24.0).reshape(2, 3, 4) + 1).tolist())
    same(eb.to_sparse_csr().sum(), tb.to_sparse_csr().sum())


def _grads(make, to="to_sparse_csr"):
    """Run ``make`` under both libraries on float64 leaves, return outputs and leaf gradients."""
    out = {}
    for lib, mod in (("e", ember), ("t", torch)):
        d = mod.tensor(D2, dtype=mod.float64)
        c = getattr(d, to)().requires_grad_()
        b = mod.arange(8.0, dtype=mod.float64).reshape(4, 2).requires_grad_()
        v = mod.arange(4.0, dtype=mod.float64).requires_grad_()
        bias = mod.ones(4, 2, dtype=mod.float64, requires_grad=True)
        y = make(mod, c, b, v, bias)
        (y.to_dense() if y.layout != mod.strided else y).pow(2).sum().backward()
        out[lib] = (y, c.grad, b.grad, v.grad, bias.grad)
    return out["e"], out["t"]


@pytest.mark.parametrize("name,fn", [
    ("MmBackward0", lambda m, c, b, v, bias: c.mm(b)),
    ("MmBackward0", lambda m, c, b, v, bias: c @ b),
    ("MvBackward0", lambda m, c, b, v, bias: c.mv(v)),
    ("MvBackward0", lambda m, c, b, v, bias: c @ v),
    ("SparseAddmmBackward0", lambda m, c, b, v, bias: m.sparse.mm(c, b)),
    ("SparseAddmmBackward0", lambda m, c, b, v, bias: m.sparse.addmm(bias, c, b, beta=2, alpha=3)),
    ("MmBackward0", lambda m, c, b, v, bias: b.t() @ c),
    ("ToDenseBackward0", lambda m, c, b, v, bias: c.to_dense()),
    ("MulBackward0", lambda m, c, b, v, bias: c * 3),
    ("SumBackward0", lambda m, c, b, v, bias: c.sum()),
    ("TBackward0", lambda m, c, b, v, bias: c.t().to_dense()),
    ("ToSparseBackward1", lambda m, c, b, v, bias: c.to_sparse().to_dense()),
    ("ToSparseCscBackward0", lambda m, c, b, v, bias: c.to_sparse_csc().to_dense()),
])
@pytest.mark.parametrize("to", ["to_sparse_csr", "to_sparse_csc"])
def test_products_and_gradients(name, fn, to):
    if to == "to_sparse_csc" and name not in ("MmBackward0", "MvBackward0", "SumBackward0"):
        pytest.skip("torch has no CPU kernel for this op on CSC")
    (ey, *eg), (ty, *tg) = _grads(fn, to)
    chain = ty.grad_fn
    assert type(ey.grad_fn).__name__ == type(chain).__name__
    if name in ("MmBackward0", "MvBackward0", "SparseAddmmBackward0"):
        assert type(ey.grad_fn).__name__ == name
    same(ey.detach(), ty.detach())
    for a, b in zip(eg, tg, strict=True):
        assert (a is None) == (b is None)
        if b is not None:
            same(a, b)


def test_product_errors():
    e, t = both(D2, "float64")
    ec, tc = e.to_sparse_csr(), t.to_sparse_csr()
    for fn in (lambda c, m: c.mm(m.ones(3, 2, dtype=m.float64)), lambda c, m: c.mm(m.ones(4, 2)),
               lambda c, m: c @ m.ones(3, dtype=m.float64),
               lambda c, m: m.ones(2, 3, 3, dtype=m.float64).to_sparse_csr() @ m.ones(2, 3, 2, dtype=m.float64)):
        assert_same_error(lambda fn=fn: fn(ec, ember), lambda fn=fn: fn(tc, torch))


def test_values_and_constructor_gradients():
    res = {}
    for lib, mod in (("e", ember), ("t", torch)):
        v = mod.tensor([1.0, 2.0, 3.0], dtype=mod.float64, requires_grad=True)
        d = mod.tensor(D2, dtype=mod.float64, requires_grad=True)
        c = mod.sparse_csr_tensor(mod.tensor([0, 1, 3, 3]), mod.tensor([1, 0, 2]), v, (3, 3)) \
            if lib == "t" else esp.sparse_csr_tensor(mod.tensor([0, 1, 3, 3]), mod.tensor([1, 0, 2]), v, (3, 3))
        names = [type(c.grad_fn).__name__, type(c.values().grad_fn).__name__]
        (c.to_dense() * mod.arange(9.0, dtype=mod.float64).reshape(3, 3)).sum().backward()
        x = d.to_sparse_csr()
        names.append(type(x.grad_fn).__name__)
        (x.values() ** 2).sum().backward()
        y = d.to_sparse_bsr((2, 2))
        names.append(type(y.grad_fn).__name__)
        y.values().sum().backward()
        res[lib] = (names, v.grad.tolist(), d.grad.tolist())
    assert res["e"] == res["t"]


@pytest.mark.parametrize("block", [(2, 2), (1, 2)])
def test_block_products(block):
    e, t = both(D2, "float64")
    b = np.arange(12.0).reshape(4, 3)
    eb, tb = e.to_sparse_bsr(block), t.to_sparse_bsr(block)
    if block[0] == block[1]:   # torch's CPU kernel (MKL) takes square blocks only
        same(eb @ ember.tensor(b), tb @ torch.tensor(b))
    np.testing.assert_allclose((eb @ ember.tensor(b)).numpy(), D2 @ b)
    np.testing.assert_allclose(eb.to_sparse_bsc(block).mv(ember.tensor(b[:, 0])).numpy(), D2 @ b[:, 0])
    np.testing.assert_allclose((ember.tensor(b.T) @ eb).numpy(), b.T @ D2)


@pytest.mark.parametrize("layout", ["csr", "csc", "bsr", "bsc"])
def test_gradcheck_masked_products(layout):
    """Gradients torch's CPU kernels lack (CSC/BSR/BSC sparse.mm) checked by finite differences."""
    d = ember.tensor(D2, dtype=ember.float64)
    c0 = d.to_sparse_csr() if layout == "csr" else d.to_sparse_csc() if layout == "csc" else \
        getattr(d, f"to_sparse_{layout}")((2, 2))
    names = esp._compressed._names(c0.layout)
    ci, pi = (getattr(c0, n)() for n in names)
    vals = c0.values().detach().requires_grad_()
    b = ember.randn(4, 3, dtype=ember.float64, requires_grad=True)

    def f(values, b):
        c = esp.sparse_compressed_tensor(ci, pi, values, (4, 4), layout=c0.layout)
        return esp.mm(c, b) + esp.addmm(b[:, :1], c, b, beta=2, alpha=0.5) + c.mm(b) + (b.t() @ c).t()

    assert ember.autograd.gradcheck(f, (vals, b))


def test_gradcheck_products():
    d = ember.tensor(D2, dtype=ember.float64)
    b = ember.randn(4, 3, dtype=ember.float64, requires_grad=True)
    vals = d.to_sparse_csr().values().detach().requires_grad_()
    crow, col = d.to_sparse_csr().crow_indices(), d.to_sparse_csr().col_indices()

    def f(values, b):
        c = esp.sparse_csr_tensor(crow, col, values, (4, 4))
        return c.mm(b) + esp.mm(c, b) + (c.t() @ b)

    assert ember.autograd.gradcheck(f, (vals, b))


def test_repr_variants():
    e, t = both(D2)
    same(e.to_sparse_csr().requires_grad_(), t.to_sparse_csr().requires_grad_())
    same(e.to_sparse_csr().double(), t.to_sparse_csr().double())
    same(e.int().to_sparse_csc(), t.int().to_sparse_csc())
    same(ember.zeros(2, 3, dtype=ember.float64).to_sparse_csr(), torch.zeros(2, 3, dtype=torch.float64).to_sparse_csr())
    big = np.arange(300.0).reshape(30, 10)
    same(ember.tensor(big).to_sparse_csr(), torch.tensor(big).to_sparse_csr())


def test_zero_and_gradient_accumulation():
    e, t = both(D2, "float64")
    ez, tz = e.to_sparse_csr(), t.to_sparse_csr()
    same(ez.zero_(), tz.zero_())
    grads = []
    for x in (e, t):
        c = x.to_sparse_csr().requires_grad_()
        (c * 2).to_dense().sum().backward()
        (c * 3).to_dense().pow(2).sum().backward()
        grads.append(c.grad)
    same(*grads)


def test_pickle_and_deepcopy():
    import copy
    import pickle
    e, _ = both(D2)
    for c in (e.to_sparse_csr(), e.to_sparse_bsc((2, 2))):
        for c2 in (pickle.loads(pickle.dumps(c)), copy.deepcopy(c)):
            assert repr(c2) == repr(c)


@pytest.mark.parametrize("name", LAYOUTS)
def test_torch_file_loads_in_ember(name):
    t = torch.tensor(D2)
    tc = getattr(t, "to_" + name)(*(((2, 2),) if name in ("sparse_bsr", "sparse_bsc") else ()))
    buf = io.BytesIO()
    torch.save({"m": tc}, buf)
    buf.seek(0)
    e = ember.load(buf)["m"]
    same(e, tc)


@pytest.mark.parametrize("name", ["sparse_csr", "sparse_bsc"])
def test_ember_file_loads_in_torch(name):
    e = ember.tensor(D2)
    ec = getattr(e, "to_" + name)(*(((2, 2),) if name == "sparse_bsc" else ()))
    buf = io.BytesIO()
    ember.save({"m": ec}, buf)
    buf.seek(0)
    t = torch.load(buf)["m"]
    same(ec, t)


def test_module_level_products():
    e, t = both(D2, "float64")
    b = np.arange(8.0).reshape(4, 2)
    same(ember.mm(e.to_sparse_csr(), ember.tensor(b)), torch.mm(t.to_sparse_csr(), torch.tensor(b)))
    same(ember.addmm(ember.tensor(b[:4]), e.to_sparse_csr(), ember.tensor(b)),
         torch.addmm(torch.tensor(b[:4]), t.to_sparse_csr(), torch.tensor(b)))


@pytest.mark.parametrize("fn", [
    lambda a, b: (a + b).to_dense(), lambda a, b: a.add(b, alpha=2).to_dense(), lambda a, b: (-a).to_dense(),
    lambda a, b: a + b.to_dense(), lambda a, b: a.values() * 2, lambda a, b: (a * b).to_dense(),
    lambda a, b: (a * 2.5).to_dense(),
])
def test_arithmetic_gradients(fn):
    """Gradients of two CSR leaves (each used once or shared by an op) equal torch's, layout included."""
    res = []
    for m in (ember, torch):
        a = m.tensor(D2, dtype=m.float64).to_sparse_csr().requires_grad_()
        b = m.tensor(D3, dtype=m.float64).to_sparse_csr().requires_grad_()
        y = fn(a, b)
        y.pow(2).sum().backward()
        grads = [None if x.grad is None else (repr(x.grad.layout), x.grad.to_dense().tolist()) for x in (a, b)]
        res.append([type(y.grad_fn).__name__, *grads])
    assert res[0] == res[1]


def test_batched_values_ops():
    e, t = both((np.arange(24.0).reshape(2, 3, 4) % 4).tolist(), "float64")
    ec, tc = e.to_sparse_csr(), t.to_sparse_csr()
    same(ec * 2, tc * 2)
    same(-ec, tc.neg())
    same(ec.sqrt(), tc.sqrt())
    same(ec.sum(), tc.sum())
    same(ec.to_dense(), tc.to_dense())
    same(ec.to_sparse_csc(), tc.to_sparse_csc())
    assert_same_error(lambda: ec.to_sparse_bsr((1, 2)), lambda: tc.to_sparse_bsr((1, 2)))
    same(e.to_sparse_bsr((1, 2)).to_dense(), t.to_sparse_bsr((1, 2)).to_dense())


def test_check_sparse_tensor_invariants_switch():
    args = ([0, 2], [0], [1.0], (1, 1))
    for mod, sp in ((esp, esp), (torch, torch.sparse)):
        assert sp.check_sparse_tensor_invariants.is_enabled() is False
        mod.sparse_csr_tensor(*args)   # unchecked by default
    with esp.check_sparse_tensor_invariants():
        with torch.sparse.check_sparse_tensor_invariants():
            assert esp.check_sparse_tensor_invariants.is_enabled()
            assert_same_error(lambda: esp.sparse_csr_tensor(*args), lambda: torch.sparse_csr_tensor(*args))
            assert_same_error(lambda: esp.sparse_coo_tensor([[0], [3]], [1.0], (2, 2)),
                              lambda: torch.sparse_coo_tensor([[0], [3]], [1.0], (2, 2)))
    assert not esp.check_sparse_tensor_invariants.is_enabled()

    @esp.check_sparse_tensor_invariants()
    def build():
        return esp.sparse_csr_tensor(*args)

    with pytest.raises(RuntimeError, match="crow_indices"):
        build()
    esp.check_sparse_tensor_invariants.enable()
    try:
        with pytest.raises(RuntimeError):
            esp.sparse_csr_tensor(*args)
    finally:
        esp.check_sparse_tensor_invariants.disable()
    assert esp.sparse_csr_tensor(*args, check_invariants=False)._nnz() == 1


def test_sampled_addmm():
    res = []
    for m in (ember, torch):
        c = m.tensor([[0.0, 1, 0], [2, 0, 3], [0, 0, 0]], dtype=m.float64).to_sparse_csr().requires_grad_()
        a = m.arange(6.0, dtype=m.float64).reshape(3, 2).requires_grad_()
        b = m.arange(6.0, dtype=m.float64).reshape(2, 3).requires_grad_()
        y = m.sparse.sampled_addmm(c, a, b, beta=2, alpha=0.5)
        y.to_dense().pow(2).sum().backward()
        res.append((y, c.grad, a.grad, b.grad))
    for e, t in zip(*res, strict=True):
        same(e.detach() if e.requires_grad else e, t.detach() if t.requires_grad else t)
    assert type(res[0][0].grad_fn).__name__ == type(res[1][0].grad_fn).__name__
    ones = [m.ones(2, 3, 3, dtype=m.float64) for m in (ember, torch)]
    same(esp.sampled_addmm(ones[0].to_sparse_csr(), ember.ones(2, 3, 2, dtype=ember.float64),
                           ember.ones(2, 2, 3, dtype=ember.float64)),
         torch.sparse.sampled_addmm(ones[1].to_sparse_csr(), torch.ones(2, 3, 2, dtype=torch.float64),
                                    torch.ones(2, 2, 3, dtype=torch.float64)))
    d = [[0.0, 1, 0], [2, 0, 3], [0, 0, 0]]
    for fn in (lambda m, x: m.sparse.sampled_addmm(x, m.ones(3, 2), m.ones(3, 2)),
               lambda m, x: m.sparse.sampled_addmm(x.to_sparse_csc(), m.ones(3, 2), m.ones(2, 3))):
        assert_same_error(lambda fn=fn: fn(ember, ember.tensor(d).to_sparse_csr()),
                          lambda fn=fn: fn(torch, torch.tensor(d).to_sparse_csr()))
    assert_same_error(lambda: esp.sampled_addmm(ember.tensor(d), ember.ones(3, 2), ember.ones(2, 3)),
                      lambda: torch.sparse.sampled_addmm(torch.tensor(d), torch.ones(3, 2), torch.ones(2, 3)),
                      match_message=False)


def test_sparse_sparse_product():
    d = [[0.0, 1, 0], [2, 0, 3], [0, 0, 0]]
    f = [[1.0, 0, 0], [0, 0, 2], [0, -1, 0]]
    res = []
    for m in (ember, torch):
        a = m.tensor(d, dtype=m.float64).to_sparse_csr().requires_grad_()
        b = m.tensor(f, dtype=m.float64).to_sparse_csr().requires_grad_()
        y = a @ b
        y.to_dense().pow(2).sum().backward()
        cancel = m.tensor([[1.0, -1], [1, 1]]).to_sparse_csr() @ m.tensor([[1.0, 1], [1, 0]]).to_sparse_csr()
        csc = m.tensor(d).to_sparse_csc() @ m.tensor(f).to_sparse_csc()
        res.append((y, a.grad, b.grad, cancel, csc))
    for e, t in zip(*res, strict=True):
        same(e.detach(), t.detach())
    assert type(res[0][0].grad_fn).__name__ == type(res[1][0].grad_fn).__name__ == "MmBackward0"
    assert_same_error(lambda: ember.tensor(d).to_sparse_csr() @ ember.ones(2, 2).to_sparse_csr(),
                      lambda: torch.tensor(d).to_sparse_csr() @ torch.ones(2, 2).to_sparse_csr())
