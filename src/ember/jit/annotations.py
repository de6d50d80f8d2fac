"""``torch.jit.annotations``: the typing names model code imports from here (``BroadcastingList2`` in
torchvision's ops, ``Optional``, ``Tuple`` ...) and the predicates on annotations. TorchScript's own type
objects (``TensorType`` ...) belong to its compiler, which ember does not have."""

from __future__ import annotations

import types
import typing
from typing import Any, Dict, List, Optional, Tuple, Union  # noqa: UP035 (torch re-exports typing's names)

from ..futures import Future

__all__ = [
    "Any", "BroadcastingList1", "BroadcastingList2", "BroadcastingList3", "BroadcastingList4", "BroadcastingList5",
    "BroadcastingList6", "Dict", "Future", "List", "Optional", "Tuple", "Union", "is_dict", "is_list",
    "is_optional", "is_tuple", "is_union",
]


class BroadcastingListCls:
    """``BroadcastingListN[T]``: TorchScript reads "a T or a list of N Ts"; in Python the subscript is None."""

    def __getitem__(self, types: Any) -> None:
        return None


BroadcastingList1 = BroadcastingList2 = BroadcastingList3 = BroadcastingListCls()
BroadcastingList4 = BroadcastingList5 = BroadcastingList6 = BroadcastingList1


def is_tuple(ann: Any) -> bool:
    """Whether ``ann`` is a parametrised tuple annotation (``Tuple[int, str]``, ``tuple[int]``)."""
    return typing.get_origin(ann) is tuple


def is_list(ann: Any) -> bool:
    """Whether ``ann`` is a parametrised list annotation."""
    return typing.get_origin(ann) is list


def is_dict(ann: Any) -> bool:
    """Whether ``ann`` is a parametrised dict annotation."""
    return typing.get_origin(ann) is dict


def is_union(ann: Any) -> bool:
    """Whether ``ann`` is a union (``Union[...]``, ``X | Y``, ``Optional[X]``)."""
    return typing.get_origin(ann) in (Union, types.UnionType)


def is_optional(ann: Any) -> bool:
    """Whether ``ann`` is a union that admits None."""
    return is_union(ann) and type(None) in typing.get_args(ann)
