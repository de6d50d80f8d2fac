"""``ember.backends.mkldnn``: oneDNN's switches. ember has no oneDNN kernels (``is_available()`` is False); the
flags keep torch's defaults and are recorded for scripts that set them."""

from __future__ import annotations

from typing import Any

from ._flags import flag_module, flags_context

__all__ = ["is_available", "is_acl_available", "VERBOSE_OFF", "VERBOSE_ON", "VERBOSE_ON_CREATION", "verbose",
           "set_flags", "flags", "enabled", "deterministic", "allow_tf32", "fp32_precision"]

VERBOSE_OFF = 0
VERBOSE_ON = 1
VERBOSE_ON_CREATION = 2

enabled = True
deterministic = False
allow_tf32: bool | None = None   # torch's value on a CPU build
fp32_precision = "none"


def is_available() -> bool:
    """False: ember does not call oneDNN."""
    return False


def is_acl_available() -> bool:
    """False: no Arm Compute Library."""
    return False


class verbose:
    """``with mkldnn.verbose(VERBOSE_ON):`` oneDNN's log inside the block (nothing to log without oneDNN)."""

    def __init__(self, level: int) -> None:
        self.level = level

    def __enter__(self) -> verbose:
        return self

    def __exit__(self, *exc: Any) -> bool:
        return False


def set_flags(_enabled: bool | None = None, _deterministic: bool | None = None, _allow_tf32: bool | None = None,
              _fp32_precision: str = "none") -> tuple:
    """Set the given flags; returns the previous values (in this order)."""
    g = globals()
    old = (enabled, deterministic, allow_tf32, fp32_precision)
    for name, value in (("enabled", _enabled), ("deterministic", _deterministic), ("allow_tf32", _allow_tf32),
                        ("fp32_precision", _fp32_precision)):
        if value is not None:
            g[name] = value
    return old


flags = flags_context(set_flags, enabled=False, deterministic=False, allow_tf32=True, fp32_precision="none")
flag_module(__name__, {"enabled": bool, "deterministic": bool, "allow_tf32": bool, "fp32_precision": None})
