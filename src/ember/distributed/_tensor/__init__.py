"""``torch.distributed._tensor``: DTensor's former home, kept (as torch keeps it) so that older programs importing
``torch.distributed._tensor`` or its ``device_mesh`` / ``api`` / ``placement_types`` modules still run; every name
is :mod:`ember.distributed.tensor`'s."""

import sys
from importlib import import_module

from ..tensor import (
    DeviceMesh,
    DTensor,
    Partial,
    Placement,
    Replicate,
    Shard,
    distribute_module,
    distribute_tensor,
    empty,
    full,
    init_device_mesh,
    ones,
    rand,
    randn,
    zeros,
)

__all__ = ["DeviceMesh", "DTensor", "Partial", "Placement", "Replicate", "Shard", "distribute_module",
           "distribute_tensor", "empty", "full", "init_device_mesh", "ones", "rand", "randn", "zeros"]

for _old, _new in (("device_mesh", "device_mesh"), ("api", "_api"), ("placement_types", "placement_types")):
    sys.modules[f"{__name__}.{_old}"] = import_module(f"ember.distributed.tensor.{_new}")
