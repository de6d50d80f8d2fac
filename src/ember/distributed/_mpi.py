"""The MPI backend: collectives on host (NumPy) arrays through mpi4py's buffer interface, always nonblocking
(``Iallreduce``, ``Ibcast``, ...) so that waiting can be bounded by the process group's timeout.

Every primitive takes C-contiguous arrays and returns the steps of a :class:`~._work.Work`; data movement uses
byte views (any dtype travels), reductions use the MPI type of the array (half precision is reduced in float32:
MPI has no reduction for it, and booleans reduce as bytes: OR is MAX, AND is MIN).

The signatures of checked collectives travel on a duplicate communicator through rings of persistent
``Allgather_init`` requests (MPI 4), one ring per room size; the room of the next exchange follows the verified
history, so every rank picks the same ring without communicating.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._work import Step

__all__ = ["MPIBackend", "Persistent", "Slot"]

# ReduceOp value -> MPI op name; AVG is SUM followed by a division (done by the caller)
_MPI_OPS = {0: "SUM", 1: "SUM", 2: "PROD", 3: "MIN", 4: "MAX", 5: "BAND", 6: "BOR", 7: "BXOR"}
_BOOL_OPS = {0: "MAX", 1: "MAX", 2: "MIN", 3: "MIN", 4: "MAX", 5: "BAND", 6: "BOR", 7: "BXOR"}
_STAGED = {np.dtype(np.float16).num}   # plus bfloat16 (ml_dtypes), recognised by name below


_RING = 4   # signature slots of a group: as many checked collectives may be in flight before one is drained
_MIN_ROOM = 256   # the smallest exchange (when the payload is predicted not to travel with the signature)
_ROOM_BYTES = 128 * 1024   # the largest payload travelling with a signature: for 2 ranks (divided among more)
_PERSIST_BYTES = 64 * 1024   # all_reduce up to this size goes through a persistent request (copies cost more above)
_PERSIST_MAX = 64            # persistent all_reduce requests per group (kept until the group is destroyed)


class Slot:
    """Buffers of one signature exchange and its request: a persistent ``Allgather_init`` (MPI 4: started again
    for each use, half the cost of posting an ``Iallgather``) where MPI has them."""

    __slots__ = ("mine", "sig", "crc", "rows", "sigs", "persistent", "req", "start", "holder", "views")

    def __init__(self, comm: Any, size: int, room: int, persistent: bool) -> None:
        self.mine = np.zeros(8 + room, np.uint8)
        self.sig = self.mine[:8].view(np.int64)
        self.crc = 0                 # the signature in ``sig``
        self.rows = np.zeros((size, 8 + room), np.uint8)
        self.sigs = self.rows[:, :8].view(np.int64).reshape(-1)
        self.persistent = persistent
        self.req: Any = None
        if persistent:
            self.req = comm.Allgather_init(self.mine, self.rows)
            self.start: Callable[[], None] = self.req.Start   # (re)start the exchange; then ``req`` tells its end
        else:
            self.start = lambda: setattr(self, "req", comm.Iallgather(self.mine, self.rows))
        self.holder: Any = None      # completes the collective using the slot (None: free)
        self.views: dict = {}        # per all_reduce plan: its payload view and result views (see _slot_views)

    def agree(self) -> bool:
        """Whether every rank sent this rank's signature."""
        got = self.sigs.tolist()
        return got.count(got[0]) == len(got)

    def free(self) -> None:
        if self.persistent and self.req is not None:
            self.req.Free()
            self.req = None


class Persistent:
    """A persistent in-place ``Allreduce_init`` (MPI 4) on a scratch array: started again for each all_reduce of
    its (dtype, shape, op), a small all-reduce costs about half of ``Iallreduce``'s time. ``owner`` marks the
    all_reduce whose result is still in ``scratch`` (None: free) and ``finish`` copies it out."""

    __slots__ = ("scratch", "req", "owner", "finish")

    def __init__(self, comm: Any, scratch: Any, mop: Any) -> None:
        from mpi4py import MPI
        self.scratch = scratch
        self.req = comm.Allreduce_init(MPI.IN_PLACE, scratch, mop)
        self.owner: object | None = None
        self.finish: Callable[[], None] | None = None


def _bytes(arr: Any) -> Any:
    return arr.reshape(-1).view(np.uint8)


class MPIBackend:
    """Collectives of one MPI communicator (a process group); ``meta`` is a duplicate carrying the signatures (and
    the small payloads that travel with them), so that they can never be matched with a data transfer."""

    name = "mpi"

    def __init__(self, comm: Any) -> None:
        from mpi4py import MPI
        self.MPI = MPI
        # the world's data travel on a duplicate too: persistent requests left on COMM_WORLD by a program that never
        # destroys its group would be reported by MPI_Finalize
        self.comm = comm.Dup() if comm == MPI.COMM_WORLD else comm
        self.meta = comm.Dup()
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self._ops = {k: getattr(MPI, v) for k, v in _MPI_OPS.items()}
        self._bool_ops = {k: getattr(MPI, v) for k, v in _BOOL_OPS.items()}
        self._how: dict[Any, str] = {}
        self.base_room = max(256, 8192 // self.size // 8 * 8)
        self.room = self.base_room   # payload bytes that travel with the next signature (the same on every rank)
        self._max_room = max(self.base_room, 1 << (_ROOM_BYTES // max(1, self.size - 1)).bit_length() - 1)
        self._persistent = hasattr(self.meta, "Allgather_init") and MPI.Get_version() >= (4, 0)
        self._rings: dict[int, list[Slot]] = {}   # per room
        self._turn = 0
        self._after: dict[int, int] = {}   # signature -> payload bytes of the collective that followed it last
        self._prev: int | None = None      # signature of the last verified collective
        self.pending: Any = None           # the Work whose signature exchange is not verified yet
        self._persist: dict[tuple, Persistent] = {}   # see persistent_allreduce

    def free(self) -> None:
        for slot in [s for ring in self._rings.values() for s in ring]:
            if slot.holder is not None:   # a collective never waited for: complete it before freeing its request
                slot.holder()
            slot.free()
        for p in self._persist.values():
            if p.owner is not None:   # an all_reduce never waited for
                p.req.Wait()
            p.req.Free()
        self._persist.clear()
        for c in (self.meta, self.comm):
            if c != self.MPI.COMM_WORLD:
                c.Free()

    # ---- helpers ---------------------------------------------------------------------------------------
    def _how_of(self, dt: Any) -> str:
        """How arrays of ``dt`` are reduced: in place ('' ), as bytes ('bool') or through float32 ('stage')."""
        how = self._how.get(dt)
        if how is None:
            how = self._how[dt] = "bool" if dt.kind == "b" else "stage" if dt.num in _STAGED or \
                dt.name == "bfloat16" else ""
        return how

    def direct_op(self, dt: Any, op: int) -> Any:
        """The MPI op reducing arrays of ``dt`` in place under ReduceOp ``op``; None when they need staging."""
        return None if self._how_of(dt) else self._ops[op]

    def _typed(self, arr: Any, op: int) -> tuple[Any, Any, Step | None]:
        """The buffer and MPI op that reduce ``arr`` under ReduceOp ``op``, and the step copying a staged result
        back (mpi4py maps the buffer's format to the MPI type)."""
        how = self._how_of(arr.dtype)
        if not how:
            return arr, self._ops[op], None
        if how == "bool":
            return _bytes(arr), self._bool_ops[op], None
        stage = arr.astype(np.float32)
        return stage, self._ops[op], (None, lambda: np.copyto(arr, stage, casting="unsafe"))

    # ---- metadata ------------------------------------------------------------------------------------------
    def check(self, sig: int, payload: Any | None) -> Slot:
        """Start the gathering of every rank's signature (8 bytes) followed by ``payload`` (at most ``room`` bytes,
        or nothing) in blocks of one fixed size: the same count on every rank whatever their tensors, so the
        exchange itself can never mismatch. Returns the slot (``req``, ``rows``: one row per rank, ``sigs``);
        give it back with ``release`` once its rows are read."""
        self.ready()
        slot = self.slot()
        if slot.crc != sig:
            slot.sig[0] = slot.crc = sig
        if payload is not None:
            slot.mine[8:8 + payload.nbytes] = payload.reshape(-1).view(np.uint8)
        slot.start()
        return slot

    def ready(self) -> int:
        """The payload room of the next signature exchange, once the previous exchange is verified (the room
        follows the verified history, so that it is the same on every rank: verification is in posting order)."""
        while self.pending is not None:
            try:
                self.pending._advance(True, first_only=True)
            except BaseException:
                self.pending = None
                raise
        return self.room

    def learn(self, sig: int, nbytes: int) -> None:
        """A verified collective (run by every rank, with ``nbytes`` of payload): note that it followed the
        previous one, and size the next exchange for the payload that followed this one last time (training
        loops repeat their collectives: the payload then travels with the signature, one exchange)."""
        if self._prev is not None:
            if len(self._after) > 4096:
                self._after.clear()
            self._after[self._prev] = nbytes
        self._prev = sig
        nxt = self._after.get(sig)
        self.room = self.base_room if nxt is None else _MIN_ROOM if nxt > self._max_room else \
            max(_MIN_ROOM, 1 << (nxt - 1).bit_length())

    def forget(self) -> None:
        """After a mismatch (every rank sees it): the history starts over."""
        self._prev = None
        self.room = self.base_room

    def slot(self) -> Slot:
        """The next slot of the current room's ring (all ranks take them in the same order: one per checked
        collective); one still held by a collective in flight is drained first (that collective is completed:
        every rank posted it before this one, so it can complete)."""
        ring = self._rings.get(self.room)
        if ring is None:
            ring = self._rings[self.room] = [Slot(self.meta, self.size, self.room, self._persistent)
                                             for _ in range(_RING)]
        slot = ring[self._turn % _RING]
        self._turn += 1
        if slot.holder is not None:
            holder, slot.holder = slot.holder, None
            holder()
        return slot

    def release(self, slot: Slot) -> None:
        slot.holder = None

    def exchange(self, blob: bytes, width: int = 512) -> tuple[Any, Any]:
        """Post the gathering of every rank's ``blob`` (cut or zero-padded to ``width`` bytes) on the metadata
        communicator: (request, array of one row per rank)."""
        mine = np.zeros(width, np.uint8)
        data = np.frombuffer(blob[:width], np.uint8)
        mine[: data.size] = data
        out = np.empty((self.size, width), np.uint8)
        return self.meta.Iallgather(mine, out), out

    def persistent_allreduce(self, dt: Any, shape: tuple, op: int) -> Persistent | None:
        """The group's persistent all-reduce of ``(dt, shape)`` under ReduceOp ``op`` (made on first use), or None
        (MPI < 4, a dtype reduced through staging, too large, or this group's quota used up). MPI matches the
        creations like collectives, and a persistent collective only with a persistent one: every rank must ask
        for it at the same all_reduce (where ranks are known to run the same collective), and ``all_reduce`` uses
        it whenever there is one, synchronous or not (the requests live as long as the group, so the choice stays
        the same on every rank)."""
        key = (dt, shape, op)
        got = self._persist.get(key)
        if got is None and self._persistent and len(self._persist) < _PERSIST_MAX and not self._how_of(dt) and \
                dt.itemsize * int(np.prod(shape)) <= _PERSIST_BYTES:
            got = self._persist[key] = Persistent(self.comm, np.empty(shape, dt), self._ops[op])
        return got

    # ---- collectives ---------------------------------------------------------------------------------------
    def allreduce(self, arr: Any, op: int) -> list[Step]:
        spec, mop, back = self._typed(arr, op)
        steps = [(self.comm.Iallreduce(self.MPI.IN_PLACE, spec, mop).Test, None)]
        return steps + [back] if back else steps

    def reduce(self, arr: Any, op: int, root: int) -> list[Step]:
        spec, mop, back = self._typed(arr, op)
        MPI = self.MPI
        if self.rank == root:
            req = self.comm.Ireduce(MPI.IN_PLACE, spec, mop, root)
        else:
            req = self.comm.Ireduce(spec, None, mop, root)
        steps = [(req.Test, None)]
        return steps + [back] if back and self.rank == root else steps

    def reduce_scatter(self, send: Any, recv: Any, op: int) -> list[Step]:
        sspec, mop, _ = self._typed(send, op)
        rspec, _, back = self._typed(recv, op)
        steps = [(self.comm.Ireduce_scatter_block(sspec, rspec, mop).Test, None)]
        return steps + [back] if back else steps

    def broadcast(self, arr: Any, root: int) -> list[Step]:
        return [(self.comm.Ibcast(_bytes(arr), root).Test, None)]

    def allgather(self, send: Any, recv: Any) -> list[Step]:
        return [(self.comm.Iallgather(_bytes(send), _bytes(recv)).Test, None)]

    def gather(self, send: Any, recv: Any | None, root: int) -> list[Step]:
        return [(self.comm.Igather(_bytes(send), None if recv is None else _bytes(recv), root).Test, None)]

    def scatter(self, send: Any | None, recv: Any, root: int) -> list[Step]:
        return [(self.comm.Iscatter(None if send is None else _bytes(send), _bytes(recv), root).Test, None)]

    def alltoall(self, send: Any, recv: Any, scounts: list[int] | None, rcounts: list[int] | None) -> list[Step]:
        """Equal blocks (counts None) or the given counts, in bytes, laid out back to back."""
        if scounts is None or rcounts is None:
            return [(self.comm.Ialltoall(_bytes(send), _bytes(recv)).Test, None)]
        sd = np.concatenate([[0], np.cumsum(scounts)[:-1]]).tolist()
        rd = np.concatenate([[0], np.cumsum(rcounts)[:-1]]).tolist()
        req = self.comm.Ialltoallv([_bytes(send), (scounts, sd)], [_bytes(recv), (rcounts, rd)])
        return [(req.Test, None)]

    def barrier(self) -> list[Step]:
        return [(self.comm.Ibarrier().Test, None)]

    def send(self, arr: Any, dst: int, tag: int) -> list[Step]:
        return [(self.comm.Isend(_bytes(arr), dst, tag).Test, None)]

    def recv(self, arr: Any, src: int | None, tag: int, got: list) -> list[Step]:
        """Receive into ``arr``; ``got`` receives (source, byte count) when the message has arrived."""
        MPI = self.MPI
        status = MPI.Status()
        req = self.comm.Irecv(_bytes(arr), MPI.ANY_SOURCE if src is None else src, tag)
        return [(lambda: req.Test(status), lambda: got.extend((status.Get_source(), status.Get_count(MPI.BYTE))))]
