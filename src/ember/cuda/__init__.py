"""``ember.cuda``: the torch.cuda API over CuPy. Without CuPy or a GPU, ``is_available()`` is False and
everything that needs a GPU raises torch's error."""

from __future__ import annotations

from typing import Any

from .._core import dtype as D
from .._core.device import _probe_cupy, canonical, cuda_available, cuda_device_count
from .._legacy import legacy_type

__all__ = ["is_available", "device_count", "current_device", "set_device", "get_device_name", "synchronize",
           "manual_seed", "manual_seed_all", "is_initialized", "FloatTensor", "DoubleTensor", "HalfTensor",
           "BFloat16Tensor", "ByteTensor", "CharTensor", "ShortTensor", "IntTensor", "LongTensor", "BoolTensor"]


def is_available() -> bool:
    """Whether CuPy sees a usable GPU (False quietly otherwise)."""
    return cuda_available()


def device_count() -> int:
    return cuda_device_count()


def is_initialized() -> bool:
    return cuda_available()


def _require() -> Any:
    cp = _probe_cupy()
    if cp is None:
        raise AssertionError("Torch not compiled with CUDA enabled")
    return cp


def current_device() -> int:
    return _require().cuda.runtime.getDevice()


def set_device(device: Any) -> None:
    idx = device if isinstance(device, int) else canonical(device).index
    _require().cuda.runtime.setDevice(idx)


def get_device_name(device: Any = None) -> str:
    cp = _require()
    idx = current_device() if device is None else (device if isinstance(device, int) else canonical(device).index)
    return cp.cuda.runtime.getDeviceProperties(idx)["name"].decode()


def synchronize(device: Any = None) -> None:
    _require().cuda.runtime.deviceSynchronize()


def manual_seed(seed: int) -> None:
    """Seed the CUDA stream; ember draws CUDA random numbers from the CPU algorithm, so this seeds it."""
    from ..ops.random import manual_seed as cpu_seed
    if cuda_available():
        cpu_seed(seed)


manual_seed_all = manual_seed

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
