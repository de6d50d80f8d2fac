"""``torch.nn``: modules, parameters, containers, layers, losses, ``functional``, ``init`` and ``utils``."""

from __future__ import annotations

from typing import Any

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
    "factory_kwargs",
    "DataParallel",  # noqa: F405 (loaded on first use: see __getattr__)
    *_modules_all,
]


_ao_alias.install()

_FACTORY_KEYS = ("device", "dtype", "memory_format")


def factory_kwargs(kwargs: dict[str, Any] | None) -> dict[str, Any]:
    """The factory arguments (device, dtype, memory_format) in ``kwargs``, merged with those of its
    ``factory_kwargs`` entry, for passing on to ``empty`` and friends; anything else, or a key given both ways,
    raises TypeError at once rather than at the factory call."""
    if kwargs is None:
        return {}
    unexpected = kwargs.keys() - {*_FACTORY_KEYS, "factory_kwargs"}
    if unexpected:
        raise TypeError(f"unexpected kwargs {unexpected}")
    merged = dict(kwargs.get("factory_kwargs", {}))
    for key in _FACTORY_KEYS:
        if key in kwargs:
            if key in merged:
                raise TypeError(f"{key} specified twice, in **kwargs and in factory_kwargs")
            merged[key] = kwargs[key]
    return merged


def __getattr__(name: str) -> object:
    """``nn.parallel`` (DistributedDataParallel, which needs ``ember.distributed``), ``DataParallel`` and the legacy
    quantization names (``nn.quantized``/``qat``/``intrinsic``: ``ember.ao.nn``'s) load on first use."""
    if name == "DataParallel":
        from .parallel.data_parallel import DataParallel

        return DataParallel
    if name == "parallel" or name in _ao_alias.LEGACY:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
