"""``save`` / ``async_save`` (and the deprecated ``save_state_dict``): each rank writes its file, the coordinator
(rank 0) writes ``.metadata`` last."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ..._core.warn import warn
from .api import CheckpointException
from .filesystem import FileSystemWriter
from .metadata import Metadata
from .planner import DefaultSavePlanner


def _rank_world(process_group: Any, action: str = "") -> tuple[int, int, bool]:
    """(rank, world size, whether distributed); warns as torch when ``action`` runs in a single process."""
    from .. import get_rank, get_world_size, is_available, is_initialized
    if is_available() and is_initialized():
        return get_rank(process_group), get_world_size(process_group), True
    if action:
        warn("torch.distributed is disabled, unavailable or uninitialized, assuming the intent is to "
             f"{action} in a single process.", UserWarning, stacklevel=3)
    return 0, 1, False


def _attempt(step: Callable[[], Any]) -> tuple[Any, Any]:
    """``(result, None)``, or ``(None, (exception, frames))`` when ``step`` raised."""
    try:
        return step(), None
    except Exception as e:
        return None, (e, traceback.extract_tb(e.__traceback__))


def _raise_failures(outcomes: list[tuple[Any, Any]]) -> None:
    failures = {r: f for r, (_, f) in enumerate(outcomes) if f is not None}
    if failures:
        raise CheckpointException(f"CheckpointException ranks:{list(failures)}", failures)


def plan_collectively(local: Callable[[], Any], central: Callable[[list[Any]], Any], rank: int, world: int,
                      distributed: bool, process_group: Any) -> Any:
    """torch's planning round: every rank makes its local plan, the coordinator turns them all into the global
    result (``central``), and every rank gets that back. A failure on any rank raises a CheckpointException
    naming each failed rank on every rank."""
    mine = _attempt(local)
    if not distributed:
        _raise_failures([mine])
        outcome = _attempt(lambda: central([mine[0]]))
        _raise_failures([outcome])
        return outcome[0]
    from .. import all_gather_object, broadcast_object_list
    outcomes: list[Any] = [None] * world
    all_gather_object(outcomes, mine, group=process_group)
    _raise_failures(outcomes)
    box = [_attempt(lambda: central([o[0] for o in outcomes])) if rank == 0 else None]
    broadcast_object_list(box, group=process_group, group_src=0)
    failure = box[0][1]
    if failure is not None:
        raise CheckpointException("CheckpointException ranks:[0]", {0: failure})
    return box[0][0]


def save(state_dict: dict[str, Any], *, checkpoint_id: str | os.PathLike | None = None, storage_writer: Any = None,
         planner: Any = None, process_group: Any = None, no_dist: bool = False) -> Metadata:
    """Save ``state_dict`` as a distributed checkpoint (collective when a process group is initialised), driving
    the planner and the storage writer through torch's protocol (see :class:`SavePlanner`,
    :class:`StorageWriter`)."""
    if storage_writer is None:
        if checkpoint_id is None:
            raise RuntimeError("`checkpoint_id` must be specified if storage_reader/storage_writer is None.")
        storage_writer = FileSystemWriter(checkpoint_id)
    elif checkpoint_id is not None:
        storage_writer.reset(checkpoint_id)
    planner = planner or DefaultSavePlanner()
    rank, world, distributed = _rank_world(process_group, "" if no_dist else "save")
    distributed = distributed and not no_dist
    coordinator = rank == 0 or not distributed
    planner.set_up_planner(state_dict, storage_writer.storage_meta(), coordinator)
    storage_writer.set_up_storage_writer(coordinator)

    def central(plans: list[Any]) -> tuple[list[Any], Metadata]:
        plans, metadata = planner.create_global_plan(plans)
        return storage_writer.prepare_global_plan(plans), metadata

    plans, metadata = plan_collectively(lambda: storage_writer.prepare_local_plan(planner.create_local_plan()),
                                        central, rank, world, distributed, process_group)
    final = planner.finish_plan(plans[rank if distributed else 0])
    results = storage_writer.write_data(final, planner).wait()
    if not distributed:
        storage_writer.finish(metadata, [results])
        return metadata
    from .. import all_gather_object, barrier, broadcast_object_list
    everyone: list[Any] = [None] * world
    all_gather_object(everyone, results, group=process_group)
    if coordinator:
        storage_writer.finish(metadata, everyone)
    box = [metadata]
    broadcast_object_list(box, group=process_group, group_src=0)   # every rank returns the written metadata
    barrier(group=process_group)
    return box[0]


def save_state_dict(state_dict: dict[str, Any], storage_writer: Any, process_group: Any = None,
                    coordinator_rank: int = 0, no_dist: bool = False, planner: Any = None) -> Metadata:
    """Deprecated: :func:`save` with an explicit storage writer."""
    warn("`save_state_dict` is deprecated and will be removed in future versions.Please use `save` instead.",
         FutureWarning, stacklevel=2)
    storage_writer.reset()
    return save(state_dict, storage_writer=storage_writer, planner=planner, process_group=process_group,
                no_dist=no_dist)


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
