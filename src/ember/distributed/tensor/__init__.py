"""``torch.distributed.tensor``: DTensor, a tensor split or replicated over a :class:`DeviceMesh`, on ember's
process groups (MPI between processes; a world of one without MPI).

``distribute_tensor`` / ``DTensor.from_local`` make DTensors, ``redistribute`` / ``full_tensor`` / ``to_local``
move between layouts, and ember ops on DTensors follow torch's sharding propagation (with autograd). Importing
this package turns on the ``__torch_function__`` protocol (``ember.overrides``) for the rest of the process.

Where ember differs from torch 2.13:

- gradients reaching a leaf DTensor (a parameter) come in the leaf's own placements (pending partial sums are
  all-reduced, replicas split): ember's optimizers update local shards directly. torch leaves them as its
  backward ops place them (e.g. ``Partial`` for a replicated weight applied to sharded activations);
- a reshape that would need torch's ``_StridedShard`` (flattening a dim that is not the leading sharded one)
  replicates instead; ops without a rule run on replicas and return replicated DTensors (torch raises);
- random factories (``rand``/``randn``), ``nn.init`` and dropout draw the global tensor's numbers on every rank
  (the stream one process would use) and keep their shards; torch supports DTensor randomness on accelerators
  only;
- no double backward through DTensor ops.
"""

from __future__ import annotations

from ..device_mesh import DeviceMesh, init_device_mesh
from ._api import DTensor, distribute_module, distribute_tensor, empty, full, ones, rand, randn, zeros
from .placement_types import Partial, Placement, Replicate, Shard

__all__ = ["DTensor", "distribute_tensor", "distribute_module", "Shard", "Replicate", "Partial", "Placement", "ones",
           "empty", "full", "rand", "randn", "zeros"]

from ...serialization import add_safe_globals
from ._api import DTensorSpec

_ = (DeviceMesh, init_device_mesh)
add_safe_globals([DTensor, DTensorSpec, DeviceMesh, Shard, Replicate, Partial])   # weights-only loads, as torch
