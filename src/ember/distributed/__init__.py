"""``torch.distributed``: process groups and collectives over MPI (CPU tensors, mpi4py + MPICH) and NCCL (CUDA
tensors, CuPy), started with ``ember run --nproc N script.py`` (torchrun's role, through ``mpiexec``).

Importing this package is cheap: mpi4py (which initialises MPI) and CuPy are imported by
``init_process_group``.
"""

from __future__ import annotations

from ._grad_bucket import GradBucket
from ._store import FileStore, HashStore, PrefixStore, Store, TCPStore
from ._work import DistBackendError, DistError, DistNetworkError, DistStoreError, QueueEmptyError, Work
from .distributed_c10d import (
    Backend,
    GroupMember,
    P2POp,
    ProcessGroup,
    ReduceOp,
    all_gather,
    all_gather_into_tensor,
    all_gather_object,
    all_gather_single,
    all_reduce,
    all_to_all,
    all_to_all_single,
    barrier,
    batch_isend_irecv,
    broadcast,
    broadcast_object_list,
    default_pg_timeout,
    destroy_process_group,
    gather,
    gather_object,
    get_backend,
    get_default_backend_for_device,
    get_global_rank,
    get_group_rank,
    get_node_local_rank,
    get_pg_count,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    irecv,
    is_available,
    is_backend_available,
    is_gloo_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    is_torchelastic_launched,
    isend,
    monitored_barrier,
    new_group,
    new_subgroups,
    new_subgroups_by_enumeration,
    recv,
    recv_object_list,
    reduce,
    reduce_scatter,
    reduce_scatter_single,
    reduce_scatter_tensor,
    scatter,
    scatter_object_list,
    send,
    send_object_list,
    supports_complex,
)
from .rendezvous import register_rendezvous_handler, rendezvous

__all__ = ["Work", "GradBucket", "DistError", "DistBackendError", "DistNetworkError", "DistStoreError", "Backend",
           "GroupMember", "ProcessGroup", "ReduceOp", "all_gather", "all_gather_into_tensor", "all_gather_object",
           "all_reduce",
           "all_to_all", "all_to_all_single", "barrier", "broadcast", "broadcast_object_list", "default_pg_timeout",
           "destroy_process_group", "gather", "gather_object", "get_backend", "get_global_rank", "get_group_rank",
           "get_process_group_ranks", "get_rank", "get_world_size", "group", "init_process_group", "irecv",
           "is_available", "is_gloo_available", "is_initialized", "is_mpi_available", "is_nccl_available",
           "is_torchelastic_launched", "isend", "new_group", "recv", "reduce", "reduce_scatter",
           "reduce_scatter_tensor", "reduce_scatter_single", "all_gather_single",
           "scatter", "scatter_object_list", "send", "P2POp", "batch_isend_irecv",
           "monitored_barrier", "get_node_local_rank", "new_subgroups", "new_subgroups_by_enumeration", "get_pg_count",
           "is_backend_available", "supports_complex", "get_default_backend_for_device", "send_object_list",
           "recv_object_list", "Store", "HashStore", "FileStore", "TCPStore", "PrefixStore", "QueueEmptyError",
           "rendezvous", "register_rendezvous_handler"]
