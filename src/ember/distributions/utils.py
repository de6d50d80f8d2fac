"""Helpers shared by distributions (torch.distributions.utils)."""

from __future__ import annotations

import ember

__all__ = [
    "broadcast_all", "probs_to_logits", "logits_to_probs", "clamp_probs", "lazy_property", "tril_matrix_to_vec",
    "vec_to_tril_matrix",
]

euler_constant = 0.57721566490153286060  # the Euler-Mascheroni constant


def broadcast_all(*values):  # noqa: ANN002, ANN201
    """Broadcast numbers and tensors together; numbers take the first tensor's dtype and device (else the
    default dtype, on the CPU)."""
    like = next((v for v in values if isinstance(v, ember.Tensor)), None)
    if like is None and not all(isinstance(v, (int, float)) for v in values):
        raise ValueError(
            "Input arguments must all be instances of numbers.Number, torch.Tensor or objects implementing "
            "__torch_function__."
        )
    dtype = like.dtype if like is not None else ember.get_default_dtype()
    device = like.device if like is not None else None
    tensors = [v if isinstance(v, ember.Tensor) else ember.tensor(v, dtype=dtype, device=device) for v in values]
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


class lazy_property:  # noqa: N801 - torch's name
    """A property computed on first access and then stored in the instance ``__dict__`` (so distributions
    given ``probs`` derive ``logits`` only when asked, and the reverse)."""

    def __init__(self, wrapped):  # noqa: ANN001
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__

    def __get__(self, instance, obj_type=None):  # noqa: ANN001, ANN204
        if instance is None:
            return self
        with ember.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


def expanded(dist, cls: type, batch_shape, instance=None, event_shape=None, **params):  # noqa: ANN001, ANN003, ANN201
    """A copy of ``dist`` with new ``batch_shape``: an instance of ``dist``'s class (or ``instance``, when a
    subclass passes one) holding ``params`` (already expanded), unvalidated, with ``dist``'s validation flag.
    Subclasses of ``cls`` with their own ``__init__`` must define ``expand`` (torch's rule)."""
    from .distribution import Distribution

    new = checked_instance(dist, cls, instance)
    new.__dict__.update(params)
    shape = dist.event_shape if event_shape is None else event_shape
    Distribution.__init__(new, ember.Size(batch_shape), shape, validate_args=False)
    new._validate_args = dist._validate_args
    return new


def checked_instance(dist, cls: type, instance=None):  # noqa: ANN001, ANN201
    """``instance``, or a blank object of ``dist``'s class to expand into (``Distribution._get_checked_instance``)."""
    return dist._get_checked_instance(cls, instance)


def _sum_rightmost(value, dim: int):  # noqa: ANN001, ANN202
    """Sum out the ``dim`` rightmost dims of ``value``."""
    return value if dim == 0 else value.reshape(tuple(value.shape[: value.dim() - dim]) + (-1,)).sum(-1)


def _tril_mask(n: int, diag: int, device):  # noqa: ANN001, ANN202
    idx = ember.arange(n, device=device)
    return idx < idx.view(-1, 1) + (diag + 1)


def tril_matrix_to_vec(mat, diag: int = 0):  # noqa: ANN001, ANN201
    """The lower-triangular entries (below diagonal ``diag``) of (batched) square matrices, row by row."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    return mat[..., _tril_mask(n, diag, mat.device)]


def vec_to_tril_matrix(vec, diag: int = 0):  # noqa: ANN001, ANN201
    """The inverse of :func:`tril_matrix_to_vec`: (batched) lower-triangular ``n x n`` matrices."""
    # positive root of n^2 + (1 + 2 diag) n - |diag| (diag + 1) - 2 len = 0
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * vec.shape[-1] + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    if round(n) - n > ember.finfo(vec.dtype).eps:
        raise ValueError(f"The size of last dimension is {vec.shape[-1]} which cannot be expressed as "
                         "the lower triangular part of a square D x D matrix.")
    n = round(n)
    mat = vec.new_zeros(tuple(vec.shape[:-1]) + (n, n))
    mat[..., _tril_mask(n, diag, vec.device)] = vec
    return mat
