"""Hooks on the tensors the forward pass saves for backward (torch.autograd.graph's ``saved_tensors_hooks``,
``save_on_cpu``, ``disable_saved_tensors_hooks``).

While hooks are registered, :meth:`Node.save` hands each saved tensor to the innermost ``pack_hook`` and keeps
only what it returns; the backward pass gets the tensor back from the paired ``unpack_hook`` when it reads the
node's saved values. As in torch, a packed tensor is not checked for in-place changes since it was saved (the
hooks own its value), and the hooks are thread-local.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .._tensor import Tensor, from_array
from .grad_mode import STATE

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks"]


class _HookState(threading.local):
    def __init__(self) -> None:
        self.stack: list[tuple[Callable, Callable]] = []
        self.disabled: list[str] = []   # error messages of the active disable_saved_tensors_hooks contexts


_STATE = _HookState()
ACTIVE = [0]   # hook contexts open in any thread: Node.save looks at the thread-local stack only when non-zero
PACKED = ("packed",)   # the version recorded for a packed entry: read back through its unpack hook


def current_hooks() -> tuple[Callable, Callable] | None:
    """The innermost (pack, unpack) pair of this thread, or None."""
    stack = _STATE.stack
    return stack[-1] if stack else None


class Packed:
    """A saved tensor as its pack hook returned it, plus the original's place in the graph (``edge``): the
    unpacked tensor takes that place, so backward formulas see it requiring grad as the original did, and a
    backward that builds a graph (``create_graph``) links gradients of gradients through it."""

    __slots__ = ("value", "unpack", "edge", "_rg")

    def __init__(self, original: Tensor, hooks: tuple[Callable, Callable], edge: tuple | None) -> None:
        version = original._vc[0]
        self.value = hooks[0](original)
        if original._vc[0] != version:
            raise RuntimeError("A saved tensor pack hook is modifying its input in place. Tensors provided as input "
                               "to pack hook cannot be modified by in-place operations as this can lead to "
                               "unexpected side-effects. Please open an issue if you need to perform in-place "
                               "operations on the input to a pack hook.")
        self.unpack = hooks[1]
        self.edge = edge   # (node, output_nr) of the original; (None, output_nr) for the op's own output
        self._rg = edge is not None

    def unpacked(self, node: Any) -> Tensor:
        """The unpack hook's tensor, standing where the original stood in the graph."""
        out = self.unpack(self.value)
        if not isinstance(out, Tensor):
            raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got result of type "
                            f"{type(out).__name__}")
        if not self._rg:
            return out
        linked = from_array(out._data, out._dtype, out._device)
        linked._vc = out._vc
        linked._rg = True
        if STATE.enabled:
            # a leaf's edge is its AccumulateGrad node: as grad_fn it routes gradients to the leaf itself
            fn, linked._output_nr = self.edge
            linked._grad_fn = node if fn is None else fn
        return linked


class saved_tensors_hooks:  # noqa: N801  (torch's name)
    """Context manager under which every tensor saved for backward goes through ``pack_hook`` (its result is
    stored instead) and comes back through ``unpack_hook`` when the backward pass needs it."""

    def __init__(self, pack_hook: Callable[[Tensor], Any], unpack_hook: Callable[[Any], Tensor]) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self) -> saved_tensors_hooks:
        if _STATE.disabled:
            raise RuntimeError(_STATE.disabled[-1])
        _STATE.stack.append((self.pack_hook, self.unpack_hook))
        ACTIVE[0] += 1
        return self

    def __exit__(self, *exc: object) -> None:
        _STATE.stack.pop()
        ACTIVE[0] -= 1


class save_on_cpu(saved_tensors_hooks):  # noqa: N801  (torch's name)
    """Saved tensors live on the CPU until backward needs them, then return to their device: trades
    transfers for accelerator memory. ``pin_memory`` stages them in page-locked memory (CUDA only)."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack_to_cpu(tensor: Tensor) -> tuple[Any, Tensor]:
            if not pin_memory or tensor.device.type == "cpu":
                return tensor.device, tensor.cpu()
            return tensor.device, tensor.cpu().pin_memory()

        def unpack_from_cpu(packed: tuple[Any, Tensor]) -> Tensor:
            device, tensor = packed
            return tensor.to(device, non_blocking=pin_memory)

        self.device_type = device_type
        super().__init__(pack_to_cpu, unpack_from_cpu)


@contextmanager
def disable_saved_tensors_hooks(error_message: str) -> Iterator[None]:
    """Within this context registering saved-tensor hooks raises ``RuntimeError(error_message)`` (so does
    entering it while hooks are registered): for features that cannot work with them."""
    if _STATE.stack:
        raise RuntimeError(error_message)
    _STATE.disabled.append(error_message)
    try:
        yield
    finally:
        _STATE.disabled.pop()
