"""``ember.signal``: torch.signal (its ``windows`` submodule)."""

from __future__ import annotations

from . import windows

__all__ = ["windows"]
