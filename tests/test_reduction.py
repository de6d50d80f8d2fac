"""Reductions and scans against torch (the oracle): values, dtypes, shapes and errors over sweeps of dtypes,
dims, keepdim and layouts (contiguous, transposed, sliced, expanded, zero-size, 0-d), NaN handling, grad_fn
names, gradients (fixed random cotangents vs torch and gradcheck in float64) and double backward."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import ember
from oracle import assert_close, assert_same_error, check_grads, to_torch, torch

DTYPES = ["bool", "uint8", "int32", "int64", "float16", "float32", "float64"]
FLOATS = ["float16", "float32", "float64"]
# name -> (base shape, view applied identically to the ember and the torch tensor)
LAYOUTS: dict[str, tuple[tuple[int, ...], Callable[[Any], Any]]] = {
    "contig": ((3, 4), lambda t: t),
    "transposed": ((4, 3), lambda t: t.t()),
    "sliced": ((3, 8), lambda t: t[:, 1::2]),
    "expanded": ((3, 1), lambda t: t.expand(3, 4)),
    "empty_rows": ((0, 4), lambda t: t),
    "empty_cols": ((3, 0), lambda t: t),
    "scalar": ((), lambda t: t),
}
DIMS: tuple[Any, ...] = (None, 0, -1, (0, 1))
INT_DIMS: tuple[Any, ...] = (None, 0, -1)


def values(dtype: str, shape: tuple[int, ...], seed: int = 0, nan: bool = False,
           ties: bool = False) -> np.ndarray:
    """Random test data of a dtype (small integers so that ties happen; NaNs sprinkled in on request)."""
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype in ("uint8", "int32", "int64"):
        return rng.integers(0, 6 if ties else 50, shape).astype(dtype)
    arr = (rng.integers(-3, 4, shape) if ties else rng.standard_normal(shape)).astype(dtype)
    if nan and arr.size:
        arr.reshape(-1)[rng.integers(0, 2, arr.size).astype(bool) & (rng.random(arr.size) < 0.3)] = np.nan
    return arr


def make(dtype: str, layout: str, seed: int = 0, nan: bool = False, ties: bool = False) -> tuple[Any, Any]:
    """An ember tensor and its torch twin, built as the same view of the same data."""
    shape, view = LAYOUTS[layout]
    arr = values(dtype, shape, seed, nan, ties)
    return view(ember.tensor(arr)), view(torch.tensor(arr))


def same(fn: Callable[..., Any], e: Any, t: Any, *args: Any, ctx: str = "", **tol: Any) -> None:
    """``fn(ember, e, *args)`` and ``fn(torch, t, *args)`` agree: equal results (values, dtypes, shapes)
    or the same error type and message (ember tensors in ``args``, also in dicts, are converted for torch)."""
    targs = [{k: to_torch(v) for k, v in a.items()} if isinstance(a, dict) else to_torch(a) for a in args]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = fn(torch, t, *targs)
        except Exception as exc:
            try:
                fn(ember, e, *args)
            except Exception as got:
                assert type(got).__name__ == type(exc).__name__ and str(got) == str(exc), \
                    f"{ctx}: ember {type(got).__name__}({got}) vs torch {type(exc).__name__}({exc})"
                return
            raise AssertionError(f"{ctx}: torch raised {type(exc).__name__}({exc}), ember did not") from None
        got = fn(ember, e, *args)
    try:
        assert_close(got, expected, **tol)
    except AssertionError as err:
        raise AssertionError(f"{ctx}: {err}") from None


def sweep(op: Callable[..., Any], dtypes: list[str] = DTYPES, dims: tuple[Any, ...] = DIMS,
          keepdims: tuple[bool, ...] = (False, True), layouts: Any = LAYOUTS, nan: bool = False,
          ties: bool = False, **tol: Any) -> None:
    """Compare ``op(lib, x, dim, keepdim)`` over dtypes x layouts x dims x keepdim."""
    for dtype in dtypes:
        for layout in layouts:
            e, t = make(dtype, layout, nan=nan, ties=ties)
            for dim in dims:
                for keepdim in keepdims:
                    same(op, e, t, dim, keepdim, ctx=f"{dtype} {layout} dim={dim} keepdim={keepdim}", **tol)


HALF_TOL = {"rtol": 4e-3, "atol": 4e-3}

# op name -> op(lib, x, dim, keepdim); dims given as None mean the full (no-dim) overload
REDUCTIONS: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "sum": (lambda lib, x, d, k: lib.sum(x, d, k) if d is not None else x.sum(dim=None, keepdim=k), DIMS),
    "nansum": (lambda lib, x, d, k: lib.nansum(x, d, k), DIMS),
    "mean": (lambda lib, x, d, k: x.mean(d, k), DIMS),
    "nanmean": (lambda lib, x, d, k: lib.nanmean(x, d, k), DIMS),
    "prod": (lambda lib, x, d, k: x.prod() if d is None else x.prod(d, k), INT_DIMS),
    "amax": (lambda lib, x, d, k: x.amax(keepdim=k) if d is None else x.amax(d, k), DIMS),
    "amin": (lambda lib, x, d, k: lib.amin(x, keepdim=k) if d is None else lib.amin(x, d, k), DIMS),
    "max": (lambda lib, x, d, k: x.max() if d is None else x.max(d, k), INT_DIMS),
    "min": (lambda lib, x, d, k: lib.min(x) if d is None else lib.min(x, dim=d, keepdim=k), INT_DIMS),
    "argmax": (lambda lib, x, d, k: x.argmax(d, k), INT_DIMS),
    "argmin": (lambda lib, x, d, k: lib.argmin(x, d, keepdim=k), INT_DIMS),
    "all": (lambda lib, x, d, k: x.all() if d is None else x.all(d, k), DIMS + ((),)),
    "any": (lambda lib, x, d, k: lib.any(x) if d is None else lib.any(x, d, k), DIMS + ((),)),
    "count_nonzero": (lambda lib, x, d, k: lib.count_nonzero(x, d), DIMS),
    "var": (lambda lib, x, d, k: x.var(d, keepdim=k), DIMS),
    "std": (lambda lib, x, d, k: lib.std(x, d, keepdim=k, correction=0), DIMS),
    "var_mean": (lambda lib, x, d, k: lib.var_mean(x, d, keepdim=k), DIMS),
    "std_mean": (lambda lib, x, d, k: lib.std_mean(x, d, keepdim=k, correction=2), DIMS),
    "logsumexp": (lambda lib, x, d, k: x.logsumexp(d, k), DIMS[1:]),
    "norm": (lambda lib, x, d, k: x.norm(dim=d, keepdim=k), DIMS),
    "aminmax": (lambda lib, x, d, k: lib.aminmax(x, dim=d, keepdim=k), INT_DIMS),
}


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_sweep(name: str) -> None:
    op, dims = REDUCTIONS[name]
    sweep(op, dims=dims, **HALF_TOL)


@pytest.mark.parametrize("name", ["nansum", "nanmean", "amax", "amin", "max", "min", "argmax", "argmin",
                                  "logsumexp", "sum", "mean", "norm", "aminmax", "var"])
def test_reduction_nan(name: str) -> None:
    op, dims = REDUCTIONS[name]
    sweep(op, dtypes=FLOATS, dims=dims, layouts=["contig", "transposed"], nan=True, **HALF_TOL)


@pytest.mark.parametrize("name", ["amax", "max", "min", "argmax", "argmin", "aminmax"])
def test_reduction_ties(name: str) -> None:
    op, dims = REDUCTIONS[name]
    sweep(op, dtypes=["int64", "float32"], dims=dims, layouts=["contig", "transposed", "expanded"], ties=True)


def test_dtype_rules() -> None:
    ops = [lambda lib, x: x.sum(), lambda lib, x: x.sum(0), lambda lib, x: x.prod(),
           lambda lib, x: x.cumsum(1), lambda lib, x: x.cumprod(0), lambda lib, x: lib.nansum(x)]
    casts = [lambda lib, x, dt: x.sum(dtype=getattr(lib, dt)),
             lambda lib, x, dt: x.cumsum(0, dtype=getattr(lib, dt)),
             lambda lib, x, dt: x.mean(dtype=getattr(lib, dt)),
             lambda lib, x, dt: x.prod(1, dtype=getattr(lib, dt))]
    for dtype in DTYPES:
        e, t = make(dtype, "contig")
        for op in ops:
            same(op, e, t, ctx=dtype, **HALF_TOL)
        for target in ("int32", "float64", "float16", "int64"):
            for cast in casts:
                same(cast, e, t, target, ctx=f"{dtype}->{target}", **HALF_TOL)
    # float16 accumulates in float32 (as torch): 2000 * 0.1 is not 256 (what float16 accumulation gives)
    e, t = ember.full((2000,), 0.1, dtype=ember.float16), torch.full((2000,), 0.1, dtype=torch.float16)
    for op in (lambda lib, x: x.sum(), lambda lib, x: x.cumsum(0), lambda lib, x: x.mean()):
        same(op, e, t)


def test_errors() -> None:
    cases: list[tuple[Any, Any, list[Callable[..., Any]]]] = [
        (ember.ones(2, dtype=ember.int64), torch.ones(2, dtype=torch.int64),
         [lambda lib, x: x.mean(), lambda lib, x: x.var(), lambda lib, x: lib.var_mean(x),
          lambda lib, x: lib.std_mean(x), lambda lib, x: lib.nanmean(x), lambda lib, x: x.norm(),
          lambda lib, x: x.logcumsumexp(0)]),
        (ember.zeros(0), torch.zeros(0),
         [lambda lib, x: x.max(), lambda lib, x: x.min(), lambda lib, x: x.amax(), lambda lib, x: x.argmax(),
          lambda lib, x: x.argmin(), lambda lib, x: x.max(0), lambda lib, x: x.amin(0),
          lambda lib, x: x.aminmax(), lambda lib, x: x.norm(math.inf),
          lambda lib, x: x.norm(-math.inf, dim=0)]),
        (ember.tensor([1j, 2]), torch.tensor([1j, 2]),
         [lambda lib, x: x.max(), lambda lib, x: x.min(0), lambda lib, x: x.amax(), lambda lib, x: x.argmax(),
          lambda lib, x: x.cummax(0), lambda lib, x: x.aminmax(), lambda lib, x: lib.nansum(x)]),
        (ember.tensor([True, False]), torch.tensor([True, False]), [lambda lib, x: x.argmax()]),
        (ember.ones(2, 3), torch.ones(2, 3),
         [lambda lib, x: x.sum(2), lambda lib, x: x.sum((0, 0)), lambda lib, x: x.amax((1, -1)),
          lambda lib, x: x.cumsum(2), lambda lib, x: x.max(-3), lambda lib, x: x.var((0, 2)),
          lambda lib, x: x.sum_to_size((4,)), lambda lib, x: x.logsumexp(5)]),
    ]
    for e, t, fns in cases:
        for fn in fns:
            assert_same_error(lambda: fn(ember, e), lambda: fn(torch, t))  # noqa: B023


def test_complex() -> None:
    arr = values("float64", (2, 3), 1) + 1j * values("float64", (2, 3), 2)
    e, t = ember.tensor(arr), torch.tensor(arr)
    for fn in (lambda lib, x: x.sum(0), lambda lib, x: x.mean(), lambda lib, x: x.prod(1),
               lambda lib, x: x.var(1), lambda lib, x: x.std(), lambda lib, x: x.norm(),
               lambda lib, x: x.norm(1, dim=0),
               lambda lib, x: x.cumsum(1), lambda lib, x: x.cumprod(0), lambda lib, x: x.logsumexp(1),
               lambda lib, x: x.all(), lambda lib, x: x.count_nonzero(0)):
        same(fn, e, t)


def test_var_std_overloads_and_warnings() -> None:
    arr = values("float64", (3, 4), 3)
    e, t = ember.tensor(arr), torch.tensor(arr)
    for fn in (lambda lib, x: x.var(True), lambda lib, x: x.var(False), lambda lib, x: x.std(0, False),
               lambda lib, x: x.var(1, True, True), lambda lib, x: x.std(dim=(0, 1), correction=2),
               lambda lib, x: x.var(correction=0), lambda lib, x: x.var(unbiased=False),
               lambda lib, x: x.std(1, keepdim=True, unbiased=True), lambda lib, x: x.var(dim=[]),
               lambda lib, x: x.std(()), lambda lib, x: x.var(correction=1.5)):
        same(fn, e, t)
    for name, fn in (("var", lambda lib, x: x.var(correction=13)), ("std", lambda lib, x: x[:1].std(0)),
                     ("var_mean", lambda lib, x: lib.var_mean(x[:, :1], 1)),
                     ("std_mean", lambda lib, x: lib.std_mean(x, correction=12))):
        with pytest.warns(UserWarning, match=rf"^{name}\(\): degrees of freedom is <= 0"):
            fn(ember, e)
        same(fn, e, t)
    assert type(ember.var_mean(e)) is tuple and type(ember.std_mean(e, 0)) is tuple


def test_bool_reductions() -> None:
    for dtype in ("uint8", "bool", "int32", "float32"):
        e, t = make(dtype, "contig")
        for fn in (lambda lib, x: x.all(), lambda lib, x: x.any(1), lambda lib, x: x.all(dim=(0, 1)),
                   lambda lib, x: x.any(()), lambda lib, x: x.all(-1, keepdim=True)):
            same(fn, e, t, ctx=dtype)
    assert ember.tensor([1, 2], dtype=ember.uint8).all().dtype is ember.uint8


def test_max_min_overloads_and_out() -> None:
    a, b = values("float32", (2, 3), 4), values("float32", (3,), 5)
    e, t = ember.tensor(a), torch.tensor(a)
    same(lambda lib, x, y: lib.max(x, y), e, t, ember.tensor(b))
    same(lambda lib, x, y: x.min(y), e, t, ember.tensor(b))
    r = e.max(dim=1, keepdim=True)
    assert type(r).__name__ == "max" and r[0] is r.values and r[1] is r.indices
    v, i = e.min(0)
    assert_close((v, i), tuple(t.min(0)))
    assert repr(ember.tensor([[1, 5], [7, 2]]).max(dim=1)) == repr(torch.tensor([[1, 5], [7, 2]]).max(dim=1))
    xe = ember.tensor([[1.0, 5.0], [7.0, 2.0]], requires_grad=True)
    xt = to_torch(xe)
    for fn in (lambda x: x.min(1, keepdim=True), lambda x: x.aminmax(), lambda x: x.cummax(0)):
        assert repr(fn(xe)) == repr(fn(xt))
    ov, oi = ember.empty(0), ember.empty(0, dtype=ember.int64)
    res = ember.max(e, 1, out=(ov, oi))
    assert res.values is ov and res.indices is oi
    assert_close((ov, oi), tuple(t.max(1)))
    for fn in (lambda lib, x, o: lib.sum(x, 0, out=o), lambda lib, x, o: lib.mean(x, 1, out=o),
               lambda lib, x, o: lib.amax(x, 1, out=o), lambda lib, x, o: lib.cumsum(x, 1, out=o),
               lambda lib, x, o: lib.logsumexp(x, 1, out=o), lambda lib, x, o: lib.prod(x, 1, out=o)):
        oe = ember.empty(1)
        assert fn(ember, e, oe) is oe
        assert_close(oe, fn(torch, t, torch.empty(0)))


def test_sum_to_size() -> None:
    arr = values("float64", (2, 3, 4), 6)
    e, t = ember.tensor(arr), torch.tensor(arr)
    for size in ((3, 4), (1, 4), (2, 1, 1), (3, 1), (2, 3, 4), (1, 1, 1)):
        same(lambda lib, x, s: x.sum_to_size(s), e, t, size, ctx=str(size))


# ---- norm ----------------------------------------------------------------------------------------------
NORM_PS: tuple[Any, ...] = (None, "fro", 0, 1, 2, 3, 0.5, 1.5, math.inf, -math.inf)


def test_norm_orders() -> None:
    for dtype in ("float32", "float64", "float16"):
        for layout in ("contig", "transposed", "empty_rows", "scalar"):
            e, t = make(dtype, layout, seed=7)
            for p in NORM_PS:
                for dim in (None, 0, (0, 1), -1):
                    for keepdim in (False, True):
                        same(lambda lib, x, p, d, k: lib.norm(x, p, d, k), e, t, p, dim, keepdim,
                             ctx=f"{dtype} {layout} p={p} dim={dim}", **HALF_TOL)
    e, t = make("float32", "contig")
    same(lambda lib, x: lib.norm(x, dtype=lib.float64), e, t)
    same(lambda lib, x: x.norm("fro", (0,)), e, t)
    e3, t3 = ember.ones(2, 3, 4), torch.ones(2, 3, 4)
    for p, dim in (("nuc", 0), ("abc", None), ("nuc", (0, 0)), ("fro", (0, 1, 2)), ("nuc", None),
                   ("abc", (0, 1, 2))):
        same(lambda lib, x, p, d: lib.norm(x, p, d), e3, t3, p, dim)
    same(lambda lib, x: lib.norm(x, dtype=lib.float16), e3, t3)
    same(lambda lib, x: lib.norm(x.double(), dtype=lib.float32), e3, t3)


def test_norm_nuclear() -> None:
    arr = values("float64", (2, 3, 4), 8)
    for fn in (lambda lib, x: lib.norm(x[0], "nuc"), lambda lib, x: x.norm("nuc", dim=(-1, 1))):
        check_grads(fn, arr)
        assert type(fn(ember, ember.tensor(arr, requires_grad=True)).grad_fn).__name__ == "SumBackward1"
    check_grads(lambda lib, x: lib.norm(x, "nuc", dim=(2, 0), keepdim=True), arr)
    same(lambda lib, x: lib.norm(x, "nuc"), ember.ones(3), torch.ones(3))
    same(lambda lib, x: lib.norm(x, "abc"), ember.ones(3), torch.ones(3))


# ---- scans and diff ------------------------------------------------------------------------------------
SCANS: dict[str, Callable[..., Any]] = {
    "cumsum": lambda lib, x, d, k: x.cumsum(d),
    "cumprod": lambda lib, x, d, k: lib.cumprod(x, d),
    "cummax": lambda lib, x, d, k: x.cummax(d),
    "cummin": lambda lib, x, d, k: lib.cummin(x, dim=d),
    "logcumsumexp": lambda lib, x, d, k: x.logcumsumexp(d),
}


@pytest.mark.parametrize("name", SCANS)
def test_scan_sweep(name: str) -> None:
    sweep(SCANS[name], dims=(0, -1, 1), keepdims=(False,), **HALF_TOL)
    sweep(SCANS[name], dtypes=FLOATS, dims=(0, 1), keepdims=(False,), layouts=["contig", "sliced"], nan=True,
          **HALF_TOL)
    sweep(SCANS[name], dtypes=["int64", "float64"], dims=(1,), keepdims=(False,), layouts=["contig"],
          ties=True)


def test_scan_special_values() -> None:
    nan, inf = math.nan, math.inf
    for data in ([1.0, nan, 0.0, nan, 5.0], [3.0, 1.0, 1.0, 3.0], [-inf, 1.0, -inf], [inf, 1.0], [-inf, -inf],
                 [2.0, 0.0, 3.0, 0.0, 5.0]):
        e, t = ember.tensor(data), torch.tensor(data)
        for fn in SCANS.values():
            same(fn, e, t, 0, False, ctx=str(data))
    e, t = ember.arange(6.0).reshape(2, 3), torch.arange(6.0).reshape(2, 3)
    same(lambda lib, x: x.clone().cumsum_(1), e, t)
    same(lambda lib, x: x.clone().cumprod_(0), e, t)


def test_diff() -> None:
    arr = values("int64", (2, 5), 9)
    e, t = ember.tensor(arr), torch.tensor(arr)
    for n in (0, 1, 2, 5, 7):
        for dim in (0, 1, -1):
            same(lambda lib, x, n, d: lib.diff(x, n, d), e, t, n, dim, ctx=f"n={n} dim={dim}")
    pre, app = ember.tensor(values("int64", (2, 2), 10)), ember.tensor(values("float32", (2, 1), 11))
    same(lambda lib, x, p, a: x.diff(prepend=p, append=a), e, t, pre, app)
    same(lambda lib, x: lib.diff(x), ember.tensor([True, False, False]), torch.tensor([True, False, False]))
    same(lambda lib, x: lib.diff(x.t(), dim=0), e, t)
    same(lambda lib, x: lib.diff(x, n=-1), e, t)
    same(lambda lib, x, p: lib.diff(x, prepend=p), e, t, ember.tensor([0]))
    same(lambda lib, x, p: lib.diff(x, dim=0, prepend=p), e, t, ember.zeros(1, 2, dtype=ember.int64))
    same(lambda lib, x: lib.diff(x), ember.tensor(1), torch.tensor(1))


# ---- gradients -------------------------------------------------------------------------------------------
GRADS: dict[str, Callable[[Any, Any], Any]] = {
    "SumBackward0": lambda lib, x: x.sum(),
    "SumBackward1": lambda lib, x: x.sum((0, 2), keepdim=True),
    "NansumBackward0": lambda lib, x: lib.nansum(x, 1),
    "MeanBackward0": lambda lib, x: x.mean(),
    "MeanBackward1": lambda lib, x: x.mean(-1),
    "DivBackward0": lambda lib, x: lib.nanmean(x, (0, 1)),
    "ProdBackward0": lambda lib, x: x.prod(),
    "ProdBackward1": lambda lib, x: x.prod(1, keepdim=True),
    "MaxBackward1": lambda lib, x: x.max(),
    "MinBackward1": lambda lib, x: lib.min(x),
    "MaxBackward0": lambda lib, x: x.max(1).values,
    "MinBackward0": lambda lib, x: x.min(0, keepdim=True)[0],
    "AmaxBackward0": lambda lib, x: x.amax((0, 2)),
    "AminBackward0": lambda lib, x: lib.amin(x, -1),
    "AminmaxBackward0": lambda lib, x: lib.aminmax(x, dim=1).min,
    "VarBackward0": lambda lib, x: x.var((0, 2), correction=0, keepdim=True),
    "StdBackward0": lambda lib, x: x.std(1),
    "VarMeanBackward0": lambda lib, x: lib.var_mean(x, 1)[0],
    "StdMeanBackward0": lambda lib, x: lib.std_mean(x, (0, 1))[1],
    "LogsumexpBackward0": lambda lib, x: x.logsumexp((0, 1)),
    "LinalgVectorNormBackward0": lambda lib, x: x.norm(),
    "CumsumBackward0": lambda lib, x: x.cumsum(1),
    "CumprodBackward0": lambda lib, x: x.cumprod(-1),
    "CummaxBackward0": lambda lib, x: x.cummax(1).values,
    "CumminBackward0": lambda lib, x: lib.cummin(x, 0).values,
    "LogcumsumexpBackward0": lambda lib, x: x.logcumsumexp(0),
    "SubBackward0": lambda lib, x: lib.diff(x, n=2, dim=1),
}
MORE_GRADS: list[Callable[[Any, Any], Any]] = [
    lambda lib, x: lib.aminmax(x).max * 2 + lib.aminmax(x).min,
    lambda lib, x: (lambda r: r[0] * 3 + r[1])(lib.var_mean(x, (0, 2), keepdim=True)),
    lambda lib, x: (lambda r: r[0] + r[1])(lib.std_mean(x, -1, correction=0)),
    lambda lib, x: x.norm(1, dim=1),
    lambda lib, x: x.norm(math.inf, dim=0),
    lambda lib, x: x.norm(-math.inf),
    lambda lib, x: x.norm(3, dim=(0, 2), keepdim=True),
    lambda lib, x: x.norm(0.5, dim=-1),
    lambda lib, x: x.norm(1.5),
    lambda lib, x: x.norm(0, dim=1),
    lambda lib, x: lib.diff(x, dim=0, prepend=x[:1], append=x[1:] * 2),
    lambda lib, x: x.logsumexp(2, keepdim=True),
]


def _grad_input(seed: int = 12) -> np.ndarray:
    return values("float64", (2, 3, 4), seed)


@pytest.mark.parametrize("name", GRADS)
def test_grad_fn_and_gradients(name: str) -> None:
    fn = GRADS[name]
    arr = _grad_input()
    x = ember.tensor(arr, requires_grad=True)
    expected = type(fn(torch, torch.tensor(arr, requires_grad=True)).grad_fn).__name__
    assert type(fn(ember, x).grad_fn).__name__ == name == expected
    check_grads(fn, arr)
    small = ember.tensor(arr[:, :2, :3], requires_grad=True)
    assert ember.autograd.gradcheck(lambda x: fn(ember, x), (small,))


@pytest.mark.parametrize("i", range(len(MORE_GRADS)))
def test_more_gradients(i: int) -> None:
    fn = MORE_GRADS[i]
    check_grads(fn, _grad_input(13))
    small = ember.tensor(_grad_input(14)[:, :2], requires_grad=True)
    assert ember.autograd.gradcheck(lambda x: fn(ember, x), (small,))


SPECIAL_GRADS: list[tuple[Callable[[Any, Any], Any], Any]] = [
    # a dtype= cast inside the op: the gradient comes back in the input's dtype
    (lambda lib, x: x.sum(dtype=lib.float32), [[1.0, 2.0], [3.0, 4.0]]),
    (lambda lib, x: x.cumsum(0, dtype=lib.float32), [[1.0, 2.0], [3.0, 4.0]]),
    (lambda lib, x: lib.norm(x.float(), dtype=lib.float64), [[1.0, 2.0], [3.0, 4.0]]),
    # ties: full max/min/median split evenly; amax/amin split along the dim; NaN results pick the NaNs
    (lambda lib, x: x.max(), [[1.0, 3.0, 3.0], [2.0, 3.0, 0.0]]),
    (lambda lib, x: x.min(), [[1.0, 3.0, 1.0], [2.0, 3.0, 1.0]]),
    (lambda lib, x: x.amax(1), [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]),
    (lambda lib, x: x.amin((0, 1)), [[1.0, 3.0, 1.0], [1.0, 2.0, 0.5]]),
    (lambda lib, x: x.max(), [[1.0, math.nan, 3.0], [math.nan, 2.0, 0.0]]),
    (lambda lib, x: x.amax(0), [[1.0, math.nan], [3.0, math.nan]]),
    (lambda lib, x: x.amax(), [[1.0, math.nan], [3.0, 2.0]]),
    (lambda lib, x: x.cummax(1).values, [[1.0, 3.0, 3.0, 2.0], [1.0, math.nan, 0.0, math.nan]]),
    (lambda lib, x: x.norm(math.inf), [[3.0, -3.0], [1.0, 0.0]]),
    (lambda lib, x: x.norm(), [[0.0, 0.0], [0.0, 0.0]]),
    (lambda lib, x: x.norm(3, dim=1), [[0.0, 0.0], [1.0, -2.0]]),
    (lambda lib, x: x.norm(1.5), [[3.0, 0.0], [1.0, 2.0]]),
    (lambda lib, x: x.norm(0.5), [[3.0, 0.0], [1.0, 2.0]]),
    (lambda lib, x: x.std(1), [[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]]),
    (lambda lib, x: lib.nansum(x, 0), [[2.0, math.nan, 2.0], [1.0, 2.0, math.nan]]),
    # zeros: product of the others
    (lambda lib, x: x.prod(), [[2.0, 0.0, 3.0], [1.0, 2.0, 3.0]]),
    (lambda lib, x: x.prod(), [[2.0, 0.0, 3.0], [1.0, 0.0, 3.0]]),
    (lambda lib, x: x.prod(1), [[2.0, 0.0, 3.0], [0.0, 0.0, 1.0], [1.0, 2.0, 3.0]]),
    (lambda lib, x: x.prod(0, keepdim=True), [[2.0, 0.0, 3.0], [0.0, 0.0, 1.0], [1.0, 2.0, 3.0]]),
    (lambda lib, x: x.cumprod(1), [[2.0, 0.0, 3.0, 0.0, 5.0], [1.0, 2.0, 0.0, 4.0, 5.0]]),
    (lambda lib, x: x.cumprod(0), [[2.0, 0.0, 3.0], [0.0, 0.0, 1.0], [1.0, 2.0, 3.0]]),
    (lambda lib, x: x.logcumsumexp(1), [[-math.inf, 1.0, -math.inf], [0.0, 1.0, 2.0]]),
    # zero-size and 0-d inputs
    (lambda lib, x: x.sum(0), np.zeros((0, 3))),
    (lambda lib, x: x.mean(1), np.zeros((0, 3))),
    (lambda lib, x: x.prod(0), np.zeros((0, 3))),
    (lambda lib, x: x.cumsum(0), np.zeros((0, 3))),
    (lambda lib, x: x.cumprod(1), np.zeros((2, 0))),
    (lambda lib, x: x.amax(1), np.zeros((0, 3))),
    (lambda lib, x: x.norm(dim=0), np.zeros((0, 3))),
    (lambda lib, x: x.max(0).values + x.sum(0) + x.prod(0) + x.cumsum(0) + x.cumprod(0), np.array(2.5)),
    (lambda lib, x: x.var(0, correction=0) + x.logsumexp(0) + x.cummax(0).values, np.array(2.5)),
]


@pytest.mark.parametrize("i", range(len(SPECIAL_GRADS)))
def test_special_gradients(i: int) -> None:
    fn, data = SPECIAL_GRADS[i]
    check_grads(fn, np.array(data, dtype=np.float64))


DOUBLE: list[Callable[[Any], Any]] = [
    lambda x: x.sum(1) ** 2, lambda x: (x.mean() * x).sum(), lambda x: x.prod(1), lambda x: x.prod(),
    lambda x: x.var(0), lambda x: x.std(1), lambda x: x.logsumexp(1), lambda x: x.amax(1) * x.sum(1),
    lambda x: x.cumsum(1) ** 2, lambda x: x.cumprod(1), lambda x: x.logcumsumexp(0), lambda x: x.norm(dim=1),
    lambda x: x.norm(3), lambda x: ember.var_mean(x, 1)[0] * 2,
]


@pytest.mark.parametrize("i", range(len(DOUBLE)))
def test_double_backward(i: int) -> None:
    x = ember.tensor(values("float64", (2, 3), 15) + 0.1, requires_grad=True)
    assert ember.autograd.gradgradcheck(DOUBLE[i], (x,))


def test_double_backward_with_zeros() -> None:
    x = ember.tensor([[2.0, 0.0, 3.0], [0.5, 2.0, -1.0]], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda x: x.prod(1), (x,))
    assert ember.autograd.gradgradcheck(lambda x: x.cumprod(1), (x,))
