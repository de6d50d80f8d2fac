"""``RMSprop`` (momentum, centered, weight decay) — torch's single-tensor rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .optimizer import (
    Optimizer,
    add,
    addcdiv,
    addcmul,
    bump_step,
    check_capturable_devices,
    check_tensor_lr,
    grad_array,
    lerp,
    params_with_grad,
    run_closure,
    scalar,
    scale,
    state_zeros,
    step_tensor,
    xp,
)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """p ← p - lr · g / (√(E[g²] - E[g]² if centered) + eps), with optional momentum on that step."""

    _group_options = dict(momentum=0, centered=False, foreach=None, maximize=False, differentiable=False,
                          capturable=False)
    _scalar_state = ("step",)

    _complex_as_real = True
    _sparse_grad_error = "RMSprop does not support sparse gradients"

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_tensor_lr(lr)
        for name, value in (
            ("learning rate", lr),
            ("epsilon value", eps),
            ("momentum value", momentum),
            ("weight_decay value", weight_decay),
            ("alpha value", alpha),
        ):
            if not 0.0 <= value:
                raise ValueError(f"Invalid {name}: {value}")
        super().__init__(
            params,
            dict(
                lr=lr,
                momentum=momentum,
                alpha=alpha,
                eps=eps,
                centered=centered,
                weight_decay=weight_decay,
                capturable=capturable,
                foreach=foreach,
                maximize=maximize,
                differentiable=differentiable,
            ),
        )

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
            params = params_with_grad(group)
            check_capturable_devices(group, params, xla=(True, True))
            for p in params:
                g = grad_array(p, group["maximize"])
                state = self.state[p]
                if not state:
                    state["step"] = step_tensor()
                    state["square_avg"] = state_zeros(p)
                    if momentum > 0:
                        state["momentum_buffer"] = state_zeros(p)
                    if group["centered"]:
                        state["grad_avg"] = state_zeros(p)
                bump_step(state)
                if group["weight_decay"] != 0:
                    g = add(g, p._data, group["weight_decay"])
                sq = state["square_avg"]
                scale(sq, alpha, group["foreach"] is True)
                addcmul(sq._data, g, g, 1 - alpha, out=sq)
                if group["centered"]:
                    ga = state["grad_avg"]
                    lerp(ga._data, g, 1 - alpha, out=ga)
                    avg = xp(p).sqrt(addcmul(sq._data, ga._data, ga._data, -1))
                else:
                    avg = xp(p).sqrt(sq._data)
                avg = avg + scalar(avg, eps)
                if momentum > 0:
                    buf = state["momentum_buffer"]
                    scale(buf, momentum, group["foreach"] is True)
                    addcdiv(buf._data, g, avg, out=buf)
                    add(p._data, buf._data, -lr, out=p)
                else:
                    addcdiv(p._data, g, avg, -lr, out=p)
        return loss
