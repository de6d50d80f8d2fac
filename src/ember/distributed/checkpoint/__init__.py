"""ember.distributed.checkpoint: distributed checkpoints (DCP) as torch's — a directory of per-rank
``__{rank}_0.distcp`` files and a ``.metadata`` file, saved and loaded collectively or in one process."""

from __future__ import annotations

from . import format_utils, state_dict, state_dict_loader, state_dict_saver
from .api import CheckpointException
from .filesystem import FileSystemReader, FileSystemWriter
from .metadata import (
    BytesStorageMetadata,
    ChunkStorageMetadata,
    Metadata,
    MetadataIndex,
    StorageMeta,
    TensorProperties,
    TensorStorageMetadata,
)
from .planner import DefaultLoadPlanner, DefaultSavePlanner
from .state_dict_loader import load
from .state_dict_saver import async_save, save
from .stateful import Stateful

__all__ = [
    "BytesStorageMetadata", "CheckpointException", "ChunkStorageMetadata", "DefaultLoadPlanner", "DefaultSavePlanner",
    "FileSystemReader", "FileSystemWriter", "Metadata", "MetadataIndex", "Stateful", "StorageMeta", "TensorProperties",
    "TensorStorageMetadata", "async_save", "format_utils", "load", "save", "state_dict", "state_dict_loader",
    "state_dict_saver",
]
