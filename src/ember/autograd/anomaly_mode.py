"""Anomaly detection: graph nodes remember the forward traceback that created them, and backward reports the
node that failed or (with ``check_nan``) returned NaN with it."""

from __future__ import annotations

from .._core.warn import warn
from . import graph

__all__ = ["set_detect_anomaly", "detect_anomaly", "set_anomaly_enabled", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """``torch.set_anomaly_enabled``: record forward tracebacks in graph nodes and check backward outputs."""
    graph.ANOMALY[0], graph.ANOMALY[1] = bool(enabled), bool(check_nan)


def is_anomaly_enabled() -> bool:
    return graph.ANOMALY[0]


def is_anomaly_check_nan_enabled() -> bool:
    return graph.ANOMALY[1]


class set_detect_anomaly:
    """Turn anomaly detection on or off, at once (a call) or for a block (context manager):
    each graph node remembers the forward traceback that created it; in backward a failing node, or one
    returning NaN when ``check_nan``, is reported with that traceback (torch's warning and errors)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = (graph.ANOMALY[0], graph.ANOMALY[1])
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        set_anomaly_enabled(*self.prev)


class detect_anomaly:
    """``with detect_anomaly():`` — anomaly detection for the block (warns that it slows things down)."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self.prev = (graph.ANOMALY[0], graph.ANOMALY[1])

    def __enter__(self) -> None:
        warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
             "enabled for debugging.", UserWarning, stacklevel=2)
        self.prev = (graph.ANOMALY[0], graph.ANOMALY[1])
        set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *exc: object) -> None:
        set_anomaly_enabled(*self.prev)
