"""Special functions NumPy lacks, and the ember ops built on them (``torch.erf``, ``torch.lgamma``,
``torch.special.*``).

Each kernel is a vectorised function of the array namespace ``xp`` (NumPy or CuPy) working in float64,
accurate to a few units of float64 rounding; the ops cast results to torch's dtype. Methods:

* erf/erfc/erfcx: Taylor series near 0; elsewhere ``erfc(x) = exp(-x**2) * erfcx(x)`` with erfcx from
  Chebyshev interpolants (on [0.5, 2], [2, 4], and in ``1/x`` beyond), computed with mpmath for ember.
  float32 erf uses two short fits good to float32 precision instead (see ``_erf_float32``).
* erfinv/ndtri: an initial guess refined by Halley steps on erf or erfc (whichever keeps precision).
* lgamma: the Taylor series of ``lgamma(2 + z)`` (coefficients from zeta values) after shifting the
  argument to [1.5, 2.5], Stirling's series for ``x >= 10``, the reflection formula for ``x < 0``.
* digamma: recurrence up to ``x >= 10`` then the asymptotic series; polygamma/zeta: Euler-Maclaurin
  summation of the Hurwitz zeta function.
* Bessel I0/I1: power series for ``|x| <= 20``, Hankel's asymptotic series beyond; K0/K1: series for
  ``x <= 1``, the trapezoidal rule on ``K_n(x) = int_0^inf exp(-x cosh t) cosh(nt) dt`` beyond; J/Y:
  Miller's backward recurrence with Neumann series for ``|x| <= 25``, Hankel's expansions beyond.
* regularised incomplete gamma: power series / continued fraction, iterated to convergence.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from .._core import dtype as D
from ._dispatch import Tensor
from .elementwise import _check_out_dtype, _k_float, _round_dec, binary, exp, log, mul, ni, raise_denied, unary

_PI = math.pi
_SQRT_PI = math.sqrt(math.pi)
_EULER = 0.57721566490153286061


def _bernoulli_even(count: int) -> list[Fraction]:
    """B_2, B_4, …, B_{2 count} (exact), by the Akiyama–Tanigawa algorithm."""
    n = 2 * count
    a: list[Fraction] = []
    out = []
    for m in range(n + 1):
        a.append(Fraction(1, m + 1))
        for j in range(m, 0, -1):
            a[j - 1] = j * (a[j - 1] - a[j])
        if m >= 2 and m % 2 == 0:
            out.append(a[0])
    return out


_B2K = _bernoulli_even(13)                                  # B_2 … B_26


def _horner(c: list[float], x: Any) -> Any:
    r = c[-1]
    for ck in c[-2::-1]:
        r = r * x + ck
    return r


def _cheb(xp: Any, c: tuple[float, ...], t: Any) -> Any:
    """Clenshaw evaluation of sum c_k T_k(t), t in [-1, 1] (three rotating buffers, no temporaries)."""
    t2 = 2 * t
    b1 = xp.zeros_like(t)
    b2 = xp.zeros_like(t)
    tmp = xp.empty_like(t)
    for ck in c[:0:-1]:
        xp.multiply(t2, b1, out=tmp)
        tmp -= b2
        tmp += ck
        b2, b1, tmp = b1, tmp, b2
    b1 *= t
    b1 -= b2
    b1 += c[0]
    return b1


def _piecewise(xp: Any, x: Any, pieces: list[tuple[Any, Any]]) -> Any:
    """``fn(x[mask])`` placed at ``mask`` for each ``(mask, fn)``, each function evaluated only on its own
    elements (masks partition ``x``)."""
    out = xp.empty_like(x)
    for mask, fn in pieces:
        part = x[mask]
        if part.size:
            out[mask] = fn(part)
    return out


def _f64(xp: Any, a: Any) -> Any:
    return a.astype(np.float64) if a.dtype != np.float64 else a


def _sinpi(xp: Any, x: Any) -> Any:
    """sin(pi x) with exact argument reduction (zero at integers)."""
    r = x - 2 * xp.round(x / 2)                          # r in [-1, 1], exact
    return xp.sin(_PI * xp.where(xp.abs(r) > 0.5, xp.sign(r) - r, r))


def _cospi(xp: Any, x: Any) -> Any:
    return _sinpi(xp, x + 0.5)


# ---- error functions -------------------------------------------------------------------------------------
# 2/sqrt(pi) * (-1)^n / (n! (2n+1)): the Taylor series of erf, used for |x| < 0.5
_ERF_TAYLOR = [2 / _SQRT_PI * (-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(14)]
# erfcx(x) on [0.5, 2] and [2, 4], and x * erfcx(x) in u = 1/x on [0, 0.25] (Chebyshev coefficients)
_ERFCX_A = (0.4006822530639845, -0.17395587897748596, 0.03383702540740585, -0.006032263577025819,
            0.001000274118215681, -0.0001558965252433288, 2.3014442396758424e-05, -3.2375421924541957e-06,
            4.360702485858127e-07, -5.645684833789816e-08, 7.048623263203286e-09, -8.509612327566787e-10,
            9.957554366871612e-11, -1.1316613855047257e-11, 1.2513369992930791e-12, -1.3483678086194079e-13,
            1.4178345509581745e-14, -1.4566964654246537e-15, 1.4639564848603663e-16, -1.4406081509350508e-17,
            1.3893934243911832e-18)
_ERFCX_B = (0.1874295690262241, -0.05794652883669097, 0.008595247387396534, -0.0012284613640242594,
            0.00016974366686180488, -2.2738329337044562e-05, 2.959844378804878e-06, -3.7513575581379714e-07,
            4.6372828761738244e-08, -5.599455392564088e-09, 6.613160896679916e-10, -7.648271522199816e-11,
            8.670904325876594e-12, -9.645456274382108e-13, 1.0536827959360625e-13, -1.1312630906760667e-14,
            1.1945180669174577e-15, -1.241310752580407e-16, 1.270246323185436e-17, -1.280725873663855e-18)
_ERFCX_C = (0.5579806323959606, -0.008176370652593417, -0.001893800698918767, 8.135191807225853e-05,
            6.886433482931834e-06, -8.66842697260929e-07, -1.0605985681160552e-08, 9.128665955359679e-09,
            -5.137073029655299e-10, -7.515699719704348e-11, 1.3379723228335024e-11, -6.823772973728953e-14,
            -2.121390789408522e-13, 2.2951219659613427e-14, 1.4778079350327186e-15, -6.23994341272092e-16,
            4.380197359621281e-17, 8.250479751101904e-18, -2.0854455199042304e-18)


def _erf_small(xp: Any, x: Any) -> Any:
    return x * _horner(_ERF_TAYLOR, x * x)


def _erfcx_large(xp: Any, ax: Any) -> Any:
    """erfcx for ax >= 0.5 (ax may be inf)."""
    near, far = ax < 2.0, ax >= 4.0
    return _piecewise(xp, ax, [
        (near, lambda v: _cheb(xp, _ERFCX_A, (xp.maximum(v, 0.5) - 1.25) / 0.75)),
        (~(near | far), lambda v: _cheb(xp, _ERFCX_B, v - 3.0)),
        (far, lambda v: _cheb(xp, _ERFCX_C, 8.0 / v - 1.0) / v),
    ])


def _exp_sq(xp: Any, ax: Any, sign: float) -> Any:
    """exp(sign * x**2) for 0 <= x < 27.5 without the rounding error of x**2 (x split into a short head
    and a tail)."""
    x = xp.minimum(ax, 27.5)
    head = xp.trunc(x * 16.0) / 16.0
    return xp.exp(sign * head * head) * xp.exp(sign * (x - head) * (x + head))


def _exp_neg_sq(xp: Any, ax: Any) -> Any:
    return xp.where(ax < 27.5, _exp_sq(xp, ax, -1.0), 0.0)


def _erfc_pos(xp: Any, ax: Any) -> Any:
    """erfc for ax >= 0 (exact near 0, relative accuracy in the tail)."""
    small = ax < 0.5
    return _piecewise(xp, ax, [(small, lambda v: 1.0 - _erf_small(xp, v)),
                               (~small, lambda v: _exp_neg_sq(xp, v) * _erfcx_large(xp, v))])


# float32 erf (float64 arithmetic): erf(a)/a as a polynomial in a**2 for a < 2, and erfcx(a) as a polynomial
# in a - 3 on [2, 4] (least-squares Chebyshev fits: relative error 2.3e-9, and absolute error 2.5e-9 on erf,
# far below float32's half ulp); erf(a) rounds to 1 in float32 beyond a = 4.
_ERF32_SMALL = (1.1283791657351316, -0.3761263434285228, 0.11283753919972637, -0.026864818653883064,
                0.005221367958823933, -0.0008517971865460326, 0.00011829024591089684, -1.3808090836721162e-05,
                1.275758505700232e-06, -8.12881942127742e-08, 2.5951822659726314e-09)
_ERFCX32_TAIL = (0.17900111958412745, -0.054372223717844004, 0.01588550011691787, -0.004479959081139478,
                 0.001216906896200267, -0.0003220928475904098, 9.392141122859204e-05, -2.381849847805061e-05)
_ERF32_BLOCK = 1 << 16


def _horner_inplace(xp: Any, c: tuple[float, ...], x: Any) -> Any:
    r = xp.full_like(x, c[-1])
    for ck in c[-2::-1]:
        r *= x
        r += ck
    return r


def _erf_float32(xp: Any, x: Any) -> Any:
    """erf for float32 input, to float32 precision: the small-argument polynomial over the whole array, the
    tail (usually few elements) only where ``|x| >= 2`` — on a GPU everywhere, since counting the tail
    would be a round trip to the host."""
    flat = x.reshape(-1)   # 1-d, so that 0-d input still gives arrays for the in-place passes
    a = xp.abs(flat, dtype=np.float64)
    xp.minimum(a, 4.0, out=a)
    s = a * a
    out = _horner_inplace(xp, _ERF32_SMALL, s)
    out *= a
    tail = a >= 2.0
    count = int(xp.count_nonzero(tail)) if xp is np else a.size
    if 4 * count > a.size:                   # mostly tail: evaluate it everywhere rather than gather
        out = xp.where(tail, 1.0 - xp.exp(-s) * _horner_inplace(xp, _ERFCX32_TAIL, a - 3.0), out)
    elif count:
        out[tail] = 1.0 - xp.exp(-s[tail]) * _horner_inplace(xp, _ERFCX32_TAIL, a[tail] - 3.0)
    return xp.copysign(out, flat, out=out).reshape(x.shape)


# Abramowitz & Stegun 7.1.26 (absolute error 1.5e-7): torch's CPU vector erf of float16/bfloat16 tensors
_AS_P = np.float32(0.3275911)
_AS_A = tuple(np.float32(c) for c in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))


def _fma32(a: Any, b: Any, c: Any) -> Any:
    """float32 ``a·b + c`` rounded once (the product is exact in float64)."""
    return (np.multiply(a, b, dtype=np.float64) + c).astype(np.float32)


def erf_half_kernel(x: Any) -> Any:
    """erf of 16-bit floats as torch's CPU kernel computes it, in float32 with fused multiply-adds:
    ``sign(x)·(1 - t·P(t)·exp(-x²))``, ``t = 1/(1 + p|x|)`` (relative error large near 0, as torch's)."""
    x = x.astype(np.float32)
    t = np.float32(1) / _fma32(_AS_P, np.abs(x), np.float32(1))
    poly = _fma32(_AS_A[0], t, _AS_A[1])
    for c in _AS_A[2:]:
        poly = _fma32(poly, t, c)
    e = np.exp(-np.multiply(x, x, dtype=np.float32).astype(np.float64)).astype(np.float32)
    return np.copysign(_fma32(-e * t, poly, np.float32(1)), x)


def erf_kernel(xp: Any, x: Any) -> Any:
    if xp is np and x.dtype.itemsize == 2 and x.dtype.kind in "fV":
        return erf_half_kernel(x)
    if x.dtype == np.float32:
        if xp is not np or x.size <= _ERF32_BLOCK:
            return _erf_float32(xp, x)
        flat = x.reshape(-1)                  # on the CPU, blocks that stay in cache make each pass ~2x faster
        out = np.empty(flat.shape, np.float32)
        for i in range(0, flat.size, _ERF32_BLOCK):
            out[i : i + _ERF32_BLOCK] = _erf_float32(xp, flat[i : i + _ERF32_BLOCK])
        return out.reshape(x.shape)
    x = _f64(xp, x)
    small = xp.abs(x) < 0.5
    return _piecewise(xp, x, [(small, lambda v: _erf_small(xp, v)),
                              (~small, lambda v: xp.sign(v) * (1.0 - _erfc_pos(xp, xp.abs(v))))])


def erfc_kernel(xp: Any, x: Any) -> Any:
    x = _f64(xp, x)
    e = _erfc_pos(xp, xp.abs(x))
    return xp.where(x < 0, 2.0 - e, e)


def erfcx_kernel(xp: Any, x: Any) -> Any:
    x = _f64(xp, x)
    ax = xp.abs(x)
    small = xp.clip(x, -0.5, 0.5)
    near = xp.exp(small * small) * (1.0 - _erf_small(xp, small))
    far = _erfcx_large(xp, ax)
    neg = xp.where(ax < 27.0, 2.0 * _exp_sq(xp, ax, 1.0), xp.inf) - far   # erfcx(-x) = 2 exp(x^2) - erfcx(x)
    return xp.where(ax < 0.5, near, xp.where(x < 0, neg, far))


def _erfinv_core(xp: Any, y: Any, q: Any) -> Any:
    """x >= 0 with erf(x) = y, given y in [0, 1) and q = 1 - y exactly (Halley steps from an initial
    guess good to ~2e-3; the residual uses erfc where y > 0.5 so tails keep relative precision)."""
    w = xp.log(q * (1.0 + y))                                  # log(1 - y^2)
    a = 0.147
    t = 2.0 / (_PI * a) + w / 2.0
    x = xp.sqrt(xp.sqrt(t * t - w / a) - t)
    upper = y > 0.5
    for _ in range(3):
        r = xp.where(upper, q - _erfc_pos(xp, x), erf_kernel(xp, x) - y)
        u = r / (2.0 / _SQRT_PI * _exp_neg_sq(xp, x))
        x = x - u / (1.0 + x * u)
    return x


def erfinv_kernel(xp: Any, y: Any) -> Any:
    y = _f64(xp, y)
    ay = xp.abs(y)
    inside = ay < 1.0
    ys = xp.where(inside, ay, 0.5)
    x = xp.sign(y) * _erfinv_core(xp, ys, 1.0 - ys)
    return xp.where(inside, x, xp.where(ay == 1.0, xp.sign(y) * xp.inf, xp.nan))


def ndtri_kernel(xp: Any, p: Any) -> Any:
    p = _f64(xp, p)
    inside = (p > 0) & (p < 1)
    ps = xp.where(inside, p, 0.5)
    low = ps < 0.5
    # erfc(-x / sqrt 2) = 2p: for p < 0.5 solve erfc(t) = 2p (t = -x/sqrt2), else erfc(t) = 2(1 - p)
    q = xp.where(low, 2.0 * ps, 2.0 * (1.0 - ps))
    t = _erfinv_core(xp, 1.0 - q, q)
    x = xp.where(low, -t, t) * math.sqrt(2.0)
    return xp.where(inside, x, xp.where(p == 0, -xp.inf, xp.where(p == 1, xp.inf, xp.nan)))


def log_ndtr_kernel(xp: Any, x: Any) -> Any:
    x = _f64(xp, x)
    z = x * -math.sqrt(0.5)
    upper = xp.log1p(-0.5 * erfc_kernel(xp, -z))               # log(1 - ndtr(-x)) for x >= -1
    zl = xp.maximum(z, 0.5)
    lower = xp.log(0.5 * _erfcx_large(xp, zl)) - zl * zl       # log(erfc(z) / 2) for z >= 0.5
    return xp.where(x < -1.0, lower, upper)


# ---- gamma family --------------------------------------------------------------------------------------
# lgamma(2 + z) = (1 - euler) z + sum_k (-1)^k (zeta(k) - 1) z^k / k, for |z| <= 0.5
_LGAMMA2 = [0.0, 0.42278433509846713, 0.3224670334241132, -0.0673523010531981, 0.020580808427784546,
            -0.007385551028673986, 0.0028905103307415234, -0.001192753911703261, 0.0005096695247430425,
            -0.00022315475845357939, 9.945751278180853e-05, -4.492623673813314e-05, 2.050721277567069e-05,
            -9.439488275268397e-06, 4.374866789907488e-06, -2.039215753801366e-06, 9.55141213040742e-07,
            -4.492469198764566e-07, 2.1207184805554665e-07, -1.0043224823968099e-07, 4.7698101693639804e-08,
            -2.2711094608943164e-08, 1.0838659214896955e-08, -5.183475041970047e-09, 2.4836745438024785e-09,
            -1.1921401405860912e-09, 5.731367241678862e-10, -2.7595228851242334e-10, 1.330476437424449e-10,
            -6.4229645638381e-11, 3.1044247747322276e-11, -1.5021384080754142e-11]
# Stirling: B_2k / (2k (2k - 1)), as a polynomial in 1/x^2 times 1/x
_STIRLING = [float(b / (2 * k * (2 * k - 1))) for k, b in enumerate(_B2K[:8], 1)]
# digamma asymptotic: B_2k / (2k), in 1/x^2
_DIGAMMA = [float(b / (2 * k)) for k, b in enumerate(_B2K[:8], 1)]
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _lgamma_pos(xp: Any, y: Any) -> Any:
    """lgamma for y >= 0 (finite)."""
    # [0, 1.5): shift up to [1.5, 2.5); [2.5, 10): shift down to [1.5, 2.5); >= 10: Stirling
    up1 = (y >= 0.5) & (y < 1.5)
    up2 = y < 0.5
    down = xp.clip(xp.ceil(y - 2.5), 0, 8)
    down = xp.where(y < 10.0, down, 0)
    z = y - 2.0 + xp.where(up2, 2.0, xp.where(up1, 1.0, -down))
    series = z * _horner(_LGAMMA2[1:], z)
    corr = xp.where(up1, -xp.log1p(y - 1.0), xp.where(up2, -(xp.log(y) + xp.log1p(y)), 0.0))
    prod = xp.ones_like(y)
    for k in range(1, 9):
        prod = prod * xp.where(down >= k, y - k, 1.0)
    mid = series + corr + xp.log(prod)
    w = xp.maximum(y, 10.0)
    inv = 1.0 / w
    stirling = (w - 0.5) * xp.log(w) - w + _HALF_LOG_2PI + inv * _horner(_STIRLING, inv * inv)
    return xp.where(y < 10.0, mid, stirling)


def lgamma_kernel(xp: Any, x: Any) -> Any:
    x = _f64(xp, x)
    finite = xp.isfinite(x)
    xs = xp.where(finite, x, 1.0)
    neg = xs < 0
    r = _lgamma_pos(xp, xp.where(neg, 1.0 - xs, xs))
    refl = xp.log(_PI / xp.abs(_sinpi(xp, xs))) - r     # lgamma(x) = log(pi / |sin(pi x)|) - lgamma(1-x)
    return xp.where(finite, xp.where(neg, refl, r), xp.abs(x))


def _digamma_pos(xp: Any, y: Any) -> Any:
    """digamma for y > 0 (finite): recurrence up to >= 10, then the asymptotic series."""
    n = xp.clip(xp.ceil(10.0 - y), 0, 10)
    acc = xp.zeros_like(y)
    for k in range(10):
        acc = acc + xp.where(k < n, 1.0 / (y + k), 0.0)
    w = y + n
    inv2 = 1.0 / (w * w)
    return xp.log(w) - 0.5 / w - inv2 * _horner(_DIGAMMA, inv2) - acc


def digamma_kernel(xp: Any, x: Any) -> Any:
    x = _f64(xp, x)
    xs = xp.where(xp.isfinite(x) & (x != 0), x, 1.0)
    neg = xs < 0
    r = _digamma_pos(xp, xp.where(neg, 1.0 - xs, xs))
    refl = r - _PI * _cospi(xp, xs) / _sinpi(xp, xs)          # digamma(x) = digamma(1-x) - pi cot(pi x)
    out = xp.where(neg, xp.where(xs == xp.floor(xs), xp.nan, refl), r)
    out = xp.where(x == 0, xp.copysign(xp.inf, -x), out)
    return xp.where(xp.isinf(x), xp.where(x > 0, xp.inf, xp.nan), xp.where(xp.isnan(x), x, out))


_ZETA_TERMS = [float(b / math.factorial(2 * j)) for j, b in enumerate(_B2K[:12], 1)]


def zeta_kernel(xp: Any, s: Any, q: Any) -> Any:
    """Hurwitz zeta(s, q) = sum_k (q + k)^-s by Euler-Maclaurin summation (torch's domain rules, in its
    order: s == 1 → inf, s < 1 → nan; then q <= 0: inf at integers, nan unless s is an integer)."""
    s, q = xp.broadcast_arrays(_f64(xp, s), _f64(xp, q))
    pole = (q <= 0) & (q == xp.floor(q))
    ok = (s > 1) & (s < xp.inf) & ~pole & ~((q <= 0) & (s != xp.floor(s))) & ~xp.isnan(q)
    ss = xp.where(ok, s, 2.0)
    qs = xp.where(ok, q, 1.0)
    shift = max(9, int(math.ceil(9.0 - float(qs.min())))) if qs.size else 9
    total = xp.zeros_like(ss)
    for k in range(shift + 1):
        total = total + xp.power(qs + k, -ss)
    w = qs + shift
    b = xp.power(w, -ss)
    total = total + b * w / (ss - 1.0) - 0.5 * b
    poch = ss
    wpow = b / w
    for j, coef in enumerate(_ZETA_TERMS, 1):
        total = total + coef * poch * wpow
        poch = poch * (ss + 2 * j - 1) * (ss + 2 * j)
        wpow = wpow / (w * w)
    # torch checks s first (1: inf, below 1: nan), then q (a pole: inf); at s = inf its sum stops at
    # the first vanishing term: q**-inf alone (1 at q = 1, inf below, nan above where every term is 0)
    at_inf = xp.where(q == 1, 1.0, xp.where(q < 1, xp.inf, xp.nan))
    edge = xp.where(s == 1, xp.inf, xp.where(s < 1, xp.nan, xp.where(
        s == xp.inf, at_inf, xp.where(pole, xp.inf, xp.nan))))
    return xp.where(ok, total, edge)


def polygamma_kernel(xp: Any, x: Any, n: int) -> Any:
    if n == 0:
        return digamma_kernel(xp, x)
    x = _f64(xp, x)
    r = (-1.0) ** (n + 1) * math.factorial(n) * zeta_kernel(xp, xp.asarray(n + 1.0), x)
    if n == 1:   # torch's trigamma: 0 at inf, nan at -inf (zeta, used for n > 1, gives nan and inf there)
        r = xp.where(xp.isinf(x), xp.where(x > 0, 0.0, xp.nan), r)
    return r


def _igamma_kernel(upper: bool) -> Callable:
    """Regularised incomplete gamma P(a, x) (or Q = 1 - P): power series for x < a + 1, Lentz's continued
    fraction otherwise, each iterated until every element has converged."""
    def kernel(xp: Any, a: Any, x: Any) -> Any:
        a, x = xp.broadcast_arrays(_f64(xp, a), _f64(xp, x))
        ok = (a > 0) & (x > 0) & xp.isfinite(a) & xp.isfinite(x)
        aa, xx = xp.where(ok, a, 1.0), xp.where(ok, x, 1.0)
        use_series = xx < aa + 1.0
        log_pre = aa * xp.log(xx) - xx - lgamma_kernel(xp, aa)
        # series: P = x^a e^-x / Gamma(a + 1) * sum_n x^n / ((a+1)...(a+n))
        term = xp.ones_like(aa)
        ssum = xp.ones_like(aa)
        ap = aa.copy()
        for _ in range(2000):
            ap = ap + 1.0
            term = term * xx / ap
            ssum = ssum + term
            if not bool(xp.any(use_series & (xp.abs(term) > 1e-17 * ssum))):
                break
        p_series = xp.exp(log_pre) * ssum / aa
        # continued fraction for Q (modified Lentz)
        tiny = 1e-300
        b = xx + 1.0 - aa
        c = xp.full_like(aa, 1.0 / tiny)
        d = 1.0 / xp.where(use_series, 1.0, b)
        h = d.copy()
        for i in range(1, 2000):
            an = -i * (i - aa)
            b = b + 2.0
            d = an * d + b
            d = xp.where(xp.abs(d) < tiny, tiny, d)
            c = b + an / c
            c = xp.where(xp.abs(c) < tiny, tiny, c)
            d = 1.0 / d
            delta = d * c
            h = h * delta
            if not bool(xp.any(~use_series & (xp.abs(delta - 1.0) > 1e-16))):
                break
        q_cf = xp.exp(log_pre) * h
        p = xp.where(use_series, p_series, 1.0 - q_cf)
        q = xp.where(use_series, 1.0 - p_series, q_cf)
        val = q if upper else p
        # the edges in torch's order: a or x negative → nan; a == 0 → P = 1 where x > 0 (else nan); x == 0 →
        # P = 0; a == inf → P = 0 (nan at x == inf); x == inf → P = 1; what is left (a NaN) → nan
        lo, hi = (1.0, 0.0) if upper else (0.0, 1.0)
        edge = xp.where((a < 0) | (x < 0), xp.nan, xp.where(a == 0, xp.where(x > 0, hi, xp.nan), xp.where(
            x == 0, lo, xp.where(xp.isinf(a), xp.where(xp.isinf(x), xp.nan, lo), xp.where(xp.isinf(x), hi, xp.nan)))))
        return xp.where(ok, val, edge)
    return kernel


# ---- Bessel functions ------------------------------------------------------------------------------------
def _hankel_coeffs(nu: int, count: int) -> list[float]:
    """a_k(nu) = prod_{j<=k} (4 nu^2 - (2j - 1)^2) / (k! 8^k) of Hankel's expansions."""
    out, a = [1.0], Fraction(1)
    for k in range(1, count):
        a = a * (4 * nu * nu - (2 * k - 1) ** 2) / (k * 8)
        out.append(float(a))
    return out


_HANKEL0, _HANKEL1 = _hankel_coeffs(0, 30), _hankel_coeffs(1, 30)


def _bessel_i_kernel(nu: int, scaled: bool) -> Callable:
    """I0/I1 (optionally times exp(-|x|)): power series for |x| <= 20, Hankel's expansion beyond."""
    hankel = _HANKEL0 if nu == 0 else _HANKEL1

    def kernel(xp: Any, x: Any) -> Any:
        x = _f64(xp, x)
        ax = xp.abs(x)
        xs = xp.minimum(ax, 20.0)
        t = xs * xs / 4.0
        term = xp.ones_like(xs) if nu == 0 else xs / 2.0
        total = term
        for k in range(1, 60):
            term = term * t / (k * (k + nu))
            total = total + term
        small = total * xp.exp(-xs) if scaled else total
        xl = xp.maximum(ax, 20.0)
        inv = -1.0 / xl                                    # the series alternates in sign: (-1)^k a_k / x^k
        asym = _horner(hankel, inv) / xp.sqrt(2.0 * _PI * xl)
        if not scaled:
            half = xp.exp(xl / 2.0)
            asym = half * (half * asym)
        r = xp.where(ax <= 20.0, small, asym)
        return xp.where(x < 0, -r, r) if nu == 1 else r
    return kernel


_K_STEP = 1.0 / 16.0
_K_NODES = np.arange(0.0, 5.0, _K_STEP)


def _bessel_k_kernel(nu: int, scaled: bool) -> Callable:
    """K0/K1 (optionally times exp(x)): series for x <= 1, the trapezoidal rule on
    exp(x) K_nu(x) = int_0^inf exp(-x (cosh t - 1)) cosh(nu t) dt up to 20 (exponentially convergent),
    Hankel's expansion beyond."""
    i_nu = _bessel_i_kernel(nu, False)
    hankel = _HANKEL0 if nu == 0 else _HANKEL1

    def kernel(xp: Any, x: Any) -> Any:
        x = _f64(xp, x)
        xs = xp.clip(x, 1e-300, 1.0)
        t = xs * xs / 4.0
        log_half = xp.log(xs / 2.0)
        if nu == 0:
            term = xp.ones_like(xs)
            harmonic = 0.0
            total = xp.zeros_like(xs)
            for k in range(1, 30):
                term = term * t / (k * k)
                harmonic += 1.0 / k
                total = total + term * harmonic
            small = -(log_half + _EULER) * i_nu(xp, xs) + total
        else:   # K1 = 1/x + ln(x/2) I1 - (x/4) sum_k (psi(k+1) + psi(k+2)) t^k / (k! (k+1)!)
            term = xp.ones_like(xs)
            psi1 = -_EULER
            total = (2 * psi1 + 1.0) * term
            for k in range(1, 30):
                term = term * t / (k * (k + 1))
                psi1 += 1.0 / k
                total = total + term * (2 * psi1 + 1.0 / (k + 1))
            small = 1.0 / xs + log_half * i_nu(xp, xs) - xs / 4.0 * total
        if scaled:
            small = small * xp.exp(xs)
        xm = xp.clip(x, 1.0, 20.0)
        nodes = xp.asarray(_K_NODES)
        f = xp.exp(-xm.reshape(xm.shape + (1,)) * (2.0 * xp.sinh(nodes / 2.0) ** 2)) * xp.cosh(nu * nodes)
        mid = _K_STEP * (f.sum(axis=-1) - 0.5 * f[..., 0])
        xl = xp.maximum(x, 20.0)
        big = _horner(hankel, 1.0 / xl) * xp.sqrt(_PI / (2.0 * xl))
        if not scaled:
            mid = mid * xp.exp(-xm)
            big = big * xp.exp(-xl)
        r = xp.where(x <= 1.0, small, xp.where(x <= 20.0, mid, big))
        r = xp.where(x == 0, xp.inf, r)
        return xp.where((x < 0) | xp.isnan(x), xp.nan, xp.where(xp.isposinf(x), 0.0, r))
    return kernel


def _bessel_jy(xp: Any, x: Any) -> tuple[Any, Any, Any, Any]:
    """J0, J1, Y0, Y1 at |x| (Y at negative x is nan, as torch)."""
    ax = xp.abs(_f64(xp, x))
    xs = xp.clip(ax, 1e-8, 25.0)
    # Miller: recur J_{n-1} = (2n/x) J_n - J_{n+1} downward from n = 70, rescaling to avoid overflow,
    # normalised by J0 + 2 sum J_2k = 1; accumulate the Neumann sums for Y0 and Y1 alongside
    nmax = 70
    hi = xp.zeros_like(xs)
    cur = xp.full_like(xs, 1e-30)
    norm = xp.zeros_like(xs)
    y0_sum = xp.zeros_like(xs)          # sum_k (-1)^k J_2k / k
    y1_sum = xp.zeros_like(xs)          # sum_k (-1)^k (2k + 1) J_{2k+1} / (k (k + 1))
    j1 = xp.zeros_like(xs)
    for n in range(nmax, 0, -1):
        lower = (2.0 * n / xs) * cur - hi           # J_{n-1}
        hi, cur = cur, lower
        m = n - 1                                    # cur is J_m
        if m % 2 == 0 and m > 0:
            k = m // 2
            norm = norm + 2.0 * cur
            y0_sum = y0_sum + (-1) ** k * cur / k
        elif m % 2 == 1:
            k = (m - 1) // 2
            if k > 0:
                y1_sum = y1_sum + (-1) ** k * (2 * k + 1) * cur / (k * (k + 1))
        if m == 1:
            j1 = cur
        scale = xp.where(xp.abs(cur) > 1e250, 1e-250, 1.0)
        hi, cur, norm, y0_sum, y1_sum, j1 = (v * scale for v in (hi, cur, norm, y0_sum, y1_sum, j1))
    norm = norm + cur
    j0s, j1s = cur / norm, j1 / norm
    y0_sum, y1_sum = y0_sum / norm, y1_sum / norm
    lg = xp.log(xs / 2.0) + _EULER
    y0s = 2.0 / _PI * (lg * j0s - 2.0 * y0_sum)
    y1s = 2.0 / _PI * (lg * j1s - j0s / xs - j1s - y1_sum)
    # Hankel's expansions for |x| > 25
    xl = xp.maximum(ax, 25.0)
    inv = 1.0 / xl
    c, s = xp.cos(xl), xp.sin(xl)
    amp = xp.sqrt(2.0 / (_PI * xl))
    large = []
    for coeffs, sign in ((_HANKEL0, 1.0), (_HANKEL1, -1.0)):
        p = _horner(coeffs[0::2], -inv * inv)
        q = inv * _horner(coeffs[1::2], -inv * inv)
        # chi = x - pi/4 (nu = 0) or x - 3pi/4 (nu = 1); cos/sin of chi from cos x, sin x exactly
        cchi = (c + s) / math.sqrt(2) if sign > 0 else (s - c) / math.sqrt(2)
        schi = (s - c) / math.sqrt(2) if sign > 0 else -(c + s) / math.sqrt(2)
        large.append((amp * (p * cchi - q * schi), amp * (p * schi + q * cchi)))
    # |x| < 1e-8: the leading terms of the power series
    xt = xp.maximum(ax, 1e-300)
    lt = xp.log(xt / 2.0) + _EULER
    tiny = (1.0 - xt * xt / 4.0, xt / 2.0, 2.0 / _PI * (lt * (1.0 - xt * xt / 4.0) + xt * xt / 4.0),
            -2.0 / (_PI * xt) + xt / _PI * (lt - 0.5))
    out = []
    for t_, s_, l_ in zip(tiny, (j0s, j1s, y0s, y1s), (large[0][0], large[1][0], large[0][1], large[1][1]),
                          strict=True):
        out.append(xp.where(ax < 1e-8, t_, xp.where(ax <= 25.0, s_, l_)))
    return out[0], out[1], out[2], out[3]


def _jy_kernel(which: int) -> Callable:
    def kernel(xp: Any, x: Any) -> Any:
        x = _f64(xp, x)
        r = _bessel_jy(xp, x)[which]
        if which == 1:
            r = xp.where(x < 0, -r, r)
        if which >= 2:
            r = xp.where(x < 0, xp.nan, xp.where(x == 0, -xp.inf, r))
        return xp.where(xp.isinf(x), xp.nan, r)     # torch gives nan at ±inf
    return kernel


def spherical_j0_kernel(xp: Any, x: Any) -> Any:
    x = _f64(xp, x)
    small = xp.abs(x) < 0.5
    xs = xp.where(small, x, 1.0)
    x2 = xs * xs
    series = _horner([1.0, -1 / 6, 1 / 120, -1 / 5040, 1 / 362880, -1 / 39916800, 1 / 6227020800], x2)
    return xp.where(small, series, xp.where(xp.isinf(x), 0.0, xp.sin(x) / xp.where(small, 1.0, x)))


def _bessel_j_frac(xp: Any, nu: float, z: Any) -> Any:
    """J_nu(z) for fractional nu and 0 < z <= 30: Miller's backward recurrence from order nu + 80,
    normalised by (z/2)^nu = sum_k (nu + 2k) Gamma(nu + k) / k! J_{nu+2k}(z)."""
    hi = xp.zeros_like(z)
    cur = xp.full_like(z, 1e-30)
    norm = xp.zeros_like(z)
    top = 80
    coef = [math.gamma(nu + 1.0)]                     # (nu + 2k) Gamma(nu + k) / k!, k = 0, 1, …
    ratio = math.gamma(nu + 1.0)                      # Gamma(nu + k) / k!
    for k in range(1, top // 2 + 1):
        ratio = ratio * (nu + k - 1) / k if k > 1 else ratio
        coef.append((nu + 2 * k) * ratio)
    for n in range(top, 0, -1):
        hi, cur = cur, (2.0 * (nu + n) / z) * cur - hi   # cur is now J_{nu + n - 1}
        m = n - 1
        if m % 2 == 0:
            norm = norm + coef[m // 2] * cur
        scale = xp.where(xp.abs(cur) > 1e250, 1e-250, 1.0)
        hi, cur, norm = hi * scale, cur * scale, norm * scale
    return cur * xp.power(z / 2.0, nu) / norm


def _airy_ai(xp: Any, x: Any) -> Any:
    """Ai(x): Maclaurin series on [-2, 1]; for x > 1 Ai(x) = sqrt(x/3) K_{1/3}(zeta) / pi (zeta =
    2/3 |x|^(3/2)) by the trapezoidal rule up to x = 8 and the asymptotic series beyond; for x < -2
    Ai(x) = sqrt(|x|)/3 (J_{1/3}(zeta) + J_{-1/3}(zeta)) up to -12 and the oscillatory asymptotic
    series beyond (DLMF 9.6, 9.7)."""
    x = _f64(xp, x)
    c1, c2 = 0.355028053887817239, 0.258819403792806798      # Ai(0), -Ai'(0)
    xs = xp.clip(x, -2.0, 1.0)
    x3 = xs ** 3
    tf, tg = xp.ones_like(xs), xs.copy()
    f, g = tf, tg
    for k in range(1, 30):
        tf = tf * x3 / ((3 * k - 1) * (3 * k))
        tg = tg * x3 / ((3 * k) * (3 * k + 1))
        f, g = f + tf, g + tg
    small = c1 * f - c2 * g
    y = xp.maximum(xp.abs(x), 1.0)
    zeta = 2.0 / 3.0 * y ** 1.5
    u = [1.0]
    for k in range(1, 20):
        u.append(u[-1] * (6 * k - 5) * (6 * k - 3) * (6 * k - 1) / ((2 * k - 1) * 216 * k))
    # x > 1
    zm = xp.minimum(zeta, 2.0 / 3.0 * 8.0 ** 1.5)
    nodes = xp.asarray(_K_NODES)
    f = xp.exp(-zm.reshape(zm.shape + (1,)) * xp.cosh(nodes)) * xp.cosh(nodes / 3.0)
    mid = xp.sqrt(xp.minimum(y, 8.0) / 3.0) / _PI * _K_STEP * (f.sum(axis=-1) - 0.5 * f[..., 0])
    far = xp.exp(-zeta) / (2.0 * _SQRT_PI * y ** 0.25) * _horner(u, -1.0 / zeta)
    right = xp.where(x <= 8.0, mid, far)
    # x < -2
    zb = xp.clip(zeta, 2.0 / 3.0 * 2.0 ** 1.5, 2.0 / 3.0 * 12.0 ** 1.5)
    bessel = xp.sqrt(xp.clip(y, 2.0, 12.0)) / 3.0 * (_bessel_j_frac(xp, 1 / 3, zb)
                                                     + _bessel_j_frac(xp, -1 / 3, zb))
    inv2 = -1.0 / (zeta * zeta)
    osc = (xp.cos(zeta - _PI / 4) * _horner(u[0::2], inv2) + xp.sin(zeta - _PI / 4) * _horner(u[1::2], inv2)
           / zeta) / (_SQRT_PI * y ** 0.25)
    left = xp.where(x >= -12.0, bessel, osc)
    r = xp.where(x < -2.0, left, xp.where(x <= 1.0, small, right))
    return xp.where(xp.isinf(x), xp.nan, r)       # torch gives nan at ±inf


# ---- orthogonal polynomials ------------------------------------------------------------------------------
def _poly_kernel(kind: str) -> Callable:
    """p_n(x) by its three-term recurrence (vectorised over both x and n, up to max n), with torch's
    special cases: n < 0 → 0, the values at |x| = 1, and trigonometric forms of the Chebyshev kinds for
    large n inside (-1, 1)."""
    shifted = kind.startswith("shifted_")
    base = kind.removeprefix("shifted_")

    def kernel(xp: Any, x: Any, n: Any) -> Any:
        limit = 128 if x.dtype == np.float32 else 512 if x.dtype == np.float64 else 1024   # torch's, for H
        n = xp.where(xp.isfinite(n), n, -1).astype(np.int64) if n.dtype.kind == "f" else n.astype(np.int64)
        x = _f64(xp, x)
        x, n = xp.broadcast_arrays(x, n)
        if shifted:
            x = x + x - 1.0
        p = xp.ones_like(x)
        first = {"t": x, "u": x + x, "v": x + x - 1.0, "w": x + x + 1.0, "h": x + x, "he": x, "l": 1.0 - x,
                 "p": x}[base]
        q = first
        r = xp.where(n == 0, p, xp.where(n == 1, q, 0.0))
        top = int(n.max()) if n.size else 0
        if base in ("h", "he"):
            top = min(top, limit + 1)
        for k in range(1, top):
            if base in ("t", "u", "v", "w"):
                nxt = (x + x) * q - p
            elif base == "h":
                nxt = (x + x) * q - (2 * k) * p
            elif base == "he":
                nxt = x * q - k * p
            elif base == "l":
                nxt = ((2 * k + 1 - x) * q - k * p) / (k + 1)
            else:
                nxt = ((2 * k + 1) * x * q - k * p) / (k + 1)
            p, q = q, nxt
            r = xp.where(n == k + 1, q, r)
        r = _poly_special(xp, base, x, n, r, limit)
        return xp.where(n < 0, 0.0, r)
    return kernel


def _poly_special(xp: Any, base: str, x: Any, n: Any, r: Any, limit: int) -> Any:
    """torch's closed forms: values at |x| == 1 and the trigonometric branch of the Chebyshev kinds."""
    nf = n.astype(np.float64)
    odd_neg = (x < 0) & (n % 2 == 1)
    one = xp.abs(x) == 1.0
    if base in ("t", "p"):
        return xp.where(one, xp.where(odd_neg, -1.0, 1.0), r if base == "p" else xp.where(
            (n > 6) & (xp.abs(x) < 1), xp.cos(nf * xp.arccos(xp.clip(x, -1, 1))), r))
    if base in ("h", "he"):
        return xp.where(n > limit, xp.nan, r)
    if base == "l":
        return xp.where(x == 0, 1.0, r)
    theta = xp.arccos(xp.clip(x, -1, 1))
    inner = (n > 8) & (xp.abs(x) < 1)
    if base == "u":
        at_one = xp.where(odd_neg, -(nf + 1), nf + 1)
        trig = xp.sin((nf + 1) * theta) / xp.sin(theta)
    elif base == "v":
        at_one = xp.where(x > 0, 1.0, xp.where(n % 2 == 0, 2 * nf + 1, -(2 * nf + 1)))
        trig = xp.cos((nf + 0.5) * theta) / xp.cos(theta / 2)
    else:
        at_one = xp.where(x > 0, 2 * nf + 1, xp.where(n % 2 == 0, 1.0, -1.0))
        trig = xp.sin((nf + 0.5) * theta) / xp.sin(theta / 2)
    return xp.where(one, at_one, xp.where(inner, trig, r))


# ---- ops -----------------------------------------------------------------------------------------------
_TWO_OVER_SQRT_PI = 2.0 / _SQRT_PI


def _no_complex(kernel: str, half: bool = False) -> dict:
    """torch's kernel errors: complex inputs always; float16/bfloat16 too for some (``half``)."""
    err = ni(kernel)
    return {"c": err, "float16": err, "bfloat16": err} if half else {"c": err}


erf = unary("erf", erf_kernel, lambda g, x, r: g * (_TWO_OVER_SQRT_PI * exp(-x * x)),
            deny=_no_complex("erf_vml_cpu"))
erfc = unary("erfc", erfc_kernel, lambda g, x, r: g * (-_TWO_OVER_SQRT_PI * exp(-x * x)),
             deny=_no_complex("erfc_vml_cpu"))
def _erfinv_grad(g: Tensor, x: Tensor, r: Any) -> Tensor:
    """From the input, as torch's (which saves it, not the result: changing the result in place is allowed)."""
    e = erfinv(x)
    return g * (_SQRT_PI / 2 * exp(e * e))


erfinv = unary("erfinv", erfinv_kernel, _erfinv_grad, deny=_no_complex("erfinv_vml_cpu"))
lgamma = unary("lgamma", lgamma_kernel, lambda g, x, r: g * digamma(x), deny=_no_complex("lgamma_vml_cpu"))
digamma = unary("digamma", digamma_kernel, lambda g, x, r: g * polygamma(1, x), deny=_no_complex("digamma"))
_polygamma = unary("polygamma", polygamma_kernel, lambda g, x, r, n: g * polygamma(n + 1, x), method=False)


def polygamma(n: int, input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The n-th derivative of digamma."""
    _polygamma_check(n, input)
    return _polygamma(input, n, out=out)


def _polygamma_check(n: int, input: Any) -> None:
    """torch's checks: a non-negative ``n``, a real input (its kernel's name depends on ``n``)."""
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    if isinstance(input, Tensor) and input._dtype.is_complex:
        raise_denied(ni({0: "digamma", 1: "trigamma"}.get(n, "polygamma")), input._dtype)


def _polygamma_method(self: Tensor, n: int) -> Tensor:
    return polygamma(n, self)


def _polygamma_inplace(self: Tensor, n: int) -> Tensor:
    _polygamma_check(n, self)
    out = _polygamma._inplace(self, n)  # type: ignore[attr-defined]
    if type(out._grad_fn).__name__ == "PolygammaBackward0":   # torch's in-place overload has its own node
        from .views import _rename_node
        _rename_node(out._grad_fn)
    return out


def _mvlgamma_fwd(xp: Any, x: Any, p: int) -> Any:
    """torch's composite in ``x``'s dtype ``dt``: the lgamma of each of x - (p - 1)/2 .. x, their sum (in that
    order), plus p (p - 1) / 4 log(pi) (rounded to ``dt``), each step computed in ``dt`` or float32 if narrower
    (torch's opmath) and rounded to ``dt`` (16-bit inputs near a pole of a term give its inf, as torch's)."""
    dt = x.dtype
    ct = np.promote_types(dt, np.float32)

    def rounded(a: Any) -> Any:
        return a.astype(ct).astype(dt).astype(np.float64)
    x = _f64(xp, x)
    total = rounded(sum(rounded(lgamma_kernel(xp, rounded(x - j / 2))) for j in range(p - 1, -1, -1)))
    return total + float(np.asarray(p * (p - 1) / 4 * math.log(_PI)).astype(dt))


def _mvlgamma_grad(g: Tensor, x: Tensor, r: Any, p: int) -> Tensor:
    total = digamma(x)
    for j in range(1, p):
        total = total + digamma(x - j / 2)
    return g * total


_mvlgamma = unary("mvlgamma", _mvlgamma_fwd, _mvlgamma_grad, method=False, deny={
    "b": (RuntimeError, "The input tensor may not be a boolean tensor."), "c": ni("arange_cpu")})


def _mvlgamma_check(input: Tensor, p: int) -> None:
    """torch's checks, in its order: a bool input, ``p``, then a complex one (its arange's error)."""
    if input._dtype is D.bool:
        raise RuntimeError("The input tensor may not be a boolean tensor.")
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    if input.is_complex():
        raise_denied(ni("arange_cpu"), input._dtype)


def mvlgamma(input: Tensor, p: int, *, out: Tensor | None = None) -> Tensor:
    """The multivariate log-gamma function of dimension ``p`` (like torch, no domain check: inputs
    at most (p-1)/2 give inf or the continuation of lgamma)."""
    _mvlgamma_check(input, p)
    rt = _k_float(input._dtype)[1]
    if out is not None and not D.can_cast(rt, out._dtype):   # (torch's wording: the input's dtype, the result's)
        raise RuntimeError(f"mvlgamma: result type {input._dtype._short} can't be cast to the desired output type "
                           f"{rt._short}")
    return _mvlgamma(input, p, out=out)


def _mvlgamma_inplace(self: Tensor, p: int) -> Tensor:
    _mvlgamma_check(self, p)
    if self._dtype.category < 2:   # (torch's wording: the input's dtype as the result's)
        raise RuntimeError(f"mvlgamma: result type {self._dtype._short} can't be cast to the desired output type "
                           f"{D.get_default_dtype()._short}")
    return _mvlgamma._inplace(self, p)  # type: ignore[attr-defined]


i0 = unary("i0", _bessel_i_kernel(0, False), lambda g, x, r: g * special_i1(x),
           deny=_no_complex("i0_vml_cpu"))
special_i0e = unary("special_i0e", _bessel_i_kernel(0, True),
                    lambda g, x, r: g * (special_i1e(x) - x.sgn() * r), saves="xr",
                    grad_name="SpecialI0EBackward0", method=False, deny=_no_complex("i0e_cpu"))


def _i1_grad(scaled: bool) -> Callable:
    def grad(g: Tensor, x: Tensor, r: Tensor) -> Tensor:
        if x._dtype.itemsize == 2:   # torch's backward kernels lack the 16-bit floats
            raise_denied(ni("i1e_backward" if scaled else "i1_backward"), x._dtype)
        zero = x == 0
        safe = x.masked_fill(zero, 1)
        base = (special_i0e(x) - r * (x.sgn() + 1 / safe)) if scaled else (i0(x) - r / safe)
        return g * base.masked_fill(zero, 0.5)
    return grad


special_i1 = unary("special_i1", _bessel_i_kernel(1, False), _i1_grad(False), saves="xr",
                   grad_name="SpecialI1Backward0", method=False, deny=_no_complex("i1_cpu"))
special_i1e = unary("special_i1e", _bessel_i_kernel(1, True), _i1_grad(True), saves="xr",
                    grad_name="SpecialI1EBackward0", method=False, deny=_no_complex("i1e_cpu"))
special_erfcx = unary("special_erfcx", erfcx_kernel, lambda g, x, r: g * (2 * x * r - _TWO_OVER_SQRT_PI),
                      saves="xr", grad_name="SpecialErfcxBackward0", method=False,
                      deny=_no_complex("erfcx_cpu", True))
special_ndtri = unary("special_ndtri", ndtri_kernel,
                      lambda g, x, r: g * (math.sqrt(2 * _PI) * exp(r * r / 2)), saves="r",
                      grad_name="SpecialNdtriBackward0", method=False, deny=_no_complex("ndtri_cpu", True))
special_log_ndtr = unary("special_log_ndtr", log_ndtr_kernel,
                         lambda g, x, r: g / math.sqrt(2 * _PI) * exp(-(r + x * x / 2)), saves="xr",
                         grad_name="SpecialLogNdtrBackward0", method=False,
                         deny=_no_complex("log_ndtr_cpu", True))


def _entr_fwd(xp: Any, x: Any) -> Any:
    with np.errstate(all="ignore"):
        r = -x * xp.log(x)
    return xp.where(x > 0, r, xp.where(x == 0, xp.zeros((), x.dtype), xp.where(x < 0, -xp.inf, x)))


special_entr = unary("special_entr", _entr_fwd, lambda g, x, r: g * -(log(x) + 1),
                     grad_name="SpecialEntrBackward0", method=False, deny=_no_complex("entr_cpu"))


def special_ndtr(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The standard normal CDF ``(1 + erf(x / sqrt 2)) / 2``, composed exactly as torch does (so its lower
    tail rounds to 0 below about -8.3, like torch's)."""
    return mul(erf(input * math.sqrt(0.5)) + 1, 0.5, out=out)


def special_round(input: Tensor, *, decimals: int = 0, out: Tensor | None = None) -> Tensor:
    """``torch.special.round``: torch's ``round(decimals=)`` overload, whose ``decimals=0`` kernel (after the
    out= dtype check) refuses integer and complex tensors, unlike the plain torch.round."""
    if decimals == 0 and isinstance(input, Tensor) and not input._dtype.is_floating_point:
        if out is not None:
            _check_out_dtype("round", "strict", out, input._dtype, input._dtype)
        raise_denied(ni("round_vml_cpu"), input._dtype)
    return _round_dec(input, decimals, out=out)


def _xlog1py_fwd(xp: Any, a: Any, b: Any) -> Any:
    r = xp.multiply(a, xp.log1p(b))
    return xp.where((a == 0) & ~xp.isnan(b), xp.zeros((), r.dtype), r)


def _xlog1py_grad(g: Tensor, a: Any, b: Any, r: Any) -> tuple:
    ga = gb = None
    if isinstance(a, Tensor) and a._rg:
        ga = special_xlog1py(g, b)
        ga = ga.masked_fill((a == 0) & (b <= -1), 0) if isinstance(b, Tensor) else \
            (ga.masked_fill(a == 0, 0) if b <= -1 else ga)
    if isinstance(b, Tensor) and b._rg:
        gb = g * a / (b + 1)
    return ga, gb


def _variant_names(op: str) -> Callable:
    def name(a: Any, b: Any) -> str:
        if not isinstance(a, Tensor):
            return f"{op}Backward1"
        return f"{op}Backward0" if isinstance(b, Tensor) else f"{op}Backward2"
    return name


special_xlog1py = binary("special_xlog1py", _xlog1py_fwd, _xlog1py_grad, kind=_k_float, method=False,
                         deny=_no_complex("xlog1py_cpu"), grad_name=_variant_names("SpecialXlog1Py"))


def _zeta_grad(g: Tensor, s: Any, q: Any, r: Any) -> tuple:
    if isinstance(s, Tensor) and s._rg:
        raise NotImplementedError("the derivative for 'zeta' is not implemented.")
    return None, g * -s * special_zeta(s + 1.0, q)


special_zeta = binary("special_zeta", zeta_kernel, _zeta_grad, kind=_k_float, method=False,
                      deny=_no_complex("zeta_cpu", True), grad_name=_variant_names("SpecialZeta"))


def _igamma_grad(upper: bool) -> Callable:
    name = "igammac" if upper else "igamma"

    def grad(g: Tensor, a: Tensor, x: Tensor, r: Any) -> tuple:
        if a._rg:
            raise NotImplementedError(f"the derivative for '{name}: input' is not implemented.")
        d = exp((a - 1) * log(x) - x - lgamma(a))
        return None, g * (-d if upper else d)
    return grad


special_gammainc = binary("special_gammainc", _igamma_kernel(False), _igamma_grad(False), method=False,
                          scalars="", grad_name="IgammaBackward0", deny={c: ni("igamma_cpu") for c in "bic"})
special_gammaincc = binary("special_gammaincc", _igamma_kernel(True), _igamma_grad(True), method=False,
                           scalars="", grad_name="IgammacBackward0",
                           deny={c: ni("igammac_cpu") for c in "bic"})


def _plain(name: str, kernel: Callable, names: tuple[str, ...] = ()) -> Callable:
    """A special function torch does not differentiate (its result never requires grad)."""
    return unary(f"special_{name}", kernel, method=False, deny=_no_complex(f"{name}_cpu", True), names=names)


special_bessel_j0 = _plain("bessel_j0", _jy_kernel(0))
special_bessel_j1 = _plain("bessel_j1", _jy_kernel(1))
special_bessel_y0 = _plain("bessel_y0", _jy_kernel(2))
special_bessel_y1 = _plain("bessel_y1", _jy_kernel(3))
special_modified_bessel_i0 = _plain("modified_bessel_i0", _bessel_i_kernel(0, False))
special_modified_bessel_i1 = _plain("modified_bessel_i1", _bessel_i_kernel(1, False))
special_modified_bessel_k0 = _plain("modified_bessel_k0", _bessel_k_kernel(0, False))
special_modified_bessel_k1 = _plain("modified_bessel_k1", _bessel_k_kernel(1, False))
special_scaled_modified_bessel_k0 = _plain("scaled_modified_bessel_k0", _bessel_k_kernel(0, True), ("x",))
special_scaled_modified_bessel_k1 = _plain("scaled_modified_bessel_k1", _bessel_k_kernel(1, True), ("x",))
special_spherical_bessel_j0 = _plain("spherical_bessel_j0", spherical_j0_kernel, ("x",))
special_airy_ai = _plain("airy_ai", _airy_ai, ("x",))


_POLY_NAMES = {"chebyshev_polynomial_t": "t", "chebyshev_polynomial_u": "u", "chebyshev_polynomial_v": "v",
               "chebyshev_polynomial_w": "w", "shifted_chebyshev_polynomial_t": "shifted_t",
               "shifted_chebyshev_polynomial_u": "shifted_u", "shifted_chebyshev_polynomial_v": "shifted_v",
               "shifted_chebyshev_polynomial_w": "shifted_w", "hermite_polynomial_h": "h",
               "hermite_polynomial_he": "he", "laguerre_polynomial_l": "l", "legendre_polynomial_p": "p"}
POLYNOMIALS = {name: binary(f"special_{name}", _poly_kernel(kind), None, kind=_k_float, method=False,
                            deny=_no_complex(f"{name}_cpu", True), names=("x", "n"))
               for name, kind in _POLY_NAMES.items()}

Tensor.polygamma = _polygamma_method  # type: ignore[attr-defined]
Tensor.polygamma_ = _polygamma_inplace  # type: ignore[attr-defined]
Tensor.mvlgamma = mvlgamma  # type: ignore[attr-defined]
Tensor.mvlgamma_ = _mvlgamma_inplace  # type: ignore[attr-defined]
erf_, erfc_, i0_ = Tensor.erf_, Tensor.erfc_, Tensor.i0_  # type: ignore[attr-defined]

__all__ = ["erf", "erfc", "erfinv", "lgamma", "digamma", "polygamma", "mvlgamma", "i0", "erf_", "erfc_",
           "i0_"]
