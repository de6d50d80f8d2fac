"""linear_cross_entropy / LinearCrossEntropyLoss / LinearCrossEntropyOptions against torch 2.13: values and
gradients of both paths (reference and chunked), the fallbacks' warnings, errors, options resolution, the
chunked op's backward contract (consumed gradients, retain_graph), module repr/init, gradcheck."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
import pytest

import ember
from oracle import assert_close, assert_same_error, to_ember

torch = pytest.importorskip("torch")
if not hasattr(torch.nn.functional, "linear_cross_entropy"):
    pytest.skip("torch without linear_cross_entropy", allow_module_level=True)

N, FEAT, C = 7, 4, 6
RNG = np.random.default_rng(0)
X, W, B, CW = (RNG.standard_normal((N, FEAT)), RNG.standard_normal((C, FEAT)), RNG.standard_normal(C),
               RNG.random(C) + 0.1)
T = RNG.integers(0, C, N)
T[2] = -100
COT = np.linspace(-1.0, 2.0, N)


def _lce(lib: Any, x: np.ndarray, w: np.ndarray, t: np.ndarray, dt: str = "float64", bias: np.ndarray | None = None,
         cw: np.ndarray | None = None, cot: np.ndarray | None = None, options: dict | None = None,
         **kw: Any) -> tuple[list, str]:
    """Loss, the grads of input/linear weight/bias for a random cotangent, and the grad_fn name, under ``lib``."""
    d = getattr(lib, dt)
    xs = lib.tensor(x, dtype=d, requires_grad=True)
    ws = lib.tensor(w, dtype=d, requires_grad=True)
    bs = lib.tensor(bias, dtype=d, requires_grad=True) if bias is not None else None
    tt = lib.tensor(t) if t.dtype.kind in "iu" else lib.tensor(t, dtype=d)
    opts = lib.nn.LinearCrossEntropyOptions(**options) if options is not None else None
    loss = lib.nn.functional.linear_cross_entropy(
        xs, ws, tt, linear_bias=bs, weight=lib.tensor(cw, dtype=d) if cw is not None else None, options=opts, **kw)
    g = cot if loss.dim() else np.array(1.3)
    loss.backward(lib.tensor(g.reshape(loss.shape), dtype=d))
    return [loss, xs.grad, ws.grad] + ([bs.grad] if bs is not None else []), type(loss.grad_fn).__name__


def _compare(dt: str = "float64", rtol: float | None = None, atol: float | None = None, **kw: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_out, t_name = _lce(torch, dt=dt, **kw)
        e_out, e_name = _lce(ember, dt=dt, **kw)
    assert e_name == t_name
    for e, t in zip(e_out, t_out, strict=True):
        assert_close(e, t, rtol, atol)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", [None, {}, {"batch_chunk_size": 1}, {"batch_chunk_size": 3},
                                     {"chunking_method": "aspect_ratio", "allow_retain_graph": True}])
def test_values_and_grads(reduction: str, options: dict | None) -> None:
    for bias, cw, ii in [(B, None, None), (None, CW, None), (B, CW, 3)]:
        t = np.where(T == -100, -100 if ii is None else ii, T)
        _compare(x=X, w=W, t=t, bias=bias, cw=cw, cot=COT, options=options, reduction=reduction, ignore_index=ii)


@pytest.mark.parametrize("dt", ["float32", "bfloat16", "float16"])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_chunked_low_precision(dt: str, reduction: str) -> None:
    tol = {"float32": (1e-5, 1e-5), "bfloat16": (2e-2, 2e-2), "float16": (2e-3, 2e-3)}[dt]
    _compare(dt, *tol, x=X, w=W, t=T, bias=B, cw=CW, cot=COT, options={"batch_chunk_size": 2}, reduction=reduction)


@pytest.mark.parametrize("options", [None, {}])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_unbatched(options: dict | None, reduction: str) -> None:
    _compare(x=X[0], w=W, t=np.array(T[0]), bias=B, cw=CW, cot=np.array(0.7), options=options, reduction=reduction)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_probability_targets_and_label_smoothing(reduction: str) -> None:
    p = RNG.random((N, C))
    p /= p.sum(1, keepdims=True)
    _compare(x=X, w=W, t=p, bias=B, cw=CW, cot=COT, reduction=reduction, label_smoothing=0.2)
    _compare(x=X[0], w=W, t=p[0], cot=np.array(0.5), reduction=reduction)
    _compare(x=X, w=W, t=T, bias=B, cw=CW, cot=COT, reduction=reduction, label_smoothing=0.3)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_k_dimensional(reduction: str) -> None:
    w3 = RNG.standard_normal((C, 2, 3, FEAT))
    b3 = RNG.standard_normal((C, 2, 3))
    t3 = RNG.integers(0, C, (N, 2, 3))
    cot = RNG.standard_normal((N, 2, 3))
    _compare(x=X, w=w3, t=t3, bias=b3, cw=CW, cot=cot, reduction=reduction)
    p3 = RNG.random((N, C, 2, 3))
    _compare(x=X, w=w3, t=p3, bias=b3, cot=cot, reduction=reduction, label_smoothing=0.1)


def _warnings_of(fn: Any) -> list[tuple[type, str]]:
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        fn()
    return [(r.category, str(r.message)) for r in rec]


@pytest.mark.parametrize("case", ["kdim_bias", "label_smoothing", "probabilities", "int32_target"])
def test_fallback_warning(case: str) -> None:
    """Unsupported configurations of the chunked path fall back to the reference with torch's warning."""
    w3, b3, t3 = RNG.standard_normal((C, 3, FEAT)), RNG.standard_normal((C, 3)), RNG.integers(0, C, (N, 3))
    args = {
        "kdim_bias": ((X, w3, t3), {"linear_bias": b3}),
        "label_smoothing": ((X, W, T), {"label_smoothing": 0.1}),
        "probabilities": ((X, W, RNG.random((N, C))), {}),
        "int32_target": ((X, W, np.abs(T).astype(np.int32) % C), {}),
    }[case]

    def call(lib: Any) -> Any:
        x, w, t = (lib.tensor(a) for a in args[0])
        kw = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in args[1].items()}
        return lambda: lib.nn.functional.linear_cross_entropy(x, w, t, options=lib.nn.LinearCrossEntropyOptions(),
                                                              **kw)

    if case == "int32_target":   # the reference path then rejects the target
        tw = _warnings_of(lambda: assert_same_error(call(ember), call(torch)))
        assert len(tw) == 2 and tw[0] == tw[1]   # ember's then torch's
    else:
        tw, ew = _warnings_of(call(torch)), _warnings_of(call(ember))
        assert len(tw) == 1 and ew == tw
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert_close(call(ember)(), call(torch)())


def test_chunked_equals_reference() -> None:
    x = ember.tensor(X, requires_grad=True)
    w = ember.tensor(W, requires_grad=True)
    t = ember.tensor(T)
    for reduction in ["mean", "sum", "none"]:
        grads = []
        for options in [None, ember.nn.LinearCrossEntropyOptions(batch_chunk_size=2)]:
            loss = ember.nn.functional.linear_cross_entropy(x, w, t, reduction=reduction, options=options)
            grads.append((loss.detach(), *ember.autograd.grad(loss.sum(), (x, w))))
        for a, b in zip(*grads, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)


ERROR_CASES = {
    "3d_input": lambda L: ((L.zeros(1, N, FEAT), L.zeros(C, FEAT), L.zeros(N, dtype=L.int64)), {}),
    "0d_input": lambda L: ((L.zeros(()), L.zeros(C, FEAT), L.zeros(N, dtype=L.int64)), {}),
    "1d_weight": lambda L: ((L.zeros(N, FEAT), L.zeros(FEAT), L.zeros(N, dtype=L.int64)), {}),
    "in_features": lambda L: ((L.zeros(N, FEAT), L.zeros(C, 3), L.zeros(N, dtype=L.int64)), {}),
    "bias_shape": lambda L: ((L.zeros(N, FEAT), L.zeros(C, FEAT), L.zeros(N, dtype=L.int64)),
                             {"linear_bias": L.zeros(C + 1)}),
    "kdim_unbatched": lambda L: ((L.zeros(FEAT), L.zeros(C, 2, FEAT), L.zeros(2, dtype=L.int64)), {}),
    "prob_ignore": lambda L: ((L.zeros(N, FEAT), L.zeros(C, FEAT), L.zeros(N, C)), {"ignore_index": 1}),
    "reduction": lambda L: ((L.zeros(N, FEAT), L.zeros(C, FEAT), L.zeros(N, dtype=L.int64)), {"reduction": "avg"}),
    "dtype": lambda L: ((L.zeros(N, FEAT), L.zeros(C, FEAT, dtype=L.float64), L.zeros(N, dtype=L.int64)), {}),
    "target_high": lambda L: ((L.zeros(N, FEAT), L.zeros(C, FEAT), L.full((N,), C + 1, dtype=L.int64)), {}),
    "target_neg": lambda L: ((L.zeros(N, FEAT), L.zeros(C, FEAT), L.full((N,), -3, dtype=L.int64)), {}),
    "weight_index": lambda L: ((L.zeros(N, FEAT), L.zeros(C, FEAT), L.full((N,), C - 1, dtype=L.int64)),
                               {"weight": L.ones(2)}),
    "acc_dtype": lambda L: ((L.zeros(N, FEAT), L.zeros(C, FEAT), L.zeros(N, dtype=L.int64)), {}),
}


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_errors(case: str, chunked: bool) -> None:
    def call(lib: Any) -> Any:
        args, kw = ERROR_CASES[case](lib)
        opts = {"acc_dtype": lib.float16} if case == "acc_dtype" else {}
        if chunked:
            kw["options"] = lib.nn.LinearCrossEntropyOptions(**opts)
        elif case == "acc_dtype":
            kw["options"] = None
        return lambda: lib.nn.functional.linear_cross_entropy(*args, **kw)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if case == "acc_dtype" and not chunked:
            call(ember)()   # no options: valid
            return
        assert_same_error(call(ember), call(torch))


def test_options_validation_and_repr() -> None:
    O_e, O_t = ember.nn.LinearCrossEntropyOptions, torch.nn.LinearCrossEntropyOptions
    assert repr(O_e()) == repr(O_t())
    assert repr(O_e(True, 3, None, "balanced", ember.bfloat16)) == repr(O_t(True, 3, None, "balanced", torch.bfloat16))
    for kw in [{"acc_policy": "fast"}, {"chunking_method": "foo"}, {"chunking_method": "aspect_ratio:0"},
               {"chunking_method": "aspect_ratio:x"}, {"batch_chunk_size": 0}, {"batch_chunk_size": 2.0},
               {"acc_dtype": "int32"}]:
        e_kw = {k: ember.int32 if v == "int32" else v for k, v in kw.items()}
        t_kw = {k: torch.int32 if v == "int32" else v for k, v in kw.items()}
        assert_same_error(lambda e_kw=e_kw: O_e(**e_kw), lambda t_kw=t_kw: O_t(**t_kw))
    with pytest.raises(dataclasses.FrozenInstanceError):
        O_e().batch_chunk_size = 3
    assert ember.nn.modules.LinearCrossEntropyOptions is O_e
    assert "LinearCrossEntropyOptions" not in ember.nn.functional.__all__


@pytest.mark.parametrize("kw", [{}, {"batch_chunk_size": 5}, {"batch_chunk_size": 500}, {"chunking_method": None},
                                {"chunking_method": "aspect_ratio:4", "acc_policy": "accurate"},
                                {"acc_dtype": "float32"}, {"batch_chunk_size": 4, "chunking_method": "aspect_ratio"},
                                {"batch_chunk_size": 3, "chunking_method": "aspect_ratio"}])
@pytest.mark.parametrize("dt", ["float32", "bfloat16", "float16", "float64"])
@pytest.mark.parametrize("shape", [(100, 8, 50), (6, 4, 5), (1, 16, 3)])
def test_options_adjust(kw: dict, dt: str, shape: tuple) -> None:
    """The chunk size / policy / acc_dtype resolution, or its error, as torch's ``_adjust``."""
    def call(lib: Any) -> Any:
        k = {a: getattr(lib, v) if a == "acc_dtype" else v for a, v in kw.items()}
        n, f, c = shape
        return lambda: lib.nn.LinearCrossEntropyOptions(**k)._adjust(
            num_batches=n, in_features=f, num_classes=c, dtype=getattr(lib, dt), device=lib.device("cpu"))

    try:
        t = call(torch)()
    except ValueError:
        assert_same_error(call(ember), call(torch))
        return
    assert repr(call(ember)()) == repr(t)


def test_chunked_second_backward() -> None:
    """'mean'/'sum' consume the precomputed gradients (torch's error on a second backward, even with
    retain_graph) unless allow_retain_graph; 'none' recomputes, so retain_graph works and freeing applies."""
    def setup(lib: Any, reduction: str = "mean", **kw: Any) -> tuple:
        x = lib.tensor(X, requires_grad=True)
        w = lib.tensor(W, requires_grad=True)
        opts = lib.nn.LinearCrossEntropyOptions(**kw)
        return x, lib.nn.functional.linear_cross_entropy(x, w, lib.tensor(T), reduction=reduction, options=opts)

    def twice(lib: Any, retain: bool, reduction: str = "mean", **kw: Any) -> Any:
        x, loss = setup(lib, reduction, **kw)
        loss.sum().backward(retain_graph=retain)
        return lambda: loss.sum().backward()

    for retain in (False, True):
        assert_same_error(twice(ember, retain), twice(torch, retain))
    assert_same_error(twice(ember, False, "none"), twice(torch, False, "none"))
    grads = []
    for lib in (ember, torch):
        twice(lib, True, "none")()
        x, loss = setup(lib, allow_retain_graph=True)
        loss.backward()
        loss.backward()
        grads.append(x.grad)
    assert_close(*grads)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_chunked_create_graph(reduction: str) -> None:
    """Higher-order AD is unsupported: with create_graph the gradients come back as constants, as torch."""
    out = {}
    for lib in (ember, torch):
        x = lib.tensor(X, requires_grad=True)
        w = lib.tensor(W, requires_grad=True)
        loss = lib.nn.functional.linear_cross_entropy(x, w, lib.tensor(T), reduction=reduction,
                                                      options=lib.nn.LinearCrossEntropyOptions())
        (g,) = lib.autograd.grad(loss.sum(), x, create_graph=True)
        out[lib] = g
        assert not g.requires_grad
    assert_close(out[ember], out[torch])


def test_graph_shape_and_no_grad() -> None:
    """grad_fn names and edges (input, linear_weight, target, bias, weight when given) as torch's custom op."""
    for options in [None, {}]:
        for bias, cw in [(None, None), (B, None), (None, CW), (B, CW)]:
            res = {}
            for lib in (ember, torch):
                x = lib.tensor(X, requires_grad=True)
                w = lib.tensor(W)
                b = lib.tensor(bias, requires_grad=True) if bias is not None else None
                c = lib.tensor(cw) if cw is not None else None
                o = lib.nn.LinearCrossEntropyOptions(**options) if options is not None else None
                loss = lib.nn.functional.linear_cross_entropy(x, w, lib.tensor(T), linear_bias=b, weight=c, options=o)
                res[lib] = [type(loss.grad_fn).__name__,
                            [type(n).__name__ if n is not None else None for n, _ in loss.grad_fn.next_functions]]
                with lib.no_grad():
                    assert lib.nn.functional.linear_cross_entropy(x, w, lib.tensor(T), options=o).grad_fn is None
            assert res[ember] == res[torch]


def test_nan_cases() -> None:
    """An empty batch or all targets ignored: 'mean' is nan on both paths, as torch."""
    for t in [np.full(N, -100), np.zeros(0, np.int64)]:
        x = X[: len(t)]
        for options in [None, {}]:
            for lib in (ember, torch):
                loss = lib.nn.functional.linear_cross_entropy(
                    lib.tensor(x), lib.tensor(W), lib.tensor(t),
                    options=lib.nn.LinearCrossEntropyOptions(**options) if options is not None else None)
                assert np.isnan(loss.item())


def test_gradcheck() -> None:
    x = ember.tensor(X[:4], requires_grad=True)
    w = ember.tensor(W, requires_grad=True)
    b = ember.tensor(B, requires_grad=True)
    t = ember.tensor(T[:4])
    p = ember.tensor(RNG.random((4, C)))
    F = ember.nn.functional

    def ref(x: Any, w: Any, b: Any) -> Any:
        return F.linear_cross_entropy(x, w, t, linear_bias=b, reduction="none", label_smoothing=0.1)

    assert ember.autograd.gradcheck(ref, (x, w, b))
    assert ember.autograd.gradgradcheck(ref, (x, w, b))
    assert ember.autograd.gradcheck(lambda x, w: F.linear_cross_entropy(x, w, p), (x, w))
    opts = ember.nn.LinearCrossEntropyOptions(batch_chunk_size=3, allow_retain_graph=True)
    for reduction in ["sum", "none"]:
        assert ember.autograd.gradcheck(
            lambda x, w, b, r=reduction: F.linear_cross_entropy(x, w, t, linear_bias=b, reduction=r, options=opts),
            (x, w, b))


# ---- the module ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{}, {"out_features": (2, 3), "bias": True, "reduction": "sum", "ignore_index": 1},
                                {"bias": True, "label_smoothing": 0.1, "options": {"batch_chunk_size": 2}},
                                {"bias": True, "options": {"allow_retain_graph": True}, "reduction": "none"}])
def test_module(kw: dict) -> None:
    mods = {}
    for lib in (ember, torch):
        k = dict(kw)
        if "options" in k:
            k["options"] = lib.nn.LinearCrossEntropyOptions(**k["options"])
        lib.manual_seed(0)
        mods[lib] = lib.nn.LinearCrossEntropyLoss(FEAT, C, weight=lib.tensor(CW, dtype=lib.float32), **k)
    em, tm = mods[ember], mods[torch]
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    for key, v in tm.state_dict().items():
        assert_close(em.state_dict()[key], v, rtol=0, atol=0)
    of = kw.get("out_features", ())
    t = RNG.integers(0, C, (N, *of))
    x = RNG.standard_normal((N, FEAT)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lt, le = tm(torch.tensor(x, requires_grad=True), torch.tensor(t)), em(ember.tensor(x), ember.tensor(t))
    cot = RNG.standard_normal(tuple(lt.shape)).astype(np.float32)
    lt.backward(torch.tensor(cot))
    le.backward(to_ember(torch.tensor(cot)))
    assert_close(le, lt)
    for (name, pe), (_, pt) in zip(em.named_parameters(), tm.named_parameters(), strict=True):
        assert_close(pe.grad, pt.grad, rtol=1e-5, atol=1e-5), name


def test_module_errors() -> None:
    for args, kw in [((FEAT, C), {"weight": "w3"}), ((FEAT, C), {"label_smoothing": 1.5}),
                     ((FEAT, C), {"label_smoothing": -0.1})]:
        def make(lib: Any, args: tuple = args, kw: dict = kw) -> Any:
            k = {a: lib.ones(3) if v == "w3" else v for a, v in kw.items()}
            return lambda: lib.nn.LinearCrossEntropyLoss(*args, **k)

        assert_same_error(make(ember), make(torch))
