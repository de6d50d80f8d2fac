"""NumPy random engine reproducing torch 2.13's CPU generator bit for bit.

:class:`Generator` is torch's 32-bit MT19937 (numpy's ``MT19937`` bit generator yields the same words) plus
torch's cached normal sample, with torch's 5056-byte state layout.  The samplers turn raw words into values
as torch's CPU kernels do on x86-64 with AVX2/AVX512: fused multiply-adds where the compiled kernels fuse
them (emulated exactly), the AVX2 polynomial ``log``/``sincos`` for the float32 normal vector path, glibc
``libm`` (through :mod:`math`) for double precision.  Each sampler returns a new flat array of ``n`` values
in the order torch fills a tensor's storage (memory order); dtypes are numpy dtypes, bfloat16 being
``ml_dtypes.bfloat16``.

Not reproduced: the MKL paths that MKL builds take for ``bernoulli_(float)`` and ``exponential_`` on Intel
CPUs, and the non-AVX2 kernels (``ATEN_CPU_CAPABILITY=default``, ARM), which round some float32 normals and
affine steps differently.
"""

from __future__ import annotations

import decimal
import functools
import math
import operator
import secrets
from collections.abc import Callable
from fractions import Fraction

import ml_dtypes
import numpy as np
from numpy.typing import DTypeLike

from .._core.warn import warn

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
    "randint",
    "random_full",
    "randperm",
    "uniform",
]

DEFAULT_SEED = 67280421310721
STATE_SIZE = 5056
_MT_N = 624

# torch's CPUGeneratorImplState, little-endian: (field, format, offset); the legacy normal_x (5016) and
# normal_rho (5032) doubles and all padding stay zero.
_STATE_FIELDS = (
    ("seed", "<u8", 0),
    ("left", "<i4", 8),
    ("seeded", "<i4", 12),
    ("next", "<u8", 16),
    ("key", ("<u8", _MT_N), 24),
    ("normal_y", "<f8", 5024),
    ("normal_valid", "<i4", 5040),
    ("float_y", "<f4", 5048),
    ("float_valid", "u1", 5052),
)
_STATE_DTYPE = np.dtype(
    {
        "names": [f[0] for f in _STATE_FIELDS],
        "formats": [f[1] for f in _STATE_FIELDS],
        "offsets": [f[2] for f in _STATE_FIELDS],
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
Fma = Callable[[np.ndarray, np.ndarray | float, np.ndarray | float], np.ndarray]
_CHUNK64 = 1 << 14  # elements per chunk of the float64 fma emulation
_MANT_DIGITS = {_F16: 11, _BF16: 8, _F32: 24, _F64: 53}
_TORCH_NAMES = {_F16: "Half", _BF16: "BFloat16", _F32: "Float", _F64: "Double", _BOOL: "Bool"}
_TORCH_NAMES.update({np.dtype(f"uint{b}"): f"UInt{b}" for b in (16, 32, 64)})
_CPP_NAMES = {_F16: "c10::Half", _BF16: "c10::BFloat16", _F32: "float", _F64: "double", _BOOL: "bool"}
_CPP_NAMES.update(
    {
        np.dtype(t): name
        for t, name in (
            (np.int8, "signed char"),
            (np.uint8, "unsigned char"),
            (np.int16, "short int"),
            (np.int32, "int"),
            (np.int64, "long int"),
            (np.uint16, "short unsigned int"),
            (np.uint32, "unsigned int"),
            (np.uint64, "long unsigned int"),
        )
    }
)


class Generator:
    """State of one torch CPU generator: an MT19937 engine plus the cached normal samples.

    numpy's ``MT19937`` produces torch's words; its ``pos`` is torch's ``625 - left``.  torch's ``next``
    field only differs from ``pos`` when ``left == 1`` (freshly seeded or restored), so it is kept then.
    """

    __slots__ = ("_bg", "_draw", "_seeder", "_seed", "_next", "_normal", "_float_normal")
    _bg: np.random.MT19937
    _draw: np.random.Generator  # NumPy's generator on the same engine: its full-range uint64 integers are
    # torch's random64() (two words, the first the high half), without the raw words' uint64 array per word
    _seeder: np.random.RandomState  # its legacy seed() is MT19937 init_genrand on the shared engine
    _seed: int
    _next: int | None  # torch's `next` while it cannot be derived from `pos`
    _normal: float | None  # cached double normal sample (the sin half of the last scalar Box-Muller pair)
    _float_normal: float | None  # torch's float cache: never used on CPU, only carried through the state

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self._bg = np.random.MT19937()
        self._draw = np.random.Generator(self._bg)
        self._seeder = np.random.RandomState(self._bg)
        self.manual_seed(seed)

    def manual_seed(self, seed: int) -> Generator:
        """Seed as ``torch.Generator.manual_seed``: negatives wrap mod 2**64; clears the normal caches."""
        if isinstance(seed, bool) or not hasattr(type(seed), "__index__"):
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        seed = operator.index(seed)
        if not -(2**63) <= seed < 2**64:
            raise ValueError("Overflow when unpacking long long")
        self._seed = seed % 2**64
        self._seeder.seed(self._seed & 0xFFFFFFFF)
        self._next = 0
        self._normal = None
        self._float_normal = None
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
        if n < 1024:   # (below this, NumPy's integers() costs more per call than it saves)
            w = self._bg.random_raw(2 * n)
            return (w[0::2] << np.uint64(32)) | w[1::2]
        return self._draw.integers(0, 0xFFFFFFFFFFFFFFFF, n, np.uint64, endpoint=True)

    def _words(self, n: int) -> np.ndarray:
        """The next ``n`` raw words as uint64 (no conversion copy)."""
        if n <= 0:
            return np.empty(0, np.uint64)
        self._next = None
        return self._bg.random_raw(n)

    def _mark(self) -> tuple[dict, int | None]:
        """The engine's position, for :meth:`_rewind` after drawing ahead."""
        return self._bg.state, self._next

    def _rewind(self, mark: tuple[dict, int | None], words: np.ndarray, used: int) -> None:
        """Put the engine just after the first ``used`` of ``words``, the words drawn since ``mark`` (all of them),
        without drawing them again: its 624-word key for that point is the marked one, the current one, or
        recovered from the drawn words (MT19937's output tempering is invertible)."""
        if used == words.size:
            return
        state, nxt = mark
        if used == 0:
            self._bg.state, self._next = state, nxt
            return
        start = int(state["state"]["pos"])   # words are numbered from the marked key's first
        last = start + used - 1   # the last word kept, and its block of 624
        block = last // _MT_N
        if block == 0:
            key = state["state"]["key"]
        elif block == (start + words.size - 1) // _MT_N:   # the current block
            key = self._bg.state["state"]["key"]
        else:
            key = _untemper(words[block * _MT_N - start:(block + 1) * _MT_N - start].astype(np.uint32))
        self._bg.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": last + 1 - block * _MT_N}}
        self._next = None


def _untemper(y: np.ndarray) -> np.ndarray:
    """MT19937's state words from its outputs (the inverse of the tempering, uint32)."""
    y = y ^ (y >> np.uint32(18))
    y ^= (y << np.uint32(15)) & np.uint32(0xEFC60000)
    x = y.copy()
    for _ in range(4):
        x = y ^ ((x << np.uint32(7)) & np.uint32(0x9D2C5680))
    return x ^ (x >> np.uint32(11)) ^ (x >> np.uint32(22))


_DEFAULT = Generator(secrets.randbits(64))


def default_generator() -> Generator:
    """The process-wide default generator, seeded non-deterministically at import (as torch's)."""
    return _DEFAULT


# ---------------------------------------------------------------------------------------------------------
# exact arithmetic helpers
# ---------------------------------------------------------------------------------------------------------


def _libm(fn: Callable[[float], float], x: np.ndarray) -> np.ndarray:
    """Apply a :mod:`math` (glibc) function elementwise to a float64 array: through a vectorised evaluation
    found to return libm's bits (NumPy's ufunc where NumPy calls libm, :func:`_log_libm` for ``log``), else
    one Python call per element."""
    fast = _numpy_libm(fn)
    if fast is not None:
        with np.errstate(all="ignore"):
            return fast(np.asarray(x, np.float64))
    return _per_element(fn, np.asarray(x, np.float64))


def _per_element(fn: Callable[[float], float], x: np.ndarray) -> np.ndarray:
    """``fn`` called on every element of float64 ``x``."""
    return np.fromiter(map(fn, x.ravel().tolist()), np.float64, count=x.size).reshape(x.shape)


@functools.cache
def _numpy_libm(fn: Callable[[float], float]) -> Callable[[np.ndarray], np.ndarray] | None:
    """A vectorised function computing libm's ``fn`` bit for bit on this machine, or None.

    Checked once on 8192 arguments spread over the function's domain (where NumPy has its own SIMD kernel,
    e.g. ``log`` with AVX512F, it differs from glibc on a fraction of a percent of arguments, so a difference
    shows up); ``log`` then falls back to :func:`_log_libm`.  The ``_log0``/``_exp`` wrappers map to
    ``log``/``exp`` (the same values at 0 and on overflow; ``_log0`` only sees non-negative arguments).
    """
    candidates = {math.log: (np.log, 1), math.log1p: (np.log1p, 2), math.sin: (np.sin, 3), math.cos: (np.cos, 3),
                  math.tan: (np.tan, 4), math.exp: (np.exp, 5), _log0: (np.log, 1), _exp: (np.exp, 5)}
    if fn not in candidates:
        return None
    ufunc, domain = candidates[fn]
    r = np.random.Generator(np.random.PCG64(12345)).random(8192)
    x = {1: np.exp(r * -745.0 + (r > 0.5) * 700.0), 2: -r, 3: (r - 0.5) * 200.0, 4: (r - 0.5) * 3.1,
         5: r * 1400.0 - 700.0}[domain]
    x[:1024] = r[:1024] if domain != 2 else -r[:1024] * 1e-3   # the unit interval, where samplers live
    ref = _per_element(getattr(math, ufunc.__name__), x)
    if np.array_equal(ufunc(x), ref):
        return ufunc
    if ufunc is np.log:
        log = functools.partial(_log_libm, fn)
        x[1024:2048] = 1.0 - r[1024:2048] * 2.0**-20   # just below 1, where log cancels most
        if np.array_equal(log(x), _per_element(math.log, x)):
            return log
    return None


def _log_tables() -> tuple[np.ndarray, ...]:
    """Per 8-bit mantissa bin of x = 2**e * m (m in [1, 2)): the scale taking m to m' in [sqrt(1/2), sqrt(2)),
    the exponent it adds, a 20-bit c near 1/m' (1 in the two bins next to m' = 1, so that log(x) near 1 is
    log1p of an exact small r) and -log(c) split into a multiple of 2**-42 and a remainder."""
    i = np.arange(256)
    half = 1.0 + (i + 0.5) / 256 >= math.sqrt(2.0)
    center = (1.0 + (i + 0.5) / 256) / np.where(half, 2.0, 1.0)
    c = np.round(2.0**20 / center) / 2.0**20
    c[[0, 255]] = 1.0
    t = [-decimal.Decimal(v).ln(decimal.Context(prec=40)) for v in c.tolist()]
    t_hi = [round(float(v) * 2.0**42) / 2.0**42 for v in t]
    t_lo = [float(v - decimal.Decimal(h)) for v, h in zip(t, t_hi, strict=True)]
    return np.where(half, 0.5, 1.0), half.astype(np.float64), c, np.array(t_hi), np.array(t_lo)


_LOG_SCALE, _LOG_EXP, _LOG_C, _LOG_T_HI, _LOG_T_LO = _log_tables()
_LN2_HI = round(math.log(2.0) * 2.0**42) / 2.0**42   # e * _LN2_HI is exact for |e| < 2**11
_LN2_LO = float(decimal.Decimal(2).ln(decimal.Context(prec=40)) - decimal.Decimal(_LN2_HI))
_LOG1P_TAIL = [(-1.0) ** (k + 1) / k for k in range(9, 1, -1)]   # log1p(r) - r = r**2 * sum over these (Horner)
_LOG_SAFE = 0.47   # libm's log is within 0.519 ulp (glibc's documented bound; older glibc is exact), so
# it returns the nearest double when log(x) is within 0.481 ulp of it; 0.01 ulp covers this evaluation's error


def _log_libm(fn: Callable[[float], float], x: np.ndarray) -> np.ndarray:
    """libm's ``log`` (``fn``: ``math.log`` or ``_log0``) of float64 ``x`` without a Python call per element.

    log(x) = e log 2 - log(c) + log1p(r) with r = m' c - 1 (an exact double-double: Veltkamp halves of m'
    times a 20-bit c), summed in double-double to about 2**-60 relative.  Where that sum lies within
    0.47 ulp of its nearest double, libm returns that double (see ``_LOG_SAFE``); the few others, and
    arguments that are not positive normal numbers, go through ``fn`` one by one.
    """
    x = np.ascontiguousarray(x, np.float64)
    flat, out = x.ravel(), np.empty(x.size)
    for s in range(0, x.size, _CHUNK64):
        out[s : s + _CHUNK64] = _log_libm_chunk(fn, flat[s : s + _CHUNK64])
    return out.reshape(x.shape)


def _log_libm_chunk(fn: Callable[[float], float], x: np.ndarray) -> np.ndarray:
    """:func:`_log_libm` on a 1-D float64 array."""
    bits = x.view(np.int64)
    i = (bits >> 44) & 255
    e = (bits >> 52).astype(np.float64)
    e += _LOG_EXP.take(i) - 1023.0
    m = ((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000).view(np.float64)
    m *= _LOG_SCALE.take(i)
    c = _LOG_C.take(i)
    m_hi = (m.view(np.int64) & ~0x7FFFFFF).view(np.float64)   # 26 bits: times c exact
    m -= m_hi   # the low part: times c exact
    m *= c
    m_hi *= c
    m_hi -= 1.0   # exact (Sterbenz): m_hi * c lies within 2**-7 of 1
    r = m_hi + m   # r + r_lo == m' c - 1
    r_lo = _two_sum_err(m_hi, m, r)
    q = np.full_like(r, _LOG1P_TAIL[0])
    for k in _LOG1P_TAIL[1:]:
        q *= r
        q += k
    q *= r
    q *= r
    a = e * _LN2_HI
    a += _LOG_T_HI.take(i)   # exact: multiples of 2**-42 below 2**11
    s = a + r
    tail = _two_sum_err(a, r, s)
    tail += r_lo
    tail += q
    e *= _LN2_LO
    e += _LOG_T_LO.take(i)
    tail += e
    res = s + tail
    s -= res
    tail += s   # what res misses of the sum
    redo = np.abs(tail) > _LOG_SAFE * np.spacing(np.abs(res))
    redo |= ~((x >= 2.2250738585072014e-308) & (x <= 1.7976931348623157e308))
    redo |= (res.view(np.int64) & 0x000FFFFFFFFFFFFF) == 0   # a power of two: the ulp below is smaller
    idx = np.flatnonzero(redo)
    if idx.size:
        res[idx] = _per_element(fn, x[idx])
    return res


def _two_sum_err(a: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The rounding error of ``s = a + b`` (Knuth's TwoSum): ``a + b == s + err`` exactly."""
    bb = s - a
    err = s - bb
    np.subtract(a, err, out=err)
    bb = b - bb
    err += bb
    return err


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
    """:func:`_fma64` on equal-length 1-D float64 arrays."""
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
    with np.errstate(over="ignore"):
        r = s.astype(np.float32)
    if isinstance(c, float) and c == 0.0:
        return r  # the float64 sum is the exact product: a single float32 rounding, as fused
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


def _fma32_normal(a: np.ndarray, b: np.ndarray | float, c: np.ndarray | float) -> np.ndarray:
    """:func:`_fma32` for results outside the float32 subnormal range."""
    return _fma32(a, b, c, tiny=False)


def _fma32_rounded(a: np.ndarray, b: np.ndarray | float, c: np.ndarray | float) -> np.ndarray:
    """``a*b + c`` summed in float64 and rounded once to float32: the fused result unless that float64 sum
    was rounded onto a float32 midpoint (rounding twice can differ only there), which callers rule out."""
    s = a.astype(np.float64)
    s *= b
    s += c
    return s.astype(np.float32)


def _sum_is_exact(step: float, bits: int, offset: float) -> bool:
    """Is ``k * step + offset`` exact in float64 for every integer 0 <= k < 2**bits, for float32 ``step``
    and ``offset`` (where ``step`` may carry a power-of-two scale)?  Then rounding it once to float32 gives
    the fused multiply-add's result (subnormals included: a single rounding)."""
    if step == 0.0 or not math.isfinite(step):
        return step == 0.0
    _, e_step = math.frexp(step)
    grain = e_step - 24   # every k * step is a multiple of 2**grain (step has a 24-bit significand)
    top = e_step + bits   # |k * step| < 2**top
    if offset != 0.0:
        _, e_off = math.frexp(offset)
        grain = min(grain, e_off - 24)
        top = max(top, e_off) + 1
    return top - grain <= 53


def _from_f64(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """C++ ``static_cast<scalar_t>(double)``; half and bfloat16 convert through float."""
    with np.errstate(over="ignore", invalid="ignore"):
        if dtype in (_F16, _BF16):
            return x.astype(np.float32).astype(dtype)
        return x.astype(dtype)


def _from_i64(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """C++ ``static_cast<scalar_t>(int64_t)``; half and bfloat16 convert through float."""
    if dtype in (_F16, _BF16):
        return x.astype(np.float32).astype(dtype)
    return x.astype(dtype)


def _float_dtype(dtype: DTypeLike, what: str) -> np.dtype:
    """``dtype`` as a numpy dtype, which must be one of torch's CPU floating types."""
    dt = np.dtype(dtype)
    if dt not in _FLOATS:
        raise TypeError(f"{what}: unsupported dtype {dt}; expected float16, bfloat16, float32 or float64")
    return dt


def _u24(gen: Generator, n: int) -> np.ndarray:
    """``n`` float32 uniforms in [0, 1) with 24 random bits, one word each."""
    u = np.empty(n, np.float32)
    for s in range(0, n, _WORDS_CHUNK):
        part = u[s : s + _WORDS_CHUNK]
        np.copyto(part, _low24(gen, part.size), casting="unsafe")   # exact: 24-bit integers
        part *= np.float32(2.0**-24)
    return u


def _low24(gen: Generator, n: int) -> np.ndarray:
    """The low 24 bits of the next ``n`` words, as int32 (narrowed first: NumPy converts int32 to floats
    several times faster than uint64)."""
    k = gen._words(n).astype(np.uint32)
    k &= np.uint32(0xFFFFFF)
    return k.view(np.int32)


def _u53(gen: Generator, n: int) -> np.ndarray:
    """``n`` float64 uniforms in [0, 1) with 53 random bits, two words each (``random64()``)."""
    u = np.empty(n)
    for s in range(0, n, _WORDS_CHUNK):
        part = u[s : s + _WORDS_CHUNK]
        part[...] = _u53_of(gen._words(2 * part.size))
    return u


_WORDS_CHUNK = 1 << 14   # uniforms drawn at a time: their words and temporaries stay small (fresh large
# arrays cost a page fault per 4 KiB), only the result is allocated whole


def _u53_of(w: np.ndarray) -> np.ndarray:
    """The 53-bit uniforms of raw words ``w`` (pairs, the high word first): the 53-bit integer, scaled."""
    pairs = w.reshape(-1, 2)
    k = pairs[:, 0] & np.uint64(0x1FFFFF)
    k <<= np.uint64(32)
    k |= pairs[:, 1]
    u = k.view(np.int64).astype(np.float64)   # exact below 2**53
    u *= 2.0**-53
    return u


def _fmt(x: float) -> str:
    """A double as C++ ``operator<<`` prints it (``%g``)."""
    return f"{x:g}"


# ---------------------------------------------------------------------------------------------------------
# uniform / integers
# ---------------------------------------------------------------------------------------------------------


def uniform(gen: Generator, n: int, dtype: DTypeLike, low: float = 0.0, high: float = 1.0,
            out: np.ndarray | None = None) -> np.ndarray:
    """``uniform_(low, high)``: ``x*(high-low) + low`` fused, in float64 for double, else in float32.

    float32/16/bf16 take one word per element (24-bit ``x``), float64 two (53-bit ``x``); a result that
    rounds to ``high`` in the output dtype is replaced by ``low``.  Computed in cache-sized chunks, into
    ``out`` (a flat array of ``n`` elements of ``dtype``) when given.
    """
    dt = _float_dtype(dtype, "uniform")
    low, high = float(low), float(high)
    fmax = float(ml_dtypes.finfo(dt).max)
    for name, v in (("from", low), ("to", high)):
        if not -fmax <= v <= fmax:
            raise RuntimeError(f"{name} is out of bounds for {_CPP_NAMES[dt]}")
    if not low <= high:
        raise RuntimeError(
            f"uniform_ expects to return a [from, to) range, but found from={_fmt(low)} > to={_fmt(high)}"
        )
    if high - low > fmax:
        raise RuntimeError(
            f"uniform_ expects to-from <= std::numeric_limits<{_TORCH_NAMES[dt]}>::max(), but found "
            f"to={_fmt(high)} and from={_fmt(low)} which result in to-from to exceed the limit"
        )
    out = np.empty(n, dt) if out is None else out
    lo_t, hi_t = _from_f64(np.array([low, high]), dt)
    lo32, hi32 = np.float32(low), np.float32(high)
    width, offset = float(hi32 - lo32), float(lo32)
    exact = dt != _F64 and _sum_is_exact(width * 2.0**-24, 24, offset)
    # the results grow with the uniform, so none reaches ``high`` unless the largest uniform's does
    top = _fma64(np.array([1 - 2.0**-53]), high - low, low) if dt == _F64 else \
        _fma32(np.array([1 - 2.0**-24], np.float32), width, offset)
    reaches = _from_f64(top.astype(np.float64), dt)[0] == hi_t
    wide = np.empty(min(n, _FILL_CHUNK))
    narrow = np.empty(min(n, _FILL_CHUNK), np.float32) if dt in (_F16, _BF16) else None
    for start in range(0, n, _FILL_CHUNK):
        part = out[start:start + _FILL_CHUNK]
        m = part.size
        if dt == _F64:
            part[...] = _fma64(_u53(gen, m), high - low, low)
        elif exact:   # the float64 sum is exact, so rounding it once to float32 gives the fused result
            dest = part if narrow is None else narrow[:m]
            if offset == 0.0:   # (rand) one multiply in float64 and a single rounding to float32
                np.multiply(_low24(gen, m), width * 2.0**-24, out=dest, casting="unsafe")
            else:
                np.copyto(wide[:m], _low24(gen, m))
                wide[:m] *= width * 2.0**-24
                np.add(wide[:m], offset, out=dest, casting="unsafe")
        else:
            r = _fma32(_u24(gen, m), width, offset)
            (part if narrow is None else narrow[:m])[...] = r
        if narrow is not None:
            part[...] = narrow[:m]
        if reaches:
            np.putmask(part, part == hi_t, lo_t)
    return out


_FILL_CHUNK = 1 << 15   # elements per chunk of the uniform fills (their float64 temporaries stay in cache)


def randint(gen: Generator, n: int, low: int, high: int | None, dtype: DTypeLike = np.int64) -> np.ndarray:
    """``random_(low, high)`` / ``randint``: ``(w % range) + low`` wrapped to int64, then cast.

    ``w`` is one word when ``range < 2**28``, else one ``random64()``.  As torch, float dtypes first move
    ``low``/``high`` onto values the dtype represents; ``high=None`` means "up to the dtype's maximum"
    (``2**mantissa`` for floats), and ``low=-2**63, high=None`` the full 64-bit range.
    """
    dt = np.dtype(dtype)
    if dt not in _FLOATS + _INTS + _UINTS + (_BOOL,):
        raise TypeError(f"randint: unsupported dtype {dt}")
    low = operator.index(low)
    if high is None and low == -(2**63):
        if dt in (_F16, _BOOL) + _UINTS:
            raise NotImplementedError(
                f"\"random_full_64_bits_range_kernel_cpu\" not implemented for '{_TORCH_NAMES[dt]}'"
            )
        if dt not in (np.dtype(np.int64), _F64, _F32, _BF16):
            raise RuntimeError(
                "random_full_64_bits_range_kernel_cpu handles only int64, double, float and bfloat16"
            )
        return _from_i64(gen.random_u64(n).view(np.int64), dt)
    if high is None:
        if dt in _FLOATS:
            high_inc = 2 ** _MANT_DIGITS[dt]
            low = _update_from(low, dt)
            if not low < high_inc:
                raise RuntimeError(
                    "random_ expects 'from' casted to dtype to be less than or equal to 'to_inc' casted to "
                    f"dtype, but got from={low} > to_inc={high_inc}"
                )
        else:
            high_inc = 1 if dt == _BOOL else int(np.iinfo(dt).max)
    else:
        high = operator.index(high)
        if not low < high:
            raise RuntimeError(
                f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
            )
        if dt in _FLOATS:
            low, high = _update_from(low, dt), _update_to(high, dt)
            if not low < high:
                raise RuntimeError(
                    "random_ expects 'from' casted to dtype to be less than 'to' casted to dtype, "
                    f"but got from={low} >= to={high}"
                )
        high_inc = high - 1
    _check_random_bounds(low, high_inc, dt)
    rng = high_inc - low + 1
    w = gen.random_u64(n) if rng >= 2**28 else gen._words(n)
    v = (w % np.uint64(rng) + np.uint64(low % 2**64)).view(np.int64)
    return _from_i64(v, dt)


def _round_trip(v: int, dt: np.dtype) -> int:
    """``static_cast<int64_t>(static_cast<scalar_t>(v))`` on x86 (out of range gives ``INT64_MIN``)."""
    f = float(_from_i64(np.array([v]), dt)[0])
    return int(f) if -(2.0**63) <= f < 2.0**63 else -(2**63)


def _update_from(low: int, dt: np.dtype) -> int:
    """torch's ``update_from``: move ``low`` up onto a value the float dtype represents."""
    rounded = _round_trip(low + 1, dt)
    if rounded < low:
        low = rounded + (1 << (abs(low + 1).bit_length() - 1 - _MANT_DIGITS[dt] + 1))
    return low


def _update_to(high: int, dt: np.dtype) -> int:
    """torch's ``update_to``: move ``high`` down onto a value the float dtype represents."""
    rounded = _round_trip(high - 1, dt)
    if rounded >= high:
        high = rounded - (1 << (abs(high - 1).bit_length() - 1 - _MANT_DIGITS[dt] + 1))
    return high


def _check_random_bounds(low: int, high_inc: int, dt: np.dtype) -> None:
    """torch's ``check_from_to_in_range``."""
    if dt in _FLOATS:
        fmax = float(ml_dtypes.finfo(dt).max)
        lo_b, hi_b = -fmax, fmax
    elif dt == _BOOL:
        lo_b, hi_b = 0, 1
    elif dt == np.dtype(np.uint64):
        lo_b, hi_b = 0, 2**63 - 1
    else:
        lo_b, hi_b = int(np.iinfo(dt).min), int(np.iinfo(dt).max)
    bounds = (("from", low), ("to - 1", high_inc))
    for name, v in bounds:
        if not lo_b <= v <= hi_b:
            raise RuntimeError(f"{name} is out of bounds for {_CPP_NAMES[dt]}")
    if dt in _FLOATS:   # beyond ±2**digits not every integer is representable
        digits = _MANT_DIGITS[dt]
        for name, v in bounds:
            if abs(v) > 2**digits:
                warn(
                    f"{name} is out of bounds [-(2^{digits}), 2^{digits}]. Due to precision limitations "
                    f"{_CPP_NAMES[dt]} can support discrete uniform distribution only within this range. This "
                    "warning will become an error in version 1.7 release, please fix the code in advance",
                    UserWarning, stacklevel=2)


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
        raise NotImplementedError(f"\"random_kernel_cpu\" not implemented for '{_TORCH_NAMES.get(dt, dt.name)}'")
    w = gen.random_u64(n) if dt in (_F64, np.dtype(np.int64)) else gen._words(n)
    return _from_i64((w % np.uint64(mod)).astype(np.int64), dt)


# ---------------------------------------------------------------------------------------------------------
# permutations
# ---------------------------------------------------------------------------------------------------------

_RANDPERM_SMALL = 0xFFFFFFFF // 20
_RANDPERM_MAX_N = {_F16: (2049, "2049"), _F32: (2**24 + 1, "2^24+1"), _F64: (2**53 + 1, "2^53+1")}


def randperm(gen: Generator, n: int, dtype: DTypeLike = np.int64) -> np.ndarray:
    """``randperm(n)``: a forward Fisher-Yates shuffle of ``arange(n)`` driven by ``random() % (n - i)``.

    For ``n >= 214748364`` torch switches to the inside-out shuffle with ``random64() % (i + 1)``.  Both
    sequential shuffles are evaluated without a Python loop (see :func:`_swap_shuffle`).
    """
    dt = np.dtype(dtype)
    n = operator.index(n)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    if dt in _RANDPERM_MAX_N and n > _RANDPERM_MAX_N[dt][0]:   # n - 1 must be exact in a float dtype
        raise RuntimeError(f"n cannot be greater than {_RANDPERM_MAX_N[dt][1]} for {_TORCH_NAMES[dt]} type.")
    if dt.kind in "iu" and n - 1 > np.iinfo(dt).max:
        raise RuntimeError(f"value cannot be converted to type {dt.name}_t without overflow")
    if dt not in _FLOATS + _INTS:
        raise NotImplementedError(f"\"randperm\" not implemented for '{_TORCH_NAMES.get(dt, dt.name)}'")
    if n < _RANDPERM_SMALL:
        # z = w % (n - i) in float64: exact, as w and n - i are below 2**32 (and several times faster than
        # NumPy's integer remainder)
        z = gen._words(n - 1).astype(np.float64)
        r = np.arange(n, 1, -1, dtype=np.float64)
        q = z / r
        np.floor(q, out=q)
        q *= r
        z -= q
        perm = _swap_shuffle(z, n)
    else:
        i = np.arange(n, dtype=np.uint64)
        perm = _perm_inside_out((gen.random_u64(n) % (i + np.uint64(1))).astype(np.int64))
    return _from_i64(perm, dt)


def _swap_shuffle(z: np.ndarray, n: int) -> np.ndarray:
    """Result of ``a = arange(n); for i: swap(a[i], a[i + z[i]])`` for offsets ``0 <= z[i] < n - i`` (integers,
    possibly held as float64).

    Position ``i`` is final after step ``i`` and gets what position ``t = i + z[i]`` held just before: ``t``
    itself unless an earlier step targeted ``t``, else what the latest such step ``k`` brought there, the
    value ``h[k]`` position ``k`` held when its own step came.  ``h[p]`` is ``p`` unless an earlier step
    targeted ``p``, else ``h`` of the latest one: a forest, resolved by pointer jumping.  The steps are
    grouped by target with a stable radix sort (:func:`_stable_order`).
    """
    if n <= 1:
        return np.arange(n, dtype=np.int64)
    m = n - 1
    target = np.asarray(z).astype(np.intp)
    target += np.arange(m, dtype=np.intp)
    step = _stable_order(target, m.bit_length())
    target = target.take(step)
    # same[j]: entry j has the target of entry j - 1; entry j is the last non-self step of its target
    # (self-swaps close their group) unless the next entry continues the group with a non-self step
    same = np.zeros(m + 1, np.bool_)
    np.equal(target[1:], target[:-1], out=same[1:m])
    other = step != target
    cont = np.zeros(m, np.bool_)
    np.logical_and(same[1:m], other[1:], out=cont[:-1])
    last = other & ~cont
    parent = np.arange(n, dtype=np.intp)
    parent[target.compress(last)] = step.compress(last)
    h = _resolve(parent)
    # a[step[j]] = h[step[j - 1]] when entry j continues a group, else target[j]
    value = np.empty(m, np.intp)
    value[0] = target[0]
    h.take(step[:-1], out=value[1:])
    value -= target
    value *= same[:m]
    value += target
    a = np.empty(n, np.int64)
    a[step] = value
    a[m] = h[m]
    return a


def _stable_order(keys: np.ndarray, bits: int) -> np.ndarray:
    """The permutation sorting non-negative integer ``keys`` below ``2**bits`` stably: least significant digit
    first, 16 bits at a time (NumPy's stable argsort of uint16 is a radix sort, several times faster than
    its sort of wider keys)."""
    order = np.argsort(keys.astype(np.uint16), kind="stable")
    for shift in range(16, bits, 16):
        digit = (keys.take(order) >> shift).astype(np.uint16)
        order = order.take(np.argsort(digit, kind="stable"))
    return order


def _resolve(parent: np.ndarray) -> np.ndarray:
    """Root of every node of a forest given by ``parent`` (roots point to themselves), by pointer jumping
    in place on the nodes whose parent is not yet a root."""
    idx = np.flatnonzero(parent != np.arange(parent.size))
    while idx.size:
        up = parent.take(idx)
        upup = parent.take(up)
        parent[idx] = upup
        idx = idx.compress(upup != up)
    return parent


def _group_by_target(targets: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """Steps sorted by (target, step) for targets in [0, n): the steps, their targets, whether the previous
    entry has the same target, that previous entry's step, and whether the entry ends its target's group."""
    m = targets.size
    order = _stable_order(targets, n.bit_length())
    tsorted = targets.take(order)
    same = np.zeros(m, np.bool_)
    same[1:] = tsorted[1:] == tsorted[:-1]
    prev = np.zeros(m, np.int64)
    prev[1:] = order[:-1]
    last = np.ones(m, np.bool_)
    last[:-1] = ~same[1:]
    return order, tsorted, same, prev, last


def _perm_inside_out(z: np.ndarray) -> np.ndarray:
    """Result of ``for i: a[i] = a[z[i]]; a[z[i]] = i`` with ``z[i] <= i`` (inside-out Fisher-Yates).

    Position ``p`` ends with the last step that targeted it, else with what position ``z[p]`` held before
    step ``p``: the last earlier step with the same target, else (recursively) what ``z[z[p]]`` held.
    """
    n = z.size
    if n == 0:
        return z.copy()
    order, tsorted, same, prev, last = _group_by_target(z, n)
    held = np.empty(n, np.int64)
    held[order] = np.where(same, prev, -1)
    node = np.arange(n, dtype=np.int64)
    root = _resolve(np.where(held >= 0, node, z))
    value = held[root]
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


def _log_avx2(x: np.ndarray, fma: Fma = _fma32_normal) -> np.ndarray:
    """``log256_ps`` of avx_mathfun.h as compiled with FMA contraction, for float32 x in [2**-126, 1]
    (normal numbers: the kernel's clamp to the smallest normal is then a no-op, and the sign bit is clear)."""
    b = x.view(np.uint32)
    e = (b >> np.uint32(23)).astype(np.float32)
    e -= np.float32(126)
    m = b & np.uint32(0x007FFFFF)
    m |= np.uint32(0x3F000000)
    m = m.view(np.float32)
    small = m < _SQRTHF   # (masked ufuncs and np.where are ~10x slower than these exact selections)
    e -= small
    x = m - np.float32(1)
    m *= small
    x += m
    x64 = x.astype(np.float64)   # the polynomial's float32 operand, held exactly in float64 for the fmas
    z = x * x
    y = fma(x, _LOG_P[0], _LOG_P[1])
    for p in _LOG_P[2:]:
        y = fma(y, x64, p)
    y *= x
    y = fma(y, z, e * _LOG_Q1)
    z *= np.float32(0.5)
    y -= z
    y += x
    e *= _LOG_Q2
    y += e
    return y


def _sincos_avx2(t: np.ndarray, fma: Fma = _fma32_normal) -> tuple[np.ndarray, np.ndarray]:
    """``sincos256_ps`` of avx_mathfun.h as compiled with FMA contraction, for float32 t in [0, 2 pi]."""
    j = (t * _FOPI).astype(np.int32)
    j += 1
    j &= ~1
    y = j.astype(np.float32)
    # j is 0, 2, 4, 6 or 8 here, so y times the first two (short) parts of pi/4 is exact in float32 and
    # those fmas round once as plain float32 sums
    x = y * np.float32(_DP[0])
    x += t
    x += y * np.float32(_DP[1])
    x = fma(y, _DP[2], x)
    z = x * x
    z64 = z.astype(np.float64)
    c = fma(fma(z, _COS_C[0], _COS_C[1]), z64, _COS_C[2])
    c *= z
    c = fma(c, z64, -(z * np.float32(0.5)))
    c += np.float32(1)
    s = fma(fma(z, _SIN_C[0], _SIN_C[1]), z64, _SIN_C[2])
    s *= z
    s = fma(s, x.astype(np.float64), x)
    # swap where j & 2, then flip the sign bits: sin's where j & 4, cos's where (j - 2) & 4 is clear
    cb, sb = c.view(np.int32), s.view(np.int32)
    diff = cb ^ sb
    diff &= -((j >> 1) & 1)
    sb ^= diff
    cb ^= diff
    sb ^= (j & 4) << 29
    j -= 2
    j &= 4
    j ^= 4
    cb ^= j << 29
    return s, c


def _box_muller_pairs(u1: np.ndarray, u2: np.ndarray, mean: float, std: float,
                      fma: Fma = _fma32_normal) -> tuple[np.ndarray, np.ndarray]:
    """The (cos, sin) normals of float32 uniform pairs: ``radius = sqrt(-2 log(1 - u1))``, angle
    ``2 pi u2``, each then ``* std + mean`` fused."""
    radius = _log_avx2(np.float32(1) - u1, fma)
    radius *= np.float32(-2)
    np.sqrt(radius, out=radius)
    sin, cos = _sincos_avx2(_TWO_PI_F * u2, fma)
    cos *= radius
    sin *= radius
    return _fma32(cos, std, mean), _fma32(sin, std, mean)


def _box_muller_f32(d: np.ndarray, mean: np.float32, std: np.float32) -> np.ndarray:
    """torch's AVX2 ``NormalFill16<float>`` applied to every row of a (blocks, 16) float32 array.

    The fused multiply-adds of the ``log`` and ``sincos`` polynomials are computed as float64 sums rounded
    once to float32 (:func:`_fma32_rounded`): their inputs are the 2**24 possible uniforms, and on every one
    of them that gives the exactly emulated result bit for bit (scripts/check_normal_transform.py tries them
    all).  Chunks of rows run on the intra-op threads.
    """
    from ..ops._parallel import split_rows

    out = np.empty_like(d)

    def run(start: int, stop: int) -> None:
        for s in range(start, stop, _CHUNK):
            rows = slice(s, min(s + _CHUNK, stop))
            pairs = _box_muller_pairs(d[rows, :8].ravel(), d[rows, 8:].ravel(), float(mean), float(std),
                                      _fma32_rounded)
            out[rows, :8], out[rows, 8:] = (v.reshape(-1, 8) for v in pairs)

    split_rows(np, d.shape[0], 16, run)
    return out


def _box_muller_f64(d: np.ndarray, mean: float, std: float) -> np.ndarray:
    """torch's generic ``NormalFill16<double>`` (glibc log/cos/sin, fused affine step) on (blocks, 16), in
    chunks of rows on the intra-op threads."""
    from ..ops._parallel import split_rows

    out = np.empty_like(d)

    def run(start: int, stop: int) -> None:
        for s in range(start, stop, _CHUNK64 // 8):
            rows = slice(s, min(s + _CHUNK64 // 8, stop))
            u1 = 1.0 - d[rows, :8].ravel()
            theta = (2.0 * math.pi) * d[rows, 8:].ravel()
            radius = _libm(math.log, u1)
            radius *= -2.0
            np.sqrt(radius, out=radius)
            out[rows, :8] = _fma64(radius * _libm(math.cos, theta), std, mean).reshape(-1, 8)
            out[rows, 8:] = _fma64(radius * _libm(math.sin, theta), std, mean).reshape(-1, 8)

    split_rows(np, d.shape[0], 16, run)
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
    # float32/float64 fill all n uniforms before redrawing the tail block; half/bfloat16 only whole blocks.
    drawn = n if dt in (_F32, _F64) else 16 * full
    count = drawn + (16 if tail else 0)
    u = _u53(gen, count) if dt == _F64 else _u24(gen, count)
    blocks = full + (1 if tail else 0)
    u[16 * full : 16 * blocks] = u[drawn:]   # the redrawn last block follows the whole ones
    u = u[: 16 * blocks].reshape(-1, 16)
    if dt == _F64:
        flat = _box_muller_f64(u, mean, std).ravel()
    else:
        flat = _box_muller_f32(u, np.float32(mean), np.float32(std)).ravel()
    flat[n - 16 : n] = flat[16 * blocks - 16 :]   # it overwrites the last n - 16 * full values
    return flat[:n].astype(dt, copy=False)


# ---------------------------------------------------------------------------------------------------------
# other distributions
# ---------------------------------------------------------------------------------------------------------


def bernoulli_scalar(gen: Generator, n: int, p: float, dtype: DTypeLike, out: np.ndarray | None = None) -> np.ndarray:
    """``bernoulli_(p)`` with a Python float (also dropout's mask): ``uniform53 < p``, two words each; into
    ``out`` (1-d, ``n`` elements of ``dtype``) when given."""
    dt = np.dtype(dtype)
    if dt not in _FLOATS + _INTS + (_BOOL,):
        raise TypeError(f"bernoulli: unsupported dtype {dt}")
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={_fmt(p)}")
    # uniform53 = k·2⁻⁵³ for the 53-bit integer k = random64() mod 2⁵³, so ``uniform53 < p`` is
    # ``k < ceil(p·2⁵³)``: compared as integers, without forming the doubles, in chunks whose temporaries stay
    # in cache
    bound = np.uint64(math.ceil(p * 2.0**53))
    out = np.empty(n, dt) if out is None else out
    for start in range(0, n, _BERNOULLI_CHUNK):
        k = gen.random_u64(min(_BERNOULLI_CHUNK, n - start))
        k &= np.uint64(0x1FFFFFFFFFFFFF)
        np.less(k, bound, out=out[start:start + k.size], casting="unsafe")
    return out


_BERNOULLI_CHUNK = 1 << 16


def bernoulli_tensor(gen: Generator, probs: np.ndarray, dtype: DTypeLike | None = None,
                     u: np.ndarray | None = None) -> np.ndarray:
    """``torch.bernoulli(probs)``: one draw per element of ``probs`` in C order, 0/1 in ``dtype``.

    float64 ``probs`` compare a 53-bit double uniform (two words), other float dtypes a 24-bit float32
    uniform (one word); ``u``: those uniforms, drawn already.  ``dtype`` defaults to ``probs.dtype``
    (``self.bernoulli_(probs)`` passes self's).  A probability outside [0, 1] (or NaN) raises torch's error
    once the draws for the elements before it are made (torch checks each one as it samples it).
    """
    probs = np.asarray(probs)
    pdt = probs.dtype
    if pdt not in _FLOATS:
        raise TypeError(f'"bernoulli_tensor_cpu_p_" not implemented for dtype {pdt}')
    dt = pdt if dtype is None else np.dtype(dtype)
    flat = probs.ravel()
    p = flat.astype(np.float64 if pdt == _F64 else np.float32)
    valid = (p >= 0) & (p <= 1)
    if not valid.all():
        if u is None:
            (_u53 if pdt == _F64 else _u24)(gen, int(valid.argmin()))
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error message be "
                           "improved?  If so, please report an enhancement request to PyTorch.)")
    if u is None:
        u = _u53(gen, flat.size) if pdt == _F64 else _u24(gen, flat.size)
    return (u < p).astype(dt)


def check_positive(fn: str, name: str, value: float) -> float:
    """``value`` as a float, or torch's error when the parameter ``name`` of sampler ``fn`` is not positive."""
    v = float(value)
    if not v > 0.0:
        raise RuntimeError(f"{fn} expects {name} > 0.0, but found {name}={_fmt(v)}")
    return v


def check_probability(p: float) -> float:
    """``p`` as a float, or geometric_'s error when it is not in (0, 1)."""
    v = float(p)
    if not 0.0 < v < 1.0:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={_fmt(v)}")
    return v


def exponential(gen: Generator, n: int, dtype: DTypeLike, lambd: float = 1.0) -> np.ndarray:
    """``exponential_(lambd)``: ``(-1/lambd) * log1p(-u)`` in double (glibc), then cast; two words each."""
    dt = np.dtype(dtype)
    if dt not in _FLOATS:
        raise RuntimeError(
            "Exponential distribution is a continuous probability distribution. "
            f"dtype must be a floating point but you specified {dt}"
        )
    lambd = check_positive("exponential_", "lambda", lambd)
    return _from_f64((-1.0 / lambd) * _libm(math.log1p, -_u53(gen, n)), dt)


def geometric(gen: Generator, n: int, dtype: DTypeLike, p: float) -> np.ndarray:
    """``geometric_(p)``: ``ceil(log(u) / log1p(-p))`` in double (glibc), then cast; two words each."""
    dt = np.dtype(dtype)
    if dt not in _FLOATS + _INTS:
        raise TypeError(f"geometric: unsupported dtype {dt}")
    p = check_probability(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _from_f64(np.ceil(_libm(_log0, _u53(gen, n)) / math.log1p(-p)), dt)


def _log0(x: float) -> float:
    """glibc ``log`` including ``log(0) == -inf``."""
    return math.log(x) if x > 0.0 else -math.inf


def cauchy(gen: Generator, n: int, dtype: DTypeLike, median: float = 0.0, sigma: float = 1.0) -> np.ndarray:
    """``cauchy_(median, sigma)``: ``median + sigma * tan(pi * (u - 0.5))`` in double (fused), then cast."""
    dt = np.dtype(dtype)
    sigma = check_positive("cauchy_", "sigma", sigma)
    if dt not in _FLOATS:
        raise RuntimeError(
            "Cauchy distribution is a continuous probability distribution. "
            f"dtype must be a floating point but you specified {dt}"
        )
    t = _libm(math.tan, math.pi * (_u53(gen, n) - 0.5))
    return _from_f64(_fma64(t, sigma, float(median)), dt)


def log_normal(gen: Generator, n: int, dtype: DTypeLike, mean: float = 1.0, std: float = 2.0) -> np.ndarray:
    """``log_normal_(mean, std)``: ``exp`` of torch's scalar-path normal (shares the cached sample)."""
    dt = _float_dtype(dtype, "log_normal")
    std = check_positive("log_normal_", "std", std)
    z = _fma64(_standard_normal_scalar(gen, n), std, float(mean))
    return _from_f64(_libm(_exp, z), dt)


def _exp(x: float) -> float:
    """glibc ``exp`` with overflow to ``inf``."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def multinomial(
    gen: Generator, probs2d: np.ndarray, num_samples: int, replacement: bool = False
) -> np.ndarray:
    """``torch.multinomial`` on a (rows, categories) array; returns int64 indices of shape (rows, k).

    Without replacement (or ``k == 1``) torch draws ``q = exponential(1)`` in the probs dtype for every
    entry (in the memory order of ``probs2d``) and takes the top ``k`` of ``probs / q`` as torch's ``topk``
    picks them (equal values, e.g. zero probabilities, in its order).  With replacement: per row a normalised
    cumulative sum (float32 for half/bfloat16) and a binary search per 53-bit uniform.
    """
    probs = np.asarray(probs2d)
    dt = probs.dtype
    if dt not in _FLOATS:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {dt}")
    rows, cats = probs.shape
    k = operator.index(num_samples)
    if k <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and k > cats:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if cats > 2**24:
        raise RuntimeError("number of categories cannot exceed 2^24")
    if not replacement or k == 1:
        if not (np.isfinite(probs) & (probs >= 0)).all():
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if (probs.sum(axis=1, dtype=np.float64) == 0).any():
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        q = np.empty_like(probs)   # laid out as probs (torch's empty_like), filled in memory order
        q.transpose(sorted(range(2), key=lambda d: -q.strides[d])).reshape(-1)[...] = exponential(gen, q.size, dt)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            s = probs / q
        if k == 1:
            return np.argmax(s, axis=1).astype(np.int64)[:, None]
        from ..ops.sorting import _stl_topk_indices  # torch's topk, ties included (the layer above)

        keys = s.astype(np.float32) if dt == _BF16 else s   # NumPy mis-sorts bfloat16
        return _stl_topk_indices(keys, 1, k, True, True).astype(np.int64)
    acc = _F64 if dt == _F64 else _F32
    p = probs.astype(acc)
    if (p < 0).any():
        raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
    if not np.isfinite(p).all():
        raise RuntimeError(
            "invalid multinomial distribution (encountering probability entry = infinity or NaN)"
        )
    cum = np.cumsum(p, axis=1, dtype=acc)
    total = cum[:, -1:].copy()
    if not (total > 0).all():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    cum /= total
    cum[:, -1] = 1
    u = _u53(gen, rows * k).reshape(rows, k)
    out = np.empty((rows, k), np.int64)
    for r in range(rows):
        out[r] = np.searchsorted(cum[r], u[r], side="left")
    return out
