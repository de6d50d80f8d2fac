"""Checkpoint metadata: what a DCP checkpoint holds (names, shapes, dtypes) and where each item is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ChunkStorageMetadata:
    """One stored chunk of a tensor: its offsets within the full tensor and its sizes."""

    offsets: Any
    sizes: Any


@dataclass
class TensorProperties:
    """Properties of a saved tensor."""

    dtype: Any = None
    layout: Any = None
    requires_grad: bool = False
    memory_format: Any = None
    pin_memory: bool = False


@dataclass
class TensorStorageMetadata:
    """A saved tensor: its properties, full size and the chunks it was stored as."""

    properties: TensorProperties
    size: Any
    chunks: list[ChunkStorageMetadata]


@dataclass
class BytesStorageMetadata:
    """A saved non-tensor object (pickled)."""


@dataclass(frozen=True)
class MetadataIndex:
    """Names one stored item: its fully qualified name and, for tensors, the chunk's offset."""

    fqn: str
    offset: Any = None
    index: int | None = field(default=None, hash=False, compare=False)


@dataclass
class Metadata:
    """The ``.metadata`` file's content: ``state_dict_metadata`` (fqn -> tensor/bytes metadata), the planner's
    data (flattening mappings) and the storage layer's data (item -> file)."""

    state_dict_metadata: dict[str, TensorStorageMetadata | BytesStorageMetadata]
    planner_data: Any = None
    storage_data: Any = None
