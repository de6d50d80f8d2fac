"""NumPy random engine reproducing torch 2.13's CPU generator bit for bit.

The generator is torch's 32-bit MT19937 (numpy's ``MT19937`` bit generator produces the same words) plus
torch's cached double normal sample.  The samplers turn raw words into values exactly as torch's CPU
kernels do on x86-64 with AVX2/AVX512 (fused multiply-adds where torch's compiled kernels fuse them,
the AVX2 polynomial ``log``/``sincos`` for the float32 normal vector path, glibc ``libm`` through the
:mod:`math` module for double precision).  Every sampler returns a new flat array of ``n`` elements in the
order torch fills a tensor's storage (memory order), so callers reshape or scatter the result themselves.

Known deviations from torch: Intel MKL builds take an MKL path for ``bernoulli_(float)`` and
``exponential_`` on Intel CPUs (not reproduced here); builds without AVX2 (``ATEN_CPU_CAPABILITY=default``,
ARM) round some float32 normals and affine steps differently; see :func:`poisson` and :func:`multinomial`
for their residual differences.
"""

from __future__ import annotations

import math
import operator
import secrets
from collections.abc import Callable
from fractions import Fraction

import ml_dtypes
import numpy as np
from numpy.typing import DTypeLike

__all__ = [
    "Generator",
    "bernoulli_scalar",
    "bernoulli_tensor",
    "cauchy",
    "default_generator",
    "exponential",
    "geometric",
    "log_normal",
    "multinomial",
    "normal",
    "poisson",
    "randint",
    "random_full",
    "randperm",
    "uniform",
]

DEFAULT_SEED = 67280421310721
STATE_SIZE = 5056
_MT_N = 624

# torch's CPUGeneratorImplState, little-endian (legacy part, then the float normal cache).
_STATE_DTYPE = np.dtype(
    {
        "names": ["seed", "left", "seeded", "next", "key", "normal_y", "normal_valid", "float_y", "float_valid"],
        "formats": ["<u8", "<i4", "<i4", "<u8", ("<u8", _MT_N), "<f8", "<i4", "<f4", "u1"],
        "offsets": [0, 8, 12, 16, 24, 5024, 5040, 5048, 5052],
        "itemsize": STATE_SIZE,
    }
)

_F16 = np.dtype(np.float16)
_BF16 = np.dtype(ml_dtypes.bfloat16)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_FLOATS = (_F16, _BF16, _F32, _F64)
_INTS = tuple(np.dtype(t) for t in (np.uint8, np.int8, np.int16, np.int32, np.int64))
_UINTS = tuple(np.dtype(t) for t in (np.uint16, np.uint32, np.uint64))
_BOOL = np.dtype(np.bool_)
_CHUNK64 = 1 << 14  # elements per chunk of the float64 fma emulation
_MANT_DIGITS = {_F16: 11, _BF16: 8, _F32: 24, _F64: 53}
_TORCH_NAMES = {_F16: "Half", _BF16: "BFloat16", _F32: "Float", _F64: "Double"}
_CPP_NAMES = {_F16: "c10::Half", _BF16: "c10::BFloat16", _F32: "float", _F64: "double"}


class Generator:
    """State of one torch CPU generator: an MT19937 engine plus the cached double normal sample."""

    __slots__ = ("_bg", "_seed", "_next", "_normal", "_float_normal")

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self._bg = np.random.MT19937()
        self.manual_seed(seed)

    def manual_seed(self, seed: int) -> Generator:
        """Seed as ``torch.Generator.manual_seed``: negatives wrap mod 2**64; clears the normal caches."""
        if isinstance(seed, bool) or not hasattr(type(seed), "__index__"):
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        seed = operator.index(seed)
        if not -(2**63) <= seed < 2**64:
            raise ValueError("Overflow when unpacking long long")
        self._seed = seed % 2**64
        self._bg._legacy_seeding(self._seed & 0xFFFFFFFF)
        self._next: int | None = 0  # torch's `next` field while it cannot be derived from numpy's `pos`
        self._normal: float | None = None
        self._float_normal: float | None = None
        return self

    def seed(self) -> int:
        """Reseed from a non-deterministic 64-bit source and return the new seed."""
        seed = secrets.randbits(64)
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        """The seed last set (as an unsigned 64-bit value)."""
        return self._seed

    def get_state(self) -> np.ndarray:
        """torch's 5056-byte state (``torch.get_rng_state()``) as a new uint8 array."""
        mt = self._bg.state["state"]
        pos = int(mt["pos"])
        st = np.zeros((), _STATE_DTYPE)
        st["seed"] = self._seed
        st["left"] = _MT_N + 1 - pos
        st["seeded"] = 1
        st["next"] = pos if self._next is None else self._next
        st["key"] = mt["key"]
        if self._normal is not None:
            st["normal_y"] = self._normal
            st["normal_valid"] = 1
        if self._float_normal is not None:
            st["float_y"] = self._float_normal
            st["float_valid"] = 1
        return st.reshape(1).view(np.uint8).copy()

    def set_state(self, state: np.ndarray) -> None:
        """Restore a state produced by :meth:`get_state` or ``torch.get_rng_state().numpy()``."""
        state = np.asarray(state)
        if state.dtype != np.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        if state.size != STATE_SIZE:
            raise RuntimeError(
                f"Expected a CPUGeneratorImplState of size {STATE_SIZE} "
                f"but found the input RNG state size to be {state.size}"
            )
        st = np.ascontiguousarray(state).reshape(-1).view(_STATE_DTYPE)[0]
        left, nxt = int(st["left"]), int(st["next"]) & 0xFFFFFFFF
        if st["seeded"] == 0 or not 0 < left <= _MT_N or nxt > _MT_N:
            raise RuntimeError("Invalid mt19937 state")
        if left != 1 and nxt != _MT_N + 1 - left:
            # torch would read state[next ...] regardless of `left`; numpy's engine cannot represent that.
            raise RuntimeError("unsupported mt19937 state: 'next' and 'left' disagree")
        key = (st["key"] & 0xFFFFFFFF).astype(np.uint32)
        self._bg.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": _MT_N + 1 - left}}
        self._seed = int(st["seed"])
        self._next = nxt if left == 1 else None
        self._normal = float(st["normal_y"]) if st["normal_valid"] else None
        self._float_normal = float(st["float_y"]) if st["float_valid"] else None

    def random_u32(self, n: int) -> np.ndarray:
        """The next ``n`` raw 32-bit words (torch's ``random()``), as uint32."""
        if n <= 0:
            return np.empty(0, np.uint32)
        self._next = None
        return self._bg.random_raw(n).astype(np.uint32)

    def random_u64(self, n: int) -> np.ndarray:
        """The next ``n`` values of torch's ``random64()`` (two words each, the first is the high half)."""
        if n <= 0:
            return np.empty(0, np.uint64)
        self._next = None
        w = self._bg.random_raw(2 * n)
        return (w[0::2] << np.uint64(32)) | w[1::2]

    def _words(self, n: int) -> np.ndarray:
        """The next ``n`` raw words as uint64 (no conversion copy)."""
        if n <= 0:
            return np.empty(0, np.uint64)
        self._next = None
        return self._bg.random_raw(n)


_default: Generator | None = None


def default_generator() -> Generator:
    """The process-wide default generator, seeded non-deterministically on first use (as torch at import)."""
    global _default
    if _default is None:
        _default = Generator(secrets.randbits(64))
    return _default


# ---------------------------------------------------------------------------------------------------------
# exact arithmetic helpers
# ---------------------------------------------------------------------------------------------------------


def _libm(fn: Callable[[float], float], x: np.ndarray) -> np.ndarray:
    """Apply a :mod:`math` (glibc) function elementwise to a float64 array."""
    return np.fromiter(map(fn, x.tolist()), np.float64, count=x.size)


def _fma64(a: np.ndarray, b: np.ndarray | float, c: np.ndarray | float) -> np.ndarray:
    """Correctly rounded float64 ``a*b + c`` (what a fused multiply-add returns), elementwise.

    Dekker's exact product plus Boldo and Melquiond's round-to-odd sum, in cache-sized chunks; the rare
    elements where that can fail (non-finite, overflow, products near underflow) are redone exactly.
    """
    a = np.asarray(a, np.float64)
    if isinstance(b, float) and b in (0.0, 1.0):
        return a * b + c  # the product is exact: one rounding, as fused
    a, b, c = np.broadcast_arrays(a, np.asarray(b, np.float64), np.asarray(c, np.float64))
    a, b, c = a.ravel(), b.ravel(), c.ravel()
    out = np.empty(a.size, np.float64)
    for s in range(0, a.size, _CHUNK64):
        out[s : s + _CHUNK64] = _fma64_chunk(a[s : s + _CHUNK64], b[s : s + _CHUNK64], c[s : s + _CHUNK64])
    return out


def _fma64_chunk(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    p = a * b
    t = a * 134217729.0  # Veltkamp split with 2**27 + 1
    ah = t - (t - a)
    al = a - ah
    t = b * 134217729.0
    bh = t - (t - b)
    bl = b - bh
    pl = ah * bh
    pl -= p
    pl += ah * bl
    pl += al * bh
    pl += al * bl  # p + pl == a*b exactly
    th = c + p
    z = th - c
    tl = th - z
    np.subtract(c, tl, out=tl)
    z = p - z
    tl += z  # th + tl == c + p exactly
    v = tl + pl
    z = v - tl
    err = v - z
    np.subtract(tl, err, out=err)
    err += pl - z  # v + err == tl + pl exactly
    bits = v.view(np.int64)
    odd = (err != 0) & ((bits & 1) == 0)
    if odd.any():  # round v to odd so that the final addition is the only rounding
        step = np.where((err > 0) == (v > 0), 1, -1)
        np.add(bits, step, out=bits, where=odd)
    r = th + v
    np.copyto(r, th, where=(th == 0) & (r == 0))  # an exact zero takes the sign of c + a*b
    bad = ~np.isfinite(r) | ((np.abs(p) < 2.0**-900) & (a != 0) & (b != 0))
    for i in np.flatnonzero(bad):
        r[i] = _fma_exact(float(a[i]), float(b[i]), float(c[i]))
    return r


def _fma_exact(a: float, b: float, c: float) -> float:
    """Scalar correctly rounded fma for the edge cases of :func:`_fma64` (huge, tiny, non-finite)."""
    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)):
        return a * b + c
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    if exact == 0:
        return a * b + c
    try:
        return float(exact)
    except OverflowError:
        return math.inf if exact > 0 else -math.inf


def _fma32(a: np.ndarray, b: np.ndarray | float, c: np.ndarray | float, tiny: bool = True) -> np.ndarray:
    """Correctly rounded float32 ``a*b + c`` for float32 operands (as a fused multiply-add).

    ``tiny=False`` promises that no result lies in the float32 subnormal range (skips that check).
    """
    if isinstance(b, float) and b == 1.0:
        return a + np.float32(c)  # exact product: a single float32 rounding, as fused
    s = np.multiply(a, b, dtype=np.float64)
    s += c
    r = s.astype(np.float32)
    # The float64 product is exact, so only a float64 sum landing exactly on a float32 tie (or in the
    # float32 subnormal range) can be double-rounded; redo those with a round-to-odd sum.
    tie = np.bitwise_and(s.view(np.uint64), np.uint64(0x1FFFFFFF)) == np.uint64(0x10000000)
    if tiny:
        tie |= np.abs(s) < 2.0**-126
    if tie.any():
        idx = np.flatnonzero(tie)
        pa, pb, pc = (np.broadcast_to(np.asarray(v, np.float64), s.shape).ravel()[idx] for v in (a, b, c))
        p = pa * pb
        ss = p + pc
        z = ss - p
        err = (p - (ss - z)) + (pc - z)
        bits = ss.view(np.int64)
        step = np.where((err > 0) == (ss > 0), 1, -1)
        ss = np.where((err != 0) & ((bits & 1) == 0), (bits + step).view(np.float64), ss)
        r.ravel()[idx] = ss.astype(np.float32)
    return r


def _from_f64(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """C++ ``static_cast<scalar_t>(double)``; half and bfloat16 convert through float."""
    if dtype in (_F16, _BF16):
        return x.astype(np.float32).astype(dtype)
    return x.astype(dtype)


def _from_i64(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """C++ ``static_cast<scalar_t>(int64_t)``; half and bfloat16 convert through float."""
    if dtype in (_F16, _BF16):
        return x.astype(np.float32).astype(dtype)
    return x.astype(dtype)


def _float_dtype(dtype: DTypeLike, what: str) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in _FLOATS:
        raise TypeError(f"{what}: unsupported dtype {dt}; expected float16, bfloat16, float32 or float64")
    return dt


def _u24(gen: Generator, n: int) -> np.ndarray:
    """``n`` float32 uniforms in [0, 1) with 24 random bits, one word each."""
    w = gen._words(n) & np.uint64(0xFFFFFF)
    return w.astype(np.float32) * np.float32(2.0**-24)


def _u53(gen: Generator, n: int) -> np.ndarray:
    """``n`` float64 uniforms in [0, 1) with 53 random bits, two words each (``random64()``)."""
    w = gen._words(2 * n)
    hi = (w[0::2] & np.uint64(0x1FFFFF)).astype(np.float64)
    return hi * 2.0**-21 + w[1::2].astype(np.float64) * 2.0**-53


def _fmt(x: float) -> str:
    """A double as C++ ``operator<<`` prints it (``%g``)."""
    return f"{x:g}"


# ---------------------------------------------------------------------------------------------------------
# uniform / integers
# ---------------------------------------------------------------------------------------------------------


def uniform(gen: Generator, n: int, dtype: DTypeLike, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """``uniform_(low, high)``: ``x*(high-low) + low`` fused, in float64 for double, else in float32.

    float32/16/bf16 take one word per element (24-bit ``x``), float64 two (53-bit ``x``); a result that
    rounds to ``high`` in the output dtype is replaced by ``low``.
    """
    dt = _float_dtype(dtype, "uniform")
    low, high = float(low), float(high)
    fmax = float(ml_dtypes.finfo(dt).max)
    for name, v in (("from", low), ("to", high)):
        if not -fmax <= v <= fmax:
            raise RuntimeError(f"{name} is out of bounds for {_CPP_NAMES[dt]}")
    if not low <= high:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={_fmt(low)} > to={_fmt(high)}")
    if high - low > fmax:
        raise RuntimeError(
            f"uniform_ expects to-from <= std::numeric_limits<{_TORCH_NAMES[dt]}>::max(), but found "
            f"to={_fmt(high)} and from={_fmt(low)} which result in to-from to exceed the limit"
        )
    if dt == _F64:
        r = _fma64(_u53(gen, n), high - low, low)
    else:
        lo32, hi32 = np.float32(low), np.float32(high)
        r = _fma32(_u24(gen, n), float(hi32 - lo32), float(lo32))
    out = _from_f64(r, dt) if dt == _F64 else r.astype(dt)
    lo_t, hi_t = _from_f64(np.array([low, high]), dt)
    out[out == hi_t] = lo_t
    return out


def randint(gen: Generator, n: int, low: int, high: int, dtype: DTypeLike = np.int64) -> np.ndarray:
    """``random_(low, high)`` / ``randint``: ``(w % (high-low)) + low`` wrapped to int64, then cast.

    ``w`` is one word when ``high - low < 2**28``, else one ``random64()``.  ``high - low == 2**64`` is the
    full 64-bit range of ``random_(-2**63, None)``.
    """
    dt = np.dtype(dtype)
    if dt not in _FLOATS + _INTS + _UINTS + (_BOOL,):
        raise TypeError(f"randint: unsupported dtype {dt}")
    low, high = operator.index(low), operator.index(high)
    rng = high - low
    if not 0 < rng <= 2**64:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    w = gen.random_u64(n) if rng >= 2**28 else gen._words(n)
    if rng < 2**64:
        w = w % np.uint64(rng)
    v = (w + np.uint64(low % 2**64)).view(np.int64)
    return _from_i64(v, dt)


def random_full(gen: Generator, n: int, dtype: DTypeLike) -> np.ndarray:
    """``random_()`` without bounds: ``[0, max]`` for integers, ``[0, 2**mantissa]`` for floats.

    int64 and float64 use ``random64()``, every other dtype one word; bool takes the word's low bit.
    """
    dt = np.dtype(dtype)
    if dt == _BOOL:
        return (gen._words(n) & np.uint64(1)).astype(np.bool_)
    if dt in _FLOATS:
        mod = 2 ** _MANT_DIGITS[dt] + 1
    elif dt in _INTS:
        mod = int(np.iinfo(dt).max) + 1
    else:
        raise TypeError(f"random_: unsupported dtype {dt}")
    w = gen.random_u64(n) if dt in (_F64, np.dtype(np.int64)) else gen._words(n)
    return _from_i64((w % np.uint64(mod)).astype(np.int64), dt)


# ---------------------------------------------------------------------------------------------------------
# permutations
# ---------------------------------------------------------------------------------------------------------

_RANDPERM_SMALL = 0xFFFFFFFF // 20


def randperm(gen: Generator, n: int, dtype: DTypeLike = np.int64) -> np.ndarray:
    """``randperm(n)``: a forward Fisher-Yates shuffle of ``arange(n)`` driven by ``random() % (n - i)``.

    For ``n >= 214748364`` torch switches to the inside-out shuffle with ``random64() % (i + 1)``.  Both
    sequential shuffles are evaluated without a Python loop (see :func:`_perm_from_swaps`).
    """
    dt = np.dtype(dtype)
    if dt not in _FLOATS + _INTS:
        raise TypeError(f"randperm: unsupported dtype {dt}")
    n = operator.index(n)
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    if dt == _F16 and n > 2049:
        raise RuntimeError("n cannot be greater than 2049 for Half type.")
    if n < _RANDPERM_SMALL:
        i = np.arange(n - 1, dtype=np.int64)
        z = (gen._words(n - 1) % (n - i).astype(np.uint64)).astype(np.int64)
        perm = _perm_from_swaps(i + z, n)
    else:
        i = np.arange(n, dtype=np.uint64)
        perm = _perm_inside_out((gen.random_u64(n) % (i + np.uint64(1))).astype(np.int64))
    return _from_i64(perm, dt)


def _resolve(parent: np.ndarray) -> np.ndarray:
    """Root of every node of a forest given by ``parent`` (roots point to themselves), by pointer jumping."""
    while True:
        nxt = parent[parent]
        if np.array_equal(nxt, parent):
            return parent
        parent = nxt


def _group_pred(targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps sorted by (target, step) and, per sorted entry, whether the previous entry has the same target."""
    order = np.argsort(targets, kind="stable")
    tsorted = targets[order]
    same = np.zeros(order.size, np.bool_)
    same[1:] = tsorted[1:] == tsorted[:-1]
    return order, tsorted, same


def _perm_from_swaps(targets: np.ndarray, n: int) -> np.ndarray:
    """Result of ``a = arange(n); for i: swap(a[i], a[targets[i]])`` with ``targets[i] >= i``.

    After step ``i`` position ``i`` is final and holds what position ``targets[i]`` held just before;
    that is ``i`` unchanged unless an earlier step ``k`` wrote to it, in which case it is whatever position
    ``k`` held before step ``k``.  These "held before" links form a forest resolved by pointer jumping.
    """
    if n <= 1:
        return np.arange(n, dtype=np.int64)
    order, tsorted, same = _group_pred(targets)
    # W[k]: value at position k just before step k (k = n-1: at the end); parent = last earlier step
    # that wrote to position k, i.e. the last step with target k and index < k.
    k = np.arange(n, dtype=np.int64)
    m = np.searchsorted(tsorted * n + order, k * n + k, side="left") - 1
    hit = (m >= 0) & (tsorted[np.maximum(m, 0)] == k)
    w = _resolve(np.where(hit, order[np.maximum(m, 0)], k))
    a = np.empty(n, np.int64)
    prev = np.zeros(order.size, np.int64)
    prev[1:] = order[:-1]
    a[order] = np.where(same, w[prev], tsorted)
    a[n - 1] = w[n - 1]
    return a


def _perm_inside_out(z: np.ndarray) -> np.ndarray:
    """Result of ``for i: a[i] = a[z[i]]; a[z[i]] = i`` with ``z[i] <= i`` (inside-out Fisher-Yates).

    Position ``p`` ends with the last step that targeted it, else with what position ``z[p]`` held before
    step ``p``: the last earlier step with the same target, else (recursively) what ``z[z[p]]`` held.
    """
    n = z.size
    if n == 0:
        return z.copy()
    order, tsorted, same = _group_pred(z)
    prev = np.zeros(n, np.int64)
    prev[1:] = order[:-1]
    held = np.empty(n, np.int64)
    held[order] = np.where(same, prev, -1)
    node = np.arange(n, dtype=np.int64)
    root = _resolve(np.where(held >= 0, node, z))
    value = held[root]
    last = np.ones(n, np.bool_)
    last[:-1] = ~same[1:]
    value[tsorted[last]] = order[last]
    return value


# ---------------------------------------------------------------------------------------------------------
# normal
# ---------------------------------------------------------------------------------------------------------

_LOG_P = [float(np.float32(v)) for v in (
    7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
    -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
)]  # fmt: skip
_LOG_Q1 = np.float32(-2.12194440e-4)
_LOG_Q2 = np.float32(0.693359375)
_SQRTHF = np.float32(0.707106781186547524)
_FOPI = np.float32(1.27323954473516)
_DP = [float(np.float32(v)) for v in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8)]
_COS_C = [float(np.float32(v)) for v in (2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2)]
_SIN_C = [float(np.float32(v)) for v in (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1)]
_TWO_PI_F = np.float32(2.0 * math.pi)
_CHUNK = 1 << 12  # blocks per chunk of the float32 transform (keeps temporaries in cache)


def _log_avx2(x: np.ndarray) -> np.ndarray:
    """``log256_ps`` of avx_mathfun.h as compiled with FMA contraction, for float32 x in (0, 1]."""
    b = np.maximum(x.view(np.uint32), np.uint32(0x00800000))
    e = ((b >> np.uint32(23)).astype(np.int32) - 127).astype(np.float32) + np.float32(1)
    m = ((b & np.uint32(0x807FFFFF)) | np.uint32(0x3F000000)).view(np.float32)
    small = m < _SQRTHF
    np.subtract(e, np.float32(1), out=e, where=small)
    x = m - np.float32(1)
    np.add(x, m, out=x, where=small)
    z = x * x
    y = _fma32(x, _LOG_P[0], _LOG_P[1], tiny=False)
    for p in _LOG_P[2:]:
        y = _fma32(y, x, p, tiny=False)
    y = _fma32(y * x, z, e * _LOG_Q1, tiny=False)
    y -= z * np.float32(0.5)
    return (x + y) + e * _LOG_Q2


def _sincos_avx2(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``sincos256_ps`` of avx_mathfun.h as compiled with FMA contraction, for float32 t >= 0."""
    j = (t * _FOPI).astype(np.int32)
    j = (j + 1) & ~1
    y = j.astype(np.float32)
    x = _fma32(y, _DP[0], t, tiny=False)
    x = _fma32(y, _DP[1], x, tiny=False)
    x = _fma32(y, _DP[2], x, tiny=False)
    z = x * x
    c = _fma32(_fma32(z, _COS_C[0], _COS_C[1], tiny=False), z, _COS_C[2], tiny=False)
    c = _fma32(c * z, z, -(z * np.float32(0.5)), tiny=False)
    c += np.float32(1)
    s = _fma32(_fma32(z, _SIN_C[0], _SIN_C[1], tiny=False), z, _SIN_C[2], tiny=False)
    s = _fma32(s * z, x, x, tiny=False)
    swap = (j & 2) != 0
    sin = np.where(swap, c, s)
    cos = np.where(swap, s, c)
    np.negative(sin, out=sin, where=(j & 4) != 0)
    np.negative(cos, out=cos, where=((j - 2) & 4) == 0)
    return sin, cos


def _box_muller_f32(d: np.ndarray, mean: np.float32, std: np.float32) -> np.ndarray:
    """torch's AVX2 ``NormalFill16<float>`` applied to every row of a (blocks, 16) float32 array."""
    out = np.empty_like(d)
    for s in range(0, d.shape[0], _CHUNK):
        blk = d[s : s + _CHUNK]
        u1 = (np.float32(1) - blk[:, :8]).ravel()
        u2 = blk[:, 8:].ravel()
        radius = np.sqrt(np.float32(-2) * _log_avx2(u1))
        sin, cos = _sincos_avx2(_TWO_PI_F * u2)
        rows = blk.shape[0]
        out[s : s + rows, :8] = _fma32(radius * cos, float(std), float(mean)).reshape(rows, 8)
        out[s : s + rows, 8:] = _fma32(radius * sin, float(std), float(mean)).reshape(rows, 8)
    return out


def _box_muller_f64(d: np.ndarray, mean: float, std: float) -> np.ndarray:
    """torch's generic ``NormalFill16<double>`` (glibc log/cos/sin, fused affine step) on (blocks, 16) rows."""
    u1 = (1.0 - d[:, :8]).ravel()
    theta = (2.0 * math.pi) * d[:, 8:].ravel()
    radius = np.sqrt(-2.0 * _libm(math.log, u1))
    out = np.empty_like(d)
    out[:, :8] = _fma64(radius * _libm(math.cos, theta), std, mean).reshape(-1, 8)
    out[:, 8:] = _fma64(radius * _libm(math.sin, theta), std, mean).reshape(-1, 8)
    return out


def _standard_normal_scalar(gen: Generator, n: int) -> np.ndarray:
    """``n`` draws of torch's scalar ``normal_distribution<double>`` (Box-Muller with the cached sin half)."""
    out = np.empty(n, np.float64)
    start = 0
    if n and gen._normal is not None:
        out[0] = gen._normal
        gen._normal = None
        start = 1
    pairs = (n - start + 1) // 2
    if pairs:
        u = _u53(gen, 2 * pairs)
        radius = np.sqrt(-2.0 * _libm(math.log1p, -u[1::2]))
        theta = (2.0 * math.pi) * u[0::2]
        both = np.empty(2 * pairs, np.float64)
        both[0::2] = radius * _libm(math.cos, theta)
        both[1::2] = radius * _libm(math.sin, theta)
        out[start:] = both[: n - start]
        if (n - start) % 2:
            gen._normal = float(both[-1])
    return out


def normal(
    gen: Generator, n: int, dtype: DTypeLike, mean: float = 0.0, std: float = 1.0, contiguous: bool = True
) -> np.ndarray:
    """``normal_(mean, std)`` / ``randn``.

    ``n < 16`` or ``contiguous=False`` takes torch's scalar path (double Box-Muller sharing the generator's
    cached sample, fused ``z*std + mean`` in double, then a cast).  Otherwise the vector path: blocks of 16
    uniforms transformed 8 pairs at a time, the last partial block redrawn; float32, float16 and bfloat16
    use the float32 AVX2 polynomial kernel, float64 glibc double functions.
    """
    dt = _float_dtype(dtype, "normal")
    mean, std = float(mean), float(std)
    if not std >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_fmt(std)}")
    if n < 16 or not contiguous:
        return _from_f64(_fma64(_standard_normal_scalar(gen, n), std, mean), dt)
    full, tail = divmod(n, 16)
    if dt == _F64:
        u = _u53(gen, n + (16 if tail else 0))
        blocks = u[: 16 * full].reshape(full, 16)
        if tail:
            blocks = np.concatenate([blocks, u[n:].reshape(1, 16)])
        flat = _box_muller_f64(blocks, mean, std).ravel()
    else:
        # float32 draws all n uniforms first; half/bfloat16 draw only whole blocks before the redrawn tail.
        u = _u24(gen, (n if dt == _F32 else 16 * full) + (16 if tail else 0))
        blocks = u.reshape(-1, 16) if dt != _F32 or not tail else np.concatenate(
            [u[: 16 * full].reshape(full, 16), u[n:].reshape(1, 16)]
        )
        flat = _box_muller_f32(blocks, np.float32(mean), np.float32(std)).ravel()
    if tail:
        flat = np.concatenate([flat[: n - 16], flat[-16:]])
    return flat.astype(dt, copy=False)
