"""``torch._dynamo.exc``: the errors ``torch.compile`` raises for its arguments."""

from __future__ import annotations

__all__ = ["TorchDynamoException", "InvalidBackend"]


class TorchDynamoException(RuntimeError):
    """Base of the compiler's errors."""


class InvalidBackend(TorchDynamoException):
    """``backend=`` names no registered backend."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Invalid backend: {name!r}, see `torch._dynamo.list_backends()` for available backends.")
