"""Checkpoints written by real torch 2.13 (tests/data, made by make_checkpoints.py) load in ember
without torch installed: every value is a formula of arange, recomputed here with NumPy."""

from __future__ import annotations

import pathlib
from collections import Counter, OrderedDict

import numpy as np
import pytest

import ember
from ember import serialization as S

DATA = pathlib.Path(__file__).parent / "data"
DTYPES = (
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "bool",
    "complex64",
    "complex128",
    "uint16",
    "uint32",
    "uint64",
)


def arange_as(name: str, shape: tuple[int, ...] = (2, 3)) -> np.ndarray:
    k = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    if name == "bool":
        return k.astype(np.int64) % 2 == 1
    if name.startswith("complex"):
        return (k + 0.5j * k).astype(getattr(ember, name).np)
    return k.astype(getattr(ember, name).np)


def values(t: ember.Tensor) -> np.ndarray:
    return t._data


def same_storage(a: ember.Tensor, b: ember.Tensor) -> bool:
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


@pytest.mark.parametrize("mmap", [False, True])
def test_state_dict(mmap: bool) -> None:
    sd = S.load(DATA / "torch_state_dict.pt", mmap=mmap)
    assert type(sd) is OrderedDict
    assert list(sd) == [
        "0.weight",
        "0.bias",
        "1.weight",
        "1.bias",
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
    ]
    assert sd._metadata == OrderedDict([("", {"version": 1}), ("0", {"version": 1}), ("1", {"version": 2})])
    np.testing.assert_array_equal(values(sd["0.weight"]), (np.arange(6.0) * 0.5 - 1).reshape(2, 3))
    for k in ("0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"):
        np.testing.assert_array_equal(values(sd[k]), np.array([-1.0, -0.5], np.float32))
        assert sd[k].dtype is ember.float32 and not sd[k].requires_grad
    assert sd["1.num_batches_tracked"].dtype is ember.int64 and sd["1.num_batches_tracked"].item() == 7


def test_every_dtype() -> None:
    d = S.load(DATA / "torch_dtypes.pt")
    for name in DTYPES:
        t = d[name]
        assert t.dtype is getattr(ember, name) and t.shape == (2, 3) and t.stride() == (3, 1)
        np.testing.assert_array_equal(values(t), arange_as(name))
    assert d["scalar0d"].shape == () and d["scalar0d"].item() == 3.5
    assert (
        d["empty"].shape == (0, 4) and d["empty_int"].shape == (2, 0) and d["empty_int"].dtype is ember.int64
    )


@pytest.mark.parametrize("name", ["torch_views.pt", "torch_views_deflated.pt"])
def test_views_share_one_storage(name: str) -> None:
    d = S.load(DATA / name)
    base = np.arange(24.0, dtype=np.float32).reshape(4, 6)
    want = {
        "base": (base, (6, 1), 0),
        "row": (base[1], (1,), 6),
        "col": (base[:, 2], (6,), 2),
        "t": (base.T, (1, 6), 0),
        "narrow": (base[1:3, 2:5], (6, 1), 8),
        "exp": (np.broadcast_to(base[0:1], (3, 6)), (0, 1), 0),
        "strided": (np.array([[3, 4], [10, 11]], np.float32), (7, 1), 3),
    }
    for k, (arr, stride, offset) in want.items():
        np.testing.assert_array_equal(values(d[k]), arr)
        assert d[k].stride() == stride and d[k].storage_offset() == offset, k
        assert same_storage(d[k], d["base"]), k
    assert not same_storage(d["other"], d["base"]) and d["other"].tolist() == [0, 1, 2]
    d["base"][1, 2] = 100.0
    assert d["row"][2].item() == 100.0 and d["col"][1].item() == 100.0 and d["t"][2, 1].item() == 100.0


def test_parameter_containers_and_scalars() -> None:
    d = S.load(DATA / "torch_misc.pt")
    p = d["param"]
    assert p.requires_grad and p.tolist() == [0.0, 1.0, 2.0, 3.0]
    if S._globals.parameter_class() is not None:
        assert type(p) is S._globals.parameter_class()
    a, b = d["same_twice"]
    assert a is b and a.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert d["nested"] == {
        "list": [1, 2.5, "s", None, True, (1, 2)],
        "set": {1, 2},
        "bytes": b"xy",
        "complex": 1 + 2j,
        "size": ember.Size([2, 3]),
        "dtype": ember.float16,
        "device": ember.device("cpu"),
        "big": 2**70,
        "neg": -5,
        "bytearray": bytearray(b"z"),
        "counter": Counter("aab"),
    }
    assert type(d["nested"]["size"]) is ember.Size and d["nested"]["dtype"] is ember.float16


def test_optimizer_state_dict() -> None:
    d = S.load(DATA / "torch_optimizer.pt")
    assert d["param_groups"][0]["params"] == [0, 1] and d["param_groups"][0]["betas"] == (0.9, 0.999)
    for i, shape in ((0, (2, 2)), (1, (2,))):
        st = d["state"][i]
        assert st["step"].item() == 1.0 and st["exp_avg"].shape == shape
        np.testing.assert_allclose(values(st["exp_avg"]), 0.1, rtol=1e-6)
        np.testing.assert_allclose(values(st["exp_avg_sq"]), 0.001, rtol=1e-6)


def test_legacy_format() -> None:
    d = S.load(DATA / "torch_legacy.pt")
    np.testing.assert_array_equal(values(d["w"]), np.arange(6.0, dtype=np.float32).reshape(2, 3))
    assert (
        d["v"].tolist() == [3.0, 4.0, 5.0] and d["v"].storage_offset() == 3 and same_storage(d["v"], d["w"])
    )
    assert d["i"].tolist() == [1, 2, 3] and d["meta"] == {"epoch": 3}
    assert S.load(DATA / "torch_legacy.pt", weights_only=False)["meta"] == {"epoch": 3}


def test_big_endian_byteorder_is_swapped() -> None:
    d = S.load(DATA / "torch_big_endian.pt")
    for k, name in {
        "f32": "float32",
        "f64": "float64",
        "i16": "int16",
        "c64": "complex64",
        "bf16": "bfloat16",
        "u8": "uint8",
    }.items():
        assert d[k].dtype is getattr(ember, name)
        np.testing.assert_array_equal(values(d[k]), arange_as(name))


def test_big_endian_with_mmap() -> None:
    d = S.load(DATA / "torch_big_endian.pt", mmap=True)
    np.testing.assert_array_equal(values(d["c64"]), arange_as("complex64"))
    assert S.load(DATA / "torch_big_endian.pt")["f64"].tolist() == arange_as("float64").tolist()
