"""Helpers shared by distributions (torch.distributions.utils)."""

from __future__ import annotations

import ember

__all__ = ["broadcast_all", "probs_to_logits", "logits_to_probs", "clamp_probs"]


def broadcast_all(*values):  # noqa: ANN002, ANN201
    """Broadcast numbers and tensors together; numbers take the first tensor's dtype (else the default dtype)."""
    like = next((v for v in values if isinstance(v, ember.Tensor)), None)
    if like is None and not all(isinstance(v, (int, float)) for v in values):
        raise ValueError(
            "Input arguments must all be instances of numbers.Number, torch.Tensor or objects implementing "
            "__torch_function__."
        )
    dtype = like.dtype if like is not None else ember.get_default_dtype()
    tensors = [v if isinstance(v, ember.Tensor) else ember.tensor(v, dtype=dtype) for v in values]
    return ember.broadcast_tensors(*tensors)


def clamp_probs(probs):  # noqa: ANN001, ANN201
    """Clamp probabilities into the open interval (eps, 1 - eps)."""
    eps = ember.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary: bool = False):  # noqa: ANN001, ANN201
    """Convert probabilities to logits (log-odds when binary)."""
    ps = clamp_probs(probs)
    return ember.log(ps) - ember.log1p(-ps) if is_binary else ember.log(ps)


def logits_to_probs(logits, is_binary: bool = False):  # noqa: ANN001, ANN201
    """Convert logits to probabilities (sigmoid when binary, softmax otherwise)."""
    return ember.sigmoid(logits) if is_binary else ember.softmax(logits, dim=-1)
