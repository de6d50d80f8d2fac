"""``ember.backends.cudnn``: torch's cuDNN switches. ember's GPU convolutions are cuBLAS GEMMs (CuPy has no
cuDNN module), already deterministic, so the flags are recorded for scripts that set them, and
``is_available()`` is False as in a torch build without cuDNN."""

from __future__ import annotations

from typing import Any

from .._core import dtype as D
from .._core.warn import warn
from ._flags import flag_module, flags_context

__all__ = ["is_available", "version", "is_acceptable", "set_flags", "flags", "enabled", "benchmark",
           "benchmark_limit", "deterministic", "allow_tf32", "fp32_precision", "CUDNN_TENSOR_DTYPES"]

enabled = True
benchmark = False
benchmark_limit: int | None = None   # torch's value without cuDNN (10 with it)
deterministic = False
allow_tf32 = True
fp32_precision = "none"
_depthwise = ["auto"]
CUDNN_TENSOR_DTYPES = {D.float16, D.float32, D.float64}


def is_available() -> bool:
    """False: ember does not call cuDNN."""
    return False


def version() -> None:
    """None, as torch reports without cuDNN."""
    return None


def is_acceptable(tensor: Any) -> bool:
    """Whether cuDNN would take ``tensor``: never (no cuDNN); torch's warning for cuda tensors it would suit."""
    if not enabled or tensor.device.type != "cuda" or tensor.dtype not in CUDNN_TENSOR_DTYPES:
        return False

    warn("PyTorch was compiled without cuDNN/MIOpen support. To use cuDNN/MIOpen, rebuild PyTorch making "
         "sure the library is visible to the build system.", stacklevel=2)
    return False


def set_flags(_enabled: bool | None = None, _benchmark: bool | None = None, _benchmark_limit: int | None = None,
              _deterministic: bool | None = None, _allow_tf32: bool | None = None, _fp32_precision: str = "none",
              _depthwise_kernel: str | None = None) -> tuple:
    """Set the given flags; returns the previous values (in this order) for restoring them."""
    g = globals()
    old = (enabled, benchmark, benchmark_limit, deterministic, allow_tf32, fp32_precision, _depthwise[0])
    for name, value in (("enabled", _enabled), ("benchmark", _benchmark), ("deterministic", _deterministic),
                        ("allow_tf32", _allow_tf32), ("fp32_precision", _fp32_precision)):
        if value is not None:
            g[name] = value
    if _benchmark_limit is not None and is_available():
        g["benchmark_limit"] = _benchmark_limit
    if _depthwise_kernel is not None:
        _depthwise[0] = _depthwise_kernel
    return old


flags = flags_context(set_flags, enabled=False, benchmark=False, benchmark_limit=10, deterministic=False,
                      allow_tf32=True, fp32_precision="none", depthwise_kernel="auto")
flag_module(__name__, {"enabled": bool, "benchmark": bool, "benchmark_limit": None, "deterministic": bool,
                       "allow_tf32": bool, "fp32_precision": None})
