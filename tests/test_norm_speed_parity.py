"""The blocked passes of the norms against torch where they take their faster forms: batch norm with short
rows (per-channel vectors tiled over a block of rows, several blocks and a short last one), layer_norm over
several blocks of rows."""

from __future__ import annotations

import numpy as np
import pytest

from oracle import check_grads

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(300, 500), (90, 700, 3)])
def test_batch_norm_short_rows_several_blocks(shape: tuple, training: bool) -> None:
    c = shape[1]

    def fn(L, x, w, b):
        rm, rv = L.zeros(c, dtype=x.dtype), L.ones(c, dtype=x.dtype) + 0.5
        y = L.nn.functional.batch_norm(x, rm, rv, w, b, training=training, momentum=0.3)
        return y + rm.sum() + rv.sum() * 2

    check_grads(fn, RNG.standard_normal(shape) * 2 + 1, RNG.standard_normal(c), RNG.standard_normal(c),
                rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_several_blocks(affine: bool) -> None:
    """layer_norm's blocked backward (weight gradient summed per block by BLAS) over two blocks of rows."""
    n = 300
    params = (RNG.standard_normal(n), RNG.standard_normal(n)) if affine else ()
    check_grads(lambda L, x, *p: L.nn.functional.layer_norm(x, (n,), *p), RNG.standard_normal((5, 100, n)) + 3,
                *params, rtol=1e-7, atol=1e-9)
