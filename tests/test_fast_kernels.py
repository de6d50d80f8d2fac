"""The float32 fast paths written for speed (gelu's one-sweep kernel, ...) against torch and against float64
references: values, gradients, special values and arrays spanning several cache blocks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from oracle import assert_close, torch

RNG = np.random.default_rng(7)
SPECIAL = [0.0, -0.0, math.inf, -math.inf, math.nan, 1e30, -1e30, 1e-30, -1e-30, 40.0, -40.0, 14.0, -14.0]


def _gelu_reference(x: np.ndarray, approximate: str) -> tuple[np.ndarray, np.ndarray]:
    """gelu and its slope in float64 (scipy-free: math.erfc per element)."""
    x = x.astype(np.float64)
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        t = np.tanh(k * (x + 0.044715 * x**3))
        return 0.5 * x * (1 + t), 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
    cdf = 0.5 * np.array([math.erfc(-v / math.sqrt(2)) for v in x])
    return x * cdf, cdf + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float32_kernel_against_torch_and_float64(approximate: str) -> None:
    """Several blocks of float32 input (odd size: a short last block), special values included: values and
    gradients as torch's (NaN where torch has NaN), and no further from the float64 values than torch is
    (give or take an ulp)."""
    x = np.concatenate([RNG.standard_normal(150_001) * 3, np.linspace(-15, 15, 3001), SPECIAL]).astype(np.float32)
    e = ember.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    ye = ember.nn.functional.gelu(e, approximate=approximate)
    yt = torch.nn.functional.gelu(t, approximate=approximate)
    g = RNG.standard_normal(x.size).astype(np.float32)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    assert ye.grad_fn.name() == "GeluBackward0"
    assert_close(ye, yt)
    assert_close(e.grad, t.grad)
    with np.errstate(all="ignore"):
        ref, slope = _gelu_reference(x, approximate)
    fin = np.isfinite(ref) & np.isfinite(slope)
    for got, want, torch_got in ((ye.detach().numpy(), ref, yt.detach().numpy()),
                                 (e.grad.numpy() / g, slope, t.grad.numpy() / g)):
        ok = fin & np.isfinite(torch_got)          # (torch's tanh slope is NaN at ±1e30: x³ overflows)
        bound = np.abs(torch_got[ok] - want[ok]).max() + np.spacing(np.abs(want[ok]).astype(np.float32))
        assert np.all(np.abs(got[ok] - want[ok]) <= bound)
    small = fin & (np.abs(x) < 5)       # there within a few float32 ulp of the exact gelu
    ulp = np.spacing(np.abs(ref[small]).astype(np.float32))
    assert np.all(np.abs(ye.detach().numpy()[small] - ref[small]) <= 40 * ulp)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float32_non_contiguous_and_zero_dim(approximate: str) -> None:
    a = RNG.standard_normal((40, 30)).astype(np.float32)
    e, t = ember.tensor(a).t(), torch.tensor(a).t()
    assert_close(ember.nn.functional.gelu(e, approximate=approximate),
                 torch.nn.functional.gelu(t, approximate=approximate))
    for v in (0.0, -2.5, 3.0):
        assert_close(ember.nn.functional.gelu(ember.tensor(v), approximate=approximate),
                     torch.nn.functional.gelu(torch.tensor(v), approximate=approximate))
    empty = ember.zeros(0, 3, requires_grad=True)
    out = ember.nn.functional.gelu(empty, approximate=approximate)
    out.sum().backward()
    assert out.shape == (0, 3) and empty.grad.shape == (0, 3)


def test_gelu_positive_infinity_by_layout() -> None:
    """gelu(+inf): NaN where torch's CPU kernel hands the tensor to oneDNN (erf form, contiguous, more than one
    element, float32, or bfloat16/float16 where the CPU has oneDNN's support for them), +inf elsewhere (strided
    views, one element, float64, tanh form, oneDNN switched off)."""
    a = np.full((4, 6), math.inf, np.float32)
    views = [lambda L, t: t, lambda L, t: t.t(), lambda L, t: t[::2], lambda L, t: t[:, :5],
             lambda L, t: t[:1, :1], lambda L, t: t[0, 0], lambda L, t: t[:1, :2], lambda L, t: t.to(L.bfloat16),
             lambda L, t: t.to(L.bfloat16)[:, ::2], lambda L, t: t.double(), lambda L, t: t.half()]
    for view in views:
        for approximate in ("none", "tanh"):
            assert_close(ember.nn.functional.gelu(view(ember, ember.tensor(a)), approximate=approximate),
                         torch.nn.functional.gelu(view(torch, torch.tensor(a)), approximate=approximate))
    for L in (ember, torch):   # oneDNN switched off: +inf (the flags() context: other tests may freeze the flags)
        with L.backends.mkldnn.flags(enabled=False):
            assert L.nn.functional.gelu(L.tensor(a)).isinf().all()


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float32_large_negative_no_warning(approximate: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """exp(-2u) overflows below x ≈ -9.5 in the tanh form (clamped inside the kernel): no NumPy warning leaks,
    on the calling thread or the intra-op workers (whose NumPy error state is their own); values and
    gradients as torch's."""
    import warnings

    from ember.nn.functional import _activation
    from ember.ops import _parallel, info
    monkeypatch.setattr(_parallel, "_MIN_PART", 1)
    monkeypatch.setattr(_parallel, "_cores", lambda: 3)
    monkeypatch.setitem(info._threads, "intra", 3)
    monkeypatch.setattr(_activation, "_BLOCK", 8)
    a = np.array([-20.0, -1e30, -9.7, 3.0] * 8, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e = ember.tensor(a, requires_grad=True)
        ye = ember.nn.functional.gelu(e, approximate=approximate)
        ye.sum().backward()
    t = torch.tensor(a, requires_grad=True)
    yt = torch.nn.functional.gelu(t, approximate=approximate)
    yt.sum().backward()
    assert_close(ye, yt)
    assert_close(e.grad, t.grad)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "cross_entropy"])
def test_row_kernels_special_rows_no_warning_on_workers(fn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows holding inf/NaN (and an inf gradient) on the row path split over intra-op workers: NaN where torch
    has NaN and no NumPy warning from any thread (a worker's NumPy error state is its own)."""
    import warnings

    from ember.nn.functional import _activation
    from ember.ops import _parallel, info
    monkeypatch.setattr(_parallel, "_MIN_PART", 1)
    monkeypatch.setattr(_parallel, "_cores", lambda: 3)
    monkeypatch.setitem(info._threads, "intra", 3)
    monkeypatch.setattr(_activation, "_ROWS_MIN", 1)
    a = RNG.standard_normal((9, 5)).astype(np.float32)
    a[1, 2], a[4], a[7, 0] = np.inf, -np.inf, np.nan
    g = RNG.standard_normal(a.shape).astype(np.float32)
    g[2, 1] = np.inf
    y = np.arange(9) % 5
    res = []
    for L in (ember, torch):
        x = L.tensor(a, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            if fn == "cross_entropy":
                out = L.nn.functional.cross_entropy(x, L.tensor(y), reduction="none")
                out.backward(L.ones(9))
            else:
                out = getattr(L.nn.functional, fn)(x, -1)
                out.backward(L.tensor(g))
        res.append([out, x.grad])
    assert_close(res[0], res[1])


def test_layer_norm_blocks_offset_rows_against_float64() -> None:
    """layer_norm's blocked forward/backward (tiled weight and bias, gradients from the centred rows) on rows far
    from zero mean, over several blocks with a short last one: within torch's own float32 error of the float64
    values."""
    a = (RNG.standard_normal((1100, 130)) * 0.5 + 300).astype(np.float32)
    w, b = RNG.standard_normal(130).astype(np.float32), RNG.standard_normal(130).astype(np.float32)
    c = RNG.standard_normal(a.shape).astype(np.float32)
    grads = {}
    for name, lib, dt in (("ember", ember, np.float32), ("torch", torch, np.float32), ("ref", torch, np.float64)):
        x, wt, bt = (lib.tensor(v.astype(dt), requires_grad=True) for v in (a, w, b))
        y = lib.nn.functional.layer_norm(x, (130,), wt, bt)
        y.backward(lib.tensor(c.astype(dt)))
        grads[name] = [np.asarray(v.detach().numpy(), np.float64) for v in (y, x.grad, wt.grad, bt.grad)]
    for got, tor, ref in zip(grads["ember"], grads["torch"], grads["ref"], strict=True):
        assert np.abs(got - ref).max() <= 2 * np.abs(tor - ref).max() + 1e-6


@pytest.mark.parametrize(("shape", "ksize", "kw"), [
    ((3, 16, 30, 40), (3, 3), dict(padding=1)),                  # 'same': g on the input's grid is a view
    ((3, 16, 30, 40), (3, 3), dict(padding=(2, 0))),             # other padding: g placed on the grid
    ((3, 16, 30, 40), (3, 3), dict(padding=2, dilation=2)),
    ((2, 6, 50), (5,), dict(padding=2)),
    ((2, 4, 9, 10, 11), (3, 3, 3), dict(padding=(1, 0, 2))),
])
@pytest.mark.parametrize("bias", [True, False])
def test_depthwise_conv_blocks_against_torch(shape: tuple, ksize: tuple, kw: dict, bias: bool) -> None:
    """Stride-1 depthwise convolutions (several cache blocks of image rows, a short last one): outputs and
    input, weight and bias gradients as torch's; the weight gradient alone too (input without grad)."""
    c = shape[1]
    x = RNG.standard_normal(shape).astype(np.float32)
    w = RNG.standard_normal((c, 1, *ksize)).astype(np.float32)
    b = RNG.standard_normal(c).astype(np.float32) if bias else None
    g = RNG.standard_normal((1,)).astype(np.float32)
    conv = f"conv{len(ksize)}d"
    for x_grad in (True, False):
        res = []
        for lib in (ember, torch):
            xt = lib.tensor(x, requires_grad=x_grad)
            wt = lib.tensor(w, requires_grad=True)
            bt = lib.tensor(b, requires_grad=True) if bias else None
            y = getattr(lib.nn.functional, conv)(xt, wt, bt, groups=c, **kw)
            (y * y * float(g[0])).sum().backward()
            res.append([y, wt.grad, *([xt.grad] if x_grad else []), *([bt.grad] if bias else [])])
        assert_close(res[0], res[1], rtol=1e-4, atol=1e-4)


def test_split_rows_calling_thread_takes_parts_no_worker_started(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every intra-op worker busy (a loaded machine), the calling thread runs all parts itself instead of
    waiting for a worker to start; each part runs exactly once and errors in parts reach the caller."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from ember.ops import _parallel, info
    monkeypatch.setattr(_parallel, "_MIN_PART", 1)
    monkeypatch.setattr(_parallel, "_cores", lambda: 4)
    monkeypatch.setitem(info._threads, "intra", 4)
    busy = ThreadPoolExecutor(1)
    release = threading.Event()
    busy.submit(release.wait)   # the only worker is taken (for 5 s at most: a waiting caller fails, not hangs)
    timer = threading.Timer(5.0, release.set)
    timer.start()
    monkeypatch.setattr(_parallel, "_executor", lambda workers: busy)
    seen: list[tuple[int, int, str]] = []
    try:
        _parallel.split_rows(np, 8, 1, lambda a, b: seen.append((a, b, threading.current_thread().name)))
        assert sorted((a, b) for a, b, _ in seen) == [(0, 2), (2, 4), (4, 6), (6, 8)]
        assert {name for *_, name in seen} == {threading.current_thread().name}

        def fail(a: int, b: int) -> None:
            if a == 6:
                raise ValueError("part 6")

        with pytest.raises(ValueError, match="part 6"):
            _parallel.split_rows(np, 8, 1, fail)
    finally:
        timer.cancel()
        release.set()
        busy.shutdown()
