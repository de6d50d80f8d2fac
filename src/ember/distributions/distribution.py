"""Distribution base class (torch.distributions.Distribution)."""

from __future__ import annotations

import warnings

import ember

from . import constraints

__all__ = ["Distribution"]


class Distribution:
    """Base of all distributions: batch/event shapes, argument validation and the sampling API."""

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__
    arg_constraints: dict = {}
    support = None

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn argument validation on or off for all distributions created afterwards."""
        if value not in [True, False]:
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args: bool | None = None) -> None:  # noqa: ANN001
        self._batch_shape = ember.Size(batch_shape)
        self._event_shape = ember.Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            for param, constraint in self.arg_constraints.items():
                if constraints.is_dependent(constraint) or param not in self.__dict__:
                    continue
                value = getattr(self, param)
                valid = constraint.check(value)
                if not bool(valid.all()):
                    raise ValueError(
                        f"Expected parameter {param} "
                        f"({type(value).__name__} of shape {tuple(value.shape)}) "
                        f"of distribution {repr(self)} "
                        f"to satisfy the constraint {repr(constraint)}, "
                        f"but found invalid values:\n{value}"
                    )

    @property
    def batch_shape(self) -> ember.Size:
        return self._batch_shape

    @property
    def event_shape(self) -> ember.Size:
        return self._event_shape

    @property
    def mean(self):  # noqa: ANN201
        raise NotImplementedError

    @property
    def mode(self):  # noqa: ANN201
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self):  # noqa: ANN201
        raise NotImplementedError

    @property
    def stddev(self):  # noqa: ANN201
        return self.variance.sqrt()

    def sample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        with ember.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        raise NotImplementedError

    def sample_n(self, n: int):  # noqa: ANN201
        warnings.warn("`sample_n(n)` will be deprecated. Use `sample((n,))` instead.", FutureWarning, stacklevel=2)
        return self.sample(ember.Size((n,)))

    def log_prob(self, value):  # noqa: ANN001, ANN201
        raise NotImplementedError

    def cdf(self, value):  # noqa: ANN001, ANN201
        raise NotImplementedError

    def icdf(self, value):  # noqa: ANN001, ANN201
        raise NotImplementedError

    def entropy(self):  # noqa: ANN201
        raise NotImplementedError

    def _extended_shape(self, sample_shape=ember.Size()) -> ember.Size:  # noqa: ANN001, B008
        return ember.Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def _validate_sample(self, value) -> None:  # noqa: ANN001
        if not isinstance(value, ember.Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        support = self.support
        valid = support.check(value)
        if not bool(valid.all()):
            raise ValueError(
                "Expected value argument "
                f"({type(value).__name__} of shape {tuple(value.shape)}) "
                f"to be within the support ({repr(support)}) "
                f"of the distribution {repr(self)}, "
                f"but found invalid values:\n{value}"
            )

    def __repr__(self) -> str:
        names = [k for k in self.arg_constraints if k in self.__dict__]
        args = ", ".join(f"{p}: {_fmt(self.__dict__[p])}" for p in names)
        return self.__class__.__name__ + "(" + args + ")"


def _fmt(t):  # noqa: ANN001, ANN202
    """A parameter in a repr: its value when it has one element (a 0-d one as a number), else its size."""
    if t.numel() != 1:
        return t.size()
    return t.item() if t.dim() == 0 else t
