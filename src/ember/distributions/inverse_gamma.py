"""Inverse gamma distribution (torch.distributions.InverseGamma): 1 / X for X ~ Gamma."""

from __future__ import annotations

import math

import ember

from . import constraints
from .gamma import Gamma
from .transformed_distribution import TransformedDistribution
from .transforms import PowerTransform
from .utils import checked_instance

__all__ = ["InverseGamma"]


class InverseGamma(TransformedDistribution):
    """The reciprocal of a Gamma(``concentration``, ``rate``) variable."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration, rate, validate_args: bool | None = None) -> None:  # noqa: ANN001
        base = Gamma(concentration, rate, validate_args=validate_args)
        super().__init__(base, PowerTransform(-base.rate.new_ones(())), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        return super().expand(batch_shape, _instance=checked_instance(self, InverseGamma, _instance))

    @property
    def concentration(self):  # noqa: ANN201
        return self.base_dist.concentration

    @property
    def rate(self):  # noqa: ANN201
        return self.base_dist.rate

    @property
    def mean(self):  # noqa: ANN201
        result = self.rate / (self.concentration - 1)
        return ember.where(self.concentration > 1, result, math.inf)

    @property
    def mode(self):  # noqa: ANN201
        return self.rate / (self.concentration + 1)

    @property
    def variance(self):  # noqa: ANN201
        c = self.concentration
        result = self.rate.square() / ((c - 1).square() * (c - 2))
        return ember.where(c > 2, result, math.inf)

    def entropy(self):  # noqa: ANN201
        c = self.concentration
        return c + self.rate.log() + c.lgamma() - (1 + c) * c.digamma()
