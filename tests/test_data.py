"""utils.data against torch: batch order under a seed (and the global stream afterwards), samplers,
random_split, collation, DataLoader options and errors, worker processes."""

from __future__ import annotations

import warnings
from collections import namedtuple
from typing import Any

import numpy as np
import pytest

import ember
import ember.utils.data as D
from oracle import assert_close, assert_same_error, torch

TD = torch.utils.data


def _tolist(batches):
    return [b.tolist() if hasattr(b, "tolist") else b for b in batches]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(batch_size=4, shuffle=True),
        dict(batch_size=3, shuffle=True, drop_last=True),
        dict(batch_size=4),
        dict(batch_size=None, shuffle=True),
        dict(batch_size=5, shuffle=True, generator="gen"),
    ],
)
def test_batch_order_and_stream_match_torch(kwargs):
    def run(lib, data_mod):
        lib.manual_seed(0)
        kw = dict(kwargs)
        if kw.get("generator") == "gen":
            kw["generator"] = lib.Generator().manual_seed(7)
        out = [_tolist([b])[0] for b in data_mod.DataLoader(list(range(10)), **kw)]
        return out, lib.rand(2).tolist()

    assert run(ember, D) == run(torch, TD)


def test_seeded_shuffle_example_from_rng_notes():
    ember.manual_seed(0)
    assert _tolist(D.DataLoader(list(range(10)), batch_size=4, shuffle=True)) == [
        [6, 7, 1, 4],
        [2, 0, 9, 8],
        [3, 5],
    ]


def test_two_epochs_differ_and_match_torch():
    def run(lib, data_mod):
        lib.manual_seed(3)
        dl = data_mod.DataLoader(list(range(7)), batch_size=3, shuffle=True)
        return [_tolist(dl) for _ in range(2)]

    assert run(ember, D) == run(torch, TD)


@pytest.mark.parametrize("case", ["replacement", "num_samples", "subset", "weighted", "weighted_norep"])
def test_samplers_match_torch(case):
    def run(lib, data_mod):
        lib.manual_seed(1)
        g = lib.Generator().manual_seed(5)
        if case == "replacement":
            s = data_mod.RandomSampler(range(10), replacement=True, num_samples=40)
        elif case == "num_samples":
            s = data_mod.RandomSampler(range(4), num_samples=10, generator=g)
        elif case == "subset":
            s = data_mod.SubsetRandomSampler([3, 5, 7, 9], generator=g)
        elif case == "weighted":
            s = data_mod.WeightedRandomSampler([0.1, 0.5, 0.2, 0.2], 12)
        else:
            s = data_mod.WeightedRandomSampler([0.1, 0.5, 0.2, 0.2], 3, replacement=False, generator=g)
        return list(s), len(s), lib.rand(1).item()

    assert run(ember, D) == run(torch, TD)


def test_batch_sampler_and_errors():
    assert list(D.BatchSampler(range(7), 3, False)) == list(TD.BatchSampler(range(7), 3, False))
    assert list(D.BatchSampler(range(7), 3, True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(D.BatchSampler(range(7), 3, True)) == 2 and len(D.BatchSampler(range(7), 3, False)) == 3
    assert_same_error(lambda: D.BatchSampler(range(3), 0, False), lambda: TD.BatchSampler(range(3), 0, False))
    assert_same_error(lambda: D.BatchSampler(range(3), 2, 1), lambda: TD.BatchSampler(range(3), 2, 1))
    assert_same_error(
        lambda: D.RandomSampler(range(3), replacement=1), lambda: TD.RandomSampler(range(3), replacement=1)
    )
    assert_same_error(
        lambda: D.RandomSampler(range(3), num_samples=0), lambda: TD.RandomSampler(range(3), num_samples=0)
    )


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.5, 0.25, 0.25], [0.34, 0.33, 0.33]])
def test_random_split_matches_torch(lengths):
    def run(lib, data_mod, gen):
        lib.manual_seed(2)
        kw = {} if gen is None else {"generator": lib.Generator().manual_seed(gen)}
        parts = data_mod.random_split(list(range(10)), lengths, **kw)
        return [list(p) for p in parts], [len(p) for p in parts]

    for gen in (None, 11):
        assert run(ember, D, gen) == run(torch, TD, gen)
    assert_same_error(lambda: D.random_split(range(10), [3, 3]), lambda: TD.random_split(range(10), [3, 3]))


def test_datasets():
    x, y = ember.arange(12.0).reshape(6, 2), ember.arange(6)
    ds = D.TensorDataset(x, y)
    assert len(ds) == 6 and ds[2][0].tolist() == [4.0, 5.0] and ds[2][1].item() == 2
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        D.TensorDataset(x, ember.arange(5))
    cat = D.ConcatDataset([list(range(3)), list(range(10, 14))])
    assert len(cat) == 7 and [cat[i] for i in range(7)] == [0, 1, 2, 10, 11, 12, 13] and cat[-1] == 13
    assert_same_error(lambda: D.ConcatDataset([[1]])[-3], lambda: TD.ConcatDataset([[1]])[-3])
    sub = D.Subset(list(range(10, 20)), [4, 1])
    assert list(sub) == [14, 11] and len(sub) == 2
    assert isinstance(ds + ds, D.ConcatDataset)

    class Stream(D.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

        def __len__(self):
            return self.n

    chain = Stream(2) + Stream(3)
    assert isinstance(chain, D.ChainDataset) and list(chain) == [0, 1, 0, 1, 2] and len(chain) == 5
    assert _tolist(D.DataLoader(Stream(5), batch_size=2)) == [[0, 1], [2, 3], [4]]
    assert _tolist(D.DataLoader(Stream(5), batch_size=2, drop_last=True)) == [[0, 1], [2, 3]]
    assert len(D.DataLoader(Stream(5), batch_size=2)) == 3
    with pytest.raises(ValueError, match="expected unspecified shuffle option, but got shuffle=True"):
        D.DataLoader(Stream(3), shuffle=True)


Point = namedtuple("Point", ["x", "y"])


@pytest.mark.parametrize(
    "batch",
    [
        [np.ones((2, 3), np.float32), np.zeros((2, 3), np.float32)],
        [1.5, 2.5],
        [1, 2],
        [True, False],
        ["a", "b"],
        [{"a": 1, "b": np.float64(2.0)}, {"a": 3, "b": np.float64(4.0)}],
        [(1, 2.0), (3, 4.0)],
        [[1, 2], [3, 4]],
        [Point(1, 2.0), Point(3, 4.0)],
        [np.int32(3), np.int32(4)],
    ],
)
def test_default_collate_matches_torch(batch):
    e = D.default_collate(batch)
    t = TD.default_collate(batch)
    _same_structure(e, t)


def _same_structure(e, t):
    if isinstance(t, torch.Tensor):
        assert_close(e, t, rtol=0, atol=0)
    elif isinstance(t, dict):
        assert type(e) is type(t) and list(e) == list(t)
        for k in t:
            _same_structure(e[k], t[k])
    elif isinstance(t, (list, tuple)):
        assert type(e) is type(t) and len(e) == len(t)
        for a, b in zip(e, t, strict=True):
            _same_structure(a, b)
    else:
        assert e == t


def test_default_collate_tensors_and_errors():
    e = D.default_collate([ember.ones(2), ember.zeros(2)])
    assert e.shape == (2, 2)
    assert_same_error(lambda: D.default_collate([object()]), lambda: TD.default_collate([object()]))
    assert_same_error(lambda: D.default_collate([[1, 2], [3]]), lambda: TD.default_collate([[1, 2], [3]]))
    assert_same_error(
        lambda: D.default_collate([np.array(["a"])]), lambda: TD.default_collate([np.array(["a"])])
    )
    conv = D.default_convert({"a": np.ones(2), "b": [np.zeros(1)], "c": "s"})
    assert isinstance(conv["a"], ember.Tensor) and isinstance(conv["b"][0], ember.Tensor) and conv["c"] == "s"


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(sampler=[0], shuffle=True),
        dict(batch_sampler=[[0]], batch_size=2),
        dict(batch_size=None, drop_last=True),
        dict(num_workers=-1),
        dict(prefetch_factor=2),
        dict(persistent_workers=True),
        dict(timeout=-1),
    ],
)
def test_dataloader_argument_errors_match_torch(kwargs):
    assert_same_error(
        lambda: D.DataLoader(list(range(4)), **kwargs), lambda: TD.DataLoader(list(range(4)), **kwargs)
    )


def test_dataloader_options():
    ds = D.TensorDataset(ember.arange(10.0), ember.arange(10))
    batches = list(D.DataLoader(ds, batch_size=4, collate_fn=lambda b: len(b)))
    assert batches == [4, 4, 2]
    sampler = D.SequentialSampler(range(5))
    assert _tolist(D.DataLoader(list(range(5)), sampler=sampler, batch_size=2)) == [[0, 1], [2, 3], [4]]
    bs = D.BatchSampler(range(5), 2, True)
    assert _tolist(D.DataLoader(list(range(5)), batch_sampler=bs)) == [[0, 1], [2, 3]]
    assert len(D.DataLoader(list(range(5)), batch_size=2)) == 3
    dl = D.DataLoader(list(range(5)), batch_size=None)
    assert list(dl) == [0, 1, 2, 3, 4] and D.get_worker_info() is None


class _Squares(D.Dataset):
    def __len__(self):
        return 9

    def __getitem__(self, i):
        info = D.get_worker_info()
        return ember.tensor([i * i, -1 if info is None else info.id])


class _Failing(D.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            raise KeyError("bad index 2")
        return i


def test_worker_processes_keep_order_and_seed():
    ember.manual_seed(0)
    out = list(D.DataLoader(_Squares(), batch_size=2, num_workers=2, shuffle=True))
    ember.manual_seed(0)
    ref = list(D.DataLoader(_Squares(), batch_size=2, shuffle=True))
    assert [b[:, 0].tolist() for b in out] == [b[:, 0].tolist() for b in ref]
    assert {w for b in out for w in b[:, 1].tolist()} == {0, 1}


class _Threads(D.Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        return ember.get_num_threads()


def test_workers_run_one_intra_op_thread_as_torch():
    """torch's workers set one intra-op thread (they run side by side); the parent keeps its count."""
    before = ember.get_num_threads()
    assert [b.tolist() for b in D.DataLoader(_Threads(), num_workers=2)] == [[1], [1]]
    assert ember.get_num_threads() == before


def test_worker_exception_surfaces_with_traceback():
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process") as info:
        list(D.DataLoader(_Failing(), batch_size=1, num_workers=2))
    assert "bad index 2" in str(info.value) and "Traceback" in str(info.value)


def test_persistent_workers_and_worker_init_fn():
    seen = []
    dl = D.DataLoader(
        list(range(6)),
        batch_size=2,
        num_workers=2,
        persistent_workers=True,
        worker_init_fn=lambda wid: seen.append(wid),
    )
    assert _tolist(dl) == _tolist(dl) == [[0, 1], [2, 3], [4, 5]]
    dl._iterator._shutdown()


def _pin_memory_warning_log(lib: Any) -> list:
    ds = lib.utils.data.TensorDataset(lib.arange(10.0))
    log = []
    for kw in ({"pin_memory": True}, {"pin_memory": True, "pin_memory_device": "cuda"}, {"pin_memory_device": "cuda"},
               {"pin_memory": True, "num_workers": 1, "persistent_workers": True}):
        loader = lib.utils.data.DataLoader(ds, batch_size=4, **kw)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            first = [b[0].is_pinned() for b in loader]
            again = len(list(loader))
        log.append((sorted(str(w.message) for w in caught), first, again))
    return log


def test_pin_memory_warnings_without_accelerator_as_torch() -> None:
    """Without an accelerator torch warns once per iterator (persistent workers: once) and pins nothing."""
    if torch.accelerator.is_available() or ember.accelerator.is_available():
        pytest.skip("the warnings are for machines without an accelerator")
    assert _pin_memory_warning_log(ember) == _pin_memory_warning_log(torch)
