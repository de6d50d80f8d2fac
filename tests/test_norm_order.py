"""2-norms in torch's CPU order (``_cascade.norm2_squares``): ``linalg.vector_norm``/``norm``/``clip_grad_norm_``
of float32/float64 tensors equal torch's bit for bit — the vectorised last-dim kernel (8 float or 4 double
lanes, its unrolled scalar tail partly fused) and the generic kernel (sequential per output, one run per
thread for large reductions to one value), on contiguous, transposed and strided layouts."""

from __future__ import annotations

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

CASES = [((1,), None), ((5,), None), ((7,), None), ((13,), None), ((1000,), None), ((40000,), None),
         ((64, 33), (1,)), ((64, 33), (0,)), ((64, 33), None), ((3, 40000), None), ((2, 3, 41), (0, 2)),
         ((40, 3, 7), (1,)), ((300, 200), (0,))]


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_vector_norm_bit_for_bit(threads, dtype):
    rng = np.random.default_rng(threads)
    previous = torch.get_num_threads(), ember.get_num_threads()
    torch.set_num_threads(threads)
    ember.set_num_threads(threads)
    try:
        for shape, dims in CASES:
            for layout in ("contiguous", "transposed", "strided"):
                a = rng.standard_normal(shape).astype(dtype)
                if layout == "transposed" and a.ndim > 1:
                    a = np.ascontiguousarray(a.swapaxes(0, -1)).swapaxes(0, -1)
                if layout == "strided":
                    a = np.repeat(a, 2, axis=-1)[..., ::2]
                expected = torch.linalg.vector_norm(torch.from_numpy(a), dim=dims).numpy()
                got = ember.linalg.vector_norm(ember.from_numpy(a), dim=dims).numpy()
                assert got.dtype == expected.dtype and np.array_equal(got, expected), (shape, dims, layout)
    finally:
        torch.set_num_threads(previous[0])
        ember.set_num_threads(previous[1])


def test_norm_method_keepdim_and_clip_grad_norm():
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s).astype(np.float32) * 1e-3 for s in [(6159, 32), (128, 32), (96,), (5,)]]
    a = grads[0]
    assert np.array_equal(ember.from_numpy(a).norm(dim=1, keepdim=True).numpy(),
                          torch.from_numpy(a).norm(dim=1, keepdim=True).numpy())
    totals = []
    for lib in (torch, ember):
        params = [lib.nn.Parameter(lib.zeros(g.shape)) for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = lib.from_numpy(g.copy())
        totals.append((lib.nn.utils.clip_grad_norm_(params, 0.25).item(), [p.grad.numpy() for p in params]))
    assert totals[0][0] == totals[1][0]
    assert all(np.array_equal(x, y) for x, y in zip(totals[0][1], totals[1][1], strict=True))
