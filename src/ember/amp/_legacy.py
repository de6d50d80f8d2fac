"""The deprecated per-device spellings (``torch.cpu.amp`` / ``torch.cuda.amp``): ``autocast`` and ``GradScaler``
bound to one device, each warning as torch does; one definition serves both devices."""

from __future__ import annotations

from .._core import dtype as D
from .._core.warn import warn
from .autocast_mode import autocast as _autocast
from .grad_scaler import GradScaler as _GradScaler


def deprecated(device: str, old: str, new: str) -> None:
    """torch's FutureWarning for ``torch.<device>.amp.<old>``."""
    warn(f"`torch.{device}.amp.{old}(args...)` is deprecated. Please use `{new}` instead.", FutureWarning,
         stacklevel=3)


def device_classes(device: str, dtype: D.dtype, module: str) -> tuple[type, type]:
    """``(autocast, GradScaler)`` of ``ember.<device>.amp``: the ``ember.amp`` ones with ``device`` fixed."""

    class autocast(_autocast):  # noqa: N801 - torch's name
        __doc__ = f'``ember.amp.autocast("{device}", ...)`` under its old name.'

        def __init__(self, enabled: bool = True, dtype: D.dtype = dtype, cache_enabled: bool = True) -> None:
            deprecated(device, "autocast", f"torch.amp.autocast('{device}', args...)")
            super().__init__(device, enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)

    class GradScaler(_GradScaler):
        __doc__ = f'``ember.amp.GradScaler("{device}", ...)`` under its old name.'

        def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                     growth_interval: int = 2000, enabled: bool = True) -> None:
            deprecated(device, "GradScaler", f"torch.amp.GradScaler('{device}', args...)")
            super().__init__(device, init_scale=init_scale, growth_factor=growth_factor,
                             backoff_factor=backoff_factor, growth_interval=growth_interval, enabled=enabled)

    for cls in (autocast, GradScaler):
        cls.__module__ = module
        cls.__qualname__ = cls.__name__
    return autocast, GradScaler
