"""topk picks and orders equal values (and orders unsorted results) exactly as torch's CPU kernel, whose
libstdc++ partial_sort / nth_element / sort are not stable."""

import numpy as np
import pytest
import torch

import ember
from ember.ops._stl_order import _topk_order_py


def same_topk(x: torch.Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> None:
    want = torch.topk(x, k, dim, largest, sorted)
    got = ember.topk(ember.from_numpy(x.float().numpy()).to(getattr(ember, str(x.dtype)[6:])), k, dim,
                     largest, sorted)
    assert got.indices.numpy().tolist() == want.indices.tolist()
    assert str(got.values.dtype) == str(want.values.dtype)
    assert np.array_equal(got.values.float().numpy(), want.values.float().numpy(), equal_nan=True)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "float16", "bfloat16", "uint8"])
def test_random_ties(dtype: str) -> None:
    rng = np.random.default_rng(sum(map(ord, dtype)))
    for _ in range(40):
        shape = [int(s) for s in rng.integers(1, 4, 3)]
        d = int(rng.integers(0, 3))
        shape[d] = int(rng.choice([1, 5, 17, 40, 130, 300]))
        x = torch.from_numpy(rng.integers(0, int(rng.integers(1, 8)), shape).astype(np.float64))
        x = x.to(getattr(torch, dtype))
        if x.is_floating_point() and rng.random() < 0.4:
            x[torch.from_numpy(rng.random(shape) < 0.2)] = float("nan")
        if rng.random() < 0.3:
            x, d = x.transpose(0, 2), 2 - d
        n = x.shape[d]
        # both kernel paths: partial_sort (64 * k <= n) and nth_element (+ sort)
        for k in {0, 1, max(1, n // 64), n // 2, n - 1, n}:
            same_topk(x, k, d, bool(rng.random() < 0.5), bool(rng.random() < 0.5))


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("sorted", [True, False])
def test_k_from_1_to_n(largest: bool, sorted: bool) -> None:
    x = torch.tensor([2.0, float("nan"), 1, 2, -0.0, 2, 0, float("nan"), 1, 3, 2, 1, 0, 2, 5, 1, 2, 2, 0])
    for k in range(len(x) + 1):
        same_topk(x, k, 0, largest, sorted)


def test_unsorted_without_ties() -> None:
    """nth_element leaves the first k in a scrambled order, which sorted=False returns as is."""
    x = torch.from_numpy(np.random.default_rng(0).permutation(50).astype(np.float32))
    for k in (2, 10, 25, 49, 50):
        same_topk(x, k, sorted=False)
        same_topk(x, k, largest=False, sorted=False)


def test_ties_past_the_best() -> None:
    """Equal values (NaNs, -0.0 and 0.0) only past the best k + 1 leave the stable choice as it is."""
    x = torch.from_numpy(np.random.default_rng(3).permutation(80).astype(np.float32) - 40)
    x[(x > -30) & (x < -20)] = float("nan")
    x[(x > -20) & (x < -15)] = -0.0
    x[(x > -15) & (x < -10)] = 0.0
    x[(x > 20) & (x < 25)] = 20.0
    for k in (1, 3, 5, 10, 14, 15, 16):
        for largest in (True, False):
            same_topk(x, k, largest=largest)
            same_topk(x.expand(40, 80), k, 1, largest, sorted=k > 3)


@pytest.mark.parametrize("high", [3, 300, 10**6])
def test_long_slices(high: int) -> None:
    """Slices over 512 long are partitioned in NumPy down to short ranges."""
    rng = np.random.default_rng(high)
    x = torch.from_numpy(rng.integers(0, high, (2, 3000)).astype(np.float32))
    x[0, ::7] = float("nan")
    for k in (1, 46, 47, 1500, 2999):
        for sorted in (True, False):
            same_topk(x, k, sorted=sorted)
            same_topk(x, k, largest=False, sorted=sorted)


class _Adversary:
    """McIlroy's "antiqsort" adversary: values decided lazily so that the median-of-3 pivots are bad, driving
    introselect / introsort into their depth-limited heap fallbacks."""

    def __init__(self, n: int, sign: int) -> None:
        self.val: list[int | None] = [None] * n
        self.solid, self.candidate, self.sign = 0, -1, sign

    def key(self, i: int) -> int:
        v = self.val[i]
        return self.sign * 10**9 if v is None else v

    def less(self, i: int, j: int) -> bool:
        if self.val[i] is None and self.val[j] is None:
            self.val[i if i == self.candidate else j] = self.sign * self.solid
            self.solid += 1
        if self.val[i] is None:
            self.candidate = i
        elif self.val[j] is None:
            self.candidate = j
        return self.key(i) < self.key(j)


class _Lazy:
    def __init__(self, i: int, adversary: _Adversary) -> None:
        self.i, self.adversary = i, adversary

    def __lt__(self, other: "_Lazy") -> bool:
        return self.adversary.less(self.i, other.i)


@pytest.mark.parametrize("n", [200, 1200])
@pytest.mark.parametrize("sign", [1, -1])
def test_depth_limited_fallbacks(n: int, sign: int) -> None:
    adversary = _Adversary(n, sign)
    _topk_order_py([_Lazy(i, adversary) for i in range(n)], n // 2, True)  # type: ignore[misc]
    x = torch.tensor([adversary.key(i) for i in range(n)], dtype=torch.float64)
    for k in (3, n // 2, 3 * n // 4):
        same_topk(x, k, largest=False)
        same_topk(-x, k)
    many = torch.stack([x, x // 3] * 20)  # 32 rows or more are replayed all at once, also with these fallbacks
    for k in (3, n // 2):
        same_topk(many, k, largest=False)
        same_topk(-many, k, sorted=False)


@pytest.mark.parametrize("largest", [True, False])
def test_many_rows(largest: bool) -> None:
    """32 rows or more are replayed all at once in NumPy (short slices, fewer rows, one by one in Python)."""
    rng = np.random.default_rng(int(largest))
    x = torch.from_numpy(rng.integers(0, 4, (40, 70)).astype(np.float32))
    x[torch.from_numpy(rng.random((40, 70)) < 0.1)] = float("nan")
    for k in (1, 2, 3, 20, 40, 69, 70):
        for sorted in (True, False):
            same_topk(x, k, 1, largest, sorted)
            same_topk(x.t(), k, 0, largest, sorted)
