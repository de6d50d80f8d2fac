"""Indexing: ``t[key]`` (basic indexing → views; advanced → copies), ``t[key] = v``, ``index_put``,
``masked_fill``, ``where``, ``scatter``/``gather`` and the flat-position helpers used by view
autograd."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU
from ..autograd.grad_mode import STATE
from ._dispatch import (
    Node,
    Tensor,
    bind,
    binary_dtype,
    check_inplace,
    from_array,
    history_alias,
    inplace,
    new_tensor,
    record,
    wrap_dim,
    xp_of,
)
from .views import SelectBackward0, SliceBackward0, UnsqueezeBackward0, basic_index, make_view

_isinstance = isinstance


def _xp(t: Tensor) -> Any:
    return np if t._device is CPU else xp_of(t._device)


def _node(cls: type[Node], **attrs: Any) -> Node:
    n = cls()
    n.__dict__.update(attrs)
    return n


# ---- key parsing ---------------------------------------------------------------------------------------
def _is_advanced(k: Any) -> bool:
    if _isinstance(k, Tensor):
        return k._data.ndim > 0 or k._dtype is D.bool or k._dtype.category >= 2
    return _isinstance(k, (list, np.ndarray)) or type(k) is bool


def _index_array(k: Any, xp: Any) -> Any:
    """An advanced-index element as a backend array (int64 or bool), with torch's dtype check."""
    if _isinstance(k, Tensor):
        if k._dtype.category >= 2:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        arr = k._data
        if k._dtype is D.uint8:
            arr = arr.astype(bool)
        return arr
    if type(k) is bool:
        return xp.asarray(k)
    arr = np.asarray(k)
    if arr.dtype.kind == "f":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    if arr.dtype.kind not in "biu" and arr.size:
        raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
                         "valid indices (got " + type(k).__name__ + ")")
    if arr.size == 0:
        arr = arr.astype(np.int64)
    return xp.asarray(arr)


def _normalize(self: Tensor, key: Any) -> tuple[tuple, bool]:
    """Expand ``...``, check ints/slices against the shape; return (key, advanced?)."""
    if type(key) is not tuple:
        key = (key,)
    shape = self._data.shape
    consumed = 0
    advanced = False
    for k in key:
        if k is None or k is Ellipsis:
            continue
        if _isinstance(k, Tensor) and k._dtype is D.bool or (type(k) is bool):
            advanced = True
            consumed += k._data.ndim if _isinstance(k, Tensor) else 0
            continue
        if _is_advanced(k):
            advanced = True
            if _isinstance(k, (list, np.ndarray)):
                arr = np.asarray(k)
                consumed += arr.ndim if arr.dtype == bool else 1
                continue
        consumed += 1
    if consumed > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    out: list[Any] = []
    dim = 0
    ell = False
    for k in key:
        if k is Ellipsis:
            if ell:
                raise IndexError("an index can only have a single ellipsis ('...')")
            ell = True
            n = len(shape) - consumed
            out.extend([slice(None)] * n)
            dim += n
            continue
        if k is None:
            out.append(None)
            continue
        if _isinstance(k, Tensor) and not _is_advanced(k):
            k = int(k)
        if _isinstance(k, (int, np.integer)) and not _isinstance(k, bool):
            size = shape[dim]
            if not -size <= k < size:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with size {size}")
            out.append(int(k) + size if k < 0 else int(k))
            dim += 1
        elif _isinstance(k, slice):
            if k.step is not None and _step(k.step) <= 0:
                if _step(k.step) == 0:
                    raise ValueError("slice step cannot be zero")
                raise ValueError("step must be greater than zero")
            out.append(slice(*(None if v is None else int(v) for v in (k.start, k.stop, k.step))))
            dim += 1
        elif advanced and (_is_advanced(k)):
            out.append(k)
            if _isinstance(k, Tensor) and k._dtype is D.bool:
                dim += k._data.ndim
            elif type(k) is bool:
                pass
            else:
                arr = np.asarray(k) if not _isinstance(k, Tensor) else None
                dim += arr.ndim if arr is not None and arr.dtype == bool else 1
        else:
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
                             f"valid indices (got {type(k).__name__})")
    return tuple(out), advanced


def _step(v: Any) -> int:
    return int(v)


def _basic_cls(key: tuple) -> type[Node]:
    for k in reversed(key):
        if k is None:
            return UnsqueezeBackward0
        if _isinstance(k, int):
            return SelectBackward0
        if _isinstance(k, slice) and k != slice(None):
            return SliceBackward0
    return SliceBackward0


class IndexBackward0(Node):
    """Gradient of advanced indexing: scatter-add into zeros."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        from .creation import zeros
        z = zeros(self._meta[0][0], dtype=g.dtype, device=g.device)
        return (_index_put_impl(z, self.key, g, True),)


def _advanced_key(self: Tensor, key: tuple) -> tuple:
    xp = _xp(self)
    return tuple(_index_array(k, xp) if _is_advanced(k) else k for k in key)


def _check_mask(self: Tensor, key: tuple) -> None:
    dim = 0
    shape = self._data.shape
    for i, k in enumerate(key):
        if k is None:
            continue
        if hasattr(k, "dtype") and k.dtype == bool and k.ndim:
            if tuple(k.shape) != tuple(shape[dim:dim + k.ndim]):
                raise IndexError(f"The shape of the mask {list(k.shape)} at index {i} does not match the shape of "
                                 f"the indexed tensor {list(shape)} at index {dim}")
            dim += k.ndim
        elif hasattr(k, "dtype") and k.dtype != bool:
            size = shape[dim]
            if k.size and (int(k.max()) >= size or int(k.min()) < -size):
                bad = int(k.max()) if int(k.max()) >= size else int(k.min())
                raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")
            dim += 1
        elif hasattr(k, "dtype"):
            pass
        else:
            dim += 1


def getitem(self: Tensor, key: Any) -> Tensor:
    """``self[key]``: ints/slices/None/... give a view; tensors, lists and masks give a copy."""
    if type(key) is int:
        return basic_index(self, _normalize(self, key)[0], SelectBackward0)
    key, advanced = _normalize(self, key)
    if not advanced:
        if self._data.ndim == 0 and not key:
            return make_view(self, self._data.view(), _node(SliceBackward0, key=key))
        return basic_index(self, key, _basic_cls(key))
    akey = _advanced_key(self, key)
    _check_mask(self, akey)
    arr = self._data[akey]
    res = from_array(arr, self._dtype, self._device)
    if self._rg and STATE.enabled:
        record(res, _node(IndexBackward0, key=akey), (self,))
    return res


# ---- index_put / setitem -------------------------------------------------------------------------------
class IndexPutBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        key = self.key
        from .creation import zeros
        g_self = _index_put_impl(g, key, zeros((), dtype=g.dtype, device=g.device), False) \
            if not self.accumulate else g
        g_values = _gather_key(g, key) if self._next[1] is not None else None
        return g_self, g_values


class _GatherKeyBackward(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        from .creation import zeros
        return (_index_put_impl(zeros(self._meta[0][0], dtype=g.dtype, device=g.device), self.key, g, True),)


def _gather_key(g: Tensor, key: tuple) -> Tensor:
    res = from_array(g._data[key], g._dtype, g._device)
    if g._rg and STATE.enabled:
        record(res, _node(_GatherKeyBackward, key=key), (g,))
    return res


def _value_array(self: Tensor, values: Any, target_shape: tuple) -> Any:
    if _isinstance(values, Tensor):
        v = values._data
        if v.dtype != self._data.dtype:
            v = v.astype(self._data.dtype)
        try:
            np.broadcast_shapes(v.shape, target_shape)
        except ValueError:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(v.shape)} cannot be broadcast to "
                               f"indexing result of shape {list(target_shape)}") from None
        return v
    return values


def _index_put_impl(self: Tensor, key: tuple, values: Any, accumulate: bool) -> Tensor:
    """Out-of-place index_put on backend-level key (differentiable)."""
    xp = _xp(self)
    arr = self._data.copy()
    target_shape = arr[key].shape
    v = _value_array(self, values, target_shape)
    if accumulate:
        if xp is np:
            np.add.at(arr, key, np.broadcast_to(v, target_shape) if hasattr(v, "shape") else v)
        else:
            xp.add.at(arr, key, v)
    else:
        arr[key] = v
    res = from_array(arr, self._dtype, self._device)
    if STATE.enabled and (self._rg or (_isinstance(values, Tensor) and values._rg)):
        record(res, _node(IndexPutBackward0, key=key, accumulate=accumulate), (self, values))
    return res


def _key_from_indices(self: Tensor, indices: Any) -> tuple:
    key, _ = _normalize(self, tuple(indices))
    akey = _advanced_key(self, key)
    _check_mask(self, akey)
    return akey


def index_put(input: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    return _index_put_impl(input, _key_from_indices(input, indices), values, accumulate)


def index_put_(self: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    """In place: ``self[indices] = values`` (``accumulate=True`` adds, duplicates included)."""
    key = _key_from_indices(self, indices)
    check_inplace(self)
    if STATE.enabled and (self._rg or (_isinstance(values, Tensor) and values._rg)):
        return inplace(self, _index_put_impl(history_alias(self), key, values, accumulate))
    target_shape = self._data[key].shape
    v = _value_array(self, values, target_shape)
    if accumulate:
        _xp(self).add.at(self._data, key, v)
    else:
        self._data[key] = v
    self._vc[0] += 1
    return self


def setitem(self: Tensor, key: Any, value: Any) -> None:
    """``self[key] = value`` with broadcasting; basic keys write through a view (CopySlices in autograd)."""
    if _isinstance(value, Tensor):
        pass
    elif _isinstance(value, (int, float, bool, complex)):
        pass
    elif _isinstance(value, (np.ndarray, list, tuple, np.generic)):
        from .creation import tensor
        value = tensor(value, dtype=self._dtype, device=self._device)
    else:
        raise TypeError(f"can't assign a {type(value).__name__} to a {self.type()}")
    nkey, advanced = _normalize(self, key)
    if advanced:
        index_put_(self, key if type(key) is tuple else (key,), value if _isinstance(value, Tensor) else
                   _scalar_tensor(value, self))
        return
    needs = STATE.enabled and (self._rg or (_isinstance(value, Tensor) and value._rg))
    if needs:
        check_inplace(self)
        view_t = getitem(self, key)
        view_t.copy_(value)
        return
    check_inplace(self)
    if _isinstance(value, Tensor):
        v = value._data
        if v.dtype != self._data.dtype:
            from .creation import _cast_array
            v = _cast_array(v, self._dtype) if _isinstance(v, np.ndarray) else v.astype(self._data.dtype)
        try:
            self._data[nkey] = v
        except ValueError:
            target = self._data[nkey].shape
            raise RuntimeError(f"The expanded size of the tensor ({target[-1] if target else 1}) must match the "
                               f"existing size ({v.shape[-1] if v.ndim else 1}) at non-singleton dimension "
                               f"{max(len(target) - 1, 0)}.  Target sizes: {list(target)}.  Tensor sizes: "
                               f"{list(v.shape)}") from None
    else:
        self._data[nkey] = value
    self._vc[0] += 1


def _scalar_tensor(value: Any, like: Tensor) -> Tensor:
    from .creation import tensor
    return tensor(value, dtype=like._dtype, device=like._device)


# ---- flat-position helpers (view autograd) -----------------------------------------------------------
def scatter_flat(g: Tensor, shape: tuple, index: Tensor) -> Tensor:
    """Zeros of ``shape`` with ``g``'s elements added at flat positions ``index`` (same shape as g)."""
    from .creation import zeros
    z = zeros(shape, dtype=g.dtype, device=g.device).reshape(-1)
    return _index_put_impl(z, (index._data.reshape(-1),), g.reshape(-1), True).reshape(shape)


def gather_flat(g: Tensor, index: Tensor, shape: tuple) -> Tensor:
    """Elements of ``g`` at flat positions ``index``, shaped ``shape``."""
    return _gather_key(g.reshape(-1), (index._data.reshape(-1),)).reshape(shape)


def scatter_flat_into(g: Tensor, index: Tensor, values: Tensor | None) -> Tensor:
    """``g`` with the flat positions ``index`` replaced by ``values`` (zeros when None)."""
    from .creation import zeros
    v = values.reshape(-1) if values is not None else zeros((), dtype=g.dtype, device=g.device)
    return _index_put_impl(g.reshape(-1), (index._data.reshape(-1),), v, False).reshape(g.shape)


# ---- masked_fill / where / scatter / gather -----------------------------------------------------------
class MaskedFillBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (mask,) = self.saved
        gv = None
        if self._next[1] is not None:
            gv = g.masked_fill(~mask, 0).sum()
        return (g.masked_fill(mask, 0), gv)


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``value`` where ``mask`` is True (mask broadcasts to ``input``)."""
    if not _isinstance(mask, Tensor) or mask._dtype is not D.bool:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{mask._dtype if _isinstance(mask, Tensor) else type(mask).__name__}")
    xp = _xp(input)
    v = value
    if _isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value._data.ndim} dimension(s).")
        v = value._data
    try:
        shape = np.broadcast_shapes(input._data.shape, mask._data.shape)
    except ValueError:
        from ._dispatch import broadcast_error
        raise broadcast_error(input._data.shape, mask._data.shape) from None
    arr = xp.where(mask._data, xp.asarray(v, dtype=input._dtype.np), input._data)
    if arr.shape != shape:
        arr = xp.broadcast_to(arr, shape).copy()
    res = new_tensor(arr, input._dtype, input._device)
    if STATE.enabled and (input._rg or (_isinstance(value, Tensor) and value._rg)):
        node = record(res, MaskedFillBackward0(), (input, value))
        node.save(mask)
    return res


def masked_fill_(self: Tensor, mask: Tensor, value: Any) -> Tensor:
    if STATE.enabled and (self._rg or (_isinstance(value, Tensor) and value._rg)):
        check_inplace(self)
        return inplace(self, masked_fill(history_alias(self), mask, value))
    check_inplace(self)
    res = masked_fill(self, mask, value)
    if res._data.shape != self._data.shape:
        raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the broadcast shape "
                           f"{list(res._data.shape)}")
    self._data[...] = res._data
    self._vc[0] += 1
    return self


class WhereBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (cond,) = self.saved
        return (None, g.masked_fill(~cond, 0) if self._next[1] is not None else None,
                g.masked_fill(cond, 0) if self._next[2] is not None else None)


def where(condition: Tensor, input: Any = None, other: Any = None, *, out: Tensor | None = None) -> Any:
    """``input`` where ``condition`` else ``other``; with one argument, ``nonzero(as_tuple=True)``."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if condition._dtype is not D.bool:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{condition._dtype._short}")
    dt = binary_dtype(input, other)
    like = input if _isinstance(input, Tensor) else other if _isinstance(other, Tensor) else condition
    xp = _xp(like)
    a = input._data if _isinstance(input, Tensor) else input
    b = other._data if _isinstance(other, Tensor) else other
    try:
        arr = xp.where(condition._data, xp.asarray(a, dtype=dt.np), xp.asarray(b, dtype=dt.np))
    except ValueError:
        from ._dispatch import broadcast_error
        raise broadcast_error(condition._data.shape, np.broadcast_shapes(xp.shape(a), xp.shape(b))) from None
    res = new_tensor(arr, dt, like._device)
    if STATE.enabled and any(_isinstance(t, Tensor) and t._rg for t in (input, other)):
        node = record(res, WhereBackward0(), (condition, input, other))
        node.save(condition)
    if out is not None:
        from ._dispatch import write_out
        return write_out(out, res)
    return res


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    xp = _xp(input)
    idx = xp.nonzero(input._data) if input._data.ndim else xp.nonzero(input._data.reshape(1))
    if as_tuple:
        return tuple(from_array(i.astype(np.int64), D.int64, input._device) for i in idx)
    arr = xp.stack(idx, axis=1).astype(np.int64) if input._data.ndim else xp.zeros((len(idx[0]), 0), np.int64)
    return from_array(arr, D.int64, input._device)


def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


class ScatterBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (index,) = self.saved
        d = self.dim
        from .creation import zeros
        gs = g.scatter(d, index, zeros((), dtype=g.dtype, device=g.device).expand(index.shape)) \
            if self._next[0] is not None else None
        gsrc = g.gather(d, index) if len(self._next) > 2 and self._next[2] is not None else None
        return (gs, None, gsrc)


class ScatterAddBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (index,) = self.saved
        return (g, None, g.gather(self.dim, index) if self._next[2] is not None else None)


def _scatter_key(self_shape: tuple, index: Any, dim: int, xp: Any) -> tuple:
    """The advanced-indexing key addressing ``self`` at ``index`` along ``dim`` (other dims: positions)."""
    grids = xp.indices(index.shape, sparse=True)
    return tuple(index if i == dim else grids[i] for i in range(len(self_shape)))


def _check_index(index: Tensor, name: str) -> None:
    if index._dtype is not D.int64:
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> Tensor:
    """Write ``src`` (or ``value``) into a copy of ``input`` at ``index`` along ``dim``."""
    _check_index(index, "scatter")
    d = wrap_dim(dim, input._data.ndim)
    xp = _xp(input)
    if src is None:
        src = value
    arr = input._data.copy()
    key = _scatter_key(arr.shape, index._data, d, xp)
    v = src._data[tuple(slice(0, s) for s in index._data.shape)] if _isinstance(src, Tensor) else src
    if reduce == "add":
        xp.add.at(arr, key, v)
    elif reduce == "multiply":
        xp.multiply.at(arr, key, v)
    else:
        arr[key] = v
    res = from_array(arr, input._dtype, input._device)
    if STATE.enabled and (input._rg or (_isinstance(src, Tensor) and src._rg)):
        node = record(res, _node(ScatterBackward0, dim=d), (input, None, src))
        node.save(index)
    return res


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    _check_index(index, "scatter_add")
    d = wrap_dim(dim, input._data.ndim)
    xp = _xp(input)
    arr = input._data.copy()
    key = _scatter_key(arr.shape, index._data, d, xp)
    xp.add.at(arr, key, src._data[tuple(slice(0, s) for s in index._data.shape)])
    res = from_array(arr, input._dtype, input._device)
    if STATE.enabled and (input._rg or src._rg):
        node = record(res, _node(ScatterAddBackward0, dim=d), (input, None, src))
        node.save(index)
    return res


class GatherBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        (index,) = self.saved
        from .creation import zeros
        return (scatter_add(zeros(self._meta[0][0], dtype=g.dtype, device=g.device), self.dim, index, g),)


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """Pick ``input`` values at ``index`` along ``dim``."""
    _check_index(index, "gather")
    d = wrap_dim(dim, input._data.ndim)
    xp = _xp(input)
    if index._data.ndim != input._data.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    size = input._data.shape[d]
    if index._data.size and (int(index._data.max()) >= size or int(index._data.min()) < -size):
        raise RuntimeError(f"index {int(index._data.max())} is out of bounds for dimension {d} with size {size}")
    arr = xp.take_along_axis(input._data, index._data, axis=d) if all(
        i <= s or j == d for j, (i, s) in enumerate(zip(index._data.shape, input._data.shape, strict=True))) \
        else None
    if arr is None or arr.shape != index._data.shape:
        arr = input._data[_scatter_key(input._data.shape, index._data, d, xp)]
    res = from_array(arr, input._dtype, input._device)
    if STATE.enabled and input._rg:
        node = record(res, _node(GatherBackward0, dim=d), (input,))
        node.save(index)
    return res


def _inplace_variant(fn: Any) -> Any:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        check_inplace(self)
        src_rg = any(_isinstance(a, Tensor) and a._rg for a in list(args) + list(kwargs.values()))
        if STATE.enabled and (self._rg or src_rg):
            return inplace(self, fn(history_alias(self), *args, **kwargs))
        res = fn(self, *args, **kwargs)
        self._data[...] = res._data
        self._vc[0] += 1
        return self
    method.__name__ = fn.__name__ + "_"
    return method


scatter_ = _inplace_variant(scatter)
scatter_add_ = _inplace_variant(scatter_add)

bind({"__getitem__": getitem, "__setitem__": setitem, "index_put": index_put, "index_put_": index_put_,
      "masked_fill": masked_fill, "masked_fill_": masked_fill_, "where": lambda self, cond, other: where(
          cond, self, other), "nonzero": nonzero, "argwhere": argwhere, "scatter": scatter, "scatter_": scatter_,
      "scatter_add": scatter_add, "scatter_add_": scatter_add_, "gather": gather})

__all__ = ["index_put", "index_put_", "masked_fill", "masked_fill_", "where", "nonzero", "argwhere", "scatter", "scatter_add", "gather", "scatter_", "scatter_add_"]
