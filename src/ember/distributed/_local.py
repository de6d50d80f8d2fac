"""The backend of a world of one process started without MPI (``WORLD_SIZE=1``, no mpiexec, mpi4py not needed):
every collective is the identity or a local copy, completed when posted."""

from __future__ import annotations

from typing import Any

from ._work import Step

__all__ = ["LocalBackend"]


def _copy(send: Any, recv: Any) -> list[Step]:
    recv.reshape(-1).view("u1")[...] = send.reshape(-1).view("u1")
    return []


class LocalBackend:
    """The MPI backend's primitives for the only rank of a world of one."""

    name = "local"
    rank = 0
    size = 1

    def free(self) -> None:
        pass

    def allreduce(self, arr: Any, op: int) -> list[Step]:
        return []

    def reduce(self, arr: Any, op: int, root: int) -> list[Step]:
        return []

    def broadcast(self, arr: Any, root: int) -> list[Step]:
        return []

    def barrier(self) -> list[Step]:
        return []

    def reduce_scatter(self, send: Any, recv: Any, op: int) -> list[Step]:
        return _copy(send, recv)

    def allgather(self, send: Any, recv: Any) -> list[Step]:
        return _copy(send, recv)

    def gather(self, send: Any, recv: Any | None, root: int) -> list[Step]:
        return _copy(send, recv) if recv is not None else []

    def scatter(self, send: Any | None, recv: Any, root: int) -> list[Step]:
        return _copy(send, recv) if send is not None else []

    def alltoall(self, send: Any, recv: Any, scounts: list[int] | None, rcounts: list[int] | None) -> list[Step]:
        return _copy(send, recv)

    def send(self, arr: Any, dst: int, tag: int) -> list[Step]:
        raise RuntimeError("send: a world of one process has no other rank to send to")

    def recv(self, arr: Any, src: int | None, tag: int, got: list) -> list[Step]:
        raise RuntimeError("recv: a world of one process has no other rank to receive from (it would wait forever)")
