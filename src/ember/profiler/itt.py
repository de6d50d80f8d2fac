"""``torch.profiler.itt``: Intel ITT annotations for VTune. ember emits none, so these are no-ops."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["is_available", "range_push", "range_pop", "mark", "range"]


def is_available() -> bool:
    """False: ember is not built with ITT."""
    return False


def range_push(msg: str) -> None:
    """Open an ITT range (no-op)."""


def range_pop() -> None:
    """Close the innermost ITT range (no-op)."""


def mark(msg: str) -> None:
    """An instantaneous ITT event (no-op)."""


@contextmanager
def range(msg: str, *args: Any, **kwargs: Any) -> Iterator[None]:  # noqa: A001  (torch's name)
    """``with itt.range("name"):`` (no-op)."""
    yield
