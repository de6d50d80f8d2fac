"""ember.distributed, DistributedDataParallel, DistributedSampler and ``ember run``.

The collective tests start real jobs (``mpiexec -n 2`` and ``-n 3``) running the scripts of tests/data/distributed,
which check their results against NumPy and exit nonzero on the first mismatch; the failure tests check that a
rank that dies or hangs ends the whole job with a clear error instead of a hang.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import ember
import ember.distributed as dist
from ember.distributed.run import find_mpiexec
from ember.utils.data.distributed import DistributedSampler

HERE = Path(__file__).parent / "data" / "distributed"
MPIEXEC = find_mpiexec()
needs_mpi = pytest.mark.skipif(MPIEXEC is None or not dist.is_mpi_available(), reason="needs mpi4py and mpiexec")
ENV = dict(os.environ, HYDRA_LAUNCHER="fork", OMP_NUM_THREADS="1", EMBER_DIST_TIMEOUT="60")


def _run(cmd: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=ENV, cwd=HERE)


def _mpiexec(n: int, script: str, *args: str) -> subprocess.CompletedProcess:
    return _run([MPIEXEC, "-n", str(n), sys.executable, script, *args])


def _ember_run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "ember.distributed.run", *args], timeout)


def _all_ok(p: subprocess.CompletedProcess, n: int) -> None:
    assert p.returncode == 0, p.stdout + p.stderr
    for r in range(n):
        assert f"OK {r}" in p.stdout, p.stdout + p.stderr


# ---- jobs ----------------------------------------------------------------------------------------------------
@needs_mpi
def test_collectives_two_ranks() -> None:
    _all_ok(_mpiexec(2, "collectives.py"), 2)


@needs_mpi
def test_collectives_without_signature_checks() -> None:
    """Every tensor through the backend's own collectives (the path DistributedDataParallel takes)."""
    p = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "collectives.py"], capture_output=True, text=True,
                       timeout=120, env=dict(ENV, EMBER_DISTRIBUTED_CHECKS="0"), cwd=HERE)
    _all_ok(p, 2)


@needs_mpi
def test_collectives_three_ranks_through_ember_run() -> None:
    _all_ok(_ember_run("--nproc", "3", "collectives.py", "launcher"), 3)


@needs_mpi
def test_ddp_matches_single_process_two_ranks() -> None:
    _all_ok(_mpiexec(2, "ddp.py"), 2)


@needs_mpi
@pytest.mark.slow
def test_ddp_matches_single_process_three_ranks() -> None:
    _all_ok(_mpiexec(3, "ddp.py"), 3)


@pytest.mark.gpu
@needs_mpi
def test_nccl_collectives_world_of_one() -> None:
    """The same collective checks on CUDA tensors through NCCL (one GPU: a world of one)."""
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no GPU")
    except Exception as e:   # no CuPy, no driver, no device
        pytest.skip(f"needs CuPy and a CUDA GPU ({e})")
    _all_ok(_mpiexec(1, "collectives.py", "nccl"), 1)


@needs_mpi
def test_world_of_one_without_mpiexec() -> None:
    p = _run([sys.executable, "single.py"])
    assert p.returncode == 0 and "OK" in p.stdout, p.stdout + p.stderr


# ---- failures end the job with a clear error (the hung rank would sleep 60 s; the job must end long before) ----
@needs_mpi
def test_killed_rank_stops_the_job() -> None:
    p = _ember_run("--nproc", "2", "--timeout", "5", "failure.py", "kill", timeout=45)
    assert p.returncode != 0
    assert "ember run: a rank failed" in p.stderr and "the other ranks were stopped" in p.stderr, p.stderr
    assert "all_reduce returned" not in p.stdout


@needs_mpi
@pytest.mark.slow
def test_crashed_rank_is_named_by_ember_run() -> None:
    p = _ember_run("--nproc", "2", "--timeout", "30", "failure.py", "raise", timeout=45)
    assert p.returncode == 1
    assert "ValueError: rank 1 broke down" in p.stderr
    assert "ember run: rank 1 failed with exit code 1" in p.stderr, p.stderr
    assert "_worker.py" not in p.stderr   # the traceback starts in the user's script


@needs_mpi
def test_hung_rank_times_out_the_others() -> None:
    p = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "failure.py", "hang"], capture_output=True, text=True,
                       timeout=45, env=dict(ENV, EMBER_DIST_TIMEOUT="3"), cwd=HERE)
    assert p.returncode != 0
    assert "DistBackendError: [Rank 0] collective operation timeout: all_reduce" in p.stderr, p.stderr
    assert "Timeout(ms)=3000" in p.stderr


# ---- in this process (no job) ----------------------------------------------------------------------------------
def test_not_initialized_errors() -> None:
    assert dist.is_available() and not dist.is_initialized()
    msg = "Default process group has not been initialized, please make sure to call init_process_group."
    for call in (dist.get_rank, dist.get_world_size, dist.barrier, dist.get_backend,
                 lambda: dist.all_reduce(ember.ones(2)), lambda: dist.new_group([0])):
        with pytest.raises(ValueError) as e:
            call()
        assert str(e.value) == msg
    with pytest.raises(AssertionError, match="Process group cannot be None"):
        dist.destroy_process_group()
    with pytest.raises(ValueError, match=msg):   # DDP needs a group too
        from ember.nn.parallel import DistributedDataParallel
        DistributedDataParallel(ember.nn.Linear(2, 2))


def test_names_and_reprs_as_torch() -> None:
    torch = pytest.importorskip("torch")
    import torch.distributed as tdist
    for name in ("SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR", "PREMUL_SUM"):
        ours, theirs = getattr(dist.ReduceOp, name), getattr(tdist.ReduceOp, name)
        assert (str(ours), repr(ours), int(ours)) == (str(theirs), repr(theirs), int(theirs))
    assert dist.Backend("MPI") == tdist.Backend("MPI") == "mpi" and dist.Backend.NCCL == "nccl"
    assert dist.GroupMember.NON_GROUP_MEMBER == tdist.GroupMember.NON_GROUP_MEMBER
    assert dist.default_pg_timeout == tdist.default_pg_timeout
    assert issubclass(dist.DistBackendError, dist.DistError) and issubclass(dist.DistError, RuntimeError)
    with pytest.raises(TypeError, match="Expected timeout argument to be of type datetime.timedelta, got 5"):
        dist.init_process_group("mpi", timeout=5)
    assert torch is not None


def test_argument_errors_as_torch() -> None:
    from ember.distributed import distributed_c10d as c10d
    with pytest.raises(TypeError, match="Expected parameter `tensor` of type torch.Tensor"):
        c10d._tensor([1, 2], "tensor")
    with pytest.raises(TypeError, match=r"Expected parameter `tensor_list` of type List\[torch.Tensor\]"):
        c10d._tensors(ember.ones(2), "tensor_list")
    t = ember.ones(2)
    with pytest.raises(RuntimeError, match="Cannot use ReduceOp.BAND with non-integral dtype"):
        c10d._op_for(dist.ReduceOp.BAND, t, "all_reduce")
    with pytest.raises(ValueError, match="all_reduce does not support RedOpType.MAX on complex tensors"):
        c10d._op_for(dist.ReduceOp.MAX, ember.ones(2, dtype=ember.complex64), "all_reduce")
    with pytest.raises(RuntimeError, match="Cannot use ReduceOp.AVG with non-floating dtype"):
        c10d._op_for(dist.ReduceOp.AVG, ember.ones(2, dtype=ember.int64), "all_reduce")


def test_launcher_arguments() -> None:
    from ember.distributed.run import main
    with pytest.raises(SystemExit, match="--nproc must be at least 1"):
        main(["--nproc", "0", "x.py"])
    with pytest.raises(SystemExit, match="--timeout must be positive"):
        main(["--nproc", "2", "--timeout", "-1", "x.py"])


# ---- DistributedSampler: torch's order --------------------------------------------------------------------------
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("drop_last", [True, False])
def test_distributed_sampler_order_equals_torch(shuffle: bool, drop_last: bool) -> None:
    pytest.importorskip("torch")
    from torch.utils.data.distributed import DistributedSampler as TorchSampler
    for n in (1, 7, 10, 23):
        for replicas in (1, 2, 3, 4):
            for rank in range(replicas):
                ours = DistributedSampler(range(n), replicas, rank, shuffle=shuffle, seed=5, drop_last=drop_last)
                theirs = TorchSampler(range(n), replicas, rank, shuffle=shuffle, seed=5, drop_last=drop_last)
                for epoch in (0, 1, 7):
                    ours.set_epoch(epoch)
                    theirs.set_epoch(epoch)
                    assert list(ours) == list(theirs) and len(ours) == len(theirs), (n, replicas, rank, epoch)


def test_distributed_sampler_errors_and_shares() -> None:
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedSampler(range(4))
    shares = [list(DistributedSampler(range(10), 3, r, shuffle=False)) for r in range(3)]
    assert sorted(sum(shares, [])) == sorted([*range(10), 0, 1])   # padded with the beginning
    assert shares[0] == [0, 3, 6, 9]



def test_post_accumulate_grad_hook_order_as_torch() -> None:
    torch = pytest.importorskip("torch")

    def order(lib: object) -> list[str]:
        nn = lib.nn
        m = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))
        seen: list[str] = []
        for name, p in m.named_parameters():
            p.register_post_accumulate_grad_hook(lambda p, name=name: seen.append(name))
        m(lib.randn(4, 5)).sum().backward()
        return seen
    assert order(ember) == order(torch)


# ---- all_reduce's persistent requests: the same choice on every path, so that ranks always match -----------------
_PERSISTENT_JOB = '''
import numpy as np
import ember
import ember.distributed as dist

dist.init_process_group("mpi")
r, n = dist.get_rank(), dist.get_world_size()
total = n * (n + 1) / 2


def check(t, want, what):
    got = t.numpy()
    if not np.array_equal(got, np.broadcast_to(np.asarray(want, got.dtype), got.shape)):
        raise SystemExit(f"rank {r}: {what}: got {got}, expected {want}")


for size in (4, 4096, 300_000):   # 16 bytes, 16 KB (past the first exchange's room), 1.2 MB (no persistent request)
    # a synchronous all_reduce on one rank meets an asynchronous one on the other (torch allows it)
    t = ember.full((size,), float(r + 1))
    if r == 0:
        dist.all_reduce(t)
    else:
        dist.all_reduce(t, async_op=True).wait()
    check(t, total, f"sync/async {size}")
    # two asynchronous all_reduces of one signature in flight, a synchronous one after them, waited in reverse
    a, b, c = (ember.full((size,), float(k * (r + 1))) for k in (1, 2, 3))
    wa = dist.all_reduce(a, async_op=True)
    wb = dist.all_reduce(b, async_op=True)
    dist.all_reduce(c)
    wb.wait()
    wa.wait()
    check(a, total, f"first in flight {size}")
    check(b, 2 * total, f"second in flight {size}")
    check(c, 3 * total, f"after them {size}")
    # a non-contiguous tensor of the same signature, AVG, and the same array again under another op
    m = ember.full((size, 2), float(r + 1))
    dist.all_reduce(m[:, 1])
    check(m[:, 1], total, f"strided {size}")
    check(m[:, 0], r + 1, f"beside the strided {size}")
    v = ember.full((size,), float(r + 1))
    dist.all_reduce(v, op=dist.ReduceOp.AVG)
    check(v, total / n, f"avg {size}")
    for _ in range(3):   # the same array over and over (the remembered plan), then under MAX
        w = ember.full((size,), float(r + 1))
        dist.all_reduce(w)
        check(w, total, f"repeat {size}")
    dist.all_reduce(w, op=dist.ReduceOp.MAX)
    check(w, total, f"max after sum {size}")
    w.copy_(ember.full((size,), float(r + 1)))
    dist.all_reduce(w, op=dist.ReduceOp.MAX)
    check(w, n, f"max {size}")
    k = ember.full((size,), r + 2, dtype=ember.int64)
    dist.all_reduce(k, op=dist.ReduceOp.PRODUCT)
    check(k, int(np.prod(np.arange(2, n + 2))), f"product {size}")

# a view of another shape on the same memory: a new plan, not the remembered one
base = ember.full((8,), float(r + 1))
dist.all_reduce(base)
dist.all_reduce(base.view(2, 4))
check(base, total * n, "view")
# an unwaited asynchronous all_reduce is completed when the group is destroyed
dist.all_reduce(ember.ones(4), async_op=True)
dist.destroy_process_group()
print(f"OK {r}")
'''


@needs_mpi
@pytest.mark.parametrize("checks", ["1", "0"])
def test_all_reduce_paths_match_across_ranks(tmp_path: Path, checks: str) -> None:
    script = tmp_path / "persistent.py"
    script.write_text(_PERSISTENT_JOB)
    p = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                       env=dict(ENV, EMBER_DISTRIBUTED_CHECKS=checks, EMBER_DIST_TIMEOUT="20"), cwd=HERE)
    _all_ok(p, 2)
    assert "MPICH" not in p.stderr and "pending" not in p.stderr, p.stderr   # no request left for MPI_Finalize


_API_JOB = '''
import warnings
from datetime import timedelta

import ember
import ember.distributed as dist

dist.init_process_group("mpi")
r, n = dist.get_rank(), dist.get_world_size()


def expect(cond, what):
    if not cond:
        raise SystemExit(f"rank {r}: {what}")


expect(dist.get_pg_count() == 1, f"pg count {dist.get_pg_count()}")
# group ranks in the order given (sort_ranks=False) or sorted
order = list(reversed(range(n)))
rev = dist.new_group(order, sort_ranks=False)
srt = dist.new_group(order)
expect(dist.get_rank(rev) == order.index(r) and dist.get_rank(srt) == r, "group ranks")
expect(dist.get_process_group_ranks(rev) == order, "reversed group's ranks")
t = ember.full((2,), float(r))
dist.broadcast(t, group_src=0, group=rev)   # group rank 0 of rev is the last global rank
expect(t.tolist() == [float(n - 1)] * 2, f"broadcast from group rank 0: {t.tolist()}")
expect(dist.get_pg_count() == 3, f"pg count {dist.get_pg_count()}")
# subgroups: pairs (the last rank alone when n is odd, through the enumeration)
lists = [list(range(i, min(i + 2, n))) for i in range(0, n, 2)]
mine, subs = dist.new_subgroups_by_enumeration(lists)
expect(len(subs) == len(lists) and dist.get_process_group_ranks(mine) == lists[r // 2], "subgroups")
s = ember.ones(1)
dist.all_reduce(s, group=mine)
expect(s.item() == len(lists[r // 2]), "all_reduce in a subgroup")
one, all_ones = dist.new_subgroups(1)
expect(len(all_ones) == n and dist.get_world_size(one) == 1, "new_subgroups(1)")
# objects point to point, from any source
if r == 0:
    dist.send_object_list(["foo", 12, {1: 2}], dst=n - 1)
elif r == n - 1:
    got = [None, None, None]
    sender = dist.recv_object_list(got)
    expect(sender == 0 and got == ["foo", 12, {1: 2}], f"recv_object_list {sender} {got}")
# the single-tensor gather and reduce-scatter under their new names (the old ones warn, as torch's)
o = ember.zeros(2 * n)
dist.all_gather_single(o, ember.full((2,), float(r)))
expect(o.tolist() == [float(i) for i in range(n) for _ in range(2)], f"all_gather_single {o.tolist()}")
out = ember.zeros(1)
dist.reduce_scatter_single(out, ember.arange(n, dtype=ember.float32))
expect(out.item() == r * n, f"reduce_scatter_single {out.item()}")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    dist.reduce_scatter_tensor(out, ember.arange(n, dtype=ember.float32))
expect([w.category for w in caught] == [FutureWarning] and out.item() == r * n, "reduce_scatter_tensor")
# barriers with their own timeout
dist.barrier(timeout=timedelta(seconds=20))
dist.monitored_barrier(timeout=timedelta(seconds=20))
work = dist.barrier(async_op=True)
expect(work.wait() is True and work.is_completed(), "async barrier")
dist.destroy_process_group()
expect(dist.get_pg_count() == 0, "pg count after destroy")
print(f"OK {r}")
'''


@needs_mpi
def test_groups_objects_and_barriers_three_ranks(tmp_path: Path) -> None:
    script = tmp_path / "api.py"
    script.write_text(_API_JOB)
    _all_ok(_mpiexec(3, str(script)), 3)


def test_backend_and_op_queries_as_torch() -> None:
    pytest.importorskip("torch")
    import torch.distributed as tdist
    for name in ("SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR", "PREMUL_SUM"):
        assert dist.supports_complex(getattr(dist.ReduceOp, name)) == tdist.supports_complex(
            getattr(tdist.ReduceOp, name)), name
    for dev in ("cpu", "cuda", "cuda:1", ember.device("cpu")):
        assert dist.get_default_backend_for_device(dev) == tdist.get_default_backend_for_device(str(dev))
    for lib in (dist, tdist):
        with pytest.raises(ValueError, match="Default backend not registered for device : meta"):
            lib.get_default_backend_for_device("meta")
    assert dist.is_backend_available("gloo") and not dist.is_backend_available("foo")
    assert dist.get_pg_count() == 0
    with pytest.raises(ValueError, match="The arg 'ranks_per_subgroup_list' cannot be empty"):
        dist.new_subgroups_by_enumeration([])


def test_argument_errors_in_a_world_of_one_as_torch() -> None:
    """The same error types as torch (gloo, a world of one) for collectives given wrong sizes, dtypes or lists."""
    torch = pytest.importorskip("torch")
    import torch.distributed as tdist

    def cases(lib: object, d: object) -> dict:
        z = lib.zeros
        return {
            "reduce_scatter_single size": lambda: d.reduce_scatter_single(z(2), z(3)),
            "reduce_scatter_single dtype": lambda: d.reduce_scatter_single(z(2), z(2, dtype=lib.float64)),
            "all_gather_single size": lambda: d.all_gather_single(z(3), z(2)),
            "all_gather list": lambda: d.all_gather([z(2), z(2)], z(2)),
            "all_gather shape": lambda: d.all_gather([z(3)], z(2)),
            "reduce_scatter list": lambda: d.reduce_scatter(z(2), [z(2), z(2)]),
            "all_to_all_single splits": lambda: d.all_to_all_single(z(4), z(4), [1, 2], None),
            "scatter without list": lambda: d.scatter(z(2), None, src=0),
            "integer AVG": lambda: d.all_reduce(z(2, dtype=lib.int64), op=d.ReduceOp.AVG),
        }
    tdist.init_process_group("gloo", store=tdist.HashStore(), rank=0, world_size=1)
    try:
        theirs = {}
        for name, call in cases(torch, tdist).items():
            with pytest.raises(Exception) as e:
                call()
            theirs[name] = e
    finally:
        tdist.destroy_process_group()
    dist.init_process_group("mpi", rank=0, world_size=1)
    try:
        for name, call in cases(ember, dist).items():
            with pytest.raises(theirs[name].type) as e:
                call()
            if name in ("all_to_all_single splits", "scatter without list"):
                assert str(e.value) == str(theirs[name].value)
    finally:
        dist.destroy_process_group()
