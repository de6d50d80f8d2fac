"""Continuous Bernoulli distribution (torch.distributions.ContinuousBernoulli)."""

from __future__ import annotations

import math
from numbers import Number

import ember

from . import constraints
from .exp_family import ExponentialFamily
from .utils import broadcast_all, clamp_probs, expanded, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(ExponentialFamily):
    """Density proportional to ``p^x (1-p)^(1-x)`` on [0, 1] (Loaiza-Ganem & Cunningham, 2019).  Near
    ``probs = 1/2`` (inside ``lims``) the normaliser and moments use Taylor expansions, as torch."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims: tuple[float, float] = (0.499, 0.501),  # noqa: ANN001
                 validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            is_scalar = isinstance(probs, Number)
            (self.probs,) = broadcast_all(probs)
            if validate_args is not None and not self.arg_constraints["probs"].check(self.probs).all():
                raise ValueError("The parameter probs has invalid values")
            self.probs = clamp_probs(self.probs)
            self._param = self.probs
        else:
            is_scalar = isinstance(logits, Number)
            (self.logits,) = broadcast_all(logits)
            self._param = self.logits
        self._lims = lims
        super().__init__(ember.Size() if is_scalar else self._param.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        shape = ember.Size(batch_shape)
        params = {k: self.__dict__[k].expand(shape) for k in ("probs", "logits") if k in self.__dict__}
        param = params.get("logits", params.get("probs"))
        return expanded(self, ContinuousBernoulli, shape, _instance, _lims=self._lims, _param=param, **params)

    def _new(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        return self._param.new(*args, **kwargs)

    def _outside_unstable_region(self):  # noqa: ANN202
        return ember.max(ember.le(self.probs, self._lims[0]), ember.gt(self.probs, self._lims[1]))

    def _cut_probs(self):  # noqa: ANN202
        return ember.where(self._outside_unstable_region(), self.probs, self._lims[0] * ember.ones_like(self.probs))

    def _cont_bern_log_norm(self):  # noqa: ANN202
        """Log normalising constant as a function of ``probs``."""
        p = self._cut_probs()
        below = ember.where(ember.le(p, 0.5), p, ember.zeros_like(p))
        above = ember.where(ember.ge(p, 0.5), p, ember.ones_like(p))
        log_norm = ember.log(ember.abs(ember.log1p(-p) - ember.log(p))) - ember.where(
            ember.le(p, 0.5), ember.log1p(-2.0 * below), ember.log(2.0 * above - 1.0))
        x = ember.pow(self.probs - 0.5, 2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return ember.where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self):  # noqa: ANN201
        p = self._cut_probs()
        mus = p / (2.0 * p - 1.0) + 1.0 / (ember.log1p(-p) - ember.log(p))
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * ember.pow(x, 2)) * x
        return ember.where(self._outside_unstable_region(), mus, taylor)

    @property
    def stddev(self):  # noqa: ANN201
        return ember.sqrt(self.variance)

    @property
    def variance(self):  # noqa: ANN201
        p = self._cut_probs()
        var = p * (p - 1.0) / ember.pow(1.0 - 2.0 * p, 2) + 1.0 / ember.pow(ember.log1p(-p) - ember.log(p), 2)
        x = ember.pow(self.probs - 0.5, 2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return ember.where(self._outside_unstable_region(), var, taylor)

    @lazy_property
    def logits(self):  # noqa: ANN201
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):  # noqa: ANN201
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    @property
    def param_shape(self) -> ember.Size:
        return self._param.size()

    def sample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        u = ember.rand(self._extended_shape(sample_shape), dtype=self.probs.dtype, device=self.probs.device)
        with ember.no_grad():
            return self.icdf(u)

    def rsample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        u = ember.rand(self._extended_shape(sample_shape), dtype=self.probs.dtype, device=self.probs.device)
        return self.icdf(u)

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        bce = ember.nn.functional.binary_cross_entropy_with_logits(logits, value, reduction="none")
        return -bce + self._cont_bern_log_norm()

    def cdf(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        p = self._cut_probs()
        cdfs = (ember.pow(p, value) * ember.pow(1.0 - p, 1.0 - value) + p - 1.0) / (2.0 * p - 1.0)
        inner = ember.where(self._outside_unstable_region(), cdfs, value)
        return ember.where(ember.le(value, 0.0), ember.zeros_like(value),
                           ember.where(ember.ge(value, 1.0), ember.ones_like(value), inner))

    def icdf(self, value):  # noqa: ANN001, ANN201
        p = self._cut_probs()
        inv = (ember.log1p(-p + value * (2.0 * p - 1.0)) - ember.log1p(-p)) / (ember.log(p) - ember.log1p(-p))
        return ember.where(self._outside_unstable_region(), inv, value)

    def entropy(self):  # noqa: ANN201
        log_p0 = ember.log1p(-self.probs)
        log_p1 = ember.log(self.probs)
        return self.mean * (log_p0 - log_p1) - self._cont_bern_log_norm() - log_p0

    @property
    def _natural_params(self) -> tuple:
        return (self.logits,)

    def _log_normalizer(self, x):  # noqa: ANN001, ANN202
        """Log normalising constant as a function of the natural parameter."""
        stable = ember.max(ember.le(x, self._lims[0] - 0.5), ember.gt(x, self._lims[1] - 0.5))
        cut = ember.where(stable, x, (self._lims[0] - 0.5) * ember.ones_like(x))
        log_norm = ember.log(ember.abs(ember.special.expm1(cut))) - ember.log(ember.abs(cut))
        taylor = 0.5 * x + ember.pow(x, 2) / 24.0 - ember.pow(x, 4) / 2880.0
        return ember.where(stable, log_norm, taylor)
