"""``ember.cpu.amp``: torch.cpu.amp's deprecated spellings of ``ember.amp`` for the CPU (each warns)."""

from __future__ import annotations

from .._core import dtype as D
from ..amp._legacy import device_classes

__all__ = ["autocast", "GradScaler"]

autocast, GradScaler = device_classes("cpu", D.bfloat16, __name__)
