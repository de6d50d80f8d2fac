"""Joining and rearranging: cat/stack and friends (copies, unlike ``views``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU
from ..autograd.grad_mode import STATE
from ._dispatch import Node, Tensor, bind, check_same_device, from_array, record, wrap_dim, xp_of

_isinstance = isinstance


def _node(cls: type[Node], **attrs: Any) -> Node:
    n = cls()
    n.__dict__.update(attrs)
    return n


class CatBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        out, start = [], 0
        for meta in self._meta:
            shape = meta[0]
            if len(shape) == 1 and shape[0] == 0 and g.dim() != 1:
                out.append(None)
                continue
            n = shape[self.dim]
            out.append(g.narrow(self.dim, start, n))
            start += n
        return tuple(out)


def _tensors(tensors: Any, name: str) -> list[Tensor]:
    if _isinstance(tensors, Tensor):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor")
    ts = list(tensors)
    for t in ts:
        if not _isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {ts.index(t)} in argument 0, but got {type(t).__name__}")
    if not ts:
        raise RuntimeError(f"{name}(): expected a non-empty list of Tensors")
    return ts


def cat(tensors: Sequence[Tensor], dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Concatenate along ``dim`` (dtypes promote; legacy 1-d empty tensors are skipped, as torch)."""
    ts = _tensors(tensors, "cat")
    dt = ts[0]._dtype
    for t in ts[1:]:
        dt = D.promote_types(dt, t._dtype)
        check_same_device(ts[0], t)
    parts = [t for t in ts if not (t._data.ndim == 1 and t._data.shape[0] == 0)]
    ref = parts[0] if parts else ts[0]
    if ref._data.ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = wrap_dim(dim, ref._data.ndim)
    for i, t in enumerate(ts):
        if t._data.ndim == 1 and t._data.shape[0] == 0:
            continue
        if t._data.ndim != ref._data.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref._data.ndim} and "
                               f"{t._data.ndim}")
        for k, (a, b) in enumerate(zip(ref._data.shape, t._data.shape, strict=True)):
            if k != d and a != b:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size {a} but "
                                   f"got size {b} for tensor number {i} in the list.")
    xp = np if ref._device is CPU else xp_of(ref._device)
    arrays = [t._data if t._dtype is dt else t._data.astype(dt.np) for t in parts] or [ref._data.astype(dt.np)]
    res = from_array(xp.concatenate(arrays, axis=d), dt, ref._device)
    if STATE.enabled and any(t._rg for t in ts):
        record(res, _node(CatBackward0, dim=d), ts)
    if out is not None:
        from ._dispatch import write_out
        return write_out(out, res)
    return res


concat = concatenate = cat


class StackBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return tuple(g.select(self.dim, i) for i in range(len(self._meta)))


def stack(tensors: Sequence[Tensor], dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Join equal-shaped tensors along a new dim."""
    ts = _tensors(tensors, "stack")
    shape = ts[0]._data.shape
    for i, t in enumerate(ts[1:], 1):
        if t._data.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 and "
                               f"{list(t._data.shape)} at entry {i}")
    d = wrap_dim(dim, len(shape) + 1)
    dt = ts[0]._dtype
    for t in ts[1:]:
        dt = D.promote_types(dt, t._dtype)
    xp = np if ts[0]._device is CPU else xp_of(ts[0]._device)
    res = from_array(xp.stack([t._data if t._dtype is dt else t._data.astype(dt.np) for t in ts], axis=d), dt,
                     ts[0]._device)
    if STATE.enabled and any(t._rg for t in ts):
        record(res, _node(StackBackward0, dim=d), ts)
    if out is not None:
        from ._dispatch import write_out
        return write_out(out, res)
    return res


def hstack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    ts = [t if t.dim() > 0 else t.reshape(1) for t in _tensors(tensors, "hstack")]
    return cat(ts, 0 if ts[0].dim() == 1 else 1, out=out)


def vstack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    ts = [t if t.dim() >= 2 else t.reshape(1, -1) for t in _tensors(tensors, "vstack")]
    return cat(ts, 0, out=out)


row_stack = vstack


def dstack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    ts = []
    for t in _tensors(tensors, "dstack"):
        if t.dim() == 0:
            t = t.reshape(1, 1, 1)
        elif t.dim() == 1:
            t = t.reshape(1, -1, 1)
        elif t.dim() == 2:
            t = t.unsqueeze(-1)
        ts.append(t)
    return cat(ts, 2, out=out)


def column_stack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    ts = [t.reshape(-1, 1) if t.dim() <= 1 else t for t in _tensors(tensors, "column_stack")]
    return cat(ts, 1, out=out)


bind({})

__all__ = ["cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack", "column_stack"]
