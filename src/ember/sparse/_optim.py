"""The sparse-gradient rules of the optimizers (torch's): SGD, Adagrad and SparseAdam.

Each updates only the parameter rows a sparse gradient touches; dense state is updated in place with
``dense[indices] += alpha * values`` entry by entry, as torch's dense += sparse kernel does.
"""

from __future__ import annotations

import math
from typing import Any

from .._tensor import Tensor
from ._coo import SparseTensor, _add, _AddBackward0, _scatter_add, _wrap


def _signed(p: Tensor, maximize: bool) -> SparseTensor:
    g = p.grad
    return _wrap(g._data.indices, -g._data.values if maximize else g._data.values, g.shape, g.is_coalesced(),
                 g._device, g._dtype)


def _add_into(dense: Tensor, g: SparseTensor, alpha: float) -> None:
    _scatter_add(dense._data, g._data.indices, g._data.values, alpha)
    dense._vc[0] += 1


def sgd_step(p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
    """SGD with a sparse gradient: momentum buffers are sparse (entries keep accumulating, as torch's)."""
    g = _signed(p, group["maximize"])
    if group["weight_decay"] != 0:
        raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
    momentum = group["momentum"]
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = g.clone()
        else:
            new = _add(buf.detach() * momentum, g, 1 - group["dampening"], _AddBackward0)
            buf._data = new._data
            buf._vc[0] += 1
        g = _add(g, buf.detach(), momentum, _AddBackward0) if group["nesterov"] else buf
    _add_into(p, g, -group["lr"])


def adagrad_step(p: Tensor, state: dict[str, Any], group: dict[str, Any], clr: float) -> None:
    """Adagrad with a sparse gradient: the squared-gradient sum and the parameter change at its rows only."""
    g = _signed(p, group["maximize"])
    if group["weight_decay"] != 0:
        raise RuntimeError("weight_decay option is not compatible with sparse gradients")
    g = g.detach().coalesce()
    idx, vals = g._data.indices, g._data.values
    s = state["sum"]
    _scatter_add(s._data, idx, vals * vals, 1)
    s._vc[0] += 1
    std = s._data[tuple(idx)] ** 0.5 + vals.dtype.type(group["eps"])
    _scatter_add(p._data, idx, vals / std, -clr)
    p._vc[0] += 1


def sparse_adam_step(p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
    """SparseAdam: Adam's moments and update at the rows of the (coalesced) sparse gradient only."""
    g = _signed(p, group["maximize"]).detach().coalesce()
    idx, vals = g._data.indices, g._data.values
    if vals.size == 0:
        return
    key = tuple(idx)
    beta1, beta2 = group["betas"]
    step = state["step"]
    m, v = state["exp_avg"], state["exp_avg_sq"]
    t = vals.dtype.type
    old_m = m._data[key]
    upd_m = (vals - old_m) * t(1 - beta1)
    _scatter_add(m._data, idx, upd_m, 1)
    old_v = v._data[key]
    upd_v = (vals * vals - old_v) * t(1 - beta2)
    _scatter_add(v._data, idx, upd_v, 1)
    m._vc[0] += 1
    v._vc[0] += 1
    numer = upd_m + old_m
    denom = (upd_v + old_v) ** 0.5 + t(group["eps"])
    step_size = group["lr"] * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
    _scatter_add(p._data, idx, t(-step_size) * (numer / denom), 1)
    p._vc[0] += 1
