"""``GradBucket``: what a DDP communication hook receives, one bucket of gradients flattened into one buffer."""

from __future__ import annotations

from .._tensor import Tensor

__all__ = ["GradBucket"]


class GradBucket:
    """A bucket of gradients: ``buffer()`` (1-D, the gradients back to back), ``gradients()`` (views of it shaped
    as the parameters), ``parameters()``, ``index()`` (buckets are reduced in index order) and ``is_last()``."""

    __slots__ = ("_index", "_buffer", "_params", "_last")

    def __init__(self, index: int, buffer: Tensor, params: list[Tensor], is_last: bool) -> None:
        self._index = index
        self._buffer = buffer
        self._params = params
        self._last = is_last

    def index(self) -> int:
        return self._index

    def buffer(self) -> Tensor:
        return self._buffer

    def set_buffer(self, buffer: Tensor) -> None:
        """Replace the buffer (a hook wrapper handing the wrapped hook a converted copy)."""
        self._buffer = buffer

    def gradients(self) -> list[Tensor]:
        """One view of the buffer per parameter, shaped as that parameter."""
        out, off = [], 0
        for p in self._params:
            n = p.numel()
            out.append(self._buffer[off:off + n].view(p.shape))
            off += n
        return out

    def parameters(self) -> list[Tensor]:
        return list(self._params)

    def is_last(self) -> bool:
        """Whether this is the last bucket to be reduced in the iteration."""
        return self._last


GradBucket.__module__ = "ember.distributed"
