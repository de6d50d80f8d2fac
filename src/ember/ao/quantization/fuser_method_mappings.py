"""The fuser functions by module-type pattern (``torch.ao.quantization.fuser_method_mappings``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .fuse_modules import (
    _DEFAULT_OP_LIST_TO_FUSER_METHOD,
    fuse_conv_bn,
    fuse_conv_bn_relu,
    fuse_convtranspose_bn,
    fuse_linear_bn,
    get_fuser_method,
)

__all__ = ["fuse_conv_bn", "fuse_conv_bn_relu", "fuse_linear_bn", "fuse_convtranspose_bn", "get_fuser_method",
           "get_fuser_method_new"]


def get_fuser_method_new(op_pattern: Any, fuser_method_mapping: dict | None = None) -> Callable:
    """The fuser for ``op_pattern`` in reversed (FX) order, e.g. ``(nn.ReLU, (nn.BatchNorm2d, nn.Conv2d))``."""
    mapping = fuser_method_mapping if fuser_method_mapping is not None else _DEFAULT_OP_LIST_TO_FUSER_METHOD

    def flat(p: Any) -> tuple:
        if not isinstance(p, tuple):
            return (p,)
        return tuple(x for q in reversed(p) for x in flat(q))

    method = mapping.get(flat(op_pattern))
    if method is None:
        raise AssertionError(f"did not find fuser method for: {op_pattern} ")
    return method

