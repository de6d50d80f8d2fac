"""Sorting and searching against torch (the oracle): sort/argsort/msort/topk, kthvalue/median/nanmedian/mode,
quantile/nanquantile, unique/unique_consecutive, searchsorted/bucketize, histc/histogram/bincount — values,
dtypes, shapes, NaN and tie handling, errors, return types, grad_fn names, gradients and double backward.

Where torch's index choice among equal elements is an implementation accident (kthvalue, median and topk
use selection algorithms), indices are compared on distinct data only and values everywhere."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import ember
from oracle import assert_close, check_grads, to_torch, torch
from test_reduction import DTYPES, FLOATS, LAYOUTS, make, same, sweep

ORDERED = [d for d in DTYPES if d != "bool"]


def distinct(dtype: str, layout: str, seed: int = 0) -> tuple[Any, Any]:
    """Like ``make`` but with pairwise distinct values (a permutation), so every index is determined."""
    shape, view = LAYOUTS[layout]
    arr = np.random.default_rng(seed).permutation(math.prod(shape)).reshape(shape)
    arr = (arr - 5 if dtype not in ("uint8", "bool") else arr).astype(dtype)
    return view(ember.tensor(arr)), view(torch.tensor(arr))


def sweep_distinct(op: Callable[..., Any], dtypes: list[str], args: list[tuple]) -> None:
    """Compare ``op(lib, x, *a)`` on distinct data over dtypes x layouts (not ``expanded``, whose stride-0
    copies are ties, and on which torch's median/kthvalue read wrong memory: [[0], [1], [2]] as uint8
    expanded to (3, 4) has a median of [1, 2, 127] along dim -1 in torch 2.13)."""
    for dtype in dtypes:
        for layout in (name for name in LAYOUTS if name != "expanded"):
            e, t = distinct(dtype, layout)
            for a in args:
                same(op, e, t, *a, ctx=f"{dtype} {layout} {a}")


def values_only(result: Any) -> Any:
    return result.values if hasattr(result, "values") else result


# ---- sort / argsort / msort / topk ---------------------------------------------------------------------
def test_sort() -> None:
    def op(lib: Any, x: Any, d: Any, desc: bool) -> Any:
        return x.sort(dim=d, descending=desc, stable=True)

    sweep(op, dims=(0, -1, 2), keepdims=(False, True), ties=True)
    sweep(op, dtypes=FLOATS, dims=(0, 1), layouts=["contig", "transposed"], nan=True)
    sweep(lambda lib, x, d, dsc: lib.argsort(x, dim=d, descending=dsc, stable=True), dims=(0, -1), ties=True)
    sweep(lambda lib, x, d, k: lib.msort(x), dims=(0,), keepdims=(False,), ties=True)
    data = [2.0, math.nan, 1.0, math.nan, -math.inf, -0.0, 0.0, math.inf, 1.0]
    for desc in (False, True):
        same(
            lambda lib, x, desc: lib.sort(x, descending=desc, stable=True),
            ember.tensor(data),
            torch.tensor(data),
            desc,
        )
    same(lambda lib, x: x.sort(stable=True, dim=0, descending=True), *make("int64", "contig", ties=True))
    same(lambda lib, x: x.sort(), ember.tensor([1j, 2]), torch.tensor([1j, 2]))
    same(lambda lib, x: x.argsort(), ember.tensor([1j, 2]), torch.tensor([1j, 2]))


def test_topk() -> None:
    def op(lib: Any, x: Any, k: int, d: int, largest: bool) -> Any:
        return x.topk(k, d, largest) if x.ndim else lib.topk(x, k, largest=largest)

    sweep_distinct(
        op, ORDERED, [(k, d, lg) for k in (0, 1, 2, 4, 9) for d in (0, -1) for lg in (True, False)]
    )
    for dtype in ("int64", "float32"):  # ties: the chosen indices are torch's accident, the values are not
        e, t = make(dtype, "contig", ties=True)
        for k in (1, 3):
            same(lambda lib, x, k: values_only(x.topk(k, 1, largest=False)), e, t, k)
    data = [1.0, math.nan, 3.0, -math.inf]
    for largest in (True, False):
        same(lambda lib, x, lg: x.topk(2, largest=lg), ember.tensor(data), torch.tensor(data), largest)
    same(lambda lib, x: x.topk(3, sorted=False), ember.tensor([3.0, 1, 2, 0]), torch.tensor([3.0, 1, 2, 0]))
    for x in ([True, False], [1j, 2]):
        same(lambda lib, x: x.topk(1), ember.tensor(x), torch.tensor(x))


# ---- kthvalue / median / nanmedian / mode ---------------------------------------------------------------
def test_kthvalue() -> None:
    op = lambda lib, x, k, d, kd: x.kthvalue(k, d, kd)  # noqa: E731
    sweep_distinct(
        op, ORDERED, [(k, d, kd) for k in (0, 1, 3, 4, 9) for d in (0, -1) for kd in (False, True)]
    )
    e, t = make("float32", "contig", ties=True)
    same(lambda lib, x: values_only(x.kthvalue(2, 0)), e, t)
    e, t = make("float64", "contig", nan=True)
    for k in (1, 3):
        same(lambda lib, x, k: values_only(x.kthvalue(k, 0)), e, t, k)
    for x in ([True, False], [1j, 2]):
        same(lambda lib, x: x.kthvalue(1), ember.tensor(x), torch.tensor(x))


@pytest.mark.parametrize("name", ["median", "nanmedian"])
def test_median(name: str) -> None:
    sweep_distinct(
        lambda lib, x, d, kd: getattr(x, name)(d, kd),
        ORDERED,
        [(d, kd) for d in (0, -1, 2) for kd in (False, True)],
    )
    sweep(lambda lib, x, d, k: getattr(lib, name)(x), dims=(None,), keepdims=(False,), ties=True)
    for nan in (False, True):
        sweep(
            lambda lib, x, d, k: getattr(x, name)(), dtypes=FLOATS, dims=(None,), keepdims=(False,), nan=nan
        )
    data = [[1.0, math.nan, 2.0, 4.0], [math.nan, math.nan, 3.0, -1.0], [5.0, 1.0, 2.0, 0.0]]
    e, t = ember.tensor(data), torch.tensor(data)
    for d in (0, 1):
        same(lambda lib, x, d: getattr(x, name)(d), e, t, d)
    same(lambda lib, x: getattr(x, name)(), e, t)
    # an all-NaN slice: NaN (torch's index there comes from its selection algorithm)
    all_nan = [[math.nan] * 4, [1.0, 2.0, 3.0, 4.0]]
    same(lambda lib, x: values_only(getattr(x, name)(1)), ember.tensor(all_nan), torch.tensor(all_nan))
    same(lambda lib, x: getattr(x, name)(), ember.tensor(all_nan), torch.tensor(all_nan))
    for x in ([True, False], [1j, 2]):
        same(lambda lib, x: getattr(x, name)(), ember.tensor(x), torch.tensor(x))
        same(lambda lib, x: getattr(x, name)(0), ember.tensor(x), torch.tensor(x))


def test_mode() -> None:
    # short slices (<= 16): torch returns the last occurrence of the smallest most frequent value
    sweep(
        lambda lib, x, d, k: lib.mode(x, d, k) if x.ndim else x.mode(), dtypes=DTYPES, dims=(0, -1), ties=True
    )
    sweep(lambda lib, x, d, k: x.mode(d, k), dtypes=ORDERED, dims=(0, 1))
    same(lambda lib, x: x.mode(), ember.tensor([1j, 2]), torch.tensor([1j, 2]))


# ---- quantile / nanquantile ------------------------------------------------------------------------------
INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
def test_quantile(name: str) -> None:
    qs: list[Any] = [0.4, ember.tensor([0.0, 0.125, 0.5, 0.625, 1.0]), ember.tensor(0.3)]
    for dtype in ("float32", "float64"):
        for layout in ("contig", "transposed", "expanded", "scalar"):
            for nan in (False, True):
                e, t = make(dtype, layout, nan=nan)
                for q in qs:
                    qe = q.to(e.dtype) if isinstance(q, ember.Tensor) else q
                    for dim in (None, 0, -1):
                        for keepdim in (False, True):
                            for interp in INTERPOLATIONS:
                                same(
                                    lambda lib, x, q, d, k, i: getattr(lib, name)(
                                        x, q, d, k, interpolation=i
                                    ),
                                    e,
                                    t,
                                    qe,
                                    dim,
                                    keepdim,
                                    interp,
                                    ctx=f"{dtype} {layout} nan={nan} q={q} dim={dim} {interp}",
                                )
    e, t = make("float32", "contig")
    for q, kw in (
        (1.5, {}),
        (-0.1, {}),
        (ember.tensor([1.5]), {}),
        (ember.tensor([[0.5]]), {}),
        (ember.tensor([0.5], dtype=ember.float64), {}),
        (0.5, {"interpolation": "foo"}),
        (0.5, {"dim": 3}),
    ):
        same(lambda lib, x, q, kw: getattr(lib, name)(x, q, **kw), e, t, q, kw)
    for x in (ember.zeros(0), ember.tensor([1, 2]), ember.tensor([1.0, 2.0], dtype=ember.float16)):
        same(lambda lib, x: getattr(lib, name)(x, 0.5), x, torch.tensor(x.numpy()))


# ---- unique / unique_consecutive -------------------------------------------------------------------------
def test_unique() -> None:
    def op(lib: Any, x: Any, inv: bool, cnt: bool, dim: Any) -> Any:
        return lib.unique(x, sorted=True, return_inverse=inv, return_counts=cnt, dim=dim)

    def op_consecutive(lib: Any, x: Any, inv: bool, cnt: bool, dim: Any) -> Any:
        return x.unique_consecutive(return_inverse=inv, return_counts=cnt, dim=dim)

    for dtype in DTYPES:
        for layout in LAYOUTS:
            for dim in (None, 0, 1, -1):
                # NaN only without dim: torch orders NaN slices with a comparison sort that NaN breaks
                e, t = make(dtype, layout, ties=True, nan=dim is None and dtype.startswith("float"))
                for inv in (False, True):
                    for cnt in (False, True):
                        for fn in (op, op_consecutive):
                            same(
                                fn,
                                e,
                                t,
                                inv,
                                cnt,
                                dim,
                                ctx=f"{fn.__name__} {dtype} {layout} {inv} {cnt} {dim}",
                            )
    rows = [[3, 1], [3, 1], [0, 2], [3, 1], [0, 2]]
    for dim in (0, 1):
        same(op, ember.tensor(rows), torch.tensor(rows), True, True, dim)
        same(op_consecutive, ember.tensor(rows), torch.tensor(rows), True, True, dim)
    same(lambda lib, x: x.unique(), ember.tensor([-0.0, 0.0, -0.0]), torch.tensor([-0.0, 0.0, -0.0]))
    same(lambda lib, x: x.unique(), ember.tensor([1j, 2]), torch.tensor([1j, 2]))
    same(lambda lib, x: x.unique(sorted=False), ember.tensor([5, 3, 9, 1, 3]), torch.tensor([5, 3, 9, 1, 3]))


# ---- searchsorted / bucketize ----------------------------------------------------------------------------
def test_searchsorted() -> None:
    b1 = np.array([1.0, 3.0, 3.0, 5.0, 7.0])
    bn = np.sort(np.random.default_rng(3).integers(0, 10, (2, 3, 6)), axis=-1).astype(np.float64)
    v = np.array([[0.0, 3.0, 6.0, 3.0], [8.0, 5.0, 1.0, 7.0]])
    vn = np.random.default_rng(4).integers(-1, 11, (2, 3, 4)).astype(np.float64)
    cases = [
        (b1, v),
        (b1, v.T),
        (b1, np.zeros((0,))),
        (bn, vn),
        (bn.astype(np.int64), vn),
        (b1.astype(np.int32), v.astype(np.int64)),
        (np.zeros(0), v),
    ]
    for b, x in cases:
        eb, ex = ember.tensor(b), ember.tensor(x)
        for kw in (
            {},
            {"right": True},
            {"side": "right"},
            {"side": "left"},
            {"out_int32": True},
            {"side": "left", "right": True},
            {"side": "foo"},
        ):
            same(lambda lib, b, x, kw: lib.searchsorted(b, x, **kw), eb, torch.tensor(b), ex, kw, ctx=str(kw))
    unsorted = ember.tensor([5.0, 1.0, 3.0, 3.0])
    for sorter in ([1, 2, 3, 0], [1, 2], [1, 2, 3, 4]):
        same(
            lambda lib, b, s: lib.searchsorted(b, lib.tensor([2.0, 3.0, 6.0]), sorter=s),
            unsorted,
            torch.tensor(unsorted.numpy()),
            ember.tensor(sorter),
            ctx=str(sorter),
        )
    same(
        lambda lib, b: lib.searchsorted(
            b, lib.tensor([2.0]), sorter=lib.tensor([1, 2, 3, 0], dtype=lib.int32)
        ),
        unsorted,
        torch.tensor(unsorted.numpy()),
    )
    for b, x in ((b1, 3.0), (b1, 3), (np.array(1.0), np.array([2.0])), (bn, v), (bn, vn[:1])):
        same(
            lambda lib, b, x: lib.searchsorted(b, x, right=True),
            ember.tensor(b),
            torch.tensor(b),
            ember.tensor(x) if isinstance(x, np.ndarray) else x,
        )


def test_bucketize() -> None:
    b = ember.tensor([1.0, 3.0, 5.0, 7.0])
    for x in (ember.tensor([[0.0, 3.0, 6.0], [8.0, 5.0, 1.0]]), ember.tensor([1, 5, 9]), 3):
        for kw in ({}, {"right": True}, {"out_int32": True}):
            same(lambda lib, x, b, kw: lib.bucketize(x, b, **kw), x, to_torch(x), b, kw)
    same(lambda lib, x, b: lib.bucketize(x, b), ember.ones(3), torch.ones(3), ember.ones(1, 2))


# ---- histc / histogram / bincount --------------------------------------------------------------------------
def test_histc() -> None:
    data = np.random.default_rng(5).standard_normal(50) * 2
    for dtype in ("float32", "float64", "float16"):
        e, t = ember.tensor(data.astype(dtype)), torch.tensor(data.astype(dtype))
        for bins, lo, hi in ((100, 0, 0), (7, -1.0, 2.5), (4, 3, 3), (1, -10, 10), (5, 0.5, 0.5)):
            same(lambda lib, x, b, lo, hi: lib.histc(x, b, lo, hi), e, t, bins, lo, hi, ctx=f"{dtype} {bins}")
    for x, kw in (
        ([1.0, 2.0, 1.0, 5.0, -1.0], {"bins": 4, "min": 0, "max": 3}),
        ([0.0, 1, 2, 3], {"bins": 3, "min": 0, "max": 3}),
        ([2.0, 2.0], {"bins": 3}),
        ([], {"bins": 3}),
        ([1.0, math.inf], {"bins": 3}),
        ([1.0, math.inf], {"bins": 3, "min": 0, "max": 2}),
        ([1.0, 2.0], {"bins": 0}),
        ([1.0, 2.0], {"bins": 3, "min": 3, "max": 1}),
        ([[1.0, 2.0], [3.0, 9.0]], {"bins": 2}),
    ):
        same(lambda lib, x, kw: x.histc(**kw), ember.tensor(x), torch.tensor(x), kw, ctx=str(x))
    same(lambda lib, x: lib.histc(x), ember.tensor([1, 2]), torch.tensor([1, 2]))


def test_histogram() -> None:
    data = np.random.default_rng(6).standard_normal((4, 5))
    w = np.random.default_rng(7).random((4, 5))
    for dtype in ("float32", "float64"):
        e, t = ember.tensor(data.astype(dtype)), torch.tensor(data.astype(dtype))
        ew = ember.tensor(w.astype(dtype))
        for bins in (3, 10, ember.tensor([-2.0, -0.5, 0.0, 0.25, 3.0], dtype=e.dtype)):
            for kw in ({}, {"density": True}, {"weight": ew}, {"weight": ew, "density": True}):
                if not isinstance(bins, ember.Tensor):
                    kw = {**kw, "range": (-1.0, 1.0)}
                same(
                    lambda lib, x, b, kw: lib.histogram(x, b, **kw),
                    e,
                    t,
                    bins,
                    kw,
                    ctx=f"{dtype} {bins} {kw}",
                )
    for x, bins, kw in (
        ([2.0, 2.0], 2, {}),
        ([], 2, {}),
        ([1.0, 2.0], 2, {"range": (2.0, 2.0)}),
        ([1.0, 2.0], 2, {"range": (3.0, 1.0)}),
        ([1.0, 2.0], -1, {}),
        ([1.0, math.nan], 2, {}),
        ([1.0, 2.0], ember.tensor([1.0]), {}),
        ([1.0, 2.0], ember.tensor([[1.0, 2.0]]), {}),
        ([1.0, 2.0], ember.tensor([1, 2]), {}),
        ([1.0, 2.0], 2, {"weight": ember.tensor([1.0])}),
    ):
        same(
            lambda lib, x, b, kw: x.histogram(b, **kw), ember.tensor(x), torch.tensor(x), bins, kw, ctx=str(x)
        )
    same(lambda lib, x: lib.histogram(x), ember.tensor([1, 2]), torch.tensor([1, 2]))
    with pytest.raises(TypeError):
        ember.histogram(ember.ones(3), ember.tensor([0.0, 1.0]), range=(0.0, 1.0))
    r = ember.histogram(ember.tensor([1.0, 2.0, 1.0]), bins=2)
    assert repr(r) == repr(torch.histogram(torch.tensor([1.0, 2.0, 1.0]), bins=2))
    assert r.hist is r[0] and r.bin_edges is r[1]


def test_bincount() -> None:
    x = [1, 1, 3, 0, 7]
    for dtype in ("int64", "int32", "uint8", "int16"):
        e, t = ember.tensor(x, dtype=getattr(ember, dtype)), torch.tensor(x, dtype=getattr(torch, dtype))
        for wdt in (None, "float32", "float64", "int64", "float16"):
            wt = None if wdt is None else ember.tensor([0.5, 1.0, 2.0, 3.0, 1.5]).to(getattr(ember, wdt))
            for minlength in (0, 3, 10):
                same(
                    lambda lib, x, w, m: lib.bincount(x, w, m),
                    e,
                    t,
                    wt,
                    minlength,
                    ctx=f"{dtype} {wdt} {minlength}",
                )
    for x, kw in (
        ([-1, 1], {}),
        ([[1]], {}),
        ([1.0], {}),
        ([True], {}),
        ([1, 2], {"minlength": -1}),
        ([1, 2], {"weights": ember.tensor([1.0])}),
        ([1, 2], {"minlength": -1, "weights": ember.ones(1)}),
    ):
        same(lambda lib, x, kw: lib.bincount(x, **kw), ember.tensor(x), torch.tensor(x), kw, ctx=str(x))
    for m in (0, 3):
        same(
            lambda lib, x, m: x.bincount(minlength=m),
            ember.tensor([], dtype=ember.int64),
            torch.tensor([], dtype=torch.int64),
            m,
        )


# ---- return types, grad_fn names, gradients ----------------------------------------------------------------
def test_return_types() -> None:
    e = ember.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], requires_grad=True)
    t = torch.tensor(e.detach().numpy(), requires_grad=True)
    for fn in (
        lambda x: x.sort(),
        lambda x: x.topk(2),
        lambda x: x.kthvalue(2),
        lambda x: x.median(1),
        lambda x: x.nanmedian(0),
        lambda x: x.mode(1),
        lambda x: x.cummin(1),
    ):
        re, rt = fn(e), fn(t)
        assert repr(re) == repr(rt) and type(re).__name__ == type(rt).__name__
        v, i = re
        assert v is re.values and i is re.indices and re[0] is v


GRADS: dict[str, Callable[[Any, Any], Any]] = {
    "SortBackward0": lambda lib, x: x.sort(1, descending=True).values,
    "TopkBackward0": lambda lib, x: x.topk(2, 0, largest=False).values,
    "KthvalueBackward0": lambda lib, x: x.kthvalue(2, -1, keepdim=True).values,
    "MedianBackward0": lambda lib, x: x.median(),
    "MedianBackward1": lambda lib, x: x.median(1).values,
    "NanmedianBackward0": lambda lib, x: lib.nanmedian(x),
    "NanmedianBackward1": lambda lib, x: x.nanmedian(0, True)[0],
    "ModeBackward0": lambda lib, x: x.mode(-1).values,
}
MORE_GRADS: list[Callable[[Any, Any], Any]] = [
    lambda lib, x: lib.msort(x),
    lambda lib, x: lib.quantile(x, 0.3),
    lambda lib, x: x.quantile(x.new_tensor([0.1, 0.5, 0.9]), dim=1, keepdim=True),
    lambda lib, x: lib.nanquantile(x, 0.7, dim=0, interpolation="midpoint"),
    lambda lib, x: lib.quantile(x, x.new_tensor([0.25, 1.0]), 2, interpolation="nearest"),
    lambda lib, x: lib.quantile(x, 0.6, -1, interpolation="higher"),
    lambda lib, x: lib.quantile(x, 0.6, 0, interpolation="lower"),
    lambda lib, x: x.topk(3, sorted=True).values,
]


def _grad_input(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((2, 3, 4))


@pytest.mark.parametrize("name", GRADS)
def test_grad_fn_and_gradients(name: str) -> None:
    fn = GRADS[name]
    arr = _grad_input(20)
    expected = type(fn(torch, torch.tensor(arr, requires_grad=True)).grad_fn).__name__
    assert type(fn(ember, ember.tensor(arr, requires_grad=True)).grad_fn).__name__ == name == expected
    check_grads(fn, arr)
    small = ember.tensor(arr[:, :2, :3], requires_grad=True)
    assert ember.autograd.gradcheck(lambda x: fn(ember, x), (small,))


@pytest.mark.parametrize("i", range(len(MORE_GRADS)))
def test_more_gradients(i: int) -> None:
    fn = MORE_GRADS[i]
    check_grads(fn, _grad_input(21))
    small = ember.tensor(_grad_input(22)[:, :2], requires_grad=True)
    assert ember.autograd.gradcheck(lambda x: fn(ember, x), (small,))


SPECIAL: list[tuple[Callable[[Any, Any], Any], Any]] = [
    (lambda lib, x: x.median(), [[3.0, 1.0, 3.0], [2.0, 3.0, 0.0]]),  # ties: split evenly
    (lambda lib, x: x.nanmedian(), [[3.0, math.nan, 3.0], [2.0, 3.0, 0.0]]),
    (lambda lib, x: x.median(), [[3.0, math.nan, 3.0], [2.0, math.nan, 0.0]]),  # NaN result: the NaNs
    (lambda lib, x: x.median(1).values, [[3.0, math.nan, 3.0], [2.0, 1.0, 0.0]]),
    (lambda lib, x: x.sort(0).values, [[1.0, math.nan], [math.nan, 2.0], [0.0, -1.0]]),
    (lambda lib, x: lib.quantile(x, 0.4), [[1.0, 3.0], [3.0, 2.0]]),
    (lambda lib, x: lib.quantile(x, 0.4), [[1.0, 3.0], [math.nan, 2.0]]),
    (
        lambda lib, x: lib.nanquantile(x, x.new_tensor([0.4, 0.9]), 1),
        [[1.0, 3.0, math.nan], [math.nan, 2.0, 5.0]],
    ),
    (lambda lib, x: x.sort(0).values, np.zeros((0, 3))),
    (lambda lib, x: x.topk(0).values, np.zeros((2, 3))),
    (lambda lib, x: x.sort(0).values * x.kthvalue(1, 0).values * x.median(0).values, np.array(1.5)),
]


@pytest.mark.parametrize("i", range(len(SPECIAL)))
def test_special_gradients(i: int) -> None:
    fn, data = SPECIAL[i]
    check_grads(fn, np.array(data, dtype=np.float64))


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.sort(1).values ** 2,
        lambda x: x.topk(2).values * x.sum(),
        lambda x: ember.quantile(x, 0.3, 1) ** 2,
        lambda x: x.median(0).values ** 3,
    ],
)
def test_double_backward(fn: Callable[[Any], Any]) -> None:
    x = ember.tensor(np.random.default_rng(23).standard_normal((2, 3)), requires_grad=True)
    assert ember.autograd.gradgradcheck(fn, (x,))


def test_searchsorted_batched_matches_loop() -> None:
    """The batched (N-d boundaries) path agrees with row-by-row NumPy searchsorted on random data."""
    rng = np.random.default_rng(8)
    b = np.sort(rng.integers(0, 20, (5, 4, 9)), axis=-1)
    v = rng.integers(-2, 22, (5, 4, 7))
    for right in (False, True):
        got = ember.searchsorted(ember.tensor(b), ember.tensor(v), right=right).numpy()
        side = "right" if right else "left"
        want = np.stack(
            [np.searchsorted(bb, vv, side) for bb, vv in zip(b.reshape(-1, 9), v.reshape(-1, 7), strict=True)]
        ).reshape(v.shape)
        assert_close(ember.tensor(got), torch.tensor(want))


def test_searchsorted_unsorted_or_nan_boundaries_as_torch() -> None:
    """Boundaries that are not sorted (NaNs included) give what torch's binary search finds, for 1-d and
    batched boundaries, both sides, a sorter and bucketize."""
    nan = float("nan")
    rng = np.random.default_rng(12)
    cases = [
        (np.array([1.0, nan, 3.0]), np.array([0.0, 1.0, 2.0, 3.0, 4.0, nan])),
        (np.array([1.0, 2.0, 3.0, nan, nan]), np.array([nan, 2.5, -1.0])),
        (np.array([nan, nan]), np.array(1.0)),
        (rng.integers(0, 9, 7).astype(np.float32), rng.integers(-1, 10, (2, 5)).astype(np.float32)),
        (rng.integers(0, 9, (2, 3, 6)), rng.integers(-1, 10, (2, 3, 4))),
        (np.where(rng.random((3, 5)) < 0.3, nan, np.sort(rng.random((3, 5)), -1)), rng.random((3, 4))),
    ]
    for b, x in cases:
        for right in (False, True):
            same(lambda lib, b, x, r: lib.searchsorted(b, x, right=r), ember.tensor(b), torch.tensor(b),
                 ember.tensor(x), right, ctx=f"{b} {right}")
    b = np.array([nan, 1.0, 2.0, 0.5])
    same(lambda lib, b: lib.searchsorted(b, lib.tensor([0.7, 1.5, nan]), sorter=lib.tensor([1, 3, 0, 2])),
         ember.tensor(b), torch.tensor(b))
    same(lambda lib, b: lib.bucketize(lib.tensor([0.7, 1.5, nan]), b, right=True), ember.tensor(b), torch.tensor(b))


def test_bfloat16_with_nan_orders_as_torch() -> None:
    """NumPy's sorts misplace ml_dtypes bfloat16 NaNs: sorting, order statistics, unique and the NaN-aware
    reductions work on exact float32 copies of the keys."""
    import torch
    data = [[3, float("nan"), 2, 2, 5, 0, 1], [1, 5, float("nan"), float("inf"), 0, 0, -1]]
    cases = [lambda L, x: x.sort(1).values, lambda L, x: x.argsort(1), lambda L, x: x.sort(1, descending=True).indices,
             lambda L, x: x.kthvalue(2, 1).values, lambda L, x: x.median(1).values, lambda L, x: x.median(1).indices,
             lambda L, x: x.nanmedian(), lambda L, x: x.median(), lambda L, x: x.unique(), lambda L, x: x.msort(),
             lambda L, x: L.unique(x.t().nan_to_num(), dim=0), lambda L, x: x.cummin(1).indices,
             lambda L, x: L.nansum(x, 1), lambda L, x: x.topk(3, 1).indices]
    for case in cases:
        t = case(torch, torch.tensor(data, dtype=torch.bfloat16))
        e = case(ember, ember.tensor(data, dtype=ember.bfloat16))
        assert str(e.tolist()) == str(t.tolist())
