"""gelu and softmax on their blocked CPU paths: a result does not depend on how the array is cut into blocks
(or over threads), and stays close to torch's."""

import numpy as np
import pytest
import torch

import ember

F = ember.nn.functional


def _gelu_and_grad(lib, x: np.ndarray, g: np.ndarray, approximate: str) -> tuple[np.ndarray, np.ndarray]:
    t = lib.tensor(x, requires_grad=True)
    y = lib.nn.functional.gelu(t, approximate=approximate)
    y.backward(lib.tensor(g))
    return y.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float32_blocks_and_torch(approximate):
    # 600_000 elements: several blocks, split over the threads; 50_000: one block
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(600_000) * 4).astype(np.float32)
    x[:6] = [0.0, -0.0, -30.0, 30.0, -1e-30, 17.0]
    g = rng.standard_normal(x.size).astype(np.float32)
    y, d = _gelu_and_grad(ember, x, g, approximate)
    parts = [_gelu_and_grad(ember, x[i : i + 50_000], g[i : i + 50_000], approximate) for i in range(0, x.size, 50_000)]
    np.testing.assert_array_equal(y, np.concatenate([p[0] for p in parts]))
    np.testing.assert_array_equal(d, np.concatenate([p[1] for p in parts]))
    yt, dt = _gelu_and_grad(torch, x, g, approximate)
    np.testing.assert_allclose(y, yt, rtol=4e-6, atol=2e-6)   # (oneDNN's erf: ~1e-6 off near x = -3.5)
    np.testing.assert_allclose(d, dt, rtol=4e-6, atol=1e-5)   # (torch cancels in Φ + xφ below x ≈ -5)


@pytest.mark.parametrize("log", [False, True])
def test_softmax_long_rows_each_row_alone(log):
    # rows longer than 8192 in the backward's blocks: a row's gradient is the one it gets alone
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 70_001)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)

    def run(lib, xa, ga):
        t = lib.tensor(xa, requires_grad=True)
        y = (lib.nn.functional.log_softmax if log else lib.nn.functional.softmax)(t, -1)
        y.backward(lib.tensor(ga))
        return y.detach().numpy(), t.grad.numpy()

    y, gx = run(ember, x, g)
    for i in range(3):
        yi, gi = run(ember, x[i : i + 1], g[i : i + 1])
        np.testing.assert_array_equal(y[i], yi[0])
        np.testing.assert_array_equal(gx[i], gi[0])
    yt, gt = run(torch, x, g)
    np.testing.assert_allclose(y, yt, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(gx, gt, rtol=1e-4, atol=1e-7)
