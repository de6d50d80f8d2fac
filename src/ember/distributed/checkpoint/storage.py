"""The storage layer's interface (torch's ``StorageWriter`` / ``StorageReader``): ``save`` and ``load`` drive any
implementation through these calls, so a user's subclass stores checkpoints wherever it likes."""

from __future__ import annotations

import abc
import os
from dataclasses import dataclass
from typing import Any

from .metadata import Metadata, MetadataIndex, StorageMeta
from .planner import LoadPlan, LoadPlanner, SavePlan, SavePlanner

__all__ = ["WriteResult", "StorageWriter", "StorageReader"]


@dataclass(frozen=True)
class WriteResult:
    """What writing one item produced: its index, size and where the storage layer put it."""

    index: MetadataIndex
    size_in_bytes: int
    storage_data: Any


class StorageWriter(abc.ABC):
    """Writes a checkpoint. ``save`` calls, in order: ``reset`` (with the ``checkpoint_id`` it was given),
    ``storage_meta``, ``set_up_storage_writer``, ``prepare_local_plan`` on every rank, ``prepare_global_plan``
    on the coordinator, ``write_data`` on every rank, and ``finish`` on the coordinator with every rank's
    results."""

    @abc.abstractmethod
    def reset(self, checkpoint_id: str | os.PathLike | None = None) -> None:
        """Prepare for a new save (to ``checkpoint_id`` when given)."""

    @abc.abstractmethod
    def set_up_storage_writer(self, is_coordinator: bool, *args: Any, **kwargs: Any) -> None:
        """Called once before planning; ``is_coordinator`` says whether this rank writes the metadata."""

    @abc.abstractmethod
    def prepare_local_plan(self, plan: SavePlan) -> SavePlan:
        """Adjust this rank's plan (e.g. add storage data)."""

    @abc.abstractmethod
    def prepare_global_plan(self, plans: list[SavePlan]) -> list[SavePlan]:
        """On the coordinator: adjust every rank's plan (e.g. give each a file prefix)."""

    @abc.abstractmethod
    def write_data(self, plan: SavePlan, planner: SavePlanner) -> Any:
        """Write the items of ``plan`` (their data from ``planner.resolve_data``); a Future of the
        ``WriteResult`` list."""

    @abc.abstractmethod
    def finish(self, metadata: Metadata, results: list[list[WriteResult]]) -> None:
        """On the coordinator, after every rank wrote: record where everything went and the metadata."""

    @classmethod
    @abc.abstractmethod
    def validate_checkpoint_id(cls, checkpoint_id: str | os.PathLike) -> bool:
        """Whether this storage can handle ``checkpoint_id``."""

    def storage_meta(self) -> StorageMeta | None:
        """What the planner records about this save (None: nothing)."""
        return None


class StorageReader(abc.ABC):
    """Reads a checkpoint. ``load`` calls ``reset``, ``read_metadata``, ``set_up_storage_reader``,
    ``prepare_local_plan`` on every rank, ``prepare_global_plan`` on the coordinator, then ``read_data``."""

    @abc.abstractmethod
    def reset(self, checkpoint_id: str | os.PathLike | None = None) -> None:
        """Prepare for a new load (from ``checkpoint_id`` when given)."""

    @abc.abstractmethod
    def read_metadata(self, *args: Any, **kwargs: Any) -> Metadata:
        """The checkpoint's metadata."""

    @abc.abstractmethod
    def set_up_storage_reader(self, metadata: Metadata, is_coordinator: bool, *args: Any, **kwargs: Any) -> None:
        """Called once with the metadata before planning."""

    @abc.abstractmethod
    def prepare_local_plan(self, plan: LoadPlan) -> LoadPlan:
        """Adjust this rank's plan."""

    @abc.abstractmethod
    def prepare_global_plan(self, plans: list[LoadPlan]) -> list[LoadPlan]:
        """On the coordinator: adjust every rank's plan."""

    @abc.abstractmethod
    def read_data(self, plan: LoadPlan, planner: LoadPlanner) -> Any:
        """Read the items of ``plan`` into the planner (``load_bytes``, or ``resolve_tensor`` then
        ``commit_tensor``); a Future completed once all are read."""

    @classmethod
    @abc.abstractmethod
    def validate_checkpoint_id(cls, checkpoint_id: str | os.PathLike) -> bool:
        """Whether this storage can handle ``checkpoint_id``."""
