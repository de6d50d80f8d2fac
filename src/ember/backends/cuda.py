"""``ember.backends.cuda``: ``matmul.allow_tf32`` and friends, as in ``torch.backends.cuda``."""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator
from typing import Any

from .._core.device import cuda_available
from .._core.warn import warn
from . import _precision

__all__ = ["matmul", "is_built", "SDPBackend", "flash_sdp_enabled", "enable_flash_sdp", "mem_efficient_sdp_enabled",
           "enable_mem_efficient_sdp", "math_sdp_enabled", "enable_math_sdp", "cudnn_sdp_enabled", "enable_cudnn_sdp",
           "allow_fp16_bf16_reduction_math_sdp", "fp16_bf16_reduction_math_sdp_allowed",
           "is_flash_attention_available", "SDPAParams", "can_use_flash_attention", "can_use_efficient_attention",
           "can_use_cudnn_attention", "sdp_kernel"]


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
def is_built() -> bool:
    """Whether ember can run on CUDA here (CuPy imports and sees a GPU)."""
    return cuda_available()


# ---- scaled_dot_product_attention backend switches (read by nn.attention's kernel choice) -------------
class SDPBackend(enum.Enum):
    """The implementations ``scaled_dot_product_attention`` can run (torch's ``torch.nn.attention.SDPBackend``);
    members convert to their int value, as torch's pybind enum does."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    def __int__(self) -> int:
        return self.value

    __index__ = __int__

    def __hash__(self) -> int:
        return self.value


SDPBackend.__module__ = "ember.nn.attention"
# enabled flag per backend (torch's global context; its CPU dispatcher reads "flash" and "math") and priority
_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True, "overrideable": True}
_sdp_priority = [1, 2, 0, 3, 4]
_math_sdp_reduction = [False]


def _c_type_name(value: Any) -> str:
    """A value's type as CPython's ``tp_name`` spells it (``int``, ``numpy.bool``), for torch's messages."""
    cls = type(value)
    heap = cls.__flags__ & (1 << 9)
    return cls.__name__ if heap or cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__name__}"


def _set_sdp(name: str, enabled: Any, setter: str = "set_sdp_use_math", fmt: str = "") -> None:
    """Set one flag; like torch only a Python bool is accepted (its messages name its setters as it does)."""
    if not isinstance(enabled, bool):
        raise RuntimeError(f"{setter} expects a bool, but got {fmt}{_c_type_name(enabled)}")
    _sdp[name] = enabled


def flash_sdp_enabled() -> bool:
    """Whether the flash attention kernel may run (ember's fused CPU path)."""
    return _sdp["flash"]


def enable_flash_sdp(enabled: bool) -> None:
    """Allow or forbid the flash attention kernel."""
    _set_sdp("flash", enabled)


def mem_efficient_sdp_enabled() -> bool:
    """Whether the memory-efficient kernel may run (recorded: ember has none, as torch's CPU build)."""
    return _sdp["mem_efficient"]


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _set_sdp("mem_efficient", enabled)


def math_sdp_enabled() -> bool:
    """Whether the math composite may run."""
    return _sdp["math"]


def enable_math_sdp(enabled: bool) -> None:
    """Allow or forbid the math composite."""
    _set_sdp("math", enabled)


def cudnn_sdp_enabled() -> bool:
    """Whether the cuDNN kernel may run (recorded: ember has none)."""
    return _sdp["cudnn"]


def enable_cudnn_sdp(enabled: bool) -> None:
    _set_sdp("cudnn", enabled, "set_sdp_use_cudnn", "%s")


def allow_fp16_bf16_reduction_math_sdp(enabled: bool) -> None:
    """Allow the math composite to reduce in half precision (recorded)."""
    if not isinstance(enabled, bool):
        raise RuntimeError(f"set_sdp_use_math expects a bool, but got {_c_type_name(enabled)}")
    _math_sdp_reduction[0] = enabled


def fp16_bf16_reduction_math_sdp_allowed() -> bool:
    return _math_sdp_reduction[0]


def is_flash_attention_available() -> bool:
    """False: no CUDA flash attention kernel is built in (as torch's CPU build reports)."""
    return False


class SDPAParams:
    """The arguments of one ``scaled_dot_product_attention`` call, for the ``can_use_*`` queries."""

    __slots__ = ("query", "key", "value", "attn_mask", "dropout", "is_causal", "enable_gqa")

    def __init__(self, query: Any, key: Any, value: Any, attn_mask: Any, dropout: float, is_causal: bool,
                 enable_gqa: bool) -> None:
        self.query, self.key, self.value, self.attn_mask = query, key, value, attn_mask
        self.dropout, self.is_causal, self.enable_gqa = float(dropout), bool(is_causal), bool(enable_gqa)


def can_use_flash_attention(params: SDPAParams, debug: bool = False) -> bool:
    """False: the CUDA flash kernel is not built in (ember's CPU flash path is chosen inside the op)."""
    return False


def can_use_efficient_attention(params: SDPAParams, debug: bool = False) -> bool:
    """False: no memory-efficient CUDA kernel is built in."""
    return False


def can_use_cudnn_attention(params: SDPAParams, debug: bool = False) -> bool:
    """False: ember does not call cuDNN."""
    return False


@contextlib.contextmanager
def sdp_kernel(enable_flash: bool = True, enable_math: bool = True, enable_mem_efficient: bool = True,
               enable_cudnn: bool = True) -> Iterator[dict]:
    """Deprecated: enable only the named backends inside the block (``nn.attention.sdpa_kernel`` replaces it)."""
    warn(
        "`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context manager will be removed. "
        "Please see `torch.nn.attention.sdpa_kernel()` for the new context manager, with updated signature.",
        FutureWarning, stacklevel=3,
    )
    from ..nn.attention import sdpa_kernel

    chosen = [(enable_flash, SDPBackend.FLASH_ATTENTION), (enable_mem_efficient, SDPBackend.EFFICIENT_ATTENTION),
              (enable_math, SDPBackend.MATH), (enable_cudnn, SDPBackend.CUDNN_ATTENTION)]
    with sdpa_kernel([b for on, b in chosen if on]) as context:
        yield context
