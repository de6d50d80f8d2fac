"""``warnings.warn`` that looks through ember's op wrappers when attributing a warning to a line.

Entry points that autocast can rebind run behind a one-line wrapper frame (``ember.amp``); torch's dispatcher
adds no Python frame there, so a warning issued with ``stacklevel=2`` inside ``softmax`` must still name the
user's line, not the wrapper's. Every ember warning goes through :func:`warn`, which counts ``stacklevel``
over the caller's frames with the registered wrapper frames left out.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from types import CodeType
from typing import Any

__all__ = ["warn", "transparent"]

_TRANSPARENT: set[CodeType] = set()


def transparent(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Register ``fn``'s frames as invisible to :func:`warn`'s stack levels (a decorator)."""
    _TRANSPARENT.add(fn.__code__)
    return fn


def warn(message: str | Warning, category: type[Warning] | None = None, stacklevel: int = 1) -> None:
    """``warnings.warn(message, category, stacklevel)`` with the levels counted from :func:`warn`'s caller
    and frames of :func:`transparent` functions not counted."""
    frame = sys._getframe(1)
    level = 1
    for _ in range(stacklevel - 1):
        frame = frame.f_back
        while frame is not None and frame.f_code in _TRANSPARENT:
            frame, level = frame.f_back, level + 1
        if frame is None:
            break
        level += 1
    warnings.warn(message, category, stacklevel=level + 1)
