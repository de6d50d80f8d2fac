"""Run under ``mpiexec -n N``: Work futures, DDP communication hooks (GradBucket, default hooks) and Join for
uneven inputs, against single-process NumPy/ember references; collectives completed out of order. Prints
``OK <rank>``."""

import os

import numpy as np

import ember as torch
import ember.distributed as dist
import ember.nn as nn
from ember.distributed.algorithms import Join
from ember.distributed.algorithms.ddp_comm_hooks import default_hooks as hooks
from ember.futures import Future
from ember.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("mpi")
R, N = dist.get_rank(), dist.get_world_size()
B = 4


def close(a, b, tol=1e-6):
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    return a.shape == b.shape and np.allclose(a, b, rtol=tol, atol=tol)


def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))


def batch(rank, step):
    g = torch.Generator().manual_seed(100 * rank + step)
    return torch.randn(B, 5, generator=g), torch.randn(B, 3, generator=g)


def local_grads(x, y):
    """This rank's gradients of its own batch (no communication)."""
    m = net()
    nn.functional.mse_loss(m(x), y).backward()
    return [p.grad.clone() for p in m.parameters()]


# ---- collectives completed in another order than posted (large: the transfer waits for the signature) ----
every = [np.arange(5000, dtype=np.float32) + r for r in range(N)]
ts = [torch.from_numpy(every[R] * (k + 1)) for k in range(6)]   # more than the signature ring holds
works = [dist.all_reduce(t, async_op=True) for t in ts]
order = list(range(6)) if R % 2 == 0 else list(reversed(range(6)))
for k in order:
    works[k].wait()
for k, t in enumerate(ts):
    assert close(t, np.sum(every, 0) * (k + 1)), k
# the same collective asynchronous on some ranks, synchronous on others; a direct transfer behind pending ones
t1, t2 = torch.from_numpy(every[R].copy()), torch.from_numpy(every[R].copy())
w = dist.all_reduce(t1, async_op=True) if R == 0 else dist.all_reduce(t1)
dist.all_gather_object(objs := [None] * N, R)   # posted straight to the backend while t1's may still wait
dist.all_reduce(t2, op=dist.ReduceOp.MAX)
if R == 0:
    w.wait()
assert close(t1, np.sum(every, 0)) and close(t2, np.max(every, 0)) and objs == list(range(N))

# ---- signature exchanges sized by the history: a repeated sequence of collectives (mixed sizes, sync and async)
#      carries its payloads with the signatures; a mismatch after that is still reported, the group stays usable ----
meta = dist.group.WORLD._meta
sizes = [3, 300, 4000, 20000, 70000]   # floats: below, within and above what may travel with a signature
for rep in range(3):
    for k, n in enumerate(sizes):
        ins = [np.arange(n, dtype=np.float32) * (r + 1) + k for r in range(N)]
        t = torch.from_numpy(ins[R].copy())
        if k % 2:
            dist.all_reduce(t, op=dist.ReduceOp.MAX, async_op=True).wait()
        else:
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
        assert close(t, np.max(ins, 0)), (rep, n)
        b = torch.from_numpy(ins[R].copy())
        dist.broadcast(b, src=N - 1)
        assert close(b, ins[N - 1]), (rep, n)
if dist.group.WORLD._checks:   # what followed the last collective last time was 3 floats: the smallest exchange
    assert meta.room == 256 < meta.base_room, meta.room
if dist.group.WORLD._checks:
    try:
        dist.all_reduce(torch.ones(3 + R))
        raise AssertionError("no mismatch error")
    except RuntimeError as e:
        assert "Detected mismatch between collectives on ranks" in str(e), str(e)
    assert meta.room == meta.base_room
t = torch.ones(20000)
dist.all_reduce(t)
assert close(t, np.full(20000, float(N)))

# ---- Work.get_future ----
t = torch.full((3,), float(R + 1))
fut = dist.all_reduce(t, async_op=True).get_future()
assert isinstance(fut, Future)
doubled = fut.then(lambda f: f.value()[0] * 2)
assert close(doubled.wait(), np.full(3, 2.0 * sum(range(1, N + 1))))
assert fut.done() and fut.value()[0] is t

# ---- communication hooks ----
ddp = DDP(net(), bucket_cap_mb=0.0001)   # one bucket per parameter or so: several hooks per backward
nb = len(ddp._buckets)
assert nb > 1
try:
    ddp.register_comm_hook(None, 5)
    raise AssertionError("non-callable hook accepted")
except TypeError as e:
    assert str(e) == "Communication hook must be callable."


def bad_annotation(state, bucket: int):
    return None


try:
    ddp.register_comm_hook(None, bad_annotation)
    raise AssertionError("wrong annotation accepted")
except ValueError as e:
    assert str(e) == "Communication hook: bucket annotation should be dist.GradBucket."
seen = []
x, y = batch(R, 0)
mine = local_grads(x, y)


def spy(state, bucket: dist.GradBucket) -> Future[torch.Tensor]:
    """Check what the bucket holds (this rank's own gradients), then hand back a constant."""
    seen.append((bucket.index(), bucket.is_last()))
    params = bucket.parameters()
    assert all(any(p is q for q in ddp.module.parameters()) for p in params)
    assert bucket.buffer().numel() == sum(p.numel() for p in params) and bucket.buffer().dim() == 1
    index = {id(p): i for i, p in enumerate(ddp.module.parameters())}
    for p, g in zip(params, bucket.gradients(), strict=True):
        assert g.shape == p.shape and close(g, mine[index[id(p)]]), "bucket does not hold the local gradients"
    f = Future()
    f.set_result(torch.full_like(bucket.buffer(), state))
    return f


ddp.register_comm_hook(7.0, spy)
try:
    ddp.register_comm_hook(None, hooks.allreduce_hook)
    raise AssertionError("second hook accepted")
except RuntimeError as e:
    assert str(e) == "register_comm_hook or register_builtin_comm_hook can only be called once."
nn.functional.mse_loss(ddp(x), y).backward()
assert seen == [(i, i == nb - 1) for i in range(nb)], seen
assert all(close(p.grad, np.full(p.shape, 7.0)) for p in ddp.module.parameters())

ddp = DDP(net())
ddp.register_comm_hook(None, lambda state, bucket: 5)
try:
    nn.functional.mse_loss(ddp(x), y).backward()
    raise AssertionError("hook returning an int accepted")
except RuntimeError as e:
    assert str(e) == ("DDP communication hook's callback must return a torch.futures.Future object, but got "
                      "builtins.int"), str(e)
dist.barrier()


def train(hook, steps=3, compress=None):
    """DDP with ``hook`` for some steps; the final parameters and every step's reduced gradients."""
    ddp = DDP(net(), bucket_cap_mb=0.0002)
    if hook is not None:
        ddp.register_comm_hook(None, hook)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
    grads = []
    for step in range(steps):
        x, y = batch(R, step)
        opt.zero_grad()
        nn.functional.mse_loss(ddp(x), y).backward()
        grads.append([p.grad.clone() for p in ddp.parameters()])
        opt.step()
    return [p.detach().clone() for p in ddp.parameters()], grads


plain, _ = train(None)
same, _ = train(hooks.allreduce_hook)
assert all(close(a, b) for a, b in zip(plain, same, strict=True)), "allreduce_hook differs from DDP's own"
# compression: the gradients are the mean of every rank's gradient rounded to 16 bits (reduced in float32)
for hook, rounding, tol in ((hooks.fp16_compress_hook, np.float16, 2e-3), (hooks.bf16_compress_hook, None, 2e-2),
                            (hooks.fp16_compress_wrapper(hooks.allreduce_hook), np.float16, 2e-3)):
    _, grads = train(hook, steps=1)
    every_grads = [local_grads(*batch(r, 0)) for r in range(N)]
    for i, g in enumerate(grads[0]):
        ref = np.mean([e[i].numpy() for e in every_grads], 0)
        assert g.dtype == torch.float32 and close(g, ref, tol), (hook.__name__, i)
        if rounding is not None:   # the result is a 16-bit value
            assert np.array_equal(g.numpy(), g.numpy().astype(rounding).astype(np.float32)), hook.__name__


# ---- Join: rank r has 2 + r batches ----
def reference(steps_of, divide_by_initial):
    """One process: at step k the running ranks' mean losses summed, divided by N (or by their count)."""
    m = net()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    for k in range(max(steps_of)):
        running = [r for r in range(N) if k < steps_of[r]]
        opt.zero_grad()
        loss = sum(nn.functional.mse_loss(m(batch(r, k)[0]), batch(r, k)[1]) for r in running)
        (loss / (N if divide_by_initial else len(running))).backward()
        opt.step()
    return [p.detach() for p in m.parameters()]


steps_of = [2 + r for r in range(N)]
for divide_by_initial, hook, unused in ((True, None, False), (False, None, True), (True, hooks.allreduce_hook, False)):
    ddp = DDP(net(), bucket_cap_mb=0.0002, find_unused_parameters=unused)
    if hook is not None:
        ddp.register_comm_hook(None, hook)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
    with ddp.join(divide_by_initial_world_size=divide_by_initial):
        for k in range(steps_of[R]):
            x, y = batch(R, k)
            opt.zero_grad()
            nn.functional.mse_loss(ddp(x), y).backward()
            opt.step()
    ref = reference(steps_of, divide_by_initial)
    assert all(close(p, q, 1e-5) for p, q in zip(ddp.parameters(), ref, strict=True)), (divide_by_initial, hook)
    assert not ddp._join_config.enable   # off again after the block
    x, y = batch(R, 99)   # and DDP averages over every rank again
    replica = net()
    replica.load_state_dict(ddp.module.state_dict())
    nn.functional.mse_loss(replica(x), y).backward()
    every_grads = [None] * N
    dist.all_gather_object(every_grads, [p.grad.numpy() for p in replica.parameters()])
    opt.zero_grad()
    nn.functional.mse_loss(ddp(x), y).backward()
    for i, p in enumerate(ddp.parameters()):
        assert close(p.grad, np.mean([g[i] for g in every_grads], 0), 1e-5), "gradients after join"

# joined ranks shadow the buffer broadcasts too; no_sync iterations are shadowed without gradients
model = nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4))
ddp = DDP(model)
with ddp.join():
    for k in range(steps_of[R]):
        x, _ = batch(R, k)
        if k % 2:
            with ddp.no_sync():
                ddp(x).sum().backward()
        else:
            ddp(x).sum().backward()
every_stats = [None] * N
dist.all_gather_object(every_stats, model[1].running_mean.tolist())
assert all(s == every_stats[0] for s in every_stats), "buffers differ after join"

# throw_on_early_termination: every rank raises as soon as one runs out
ddp = DDP(net())
try:
    with ddp.join(throw_on_early_termination=True):
        for k in range(steps_of[R]):
            ddp(batch(R, k)[0]).sum().backward()
    raise AssertionError("no error on uneven inputs")
except RuntimeError as e:
    expected = "Rank 0 exhausted all inputs." if R == 0 else \
        "Detected at least one rank that exhausted inputs. Throwing across all ranks."
    assert str(e) == expected, str(e)
try:
    Join([])
    raise AssertionError("empty join accepted")
except ValueError as e:
    assert str(e) == "The join context manager requires at least one joinable"
dist.barrier()
dist.destroy_process_group()
os.write(1, f"OK {R}\n".encode())   # one write: ranks' lines must not interleave
