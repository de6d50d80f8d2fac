"""Fused GPU update kernels for the optimizers: one CuPy ElementwiseKernel per parameter performs the whole
Adam/AdamW or SGD update (weight decay, moments, bias correction, step), where the op-by-op path would
launch about ten kernels. Arithmetic runs in float64 and each state tensor is rounded once to its dtype,
as torch's fused CUDA optimizers do in float32. Used for float32/float64 cuda parameters; other cases take
the op-by-op path, which matches torch's CPU rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import xp_of
from .._tensor import Tensor

__all__ = ["fusable", "adam", "sgd"]

_ADAM_SCALARS = "float64 lr, float64 beta1, float64 beta2, float64 eps, float64 wd, bool decoupled, bool maximize"
# capturable: the step count is a GPU array (so a captured graph's replays see it grow) and the bias
# corrections are computed from it in the kernel; otherwise they arrive as numbers
_ADAM_STEP = {False: ("float64 step_size, float64 bc2_sqrt, ", ""),
              True: ("float32 step, ", "double step_size = lr / (1.0 - pow(beta1, (double)step));\n"
                                       "    double bc2_sqrt = sqrt(1.0 - pow(beta2, (double)step));")}
_ADAM_BODY = """
    {step}
    double gr = maximize ? -(double)g : (double)g;
    double pv = (double)p;
    if (wd != 0.0) { if (decoupled) pv = (double)(T)(pv * (1.0 - lr * wd)); else gr = (double)(T)(gr + wd * pv); }
    m = (T)((double)m + (1.0 - beta1) * (gr - (double)m));
    v = (T)((double)v * beta2 + (1.0 - beta2) * gr * gr);
    {vmax}
    p = (T)(pv - step_size * (double)m / (sqrt(vu) / bc2_sqrt + eps));
"""
_SGD_BODY = """
    double gr = maximize ? -(double)g : (double)g;
    if (wd != 0.0) gr = (double)(T)(gr + wd * (double)p);
    {momentum}
    p = (T)((double)p - lr * gr);
"""
_SGD_MOMENTUM = """
    buf = (T)(first ? gr : (double)buf * momentum + (1.0 - dampening) * gr);
    gr = nesterov ? (double)(T)(gr + momentum * (double)buf) : (double)buf;
"""
_kernels: dict[str, Any] = {}


def _kernel(cp: Any, name: str) -> Any:
    k = _kernels.get(name)
    if k is None:
        if name.startswith("sgd"):
            with_buf = name == "sgd_momentum"
            k = cp.ElementwiseKernel(
                "T g, float64 lr, float64 momentum, float64 dampening, float64 wd, bool nesterov, bool first, "
                "bool maximize", "T p, T buf" if with_buf else "T p",
                _SGD_BODY.replace("{momentum}", _SGD_MOMENTUM if with_buf else ""), f"ember_fused_{name}")
        else:
            ams, capturable = "amsgrad" in name, "capturable" in name
            params, prologue = _ADAM_STEP[capturable]
            vmax = "double vu = fmax((double)vmax, (double)v); vmax = (T)vu;" if ams else "double vu = (double)v;"
            body = _ADAM_BODY.replace("{step}", prologue).replace("{vmax}", vmax)
            k = cp.ElementwiseKernel("T g, " + params + _ADAM_SCALARS, "T p, T m, T v" + (", T vmax" if ams else ""),
                                     body, f"ember_fused_{name}")
        _kernels[name] = k
    return k


def fusable(p: Tensor) -> bool:
    """Whether ``p``'s update can run as one fused kernel: a float32/float64 cuda parameter with a gradient
    of the same dtype and shape."""
    g = p.grad
    return (p._device.type == "cuda" and p._dtype in (D.float32, D.float64) and g is not None
            and g._dtype is p._dtype and g._data.shape == p._data.shape)


def _bump(*tensors: Tensor) -> None:
    for t in tensors:
        t._vc[0] += 1


def adam(p: Tensor, state: dict[str, Any], group: dict[str, Any], corrections: tuple[float, float] | None) -> None:
    """One Adam/AdamW step of ``p`` in place (moments in ``state``), as one kernel launch. ``corrections``
    are (step size, sqrt of the second bias correction); None when ``capturable`` keeps the step count on the
    GPU, where the kernel derives them."""
    cp = xp_of(p._device)
    beta1, beta2 = group["betas"]
    m, v = state["exp_avg"], state["exp_avg_sq"]
    outs = [p._data, m._data, v._data]
    if group["amsgrad"]:
        outs.append(state["max_exp_avg_sq"]._data)
    step_args = (state["step"]._data,) if corrections is None else tuple(float(c) for c in corrections)
    name = "adam" + ("_amsgrad" if group["amsgrad"] else "") + ("_capturable" if corrections is None else "")
    _kernel(cp, name)(p.grad._data, *step_args, float(group["lr"]), float(beta1), float(beta2), float(group["eps"]),
                      float(group["weight_decay"]), np.bool_(group.get("decoupled_weight_decay", False)),
                      np.bool_(group["maximize"]), *outs)
    _bump(p, m, v, *([state["max_exp_avg_sq"]] if group["amsgrad"] else []))


def sgd(p: Tensor, buf: Tensor | None, first: bool, group: dict[str, Any]) -> None:
    """One SGD step of ``p`` in place (momentum buffer ``buf`` when momentum is on), as one kernel launch."""
    cp = xp_of(p._device)
    outs = [p._data] if buf is None else [p._data, buf._data]
    _kernel(cp, "sgd" if buf is None else "sgd_momentum")(
        p.grad._data, float(group["lr"]), float(group["momentum"]), float(group["dampening"]),
        float(group["weight_decay"]), np.bool_(group["nesterov"]), np.bool_(first), np.bool_(group["maximize"]),
        *outs)
    _bump(p, *([buf] if buf is not None else []))
