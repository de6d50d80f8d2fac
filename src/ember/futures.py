"""``torch.futures``: :class:`Future`, the result of an asynchronous operation (a collective's
``Work.get_future()``, a DDP communication hook), with callbacks chained by :meth:`Future.then`.

ember runs collectives on the calling thread, so a future made by a collective carries a *driver*: waiting on it
(or on a future chained from it) completes the collective, and ``done()`` lets the backend progress without
blocking. A bare ``Future()`` completes when ``set_result`` / ``set_exception`` is called, from any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["Future", "collect_all", "wait_all"]

T = TypeVar("T")
S = TypeVar("S")


class Future(Generic[T]):
    """A value that becomes available later: ``wait()`` blocks for it, ``value()`` reads it once ``done()``,
    ``then(callback)`` chains a computation on it, ``set_result``/``set_exception`` complete it (once)."""

    def __init__(self, *, devices: list[Any] | None = None) -> None:
        self._done = False
        self._value: Any = None
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[Future[T]], None]] = []
        self._cond = threading.Condition()
        self._drive: Callable[[], None] | None = None       # blocks until the operation behind it completes it
        self._progress: Callable[[], None] | None = None    # lets that operation advance without blocking

    def done(self) -> bool:
        """Whether the future is complete (with a value or an error); never blocks."""
        if not self._done and self._progress is not None:
            self._progress()
        return self._done

    def wait(self) -> T:
        """Block until the future is complete; its value, or raise its error."""
        if not self._done:
            if self._drive is not None:
                self._drive()
            with self._cond:
                while not self._done:
                    self._cond.wait()
        return self.value()

    def value(self) -> T:
        """The value of a completed future (raises its error if it failed)."""
        if not self._done:
            raise RuntimeError("Future.value() called on a future that is not completed yet: wait() for it first")
        if self._error is not None:
            raise self._error
        return self._value

    def then(self, callback: Callable[[Future[T]], S]) -> Future[S]:
        """A new future completed with ``callback(self)`` once this one completes (with a RuntimeError naming the
        callback's error if it raises). Waiting on the new future drives this one."""
        nxt: Future[S] = Future()
        nxt._drive = self._settle
        nxt._progress = self.done

        def run(fut: Future[T]) -> None:
            try:
                result = callback(fut)
            except Exception as e:
                err = RuntimeError(f"Got the following error when running the callback: {type(e).__name__}: {e}")
                err.__cause__ = e
                nxt.set_exception(err)
            else:
                nxt.set_result(result)
        self.add_done_callback(run)
        return nxt

    def _settle(self) -> None:
        """Complete the future without raising its error (the futures chained on it receive it)."""
        try:
            self.wait()
        except Exception:
            pass

    def add_done_callback(self, callback: Callable[[Future[T]], None]) -> None:
        """Run ``callback(self)`` once the future is complete (now, if it already is). Its return value is
        ignored; an error it raises propagates to whoever completes the future."""
        with self._cond:
            if not self._done:
                self._callbacks.append(callback)
                return
        callback(self)

    def set_result(self, result: T) -> None:
        """Complete the future with ``result``, then run its callbacks."""
        self._complete(result, None)

    def set_exception(self, result: BaseException) -> None:
        """Complete the future with the error ``result``: ``wait()`` and ``value()`` raise it."""
        if not isinstance(result, BaseException):
            raise AssertionError(f"{result} is of type {type(result)}, not an Exception.")
        self._complete(None, result)

    def _complete(self, value: Any, error: BaseException | None) -> None:
        with self._cond:
            if self._done:
                raise RuntimeError("Attempting to mark a completed Future as complete again. Note that a Future can "
                                   "only be marked completed once.")
            self._value, self._error, self._done = value, error, True
            callbacks, self._callbacks = self._callbacks, []
            self._cond.notify_all()
        for cb in callbacks:
            cb(self)

    def __repr__(self) -> str:
        return f"<ember.futures.Future object at {hex(id(self))}>"


def collect_all(futures: list[Future]) -> Future[list[Future]]:
    """A future completed, with the list ``futures``, once every one of them is complete."""
    futures = list(futures)
    out: Future[list[Future]] = Future()

    def drive() -> None:
        for f in futures:
            f._settle()

    def progress() -> None:
        for f in futures:
            f.done()
    out._drive, out._progress = drive, progress
    remaining = [len(futures)]
    lock = threading.Lock()

    def one_done(_: Future) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            out.set_result(futures)
    if not futures:
        out.set_result([])
    for f in futures:
        f.add_done_callback(one_done)
    return out


def wait_all(futures: list[Future]) -> list[Any]:
    """Wait for every future; their values, in order (the first error is raised)."""
    return [f.wait() for f in futures]
