"""Probability distributions with torch's sampling streams (torch.distributions): a first subset."""

from . import constraints
from .bernoulli import Bernoulli
from .distribution import Distribution
from .exponential import Exponential
from .kl import kl_divergence, register_kl
from .laplace import Cauchy, Laplace
from .normal import Normal
from .uniform import Uniform

__all__ = [
    "Bernoulli", "Cauchy", "Distribution", "Exponential", "Laplace", "Normal", "Uniform", "constraints",
    "kl_divergence", "register_kl",
]
