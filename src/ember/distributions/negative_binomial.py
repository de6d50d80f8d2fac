"""Negative binomial distribution (torch.distributions.NegativeBinomial)."""

from __future__ import annotations

import ember

from . import constraints
from .distribution import Distribution
from .gamma import Gamma
from .utils import broadcast_all, expanded, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["NegativeBinomial"]


class NegativeBinomial(Distribution):
    """Successes before ``total_count`` failures, each trial succeeding with ``probs``; sampled as a
    Poisson with a Gamma-distributed rate."""

    arg_constraints = {
        "total_count": constraints.greater_than_eq(0), "probs": constraints.half_open_interval(0.0, 1.0),
        "logits": constraints.real,
    }
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args: bool | None = None) -> None:  # noqa: ANN001
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.type_as(self.probs)
            self._param = self.probs
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.type_as(self.logits)
            self._param = self.logits
        super().__init__(self._param.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        shape = ember.Size(batch_shape)
        params = {k: self.__dict__[k].expand(shape) for k in ("probs", "logits") if k in self.__dict__}
        param = params.get("logits", params.get("probs"))
        return expanded(self, NegativeBinomial, shape, _instance, total_count=self.total_count.expand(shape),
                        _param=param, **params)

    def _new(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        return self._param.new(*args, **kwargs)

    @property
    def mean(self):  # noqa: ANN201
        return self.total_count * ember.exp(self.logits)

    @property
    def mode(self):  # noqa: ANN201
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self):  # noqa: ANN201
        return self.mean / ember.sigmoid(-self.logits)

    @lazy_property
    def logits(self):  # noqa: ANN201
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):  # noqa: ANN201
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> ember.Size:
        return self._param.size()

    @lazy_property
    def _gamma(self):  # noqa: ANN202
        # unvalidated: total_count may be zero
        return Gamma(concentration=self.total_count, rate=ember.exp(-self.logits), validate_args=False)

    def sample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        with ember.no_grad():
            return ember.poisson(self._gamma.sample(sample_shape=sample_shape))

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        logsigmoid = ember.nn.functional.logsigmoid
        n = self.total_count
        log_unnorm = n * logsigmoid(-self.logits) + value * logsigmoid(self.logits)
        log_norm = -ember.lgamma(n + value) + ember.lgamma(1.0 + value) + ember.lgamma(n)
        log_norm = log_norm.masked_fill(n + value == 0.0, 0.0)   # P(0 | total_count 0) = 1
        return log_unnorm - log_norm
