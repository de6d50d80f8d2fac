"""Pareto type-I distribution (torch.distributions.Pareto)."""

from __future__ import annotations

import math

import ember

from . import constraints
from .beta import Beta
from .continuous_bernoulli import ContinuousBernoulli
from .exponential import Exponential
from .gamma import Gamma
from .gumbel import Gumbel
from .kl import register_kl
from .laplace import Laplace
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, ExpTransform
from .uniform import Uniform
from .utils import broadcast_all, checked_instance

__all__ = ["Pareto"]


class Pareto(TransformedDistribution):
    """``scale * exp(E)`` for ``E ~ Exponential(alpha)``: support ``[scale, inf)``."""

    arg_constraints = {"alpha": constraints.positive, "scale": constraints.positive}

    def __init__(self, scale, alpha, validate_args: bool | None = None) -> None:  # noqa: ANN001
        self.scale, self.alpha = broadcast_all(scale, alpha)
        base_dist = Exponential(self.alpha, validate_args=validate_args)
        transforms = [ExpTransform(), AffineTransform(loc=0, scale=self.scale)]
        super().__init__(base_dist, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        new = checked_instance(self, Pareto, _instance)
        new.scale = self.scale.expand(batch_shape)
        new.alpha = self.alpha.expand(batch_shape)
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self):  # noqa: ANN201
        a = self.alpha.clamp(min=1)  # infinite for alpha <= 1
        return a * self.scale / (a - 1)

    @property
    def mode(self):  # noqa: ANN201
        return self.scale

    @property
    def variance(self):  # noqa: ANN201
        a = self.alpha.clamp(min=2)  # infinite for alpha <= 2
        return self.scale.pow(2) * a / ((a - 1).pow(2) * (a - 2))

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):  # noqa: ANN201
        return constraints._GreaterThanEq(self.scale)

    def entropy(self):  # noqa: ANN201
        return (self.scale / self.alpha).log() + (1 + self.alpha.reciprocal())


def _set_inf_where(result, mask):  # noqa: ANN001, ANN202
    return ember.where(mask, ember.full_like(result, math.inf), result)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p: Pareto, q: Pareto):  # noqa: ANN202
    alpha_ratio = q.alpha / p.alpha
    result = q.alpha * (p.scale / q.scale).log() - alpha_ratio.log() + alpha_ratio - 1
    return _set_inf_where(result, p.scale < q.scale)


@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p: Pareto, q: Exponential):  # noqa: ANN202
    s = p.scale * q.rate
    result = (p.alpha / s).log() - p.alpha.reciprocal() + p.alpha * s / (p.alpha - 1) - 1
    return _set_inf_where(result, p.alpha <= 1)


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p: Pareto, q: Normal):  # noqa: ANN202
    two_var = 2 * q.scale.pow(2)
    c = p.scale / (p.alpha - 1)
    log_term = (math.sqrt(2 * math.pi) * q.scale * p.alpha / p.scale).log()
    second_moment = p.alpha * c.pow(2) / (p.alpha - 2) + (p.alpha * c - q.loc).pow(2)
    result = log_term - p.alpha.reciprocal() + second_moment / two_var - 1
    return _set_inf_where(result, p.alpha <= 2)


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p: Uniform, q: Pareto):  # noqa: ANN202
    width = p.high - p.low
    log_norm = (q.alpha * q.scale.pow(q.alpha) * width).log()
    mean_log = (p.high * p.high.log() - p.low * p.low.log() - width) / width
    return _set_inf_where(mean_log * (q.alpha + 1) - log_norm, p.low < q.scale)


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p: Pareto, q: Gamma):  # noqa: ANN202
    mean_log = p.scale.log() + p.alpha.reciprocal()  # E[log X] under p
    result = (p.alpha.log() - mean_log + q.concentration.lgamma() - q.concentration * q.rate.log()
              + (1 - q.concentration) * mean_log + q.rate * p.alpha * p.scale / (p.alpha - 1) - 1)
    return _set_inf_where(result, p.alpha <= 1)


@register_kl(Pareto, Beta)
@register_kl(Pareto, ContinuousBernoulli)
@register_kl(Pareto, Uniform)
def _kl_pareto_infinity(p: Pareto, q):  # noqa: ANN001, ANN202
    return ember.full_like(p.scale, math.inf)


# Distributions whose support reaches below any Pareto's lower bound: KL(p || Pareto) is infinite.
_BELOW_PARETO = {Beta: "concentration1", ContinuousBernoulli: "probs", Exponential: "rate", Gamma: "concentration",
                 Gumbel: "loc", Laplace: "loc", Normal: "loc"}


def _kl_to_pareto_infinity(p, q: Pareto):  # noqa: ANN001, ANN202
    param = next(getattr(p, name) for cls, name in _BELOW_PARETO.items() if isinstance(p, cls))
    return ember.full_like(param, math.inf)


for _cls in _BELOW_PARETO:
    register_kl(_cls, Pareto)(_kl_to_pareto_infinity)
