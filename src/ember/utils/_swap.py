"""``torch.utils.swap_tensors``: exchange the whole state of two tensor objects, each keeping its identity.

torch swaps the C++ tensors behind the two Python objects; an ember tensor *is* its Python object, so the
class, the ``__dict__`` and every slot (data, dtype, device, version counter, autograd fields, ``.grad``) are
exchanged. torch refuses when something else holds the C++ tensor (``use_count``): a view of it, a graph that
saved it, its AccumulateGrad node. ember counts the same holders among the objects that refer to each tensor,
so the same swaps succeed and fail, with torch's messages.
"""

from __future__ import annotations

import gc
import weakref
from typing import Any

from .._tensor import Tensor
from ..autograd.graph import AccumulateGrad, Node, get_gradient_edge

__all__ = ["swap_tensors"]

_UNSWAPPED = frozenset(("__dict__", "__weakref__"))


def _slot_names(cls: type) -> set[str]:
    """Every ``__slots__`` entry declared along ``cls``'s MRO, except ``__dict__`` and ``__weakref__``."""
    names: set[str] = set()
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        names.update((slots,) if isinstance(slots, str) else slots)
    return names - _UNSWAPPED


def _holders(*tensors: Any) -> dict[int, tuple[int, Any]]:
    """Per tensor id: how many internal holders share it (views made from it, the tensor it is the ``.grad`` of,
    graph nodes that saved it, its AccumulateGrad node) and that live AccumulateGrad node (or None).
    One scan of the heap serves all the tensors."""
    ids = {id(t) for t in tensors}
    counts = {i: [0, None] for i in ids}
    saved_tuples = []
    for r in gc.get_referrers(*tensors):
        if isinstance(r, AccumulateGrad) and id(r.variable) in ids:
            counts[id(r.variable)][0] += 1
            counts[id(r.variable)][1] = r
        elif isinstance(r, tuple):
            saved_tuples.append(r)
        elif isinstance(r, Tensor):
            for held in (getattr(r, "_base", None), r._grad_or_none()):
                if id(held) in ids and held is not r:
                    counts[id(held)][0] += 1
    if saved_tuples:
        tuple_ids = {id(s) for s in saved_tuples}
        for n in gc.get_referrers(*saved_tuples):
            saved = getattr(n, "_saved", None) if isinstance(n, Node) else None
            if id(saved) in tuple_ids:
                for x in saved:
                    if id(x) in ids:
                        counts[id(x)][0] += 1
    return {i: (c[0], c[1]) for i, c in counts.items()}


def _poisoned(grad_outputs: Any) -> None:
    raise RuntimeError(
        "Trying to execute AccumulateGrad node that was poisoned by swap_tensors this can happen when you try to "
        "run backward on a tensor that was swapped. For a module m with "
        "`torch.__future__.set_swap_module_params_on_conversion(True)` you should not change the device or dtype "
        "of the module (e.g. `m.cpu()` or `m.half()`) between running forward and backward. To resolve this, "
        "please only change the device/dtype before running forward (or after both forward and backward).")


def _check_holders(t: Any, name: str, held: tuple[int, Any]) -> None:
    """torch's rule: besides the object itself only an AccumulateGrad node may hold a leaf (that node is then
    poisoned, since the tensor it accumulates into changes); any other holder refuses the swap."""
    extra, accumulator = held
    if extra == 0:
        return
    use_count = 1 + extra
    if use_count == 2 and t.is_leaf:
        get_gradient_edge(t)   # torch's error for a tensor that does not require grad (held by a view)
        if accumulator is not None:
            accumulator.register_prehook(_poisoned)
            return
    raise RuntimeError(f"Expected use_count of {name} to be 1 or 2 with an AccumulateGrad node but got "
                       f"{use_count} make sure you are not holding references to the tensor in other places.")


def swap_tensors(t1: Any, t2: Any) -> None:
    """Swap the contents of two tensors in place: afterwards ``t1`` is what ``t2`` was (class, data, dtype,
    device, autograd state, ``.grad``, Python attributes) and vice versa, while each object keeps its identity.
    Refused when either has weak references, when their classes declare different slots, or when a view, a saved
    graph or anything besides its AccumulateGrad node holds one of them."""
    if weakref.getweakrefs(t1):
        raise RuntimeError("Cannot swap t1 because it has weakref associated with it")
    if weakref.getweakrefs(t2):
        raise RuntimeError("Cannot swap t2 because it has weakref associated with it")
    for t in (t1, t2):
        if not isinstance(t, Tensor):
            raise AttributeError(f"'{type(t).__name__}' object has no attribute '_use_count'")
    slots = _slot_names(type(t1))
    if slots != _slot_names(type(t2)):
        raise RuntimeError("Cannot swap t1 and t2 if they have different slots")
    held = _holders(t1, t2)
    _check_holders(t1, "t1", held[id(t1)])
    _check_holders(t2, "t2", held[id(t2)])
    t1.__class__, t2.__class__ = t2.__class__, t1.__class__
    t1.__dict__, t2.__dict__ = t2.__dict__, t1.__dict__
    missing = object()
    for slot in slots:
        a, b = getattr(t1, slot, missing), getattr(t2, slot, missing)
        for obj, value in ((t1, b), (t2, a)):
            if value is missing:
                if hasattr(obj, slot):
                    delattr(obj, slot)
            else:
                setattr(obj, slot, value)
