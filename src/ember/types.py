"""``torch.types``: the type aliases that annotations in user code and libraries import from torch."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import IO, TypeAlias, Union

from ._core.device import device as _device
from ._core.dtype import dtype as _dtype
from ._tensor import Size, Tensor
from .ops.extra import layout as _layout
from .ops.storage import UntypedStorage
from .ops.tensor_storage import TypedStorage

__all__ = ["BoolLikeType", "Device", "FileLike", "FloatLikeType", "IntLikeType", "Number", "Size", "Storage",
           "Tensor"]

_int = int
_float = float
_bool = bool
_complex = complex
_str = str
_size: TypeAlias = Size | list[int] | tuple[int, ...]
_TensorOrTensors: TypeAlias = Tensor | Sequence[Tensor]
_TensorOrOptionalTensors: TypeAlias = Tensor | Sequence[Tensor | None]
Number: TypeAlias = int | float | bool
IntLikeType: TypeAlias = int
FloatLikeType: TypeAlias = float
BoolLikeType: TypeAlias = bool
Device: TypeAlias = _device | str | int | None
FileLike: TypeAlias = Union[str, os.PathLike[str], IO[bytes]]   # noqa: UP007 (IO is not a class for |)
Storage: TypeAlias = TypedStorage | UntypedStorage
_ = (_dtype, _layout)   # re-exported names of torch.types (``_dtype``, ``_layout``)
