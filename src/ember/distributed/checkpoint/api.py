"""CheckpointException: the failures of a save or load, by rank (as torch's, a BaseException)."""

from __future__ import annotations

import traceback
from typing import Any


class CheckpointException(BaseException):
    """Raised when a checkpoint step fails on some rank; ``failures`` maps rank -> (exception, stack)."""

    def __init__(self, msg: str, failures: dict[int, Any]) -> None:
        super().__init__(msg, failures)
        self._failures = failures

    @property
    def failures(self) -> dict[int, Any]:
        return self._failures

    def __str__(self) -> str:
        text = f"CheckpointException ranks:{self._failures.keys()}\n"
        for rank, (exc, frames) in self._failures.items():
            text += f"Traceback (most recent call last): (RANK {rank})\n"
            text += "".join(traceback.format_list(frames))
            text += "".join(traceback.format_exception_only(type(exc), exc))
        return text

