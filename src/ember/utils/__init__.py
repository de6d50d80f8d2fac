"""``torch.utils``: data loading (``ember.utils.data``) and hook handles (``ember.utils.hooks``)."""

from __future__ import annotations

from . import checkpoint, data, hooks, model_zoo

__all__ = ["checkpoint", "data", "hooks", "model_zoo"]
