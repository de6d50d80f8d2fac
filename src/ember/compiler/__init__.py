"""``ember.compiler``: torch.compiler's API for an eager-only library — ``compile`` checks its arguments and
wraps modules as torch (calls run eagerly), ``disable`` and the graph hints are identities, and nothing is ever
being compiled or exported."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["compile", "reset", "allow_in_graph", "assume_constant_result", "disable", "list_backends",
           "is_compiling", "is_dynamo_compiling", "is_exporting", "cudagraph_mark_step_begin"]


def compile(*args: Any, **kwargs: Any) -> Any:
    """Like ``ember.compile``: the model or function itself."""
    from ..ops.info import compile as eager_compile
    return eager_compile(*args, **kwargs)


def reset() -> None:
    """No compilation caches to clear."""


def allow_in_graph(fn: Callable) -> Callable:
    return fn


def assume_constant_result(fn: Callable) -> Callable:
    return fn


def disable(fn: Callable | None = None, recursive: bool = True, *, reason: str | None = None) -> Any:
    """``fn`` unchanged (usable as ``@disable`` or ``@disable(recursive=False)``)."""
    return fn if fn is not None else (lambda f: f)


def list_backends(exclude_tags: Any = ("debug", "experimental")) -> list[str]:
    """torch's backend names (``ember.compile`` accepts each and runs eagerly)."""
    from .._dynamo import list_backends as names
    return names(exclude_tags)


def is_compiling() -> bool:
    return False


def is_dynamo_compiling() -> bool:
    return False


def is_exporting() -> bool:
    return False


def cudagraph_mark_step_begin() -> None:
    """No CUDA graphs are captured by a compiler here."""
