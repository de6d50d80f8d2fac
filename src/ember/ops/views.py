"""View and shape operators: results share memory (and the version counter) with their input.

Also the machinery torch uses for in-place ops on views: ``rebase_view`` moves the base's history
onto a ``CopySlices`` node, so gradients of the base see the in-place change through the view.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._core.device import CPU
from ..autograd.grad_mode import STATE
from ..autograd.graph import grad_edge
from ._dispatch import Node, Tensor, bind, dim_list, from_array, record, wrap_dim, xp_of

_isinstance = isinstance


def make_view(src: Tensor, arr: Any, node: Node | None = None) -> Tensor:
    """A tensor viewing ``arr`` (a view of ``src``'s array) sharing ``src``'s base and version counter."""
    t = from_array(arr, src._dtype, src._device)
    t._base = src._base if src._base is not None else src
    t._vc = src._vc
    if node is not None and src._rg and STATE.enabled:
        record(t, node, (src,))
    return t


def _node(cls: type[Node], **attrs: Any) -> Node:
    n = cls()
    n.__dict__.update(attrs)
    return n


def _sizes(size: Sequence[Any]) -> tuple[int, ...]:
    if len(size) == 1 and not _isinstance(size[0], int):
        size = tuple(size[0])
    out = []
    for s in size:
        if _isinstance(s, Tensor):
            s = int(s)
        if not _isinstance(s, int):
            raise TypeError(f"view(): argument 'size' must be tuple of ints, but found element of type "
                            f"{type(s).__name__}")
        out.append(s)
    return tuple(out)


def infer_size(shape: tuple[int, ...], numel: int) -> tuple[int, ...]:
    """Resolve one ``-1`` in ``shape`` against ``numel``, with torch's errors."""
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for s in shape:
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s}")
    known = math.prod(s for s in shape if s != -1)
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        return tuple(numel // known if s == -1 else s for s in shape)
    if known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class ViewBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (g.reshape(self._meta[0][0]),)


class UnsafeViewBackward0(ViewBackward0):
    __slots__ = ()


def _view_strides(arr: Any, shape: tuple[int, ...]) -> Any:
    """``arr`` viewed with ``shape`` without copying, or None when its strides forbid it (as torch)."""
    if arr.flags.c_contiguous:
        return arr.reshape(shape)
    try:
        v = arr.view()
        v.shape = shape   # NumPy refuses exactly when a copy would be needed
        return v
    except AttributeError:
        return None


def view(self: Tensor, *shape: Any) -> Tensor:
    """Same data with another shape; errors when the strides make that impossible (use reshape)."""
    if len(shape) == 1 and not _isinstance(shape[0], (int, Tensor)) and not isinstance(shape[0], (list, tuple)):
        from .creation import to_dtype
        return to_dtype(self, shape[0], view=True)
    shape = infer_size(_sizes(shape), self._data.size)
    arr = _view_strides(self._data, shape)
    if arr is None:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                           "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
    return make_view(self, arr, ViewBackward0())


def reshape(self: Tensor, *shape: Any) -> Tensor:
    """A view when the strides allow it, otherwise a copy."""
    shape = infer_size(_sizes(shape), self._data.size)
    arr = _view_strides(self._data, shape)
    if arr is not None:
        return make_view(self, arr, ViewBackward0())
    t = from_array(self._data.reshape(shape), self._dtype, self._device)
    if self._rg and STATE.enabled:
        record(t, UnsafeViewBackward0(), (self,))
    return t


def view_as(self: Tensor, other: Tensor) -> Tensor:
    return view(self, other._data.shape)


def reshape_as(self: Tensor, other: Tensor) -> Tensor:
    return reshape(self, other._data.shape)


class TBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (g.t(),)


def t(self: Tensor) -> Tensor:
    """Transpose of a tensor of at most 2 dims."""
    if self._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self._data.ndim}D")
    return make_view(self, self._data.T, TBackward0())


class TransposeBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (g.transpose(self.dim0, self.dim1),)


def transpose(self: Tensor, dim0: int, dim1: int) -> Tensor:
    n = self._data.ndim
    d0, d1 = wrap_dim(dim0, n), wrap_dim(dim1, n)
    return make_view(self, self._data.swapaxes(d0, d1) if n else self._data,
                     _node(TransposeBackward0, dim0=d0, dim1=d1))


swapaxes = swapdims = transpose


class PermuteBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (g.permute(tuple(np.argsort(self.dims).tolist())),)


def permute(self: Tensor, *dims: Any) -> Tensor:
    dims = _sizes(dims)
    n = self._data.ndim
    if len(dims) != n:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {n} is not equal "
                           f"to len(dims) = {len(dims)}")
    dims = dim_list(dims, n)
    return make_view(self, self._data.transpose(dims), _node(PermuteBackward0, dims=dims))


def _T(self: Tensor) -> Tensor:
    n = self._data.ndim
    return permute(self, tuple(range(n - 1, -1, -1)))


def _mT(self: Tensor) -> Tensor:
    if self._data.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.")
    return transpose(self, -2, -1)


def _mH(self: Tensor) -> Tensor:
    r = _mT(self)
    return r.conj() if self._dtype.is_complex else r


class ExpandBackward0(Node):
    """The engine sums the gradient back to the input's shape."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (g,)


def expand(self: Tensor, *sizes: Any) -> Tensor:
    """Broadcast to ``sizes`` without copying (stride 0 along grown dims); -1 keeps a size."""
    sizes = _sizes(sizes)
    shape = self._data.shape
    nd = len(sizes) - len(shape)
    if nd < 0:
        raise RuntimeError(f"expand({self.type()}{{{list(shape)}}}, size={list(sizes)}): the number of sizes "
                           f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in the "
                           f"tensor ({len(shape)})")
    target = []
    for i, s in enumerate(sizes):
        if i < nd:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                                   f"non-existing dimension {i}")
            target.append(s)
            continue
        cur = shape[i - nd]
        if s == -1:
            s = cur
        if cur != s and cur != 1:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                               f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                               f"{list(shape)}")
        target.append(s)
    target_t = tuple(target)
    if target_t == shape:
        arr = self._data.view()
    else:
        xp = np if self._device is CPU else xp_of(self._device)
        arr = xp.broadcast_to(self._data, target_t)
    return make_view(self, arr, ExpandBackward0())


def expand_as(self: Tensor, other: Tensor) -> Tensor:
    return expand(self, other._data.shape)


def broadcast_to(input: Tensor, size: Sequence[int]) -> Tensor:
    return expand(input, tuple(size))


class SqueezeBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (g.reshape(self._meta[0][0]),)


class SqueezeBackward1(SqueezeBackward0):
    __slots__ = ()


class SqueezeBackward2(SqueezeBackward0):
    __slots__ = ()


def squeeze(self: Tensor, dim: Any = None) -> Tensor:
    """Drop size-1 dims (all, one, or a tuple); a named dim whose size is not 1 is left alone."""
    shape = self._data.shape
    if dim is None:
        cls: type[Node] = SqueezeBackward0
        drop = [i for i, s in enumerate(shape) if s == 1]
    else:
        cls = SqueezeBackward1 if _isinstance(dim, int) else SqueezeBackward2
        drop = [d for d in dim_list(dim, len(shape)) if len(shape) and shape[d] == 1]
    new_shape = tuple(s for i, s in enumerate(shape) if i not in drop)
    return make_view(self, self._data.reshape(new_shape), cls())


class UnsqueezeBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (g.squeeze(self.dim),)


def unsqueeze(self: Tensor, dim: int) -> Tensor:
    d = wrap_dim(dim, self._data.ndim + 1)
    return make_view(self, self._data.reshape(self._data.shape[:d] + (1,) + self._data.shape[d:]),
                     _node(UnsqueezeBackward0, dim=d))


def flatten(self: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    n = self._data.ndim
    if n == 0:
        return reshape(self, (1,))
    s, e = wrap_dim(start_dim, n), wrap_dim(end_dim, n)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return self
    shape = self._data.shape
    return reshape(self, shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])


def unflatten(self: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    n = self._data.ndim
    d = wrap_dim(dim, n)
    shape = self._data.shape
    inner = infer_size(tuple(sizes), shape[d])
    return view(self, shape[:d] + inner + shape[d + 1:])


def ravel(self: Tensor) -> Tensor:
    return reshape(self, (-1,))


# ---- basic slicing: select / narrow / getitem views ------------------------------------------------
class _EmbedNode(Node):
    """Backward of a basic-indexing view: the gradient placed into zeros of the input's shape."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (embed(g, self._meta[0][0], self.key),)


class SelectBackward0(_EmbedNode):
    __slots__ = ()


class SliceBackward0(_EmbedNode):
    __slots__ = ()


class _EmbedBackward(Node):
    """Backward of :func:`embed` (for double backward): index the gradient again."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (basic_index(g, self.key, SliceBackward0),)


def embed(g: Tensor, shape: tuple[int, ...], key: tuple) -> Tensor:
    """Zeros of ``shape`` with ``g`` written at ``key`` (a basic index): the gradient of ``x[key]``."""
    xp = np if g._device is CPU else xp_of(g._device)
    arr = xp.zeros(shape, g._dtype.np)
    arr[key] = g._data
    out = from_array(arr, g._dtype, g._device)
    if g._rg and STATE.enabled:
        record(out, _node(_EmbedBackward, key=key), (g,))
    return out


def basic_index(self: Tensor, key: tuple, cls: type[Node]) -> Tensor:
    """View ``self[key]`` for a normalised basic key (ints, slices with step > 0, None)."""
    return make_view(self, self._data[key], _node(cls, key=key))


def select(self: Tensor, dim: int, index: int) -> Tensor:
    n = self._data.ndim
    if n == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, n)
    size = self._data.shape[d]
    index = int(index)
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(self._data.shape)} at "
                         f"dimension {d}")
    if index < 0:
        index += size
    return basic_index(self, (slice(None),) * d + (index,), SelectBackward0)


def narrow(self: Tensor, dim: int, start: Any, length: int) -> Tensor:
    d = wrap_dim(dim, self._data.ndim)
    size = self._data.shape[d]
    start = int(start)
    if start < 0:
        start += size
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return basic_index(self, (slice(None),) * d + (slice(start, start + length),), SliceBackward0)


class UnbindBackward0(Node):
    __slots__ = ()

    def backward(self, *grads: Tensor) -> tuple:
        from .shape import stack
        return (stack(grads, self.dim),)


class SplitBackward0(Node):
    __slots__ = ()

    def backward(self, *grads: Tensor) -> tuple:
        from .shape import cat
        return (cat(grads, self.dim),)


def _multi_view(self: Tensor, arrays: list, node: Node) -> tuple[Tensor, ...]:
    outs = [make_view(self, a) for a in arrays]
    if self._rg and STATE.enabled:
        record(outs, node, (self,))
    return tuple(outs)


def unbind(self: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    d = wrap_dim(dim, self._data.ndim)
    arr = self._data
    key = (slice(None),) * d
    return _multi_view(self, [arr[key + (i,)] for i in range(arr.shape[d])], _node(UnbindBackward0, dim=d))


def split(self: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    d = wrap_dim(dim, self._data.ndim)
    size = self._data.shape[d]
    if _isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and not (step == 0 and size == 0):
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of "
                               f"{size}")
        bounds = list(range(0, size, step)) if step else [0]
        sizes = [min(step, size - b) for b in bounds]
        cls_name = "SplitBackward0"
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
                               f"size at dimension {d}), but got split_sizes={sizes}")
        cls_name = "SplitWithSizesBackward0"
    key = (slice(None),) * d
    arrays, start = [], 0
    for s in sizes:
        arrays.append(self._data[key + (slice(start, start + s),)])
        start += s
    node = _node(SplitBackward0 if cls_name == "SplitBackward0" else SplitWithSizesBackward0, dim=d)
    return _multi_view(self, arrays, node)


class SplitWithSizesBackward0(SplitBackward0):
    __slots__ = ()


def chunk(self: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    d = wrap_dim(dim, self._data.ndim)
    size = self._data.shape[d]
    step = -(-size // chunks) if size else 1
    return split(self, step, d)


def diagonal(self: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    n = self._data.ndim
    d1, d2 = wrap_dim(dim1, n), wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    arr = self._data.diagonal(offset, d1, d2)
    return make_view(self, arr, _node(DiagonalBackward0, offset=offset, dim1=d1, dim2=d2))


class DiagonalBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        from .creation import zeros
        z = zeros(self._meta[0][0], dtype=g.dtype, device=g.device)
        return (z.diagonal_scatter(g, self.offset, self.dim1, self.dim2),)


def movedim(self: Tensor, source: Any, destination: Any) -> Tensor:
    n = self._data.ndim
    src = dim_list(source, n)
    dst = dim_list(destination, n)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
                           f"contain the same number of dims as destination ({list(dst)} dims)")
    order = [d for d in range(n) if d not in src]
    perm = [0] * n
    for s, d in zip(src, dst, strict=True):
        perm[d] = s
    it = iter(order)
    for i in range(n):
        if i not in dst:
            perm[i] = next(it)
    return permute(self, tuple(perm))


moveaxis = movedim


class AsStridedBackward0(Node):
    """Gradient of a view given by storage positions ``index`` (flat positions in the input)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        from .indexing import scatter_flat
        return (scatter_flat(g, self._meta[0][0], self.index),)


def _storage_positions(arr: Any, ref: Any) -> Any:
    """For each element of ``arr`` (a view into ``ref``'s memory), its flat C-order index in ``ref``."""
    xp = np if isinstance(arr, np.ndarray) else xp_of(None)
    item = arr.itemsize

    def offsets(a: Any, base_ptr: int) -> Any:
        off = xp.zeros(a.shape, dtype=np.int64) + (_ptr(a) - base_ptr) // item
        for d, (n, s) in enumerate(zip(a.shape, a.strides, strict=True)):
            shape = [1] * a.ndim
            shape[d] = n
            off = off + (xp.arange(n, dtype=np.int64) * (s // item)).reshape(shape)
        return off

    base_ptr = _ptr(ref)
    ref_off = offsets(ref, base_ptr).reshape(-1)
    arr_off = offsets(arr, base_ptr)
    order = xp.argsort(ref_off, kind="stable")
    return order[xp.searchsorted(ref_off[order], arr_off)]


def _ptr(a: Any) -> int:
    return a.__array_interface__["data"][0] if isinstance(a, np.ndarray) else a.data.ptr


def as_strided(self: Tensor, size: Sequence[int], stride: Sequence[int], storage_offset: int | None = None) -> Tensor:
    """A view with explicit sizes/strides (in elements) over ``self``'s storage."""
    root = self._root_array()
    offset = self.storage_offset() if storage_offset is None else storage_offset
    item = self._dtype.itemsize
    need = offset + sum((s - 1) * st for s, st in zip(size, stride, strict=True) if s > 0) + 1
    if any(s == 0 for s in size):
        need = 0
    flat = root.reshape(-1) if root.flags.c_contiguous else None
    if flat is None or need > flat.size:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, "
                           f"and itemsize {item} requiring a storage size of {need * item} are out of bounds for "
                           f"storage of size {root.size * item}")
    xp = np if self._device is CPU else xp_of(self._device)
    lib = np.lib.stride_tricks if xp is np else xp.lib.stride_tricks
    arr = lib.as_strided(flat[offset:], tuple(size), tuple(s * item for s in stride))
    node = None
    if self._rg and STATE.enabled:
        node = _node(AsStridedBackward0, index=from_array(_storage_positions(arr, self._data), None, self._device))
    return make_view(self, arr, node)


class CopySlices(Node):
    """History of a base after an in-place op on one of its views: the op's gradient is applied to the
    slice of the base's gradient the view covers; the rest passes through."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        from .indexing import gather_flat, scatter_flat_into
        flat_idx = self.index
        view_grad = gather_flat(g, flat_idx, self.view_shape)
        fn = self.fn
        res = fn.backward(view_grad)
        base_grad = scatter_flat_into(g, flat_idx, res[0])
        return (base_grad,) + tuple(res[1:])


def rebase_view(view_t: Tensor, node: Node) -> None:
    """After an in-place op recorded as ``node`` on view ``view_t``: rebase its base's history."""
    base = view_t._base
    from ..autograd.graph import _reduce_to
    index = from_array(_storage_positions(view_t._data, base._data), None, base._device)
    cs = CopySlices()
    # the op's first gradient goes to the base slice: reduce it to the view's shape inside fn
    fn_meta = node._meta
    cs.__dict__.update(index=index, view_shape=view_t._data.shape, fn=_Reducing(node, fn_meta, _reduce_to))
    cs._next = (grad_edge(base),) + node._next[1:]
    cs._meta = ((base._data.shape, base._dtype),) + fn_meta[1:]
    base._grad_fn = cs
    base._output_nr = 0
    base._rg = True
    vnode = _node(AsStridedBackward0, index=index)
    vnode._next = ((cs, 0),)
    vnode._meta = ((base._data.shape, base._dtype),)
    view_t._grad_fn = vnode
    view_t._output_nr = 0
    view_t._rg = True


class _Reducing:
    """Wraps the in-place op's node so its first gradient is reduced to the view's shape."""

    __slots__ = ("node", "meta", "reduce")

    def __init__(self, node: Node, meta: tuple, reduce: Any) -> None:
        self.node, self.meta, self.reduce = node, meta, reduce

    def backward(self, g: Tensor) -> tuple:
        outs = self.node.backward(g)
        first = outs[0]
        if first is not None:
            first = self.reduce(first, self.meta[0])
        return (first,) + tuple(outs[1:])


def contiguous(self: Tensor, memory_format: Any = None) -> Tensor:
    if self.is_contiguous():
        return self
    return self.clone()


bind({
    "view": view, "reshape": reshape, "view_as": view_as, "reshape_as": reshape_as, "t": t,
    "transpose": transpose, "swapaxes": transpose, "swapdims": transpose, "permute": permute,
    "expand": expand, "expand_as": expand_as, "broadcast_to": broadcast_to, "squeeze": squeeze,
    "unsqueeze": unsqueeze, "flatten": flatten, "unflatten": unflatten, "ravel": ravel, "select": select,
    "narrow": narrow, "unbind": unbind, "split": split, "chunk": chunk, "diagonal": diagonal, "movedim": movedim,
    "moveaxis": movedim, "as_strided": as_strided, "contiguous": contiguous,
})
Tensor.T = property(_T)  # type: ignore[attr-defined]
Tensor.mT = property(_mT)  # type: ignore[attr-defined]
Tensor.mH = property(_mH)  # type: ignore[attr-defined]
Tensor.H = property(lambda self: _T(self).conj() if self._dtype.is_complex else _T(self))  # type: ignore

__all__ = ["view", "reshape", "view_as", "reshape_as", "t", "transpose", "swapaxes", "swapdims", "permute", "expand", "expand_as", "broadcast_to", "squeeze", "unsqueeze", "flatten", "unflatten", "ravel", "select", "narrow", "unbind", "split", "chunk", "diagonal", "movedim", "moveaxis", "as_strided", "contiguous"]
