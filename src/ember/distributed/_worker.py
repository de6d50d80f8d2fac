"""What each rank of ``ember run`` executes: set torchrun's environment from MPI's, run the user's script, and on
failure tell the launcher (which stops the other ranks) instead of leaving them waiting.

``python -m ember.distributed._worker [-m] target args...`` (started by ``mpiexec``, never by hand).
"""

from __future__ import annotations

import os
import runpy
import signal
import socket
import sys
import traceback
from pathlib import Path

_ENV = (("RANK", ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")),
        ("WORLD_SIZE", ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")),
        ("LOCAL_RANK", ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK")),
        ("LOCAL_WORLD_SIZE", ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE")))


def _set_env() -> None:
    for name, sources in _ENV:
        value = next((os.environ[s] for s in sources if s in os.environ), None)
        if value is not None:
            os.environ[name] = value
    os.environ.setdefault("GROUP_RANK", "0")
    os.environ.setdefault("ROLE_RANK", os.environ.get("RANK", "0"))


def _report(code: int) -> None:
    """Record the failure for the launcher and ask it to stop the job (a launcher on another host is left to
    MPI's own clean-up and to the other ranks' timeouts)."""
    rank = os.environ.get("RANK", "?")
    run_dir = os.environ.get("EMBER_RUN_DIR")
    if run_dir and os.path.isdir(run_dir):
        Path(run_dir, f"rank{rank}.failed").write_text(str(code))
    print(f"ember run: rank {rank} failed with exit code {code}; stopping the other ranks", file=sys.stderr)
    sys.stderr.flush()
    pid = os.environ.get("EMBER_RUN_PID")
    if pid and os.environ.get("EMBER_RUN_HOST") == socket.gethostname():
        try:
            os.kill(int(pid), signal.SIGUSR1)
        except (ProcessLookupError, PermissionError):
            pass


def main(argv: list[str]) -> None:
    module = bool(argv) and argv[0] == "-m"
    if module:
        argv = argv[1:]
    target, rest = argv[0], argv[1:]
    _set_env()
    code = 0
    try:
        if module:
            sys.argv = [target, *rest]
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.argv = [target, *rest]
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
            runpy.run_path(target, run_name="__main__")
    except SystemExit as e:
        if e.code is None or e.code == 0:
            raise
        if isinstance(e.code, int):
            code = e.code
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except KeyboardInterrupt:
        code = 130
    except BaseException as e:
        tb = e.__traceback__   # hide this module's and runpy's frames, as if the script had been run directly
        while tb is not None and (tb.tb_frame.f_code.co_filename in (__file__, runpy.__file__)
                                  or tb.tb_frame.f_code.co_filename.startswith("<frozen runpy")):
            tb = tb.tb_next
        traceback.print_exception(type(e), e, tb)
        code = 1
    if code:
        sys.stdout.flush()
        _report(code)
        os._exit(code)   # no MPI_Finalize: the other ranks may never reach it


if __name__ == "__main__":
    main(sys.argv[1:])
