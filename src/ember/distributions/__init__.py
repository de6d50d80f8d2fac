"""Probability distributions with torch's sampling streams (torch.distributions): a first subset."""

from . import constraints
from .bernoulli import Bernoulli
from .distribution import Distribution
from .normal import Normal
from .uniform import Uniform

__all__ = ["Bernoulli", "Distribution", "Normal", "Uniform", "constraints"]
