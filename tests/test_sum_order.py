"""Floating sums add in torch's CPU order (ops._cascade), so sums, means and the losses built on them equal
torch's bit for bit, for every layout, dtype and thread count; the NumPy reduce ember relies on for sequential
runs is checked against a plain loop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import ember
from ember.ops._cascade import _run
from oracle import torch


@pytest.fixture
def threads(request: Any) -> Iterator[int]:
    """Both libraries on ``request.param`` intra-op threads for the test."""
    before = (ember.get_num_threads(), torch.get_num_threads())
    ember.set_num_threads(request.param)
    torch.set_num_threads(request.param)
    yield request.param
    ember.set_num_threads(before[0])
    torch.set_num_threads(before[1])


def _cases() -> list[tuple[Any, ...]]:
    rng = np.random.default_rng(0)
    cases = []
    for shape, dims, layout in [((1,), None, ""), ((5,), None, ""), ((7,), (0,), ""), ((13,), None, ""),
                                ((31,), None, ""), ((200,), None, ""), ((1000,), (0,), ""), ((40, 1), None, ""),
                                ((6, 10), (1,), ""), ((6, 10), (0,), ""), ((50, 70), (0,), ""), ((70, 50), (1,), ""),
                                ((5, 6, 7), (0, 2), ""), ((5, 6, 7), (1,), ""), ((9, 40), (0,), "T"),
                                ((30, 20), (1,), "T"), ((30, 40), (0,), "step"), ((300, 3), (0,), ""), ((), None, "")]:
        for dt in (np.float32, np.float64, np.complex64):
            a = rng.standard_normal(shape).astype(dt) * 3
            if dt == np.complex64:
                a = a + 1j * rng.standard_normal(shape).astype(np.float32)
            a = np.asarray(a).T if layout == "T" else a[:, ::2] if layout == "step" else np.asarray(a)
            cases.append((a, dims))
    return cases


@pytest.mark.parametrize("case", range(len(_cases())))
def test_sum_and_mean_equal_torch_bitwise(case: int) -> None:
    a, dims = _cases()[case]
    for name in ("sum", "mean"):
        args = () if dims is None else (dims,)
        got = getattr(ember.from_numpy(a), name)(*args).numpy()
        want = getattr(torch.from_numpy(a), name)(*args).numpy()
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("threads", [1, 2, 3], indirect=True)
@pytest.mark.parametrize("shape,dims", [((70001,), None), ((40000, 1), (0,)), ((300, 400), None),
                                        ((300, 400), "T"), ((400, 300), "strided")])
def test_large_sums_to_one_value_follow_torch_threads(threads: int, shape: tuple, dims: Any) -> None:
    a = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    if dims == "T":
        a, dims = a.T, None
    if dims == "strided":   # (runs of a thread start inside rows)
        a, dims = a[:, ::2], None
    args = () if dims is None else (dims,)
    np.testing.assert_array_equal(ember.from_numpy(a).sum(*args).numpy(), torch.from_numpy(a).sum(*args).numpy())


def test_zero_sums_are_positive_as_torch() -> None:
    a = -np.zeros((3, 20), np.float32)
    for dims in ((), (0,), (1,)):
        got = ember.from_numpy(a).sum(*dims).numpy()
        assert not np.signbit(got).any() and not np.signbit(torch.from_numpy(a).sum(*dims).numpy()).any()


def test_losses_reduce_as_torch() -> None:
    rng = np.random.default_rng(2)
    for n in (1, 17, 300):
        x = rng.standard_normal((n, 5)).astype(np.float32)
        y = rng.standard_normal((n, 5)).astype(np.float32)
        t = rng.integers(0, 5, n)
        t[rng.random(n) < 0.2] = -100
        w = rng.random(5).astype(np.float32)
        for lib_call in (lambda L, a, b, c, d: L.nn.functional.mse_loss(a, b),
                         lambda L, a, b, c, d: L.nn.functional.l1_loss(a, b, reduction="sum"),
                         lambda L, a, b, c, d: L.nn.functional.smooth_l1_loss(a, b),
                         lambda L, a, b, c, d: L.nn.functional.nll_loss(a, c),
                         lambda L, a, b, c, d: L.nn.functional.nll_loss(a, c, d, reduction="sum"),
                         lambda L, a, b, c, d: L.nn.functional.nll_loss(a, c, d)):
            got = lib_call(ember, *(ember.from_numpy(v) for v in (x, y, t, w))).item()
            want = lib_call(torch, *(torch.from_numpy(v) for v in (x, y, t, w))).item()
            np.testing.assert_equal(got, want)


def test_sequential_runs_are_sequential() -> None:
    """``_run`` adds along axis -2 strictly in order, whichever NumPy call it uses."""
    rng = np.random.default_rng(3)
    for shape in [(7, 1), (16, 8), (3, 16, 32), (2, 40, 3), (100, 5)]:
        x = rng.standard_normal(shape).astype(np.float32) * 10 ** rng.uniform(-3, 3, shape).astype(np.float32)
        want = x[..., 0, :].copy()
        for i in range(1, shape[-2]):
            want = want + x[..., i, :]
        np.testing.assert_array_equal(_run(x), want)
        np.testing.assert_array_equal(_run(np.asfortranarray(x)), want)
