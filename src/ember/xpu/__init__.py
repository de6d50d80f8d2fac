"""``torch.xpu`` on a build without Intel GPU support (ember has no XPU backend): the queries answer as torch's
CPU build does — nothing available, zero devices, zero memory — and what needs a device raises torch's
``AssertionError("Torch not compiled with XPU enabled")``, so device-picking code behaves as under torch."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

__all__ = ["Event", "Stream", "can_device_access_peer", "current_device", "current_stream", "device",
           "device_count", "empty_cache", "get_arch_list", "get_device_capability", "get_device_name",
           "get_device_properties", "get_gencode_flags", "get_rng_state", "get_rng_state_all", "init",
           "initial_seed", "is_available", "is_bf16_supported", "is_initialized", "is_tf32_supported",
           "manual_seed", "manual_seed_all", "max_memory_allocated", "max_memory_reserved", "mem_get_info",
           "memory_allocated", "memory_reserved", "memory_stats", "seed", "seed_all", "set_device",
           "set_rng_state", "synchronize"]

_NOT_COMPILED = "Torch not compiled with XPU enabled"


def _no_xpu(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError(_NOT_COMPILED)


def is_available() -> bool:
    """False: ember has no XPU backend."""
    return False


def device_count() -> int:
    """0: no XPU device is visible."""
    return 0


def is_initialized() -> bool:
    """False: there is nothing to initialise."""
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False without an XPU."""
    return False


def is_tf32_supported() -> bool:
    """False without an XPU."""
    return False


def get_arch_list() -> list[str]:
    """No architectures were compiled in."""
    return []


def get_gencode_flags() -> str:
    """No architectures were compiled in."""
    return ""


def manual_seed(seed: int) -> None:
    """Quietly ignored, as torch does without an XPU (code seeding every backend keeps working)."""


manual_seed_all = manual_seed


def seed() -> None:
    """Quietly ignored without an XPU."""


seed_all = seed


def empty_cache() -> None:
    """Nothing is cached without an XPU."""


def memory_allocated(device: Any = None) -> int:
    """0 bytes: no XPU memory exists."""
    return 0


max_memory_allocated = memory_reserved = max_memory_reserved = memory_allocated


def memory_stats(device: Any = None) -> dict[str, Any]:
    """An empty statistics mapping, as torch returns without an XPU."""
    return OrderedDict()


def get_rng_state_all() -> list:
    """One state per device: none."""
    return []


current_device = synchronize = get_device_name = get_device_properties = get_device_capability = _no_xpu
init = initial_seed = get_rng_state = set_rng_state = set_device = mem_get_info = current_stream = _no_xpu
can_device_access_peer = _no_xpu


class _Dummy:
    """Classes that torch's XPU-less build defines but refuses to instantiate."""

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError(f"Tried to instantiate dummy base class {type(self).__name__}")


class Stream(_Dummy):
    """An XPU stream (not available)."""


class Event(_Dummy):
    """An XPU event (not available)."""


class device:
    """Context manager selecting an XPU device; entering it fails without XPU support, as in torch."""

    def __init__(self, device: Any) -> None:
        self.idx = device

    def __enter__(self) -> None:
        raise NotImplementedError("PyTorch was compiled without XPU support")

    def __exit__(self, *exc: object) -> bool:
        return False
