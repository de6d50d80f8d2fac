"""Run under ``mpiexec -n 2``: DeviceMesh, the coalesced collectives and split_group, then FullyShardedDataParallel
against single-process training on the concatenated batch (FULL_SHARD with auto-wrapping, SHARD_GRAD_OP,
NO_SHARD, use_orig_params), its shard sizes and names (torch 2.13's, recorded from gloo runs), full and sharded
state dicts, summon_full_params, clip_grad_norm_ and no_sync. Prints ``OK <rank>``."""

import functools
import warnings

import ember as torch
import ember.distributed as dist
import ember.nn as nn
from ember.distributed.device_mesh import init_device_mesh
from ember.distributed.fsdp import (
    FSDPModule,
    FullStateDictConfig,
    MixedPrecision,
    ShardingStrategy,
    StateDictType,
    fully_shard,
)
from ember.distributed.fsdp import FullyShardedDataParallel as FSDP
from ember.distributed.fsdp.wrap import ModuleWrapPolicy, size_based_auto_wrap_policy
from ember.distributed.tensor import DTensor, Shard

dist.init_process_group("mpi")
R, N = dist.get_rank(), dist.get_world_size()
assert N == 2


def close(a, b, tol=1e-6):
    return a.shape == b.shape and (a.numel() == 0 or float((a - b).abs().max()) <= tol)


# ---- DeviceMesh (torch's reprs, coordinates and groups for the same meshes) ----
m = init_device_mesh("cpu", (2,))
assert repr(m) == "DeviceMesh((2,), 'cpu', stride=(1,))" and m.get_group() is dist.group.WORLD
assert m.mesh.tolist() == [0, 1] and m.mesh.dtype == torch.int32 and m.get_coordinate() == (R,)
assert (m.ndim, m.shape, m.size(), m.mesh_dim_names, m.get_local_rank(), m.device_type) == (1, (2,), 2, None, R, "cpu")
m2 = init_device_mesh("cpu", (1, 2), mesh_dim_names=("dp", "tp"))
assert repr(m2) == "DeviceMesh((dp=1, tp=2), 'cpu', stride=((), 1))", repr(m2)
assert m2.get_coordinate() == (0, R) and (m2.get_local_rank("dp"), m2.get_local_rank("tp")) == (0, R)
assert [dist.get_process_group_ranks(g) for g in m2.get_all_groups()] == [[R], [0, 1]]
assert repr(m2["tp"]) == "DeviceMesh((tp=2), 'cpu', stride=(1,))" and m2["tp"].mesh.tolist() == [0, 1]
assert repr(m2["dp"]) == "DeviceMesh((dp=1), 'cpu', stride=((),))" and m2["dp"].mesh.tolist() == [R]
assert repr(m2["tp", "dp"]) == "DeviceMesh((tp=2, dp=1), 'cpu', stride=(1, ()))"   # (a size-1 dim has no order)
assert m2["dp", "tp"] is m2 and m2 == init_device_mesh("cpu", (1, 2), mesh_dim_names=("dp", "tp"))
flat = m2._flatten()
assert repr(flat) == "DeviceMesh((dp_tp=2), 'cpu', stride=(1,))" and flat.get_coordinate() == (R,)
with warnings.catch_warnings(record=True):   # (torch warns that this will go)
    warnings.simplefilter("always")
    assert m2["dp_tp"] is flat and dist.get_process_group_ranks(flat.get_group()) == [0, 1]
for call, kind, text in [(lambda: m2["xx"], KeyError, "Valid mesh_dim_names are ['dp', 'tp', 'dp_tp']"),
                         (lambda: m2.get_group(), RuntimeError, "needs to be specified when device_mesh.ndim > 1"),
                         (lambda: m["dp"], RuntimeError, "Cannot slice a DeviceMesh without mesh_dim_names!"),
                         (lambda: init_device_mesh("cpu", (3,)), RuntimeError, "Mesh should not be bigger than "
                          "default world size 2, but found 3 ranks!")]:
    try:
        call()
        raise AssertionError(f"no {kind.__name__} for {text}")
    except kind as e:
        assert text in str(e), str(e)

# ---- coalesced collectives, backend config, split_group ----
ts = [torch.ones(2) * (R + 1), torch.arange(3.0) * (R + 1)]
dist.all_reduce_coalesced(ts)
assert ts[0].tolist() == [3.0, 3.0] and ts[1].tolist() == [0.0, 3.0, 6.0]
fut = dist.all_reduce_coalesced(ts, op=dist.ReduceOp.AVG, async_op=True)
assert fut.wait()[1].tolist() == [0.0, 3.0, 6.0]
outs = [[torch.empty(2), torch.empty(3)] for _ in range(N)]
dist.all_gather_coalesced(outs, [torch.full((2,), float(R)), torch.full((3,), 10.0 + R)])
assert [o[1].tolist() for o in outs] == [[10.0] * 3, [11.0] * 3] and outs[1][0].tolist() == [1.0, 1.0]
assert dist.get_backend_config() == "cpu:mpi,cuda:mpi"
solo = dist.split_group(split_ranks=[[1]])
assert (solo is None) == (R == 0) and (solo is None or dist.get_process_group_ranks(solo) == [1])


# ---- FSDP ----
def make():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, 8), nn.Tanh()), nn.Linear(8, 3))


KEYS = ["0.weight", "0.bias", "2.0.weight", "2.0.bias", "3.weight", "3.bias"]
linear = ModuleWrapPolicy({nn.Linear})
# torch's named parameters and shard sizes on 2 ranks (recorded from torch 2.13, gloo)
SHARDS = {"whole": [("_fsdp_wrapped_module._flat_param", 70)],
          "linear": [("_fsdp_wrapped_module.0._fsdp_wrapped_module._flat_param", 20),
                     ("_fsdp_wrapped_module.2.0._fsdp_wrapped_module._flat_param", 36),
                     ("_fsdp_wrapped_module.3._fsdp_wrapped_module._flat_param", 14)],
          "size": [("_fsdp_wrapped_module._flat_param", 34),
                   ("_fsdp_wrapped_module.2.0._fsdp_wrapped_module._flat_param", 36)],
          "orig": [[20, 0, 36, 0, 14, 0], [12, 8, 28, 8, 10, 3]][R]}
CASES = [("linear", dict(auto_wrap_policy=linear), "sgd"),
         ("whole", dict(sharding_strategy=ShardingStrategy.SHARD_GRAD_OP), "sgd"),
         ("size", dict(auto_wrap_policy=functools.partial(size_based_auto_wrap_policy, min_num_params=50)), "adam"),
         ("orig", dict(auto_wrap_policy=linear, use_orig_params=True), "adam"),
         ("noshard", dict(sharding_strategy=ShardingStrategy.NO_SHARD, auto_wrap_policy=linear), "sgd")]
B = 3
for case, kwargs, optim in CASES:
    model = FSDP(make(), **kwargs)
    ref = make()
    names = [(n, p.numel()) for n, p in model.named_parameters()]
    if case == "orig":
        assert [n for n, _ in names] == [f"_fsdp_wrapped_module.{k[0]}._fsdp_wrapped_module.{k[1]}"
                                         for k in (key.rsplit(".", 1) for key in KEYS)], names
        assert [k for _, k in names] == SHARDS["orig"], names
    elif case in SHARDS:
        assert names == SHARDS[case], (case, names)
    assert list(model.state_dict()) == KEYS, list(model.state_dict())
    gathers = []
    for unit in FSDP.fsdp_modules(model):
        h = unit._handle
        if h is not None:
            h.gather = functools.partial(lambda f, seen, *a: seen.append(1) or f(*a), h.gather, gathers)
    if optim == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        ref_opt = torch.optim.Adam(ref.parameters(), lr=0.01)
    gen = torch.Generator().manual_seed(1)
    for step in range(3):
        x, y = torch.randn(N * B, 4, generator=gen), torch.randn(N * B, 3, generator=gen)
        mine = slice(R * B, (R + 1) * B)
        opt.zero_grad()
        nn.functional.mse_loss(model(x[mine]), y[mine]).backward()
        ref_opt.zero_grad()
        nn.functional.mse_loss(ref(x), y).backward()
        if step == 2:   # the norm of the whole gradient, as nn.utils on the unsharded model
            got = model.clip_grad_norm_(0.05)
            want = nn.utils.clip_grad_norm_(ref.parameters(), 0.05)
            assert close(got, want), (case, got, want)
        opt.step()
        ref_opt.step()
    # one gather per unit and forward; FULL_SHARD freed them after forward, so units whose parameters backward
    # needs (all but the first Linear: its input needs no gradient) gather again in backward
    assert len(gathers) == 3 * {"linear": 3 + 2, "orig": 3 + 2, "size": 2 + 2, "whole": 1, "noshard": 3}[case], \
        (case, len(gathers))
    # the optimizer's full state under the parameters' names, and back to this rank's shards
    osd, ref_osd = FSDP.optim_state_dict(model, opt), ref_opt.state_dict()
    ref_names = [n for n, _ in ref.named_parameters()]
    assert sorted(osd["state"]) == sorted(KEYS) and sorted(osd["param_groups"][0]["params"]) == sorted(KEYS)
    for name, st in osd["state"].items():
        for k, v in st.items():
            assert close(v, ref_osd["state"][ref_names.index(name)][k]), (case, name, k)
    mine_sd, back = opt.state_dict(), FSDP.optim_state_dict_to_load(model, opt, osd)
    assert back["param_groups"] == mine_sd["param_groups"] and back["state"].keys() == mine_sd["state"].keys()
    for i, st in mine_sd["state"].items():
        assert all(close(v, back["state"][i][k], 0) for k, v in st.items()), (case, i)
    want = ref.state_dict()
    with FSDP.state_dict_type(model, StateDictType.FULL_STATE_DICT, FullStateDictConfig(rank0_only=True)):
        full = model.state_dict()
    assert list(full) == (KEYS if R == 0 else []), list(full)
    for k, v in full.items():
        assert close(v, want[k]), (case, k, float((v - want[k]).abs().max()))
    # SHARDED_STATE_DICT: each parameter a DTensor Shard(0) of torch.chunk's pieces (torch 2.13's layout with a
    # device_mesh, recorded from gloo runs); without sharding the full tensors. Loaded back after zeroing.
    with FSDP.state_dict_type(model, StateDictType.SHARDED_STATE_DICT):
        sharded = model.state_dict()
        assert list(sharded) == KEYS, list(sharded)
        for k, v in sharded.items():
            if case == "noshard":
                assert not isinstance(v, DTensor) and close(v, want[k]), (case, k)
            else:
                assert isinstance(v, DTensor) and v.placements == (Shard(0),) and not v.requires_grad, (case, k)
                assert close(v.to_local(), want[k].chunk(N)[R]) and close(v.full_tensor(), want[k]), (case, k)
        with FSDP.summon_full_params(model), torch.no_grad():
            for p in model.parameters():
                p.zero_()
        model.load_state_dict(sharded)
    with FSDP.summon_full_params(model):
        for (n, p), (rn, q) in zip(model.named_parameters(), ref.named_parameters(), strict=True):
            assert n == rn and close(p, q), (case, n, rn)
    if case == "orig":   # the averaged full gradients too
        with FSDP.summon_full_params(model, with_grads=True):
            assert all(close(p.grad, q.grad) for p, q in zip(model.parameters(), ref.parameters(), strict=True))
    assert sum(p.numel() for p in model.parameters()) < 139 or case == "noshard"

# mixed precision: bfloat16 shards all-gathered, float32 gradients reduce-scattered; close to the same training on
# the whole batch in a group of one (NO_SHARD), within bfloat16's rounding
mp = MixedPrecision(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
model = FSDP(make(), auto_wrap_policy=linear, mixed_precision=mp, use_orig_params=True)
alone = [dist.new_group([0]), dist.new_group([1])][R]
solo_model = FSDP(make(), auto_wrap_policy=linear, mixed_precision=mp, process_group=alone, use_orig_params=True)
opts = [torch.optim.SGD(m.parameters(), lr=0.1) for m in (model, solo_model)]
gen = torch.Generator().manual_seed(2)
for _ in range(3):
    x, y = torch.randn(N * B, 4, generator=gen, dtype=torch.float64), torch.randn(N * B, 3, generator=gen)
    for net, opt, part in ((model, opts[0], slice(R * B, (R + 1) * B)), (solo_model, opts[1], slice(None))):
        opt.zero_grad()
        out = net(x[part])
        assert out.dtype == torch.bfloat16
        nn.functional.mse_loss(out.float(), y[part]).backward()
        assert all(p.grad.dtype == torch.float32 for p in net.parameters() if p.grad is not None)
        opt.step()
with FSDP.summon_full_params(model), FSDP.summon_full_params(solo_model):
    for p, q in zip(model.parameters(), solo_model.parameters(), strict=True):
        assert p.dtype == torch.float32 and close(p, q, 2e-2), float((p - q).abs().max())

# hybrid sharding: shards within a group, replicas across another; the same training as on the whole batch
for kwargs in (dict(device_mesh=init_device_mesh("cpu", (2, 1))), dict(device_mesh=init_device_mesh("cpu", (1, 2))),
               dict(process_group=(alone, dist.group.WORLD), auto_wrap_policy=linear),
               dict(auto_wrap_policy=linear, sync_module_states=True)):
    for strategy in (ShardingStrategy.HYBRID_SHARD, ShardingStrategy._HYBRID_SHARD_ZERO2):
        model, ref = FSDP(make(), sharding_strategy=strategy, **kwargs), make()
        opts = [torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9) for net in (model, ref)]
        gen = torch.Generator().manual_seed(3)
        for _ in range(3):
            x, y = torch.randn(N * B, 4, generator=gen), torch.randn(N * B, 3, generator=gen)
            for net, opt, part in ((model, opts[0], slice(R * B, (R + 1) * B)), (ref, opts[1], slice(None))):
                opt.zero_grad()
                nn.functional.mse_loss(net(x[part]), y[part]).backward()
                opt.step()
        with FSDP.summon_full_params(model):
            for p, q in zip(model.parameters(), ref.parameters(), strict=True):
                assert close(p, q), (kwargs, strategy)
try:
    FSDP(make(), sharding_strategy=ShardingStrategy.HYBRID_SHARD)
except ValueError as e:
    assert "Manual wrapping with ShardingStrategy.HYBRID_SHARD requires" in str(e)
else:
    raise AssertionError("manual hybrid wrapping without groups")

# summon_full_params writes changes back to the shards; load_state_dict shards a full state dict
model = FSDP(make(), auto_wrap_policy=linear)
with FSDP.summon_full_params(model):
    model.module[0].weight.data.fill_(1.5)
assert model.state_dict()["0.weight"].eq(1.5).all()
model.load_state_dict(make().state_dict())
assert all(close(v, make().state_dict()[k], 0) for k, v in model.state_dict().items())

# no_sync: local unsharded gradients, reduced with the next synchronised backward
ref = make()
gen = torch.Generator().manual_seed(2)
x, y = torch.randn(2 * N * B, 4, generator=gen), torch.randn(2 * N * B, 3, generator=gen)
first, second = slice(R * B, (R + 1) * B), slice((N + R) * B, (N + R + 1) * B)
with model.no_sync():
    nn.functional.mse_loss(model(x[first]), y[first]).backward()
assert all(p.grad is None for p in model.parameters())
nn.functional.mse_loss(model(x[second]), y[second]).backward()
for half in (slice(0, N * B), slice(N * B, 2 * N * B)):
    nn.functional.mse_loss(ref(x[half]), y[half]).backward()
opt = torch.optim.SGD(model.parameters(), lr=1.0)
opt.step()
torch.optim.SGD(ref.parameters(), lr=1.0).step()
full = model.state_dict()
assert all(close(full[k], v) for k, v in ref.state_dict().items())

# ---- FSDP2: fully_shard on submodules, then the root; per-parameter dim-0 shards (torch.chunk rows) ----
def make2():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, 8), nn.Tanh()), nn.Linear(8, 3),
                         nn.Linear(3, 1, bias=False))


model, ref = make2(), make2()
for sub in (model[0], model[2], model[3]):
    assert fully_shard(sub, mesh=m) is sub
fully_shard(model, mesh=m)
assert isinstance(model, FSDPModule) and isinstance(model, nn.Sequential) and type(model[0]).__name__ == "FSDPLinear"
assert repr(model) == repr(ref).replace("Sequential(\n  (0): Linear", "FSDPSequential(\n  (0): FSDPLinear").replace(
    "(2): Sequential", "(2): FSDPSequential").replace("(3): Linear", "(3): FSDPLinear"), repr(model)
local = [[(4, 4), (4,), (4, 8), (4,), (2, 8), (2,), (1, 3)], [(4, 4), (4,), (4, 8), (4,), (1, 8), (1,), (0, 3)]][R]
assert [n for n, _ in model.named_parameters()] == [n for n, _ in ref.named_parameters()]
assert [tuple(p.to_local().shape) for p in model.parameters()] == local
assert all(isinstance(p, DTensor) and isinstance(p, nn.Parameter) and p.placements == (Shard(0),)
           and p.shape == q.shape for p, q in zip(model.parameters(), ref.parameters(), strict=True))
opt = torch.optim.Adam(model.parameters(), lr=0.01)
ref_opt = torch.optim.Adam(ref.parameters(), lr=0.01)
gen = torch.Generator().manual_seed(3)
for step in range(3):
    x, y = torch.randn(N * B, 4, generator=gen), torch.randn(N * B, 3, generator=gen)
    mine = slice(R * B, (R + 1) * B)
    model.set_requires_gradient_sync(step != 0)   # the first step's gradients are reduced with the second's
    nn.functional.mse_loss(model(x[mine]).expand(B, 3), y[mine]).backward()
    nn.functional.mse_loss(ref(x).expand(N * B, 3), y).backward()
    if step:
        opt.step()
        ref_opt.step()
        opt.zero_grad()
        ref_opt.zero_grad()
for (n, p), q in zip(model.named_parameters(), ref.parameters(), strict=True):
    rows = -(-q.shape[0] // N)
    assert close(p.to_local(), q[R * rows:(R + 1) * rows]) and close(p.full_tensor(), q), n
sd = model.state_dict()   # DTensors, as torch's
assert list(sd) == list(ref.state_dict()) and all(isinstance(v, DTensor) and not v.requires_grad for v in sd.values())
seen = []   # reshard_after_forward (default): gathered in forward, freed, gathered again in backward
st = model[2]._fsdp_state
st.gather = functools.partial(lambda f, log: log.append(1) or f(), st.gather, seen)
model(x[mine]).sum().backward()
assert len(seen) == 2 and st.cache is None and st.live == [], len(seen)
model[2].set_reshard_after_forward(False)
model(x[mine]).sum().backward()
assert len(seen) == 3
model[3].unshard()
assert close(model[3].weight, ref[3].weight) and model[3].weight.shape == (3, 8)
model[3].reshard()
assert isinstance(model[3].weight, DTensor) and model[3].weight.to_local().shape == local[4]

dist.destroy_process_group()
print(f"OK {R}", flush=True)
