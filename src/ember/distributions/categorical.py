"""Categorical distribution (torch.distributions.Categorical)."""

from __future__ import annotations

import math

import ember

from . import constraints
from .distribution import Distribution
from .utils import expanded, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Categorical"]


class Categorical(Distribution):
    """Indices 0..K-1 with probabilities ``probs`` (normalised over the last dim) or ``logits``."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:  # noqa: ANN001
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
            self._param = self.probs
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
            self._param = self.logits
        self._num_events = self._param.size()[-1]
        batch = self._param.size()[:-1] if self._param.ndimension() > 1 else ember.Size()
        super().__init__(batch, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        shape = ember.Size(batch_shape)
        pshape = shape + ember.Size((self._num_events,))
        params = {k: self.__dict__[k].expand(pshape) for k in ("probs", "logits") if k in self.__dict__}
        param = params.get("logits", params.get("probs"))
        return expanded(self, Categorical, shape, _instance, _param=param, _num_events=self._num_events, **params)

    def _new(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        return self._param.new(*args, **kwargs)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):  # noqa: ANN201
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):  # noqa: ANN201
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):  # noqa: ANN201
        return logits_to_probs(self.logits)

    @property
    def param_shape(self) -> ember.Size:
        return self._param.size()

    @property
    def mean(self):  # noqa: ANN201
        return ember.full(self._extended_shape(), math.nan, dtype=self.probs.dtype, device=self.probs.device)

    @property
    def mode(self):  # noqa: ANN201
        return self.probs.argmax(dim=-1)

    @property
    def variance(self):  # noqa: ANN201
        return ember.full(self._extended_shape(), math.nan, dtype=self.probs.dtype, device=self.probs.device)

    def sample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        sample_shape = ember.Size(sample_shape)
        probs_2d = self.probs.reshape(-1, self._num_events)
        samples_2d = ember.multinomial(probs_2d, sample_shape.numel(), True).T
        return samples_2d.reshape(self._extended_shape(sample_shape))

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = ember.broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self):  # noqa: ANN201
        logits = ember.clamp(self.logits, min=ember.finfo(self.logits.dtype).min)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True):  # noqa: ANN201
        values = ember.arange(self._num_events, dtype=ember.long, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values
