"""File-system storage: a directory with one ``__{rank}_0.distcp`` file per rank and a ``.metadata`` file.

Every file is written to a temporary name and moved into place with ``os.replace``; ``.metadata`` is written
last, so an interrupted save never leaves a loadable checkpoint."""

from __future__ import annotations

import dataclasses
import importlib
import io
import os
import pickle
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..._core.atomic import atomic_write
from .metadata import Metadata, StorageMeta
from .planner import LoadItemType, LoadPlan, LoadPlanner, SavePlan, SavePlanner, WriteItemType, _narrow
from .storage import StorageReader, StorageWriter, WriteResult

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


@dataclass
class _StoragePrefix:
    prefix: str


def _done(value: Any) -> Any:
    from ...futures import Future
    fut: Future = Future()
    fut.set_result(value)
    return fut


def _valid_path(checkpoint_id: str | os.PathLike) -> bool:
    """A local path whose nearest existing parent is writable (not a URL)."""
    if ":/" in str(checkpoint_id):
        return False
    return any(p.exists() and os.access(p, os.W_OK) for p in Path(checkpoint_id).parents)


class FileSystemWriter(StorageWriter):
    """Writes a checkpoint into the directory ``path``: rank ``r`` writes ``__{r}_0.distcp`` (non-tensor items
    first, each item one ``save`` blob), the coordinator ``.metadata`` last."""

    def __init__(self, path: str | os.PathLike, single_file_per_rank: bool = True, sync_files: bool = True,
                 thread_count: int = 1, per_thread_copy_ahead: int = 10_000_000, cache_staged_state_dict: bool = False,
                 overwrite: bool = True) -> None:
        self.path = os.fspath(path)
        self.checkpoint_id = Path(path)
        self.save_id = str(uuid.uuid4())

    def reset(self, checkpoint_id: str | os.PathLike | None = None) -> None:
        if checkpoint_id is not None:
            self.path, self.checkpoint_id = os.fspath(checkpoint_id), Path(checkpoint_id)
        self.save_id = str(uuid.uuid4())

    def set_up_storage_writer(self, is_coordinator: bool, *args: Any, **kwargs: Any) -> None:
        self.is_coordinator = is_coordinator

    def storage_meta(self) -> StorageMeta | None:
        return StorageMeta(checkpoint_id=self.checkpoint_id, save_id=self.save_id)

    def prepare_local_plan(self, plan: SavePlan) -> SavePlan:
        os.makedirs(self.path, exist_ok=True)
        return plan

    def prepare_global_plan(self, plans: list[SavePlan]) -> list[SavePlan]:
        return [dataclasses.replace(p, storage_data=_StoragePrefix(f"__{i}_")) for i, p in enumerate(plans)]

    def write_data(self, plan: SavePlan, planner: SavePlanner) -> Any:
        """Write the plan's items into this rank's file; a completed Future of their ``WriteResult``s."""
        import ember
        prefix = plan.storage_data.prefix if isinstance(plan.storage_data, _StoragePrefix) else "__0_"
        name = f"{prefix}0.distcp"
        results: list[WriteResult] = []
        ordered = sorted(plan.items, key=lambda item: item.type is not WriteItemType.BYTE_IO)

        def write(f: Any) -> None:
            for item in ordered:
                data = planner.resolve_data(item)
                if isinstance(data, io.BytesIO):
                    blob = data.getvalue()
                else:
                    buf = io.BytesIO()
                    ember.save(data, buf)
                    blob = buf.getvalue()
                results.append(WriteResult(item.index, len(blob), _StorageInfo(name, f.tell(), len(blob))))
                f.write(blob)

        os.makedirs(self.path, exist_ok=True)
        atomic_write(os.path.join(self.path, name), write)
        return _done(results)

    def finish(self, metadata: Metadata, results: list[list[WriteResult]]) -> None:
        """Record where every item went and write ``.metadata`` (last)."""
        metadata.storage_data = {r.index: r.storage_data for rank in results for r in rank}
        atomic_write(os.path.join(self.path, _METADATA), lambda f: _dump_metadata(metadata, f))

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id: str | os.PathLike) -> bool:
        return _valid_path(checkpoint_id)


class FileSystemReader(StorageReader):
    """Reads a checkpoint from the directory ``path``."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        self._files: dict[str, bytes] = {}

    def reset(self, checkpoint_id: str | os.PathLike | None = None) -> None:
        if checkpoint_id is not None:
            self.path = os.fspath(checkpoint_id)
        self._files = {}

    def read_metadata(self, *args: Any, **kwargs: Any) -> Metadata:
        with open(os.path.join(self.path, _METADATA), "rb") as f:
            return _load_metadata(f)

    def set_up_storage_reader(self, metadata: Metadata, is_coordinator: bool, *args: Any, **kwargs: Any) -> None:
        self.storage_data = metadata.storage_data

    def prepare_local_plan(self, plan: LoadPlan) -> LoadPlan:
        return plan

    def prepare_global_plan(self, plans: list[LoadPlan]) -> list[LoadPlan]:
        return plans

    def _blob(self, info: _StorageInfo) -> bytes:
        if info.relative_path not in self._files:
            with open(os.path.join(self.path, info.relative_path), "rb") as f:
                self._files[info.relative_path] = f.read()
        return self._files[info.relative_path][info.offset:info.offset + info.length]

    def read_data(self, plan: LoadPlan, planner: LoadPlanner) -> Any:
        """Read each item of the plan into the planner; a completed Future."""
        import ember
        for item in plan.items:
            blob = self._blob(self.storage_data[item.storage_index])
            if item.type is LoadItemType.BYTE_IO:
                planner.load_bytes(item, io.BytesIO(blob))
                continue
            stored = _narrow(ember.load(io.BytesIO(blob), weights_only=False), item.storage_offsets, item.lengths)
            target = planner.resolve_tensor(item).detach()
            if tuple(target.shape) != tuple(stored.shape):
                raise AssertionError(f"req {item.storage_index} mismatch sizes {target.size()} vs {stored.size()}")
            target.copy_(stored)
            planner.commit_tensor(item, target)
        return _done(None)

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id: str | os.PathLike) -> bool:
        return _valid_path(checkpoint_id)
