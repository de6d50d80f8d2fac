"""``Adamax``: Adam with the infinity norm — torch's single-tensor rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .adam import check_adam_args
from .optimizer import (
    Optimizer,
    add,
    addcdiv,
    bump_step,
    check_capturable_devices,
    factor,
    grad_array,
    lerp,
    params_with_grad,
    rounded,
    run_closure,
    scalar,
    state_zeros,
    step_tensor,
    write,
    xp,
)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """m ← lerp(m, g, 1-β1), u ← max(β2·u, |g| + eps), p ← p - lr/(1-β1ᵗ) · m / u."""

    _group_options = dict(foreach=None, maximize=False, differentiable=False, capturable=False)
    _scalar_state = ("step",)

    _complex_as_real = True
    _sparse_grad_error = "Adamax does not support sparse gradients"

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_adam_args(lr, eps, betas, weight_decay)
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                foreach=foreach,
                maximize=maximize,
                differentiable=differentiable,
                capturable=capturable,
            ),
        )

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = run_closure(closure)
        for group in self.param_groups:
            (beta1, beta2), eps = group["betas"], group["eps"]
            params = params_with_grad(group)
            check_capturable_devices(group, params)
            for p in params:
                g = grad_array(p, group["maximize"])
                state = self.state[p]
                if not state:
                    state["step"] = step_tensor()
                    state["exp_avg"] = state_zeros(p)
                    state["exp_inf"] = state_zeros(p)
                step = bump_step(state)
                if group["weight_decay"] != 0:
                    g = add(g, p._data, group["weight_decay"])
                m, u = state["exp_avg"], state["exp_inf"]
                lerp(m._data, g, 1 - beta1, out=m)
                decayed = rounded(u._data * factor(u._data, beta2, group["foreach"] is True), g)
                write(u, xp(p).maximum(decayed, xp(p).abs(g) + scalar(g, eps)))
                clr = group["lr"] / (1 - beta1**step)
                addcdiv(p._data, m._data, u._data, -clr, out=p)
        return loss
