"""``swap_in_optimizer_params_and_state``: run optimizer APIs against other parameter tensors and another
``state_dict()``-shaped state for the length of a ``with`` block, leaving the live optimizer as it was."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from .._tensor import Tensor

__all__ = ["swap_in_optimizer_params_and_state"]

_API = "swap_in_optimizer_params_and_state"


def _checked_state(state: Any) -> dict[Any, Any]:
    """``swapin_optim_state['state']``: per-parameter dicts keyed by packed integer ids."""
    if not isinstance(state, dict):
        raise RuntimeError(f"{_API} requires swapin_optim_state['state'] to be a dict mapping packed parameter ids "
                           f"to per-param state dicts, got {type(state).__name__}.")
    if any(isinstance(k, Tensor) for k in state):
        raise RuntimeError(f"{_API} requires optimizer.state_dict()-style state keyed by packed parameter ids.")
    if any(isinstance(k, int) and not isinstance(v, dict) for k, v in state.items()):
        raise RuntimeError(f"{_API} requires per-parameter optimizer state entries to be dictionaries.")
    return state


def _checked_group_ids(index: int, live: dict[str, Any], group: Any) -> list[int]:
    """The packed parameter ids of swap-in group ``index``, once its shape matches the live group's."""
    if not isinstance(group, dict):
        raise RuntimeError(f"{_API} requires each optimizer param group to be a dictionary.")
    ids = group.get("params")
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise RuntimeError(f"{_API} requires optimizer.state_dict()-style param_groups[*]['params'] entries keyed "
                           "by packed parameter ids.")
    if len(live["params"]) != len(ids):
        raise RuntimeError(f"swapin_optim_state param group {index} has a different number of params than the live "
                           "optimizer param group.")
    only_swapin = [k for k in group if k not in live]
    only_live = [k for k in live if k not in group]
    if only_swapin or only_live:
        raise RuntimeError(f"{_API} requires optimizer.state_dict()-style param group keys to exactly match the live "
                           f"optimizer group keys for group {index}. Keys only in swap-in: {only_swapin}. Keys only "
                           f"in live: {only_live}.")
    return ids


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(optimizer: Any, swapin_parameters: dict[str, Tensor],
                                       swapin_optim_state: dict[str, Any]) -> Iterator[None]:
    """Inside the block ``optimizer``'s groups hold ``swapin_parameters`` (in ``param_groups`` order) and the
    hyperparameters of ``swapin_optim_state['param_groups']``, and its state is ``swapin_optim_state['state']``
    re-keyed by those tensors (shallow copies: in-place tensor updates reach the caller's dict, new entries do
    not). The live groups and state come back on exit. The optimizer's state must be initialised."""
    if not optimizer.state:
        raise RuntimeError(f"{_API} requires initialized optimizer state.")
    if not isinstance(swapin_optim_state, dict):
        raise RuntimeError(f"{_API} requires a DCP-style optimizer state_dict.")
    state = _checked_state(swapin_optim_state.get("state"))
    groups = swapin_optim_state.get("param_groups")
    if not isinstance(groups, list):
        raise RuntimeError(f"{_API} requires swapin_optim_state['param_groups'] to be a list of param-group dicts, "
                           f"got {type(groups).__name__}.")
    if len(groups) != len(optimizer.param_groups):
        raise RuntimeError("swapin_optim_state has a different number of parameter groups than the live optimizer.")
    tensors = list(swapin_parameters.values())
    plan: list[tuple[dict[str, Any], dict[str, Any], list[int], list[Tensor]]] = []
    used: set[int] = set()
    start = 0
    for index, (live, group) in enumerate(zip(optimizer.param_groups, groups, strict=True)):
        ids = _checked_group_ids(index, live, group)
        used.update(ids)
        if start + len(ids) > len(tensors):
            raise RuntimeError(f"{_API} requires the explicit parameter state to match optimizer.param_groups "
                               "ordering.")
        plan.append((live, group, ids, tensors[start: start + len(ids)]))
        start += len(ids)
    extra = [k for k in state if k not in used]
    if extra:
        raise RuntimeError(f"{_API} requires swapin_optim_state['state'] to be keyed only by packed parameter ids "
                           f"from param_groups[*]['params']; got extra keys {extra!r}.")

    live_state = optimizer.state
    snapshots = [dict(live) for live in optimizer.param_groups]   # keeps the very ``params`` lists too
    try:
        swapped: defaultdict[Tensor, Any] = defaultdict(dict)
        for live, group, ids, params in plan:
            live.update({k: v for k, v in group.items() if k != "params"})
            live["params"] = params
            for param, pid in zip(params, ids, strict=True):
                swapped[param] = dict(state.get(pid, {}))
        optimizer.state = swapped
        yield
    finally:
        for live, snapshot in zip(optimizer.param_groups, snapshots, strict=True):
            live.clear()
            live.update(snapshot)
        optimizer.state = live_state
