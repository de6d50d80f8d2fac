"""``default_collate`` (samples → batched tensors, recursively through dicts and sequences) and
``default_convert`` (NumPy arrays → tensors, used when automatic batching is off)."""

from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..._core import dtype as D
from ..._tensor import Tensor
from ...ops.creation import as_tensor, tensor
from ...ops.shape import stack

__all__ = ["default_collate", "default_convert"]

_STR_OR_OBJECT = re.compile(r"[SaUO]")
_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _structured(batch: Sequence[Any], collate: Callable[[Sequence[Any]], Any]) -> Any:
    """Recurse into mappings, named tuples and sequences (shared by collate and convert)."""
    elem = batch[0]
    if isinstance(elem, collections.abc.Mapping):
        values = {key: collate([d[key] for d in batch]) for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update(values)
                return clone
            return type(elem)(values)  # type: ignore[call-arg]
        except TypeError:
            return values
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(collate(s) for s in zip(*batch, strict=False)))
    if isinstance(elem, collections.abc.Sequence) and not isinstance(elem, (str, bytes)):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        parts = [collate(s) for s in zip(*batch, strict=False)]   # tuples: strings stay a tuple, as torch
        if isinstance(elem, tuple):
            return parts
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, p in enumerate(parts):
                    clone[i] = p
                return clone
            return type(elem)(parts)  # type: ignore[call-arg]
        except TypeError:
            return parts
    raise TypeError(_ERROR.format(type(elem)))


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack tensors / NumPy arrays along a new first dim, turn numbers into tensors (float → float64,
    int → int64), keep strings as lists, and recurse into dicts, named tuples and sequences."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch, 0)
    if isinstance(elem, np.ndarray) or (
        isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_))
    ):
        if _STR_OR_OBJECT.search(elem.dtype.str) is not None:
            raise TypeError(_ERROR.format(elem.dtype))
        if elem.shape == ():
            return as_tensor(np.asarray(batch))
        return stack([as_tensor(b) for b in batch], 0)
    if isinstance(elem, bool):
        return tensor(batch)
    if isinstance(elem, float):
        return tensor(batch, dtype=D.float64)
    if isinstance(elem, int):
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    return _structured(batch, default_collate)


def default_convert(data: Any) -> Any:
    """NumPy arrays (and scalars) → tensors, recursively; everything else unchanged."""
    if isinstance(data, np.ndarray) or (
        isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_))
    ):
        return data if _STR_OR_OBJECT.search(data.dtype.str) is not None else as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        values = {key: default_convert(value) for key, value in data.items()}
        try:
            return type(data)(values)  # type: ignore[call-arg]
        except TypeError:
            return values
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])  # type: ignore[call-arg]
        except TypeError:
            return [default_convert(d) for d in data]
    return data
