"""``ember.cuda``: the torch.cuda API over CuPy. Without CuPy or a GPU, ``is_available()`` is False and
everything that needs a GPU raises torch's error.

Memory figures come from CuPy's memory pool (``memory_allocated`` = bytes handed to live arrays,
``memory_reserved`` = bytes the pool holds from the driver); streams, events and CUDA graphs wrap
CuPy's. Random numbers on cuda tensors come from each GPU's Philox generator, drawn on the device
(``ember.manual_seed`` seeds those too).
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

from .._core import device as _device_mod
from .._core import dtype as D
from .._core.device import OutOfMemoryError, _probe_cupy, canonical, cuda_available, cuda_device_count
from .._legacy import legacy_type
from ..ops import _philox
from . import graphs
from .graphs import CUDAGraph, graph, graph_pool_handle
from .streams import Event, Stream, current_stream, default_stream, stream

__all__ = [
    "OutOfMemoryError",
    "is_available",
    "device_count",
    "current_device",
    "set_device",
    "device",
    "device_of",
    "get_device_name",
    "get_device_capability",
    "get_device_properties",
    "synchronize",
    "manual_seed",
    "manual_seed_all",
    "seed",
    "seed_all",
    "initial_seed",
    "get_rng_state",
    "set_rng_state",
    "get_rng_state_all",
    "set_rng_state_all",
    "is_initialized",
    "init",
    "memory_allocated",
    "max_memory_allocated",
    "memory_reserved",
    "max_memory_reserved",
    "reset_peak_memory_stats",
    "reset_max_memory_allocated",
    "empty_cache",
    "mem_get_info",
    "memory_stats",
    "Stream",
    "Event",
    "current_stream",
    "default_stream",
    "stream",
    "graphs",
    "CUDAGraph",
    "graph",
    "graph_pool_handle",
    "is_bf16_supported",
    "FloatTensor",
    "DoubleTensor",
    "HalfTensor",
    "BFloat16Tensor",
    "ByteTensor",
    "CharTensor",
    "ShortTensor",
    "IntTensor",
    "LongTensor",
    "BoolTensor",
]


def is_available() -> bool:
    """Whether CuPy sees a usable GPU (False quietly otherwise)."""
    return cuda_available()


def device_count() -> int:
    return cuda_device_count()


def is_initialized() -> bool:
    return cuda_available()


def init() -> None:
    """Initialise CUDA (raises torch's error without a GPU)."""
    _require()


def _require() -> Any:
    cp = _probe_cupy()
    if cp is None:
        raise AssertionError("Torch not compiled with CUDA enabled")
    return cp


def _index(dev: Any) -> int:
    """A device index from None (current), an int, a string or an ember.device."""
    if dev is None:
        return current_device()
    if isinstance(dev, int):
        return dev
    return canonical(dev).index


def current_device() -> int:
    return _require().cuda.runtime.getDevice()


def set_device(device: Any) -> None:
    idx = device if isinstance(device, int) else canonical(device).index
    if idx >= 0:
        _require().cuda.runtime.setDevice(idx)


class device:
    """``with ember.cuda.device(i):`` makes GPU ``i`` current inside the block."""

    def __init__(self, device: Any) -> None:
        self.idx = -1 if device is None else _index(device)
        self.prev_idx = -1

    def __enter__(self) -> device:
        if self.idx >= 0:
            self.prev_idx = current_device()
            set_device(self.idx)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.prev_idx >= 0:
            set_device(self.prev_idx)


class device_of(device):
    """``with ember.cuda.device_of(t):`` makes ``t``'s GPU current (no-op for CPU tensors)."""

    def __init__(self, obj: Any) -> None:
        super().__init__(obj.get_device() if obj.is_cuda else None)


class _CudaDeviceProperties(NamedTuple):
    name: str
    major: int
    minor: int
    total_memory: int
    multi_processor_count: int
    L2_cache_size: int

    def __repr__(self) -> str:
        return (
            f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
            f"total_memory={self.total_memory // (1024 * 1024)}MB, "
            f"multi_processor_count={self.multi_processor_count}, "
            f"L2_cache_size={self.L2_cache_size // (1024 * 1024)}MB)"
        )


def get_device_properties(device: Any = None) -> _CudaDeviceProperties:
    """Name, compute capability, memory and SM count of a GPU, as ``torch.cuda.get_device_properties``."""
    cp = _require()
    p = cp.cuda.runtime.getDeviceProperties(_index(device))
    return _CudaDeviceProperties(
        p["name"].decode(), p["major"], p["minor"], p["totalGlobalMem"], p["multiProcessorCount"], p["l2CacheSize"]
    )


def get_device_name(device: Any = None) -> str:
    return get_device_properties(device).name


def get_device_capability(device: Any = None) -> tuple[int, int]:
    p = get_device_properties(device)
    return (p.major, p.minor)


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """bfloat16 needs compute capability 8.0 (Ampere) or newer."""
    return cuda_available() and get_device_capability()[0] >= 8


def synchronize(device: Any = None) -> None:
    """Wait for all work queued on the GPU to finish."""
    cp = _require()
    with cp.cuda.Device(_index(device)):
        cp.cuda.runtime.deviceSynchronize()
    if _device_mod.PENDING_CHECKS:   # the GPU is idle now: report any failed device-side check
        _device_mod.flush_checks()


# ---- random numbers: each GPU's Philox generator (seed + offset), as torch's CUDA generators -------------
def manual_seed(seed: int) -> None:
    """Seed the current GPU's generator."""
    if cuda_available():
        _philox.cuda_state(current_device()).manual_seed(int(seed))


def manual_seed_all(seed: int) -> None:
    """Seed every GPU's generator."""
    _philox.manual_seed_all(int(seed))


def seed() -> None:
    """Seed the current GPU's generator from the operating system's entropy."""
    manual_seed(int.from_bytes(os.urandom(8), "little") >> 1)


def seed_all() -> None:
    manual_seed_all(int.from_bytes(os.urandom(8), "little") >> 1)


def initial_seed() -> int:
    return _philox.cuda_state(current_device()).seed


def get_rng_state(device: Any = "cuda") -> Any:
    """The GPU generator's state as torch's 16-byte uint8 tensor (seed, offset)."""
    from .._tensor import from_array
    return from_array(_philox.cuda_state(_index(device)).get_state(), D.uint8, _device_mod.CPU)


def set_rng_state(new_state: Any, device: Any = "cuda") -> None:
    _philox.cuda_state(_index(device)).set_state(new_state.numpy())


def get_rng_state_all() -> list[Any]:
    return [get_rng_state(i) for i in range(device_count())]


def set_rng_state_all(new_states: Any) -> None:
    for i, state in enumerate(new_states):
        set_rng_state(state, i)


# ---- memory: CuPy's default memory pool ---------------------------------------------------------------
def _pool_on(device: Any) -> tuple[Any, Any]:
    cp = _require()
    return cp, cp.cuda.Device(_index(device))


def _pool_bytes(device: Any, figure: str) -> int:
    """``used_bytes`` or ``total_bytes`` of ``device``'s CuPy memory pool (0 without a GPU, as torch)."""
    if not cuda_available():
        return 0
    cp, dev = _pool_on(device)
    with dev:
        return getattr(cp.get_default_memory_pool(), figure)()


def memory_allocated(device: Any = None) -> int:
    """Bytes held by live GPU arrays on ``device`` (0 without a GPU, as torch)."""
    return _pool_bytes(device, "used_bytes")


def max_memory_allocated(device: Any = None) -> int:
    """The most bytes held by live GPU arrays since start or the last ``reset_peak_memory_stats``."""
    if not cuda_available():
        return 0
    idx = _index(device)
    return max(_device_mod._peak_bytes.get(idx, 0), memory_allocated(idx))


def memory_reserved(device: Any = None) -> int:
    """Bytes the memory pool holds from the driver (in use or cached for reuse; 0 without a GPU)."""
    return _pool_bytes(device, "total_bytes")


max_memory_reserved = memory_reserved


def reset_peak_memory_stats(device: Any = None) -> None:
    idx = _index(device)
    _device_mod._peak_bytes[idx] = memory_allocated(idx)


reset_max_memory_allocated = reset_peak_memory_stats


def empty_cache() -> None:
    """Return the pool's cached, unused blocks to the driver."""
    cp = _probe_cupy()
    if cp is not None:
        cp.get_default_memory_pool().free_all_blocks()
        cp.get_default_pinned_memory_pool().free_all_blocks()


def mem_get_info(device: Any = None) -> tuple[int, int]:
    """(free, total) bytes of the GPU, as the driver reports them."""
    cp, dev = _pool_on(device)
    with dev:
        return cp.cuda.runtime.memGetInfo()


def memory_stats(device: Any = None) -> dict[str, int]:
    """The torch.cuda.memory_stats keys ember can report from CuPy's pool (empty without a GPU)."""
    if not cuda_available():
        return {}
    idx = _index(device)
    return {
        "allocated_bytes.all.current": memory_allocated(idx),
        "allocated_bytes.all.peak": max_memory_allocated(idx),
        "reserved_bytes.all.current": memory_reserved(idx),
    }


FloatTensor = legacy_type(D.float32, "cuda")
DoubleTensor = legacy_type(D.float64, "cuda")
HalfTensor = legacy_type(D.float16, "cuda")
BFloat16Tensor = legacy_type(D.bfloat16, "cuda")
ByteTensor = legacy_type(D.uint8, "cuda")
CharTensor = legacy_type(D.int8, "cuda")
ShortTensor = legacy_type(D.int16, "cuda")
IntTensor = legacy_type(D.int32, "cuda")
LongTensor = legacy_type(D.int64, "cuda")
BoolTensor = legacy_type(D.bool, "cuda")
