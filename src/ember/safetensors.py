"""safetensors files for ember tensors, with the API of ``safetensors.torch``, on the ``safetensors``
package (an optional dependency, imported when first used).

Files interchange with ``safetensors.torch`` (bfloat16 included). As there, tensors that share memory
are refused by :func:`save_file` (a file holds independent tensors); :func:`save_model` keeps one name
per shared storage and records the others in the metadata, and :func:`load_model` restores them.
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

import numpy as np

from ._core import dtype as D
from ._tensor import Tensor, from_array
from .ops.storage import data_ptr, storage_root

__all__ = ["save", "save_file", "load", "load_file", "save_model", "load_model"]

_DTYPES = {
    "BOOL": D.bool,
    "U8": D.uint8,
    "I8": D.int8,
    "I16": D.int16,
    "U16": D.uint16,
    "F16": D.float16,
    "BF16": D.bfloat16,
    "I32": D.int32,
    "U32": D.uint32,
    "F32": D.float32,
    "F64": D.float64,
    "I64": D.int64,
    "U64": D.uint64,
    "C64": D.complex64,
}


def _package() -> Any:
    try:
        import safetensors
    except ImportError:
        raise ImportError(
            "ember.safetensors needs the 'safetensors' package: pip install safetensors"
        ) from None
    return safetensors


def _shared_groups(tensors: dict[str, Tensor]) -> list[set[str]]:
    """Names whose tensors overlap in memory, grouped (singletons included), as safetensors does."""
    by_storage: dict[tuple, list[str]] = defaultdict(list)
    for k, v in tensors.items():
        root = storage_root(v._data)
        if root.nbytes:
            by_storage[(v.device, data_ptr(root), root.nbytes)].append(k)
    groups: list[set[str]] = []
    for names in by_storage.values():
        areas = sorted(
            (data_ptr(tensors[n]._data), data_ptr(tensors[n]._data) + tensors[n].nbytes, n) for n in names
        )
        last_stop = -1
        for start, stop, name in areas:
            if start < last_stop:
                groups[-1].add(name)
            else:
                groups.append({name})
            last_stop = max(last_stop, stop)
    return groups


def _specs(tensors: dict[str, Tensor], keep: list) -> dict[str, Any]:
    if not isinstance(tensors, dict):
        raise ValueError(f"Expected a dict of [str, Tensor] but received {type(tensors)}")
    for k, v in tensors.items():
        if not isinstance(v, Tensor):
            raise ValueError(f"Key `{k}` is invalid, expected ember.Tensor but received {type(v)}")
    shared = [g for g in _shared_groups(tensors) if len(g) > 1]
    if shared:
        raise RuntimeError(
            f"Some tensors share memory, which would duplicate it on disk and load as separate "
            f"tensors: {shared}. Save independent tensors (.clone()), or use "
            "ember.safetensors.save_model, which keeps one name per shared storage."
        )
    spec = _package().TensorSpec
    out = {}
    for k, v in tensors.items():
        if not v.is_contiguous():
            raise ValueError(
                f"You are trying to save a non contiguous tensor: `{k}` which is not allowed. Save "
                "the full tensor and slice it after loading, or call `.contiguous()` on it first."
            )
        arr = np.ascontiguousarray(v._data if isinstance(v._data, np.ndarray) else v._data.get())
        keep.append(arr)
        out[k] = spec(dtype=v.dtype.name, shape=list(v.shape), data_ptr=arr.ctypes.data, data_len=arr.nbytes)
    return out


def save(tensors: dict[str, Tensor], metadata: dict[str, str] | None = None) -> bytes:
    """The safetensors bytes of ``tensors`` (a dict of independent, contiguous tensors)."""
    keep: list = []
    return bytes(_package().serialize(_specs(tensors, keep), metadata=metadata))


def save_file(
    tensors: dict[str, Tensor],
    filename: str | os.PathLike,
    metadata: dict[str, str] | None = None,
) -> None:
    """Write ``tensors`` to a safetensors file."""
    keep: list = []
    _package().serialize_file(_specs(tensors, keep), filename, metadata=metadata)


def load(data: bytes, device: Any = "cpu") -> dict[str, Tensor]:
    """The tensors of safetensors bytes ``data`` (writable copies)."""
    out = {}
    for name, info in _package().deserialize(data):
        if info["dtype"] not in _DTYPES:
            raise ValueError(f"ember cannot load safetensors dtype {info['dtype']} (tensor `{name}`)")
        dt = _DTYPES[info["dtype"]]
        t = from_array(np.ndarray(info["shape"], dt.np, buffer=info["data"]), dt)
        out[name] = t if str(device) == "cpu" else t.to(device)
    return out


def load_file(filename: str | os.PathLike, device: Any = "cpu") -> dict[str, Tensor]:
    """The tensors of a safetensors file, on ``device``."""
    with open(filename, "rb") as f:
        return load(f.read(), device)


def _is_complete(t: Tensor) -> bool:
    root = storage_root(t._data)
    return data_ptr(t._data) == data_ptr(root) and t.nbytes == root.nbytes


def _duplicates(state_dict: dict[str, Tensor], preferred: Any = ()) -> dict[str, list[str]]:
    """For each group of tensors sharing memory: the name kept → the names dropped."""
    to_remove: dict[str, list[str]] = defaultdict(list)
    for group in _shared_groups(state_dict):
        if len(group) < 2:
            continue
        complete = {n for n in group if _is_complete(state_dict[n])}
        if not complete:
            raise RuntimeError(
                f"Error while trying to find names to remove to save state dict, but found no "
                f"suitable name to keep for saving amongst: {group}. None is covering the entire "
                "storage. Refusing to save/load the model since you could be storing much more "
                "memory than needed."
            )
        keep = sorted(set(preferred) & complete or complete)[0]
        to_remove[keep] = sorted(group - {keep})
    return to_remove


def save_model(
    model: Any,
    filename: str | os.PathLike,
    metadata: dict[str, str] | None = None,
    force_contiguous: bool = True,
) -> None:
    """Save ``model.state_dict()``, writing each shared storage once (the other names go in the metadata)."""
    state_dict = dict(model.state_dict())
    for kept, removed in _duplicates(state_dict).items():
        for name in removed:
            metadata = metadata if metadata is not None else {}
            metadata.setdefault(name, kept)
            del state_dict[name]
    if force_contiguous:
        state_dict = {k: v.contiguous() for k, v in state_dict.items()}
    try:
        save_file(state_dict, filename, metadata=metadata)
    except ValueError as e:
        raise ValueError(f"{e} Or use save_model(..., force_contiguous=True).") from None


def load_model(
    model: Any,
    filename: str | os.PathLike,
    strict: bool = True,
    device: Any = "cpu",
) -> tuple[list[str], list[str]]:
    """Load a file written by :func:`save_model` into ``model``; returns (missing, unexpected) names."""
    state_dict = load_file(filename, device=device)
    to_remove = _duplicates(dict(model.state_dict()), preferred=state_dict.keys())
    missing_keys, unexpected_keys = model.load_state_dict(state_dict, strict=False)
    missing, unexpected = set(missing_keys), list(unexpected_keys)
    for names in to_remove.values():
        for name in names:
            if name in missing:
                missing.remove(name)
            else:
                unexpected.append(name)
    if strict and (missing or unexpected):
        error = f"Error(s) in loading state_dict for {type(model).__name__}:"
        if missing:
            error += "\n    Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in sorted(missing))
        if unexpected:
            error += "\n    Unexpected key(s) in state_dict: " + ", ".join(
                f'"{k}"' for k in sorted(unexpected)
            )
        raise RuntimeError(error)
    return sorted(missing), unexpected
