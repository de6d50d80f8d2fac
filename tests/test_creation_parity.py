"""Factories and conversions against torch: arange/linspace/logspace values bit for bit, their argument checks,
checked scalar conversions, and the sampling kernels' dtype refusals."""

import random

import numpy as np
import pytest
import torch

import ember


def _outcome(fn):
    try:
        r = fn()
    except Exception as e:   # noqa: BLE001 - the error itself is compared
        return type(e).__name__, str(e).split("\n")[0]
    if isinstance(r, (torch.Tensor, ember.Tensor)):
        return str(r.dtype)[6:], tuple(r.shape), r.float().tolist() if "bfloat16" in str(r.dtype) else r.tolist()
    return r


def _same(call) -> None:
    assert repr(_outcome(lambda: call(ember))) == repr(_outcome(lambda: call(torch)))   # (repr: NaN equals NaN)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_arange_values_are_torchs_bits(dtype: str, threads: int) -> None:
    """Pairs of 256-bit vectors from each thread's part, fused multiply-adds, scalar tails (also past the
    32768-element grain, where two threads split the range)."""
    rng = random.Random(dtype)
    old = torch.get_num_threads(), ember.get_num_threads()
    torch.set_num_threads(threads)
    ember.set_num_threads(threads)
    try:
        for _ in range(12):
            start = rng.choice([0, 1, -3, 2.5, 0.1, 1 / 3, -7.7, 100.3])
            step = rng.choice([0.1, 0.3, -0.3, 1 / 3, 0.7, 2.5, -0.1, 1e-3])
            n = rng.choice([rng.randint(1, 100), rng.randint(33000, 70000)])
            want = torch.arange(start, start + step * n, step, dtype=getattr(torch, dtype)).float()
            got = ember.arange(start, start + step * n, step, dtype=getattr(ember, dtype)).float()
            assert torch.equal(torch.from_numpy(got.numpy()), want), (start, step, n)
    finally:
        torch.set_num_threads(old[0])
        ember.set_num_threads(old[1])


@pytest.mark.parametrize("args", [(1, 5, 0.1), (0.1, 2.5, 0.1), (-3, 0, 0.5), (0.5, 3, 0.7), (1.5, 3, 1),
                                  (0.1, 1.9, 1), (3, 0.5, -1), (0, 5, 1.5), (0.9, -0.2, -0.5), (0, 5, 0),
                                  (0, 5, -1.5), (0, 1e19, 1e18), (0.0, 3e9, 1e9)])
@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8"])
def test_arange_integer_dtypes_truncate_start_and_step(args: tuple, dtype: str) -> None:
    _same(lambda L: L.arange(*args, dtype=getattr(L, dtype)))


@pytest.mark.parametrize("call", [
    lambda L: L.arange(2.5, 2.5, 0.5), lambda L: L.arange(-3, 0, 0, dtype=L.complex64),
    lambda L: L.arange(0, 3, -1, dtype=L.complex128), lambda L: L.arange(True, 5, 0, dtype=L.bool),
    lambda L: L.arange(0, 1, 0.1), lambda L: L.arange(1, 0, -0.3, dtype=L.float64),
])
def test_arange_edges(call) -> None:
    _same(call)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int8", "complex128", "complex64", "bfloat16"])
@pytest.mark.parametrize("args", [(0, 3, 7), (2.5, 5, 5), (1, 2.5, 2), (-3, 0, 7), (2.5, 3, 7), (1, 5, 101),
                                  (100, 2.5, 1), (0, 1, 3, -2.0)])
def test_logspace_as_torchs_kernel(args: tuple, dtype: str) -> None:
    want = _outcome(lambda: torch.logspace(*args, dtype=getattr(torch, dtype)))
    got = _outcome(lambda: ember.logspace(*args, dtype=getattr(ember, dtype)))
    if "complex" in dtype and len(want) == 3:   # complex powers: libm's cexp/clog, within an ulp or two
        assert want[:2] == got[:2]
        np.testing.assert_allclose(np.array(got[2]), np.array(want[2]), rtol=1e-6, atol=1e-6, equal_nan=True)
    else:
        assert repr(got) == repr(want)


@pytest.mark.parametrize("call", [
    lambda L: L.linspace(1 + 1j, 5, 5, dtype=L.float64), lambda L: L.logspace(2, 1j, 3, dtype=L.int32),
    lambda L: L.linspace(1 + 1j, 5, 3), lambda L: L.linspace(2.5, -1, 1, dtype=L.bool),
    lambda L: L.logspace(2.5, -1, 1, dtype=L.bool), lambda L: L.linspace(-3, 1000, 0, dtype=L.bool),
    lambda L: L.linspace(-3, 1000, 1, dtype=L.int8), lambda L: L.linspace(1000, 0, 1, dtype=L.int8),
    lambda L: L.logspace(3, -1, 1, dtype=L.int8), lambda L: L.logspace(40, 3, 1, dtype=L.float32),
    lambda L: L.logspace(5, 3, 1, dtype=L.float16), lambda L: L.logspace(100, 1000, 0, dtype=L.int8),
    lambda L: L.logspace(100, 2.5, 1, dtype=L.complex128), lambda L: L.logspace(100, 2.5, 1, dtype=L.complex64),
])
def test_space_argument_checks(call) -> None:
    _same(call)


@pytest.mark.parametrize("shape", [(0,), (1,), (), (2,)])
@pytest.mark.parametrize(("value", "dtype"), [(70000.0, "float16"), (1e300, "bfloat16"), (1e300, "complex64"),
                                              (1 + 2j, "float64"), (1e300, "float32")])
def test_full_checks_the_value_as_torch(shape: tuple, value, dtype: str) -> None:
    _same(lambda L: L.full(shape, value, dtype=getattr(L, dtype)))


@pytest.mark.parametrize("call", [
    lambda L: float(L.tensor(1 + 2j)), lambda L: int(L.tensor(3 + 2j)), lambda L: float(L.tensor(3 + 0j)),
    lambda L: int(L.tensor(complex(float("inf"), 0))), lambda L: int(L.tensor(3e38).to(L.complex64)),
    lambda L: int(L.tensor(2 ** 63 - 1).to(L.complex128)),
    lambda L: L.tensor([2 ** 63 - 1, 0.1], dtype=L.int64), lambda L: L.tensor([2 ** 53 + 1, 1.5], dtype=L.int64),
    lambda L: L.tensor(3e38, dtype=L.uint8), lambda L: L.tensor([1 + 2j], dtype=L.float64),
])
def test_checked_conversions(call) -> None:
    _same(call)


@pytest.mark.parametrize("call", [
    lambda L: L.randint(5, (2,), dtype=L.complex64), lambda L: L.randint_like(L.zeros(2), 5, dtype=L.complex128),
    lambda L: L.zeros(2, dtype=L.complex64).random_(0, 5), lambda L: L.zeros(2, dtype=L.complex64).random_(),
    lambda L: L.zeros(0, dtype=L.complex64).random_(), lambda L: L.randperm(5, dtype=L.complex64),
    lambda L: L.zeros(2, dtype=L.complex64).bernoulli_(0.5),
    lambda L: L.zeros(2, dtype=L.complex64).bernoulli_(L.tensor([0.5, 0.5])),
    lambda L: L.zeros(2, dtype=L.complex64).geometric_(0.5),
])
def test_samplers_refuse_complex_as_torch(call) -> None:
    _same(call)


@pytest.mark.parametrize("call", [
    "L.multinomial(L.empty(0), 1, True)", "L.multinomial(L.empty(0), 2, True)", "L.multinomial(L.empty(0), 0, True)",
    "L.multinomial(L.empty(0), 1)", "L.multinomial(L.empty(2, 0), 1, True)", "L.multinomial(L.empty(0, 3), 2)",
    "L.multinomial(L.zeros(3), 1, True)", "L.multinomial(L.zeros(3), 2, True)",
    "L.multinomial(L.tensor([1., float('nan')]), 2, True)", "L.multinomial(L.tensor([1., -1]), 1)",
    "L.multinomial(L.tensor([1., float('inf')]), 2, True)", "L.multinomial(L.tensor([0., -1.]), 2, True)",
    "L.multinomial(L.tensor([1, 2]), 1)", "L.multinomial(L.ones(2, 3), 0)", "L.multinomial(L.ones(()), 1)",
    "L.multinomial(L.tensor([[1., 2.], [0., 0.]]), 2, True)", "L.multinomial(L.tensor([[0., 0.], [1., -1.]]), 2, True)",
    "L.multinomial(L.ones(3), 4)", "L.multinomial(L.ones(3, dtype=L.complex64), 1)",
])
def test_multinomial_checks_in_torchs_order(call: str) -> None:
    _same(lambda L: eval(call, {"L": L}))


@pytest.mark.parametrize("default", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("call", ["L.tensor([1 + 2j]).dtype", "L.tensor(1j).dtype", "L.as_tensor([1, 2j]).dtype",
                                  "L.tensor([True, 1.5, 2j]).dtype"])
def test_complex_data_takes_the_default_dtypes_complex_type(default: str, call: str) -> None:
    def run(L):
        L.set_default_dtype(getattr(L, default))
        try:
            return eval(call, {"L": L})
        finally:
            L.set_default_dtype(L.float32)
    _same(run)
