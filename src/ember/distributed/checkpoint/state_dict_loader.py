"""``load``: read a distributed checkpoint into ``state_dict`` in place (any number of ranks may read it)."""

from __future__ import annotations

import os
from typing import Any

from .api import wrap_failure
from .filesystem import FileSystemReader
from .planner import DefaultLoadPlanner, _is_tensor
from .state_dict_saver import _rank_world
from .stateful import Stateful


def load(state_dict: dict[str, Any], *, checkpoint_id: str | os.PathLike | None = None, storage_reader: Any = None,
         planner: Any = None, process_group: Any = None, no_dist: bool = False) -> None:
    """Load the checkpoint into ``state_dict``: tensors copied in place, Stateful values loaded through
    ``load_state_dict``, other values replaced."""
    if storage_reader is None:
        if checkpoint_id is None:
            raise RuntimeError("`checkpoint_id` must be specified if storage_reader/storage_writer is None.")
        storage_reader = FileSystemReader(checkpoint_id)
    planner = planner or DefaultLoadPlanner()
    statefuls = {k: v for k, v in state_dict.items() if isinstance(v, Stateful) and not _is_tensor(v)}
    work = {k: (v.state_dict() if k in statefuls else v) for k, v in state_dict.items()}
    rank = _rank_world(process_group, "" if no_dist else "load")[0]
    metadata = storage_reader.read_metadata()
    planner.set_up_planner(work, metadata)
    try:
        fqns = planner.items()
    except Exception as e:
        raise wrap_failure(rank, e) from None
    by_fqn = {index.fqn: info for index, info in metadata.storage_data.items()}
    for fqn in fqns:
        planner.set_item(fqn, storage_reader.read(fqn, by_fqn[fqn]))
    for k, obj in statefuls.items():
        obj.load_state_dict(work[k])
    for k in state_dict:
        if k not in statefuls:
            state_dict[k] = work[k]
