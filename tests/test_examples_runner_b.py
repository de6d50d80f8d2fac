"""Regressions found running pytorch/examples programs (reinforcement learning, distributed) under ember."""
import array
import collections

import numpy as np
import pytest
import torch

import ember


class _Seq:
    """A user sequence: ``__len__`` and ``__getitem__`` only."""

    def __init__(self, items: list) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> object:
        return self.items[i]


@pytest.mark.parametrize("make", [
    lambda: collections.deque([1.5, 2.0, 3.0]),                      # reinforce.py: torch.tensor(deque of returns)
    lambda: collections.deque([collections.deque([1, 2]), [3, 4]]),
    lambda: array.array("d", [1.0, 2.0]),
    lambda: [_Seq([1, 2]), _Seq([3, 4])],
    lambda: collections.deque(),
])
def test_tensor_from_python_sequences(make):
    t, e = torch.tensor(make()), ember.tensor(make())
    assert str(e.dtype) == str(t.dtype) and tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_tensor_from_non_sequence_errors_as_torch():
    for data in ({1: 2}.keys(), {1: 2}):
        with pytest.raises(RuntimeError) as te:
            torch.tensor(data)
        with pytest.raises(RuntimeError) as ee:
            ember.tensor(data)
        assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("arg", ["cpu", "meta", "cuda", 1.5, None, -1])
def test_cuda_set_device_argument_errors_as_torch(arg):
    """multigpu_torchrun.py's torch.cuda.set_device: the index checks come before any CUDA call."""
    def run(lib):
        try:
            return lib.cuda.set_device(arg)
        except ValueError as e:
            return str(e)
    assert run(ember) == run(torch)


def test_legacy_distributed_tensor_modules_as_torch():
    """tensor_parallel_example.py imports init_device_mesh from torch.distributed._tensor.device_mesh."""
    import importlib

    for lib in (torch, ember):
        name = lib.__name__
        legacy = importlib.import_module(f"{name}.distributed._tensor")
        mesh = importlib.import_module(f"{name}.distributed._tensor.device_mesh")
        api = importlib.import_module(f"{name}.distributed._tensor.api")
        placements = importlib.import_module(f"{name}.distributed._tensor.placement_types")
        tensor = importlib.import_module(f"{name}.distributed.tensor")
        device_mesh = importlib.import_module(f"{name}.distributed.device_mesh")
        assert mesh.init_device_mesh is device_mesh.init_device_mesh
        assert mesh.DeviceMesh is importlib.import_module(f"{name}.distributed.tensor.device_mesh").DeviceMesh
        assert api.DTensor is legacy.DTensor is tensor.DTensor
        assert placements.Shard is legacy.Shard is tensor.Shard
        assert legacy.distribute_tensor is tensor.distribute_tensor


def test_fully_shard_of_tensor_parallel_module_refused_clearly():
    """fsdp_tp_example.py (FSDP over a tensor-parallel model on a 2-d mesh) is not supported by ember's fully_shard:
    it says so when sharding, not with a mixed Tensor/DTensor error in the first forward."""
    import ember.distributed as dist
    from ember.distributed.device_mesh import init_device_mesh
    from ember.distributed.fsdp import fully_shard
    from ember.distributed.tensor.parallel import ColwiseParallel, parallelize_module

    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        mesh = init_device_mesh("cpu", (1, 1), mesh_dim_names=("dp", "tp"))
        model = parallelize_module(ember.nn.Linear(4, 2), mesh["tp"], ColwiseParallel())
        with pytest.raises(NotImplementedError, match="already DTensors"):
            fully_shard(model, mesh=mesh["dp"])
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("make", [lambda L: L.device("cpu"), lambda L: 0])
def test_init_process_group_device_id_checked_as_torch(make):
    """FSDP2/example.py passes device_id=torch.device('cpu') without an accelerator: torch refuses it."""
    import torch.distributed as tdist

    import ember.distributed as dist

    if ember.accelerator.is_available() and not isinstance(make(ember), ember.device):
        pytest.skip("with a GPU ember takes an index; the oracle torch is a CPU build")
    with pytest.raises(ValueError) as te:
        tdist.init_process_group("gloo", store=tdist.HashStore(), rank=0, world_size=1, device_id=make(torch))
    with pytest.raises(ValueError) as ee:
        dist.init_process_group("gloo", rank=0, world_size=1, device_id=make(ember))
    assert str(ee.value) == str(te.value)
    assert not dist.is_initialized()


def _dtensor_names(lib):
    import importlib

    return (importlib.import_module(f"{lib.__name__}.distributed.tensor"),
            importlib.import_module(f"{lib.__name__}.distributed.device_mesh").init_device_mesh("cpu", (1,)))


def test_like_factories_keep_dtensor_layouts_as_torch(worlds_of_one):
    """FSDP2/example.py's model.to_empty: empty_like of a sharded parameter is sharded; filled copies of a partial
    sum are replicated, as torch's."""
    def layouts(lib):
        T, mesh = _dtensor_names(lib)
        out = []
        for d in (T.distribute_tensor(lib.ones(4, 3), mesh, [T.Shard(1)]),
                  T.DTensor.from_local(lib.ones(4, 3), mesh, [T.Partial()])):
            for f in (lib.empty_like, lib.zeros_like, lib.ones_like, lambda t: lib.full_like(t, 2),
                      lambda t: lib.empty_like(t, device="cpu", dtype=lib.float64)):
                r = f(d)
                out.append((type(r).__name__, repr(r.placements), tuple(r.shape), str(r.dtype)))
            out.append(lib.full_like(d, 2).full_tensor().tolist())
        return out
    assert layouts(ember) == layouts(torch)


def test_to_empty_and_reset_parameters_of_fully_sharded_module_as_torch(worlds_of_one):
    """FSDP2/example.py: fully_shard, then to_empty(device=...) and reset_parameters (nn.init on DTensor parameters
    that require grad) keep DTensor parameters of the same layout, and the module runs."""
    def run(lib):
        import importlib

        T, mesh = _dtensor_names(lib)
        lin = lib.nn.Linear(3, 4)
        importlib.import_module(f"{lib.__name__}.distributed.fsdp").fully_shard(lin, mesh=mesh)
        lin.to_empty(device="cpu")
        lin.reset_parameters()
        return ([(n, type(p).__name__, repr(p.placements), tuple(p.to_local().shape)) for n, p in
                 lin.named_parameters()], tuple(lin(lib.ones(2, 3)).shape))
    assert run(ember) == run(torch)


@pytest.mark.parametrize("args", [(None,), (1.5,), ([1],), ("cuda", "x"), (None, 1)])
def test_device_argument_type_errors_as_torch(args):
    with pytest.raises(TypeError) as te:
        torch.device(*args)
    with pytest.raises(TypeError) as ee:
        ember.device(*args)
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("dev", [None, "cpu", "cuda", "meta", "xyz"])
def test_get_default_backend_for_device_as_torch(dev):
    """ddp/example.py calls it with torch.accelerator.current_accelerator(), None without accelerator."""
    def run(lib):
        try:
            return lib.distributed.get_default_backend_for_device(dev)
        except (TypeError, ValueError, RuntimeError) as e:
            return type(e).__name__, str(e)
    assert run(ember) == run(torch)


@pytest.mark.skipif(ember.cuda.is_available(), reason="the oracle torch is a CPU build")
def test_device_context_sets_the_default_device_as_torch():
    """``with torch.device(d):`` makes factories create on ``d`` (a CUDA block fails without CUDA, as torch's) and
    restores the default on exit."""
    def run(lib):
        out = []
        with lib.device("cpu"):
            try:
                with lib.device("cuda"):
                    lib.empty(2)
            except AssertionError as e:
                out.append(str(e))
            out.append(str(lib.empty(1).device))
        out.append(str(lib.get_default_device()))
        return out
    assert run(ember) == run(torch)


def test_small_last_dim_softmax_close_to_torch():
    """reinforce.py's policy: softmax over a (1, 2) row (last dim: torch multiplies the exps by the sum's
    reciprocal); values within float32 rounding of torch's and rows summing to 1 as torch's."""
    x = np.random.default_rng(0).standard_normal((50, 2)).astype(np.float32)
    t = torch.softmax(torch.from_numpy(x), 1).numpy()
    e = ember.softmax(ember.from_numpy(x), 1).numpy()
    np.testing.assert_allclose(e, t, rtol=3e-7, atol=0)
    assert e.dtype == t.dtype
