"""Indexing against torch: getitem (views vs copies, placement of advanced dims, errors), setitem, and the
index/gather/scatter/masked/take/put/nonzero/where families — values, dtypes, errors and gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import ember
from ember.ops import indexing as IX
from oracle import assert_close, assert_same_error, check_grads, torch
from test_views import RNG, arr, compare, grads

F, D, I64, I32, B = np.float32, np.float64, np.int64, np.int32, np.bool_


def setv(x: Any, key: Any, value: Any) -> Any:
    x[key] = value
    return x


# ---- getitem ---------------------------------------------------------------------------------------------
GET: list[Callable] = [
    lambda L, x: x[0], lambda L, x: x[-1], lambda L, x: x[0, 1], lambda L, x: x[0, 1, 2], lambda L, x: x[1:],
    lambda L, x: x[:, 1], lambda L, x: x[..., 0], lambda L, x: x[None], lambda L, x: x[0, None],
    lambda L, x: x[None, 0], lambda L, x: x[:, None, ..., 0], lambda L, x: x[()], lambda L, x: x[...],
    lambda L, x: x[:], lambda L, x: x[:, :], lambda L, x: x[::2], lambda L, x: x[:, 1::2, ::3],
    lambda L, x: x[0:10], lambda L, x: x[-10:1], lambda L, x: x[1:0], lambda L, x: x[..., ...],
    lambda L, x: x[L.tensor(1)], lambda L, x: x[:, L.tensor(-1, dtype=L.int32)], lambda L, x: x[np.int64(1)],
    lambda L, x: x[L.tensor(0):L.tensor(1)], lambda L, x: x[slice(None, None, L.tensor(2))],
    lambda L, x: x[[0, 1]], lambda L, x: x[[1, 1, 0]], lambda L, x: x[L.tensor([0, 1])],
    lambda L, x: x[L.tensor([[1], [0]])],
    lambda L, x: x[L.tensor([0, 1], dtype=L.int32)], lambda L, x: x[np.array([0, 1])],
    lambda L, x: x[[0, 1], [0, 1]],
    lambda L, x: x[[0, 1], :, [0, 1]], lambda L, x: x[:, [0, 1], None], lambda L, x: x[[0, 1], None, [0, 1]],
    lambda L, x: x[None, [0, 1], [0, 1]], lambda L, x: x[0, :, [0, 1]], lambda L, x: x[[0, 1], 0],
    lambda L, x: x[:, 0, [0, 1]], lambda L, x: x[0, [0, 1], :], lambda L, x: x[[0], :, 0],
    lambda L, x: x[:, [-1, 0]],
    lambda L, x: x[L.tensor([0, 1]), ..., L.tensor([0, 1])], lambda L, x: x[L.tensor(1), [0, 1]],
    lambda L, x: x[L.tensor(1), :, [0, 1]], lambda L, x: x[:, [[0, 1], [1, 0]]],
    lambda L, x: x[[[0]], [[0], [1]]],
    lambda L, x: x[L.tensor([0, 1]), L.tensor([[0], [1]])], lambda L, x: x[..., [0, 1], :, :],
    lambda L, x: x[x > 0], lambda L, x: x[x[:, :, 0] > 0], lambda L, x: x[:, x[0, :, 0] > 0],
    lambda L, x: x[0, x[0, :, 0] > 0], lambda L, x: x[..., x[0, 0] > 0], lambda L, x: x[x[:, :, 0] > 0, 0],
    lambda L, x: x[L.tensor([True, False])], lambda L, x: x[[True, False]],
    lambda L, x: x[np.array([True, False])],
    lambda L, x: x[L.tensor([[0, 1]]), L.tensor([True, False, True])],
    lambda L, x: x[L.zeros(2, 3, 4, dtype=L.bool)],
    lambda L, x: x[True], lambda L, x: x[False], lambda L, x: x[True, 0],
    lambda L, x: x[None, True, ..., None],
    lambda L, x: x[[0, 1], True], lambda L, x: x[True, [0, 1]], lambda L, x: x[..., True],
    lambda L, x: x[L.tensor(True)],
    lambda L, x: x[L.tensor(False)], lambda L, x: x[[]], lambda L, x: x[:, []],
    lambda L, x: x[L.tensor([], dtype=L.int64)],
    lambda L, x: x[[0, 1] * 20], lambda L, x: x[(L.tensor([0, 1]),)], lambda L, x: x[[0, 1.0]],
    lambda L, x: x[[[0, 1], [1, 0]]], lambda L, x: x[[0, None]], lambda L, x: x[[0, slice(None)]],
    lambda L, x: x[[[]]],
    lambda L, x: x[[L.tensor([0, 1])]], lambda L, x: x[:, L.tensor([1, 0, 1], dtype=L.uint8)],
    lambda L, x: x[L.tensor(1, dtype=L.uint8)], lambda L, x: x[L.tensor(1, dtype=L.int8)],
    lambda L, x: x[..., ..., 0:], lambda L, x: x[1:, ..., ...],
]
GET_ERRORS: list[Callable] = [
    lambda L, x: x[3], lambda L, x: x[-3], lambda L, x: x[0, 3], lambda L, x: x[0, 0, 4],
    lambda L, x: x[0, 0, 0, 0],
    lambda L, x: x[None, 0, 3], lambda L, x: x[0, None, 3], lambda L, x: x[0, ..., 5], lambda L, x: x[[0, 2]],
    lambda L, x: x[:, [0, 3]], lambda L, x: x[:, [0, -4]], lambda L, x: x[L.tensor([0, 2])],
    lambda L, x: x[[1, -9, 5]],
    lambda L, x: x[[0, 1], [0, 5]], lambda L, x: x[:, :, [0, 9]], lambda L, x: x[[0, 1], :, [0, 9]],
    lambda L, x: x[:, 0, [0, 9]], lambda L, x: x[0, [0, 3]], lambda L, x: x[1.5], lambda L, x: x[{0}],
    lambda L, x: x[L.tensor(1.0)], lambda L, x: x[L.tensor([0, 1], dtype=L.int8)],
    lambda L, x: x[L.tensor(5)],
    lambda L, x: x[L.tensor([True, False, True])], lambda L, x: x[L.ones(2, 4, dtype=L.bool)],
    lambda L, x: x[L.ones(2, 3, 4, 5, dtype=L.bool)], lambda L, x: x[0, L.ones(2, dtype=L.bool)],
    lambda L, x: x[0, [0, 1], L.ones(3, dtype=L.bool)], lambda L, x: x[L.zeros(0, dtype=L.bool)],
    lambda L, x: x[[True, False, True]], lambda L, x: x[[0, 1], [0, 1, 2]], lambda L, x: x[[0, 1], False],
    lambda L, x: x[[0, 1], :, L.tensor([True, False, True, True])], lambda L, x: x[::0], lambda L, x: x[::-1],
    lambda L, x: x[:, :, :, :, True], lambda L, x: L.ones(())[0], lambda L, x: L.ones(())[:],
    lambda L, x: L.ones(())[:, None], lambda L, x: L.ones(())[0, ...], lambda L, x: L.ones(())[[0]],
    lambda L, x: L.ones(())[L.tensor(0)], lambda L, x: L.ones(())[1.5], lambda L, x: L.ones(0, 3)[0],
    lambda L, x: L.ones(0, 3)[[0]], lambda L, x: L.ones(2, 0)[:, [0]], lambda L, x: x[..., ..., None],
    lambda L, x: x[..., ..., 1:], lambda L, x: x[..., ..., [0]],
    lambda L, x: x[..., ..., L.ones(2, 3, dtype=L.bool)],
]


@pytest.mark.parametrize("layout", ["c", "t", "s"])
@pytest.mark.parametrize("i", range(len(GET)))
def test_getitem(i: int, layout: str) -> None:
    compare(GET[i], arr(2, 3, 4, layout=layout))


@pytest.mark.parametrize("i", range(len(GET_ERRORS)))
def test_getitem_errors(i: int) -> None:
    assert compare(GET_ERRORS[i], arr(2, 3, 4)) is None


@pytest.mark.parametrize("dtype", [I64, B, np.float16, np.complex64, np.uint8])
def test_getitem_dtypes_and_zero_dim(dtype: Any) -> None:
    for i in (0, 6, 13, 27, 35, 49, 57, 66):
        compare(GET[i], arr(2, 3, 4, dtype=dtype))
    for fn in (lambda L, x: x[None], lambda L, x: x[...], lambda L, x: x[True], lambda L, x: x[False],
               lambda L, x: x[None, ..., None], lambda L, x: x[L.tensor(True)]):
        compare(fn, arr(dtype=dtype))
    for fn in (lambda L, x: x[:, [0]], lambda L, x: x[0:0], lambda L, x: x[x > 0], lambda L, x: x[[]]):
        compare(fn, arr(0, 3, dtype=dtype))


def test_getitem_views_and_copies() -> None:
    x = ember.arange(24).view(2, 3, 4)
    for v in (x[0], x[:, 1], x[..., None], x[ember.tensor(1)], x[1:, ::2], x[...]):
        assert v._base is x._base and v._vc is x._vc
    for c in (x[[0, 1]], x[x > 3], x[ember.tensor([1])], x[0, [1]]):
        assert c._base is None and c._vc is not x._vc
    v = x[1, :, 1:3]
    v[0, 0] = 100
    assert x[1, 0, 1].item() == 100 and x._version == 1
    c = x[[1]]
    c[0, 0, 0] = -5
    assert x[1, 0, 0].item() == 12


# ---- setitem ---------------------------------------------------------------------------------------------
SET: list[Callable] = [
    lambda L, x: setv(x, 0, 5), lambda L, x: setv(x, (0, 1), -1.5), lambda L, x: setv(x, (slice(None), 1), 2),
    lambda L, x: setv(x, ..., 1), lambda L, x: setv(x, slice(None), L.arange(4.0)),
    lambda L, x: setv(x, 0, L.ones(1, 4)), lambda L, x: setv(x, 0, L.ones(1, 1, 3, 4)),
    lambda L, x: setv(x, (0, slice(None), 0), L.tensor([1.0, 2, 3], dtype=L.float64)),
    lambda L, x: setv(x, 1, L.tensor(7, dtype=L.int64)), lambda L, x: setv(x, None, L.ones(2, 3, 4)),
    lambda L, x: setv(x, x > 0, 0), lambda L, x: setv(x, x > 0, L.tensor(9.0)),
    lambda L, x: setv(x, x[:, :, 0] > 0, L.arange(4.0)), lambda L, x: setv(x, [0, 1], L.ones(2, 1, 1)),
    lambda L, x: setv(x, L.tensor([0, 0]), L.stack([L.ones(3, 4), L.zeros(3, 4)])),
    lambda L, x: setv(x, ([0, 1], [1, 2]), L.tensor([[5.0], [6.0]]).view(2, 1)),
    lambda L, x: setv(x, (0, L.tensor([True, False, True])), L.ones(2, 4)), lambda L, x: setv(x, [], 5),
    lambda L, x: setv(x, ([], slice(None)), L.ones(1)),
    lambda L, x: setv(x, (slice(None), [0, 1]), L.ones(2, 1, 4)),
    lambda L, x: setv(x, (L.tensor(1), [0, 2]), 3), lambda L, x: setv(x, True, 4),
    lambda L, x: setv(x, [[0, 1]], 2.5),
    lambda L, x: setv(x, (0, [0, 1], slice(1, 3)), L.tensor([[1.0, 2], [3, 4]])),
    lambda L, x: setv(x, L.tensor(1), 2.0), lambda L, x: setv(x, (..., 0), L.ones(1, 2, 3)),
    # errors
    lambda L, x: setv(x, 0, L.ones(4, 3)), lambda L, x: setv(x, 0, L.ones(2, 3, 4)),
    lambda L, x: setv(x, [0], L.ones(2)),
    lambda L, x: setv(x, [0, 1], L.ones(3, 3, 4)), lambda L, x: setv(x, [0], L.ones(1, 1, 3, 5)),
    lambda L, x: setv(x, x > 0, L.ones(2)), lambda L, x: setv(x, [0], L.ones(3, 4, dtype=L.float64)),
    lambda L, x: setv(x, [0], L.tensor(1.0, dtype=L.float64)), lambda L, x: setv(x, 0, np.ones(4)),
    lambda L, x: setv(x, 0, [1, 2, 3, 4]), lambda L, x: setv(x, 0, "a"), lambda L, x: setv(x, 0, None),
    lambda L, x: setv(x, 0, np.float32(2)), lambda L, x: setv(x, 0, 2 + 3j), lambda L, x: setv(x, 0, 1e39),
    lambda L, x: setv(x, 1.5, 1), lambda L, x: setv(x, 5, 1), lambda L, x: setv(x, [5], 1),
]


@pytest.mark.parametrize("layout", ["c", "t"])
@pytest.mark.parametrize("i", range(len(SET)))
def test_setitem(i: int, layout: str) -> None:
    compare(SET[i], arr(2, 3, 4, layout=layout), views=False)


@pytest.mark.parametrize("fn", [
    lambda L, x: setv(x, 0, 2.7), lambda L, x: setv(x, 0, L.tensor(2.7)),
    lambda L, x: setv(x, [0], L.tensor([2.7])),
    lambda L, x: setv(x, 0, 300), lambda L, x: setv(x, 0, -1), lambda L, x: setv(x, 0, -256),
    lambda L, x: setv(x, 0, -129),
    lambda L, x: setv(x, 0, float("inf")), lambda L, x: setv(x, 0, float("nan")), lambda L, x: setv(x, 0, 1j),
    lambda L, x: setv(x, [0], 300), lambda L, x: setv(x, 0, True), lambda L, x: setv(x, x > 1, 0),
])
@pytest.mark.parametrize("dtype", [I64, np.uint8, np.int8, I32, B, np.float16, np.complex64])
def test_setitem_scalar_conversion(fn: Callable, dtype: Any) -> None:
    compare(fn, arr(3, dtype=dtype), views=False)


def test_setitem_versions_and_views() -> None:
    x = ember.zeros(3, 4)
    v = x[1]
    x[1, 2] = 5
    x[[0]] = 1
    x[x > 4] = 7
    assert x._version == v._version == 3 and v[2].item() == 7 and x[0].sum().item() == 4
    v[:] = 2
    assert x[1].tolist() == [2, 2, 2, 2]
    x[0] = ember.tensor([1.0, 2, 3, 4])[None]
    x[ember.tensor([2, 2])] = ember.tensor([[1.0] * 4, [3.0] * 4])   # duplicates: the last write wins
    assert x[2].tolist() == [3, 3, 3, 3] and x[0].tolist() == [1, 2, 3, 4]
    x[ember.tensor([0, 0])] += 1   # no accumulation through duplicates
    assert x[0].tolist() == [2, 3, 4, 5]


def test_setitem_autograd() -> None:
    for key in (0, (slice(None), 1), ([0, 2], [1, 1]), "mask", (0, [1, 2])):
        def fn(L: Any, x: Any, v: Any, key: Any = key) -> Any:
            y = x * 1
            k = y > 0 if key == "mask" else key
            n = y[k].shape[-1] if y[k].dim() else 1
            y[k] = v.sum() if key == "mask" else v[:n].reshape(y[k].shape[-1:])
            return y
        check_grads(fn, RNG.standard_normal((3, 4)), RNG.standard_normal(4))
    for lib in (ember, torch):
        w = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
            w[0] = 5
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            w[[0]] = 5
        y = w * 1
        y[0] = 0
        assert type(y.grad_fn).__name__ == "CopySlices"
        z = lib.zeros(3)
        z[1] = w[0] * 2
        assert type(z.grad_fn).__name__ == "CopySlices"


# ---- index_put -----------------------------------------------------------------------------------------
INDEX_PUT = [
    lambda L, x: x.index_put_((L.tensor([0, 0, 1]),), L.tensor([1.0, 2.0, 3.0]), accumulate=True),
    lambda L, x: x.index_put((L.tensor([0, 1]),), L.tensor([1.0, 2.0])),
    lambda L, x: x.index_put_([L.tensor([0])], L.tensor(1.0)),
    lambda L, x: L.index_put(x, (L.tensor([2, 0]),), L.tensor(5.0), True),
    lambda L, x: x.index_put_((L.tensor(1),), L.tensor(5.0)),
    lambda L, x: x.index_put_((L.tensor([True, False, True, False]),), L.tensor(1.0)),
    lambda L, x: x.index_put_((L.tensor([0]),), 1.0),
    lambda L, x: x.index_put_((L.tensor([0]),), L.tensor(1)),
    lambda L, x: x.index_put_((L.tensor([0.0]),), L.tensor(1.0)),
    lambda L, x: x.index_put_((None, L.tensor([0])), L.tensor(1.0)),
    lambda L, x: x.index_put_((L.tensor([0]), L.tensor([0])), L.tensor(1.0)),
    lambda L, x: x.index_put_((L.tensor([5]),), L.tensor(1.0)),
    lambda L, x: x.index_put_((L.tensor([0, 1]),), L.tensor([1.0, 2.0, 3.0]), accumulate=True),
]


@pytest.mark.parametrize("i", range(len(INDEX_PUT)))
def test_index_put(i: int) -> None:
    compare(INDEX_PUT[i], arr(4), views=False)
    compare(lambda L, x: x.index_put_((L.tensor([0, 0]), L.tensor([1, 1])), L.tensor([1, 2]),
                                      accumulate=True), arr(2, 3, dtype=I64), views=False)


# ---- index / gather / scatter / masked / take / put families ------------------------------------------
OPS: dict[str, Callable] = {
    "index_select": lambda L, x: x.index_select(1, L.tensor([2, 0, 2])),
    "index_select_0d": lambda L, x: L.index_select(x, -1, L.tensor(1)),
    "index_select_i32": lambda L, x: x.index_select(0, L.tensor([1], dtype=L.int32)),
    "index_select_empty": lambda L, x: x.index_select(0, L.tensor([], dtype=L.int64)),
    "gather": lambda L, x: x.gather(1, L.tensor([[[0, 2, 1, 1]], [[2, 2, 0, 1]]])),
    "gather_small": lambda L, x: L.gather(x, 2, L.tensor([[[3], [0]]])),
    "gather_big": lambda L, x: x.gather(0, L.zeros(4, 2, 2, dtype=L.int64)),
    "scatter": lambda L, x: x.scatter(1, L.tensor([[[0, 2, 1, 1]]]), x[:1, :1] * 2),
    "scatter_value": lambda L, x: x.scatter(2, L.tensor([[[0], [3]], [[1], [1]]]), 7.5),
    "scatter_value_kw": lambda L, x: L.scatter(x, 0, L.tensor([[[1, 0]]]), value=-2),
    "scatter_add_reduce": lambda L, x: x.scatter(1, L.tensor([[[0, 0, 1, 0]]]), 2.0, reduce="add"),
    "scatter_mul_reduce": lambda L, x: x.scatter(1, L.tensor([[[0, 0, 1, 0]]]), 3.0, reduce="multiply"),
    "scatter_src_reduce": lambda L, x: x.scatter(0, L.tensor([[[1, 1, 0, 1]]]), x + 1, reduce="multiply"),
    "scatter_add": lambda L, x: x.scatter_add(1, L.tensor([[[0, 0, 1, 0], [2, 2, 2, 2]]]), x[:1, 1:]),
    "index_add": lambda L, x: x.index_add(1, L.tensor([0, 2, 0]), x, alpha=2),
    "index_add_fn": lambda L, x: L.index_add(x, 0, L.tensor([1, 1]), x[:, :, :].flip(0)),
    "index_copy": lambda L, x: x.index_copy(2, L.tensor([3, 0]), x[:, :, 1:3] * 3),
    "index_copy_dup": lambda L, x: x.index_copy(0, L.tensor([0, 0]), x * 2),
    "index_fill": lambda L, x: x.index_fill(1, L.tensor([0, 2]), -1.0),
    "index_fill_neg": lambda L, x: L.index_fill(x, 2, L.tensor([-1]), 3),
    "index_fill_t": lambda L, x: x.index_fill(0, L.tensor(1), L.tensor(2.0)),
    "masked_fill": lambda L, x: x.masked_fill(x > 0, 0.5),
    "masked_fill_bcast": lambda L, x: x.masked_fill(x[0, :, :1] > 0, 2),
    "masked_fill_grow": lambda L, x: x[0].masked_fill(x > 0, 1),
    "masked_fill_t": lambda L, x: x.masked_fill(x < 0, L.tensor(3.0)),
    "masked_select": lambda L, x: x.masked_select(x > 0),
    "masked_select_bcast": lambda L, x: L.masked_select(x[0], x > 0),
    "masked_scatter": lambda L, x: x.masked_scatter(x > 0, x * 10),
    "masked_scatter_bcast": lambda L, x: x.masked_scatter(x[0, 0] > 0, x.flip(0)),
    "take": lambda L, x: x.take(L.tensor([[0, 23], [-1, 5]])),
    "take_fn": lambda L, x: L.take(x, L.tensor([3, 3])),
    "take_along_dim": lambda L, x: x.take_along_dim(L.tensor([[[0], [2], [1]]]), 2),
    "take_along_dim_bcast": lambda L, x: L.take_along_dim(x, L.tensor([[[0, 1, 1, 0]]]), 1),
    "take_along_none": lambda L, x: x.take_along_dim(L.tensor([[5, 0]])),
    "put": lambda L, x: x.put(L.tensor([0, -1]), x[0, 0, :2] * 5),
    "put_acc": lambda L, x: x.put(L.tensor([1, 1]), x[1, 1, :2], accumulate=True),
    "where": lambda L, x: L.where(x > 0, x, x * 2), "where_scalar": lambda L, x: L.where(x > 0, x, 0.0),
    "where_method": lambda L, x: x.where(x > 0, -x[0]),
}
OPS.update({f"scatter_reduce_{r}_{s}": (lambda L, x, r=r, s=s: x.scatter_reduce(
    1, L.tensor([[[0, 2, 1, 0], [2, 2, 0, 0], [0, 0, 0, 1]]]), x[1:] * 0.5 - 1, r, include_self=s))
    for r in ("sum", "prod", "mean", "amax", "amin") for s in (True, False)})
NOT_DIFF = {"scatter_add_reduce", "scatter_mul_reduce", "scatter_src_reduce"}


@pytest.mark.parametrize("name", list(OPS))
def test_index_ops(name: str) -> None:
    compare(OPS[name], arr(2, 3, 4, layout="t"))
    compare(OPS[name], arr(2, 3, 4))


@pytest.mark.parametrize("name", [n for n in OPS if n not in NOT_DIFF])
def test_index_ops_grads(name: str) -> None:
    grads(OPS[name], RNG.standard_normal((2, 3, 4)), double=not name.startswith("scatter_reduce"),
          numeric=name != "index_copy_dup")   # duplicates: torch's gradient is not the numerical one


@pytest.mark.parametrize("name", ["index_select", "gather", "scatter", "scatter_add", "index_add",
                                  "index_copy", "index_fill", "masked_fill", "masked_select",
                                  "masked_scatter", "take", "put",
                                  "take_along_dim", "scatter_reduce_sum_True", "scatter_reduce_amax_False"])
def test_index_ops_dtypes(name: str) -> None:
    for dt in (I64, B, np.float16):
        if not (dt is B and name in ("index_add", "scatter_add", "scatter_reduce_sum_True", "put")):
            compare(OPS[name], arr(2, 3, 4, dtype=dt))


def test_scatter_reduce_grads_with_ties_and_zeros() -> None:
    x = np.array([[1.0, 0.0, 2.0], [3.0, 2.0, 0.0]])
    src = np.array([[2.0, 0.0, 2.0, 5.0], [0.0, 0.0, 1.0, 3.0]])
    index = np.array([[0, 0, 2, 1], [2, 2, 1, 1]])
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        for include_self in (True, False):
            check_grads(lambda L, a, s, r=reduce, i=include_self: a.scatter_reduce(
                1, L.tensor(index), s, r, include_self=i), x, src)


INPLACE = [
    lambda L, x, s: x.index_add_(0, L.tensor([1, 0]), s[:2] * 2, alpha=-1),
    lambda L, x, s: x.index_copy_(1, L.tensor([0]), s[:, 2:]),
    lambda L, x, s: x.index_fill_(1, L.tensor([1]), 9),
    lambda L, x, s: x.scatter_(1, L.tensor([[2, 0]]), 1.5),
    lambda L, x, s: x.scatter_(0, L.tensor([[2, 0]]), s[:1, :2]),
    lambda L, x, s: x.scatter_add_(1, L.tensor([[2, 2, 2]]), s[:1]),
    lambda L, x, s: x.scatter_reduce_(0, L.tensor([[1, 1]]), s[:1, :2], "amax"),
    lambda L, x, s: x.masked_fill_(x > 0, 0), lambda L, x, s: x.masked_fill_(s[0] > 0, s[1, 1]),
    lambda L, x, s: x.masked_scatter_(s > 0, s * 2), lambda L, x, s: x.put_(L.tensor([0, 5]), s[0, :2]),
    lambda L, x, s: x.put_(L.tensor([0, 0]), s[1, :2], accumulate=True),
    lambda L, x, s: x.index_put_((L.tensor([1]),), s[0]),
    lambda L, x, s: x.index_put_((L.tensor([1, 1]), L.tensor([0, 0])), s[0, :2], accumulate=True),
    # errors
    lambda L, x, s: x.masked_fill_(L.ones(2, 3, 3, dtype=L.bool), 1.0),
    lambda L, x, s: x.index_add_(0, L.tensor([0]), s[:1].double()),
]


@pytest.mark.parametrize("i", range(len(INPLACE)))
def test_inplace_variants(i: int) -> None:
    e = compare(lambda L, x, s: (INPLACE[i](L, x, s), x._version)[::-1], arr(3, 3), arr(3, 3), views=False)
    if e is not None:
        assert e[0] == 1
        grads(lambda L, x, s: INPLACE[i](L, x * 1, s), RNG.standard_normal((3, 3)),
              RNG.standard_normal((3, 3)), double=False)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        INPLACE[i](ember, ember.ones(3, 3, requires_grad=True), ember.ones(3, 3))
    if e is not None:
        with ember.no_grad():
            INPLACE[i](ember, ember.ones(3, 3, requires_grad=True), ember.ones(3, 3))


def test_scatter_reduce_prod_and_max_value_checks() -> None:
    compare(lambda L, x, s: x.scatter(0, L.tensor([[2, 0]]), 2.0, reduce="add"), arr(3, 3), arr(3, 3))
    compare(lambda L, x, s: x.scatter_(0, L.tensor([[2, 0, 2]]), s, reduce="multiply"), arr(3, 3), arr(3, 3))


OP_ERRORS = [
    lambda L, x: x.index_select(0, L.tensor([[0]])), lambda L, x: x.index_select(0, L.tensor([0.0])),
    lambda L, x: x.index_select(0, L.tensor([5])), lambda L, x: x.index_select(0, L.tensor([-1])),
    lambda L, x: x.index_select(2, L.tensor([1])), lambda L, x: x.index_select(0, [0]),
    lambda L, x: x.index_select(0, L.tensor([0], dtype=L.int16)), lambda L, x: x.gather(0, L.tensor([0])),
    lambda L, x: x.gather(0, L.tensor([[5]])), lambda L, x: x.gather(0, L.tensor([[-1]])),
    lambda L, x: x.gather(0, L.zeros(2, 5, dtype=L.int64)),
    lambda L, x: x.gather(1, L.zeros(4, 1, dtype=L.int64)),
    lambda L, x: x.gather(2, L.zeros(1, 1, dtype=L.int64)), lambda L, x: x.gather(0, L.zeros(1, 2)),
    lambda L, x: x.scatter(0, L.tensor([[5]]), 1.0),
    lambda L, x: x.scatter(0, L.zeros(1, 5, dtype=L.int64), L.ones(2, 5)),
    lambda L, x: x.scatter(0, L.zeros(1, 2, dtype=L.int64), L.ones(1, 1)),
    lambda L, x: x.scatter(0, L.zeros(1, 2, dtype=L.int64), L.ones(1, 2, dtype=L.float64)),
    lambda L, x: x.scatter(0, L.zeros(1, 2, dtype=L.int64), 1, reduce="foo"),
    lambda L, x: x.scatter(0, L.zeros(1, 2), 1.0),
    lambda L, x: x.scatter(0, L.zeros(1, 2, dtype=L.int64), 1 + 1j),
    lambda L, x: x.scatter_add(0, L.zeros(1, 2, dtype=L.int64), 1.0),
    lambda L, x: x.scatter_add(0, L.zeros(2, 2, dtype=L.int64), L.ones(1, 2)),
    lambda L, x: x.scatter_reduce(0, L.zeros(1, 2, dtype=L.int64), L.ones(1, 2), "foo"),
    lambda L, x: x.scatter_reduce(0, L.zeros(1, 2, dtype=L.int64), L.ones(1, 2, dtype=L.float64), "sum"),
    lambda L, x: x.index_add(0, L.tensor([0]), L.ones(2, 4)),
    lambda L, x: x.index_add(0, L.tensor([0]), L.ones(1, 5)),
    lambda L, x: x.index_add(0, L.tensor([5]), L.ones(1, 4)),
    lambda L, x: x.index_add(0, L.tensor([0]), L.ones(1, 4, dtype=L.float64)),
    lambda L, x: x.index_add(0, L.tensor([0.0]), L.ones(1, 4)),
    lambda L, x: x.index_add(0, L.tensor([[0]]), L.ones(1, 4)),
    lambda L, x: x.index_add(0, L.tensor(0), L.ones(4)),
    lambda L, x: x.index_copy(0, L.tensor([0]), L.ones(1, 4, dtype=L.float64)),
    lambda L, x: x.index_copy(0, L.tensor([5]), L.ones(1, 4)),
    lambda L, x: x.index_copy(0, L.tensor([0]), L.ones(2, 4)),
    lambda L, x: x.index_copy(0, L.tensor([0], dtype=L.int32), L.ones(1, 4)),
    lambda L, x: x.index_copy(0, L.tensor([[0]]), L.ones(1, 4)),
    lambda L, x: x.index_copy(0, L.tensor([0]), L.ones(1, 5)),
    lambda L, x: x.index_fill(0, L.tensor([0]), L.tensor([1.0])),
    lambda L, x: x.index_fill(0, L.tensor([5]), 1.0), lambda L, x: x.index_fill(0, L.tensor([[0]]), 1.0),
    lambda L, x: x.index_fill(0, L.tensor([0], dtype=L.int32), 1.0),
    lambda L, x: x.index_fill(0, L.tensor([0]), 1j),
    lambda L, x: x.masked_fill(L.ones(3, 4, dtype=L.uint8), 1.0),
    lambda L, x: x.masked_fill(L.ones(3, 4, dtype=L.int64), 1.0),
    lambda L, x: x.masked_fill(L.ones(4, dtype=L.bool), L.tensor([1.0])),
    lambda L, x: x.masked_fill(L.ones(5, dtype=L.bool), 1.0),
    lambda L, x: x.masked_fill_(L.ones(2, 3, 4, dtype=L.bool), 1.0),
    lambda L, x: x.masked_fill_(L.ones(3, dtype=L.bool), 1j),
    lambda L, x: x.masked_select(L.ones(4, dtype=L.uint8)),
    lambda L, x: x.masked_select(L.ones(5, dtype=L.bool)),
    lambda L, x: x.masked_scatter(L.ones(4, dtype=L.bool), L.arange(5.0)),
    lambda L, x: x.masked_scatter(L.ones(4, dtype=L.bool), L.arange(12)),
    lambda L, x: x.masked_scatter(L.ones(4, dtype=L.uint8), L.arange(12.0)),
    lambda L, x: x.take(L.tensor([12])),
    lambda L, x: x.take(L.tensor([-13])), lambda L, x: x.take(L.tensor([0.0])),
    lambda L, x: x.take(L.tensor([0], dtype=L.int32)),
    lambda L, x: x.take_along_dim(L.tensor([[0], [1]]), 1), lambda L, x: x.take_along_dim(L.tensor([0]), 0),
    lambda L, x: x.take_along_dim(L.tensor([[0.0]]), 0), lambda L, x: x.put(L.tensor([12]), L.tensor([5.0])),
    lambda L, x: x.put(L.tensor([0, 1]), L.tensor([5.0])), lambda L, x: x.put(L.tensor([0]), L.tensor([5])),
    lambda L, x: x.put(L.tensor([0.0]), L.tensor([1.0])), lambda L, x: L.where(L.tensor([1, 0]), 1.0, 2.0),
    lambda L, x: L.where(L.ones(5, dtype=L.bool), x, 0.0),
]


@pytest.mark.parametrize("i", range(len(OP_ERRORS)))
def test_index_op_errors(i: int) -> None:
    assert compare(OP_ERRORS[i], arr(3, 4)) is None


def test_scatter_reduce_integers_and_zero_size() -> None:
    for r in ("sum", "prod", "mean", "amax", "amin"):
        for s in (True, False):
            compare(lambda L, x, r=r, s=s: x.scatter_reduce(0, L.tensor([[0, 0], [0, 1]]),
                                                             L.tensor([[3, 4], [4, 4]]), r, include_self=s),
                    np.arange(8).reshape(2, 4))
    compare(lambda L, x: x.gather(1, L.zeros(0, 2, dtype=L.int64)), arr(3, 4))
    compare(lambda L, x: x.index_select(1, L.tensor([0, 0])), arr(0, 3))
    compare(lambda L, x: x.scatter(0, L.zeros(0, 3, dtype=L.int64), 1.0), arr(2, 3))
    compare(lambda L, x: x.masked_select(x > 10), arr(2, 3))
    compare(lambda L, x: (x.gather(0, L.tensor(0)), x.index_select(0, L.tensor([0])),
                          x.take(L.tensor([0, 0]))), arr())


def test_out_arguments() -> None:
    a = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    for fn in (lambda L, x, o: L.index_select(x, 1, L.tensor([0, 3]), out=o),
               lambda L, x, o: L.gather(x, 0, L.tensor([[2, 0]]), out=o),
               lambda L, x, o: L.masked_select(x, x > 4, out=o),
               lambda L, x, o: L.take_along_dim(x, L.tensor([[1], [0], [2]]), 1, out=o),
               lambda L, x, o: L.where(x > 4, x, -x, out=o)):
        outs = []
        for L in (ember, torch):
            o = L.empty(0)
            r = fn(L, L.tensor(a), o)
            assert r is o
            outs.append(o)
        assert_close(*outs)
    o_e, o_t = ember.empty(0, dtype=ember.int64), torch.empty(0, dtype=torch.int64)
    ember.nonzero(ember.tensor(a), out=o_e)
    torch.nonzero(torch.tensor(a), out=o_t)
    assert_close(o_e, o_t)


def test_nonzero_argwhere_where() -> None:
    for shape, dt in (((3, 4), F), ((2, 3, 2), I64), ((5,), B), ((), F), ((0, 3), F)):
        a = arr(*shape, dtype=dt)
        a.a = np.where(np.abs(a.a) > 1, a.a, 0).astype(dt) if dt is not B else a.a
        compare(lambda L, x: x.nonzero(), a)
        compare(lambda L, x: L.nonzero(x, as_tuple=True), a)
        compare(lambda L, x: L.argwhere(x), a)
        compare(lambda L, x: L.where(x), a)
    compare(lambda L, x: L.where(x > 0, 1, 2.5), arr(3))
    compare(lambda L, x: L.where(x > 0, x, L.tensor(1, dtype=L.int64)), arr(3))
    compare(lambda L, x: L.where(x > 0, x.double(), x), arr(2, 3))


def test_grad_fn_names() -> None:
    x = ember.ones(3, 4, requires_grad=True)
    i = ember.tensor([0, 2])
    m = x > 0
    names = {"IndexBackward0": x[i], "IndexSelectBackward0": x.index_select(0, i),
             "GatherBackward0": x.gather(0, i[None]), "ScatterBackward0": x.scatter(0, i[None], x),
             "ScatterBackward1": x.scatter(0, i[None], 1.0),
             "ScatterAddBackward0": x.scatter_add(0, i[None], x),
             "ScatterReduceBackward0": x.scatter_reduce(0, i[None], x, "sum"),
             "IndexAddBackward0": x.index_add(0, i, x[:2]), "IndexCopyBackward0": x.index_copy(0, i, x[:2]),
             "IndexFillBackward0": x.index_fill(0, i, 1.0),
             "IndexFillBackward1": x.index_fill(0, i, ember.tensor(1.0, requires_grad=True)),
             "IndexPutBackward0": x.index_put((i,), x[0]), "MaskedFillBackward0": x.masked_fill(m, 1.0),
             "MaskedFillBackward1": x.masked_fill(m, ember.tensor(1.0)),
             "MaskedSelectBackward0": x.masked_select(m),
             "MaskedScatterBackward0": x.masked_scatter(m, x), "TakeBackward0": x.take(i),
             "PutBackward0": x.put(i, x[0, :2]), "WhereBackward0": ember.where(m, x, 0.0),
             "NotImplemented": x.scatter(0, i[None], 1.0, reduce="add"), "AliasBackward0": x[...],
             "SliceBackward0": x[:], "UnsqueezeBackward0": x[0, None], "SelectBackward0": x[None, 0]}
    for name, t in names.items():
        assert type(t.grad_fn).__name__ == name, name
    t = x.take_along_dim(ember.tensor([[0, 2, 1, 0]]), 0)
    assert type(t.grad_fn.next_functions[0][0]).__name__ == "ExpandBackward0"
    with pytest.raises(RuntimeError, match="derivative for aten::scatter is not implemented"):
        names["NotImplemented"].sum().backward()
    assert type(x[0, i].grad_fn.next_functions[0][0]).__name__ == "SelectBackward0"


def test_warnings() -> None:
    x = arr(2, 3, 4)
    compare(lambda L, t: t[:, L.tensor([1, 0, 1], dtype=L.uint8)], x)
    compare(lambda L, t: t[[[0, 1], [1, 0]]], x)
    compare(lambda L, t: t[[0, None]], x)


def test_multiply_segments_matches_ufunc_at() -> None:
    """The CuPy path of ``scatter(reduce='multiply')`` (no ``multiply.at`` there), run on NumPy."""
    lin = RNG.integers(0, 7, 50)
    vals = RNG.standard_normal(50)
    want = np.ones(7)
    np.multiply.at(want, lin, vals)
    got = np.ones(7)
    IX.multiply_segments(np, got, lin, vals)
    np.testing.assert_allclose(got, want)


def test_big_index_ops_against_torch() -> None:
    x = RNG.standard_normal((50, 40)).astype(np.float32)
    ix = RNG.integers(-50, 50, (30,))
    g = RNG.integers(0, 50, (60, 40))
    compare(lambda L, a: (a[L.tensor(ix)], a.gather(0, L.tensor(g)),
                          a.index_add(0, L.tensor(g[:, 0]), a[:1].expand(60, 40)),
                          a.scatter_reduce(0, L.tensor(g), a[:1].expand(60, 40) + 1, "prod")), x)
    assert_close(ember.tensor(x)[ember.tensor(ix) % 50], torch.tensor(x)[torch.tensor(ix) % 50])


def _random_key(rng: np.random.Generator) -> list:
    """A random mix of ints, slices, None, ..., lists, tensors, masks and bools (some invalid)."""
    choices = [lambda: int(rng.integers(-3, 3)), lambda: None, lambda: Ellipsis,
               lambda: bool(rng.integers(2)),
               lambda: slice(*rng.choice([None, 0, 1, -2, 2, 5, -1], 2).tolist(), rng.choice([None, 1, 2])),
               lambda: rng.integers(-2, 2, int(rng.integers(0, 3))).tolist(),
               lambda: ("tensor", rng.integers(-2, 2, (int(rng.integers(1, 3)),)).tolist()),
               lambda: ("tensor", int(rng.integers(-2, 2))),
               lambda: ("mask", rng.integers(0, 2, [(2,), (2, 3), (3,)][int(rng.integers(3))]) > 0)]
    return [choices[int(rng.integers(len(choices)))]() for _ in range(int(rng.integers(1, 4)))]


def _key_for(L: Any, items: list) -> tuple:
    return tuple(L.tensor(np.asarray(k[1])) if isinstance(k, tuple) else k for k in items)


def test_random_keys_match_torch() -> None:
    """Seeded random keys: getitem (values, view-ness, strides, errors) and setitem agree with torch."""
    rng = np.random.default_rng(7)
    for _ in range(250):
        items = _random_key(rng)
        compare(lambda L, x, items=items: x[_key_for(L, items)], arr(2, 3, 4))
        compare(lambda L, x, items=items: setv(x, _key_for(L, items), -1.0), arr(2, 3, 4), views=False)


# ---- index_put_ vs x[key] = v: value shapes and dtypes, torch's order of errors ---------------------------
PUT_INDICES = {
    "mask2d": lambda L: (L.tensor([[True, False, True, False]] * 3),),
    "mask_wrong_shape": lambda L: (L.tensor([True, False, True, False]),),
    "mask_rows": lambda L: (L.tensor([True, False, True]),),
    "ints": lambda L: (L.tensor([0, 2]),),
    "int_pairs": lambda L: (L.tensor([0, 2]), L.tensor([1, 1])),
}
PUT_VALUES = {
    "0d_float32": lambda L: L.tensor(2.0),
    "1elem_float32": lambda L: L.tensor([2.0]),
    "0d_int64": lambda L: L.tensor(2),
    "1x1_float32": lambda L: L.tensor([[2.0]]),
    "0d_complex": lambda L: L.tensor(2.0 + 1j),
    "2x4_float32": lambda L: L.ones(2, 4),
    "1x1_float64": lambda L: L.ones(1, 1, dtype=L.float64),
    "1x2_float64": lambda L: L.ones(1, 2, dtype=L.float64),
    "1x1x4_float64": lambda L: L.ones(1, 1, 4, dtype=L.float64),
    "row_float64": lambda L: L.ones(4, dtype=L.float64),
}
PUT_WAYS = {
    "index_put_": lambda y, i, v: y.index_put_(i, v),
    "index_put_acc": lambda y, i, v: y.index_put_(i, v, accumulate=True),
    "index_put": lambda y, i, v: y.index_put(i, v),
    "setitem": lambda y, i, v: y.__setitem__(i, v),
}


@pytest.mark.parametrize("way", PUT_WAYS)
@pytest.mark.parametrize("value", PUT_VALUES)
@pytest.mark.parametrize("index", PUT_INDICES)
def test_index_put_values(index: str, value: str, way: str) -> None:
    """Through one boolean mask a one-element value is a masked fill of its number (any dtype, any shape,
    not accumulating); otherwise index_put_ needs equal dtypes and a value that broadcasts as is, while
    ``x[key] = v`` drops v's leading 1-dims. Errors come in torch's order: mask, shape, dtype."""
    def run(L: Any) -> Any:
        y = L.zeros(3, 4, dtype=L.float64)
        out = PUT_WAYS[way](y, PUT_INDICES[index](L), PUT_VALUES[value](L))
        return y if out is None else out
    try:
        expected = run(torch)
    except (RuntimeError, IndexError):
        assert_same_error(lambda: run(ember), lambda: run(torch))
    else:
        assert_close(run(ember), expected)
