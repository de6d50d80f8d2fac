"""CUDA streams and events (``torch.cuda.Stream``/``Event``) over CuPy's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .._core.device import _probe_cupy, canonical

__all__ = ["Stream", "Event", "current_stream", "default_stream", "stream"]


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


@contextmanager
def stream(s: Stream | None) -> Iterator[None]:
    """``with ember.cuda.stream(s):`` queues the block's GPU work on ``s`` (None: no change)."""
    if s is None:
        yield
        return
    with s:
        yield
