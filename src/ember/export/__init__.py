"""``ember.export``: torch.export — capture a Module's forward, run on example inputs, as an ``ExportedProgram``:
a functional graph of ATen operators with parameters and buffers lifted to inputs, optionally symbolic in some
dimensions; lower it to core ATen, run it as a Module, save and load it as a ``.pt2`` archive.

    ep = ember.export.export(model, (x,), dynamic_shapes={"x": {0: Dim("batch")}})
    print(ep); y = ep.module()(x)
"""

from __future__ import annotations

from typing import Any

from .._core.warn import warn
from . import dynamic_shapes, exported_program, graph_signature
from ._serialize import load, save
from ._trace import GuardOnDataDependentSymNode, UserError
from .dynamic_shapes import Dim, DimHint, dims
from .exported_program import (
    CallSpec,
    ExportedProgram,
    ModuleCallEntry,
    ModuleCallSignature,
    default_decompositions,
    export,
)
from .graph_signature import ExportBackwardSignature, ExportGraphSignature
from .unflatten import FlatArgsAdapter, UnflattenedModule, unflatten

__all__ = ["export", "ExportedProgram", "Dim", "DimHint", "dims", "save", "load", "ExportGraphSignature",
           "ExportBackwardSignature", "ModuleCallSignature", "ModuleCallEntry", "CallSpec", "default_decompositions",
           "register_dataclass", "unflatten", "UnflattenedModule", "FlatArgsAdapter", "UserError",
           "GuardOnDataDependentSymNode", "draft_export",
           "dynamic_shapes", "exported_program", "graph_signature"]

_DATACLASSES: dict[type, Any] = {}


def register_dataclass(cls: type, *, serialized_type_name: str | None = None) -> None:
    """Allow instances of the dataclass ``cls`` as inputs and outputs of exported programs."""
    import dataclasses
    if not dataclasses.is_dataclass(cls):
        raise ValueError(f"{cls} is not a dataclass")
    _DATACLASSES[cls] = serialized_type_name or f"{cls.__module__}.{cls.__qualname__}"


def draft_export(mod: Any, args: tuple, kwargs: dict | None = None, *, dynamic_shapes: Any = None,
                 strict: bool = False, preserve_module_call_signature: tuple[str, ...] = ()) -> ExportedProgram:
    """``export`` that reports rather than fails on dims marked dynamic but specialised (they become static)."""
    try:
        return export(mod, args, kwargs, dynamic_shapes=dynamic_shapes, strict=strict)
    except UserError as e:
        warn(str(e), stacklevel=2)
        return export(mod, args, kwargs, strict=strict)
