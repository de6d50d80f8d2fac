"""Run as a plain process (no mpiexec): a world of one process from env:// variables; collectives are identities."""

import os
from datetime import timedelta

import ember as torch
import ember.distributed as dist

os.environ.update(RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT="29500")
dist.init_process_group("mpi", timeout=timedelta(seconds=20))
assert dist.get_rank() == 0 and dist.get_world_size() == 1 and dist.get_backend() == "mpi"
t = torch.arange(4.0)
dist.all_reduce(t, op=dist.ReduceOp.AVG)
assert t.tolist() == [0.0, 1.0, 2.0, 3.0]
out = [torch.empty(4)]
dist.all_gather(out, t)
assert out[0].tolist() == t.tolist()
objs = [None]
dist.all_gather_object(objs, {"a": 1})
assert objs == [{"a": 1}]
try:
    dist.init_process_group("mpi")
    raise AssertionError("initialised twice")
except ValueError as e:
    assert str(e) == "trying to initialize the default process group twice!"
try:
    dist.send(t, dst=0)
    raise AssertionError("sent to itself")
except ValueError as e:
    assert "destination rank should not be the same" in str(e)
dist.destroy_process_group()
os.environ.update(WORLD_SIZE="2")
try:
    dist.init_process_group("mpi")
    raise AssertionError("two ranks without mpiexec")
except RuntimeError as e:
    assert "ember run --nproc 2" in str(e), str(e)
print("OK", flush=True)
