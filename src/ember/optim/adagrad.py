"""``Adagrad`` — torch's single-tensor rule (state is created for every parameter at construction)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..autograd.grad_mode import no_grad
from ..ops.creation import full_like
from .optimizer import (
    Optimizer,
    add,
    addcdiv,
    addcmul,
    bump_step,
    check_fused,
    check_tensor_lr,
    grad_array,
    params_with_grad,
    run_closure,
    scalar,
    step_tensor,
    xp,
)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """p ← p - clr · g / (√Σg² + eps), clr = lr / (1 + (t-1)·lr_decay)."""

    _group_options = dict(foreach=None, maximize=False, differentiable=False, fused=None)
    _scalar_state = ("step",)

    _complex_as_real = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_tensor_lr(lr)
        for name, value in (
            ("learning rate", lr),
            ("lr_decay value", lr_decay),
            ("weight_decay value", weight_decay),
            ("initial_accumulator_value value", initial_accumulator_value),
            ("epsilon value", eps),
        ):
            if not 0.0 <= value:
                raise ValueError(f"Invalid {name}: {value}")
        super().__init__(
            params,
            dict(
                lr=lr,
                lr_decay=lr_decay,
                eps=eps,
                weight_decay=weight_decay,
                initial_accumulator_value=initial_accumulator_value,
                foreach=foreach,
                maximize=maximize,
                differentiable=differentiable,
                fused=fused,
            ),
        )
        check_fused(fused, foreach, differentiable)
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = step_tensor()
                v = group["initial_accumulator_value"]
                with no_grad():   # a complex parameter's accumulator starts at v + vj (its real view all v)
                    state["sum"] = full_like(p, complex(v, v) if p.is_complex() else v)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = run_closure(closure)
        for group in self.param_groups:
            for p in params_with_grad(group):
                state = self.state[p]
                step = bump_step(state)
                clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
                if p.grad.is_sparse:   # sparse COO gradient (ember.sparse)
                    from ..sparse._optim import adagrad_step
                    adagrad_step(p, state, group, clr)
                    continue
                g = grad_array(p, group["maximize"])
                if group["weight_decay"] != 0:
                    g = add(g, p._data, group["weight_decay"])
                s = state["sum"]
                addcmul(s._data, g, g, 1, out=s)
                std = xp(p).sqrt(s._data)
                addcdiv(p._data, g, std + scalar(std, group["eps"]), -clr, out=p)
        return loss
