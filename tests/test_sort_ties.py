"""torch's CPU sort is unstable (``std::sort``): equal values longer than 16 per slice come out in the order its
partitions leave them. ember replays that order up to 2048 tied elements, and keeps the stable order beyond."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from oracle import torch


def _both(values: np.ndarray, dtype: str) -> tuple:
    return torch.tensor(values.tolist(), dtype=getattr(torch, dtype)), ember.tensor(values.tolist(),
                                                                                    dtype=getattr(ember, dtype))


@pytest.mark.parametrize("shape, dim, dtype, high, descending", [
    ((17,), 0, "int64", 3, False),
    ((40,), 0, "int64", 4, True),
    ((100,), 0, "float32", 10, False),
    ((1000,), 0, "int32", 10, True),
    ((2048,), 0, "int16", 7, False),
    ((8, 64), 1, "int64", 5, False),
    ((64, 8), 0, "float64", 5, True),
    ((3, 33, 2), 1, "uint8", 2, True),
    ((300,), 0, "bool", 2, False),
    ((300,), 0, "float16", 6, True),
    ((300,), 0, "bfloat16", 6, False),
])
def test_tie_order_matches_torch(shape: tuple, dim: int, dtype: str, high: int, descending: bool) -> None:
    values = np.random.default_rng(len(shape) * 1000 + shape[dim]).integers(0, high, shape)
    t, e = _both(values, dtype)
    tv, ti = torch.sort(t, dim=dim, descending=descending)
    ev, ei = ember.sort(e, dim=dim, descending=descending)
    assert np.array_equal(ei.numpy(), ti.numpy())
    assert np.array_equal(ev.float().numpy(), tv.float().numpy())
    assert np.array_equal(ember.argsort(e, dim=dim, descending=descending).numpy(),
                          torch.argsort(t, dim=dim, descending=descending).numpy())


@pytest.mark.parametrize("descending", [False, True])
def test_nan_and_signed_zero_ties_match_torch(descending: bool) -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(-2, 3, 200).astype(np.float64)
    values[rng.random(200) < 0.2] = np.nan
    values[rng.random(200) < 0.2] = -0.0
    t, e = _both(values, "float64")
    tv, ti = torch.sort(t, descending=descending)
    ev, ei = ember.sort(e, descending=descending)
    assert np.array_equal(ei.numpy(), ti.numpy())
    assert np.array_equal(np.signbit(ev.numpy()), np.signbit(tv.numpy()))   # which zero lands where


def test_stable_flag_and_short_slices_keep_input_order() -> None:
    values = np.random.default_rng(5).integers(0, 3, (4, 100))
    t, e = _both(values, "int64")
    assert np.array_equal(ember.sort(e, stable=True).indices.numpy(), torch.sort(t, stable=True).indices.numpy())
    short = values[:, :16]
    assert np.array_equal(ember.sort(ember.tensor(short)).indices.numpy(),
                          torch.sort(torch.tensor(short)).indices.numpy())


def test_beyond_the_replay_budget_is_still_a_sort() -> None:
    values = np.random.default_rng(6).integers(0, 4, 5000)
    e = ember.tensor(values)
    ev, ei = ember.sort(e, descending=True)
    assert np.array_equal(ev.numpy(), np.sort(values)[::-1])
    assert np.array_equal(values[ei.numpy()], ev.numpy())
