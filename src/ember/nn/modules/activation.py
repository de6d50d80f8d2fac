"""Activation modules: thin wrappers over ``nn.functional`` with torch's constructor arguments and reprs."""

from __future__ import annotations

import math
from typing import Any

from ..._core.warn import warn
from ..._tensor import Tensor
from ...autograd.grad_mode import STATE
from ...ops.creation import empty
from ...ops.elementwise import sigmoid, tanh
from .. import functional as F
from .. import init
from ..functional._attention import _canonical_mask, _none_or_dtype
from ..init import constant_, xavier_normal_, xavier_uniform_
from ..parameter import Parameter
from .linear import NonDynamicallyQuantizableLinear
from .module import Module

__all__ = [
    "ReLU",
    "ReLU6",
    "LeakyReLU",
    "RReLU",
    "PReLU",
    "ELU",
    "SELU",
    "CELU",
    "GELU",
    "SiLU",
    "Mish",
    "Sigmoid",
    "Tanh",
    "Hardtanh",
    "Hardsigmoid",
    "Hardswish",
    "Softplus",
    "Softsign",
    "Tanhshrink",
    "Threshold",
    "LogSigmoid",
    "Hardshrink",
    "Softshrink",
    "Softmax",
    "LogSoftmax",
    "Softmin",
    "GLU",
    "MultiheadAttention",
    "Softmax2d",
]


def _inplace_suffix(inplace: bool, first: bool = False) -> str:
    if not inplace:
        return ""
    return "inplace=True" if first else ", inplace=True"


class _Stateless(Module):
    """An activation with no arguments: ``forward`` applies ``fn``."""

    fn: Any

    def forward(self, input: Tensor) -> Tensor:
        return type(self).fn(input)


class _InplaceOnly(Module):
    """An activation whose only argument is ``inplace``."""

    fn: Any
    show_inplace = True

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self).fn(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace_suffix(self.inplace, first=True) if self.show_inplace else ""


class ReLU(_InplaceOnly):
    fn = staticmethod(F.relu)


class SELU(_InplaceOnly):
    fn = staticmethod(F.selu)


class SiLU(_InplaceOnly):
    fn = staticmethod(F.silu)


class Mish(_InplaceOnly):
    fn = staticmethod(F.mish)


class Hardsigmoid(_InplaceOnly):
    fn = staticmethod(F.hardsigmoid)
    show_inplace = False


class Hardswish(_InplaceOnly):
    fn = staticmethod(F.hardswish)
    show_inplace = False


class Sigmoid(_Stateless):
    fn = staticmethod(sigmoid)   # torch's module calls torch.sigmoid, not F.sigmoid


class Tanh(_Stateless):
    fn = staticmethod(tanh)   # torch's module calls torch.tanh, not F.tanh


class Softsign(_Stateless):
    fn = staticmethod(F.softsign)


class Tanhshrink(_Stateless):
    fn = staticmethod(F.tanhshrink)


class LogSigmoid(_Stateless):
    fn = staticmethod(F.logsigmoid)


class Hardtanh(Module):
    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: float | None = None, max_value: float | None = None) -> None:
        super().__init__()
        if min_value is not None:   # torch's deprecated spellings
            warn("keyword argument `min_value` is deprecated and renamed to `min_val`", FutureWarning,
                 stacklevel=2)
            min_val = min_value
        if max_value is not None:
            warn("keyword argument `max_value` is deprecated and renamed to `max_val`", FutureWarning,
                 stacklevel=2)
            max_val = max_value
        if max_val <= min_val:
            raise AssertionError(f"max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_suffix(self.inplace)}"


class ReLU6(Hardtanh):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return _inplace_suffix(self.inplace, first=True)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{_inplace_suffix(self.inplace)}"


class RReLU(Module):
    """Randomized leaky ReLU: random negative slopes in [lower, upper] when training, their mean in eval."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False) -> None:
        super().__init__()
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}{_inplace_suffix(self.inplace)}"


class PReLU(Module):
    """Leaky ReLU with learnable slopes (one, or one per channel), initialised to ``init``."""

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class ELU(Module):
    fn = staticmethod(F.elu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self).fn(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_suffix(self.inplace)}"


class CELU(ELU):
    fn = staticmethod(F.celu)


class GELU(Module):
    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Threshold(Module):
    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}{_inplace_suffix(self.inplace)}"


class Hardshrink(Module):
    fn = staticmethod(F.hardshrink)

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return type(self).fn(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    fn = staticmethod(F.softshrink)


class Softmax(Module):
    """softmax along ``dim`` (None: torch's legacy implicit choice, with its warning)."""

    fn = staticmethod(F.softmax)

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self.__dict__.setdefault("dim", None)

    def forward(self, input: Tensor) -> Tensor:
        return type(self).fn(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    fn = staticmethod(F.log_softmax)


class Softmin(Softmax):
    fn = staticmethod(F.softmin)


class GLU(Module):
    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


def _no_grad_needed(*tensors: Tensor | None) -> bool:
    return not STATE.grad or not any(t is not None and t.requires_grad for t in tensors)


def _nan_fully_masked(out: Tensor, attn_mask: Tensor | None, key_padding_mask: Tensor | None,
                      num_heads: int) -> Tensor:
    """torch's fused inference kernels use a plain softmax: a (batch-first) query row that may attend to no
    key comes out NaN, where the autograd path's safe softmax gives zeros."""
    if attn_mask is None and key_padding_mask is None:
        return out
    n, length = out.shape[0], out.shape[1]
    blocked = None
    if attn_mask is not None:
        blocked = (attn_mask == -math.inf).reshape(-1, num_heads, length, attn_mask.shape[-1]) \
            if attn_mask.dim() == 3 else (attn_mask == -math.inf).reshape(1, 1, length, -1)
    if key_padding_mask is not None:
        pad = (key_padding_mask == -math.inf).reshape(n, 1, 1, -1)
        blocked = pad if blocked is None else blocked | pad
    dead = blocked.all(-1).any(1)
    if not bool(dead.any()):
        return out
    return out.masked_fill(dead.expand(n, length).unsqueeze(-1), math.nan)


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al.): packed q/k/v projection ``in_proj_weight`` when kdim and vdim
    equal embed_dim, else separate ``q/k/v_proj_weight``; an ``out_proj`` Linear back to embed_dim."""

    __constants__ = ["batch_first"]

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                f"num_heads={num_heads} instead"
            )
        kw = {"device": device, "dtype": dtype}
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, **kw))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, **kw))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, **kw))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, **kw))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **kw)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, embed_dim, **kw))
            self.bias_v = Parameter(empty(1, 1, embed_dim, **kw))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            xavier_uniform_(self.in_proj_weight)
        else:
            xavier_uniform_(self.q_proj_weight)
            xavier_uniform_(self.k_proj_weight)
            xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            constant_(self.in_proj_bias, 0.0)
            constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            xavier_normal_(self.bias_v)

    def __setstate__(self, state: dict) -> None:
        state.setdefault("_qkv_same_embed_dim", True)
        super().__setstate__(state)

    def merge_masks(self, attn_mask: Tensor | None, key_padding_mask: Tensor | None,
                    query: Tensor) -> tuple[Tensor | None, int | None]:
        """One mask of shape (batch, heads, L, L) from a (L, L) or (batch * heads, L, L) ``attn_mask`` and a
        (batch, L) ``key_padding_mask`` (added), with its type: 2 with an attention mask, 1 for the padding mask
        alone (returned as is), None without masks; ``query`` is (batch, L, E)."""
        if attn_mask is None:
            return key_padding_mask, None if key_padding_mask is None else 1
        batch, length, _ = query.shape
        if attn_mask.dim() == 3:
            merged = attn_mask.view(batch, -1, length, length)
        else:
            merged = attn_mask.view(1, 1, length, length).expand(batch, self.num_heads, -1, -1)
        if key_padding_mask is not None:
            merged = merged + key_padding_mask.view(batch, 1, 1, length).expand(-1, self.num_heads, -1, -1)
        return merged, 2

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        is_batched = query.dim() == 3
        fast = self._uses_fastpath(query, key, value, attn_mask, key_padding_mask)
        key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask),
                                           "attn_mask", query.dtype)
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if self.batch_first and is_batched:
            # keep the identities (self-attention, shared key/value) that select the packed projection
            if key is value:
                if query is key:
                    query = key = value = query.transpose(1, 0)
                else:
                    query, key = (x.transpose(1, 0) for x in (query, key))
                    value = key
            else:
                query, key, value = (x.transpose(1, 0) for x in (query, key, value))
        separate = not self._qkv_same_embed_dim
        out, weights = F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.bias_k, self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight, self.out_proj.bias,
            training=self.training, key_padding_mask=key_padding_mask, need_weights=need_weights,
            attn_mask=attn_mask, use_separate_proj_weight=separate,
            q_proj_weight=self.q_proj_weight if separate else None,
            k_proj_weight=self.k_proj_weight if separate else None,
            v_proj_weight=self.v_proj_weight if separate else None,
            average_attn_weights=average_attn_weights, is_causal=is_causal,
        )
        if self.batch_first and is_batched:
            out = out.transpose(1, 0)
            if fast:
                out = _nan_fully_masked(out, attn_mask, key_padding_mask, self.num_heads)
        return out, weights

    def _uses_fastpath(self, query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None,
                       key_padding_mask: Tensor | None) -> bool:
        """Whether torch would run its fused inference kernel (self-attention, batch-first, eval, no grad
        needed, bool masks, even heads, no extra key/value biases)."""
        float_mask = any(m is not None and m.dtype.is_floating_point for m in (attn_mask, key_padding_mask))
        return (
            not float_mask and query.dim() == 3 and query is key and key is value and not self.training
            and self.batch_first and self.num_heads % 2 == 0 and self._qkv_same_embed_dim
            and self.in_proj_weight is not None and self.in_proj_bias is not None
            and self.in_proj_bias.dtype is query.dtype and self.in_proj_weight.dtype is query.dtype
            and self.bias_k is None and self.bias_v is None and not self.add_zero_attn
            and _no_grad_needed(query, self.in_proj_weight, self.in_proj_bias, self.out_proj.weight,
                                self.out_proj.bias)
        )


class Softmax2d(Module):
    """Softmax over the channels of each location of a ``(N, C, H, W)`` or ``(C, H, W)`` input."""

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.dim()}D instead")
        return F.softmax(input, -3)
