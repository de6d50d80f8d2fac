"""LogNormal: exp of a Normal (torch.distributions.LogNormal)."""

from __future__ import annotations

from . import constraints
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transforms import ExpTransform
from .utils import checked_instance

__all__ = ["LogNormal"]


class LogNormal(TransformedDistribution):
    """``exp(X)`` for ``X ~ Normal(loc, scale)``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc, scale, validate_args: bool | None = None) -> None:  # noqa: ANN001
        base_dist = Normal(loc, scale, validate_args=validate_args)
        super().__init__(base_dist, ExpTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        return super().expand(batch_shape, _instance=checked_instance(self, LogNormal, _instance))

    @property
    def loc(self):  # noqa: ANN201
        return self.base_dist.loc

    @property
    def scale(self):  # noqa: ANN201
        return self.base_dist.scale

    @property
    def mean(self):  # noqa: ANN201
        return (self.loc + self.scale.pow(2) / 2).exp()

    @property
    def mode(self):  # noqa: ANN201
        return (self.loc - self.scale.square()).exp()

    @property
    def variance(self):  # noqa: ANN201
        scale2 = self.scale.pow(2)
        return scale2.expm1() * (2 * self.loc + scale2).exp()

    def entropy(self):  # noqa: ANN201
        return self.base_dist.entropy() + self.loc
