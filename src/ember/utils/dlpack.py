"""``torch.utils.dlpack``: exchange tensors with other array libraries (NumPy, torch, CuPy) sharing memory.

ember.Tensor already implements ``__dlpack__``/``__dlpack_device__``, so ``np.from_dlpack(t)`` and
``torch.from_dlpack(t)`` see the same buffer; these are the functional entry points torch offers.
"""

from __future__ import annotations

import enum

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
