"""Quantized modules (``torch.ao.nn.quantized``): static (quantized tensors in and out), ``dynamic`` (float in
and out, int8 weights) and the quantized ``functional``."""

from .... import nn as _nn
from . import dynamic, functional, modules
from .modules import *  # noqa: F403
from .modules import __all__ as _modules

MaxPool2d = _nn.MaxPool2d   # torch's quantized MaxPool2d is the float module (it runs on quantized tensors)

__all__ = [*_modules, "MaxPool2d", "dynamic", "functional", "modules"]
