"""``ember.cpu``: torch.cpu's device-module API for the host (one always-available device, streams that run
work immediately), so device-generic code (``ember.get_device_module(dev)``) works for ``cpu`` too."""

from __future__ import annotations

import os
import platform
from typing import Any

__all__ = ["is_available", "is_initialized", "synchronize", "current_device", "current_stream", "stream",
           "set_device", "device_count", "Stream", "StreamContext", "Event", "get_capabilities"]


def is_available() -> bool:
    return True


def is_initialized() -> bool:
    return True


def synchronize(device: Any = None) -> None:
    """Host work is synchronous: nothing to wait for."""


def current_device() -> str:
    return "cpu"


def set_device(device: Any) -> None:
    """There is one CPU device: accepted and ignored."""


def device_count() -> int:
    return 1


class Stream:
    """A CPU "stream": work is issued in program order, so it only needs to exist."""

    def __init__(self, priority: int = -1) -> None:
        self.priority = priority

    def wait_stream(self, stream: Stream) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def query(self) -> bool:
        return True


class Event:
    """A CPU event: everything recorded has already happened."""

    def record(self, stream: Stream | None = None) -> None:
        pass

    def query(self) -> bool:
        return True

    def elapsed_time(self, end_event: Event) -> float:
        return 0.0

    def synchronize(self) -> None:
        pass

    def wait(self, stream: Stream | None = None) -> None:
        pass


_DEFAULT_STREAM = Stream()


def current_stream(device: Any = None) -> Stream:
    return _DEFAULT_STREAM


class StreamContext:
    """``with stream(s):`` on the CPU (a no-op context)."""

    def __init__(self, stream: Stream | None) -> None:
        self.stream = stream

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def stream(stream: Stream | None) -> StreamContext:
    return StreamContext(stream)


def get_capabilities() -> dict[str, Any]:
    """What is known about the host CPU (architecture, name, logical cores)."""
    return {"architecture": platform.machine(), "cpu_name": platform.processor() or platform.machine(),
            "num_logical_cores": os.cpu_count() or 1}
