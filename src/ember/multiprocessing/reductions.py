"""How tensors and storages cross process boundaries through multiprocessing's pickler: as handles to shared
memory, never as copies of their bytes.

Pickling a CPU tensor first moves its storage into shared memory (as torch does, so the sender's tensor is
shared afterwards), then sends the segment's handle (a duplicated descriptor, or a name under the file_system
strategy) plus the tensor's geometry. The receiver maps the segment (reusing its mapping when it already has
one) and rebuilds the tensor as the same view: writes on either side are seen by both.
"""

from __future__ import annotations

from multiprocessing.reduction import DupFd, ForkingPickler
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU
from .._tensor import Tensor, from_array
from ..ops.storage import UntypedStorage, data_ptr, storage_root
from . import _shm

__all__ = ["init_reductions", "reduce_tensor", "rebuild_tensor", "reduce_storage", "rebuild_storage"]


def _handle(seg: _shm.Segment) -> tuple[Any, str | None]:
    fd, name = _shm.handle(seg)
    return (DupFd(fd) if fd is not None else None), name


def _open(df: Any, name: str | None, nbytes: int, np_dtype: np.dtype) -> np.ndarray:
    return _shm.open_segment(df.detach() if df is not None else None, name, nbytes, np_dtype)


def rebuild_tensor(cls: type, df: Any, name: str | None, nbytes: int, offset: int, shape: tuple[int, ...],
                   strides: tuple[int, ...], dtype_name: str, requires_grad: bool) -> Tensor:
    """The tensor a :func:`reduce_tensor` handle describes, over the sender's shared memory."""
    dt = D.BY_NAME[dtype_name]
    if df is None and name is None:   # no memory to share: a fresh empty tensor of the same geometry
        arr = np.ndarray(shape, dt.np, buffer=np.empty(0, dt.np), strides=strides)
    else:
        root = _open(df, name, nbytes, dt.np)
        arr = np.ndarray(shape, dt.np, buffer=root, offset=offset, strides=strides)
    t = from_array(arr, dt, CPU)
    if cls is not Tensor:   # registered only for Tensor and Parameter
        from ..nn.parameter import Parameter
        return Parameter(t, requires_grad=requires_grad)
    t.requires_grad_(requires_grad)
    return t


def reduce_tensor(tensor: Tensor) -> tuple[Any, tuple]:
    """Pickle ``tensor`` as a shared-memory handle (moving its storage into shared memory first)."""
    if tensor.requires_grad and not tensor.is_leaf:
        raise RuntimeError("Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd "
                           "does not support crossing process boundaries.  If you just want to transfer the "
                           "data, call detach() on the tensor before serializing (e.g., putting it on the queue).")
    if tensor._device is not CPU:   # device memory is not shared between ember processes: send a copy
        return tensor.__reduce_ex__(2)
    meta = (tuple(tensor._data.shape), tuple(tensor._data.strides), tensor._dtype.name, tensor.requires_grad)
    if storage_root(tensor._data).nbytes == 0:
        return rebuild_tensor, (type(tensor), None, None, 0, 0, *meta)
    tensor.share_memory_()   # (holding no reference to its array: a private storage then moves without a heap scan)
    arr = tensor._data
    root = storage_root(arr)
    seg = _shm.segment_of(root)
    return rebuild_tensor, (type(tensor), *_handle(seg), seg.nbytes, data_ptr(arr) - data_ptr(root), *meta)


def rebuild_storage(df: Any, name: str | None, nbytes: int) -> UntypedStorage:
    """The storage a :func:`reduce_storage` handle describes."""
    if df is None and name is None:
        return UntypedStorage(np.empty(0, np.uint8))
    return UntypedStorage(_open(df, name, nbytes, np.dtype(np.uint8)))


def reduce_storage(storage: UntypedStorage) -> tuple[Any, tuple]:
    """Pickle a CPU storage as a shared-memory handle (moving it into shared memory first)."""
    if storage.device is not CPU:
        raise RuntimeError("Cannot pickle a CUDA storage for another process: ember does not share device memory")
    if storage.nbytes() == 0:
        return rebuild_storage, (None, None, 0)
    seg = _shm.segment_of(storage._array)
    if seg is None:
        _shm.share_root(from_array(storage._array))   # rebinds this storage and every tensor over it
        seg = _shm.segment_of(storage._array)
    return rebuild_storage, (*_handle(seg), seg.nbytes)


def init_reductions() -> None:
    """Register the shared-memory reductions with multiprocessing's pickler (tensor classes and storages)."""
    from ..nn.parameter import Parameter
    for cls in (Tensor, Parameter):
        ForkingPickler.register(cls, reduce_tensor)
    ForkingPickler.register(UntypedStorage, reduce_storage)
