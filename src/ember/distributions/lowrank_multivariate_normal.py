"""LowRankMultivariateNormal (torch.distributions): covariance ``W W^T + diag(D)`` handled through the small
"capacitance" matrix ``I + W^T D^-1 W`` (Woodbury), so nothing of size event x event is factorised."""

from __future__ import annotations

import math

import ember

from . import constraints
from .distribution import Distribution
from .kl import register_kl
from .multivariate_normal import (
    MultivariateNormal,
    _batch_mahalanobis,
    _batch_mv,
    _batch_trace_XXT,
    _check_event_shapes,
    _half_log_det,
)
from .utils import checked_instance, lazy_property

__all__ = ["LowRankMultivariateNormal"]

def _add_identity(K):  # noqa: ANN001, ANN202
    return K + ember.eye(K.shape[-1], dtype=K.dtype, device=K.device)


def _batch_capacitance_tril(W, D):  # noqa: ANN001, ANN202
    """Cholesky factor of ``I + W^T D^-1 W``."""
    return ember.linalg.cholesky(_add_identity(ember.matmul(W.mT / D.unsqueeze(-2), W)))


def _batch_lowrank_logdet(W, D, capacitance_tril):  # noqa: ANN001, ANN202
    """log det(W W^T + D) by the matrix determinant lemma."""
    return 2 * _half_log_det(capacitance_tril) + D.log().sum(-1)


def _batch_lowrank_mahalanobis(W, D, x, capacitance_tril):  # noqa: ANN001, ANN202
    """x^T (W W^T + D)^-1 x by the Woodbury identity."""
    Wt_Dinv_x = _batch_mv(W.mT / D.unsqueeze(-2), x)
    return (x.pow(2) / D).sum(-1) - _batch_mahalanobis(capacitance_tril, Wt_Dinv_x)


class LowRankMultivariateNormal(Distribution):
    """Gaussian over vectors with covariance ``cov_factor @ cov_factor.mT + diag(cov_diag)``."""

    arg_constraints = {
        "loc": constraints.real_vector,
        "cov_factor": constraints.independent(constraints.real, 2),
        "cov_diag": constraints.independent(constraints.positive, 1),
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args: bool | None = None) -> None:  # noqa: ANN001
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        event_shape = loc.shape[-1:]
        if cov_factor.dim() < 2:
            raise ValueError(
                "cov_factor must be at least two-dimensional, with optional leading batch dimensions")
        if tuple(cov_factor.shape[-2:-1]) != tuple(event_shape):
            raise ValueError(f"cov_factor must be a batch of matrices with shape {event_shape[0]} x m")
        if tuple(cov_diag.shape[-1:]) != tuple(event_shape):
            raise ValueError(f"cov_diag must be a batch of vectors with shape {event_shape}")
        try:
            loc_, self.cov_factor, cov_diag_ = ember.broadcast_tensors(
                loc.unsqueeze(-1), cov_factor, cov_diag.unsqueeze(-1))
        except RuntimeError as e:
            raise ValueError(
                f"Incompatible batch shapes: loc {loc.shape}, cov_factor {cov_factor.shape}, "
                f"cov_diag {cov_diag.shape}"
            ) from e
        self.loc = loc_[..., 0]
        self.cov_diag = cov_diag_[..., 0]
        self._unbroadcasted_cov_factor = cov_factor
        self._unbroadcasted_cov_diag = cov_diag
        self._capacitance_tril = _batch_capacitance_tril(cov_factor, cov_diag)
        super().__init__(self.loc.shape[:-1], event_shape, validate_args=validate_args)

    def _matrix_shape(self) -> tuple:
        return tuple(self._batch_shape) + tuple(self._event_shape) * 2

    @lazy_property
    def scale_tril(self):  # noqa: ANN201
        # L = D^1/2 chol(I + D^-1/2 W W^T D^-1/2): a Cholesky of the event-sized matrix is unavoidable here
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        d_sqrt = D.sqrt().unsqueeze(-1)
        Dinvsqrt_W = W / d_sqrt
        L = d_sqrt * ember.linalg.cholesky(_add_identity(ember.matmul(Dinvsqrt_W, Dinvsqrt_W.mT)))
        return L.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):  # noqa: ANN201
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (ember.matmul(W, W.mT) + ember.diag_embed(D)).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self):  # noqa: ANN201
        A = _woodbury_factor(self)  # (W W^T + D)^-1 = D^-1 - A^T A
        return (ember.diag_embed(self._unbroadcasted_cov_diag.reciprocal()) - A.mT @ A).expand(self._matrix_shape())

    def expand(self, batch_shape, _instance=None):  # noqa: ANN001, ANN201
        new = checked_instance(self, LowRankMultivariateNormal, _instance)
        batch_shape = ember.Size(batch_shape)
        loc_shape = tuple(batch_shape) + tuple(self.event_shape)
        new.loc = self.loc.expand(loc_shape)
        new.cov_diag = self.cov_diag.expand(loc_shape)
        new.cov_factor = self.cov_factor.expand(loc_shape + tuple(self.cov_factor.shape[-1:]))
        new._unbroadcasted_cov_factor = self._unbroadcasted_cov_factor
        new._unbroadcasted_cov_diag = self._unbroadcasted_cov_diag
        new._capacitance_tril = self._capacitance_tril
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
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (W.pow(2).sum(-1) + D).expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=ember.Size()):  # noqa: ANN001, ANN201, B008
        shape = self._extended_shape(sample_shape)
        W_shape = tuple(shape[:-1]) + tuple(self.cov_factor.shape[-1:])
        eps_W = ember.empty(W_shape, dtype=self.loc.dtype, device=self.loc.device).normal_()
        eps_D = ember.empty(shape, dtype=self.loc.dtype, device=self.loc.device).normal_()
        return (self.loc + _batch_mv(self._unbroadcasted_cov_factor, eps_W)
                + self._unbroadcasted_cov_diag.sqrt() * eps_D)

    def _logdet(self):  # noqa: ANN202
        return _batch_lowrank_logdet(self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag,
                                     self._capacitance_tril)

    def log_prob(self, value):  # noqa: ANN001, ANN201
        if self._validate_args:
            self._validate_sample(value)
        M = _batch_lowrank_mahalanobis(self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag,
                                       value - self.loc, self._capacitance_tril)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + self._logdet() + M)

    def entropy(self):  # noqa: ANN201
        H = 0.5 * (self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + self._logdet())
        return H if len(self._batch_shape) == 0 else H.expand(self._batch_shape)


def _woodbury_factor(q: LowRankMultivariateNormal):  # noqa: ANN202
    """A with (W W^T + D)^-1 = D^-1 - A^T A."""
    W, D = q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag
    return ember.linalg.solve_triangular(q._capacitance_tril, W.mT / D.unsqueeze(-2), upper=False)


def _lowrank_mahalanobis_of(q: LowRankMultivariateNormal, x):  # noqa: ANN001, ANN202
    return _batch_lowrank_mahalanobis(q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag, x,
                                      q._capacitance_tril)


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _kl_lowrank_lowrank(p: LowRankMultivariateNormal, q: LowRankMultivariateNormal):  # noqa: ANN202
    _check_event_shapes(p, q, "Low Rank Multivariate Normals")
    pW, pD, qD = p._unbroadcasted_cov_factor, p._unbroadcasted_cov_diag, q._unbroadcasted_cov_diag
    A = _woodbury_factor(q)
    # trace(Sq^-1 Sp) with Sq^-1 = qD^-1 - A^T A and Sp = pD + pW pW^T
    trace_term = ((pD / qD).sum(-1) + _batch_trace_XXT(pW * qD.rsqrt().unsqueeze(-1))
                  - _batch_trace_XXT(A * pD.sqrt().unsqueeze(-2)) - _batch_trace_XXT(A.matmul(pW)))
    logdet_term = q._logdet() - p._logdet()
    return 0.5 * (logdet_term + trace_term + _lowrank_mahalanobis_of(q, q.loc - p.loc) - p.event_shape[0])


@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _kl_mvn_lowrank(p: MultivariateNormal, q: LowRankMultivariateNormal):  # noqa: ANN202
    _check_event_shapes(p, q, "(Low Rank) Multivariate Normals")
    p_tril, qD = p._unbroadcasted_scale_tril, q._unbroadcasted_cov_diag
    A = _woodbury_factor(q)
    trace_term = _batch_trace_XXT(p_tril * qD.rsqrt().unsqueeze(-1)) - _batch_trace_XXT(A.matmul(p_tril))
    logdet_term = q._logdet() - 2 * _half_log_det(p_tril)
    return 0.5 * (logdet_term + trace_term + _lowrank_mahalanobis_of(q, q.loc - p.loc) - p.event_shape[0])


@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _kl_lowrank_mvn(p: LowRankMultivariateNormal, q: MultivariateNormal):  # noqa: ANN202
    _check_event_shapes(p, q, "(Low Rank) Multivariate Normals")
    n = p.event_shape[0]
    q_tril, pW, pD = q._unbroadcasted_scale_tril, p._unbroadcasted_cov_factor, p._unbroadcasted_cov_diag
    batch = tuple(ember.broadcast_shapes(tuple(q_tril.shape[:-2]), tuple(pW.shape[:-2])))
    q_tril = q_tril.expand(batch + (n, n))
    solve = ember.linalg.solve_triangular
    trace_term = (_batch_trace_XXT(solve(q_tril, pW.expand(batch + (n, pW.size(-1))), upper=False))
                  + _batch_trace_XXT(solve(q_tril, ember.diag_embed(pD.sqrt()).expand(batch + (n, n)), upper=False)))
    logdet_term = 2 * _half_log_det(q._unbroadcasted_scale_tril) - p._logdet()
    mahalanobis = _batch_mahalanobis(q._unbroadcasted_scale_tril, q.loc - p.loc)
    return 0.5 * (logdet_term + trace_term + mahalanobis - n)
