"""``ASGD``: averaged SGD — torch's single-tensor rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .._core import dtype as D
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..ops.creation import tensor
from .optimizer import (
    Optimizer,
    add,
    addcmul,
    bump_step,
    check_capturable_devices,
    check_tensor_lr,
    grad_array,
    opmath,
    params_with_grad,
    run_closure,
    state_zeros,
    step_tensor,
    write,
)

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """SGD with decaying step size η and a running average ``ax`` of the iterates (from step t0)."""

    _group_options = dict(foreach=None, maximize=False, differentiable=False, capturable=False)
    _scalar_state = ("step", "eta", "mu")
    _scalars_on_device = True

    _complex_as_real = True
    _sparse_grad_error = "ASGD does not support sparse gradients"

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(
            params,
            dict(
                lr=lr,
                lambd=lambd,
                alpha=alpha,
                t0=t0,
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
            lr, lambd = group["lr"], group["lambd"]
            params = params_with_grad(group)
            check_capturable_devices(group, params, ("params, mus, etas,",) * 2)
            for p in params:
                state = self.state[p]
                if not state:
                    state["step"] = step_tensor()
                    state["eta"] = tensor(float(lr), dtype=D.float32)
                    state["mu"] = tensor(1.0, dtype=D.float32)
                    state["ax"] = state_zeros(p)
                g = grad_array(p, group["maximize"])
                step = bump_step(state)
                if group["weight_decay"] != 0:
                    g = add(g, p._data, group["weight_decay"])
                ax, mu = state["ax"], state["mu"]
                if group["foreach"]:
                    self._foreach_update(p, g, state, group)
                else:
                    eta = float(state["eta"]._data)
                    write(p, p._data * opmath(p._data, 1 - lambd * eta))
                    add(p._data, g, -eta, out=p)
                    if float(mu._data) != 1:
                        write(ax, ax._data + (p._data - ax._data) * mu._data.astype(ax._data.dtype))
                    else:
                        write(ax, p._data)
                    write(state["eta"], lr / ((1 + lambd * lr * step) ** group["alpha"]))
                write(mu, 1 / max(1, step - group["t0"]))
        return loss

    @staticmethod
    def _foreach_update(p: Tensor, g: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        """torch's foreach rule (another rounding): p ← p - η·(g + λ·p), ax ← ax + μ·(p - ax), and the next η
        computed from the float32 step count in float32 tensor arithmetic."""
        lr, lambd = group["lr"], group["lambd"]
        ax, eta, mu = state["ax"], state["eta"], state["mu"]
        addcmul(p._data, add(g, p._data, lambd), eta._data.astype(p._data.dtype), -1, out=p)
        addcmul(ax._data, p._data - ax._data, mu._data.astype(ax._data.dtype), out=ax)
        with no_grad():
            write(eta, (lr / ((1 + lambd * lr * state["step"]) ** group["alpha"]))._data)
