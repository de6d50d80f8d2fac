"""Bernoulli distribution (torch.distributions.Bernoulli)."""

from __future__ import annotations

import ember

from . import constraints
from .exp_family import ExponentialFamily
from .utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Bernoulli"]


class Bernoulli(ExponentialFamily):
    """0/1 outcomes with success probability ``probs`` (or log-odds ``logits``)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:  # noqa: ANN001
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(self._param.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        new = self._get_checked_instance(Bernoulli, _instance)
        batch_shape = ember.Size(batch_shape)
        if "probs" in self.__dict__:
            new.probs = self.probs.expand(batch_shape)
            new._param = new.probs
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(batch_shape)
            new._param = new.logits
        super(Bernoulli, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _new(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        return self._param.new(*args, **kwargs)

    @lazy_property
    def logits(self):  # noqa: ANN201
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):  # noqa: ANN201
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> ember.Size:
        return self._param.size()

    @property
    def mean(self):  # noqa: ANN201
        return self.probs

    @property
    def mode(self):  # noqa: ANN201
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        mode[self.probs == 0.5] = float("nan")
        return mode

    @property
    def variance(self):  # noqa: ANN201
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        shape = self._extended_shape(sample_shape)
        with ember.no_grad():
            return ember.bernoulli(self.probs.expand(shape))

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -ember.nn.functional.binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):  # noqa: ANN201
        return ember.nn.functional.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand: bool = True):  # noqa: ANN201
        values = ember.arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values

    @property
    def _natural_params(self) -> tuple:
        return (ember.logit(self.probs),)

    def _log_normalizer(self, x):  # noqa: ANN001, ANN202
        return ember.log1p(ember.exp(x))
