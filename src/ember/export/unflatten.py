"""``ember.export.unflatten``: an ExportedProgram back as a Module with the original submodule hierarchy (each
parameter and buffer under its original name), running the exported graph."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ember.nn import Module

if TYPE_CHECKING:
    from .exported_program import ExportedProgram

__all__ = ["unflatten", "UnflattenedModule", "FlatArgsAdapter"]


class FlatArgsAdapter:
    """Adapts flat inputs whose structure differs from the exported one (subclass and override ``adapt``)."""

    def adapt(self, target_spec: Any, input_spec: Any, input_args: list[Any], metadata: Any = None) -> list[Any]:
        raise NotImplementedError


class UnflattenedModule(Module):
    """Submodules rebuilt from the parameter/buffer names; ``forward`` runs the exported graph with them."""

    def __init__(self, export_module: ExportedProgram, flat_args_adapter: FlatArgsAdapter | None = None) -> None:
        super().__init__()
        gm = export_module.module()
        for name, child in gm.named_children():
            if name != "_guards_fn":
                self.add_module(name, child)
        for name, p in gm.named_parameters(recurse=False):
            self.register_parameter(name, p)
        for name, b in gm.named_buffers(recurse=False):
            self.register_buffer(name, b)
        object.__setattr__(self, "_gm", gm)
        self.graph_signature = export_module.graph_signature
        self.adapted = flat_args_adapter is not None

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self._gm(*args, **kwargs)


def unflatten(module: ExportedProgram, flat_args_adapter: FlatArgsAdapter | None = None) -> UnflattenedModule:
    """The exported program as a Module shaped like the one exported."""
    return UnflattenedModule(module, flat_args_adapter)
