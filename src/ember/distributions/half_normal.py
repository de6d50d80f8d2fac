"""HalfNormal: |X| for a centred Normal X (torch.distributions.HalfNormal)."""

from __future__ import annotations

import math

import ember

from . import constraints
from .kl import kl_divergence, register_kl
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transforms import AbsTransform
from .utils import checked_instance

__all__ = ["HalfNormal"]


class HalfNormal(TransformedDistribution):
    """``|X|`` for ``X ~ Normal(0, scale)``."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args: bool | None = None) -> None:  # noqa: ANN001
        base_dist = Normal(0, scale, validate_args=False)
        super().__init__(base_dist, AbsTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        return super().expand(batch_shape, _instance=checked_instance(self, HalfNormal, _instance))

    @property
    def scale(self):  # noqa: ANN201
        return self.base_dist.scale

    @property
    def mean(self):  # noqa: ANN201
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def mode(self):  # noqa: ANN201
        return ember.zeros_like(self.scale)

    @property
    def variance(self):  # noqa: ANN201
        return self.scale.pow(2) * (1 - 2 / math.pi)

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
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


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p: HalfNormal, q: HalfNormal):  # noqa: ANN202
    return kl_divergence(p.base_dist, q.base_dist)
