"""``ember.backends.miopen``: AMD's MIOpen switch (ember runs on NVIDIA GPUs only; recorded)."""

from __future__ import annotations

from ._flags import flag_module

__all__ = ["immediate"]

immediate = False
flag_module(__name__, {"immediate": bool})
