"""Independent: reinterpret batch dims of a distribution as event dims (torch.distributions.Independent)."""

from __future__ import annotations

from typing import Generic, TypeVar

import ember

from . import constraints
from .distribution import Distribution
from .kl import kl_divergence, register_kl
from .utils import _sum_rightmost, checked_instance

__all__ = ["Independent"]

D = TypeVar("D", bound=Distribution)


class Independent(Distribution, Generic[D]):
    """Treats the rightmost ``reinterpreted_batch_ndims`` batch dims of ``base_distribution`` as event dims, so
    ``log_prob`` sums over them (e.g. a diagonal Normal as one multivariate distribution)."""

    arg_constraints: dict = {}

    base_dist: D

    def __init__(self, base_distribution: D, reinterpreted_batch_ndims: int,
                 validate_args: bool | None = None) -> None:
        if reinterpreted_batch_ndims > len(base_distribution.batch_shape):
            raise ValueError(
                "Expected reinterpreted_batch_ndims <= len(base_distribution.batch_shape), "
                f"actual {reinterpreted_batch_ndims} vs {len(base_distribution.batch_shape)}"
            )
        shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        event_dim = reinterpreted_batch_ndims + len(base_distribution.event_shape)
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        super().__init__(shape[: len(shape) - event_dim], shape[len(shape) - event_dim:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        new = checked_instance(self, Independent, _instance)
        batch_shape = ember.Size(batch_shape)
        new.base_dist = self.base_dist.expand(
            tuple(batch_shape) + tuple(self.event_shape[: self.reinterpreted_batch_ndims]))
        new.reinterpreted_batch_ndims = self.reinterpreted_batch_ndims
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self) -> bool:  # type: ignore[override]
        return False if self.reinterpreted_batch_ndims > 0 else self.base_dist.has_enumerate_support

    @constraints.dependent_property
    def support(self):  # noqa: ANN201
        result, n = self.base_dist.support, self.reinterpreted_batch_ndims
        return constraints.independent(result, n) if n else result

    @property
    def mean(self):  # noqa: ANN201
        return self.base_dist.mean

    @property
    def mode(self):  # noqa: ANN201
        return self.base_dist.mode

    @property
    def variance(self):  # noqa: ANN201
        return self.base_dist.variance

    def sample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value):  # noqa: ANN001, ANN201
        return _sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self):  # noqa: ANN201
        return _sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def enumerate_support(self, expand: bool = True):  # noqa: ANN201
        if self.reinterpreted_batch_ndims > 0:
            raise NotImplementedError("Enumeration over cartesian product is not implemented")
        return self.base_dist.enumerate_support(expand=expand)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.base_dist}, {self.reinterpreted_batch_ndims})"


@register_kl(Independent, Independent)
def _kl_independent_independent(p: Independent, q: Independent):  # noqa: ANN202
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError
    return _sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)
