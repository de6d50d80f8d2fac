"""``skip_init``: build a module without spending time or random numbers on initialising its parameters."""

from __future__ import annotations

import inspect
from typing import Any

from ...random import fork_rng
from ..modules.module import Module

__all__ = ["skip_init"]


def skip_init(module_cls: type, *args: Any, **kwargs: Any) -> Any:
    """``module_cls(*args, **kwargs)`` whose parameters and buffers are left uninitialised (as ``torch.empty``).

    torch builds the module on the meta device, which ember lacks: here the initialisers run but their random
    draws are undone, so the global random state is the one torch leaves, then the tensors are replaced by
    empty ones. The class must take a ``device`` argument (the final device; default 'cpu')."""
    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    device = kwargs.pop("device", "cpu")
    with fork_rng():
        module = module_cls(*args, device=device, **kwargs)
    return module.to_empty(device=device)
