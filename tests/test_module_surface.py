"""Small torch modules user code imports: ``nn.modules.utils``, ``utils.weak``, ``types``, ``storage`` and the
``xpu``/``mps`` namespaces of backends ember (like torch's CPU build) does not have — compared with torch."""

from __future__ import annotations

import gc
from collections import OrderedDict

import pytest
import torch.nn.modules.utils as tu  # noqa: E402
import torch.utils.weak as tw  # noqa: E402

import ember
import ember.nn.modules.utils as eu
import ember.utils.weak as ew
from oracle import assert_same_error, torch

TUPLE_CASES = [3, (1, 2), [4, 5, 6], range(2), (7,)]


@pytest.mark.parametrize("name", ["_single", "_pair", "_triple", "_quadruple"])
@pytest.mark.parametrize("value", TUPLE_CASES, ids=repr)
def test_ntuple_parsers_match_torch(name: str, value: object) -> None:
    assert getattr(eu, name)(value) == getattr(tu, name)(value)
    assert getattr(eu, name).__name__ == getattr(tu, name).__name__


def test_reverse_repeat_and_list_with_default_match_torch() -> None:
    assert eu._reverse_repeat_tuple((1, 2, 3), 2) == tu._reverse_repeat_tuple((1, 2, 3), 2)
    assert eu._list_with_default([None, 5], [1, 2, 7, 9]) == tu._list_with_default([None, 5], [1, 2, 7, 9])
    assert eu._list_with_default(4, [1, 2]) == tu._list_with_default(4, [1, 2])
    assert_same_error(lambda: eu._list_with_default([None, 5], [1, 2]),
                      lambda: tu._list_with_default([None, 5], [1, 2]))


def _ddp_state() -> OrderedDict:
    state = OrderedDict([("module.fc.weight", 1), ("module.fc.bias", 2), ("other", 3)])
    state._metadata = OrderedDict([("", {"version": 1}), ("module", {"v": 2}), ("module.fc", {"v": 3})])
    return state


def test_consume_prefix_matches_torch() -> None:
    mine, theirs = _ddp_state(), _ddp_state()
    eu.consume_prefix_in_state_dict_if_present(mine, "module.")
    tu.consume_prefix_in_state_dict_if_present(theirs, "module.")
    assert list(mine.items()) == list(theirs.items())
    assert list(mine._metadata.items()) == list(theirs._metadata.items())


def test_ddp_checkpoint_loads_into_a_bare_model() -> None:
    ember.manual_seed(0)
    net = ember.nn.Linear(3, 2)
    state = OrderedDict((f"module.{k}", v) for k, v in net.state_dict().items())
    eu.consume_prefix_in_state_dict_if_present(state, "module.")
    fresh = ember.nn.Linear(3, 2)
    fresh.load_state_dict(state)
    assert ember.equal(fresh.weight, net.weight)


def _weak_dict_story(lib: object, weak: object) -> list:
    """The same sequence of operations on a weak identity dictionary, observed at each step."""
    seen = []
    d = weak.WeakIdKeyDictionary()
    a, b, c = lib.ones(2), lib.ones(2), lib.zeros(1)
    d[a], d[b] = "a", "b"
    seen += [len(d), d[a], a in d, lib.ones(2) in d, 5 in d, sorted(d.values())]
    d[a] = "A"
    del d[b]
    seen += [len(d), d[a], b in d]
    d[c] = "c"
    del a
    gc.collect()
    seen += [len(d), sorted(d.values()), len(d.copy()), len(d.keyrefs())]
    ref = weak.TensorWeakRef(c)
    seen.append(ref() is c)
    del c
    gc.collect()
    seen += [ref(), len(d)]
    return seen


def test_weak_id_key_dictionary_matches_torch() -> None:
    assert _weak_dict_story(ember, ew) == _weak_dict_story(torch, tw)


def test_weak_id_ref_identity_semantics() -> None:
    a, b = ember.ones(1), ember.ones(1)
    ra, ra2, rb = ew.WeakIdRef(a), ew.WeakIdRef(a), ew.WeakIdRef(b)
    assert ra == ra2 and hash(ra) == hash(ra2) == id(a) and not ra == rb
    assert_same_error(lambda: ew.TensorWeakRef([1]), lambda: tw.TensorWeakRef([1]))


def test_types_and_storage_modules() -> None:
    import ember.storage
    import ember.types
    assert ember.types.Number == int | float | bool
    assert ember.storage.UntypedStorage is ember.UntypedStorage
    assert ember.storage.TypedStorage is ember.TypedStorage
    assert isinstance(ember.ones(2).untyped_storage(), ember.types.Storage)


XPU_CALLS = ["is_available()", "device_count()", "is_initialized()", "is_bf16_supported()", "is_tf32_supported()",
             "get_arch_list()", "get_gencode_flags()", "manual_seed(1)", "manual_seed_all(1)", "seed()",
             "seed_all()", "empty_cache()", "memory_allocated()", "max_memory_allocated()", "memory_reserved()",
             "max_memory_reserved()", "memory_stats()", "get_rng_state_all()", "current_device()", "synchronize()",
             "get_device_name()", "get_device_properties()", "get_device_capability()", "init()", "initial_seed()",
             "get_rng_state()", "set_device(0)", "mem_get_info()", "current_stream()",
             "can_device_access_peer(0, 1)", "Stream()", "Event()", "device(0).__enter__()"]
MPS_CALLS = ["is_available()", "device_count()", "manual_seed(1)", "synchronize()", "empty_cache()",
             "current_allocated_memory()", "driver_allocated_memory()", "recommended_max_memory()", "seed()",
             "get_rng_state()", "set_per_process_memory_fraction(0.5)"]


def _outcome(namespace: object, call: str) -> object:
    try:
        return ("value", eval(f"ns.{call}", {"ns": namespace}))
    except Exception as exc:   # noqa: BLE001 (the error itself is what is compared)
        return ("error", type(exc).__name__, str(exc))


@pytest.mark.parametrize("call", XPU_CALLS)
def test_xpu_namespace_matches_torch_cpu_build(call: str) -> None:
    assert _outcome(ember.xpu, call) == _outcome(torch.xpu, call)


@pytest.mark.parametrize("call", MPS_CALLS)
def test_mps_namespace_matches_torch_off_apple(call: str) -> None:
    assert _outcome(ember.mps, call) == _outcome(torch.mps, call)


def test_mps_event_refused_like_torch() -> None:
    with pytest.raises(RuntimeError, match=r"Cannot execute acquireEvent\(\) without MPS backend\."):
        ember.mps.Event()


HASH_INPUTS = [
    ("arange", lambda lib: lib.arange(24.0).reshape(2, 3, 4)),
    ("bool", lambda lib: lib.tensor([True, False, True])),
    ("int32", lambda lib: lib.tensor([[-1, 2], [7, -9]], dtype=lib.int32)),
    ("float16", lambda lib: lib.tensor([1.5, 2.0, -0.0], dtype=lib.float16)),
    ("nan", lambda lib: lib.tensor([float("nan"), -0.0, 3.25], dtype=lib.float64)),
    ("scalar", lambda lib: lib.tensor(2.5)),
]


@pytest.mark.parametrize("make", [m for _, m in HASH_INPUTS], ids=[n for n, _ in HASH_INPUTS])
@pytest.mark.parametrize("kwargs", [{}, {"dim": 0}, {"dim": -1, "keepdim": True}, {"dim": None, "keepdim": True},
                                    {"dim": []}], ids=repr)
def test_hash_tensor_matches_torch(make: object, kwargs: dict) -> None:
    e, t = make(ember), make(torch)
    if "dim" in kwargs and kwargs["dim"] not in (None, []) and t.dim() == 0:
        kwargs = {**kwargs, "dim": 0}
    got, want = ember.hash_tensor(e, **kwargs), torch.hash_tensor(t, **kwargs)
    assert got.dtype == ember.uint64 and tuple(got.shape) == tuple(want.shape)
    assert got.tolist() == want.tolist()
    assert e.hash_tensor(**kwargs).tolist() == want.tolist()


@pytest.mark.parametrize("call", ["hash_tensor(lib.tensor([1j]))", "hash_tensor(lib.ones(2), mode=1)",
                                  "hash_tensor(lib.ones(2, 3), 5)", "hash_tensor(lib.zeros(0, 3), 0)",
                                  "hash_tensor(lib.zeros(0, 3))", "hash_tensor(lib.tensor([1], dtype=lib.uint64))"])
def test_hash_tensor_errors_match_torch(call: str) -> None:
    assert_same_error(lambda: eval(f"lib.{call}", {"lib": ember}), lambda: eval(f"lib.{call}", {"lib": torch}))
