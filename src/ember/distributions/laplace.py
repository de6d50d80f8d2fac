"""Laplace and Cauchy distributions (torch.distributions.Laplace / Cauchy)."""

from __future__ import annotations

import math

import ember

from .normal import LocScale

__all__ = ["Cauchy", "Laplace"]


class Laplace(LocScale):
    """Double-exponential with location ``loc`` and scale ``scale``."""

    @property
    def mean(self):  # noqa: ANN201
        return self.loc

    @property
    def variance(self):  # noqa: ANN201
        return 2 * self.scale.pow(2)

    @property
    def stddev(self):  # noqa: ANN201
        return (2**0.5) * self.scale

    def rsample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        shape = self._extended_shape(sample_shape)
        u = self.loc.new(shape).uniform_(ember.finfo(self.loc.dtype).eps - 1, 1)
        return self.loc - self.scale * u.sign() * ember.log1p(-u.abs())

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        return -ember.log(2 * self.scale) - ember.abs(value - self.loc) / self.scale

    def cdf(self, value):  # noqa: ANN001, ANN201
        return 0.5 - 0.5 * (value - self.loc).sign() * ember.expm1(-(value - self.loc).abs() / self.scale)

    def icdf(self, value):  # noqa: ANN001, ANN201
        term = value - 0.5
        return self.loc - self.scale * term.sign() * ember.log1p(-2 * term.abs())

    def entropy(self):  # noqa: ANN201
        return 1 + ember.log(2 * self.scale)


class Cauchy(LocScale):
    """Lorentz distribution with median ``loc`` and half-width ``scale``; mean and variance are undefined."""

    @property
    def mean(self):  # noqa: ANN201
        return ember.full(self._extended_shape(), float("nan"), dtype=self.loc.dtype, device=self.loc.device)

    @property
    def variance(self):  # noqa: ANN201
        return ember.full(self._extended_shape(), float("inf"), dtype=self.loc.dtype, device=self.loc.device)

    def rsample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        shape = self._extended_shape(sample_shape)
        eps = self.loc.new(shape).cauchy_()
        return self.loc + eps * self.scale

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        return -math.log(math.pi) - self.scale.log() - (((value - self.loc) / self.scale) ** 2).log1p()

    def cdf(self, value):  # noqa: ANN001, ANN201
        return ember.atan((value - self.loc) / self.scale) / math.pi + 0.5

    def icdf(self, value):  # noqa: ANN001, ANN201
        return ember.tan(math.pi * (value - 0.5)) * self.scale + self.loc

    def entropy(self):  # noqa: ANN201
        return math.log(4 * math.pi) + self.scale.log()
