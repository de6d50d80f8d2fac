"""Von Mises (circular normal) distribution (torch.distributions.VonMises)."""

from __future__ import annotations

import math

import ember

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, lazy_property

__all__ = ["VonMises"]

# Polynomial approximations of the modified Bessel functions I0 and I1 (Abramowitz & Stegun 9.8.1-9.8.4):
# for x < 3.75 in (x / 3.75)^2, else of exp(-x) sqrt(x) I(x) in 3.75 / x. Lowest degree first.
_BESSEL_SMALL = (
    (1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.0360768, 0.0045813),
    (0.5, 0.87890594, 0.51498869, 0.15084934, 0.02658733, 0.00301532, 0.00032411),
)
_BESSEL_LARGE = (
    (0.39894228, 0.01328592, 0.00225319, -0.00157565, 0.00916281, -0.02057706, 0.02635537, -0.01647633, 0.00392377),
    (0.39894228, -0.03988024, -0.00362018, 0.00163801, -0.01031555, 0.02282967, -0.02895312, 0.01787654,
     -0.00420059),
)


def _horner(y, coefs):  # noqa: ANN001, ANN202
    """``sum_k coefs[k] * y**k`` by Horner's rule."""
    acc = coefs[-1]
    for c in reversed(coefs[:-1]):
        acc = c + y * acc
    return acc


def _log_modified_bessel_fn(x, order: int = 0):  # noqa: ANN001, ANN202
    """``log I_order(x)`` for ``x > 0`` and order 0 or 1."""
    if order not in (0, 1):
        raise AssertionError(f"order must be 0 or 1, got {order}")
    y = x / 3.75
    small = _horner(y * y, _BESSEL_SMALL[order])
    if order == 1:
        small = x.abs() * small
    large = x - 0.5 * x.log() + _horner(3.75 / x, _BESSEL_LARGE[order]).log()
    return ember.where(x < 3.75, small.log(), large)


def _rejection_sample(loc, concentration, proposal_r, x):  # noqa: ANN001, ANN202
    """Best & Fisher's (1979) wrapped-Cauchy rejection sampler: every round draws three uniforms per element
    (one ``rand((3,) + shape)`` call, as torch) and keeps the first accepted proposal of each element."""
    done = ember.zeros(x.shape, dtype=ember.bool, device=loc.device)
    while not bool(done.all()):
        u1, u2, u3 = ember.rand((3,) + tuple(x.shape), dtype=loc.dtype, device=loc.device).unbind()
        z = ember.cos(math.pi * u1)
        f = (1 + proposal_r * z) / (proposal_r + z)
        c = concentration * (proposal_r - f)
        accept = (c * (2 - c) - u2 > 0) | ((c / u2).log() + 1 - c >= 0)
        if bool(accept.any()):
            x = ember.where(accept, (u3 - 0.5).sign() * f.acos(), x)
            done = done | accept
    return (x + math.pi + loc) % (2 * math.pi) - math.pi


class VonMises(Distribution):
    """Circular distribution on [-pi, pi) with mean direction ``loc`` and concentration ``concentration``;
    sampled by rejection in float64, ``log_prob`` with a polynomial approximation of ``log I0``."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args: bool | None = None) -> None:  # noqa: ANN001
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, ember.Size(), validate_args)

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        log_prob = self.concentration * ember.cos(value - self.loc)
        return log_prob - math.log(2 * math.pi) - _log_modified_bessel_fn(self.concentration, order=0)

    @lazy_property
    def _loc(self):  # noqa: ANN202
        return self.loc.to(ember.double)

    @lazy_property
    def _concentration(self):  # noqa: ANN202
        return self.concentration.to(ember.double)

    @lazy_property
    def _proposal_r(self):  # noqa: ANN202
        """The wrapped-Cauchy envelope's ``r``; its Taylor form ``1/kappa + kappa`` for tiny kappa."""
        kappa = self._concentration
        tau = 1 + (1 + 4 * kappa**2).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
        return ember.where(kappa < 1e-5, 1 / kappa + kappa, (1 + rho**2) / (2 * rho))

    def sample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        with ember.no_grad():
            shape = self._extended_shape(sample_shape)
            x = ember.empty(shape, dtype=self._loc.dtype, device=self.loc.device)
            return _rejection_sample(self._loc, self._concentration, self._proposal_r, x).to(self.loc.dtype)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        try:
            return super().expand(batch_shape)
        except NotImplementedError:
            validate_args = self.__dict__.get("_validate_args")
            return type(self)(self.loc.expand(batch_shape), self.concentration.expand(batch_shape),
                              validate_args=validate_args)

    @property
    def mean(self):  # noqa: ANN201
        return self.loc

    @property
    def mode(self):  # noqa: ANN201
        return self.loc

    @lazy_property
    def variance(self):  # noqa: ANN201
        """``1 - I1(kappa) / I0(kappa)`` (circular variance)."""
        return 1 - (_log_modified_bessel_fn(self.concentration, order=1)
                    - _log_modified_bessel_fn(self.concentration, order=0)).exp()
