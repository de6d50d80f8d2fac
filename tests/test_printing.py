"""Tensor printing must match torch 2.13 character for character (torch is the oracle).

Each torch tensor is mirrored with the very same values twice: as a real ember Tensor (``from_array``)
and as ``FakeTensor``, a stand-in exposing exactly what ``ember._tensor_str`` reads, which can also carry
a ``grad_fn`` or a device; both must print exactly as ``repr`` of the torch tensor.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import ml_dtypes
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ember import _tensor_str as ts
from ember._core import dtype as edt

try:
    from ember._tensor import from_array
except ImportError:  # Tensor is developed alongside; printing is still checked through FakeTensor
    from_array = None

nan, inf = math.nan, math.inf


class FakeDevice:
    """``Tensor.device`` stand-in: ``.type`` and ``str()`` like ``'cuda:0'``."""

    def __init__(self, type: str, index: int | None = None) -> None:
        self.type, self.index = type, index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"


class FakeTensor:
    """The Tensor surface that printing uses, over a NumPy (or device-like) array."""

    def __init__(self, data: Any, dtype: edt.dtype, *, device: FakeDevice | None = None,
                 requires_grad: bool = False, grad_fn: object = None) -> None:
        self._data, self.dtype = data, dtype
        self.device = device or FakeDevice("cpu")
        self.shape = tuple(data.shape)
        self.requires_grad, self.grad_fn = requires_grad, grad_fn

    def dim(self) -> int:
        return len(self.shape)

    def numel(self) -> int:
        return math.prod(self.shape)

    def item(self) -> Any:
        return self._data.astype(np.float32).item() if self.dtype is edt.bfloat16 else self._data.item()


def ember_dtype(d: torch.dtype) -> edt.dtype:
    """The ember dtype of the same name."""
    return edt.BY_NAME[str(d).removeprefix("torch.")]


def fake_of(tt: torch.Tensor) -> FakeTensor:
    """A stand-in holding exactly ``tt``'s values, dtype, requires_grad and grad_fn name."""
    data = tt.detach()
    array = data.float().numpy().astype(ml_dtypes.bfloat16) if data.dtype == torch.bfloat16 else data.numpy()
    node = None if tt.grad_fn is None else type(type(tt.grad_fn).__name__, (), {})()
    return FakeTensor(array, ember_dtype(tt.dtype), requires_grad=tt.requires_grad, grad_fn=node)


def ember_repr(obj: Any) -> str:
    """repr of the ember counterpart of a torch tensor, Parameter or list of tensors."""
    if isinstance(obj, list):
        return "[" + ", ".join(map(ember_repr, obj)) + "]"
    if isinstance(obj, torch.nn.Parameter):
        return "Parameter containing:\n" + ts.tensor_repr(fake_of(obj))
    return ts.tensor_repr(fake_of(obj))


def check(tt: torch.Tensor) -> None:
    """Assert that the ember counterparts of ``tt`` print exactly as ``tt`` does."""
    expected = repr(tt)
    assert ember_repr(tt) == expected
    if from_array is not None and tt.grad_fn is None:
        fake = fake_of(tt)
        real = from_array(fake._data, fake.dtype)
        if tt.requires_grad:
            real.requires_grad_()
        assert repr(real) == str(real) == expected
        assert f"{real}" == f"{tt}"


def set_both(**kwargs: Any) -> None:
    """Apply the same print options to torch and ember."""
    torch.set_printoptions(**kwargs)
    ts.set_printoptions(**kwargs)


@pytest.fixture(autouse=True)
def _reset_options() -> Iterator[None]:
    """Every test starts and ends with default options and the float32 default dtype, in both libraries."""
    set_both(profile="default")
    yield
    set_both(profile="default")
    torch.set_default_dtype(torch.float32)
    edt.set_default_dtype(edt.float32)


# ---------------------------------------------------------------------------------------------------
# The verified examples of the printing reference, as a transcript: `>>> expr` then the exact output.

TRANSCRIPT = """\
>>> torch.tensor([1., 2., 3.])
tensor([1., 2., 3.])
>>> torch.tensor([1.5, 2., 3.])
tensor([1.5000, 2.0000, 3.0000])
>>> torch.tensor([0.1, 0.25])
tensor([0.1000, 0.2500])
>>> torch.tensor([1., 1000.])
tensor([   1., 1000.])
>>> torch.tensor([1., 1001.])
tensor([1.0000e+00, 1.0010e+03])
>>> torch.tensor([1e8])
tensor([100000000.])
>>> torch.tensor([1e9])
tensor([1.0000e+09])
>>> torch.tensor([1e-4, 1.])
tensor([1.0000e-04, 1.0000e+00])
>>> torch.tensor([0.0001])
tensor([1.0000e-04])
>>> torch.tensor([0.0001], dtype=torch.float64)
tensor([0.0001], dtype=torch.float64)
>>> torch.tensor([1e10, 1.])
tensor([1.0000e+10, 1.0000e+00])
>>> torch.tensor([1e20, -1e-20])
tensor([ 1.0000e+20, -1.0000e-20])
>>> torch.tensor([12345.678])
tensor([12345.6777])
>>> torch.tensor([0.99999])
tensor([1.0000])
>>> torch.tensor([0.])
tensor([0.])
>>> torch.tensor([0., -0.])
tensor([0., -0.])
>>> torch.tensor([nan, inf, -inf])
tensor([nan, inf, -inf])
>>> torch.tensor([1.5, nan, -inf])
tensor([1.5000,    nan,   -inf])
>>> torch.tensor([100., nan])
tensor([100.,  nan])
>>> torch.tensor([-1., 2.])
tensor([-1.,  2.])
>>> torch.tensor([[1., -2.5], [300., 4.]])
tensor([[  1.0000,  -2.5000],
        [300.0000,   4.0000]])
>>> torch.tensor(3.)
tensor(3.)
>>> torch.tensor(0.5)
tensor(0.5000)
>>> torch.tensor(-0.)
tensor(-0.)
>>> torch.tensor(1e-10)
tensor(1.0000e-10)
>>> torch.tensor(3)
tensor(3)
>>> torch.tensor(True)
tensor(True)
>>> torch.tensor([1, -20, 300])
tensor([  1, -20, 300])
>>> torch.tensor([123456789012, 5])
tensor([123456789012,            5])
>>> torch.tensor([True, False])
tensor([ True, False])
>>> torch.tensor([1, 2], dtype=torch.int32)
tensor([1, 2], dtype=torch.int32)
>>> torch.tensor([1., 2.], dtype=torch.float64)
tensor([1., 2.], dtype=torch.float64)
>>> torch.tensor([0.1], dtype=torch.float16)
tensor([0.1000], dtype=torch.float16)
>>> torch.tensor([0.1], dtype=torch.bfloat16)
tensor([0.1001], dtype=torch.bfloat16)
>>> torch.tensor([1+2j, -3.5-1j])
tensor([ 1.0000+2.j, -3.5000-1.j])
>>> torch.tensor([])
tensor([])
>>> torch.tensor([], dtype=torch.int64)
tensor([], dtype=torch.int64)
>>> torch.empty(0, 3)
tensor([], size=(0, 3))
>>> torch.empty(2, 0, dtype=torch.int32)
tensor([], size=(2, 0), dtype=torch.int32)
>>> torch.empty(0, 2, 3, dtype=torch.bool)
tensor([], size=(0, 2, 3), dtype=torch.bool)
>>> torch.tensor([], requires_grad=True)
tensor([], requires_grad=True)
>>> torch.zeros(1, 1, 1)
tensor([[[0.]]])
>>> torch.arange(12.).reshape(2, 2, 3)
tensor([[[ 0.,  1.,  2.],
         [ 3.,  4.,  5.]],

        [[ 6.,  7.,  8.],
         [ 9., 10., 11.]]])
>>> torch.arange(30.) / 7
tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,
        1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286,
        2.5714, 2.7143, 2.8571, 3.0000, 3.1429, 3.2857, 3.4286, 3.5714, 3.7143,
        3.8571, 4.0000, 4.1429])
>>> torch.arange(40)
tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,
        18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
        36, 37, 38, 39])
>>> torch.arange(2000)
tensor([   0,    1,    2,  ..., 1997, 1998, 1999])
>>> torch.arange(1001.)
tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.])
>>> torch.ones(1001, dtype=torch.bool)
tensor([True, True, True,  ..., True, True, True])
>>> torch.arange(3000.).reshape(100, 30)
tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 2.7000e+01, 2.8000e+01,
         2.9000e+01],
        [3.0000e+01, 3.1000e+01, 3.2000e+01,  ..., 5.7000e+01, 5.8000e+01,
         5.9000e+01],
        [6.0000e+01, 6.1000e+01, 6.2000e+01,  ..., 8.7000e+01, 8.8000e+01,
         8.9000e+01],
        ...,
        [2.9100e+03, 2.9110e+03, 2.9120e+03,  ..., 2.9370e+03, 2.9380e+03,
         2.9390e+03],
        [2.9400e+03, 2.9410e+03, 2.9420e+03,  ..., 2.9670e+03, 2.9680e+03,
         2.9690e+03],
        [2.9700e+03, 2.9710e+03, 2.9720e+03,  ..., 2.9970e+03, 2.9980e+03,
         2.9990e+03]])
>>> torch.ones(2, requires_grad=True)
tensor([1., 1.], requires_grad=True)
>>> torch.ones(2, requires_grad=True) + 1
tensor([2., 2.], grad_fn=<AddBackward0>)
>>> torch.ones(8, dtype=torch.float64, requires_grad=True) * 2.5
tensor([2.5000, 2.5000, 2.5000, 2.5000, 2.5000, 2.5000, 2.5000, 2.5000],
       dtype=torch.float64, grad_fn=<MulBackward0>)
>>> torch.ones(10, dtype=torch.float64, requires_grad=True) * 2.5
tensor([2.5000, 2.5000, 2.5000, 2.5000, 2.5000, 2.5000, 2.5000, 2.5000, 2.5000,
        2.5000], dtype=torch.float64, grad_fn=<MulBackward0>)
>>> torch.arange(9., dtype=torch.float64) / 3
tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667],
       dtype=torch.float64)
>>> torch.nn.Parameter(torch.ones(2))
Parameter containing:
tensor([1., 1.], requires_grad=True)
>>> torch.nn.Parameter(torch.arange(3.), requires_grad=False)
Parameter containing:
tensor([0., 1., 2.])
>>> [torch.tensor(1.), torch.tensor([2])]
[tensor(1.), tensor([2])]
>>> torch.set_printoptions(precision=2)
>>> torch.arange(20.) / 3
tensor([0.00, 0.33, 0.67, 1.00, 1.33, 1.67, 2.00, 2.33, 2.67, 3.00, 3.33, 3.67,
        4.00, 4.33, 4.67, 5.00, 5.33, 5.67, 6.00, 6.33])
>>> torch.set_printoptions(sci_mode=True)
>>> torch.tensor([1.5, 2.])
tensor([1.50e+00, 2.00e+00])
>>> torch.set_printoptions(profile='default', sci_mode=False)
>>> torch.tensor([1e-6, 1.])
tensor([0.0000, 1.0000])
>>> torch.set_printoptions(threshold=5)
>>> torch.arange(10)
tensor([0, 1, 2,  ..., 7, 8, 9])
>>> torch.set_printoptions(threshold=5, edgeitems=0)
>>> torch.arange(10)
tensor([...], size=(10,))
>>> torch.set_printoptions(profile='default', linewidth=20)
>>> torch.arange(8)
tensor([0, 1, 2, 3,
        4, 5, 6, 7])
>>> torch.set_printoptions(profile='default', precision=10)
>>> torch.tensor([0.1])
tensor([0.1000000015])
>>> torch.set_printoptions(profile='default')
"""


def transcript_steps() -> list[tuple[str, str]]:
    """(input, expected output) pairs, in order; settings lines have an empty output."""
    steps: list[tuple[str, str]] = []
    for chunk in TRANSCRIPT.split(">>> ")[1:]:
        source, _, output = chunk.partition("\n")
        steps.append((source, output.rstrip("\n")))
    return steps


def test_reference_transcript() -> None:
    steps = transcript_steps()
    assert len(steps) == 72
    namespace = {"torch": torch, "nan": nan, "inf": inf}
    for source, expected in steps:
        if source.startswith("torch.set_printoptions("):
            exec(source, namespace)
            exec(source.replace("torch.", "ts.", 1), {"ts": ts})
            continue
        obj = eval(source, namespace)
        assert repr(obj) == expected, source  # the reference still holds for the installed torch
        assert ember_repr(obj) == expected, source
        if type(obj) is torch.Tensor:
            check(obj)


# ---------------------------------------------------------------------------------------------------
# Dtypes and values

INT_VALUES = {
    torch.uint8: [0, 1, 255, 17], torch.int8: [-128, 127, 0, -1], torch.int16: [-32768, 32767, 5],
    torch.int32: [-2**31, 2**31 - 1, 0], torch.int64: [-2**63, 2**63 - 1, 0, 42],
    torch.uint16: [0, 65535], torch.uint32: [0, 2**32 - 1], torch.uint64: [0, 2**63 + 12345],
}
FLOAT_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
FLOAT_CASES = [
    [1.0, 2.0], [0.1, -0.25, 3.0], [1e-3, 123.456], [1e-5, 1.0], [65504.0, -65504.0], [3.0e5, 1.0],
    [-0.0, 0.0], [-0.0], [nan], [inf, -inf, nan, 0.0], [1.0, nan, inf], [0.5, -inf], [1e-30, 1e30],
    [2.0**-24, 1.0], [1.0, 1000.0], [1.0, 1000.0000001], [123456.0, -7.0], [5e-324, 1.0],
]


@pytest.mark.parametrize("dtype", list(INT_VALUES), ids=str)
def test_integer_dtypes(dtype: torch.dtype) -> None:
    values = INT_VALUES[dtype]
    check(torch.tensor(values, dtype=dtype))
    check(torch.tensor(values[0], dtype=dtype))
    check(torch.tensor(values * 7, dtype=dtype).reshape(7, -1))


def test_bool() -> None:
    check(torch.tensor([[True, False], [False, False]]))
    check(torch.tensor(False))
    check(torch.zeros(3, 2000, dtype=torch.bool))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("values", FLOAT_CASES, ids=str)
def test_float_dtypes(dtype: torch.dtype, values: list[float]) -> None:
    check(torch.tensor(values, dtype=torch.float64).to(dtype))
    check(torch.tensor(values[0], dtype=torch.float64).to(dtype))


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=str)
@pytest.mark.parametrize("values", [
    [1 + 2j, -3.5 - 1j], [0j, -0.0 - 0.0j, complex(-0.0, 0.0)], [complex(nan, inf), 1 - 1j],
    [1e-5 + 1j, 1e5 - 2j], [1.5 + 1e10j], [complex(0.1, -0.0), 2j], [complex(1, nan), complex(-inf, 0)],
], ids=str)
@pytest.mark.parametrize("sci_mode", [None, True, False])
def test_complex(dtype: torch.dtype, values: list[complex], sci_mode: bool | None) -> None:
    set_both(sci_mode=sci_mode)
    check(torch.tensor(values, dtype=dtype))
    check(torch.tensor(values[0], dtype=dtype))
    check(torch.tensor(values * 5, dtype=dtype).reshape(5, -1))


@pytest.mark.parametrize("values", [
    [1.0, 1000.0], [1.0, 1000.5], [1.0, 1001.0], [1e8], [1.0000001e8], [1e-4], [1.00001e-4], [9.99e-5],
    [0.5, 500.0], [0.5, 500.5], [0.3, 300.1], [1e8, 1e5 + 0.5], [2.5e8, 3.0],
])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_sci_mode_thresholds(values: list[float], dtype: torch.dtype) -> None:
    check(torch.tensor(values, dtype=dtype))
    for forced in (True, False):
        set_both(sci_mode=forced)
        check(torch.tensor(values, dtype=dtype))
        check(torch.tensor([0.0, nan, -0.0], dtype=dtype))  # no chosen values: never scientific


@pytest.mark.parametrize("precision", [0, 1, 2, 6, 10])
def test_precision(precision: int) -> None:
    set_both(precision=precision)
    check(torch.arange(-5.0, 5.0) / 3)
    check(torch.tensor([1e-7, 2.5, 1e9]))
    check(torch.tensor([1.0, 2.0]))


def test_very_wide_ints() -> None:
    big = torch.tensor([-2**63, 2**63 - 1, 0, 7] * 6)
    check(big)
    check(big.reshape(4, 6))
    set_both(linewidth=30)
    check(big)
    check(big.reshape(2, 12))


# ---------------------------------------------------------------------------------------------------
# Layout: summarisation, wrapping, suffixes

SUMMARY_CASES: list[tuple[tuple[int, ...], dict[str, int]]] = [
    ((1001,), {}), ((2000,), {}), ((7,), {"threshold": 5}), ((6,), {"threshold": 5}),
    ((20,), {"threshold": 5, "edgeitems": 1}), ((20,), {"threshold": 5, "edgeitems": 9}),
    ((20,), {"threshold": 5, "edgeitems": 10}), ((100, 30), {}), ((3, 1000), {}), ((1000, 3), {}),
    ((7, 7), {"threshold": 10}), ((6, 7), {"threshold": 10}), ((7, 7), {"threshold": 10, "edgeitems": 1}),
    ((10, 10, 12), {}), ((2, 3, 400), {}), ((9, 2, 9), {"threshold": 20, "edgeitems": 2}),
    ((5, 6, 7, 8), {"threshold": 100, "edgeitems": 2}), ((3, 4, 5), {"threshold": 10, "edgeitems": 0}),
    ((5, 5), {"edgeitems": 0}), ((30,), {"threshold": 5, "edgeitems": 0}), ((1,), {"threshold": 0}),
    ((2000,), {"edgeitems": 5, "linewidth": 40}), ((40, 40), {"profile": "short"}),
    ((40, 40), {"profile": "full"}),
]


@pytest.mark.parametrize(("shape", "options"), SUMMARY_CASES, ids=str)
@pytest.mark.parametrize("kind", ["int", "float", "sci", "complex", "bool"])
def test_summarisation(shape: tuple[int, ...], options: dict[str, int], kind: str) -> None:
    set_both(**options)
    n = math.prod(shape)
    base = torch.arange(n).reshape(shape)
    tt = {"int": base, "float": base / 7, "sci": base * 1.5e6 - 3, "bool": base % 3 == 0,
          "complex": torch.complex(base / 3, -base.float())}[kind]
    check(tt)


def test_scalar_when_summarising() -> None:
    set_both(threshold=0)
    check(torch.tensor(2.5))
    set_both(threshold=0, edgeitems=0)
    check(torch.tensor(2.5))
    check(torch.tensor([1.0, 2.0]))


@pytest.mark.parametrize("linewidth", [1, 10, 20, 33, 40, 79, 81, 200])
def test_linewidth(linewidth: int) -> None:
    set_both(linewidth=linewidth)
    check(torch.arange(30.0) / 7)
    check(torch.arange(24).reshape(2, 3, 4) * 1000)
    check(torch.tensor([1 + 2j, 3 - 4.5j] * 6))
    check(torch.arange(12, dtype=torch.float64).reshape(3, 4) / 3 + 100)
    check(torch.ones(6, dtype=torch.float16, requires_grad=True) * 3)


@pytest.mark.parametrize("n", range(1, 16))
def test_suffix_wrapping(n: int) -> None:
    check(torch.full((n,), 2.5, dtype=torch.float64, requires_grad=True) * 2)
    check(torch.full((n,), 2.5, dtype=torch.float16, requires_grad=True))
    check(torch.arange(n, dtype=torch.int16))


def test_grad_fn_and_requires_grad() -> None:
    x = torch.ones(2, 3, requires_grad=True)
    check(x)
    check(x + 1)
    check((x * 2).sum())
    check(x.t())
    check(torch.ones(3, dtype=torch.complex64, requires_grad=True) * 2)


@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0), (0, 2, 3), (3, 0, 1), (1, 0), (0, 0)], ids=str)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64,
                                   torch.int32, torch.uint8, torch.bool, torch.complex64, torch.complex128],
                         ids=str)
def test_empty(shape: tuple[int, ...], dtype: torch.dtype) -> None:
    check(torch.empty(shape, dtype=dtype))
    if dtype.is_floating_point or dtype.is_complex:
        check(torch.empty(shape, dtype=dtype, requires_grad=True))
    set_both(edgeitems=0)
    check(torch.empty(shape, dtype=dtype))


def test_default_dtype_float64() -> None:
    torch.set_default_dtype(torch.float64)
    edt.set_default_dtype(edt.float64)
    for tt in [torch.tensor([1.5, 2.0]), torch.tensor([1.5, 2.0], dtype=torch.float32),
               torch.tensor([1 + 2j]), torch.tensor([1 + 2j], dtype=torch.complex64),
               torch.tensor([1, 2]), torch.tensor([True]), torch.empty(0),
               torch.empty(0, dtype=torch.float32), torch.empty(0, 2, dtype=torch.complex128),
               torch.tensor(0.1), torch.tensor(0.1).float()]:
        check(tt)
    assert ts.tensor_repr(fake_of(torch.tensor([1.0], dtype=torch.float32))) == \
        "tensor([1.], dtype=torch.float32)"


def test_default_dtype_float16() -> None:
    torch.set_default_dtype(torch.float16)
    edt.set_default_dtype(edt.float16)
    for tt in [torch.tensor([1.5]), torch.tensor([1.5], dtype=torch.float32),
               torch.tensor([1j], dtype=torch.complex64), torch.tensor([1j], dtype=torch.complex128),
               torch.empty(0, dtype=torch.float32)]:
        check(tt)


def test_custom_prefix() -> None:
    fake = fake_of(torch.arange(30.0).reshape(3, 10) / 3)
    got = ts.tensor_repr(fake, prefix="Buffer(", indent=7)
    assert got == repr(torch.arange(30.0).reshape(3, 10) / 3).replace("tensor(", "Buffer(", 1)
    narrow = ts.tensor_repr(fake_of(torch.arange(3.0)), prefix="T(", indent=2)
    assert narrow == "T([0., 1., 2.])"


# ---------------------------------------------------------------------------------------------------
# Options


def test_options_round_trip_like_torch() -> None:
    calls: list[dict[str, Any]] = [
        {"precision": 2}, {"sci_mode": True}, {"profile": "short"}, {"profile": "full", "linewidth": 50},
        {"profile": "nonsense", "edgeitems": 4}, {"threshold": 7.5},
        {"profile": "default", "sci_mode": False},
    ]
    for kwargs in calls:
        set_both(**kwargs)
        assert ts.get_printoptions() == torch._tensor_str.get_printoptions()
        assert list(ts.get_printoptions()) == ["precision", "threshold", "edgeitems", "linewidth", "sci_mode"]


def test_printoptions_restores() -> None:
    set_both(precision=6, linewidth=50, sci_mode=True)
    before = ts.get_printoptions()
    with ts.printoptions(precision=2, threshold=3), torch._tensor_str.printoptions(precision=2, threshold=3):
        assert ts.get_printoptions() == torch._tensor_str.get_printoptions()
        assert ts.get_printoptions()["sci_mode"] is None
        check(torch.arange(10.0) / 3)
    assert ts.get_printoptions() == before
    with pytest.raises(ZeroDivisionError), ts.printoptions(profile="full"):
        raise ZeroDivisionError
    assert ts.get_printoptions() == before


# ---------------------------------------------------------------------------------------------------
# Tensor.__format__


def test_format() -> None:
    for tt in [torch.tensor(3.0), torch.tensor(2.5, dtype=torch.float64), torch.tensor(7), torch.tensor(True),
               torch.tensor(1 + 2j), torch.tensor(0.1, dtype=torch.bfloat16)]:
        fake = fake_of(tt)
        for spec in ["", ".2f", "e", ">10"]:
            try:
                expected = format(tt, spec)
            except (ValueError, TypeError) as err:
                with pytest.raises(type(err), match="."):
                    ts.tensor_format(fake, spec)
            else:
                assert ts.tensor_format(fake, spec) == expected
    vector = torch.tensor([1.5, 2.0])
    assert ts.tensor_format(fake_of(vector), "") == f"{vector}"
    with pytest.raises(TypeError) as theirs:
        format(vector, ".2f")
    with pytest.raises(TypeError) as ours:
        ts.tensor_format(fake_of(vector), ".2f")
    assert str(ours.value) == str(theirs.value) == "unsupported format string passed to Tensor.__format__"


# ---------------------------------------------------------------------------------------------------
# Large and device tensors: only the shown edges may be touched


def test_huge_tensor_is_cheap() -> None:
    """A 10^12-element broadcast view prints instantly; converting it whole would never finish."""
    virtual = np.broadcast_to(np.float32(1.0), (10**6, 10**6))
    start = time.perf_counter()
    got = ts.tensor_repr(FakeTensor(virtual, edt.float32))
    assert time.perf_counter() - start < 1.0
    assert got == repr(torch.ones(1).expand(10**6, 10**6))
    if from_array is not None:
        assert repr(from_array(virtual, edt.float32)) == got


class FakeDeviceArray:
    """A device-array stand-in (like CuPy): indexing stays on the device, ``get()`` copies to the host."""

    transferred: list[int] = []

    def __init__(self, array: np.ndarray) -> None:
        self.array, self.shape = array, array.shape

    def __getitem__(self, key: Any) -> FakeDeviceArray:
        return FakeDeviceArray(self.array[key])

    def __array_function__(self, func: Callable[..., Any], types: Any, args: Any, kwargs: Any) -> Any:
        assert func is np.concatenate
        return FakeDeviceArray(np.concatenate([a.array for a in args[0]], **kwargs))

    def get(self) -> np.ndarray:
        FakeDeviceArray.transferred.append(self.array.size)
        return self.array.copy()


def test_device_tensor() -> None:
    FakeDeviceArray.transferred.clear()
    cuda = FakeDevice("cuda", 0)
    small = FakeTensor(FakeDeviceArray(np.array([1.0, 2.0], np.float32)), edt.float32, device=cuda)
    assert ts.tensor_repr(small) == "tensor([1., 2.], device='cuda:0')"
    big = FakeTensor(FakeDeviceArray(np.arange(2000 * 3000).reshape(2000, 3000)), edt.int64, device=cuda,
                     requires_grad=False)
    body = "tensor(" + torch._tensor_str._tensor_str(torch.arange(2000 * 3000).reshape(2000, 3000), 7)
    assert ts.tensor_repr(big) == torch._tensor_str._add_suffixes(body, ["device='cuda:0'"], 7, False)
    half = FakeTensor(FakeDeviceArray(np.ones(9, np.float16)), edt.float16, device=cuda, requires_grad=True)
    assert ts.tensor_repr(half) == ("tensor([1., 1., 1., 1., 1., 1., 1., 1., 1.], device='cuda:0',\n"
                                    "       dtype=torch.float16, requires_grad=True)")
    assert FakeDeviceArray.transferred == [2, 36, 9]


# ---------------------------------------------------------------------------------------------------
# Property: random arrays under random options print exactly as torch prints them

MAGNITUDES = st.builds(lambda m, e: m * 10.0**e, st.floats(-10, 10), st.integers(-40, 40))
ELEMENTS = st.one_of(st.sampled_from([0.0, -0.0, nan, inf, -inf]), MAGNITUDES,
                     st.integers(-10**6, 10**6).map(float), st.floats(-1e3, 1e3))
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=9)
OPTIONS = st.fixed_dictionaries({}, optional={
    "precision": st.integers(0, 8), "threshold": st.integers(0, 60), "edgeitems": st.integers(0, 4),
    "linewidth": st.integers(5, 120), "sci_mode": st.sampled_from([None, True, False])})


@settings(max_examples=250, deadline=None)
@given(st.data(), SHAPES, st.sampled_from(FLOAT_DTYPES + [torch.complex64, torch.complex128]), OPTIONS)
def test_random_floats_match_torch(data: st.DataObject, shape: tuple[int, ...], dtype: torch.dtype,
                                   options: dict[str, Any]) -> None:
    set_both(**options)
    real = torch.from_numpy(data.draw(hnp.arrays(np.float64, shape, elements=ELEMENTS)))
    if dtype.is_complex:
        imag = torch.from_numpy(data.draw(hnp.arrays(np.float64, shape, elements=ELEMENTS)))
        check(torch.complex(real, imag).to(dtype))
    else:
        check(real.to(dtype))


@settings(max_examples=150, deadline=None)
@given(st.data(), SHAPES, st.sampled_from([torch.int8, torch.uint8, torch.int32, torch.int64, torch.bool]),
       OPTIONS)
def test_random_ints_match_torch(data: st.DataObject, shape: tuple[int, ...], dtype: torch.dtype,
                                 options: dict[str, Any]) -> None:
    set_both(**options)
    values = data.draw(hnp.arrays(np.int64, shape, elements=st.integers(-2**40, 2**40)))
    check(torch.from_numpy(values).to(dtype))
