"""The convolutions' fast paths against torch, with the elementwise passes split over several threads and
on one: the direct depthwise formulation (forward, input and weight gradients), im2col / col2im by kernel
offset (the input gradient's last dim correlated or not), both column layouts, the padded copies, transposed
convolutions and unfold/fold. Values and all gradients in float32 and float64 over stride/padding/dilation/
groups and odd sizes, 1d/2d/3d; gradcheck in float64; results that do not depend on the thread count; a
forked child that still computes convolutions."""

from __future__ import annotations

import os
import signal
import time
import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.autograd import gradcheck, gradgradcheck
from ember.nn.functional import _conv
from ember.ops import _parallel, info
from oracle import assert_close, torch

TF = torch.nn.functional
RNG = np.random.default_rng(7)


@pytest.fixture(params=[1, 3], ids=["1thread", "3threads"])
def threads(request, monkeypatch):
    """Split every pass, however small, into ``n`` parts (3: parts of unequal sizes)."""
    monkeypatch.setattr(_parallel, "_MIN_PART", 1)
    monkeypatch.setattr(_parallel, "_cores", lambda: 3)
    monkeypatch.setitem(info._threads, "intra", request.param)
    return request.param


@pytest.fixture(params=[True, False], ids=["sample-major", "channel-major"])
def layout(request, monkeypatch):
    """Lay every convolution's columns sample by sample or channel-major (each shape otherwise picks one)."""
    monkeypatch.setattr(_conv, "_sample_major", lambda *args: request.param)
    return request.param


CASES = [
    # (function, input shape, weight shape, kwargs); depthwise: weight (C, 1, *K) with groups=C, stride 1
    ("conv1d", (2, 5, 13), (5, 1, 3), dict(padding=1, groups=5)),
    ("conv1d", (3, 4, 9), (4, 1, 4), dict(padding="same", dilation=2, groups=4)),
    ("conv2d", (3, 5, 9, 7), (5, 1, 3, 3), dict(padding=1, groups=5)),
    ("conv2d", (2, 3, 6, 11), (3, 1, 2, 5), dict(padding=(0, 3), dilation=(2, 1), groups=3)),
    ("conv2d", (1, 7, 5, 5), (7, 1, 3, 3), dict(groups=7)),
    ("conv3d", (2, 3, 5, 4, 6), (3, 1, 3, 3, 2), dict(padding=(1, 2, 0), groups=3)),
    ("conv2d", (2, 3, 4, 5), (3, 1, 1, 1), dict(padding=(0, 1), groups=3)),   # 1x1: one tap
    # im2col / col2im
    ("conv1d", (3, 4, 10), (6, 2, 3), dict(stride=2, padding=2, dilation=2, groups=2)),
    ("conv2d", (3, 4, 9, 7), (6, 4, 3, 3), dict(padding=1)),
    ("conv2d", (2, 6, 8, 9), (4, 3, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)),
    ("conv2d", (3, 4, 7, 7), (8, 1, 3, 3), dict(padding=1, groups=4)),      # channel multiplier 2
    ("conv2d", (2, 4, 9, 9), (4, 1, 3, 3), dict(stride=2, padding=1, groups=4)),   # strided depthwise (phases)
    ("conv3d", (2, 3, 5, 6, 5), (4, 3, 3, 3, 3), dict(padding=1)),
    ("conv3d", (1, 4, 5, 4, 7), (2, 2, 2, 1, 3), dict(stride=(1, 2, 2), padding=(1, 0, 1), groups=2)),
    # stride 1: col2im by runs as long as the padded image's rows
    ("conv1d", (2, 3, 11), (5, 3, 4), dict(padding=3, dilation=2)),
    ("conv2d", (2, 3, 6, 7), (4, 3, 2, 3), dict(padding="same", dilation=(3, 1))),   # asymmetric pads
    ("conv2d", (1, 2, 4, 5), (3, 2, 2, 2), dict(padding=(3, 0))),   # pad past the kernel
    ("conv3d", (2, 4, 3, 5, 4), (6, 2, 2, 3, 3), dict(padding=(0, 1, 2), dilation=(2, 1, 1), groups=2)),
    ("conv_transpose2d", (2, 4, 5, 4), (4, 3, 3, 2), dict(padding=(1, 0), dilation=(1, 2))),
    ("conv_transpose3d", (1, 2, 3, 3, 4), (2, 3, 2, 2, 3), dict(padding=(0, 1, 1))),
    ("conv_transpose1d", (2, 2, 6), (2, 3, 3), dict(dilation=2, output_padding=1)),   # negative high pad
    # transposed: col2im forward, im2col backward
    ("conv_transpose1d", (2, 4, 7), (4, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose2d", (3, 4, 5, 6), (4, 2, 3, 2), dict(stride=(2, 1), padding=(1, 0), groups=2)),
    ("conv_transpose3d", (2, 3, 3, 4, 3), (3, 2, 2, 3, 2), dict(stride=2, padding=1, dilation=(1, 2, 1))),
    ("conv2d", (2, 4, 5, 3), (6, 2, 1, 1), dict(groups=2)),   # 1x1: sample-major, the input is its own columns
    ("conv1d", (2, 6, 9), (3, 6, 4), dict(padding="same")),   # input gradient: last dim correlated, pads (1, 2)
]


def _run(fname: str, xs: tuple, ws: tuple, kw: dict, dtype: str, bias: bool) -> list:
    """Forward and backward of a fixed cotangent under torch and ember; asserts they agree; returns ember's
    output and gradients as arrays."""
    x, w = RNG.standard_normal(xs).astype(dtype), RNG.standard_normal(ws).astype(dtype)
    out_c = ws[1] * kw.get("groups", 1) if "transpose" in fname else ws[0]
    b = RNG.standard_normal(out_c).astype(dtype) if bias else None
    res = {}
    for lib, fns in ((torch, TF), (ember, F)):
        X, W = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        B = None if b is None else lib.tensor(b, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = getattr(fns, fname)(X, W, B, **kw)
        cot = np.cos(np.arange(y.numel()) * 0.7).reshape(tuple(y.shape)).astype(dtype)
        y.backward(lib.tensor(cot))
        res[lib] = (y, X.grad, W.grad, None if B is None else B.grad, type(y.grad_fn).__name__)
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == "float32" else {}
    (ey, *egrads, ename), (ty, *tgrads, tname) = res[ember], res[torch]
    assert ename == tname == "ConvolutionBackward0"
    assert ey.is_contiguous()
    assert_close(ey, ty, **tol)
    for e, t in zip(egrads, tgrads, strict=True):
        assert (e is None) == (t is None)
        if t is not None:
            assert_close(e, t, **tol)
    return [a.detach().numpy() for a in (ey, *egrads) if a is not None]


@pytest.mark.parametrize("fname,xs,ws,kw", CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_torch(threads, layout, fname, xs, ws, kw, dtype):
    _run(fname, xs, ws, kw, dtype, bias=True)


@pytest.mark.parametrize("fname,xs,ws,kw", [CASES[i] for i in (0, 2, 5, 6, 8, 12, 14, 18, 22)])
def test_without_bias(threads, fname, xs, ws, kw):
    _run(fname, xs, ws, kw, "float32", bias=False)


@pytest.mark.parametrize("fname,xs,ws,kw", [CASES[i] for i in (1, 3, 5, 8, 12, 19)])
@pytest.mark.parametrize("grads", ["input", "weight"])
def test_one_gradient(threads, layout, fname, xs, ws, kw, grads):
    """Only the input's or only the weight's gradient (the depthwise weight gradient has a path of its own
    when the input needs none)."""
    _one_gradient(fname, RNG.standard_normal(xs), RNG.standard_normal(ws), kw, grads)


def _one_gradient(fname: str, x: np.ndarray, w: np.ndarray, kw: dict, grads: str) -> None:
    """``fname``'s gradient for only the input or only the weight (``grads``), ember against torch."""
    res = []
    for lib, fns in ((torch, TF), (ember, F)):
        X, W = lib.tensor(x, requires_grad=grads == "input"), lib.tensor(w, requires_grad=grads == "weight")
        y = getattr(fns, fname)(X, W, None, **kw)
        y.backward(lib.tensor(np.cos(np.arange(y.numel()) * 0.3).reshape(tuple(y.shape))))
        res.append((X.grad, W.grad))
    for e, t in zip(res[1], res[0], strict=True):
        assert (e is None) == (t is None)
        if t is not None:
            assert_close(e, t)


@pytest.mark.parametrize("fname,xs,ws,kw", [CASES[i] for i in (2, 5, 9, 12, 17, 19, 23)])
def test_same_bits_on_any_thread_count(monkeypatch, fname, xs, ws, kw):
    """Each part writes its own rows with the same arithmetic: the thread count cannot change a bit."""
    monkeypatch.setattr(_parallel, "_MIN_PART", 1)
    monkeypatch.setattr(_parallel, "_cores", lambda: 4)
    outs = []
    for n in (1, 2, 4):
        monkeypatch.setitem(info._threads, "intra", n)
        state = RNG.bit_generator.state
        outs.append(_run(fname, xs, ws, kw, "float32", bias=True))
        RNG.bit_generator.state = state
    for other in outs[1:]:
        for a, b in zip(outs[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("fn,shapes", [
    (lambda x, w, b: F.conv2d(x, w, b, padding=(1, 2), dilation=(2, 1), groups=3), ((2, 3, 5, 4), (3, 1, 3, 2),
                                                                                     (3,))),
    (lambda x, w, b: F.conv3d(x, w, b, stride=(1, 2, 1), padding=1), ((2, 2, 3, 4, 3), (3, 2, 2, 3, 2), (3,))),
    (lambda x, w, b: F.conv2d(x, w, b, stride=(2, 3), padding=1, dilation=(1, 3), groups=3), ((2, 3, 7, 6),
                                                                                          (3, 1, 3, 2), (3,))),
    (lambda x, w, b: F.conv_transpose1d(x, w, b, stride=2, groups=2), ((2, 4, 5), (4, 1, 3), (2,))),
    (lambda x, w, b: F.conv2d(x, w, b, padding=(2, 1), dilation=(1, 2)), ((2, 3, 4, 5), (2, 3, 2, 2), (2,))),
])
def test_gradcheck_gradgradcheck(threads, fn, shapes):
    inputs = tuple(ember.tensor(RNG.standard_normal(s), requires_grad=True) for s in shapes)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


@pytest.mark.parametrize("xs,ws,kw", [
    ((3, 4, 6, 7), (4, 1, 3, 3), dict(padding=1)),                             # output as large as the input
    ((2, 3, 7, 6), (3, 1, 3, 2), dict(padding=(0, 3), dilation=(1, 2))),      # wider output
    ((2, 3, 7, 8), (3, 1, 2, 3), dict(padding=(2, 0), dilation=2)),           # narrower output
])
def test_depthwise_in_blocks(threads, monkeypatch, xs, ws, kw):
    """The stride-1 depthwise pass over several blocks of rows reusing its columns (zeros where taps read
    padding must stay zeros from block to block): values and gradients against torch, and gradcheck."""
    monkeypatch.setattr(_conv, "_CACHE_BLOCK", 1)   # one (sample, channel) row per block
    kw = dict(kw, groups=xs[1])
    for dtype in ("float32", "float64"):
        _run("conv2d", xs, ws, kw, dtype, bias=True)
    inputs = tuple(ember.tensor(RNG.standard_normal(s), requires_grad=True) for s in (xs, ws, (xs[1],)))
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), inputs)


STRIDED_DEPTHWISE = [
    # (function, input shape, weight shape, kwargs): the input split in phases, a pass per phase backward
    ("conv1d", (2, 3, 11), (3, 1, 3), dict(stride=2, padding=1, groups=3)),
    ("conv1d", (1, 2, 12), (2, 1, 4), dict(stride=3, padding=2, dilation=2, groups=2)),   # phases no tap reads
    ("conv2d", (2, 3, 9, 8), (3, 1, 3, 3), dict(stride=2, padding=1, groups=3)),           # odd and even sizes
    ("conv2d", (1, 4, 7, 10), (4, 1, 3, 2), dict(stride=(2, 3), padding=(2, 1), dilation=(1, 3), groups=4)),
    ("conv2d", (2, 2, 8, 7), (2, 1, 2, 3), dict(stride=2, dilation=2, groups=2)),          # no padding, even dilation
    ("conv2d", (2, 3, 5, 6), (3, 1, 3, 3), dict(stride=(1, 2), padding=(3, 1), groups=3)), # pad past the kernel
    ("conv3d", (1, 2, 5, 6, 7), (2, 1, 3, 2, 3), dict(stride=(2, 1, 2), padding=(1, 0, 1), groups=2)),
]


@pytest.mark.parametrize("fname,xs,ws,kw", STRIDED_DEPTHWISE)
def test_strided_depthwise(threads, monkeypatch, fname, xs, ws, kw):
    """Strided depthwise: values and all gradients against torch in float32 and float64 (also over blocks of
    one row each), only the input's or only the weight's gradient, and gradcheck in float64."""
    for dtype in ("float32", "float64"):
        _run(fname, xs, ws, kw, dtype, bias=True)
    x, w = RNG.standard_normal(xs), RNG.standard_normal(ws)
    for grads in ("input", "weight"):
        _one_gradient(fname, x, w, kw, grads)
    inputs = tuple(ember.tensor(RNG.standard_normal(s), requires_grad=True) for s in (xs, ws, (xs[1],)))
    assert gradcheck(lambda x, w, b: getattr(F, fname)(x, w, b, **kw), inputs)
    monkeypatch.setattr(_conv, "_CACHE_BLOCK", 1)   # one (sample, channel) row per block
    _run(fname, xs, ws, kw, "float64", bias=True)


def test_depthwise_empty_batch():
    """No (sample, channel) rows: empty output and input gradient, zero weight and bias gradients."""
    res = []
    for lib, fns in ((torch, TF), (ember, F)):
        x, w, b = (lib.zeros(*s, requires_grad=True) for s in ((0, 3, 5, 4), (3, 1, 3, 3), (3,)))
        y = fns.conv2d(x, w, b, padding=1, groups=3)
        y.sum().backward()
        res.append((y, x.grad, w.grad, b.grad))
    for e, t in zip(res[1], res[0], strict=True):
        assert_close(e, t)


@pytest.mark.parametrize("shape,size,kw", [((2, 3, 7, 6), (7, 6), dict(kernel_size=(3, 2), padding=1, stride=(2, 1))),
                                           ((3, 5, 5), (5, 5), dict(kernel_size=2, dilation=2, padding=(1, 0)))])
def test_unfold_fold(threads, shape, size, kw):
    a = RNG.standard_normal(shape)
    ex, tx = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    eu, tu = F.unfold(ex, **kw), TF.unfold(tx, **kw)
    assert_close(eu, tu)
    ef, tf = F.fold(eu * 2, size, **kw), TF.fold(tu * 2, size, **kw)
    assert_close(ef, tf)
    cot = np.sin(np.arange(tf.numel())).reshape(tuple(tf.shape))
    tf.backward(torch.tensor(cot))
    ef.backward(ember.tensor(cot))
    assert_close(ex.grad, tx.grad)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_gets_threads_of_its_own(monkeypatch):
    """A child forked after the parent started its worker threads (which it does not inherit) still runs
    split passes instead of waiting on threads that do not exist."""
    monkeypatch.setattr(_parallel, "_MIN_PART", 1)
    monkeypatch.setattr(_parallel, "_cores", lambda: 2)
    monkeypatch.setitem(info._threads, "intra", 2)
    x, w = ember.randn(2, 3, 6, 6), ember.randn(3, 1, 3, 3)
    expected = F.conv2d(x, w, padding=1, groups=3).numpy()
    pid = os.fork()
    if pid == 0:   # child: exit status 0 when the result is right
        ok = False
        try:
            ok = np.array_equal(F.conv2d(x, w, padding=1, groups=3).numpy(), expected)
        finally:
            os._exit(0 if ok else 1)
    deadline = time.monotonic() + 60
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung")
    assert os.waitstatus_to_exitcode(done[1]) == 0
