"""``Adadelta`` — torch's single-tensor rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .optimizer import (
    Optimizer,
    add,
    addcmul,
    bump_step,
    check_capturable_devices,
    check_tensor_lr,
    grad_array,
    params_with_grad,
    run_closure,
    scalar,
    scale,
    state_zeros,
    step_tensor,
    xp,
)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Δ = √(E[Δ²] + eps) / √(E[g²] + eps) · g;  p ← p - lr·Δ."""

    _group_options = dict(foreach=None, maximize=False, differentiable=False, capturable=False)
    _scalar_state = ("step",)

    _complex_as_real = True
    _sparse_grad_error = "Adadelta does not support sparse gradients"

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(
            params,
            dict(
                lr=lr,
                rho=rho,
                eps=eps,
                weight_decay=weight_decay,
                maximize=maximize,
                capturable=capturable,
                foreach=foreach,
                differentiable=differentiable,
            ),
        )

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = run_closure(closure)
        for group in self.param_groups:
            rho, eps = group["rho"], group["eps"]
            params = params_with_grad(group)
            check_capturable_devices(group, params, xla=(False, False))
            for p in params:
                state = self.state[p]
                if not state:
                    state["step"] = step_tensor()
                    state["square_avg"] = state_zeros(p)
                    state["acc_delta"] = state_zeros(p)
                bump_step(state)
                g = grad_array(p, group["maximize"])
                if group["weight_decay"] != 0:
                    g = add(g, p._data, group["weight_decay"])
                sq, acc = state["square_avg"], state["acc_delta"]
                scale(sq, rho, group["foreach"] is True)
                addcmul(sq._data, g, g, 1 - rho, out=sq)
                std = xp(p).sqrt(sq._data + scalar(sq._data, eps))
                delta = xp(p).sqrt(acc._data + scalar(acc._data, eps)) / std * g
                scale(acc, rho, group["foreach"] is True)
                addcmul(acc._data, delta, delta, 1 - rho, out=acc)
                add(p._data, delta, -group["lr"], out=p)
        return loss
