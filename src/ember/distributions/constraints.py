"""Constraints: objects that say where a distribution's parameters and values live (torch.distributions.constraints)."""

from __future__ import annotations

import ember

__all__ = [
    "Constraint", "real", "positive", "nonnegative", "unit_interval", "boolean", "interval", "greater_than",
    "less_than", "dependent", "is_dependent",
]


class Constraint:
    """A region of valid values; ``check`` returns a bool tensor over the batch."""

    is_discrete = False
    event_dim = 0

    def check(self, value):  # noqa: ANN001, ANN201
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.__class__.__name__[1:] + "()"


class _Dependent(Constraint):
    """Placeholder whose support depends on other parameters; cannot be checked."""

    def check(self, x):  # noqa: ANN001, ANN201
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint: object) -> bool:
    """Whether ``constraint`` is a dependent placeholder."""
    return isinstance(constraint, _Dependent)


class _Real(Constraint):
    def check(self, value):  # noqa: ANN001, ANN201
        return value == value


class _GreaterThan(Constraint):
    def __init__(self, lower_bound: float) -> None:
        self.lower_bound = lower_bound

    def check(self, value):  # noqa: ANN001, ANN201
        return self.lower_bound < value

    def __repr__(self) -> str:
        return f"GreaterThan(lower_bound={_fmt(self.lower_bound)})"


class _GreaterThanEq(Constraint):
    def __init__(self, lower_bound: float) -> None:
        self.lower_bound = lower_bound

    def check(self, value):  # noqa: ANN001, ANN201
        return self.lower_bound <= value

    def __repr__(self) -> str:
        return f"GreaterThanEq(lower_bound={_fmt(self.lower_bound)})"


class _LessThan(Constraint):
    def __init__(self, upper_bound: float) -> None:
        self.upper_bound = upper_bound

    def check(self, value):  # noqa: ANN001, ANN201
        return value < self.upper_bound

    def __repr__(self) -> str:
        return f"LessThan(upper_bound={_fmt(self.upper_bound)})"


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound) -> None:  # noqa: ANN001
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):  # noqa: ANN001, ANN201
        return (self.lower_bound <= value) & (value <= self.upper_bound)

    def __repr__(self) -> str:
        return f"Interval(lower_bound={_fmt(self.lower_bound)}, upper_bound={_fmt(self.upper_bound)})"


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value):  # noqa: ANN001, ANN201
        return (value == 0) | (value == 1)


dependent = _Dependent()
real = _Real()
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
unit_interval = _Interval(0.0, 1.0)
boolean = _Boolean()
interval = _Interval
greater_than = _GreaterThan
less_than = _LessThan


def _fmt(bound):  # noqa: ANN001, ANN202
    """A bound in a repr: 0-d tensors print as their number, like torch's f-string formatting."""
    return bound.item() if isinstance(bound, ember.Tensor) and bound.dim() == 0 else bound
