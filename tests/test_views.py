"""View operators against torch: values, dtypes, shapes, strides, errors, memory sharing, gradients.

Also holds the comparison harness the shape and indexing tests share (``compare``, ``grads``, ``Arr``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import ember
from oracle import assert_close, check_grads, torch

RNG = np.random.default_rng(0)


class Arr:
    """An input array with a memory layout: ``c`` contiguous, ``t`` transposed storage, ``s`` a strided
    slice of a bigger buffer, ``e`` expanded from its first element along the last dim."""

    def __init__(self, a: np.ndarray, layout: str = "c") -> None:
        self.a, self.layout = a, layout

    def make(self, lib: Any, requires_grad: bool = False) -> Any:
        a = self.a
        if self.layout == "t":
            t = lib.tensor(np.ascontiguousarray(a.T)).permute(*reversed(range(a.ndim)))
        elif self.layout == "s":
            big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
            big[..., ::2] = a
            t = lib.tensor(big)[..., ::2]
        elif self.layout == "e":
            t = lib.tensor(np.ascontiguousarray(a[..., :1])).expand(a.shape)
        else:
            t = lib.tensor(a)
        return t.requires_grad_() if requires_grad else t


def arr(*shape: int, dtype: Any = np.float32, layout: str = "c") -> Arr:
    a = RNG.standard_normal(shape) * 3
    return Arr(a.astype(dtype) if np.dtype(dtype).kind != "b" else a > 0, layout)


def _inputs(lib: Any, args: tuple) -> list:
    return [a.make(lib) if isinstance(a, Arr) else lib.tensor(a) if isinstance(a, np.ndarray) else a
            for a in args]


def _pairs(e: Any, t: Any) -> list[tuple[Any, Any]]:
    if isinstance(t, torch.Tensor):
        return [(e, t)]
    return [p for x, y in zip(e, t, strict=True) for p in _pairs(x, y)]


def _roots(inputs: list) -> set[int]:
    return {id(x._base if x._base is not None else x) for x in inputs if hasattr(x, "_base")}


def compare(fn: Callable, *args: Any, views: bool = True) -> Any:
    """``fn(lib, *inputs)`` under ember and torch: the same exception and message, or the same values,
    dtypes and shapes; views (``_base`` set in torch) must be views in ember with torch's strides."""
    t_in, e_in = _inputs(torch, args), _inputs(ember, args)
    with warnings.catch_warnings(record=True) as tw:
        warnings.simplefilter("always")
        try:
            t_out = fn(torch, *t_in)
        except Exception as te:
            with pytest.raises(Exception) as ee:
                fn(ember, *e_in)
            assert type(ee.value).__name__ == type(te).__name__, (ee.value, te)
            cut = "\nException raised from"   # torch appends a C++ traceback to some messages
            assert str(ee.value).split(cut)[0] == str(te).split(cut)[0]
            return None
    with warnings.catch_warnings(record=True) as ew:
        warnings.simplefilter("always")
        e_out = fn(ember, *e_in)
    # torch warns some deprecations once per process: each torch warning must come from ember too
    assert {str(w.message).split(" (Triggered internally")[0] for w in tw} <= {str(w.message) for w in ew}
    assert_close(e_out, t_out)
    if views:
        for e, t in _pairs(e_out, t_out):
            assert (e._base is not None) == (t._base is not None), "view-ness differs from torch"
            if t._base is not None and t.numel():
                assert e.stride() == t.stride() and e.storage_offset() == t.storage_offset()
                assert e.is_contiguous() == t.is_contiguous()
            if t._base is not None:   # the root of an input, unless torch viewed an intermediate copy
                assert (id(e._base) in _roots(e_in)) == (id(t._base) in _roots(t_in))
    return e_out


def grads(fn: Callable, *arrays: np.ndarray, double: bool = True, numeric: bool = True) -> None:
    """Gradients vs torch with a random cotangent, then ember's gradcheck (and gradgradcheck) in float64
    (``numeric=False``: only against torch, for ops whose torch gradient is not the numerical one)."""
    arrays64 = tuple(np.asarray(a, np.float64) if np.asarray(a).dtype.kind == "f" else a for a in arrays)

    def scalar_out(lib: Any, *xs: Any) -> Any:
        out = fn(lib, *xs)
        if isinstance(out, tuple):   # multi-output ops: weigh each output differently
            out = lib.cat([o.reshape(-1) * (i + 1) for i, o in enumerate(out)])
        return out

    check_grads(scalar_out, *arrays64)
    inputs = tuple(ember.tensor(a, requires_grad=a.dtype.kind == "f") if isinstance(a, np.ndarray) else a
                   for a in arrays64)
    # outputs are cloned so finite differences never read a view of the perturbed input
    out = scalar_out(ember, *inputs)
    if out.numel() == 0 or not numeric:   # empty: see test_gradcheck_accepts_empty_inputs
        return
    assert ember.autograd.gradcheck(lambda *xs: scalar_out(ember, *xs).clone(), inputs)
    if double:   # gradgradcheck, with the same workaround
        n = len(inputs)
        wrt = [i for i, x in enumerate(inputs) if isinstance(x, ember.Tensor) and x.requires_grad]
        go = ember.tensor(RNG.standard_normal(tuple(out.shape)), requires_grad=True)

        def first_grads(*args: Any) -> tuple:
            gs = ember.autograd.grad(scalar_out(ember, *args[:n]), [args[i] for i in wrt], args[n],
                                     create_graph=True, allow_unused=True)
            return tuple(g.clone() for g in gs if g is not None)

        assert ember.autograd.gradcheck(first_grads, inputs + (go,))


# ---- forward: values, strides, view-ness ---------------------------------------------------------------
VIEWS: dict[str, Callable] = {
    "view": lambda L, x: x.view(6, 4), "view_infer": lambda L, x: x.view(-1),
    "view_tuple": lambda L, x: x.view((4, 6)),
    "view_size1": lambda L, x: x[:, 1:2].view(2, 1, 4, 1), "view_split": lambda L, x: x.mT.view(2, 2, 2, 3),
    "view_size": lambda L, x: x.view(L.Size([3, 8])), "view_as": lambda L, x: x.view_as(L.ones(24)),
    "reshape": lambda L, x: x.reshape(4, -1), "reshape_flat": lambda L, x: x.reshape(-1),
    "reshape_as": lambda L, x: x.reshape_as(L.ones(3, 8)), "flatten": lambda L, x: x.flatten(),
    "flatten_1": lambda L, x: x.flatten(1), "flatten_same": lambda L, x: x.flatten(1, 1),
    "unflatten": lambda L, x: x.unflatten(2, (2, 2)),
    "unflatten_infer": lambda L, x: x.unflatten(-1, (-1, 2)),
    "ravel": lambda L, x: x.ravel(), "t": lambda L, x: x[0].t(), "t1": lambda L, x: x[0, 0].t(),
    "T": lambda L, x: x[0].T, "mT": lambda L, x: x.mT, "mH": lambda L, x: x.mH,
    "adjoint": lambda L, x: x.adjoint(),
    "H": lambda L, x: x[1].H, "transpose": lambda L, x: x.transpose(0, 2),
    "swapaxes": lambda L, x: x.swapaxes(-1, 0),
    "swapdims": lambda L, x: L.swapdims(x, 1, 2), "permute": lambda L, x: x.permute(2, 0, 1),
    "permute_list": lambda L, x: L.permute(x, [1, 2, 0]), "movedim": lambda L, x: x.movedim(0, -1),
    "movedim_tuple": lambda L, x: x.movedim((0, 1), (2, 0)), "moveaxis": lambda L, x: L.moveaxis(x, 1, 0),
    "expand": lambda L, x: x[:, :1].expand(3, 2, 5, 4),
    "expand_keep": lambda L, x: x[:, :1].expand(-1, 3, -1),
    "expand_as": lambda L, x: x[:1].expand_as(x),
    "expand_same_ones": lambda L, x: x[:, :1, :1].expand(-1, 1, -1),   # size-1 dims keep their strides
    "expand_new_ones": lambda L, x: x[:, :1].expand(1, 1, 2, 1, 4),   # new size-1 dims: size × stride inside
    "expand_0d": lambda L, x: x[0, 0, 0].expand(1, 2, 1),
    "broadcast_to": lambda L, x: L.broadcast_to(x[:, :1], (2, 3, 4)),
    "squeeze": lambda L, x: x[:, :1].squeeze(), "squeeze_dim": lambda L, x: x[:, :1].squeeze(1),
    "squeeze_noop": lambda L, x: x.squeeze(0), "squeeze_tuple": lambda L, x: x[:1, :1].squeeze((0, 1, 2)),
    "squeeze_neg": lambda L, x: L.squeeze(x[:, :, :1], -1), "unsqueeze": lambda L, x: x.unsqueeze(1),
    "unsqueeze_end": lambda L, x: L.unsqueeze(x, -1), "select": lambda L, x: x.select(1, -1),
    "select_t": lambda L, x: L.select(x, 2, L.tensor(1)), "narrow": lambda L, x: x.narrow(2, 1, 2),
    "narrow_tensor": lambda L, x: L.narrow(x, 0, L.tensor(1), 1),
    "narrow_neg": lambda L, x: x.narrow(-1, -2, 2),
    "diagonal": lambda L, x: x.diagonal(), "diagonal_off": lambda L, x: L.diagonal(x, 1, 1, 2),
    "diagonal_neg": lambda L, x: x.diagonal(-1, -1, 0), "diagonal_empty": lambda L, x: x.diagonal(5),
    "as_strided": lambda L, x: x.as_strided((2, 2), (1, 2)),
    "as_strided_off": lambda L, x: L.as_strided(x, (3,), (2,), 1),
    "unfold": lambda L, x: x.unfold(2, 2, 1), "unfold_step": lambda L, x: x.unfold(1, 2, 2),
    "unfold_one": lambda L, x: x.unfold(0, 1, 1), "unfold_empty": lambda L, x: x.unfold(1, 0, 1),
    "contiguous": lambda L, x: x.contiguous(), "alias_T": lambda L, x: x[0, 0, 0].T,
    "split": lambda L, x: x.split(2, 2), "split_sizes": lambda L, x: x.split([1, 2], 1),
    "split_big": lambda L, x: L.split(x, 5), "chunk": lambda L, x: x.chunk(2, -1),
    "chunk_uneven": lambda L, x: x.chunk(3, 2),
    "unbind": lambda L, x: x.unbind(1), "tensor_split": lambda L, x: x.tensor_split(3, 2),
    "tensor_split_idx": lambda L, x: L.tensor_split(x, [1, 5], 2),
    "tensor_split_t": lambda L, x: x.tensor_split(L.tensor([1, 2]), 1),
    "tensor_split_0d": lambda L, x: x.tensor_split(L.tensor(2), 2),
    "tensor_split_neg": lambda L, x: x.tensor_split([-1], 1),
    "hsplit": lambda L, x: x.hsplit([1]), "vsplit": lambda L, x: L.vsplit(x, 2),
    "dsplit": lambda L, x: x.dsplit(2),
    "broadcast_tensors": lambda L, x: L.broadcast_tensors(x[:, :1], x[0, :, :1]),
}
NOT_DIFFERENTIABLE = {"view_as", "reshape_as"}


@pytest.mark.parametrize("layout", ["c", "t", "s"])
@pytest.mark.parametrize("name", list(VIEWS))
def test_view_ops(name: str, layout: str) -> None:
    compare(VIEWS[name], arr(2, 3, 4, layout=layout))


@pytest.mark.parametrize("name", ["view", "reshape", "flatten", "transpose", "select", "narrow", "expand",
                                  "unbind",
                                  "squeeze", "diagonal", "split"])
def test_view_ops_expanded_and_dtypes(name: str) -> None:
    compare(VIEWS[name], arr(2, 3, 4, layout="e"))
    for dt in (np.int64, np.float64, np.bool_, np.complex64):
        compare(VIEWS[name], arr(2, 3, 4, dtype=dt))


@pytest.mark.parametrize("fn", [
    lambda L, x: x.view(0, 5), lambda L, x: x.reshape(5, 0, -1), lambda L, x: x.flatten(), lambda L, x: x.t(),
    lambda L, x: x.unsqueeze(0), lambda L, x: x.squeeze(), lambda L, x: x.transpose(0, 1),
    lambda L, x: x.expand(3, 0, 5), lambda L, x: x.split(2, 1), lambda L, x: x.chunk(2, 0),
    lambda L, x: x.unbind(0),
    lambda L, x: x.narrow(0, 0, 0), lambda L, x: x.diagonal(), lambda L, x: x.unfold(1, 2, 1),
])
def test_zero_size(fn: Callable) -> None:
    compare(fn, arr(0, 5))


@pytest.mark.parametrize("fn", [
    lambda L, x: x.view(()), lambda L, x: x.view(1, 1), lambda L, x: x.reshape(-1), lambda L, x: x.flatten(),
    lambda L, x: x.t(), lambda L, x: x.T, lambda L, x: x.mT, lambda L, x: x.mH, lambda L, x: x.adjoint(),
    lambda L, x: x.H, lambda L, x: x.unsqueeze(0), lambda L, x: x.squeeze(), lambda L, x: x.squeeze(0),
    lambda L, x: x.squeeze((0,)), lambda L, x: x.transpose(0, -1), lambda L, x: x.expand(2, 3),
    lambda L, x: x.permute(()), lambda L, x: x.unfold(0, 1, 1), lambda L, x: x.unfold(0, 0, 1),
    lambda L, x: x.flatten(0, -1), lambda L, x: x.movedim((), ()),
])
def test_zero_dim(fn: Callable) -> None:
    compare(fn, np.array(1.5, np.float32))


def test_view_dtype() -> None:
    x = arr(2, 3, 4)
    for dt in ("int32", "float16", "float64", "int8", "uint8", "complex64", "bfloat16", "int16", "float32"):
        compare(lambda L, t, dt=dt: t.view(getattr(L, dt)), x, views=False)
        compare(lambda L, t, dt=dt: t[:, :, :2].view(getattr(L, dt)), x, views=False)
        compare(lambda L, t, dt=dt: t.mT.view(getattr(L, dt)), x, views=False)
    compare(lambda L, t: t.view(L.bool), arr(4, dtype=np.uint8), views=False)
    compare(lambda L, t: t[2:6].view(L.int16), np.arange(8, dtype=np.int8), views=False)
    compare(lambda L, t: t[1:5].view(L.int16), np.arange(8, dtype=np.int8), views=False)
    compare(lambda L, t: t[0, 0, 0].view(L.float64), x, views=False)
    compare(lambda L, t: t[0, 0, 0].view(L.int32), x, views=False)
    e = ember.zeros(4, requires_grad=True)
    v = e.view(ember.int32)
    assert v._base is None and not v.requires_grad and v.grad_fn is None
    assert e.view(ember.float32).grad_fn is None
    with ember.no_grad():
        v[0] = 1
    assert e._version == v._version == 1
    assert e[0].item() == torch.tensor([1], dtype=torch.int32).view(torch.float32).item()


VIEW_ERRORS = [
    lambda L, x: x.mT.view(24), lambda L, x: x.view(5, -1), lambda L, x: x.view(-1, -1),
    lambda L, x: x.view(-2, 12),
    lambda L, x: x.view(0, -1), lambda L, x: L.ones(0).view(-1, 0), lambda L, x: x.view(2.0, 12),
    lambda L, x: x.view(),
    lambda L, x: x.reshape(5, -1), lambda L, x: x.permute(0, 1), lambda L, x: x.permute(0, 1, 1),
    lambda L, x: x.permute(0, 1, 5), lambda L, x: x.transpose(0, 3), lambda L, x: x.t(),
    lambda L, x: L.ones(3).mT,
    lambda L, x: L.ones(3).mH, lambda L, x: L.ones(3).H, lambda L, x: x.H, lambda L, x: L.ones(3).adjoint(),
    lambda L, x: x.squeeze(3), lambda L, x: x.squeeze((0, 0)), lambda L, x: x.unsqueeze(4),
    lambda L, x: x.unsqueeze((0, 1)), lambda L, x: x.unsqueeze(1.0), lambda L, x: x.transpose(0, 1.0),
    lambda L, x: x.flatten(2, 1), lambda L, x: x.flatten(0, 3), lambda L, x: L.ones(()).flatten(1),
    lambda L, x: x.unflatten(1, (2, 2)), lambda L, x: x.unflatten(1, ()), lambda L, x: x.unflatten(5, (3,)),
    lambda L, x: x.expand(3, 4), lambda L, x: x.expand(-1, 2, 3, 4), lambda L, x: x.expand(2, 3, 5),
    lambda L, x: x.expand(2, 3, 4.0), lambda L, x: x.movedim(0, 3), lambda L, x: x.movedim((0, 1), (1, 1)),
    lambda L, x: x.movedim((0, 1), (1,)), lambda L, x: x.movedim((0, -3), (1, 2)),
    lambda L, x: x.select(3, 0),
    lambda L, x: x.select(0, 2), lambda L, x: x.select(0, -3), lambda L, x: L.ones(()).select(0, 0),
    lambda L, x: x.select(0, 1.0), lambda L, x: x.narrow(0, 1, 2), lambda L, x: x.narrow(0, -3, 1),
    lambda L, x: x.narrow(0, 3, 0), lambda L, x: x.narrow(0, 0, -1), lambda L, x: x.narrow(3, 0, 1),
    lambda L, x: x.narrow(0, L.tensor(1.0), 1), lambda L, x: L.ones(()).narrow(0, 0, 1),
    lambda L, x: x.diagonal(0, 1, 1), lambda L, x: x.diagonal(0, 1, -2), lambda L, x: x.unbind(3),
    lambda L, x: L.ones(()).unbind(), lambda L, x: x.split(0), lambda L, x: x.split(-1),
    lambda L, x: x.split([1, -1, 3], 1), lambda L, x: x.split([1, 1], 1), lambda L, x: x.split(2, 3),
    lambda L, x: x.chunk(0), lambda L, x: x.chunk(-1), lambda L, x: L.ones(()).chunk(1),
    lambda L, x: L.ones(()).split(1),
    lambda L, x: x.as_strided((100,), (1,)), lambda L, x: x.as_strided((2, 2), (1, 2), 30),
    lambda L, x: x.as_strided((2,), (-1,)), lambda L, x: x.as_strided((2, 2), (1,)),
    lambda L, x: x.unfold(1, 4, 1),
    lambda L, x: x.unfold(1, 2, 0), lambda L, x: x.unfold(1, -1, 1), lambda L, x: L.ones(()).unfold(0, 2, 1),
    lambda L, x: x.unfold(3, 1, 1), lambda L, x: x.tensor_split(0),
    lambda L, x: x.tensor_split(L.tensor([1.0])),
    lambda L, x: x.tensor_split(L.tensor([[1]])), lambda L, x: L.ones(()).tensor_split(2),
    lambda L, x: x.hsplit(2),
    lambda L, x: L.ones(()).hsplit(2), lambda L, x: L.ones(4).vsplit(2), lambda L, x: L.ones(4, 2).dsplit(2),
    lambda L, x: x.vsplit(3), lambda L, x: x.dsplit(3), lambda L, x: L.ones(5).hsplit(2),
    lambda L, x: L.broadcast_tensors(L.ones(2), L.ones(3)), lambda L, x: L.broadcast_shapes((2,), (3,)),
    lambda L, x: L.broadcast_shapes((-1,), (1,)), lambda L, x: L.ones(1, 3).expand(-2, 3),
]


@pytest.mark.parametrize("i", range(len(VIEW_ERRORS)))
def test_view_errors(i: int) -> None:
    assert compare(VIEW_ERRORS[i], arr(2, 3, 4)) is None


def test_deprecation_warnings() -> None:
    for fn in (lambda L, x: x.T, lambda L, x: x.mT, lambda L, x: x.mH, lambda L, x: x.H,
               lambda L, x: x.adjoint()):
        compare(fn, np.array(2.0, np.float32))
    compare(lambda L, x: x.T, arr(2, 3, 4))
    compare(lambda L, x: x.T, arr(3, dtype=np.complex64))
    compare(lambda L, x: tuple(t.resolve_conj() for t in (x.mH, x.H, x.adjoint(), x.mT)),
            arr(2, 3, dtype=np.complex64), views=False)


def test_broadcast_shapes() -> None:
    for shapes in [((2, 1), (3,)), (2, (3, 2)), (), ((0,), (1,)), ((5, 1, 3), [4, 1], 1)]:
        args = shapes if isinstance(shapes, tuple) else (shapes,)
        assert ember.broadcast_shapes(*args) == torch.broadcast_shapes(*args)
        assert repr(ember.broadcast_shapes(*args)) == repr(torch.broadcast_shapes(*args))
    assert ember.broadcast_tensors() == ()


# ---- memory sharing ---------------------------------------------------------------------------------------
SHARING = [lambda x: x.view(6, 4), lambda x: x.reshape(2, 12), lambda x: x[1], lambda x: x[:, 1:],
           lambda x: x.t(),
           lambda x: x.transpose(0, 1), lambda x: x.permute(1, 0), lambda x: x.unsqueeze(0)[0],
           lambda x: x.narrow(1, 1, 2), lambda x: x.select(1, 0), lambda x: x.unbind()[1],
           lambda x: x.split(1)[1],
           lambda x: x.chunk(2, 1)[0], lambda x: x.diagonal(), lambda x: x.unfold(1, 2, 1)[:, 0],
           lambda x: x.as_strided((2,), (3,), 1), lambda x: x.movedim(0, 1),
           lambda x: x.tensor_split(2, 1)[1],
           lambda x: x.view(ember.int32), lambda x: x.detach(), lambda x: x.flatten()[2:]]


@pytest.mark.parametrize("i", range(len(SHARING)))
def test_views_share_memory(i: int) -> None:
    base = ember.tensor(np.arange(24.0, dtype=np.float32).reshape(4, 6))
    v = SHARING[i](base)
    assert v.data_ptr() >= base.data_ptr() and v._vc is base._vc
    assert v._base is (None if v.dtype is ember.int32 or v._base is None else base)
    before = base._version
    v[(0,) * v.dim()] = 77 if v.dtype is not ember.int32 else 12345
    assert base._version == before + 1 == v._version
    assert (base.view(-1).view(ember.int32) == 12345).any() if v.dtype is ember.int32 else (base == 77).any()
    base.zero_()
    assert not v.any()


def test_reshape_view_or_copy_and_contiguous() -> None:
    x = ember.tensor([[0, 1, 2], [3, 4, 5]])
    r = x.reshape(3, 2)
    assert r._base is x and r.data_ptr() == x.data_ptr()
    c = x.t().reshape(6)
    assert c._base is None and c.data_ptr() != x.data_ptr() and c.tolist() == [0, 3, 1, 4, 2, 5]
    assert x.contiguous() is x and x.t().contiguous().stride() == (2, 1)
    v = x[:, 1:]
    assert v.view(2, 1, 2)._base is x and x[0]._base is x and x[0][1:]._base is x
    y = ember.ones(2, 3, requires_grad=True)
    assert type(y.t().reshape(6).grad_fn).__name__ == "UnsafeViewBackward0"
    assert type(y.t().reshape(6).grad_fn.next_functions[0][0]).__name__ == "CloneBackward0"
    assert type(y.t().contiguous().grad_fn).__name__ == "CloneBackward0" and y.contiguous() is y


def test_write_through_views_both_ways() -> None:
    base = ember.zeros(3, 4)
    col = base[:, 1]
    col.fill_(2)
    assert base.sum().item() == 6
    base[1] = 5
    assert col.tolist() == [2, 5, 2]
    d = base.diagonal()
    d.add_(1)
    assert base[1, 1].item() == 6 and base._version == col._version == d._version == 3
    u = base.unfold(1, 2, 2)
    u[0, 0, 1] = -1
    assert base[0, 1].item() == -1


# ---- gradients ------------------------------------------------------------------------------------------
DIFF = [n for n in VIEWS if n not in NOT_DIFFERENTIABLE]


@pytest.mark.parametrize("name", DIFF)
def test_view_grads(name: str) -> None:
    grads(VIEWS[name], RNG.standard_normal((2, 3, 4)))


@pytest.mark.parametrize("name", ["reshape_flat", "transpose", "select", "narrow", "diagonal", "unfold",
                                  "split", "unbind", "expand_keep", "squeeze", "as_strided", "flatten"])
def test_view_grads_noncontiguous(name: str) -> None:
    grads(lambda L, x: VIEWS[name](L, x.permute(2, 1, 0)), RNG.standard_normal((4, 3, 2)))


def test_unused_outputs_get_zero_grads() -> None:
    for fn in (lambda L, x: x.unbind(1)[1], lambda L, x: x.split(1, 2)[2] * 2, lambda L, x: x.chunk(3)[0]):
        check_grads(fn, RNG.standard_normal((3, 2, 4)))


def test_grad_fn_names() -> None:
    x = ember.ones(2, 3, requires_grad=True)
    names = {"ViewBackward0": x.view(6), "TBackward0": x.t(), "PermuteBackward0": x.T,
             "TransposeBackward0": x.transpose(0, 1), "UnsqueezeBackward0": x.unsqueeze(0),
             "SqueezeBackward0": x.squeeze(), "SqueezeBackward1": x.squeeze(0),
             "SqueezeBackward2": x.squeeze((0,)),
             "ExpandBackward0": x.expand(2, 2, 3), "SelectBackward0": x.select(0, 1),
             "SliceBackward0": x.narrow(1, 0, 2),
             "SplitBackward0": x.split(1)[0], "SplitWithSizesBackward0": x.split([1, 1])[0],
             "UnbindBackward0": x.unbind()[0], "DiagonalBackward0": x.diagonal(),
             "AsStridedBackward0": x.as_strided((2,), (1,)), "UnfoldBackward0": x.unfold(1, 2, 1)}
    for name, t in names.items():
        assert type(t.grad_fn).__name__ == name
    assert x.flatten(1, 1) is x


def test_inplace_on_view_rebases_history() -> None:
    def run(lib: Any) -> tuple:
        w = lib.ones(3, 4, dtype=lib.float64, requires_grad=True)
        y = w * 1
        y[:, 1].mul_(lib.arange(3.0, dtype=lib.float64))
        y.diagonal().add_(w[0, :3])
        y.unfold(1, 2, 2)[0, 1].mul_(3)
        (y * lib.arange(12.0, dtype=lib.float64).view(3, 4)).sum().backward()
        return w.grad, type(y.grad_fn).__name__

    (eg, ename), (tg, tname) = run(ember), run(torch)
    assert_close(eg, tg)
    assert ename == tname == "CopySlices"


def test_stride_of_empty_tensor() -> None:
    for shape in [(2, 0), (0, 3), (0,), (2, 0, 4)]:
        assert ember.zeros(*shape).stride() == torch.zeros(*shape).stride()


def test_gradcheck_accepts_empty_inputs() -> None:
    x = ember.zeros(2, 0, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: t * 2, (x,))
