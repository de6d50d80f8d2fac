"""Binomial distribution (torch.distributions.Binomial)."""

from __future__ import annotations

import ember

from . import constraints
from ._samplers import binomial
from .distribution import Distribution
from .utils import broadcast_all, expanded, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Binomial"]


class Binomial(Distribution):
    """Number of successes in ``total_count`` trials of probability ``probs`` (or log-odds ``logits``)."""

    arg_constraints = {
        "total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval, "logits": constraints.real,
    }
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args: bool | None = None) -> None:  # noqa: ANN001
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
        return expanded(self, Binomial, shape, _instance, total_count=self.total_count.expand(shape), _param=param,
                        **params)

    def _new(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        return self._param.new(*args, **kwargs)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):  # noqa: ANN201
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self):  # noqa: ANN201
        return self.total_count * self.probs

    @property
    def mode(self):  # noqa: ANN201
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self):  # noqa: ANN201
        return self.total_count * self.probs * (1 - self.probs)

    @lazy_property
    def logits(self):  # noqa: ANN201
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):  # noqa: ANN201
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> ember.Size:
        return self._param.size()

    def sample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        shape = self._extended_shape(sample_shape)
        with ember.no_grad():
            return binomial(self.total_count.expand(shape), self.probs.expand(shape))

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        log_norm = n * logits.clamp(min=0) + n * ember.log1p(ember.exp(-ember.abs(logits))) - ember.lgamma(n + 1)
        return value * logits - ember.lgamma(value + 1) - ember.lgamma(n - value + 1) - log_norm

    def entropy(self):  # noqa: ANN201
        total = int(self.total_count.max())
        if not self.total_count.min() == total:
            raise NotImplementedError("Inhomogeneous total count not supported by `entropy`.")
        lp = self.log_prob(self.enumerate_support(False))
        return -(ember.exp(lp) * lp).sum(0)

    def enumerate_support(self, expand: bool = True):  # noqa: ANN201
        total = int(self.total_count.max())
        if not self.total_count.min() == total:
            raise NotImplementedError("Inhomogeneous total count not supported by `enumerate_support`.")
        values = ember.arange(1 + total, dtype=self._param.dtype, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values
