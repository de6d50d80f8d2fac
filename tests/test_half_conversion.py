"""float16 from values float32 cannot hold exactly: torch's c10::Half converts only from float, so a double (or a
wide integer) is rounded twice, first to float32; every conversion path rounds the same way as torch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import ember
from oracle import torch


def _near_midpoints() -> np.ndarray:
    """Doubles just above and below float16 rounding midpoints (where rounding twice differs), and others."""
    rng = np.random.default_rng(0)
    h = rng.standard_normal(400).astype(np.float16).astype(np.float64) * rng.choice([1e-6, 1e-3, 1, 300], 400)
    h = h.astype(np.float16).astype(np.float64)
    mid = (h + np.nextafter(h.astype(np.float16), np.float16(np.inf)).astype(np.float64)) / 2
    return np.concatenate([mid + mid * 2.0 ** -40, mid - mid * 2.0 ** -40, mid, h, [65519.99, 65520.0, 1e-8]])


VALUES = _near_midpoints()
PATHS: dict[str, Callable[[Any, np.ndarray], Any]] = {
    "to": lambda lib, v: lib.tensor(v, dtype=lib.float64).to(lib.float16),
    "half_of_int64": lambda lib, v: lib.tensor((v * 2**20).astype(np.int64)).half(),
    "tensor_data": lambda lib, v: lib.tensor(v.tolist(), dtype=lib.float16),
    "copy_": lambda lib, v: lib.zeros(len(v), dtype=lib.float16).copy_(lib.tensor(v, dtype=lib.float64)),
    "full": lambda lib, v: lib.stack([lib.full((1,), float(x), dtype=lib.float16) for x in v[::7]]),
    "fill_": lambda lib, v: lib.stack([lib.empty(1, dtype=lib.float16).fill_(float(x)) for x in v[::7]]),
    "setitem": lambda lib, v: lib.stack([_set(lib.zeros(2, dtype=lib.float16), float(x)) for x in v[::7]]),
    "scalar_operands": lambda lib, v: lib.stack([
        lib.stack([z + float(x), float(x) - z, lib.where(z > 0, z, float(x)), (z == float(x)).half()])
        for z, x in ((lib.zeros(2, dtype=lib.float16), x) for x in v[::7])]),
}


def _set(t: Any, x: float) -> Any:
    t[0] = x
    return t


@pytest.mark.parametrize("path", sorted(PATHS))
def test_rounds_through_float32_as_torch(path: str) -> None:
    want = PATHS[path](torch, VALUES).float().numpy()
    got = PATHS[path](ember, VALUES).float().numpy()
    np.testing.assert_array_equal(got, want)


def test_a_direct_rounding_would_differ() -> None:
    """The values above do tell the two roundings apart (else the test could not fail)."""
    direct = VALUES.astype(np.float16)
    twice = VALUES.astype(np.float32).astype(np.float16)
    assert (direct != twice).sum() > 10
