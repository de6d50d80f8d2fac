"""``torch.nn``: modules, parameters, containers, layers, losses, ``functional``, ``init`` and ``utils``."""

from __future__ import annotations

from . import _ao_alias, attention, functional, grad, init, utils
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


_ao_alias.install()


def __getattr__(name: str) -> object:
    """``nn.parallel`` (DistributedDataParallel, which needs ``ember.distributed``) and the legacy quantization
    names (``nn.quantized``/``qat``/``intrinsic``: ``ember.ao.nn``'s) load on first use."""
    if name == "parallel" or name in _ao_alias.LEGACY:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
