"""dtypes, promotion tables, finfo/iinfo, default dtype and devices — against torch."""

from __future__ import annotations

import pytest

import ember
from oracle import torch

NAMES = ["float16", "bfloat16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64", "bool",
         "complex64", "complex128"]
ALIASES = ["half", "float", "double", "short", "int", "long", "cfloat", "cdouble"]


@pytest.mark.parametrize("name", NAMES + ALIASES)
def test_dtype_names_reprs_and_properties(name: str) -> None:
    e, t = getattr(ember, name), getattr(torch, name)
    assert repr(e) == repr(t)
    assert e.is_floating_point == t.is_floating_point
    assert e.is_complex == t.is_complex
    assert e.itemsize == t.itemsize
    assert e.is_signed == t.is_signed


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("b", NAMES)
def test_promote_types_table(a: str, b: str) -> None:
    assert repr(ember.promote_types(getattr(ember, a), getattr(ember, b))) == \
        repr(torch.promote_types(getattr(torch, a), getattr(torch, b)))


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("b", NAMES)
def test_can_cast_table(a: str, b: str) -> None:
    assert ember.can_cast(getattr(ember, a), getattr(ember, b)) == torch.can_cast(getattr(torch, a), getattr(torch, b))


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64"])
def test_finfo(name: str) -> None:
    e, t = ember.finfo(getattr(ember, name)), torch.finfo(getattr(torch, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "resolution"):
        assert getattr(e, attr) == getattr(t, attr), attr
    assert repr(e) == repr(t)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64"])
def test_iinfo(name: str) -> None:
    e, t = ember.iinfo(getattr(ember, name)), torch.iinfo(getattr(torch, name))
    assert (e.bits, e.min, e.max, repr(e)) == (t.bits, t.min, t.max, repr(t))


def test_default_dtype_rules() -> None:
    assert ember.get_default_dtype() is ember.float32
    ember.set_default_dtype(ember.float64)
    assert ember.tensor([1.0]).dtype is ember.float64
    assert ember.tensor([1]).dtype is ember.int64
    assert (ember.tensor([1]) / 2).dtype is ember.float64
    assert ember.tensor([1j]).dtype is ember.complex128
    ember.set_default_dtype(ember.float32)
    with pytest.raises(TypeError, match="only floating-point types are supported as the default type"):
        ember.set_default_dtype(ember.int64)


def test_devices() -> None:
    d = ember.device("cpu")
    assert repr(d) == repr(torch.device("cpu")) and str(d) == "cpu"
    assert ember.device("cuda", 1).index == 1 and repr(ember.device("cuda:1")) == repr(torch.device("cuda:1"))
    assert ember.device("cpu") == "cpu" and ember.ones(2).device == ember.device("cpu")
    with pytest.raises(RuntimeError):
        ember.device("tpu")
    if not ember.cuda.is_available():
        with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
            ember.ones(2, device="cuda")
        with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
            ember.ones(2).cuda()
