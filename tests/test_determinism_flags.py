"""torch's determinism switches: use_deterministic_algorithms (with warn_only) and the debug mode, values and
errors as torch's."""

from __future__ import annotations

from typing import Any

import pytest

import ember
from oracle import assert_same_error, torch


def _state(lib: Any) -> tuple:
    return (lib.are_deterministic_algorithms_enabled(), lib.is_deterministic_algorithms_warn_only_enabled(),
            lib.get_deterministic_debug_mode())


def test_flags_follow_torch() -> None:
    seen: dict[str, list] = {}
    for lib in (ember, torch):
        states = [_state(lib)]
        for mode in ("warn", 2, "default", 1, "error", 0):
            lib.set_deterministic_debug_mode(mode)
            states.append(_state(lib))
        lib.use_deterministic_algorithms(True, warn_only=True)
        states.append(_state(lib))
        lib.use_deterministic_algorithms(False)
        states.append(_state(lib))
        seen[lib.__name__] = states
    assert seen["ember"] == seen["torch"]


@pytest.mark.parametrize("mode", ["x", 3, -1, 1.5, None])
def test_bad_debug_modes(mode: Any) -> None:
    assert_same_error(lambda: ember.set_deterministic_debug_mode(mode),
                      lambda: torch.set_deterministic_debug_mode(mode))
