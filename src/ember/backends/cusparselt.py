"""``ember.backends.cusparselt``: NVIDIA's semi-structured sparse GEMM library, which ember does not use."""

from __future__ import annotations

__all__ = ["is_available", "version", "get_max_alg_id"]


def is_available() -> bool:
    return False


def version() -> None:
    return None


def get_max_alg_id() -> None:
    return None
