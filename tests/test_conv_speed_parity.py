"""Speed work on convolutions that must not change results: the C heap keeps freed array buffers (no page
faults for buffers allocated again step after step); a strided depthwise convolution's phase split as torch."""

from __future__ import annotations

import os
import resource

import numpy as np
import pytest

import ember  # (importing ember sets the heap's policy)
from ember._core import heap
from oracle import torch

_TUNED = "GLIBC_TUNABLES" in os.environ or any(k.startswith("MALLOC_") and k.endswith("_") for k in os.environ)


@pytest.mark.skipif(not heap._glibc() or _TUNED, reason="glibc's heap with its default settings only")
def test_freed_buffers_are_reused_without_page_faults():
    """Six 8 MiB buffers (above glibc's default mmap threshold) alive together, freed and allocated again, are
    not faulted in again (with the defaults the freed heap top is handed back: thousands of faults a round)."""
    def rounds() -> None:
        for _ in range(2):
            live = [np.ones(2 << 20, dtype=np.float32) for _ in range(6)]
            del live

    rounds()   # the first round may grow the heap
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    rounds()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before < 512


@pytest.mark.parametrize("size, stride, kernel", [((9, 10), (2, 3), (3, 4)), ((8, 7, 5), (2, 2, 1), (3, 3, 2))])
def test_strided_depthwise_phases_as_torch(size, stride, kernel):
    """A strided depthwise convolution splits its input into phases in one copy (the entries every phase has)
    plus each phase's last lines and padding: odd sizes, unequal strides, 2-d and 3-d; values and gradients."""
    conv = {2: "conv2d", 3: "conv3d"}[len(size)]
    rng = np.random.default_rng(3)
    x, w, b = (rng.standard_normal(s) for s in ((2, 3, *size), (3, 1, *kernel), (3,)))
    gy = None
    outs = []
    for lib, to in ((torch, lambda a: torch.tensor(a, requires_grad=True)),
                    (ember, lambda a: ember.tensor(a, requires_grad=True))):
        xt, wt, bt = map(to, (x, w, b))
        y = getattr(lib.nn.functional, conv)(xt, wt, bt, stride=stride, padding=1, groups=3)
        gy = rng.standard_normal(tuple(y.shape)) if gy is None else gy
        y.backward(lib.tensor(gy))
        outs.append([t.detach().numpy() for t in (y, xt.grad, wt.grad, bt.grad)])
    for t, e in zip(*outs, strict=True):
        np.testing.assert_allclose(e, t, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("transposed", [False, True])
def test_small_per_sample_products_split_over_threads(monkeypatch, transposed):
    """A stack of small per-sample GEMMs (forward, input and weight gradients) split over 3 threads in parts
    of unequal sizes gives the bits of one thread, and torch's values."""
    from ember.nn.functional import _conv
    from ember.ops import _parallel, info

    calls = []
    monkeypatch.setattr(_parallel, "_MIN_PART", 1)
    monkeypatch.setattr(_parallel, "_cores", lambda: 3)
    monkeypatch.setattr(_conv, "split_rows", lambda ns, rows, size, fn: (calls.append(rows),
                                                                          _parallel.split_rows(ns, rows, size, fn)))
    rng = np.random.default_rng(5)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((5, 4, 7, 6), (4, 6, 3, 3), (6,)))
    if not transposed:
        w = w.transpose(1, 0, 2, 3).copy()
    gy = None
    results = []
    for lib, threads in ((ember, 1), (ember, 3), (torch, None)):
        if threads:
            monkeypatch.setitem(info._threads, "intra", threads)
        xt, wt, bt = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
        f = lib.nn.functional.conv_transpose2d if transposed else lib.nn.functional.conv2d
        y = f(xt, wt, bt, padding=1)
        gy = rng.standard_normal(tuple(y.shape)).astype(np.float32) if gy is None else gy
        y.backward(lib.tensor(gy))
        results.append([t.detach().numpy() for t in (y, xt.grad, wt.grad, bt.grad)])
    assert 5 in calls   # the per-sample products went through the split
    for one, three, t in zip(*results, strict=True):
        assert np.array_equal(one, three)
        np.testing.assert_allclose(three, t, rtol=1e-4, atol=1e-4)
