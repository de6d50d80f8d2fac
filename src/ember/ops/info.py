"""Small torch-namespace utilities: type predicates, thread settings, determinism flags, ``compile``."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ._dispatch import Tensor, bind

__all__ = ["is_tensor", "is_storage", "numel", "is_floating_point", "is_complex", "is_nonzero", "typename",
           "set_num_threads", "get_num_threads", "set_num_interop_threads", "get_num_interop_threads",
           "use_deterministic_algorithms", "are_deterministic_algorithms_enabled", "compile",
           "is_deterministic_algorithms_warn_only_enabled", "set_deterministic_debug_mode",
           "get_deterministic_debug_mode",
           "set_default_tensor_type", "is_same_size"]


def is_tensor(obj: Any, /) -> bool:
    return isinstance(obj, Tensor)


def is_storage(obj: Any, /) -> bool:
    """Whether ``obj`` is a storage: untyped, typed, or a legacy ``FloatStorage``-style one."""
    from .storage import UntypedStorage
    from .tensor_storage import TypedStorage
    return isinstance(obj, (UntypedStorage, TypedStorage))


def numel(input: Tensor) -> int:
    return input.numel()


def is_floating_point(input: Tensor) -> bool:
    return input._dtype.is_floating_point


def is_complex(input: Tensor) -> bool:
    return input._dtype.is_complex


def is_nonzero(input: Tensor) -> bool:
    """The truth of a one-element tensor (torch's errors for other sizes)."""
    n = input.numel()
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item())


def is_same_size(input: Tensor, other: Tensor) -> bool:
    return input.shape == other.shape


def typename(obj: Any, /) -> str:
    """torch.typename: the legacy type string of a tensor, else the object's qualified class name."""
    if isinstance(obj, Tensor):
        return obj.type()
    cls = type(obj)
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", None) else f"{module}.{cls.__qualname__}"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not Linux
        return os.cpu_count() or 1


def _default_intra_threads() -> int:
    """torch's default intra-op thread count: ``MKL_NUM_THREADS``, else ``OMP_NUM_THREADS`` (positive integers;
    others are ignored), at most the usable cores; the usable cores when neither is set."""
    cores = usable_cores()
    wanted = 0
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):   # (the later one wins when both are set)
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            wanted = int(value)
    return min(wanted, cores) if wanted else cores


_threads = {"intra": _default_intra_threads(), "inter": usable_cores()}


def set_num_threads(n: int) -> None:
    """Record the intra-op thread count (BLAS threads follow its own settings, e.g. OMP_NUM_THREADS)."""
    if n <= 0:
        raise RuntimeError("Number of threads must be positive")
    _threads["intra"] = int(n)
    try:   # threadpoolctl is optional: when present, apply the limit to NumPy's BLAS
        from threadpoolctl import threadpool_limits
        threadpool_limits(int(n))
    except ImportError:
        pass


def get_num_threads() -> int:
    return _threads["intra"]


def set_num_interop_threads(n: int) -> None:
    if n <= 0:
        raise RuntimeError("Number of threads must be positive")
    _threads["inter"] = int(n)


def get_num_interop_threads() -> int:
    return _threads["inter"]


_deterministic = {"on": False, "warn_only": False}
_DEBUG_MODES = ("default", "warn", "error")


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record torch's determinism flags (read back by ``are_deterministic_algorithms_enabled`` and
    ``get_deterministic_debug_mode``). ember's CPU operators are deterministic already; on a GPU its
    scatter-style accumulations use atomic adds and are not checked against the flag yet."""
    _deterministic["on"] = bool(mode)
    _deterministic["warn_only"] = bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic["on"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _deterministic["warn_only"]


def set_deterministic_debug_mode(debug_mode: str | int) -> None:
    """0/'default': off; 1/'warn': deterministic algorithms, warn only; 2/'error': deterministic."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                               f"{debug_mode}")
        debug_mode = _DEBUG_MODES.index(debug_mode)
    elif not isinstance(debug_mode, int) or isinstance(debug_mode, bool):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    if not _deterministic["on"]:
        return 0
    return 1 if _deterministic["warn_only"] else 2


_COMPILE_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")


def compile(model: Callable | None = None, *, fullgraph: bool = False, dynamic: bool | None = None,
            backend: str | Callable | None = None, mode: str | None = None, options: dict | None = None,
            name: str | None = None, disable: bool = False, **kwargs: Any) -> Any:
    """``torch.compile`` without a graph compiler: the arguments are checked as torch checks them (when the
    model comes, also with the decorator form), then a module comes back wrapped in ``OptimizedModule`` (torch's
    printout and ``_orig_mod.`` state-dict keys; calls run eagerly) and a function as it is; ``disable``: the
    model itself."""
    from .._dynamo import OptimizedModule, list_backends
    from .._dynamo.exc import InvalidBackend
    from ..nn.modules.module import Module

    def wrap(fn: Any) -> Any:
        if mode is not None and options is not None:
            raise RuntimeError("Either mode or options can be specified, but both can't be specified at the same "
                               "time.")
        if mode is not None and mode not in _COMPILE_MODES:
            raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_COMPILE_MODES)}")
        if isinstance(backend, str) and backend not in list_backends(exclude_tags=()):
            raise InvalidBackend(backend)
        if not callable(fn):
            raise AssertionError(f"A callable function is expected, but {type(fn)} is provided.")
        if disable:
            return fn
        return OptimizedModule(fn) if isinstance(fn, Module) else fn

    return wrap if model is None else wrap(model)


def set_default_tensor_type(t: Any, /) -> None:
    """Deprecated torch API: sets the default floating dtype, and the default device (cpu or cuda), from a
    legacy type or its dotted name ('torch.cuda.FloatTensor')."""
    import importlib

    from .._core.device import set_default_device
    from .._core.dtype import set_default_dtype
    from ..cuda import is_available
    from .views import warn_once
    if isinstance(t, str):
        first, *rest = t.split(".")
        obj: Any = importlib.import_module("ember" if first in ("torch", "ember") else first)
        for i, part in enumerate(rest):
            if not hasattr(obj, part):
                raise AttributeError(f"module '{'.'.join([first, *rest[:i]])}' has no attribute '{part}'")
            obj = getattr(obj, part)
        t = obj
    warn_once("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
              "torch.set_default_dtype() and torch.set_default_device() as alternatives. (Triggered internally at "
              "/__w/pytorch/pytorch/torch/csrc/tensor/python_tensor.cpp:434.)")
    dt, dev = getattr(t, "_legacy_dtype", None), getattr(t, "_legacy_device", None)
    if dt is None:
        raise TypeError("invalid type object: only floating-point types are supported as the default type")
    if not dt.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    if dev == "cuda" and not is_available():
        raise TypeError(f"type torch.cuda.{dt._legacy} not available. Torch not compiled with CUDA enabled.")
    set_default_dtype(dt)
    set_default_device(dev)


def type_as(self: Tensor, other: Tensor) -> Tensor:
    """``self`` converted to ``other``'s type (dtype and device), as ``self.type(other.type())``."""
    return self.to(device=other.device, dtype=other.dtype)


def is_pinned(self: Tensor, device: Any = None) -> bool:
    """Whether the tensor lives in page-locked host memory (ember never pins: always False)."""
    return False


def pin_memory(self: Tensor, device: Any = None) -> Tensor:
    """A copy in memory the GPU can read directly; as torch, an error when there is no accelerator."""
    from .._core.device import cuda_available
    if not cuda_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    return self.clone()


def record_stream(self: Tensor, stream: Any) -> None:
    """Keep a cuda tensor's memory from reuse until the work queued on ``stream`` so far is done."""
    from ..cuda.streams import record_stream as record
    record(self, stream)


bind({"is_nonzero": is_nonzero, "is_same_size": is_same_size, "type_as": type_as, "is_pinned": is_pinned,
      "pin_memory": pin_memory, "record_stream": record_stream})
