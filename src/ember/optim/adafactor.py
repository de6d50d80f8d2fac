"""``Adafactor``: factored second moments (a row and a column factor per matrix, a full one per vector),
a relative step size ``min(lr, 1/√t)`` scaled by the parameter's RMS, and update clipping — torch's rule,
whose single-tensor and ``foreach`` paths differ only in how the final step is rounded."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .._core.device import xp_of_array
from .._core.dtype import finfo
from .._core.gemm import matmul
from .._tensor import Tensor, from_array
from .optimizer import (
    Optimizer,
    add,
    bump_step,
    check_tensor_lr,
    grad_array,
    lerp,
    opmath,
    params_with_grad,
    run_closure,
    scalar,
    scale,
    state_zeros,
    step_tensor,
    write,
    xp,
)

__all__ = ["Adafactor"]


def lr_value(lr: Any) -> float:
    """A learning rate given as a number or a 1-element tensor, as a Python float."""
    return float(lr.item()) if isinstance(lr, Tensor) else lr


def norm(a: Any, axis: int | None = None) -> Any:
    """The 2-norm of ``a`` (over ``axis``, kept) in ``a``'s dtype; half types accumulate in float32, as torch."""
    half = a.dtype.itemsize < 4
    acc = a.astype("float32") if half else a
    out = xp_of_array(a).sqrt((acc * acc).sum(axis=axis, keepdims=axis is not None))
    return out.astype(a.dtype) if half else out


class Adafactor(Optimizer):
    """Sublinear-memory adaptive steps: V̂ ≈ R·C / mean(R) for matrices (R, C running means of g² over the
    last and second-to-last dims), p ← p(1 - lr·wd) - α·U/max(1, RMS(U)/d) with U = g/√max(V̂, ε₁²) and
    α = max(ε₂, RMS(p))·min(lr, 1/√t)."""

    _group_options = dict(foreach=None)
    _scalar_state = ("step",)

    _sparse_grad_error = "Adafactor does not support sparse gradients"

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = run_closure(closure)
        for group in self.param_groups:
            eps1, eps2 = group["eps"]
            # a tensor lr stays a tensor, as in torch: rho, alpha and the decay factor round to its dtype
            lr, d, wd = group["lr"], group["d"], group["weight_decay"]
            for p in params_with_grad(group):
                if p.is_complex():
                    raise RuntimeError("Adafactor does not support complex parameters")
                g = grad_array(p, group["maximize"])
                state = self.state[p]
                if not state:
                    self._init_state(state, p, g)
                if eps1 is None:   # torch takes it from the first parameter's dtype, for the whole group
                    eps1 = finfo(p.dtype).eps
                t = bump_step(state)
                rho = min(lr, 1 / t**0.5)
                alpha = max(eps2, float(norm(p._data)) / p.numel() ** 0.5) * rho
                if wd != 0:
                    scale(p, 1 - lr * wd)
                var = _variance(state, g, t ** group["beta2_decay"], eps1)
                m = xp(p)
                var = m.maximum(var, scalar(var, eps1 * eps1))
                u = scalar(var, 1.0) / m.sqrt(var)
                u = u * g
                denom = max(1.0, float(norm(u)) / (u.size**0.5 * d))
                if group["foreach"]:   # torch's foreach path scales the update, then adds it
                    u *= opmath(u, -alpha / denom)
                    add(p._data, u, out=p)
                else:
                    add(p._data, u, -alpha / denom, out=p)
        return loss

    @staticmethod
    def _init_state(state: dict[str, Any], p: Tensor, g: Any) -> None:
        """``step``, then ``row_var`` (…, m, 1) and ``col_var`` (…, 1, n) for a matrix, else ``variance``."""
        state["step"] = step_tensor()
        if g.ndim > 1:
            m = xp(p)
            state["row_var"] = from_array(m.zeros((*g.shape[:-1], 1), g.dtype), p.grad.dtype, p.device)
            state["col_var"] = from_array(m.zeros((*g.shape[:-2], 1, g.shape[-1]), g.dtype), p.grad.dtype, p.device)
        else:
            state["variance"] = state_zeros(p.grad)


def _variance(state: dict[str, Any], g: Any, weight: float, eps1: float) -> Any:
    """Update the running second-moment factors towards this gradient's and return the variance estimate."""
    if g.ndim > 1:
        row, col = state["row_var"], state["col_var"]
        for factor, axis in ((row, -1), (col, -2)):
            mean_sq = norm(g, axis)
            mean_sq *= mean_sq
            mean_sq /= opmath(mean_sq, g.shape[axis])
            lerp(factor._data, mean_sq, weight, out=factor)
        est = matmul(xp(row), row._data, col._data)
        est /= xp(row).maximum(row._data.mean(axis=-2, keepdims=True), scalar(est, eps1))
        return est
    v = state["variance"]   # lerp on 1-d views: the shared kernel cannot write a 0-d result in place
    write(v, lerp(v._data.reshape(-1), (g * g).reshape(-1), weight).reshape(v._data.shape))
    return v._data.copy()
