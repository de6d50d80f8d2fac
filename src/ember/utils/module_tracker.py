"""``torch.utils.module_tracker.ModuleTracker``: which modules are running right now, by their path from the
outermost module (``"Model.block.lin"``) — during forward through global module hooks, during backward through
gradient hooks on each module's inputs and outputs — so that tools (FLOP counters, memory trackers) can
attribute work to modules."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

from .._tensor import Tensor
from ..autograd.graph import current_graph_task_id, queue_callback, register_multi_grad_hook
from ..nn.modules.module import Module, register_module_forward_hook, register_module_forward_pre_hook
from ._pytree import tree_flatten

__all__ = ["ModuleTracker"]

logger = logging.getLogger(__name__)


class ModuleTracker:
    """A context manager; inside it, ``parents`` holds the paths of the modules whose forward (or backward)
    is running, always including ``"Global"``, and ``is_bw`` says whether a backward pass is running."""

    parents: set[str]

    def __init__(self) -> None:
        self.parents = {"Global"}
        self._known_modules: weakref.WeakKeyDictionary[Module, str] = weakref.WeakKeyDictionary()
        self._seen_modules: weakref.WeakSet[Module] = weakref.WeakSet()
        self._has_callback = False
        self._hooks: list[Any] = []

    @property
    def is_bw(self) -> bool:
        """Whether a backward pass is running."""
        return current_graph_task_id() != -1

    def _reset_after_backward(self) -> None:
        """Once the backward pass ends, only ``"Global"`` is running (queued once per pass)."""
        if self._has_callback:
            return

        def reset() -> None:
            self.parents = {"Global"}
            self._has_callback = False
        queue_callback(reset)
        self._has_callback = True

    def _name(self, module: Module) -> str:
        """The module's path: its class name at the top, ``parent.child`` below (named on first sight)."""
        name = self._known_modules.setdefault(module, type(module).__name__)
        if module not in self._seen_modules:
            for child_name, child in module.named_children():
                self._known_modules[child] = f"{name}.{child_name}"
                self._name(child)
            self._seen_modules.add(module)
        return name

    def _enter(self, name: str, backward: bool) -> Callable[..., None]:
        def enter(*_: Any) -> None:
            if backward:
                self._reset_after_backward()
            if name in self.parents:
                logger.info("The module hierarchy tracking seems to be broken as this Module was already "
                            "entered. %s during %s", name, "backward" if backward else "forward")
            self.parents.add(name)
        return enter

    def _exit(self, name: str, backward: bool) -> Callable[..., None]:
        def leave(*_: Any) -> None:
            if name in self.parents:
                self.parents.remove(name)
            else:
                logger.info("The Module hierarchy tracking is confused as we're exiting a Module that was never "
                            "entered. %s during %s", name, "backward" if backward else "forward")
        return leave

    def _track_grads(self, values: Any, fn: Callable[..., None]) -> None:
        leaves, _ = tree_flatten(values)
        tensors = [a for a in leaves if isinstance(a, Tensor) and a.requires_grad]
        if tensors:
            self._hooks.append(register_multi_grad_hook(tensors, fn))

    def _pre_forward(self, module: Module, args: Any) -> None:
        name = self._name(module)
        self._enter(name, False)()
        self._track_grads(args, self._exit(name, True))      # its inputs' gradients: its backward is over

    def _post_forward(self, module: Module, args: Any, output: Any) -> None:
        name = self._name(module)
        self._exit(name, False)()
        self._track_grads(output, self._enter(name, True))   # its outputs' gradients: its backward starts

    def __enter__(self) -> ModuleTracker:
        self._pre_handle = register_module_forward_pre_hook(self._pre_forward)
        self._post_handle = register_module_forward_hook(self._post_forward)
        return self

    def __exit__(self, *exc: object) -> None:
        self._pre_handle.remove()
        self._post_handle.remove()
        for handle in self._hooks:
            handle.remove()
        self._hooks.clear()
