"""``torchvision.transforms``: image transforms on PIL images and tensors; ``functional`` holds the functions."""

from __future__ import annotations

from . import functional
from .transforms import *  # noqa: F403
from .transforms import __all__ as _transforms

__all__ = ["functional", *_transforms]
