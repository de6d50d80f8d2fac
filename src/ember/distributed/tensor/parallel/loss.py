"""``loss_parallel``: cross-entropy on logits sharded on the class dim (``Shard(-1)``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["loss_parallel"]


@contextlib.contextmanager
def loss_parallel() -> Iterator[None]:
    """Within it, ``cross_entropy``/``nll_loss`` accept DTensor logits sharded on the class dim (as torch's).
    ember computes them on the gathered logits (the replicated result torch's parallel loss gives, with the
    communication of an all-gather instead of torch's reductions), so the context only marks the region."""
    yield
