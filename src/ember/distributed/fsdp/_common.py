"""What FSDP1 (``FullyShardedDataParallel``) and FSDP2 (``fully_shard``) share: finding the parameters a unit
manages, and freeing gathered parameters after forward (saved-tensor hooks that store views of the gathered
arrays as positions, and gather again in backward)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ... import nn
from ..._tensor import Tensor, from_array
from ...autograd.grad_mode import STATE
from ...autograd.graph import saved_tensors_hooks
from ...nn.parameter import Parameter

Slot = tuple[nn.Module, str, int]   # (module, attribute, index of the parameter)


def managed_params(module: nn.Module, ignored: set[int], stop: type) -> tuple[list[Slot], list[Parameter]]:
    """The parameters of ``module``'s subtree outside submodules of type ``stop`` (units of their own) and
    outside ``ignored`` (ids), each once in module order, and every place each appears (shared parameters)."""
    slots: list[Slot] = []
    params: list[Parameter] = []
    index: dict[int, int] = {}
    stack = [module]
    seen: set[int] = set()
    while stack:
        m = stack.pop(0)
        if id(m) in seen:
            continue
        seen.add(id(m))
        for name, p in m._parameters.items():
            if p is None or id(p) in ignored:
                continue
            if id(p) not in index:
                index[id(p)] = len(params)
                params.append(p)
            slots.append((m, name, index[id(p)]))
        stack[:0] = [c for c in m._modules.values() if c is not None and not isinstance(c, stop)]
    return slots, params


def cast_floating(tree: Any, dtype: Any) -> Any:
    """``tree`` (tuples, lists, dicts of tensors and other values) with its floating tensors cast to ``dtype``."""
    if isinstance(tree, Tensor):
        return tree.to(dtype) if tree.is_floating_point() else tree
    if isinstance(tree, (tuple, list)):
        return type(tree)(cast_floating(v, dtype) for v in tree)
    if isinstance(tree, dict):
        return {k: cast_floating(v, dtype) for k, v in tree.items()}
    return tree


def _ptr(a: Any) -> int:
    """The address of an array's first element (NumPy or CuPy)."""
    return a.__array_interface__["data"][0] if isinstance(a, np.ndarray) else a.data.ptr   # (no memoryview: bfloat16)


class _Packed:
    """A saved tensor that viewed gathered array ``index`` of ``owner``: where in it."""

    __slots__ = ("owner", "index", "offset", "shape", "strides", "dtype", "device")


class Regathering:
    """Base of a unit whose gathered arrays (``live``, during its forward) may be freed after forward: ``pack`` /
    ``unpack`` are saved-tensor hooks; ``unpack`` gathers again (``gather_all``, once per backward pass: the
    ``cache`` lives until the unit's gradient is reduced, which clears it)."""

    xp: Any

    def __init__(self) -> None:
        self.live: list[Any] = []
        self.cache: list[Any] | None = None

    def gather_all(self) -> list[Any]:
        raise NotImplementedError

    def use(self, fulls: list[Tensor]) -> None:
        """Make the gathered parameters the modules' attributes."""
        raise NotImplementedError

    def drop(self) -> None:
        """Undo :meth:`use` (and forget ``live``)."""
        raise NotImplementedError

    def run(self, fulls: list[Tensor], forward: Callable[[], Any], free: bool) -> Any:
        """``forward()`` with the gathered parameters ``fulls`` in place; with ``free`` the tensors it saves for
        backward that view them are packed, so that they are freed when forward returns."""
        self.live = [f._data for f in fulls]
        self.use(fulls)
        try:
            if free and STATE.enabled:
                with saved_tensors_hooks(self.pack, self.unpack):
                    return forward()
            return forward()
        finally:
            self.drop()

    def pack(self, t: Tensor) -> Any:
        for i, full in enumerate(self.live):
            if self.xp.may_share_memory(t._data, full):
                p = _Packed()
                p.owner, p.index, p.shape, p.strides = self, i, t._data.shape, t._data.strides
                p.offset = (_ptr(t._data) - _ptr(full)) // full.itemsize
                p.dtype, p.device = t._dtype, t._device
                return p
        return t

    @staticmethod
    def unpack(x: Any) -> Tensor:
        if not isinstance(x, _Packed):
            return x
        owner = x.owner
        if owner.cache is None:
            owner.cache = owner.gather_all()
        full = owner.cache[x.index].reshape(-1)
        return from_array(owner.xp.lib.stride_tricks.as_strided(full[x.offset:], x.shape, x.strides), x.dtype,
                          x.device)
