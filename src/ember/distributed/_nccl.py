"""The NCCL backend: the MPI backend's primitives on CUDA (CuPy) arrays through ``cupy.cuda.nccl``.

Operations run on a dedicated stream that first waits for the work already queued on the current stream; a
CUDA event recorded after each operation is what ``Work`` polls (so waits stay bounded by the group's timeout).
The NCCL unique id travels over MPI when there are several processes (started by ``mpiexec`` / ``ember run``).
Gather, scatter and all-to-all are grouped point-to-point transfers, as in torch's NCCL process group.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._work import Step, Work

__all__ = ["NCCLBackend"]


def _cupy() -> Any:
    import cupy
    return cupy


class NCCLBackend:
    """Collectives of one NCCL communicator over the ranks of ``host`` (an MPIBackend, None for one process)."""

    name = "nccl"

    @staticmethod
    def xp() -> Any:
        return _cupy()

    def __init__(self, host: Any, device_id: Any, timeout: float) -> None:
        cp = _cupy()
        from cupy.cuda import nccl
        self.nccl = nccl
        self.rank = host.rank if host is not None else 0
        self.size = host.size if host is not None else 1
        index = getattr(device_id, "index", device_id)
        self.device = cp.cuda.Device(index if index is not None else cp.cuda.Device().id)
        uid = np.zeros(nccl.get_unique_id_len() if hasattr(nccl, "get_unique_id_len") else 128, np.int8)
        if self.rank == 0:
            raw = nccl.get_unique_id()
            uid = np.asarray(raw, np.int64).astype(np.int8)
        if self.size > 1:
            from ._mpi import _bytes
            req = host.meta.Ibcast(_bytes(uid), 0)
            from .distributed_c10d import ProcessGroup
            probe = ProcessGroup(host, "nccl", list(range(self.size)), timeout, np, None, [], False)
            Work([(req.Test, None)], probe, "init_process_group (NCCL unique id)").wait()
        with self.device:
            self.comm = nccl.NcclCommunicator(self.size, tuple(int(v) for v in uid), self.rank)
            self.stream = cp.cuda.Stream(non_blocking=True)
        self._types = {np.dtype(k): getattr(nccl, v) for k, v in (
            ("int8", "NCCL_INT8"), ("uint8", "NCCL_UINT8"), ("int32", "NCCL_INT32"), ("uint32", "NCCL_UINT32"),
            ("int64", "NCCL_INT64"), ("uint64", "NCCL_UINT64"), ("float16", "NCCL_FLOAT16"),
            ("float32", "NCCL_FLOAT32"), ("float64", "NCCL_FLOAT64"))}
        self._ops = {0: nccl.NCCL_SUM, 1: nccl.NCCL_SUM, 2: nccl.NCCL_PROD, 3: nccl.NCCL_MIN, 4: nccl.NCCL_MAX}
        self._bf16 = getattr(nccl, "NCCL_BFLOAT16", None)

    def free(self) -> None:
        self.comm.destroy()

    def abort(self) -> None:
        self.comm.abort()

    # ---- helpers ---------------------------------------------------------------------------------------
    def _launch(self, fn: Any, *keep: Any) -> list[Step]:
        """Run ``fn(stream_ptr)`` on the communication stream after the current stream's work; the step tests
        the event recorded after it and holds ``keep`` (the arrays in use) until then, so that CuPy's memory pool
        cannot hand their memory out while the transfer still reads or writes it."""
        cp = _cupy()
        with self.device:
            ready = cp.cuda.Event(disable_timing=True)
            ready.record(cp.cuda.get_current_stream())
            self.stream.wait_event(ready)
            fn(self.stream.ptr)
            done = cp.cuda.Event(disable_timing=True)
            done.record(self.stream)

        def test(_held: tuple = keep) -> bool:   # the step owns the arrays until it is done
            return bool(done.done)
        return [(test, None)]

    def _typed(self, arr: Any, op: int) -> tuple[Any, int, int, Step | None]:
        """(array to reduce, NCCL type, NCCL op, step copying a staged result back)."""
        if op not in self._ops:
            raise RuntimeError("the NCCL backend does not support bitwise reductions (BAND, BOR, BXOR)")
        dt = arr.dtype
        nop = self._ops[op]
        if dt == np.bool_:
            return arr.view(np.uint8), self.nccl.NCCL_UINT8, self._ops[4 if op in (0, 1, 4) else 3], None
        if dt.kind == "c":
            return arr.view(dt.type(0).real.dtype), self._types[np.dtype(dt.type(0).real.dtype)], nop, None
        if dt.name == "bfloat16" and self._bf16 is not None:
            return arr, self._bf16, nop, None
        if dt in self._types:
            return arr, self._types[dt], nop, None
        stage = arr.astype(np.float32 if dt.kind == "f" or dt.name == "bfloat16" else np.int32)

        def back() -> None:
            arr[...] = stage.astype(dt)
        return stage, self._types[stage.dtype], nop, (None, back)

    @staticmethod
    def _raw(arr: Any) -> Any:
        return arr.reshape(-1).view(np.uint8)

    # ---- collectives ---------------------------------------------------------------------------------------
    def allreduce(self, arr: Any, op: int) -> list[Step]:
        buf, t, nop, back = self._typed(arr, op)
        steps = self._launch(lambda s: self.comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, t, nop, s), buf)
        return steps + [back] if back else steps

    def reduce(self, arr: Any, op: int, root: int) -> list[Step]:
        buf, t, nop, back = self._typed(arr, op)
        steps = self._launch(lambda s: self.comm.reduce(buf.data.ptr, buf.data.ptr, buf.size, t, nop, root, s), buf)
        return steps + [back] if back and self.rank == root else steps

    def reduce_scatter(self, send: Any, recv: Any, op: int) -> list[Step]:
        sbuf, t, nop, _ = self._typed(send, op)
        rbuf, _, _, back = self._typed(recv, op)
        steps = self._launch(lambda s: self.comm.reduceScatter(sbuf.data.ptr, rbuf.data.ptr, rbuf.size, t, nop, s),
                             sbuf, rbuf)
        return steps + [back] if back else steps

    def broadcast(self, arr: Any, root: int) -> list[Step]:
        raw = self._raw(arr)
        return self._launch(lambda s: self.comm.bcast(raw.data.ptr, raw.size, self.nccl.NCCL_UINT8, root, s), raw)

    def allgather(self, send: Any, recv: Any) -> list[Step]:
        sraw, rraw = self._raw(send), self._raw(recv)
        return self._launch(lambda s: self.comm.allGather(sraw.data.ptr, rraw.data.ptr, sraw.size,
                                                          self.nccl.NCCL_UINT8, s), sraw, rraw)

    def _p2p(self, sends: list[tuple[Any, int]], recvs: list[tuple[Any, int]]) -> list[Step]:
        """Grouped sends and receives of byte arrays (the building block of gather, scatter, all-to-all)."""
        u8 = self.nccl.NCCL_UINT8

        def run(s: int) -> None:
            self.nccl.groupStart()
            for arr, peer in sends:
                if arr.size:
                    self.comm.send(arr.data.ptr, arr.size, u8, peer, s)
            for arr, peer in recvs:
                if arr.size:
                    self.comm.recv(arr.data.ptr, arr.size, u8, peer, s)
            self.nccl.groupEnd()
        return self._launch(run, sends, recvs)

    def gather(self, send: Any, recv: Any | None, root: int) -> list[Step]:
        sraw = self._raw(send)
        if self.rank != root:
            return self._p2p([(sraw, root)], [])
        rows = self._raw(recv).reshape(self.size, -1)
        rows[root] = sraw
        return self._p2p([], [(rows[r], r) for r in range(self.size) if r != root])

    def scatter(self, send: Any | None, recv: Any, root: int) -> list[Step]:
        rraw = self._raw(recv)
        if self.rank != root:
            return self._p2p([], [(rraw, root)])
        rows = self._raw(send).reshape(self.size, -1)
        rraw[...] = rows[root]
        return self._p2p([(rows[r], r) for r in range(self.size) if r != root], [])

    def alltoall(self, send: Any, recv: Any, scounts: list[int] | None, rcounts: list[int] | None) -> list[Step]:
        sraw, rraw = self._raw(send), self._raw(recv)
        n = self.size
        if scounts is None or rcounts is None:
            scounts, rcounts = [sraw.size // n] * n, [rraw.size // n] * n
        so, ro = np.concatenate([[0], np.cumsum(scounts)]), np.concatenate([[0], np.cumsum(rcounts)])
        return self._p2p([(sraw[so[r]:so[r + 1]], r) for r in range(n)],
                         [(rraw[ro[r]:ro[r + 1]], r) for r in range(n)])

    def barrier(self) -> list[Step]:
        one = _cupy().ones(1, np.float32)
        return self.allreduce(one, 0)

    def send(self, arr: Any, dst: int, tag: int) -> list[Step]:
        return self._p2p([(self._raw(arr), dst)], [])

    def recv(self, arr: Any, src: int | None, tag: int, got: list) -> list[Step]:
        if src is None:
            raise RuntimeError("the NCCL backend cannot receive from any source: pass src")
        raw = self._raw(arr)
        return self._p2p([], [(raw, src)]) + [(None, lambda: got.extend((src, raw.size)))]
