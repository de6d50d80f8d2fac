"""``ember.backends.quantized``: the quantized engine. ember's int8 kernels reproduce torch's x86/fbgemm
results; the engine name is recorded (torch's values and errors)."""

from __future__ import annotations

from ._flags import flag_module

__all__ = ["engine", "supported_engines"]

_ENGINES = ("none", "fbgemm", "qnnpack", "onednn", "x86")
engine = "x86"
supported_engines = ["qnnpack", "onednn", "x86", "fbgemm"]


def _check_engine(value: str | None) -> str:
    if value in ("", None):
        return "none"
    if value not in _ENGINES:
        raise RuntimeError(f"{value} is not a valid value for quantized engine")
    return value


def _read_only(value: object) -> list[str]:
    raise RuntimeError("Assignment not supported")


flag_module(__name__, {"engine": _check_engine, "supported_engines": _read_only})
