"""The blocked passes of the norms against torch where they take their faster forms: batch norm with short
rows (per-channel vectors tiled over a block of rows, several blocks and a short last one)."""

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
