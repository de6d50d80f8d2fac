"""Run under ``mpiexec -n 2`` with the checkpoint root as argument: DCP save and load of a DDP model and an
FSDP model with their optimizers (values equal after loading into fresh models, torch's per-rank file layout,
an async save); rank 0 then leaves the checkpoints for the single-process resharding check. Prints ``OK <rank>``."""

import os
import sys

import ember as torch
import ember.distributed as dist
import ember.distributed.checkpoint as dcp
import ember.nn as nn
from ember.distributed.checkpoint.state_dict import get_state_dict, set_state_dict
from ember.distributed.fsdp import FullyShardedDataParallel as FSDP
from ember.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("mpi")
R = dist.get_rank()
root = sys.argv[1]


def make(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def trained(wrap, seed):
    model = wrap(make(seed))
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    torch.manual_seed(10 + R)
    model(torch.randn(2, 3)).sum().backward()
    opt.step()
    return model, opt


for name, wrap in (("ddp", DDP), ("fsdp", FSDP)):
    path = os.path.join(root, name)
    model, opt = trained(wrap, 0)
    msd, osd = get_state_dict(model, opt)
    assert list(msd) == ["0.weight", "0.bias", "2.weight", "2.bias"], list(msd)
    assert list(osd["state"]) == list(msd) and osd["param_groups"][0]["params"] == list(msd)
    dcp.save({"model": msd, "optim": osd}, checkpoint_id=path)
    assert sorted(os.listdir(path)) == [".metadata", "__0_0.distcp", "__1_0.distcp"], os.listdir(path)
    fresh, fopt = wrap(make(1)), None
    fopt = torch.optim.Adam(fresh.parameters(), lr=0.5)
    m2, o2 = get_state_dict(fresh, fopt)
    sd = {"model": m2, "optim": o2}
    dcp.load(sd, checkpoint_id=path)
    set_state_dict(fresh, fopt, model_state_dict=sd["model"], optim_state_dict=sd["optim"])
    a, b = get_state_dict(model, opt), get_state_dict(fresh, fopt)
    for k, v in a[0].items():
        assert torch.equal(v, b[0][k]), (name, k)
    for k, s in a[1]["state"].items():
        for sk, sv in s.items():
            assert torch.equal(sv, b[1]["state"][k][sk]), (name, k, sk)
    assert b[1]["param_groups"][0]["lr"] == 0.1
    # training continues identically from the loaded state
    for m, o in ((model, opt), (fresh, fopt)):
        o.zero_grad()
        torch.manual_seed(20 + R)
        m(torch.randn(2, 3)).sum().backward()
        o.step()
    for k, v in get_state_dict(model, opt)[0].items():
        assert torch.equal(v, get_state_dict(fresh, fopt)[0][k]), (name, "after step", k)

fut = dcp.async_save({"w": torch.arange(4.0) + R * 0}, checkpoint_id=os.path.join(root, "async"))
fut.result()
out = {"w": torch.zeros(4)}
dcp.load(out, checkpoint_id=os.path.join(root, "async"))
assert torch.equal(out["w"], torch.arange(4.0))
dist.barrier()
print(f"OK {R}", flush=True)
dist.destroy_process_group()
