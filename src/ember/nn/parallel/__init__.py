"""``torch.nn.parallel``: ``DistributedDataParallel`` (data parallelism across processes) and
``DataParallel`` (one process; ember runs the batch on the first device)."""

from __future__ import annotations

from ..modules.extra import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel", "DataParallel"]
