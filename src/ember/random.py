"""``ember.random``: torch.random — the default generator's seed and state, and ``fork_rng``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from .ops.random import default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state

__all__ = ["set_rng_state", "get_rng_state", "manual_seed", "seed", "initial_seed", "fork_rng", "default_generator",
           "thread_safe_generator"]


@contextlib.contextmanager
def fork_rng(devices: Iterable[Any] | None = None, enabled: bool = True, _caller: str = "fork_rng",
             _devices_kw: str = "devices", device_type: str | None = None) -> Iterator[None]:
    """Run the block with the random state restored afterwards (the CPU generator, and the CUDA ones when
    CuPy drives a GPU), so random draws inside do not disturb those outside."""
    if not enabled:
        yield
        return
    from . import cuda
    cpu_state = get_rng_state()
    cuda_states = cuda.get_rng_state_all() if cuda.is_available() and hasattr(cuda, "get_rng_state_all") else None
    try:
        yield
    finally:
        set_rng_state(cpu_state)
        if cuda_states is not None:
            cuda.set_rng_state_all(cuda_states)


def thread_safe_generator() -> Any:
    """The generator random draws should use where code may run in a DataLoader worker thread: that thread's own
    ``Generator`` when the worker is a thread with one, else ``None`` (the process-wide default generator, which
    process workers and the main process use)."""
    from .utils.data import get_worker_info
    info = get_worker_info()
    rng = getattr(info, "rng", None) if getattr(info, "worker_method", None) == "thread" else None
    return None if rng is None else rng.torch_generator
