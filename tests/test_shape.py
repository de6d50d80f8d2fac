"""Joining and rearranging ops against torch: cat/stack family, repeat/tile/repeat_interleave,
flip/roll/rot90, narrow_copy, the *_scatter ops, meshgrid and atleast_nd — values, dtypes, errors and
gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import ember
from oracle import assert_close, torch
from test_views import RNG, arr, compare, grads

F, D, I64, I32, B = np.float32, np.float64, np.int64, np.int32, np.bool_

# ---- cat / stack ---------------------------------------------------------------------------------------
JOIN = {
    "cat0": lambda L, a, b: L.cat([a, b]), "cat1": lambda L, a, b: L.cat((a, b), dim=1),
    "cat_neg": lambda L, a, b: L.cat([a, b, a], -1), "cat_axis": lambda L, a, b: L.cat([a, b], axis=2),
    "stack_axis": lambda L, a, b: L.stack([a, b], axis=1), "concat": lambda L, a, b: L.concat([a, b], 2),
    "concatenate": lambda L, a, b: L.concatenate([a, b], axis=1), "stack": lambda L, a, b: L.stack([a, b]),
    "stack_last": lambda L, a, b: L.stack((a, b), -1), "stack_mid": lambda L, a, b: L.stack([a, b, a], 1),
    "hstack": lambda L, a, b: L.hstack([a, b]), "vstack": lambda L, a, b: L.vstack([a, b]),
    "row_stack": lambda L, a, b: L.row_stack((a, b)), "dstack": lambda L, a, b: L.dstack([a, b]),
    "column_stack": lambda L, a, b: L.column_stack([a[0], b[0]]),
    "hstack_1d": lambda L, a, b: L.hstack([a[0, 0], b[0, 0]]),
    "vstack_1d": lambda L, a, b: L.vstack([a[0, 0], b[0, 0]]),
    "dstack_1d": lambda L, a, b: L.dstack([a[0, 0], b[0, 0]]),
    "dstack_2d": lambda L, a, b: L.dstack([a[0], b[0]]),
    "column_stack_1d": lambda L, a, b: L.column_stack([a[0, 0], b[0, 0], a[0].mT]),
    "hstack_0d": lambda L, a, b: L.hstack([a[0, 0, 0], b[0, 0]]),
    "vstack_0d": lambda L, a, b: L.vstack([a[0, 0, :1], b[0, 0, 0]]),
    "stack_0d": lambda L, a, b: L.stack([a[0, 0, 0], b[1, 1, 1]]),
}


@pytest.mark.parametrize("layout", ["c", "t", "s"])
@pytest.mark.parametrize("name", list(JOIN))
def test_join(name: str, layout: str) -> None:
    compare(JOIN[name], arr(2, 3, 4, layout=layout), arr(2, 3, 4))


@pytest.mark.parametrize("dtypes", [(F, D), (I32, I64), (B, I32), (np.uint8, np.int8), (I64, F), (B, B),
                                    (np.complex64, D), (np.float16, F)])
def test_join_promotes(dtypes: tuple) -> None:
    for fn in (JOIN["cat1"], JOIN["stack"], JOIN["hstack"], JOIN["dstack"]):
        compare(fn, arr(2, 3, 4, dtype=dtypes[0]), arr(2, 3, 4, dtype=dtypes[1]))


@pytest.mark.parametrize("fn", [
    lambda L: L.cat([L.ones(2, 3), L.ones(0)]), lambda L: L.cat([L.ones(0), L.ones(2, 3)], 1),
    lambda L: L.cat([L.ones(0), L.ones(0)]), lambda L: L.cat([L.ones(0, dtype=L.int64), L.ones(0)]),
    lambda L: L.cat([L.ones(2, 0), L.ones(3, 0)]), lambda L: L.stack([L.ones(0, 2), L.ones(0, 2)], 1),
    lambda L: L.cat([L.ones(2, dtype=L.int32), L.ones(2, dtype=L.uint8)]),
    lambda L: L.cat([L.arange(3)], 0), lambda L: L.cat([L.ones(2, 3)] * 5, 1),
    # errors
    lambda L: L.cat([]), lambda L: L.cat(L.ones(2)), lambda L: L.cat([L.ones(2), 1]),
    lambda L: L.cat([L.ones(2, 3, 4), L.ones(2, 3)]), lambda L: L.cat([L.ones(2, 3, 4), L.ones(2, 3, 5)]),
    lambda L: L.cat([L.ones(()), L.ones(())]), lambda L: L.cat([L.ones(0), L.ones(())]),
    lambda L: L.cat([L.ones(2, 3)], 2), lambda L: L.cat([L.ones(2, 0), L.ones(3, 1)]),
    lambda L: L.cat([L.ones(0, 3), L.ones(2, 4)]), lambda L: L.stack([]), lambda L: L.stack(L.ones(2)),
    lambda L: L.stack([L.ones(2, 3), L.ones(2)]), lambda L: L.stack([L.ones(2), L.ones(2)], 2),
    lambda L: L.hstack([]), lambda L: L.vstack([]), lambda L: L.dstack([]), lambda L: L.column_stack([]),
    lambda L: L.hstack(L.ones(2)), lambda L: L.vstack([L.ones(3), L.ones(4)]),
])
def test_join_edge_cases(fn: Callable) -> None:
    compare(fn)


def test_cat_out() -> None:
    out_e, out_t = ember.empty(0), torch.empty(0)
    a = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    ember.cat([ember.tensor(a), ember.tensor(a)], out=out_e)
    torch.cat([torch.tensor(a), torch.tensor(a)], out=out_t)
    assert_close(out_e, out_t)
    out_e, out_t = ember.empty(0), torch.empty(0)
    ember.stack([ember.tensor(a)] * 2, out=out_e)
    torch.stack([torch.tensor(a)] * 2, out=out_t)
    assert_close(out_e, out_t)


# ---- repeat / tile / repeat_interleave / flip / roll / rot90 / narrow_copy --------------------------------
REARRANGE = {
    "repeat": lambda L, x: x.repeat(2, 1, 3), "repeat_new_dims": lambda L, x: x.repeat(2, 1, 1, 2),
    "repeat_tuple": lambda L, x: x.repeat((1, 2, 1)), "repeat_zero": lambda L, x: x.repeat(0, 1, 1),
    "tile": lambda L, x: x.tile(2), "tile_fn": lambda L, x: L.tile(x, (2, 1, 1, 2)),
    "tile_empty": lambda L, x: x.tile(()),
    "ri_int": lambda L, x: x.repeat_interleave(2), "ri_dim": lambda L, x: x.repeat_interleave(3, dim=1),
    "ri_neg_dim": lambda L, x: L.repeat_interleave(x, 2, -1),
    "ri_zero": lambda L, x: x.repeat_interleave(0, 1),
    "ri_out_size": lambda L, x: x.repeat_interleave(2, dim=0, output_size=4),
    "ri_tensor": lambda L, x: x.repeat_interleave(L.tensor([1, 0, 2]), dim=1),
    "ri_tensor32": lambda L, x: x.repeat_interleave(L.tensor([2, 1], dtype=L.int32), dim=0, output_size=3),
    "ri_tensor_0d": lambda L, x: x.repeat_interleave(L.tensor(2), dim=2),
    "ri_tensor_1": lambda L, x: x.repeat_interleave(L.tensor([3]), dim=0),
    "flip": lambda L, x: x.flip(0), "flip_dims": lambda L, x: L.flip(x, (0, 2)),
    "flip_list": lambda L, x: x.flip([-1]),
    "flip_none": lambda L, x: x.flip(()), "fliplr": lambda L, x: x.fliplr(),
    "flipud": lambda L, x: L.flipud(x),
    "roll": lambda L, x: x.roll(1), "roll_dim": lambda L, x: x.roll(-2, 1),
    "roll_dims": lambda L, x: L.roll(x, (1, 5), (0, 2)),
    "roll_tensor": lambda L, x: x.roll(L.tensor(2), 2), "roll_big": lambda L, x: x.roll(-25),
    "rot90": lambda L, x: x.rot90(), "rot90_2": lambda L, x: x.rot90(2),
    "rot90_3": lambda L, x: L.rot90(x, 3, (1, 2)),
    "rot90_0": lambda L, x: x.rot90(0), "rot90_neg": lambda L, x: x.rot90(-1, (2, 0)),
    "rot90_5": lambda L, x: x.rot90(5, [0, 2]),
    "narrow_copy": lambda L, x: x.narrow_copy(1, 1, 2),
    "narrow_copy_neg": lambda L, x: L.narrow_copy(x, -1, -3, 2),
    "narrow_copy_t": lambda L, x: x.narrow_copy(0, L.tensor(1), 1),
}


@pytest.mark.parametrize("layout", ["c", "t"])
@pytest.mark.parametrize("name", list(REARRANGE))
def test_rearrange(name: str, layout: str) -> None:
    compare(REARRANGE[name], arr(2, 3, 4, layout=layout))


@pytest.mark.parametrize("name", ["repeat", "tile", "ri_dim", "ri_tensor", "flip_dims", "roll_dims", "rot90",
                                  "narrow_copy"])
def test_rearrange_dtypes_and_expanded(name: str) -> None:
    for dt in (I64, B, np.complex128, np.float16):
        compare(REARRANGE[name], arr(2, 3, 4, dtype=dt))
    compare(REARRANGE[name], arr(2, 3, 4, layout="e"))


@pytest.mark.parametrize("fn", [
    lambda L, x: x.repeat(2, 2), lambda L, x: x.tile(3), lambda L, x: x.repeat_interleave(2),
    lambda L, x: x.repeat_interleave(L.tensor([1, 2, 0, 1, 1]), dim=1), lambda L, x: x.flip(0, 1),
    lambda L, x: x.roll(3, 1), lambda L, x: x.roll(2), lambda L, x: x.rot90(),
    lambda L, x: x.narrow_copy(0, 0, 0),
])
def test_rearrange_zero_size(fn: Callable) -> None:
    compare(fn, arr(0, 5))


@pytest.mark.parametrize("fn", [
    lambda L, x: x.repeat(()), lambda L, x: x.repeat(3), lambda L, x: x.tile(()), lambda L, x: x.tile((2, 2)),
    lambda L, x: x.repeat_interleave(3), lambda L, x: x.repeat_interleave(L.tensor([2])),
    lambda L, x: x.flip(0),
    lambda L, x: x.flip(()), lambda L, x: x.roll(1), lambda L, x: x.roll(1, 0), lambda L, x: x.flipud(),
    lambda L, x: x.rot90(),
])
def test_rearrange_zero_dim(fn: Callable) -> None:
    compare(fn, np.array(2.5, np.float32))


REARRANGE_ERRORS = [
    lambda L, x: x.repeat(2), lambda L, x: x.repeat(), lambda L, x: x.repeat(-1, 1, 1),
    lambda L, x: x.repeat(2, 1.0, 1),
    lambda L, x: x.tile(-1), lambda L, x: x.repeat_interleave(-1), lambda L, x: x.repeat_interleave(2, dim=3),
    lambda L, x: x.repeat_interleave(L.tensor([1, 2, 3]), dim=0),
    lambda L, x: x.repeat_interleave(L.tensor([1, -2]), dim=0),
    lambda L, x: x.repeat_interleave(L.tensor([1.0, 2.0]), dim=0),
    lambda L, x: x.repeat_interleave(L.tensor([[2]]), dim=0),
    lambda L, x: L.repeat_interleave(L.tensor([[1, 2]])),
    lambda L, x: x.repeat_interleave(L.tensor([1, 2]), dim=0, output_size=4),
    lambda L, x: x.repeat_interleave(2, dim=0, output_size=5),
    lambda L, x: x.repeat_interleave(L.tensor([1, 2])),
    lambda L, x: x.flip(3), lambda L, x: x.flip((0, 0)), lambda L, x: x.flip(0.0),
    lambda L, x: L.ones(3).fliplr(),
    lambda L, x: L.ones(()).flipud(), lambda L, x: x.roll(1, (0, 1)), lambda L, x: x.roll((1, 2)),
    lambda L, x: x.roll((1, 2), (0,)), lambda L, x: x.roll(1, 5), lambda L, x: x.roll(()),
    lambda L, x: L.ones(()).roll(1, 0),
    lambda L, x: x.rot90(1, (0, 0)), lambda L, x: x.rot90(1, (0,)), lambda L, x: x.rot90(1, (0, 5)),
    lambda L, x: x.rot90(1, (0, -3)), lambda L, x: L.ones(3).rot90(), lambda L, x: x.narrow_copy(0, 1, 2),
    lambda L, x: x.narrow_copy(0, -3, 1), lambda L, x: x.narrow_copy(0, 0, -1),
]


@pytest.mark.parametrize("i", range(len(REARRANGE_ERRORS)))
def test_rearrange_errors(i: int) -> None:
    assert compare(REARRANGE_ERRORS[i], arr(2, 3, 4)) is None


def test_repeat_indices() -> None:
    for r in ([1, 2, 3], [0, 0], [], [4]):
        compare(lambda L, r=r: L.repeat_interleave(L.tensor(r, dtype=L.int64)))
    compare(lambda L: L.repeat_interleave(L.tensor([1, 2], dtype=L.int32)))
    compare(lambda L: L.repeat_interleave(L.tensor([1, 2]), output_size=3))


# ---- *_scatter ----------------------------------------------------------------------------------------
SCATTERS = {
    "diagonal": lambda L, x, s: x.diagonal_scatter(s[0, :2].mT, 0, 0, 1),
    "diagonal_off": lambda L, x, s: L.diagonal_scatter(x, s[:, :3, 0], 1, 1, 2),
    "diagonal_neg": lambda L, x, s: x.diagonal_scatter(s[:, :, 1], -1, -1, 1),
    "select": lambda L, x, s: x.select_scatter(s[0], 0, 1),
    "select_neg": lambda L, x, s: L.select_scatter(x, s[:, 0], 1, -1),
    "slice": lambda L, x, s: x.slice_scatter(s[:, :2], 1, 1),
    "slice_step": lambda L, x, s: x.slice_scatter(s[..., :2], 2, None, None, 2),
    "slice_all": lambda L, x, s: L.slice_scatter(x, s),
    "slice_clamp": lambda L, x, s: x.slice_scatter(s, 2, -10, 10),
    "slice_empty": lambda L, x, s: x.slice_scatter(s[..., :0], 2, 5),
}


@pytest.mark.parametrize("name", list(SCATTERS))
def test_view_scatters(name: str) -> None:
    compare(SCATTERS[name], arr(2, 3, 4, layout="t"), arr(2, 3, 4))
    compare(SCATTERS[name], arr(2, 3, 4, dtype=I64), arr(2, 3, 4, dtype=F))   # src is cast to input's dtype
    grads(SCATTERS[name], RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 3, 4)))


@pytest.mark.parametrize("fn", [
    lambda L, x: x.diagonal_scatter(L.ones(3), 0, 1, 1), lambda L, x: x[0].diagonal_scatter(L.ones(2)),
    lambda L, x: L.ones(3, 3).diagonal_scatter(L.ones(1, 2)),
    lambda L, x: x.select_scatter(L.ones(3, 5), 0, 0),
    lambda L, x: x.select_scatter(L.ones(3, 4), 0, 2), lambda L, x: x.select_scatter(L.ones(1, 4), 0, 0),
    lambda L, x: x.slice_scatter(L.ones(1, 3, 4)), lambda L, x: x.slice_scatter(L.ones(2, 3, 2), 2, 0, 4, -1),
    lambda L, x: x.slice_scatter(L.ones(2, 3, 2), 2, 0, 4, 0),
])
def test_view_scatter_errors(fn: Callable) -> None:
    assert compare(fn, arr(2, 3, 4)) is None


# ---- meshgrid / atleast_nd ------------------------------------------------------------------------------
def test_meshgrid() -> None:
    a, b, c = arr(2), arr(3), arr(4)
    for indexing in ("ij", "xy"):
        compare(lambda L, x, y, i=indexing: L.meshgrid(x, y, indexing=i), a, b)
        compare(lambda L, x, y, z, i=indexing: L.meshgrid([x, y, z], indexing=i), a, b, c)
        compare(lambda L, x, i=indexing: L.meshgrid(x, indexing=i), a)
        compare(lambda L, x, y, i=indexing: L.meshgrid(x[0], y, indexing=i), a, b)
    ember.ops.views._WARNED.discard("torch.meshgrid: in an upcoming release, it will be required to pass "
                                    "the indexing argument.")
    compare(lambda L, x, y: L.meshgrid(x, y), a, b)
    for fn in (lambda L, x, y: L.meshgrid(x, y.double(), indexing="ij"),
               lambda L, x, y: L.meshgrid(indexing="ij"), lambda L, x, y: L.meshgrid(x, indexing="foo")):
        assert compare(fn, a, b) is None
    with pytest.raises(RuntimeError, match="Expected 0D or 1D tensor in the tensor list"):
        ember.meshgrid(ember.ones(2, 2), indexing="ij")
    grads(lambda L, x, y: L.meshgrid(x, y, indexing="xy"), RNG.standard_normal(2), RNG.standard_normal(3))


@pytest.mark.parametrize("name", ["atleast_1d", "atleast_2d", "atleast_3d"])
def test_atleast(name: str) -> None:
    for shape in [(), (3,), (2, 3), (2, 3, 4), (1, 2, 3, 4)]:
        compare(lambda L, x: getattr(L, name)(x), arr(*shape))
        grads(lambda L, x: getattr(L, name)(x), RNG.standard_normal(shape))
    compare(lambda L, x, y: getattr(L, name)(x, y), arr(), arr(3))
    compare(lambda L, x, y: getattr(L, name)([x, y]), arr(2, 3), arr(3))
    compare(lambda L, x: getattr(L, name)((x,)), arr())
    assert getattr(ember, name)() == ()
    x = ember.ones(2, 3, 4, 5)
    assert getattr(ember, name)(x) is x
    with pytest.raises(TypeError):
        getattr(ember, name)(1)


# ---- gradients -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(JOIN))
def test_join_grads(name: str) -> None:
    grads(lambda L, a, b: JOIN[name](L, a.transpose(0, 2), b), RNG.standard_normal((4, 3, 2)),
          RNG.standard_normal((2, 3, 4)))


def test_join_grads_mixed() -> None:
    grads(lambda L, a, b: L.cat([a, L.ones(0, dtype=L.float64), b], 1), RNG.standard_normal((2, 3)),
          RNG.standard_normal((2, 1)))
    grads(lambda L, a, b: L.stack([a, b * 2, a]), RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3)))
    # inputs that do not require grad get no gradient, the others theirs
    for lib in (ember, torch):
        a = lib.ones(2, 3, dtype=lib.float64, requires_grad=True)
        lib.cat([a, lib.zeros(2, 3, dtype=lib.float64)]).sum().backward()
        assert a.grad.sum().item() == 6


@pytest.mark.parametrize("name", [n for n in REARRANGE if not n.startswith("narrow_copy_t")])
def test_rearrange_grads(name: str) -> None:
    grads(REARRANGE[name], RNG.standard_normal((2, 3, 4)))


def test_rearrange_grads_noncontiguous() -> None:
    for name in ("repeat", "ri_tensor", "flip_dims", "roll_dims", "rot90_3", "roll"):
        grads(lambda L, x, n=name: REARRANGE[n](L, x.permute(2, 1, 0)), RNG.standard_normal((4, 3, 2)))


def test_grad_fn_names() -> None:
    x = ember.ones(2, 3, requires_grad=True)
    names = {"CatBackward0": ember.cat([x, x]), "StackBackward0": ember.stack([x, x]),
             "RepeatBackward0": x.repeat(2, 1), "FlipBackward0": x.flip(0), "RollBackward0": x.roll(1),
             "Rot90Backward0": x.rot90(), "NarrowCopyBackward0": x.narrow_copy(0, 0, 1),
             "IndexSelectBackward0": x.repeat_interleave(ember.tensor([1, 2]), dim=0),
             "ViewBackward0": x.repeat_interleave(2),
             "DiagonalScatterBackward0": x.diagonal_scatter(ember.ones(2)),
             "SelectScatterBackward0": x.select_scatter(ember.ones(3), 0, 0),
             "SliceScatterBackward0": x.slice_scatter(ember.ones(1, 3), 0, 0, 1),
             "ExpandBackward0": ember.meshgrid(x[0], x[1], indexing="ij")[0]}
    for name, t in names.items():
        assert type(t.grad_fn).__name__ == name
    assert type(x.repeat_interleave(2).grad_fn.next_functions[0][0]).__name__ == "CloneBackward0"
    assert type(x.tile(2).grad_fn).__name__ == "RepeatBackward0"
    assert type(ember.hstack([x, x]).grad_fn).__name__ == "CatBackward0"
    assert type(ember.atleast_3d(x[0]).grad_fn).__name__ == "UnsqueezeBackward0"


def test_cat_and_stack_results_are_contiguous_as_torch() -> None:
    """cat/stack (and the h/v/d/column stacks) of transposed inputs give contiguous results, as torch's
    (NumPy would keep the inputs' Fortran order); 4-d/5-d channels-last inputs keep their format."""
    def strides(L: Any) -> list:
        fortran = [L.ones(8, 2).t().contiguous().t() for _ in range(3)]
        cl = [L.ones(2, 3, 4, 4).contiguous(memory_format=L.channels_last) for _ in range(2)]
        return [L.stack(fortran, 1).stride(), L.stack(fortran).stride(), L.cat(fortran).stride(),
                L.cat(fortran, 1).stride(), L.hstack(fortran).stride(), L.vstack(fortran).stride(),
                L.dstack(fortran).stride(), L.column_stack(fortran).stride(), L.cat(cl, 1).stride(),
                L.stack(cl).stride(), L.cat([cl[0], L.ones(2, 3, 4, 4)]).stride()]
    assert strides(ember) == strides(torch)
