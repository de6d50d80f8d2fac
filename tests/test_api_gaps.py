"""Public APIs filled in after comparing namespaces with torch: selective activation checkpointing and the
checkpoint helpers, torch.sparse's spdiags/spsolve/legacy types, autograd's multithreading switch, and the
distributed-checkpoint interfaces users subclass — each against torch."""

from __future__ import annotations

import functools
import io
import os
import threading
import warnings
from typing import Any

import numpy as np
import pytest

import ember
import ember.utils.checkpoint as ecp
from oracle import assert_close, assert_same_error, torch

tcp = pytest.importorskip("torch.utils.checkpoint")


def _counted_op(lib: Any, count: list[int]) -> Any:
    """A custom op whose kernel counts its runs (so a test sees which calls the recomputation repeats)."""
    @lib.library.custom_op("apigaps::counted", mutates_args=(), schema="(Tensor x) -> Tensor")
    def counted(x: Any) -> Any:
        count[0] += 1
        return x.sin()

    def setup(ctx: Any, inputs: tuple, output: Any) -> None:
        ctx.save_for_backward(inputs[0])

    counted.register_autograd(lambda ctx, g: g * ctx.saved_tensors[0].cos(), setup_context=setup)
    return counted


_COUNTS = {"ember": [0], "torch": [0]}
_COUNTED = {"ember": _counted_op(ember, _COUNTS["ember"]), "torch": _counted_op(torch, _COUNTS["torch"])}


def _libs() -> list[tuple[str, Any, Any]]:
    return [("ember", ember, ecp), ("torch", torch, tcp)]


# ------------------------------------------------------------------------------- selective activation checkpoint
def test_checkpoint_policy_enum_and_context() -> None:
    assert [(p.name, p.value) for p in ecp.CheckpointPolicy] == [(p.name, p.value) for p in tcp.CheckpointPolicy]
    ctx = ecp.SelectiveCheckpointContext(is_recompute=False)
    assert (ctx.is_recompute, ctx.op_output) == (False, None)
    ignored = ecp.SAC_IGNORED_OPS
    assert sorted(map(str, ignored)) == sorted(map(str, tcp.SAC_IGNORED_OPS))
    assert ember.ops.aten.detach.default in ignored and ember.ops.aten.mm.default not in ignored


@pytest.mark.parametrize("policy", ["MUST_SAVE", "PREFER_RECOMPUTE", True, False])
def test_saved_calls_are_not_recomputed(policy: Any) -> None:
    results = []
    for name, lib, cp in _libs():
        counted, count = _COUNTED[name], _COUNTS[name]
        count[0] = 0
        chosen = getattr(cp.CheckpointPolicy, policy) if isinstance(policy, str) else policy
        seen = []

        def policy_fn(ctx: Any, op: Any, *args: Any, lib: Any = lib, cp: Any = cp, chosen: Any = chosen,
                      seen: list = seen, **kwargs: Any) -> Any:
            seen.append((str(op), ctx.is_recompute, len(args), isinstance(ctx.op_output, lib.Tensor)))
            return chosen if op == lib.ops.apigaps.counted.default else cp.CheckpointPolicy.PREFER_RECOMPUTE

        x = lib.tensor([0.1, 0.2, 0.3], requires_grad=True)
        out = cp.checkpoint(lambda x, counted=counted: counted(counted(x) * 2).sum(), x, use_reentrant=False,
                            context_fn=functools.partial(cp.create_selective_checkpoint_contexts, policy_fn))
        after_forward = count[0]
        out.backward()
        results.append((seen, after_forward, count[0], x.grad))
    (e_seen, e_fwd, e_total, e_grad), (t_seen, t_fwd, t_total, t_grad) = results
    assert (e_seen, e_fwd, e_total) == (t_seen, t_fwd, t_total)
    assert_close(e_grad, t_grad)


def _sac_fn(lib: Any, x: Any, w: Any, p: float = 0.3) -> Any:
    """torch's SAC sees dropout as several aten ops, ember's as one call: ``p=0`` leaves it out."""
    y = x @ w
    z = lib.nn.functional.dropout(y.sin() * 2, p, training=p > 0)
    return (z + x.sum()).relu().sum()


def test_sac_op_names_and_gradients_match_torch_and_plain_autograd() -> None:
    results = {}
    for name, lib, cp in _libs():
        seen: list[str] = []

        def policy_fn(ctx: Any, op: Any, *args: Any, seen: list = seen, lib: Any = lib, cp: Any = cp,
                      **kwargs: Any) -> Any:
            seen.append(str(op))
            return cp.CheckpointPolicy.MUST_SAVE if op in (lib.ops.aten.mm.default, lib.ops.aten.sin.default) \
                else cp.CheckpointPolicy.PREFER_RECOMPUTE

        lib.manual_seed(0)
        x = lib.randn(3, 4, requires_grad=True)
        w = lib.randn(4, 5, requires_grad=True)
        grads = []
        for context in (None, policy_fn, [lib.ops.aten.mm.default]):
            x.grad = w.grad = None
            lib.manual_seed(1)   # the recomputation replays the forward's dropout mask
            if context is None:
                _sac_fn(lib, x, w).backward()
            else:
                cp.checkpoint(functools.partial(_sac_fn, lib), x, w, use_reentrant=False,
                              context_fn=functools.partial(cp.create_selective_checkpoint_contexts, context)).backward()
            grads.append((x.grad.detach().numpy(), w.grad.detach().numpy()))
        for g in grads[1:]:
            np.testing.assert_allclose(g[0], grads[0][0], rtol=1e-6)
            np.testing.assert_allclose(g[1], grads[0][1], rtol=1e-6)
        seen.clear()
        cp.checkpoint(functools.partial(_sac_fn, lib, p=0.0), x, w, use_reentrant=False,
                      context_fn=functools.partial(cp.create_selective_checkpoint_contexts, policy_fn)).backward()
        results[name] = (grads[1], seen)
    assert results["ember"][1] == results["torch"][1]
    np.testing.assert_allclose(results["ember"][0][0], results["torch"][0][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results["ember"][0][1], results["torch"][0][1], rtol=1e-5, atol=1e-6)


def test_sac_sees_inplace_calls_and_not_calls_returning_their_input() -> None:
    def run(lib: Any, cp: Any) -> tuple:
        seen: list[str] = []

        def policy_fn(ctx: Any, op: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(str(op))
            return cp.CheckpointPolicy.PREFER_RECOMPUTE

        def fn(x: Any) -> Any:
            y = x.sin()
            y.mul_(2)
            y += 1
            z = y.contiguous().to(lib.float32)   # both hand back y itself: no operator runs
            return (z * z).sum()

        x = lib.tensor([0.1, 0.2], requires_grad=True)
        cp.checkpoint(fn, x, use_reentrant=False,
                      context_fn=functools.partial(cp.create_selective_checkpoint_contexts, policy_fn)).backward()
        return seen, x.grad.numpy()

    (e_seen, e_grad), (t_seen, t_grad) = run(ember, ecp), run(torch, tcp)
    assert e_seen == t_seen
    np.testing.assert_allclose(e_grad, t_grad, rtol=1e-6)


def _mutating(x: Any) -> Any:
    y = x.sin()
    y.mul_(2)
    return (y * y).sum()


def test_sac_errors_match_torch() -> None:
    def run(lib: Any, cp: Any, ops: Any, fn: Any = _mutating, allow: bool = False, twice: bool = False) -> Any:
        x = lib.tensor([0.1, 0.2, 0.3], requires_grad=True)
        out = cp.checkpoint(fn, x, use_reentrant=False,
                            context_fn=functools.partial(cp.create_selective_checkpoint_contexts, ops, allow))
        out.backward(retain_graph=twice)
        if twice:
            out.backward()
        return x.grad

    assert_same_error(lambda: ecp.create_selective_checkpoint_contexts([ember.ops.aten.mm]),
                      lambda: tcp.create_selective_checkpoint_contexts([torch.ops.aten.mm]))
    assert_same_error(lambda: ecp.create_selective_checkpoint_contexts(3),
                      lambda: tcp.create_selective_checkpoint_contexts(3))
    assert_same_error(lambda: run(ember, ecp, [ember.ops.aten.sin.default]),
                      lambda: run(torch, tcp, [torch.ops.aten.sin.default]))
    assert_close(run(ember, ecp, [ember.ops.aten.sin.default], allow=True),
                 run(torch, tcp, [torch.ops.aten.sin.default], allow=True))
    counted = {"ember": ember.ops.apigaps.counted.default, "torch": torch.ops.apigaps.counted.default}
    assert_same_error(
        lambda: run(ember, ecp, [counted["ember"]], fn=lambda x: _COUNTED["ember"](x * 2).sum(), twice=True),
        lambda: run(torch, tcp, [counted["torch"]], fn=lambda x: _COUNTED["torch"](x * 2).sum(), twice=True))
    # without anything cached, a second backward recomputes as the first did
    assert_close(run(ember, ecp, [], fn=lambda x: _COUNTED["ember"](x * 2).sum(), twice=True),
                 run(torch, tcp, [], fn=lambda x: _COUNTED["torch"](x * 2).sum(), twice=True))


def test_checkpoint_global_switches_and_device_states() -> None:
    for _, lib, cp in _libs():
        x = lib.ones(2, requires_grad=True)
        with cp.set_checkpoint_debug_enabled(True):
            with pytest.raises(ValueError, match="debug=True is incompatible with non-default context_fn"):
                cp.checkpoint(lambda t: t * 2, x, use_reentrant=False,
                              context_fn=functools.partial(cp.create_selective_checkpoint_contexts, []))
        with cp.set_checkpoint_debug_enabled(None), cp.set_checkpoint_early_stop(False):
            out = cp.checkpoint(lambda t: (t.exp() * 2).sum(), x, use_reentrant=False)
        out.backward()
        np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(np.ones(2)), rtol=1e-6)
        assert cp.get_device_states(x, [x], {"a": 1}) == ([], [])
        cp.set_device_states([], [])
        assert cp.DefaultDeviceType.get_device_type() == "cpu"
        cp.DefaultDeviceType.set_device_type("meta")
        assert cp.DefaultDeviceType.get_device_type() == "meta"
        cp.set_device_states([0], [None])   # meta: nothing to restore
        cp.DefaultDeviceType.set_device_type("cpu")
        with cp.GraphExecGroup():
            with pytest.raises(RuntimeError, match="GraphExecGroup contexts cannot be nested"):
                cp.GraphExecGroup().__enter__()
    assert set(ecp.__all__) == set(tcp.__all__)


# ------------------------------------------------------------------------------------------------- torch.sparse
_DIAGS = np.array([[1.0, 2, 3, 4], [5, 6, 7, 8]], dtype=np.float32)


@pytest.mark.parametrize(("offsets", "shape", "layout"), [
    ([0, -1], (3, 3), "sparse_coo"), ([2, -2], (3, 3), None), ([0, 1], (3, 5), "sparse_csr"),
    ([1, -3], (4, 3), "sparse_csc"), ([-1, 1], (0, 3), None)])
def test_spdiags_matches_torch(offsets: list[int], shape: tuple, layout: str | None) -> None:
    outs = []
    for lib in (ember, torch):
        kw = {} if layout is None else {"layout": getattr(lib, layout)}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # CSR/CSC beta notice
            outs.append(lib.sparse.spdiags(lib.tensor(_DIAGS), lib.tensor(offsets), shape, **kw))
    e, t = outs
    assert str(e.layout) == str(t.layout)
    assert_close(e.to_dense(), t.to_dense())
    if t.layout == torch.sparse_coo:   # entries in torch's order (diagonal by diagonal), not coalesced
        assert_close(e._indices(), t._indices())
        assert_close(e._values(), t._values())
        assert e.is_coalesced() == t.is_coalesced()
    else:
        assert_close(e.values(), t.values())
    vec = [lib.sparse.spdiags(lib.tensor([1, 2, 3]), lib.tensor(0), (2, 3)) for lib in (ember, torch)]
    assert_close(vec[0].to_dense(), vec[1].to_dense())


def test_spdiags_errors_match_torch() -> None:
    cases = [
        lambda lib: lib.sparse.spdiags(lib.ones(2, 3), lib.tensor([0, 1]), (3, 3, 3), layout=lib.strided),
        lambda lib: lib.sparse.spdiags(lib.ones(2, 2, 2), lib.tensor([[0, 1]]), (3, 3)),
        lambda lib: lib.sparse.spdiags(lib.ones(2, 3), lib.tensor([[0, 1]], dtype=lib.int32), (3, 3)),
        lambda lib: lib.sparse.spdiags(lib.ones(2, 3), lib.tensor([0], dtype=lib.int32), (3, 3)),
        lambda lib: lib.sparse.spdiags(lib.ones(2, 3), lib.tensor([0, 0], dtype=lib.int32), (3, 3)),
        lambda lib: lib.sparse.spdiags(lib.ones(2, 3), lib.tensor([0, 0]), (3, 3), layout=lib.sparse_bsc),
        lambda lib: lib.sparse.spdiags(lib.ones(2, 3), lib.tensor([0, 0]), (3, 3)),
        lambda lib: lib.sparse.spdiags([1.0], lib.tensor([0]), (3, 3)),
        lambda lib: lib.sparse.spdiags(lib.ones(2, 3), [0, 1], (3, 3)),
    ]
    for case in cases:
        assert_same_error(lambda case=case: case(ember), lambda case=case: case(torch))


def test_spsolve_on_cpu_raises_as_torch() -> None:
    a = np.array([[2.0, 0], [0, 4]], dtype=np.float32)
    for make in (lambda lib: lib.tensor(a).to_sparse_csr(), lambda lib: lib.tensor(a),
                 lambda lib: lib.tensor(a).to_sparse()):
        with pytest.raises(NotImplementedError) as te:
            torch.sparse.spsolve(make(torch), torch.tensor([1.0, 2]))
        with pytest.raises(NotImplementedError) as ee:
            ember.sparse.spsolve(make(ember), ember.tensor([1.0, 2]))
        assert str(te.value).startswith(str(ee.value))


def test_as_sparse_gradcheck_matches_torch() -> None:
    for lib in (ember, torch):
        gradcheck = lib.sparse.as_sparse_gradcheck(functools.partial(lib.autograd.gradcheck, eps=1e-6))
        x = lib.tensor([[0.0, 1], [2, 3]], dtype=lib.float64).to_sparse_coo().requires_grad_(True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert gradcheck(lambda s: s.to_sparse_csr(), x)
            assert gradcheck(lambda s, lib=lib: lib.sparse.sum(s), x)
            assert gradcheck(lambda s: (s * 3).to_dense(), x, masked=True)
            assert gradcheck(lambda c: c.to_dense().sum(), x.detach().to_sparse_csr().requires_grad_(True))
            assert gradcheck(lambda a, b, lib=lib: lib.sparse.mm(a, b), (x, lib.ones(2, 2, dtype=lib.float64,
                                                                                requires_grad=True)))


def test_legacy_sparse_types_match_torch() -> None:
    def make(lib: Any) -> list:
        idx = lib.tensor([[0, 1], [1, 0]])
        s = lib.sparse
        return [s.FloatTensor(), s.FloatTensor(2, 3), s.FloatTensor(lib.Size([2])), s.IntTensor(3),
                s.DoubleTensor(idx, lib.tensor([1.0, 2])), s.LongTensor(idx, lib.tensor([1.0, 2]), (3, 3))]

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        for e, t in zip(make(ember), make(torch), strict=True):
            assert (e.layout, e.sparse_dim(), e._nnz()) == (ember.sparse_coo, t.sparse_dim(), t._nnz())
            assert_close(e.to_dense(), t.to_dense())
    idx = {lib: lib.tensor([[0, 1], [1, 0]]) for lib in (ember, torch)}
    for case in (lambda lib: lib.sparse.FloatTensor((2, 3)), lambda lib: lib.sparse.FloatTensor(lib.ones(2)),
                 lambda lib: lib.sparse.FloatTensor(2, device="cuda"),
                 lambda lib: lib.sparse.FloatTensor(idx[lib].float(), lib.tensor([1.0, 2]))):
        assert_same_error(lambda case=case: case(ember), lambda case=case: case(torch))
    for lib in (ember, torch):
        sp = lib.ones(2).to_sparse()
        assert isinstance(sp, lib.sparse.FloatTensor) and not isinstance(sp, lib.sparse.DoubleTensor)
        assert not isinstance(lib.ones(2), lib.sparse.FloatTensor) and not isinstance(sp, lib.FloatTensor)
        assert lib.sparse.HalfTensor.is_sparse
    assert repr(ember.sparse.ShortTensor) == repr(torch.sparse.ShortTensor)
    assert [ember.sparse.__dict__[n].dtype for n in ("ByteTensor", "CharTensor", "BFloat16Tensor")] == \
        [ember.uint8, ember.int8, ember.bfloat16]


# ------------------------------------------------------------------------------------------------ torch.autograd
def _flag_trace(lib: Any) -> list:
    autograd, seen = lib.autograd, []
    seen.append(autograd.is_multithreading_enabled())
    switch = autograd.set_multithreading_enabled(False)   # a call switches it at once; the block restores
    seen.append(autograd.is_multithreading_enabled())
    with switch:
        seen.append(autograd.is_multithreading_enabled())
    seen.append(autograd.is_multithreading_enabled())

    @autograd.set_multithreading_enabled(True)
    def inner() -> bool:
        return autograd.is_multithreading_enabled()

    seen += [autograd.is_multithreading_enabled(), inner(), autograd.is_multithreading_enabled()]
    other: list[bool] = []
    with autograd.set_multithreading_enabled(False):   # thread-local
        worker = threading.Thread(target=lambda: other.append(autograd.is_multithreading_enabled()))
        worker.start()
        worker.join()
    seen += other
    with autograd._force_original_view_tracking(True):
        seen.append(autograd.is_view_replay_enabled())
    seen.append(autograd.is_view_replay_enabled())
    x = lib.ones(3, requires_grad=True)
    with autograd.set_multithreading_enabled(False), autograd.enforce_grad_layout_policy(False):
        (x * 2).sum().backward()
    return [*seen, x.grad.tolist()]


def test_autograd_engine_switches_match_torch() -> None:
    assert _flag_trace(ember) == _flag_trace(torch)


# ------------------------------------------------------------------------------ torch.distributed.checkpoint
def _dcp(lib: Any) -> Any:
    return __import__(f"{lib.__name__}.distributed.checkpoint", fromlist=["planner", "storage"])


def test_dcp_interfaces_have_torch_fields() -> None:
    import dataclasses

    e, t = _dcp(ember), _dcp(torch)
    for name in ("WriteItem", "ReadItem", "SavePlan", "LoadPlan", "TensorWriteData", "BytesIOWriteData"):
        ec, tc = getattr(e.planner, name), getattr(t.planner, name)
        assert [f.name for f in dataclasses.fields(ec)] == [f.name for f in dataclasses.fields(tc)], name
        assert ec.__dataclass_params__.frozen == tc.__dataclass_params__.frozen, name
    wr = (e.storage.WriteResult, t.storage.WriteResult)
    assert [f.name for f in dataclasses.fields(wr[0])] == [f.name for f in dataclasses.fields(wr[1])]
    for name in ("WriteItemType", "LoadItemType"):
        assert [(m.name, m.value) for m in getattr(e.planner, name)] == \
            [(m.name, m.value) for m in getattr(t.planner, name)]
    for name in ("SavePlanner", "LoadPlanner", "StorageWriter", "StorageReader"):
        ec, tc = getattr(e, name), getattr(t, name)
        abstract = {n for n in dir(tc) if getattr(getattr(tc, n), "__isabstractmethod__", False)}
        assert {n for n in dir(ec) if getattr(getattr(ec, n), "__isabstractmethod__", False)} == abstract, name
        assert type(ec).__name__ == type(tc).__name__, name   # ABCMeta, except LoadPlanner's plain class
    assert issubclass(e.FileSystemWriter, e.StorageWriter) and issubclass(e.FileSystemReader, e.StorageReader)
    assert issubclass(e.DefaultSavePlanner, e.SavePlanner) and issubclass(e.DefaultLoadPlanner, e.LoadPlanner)
    zero, size = ember.Size([0, 0]), ember.Size([2, 3])
    data = e.planner.TensorWriteData(e.metadata.ChunkStorageMetadata(zero, size),
                                     e.metadata.TensorProperties(dtype=ember.float64), size)
    tensor_item = e.planner.WriteItem(e.metadata.MetadataIndex("w", zero, 0), e.planner.WriteItemType.TENSOR,
                                      tensor_data=data)
    assert tensor_item.tensor_storage_size() == 48


def _custom_storage_round_trip(lib: Any) -> tuple[list, dict]:
    """A user's in-memory StorageWriter/StorageReader and a planner subclass, driven by save and load."""
    dcp = _dcp(lib)
    calls: list = []
    blobs: dict = {}

    class MemoryWriter(dcp.StorageWriter):
        def reset(self, checkpoint_id: Any = None) -> None:
            calls.append(("reset", checkpoint_id))

        def set_up_storage_writer(self, is_coordinator: bool, *args: Any, **kwargs: Any) -> None:
            calls.append(("set_up_storage_writer", is_coordinator))

        def prepare_local_plan(self, plan: Any) -> Any:
            calls.append(("prepare_local_plan", sorted(i.index.fqn for i in plan.items)))
            return plan

        def prepare_global_plan(self, plans: list) -> list:
            calls.append(("prepare_global_plan", len(plans)))
            return plans

        def write_data(self, plan: Any, planner: Any) -> Any:
            results = []
            for item in plan.items:
                data = planner.resolve_data(item)
                blobs[item.index.fqn] = data.getvalue() if isinstance(data, io.BytesIO) else data.clone()
                results.append(dcp.storage.WriteResult(item.index, 1, item.index.fqn))
            fut = lib.futures.Future()
            fut.set_result(results)
            return fut

        def finish(self, metadata: Any, results: list) -> None:
            calls.append(("finish", sorted(r.storage_data for rank in results for r in rank)))
            blobs["metadata"] = metadata

        @classmethod
        def validate_checkpoint_id(cls, checkpoint_id: Any) -> bool:
            return True

    class MemoryReader(dcp.StorageReader):
        def reset(self, checkpoint_id: Any = None) -> None:
            calls.append(("reader.reset", checkpoint_id))

        def read_metadata(self, *args: Any, **kwargs: Any) -> Any:
            return blobs["metadata"]

        def set_up_storage_reader(self, metadata: Any, is_coordinator: bool, *args: Any, **kwargs: Any) -> None:
            calls.append(("set_up_storage_reader", sorted(metadata.state_dict_metadata), is_coordinator))

        def prepare_local_plan(self, plan: Any) -> Any:
            return plan

        def prepare_global_plan(self, plans: list) -> list:
            return plans

        def read_data(self, plan: Any, planner: Any) -> Any:
            for item in plan.items:
                calls.append(("read", item.type.name, item.dest_index.fqn, tuple(item.lengths)))
                if item.type.name == "BYTE_IO":
                    planner.load_bytes(item, io.BytesIO(blobs[item.dest_index.fqn]))
                else:
                    target = planner.resolve_tensor(item).detach()
                    target.copy_(blobs[item.dest_index.fqn])
                    planner.commit_tensor(item, target)
            fut = lib.futures.Future()
            fut.set_result(None)
            return fut

        @classmethod
        def validate_checkpoint_id(cls, checkpoint_id: Any) -> bool:
            return True

    class DoublingPlanner(dcp.DefaultSavePlanner):   # a user's transformation of what is written
        def resolve_data(self, write_item: Any) -> Any:
            data = super().resolve_data(write_item)
            return data * 2 if isinstance(data, lib.Tensor) else data

    lib.manual_seed(0)
    state = {"model": {"w": lib.arange(6.0).reshape(2, 3)}, "step": 7}
    dcp.save(state, storage_writer=MemoryWriter(), planner=DoublingPlanner(), no_dist=True)
    loaded = {"model": {"w": lib.zeros(2, 3)}, "step": 0}
    dcp.load(loaded, storage_reader=MemoryReader(), checkpoint_id="memory", no_dist=True)
    md = blobs["metadata"]
    calls.append(("metadata", sorted(md.state_dict_metadata), md.planner_data))
    return calls, {"w": loaded["model"]["w"].tolist(), "step": loaded["step"]}


def test_dcp_user_storage_and_planner_subclasses_match_torch() -> None:
    assert _custom_storage_round_trip(ember) == _custom_storage_round_trip(torch)


def test_dcp_legacy_save_and_load_state_dict(tmp_path: Any) -> None:
    for lib in (ember, torch):
        dcp = _dcp(lib)
        path = tmp_path / lib.__name__
        with pytest.warns(FutureWarning) as saved:
            dcp.save_state_dict({"a": lib.ones(2), "b": {"c": 3}}, dcp.FileSystemWriter(path), no_dist=True)
        out = {"a": lib.zeros(2), "b": {"c": 0}}
        with pytest.warns(FutureWarning) as loaded:
            dcp.load_state_dict(out, dcp.FileSystemReader(path), no_dist=True)
        assert out["a"].tolist() == [1.0, 1.0] and out["b"] == {"c": 3}
        messages = [str(w.message) for w in (*saved, *loaded) if w.category is FutureWarning]
        assert messages == ["`save_state_dict` is deprecated and will be removed in future versions.Please use "
                            "`save` instead.", "`load_state_dict` is deprecated and will be removed in future "
                            "versions. Please use `load` instead."]
        assert sorted(os.listdir(path)) == [".metadata", "__0_0.distcp"]
        assert dcp.FileSystemWriter.validate_checkpoint_id(path) and dcp.FileSystemReader.validate_checkpoint_id(path)
