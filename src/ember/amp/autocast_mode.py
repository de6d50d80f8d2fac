"""Automatic mixed precision: ``ember.autocast`` and the op wrappers that apply ``_policy.POLICY``.

State is thread-local as in torch. Every wrapped entry point first reads one module global (``_ACTIVE``, the
number of enabled (thread, device) flags), so with autocast off the only cost is that check.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from .._core import dtype as D
from .._core.device import DEVICE_TYPES as _DEVICE_TYPES
from .._core.warn import transparent, warn
from .._tensor import Tensor
from ..autograd.grad_mode import STATE as _GRAD_STATE
from ._policy import ALIASES, BANNED_MESSAGE, POLICY

__all__ = ["autocast", "is_autocast_available", "custom_fwd", "custom_bwd"]

_AUTOCAST_DEVICES = ("cpu", "cuda")
_ACTIVE = 0
_TOP_LEVEL = ("autocast", "is_autocast_enabled", "set_autocast_enabled", "get_autocast_dtype", "set_autocast_dtype",
              "is_autocast_cpu_enabled", "set_autocast_cpu_enabled", "get_autocast_cpu_dtype",
              "set_autocast_cpu_dtype", "get_autocast_gpu_dtype", "set_autocast_gpu_dtype",
              "is_autocast_cache_enabled", "set_autocast_cache_enabled", "clear_autocast_cache",
              "autocast_increment_nesting", "autocast_decrement_nesting")


class _State(threading.local):
    def __init__(self) -> None:
        self.enabled = dict.fromkeys(_AUTOCAST_DEVICES, False)
        self.dtype = {"cpu": D.bfloat16, "cuda": D.float16}
        self.nesting = 0
        self.cache_enabled = True
        self.cache: dict[int, tuple[Tensor, Tensor]] = {}
        self.busy = False   # inside a wrapped op: its inner calls are not autocast again (torch's key exclusion)


_STATE = _State()


def _device_type(device_type: Any) -> str:
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    base = device_type.split(":")[0]
    if base not in _DEVICE_TYPES:
        raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of device string: "
                           f"{device_type}")
    return base


def is_autocast_available(device_type: str) -> bool:
    """Whether ember implements autocast for ``device_type`` (cpu and cuda)."""
    return _device_type(device_type) in _AUTOCAST_DEVICES


def _checked(device_type: str) -> str:
    base = _device_type(device_type)
    if base not in _AUTOCAST_DEVICES:
        raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
    return base


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    return _STATE.enabled[_checked(device_type)]


def set_autocast_enabled(device_type: str | bool, enabled: bool | None = None) -> None:
    """``set_autocast_enabled(device_type, enabled)``; the one-argument form sets cuda, as torch's."""
    global _ACTIVE
    if enabled is None:
        device_type, enabled = "cuda", bool(device_type)
    dev = _checked(device_type)   # type: ignore[arg-type]
    old, _STATE.enabled[dev] = _STATE.enabled[dev], bool(enabled)
    _ACTIVE += bool(enabled) - old


def get_autocast_dtype(device_type: str) -> D.dtype:
    return _STATE.dtype[_checked(device_type)]


def set_autocast_dtype(device_type: str, dtype: D.dtype) -> None:
    _STATE.dtype[_checked(device_type)] = dtype


def _deprecated(old: str, new: str) -> None:
    warn(f"torch.{old}() is deprecated. Please use torch.{new} instead.", DeprecationWarning, stacklevel=3)


def is_autocast_cpu_enabled() -> bool:
    _deprecated("is_autocast_cpu_enabled", "is_autocast_enabled('cpu')")
    return is_autocast_enabled("cpu")


def set_autocast_cpu_enabled(enabled: bool) -> None:
    _deprecated("set_autocast_cpu_enabled", "set_autocast_enabled('cpu', enabled)")
    set_autocast_enabled("cpu", enabled)


def get_autocast_cpu_dtype() -> D.dtype:
    _deprecated("get_autocast_cpu_dtype", "get_autocast_dtype('cpu')")
    return get_autocast_dtype("cpu")


def set_autocast_cpu_dtype(dtype: D.dtype) -> None:
    _deprecated("set_autocast_cpu_dtype", "set_autocast_dtype('cpu', dtype)")
    set_autocast_dtype("cpu", dtype)


def get_autocast_gpu_dtype() -> D.dtype:
    _deprecated("get_autocast_gpu_dtype", "get_autocast_dtype('cuda')")
    return get_autocast_dtype("cuda")


def set_autocast_gpu_dtype(dtype: D.dtype) -> None:
    _deprecated("set_autocast_gpu_dtype", "set_autocast_dtype('cuda', dtype)")
    set_autocast_dtype("cuda", dtype)


def is_autocast_cache_enabled() -> bool:
    return _STATE.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    _STATE.cache_enabled = bool(enabled)


def clear_autocast_cache() -> None:
    _STATE.cache.clear()


def autocast_increment_nesting() -> int:
    _STATE.nesting += 1
    return _STATE.nesting


def autocast_decrement_nesting() -> int:
    _STATE.nesting -= 1
    return _STATE.nesting


class autocast:
    """Context manager / decorator running the ops of its region in mixed precision on ``device_type``."""

    def __init__(self, device_type: str, dtype: D.dtype | None = None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        self.device = _checked(device_type)
        self.fast_dtype = get_autocast_dtype(self.device) if dtype is None else dtype
        self._cache_enabled = is_autocast_cache_enabled() if cache_enabled is None else cache_enabled
        if enabled:
            if self.device == "cuda":
                from .. import cuda
                if not cuda.is_available():
                    warn("CUDA is not available or torch_xla is imported. Disabling autocast.",
                         stacklevel=2)
                    enabled = False
                elif self.fast_dtype == D.bfloat16 and not cuda.is_bf16_supported():
                    raise RuntimeError("Current CUDA Device does not support bfloat16. Please switch dtype to "
                                       "float16.")
            if enabled and self.fast_dtype not in (D.bfloat16, D.float16):
                name = self.device.upper()
                warn(f"In {name} autocast, but the target dtype is not supported. Disabling autocast.\n"
                     f"{name} Autocast only supports dtypes of torch.bfloat16, torch.float16 currently.",
                     stacklevel=2)
                enabled = False
        self._enabled = bool(enabled)

    def __enter__(self) -> autocast:
        self.prev_cache_enabled = is_autocast_cache_enabled()
        self.prev = is_autocast_enabled(self.device)
        self.prev_fastdtype = get_autocast_dtype(self.device)
        set_autocast_enabled(self.device, self._enabled)
        set_autocast_dtype(self.device, self.fast_dtype)
        autocast_increment_nesting()
        set_autocast_cache_enabled(self._cache_enabled)
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        if autocast_decrement_nesting() == 0:
            clear_autocast_cache()
        set_autocast_enabled(self.device, self.prev)
        set_autocast_dtype(self.device, self.prev_fastdtype)
        set_autocast_cache_enabled(self.prev_cache_enabled)
        return False

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def decorate_autocast(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)
        return decorate_autocast


# ---------------------------------------------------------------------------------------------- the wrappers

def _first_device(args: Any) -> str | None:
    for a in args:
        if isinstance(a, Tensor):
            return a.device.type
        if isinstance(a, (list, tuple)):
            dev = _first_device(a)
            if dev is not None:
                return dev
    return None


def _eligible(t: Tensor, device_type: str) -> bool:
    return t.is_floating_point() and t.dtype != D.float64 and t.device.type == device_type


def _cast(obj: Any, device_type: str, dtype: D.dtype) -> Any:
    if isinstance(obj, Tensor):
        if obj.dtype == dtype or not _eligible(obj, device_type):
            return obj
        st = _STATE
        if (st.cache_enabled and dtype == st.dtype[device_type] and obj.dtype == D.float32 and obj.requires_grad
                and obj.is_leaf and obj._base is None and _GRAD_STATE.grad):
            hit = st.cache.get(id(obj))
            if hit is not None and hit[0] is obj:
                return hit[1]
            out = obj.to(dtype)
            st.cache[id(obj)] = (obj, out)
            return out
        return obj.to(dtype)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cast(a, device_type, dtype) for a in obj)
    return obj


def _widest(obj: Any, device_type: str, dtype: D.dtype) -> D.dtype:
    if isinstance(obj, Tensor):
        return D.promote_types(dtype, obj.dtype) if _eligible(obj, device_type) else dtype
    if isinstance(obj, (list, tuple, dict)):
        for a in obj.values() if isinstance(obj, dict) else obj:
            dtype = _widest(a, device_type, dtype)
    return dtype


@transparent
def _run(fn: Callable, policies: dict[str, str], args: tuple, kwargs: dict) -> Any:
    st = _STATE
    if st.busy:
        return fn(*args, **kwargs)
    dev = _first_device(args) or _first_device(tuple(kwargs.values()))
    policy = policies.get(dev) if dev is not None and st.enabled.get(dev) else None   # type: ignore[arg-type]
    if policy is None:
        return fn(*args, **kwargs)
    if policy == "banned":
        raise RuntimeError(BANNED_MESSAGE)
    if policy == "fp32_opt_dtype":
        first = args[0] if args else kwargs.get("input")
        if kwargs.get("dtype") is None and isinstance(first, Tensor) and _eligible(first, dev):
            kwargs["dtype"] = D.float32
    else:
        target = {"lower": st.dtype[dev], "fp32": D.float32}.get(policy) or _widest((args, kwargs), dev,
                                                                                    st.dtype[dev])
        args = _cast(args, dev, target)
        kwargs = {k: _cast(v, dev, target) for k, v in kwargs.items()}
    st.busy = True
    try:
        return fn(*args, **kwargs)
    finally:
        st.busy = False


def _autocast_wrap(fn: Callable, policies: dict[str, str]) -> Callable:
    """``fn`` behind one flag check, applying ``policies`` ({device_type: policy}) while autocast is on (a frame
    that warnings issued inside ``fn`` do not count)."""
    @transparent
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _ACTIVE:
            return fn(*args, **kwargs)
        return _run(fn, policies, args, kwargs)
    functools.update_wrapper(wrapper, fn)
    wrapper._autocast_policies = policies   # type: ignore[attr-defined]
    return wrapper


def install() -> None:
    """Rebind every public entry point named in ``POLICY`` (ember.*, Tensor methods and operators,
    ember.nn.functional, linalg, special, fft) and module classes holding one as a staticmethod; binds
    ember.cpu.amp / ember.cuda.amp and torch's top-level autocast names on ember. Idempotent."""
    import ember

    from .. import fft, linalg, nn, special
    from ..cpu import amp as _cpu_amp  # noqa: F401  (binds ember.cpu.amp)
    from ..cuda import amp as _cuda_amp  # noqa: F401  (binds ember.cuda.amp)
    from ..nn import functional as F
    from ..nn import modules

    for name in _TOP_LEVEL:
        setattr(ember, name, globals()[name])
    names: dict[str, dict[str, str]] = {}
    for dev, table in POLICY.items():
        for name, policy in table.items():
            names.setdefault(name, {})[dev] = policy
    wrapped: dict[int, Callable] = {}
    for ns in (ember, Tensor, F, linalg, special, fft):
        for name, policies in names.items():
            for attr in (name, *ALIASES.get(name, ())):
                fn = ns.__dict__.get(attr)
                if not callable(fn) or isinstance(fn, type) or hasattr(fn, "_autocast_policies"):
                    continue
                if id(fn) not in wrapped:
                    wrapped[id(fn)] = _autocast_wrap(fn, policies)
                setattr(ns, attr, wrapped[id(fn)])
    for cls in vars(modules).values():
        if isinstance(cls, type) and issubclass(cls, nn.Module):
            for attr, value in list(vars(cls).items()):
                if isinstance(value, staticmethod) and id(value.__func__) in wrapped:
                    setattr(cls, attr, staticmethod(wrapped[id(value.__func__)]))


def _cast_inputs(value: Any, device_type: str, dtype: D.dtype) -> Any:
    if isinstance(value, Tensor):
        return value.to(dtype) if _eligible(value, device_type) else value
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, dict):
        return {_cast_inputs(k, device_type, dtype): _cast_inputs(v, device_type, dtype) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_inputs(v, device_type, dtype) for v in value)
    return value


def custom_fwd(fwd: Callable | None = None, *, device_type: str, cast_inputs: D.dtype | None = None) -> Callable:
    """Decorator for a custom ``autograd.Function.forward``: records the autocast state for ``custom_bwd`` and,
    with ``cast_inputs``, runs forward with autocast off on inputs cast to that dtype."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args: Any, **kwargs: Any) -> Any:
        args[0]._dtype = get_autocast_dtype(device_type)
        if cast_inputs is None:
            args[0]._fwd_used_autocast = is_autocast_enabled(device_type)
            return fwd(*args, **kwargs)
        was_on = is_autocast_enabled(device_type)
        args[0]._fwd_used_autocast = False
        if not was_on:
            return fwd(*args, **kwargs)
        with autocast(device_type=device_type, enabled=False):
            return fwd(*_cast_inputs(args, device_type, cast_inputs), **_cast_inputs(kwargs, device_type,
                                                                                    cast_inputs))
    return decorate_fwd


def custom_bwd(bwd: Callable | None = None, *, device_type: str) -> Callable:
    """Decorator for a custom ``autograd.Function.backward``: runs it under the autocast state of its forward."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args: Any, **kwargs: Any) -> Any:
        with autocast(device_type=device_type, enabled=args[0]._fwd_used_autocast, dtype=args[0]._dtype):
            return bwd(*args, **kwargs)
    return decorate_bwd
