"""``load`` (and the deprecated ``load_state_dict``): read a distributed checkpoint into ``state_dict`` in place
(any number of ranks may read it)."""

from __future__ import annotations

import os
from typing import Any

from ..._core.warn import warn
from .filesystem import FileSystemReader
from .planner import DefaultLoadPlanner, _is_tensor
from .state_dict_saver import _rank_world, plan_collectively
from .stateful import Stateful


def load(state_dict: dict[str, Any], *, checkpoint_id: str | os.PathLike | None = None, storage_reader: Any = None,
         planner: Any = None, process_group: Any = None, no_dist: bool = False) -> None:
    """Load the checkpoint into ``state_dict``: tensors copied in place, Stateful values loaded through
    ``load_state_dict``, other values replaced; the planner and the storage reader are driven through torch's
    protocol (see :class:`LoadPlanner`, :class:`StorageReader`)."""
    if storage_reader is None:
        if checkpoint_id is None:
            raise RuntimeError("`checkpoint_id` must be specified if storage_reader/storage_writer is None.")
        storage_reader = FileSystemReader(checkpoint_id)
    elif checkpoint_id is not None:
        storage_reader.reset(checkpoint_id)
    planner = planner or DefaultLoadPlanner()
    statefuls = {k: v for k, v in state_dict.items() if isinstance(v, Stateful) and not _is_tensor(v)}
    work = {k: (v.state_dict() if k in statefuls else v) for k, v in state_dict.items()}
    rank, world, distributed = _rank_world(process_group, "" if no_dist else "load")
    distributed = distributed and not no_dist
    coordinator = rank == 0 or not distributed
    metadata = storage_reader.read_metadata()
    planner.set_up_planner(work, metadata, coordinator)
    storage_reader.set_up_storage_reader(metadata, coordinator)
    plans = plan_collectively(lambda: storage_reader.prepare_local_plan(planner.create_local_plan()),
                              lambda plans: storage_reader.prepare_global_plan(planner.create_global_plan(plans)),
                              rank, world, distributed, process_group)
    storage_reader.read_data(planner.finish_plan(plans[rank if distributed else 0]), planner).wait()
    for k, obj in statefuls.items():
        obj.load_state_dict(work[k])
    for k in state_dict:
        if k not in statefuls:
            state_dict[k] = work[k]


def load_state_dict(state_dict: dict[str, Any], storage_reader: Any, process_group: Any = None,
                    coordinator_rank: int = 0, no_dist: bool = False, planner: Any = None) -> None:
    """Deprecated: :func:`load` with an explicit storage reader."""
    warn("`load_state_dict` is deprecated and will be removed in future versions. Please use `load` "
         "instead.", FutureWarning, stacklevel=2)
    storage_reader.reset()
    load(state_dict, storage_reader=storage_reader, planner=planner, process_group=process_group, no_dist=no_dist)
