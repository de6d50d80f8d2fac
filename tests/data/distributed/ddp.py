"""Run under ``mpiexec -n N``: DistributedDataParallel against single-process training on the concatenated
batch, plus no_sync, find_unused_parameters, buffer broadcasting, construction checks. Prints ``OK <rank>``."""

import os
import sys

import numpy as np

import ember as torch
import ember.distributed as dist
import ember.nn as nn
from ember.nn.parallel import DistributedDataParallel as DDP
from ember.utils.data.distributed import DistributedSampler

dist.init_process_group("mpi")
R, N = dist.get_rank(), dist.get_world_size()
B = 4   # per-rank batch


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(5, 16)
        self.fc2 = nn.Linear(16, 16)
        self.fc3 = nn.Linear(16, 3)
        self.register_buffer("calls", torch.zeros(()))

    def forward(self, x):
        self.calls += 1
        return self.fc3(torch.tanh(self.fc2(torch.relu(self.fc1(x)))))


def close(a, b, tol=1e-6):
    return float((a - b).abs().max()) <= tol


# ---- construction: rank 0's parameters everywhere; torch's names and repr ----
torch.manual_seed(R)   # different replicas on purpose
model = Net()
launched_before_last = []   # fc1 gets its gradient late: by then other buckets' all-reduces are under way (once
#                             the buckets follow the gradients' order, from the second iteration on, as torch)
model.fc1.weight.register_post_accumulate_grad_hook(lambda p: launched_before_last.append(ddp._next_bucket))
ddp = DDP(model, bucket_cap_mb=0.0005)   # small buckets: several all-reduces in flight
assert len(ddp._buckets) > 1
torch.manual_seed(0)
ref = Net()
for p, q in zip(model.parameters(), ref.parameters(), strict=True):
    assert close(p, q, 0), "parameters not broadcast from rank 0"
assert list(ddp.state_dict()) == ["module." + k for k in ref.state_dict()]
assert repr(ddp) == "DistributedDataParallel(\n  (module): " + repr(ref).replace("\n", "\n  ") + "\n)", repr(ddp)
assert ddp.module is model

# ---- training: N ranks x B samples == one process on the N*B batch, several steps ----
opt = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
gen = torch.Generator().manual_seed(1)
for _step in range(5):
    x, y = torch.randn(N * B, 5, generator=gen), torch.randn(N * B, 3, generator=gen)
    mine = slice(R * B, (R + 1) * B)
    opt.zero_grad()
    nn.functional.mse_loss(ddp(x[mine]), y[mine]).backward()
    opt.step()
    ref_opt.zero_grad()
    nn.functional.mse_loss(ref(x), y).backward()
    ref_opt.step()
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        assert close(p.grad, q.grad), "gradients differ from single-process training"
for (name, p), q in zip(model.named_parameters(), ref.parameters(), strict=True):
    assert close(p, q), f"{name} differs from single-process training"
assert len(launched_before_last) == 5 and all(n >= 1 for n in launched_before_last[1:]), launched_before_last

# ---- no_sync: local accumulation, then one synchronised backward averages the accumulated gradients ----
x, y = torch.randn(2 * N * B, 5, generator=gen), torch.randn(2 * N * B, 3, generator=gen)
first, second = slice(R * B, (R + 1) * B), slice((N + R) * B, (N + R + 1) * B)
ddp.zero_grad()
with ddp.no_sync():
    nn.functional.mse_loss(ddp(x[first]), y[first]).backward()
local = [p.grad.clone() for p in model.parameters()]
nn.functional.mse_loss(ddp(x[second]), y[second]).backward()
ref.zero_grad()
for r in range(N):
    for part in (slice(r * B, (r + 1) * B), slice((N + r) * B, (N + r + 1) * B)):
        (nn.functional.mse_loss(ref(x[part]), y[part]) / N).backward()
for p, q in zip(model.parameters(), ref.parameters(), strict=True):
    assert close(p.grad, q.grad), "no_sync accumulation differs"
gathered = [None] * N
dist.all_gather_object(gathered, [g.numpy() for g in local])
differs = [not np.array_equal(a, b) for a, b in zip(gathered[0], gathered[-1], strict=True)]
assert any(differs), "no_sync still communicated"

# ---- buffers follow rank 0 at every forward ----
model.calls.fill_(100.0 * R)
ddp(torch.randn(2, 5))
assert float(model.calls) == 1.0, float(model.calls)   # rank 0's 0, broadcast, then + 1
ddp.zero_grad()


# ---- find_unused_parameters ----
class Branches(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = nn.Linear(3, 2)
        self.never = nn.Linear(3, 2)

    def forward(self, x, use_b):
        return self.a(x) + self.b(x) if use_b else self.a(x)


torch.manual_seed(0)
net = Branches()
ddp2 = DDP(net, find_unused_parameters=True)
xb = torch.randn(N, 3, generator=gen)
use_b = R == N - 1                # only the last rank uses b
ddp2(xb[R:R + 1], use_b).sum().backward()
torch.manual_seed(0)
solo = Branches()
for r in range(N):
    (solo(xb[r:r + 1], r == N - 1).sum() / N).backward()
assert close(net.a.weight.grad, solo.a.weight.grad) and close(net.b.weight.grad, solo.b.weight.grad)
assert net.never.weight.grad is None   # unused on every rank: left alone
ddp2.zero_grad()
ddp2(xb[R:R + 1], use_b).sum().backward()   # a second iteration works too
assert close(net.a.weight.grad, solo.a.weight.grad)

# ---- without find_unused_parameters, an unused parameter is reported at the next forward ----
torch.manual_seed(0)
ddp3 = DDP(Branches())
ddp3(xb[R:R + 1], False).sum().backward()
try:
    ddp3(xb[R:R + 1], False)
    raise AssertionError("no error for unused parameters")
except RuntimeError as e:
    assert "Expected to have finished reduction in the prior iteration" in str(e), str(e)

# ---- replicas must have the same parameters ----
try:
    DDP(nn.Linear(3, 2 + (R == 0)))
    raise AssertionError("no error for different models")
except RuntimeError as e:
    assert "DDP expects same model across all ranks" in str(e), str(e)
try:
    DDP(nn.ReLU())
    raise AssertionError("no error without parameters")
except RuntimeError as e:
    assert "doesn't have any parameter that requires a gradient" in str(e)
# ---- DistributedSampler takes its share from the default group ----
sampler = DistributedSampler(range(10))
assert (sampler.num_replicas, sampler.rank) == (N, R) and len(sampler) == -(-10 // N)
sys.stdout.flush()
os.write(1, f"OK {R}\n".encode())   # one write: ranks' lines must not interleave
