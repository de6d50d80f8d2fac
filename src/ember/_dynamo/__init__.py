"""``torch._dynamo``'s user-facing names for an eager-only library: ``torch.compile`` checks its arguments as
torch does and wraps modules in :class:`~ember._dynamo.eval_frame.OptimizedModule`, but nothing is traced or
compiled — calls run eagerly."""

from __future__ import annotations

from typing import Any

from . import eval_frame, exc
from .eval_frame import OptimizedModule

__all__ = ["OptimizedModule", "list_backends", "reset", "eval_frame", "exc"]

# the backend names torch registers, by tag (``list_backends`` leaves out debug and experimental ones by default)
_BACKENDS = {"cudagraphs": (), "inductor": (), "openxla": (), "tvm": (), "aot_eager": ("debug",),
             "aot_eager_decomp_partition": ("debug",), "aot_eager_decomp_partition_crossref": ("debug",),
             "aot_eager_decomp_partition_with_mode": ("debug",), "aot_eager_default_partitioner": ("debug",),
             "aot_ts": ("debug",), "dynamo_accuracy_minifier_backend": ("debug",),
             "dynamo_minifier_backend": ("debug",), "eager": ("debug",), "eager_debug": ("debug",),
             "eager_noexcept": ("debug",), "invoke_subgraph": ("debug",), "openxla_eval": ("experimental",),
             "pre_dispatch_eager": ("debug",), "ts": ("experimental",)}


def list_backends(exclude_tags: Any = ("debug", "experimental")) -> list[str]:
    """The names ``torch.compile(backend=...)`` accepts, sorted, without those tagged ``exclude_tags``
    (ember runs every one of them eagerly)."""
    excluded = set(exclude_tags or ())
    return sorted(name for name, tags in _BACKENDS.items() if not excluded.intersection(tags))


def reset() -> None:
    """No compilation caches to clear."""
