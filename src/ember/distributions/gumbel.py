"""Gumbel (type-I extreme value) distribution (torch.distributions.Gumbel)."""

from __future__ import annotations

import math
import numbers

import ember

from . import constraints
from .beta import Beta
from .continuous_bernoulli import ContinuousBernoulli
from .exponential import Exponential
from .gamma import Gamma
from .kl import register_kl
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, ExpTransform
from .uniform import Uniform
from .utils import broadcast_all, checked_instance, euler_constant

__all__ = ["Gumbel"]

class Gumbel(TransformedDistribution):
    """``loc - scale * log(-log(U))`` for ``U ~ Uniform(tiny, 1 - eps)``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc, scale, validate_args: bool | None = None) -> None:  # noqa: ANN001
        self.loc, self.scale = broadcast_all(loc, scale)
        finfo = ember.finfo(self.loc.dtype)
        if isinstance(loc, numbers.Number) and isinstance(scale, numbers.Number):
            base_dist = Uniform(finfo.tiny, 1 - finfo.eps, validate_args=validate_args)
        else:
            base_dist = Uniform(ember.full_like(self.loc, finfo.tiny), ember.full_like(self.loc, 1 - finfo.eps),
                                validate_args=validate_args)
        transforms = [ExpTransform().inv, AffineTransform(loc=0, scale=-ember.ones_like(self.scale)),
                      ExpTransform().inv, AffineTransform(loc=loc, scale=-self.scale)]
        super().__init__(base_dist, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        new = checked_instance(self, Gumbel, _instance)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        return super().expand(batch_shape, _instance=new)

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        y = (self.loc - value) / self.scale
        return (y - y.exp()) - self.scale.log()

    @property
    def mean(self):  # noqa: ANN201
        return self.loc + self.scale * euler_constant

    @property
    def mode(self):  # noqa: ANN201
        return self.loc

    @property
    def stddev(self):  # noqa: ANN201
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self):  # noqa: ANN201
        return self.stddev.pow(2)

    def entropy(self):  # noqa: ANN201
        return self.scale.log() + (1 + euler_constant)


def _infinite_like(t):  # noqa: ANN001, ANN202
    return ember.full_like(t, math.inf)


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p: Gumbel, q: Gumbel):  # noqa: ANN202
    r = p.scale / q.scale
    shift = (p.loc - q.loc) / q.scale
    return -r.log() + shift + r * euler_constant + ember.exp((1 + r).lgamma() - shift) - (1 + euler_constant)


@register_kl(Gumbel, Normal)
def _kl_gumbel_normal(p: Gumbel, q: Normal):  # noqa: ANN202
    r = p.scale / q.scale
    neg_log_ratio = -(r / math.sqrt(2 * math.pi)).log()
    var_term = (math.pi * r * 0.5).pow(2) / 3
    mean_term = ((p.loc + p.scale * euler_constant - q.loc) / q.scale).pow(2) * 0.5
    return neg_log_ratio + var_term + mean_term - (euler_constant + 1)


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p: Normal, q: Gumbel):  # noqa: ANN202
    m = p.loc / q.scale
    v = (p.scale / q.scale).pow(2)
    c = q.loc / q.scale
    return -0.5 * v.log() + m - c + ember.exp(-m + 0.5 * v + c) - 0.5 * (1 + math.log(2 * math.pi))


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p: Exponential, q: Gumbel):  # noqa: ANN202
    s = p.rate * q.scale
    c = q.loc / q.scale
    return s.log() - 1 - c + ember.exp(c) * s / (s + 1) + s.reciprocal()


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p: Uniform, q: Gumbel):  # noqa: ANN202
    ratio = q.scale / (p.high - p.low)
    hi, lo = (p.high - q.loc) / q.scale, (p.low - q.loc) / q.scale
    return ratio.log() + 0.5 * (hi + lo) - ratio * (ember.exp(-hi) - ember.exp(-lo))


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p: Gamma, q: Gumbel):  # noqa: ANN202
    a, s = p.concentration, p.rate * q.scale
    c = q.loc / q.scale
    neg_entropy_part = (a - 1) * a.digamma() - a.lgamma() - a
    return neg_entropy_part + s.log() + a / s + ember.exp(c) * (1 + s.reciprocal()).pow(-a) - c


@register_kl(Gumbel, Beta)
@register_kl(Gumbel, ContinuousBernoulli)
@register_kl(Gumbel, Exponential)
@register_kl(Gumbel, Gamma)
@register_kl(Gumbel, Uniform)
def _kl_gumbel_infinity(p: Gumbel, q):  # noqa: ANN001, ANN202
    return _infinite_like(p.loc)
