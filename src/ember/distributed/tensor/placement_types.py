"""``torch.distributed.tensor.placement_types``: how a DTensor lies on one mesh dimension.

``Shard(dim)``: split along ``dim`` with ``torch.chunk``'s sizes (the last pieces may be smaller or empty);
``Replicate()``: a full copy on every rank; ``Partial(reduce_op)``: every rank holds a term and the value is their
reduction (``sum``, ``avg``, ``max``, ``min``, ``product``), pending. Placements are immutable and hashable.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Placement", "Shard", "Replicate", "Partial"]


class Placement:
    """The base class of placements: what a tensor looks like on one mesh dimension."""

    __slots__ = ()

    def is_shard(self, dim: int | None = None) -> bool:
        return False

    def is_replicate(self) -> bool:
        return False

    def is_partial(self, reduce_op: str | None = None) -> bool:
        return False

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"property of '{type(self).__name__}' object has no setter")

    def __copy__(self) -> Placement:
        return self

    def __deepcopy__(self, memo: dict) -> Placement:
        return self


class Shard(Placement):
    """Split along tensor dimension ``dim`` (``torch.chunk`` sizes)."""

    __slots__ = ("dim",)

    def __init__(self, dim: int) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise TypeError("__init__(): incompatible constructor arguments. The following argument types are "
                            "supported:\n    1. torch._C._distributed.Shard(dim: typing.SupportsInt | "
                            f"typing.SupportsIndex)\n\nInvoked with: {dim!r}")
        object.__setattr__(self, "dim", dim)

    def is_shard(self, dim: int | None = None) -> bool:
        return dim is None or dim == self.dim

    def __eq__(self, other: object) -> bool:
        return type(other) is Shard and other.dim == self.dim

    def __hash__(self) -> int:
        return hash(("shard", self.dim))

    def __repr__(self) -> str:
        return f"Shard(dim={self.dim})"

    def __str__(self) -> str:
        return f"S({self.dim})"

    def __reduce__(self) -> tuple:
        return (Shard, (self.dim,))

    def local_shard_size_and_offset(self, curr_local_size: int, num_chunks: int, rank: int) -> tuple[int, int]:
        """This rank's (size, offset) of a dimension of ``curr_local_size`` split in ``num_chunks``."""
        return chunk_size_and_offset(curr_local_size, num_chunks, rank)


class Replicate(Placement):
    """A full copy on every rank of the mesh dimension."""

    __slots__ = ()

    def is_replicate(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return type(other) is Replicate

    def __hash__(self) -> int:
        return -2

    def __repr__(self) -> str:
        return "Replicate()"

    def __str__(self) -> str:
        return "R"

    def __reduce__(self) -> tuple:
        return (Replicate, ())


class Partial(Placement):
    """Each rank holds a term; the tensor is their reduction by ``reduce_op`` (pending)."""

    __slots__ = ("reduce_op",)
    LINEAR_REDUCE_OPS = ("sum", "avg")
    ALL_REDUCE_OPS = ("sum", "avg", "max", "min", "product")

    def __init__(self, reduce_op: str = "sum") -> None:
        object.__setattr__(self, "reduce_op", reduce_op)

    def is_partial(self, reduce_op: str | None = None) -> bool:
        return reduce_op is None or reduce_op == self.reduce_op

    def __eq__(self, other: object) -> bool:
        return type(other) is Partial and other.reduce_op == self.reduce_op

    def __hash__(self) -> int:
        return 1 + hash(self.reduce_op)

    def __repr__(self) -> str:
        return f"Partial({self.reduce_op})"

    def __str__(self) -> str:
        return f"P({self.reduce_op})"

    def __reduce__(self) -> tuple:
        return (Partial, (self.reduce_op,))


def chunk_size_and_offset(size: int, num_chunks: int, index: int) -> tuple[int, int]:
    """Piece ``index`` of ``torch.chunk(range(size), num_chunks)`` as (length, start); an empty piece past the
    end when there are fewer pieces than chunks."""
    step = -(-size // num_chunks) if num_chunks else 0
    start = min(size, step * index)
    return max(0, min(size, start + step) - start), start
