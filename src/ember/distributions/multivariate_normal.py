"""MultivariateNormal (torch.distributions.MultivariateNormal): parameterised by a covariance, precision or
lower-triangular scale matrix; everything is computed from the scale factor ``L`` (``Sigma = L L^T``)."""

from __future__ import annotations

import math

import ember

from . import constraints
from .distribution import Distribution
from .kl import register_kl
from .utils import checked_instance, lazy_property

__all__ = ["MultivariateNormal"]

_MATRICES = ("scale_tril", "covariance_matrix", "precision_matrix")


def _batch_mv(bmat, bvec):  # noqa: ANN001, ANN202
    """Matrix-vector products broadcast over batch dims."""
    return ember.matmul(bmat, bvec.unsqueeze(-1)).squeeze(-1)


def _batch_mahalanobis(bL, bx):  # noqa: ANN001, ANN202
    """Squared Mahalanobis norms ``x^T (L L^T)^-1 x`` for lower-triangular ``bL`` broadcast against ``bx``.

    One batched triangular solve: the batch dims along which ``bL`` is constant (typically the sample dims) are
    folded into the right-hand side's columns, so ``bL`` is never copied per sample (nor is its gradient)."""
    n = bx.size(-1)
    batch = tuple(ember.broadcast_shapes(tuple(bL.shape[:-2]), tuple(bx.shape[:-1])))
    l_batch = (1,) * (len(batch) - (bL.dim() - 2)) + tuple(bL.shape[:-2])
    l_dims = [i for i, s in enumerate(l_batch) if s != 1]
    r_dims = [i for i, s in enumerate(l_batch) if s == 1]
    perm = l_dims + r_dims
    x = bx.expand(batch + (n,)).permute(perm + [len(batch)])
    pl, pr = math.prod(batch[i] for i in l_dims), math.prod(batch[i] for i in r_dims)
    rhs = x.reshape(pl, pr, n).mT
    m = ember.linalg.solve_triangular(bL.reshape(pl, n, n), rhs, upper=False).pow(2).sum(-2)
    m = m.reshape([batch[i] for i in perm])
    return m.permute(sorted(range(len(perm)), key=perm.__getitem__)) if perm else m


def _batch_trace_XXT(bmat):  # noqa: ANN001, ANN202
    """trace(X X^T) for a batch of matrices: the sum of squared entries."""
    return bmat.pow(2).flatten(-2).sum(-1)


def _precision_to_scale_tril(P):  # noqa: ANN001, ANN202
    """The lower Cholesky factor of P^-1, without forming the inverse (Cholesky of the flipped matrix)."""
    Lf = ember.linalg.cholesky(ember.flip(P, (-2, -1)))
    L_inv = ember.transpose(ember.flip(Lf, (-2, -1)), -2, -1)
    eye = ember.eye(P.shape[-1], dtype=P.dtype, device=P.device)
    return ember.linalg.solve_triangular(L_inv, eye, upper=False)


def _half_log_det(scale_tril):  # noqa: ANN001, ANN202
    return scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)


class MultivariateNormal(Distribution):
    """Gaussian over vectors with mean ``loc`` and exactly one of ``covariance_matrix``, ``precision_matrix``
    or ``scale_tril``."""

    arg_constraints = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,  # noqa: ANN001
                 validate_args: bool | None = None) -> None:
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        for name, mat in (("scale_tril", scale_tril), ("covariance_matrix", covariance_matrix),
                          ("precision_matrix", precision_matrix)):
            if mat is None:
                continue
            if mat.dim() < 2:
                what = "scale_tril matrix" if name == "scale_tril" else name
                raise ValueError(f"{what} must be at least two-dimensional, with optional leading batch dimensions")
            batch_shape = ember.broadcast_shapes(tuple(mat.shape[:-2]), tuple(loc.shape[:-1]))
            setattr(self, name, mat.expand(tuple(batch_shape) + (-1, -1)))
        self.loc = loc.expand(tuple(batch_shape) + (-1,))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = ember.linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

    def _matrix_shape(self) -> tuple:
        return tuple(self._batch_shape) + tuple(self._event_shape) * 2

    @lazy_property
    def scale_tril(self):  # noqa: ANN201
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):  # noqa: ANN201
        L = self._unbroadcasted_scale_tril
        return ember.matmul(L, L.mT).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self):  # noqa: ANN201
        return ember.cholesky_inverse(self._unbroadcasted_scale_tril).expand(self._matrix_shape())

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        new = checked_instance(self, MultivariateNormal, _instance)
        batch_shape = ember.Size(batch_shape)
        loc_shape = tuple(batch_shape) + tuple(self.event_shape)
        new.loc = self.loc.expand(loc_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in _MATRICES:
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(loc_shape + tuple(self.event_shape)))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):  # noqa: ANN201
        return self.loc

    @property
    def mode(self):  # noqa: ANN201
        return self.loc

    @property
    def variance(self):  # noqa: ANN201
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        shape = self._extended_shape(sample_shape)
        eps = ember.empty(shape, dtype=self.loc.dtype, device=self.loc.device).normal_()
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        M = _batch_mahalanobis(self._unbroadcasted_scale_tril, value - self.loc)
        half_log_det = _half_log_det(self._unbroadcasted_scale_tril)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + M) - half_log_det

    def entropy(self):  # noqa: ANN201
        half_log_det = _half_log_det(self._unbroadcasted_scale_tril)
        H = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det
        return H if len(self._batch_shape) == 0 else H.expand(self._batch_shape)


def _check_event_shapes(p: Distribution, q: Distribution, what: str) -> None:
    if p.event_shape != q.event_shape:
        raise ValueError(f"KL-divergence between two {what} with"
                         "                          different event shapes cannot be computed")


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_multivariatenormal_multivariatenormal(p: MultivariateNormal, q: MultivariateNormal):  # noqa: ANN202
    _check_event_shapes(p, q, "Multivariate Normals")
    n = p.event_shape[0]
    batch = ember.broadcast_shapes(tuple(q._unbroadcasted_scale_tril.shape[:-2]),
                                   tuple(p._unbroadcasted_scale_tril.shape[:-2]))
    q_tril = q._unbroadcasted_scale_tril.expand(tuple(batch) + (n, n))
    p_tril = p._unbroadcasted_scale_tril.expand(tuple(batch) + (n, n))
    trace_term = _batch_trace_XXT(ember.linalg.solve_triangular(q_tril, p_tril, upper=False))
    mahalanobis = _batch_mahalanobis(q._unbroadcasted_scale_tril, q.loc - p.loc)
    half_log_det_ratio = _half_log_det(q._unbroadcasted_scale_tril) - _half_log_det(p._unbroadcasted_scale_tril)
    return half_log_det_ratio + 0.5 * (trace_term + mahalanobis - n)

