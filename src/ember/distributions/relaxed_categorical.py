"""Relaxed one-hot categorical (concrete / Gumbel-softmax) distributions (torch.distributions)."""

from __future__ import annotations

import ember

from . import constraints
from .categorical import Categorical
from .distribution import Distribution
from .transformed_distribution import TransformedDistribution
from .transforms import ExpTransform
from .utils import broadcast_all, checked_instance, clamp_probs

__all__ = ["ExpRelaxedCategorical", "RelaxedOneHotCategorical"]


class ExpRelaxedCategorical(Distribution):
    """The log of a RelaxedOneHotCategorical sample: log-softmax of (logits + Gumbel noise) / temperature."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args: bool | None = None) -> None:  # noqa: ANN001
        self._categorical = Categorical(probs, logits)
        self.temperature = temperature
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        new = checked_instance(self, ExpRelaxedCategorical, _instance)
        batch_shape = ember.Size(batch_shape)
        new.temperature = self.temperature
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _new(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        return self._categorical._new(*args, **kwargs)

    @property
    def param_shape(self) -> ember.Size:
        return self._categorical.param_shape

    @property
    def logits(self):  # noqa: ANN201
        return self._categorical.logits

    @property
    def probs(self):  # noqa: ANN201
        return self._categorical.probs

    def rsample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        shape = self._extended_shape(sample_shape)
        uniforms = clamp_probs(ember.rand(shape, dtype=self.logits.dtype, device=self.logits.device))
        gumbels = -((-(uniforms.log())).log())
        scores = (self.logits + gumbels) / self.temperature
        return scores - scores.logsumexp(dim=-1, keepdim=True)

    def log_prob(self, value):  # noqa: ANN001, ANN201
        K = self._categorical._num_events
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_scale = ember.full_like(self.temperature, float(K)).lgamma() - self.temperature.log().mul(-(K - 1))
        score = logits - value.mul(self.temperature)
        score = (score - score.logsumexp(dim=-1, keepdim=True)).sum(-1)
        return score + log_scale


class RelaxedOneHotCategorical(TransformedDistribution):
    """A continuous relaxation of OneHotCategorical on the simplex (exp of an ExpRelaxedCategorical)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args: bool | None = None) -> None:  # noqa: ANN001
        base_dist = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base_dist, ExpTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        return super().expand(batch_shape, _instance=checked_instance(self, RelaxedOneHotCategorical, _instance))

    @property
    def temperature(self):  # noqa: ANN201
        return self.base_dist.temperature

    @property
    def logits(self):  # noqa: ANN201
        return self.base_dist.logits

    @property
    def probs(self):  # noqa: ANN201
        return self.base_dist.probs
