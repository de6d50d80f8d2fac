"""utils.data against torch, cases found by differential fuzzing: default_convert keeps a defaultdict and refuses
NumPy bytes scalars, the warnings for an iterable dataset yielding more than its length and for more workers
than CPUs, the iterable-dataset sampler, and workers stopped when an iterator is garbage collected."""

from __future__ import annotations

import gc
import os
import random
import re
import warnings
from collections import defaultdict

import numpy as np
import pytest

import ember
import ember.utils.data as ED
from oracle import outcomes, torch

TD = torch.utils.data


def _messages(fn):
    """``fn()``'s result and its warnings' texts, object addresses and library names left out."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, [re.sub(r"<\S+ object at 0x[0-9a-f]+>", "<dataset>", str(w.message)) for w in caught]


def _same(fn):
    """``fn(torch.utils.data)`` and ``fn(ember.utils.data)`` give equal results or the same error and text."""
    t, e = outcomes(lambda lib: fn(lib.utils.data))
    if isinstance(t, Exception):
        assert type(e) is type(t) and str(e) == str(t), (e, t)
    else:
        assert e == t


def test_default_convert_keeps_defaultdict_and_refuses_numpy_bytes():
    for M in (TD, ED):
        d = defaultdict(list, a=np.arange(3, dtype=np.int16), b="s")
        out = M.default_convert(d)
        assert type(out) is defaultdict and out.default_factory is list and out["b"] == "s"
        assert str(out["a"].dtype).endswith("int16") and out["a"].tolist() == [0, 1, 2]
        with pytest.raises(TypeError):
            M.default_convert(np.bytes_(b"x"))
        assert M.default_convert(np.str_("x")) == "x"


@pytest.mark.parametrize("batch_size", [None, 1, 3])
def test_iterable_longer_than_its_length_warns_as_torch(batch_size):
    def run(M):
        class Stream(M.IterableDataset):
            def __iter__(self):
                return iter(range(4))

            def __len__(self):
                return 2

        dl = M.DataLoader(Stream(), batch_size=batch_size)
        n = len(dl)
        return n, [b if isinstance(b, int) else b.tolist() for b in dl]

    assert _messages(lambda: run(ED)) == _messages(lambda: run(TD))


def test_too_many_workers_warn_as_torch_and_iterable_sampler_has_no_length():
    n = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()) + 1
    assert _messages(lambda: ED.DataLoader([1], num_workers=n) and None) == \
        _messages(lambda: TD.DataLoader([1], num_workers=n) and None)

    class Stream(ED.IterableDataset):
        def __iter__(self):
            return iter(range(2))

    dl = ED.DataLoader(Stream())
    assert isinstance(dl.sampler, ED.Sampler)
    with pytest.raises(TypeError, match="object of type '_InfiniteConstantSampler' has no len()"):
        len(iter(dl))


def test_workers_duplicate_an_iterable_and_warn_as_torch():
    def run(M):
        class Stream(M.IterableDataset):
            def __iter__(self):
                return iter(range(2))

            def __len__(self):
                return 3

        dl = M.DataLoader(Stream(), batch_size=None, num_workers=2)
        n = len(dl)
        return n, list(dl)

    assert _messages(lambda: run(ED)) == _messages(lambda: run(TD))


def test_collected_iterator_stops_its_workers():
    # a worker that never got a task: collecting the iterator's cycle used to finalize that queue's pipe first
    it = iter(ED.DataLoader(list(range(3)), num_workers=2, batch_size=2, prefetch_factor=1))
    assert next(it).tolist() == [0, 1]
    workers = list(it._workers)
    it.cycle = it
    del it
    gc.collect()
    assert not any(w.is_alive() for w in workers)
    assert ember.tensor([1]).tolist() == [1]


@pytest.mark.parametrize("batch", [
    [np.float32(1), 2.5],                        # mixed NumPy scalar and float: the list's dtype (float32)
    [np.True_, 0.25],
    [np.int8(3), None, 3],                       # torch's "Could not infer dtype of NoneType"
    [np.array(1), np.array([2])],                # 0-d arrays are stacked, so sizes must agree
    [np.datetime64("2020-01-01")],               # not a number: the collate error
    [np.float16(1), np.float16(2)],
])
def test_default_collate_numpy_scalars_and_0d_arrays_as_torch(batch):
    def run(M):
        out = M.default_collate(batch)
        return str(out.dtype).split(".")[-1], out.tolist()

    _same(run)


def test_default_collate_stack_error_names_numpy_types():
    _same(lambda M: M.default_collate([(torch if M is TD else ember).tensor(1.0), np.float64(2)]))
    with pytest.raises(TypeError, match="but got numpy.float64"):
        ED.default_collate([ember.tensor(1.0), np.float64(2)])


@pytest.mark.parametrize("attr", ["dataset", "batch_size", "sampler", "batch_sampler", "drop_last",
                                  "persistent_workers", "num_workers", "collate_fn"])
def test_setting_batching_attributes_after_init_as_torch(attr):
    def run(M):
        dl = M.DataLoader(list(range(5)), batch_size=2)
        setattr(dl, attr, getattr(dl, attr))
        return attr

    _same(run)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")   # torch's half-made iterator
def test_zero_prefetch_factor_with_workers_refused_as_torch():
    def run(M):
        lib = torch if M is TD else ember
        lib.manual_seed(0)
        try:
            list(M.DataLoader(list(range(5)), batch_size=2, num_workers=1, prefetch_factor=0))
        except AssertionError as exc:
            return str(exc), lib.rand(1).item()   # the iterator drew its base seed first

    _same(run)


def test_key_error_in_a_worker_reads_as_torch():
    def run(M):
        class Missing(M.Dataset):
            def __len__(self):
                return 2

            def __getitem__(self, i):
                raise KeyError(i)

        try:
            list(M.DataLoader(Missing(), num_workers=1))
        except KeyError as exc:
            lines = str(exc).splitlines()
            return lines[:2], lines[-1]

    _same(run)


def test_workers_seed_numpy_and_random_as_torch():
    # NumPy's global generator was left as forked, so every worker made the same NumPy draws
    class Draws:
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return int(np.random.randint(0, 2 ** 31)), random.randint(0, 2 ** 31)

    def run(M):
        (torch if M is TD else ember).manual_seed(0)
        return [tuple(b) for b in M.DataLoader(Draws(), batch_size=None, num_workers=2)]

    _same(run)
