"""Paths rewritten for the speed of training steps, against torch: the fused float32 LSTM layer (its backward
on arrays, every gradient; an empty batch), ..."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from oracle import assert_close, torch


def _lstm_pair(*args, **kw):
    torch.manual_seed(3)
    tm = torch.nn.LSTM(*args, **kw)
    em = ember.nn.LSTM(*args, **kw)
    with ember.no_grad():
        for p, q in zip(em.parameters(), tm.parameters(), strict=True):
            p.copy_(ember.tensor(q.detach().numpy()))
    return tm, em


@pytest.mark.parametrize("kw", [{}, {"bidirectional": True, "num_layers": 2}, {"bias": False, "batch_first": True}])
def test_fused_lstm_gradients(kw):
    """Outputs, final states and the gradients of the input, the initial states and every weight (the array
    backward, forward and reverse directions)."""
    tm, em = _lstm_pair(3, 5, **kw)
    rng = np.random.default_rng(1)
    d = 2 if kw.get("bidirectional") else 1
    shape = (2, 4, 3) if kw.get("batch_first") else (4, 2, 3)
    x, h0, c0 = (rng.standard_normal(s).astype(np.float32) for s in (shape, (d * kw.get("num_layers", 1), 2, 5),
                                                                      (d * kw.get("num_layers", 1), 2, 5)))
    res = []
    for lib, m in ((torch, tm), (ember, em)):
        ts = [lib.tensor(a, requires_grad=True) for a in (x, h0, c0)]
        out, (h, c) = m(ts[0], (ts[1], ts[2]))
        (out.sin().sum() + (h * h).sum() + c.sum()).backward()
        res.append([out, h, c, *(t.grad for t in ts), *(p.grad for p in m.parameters())])
    assert_close(res[1], res[0], 1e-5, 1e-6)


def test_fused_lstm_empty_batch():
    """A batch of 0 sequences: empty outputs and states, zero weight gradients (torch allows it)."""
    tm, em = _lstm_pair(2, 3)
    res = []
    for lib, m in ((torch, tm), (ember, em)):
        x = lib.zeros(4, 0, 2, requires_grad=True)
        out, (h, c) = m(x)
        (out.sum() + c.sum()).backward()
        res.append([out, h, c, x.grad, *(p.grad for p in m.parameters())])
    assert_close(res[1], res[0])


@pytest.mark.parametrize("n", [1, 65537])
def test_bernoulli_and_dropout_streams(n):
    """bernoulli_(p) and dropout's mask (drawn as torch's random64 values, straight into the tensor) match
    torch's, from a stream position after an odd number of words, across the sampler's chunk boundary."""
    res = []
    for lib in (torch, ember):
        lib.manual_seed(5)
        lib.rand(3)
        x = lib.ones(n, 2)
        res.append([lib.empty(n).bernoulli_(0.3), lib.empty(n, dtype=lib.float64).bernoulli_(0.7),
                    lib.nn.functional.dropout(x.t(), 0.25, True), lib.rand(2)])
    assert_close(res[1], res[0], 0, 0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_steps(name, dtype):
    """Adam's update (moments by fused multiply-adds: the product widened, then scaled in place; addcdiv
    straight into the parameter): AdamW's first moments (from the gradient alone) equal torch's bit for bit;
    the steps agree to torch's sqrt, which is not correctly rounded on the CPU."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal(3000)
    grads = [rng.standard_normal(3000) * s for s in (1.0, 0.1, 3.0)]
    res = []
    for lib in (torch, ember):
        dt = getattr(lib, dtype)
        p = lib.nn.Parameter(lib.tensor(a, dtype=dt))
        opt = getattr(lib.optim, name)([p], lr=1e-2, weight_decay=0.1)
        steps = []
        for g in grads:
            p.grad = lib.tensor(g, dtype=dt)
            opt.step()
            steps.append([opt.state[p]["exp_avg"].clone(), opt.state[p]["exp_avg_sq"].clone(), p.detach().clone()])
        res.append(steps)
    if name == "AdamW":
        assert_close(res[1][0][:2], res[0][0][:2], 0, 0)
    assert_close(res[1], res[0], 1e-5, 1e-9)
