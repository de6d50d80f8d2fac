"""``ember.linalg``: torch.linalg's functions (re-exported from ``ember.ops.linalg``)."""

from __future__ import annotations
