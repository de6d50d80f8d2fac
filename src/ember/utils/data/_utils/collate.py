"""``default_collate`` (samples → batched tensors, recursively through dicts and sequences) and
``default_convert`` (NumPy arrays → tensors, used when automatic batching is off)."""

from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...._core import dtype as D
from ...._tensor import Tensor
from ....ops.creation import as_tensor, tensor
from ....ops.shape import stack

__all__ = ["default_collate", "default_convert"]

_STR_OR_OBJECT = re.compile(r"[SaUO]")
_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _like_mapping(elem: Any, values: dict[Any, Any]) -> Any:
    """``values`` in a mapping of ``elem``'s type: a shallow copy updated for mutable mappings (so a defaultdict
    keeps its factory), else the type built from a dict, else a plain dict (as torch)."""
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(values)
            return clone
        return type(elem)(values)
    except TypeError:
        return values


def _like_sequence(elem: Any, parts: list[Any]) -> Any:
    """``parts`` in a sequence of ``elem``'s type: a shallow copy filled in for mutable sequences, else the type
    built from a list, else the list itself (as torch)."""
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, p in enumerate(parts):
                clone[i] = p
            return clone
        return type(elem)(parts)
    except TypeError:
        return parts


def _structured(batch: Sequence[Any], collate: Callable[[Sequence[Any]], Any]) -> Any:
    """Recurse into mappings, named tuples and sequences, field by field across the batch."""
    elem = batch[0]
    if isinstance(elem, collections.abc.Mapping):
        return _like_mapping(elem, {key: collate([d[key] for d in batch]) for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(collate(s) for s in zip(*batch, strict=False)))
    if isinstance(elem, collections.abc.Sequence) and not isinstance(elem, (str, bytes)):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        parts = [collate(s) for s in zip(*batch, strict=False)]   # tuples: strings stay a tuple, as torch
        return parts if isinstance(elem, tuple) else _like_sequence(elem, parts)
    raise TypeError(_ERROR.format(type(elem)))


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack tensors / NumPy arrays along a new first dim, turn numbers into tensors (float → float64,
    int → int64), keep strings as lists, and recurse into dicts, named tuples and sequences."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch, 0)
    if isinstance(elem, np.ndarray):
        if _STR_OR_OBJECT.search(elem.dtype.str) is not None:
            raise TypeError(_ERROR.format(elem.dtype))
        return stack([as_tensor(b) for b in batch], 0)
    if isinstance(elem, (np.bool_, np.number)):
        if all(type(b) is type(elem) for b in batch):   # one dtype: one array, much faster than the list
            return as_tensor(np.asarray(batch))
        return as_tensor(batch)   # mixed: the list's own dtype inference (and its errors), as torch
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
    """NumPy arrays and scalars → tensors, recursively; string arrays and everything else unchanged."""
    if isinstance(data, np.ndarray) and _STR_OR_OBJECT.search(data.dtype.str) is not None:
        return data
    if isinstance(data, (np.ndarray, np.generic)) and not isinstance(data, np.str_):
        return as_tensor(data)   # a NumPy bytes scalar is refused there, as torch
    if isinstance(data, collections.abc.Mapping):
        return _like_mapping(data, {key: default_convert(value) for key, value in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _like_sequence(data, [default_convert(d) for d in data])
    return data
