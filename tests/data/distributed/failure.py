"""Run under ``ember run`` or ``mpiexec`` with 2+ ranks: rank 1 fails in the way named by argv[1] (``kill``: SIGKILL,
``raise``: an exception, ``hang``: sleeps for a minute) while the others wait in an all_reduce. The job must end
with a clear error well before the minute is over."""

import os
import signal
import sys
import time

import ember as torch
import ember.distributed as dist

dist.init_process_group("mpi")
t = torch.ones(4)
dist.all_reduce(t)   # everyone is up
print(f"rank {dist.get_rank()} ready", flush=True)
if dist.get_rank() == 1:
    mode = sys.argv[1]
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif mode == "raise":
        raise ValueError("rank 1 broke down")
    elif mode == "hang":
        time.sleep(60)
dist.all_reduce(t)
print("all_reduce returned", flush=True)
