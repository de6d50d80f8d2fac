"""``NAdam``: Adam with Nesterov momentum (momentum-decay schedule) — torch's single-tensor rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._core import dtype as D
from ..ops.creation import tensor
from .adam import check_adam_args
from .optimizer import (
    Optimizer,
    addcdiv,
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

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """Adam whose update mixes the gradient and the moment with the μₜ, μₜ₊₁ momentum schedule."""

    _group_options = dict(maximize=False, foreach=None, capturable=False, differentiable=False,
                          decoupled_weight_decay=False)
    _scalar_state = ("step", "mu_product")

    _complex_as_real = True
    _sparse_grad_error = "NAdam does not support sparse gradients"

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_adam_args(lr, eps, betas, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                momentum_decay=momentum_decay,
                decoupled_weight_decay=decoupled_weight_decay,
                maximize=maximize,
                foreach=foreach,
                capturable=capturable,
                differentiable=differentiable,
            ),
        )

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            params = params_with_grad(group)
            check_capturable_devices(group, params, ("params, mu_products", "params, mu_products,"))
            for p in params:
                g = grad_array(p, group["maximize"])
                state = self.state[p]
                if not state:
                    init_moments(state, p, {"mu_product": tensor(1.0, dtype=D.float32)})
                step = bump_step(state)
                bc2 = 1 - beta2**step
                g = weight_decay(p, g, lr, wd, group["decoupled_weight_decay"], group["foreach"] is True)
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * group["momentum_decay"])))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * group["momentum_decay"])))
                prod = state["mu_product"]
                write(prod, prod._data * np.float32(mu))
                mu_product = float(prod._data)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                update_moments(m, v, g, beta1, beta2, group["foreach"] is True)
                denom = xp(p).sqrt(rounded(v._data / opmath(v._data, bc2), g))
                denom = denom + scalar(denom, eps)
                p_new = addcdiv(p._data, g, denom, -lr * (1.0 - mu) / (1.0 - mu_product))
                write(p, addcdiv(p_new, m._data, denom, (-lr * mu_next) / (1.0 - mu_product * mu_next)))
        return loss
