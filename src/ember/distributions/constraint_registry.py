"""``biject_to`` and ``transform_to``: a transform onto a constraint (torch.distributions.constraint_registry).

``biject_to(c)`` gives a bijection from the unconstrained reals onto ``c`` (for HMC-style reparametrisation, where
the Jacobian must exist); ``transform_to(c)`` any map onto ``c`` (for optimisation). Both look the constraint's
class up in a registry that user code can extend with ``register``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

from . import constraints, transforms

__all__ = ["ConstraintRegistry", "biject_to", "transform_to"]


class ConstraintRegistry:
    """A map from constraint classes to factories ``factory(constraint) -> Transform``."""

    def __init__(self) -> None:
        self._registry: dict[type, Callable] = {}

    def register(self, constraint, factory: Callable | None = None):  # noqa: ANN001, ANN201
        """Register ``factory`` for ``constraint`` (a Constraint subclass or instance); usable as a decorator."""
        if factory is None:
            return lambda factory: self.register(constraint, factory)
        if isinstance(constraint, constraints.Constraint):
            constraint = type(constraint)
        if not isinstance(constraint, type) or not issubclass(constraint, constraints.Constraint):
            raise TypeError(
                f"Expected constraint to be either a Constraint subclass or instance, but got {constraint}"
            )
        self._registry[constraint] = factory
        return factory

    def __call__(self, constraint) -> transforms.Transform:  # noqa: ANN001
        try:
            factory = self._registry[type(constraint)]
        except KeyError:
            raise NotImplementedError(f"Cannot transform {type(constraint).__name__} constraints") from None
        return factory(constraint)


biject_to = ConstraintRegistry()
transform_to = ConstraintRegistry()


def _register(registries, *constraint_list):  # noqa: ANN001, ANN002, ANN202
    """Register one factory for several constraints (instances or classes) in several registries."""
    def decorator(factory: Callable) -> Callable:
        for c in constraint_list:
            for registry in registries:
                registry.register(c, factory)
        return factory
    return decorator


_BOTH = (biject_to, transform_to)


@_register(_BOTH, constraints.real)
def _transform_to_real(constraint):  # noqa: ANN001, ANN202
    return transforms.identity_transform


@_register(_BOTH, constraints.positive, constraints.nonnegative)
def _transform_to_positive(constraint):  # noqa: ANN001, ANN202
    return transforms.ExpTransform()


# greater_than shares positive's class (and greater_than_eq nonnegative's), so this replaces the entry above,
# exactly as in torch: biject_to(positive) is exp followed by a shift by 0.
@_register(_BOTH, constraints.greater_than(0.0), constraints.nonnegative)
def _transform_to_greater_than(constraint):  # noqa: ANN001, ANN202
    return transforms.ComposeTransform(
        [transforms.ExpTransform(), transforms.AffineTransform(constraint.lower_bound, 1)]
    )


@_register(_BOTH, constraints.less_than(0.0))
def _transform_to_less_than(constraint):  # noqa: ANN001, ANN202
    return transforms.ComposeTransform(
        [transforms.ExpTransform(), transforms.AffineTransform(constraint.upper_bound, -1)]
    )


@_register(_BOTH, constraints.unit_interval, constraints.half_open_interval(0.0, 1.0))
def _transform_to_interval(constraint):  # noqa: ANN001, ANN202
    lower_is_0 = isinstance(constraint.lower_bound, numbers.Number) and constraint.lower_bound == 0
    upper_is_1 = isinstance(constraint.upper_bound, numbers.Number) and constraint.upper_bound == 1
    if lower_is_0 and upper_is_1:
        return transforms.SigmoidTransform()
    loc, scale = constraint.lower_bound, constraint.upper_bound - constraint.lower_bound
    return transforms.ComposeTransform([transforms.SigmoidTransform(), transforms.AffineTransform(loc, scale)])


@_register((biject_to,), constraints.simplex)
def _biject_to_simplex(constraint):  # noqa: ANN001, ANN202
    return transforms.StickBreakingTransform()


@_register((transform_to,), constraints.simplex)
def _transform_to_simplex(constraint):  # noqa: ANN001, ANN202
    return transforms.SoftmaxTransform()


@_register((transform_to,), constraints.lower_cholesky)
def _transform_to_lower_cholesky(constraint):  # noqa: ANN001, ANN202
    return transforms.LowerCholeskyTransform()


@_register((transform_to,), constraints.positive_definite, constraints.positive_semidefinite)
def _transform_to_positive_definite(constraint):  # noqa: ANN001, ANN202
    return transforms.PositiveDefiniteTransform()


@_register(_BOTH, constraints.corr_cholesky)
def _transform_to_corr_cholesky(constraint):  # noqa: ANN001, ANN202
    return transforms.CorrCholeskyTransform()


def _register_structural(registry: ConstraintRegistry) -> None:
    """Constraints built from other constraints map to transforms built from the same registry's answers."""

    @registry.register(constraints.independent)
    def _independent(constraint):  # noqa: ANN001, ANN202
        return transforms.IndependentTransform(registry(constraint.base_constraint),
                                               constraint.reinterpreted_batch_ndims)

    @registry.register(constraints.cat)
    def _cat(constraint):  # noqa: ANN001, ANN202
        return transforms.CatTransform([registry(c) for c in constraint.cseq], constraint.dim, constraint.lengths)

    @registry.register(constraints.stack)
    def _stack(constraint):  # noqa: ANN001, ANN202
        return transforms.StackTransform([registry(c) for c in constraint.cseq], constraint.dim)


for _registry in _BOTH:
    _register_structural(_registry)
