"""``torchvision.ops``: the building blocks the models share."""

from __future__ import annotations

from .misc import Conv2dNormActivation, SqueezeExcitation, StochasticDepth, stochastic_depth

__all__ = ["Conv2dNormActivation", "SqueezeExcitation", "StochasticDepth", "stochastic_depth"]
