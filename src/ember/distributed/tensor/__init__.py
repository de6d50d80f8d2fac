"""``torch.distributed.tensor``: DTensor, a tensor split or replicated over a :class:`DeviceMesh`, on ember's
process groups (MPI between processes; a world of one without MPI).

``distribute_tensor`` / ``DTensor.from_local`` make DTensors, ``redistribute`` / ``full_tensor`` / ``to_local``
move between layouts, and ember ops on DTensors follow torch's sharding propagation (with autograd). Importing
this package turns on the ``__torch_function__`` protocol (``ember.overrides``) for the rest of the process.
"""

from __future__ import annotations

from ..device_mesh import DeviceMesh, init_device_mesh
from ._api import DTensor, distribute_module, distribute_tensor, empty, full, ones, rand, randn, zeros
from .placement_types import Partial, Placement, Replicate, Shard

__all__ = ["DTensor", "distribute_tensor", "distribute_module", "Shard", "Replicate", "Partial", "Placement", "ones",
           "empty", "full", "rand", "randn", "zeros"]

_ = (DeviceMesh, init_device_mesh)
