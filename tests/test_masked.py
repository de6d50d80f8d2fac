"""ember.masked against torch.masked: the functional reductions on plain tensors and MaskedTensor (reprs, ops,
reductions, errors, warnings, autograd)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import ember
from ember import overrides as eo
from oracle import assert_close

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")   # torch's and ember's prototype notices

DATA = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0], [7.0, 8.0, 9.0]])
MASK = np.array([[True, False, True], [False, False, False], [True, True, False]])


@pytest.fixture(scope="module", autouse=True)
def _masked() -> Iterator[None]:
    """Import lazily (defining MaskedTensor turns the __torch_function__ protocol on) and leave the rest of the
    suite on the plain entry points."""
    import ember.masked  # noqa: F401
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield
    eo._deactivate()


def _both(fn: Any, dtype: Any = np.float32, requires_grad: bool = False) -> tuple[Any, Any]:
    out = []
    for lib in (ember, torch):
        d = lib.tensor(DATA.astype(dtype), requires_grad=requires_grad)
        out.append((fn(lib, d, lib.tensor(MASK)), d))
    return out[0], out[1]


def test_functional_reductions_match_torch() -> None:
    cases = []
    for name in ("sum", "prod", "amax", "amin", "argmax", "argmin", "mean", "logsumexp", "var", "std", "norm"):
        for kw in ({"dim": 1}, {"dim": 0, "keepdim": True}, {}):
            if name in ("argmax", "argmin") and not kw:
                kw = {"dim": None}
            cases.append((name, kw))
    cases += [("median", {"dim": 1}), ("median", {}), ("sum", {"dim": (0, 1), "keepdim": True}),
              ("sum", {"dim": 1, "dtype": "float64"}), ("var", {"dim": 1, "unbiased": False}),
              ("std", {"dim": 0, "correction": 0})]
    for name, kw in cases:
        def fn(lib: Any, d: Any, m: Any, name: str = name, kw: dict = kw) -> Any:
            kw = {k: getattr(lib, v) if k == "dtype" else v for k, v in kw.items()}
            if name == "norm":
                return lib.masked.norm(d, 2.0, mask=m, **kw)
            return getattr(lib.masked, name)(d, mask=m, **kw)
        (e, _), (t, _) = _both(fn)
        assert_close(e, t, rtol=1e-5)
    for name in ("softmax", "log_softmax", "softmin", "cumsum", "cumprod"):
        (e, _), (t, _) = _both(lambda lib, d, m, name=name: getattr(lib.masked, name)(d, 1, mask=m))
        assert_close(e, t)
    (e, _), (t, _) = _both(lambda lib, d, m: lib.masked.normalize(d, 2.0, 0, mask=m))
    assert_close(e, t)
    (e, _), (t, _) = _both(lambda lib, d, m: lib.masked.logaddexp(d, d * 2, input_mask=m, other_mask=~m))
    assert_close(e, t)
    (e, _), (t, _) = _both(lambda lib, d, m: lib.masked.sum(d, 1))   # no mask: every element
    assert_close(e, t)
    (e, _), (t, _) = _both(lambda lib, d, m: lib.masked.amax(d, 1, mask=m), dtype=np.int64)
    assert_close(e, t)


def test_functional_gradients_match_torch() -> None:
    for fn in (lambda lib, d, m: lib.masked.mean(d, 1, mask=m).nan_to_num().sum(),
               lambda lib, d, m: (lib.masked.softmax(d, 1, mask=m).nan_to_num() * lib.arange(3.0)).sum(),
               lambda lib, d, m: lib.masked.var(d, 0, mask=m).nan_to_num().sum(),
               lambda lib, d, m: lib.masked.amax(d, 1, mask=m).clamp(min=-10).sum(),
               lambda lib, d, m: (lib.masked.normalize(d, 2.0, 1, mask=m) * d).sum()):
        (e, ed), (t, td) = _both(fn, dtype=np.float64, requires_grad=True)
        e.backward()
        t.backward()
        assert_close(ed.grad, td.grad)
    m = ember.tensor(MASK)
    x = ember.tensor(DATA + 0.1, requires_grad=True)
    assert ember.autograd.gradcheck(lambda x: ember.masked.softmax(x, 1, mask=m).nan_to_num(), (x,))
    m2 = ember.tensor([[True, False, True], [True, True, False], [True, True, True]])   # ≥ 2 per column
    assert ember.autograd.gradcheck(lambda x: ember.masked.std(x, 0, mask=m2), (x,))
    assert ember.autograd.gradcheck(lambda x: ember.masked.logsumexp(x, 1, mask=m2), (x,))


def _mt(lib: Any, data: Any = DATA[:2], mask: Any = MASK[:2] | np.eye(2, 3, dtype=bool), **kw: Any) -> Any:
    return lib.masked.masked_tensor(lib.tensor(np.asarray(data, dtype=np.float32) if np.asarray(data).dtype.kind ==
                                               "f" else data), lib.tensor(mask), **kw)


def test_masked_tensor_reprs_ops_and_reductions() -> None:
    cases = [
        lambda lib, x: x, lambda lib, x: x.sum(), lambda lib, x: x.sum(0), lambda lib, x: x.sum(1, keepdim=True),
        lambda lib, x: lib.sum(x, 1), lambda lib, x: x.amax(1), lambda lib, x: x.amin(), lambda lib, x: x.mean(),
        lambda lib, x: x.mean(1), lambda lib, x: x.argmax(1), lambda lib, x: x.argmin(), lambda lib, x: x.prod(0),
        lambda lib, x: x.var(1), lambda lib, x: x.std(), lambda lib, x: x.softmax(1), lambda lib, x: x.all(),
        lambda lib, x: (x > 2).all(1), lambda lib, x: x + 1, lambda lib, x: 2 * x, lambda lib, x: x / 2,
        lambda lib, x: x - x, lambda lib, x: x * x, lambda lib, x: x > 2, lambda lib, x: x + lib.ones(2, 3),
        lambda lib, x: x.exp(), lambda lib, x: lib.sin(x), lambda lib, x: x.abs(), lambda lib, x: x.clamp(0, 2),
        lambda lib, x: x.pow(2), lambda lib, x: x.clone().exp_(), lambda lib, x: x.clone().add_(1),
        lambda lib, x: x[0], lambda lib, x: lib.stack([x, x]), lambda lib, x: x.reshape(3, 2),
        lambda lib, x: x.view(-1), lambda lib, x: x.transpose(0, 1), lambda lib, x: x.unsqueeze(0),
        lambda lib, x: lib.where(lib.tensor(MASK[:2]), x, x * 2), lambda lib, x: x.float(),
        lambda lib, x: x.to(lib.float64), lambda lib, x: x.detach(),
        lambda lib, x: _mt(lib, np.array([1, 2]), np.array([True, False])),
        lambda lib, x: _mt(lib, np.array(3.0), np.array(True)), lambda lib, x: _mt(lib, np.array(3.0), np.array(False)),
        lambda lib, x: _mt(lib, np.array([True, False]), np.array([True, False])),
        lambda lib, x: _mt(lib, np.array([[1.5e5, 2.0]]), np.array([[True, True]])),
    ]
    e, t = _mt(ember), _mt(torch)
    for i, f in enumerate(cases):
        assert repr(f(ember, e)) == repr(f(torch, t)), i
    assert (type(e).__name__, repr(e.shape), repr(e.dtype), e.dim(), e.requires_grad, repr(e.layout), e.is_sparse) == \
        (type(t).__name__, repr(t.shape), repr(t.dtype), t.dim(), t.requires_grad, repr(t.layout), t.is_sparse)
    assert ember.masked.is_masked_tensor(e) and not ember.masked.is_masked_tensor(ember.ones(1))
    assert_close(e.get_data(), t.get_data())
    assert_close(e.get_mask(), t.get_mask())
    assert_close(e.to_tensor(0), t.to_tensor(0))
    assert type(e.get_data()) is ember.Tensor and type(e.to_tensor(-1.0)) is ember.Tensor
    assert str(e) == str(t)


def test_masked_tensor_errors_and_warnings() -> None:
    cases = [
        lambda lib, x: x + _mt(lib, mask=~(MASK[:2] | np.eye(2, 3, dtype=bool))),
        lambda lib, x: lib.masked.masked_tensor(lib.ones(2, 3), lib.tensor(MASK[0])),
        lambda lib, x: lib.masked.masked_tensor(lib.ones(2, 3), lib.ones(2, 3)),
        lambda lib, x: lib.masked.masked_tensor([1.0], lib.tensor([True])),
        lambda lib, x: lib.masked.masked_tensor(lib.ones(2, dtype=lib.uint8), lib.tensor([True, False])),
        lambda lib, x: x.norm(), lambda lib, x: 1 - x,
    ]
    e, t = _mt(ember), _mt(torch)
    for i, f in enumerate(cases):
        with pytest.raises(Exception) as te:
            f(torch, t)
        with pytest.raises(Exception) as ee:
            f(ember, e)
        assert type(ee.value) is type(te.value) and str(ee.value) == str(te.value), (i, ee.value, te.value)
    for f in (lambda lib, x: x.T, lambda lib, x: x.logsumexp(1), lambda lib, x: x.log_softmax(1)):
        got = {}
        for lib, x in ((ember, e), (torch, t)):
            with warnings.catch_warnings(record=True) as w, pytest.raises(TypeError) as err:
                warnings.simplefilter("always")
                f(lib, x)
            got[lib] = (str(err.value).split("\n")[0], [str(m.message).split("\n")[0] for m in w])
        assert got[ember] == got[torch]
    for lib in (ember, torch):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            _mt(lib)
            lib.masked.masked_tensor(lib.ones(2, requires_grad=True), lib.tensor([True, False]))
        got[lib] = [(m.category, str(m.message)) for m in w]
    assert got[ember] == got[torch] and len(got[ember]) == 3


def test_masked_tensor_autograd() -> None:
    fns = [lambda x: x.sum(), lambda x: (x * x).sum(), lambda x: x.amax(1).sum(), lambda x: x.mean(),
           lambda x: (x.softmax(1) * x).sum(0).sum(), lambda x: x.exp().var(1).sum()]
    for f in fns:
        grads = {}
        for lib in (ember, torch):
            x = _mt(lib, requires_grad=True)
            y = f(x)
            y.backward()
            grads[lib] = (repr(y), repr(x.grad), x.is_leaf)
        assert grads[ember] == grads[torch]
    got = {}
    for lib in (ember, torch):
        d = lib.tensor(DATA[:2], requires_grad=True)
        z = lib.masked.as_masked_tensor(d, lib.tensor(MASK[:2]))
        (z * 2).sum().backward()
        got[lib] = (z.requires_grad, z.is_leaf, d.grad)
    assert got[ember][:2] == got[torch][:2]
    # torch hands ``d`` a MaskedTensor gradient (fully specified data); ember's engine keeps a plain tensor
    assert_close(got[ember][2], got[torch][2].get_data())
    x = _mt(ember, requires_grad=True)
    assert x.get_data().requires_grad and x.get_data().grad_fn is not None
    d = ember.tensor(DATA[:2] + 0.5, requires_grad=True)
    m = ember.tensor(MASK[:2] | np.eye(2, 3, dtype=bool))
    assert ember.autograd.gradcheck(lambda d: ember.masked.as_masked_tensor(d, m).softmax(1).to_tensor(0.0), (d,))
