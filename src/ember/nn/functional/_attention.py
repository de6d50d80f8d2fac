"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

``scaled_dot_product_attention`` takes the path torch's CPU dispatcher would: where torch runs its flash kernel,
ember runs one fused op on arrays (scores, mask, causal bias, safe softmax, weighted sum) recorded as
``ScaledDotProductFlashAttentionForCpuBackward0``, whose backward is written with ember ops (differentiable again
under ``create_graph``); elsewhere it runs torch's math composite op for op (same graph, same dropout draws).
"""

from __future__ import annotations

import math
from typing import Any

from ..._core import dtype as D
from ..._core import gemm
from ..._core.warn import warn
from ...autograd.grad_mode import STATE
from ...ops._dispatch import broadcast_error, broadcast_shapes
from ...ops.creation import empty_like, zeros, zeros_like
from ...ops.elementwise import mul_scalar
from ...ops.extra import no_derivative
from ...ops.matmul import baddbmm, bmm, cpp_name
from ...ops.shape import cat
from ..attention import _sdpa_use_flash
from ._activation import softmax
from ._common import OUT, Node, Tensor, compute_array, fused, result, xp
from ._layers import dropout, linear, pad

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


# ---- the fused attention core -------------------------------------------------------------------------
def _safe_softmax_arr(ns: Any, s: Any) -> Any:
    """Softmax over the last axis, in place; rows that are all ``-inf`` give zeros (torch's _safe_softmax)."""
    m = s.max(axis=-1, keepdims=True)
    m[~ns.isfinite(m)] = 0
    ns.subtract(s, m, out=s)
    ns.exp(s, out=s)
    total = s.sum(axis=-1, keepdims=True)
    total[total == 0] = 1
    ns.divide(s, total, out=s)
    return s


class SafeSoftmaxBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (y,) = self.saved
        return ((g - (g * y).sum(-1, keepdim=True)) * y,)


def _safe_softmax(x: Tensor) -> Tensor:
    """Differentiable safe softmax over the last dim (used when the attention backward builds a graph)."""
    out = result(_safe_softmax_arr(xp(x), compute_array(x).copy()), x)
    return fused(out, SafeSoftmaxBackward0, (x,), (OUT,))


def _causal_bias(ns: Any, n_q: int, n_k: int, dtype: Any) -> Any:
    """0 on and below the (upper-left aligned) diagonal, ``-inf`` above it."""
    return ns.where(ns.tri(n_q, n_k, dtype=bool), 0, -math.inf).astype(dtype)


def _repeat_heads(t: Tensor, rep: int) -> Tensor:
    """GQA: each key/value head serves ``rep`` consecutive query heads (``repeat_interleave`` on dim -3)."""
    return t if rep == 1 else t.repeat_interleave(rep, -3)


def _fold_heads(g: Tensor, rep: int) -> Tensor:
    """The gradient of :func:`_repeat_heads`: sum the ``rep`` copies of each head."""
    if rep == 1:
        return g
    *lead, h, s, e = g.shape
    return g.reshape(*lead, h // rep, rep, s, e).sum(-3)


class ScaledDotProductFlashAttentionForCpuBackward0(Node):
    """Backward of the fused core: P = softmax(scale·QKᵀ + bias), O = P·V, from the saved P. Row sums of dP∘P
    come from O (Σ g∘O), saving passes. torch cannot differentiate its flash kernel's backward: under
    ``create_graph`` the gradients raise its error when differentiated."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        q, k, v, bias, out = self.saved
        k, v = _repeat_heads(k, self.rep_k), _repeat_heads(v, self.rep_v)
        p = result(self.probs, q)
        gq = gk = gv = None
        if self._next[2] is not None:
            gv = _fold_heads(p.transpose(-2, -1).matmul(g), self.rep_v)
        if self._next[0] is not None or self._next[1] is not None:
            gs = p * (g.matmul(v.transpose(-2, -1)) - (g * out).sum(-1, keepdim=True))
            if self._next[0] is not None:
                gq = gs.matmul(k) * self.scale
            if self._next[1] is not None:
                gk = _fold_heads(gs.transpose(-2, -1).matmul(q) * self.scale, self.rep_k)
        if not STATE.grad:
            return gq, gk, gv
        twice = no_derivative("_scaled_dot_product_flash_attention_for_cpu_backward")
        return tuple(None if t is None else twice(t, self) for t in (gq, gk, gv))


def _flash_attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None, is_causal: bool, scale: float,
                     rep_k: int, rep_v: int) -> Tensor:
    """The fused core on arrays (where torch runs its CPU flash kernel): scores, additive float ``bias``
    (never requiring grad there), causal bias, safe softmax, P·V; GQA key/value heads repeated."""
    ns = xp(q)
    qa, ka, va = compute_array(q), compute_array(k), compute_array(v)
    if rep_k > 1:
        ka = ns.repeat(ka, rep_k, axis=-3)
    if rep_v > 1:
        va = ns.repeat(va, rep_v, axis=-3)
    s = gemm.matmul(ns, qa, ka.swapaxes(-1, -2))
    s *= scale
    if bias is not None:
        s = s + compute_array(bias)   # may broadcast the scores to the mask's batch shape
    if is_causal:
        s += _causal_bias(ns, s.shape[-2], s.shape[-1], s.dtype)
    p = _safe_softmax_arr(ns, s)
    res = gemm.matmul(ns, p, va)
    if not qa.flags.c_contiguous:   # torch's kernel lays the output out like the query
        laid = ns.empty_like(qa)
        laid[...] = res
        res = laid
    out = result(res, q)
    return fused(out, ScaledDotProductFlashAttentionForCpuBackward0, (q, k, v), (q, k, v, bias, OUT), probs=p,
                 scale=scale, is_causal=is_causal, rep_k=rep_k, rep_v=rep_v)


def _math_attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None, is_causal: bool, dropout_p: float,
                    scale: float, rep_k: int, rep_v: int) -> Tensor:
    """torch's math composite, op for op: q and k each scaled by √scale, Q·Kᵀ, the additive mask added in
    place, safe softmax, dropout as a product with a drawn keep mask, then ·V."""
    sf = math.sqrt(abs(scale))
    qs = mul_scalar(q, -sf if scale < 0 else sf)
    if is_causal:
        n_q, n_k = q.shape[-2], k.shape[-2]
        bias = result(_causal_bias(xp(q), n_q, n_k, compute_array(q).dtype), q)
    attn = qs.matmul(mul_scalar(_repeat_heads(k, rep_k).transpose(-2, -1), sf))
    if bias is not None:
        attn = attn.add_(bias) if broadcast_shapes(attn.shape, bias.shape) == attn.shape else attn + bias
    attn = _safe_softmax(attn)
    if dropout_p > 0:
        if dropout_p == 1:
            keep = zeros((), dtype=attn.dtype, device=attn.device)
        else:
            keep = empty_like(attn).bernoulli_(1 - dropout_p).div_(1 - dropout_p)
        attn = attn * keep
    return attn.matmul(_repeat_heads(v, rep_v))


# ---- scaled_dot_product_attention ---------------------------------------------------------------------
def _check_sdpa(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None, dropout_p: float) -> None:
    """torch's argument checks, in its order and words."""
    if not (query.dtype is key.dtype is value.dtype):
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{cpp_name(query.dtype)} key.dtype: {cpp_name(key.dtype)} and value.dtype: "
            f"{cpp_name(value.dtype)} instead."
        )
    if query.device != key.device or query.device != value.device:
        raise RuntimeError(
            "Expected query, key, and value to have the same device type, but got query.device: "
            f"{query.device} key.device: {key.device} and value.device: {value.device} instead."
        )
    if min(query.dim(), key.dim(), value.dim()) < 2:
        raise RuntimeError(
            "Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
            f"{query.dim()} key.dim: {key.dim()} and value.dim: {value.dim()} instead."
        )
    if attn_mask is not None and attn_mask.dtype not in (D.bool, D.float32, query.dtype):
        raise RuntimeError(
            "Expected attn_mask dtype to be bool or float or to match query dtype, but got attn_mask.dtype: "
            f"{cpp_name(attn_mask.dtype)} and  query.dtype: {cpp_name(query.dtype)} instead."
        )
    if not query.dtype.is_floating_point:
        raise RuntimeError(f"expected scalar type Float but found {query.dtype._short}")
    if dropout_p > 1:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")


def _gqa_repeats(query: Tensor, key: Tensor, value: Tensor, enable_gqa: bool) -> tuple[int, int]:
    """How many query heads share each key / value head (1 unless ``enable_gqa``)."""
    if not enable_gqa or query.dim() < 3:
        return 1, 1
    hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
    if hq % hk or hq % hv:
        raise RuntimeError("Number of heads in key and value must divide the number of heads in ")
    return hq // hk, hq // hv


def _check_shapes(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None, rep_k: int,
                  rep_v: int) -> None:
    """Shape errors as torch's batched products report them."""
    qs, ks, vs = tuple(query.shape), tuple(key.shape), tuple(value.shape)
    ks = ks[:-3] + (ks[-3] * rep_k,) + ks[-2:] if len(ks) >= 3 else ks
    vs = vs[:-3] + (vs[-3] * rep_v,) + vs[-2:] if len(vs) >= 3 else vs
    batch = broadcast_shapes(qs[:-2], ks[:-2])
    n = math.prod(batch)
    if ks[-1] != qs[-1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{n}, {qs[-1]}] but "
                           f"got: [{n}, {ks[-1]}].")
    batch = broadcast_shapes(batch, vs[:-2])
    n = math.prod(batch)
    if vs[-2] != ks[-2]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{n}, {ks[-2]}] but "
                           f"got: [{n}, {vs[-2]}].")
    if attn_mask is not None:
        if attn_mask.dim() < 2:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-max(attn_mask.dim(), 1)}, "
                             f"{max(attn_mask.dim(), 1) - 1}], but got -2)")
        scores = (*batch, qs[-2], ks[-2])
        try:
            broadcast_shapes(scores, attn_mask.shape)
        except RuntimeError:
            raise broadcast_error(scores, tuple(attn_mask.shape)) from None


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    *,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(Q Kᵀ · scale + mask) V over the last two dims, with torch's mask conventions: a bool mask
    keeps ``True`` positions, a float mask is added; rows with nothing to attend to give zeros."""
    if hasattr(attn_mask, "_sdpa_override"):   # a CausalBias (torch routes it by __torch_function__)
        return attn_mask._sdpa_override(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)
    _check_sdpa(query, key, value, attn_mask, dropout_p)
    rep = _gqa_repeats(query, key, value, enable_gqa)
    _check_shapes(query, key, value, attn_mask, *rep)
    flash = _sdpa_use_flash(query, key, value, attn_mask, dropout_p, rep)
    if flash and dropout_p < 0:
        raise RuntimeError("scaled_dot_product_attention_flash_attention: Currently do not support dropout > 0")
    if is_causal and attn_mask is not None and not flash:   # the flash kernel applies both
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    bias = attn_mask
    if bias is not None and bias.dtype is D.bool:
        bias = zeros_like(bias, dtype=query.dtype).masked_fill_(bias.logical_not(), -math.inf)
    s = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    if flash:
        return _flash_attention(query, key, value, bias, is_causal, s, *rep)
    return _math_attention(query, key, value, bias, is_causal, max(dropout_p, 0.0), s, *rep)


# ---- multi-head attention -----------------------------------------------------------------------------
def _mha_shape_check(query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None,
                     attn_mask: Tensor | None, num_heads: int) -> bool:
    """Whether the inputs are batched (3-d) or not (2-d); AssertionError for anything else, as torch."""
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                f"{key.dim()}-D and {value.dim()}-D tensors respectively"
            )
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but found "
                f"{key_padding_mask.dim()}-D tensor instead"
            )
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError(
                "For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                f"{attn_mask.dim()}-D tensor instead"
            )
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                f"{key.dim()}-D and {value.dim()}-D tensors respectively"
            )
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D but found "
                f"{key_padding_mask.dim()}-D tensor instead"
            )
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError(
                    "For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                    f"{attn_mask.dim()}-D tensor instead"
                )
            expected = (num_heads, query.shape[0], key.shape[0])
            if attn_mask.dim() == 3 and tuple(attn_mask.shape) != expected:
                raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got {attn_mask.shape}")
        return False
    raise AssertionError(
        f"query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D query tensor"
    )


def _canonical_mask(mask: Tensor | None, mask_name: str, other_type: D.dtype | None, other_name: str,
                    target_type: D.dtype, check_other: bool = True) -> Tensor | None:
    """A bool mask (``True`` = masked out) as an additive float mask of ``target_type`` (0 / -inf)."""
    if mask is None:
        return None
    is_float = mask.dtype.is_floating_point
    if mask.dtype is not D.bool and not is_float:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype is not other_type:
        warn(
            f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type for both instead.",
            stacklevel=2,
        )
    if not is_float:
        mask = zeros_like(mask, dtype=target_type).masked_fill_(mask, -math.inf)
    return mask


def _none_or_dtype(input: Tensor | None) -> D.dtype | None:
    if input is None:
        return None
    if isinstance(input, Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _split_heads(x: Tensor, n: int) -> list[Tensor]:
    """(..., n·E) → n contiguous (..., E) tensors (torch's layout for a packed projection)."""
    e = x.shape[-1] // n
    x = x.unflatten(-1, (n, e)).unsqueeze(0).transpose(0, -2).squeeze(-2).contiguous()
    return [x[i] for i in range(n)]


def _in_projection_packed(q: Tensor, k: Tensor, v: Tensor, w: Tensor, b: Tensor | None) -> list[Tensor]:
    """q, k, v through the packed (3E, E) projection; one product when they are the same tensor."""
    e = q.shape[-1]
    if k is v:
        if q is k:
            return _split_heads(linear(q, w, b), 3)
        w_q, w_kv = w.split([e, 2 * e])
        b_q, b_kv = (None, None) if b is None else b.split([e, 2 * e])
        return [linear(q, w_q, b_q), *_split_heads(linear(k, w_kv, b_kv), 2)]
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    return [linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)]


def _in_projection(q: Tensor, k: Tensor, v: Tensor, w_q: Tensor, w_k: Tensor, w_v: Tensor,
                   b_q: Tensor | None, b_k: Tensor | None, b_v: Tensor | None) -> list[Tensor]:
    """Separate projections (kdim/vdim differ from embed_dim), with torch's shape assertions."""
    eq, ek, ev = q.shape[-1], k.shape[-1], v.shape[-1]
    for what, w_, shape in (("query", w_q, (eq, eq)), ("key", w_k, (eq, ek)), ("value", w_v, (eq, ev))):
        if tuple(w_.shape) != shape:
            raise AssertionError(f"expecting {what} weights shape of {shape}, but got {w_.shape}")
    for what, b_ in (("query", b_q), ("key", b_k), ("value", b_v)):
        if b_ is not None and tuple(b_.shape) != (eq,):
            raise AssertionError(f"expecting {what} bias shape of {(eq,)}, but got {b_.shape}")
    return [linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)]


def _prepare_attn_mask(attn_mask: Tensor, tgt_len: int, src_len: int, bsz: int, num_heads: int) -> Tensor:
    """A 2-d (L, S) or 3-d (N·heads, L, S) mask as 3-d."""
    if attn_mask.dim() == 2:
        if tuple(attn_mask.shape) != (tgt_len, src_len):
            raise RuntimeError(
                f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be {(tgt_len, src_len)}."
            )
        return attn_mask.unsqueeze(0)
    if attn_mask.dim() == 3:
        if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
            raise RuntimeError(
                f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                f"{(bsz * num_heads, tgt_len, src_len)}."
            )
        return attn_mask
    raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")


def _static(t: Tensor, which: str, bsz: int, num_heads: int, head_dim: int) -> Tensor:
    if t.shape[0] != bsz * num_heads:
        raise AssertionError(f"expecting static_{which}.size(0) of {bsz * num_heads}, but got {t.shape[0]}")
    if t.shape[2] != head_dim:
        raise AssertionError(f"expecting static_{which}.size(2) of {head_dim}, but got {t.shape[2]}")
    return t


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention on (L, N, E) inputs (or unbatched (L, E)): project, attend per head, project
    back. Returns the output and, with ``need_weights``, the attention weights (head-averaged by default)."""
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask),
                                       "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer module method "
            "`generate_square_subsequent_mask` to create this mask."
        )
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None   # the hint alone drives the causal kernel
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(
                f"key's sequence and batch dims {key.shape[:2]} do not match value's {value.shape[:2]}"
            )
    elif key.shape != value.shape:
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")

    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    else:
        for name, w in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight is None")
        b_q, b_k, b_v = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = _in_projection(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight, b_q, b_k, b_v)

    if attn_mask is not None:
        attn_mask = _prepare_attn_mask(attn_mask, tgt_len, src_len, bsz, num_heads)
    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        k = cat([k, bias_k.repeat(1, bsz, 1)])
        v = cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask = pad(attn_mask, (0, 1)) if attn_mask is not None else None
        key_padding_mask = pad(key_padding_mask, (0, 1)) if key_padding_mask is not None else None
    elif bias_k is not None:
        raise AssertionError("bias_k is set but bias_v is None")
    elif bias_v is not None:
        raise AssertionError("bias_v is set but bias_k is None")

    q = q.view(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    if static_k is None:
        k = k.view(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    else:
        k = _static(static_k, "k", bsz, num_heads, head_dim)
    if static_v is None:
        v = v.view(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    else:
        v = _static(static_v, "v", bsz, num_heads, head_dim)
    if add_zero_attn:
        k = cat([k, zeros(bsz * num_heads, 1, head_dim, dtype=k.dtype, device=k.device)], 1)
        v = cat([v, zeros(bsz * num_heads, 1, head_dim, dtype=v.dtype, device=v.device)], 1)
        attn_mask = pad(attn_mask, (0, 1)) if attn_mask is not None else None
        key_padding_mask = pad(key_padding_mask, (0, 1)) if key_padding_mask is not None else None
    src_len = k.shape[1]

    if key_padding_mask is not None:
        if key_padding_mask.shape[0] != bsz:
            raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got {key_padding_mask.shape[0]}")
        if key_padding_mask.shape[1] != src_len:
            raise AssertionError(
                f"Expected key_padded_mask.shape[1] to be {src_len}, but got {key_padding_mask.shape[1]}"
            )
        key_padding_mask = (key_padding_mask.view(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1)
                            .reshape(bsz * num_heads, 1, src_len))
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
    if not training:
        dropout_p = 0.0

    if need_weights:
        q_scaled = q * math.sqrt(1.0 / float(q.shape[-1]))
        if is_causal and attn_mask is None:
            raise AssertionError("FIXME: is_causal not implemented for need_weights")
        kt = k.transpose(-2, -1)
        weights = baddbmm(attn_mask, q_scaled, kt) if attn_mask is not None else bmm(q_scaled, kt)
        weights = softmax(weights, dim=-1)
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        out = bmm(weights, v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias)
        out = out.view(tgt_len, bsz, out.shape[1])
        weights = weights.view(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not is_batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights
    if attn_mask is not None:
        if attn_mask.shape[0] == 1 and attn_mask.dim() == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.view(bsz, num_heads, -1, src_len)
    q = q.view(bsz, num_heads, tgt_len, head_dim)
    k = k.view(bsz, num_heads, src_len, head_dim)
    v = v.view(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias)
    out = out.view(tgt_len, bsz, out.shape[1])
    if not is_batched:
        out = out.squeeze(1)
    return out, None
