"""Gamma distribution (torch.distributions.Gamma)."""

from __future__ import annotations

import ember

from . import constraints
from ._samplers import _standard_gamma
from .exp_family import ExponentialFamily
from .utils import broadcast_all, expanded

__all__ = ["Gamma"]


class Gamma(ExponentialFamily):
    """Gamma with shape ``concentration`` and inverse scale ``rate``; ``rsample`` is reparameterised through
    the implicit gamma gradient (``StandardGammaBackward0``)."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration, rate, validate_args: bool | None = None) -> None:  # noqa: ANN001
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        shape = ember.Size(batch_shape)
        return expanded(self, Gamma, shape, _instance, concentration=self.concentration.expand(shape),
                        rate=self.rate.expand(shape))

    @property
    def mean(self):  # noqa: ANN201
        return self.concentration / self.rate

    @property
    def mode(self):  # noqa: ANN201
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):  # noqa: ANN201
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        shape = self._extended_shape(sample_shape)
        value = _standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        value.detach().clamp_(min=ember.finfo(value.dtype).tiny)  # outside the graph, as torch
        return value

    def log_prob(self, value):  # noqa: ANN001, ANN201
        value = ember.as_tensor(value, dtype=self.rate.dtype, device=self.rate.device)
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return ember.xlogy(c, self.rate) + ember.xlogy(c - 1, value) - self.rate * value - ember.lgamma(c)

    def entropy(self):  # noqa: ANN201
        c = self.concentration
        return c - ember.log(self.rate) + ember.lgamma(c) + (1.0 - c) * ember.digamma(c)

    @property
    def _natural_params(self) -> tuple:
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y):  # noqa: ANN001, ANN202
        return ember.lgamma(x + 1) + (x + 1) * ember.log(-y.reciprocal())

    def cdf(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        return ember.special.gammainc(self.concentration, self.rate * value)
