"""``Adam`` (amsgrad, L2 or decoupled weight decay: ``AdamW`` in :mod:`.adamw` is Adam with the latter) — torch's
single-tensor rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .._tensor import Tensor
from . import _fused
from .optimizer import (
    Optimizer,
    addcdiv,
    advance_step,
    bump_step,
    check_capturable_devices,
    check_capture,
    check_fused,
    check_tensor_lr,
    grad_array,
    init_moments,
    opmath,
    params_with_grad,
    run_closure,
    scalar,
    update_moments,
    weight_decay,
    write,
    xp,
)

__all__ = ["Adam"]


def check_adam_args(lr: float, eps: float, betas: tuple[float, float], weight_decay: float) -> None:
    check_tensor_lr(lr)
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    """Adaptive moments: m ← lerp(m, g, 1-β1), v ← β2·v + (1-β2)·g²,
    p ← p - lr/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + eps)."""

    _group_options = dict(amsgrad=False, maximize=False, foreach=None, capturable=False, differentiable=False,
                          decoupled_weight_decay=False, fused=None)
    _scalar_state = ("step",)

    _complex_as_real = True
    _sparse_grad_error = "Adam does not support sparse gradients, please consider SparseAdam instead"

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if isinstance(lr, Tensor) and foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True")
        check_adam_args(lr, eps, betas, weight_decay)
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                amsgrad=amsgrad,
                maximize=maximize,
                foreach=foreach,
                capturable=capturable,
                differentiable=differentiable,
                fused=fused,
                decoupled_weight_decay=decoupled_weight_decay,
            ),
        )
        check_fused(fused, foreach, differentiable)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        check_capture(self)
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            params = params_with_grad(group)
            check_capturable_devices(group, params)
            for p in params:
                state = self.state[p]
                init_moments(state, p, amsgrad=group["amsgrad"], capturable=group["capturable"])
                if state["step"]._device is p._device and _fused.fusable(p):   # capturable on the GPU
                    advance_step(state)
                    _fused.adam(p, state, group, None)
                    continue
                step = bump_step(state)
                step_size = lr / (1 - beta1**step)
                bc2_sqrt = (1 - beta2**step) ** 0.5
                if _fused.fusable(p):
                    _fused.adam(p, state, group, (step_size, bc2_sqrt))
                    continue
                g = grad_array(p, group["maximize"])
                g = weight_decay(p, g, lr, wd, group["decoupled_weight_decay"], group["foreach"] is True)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                update_moments(m, v, g, beta1, beta2, group["foreach"] is True)
                v_used = v._data
                if group["amsgrad"]:
                    vmax = state["max_exp_avg_sq"]
                    write(vmax, xp(p).maximum(vmax._data, v_used))
                    v_used = vmax._data
                denom = xp(p).asarray(xp(p).sqrt(v_used))   # (0-d: an array, for the in-place steps)
                denom /= opmath(v_used, bc2_sqrt)
                denom += scalar(v_used, eps)
                addcdiv(p._data, m._data, denom, -step_size, out=p)
        return loss
