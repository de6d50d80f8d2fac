"""The array paths of batch / instance / group norm against torch: per-column statistics for batch norm with
short rows, cache-sized blocks of rows (several blocks, on threads) otherwise, the centring path for large
means, eval mode, zero weights; the CPU dtype rules (mixed 16-bit input and float32 parameters) with torch's
messages in its order of checks; forward AD under no_grad."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch.autograd.forward_ad as tfw

import ember
import ember.autograd.forward_ad as efw
from ember.autograd import gradcheck
from oracle import assert_close, assert_same_error, check_grads, torch

RNG = np.random.default_rng(5)


def _bn(training: bool):
    def fn(L, x, w, b):
        c = x.shape[1]
        rm, rv = L.zeros(c, dtype=x.dtype), L.ones(c, dtype=x.dtype) + 0.5
        y = L.nn.functional.batch_norm(x, rm, rv, w, b, training=training, momentum=0.3)
        return y + rm.sum() + rv.sum() * 2   # the updated running statistics
    return fn


@pytest.mark.parametrize("shape", [(40, 6), (7, 5, 3), (3, 4, 20), (5, 64, 500), (1, 3, 17)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_paths_float64(shape: tuple, training: bool) -> None:
    """Short rows (column statistics), long rows in one and in several blocks; the running statistics are
    folded into the output so that their update is compared too."""
    c = shape[1]
    check_grads(_bn(training), RNG.standard_normal(shape) * 2 + 1, RNG.standard_normal(c), RNG.standard_normal(c),
                rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("shape,groups", [((4, 6, 2), 3), ((3, 8, 5, 5), 2), ((6, 16, 1500), 4), ((5, 4), 2)])
def test_group_norm_paths_float64(shape: tuple, groups: int) -> None:
    c = shape[1]
    check_grads(lambda L, x, w, b: L.nn.functional.group_norm(x, groups, w, b),
                RNG.standard_normal(shape) - 0.5, RNG.standard_normal(c), RNG.standard_normal(c), rtol=1e-7, atol=1e-9)


def test_float32_large_mean_non_contiguous_within_torch_error() -> None:
    """A transposed float32 input far from zero mean (statistics recomputed from centred values) through the
    blocked path, batch and instance norm (one sample of N·C channels): outputs and input gradients no further
    from the float64 values than torch's float32 ones."""
    a = RNG.standard_normal((60, 8, 300)) * 0.1 + 300
    w, b = RNG.standard_normal(60), RNG.standard_normal(60)
    g = RNG.standard_normal((8, 60, 300))
    res = {}
    for name, L, dt in (("ember", ember, np.float32), ("torch", torch, np.float32), ("ref", torch, np.float64)):
        x = L.tensor(a.astype(dt), requires_grad=True)
        xt = x.transpose(0, 1)                       # (8, 60, 300), not contiguous
        y = L.nn.functional.batch_norm(xt, None, None, L.tensor(w.astype(dt)), L.tensor(b.astype(dt)), True)
        z = L.nn.functional.instance_norm(xt[:2])
        (y * L.tensor(g.astype(dt))).sum().backward()
        res[name] = [np.asarray(t.detach().numpy(), np.float64) for t in (y, z, x.grad)]
    for e, t, r in zip(res["ember"], res["torch"], res["ref"], strict=True):
        assert np.abs(e - r).max() <= 2 * np.abs(t - r).max() + 1e-6


def test_zero_weight_and_gradcheck() -> None:
    x = ember.tensor(RNG.standard_normal((6, 3, 4)), requires_grad=True)
    w = ember.tensor([1.5, 0.0, -0.5], dtype=ember.float64, requires_grad=True)
    b = ember.tensor(RNG.standard_normal(3), requires_grad=True)
    assert gradcheck(lambda x, w, b: ember.nn.functional.batch_norm(x, None, None, w, b, training=True), (x, w, b))
    assert gradcheck(lambda x, w, b: ember.nn.functional.group_norm(x, 3, w, b), (x, w, b))
    check_grads(lambda L, x: L.nn.functional.batch_norm(x, None, None, L.tensor([2.0, 0.0, 1.0], dtype=x.dtype),
                                                        training=True), RNG.standard_normal((6, 3)))


_DT = [None, "float16", "float32", "float64"]


@pytest.mark.parametrize("xd", ["float16", "bfloat16", "float32"])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_mixed_dtypes_like_torch(xd: str, training: bool) -> None:
    """16-bit input with float32 or same-dtype weight / running statistics: accepted or refused as torch
    (its 'mixed dtype' or 'expected scalar type' message, in its order of checks, sizes first)."""
    for dts in itertools.product(_DT, ["float16", "float32", "bfloat16"], _DT):
        for size in (3, 2):
            def run(L, dts=dts, size=size):
                x = L.ones(4, 3, 5).to(getattr(L, xd))
                w, rm, b = (L.ones(3 if i != 1 else size, dtype=getattr(L, d)) if d else None
                            for i, d in enumerate(dts))
                return L.nn.functional.batch_norm(x, rm, rm.clone() + 1, w, b, training=training)
            try:
                t = run(torch)
            except RuntimeError:
                assert_same_error(lambda: run(ember), lambda: run(torch))
                continue
            assert_close(run(ember), t, atol=1e-2, rtol=1e-2)


def test_forward_ad_under_no_grad() -> None:
    """Tangents flow through batch / layer / group norm under no_grad, and a running mean requiring grad is
    refused only in grad mode."""
    a, t = RNG.standard_normal((5, 3, 2)), RNG.standard_normal((5, 3, 2))
    w = RNG.standard_normal(3)
    fns = [lambda L, x: L.nn.functional.batch_norm(x, None, None, L.tensor(w), training=True),
           lambda L, x: L.nn.functional.layer_norm(x, (2,)),
           lambda L, x: L.nn.functional.group_norm(x, 3, L.tensor(w))]
    for fn in fns:
        res = []
        for L, fw in ((ember, efw), (torch, tfw)):
            with fw.dual_level(), L.no_grad():
                res.append(fw.unpack_dual(fn(L, fw.make_dual(L.tensor(a), L.tensor(t)))).tangent)
        assert_close(res[0], res[1], rtol=1e-9, atol=1e-12)

    def bn(L, fw, grad: bool):
        rm = L.zeros(3, dtype=L.float64, requires_grad=True)
        with fw.dual_level(), L.set_grad_enabled(grad):
            x = fw.make_dual(L.tensor(a), L.tensor(t))
            return fw.unpack_dual(L.nn.functional.batch_norm(x, rm, L.ones(3, dtype=L.float64), training=True))[1]
    assert_close(bn(ember, efw, False), bn(torch, tfw, False))
    assert_same_error(lambda: bn(ember, efw, True), lambda: bn(torch, tfw, True))
