"""``ember run --nproc N [--timeout S] script.py args...``: torchrun's role, through MPI's ``mpiexec``.

Each rank runs ``script.py`` (or ``-m module``) with torchrun's environment (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``); ``--timeout`` becomes the default timeout
of ``init_process_group``. When a rank fails (an exception, a nonzero exit, a signal) the other ranks are stopped
and the launcher says which rank failed, so a crash never leaves the job hanging.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["main", "get_args_parser", "find_mpiexec"]


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ember run", description="Start a data-parallel job of N processes (ranks) "
                                "through mpiexec, each running the script with torchrun's environment.")
    p.add_argument("--nproc", "--nproc-per-node", "--nproc_per_node", dest="nproc", type=int, default=1,
                   help="number of processes (ranks) to start (default 1)")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds a collective may wait for the other ranks before failing (default 1800)")
    p.add_argument("--master-addr", "--master_addr", dest="master_addr", default="127.0.0.1")
    p.add_argument("--master-port", "--master_port", dest="master_port", type=int, default=29500)
    p.add_argument("--mpiexec", default=os.environ.get("EMBER_MPIEXEC"),
                   help="the mpiexec to use (default: the one on PATH)")
    p.add_argument("-m", "--module", action="store_true", help="run the target as a module (python -m)")
    p.add_argument("script", help="the training script (or module, with -m)")
    p.add_argument("script_args", nargs=argparse.REMAINDER)
    return p


def find_mpiexec(given: str | None = None) -> str | None:
    """``given``, else the mpiexec on PATH, else the one installed next to this Python (the ``mpich`` wheel's)."""
    here = os.path.dirname(sys.executable)
    return given or shutil.which("mpiexec") or shutil.which("mpiexec", path=here) or shutil.which("mpirun")


def main(argv: list[str] | None = None) -> int:
    """Run the job described by ``argv`` (the arguments after ``ember run``); returns its exit status."""
    args = get_args_parser().parse_args(argv)
    if args.nproc < 1:
        raise SystemExit(f"ember run: --nproc must be at least 1, got {args.nproc}")
    if args.timeout is not None and args.timeout <= 0:
        raise SystemExit(f"ember run: --timeout must be positive, got {args.timeout}")
    with tempfile.TemporaryDirectory(prefix="ember-run-") as tmp:
        env = dict(os.environ, MASTER_ADDR=args.master_addr, MASTER_PORT=str(args.master_port),
                   EMBER_RUN_PID=str(os.getpid()), EMBER_RUN_HOST=socket.gethostname(), EMBER_RUN_DIR=tmp)
        env.setdefault("HYDRA_LAUNCHER", "fork")   # one machine: no ssh needed (also as root, in containers)
        if args.nproc > 1:
            env.setdefault("OMP_NUM_THREADS", "1")   # as torchrun: N ranks must not each take every core
        if args.timeout is not None:
            env["EMBER_DIST_TIMEOUT"] = str(args.timeout)
        mpiexec = find_mpiexec(args.mpiexec)
        if mpiexec is None:
            raise SystemExit("ember run: mpiexec not found: install MPI with `pip install 'ember[mpi]'` (mpi4py and "
                             "MPICH) or pass --mpiexec")
        cmd = [mpiexec, "-n", str(args.nproc), sys.executable, "-m", "ember.distributed._worker",
               *(["-m"] if args.module else []), args.script, *args.script_args]
        proc = subprocess.Popen(cmd, env=env)
        stopped = []

        def stop(signum: int, frame: object) -> None:   # a rank reported a failure: end the others now
            if not stopped:
                stopped.append(signum)
                proc.terminate()
        old = signal.signal(signal.SIGUSR1, stop)
        try:
            rc = proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            rc = proc.wait()
        finally:
            signal.signal(signal.SIGUSR1, old)
        failures = sorted(Path(tmp).glob("rank*.failed"), key=lambda f: int(f.stem[4:]))
        if failures:
            first = failures[0]
            code = int(first.read_text() or 1)
            print(f"ember run: rank {first.stem[4:]} failed with exit code {code} (its error is above); the other "
                  "ranks were stopped", file=sys.stderr)
            return code or 1
        if rc != 0:
            how = f"mpiexec was killed by {signal.Signals(-rc).name}" if rc < 0 else f"mpiexec exit status {rc}"
            print(f"ember run: a rank failed ({how}; MPI's report above names the process); the other ranks were "
                  "stopped", file=sys.stderr)
        return rc


if __name__ == "__main__":
    sys.exit(main())
