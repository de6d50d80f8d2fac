"""``ember.backends.openmp``: ember runs no OpenMP code of its own (NumPy's BLAS manages its threads)."""

from __future__ import annotations

__all__ = ["is_available"]


def is_available() -> bool:
    return False
