"""View operators: results share memory (and the version counter) with their input; ``_base`` is the root.

Each view's backward is written with ember ops (often another view), so double backward works.
Also the machinery torch uses for in-place ops on views: ``rebase_view`` moves the base's history onto
a ``CopySlices`` node, so gradients of the base see the in-place change made through the view.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU
from .._core.memory_format import check_rank, contiguous_format, preserve_format
from .._core.warn import warn
from .._tensor import CONJ, Size
from ..autograd.grad_mode import STATE
from ..autograd.graph import grad_edge
from ._dispatch import (
    NO_DIM,
    Node,
    Tensor,
    bind,
    broadcast_error,
    check_inplace,
    from_array,
    given_dim,
    record,
    sized,
    wrap_dim,
    writable_alias,
    xp_of,
)
from ._signature import Signature, check

_isinstance = isinstance


def _xp(t: Tensor) -> Any:
    return np if t._device is CPU else xp_of(t._device)


def node_of(cls: type[Node], **attrs: Any) -> Node:
    """An instance of node class ``cls`` carrying ``attrs`` (what its backward needs)."""
    n = cls()
    n.__dict__.update(attrs)
    return n


def make_view(src: Tensor, arr: Any, cls: type[Node] | None = None, **attrs: Any) -> Tensor:
    """A tensor viewing ``arr`` (a view of ``src``'s array), sharing ``src``'s root base and version
    counter; when autograd records, its grad_fn is a ``cls`` node carrying ``attrs``. A view of an expanded
    tensor whose own elements are distinct is writable, as torch's (NumPy marks every view of a broadcast
    array read-only)."""
    if type(arr) is np.ndarray and not arr.flags.writeable:
        alias = writable_alias(arr)
        arr = arr if alias is None else alias
    t = from_array(arr, src._dtype, src._device)
    t._base = src._base if src._base is not None else src
    t._vc = src._vc
    if src._multi_output_view:
        t._multi_output_view = True
    if src._math_bits:
        t._math_bits = src._math_bits
    if cls is not None and src._rg and (STATE.enabled or not src._fw_only):   # inference mode: no tangent
        if STATE.enabled:
            n = cls()
            if attrs:
                n.__dict__.update(attrs)
            record(t, n, (src,))
            if src._no_grad_view:   # torch: in-place changes through it are refused too
                t._no_grad_view = True
        else:   # torch: a view made under no_grad still requires grad, as a leaf that in-place ops refuse
            t._rg = True
            t._no_grad_view = True
    return t


def int_arg(v: Any, fn: str, name: str, pos: int) -> int:
    """An int argument (Python int, NumPy integer or 1-element integer tensor), else torch's TypeError."""
    if _isinstance(v, int) and not _isinstance(v, bool):
        return v
    if _isinstance(v, (np.integer, Tensor)) and not (_isinstance(v, Tensor) and v._dtype.category != 1):
        return int(v)
    raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be int, not {type(v).__name__}")


def int_list(args: tuple, fn: str, name: str) -> tuple[int, ...]:
    """Sizes given as ``f(2, 3)`` or ``f((2, 3))`` as a tuple of ints (torch's TypeError otherwise)."""
    if len(args) == 1 and not _isinstance(args[0], (int, np.integer, Tensor)):
        args = tuple(args[0])
    for s in args:   # (a plain loop: these few sizes are mostly ints already)
        if type(s) is not int:
            break
    else:
        return args
    out = []
    for i, s in enumerate(args):
        if _isinstance(s, (int, np.integer)) and not _isinstance(s, bool) or \
                _isinstance(s, Tensor) and s._dtype.category == 1 and s._data.size == 1:
            out.append(int(s))
        else:
            raise TypeError(f"{fn}(): argument '{name}' failed to unpack the object at pos {i + 1} with "
                            f"error \"type must be tuple of ints,but got {type(s).__name__}\"")
    return tuple(out)


def infer_size(shape: tuple[int, ...], numel: int) -> tuple[int, ...]:
    """Resolve one ``-1`` in ``shape`` against ``numel``, with torch's errors."""
    infer = -1
    known = 1
    for i, s in enumerate(shape):
        if s == -1:
            if infer >= 0:
                raise RuntimeError("only one dimension can be inferred")
            infer = i
        elif s < 0:
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape {list(shape)}")
        else:
            known *= s
    if infer >= 0:
        if known == 0:
            if numel == 0:
                raise RuntimeError(f"cannot reshape tensor of 0 elements into shape {list(shape)} because "
                                   "the unspecified dimension size -1 can be any value and is ambiguous")
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        if numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        return shape[:infer] + (numel // known,) + shape[infer + 1:]
    if known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


# ---- view / reshape ------------------------------------------------------------------------------------
class ViewBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (reshape(g, self._meta[0][0]),)


class UnsafeViewBackward0(ViewBackward0):
    __slots__ = ()


class ReshapeAliasBackward0(ViewBackward0):
    __slots__ = ()


def _view_strides(old: tuple, strides: tuple, new: tuple) -> tuple | None:
    """Byte strides that give ``old``-shaped memory (``strides``) the shape ``new`` without copying, or
    None when a new dim would span two non-contiguous chunks of the old dims (torch's rule)."""
    if not old:
        old, strides = (1,), (strides[0] if strides else 1,)
    out = [0] * len(new)
    view_d = len(new) - 1
    base = strides[-1]
    old_numel = new_numel = 1
    for d in range(len(old) - 1, -1, -1):
        old_numel *= old[d]
        if d == 0 or (old[d - 1] != 1 and strides[d - 1] != old_numel * base):   # end of a chunk
            while view_d >= 0 and (new_numel < old_numel or new[view_d] == 1):
                out[view_d] = new_numel * base
                new_numel *= new[view_d]
                view_d -= 1
            if new_numel != old_numel:
                return None
            if d > 0:
                base, old_numel, new_numel = strides[d - 1], 1, 1
    return tuple(out) if view_d == -1 else None


def _canonical_reshape(arr: Any, shape: tuple[int, ...]) -> bool:
    """Whether NumPy's reshape of the contiguous ``arr`` (with a size-1 dim) gives torch's strides: it does
    unless a size-1 dim keeps its own stride (the shape is unchanged) or the last dim has size 1 and another
    stride (torch's base)."""
    if not arr.size:
        return True
    if arr.shape[-1] == 1 and arr.strides[-1] != arr.itemsize:
        return False
    return shape != arr.shape or 1 not in shape


def _strided_view(arr: Any, shape: tuple[int, ...], xp: Any) -> Any:
    """``arr`` viewed with ``shape`` without copying, or None when its strides forbid it (as torch)."""
    if arr.flags.c_contiguous and (1 not in arr.shape or _canonical_reshape(arr, shape)):
        return arr.reshape(shape)
    strides = _view_strides(arr.shape, arr.strides, shape)
    return None if strides is None else strided(xp, arr, shape, strides)


def _view_args(shape: tuple) -> tuple[int, ...]:
    if shape:
        try:
            return int_list(shape, "view", "size")
        except TypeError:
            pass
    got = ", ".join(type(s).__name__ for s in shape)
    raise TypeError(f"view() received an invalid combination of arguments - got ({got}), but expected one "
                    "of:\n * (torch.dtype dtype)\n * (tuple of ints size)\n")


def view(self: Tensor, *shape: Any, size: Any = None, dtype: Any = None) -> Tensor:
    """Same data with another shape (or reinterpreted as another dtype); errors where strides forbid it."""
    if size is not None:
        shape = sized(shape, size, "view", "size")
    if dtype is not None:
        shape = sized(shape, dtype, "view", "dtype")
    if len(shape) == 1 and _isinstance(shape[0], D.dtype):
        return _view_dtype(self, shape[0])
    shape = infer_size(_view_args(shape), self._data.size)
    arr = _strided_view(self._data, shape, _xp(self))
    if arr is None:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                           "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
    return make_view(self, arr, ViewBackward0)


def _view_dtype(self: Tensor, dt: D.dtype) -> Tensor:
    """``view(dtype)``: the same bytes read as ``dt`` (last dim rescaled); not differentiable, as torch."""
    src = self._dtype
    arr = self._data
    if self._math_bits:
        what = "conjugate view tensors" if self._math_bits & CONJ else "tensors with negative bit set"
        raise RuntimeError(f"torch.Tensor.view is not supported for {what} when converting to a different dtype.")
    if dt.itemsize != src.itemsize:
        what = f"to view {src._short} as {dt._short} (different element sizes)"
        if arr.ndim == 0:
            raise RuntimeError(f"self.dim() cannot be 0 {what}")
        strides = self.stride()
        ratio = dt.itemsize // src.itemsize
        if ratio > 1 and arr.shape[-1] % ratio:
            raise RuntimeError(f"self.size(-1) must be divisible by {ratio} {what}, but got {arr.shape[-1]}")
        if strides[-1] != 1:   # (a dim of size 1 too, as torch)
            raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got {strides[-1]}")
        if ratio > 1:
            if self.storage_offset() % ratio:
                raise RuntimeError(f"self.storage_offset() must be divisible by {ratio} {what}, but got "
                                   f"{self.storage_offset()}")
            for i, s in enumerate(strides[:-1]):
                if s % ratio:
                    raise RuntimeError(f"self.stride({i}) must be divisible by {ratio} {what}, but got {s}")
    out = from_array(arr.view(dt.np), src, self._device)   # (then ``dt``: a view allocates no complex32 tensor,
    out._dtype = dt                                          # so it does not warn, as torch's)
    out._vc = self._vc
    return out


def reshape(input: Tensor, *args: Any, shape: Any = None) -> Tensor:
    """A view when the strides allow it, otherwise a contiguous copy (``UnsafeViewBackward0``)."""
    if shape is not None or not args:
        args = sized(args, shape, "reshape", "shape")
    shape = infer_size(int_list(args, "reshape", "shape"), input._data.size)
    arr = _strided_view(input._data, shape, _xp(input))
    if arr is not None:   # torch: a view of a contiguous tensor, else an alias with the computed strides
        return make_view(input, arr, ViewBackward0 if input._data.flags.c_contiguous else ReshapeAliasBackward0)
    return unsafe_view(contiguous_copy(input), shape)


def unsafe_view(self: Tensor, shape: tuple[int, ...]) -> Tensor:
    """torch's ``_unsafe_view`` of a contiguous tensor: ``shape`` over the same memory, recorded as
    ``UnsafeViewBackward0`` but not a view (no shared version counter: the input is a temporary)."""
    t = from_array(self._data.reshape(shape), self._dtype, self._device)
    if self._rg and STATE.enabled:
        record(t, UnsafeViewBackward0(), (self,))
    return t


def view_as(self: Tensor, other: Tensor) -> Tensor:
    """Same data with ``other``'s shape (a view)."""
    return view(self, other._data.shape)


def reshape_as(self: Tensor, other: Tensor) -> Tensor:
    """``reshape`` to ``other``'s shape."""
    return reshape(self, other._data.shape)


def contiguous_copy(self: Tensor) -> Tensor:
    """A C-contiguous copy recorded as ``CloneBackward0`` (what torch's contiguous()/reshape do)."""
    a = _xp(self).ascontiguousarray(self._data)
    t = from_array(a.copy() if a is self._data else a, self._dtype, self._device)
    if self._rg and STATE.enabled:
        from .creation import CloneBackward0
        record(t, CloneBackward0(), (self,))
    return t


def contiguous(self: Tensor, memory_format: Any = None) -> Tensor:
    """``self`` when already contiguous (in ``memory_format``), else a copy laid out so (``CloneBackward0``)."""
    if memory_format is None or memory_format is contiguous_format or memory_format is preserve_format:
        if self.is_contiguous():
            return self
        if memory_format is preserve_format:
            raise RuntimeError("preserve memory format is unsupported by the contiguous operator")
        return contiguous_copy(self)
    check_rank(self._data.shape, memory_format)
    return self if self.is_contiguous(memory_format) else self.clone(memory_format=memory_format)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Dims ``start_dim..end_dim`` merged into one (a view when possible; 0-d gives 1-d)."""
    n = input._data.ndim
    if n == 0:
        wrap_dim(start_dim, 0)
        wrap_dim(end_dim, 0)
        return reshape(input, (1,))
    s, e = wrap_dim(start_dim, n), wrap_dim(end_dim, n)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shape = input._data.shape
    return reshape(input, shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Dim ``dim`` split into ``sizes`` (one may be -1), a view."""
    d = wrap_dim(dim, input._data.ndim)
    sizes = int_list((sizes,), "unflatten", "sizes")
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    shape = input._data.shape
    unexpected = "unflatten got an unexpected error:\n"   # torch's wrapping of its inner errors
    if not shape:
        raise RuntimeError(unexpected + "Dimension specified as 0 but tensor has no dimensions")
    known = math.prod(v for v in sizes if v != -1)
    if min(sizes) >= -1 and sizes.count(-1) <= 1 and (   # other sizes: infer_size's errors
            (shape[d] % known if known else shape[d]) if -1 in sizes else known != shape[d]):
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
                           f"{d} ({shape[d]}) in the input tensor")
    try:
        new = infer_size(sizes, shape[d])
    except RuntimeError as e:
        raise RuntimeError(unexpected + str(e)) from None
    return view(input, shape[:d] + new + shape[d + 1:])


def ravel(input: Tensor) -> Tensor:
    """A 1-d view of ``input`` (of a contiguous copy when it is not contiguous, as torch)."""
    return view(contiguous(input), -1)


# ---- transposes ----------------------------------------------------------------------------------------
class TBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (t(g),)


def _at_most_2d(input: Tensor, name: str) -> None:
    if input._data.ndim > 2:
        raise RuntimeError(f"{name}() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D")


def t(input: Tensor) -> Tensor:
    """Transpose of a tensor of at most 2 dims."""
    if input._sparse_layout and input.is_sparse:   # sparse COO: ember.sparse's method (a class flag first)
        return input.t()
    _at_most_2d(input, "t")
    return make_view(input, input._data.T, TBackward0)


def _t_inplace(self: Tensor) -> Tensor:
    """``t`` for ``t_`` (its error names ``t_``)."""
    if not self._sparse_layout:
        _at_most_2d(self, "t_")
    return t(self)


_t_inplace.__name__ = "t"


class TransposeBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (transpose(g, self.dim0, self.dim1),)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Dims ``dim0`` and ``dim1`` swapped (a view)."""
    if input._sparse_layout and input.is_sparse:   # sparse COO: ember.sparse's method (a class flag first)
        return input.transpose(dim0, dim1)
    n = input._data.ndim
    d0 = wrap_dim(dim0 if type(dim0) is int else int_arg(dim0, "transpose", "dim0", 1), n)
    d1 = wrap_dim(dim1 if type(dim1) is int else int_arg(dim1, "transpose", "dim1", 2), n)
    return make_view(input, input._data.swapaxes(d0, d1) if n else input._data.view(), TransposeBackward0,
                     dim0=d0, dim1=d1)


swapdims = transpose


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """``transpose`` under NumPy's argument names."""
    return transpose(input, axis0, axis1)


class PermuteBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        inverse = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inverse[d] = i
        return (permute(g, inverse),)


def permute(input: Tensor, *args: Any, dims: Any = None) -> Tensor:
    """Dims reordered as ``dims`` (a view)."""
    if input._sparse_layout and input.is_sparse:   # sparse COO: ember.sparse's method (a class flag first)
        return input.permute(*args) if dims is None else input.permute(dims)
    if dims is not None or not args:
        args = sized(args, dims, "permute", "dims")
    dims = permutation(int_list(args, "permute", "dims"), input._data.ndim)
    return make_view(input, input._data.transpose(dims), PermuteBackward0, dims=dims)


def permutation(dims: Sequence[int], n: int) -> tuple[int, ...]:
    """``dims`` as a permutation of ``n`` dims (wrapped), with torch's errors for a wrong length or repeats (the
    length message names sparse_coo for any layout, as torch's)."""
    if len(dims) != n:
        raise RuntimeError("permute(sparse_coo): number of dimensions in the tensor input does not match "
                           f"the length of the desired ordering of dimensions i.e. input.dim() = {n} is not "
                           f"equal to len(dims) = {len(dims)}")
    for d in dims:   # (in range already, the common case, they are kept as given)
        if type(d) is not int or not 0 <= d < n:
            order = tuple(wrap_dim(d, n) for d in dims)
            break
    else:
        order = tuple(dims)
    if len(set(order)) != n:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return order


_WARNED: set[str] = set()


def warn_once(message: str, stacklevel: int = 3) -> None:
    """A UserWarning issued once per process, like torch's TORCH_WARN_ONCE."""
    if message not in _WARNED:
        _WARNED.add(message)
        warn(message, UserWarning, stacklevel=stacklevel)


def _deprecated_0d(what: str, hint: str) -> None:
    warn_once(f"{what} is deprecated on 0-D tensors. {hint}", stacklevel=4)


def _T(self: Tensor) -> Tensor:
    n = self._data.ndim
    if n == 0:
        _deprecated_0d("Tensor.T", "This function is the identity in these cases.")
    elif n != 2:
        warn_once("The use of `x.T` on tensors of dimension other than 2 to reverse their shape is "
                  "deprecated and it will throw an error in a future release. Consider `x.mT` to transpose "
                  "batches of matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the "
                  "dimensions of a tensor.")
    return permute(self, tuple(range(n - 1, -1, -1)))


def _matrix_transpose(self: Tensor, name: str, conj: bool) -> Tensor:
    """``mT`` / ``mH`` / ``adjoint()``: swap the last two dims (conjugating complex tensors when ``conj``)."""
    n = self._data.ndim
    if n == 0:
        _deprecated_0d(name, "Consider using x.conj()." if conj else "This function is the identity in these "
                       "cases.")
        return self.conj() if conj and self._dtype.is_complex else self
    if n < 2:
        what = name[len("Tensor."):] if name.startswith("Tensor.") else name
        raise RuntimeError(f"tensor.{what} is only supported on matrices or batches of matrices. Got 1-D "
                           "tensor.")
    r = transpose(self, -2, -1)
    return r.conj() if conj and self._dtype.is_complex else r


def _mT(self: Tensor) -> Tensor:
    return _matrix_transpose(self, "Tensor.mT", False)


def _mH(self: Tensor) -> Tensor:
    return _matrix_transpose(self, "Tensor.mH", True)


def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dims."""
    return _matrix_transpose(input, "adjoint()", True)


def _H(self: Tensor) -> Tensor:
    n = self._data.ndim
    if n == 0:
        _deprecated_0d("Tensor.H", "Consider using x.conj().")
        return self.conj() if self._dtype.is_complex else self
    if n != 2:
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {n}-D tensor."
                           + (" For batches of matrices, consider using tensor.mH" if n > 2 else ""))
    return _matrix_transpose(self, "Tensor.H", True)


def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    """Move dims ``source`` to positions ``destination`` (the others keep their order)."""
    n = input._data.ndim
    src_in = [source] if _isinstance(source, int) else list(source)
    dst_in = [destination] if _isinstance(destination, int) else list(destination)
    if len(src_in) != len(dst_in):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src_in} dims) should "
                           f"contain the same number of dims as destination ({dst_in} dims)")
    src = [wrap_dim(d, n) for d in src_in]
    dst = [wrap_dim(d, n) for d in dst_in]
    for name, given, dims in (("source", src_in, src), ("destination", dst_in, dst)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({given})")
    if n == 0:   # torch: an alias
        return basic_index(input, (Ellipsis,), AliasBackward0)
    perm = [-1] * n
    for s, d in zip(src, dst, strict=True):
        perm[d] = s
    rest = iter(d for d in range(n) if d not in src)
    perm = [p if p >= 0 else next(rest) for p in perm]
    return permute(input, perm)


moveaxis = movedim


# ---- expand / broadcast --------------------------------------------------------------------------------
class ExpandBackward0(Node):
    """The engine sums the gradient back to the input's shape."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (g,)


def expand(self: Tensor, *sizes: Any, size: Any = None, implicit: bool = False) -> Tensor:
    """Broadcast to ``sizes`` without copying (stride 0 along new and grown dims); -1 keeps a size."""
    if size is not None or not sizes:
        sizes = sized(sizes, size, "expand", "size")
    sizes = int_list(sizes, "expand", "size")
    a = self._data
    shape = a.shape
    nd = len(sizes) - len(shape)
    if sizes == shape:
        return make_view(self, a.view(), ExpandBackward0)
    if nd < 0:
        raise RuntimeError(f"expand({self.type()}{{{list(shape)}}}, size={list(sizes)}): the number of "
                           f"sizes provided ({len(sizes)}) must be greater or equal to the number of "
                           f"dimensions in the tensor ({len(shape)})")
    # torch's geometry: a dim keeps its stride unless it grows (then 0); a new dim gets the stride of the
    # dims inside it (size × stride of the next), or 0 when it is not of size 1 or the input is 0-d
    target = list(sizes)
    strides = [0] * len(sizes)
    for i in range(len(sizes) - 1, -1, -1):   # torch reports the last mismatching dim
        s = sizes[i]
        if i < nd:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                                   f"non-existing dimension {i}")
            if s == 1 and shape:
                strides[i] = target[i + 1] * strides[i + 1]
            continue
        cur = shape[i - nd]
        if s == -1 or s == cur:
            target[i] = cur
            strides[i] = a.strides[i - nd]
        elif cur != 1:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({cur}) "
                               f"at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor "
                               f"sizes: {list(shape)}")
        elif s < 0:
            raise RuntimeError("numel: integer multiplication overflow")
    xp = _xp(self)
    arr = strided(xp, a, tuple(target), tuple(strides))
    if xp is np:   # CuPy arrays have no read-only flag
        arr.flags.writeable = False
    return make_view(self, arr, ExpandBackward0)


def expand_as(self: Tensor, other: Tensor) -> Tensor:
    """``expand`` to ``other``'s shape."""
    return expand(self, other._data.shape)


def broadcast_to(input: Tensor, size: Sequence[int]) -> Tensor:
    """``expand`` to ``size`` (a view)."""
    return expand(input, tuple(size))


def broadcast_shapes(*shapes: Any) -> Size:
    """The shape all ``shapes`` broadcast to (ints count as 1-d shapes), with torch's errors."""
    out: list[int] = []
    for i, shape in enumerate(shapes):
        shape = (shape,) if _isinstance(shape, int) else tuple(shape)
        if any(s < 0 for s in shape):
            raise ValueError("Attempting to broadcast a dimension with negative length!")
        if len(shape) > len(out):
            out = [1] * (len(shape) - len(out)) + out
        for k in range(1, len(shape) + 1):
            s, o = shape[-k], out[-k]
            if s == o or s == 1:
                continue
            if o != 1:
                raise RuntimeError(f"Attempting to broadcast a dimension of length {s} at {-k}! Mismatching "
                                   f"argument at index {i} had {shape}; but expected shape should be "
                                   f"broadcastable to {out}")
            out[-k] = s
    return Size(out)


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """``tensors`` expanded to their common shape (as torch, those already of that shape come back as they are)."""
    if len(tensors) == 1 and not _isinstance(tensors[0], Tensor):
        tensors = tuple(tensors[0])
    shape: tuple[int, ...] = ()
    for x in tensors:
        try:
            shape = np.broadcast_shapes(shape, x._data.shape)
        except ValueError:
            raise broadcast_error(shape, x._data.shape) from None
    return tuple(x if x._data.shape == shape else expand(x, shape) for x in tensors)


# ---- squeeze / unsqueeze -------------------------------------------------------------------------------
def unique_dims(dims: Sequence[int], n: int) -> tuple[int, ...]:
    """``dims`` wrapped for ``n`` dims in order, each checked against the ones before it (torch's order of
    errors: ``(0, 0, 9)`` repeats 0 before 9 is out of range)."""
    out: list[int] = []
    for d in dims:
        w = wrap_dim(d, n)
        if w in out:
            raise RuntimeError(f"dim {w} appears multiple times in the list of dims")
        out.append(w)
    return tuple(out)


class SqueezeBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (reshape(g, self._meta[0][0]),)


class SqueezeBackward1(SqueezeBackward0):
    __slots__ = ()


class SqueezeBackward2(SqueezeBackward0):
    __slots__ = ()


def squeeze(input: Tensor, dim: Any = NO_DIM, *dims: Any) -> Tensor:
    """Drop size-1 dims (all, one, or a tuple; the method takes them as ``x.squeeze(0, 1)`` too); a named dim whose
    size is not 1 is left alone."""
    dim = (dim, *dims) if dims else given_dim("squeeze", dim)
    shape = input._data.shape
    n = len(shape)
    if dim is None:
        cls: type[Node] = SqueezeBackward0
        drop = tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        one = not _isinstance(dim, (tuple, list))   # an int (or NumPy or 0-d tensor integer)
        cls = SqueezeBackward1 if one else SqueezeBackward2
        dims = unique_dims((dim,) if one else dim, n)
        drop = tuple(d for d in dims if n and shape[d] == 1)
    return make_view(input, input._data.squeeze(drop) if drop else input._data.view(), cls)


class UnsqueezeBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (squeeze(g, self.dim),)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """A size-1 dim inserted at ``dim`` (with torch's stride: size * stride of the dim it precedes)."""
    if input._sparse_layout and input.is_sparse:   # sparse COO: ember.sparse's method (a class flag first)
        return input.unsqueeze(dim)
    a = input._data
    d = wrap_dim(dim if type(dim) is int else int_arg(dim, "unsqueeze", "dim", 1), a.ndim + 1)
    shape = a.shape[:d] + (1,) + a.shape[d:]
    if a.flags.c_contiguous and 1 not in a.shape and a.size:   # NumPy's strides are torch's here
        arr = a.reshape(shape)
    else:
        stride = a.shape[d] * a.strides[d] if d < a.ndim else a.itemsize
        arr = strided(_xp(input), a, shape, a.strides[:d] + (stride,) + a.strides[d:])
    return make_view(input, arr, UnsqueezeBackward0, dim=d)


# ---- basic slicing: select / narrow / getitem views ----------------------------------------------------
class _EmbedNode(Node):
    """Backward of a basic-indexing view: the gradient placed into zeros of the input's shape."""

    __slots__ = ()
    _embed_cls: type[Node]

    def backward(self, g: Tensor) -> tuple:
        return (embed(g, self._meta[0][0], self.key, self._embed_cls),)


class _IndexAgain(Node):
    """Backward of :func:`embed` (double backward of a basic index): index the gradient again."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (basic_index(g, self.key, self._view_cls),)


def _view_node_pair(name: str) -> type[Node]:
    view_cls = type(name, (_EmbedNode,), {"__slots__": ()})
    view_cls._embed_cls = type(name[:-1] + "Backward0", (_IndexAgain,),  # type: ignore[attr-defined]
                               {"__slots__": (), "_view_cls": view_cls})
    return view_cls


SelectBackward0 = _view_node_pair("SelectBackward0")
SliceBackward0 = _view_node_pair("SliceBackward0")
AliasBackward0 = _view_node_pair("AliasBackward0")
UnsqueezeIndexBackward0 = _view_node_pair("UnsqueezeBackward0")   # x[None]: torch's name


def embed(g: Tensor, shape: tuple[int, ...], key: tuple, cls: type[Node]) -> Tensor:
    """Zeros of ``shape`` with ``g`` written at basic index ``key``: the gradient of ``x[key]``."""
    arr = _xp(g).zeros(shape, g._dtype.np)
    arr[key] = g._data
    out = from_array(arr, g._dtype, g._device)
    if g._rg and STATE.enabled:
        record(out, node_of(cls, key=key), (g,))
    return out


def index_view(arr: Any, key: tuple, xp: Any) -> Any:
    """``arr[key]`` for a basic key, always an array view (NumPy gives scalars for full integer keys),
    with torch's strides where NumPy's differ: dims added by ``None`` (those of ``unsqueeze`` there) and
    empty results (a sliced dim keeps ``stride * step``)."""
    v = arr[key]
    if _isinstance(v, np.generic):
        return arr[key + (Ellipsis,)]
    if v.size and None not in key:
        return v
    strides = []
    d = offset = 0   # offset: torch's, in bytes (NumPy leaves out an empty slice's start)
    for k in key:
        if k is None:
            strides.append(arr.shape[d] * arr.strides[d] if d < arr.ndim else arr.itemsize)
        elif type(k) is slice:
            strides.append(arr.strides[d] * (k.step or 1))
            offset += k.indices(arr.shape[d])[0] * arr.strides[d]
            d += 1
        else:
            offset += k % arr.shape[d] * arr.strides[d]
            d += 1
    strides = tuple(strides) + arr.strides[d:]
    if v.size or xp is not np or offset == _ptr(v) - _ptr(arr):
        return strided(xp, v, v.shape, strides)
    try:
        return strided(xp, arr, v.shape, strides, offset)
    except (ValueError, TypeError):   # past the end of the memory: NumPy's place
        return strided(xp, v, v.shape, strides)


def basic_index(self: Tensor, key: tuple, cls: type[Node]) -> Tensor:
    """The view ``self[key]`` for a normalised basic key (ints in range, slices with step > 0, None)."""
    return make_view(self, index_view(self._data, key, _xp(self)), cls, key=key)


def select(input: Tensor, dim: int, index: Any) -> Tensor:
    """The slice at ``index`` along ``dim``, that dim removed (a view)."""
    if getattr(input, "_sparse_layout", False):   # sparse: ember.sparse's method (a copy)
        return input.select(dim, index)
    n = input._data.ndim
    if n == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, n)
    size = input._data.shape[d]
    index = int_arg(index, "select", "index", 2)
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(input._data.shape)} "
                         f"at dimension {d}")
    return basic_index(input, (slice(None),) * d + (index % size,), SelectBackward0)


def narrow_args(self: Tensor, dim: int, start: Any, length: int,
                name: str = "narrow") -> tuple[int, int, int]:
    """Validated ``(dim, start, length)`` of a narrow (negative start wraps; a tensor start is allowed)."""
    n = self._data.ndim
    if n == 0:   # (narrow_copy's message names narrow too)
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    if length < 0 and name == "narrow":
        raise RuntimeError("narrow(): length must be non-negative.")
    if name == "narrow_copy" and _isinstance(dim, (int, np.integer)) and dim >= n:   # (its CPU kernel's check)
        raise RuntimeError("Expected dim < static_cast<int64_t>(self_sizes.size()) to be true, but got false.  "
                           "(Could this error message be improved?  If so, please report an enhancement request "
                           "to PyTorch.)")
    d = wrap_dim(dim, n)
    if _isinstance(start, Tensor):
        if start._data.ndim or start._dtype.category != 1:
            raise RuntimeError("start must be an 0-dim integral Tensor.")
        start = int(start)
    elif not _isinstance(start, (int, np.integer)) or _isinstance(start, bool):
        raise TypeError(f"{name}(): argument 'start' must be int or Tensor, not {type(start).__name__}")
    size = self._data.shape[d]
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got "
                         f"{start})")
    if start < 0:
        start += size
    if start + length > size or length < 0:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return d, int(start), int(length)


def narrow(input: Tensor, dim: int, start: Any, length: int) -> Tensor:
    """``length`` elements from ``start`` (an int or 0-d integer tensor) along ``dim`` (a view)."""
    d, s, n = narrow_args(input, dim, start, length)
    return basic_index(input, (slice(None),) * d + (slice(s, s + n),), SliceBackward0)


# ---- splitting ------------------------------------------------------------------------------------------
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


class SplitWithSizesBackward0(SplitBackward0):
    __slots__ = ()


def _multi_view(self: Tensor, arrays: list, node: Node) -> tuple[Tensor, ...]:
    """Views of ``self`` that one node produces; under autograd (as in torch) neither they nor views of them
    may be modified in place, since one node cannot rebase the history of a single output."""
    outs = [make_view(self, a) for a in arrays]
    if self._rg and STATE.enabled:
        record(outs, node, (self,))
        for o in outs:
            o._multi_output_view = True
    return tuple(outs)


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """Views of each slice along ``dim``, that dim removed."""
    if input._data.ndim == 0:
        wrap_dim(dim, 1)
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = wrap_dim(dim, input._data.ndim)
    arr = input._data
    key = (slice(None),) * d
    # the trailing Ellipsis keeps NumPy from returning a scalar copy for the slices of a 1-d array
    return _multi_view(input, [arr[key + (i, ...)] for i in range(arr.shape[d])], node_of(UnbindBackward0, dim=d))


def _split_views(self: Tensor, d: int, sizes: list[int], node: Node) -> tuple[Tensor, ...]:
    key = (slice(None),) * d
    arrays, start = [], 0
    xp = _xp(self)
    for s in sizes:   # (index_view: an empty piece keeps torch's storage offset)
        arrays.append(index_view(self._data, key + (slice(start, start + s),), xp))
        start += s
    return _multi_view(self, arrays, node)


_SPLIT = tuple(Signature(t, False) for t in ("split(Tensor input, SymInt split_size, int dim=0)",
                                               "split(Tensor input, SymInt[] split_size, int dim=0)"))
_SPLIT_WITH_SIZES = (Signature("split_with_sizes(Tensor input, SymInt[] split_sizes, int dim=0)", False),)


def _plain_int(v: Any) -> bool:
    """A Python int (not bool) that torch's parser reads as an int64."""
    return type(v) is int and -1 << 63 <= v < 1 << 63


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of ``split_size`` (the last may be smaller), or of the given sizes, along ``dim``. As torch's
    Python code: a one-element tensor is its int; a Python int goes to torch's ``split``, anything else to
    ``split_with_sizes`` (whose parser errors name it)."""
    sizes = split_size_or_sections
    if _isinstance(sizes, Tensor):
        try:
            sizes = int(sizes)
        except ValueError:
            pass
    by_step = _isinstance(sizes, int)
    if not _plain_int(dim) or not _plain_int(sizes) and not (
            type(sizes) in (list, tuple, Size) and all(_plain_int(s) for s in sizes)):
        check(_SPLIT if by_step else _SPLIT_WITH_SIZES, (tensor, sizes, dim), {})
    if tensor._data.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, tensor._data.ndim)
    size = tensor._data.shape[d]
    if by_step:
        step = int(sizes)
        if step < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={step}")
        if step == 0 and size:
            raise RuntimeError("split_size can only be 0 if dimension size is 0, but got dimension size of "
                               f"{size}")
        sizes = [min(step, size - b) for b in range(0, size, step)] if step else [0]
        return _split_views(tensor, d, sizes or [0], node_of(SplitBackward0, dim=d))
    sizes = [int(s) for s in sizes]
    if any(s < 0 for s in sizes):
        raise RuntimeError("split_with_sizes expects split_sizes have only non-negative entries, but got "
                           f"split_sizes={sizes}")
    if sum(sizes) != size:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
                           f"size at dimension {dim}), but got split_sizes={sizes}")
    return _split_views(tensor, d, sizes, node_of(SplitWithSizesBackward0, dim=d))


def _split_method(self: Tensor, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """``Tensor.split``: torch spells its size ``split_size`` (the function: ``split_size_or_sections``)."""
    return split(self, split_size, dim)


_split_method.__name__ = "split"
_split_method.__qualname__ = "Tensor.split"   # (torch's is Python code: its own errors say so)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """``chunks`` near-equal views along ``dim`` (the last may be smaller, or there may be fewer)."""
    if input._data.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[d]
    if size == 0:   # torch: split_with_sizes into empty pieces
        return _split_views(input, d, [0] * chunks, node_of(SplitWithSizesBackward0, dim=d))
    return split(input, -(-size // chunks), d)


def _sections(fn: str, given: dict[str, Any]) -> Any:
    """The one of torch's overloads' spellings (``sections=``, ``indices=`` ...) that was given."""
    passed = [v for v in given.values() if v is not None]
    if len(passed) != 1:
        raise TypeError(f"{fn}() received an invalid combination of arguments - expected exactly one of "
                        f"{', '.join(given)}")
    return passed[0]


def tensor_split(input: Tensor, sections: Any = None, dim: int = 0, *, indices: Any = None,
                 tensor_indices_or_sections: Any = None) -> tuple[Tensor, ...]:
    """Split into ``n`` near-equal sections or at the given indices (each piece a slice view); torch's
    overloads name the second argument ``sections``, ``indices`` or ``tensor_indices_or_sections``."""
    indices_or_sections = _sections("tensor_split", {"sections": sections, "indices": indices,
                                                     "tensor_indices_or_sections": tensor_indices_or_sections})
    if input._data.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 "
                           "dims")
    d = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[d]
    ios = indices_or_sections
    if _isinstance(ios, Tensor):
        if ios._dtype is not D.int64:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to have dtype of long, "
                               f"but got {ios._dtype._short}")
        if ios._data.ndim > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a zero-dimensional "
                               f"or one-dimensional tensor, but got a tensor with {ios._data.ndim} dims")
        ios = int(ios) if ios._data.ndim == 0 else ios.tolist()
    if _isinstance(ios, (int, np.integer)):
        n = int(ios)
        if n <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {n}")
        small, extra = divmod(size, n)
        bounds = [i * small + min(i, extra) for i in range(n + 1)]
    else:
        bounds = [0] + [int(i) for i in ios] + [size]
    pieces = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        a = min(max(a + size if a < 0 else a, 0), size)
        b = min(max(b + size if b < 0 else b, 0), size)
        pieces.append(basic_index(input, (slice(None),) * d + (slice(a, max(a, b)),), SliceBackward0))
    return tuple(pieces)


def _directional_split(input: Tensor, sections: Any, indices: Any, name: str, dim: int,
                       min_dims: int) -> tuple[Tensor, ...]:
    ios = _sections(name, {"sections": sections, "indices": indices})
    n = input._data.ndim
    if n < min_dims:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, but got a "
                           f"tensor with {n} dimensions!")
    if _isinstance(ios, (int, np.integer)):
        size = input._data.shape[dim]
        if ios == 0 or size % ios:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                               f"dimension {size} is not divisible by the split_size {ios}!")
    return tensor_split(input, ios, dim)


def hsplit(input: Tensor, sections: Any = None, *, indices: Any = None) -> tuple[Tensor, ...]:
    """``tensor_split`` along dim 1 (dim 0 for 1-d tensors); an int must divide the size."""
    return _directional_split(input, sections, indices, "hsplit", 1 if input._data.ndim > 1 else 0, 1)


def vsplit(input: Tensor, sections: Any = None, *, indices: Any = None) -> tuple[Tensor, ...]:
    """``tensor_split`` along dim 0 of a tensor of at least 2 dims; an int must divide the size."""
    return _directional_split(input, sections, indices, "vsplit", 0, 2)


def dsplit(input: Tensor, sections: Any = None, *, indices: Any = None) -> tuple[Tensor, ...]:
    """``tensor_split`` along dim 2 of a tensor of at least 3 dims; an int must divide the size."""
    return _directional_split(input, sections, indices, "dsplit", 2, 3)


# ---- strided views: diagonal, unfold, as_strided --------------------------------------------------------
def strided(xp: Any, arr: Any, shape: tuple, strides: tuple, offset: int = 0) -> Any:
    """A view of ``arr``'s memory with ``shape`` and byte ``strides``, starting ``offset`` bytes after ``arr``'s
    first element (where NumPy can place it). With NumPy it is built on the memory's owner, so the ``base``
    chain (what ``storage_offset()`` follows) stays intact."""
    if xp is not np:
        return xp.lib.stride_tricks.as_strided(arr, shape, strides)
    if arr.flags.c_contiguous and arr.size:   # its own buffer: no offset to compute (an empty one has none)
        return np.ndarray(shape, arr.dtype, buffer=arr, offset=offset, strides=strides)
    root = arr
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        return np.lib.stride_tricks.as_strided(arr, shape, strides)
    try:
        v = np.ndarray(shape, arr.dtype, buffer=root, offset=_ptr(arr) - _ptr(root) + offset, strides=strides)
    except (ValueError, TypeError):
        if arr.size:
            raise
        v = np.ndarray(shape, arr.dtype, buffer=arr, strides=strides)   # empty, past the memory's end: NumPy's place
    if not arr.flags.writeable:
        v.flags.writeable = False
    return v


def diag_view(arr: Any, xp: Any, offset: int, d1: int, d2: int) -> Any:
    """A writable view of the diagonal ``offset`` of dims ``d1``/``d2`` (moved to the end), as torch."""
    key = [slice(None)] * arr.ndim
    key[d2 if offset >= 0 else d1] = slice(abs(offset), None)
    sub = arr[tuple(key)]
    n = max(min(sub.shape[d1], sub.shape[d2]), 0)
    if not n:   # an empty diagonal starts where the input does (torch)
        sub = arr
    rest = [i for i in range(arr.ndim) if i not in (d1, d2)]
    shape = tuple(sub.shape[i] for i in rest) + (n,)
    strides = tuple(sub.strides[i] for i in rest) + (sub.strides[d1] + sub.strides[d2],)
    return strided(xp, sub, shape, strides)


def diagonal_dims(self: Tensor, dim1: int, dim2: int) -> tuple[int, int]:
    """``dim1``/``dim2`` wrapped and checked to differ, as torch's diagonal ops."""
    n = self._data.ndim
    d1, d2 = wrap_dim(dim1, n), wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


class DiagonalBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        from .shape import diagonal_scatter
        z = from_array(_xp(g).zeros(self._meta[0][0], g._dtype.np), g._dtype, g._device)
        return (diagonal_scatter(z, g, self.offset, self.dim1, self.dim2),)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal ``offset`` of dims ``dim1``/``dim2``, moved to the last dim (a view)."""
    d1, d2 = diagonal_dims(input, dim1, dim2)
    return make_view(input, diag_view(input._data, _xp(input), offset, d1, d2), DiagonalBackward0,
                     offset=offset, dim1=d1, dim2=d2)


class UnfoldBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        from .indexing import index_add
        shape = self._meta[0][0]
        d, size, step = self.dim, self.size, self.step
        if not shape:
            return (g.sum(),)
        xp = _xp(g)
        n_win = g._data.shape[d]
        pos = (xp.arange(n_win)[:, None] * step + xp.arange(size)[None, :]).reshape(-1)
        windows = movedim(g, d, -2).flatten(-2)                      # (..., n_win * size)
        zshape = tuple(s for i, s in enumerate(shape) if i != d) + (shape[d],)
        z = from_array(xp.zeros(zshape, g._dtype.np), g._dtype, g._device)
        out = index_add(z, -1, from_array(pos.astype(np.int64), D.int64, g._device), windows)
        return (movedim(out, -1, d),)


def unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Windows of ``size`` every ``step`` along ``dimension``, as a new last dim (a view)."""
    arr = self._data
    d = wrap_dim(dimension, arr.ndim)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    length = arr.shape[d]
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {length} but size is {size}")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    shape = arr.shape[:d] + ((length - size) // step + 1,) + arr.shape[d + 1:] + (size,)
    strides = arr.strides[:d] + (arr.strides[d] * step,) + arr.strides[d + 1:] + (arr.strides[d],)
    if self._data.ndim == 0:
        shape, strides = (size,), (arr.strides[0],)
    return make_view(self, strided(_xp(self), arr, shape, strides), UnfoldBackward0, dim=d, size=size,
                     step=step)


class AsStridedBackward0(Node):
    """Gradient of a view given by positions ``index`` in the input (``numel``: outside it, dropped)."""

    __slots__ = ()
    units: tuple[bool, bool] | None = None   # set by rebase_view for a view of another dtype: see ``_in_units``

    def backward(self, g: Tensor) -> tuple:
        from .indexing import scatter_flat
        units = self.units
        if units is None:
            return (scatter_flat(g, self._meta[0][0], self.index),)
        shape = self._meta[0][0] + ((2,) if units[1] else ())
        return (_from_units(scatter_flat(_in_units(g, units[0]), shape, self.index), units[1]),)


def storage_positions(arr: Any, ref: Any, xp: Any) -> Any:
    """For each element of ``arr`` (a view into ``ref``'s memory), its flat C-order index in ``ref``
    (``ref.size`` for elements outside ``ref``)."""
    item = arr.itemsize
    base_ptr = _ptr(ref)

    def offsets(a: Any) -> Any:
        off = xp.full(a.shape, (_ptr(a) - base_ptr) // item, dtype=np.int64)
        for d, (n, s) in enumerate(zip(a.shape, a.strides, strict=True)):
            shape = [1] * a.ndim
            shape[d] = n
            off = off + (xp.arange(n, dtype=np.int64) * (s // item)).reshape(shape)
        return off

    ref_off = offsets(ref).reshape(-1)
    arr_off = offsets(arr)
    if ref_off.size == 0:
        return xp.zeros(arr.shape, dtype=np.int64)
    order = xp.argsort(ref_off, kind="stable")
    sorted_off = ref_off[order]
    at = xp.minimum(xp.searchsorted(sorted_off, arr_off), ref_off.size - 1)
    return xp.where(sorted_off[at] == arr_off, order[at], ref_off.size)


def _ptr(a: Any) -> int:
    return a.__array_interface__["data"][0] if isinstance(a, np.ndarray) else a.data.ptr


def as_strided(input: Tensor, size: Sequence[int], stride: Sequence[int],
               storage_offset: int | None = None) -> Tensor:
    """A view with explicit sizes/strides (in elements) over ``input``'s storage."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError("as_strided: Negative strides are not supported at the moment, got strides: "
                           f"{list(stride)}")
    root = input._root_array()
    offset = input.storage_offset() if storage_offset is None else int(storage_offset)
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    item = input._dtype.itemsize
    need = 0 if 0 in size else offset + sum((s - 1) * st for s, st in zip(size, stride, strict=True)) + 1
    # the storage in memory order (a transposed clone's is F-ordered)
    flat = root.reshape(-1) if root.flags.c_contiguous else root.T.reshape(-1) if root.flags.f_contiguous else None
    if flat is None or need > flat.size:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset "
                           f"{offset}, and itemsize {item} requiring a storage size of {need * item} are "
                           f"out of bounds for storage of size {root.size * item}")
    xp = _xp(input)
    arr = strided(xp, flat[offset:] if need else flat[:0], size, tuple(s * item for s in stride))
    if not need and 0 < offset <= flat.size and xp is np:   # empty: NumPy's slice leaves out the offset
        arr = strided(xp, flat, size, arr.strides, offset * item)
    if xp is np and 0 in stride and any(n > 1 and st == 0 for n, st in zip(size, stride, strict=True)):
        arr.flags.writeable = False   # repeated elements: torch refuses in-place writes, as for expand
    t = make_view(input, arr)
    if input._rg and STATE.enabled:
        record(t, node_of(AsStridedBackward0, index=from_array(storage_positions(arr, input._data, xp),
                                                                D.int64, input._device)), (input,))
    return t


# ---- in-place ops on views -------------------------------------------------------------------------------
class CopySlices(Node):
    """History of a base after an in-place op on one of its views: the op's gradient is applied to the
    slice of the base's gradient the view covers; the rest passes through."""

    __slots__ = ()
    units: tuple[bool, bool] | None = None   # (view complex, base complex) for a view of another dtype

    def name(self) -> str:
        return "torch::autograd::CopySlices"

    def backward(self, g: Tensor) -> tuple:
        from .indexing import gather_flat, scatter_flat_into
        flat_idx, units = self.index, self.units
        if units is not None:   # positions count real components: the base's gradient is read as one
            g = _in_units(g, units[1])
        view_grad = gather_flat(g, flat_idx, self.view_shape)
        res = self.fn.backward(view_grad if units is None else _from_units(view_grad, units[0]))
        first = res[0] if units is None or res[0] is None else _in_units(res[0], units[0])
        base_grad = scatter_flat_into(g, flat_idx, first)
        return (base_grad if units is None else _from_units(base_grad, units[1]),) + tuple(res[1:])


def _in_units(t: Tensor, complex_: bool) -> Tensor:
    """A complex ``t`` as its real components (``view_as_real``, trailing dim of 2); a real one as it is."""
    from .extra import as_real
    return as_real(t) if complex_ else t


def _from_units(t: Tensor, complex_: bool) -> Tensor:
    """Back from :func:`_in_units`: real components (a contiguous trailing dim of 2) as the complex tensor."""
    from .extra import view_as_complex
    return view_as_complex(t.contiguous()) if complex_ else t


def _unit_array(t: Tensor, complex_: bool) -> Any:
    """``t``'s array in real components (the memory of the trailing dim of 2 that ``_in_units`` gives)."""
    return t._data[..., None].view(t._dtype.to_real().np) if complex_ else t._data


def rebase_view(view_t: Tensor, node: Node) -> None:
    """After an in-place op recorded as ``node`` on view ``view_t``: rebase its base's history. A view of another
    dtype (``real`` / ``imag`` / ``view_as_real`` of a complex base, ``view_as_complex`` of a real one) is located
    in real components, so the base's other components pass their gradient through."""
    base = view_t._base
    from ..autograd.graph import _reduce_to
    vc, bc = view_t._dtype.is_complex, base._dtype.is_complex
    units = None if vc == bc else (vc, bc)
    varr, barr = (view_t._data, base._data) if units is None else (_unit_array(view_t, vc), _unit_array(base, bc))
    index = from_array(storage_positions(varr, barr, _xp(base)), D.int64, base._device)
    cs = CopySlices()
    # the op's first gradient goes to the base slice: reduce it to the view's shape inside fn
    fn_meta = node._meta
    cs.__dict__.update(index=index, view_shape=varr.shape, fn=_Reducing(node, fn_meta, _reduce_to))
    if units is not None:
        cs.units = units
    cs._next = (grad_edge(base), *node._next[1:])
    cs._meta = ((base._data.shape, base._dtype), *fn_meta[1:])
    base._grad_fn = cs
    base._output_nr = 0
    base._rg = True
    vnode = node_of(AsStridedBackward0, index=index)
    if units is not None:
        vnode.units = units
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


# ---- in-place view ops (t_, transpose_, squeeze_, unsqueeze_, as_strided_) and unsafe splits -------------
# torch names the nodes of these variants differently from those of the plain ops
_RENAMED_NODE = {"TBackward0": "TBackward1", "TransposeBackward0": "TransposeBackward1",
                 "SqueezeBackward0": "SqueezeBackward3", "SqueezeBackward1": "SqueezeBackward4",
                 "SqueezeBackward2": "SqueezeBackward5", "UnsqueezeBackward0": "UnsqueezeBackward1",
                 "AsStridedBackward0": "AsStridedBackward1", "SplitBackward0": "UnsafeSplitBackward0",
                 "SplitWithSizesBackward0": "UnsafeSplitWithSizesBackward0", "PolygammaBackward0": "PolygammaBackward1"}
_renamed_classes: dict[type, type] = {}


def _rename_node(node: Node) -> Node:
    """Give ``node`` the class torch uses for the in-place/unsafe variant of its op (same backward)."""
    cls = type(node)
    sub = _renamed_classes.get(cls)
    if sub is None:
        sub = _renamed_classes[cls] = type(_RENAMED_NODE[cls.__name__], (cls,),
                                           {"__slots__": (), "__module__": cls.__module__})
    node.__class__ = sub
    return node


def _inplace_view(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """``fn_``: give ``self`` the metadata of the view ``fn(self, ...)`` (same memory), bump its version and,
    under autograd, make the view's node (renamed as torch names it) ``self``'s grad_fn."""
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        check_inplace(self)
        res = fn(self, *args, **kwargs)
        self._data = res._data
        self._vc[0] += 1
        node = res._grad_fn
        if node is not None:
            _rename_node(node)._vv = self._vc[0] if self._base is not None else None
            self._grad_fn, self._output_nr, self._rg = node, 0, True
        return self
    method.__name__ = method.__qualname__ = fn.__name__ + "_"
    return method


def _unsafe(fn: Callable[..., tuple]) -> Callable[..., tuple]:
    """``unsafe_split``/``unsafe_chunk``: the same views, recorded under torch's ``Unsafe…`` node name."""
    def method(self: Tensor, *args: Any, **kwargs: Any) -> tuple:
        parts = fn(self, *args, **kwargs)
        for p in parts:   # torch: not views for autograd, each with its own version counter
            p._base, p._vc, p._multi_output_view = None, [0], False
        if parts and parts[0]._grad_fn is not None:
            _rename_node(parts[0]._grad_fn)._vv = None
        return parts
    method.__name__ = method.__qualname__ = "unsafe_" + fn.__name__
    return method


def fill_diagonal_(self: Tensor, fill_value: Any, wrap: bool = False) -> Tensor:
    """Fill the main diagonal in place (of an N-d tensor with equal dims; ``wrap``: tall matrices restart the
    diagonal after each ``width + 1`` rows, as torch)."""
    shape = self._data.shape
    if len(shape) < 2:
        raise RuntimeError("dimensions must larger than 1")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    step = builtins.sum(self.stride())
    size = builtins.min(shape)
    if wrap and len(shape) == 2 and shape[0] > shape[1] + 1:
        size = (self._data.size + step - 1) // step
    as_strided(self, (size,), (step,), self.storage_offset()).fill_(fill_value)
    return self


def split_with_sizes(self: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """``split`` with explicit sizes."""
    return split(self, list(split_sizes), dim)


bind({name + "_": _inplace_view(fn) for name, fn in (("t", _t_inplace), ("transpose", transpose),
                                                      ("swapaxes", swapaxes), ("swapdims", transpose),
                                                      ("squeeze", squeeze), ("unsqueeze", unsqueeze),
                                                      ("as_strided", as_strided))})
bind({"fill_diagonal_": fill_diagonal_, "split_with_sizes": split_with_sizes, "unsafe_split": _unsafe(_split_method),
      "unsafe_chunk": _unsafe(chunk),
      "unsafe_split_with_sizes": _unsafe(split_with_sizes)})
bind({
    "view": view, "reshape": reshape, "view_as": view_as, "reshape_as": reshape_as, "t": t,
    "transpose": transpose, "swapaxes": swapaxes, "swapdims": transpose, "permute": permute,
    "adjoint": adjoint,
    "expand": expand, "expand_as": expand_as, "broadcast_to": broadcast_to, "squeeze": squeeze,
    "unsqueeze": unsqueeze, "flatten": flatten, "unflatten": unflatten, "ravel": ravel, "select": select,
    "narrow": narrow, "unbind": unbind, "split": _split_method, "chunk": chunk, "tensor_split": tensor_split,
    "hsplit": hsplit, "vsplit": vsplit, "dsplit": dsplit, "diagonal": diagonal, "movedim": movedim,
    "moveaxis": movedim, "as_strided": as_strided, "unfold": unfold, "contiguous": contiguous,
})
Tensor.T = property(_T)  # type: ignore[attr-defined]
Tensor.mT = property(_mT)  # type: ignore[attr-defined]
Tensor.mH = property(_mH)  # type: ignore[attr-defined]
Tensor.H = property(_H)  # type: ignore[attr-defined]

__all__ = ["view", "reshape", "view_as", "reshape_as", "t", "transpose", "swapaxes", "swapdims", "permute",
           "adjoint", "expand", "expand_as", "broadcast_to", "broadcast_shapes", "broadcast_tensors",
           "squeeze",
           "unsqueeze", "flatten", "unflatten", "ravel", "select", "narrow", "unbind", "split", "chunk",
           "tensor_split", "hsplit", "vsplit", "dsplit", "diagonal", "movedim", "moveaxis", "as_strided",
           "contiguous"]
