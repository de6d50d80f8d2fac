"""CUDA streams and events (``torch.cuda.Stream``/``Event``) over CuPy's."""

from __future__ import annotations

from typing import Any

from .._core.device import _probe_cupy, canonical

__all__ = ["Stream", "ExternalStream", "Event", "StreamContext", "current_stream", "default_stream", "stream",
           "set_stream", "get_stream_from_external", "record_stream"]


def _cupy(what: str | None = None) -> Any:
    """CuPy; without a GPU torch's error (constructing ``what``: the error of torch's stand-in class)."""
    cp = _probe_cupy()
    if cp is None:
        if what == "Stream":
            raise RuntimeError("torch.cuda.Stream requires CUDA support")
        if what is not None:
            raise RuntimeError(f"Tried to instantiate dummy base class {what}")
        raise AssertionError("Torch not compiled with CUDA enabled")
    return cp


class Stream:
    """A CUDA stream: work queued on it runs in order; ``with ember.cuda.stream(s):`` queues there."""

    def __init__(self, device: Any = None, priority: int = 0, *, _wrap: Any = None) -> None:
        cp = _cupy("Stream" if _wrap is None else None)
        self.device = canonical(
            "cuda" if device is None else device if not isinstance(device, int) else f"cuda:{device}"
        )
        if _wrap is not None:
            self._cp = _wrap
        else:
            with cp.cuda.Device(self.device.index):
                self._cp = cp.cuda.Stream(non_blocking=False, priority=priority)

    @property
    def cuda_stream(self) -> int:
        return self._cp.ptr

    def query(self) -> bool:
        """True when all work queued on the stream has finished."""
        return self._cp.done

    def synchronize(self) -> None:
        self._cp.synchronize()

    def wait_event(self, event: Event) -> None:
        self._cp.wait_event(event._cp)

    def wait_stream(self, stream: Stream) -> None:
        self.wait_event(stream.record_event())

    def record_event(self, event: Event | None = None) -> Event:
        event = Event() if event is None else event
        event.record(self)
        return event

    def __enter__(self) -> Stream:
        self._cp.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._cp.__exit__(*exc)

    def __cuda_stream__(self) -> tuple[int, int]:
        """The CUDA stream protocol (version 0, ``cudaStream_t``): other libraries can use this stream."""
        return (0, self._cp.ptr)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stream) and self._cp.ptr == other._cp.ptr and self.device == other.device

    def __hash__(self) -> int:
        return hash((self._cp.ptr, self.device))

    def __repr__(self) -> str:
        return f"<torch.cuda.Stream device={self.device} cuda_stream={hex(self._cp.ptr)}>"


class Event:
    """A CUDA event: marks a point in a stream; ``elapsed_time`` measures GPU time between two."""

    def __init__(self, enable_timing: bool = False, blocking: bool = False, interprocess: bool = False) -> None:
        self._cp = _cupy("Event").cuda.Event(block=blocking, disable_timing=not enable_timing,
                                             interprocess=interprocess)
        self._timing = enable_timing

    def record(self, stream: Stream | None = None) -> None:
        self._cp.record((stream or current_stream())._cp)

    def wait(self, stream: Stream | None = None) -> None:
        (stream or current_stream()).wait_event(self)

    def query(self) -> bool:
        return self._cp.done

    def synchronize(self) -> None:
        self._cp.synchronize()

    def elapsed_time(self, end_event: Event) -> float:
        """Milliseconds between this event and ``end_event`` (both recorded, both with timing)."""
        if not (self._timing and end_event._timing):
            raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
        return _cupy().cuda.get_elapsed_time(self._cp, end_event._cp)

    def __repr__(self) -> str:
        return f"<torch.cuda.Event {hex(self._cp.ptr)}>"


def current_stream(device: Any = None) -> Stream:
    """The stream work is queued on now (the default stream unless inside ``stream(...)``)."""
    cp = _cupy()
    return Stream(device, _wrap=cp.cuda.get_current_stream())


def default_stream(device: Any = None) -> Stream:
    cp = _cupy()
    return Stream(device, _wrap=cp.cuda.Stream.null)


class ExternalStream(Stream):
    """A stream made elsewhere (another library's ``cudaStream_t``, as an int); ember neither owns nor
    destroys it."""

    def __init__(self, stream_ptr: int, device: Any = None) -> None:
        cp = _probe_cupy()
        if cp is None:
            raise TypeError("torch.cuda.ExternalStream requires CUDA support")
        dev = canonical("cuda" if device is None else device if not isinstance(device, int) else f"cuda:{device}")
        idx = cp.cuda.runtime.getDevice() if dev.index is None else dev.index
        dev = canonical(f"cuda:{idx}")
        with cp.cuda.Device(idx):
            super().__init__(dev, _wrap=cp.cuda.Stream.from_external(_StreamHandle(stream_ptr)))


class _StreamHandle:
    """A raw ``cudaStream_t`` under the CUDA stream protocol (what ``cupy.cuda.Stream.from_external`` reads)."""

    def __init__(self, ptr: int) -> None:
        self.ptr = int(ptr)

    def __cuda_stream__(self) -> tuple[int, int]:
        return (0, self.ptr)


def get_stream_from_external(data_ptr: int, device: Any = None) -> Stream:
    """A :class:`Stream` over an externally created ``cudaStream_t`` (kept alive by its owner)."""
    _cupy()
    return ExternalStream(data_ptr, device)


def set_stream(stream: Stream | None) -> None:
    """Make ``stream`` current (``None``: no change); prefer ``with ember.cuda.stream(s):``."""
    if stream is not None:
        stream._cp.use()


class StreamContext:
    """``with StreamContext(s):`` queues the block's GPU work on ``s`` and restores the previous current stream
    after (``None``, or no GPU: does nothing)."""

    def __init__(self, stream: Stream | None) -> None:
        self.stream = stream
        self.prev: Any = None

    def __enter__(self) -> None:
        cp = _probe_cupy()
        if self.stream is None or cp is None:
            return
        self.prev = cp.cuda.get_current_stream()
        self.stream._cp.use()

    def __exit__(self, *exc: object) -> None:
        if self.prev is not None:
            self.prev.use()
            self.prev = None


_in_use: list[tuple[Any, Any]] = []   # (event, array): memory kept from reuse until the event completes


def record_stream(tensor: Any, stream: Stream) -> None:
    """``Tensor.record_stream``: keep ``tensor``'s memory from being reused until the work queued on ``stream``
    so far has finished (CuPy's pool may otherwise hand it out again once the tensor is freed)."""
    if not isinstance(stream, Stream):
        raise RuntimeError("unknown parameter type")
    if not tensor.is_cuda:
        raise NotImplementedError(
            "Could not run 'aten::record_stream' with arguments from the 'CPU' backend. This could be because the "
            "operator doesn't exist for this backend, or was omitted during the selective/custom build process "
            "(if using custom build).")
    _in_use[:] = [(e, a) for e, a in _in_use if not e.done]
    event = _cupy().cuda.Event(disable_timing=True)
    event.record(stream._cp)
    _in_use.append((event, tensor._data))


def stream(stream: Stream | None) -> StreamContext:
    """``with ember.cuda.stream(s):`` queues the block's GPU work on ``s`` (None: no change)."""
    return StreamContext(stream)
