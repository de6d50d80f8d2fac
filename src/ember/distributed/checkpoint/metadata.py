"""Checkpoint metadata: what a DCP checkpoint holds (names, shapes, dtypes) and where each item is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


@dataclass
class ChunkStorageMetadata:
    """One stored chunk of a tensor: its offsets within the full tensor and its sizes."""

    offsets: Any
    sizes: Any


class _MEM_FORMAT_ENCODING(Enum):  # noqa: N801 (torch's name, pickled in the metadata)
    """How a memory format is pickled (memory formats themselves are not picklable)."""

    TORCH_CONTIGUOUS_FORMAT = 0
    TORCH_CHANNELS_LAST = 1
    TORCH_PRESERVE_FORMAT = 2


def _formats() -> list[Any]:
    import ember
    return [ember.contiguous_format, ember.channels_last, ember.preserve_format]


@dataclass
class TensorProperties:
    """Properties of a saved tensor."""

    dtype: Any = None
    layout: Any = None
    requires_grad: bool = False
    memory_format: Any = None
    pin_memory: bool = False

    def __getstate__(self) -> tuple:
        code = _MEM_FORMAT_ENCODING(_formats().index(self.memory_format))
        return (self.dtype, self.layout, self.requires_grad, code, self.pin_memory)

    def __setstate__(self, state: tuple) -> None:
        self.dtype, self.layout, self.requires_grad, code, self.pin_memory = state
        self.memory_format = _formats()[code.value]


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
    storage_meta: Any = None
    version: str = "1.0.0"


@dataclass
class StorageMeta:
    """Which checkpoint a save / load used (torch records it in the metadata)."""

    checkpoint_id: Any = None
    save_id: str | None = None
    load_id: str | None = None
    modules: list[str] = field(default_factory=list)
