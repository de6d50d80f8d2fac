"""Beta distribution (torch.distributions.Beta), a two-component Dirichlet."""

from __future__ import annotations

from numbers import Real

import ember

from . import constraints
from .dirichlet import Dirichlet
from .exp_family import ExponentialFamily
from .utils import broadcast_all, expanded

__all__ = ["Beta"]


class Beta(ExponentialFamily):
    """Beta on [0, 1] with ``concentration1`` (alpha) and ``concentration0`` (beta)."""

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args: bool | None = None) -> None:  # noqa: ANN001
        if isinstance(concentration1, Real) and isinstance(concentration0, Real):
            both = ember.tensor([float(concentration1), float(concentration0)])
        else:
            concentration1, concentration0 = broadcast_all(concentration1, concentration0)
            both = ember.stack([concentration1, concentration0], -1)
        self._dirichlet = Dirichlet(both, validate_args=validate_args)
        super().__init__(self._dirichlet._batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        shape = ember.Size(batch_shape)
        return expanded(self, Beta, shape, _instance, _dirichlet=self._dirichlet.expand(shape))

    @property
    def mean(self):  # noqa: ANN201
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):  # noqa: ANN201
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self):  # noqa: ANN201
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=()):  # noqa: ANN001, ANN201
        return self._dirichlet.rsample(sample_shape).select(-1, 0)

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        heads_tails = ember.stack([value, 1.0 - value], -1)
        return self._dirichlet.log_prob(heads_tails)

    def entropy(self):  # noqa: ANN201
        return self._dirichlet.entropy()

    @property
    def _natural_params(self) -> tuple:
        return (self.concentration1, self.concentration0)

    def _log_normalizer(self, x, y):  # noqa: ANN001, ANN202
        return ember.lgamma(x) + ember.lgamma(y) - ember.lgamma(x + y)

    @property
    def concentration1(self):  # noqa: ANN201
        return self._dirichlet.concentration[..., 0]

    @property
    def concentration0(self):  # noqa: ANN201
        return self._dirichlet.concentration[..., 1]
