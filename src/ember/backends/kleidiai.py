"""``ember.backends.kleidiai``: Arm's KleidiAI kernels, which ember does not use."""

from __future__ import annotations

__all__ = ["is_available"]


def is_available() -> bool:
    return False
