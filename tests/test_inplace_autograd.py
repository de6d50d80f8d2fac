"""In-place operations and autograd against torch: version counters (shared by views and detach, not by
.data), torch's error for saved tensors modified in place, in-place on leaves (and views of leaves),
gradients through in-place ops on non-leaves and on views of them (CopySlices), and out= with tensors
that require grad."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from test_autograd import f64, same

# ---- version counters -------------------------------------------------------------------------------------
VERSIONS: dict[str, Callable] = {
    "views_share": lambda L: _versions(L),
    "inplace_on_view_bumps_base": lambda L: _edit_alias(L.ones(3), lambda x: x[1:], lambda v: v.mul_(2)),
    "setitem_bumps": lambda L: (lambda x: (x.__setitem__(0, 3.0), x._version))(L.ones(3)),
    "out_bumps": lambda L: (lambda o: (L.add(L.ones(2), 1, out=o), o._version))(L.zeros(2)),
    "detach_shares": lambda L: _edit_alias(L.ones(3, requires_grad=True), lambda x: x.detach(),
                                           lambda d: (d.add_(1), d.add_(1))),
    "data_does_not_share": lambda L: _edit_alias(L.ones(3, requires_grad=True), lambda x: x.data,
                                                 lambda d: d.add_(1)),
}


def _edit_alias(x: Any, alias: Callable[[Any], Any], edit: Callable[[Any], Any]) -> Any:
    a = alias(x)
    edit(a)
    return x._version, a._version


def _versions(L: Any) -> Any:
    x = L.ones(2, 3)
    v = x.view(6)
    t = x.t()
    s = x[0]
    before = (x._version, v._version, t._version, s._version)
    x.add_(1)
    t.mul_(2)
    return before, (x._version, v._version, t._version, s._version)


@pytest.mark.parametrize("name", VERSIONS)
def test_version_counters(name: str) -> None:
    same(VERSIONS[name])


# ---- saved tensors modified in place ---------------------------------------------------------------------
MODIFIED: dict[str, Callable] = {
    "output_of_sigmoid": lambda L: (lambda b: (b.mul_(2), b.sum().backward()))(
        L.ones(2, requires_grad=True).sigmoid()),
    "output_of_exp_via_detach": lambda L: (lambda y: (y.detach().zero_(), y.sum().backward()))(
        L.ones(2, requires_grad=True).exp()),
    "leaf_via_detach": lambda L: _leaf_modified(L),
    "leaf_under_no_grad": lambda L: _leaf_no_grad(L),
    "input_of_mul": lambda L: _edit_input(L, lambda y: y * y),
    "input_of_exp_not_saved": lambda L: _edit_input(L, lambda y: y.exp()),
    "mm_operand": lambda L: _mm_modified(L),
    "view_of_saved": lambda L: (lambda x: (lambda y: (lambda z: (y[0].mul_(2), z.sum().backward()))(y.exp()))(
        x.exp()))(L.ones(3, requires_grad=True)),
    "inplace_twice_on_self_saving": lambda L: (lambda x: (lambda y: (y.exp_(), y.exp_(), y.sum().backward(),
                                                                     x.grad))(x.exp()))(
        L.arange(3.0, requires_grad=True)),
    "data_hides_it": lambda L: (lambda x: (lambda y: (y.data.zero_(), y.sum().backward(), x.grad))(x.exp()))(
        L.ones(2, requires_grad=True)),
}


def _edit_input(L: Any, op: Callable[[Any], Any]) -> Any:
    """``op`` of a non-leaf, then the non-leaf is modified in place before backward."""
    x = L.arange(4.0, requires_grad=True)
    y = x * 1
    z = op(y)
    y.add_(1)
    z.sum().backward()
    return x.grad


def _leaf_modified(L: Any) -> Any:
    x = L.ones(3, requires_grad=True)
    y = x * x
    d = x.detach()
    d.add_(1)
    d.add_(1)
    y.sum().backward()


def _leaf_no_grad(L: Any) -> Any:
    x = L.ones(3, requires_grad=True)
    y = (x * 2) * x
    with L.no_grad():
        x.add_(1)
    y.sum().backward()


def _mm_modified(L: Any) -> Any:
    a = L.ones(2, 2, requires_grad=True)
    b = L.ones(2, 2) * 2
    out = a.mm(b)
    b.add_(1)
    out.sum().backward()


@pytest.mark.parametrize("name", MODIFIED)
def test_modified_saved_tensor(name: str) -> None:
    same(MODIFIED[name])


# ---- in-place on leaves --------------------------------------------------------------------------------
LEAVES: dict[str, Callable] = {
    "add_": lambda L: L.ones(2, requires_grad=True).add_(1),
    "unary_": lambda L: L.ones(2, requires_grad=True).exp_(),
    "view_of_leaf": lambda L: L.ones(2, requires_grad=True).view(2).add_(1),
    "slice_of_leaf": lambda L: L.ones(2, requires_grad=True)[1:].mul_(2),
    "zero_": lambda L: L.ones(2, requires_grad=True).zero_(),
    "copy_": lambda L: L.ones(2, requires_grad=True).copy_(L.zeros(2)),
    "no_grad_allowed": lambda L: _no_grad_leaf(L),
    "leaf_without_grad": lambda L: (lambda x: (x.add_(L.ones(2, requires_grad=True)), x.grad_fn, x.is_leaf))(
        L.ones(2)),
    "detached_leaf": lambda L: _setitem_detached(L.ones(2, requires_grad=True)),
    "setitem": lambda L: L.ones(2, requires_grad=True).__setitem__(0, 5.0),
}


def _setitem_detached(x: Any) -> Any:
    d = x.detach()
    d[0] = 7.0
    return x, d.requires_grad


def _no_grad_leaf(L: Any) -> Any:
    x = L.ones(2, requires_grad=True)
    with L.no_grad():
        x.add_(1)
        x.view(2).mul_(3)
    return x, x._version


@pytest.mark.parametrize("name", LEAVES)
def test_inplace_on_leaves(name: str) -> None:
    same(LEAVES[name])


# ---- gradients through in-place ops on non-leaves and their views -----------------------------------------
def _w(L: Any, *shape: int) -> Any:
    return L.tensor(np.random.default_rng(7).standard_normal(shape))


PROGRAMS: dict[str, Callable] = {
    "nonleaf_mul_": lambda L, x, w: (x * 1).mul_(w),
    "nonleaf_exp_": lambda L, x, w: (x * 1).exp_() * w,
    "nonleaf_chain": lambda L, x, w: (x * 2).add_(w).mul_(x).sigmoid_(),
    "setitem_scalar": lambda L, x, w: _setitem(x * 1, (0, 1), 0.0) * w,
    "setitem_tensor": lambda L, x, w: _setitem(x * 1, (1,), w[0] * 3) * w,
    "view_mul_": lambda L, x, w: _on(x * 1, lambda y: y[1:].mul_(2)) * w,
    "view_of_view": lambda L, x, w: _on(x.exp(), lambda y: y[:, 1:][1].mul_(y[0, 1:])) * w,
    "view_inplace_with_other": lambda L, x, w: _on(x * 1, lambda y: y[0].mul_(w[1])) * w,
    "transposed_view": lambda L, x, w: _on(x.exp(), lambda y: (y.t().mul_(2), y.t()[0].add_(1))) * w,
    "reshape_view": lambda L, x, w: _on(x * 1, lambda y: y.view(3, 2).exp_()).view(6) * w.view(6),
    "strided_view": lambda L, x, w: _on(x * 1, lambda y: y.view(6)[::2].zero_()) * w,
    "base_after_view_edit": lambda L, x, w: _base_then_view(L, x, w),
    "two_views": lambda L, x, w: _on(x * 1, lambda y: (y[0].mul_(3), y[:, 2].add_(y[1, 0]))) * w,
    "copy_into_view": lambda L, x, w: _on(x * 1, lambda y: y[1].copy_(w[0] * 2)) * w,
    "stale_view_after_base_edit": lambda L, x, w: _stale_view(x, w, lambda y, v: y.mul_(2)),
    "stale_view_after_sibling_edit": lambda L, x, w: _stale_view(x, w, lambda y, v: y[1].exp_()),
    "stale_view_of_view": lambda L, x, w: _stale_view(x, w, lambda y, v: v[0].mul_(v[1])),
}


def _stale_view(x: Any, w: Any, edit: Callable[[Any, Any], Any]) -> Any:
    """A view made before its memory is modified in place (through the base, a sibling, or itself)."""
    y = x * 1
    v = y[:, 1:]
    t = y.t()
    edit(y, v)
    return (v * w[:, :2]).sum() + (t * t).sum() + y


def _setitem(t: Any, key: Any, value: Any) -> Any:
    t[key] = value
    return t


def _on(t: Any, edit: Callable[[Any], Any]) -> Any:
    edit(t)
    return t


def _base_then_view(L: Any, x: Any, w: Any) -> Any:
    y = x * 1
    v = y[1]
    v.mul_(2)
    y.add_(1)
    return (y * w).sum() + (v * v).sum()


@pytest.mark.parametrize("name", PROGRAMS)
def test_gradients_through_inplace(name: str) -> None:
    x0 = np.random.default_rng(1).standard_normal((2, 3))

    def program(L: Any) -> Any:
        x = f64(L, x0)
        w = _w(L, 2, 3)
        out = PROGRAMS[name](L, x, w)
        names = (out.grad_fn,)
        out.sum().backward()
        return names, x.grad
    same(program)


def test_inplace_grad_fn_names() -> None:
    def program(L: Any) -> Any:
        x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 1
        y[0] = 0
        a = y.grad_fn
        v = y[1:]
        v.mul_(2)
        z = x * 1
        z.exp_()
        return a, y.grad_fn, v.grad_fn, z.grad_fn, (x * 1).relu_().grad_fn, (x * 1).add_(1).grad_fn
    same(program)


def test_hooks_and_retain_grad_across_inplace() -> None:
    """retain_grad follows the tensor to its new grad_fn; a plain hook stays with the old one."""
    def program(L: Any) -> Any:
        x = L.ones(2, requires_grad=True)
        seen = []
        y = x * 2
        y.retain_grad()
        y.register_hook(lambda g: seen.append(g.clone()))
        y.mul_(3)
        v = (x * 1)[:1]
        v.retain_grad()
        v._base.mul_(3)
        ((y * 5).sum() + (v * 7).sum()).backward()
        return y.grad, v.grad, v.grad_fn, seen, x.grad
    same(program)


def test_double_backward_through_inplace() -> None:
    def program(L: Any) -> Any:
        x = f64(L, [0.5, -1.0, 2.0])
        y = x * 1
        y[1:].mul_(x[:2])
        g = L.autograd.grad((y ** 3).sum(), x, create_graph=True)[0]
        return g, L.autograd.grad(g.sum(), x)[0]
    same(program)


# ---- out= -----------------------------------------------------------------------------------------------
OUT: dict[str, Callable] = {
    "add": lambda L: L.add(L.ones(2, requires_grad=True), 1, out=L.empty(2)),
    "exp": lambda L: L.exp(L.ones(2, requires_grad=True), out=L.empty(2)),
    "mm": lambda L: L.mm(L.ones(2, 2, requires_grad=True), L.ones(2, 2), out=L.empty(2, 2)),
    "sum": lambda L: L.sum(L.ones(2, 2, requires_grad=True), 0, out=L.empty(2)),
    "no_grad_ok": lambda L: _out_no_grad(L),
    "only_out_requires_grad": lambda L: L.mul(L.ones(2), L.ones(2), out=L.ones(2, requires_grad=True)),
}


def _out_no_grad(L: Any) -> Any:
    with L.no_grad():
        return L.add(L.ones(2, requires_grad=True), 1, out=L.empty(2))


@pytest.mark.parametrize("name", OUT)
def test_out_with_requires_grad(name: str) -> None:
    same(OUT[name])



# ---- outputs of functions returning several views (split, chunk, unbind) ----------------------------------
def _edit_base_then_use(L: Any, x: Any, use: Callable[[Any], Any]) -> Any:
    y = x * 1
    piece = y.split(2, 1)[0]
    y.mul_(2)
    return use(piece)


def _unsafe_piece(L: Any, x: Any) -> Any:
    y = x * 1
    piece = y.unsafe_split(2, 1)[0]
    piece.mul_(2)
    (y.sum() + piece.sum()).backward()
    return piece._version, y._version, piece._base is None, piece.grad_fn, x.grad


def _edit_under_no_grad(L: Any, x: Any) -> Any:
    y = x * 1
    piece = y.chunk(2, 1)[1]
    with L.no_grad():
        piece.mul_(2)
    y.sum().backward()
    return x.grad


MULTI_VIEWS: dict[str, Callable] = {
    "split": lambda L, x: (x * 1).split(2, 1)[0].mul_(2),
    "split_with_sizes": lambda L, x: (x * 1).split([1, 3], 1)[1].mul_(2),
    "chunk": lambda L, x: (x * 1).chunk(2, 1)[1].add_(1),
    "unbind": lambda L, x: (x * 1).unbind(0)[2].exp_(),
    "view_of_piece": lambda L, x: (x * 1).split(2, 1)[0][:, 0].mul_(2),
    "tensor_split_is_slices": lambda L, x: (x * 1).tensor_split(2, 1)[0].mul_(2),
    "piece_after_base_edit_grad_fn": lambda L, x: _edit_base_then_use(L, x, lambda p: p.grad_fn),
    "piece_after_base_edit_used": lambda L, x: _edit_base_then_use(L, x, lambda p: p * 1),
    "pieces_untouched_after_base_edit": lambda L, x: _edit_base_then_use(L, x, lambda p: p.shape),
    "no_history_no_error": lambda L, x: x.detach().split(2, 1)[0].mul_(2),
    "edited_under_no_grad": _edit_under_no_grad,
    "unsafe_split_not_views": _unsafe_piece,
}


@pytest.mark.parametrize("name", MULTI_VIEWS)
def test_multi_output_views_refuse_inplace(name: str) -> None:
    """torch forbids in-place changes to (views of) outputs of split/chunk/unbind under autograd, and using
    one after its base changed; unsafe_split's pieces are plain tensors with their own version counter."""
    x0 = np.random.default_rng(2).standard_normal((3, 4))
    same(lambda L: MULTI_VIEWS[name](L, f64(L, x0)))


# ---- fill_/zero_ and x[key] = value: the graphs torch records ---------------------------------------------
def _graph(fn: Any) -> Any:
    """The backward graph below ``fn`` as nested (class name, inputs) tuples."""
    return None if fn is None else (type(fn).__name__, tuple(_graph(n) for n, _ in fn.next_functions))


def _written(L: Any, x: Any, write: Callable[[Any], Any]) -> Any:
    """``write`` applied to a non-leaf copy of ``x``: its graph, and the gradients of a weighted sum."""
    value = L.tensor(2.0, dtype=L.float64, requires_grad=True)
    row = L.tensor([1.0, 2.0, 3.0, 4.0], dtype=L.float64, requires_grad=True)
    y = x * 1
    write(y, value, row)
    (y * L.arange(12.0, dtype=L.float64).reshape(3, 4)).sum().backward()
    return _graph(y.grad_fn), x.grad, value.grad, row.grad


WRITES: dict[str, Callable] = {
    "fill_number": lambda y, v, r: y.fill_(2.5),
    "fill_tensor": lambda y, v, r: y.fill_(v * 2),
    "fill_view": lambda y, v, r: y[1].fill_(v),
    "zero_": lambda y, v, r: y.zero_(),
    "zero_view": lambda y, v, r: y[:, 1].zero_(),
    "set_all_number": lambda y, v, r: y.__setitem__(slice(None), 3.0),
    "set_all_0d": lambda y, v, r: y.__setitem__(Ellipsis, v),
    "set_all_row": lambda y, v, r: y.__setitem__((slice(None), slice(0, 4)), r),
    "set_slice_row": lambda y, v, r: y.__setitem__(slice(1, None), r),
    "set_unsqueezed_row": lambda y, v, r: y.__setitem__(None, r),
    "set_element": lambda y, v, r: y.__setitem__((0, 1), v),
    "set_mask_0d": lambda y, v, r: y.__setitem__(y.detach() > 3, v),
    "set_index_row": lambda y, v, r: y.__setitem__([0, 2], r),
}


@pytest.mark.parametrize("name", WRITES)
def test_write_graphs(name: str) -> None:
    """fill_ records FillBackward2/3, zero_ ZeroBackward0; ``x[key] = v`` is torch's copy_to: no view for a
    key that keeps every dim, fill_ from a 0-d value, else v viewed and expanded, then copied."""
    x0 = np.arange(12.0).reshape(3, 4) - 4
    same(lambda L: _written(L, f64(L, x0), WRITES[name]))


@pytest.mark.parametrize("key", [slice(None), slice(0, 3), (slice(0, 3),), (slice(None, None, 1),), (slice(0, 100),),
                                 (slice(-3, None),), (slice(None), slice(0, 4)), (Ellipsis, slice(None)),
                                 (slice(None), slice(None)), (slice(None), slice(1, 4))])
def test_whole_dim_slices_are_aliases(key: Any) -> None:
    """Slices keeping a whole dim cut nothing: torch records AliasBackward0 when no dim is cut (a lone slice,
    not in a tuple, is always SliceBackward0)."""
    same(lambda L: (f64(L, np.ones((3, 4))) * 1)[key].grad_fn)
