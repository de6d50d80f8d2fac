"""The blocked passes of the norms against torch where they take their faster forms: batch norm's walks over
blocks of whole samples against per-channel vectors tiled to a block (short and long rows, several blocks and
a short last one, a zero weight, eval mode; samples larger than a block keep the row walk), layer_norm over
several blocks of rows and its exact cancellation in the gradient of a sum of its outputs, group norm's walks
over whole groups."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from oracle import check_grads, torch

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(300, 500), (90, 700, 3), (7, 4, 5000), (2, 3, 50000)])
def test_batch_norm_tiled_walks(shape: tuple, training: bool) -> None:
    c = shape[1]

    def fn(L, x, w, b):
        rm, rv = L.zeros(c, dtype=x.dtype), L.ones(c, dtype=x.dtype) + 0.5
        y = L.nn.functional.batch_norm(x, rm, rv, w, b, training=training, momentum=0.3)
        return y + rm.sum() + rv.sum() * 2

    w = RNG.standard_normal(c)
    w[1] = 0.0   # (a zero weight takes the other form of the backward's walk)
    check_grads(fn, RNG.standard_normal(shape) * 2 + 1, RNG.standard_normal(c), RNG.standard_normal(c),
                rtol=1e-7, atol=1e-9)
    check_grads(fn, RNG.standard_normal(shape) - 1, w, RNG.standard_normal(c), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_several_blocks(affine: bool) -> None:
    """layer_norm's blocked forward and backward over two blocks of rows."""
    n = 300
    params = (RNG.standard_normal(n), RNG.standard_normal(n)) if affine else ()
    check_grads(lambda L, x, *p: L.nn.functional.layer_norm(x, (n,), *p), RNG.standard_normal((5, 100, n)) + 3,
                *params, rtol=1e-7, atol=1e-9)


def test_layer_norm_sum_of_outputs_exact_zero_gradient() -> None:
    """Σ layer_norm(x) does not depend on x: with an exact mean the input gradient is exactly 0, as torch's
    (the mean of g·w is subtracted before scaling by 1/std)."""
    xa = np.array([[1, 2, 3, 4, 5, 6, 7], [-3, 1, 5, 9, 13, 17, 21]], np.float32)
    grads = []
    for lib in (ember, torch):
        x = lib.tensor(xa, requires_grad=True)
        lib.nn.functional.layer_norm(x, (7,), lib.ones(7, requires_grad=True), lib.zeros(7)).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    assert not grads[1].any()


@pytest.mark.parametrize("shape,groups", [((3, 8, 40, 41), 2), ((2, 6, 5000), 3), ((4, 4, 3), 4)])
def test_group_norm_group_walk(shape: tuple, groups: int) -> None:
    """group_norm's walks over whole groups (per-group terms of the gradient broadcast over a group), one and
    several blocks of groups, a zero weight."""
    c = shape[1]
    w = RNG.standard_normal(c)
    w[0] = 0.0
    check_grads(lambda L, x, w, b: L.nn.functional.group_norm(x, groups, w, b), RNG.standard_normal(shape) + 2, w,
                RNG.standard_normal(c), rtol=1e-7, atol=1e-9)
