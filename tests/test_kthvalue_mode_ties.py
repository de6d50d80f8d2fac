"""kthvalue and mode pick among equal values exactly as torch's CPU kernels: kthvalue's own quickselect and
mode's (unstable) std::sort leave equal values in an order that decides the index reported."""

import numpy as np
import pytest
import torch

import ember
from ember.ops._stl_order import _depth, _introsort_loop


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


def test_many_rows() -> None:
    """32 rows or more are replayed all at once in NumPy (short slices, fewer rows, one by one in Python)."""
    rng = np.random.default_rng(5)
    for high, shape in ((3, (40, 90)), (9, (34, 600))):
        x = torch.from_numpy(rng.integers(0, high, shape).astype(np.float64))
        for k in (1, 2, 7, shape[1] // 2, shape[1]):
            _same(ember.kthvalue(_ember(x), k, 1), torch.kthvalue(x, k, 1))
        _same(ember.mode(_ember(x), 1), torch.mode(x, 1))
        x[0, ::5] = float("nan")  # a row with NaN is replayed on its values, alone
        _same(ember.mode(_ember(x.t()), 0), torch.mode(x.t(), 0))


def test_mode_depth_limited_fallback() -> None:
    """Keys that drive std::sort's introsort into its heap sort, around the modal value, on 40 rows."""
    from test_topk_ties import _Adversary, _Lazy

    adversary = _Adversary(200, 1)
    _introsort_loop(list(range(200)), [_Lazy(i, adversary) for i in range(200)], 0, 200, _depth(200))  # type: ignore[list-item]
    x = torch.tensor([adversary.key(i) for i in range(200)], dtype=torch.float64)
    x[x == 29] = 28  # the only value twice: the modal one
    _same(ember.mode(_ember(x.expand(40, 200)), 1), torch.mode(x.expand(40, 200), 1))
