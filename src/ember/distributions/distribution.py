"""Distribution base class (torch.distributions.Distribution)."""

from __future__ import annotations

import ember

from .._core.warn import warn
from . import constraints
from .utils import lazy_property

__all__ = ["Distribution"]


class Distribution:
    """Base of all distributions: batch/event shapes, argument validation and the sampling API."""

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__

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
            try:
                arg_constraints = self.arg_constraints
            except NotImplementedError:
                arg_constraints = {}
                warn(
                    f"{self.__class__} does not define `arg_constraints`. Please set `arg_constraints = {{}}` or "
                    "initialize the distribution with `validate_args=False` to turn off validation.",
                    stacklevel=2,
                )
            for param, constraint in arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue
                if param not in self.__dict__ and isinstance(getattr(type(self), param), lazy_property):
                    continue  # derived lazily from a parameter that is checked; plain properties are checked
                value = getattr(self, param)
                if not bool(constraint.check(value).all()):
                    raise ValueError(
                        f"Expected parameter {param} "
                        f"({type(value).__name__} of shape {tuple(value.shape)}) "
                        f"of distribution {repr(self)} "
                        f"to satisfy the constraint {repr(constraint)}, "
                        f"but found invalid values:\n{value}"
                    )

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        """A new distribution (or ``_instance``) whose parameters are expanded to ``batch_shape``."""
        raise NotImplementedError

    @property
    def batch_shape(self) -> ember.Size:
        return self._batch_shape

    @property
    def event_shape(self) -> ember.Size:
        return self._event_shape

    @property
    def arg_constraints(self) -> dict:
        """Constraint of each parameter, by name."""
        raise NotImplementedError

    @property
    def support(self):  # noqa: ANN201
        """The constraint the values of the distribution satisfy."""
        raise NotImplementedError

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
        warn("`sample_n(n)` will be deprecated. Use `sample((n,))` instead.", FutureWarning, stacklevel=2)
        return self.sample(ember.Size((n,)))

    def log_prob(self, value):  # noqa: ANN001, ANN201
        raise NotImplementedError

    def cdf(self, value):  # noqa: ANN001, ANN201
        raise NotImplementedError

    def icdf(self, value):  # noqa: ANN001, ANN201
        raise NotImplementedError

    def enumerate_support(self, expand: bool = True):  # noqa: ANN201
        raise NotImplementedError

    def entropy(self):  # noqa: ANN201
        raise NotImplementedError

    def perplexity(self):  # noqa: ANN201
        return ember.exp(self.entropy())

    def _extended_shape(self, sample_shape=ember.Size()) -> ember.Size:  # noqa: ANN001, B008
        return ember.Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def _validate_sample(self, value) -> None:  # noqa: ANN001
        """Check that ``value`` ends with the event shape, broadcasts with batch + event shape and lies in
        the support (torch's checks, in its order, with its messages)."""
        if not isinstance(value, ember.Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        actual, event = value.size(), self._event_shape
        if actual[len(actual) - len(event):] != event:
            raise ValueError(f"The right-most size of value must match event_shape: {actual} vs {event}.")
        expected = ember.Size(tuple(self._batch_shape) + tuple(event))
        for i, j in zip(reversed(actual), reversed(expected), strict=False):
            if i != 1 and j != 1 and i != j:
                raise ValueError(
                    f"Value is not broadcastable with batch_shape+event_shape: {actual} vs {expected}."
                )
        try:
            support = self.support
        except NotImplementedError:
            warn(
                f"{self.__class__} does not define `support` to enable sample validation. Please initialize "
                "the distribution with `validate_args=False` to turn off validation.",
                stacklevel=2,
            )
            return
        if not bool(support.check(value).all()):
            raise ValueError(
                "Expected value argument "
                f"({type(value).__name__} of shape {tuple(value.shape)}) "
                f"to be within the support ({repr(support)}) "
                f"of the distribution {repr(self)}, "
                f"but found invalid values:\n{value}"
            )

    def _get_checked_instance(self, cls: type, _instance=None):  # noqa: ANN001, ANN202
        """``_instance``, or a blank object of this class for ``expand`` to fill; a subclass of ``cls`` with
        its own ``__init__`` must define its own ``expand``."""
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(
                f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom __init__ method "
                "must also define a custom .expand() method."
            )
        return type(self).__new__(type(self)) if _instance is None else _instance

    def _expand_params(self, cls: type, batch_shape, _instance, names: tuple[str, ...]):  # noqa: ANN001, ANN202
        """``expand`` for a distribution defined by the tensors ``names`` alone: each is expanded (a view) to
        ``batch_shape`` on a new instance, which keeps this one's validation setting."""
        new = self._get_checked_instance(cls, _instance)
        batch_shape = ember.Size(batch_shape)
        for name in names:
            setattr(new, name, getattr(self, name).expand(batch_shape))
        super(cls, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def __repr__(self) -> str:
        names = [k for k in self.arg_constraints if k in self.__dict__]
        # a one-element parameter shows its value (a 0-d one formats as a number), a larger one its size
        args = ", ".join(f"{p}: {self.__dict__[p] if self.__dict__[p].numel() == 1 else self.__dict__[p].size()}"
                         for p in names)
        return self.__class__.__name__ + "(" + args + ")"
