"""``ember.backends.cuda``: ``matmul.allow_tf32`` and friends, as in ``torch.backends.cuda``."""

from __future__ import annotations

from .._core.device import cuda_available
from . import _precision

__all__ = ["matmul", "is_built", "flash_sdp_enabled", "math_sdp_enabled", "enable_flash_sdp", "enable_math_sdp"]


class _MatmulFlags:
    """``torch.backends.cuda.matmul``: TF32 for float32 GEMMs; reduced-precision reductions are recorded."""

    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True

    @property
    def allow_tf32(self) -> bool:
        return _precision.allow_tf32()

    @allow_tf32.setter
    def allow_tf32(self, value: bool) -> None:
        _precision.set_allow_tf32(bool(value))


matmul = _MatmulFlags()
_sdp = {"flash": True, "math": True}


def is_built() -> bool:
    """Whether ember can run on CUDA here (CuPy imports and sees a GPU)."""
    return cuda_available()


def flash_sdp_enabled() -> bool:
    return _sdp["flash"]


def math_sdp_enabled() -> bool:
    return _sdp["math"]


def enable_flash_sdp(enabled: bool) -> None:
    _sdp["flash"] = bool(enabled)


def enable_math_sdp(enabled: bool) -> None:
    _sdp["math"] = bool(enabled)
