"""One-hot categorical distributions (torch.distributions.OneHotCategorical / OneHotCategoricalStraightThrough)."""

from __future__ import annotations

import ember

from . import constraints
from .categorical import Categorical
from .distribution import Distribution
from .utils import expanded

__all__ = ["OneHotCategorical", "OneHotCategoricalStraightThrough"]


class OneHotCategorical(Distribution):
    """One-hot vectors of a :class:`Categorical` draw (event shape: the number of categories)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:  # noqa: ANN001
        self._categorical = Categorical(probs, logits)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        shape = ember.Size(batch_shape)
        return expanded(self, OneHotCategorical, shape, _instance, _categorical=self._categorical.expand(shape))

    def _new(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        return self._categorical._new(*args, **kwargs)

    @property
    def _param(self):  # noqa: ANN202
        return self._categorical._param

    @property
    def probs(self):  # noqa: ANN201
        return self._categorical.probs

    @property
    def logits(self):  # noqa: ANN201
        return self._categorical.logits

    @property
    def mean(self):  # noqa: ANN201
        return self._categorical.probs

    @property
    def mode(self):  # noqa: ANN201
        probs = self._categorical.probs
        return ember.nn.functional.one_hot(probs.argmax(dim=-1), num_classes=probs.shape[-1]).to(probs)

    @property
    def variance(self):  # noqa: ANN201
        p = self._categorical.probs
        return p * (1 - p)

    @property
    def param_shape(self) -> ember.Size:
        return self._categorical.param_shape

    def sample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        indices = self._categorical.sample(ember.Size(sample_shape))
        return ember.nn.functional.one_hot(indices, self._categorical._num_events).to(self._categorical.probs)

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.max(-1)[1])

    def entropy(self):  # noqa: ANN201
        return self._categorical.entropy()

    def enumerate_support(self, expand: bool = True):  # noqa: ANN201
        n = self.event_shape[0]
        values = ember.eye(n, dtype=self._param.dtype, device=self._param.device)
        values = values.view((n,) + (1,) * len(self.batch_shape) + (n,))
        return values.expand((n,) + tuple(self.batch_shape) + (n,)) if expand else values


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """One-hot samples whose ``rsample`` passes gradients to ``probs`` straight through (Bengio et al., 2013)."""

    has_rsample = True

    def rsample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        samples = self.sample(sample_shape)
        probs = self._categorical.probs
        return samples + (probs - probs.detach())
