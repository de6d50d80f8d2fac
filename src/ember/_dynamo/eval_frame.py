"""``OptimizedModule``: what ``torch.compile(module)`` returns."""

from __future__ import annotations

from typing import Any

from ..nn.modules.module import Module

__all__ = ["OptimizedModule"]


class OptimizedModule(Module):
    """A compiled module as torch returns it: the original module held as ``_orig_mod`` (so the printout and
    the state dict's ``_orig_mod.``-prefixed keys are torch's); reading, setting or deleting any other attribute
    (``training`` too) reaches the original module. ember has no graph compiler: calls run it eagerly."""

    _opt_mod_attributes = frozenset({"_orig_mod", "dynamo_ctx"})

    def __init__(self, mod: Module, dynamo_ctx: Any = None) -> None:
        super().__init__()
        self._orig_mod = mod
        self.dynamo_ctx = dynamo_ctx

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self._orig_mod(*args, **kwargs)

    def __reduce__(self) -> tuple[type[OptimizedModule], tuple[Module, Any]]:
        return (type(self), (self._orig_mod, self.dynamo_ctx))

    @property
    def training(self) -> bool:   # type: ignore[override]
        return self._orig_mod.training

    @training.setter
    def training(self, value: bool) -> None:
        if "_orig_mod" in self.__dict__.get("_modules", ()):   # (Module.__init__ sets the default first)
            self._orig_mod.training = value

    def __getattr__(self, name: str) -> Any:
        if name == "_orig_mod":
            return self._modules["_orig_mod"]
        return getattr(self._orig_mod, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._opt_mod_attributes or "_modules" not in self.__dict__:
            super().__setattr__(name, value)
        else:
            setattr(self._orig_mod, name, value)

    def __delattr__(self, name: str) -> None:
        if name in self._opt_mod_attributes:
            super().__delattr__(name)
        else:
            delattr(self._orig_mod, name)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *dir(self._orig_mod)})
