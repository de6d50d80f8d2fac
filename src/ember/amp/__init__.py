"""``ember.amp``: automatic mixed precision (autocast regions and the gradient scaler), as torch.amp."""

from __future__ import annotations

from .autocast_mode import autocast, custom_bwd, custom_fwd, is_autocast_available
from .autocast_mode import install as install  # called once by ember/__init__
from .grad_scaler import GradScaler

__all__ = ["autocast", "custom_fwd", "custom_bwd", "is_autocast_available", "GradScaler"]
