"""Invertible maps between constrained spaces (torch.distributions.transforms), with their log-Jacobians.

A :class:`Transform` maps ``domain`` onto ``codomain``; ``t(x)`` runs it, ``t.inv(y)`` inverts it and
``t.log_abs_det_jacobian(x, y)`` gives ``log |dy/dx|`` over the batch. With ``cache_size=1`` the last
``(x, y)`` pair is remembered, so inverting a fresh sample returns the exact input (as torch does).
"""

from __future__ import annotations

import functools
import math
import numbers
import operator
import weakref

import ember

from . import constraints
from .utils import _sum_rightmost, broadcast_all, lazy_property, tril_matrix_to_vec, vec_to_tril_matrix

__all__ = [
    "AbsTransform", "AffineTransform", "CatTransform", "ComposeTransform", "CorrCholeskyTransform",
    "CumulativeDistributionTransform", "ExpTransform", "IndependentTransform", "LowerCholeskyTransform",
    "PositiveDefiniteTransform", "PowerTransform", "ReshapeTransform", "SigmoidTransform", "SoftmaxTransform",
    "SoftplusTransform", "StackTransform", "StickBreakingTransform", "TanhTransform", "Transform", "identity_transform",
]


# ---------------------------------------------------------------------------------------------------------------
# The slot checks of CatTransform / StackTransform.
# ---------------------------------------------------------------------------------------------------------------

def _check_slot(t, dim: int, what: str, name: str = "", size: int | None = None, expected: str = "") -> None:  # noqa: ANN001
    """torch's checks (as AssertionError) that ``dim`` indexes ``t`` (called ``what``) and that
    ``name.size(dim)`` equals ``size`` (described as ``expected``)."""
    if not (-t.dim() <= dim < t.dim()):
        raise AssertionError(f"dim {dim} out of range for {what} with {t.dim()} dimensions")
    if size is not None and t.size(dim) != size:
        raise AssertionError(f"{name}.size({dim}) = {t.size(dim)} must equal {expected} {size}")




def _clipped_sigmoid(x):  # noqa: ANN001, ANN202
    """Sigmoid kept inside the open unit interval, so its inverse stays finite."""
    finfo = ember.finfo(x.dtype)
    return ember.clamp(ember.sigmoid(x), min=finfo.tiny, max=1.0 - finfo.eps)


# ---------------------------------------------------------------------------------------------------------------
# Transforms
# ---------------------------------------------------------------------------------------------------------------

class Transform:
    """Base of invertible (or at least injective) maps with computable log-abs-det-Jacobians."""

    bijective = False
    domain: constraints.Constraint
    codomain: constraints.Constraint

    def __init__(self, cache_size: int = 0) -> None:
        if cache_size not in (0, 1):
            raise ValueError("cache_size must be 0 or 1")
        self._cache_size = cache_size
        self._inv = None
        self._cached_x_y = None, None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_inv"] = None  # a weak reference does not pickle; the inverse is rebuilt on demand
        return state

    @property
    def event_dim(self) -> int:
        if self.domain.event_dim == self.codomain.event_dim:
            return self.domain.event_dim
        raise ValueError("Please use either .domain.event_dim or .codomain.event_dim")

    @property
    def inv(self) -> Transform:
        """The inverse transform (one object per transform while it is referenced)."""
        inv = None
        if self._inv is not None:
            inv = self._inv()
        if inv is None:
            inv = _InverseTransform(self)
            self._inv = weakref.ref(inv)
        return inv

    @property
    def sign(self):  # noqa: ANN201
        """The sign of the Jacobian determinant, for bijective elementwise transforms."""
        raise NotImplementedError

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        if type(self).__init__ is Transform.__init__:
            return type(self)(cache_size=cache_size)
        raise NotImplementedError(f"{type(self)}.with_cache is not implemented")

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __call__(self, x):  # noqa: ANN001, ANN204
        if self._cache_size == 0:
            return self._call(x)
        x_old, y_old = self._cached_x_y
        if x is x_old:
            return y_old
        y = self._call(x)
        self._cached_x_y = x, y
        return y

    def _inv_call(self, y):  # noqa: ANN001, ANN202
        if self._cache_size == 0:
            return self._inverse(y)
        x_old, y_old = self._cached_x_y
        if y is y_old:
            return x_old
        x = self._inverse(y)
        self._cached_x_y = x, y
        return x

    def _call(self, x):  # noqa: ANN001, ANN202
        raise NotImplementedError

    def _inverse(self, y):  # noqa: ANN001, ANN202
        raise NotImplementedError

    def log_abs_det_jacobian(self, x, y):  # noqa: ANN001, ANN201
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.__class__.__name__ + "()"

    def forward_shape(self, shape):  # noqa: ANN001, ANN201
        """The output shape for an input of ``shape``."""
        return shape

    def inverse_shape(self, shape):  # noqa: ANN001, ANN201
        """The input shape for an output of ``shape``."""
        return shape


class _InverseTransform(Transform):
    """The inverse of a transform, sharing its cache."""

    def __init__(self, transform: Transform) -> None:
        super().__init__(cache_size=transform._cache_size)
        self._inv = transform  # type: ignore[assignment]

    def __getstate__(self) -> dict:
        return self.__dict__.copy()  # the forward transform is a strong reference: keep it

    @constraints.dependent_property(is_discrete=False)
    def domain(self):  # noqa: ANN201
        return self._inv.codomain

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):  # noqa: ANN201
        return self._inv.domain

    @property
    def bijective(self) -> bool:  # type: ignore[override]
        return self._inv.bijective

    @property
    def sign(self):  # noqa: ANN201
        return self._inv.sign

    @property
    def inv(self) -> Transform:
        return self._inv

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self.inv.with_cache(cache_size).inv

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self._inv!r})"

    def __call__(self, x):  # noqa: ANN001, ANN204
        return self._inv._inv_call(x)

    def log_abs_det_jacobian(self, x, y):  # noqa: ANN001, ANN201
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape):  # noqa: ANN001, ANN201
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape):  # noqa: ANN001, ANN201
        return self._inv.forward_shape(shape)


class ComposeTransform(Transform):
    """Applies ``parts`` in order; the empty composition is the identity."""

    def __init__(self, parts: list[Transform], cache_size: int = 0) -> None:
        if cache_size:
            parts = [part.with_cache(cache_size) for part in parts]
        super().__init__(cache_size=cache_size)
        self.parts = parts

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    @constraints.dependent_property(is_discrete=False)
    def domain(self):  # noqa: ANN201
        if not self.parts:
            return constraints.real
        domain = self.parts[0].domain
        event_dim = self.parts[-1].codomain.event_dim
        for part in reversed(self.parts):
            event_dim = max(event_dim + part.domain.event_dim - part.codomain.event_dim, part.domain.event_dim)
        return constraints.independent(domain, event_dim - domain.event_dim) if event_dim > domain.event_dim else domain

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):  # noqa: ANN201
        if not self.parts:
            return constraints.real
        codomain = self.parts[-1].codomain
        event_dim = self.parts[0].domain.event_dim
        for part in self.parts:
            event_dim = max(event_dim + part.codomain.event_dim - part.domain.event_dim, part.codomain.event_dim)
        if event_dim > codomain.event_dim:
            return constraints.independent(codomain, event_dim - codomain.event_dim)
        return codomain

    @lazy_property
    def bijective(self) -> bool:  # type: ignore[override]
        return all(p.bijective for p in self.parts)

    @lazy_property
    def sign(self):  # noqa: ANN201
        sign = 1
        for p in self.parts:
            sign = sign * p.sign
        return sign

    @property
    def inv(self) -> Transform:
        inv = self._inv() if self._inv is not None else None
        if inv is None:
            inv = ComposeTransform([p.inv for p in reversed(self.parts)])
            self._inv = weakref.ref(inv)
            inv._inv = weakref.ref(self)
        return inv

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return ComposeTransform(self.parts, cache_size=cache_size)

    def __call__(self, x):  # noqa: ANN001, ANN204
        for part in self.parts:
            x = part(x)
        return x

    def log_abs_det_jacobian(self, x, y):  # noqa: ANN001, ANN201
        if not self.parts:
            return ember.zeros_like(x)
        xs = [x]
        for part in self.parts[:-1]:
            xs.append(part(xs[-1]))
        xs.append(y)
        terms = []
        event_dim = self.domain.event_dim
        for part, xi, yi in zip(self.parts, xs[:-1], xs[1:], strict=True):
            terms.append(_sum_rightmost(part.log_abs_det_jacobian(xi, yi), event_dim - part.domain.event_dim))
            event_dim += part.codomain.event_dim - part.domain.event_dim
        return functools.reduce(operator.add, terms)

    def forward_shape(self, shape):  # noqa: ANN001, ANN201
        for part in self.parts:
            shape = part.forward_shape(shape)
        return shape

    def inverse_shape(self, shape):  # noqa: ANN001, ANN201
        for part in reversed(self.parts):
            shape = part.inverse_shape(shape)
        return shape

    def __repr__(self) -> str:
        return self.__class__.__name__ + "(\n    " + ",\n    ".join(repr(p) for p in self.parts) + "\n)"


identity_transform = ComposeTransform([])


class IndependentTransform(Transform):
    """``base_transform`` with its rightmost ``reinterpreted_batch_ndims`` batch dims read as event dims."""

    def __init__(self, base_transform: Transform, reinterpreted_batch_ndims: int, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return IndependentTransform(self.base_transform, self.reinterpreted_batch_ndims, cache_size=cache_size)

    @constraints.dependent_property(is_discrete=False)
    def domain(self):  # noqa: ANN201
        return constraints.independent(self.base_transform.domain, self.reinterpreted_batch_ndims)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):  # noqa: ANN201
        return constraints.independent(self.base_transform.codomain, self.reinterpreted_batch_ndims)

    @property
    def bijective(self) -> bool:  # type: ignore[override]
        return self.base_transform.bijective

    @property
    def sign(self):  # noqa: ANN201
        return self.base_transform.sign

    def _call(self, x):  # noqa: ANN001, ANN202
        if x.dim() < self.domain.event_dim:
            raise ValueError("Too few dimensions on input")
        return self.base_transform(x)

    def _inverse(self, y):  # noqa: ANN001, ANN202
        if y.dim() < self.codomain.event_dim:
            raise ValueError("Too few dimensions on input")
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):  # noqa: ANN001, ANN201
        return _sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y), self.reinterpreted_batch_ndims)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.base_transform!r}, {self.reinterpreted_batch_ndims})"

    def forward_shape(self, shape):  # noqa: ANN001, ANN201
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):  # noqa: ANN001, ANN201
        return self.base_transform.inverse_shape(shape)


class ReshapeTransform(Transform):
    """Reshapes the rightmost ``in_shape`` dims of a tensor to ``out_shape`` (a volume-preserving bijection)."""

    bijective = True

    def __init__(self, in_shape, out_shape, cache_size: int = 0) -> None:  # noqa: ANN001
        self.in_shape = ember.Size(in_shape)
        self.out_shape = ember.Size(out_shape)
        if self.in_shape.numel() != self.out_shape.numel():
            raise ValueError("in_shape, out_shape have different numbers of elements")
        super().__init__(cache_size=cache_size)

    @constraints.dependent_property
    def domain(self):  # noqa: ANN201
        return constraints.independent(constraints.real, len(self.in_shape))

    @constraints.dependent_property
    def codomain(self):  # noqa: ANN201
        return constraints.independent(constraints.real, len(self.out_shape))

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    def _call(self, x):  # noqa: ANN001, ANN202
        batch_shape = tuple(x.shape[: x.dim() - len(self.in_shape)])
        return x.reshape(batch_shape + tuple(self.out_shape))

    def _inverse(self, y):  # noqa: ANN001, ANN202
        batch_shape = tuple(y.shape[: y.dim() - len(self.out_shape)])
        return y.reshape(batch_shape + tuple(self.in_shape))

    def log_abs_det_jacobian(self, x, y):  # noqa: ANN001, ANN201
        return x.new_zeros(tuple(x.shape[: x.dim() - len(self.in_shape)]))

    @staticmethod
    def _reshape(shape, src, dst):  # noqa: ANN001, ANN205
        if len(shape) < len(src):
            raise ValueError("Too few dimensions on input")
        cut = len(shape) - len(src)
        if tuple(shape[cut:]) != tuple(src):
            raise ValueError(f"Shape mismatch: expected {shape[cut:]} but got {src}")
        return shape[:cut] + dst

    def forward_shape(self, shape):  # noqa: ANN001, ANN201
        return self._reshape(shape, self.in_shape, self.out_shape)

    def inverse_shape(self, shape):  # noqa: ANN001, ANN201
        return self._reshape(shape, self.out_shape, self.in_shape)


class ExpTransform(Transform):
    """y = exp(x)."""

    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = +1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExpTransform)

    def _call(self, x):  # noqa: ANN001, ANN202
        return x.exp()

    def _inverse(self, y):  # noqa: ANN001, ANN202
        return y.log()

    def log_abs_det_jacobian(self, x, y):  # noqa: ANN001, ANN201
        return x


class PowerTransform(Transform):
    """y = x ** exponent on the positive reals."""

    domain = constraints.positive
    codomain = constraints.positive
    bijective = True

    def __init__(self, exponent, cache_size: int = 0) -> None:  # noqa: ANN001
        super().__init__(cache_size=cache_size)
        (self.exponent,) = broadcast_all(exponent)

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return PowerTransform(self.exponent, cache_size=cache_size)

    @lazy_property
    def sign(self):  # noqa: ANN201
        return self.exponent.sign()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PowerTransform) and bool(self.exponent.eq(other.exponent).all().item())

    def _call(self, x):  # noqa: ANN001, ANN202
        return x.pow(self.exponent)

    def _inverse(self, y):  # noqa: ANN001, ANN202
        return y.pow(1 / self.exponent)

    def log_abs_det_jacobian(self, x, y):  # noqa: ANN001, ANN201
        return (self.exponent * y / x).abs().log()

    def forward_shape(self, shape):  # noqa: ANN001, ANN201
        return ember.broadcast_shapes(shape, getattr(self.exponent, "shape", ()))

    def inverse_shape(self, shape):  # noqa: ANN001, ANN201
        return ember.broadcast_shapes(shape, getattr(self.exponent, "shape", ()))


class SigmoidTransform(Transform):
    """y = sigmoid(x), clipped inside (0, 1)."""

    domain = constraints.real
    codomain = constraints.unit_interval
    bijective = True
    sign = +1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SigmoidTransform)

    def _call(self, x):  # noqa: ANN001, ANN202
        return _clipped_sigmoid(x)

    def _inverse(self, y):  # noqa: ANN001, ANN202
        finfo = ember.finfo(y.dtype)
        y = y.clamp(min=finfo.tiny, max=1.0 - finfo.eps)
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x, y):  # noqa: ANN001, ANN201
        softplus = ember.nn.functional.softplus
        return -softplus(-x) - softplus(x)


class SoftplusTransform(Transform):
    """y = log(1 + exp(x)) (linear above 20, as ``F.softplus``)."""

    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = +1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SoftplusTransform)

    def _call(self, x):  # noqa: ANN001, ANN202
        return ember.nn.functional.softplus(x)

    def _inverse(self, y):  # noqa: ANN001, ANN202
        return (-y).expm1().neg().log() + y

    def log_abs_det_jacobian(self, x, y):  # noqa: ANN001, ANN201
        return -ember.nn.functional.softplus(-x)


class TanhTransform(Transform):
    """y = tanh(x); its log-Jacobian uses a form that stays accurate for large |x|."""

    domain = constraints.real
    codomain = constraints.interval(-1.0, 1.0)
    bijective = True
    sign = +1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TanhTransform)

    def _call(self, x):  # noqa: ANN001, ANN202
        return x.tanh()

    def _inverse(self, y):  # noqa: ANN001, ANN202
        return ember.atanh(y)

    def log_abs_det_jacobian(self, x, y):  # noqa: ANN001, ANN201
        return 2.0 * (math.log(2.0) - x - ember.nn.functional.softplus(-2.0 * x))


class AbsTransform(Transform):
    """y = |x| (not injective: the inverse picks the nonnegative root)."""

    domain = constraints.real
    codomain = constraints.positive

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AbsTransform)

    def _call(self, x):  # noqa: ANN001, ANN202
        return x.abs()

    def _inverse(self, y):  # noqa: ANN001, ANN202
        return y


class AffineTransform(Transform):
    """y = loc + scale * x, over ``event_dim`` rightmost dims."""

    bijective = True

    def __init__(self, loc, scale, event_dim: int = 0, cache_size: int = 0) -> None:  # noqa: ANN001
        super().__init__(cache_size=cache_size)
        self.loc = loc
        self.scale = scale
        self._event_dim = event_dim

    @property
    def event_dim(self) -> int:
        return self._event_dim

    @constraints.dependent_property(is_discrete=False)
    def domain(self):  # noqa: ANN201
        return constraints.real if self.event_dim == 0 else constraints.independent(constraints.real, self.event_dim)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):  # noqa: ANN201
        return self.domain

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return AffineTransform(self.loc, self.scale, self.event_dim, cache_size=cache_size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AffineTransform):
            return False
        for a, b in ((self.loc, other.loc), (self.scale, other.scale)):
            if isinstance(a, numbers.Number) and isinstance(b, numbers.Number):
                if a != b:
                    return False
            elif not bool((a == b).all().item()):
                return False
        return True

    @property
    def sign(self):  # noqa: ANN201
        if isinstance(self.scale, numbers.Real):
            return 1 if float(self.scale) > 0 else -1 if float(self.scale) < 0 else 0
        return self.scale.sign()

    def _call(self, x):  # noqa: ANN001, ANN202
        return self.loc + self.scale * x

    def _inverse(self, y):  # noqa: ANN001, ANN202
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):  # noqa: ANN001, ANN201
        shape = tuple(x.shape)
        if isinstance(self.scale, numbers.Real):
            result = ember.full_like(x, math.log(abs(self.scale)))
        else:
            result = ember.abs(self.scale).log()
        if self.event_dim:
            result = result.view(tuple(result.size()[: -self.event_dim]) + (-1,)).sum(-1)
            shape = shape[: -self.event_dim]
        return result.expand(shape)

    def forward_shape(self, shape):  # noqa: ANN001, ANN201
        return ember.broadcast_shapes(shape, getattr(self.loc, "shape", ()), getattr(self.scale, "shape", ()))

    def inverse_shape(self, shape):  # noqa: ANN001, ANN201
        return ember.broadcast_shapes(shape, getattr(self.loc, "shape", ()), getattr(self.scale, "shape", ()))


def _check_vector_shape(shape) -> None:  # noqa: ANN001
    if len(shape) < 1:
        raise ValueError("Too few dimensions on input")


class SoftmaxTransform(Transform):
    """Unconstrained vectors to the simplex by softmax (not bijective; the inverse is ``log``)."""

    domain = constraints.real_vector
    codomain = constraints.simplex

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SoftmaxTransform)

    def _call(self, x):  # noqa: ANN001, ANN202
        probs = (x - x.max(-1, True)[0]).exp()
        return probs / probs.sum(-1, True)

    def _inverse(self, y):  # noqa: ANN001, ANN202
        return y.log()

    def forward_shape(self, shape):  # noqa: ANN001, ANN201
        _check_vector_shape(shape)
        return shape

    def inverse_shape(self, shape):  # noqa: ANN001, ANN201
        _check_vector_shape(shape)
        return shape


class StickBreakingTransform(Transform):
    """R^(K-1) onto the K-simplex by stick breaking: a bijection with a cheap log-Jacobian."""

    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StickBreakingTransform)

    @staticmethod
    def _offset(x, k: int):  # noqa: ANN001, ANN205
        return k - x.new_ones(x.shape[-1]).cumsum(-1)

    def _call(self, x):  # noqa: ANN001, ANN202
        pad = ember.nn.functional.pad
        z = _clipped_sigmoid(x - self._offset(x, x.shape[-1] + 1).log())
        z_cumprod = (1 - z).cumprod(-1)
        return pad(z, [0, 1], value=1) * pad(z_cumprod, [1, 0], value=1)

    def _inverse(self, y):  # noqa: ANN001, ANN202
        y_crop = y[..., :-1]
        offset = self._offset(y_crop, y.shape[-1])
        sf = ember.clamp(1 - y_crop.cumsum(-1), min=ember.finfo(y.dtype).tiny)
        return y_crop.log() - sf.log() + offset.log()

    def log_abs_det_jacobian(self, x, y):  # noqa: ANN001, ANN201
        x = x - self._offset(x, x.shape[-1] + 1).log()
        return (-x + ember.nn.functional.logsigmoid(x) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape):  # noqa: ANN001, ANN201
        _check_vector_shape(shape)
        return shape[:-1] + (shape[-1] + 1,)

    def inverse_shape(self, shape):  # noqa: ANN001, ANN201
        _check_vector_shape(shape)
        return shape[:-1] + (shape[-1] - 1,)


class LowerCholeskyTransform(Transform):
    """Square matrices to lower-triangular ones with a positive diagonal (strict lower part kept, diagonal exp'd)."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LowerCholeskyTransform)

    def _call(self, x):  # noqa: ANN001, ANN202
        return x.tril(-1) + x.diagonal(dim1=-2, dim2=-1).exp().diag_embed()

    def _inverse(self, y):  # noqa: ANN001, ANN202
        return y.tril(-1) + y.diagonal(dim1=-2, dim2=-1).log().diag_embed()


class PositiveDefiniteTransform(Transform):
    """Square matrices to positive-definite ones: L L^T of the lower-Cholesky image."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PositiveDefiniteTransform)

    def _call(self, x):  # noqa: ANN001, ANN202
        x = LowerCholeskyTransform()(x)
        return x @ x.mT

    def _inverse(self, y):  # noqa: ANN001, ANN202
        return LowerCholeskyTransform().inv(ember.linalg.cholesky(y))


class CorrCholeskyTransform(Transform):
    """Vectors of D(D-1)/2 reals to Cholesky factors of D x D correlation matrices (tanh, then stick breaking
    on each row's squared norm)."""

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CorrCholeskyTransform)

    def _call(self, x):  # noqa: ANN001, ANN202
        x = ember.tanh(x)
        eps = ember.finfo(x.dtype).eps
        x = x.clamp(min=-1 + eps, max=1 - eps)
        r = vec_to_tril_matrix(x, diag=-1)
        z1m_cumprod_sqrt = (1 - r**2).sqrt().cumprod(-1)
        r = r + ember.eye(r.shape[-1], dtype=r.dtype, device=r.device)
        return r * ember.nn.functional.pad(z1m_cumprod_sqrt[..., :-1], [1, 0], value=1)

    def _inverse(self, y):  # noqa: ANN001, ANN202
        y_cumsum = 1 - ember.cumsum(y * y, dim=-1)
        y_cumsum_shifted = ember.nn.functional.pad(y_cumsum[..., :-1], [1, 0], value=1)
        t = tril_matrix_to_vec(y, diag=-1) / tril_matrix_to_vec(y_cumsum_shifted, diag=-1).sqrt()
        return (t.log1p() - t.neg().log1p()) / 2

    def log_abs_det_jacobian(self, x, y, intermediates=None):  # noqa: ANN001, ANN201
        y1m_cumsum = 1 - (y * y).cumsum(dim=-1)
        stick_breaking_logdet = 0.5 * tril_matrix_to_vec(y1m_cumsum, diag=-2).log().sum(-1)
        tanh_logdet = -2 * (x + ember.nn.functional.softplus(-2 * x) - math.log(2.0)).sum(dim=-1)
        return stick_breaking_logdet + tanh_logdet

    def forward_shape(self, shape):  # noqa: ANN001, ANN201
        _check_vector_shape(shape)
        n = shape[-1]
        d = round((0.25 + 2 * n) ** 0.5 + 0.5)
        if d * (d - 1) // 2 != n:
            raise ValueError("Input is not a flattened lower-diagonal number")
        return shape[:-1] + (d, d)

    def inverse_shape(self, shape):  # noqa: ANN001, ANN201
        if len(shape) < 2:
            raise ValueError("Too few dimensions on input")
        if shape[-2] != shape[-1]:
            raise ValueError("Input is not square")
        d = shape[-1]
        return shape[:-2] + (d * (d - 1) // 2,)


class CatTransform(Transform):
    """Applies ``tseq[i]`` to consecutive slices of ``lengths[i]`` along ``dim`` and concatenates the results."""

    def __init__(self, tseq, dim: int = 0, lengths=None, cache_size: int = 0) -> None:  # noqa: ANN001
        if not all(isinstance(t, Transform) for t in tseq):
            raise AssertionError("All elements of tseq must be Transform instances")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.lengths = list(lengths) if lengths is not None else [1] * len(self.transforms)
        if len(self.lengths) != len(self.transforms):
            raise AssertionError(f"lengths ({len(self.lengths)}) must match transforms ({len(self.transforms)})")
        self.dim = dim

    @lazy_property
    def event_dim(self) -> int:  # type: ignore[override]
        return max(t.event_dim for t in self.transforms)

    @lazy_property
    def length(self) -> int:
        return sum(self.lengths)

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def _slices(self, x, what: str = "tensor", name: str = "x"):  # noqa: ANN001, ANN202
        _check_slot(x, self.dim, what, name, self.length, "length")
        start = 0
        for t, length in zip(self.transforms, self.lengths, strict=True):
            yield t, start, length
            start += length

    def _call(self, x):  # noqa: ANN001, ANN202
        return ember.cat([t(x.narrow(self.dim, s, n)) for t, s, n in self._slices(x)], dim=self.dim)

    def _inverse(self, y):  # noqa: ANN001, ANN202
        return ember.cat([t.inv(y.narrow(self.dim, s, n)) for t, s, n in self._slices(y, name="y")], dim=self.dim)

    def log_abs_det_jacobian(self, x, y):  # noqa: ANN001, ANN201
        _check_slot(y, self.dim, "y", "y", self.length, "length")
        terms = []
        for t, s, n in self._slices(x, "x"):
            term = t.log_abs_det_jacobian(x.narrow(self.dim, s, n), y.narrow(self.dim, s, n))
            if t.event_dim < self.event_dim:
                term = _sum_rightmost(term, self.event_dim - t.event_dim)
            terms.append(term)
        dim = self.dim - x.dim() if self.dim >= 0 else self.dim
        dim = dim + self.event_dim
        return ember.cat(terms, dim=dim) if dim < 0 else sum(terms)

    @property
    def bijective(self) -> bool:  # type: ignore[override]
        return all(t.bijective for t in self.transforms)

    @constraints.dependent_property
    def domain(self):  # noqa: ANN201
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @constraints.dependent_property
    def codomain(self):  # noqa: ANN201
        return constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths)


class StackTransform(Transform):
    """Applies ``tseq[i]`` to index ``i`` along ``dim`` and stacks the results."""

    def __init__(self, tseq, dim: int = 0, cache_size: int = 0) -> None:  # noqa: ANN001
        if not all(isinstance(t, Transform) for t in tseq):
            raise AssertionError("All elements of tseq must be Transform instances")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.dim = dim

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return StackTransform(self.transforms, self.dim, cache_size)

    def _slice(self, z, what: str = "tensor", name: str = "x"):  # noqa: ANN001, ANN202
        _check_slot(z, self.dim, what, name, len(self.transforms), "len(transforms)")
        return [z.select(self.dim, i) for i in range(z.size(self.dim))]

    def _call(self, x):  # noqa: ANN001, ANN202
        return ember.stack([t(xs) for xs, t in zip(self._slice(x), self.transforms, strict=True)], dim=self.dim)

    def _inverse(self, y):  # noqa: ANN001, ANN202
        ys = self._slice(y, name="y")
        return ember.stack([t.inv(yi) for yi, t in zip(ys, self.transforms, strict=True)], dim=self.dim)

    def log_abs_det_jacobian(self, x, y):  # noqa: ANN001, ANN201
        xs, ys = self._slice(x, "x", "x"), self._slice(y, "y", "y")
        terms = [t.log_abs_det_jacobian(xi, yi) for xi, yi, t in zip(xs, ys, self.transforms, strict=True)]
        return ember.stack(terms, dim=self.dim)

    @property
    def bijective(self) -> bool:  # type: ignore[override]
        return all(t.bijective for t in self.transforms)

    @constraints.dependent_property
    def domain(self):  # noqa: ANN201
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @constraints.dependent_property
    def codomain(self):  # noqa: ANN201
        return constraints.stack([t.codomain for t in self.transforms], self.dim)


class CumulativeDistributionTransform(Transform):
    """A distribution's CDF as a transform onto the unit interval (its inverse is the ICDF, its log-Jacobian
    the log-density)."""

    bijective = True
    codomain = constraints.unit_interval
    sign = +1

    def __init__(self, distribution, cache_size: int = 0) -> None:  # noqa: ANN001
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    @property
    def domain(self):  # noqa: ANN201
        return self.distribution.support

    def _call(self, x):  # noqa: ANN001, ANN202
        return self.distribution.cdf(x)

    def _inverse(self, y):  # noqa: ANN001, ANN202
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):  # noqa: ANN001, ANN201
        return self.distribution.log_prob(x)

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return type(self)(self.distribution, cache_size=cache_size)
