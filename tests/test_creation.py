"""Creation, conversion, the NumPy bridge and the Tensor protocol — against torch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import ember
from oracle import assert_close, assert_same_error, torch

DATA = [[1, 2], [1.0, 2], [True, 1], [1, 2 + 0j], [True, False], [], [[1, 2], [3, 4]], 3, 2.5, True,
        np.array([1.0, 2.0]), np.array([1, 2], dtype=np.int32), [np.float64(1.5), 2], np.array(5, dtype=np.uint8)]


@pytest.mark.parametrize("data", DATA, ids=repr)
def test_tensor_infers_like_torch(data: object) -> None:
    assert_close(ember.tensor(data), torch.tensor(data))
    assert repr(ember.tensor(data)) == repr(torch.tensor(data))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64", "int8", "uint8", "int32", "int64",
                                   "bool", "complex64"])
def test_tensor_with_dtype(dtype: str) -> None:
    data = [[0.5, -1.7], [2.2, 3.0]] if dtype != "uint8" else [[0.5, 1.7], [2.2, 3.0]]
    assert_close(ember.tensor(data, dtype=getattr(ember, dtype)), torch.tensor(data, dtype=getattr(torch, dtype)))


def test_tensor_errors() -> None:
    assert_same_error(lambda: ember.tensor([[1, 2], [3]]), lambda: torch.tensor([[1, 2], [3]]))
    assert_same_error(lambda: ember.tensor(2**63), lambda: torch.tensor(2**63))
    assert_same_error(lambda: ember.tensor([1, 2], requires_grad=True),
                      lambda: torch.tensor([1, 2], requires_grad=True))


@pytest.mark.parametrize("fn,args,kwargs", [
    ("zeros", (2, 3), {}), ("ones", ((2, 3),), {"dtype": "int32"}), ("full", ((2,), 3), {}),
    ("full", ((2,), True), {}), ("full", ((2,), 1.5), {}), ("eye", (3,), {}), ("eye", (2, 4), {"dtype": "int64"}),
    ("arange", (5,), {}), ("arange", (1, 4, 0.5), {}), ("arange", (0.0, 1.0, 0.1), {}),
    ("arange", (10, 0, -3), {}), ("arange", (5,), {"dtype": "float64"}),
    ("linspace", (0, 1, 5), {}), ("linspace", (-3, 7.5, 11), {}), ("linspace", (0, 10, 4), {"dtype": "int64"}),
    ("linspace", (2, 2, 1), {}), ("logspace", (0, 2, 3), {}), ("logspace", (0, 3, 4), {"base": 2}),
    ("tril_indices", (3, 4), {}), ("triu_indices", (4, 3, 1), {}), ("tril_indices", (3, 3, -1), {}),
])
def test_factories(fn: str, args: tuple, kwargs: dict) -> None:
    ek = {k: getattr(ember, v) if k == "dtype" else v for k, v in kwargs.items()}
    tk = {k: getattr(torch, v) if k == "dtype" else v for k, v in kwargs.items()}
    assert_close(getattr(ember, fn)(*args, **ek), getattr(torch, fn)(*args, **tk), rtol=1e-6, atol=1e-6)


def test_like_factories() -> None:
    src_e, src_t = ember.tensor([[1, 2, 3]]), torch.tensor([[1, 2, 3]])
    for fn in ("zeros_like", "ones_like"):
        assert_close(getattr(ember, fn)(src_e), getattr(torch, fn)(src_t))
        assert_close(getattr(ember, fn)(src_e, dtype=ember.float64), getattr(torch, fn)(src_t, dtype=torch.float64))
    assert_close(ember.full_like(src_e, 7), torch.full_like(src_t, 7))
    assert ember.empty_like(src_e).shape == (1, 3)
    assert ember.empty(2, 0).shape == ember.Size([2, 0])


def test_factory_errors() -> None:
    assert_same_error(lambda: ember.zeros(-1), lambda: torch.zeros(-1))
    assert_same_error(lambda: ember.arange(0, 1, 0), lambda: torch.arange(0, 1, 0))


def test_legacy_constructors() -> None:
    a = np.ones(2, dtype=np.float32)
    t = ember.Tensor(a)
    a[0] = 5
    assert t.tolist() == [5.0, 1.0]                       # float32 ndarray is shared
    b = np.ones(2)
    t = ember.Tensor(b)
    b[0] = 5
    assert t.tolist() == [1.0, 1.0]                       # other dtypes are copied
    assert ember.Tensor(2, 3).shape == (2, 3) and ember.Tensor(2, 3).dtype is ember.float32
    assert repr(ember.Tensor()) == repr(torch.Tensor())
    assert repr(ember.Tensor([1, 2])) == repr(torch.Tensor([1, 2]))
    for name in ("FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "ByteTensor", "BoolTensor"):
        assert_close(getattr(ember, name)([1, 0]), getattr(torch, name)([1, 0]))
        assert isinstance(getattr(ember, name)([1]), getattr(ember, name))
        assert isinstance(getattr(ember, name)([1]), ember.Tensor)
    assert not isinstance(ember.ones(1), ember.LongTensor)
    n = np.arange(10).reshape(2, 5)
    assert repr(ember.FloatTensor(n)) == repr(torch.FloatTensor(n))


def test_numpy_bridge_shares_memory() -> None:
    a = np.ones(2)
    t = ember.from_numpy(a)
    a[0] = 5
    t[1] = 7
    assert a.tolist() == [5.0, 7.0] and t.dtype is ember.float64
    t = ember.ones(2)
    n = t.numpy()
    n[0] = 9
    assert t.tolist() == [9.0, 1.0]
    x = np.arange(6).reshape(2, 3)[:, ::2]
    assert ember.from_numpy(x).stride() == torch.from_numpy(x).stride()
    assert_same_error(lambda: ember.from_numpy(np.arange(3)[::-1]), lambda: torch.from_numpy(np.arange(3)[::-1]))
    assert_same_error(lambda: ember.ones(2, requires_grad=True).numpy(),
                      lambda: torch.ones(2, requires_grad=True).numpy())
    assert_same_error(lambda: ember.ones(1, dtype=ember.bfloat16).numpy(),
                      lambda: torch.ones(1, dtype=torch.bfloat16).numpy())
    a = np.ones(2)
    t = ember.as_tensor(a)
    a[0] = 3
    assert t[0].item() == 3.0
    t = ember.as_tensor(a, dtype=ember.float32)
    a[0] = 4
    assert t[0].item() == 3.0
    assert np.asarray(ember.tensor([1, 2])).tolist() == [1, 2]


def test_dlpack_roundtrip() -> None:
    t = ember.arange(4.0)
    n = np.from_dlpack(t)
    t[0] = 9
    assert n[0] == 9.0
    back = ember.from_dlpack(torch.arange(3))
    assert back.tolist() == [0, 1, 2] and back.dtype is ember.int64


def test_scalars_and_python_conversion() -> None:
    assert ember.tensor([[5]]).item() == 5 and ember.tensor(2.5).item() == 2.5
    assert ember.tensor(1.0).tolist() == 1.0 and int(ember.tensor([3.7])) == 3
    assert isinstance(ember.tensor(2).item(), int) and isinstance(ember.tensor(2.0, dtype=ember.bfloat16).item(), float)
    for bad in ([1, 2], []):
        assert_same_error(lambda b=bad: ember.tensor(b).item(), lambda b=bad: torch.tensor(b).item())
        assert_same_error(lambda b=bad: bool(ember.tensor(b)), lambda b=bad: bool(torch.tensor(b)))
    assert_same_error(lambda: float(ember.tensor([1, 2])), lambda: float(torch.tensor([1, 2])))
    assert_same_error(lambda: len(ember.tensor(1.0)), lambda: len(torch.tensor(1.0)))
    x = ember.ones(2, 3)
    assert (x.size(), x.size(1), x.shape[1], x.numel(), x.dim(), type(x.shape).__name__) == \
        (torch.Size([2, 3]), 3, 3, 6, 2, "Size")
    assert repr(x.shape) == "torch.Size([2, 3])" and x.shape[1:] == ember.Size([3])
    assert [v.tolist() for v in ember.tensor([[1, 2], [3, 4]])] == [[1, 2], [3, 4]]
    assert f"{ember.tensor(2.5):.2f}" == "2.50"
    assert list(range(10))[ember.tensor(3)] == 3


@pytest.mark.parametrize("method", ["float", "double", "half", "bfloat16", "long", "int", "short", "char", "byte",
                                    "bool"])
def test_conversion_methods(method: str) -> None:
    src = [-1.7, 0.0, 1.5, 2.5]
    e = getattr(ember.tensor(src), method)()
    t = getattr(torch.tensor(src), method)()
    assert_close(e, t)
    assert e.type() == t.type()


def test_to_type_and_clone() -> None:
    x = ember.arange(6).view(2, 3).t()
    t = torch.arange(6).view(2, 3).t()
    assert x.to(ember.float64).dtype is ember.float64 and x.to(ember.int64) is x
    assert x.type(ember.FloatTensor).type() == "torch.FloatTensor"
    assert x.type("torch.DoubleTensor").dtype is ember.float64
    assert x.clone().stride() == t.clone().stride() and x.contiguous().stride() == t.contiguous().stride()
    assert x.is_contiguous() == t.is_contiguous() and x.contiguous().is_contiguous()
    y = ember.zeros(3)
    y.copy_(ember.tensor([1, 2, 3]))
    assert y.tolist() == [1.0, 2.0, 3.0]
    y.copy_(ember.tensor(5.0))
    assert y.tolist() == [5.0, 5.0, 5.0]
    assert_same_error(lambda: ember.zeros(3).copy_(ember.ones(2)), lambda: torch.zeros(3).copy_(torch.ones(2)),
                      match_message=False)
    assert y.fill_(2).tolist() == [2.0] * 3 and y.zero_().tolist() == [0.0] * 3
    assert (x.element_size(), x.nbytes, x.itemsize) == (t.element_size(), t.nbytes, t.itemsize)


# ---- memory formats: *_like keep a dense input's strides (preserve_format), as torch -------------------
_LAYOUTS = {
    "transposed": lambda L: L.ones(3, 4, 5).transpose(0, 1),
    "permuted": lambda L: L.ones(2, 3, 4, 5).permute(0, 2, 3, 1),
    "sliced (not dense)": lambda L: L.ones(2, 3, 4, 5)[:, :, ::2],
    "expanded (overlapping)": lambda L: L.ones(4, 1, 3).expand(4, 2, 3),
    "size-1 dims": lambda L: L.ones(1, 3, 1).transpose(0, 2),
    "channels_last": lambda L: L.ones(2, 3, 4, 5).permute(0, 2, 3, 1).permute(0, 3, 1, 2),
}


@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
@pytest.mark.parametrize("fn", ["empty_like", "zeros_like", "ones_like", "rand_like", "randn_like"])
@pytest.mark.parametrize("fmt", [None, "preserve_format", "contiguous_format"])
def test_like_factories_follow_memory_format(layout: str, fn: str, fmt: str | None) -> None:
    def strides(L: Any) -> tuple:
        kw = {} if fmt is None else {"memory_format": getattr(L, fmt)}
        return getattr(L, fn)(_LAYOUTS[layout](L), **kw).stride()
    assert strides(ember) == strides(torch)


def test_channels_last_format_and_rank_error() -> None:
    assert (ember.empty_like(ember.ones(2, 3, 4, 5), memory_format=ember.channels_last).stride()
            == torch.empty_like(torch.ones(2, 3, 4, 5), memory_format=torch.channels_last).stride())
    assert_same_error(lambda: ember.empty_like(ember.ones(2, 3), memory_format=ember.channels_last),
                      lambda: torch.empty_like(torch.ones(2, 3), memory_format=torch.channels_last))
    assert repr(ember.channels_last) == repr(torch.channels_last) == "torch.channels_last"


def test_randn_like_on_transposed_input_draws_in_memory_order() -> None:
    ember.manual_seed(0)
    torch.manual_seed(0)
    assert_close(ember.randn_like(ember.ones(3, 4, 5).transpose(0, 1)),
                 torch.randn_like(torch.ones(3, 4, 5).transpose(0, 1)))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "uint16", "uint32", "uint64", "int32", "int64", "bool"])
def test_python_numbers_into_integer_dtypes_as_torch(dtype: str) -> None:
    """torch's checked conversion of Python numbers: range errors, unsigned types wrapping negative integers down
    to minus their maximum, truncated floats, NaN/inf and complex refused, uint64's exact integer checks."""
    values = (-1, -129, -255, -256, 255, 256, 65536, 2**31, 2**32, -2**31 - 1, 2**63 - 1, 2**63, -0.5, -1.5, 255.5,
              127.9, -128.9, float("nan"), float("inf"), 2 + 0j, True, [1, 2.5], [[-1, 3]])

    def outcome(lib: Any, v: Any) -> str:
        try:
            return str(lib.tensor(v, dtype=getattr(lib, dtype)).tolist())
        except (RuntimeError, ValueError, TypeError, OverflowError) as e:
            return f"{type(e).__name__}: {e}"

    for v in values:
        for data in (v, v if isinstance(v, list) else [v]):
            assert outcome(ember, data) == outcome(torch, data), data


FILL_CASES = [
    lambda L: L.full((1,), 1e300, dtype=L.float32), lambda L: L.full((1,), 1e39, dtype=L.bfloat16),
    lambda L: L.full((1,), -1, dtype=L.uint8), lambda L: L.full((1,), -1.0, dtype=L.uint8),
    lambda L: L.full((1,), float("nan"), dtype=L.int32), lambda L: L.full((3,), 300, dtype=L.uint8),
    lambda L: L.full((2,), -1, dtype=L.uint64), lambda L: L.full((1,), 2.5, dtype=L.int32),
    lambda L: L.full((2,), 1 + 2j, dtype=L.int32), lambda L: L.full((2,), 2 + 0j, dtype=L.int32),
    lambda L: L.full((2,), 1e30, dtype=L.float16), lambda L: L.full((1,), 1e30, dtype=L.float16),
    lambda L: L.zeros(1, dtype=L.int8).fill_(300), lambda L: L.zeros(1, dtype=L.int8).fill_(L.tensor(300)),
    lambda L: L.ones(2, dtype=L.uint8).fill_(-1), lambda L: L.zeros(2, dtype=L.float16).fill_(1e6),
    lambda L: L.zeros(1, dtype=L.int8).new_full((1,), 300), lambda L: L.full_like(L.zeros(1, dtype=L.int8), 300),
    lambda L: L.arange(0, 300, 100, dtype=L.int8), lambda L: L.arange(0, 1e30, 1e29, dtype=L.int8),
    lambda L: L.arange(0, 3, dtype=L.bool), lambda L: L.arange(3, dtype=L.complex32),
    lambda L: L.linspace(0, 1000, 5, dtype=L.int8), lambda L: L.linspace(-5, 300, 4, dtype=L.uint8),
    lambda L: L.linspace(-1, 1, 3, dtype=L.uint8), lambda L: L.linspace(0, 1e6, 3, dtype=L.float16),
    lambda L: L.linspace(0, 1, 3, dtype=L.bool), lambda L: L.linspace(0, 3, 3, dtype=L.uint16),
    lambda L: L.logspace(0, 10, 3, dtype=L.int32), lambda L: L.logspace(0, 1e39, 3, dtype=L.float32),
]


@pytest.mark.parametrize("case", range(len(FILL_CASES)))
def test_fill_values_and_range_ends_checked_as_torch(case: int) -> None:
    """Factory fill values and range ends go through torch's checked conversion (its overflow errors by C++
    type name, unsigned wrap-around, float16 checked only when filling several elements) and its
    not-implemented kernels; a tensor fill value is cast unchecked."""
    def outcome(lib: Any) -> str:
        try:
            return str(FILL_CASES[case](lib).tolist())
        except (RuntimeError, NotImplementedError) as e:
            return f"{type(e).__name__}: {e}"

    assert outcome(ember) == outcome(torch)
