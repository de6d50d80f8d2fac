"""Chi-squared distribution (torch.distributions.Chi2)."""

from __future__ import annotations

from . import constraints
from .gamma import Gamma
from .utils import broadcast_all, checked_instance

__all__ = ["Chi2"]


class Chi2(Gamma):
    """Chi-squared with ``df`` degrees of freedom: Gamma(df / 2, 1 / 2)."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args: bool | None = None) -> None:  # noqa: ANN001
        (df,) = broadcast_all(df)
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        return super().expand(batch_shape, checked_instance(self, Chi2, _instance))

    @property
    def df(self):  # noqa: ANN201
        return self.concentration * 2
