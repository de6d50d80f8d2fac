"""``ember.cuda.memory``: torch.cuda's memory API over CuPy's memory pools.

CuPy's default pool plays the part of torch's caching allocator: ``memory_allocated`` is the bytes handed to
live arrays, ``memory_reserved`` the bytes the pool holds from the driver. CuPy keeps no counts of
allocations, no per-size pools and no allocation history, so ``memory_stats`` reports only the byte figures
(``allocated_bytes``/``active_bytes``/``reserved_bytes`` ``.all.current``/``.peak``) and ``memory_summary``
shows those rows. Without a GPU every function answers as a CPU-only torch build does (values and errors).
"""

from __future__ import annotations

import collections
import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

from .._core import device as _device_mod
from .._core.device import _probe_cupy, canonical, cuda_available
from .._core.warn import warn

__all__ = ["memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved", "memory_cached",
           "max_memory_cached", "reset_peak_memory_stats", "reset_max_memory_allocated", "reset_max_memory_cached",
           "reset_accumulated_memory_stats", "empty_cache", "mem_get_info", "memory_stats",
           "memory_stats_as_nested_dict", "memory_summary", "memory_snapshot", "list_gpu_processes",
           "caching_allocator_alloc", "caching_allocator_delete", "get_allocator_backend",
           "set_per_process_memory_fraction", "get_per_process_memory_fraction", "MemPool", "use_mem_pool",
           "host_memory_stats"]


def _require() -> Any:
    cp = _probe_cupy()
    if cp is None:
        raise AssertionError("Torch not compiled with CUDA enabled")
    return cp


def _no_binding(name: str) -> AttributeError:
    """The error a CPU-only torch raises where a CUDA function reaches for its missing C binding."""
    return AttributeError(f"module 'torch._C' has no attribute '{name}'")


def _index(dev: Any) -> int:
    """A device index from None (current), an int, a string or an ember.device."""
    if dev is None:
        return _require().cuda.runtime.getDevice()
    if isinstance(dev, int):
        return dev
    idx = canonical(dev).index
    return _require().cuda.runtime.getDevice() if idx is None else idx


def _pool_bytes(device: Any, figure: str) -> int:
    """``used_bytes`` or ``total_bytes`` of ``device``'s CuPy memory pool (0 without a GPU, as torch)."""
    if not cuda_available():
        return 0
    cp = _require()
    with cp.cuda.Device(_index(device)):
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


def max_memory_reserved(device: Any = None) -> int:
    """The pool's bytes now (CuPy keeps no peak of the reserved figure)."""
    return memory_reserved(device)


def memory_cached(device: Any = None) -> int:
    """Deprecated name of :func:`memory_reserved`."""
    warn("`torch.cuda.memory_cached` has been renamed to `torch.cuda.memory_reserved`", FutureWarning,
         stacklevel=2)
    return memory_reserved(device)


def max_memory_cached(device: Any = None) -> int:
    """Deprecated name of :func:`max_memory_reserved`."""
    warn("`torch.cuda.max_memory_cached` has been renamed to `torch.cuda.max_memory_reserved`",
         FutureWarning, stacklevel=2)
    return max_memory_reserved(device)


def reset_peak_memory_stats(device: Any = None) -> None:
    """Start the peak figures (``max_memory_allocated``) again from the bytes in use now."""
    if not cuda_available():
        raise _no_binding("_cuda_resetPeakMemoryStats")
    idx = _index(device)
    _device_mod._peak_bytes[idx] = memory_allocated(idx)


def _reset_peak_warning(name: str, device: Any) -> None:
    warn(f"torch.cuda.{name} now calls torch.cuda.reset_peak_memory_stats, which resets /all/ peak "
         "memory stats.", FutureWarning, stacklevel=3)
    reset_peak_memory_stats(device)


def reset_max_memory_allocated(device: Any = None) -> None:
    """Deprecated: warns and calls :func:`reset_peak_memory_stats`."""
    _reset_peak_warning("reset_max_memory_allocated", device)


def reset_max_memory_cached(device: Any = None) -> None:
    """Deprecated: warns and calls :func:`reset_peak_memory_stats`."""
    _reset_peak_warning("reset_max_memory_cached", device)


def reset_accumulated_memory_stats(device: Any = None) -> None:
    """Reset the accumulated counters (ember keeps none beyond the peak: nothing to reset)."""
    if not cuda_available():
        raise _no_binding("_cuda_resetAccumulatedMemoryStats")
    _index(device)


def empty_cache() -> None:
    """Return the pool's cached, unused blocks to the driver."""
    cp = _probe_cupy()
    if cp is not None:
        cp.get_default_memory_pool().free_all_blocks()
        cp.get_default_pinned_memory_pool().free_all_blocks()


def mem_get_info(device: Any = None) -> tuple[int, int]:
    """(free, total) bytes of the GPU, as the driver reports them."""
    cp = _require()
    with cp.cuda.Device(_index(device)):
        return tuple(cp.cuda.runtime.memGetInfo())  # type: ignore[return-value]


def memory_stats_as_nested_dict(device: Any = None) -> dict[str, Any]:
    """:func:`memory_stats` nested by its dotted keys (``{'allocated_bytes': {'all': {'current': n}}}``)."""
    if not cuda_available():
        return {}
    idx = _index(device)
    used, peak, held = memory_allocated(idx), max_memory_allocated(idx), memory_reserved(idx)
    return {"allocated_bytes": {"all": {"current": used, "peak": peak}},
            "active_bytes": {"all": {"current": used, "peak": peak}},
            "reserved_bytes": {"all": {"current": held, "peak": max_memory_reserved(idx)}}}


def memory_stats(device: Any = None) -> dict[str, Any]:
    """The pool's statistics under torch's flat keys, sorted (an empty OrderedDict without a GPU)."""
    flat: list[tuple[str, Any]] = []

    def walk(prefix: str, obj: Any) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            flat.append((prefix, obj))

    walk("", memory_stats_as_nested_dict(device))
    return collections.OrderedDict(sorted(flat))


def _format_size(n: int, ref: int) -> str:
    """``n`` bytes in the unit torch's summary picks for ``ref`` (the row's first figure)."""
    unit = "B  "
    for nxt in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        if ref < 768 * 1024:
            break
        unit, n, ref = nxt, n // 1024, ref / 1024
    return f"{n:6d} {unit}"


def memory_summary(device: Any = None, abbreviated: bool = False) -> str:
    """A table of :func:`memory_stats` in torch's layout (only the rows CuPy's pool can report; columns it
    does not keep read N/A). Without a GPU: torch's KeyError."""
    stats = memory_stats(device)
    rows = [("allocated_bytes", "Allocated memory"), ("active_bytes", "Active memory"),
            ("reserved_bytes", "GPU reserved memory")]
    cells = {key: [stats[f"{key}.all.current"], stats[f"{key}.all.peak"], stats.get(f"{key}.all.allocated"),
                   stats.get(f"{key}.all.freed")] for key, _ in rows}
    idx = _index(device)
    lines = ["=" * 75, f" {'':16} PyTorch CUDA memory summary, device ID {idx:<17d} ", "=" * 75,
             "        Metric         | Cur Usage  | Peak Usage | Tot Alloc  | Tot Freed  "]
    for key, name in rows:
        ref = cells[key][0]
        text = [f"{'N/A':>10}" if v is None else _format_size(v, v if ref is None else ref) for v in cells[key]]
        lines += ["-" * 75, f" {name:<21} | " + " | ".join(text) + " "]
    lines.append("=" * 75)
    return "|" + "|\n|".join(lines) + "|\n"


def memory_snapshot(mempool_id: Any = None, include_traces: bool = True) -> list[dict[str, Any]]:
    """The allocator's segments: CuPy's pool does not expose them, so an empty list with a GPU."""
    if not cuda_available():
        raise _no_binding("_cuda_memorySnapshot")
    return []


# ---- NVML (nvidia-ml-py), as torch: process list and sensor readings -----------------------------------------
def _nvml() -> Any:
    """pynvml, initialised (torch's errors when it is missing or the driver cannot be loaded)."""
    try:
        import pynvml
    except ImportError:
        raise ModuleNotFoundError("nvidia-ml-py does not seem to be installed or it can't be imported.") from None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError_DriverNotLoaded as e:
        raise RuntimeError("cuda driver can't be loaded, is cuda enabled?") from e
    return pynvml


def _nvml_handle(device: Any) -> tuple[Any, Any, int]:
    """pynvml, the NVML handle of ``device`` and its index."""
    nvml = _nvml()
    idx = _index(device)
    return nvml, nvml.nvmlDeviceGetHandleByIndex(idx), idx


def list_gpu_processes(device: Any = None) -> str:
    """The processes using the GPU and their memory, from NVML (torch's text when pynvml is missing)."""
    try:
        nvml, handle, idx = _nvml_handle(device)
    except ModuleNotFoundError:
        return "pynvml module not found, please install nvidia-ml-py"
    except RuntimeError as e:
        return str(e)
    procs = nvml.nvmlDeviceGetComputeRunningProcesses(handle)
    lines = [f"GPU:{idx}"] + ([] if procs else ["no processes are running"])
    lines += [f"process {p.pid:>10d} uses {p.usedGpuMemory / 2**20:>12.3f} MB GPU memory" for p in procs]
    return "\n".join(lines)


# ---- raw allocations and pools --------------------------------------------------------------------------------
_raw: dict[int, Any] = {}   # pointer → CuPy MemoryPointer of caching_allocator_alloc (freed on delete)


def caching_allocator_alloc(size: int, device: Any = None, stream: Any = None) -> int:
    """``size`` bytes from the memory pool, as a device pointer (an int) for other libraries; free it with
    :func:`caching_allocator_delete`."""
    cp = _require()
    idx = _index(device)
    from .streams import Stream, current_stream

    stream = current_stream(idx) if stream is None else stream
    if isinstance(stream, Stream):
        stream = stream.cuda_stream
    if not isinstance(stream, int):
        raise TypeError("Invalid type for stream argument, must be `torch.cuda.Stream` or `int` representing a "
                        "pointer to an existing stream")
    with cp.cuda.Device(idx):
        mem = cp.cuda.alloc(size)
    _raw[mem.ptr] = mem
    return mem.ptr


def caching_allocator_delete(mem_ptr: int) -> None:
    """Give back memory from :func:`caching_allocator_alloc`."""
    if not cuda_available():
        raise _no_binding("_cuda_cudaCachingAllocator_raw_delete")
    if _raw.pop(mem_ptr, None) is None:
        raise RuntimeError(f"invalid device pointer: {hex(mem_ptr)}")


def get_allocator_backend() -> str:
    """'native': CuPy's pool is a caching allocator as torch's native one."""
    if not cuda_available():
        raise _no_binding("_cuda_getAllocatorBackend")
    return "native"


def set_per_process_memory_fraction(fraction: float, device: Any = None) -> None:
    """Cap the pool at ``fraction`` of the GPU's memory (beyond it allocations fail with OutOfMemoryError)."""
    cp = _require()
    idx = _index(device)
    if not isinstance(fraction, float):
        raise TypeError("Invalid type for fraction argument, must be `float`")
    if fraction < 0 or fraction > 1:
        raise ValueError(f"Invalid fraction value: {fraction}. Allowed range: 0~1")
    with cp.cuda.Device(idx):
        cp.get_default_memory_pool().set_limit(fraction=fraction)


def get_per_process_memory_fraction(device: Any = None) -> float:
    """The pool's cap as a fraction of the GPU's memory (1.0 when uncapped)."""
    cp = _require()
    idx = _index(device)
    with cp.cuda.Device(idx):
        limit = cp.get_default_memory_pool().get_limit()
        total = cp.cuda.runtime.getDeviceProperties(idx)["totalGlobalMem"]
    return 1.0 if limit == 0 else limit / total


_pool_ids = itertools.count(1)


class MemPool:
    """A memory pool of its own (a CuPy ``MemoryPool``): allocations inside ``use_mem_pool(pool)`` come from it
    and go back to it, apart from the default pool."""

    def __init__(self, allocator: Any = None, use_on_oom: bool = False, no_split: bool = False) -> None:
        if _probe_cupy() is None:
            raise RuntimeError("Tried to instantiate dummy base class MemPool")
        self._pool = _require().cuda.MemoryPool()
        self._id = (0, next(_pool_ids))

    @property
    def id(self) -> tuple[int, int]:
        return self._id

    def use_count(self) -> int:
        return 1

    def snapshot(self, include_traces: bool = True) -> list[dict[str, Any]]:
        return memory_snapshot(self._id, include_traces)


@contextlib.contextmanager
def use_mem_pool(pool: MemPool, device: Any = None) -> Iterator[None]:
    """Route this block's GPU allocations to ``pool`` (they are not counted by ``memory_allocated``, which
    reads the default pool)."""
    cp = _require()
    _index(device)
    prev = cp.cuda.get_allocator()
    cp.cuda.set_allocator(pool._pool.malloc)
    try:
        yield
    finally:
        cp.cuda.set_allocator(prev)


def host_memory_stats() -> dict[str, Any]:
    """Pinned host allocator statistics: none kept (an empty OrderedDict, as torch before CUDA starts)."""
    return collections.OrderedDict()
