"""Run under ``mpiexec -n N`` (or ``ember run --nproc N``): every collective of ember.distributed against NumPy
expectations. Each rank's inputs are a function of its rank, so every rank can compute what it must receive.
Exits nonzero (with a traceback) on the first wrong result; prints ``OK <rank>`` at the end.

Arguments: ``launcher`` (started by ``ember run``: check its environment), ``nccl`` (the NCCL backend on CUDA
tensors instead of MPI on CPU tensors; NCCL has no bitwise reductions). With ``EMBER_DISTRIBUTED_CHECKS=0`` every
collective goes straight to the backend (and mismatches are not tested)."""

import os
import sys
from datetime import timedelta

import ml_dtypes
import numpy as np

import ember as torch
import ember.distributed as dist

launcher = "launcher" in sys.argv
NCCL = "nccl" in sys.argv
DEV = "cuda" if NCCL else "cpu"
dist.init_process_group("nccl" if NCCL else "mpi")
R, N = dist.get_rank(), dist.get_world_size()
ONE = min(1, N - 1)   # "rank 1", or rank 0 in a world of one
assert dist.is_initialized() and dist.get_backend() == ("nccl" if NCCL else "mpi") and dist.group.WORLD is not None
if launcher:   # ember run gives torchrun's environment
    assert (os.environ["RANK"], os.environ["WORLD_SIZE"], os.environ["LOCAL_RANK"]) == (str(R), str(N), str(R))
    assert os.environ["MASTER_ADDR"] == "127.0.0.1" and os.environ["MASTER_PORT"] == "29500"


def data(rank, shape=(3, 4), dtype=np.float32, lo=-5, hi=6):
    rs = np.random.RandomState(100 + rank)
    if dtype == np.bool_:
        return rs.rand(*shape) > 0.5
    return rs.randint(lo, hi, shape).astype(dtype) + (rs.rand(*shape).astype(dtype) if dtype in (np.float32,
                                                                                                   np.float64) else 0)


def T(x):
    return torch.tensor(x, device=DEV)


def E(*shape):
    return torch.empty(*shape, device=DEV)


def ones(*shape):
    return torch.ones(*shape, device=DEV)


def same(t, expected, tol=0.0):
    assert t.device.type == DEV
    t = t.cpu()
    got = t.float().numpy() if t.dtype in (torch.float16, torch.bfloat16) else t.numpy()
    exp = np.asarray(expected)
    assert got.shape == exp.shape, (got.shape, exp.shape)
    if tol:
        assert np.allclose(got, exp, rtol=tol, atol=tol), (got, exp)
    else:
        assert np.array_equal(got, exp), (got, exp)


every = [data(r) for r in range(N)]
ops = dist.ReduceOp
REDUCE = {ops.SUM: lambda a: np.sum(a, 0), ops.AVG: lambda a: np.mean(a, 0), ops.MIN: lambda a: np.min(a, 0),
          ops.MAX: lambda a: np.max(a, 0), ops.PRODUCT: lambda a: np.prod(a, 0),
          ops.BAND: lambda a: np.bitwise_and.reduce(a, 0), ops.BOR: lambda a: np.bitwise_or.reduce(a, 0),
          ops.BXOR: lambda a: np.bitwise_xor.reduce(a, 0)}

# ---- all_reduce: every op, several dtypes, sync and async, non-contiguous ----
for dtype, op_list in [(np.float32, [ops.SUM, ops.AVG, ops.MIN, ops.MAX, ops.PRODUCT]),
                       (np.float64, [ops.SUM, ops.AVG]),
                       (np.int64, [ops.SUM, ops.MIN, ops.MAX, ops.PRODUCT, ops.BAND, ops.BOR, ops.BXOR]),
                       (np.int32, [ops.SUM, ops.BXOR]), (np.uint8, [ops.MAX, ops.BOR])]:
    ins = [data(r, dtype=dtype, lo=0 if dtype == np.uint8 else -5) for r in range(N)]
    for op in op_list:
        if NCCL and op in (ops.BAND, ops.BOR, ops.BXOR):
            continue
        t = T(ins[R].copy())
        dist.all_reduce(t, op=op)
        same(t, REDUCE[op](np.stack(ins)).astype(dtype), 1e-6 if dtype in (np.float32, np.float64) else 0)
for op, ref in [(ops.SUM, np.any), (ops.MAX, np.any), (ops.MIN, np.all), (ops.PRODUCT, np.all)]:
    ins = [data(r, dtype=np.bool_) for r in range(N)]
    t = T(ins[R].copy())
    dist.all_reduce(t, op=op)
    same(t, ref(np.stack(ins), 0))
for dt, np_dt in [(torch.float16, np.float16), (torch.bfloat16, ml_dtypes.bfloat16)]:
    t = T(every[R]).to(dt)
    dist.all_reduce(t)
    same(t, np.sum([e.astype(np_dt).astype(np.float32) for e in every], 0), 0.02)
c = [torch.complex(T(data(r)), T(data(r + 7))) for r in range(N)]
t = c[R].clone()
dist.all_reduce(t, op=ops.AVG)
same(t, np.mean([x.numpy() for x in c], 0), 1e-6)
t = T(every[R]).t()   # non-contiguous: reduced through a copy, written back in place
dist.all_reduce(t)
same(t, np.sum(every, 0).T, 1e-6)
t = T(every[R])
work = dist.all_reduce(t, op=ops.MAX, async_op=True)
assert isinstance(work, dist.Work) and work.wait() is True and work.is_completed()
same(t, np.max(every, 0))
same(work.result()[0], np.max(every, 0))
t = T(3.0 * R)   # 0-d
dist.all_reduce(t)
same(t, np.float32(3.0 * sum(range(N))))

# ---- tensors too big to travel with the signature (the separate transfer path) ----
big = [data(r, (50, 80)) for r in range(N)]   # 16 KB of float32
for op in (ops.SUM, ops.AVG, ops.MAX):
    t = T(big[R])
    dist.all_reduce(t, op=op)
    same(t, REDUCE[op](np.stack(big)), 1e-5)
t = T(big[R])
dist.broadcast(t, src=N - 1)
same(t, big[N - 1])
t = T(big[R])
dist.reduce(t, dst=0)
same(t, np.sum(big, 0) if R == 0 else big[R], 1e-5)
outs = [E(50, 80) for _ in range(N)]
dist.all_gather(outs, T(big[R]))
for r in range(N):
    same(outs[r], big[r])
t = T(big[R]).t()
dist.all_reduce(t, op=ops.MIN)
same(t, np.min(big, 0).T)

# ---- broadcast / reduce ----
for src in range(N):
    t = T(every[R])
    dist.broadcast(t, src=src)
    same(t, every[src])
    t = T(every[R])
    dist.reduce(t, dst=src, op=ops.SUM)
    same(t, np.sum(every, 0) if R == src else every[R], 1e-6)
t = T(every[R])
dist.reduce(t, dst=N - 1, op=ops.AVG)
same(t, np.mean(every, 0) if R == N - 1 else every[R], 1e-6)
w = dist.broadcast(t := T(every[R]), src=ONE, async_op=True)
w.wait()
same(t, every[ONE])

# ---- gathers ----
outs = [E(3, 4) for _ in range(N)]
dist.all_gather(outs, T(every[R]))
for r in range(N):
    same(outs[r], every[r])
o = E(N * 3, 4)
dist.all_gather_into_tensor(o, T(every[R]))
same(o, np.concatenate(every))
o = E(N, 3, 4)
dist.all_gather_into_tensor(o, T(every[R]))
same(o, np.stack(every))
gl = [E(3, 4) for _ in range(N)] if R == 0 else None
dist.gather(T(every[R]), gl, dst=0)
if R == 0:
    for r in range(N):
        same(gl[r], every[r])

# ---- scatter / reduce_scatter ----
chunks = [[data(10 * src + r, (2, 2)) for r in range(N)] for src in range(N)]   # chunks[src][dst]
out = E(2, 2)
dist.scatter(out, [T(x) for x in chunks[ONE]] if R == ONE else None, src=ONE)
same(out, chunks[ONE][R])
out = E(2, 2)
dist.reduce_scatter(out, [T(x) for x in chunks[R]])
same(out, np.sum([chunks[s][R] for s in range(N)], 0), 1e-6)
out = E(2, 2)
dist.reduce_scatter_tensor(out, T(np.concatenate(chunks[R])), op=ops.MAX)
same(out, np.max([chunks[s][R] for s in range(N)], 0))

# ---- all_to_all ----
out = E(N * 2, 2)
dist.all_to_all_single(out, T(np.concatenate(chunks[R])))
same(out, np.concatenate([chunks[s][R] for s in range(N)]))
ragged = [[np.full((s + 1, 2), 10.0 * s + d, np.float32) for d in range(N)] for s in range(N)]   # s sends s+1 rows
outs = [E(s + 1, 2) for s in range(N)]
dist.all_to_all(outs, [T(x) for x in ragged[R]])
for s in range(N):
    same(outs[s], ragged[s][R])
in_splits = [d + 1 for d in range(N)]           # rank R sends d+1 rows to rank d
out_splits = [R + 1] * N                        # and receives R+1 rows from everyone
src_rows = np.arange(sum(in_splits) * 2, dtype=np.float32).reshape(-1, 2) + 100 * R
out = E(sum(out_splits), 2)
dist.all_to_all_single(out, T(src_rows), out_splits, in_splits)
expect = []
for s in range(N):
    rows = np.arange(sum(in_splits) * 2, dtype=np.float32).reshape(-1, 2) + 100 * s
    start = sum(in_splits[:R])
    expect.append(rows[start:start + R + 1])
same(out, np.concatenate(expect))

# ---- point to point (a ring) ----
if N > 1:
    nxt, prv = (R + 1) % N, (R - 1) % N
    buf = E(3, 4)
    if R % 2 == 0:
        dist.send(T(every[R]), dst=nxt)
        assert dist.recv(buf, src=prv) == prv
    else:
        assert dist.recv(buf, src=None if not NCCL else prv) == prv   # any source
        dist.send(T(every[R]), dst=nxt)
    same(buf, every[prv])
    rw = dist.irecv(buf2 := E(3, 4), src=prv, tag=7)
    sw = dist.isend(T(every[R]) * 2, dst=nxt, tag=7)
    sw.wait()
    rw.wait()
    same(buf2, every[prv] * 2, 1e-6)

    recv_buf = E(3, 4)
    works = dist.batch_isend_irecv([dist.P2POp(dist.isend, T(every[R]) + 1, nxt),
                                    dist.P2POp(dist.irecv, recv_buf, prv)])
    for w in works:
        w.wait()
    same(recv_buf, every[prv] + 1, 1e-6)

# ---- objects ----
objs = [{"rank": R, "list": [R] * R}, "x" * (R * 50)]
got = [None] * N
dist.all_gather_object(got, objs)
assert got == [[{"rank": r, "list": [r] * r}, "x" * (r * 50)] for r in range(N)], got
lst = [("from", R), None, R * 1.5]
dist.broadcast_object_list(lst, src=N - 1)
assert lst == [("from", N - 1), None, (N - 1) * 1.5], lst
gl = [None] * N if R == ONE else None
dist.gather_object({"r": R}, gl, dst=ONE)
assert R != ONE or gl == [{"r": r} for r in range(N)], gl
so = [None]
dist.scatter_object_list(so, [f"obj{i}" * (i + 1) for i in range(N)] if R == 0 else None, src=0)
assert so == [f"obj{R}" * (R + 1)], so

# ---- groups ----
sub = dist.new_group([0, N - 1])
if R in (0, N - 1):
    assert dist.get_world_size(sub) == len({0, N - 1}) and dist.get_rank(sub) == (0 if R == 0 else 1)
    t = T(every[R])
    dist.all_reduce(t, group=sub)
    same(t, every[0] + every[N - 1] if N > 1 else every[0], 1e-6)
    t = T(every[R])
    dist.broadcast(t, src=N - 1, group=sub)   # src is a global rank
    same(t, every[N - 1])
    assert dist.get_process_group_ranks(sub) == sorted({0, N - 1})
else:
    assert sub == dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(sub) == -1
    t = T(every[R])
    assert dist.all_reduce(t, group=sub) is None   # not a member: nothing happens
    same(t, every[R])
dist.barrier()
assert dist.barrier(async_op=True).wait()
dist.monitored_barrier(timeout=timedelta(seconds=30))

# ---- mismatches give an error on every rank, naming what each rank runs ---- (with the signature checks on)
if dist.group.WORLD._checks or N == 1:
    try:
        dist.all_reduce(ones(R + 2))
        assert N == 1, "no error for mismatched shapes"
    except RuntimeError as e:
        msg = str(e)
        assert "Detected mismatch between collectives on ranks" in msg and f"float32[{R + 2}]" in msg, msg
    # a mismatch is found before any data moves: the group stays usable
    t = T(every[R])
    dist.all_reduce(t)
    same(t, np.sum(every, 0), 1e-6)
    try:   # one rank's tensor travels with the signature, the other's does not
        dist.all_reduce(ones(4) if R == 0 else ones(5000))
        assert N == 1, "no error for mismatched sizes"
    except RuntimeError as e:
        assert "all_reduce(float32[4], op=SUM)" in str(e) and "all_reduce(float32[5000], op=SUM)" in str(e), str(e)
    try:   # a different collective on each rank
        dist.broadcast(ones(2), src=0) if R == 0 else dist.all_reduce(ones(2))
        assert N == 1, "no error for different collectives"
    except RuntimeError as e:
        assert "broadcast(float32[2], src=0)" in str(e) and "all_reduce(float32[2], op=SUM)" in str(e), str(e)
dist.destroy_process_group()
assert not dist.is_initialized()
sys.stdout.flush()
os.write(1, f"OK {R}\n".encode())   # one write: ranks' lines must not interleave
