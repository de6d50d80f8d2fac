"""``torch.nn``: modules, parameters, containers, layers, losses, ``functional``, ``init`` and ``utils``."""

from __future__ import annotations

from . import attention, functional, grad, init, utils
from .modules import *  # noqa: F403
from .modules import __all__ as _modules_all
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter

__all__ = [
    "attention",
    "functional",
    "grad",
    "init",
    "utils",
    "Parameter",
    "Buffer",
    "UninitializedParameter",
    "UninitializedBuffer",
    *_modules_all,
]


def __getattr__(name: str) -> object:
    """``nn.parallel`` (DistributedDataParallel, which needs ``ember.distributed``) loads on first use."""
    if name == "parallel":
        import importlib

        return importlib.import_module(f"{__name__}.parallel")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
