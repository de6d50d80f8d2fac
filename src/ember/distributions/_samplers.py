"""Gamma, Dirichlet, binomial and Poisson sampling with torch's CPU streams, and the reparameterised
gamma/Dirichlet gradients (``torch._standard_gamma``, ``torch._sample_dirichlet``, ``torch.binomial``,
``torch.poisson``, ``torch._standard_gamma_grad``, ``torch._dirichlet_grad``).

torch's CPU kernels draw element by element (C order of the output) from one generator, under its lock:
53-bit double uniforms and the scalar double Box-Muller normal that shares the generator's cached sample.
An element's draws therefore start where the previous element's rejection loop stopped, so elements
cannot be drawn independently.  The samplers here: with one parameter set for every element (an expanded
scalar) the attempts tile the stream and are evaluated at once (gamma from alpha 1.1, binomial, Poisson),
their transcendental tests with NumPy's SIMD functions and only near-ties with glibc's (:func:`_decide`);
gamma with per-element parameters walks precomputed per-position acceptance thresholds (the lowest
concentration surely accepting the attempt there) and replays exactly only the elements below them;
binomial and Poisson with per-element parameters replay the loops element by element in Python floats
(their per-element constants vectorised first).  Draws are evaluated in blocks (``_BLOCK``).  Arithmetic
that torch performs in the input's own precision (``float`` for float32 tensors) is rounded to float32
where the C++ does it, so float32 results match bit for bit too.  The
gradients are vectorised array formulas, in double as torch evaluates them, except the parts of the
float32 Dirichlet gradient that torch computes in float.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any, NamedTuple

import numpy as np

import ember

from .._core import random as R
from .._core.device import CPU, xp_of
from ..nn.functional._common import OUT, Node, fused, result, xp
from ..ops._dispatch import Tensor, from_array
from ..ops.indexing import NotImplemented_
from ..ops.random import _gen

__all__ = ["_dirichlet_grad", "_sample_dirichlet", "_standard_gamma", "_standard_gamma_grad", "binomial"]

_F32 = np.dtype(np.float32)
_TORCH_NAME = {"float16": "Half", "bfloat16": "BFloat16", "float32": "Float", "float64": "Double",
               "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
               "complex64": "ComplexFloat", "complex128": "ComplexDouble"}
_THIRD_F = float(np.float32(1.0) / np.float32(3.0))   # ``1.0f / 3.0f`` in torch's gamma sampler
_C0331_F = float(np.float32(0.0331))                  # the float literal ``0.0331f``
_TWO_PI = 2.0 * math.pi
_BLOCK = 32768   # draws (attempts, elements) evaluated at a time: their arrays stay small, where large ones cost
# the kernel a page fault per 4 KiB each time (freed memory goes back to it)


_FLOAT = struct.Struct("<f")


def _f32(x: float) -> float:
    """Round a double to float32 (torch's ``float`` arithmetic on float32 tensors: +-*/ and sqrt of float
    operands are correctly rounded, which rounding the exact double result reproduces)."""
    try:
        return _FLOAT.unpack(_FLOAT.pack(x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def _same(x: float) -> float:
    return x


@functools.cache
def _libm_fn(name: str, ctype: str = "c_float", nargs: int = 1) -> Callable[..., float]:
    """glibc's function ``name`` of ``nargs`` ``ctype`` arguments (``logf``, ``powf``, ``log1pf``: what ``std::log``
    of a float calls; ``lgamma``), falling back to the (rounded) :mod:`math` function; loaded on first use
    (locating libm can be slow)."""
    import ctypes
    import ctypes.util

    for lib in ("libm.so.6", "m"):
        try:
            fn = getattr(ctypes.CDLL(lib if lib != "m" else ctypes.util.find_library("m")), name)
        except (OSError, AttributeError, TypeError):
            continue
        fn.restype = getattr(ctypes, ctype)
        fn.argtypes = [fn.restype] * nargs
        return fn
    double = getattr(math, name.removesuffix("f") if ctype == "c_float" else name)  # pragma: no cover
    return (lambda *x: _f32(double(*x))) if ctype == "c_float" else double  # pragma: no cover


def _pow_pos(x: float, y: float) -> float:
    """glibc ``pow`` for x > 0 (overflow to ``inf``)."""
    try:
        return math.pow(x, y)
    except OverflowError:
        return math.inf


def _glibc(xp: Any, name: str, *args: Any) -> Any:
    """glibc's ``log``, ``exp`` or ``pow`` of host arrays in their precision, as torch's scalar CPU kernels call it
    (``logf``/``expf``/``powf`` for float32, the double functions for float64): NumPy's ufuncs differ from
    glibc in the last bits on some CPUs (its SIMD kernels, e.g. SVML with AVX512), and glibc's float
    functions are not the correctly rounded double results either.  float64 goes through :mod:`math`
    (glibc) on ordinary arguments, NumPy's ufunc giving the special values; device arrays use ``xp``'s."""
    ufunc = getattr(xp, "power" if name == "pow" else name)
    if xp is not np:
        return ufunc(*args)
    args = np.broadcast_arrays(*args)
    shape, flat = args[0].shape, [a.ravel() for a in args]
    if args[0].dtype == np.float32:
        fn = _libm_fn(name + "f", nargs=len(args))
        return np.fromiter(map(fn, *(a.tolist() for a in flat)), np.float32, count=flat[0].size).reshape(shape)
    if name == "exp":
        return R._libm(R._exp, flat[0]).reshape(shape)
    with np.errstate(all="ignore"):
        out = ufunc(*flat)
    live = np.flatnonzero((flat[0] > 0) & (flat[0] < np.inf) & np.isfinite(flat[-1]))   # log: x > 0; pow: x > 0, y
    fn = R._log0 if name == "log" else _pow_pos
    out[live] = R._libm(fn, flat[0][live]) if name == "log" else np.fromiter(
        map(fn, *(a[live].tolist() for a in flat)), np.float64, count=live.size)
    return out.reshape(shape)


class _Stream:
    """The 53-bit uniforms torch's scalar samplers draw from one generator.

    Uniforms are drawn ahead in batches (``uniform`` is a C-level iterator step): ``hint`` first (the expected
    use, a little over), then a quarter of it at a time, at most ``_BLOCK``; :meth:`close` rewinds the
    generator to just after the ones consumed.
    """

    def __init__(self, gen: R.Generator, hint: int) -> None:
        self.gen = gen
        self._mark = gen._mark()
        self._words: list[np.ndarray] = []
        self._drawn = 0
        self._current: Iterator[float] = iter(())
        self.uniform: Callable[[], float] = chain.from_iterable(self._batches(hint)).__next__

    def _batches(self, hint: int) -> Iterator[Iterator[float]]:
        while True:
            size = min(max(hint if not self._drawn else hint // 4, 256), _BLOCK)
            self._words.append(self.gen._words(2 * size))
            self._current = iter(R._u53_of(self._words[-1]).tolist())
            self._drawn += size
            yield self._current

    def close(self) -> None:
        used = self._drawn - self._current.__length_hint__()
        words = np.concatenate(self._words) if self._words else np.empty(0, np.uint64)
        self.gen._rewind(self._mark, words, 2 * used)


# ---------------------------------------------------------------------------------------------------------
# element-wise samplers (the rejection loops, in order)
# ---------------------------------------------------------------------------------------------------------


def _gamma_constants(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(alpha < 1, 1/alpha, d, c) of torch's gamma sampler, in its precisions (float32 tensors round ``1/alpha``,
    ``alpha + 1`` and ``alpha - 1/3`` to float; ``d`` and ``c`` are then double)."""
    one = a.dtype.type(1)
    with np.errstate(all="ignore"):
        boost = a < one
        inv = one / a
        d = (np.where(boost, a + one, a) - a.dtype.type(_THIRD_F)).astype(np.float64)
        return boost, inv, d, 1.0 / np.sqrt(9.0 * d)


_TAIL = (0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509, 0.0166446911898211,
         0.0138761288230707, 0.0118967099458917, 0.0104112652619720, 0.00925546218271273, 0.00833056343336287)


def _stirling_tail(k: float) -> float:
    """log k! minus its Stirling approximation (table below 10, series above)."""
    if k <= 9:
        return _TAIL[int(k)]
    kp1sq = (k + 1) * (k + 1)
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)


class _BinomialConstants(NamedTuple):
    """Per-element constants of torch's binomial sampler (float64 arrays unless noted)."""

    kind: np.ndarray  # 0: zero, 1: count, 2: nan, 3: BTRS, 4: inversion
    n: np.ndarray  # count (input dtype)
    q: np.ndarray  # the smaller tail's probability (input dtype)
    flip: np.ndarray  # whether q = 1 - prob (the result is count - k)
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    v_r: np.ndarray
    r: np.ndarray
    alpha: np.ndarray
    m: np.ndarray


def _binomial_constants(n: np.ndarray, p: np.ndarray) -> _BinomialConstants:
    """The sampler's constants, vectorised, in the precision torch uses for each (float for float32 input
    where the C++ works on ``scalar_t``)."""
    dt = n.dtype.type
    with np.errstate(all="ignore"):
        flip = p > dt(0.5)
        q = np.where(flip, dt(1) - p, p)
        mean = n * q
        stddev = np.sqrt(mean * (dt(1) - q)).astype(np.float64)
        b = 1.15 + 2.53 * stddev
        kind = np.where((n <= 0) | (p <= 0), 0, np.where(p >= 1, 1, np.where(
            np.isnan(p) | np.isnan(n), 2, np.where(mean >= 10, 3, 4))))
        return _BinomialConstants(
            kind, n, q, flip, a=-0.0873 + 0.0248 * b + 0.01 * q.astype(np.float64), b=b,
            c=mean.astype(np.float64) + 0.5, v_r=0.92 - 4.2 / b, r=(q / (dt(1) - q)).astype(np.float64),
            alpha=(2.83 + 5.1 / b) * stddev, m=np.floor((n + dt(1)) * q).astype(np.float64))


def _rows(*cols: np.ndarray, chunk: int = 2048) -> Iterator[tuple]:
    """The rows of equal-length columns as tuples of Python floats, converted a chunk at a time (the lists of a
    whole large input would be freed to the kernel and faulted in again on every call)."""
    return chain.from_iterable(zip(*(col[lo:lo + chunk].tolist() for col in cols), strict=True)
                               for lo in range(0, cols[0].size, chunk))


def _binomials(count: np.ndarray, prob: np.ndarray, gen: R.Generator) -> np.ndarray:
    """torch's ``sample_binomial`` per element (same float dtype, C order), in float64.

    The smaller tail (``prob`` or ``1 - prob``) is sampled: BTRS (Hoermann's transformed rejection with
    squeeze, as torch adapts it) when its mean is >= 10, else inversion by geometric waiting times.  The
    per-element parts of BTRS's acceptance bound are computed first, vectorised.
    """
    n = count.ravel()
    is_f32 = n.dtype == _F32
    rs = _f32 if is_f32 else _same
    kind, n, q, flip, a, b, c, v_r, r, alpha, m = _binomial_constants(n, prob.ravel())
    cnt64 = n.astype(np.float64)
    with np.errstate(all="ignore"):
        nm1 = cnt64 - m + 1
        head = (m + 0.5) * R._libm(R._log0, (m + 1) / (r * nm1))   # the bound's terms that only depend on m
        tails_m = _stirling_tails(np.where(kind == 3, m, 0.0))
        tails_nm = _stirling_tails(np.where(kind == 3, cnt64 - m, 0.0))
        cnt1 = (n + n.dtype.type(1)).astype(np.float64)   # in the input's precision, as torch
    log, ceil, floor, isfinite = math.log, math.ceil, math.floor, math.isfinite
    tail, c12, c360, c1260 = _TAIL, 1.0 / 12, 1.0 / 360, 1.0 / 1260
    # each sampled element's parameters, one iterator per method, taken in the elements' order
    inv, btrs = kind == 4, kind == 3
    logq = _log1pf(-q[inv]) if is_f32 else R._libm(math.log1p, -q[inv].astype(np.float64))
    next_inversion = _rows(n[inv], logq).__next__
    next_btrs = _rows(*(v[btrs] for v in (n, a, b, c, v_r, r, alpha, nm1, head, tails_m, tails_nm, cnt1))).__next__
    # about n q + 1 uniforms per inversion draw (under 11), 2.6 per BTRS draw
    s = _Stream(gen, int(1.03 * ((cnt64 * q)[inv].sum() + inv.sum()) + 2.6 * btrs.sum()) + 64)
    uniform = s.uniform
    try:
        draws = []
        push = draws.append
        for kd in kind[kind >= 3].tolist():
            if kd == 4:   # inversion
                cnt, lq = next_inversion()
                geom_sum, k = 0.0, 0.0
                while True:
                    u = uniform()
                    if u == 0.0 or lq == 0.0:   # log(u) / logq = +inf
                        break
                    geom_sum += ceil(log(u) / lq)
                    if geom_sum > cnt:
                        break
                    k += 1
                push(k)
                continue
            cnt, ai, bi, ci, vri, ri, alphai, nm1i, headi, sm, snm, cnt1i = next_btrs()
            round_ints = is_f32 and cnt >= 2.0**24
            a2 = 2 * ai
            while True:
                u = uniform() - 0.5
                v = uniform()
                us = 0.5 - abs(u)
                if us == 0.0:   # k = floor(-inf) < 0: rejected
                    continue
                t = (a2 / us + bi) * u + ci
                if not isfinite(t):
                    continue
                k = float(floor(t))
                if round_ints:   # float32 integers from 2**24 round (below, the float ops on them are exact)
                    k = rs(k)
                if k < 0 or k > cnt:
                    continue
                if us >= 0.07 and v <= vri:
                    break
                v = v * alphai / (ai / (us * us) + bi)
                v = log(v) if v > 0.0 else -math.inf   # v >= 0
                if round_ints:
                    cmk = rs(cnt - k)
                    ck1, k1 = rs(cmk + 1), rs(k + 1)
                else:
                    cmk = cnt - k
                    ck1, k1 = cmk + 1, k + 1
                if k <= 9:
                    sk = tail[int(k)]
                else:
                    sq = (k + 1) * (k + 1)
                    sk = (c12 - (c360 - c1260 / sq) / sq) / (k + 1)
                if cmk <= 9:
                    scmk = tail[int(cmk)]
                else:
                    sq = (cmk + 1) * (cmk + 1)
                    scmk = (c12 - (c360 - c1260 / sq) / sq) / (cmk + 1)
                upper = headi + cnt1i * log(nm1i / ck1) + (k + 0.5) * log(ri * ck1 / k1) + sm + snm - sk - scmk
                if v <= upper:
                    break
            push(k)
    finally:
        s.close()
    k = np.where(kind == 1, n.astype(np.float64), np.where(kind == 2, math.nan, 0.0))
    k[kind >= 3] = draws
    # the larger tail's draw is count - k, in the input's precision
    return np.where(flip & (kind >= 3), (n - k.astype(n.dtype)).astype(np.float64), k)


def _log1pf(x: np.ndarray) -> np.ndarray:
    """glibc ``log1pf`` elementwise on a float32 array in [-0.5, 0) (minus a binomial's smaller probability):
    the first of NumPy's float32 ``log1p`` and :func:`_log1pf_reduced` found to return glibc's bits (checked
    once on a sample), else one call per element."""
    fast = _fast_log1pf()
    if fast is not None:
        with np.errstate(all="ignore"):
            return fast(x)
    fn = _libm_fn("log1pf")
    return np.fromiter(map(fn, x.tolist()), np.float32, count=x.size)


_F = np.float32
_LOG1PF_POLY = tuple(_F(v) for v in (1.4798198640e-01, 1.5313838422e-01, 1.8183572590e-01, 2.2222198546e-01,
                                     2.8571429849e-01, 4.0000000596e-01, 6.6666668653e-01))
_LN2F_HI, _LN2F_LO = _F(6.9313812256e-01), _F(9.0580006145e-06)


def _log1pf_reduced(x: np.ndarray) -> np.ndarray:
    """log1p of float32 ``x`` in [-0.5, 0) in float32 arithmetic, as glibc's (fdlibm-derived) ``log1pf``: below
    -0.2929, 1 + x = 2**-1 (1 + f) with a rounding correction c; log(1 + f) from s = f / (2 + f) and a degree-7
    polynomial in s**2; below 2**-29 in magnitude, x - x*x/2."""
    one = _F(1)
    bits = x.view(np.int32)
    u = one + x
    far = bits > np.int32(-0x416A09E1)   # x below -0.2929 (sign-magnitude bits above 0xbe95f61f)
    f = np.where(far, _F(2) * u - one, x)
    k = np.where(far, _F(-1), _F(0))
    c = np.where(far, (x - (u - one)) / u, _F(0))
    hfsq = _F(0.5) * f * f
    s = f / (_F(2) + f)
    z = s * s
    r = _LOG1PF_POLY[0]
    for coef in _LOG1PF_POLY[1:]:
        r = coef + z * r
    r = z * r
    out = np.where(far, k * _LN2F_HI - ((hfsq - (s * (hfsq + r) + (k * _LN2F_LO + c))) - f),
                   f - (hfsq - s * (hfsq + r)))
    mag = bits & 0x7FFFFFFF
    return np.where(mag < 0x31000000, np.where(mag < 0x24800000, x, x - x * x * _F(0.5)), out)


@functools.cache
def _fast_log1pf() -> Callable[[np.ndarray], np.ndarray] | None:
    """NumPy's ``log1p`` or :func:`_log1pf_reduced`, whichever gives glibc's ``log1pf`` on a sample of [-0.5, 0)
    (small values, subnormals, the split at -0.2929, -0.5), or None."""
    r = np.random.Generator(np.random.PCG64(7))
    x = -(r.random(8192) * 0.5).astype(np.float32)
    x[:2048] *= np.float32(1e-6)   # small probabilities
    x[2048:4096] = -np.exp(r.uniform(-100.0, -0.7, 2048)).astype(np.float32)   # down to subnormals
    x[4096:4352] = (np.arange(-128, 128, dtype=np.int32) + np.int32(-0x416A09E1)).view(np.float32)   # the split
    x[4352] = -0.5
    fn = _libm_fn("log1pf")
    ref = np.fromiter(map(fn, x.tolist()), np.float32, count=x.size)
    with np.errstate(all="ignore"):
        return next((f for f in (np.log1p, _log1pf_reduced) if np.array_equal(f(x), ref)), None)


def _marsaglia_tsang_log_test(uu: np.ndarray, xx: np.ndarray, v: np.ndarray, d: float, i: np.ndarray, exact: bool
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The gamma attempts' log test log(uu) < x^2 / 2 + d (1 - v + log v) of attempts ``i``, for :func:`_decide`."""
    log = _glibc_log if exact else np.log
    lhs, log_v = log(uu[i]), log(v[i])
    return lhs, 0.5 * xx[i] + d * (1.0 - v[i] + log_v), np.abs(lhs) + 0.5 * xx[i] + d * (1.0 + v[i] + np.abs(log_v))


def _gamma_same(gen: R.Generator, d: float, c: float, size: int, ahead: float = 2.2) -> np.ndarray:
    """``size`` draws for one alpha >= 1 (used from 1.1), vectorised over the stream.

    Without the boost every element is a run of Marsaglia-Tsang attempts ending at an accepted one, and an
    attempt is one normal (a fresh Box-Muller pair, or the cached sin half of the previous pair) plus, when
    ``y > 0``, one uniform.  Assuming ``y > 0`` the attempts tile the stream periodically (3 uniforms, then
    1), so a block of attempts is evaluated at once and the i-th accepted attempt is the i-th draw; an
    attempt with ``y <= 0`` (below 1% of them) ends the block there and the tiling restarts after it.  The
    blocks read buffers of ``ahead`` uniforms per draw still needed, drawn ahead (a draw takes about 2.1).
    """
    out: list[np.ndarray] = []
    need = size
    cache = gen._normal
    # blocks of about twice the expected run of attempts before a y <= 0 one (P = Phi(-1/c))
    cap = 2.0 / max(0.5 * math.erfc(1.0 / (c * math.sqrt(2.0))), 1e-12) + 64
    buf, commit = _peek(gen, int(ahead * min(size, _BLOCK)) + 64)
    pos = 0
    while need:
        n_att = int(min(need + need // 8 + 16, cap, _BLOCK))
        if (buf.size - pos - 1) // 2 < min(n_att, need + 16):   # the buffer ran out: draw the next one
            commit(pos)
            buf, commit = _peek(gen, max(int(ahead * min(need, _BLOCK)), 2 * n_att + 1) + 64)
            pos = 0
        n_att = min(n_att, (buf.size - pos - 1) // 2)   # attempts take 2 uniforms each on average, 3 at most
        fresh = (np.arange(n_att) + (cache is not None)) % 2 == 0
        cons = np.where(fresh, 3, 1)
        start = np.cumsum(cons) - cons
        u = buf[pos:]
        f = np.flatnonzero(fresh)
        radius = np.sqrt(-2.0 * R._libm(math.log1p, -u[start[f] + 1]))
        theta = _TWO_PI * u[start[f]]
        sin_half = radius * R._libm(math.sin, theta)
        x = np.empty(n_att)
        x[f] = radius * R._libm(math.cos, theta)
        cached = np.flatnonzero(~fresh)
        x[cached[cached > 0]] = sin_half[: cached[cached > 0].size]   # the pair of the attempt before
        if cached.size and cached[0] == 0:
            x[0] = cache
        y = 1.0 + c * x
        bad = np.flatnonzero(~(y > 0))
        valid = int(bad[0]) if bad.size else n_att
        y, x = y[:valid], x[:valid]
        uu = 1.0 - u[start[:valid] + np.where(fresh[:valid], 2, 0)]
        v = y * y * y
        xx = x * x
        accepted = uu < 1.0 - _C0331_F * xx * xx
        slow = np.flatnonzero(~accepted)
        test = functools.partial(_marsaglia_tsang_log_test, uu[slow], xx[slow], v[slow], d)
        accepted[slow] = _decide(test, slow.size, strict=True)
        idx = np.flatnonzero(accepted)[:need]
        out.append(d * v[idx])
        need -= idx.size
        if need == 0:
            last = int(idx[-1])
            used = int(start[last] + cons[last])
        elif valid < n_att:   # the y <= 0 attempt took its normal only
            last = valid
            used = int(start[last]) + (2 if fresh[last] else 0)
        else:
            last = n_att - 1
            used = int(start[last] + cons[last])
        if fresh[last]:
            cache = float(sin_half[np.searchsorted(f, last)])
        else:
            cache = None
        pos += used
    commit(pos)
    gen._normal = cache
    return np.concatenate(out)


def _gamma_attempts(buf: _PairTables, pos: int, cached: float | None, boost: bool, d: float, c: float
                    ) -> tuple[float, int, int, float | None] | None:
    """One element's Marsaglia-Tsang attempts from uniform ``pos`` with the cached normal ``cached`` (scalar,
    as torch): (accepted x, boost uniform's position or -1, next position, cached normal after), or None
    when the buffer ends first."""
    u, limit = buf.u, buf.limit
    bpos = -1
    if boost:
        bpos, pos = pos, pos + 1
    log = math.log
    while True:
        if pos + 3 > limit:
            return None
        if cached is not None:
            x, cached = cached, None
        else:
            x, cached = buf.pair(pos)
            pos += 2
        y = 1.0 + c * x
        if not y > 0:
            continue
        uu = 1.0 - u.item(pos)
        pos += 1
        xx = x * x
        if uu < 1.0 - _C0331_F * xx * xx or log(uu) < 0.5 * xx + d * (1.0 - y * y * y + log(y * y * y)):
            return x, bpos, pos, cached


class _PairTables(NamedTuple):
    """A buffer of uniforms with the Box-Muller pair torch would draw starting at each position: its radius and
    angle, and ``cos``/``sin`` normals within ``_PAIR_ERR`` of glibc's (NumPy's float32 ``cos``/``sin`` of the
    angle, 25 times cheaper than float64's; the margins of the acceptance thresholds allow for the error),
    the exact values (glibc's) by :meth:`pair`, :meth:`exact` and :meth:`close` where they are used."""

    u: np.ndarray
    radius: np.ndarray
    theta: np.ndarray
    cos: np.ndarray
    sin: np.ndarray
    limit: int

    @classmethod
    def of(cls, u: np.ndarray) -> _PairTables:
        theta = _TWO_PI * u[:-1]   # the angle's uniform is drawn first
        with np.errstate(all="ignore"):
            radius = np.sqrt(-2.0 * np.log1p(-u[1:]))
        theta32 = theta.astype(np.float32)
        return cls(u, radius, theta, radius * np.cos(theta32), radius * np.sin(theta32), u.size - 1)

    def close(self, pos: np.ndarray, sin: bool) -> np.ndarray:
        """The cos (or sin) normals at ``pos`` by NumPy's float64 ufuncs (within ulps of glibc's)."""
        return self.radius[pos] * (np.sin if sin else np.cos)(self.theta[pos])

    def pair(self, pos: int) -> tuple[float, float]:
        """The exact (cos, sin) normals of the pair drawn at ``pos``."""
        radius = math.sqrt(-2.0 * math.log1p(-self.u.item(pos + 1)))
        theta = _TWO_PI * self.u.item(pos)
        return radius * math.cos(theta), radius * math.sin(theta)

    def exact(self, pos: np.ndarray, fresh: np.ndarray) -> np.ndarray:
        """The exact cos normal of the pair at each ``pos`` where ``fresh``, else its sin normal (the radius, a
        glibc call each, once per run of equal positions: a pair's cos and sin halves serve neighbours)."""
        new = np.flatnonzero(np.concatenate([[True], pos[1:] != pos[:-1]])) if pos.size else pos
        radius = np.sqrt(-2.0 * R._libm(math.log1p, -self.u[pos[new] + 1]))
        radius = np.repeat(radius, np.diff(np.append(new, pos.size)))
        theta = _TWO_PI * self.u[pos]
        out = np.empty(pos.size)
        out[fresh] = R._libm(math.cos, theta[fresh])
        out[~fresh] = R._libm(math.sin, theta[~fresh])
        return radius * out


def _gamma_scan(gen: R.Generator, b: np.ndarray, d: np.ndarray, c: np.ndarray, ahead: float = 2.3
                ) -> tuple[np.ndarray, np.ndarray]:
    """torch's gamma attempts for elements with parameters (boost flag, d, c), in order, without a Python step
    per uniform: returns each element's accepted normal x and its boost uniform (0 when none).

    Assume every element accepts its first attempt with y > 0: then element i starts at ``o + S[i]`` where S
    is the prefix sum of 1 (boost) + 2 (a fresh pair, every other element) + 1 (the uniform), and its
    attempt reads the pair at a known position.  From which d that attempt is surely accepted depends on the
    stream only, so it is precomputed for each position and kind (fresh pair; cached sin half with its
    uniform 3 or 4 places on; :func:`_acceptance_levels`).  The next element whose d is below its threshold
    is found with a gathered window; there the attempts are replayed exactly, and when they end off the
    assumed layout the offset ``o`` and the pair parity change.
    Values at the assumed layout are gathered at the end.  Uniforms are drawn ahead in buffers of ``ahead``
    per element (plus one per boost); one that runs out is continued by the next.
    """
    m = b.size
    xs, boost_u = np.empty(m), np.zeros(m)
    done, cache = 0, gen._normal
    while done < m:
        rest = slice(done, min(done + _BLOCK, m))
        u, commit = _peek(gen, int(ahead * (rest.stop - done) + 1.1 * int(b[rest].sum())) + 64)
        stop, used, cache = _gamma_scan_buffer(_PairTables.of(u), b[rest], d[rest], c[rest], cache,
                                               xs[rest], boost_u[rest])
        commit(used)
        done += stop
    gen._normal = cache
    return xs, boost_u


def _next_unsure(need: np.ndarray, j: np.ndarray, level: np.ndarray, i: int, offset: int) -> int:
    """The first index from ``i`` whose level is below ``need[j[index] + offset]`` (``j`` ends with a sentinel
    that never holds), looked up in windows that grow four times each.  Past the buffer the positions are
    clipped to ``need``'s last (a sentinel): they only follow an element at the buffer's end, which is unsure."""
    width, last = 192, need.size - 1
    while True:
        window = need[np.minimum(j[i:i + width] + offset, last)] <= level[i:i + width]
        first = int(window.argmin())
        if not window[first]:
            return i + first
        i += width
        width *= 4


_LEVELS = 256   # the d levels the acceptance thresholds are resolved to
_PAIR_ERR = 2e-5   # a bound on |cos - glibc's cos| of :class:`_PairTables` (radius <= 8.6 times 1e-6: the float32
# rounding of the angle (<= 3.8e-7) plus NumPy's float32 cos/sin error (a few ulp))


def _log_test_levels(x: np.ndarray, uu: np.ndarray, levels: np.ndarray, c: np.ndarray, y_bound: np.ndarray,
                     margin: float) -> np.ndarray:
    """The lowest level surely accepting each attempt (normal ``x``, uniform ``uu``) by the squeeze or the log
    test, or a level above it: the log test at the lowest level with y > 0, then at the highest, then a few
    bisection steps (the result need only pass: the finer, the fewer replays)."""
    xx = x * x
    first = np.searchsorted(y_bound, -x, side="right")   # the lowest level with y > 0
    lhs = np.log(uu) + margin
    high = np.where(uu < 1.0 - _C0331_F * xx * xx - 1e-9, first, _LEVELS)

    def passes(idx: np.ndarray, t: np.ndarray) -> np.ndarray:
        y = 1.0 + c[t] * x[idx]
        v = y * y * y
        return lhs[idx] < 0.5 * xx[idx] + levels[t] * (1.0 - v + np.log(v))

    live = np.flatnonzero(high > first)
    ok = passes(live, first[live])
    high[live[ok]] = first[live[ok]]
    live = live[~ok & (first[live] < _LEVELS - 1)]
    live = live[passes(live, np.full(live.size, _LEVELS - 1))]
    lo, hi = first[live], np.full(live.size, _LEVELS - 1)   # lo fails, hi passes
    for _ in range(5):
        mid = (lo + hi) >> 1
        ok = passes(live, mid)
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    high[live] = hi
    return high


def _acceptance_levels(buf: _PairTables, d: np.ndarray, kinds: tuple[bool, bool, bool]
                       ) -> tuple[np.ndarray, np.ndarray, int]:
    """For each position and kind of attempt (a fresh pair's cos half at ``pos`` with its uniform at ``pos + 2``;
    a cached sin half with its uniform 3 or 4 places on), the lowest of ``_LEVELS`` geometric d levels from
    which the attempt there is surely accepted by every d (``_LEVELS`` where none is sure); and each
    element's level (the highest at or below its d).  Returns (thresholds of the 3 kinds, then a sentinel
    region that never holds, each ``region`` long), levels, region.  Kinds not in ``kinds`` (no element makes
    them) are left unsure.

    An attempt accepted for some d is accepted for every larger d: x above -1/c makes y = 1 + c x > 0, and
    the log test's right side 0.5 x^2 + d (1 - v + log v), v = (1 + x / (3 sqrt d))^3, grows with d for a fixed
    x (checked to 120 digits on z = x / (3 sqrt d) over (-1, 1000)).  A margin far above rounding keeps
    near-ties out (they are replayed); so does NumPy's cos/sin/log1p, within ulps of glibc's.  The log test
    runs where the squeeze is not sure (a tenth of the attempts).
    """
    size = buf.u.size
    region = size + 8   # each kind's thresholds end in sentinels, so a position past the buffer is never sure
    lo, hi = float(d.min()), float(d.max())
    if hi > lo:
        levels = np.geomspace(lo, hi, _LEVELS)
        levels[0] = lo
        # each element's level (the highest at or below its d): from its logarithm, then stepped down where
        # rounding put it above
        level = np.minimum(np.log(d / lo) * ((_LEVELS - 1) / math.log(hi / lo)), _LEVELS - 1).astype(np.int64)
        while (over := levels[level] > d).any():
            level -= over
    else:
        levels, level = np.full(_LEVELS, lo), np.full(d.size, _LEVELS - 1)
    c = 1.0 / np.sqrt(9.0 * levels)
    y_bound = 1.0 / c * (1 - 1e-12)   # x above -y_bound: y > 0 for every d from the level on
    margin = 1e-9 * (1.0 + hi)
    need = np.full(4 * region, _LEVELS, np.int16)
    with np.errstate(all="ignore"):
        tables = []   # per table (cos halves, sin halves): a bound the squeeze's uniform surely passes above,
        for x in (buf.cos, buf.sin):   # and the positions where y > 0 is not sure at every level, with their lowest
            ax = np.abs(x) + _PAIR_ERR
            ax *= ax
            low = np.flatnonzero(x <= _PAIR_ERR - y_bound[0])
            first = np.searchsorted(y_bound, _PAIR_ERR - x[low], side="right")
            tables.append((_C0331_F * (ax * ax) + 1e-9, low, first))
        unsure: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []   # (positions, normals, uniforms)
        for kind, (table, gap) in enumerate(((0, 2), (1, 3), (1, 4))):
            if not kinds[kind]:   # no element makes such an attempt: its thresholds stay unsure
                continue
            k = size - gap
            q, low, first_low = tables[table]
            out = need[kind * region:kind * region + k]
            out[...] = 0
            out[low[low < k]] = first_low[low < k]
            rest = np.flatnonzero(~(buf.u[gap:] > q[:k]))   # the squeeze not sure: there the float64 normals decide
            unsure.append((kind * region + rest, buf.close(rest, table == 1), 1.0 - buf.u[rest + gap]))
        if unsure:   # (the kinds' together: the bisection's steps are small arrays)
            where, x, uu = (np.concatenate(v) for v in zip(*unsure, strict=True))
            need[where] = _log_test_levels(x, uu, levels, c, y_bound, margin)
    return need, level, region


def _gamma_scan_buffer(buf: _PairTables, b: np.ndarray, d: np.ndarray, c: np.ndarray, cache: float | None,
                       xs: np.ndarray, boost_u: np.ndarray) -> tuple[int, int, float | None]:
    """:func:`_gamma_scan` over one buffer: fills ``xs``/``boost_u`` for the elements it completes and returns
    (elements completed, uniforms used, cached normal after)."""
    m, size = b.size, buf.u.size
    boosted = bool(b.any())
    need, level, region = _acceptance_levels(buf, d, (True, not (boosted and b.all()), boosted))
    level = np.append(level, 0)
    idx = np.arange(m)
    layouts = []   # for each pair parity (0: element 0 draws a fresh pair): start S, pair position K, fresh, J
    for parity in (0, 1):
        fresh = (idx + parity) % 2 == 0
        start = np.concatenate([[0], np.cumsum(b + 2 * fresh + 1)])
        pair = start[:-1] + b
        k = np.where(fresh, pair, np.concatenate([[-4 * region], pair[:-1]]))   # a cached half: the previous pair
        j = np.where(k < 0, 3 * region, np.where(fresh, 0, np.where(b == 1, 2, 1)) * region + k)
        layouts.append((start, k, fresh, np.append(j, 3 * region)))   # a sentinel: never "sure"
    events: list[tuple[int, float, int]] = []
    segments: list[tuple[int, int, int, int]] = []
    i = offset = seg = 0
    parity = int(cache is not None)
    if cache is not None:   # the cached normal from before: element 0 is replayed
        got = _gamma_attempts(buf, 0, cache, b.item(0), d.item(0), c.item(0)) if m else None
        if got is None:
            return 0, 0, cache
        events.append((0, got[0], got[1]))
        segments.append((0, 1, 0, 0))   # a placeholder layout for element 0 (its values come from the replay)
        i = seg = 1
        parity = (1 + (got[3] is not None)) % 2
        offset = got[2] - layouts[parity][0].item(1)
    start, k, fresh, j = layouts[parity]
    while True:
        i = _next_unsure(need, j, level, i, offset)
        if i >= m:
            break
        is_fresh = fresh.item(i)
        cached = None if is_fresh else buf.pair(offset + k.item(i))[1]
        got = _gamma_attempts(buf, offset + start.item(i), cached, b.item(i), d.item(i), c.item(i))
        if got is None:
            break
        events.append((i, got[0], got[1]))
        i += 1
        if got[2] != offset + start.item(i) or (got[3] is None) == is_fresh:   # off the layout
            segments.append((seg, i, offset, parity))
            parity = (i + (got[3] is not None)) % 2
            start, k, fresh, j = layouts[parity]
            offset, seg = got[2] - start.item(i), i
    stop = i
    segments.append((seg, stop, offset, parity))
    lo, hi, off, par = (np.array(v, np.int64) for v in zip(*segments, strict=True))
    off = np.repeat(off, hi - lo)   # each element's layout offset and parity
    odd = np.repeat(par, hi - lo) == 1
    (s0, k0, f0, _), (s1, k1, f1, _) = layouts
    p = np.maximum(off + np.where(odd, k1[:stop], k0[:stop]), 0)
    xs[:stop] = buf.exact(p, np.where(odd, f1[:stop], f0[:stop]))
    first = np.minimum(off + np.where(odd, s1[:stop], s0[:stop]), size - 1)
    boost_u[:stop] = np.where(b[:stop] == 1, buf.u[first], 0.0)
    for e, x, bpos in events:
        if e < stop:
            xs[e] = x
            boost_u[e] = buf.u[bpos] if bpos >= 0 else 0.0
    last_start, last_k, last_fresh, _ = layouts[segments[-1][3]]
    off = segments[-1][2]
    if stop == 0:
        return 0, 0, cache
    after = buf.pair(off + last_k.item(stop - 1))[1] if last_fresh.item(stop - 1) else None
    return stop, off + last_start.item(stop), after


def _peek(gen: R.Generator, n: int) -> tuple[np.ndarray, Callable[[int], None]]:
    """``n`` uniforms drawn ahead, and ``commit(used)`` that leaves the generator after the first ``used``."""
    mark = gen._mark()
    words = gen._words(2 * n)
    return R._u53_of(words), lambda used: gen._rewind(mark, words, 2 * used)


def _stirling_tails(k: np.ndarray) -> np.ndarray:
    """:func:`_stirling_tail` elementwise (k >= 0)."""
    small = k <= 9
    out = np.empty_like(k)
    out[small] = np.asarray(_TAIL)[k[small].astype(np.int64)]
    big = k[~small]
    kp1sq = (big + 1) * (big + 1)
    out[~small] = (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (big + 1)
    return out


def _btrs_pairs(u: np.ndarray, v: np.ndarray, k0: _BinomialConstants, is_f32: bool) -> tuple[np.ndarray, np.ndarray]:
    """BTRS on each (u - 1/2, v) pair for one parameter set: (k, accepted), the same tests as the loop."""
    a, b, c, v_r, r, alpha, m = (float(x[0]) for x in (k0.a, k0.b, k0.c, k0.v_r, k0.r, k0.alpha, k0.m))
    cnt = float(k0.n[0])
    round_ints = is_f32 and cnt >= 2.0**24
    with np.errstate(all="ignore"):
        us = 0.5 - np.abs(u)
        t = (2 * a / us + b) * u + c
        finite = np.isfinite(t) & (us != 0.0)
        k = np.floor(np.where(finite, t, -1.0))
        if round_ints:
            k = k.astype(np.float32).astype(np.float64)
        valid = finite & (k >= 0) & (k <= cnt)
        accepted = valid & (us >= 0.07) & (v <= v_r)
        slow = np.flatnonzero(valid & ~accepted)
        us_s, k_s = us[slow], k[slow]
        lv_arg = v[slow] * alpha / (a / (us_s * us_s) + b)
        if round_ints:
            cmk = (np.float32(cnt) - k_s.astype(np.float32)).astype(np.float64)
            ck1, cnt1 = (cmk.astype(np.float32) + 1).astype(np.float64), _f32(cnt + 1)
            k1 = (k_s.astype(np.float32) + 1).astype(np.float64)
        else:
            cmk = cnt - k_s
            ck1, cnt1, k1 = cmk + 1, cnt + 1, k_s + 1
        head = (m + 0.5) * math.log((m + 1) / (r * (cnt - m + 1)))
        tail_m, tail_nm = _stirling_tail(m), _stirling_tail(cnt - m)
        tail_k, tail_cmk = _stirling_tails(k_s), _stirling_tails(cmk)   # (each below 0.09)

        def test(i: np.ndarray, exact: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            log = _glibc_log if exact else np.log
            lv, t1, t2 = log(lv_arg[i]), cnt1 * log((cnt - m + 1) / ck1[i]), (k_s[i] + 0.5) * log(r * ck1[i] / k1[i])
            upper = head + t1 + t2 + tail_m + tail_nm - tail_k[i] - tail_cmk[i]   # torch's order of the sums
            return lv, upper, np.abs(lv) + abs(head) + np.abs(t1) + np.abs(t2) + 1.0
        accepted[slow] = _decide(test, slow.size)
    return k, accepted


def _glibc_log(x: np.ndarray) -> np.ndarray:
    """glibc's ``log`` of a float64 array (x >= 0; log(0) = -inf)."""
    return R._libm(R._log0, x)


def _lgamma(x: np.ndarray) -> np.ndarray:
    """glibc's ``lgamma`` of a float64 array, one call per distinct value."""
    keys, inverse = np.unique(x, return_inverse=True)
    return np.fromiter(map(_libm_fn("lgamma", "c_double"), keys.tolist()), np.float64, count=keys.size)[inverse]


@functools.cache
def _lgamma_table() -> np.ndarray:
    return np.array([_libm_fn("lgamma", "c_double")(float(x)) for x in range(32)])


def _lgamma_near(x: np.ndarray) -> np.ndarray:
    """lgamma of integers x >= 1 within 1e-13 of their magnitude: a table below 32, Stirling's series above."""
    small = x < 32
    with np.errstate(all="ignore"):
        inv = 1.0 / x
        inv2 = inv * inv
        series = (x - 0.5) * np.log(x) - x + 0.91893853320467274 + inv * (1 / 12 - inv2 * (1 / 360 - inv2 / 1260))
    return np.where(small, _lgamma_table()[np.where(small, x, 0).astype(np.int64)], series)


def _decide(test: Callable[[np.ndarray, bool], tuple[np.ndarray, np.ndarray, np.ndarray]], n: int,
            strict: bool = False) -> np.ndarray:
    """Whether lhs <= rhs (lhs < rhs if ``strict``) for each of ``n`` acceptance tests, ``test(indices, exact)``
    giving (lhs, rhs, the magnitude of their terms): first with NumPy's log (within ulps of glibc's, and SIMD
    where glibc's costs a call per value) and approximations, then exactly (glibc's log and lgamma, as torch)
    where lhs and rhs are within 1e-12 of the terms' magnitude, a margin far above both evaluations' rounding."""
    idx = np.arange(n)
    with np.errstate(all="ignore"):
        lhs, rhs, scale = test(idx, False)
        ok = lhs < rhs if strict else lhs <= rhs
        close = np.flatnonzero(~(np.abs(lhs - rhs) > 1e-12 * scale))
        if close.size:
            lhs, rhs, _ = test(close, True)
            ok[close] = lhs < rhs if strict else lhs <= rhs
    return ok


def _inversion_stream(u: np.ndarray, cnt: float, logq: float, need: int) -> tuple[np.ndarray, int]:
    """Inversion draws for one parameter set from the uniforms ``u``: a draw starting at uniform s ends at
    the first j where the geometric waiting times from s sum past ``cnt`` (prefix sums of integer-valued
    doubles are exact; a time above ``cnt`` is capped at ``cnt + 1``, which stops a draw all the same).
    Returns the complete draws (at most ``need``) and the uniforms they used."""
    n = u.size
    with np.errstate(all="ignore"):
        if logq == 0.0:
            geom = np.full(n, math.inf)
        else:
            # numpy's log is within an ulp of glibc's: only quotients next to an integer can ceil differently,
            # so those are redone with glibc's
            ratio = np.log(u) / logq
            near = np.flatnonzero(np.abs(ratio - np.rint(ratio)) <= 1e-13 * np.maximum(ratio, 1.0))
            ratio[near] = R._libm(R._log0, u[near]) / logq
            geom = np.ceil(ratio)
    prefix = np.concatenate([[0.0], np.cumsum(np.minimum(geom, cnt + 1))])
    return _walk(np.searchsorted(prefix, prefix[:-1] + cnt, side="right"), need)


def _binomial_same(gen: R.Generator, k0: _BinomialConstants, size: int, is_f32: bool) -> np.ndarray:
    """``size`` draws for one (count, prob), vectorised over the stream: BTRS accepts or rejects each (u, v)
    pair on its own, so the i-th accepted pair is the i-th draw; inversion splits the stream by prefix sums."""
    kind, cnt, q = int(k0.kind[0]), float(k0.n[0]), float(k0.q[0])
    if kind < 3:
        return np.full(size, (0.0, cnt, math.nan)[kind])
    pieces, need = [], size
    logq = (_libm_fn("log1pf") if is_f32 else math.log1p)(-q)
    while need:
        if kind == 3:
            pairs = min(need + need // 2 + 32, _BLOCK)
            u, commit = _peek(gen, 2 * pairs)
            k, accepted = _btrs_pairs(u[0::2] - 0.5, u[1::2], k0, is_f32)
            idx = np.flatnonzero(accepted)[:need]
            commit(2 * (int(idx[-1]) + 1) if idx.size == need else 2 * pairs)
            got = k[idx]
        else:
            block = min(need, _BLOCK)
            u, commit = _peek(gen, int(block * (cnt * q + 1) * 1.3) + 64)
            drawn, used = _inversion_stream(u, cnt, logq, block)
            commit(used)
            got = drawn.astype(np.float64)
        pieces.append(got)
        need -= got.size
    k = np.concatenate(pieces)
    if k0.flip[0]:
        k = (k0.n[0] - k.astype(k0.n.dtype)).astype(np.float64)
    return k


# ---------------------------------------------------------------------------------------------------------
# array-level samplers
# ---------------------------------------------------------------------------------------------------------


def _sample_gammas(gen: R.Generator, alpha: np.ndarray) -> np.ndarray:
    """Flat float64 gamma draws for ``alpha`` (vectorised when one alpha >= 1 serves every element)."""
    a = alpha.ravel()
    if a.size > 1 and 1.1 <= a[0] < math.inf and (a == a[0]).all():   # from 1.1, y <= 0 is rarer than 0.5%
        _, _, d, c = _gamma_constants(a[:1])
        return _gamma_same(gen, float(d[0]), float(c[0]), a.size)
    boost, inv, d, c = _gamma_constants(a)
    with np.errstate(invalid="ignore"):
        out = np.where(a == 0, 0.0, np.where(a == np.inf, np.inf, np.nan))   # torch would loop forever on NaN/inf
    live = np.flatnonzero((a > 0) & (a < np.inf))
    b = boost[live]
    x, boost_u = _gamma_scan(gen, b.astype(np.int64), d[live], c[live])
    scale = np.ones(live.size)
    sel = np.flatnonzero(b)
    scale[sel] = np.fromiter(map(math.pow, (1.0 - boost_u[sel]).tolist(), inv[live][sel].astype(np.float64).tolist()),
                             np.float64, count=sel.size)
    y = 1.0 + c[live] * x
    out[live] = scale * d[live] * (y * y * y)
    return out


def gamma_array(gen: R.Generator, alpha: np.ndarray) -> np.ndarray:
    """``torch._standard_gamma``: one Gamma(alpha, 1) draw per element (C order), at least the dtype's tiny."""
    alpha = np.asarray(alpha)
    if alpha.dtype not in (np.float32, np.float64):
        raise TypeError(f"gamma: unsupported dtype {alpha.dtype}")
    out = _sample_gammas(gen, alpha).astype(alpha.dtype)
    return np.maximum(out, np.finfo(alpha.dtype).tiny).reshape(alpha.shape)


def dirichlet_array(gen: R.Generator, alpha: np.ndarray) -> np.ndarray:
    """``torch._sample_dirichlet``: double gammas (at least DBL_MIN) normalised over the last dim, then cast and
    clamped into [tiny, 1) of the dtype."""
    alpha = np.asarray(alpha)
    g = _sample_gammas(gen, alpha.astype(np.float64))
    g = np.maximum(g, np.finfo(np.float64).tiny).reshape(alpha.shape)
    g1 = np.atleast_1d(g)   # a 0-d concentration is its own total
    x = (g1 / _inner_sum(g1)[..., None]).reshape(alpha.shape).astype(alpha.dtype)
    one = alpha.dtype.type(1)
    return np.clip(x, np.finfo(alpha.dtype).tiny, np.nextafter(one, alpha.dtype.type(0)))


def _inner_sum(g: np.ndarray) -> np.ndarray:
    """Sum over the last dim in the order of torch's AVX2 double ``sum`` kernel (exact for rows shorter than
    256): 4-lane vectors summed into 4 interleaved vector accumulators, the scalar tail from 0, then the lanes."""
    k = g.shape[-1]
    nv = k // 4
    lead = g.shape[:-1]
    vecs = g[..., : 4 * nv].reshape(*lead, nv, 4)
    ilp = nv // 4
    parts = [np.zeros((*lead, 4)) for _ in range(4)]
    for i in range(ilp):
        for j in range(4):
            parts[j] = parts[j] + vecs[..., 4 * i + j, :]
    for i in range(4 * ilp, nv):
        parts[0] = parts[0] + vecs[..., i, :]
    vec = parts[0] + parts[1] + parts[2] + parts[3]
    acc = np.zeros(lead)
    for j in range(4 * nv, k):
        acc = acc + g[..., j]
    for lane in range(4):
        acc = acc + vec[..., lane]
    return acc


def binomial_array(gen: R.Generator, count: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """``torch.binomial``: one draw per element of the broadcast ``count``/``prob`` (same float dtype)."""
    count, prob = np.broadcast_arrays(np.asarray(count), np.asarray(prob))
    if count.size > 1 and (count == count.flat[0]).all() and (prob == prob.flat[0]).all():
        k0 = _binomial_constants(count.ravel()[:1], prob.ravel()[:1])
        out = _binomial_same(gen, k0, count.size, count.dtype == _F32)
    else:
        out = _binomials(count, prob, gen)
    return out.astype(count.dtype).reshape(count.shape)


class _PoissonConstants(NamedTuple):
    """torch's constants of the transformed rejection sampler (PTRS) for rates >= 10 (floats or arrays)."""

    lam: Any
    loglam: Any
    a: Any
    b: Any
    log_invalpha: Any
    vr: Any

    @classmethod
    def of(cls, lam: Any) -> _PoissonConstants:
        """The constants of each rate (a float, or a float64 array: the same IEEE operations, glibc's log)."""
        log = math.log if isinstance(lam, float) else functools.partial(R._libm, math.log)
        b = 0.931 + 2.53 * np.sqrt(lam)
        return cls(lam, log(lam), -0.059 + 0.02483 * b, b, log(1.1239 + 1.1328 / (b - 3.4)),
                   0.9277 - 3.6224 / (b - 2))


_INT64_MIN = -(2**63)


def _poissons(lams: np.ndarray, s: _Stream) -> np.ndarray:
    """torch's ``sample_poisson`` per rate, in order: Knuth's product of uniforms below 10, PTRS from 10
    (pairs (u - 1/2, v) until one is accepted).  Rates of 0 draw nothing."""
    out = np.zeros(lams.size, np.int64)
    live = np.flatnonzero(lams)
    rates = lams[live]
    small = rates < 10
    big = rates[~small]
    with np.errstate(all="ignore"):
        k0 = _PoissonConstants.of(big)
        next_knuth = _rows(R._libm(math.exp, -rates[small])).__next__
    next_ptrs = _rows(*k0).__next__
    uniform = s.uniform
    lgamma_fn = _libm_fn("lgamma", "c_double")
    lgammas: dict[int, float] = {}
    log, floor = math.log, math.floor
    draws = []
    push = draws.append
    for knuth in small.tolist():
        if knuth:
            (enlam,) = next_knuth()
            k = 0
            prod = uniform()
            while prod > enlam:
                k += 1
                prod *= uniform()
            push(k)
            continue
        lam, loglam, a, b, log_invalpha, vr = next_ptrs()
        a2 = 2 * a
        while True:
            u = uniform() - 0.5
            v = uniform()
            us = 0.5 - abs(u)
            if us == 0:   # k = (int64_t)-inf < 0: rejected
                continue
            t = (a2 / us + b) * u + lam + 0.43
            k = floor(t) if -(2.0**63) <= t < 2.0**63 else _INT64_MIN   # (int64_t)std::floor on x86
            if us >= 0.07 and v <= vr:
                break
            if k < 0 or (us < 0.013 and v > us):
                continue
            lg = lgammas.get(k)
            if lg is None:
                lg = lgammas[k] = lgamma_fn(k + 1.0)
            if (log(v) if v > 0 else -math.inf) + log_invalpha - log(a / (us * us) + b) <= -lam + k * loglam - lg:
                break
        push(k)
    out[live] = draws
    return out


def _ptrs_pairs(u: np.ndarray, v: np.ndarray, k0: _PoissonConstants) -> tuple[np.ndarray, np.ndarray]:
    """PTRS on each (u - 1/2, v) pair for one rate: (k, accepted), the same tests as :func:`_poissons`."""
    lam, loglam, a, b, log_invalpha, vr = k0
    with np.errstate(all="ignore"):
        us = 0.5 - np.abs(u)
        t = (2 * a / us + b) * u + lam + 0.43
        inside = (t >= -(2.0**63)) & (t < 2.0**63)
        k = np.where(inside, np.floor(np.where(inside, t, 0.0)), float(_INT64_MIN)).astype(np.int64)
        fast = (us >= 0.07) & (v <= vr)
        accepted = fast & (us != 0)
        slow = np.flatnonzero(~fast & (us != 0) & (k >= 0) & ~((us < 0.013) & (v > us)))
        us_s, k_s, v_s = us[slow], k[slow], v[slow]

        def test(i: np.ndarray, exact: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            log = _glibc_log if exact else np.log
            log_v, log_h = log(v_s[i]), log(a / (us_s[i] * us_s[i]) + b)
            lg, kl = (_lgamma if exact else _lgamma_near)(k_s[i] + 1.0), k_s[i] * loglam
            return (log_v + log_invalpha - log_h, -lam + kl - lg,
                    np.abs(log_v) + abs(log_invalpha) + np.abs(log_h) + lam + np.abs(kl) + np.abs(lg))
        accepted[slow] = _decide(test, slow.size)
    return k, accepted


def _knuth_stream(u: np.ndarray, enlam: float, need: int) -> tuple[np.ndarray, int]:
    """Knuth draws for one rate below 10 from the uniforms ``u``: a draw multiplies uniforms until the product is
    at most ``enlam`` (e^-lambda), i.e. until the running sum of -log u reaches -log(enlam), which a search in
    the prefix sums finds for every start at once (NumPy's log; a zero uniform, whose product stops a draw,
    counts 1000).  Where the sum ends within 1e-5 of the bound (far above the rounding of sums below 1e5) the
    product is replayed exactly.  Returns the complete draws (at most ``need``) and the uniforms they used."""
    n = u.size
    with np.errstate(divide="ignore"):
        prefix = np.concatenate([[0.0], np.cumsum(np.minimum(-np.log(u), 1e3))])
    bound = prefix[:-1] - math.log(enlam)
    ends = np.maximum(np.searchsorted(prefix, bound, side="left"), np.arange(1, n + 1))
    last = np.minimum(ends, n)
    for start in np.flatnonzero((prefix[last] - bound < 1e-5) | (bound - prefix[last - 1] < 1e-5)).tolist():
        end, prod = start + 1, u.item(start)   # torch's product, exactly
        while prod > enlam and end < n:
            prod *= u.item(end)
            end += 1
        ends[start] = end if prod <= enlam else n + 1
    return _walk(ends, need)


def _walk(ends: np.ndarray, need: int) -> tuple[np.ndarray, int]:
    """The draws along the stream from uniform 0 given each start's next start ``ends`` (beyond ``ends.size``:
    the draw does not end in the buffer): the starts s_{i+1} = ends[s_i] by doubling (tables of 2, 4, ..., 64
    steps, a walk in 64-step jumps, then the starts between filled in).  Returns (each complete draw's length
    minus one, at most ``need`` of them; the uniforms they used)."""
    n = ends.size
    step = np.empty(n + 2, np.int64)
    step[:n] = np.minimum(ends, n + 1)
    step[n:] = n + 1   # past the end: stays there
    tables = [step]
    for _ in range(6):
        tables.append(tables[-1][tables[-1]])
    coarse = [0]
    for _ in range(need // 64):
        coarse.append(tables[-1].item(coarse[-1]))
        if coarse[-1] > n:
            break
    starts = np.array(coarse)
    for table in reversed(tables[:-1]):
        starts = np.stack([starts, table[starts]], axis=1).ravel()
    starts = starts[:need + 1]
    done = int(np.searchsorted(starts[1:], n, side="right"))
    return np.diff(starts[:done + 1]) - 1, int(starts[done])


def _poisson_same(gen: R.Generator, lam: float, size: int) -> np.ndarray:
    """``size`` draws for one rate, vectorised over the stream: below 10 Knuth's products of uniforms, split by
    prefix sums (:func:`_knuth_stream`); from 10 PTRS, where each (u, v) pair is accepted or rejected on its
    own, so the i-th accepted pair is the i-th draw."""
    pieces, need = [], size
    enlam, ahead = math.exp(-lam), 1.3
    while need and lam < 10:
        block = min(need, _BLOCK)
        u, commit = _peek(gen, int(block * (lam + 1) * ahead) + 64)
        drawn, used = _knuth_stream(u, enlam, block)
        commit(used)
        pieces.append(drawn)
        need -= drawn.size
        ahead = 1.3 if drawn.size else 2 * ahead   # (a buffer too short for one draw: a longer one)
    if need:
        k0 = _PoissonConstants.of(lam)
    while need:
        pairs = min(need + need // 4 + 32, _BLOCK)
        u, commit = _peek(gen, 2 * pairs)
        k, accepted = _ptrs_pairs(u[0::2] - 0.5, u[1::2], k0)
        idx = np.flatnonzero(accepted)[:need]
        commit(2 * (int(idx[-1]) + 1) if idx.size == need else 2 * pairs)
        pieces.append(k[idx])
        need -= idx.size
    return np.concatenate(pieces)


def poisson_array(gen: R.Generator, rates: np.ndarray) -> np.ndarray:
    """``torch.poisson``: one draw per element of ``rates`` (C order; torch computes in double), in the dtype
    of ``rates``.  One rate shared by every element (an expanded scalar) is vectorised over the stream.
    The final PTRS test uses glibc's ``lgamma`` as torch (CPython's :func:`math.lgamma` differs in the last
    bits)."""
    rates = np.asarray(rates)
    if rates.dtype not in R._FLOATS:
        raise TypeError(f"poisson: unsupported dtype {rates.dtype}")
    lams = rates.astype(np.float64).ravel()
    if not (lams >= 0).all():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    if lams.size > 1 and 0 < lams[0] and (lams == lams[0]).all():
        out = _poisson_same(gen, float(lams[0]), lams.size)
    else:
        # lambda + 1 uniforms per Knuth draw, 2.3 to 2.6 per PTRS draw, none for a rate of 0
        expected = np.where(lams < 10, lams + 1, np.where(lams < 100, 2.6, 2.3))[lams > 0].sum()
        s = _Stream(gen, int(1.03 * expected) + 64)
        try:
            out = _poissons(lams, s)
        finally:
            s.close()
    return R._from_i64(out, rates.dtype).reshape(rates.shape)


# ---------------------------------------------------------------------------------------------------------
# reparameterised gradients (vectorised, float64)
# ---------------------------------------------------------------------------------------------------------

_DIGAMMA_A = (8.33333333333333333333E-2, -2.10927960927960927961E-2, 7.57575757575757575758E-3,
              -4.16666666666666666667E-3, 3.96825396825396825397E-3, -8.33333333333333333333E-3,
              8.33333333333333333333E-2)
_PSI_10 = 2.25175258906672110764


def _digamma(xp: Any, x: Any) -> Any:
    """Cephes digamma for x > 0 as torch's ``digamma_one``: recurrence up to 10, then the asymptotic series.

    float64 ``x`` is torch's double version; float32 ``x`` its ``digamma_one<float, double>`` (the recurrence
    steps, ``x * x``, ``0.5 / x`` and the log in float, the sums in double, the result rounded to float).
    """
    res = xp.zeros(x.shape, np.float64)
    x = x.copy()
    for _ in range(10):
        low = x < 10
        if not low.any():
            break
        res = res - xp.where(low, 1 / xp.where(low, x, 1), 0).astype(np.float64)
        x = xp.where(low, x + 1, x)
    z = 1.0 / (x * x).astype(np.float64)
    poly = xp.zeros_like(z)
    for coef in _DIGAMMA_A:
        poly = poly * z + coef
    y = xp.where(x < 1.0e17, z * poly, 0.0)
    out = res + _glibc(xp, "log", x).astype(np.float64) - (0.5 / x).astype(np.float64) - y
    out = xp.where(x == 10, res + _PSI_10, out)
    return xp.where(x == 0, xp.inf, out).astype(x.dtype)


_GAMMA_UV = ((0.16009398, -0.094634809, 0.025146376, -0.0030648343, 1, 0.32668115, 0.10406089, 0.0014179084),
             (0.53487893, 0.1298071, 0.065735949, -0.0015649758, 0.16639465, 0.020070113, -0.0035938915,
              -0.00058392623),
             (0.040121004, -0.0065914022, -0.0026286047, -0.0013441777, 0.017050642, -0.0021309326,
              0.00085092367, -1.5247877e-07))


def _by_case(xp: Any, cases: list[tuple[Any, Callable[..., Any]]], *args: Any) -> Any:
    """Evaluate each ``(mask, formula)`` case on the elements its mask selects (the masks are disjoint and
    cover every element) into one float64 array: each formula's transcendentals run on its own elements only."""
    out = xp.empty(args[0].shape, np.float64)
    for mask, formula in cases:
        out[mask] = formula(xp, *(v[mask] for v in args))
    return out


def _gamma_grad_small(xp: Any, a: Any, x: Any) -> Any:
    """x < 0.8: the Taylor series of the incomplete gamma function."""
    numer = xp.ones_like(x)
    denom = a.copy()
    s1 = numer / denom
    s2 = numer / (denom * denom)
    for i in range(1, 6):
        numer = numer * (-x / i)
        denom = denom + 1
        s1 = s1 + numer / denom
        s2 = s2 + numer / (denom * denom)
    pxa = _glibc(xp, "pow", x, a)
    pdf = _glibc(xp, "pow", x, a - 1) * _glibc(xp, "exp", -x)
    cdf_a = (_glibc(xp, "log", x) - _digamma(xp, a)) * (pxa * s1) - pxa * s2
    small = -cdf_a / pdf
    return xp.where(xp.isnan(small), 0.0, small)


def _gamma_grad_large(xp: Any, a: Any, x: Any) -> Any:
    """alpha > 8: Rice's saddle point expansion, with a separate series near x = alpha."""
    near = (1 + 24 * a * (1 + 12 * a)) * (1440 * (a * a) + 6 * x * (53 - 120 * x) - 65 * x * x / a
                                          + a * (107 + 3600 * x)) / (1244160 * (a * a) * (a * a))
    den = xp.sqrt(8 * a)
    t2 = den / (a - x)
    log_xa = _glibc(xp, "log", x / a)
    t3 = _glibc(xp, "pow", x - a - a * log_xa, xp.full_like(x, -1.5))
    t1 = log_xa * xp.where(x < a, t2 - t3, t2 + t3) - xp.sqrt(2 / a) * (a + x) / ((a - x) * (a - x))
    stirling = 1 + 1 / (12 * a) * (1 + 1 / (24 * a))
    far = -stirling * (x * t1) / den
    return xp.where((0.9 * a <= x) & (x <= 1.1 * a), near, far)


def _gamma_grad_mid(xp: Any, a: Any, x: Any) -> Any:
    """Otherwise: a bivariate rational fit in log(x/alpha), log(alpha)."""
    u = _glibc(xp, "log", x / a)
    v = _glibc(xp, "log", a)
    cv = [c0 + u * (c1 + u * c2) for c0, c1, c2 in zip(*_GAMMA_UV, strict=True)]
    p = cv[0] + v * (cv[1] + v * (cv[2] + v * cv[3]))
    q = cv[4] + v * (cv[5] + v * (cv[6] + v * cv[7]))
    return _glibc(xp, "exp", p / q)


def gamma_grad_array(xp: Any, alpha: Any, x: Any) -> Any:
    """d x / d alpha for x ~ Gamma(alpha, 1) (torch's ``standard_gamma_grad_one``, in double): a Taylor series
    for x < 0.8, Rice's saddle-point expansion for alpha > 8, else a bivariate rational fit."""
    a, x = xp.broadcast_arrays(alpha.astype(np.float64), x.astype(np.float64))
    small = x < 0.8
    large = ~small & (a > 8.0)
    with np.errstate(all="ignore"):
        return _by_case(xp, [(small, _gamma_grad_small), (large, _gamma_grad_large),
                             (~small & ~large, _gamma_grad_mid)], a, x)


_DIR_C = np.array([
    [[[1.003668233, -0.01061107488, -0.0657888334, 0.01201642863],
      [0.6336835991, -0.3557432599, 0.05486251648, -0.001465281033],
      [-0.03276231906, 0.004474107445, 0.002429354597, -0.0001557569013]],
     [[0.221950385, -0.3187676331, 0.01799915743, 0.01074823814],
      [-0.2951249643, 0.06219954479, 0.01535556598, 0.001550077057],
      [0.02155310298, 0.004170831599, 0.001292462449, 6.976601077e-05]],
     [[-0.05980841433, 0.008441916499, 0.01085618172, 0.002319392565],
      [0.02911413504, 0.01400243777, -0.002721828457, 0.000751041181],
      [0.005900514878, -0.001936558688, -9.495446725e-06, 5.385558597e-05]]],
    [[[1, -0.02924021934, -0.04438342661, 0.007285809825],
      [0.6357567472, -0.3473456711, 0.05454656494, -0.002407477521],
      [-0.03301322327, 0.004845219414, 0.00231480583, -0.0002307248149]],
     [[0.5925320577, -0.1757678135, 0.01505928619, 0.000564515273],
      [0.1014815858, -0.06589186703, 0.01272886114, -0.0007316646956],
      [-0.007258481865, 0.001096195486, 0.0003934994223, -4.12701925e-05]],
     [[0.06469649321, -0.0236701437, 0.002902096474, -5.896963079e-05],
      [0.001925008108, -0.002869809258, 0.0008000589141, -6.063713228e-05],
      [-0.0003477407336, 6.959756487e-05, 1.097287507e-05, -1.650964693e-06]]],
])


def _beta_grad_alpha_small(xp: Any, x: Any, a: Any, b: Any) -> Any:
    """x near 0: a Taylor series (in the input's precision)."""
    factor = _digamma(xp, a) - _digamma(xp, a + b) - _glibc(xp, "log", x)
    numer = xp.ones_like(x)
    series = numer / a * (factor + 1 / a)
    for i in range(1, 11):
        numer = numer * ((i - b) * x / i)
        den = a + i
        series = series + numer / den * (factor + 1 / den)
    res = x * _glibc(xp, "pow", 1 - x, -b) * series
    return xp.where(xp.isnan(res), 0.0, res)


def _beta_grad_beta_small(xp: Any, x: Any, a: Any, b: Any) -> Any:
    """x near 1 (``x`` is 1 - x): a Taylor series (in the input's precision)."""
    factor = _digamma(xp, a + b) - _digamma(xp, b)
    numer, betas, dbetas, series = xp.ones_like(x), xp.ones_like(x), xp.zeros_like(x), factor / a
    for i in range(1, 9):
        numer = numer * (-x / i)
        dbetas = dbetas * (b - i) + betas
        betas = betas * (b - i)
        series = series + numer / (a + i) * (dbetas + factor * betas)
    res = -_glibc(xp, "pow", 1 - x, 1 - b) * series
    return xp.where(xp.isnan(res), 0.0, res)


def _beta_grad_alpha_mid(xp: Any, x: Any, a: Any, b: Any) -> Any:
    """alpha and beta both large: Rice's saddle point expansion (double)."""
    total = a + b
    mean = a / total
    std = xp.sqrt(a * b / (total + 1)) / total
    poly = 47 * x * (b * b) * (b * b) + a * (
        (43 + 20 * (16 + 27 * b) * x) * (b * b) * b + a * (
            3 * (59 + 180 * b - 90 * x) * (b * b) + a * (
                (453 + 1620 * b * (1 - x) - 455 * x) * b + a * (8 * (1 - x) * (135 * b - 11)))))
    pre_num = (1 + 12 * a) * (1 + 12 * b) / (total * total)
    pre_den = 12960 * a * a * a * b * b * (1 + 12 * total)
    near = pre_num / (1 - x) * poly / pre_den
    prefactor = -x / xp.sqrt(2 * a * b / total)
    stirling = ((1 + 1 / (12 * a) + 1 / (288 * a * a)) * (1 + 1 / (12 * b) + 1 / (288 * b * b))
                / (1 + 1 / (12 * total) + 1 / (288 * total * total)))
    t1_num = 2 * (a * a) * (x - 1) + a * b * (x - 1) - x * (b * b)
    axbx = a * (x - 1) + b * x
    t1 = t1_num / (xp.sqrt(2 * a / b) * _glibc(xp, "pow", total, xp.full_like(x, 1.5)) * axbx * axbx)
    log_ax = _glibc(xp, "log", a / (total * x))
    t2 = 0.5 * log_ax
    t3 = xp.sqrt(8 * a * b / total) / (b * x + a * (x - 1))
    t4 = _glibc(xp, "pow", b * _glibc(xp, "log", b / (total * (1 - x))) + a * log_ax, xp.full_like(x, -1.5))
    far = stirling * prefactor * (t1 + t2 * (t3 + xp.where(x < mean, t4, -t4)))
    return xp.where((mean - 0.1 * std <= x) & (x <= mean + 0.1 * std), near, far)


def _dirichlet_grad_rational(xp: Any, x: Any, a: Any, t: Any, a_in: Any, t_in: Any) -> Any:
    """Otherwise: a rational correction (double) to an analytic approximation (whose digammas take the
    input's precision, ``a_in``/``t_in``)."""
    u = _glibc(xp, "log", x)
    la = _glibc(xp, "log", a) - u
    lb = _glibc(xp, "log", t) - la
    pu = (xp.ones_like(u), u, u * u)
    pa = (xp.ones_like(u), la, la * la)
    c = xp.asarray(_DIR_C)
    p = xp.zeros_like(u)
    q = xp.zeros_like(u)
    for i in range(3):
        for j in range(3):
            ua = pu[i] * pa[j]
            cp, cq = c[0, i, j], c[1, i, j]
            p = p + ua * (cp[0] + lb * (cp[1] + lb * (cp[2] + lb * cp[3])))
            q = q + ua * (cq[0] + lb * (cq[1] + lb * (cq[2] + lb * cq[3])))
    approx = x * (_digamma(xp, t_in) - _digamma(xp, a_in)).astype(np.float64) / (t - a)
    return p / q * approx


def dirichlet_grad_array(xp: Any, x: Any, alpha: Any, total: Any) -> Any:
    """torch's ``dirichlet_grad_one``: -(d/d alpha) cdf / pdf / (1 - x) of the Beta(alpha, total - alpha)
    marginal, by the same case split (small x, x near 1, both large, rational correction).  float32 host
    inputs follow torch's float arithmetic where it uses it (the two Taylor series, the case tests, the
    digammas of the rational branch); everything else is double."""
    x, alpha, total = xp.broadcast_arrays(x, alpha, total)
    work = np.float32 if x.dtype == np.float32 and xp is np else np.float64
    xs, as_, ts = (v.astype(work) for v in (x, alpha, total))
    bs = ts - as_
    boundary = ts * xs * (1 - xs)
    x64, a64, t64 = (v.astype(np.float64) for v in (x, alpha, total))
    near0 = (xs <= 0.5) & (boundary < 2.5)
    near1 = ~near0 & (xs >= 0.5) & (boundary < 0.75)
    mid = ~near0 & ~near1 & (as_ > 6) & (bs > 6)
    cases = [(near0, lambda xp, x, a, b, *_: _beta_grad_alpha_small(xp, x, a, b)),
             (near1, lambda xp, x, a, b, *_: -_beta_grad_beta_small(xp, 1 - x, b, a)),
             (mid, lambda xp, _x, a, _b, t, x64, a64, t64: _beta_grad_alpha_mid(xp, x64, a64, t64 - a64)),
             (~near0 & ~near1 & ~mid,
              lambda xp, _x, a, _b, t, x64, a64, t64: _dirichlet_grad_rational(xp, x64, a64, t64, a, t))]
    with np.errstate(all="ignore"):
        return _by_case(xp, cases, xs, as_, bs, ts, x64, a64, t64)


# ---------------------------------------------------------------------------------------------------------
# tensor ops
# ---------------------------------------------------------------------------------------------------------


def _host(t: Tensor) -> np.ndarray:
    return np.asarray(t._data if t._device is CPU else t._data.get())


def _to_device(arr: np.ndarray, like: Tensor) -> Tensor:
    dev = like._device
    return from_array(arr if dev is CPU else xp_of(dev).asarray(arr), like._dtype, dev)


def _check_float(t: Tensor, kernel: str) -> None:
    if t.dtype not in (ember.float32, ember.float64):
        name = _TORCH_NAME.get(str(t.dtype).removeprefix("torch."), str(t.dtype))
        raise NotImplementedError(f'"{kernel}" not implemented for \'{name}\'')


def _same_dtype(a: Tensor, b: Tensor) -> None:
    if a.dtype != b.dtype:
        raise RuntimeError(f"Found dtype {_TORCH_NAME[str(b.dtype).removeprefix('torch.')]} but expected "
                           f"{_TORCH_NAME[str(a.dtype).removeprefix('torch.')]}")


class StandardGammaBackward0(Node):
    """grad * d sample / d alpha, from the saved concentration and sample."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        alpha, out = self.saved
        return (g * _standard_gamma_grad(alpha, out),)


def _standard_gamma(input: Tensor, generator: Any = None) -> Tensor:
    """Gamma(input, 1) samples with torch's CPU stream; differentiable (reparameterised) w.r.t. ``input``."""
    _check_float(input, "gamma_cpu")
    out = _to_device(gamma_array(_gen(generator), _host(input)), input)
    return fused(out, StandardGammaBackward0, (input,), (input, OUT))


class StandardGammaGradBackward0(Node):
    """torch leaves the derivative of ``_standard_gamma_grad`` unimplemented."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        raise NotImplementedError("the derivative for '_standard_gamma_grad' is not implemented.")


def _standard_gamma_grad(input: Tensor, output: Tensor) -> Tensor:
    """d output / d input for ``output = _standard_gamma(input)`` (not itself differentiable)."""
    _check_float(input, "_standard_gamma_grad_cpu")
    _same_dtype(input, output)
    res = result(gamma_grad_array(xp(input), input._data, output._data), input)
    return fused(res, StandardGammaGradBackward0, (input, output))


def _sample_dirichlet(input: Tensor, generator: Any = None) -> Tensor:
    """Dirichlet samples (over the last dim) with torch's CPU stream; not differentiable, as torch's."""
    _check_float(input, "dirichlet")
    out = _to_device(dirichlet_array(_gen(generator), _host(input)), input)
    return fused(out, NotImplemented_, (input,), op="_sample_dirichlet")


def _dirichlet_grad(x: Tensor, alpha: Tensor, total: Tensor) -> Tensor:
    """The reparameterised Dirichlet gradient helper (torch's ``_dirichlet_grad``; not differentiable)."""
    _check_float(x, "_dirichlet_grad_cpu")
    _same_dtype(x, alpha)
    _same_dtype(x, total)
    res = result(dirichlet_grad_array(xp(x), x._data, alpha._data, total._data), x)
    return fused(res, NotImplemented_, (x, alpha, total), op="_dirichlet_grad")


def binomial(count: Tensor, prob: Tensor, generator: Any = None) -> Tensor:
    """Binomial(count, prob) samples with torch's CPU stream (float counts; broadcast)."""
    if not count.dtype.is_floating_point:
        raise ValueError(f"binomial only supports floating-point dtypes for count, got: "
                         f"{_TORCH_NAME.get(str(count.dtype).removeprefix('torch.'))}")
    if not prob.dtype.is_floating_point:
        raise ValueError(f"binomial only supports floating-point dtypes for prob, got: "
                         f"{_TORCH_NAME.get(str(prob.dtype).removeprefix('torch.'))}")
    _same_dtype(count, prob)
    _check_float(count, "binomial_cpu")
    arr = binomial_array(_gen(generator), _host(count), _host(prob))
    return fused(_to_device(arr, count), NotImplemented_, (count, prob), op="binomial")
