"""Generalized Pareto distribution (torch.distributions.GeneralizedPareto)."""

from __future__ import annotations

import math
from numbers import Number

import ember

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, expanded

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """Peaks over ``loc`` with ``scale`` and tail shape ``concentration`` (exponential at 0, bounded below 0),
    sampled by inverting the cdf."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args: bool | None = None) -> None:  # noqa: ANN001
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        scalar = all(isinstance(v, Number) for v in (loc, scale, concentration))
        super().__init__(ember.Size() if scalar else self.loc.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        shape = ember.Size(batch_shape)
        return expanded(self, GeneralizedPareto, shape, _instance, loc=self.loc.expand(shape),
                        scale=self.scale.expand(shape), concentration=self.concentration.expand(shape))

    def _safe_concentration(self):  # noqa: ANN202
        """(concentration == 0 up to isclose, the concentration with 1 in those places)."""
        c = self.concentration
        zero = ember.isclose(c, ember.zeros_like(c))
        return zero, ember.where(zero, ember.ones_like(c), c)

    def rsample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        u = ember.rand(self._extended_shape(sample_shape), dtype=self.loc.dtype, device=self.loc.device)
        return self.icdf(u)

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        zero, c = self._safe_concentration()
        y = 1 / c + ember.ones_like(z)
        nonzero = ember.where(y == 0, y, y * ember.log1p(c * z))
        return -self.scale.log() - ember.where(zero, z, nonzero)

    def log_survival_function(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        zero, c = self._safe_concentration()
        return ember.where(zero, -z, -ember.log1p(c * z) / c)

    def log_cdf(self, value):  # noqa: ANN001, ANN201
        return ember.log1p(-ember.exp(self.log_survival_function(value)))

    def cdf(self, value):  # noqa: ANN001, ANN201
        return ember.exp(self.log_cdf(value))

    def icdf(self, value):  # noqa: ANN001, ANN201
        zero, c = self._safe_concentration()
        logu = ember.log1p(-value)
        nonzero = self.loc + self.scale / c * ember.expm1(-c * logu)
        return ember.where(zero, self.loc - self.scale * logu, nonzero)

    def _z(self, x):  # noqa: ANN001, ANN202
        return (x - self.loc) / self.scale

    @property
    def mean(self):  # noqa: ANN201
        c = self.concentration
        valid = c < 1
        result = self.loc + self.scale / (1 - ember.where(valid, c, 0.5))
        return ember.where(valid, result, math.nan)

    @property
    def variance(self):  # noqa: ANN201
        c = self.concentration
        valid = c < 0.5
        safe = ember.where(valid, c, 0.25)
        result = self.scale**2 / ((1 - safe) ** 2 * (1 - 2 * safe))
        return ember.where(valid, result, math.nan)

    def entropy(self):  # noqa: ANN201
        return ember.broadcast_to(ember.log(self.scale) + self.concentration + 1, self._batch_shape)

    @property
    def mode(self):  # noqa: ANN201
        return self.loc

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):  # noqa: ANN201
        lower = self.loc
        upper = ember.where(self.concentration < 0, lower - self.scale / self.concentration, math.inf)
        return constraints.interval(lower, upper)
