"""``ember.cuda.amp``: torch.cuda.amp's deprecated spellings of ``ember.amp`` for cuda (each warns)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .. import amp as _amp
from .._core import dtype as D
from ..amp._legacy import deprecated, device_classes

__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd"]

autocast, GradScaler = device_classes("cuda", D.float16, __name__)


@functools.wraps(_amp.custom_fwd)
def custom_fwd(fwd: Callable | None = None, *, cast_inputs: Any = None) -> Callable:
    deprecated("cuda", "custom_fwd", "torch.amp.custom_fwd(args..., device_type='cuda')")
    return _amp.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


@functools.wraps(_amp.custom_bwd)
def custom_bwd(bwd: Callable | None = None) -> Callable:
    deprecated("cuda", "custom_bwd", "torch.amp.custom_bwd(args..., device_type='cuda')")
    return _amp.custom_bwd(bwd, device_type="cuda")
