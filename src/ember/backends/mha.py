"""``ember.backends.mha``: the switch for the fused fast path of ``nn.MultiheadAttention`` and
``nn.TransformerEncoder`` in inference (recorded; ember's modules compute the same result either way)."""

from __future__ import annotations

__all__ = ["get_fastpath_enabled", "set_fastpath_enabled"]

_fastpath = [True]


def get_fastpath_enabled() -> bool:
    return _fastpath[0]


def set_fastpath_enabled(value: bool) -> None:
    _fastpath[0] = value
