"""HalfCauchy: |X| for a centred Cauchy X (torch.distributions.HalfCauchy)."""

from __future__ import annotations

import math

import ember

from . import constraints
from .cauchy import Cauchy
from .transformed_distribution import TransformedDistribution
from .transforms import AbsTransform
from .utils import checked_instance

__all__ = ["HalfCauchy"]


class HalfCauchy(TransformedDistribution):
    """``|X|`` for ``X ~ Cauchy(0, scale)``; the mean is infinite."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args: bool | None = None) -> None:  # noqa: ANN001
        base_dist = Cauchy(0, scale, validate_args=False)
        super().__init__(base_dist, AbsTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        return super().expand(batch_shape, _instance=checked_instance(self, HalfCauchy, _instance))

    @property
    def scale(self):  # noqa: ANN201
        return self.base_dist.scale

    @property
    def mean(self):  # noqa: ANN201
        return ember.full(self._extended_shape(), math.inf, dtype=self.scale.dtype, device=self.scale.device)

    @property
    def mode(self):  # noqa: ANN201
        return ember.zeros_like(self.scale)

    @property
    def variance(self):  # noqa: ANN201
        return self.base_dist.variance

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        value = ember.as_tensor(value, dtype=self.scale.dtype, device=self.scale.device)
        log_prob = self.base_dist.log_prob(value) + math.log(2)
        return ember.where(value >= 0, log_prob, -math.inf)

    def cdf(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob):  # noqa: ANN001, ANN201
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self):  # noqa: ANN201
        return self.base_dist.entropy() - math.log(2)
