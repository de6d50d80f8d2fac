"""``ember.nn.quantized``, ``ember.nn.qat``, ``ember.nn.intrinsic`` and their submodules: the legacy spellings of
``ember.ao.nn.*`` (as ``torch.nn.quantized`` is ``torch.ao.nn.quantized``'s). An import hook hands out the
``ember.ao.nn`` module itself, so both names give the same classes; nothing of ``ember.ao`` loads before use."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

LEGACY = ("quantized", "qat", "intrinsic")


class _AoAliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``ember.nn.<legacy>[.…]`` and loads it as ``ember.ao.nn.<legacy>[.…]``."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        parts = name.split(".")
        if parts[:2] == ["ember", "nn"] and len(parts) > 2 and parts[2] in LEGACY:
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module("ember.ao.nn." + spec.name.split(".", 2)[2])

    def exec_module(self, module: ModuleType) -> None:
        """The ``ember.ao.nn`` module is already executed."""


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once): the path finder would otherwise load the submodules of
    an aliased package a second time, under the legacy name."""
    if not any(isinstance(f, _AoAliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AoAliasFinder())
