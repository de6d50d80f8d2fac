"""Dirichlet distribution (torch.distributions.Dirichlet)."""

from __future__ import annotations

import ember
from ember.autograd import Function
from ember.autograd.function import once_differentiable

from . import constraints
from ._samplers import _dirichlet_grad, _sample_dirichlet
from .exp_family import ExponentialFamily
from .utils import expanded

__all__ = ["Dirichlet"]


class _Dirichlet(Function):
    """Dirichlet sampling with the implicit reparameterisation gradient (grad_fn ``_DirichletBackward``)."""

    @staticmethod
    def forward(ctx, concentration):  # noqa: ANN001, ANN205
        x = _sample_dirichlet(concentration)
        ctx.save_for_backward(x, concentration)
        return x

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):  # noqa: ANN001, ANN205
        x, concentration = ctx.saved_tensors
        total = concentration.sum(-1, True).expand_as(concentration)
        grad = _dirichlet_grad(x, concentration, total)
        return grad * (grad_output - (x * grad_output).sum(-1, True))


class Dirichlet(ExponentialFamily):
    """Distribution over the probability simplex of the last dim, with positive ``concentration``."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args: bool | None = None) -> None:  # noqa: ANN001
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        shape = concentration.shape
        super().__init__(shape[:-1], shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        shape = ember.Size(batch_shape)
        conc = self.concentration.expand(shape + self.event_shape)
        return expanded(self, Dirichlet, shape, _instance, concentration=conc)

    def rsample(self, sample_shape=()):  # noqa: ANN001, ANN201
        shape = self._extended_shape(sample_shape)
        return _Dirichlet.apply(self.concentration.expand(shape))

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return ember.xlogy(c - 1.0, value).sum(-1) + ember.lgamma(c.sum(-1)) - ember.lgamma(c).sum(-1)

    @property
    def mean(self):  # noqa: ANN201
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self):  # noqa: ANN201
        cm1 = (self.concentration - 1).clamp(min=0.0)
        mode = cm1 / cm1.sum(-1, True)
        mask = (self.concentration < 1).all(dim=-1)
        mode[mask] = ember.nn.functional.one_hot(mode[mask].argmax(dim=-1), cm1.shape[-1]).to(mode)
        return mode

    @property
    def variance(self):  # noqa: ANN201
        c = self.concentration
        c0 = c.sum(-1, True)
        return c * (c0 - c) / (c0.pow(2) * (c0 + 1))

    def entropy(self):  # noqa: ANN201
        c = self.concentration
        k = c.size(-1)
        a0 = c.sum(-1)
        return (ember.lgamma(c).sum(-1) - ember.lgamma(a0) - (k - a0) * ember.digamma(a0)
                - ((c - 1.0) * ember.digamma(c)).sum(-1))

    @property
    def _natural_params(self) -> tuple:
        return (self.concentration,)

    def _log_normalizer(self, x):  # noqa: ANN001, ANN202
        return x.lgamma().sum(-1) - ember.lgamma(x.sum(-1))
