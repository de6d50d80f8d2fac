"""``torch.nn.parallel``: ``DistributedDataParallel`` (data parallelism across processes; loaded on first use, as
it needs ``ember.distributed``) and ``DataParallel`` (one process; ember runs the batch on the first device)."""

from __future__ import annotations

from .data_parallel import DataParallel

__all__ = ["DistributedDataParallel", "DataParallel"]


def __getattr__(name: str) -> object:
    if name in ("DistributedDataParallel", "distributed"):
        import importlib

        distributed = importlib.import_module(f"{__name__}.distributed")
        return distributed.DistributedDataParallel if name == "DistributedDataParallel" else distributed
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
