"""Tensor methods that manage memory: ``resize_``/``resize_as_`` (and the deprecated out-of-place ``resize``),
``set_``, ``is_set_to``, ``share_memory_``/``is_shared``, and the typed view of storage torch still offers
(``storage()``, ``storage_type()``, :class:`TypedStorage` and the legacy ``FloatStorage``-style classes).
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU
from .._core.warn import warn
from ..autograd import forward_ad as _fw
from ..autograd.function import Function
from ..autograd.grad_mode import STATE
from . import views as V
from ._dispatch import Tensor, bind, check_inplace, history_alias, make_node_class, record, sized, xp_of
from .storage import UntypedStorage


def _xp(t: Tensor) -> Any:
    return np if t._device is CPU else xp_of(t._device)


def _flat_storage(t: Tensor) -> Any:
    """``t``'s storage as a flat array of its dtype (a view when the owning array is dense)."""
    root = t._root_array()
    flat = root.reshape(-1) if root.flags.c_contiguous else root.T.reshape(-1) if root.flags.f_contiguous else None
    if flat is None or flat.dtype != t._dtype.np:
        return None
    return flat


def _nonnegative(sizes: tuple[int, ...]) -> tuple[int, ...]:
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension {builtins.min(sizes)}: {list(sizes)}")
    return sizes


def resize_(self: Tensor, *sizes: Any, size: Any = None, memory_format: Any = None) -> Tensor:
    """Give ``self`` a new (contiguous) shape over the same storage, enlarging the storage when needed; the
    first elements keep their values. As torch, a tensor that requires grad (or carries a tangent) is refused
    whatever the grad mode; only inference mode lets it through."""
    shape = V.int_list(sized(sizes, size, "resize_", "size"), "resize_", "size")
    if self._rg and not STATE.inference:
        if not self._fw_only:
            raise RuntimeError("cannot resize variables that require grad")
        if _fw.ACTIVE[0] and _fw.tangent_of(self) is not None:
            raise RuntimeError("cannot resize variables that has a forward grad")
    shape = _nonnegative(shape)
    if shape == tuple(self._data.shape):
        return self
    n = math.prod(shape)
    xp = _xp(self)
    flat = _flat_storage(self)
    off = self.storage_offset()
    if flat is not None and off + n <= flat.size:
        self._data = flat[off:off + n].reshape(shape)
    else:
        new = xp.empty(off + n, self._dtype.np)
        old = flat if flat is not None else self._data.reshape(-1)
        keep = builtins.min(old.size, new.size)
        new[:keep] = old[:keep]
        self._data = new[off:].reshape(shape)
        self._base = None
    if memory_format is not None:
        self._data = self._data.copy(order="C")  # channels_last etc.: ember keeps the C order
    self._vc[0] += 1
    return self


def resize_as_method(self: Tensor, the_template: Tensor, *, memory_format: Any = None) -> Tensor:
    """``resize_`` to ``the_template``'s shape."""
    return resize_(self, tuple(the_template.shape), memory_format=memory_format)


def _set_backward(node: Any, *grads: Any) -> tuple:
    raise RuntimeError("derivative for set_ is not implemented")


_SetBackward = make_node_class("NotImplemented", _set_backward)


def set_(self: Tensor, source: Any = None, storage_offset: int = 0, size: Sequence[int] | None = None,
         stride: Sequence[int] | None = None) -> Tensor:
    """Make ``self`` view ``source``'s memory: a tensor (same geometry), a storage (flat, or with the given
    offset/size/stride) or nothing (an empty tensor)."""
    from .storage import UntypedStorage
    check_inplace(self)
    xp = _xp(self)
    before = None
    if source is None:
        self._data = xp.empty((0,), self._dtype.np)
        self._base = None
    elif isinstance(source, Tensor):
        if source._dtype is not self._dtype:
            raise RuntimeError(f"Could not set tensor of type {D.CPP_NAMES[source._dtype]} to a tensor of type "
                               f"{D.CPP_NAMES[self._dtype]}")
        if STATE.enabled and (self._rg or source._rg):
            before = history_alias(self)
        base = source._base if source._base is not None else source
        self._data = source._data
        self._base = None if base is self else base   # set_ onto itself (or a view of itself): no alias cycle
        self._vc = source._vc
    else:
        if isinstance(source, TypedStorage):
            source = source._untyped_storage
        if not isinstance(source, UntypedStorage):
            raise TypeError(f"set_(): argument 'source' must be Tensor or Storage, not {type(source).__name__}")
        flat = source._bytes().view(self._dtype.np)
        if size is None:
            self._data = flat
        else:
            isz = self._dtype.itemsize
            st = tuple(stride) if stride is not None else _contiguous_strides(tuple(size))
            self._data = V.strided(xp, flat[storage_offset:], tuple(size), tuple(s * isz for s in st))
        self._base = None
    self._vc[0] += 1
    if before is not None:   # torch records set_ with a node whose backward refuses
        record(self, _SetBackward(), (before, source))
    return self


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    out, acc = [], 1
    for s in reversed(shape):
        out.append(acc)
        acc *= builtins.max(s, 1)
    return tuple(reversed(out))


def is_set_to(self: Tensor, tensor: Tensor) -> bool:
    """Whether both tensors view the same memory with the same geometry."""
    return (self.data_ptr() == tensor.data_ptr() and self._data.shape == tensor._data.shape
            and self.stride() == tensor.stride() and self._root_array() is tensor._root_array())


def share_memory_(self: Tensor) -> Tensor:
    """Move the storage into shared memory (a no-op when it already is, and for CUDA tensors): the tensor, its
    views and aliases keep their values and geometry and now see the same memory as any process receiving them
    through ``ember.multiprocessing``."""
    if self._device is CPU:
        from ..multiprocessing._shm import share_root
        share_root(self)
    return self


def is_shared(self: Tensor) -> bool:
    """Whether the storage is in shared memory (CUDA memory always counts as shared)."""
    if self._device is not CPU:
        return self._device.type == "cuda"
    from ..multiprocessing._shm import segment_of
    from .storage import storage_root
    return segment_of(storage_root(self._data)) is not None


class TypedStorage:
    """A tensor's storage seen as elements of its dtype (``torch.TypedStorage``; deprecated in torch too)."""

    __slots__ = ("_untyped_storage", "dtype")

    def __init__(self, *args: Any, dtype: Any = None, device: Any = None, wrap_storage: Any = None) -> None:
        """``TypedStorage(untyped, dtype)`` / ``wrap_storage=untyped``: a view of existing bytes; otherwise, as
        torch, new memory: ``TypedStorage(n | sequence | nothing, dtype=, device=)`` (the default float dtype)."""
        if args and isinstance(args[0], UntypedStorage):
            wrap_storage, args = args[0], args[1:]
            dtype = args[0] if args else dtype
        elif wrap_storage is None:
            dtype = dtype or D.get_default_dtype()
            wrap_storage = _new_storage(args, dtype, device, "TypedStorage")
        self._untyped_storage = wrap_storage
        self.dtype = dtype

    @property
    def device(self) -> Any:
        return self._untyped_storage.device

    @property
    def is_cuda(self) -> bool:
        return self._untyped_storage.is_cuda

    def untyped(self) -> Any:
        return self._untyped_storage

    def size(self) -> int:
        return self._untyped_storage.nbytes() // self.dtype.itemsize

    __len__ = size

    def nbytes(self) -> int:
        return self._untyped_storage.nbytes()

    def element_size(self) -> int:
        return self.dtype.itemsize

    def data_ptr(self) -> int:
        return self._untyped_storage.data_ptr()

    def _values(self) -> Any:
        b = self._untyped_storage._bytes()
        return (b if isinstance(b, np.ndarray) else b.get()).view(self.dtype.np)

    def __getitem__(self, idx: int) -> Any:
        n = self.size()
        if not -n <= idx < n:
            raise IndexError(f"index {idx} out of range for storage of size {n}")
        return self._values()[idx].item()

    def tolist(self) -> list:
        return self._values().tolist()

    def __repr__(self) -> str:
        body = " " + "\n ".join(str(v) for v in self.tolist())   # torch's layout (a lone space when empty)
        tail = f"[torch.storage.TypedStorage(dtype={self.dtype}, device={self.device}) of size {self.size()}]"
        return f"{body}\n{tail}"


TypedStorage.__module__ = "torch.storage"
_STORAGE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
                  "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                  "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def _new_storage(args: tuple, dt: D.dtype, device: Any, name: str) -> UntypedStorage:
    """New memory for ``dt``: ``(n,)`` (n uninitialised elements), ``(sequence,)`` (those values) or ``()``
    (empty), optionally on ``device``."""
    from .._core.device import canonical, xp_of
    if len(args) > 1:
        raise TypeError(f"{name}(): expected at most one argument, got {len(args)}")
    arg = args[0] if args else 0
    if isinstance(arg, (int, np.integer)) and not isinstance(arg, bool):
        values = np.empty(int(arg), dt.np)
    else:
        from .creation import tensor

        # (a tensor's errors for what no tensor holds: torch makes the values so)
        values = tensor(arg if isinstance(arg, str) else list(arg), dtype=dt)._data
    dev = canonical(device)
    return UntypedStorage(values if dev is CPU else xp_of(dev).asarray(values), dev)


class _LegacyStorageMeta(type):
    """The type of torch's legacy storage classes: making one gives a :class:`TypedStorage`, and any typed
    storage of the class's dtype and device type is an instance."""

    _dtype: D.dtype
    _device_type: str

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, TypedStorage) and obj.dtype is cls._dtype and obj.device.type == cls._device_type


def legacy_storage_class(dt: D.dtype, device_type: str = "cpu", check: Any = None) -> type:
    """``torch.FloatStorage`` (``torch.cuda.FloatStorage``: ``device_type`` "cuda", ``check()`` first) and
    friends: ``FloatStorage(n)`` (n uninitialised elements), ``FloatStorage(sequence)`` (those values) or
    ``FloatStorage()`` (empty), optionally on ``device``, as a :class:`TypedStorage`."""
    name = f"{_STORAGE_NAMES[dt.name]}Storage"

    def __new__(cls: type, *args: Any, wrap_storage: Any = None, dtype: Any = None,
                device: Any = None) -> TypedStorage:
        _warn_typed_storage(2)
        head = f"{cls!r}.__new__ received an invalid combination of arguments. Expected one of:\n * no arguments\n" \
               " * (int size)\n * (Sequence data)\n * (*, UntypedStorage wrap_storage)\n"
        for key, v in (("dtype", dtype), ("device", device)):   # (the class says both)
            if v is not None:
                raise RuntimeError(f"{head}Keyword argument '{key}' cannot be specified")
        if len(args) > 1 or args and wrap_storage is not None:
            raise RuntimeError(f"{head}Too many positional arguments")
        if args and (isinstance(args[0], bool) or not isinstance(args[0], (int, np.integer, Sequence))):
            shown = repr(type(args[0])).replace("'ember.", "'torch.")
            raise TypeError(f"{head}Argument type not recognized: {shown}")
        if check is not None:
            check()
        if wrap_storage is not None:
            return TypedStorage(wrap_storage, dt)
        return TypedStorage(_new_storage(args, dt, None if device_type == "cpu" else device_type, name), dt)
    __new__.__qualname__ = "TypedStorage.__new__"   # (torch's, in its own errors)
    return _LegacyStorageMeta(name, (TypedStorage,), {
        "__slots__": (), "__module__": "torch" if device_type == "cpu" else f"torch.{device_type}",
        "__new__": __new__, "_dtype": dt, "_device_type": device_type})


STORAGE_CLASSES: dict[str, type] = {f"{v}Storage": legacy_storage_class(D.BY_NAME[k])
                                    for k, v in _STORAGE_NAMES.items()}
_typed_storage_warned = [False]


def _warn_typed_storage(stacklevel: int) -> None:
    """torch's deprecation warning for typed storages, once per process (``storage()``, ``FloatStorage()``)."""
    if not _typed_storage_warned[0]:
        _typed_storage_warned[0] = True
        warn("TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be "
             "the only storage class. This should only matter to you if you are using storages "
             "directly.  To access UntypedStorage directly, use tensor.untyped_storage() instead of "
             "tensor.storage()", UserWarning, stacklevel=stacklevel + 1)


def storage(self: Tensor) -> TypedStorage:
    """The tensor's storage as a :class:`TypedStorage` (torch warns that it is deprecated)."""
    _warn_typed_storage(2)
    return TypedStorage(self.untyped_storage(), self._dtype)


def storage_type(self: Tensor) -> type:
    """The legacy storage class of the tensor's dtype (``torch.FloatStorage``, ...)."""
    return STORAGE_CLASSES[f"{_STORAGE_NAMES[self._dtype.name]}Storage"]


class Resize(Function):
    """torch's deprecated out-of-place ``resize``: only a new shape for the same number of elements (a view of
    the contiguous tensor), differentiable, its grad_fn ``ResizeBackward``."""

    @staticmethod
    def forward(ctx: Any, tensor: Tensor, sizes: tuple) -> Tensor:
        n = math.prod(sizes, start=1)
        if n != tensor.numel():
            shown = "x".join(str(s) for s in tensor.shape)
            raise RuntimeError(f"requested resize to {'x'.join(str(s) for s in sizes)} ({n} elements in total), "
                               f"but the given tensor has a size of {shown} ({tensor.numel()} elements). autograd's "
                               "resize can only change the shape of a given tensor, while preserving the number of "
                               "elements. ")
        ctx.shape = tensor.shape
        return V.view(tensor.contiguous(), *sizes)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor, None]:
        return V.view(grad_output.contiguous(), ctx.shape), None


def _resize(self: Tensor, *sizes: Any) -> Tensor:
    warn("non-inplace resize is deprecated", UserWarning, stacklevel=2)
    return Resize.apply(self, sizes)


def _resize_as(self: Tensor, tensor: Tensor) -> Tensor:
    return _resize(self, *tensor.shape)


bind({"resize_": resize_, "resize_as_": resize_as_method, "set_": set_, "storage": storage,
      "storage_type": storage_type, "share_memory_": share_memory_, "is_shared": is_shared, "is_set_to": is_set_to,
      "resize": _resize, "resize_as": _resize_as})
globals().update(STORAGE_CLASSES)

__all__ = ["TypedStorage", "UntypedStorage", *STORAGE_CLASSES]
