"""``ember.backends.opt_einsum``: torch's switch for ordering einsum's contractions with the opt_einsum package.
ember's einsum contracts left to right, as torch does without opt_einsum, so ``is_available()`` is False
(whatever is installed) and the flags keep torch's values for that case: ``enabled`` False, ``strategy`` None,
with torch's errors when a script tries to turn them on."""

from __future__ import annotations

from typing import Any

from ._flags import flag_module, flags_context

__all__ = ["is_available", "get_opt_einsum", "set_flags", "flags", "enabled", "strategy"]

enabled = False
strategy: str | None = None


def is_available() -> bool:
    """False: ember's einsum does not use opt_einsum."""
    return False


def get_opt_einsum() -> Any:
    """The opt_einsum package ember's einsum uses: none."""
    return None


def _check_enabled(value: bool) -> bool:
    if value and not is_available():
        raise ValueError(
            f"opt_einsum is not available, so setting `enabled` to {value} will not reap the benefits of calculating "
            "an optimal path for einsum. torch.einsum will fall back to contracting from left to right. To enable "
            "this optimal path calculation, please install opt-einsum.")
    return value


def _check_strategy(value: str) -> str:
    if not is_available():
        raise ValueError(
            f"opt_einsum is not available, so setting `strategy` to {value} will not be meaningful. torch.einsum "
            "will bypass path calculation and simply contract from left to right. Please install opt_einsum or "
            "unset `strategy`.")
    return value


def set_flags(_enabled: bool | None = None, _strategy: str | None = None) -> tuple:
    """Set the given flags (torch's errors while opt_einsum is unavailable); returns the previous values."""
    g = globals()
    old = (enabled, None if not is_available() else strategy)
    if _enabled is not None:
        g["enabled"] = _check_enabled(_enabled)
    if _strategy is not None:
        g["strategy"] = _check_strategy(_strategy)
    return old


flags = flags_context(set_flags, enabled=None, strategy=None)
flag_module(__name__, {"enabled": _check_enabled, "strategy": _check_strategy})
