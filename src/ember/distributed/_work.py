"""``Work`` (the handle of an asynchronous collective), torch's distributed error types, and the deadline-bounded
polling that turns a dead or stuck peer into an error instead of a hang.

A collective is a list of steps ``(test, after)``: ``test()`` says whether the step's nonblocking requests are
complete (MPI ``Test`` or a CUDA event), ``after()`` then runs on the host (verify metadata, unpack results, cast
back). Steps run in order, so a metadata check can stop a collective whose data transfer was already posted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ..futures import Future

__all__ = ["Work", "DistError", "DistBackendError", "DistNetworkError", "DistStoreError", "QueueEmptyError"]

Step = tuple[Callable[[], bool] | None, Callable[[], None] | None]


class DistError(RuntimeError):
    """Base of the errors raised by the distributed package (as ``torch.distributed.DistError``)."""


class DistBackendError(DistError):
    """A collective failed in the backend: a timeout, a peer that died, a broken process group."""


class DistNetworkError(DistError):
    """A network error while setting up the process group."""


class DistStoreError(DistError):
    """A rendezvous (store) error."""


class QueueEmptyError(DistStoreError):
    """``Store.queue_pop(key, block=False)`` found the queue empty."""


def _seconds(timeout: Any) -> float:
    return timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)


def _alive(pid: int) -> bool:
    """Whether a process of this host still runs (a zombie has exited, it only waits to be reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return True


_SPIN = range(256)   # tests before the first look at the clock (tens of microseconds)


def poll(test: Callable[[], bool], deadline: float, on_timeout: Callable[[float], BaseException],
         peers: Callable[[], BaseException | None] | None = None) -> None:
    """Spin on ``test`` until it is true: first tightly (a small collective completes within microseconds, sooner
    noticed without reading the clock between tests), then reading the clock; back off (yield after 5 ms, sleep a
    little after 50 ms) when it takes long, so that ranks waiting for slow peers leave the CPU to the work that
    must progress; after one second, check every half second that the peers on this host still run; raise
    ``on_timeout(elapsed)`` at the deadline."""
    for _ in _SPIN:
        if test():
            return
    start = time.monotonic()
    check_peers = start + 1.0
    while not test():
        now = time.monotonic()
        waited = now - start
        if now > deadline:
            raise on_timeout(waited)
        if waited > 0.05:
            time.sleep(0.0002)
        elif waited > 0.005:
            os.sched_yield()
        if peers is not None and now > check_peers:
            check_peers = now + 0.5
            err = peers()
            if err is not None:
                raise err


def wait_request(req: Any, group: Any, what: str) -> None:
    """Block on one posted MPI request as ``Work.wait`` would (bounded by the group's timeout, a backend error
    making the group unusable), for the synchronous fast paths that create no Work. (The spin calls ``req.Test``
    itself: the quickest loop Python has, and a small collective's latency is its polling.)"""
    for _ in _SPIN:
        if req.Test():
            return
    limit = group._timeout
    try:
        poll(req.Test, time.monotonic() + limit, lambda waited: group._timeout_error(what, waited, limit),
             group._dead_peer_error)
    except DistBackendError as e:
        group._fail(e)
        raise


class Work:
    """A collective in flight: ``wait()`` blocks until it is done (torch's ``Work``; ``async_op=True`` returns it)."""

    __slots__ = ("_steps", "_group", "_what", "_result", "_start", "_error", "_source", "_on_done")

    def __init__(self, steps: list[Step], group: Any, what: str, result: list | None = None) -> None:
        self._steps = steps
        self._group = group
        self._what = what
        self._result = result if result is not None else []
        self._start = time.monotonic()
        self._error: BaseException | None = None
        self._source = -1
        self._on_done: list[Callable[[], None]] = []   # run once the last step has (composite collectives)

    def _advance(self, block: bool, timeout: float | None = None, first_only: bool = False) -> bool:
        """Run the steps whose requests are complete (all of them when ``block``; only the first when
        ``first_only``); whether all are done."""
        if self._error is not None:
            raise self._error
        g = self._group
        limit = g._timeout if timeout is None else timeout
        deadline = self._start + limit if timeout is None else time.monotonic() + limit
        try:
            while self._steps:
                test, after = self._steps[0]
                if test is not None:
                    if block:
                        poll(test, deadline, lambda waited: g._timeout_error(self._what, waited, limit),
                             g._dead_peer_error)
                    elif not test():
                        return False
                self._steps.pop(0)
                if after is not None:
                    after()
                if first_only:
                    break
            if not self._steps and self._on_done:
                done, self._on_done = self._on_done, []
                for fn in done:
                    fn()
        except BaseException as e:
            self._error = e
            self._steps = []
            if isinstance(e, DistBackendError):   # transfers may still be in flight: the group is unusable
                g._fail(e)
            raise
        return not self._steps

    def wait(self, timeout: timedelta | float | None = None) -> bool:
        """Block until the collective completes (or raise its error); ``True`` as torch."""
        self._advance(True, None if timeout is None else _seconds(timeout))
        return True

    def is_completed(self) -> bool:
        """Whether the collective has completed (without blocking)."""
        return self._advance(False)

    def is_success(self) -> bool:
        return self._error is None and self.is_completed()

    def exception(self) -> BaseException | None:
        return self._error

    def result(self) -> list:
        """The output tensors of the collective (after waiting for it)."""
        self.wait()
        return list(self._result)

    def source_rank(self) -> int:
        """For a completed ``irecv``: the global rank the message came from."""
        self.wait()
        return self._source

    def synchronize(self) -> None:
        self.wait()

    def get_future(self) -> Future[list]:
        """A :class:`~ember.futures.Future` completed with the output tensors (``result()``) once the collective
        completes; waiting on it (or on the futures chained by ``then``) waits for the collective."""
        fut: Future[list] = Future()

        def settle() -> None:
            try:
                self.wait()
            except BaseException as e:
                if not fut._done:
                    fut.set_exception(e)
                return
            if not fut._done:
                fut.set_result(list(self._result))

        def progress() -> None:
            try:
                finished = self.is_completed()
            except BaseException:
                finished = True
            if finished:
                settle()
        fut._drive, fut._progress = settle, progress
        return fut


for _cls in (Work, DistError, DistBackendError, DistNetworkError, DistStoreError):
    _cls.__module__ = "ember.distributed"
