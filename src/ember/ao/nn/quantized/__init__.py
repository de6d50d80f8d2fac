"""Quantized modules (``torch.ao.nn.quantized``): static (quantized tensors in and out), ``dynamic`` (float in
and out, int8 weights) and the quantized ``functional``."""

from . import dynamic, functional, modules
from .modules import *  # noqa: F403
from .modules import __all__ as _modules

__all__ = [*_modules, "dynamic", "functional", "modules"]
