"""``Join``: training on uneven inputs. A rank that runs out of batches leaves the ``with Join(...)`` block and
*shadows* the collectives the other ranks still run each iteration (the hooks of its :class:`Joinable` objects,
e.g. DistributedDataParallel's gradient all-reduces with zero gradients), so that nobody waits forever; once all
ranks have joined, post-hooks run (DDP makes every replica equal to the last joiner's).

Each iteration every non-joined rank first calls :meth:`Join.notify_join_context` (DDP does it in ``forward``): an
all-reduce of one, which the joined ranks match with an all-reduce of zero to count the ranks still running.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any, NamedTuple

from ..._core.device import device as Device
from ..._core.warn import warn
from ...ops.creation import ones, zeros
from .._work import Work
from ..distributed_c10d import ProcessGroup, all_reduce, get_rank

__all__ = ["JoinHook", "Joinable", "Join"]

_SKEW_WARNING = 1000   # iterations shadowed before warning about the skew


class JoinHook:
    """What a joined rank runs for one :class:`Joinable`: ``main_hook()`` once per iteration of the ranks still
    running (shadowing that iteration's collectives), ``post_hook(is_last_joiner)`` once all ranks joined."""

    def main_hook(self) -> None:
        """Shadow one training iteration's collectives of the joinable."""

    def post_hook(self, is_last_joiner: bool) -> None:
        """Run once every rank has joined; ``is_last_joiner`` tells whether this rank joined last."""


class _JoinConfig(NamedTuple):
    enable: bool
    throw_on_early_termination: bool
    is_first_joinable: bool

    @staticmethod
    def construct_disabled_join_config() -> _JoinConfig:
        return _JoinConfig(enable=False, throw_on_early_termination=False, is_first_joinable=False)


class Joinable(ABC):
    """A class taking part in :class:`Join`: it provides a join hook, the device and the process group of the
    join's own collectives, and calls ``Join.notify_join_context(self)`` before each iteration's collectives."""

    @abstractmethod
    def __init__(self) -> None:
        super().__init__()
        self._join_config = _JoinConfig.construct_disabled_join_config()

    @abstractmethod
    def join_hook(self, **kwargs: Any) -> JoinHook:
        """The hook shadowing this object's collectives (``kwargs``: those given to ``Join``)."""

    @property
    @abstractmethod
    def join_device(self) -> Device:
        """Device of the join's collectives."""

    @property
    @abstractmethod
    def join_process_group(self) -> Any:
        """Process group of the join's collectives."""


class Join:
    """Context manager for uneven inputs over ``joinables`` (their hooks run in the given order; they must share
    one process group). ``enable=False`` turns it off; ``throw_on_early_termination=True`` makes every rank raise
    as soon as one runs out of inputs instead of shadowing. Extra keyword arguments go to the join hooks."""

    def __init__(self, joinables: list[Joinable], enable: bool = True, throw_on_early_termination: bool = False,
                 **kwargs: Any) -> None:
        if len(joinables) == 0:
            raise ValueError("The join context manager requires at least one joinable")
        self._joinables = joinables
        self._join_hooks = [j.join_hook(**kwargs) for j in joinables]
        self._enable = enable
        self._throw_on_early_termination = throw_on_early_termination
        self._configure(enable)
        group = joinables[0].join_process_group
        if any(j.join_process_group is not group for j in joinables[1:]):
            raise ValueError("Using join context manager with multiple process groups")
        self._process_group: ProcessGroup | None = group
        self._device = joinables[0].join_device
        self._rank = get_rank(group)

    def _configure(self, enable: bool) -> None:
        for i, j in enumerate(self._joinables):
            j._join_config = _JoinConfig(enable, self._throw_on_early_termination, i == 0) if enable else \
                _JoinConfig.construct_disabled_join_config()

    def __enter__(self) -> Join:
        return self

    def __exit__(self, type: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        """This rank has joined: shadow the others' iterations until every rank has joined, then run the
        post-hooks. An exception raised in the block propagates as is."""
        try:
            if self._enable and type is None:
                self._shadow()
        finally:
            self._configure(False)

    def _shadow(self) -> None:
        is_last_joiner = True
        shadowed = 0
        while self._count_running():
            if self._throw_on_early_termination:
                all_reduce(ones(1, device=self._device), group=self._process_group)   # matches their check
                raise RuntimeError(f"Rank {self._rank} exhausted all inputs.")
            for hook in self._join_hooks:
                hook.main_hook()
            is_last_joiner = False
            shadowed += 1
            if shadowed == _SKEW_WARNING + 1:
                warn(f"Detected uneven input skew of greater than {_SKEW_WARNING}. This means that rank "
                     f"{self._rank} has at least {_SKEW_WARNING} fewer inputs than other currently-active "
                     "ranks. This level of skew could lead to performance degradation during training.",
                     stacklevel=3)
        for hook in self._join_hooks:
            hook.post_hook(is_last_joiner)

    def _count_running(self) -> int:
        """How many ranks have not joined (the match of their ``notify_join_context``)."""
        count = zeros(1, device=self._device)
        all_reduce(count, group=self._process_group)
        return int(count.item())

    @staticmethod
    def notify_join_context(joinable: Joinable) -> Work | None:
        """Tell the joined ranks that this one still runs (the first joinable of the context only: the others
        return None at once). With ``throw_on_early_termination``, raise on every rank once one has joined.
        Returns the Work of the notifying all-reduce."""
        config = joinable._join_config
        if not config.is_first_joinable or not config.enable:
            return None
        group, dev = joinable.join_process_group, joinable.join_device
        work = all_reduce(ones(1, device=dev), group=group, async_op=True)
        if config.throw_on_early_termination:
            joined = zeros(1, device=dev)
            all_reduce(joined, group=group)
            if joined.item():
                work.wait()
                raise RuntimeError("Detected at least one rank that exhausted inputs. Throwing across all ranks.")
        return work
