"""``Rprop``: resilient backpropagation — torch's single-tensor rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..autograd.grad_mode import no_grad
from ..ops.creation import full_like
from .optimizer import (
    Optimizer,
    addcmul,
    bump_step,
    check_capturable_devices,
    check_tensor_lr,
    grad_array,
    params_with_grad,
    run_closure,
    state_zeros,
    step_tensor,
    write,
    xp,
)

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Per-element step sizes grown by η₊ while the gradient sign holds, shrunk by η₋ when it flips."""

    _group_options = dict(foreach=None, maximize=False, differentiable=False, capturable=False)
    _scalar_state = ("step",)

    _complex_as_real = True
    _sparse_grad_error = "Rprop does not support sparse gradients"

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(
            params,
            dict(
                lr=lr,
                etas=etas,
                step_sizes=step_sizes,
                foreach=foreach,
                maximize=maximize,
                differentiable=differentiable,
                capturable=capturable,
            ),
        )

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = run_closure(closure)
        for group in self.param_groups:
            (eta_minus, eta_plus), (lo, hi) = group["etas"], group["step_sizes"]
            params = params_with_grad(group)
            check_capturable_devices(group, params, xla=(True, True))
            for p in params:
                state = self.state[p]
                if not state:
                    state["step"] = step_tensor()
                    state["prev"] = state_zeros(p)
                    with no_grad():
                        state["step_size"] = full_like(p.grad, group["lr"])
                bump_step(state)
                ns = xp(p)
                g = grad_array(p, group["maximize"])
                prev, size = state["prev"], state["step_size"]
                sign = ns.sign(g * prev._data)
                t = g.dtype.type   # the factors are written into a tensor of the gradient's dtype
                factor = ns.where(sign > 0, t(eta_plus), ns.where(sign < 0, t(eta_minus), t(1)))
                write(size, ns.clip(size._data * factor, t(lo), t(hi)))
                g = ns.where(factor == t(eta_minus), t(0), g)
                addcmul(p._data, ns.sign(g), size._data, -1, out=p)
                write(prev, g)
        return loss
