"""``torch.mps`` off Apple silicon (ember has no Metal backend): ``is_available()``/``device_count()`` answer
False/0, seeding is quietly ignored, and what needs the device raises torch's
``RuntimeError("Cannot execute <call>() without MPS backend.")``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Event", "current_allocated_memory", "device_count", "driver_allocated_memory", "empty_cache",
           "get_rng_state", "is_available", "manual_seed", "recommended_max_memory", "seed",
           "set_per_process_memory_fraction", "set_rng_state", "synchronize"]


def _without_mps(call: str) -> Callable[..., Any]:
    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(f"Cannot execute {call}() without MPS backend.")
    fail.__doc__ = f"Fails as torch does without the MPS backend ({call})."
    return fail


def is_available() -> bool:
    """False: ember has no MPS backend."""
    return False


def device_count() -> int:
    """0: no MPS device."""
    return 0


def manual_seed(seed: int) -> None:
    """Quietly ignored without MPS, as in torch."""


synchronize = _without_mps("deviceSynchronize")
empty_cache = _without_mps("emptyCache")
current_allocated_memory = _without_mps("getCurrentAllocatedMemory")
driver_allocated_memory = _without_mps("getDriverAllocatedMemory")
recommended_max_memory = _without_mps("getRecommendedMaxMemory")
set_per_process_memory_fraction = _without_mps("setMemoryFraction")
seed = get_rng_state = set_rng_state = _without_mps("getDefaultGenerator")


class Event:
    """An MPS event: creating one fails without the backend."""

    def __init__(self, enable_timing: bool = False) -> None:
        raise RuntimeError("Cannot execute acquireEvent() without MPS backend.")
