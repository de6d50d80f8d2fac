"""File-system storage: a directory with one ``__{rank}_0.distcp`` file per rank and a ``.metadata`` file.

Every file is written to a temporary name and moved into place with ``os.replace``; ``.metadata`` is written
last, so an interrupted save never leaves a loadable checkpoint."""

from __future__ import annotations

import importlib
import io
import os
import pickle
from dataclasses import dataclass
from typing import Any

from ..._core.atomic import atomic_write
from .metadata import Metadata, MetadataIndex

_METADATA = ".metadata"


@dataclass
class _StorageInfo:
    """Where one item lies: the file (relative to the checkpoint) and the byte range of its ``save`` blob."""

    relative_path: str
    offset: int
    length: int
    transform_descriptors: Any = None


_TORCH = "torch.distributed.checkpoint"
_EMBER = "ember.distributed.checkpoint"


def _dump_metadata(metadata: Metadata, f: Any) -> None:
    """Pickle under torch's names (its classes, dtypes, sizes), so torch can read the metadata too."""
    from ...serialization import _Pickler

    class Pickler(_Pickler):
        def save_global(self, obj: Any, name: str | None = None) -> None:
            module = getattr(obj, "__module__", "")
            if module.startswith(_EMBER):
                self.write(pickle.GLOBAL + f"{_TORCH}{module[len(_EMBER):]}\n{obj.__qualname__}\n".encode())
                self.memoize(obj)
            else:
                super().save_global(obj, name)

    Pickler(f, 2).dump(metadata)


def _load_metadata(f: Any) -> Metadata:
    """Unpickle a ``.metadata`` written by ember or torch: torch's names mapped to ember's."""
    from ...serialization._globals import torch_globals

    class Unpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if module.startswith(_TORCH):
                return getattr(importlib.import_module(_EMBER + module[len(_TORCH):]), name)
            known = torch_globals().get(f"{module}.{name}")
            return known if known is not None else super().find_class(module, name)

    return Unpickler(f).load()


class FileSystemWriter:
    """Writes a checkpoint into the directory ``path``."""

    def __init__(self, path: str | os.PathLike, single_file_per_rank: bool = True, sync_files: bool = True,
                 thread_count: int = 1, per_thread_copy_ahead: int = 10_000_000, cache_staged_state_dict: bool = False,
                 overwrite: bool = True) -> None:
        self.path = os.fspath(path)

    def write_data(self, rank: int, items: dict[str, Any]) -> dict[MetadataIndex, _StorageInfo]:
        """Write this rank's items into ``__{rank}_0.distcp``; returns the storage data of each."""
        import ember
        os.makedirs(self.path, exist_ok=True)
        name = f"__{rank}_0.distcp"
        infos: dict[MetadataIndex, _StorageInfo] = {}

        def write(f: Any) -> None:
            for k, v in items.items():   # one save blob per item, back to back (torch's layout)
                buf = io.BytesIO()
                ember.save(v, buf)
                offset = ember.Size([0] * v.dim()) if isinstance(v, ember.Tensor) else None
                infos[MetadataIndex(k, offset, 0 if offset is not None else None)] = _StorageInfo(
                    name, f.tell(), buf.tell())
                f.write(buf.getvalue())

        atomic_write(os.path.join(self.path, name), write)
        return infos

    def finish(self, metadata: Metadata) -> None:
        """Write ``.metadata`` (last)."""
        atomic_write(os.path.join(self.path, _METADATA), lambda f: _dump_metadata(metadata, f))


class FileSystemReader:
    """Reads a checkpoint from the directory ``path``."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        self._files: dict[str, bytes] = {}

    def read_metadata(self) -> Metadata:
        with open(os.path.join(self.path, _METADATA), "rb") as f:
            return _load_metadata(f)

    def read(self, fqn: str, info: _StorageInfo) -> Any:
        """The stored value of ``fqn``."""
        import ember
        if info.relative_path not in self._files:
            with open(os.path.join(self.path, info.relative_path), "rb") as f:
                self._files[info.relative_path] = f.read()
        blob = self._files[info.relative_path][info.offset:info.offset + info.length]
        return ember.load(io.BytesIO(blob), weights_only=False)
