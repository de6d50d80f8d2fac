"""``torch.utils.dlpack``: exchange tensors with other array libraries (NumPy, torch, CuPy) sharing memory.

Installs ``Tensor.__dlpack__``/``__dlpack_device__`` (DLPack protocol v1: the consumer's ``max_version`` etc.
are forwarded so NumPy imports a writable view), so ``np.from_dlpack(t)`` and ``torch.from_dlpack(t)`` see
the same buffer.
"""

from __future__ import annotations

import enum
from typing import Any

from .._tensor import CONJ, Tensor
from ..ops._dispatch import bind
from ..ops.creation import from_dlpack
from ..ops.extra import to_dlpack

__all__ = ["DLDeviceType", "from_dlpack", "to_dlpack"]


class DLDeviceType(enum.IntEnum):
    """DLPack device type codes (as returned by ``__dlpack_device__``)."""

    kDLCPU = 1
    kDLCUDA = 2
    kDLCUDAHost = 3
    kDLOpenCL = 4
    kDLVulkan = 7
    kDLMetal = 8
    kDLVPI = 9
    kDLROCM = 10
    kDLROCMHost = 11
    kDLExtDev = 12
    kDLCUDAManaged = 13
    kDLOneAPI = 14
    kDLWebGPU = 15
    kDLHexagon = 16
    kDLMAIA = 17


def __dlpack__(self: Tensor, *, stream: Any = None, max_version: tuple[int, int] | None = None,
               dl_device: Any = None, copy: bool | None = None) -> Any:
    """A DLPack capsule of the tensor's memory (the arguments are the consumer's, per the array API)."""
    if self._rg:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    if self._math_bits & CONJ:
        raise BufferError("Can't export tensors with the conjugate bit set")
    kwargs = {"stream": stream, "max_version": max_version, "dl_device": dl_device, "copy": copy}
    return self._data.__dlpack__(**{k: v for k, v in kwargs.items() if v is not None})


def __dlpack_device__(self: Tensor) -> tuple[DLDeviceType, int]:
    """(device type, index) as DLPack codes."""
    if self._device.type == "cpu":
        return DLDeviceType.kDLCPU, 0
    return DLDeviceType.kDLCUDA, self._device.index


bind({"__dlpack__": __dlpack__, "__dlpack_device__": __dlpack_device__})
