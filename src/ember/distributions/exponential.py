"""Exponential distribution (torch.distributions.Exponential)."""

from __future__ import annotations

import ember

from . import constraints
from .exp_family import ExponentialFamily
from .utils import broadcast_all

__all__ = ["Exponential"]


class Exponential(ExponentialFamily):
    """Exponential with rate ``rate`` (mean 1/rate)."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, rate, validate_args: bool | None = None) -> None:  # noqa: ANN001
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        return self._expand_params(Exponential, batch_shape, _instance, ("rate",))

    @property
    def mean(self):  # noqa: ANN201
        return self.rate.reciprocal()

    @property
    def mode(self):  # noqa: ANN201
        return ember.zeros_like(self.rate)

    @property
    def stddev(self):  # noqa: ANN201
        return self.rate.reciprocal()

    @property
    def variance(self):  # noqa: ANN201
        return self.rate.pow(-2)

    def rsample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        shape = self._extended_shape(sample_shape)
        return self.rate.new(shape).exponential_() / self.rate

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        return 1 - ember.exp(-self.rate * value)

    def icdf(self, value):  # noqa: ANN001, ANN201
        return -ember.log1p(-value) / self.rate

    def entropy(self):  # noqa: ANN201
        return 1.0 - ember.log(self.rate)

    @property
    def _natural_params(self) -> tuple:
        return (-self.rate,)

    def _log_normalizer(self, x):  # noqa: ANN001, ANN202
        return -ember.log(-x)
