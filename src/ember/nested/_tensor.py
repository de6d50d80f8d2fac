"""Nested tensors (``torch.nested``): a batch of tensors whose sizes may differ, in one contiguous buffer.

Mechanism. A nested tensor is a :class:`NestedTensor`, a Tensor subclass whose own tensor fields (array,
dtype, device, autograd history) are those of its *buffer*: the constituents' elements concatenated in order
(C order within each), held as an array of any shape with that many elements (1-d after construction,
``(sum of rows, features)`` after a row-wise op such as ``linear``). Beside it, ``_nsizes`` (a ``B × d``
int64 NumPy array) gives each constituent's shape. Autograd therefore sees the buffer: a gradient flowing
into a nested tensor is a plain tensor of the buffer's shape, and ``.grad`` of a leaf presents it nested.

Ops reach :meth:`NestedTensor.__torch_function__` (ember.overrides) and run on plain tensors with ember ops,
so their backward comes for free:

- elementwise ops (with a scalar, a 0-d tensor, or a nested tensor of the same sizes) run on the buffer;
- row-wise ops over a regular last dim (``linear``, ``softmax``, ``layer_norm``, ``sum(-1)``) run on the
  buffer viewed as ``(rows, last)``;
- everything else (``bmm``/``matmul``, ``transpose``, softmax over an irregular dim, scaled dot-product
  attention) pads to a dense ``(B, *max sizes)`` tensor, runs the dense batched op once and gathers the
  valid elements back (one gather/scatter pair of index arrays computed from the sizes; no loop over
  constituents), with a key-padding mask where padding would change the result (attention).

``layout=torch.jagged`` shares all of this: the buffer is then ``values()`` (``(sum of lengths, *inner)``),
with ``offsets()`` and a symbolic ragged size ``j<N>`` in ``shape``; it differs where torch's jagged
implementation does (more pointwise ops, reductions over the ragged dim, dense operands broadcast over rows).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import overrides
from .._core import dtype as D
from .._core.device import device as _device
from .._core.warn import warn
from .._tensor import Size, Tensor, _as_subclass, from_array
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.graph import Node
from ..ops import creation as C
from ..ops._dispatch import make_node_class
from ..ops.extra import _LAYOUTS, _alias, layout, strided
from ..overrides import DisableTorchFunctionSubclass
from ..sparse._coo import not_implemented as _dispatch_error

__all__ = ["NestedTensor", "jagged", "wrap", "buffer", "constituents", "to_padded", "from_padded",
           "from_list", "not_implemented", "prototype_warning"]

jagged = layout("jagged")
_LAYOUTS["jagged"] = jagged

_WARNED = [False]


def prototype_warning() -> None:
    """torch warns once per process when a strided nested tensor is first built."""
    if not _WARNED[0]:
        _WARNED[0] = True
        warn("The PyTorch API of nested tensors is in prototype stage and will change in the near future. "
             "We recommend specifying layout=torch.jagged when constructing a nested tensor, as this layout "
             "receives active development, has better operator coverage, and works with torch.compile.",
             UserWarning, stacklevel=3)


def not_implemented(op: str) -> NotImplementedError:
    """torch's dispatcher error for an op without a nested kernel."""
    return _dispatch_error(op, "NestedTensorCPU")


class _RaggedInt:
    """The symbolic size of a jagged tensor's ragged dim (prints as ``j1``, ``j2``...; equal only to itself)."""

    __slots__ = ("_id",)
    _count = itertools.count(1)

    def __init__(self) -> None:
        self._id = next(self._count)

    def __repr__(self) -> str:
        return f"j{self._id}"


# ---------------------------------------------------------------------------------------------- construction

def _numels(sizes: np.ndarray) -> np.ndarray:
    return np.prod(sizes, axis=1, dtype=np.int64) if sizes.shape[1] else np.ones(len(sizes), np.int64)


def wrap(buf: Tensor, sizes: np.ndarray, like: NestedTensor | None = None, *, contiguous: bool = True,
         is_jagged: bool | None = None) -> NestedTensor:
    """A NestedTensor over ``buf`` (a plain tensor in the graph) with constituent ``sizes``; a jagged result
    keeps ``like``'s ragged structure when its lengths are unchanged."""
    if not overrides._ACTIVE:   # ops reach nested tensors through the protocol (re-armed if it was turned off)
        overrides.activate()
    out = _as_subclass(buf, NestedTensor)
    sizes = np.asarray(sizes, dtype=np.int64)
    out._nsizes = sizes if sizes.ndim == 2 else sizes.reshape(len(sizes), -1) if len(sizes) else \
        np.zeros((0, 0), np.int64)
    out._contig = contiguous
    is_jagged = like._is_jagged if is_jagged is None and like is not None else bool(is_jagged)
    out._is_jagged = is_jagged
    if is_jagged:
        idx = like._ragged_idx if like is not None and like._is_jagged else 1
        out._ragged_idx = min(idx, out._nsizes.shape[1]) or 1
        col = out._ragged_idx - 1
        same = like is not None and like._is_jagged and len(like._nsizes) == len(out._nsizes) and \
            out._nsizes.shape[1] > col and np.array_equal(like._nsizes[:, like._ragged_idx - 1], out._nsizes[:, col])
        out._ragged = like._ragged if same else _RaggedInt()
        out._joffsets = like._joffsets if same else None
    return out


def buffer(nt: NestedTensor) -> Tensor:
    """``nt``'s buffer as a plain tensor in ``nt``'s graph (an alias view of a leaf, so its gradient reaches
    the leaf)."""
    if nt._grad_fn is None and nt._rg:
        with DisableTorchFunctionSubclass():
            return _alias(nt)
    return _as_subclass(nt, Tensor)


class NestedTensorFromTensorListBackward0(Node):
    """as_nested_tensor(list): the buffer's gradient split back into the constituents' shapes."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        flat = g.reshape(-1)
        return tuple(flat[int(o):int(o) + int(n)].view(tuple(s))
                     for o, n, s in zip(self.offsets, self.numels, self.shapes, strict=True))


def from_list(tensors: Sequence[Tensor], dtype: Any, device: Any, detach: bool) -> tuple[Tensor, np.ndarray]:
    """The buffer (1-d) and sizes of the constituents ``tensors``; differentiable unless ``detach``."""
    if not tensors:
        return C.empty(0, dtype=dtype or D.get_default_dtype(), device=device), np.zeros((0, 0), np.int64)
    d0 = tensors[0].dim()
    for i, t in enumerate(tensors):
        if t.dim() != d0:
            raise RuntimeError(f"All Tensors given to nested_tensor must have the same dimension. Found dimension "
                               f"{t.dim()} for Tensor at index {i} and dimension {d0} for Tensor at index 0.")
    dt = dtype or tensors[0].dtype
    dev = device or tensors[0].device
    parts = [t.detach() if detach else t for t in tensors]
    parts = [p.to(device=dev, dtype=dt) if (p.dtype is not dt or p.device != _device(dev)) else p
             for p in parts]
    sizes = np.array([tuple(p.shape) for p in parts], dtype=np.int64).reshape(len(parts), d0)
    xp = _xp(parts[0])
    arr = xp.concatenate([p._data.reshape(-1) for p in parts]) if parts else xp.empty(0)
    buf = from_array(arr, dt, parts[0].device)
    if not detach and is_grad_enabled() and any(p.requires_grad for p in parts):
        from ..ops._dispatch import record
        node = record(buf, NestedTensorFromTensorListBackward0(), parts)
        numels = _numels(sizes)
        node.__dict__.update(offsets=np.concatenate([[0], np.cumsum(numels)[:-1]]), numels=numels,
                             shapes=[tuple(s) for s in sizes])
    return buf, sizes


def _xp(t: Tensor) -> Any:
    from .._core.device import xp_of_array
    return xp_of_array(t._data)


# ---------------------------------------------------------------------------------------------- padding

def _valid(sizes: np.ndarray, full: tuple[int, ...]) -> np.ndarray:
    """Boolean ``(B, *full)``: which padded positions hold a constituent's element (broadcast per dim)."""
    b, d = sizes.shape
    mask = np.ones((b, *full), dtype=bool)
    for k in range(d):
        shape = [1] * (d + 1)
        shape[k + 1] = full[k]
        mask &= np.arange(full[k]).reshape(shape) < sizes[:, k].reshape([b] + [1] * d)
    return mask


def _positions(sizes: np.ndarray, full: tuple[int, ...]) -> np.ndarray:
    """Index in the padded ``(B, *full)`` array (flattened) of each buffer element, in buffer order: the
    C order of the padded array restricted to one constituent is that constituent's own C order."""
    return np.flatnonzero(_valid(sizes, full))


_NODES: dict[str, type] = {}


def _gather_node(name: str) -> type:
    """The Node class (named like the torch op whose result it produces) of a padded → buffer gather."""
    cls = _NODES.get(name)
    if cls is None:
        def backward(node: Any, g: Tensor) -> tuple:
            return (_scatter(g, node.pos, 0, node.shape_in),)
        cls = _NODES[name] = make_node_class(name, backward)
    return cls


class ToPaddedTensorBackward0(Node):
    """to_padded_tensor: gather the buffer's elements back out of the padded gradient."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (_gather(g, self.pos, self.shape_in, "NestedFromPaddedBackward0"),)


def _scatter(buf: Tensor, pos: np.ndarray, padding: Any, shape_out: tuple) -> Tensor:
    """A dense tensor of shape ``shape_out`` holding ``buf``'s elements at ``pos`` and
    ``padding`` elsewhere."""
    xp = _xp(buf)
    arr = xp.full(math.prod(shape_out), padding, dtype=buf._data.dtype)
    arr[xp.asarray(pos)] = buf._data.reshape(-1)
    out = from_array(arr.reshape(shape_out), buf._dtype, buf._device)
    if is_grad_enabled() and buf._rg:
        from ..ops._dispatch import record
        node = record(out, ToPaddedTensorBackward0(), (buf,))
        node.__dict__.update(pos=pos, shape_in=tuple(buf.shape))
    return out


def _gather(dense: Tensor, pos: np.ndarray, shape_out: tuple, name: str) -> Tensor:
    """The elements of ``dense`` at the flat positions ``pos``, as a tensor of ``shape_out``."""
    xp = _xp(dense)
    arr = dense._data.reshape(-1)[xp.asarray(pos)].reshape(shape_out)
    out = from_array(arr, dense._dtype, dense._device)
    if is_grad_enabled() and dense._rg:
        from ..ops._dispatch import record
        node = record(out, _gather_node(name)(), (dense,))
        node.__dict__.update(pos=pos, shape_in=tuple(dense.shape))
    return out


def _max_sizes(sizes: np.ndarray) -> tuple[int, ...]:
    return tuple(int(v) for v in sizes.max(axis=0)) if len(sizes) else tuple(0 for _ in range(sizes.shape[1]))


def to_padded(nt: NestedTensor, padding: Any = 0.0, output_size: Sequence[int] | None = None) -> Tensor:
    """The dense ``(B, *max sizes)`` tensor holding ``nt``'s constituents, ``padding`` elsewhere."""
    sizes = nt._nsizes
    full = _max_sizes(sizes)
    if output_size is not None:
        output_size = tuple(int(s) for s in output_size)
        if len(output_size) != 1 + len(full):
            raise RuntimeError("Length of output_size does not match NestedTensor dims. Broadcasting is not "
                               "supported.")
        if output_size[0] != len(sizes) or any(o < f for o, f in zip(output_size[1:], full, strict=True)):
            raise RuntimeError("Value in output_size is less than NestedTensor padded size. Truncation is not "
                               "supported.")
        full = output_size[1:]
    return _scatter(buffer(nt), _positions(sizes, full), padding, (len(sizes), *full))


def from_padded(dense: Tensor, sizes: np.ndarray, like: NestedTensor | None, name: str,
                contiguous: bool = True) -> NestedTensor:
    """A nested tensor with constituent ``sizes`` read out of the padded ``dense`` (``(B, *≥ sizes)``)."""
    pos = _positions(sizes, tuple(dense.shape[1:]))
    return wrap(_gather(dense, pos, (len(pos),), name), sizes, like, contiguous=contiguous)


def constituents(nt: NestedTensor) -> list[Tensor]:
    """Views of the buffer shaped as each constituent (differentiable)."""
    flat = buffer(nt).reshape(-1)
    numels = _numels(nt._nsizes)
    starts = np.concatenate([[0], np.cumsum(numels)]) if len(numels) else [0]
    return [flat[int(starts[i]):int(starts[i + 1])].view(tuple(int(v) for v in s))
            for i, s in enumerate(nt._nsizes)]


# ---------------------------------------------------------------------------------------------- the tensor

class NestedTensor(Tensor):
    """A nested tensor (``is_nested``): see the module docstring."""

    _nsizes: np.ndarray
    _contig: bool
    _is_jagged: bool
    _ragged: Any
    _joffsets: Any
    _ragged_idx: int

    # ---- metadata ----
    @property
    def is_nested(self) -> bool:
        return True

    @property
    def layout(self) -> Any:
        return jagged if self._is_jagged else strided

    def dim(self) -> int:
        return 1 + self._nsizes.shape[1]

    ndimension = dim

    @property
    def ndim(self) -> int:
        return self.dim()

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    def _dim_size(self, i: int) -> Any:
        if i == 0:
            return len(self._nsizes)
        if self._is_jagged and i == self._ragged_idx:
            return self._ragged
        col = self._nsizes[:, i - 1]
        if len(col) and (col == col[0]).all():
            return int(col[0])
        if self._is_jagged:
            return self._ragged
        raise RuntimeError(f"Given dimension {i} is irregular and does not have a size.")

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            if not self._is_jagged:
                raise RuntimeError("Internal error: NestedTensorImpl doesn't support sizes. Please file an issue.")
            return Size(tuple(self._dim_size(i) for i in range(self.dim())))
        n = self.dim()
        if not -n <= dim < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
        return self._dim_size(dim % n)

    @property
    def shape(self) -> Size:  # type: ignore[override]
        return self.size()

    def stride(self, dim: int | None = None) -> Any:
        if not self._is_jagged:
            raise RuntimeError("Internal error: NestedTensorImpl doesn't support strides. Please file an issue.")
        return buffer(self).stride(dim) if dim is not None else (self._data.size,) + buffer(self).stride()

    def is_contiguous(self, memory_format: Any = None) -> bool:
        return self._contig

    def __len__(self) -> int:
        if not self._is_jagged:
            raise RuntimeError("Internal error: NestedTensorImpl doesn't support sizes. Please file an issue.")
        return len(self._nsizes)

    def _nested_tensor_size(self) -> Tensor:
        return C.tensor(self._nsizes.tolist(), dtype=D.int64) if len(self._nsizes) else C.tensor([])

    def _nested_tensor_strides(self) -> Tensor:
        st = np.ones_like(self._nsizes)
        for k in range(self._nsizes.shape[1] - 2, -1, -1):
            st[:, k] = st[:, k + 1] * self._nsizes[:, k + 1]
        return C.tensor(st.tolist(), dtype=D.int64)

    def _nested_tensor_storage_offsets(self) -> Tensor:
        numels = _numels(self._nsizes)
        return C.tensor(np.concatenate([[0], np.cumsum(numels)[:-1]]).tolist(), dtype=D.int64)

    # ---- jagged accessors ----
    def values(self) -> Tensor:
        """The buffer as ``(sum of lengths, *inner dims)`` (jagged layout)."""
        if not self._is_jagged:
            raise not_implemented("values")
        return buffer(self).reshape(-1, *(int(v) for v in self._nsizes[0, 1:])) if len(self._nsizes) else \
            buffer(self)

    def offsets(self) -> Tensor:
        if self._joffsets is None:
            lengths = self._nsizes[:, 0]
            self._joffsets = C.tensor(np.concatenate([[0], np.cumsum(lengths)]).tolist(), dtype=D.int64,
                                          device=self.device)
        return self._joffsets

    def lengths(self) -> Tensor | None:
        return self.__dict__.get("_jlengths")

    # ---- views of the constituents ----
    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        if dim != 0:
            raise RuntimeError(f"NestedTensor can only be unbound along dimension 0 got dimension {dim} instead.")
        return tuple(constituents(self))

    def to_padded_tensor(self, padding: float, output_size: Sequence[int] | None = None) -> Tensor:
        from . import to_padded_tensor
        return to_padded_tensor(self, padding, output_size)

    @property
    def grad(self) -> Tensor | None:  # type: ignore[override]
        g = self._grad
        if g is None or isinstance(g, NestedTensor):
            return g
        return wrap(g, self._nsizes, self)

    @grad.setter
    def grad(self, value: Any) -> None:
        self._grad = buffer(value).detach() if isinstance(value, NestedTensor) else value

    def __repr__(self) -> str:
        suffix = ""
        if self._grad_fn is not None:
            suffix = f", grad_fn=<{type(self._grad_fn).__name__}>"
        elif self._rg:
            suffix = ", requires_grad=True"
        if self._is_jagged:
            size = "(" + ", ".join(str(self._dim_size(i)) for i in range(self.dim())) + ")"
            fn = f", grad_fn={self._grad_fn!r}" if self._grad_fn is not None else \
                (", requires_grad=True" if self._rg else "")
            return f"NestedTensor(size={size}, offsets={self.offsets()!r}{fn}, contiguous={self._contig})"
        parts = []
        flat = self._data.reshape(-1)
        start = 0
        for s in self._nsizes:
            n = int(np.prod(s)) if len(s) else 1
            t = from_array(flat[start:start + n].reshape(tuple(int(v) for v in s)), self._dtype, self._device)
            t._rg = self._rg
            start += n
            parts.append("\n".join("  " + line for line in repr(t).split("\n")))
        return "nested_tensor([\n" + ",\n".join(parts) + "\n]" + suffix + ")"

    __str__ = __repr__

    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        from ._ops import dispatch
        with DisableTorchFunctionSubclass():
            return dispatch(func, args, kwargs or {})


def is_nested(x: Any) -> bool:
    return isinstance(x, NestedTensor)

