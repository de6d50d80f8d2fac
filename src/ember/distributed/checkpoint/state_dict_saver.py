"""``save`` / ``async_save``: each rank writes its file, the coordinator (rank 0) writes ``.metadata`` last."""

from __future__ import annotations

import os
import uuid
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from .filesystem import FileSystemWriter
from .metadata import Metadata, StorageMeta
from .planner import DefaultSavePlanner


def _rank_world(process_group: Any, action: str = "") -> tuple[int, int, bool]:
    """(rank, world size, whether distributed); warns as torch when ``action`` runs in a single process."""
    from .. import get_rank, get_world_size, is_available, is_initialized
    if is_available() and is_initialized():
        return get_rank(process_group), get_world_size(process_group), True
    if action:
        warnings.warn("torch.distributed is disabled, unavailable or uninitialized, assuming the intent is to "
                      f"{action} in a single process.", UserWarning, stacklevel=3)
    return 0, 1, False


def save(state_dict: dict[str, Any], *, checkpoint_id: str | os.PathLike | None = None, storage_writer: Any = None,
         planner: Any = None, process_group: Any = None, no_dist: bool = False) -> Metadata:
    """Save ``state_dict`` as a distributed checkpoint (collective when a process group is initialised)."""
    if storage_writer is None:
        if checkpoint_id is None:
            raise RuntimeError("`checkpoint_id` must be specified if storage_reader/storage_writer is None.")
        storage_writer = FileSystemWriter(checkpoint_id)
    planner = planner or DefaultSavePlanner()
    rank, world, distributed = _rank_world(process_group, "" if no_dist else "save")
    distributed = distributed and not no_dist
    planner.set_up_planner(state_dict, is_coordinator=rank == 0 or not distributed)
    storage = storage_writer.write_data(rank if distributed else 0, planner.local_items())
    if distributed:
        from .. import all_gather_object, barrier
        parts: list[Any] = [None] * world
        all_gather_object(parts, storage, group=process_group)
        storage = {k: v for p in parts for k, v in p.items()}
    metadata = planner.metadata(storage)
    metadata.storage_meta = StorageMeta(checkpoint_id=checkpoint_id, save_id=str(uuid.uuid4()))
    if rank == 0 or not distributed:
        storage_writer.finish(metadata)
    if distributed:
        barrier(group=process_group)
    return metadata


_executor: ThreadPoolExecutor | None = None


def async_save(state_dict: dict[str, Any], *, checkpoint_id: str | os.PathLike | None = None,
               storage_writer: Any = None, planner: Any = None, process_group: Any = None) -> Future:
    """Stage (copy) the state dict now and save it in a background thread; returns a Future of the metadata."""
    global _executor
    from .planner import _is_tensor, flatten_state_dict, resolve_stateful, set_element
    flat, mapping = flatten_state_dict(resolve_stateful(state_dict))
    staged: dict[str, Any] = {}
    for fqn, v in flat.items():
        path = mapping[fqn]
        cur = staged
        for p in path[:-1]:
            cur = cur.setdefault(p, {})
        set_element(staged, path, v.detach().clone() if _is_tensor(v) else v)
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ember_dcp_async")
    return _executor.submit(save, staged, checkpoint_id=checkpoint_id, storage_writer=storage_writer,
                            planner=planner, process_group=process_group)
