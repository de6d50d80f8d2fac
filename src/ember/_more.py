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

from ._core import dtype as D
from ._core.device import AcceleratorError, canonical
from ._core.memory_format import contiguous_format
from ._lobpcg import lobpcg
from ._tensor import Tensor
from .amp import GradScaler
from .futures import Future
from .ops import creation
from .ops.tensor_storage import STORAGE_CLASSES
from .random import thread_safe_generator

__all__ = ["sym_int", "sym_float", "sym_max", "sym_min", "sym_not", "sym_ite", "sym_sum", "sym_sqrt",
           "sym_fresh_size", "has_lapack", "has_mkl", "has_openmp", "has_spectral", "set_flush_denormal",
           "compiled_with_cxx11_abi", "GradScaler", "ctc_loss", "lobpcg", "Stream", "Event", "SymInt", "SymFloat",
           "SymBool", "sym_constrain_range", "sym_constrain_range_for_size", "legacy_contiguous_format", "bit",
           "Storage", "AcceleratorError", "FatalError", "classproperty", "thread_safe_generator", "Future", "fork",
           "wait", "resize_as_sparse_"]

bit = D.uint1   # torch's older name of the 1-bit dtype
legacy_contiguous_format = contiguous_format   # the memory format legacy (TH-era) kernels asked for: the same
Storage = STORAGE_CLASSES["FloatStorage"]   # torch's deprecated default storage class: legacy float32 storage

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


class _SymNumber:
    """A number whose value a symbolic-shape trace records (its operations go to ``node``). ember's shapes and
    sizes are always concrete, so ember itself makes none: these classes exist for ``isinstance`` checks."""

    def __init__(self, node: Any) -> None:
        self.node = node

    def __repr__(self) -> str:
        return repr(self.node)


class SymInt(_SymNumber):
    """An int recorded by a symbolic-shape trace (``isinstance(n, torch.SymInt)`` is False for plain ints)."""


class SymFloat(_SymNumber):
    """A float recorded by a symbolic-shape trace."""


class SymBool(_SymNumber):
    """A bool recorded by a symbolic-shape trace."""


for _cls in (SymInt, SymFloat, SymBool):
    _cls.__module__ = "torch"

_INT64 = (-(2 ** 63), 2 ** 63 - 1)


def _range_value(size: Any) -> builtins.int:
    """``size`` as torch's int64 (a float truncated; a 0-d tensor read)."""
    if isinstance(size, Tensor):
        size = size.item()
    if isinstance(size, complex):
        raise RuntimeError("value cannot be converted to type int64_t without overflow")
    return builtins.int(size)


def _check_in_range(v: builtins.int, lo: builtins.int, hi: builtins.int) -> None:
    if not lo <= v <= hi:
        raise RuntimeError(f"Invalid value range for {v} between [{lo}, {hi}].")


def sym_constrain_range(size: Any, *, min: builtins.int | None = None, max: builtins.int | None = None) -> None:
    """Assert ``min <= size <= max`` (torch records this on a symbolic size; on a number it is only checked)."""
    v = _range_value(size)
    lo = _INT64[0] if min is None else min
    hi = _INT64[1] if max is None else max
    if hi < lo:
        raise RuntimeError(f"Max must be greater than or equal to min. Got min={lo} max={hi}")
    _check_in_range(v, lo, hi)


def sym_constrain_range_for_size(size: Any, *, min: builtins.int | None = None, max: builtins.int | None = None
                                 ) -> None:
    """:func:`sym_constrain_range` for a size: ``min`` defaults to 0 and ``max``, when given, must exceed 2."""
    v = _range_value(size)
    if max is not None and max <= 2:
        raise RuntimeError(f"Max value to constrain_range_for_size must be greater than 2. got: {max}")
    _check_in_range(v, 0 if min is None else min, _INT64[1] if max is None else max)


class FatalError(Exception):
    """``torch.FatalError``: an unrecoverable error of the runtime."""


FatalError.__module__ = AcceleratorError.__module__ = "torch"


class _ClassProperty:
    """A read-only property of a class (read on the class or its instances)."""

    def __init__(self, fget: Any) -> None:
        self.fget = fget

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        return self.fget.__get__(instance, owner if owner is not None else type(instance))()


def classproperty(func: Any) -> _ClassProperty:
    """Decorator (torch._utils'): ``func(cls)`` as a property of the class; ``func`` may already be a
    classmethod or staticmethod."""
    return _ClassProperty(func if isinstance(func, (classmethod, staticmethod)) else classmethod(func))


def fork(*args: Any, **kwargs: Any) -> Future:
    """``torch.fork(func, *args, **kwargs)``: call ``func`` now and return a completed :class:`Future` with its
    result (eager torch runs the call at once; its errors propagate)."""
    if not args:
        raise RuntimeError('!args.empty() INTERNAL ASSERT FAILED at "/__w/pytorch/pytorch/torch/csrc/jit/python/'
                           'init.cpp":2267, please report a bug to PyTorch. ')
    func, *rest = args
    if not callable(func):
        raise TypeError(f"Object of type '{type(func).__name__}' is not an instance of 'function'")
    fut: Future = Future()
    fut.set_result(func(*rest, **kwargs))
    return fut


def wait(*args: Any) -> Any:
    """``torch.wait(future)``: the future's value, blocking until it is complete."""
    if len(args) != 1 or not isinstance(args[0], Future):
        raise TypeError("wait(): incompatible function arguments. The following argument types are supported:\n"
                        "    1. (arg0: torch._C.Future) -> object\n\nInvoked with: "
                        + ", ".join(repr(a) for a in args))
    return args[0].wait()


def resize_as_sparse_(input: Tensor, the_template: Tensor) -> Tensor:
    """``torch.resize_as_sparse_``: ``input.resize_as_sparse_(the_template)`` (sparse ``input`` resized in place)."""
    return input.resize_as_sparse_(the_template)
