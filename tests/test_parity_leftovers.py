"""Leftover differences from torch, each compared with torch itself."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import ember


def _outcome(lib, fn):
    """(exception type name, message) or ('ok', warnings' texts)."""
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            fn(lib)
    except Exception as e:   # noqa: BLE001
        return type(e).__name__, str(e)
    return "ok", [str(m.message) for m in w]


def _same(fn):
    assert _outcome(ember, fn) == _outcome(torch, fn)


@pytest.mark.parametrize("fn", [
    lambda t: t.ones(2, 3).unflatten("a"),
    lambda t: t.ones(2, 3).unflatten(1, (1, 3), 3),
    lambda t: t.ones(2, 3).unflatten("a", (1, 2)),
    lambda t: t.ones(2, 3).split(1.5),
    lambda t: t.ones(2, 3).split(1, "a"),
    lambda t: t.ones(2, 3).split([1.5]),
    lambda t: t.ones(2, 3).split(1, 0, 0),
    lambda t: t.split(t.ones(2, 3), [1, 1], 1.5),
    lambda t: t.ones(4).split(t.tensor([2])),
    lambda t: t.ones(2, 3).unsafe_split(1.5),
    lambda t: t.ones(2, 3).diagonal("a"),
    lambda t: t.diagonal(t.ones(2, 3), 0, 0, 1.5),
    lambda t: t.ones(2, 3).index_add(0, "a"),
    lambda t: t.ones(2, 3).index_add_(0, t.tensor([0]), 1.5),
    lambda t: t.index_add(t.ones(2, 3), 0, t.tensor([0]), t.ones(1, 3), alpha="a"),
    lambda t: t.ones(2, 3).copy_(1, "a"),
    lambda t: t.ones(2, 3).copy_(),
    lambda t: t.ones(2, 3).copy_(t.ones(3), **{"async": True}),
    lambda t: t.ones(2, 3).expand(2, 3).copy_(t.ones(3)),
])
def test_method_parser_errors(fn):
    _same(fn)


@pytest.mark.parametrize("dt", ["uint16", "uint32", "uint64"])
@pytest.mark.parametrize("fn", [
    lambda t, u: t.zeros(3, dtype=u).index_add(0, t.tensor([5]), t.ones(1, dtype=u)),
    lambda t, u: t.zeros(2, 3, dtype=u).index_add(0, t.tensor([0]), t.ones(1, 3, dtype=u)),
    lambda t, u: t.zeros(2, 3, dtype=u).index_add(0, t.tensor([0]), t.ones(1, 3, dtype=u), alpha=2),
    lambda t, u: t.zeros(2, 3, dtype=u).index_add(0, t.tensor([], dtype=t.long), t.ones(0, 3, dtype=u)),
    lambda t, u: t.zeros(3, dtype=u).scatter_reduce(0, t.tensor([5]), t.ones(1, dtype=u), "sum"),
    lambda t, u: t.zeros(3, dtype=u).scatter_reduce(0, t.tensor([0]), t.ones(1, dtype=u), "amax"),
    lambda t, u: t.zeros(3, dtype=u).scatter_reduce(0, t.tensor([0]), t.ones(1, dtype=u), "prod", include_self=False),
    lambda t, u: t.zeros(3, dtype=u).scatter_reduce(0, t.tensor([], dtype=t.long), t.ones(0, dtype=u), "mean"),
    lambda t, u: t.zeros(3, dtype=u).scatter(0, t.tensor([5]), 1),
    lambda t, u: t.zeros(3, dtype=u).index_reduce(0, t.tensor([0]), t.ones(1, dtype=u), "amax"),
    lambda t, u: t.zeros(2, 3, dtype=u).index_reduce(0, t.tensor([0]), t.ones(1, 3, dtype=u), "prod"),
    lambda t, u: t.zeros(2, 3, dtype=u).index_reduce(0, t.tensor([0]), t.ones(1, 3, dtype=u), "mean"),
    lambda t, u: t.zeros(3, dtype=u).index_select(0, t.tensor([], dtype=t.long)),
])
def test_unsigned_kernels(fn, dt):
    _same(lambda t: str(fn(t, getattr(t, dt))))


@pytest.mark.parametrize("fn", [
    lambda t: t.addmm(t.ones(2, 2), t.ones(2, 2), t.ones(2, 2), t.float32),
    lambda t: t.addmm(t.ones(2, 2), t.ones(2, 2), t.ones(2, 3), t.bfloat16, out=t.ones(2, 2)),
    lambda t: t.mm(t.ones(2, 2), t.ones(2, 2), out_dtype=t.float16),
    lambda t: t.bmm(t.ones(1, 2, 2), t.ones(1, 2, 2), t.float32),
    lambda t: t.baddbmm(t.ones(1, 2, 2), t.ones(1, 2, 2), t.ones(1, 2, 2), t.float32, beta=2),
])
def test_product_out_dtype_overloads(fn):
    (kind, e), (tkind, t) = _outcome(ember, fn), _outcome(torch, fn)
    assert kind == tkind == "NotImplementedError" and t.startswith(e) and "backend" in e


def test_quantized_creation_deprecation_warned_once():
    """torch warns once per process at the first quantized tensor: compared in a fresh process."""
    code = (
        "import warnings, torch, ember\n"
        "def first(t):\n"
        "    with warnings.catch_warnings(record=True) as w:\n"
        "        warnings.simplefilter('always')\n"
        "        t.quantize_per_tensor(t.ones(2), 0.1, 0, t.quint8)\n"
        "        t.quantize_per_channel(t.ones(2, 2), t.tensor([0.1, 0.1]), t.tensor([0, 0]), 0, t.qint8)\n"
        "    return [(m.category, str(m.message), m.lineno) for m in w]\n"
        "print(first(ember) == first(torch) != [])\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (ember.__path__[0].rsplit(os.sep, 1)[0],
                                                                    os.environ.get("PYTHONPATH")) if p)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "True"


@pytest.mark.parametrize("fn", [
    lambda t: t.linalg.vector_norm(t.ones(2, 2).to_sparse()),
    lambda t: t.linalg.norm(t.ones(2, 2).to_sparse()),
    lambda t: t.linalg.matrix_norm(t.ones(2, 2).to_sparse(), ord=1),
    lambda t: t.ones(2, 2).to_sparse_csr().norm(),
    lambda t: t.norm(t.ones(2, 2).to_sparse_csc(), p=1),
])
def test_sparse_norm_operator_names(fn):
    (kind, e), (tkind, t) = _outcome(ember, fn), _outcome(torch, fn)
    assert kind == tkind == "NotImplementedError" and t.startswith(e) and "backend" in e


def _storages(t):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s, d = t.Storage(), t.DoubleStorage([1, 2])
    return (type(s).__name__, s.dtype == t.float32, s.size(), isinstance(s, t.FloatStorage),
            isinstance(s, t.DoubleStorage), type(d).__name__, d.tolist(), isinstance(d, t.DoubleStorage),
            isinstance(d, t.cuda.DoubleStorage), t.Storage is t.FloatStorage,
            issubclass(t.FloatStorage, t.TypedStorage))


def test_legacy_storage_classes_make_typed_storages():
    assert _storages(ember) == _storages(torch)


@pytest.mark.parametrize("big", [-(2**63 + 1), 2**63, 2**64])
@pytest.mark.parametrize("fn", [
    lambda t, v: t.ones(2).fill_(v),
    lambda t, v: t.full((2,), v, dtype=t.bool),
    lambda t, v: t.full((1,), v),
    lambda t, v: t.add(t.ones(1, dtype=t.uint32), 1, alpha=v),
    lambda t, v: t.result_type(t.ones(1), v),
    lambda t, v: t.ones(1, dtype=t.bool) ** v,
    lambda t, v: t.clamp_min(t.ones(1, dtype=t.uint32), v),
])
def test_python_ints_beyond_a_scalar(fn, big):
    _same(lambda t: str(fn(t, big)))


def _chain(fn):
    """The names along a graph's first inputs (a branch's at the first fork)."""
    names = []
    while fn is not None:
        names.append(type(fn).__name__)
        fn = next((n for n, _ in fn.next_functions if n is not None), None)
    return names


@pytest.mark.parametrize("name, kw", [("exponential", {"sym": False, "center": 1.0}), ("gaussian", {"std": 0.7}),
                                      ("bartlett", {}), ("cosine", {}), ("hann", {"sym": False}),
                                      ("kaiser", {"beta": 3.0}), ("general_cosine", {"a": [0.5, 0.3, 0.2]})])
@pytest.mark.parametrize("M", [5, 1])
def test_signal_windows_with_grad(name, kw, M):
    got = []
    for t in (torch, ember):
        w = getattr(t.signal.windows, name)(M, requires_grad=True, dtype=t.float64, **kw)
        w.sum().backward()
        got.append((w.is_leaf, w.requires_grad, _chain(w.grad_fn), w.detach().numpy()))
    (tl, tr, tc, tv), (el, er, ec, ev) = got
    assert (el, er, ec) == (tl, tr, tc)
    np.testing.assert_allclose(ev, tv, rtol=1e-13, atol=1e-15)


def test_exponential_window_tensor_centre():
    w = [t.signal.windows.exponential(4, center=t.tensor(1.5), sym=False).numpy() for t in (torch, ember)]
    np.testing.assert_allclose(w[1], w[0], rtol=1e-6)


@pytest.mark.parametrize("fn", [
    lambda t: t.FloatStorage(1, 2),
    lambda t: t.DoubleStorage(1.5),
    lambda t: t.FloatStorage(2, device="cpu"),
    lambda t: t.FloatStorage(t.ones(2)),
    lambda t: t.FloatStorage("ab"),
    lambda t: t.FloatStorage(foo=1),
    lambda t: t.FloatStorage(wrap_storage=t.ones(2).untyped_storage()).tolist(),
])
def test_legacy_storage_arguments(fn):
    def quiet(t):   # (each library warns once per process about typed storages: not compared here)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(t)
    _same(quiet)
