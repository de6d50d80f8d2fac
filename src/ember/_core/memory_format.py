"""``torch.memory_format``: the layouts a tensor's strides can follow (``contiguous_format``,
``channels_last``, ``channels_last_3d``) and ``preserve_format`` (keep the input's layout)."""

from __future__ import annotations

__all__ = ["memory_format", "contiguous_format", "preserve_format", "channels_last", "channels_last_3d",
           "layout_strides", "suggest_memory_format", "is_contiguous_as", "check_rank", "storage_order"]


class memory_format:
    """One of torch's memory formats (compared by identity, printed as ``torch.<name>``)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self) -> str:
        return self._name


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")


def _dense_strides(shape: tuple[int, ...], strides: tuple[int, ...]) -> tuple[int, ...] | None:
    """``strides`` (in elements) when they lay ``shape`` out without gaps or overlap and differ from
    C-contiguous ones, else None."""
    contiguous = 1
    for n, s in zip(reversed(shape), reversed(strides), strict=True):
        if s != contiguous:
            break
        contiguous *= n
    else:
        return None
    expected = 1
    for d in sorted((d for d in range(len(shape)) if shape[d] != 1), key=lambda d: strides[d]):
        if strides[d] != expected:
            return None
        expected *= shape[d]
    return strides


def storage_order(shape: tuple[int, ...], strides: tuple[int, ...]) -> tuple[int, ...] | None:
    """The dim order (outermost first) in which dense but not C-contiguous element ``strides`` lay ``shape``
    out (channels-last, permuted): a transpose by it is C-contiguous, so kernels that flatten can run on that
    view and keep the layout; None for C-contiguous or gapped layouts."""
    if _dense_strides(shape, strides) is None:
        return None
    return tuple(sorted(range(len(shape)), key=lambda d: -strides[d]))


def _channels_last_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """NHWC-style strides for an N-C-spatial shape (channels innermost, then the spatial dims)."""
    n, c, *spatial = shape
    strides = [0] * len(shape)
    strides[1] = 1
    step = max(c, 1)
    for d in range(len(shape) - 1, 1, -1):
        strides[d] = step
        step *= max(shape[d], 1)
    strides[0] = step
    return tuple(strides)


def layout_strides(shape: tuple[int, ...], strides: tuple[int, ...], fmt: memory_format | None
                   ) -> tuple[int, ...] | None:
    """Element strides a new tensor of ``shape`` takes under ``fmt`` given a source tensor's element
    ``strides`` (``preserve_format``: the source's when dense, as torch's ``empty_like``); None means
    C-contiguous."""
    if fmt is None or fmt is preserve_format:
        return None if 0 in shape else _dense_strides(shape, strides)
    if fmt is contiguous_format:
        return None
    check_rank(shape, fmt)
    return _channels_last_strides(shape)


def check_rank(shape: tuple[int, ...], fmt: memory_format) -> None:
    """torch's error for a channels-last format on a tensor of the wrong rank."""
    rank = 4 if fmt is channels_last else 5
    if len(shape) != rank:
        name = "channels_last" if fmt is channels_last else "channels_last_3d"
        raise RuntimeError(f"required rank {rank} tensor to use {name} format")


def _channel_order(rank: int) -> tuple[int, ...] | None:
    """Dims from innermost to outermost under the channels-last format of this rank (None: no such format)."""
    return (1, 3, 2, 0) if rank == 4 else (1, 4, 3, 2, 0) if rank == 5 else None


def is_contiguous_as(shape: tuple[int, ...], strides: tuple[int, ...], fmt: memory_format) -> bool:
    """Whether element ``strides`` lay ``shape`` out densely in the channels-last ``fmt`` (size-1 dims
    ignored, as torch); a rank the format does not fit is never contiguous in it."""
    order = _channel_order(len(shape))
    if order is None or (fmt is channels_last) != (len(shape) == 4):
        return False
    expected = 1
    for d in order:
        if shape[d] != 1:
            if strides[d] != expected:
                return False
            expected *= shape[d]
    return True


def suggest_memory_format(shape: tuple[int, ...], strides: tuple[int, ...]) -> memory_format:
    """The format whose dim order the strides follow (torch's ``suggest_memory_format``): channels-last when
    channels are innermost and the rest descend N-outermost, contiguous otherwise (also when ambiguous)."""
    order = _channel_order(len(shape))
    if order is None or strides[1] == 0:
        return contiguous_format
    low = 0
    for d in order:
        if shape[d] == 0 or strides[d] < low or (d == 0 and low == strides[1]):
            return contiguous_format
        low = strides[d] * shape[d] if shape[d] > 1 else strides[d]
    return channels_last if len(shape) == 4 else channels_last_3d
