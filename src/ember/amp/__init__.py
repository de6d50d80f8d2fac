"""``ember.amp``: automatic mixed precision (autocast regions and the gradient scaler), as torch.amp."""

from __future__ import annotations

from .autocast_mode import autocast, custom_bwd, custom_fwd, install, is_autocast_available
from .grad_scaler import GradScaler

__all__ = ["autocast", "custom_fwd", "custom_bwd", "is_autocast_available", "GradScaler"]
