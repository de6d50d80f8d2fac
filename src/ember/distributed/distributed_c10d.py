"""``torch.distributed``'s process groups and collectives, on the MPI backend (host tensors, mpi4py) or the NCCL
backend (CUDA tensors, CuPy's NCCL).

Semantics follow torch: ranks given to collectives (``src``, ``dst``) are global ranks, ``group_src`` /
``group_dst`` ranks within the group; ``async_op=True`` returns a :class:`Work`; a rank outside ``group`` returns at
once. Two things torch leaves to luck are errors here: every wait is bounded by the group's ``timeout`` (and fails
early when a peer process of this host has exited), and before its data moves each collective compares a short
signature (kind, dtypes, shapes, op, root) across ranks, so ranks calling different collectives or passing
different shapes get an error naming what each rank is running instead of garbage or a hang. A payload travels
with the signature (one exchange, then reduced locally) when it fits the exchange's room, which every rank sizes
alike from the verified history of collectives (the payload that followed the previous collective last time, up to
128 KB for two ranks): the collectives of a training loop then cost one exchange each; others move by the
backend's collective once the signatures agree. Transfers are posted in program order (MPI and NCCL match
collectives by posting order), whatever order their Works are waited in. ``EMBER_DISTRIBUTED_CHECKS=0`` turns the
signatures off (DistributedDataParallel, which checks its replicas once at construction, never uses them).
All-reduces of up to 64 KB that move through MPI's collective use a persistent request of the group, one per
(dtype, shape, op), made where ranks are known to agree and used by every path alike (MPI matches a persistent
collective only with a persistent one): about half the latency of a nonblocking all-reduce.
"""

from __future__ import annotations

import atexit
import enum
import os
import pickle
import socket
import sys
import zlib
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, NewType

import numpy as np

from .._core.warn import warn
from .._tensor import Tensor, from_array
from ..futures import Future
from ._mpi import Persistent, Slot
from ._store import FileStore, HashStore, PrefixStore, Store, TCPStore
from ._work import DistBackendError, Step, Work, _alive, _seconds, wait_request
from .rendezvous import _scheme, _strip, rendezvous

__all__ = ["Backend", "ReduceOp", "ProcessGroup", "GroupMember", "group", "default_pg_timeout",
           "init_process_group", "destroy_process_group", "is_initialized", "is_available", "is_mpi_available",
           "is_nccl_available", "is_gloo_available", "is_torchelastic_launched", "get_rank", "get_world_size",
           "get_backend", "new_group", "get_process_group_ranks", "get_global_rank", "get_group_rank",
           "barrier", "broadcast", "all_reduce", "reduce", "all_gather", "all_gather_into_tensor", "gather",
           "scatter", "reduce_scatter", "reduce_scatter_tensor", "reduce_scatter_single", "all_gather_single",
           "all_to_all", "all_to_all_single", "send", "recv",
           "isend", "irecv", "broadcast_object_list", "all_gather_object", "gather_object", "scatter_object_list",
           "P2POp", "batch_isend_irecv", "monitored_barrier", "get_node_local_rank", "new_subgroups",
           "new_subgroups_by_enumeration", "get_pg_count", "is_backend_available", "supports_complex",
           "get_default_backend_for_device", "send_object_list", "recv_object_list", "Store", "HashStore",
           "FileStore", "TCPStore", "PrefixStore", "GroupName", "all_reduce_coalesced", "all_gather_coalesced",
           "get_backend_config", "DebugLevel", "get_debug_level", "set_debug_level", "set_debug_level_from_env",
           "AllreduceOptions", "AllreduceCoalescedOptions", "AllToAllOptions", "BarrierOptions", "BroadcastOptions",
           "GatherOptions", "ReduceOptions", "ReduceScatterOptions", "ScatterOptions", "reduce_op", "split_group",
           "breakpoint"]

default_pg_timeout = timedelta(minutes=30)
_NOTHING = np.empty(0, np.uint8)
_HOT_BYTES = 1 << 20   # all_reduce remembers the plan of its last array up to this size
_NOT_INIT = "Default process group has not been initialized, please make sure to call init_process_group."


class Backend(str):
    """A backend name (``'mpi'``, ``'nccl'``; ``'gloo'`` is served by MPI), lower-cased as torch's."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    MPI = "mpi"
    backend_list = [UNDEFINED, GLOO, NCCL, MPI]

    def __new__(cls, name: str) -> Backend:
        if not isinstance(name, str):
            raise ValueError(f"Backend name must be a string, but got: {name}")
        value = name.lower()
        if value not in (cls.GLOO, cls.NCCL, cls.MPI):
            raise ValueError(f"Invalid backend: '{name}'")
        return str.__new__(cls, value)


class ReduceOp:
    """Reduction operations (``ReduceOp.SUM`` ...), members of the ``RedOpType`` enum as in torch."""

    class RedOpType(enum.IntEnum):
        SUM = 0
        AVG = 1
        PRODUCT = 2
        MIN = 3
        MAX = 4
        BAND = 5
        BOR = 6
        BXOR = 7
        PREMUL_SUM = 8

        __str__ = enum.Enum.__str__

    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR
    PREMUL_SUM = RedOpType.PREMUL_SUM


_Op = ReduceOp.RedOpType


class ProcessGroup:
    """A set of ranks and the communicator that connects them (``rank()`` and ``size()`` within the group)."""

    def __init__(self, impl: Any, backend: Backend, ranks: list[int], timeout: float, xp: Any, meta: Any,
                 pids: list[tuple[str, int]], checks: bool) -> None:
        self._impl = impl            # the backend's primitives (MPIBackend / NCCLBackend)
        self._backend = backend
        self._ranks = ranks          # global rank of each group rank
        self._timeout = timeout      # seconds
        self._xp = xp                # array namespace of the tensors it moves
        self._meta = meta            # an MPIBackend for signatures and error reports (None: cannot check)
        self._pids = pids            # (host, pid) of each group rank
        self._checks = checks and meta is not None and impl.size > 1
        self._error: BaseException | None = None
        self._seq = 0
        self._devtype = "cuda" if backend == Backend.NCCL else "cpu"
        self._texts: dict[tuple, tuple[str, int]] = {}   # signatures of hot call sites
        self._plans: dict[tuple, Any] = {}                 # all_reduce's per (dtype, shape, op) plans
        self._hot: tuple = (None, None, None)   # all_reduce's last fast-path (array, op, plan): a loop's tensor
        self._unposted: list[Work] = []   # checked collectives whose transfer waits for their signatures
        self._store: Any = None           # the default group's store (see _get_default_store)
        self._mesh_splits: dict[tuple, ProcessGroup] = {}   # the world's: device meshes' groups by their split

    def rank(self) -> int:
        return self._impl.rank

    def size(self) -> int:
        return self._impl.size

    def name(self) -> str:
        return str(self._backend)

    # ---- ordering --------------------------------------------------------------------------------------
    def _direct(self) -> Any:
        """The backend, to post a transfer now. MPI and NCCL match collectives by the order they are posted in, so
        the transfers of earlier collectives still waiting for their signatures are posted first."""
        if self._unposted:
            self._flush()
        return self._impl

    def _flush(self, upto: Work | None = None) -> None:
        """Complete the signature exchanges of the collectives before ``upto`` (all when None), which posts their
        transfers, in program order."""
        while self._unposted and self._unposted[0] is not upto:
            self._unposted[0]._advance(True, first_only=True)

    # ---- failure handling ------------------------------------------------------------------------------
    def _fail(self, e: BaseException) -> None:
        if self._error is None:
            self._error = e
            abort = getattr(self._impl, "abort", None)   # NCCL: free the GPU from kernels waiting on dead peers
            if abort is not None:
                abort()

    def _usable(self) -> None:
        if self._error is not None:
            raise DistBackendError(f"[Rank {self._ranks[self.rank()]}] the process group cannot be used after an "
                                   f"earlier failure: {self._error}")

    def _timeout_error(self, what: str, waited: float, limit: float) -> DistBackendError:
        me = self._ranks[self.rank()]
        return DistBackendError(
            f"[Rank {me}] collective operation timeout: {what} (SeqNum={self._seq}, Timeout(ms)="
            f"{round(limit * 1000)}) ran for {round(waited * 1000)} milliseconds before timing out. Another rank "
            "crashed, hangs, or is waiting in a different collective.")

    def _dead_peer_error(self) -> DistBackendError | None:
        host = socket.gethostname()
        me = self.rank()
        for r, (h, pid) in enumerate(self._pids):
            if r != me and h == host and not _alive(pid):
                return DistBackendError(f"[Rank {self._ranks[me]}] rank {self._ranks[r]} (pid {pid}) has exited: "
                                        f"the collective in progress (SeqNum={self._seq}) cannot complete.")
        return None


class _WorldMeta(type):
    @property
    def WORLD(cls) -> ProcessGroup | None:   # noqa: N802 (torch's name)
        return _STATE.world


class GroupMember(metaclass=_WorldMeta):
    """``GroupMember.WORLD``: the default group (None before ``init_process_group``)."""

    NON_GROUP_MEMBER = -100


class group(metaclass=_WorldMeta):   # noqa: N801 (torch's name)
    """``group.WORLD``: the default process group."""


class _State:
    world: ProcessGroup | None = None
    groups: list[ProcessGroup] = []
    count = 0   # process groups created since init_process_group (get_pg_count)


_STATE = _State()


# ---- availability ------------------------------------------------------------------------------------------
def _has(module: str) -> bool:
    import importlib.util
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):   # an import blocked by sys.modules[module] = None
        return False


def is_mpi_available() -> bool:
    return _has("mpi4py")


def is_nccl_available() -> bool:
    return _has("cupy")


is_gloo_available = is_mpi_available


def is_available() -> bool:
    """Whether the distributed package can run here: always (a world of one needs no MPI; more processes need
    ``is_mpi_available()``)."""
    return True


def is_initialized() -> bool:
    return _STATE.world is not None


def is_torchelastic_launched() -> bool:
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None


# ---- set up ------------------------------------------------------------------------------------------------
_MPI_LAUNCH = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")


def _launched_by_mpi() -> bool:
    return any(v in os.environ for v in _MPI_LAUNCH)


def _env_int(name: str, given: int, scheme: str = "env") -> int:
    """``given``, else (env://) the environment variable ``name``; a tcp:// or file:// rendezvous must be given
    it (argument or query)."""
    if given >= 0:
        return given
    value = os.environ.get(name) if scheme == "env" else None
    if value is None:
        what = f"environment variable {name} expected, but not set" if scheme == "env" else \
            f"{'rank' if name == 'RANK' else 'world size'} parameter missing"
        raise ValueError(f"Error initializing torch.distributed using {scheme}:// rendezvous: {what}")
    return int(value)


def _default_timeout() -> float:
    env = os.environ.get("EMBER_DIST_TIMEOUT")
    return float(env) if env else default_pg_timeout.total_seconds()


def _make_group(backend: Backend, comm: Any, ranks: list[int], timeout: float, device_id: Any = None) -> ProcessGroup:
    """Wrap an MPI communicator (plus, for NCCL, a NCCL communicator over the same ranks) into a group."""
    from ._mpi import MPIBackend
    host = MPIBackend(comm) if comm is not None else None
    checks = os.environ.get("EMBER_DISTRIBUTED_CHECKS", "1") != "0"
    pids = [(socket.gethostname(), os.getpid())]
    if host is not None and host.size > 1:
        req, rows = host.exchange(pickle.dumps(pids[0]), 128)
        probe = ProcessGroup(host, backend, ranks, timeout, np, None, [], False)
        Work([(req.Test, None)], probe, "init_process_group").wait()
        pids = [pickle.loads(bytes(row)) for row in rows]
    if backend == Backend.NCCL:
        from ._nccl import NCCLBackend
        return ProcessGroup(NCCLBackend(host, device_id, timeout), backend, ranks, timeout, NCCLBackend.xp(), host,
                            pids, checks)
    if host is None:   # a world of one without MPI
        from ._local import LocalBackend
        return ProcessGroup(LocalBackend(), backend, ranks, timeout, np, None, pids, False)
    return ProcessGroup(host, backend, ranks, timeout, np, host, pids, checks)


def _checked_device_id(device_id: Any) -> Any:
    """init_process_group's ``device_id`` as torch checks it: an index (of the current accelerator) or an
    accelerator device with an index; the CPU and a device of another kind are refused."""
    if device_id is None:
        return None
    from .._core.device import device
    from ..accelerator import current_accelerator
    acc = current_accelerator()
    if isinstance(device_id, int):
        if acc is None:
            raise ValueError("device_id is an int, but no accelerator support is found from the current "
                             "compilation. Please use a different compiled version that supports your accelerator.")
        device_id = device(acc.type, device_id)
    if device_id.type != "cpu" and (acc is None or device_id.type != acc.type):
        raise ValueError(f"device_id {device_id} does not match the current compilation's accelerator support: "
                         f"{acc.type if acc is not None else None}. Please use a different compiled version that "
                         "supports your accelerator.")
    if device_id.index is None or device_id.type == "cpu":
        raise ValueError("init_process_group device_id parameter must be an accelerator with an index")
    return device_id


def init_process_group(backend: str | None = None, init_method: str | None = None, timeout: timedelta | None = None,
                       world_size: int = -1, rank: int = -1, store: Any = None, group_name: str = "",
                       pg_options: Any = None, device_id: Any = None) -> None:
    """Create the default process group. Under ``mpiexec`` (or ``ember run``) rank and size come from MPI;
    otherwise from ``rank``/``world_size`` (or the query of a tcp:// or file:// ``init_method``) or the env://
    variables ``RANK``/``WORLD_SIZE``: a world of one, which needs no MPI (more processes must be started by
    ``ember run``/mpiexec; without any of these, a plain process with mpi4py is a world of one through MPI).
    ``store``, ``init_method='tcp://host:port'`` (rank 0 serves a :class:`TCPStore`), ``'file://path'`` (a
    :class:`FileStore`) or a scheme of :func:`register_rendezvous_handler` give the group its store
    (``_get_default_store()``, a ``PrefixStore('default_pg', ...)``); MPI does its own rendezvous, so env:// needs
    no ``MASTER_ADDR``. ``pg_options`` is unused. ``timeout`` bounds every wait of every collective (default:
    ``ember run --timeout``, else 30 minutes)."""
    if _STATE.world is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if timeout is not None and not isinstance(timeout, timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got {timeout}")
    device_id = _checked_device_id(device_id)
    if store is not None and init_method is not None:
        raise AssertionError("Cannot specify both init_method and store.")
    scheme, url = "env", ""
    if init_method is not None:   # rank and world_size may be in the URL's query
        scheme = _scheme(init_method)
        url, query = _strip(init_method)
        rank, world_size = int(query.get("rank", rank)), int(query.get("world_size", world_size))
    if store is not None:
        if world_size <= 0:
            raise AssertionError("world_size must be positive if using store")
        if rank < 0:
            raise AssertionError("rank must be non-negative if using store")
        store = PrefixStore("default_pg", store)   # (a TypeError unless ``store`` is a Store)
    name = Backend(backend if backend is not None else Backend.MPI)
    if name == Backend.NCCL and not is_nccl_available():
        raise RuntimeError("Distributed package doesn't have NCCL built in: the 'nccl' backend needs CuPy "
                           "(pip install 'ember[cuda]')")
    seconds = _seconds(timeout) if timeout is not None else _default_timeout()
    env = scheme == "env"
    plain = world_size < 0 and rank < 0 and (not env or ("WORLD_SIZE" not in os.environ and
                                                         "RANK" not in os.environ))
    if _launched_by_mpi() or (plain and is_mpi_available() and env and store is None):
        comm = _mpi_world()
        size, me = comm.Get_size(), comm.Get_rank()
        if world_size >= 0 and world_size != size:
            raise ValueError(f"init_process_group: world_size={world_size} but the job was started with {size} "
                             "processes")
        if rank >= 0 and rank != me:
            raise ValueError(f"init_process_group: rank={rank} but MPI gave this process rank {me}")
    else:
        me, size = _env_int("RANK", rank, scheme), _env_int("WORLD_SIZE", world_size, scheme)
        if not 0 <= me < size:
            raise ValueError(f"Invalid rank {me}, rank should be in the interval [0, {size - 1}]")
        if size > 1:
            extra = "" if is_mpi_available() else ", with mpi4py installed (pip install 'ember[mpi]')"
            raise RuntimeError(f"backend '{name}' with world_size={size} needs its processes started by mpiexec"
                               f"{extra}: run `ember run --nproc {size} script.py` (or `mpiexec -n {size} python "
                               "script.py`); a process started alone is a world of one")
        comm = None   # a world of one: no MPI needed
    if scheme != "env":
        store = PrefixStore("default_pg", next(rendezvous(url, me, size, timeout=timedelta(seconds=seconds)))[0])
    elif store is None and size == 1:
        store = PrefixStore("default_pg", HashStore())   # a world of one: its store needs no sharing
    world = _make_group(name, comm, list(range(size)), seconds, device_id)
    world._store = store if store is not None else _serve_store(world, seconds)
    _STATE.world = world
    _STATE.groups = [_STATE.world]
    _STATE.count = 1


def _serve_store(world: ProcessGroup, seconds: float) -> Any:
    """The store of a world that MPI brought together (env://): rank 0 serves a :class:`TCPStore` on a free port,
    whose address every rank learns now (127.0.0.1 when all ranks run on its host, else ``MASTER_ADDR`` or its host
    name); the other ranks connect when they first use it (see ``_get_default_store``). Returns rank 0's store,
    the address elsewhere."""
    master = None
    if world.rank() == 0:
        one_host = all(h == world._pids[0][0] for h, _ in world._pids)
        host = "127.0.0.1" if one_host else os.environ.get("MASTER_ADDR") or socket.gethostname()
        master = TCPStore(host, 0, None, True, timedelta(seconds=seconds))
    req, rows = world._meta.exchange(pickle.dumps((master.host, master.port) if master else None), 256)
    Work([(req.Test, None)], world, "init_process_group").wait()
    return PrefixStore("default_pg", master) if master else pickle.loads(bytes(rows[0]))


def _get_default_store() -> Any:
    """The store of the default group (a ``PrefixStore('default_pg', ...)``): the one given to
    ``init_process_group``, made by its rendezvous (tcp://, file://), or served by rank 0 (env:// under MPI)."""
    world = _default()
    if isinstance(world._store, tuple):   # rank 0's TCPStore, not connected to yet
        host, port = world._store
        world._store = PrefixStore("default_pg", TCPStore(host, port, timeout=timedelta(seconds=world._timeout)))
    return world._store


def _mpi_world() -> Any:
    if not is_mpi_available():
        raise RuntimeError("Distributed package doesn't have MPI built in: install mpi4py and an MPI "
                           "(pip install 'ember[mpi]')")
    from mpi4py import MPI
    if not _EXIT_GUARD:
        _EXIT_GUARD.append(sys.excepthook)
        sys.excepthook = _excepthook
        atexit.register(_exit_guard)
    return MPI.COMM_WORLD


_EXIT_GUARD: list[Any] = []   # [the previous excepthook, True once an exception went uncaught]


def _excepthook(*exc: Any) -> None:
    _EXIT_GUARD[0](*exc)
    _EXIT_GUARD.append(True)


def _exit_guard() -> None:
    """After an uncaught exception or a failed collective, leave without MPI_Finalize: under MPICH it waits for
    every other rank to finalize too, so a crashed rank would hang with the job. mpiexec then stops the others."""
    if len(_EXIT_GUARD) > 1 or any(pg._error is not None for pg in _STATE.groups):
        rank = _STATE.world._ranks[_STATE.world.rank()] if _STATE.world is not None else "?"
        print(f"ember.distributed: rank {rank} failed; exiting without MPI_Finalize so that mpiexec stops the other "
              "ranks", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Free ``group``'s communicators (all groups, and the default one, when ``group`` is None)."""
    if group is None or group is _STATE.world:
        if _STATE.world is None:
            raise AssertionError("Process group cannot be None")
        for pg in _STATE.groups:
            _free(pg)
        _STATE.world, _STATE.groups, _STATE.count = None, [], 0
    elif isinstance(group, ProcessGroup):
        _free(group)
        if group in _STATE.groups:
            _STATE.groups.remove(group)


def _free(pg: ProcessGroup) -> None:
    if pg._error is None:   # a failed group may have requests in flight that still use its buffers
        pg._impl.free()
        if pg._meta is not None and pg._meta is not pg._impl:
            pg._meta.free()


def _default() -> ProcessGroup:
    if _STATE.world is None:
        raise ValueError(_NOT_INIT)
    return _STATE.world


def _resolve(group: Any) -> ProcessGroup | None:
    """The group to run on; None when this rank is not in it."""
    world = _default()
    if group is None:
        return world
    if group == GroupMember.NON_GROUP_MEMBER:
        return None
    if not isinstance(group, ProcessGroup):
        raise ValueError(f"Group {group} is not registered, please create group with torch.distributed.new_group "
                         "API")
    return group


def get_rank(group: ProcessGroup | None = None) -> int:
    pg = _resolve(group)
    return -1 if pg is None else pg._ranks[pg.rank()] if group is None else pg.rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    pg = _resolve(group)
    return -1 if pg is None else pg.size()


def get_backend(group: ProcessGroup | None = None) -> Backend:
    pg = _resolve(group)
    if pg is None:
        raise ValueError("Invalid process group specified")
    return pg._backend


def get_process_group_ranks(group: ProcessGroup | None) -> list[int]:
    pg = _resolve(group)
    return [] if pg is None else list(pg._ranks)


def get_global_rank(group: ProcessGroup, group_rank: int) -> int:
    """The global rank of ``group_rank`` of ``group`` (as torch, unchecked on the default group)."""
    if group is not None and group is _STATE.world:
        return group_rank
    pg = _resolve(group)
    if pg is None or not 0 <= group_rank < pg.size():
        raise ValueError(f"Group rank {group_rank} is not part of group {group}")
    return pg._ranks[group_rank]


def get_group_rank(group: ProcessGroup, global_rank: int) -> int:
    """The rank in ``group`` of ``global_rank`` (as torch, unchecked on the default group)."""
    if group is not None and group is _STATE.world:
        return global_rank
    pg = _resolve(group)
    if pg is None or global_rank not in pg._ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {group}")
    return pg._ranks.index(global_rank)


def new_group(ranks: Sequence[int] | None = None, timeout: timedelta | None = None, backend: str | None = None,
              pg_options: Any = None, use_local_synchronization: bool = False, group_desc: str | None = None,
              device_id: Any = None, sort_ranks: bool = True) -> ProcessGroup | int:
    """A group of some of the ranks; every rank must call it (non-members get ``GroupMember.NON_GROUP_MEMBER``).
    Group ranks follow the global ranks, or the order of ``ranks`` when ``sort_ranks`` is False."""
    world = _default()
    size = world.size()
    members = list(range(size)) if ranks is None else list(dict.fromkeys(int(r) for r in ranks))
    if sort_ranks:
        members.sort()
    if len(members) > size:
        raise ValueError("the new group's world size should be less or equal to the world size set by "
                         "init_process_group")
    if any(not 0 <= r < size for r in members):
        raise ValueError("The new group's rank should be within the world_size set by init_process_group")
    name = Backend(backend) if backend is not None else world._backend
    seconds = _seconds(timeout) if timeout is not None else world._timeout
    me = world.rank()
    _STATE.count += 1
    comm = world._meta.comm if world._meta is not None else None
    if comm is None:   # a single process without MPI
        pg = _make_group(name, None, [0], seconds, device_id)
    else:
        from mpi4py import MPI
        sub = comm.Split(0 if me in members else MPI.UNDEFINED, members.index(me) if me in members else 0)
        if sub == MPI.COMM_NULL:
            return GroupMember.NON_GROUP_MEMBER
        pg = _make_group(name, sub, members, seconds, device_id)
    _STATE.groups.append(pg)
    return pg


def new_subgroups_by_enumeration(ranks_per_subgroup_list: Sequence[Sequence[int]], timeout: timedelta | None = None,
                                 backend: str | None = None, pg_options: Any = None,
                                 group_desc: str | None = None) -> tuple[ProcessGroup | None, list]:
    """One group per list of ranks (disjoint lists; every rank must call it): (this rank's group, all of them)."""
    if ranks_per_subgroup_list is None or len(ranks_per_subgroup_list) == 0:
        raise ValueError("The arg 'ranks_per_subgroup_list' cannot be empty")
    subgroups: list = []
    mine = None
    owner: dict[int, Sequence[int]] = {}
    me = get_rank()
    for ranks in ranks_per_subgroup_list:
        sub = new_group(ranks, timeout, backend, pg_options, group_desc=group_desc)
        subgroups.append(sub)
        for r in ranks:
            if r in owner:
                raise ValueError(f"Rank {r} has appeared in both subgroup {owner[r]} and {ranks}")
            owner[r] = ranks
            if r == me:
                mine = sub
    return mine, subgroups


def new_subgroups(group_size: int | None = None, group: ProcessGroup | None = None, timeout: timedelta | None = None,
                  backend: str | None = None, pg_options: Any = None,
                  group_desc: str | None = None) -> tuple[ProcessGroup | None, list]:
    """Split ``group``'s ranks into consecutive groups of ``group_size`` (default: the CUDA devices of a machine):
    (this rank's group, all of them)."""
    if group_size is None:
        from .. import cuda
        if not cuda.is_available():
            raise ValueError("Default group size only takes effect when CUDA is available.If your subgroup using a "
                             "backend that does not depend on CUDA,please pass in 'group_size' correctly.")
        group_size = cuda.device_count()
    if group_size <= 0:
        raise ValueError(f"The arg 'group_size' ({group_size}) must be positive")
    world_size = get_world_size(group)
    if world_size < group_size:
        raise ValueError(f"The arg 'group_size' ({group_size}) must not exceed the world size ({world_size})")
    if world_size % group_size != 0:
        raise ValueError(f"The world size ({world_size}) must be divisible by '{group_size=}'")
    ranks = get_process_group_ranks(group)
    return new_subgroups_by_enumeration([ranks[i:i + group_size] for i in range(0, len(ranks), group_size)],
                                        timeout, backend, pg_options, group_desc)


def get_pg_count() -> int:
    """How many process groups were created since ``init_process_group`` (the default one included)."""
    return _STATE.count


def is_backend_available(backend: str) -> bool:
    """Whether ``backend`` can be used here (``'gloo'`` is served by MPI)."""
    name = str(backend).lower()
    return {"mpi": is_mpi_available, "gloo": is_gloo_available, "nccl": is_nccl_available}.get(name, bool)()


def supports_complex(reduceOp: Any) -> bool:   # noqa: N803 (torch's name)
    """Whether ``reduceOp`` is defined on complex tensors (sums and averages are; orderings and products not)."""
    return reduceOp not in (_Op.PRODUCT, _Op.MIN, _Op.MAX, _Op.BAND, _Op.BOR, _Op.BXOR)


_DEVICE_BACKENDS = {"cpu": "gloo", "cuda": "nccl"}


def get_default_backend_for_device(device: Any) -> str:
    """The backend torch picks for tensors of ``device``'s type (``'gloo'``, served by MPI, for CPU tensors);
    ``device`` is read as ``torch.device(device)`` (its errors for None, an unknown type or an index without
    accelerator)."""
    from .._core.device import device as _device
    kind = _device(device).type
    if kind not in _DEVICE_BACKENDS:
        raise ValueError(f"Default backend not registered for device : {device}")
    return _DEVICE_BACKENDS[kind]


# ---- argument checks ---------------------------------------------------------------------------------------
def _tensor(t: Any, param: str) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{param}` of type torch.Tensor\n"
                        f"             but got {type(t)} instead.")
    return t


def _tensors(ts: Any, param: str) -> list[Tensor]:
    if not isinstance(ts, list | tuple) or not all(isinstance(t, Tensor) for t in ts):
        raise TypeError(f"Invalid function argument. Expected parameter `{param}` of type List[torch.Tensor]\n"
                        f"             but got {type(ts)} instead.")
    return list(ts)


def _on_device(pg: ProcessGroup, ts: Sequence[Tensor]) -> None:
    want = pg._devtype
    for t in ts:
        if t._device.type != want:
            raise RuntimeError(f"No backend type associated with device type {t._device.type}: process group "
                               f"backend '{pg._backend}' moves {want} tensors")


def _op_for(op: Any, t: Tensor, what: str) -> int:
    if op is _Op.SUM:
        return 0
    if not isinstance(op, _Op):
        raise TypeError(f"{what}(): op must be a torch.distributed.ReduceOp, but got {op!r}")
    dt = t._dtype
    if op == _Op.PREMUL_SUM:
        raise ValueError(f"{what}: ReduceOp.PREMUL_SUM is only supported by the NCCL backend with a scale factor")
    if dt.is_complex and op not in (_Op.SUM, _Op.AVG):
        raise ValueError(f"{what} does not support {op} on complex tensors")
    if op in (_Op.BAND, _Op.BOR, _Op.BXOR) and (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"Cannot use {op.name.join(('ReduceOp.', ''))} with non-integral dtype")
    if op == _Op.AVG and not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"Cannot use ReduceOp.AVG with non-floating dtype {dt}: the average of integers is not "
                           "an integer")
    return int(op)


def _root(pg: ProcessGroup, glob: int | None, local: int | None, default: int | None = None) -> int:
    """The group rank of a collective's root or peer, from a global rank or a group rank (at most one of the two;
    ``default`` is the global rank used when neither is given). As in torch, the global ranks of the default group
    are its group ranks, unchecked: :func:`_valid_root` checks them where the collective is posted."""
    if glob is not None and local is not None:
        raise ValueError("Can't specify both group_rank and global_rank")
    if local is not None:
        return local
    if glob is None:
        if default is None:
            raise ValueError("Must specify global_rank or group_rank")
        glob = default
    if pg is _STATE.world:
        return glob
    if glob not in pg._ranks:
        raise ValueError(f"Global rank {glob} is not part of group {pg}")
    return pg._ranks.index(glob)


_PG_NAMES = {Backend.GLOO: "ProcessGroupGloo", Backend.MPI: "ProcessGroupMPI", Backend.NCCL: "ProcessGroupNCCL"}


def _valid_root(pg: ProcessGroup, root: int, what: str, role: str = "root") -> int:
    """``root`` if it is a rank of ``pg``, else the RuntimeError of torch's backend (``role``: root, destination or
    source)."""
    if not 0 <= root < pg.size():
        raise RuntimeError(f"{_PG_NAMES[pg._backend]}::{what}: invalid {role} rank: {root}")
    return root


def _dense(t: Tensor) -> tuple[Any, Step | None]:
    """A C-contiguous array holding ``t``'s values, and the step writing it back when it had to be a copy."""
    a = t._data
    if a.flags.c_contiguous:
        return a, None
    c = a.copy()

    def back() -> None:
        a[...] = c
    return c, (None, back)


def _sig(t: Tensor) -> str:
    return f"{str(t._dtype).replace('torch.', '')}{list(t._data.shape)}"


# ---- running a collective ----------------------------------------------------------------------------------
Small = tuple[Any, Callable[[Any], None]]   # (payload array, finish(rows of every rank's payload bytes))


def _start(pg: ProcessGroup, what: str, desc: Callable[[], str], post: Callable[[], list[Step]], async_op: bool,
           result: list | None = None, after: list[Step] | None = None, small: Small | None = None,
           key: tuple | None = None) -> Work | None:
    """Post the transfer and wait for it (or return the Work for ``async_op``).

    With checks on, ``desc()`` is first compared across ranks and the transfer posted once all agree: a mismatch
    never moves data, so it leaves the group usable (and one collective in flight at a time is also faster under
    MPICH than two). A payload (``small``) that fits the exchange's room travels with the signature and ``finish``
    completes the collective on the gathered payloads: one exchange instead of two. ``key`` (hashable, determining
    ``desc()``) lets a hot call site reuse its signature."""
    if pg._error is not None:
        pg._usable()
    pg._seq += 1
    if not pg._checks:
        pg._direct()
        steps = post()
        if after:
            steps += after
    else:
        steps = []
        known = pg._texts.get(key) if key is not None else None
        if known is None:
            text = f"{what}({desc()})"
            known = (text, zlib.crc32(text.encode()))
            if key is not None:
                if len(pg._texts) > 256:
                    pg._texts.clear()
                pg._texts[key] = known
        text, crc = known
        meta = pg._meta
        want = small[0].nbytes if small is not None and pg._xp is np else 0   # payload it could carry
        if small is not None and (pg._xp is not np or want > meta.ready()):
            small = None

        def agreed(rows: Any) -> None:
            if small is None:
                pg._flush(upto=work)
                steps.extend(post())
            else:
                small[1](rows[:, 8:8 + small[0].nbytes])
            steps.extend(after or ())

        def verify() -> None:
            try:
                _verify(pg, what, text, slot, agreed, want)
            finally:
                if meta.pending is work:
                    meta.pending = None
                if small is None:
                    pg._unposted.remove(work)
        slot = meta.check(crc, None if small is None else small[0])
        steps.append((slot.req.Test, verify))
    work = Work(steps, pg, what, result)
    if pg._checks:
        slot.holder = work.wait
        meta.pending = work
        if small is None:
            pg._unposted.append(work)
    if async_op:
        return work
    work.wait()
    return None


def _verify(pg: ProcessGroup, what: str, text: str, slot: Slot, agreed: Callable[[Any], None] | None,
            want: int = 0) -> None:
    """Go on with ``agreed(rows)`` when every rank's signature is this one's (``want``: the payload bytes the
    collective could carry, for sizing the next exchanges); otherwise every rank raises an error naming its own and
    another rank's collective."""
    meta = pg._meta
    if slot.agree():
        meta.learn(slot.crc, want)
        meta.release(slot)
        if agreed is not None:
            agreed(slot.rows)
        return
    meta.forget()
    meta.release(slot)
    req, texts_rows = pg._meta.exchange(text.encode())
    Work([(req.Test, None)], pg, f"{what} (mismatch report)").wait()
    texts = [bytes(r).rstrip(b"\0").decode(errors="replace") for r in texts_rows]
    me = pg.rank()
    other = next(r for r, t in enumerate(texts) if t != text)
    raise RuntimeError(f"Detected mismatch between collectives on ranks. Rank {pg._ranks[me]} is running "
                       f"collective: {text}, but Rank {pg._ranks[other]} is running collective: {texts[other]}")


_UFUNCS = {0: np.add, 1: np.add, 2: np.multiply, 3: np.minimum, 4: np.maximum, 5: np.bitwise_and,
           6: np.bitwise_or, 7: np.bitwise_xor}
_BOOL_UFUNCS = {0: np.logical_or, 1: np.logical_or, 2: np.logical_and, 3: np.logical_and, 4: np.logical_or,
                5: np.logical_and, 6: np.logical_or, 7: np.logical_xor}


def _reduce_rows(arr: Any, op: int) -> Callable[[Any], None]:
    """The small-payload finish of a reduction: reduce every rank's bytes into ``arr``, in rank order (so every
    rank gets the same bits); half precision is summed in float32, as the MPI path does."""
    flat = arr.reshape(-1)
    kind = arr.dtype.kind
    half = arr.dtype.itemsize == 2 and kind not in "iu"

    ufunc = _BOOL_UFUNCS[op] if kind == "b" else _UFUNCS[op]

    def finish(rows: Any) -> None:
        vals = rows.view(arr.dtype)
        if half:
            flat[...] = ufunc.reduce(vals.astype(np.float32), axis=0)
        elif len(vals) == 1:
            flat[...] = vals[0]
        else:   # pairwise into the result: cheaper than ufunc.reduce for a few ranks
            ufunc(vals[0], vals[1], out=flat)
            for v in vals[2:]:
                ufunc(flat, v, out=flat)
    return finish


def _mean(arr: Any, size: int) -> Step:
    def divide() -> None:
        arr[...] /= size
    return (None, divide)


# ---- collectives -------------------------------------------------------------------------------------------
def barrier(group: ProcessGroup | None = None, async_op: bool = False, device_ids: Any = None,
            timeout: timedelta | None = None) -> Work | None:
    """Wait until every rank of the group has reached this point (at most ``timeout``, when given, instead of the
    group's timeout)."""
    pg = _resolve(group)
    if pg is None:
        return None
    work = _start(pg, "barrier", lambda: "", pg._impl.barrier, async_op or timeout is not None,
                  small=(_NOTHING, lambda rows: None))
    if timeout is None or async_op or work is None:
        return work
    work.wait(timeout)
    return None


def broadcast(tensor: Tensor, src: int | None = None, group: ProcessGroup | None = None, async_op: bool = False,
              group_src: int | None = None) -> Work | None:
    """Copy ``tensor`` of rank ``src`` into ``tensor`` of every rank."""
    _tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    _on_device(pg, [tensor])
    root = _valid_root(pg, _root(pg, src, group_src), "broadcast")
    arr, back = _dense(tensor)

    def finish(rows: Any) -> None:
        arr.reshape(-1).view(np.uint8)[...] = rows[root]
    return _start(pg, "broadcast", lambda: f"{_sig(tensor)}, src={root}", lambda: pg._impl.broadcast(arr, root),
                  async_op, [tensor], [back] if back else None, (arr, finish))


class _ReducePlan:
    """What ``all_reduce`` of one (dtype, shape, op) on one group needs, worked out once: the op code, the MPI op
    of an in-place reduction (None when the dtype needs staging or the group is not MPI's: the general path), the
    signature and its CRC, and the group's persistent request for it (small tensors)."""

    __slots__ = ("code", "mop", "post", "in_place", "text", "crc", "ufunc", "np_dtype", "nbytes", "persist")


def _reduce_plan(pg: ProcessGroup, tensor: Tensor, op: Any) -> _ReducePlan:
    plan = _ReducePlan()
    code = plan.code = _op_for(op, tensor, "all_reduce")
    arr = tensor._data
    impl = pg._impl
    plan.mop = impl.direct_op(arr.dtype, code) if pg._xp is np and impl is not None and hasattr(impl, "comm") \
        else None
    if plan.mop is not None:
        plan.post, plan.in_place = impl.comm.Iallreduce, impl.MPI.IN_PLACE
    plan.text = f"all_reduce({_sig(tensor)}, op={_Op(code).name})"
    plan.crc = zlib.crc32(plan.text.encode())
    plan.ufunc = _UFUNCS[code]
    plan.np_dtype, plan.nbytes = arr.dtype, arr.nbytes
    plan.persist = None   # (scratch, persistent request), or () for none: asked for where ranks are known to agree
    if len(pg._plans) > 256:
        pg._plans.clear()
    pg._plans[(tensor._dtype, arr.shape, op)] = plan
    return plan


def _slot_views(slot: Slot, plan: _ReducePlan, arr: Any) -> tuple[Any, Any, Any, tuple]:
    """The payload area of ``slot`` and each rank's row of it (rank 0's, rank 1's, the others'), as arrays shaped
    like ``arr`` (made once per plan)."""
    if len(slot.views) > 256:
        slot.views.clear()
    end = 8 + plan.nbytes
    rows = [row[8:end].view(arr.dtype).reshape(arr.shape) for row in slot.rows]
    views = slot.views[plan] = (slot.mine[8:end].view(arr.dtype).reshape(arr.shape), rows[0], rows[1],
                                tuple(rows[2:]))
    return views


def all_reduce(tensor: Tensor, op: Any = ReduceOp.SUM, group: ProcessGroup | None = None,
               async_op: bool = False) -> Work | None:
    """Reduce ``tensor`` over all ranks, in place, with ``op``.

    A synchronous call on a contiguous host tensor takes a lean path (small tensors are what it matters for):
    what depends only on (dtype, shape, op) comes from the group's plan cache, no Work is made, the request is
    waited for directly. Same checks, same results, same errors as the general path."""
    if not isinstance(tensor, Tensor):
        _tensor(tensor, "tensor")
    pg = _STATE.world if group is None else _resolve(group)
    if pg is None:
        if group is None:
            raise ValueError(_NOT_INIT)
        return None
    arr = tensor._data
    hot = pg._hot
    if hot[0] is arr and hot[1] is op and not async_op and pg._error is None:
        plan = hot[2]   # the same array as last time: same dtype, shape and contiguity, so the same plan
    else:
        if tensor._device.type != pg._devtype:
            _on_device(pg, [tensor])
        plan = pg._plans.get((tensor._dtype, arr.shape, op))
        if plan is None:
            plan = _reduce_plan(pg, tensor, op)
        if plan.mop is None or async_op or pg._error is not None or not arr.flags.c_contiguous:
            return _all_reduce(pg, tensor, plan.code, async_op)
        if plan.nbytes <= _HOT_BYTES:   # (holding on to a small array only)
            pg._hot = (arr, op, plan)
    pg._seq += 1
    if pg._checks:
        meta = pg._meta
        if meta.pending is not None:
            meta.ready()
        small = plan.nbytes <= meta.room
        slot = meta.slot()
        if slot.crc != plan.crc:
            slot.sig[0] = slot.crc = plan.crc
        views = (slot.views.get(plan) or _slot_views(slot, plan, arr)) if small else None
        if views is not None:
            views[0][...] = arr
        slot.start()
        wait_request(slot.req, pg, "all_reduce")
        got = slot.sigs.tolist()
        if got.count(got[0]) != len(got):
            _verify(pg, "all_reduce", plan.text, slot, None)   # raises, naming the ranks' collectives
        if meta._prev != plan.crc or plan.crc not in meta._after:   # (once repeated, it changes nothing)
            meta.learn(plan.crc, plan.nbytes)
        if views is not None:
            ufunc = plan.ufunc
            ufunc(views[1], views[2], out=arr)   # in rank order: every rank gets the same bits
            for row in views[3]:
                ufunc(arr, row, out=arr)
            if plan.code == 1:
                arr /= pg._impl.size
            return None
    if pg._unposted:
        pg._flush()
    persist = plan.persist
    if persist is None:   # here every rank runs this all_reduce: the persistent request is made in step on all
        persist = plan.persist = pg._impl.persistent_allreduce(arr.dtype, arr.shape, plan.code) or False
    if persist:
        if persist.owner is not None:
            _drain(pg, persist)
        scratch, req = persist.scratch, persist.req
        scratch[...] = arr
        req.Start()
        wait_request(req, pg, "all_reduce")
        if plan.code == 1:
            np.divide(scratch, pg._impl.size, out=arr)
        else:
            arr[...] = scratch
        return None
    req = plan.post(plan.in_place, arr, plan.mop)
    wait_request(req, pg, "all_reduce")
    if plan.code == 1:
        arr /= pg._impl.size
    return None


def _drain(pg: ProcessGroup, p: Persistent) -> None:
    """Complete the all_reduce still using ``p`` (posted before on every rank, so it can complete)."""
    wait_request(p.req, pg, "all_reduce")
    if p.finish is not None:
        p.finish()


def _allreduce_steps(pg: ProcessGroup, arr: Any, code: int) -> list[Step]:
    """Post the all-reduce of ``arr`` (the group's persistent request for its signature when it has one: the
    choice must be the one the synchronous path makes, on every rank)."""
    get = getattr(pg._impl, "persistent_allreduce", None)
    p = get(arr.dtype, arr.shape, code) if get is not None else None
    if p is None:
        return pg._impl.allreduce(arr, code)
    if p.owner is not None:
        _drain(pg, p)
    p.scratch[...] = arr
    p.req.Start()
    mine = object()

    def finish() -> None:
        if p.owner is mine:
            p.owner = p.finish = None
            arr[...] = p.scratch
    p.owner, p.finish = mine, finish
    return [(lambda: p.owner is not mine or p.req.Test(), finish)]


def _all_reduce(pg: ProcessGroup, tensor: Tensor, code: int, async_op: bool) -> Work | None:
    """The general path of ``all_reduce`` (any backend, staging, async)."""
    arr, back = _dense(tensor)
    after = [_mean(arr, pg.size())] if code == _Op.AVG else []
    after += [back] if back else []
    return _start(pg, "all_reduce", lambda: f"{_sig(tensor)}, op={_Op(code).name}",
                  lambda: _allreduce_steps(pg, arr, code), async_op, [tensor], after,
                  (arr, _reduce_rows(arr, code)), ("all_reduce", tensor._dtype, tensor._data.shape, code))


def reduce(tensor: Tensor, dst: int | None = None, op: Any = ReduceOp.SUM, group: ProcessGroup | None = None,
           async_op: bool = False, group_dst: int | None = None) -> Work | None:
    """Reduce ``tensor`` over all ranks into ``tensor`` of rank ``dst`` (the others' tensors are unchanged)."""
    _tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    _on_device(pg, [tensor])
    root = _valid_root(pg, _root(pg, dst, group_dst), "reduce")
    code = _op_for(op, tensor, "reduce")
    arr, back = _dense(tensor)
    if pg.rank() != root:   # a private copy: MPI and NCCL may use the send buffer of non-roots as scratch
        arr, back = pg._xp.ascontiguousarray(arr).copy(), None
    after = [_mean(arr, pg.size())] if code == _Op.AVG and pg.rank() == root else []
    after += [back] if back else []
    finish = _reduce_rows(arr, code) if pg.rank() == root else lambda rows: None
    return _start(pg, "reduce", lambda: f"{_sig(tensor)}, op={_Op(code).name}, dst={root}",
                  lambda: pg._impl.reduce(arr, code, root), async_op, [tensor], after, (arr, finish))


def _same_shapes(ts: Sequence[Tensor], like: Tensor, what: str, param: str) -> None:
    for i, t in enumerate(ts):
        if t._data.shape != like._data.shape:
            raise RuntimeError(f"{what}: {param}[{i}] has shape {list(t._data.shape)}, expected "
                             f"{list(like._data.shape)}")
        if t._dtype is not like._dtype:
            raise ValueError(f"Invalid usage of tensors with different dtypesFound {t._dtype} and  {like._dtype}")


def _sizes(pg: ProcessGroup, ts: Sequence[Tensor], what: str, param: str) -> None:
    if len(ts) != pg.size():
        raise RuntimeError(f"{what}: {param} must hold one tensor per rank: expected {pg.size()} tensors, got "
                         f"{len(ts)}")


def _unpack(buf: Any, outs: Sequence[Tensor]) -> Step:
    def copy() -> None:
        for i, t in enumerate(outs):
            t._data[...] = buf[i]
    return (None, copy)


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: ProcessGroup | None = None,
               async_op: bool = False) -> Work | None:
    """``tensor_list[i]`` receives ``tensor`` of rank i."""
    outs = _tensors(tensor_list, "tensor_list")
    _tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    _on_device(pg, [*outs, tensor])
    _sizes(pg, outs, "all_gather", "tensor_list")
    _same_shapes(outs, tensor, "all_gather", "tensor_list")
    send, _ = _dense(tensor)
    buf = pg._xp.empty((pg.size(), *send.shape), send.dtype)
    def finish(rows: Any) -> None:
        buf.reshape(pg.size(), -1).view(np.uint8)[...] = rows
    return _start(pg, "all_gather", lambda: _sig(tensor), lambda: pg._impl.allgather(send, buf), async_op, outs,
                  [_unpack(buf, outs)], (send, finish))


def _flat_into(out: Tensor, numel: int, what: str, param: str) -> tuple[Any, Step | None]:
    if out._data.size != numel:
        raise RuntimeError(f"{what}: {param} must have {numel} elements (world_size times the input's), got "
                         f"{out._data.size}")
    return _dense(out)


def all_gather_single(output_tensor: Tensor, input_tensor: Tensor, group: ProcessGroup | None = None,
                      async_op: bool = False) -> Work | None:
    """Gather every rank's ``input_tensor`` into ``output_tensor``, concatenated (or stacked) in rank order."""
    _tensor(output_tensor, "output_tensor")
    _tensor(input_tensor, "input_tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    _on_device(pg, [output_tensor, input_tensor])
    if output_tensor._dtype is not input_tensor._dtype:
        raise RuntimeError(f"all_gather_single: output dtype {output_tensor._dtype} differs from input dtype "
                           f"{input_tensor._dtype}")
    out, back = _flat_into(output_tensor, pg.size() * input_tensor._data.size, "all_gather_single",
                           "output_tensor")
    send, _ = _dense(input_tensor)
    def finish(rows: Any) -> None:
        out.reshape(pg.size(), -1).view(np.uint8)[...] = rows
    return _start(pg, "all_gather_single", lambda: _sig(input_tensor), lambda: pg._impl.allgather(send, out),
                  async_op, [output_tensor], [back] if back else None, (send, finish))


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group: ProcessGroup | None = None,
                           async_op: bool = False) -> Work | None:
    """Deprecated (as in torch): :func:`all_gather_single`."""
    warn("`torch.distributed.all_gather_into_tensor` is deprecated. Please use "
         "`torch.distributed.all_gather_single` instead.", FutureWarning, stacklevel=2)
    return all_gather_single(output_tensor, input_tensor, group, async_op)


def gather(tensor: Tensor, gather_list: list[Tensor] | None = None, dst: int | None = None,
           group: ProcessGroup | None = None, async_op: bool = False, group_dst: int | None = None) -> Work | None:
    """``gather_list[i]`` of rank ``dst`` receives ``tensor`` of rank i."""
    _tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    root = _root(pg, dst, group_dst, 0)
    outs = _tensors(gather_list, "gather_list") if gather_list else []
    _on_device(pg, [tensor, *outs])
    if pg.rank() == root:
        if gather_list is None:
            raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
        _sizes(pg, outs, "gather", "gather_list")
        _same_shapes(outs, tensor, "gather", "gather_list")
    elif outs:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    _valid_root(pg, root, "gather")
    send, _ = _dense(tensor)
    buf = pg._xp.empty((pg.size(), *send.shape), send.dtype) if pg.rank() == root else None
    return _start(pg, "gather", lambda: f"{_sig(tensor)}, dst={root}", lambda: pg._impl.gather(send, buf, root),
                  async_op, outs, [_unpack(buf, outs)] if buf is not None else None)


def scatter(tensor: Tensor, scatter_list: list[Tensor] | None = None, src: int | None = None,
            group: ProcessGroup | None = None, async_op: bool = False, group_src: int | None = None) -> Work | None:
    """``tensor`` of rank i receives ``scatter_list[i]`` of rank ``src``."""
    _tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    root = _root(pg, src, group_src, 0)
    ins = _tensors(scatter_list, "scatter_list") if scatter_list else []
    _on_device(pg, [tensor, *ins])
    send = None
    if pg.rank() == root:
        if scatter_list is None:
            raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
        _sizes(pg, ins, "scatter", "scatter_list")
        _same_shapes(ins, tensor, "scatter", "scatter_list")
        send = pg._xp.stack([t._data for t in ins]) if ins else None
    elif ins:
        raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
    _valid_root(pg, root, "scatter")
    out, back = _dense(tensor)
    return _start(pg, "scatter", lambda: f"{_sig(tensor)}, src={root}", lambda: pg._impl.scatter(send, out, root),
                  async_op, [tensor], [back] if back else None)


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: Any = ReduceOp.SUM,
                   group: ProcessGroup | None = None, async_op: bool = False) -> Work | None:
    """``output`` of rank i receives the reduction over ranks of their ``input_list[i]``."""
    _tensor(output, "output")
    ins = _tensors(input_list, "input_list")
    pg = _resolve(group)
    if pg is None:
        return None
    _on_device(pg, [output, *ins])
    _sizes(pg, ins, "reduce_scatter", "input_list")
    _same_shapes(ins, output, "reduce_scatter", "input_list")
    code = _op_for(op, output, "reduce_scatter")
    send = pg._xp.stack([t._data for t in ins])
    out, back = _dense(output)
    after = [_mean(out, pg.size())] if code == _Op.AVG else []
    after += [back] if back else []
    return _start(pg, "reduce_scatter", lambda: f"{_sig(output)}, op={_Op(code).name}",
                  lambda: pg._impl.reduce_scatter(send, out, code), async_op, [output], after)


def reduce_scatter_single(output: Tensor, input: Tensor, op: Any = ReduceOp.SUM, group: ProcessGroup | None = None,
                          async_op: bool = False) -> Work | None:
    """``output`` of rank i receives the reduction over ranks of chunk i of ``input`` (flattened)."""
    _tensor(output, "output")
    _tensor(input, "input")
    pg = _resolve(group)
    if pg is None:
        return None
    _on_device(pg, [output, input])
    if input._data.size != pg.size() * output._data.size:
        raise RuntimeError(f"reduce_scatter_single: input must have world_size times the elements of output "
                           f"({pg.size()} x {output._data.size}), got {input._data.size}")
    if output._dtype is not input._dtype:
        raise RuntimeError(f"reduce_scatter_single: output dtype {output._dtype} differs from input dtype "
                           f"{input._dtype}")
    code = _op_for(op, output, "reduce_scatter_single")
    send, _ = _dense(input)
    out, back = _dense(output)
    after = [_mean(out, pg.size())] if code == _Op.AVG else []
    after += [back] if back else []
    return _start(pg, "reduce_scatter_single", lambda: f"{_sig(output)}, op={_Op(code).name}",
                  lambda: pg._impl.reduce_scatter(send, out, code), async_op, [output], after)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: Any = ReduceOp.SUM, group: ProcessGroup | None = None,
                          async_op: bool = False) -> Work | None:
    """Deprecated (as in torch): :func:`reduce_scatter_single`."""
    warn("`torch.distributed.reduce_scatter_tensor` is deprecated. Please use "
         "`torch.distributed.reduce_scatter_single` instead.", FutureWarning, stacklevel=2)
    return reduce_scatter_single(output, input, op, group, async_op)


def _alltoallv(pg: ProcessGroup, what: str, send: Any, recv: Any, scounts: list[int], rcounts: list[int],
               async_op: bool, result: list, after: list[Step]) -> Work | None:
    """All-to-all with per-rank byte counts: first the counts travel (so that a rank expecting another amount
    than its peer sends gets an error, not a truncated message), then the data."""
    pg._usable()
    pg._seq += 1
    n = pg.size()
    mine = pg._xp.asarray(np.asarray(scounts, np.int64))
    theirs = pg._xp.empty(n, np.int64)
    steps: list[Step] = list(pg._direct().alltoall(mine, theirs, None, None))

    def verify_and_post() -> None:
        got = [int(c) for c in theirs.tolist()]
        if got != rcounts:
            r = next(i for i in range(n) if got[i] != rcounts[i])
            raise RuntimeError(f"{what}: rank {pg._ranks[r]} sends {got[r]} bytes to rank {pg._ranks[pg.rank()]}, "
                               f"which expects {rcounts[r]} bytes (output sizes must match the senders' input sizes)")
        pg._flush(upto=work)
        pg._unposted.remove(work)
        steps.extend(pg._impl.alltoall(send, recv, scounts, rcounts))
        steps.extend(after)
    steps.append((None, verify_and_post))
    work = Work(steps, pg, what, result)
    pg._unposted.append(work)
    if async_op:
        return work
    work.wait()
    return None


def all_to_all(output_tensor_list: list[Tensor], input_tensor_list: list[Tensor], group: ProcessGroup | None = None,
               async_op: bool = False) -> Work | None:
    """``output_tensor_list[j]`` of rank i receives ``input_tensor_list[i]`` of rank j."""
    outs = _tensors(output_tensor_list, "output_tensor_list")
    ins = _tensors(input_tensor_list, "input_tensor_list")
    pg = _resolve(group)
    if pg is None:
        return None
    _on_device(pg, [*outs, *ins])
    _sizes(pg, outs, "all_to_all", "output_tensor_list")
    _sizes(pg, ins, "all_to_all", "input_tensor_list")
    xp = pg._xp
    send = xp.concatenate([t._data.reshape(-1).view(np.uint8) for t in ins])
    rcounts = [t._data.nbytes for t in outs]
    recv = xp.empty(sum(rcounts), np.uint8)

    def unpack() -> None:
        off = 0
        for t, c in zip(outs, rcounts, strict=True):
            t._data[...] = recv[off:off + c].view(t._data.dtype).reshape(t._data.shape)
            off += c
    return _alltoallv(pg, "all_to_all", send, recv, [t._data.nbytes for t in ins], rcounts, async_op, outs,
                      [(None, unpack)])


def all_to_all_single(output: Tensor, input: Tensor, output_split_sizes: list[int] | None = None,
                      input_split_sizes: list[int] | None = None, group: ProcessGroup | None = None,
                      async_op: bool = False) -> Work | None:
    """Split ``input`` along dim 0 (evenly, or by ``input_split_sizes``), send chunk j to rank j, and concatenate
    the received chunks into ``output``."""
    _tensor(output, "output")
    _tensor(input, "input")
    pg = _resolve(group)
    if pg is None:
        return None
    _on_device(pg, [output, input])
    n = pg.size()

    def counts(t: Tensor, splits: list[int] | None) -> list[int]:
        rows = t._data.shape[0] if t._data.ndim else 1
        row = t._data.nbytes // rows if rows else 0
        if splits is None or len(splits) == 0:
            if rows % n:
                raise ValueError(f"all_to_all_single: dim 0 of size {rows} does not divide into {n} equal splits")
            return [rows // n * row] * n
        if len(splits) != n:
            raise RuntimeError("Number of tensor splits not equal to group size")
        if sum(splits) != rows:
            raise RuntimeError("Split sizes doesn't match total dim 0 size")
        return [int(s) * row for s in splits]
    scounts, rcounts = counts(input, input_split_sizes), counts(output, output_split_sizes)
    send, _ = _dense(input)
    recv, back = _dense(output)
    return _alltoallv(pg, "all_to_all_single", send, recv, scounts, rcounts, async_op, [output],
                      [back] if back else [])


# ---- point to point ----------------------------------------------------------------------------------------
def isend(tensor: Tensor, dst: int | None = None, group: ProcessGroup | None = None, tag: int = 0,
          group_dst: int | None = None) -> Work | None:
    """Send ``tensor`` to rank ``dst`` without waiting."""
    _tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    _on_device(pg, [tensor])
    peer = _root(pg, dst, group_dst)
    if peer == pg.rank():
        raise ValueError("Invalid destination rank: destination rank should not be the same as the rank of the "
                         "current process.")
    _valid_root(pg, peer, "send", "destination")
    pg._usable()
    arr, _ = _dense(tensor)   # as in torch, the tensor must not change until the send completes
    return Work(pg._impl.send(arr, peer, tag), pg, f"send to rank {pg._ranks[peer]}")


def irecv(tensor: Tensor, src: int | None = None, group: ProcessGroup | None = None, tag: int = 0,
          group_src: int | None = None) -> Work | None:
    """Receive into ``tensor`` from rank ``src`` (any rank when None) without waiting."""
    _tensor(tensor, "tensor")
    pg = _resolve(group)
    if pg is None:
        return None
    _on_device(pg, [tensor])
    peer = None if src is None and group_src is None else _root(pg, src, group_src)
    if peer is not None and peer == pg.rank():
        raise ValueError("Invalid source rank: source rank should not be the same as the rank of the current "
                         "process.")
    if peer is not None:
        _valid_root(pg, peer, "recv", "source")
    pg._usable()
    arr, back = _dense(tensor)
    got: list[int] = []
    steps = pg._impl.recv(arr, peer, tag, got)
    work = Work(steps, pg, f"recv from rank {'any' if peer is None else pg._ranks[peer]}", [tensor])

    def check() -> None:
        source, nbytes = got
        work._source = pg._ranks[source]
        if nbytes != arr.nbytes:
            raise RuntimeError(f"recv: rank {pg._ranks[source]} sent {nbytes} bytes but the receiving tensor "
                               f"{_sig(tensor)} holds {arr.nbytes} bytes")
    steps.append((None, check))
    if back:
        steps.append(back)
    return work


def send(tensor: Tensor, dst: int | None = None, group: ProcessGroup | None = None, tag: int = 0,
         group_dst: int | None = None) -> None:
    """Send ``tensor`` to rank ``dst``."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor: Tensor, src: int | None = None, group: ProcessGroup | None = None, tag: int = 0,
         group_src: int | None = None) -> int:
    """Receive into ``tensor`` from rank ``src`` (any rank when None); returns the sender's rank."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    return work._source


class P2POp:
    """One point-to-point operation for :func:`batch_isend_irecv`: ``op`` is ``isend`` or ``irecv``."""

    def __init__(self, op: Callable[..., Any], tensor: Tensor, peer: int | None = None,
                 group: ProcessGroup | None = None, tag: int = 0, group_peer: int | None = None) -> None:
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``torch.distributed.isend`` or "
                             "``torch.distributed.irecv``.")
        self.op = op
        self.tensor = tensor
        self.peer = peer
        self.group = group
        self.tag = tag
        self.group_peer = group_peer


def batch_isend_irecv(p2p_op_list: list[P2POp]) -> list[Work]:
    """Start every send and receive of the list; returns their Works."""
    if not isinstance(p2p_op_list, list) or not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                         "``torch.distributed.P2POp``.")
    if not p2p_op_list:
        raise IndexError("list index out of range")   # torch's, from reading the first op's group
    if any(p.group != p2p_op_list[0].group for p in p2p_op_list):
        raise ValueError("All ops need to use the same group.")
    works = []
    for p in p2p_op_list:
        w = p.op(p.tensor, p.peer, p.group, p.tag, p.group_peer)
        if w is not None:
            works.append(w)
    return works


def monitored_barrier(group: ProcessGroup | None = None, timeout: timedelta | None = None,
                      wait_all_ranks: bool = False) -> None:
    """A barrier that fails (instead of waiting the group's whole timeout) after ``timeout``."""
    barrier(group, timeout=timeout)


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank on its machine (``LOCAL_RANK``, as set by ``ember run``)."""
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("LOCAL_RANK is not in the environment. Consider passing fallback_rank to allow "
                       "`get_node_local_rank` to work, assuming you are not running in a multi-device context and "
                       "want the code to run locally instead.")


# ---- objects (pickled, as torch; the bytes travel through the tensor collectives) --------------------------
def _run(pg: ProcessGroup, what: str, steps: list[Step]) -> None:
    Work(steps, pg, what).wait()


def _blob(pg: ProcessGroup, obj: Any) -> Any:
    return pg._xp.asarray(np.frombuffer(pickle.dumps(obj), np.uint8))


def _load(row: Any, n: int) -> Any:
    return pickle.loads(bytes(row[:n].tobytes()) if hasattr(row, "tobytes") else bytes(row[:n]))


def _host(a: Any) -> np.ndarray:
    return a if isinstance(a, np.ndarray) else a.get()


def all_gather_object(object_list: list[Any], obj: Any, group: ProcessGroup | None = None) -> None:
    """``object_list[i]`` receives ``obj`` of rank i (pickled, so only for trusted peers)."""
    pg = _resolve(group)
    if pg is None:
        return
    pg._usable()
    xp, n = pg._xp, pg.size()
    data = _blob(pg, obj)
    sizes = xp.empty(n, np.int64)
    _run(pg, "all_gather_object", pg._direct().allgather(xp.asarray([data.size], np.int64), sizes))
    sizes_h = _host(sizes)
    width = int(sizes_h.max())
    padded = xp.zeros(width, np.uint8)
    padded[: data.size] = data
    rows = xp.empty((n, width), np.uint8)
    _run(pg, "all_gather_object", pg._direct().allgather(padded, rows))
    rows_h = _host(rows)
    for i in range(n):
        object_list[i] = _load(rows_h[i], int(sizes_h[i]))


def gather_object(obj: Any, object_gather_list: list[Any] | None = None, dst: int | None = None,
                  group: ProcessGroup | None = None, group_dst: int | None = None) -> None:
    """``object_gather_list[i]`` of rank ``dst`` receives ``obj`` of rank i."""
    pg = _resolve(group)
    if pg is None:
        return
    root = _root(pg, dst, group_dst, 0)
    if pg.rank() == root and object_gather_list is None:
        raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
    if pg.rank() != root and object_gather_list is not None:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    _valid_root(pg, root, "gather")
    pg._usable()
    xp, n = pg._xp, pg.size()
    data = _blob(pg, obj)
    sizes = xp.empty(n, np.int64)
    _run(pg, "gather_object", pg._direct().allgather(xp.asarray([data.size], np.int64), sizes))
    sizes_h = _host(sizes)
    width = int(sizes_h.max())
    padded = xp.zeros(width, np.uint8)
    padded[: data.size] = data
    rows = xp.empty((n, width), np.uint8) if pg.rank() == root else None
    _run(pg, "gather_object", pg._direct().gather(padded, rows, root))
    if rows is not None and object_gather_list is not None:
        rows_h = _host(rows)
        for i in range(n):
            object_gather_list[i] = _load(rows_h[i], int(sizes_h[i]))


def broadcast_object_list(object_list: list[Any], src: int | None = None, group: ProcessGroup | None = None,
                          device: Any = None, group_src: int | None = None) -> None:
    """Every rank's ``object_list`` receives the objects of rank ``src``'s (the lists have the same length)."""
    pg = _resolve(group)
    if pg is None:
        return
    root = _valid_root(pg, _root(pg, src, group_src, 0), "broadcast")
    pg._usable()
    xp = pg._xp
    mine = pg.rank() == root
    blobs = [pickle.dumps(o) for o in object_list] if mine else []
    sizes = xp.asarray(np.asarray([len(b) for b in blobs] if mine else [0] * len(object_list), np.int64))
    _run(pg, "broadcast_object_list", pg._direct().broadcast(sizes, root))
    sizes_h = _host(sizes)
    data = xp.asarray(np.frombuffer(b"".join(blobs), np.uint8)) if mine else xp.empty(int(sizes_h.sum()), np.uint8)
    _run(pg, "broadcast_object_list", pg._direct().broadcast(data, root))
    if not mine:
        data_h = _host(data)
        off = 0
        for i, s in enumerate(sizes_h.tolist()):
            object_list[i] = _load(data_h[off:off + s], s)
            off += s


def send_object_list(object_list: list[Any], dst: int | None = None, group: ProcessGroup | None = None,
                     device: Any = None, group_dst: int | None = None, use_batch: bool = False) -> None:
    """Send the (pickled) objects of ``object_list`` to rank ``dst``, which receives them with
    :func:`recv_object_list` into a list of the same length."""
    pg = _resolve(group)
    if pg is None:
        return
    peer = _root(pg, dst, group_dst)
    if peer == pg.rank():
        raise ValueError("Invalid destination rank: destination rank should not be the same as the rank of the "
                         "current process.")
    _valid_root(pg, peer, "send", "destination")
    pg._usable()
    blobs = [pickle.dumps(o) for o in object_list]
    xp = pg._xp
    _run(pg, "send_object_list", pg._direct().send(xp.asarray(np.asarray([len(b) for b in blobs], np.int64)), peer,
                                                   0))
    _run(pg, "send_object_list", pg._direct().send(xp.asarray(np.frombuffer(b"".join(blobs), np.uint8)), peer, 0))


def recv_object_list(object_list: list[Any], src: int | None = None, group: ProcessGroup | None = None,
                     device: Any = None, group_src: int | None = None, use_batch: bool = False) -> int:
    """Receive into ``object_list`` the objects a :func:`send_object_list` of rank ``src`` (any rank when None) sent;
    returns the sender's rank (-1 outside ``group``)."""
    pg = _resolve(group)
    if pg is None:
        return -1
    peer = None if src is None and group_src is None else _root(pg, src, group_src)
    if peer is not None and peer == pg.rank():
        raise ValueError("Invalid source rank: source rank should not be the same as the rank of the current "
                         "process.")
    if peer is not None:
        _valid_root(pg, peer, "recv", "source")
    pg._usable()
    xp = pg._xp
    sizes = xp.empty(len(object_list), np.int64)
    got: list[int] = []
    _run(pg, "recv_object_list", pg._direct().recv(sizes, peer, 0, got))
    source, nbytes = got
    if nbytes != sizes.nbytes:
        raise RuntimeError(f"recv_object_list: rank {pg._ranks[source]} sent {nbytes // 8} objects but the receiving "
                           f"list holds {len(object_list)}")
    sizes_h = _host(sizes).tolist()
    data = xp.empty(sum(sizes_h), np.uint8)
    _run(pg, "recv_object_list", pg._direct().recv(data, source, 0, []))
    data_h = _host(data)
    off = 0
    for i, n in enumerate(sizes_h):
        object_list[i] = _load(data_h[off:off + n], n)
        off += n
    return pg._ranks[source]


def scatter_object_list(scatter_object_output_list: list[Any], scatter_object_input_list: list[Any] | None = None,
                        src: int | None = None, group: ProcessGroup | None = None,
                        group_src: int | None = None) -> None:
    """``scatter_object_output_list[0]`` of rank i receives ``scatter_object_input_list[i]`` of rank ``src``."""
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at least 1.")
    pg = _resolve(group)
    if pg is None:
        return
    root = _valid_root(pg, _root(pg, src, group_src, 0), "broadcast")
    pg._usable()
    xp, n = pg._xp, pg.size()
    mine = pg.rank() == root
    if mine:
        if scatter_object_input_list is None or len(scatter_object_input_list) != n:
            raise ValueError(f"scatter_object_list: scatter_object_input_list must hold {n} objects on the source "
                             "rank")
        blobs = [pickle.dumps(o) for o in scatter_object_input_list]
    sizes = xp.asarray(np.asarray([len(b) for b in blobs] if mine else [0] * n, np.int64))
    _run(pg, "scatter_object_list", pg._direct().broadcast(sizes, root))
    sizes_h = _host(sizes)
    width = int(sizes_h.max())
    send = None
    if mine:
        table = np.zeros((n, width), np.uint8)
        for i, b in enumerate(blobs):
            table[i, : len(b)] = np.frombuffer(b, np.uint8)
        send = xp.asarray(table)
    row = xp.empty(width, np.uint8)
    _run(pg, "scatter_object_list", pg._direct().scatter(send, row, root))
    scatter_object_output_list[0] = _load(_host(row), int(sizes_h[pg.rank()]))


# ---- coalesced collectives, options, debug level, splitting, breakpoint ----------------------------------------
GroupName = NewType("GroupName", str)


def all_reduce_coalesced(tensors: list[Tensor], op: Any = ReduceOp.SUM, group: ProcessGroup | None = None,
                         async_op: bool = False) -> Future | None:
    """All-reduce every tensor of ``tensors`` (one dtype) in place with ``op``, in one transfer of their
    concatenation; ``async_op`` returns a Future (as torch's)."""
    ts = _tensors(tensors, "tensor")
    _same_dtype(ts)
    pg = _resolve(group)
    if pg is None:
        return None
    if any(t._dtype.is_complex for t in ts) and not supports_complex(op):
        raise ValueError(f"all_reduce does not support {op} on complex tensors")
    if not ts:
        return None
    _on_device(pg, ts)
    xp = pg._xp
    flat = from_array(xp.concatenate([t._data.reshape(-1) for t in ts]), ts[0]._dtype, ts[0]._device) \
        if len(ts) > 1 else None
    work = all_reduce(flat if flat is not None else ts[0], op, group, async_op=True)
    done = work._result if work is not None else []

    def unpack() -> None:
        off = 0
        for t in ts:
            t._data[...] = flat._data[off:off + t._data.size].reshape(t._data.shape)
            off += t._data.size
    if flat is not None:
        work._on_done.append(unpack)
    done[:] = ts
    if async_op:
        return work.get_future()
    work.wait()
    return None


def all_gather_coalesced(output_tensor_lists: list[list[Tensor]], input_tensor_list: list[Tensor],
                         group: ProcessGroup | None = None, async_op: bool = False) -> Work | None:
    """``output_tensor_lists[i][j]`` receives ``input_tensor_list[j]`` of rank i, in one transfer of the inputs'
    concatenation (shapes may differ between tensors, not between ranks)."""
    pg = _resolve(group)
    if pg is None:
        return None
    ins = _tensors(input_tensor_list, "input_tensor_list")
    _same_dtype(ins)
    if not isinstance(output_tensor_lists, list):
        raise TypeError("Invalid function argument: output_tensor_lists should be a list")
    outs = [_tensors(lst, "output_tensor_lists") for lst in output_tensor_lists]
    for lst in outs:
        _same_dtype(lst)
    _sizes(pg, outs, "all_gather_coalesced", "output_tensor_lists")
    for lst in outs:
        if len(lst) != len(ins) or any(o._data.size != i._data.size for o, i in zip(lst, ins, strict=True)):
            raise RuntimeError("all_gather_coalesced: each output list must hold tensors of the input tensors' "
                               "sizes, in order")
    xp = pg._xp
    if not ins:
        raise RuntimeError("all_gather_coalesced: input_tensor_list is empty")
    flat = from_array(xp.concatenate([t._data.reshape(-1) for t in ins]), ins[0]._dtype, ins[0]._device)
    gathered = from_array(xp.empty((pg.size(), flat._data.size), flat._data.dtype), flat._dtype, flat._device)
    work = all_gather_single(gathered, flat, group, async_op=True)

    def unpack() -> None:
        for row, lst in zip(gathered._data, outs, strict=True):
            off = 0
            for o in lst:
                o._data[...] = row[off:off + o._data.size].reshape(o._data.shape)
                off += o._data.size
    work._on_done.append(unpack)
    work._result[:] = [o for lst in outs for o in lst]
    if async_op:
        return work
    work.wait()
    return None


def _same_dtype(ts: Sequence[Tensor]) -> None:
    if ts and any(t._dtype is not ts[0]._dtype for t in ts):
        other = next(t._dtype for t in ts if t._dtype is not ts[0]._dtype)
        raise ValueError(f"Invalid usage of tensors with different dtypesFound {ts[0]._dtype} and  {other}")


_CAPABILITY = {Backend.GLOO: ("cpu", "cuda"), Backend.MPI: ("cpu", "cuda"), Backend.NCCL: ("cuda",)}


def get_backend_config(group: ProcessGroup | None = None) -> str:
    """The group's device-to-backend map as torch writes it (``'cpu:gloo,cuda:gloo'``)."""
    name = get_backend(group)
    return ",".join(f"{d}:{name}" for d in _CAPABILITY[name])


class DebugLevel(enum.IntEnum):
    """``TORCH_DISTRIBUTED_DEBUG``'s levels."""

    OFF = 0
    INFO = 1
    DETAIL = 2

    __str__ = enum.Enum.__str__


def _env_debug_level() -> DebugLevel:
    value = os.environ.get("TORCH_DISTRIBUTED_DEBUG", "OFF").upper()
    if value not in DebugLevel.__members__:
        raise ValueError("The value of TORCH_DISTRIBUTED_DEBUG must be OFF, INFO, or DETAIL.")
    return DebugLevel[value]


_DEBUG = [DebugLevel.OFF]


def get_debug_level() -> DebugLevel:
    return _DEBUG[0]


def set_debug_level(level: DebugLevel) -> None:
    if not isinstance(level, DebugLevel):
        raise TypeError("set_debug_level(): incompatible function arguments. The following argument types are "
                        f"supported:\n    1. (arg0: DebugLevel) -> None\n\nInvoked with: {level!r}")
    _DEBUG[0] = level


def set_debug_level_from_env() -> None:
    """Set the debug level from ``TORCH_DISTRIBUTED_DEBUG`` (OFF, INFO or DETAIL)."""
    _DEBUG[0] = _env_debug_level()


try:
    set_debug_level_from_env()
except ValueError:   # as torch, a bad value is reported when it is read again (not at import)
    pass


_NO_TIMEOUT = timedelta(milliseconds=-1)


def _options(name: str, **fields: Any) -> type:
    """One of torch's ``*Options`` classes: plain attributes with torch's names and defaults (the backends here
    take their settings as arguments; these exist for code that builds them)."""
    def __init__(self: Any) -> None:
        for k, v in fields.items():
            setattr(self, k, list(v) if isinstance(v, list) else v)
    return type(name, (), {"__init__": __init__, "__slots__": tuple(fields), "__module__": __name__,
                           "__doc__": f"torch's ``{name}``: {', '.join(fields)}."})


AllreduceOptions = _options("AllreduceOptions", reduceOp=ReduceOp.SUM, asyncOp=True, timeout=_NO_TIMEOUT)
AllreduceCoalescedOptions = _options("AllreduceCoalescedOptions", reduceOp=ReduceOp.SUM, asyncOp=True,
                                     timeout=_NO_TIMEOUT)
AllToAllOptions = _options("AllToAllOptions", asyncOp=True, timeout=_NO_TIMEOUT)
BarrierOptions = _options("BarrierOptions", asyncOp=True, device=None, device_ids=[], timeout=_NO_TIMEOUT)
BroadcastOptions = _options("BroadcastOptions", asyncOp=True, rootRank=0, rootTensor=0, timeout=_NO_TIMEOUT)
GatherOptions = _options("GatherOptions", asyncOp=True, rootRank=0, timeout=_NO_TIMEOUT)
ReduceOptions = _options("ReduceOptions", asyncOp=True, reduceOp=ReduceOp.SUM, rootRank=0, rootTensor=0,
                         timeout=_NO_TIMEOUT)
ReduceScatterOptions = _options("ReduceScatterOptions", asyncOp=True, reduceOp=ReduceOp.SUM, timeout=_NO_TIMEOUT)
ScatterOptions = _options("ScatterOptions", asyncOp=True, rootRank=0, timeout=_NO_TIMEOUT)


class _reduce_op:   # noqa: N801 (torch's name)
    """Deprecated ``reduce_op``: the members of :class:`ReduceOp` (reading one warns)."""

    def __init__(self) -> None:
        for k, v in _Op.__members__.items():
            object.__setattr__(self, k, v)
        object.__setattr__(self, "__members__", _Op.__members__)

    def __getattribute__(self, key: str) -> Any:
        warn("`torch.distributed.reduce_op` is deprecated, please use `torch.distributed.ReduceOp` "
             "instead", FutureWarning, stacklevel=2)
        return object.__getattribute__(self, key)


reduce_op = _reduce_op()


def split_group(parent_pg: ProcessGroup | None = None, split_ranks: list | None = None,
                timeout: timedelta | None = None, pg_options: Any = None, group_desc: str | None = None,
                backend: str | None = None) -> ProcessGroup | None:
    """Split ``parent_pg`` (default: the world) into disjoint groups of the ranks listed in ``split_ranks`` (global
    ranks); every rank of the parent calls it. Returns this rank's group, None when it is in no list. Unlike
    ``new_group`` only the parent's ranks take part (MPI splits the parent's communicator)."""
    if split_ranks is None or len(split_ranks) == 0:
        raise ValueError("split_ranks cannot be None or empty")
    parent = _resolve(parent_pg)
    if parent is None:
        raise ValueError(f"Group {parent_pg} is not registered")
    me = parent._ranks[parent.rank()]
    color, members, seen = None, None, set()
    for i, ranks in enumerate(split_ranks):
        ranks = [int(r) for r in ranks]
        if seen & set(ranks):
            raise ValueError(f"Rank {min(seen & set(ranks))} has appeared in more than one split of {split_ranks}")
        seen |= set(ranks)
        if me in ranks:
            color, members = i, sorted(ranks)
    if any(r not in parent._ranks for r in seen):
        bad = next(r for r in sorted(seen) if r not in parent._ranks)
        raise ValueError(f"Global rank {bad} is not part of the parent group {parent_pg}")
    name = Backend(backend) if backend is not None else parent._backend
    seconds = _seconds(timeout) if timeout is not None else parent._timeout
    comm = parent._meta.comm if parent._meta is not None else None
    _STATE.count += 1
    if comm is None:   # a world of one
        pg = _make_group(name, None, [me], seconds)
    else:
        from mpi4py import MPI
        sub = comm.Split(MPI.UNDEFINED if color is None else color, 0 if members is None else members.index(me))
        if sub == MPI.COMM_NULL:
            return None
        pg = _make_group(name, sub, members, seconds)
    _STATE.groups.append(pg)
    return pg


_BREAKPOINTS: dict[int, int] = {}


def breakpoint(rank: int = 0, skip: int = 0, timeout_s: float | None = 3600) -> None:   # noqa: A001 (torch's)
    """Stop in pdb on rank ``rank`` only (reading from the terminal) while the other ranks wait in a barrier;
    the first ``skip`` passes are skipped; every group's timeout becomes ``timeout_s`` so that the debugging
    session does not time the job out."""
    if skip > 0:
        caller = sys._getframe(1)
        key = hash((caller.f_code.co_filename, caller.f_lineno))
        _BREAKPOINTS[key] = _BREAKPOINTS.get(key, 0) + 1
        if _BREAKPOINTS[key] <= skip:
            return
    if timeout_s is not None:
        for pg in _STATE.groups:
            pg._timeout = float(timeout_s)
    if get_rank() == rank:
        import pdb
        stdin = sys.stdin
        try:
            sys.stdin = open("/dev/stdin")   # noqa: SIM115 (a launcher may have given this rank no stdin)
        except OSError:
            pass
        try:
            debugger = pdb.Pdb()
            debugger.message(f"\n!!! ATTENTION !!!\n\nType 'up' to get to the frame that called "
                             f"dist.breakpoint(rank={rank})\n")
            debugger.set_trace()
        finally:
            if sys.stdin is not stdin:
                sys.stdin.close()
                sys.stdin = stdin
    barrier()
