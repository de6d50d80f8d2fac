"""Layouts of DTensors and the collectives that move a local shard from one list of placements to another.

A DTensor's layout is its mesh, one placement per mesh dimension and its global shape. ``Shard(d)`` on several
mesh dimensions nests in mesh-dimension order (the outer mesh dimension splits first). Redistribution plans per
mesh dimension: shards that must change are gathered (inner mesh dimensions first), pending partial sums are
reduced (reduce-scatter straight into a shard where nothing else splits that tensor dimension, all-reduce
otherwise), then replicas are split (outer first) and turned into partial terms. Local work happens on plain
tensors with gradients off: the autograd nodes of ``_api`` wrap these functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..._tensor import Tensor
from .. import distributed_c10d as c10d
from ..device_mesh import DeviceMesh
from .placement_types import Partial, Placement, Replicate, Shard, chunk_size_and_offset

__all__ = ["local_shape_and_offset", "redistribute_local", "shard_of", "normalize_placements", "grad_placements"]

_OPS = {"sum": c10d.ReduceOp.SUM, "avg": c10d.ReduceOp.AVG, "max": c10d.ReduceOp.MAX, "min": c10d.ReduceOp.MIN,
        "product": c10d.ReduceOp.PRODUCT}


def normalize_placements(placements: Sequence[Placement], ndim: int, mesh: DeviceMesh) -> tuple[Placement, ...]:
    """``placements`` as a tuple with negative shard dims made positive (torch's errors for bad input)."""
    placements = tuple(placements)
    if len(placements) != mesh.ndim:
        raise ValueError(f"`placements` must have the same length as `device_mesh.ndim`! Found placements length: "
                         f"{len(placements)}, and device_mesh.ndim: {mesh.ndim}.")
    out = []
    for p in placements:
        if not isinstance(p, Placement):
            raise TypeError(f"Expected Placement, got {type(p).__name__}")
        if isinstance(p, Shard) and p.dim < 0:
            p = Shard(p.dim + ndim)
        if isinstance(p, Shard) and not 0 <= p.dim < max(ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but got "
                             f"{p.dim})")
        out.append(p)
    ops = list(dict.fromkeys(p.reduce_op for p in out if isinstance(p, Partial)))
    if len(ops) > 1:
        raise ValueError("Mixed Partial reduce types are not supported in the same placement list. Found reduce ops: "
                         f"{{{', '.join(map(repr, ops))}}}. Please ensure all Partial placements use the same reduce "
                         "operation.")
    return tuple(out)


def grad_placements(placements: Sequence[Placement]) -> tuple[Placement, ...]:
    """The placements of a gradient for a tensor of ``placements``: pending partials become replicas."""
    return tuple(Replicate() if isinstance(p, Partial) else p for p in placements)


def _coordinate(mesh: DeviceMesh) -> tuple[int, ...]:
    coord = mesh.get_coordinate()
    if coord is None:
        raise RuntimeError("this rank is not part of the DTensor's device mesh")
    return coord


def local_shape_and_offset(shape: Sequence[int], mesh: DeviceMesh, placements: Sequence[Placement],
                           coordinate: Sequence[int] | None = None) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """This rank's (or ``coordinate``'s) local shape and its offset in the global tensor."""
    coordinate = _coordinate(mesh) if coordinate is None else coordinate
    size, offset = list(shape), [0] * len(shape)
    for k, p in enumerate(placements):
        if isinstance(p, Shard):
            n, start = chunk_size_and_offset(size[p.dim], mesh.size(k), coordinate[k])
            size[p.dim] = n
            offset[p.dim] += start
    return tuple(size), tuple(offset)


def _parent_size(shape: Sequence[int], mesh: DeviceMesh, placements: Sequence[Placement], upto: int, dim: int,
                 coordinate: Sequence[int]) -> int:
    """The size of ``dim`` of this rank's piece before mesh dimension ``upto`` splits it."""
    size = shape[dim]
    for k in range(upto):
        p = placements[k]
        if isinstance(p, Shard) and p.dim == dim:
            size = chunk_size_and_offset(size, mesh.size(k), coordinate[k])[0]
    return size


def _gather(t: Tensor, mesh: DeviceMesh, k: int, dim: int, parent: int) -> Tensor:
    """All-gather the pieces of ``dim`` along mesh dimension ``k`` (torch.chunk sizes, padded for the wire)."""
    import ember
    n = mesh.size(k)
    if n == 1:
        return t
    step = -(-parent // n)
    front = t.movedim(dim, 0)
    if front.shape[0] < step:
        pad = ember.zeros((step - front.shape[0], *front.shape[1:]), dtype=t.dtype, device=t.device)
        front = ember.cat([front, pad])
    front = front.contiguous()
    out = ember.empty((n * step, *front.shape[1:]), dtype=t.dtype, device=t.device)
    c10d.all_gather_single(out, front, group=mesh.get_group(k))
    rows = [out[i * step: i * step + chunk_size_and_offset(parent, n, i)[0]] for i in range(n)]
    return ember.cat(rows).movedim(0, dim).contiguous()


def _reduce_scatter(t: Tensor, mesh: DeviceMesh, k: int, dim: int, op: str, coord: int) -> Tensor:
    """Reduce partial terms and keep this rank's ``torch.chunk`` piece of ``dim``."""
    import ember
    n = mesh.size(k)
    parent = t.shape[dim]
    step = -(-parent // n)
    front = t.movedim(dim, 0)
    if parent < n * step:
        pad = ember.zeros((n * step - parent, *front.shape[1:]), dtype=t.dtype, device=t.device)
        front = ember.cat([front, pad])
    front = front.contiguous()
    out = ember.empty((step, *front.shape[1:]), dtype=t.dtype, device=t.device)
    c10d.reduce_scatter_single(out, front, op=_OPS[op], group=mesh.get_group(k))
    size = chunk_size_and_offset(parent, n, coord)[0]
    return out[:size].movedim(0, dim).contiguous()


def _all_reduce(t: Tensor, mesh: DeviceMesh, k: int, op: str) -> Tensor:
    out = t.contiguous().clone()
    if mesh.size(k) > 1:
        c10d.all_reduce(out, op=_OPS[op], group=mesh.get_group(k))
    return out


def shard_of(t: Tensor, mesh: DeviceMesh, k: int, dim: int, coord: int) -> Tensor:
    """This rank's ``torch.chunk`` piece of ``dim`` for mesh dimension ``k`` (a copy)."""
    n = mesh.size(k)
    size, start = chunk_size_and_offset(t.shape[dim], n, coord)
    return t.narrow(dim, start, size).clone(memory_format=_contiguous())


def _contiguous() -> Any:
    from ... import contiguous_format
    return contiguous_format


def partition_value(t: Tensor, mesh: DeviceMesh, k: int, op: str) -> Tensor:
    """A replica turned into one rank's term of ``Partial(op)`` (torch's ``_partition_value``)."""
    if op == "sum":
        return t / mesh.size(k)
    if op in ("avg", "max", "min"):
        return t
    raise NotImplementedError(f"Replicate to Partial({op}) conversion is not supported.")


def redistribute_local(t: Tensor, mesh: DeviceMesh, src: Sequence[Placement], dst: Sequence[Placement],
                       shape: Sequence[int]) -> Tensor:
    """The local shard ``t`` of a tensor of global ``shape`` laid out by ``src``, laid out by ``dst`` (plain
    tensors; the caller holds gradients off)."""
    src, dst = tuple(src), tuple(dst)
    if src == dst:
        return t
    coord = _coordinate(mesh)
    cur = list(src)
    ndim = mesh.ndim

    def keeps(i: int) -> bool:   # a shard that stays as it is (the same split of the same piece)
        p = cur[i]
        if p != dst[i]:
            return False
        return all(cur[j] == dst[j] for j in range(i) if p in (cur[j], dst[j]))

    for i in range(ndim):   # split replicas first where nothing else splits that dim (less to move later)
        q = dst[i]
        if isinstance(cur[i], Replicate) and isinstance(q, Shard) and independent(cur, dst, i):
            t = shard_of(t, mesh, i, q.dim, coord[i])
            cur[i] = q
    for i in reversed(range(ndim)):   # gather the shards that change, inner mesh dimensions first
        p = cur[i]
        if isinstance(p, Shard) and not keeps(i):
            t = _gather(t, mesh, i, p.dim, _parent_size(shape, mesh, cur, i, p.dim, coord))
            cur[i] = Replicate()
    for i in range(ndim):   # settle the pending partial terms that change
        p, q = cur[i], dst[i]
        if isinstance(p, Partial) and p != q:
            alone = isinstance(q, Shard) and not any(
                j != i and (q in (cur[j], dst[j])) for j in range(ndim))
            if alone and p.reduce_op in ("sum", "avg", "max", "min", "product"):
                t = _reduce_scatter(t, mesh, i, q.dim, p.reduce_op, coord[i])
                cur[i] = q
            else:
                t = _all_reduce(t, mesh, i, p.reduce_op)
                cur[i] = Replicate()
    for i in range(ndim):   # split replicas, outer mesh dimensions first
        q = dst[i]
        if isinstance(q, Shard) and cur[i] != q:
            t = shard_of(t, mesh, i, q.dim, coord[i])
            cur[i] = q
    for i in range(ndim):
        q = dst[i]
        if isinstance(q, Partial) and cur[i] != q:
            t = partition_value(t, mesh, i, q.reduce_op)
            cur[i] = q
    return t


def independent(cur: Sequence[Placement], dst: Sequence[Placement], i: int) -> bool:
    """Whether no mesh dimension but ``i`` splits the tensor dim that ``dst[i]`` splits (so ``i`` can be split
    in any order)."""
    d = dst[i].dim   # type: ignore[attr-defined]
    return not any(j != i and (Shard(d) in (cur[j], dst[j])) for j in range(len(cur)))


def mesh_broadcast(t: Tensor, mesh: DeviceMesh, k: int, src: int = 0) -> None:
    """Copy group rank ``src``'s ``t`` (in place) to every rank along mesh dimension ``k``."""
    if mesh.size(k) > 1:
        c10d.broadcast(t, group=mesh.get_group(k), group_src=src)


def global_stride(local: Tensor, shape: Sequence[int]) -> tuple[int, ...]:
    """Dense strides of the global ``shape`` in the local tensor's memory order (contiguous when it is)."""
    ndim = len(shape)
    if ndim == 0:
        return ()
    strides = local.stride()
    order = sorted(range(ndim), key=lambda d: (strides[d], -d))   # innermost first
    out = [0] * ndim
    acc = 1
    for d in order:
        out[d] = acc
        acc *= max(shape[d], 1)
    return tuple(out)


def num_shards(mesh: DeviceMesh, placements: Sequence[Placement]) -> int:
    return math.prod(mesh.size(k) for k, p in enumerate(placements) if isinstance(p, Shard))
