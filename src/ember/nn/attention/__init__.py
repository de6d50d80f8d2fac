"""``ember.nn.attention``: choose the implementation ``scaled_dot_product_attention`` runs (torch's
``torch.nn.attention``). The switches are the global flags of ``ember.backends.cuda``; like torch's CPU
dispatcher, ember reads two of them: ``flash`` (the fused kernel) and ``math`` (the composite).
Submodules ``bias`` and ``flex_attention`` load on import, as in torch.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..._core.warn import warn
from ...backends import cuda as _cuda
from ...backends.cuda import SDPAParams, SDPBackend, can_use_efficient_attention, can_use_flash_attention  # noqa: F401

__all__ = [
    "SDPBackend",
    "sdpa_kernel",
    "WARN_FOR_UNFUSED_KERNELS",
    "register_flash_attention_impl",
    "activate_flash_attention_impl",
    "list_flash_attention_impls",
    "current_flash_attention_impl",
    "restore_flash_attention_impl",
]

# Set True to be warned, for CausalBias attention, why no fused kernel could run.
WARN_FOR_UNFUSED_KERNELS = False

_backend_names = {
    "cudnn": "CUDNN_ATTENTION",
    "flash": "FLASH_ATTENTION",
    "mem_efficient": "EFFICIENT_ATTENTION",
    "math": "MATH",
    "overrideable": "OVERRIDEABLE",
}


def _cur_sdpa_kernel_backends(with_priority: bool = False) -> list[SDPBackend]:
    """The enabled backends (in priority order when asked)."""
    backends = [getattr(SDPBackend, val) for name, val in _backend_names.items() if _cuda._sdp[name]]
    if with_priority:
        backends.sort(key=lambda b: _cuda._sdp_priority.index(int(b)))
    return backends


def _sdpa_kernel(backends: Iterable, set_priority: bool = False) -> None:
    """Enable exactly ``backends``; with ``set_priority`` they also go first in the priority order."""
    for name, val in _backend_names.items():
        _cuda._sdp[name] = getattr(SDPBackend, val) in backends
    if set_priority:
        order = [int(b) for b in backends]
        order += [b for b in _cuda._sdp_priority if b not in order]
        _cuda._sdp_priority[:] = order


@contextlib.contextmanager
def sdpa_kernel(backends: list[SDPBackend] | SDPBackend, set_priority: bool = False) -> Iterator[dict]:
    """Inside the block only ``backends`` may run ``scaled_dot_product_attention`` (also usable as a
    decorator); the previous flags come back on exit, even after an error."""
    if not isinstance(backends, (list, SDPBackend)):
        raise AssertionError(
            "Backend must be an instance of SDPBackend or a list of SDPBackend instances, "
            f"got {type(backends).__name__}"
        )
    if isinstance(backends, SDPBackend):
        backends = [backends]
    backends = list(dict.fromkeys(backends))
    previous = _cur_sdpa_kernel_backends(with_priority=set_priority)
    try:
        _sdpa_kernel(backends, set_priority)
        yield {}
    finally:
        _sdpa_kernel(previous, set_priority)


# ---- the CPU kernel choice (torch's select_sdp_backend_cpp) -------------------------------------------
_BROADCAST_HINT = "To broadcast dense inputs, try using unsqueeze and expand_to before passing them into the kernel."


def _flash_blocker(query: Any, key: Any, value: Any, attn_mask: Any, dropout_p: float,
                   rep: tuple[int, int]) -> str | None:
    """Why the fused kernel cannot take these inputs, in torch's check order and words ('' where torch
    gives no reason); None when it can. ``rep``: query heads per key / value head (GQA)."""
    if dropout_p > 0:
        return "Both fused kernels do not support non-zero dropout."
    if not query.dim() == key.dim() == value.dim() == 4:
        return ("All fused kernels requires query, key and value to be 4 dimensional, but got Query dim: "
                f"{query.dim()}, Key dim: {key.dim()}, Value dim: {value.dim()} instead.")
    qs, ks, vs = list(query.shape), list(key.shape), list(value.shape)
    if not qs[0] == ks[0] == vs[0]:
        return ("For dense inputs, both fused kernels require query, key and value to have the same batch_size. "
                f"Query.sizes(): {qs}, Key.sizes(): {ks}, Value.sizes(): {vs} instead. {_BROADCAST_HINT}")
    if rep != (1, 1) and ks[1] != vs[1]:
        return ("Both fused kernels require key and value to have the same num_heads and batch_size but got: "
                f"Key sizes: {ks}, Value sizes: {vs}, Query sizes: {qs} instead.")
    if rep == (1, 1) and not qs[1] == ks[1] == vs[1]:
        return ("For dense input, both fused kernels require query, key and value to have the same num_heads. "
                f"Query.sizes(): {qs}, Key sizes(): {ks}, Value sizes(): {vs} instead. {_BROADCAST_HINT}")
    if attn_mask is not None:
        if attn_mask.requires_grad:
            return ""
        if attn_mask.dim() not in (2, 4):
            return ("Please use the following attn mask shapes: 2d - ({Q_seq_len, 1}  x {KV_seq_len, 1}); "
                    "4d - ({Batch, 1} x {Num_heads, 1} x {Q_seq_len, 1}  x {KV_seq_len, 1})")
    if not qs[-1] == ks[-1] == vs[-1]:
        return ("Flash attention requires q,k,v to have the same last dimension. Got Query.size(-1): "
                f"{qs[-1]}, Key.size(-1): {ks[-1]}, Value.size(-1): {vs[-1]} instead.")
    strides = [t.stride(-1) for t in (query, key, value)]
    if strides != [1, 1, 1]:
        return ("All fused kernels require the last dimension of the input to have stride 1. Got "
                f"Query.stride(-1): {strides[0]}, Key.stride(-1): {strides[1]}, Value.stride(-1): {strides[2]}")
    return None


def _sdpa_use_flash(query: Any, key: Any, value: Any, attn_mask: Any, dropout_p: float,
                    rep: tuple[int, int]) -> bool:
    """Whether ``scaled_dot_product_attention`` runs the fused kernel (True) or the math composite (False)
    under the current flags. With the composite disabled and the kernel unable to run: torch's warnings
    (why not) and its RuntimeError; with both disabled, its RuntimeError."""
    flash, math_ok = _cuda._sdp["flash"], _cuda._sdp["math"]
    if not (flash or math_ok):
        raise RuntimeError("No viable backend for scaled_dot_product_attention was found. "
                           "This is likely due to turning off both the math kernel and the fused kernels.")
    reason = _flash_blocker(query, key, value, attn_mask, dropout_p, rep) if flash else ""
    if reason is None:
        return True
    if math_ok:
        return False
    warn("Flash attention kernel not used because:", stacklevel=3)
    if reason:
        warn(reason, stacklevel=3)
    raise RuntimeError("No available kernel.  Aborting execution.")


# ---- flash attention implementation registry (torch's FA3/FA4 hooks; ember runs none of them) ---------
_logger = logging.getLogger(__name__)
_RegisterFn = Callable[..., Any]
_FLASH_ATTENTION_IMPLS: dict[str, _RegisterFn] = {}
_FLASH_ATTENTION_ACTIVE: list = []   # [(name, handle)] while one is active


def register_flash_attention_impl(impl: str, *, register_fn: _RegisterFn) -> None:
    """Record the callable that activates flash attention implementation ``impl``."""
    _FLASH_ATTENTION_IMPLS[impl] = register_fn


def activate_flash_attention_impl(impl: str) -> None:
    """Activate a registered implementation (the previous one is restored first)."""
    restore_flash_attention_impl(_raise_warn=False)
    register_fn = _FLASH_ATTENTION_IMPLS.get(impl)
    if register_fn is None:
        raise ValueError(f"Unknown flash attention impl '{impl}'. "
                         f"Available implementations: {list_flash_attention_impls()}")
    handle = register_fn()
    if handle is not None:
        _FLASH_ATTENTION_ACTIVE[:] = [(impl, handle)]


def list_flash_attention_impls() -> list[str]:
    """The names of the registered implementations."""
    return sorted(_FLASH_ATTENTION_IMPLS)


def current_flash_attention_impl() -> str | None:
    """The active implementation's name; None for the default."""
    return _FLASH_ATTENTION_ACTIVE[0][0] if _FLASH_ATTENTION_ACTIVE else None


def restore_flash_attention_impl(_raise_warn: bool = True) -> None:
    """Back to the default implementation."""
    if _FLASH_ATTENTION_ACTIVE:
        _FLASH_ATTENTION_ACTIVE[0][1].remove()
    elif _raise_warn:
        _logger.warning("Trying to restore default FA2 impl when no custom impl was activated")
    _FLASH_ATTENTION_ACTIVE.clear()


def _external_impl(module_path: str) -> _RegisterFn:
    """torch's built-in FA3/FA4 entries: they import the external CUDA package, which ember cannot drive."""
    def register() -> None:
        importlib.import_module(module_path)
        raise NotImplementedError(f"ember cannot run the CUDA kernels of {module_path}")
    return register


register_flash_attention_impl("FA3", register_fn=_external_impl("flash_attn_interface"))
register_flash_attention_impl("FA4", register_fn=_external_impl("flash_attn.cute.interface"))
