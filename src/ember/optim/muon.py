"""``Muon``: momentum SGD for 2-d parameters whose (Nesterov) momentum is orthogonalised by a quintic
Newton–Schulz iteration before the step. As torch, the iteration runs in bfloat16: here in float32
arithmetic rounded to bfloat16 after every torch operation (bit-level rounding, so it runs on any backend)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._core.device import xp_of_array
from .._core.gemm import matmul
from .adafactor import lr_value, norm
from .optimizer import Optimizer, add, check_tensor_lr, lerp, params_with_grad, run_closure, scale, state_zeros, write

__all__ = ["Muon"]


def _bf16(a: Any) -> Any:
    """float32 ``a`` rounded to the nearest bfloat16 (ties to even), kept as float32 (NaN stays NaN)."""
    m = xp_of_array(a)
    a = m.ascontiguousarray(a, dtype=np.float32)
    bits = a.view(np.uint32)
    bits = (bits + (np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1)))) & np.uint32(0xFFFF0000)
    return m.where(m.isnan(a), a, bits.view(np.float32))


def zeropower_via_newtonschulz(g: Any, coefficients: tuple[float, float, float], steps: int, eps: float) -> Any:
    """An approximately orthogonal matrix with ``g``'s singular vectors (singular values ≈ U(0.5, 1.5)):
    ``steps`` iterations X ← aX + (bXXᵀ + c(XXᵀ)²)X from X = g/‖g‖, on the wide orientation of ``g``."""
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if g.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = (np.float32(v) for v in coefficients)
    m = xp_of_array(g)
    tall = g.shape[0] > g.shape[1]
    x = _bf16(g.astype(np.float32, copy=False))
    if tall:
        x = x.T
    x = _bf16(x / m.maximum(_bf16(norm(x)), _bf16(np.float32(eps)).item()))   # a number (not a host array) for CuPy
    for _ in range(steps):
        gram = _bf16(matmul(m, x, x.T))
        x = _bf16(a * x + matmul(m, _bf16(b * gram + c * matmul(m, gram, gram)), x))
    return x.T if tall else x


def adjusted_lr(lr: float, adjust_lr_fn: str | None, shape: tuple[int, ...]) -> float:
    """``lr`` scaled so the orthogonalised update's RMS is shape-independent: √max(1, A/B) ("original",
    the default) or 0.2·√max(A, B) ("match_rms_adamw", to reuse AdamW's learning rate)."""
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(rows, cols))
    return lr


class Muon(Optimizer):
    """B ← μB + (1-μ)g (a lerp); O = NS(lerp(g, B, μ) if nesterov else B); p ← p(1 - lr·wd) - adj(lr)·O."""

    _sparse_grad_error = "Muon does not support sparse gradients"

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = (3.4445, -4.775, 2.0315),
        eps: float = 1e-7,
        ns_steps: int = 5,
        adjust_lr_fn: str | None = None,
    ) -> None:
        check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                                      ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                                      adjust_lr_fn=adjust_lr_fn))
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: "
                                     f"{p.size()}")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, momentum = lr_value(group["lr"]), group["momentum"]
            for p in params_with_grad(group):
                if p.is_complex():
                    raise RuntimeError("Muon does not support complex parameters")
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = state_zeros(p.grad)
                buf, g = state["momentum_buffer"], p.grad._data
                if g.ndim != 2:
                    raise ValueError("Param gradient must be a 2D matrix")
                lerp(buf._data, g, 1 - momentum, out=buf)
                u = lerp(g, buf._data, momentum) if group["nesterov"] else buf._data
                u = zeropower_via_newtonschulz(u, group["ns_coefficients"], group["ns_steps"], group["eps"])
                scale(p, 1 - lr * group["weight_decay"])
                alpha = -adjusted_lr(lr, group["adjust_lr_fn"], tuple(p.shape))
                if p._data.dtype.itemsize == 2:   # a 16-bit parameter plus the bfloat16 update computes in float32
                    write(p, add(p._data.astype(np.float32), u, alpha))
                else:
                    add(p._data, u.astype(p._data.dtype, copy=False), alpha, out=p)
        return loss

