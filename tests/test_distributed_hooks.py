"""ember.futures, DDP communication hooks, Join for uneven inputs, and a world of one without MPI.

The hooks and Join run as real jobs (``mpiexec -n 2`` and ``-n 3``) of tests/data/distributed/hooks_join.py, which
checks against single-process references and exits nonzero on the first mismatch.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

import ember
import ember.distributed as dist
import ember.futures
from ember.distributed.run import find_mpiexec
from ember.futures import Future
from oracle import assert_same_error

HERE = Path(__file__).parent / "data" / "distributed"
MPIEXEC = find_mpiexec()
needs_mpi = pytest.mark.skipif(MPIEXEC is None or not dist.is_mpi_available(), reason="needs mpi4py and mpiexec")
ENV = dict(os.environ, HYDRA_LAUNCHER="fork", OMP_NUM_THREADS="1", EMBER_DIST_TIMEOUT="60")


def _job(n: int, **env: str) -> None:
    p = subprocess.run([MPIEXEC, "-n", str(n), sys.executable, "hooks_join.py"], capture_output=True, text=True,
                       timeout=120, env=dict(ENV, **env), cwd=HERE)
    assert p.returncode == 0, p.stdout + p.stderr
    for r in range(n):
        assert f"OK {r}" in p.stdout, p.stdout + p.stderr
    assert "pending" not in p.stderr, p.stderr   # no request left behind at MPI_Finalize


# ---- jobs --------------------------------------------------------------------------------------------------------
@needs_mpi
def test_hooks_and_join_two_ranks() -> None:
    _job(2)


@needs_mpi
def test_hooks_and_join_three_ranks() -> None:
    _job(3)


@needs_mpi
def test_hooks_and_join_without_signature_checks() -> None:
    _job(2, EMBER_DISTRIBUTED_CHECKS="0")


# ---- futures, against torch.futures ----------------------------------------------------------------------------
def _chain(futures: object, f: object) -> None:
    order: list[int] = []
    assert not f.done()
    f.add_done_callback(lambda fut: order.append(fut.value()))
    g = f.then(lambda fut: fut.value() * 10)
    f.set_result(4)
    assert f.done() and f.wait() == 4 and f.value() == 4 and order == [4]
    assert g.wait() == 40 and g.then(lambda fut: fut.value() + 1).wait() == 41
    f.add_done_callback(lambda fut: order.append(-1))   # already complete: runs at once
    assert order == [4, -1]
    assert futures.wait_all([f, g]) == [4, 40]
    assert [x.value() for x in futures.collect_all([f, g]).wait()] == [4, 40]


def test_future_result_and_chaining_as_torch() -> None:
    _chain(torch.futures, torch.futures.Future())
    _chain(ember.futures, Future())


def test_future_errors_as_torch() -> None:
    def twice(lib: object) -> None:
        f = lib.futures.Future()
        f.set_result(1)
        f.set_result(2)
    assert_same_error(lambda: twice(ember), lambda: twice(torch))

    def raised(lib: object) -> None:
        f = lib.futures.Future()
        f.set_exception(ValueError("boom"))
        f.wait()
    assert_same_error(lambda: raised(ember), lambda: raised(torch))

    def not_an_exception(lib: object) -> None:
        lib.futures.Future().set_exception(5)
    assert_same_error(lambda: not_an_exception(ember), lambda: not_an_exception(torch))

    def failing_callback(lib: object) -> None:
        f = lib.futures.Future()
        g = f.then(lambda fut: {}["key"])
        f.set_result(1)
        g.wait()
    assert_same_error(lambda: failing_callback(ember), lambda: failing_callback(torch), match_message=False)
    with pytest.raises(RuntimeError, match="Got the following error when running the callback: KeyError: 'key'"):
        failing_callback(ember)
    f = Future()   # the error of a future reaches the futures chained on it
    g = f.then(lambda fut: fut.value())
    f.set_exception(ValueError("upstream"))
    with pytest.raises(RuntimeError, match="ValueError: upstream"):
        g.wait()
    with pytest.raises(RuntimeError, match="not completed yet"):
        Future().value()


def test_future_completed_by_another_thread() -> None:
    f: Future[int] = Future()
    threading.Timer(0.05, lambda: f.set_result(7)).start()
    assert f.wait() == 7


# ---- a world of one, without mpiexec -----------------------------------------------------------------------------
_WORLD_OF_ONE = """
import os, sys
if "no-mpi" in sys.argv:
    sys.modules["mpi4py"] = None   # as if it were not installed
import ember, ember.distributed as dist
from ember.distributed.algorithms.ddp_comm_hooks import default_hooks
from ember.nn.parallel import DistributedDataParallel as DDP
assert dist.is_available() and dist.is_mpi_available() == ("no-mpi" not in sys.argv)
os.environ.update(RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT="29500")
dist.init_process_group("mpi", init_method="env://")
assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "mpi")
t = ember.arange(4.0)
dist.all_reduce(t, op=dist.ReduceOp.AVG)
out, flat = [ember.empty(4)], ember.empty(4)
dist.all_gather(out, t)
dist.all_gather_into_tensor(flat, t)
dist.reduce_scatter_tensor(got := ember.empty(4), t)
assert t.tolist() == out[0].tolist() == flat.tolist() == got.tolist() == [0.0, 1.0, 2.0, 3.0]
assert dist.all_reduce(t, async_op=True).get_future().wait()[0] is t
objs = [None]
dist.all_gather_object(objs, {"a": 1})
assert objs == [{"a": 1}]
ember.manual_seed(0)
model = DDP(ember.nn.Linear(3, 2))
model.register_comm_hook(None, default_hooks.allreduce_hook)
with model.join():
    model(ember.ones(2, 3)).sum().backward()
assert model.module.weight.grad.tolist() == [[2.0] * 3] * 2
dist.destroy_process_group()
os.environ["WORLD_SIZE"] = "2"
try:
    dist.init_process_group("mpi", init_method="env://")
    raise AssertionError("two ranks without mpiexec")
except RuntimeError as e:
    assert "ember run --nproc 2" in str(e) and "mpiexec -n 2" in str(e), str(e)
del os.environ["RANK"], os.environ["WORLD_SIZE"]
if "no-mpi" in sys.argv:
    try:
        dist.init_process_group("mpi", init_method="env://")
        raise AssertionError("no rank given")
    except ValueError as e:
        assert str(e) == ("Error initializing torch.distributed using env:// rendezvous: environment variable RANK "
                          "expected, but not set"), str(e)
print("OK")
"""


@pytest.mark.parametrize("mpi", [True, False], ids=["mpi4py", "no-mpi4py"])
def test_world_of_one_from_env(mpi: bool) -> None:
    if mpi and not dist.is_mpi_available():
        pytest.skip("needs mpi4py")
    env = {k: v for k, v in ENV.items() if k not in ("RANK", "WORLD_SIZE", "PMI_RANK", "PMI_SIZE")}
    p = subprocess.run([sys.executable, "-c", _WORLD_OF_ONE, *([] if mpi else ["no-mpi"])], capture_output=True,
                       text=True, timeout=120, env=env)
    assert p.returncode == 0 and "OK" in p.stdout, p.stdout + p.stderr


def test_grad_bucket_and_hooks_names() -> None:
    from torch.distributed.algorithms.ddp_comm_hooks import default_hooks as theirs

    from ember.distributed.algorithms.ddp_comm_hooks import default_hooks as ours
    for name in ("allreduce_hook", "fp16_compress_hook", "bf16_compress_hook", "fp16_compress_wrapper",
                 "bf16_compress_wrapper"):
        assert callable(getattr(ours, name)) and callable(getattr(theirs, name))
    assert ours.fp16_compress_wrapper(ours.allreduce_hook).__name__ == \
        theirs.fp16_compress_wrapper(theirs.allreduce_hook).__name__
    b = dist.GradBucket(1, ember.arange(5.0), [ember.ones(2, requires_grad=True), ember.ones(3, requires_grad=True)],
                        True)
    assert (b.index(), b.is_last(), [g.tolist() for g in b.gradients()]) == (1, True, [[0.0, 1.0], [2.0, 3.0, 4.0]])
    b.gradients()[1][0] = 9   # views of the buffer
    assert b.buffer()[2].item() == 9
    from ember.distributed.algorithms import Join, Joinable, JoinHook
    assert issubclass(ember.nn.parallel.DistributedDataParallel, Joinable) and Join and JoinHook
