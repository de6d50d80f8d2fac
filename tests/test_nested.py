"""ember.nested against torch.nested: construction, metadata, reprs, ops, errors and autograd."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import ember
from ember import overrides as eo
from oracle import assert_close, assert_same_error, check_grads

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")   # torch's and ember's prototype notices
F = ember.nn.functional
TF = torch.nn.functional


@pytest.fixture(scope="module", autouse=True)
def _nested() -> Iterator[None]:
    """Import lazily (defining NestedTensor turns the __torch_function__ protocol on) and leave the rest of the
    suite on the plain entry points."""
    import ember.nested  # noqa: F401
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield
    eo._deactivate()


def _jagged(lib: Any) -> Any:
    if lib is torch:
        return torch.jagged
    from ember.nested._tensor import jagged
    return jagged


def _pair(*shapes: tuple[int, ...], seed: int = 0, dtype: Any = np.float32, **kw: Any) -> tuple[Any, Any]:
    """The same nested tensor in ember and torch (constituents of ``shapes``)."""
    rs = np.random.RandomState(seed)
    arrays = [rs.randn(*s).astype(dtype) for s in shapes]
    layout = kw.pop("layout", None)
    e = ember.nested.nested_tensor([ember.tensor(a) for a in arrays], layout=layout and _jagged(ember), **kw)
    t = torch.nested.nested_tensor([torch.tensor(a) for a in arrays], layout=layout and torch.jagged, **kw)
    return e, t


def _same(e: Any, t: Any, **kw: Any) -> None:
    """Equal results: nested (same layout and constituents) or dense."""
    if isinstance(t, (list, tuple)):
        assert len(e) == len(t)
        for a, b in zip(e, t, strict=True):
            _same(a, b, **kw)
        return
    assert e.is_nested == t.is_nested
    if t.is_nested:
        assert repr(e.layout) == repr(t.layout) and e.dim() == t.dim()
        assert_close(list(e.unbind()), list(t.unbind()), **kw)
    else:
        assert_close(e, t, **kw)


def test_construction_metadata_and_repr() -> None:
    e, t = _pair((2, 3), (4, 3))
    assert repr(e) == repr(t) and str(e) == str(t)
    assert e.is_nested and not ember.ones(1).is_nested
    assert (e.dim(), e.ndim, e.size(0), e.size(2), e.size(-1), e.numel()) == (3, 3, 2, 3, 3, 18)
    assert repr(e.layout) == "torch.strided" and e.dtype is ember.float32 and e.is_contiguous()
    assert e._nested_tensor_size().tolist() == t._nested_tensor_size().tolist()
    assert e._nested_tensor_strides().tolist() == t._nested_tensor_strides().tolist()
    assert e._nested_tensor_storage_offsets().tolist() == t._nested_tensor_storage_offsets().tolist()
    for ex, tx in [(ember.nested.nested_tensor([]), torch.nested.nested_tensor([])),
                   (ember.nested.nested_tensor([[1.0, 2.0], [3.0]]), torch.nested.nested_tensor([[1.0, 2.0], [3.0]])),
                   (ember.nested.nested_tensor([ember.tensor([1, 2]), ember.tensor([3])]),
                    torch.nested.nested_tensor([torch.tensor([1, 2]), torch.tensor([3])])),
                   _pair((1, 2), (2, 2), dtype=np.float64, requires_grad=True),
                   _pair((2,), (1,), dtype=np.float64)]:
        assert repr(ex) == repr(tx)
        assert ex.dim() == tx.dim()
    e64, t64 = _pair((1, 2), (2, 2), requires_grad=True)
    assert repr(e64 * 2) == repr(t64 * 2) and repr((e64 * 2).detach()) == repr((t64 * 2).detach())
    ed = ember.nested.nested_tensor([ember.ones(2)], dtype=ember.float64)
    assert ed.dtype is ember.float64 and not ed.requires_grad and ed.is_leaf


def test_prototype_warning_once() -> None:
    from ember.nested import _tensor
    _tensor._WARNED[0] = False
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        ember.nested.nested_tensor([ember.ones(2)])
        ember.nested.as_nested_tensor([ember.ones(2)])
        ember.nested.nested_tensor([ember.ones(2)], layout=_jagged(ember))
    assert len(got) == 1 and got[0].category is UserWarning
    assert str(got[0].message).startswith("The PyTorch API of nested tensors is in prototype stage and will change "
                                          "in the near future. We recommend specifying layout=torch.jagged")


def test_errors_match_torch() -> None:
    e, t = _pair((2, 3), (4, 3))
    e2, t2 = _pair((2, 3), (2, 3), seed=1)
    cases = [
        (lambda x, y, lib: x.shape), (lambda x, y, lib: x.size(1)), (lambda x, y, lib: x.size()),
        (lambda x, y, lib: x.stride()), (lambda x, y, lib: len(x)), (lambda x, y, lib: x.sum()),
        (lambda x, y, lib: x.sum(-1)), (lambda x, y, lib: x.sum(0)), (lambda x, y, lib: x.sum(1, keepdim=True)),
        (lambda x, y, lib: x.mean()), (lambda x, y, lib: x.max()), (lambda x, y, lib: x.exp()),
        (lambda x, y, lib: lib.sigmoid(x)), (lambda x, y, lib: x ** 2), (lambda x, y, lib: 1 - x),
        (lambda x, y, lib: x[:, 0]), (lambda x, y, lib: x.T), (lambda x, y, lib: x + lib.ones(3)),
        (lambda x, y, lib: x * lib.ones(3)), (lambda x, y, lib: x + y), (lambda x, y, lib: x == x),
        (lambda x, y, lib: lib.where(x > 0, x, 0.0)), (lambda x, y, lib: lib.where(x > 0, x, x)),
        (lambda x, y, lib: x.transpose(0, 1)),
        (lambda x, y, lib: x.softmax(0)), (lambda x, y, lib: x.unbind(1)), (lambda x, y, lib: x.view(2, -1)),
        (lambda x, y, lib: x.view(-1, 3)), (lambda x, y, lib: x.reshape(3, -1, 3)),
        (lambda x, y, lib: x.reshape(2, 2, -1)), (lambda x, y, lib: x.reshape(2, -1, 3, -1)),
        (lambda x, y, lib: x.unsqueeze(0)), (lambda x, y, lib: x.squeeze()), (lambda x, y, lib: x @ lib.ones(3, 2)),
        (lambda x, y, lib: (F if lib is ember else TF).linear(x, lib.ones(5, 4))),
        (lambda x, y, lib: (F if lib is ember else TF).linear(x.unsqueeze(1), lib.ones(5, 3))),
        (lambda x, y, lib: (F if lib is ember else TF).layer_norm(x, (3,))),
        (lambda x, y, lib: lib.nested.to_padded_tensor(x, 0.0, (2, 1, 3))),
        (lambda x, y, lib: lib.nested.to_padded_tensor(x, 0.0, (2, 4))),
        (lambda x, y, lib: lib.nested.nested_tensor([lib.ones(2, 3), lib.ones(2)])),
        (lambda x, y, lib: lib.nested.nested_tensor(lib.ones(2, 3))),
        (lambda x, y, lib: lib.nested.nested_tensor([lib.ones(2)], layout=lib.sparse_coo)),
        (lambda x, y, lib: lib.nested.narrow(lib.ones(3, 5), 1, 0, 2)),
        (lambda x, y, lib: lib.nested.narrow(lib.ones(3, 5), 0, lib.tensor(0), 2)),
    ]
    for i, f in enumerate(cases):
        with pytest.raises(Exception) as te:
            f(t, t2, torch)
        with pytest.raises(Exception) as ee:
            f(e, e2, ember)
        assert type(ee.value) is type(te.value), (i, ee.value, te.value)
        # the dispatcher's refusal goes on with torch's list of backends: compare up to there
        assert str(te.value).startswith(str(ee.value)), (i, str(ee.value), str(te.value))


def test_ops_values() -> None:
    e, t = _pair((2, 3), (4, 3))
    ei, ti = _pair((2, 3), (2, 5), seed=2)
    rs = np.random.RandomState(3)
    w, b, m3, b3 = (rs.randn(*s).astype(np.float32) for s in [(5, 3), (5,), (2, 3, 5), (3,)])
    ew, eb, em3, eb3 = (ember.tensor(x) for x in (w, b, m3, b3))
    tw, tb, tm3, tb3 = (torch.tensor(x) for x in (w, b, m3, b3))
    el, tl = _pair((3, 2), (3, 4), seed=4)
    e4a, t4a = _pair((2, 3, 4), (2, 5, 4), seed=5)
    e4b, t4b = _pair((2, 4, 3), (2, 4, 5), seed=6)
    cases = [
        (lambda x, lib, *a: x + 1), (lambda x, lib, *a: 2 * x - x / 3), (lambda x, lib, *a: x * x),
        (lambda x, lib, *a: -x.abs()), (lambda x, lib, *a: x.relu()), (lambda x, lib, *a: lib.tanh(x)),
        (lambda x, lib, *a: x + lib.tensor(2.0)), (lambda x, lib, *a: x > 0), (lambda x, lib, *a: x.double()),
        (lambda x, lib, *a: x.clone().detach()), (lambda x, lib, *a: x.abs().sqrt()),
        (lambda x, lib, *a: x.masked_fill(x > 0.5, 0.0)),
        (lambda x, lib, w, b, *a: (F if lib is ember else TF).gelu(x)),
        (lambda x, lib, w, b, *a: (F if lib is ember else TF).linear(x, w, b)),
        (lambda x, lib, *a: (F if lib is ember else TF).softmax(x, -1)), (lambda x, lib, *a: x.softmax(1)),
        (lambda x, lib, w, b, m3, b3: (F if lib is ember else TF).layer_norm(x, (3,), b3 + 2, b3)),
        (lambda x, lib, *a: x.transpose(1, 2)), (lambda x, lib, *a: x.transpose(1, 2).softmax(-1)),
        (lambda x, lib, *a: x.sum(-1, keepdim=True)), (lambda x, lib, *a: x.view(2, -1, 3)),
        (lambda x, lib, *a: x.reshape(2, -1, 1, 3)), (lambda x, lib, *a: x.unsqueeze(1)),
        (lambda x, lib, *a: x.unsqueeze(-1).squeeze(-1)), (lambda x, lib, *a: x.unbind()),
        (lambda x, lib, *a: x[1]), (lambda x, lib, *a: x.select(0, 0)), (lambda x, lib, *a: lib.bmm(x, a[2])),
        (lambda x, lib, *a: lib.nested.to_padded_tensor(x, 0.0)),
        (lambda x, lib, *a: x.to_padded_tensor(-1.0, (2, 5, 4))),
        (lambda x, lib, *a: x.is_contiguous()), (lambda x, lib, *a: x.transpose(1, 2).contiguous()),
    ]
    for i, f in enumerate(cases):
        er, tr = f(e, ember, ew, eb, em3, eb3), f(t, torch, tw, tb, tm3, tb3)
        if isinstance(tr, bool):
            assert er == tr, i
        else:
            _same(er, tr)
    assert not e.transpose(1, 2).is_contiguous()
    _same(ei.softmax(-1), ti.softmax(-1))   # an irregular last dim: padded with -inf
    _same(ei.sum(-1, keepdim=True), ti.sum(-1, keepdim=True))
    _same(ember.bmm(e, el), torch.bmm(t, tl))
    _same(ember.matmul(e, el), torch.matmul(t, tl))
    _same(ember.matmul(e4a, e4b), torch.matmul(t4a, t4b))
    src = np.arange(15.0, dtype=np.float32).reshape(3, 5)
    _same(ember.nested.narrow(ember.tensor(src), 0, 1, 2), torch.nested.narrow(torch.tensor(src), 0, 1, 2))
    _same(ember.nested.as_nested_tensor(ember.tensor(src).reshape(3, 1, 5)),
          torch.nested.as_nested_tensor(torch.tensor(src).reshape(3, 1, 5)))


def test_autograd_matches_torch() -> None:
    rs = np.random.RandomState(7)
    parts = [rs.randn(2, 3), rs.randn(4, 3)]
    w, b = rs.randn(5, 3), rs.randn(5)
    out = {}
    for lib in (ember, torch):
        fn = F if lib is ember else TF
        x = lib.nested.nested_tensor([lib.tensor(p) for p in parts], requires_grad=True)
        srcs = [lib.tensor(p, requires_grad=True) for p in parts]
        y = lib.nested.as_nested_tensor(srcs)
        wt, bt = lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)
        h = fn.linear(x * y, wt, bt).softmax(-1)
        z = lib.bmm(h, h.transpose(1, 2)).relu().sum(-1, keepdim=True)
        loss = (lib.nested.to_padded_tensor(z, 0.0) ** 2).sum()
        loss.backward()
        names = [type(v.grad_fn).__name__ for v in (y, h, lib.nested.to_padded_tensor(z, 0.0), x * y,
                                                    lib.bmm(h, h.transpose(1, 2)))]
        out[lib] = (loss, x.grad, [s.grad for s in srcs], wt.grad, bt.grad, names, x.is_leaf, y.is_leaf,
                    repr(x.grad))
    e, t = out[ember], out[torch]
    assert_close(e[0], t[0])
    _same(e[1], t[1])
    assert_close(e[2], t[2])
    assert_close(e[3], t[3])
    assert_close(e[4], t[4])
    assert e[5][:4] == t[5][:4] and e[5][4] == t[5][4]
    assert e[6:] == t[6:]
    s = ember.nested.nested_tensor([ember.ones(2)], requires_grad=True)
    detached = ember.nested.nested_tensor([ember.ones(2, requires_grad=True)])
    assert detached.grad_fn is None and not detached.requires_grad and s.is_leaf


def test_scaled_dot_product_attention() -> None:
    rs = np.random.RandomState(8)
    shapes = {"q": [(2, 3, 4), (2, 5, 4)], "k": [(2, 4, 4), (2, 2, 4)], "v": [(2, 4, 6), (2, 2, 6)]}
    arrays = {k: [rs.randn(*s) for s in v] for k, v in shapes.items()}
    res = {}
    for lib in (ember, torch):
        fn = F if lib is ember else TF
        leaves = {k: [lib.tensor(a, requires_grad=True) for a in v] for k, v in arrays.items()}
        q, k, v = (lib.nested.as_nested_tensor(leaves[n]) for n in "qkv")
        o = fn.scaled_dot_product_attention(q, k, v, scale=0.3)
        (lib.nested.to_padded_tensor(o, 0.0) ** 2).sum().backward()
        per_sample = [fn.scaled_dot_product_attention(a, b_, c, scale=0.3)
                      for a, b_, c in zip(leaves["q"], leaves["k"], leaves["v"], strict=True)]
        res[lib] = (o, per_sample, [g.grad for n in "qkv" for g in leaves[n]])
        for got, want in zip(o.unbind(), per_sample, strict=True):   # batched == per-sample
            np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
        with pytest.raises(RuntimeError, match="not supported when is_causal=True"):
            fn.scaled_dot_product_attention(q, k, v, is_causal=True)
        with pytest.raises(RuntimeError, match="they must be contiguous"):
            fn.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
    _same(res[ember][0], res[torch][0])
    assert_close(res[ember][2], res[torch][2])


def _jagged_pair() -> tuple[Any, list[Any]]:
    rs = np.random.RandomState(12)
    parts = [ember.tensor(rs.randn(n, 3).astype(np.float32)) for n in (2, 4)]
    return ember.nested.nested_tensor(parts, layout=_jagged(ember), requires_grad=True), parts


def test_jagged_layout() -> None:
    """The jagged layout against per-constituent dense ember ops and torch's printed metadata (torch's own
    jagged tensors are compared in the slow test below: their first use costs torch seconds)."""
    e, parts = _jagged_pair()
    j = repr(e.size(1))
    assert repr(e) == f"NestedTensor(size=(2, {j}, 3), offsets=tensor([0, 2, 6]), requires_grad=True, contiguous=True)"
    assert repr(e.shape) == f"torch.Size([2, {j}, 3])" and e.size(0) == 2 and e.size(2) == 3 and len(e) == 2
    assert repr(e.layout) == "torch.jagged" and e.values().shape == (6, 3) and e.offsets().tolist() == [0, 2, 6]
    assert (e * 2).size(1) is e.size(1) and e.transpose(1, 2).size(2) is e.size(1) and e.is_contiguous()
    w = ember.arange(15.0).reshape(3, 5) / 10
    per_part = [
        (lambda x: x.sum(-1), lambda c: c.sum(-1)), (lambda x: x.sum(-1, keepdim=True), lambda c: c.sum(-1, True)),
        (lambda x: x.softmax(1), lambda c: c.softmax(0)), (lambda x: x.exp().sigmoid(), lambda c: c.exp().sigmoid()),
        (lambda x: x ** 2, lambda c: c ** 2), (lambda x: x @ w, lambda c: c @ w),
        (lambda x: x + ember.arange(3.0), lambda c: c + ember.arange(3.0)),
        (lambda x: x.transpose(1, 2), lambda c: c.t()),
        (lambda x: x.view(2, -1, 3, 1), lambda c: c.view(-1, 3, 1)),
    ]
    for f, g in per_part:
        out = f(e)
        assert out.is_nested and repr(out.layout) == "torch.jagged"
        for got, c in zip(out.unbind(), parts, strict=True):
            np.testing.assert_allclose(got.detach().numpy(), g(c).numpy(), rtol=1e-6, atol=1e-6)
    dense = ember.stack([c.sum(0) for c in parts])
    np.testing.assert_allclose(e.sum(1).detach().numpy(), dense.numpy(), rtol=1e-6)
    np.testing.assert_allclose(e.mean(1).detach().numpy(), (dense / ember.tensor([[2.0], [4.0]])).numpy(), rtol=1e-6)
    np.testing.assert_allclose(e.sum().item(), sum(c.sum().item() for c in parts), rtol=1e-6)
    padded = ember.nested.to_padded_tensor(e, -1.0)
    assert padded.shape == (2, 4, 3) and padded[0, 2:].eq(-1).all() and padded[1].equal(parts[1])
    (e.exp() * 2).sum().backward()
    for got, c in zip(e.grad.unbind(), parts, strict=True):
        np.testing.assert_allclose(got.numpy(), (2 * c.exp()).numpy(), rtol=1e-6)
    vals = ember.arange(18.0).reshape(6, 3).requires_grad_()
    holes = ember.nested.nested_tensor_from_jagged(vals, ember.tensor([0, 2, 6]), lengths=ember.tensor([1, 3]))
    assert [c.tolist() for c in holes.unbind()] == [vals[0:1].tolist(), vals[2:5].tolist()]
    assert not holes.is_contiguous() and holes.lengths().tolist() == [1, 3]
    sum(c.sum() for c in holes.unbind()).backward()
    assert vals.grad[:, 0].tolist() == [1.0, 0.0, 1.0, 1.0, 1.0, 0.0]
    src = ember.arange(15.0).reshape(3, 5)
    nar = ember.nested.narrow(src, 1, ember.tensor([0, 1, 2]), ember.tensor([2, 3, 1]), layout=_jagged(ember))
    assert [c.tolist() for c in nar.unbind()] == [[0.0, 1.0], [6.0, 7.0, 8.0], [12.0]]
    assert nar.offsets().tolist() == [0, 6, 12, 13] and not nar.is_contiguous()
    with pytest.raises(RuntimeError, match=r"^to_padded_tensor\(\): not supported for nested tensors with holes$"):
        ember.nested.to_padded_tensor(nar, 0.0)
    sel = ember.nested.masked_select(src[:2, :3], ember.tensor([[True, False, True], [False, True, True]]))
    assert repr(sel.layout) == "torch.jagged" and [c.tolist() for c in sel.unbind()] == [[0.0, 2.0], [6.0, 7.0]]
    a = ember.nested.nested_tensor_from_jagged(ember.ones(6, 3), ember.tensor([0, 2, 6]))
    with pytest.raises(RuntimeError, match="cannot call binary pointwise function mul.Tensor with inputs of shapes"):
        a * ember.nested.nested_tensor_from_jagged(ember.ones(6, 3), ember.tensor([0, 2, 6]))


@pytest.mark.slow
def test_jagged_matches_torch() -> None:
    e, t = _pair((2, 3), (4, 3), layout=True, requires_grad=True)
    assert repr(e) == repr(t).replace(repr(t.size(1)), repr(e.size(1)))
    cases = [lambda x, lib: x.sum(1), lambda x, lib: x.mean(1), lambda x, lib: x.softmax(1),
             lambda x, lib: x.exp().sigmoid(), lambda x, lib: x @ lib.ones(3, 5), lambda x, lib: x.transpose(1, 2),
             lambda x, lib: lib.nested.to_padded_tensor(x, 0.0)]
    for f in cases:
        _same(f(e, ember), f(t, torch))
    (e.exp() * 2).sum().backward()
    (t.exp() * 2).sum().backward()
    _same(e.grad, t.grad)
    src = np.arange(15.0, dtype=np.float32).reshape(3, 5)
    en = ember.nested.narrow(ember.tensor(src), 1, ember.tensor([0, 1, 2]), ember.tensor([2, 3, 1]),
                             layout=_jagged(ember))
    tn = torch.nested.narrow(torch.tensor(src), 1, torch.tensor([0, 1, 2]), torch.tensor([2, 3, 1]),
                             layout=torch.jagged)
    _same(en, tn)
    assert en.offsets().tolist() == tn.offsets().tolist()
    assert_same_error(lambda: ember.nested.to_padded_tensor(en, 0.0), lambda: torch.nested.to_padded_tensor(tn, 0.0))


def test_gradcheck_float64() -> None:
    rs = np.random.RandomState(10)
    a, b, w = (ember.tensor(rs.randn(*s), requires_grad=True) for s in [(2, 3), (3, 3), (4, 3)])

    def f(a: Any, b: Any, w: Any) -> Any:
        nt = ember.nested.as_nested_tensor([a, b])
        h = F.linear(nt, w).softmax(-1)
        return ember.nested.to_padded_tensor(ember.bmm(h, h.transpose(1, 2)), 0.0)
    assert ember.autograd.gradcheck(f, (a, b, w))

    def g(a: Any, b: Any) -> Any:
        nt = ember.nested.as_nested_tensor([a.t(), b])   # irregular last dim: padded softmax
        return ember.nested.to_padded_tensor(nt.softmax(-1) * nt, 1.0)
    assert ember.autograd.gradcheck(g, (a, b))


def test_check_grads_helper_on_to_padded() -> None:
    rs = np.random.RandomState(11)

    def fn(lib: Any, a: Any, b: Any) -> Any:
        return lib.nested.to_padded_tensor(lib.nested.as_nested_tensor([a, b]).relu(), -1.0)
    check_grads(fn, rs.randn(2, 3), rs.randn(1, 3))
