"""``ember.cuda``: the torch.cuda API over CuPy. Without CuPy or a GPU, ``is_available()`` is False and
everything that needs a GPU raises torch's error.

Memory figures come from CuPy's memory pool (``memory_allocated`` = bytes handed to live arrays,
``memory_reserved`` = bytes the pool holds from the driver); streams, events and CUDA graphs wrap
CuPy's. Random numbers on cuda tensors come from each GPU's Philox generator, drawn on the device
(``ember.manual_seed`` seeds those too).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .._core import device as _device_mod
from .._core import dtype as D
from .._core.device import AcceleratorError, OutOfMemoryError, _probe_cupy, canonical, cuda_available, cuda_device_count
from .._legacy import legacy_type
from ..ops import tensor_storage as _tensor_storage
from . import graphs, jiterator, memory, nvtx, random
from .graphs import CUDAGraph, graph, graph_pool_handle, is_current_stream_capturing, make_graphed_callables
from .memory import (
    MemPool,
    caching_allocator_alloc,
    caching_allocator_delete,
    empty_cache,
    get_allocator_backend,
    get_per_process_memory_fraction,
    host_memory_stats,
    list_gpu_processes,
    max_memory_allocated,
    max_memory_cached,
    max_memory_reserved,
    mem_get_info,
    memory_allocated,
    memory_cached,
    memory_reserved,
    memory_snapshot,
    memory_stats,
    memory_stats_as_nested_dict,
    memory_summary,
    reset_accumulated_memory_stats,
    reset_max_memory_allocated,
    reset_max_memory_cached,
    reset_peak_memory_stats,
    set_per_process_memory_fraction,
    use_mem_pool,
)
from .random import (
    get_rng_state,
    get_rng_state_all,
    initial_seed,
    manual_seed,
    manual_seed_all,
    seed,
    seed_all,
    set_rng_state,
    set_rng_state_all,
)
from .streams import (
    Event,
    ExternalStream,
    Stream,
    StreamContext,
    current_stream,
    default_stream,
    get_stream_from_external,
    set_stream,
    stream,
)

__all__ = [
    "OutOfMemoryError", "AcceleratorError", "is_available", "device_count", "current_device", "set_device", "device",
    "device_of",
    "get_device_name", "get_device_capability", "get_device_properties", "synchronize", "is_initialized", "init",
    "is_bf16_supported", "is_tf32_supported", "can_device_access_peer", "get_arch_list", "get_gencode_flags",
    "current_blas_handle", "current_solver_handle", "ipc_collect", "set_sync_debug_mode", "get_sync_debug_mode",
    "utilization", "memory_usage", "device_memory_used", "temperature", "power_draw", "clock_rate",
    "cudaStatus", "CudaError", "DeferredCudaCallError", "check_error", "cudart", "has_half", "has_magma",
    # random numbers
    "random", "manual_seed", "manual_seed_all", "seed", "seed_all", "initial_seed", "get_rng_state", "set_rng_state",
    "get_rng_state_all", "set_rng_state_all",
    # memory
    "memory", "memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved", "memory_cached",
    "max_memory_cached", "reset_peak_memory_stats", "reset_max_memory_allocated", "reset_max_memory_cached",
    "reset_accumulated_memory_stats", "empty_cache", "mem_get_info", "memory_stats", "memory_stats_as_nested_dict",
    "memory_summary", "memory_snapshot", "list_gpu_processes", "caching_allocator_alloc", "caching_allocator_delete",
    "get_allocator_backend", "set_per_process_memory_fraction", "get_per_process_memory_fraction", "MemPool",
    "use_mem_pool", "host_memory_stats",
    # streams, events, graphs, tools
    "Stream", "ExternalStream", "Event", "StreamContext", "current_stream", "default_stream", "stream", "set_stream",
    "get_stream_from_external", "graphs", "CUDAGraph", "graph", "graph_pool_handle", "is_current_stream_capturing",
    "make_graphed_callables",
    "nvtx", "jiterator",
    # legacy tensor and storage types
    "FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "ByteTensor", "CharTensor", "ShortTensor",
    "IntTensor", "LongTensor", "BoolTensor", "FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage",
    "ByteStorage", "CharStorage", "ShortStorage", "IntStorage", "LongStorage", "BoolStorage", "ComplexFloatStorage",
    "ComplexDoubleStorage",
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
    """Make GPU ``device`` (an index, or a CUDA device with one) current; a negative index does nothing."""
    if isinstance(device, str):
        device = _device_mod.device(device)
    if isinstance(device, _device_mod.device) and device.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {device}")
    idx = device.index if isinstance(device, _device_mod.device) else device if isinstance(device, int) else None
    if idx is None:
        raise ValueError(f"Expected a torch.device with a specified index or an integer, but got:{device}")
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


def is_tf32_supported() -> bool:
    """TF32 tensor cores come with native bfloat16 (compute capability 8.0 and newer)."""
    return is_bf16_supported(including_emulation=False)


def can_device_access_peer(device: Any, peer_device: Any) -> bool:
    """Whether GPU ``device`` can read and write ``peer_device``'s memory directly."""
    cp = _require()
    idx, peer = _index(device), _index(peer_device)
    if not 0 <= idx < device_count():
        raise AssertionError("Invalid device id")
    if not 0 <= peer < device_count():
        raise AssertionError("Invalid peer device id")
    return bool(cp.cuda.runtime.deviceCanAccessPeer(idx, peer))


def get_arch_list() -> list[str]:
    """The GPU architectures ember's kernels can be built for: CuPy compiles them at run time with NVRTC, so
    those NVRTC supports (``['sm_75', ..., 'sm_90']``); empty without a GPU, as a CPU-only torch."""
    cp = _probe_cupy()
    if cp is None:
        return []
    return [f"sm_{a}" for a in cp.cuda.nvrtc.getSupportedArchs()]


def get_gencode_flags() -> str:
    """NVCC ``-gencode`` flags for :func:`get_arch_list`."""
    return " ".join(f"-gencode compute=compute_{a},code=sm_{a}" for a in (x[3:] for x in get_arch_list()))


def current_blas_handle() -> int:
    """The cuBLAS handle (``cublasHandle_t``) CuPy uses on the current GPU."""
    return _require().cuda.device.get_cublas_handle()


def current_solver_handle() -> int:
    """The cuSOLVER dense handle CuPy uses on the current GPU."""
    return _require().cuda.device.get_cusolver_handle()


def ipc_collect() -> None:
    """Release memory held for tensors shared with other processes: CuPy keeps none (nothing to do)."""
    _require()


_sync_debug_mode = [0]
_SYNC_MODES = {"default": 0, "warn": 1, "error": 2}


def set_sync_debug_mode(debug_mode: int | str) -> None:
    """Record the synchronisation debug mode ('default'/0, 'warn'/1, 'error'/2); ember does not act on it."""
    _require()
    if isinstance(debug_mode, str):
        if debug_mode not in _SYNC_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, `error`")
        debug_mode = _SYNC_MODES[debug_mode]
    _sync_debug_mode[0] = int(debug_mode)


def get_sync_debug_mode() -> int:
    _require()
    return _sync_debug_mode[0]


# ---- sensors through NVML (nvidia-ml-py), as torch ------------------------------------------------------------
def utilization(device: Any = None) -> int:
    """Percent of the last sample period in which a kernel ran on the GPU (``nvidia-smi``)."""
    nvml, handle, _ = memory._nvml_handle(device)
    return nvml.nvmlDeviceGetUtilizationRates(handle).gpu


def memory_usage(device: Any = None) -> int:
    """Percent of the last sample period in which device memory was read or written."""
    nvml, handle, _ = memory._nvml_handle(device)
    return nvml.nvmlDeviceGetUtilizationRates(handle).memory


def device_memory_used(device: Any = None) -> int:
    """Bytes of device memory in use by all processes (``nvidia-smi``)."""
    nvml, handle, _ = memory._nvml_handle(device)
    return nvml.nvmlDeviceGetMemoryInfo(handle).used


def temperature(device: Any = None) -> int:
    """The GPU die's temperature in degrees Celsius."""
    nvml, handle, _ = memory._nvml_handle(device)
    return nvml.nvmlDeviceGetTemperature(handle, 0)


def power_draw(device: Any = None) -> int:
    """The GPU's power draw in milliwatts."""
    nvml, handle, _ = memory._nvml_handle(device)
    return nvml.nvmlDeviceGetPowerUsage(handle)


def clock_rate(device: Any = None) -> int:
    """The SM clock in MHz."""
    nvml, handle, _ = memory._nvml_handle(device)
    return nvml.nvmlDeviceGetClockInfo(handle, 1)


# ---- the CUDA runtime and its errors ---------------------------------------------------------------------------
class cudaStatus:
    SUCCESS: int = 0
    ERROR_NOT_READY: int = 34


class DeferredCudaCallError(Exception):
    """A CUDA call queued before initialisation failed when it finally ran."""


def _error_string(code: int) -> str:
    """CUDA's text for an error code ('out of memory'), from CuPy's runtime error."""
    cp = _probe_cupy()
    if cp is None:
        raise AttributeError("'NoneType' object has no attribute 'cudaGetErrorString'")
    return str(cp.cuda.runtime.CUDARuntimeError(code)).split(": ", 1)[-1]


class CudaError(RuntimeError):
    """A CUDA runtime call failed: its text and code (``'out of memory (2)'``)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"{_error_string(code)} ({code})")


def check_error(res: int) -> None:
    """Raise :class:`CudaError` unless ``res`` is CUDA's success code."""
    if _probe_cupy() is None:
        raise AttributeError("'NoneType' object has no attribute 'cudaError'")
    if res != cudaStatus.SUCCESS:
        raise CudaError(res)


class _CudaRuntime:
    """torch's ``cudart()`` module over CuPy's runtime: the calls return CUDA's status code (0 on success)."""

    class cudaError:
        success = 0

    def __init__(self, cp: Any) -> None:
        self._rt = cp.cuda.runtime

    def cudaGetErrorString(self, code: int) -> str:
        return _error_string(code)

    def cudaProfilerStart(self) -> int:
        self._rt.profilerStart()
        return 0

    def cudaProfilerStop(self) -> int:
        self._rt.profilerStop()
        return 0

    def cudaMemGetInfo(self, device: int) -> tuple[int, int]:
        return mem_get_info(device)


def cudart() -> _CudaRuntime:
    """The CUDA runtime (``check_error(cudart().cudaProfilerStart())``)."""
    return _CudaRuntime(_require())


has_half = True
has_magma = False   # CuPy's linear algebra is cuSOLVER's


def __getattr__(name: str) -> Any:
    """``default_generators``: each GPU's default generator (read when asked: GPUs are found lazily)."""
    if name == "default_generators":
        return random.default_generators()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


_STORAGES = {name: _tensor_storage.legacy_storage_class(cls._dtype, "cuda", _require)   # (torch.cuda.FloatStorage)
             for name, cls in _tensor_storage.STORAGE_CLASSES.items()}
globals().update(_STORAGES)
