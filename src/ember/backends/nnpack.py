"""``ember.backends.nnpack``: NNPACK's switch. ember has no NNPACK kernels (``is_available()`` False); the flag is
recorded."""

from __future__ import annotations

from ._flags import flags_context

__all__ = ["is_available", "set_flags", "flags"]

_state = [True]


def is_available() -> bool:
    return False


def set_flags(_enabled: bool) -> tuple[bool]:
    """Set the flag; returns the previous value as a 1-tuple."""
    old = (_state[0],)
    _state[0] = _enabled
    return old


flags = flags_context(set_flags, enabled=False)
