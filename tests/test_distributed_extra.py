"""ember.distributed beyond DDP: DeviceMesh, coalesced collectives and the smaller c10d names, FSDP.

One job (``mpiexec -n 2``, tests/data/distributed/extra.py) checks the multi-rank behaviour: meshes and their
groups, coalesced collectives, split_group, and FSDP training against single-process training on the
concatenated batch. The in-process tests compare a world of one with torch's (gloo, a world of one): names,
reprs, state-dict keys, errors.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import ember
import ember.distributed as dist
from ember.distributed.run import find_mpiexec

HERE = Path(__file__).parent / "data" / "distributed"
MPIEXEC = find_mpiexec()
needs_mpi = pytest.mark.skipif(MPIEXEC is None or not dist.is_mpi_available(), reason="needs mpi4py and mpiexec")


@needs_mpi
def test_mesh_coalesced_and_fsdp_two_ranks() -> None:
    env = {"HYDRA_LAUNCHER": "fork", "OMP_NUM_THREADS": "1", "EMBER_DIST_TIMEOUT": "60"}
    import os
    p = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "extra.py"], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, **env), cwd=HERE)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "OK 0" in p.stdout and "OK 1" in p.stdout, p.stdout + p.stderr


def _outcome(call: object) -> tuple:
    try:
        return ("ok", repr(call()))
    except Exception as e:   # the error's type and text
        return (type(e).__name__, str(e))


def test_mesh_and_c10d_names_as_torch(worlds_of_one: object) -> None:
    import torch
    tdist = worlds_of_one
    from torch.distributed.device_mesh import init_device_mesh as tinit

    from ember.distributed.device_mesh import init_device_mesh

    def mesh_facts(init: object, d: object) -> list:
        m = init("cpu", (1,))
        m2 = init("cpu", (1, 1), mesh_dim_names=("dp", "tp"))
        facts = [repr(m), m.mesh.tolist(), str(m.mesh.dtype).split(".")[-1], m.ndim, m.shape, m.size(),
                 m.get_coordinate(), m.get_local_rank(), m.get_group() is d.group.WORLD, repr(m2), m2.shape,
                 m2.size(1), m2.mesh_dim_names, m2.get_coordinate(), m2.get_local_rank("tp"), repr(m2["tp"]),
                 m2["dp"].mesh.tolist(), repr(m2._flatten()), m2 == init("cpu", (1, 1), mesh_dim_names=("dp", "tp"))]
        for bad in (lambda: m2["xx"], lambda: m2[("tp", "dp")], lambda: m2.get_group(), lambda: m2.get_local_rank(),
                    lambda: m2.get_group(5), lambda: m2.size(3), lambda: m2.get_group("zz"), lambda: m["dp"],
                    lambda: init("cpu", (2,)), lambda: init("cpu", (1,), mesh_dim_names=("a", "b")),
                    lambda: init("cpu", (1, 1), mesh_dim_names=("a", "a")), lambda: init("cpu:0", (1,))):
            facts.append(_outcome(bad))
        return facts
    assert mesh_facts(init_device_mesh, dist) == mesh_facts(tinit, tdist)
    assert dist.DeviceMesh is ember.distributed.device_mesh.DeviceMesh and dist.init_device_mesh is init_device_mesh

    def c10d_facts(lib: object, d: object) -> list:
        ts = [lib.ones(2), lib.arange(3.0)]
        d.all_reduce_coalesced(ts, op=d.ReduceOp.AVG)
        outs = [[lib.empty(2), lib.empty(3)]]
        d.all_gather_coalesced(outs, ts)
        facts = [[t.tolist() for t in ts], [t.tolist() for t in outs[0]], d.get_backend_config(),
                 _outcome(lambda: d.all_reduce_coalesced([lib.ones(2), lib.ones(2, dtype=lib.float64)])),
                 _outcome(lambda: d.all_reduce_coalesced([lib.ones(2, dtype=lib.complex64)], op=d.ReduceOp.MAX)),
                 _outcome(lambda: d.all_gather_coalesced(lib.ones(2), [lib.ones(2)])),
                 _outcome(lambda: d.split_group(split_ranks=[])), str(d.GroupName)[-9:]]
        for name in ("AllreduceOptions", "AllreduceCoalescedOptions", "AllToAllOptions", "BarrierOptions",
                     "BroadcastOptions", "GatherOptions", "ReduceOptions", "ReduceScatterOptions", "ScatterOptions"):
            o = getattr(d, name)()
            facts.append((name, {k: getattr(o, k) for k in dir(o) if not k.startswith("_") and k != "reduceOp"}))
        level = d.get_debug_level()
        for lv in ("INFO", "DETAIL", "OFF"):
            d.set_debug_level(getattr(d.DebugLevel, lv))
            facts.append((str(d.get_debug_level()), repr(d.get_debug_level()), int(d.get_debug_level())))
        facts.append(_outcome(lambda: d.set_debug_level(1))[0])
        d.set_debug_level(level)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            facts += [int(d.reduce_op.MAX), [w.category for w in caught], list(d.reduce_op.__members__)]
        return facts
    assert c10d_facts(ember, dist) == c10d_facts(torch, tdist)
    assert isinstance(dist.AllreduceOptions().reduceOp, type(dist.ReduceOp.SUM))
    solo = dist.split_group(split_ranks=[[0]])   # (torch needs an accelerator to split; MPI splits anything)
    assert dist.get_process_group_ranks(solo) == [0] and dist.get_rank(solo) == 0


def test_debug_level_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    before = dist.get_debug_level()
    monkeypatch.setenv("TORCH_DISTRIBUTED_DEBUG", "detail")
    dist.set_debug_level_from_env()
    assert dist.get_debug_level() == dist.DebugLevel.DETAIL
    monkeypatch.setenv("TORCH_DISTRIBUTED_DEBUG", "foo")
    with pytest.raises(ValueError, match="The value of TORCH_DISTRIBUTED_DEBUG must be OFF, INFO, or DETAIL."):
        dist.set_debug_level_from_env()
    dist.set_debug_level(before)


def test_fsdp_names_state_dict_and_repr_as_torch(worlds_of_one: object) -> None:
    import torch
    from torch.distributed import fsdp as tfsdp
    from torch.distributed.fsdp import wrap as twrap

    from ember.distributed import fsdp
    from ember.distributed.fsdp import wrap

    def facts(lib: object, f: object, w: object) -> list:
        nn = lib.nn

        def make() -> object:
            lib.manual_seed(0)
            return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, 8), nn.Tanh()),
                                 nn.Linear(8, 3), nn.ModuleList([nn.Linear(3, 3)]))
        out = []
        for kw in (dict(), dict(auto_wrap_policy=w.ModuleWrapPolicy({nn.Linear})),
                   dict(auto_wrap_policy=w.ModuleWrapPolicy({nn.Linear}), use_orig_params=True),
                   dict(auto_wrap_policy=functools.partial(w.size_based_auto_wrap_policy, min_num_params=20)),
                   dict(auto_wrap_policy=w.always_wrap_policy, sharding_strategy=f.ShardingStrategy.SHARD_GRAD_OP),
                   dict(auto_wrap_policy=functools.partial(w.lambda_auto_wrap_policy,
                                                           lambda_fn=lambda m: isinstance(m, nn.Tanh)))):
            model = f.FullyShardedDataParallel(make(), device_id=lib.device("cpu"), **kw)
            out.append(repr(model).replace("torch.", "ember."))
            out.append([(n, tuple(p.shape)) for n, p in model.named_parameters()])
            out.append([(k, tuple(v.shape)) for k, v in model.state_dict().items()])
            with f.FullyShardedDataParallel.summon_full_params(model):
                out.append([(n, tuple(p.shape)) for n, p in model.named_parameters()])
            out.append([type(m).__name__ for m in model.modules()])
            out.append(len(f.FullyShardedDataParallel.fsdp_modules(model, root_only=True)))
            x = lib.ones(2, 4)
            out.append(model[0](x).shape if not kw else None)   # (indexing reaches the wrapped Sequential)
            if kw.get("use_orig_params") or "sharding_strategy" in kw:   # the optimizer's full state, by name
                opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
                model[3](model[2](model[0](x))).sum().backward()
                opt.step()
                osd = f.FullyShardedDataParallel.optim_state_dict(model, opt)
                out.append({n: {k: [round(float(e), 5) for e in v.reshape(-1)] for k, v in st.items()}
                            for n, st in osd["state"].items()})
                out.append(osd["param_groups"][0]["params"])
        model = make()
        mesh = lib.distributed.device_mesh.init_device_mesh("cpu", (1,))
        out.append(_outcome(lambda: f.fully_shard(model[4], mesh=mesh)))
        for sub in (model[0], model[2], model[4][0]):
            f.fully_shard(sub, mesh=mesh)
        assert f.fully_shard(model, mesh=mesh) is model
        out += [repr(model).replace("torch.", "ember."),
                [c.__name__ for c in type(model).__mro__ if c.__name__[0] != "_"],
                [(n, tuple(p.shape)) for n, p in model.named_parameters()], list(model.state_dict()),
                isinstance(model[2], f.FSDPModule), isinstance(model[1], f.FSDPModule)]
        model[2](model[0](lib.ones(2, 4))).sum().backward()
        out.append([tuple(p.grad.shape) if p.grad is not None else None for p in model.parameters()])
        out += [repr(f.ShardingStrategy.NO_SHARD), str(f.StateDictType.FULL_STATE_DICT), repr(f.CPUOffload()),
                repr(f.FullStateDictConfig(rank0_only=True)), repr(f.BackwardPrefetch.BACKWARD_POST)]
        return out
    ours, theirs = facts(ember, fsdp, wrap), facts(torch, tfsdp, twrap)
    assert ours == theirs


def test_fsdp_mixed_precision_as_torch(worlds_of_one: object) -> None:
    import numpy as np
    import torch
    from torch.distributed import fsdp as tfsdp
    from torch.distributed.fsdp import wrap as twrap

    from ember.distributed import fsdp
    from ember.distributed.fsdp import wrap

    def facts(lib: object, f: object, w: object) -> tuple[list, list]:
        nn = lib.nn
        out: list = []
        values: list = []
        for kw, mp in ((dict(), dict(param_dtype=lib.bfloat16, reduce_dtype=lib.float32, buffer_dtype=lib.bfloat16)),
                       (dict(use_orig_params=True), dict(param_dtype=lib.float16, buffer_dtype=lib.float16,
                                                         keep_low_precision_grads=True)),
                       (dict(auto_wrap_policy=w.ModuleWrapPolicy({nn.Linear})),
                        dict(param_dtype=lib.bfloat16, buffer_dtype=lib.bfloat16))):
            lib.manual_seed(0)
            model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3))
            seen: list = []
            model[0].register_forward_hook(lambda m, i, o, seen=seen: seen.append((str(i[0].dtype),
                                                                                    str(m.weight.dtype))))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model = f.FullyShardedDataParallel(model, device_id=lib.device("cpu"),
                                                   mixed_precision=f.MixedPrecision(**mp), **kw)
            out.append([str(c.message).replace("torch.", "ember.") for c in caught if "NO_SHARD" not in str(c.message)])
            out.append([repr(u.mixed_precision).replace("torch.", "ember.")
                        for u in f.FullyShardedDataParallel.fsdp_modules(model)])
            x = (lib.arange(20, dtype=lib.float64).reshape(5, 4) * 1.37).sin()   # float64: the root casts it
            y = model(x)
            out += [str(y.dtype), seen, [(n, str(b.dtype)) for n, b in model.named_buffers()]]
            y.float().square().sum().backward()
            out.append([(n, str(p.dtype), str(p.grad.dtype)) for n, p in model.named_parameters()])
            values += [y.double().detach().numpy()] + [p.grad.double().numpy() for p in model.parameters()]
            lib.optim.SGD(model.parameters(), lr=0.5).step()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sd = model.state_dict()
            out.append([(k, str(v.dtype)) for k, v in sd.items()])
            values += [v.double().numpy() for v in sd.values()]
            out.append([(n, str(b.dtype)) for n, b in model.named_buffers()])
        return out, values
    (ours, our_values), (theirs, their_values) = facts(ember, fsdp, wrap), facts(torch, tfsdp, twrap)
    for a, b in zip(ours, theirs, strict=True):
        assert a == b
    for a, b in zip(our_values, their_values, strict=True):   # computed in bfloat16/float16: a few units of 2**-8
        np.testing.assert_allclose(a, b, rtol=2e-2, atol=2e-2)


def test_fully_shard_mixed_precision_as_torch(worlds_of_one: object) -> None:
    import numpy as np
    import torch
    from torch.distributed import fsdp as tfsdp

    from ember.distributed import fsdp

    def facts(lib: object, f: object) -> tuple[list, list]:
        nn = lib.nn
        lib.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
        mesh = lib.distributed.device_mesh.init_device_mesh("cpu", (1,))
        seen: list = []
        model[2].register_forward_hook(lambda m, i, o: seen.append((str(i[0].dtype), str(o.dtype))))
        f.fully_shard(model[0], mesh=mesh, mp_policy=f.MixedPrecisionPolicy(param_dtype=lib.bfloat16))
        f.fully_shard(model, mesh=mesh, mp_policy=f.MixedPrecisionPolicy(param_dtype=lib.bfloat16,
                                                                         reduce_dtype=lib.float32,
                                                                         output_dtype=lib.float64))
        x = (lib.arange(12, dtype=lib.float32).reshape(3, 4) * 1.37).sin()
        y = model(x)
        y.square().sum().backward()
        grads = [getattr(p.grad, "full_tensor", lambda g=p.grad: g)() for p in model.parameters()]   # (DTensors)
        facts = [str(y.dtype), seen, [(str(p.dtype), str(g.dtype)) for p, g in zip(model.parameters(), grads,
                                                                                      strict=True)]]
        return facts, [y.detach().numpy()] + [g.double().numpy() for g in grads]
    (ours, our_values), (theirs, their_values) = facts(ember, fsdp), facts(torch, tfsdp)
    assert ours == theirs
    for a, b in zip(our_values, their_values, strict=True):   # bfloat16 arithmetic
        np.testing.assert_allclose(a, b, rtol=2e-2, atol=2e-2)


def test_fsdp_hybrid_sharding_arguments_as_torch(worlds_of_one: object) -> None:
    import torch
    from torch.distributed import fsdp as tfsdp

    from ember.distributed import fsdp

    def outcomes(lib: object, f: object) -> list:
        dist_ = lib.distributed
        out = []
        for kw in (dict(), dict(process_group=(dist_.new_group([0]), dist_.new_group([0]))),
                   dict(device_mesh=dist_.device_mesh.init_device_mesh("cpu", (1, 1))),
                   dict(device_mesh=dist_.device_mesh.init_device_mesh("cpu", (1,))),
                   dict(process_group=dist_.new_group([0]))):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out.append(_outcome(lambda kw=kw: (f.FullyShardedDataParallel(
                    lib.nn.Linear(3, 2), sharding_strategy=f.ShardingStrategy.HYBRID_SHARD, device_id=lib.device("cpu"),
                    **kw).sharding_strategy)))
        return [(kind, text.replace("torch.", "ember.")) for kind, text in out]
    assert outcomes(ember, fsdp) == outcomes(torch, tfsdp)


def test_fsdp_summon_with_grads_as_torch(worlds_of_one: object) -> None:
    import torch
    from torch.distributed import fsdp as tfsdp

    from ember.distributed import fsdp

    def outcomes(lib: object, f: object) -> list:
        out = []
        for orig in (False, True):
            lib.manual_seed(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = f.FullyShardedDataParallel(lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.Linear(2, 1)),
                                                   device_id=lib.device("cpu"), use_orig_params=orig)
            model(lib.ones(4, 3)).sum().backward()

            def summoned(model: object = model) -> list:
                with f.FullyShardedDataParallel.summon_full_params(model, with_grads=True):
                    return [(tuple(p.shape), [round(float(v), 4) for v in p.grad.reshape(-1)])
                            for p in model.parameters()]
            out.append(_outcome(summoned))
        return out
    assert outcomes(ember, fsdp) == outcomes(torch, tfsdp)


def test_fsdp_state_dict_types_world_of_one_as_torch(worlds_of_one: object) -> None:
    """SHARDED_STATE_DICT / LOCAL_STATE_DICT on a world of one (NO_SHARD: the full tensors, as torch), the
    settings each type defaults to, and a load back. (Two ranks: tests/data/distributed/extra.py.)"""
    import torch
    from torch.distributed import fsdp as tfsdp

    from ember.distributed import fsdp

    def facts(lib: object, f: object) -> list:
        out: list = []
        for kind in ("SHARDED_STATE_DICT", "LOCAL_STATE_DICT", "FULL_STATE_DICT"):
            lib.manual_seed(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = f.FullyShardedDataParallel(lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.BatchNorm1d(2)),
                                                   device_id=lib.device("cpu"))
            with f.FullyShardedDataParallel.state_dict_type(model, getattr(f.StateDictType, kind)):
                out.append(repr(f.FullyShardedDataParallel.get_state_dict_type(model)))
                sd = model.state_dict()
                out.append([(k, type(v).__name__, v.tolist(), v.requires_grad) for k, v in sd.items()])
                out.append(repr(model.load_state_dict({k: v * 2 for k, v in sd.items()})))
            out.append([v.tolist() for v in model.state_dict().values()])
        return out
    assert facts(ember, fsdp) == facts(torch, tfsdp)


def test_fully_shard_parameters_and_state_dict_are_dtensors_as_torch(worlds_of_one: object) -> None:
    """fully_shard's parameters, their gradients and the state dict are DTensors sharded on dim 0, as torch's."""
    import numpy as np
    import torch
    from torch.distributed import fsdp as tfsdp

    from ember.distributed import fsdp

    def facts(lib: object, f: object) -> tuple[list, list]:
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.Tanh(), lib.nn.Linear(2, 1))
        mesh = lib.distributed.device_mesh.init_device_mesh("cpu", (1,))
        f.fully_shard(model[0], mesh=mesh)
        f.fully_shard(model, mesh=mesh)
        out: list = [(n, type(p).__name__, str(p.placements), tuple(p.shape), p.requires_grad,
                      isinstance(p, lib.nn.Parameter)) for n, p in model.named_parameters()]
        model(lib.ones(4, 3)).sum().backward()
        grads = [p.grad for p in model.parameters()]
        out.append([(type(g).__name__, str(g.placements)) for g in grads])
        sd = model.state_dict()
        out.append([(k, type(v).__name__, str(v.placements), v.requires_grad) for k, v in sd.items()])
        out.append(repr(model.load_state_dict(sd)))
        return out, [t.full_tensor().numpy() for t in [*grads, *sd.values()]]
    (e, e_values), (t, t_values) = facts(ember, fsdp), facts(torch, tfsdp)
    assert e == t
    for a, b in zip(e_values, t_values, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
