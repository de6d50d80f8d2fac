"""File-system storage: a directory with one ``__{rank}_0.distcp`` file per rank and a ``.metadata`` file.

Every file is written to a temporary name and moved into place with ``os.replace``; ``.metadata`` is written
last, so an interrupted save never leaves a loadable checkpoint."""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from typing import Any

from .metadata import Metadata, MetadataIndex

_METADATA = ".metadata"


@dataclass
class _StorageInfo:
    """Where one item lies: the file (relative to the checkpoint) and its key in it."""

    relative_path: str
    offset: int
    length: int


def _atomic_write(path: str, write: Any) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


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
        _atomic_write(os.path.join(self.path, name), lambda f: ember.save(items, f))
        return {MetadataIndex(k): _StorageInfo(name, i, 1) for i, k in enumerate(items)}

    def finish(self, metadata: Metadata) -> None:
        """Write ``.metadata`` (last)."""
        _atomic_write(os.path.join(self.path, _METADATA), lambda f: pickle.dump(metadata, f))


class FileSystemReader:
    """Reads a checkpoint from the directory ``path``."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        self._files: dict[str, dict[str, Any]] = {}

    def read_metadata(self) -> Metadata:
        with open(os.path.join(self.path, _METADATA), "rb") as f:
            return pickle.load(f)

    def read(self, fqn: str, info: _StorageInfo) -> Any:
        """The stored value of ``fqn``."""
        import ember
        if info.relative_path not in self._files:
            self._files[info.relative_path] = ember.load(os.path.join(self.path, info.relative_path),
                                                         weights_only=False)
        return self._files[info.relative_path][fqn]
