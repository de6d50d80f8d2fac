"""Causal attention biases that ``scaled_dot_product_attention`` takes as ``attn_mask`` (torch's
``torch.nn.attention.bias``): the triangle aligned to the upper-left or the lower-right corner, never
materialised unless the kernel needs it."""

from __future__ import annotations

from enum import IntEnum, auto
from typing import Any

from ..._core import dtype as D
from ..._core.device import device as Device
from ..._core.warn import warn
from ..._tensor import Tensor
from ...ops.creation import ones
from ...ops.linalg import tril
from .. import functional as F

__all__ = ["causal_upper_left", "causal_lower_right", "CausalVariant", "CausalBias"]


class CausalVariant(IntEnum):
    """Where the causal triangle is anchored: ``UPPER_LEFT`` (query i sees keys 0..i, as ``is_causal=True``)
    or ``LOWER_RIGHT`` (query i sees keys 0..i + S - L: the last query sees every key)."""

    UPPER_LEFT = auto()
    LOWER_RIGHT = auto()


class CausalBias(Tensor):
    """A causal bias of ``seq_len_q`` × ``seq_len_kv``; made by :func:`causal_upper_left` and
    :func:`causal_lower_right`. As ``attn_mask`` it makes attention causal without a stored mask."""

    def __init__(self, variant: CausalVariant, seq_len_q: int, seq_len_kv: int) -> None:
        if not isinstance(variant, CausalVariant):
            raise AssertionError(f"variant must be a CausalVariant, got {type(variant).__name__}")
        self.variant = variant
        self.seq_len_q = seq_len_q
        self.seq_len_kv = seq_len_kv
        if seq_len_q > seq_len_kv and variant == CausalVariant.LOWER_RIGHT:
            warn("Lower right causal bias will produce NaNs in the output when seq_len_q > seq_len_kv!",
                 stacklevel=2)

    def _materialize(self, device: Device | str | None = None) -> Tensor:
        """The bias as a bool mask (``True`` = attend) on ``device`` (the CPU by default)."""
        shape = (self.seq_len_q, self.seq_len_kv)
        offset = self.seq_len_kv - self.seq_len_q if self.variant == CausalVariant.LOWER_RIGHT else 0
        return tril(ones(shape, device=device or "cpu", dtype=D.bool), diagonal=offset)

    @staticmethod
    def _dispatch(query: Tensor, key: Tensor, value: Tensor, attn_mask: CausalBias, dropout_p: float = 0.0,
                  is_causal: bool = False, scale: float | None = None, enable_gqa: bool = False) -> Tensor:
        """``scaled_dot_product_attention`` with this bias: the causal kernel for the upper-left triangle
        (or square masks), the materialised mask otherwise (ember has no lower-right fused kernel, as torch
        on the CPU)."""
        if is_causal:
            raise ValueError("CausalBias should not be used with causal=True")
        if attn_mask.seq_len_q == attn_mask.seq_len_kv or attn_mask.variant == CausalVariant.UPPER_LEFT:
            return F.scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=dropout_p,
                                                  is_causal=True, scale=scale, enable_gqa=enable_gqa)
        if attn_mask.variant == CausalVariant.LOWER_RIGHT:
            _validate_sdpa_input(query, key, value)
            from . import WARN_FOR_UNFUSED_KERNELS  # read at call time: users set it on the package
            if WARN_FOR_UNFUSED_KERNELS:
                warn("Efficient attention can't be used because:", stacklevel=2)
                warn("Flash attention can't be used because:", stacklevel=2)
            return F.scaled_dot_product_attention(query, key, value, attn_mask=attn_mask._materialize(query.device),
                                                  dropout_p=dropout_p, is_causal=False, scale=scale,
                                                  enable_gqa=enable_gqa)
        raise ValueError(f"CausalBias.variant must be a CausalVariant type, but found: {attn_mask.variant}")

    # ember has no __torch_function__: scaled_dot_product_attention calls this for an attn_mask that has it
    _sdpa_override = _dispatch

    def __repr__(self, *, tensor_contents: Any = None) -> str:
        return repr(self._materialize())

    __str__ = __repr__



def _validate_sdpa_input(query: Tensor, key: Tensor, value: Tensor) -> None:
    """torch's checks before it picks a fused kernel for a lower-right bias (ValueError, unlike the op's own)."""
    if query.dtype != key.dtype or query.dtype != value.dtype:
        raise ValueError(f"Expected query, key, and value to have the same dtype, but got query.dtype: {query.dtype}, "
                         f"key.dtype: {key.dtype}, and value.dtype: {value.dtype} instead.")
    if query.device != key.device or query.device != value.device:
        raise ValueError(f"Expected query, key, and value to have the same device type, but got query.device: "
                         f"{query.device}, key.device: {key.device}, and value.device: {value.device} instead.")
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise ValueError(f"Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
                         f"{query.dim()}, key.dim: {key.dim()} and value.dim: {value.dim()} instead.")


def causal_upper_left(*size: int) -> CausalBias:
    """An upper-left causal bias of ``size`` = (seq_len_q, seq_len_kv): ``tril(ones(size))``."""
    if len(size) != 2:
        raise AssertionError("causal_upper_left only supports 2D tensors")
    return CausalBias(CausalVariant.UPPER_LEFT, *size)


def causal_lower_right(*size: int) -> CausalBias:
    """A lower-right causal bias of ``size``: ``tril(ones(size), diagonal=seq_len_kv - seq_len_q)``."""
    if len(size) != 2:
        raise AssertionError("causal_lower_right only supports 2D tensors")
    return CausalBias(CausalVariant.LOWER_RIGHT, *size)
