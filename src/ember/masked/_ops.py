"""``torch.masked``'s functional family: reductions and normalizations over the elements a boolean ``mask``
selects (``mask=None`` selects all).

Each op fills the masked-out elements with the identity of its reduction (0 for sum, 1 for prod, -inf for
amax/logsumexp/softmax, ...) by ``where`` on ember ops and then runs the plain op, so autograd flows through
unchanged and masked-out elements receive zero gradient, as in torch. An input may also be a MaskedTensor:
its mask is then ANDed with ``mask`` and, as in torch, the fill passes gradients straight through (the
masked-out elements of a MaskedTensor are unspecified, so their gradient is too).
"""

from __future__ import annotations

import math
from typing import Any

from .._core import dtype as D
from .._tensor import Tensor
from ..nn import functional as F
from ..ops import creation as C
from ..ops import elementwise as EW
from ..ops import indexing as IX
from ..ops import reduction as R
from ..ops import sorting as SO

__all__ = ["sum", "prod", "amax", "amin", "argmax", "argmin", "mean", "median", "norm", "var", "std",
           "logsumexp", "softmax", "log_softmax", "softmin", "normalize", "cumsum", "cumprod", "logaddexp"]


class _Mask:
    """A mask to fill through (its elements' gradient passes unmasked): the mask of a MaskedTensor input."""

    __slots__ = ("mask",)

    def __init__(self, mask: Tensor) -> None:
        self.mask = mask


def _data_mask(input: Any, mask: Tensor | None) -> tuple[Tensor, Any]:
    """The plain data of ``input`` and the mask broadcast to its shape (None: all selected; a ``_Mask`` for a
    MaskedTensor's)."""
    from ._tensor import MaskedTensor
    if isinstance(input, MaskedTensor):
        m = input.get_mask()
        m = m if mask is None else (m & mask)
        return input.get_data(), _Mask(m)
    if mask is None or isinstance(mask, _Mask):
        return input, mask
    if mask.dtype is not D.bool:
        mask = mask.bool()
    if tuple(mask.shape) != tuple(input.shape):
        mask = mask.expand(input.shape) if mask.dim() <= input.dim() else mask
    return input, mask


def _cast(x: Tensor, dtype: Any) -> Tensor:
    return x if dtype is None or x.dtype is dtype else x.to(dtype)


def _dims(dim: Any, ndim: int) -> tuple[int, ...]:
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    return tuple(d % max(ndim, 1) for d in dim)


def _fill(x: Tensor, mask: Any, value: float) -> Tensor:
    """``x`` with the masked-out elements replaced by ``value`` (differentiable in ``x``; the gradient of the
    replaced elements is 0, or passes through for a MaskedTensor's mask)."""
    if mask is None:
        return x
    fill = C.tensor(value, dtype=x.dtype, device=x.device)
    if isinstance(mask, _Mask):
        return x + IX.where(mask.mask, C.zeros_like(fill), fill - x.detach())
    return IX.where(mask, x, fill)


def _plain_mask(mask: Any) -> Tensor | None:
    return mask.mask if isinstance(mask, _Mask) else mask


def _extreme(dtype: D.dtype, low: bool) -> float:
    """-inf/+inf for floating dtypes, the integer dtype's min/max otherwise (the identity of amax/amin)."""
    if dtype.is_floating_point:
        return -math.inf if low else math.inf
    if dtype is D.bool:
        return not low
    info = D.iinfo(dtype)
    return info.min if low else info.max


def _reduce(op: Any, input: Any, dim: Any, keepdim: bool | None, dtype: Any, mask: Tensor | None,
            identity: Any) -> Tensor:
    x, m = _data_mask(input, mask)
    x = _cast(x, dtype)
    fill = identity(x.dtype) if callable(identity) else identity
    x = _fill(x, m, fill)
    return op(x, _dims(dim, x.dim()), keepdim=bool(keepdim))


def sum(input: Any, dim: Any = None, *, keepdim: bool | None = False, dtype: Any = None,  # noqa: A001
        mask: Tensor | None = None) -> Tensor:
    """Sum of the selected elements over ``dim`` (all by default); an empty selection sums to 0."""
    return _reduce(lambda x, d, keepdim: R.sum(x, d, keepdim=keepdim), input, dim, keepdim, dtype, mask, 0)


def _prod_dims(x: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
    for d in sorted(dims, reverse=True):
        x = R.prod(x, d, keepdim=True)
    return x if keepdim else x.reshape([s for i, s in enumerate(x.shape) if i not in dims])


def prod(input: Any, dim: Any = None, *, keepdim: bool | None = False, dtype: Any = None,
         mask: Tensor | None = None) -> Tensor:
    """Product of the selected elements over ``dim``; an empty selection gives 1."""
    return _reduce(_prod_dims, input, dim, keepdim, dtype, mask, 1)


def amax(input: Any, dim: Any = None, *, keepdim: bool | None = False, dtype: Any = None,
         mask: Tensor | None = None) -> Tensor:
    """Maximum of the selected elements over ``dim``; an empty selection gives -inf (the dtype's min)."""
    return _reduce(lambda x, d, keepdim: R.amax(x, d, keepdim=keepdim), input, dim, keepdim, dtype, mask,
                   lambda dt: _extreme(dt, True))


def amin(input: Any, dim: Any = None, *, keepdim: bool | None = False, dtype: Any = None,
         mask: Tensor | None = None) -> Tensor:
    """Minimum of the selected elements over ``dim``; an empty selection gives +inf (the dtype's max)."""
    return _reduce(lambda x, d, keepdim: R.amin(x, d, keepdim=keepdim), input, dim, keepdim, dtype, mask,
                   lambda dt: _extreme(dt, False))


def _arg(op: Any, low: bool, input: Any, dim: Any, keepdim: bool | None, dtype: Any, mask: Tensor | None) -> Tensor:
    x, m = _data_mask(input, mask)
    x = _cast(x, dtype)
    out = op(_fill(x, m, _extreme(x.dtype, low)), dim, keepdim=bool(keepdim))
    return out.to(x.dtype)   # torch returns the indices in the input's (or ``dtype``'s) dtype


def argmax(input: Any, dim: int | None = None, *, keepdim: bool | None = False, dtype: Any = None,
           mask: Tensor | None = None) -> Tensor:
    """Index of the maximum among the selected elements (as ``dtype``, the input's by default)."""
    return _arg(R.argmax, True, input, dim, keepdim, dtype, mask)


def argmin(input: Any, dim: int | None = None, *, keepdim: bool | None = False, dtype: Any = None,
           mask: Tensor | None = None) -> Tensor:
    """Index of the minimum among the selected elements (as ``dtype``, the input's by default)."""
    return _arg(R.argmin, False, input, dim, keepdim, dtype, mask)


def _count(x: Tensor, m: Tensor | None, dims: tuple[int, ...], keepdim: bool) -> Tensor:
    m = _plain_mask(m)
    if m is None:
        n = 1
        for d in dims:
            n *= x.shape[d]
        return C.tensor(float(n), dtype=x.dtype, device=x.device)
    return R.sum(m.to(x.dtype), dims, keepdim=keepdim)


def mean(input: Any, dim: Any = None, *, keepdim: bool | None = False, dtype: Any = None,
         mask: Tensor | None = None) -> Tensor:
    """Mean of the selected elements over ``dim``; an empty selection gives nan."""
    x, m = _data_mask(input, mask)
    x = _cast(x, dtype)
    dims = _dims(dim, x.dim())
    return R.sum(_fill(x, m, 0), dims, keepdim=bool(keepdim)) / _count(x, m, dims, bool(keepdim))


def median(input: Any, dim: int = -1, *, keepdim: bool = False, dtype: Any = None,
           mask: Tensor | None = None) -> Tensor:
    """Median (lower of the two middles) of the selected elements along ``dim``; nan for an empty selection."""
    x, m = _data_mask(input, mask)
    x = _cast(x, dtype)
    return SO.nanmedian(_fill(x, m, math.nan), dim, keepdim=keepdim).values


def norm(input: Any, ord: float | None = 2.0, dim: Any = None, *, keepdim: bool | None = False,
         dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    """Vector ``ord``-norm of the selected elements over ``dim`` (masked-out elements count as 0)."""
    x, m = _data_mask(input, mask)
    x = _cast(x, dtype)
    fill = math.inf if ord == -math.inf else 0
    return R.vector_norm(_fill(x, m, fill), ord, _dims(dim, x.dim()), keepdim=bool(keepdim))


def var(input: Any, dim: Any = None, unbiased: bool | None = None, *, correction: Any = None,
        keepdim: bool | None = False, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    """Variance of the selected elements over ``dim`` with Bessel's ``correction`` (1 unless ``unbiased`` is
    False); nan where fewer than ``correction + 1`` elements are selected."""
    x, m = _data_mask(input, mask)
    x = _cast(x, dtype)
    if correction is None:
        correction = 0 if unbiased is False else 1
    dims = _dims(dim, x.dim())
    n = _count(x, m, dims, True)
    mu = R.sum(_fill(x, m, 0), dims, keepdim=True) / n
    dev = _fill((x - mu) * (x - mu), _plain_mask(m), 0)   # an intermediate: masked-out deviations get no gradient
    total = R.sum(dev, dims, keepdim=bool(keepdim))
    denom = (n if keepdim or n.dim() == 0 else n.reshape(total.shape)) - correction
    return total / EW.clamp(denom, min=0)


def std(input: Any, dim: Any = None, unbiased: bool | None = None, *, correction: Any = None,
        keepdim: bool | None = False, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    """Square root of :func:`var`."""
    return EW.sqrt(var(input, dim, unbiased, correction=correction, keepdim=keepdim, dtype=dtype, mask=mask))


def logsumexp(input: Any, dim: Any = None, *, keepdim: bool = False, dtype: Any = None,
              mask: Tensor | None = None) -> Tensor:
    """log(sum(exp)) of the selected elements over ``dim``; -inf for an empty selection."""
    return _reduce(lambda x, d, keepdim: R.logsumexp(x, d, keepdim=keepdim), input, dim, keepdim, dtype, mask,
                   -math.inf)


def _normed(op: Any, fill: float, input: Any, dim: int, dtype: Any, mask: Tensor | None) -> Tensor:
    x, m = _data_mask(input, mask)
    x = _cast(x, dtype)
    return op(_fill(x, m, fill), dim)


def softmax(input: Any, dim: int, *, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    """Softmax over the selected elements along ``dim`` (0 at masked-out ones, nan on an empty slice)."""
    return _normed(F.softmax, -math.inf, input, dim, dtype, mask)


def log_softmax(input: Any, dim: int, *, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    """Log-softmax over the selected elements along ``dim`` (-inf at masked-out ones)."""
    return _normed(F.log_softmax, -math.inf, input, dim, dtype, mask)


def softmin(input: Any, dim: int, *, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    """Softmin over the selected elements along ``dim`` (0 at masked-out ones)."""
    return _normed(lambda x, d: F.softmax(-x, d), math.inf, input, dim, dtype, mask)


def normalize(input: Any, ord: float, dim: int, *, eps: float = 1e-12, dtype: Any = None,
              mask: Tensor | None = None) -> Tensor:
    """``input`` divided by the ``ord``-norm of its selected elements along ``dim`` (at least ``eps``);
    masked-out elements become 0."""
    x, m = _data_mask(input, mask)
    x = _cast(x, dtype)
    n = norm(x, ord, dim, keepdim=True, mask=m)
    return _fill(x, m, 0) / EW.clamp(n, min=eps)


def cumsum(input: Tensor, dim: int, *, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    """Cumulative sum along ``dim`` in which masked-out elements add 0."""
    return _normed(R.cumsum, 0, input, dim, dtype, mask)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    """Cumulative product along ``dim`` in which masked-out elements multiply by 1."""
    return _normed(R.cumprod, 1, input, dim, dtype, mask)


def logaddexp(input: Any, other: Any, *, dtype: Any = None, input_mask: Tensor | None = None,
              other_mask: Tensor | None = None) -> Tensor:
    """``log(exp(input) + exp(other))`` where a masked-out element contributes exp(-inf) = 0."""
    x, mx = _data_mask(input, input_mask)
    y, my = _data_mask(other, other_mask)
    return EW.logaddexp(_fill(_cast(x, dtype), mx, -math.inf), _fill(_cast(y, dtype), my, -math.inf))
