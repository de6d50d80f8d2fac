"""Top-level names torch keeps outside its op families: the ``sym_*`` helpers (on plain numbers, as torch's
behave without symbolic shapes), build facts (``has_lapack`` & co, told truthfully for ember's NumPy backend),
``set_flush_denormal``, ``GradScaler``, ``ctc_loss`` (torch's native signature, integer reduction), ``lobpcg``
and the device-generic ``Stream``/``Event``."""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._core.device import canonical
from ._lobpcg import lobpcg
from ._tensor import Tensor
from .amp import GradScaler
from .ops import creation

__all__ = ["sym_int", "sym_float", "sym_max", "sym_min", "sym_not", "sym_ite", "sym_sum", "sym_sqrt",
           "sym_fresh_size", "has_lapack", "has_mkl", "has_openmp", "has_spectral", "set_flush_denormal",
           "compiled_with_cxx11_abi", "GradScaler", "ctc_loss", "lobpcg", "Stream", "Event"]

has_lapack: bool = True      # numpy.linalg is LAPACK
has_spectral: bool = True    # numpy.fft (pocketfft)
has_mkl: bool = "mkl" in str(np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {}).get("name", ""))
has_openmp: bool = False     # ember itself runs no OpenMP loops

_NUMBER_TYPES = (np.integer, np.floating, int, float)
_FLOAT_TYPES = (np.floating, float)


def sym_int(a: Any) -> Any:
    """``int(a)`` (torch's SymInt-aware cast; ember has no symbolic shapes)."""
    return builtins.int(a)


def sym_float(a: Any) -> Any:
    """``float(a)``, or ``a.__sym_float__()`` where a defines it."""
    if hasattr(a, "__sym_float__"):
        return a.__sym_float__()
    return builtins.float(a)


def _minmax(fn: Any, a: Any, b: Any) -> Any:
    for x in (a, b):
        if not isinstance(x, _NUMBER_TYPES):
            raise AssertionError(f"expected {_NUMBER_TYPES}, got {type(x)}")
    r = fn(a, b)
    return builtins.float(r) if isinstance(a, _FLOAT_TYPES) or isinstance(b, _FLOAT_TYPES) else r


def sym_max(a: Any, b: Any) -> Any:
    """max of two numbers, a float when either is one (unlike ``builtins.max``)."""
    return _minmax(builtins.max, a, b)


def sym_min(a: Any, b: Any) -> Any:
    """min of two numbers, a float when either is one."""
    return _minmax(builtins.min, a, b)


def sym_not(a: Any) -> Any:
    """Logical negation (``a.__sym_not__()`` where defined)."""
    if hasattr(a, "__sym_not__"):
        return a.__sym_not__()
    return not a


def sym_ite(b: Any, t: Any, f: Any) -> Any:
    """``t if b else f`` with torch's checks: b a bool, t and f of one type."""
    if not isinstance(b, builtins.bool):
        raise AssertionError(f"expected SymBool or bool, got {type(b)}")
    if type(t) is not type(f):
        raise AssertionError(f"type mismatch: {type(t)} vs {type(f)}")
    return t if b else f


def sym_sum(*args: Any) -> Any:
    """Sum of numbers, given as ``sym_sum(a, b, c)`` or ``sym_sum([a, b, c])``."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = tuple(args[0])
    return builtins.sum(args)


def _sym_sqrt(a: Any) -> Any:
    """``math.sqrt(a)`` (``a.__sym_sqrt__()`` where defined)."""
    if hasattr(a, "__sym_sqrt__"):
        return a.__sym_sqrt__()
    return math.sqrt(a)


_sym_sqrt.__module__ = "torch"
sym_sqrt = _sym_sqrt


def sym_fresh_size(expr: Any) -> Any:
    """The value of expr as a Python number (torch makes it a tensor and reads it back)."""
    return creation.tensor(expr).item()


def set_flush_denormal(mode: bool) -> bool:
    """Whether denormal flushing was switched: never here (NumPy offers no control of the FPU's FTZ/DAZ bits)."""
    if not isinstance(mode, builtins.bool):
        raise RuntimeError(f"flush_denormal expects a bool, but got {type(mode).__name__}")
    return False


def compiled_with_cxx11_abi() -> bool:
    """True, as for every torch 2.x build (ember has no C++ part of its own)."""
    return True


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Tensor | Sequence[int],
             target_lengths: Tensor | Sequence[int], blank: int = 0, reduction: int = 1,
             zero_infinity: bool = False) -> Tensor:
    """``torch.ctc_loss``: ``nn.functional.ctc_loss`` with ATen's integer reduction (0 none, 1 mean, 2 sum)."""
    from .nn.functional import ctc_loss as _ctc

    if isinstance(reduction, str) or not isinstance(reduction, builtins.int):
        raise TypeError("ctc_loss() received an invalid combination of arguments - got reduction="
                        f"{type(reduction).__name__}, but expected int reduction = at::Reduction::Mean")
    mode = {1: "mean", 2: "sum"}.get(reduction, "none")
    return _ctc(log_probs, targets, input_lengths, target_lengths, blank, mode, zero_infinity)


class Stream:
    """``torch.Stream`` for the CPU (work runs in order on the host, so a stream is always complete);
    ``ember.cuda.Stream`` is the CUDA one."""

    def __init__(self, device: Any = None, *, priority: int = 0) -> None:
        dev = canonical(device if device is not None else "cpu")
        if dev.type != "cpu":
            raise RuntimeError(f"ember.Stream supports the cpu only; use ember.cuda.Stream for {dev.type}")
        self.device = dev
        self.device_type = dev.type
        self.device_index = -1
        self.stream_id = 0

    def query(self) -> bool:
        return True

    def synchronize(self) -> None:
        return None

    def wait_stream(self, stream: Stream) -> None:
        Event._unsupported()   # torch records an event on stream to wait on

    def wait_event(self, event: Event) -> None:
        return None

    def record_event(self, event: Event | None = None) -> Event:
        (event or Event()).record(self)
        return event  # type: ignore[return-value]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stream) and (self.device_type, self.stream_id) == (other.device_type,
                                                                                   other.stream_id)

    def __hash__(self) -> int:
        return hash((self.device_type, self.device_index, self.stream_id))

    def __repr__(self) -> str:
        return (f"torch.Stream device_type={self.device_type}, device_index={self.device_index}, "
                f"stream_id={self.stream_id}")


class Event:
    """``torch.Event`` for the CPU: constructible, but, as in torch, the CPU backend records no events."""

    def __init__(self, device: Any = None, *, enable_timing: bool = False, blocking: bool = False,
                 interprocess: bool = False) -> None:
        dev = canonical(device if device is not None else "cpu")
        if dev.type != "cpu":
            raise RuntimeError(f"ember.Event supports the cpu only; use ember.cuda.Event for {dev.type}")
        self.device = dev
        self.event_id = 0
        self._timing = enable_timing

    @staticmethod
    def _unsupported() -> None:
        raise RuntimeError("cpu backend doesn't support events.")

    def record(self, stream: Stream | None = None) -> None:
        self._unsupported()

    def wait(self, stream: Stream | None = None) -> None:
        return None

    def query(self) -> bool:
        return True

    def synchronize(self) -> None:
        return None

    def elapsed_time(self, end_event: Event) -> float:
        if not (self._timing and end_event._timing):
            raise ValueError("Both events must be created with argument 'enable_timing=True'.")
        raise ValueError("Both events must be recorded before calculating elapsed time.")

    def __repr__(self) -> str:
        return (f"torch.Event device_type=cpu, device_index=-1, event_flag={int(self._timing)}, "
                f"event_id={self.event_id}")
