"""``ember.cpu.amp``: torch.cpu.amp's deprecated spellings of ``ember.amp`` for the CPU (each warns)."""

from __future__ import annotations

import warnings

from .. import amp as _amp
from .._core import dtype as D

__all__ = ["autocast", "GradScaler"]


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"`torch.cpu.amp.{old}(args...)` is deprecated. Please use `{new}` instead.", FutureWarning,
                  stacklevel=3)


class autocast(_amp.autocast):
    """``ember.amp.autocast("cpu", ...)`` under its old name."""

    def __init__(self, enabled: bool = True, dtype: D.dtype = D.bfloat16, cache_enabled: bool = True) -> None:
        _deprecated("autocast", "torch.amp.autocast('cpu', args...)")
        super().__init__("cpu", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class GradScaler(_amp.GradScaler):
    """``ember.amp.GradScaler("cpu", ...)`` under its old name."""

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        _deprecated("GradScaler", "torch.amp.GradScaler('cpu', args...)")
        super().__init__("cpu", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval, enabled=enabled)
