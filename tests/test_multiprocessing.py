"""ember.multiprocessing: tensors cross processes as shared memory (Hogwild training works), spawn reports child
failures as torch does, and shared segments do not outlive their users.

Child processes mostly use the fork start method (fast); one Hogwild test uses spawn, the pickling path. Torch is
imported inside the tests that compare against it, so spawned children importing this module stay light.
"""

from __future__ import annotations

import gc
import multiprocessing as std_mp
import os
import re
import signal
import sys
import warnings
from multiprocessing.reduction import ForkingPickler

import numpy as np
import pytest

import ember
import ember.multiprocessing as mp
from ember.multiprocessing.spawn import ProcessException

FORK = mp.get_context("fork")


def _torch():  # noqa: ANN202 - the oracle, imported lazily (see the module docstring)
    import torch
    import torch.multiprocessing  # noqa: F401 - registers torch's reductions
    return torch


def _memfds() -> int:
    """How many shared-memory descriptors of ember's this process holds."""
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            n += "memfd:ember_shm" in os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    return n


def _named_segments() -> set[str]:
    return {f for f in os.listdir("/dev/shm") if f.startswith("ember_")}


@pytest.fixture
def no_leaks():
    """The test leaves no named segment behind, and releases the descriptors it created."""
    gc.collect()
    before = _memfds()
    yield
    mp.set_sharing_strategy("file_descriptor")
    gc.collect()
    assert _memfds() <= before
    assert not {s for s in _named_segments() if s.startswith(f"ember_{os.getpid()}_")}


# ---- share_memory_ / is_shared ---------------------------------------------------------------------------------

def _geometry(t):  # noqa: ANN001, ANN202
    return t.dtype, tuple(t.shape), t.stride(), t.storage_offset()


@pytest.mark.parametrize("make", [
    lambda lib: lib.arange(12.).reshape(3, 4),
    lambda lib: lib.arange(12, dtype=lib.float64).reshape(3, 4).t(),
    lambda lib: lib.tensor(3.5),
    lambda lib: lib.empty(0, 3),
    lambda lib: lib.tensor([True, False, True]),
    lambda lib: lib.tensor([1 + 2j, 3 - 1j]),
    lambda lib: lib.arange(10, dtype=lib.int64)[2:8:2],
], ids=["2d", "transposed", "0d", "empty", "bool", "complex", "strided_slice"])
def test_share_memory_keeps_tensor_and_aliases(make) -> None:  # noqa: ANN001
    torch = _torch()
    for lib in (ember, torch):
        t = make(lib)
        base = t._base if t._base is not None else t
        before = base.clone()
        view = base.view(-1)
        alias = t.detach()
        expected = _geometry(t)
        assert not t.is_shared()
        assert t.share_memory_() is t
        assert t.is_shared() and base.is_shared() and view.is_shared() and alias.is_shared()
        assert _geometry(t) == expected and t._version == 0
        assert lib.equal(base, before)
        if base.numel():
            base.view(-1)[0] = base.view(-1)[-1]   # written through the base, seen by every alias
            assert not lib.equal(base, before) or before.view(-1)[0] == before.view(-1)[-1]
            assert lib.equal(view, base.view(-1)) and lib.equal(alias, t)
        assert t.share_memory_() is t   # already shared: nothing moves
    assert ember.empty(0).share_memory_().is_shared() == torch.empty(0).share_memory_().is_shared()


def test_share_memory_keeps_autograd_identity() -> None:
    x = ember.ones(3, requires_grad=True)
    y = x * 2
    fn = y.grad_fn
    x.share_memory_()
    y.share_memory_()
    assert y.grad_fn is fn and x.requires_grad and x.is_leaf and y.is_shared()
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_module_parameters_share_memory() -> None:
    model = ember.nn.Linear(3, 2)
    w = model.weight
    for p in model.parameters():
        p.share_memory_()
    assert model.weight is w and all(p.is_shared() for p in model.parameters())


def test_module_share_memory() -> None:
    model = ember.nn.Linear(3, 2)
    assert model.share_memory() is model
    assert all(p.is_shared() for p in model.parameters())


# ---- sharing strategies ----------------------------------------------------------------------------------------

def test_sharing_strategies_match_torch() -> None:
    from oracle import assert_same_error
    tmp = _torch().multiprocessing
    assert mp.get_all_sharing_strategies() == tmp.get_all_sharing_strategies()
    assert mp.get_sharing_strategy() == tmp.get_sharing_strategy() == "file_descriptor"
    assert_same_error(lambda: mp.set_sharing_strategy("shm"), lambda: tmp.set_sharing_strategy("shm"))
    mp.set_sharing_strategy("file_system")
    assert mp.get_sharing_strategy() == "file_system"
    t = ember.arange(4.).share_memory_()
    assert t.is_shared() and len(_named_segments()) >= 1


def test_namespace_reexports_multiprocessing() -> None:
    torch_names = {n for n in dir(_torch().multiprocessing) if not n.startswith("_")}
    wanted = set(std_mp.__all__) | {"spawn", "start_processes", "ProcessContext", "ProcessRaisedException",
                                    "ProcessExitedException", "SpawnContext", "ENV_VAR_PARALLEL_START",
                                    "get_sharing_strategy", "set_sharing_strategy", "get_all_sharing_strategies"}
    assert wanted <= torch_names and wanted <= set(dir(mp)) and set(std_mp.__all__) <= set(mp.__all__)
    assert mp.Queue is std_mp.Queue and mp.cpu_count() == std_mp.cpu_count()
    assert mp.ENV_VAR_PARALLEL_START == _torch().multiprocessing.ENV_VAR_PARALLEL_START


# ---- pickling through queues -----------------------------------------------------------------------------------

CASES = {
    "contiguous": lambda lib: lib.arange(6.).reshape(2, 3),
    "view": lambda lib: lib.arange(12.).reshape(3, 4)[1:, ::2],
    "transposed": lambda lib: lib.arange(6, dtype=lib.float64).reshape(2, 3).t(),
    "0d": lambda lib: lib.tensor(2.5),
    "empty": lambda lib: lib.zeros(0, 2),
    "bool": lambda lib: lib.tensor([True, False]),
    "complex": lambda lib: lib.tensor([1 + 1j, 2 - 3j], dtype=lib.complex128),
    "int": lambda lib: lib.arange(5, dtype=lib.int32),
    "leaf_requires_grad": lambda lib: lib.ones(2, 2, requires_grad=True),
    "parameter": lambda lib: lib.nn.Parameter(lib.ones(3)),
}


@pytest.mark.parametrize("shared_first", [False, True], ids=["private", "shared"])
@pytest.mark.parametrize("case", list(CASES))
def test_queue_round_trip_aliases_like_torch(case: str, shared_first: bool) -> None:
    torch = _torch()
    seen = {}
    for lib, lmp in ((torch, torch.multiprocessing), (ember, mp)):
        t = CASES[case](lib)
        if shared_first:
            t.share_memory_()
        q = lmp.Queue()
        q.put(t)
        r = q.get(timeout=10)
        q.close()
        q.join_thread()
        assert r is not t and type(r).__name__ == type(t).__name__
        assert _geometry(r) == _geometry(t) and r.requires_grad == t.requires_grad and r.is_leaf
        assert lib.equal(r.detach(), t.detach())
        r.detach().fill_(3)
        assert lib.equal(r.detach(), t.detach()) and (t.numel() == 0 or t.detach().reshape(-1)[0].item() != 0)
        seen[lib.__name__] = (t.is_shared(), r.is_shared())
    assert seen["ember"] == seen["torch"]


@pytest.mark.usefixtures("no_leaks")
@pytest.mark.parametrize("strategy", ["file_descriptor", "file_system"])
def test_round_trips_release_their_memory(strategy: str) -> None:
    mp.set_sharing_strategy(strategy)
    q = mp.SimpleQueue()
    for make in CASES.values():
        t = make(ember)
        q.put(t)
        r = q.get()
        assert ember.equal(r.detach(), t.detach()) and r.is_shared() == bool(t.numel())
    assert len(_named_segments()) == (strategy == "file_system")   # only the last pair still lives
    q.close()


_POOL_SCRIPT = """
import ember, ember.multiprocessing as mp
mp.set_sharing_strategy("file_system")
with mp.get_context("fork").Pool(2) as pool:
    xs = [ember.full((3,), float(i)) for i in range(4)]
    assert [r.tolist() for r in pool.map(ember.square, xs)] == [[i * i] * 3 for i in range(4)]
"""


def test_pool_with_named_segments_ends_without_leaks() -> None:
    import subprocess
    done = subprocess.run([sys.executable, "-c", _POOL_SCRIPT], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    assert "resource_tracker" not in done.stderr and not _named_segments()


def test_non_leaf_requiring_grad_is_refused_like_torch() -> None:
    from oracle import assert_same_error
    torch = _torch()
    assert_same_error(lambda: ForkingPickler.dumps(ember.ones(2, requires_grad=True) * 2),
                      lambda: ForkingPickler.dumps(torch.ones(2, requires_grad=True) * 2))
    a, b = mp.Pipe()
    with pytest.raises(RuntimeError, match="^Cowardly refusing to serialize non-leaf tensor"):
        a.send(ember.ones(2, requires_grad=True) + 1)
    a.send((ember.ones(2, requires_grad=True) + 1).detach())
    assert b.recv().tolist() == [2.0, 2.0]
    a.close()
    b.close()


def test_storage_pickles_as_shared_memory() -> None:
    t = ember.arange(4.)
    s = t.untyped_storage()
    r = ForkingPickler.loads(ForkingPickler.dumps(s))
    assert t.is_shared() and r.nbytes() == s.nbytes()
    r._array.view(np.float32)[1] = 9.0
    assert t.tolist() == [0.0, 9.0, 2.0, 3.0]


def _child_edits(inq, outq) -> None:  # noqa: ANN001
    a, b = inq.get()
    a += 1
    b.mul_(10)
    c = ember.zeros(3)
    outq.put(c)   # moved into shared memory here; the parent writes into it
    inq.get()     # wait for the parent's write
    outq.put(c.tolist())


@pytest.mark.parametrize("strategy", ["file_descriptor", "file_system"])
@pytest.mark.usefixtures("no_leaks")
def test_tensors_sent_between_processes_share_memory(strategy: str) -> None:
    mp.set_sharing_strategy(strategy)
    a = ember.ones(2, 2).share_memory_()
    b = ember.arange(4.)[1:]   # a private view: moved to shared memory with its base when sent
    inq, outq = FORK.Queue(), FORK.Queue()
    p = FORK.Process(target=_child_edits, args=(inq, outq))
    p.start()
    inq.put((a, b))
    c = outq.get(timeout=30)
    assert a.tolist() == [[2.0, 2.0], [2.0, 2.0]] and b.tolist() == [10.0, 20.0, 30.0]
    assert b._base.is_shared() and c.is_shared()
    c[1] = 5.0
    inq.put(None)
    assert outq.get(timeout=30) == [0.0, 5.0, 0.0]
    p.join(30)
    assert p.exitcode == 0
    del a, b, c
    gc.collect()
    assert not _named_segments()   # the child's segment too: it went with the last holder


# ---- Hogwild ---------------------------------------------------------------------------------------------------

def _add_rows(rank: int, model) -> None:  # noqa: ANN001
    with ember.no_grad():
        model.weight[rank] += rank + 1.0
        model.bias[rank].add_(10.0 * (rank + 1))


@pytest.mark.usefixtures("no_leaks")
def test_hogwild_spawn_children_write_parent_model() -> None:
    ember.manual_seed(0)
    model = ember.nn.Linear(3, 2)
    for p in model.parameters():
        p.share_memory_()
    w, b = model.weight.detach().clone(), model.bias.detach().clone()
    assert mp.spawn(_add_rows, args=(model,), nprocs=2) is None
    assert ember.equal(model.weight.detach(), w + ember.tensor([[1.0], [2.0]]))
    assert ember.equal(model.bias.detach(), b + ember.tensor([10.0, 20.0]))


def _sgd_steps(model, x, y, steps) -> None:  # noqa: ANN001
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        ember.nn.functional.mse_loss(model(x), y).backward()
        opt.step()


@pytest.mark.usefixtures("no_leaks")
def test_hogwild_sgd_in_children_equals_sequential_training() -> None:
    ember.manual_seed(0)
    model = ember.nn.Linear(4, 2)
    ref = ember.nn.Linear(4, 2)
    ref.load_state_dict(model.state_dict())
    for p in model.parameters():
        p.share_memory_()
    x, y = ember.randn(8, 4), ember.randn(8, 2)
    w0 = model.weight.detach().clone()
    for rank in range(2):   # one after the other, so the result is deterministic
        p = FORK.Process(target=_sgd_steps, args=(model, x[rank::2], y[rank::2], 3))
        p.start()
        p.join(30)
        assert p.exitcode == 0
        _sgd_steps(ref, x[rank::2], y[rank::2], 3)
    for p, r in zip(model.parameters(), ref.parameters(), strict=True):
        assert ember.equal(p, r)
    assert not ember.equal(model.weight.detach(), w0)   # the children's steps reached the parent


# ---- spawn / start_processes failures --------------------------------------------------------------------------

def _ok(rank: int) -> None:
    pass


def _raise(rank: int, limit: int) -> None:
    if rank >= limit:
        raise ValueError(f"rank {rank} failed")


def _exit(rank: int, code: int) -> None:
    if rank == 1:
        sys.exit(code)


def _killed(rank: int) -> None:
    if rank == 1:   # one rank only: with both killed, which one is reported first is a race
        os.kill(os.getpid(), signal.SIGKILL)


def _failure(lib_mp, fn, args):  # noqa: ANN001, ANN202
    with pytest.raises(Exception) as info:
        lib_mp.start_processes(fn, args=args, nprocs=2, start_method="fork")
    return info.value


def _no_wrap_frame(msg: str) -> str:
    return re.sub(r'  File "[^"]*spawn\.py", line \d+, in _wrap\n', "", msg)


@pytest.mark.parametrize(("fn", "args"), [(_raise, (1,)), (_exit, (3,)), (_killed, ())],
                         ids=["raised", "exit_code", "signal"])
def test_start_processes_failures_like_torch(fn, args) -> None:  # noqa: ANN001
    tmp = _torch().multiprocessing
    t, e = _failure(tmp, fn, args), _failure(mp, fn, args)
    assert type(e).__name__ == type(t).__name__ and isinstance(e, ProcessException)
    assert _no_wrap_frame(str(e)) == _no_wrap_frame(str(t))
    assert "in _wrap" in str(e) or fn is not _raise
    assert e.error_index == t.error_index and e.error_pid != t.error_pid
    if fn is not _raise:
        assert (e.exit_code, e.signal_name) == (t.exit_code, t.signal_name)


def test_start_processes_without_join_returns_context() -> None:
    ctx = mp.start_processes(_ok, nprocs=2, join=False, start_method="fork")
    assert isinstance(ctx, mp.ProcessContext) and len(ctx.pids()) == 2
    while not ctx.join():
        pass
    assert ctx.join() is True and all(p.exitcode == 0 for p in ctx.processes)


def test_spawn_other_start_method_warns_like_torch() -> None:
    tmp = _torch().multiprocessing
    got = []
    for lib_mp in (tmp, mp):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            assert lib_mp.spawn(_ok, nprocs=0, start_method="fork") is None
        got.append([(x.category, str(x.message)) for x in w])
    assert got[0] == got[1] and got[0][0][0] is FutureWarning


# ---- DataLoader workers ----------------------------------------------------------------------------------------

@pytest.mark.usefixtures("no_leaks")
def test_dataloader_worker_batches_arrive_in_shared_memory() -> None:
    torch = _torch()
    got = {}
    for lib in (torch, ember):
        x = lib.arange(60.).reshape(20, 3)
        ds = lib.utils.data.TensorDataset(x, lib.arange(20))
        loader = lib.utils.data.DataLoader(ds, batch_size=8, num_workers=2, multiprocessing_context="fork")
        batches = list(loader)
        assert [b[0].tolist() for b in batches] == [x[i:i + 8].tolist() for i in range(0, 20, 8)]
        got[lib.__name__] = [(b[0].is_shared(), b[1].is_shared(), b[1].dtype == lib.int64) for b in batches]
        del batches, loader
    assert got["ember"] == got["torch"]
