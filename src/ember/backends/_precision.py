"""The float32 matmul precision shared by ``set_float32_matmul_precision`` and
``backends.cuda.matmul.allow_tf32``, applied to CuPy's cuBLAS compute type when CuPy is in use."""

from __future__ import annotations

from .._core.device import _probe_cupy
from .._core.warn import warn

_PRECISIONS = ("highest", "high", "medium")
_state = {"precision": "highest"}

# CuPy's compute-type codes (cupy._core._linalg): DEFAULT = full float32, TF32 = tensor-core TF32 inputs.
_COMPUTE_TYPE_DEFAULT, _COMPUTE_TYPE_TF32 = 1, 7


def _apply() -> None:
    """Point CuPy's float32 GEMMs at TF32 or full float32, matching the current precision."""
    cp = _probe_cupy()
    if cp is None:
        return
    import numpy as np

    tf32 = _state["precision"] != "highest"
    cp._core.set_compute_type(np.float32, _COMPUTE_TYPE_TF32 if tf32 else _COMPUTE_TYPE_DEFAULT)


def set_float32_matmul_precision(precision: str) -> None:
    """``torch.set_float32_matmul_precision``: 'highest' (float32), 'high'/'medium' (TF32 allowed)."""
    if precision not in _PRECISIONS:

        warn(
            f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
            "setFloat32MatmulPrecision call has no effect.",
            UserWarning,
            stacklevel=2,
        )
        return
    _state["precision"] = precision
    _apply()


def get_float32_matmul_precision() -> str:
    """``torch.get_float32_matmul_precision``."""
    return _state["precision"]


def allow_tf32() -> bool:
    return _state["precision"] != "highest"


def set_allow_tf32(value: bool) -> None:
    _state["precision"] = "high" if value else "highest"
    _apply()
