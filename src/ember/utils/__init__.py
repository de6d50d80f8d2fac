"""``torch.utils``: data loading (``ember.utils.data``) and hook handles (``ember.utils.hooks``)."""

from __future__ import annotations

from . import data, hooks

__all__ = ["data", "hooks"]
