"""kthvalue and mode pick among equal values exactly as torch's CPU kernels: kthvalue's own quickselect and
mode's (unstable) std::sort leave equal values in an order that decides the index reported."""

import numpy as np
import pytest
import torch

import ember


def _tied(rng: np.random.Generator, dtype: str, nan: bool) -> tuple[torch.Tensor, int]:
    """A random tensor of few distinct values (some NaN when ``nan``), and a dim, sometimes transposed."""
    shape = [int(s) for s in rng.integers(1, 4, 3)]
    d = int(rng.integers(0, 3))
    shape[d] = int(rng.choice([1, 2, 5, 17, 40, 130, 600]))
    x = torch.from_numpy(rng.integers(0, int(rng.integers(1, 8)), shape).astype(np.float64))
    if nan and rng.random() < 0.5:
        x[torch.from_numpy(rng.random(shape) < 0.2)] = float("nan")
    if rng.random() < 0.3:
        x, d = x.transpose(0, 2), 2 - d
    return x.to(getattr(torch, dtype)), d


def _same(got: tuple, want: tuple) -> None:
    assert got.indices.numpy().tolist() == want.indices.tolist()
    assert str(got.values.dtype) == str(want.values.dtype)
    assert np.array_equal(got.values.float().numpy(), want.values.float().numpy(), equal_nan=True)


def _ember(x: torch.Tensor) -> ember.Tensor:
    return ember.from_numpy(x.float().numpy()).to(getattr(ember, str(x.dtype)[6:]))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "float16", "bfloat16"])
def test_kthvalue_random_ties(dtype: str) -> None:
    rng = np.random.default_rng(sum(map(ord, dtype)))
    for _ in range(30):
        x, d = _tied(rng, dtype, dtype != "int64")
        n = x.shape[d]
        for k in {1, 2, n // 3 + 1, n // 2 + 1, n - 1, n} & set(range(1, n + 1)):
            keep = bool(rng.random() < 0.5)
            _same(ember.kthvalue(_ember(x), k, d, keep), torch.kthvalue(x, k, d, keep))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "float16", "bfloat16", "bool"])
def test_mode_random_ties(dtype: str) -> None:
    rng = np.random.default_rng(sum(map(ord, dtype)) + 1)
    for _ in range(30):
        x, d = _tied(rng, dtype, dtype not in ("int64", "bool"))
        keep = bool(rng.random() < 0.5)
        _same(ember.mode(_ember(x), d, keep), torch.mode(x, d, keep))
