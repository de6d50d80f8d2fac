"""ember.distributed.checkpoint: distributed checkpoints (DCP) as torch's — a directory of per-rank
``__{rank}_0.distcp`` files and a ``.metadata`` file, saved and loaded collectively or in one process."""

from __future__ import annotations

from . import (
    default_planner,
    filesystem,
    format_utils,
    planner,
    state_dict,
    state_dict_loader,
    state_dict_saver,
    storage,
)
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
from .planner import (
    DefaultLoadPlanner,
    DefaultSavePlanner,
    LoadPlan,
    LoadPlanner,
    ReadItem,
    SavePlan,
    SavePlanner,
    WriteItem,
)
from .state_dict_loader import load, load_state_dict
from .state_dict_saver import async_save, save, save_state_dict
from .stateful import Stateful
from .storage import StorageReader, StorageWriter

__all__ = [
    "BytesStorageMetadata", "CheckpointException", "ChunkStorageMetadata", "DefaultLoadPlanner", "DefaultSavePlanner",
    "FileSystemReader", "FileSystemWriter", "Metadata", "MetadataIndex", "Stateful", "StorageMeta", "TensorProperties",
    "TensorStorageMetadata", "async_save", "format_utils", "load", "save", "state_dict", "state_dict_loader",
    "state_dict_saver", "LoadPlan", "LoadPlanner", "ReadItem", "SavePlan", "SavePlanner", "StorageReader",
    "StorageWriter", "WriteItem", "load_state_dict", "save_state_dict", "default_planner", "filesystem", "planner",
    "storage",
]
