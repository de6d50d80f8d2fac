"""Poisson distribution (torch.distributions.Poisson)."""

from __future__ import annotations

from numbers import Number

import ember

from . import constraints
from .exp_family import ExponentialFamily
from .utils import broadcast_all, expanded

__all__ = ["Poisson"]


class Poisson(ExponentialFamily):
    """Counts with mean ``rate``."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args: bool | None = None) -> None:  # noqa: ANN001
        (self.rate,) = broadcast_all(rate)
        shape = ember.Size() if isinstance(rate, Number) else self.rate.size()
        super().__init__(shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        shape = ember.Size(batch_shape)
        return expanded(self, Poisson, shape, _instance, rate=self.rate.expand(shape))

    @property
    def mean(self):  # noqa: ANN201
        return self.rate

    @property
    def mode(self):  # noqa: ANN201
        return self.rate.floor()

    @property
    def variance(self):  # noqa: ANN201
        return self.rate

    def sample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        shape = self._extended_shape(sample_shape)
        with ember.no_grad():
            return ember.poisson(self.rate.expand(shape))

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return value.xlogy(rate) - rate - (value + 1).lgamma()

    @property
    def _natural_params(self) -> tuple:
        return (ember.log(self.rate),)

    def _log_normalizer(self, x):  # noqa: ANN001, ANN202
        return ember.exp(x)
