"""``torch.storage``: the storage classes under the module path torch gives them."""

from __future__ import annotations

from .ops.storage import UntypedStorage
from .ops.tensor_storage import TypedStorage

__all__ = ["TypedStorage", "UntypedStorage"]
