"""``RAdam``: Adam with the variance rectification term — torch's single-tensor rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .adam import check_adam_args
from .optimizer import (
    Optimizer,
    bump_step,
    check_capturable_devices,
    grad_array,
    init_moments,
    opmath,
    params_with_grad,
    rounded,
    run_closure,
    scalar,
    update_moments,
    weight_decay,
    write,
    xp,
)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """Adam's moments; the adaptive step is used (rectified) once the SMA length exceeds 5."""

    _group_options = dict(foreach=None, maximize=False, differentiable=False, decoupled_weight_decay=False,
                          capturable=False)
    _scalar_state = ("step",)

    _complex_as_real = True
    _sparse_grad_error = "RAdam does not support sparse gradients"

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_adam_args(lr, eps, betas, weight_decay)
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                maximize=maximize,
                foreach=foreach,
                capturable=capturable,
                decoupled_weight_decay=decoupled_weight_decay,
                differentiable=differentiable,
            ),
        )

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            params = params_with_grad(group)
            check_capturable_devices(group, params)
            for p in params:
                g = grad_array(p, group["maximize"])
                state = self.state[p]
                init_moments(state, p)
                step = bump_step(state)
                g = weight_decay(p, g, lr, wd, group["decoupled_weight_decay"], group["foreach"] is True)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                update_moments(m, v, g, beta1, beta2, group["foreach"] is True)
                bc1, bc2 = 1 - beta1**step, 1 - beta2**step
                update = rounded(rounded(m._data / opmath(m._data, bc1), g) * opmath(m._data, lr), g)
                rho_inf = 2 / (1 - beta2) - 1
                rho_t = rho_inf - 2 * step * (beta2**step) / bc2
                if rho_t > 5.0:
                    rect = (
                        (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                    ) ** 0.5
                    root = xp(p).sqrt(v._data)
                    # number / tensor is torch's reciprocal(tensor) * number
                    adaptive = rounded(xp(p).reciprocal(root + scalar(root, eps)) * opmath(root, bc2**0.5), g)
                    update = rounded(update * adaptive * opmath(update, rect), g)
                write(p, p._data - update)
        return loss
