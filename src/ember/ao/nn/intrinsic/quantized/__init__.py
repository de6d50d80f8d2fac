"""torch.ao.nn.intrinsic.quantized: quantized fused modules (and, in ``dynamic``, the dynamic LinearReLU)."""

from . import dynamic
from .modules import *  # noqa: F403
from .modules import __all__ as _modules

__all__ = [*_modules, "dynamic"]
