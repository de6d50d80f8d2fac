"""Devices and the array namespace behind each: NumPy for ``cpu``, CuPy for ``cuda:N``.

Device objects are interned, so ``a.device is b.device`` is the fast same-device test. CuPy is imported
only when a cuda device is first asked for; without it (or without a GPU) cuda requests raise torch's
errors and ``cuda_available()`` is False.
"""

from __future__ import annotations

import functools
import os
import types
from collections.abc import Callable

import numpy as np

__all__ = ["device", "xp_of", "xp_of_array", "cuda_available", "cuda_device_count", "set_default_device",
           "get_default_device", "OutOfMemoryError", "AcceleratorError", "check_on_device", "flush_checks",
           "PENDING_CHECKS", "to_host"]

_cupy: types.ModuleType | None | bool = False   # False: not probed yet; None: unavailable


CAPTURING = [False]   # True while ember.cuda.graphs captures: no host round trips (syncs) are allowed then
_peak_bytes: dict[int, int] = {}   # device index → most bytes CuPy's pool held in use since the last reset


def _probe_cupy() -> types.ModuleType | None:
    global _cupy
    if _cupy is False:
        try:
            import cupy

            _cupy = cupy if cupy.cuda.runtime.getDeviceCount() > 0 else None
        except Exception:  # ImportError, or a CUDA driver error when there is no GPU
            _cupy = None
        if _cupy is not None:
            _track_peak_memory(_cupy)
    return _cupy  # type: ignore[return-value]


class OutOfMemoryError(RuntimeError):
    """``torch.OutOfMemoryError`` (also ``torch.cuda.OutOfMemoryError``): a GPU allocation failed."""


class AcceleratorError(RuntimeError):
    """``torch.AcceleratorError`` (also ``torch.cuda.AcceleratorError``): an error raised while executing on a
    device."""


def _size(n: float) -> str:
    """Bytes in torch's style: '512 bytes', '20.00 MiB'."""
    if n < 1024:
        return f"{int(n)} bytes"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            break
    return f"{n:.2f} {unit}"


def _out_of_memory(cp: types.ModuleType, pool: object, size: int) -> OutOfMemoryError:
    """torch's out-of-memory error for a failed request of ``size`` bytes, with the pool's figures."""
    dev = cp.cuda.runtime.getDevice()
    free, total = cp.cuda.runtime.memGetInfo()
    used, held = pool.used_bytes(), pool.total_bytes()
    return OutOfMemoryError(
        f"CUDA out of memory. Tried to allocate {_size(size)}. GPU {dev} has a total capacity of {_size(total)} "
        f"of which {_size(free)} is free. Of the allocated memory {_size(used)} is allocated by ember, and "
        f"{_size(held - used)} is reserved by ember but unallocated. Freeing tensors you no longer need and "
        "calling ember.cuda.empty_cache() returns the cached memory to the driver.")


PENDING_CHECKS: list[tuple[object, Callable[[], Exception]]] = []


def check_on_device(xp: types.ModuleType, failed: object, error: Callable[[], Exception]) -> None:
    """Raise ``error()`` if the 0-d boolean array ``failed`` is true: at once on the CPU; for GPU data at the
    next point where the host reads the GPU (``flush_checks``), so that validating costs no synchronisation
    — torch's device-side asserts surface the same way. Inside a CUDA graph capture the check is dropped."""
    if xp is np:
        if bool(failed):
            raise error()
    elif not CAPTURING[0]:
        PENDING_CHECKS.append((failed, error))


def flush_checks() -> None:
    """Evaluate the queued GPU checks (one transfer for all of them); raise the first one that failed."""
    pending = PENDING_CHECKS[:]
    PENDING_CHECKS.clear()
    xp = xp_of_array(pending[0][0])
    verdicts = to_host(xp.stack([xp.asarray(f).reshape(()) for f, _ in pending]))
    for (_, error), bad in zip(pending, verdicts, strict=True):
        if bad:
            raise error()


def to_host(arr: object) -> np.ndarray:
    """A backend array as a NumPy array (a copy from the GPU, after the queued device checks)."""
    if isinstance(arr, np.ndarray):
        return arr
    if PENDING_CHECKS:
        flush_checks()
    return arr.get()  # type: ignore[attr-defined]


def _track_peak_memory(cp: types.ModuleType) -> None:
    """Route CuPy's allocations through its default pool while recording the peak bytes in use, which
    ``ember.cuda.max_memory_allocated`` reports (CuPy's pool keeps no peak of its own); a failed allocation
    raises torch's ``OutOfMemoryError``."""
    pool = cp.get_default_memory_pool()
    pool_malloc, used = pool.malloc, pool.used_bytes
    cupy_oom = cp.cuda.memory.OutOfMemoryError

    def malloc(size: int) -> object:
        try:
            mem = pool_malloc(size)
        except cupy_oom:
            raise _out_of_memory(cp, pool, size) from None
        dev = mem.device_id
        now = used()
        if now > _peak_bytes.get(dev, 0):
            _peak_bytes[dev] = now
        return mem

    cp.cuda.set_allocator(malloc)


def cuda_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    return _probe_cupy() is not None


def cuda_device_count() -> int:
    cp = _probe_cupy()
    return cp.cuda.runtime.getDeviceCount() if cp is not None else 0


# every device type torch's ``torch.device`` accepts (ember runs cpu and cuda; the others fail when used)
DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia",
                "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


def _parse_error(*args: object) -> str:
    """torch's parser message for ``device(*args)`` of the wrong types."""
    from ..ops._signature import Signature, parse_error

    sigs = (Signature("device(Device device)", False), Signature("device(str type, int index=-1)", False))
    return parse_error(sigs, args if args[1] is not None else args[:1], {}) or ""


class device:
    """``ember.device('cpu')``, ``device('cuda', 0)``, ``device('cuda:1')`` — as ``torch.device``."""

    __slots__ = ("type", "index", "_key")
    _interned: dict[tuple[str, int | None], device] = {}

    def __new__(cls, type: str | device | int, index: int | None = None) -> device:
        if isinstance(type, device):
            return type
        if isinstance(type, int) and not isinstance(type, bool):   # the current accelerator's device ``type``
            if _probe_cupy() is None:
                raise RuntimeError("Cannot access accelerator device when none is available.")
            type, index = "cuda", type
        if not isinstance(type, str) or not (index is None or isinstance(index, int)):
            raise TypeError(_parse_error(type, index))
        kind = type
        if ":" in type:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed "
                                   f"explicitly: {type}")
            kind, _, idx = type.partition(":")
            if not (idx.isascii() and idx.isdigit()) or (idx[0] == "0" and idx != "0"):
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(idx)
        if kind not in DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of device string: "
                               f"{type}")
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        key = (kind, index)
        obj = cls._interned.get(key)
        if obj is None:
            obj = object.__new__(cls)
            obj.type, obj.index, obj._key = kind, index, key
            cls._interned[key] = obj
        return obj

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __reduce__(self) -> tuple:
        return (device, self._key)

    def __enter__(self) -> device:
        """``with device(d):`` factories without ``device=`` create tensors on ``d`` inside the block, as torch's.
        ember has no meta tensors: a meta block builds on the current default device (a program then
        initialising with ``to_empty`` and ``reset_parameters`` runs as with torch)."""
        _ENTERED.append(_default_device)
        if self.type != "meta":
            set_default_device(self)
        return self

    def __exit__(self, *exc: object) -> None:
        global _default_device
        _default_device = _ENTERED.pop()


CPU = device("cpu")
_default_device: device = CPU   # where factories put tensors when no device= is given
_ENTERED: list[device] = []     # the default devices that ``with device(...)`` blocks restore on exit


def set_default_device(device: device | str | int | None) -> None:
    """``torch.set_default_device``: factories without ``device=`` create tensors there (None → cpu)."""
    global _default_device
    _default_device = CPU if device is None else type(CPU)(device)


def get_default_device() -> device:
    """``torch.get_default_device``: the device factories use when none is given (a bare 'cuda' → cuda:current)."""
    return canonical(None)


def canonical(dev: device | str | int | None) -> device:
    """The concrete device a tensor lives on: ``None`` → the default device (cpu unless
    ``set_default_device`` changed it), ``'cuda'`` → ``cuda:<current>``.

    Raises torch's errors for cuda requests without a usable GPU.
    """
    if dev is None:
        if _default_device is CPU:
            return CPU
        dev = _default_device
    d = device(dev)
    if d.type == "cpu":
        return CPU
    if d.type != "cuda":
        raise RuntimeError(f"ember has no backend for device type '{d.type}'")
    cp = _probe_cupy()
    if cp is None:
        raise AssertionError("Torch not compiled with CUDA enabled")
    index = d.index if d.index is not None else cp.cuda.runtime.getDevice()
    count = cp.cuda.runtime.getDeviceCount()
    if index >= count:
        raise RuntimeError("CUDA error: invalid device ordinal")
    return device("cuda", index)


def xp_of(dev: device) -> types.ModuleType:
    """The array namespace (numpy or cupy) holding tensors of ``dev``."""
    if dev is CPU:
        return np
    cp = _probe_cupy()
    assert cp is not None
    return cp


def xp_of_array(a: object) -> types.ModuleType:
    """The array namespace of a backend array or scalar: NumPy's, else CuPy's."""
    if isinstance(a, (np.ndarray, np.generic)):
        return np
    cp = _probe_cupy()
    assert cp is not None
    return cp


def cpu_features() -> dict:
    """NumPy's table of the CPU's instruction-set extensions."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as feats
    except ImportError:   # NumPy 1
        from numpy.core._multiarray_umath import __cpu_features__ as feats
    return feats


@functools.cache
def lanes16() -> int:
    """Elements of a 16-bit float in one of torch's CPU vectors: 32 where its AVX512 kernels run (AVX512
    F/BW/VL/DQ, unless ``ATEN_CPU_CAPABILITY`` picks a lower level), else 16. Some of torch's 16-bit kernels round
    differently in their vector loop and in its scalar tail, so where a tail starts shows in the values."""
    feats = cpu_features()
    avx512 = all(feats.get(k) for k in ("AVX512F", "AVX512BW", "AVX512VL", "AVX512DQ"))
    return 32 if avx512 and os.environ.get("ATEN_CPU_CAPABILITY", "avx512").lower() == "avx512" else 16
