"""Storages: the memory behind tensors, as ``torch.UntypedStorage``.

A tensor's storage is the array that owns its memory (the root of its ``.base`` chain); views of one
array share one storage. :func:`storage_root` finds that array, also through the wrappers NumPy's
``as_strided`` inserts, and :class:`UntypedStorage` presents its memory as bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.device import CPU, canonical, device, xp_of

__all__ = ["UntypedStorage", "storage_root", "memory_bytes", "data_ptr"]


def _is_array(obj: Any) -> bool:
    return hasattr(obj, "shape") and hasattr(obj, "strides") and hasattr(obj, "dtype")


def storage_root(arr: Any) -> Any:
    """The array owning the memory ``arr`` views (``arr`` itself when it owns it)."""
    root = arr
    base = arr.base
    while base is not None:
        if _is_array(base):
            root = base
        elif not hasattr(base, "__array_interface__"):  # bytes, bytearray, mmap: root wraps it
            break
        base = getattr(base, "base", None)
    return root


def memory_bytes(root: Any) -> Any:
    """A flat uint8 view of a dense array's memory in address order, or None if it has gaps."""
    if root.flags.c_contiguous:
        flat = root.reshape(-1)
    elif root.flags.f_contiguous:
        flat = root.T.reshape(-1)
    else:
        return None
    return flat.view(np.uint8)


def _new_bytes(spec: Any) -> np.ndarray:
    """The memory of ``UntypedStorage(n)`` / ``UntypedStorage(sequence)``, with torch's errors."""
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if spec < 0:
            raise RuntimeError(f"[enforce fail at alloc_cpu.cpp:98] ((ptrdiff_t)nbytes) >= 0. alloc_cpu() seems to "
                               f"have been called with negative number: {spec % (1 << 64)}")
        return np.zeros(int(spec), np.uint8)
    if not isinstance(spec, (list, tuple, str)):
        raise RuntimeError(f"torch.UntypedStorage(): Expected a sequence type, but got {type(spec).__name__}")
    for v in spec:
        if not isinstance(v, int):
            raise RuntimeError(f"torch.UntypedStorage(): tried to construct a storage from a sequence "
                               f"({type(spec).__name__}), but one of the items was of type {type(v).__name__} "
                               "instead of int")
    return np.array([v % 256 for v in spec], np.uint8)


def data_ptr(arr: Any) -> int:
    """The address of an array's first element (NumPy or CuPy)."""
    return arr.__array_interface__["data"][0] if isinstance(arr, np.ndarray) else arr.data.ptr


class UntypedStorage:
    """The bytes of the array owning a tensor's memory (``torch.UntypedStorage``).

    ``array`` is that owning array, of any dtype and shape; the storage is a view of it, never a copy. As torch's
    constructor it also takes a byte count (new memory, zeroed here), a sequence of ints (stored modulo 256) or
    nothing (empty), with an optional ``device``.
    """

    __slots__ = ("_array", "_device")

    def __init__(self, array: Any = 0, device: Any = CPU) -> None:
        if not _is_array(array):
            device = canonical(device)
            array = _new_bytes(array)
            if device is not CPU:
                array = xp_of(device).asarray(array)
        self._array = storage_root(array)
        self._device = device

    @property
    def device(self) -> device:
        return self._device

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    def nbytes(self) -> int:
        return int(self._array.nbytes)

    size = nbytes
    __len__ = nbytes

    def element_size(self) -> int:
        return 1

    def data_ptr(self) -> int:
        return data_ptr(self._array)

    def _bytes(self) -> Any:
        """The memory as a flat uint8 array (a view for dense arrays)."""
        flat = memory_bytes(self._array)
        return flat if flat is not None else self._array.copy().reshape(-1).view(np.uint8)

    def __getitem__(self, idx: int) -> int:
        n = self.nbytes()
        if not -n <= idx < n:
            raise IndexError(f"index {idx} out of range for storage of size {n}")
        return int(self._bytes()[idx])

    def tolist(self) -> list[int]:
        b = self._bytes()
        return (b if isinstance(b, np.ndarray) else b.get()).tolist()

    def to(self, *, device: Any, non_blocking: bool = False) -> UntypedStorage:
        """This storage on ``device`` (itself when already there)."""
        dev = canonical(device)
        if dev is self._device:
            return self
        arr = self._array if isinstance(self._array, np.ndarray) else self._array.get()
        return UntypedStorage(arr.copy() if dev is CPU else xp_of(dev).asarray(arr), dev)

    def cpu(self) -> UntypedStorage:
        return self.to(device=CPU)

    def cuda(self, device: Any = None, non_blocking: bool = False) -> UntypedStorage:
        return self.to(
            device="cuda" if device is None else f"cuda:{device}" if isinstance(device, int) else device
        )

    def __repr__(self) -> str:
        body = " " + "\n ".join(str(v) for v in self.tolist())   # torch's layout (a lone space when empty)
        return f"{body}\n[torch.storage.UntypedStorage(device={self._device}) of size {self.nbytes()}]"
