"""Save / load planners (torch's interface, its plan dataclasses and the default planners): flatten a nested state
dict into fully qualified names, plan the items written or read, and put read values back."""

from __future__ import annotations

import abc
import io
import math
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar

from .metadata import (
    BytesStorageMetadata,
    ChunkStorageMetadata,
    Metadata,
    MetadataIndex,
    StorageMeta,
    TensorProperties,
    TensorStorageMetadata,
)
from .stateful import Stateful

__all__ = ["WriteItemType", "LoadItemType", "BytesIOWriteData", "TensorWriteData", "WriteItem", "ReadItem", "SavePlan",
           "LoadPlan", "SavePlanner", "LoadPlanner", "DefaultSavePlanner", "DefaultLoadPlanner"]

Path = tuple[Any, ...]


def _is_tensor(v: Any) -> bool:
    from ember import Tensor
    return isinstance(v, Tensor)


def flatten_state_dict(state_dict: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Path]]:
    """Nested dicts / lists to ``{"a.b.0": leaf}`` and the mapping fqn -> path of keys (as torch's)."""
    flat: dict[str, Any] = {}
    mapping: dict[str, Path] = {}

    def visit(v: Any, path: Path) -> None:
        if isinstance(v, dict) and v:
            for k, x in v.items():
                visit(x, (*path, k))
        elif isinstance(v, list) and v and all(isinstance(x, dict | list) or _is_tensor(x) for x in v):
            for i, x in enumerate(v):
                visit(x, (*path, i))
        else:
            fqn = ".".join(str(p) for p in path)
            flat[fqn] = v
            mapping[fqn] = path

    for k, v in state_dict.items():
        visit(v, (k,))
    return flat, mapping


def set_element(root: dict[str, Any], path: Path, value: Any) -> None:
    """Put ``value`` at ``path`` in the nested container ``root``."""
    cur: Any = root
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value


def resolve_stateful(state_dict: dict[str, Any]) -> dict[str, Any]:
    """Top-level Stateful objects replaced by their state dicts."""
    return {k: v.state_dict() if isinstance(v, Stateful) and not _is_tensor(v) else v for k, v in state_dict.items()}


class WriteItemType(Enum):
    TENSOR = 1
    SHARD = 2
    BYTE_IO = 3


class LoadItemType(Enum):
    TENSOR = 1
    BYTE_IO = 2


@dataclass(frozen=True)
class BytesIOWriteData:
    nbytes: int


@dataclass(frozen=True)
class TensorWriteData:
    """A tensor item's stored chunk, properties and full size."""

    chunk: ChunkStorageMetadata
    properties: TensorProperties
    size: Any


@dataclass(frozen=True)
class WriteItem:
    """One item a rank writes: its index and, for tensors, what it holds."""

    index: MetadataIndex
    type: WriteItemType
    bytes_io_data: BytesIOWriteData | None = None
    tensor_data: TensorWriteData | None = None

    def tensor_storage_size(self) -> int | None:
        """The bytes of the chunk a tensor item stores (None for other items)."""
        if self.tensor_data is None:
            return None
        return math.prod(self.tensor_data.chunk.sizes) * self.tensor_data.properties.dtype.itemsize


@dataclass(frozen=True)
class ReadItem:
    """One read: ``lengths`` elements from ``storage_offsets`` of the stored chunk ``storage_index`` into
    ``dest_offsets`` of the state dict's item ``dest_index``."""

    type: LoadItemType
    dest_index: MetadataIndex
    dest_offsets: Any
    storage_index: MetadataIndex
    storage_offsets: Any
    lengths: Any


@dataclass(frozen=True)
class SavePlan:
    items: list[WriteItem]
    storage_data: Any = None
    planner_data: Any = None
    usable: bool = True


@dataclass
class LoadPlan:
    items: list[ReadItem]
    storage_data: Any = None
    planner_data: Any = None


class SavePlanner(abc.ABC):
    """Decides what a save writes. ``save`` calls ``set_up_planner`` and ``create_local_plan`` on every rank,
    ``create_global_plan`` on the coordinator (which also returns the checkpoint's metadata), ``finish_plan``
    on every rank with its part of the global plan, and ``resolve_data`` for each item the storage writes."""

    _cached_save_plan: ClassVar[dict[str, SavePlan]] = {}
    _cached_final_save_plan: ClassVar[dict[str, SavePlan]] = {}
    _cached_all_plans: ClassVar[dict[str, list[SavePlan]]] = {}
    _cached_global_plan: ClassVar[dict[str, list[SavePlan]]] = {}
    _cached_metadata: ClassVar[dict[str, Metadata]] = {}

    @abc.abstractmethod
    def set_up_planner(self, state_dict: dict[str, Any], storage_meta: StorageMeta | None = None,
                       is_coordinator: bool = False) -> None:
        """Take the state dict to save."""

    @abc.abstractmethod
    def create_local_plan(self) -> SavePlan:
        """The items this rank offers to write."""

    @abc.abstractmethod
    def create_global_plan(self, all_plans: list[SavePlan]) -> tuple[list[SavePlan], Metadata]:
        """On the coordinator: every rank's final plan and the checkpoint's metadata."""

    @abc.abstractmethod
    def finish_plan(self, new_plan: SavePlan) -> SavePlan:
        """This rank's plan as the coordinator decided it."""

    @abc.abstractmethod
    def resolve_data(self, write_item: WriteItem) -> Any:
        """The data of one item: a tensor, or a BytesIO holding a non-tensor's serialized form."""


class LoadPlanner:
    """Decides what a load reads and where it goes. ``load`` calls ``set_up_planner``, ``create_local_plan``,
    ``create_global_plan`` (coordinator), ``finish_plan``; the storage reader then calls ``load_bytes`` for
    each non-tensor and ``resolve_tensor`` / ``commit_tensor`` around each tensor it copies."""

    @abc.abstractmethod
    def set_up_planner(self, state_dict: dict[str, Any], metadata: Metadata | None = None,
                       is_coordinator: bool = False) -> None:
        """Take the state dict to load into and the checkpoint's metadata."""

    @abc.abstractmethod
    def create_local_plan(self) -> LoadPlan:
        """The reads this rank needs."""

    @abc.abstractmethod
    def create_global_plan(self, global_plan: list[LoadPlan]) -> list[LoadPlan]:
        """On the coordinator: every rank's final plan."""

    @abc.abstractmethod
    def finish_plan(self, central_plan: LoadPlan) -> LoadPlan:
        """This rank's plan as the coordinator decided it."""

    @abc.abstractmethod
    def load_bytes(self, read_item: ReadItem, value: io.BytesIO) -> None:
        """Load one non-tensor item from its serialized form."""

    def resolve_bytes(self, read_item: ReadItem) -> io.BytesIO:
        """The buffer a bytes item is read into."""
        raise NotImplementedError("LoadPlanner.resolve_bytes is not implemented")

    @abc.abstractmethod
    def resolve_tensor(self, read_item: ReadItem) -> Any:
        """The tensor (a view of the destination) the read's data is copied into."""

    @abc.abstractmethod
    def commit_tensor(self, read_item: ReadItem, tensor: Any) -> None:
        """Called once the data of ``read_item`` was copied into ``tensor``."""


def _narrow(t: Any, offsets: Any, lengths: Any) -> Any:
    for d, (o, n) in enumerate(zip(offsets, lengths, strict=True)):
        if o != 0 or n != t.shape[d]:
            t = t.narrow(d, o, n)
    return t


def _write_item(fqn: str, v: Any) -> WriteItem:
    """The write item of one flattened entry (a whole tensor is one chunk at offset 0)."""
    import ember
    if not _is_tensor(v):
        return WriteItem(MetadataIndex(fqn), WriteItemType.BYTE_IO)
    zeros = ember.Size([0] * v.dim())
    props = TensorProperties(dtype=v.dtype, layout=v.layout, requires_grad=v.requires_grad,
                             memory_format=ember.contiguous_format, pin_memory=False)
    return WriteItem(MetadataIndex(fqn, zeros, 0), WriteItemType.TENSOR,
                     tensor_data=TensorWriteData(ChunkStorageMetadata(zeros, v.size()), props, v.size()))


class DefaultSavePlanner(SavePlanner):
    """Flattens the state dict; the coordinator (rank 0) writes replicated items, so each is stored once."""

    def __init__(self, flatten_state_dict: bool = True, flatten_sharded_tensors: bool = True,
                 dedup_replicated_tensors: bool | None = None, dedup_save_to_lowest_rank: bool = False,
                 enable_plan_caching: bool = False) -> None:
        self.flatten_state_dict = flatten_state_dict

    def set_up_planner(self, state_dict: dict[str, Any], storage_meta: StorageMeta | None = None,
                       is_coordinator: bool = False) -> None:
        self.is_coordinator = is_coordinator
        self.storage_meta = storage_meta
        self.state_dict, self.mappings = flatten_state_dict(resolve_stateful(state_dict))

    def create_local_plan(self) -> SavePlan:
        self.plan = SavePlan([_write_item(k, v) for k, v in self.state_dict.items()] if self.is_coordinator else [],
                             planner_data=self.mappings)
        return self.plan

    def create_global_plan(self, all_plans: list[SavePlan]) -> tuple[list[SavePlan], Metadata]:
        entries: dict[str, TensorStorageMetadata | BytesStorageMetadata] = {}
        mappings: dict[str, Path] = {}
        for plan in all_plans:
            mappings.update(plan.planner_data or {})
            for item in plan.items:
                td = item.tensor_data
                entries[item.index.fqn] = BytesStorageMetadata() if td is None else \
                    TensorStorageMetadata(td.properties, td.size, [td.chunk])
        self.metadata = Metadata(entries, mappings, storage_meta=self.storage_meta)
        return all_plans, self.metadata

    def finish_plan(self, new_plan: SavePlan) -> SavePlan:
        self.plan = new_plan
        return new_plan

    def resolve_data(self, write_item: WriteItem) -> Any:
        obj = self.state_dict[write_item.index.fqn]
        if _is_tensor(obj):
            return obj.detach()
        import ember
        buf = io.BytesIO()
        ember.save(obj, buf)
        buf.seek(0)
        return buf


class DefaultLoadPlanner(LoadPlanner):
    """Matches the flattened state dict to the checkpoint's metadata; missing keys are errors unless
    ``allow_partial_load``. Tensors are filled in place, chunk by chunk; other values are replaced."""

    def __init__(self, flatten_state_dict: bool = True, flatten_sharded_tensors: bool = True,
                 allow_partial_load: bool = False) -> None:
        self.allow_partial_load = allow_partial_load

    def set_up_planner(self, state_dict: dict[str, Any], metadata: Metadata | None = None,
                       is_coordinator: bool = False) -> None:
        self.original = state_dict
        self.state_dict, self.mappings = flatten_state_dict(state_dict)
        self.metadata = metadata
        self.is_coordinator = is_coordinator

    def create_local_plan(self) -> LoadPlan:
        import ember
        assert self.metadata is not None
        items = []
        for fqn, v in self.state_dict.items():
            md = self.metadata.state_dict_metadata.get(fqn)
            if md is None:
                if self.allow_partial_load:
                    continue
                raise RuntimeError(f"Missing key in checkpoint state_dict: {fqn}.")
            if isinstance(md, BytesStorageMetadata):
                zero = ember.Size([0])
                items.append(ReadItem(LoadItemType.BYTE_IO, MetadataIndex(fqn), zero, MetadataIndex(fqn), zero, zero))
                continue
            if _is_tensor(v) and tuple(md.size) != tuple(v.shape):
                raise ValueError(f"Size mismatch between saved {md.size} and current: {v.size()} for {fqn}")
            for i, chunk in enumerate(md.chunks):
                index = MetadataIndex(fqn, chunk.offsets, i)
                items.append(ReadItem(LoadItemType.TENSOR, index, chunk.offsets, index,
                                      ember.Size([0] * len(chunk.sizes)), chunk.sizes))
        return LoadPlan(items)

    def create_global_plan(self, global_plan: list[LoadPlan]) -> list[LoadPlan]:
        return global_plan

    def finish_plan(self, central_plan: LoadPlan) -> LoadPlan:
        return central_plan

    def load_bytes(self, read_item: ReadItem, value: io.BytesIO) -> None:
        import ember
        fqn = read_item.dest_index.fqn
        set_element(self.original, self.mappings[fqn], ember.load(value, weights_only=False))

    def resolve_tensor(self, read_item: ReadItem) -> Any:
        return _narrow(self.state_dict[read_item.dest_index.fqn], read_item.dest_offsets, read_item.lengths)

    def commit_tensor(self, read_item: ReadItem, tensor: Any) -> None:
        pass
