"""``ember.accelerator``: torch.accelerator's device-generic API; the accelerator is CUDA (through CuPy) when a
GPU is visible, otherwise there is none and device-touching calls raise torch's error."""

from __future__ import annotations

from typing import Any

from .._core.device import device

__all__ = ["current_accelerator", "current_device_idx", "current_device_index", "current_stream",
           "device_count", "empty_cache", "get_device_capability", "is_available", "max_memory_allocated",
           "max_memory_reserved", "memory_allocated", "memory_reserved", "memory_stats",
           "reset_peak_memory_stats", "set_device_idx", "set_device_index", "synchronize"]


def _cuda() -> Any:
    from .. import cuda
    if not cuda.is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    return cuda


def is_available() -> bool:
    from .. import cuda
    return cuda.is_available()


def current_accelerator(check_available: bool = False) -> device | None:
    """``device('cuda')`` when a GPU is usable, else None."""
    return device("cuda") if is_available() else None


def device_count() -> int:
    from .. import cuda
    return cuda.device_count() if cuda.is_available() else 0


def current_device_index() -> int:
    return _cuda().current_device()


def set_device_index(device: Any) -> None:
    _cuda().set_device(device)


current_device_idx, set_device_idx = current_device_index, set_device_index


def synchronize(device: Any = None) -> None:
    _cuda().synchronize(device)


def current_stream(device: Any = None) -> Any:
    return _cuda().current_stream(device)


def empty_cache() -> None:
    if is_available():
        _cuda().empty_cache()


def get_device_capability(device: Any = None) -> Any:
    return _cuda().get_device_capability(device)


def _memory(name: str) -> Any:
    def fn(device: Any = None) -> Any:
        return getattr(_cuda(), name)(device)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``cuda.{name}`` of the accelerator."
    return fn


memory_allocated = _memory("memory_allocated")
max_memory_allocated = _memory("max_memory_allocated")
memory_reserved = _memory("memory_reserved")
max_memory_reserved = _memory("max_memory_reserved")
memory_stats = _memory("memory_stats")
reset_peak_memory_stats = _memory("reset_peak_memory_stats")
