"""``spawn``/``start_processes``: run ``fn(i, *args)`` in ``nprocs`` processes and wait for them; when one
fails, stop the others and raise in the parent with the failed process's traceback (or its exit cause)."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import secrets
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .._core.warn import warn

__all__ = ["ENV_VAR_PARALLEL_START", "ProcessContext", "ProcessException", "ProcessExitedException",
           "ProcessRaisedException", "spawn", "SpawnContext", "start_processes"]

log = logging.getLogger(__name__)
ENV_VAR_PARALLEL_START = "TORCH_MP_PARALLEL_START"   # "1": start forkserver processes in parallel (torch's name)


class ProcessException(Exception):
    """A process started by :func:`start_processes` failed (its index and pid are kept)."""

    def __init__(self, msg: str, error_index: int, error_pid: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.error_index = error_index
        self.error_pid = error_pid

    def __reduce__(self) -> tuple:
        return type(self), (self.msg, self.error_index, self.error_pid)


class ProcessRaisedException(ProcessException):
    """A process failed because ``fn`` raised (the message holds its traceback)."""


class ProcessExitedException(ProcessException):
    """A process exited with a non-zero code or was killed by a signal."""

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code: int,
                 signal_name: str | None = None) -> None:
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code
        self.signal_name = signal_name

    def __reduce__(self) -> tuple:
        return type(self), (self.msg, self.error_index, self.error_pid, self.exit_code, self.signal_name)


def _die_with_parent() -> None:
    """Ask Linux to interrupt this process when its parent dies (best effort)."""
    if sys.platform.startswith("linux"):
        import ctypes
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGINT)   # PR_SET_PDEATHSIG


def _wrap(fn: Callable[..., Any], i: int, args: tuple, error_file: str) -> None:
    """A child's entry point: run ``fn(i, *args)``; on an exception, leave its traceback for the parent."""
    _die_with_parent()
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass   # the parent interrupted us
    except Exception:
        with open(error_file, "wb") as fh:
            pickle.dump(traceback.format_exc(), fh)
        sys.exit(1)


class ProcessContext:
    """The processes of one :func:`start_processes` call; :meth:`join` waits for them."""

    def __init__(self, processes: list[Any], error_files: list[str]) -> None:
        self.error_files = error_files
        self.processes = processes
        self.sentinels = {p.sentinel: i for i, p in enumerate(processes)}

    def pids(self) -> list[int]:
        return [int(p.pid) for p in self.processes]

    def _join_all(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        for p in self.processes:
            p.join(max(0.0, end - time.monotonic()))

    def join(self, timeout: float | None = None, grace_period: float | None = None) -> bool:
        """Wait (up to ``timeout``) for processes to exit. True once all exited cleanly, False while some still
        run. When one failed, terminate the rest (after ``grace_period``; SIGKILL if SIGTERM is not enough) and
        raise :class:`ProcessRaisedException` or :class:`ProcessExitedException` for it."""
        if not self.sentinels:
            return True
        failed = None
        for sentinel in multiprocessing.connection.wait(list(self.sentinels), timeout=timeout):
            index = self.sentinels.pop(sentinel)
            self.processes[index].join()
            if self.processes[index].exitcode != 0:
                failed = index
                break
        if failed is None:
            return not self.sentinels
        if grace_period is not None:
            self._join_all(grace_period)
        for p in self.processes:
            if p.is_alive():
                log.warning("Terminating process %s via signal SIGTERM", p.pid)
                p.terminate()
        self._join_all(30 if grace_period is None else grace_period)
        for p in self.processes:
            if p.is_alive():
                log.warning("Unable to shutdown process %s via SIGTERM , forcefully exiting via SIGKILL", p.pid)
                p.kill()
            p.join()
        raise self._failure(failed)

    def _failure(self, index: int) -> ProcessException:
        proc = self.processes[index]
        path = self.error_files[index]
        if not os.access(path, os.R_OK):
            code = proc.exitcode
            if code < 0:
                try:
                    name = signal.Signals(-code).name
                except ValueError:
                    name = f"<Unknown signal {-code}>"
                return ProcessExitedException(f"process {index:d} terminated with signal {name}", error_index=index,
                                              error_pid=proc.pid, exit_code=code, signal_name=name)
            return ProcessExitedException(f"process {index:d} terminated with exit code {code:d}",
                                          error_index=index, error_pid=proc.pid, exit_code=code)
        with open(path, "rb") as fh:
            trace = pickle.load(fh)
        os.unlink(path)
        msg = f"\n\n-- Process {index:d} terminated with the following error:\n{trace}"
        return ProcessRaisedException(msg, index, proc.pid)


class SpawnContext(ProcessContext):
    """The pre-1.4 name of :class:`ProcessContext` (deprecated)."""

    def __init__(self, processes: list[Any], error_files: list[str]) -> None:
        warn("SpawnContext is renamed to ProcessContext since 1.4 release.", stacklevel=2)
        super().__init__(processes, error_files)


def start_processes(fn: Callable[..., Any], args: tuple = (), nprocs: int = 1, join: bool = True,
                    daemon: bool = False, start_method: str = "spawn") -> ProcessContext | None:
    """Start ``nprocs`` processes (``start_method``) running ``fn(i, *args)``; with ``join``, wait for all of
    them (raising on the first failure), otherwise return their :class:`ProcessContext`."""
    ctx = multiprocessing.get_context(start_method)
    # a path each child creates only when fn raises
    error_files = [os.path.join(tempfile.gettempdir(), f"ember-errorfile-{secrets.token_hex(8)}.pickle")
                   for _ in range(nprocs)]
    processes = [ctx.Process(target=_wrap, args=(fn, i, args, error_files[i]), daemon=daemon) for i in range(nprocs)]
    if start_method == "forkserver" and os.environ.get(ENV_VAR_PARALLEL_START, "0") == "1":
        log.info("Starting processes in parallel.")
        with ThreadPoolExecutor(max_workers=max(nprocs, 1)) as pool:
            list(pool.map(lambda p: p.start(), processes))
    else:
        for p in processes:
            p.start()
    context = ProcessContext(processes, error_files)
    if not join:
        return context
    while not context.join():
        pass
    return None


def spawn(fn: Callable[..., Any], args: tuple = (), nprocs: int = 1, join: bool = True, daemon: bool = False,
          start_method: str = "spawn") -> ProcessContext | None:
    """Spawn ``nprocs`` processes running ``fn(i, *args)`` (always with the spawn start method; use
    :func:`start_processes` for another). Returns None after joining, or the :class:`ProcessContext` when
    ``join`` is False. A failure in a child stops the others and raises here with the child's traceback."""
    if start_method != "spawn":
        warn(f"This method only supports start_method=spawn (got: {start_method}).\n"
             "To use a different start_method use:\n\t\t torch.multiprocessing.start_processes(...)",
             FutureWarning, stacklevel=2)
    return start_processes(fn, args, nprocs, join, daemon, start_method="spawn")
