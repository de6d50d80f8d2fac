"""Checkpoints in PyTorch's file format: ``save`` writes what ``torch.save`` writes, ``load`` reads
torch's zip files (and the pre-1.6 stream format), safely by default.

A checkpoint is a zip of one pickle (``data.pkl``, protocol 2) plus one raw entry per storage; tensors
pickle as calls of ``torch._utils._rebuild_tensor_v2`` on a persistent id naming their storage, so views
saved together stay views of one storage. ``load(weights_only=True)`` (the default) reads the pickle with
an allowlist-only unpickler: a file cannot run code. Saving to a path is atomic.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import pickle
import struct
import sys
import types
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import IO, Any, BinaryIO

import numpy as np

from .._core import dtype as D
from .._core.atomic import atomic_write
from .._core.device import cuda_available, cuda_device_count, device, xp_of
from .._tensor import Tensor, from_array, python_state
from ..ops.extra import layout
from ..ops.storage import UntypedStorage, data_ptr, memory_bytes, storage_root
from ._globals import (
    GET_LAYOUT,
    REBUILD_FROM_TYPE_V2,
    REBUILD_PARAMETER,
    REBUILD_PARAMETER_WITH_STATE,
    REBUILD_QTENSOR,
    REBUILD_SPARSE,
    REBUILD_V2,
    REBUILD_V3,
    STORAGE_OF_DTYPE,
    V3_DTYPES,
    StorageType,
    is_parameter,
    qtensor_params,
    torch_globals,
    torch_name,
)
from ._unpickler import (
    WeightsUnpickler,
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
    unsafe_globals,
)
from ._zip import EntryReader, ZipWriter

__all__ = [
    "save",
    "load",
    "add_safe_globals",
    "safe_globals",
    "get_safe_globals",
    "clear_safe_globals",
    "get_unsafe_globals_in_checkpoint",
    "DEFAULT_PROTOCOL",
]

DEFAULT_PROTOCOL = 2
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_MAX_FORMAT_VERSION = 10
FileLike = str | os.PathLike | IO[bytes]


# ---- saving ---------------------------------------------------------------------------------------------
class _StorageRef:
    """A storage being saved: its persistent id and its memory (a flat uint8 array)."""

    __slots__ = ("pid", "flat", "dtype")

    def __init__(self, pid: tuple, flat: Any, dtype: D.dtype) -> None:
        self.pid, self.flat, self.dtype = pid, flat, dtype


class _Pickler(pickle._Pickler):  # type: ignore[name-defined]
    """Pickles as ``torch.save`` does: tensors as rebuild calls on storage persistent ids, torch's names."""

    legacy = False   # pre-1.6 ids: keyed by the memory's address, with a sixth field (no view metadata)

    def __init__(self, file: BinaryIO, protocol: int) -> None:
        super().__init__(file, protocol)
        self.storages: dict[int, _StorageRef] = {}  # id(root array) -> ref
        self.roots: list[Any] = []  # keeps those roots (and so their ids) alive

    dispatch = dict(pickle._Pickler.dispatch)  # type: ignore[attr-defined]
    dispatch[types.FunctionType] = lambda self, obj: self.save_global(obj)  # the base binds its own

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) is _StorageRef:
            return (*obj.pid, None) if self.legacy else (*obj.pid,)  # a new tuple each time, as torch
        if isinstance(obj, UntypedStorage):
            arr = obj._array if memory_bytes(obj._array) is not None else obj._array.copy()
            return self._storage(arr, D.uint8, UntypedStorage, obj._device).pid
        return None

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Tensor):
            if obj._sparse_layout:
                return (REBUILD_SPARSE, obj._sparse_reduce_args())
            return self._reduce_tensor(obj)
        if type(obj) is layout:
            return (GET_LAYOUT, (repr(obj),))
        if type(obj) is device:
            return (device, (obj.type,) if obj.index is None else (obj.type, obj.index))
        return NotImplemented

    def save_global(self, obj: Any, name: str | None = None) -> None:
        named = torch_name(obj)
        if named is None:
            try:
                super().save_global(obj, name)
            except pickle.PicklingError as err:   # torch pickles with the C pickler: raise its error instead
                try:
                    pickle.dumps(obj, protocol=self.proto)
                except Exception as c_error:   # noqa: BLE001 - whichever type the C pickler raises
                    raise c_error from None
                raise err
            return
        self.write(pickle.GLOBAL + f"{named[0]}\n{named[1]}\n".encode())
        self.memoize(obj)

    def _reduce_tensor(self, t: Tensor) -> tuple:
        state = python_state(t)
        if is_parameter(t):
            args = (from_array(t._data, t._dtype, t._device), t._rg, OrderedDict())
            return (REBUILD_PARAMETER_WITH_STATE, (*args, state)) if state else (REBUILD_PARAMETER, args)
        if t._dtype.kind == "quantized":
            ref, offset, stride = self._tensor_storage(t, False)
            args = (ref, offset, tuple(t._data.shape), stride, qtensor_params(t), t._rg, OrderedDict())
            return (REBUILD_QTENSOR, args)
        v3 = t._dtype in V3_DTYPES  # torch saves these through an untyped storage plus a dtype argument
        ref, offset, stride = self._tensor_storage(t, v3)
        args = (ref, offset, tuple(t._data.shape), stride, t._rg, OrderedDict())
        func = REBUILD_V3 if v3 else REBUILD_V2
        if v3:
            args += (t._dtype,)
        if type(t) is not Tensor or state:
            return (REBUILD_FROM_TYPE_V2, (func, type(t), args, state))
        return (func, args)

    def _tensor_storage(self, t: Tensor, v3: bool) -> tuple[_StorageRef, int, tuple[int, ...]]:
        """The storage ``t`` views, and ``t``'s offset and strides there in elements of its dtype."""
        arr, item = t._data, t._dtype.itemsize
        root = storage_root(arr)
        flat = memory_bytes(root)
        off = data_ptr(arr) - data_ptr(root)
        if flat is None or off < 0 or off % item or flat.nbytes % item or any(s < 0 for s in arr.strides):
            arr = root = arr.copy()  # memory torch cannot describe: save this tensor alone, contiguous
            off = 0
        # (Tensor.stride: the strides of the array saved, also for a DTensor, whose stride() is its global one)
        stride = Tensor.stride(t) if arr is t._data else tuple(s // item for s in arr.strides)
        if v3:
            return self._storage(root, D.uint8, UntypedStorage, t._device), off // item, stride
        return self._storage(root, t._dtype, STORAGE_OF_DTYPE[t._dtype], t._device), off // item, stride

    def _storage(self, root: Any, dtype: D.dtype, kind: Any, dev: device) -> _StorageRef:
        ref = self.storages.get(id(root))
        if ref is None:
            flat = memory_bytes(root)
            key = str(data_ptr(root) if self.legacy else len(self.storages))
            pid = ("storage", kind, key, str(dev), flat.nbytes // dtype.itemsize)
            ref = self.storages[id(root)] = _StorageRef(pid, flat, dtype)
            self.roots.append(root)
        elif ref.dtype is not dtype:
            if ref.flat.nbytes:
                raise RuntimeError(
                    "Cannot save multiple tensors or storages that view the same data as different types"
                )
            # an empty storage holds no data to disagree about: torch saves it under one key as each dtype
            return _StorageRef((*ref.pid[:1], kind, *ref.pid[2:]), ref.flat, dtype)
        return ref


def _pickler_class(pickle_module: Any) -> type[_Pickler]:
    """ember's pickler over ``pickle_module``'s (which must be the pure-Python ``pickle._Pickler`` or built on it:
    ember hooks its global and persistent-id writing)."""
    base = getattr(pickle_module, "_Pickler", None) if pickle_module is pickle else getattr(pickle_module, "Pickler",
                                                                                            None)
    if base is pickle._Pickler:  # type: ignore[attr-defined]
        return _Pickler
    if not (isinstance(base, type) and issubclass(base, pickle._Pickler)):  # type: ignore[attr-defined]
        raise TypeError(f"ember.save needs a pickle_module whose Pickler derives from pickle._Pickler (the "
                        f"pure-Python pickler); {getattr(pickle_module, '__name__', pickle_module)!r} has none")
    return type("_Pickler", (_Pickler, base), {})


def _write_legacy(obj: Any, f: BinaryIO, protocol: int, pickler_class: type[_Pickler]) -> None:
    """torch's pre-1.6 format (``_use_new_zipfile_serialization=False``): magic number, protocol version and
    system info pickles, the object, its storage keys (sorted), then each storage's element count and bytes."""
    for header in (_LEGACY_MAGIC, _LEGACY_PROTOCOL, {"protocol_version": _LEGACY_PROTOCOL,
                                                      "little_endian": sys.byteorder == "little",
                                                      "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        pickle.dump(header, f, protocol=protocol)
    pickler = pickler_class(f, protocol)
    pickler.legacy = True
    pickler.dump(obj)
    refs = {ref.pid[2]: ref for ref in pickler.storages.values()}
    pickle.dump(sorted(refs), f, protocol=protocol)
    for key in sorted(refs):
        ref = refs[key]
        flat = ref.flat if isinstance(ref.flat, np.ndarray) else ref.flat.get()
        f.write(struct.pack("<q", ref.pid[4]))
        f.write(memoryview(flat))


def _write_checkpoint(obj: Any, f: BinaryIO, archive: str, protocol: int, byteorder_record: bool,
                      pickler_class: type[_Pickler] = _Pickler) -> None:
    buf = io.BytesIO()
    pickler = pickler_class(buf, protocol)
    pickler.dump(obj)
    zw = ZipWriter(f, archive)
    zw.write_record("data.pkl", buf.getvalue())
    zw.write_record(".format_version", b"1")
    zw.write_record(".storage_alignment", b"64")
    if byteorder_record:
        zw.write_record("byteorder", sys.byteorder.encode())
    for ref in pickler.storages.values():
        flat = ref.flat if isinstance(ref.flat, np.ndarray) else ref.flat.get()
        zw.write_record(f"data/{ref.pid[2]}", flat)
    zw.write_record("version", b"3\n")
    ident = "".join(f"{int.from_bytes(os.urandom(8), 'little'):020d}" for _ in range(2))
    zw.write_record(".data/serialization_id", ident.encode())
    zw.close()


def save(
    obj: Any,
    f: FileLike,
    pickle_module: Any = pickle,
    pickle_protocol: int = DEFAULT_PROTOCOL,
    _use_new_zipfile_serialization: bool = True,
    _disable_byteorder_record: bool = False,
) -> None:
    """Save ``obj`` in PyTorch's checkpoint format (``torch.load`` reads it): the zip format, or torch's legacy
    stream with ``_use_new_zipfile_serialization=False``.

    ``f`` is a path (written atomically: a crash never leaves a partial file there) or a binary file object.
    """
    pickler_class = _pickler_class(pickle_module)

    def write(fh: BinaryIO, archive: str) -> None:
        if _use_new_zipfile_serialization:
            _write_checkpoint(obj, fh, archive, pickle_protocol, not _disable_byteorder_record, pickler_class)
        else:
            _write_legacy(obj, fh, pickle_protocol, pickler_class)

    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        atomic_write(path, lambda fh: write(fh, os.path.splitext(os.path.basename(path))[0]))
        return
    if not hasattr(f, "write"):
        raise AttributeError(
            "expected 'f' to be string, path, or a file-like object with a 'write' attribute"
        )
    write(f, "archive")


# ---- loading --------------------------------------------------------------------------------------------
Restore = Callable[[UntypedStorage, str], UntypedStorage]


def _to_location(storage: UntypedStorage, location: str) -> UntypedStorage:
    if location == "cpu":
        return storage.cpu()
    if location.startswith("cuda"):
        if not cuda_available():
            raise RuntimeError(
                "Attempting to deserialize object on a CUDA device but ember.cuda.is_available() "
                "is False. If you are running on a CPU-only machine, please use ember.load with "
                "map_location=ember.device('cpu') to map your storages to the CPU."
            )
        index = device(location).index or 0
        if index >= cuda_device_count():
            raise RuntimeError(
                f"Attempting to deserialize object on CUDA device {index} but "
                f"ember.cuda.device_count() is {cuda_device_count()}. Please use ember.load with "
                "map_location to map your storages to an existing device."
            )
        return storage.to(device=location)
    raise RuntimeError(
        f"don't know how to restore data location of torch.storage.UntypedStorage (tagged with {location})"
    )


def _restorer(map_location: Any) -> Restore:
    """``map_location`` (None, str, device, dict or callable) as a function (storage, location) → storage.
    Anything else is called too: as torch's, a bad one fails at the first storage (a file without any loads)."""
    if map_location is None:
        return _to_location
    if isinstance(map_location, dict):
        return lambda s, loc: _to_location(s, str(map_location.get(loc, loc)))
    if isinstance(map_location, (str, bytes, device)):
        target = map_location.decode() if isinstance(map_location, bytes) else str(map_location)
        return lambda s, loc: _to_location(s, target)

    def call(s: UntypedStorage, loc: str) -> UntypedStorage:
        out = map_location(s, loc)
        if out is None:
            return _to_location(s, loc)
        if isinstance(out, Tensor):
            out = out.untyped_storage()
        if not isinstance(out, UntypedStorage):
            raise TypeError(f"map_location must return a storage or None, got {type(out).__name__}")
        return out

    return call


def _ascii(v: Any) -> Any:
    return v.decode("ascii") if isinstance(v, bytes) else v


def _storage_dtype(kind: Any) -> D.dtype:
    if kind is UntypedStorage:
        return D.uint8
    if not isinstance(kind, StorageType):
        raise RuntimeError(f"invalid checkpoint: {kind!r} is not a storage type")
    if kind.dtype is None:
        raise RuntimeError(f"ember cannot load torch.{kind.name}: it has no {kind.name[:-7].lower()} tensors")
    return kind.dtype


def _check_pid(pid: Any, length: int) -> tuple[D.dtype, str, str, int]:
    if type(pid) is not tuple or len(pid) != length or _ascii(pid[0]) != "storage":
        raise RuntimeError(f"invalid storage id in checkpoint: {pid!r}")
    dtype, key, location, numel = _storage_dtype(pid[1]), _ascii(pid[2]), _ascii(pid[3]), pid[4]
    if not isinstance(key, str) or not isinstance(location, str) or type(numel) is not int or numel < 0:
        raise RuntimeError(f"invalid storage id in checkpoint: {pid!r}")
    return dtype, key, location, numel


Unpickle = Callable[[BinaryIO, Callable[[Any], Any]], Any]


def _unpickler(weights_only: bool, pickle_module: Any, load_args: dict[str, Any]) -> Unpickle:
    """A function (file, persistent_load) → unpickled object, restricted or not."""
    if weights_only:
        encoding = load_args.get("encoding", "utf-8")
        return lambda fh, pl: WeightsUnpickler(fh, pl, encoding).load()
    base = (pickle_module or pickle).Unpickler

    class _Unpickler(base):  # type: ignore[misc, valid-type]
        def find_class(self, module: str, name: str) -> Any:
            module = {"torch.tensor": "torch._tensor"}.get(module, module)
            known = torch_globals().get(f"{module}.{name}")
            if known is not None:
                return known
            if module == "torch" or module.startswith("torch."):
                try:  # torch.nn.modules.linear.Linear -> ember.nn.modules.linear.Linear
                    return getattr(importlib.import_module("ember" + module[5:]), name)
                except (ImportError, AttributeError):
                    raise pickle.UnpicklingError(f"ember has no counterpart of {module}.{name}") from None
            return super().find_class(module, name)

    def run(fh: BinaryIO, pl: Callable[[Any], Any]) -> Any:
        u = _Unpickler(fh, **load_args)
        u.persistent_load = pl
        return u.load()

    return run


def _load_zip(fh: BinaryIO, mmap_path: str | None, restore: Restore, unpickle: Unpickle) -> Any:
    reader = EntryReader(fh)
    names = list(reader.infos)
    if not names:
        raise RuntimeError("the checkpoint is an empty zip archive")
    if "/" not in names[0]:
        raise RuntimeError(f"file in archive is not in a subdirectory: {names[0]}")
    prefix = names[0].split("/", 1)[0] + "/"
    for name in names:
        if not name.startswith(prefix):
            raise RuntimeError(f"file in archive is not in a subdirectory {prefix}: {name}")
    if prefix + "constants.pkl" in reader.infos:
        raise RuntimeError("this is a TorchScript archive (torch.jit.save); ember cannot load TorchScript")
    if prefix + "version" not in reader.infos:
        raise RuntimeError(
            f"invalid checkpoint: the archive has no {prefix}version record (not a file written by "
            "torch.save or ember.save?)"
        )
    text = reader.read(prefix + "version").strip()
    if not text.isdigit() or not 1 <= int(text) <= _MAX_FORMAT_VERSION:
        raise RuntimeError(
            f"checkpoint format version {text.decode('ascii', 'replace')!r} is not supported: "
            f"ember reads versions 1 to {_MAX_FORMAT_VERSION}"
        )
    byteorder = reader.read(prefix + "byteorder") if prefix + "byteorder" in reader.infos else b"little"
    if byteorder not in (b"little", b"big"):
        raise ValueError("Unknown endianness type: " + byteorder.decode("ascii", "replace"))
    swap = byteorder.decode() != sys.byteorder
    storages: dict[str, UntypedStorage] = {}

    def persistent_load(pid: Any) -> UntypedStorage:
        dtype, key, location, numel = _check_pid(pid, 5)
        if key in storages:
            known = storages[key]
            if known._array.dtype == dtype.np:
                return known
            if known._array.nbytes:   # (torch.save refuses to write that)
                raise RuntimeError(f"invalid checkpoint: storage {key} is used as two dtypes")
            return UntypedStorage(xp_of(known._device).empty(0, dtype.np), known._device)   # an empty one, as each
        name = f"{prefix}data/{key}"
        if name not in reader.infos:
            raise RuntimeError(f"invalid checkpoint: storage {name} is missing")
        info = reader.info(name)
        if info.file_size != numel * dtype.itemsize:
            raise RuntimeError(
                f"invalid checkpoint: {name} holds {info.file_size} bytes but the pickle declares "
                f"{numel} elements of {dtype} ({numel * dtype.itemsize} bytes)"
            )
        offset = reader.validate(info)  # before allocating anything
        if mmap_path is not None and offset is not None and numel:
            mm = np.memmap(mmap_path, dtype=dtype.np, mode="c", offset=offset, shape=(numel,))
            arr = np.ndarray((numel,), dtype.np, buffer=mm)
        else:
            arr = np.empty(numel, dtype.np)
            reader.read_into(info, arr.view(np.uint8), offset)
        if swap:
            arr.byteswap(inplace=True)
        storages[key] = restore(UntypedStorage(arr), location)
        return storages[key]

    return unpickle(io.BytesIO(reader.read(prefix + "data.pkl")), persistent_load)


def _read_exact(fh: BinaryIO, out: Any) -> None:
    view, got = memoryview(out), 0
    while got < out.nbytes:
        n = fh.readinto(view[got:])
        if not n:
            raise RuntimeError(f"unexpected EOF, expected {out.nbytes - got} more bytes. The file might be corrupted.")
        got += n


def _load_legacy(fh: BinaryIO, restore: Restore, unpickle: Unpickle) -> Any:
    """The pre-1.6 format: magic, protocol, sys info, the object, its storage keys, then storage data."""
    start = fh.tell()
    head = fh.read(262)
    fh.seek(start)
    if head[257:262] == b"ustar":
        raise RuntimeError("this checkpoint uses torch's oldest (tar) format, which ember cannot read")
    file_size = fh.seek(0, 2) - start
    fh.seek(start)

    def no_storage(pid: Any) -> Any:
        raise RuntimeError("invalid checkpoint: storage reference in a header pickle")

    if unpickle(fh, no_storage) != _LEGACY_MAGIC:
        raise RuntimeError("Invalid magic number; corrupt file?")
    protocol = unpickle(fh, no_storage)
    if protocol != _LEGACY_PROTOCOL:
        raise RuntimeError(f"Invalid protocol version: {protocol}")
    unpickle(fh, no_storage)  # sys info: torch ignores it too
    body = fh.tell()
    storages: dict[str, UntypedStorage] = {}
    locations: dict[str, str] = {}

    def persistent_load(pid: Any) -> Any:
        if type(pid) is tuple and pid and _ascii(pid[0]) == "module":
            return pid[1]
        dtype, key, location, numel = _check_pid(pid, 6)
        if pid[5] is not None:
            raise RuntimeError("ember cannot load legacy checkpoints with storage views")
        if key not in storages:
            if numel * dtype.itemsize > file_size:
                raise RuntimeError(
                    f"invalid checkpoint: storage {key} declares {numel} elements, more than the file holds"
                )
            storages[key], locations[key] = UntypedStorage(np.zeros(numel, dtype.np)), location
        return storages[key]

    # The data follows the object's pickle: a first pass learns the storages (its object is dropped: rebuilds
    # that read data, as a sparse tensor's, saw zeros), a second rebuilds the object over the filled, placed ones.
    unpickle(fh, persistent_load)
    keys = unpickle(fh, no_storage)
    if not isinstance(keys, list) or set(keys) != set(storages):
        raise RuntimeError("invalid checkpoint: the storage key list does not match the storages used")
    for key in keys:
        arr = storages[key]._array
        count = fh.read(8)
        if len(count) != 8 or struct.unpack("<q", count)[0] != arr.size:
            raise RuntimeError(f"invalid checkpoint: bad element count for storage {key}")
        _read_exact(fh, arr.view(np.uint8))
    placed = {k: restore(s, locations[k]) for k, s in storages.items()}
    fh.seek(body)
    return unpickle(fh, lambda pid: placed[_ascii(pid[2])] if _ascii(pid[0]) == "storage" else pid[1])


def _weights_only_message(msg: str) -> str:
    return (
        f"Weights only load failed: {msg}\n\nember.load ran with weights_only=True (the default), which only "
        "rebuilds tensors, plain containers and allowlisted globals, so a file cannot run code. If you trust "
        "where this file came from, either allowlist the global(s) it needs with "
        "ember.serialization.add_safe_globals([...]) (or the ember.serialization.safe_globals([...]) context "
        "manager), or load it with weights_only=False, which can execute arbitrary code from the file."
    )


def get_unsafe_globals_in_checkpoint(f: FileLike) -> list[str]:
    """The globals (``module.name``) a zip checkpoint's pickle uses that ``load(weights_only=True)`` would
    refuse as things stand (defaults and ``add_safe_globals``); the pickle is read, never run."""
    with _opened(f) as (fh, _):
        start = fh.tell()
        is_zip = fh.read(4) == b"PK\x03\x04"
        fh.seek(start)
        if not is_zip:
            raise ValueError("Expected input to be a checkpoint returned by torch.save")
        reader = EntryReader(fh)
        pkl = [n for n in reader.infos if n.count("/") == 1 and n.endswith("/data.pkl")]
        if not pkl:
            raise RuntimeError("failed locating file data.pkl: file not found (not a checkpoint?)")
        return unsafe_globals(reader.read(pkl[0]))


@contextlib.contextmanager
def _opened(f: FileLike) -> Iterator[tuple[BinaryIO, str | None]]:
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        with open(path, "rb") as fh:
            yield fh, path
        return
    if not hasattr(f, "read"):
        raise AttributeError("expected 'f' to be string, path, or a file-like object with a 'read' attribute")
    seekable = getattr(f, "seekable", lambda: False)()
    yield (f if seekable else io.BytesIO(f.read())), None  # type: ignore[misc]


def load(
    f: FileLike,
    map_location: Any = None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = None,
    mmap: bool | None = None,
    **pickle_load_args: Any,
) -> Any:
    """Load an object saved by ``torch.save`` or ``ember.save``.

    ``weights_only`` (default True unless ``pickle_module`` is given) restricts the pickle to tensors,
    containers, scalars and allowlisted globals. ``map_location`` (str, device, dict or callable) moves
    storages; ``mmap=True`` maps storages from the file (a path) instead of reading them.
    """
    if weights_only is None:
        weights_only = pickle_module is None
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    if isinstance(f, (str, os.PathLike)) and os.fspath(f).endswith(".safetensors"):
        from ..safetensors import load_file

        if isinstance(map_location, dict) or callable(map_location):
            raise RuntimeError("Loading a safetensors file takes map_location as a device or string only")
        return load_file(f, device="cpu" if map_location is None else str(map_location))
    restore, unpickle = _restorer(map_location), _unpickler(weights_only, pickle_module, pickle_load_args)
    with _opened(f) as (fh, path):
        start = fh.tell()
        is_zip = fh.read(4) == b"PK\x03\x04"
        fh.seek(start)
        if mmap and not is_zip:   # (checked first, as torch: also for a file object)
            raise RuntimeError(
                "mmap can only be used with files saved in the zip format (torch >= 1.6 or "
                "ember.save); this file uses the legacy format"
            )
        if mmap and path is None:
            raise ValueError("f must be a file path in order to use the mmap argument")
        try:
            if is_zip:
                return _load_zip(fh, path if mmap else None, restore, unpickle)
            return _load_legacy(fh, restore, unpickle)
        except pickle.UnpicklingError as e:
            if weights_only:
                raise pickle.UnpicklingError(_weights_only_message(str(e))) from None
            raise
