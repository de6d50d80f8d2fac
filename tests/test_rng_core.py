"""Bit-exact comparison of ember._core.random with torch's CPU generator."""

import math
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ember._core import random as R
from ember.distributions._samplers import poisson_array

SEEDS = [0, 1, 42, 2**32 + 5, -1]
SIZES = [1, 5, 15, 16, 17, 31, 100, 1000, 1001]
FLOATS = [
    (np.float16, torch.float16),
    (ml_dtypes.bfloat16, torch.bfloat16),
    (np.float32, torch.float32),
    (np.float64, torch.float64),
]
INTS = [(t, getattr(torch, np.dtype(t).name)) for t in (np.uint8, np.int8, np.int16, np.int32, np.int64)]


def bits(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return a.view({1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def to_np(t: "torch.Tensor") -> np.ndarray:
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


def same(ours: np.ndarray, theirs: "torch.Tensor | np.ndarray") -> bool:
    theirs = to_np(theirs) if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    ours = np.asarray(ours)
    return (
        ours.shape == theirs.shape and ours.dtype == theirs.dtype and np.array_equal(bits(ours), bits(theirs))
    )


def pair(seed: int) -> "tuple[R.Generator, torch.Generator]":
    return R.Generator(seed), torch.Generator().manual_seed(seed)


def same_state(g: R.Generator, tg: "torch.Generator") -> bool:
    return np.array_equal(g.get_state(), tg.get_state().numpy())


# ------------------------------------------------------------------------------------------------ generator


def test_first_words_seed0():
    expected = [0x8C7F0AAC, 0x97C4AA2F, 0xB716A675, 0xD821CCC0, 0x9A4EB343,
                0xDBA252FB, 0x8B7D76C3, 0xD8E57D67, 0x6C74A409, 0x9FA1DED3]  # fmt: skip
    g = R.Generator(0)
    assert g.random_u32(10).tolist() == expected
    g.manual_seed(2**32)  # only the low 32 bits reach the engine
    assert g.random_u32(10).tolist() == expected
    assert g.initial_seed() == 2**32


@pytest.mark.parametrize("seed", SEEDS)
def test_words_and_state_follow_torch(seed):
    g, tg = pair(seed)
    assert g.initial_seed() == tg.initial_seed()
    assert same_state(g, tg)  # freshly seeded: left=1, next=0
    for k in (1, 5, 618, 624, 1000, 3):  # crosses several twists
        g.random_u32(k)
        torch.rand(k, generator=tg)
        assert same_state(g, tg)
    full = torch.empty(7, dtype=torch.int64).random_(-(2**63), None, generator=tg)
    assert np.array_equal(g.random_u64(7).view(np.int64), full.numpy())
    assert same_state(g, tg)


def test_default_seed_and_seeding_rules():
    g = R.Generator()
    assert g.initial_seed() == torch.Generator().initial_seed() == 67280421310721
    assert same_state(g, torch.Generator())
    assert g.manual_seed(-1) is g and g.initial_seed() == 2**64 - 1
    g.manual_seed(-(2**63))
    assert g.initial_seed() == 2**63
    for bad in (2**64, -(2**63) - 1):
        with pytest.raises(ValueError, match="Overflow when unpacking long long"):
            g.manual_seed(bad)
    for bad in (1.5, True):
        with pytest.raises(RuntimeError, match="manual_seed expected a long"):
            g.manual_seed(bad)
    s = g.seed()
    assert 0 <= s < 2**64 and g.initial_seed() == s
    assert isinstance(R.default_generator(), R.Generator) and R.default_generator() is R.default_generator()


def test_set_state_errors():
    g = R.Generator()
    msg = "Expected a CPUGeneratorImplState of size 5056 but found the input RNG state size to be 10"
    with pytest.raises(RuntimeError, match=msg):
        g.set_state(np.zeros(10, np.uint8))
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        g.set_state(np.zeros(5056, np.int8))
    with pytest.raises(RuntimeError, match="Invalid mt19937 state"):
        g.set_state(np.zeros(5056, np.uint8))


# ------------------------------------------------------------------------------------------------ uniform


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("np_dt,t_dt", FLOATS)
def test_uniform(seed, np_dt, t_dt):
    g, tg = pair(seed)
    for n in SIZES:
        # float32-like dtypes: all but the fourth range take the one-rounding path (exact float64 sum; the
        # first two a product alone, the last into subnormals), the fourth the emulated fused multiply-add
        for lo, hi in ((0.0, 1.0), (0.0, 7.3), (-3.0, 7.3), (1e-30, 1.0), (-(2.0**-120), 2.0**-121)):
            assert same(
                R.uniform(g, n, np_dt, lo, hi), torch.empty(n, dtype=t_dt).uniform_(lo, hi, generator=tg)
            )
        assert same_state(g, tg)


def test_rewind_after_drawing_ahead():
    """The engine is put just after the first ``used`` words drawn ahead (across 624-word blocks, from a fresh
    seed or mid-block), as if only those had been drawn."""
    rng = np.random.default_rng(0)
    for _ in range(40):
        g, ref = R.Generator(int(rng.integers(0, 2**32))), R.Generator(0)
        g._words(int(rng.integers(0, 1500)))
        ref.set_state(g.get_state())
        mark = g._mark()
        words = g._words(int(rng.integers(0, 2500)))
        used = int(rng.integers(0, words.size + 1))
        g._rewind(mark, words, used)
        ref._words(used)
        assert (g.get_state() == ref.get_state()).all() and (g._words(700) == ref._words(700)).all()


def test_uniform_spans_chunks():
    g, tg = pair(8)
    n = 2 * R._FILL_CHUNK + 5
    for np_dt, t_dt, lo, hi in ((np.float32, torch.float32, -0.5, 0.5), (np.float32, torch.float32, -3.0, 7.3),
                                (np.float16, torch.float16, 0.0, 1.0), (np.float64, torch.float64, -1.0, 2.0)):
        assert same(R.uniform(g, n, np_dt, lo, hi), torch.empty(n, dtype=t_dt).uniform_(lo, hi, generator=tg))
    assert same_state(g, tg)


def test_uniform_affine_exactness_test():
    """Where the test promises an exact float64 ``k * step + offset`` for all 24-bit k, the k that set the
    extreme bits are exact (it may be conservative, never wrong); both answers occur."""
    from fractions import Fraction as Fr

    for lo, hi in ((0.0, 1.0), (-3.0, 7.3), (1e-30, 1.0), (-(2.0**-120), 2.0**-121), (5.0, 5.0000001), (0.1, 1e10)):
        step, offset = float(np.float32(hi) - np.float32(lo)) * 2.0**-24, float(np.float32(lo))
        ks = [0, 1, 2, 3, (1 << 24) - 1, (1 << 24) - 3, 12345, 1 << 23, (1 << 23) + 1]
        exact = all(Fr(k * step + offset) == Fr(k) * Fr(step) + Fr(offset) for k in ks)
        assert exact or not R._sum_is_exact(step, 24, offset)
    assert R._sum_is_exact(2.0**-24, 24, 0.0) and not R._sum_is_exact(2.0**-24, 24, 1e-30)


@pytest.mark.parametrize(
    "np_dt,t_dt,lo",
    [(np.float32, torch.float32, 1e6), (np.float64, torch.float64, 1e15), (np.float16, torch.float16, 1e3),
     (ml_dtypes.bfloat16, torch.bfloat16, 0.0), (np.float16, torch.float16, 0.0)],
)  # fmt: skip
def test_uniform_upper_bound_maps_to_lower(np_dt, t_dt, lo):
    g, tg = pair(3)
    ours = R.uniform(g, 20000, np_dt, lo, lo + 1)
    assert same(ours, torch.empty(20000, dtype=t_dt).uniform_(lo, lo + 1, generator=tg))
    assert (ours < np_dt(lo + 1)).all() and (ours == np_dt(lo)).sum() > 1  # rounded-up draws became `lo`


def test_uniform_errors():
    g = R.Generator()
    with pytest.raises(
        RuntimeError, match=r"uniform_ expects to return a \[from, to\) range, but found from=2 > to=1"
    ):
        R.uniform(g, 3, np.float32, 2, 1)
    with pytest.raises(RuntimeError, match="from is out of bounds for c10::Half"):
        R.uniform(g, 3, np.float16, 1e6, 2e6)
    with pytest.raises(RuntimeError, match="to-from <= std::numeric_limits<Half>::max()"):
        R.uniform(g, 3, np.float16, -6e4, 6e4)


# ------------------------------------------------------------------------------------------------ normal


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("np_dt,t_dt", FLOATS)
def test_normal(seed, np_dt, t_dt):
    g, tg = pair(seed)
    for n in SIZES:
        for mean, std in ((0.0, 1.0), (2.0, 3.0)):
            assert same(
                R.normal(g, n, np_dt, mean, std), torch.empty(n, dtype=t_dt).normal_(mean, std, generator=tg)
            )
        assert same_state(g, tg)


@pytest.mark.parametrize("np_dt,t_dt", FLOATS)
def test_normal_non_contiguous_uses_scalar_path(np_dt, t_dt):
    g, tg = pair(5)
    for n in (7, 40, 333):
        t = torch.empty(n, 2, dtype=t_dt)[:, 0].normal_(-0.3, 1.7, generator=tg)
        assert same(R.normal(g, n, np_dt, -0.3, 1.7, contiguous=False), t)
        assert same_state(g, tg)


def test_normal_reference_values():
    g = R.Generator(0)
    assert R.uniform(g, 5, np.float32).view(np.uint32).tolist() == [
        0x3EFE1558, 0x3F44AA2F, 0x3DB533A8, 0x3E073300, 0x3E9D6686]  # fmt: skip
    g.manual_seed(0)
    assert R.normal(g, 20, np.float32).tolist() == np.array(
        [-1.1258398, -1.1523602, -0.25057858, -0.4338788, 0.59883946, -1.5550951, -0.3413604, 1.8530061,
         0.4680964, -0.15771244, 1.4436601, 0.2660494, 1.3893661, 1.5863342, 0.94629836, -0.84367675,
         0.9318266, 1.2590092, 2.0049806, 0.053736903], np.float32).tolist()  # fmt: skip


def test_normal_cache_interplay():
    """Uses torch's global generator as the brief asks: cached sin half, state bytes after every call."""
    g = R.Generator(0)
    torch.manual_seed(0)
    calls = [
        (lambda: R.uniform(g, 3, np.float32), lambda: torch.rand(3)),
        (lambda: R.normal(g, 1, np.float32), lambda: torch.randn(1)),
        (lambda: R.normal(g, 1, np.float32), lambda: torch.randn(1)),  # the cached value
        (lambda: R.normal(g, 5, np.float64), lambda: torch.randn(5, dtype=torch.float64)),
        (lambda: R.normal(g, 16, np.float32), lambda: torch.randn(16)),  # vector path keeps the cache
        (lambda: R.normal(g, 3, np.float16, 1, 2), lambda: torch.empty(3, dtype=torch.float16).normal_(1, 2)),
        (lambda: R.log_normal(g, 3, np.float32), lambda: torch.empty(3).log_normal_()),
        (lambda: R.normal(g, 2, np.float32), lambda: torch.randn(2)),
    ]  # fmt: skip
    for ours, theirs in calls:
        assert same(ours(), theirs())
        assert np.array_equal(g.get_state(), torch.get_rng_state().numpy())
    g.manual_seed(0)
    torch.manual_seed(0)
    R.uniform(g, 3, np.float32)
    assert R.normal(g, 1, np.float32)[0] == np.float32(0.3643382)
    assert R.normal(g, 1, np.float32)[0] == np.float32(0.13439633)


def test_state_roundtrip_and_continuation():
    g, tg = pair(42)
    torch.randn(5, generator=tg)
    torch.rand(700, generator=tg)  # leaves a cached normal and a mid-block position
    state = tg.get_state().numpy().copy()
    g.set_state(state)
    assert np.array_equal(g.get_state(), state)
    assert g.initial_seed() == 42
    for _ in range(3):
        assert same(R.normal(g, 3, np.float32), torch.randn(3, generator=tg))
        assert same(R.normal(g, 100, np.float64), torch.randn(100, dtype=torch.float64, generator=tg))
        assert same(R.uniform(g, 50, np.float32), torch.rand(50, generator=tg))
        assert same_state(g, tg)
    # the float normal cache is carried through unchanged, and a fresh seed clears both caches
    state[5048:5052] = np.frombuffer(np.float32(1.25).tobytes(), np.uint8)
    state[5052] = 1
    g.set_state(state)
    tg.set_state(torch.from_numpy(state))
    assert np.array_equal(g.get_state(), tg.get_state().numpy())
    g.manual_seed(1)
    tg.manual_seed(1)
    assert same_state(g, tg)


# ------------------------------------------------------------------------------------------------ integers


@pytest.mark.filterwarnings("ignore:.*out of bounds")
@pytest.mark.parametrize("seed", SEEDS)
def test_randint(seed):
    g, tg = pair(seed)
    dtypes = INTS + FLOATS + [(np.bool_, torch.bool), (np.uint16, torch.uint16), (np.uint32, torch.uint32)]
    ranges = [(0, 10), (-5, 3), (0, 2), (0, 2**28 - 1), (0, 2**28), (3, 2**31 - 1), (-(2**40), 2**40),
              (-(2**63), 2**63 - 1), (1, None), (-3, None), (-(2**63), None)]  # fmt: skip
    for np_dt, t_dt in dtypes:
        for lo, hi in ranges:
            try:
                expected = torch.empty(33, dtype=t_dt).random_(lo, hi, generator=tg)
            except RuntimeError as err:
                with pytest.raises(RuntimeError) as ours:
                    R.randint(g, 33, lo, hi, np_dt)
                assert str(ours.value) == str(err)
                continue
            assert same(R.randint(g, 33, lo, hi, np_dt), expected), (np_dt, lo, hi)
    assert same_state(g, tg)


@pytest.mark.parametrize("np_dt,t_dt", INTS + FLOATS + [(np.bool_, torch.bool)])
def test_random_full(np_dt, t_dt):
    g, tg = pair(11)
    for n in (1, 17, 1000):
        assert same(R.random_full(g, n, np_dt), torch.empty(n, dtype=t_dt).random_(generator=tg))
    assert same_state(g, tg)


@pytest.mark.parametrize("seed", SEEDS)
def test_randperm(seed):
    g, tg = pair(seed)
    for n in [0, 1, 2, 3, *SIZES, 20000]:
        for np_dt, t_dt in ((np.int64, torch.int64), (np.int32, torch.int32), (np.float32, torch.float32)):
            assert same(R.randperm(g, n, np_dt), torch.randperm(n, dtype=t_dt, generator=tg))
    assert same(R.randperm(g, 2000, np.float16), torch.randperm(2000, dtype=torch.float16, generator=tg))
    assert same_state(g, tg)


def test_shuffle_resolution_matches_sequential_loops():
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 5, 17, 300, 70000):
        for _ in range(10 if n < 1000 else 1):
            z = rng.integers(0, n - np.arange(n - 1))
            a = list(range(n))
            for i in range(n - 1):
                a[i], a[i + z[i]] = a[i + z[i]], a[i]
            assert R._swap_shuffle(z.astype(np.float64), n).tolist() == a
            z = rng.integers(0, np.arange(1, n + 1))
            b = [0] * n
            for i in range(n):  # torch's inside-out shuffle for n >= 214748364
                b[i] = b[z[i]]
                b[z[i]] = i
            assert R._perm_inside_out(z).tolist() == b


# ------------------------------------------------------------------------------------------------ others


@pytest.mark.parametrize("np_dt,t_dt", FLOATS + INTS + [(np.bool_, torch.bool)])
def test_bernoulli_scalar(np_dt, t_dt):
    g, tg = pair(2)
    for p in (0.0, 0.37, 1.0):
        assert same(
            R.bernoulli_scalar(g, 101, p, np_dt), torch.empty(101, dtype=t_dt).bernoulli_(p, generator=tg)
        )
    assert same_state(g, tg)


@pytest.mark.parametrize("np_dt,t_dt", FLOATS)
def test_bernoulli_tensor(np_dt, t_dt):
    g, tg = pair(4)
    probs = torch.rand(3, 67, dtype=torch.float64, generator=torch.Generator().manual_seed(9)).to(t_dt)
    probs[0, :5] = 0
    probs[1, :5] = 1
    assert same(R.bernoulli_tensor(g, to_np(probs)).reshape(3, 67), torch.bernoulli(probs, generator=tg))
    out = torch.empty(3, 67, dtype=torch.int32).bernoulli_(probs, generator=tg)
    assert same(R.bernoulli_tensor(g, to_np(probs), np.int32).reshape(3, 67), out)
    assert same_state(g, tg)


def test_dropout_mask():
    g = R.Generator(0)
    p = 0.2806483068094369
    x = torch.ones(1000)
    torch.manual_seed(0)
    expected = torch.nn.functional.dropout(x, p)
    keep = R.bernoulli_scalar(g, 1000, 1 - p, np.float32)
    scale = np.float32(1) / np.float32(1 - p)
    assert same(keep * scale, expected)


@pytest.mark.parametrize("np_dt,t_dt", FLOATS)
def test_continuous_distributions(np_dt, t_dt):
    g, tg = pair(6)
    n = 999
    assert same(R.exponential(g, n, np_dt, 1.7), torch.empty(n, dtype=t_dt).exponential_(1.7, generator=tg))
    assert same(R.cauchy(g, n, np_dt, 0.3, 2.1), torch.empty(n, dtype=t_dt).cauchy_(0.3, 2.1, generator=tg))
    assert same(R.geometric(g, n, np_dt, 0.3), torch.empty(n, dtype=t_dt).geometric_(0.3, generator=tg))
    for k in (1, 4, 1000):  # odd/even counts exercise the shared normal cache
        ln = torch.empty(k, dtype=t_dt).log_normal_(0.3, 0.7, generator=tg)
        assert same(R.log_normal(g, k, np_dt, 0.3, 0.7), ln)
    assert same_state(g, tg)


@pytest.mark.parametrize("np_dt,t_dt", INTS)
def test_geometric_integer(np_dt, t_dt):
    g, tg = pair(8)
    assert same(R.geometric(g, 300, np_dt, 0.2), torch.empty(300, dtype=t_dt).geometric_(0.2, generator=tg))


def test_distribution_errors():
    g = R.Generator()
    with pytest.raises(RuntimeError, match=r"bernoulli_ expects p to be in \[0, 1\], but got p=1.5"):
        R.bernoulli_scalar(g, 3, 1.5, np.float32)
    with pytest.raises(RuntimeError, match="exponential_ expects lambda > 0.0, but found lambda=-1"):
        R.exponential(g, 3, np.float32, -1)
    with pytest.raises(RuntimeError, match=r"geometric_ expects p to be in \(0, 1\), but got p=1"):
        R.geometric(g, 3, np.float32, 1.0)
    with pytest.raises(RuntimeError, match="cauchy_ expects sigma > 0.0, but found sigma=-1"):
        R.cauchy(g, 3, np.float32, 0, -1)
    with pytest.raises(RuntimeError, match="log_normal_ expects std > 0.0, but found std=-1"):
        R.log_normal(g, 3, np.float32, 0, -1)
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0, but found std -1"):
        R.normal(g, 3, np.float32, 0, -1)
    with pytest.raises(RuntimeError, match="invalid Poisson rate, expected rate to be non-negative"):
        poisson_array(g, np.array([1.0, -1.0]))
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        R.multinomial(g, np.ones((1, 2)), 3, False)


@pytest.mark.parametrize("np_dt,t_dt", FLOATS)
def test_multinomial(np_dt, t_dt):
    g, tg = pair(12)
    probs = torch.rand(7, 50, dtype=t_dt, generator=torch.Generator().manual_seed(1))
    probs[:, ::5] = 0
    # half/bfloat16 ratios tie often; torch's topk orders ties arbitrarily, so k stays small there
    big = 40 if np_dt in (np.float32, np.float64) else 5
    for k, replacement in ((1, False), (1, True), (5, False), (big, False), (40, True), (3, True)):
        expected = torch.multinomial(probs, k, replacement, generator=tg)
        assert same(R.multinomial(g, to_np(probs), k, replacement), expected)
    assert same_state(g, tg)


@pytest.mark.parametrize("np_dt,t_dt", FLOATS)
def test_poisson(np_dt, t_dt):
    g, tg = pair(13)
    rates = torch.rand(2000, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 40
    rates[::7] = 0
    rates = rates.to(t_dt)
    assert same(poisson_array(g, to_np(rates)), torch.poisson(rates, generator=tg))
    assert same_state(g, tg)


# ------------------------------------------------------------------------------------------------ arithmetic


def test_fma_emulation_is_correctly_rounded():
    rng = np.random.default_rng(3)
    n = 400
    x, y = rng.standard_normal(n), rng.standard_normal(n)
    cases = [
        (x, y, -x * y),  # cancellation
        (x, y, -x * y * (1 + 2**-50)),
        (x * 1e300, y * 1e10, x),  # overflow
        (x * 1e-160, y * 1e-160, x * 1e-300),  # underflow
        (x * 2.0 ** rng.integers(-60, 60, n), y, rng.standard_normal(n)),
    ]
    with np.errstate(all="ignore"):
        for a, b, c in cases:
            ours = R._fma64(a, b, c)
            ref = [
                _exact(Fraction(p) * Fraction(q) + Fraction(r), p * q + r)
                for p, q, r in zip(a, b, c, strict=True)
            ]
            assert np.array_equal(ours.view(np.int64), np.array(ref).view(np.int64))
    a, b = x.astype(np.float32), y.astype(np.float32)
    c = (-(a.astype(np.float64) * b) * (1 + rng.standard_normal(n) * 1e-7)).astype(np.float32)
    ours = R._fma32(a, b, c)
    ref = [
        _round_f32(Fraction(float(p)) * Fraction(float(q)) + Fraction(float(r)))
        for p, q, r in zip(a, b, c, strict=True)
    ]
    assert np.array_equal(ours.view(np.uint32), np.array(ref, np.float32).view(np.uint32))
    a[:3], b[:3] = (-0.0, 1.5, 2.0**-80), (3.0, -0.0, 2.0**-80)   # signed zeros, and a float32-subnormal product
    ours = R._fma32(a, b, 0.0)
    ref = [_round_f32(Fraction(float(p)) * Fraction(float(q))) for p, q in zip(a, b, strict=True)]
    assert np.array_equal(ours.view(np.uint32), np.array(ref, np.float32).view(np.uint32))   # +0.0: -0 + 0 = +0


def test_vectorised_log_equals_libm():
    """The double-double ``log`` (used where NumPy's ``log`` is not glibc's, e.g. AVX512) returns libm's bits,
    including near 1 (cancellation), at powers of two and at the edges it hands to libm one by one."""
    rng = np.random.default_rng(5)
    x = np.concatenate([
        rng.random(4000), 1 - rng.random(2000) * 2.0**-30, 1 + rng.random(2000) * 2.0**-30,
        np.exp(rng.uniform(-744, 709, 2000)), 1 - np.arange(1, 500) * 2.0**-53, 2.0 ** np.arange(-1074, 1024),
        [0.0, 5e-324, np.inf, np.nan, 1.0, np.nextafter(1, 0), np.nextafter(1, 2), 1.7976931348623157e308],
    ])
    ours = R._log_libm(R._log0, x)
    ref = np.array([R._log0(v) for v in x.tolist()])
    assert np.array_equal(ours.view(np.int64), ref.view(np.int64))


# uniforms (k / 2**24) whose log or sincos evaluation sums onto a float32 midpoint in float64 (found by trying
# all 2**24 with the check of scripts/check_normal_transform.py, recording such sums)
MIDPOINT_LOG_K = [5, 12, 96, 4608, 10240, 113973, 139264, 393216, 16777194, 16777205, 16777213]
MIDPOINT_SINCOS_K = [8388607, 11393848, 11393849, 13771975, 16777213, 16777214]


def test_normal_fast_transform_equals_the_exact_emulation():
    """The float32 Box-Muller rounds each polynomial fused multiply-add once from float64: bit-identical to
    the fully emulated transform (all 2**24 inputs: scripts/check_normal_transform.py; here the inputs that
    meet a midpoint and a random sample)."""
    rng = np.random.default_rng(3)
    k1 = np.concatenate([MIDPOINT_LOG_K * 8, rng.integers(0, 1 << 24, 40000 - 8 * len(MIDPOINT_LOG_K))])
    k2 = np.concatenate([MIDPOINT_SINCOS_K * 8, rng.integers(0, 1 << 24, 40000 - 8 * len(MIDPOINT_SINCOS_K))])
    u = np.empty((5000, 16), np.float32)
    u[:, :8] = (rng.permutation(k1).astype(np.float32) * np.float32(2.0**-24)).reshape(-1, 8)
    u[:, 8:] = (k2.astype(np.float32) * np.float32(2.0**-24)).reshape(-1, 8)
    for mean, std in ((0.0, 1.0), (0.5, 0.01), (-2.0, 3.0)):
        fast = R._box_muller_f32(u, np.float32(mean), np.float32(std))
        exact = R._box_muller_pairs(u[:, :8].ravel(), u[:, 8:].ravel(), float(np.float32(mean)),
                                    float(np.float32(std)))
        assert np.array_equal(fast[:, :8].ravel().view(np.uint32), exact[0].view(np.uint32))
        assert np.array_equal(fast[:, 8:].ravel().view(np.uint32), exact[1].view(np.uint32))


def _exact(v: Fraction, fallback: float) -> float:
    if v == 0:
        return fallback
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def _round_f32(v: Fraction) -> np.float32:
    f = np.float32(float(v))
    cands = [np.nextafter(f, np.float32(-np.inf)), f, np.nextafter(f, np.float32(np.inf))]
    return min(cands, key=lambda c: (abs(Fraction(float(c)) - v), int(np.array(c).view(np.uint32)) & 1))
