"""Shared-memory segments behind shared CPU tensors, and moving a storage into one.

A segment is an ``mmap`` of a shared-memory file that keeps the file's descriptor. Two strategies, as torch on
Linux:

* ``file_descriptor``: an anonymous ``memfd`` (no name anywhere); processes receive a duplicate of the
  descriptor, and the memory is freed once the last mapping and descriptor are gone.
* ``file_system``: a named file in ``/dev/shm``; processes receive the name. An 8-byte reference count after
  the data (updated under ``flock``) counts the processes mapping it plus handles in flight; the last one
  unlinks the file. Names are also registered with multiprocessing's resource tracker, which unlinks any left
  over (say a handle pickled but never received) when the program ends.

A tensor's storage is the array owning its memory (see ``ember.ops.storage``). Moving it into shared memory
rebinds, in place, every tensor and storage object viewing that array (the tensor itself, its views, detached
aliases), as torch swaps the memory under one StorageImpl: all of them stay aliases, with the same values,
geometry and autograd identity.
"""

from __future__ import annotations

import fcntl
import gc
import mmap
import os
import secrets
import struct
import sys
import weakref
from multiprocessing import resource_tracker
from multiprocessing.util import Finalize, register_after_fork
from typing import Any

import numpy as np

from ..ops.storage import UntypedStorage, data_ptr, memory_bytes, storage_root

__all__ = ["Segment", "segment_of", "share_root", "open_segment", "handle", "STRATEGY"]

STRATEGY = ["file_descriptor"]   # the current sharing strategy (ember.multiprocessing.set_sharing_strategy)
_COUNT = struct.Struct("q")
_SHM_DIR = "/dev/shm"


class Segment(mmap.mmap):
    """A mapping of a shared-memory file: ``nbytes`` data bytes, its descriptor ``fd`` and, for the
    file_system strategy, its ``name`` (a reference count follows the data)."""

    fd: int
    name: str | None
    nbytes: int


_LIVE: dict[int, tuple[str | None, int, int]] = {}   # our descriptor -> (name, nbytes, pid) of each mapped segment


def _release(fd: int) -> None:
    """Drop this process's hold on a segment (when its mapping is collected, or at exit for a named one)."""
    entry = _LIVE.pop(fd, None)
    if entry is None:
        return
    name, nbytes, pid = entry
    if os.getpid() != pid:   # a forked child's inherited copy: the parent still holds it
        return
    if name is not None:
        _add_ref(fd, name, nbytes, -1)
    os.close(fd)


def _release_named() -> None:
    """At exit: give back this process's references to named segments it still maps (descriptors are left to
    the system, so queues flushing at exit can still send them)."""
    for fd, (name, _, pid) in list(_LIVE.items()):
        if name is not None and pid == os.getpid():
            _release(fd)


class _ExitHook:
    """Installs :func:`_release_named` to run when this process ends, after queues have flushed (their joins run
    at priority -5): in the main process through atexit, in multiprocessing children (which end with os._exit and
    drop the inherited finalizers when they start) again after each start."""

    def __init__(self) -> None:
        self.install()
        register_after_fork(self, _ExitHook.install)

    def install(self) -> None:
        Finalize(None, _release_named, exitpriority=-10)


_EXIT_HOOK = _ExitHook()


def _add_ref(fd: int, name: str, nbytes: int, delta: int) -> None:
    """Change a file_system segment's reference count; the last holder unlinks the file."""
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        count = _COUNT.unpack(os.pread(fd, _COUNT.size, nbytes))[0] + delta
        os.pwrite(fd, _COUNT.pack(count), nbytes)
        if count <= 0:
            try:
                os.unlink(os.path.join(_SHM_DIR, name))
            except FileNotFoundError:
                pass
            _untrack(name)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _track(name: str) -> None:
    resource_tracker.register("/" + name, "shared_memory")


def _untrack(name: str) -> None:
    try:
        resource_tracker.unregister("/" + name, "shared_memory")
    except Exception:   # noqa: BLE001 - the tracker may be gone at interpreter exit; the file is unlinked anyway
        pass


_CACHE: dict[tuple[int, int], weakref.ref] = {}   # (st_dev, st_ino) -> the typed root array mapping it here


def _map(fd: int, name: str | None, nbytes: int) -> Segment:
    size = nbytes + (_COUNT.size if name is not None else 0)
    seg = Segment(fd, max(size, 1))
    seg.fd, seg.name, seg.nbytes = fd, name, nbytes
    _LIVE[fd] = (name, nbytes, os.getpid())
    weakref.finalize(seg, _release, fd).atexit = False   # exit: see _ExitHook
    return seg


def _create(nbytes: int) -> Segment:
    """A fresh zero-filled segment of ``nbytes`` bytes under the current strategy."""
    if STRATEGY[0] == "file_system":
        while True:
            name = f"ember_{os.getpid()}_{secrets.token_hex(8)}"
            try:
                fd = os.open(os.path.join(_SHM_DIR, name), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
                break
            except FileExistsError:
                continue
        os.ftruncate(fd, nbytes + _COUNT.size)
        os.pwrite(fd, _COUNT.pack(1), nbytes)
        _track(name)
        return _map(fd, name, nbytes)
    fd = os.memfd_create("ember_shm", os.MFD_CLOEXEC)
    os.ftruncate(fd, max(nbytes, 1))
    return _map(fd, None, nbytes)


def segment_of(root: Any) -> Segment | None:
    """The segment a storage array maps, or None when its memory is private."""
    if not isinstance(root, np.ndarray):
        return None
    b = root.base
    return b.obj if isinstance(b, memoryview) and isinstance(b.obj, Segment) else None


def _typed_root(seg: Segment, dtype: np.dtype) -> np.ndarray:
    """The storage array over a whole segment (1-D, ``dtype`` when the size allows)."""
    dt = dtype if seg.nbytes % dtype.itemsize == 0 else np.dtype(np.uint8)
    return np.frombuffer(seg, dt, count=seg.nbytes // dt.itemsize)


def _remember(seg: Segment, root: np.ndarray) -> None:
    st = os.fstat(seg.fd)
    _CACHE[(st.st_dev, st.st_ino)] = weakref.ref(root)
    if len(_CACHE) > 128:   # drop dead entries (a copy of the items: queue feeder threads also get here)
        for k, r in list(_CACHE.items()):
            if r() is None:
                _CACHE.pop(k, None)


def open_segment(fd: int | None, name: str | None, nbytes: int, dtype: np.dtype) -> np.ndarray:
    """The storage array over a segment received from another process (``fd`` is ours to keep or close);
    a segment this process already maps gives back the same array, so received tensors alias as sent."""
    if fd is None:
        fd = os.open(os.path.join(_SHM_DIR, name), os.O_RDWR)   # type: ignore[arg-type]
    st = os.fstat(fd)
    ref = _CACHE.get((st.st_dev, st.st_ino))
    root = ref() if ref is not None else None
    if root is not None:
        if name is not None:
            _add_ref(fd, name, nbytes, -1)   # the reference taken for this handle is not needed
        os.close(fd)
        return root
    root = _typed_root(_map(fd, name, nbytes), dtype)
    _remember(segment_of(root), root)   # type: ignore[arg-type]
    return root


def handle(seg: Segment) -> tuple[int | None, str | None]:
    """What a receiver needs to map ``seg`` (an extra reference is taken for a named segment)."""
    if seg.name is not None:
        _add_ref(seg.fd, seg.name, seg.nbytes, 1)
        return None, seg.name
    return seg.fd, None


def _counts(root: Any, t: Any) -> tuple[int, int]:
    """Reference counts of a tensor's storage array and of its own array."""
    arr = t._data
    return sys.getrefcount(root), sys.getrefcount(arr)


def _calibrate() -> tuple[int, int, int]:
    """The counts :func:`_counts` reports, called as :func:`share_root` calls it, for a tensor that is the only
    holder of its memory: (storage count when the tensor's array is the storage, storage count when it is a
    view, the view's count)."""
    from .._tensor import from_array
    t = from_array(np.zeros(1))
    root = t._data
    own = _counts(root, t)[0]
    t = from_array(np.zeros(2)[1:])
    root = t._data.base
    return (own, *_counts(root, t))


_ALONE: list[tuple[int, int, int]] = []


def _holders(root: Any, first: Any, counts: tuple[int, int]) -> list[Any]:
    """Every tensor and storage object over ``root`` (``first`` included). The heap is only scanned when
    something besides ``first`` references the memory (``counts``: :func:`_counts` in the caller)."""
    from .._tensor import Tensor
    if not _ALONE:
        _ALONE.append(_calibrate())
    own, view_root, view = _ALONE[0]
    arr = first._data
    if (counts[0] <= own) if arr is root else (arr.base is root and counts[0] <= view_root and counts[1] <= view):
        return [first]
    slot = Tensor.__dict__["_data"]   # the slot itself (a subclass may shadow ``_data`` with a property)
    tensor_kinds, todo = set(), [Tensor]
    while todo:
        k = todo.pop()
        tensor_kinds.add(k)
        todo.extend(k.__subclasses__())
    found = []
    for o in gc.get_objects():
        kind = type(o)   # not isinstance: some objects warn when asked for their __class__
        if kind in tensor_kinds:
            try:
                a = slot.__get__(o)
            except AttributeError:
                continue
            if a is root or (isinstance(a, np.ndarray) and a.base is not None and storage_root(a) is root):
                found.append(o)
        elif kind is UntypedStorage and o._array is root:
            found.append(o)
    return found


def _rebind(arr: np.ndarray, root: np.ndarray, new_root: np.ndarray) -> np.ndarray:
    """``arr`` (a view of ``root``) as the same view of ``new_root``."""
    out = np.ndarray(arr.shape, arr.dtype, buffer=new_root, offset=data_ptr(arr) - data_ptr(root),
                     strides=arr.strides)
    if not arr.flags.writeable:
        out.flags.writeable = False
    return out


def share_root(t: Any) -> None:
    """Move the storage of CPU tensor ``t`` into a new shared-memory segment, rebinding every alias."""
    root = storage_root(t._data)
    if segment_of(root) is not None:
        return
    counts = _counts(root, t)
    src = memory_bytes(root)
    if src is None:   # a storage with gaps (not an ember allocation): t alone moves, onto a dense copy
        dense = np.ascontiguousarray(t._data)
        seg = _create(dense.nbytes)
        new_root = _typed_root(seg, dense.dtype)
        new_root.view(np.uint8)[:] = dense.reshape(-1).view(np.uint8)
        t._data = new_root[:dense.size].reshape(dense.shape)
    else:
        holders = _holders(root, t, counts)
        seg = _create(src.size)
        new_root = _typed_root(seg, root.dtype)
        new_root.view(np.uint8)[:] = src
        for h in holders:
            if isinstance(h, UntypedStorage):
                h._array = new_root
            else:
                h._data = _rebind(h._data, root, new_root)
    _remember(seg, new_root)
