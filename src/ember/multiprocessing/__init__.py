"""``ember.multiprocessing`` (torch.multiprocessing): the standard :mod:`multiprocessing` API, with tensors and
storages crossing process boundaries as shared memory instead of copies.

Everything of :mod:`multiprocessing` is re-exported. Importing this package registers ember's reductions with
multiprocessing's pickler, so a CPU tensor put on a ``Queue``, sent through a ``Pipe`` or passed to a spawned
``Process`` is moved into shared memory (``Tensor.share_memory_``) and received as a view of the same memory:
in-place updates are seen by every process (Hogwild training). :func:`spawn` runs a function in several
processes and reports their failures.
"""

from __future__ import annotations

import multiprocessing
import sys
from multiprocessing import *  # noqa: F403
from multiprocessing import resource_tracker

from . import _shm
from .reductions import init_reductions
from .spawn import (
    ENV_VAR_PARALLEL_START,
    ProcessContext,
    ProcessExitedException,
    ProcessRaisedException,
    SpawnContext,
    spawn,
    start_processes,
)

__all__ = ["ENV_VAR_PARALLEL_START", "set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies",
           "spawn", "start_processes", "ProcessContext", "ProcessRaisedException", "ProcessExitedException",
           "SpawnContext", *multiprocessing.__all__]

_all_sharing_strategies = {"file_descriptor", "file_system"} if sys.platform.startswith("linux") else {"file_system"}
if "file_descriptor" not in _all_sharing_strategies:
    _shm.STRATEGY[0] = "file_system"


def set_sharing_strategy(new_strategy: str) -> None:
    """Choose how CPU tensors are shared: one of :func:`get_all_sharing_strategies`."""
    if new_strategy not in _all_sharing_strategies:
        raise AssertionError(f"invalid sharing strategy {new_strategy!r}, expected one of {_all_sharing_strategies}")
    if new_strategy == "file_system":   # one tracker of segment names, inherited by the processes forked from now on
        resource_tracker.ensure_running()
    _shm.STRATEGY[0] = new_strategy


def get_sharing_strategy() -> str:
    """The current strategy for sharing CPU tensors ('file_descriptor' by default on Linux)."""
    return _shm.STRATEGY[0]


def get_all_sharing_strategies() -> set[str]:
    """The sharing strategies this system supports."""
    return _all_sharing_strategies


init_reductions()
