"""``SGD`` with momentum, dampening, Nesterov, weight decay and maximize (torch's single-tensor rule)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .._tensor import Tensor
from . import _fused
from .optimizer import (
    Optimizer,
    add,
    check_fused,
    check_tensor_lr,
    grad_array,
    params_with_grad,
    run_closure,
    scale,
    state_like,
    state_zeros,
)

__all__ = ["SGD"]


class SGD(Optimizer):
    """p ← p - lr·d, with d the (dampened, optionally Nesterov) momentum of grad + weight_decay·p."""

    _group_options = dict(nesterov=False, maximize=False, foreach=None, differentiable=False, fused=False)

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_tensor_lr(lr)
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(
            params,
            dict(
                lr=lr,
                momentum=momentum,
                dampening=dampening,
                weight_decay=weight_decay,
                nesterov=nesterov,
                maximize=maximize,
                foreach=foreach,
                differentiable=differentiable,
                fused=fused,
            ),
        )
        check_fused(fused, foreach, differentiable)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            # as torch, which reads the buffers before updating: a parameter listed twice starts a fresh buffer
            # at each place on its first step
            fresh = {id(p) for p in group["params"] if self.state.get(p, {}).get("momentum_buffer") is None}
            for p in params_with_grad(group):
                if _fused.fusable(p):
                    self._fused_step(p, group)
                    continue
                if p.grad.is_sparse:   # sparse COO gradient (ember.sparse)
                    from ..sparse._optim import sgd_step
                    sgd_step(p, self.state[p], group)
                    continue
                g = grad_array(p, group["maximize"])
                if group["weight_decay"] != 0:
                    g = add(g, p._data, group["weight_decay"])
                if momentum != 0:
                    state = self.state[p]
                    buf = None if id(p) in fresh else state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = state_like(p, g)
                    else:
                        scale(buf, momentum, group["foreach"] is True)
                        add(buf._data, g, 1 - dampening, out=buf)
                    g = add(g, buf._data, momentum) if group["nesterov"] else buf._data
                add(p._data, g, -lr, out=p)
        return loss

    def _fused_step(self, p: Tensor, group: dict[str, Any]) -> None:
        """The whole update as one GPU kernel; the momentum buffer is created (as the gradient) on first use."""
        buf, first = None, False
        if group["momentum"] != 0:
            state = self.state[p]
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = state_zeros(p)
                first = True
        _fused.sgd(p, buf, first, group)
