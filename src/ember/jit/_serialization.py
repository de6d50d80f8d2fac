"""``torch.jit.save`` / ``torch.jit.load`` in ember's own archive format.

torch writes TorchScript (compiled code plus constants), which ember cannot execute; ember writes a checkpoint
zip (through :func:`ember.save`, so saving to a path is atomic) whose pickle holds the scripted or traced module,
its tensors and any ``_extra_files``. :func:`load` reads those archives back into a module that runs, and
refuses a torch TorchScript file with an error saying so.

Loading cannot run arbitrary code from the file: its pickle may only name tensor-rebuilding globals (those
``ember.load`` allows with ``weights_only=True``), plain containers, ``nn.Module`` classes,
``ember.nn.functional`` functions and scripted or traced functions; the modules defining those classes and functions
are imported, so they must be installed, as their code runs in ember.
"""

from __future__ import annotations

import _compat_pickle
import importlib
import inspect
import io
import os
import pickle
from typing import IO, Any, BinaryIO

from ..nn.modules.module import Module
from ..serialization import _load_zip, _restorer
from ..serialization import save as _checkpoint_save
from ..serialization._globals import torch_globals
from ..serialization._zip import EntryReader
from ._internal import _deprecated
from ._script import ScriptFunction, _rebuild_script_module, _scripted_function

__all__ = ["load", "save"]

FileLike = str | os.PathLike | IO[bytes]

_TORCHSCRIPT = (
    "{} is a TorchScript archive written by torch.jit.save: ember runs model code eagerly in Python and cannot "
    "execute TorchScript. ember.jit.load reads archives written by ember.jit.save; to move a model from torch, "
    "save its weights there (torch.save(model.state_dict(), path)) and load them into the same model built with "
    "ember (model.load_state_dict(ember.load(path)))."
)
_NOT_JIT = "{} is not an archive written by ember.jit.save{}"
_PLAIN = {("collections", "OrderedDict"), ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "slice"),
          ("builtins", "complex"), ("builtins", "bytearray")}


class _Archive:
    """The root object of an ember.jit archive: the saved module or function and the extra files."""

    def __init__(self, obj: Any, extra: dict[str, bytes]) -> None:
        self.obj = obj
        self.extra = extra


_CALLABLES = {
    ("ember.jit._serialization", "_Archive"): _Archive,
    ("ember.jit._script", "_rebuild_script_module"): _rebuild_script_module,
    ("ember.jit._script", "_scripted_function"): _scripted_function,
}


class _NotJitArchive(Exception):
    pass


class _Unpickler(pickle.Unpickler):
    """Resolves only the globals listed in this module's docstring; the first one must be :class:`_Archive`."""

    first = True

    def find_class(self, module: str, name: str) -> Any:
        first, self.first = self.first, False
        if first and (module, name) != ("ember.jit._serialization", "_Archive"):
            raise _NotJitArchive
        if (module, name) in _compat_pickle.NAME_MAPPING:  # protocol 2 writes Python 2 names
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        module = {"torch.tensor": "torch._tensor"}.get(module, module)
        known = torch_globals().get(f"{module}.{name}")
        if known is not None:
            return known
        if (module, name) in _PLAIN:
            return super().find_class(module, name)
        if module == "torch" or module.startswith("torch."):
            module = "ember" + module[5:]
        known = _CALLABLES.get((module, name))
        if known is not None:
            return known
        try:
            obj = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            raise pickle.UnpicklingError(f"ember.jit.load: cannot find {module}.{name}") from None
        if (isinstance(obj, type) and issubclass(obj, Module)) or (
                module == "ember.nn.functional" and inspect.isfunction(obj)):
            return obj
        raise pickle.UnpicklingError(
            f"ember.jit.load refuses the global {module}.{name}: an archive may only name nn.Module classes, "
            "tensor-rebuilding functions, ember.nn.functional functions and scripted or traced functions"
        )


def _unpickle(fh: BinaryIO, persistent_load: Any) -> Any:
    u = _Unpickler(fh)
    u.persistent_load = persistent_load
    return u.load()


def _save(obj: Any, f: FileLike, extra_files: dict[str, Any] | None) -> None:
    extra = {k: v.encode() if isinstance(v, str) else bytes(v) for k, v in (extra_files or {}).items()}
    try:
        _checkpoint_save(_Archive(obj, extra), f)
    except (pickle.PicklingError, AttributeError) as e:
        raise pickle.PicklingError(
            f"ember.jit.save stores modules by pickling them (ember has no TorchScript to compile them to), so "
            f"their classes and functions must be importable by name: {e}"
        ) from e


def save(m: Any, f: FileLike, _extra_files: dict[str, Any] | None = None) -> None:
    """Save a scripted or traced module (or a scripted function) with its tensors to ``f`` (a path, written
    atomically, or a binary file object), with ``_extra_files`` (name → str or bytes).

    The format is ember's, not TorchScript: :func:`ember.jit.load` reads it, ``torch.jit.load`` cannot. As in
    torch, a plain ``nn.Module`` has no ``save`` method (script or trace it first); its class must be importable.
    """
    _deprecated("save", "`torch.export`")
    if isinstance(f, (str, os.PathLike)):
        m.save(f, _extra_files=_extra_files)
    else:
        f.write(m.save_to_buffer(_extra_files=_extra_files))


def load(f: FileLike, map_location: Any = None, _extra_files: dict[str, Any] | None = None,
         _restore_shapes: bool = False) -> Any:
    """Load what :func:`ember.jit.save` wrote: a scripted/traced module that runs (in the training mode it was
    saved in) or a scripted function. ``map_location`` moves tensors as in :func:`ember.load`; the values of
    ``_extra_files`` are replaced by the saved contents (bytes; ``b''`` for a name not in the archive).

    A TorchScript file written by ``torch.jit.save`` raises RuntimeError: ember cannot execute TorchScript.
    """
    _deprecated("load", "`torch.export`")
    if isinstance(f, (str, os.PathLike)):
        if not os.path.exists(f):
            raise ValueError(f"The provided filename {f} does not exist")
        if os.path.isdir(f):
            raise ValueError(f"The provided filename {f} is a directory")
        with open(f, "rb") as fh:
            archive = _read(fh, os.fspath(f), map_location)
    else:
        seekable = getattr(f, "seekable", lambda: False)()
        archive = _read(f if seekable else io.BytesIO(f.read()), "the file", map_location)  # type: ignore[arg-type]
    if _extra_files is not None:
        for name in _extra_files:
            _extra_files[name] = archive.extra.get(name, b"")
    return archive.obj


def _read(fh: BinaryIO, what: str, map_location: Any) -> _Archive:
    start = fh.tell()
    if fh.read(4) != b"PK\x03\x04":
        raise RuntimeError(_NOT_JIT.format(what, " (it is not a zip archive)"))
    fh.seek(start)
    names = list(EntryReader(fh).infos)
    if any(n.endswith("/constants.pkl") or "/code/" in n for n in names):
        raise RuntimeError(_TORCHSCRIPT.format(what))
    fh.seek(start)
    try:
        archive = _load_zip(fh, None, _restorer(map_location), _unpickle)
    except _NotJitArchive:
        archive = None
    if not isinstance(archive, _Archive):
        raise RuntimeError(_NOT_JIT.format(what, " (a checkpoint written by torch.save or ember.save? read it with "
                                                 "ember.load)"))
    if not isinstance(archive.obj, (Module, ScriptFunction)):
        raise RuntimeError(_NOT_JIT.format(what, f" (it holds a {type(archive.obj).__name__})"))
    return archive
