"""torch's ``torch.utils.data._utils`` layout: ``collate`` (batching samples) and ``worker`` (worker info)."""

from __future__ import annotations

from . import collate, worker

__all__ = ["collate", "worker"]
