"""Uniform distribution (torch.distributions.Uniform)."""

from __future__ import annotations

import ember

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Uniform"]


class Uniform(Distribution):
    """Continuous uniform on the half-open interval [low, high)."""

    has_rsample = True

    @property
    def arg_constraints(self) -> dict:  # type: ignore[override]
        return {"low": constraints.less_than(self.high), "high": constraints.greater_than(self.low)}

    def __init__(self, low, high, validate_args: bool | None = None) -> None:  # noqa: ANN001
        self.low, self.high = broadcast_all(low, high)
        super().__init__(self.low.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        return self._expand_params(Uniform, batch_shape, _instance, ("low", "high"))

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):  # noqa: ANN201
        return constraints.interval(self.low, self.high)

    @property
    def mean(self):  # noqa: ANN201
        return (self.high + self.low) / 2

    @property
    def mode(self):  # noqa: ANN201
        return float("nan") * self.high

    @property
    def stddev(self):  # noqa: ANN201
        return (self.high - self.low) / 12**0.5

    @property
    def variance(self):  # noqa: ANN201
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        shape = self._extended_shape(sample_shape)
        rand = ember.rand(shape, dtype=self.low.dtype, device=self.low.device)
        return self.low + rand * (self.high - self.low)

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        lb = self.low.le(value).type_as(self.low)
        ub = self.high.gt(value).type_as(self.low)
        return ember.log(lb.mul(ub)) - ember.log(self.high - self.low)

    def cdf(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value):  # noqa: ANN001, ANN201
        return value * (self.high - self.low) + self.low

    def entropy(self):  # noqa: ANN201
        return ember.log(self.high - self.low)
