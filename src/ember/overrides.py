"""``ember.overrides``: torch's ``__torch_function__`` protocol (Tensor subclasses, duck types, modes).

Pay-as-you-go: until the protocol is first needed, ember's public entry points are the plain functions and
ordinary code pays nothing. The protocol switches on for the rest of the process when

- a Tensor subclass is defined whose ``__torch_function__`` is not disabled (ember's own subclasses such as
  ``nn.Parameter`` and the sparse tensor are defined with it disabled, as torch's Parameter is),
- ``handle_torch_function`` dispatches (a duck type reached protocol-aware code), ``get_overridable_functions``
  is called, or ``activate()`` is called;

and only while held when a ``TorchFunctionMode`` is entered or fx/export trace a program: once the last mode
has exited and the last trace has ended, the plain entry points are back.

A non-Tensor duck type with ``__torch_function__`` is therefore honoured by ember's functions once the protocol
is active; a program that only passes duck types should call ``ember.overrides.activate()`` first (torch needs
no such call).

Activation rebinds the public entry points (ember.*, Tensor methods, operators and properties,
nn.functional, nn.init, linalg, special, fft) to wrappers around what is bound there (so the autocast
wrappers stay inside: torch runs ``__torch_function__`` before autocast). Cost once active, for calls on plain
tensors and numbers with no mode entered: one more Python frame and a type check per argument (lists, tuples
and unknown types take the full path through the thread-local state), about 1 µs per call on the 2-core
development machine (a 5 µs small elementwise op becomes ~6 µs; a small forward+backward ~+15%). A call
that dispatches to a subclass's default ``__torch_function__`` costs ~25 µs more (the handler, the
DisableTorchFunctionSubclass region and the alias view the result becomes; torch: ~21 µs there).
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
import types as _types
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ._core.warn import transparent, warn
from ._tensor import Tensor, _as_subclass, _new

__all__ = ["BaseTorchFunctionMode", "TorchFunctionMode", "activate", "enable_reentrant_dispatch",
           "get_default_nowrap_functions", "get_ignored_functions", "get_overridable_functions",
           "get_testing_overrides", "handle_torch_function", "has_torch_function", "has_torch_function_unary",
           "has_torch_function_variadic", "is_tensor_like", "is_tensor_method_or_property", "resolve_name",
           "wrap_torch_function", "DisableTorchFunction", "DisableTorchFunctionSubclass"]

_ENABLED, _SUBCLASSES_DISABLED, _ALL_DISABLED = 0, 1, 2


class _State(threading.local):
    def __init__(self) -> None:
        self.level = _ENABLED
        self.modes: list[TorchFunctionMode] = []


_STATE = _State()
_ACTIVE = False
_PINNED = False   # something outside any hold needs the protocol for the rest of the process
_HOLDS = 0   # tracing scopes and entered modes keeping the protocol on, all threads together
_MODE_DEPTH = 0   # modes entered, all threads together: zero lets the wrappers skip the thread-local state


def _disabled_torch_function_impl(func: Callable, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
    """The ``__torch_function__`` of classes that opt out (``nn.Parameter``): runs ``func`` with subclass
    dispatch off and returns its result unconverted."""
    with DisableTorchFunctionSubclass():
        return func(*args, **(kwargs or {}))


# ---------------------------------------------------------------------------------------------- state managers

class _Level:
    """Context manager setting the thread's torch-function level for its region (reentrant, nestable)."""

    _target = _ALL_DISABLED

    def __enter__(self) -> _Level:
        st = _STATE
        self._old = st.level
        st.level = max(st.level, self._target)
        return self

    def __exit__(self, *exc: Any) -> None:
        _STATE.level = self._old


class DisableTorchFunctionSubclass(_Level):
    """Within it, Tensor subclasses' and duck types' ``__torch_function__`` are skipped (modes still run)."""

    _target = _SUBCLASSES_DISABLED


class DisableTorchFunction(_Level):
    """Within it, neither ``__torch_function__`` overrides nor TorchFunctionModes are consulted."""

    _target = _ALL_DISABLED


def _is_torch_function_enabled() -> bool:
    return _STATE.level == _ENABLED


def _is_torch_function_all_disabled() -> bool:
    return _STATE.level == _ALL_DISABLED


def _is_torch_function_mode_enabled() -> bool:
    return _STATE.level != _ALL_DISABLED and bool(_STATE.modes)


# ---------------------------------------------------------------------------------------------- modes

class TorchFunctionMode:
    """Base class of modes: while one is entered, every overridable ember call goes to its
    ``__torch_function__(func, types, args, kwargs)`` first, with the mode itself popped (so calling ``func``
    inside reaches the next mode, then subclasses, then ember). Modes nest as a stack."""

    inner: TorchFunctionMode

    def __init__(self) -> None:
        pass

    def __torch_function__(self, func: Callable, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        raise NotImplementedError()

    def __enter__(self) -> TorchFunctionMode:
        _push_mode(self)
        return self

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        _pop_mode()

    @classmethod
    def push(cls, *args: Any, **kwargs: Any) -> TorchFunctionMode:
        warn("`Mode.push()` is no longer necessary and can be replaced with just `with Mode()`",
             stacklevel=2)
        return cls(*args, **kwargs)


class BaseTorchFunctionMode(TorchFunctionMode):
    """A mode that runs every call unchanged (a base for modes overriding only some functions)."""

    def __torch_function__(self, func: Callable, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        return func(*args, **(kwargs or {}))


def _push_mode(mode: TorchFunctionMode) -> None:
    global _MODE_DEPTH
    _hold()
    _STATE.modes.append(mode)
    _MODE_DEPTH += 1


def _pop_mode() -> TorchFunctionMode:
    global _MODE_DEPTH
    if not _STATE.modes:
        raise AssertionError("Trying to pop from an empty mode stack")
    _MODE_DEPTH -= 1
    mode = _STATE.modes.pop()
    _release()
    return mode


@contextlib.contextmanager
def _pop_mode_temporarily() -> Iterator[TorchFunctionMode]:
    if not _STATE.modes:
        raise AssertionError("Trying to pop from an empty mode stack")
    mode = _STATE.modes.pop()
    try:
        yield mode
    finally:
        _STATE.modes.append(mode)


def _get_current_function_mode() -> TorchFunctionMode | None:
    return _STATE.modes[-1] if _STATE.modes else None


def _get_current_function_mode_stack() -> list[TorchFunctionMode]:
    return list(_STATE.modes)


def _len_torch_function_stack() -> int:
    return len(_STATE.modes)


@contextlib.contextmanager
def enable_reentrant_dispatch() -> Iterator[None]:
    """torch re-enables its Python dispatcher inside; ember has no dispatcher below ``__torch_function__``, so
    this is a plain context for code written against torch."""
    yield


# ---------------------------------------------------------------------------------------------- dispatch

_PLAIN, _OVERLOADED, _SEQUENCE = 0, 1, 2
_KIND: dict[type, int] = {Tensor: _PLAIN, list: _SEQUENCE, tuple: _SEQUENCE, int: _PLAIN, float: _PLAIN,
                          bool: _PLAIN, type(None): _PLAIN, str: _PLAIN}


_PLAIN_TYPES = {t for t, k in _KIND.items() if k == _PLAIN}   # the wrappers' fast path: nothing to dispatch on


def _takes_part(t: type) -> bool:
    """Whether arguments of type ``t`` are dispatched to: a ``__torch_function__`` not disabled, and not real
    torch's tensors (whose handler would run ember's function on them again, forever)."""
    f = getattr(t, "__torch_function__", None)
    return f is not None and getattr(f, "__func__", f) is not _disabled_torch_function_impl and \
        (getattr(t, "__module__", None) or "").split(".")[0] != "torch"


def _kind(t: type) -> int:
    k = _KIND.get(t)
    if k is None:
        k = _KIND[t] = _OVERLOADED if _takes_part(t) else _PLAIN
        if k == _PLAIN:
            _PLAIN_TYPES.add(t)
    return k


def _add(found: list, a: Any) -> None:
    """Add ``a`` unless its type is already there; a subclass goes before its first superclass (torch's order)."""
    t = type(a)
    for i, b in enumerate(found):
        if type(b) is t:
            return
        if issubclass(t, type(b)):
            found.insert(i, a)
            return
    found.append(a)


def _collect(args: Iterable, kwargs: dict | None) -> list:
    found: list = []
    for a in (*args, *kwargs.values()) if kwargs else args:
        k = _KIND.get(type(a))
        if k is None:
            k = _kind(type(a))
        if k == _OVERLOADED:
            _add(found, a)
        elif k == _SEQUENCE:
            for b in a:
                if _kind(type(b)) == _OVERLOADED:
                    _add(found, b)
    return found


def _qualname(func: Any) -> str:
    name = getattr(func, "__name__", repr(func))
    mod = getattr(func, "__module__", None) or ""
    if mod == "ember" or mod.startswith("ember.ops"):
        return f"torch.{name}"
    return f"{mod.replace('ember', 'torch', 1)}.{name}" if mod.startswith("ember") else name


def _dispatch(public: Callable, overloaded: list, args: tuple, kwargs: dict, binop: bool = False) -> Any:
    """Offer the call to the innermost mode (popped while it runs), then to each overloaded argument's type."""
    st = _STATE
    types = tuple(type(a) for a in overloaded)
    tried = []
    if st.modes and st.level != _ALL_DISABLED:
        mode = st.modes.pop()
        try:
            result = mode.__torch_function__(public, types, args, kwargs)
        finally:
            st.modes.append(mode)
        if result is not NotImplemented:
            return result
        tried.append(f"  - mode object {mode!r}")
    if st.level == _ENABLED:
        for a in overloaded:
            result = a.__torch_function__(public, types, args, kwargs)
            if result is not NotImplemented:
                return result
            tried.append(f"  - tensor subclass {type(a)}")
    if binop:
        return NotImplemented
    raise TypeError(f"Multiple dispatch failed for '{_qualname(public)}'; all __torch_function__ handlers returned "
                    "NotImplemented:\n\n" + "\n".join(tried) +
                    "\n\nFor more information, try re-running with TORCH_LOGS=not_implemented")


def _alias_as(t: Tensor, cls: type) -> Tensor:
    """``t`` as ``cls``, torch's way: an alias view of ``t`` (``AliasBackward0`` when it requires grad)."""
    from .ops.extra import _alias
    view = _alias(t)
    try:
        view.__class__ = cls
    except TypeError:   # a subclass with its own __slots__ lays out differently: copy the fields over
        view = _as_subclass(view, cls)
    return view


def _convert(ret: Any, cls: type) -> Any:
    if cls is Tensor:
        return ret
    if isinstance(ret, Tensor) and not isinstance(ret, cls):
        return _alias_as(ret, cls)
    if isinstance(ret, (tuple, list)) and any(isinstance(r, (Tensor, tuple, list)) for r in ret):
        return type(ret)([_convert(r, cls) for r in ret])
    return ret


def _default_torch_function(cls: type, func: Callable, types: Any, args: tuple = (),
                            kwargs: dict | None = None) -> Any:
    """``Tensor.__torch_function__``: when ``cls`` is a subclass of every type involved, run ``func`` with
    subclass dispatch off and return its Tensor results (also inside lists/tuples) as ``cls``."""
    if not all(issubclass(cls, t) for t in types) or _from_torch(args, kwargs):
        return NotImplemented
    with DisableTorchFunctionSubclass():
        ret = func(*args, **(kwargs or {}))
    if func in _NOWRAP:
        return ret
    return _convert(ret, cls)


def _from_torch(args: tuple, kwargs: dict | None) -> bool:
    """Whether real torch called (torch sees ember tensors as overloaded arguments when both are mixed in one of
    its calls): ember must decline, or torch and ember would hand the call to each other forever."""
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    tensor = torch.Tensor
    return any(isinstance(a, tensor) or (isinstance(a, (tuple, list)) and any(isinstance(b, tensor) for b in a))
               for a in (*args, *(kwargs or {}).values()))


def _subclass_created(cls: type) -> None:
    """``Tensor.__init_subclass__``: ember's own subclasses opt out (torch's Parameter does); a user subclass
    that keeps ``__torch_function__`` turns the protocol on."""
    if cls.__module__.startswith("ember.") and "__torch_function__" not in cls.__dict__:
        cls.__torch_function__ = staticmethod(_disabled_torch_function_impl)
    if _kind(cls) == _OVERLOADED:
        activate()


def _make_subclass(cls: type, data: Tensor, require_grad: bool = False) -> Tensor:
    """``Tensor._make_subclass``: a new leaf of class ``cls`` sharing ``data``'s memory (history dropped)."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError("Creating a Tensor subclass from a class that does not inherit from Tensor is not possible. "
                        "Make sure your class inherits from Tensor.")
    t = _new(cls)
    for slot in ("_data", "_dtype", "_device", "_vc"):
        setattr(t, slot, getattr(data, slot))
    t._base, t._grad_fn, t._output_nr, t._rg = None, None, 0, False
    if require_grad:
        t.requires_grad_(True)
    return t


# ---------------------------------------------------------------------------------------------- wrappers

@transparent
def _slow(public: Callable, fn: Callable, args: tuple, kwargs: dict, binop: bool = False) -> Any:
    """A wrapper's full path: read the thread's state, dispatch if a mode or an overloaded argument says so."""
    st = _STATE
    if st.level != _ALL_DISABLED:
        over = _collect(args, kwargs) if st.level == _ENABLED else []
        if over or st.modes:
            return _dispatch(public, over, args, kwargs, binop)
    return fn(*args, **kwargs)


def _all_plain(args: tuple, kwargs: dict, plain: set) -> bool:
    """Whether every argument is of a type known to have nothing to dispatch on (the wrappers' fast path)."""
    for a in args:
        if type(a) not in plain:
            return False
    for a in kwargs.values():
        if type(a) not in plain:
            return False
    return True


def _function_wrapper(fn: Callable) -> Callable:
    """``fn`` behind the protocol; the wrapper itself is the ``func`` handlers see. Fast path: no mode entered
    anywhere and every argument of a type known to have nothing to dispatch on (plain Tensor, numbers, ...). Its
    frames, as ``_slow``'s, are not counted by warnings' stack levels."""
    plain = _PLAIN_TYPES

    @transparent
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _MODE_DEPTH and _all_plain(args, kwargs, plain):
            return fn(*args, **kwargs)
        return _slow(wrapper, fn, args, kwargs)
    functools.update_wrapper(wrapper, fn)
    wrapper._torch_function_wrapped = True   # type: ignore[attr-defined]
    return wrapper


# Tensor operators: the method torch hands to handlers (reflected ones that commute reuse the forward method).
_OPERATORS = {
    "__add__": "add", "__radd__": "add", "__sub__": "sub", "__mul__": "mul", "__rmul__": "mul",
    "__truediv__": "div", "__rtruediv__": "__rdiv__", "__mod__": "remainder", "__pow__": "pow",
    "__matmul__": "matmul", "__rand__": "bitwise_and", "__ror__": "bitwise_or", "__rxor__": "bitwise_xor",
    "__lt__": "lt", "__le__": "le", "__gt__": "gt", "__ge__": "ge", "__ne__": "ne", "__neg__": "neg",
    "__pos__": "positive", "__abs__": "abs", "__iadd__": "add_", "__isub__": "sub_", "__imul__": "mul_",
    "__itruediv__": "div_", "__ifloordiv__": "floor_divide_", "__imod__": "remainder_", "__ipow__": "pow_",
}
_BINARY = {"__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
           "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__", "__matmul__",
           "__rmatmul__", "__and__", "__rand__", "__or__", "__ror__", "__xor__", "__rxor__", "__lshift__",
           "__rlshift__", "__rshift__", "__rrshift__", "__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__",
           "__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__", "__imod__", "__ipow__", "__iand__",
           "__ior__", "__ixor__", "__ilshift__", "__irshift__"}


def _method_wrapper(fn: Callable, name: str) -> Callable:
    """A Tensor method behind the protocol; operators hand over the method torch names (``x + y`` → ``add``)."""
    target = _OPERATORS.get(name)
    binop = name in _BINARY
    plain = _PLAIN_TYPES

    @transparent
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _MODE_DEPTH and _all_plain(args, kwargs, plain):
            return fn(*args, **kwargs)
        public = getattr(Tensor, target, wrapper) if target else wrapper
        if name == "__rmatmul__":
            return _slow(Tensor.matmul, lambda a, b: fn(b, a), (args[1], args[0]), kwargs, binop)
        return _slow(public, fn, args, kwargs, binop)
    functools.update_wrapper(wrapper, fn)
    wrapper._torch_function_wrapped = True   # type: ignore[attr-defined]
    return wrapper


def stable_entry(func: Callable) -> Callable:
    """The object users will find under ``func``'s name once the current holds end: the plain function for a
    dispatching wrapper installed only for a scope (an fx trace), so that a recorded target stays ``is``-equal
    to ``torch.exp`` afterwards, as torch's (whose functions never change identity); ``func`` itself while the
    protocol is pinned on."""
    if not _PINNED and getattr(func, "_torch_function_wrapped", False):
        return func.__wrapped__   # type: ignore[attr-defined]
    return func


def _property_wrapper(prop: property) -> property:
    """A Tensor property whose getter, setter and deleter go through the protocol (handlers see
    ``Tensor.<name>.__get__`` / ``__set__`` / ``__delete__``)."""
    plain = _PLAIN_TYPES

    def through(accessor: str, raw: Callable | None) -> Callable | None:
        if raw is None:
            return None

        def run(self: Tensor, *value: Any) -> Any:
            if not _MODE_DEPTH and type(self) in plain:
                return raw(self, *value)
            return _slow(getattr(new, accessor), raw, (self, *value), {})
        return run
    new = property(through("__get__", prop.fget), through("__set__", prop.fset), through("__delete__", prop.fdel),
                   prop.__doc__)
    return new


# Names torch does not dispatch (state, seeds, type queries, Python helpers; Tensor's constructors of new
# tensors and subclass plumbing); the tensor factories that torch lists as ignored still reach modes.
_UNWRAPPED = frozenset("""
are_deterministic_algorithms_enabled autocast_decrement_nesting autocast_increment_nesting broadcast_shapes
clear_autocast_cache compile compiled_with_cxx11_abi from_file from_numpy from_dlpack get_autocast_cpu_dtype
get_autocast_dtype get_autocast_gpu_dtype get_default_device get_default_dtype get_deterministic_debug_mode
get_device_module get_float32_matmul_precision get_num_interop_threads get_num_threads get_rng_state
init_num_threads initial_seed is_anomaly_check_nan_enabled is_anomaly_enabled is_autocast_cache_enabled
is_autocast_cpu_enabled is_autocast_enabled is_deterministic_algorithms_warn_only_enabled is_grad_enabled
is_inference_mode_enabled is_storage is_tensor is_vulkan_available is_warn_always_enabled load manual_seed
printoptions save seed set_anomaly_enabled set_autocast_cache_enabled set_autocast_cpu_dtype
set_autocast_cpu_enabled set_autocast_dtype set_autocast_enabled set_autocast_gpu_dtype set_default_device
set_default_dtype set_default_tensor_type set_deterministic_debug_mode set_float32_matmul_precision
set_flush_denormal set_num_interop_threads set_num_threads set_printoptions set_rng_state set_warn_always
typename use_deterministic_algorithms vmap legacy_type sym_fresh_size cond while_loop
""".split())
_IGNORED_FACTORIES = frozenset("""
arange as_strided as_tensor asarray bartlett_window blackman_window empty empty_permuted empty_strided eye fill
frombuffer full hamming_window hann_window kaiser_window linspace logspace normal ones promote_types rand rand_like
randint randint_like randn randn_like randperm range result_type scalar_tensor sparse_coo_tensor tensor
tril_indices triu_indices vander zeros can_cast
""".split())
_TENSOR_UNWRAPPED = frozenset("""
__new__ __init__ __init_subclass__ __torch_function__ __iter__ __hash__ __dir__ __getattribute__ __getattr__
__setattr__ __delattr__ __subclasshook__ __sizeof__ __class_getitem__ as_subclass new new_empty new_empty_strided
new_full new_ones new_tensor new_zeros stride
""".split())

_OVERRIDABLE: dict[Any, list[Callable]] = {}
_NOWRAP: set[Callable] = set()   # get_default_nowrap_functions(), once the wrappers are bound
_UNDO: list[tuple[Any, str, Any]] = []   # (owner, name, value before activation)
# {(id(namespace), name): (function, its wrapper)}: each activation binds the same wrappers again, so a graph
# that recorded a wrapper as its target (fx) still names and calls it after the protocol is switched off
_WRAPPERS: dict[tuple[int, str], tuple[Callable, Callable]] = {}
_LOCK = threading.Lock()


def _namespaces() -> list[Any]:
    import ember

    from . import fft, linalg, special
    from .nn import functional as F
    from .nn import init
    return [ember, F, init, linalg, special, fft]


def activate() -> None:
    """Turn the protocol on for the rest of the process (idempotent): rebind the public entry points to
    dispatching wrappers. Called by the triggers listed in the module docstring."""
    global _PINNED
    _PINNED = True
    _switch_on()


def _switch_on() -> None:
    global _ACTIVE
    with _LOCK:
        if _ACTIVE:
            return
        _ACTIVE = True
        _install()


def _hold() -> None:
    """Keep the protocol on until the matching ``_release`` (a mode entered, a tracing scope)."""
    global _HOLDS
    with _LOCK:
        _HOLDS += 1
    _switch_on()


def _release() -> None:
    """End a hold: the last one switches the protocol off again unless something pinned it, so a process that
    traced a model or counted flops once runs as fast as before."""
    global _HOLDS
    with _LOCK:
        _HOLDS -= 1
        last = _HOLDS == 0 and not _PINNED
    if last:
        _deactivate()


@contextlib.contextmanager
def _held() -> Iterator[None]:
    """The protocol on for a block only (fx tracing, export recording)."""
    _hold()
    try:
        yield
    finally:
        _release()


def _pin_unless_held() -> None:
    """An object that lives on Proxies / protocol dispatch was created: outside any hold it may outlive every
    scope, so the protocol stays on; inside one it belongs to that scope."""
    if not _HOLDS:
        activate()


def _deactivate() -> None:
    """Restore the plain entry points (also for tests that must leave the process as they found it)."""
    global _ACTIVE, _PINNED
    with _LOCK:
        _PINNED = False
        while _UNDO:
            owner, name, value = _UNDO.pop()
            setattr(owner, name, value)
        _OVERRIDABLE.clear()
        _NOWRAP.clear()
        _ACTIVE = False


def _rebind(owner: Any, name: str, value: Any) -> None:
    own = getattr(owner, "__dict__", {})
    _UNDO.append((owner, name, own[name] if name in own else getattr(owner, name)))
    setattr(owner, name, value)


def _wrappable(fn: Any, name: str) -> bool:
    return (isinstance(fn, _types.FunctionType) and not name.startswith("_") and name not in _UNWRAPPED
            and (fn.__module__ or "").startswith("ember") and not getattr(fn, "_torch_function_wrapped", False))


def _named(fn: Callable, name: str, qualname: str) -> Callable:
    """Handlers see the name the function is reached by (``Tensor.__getitem__``, ``torch.range``) as torch's."""
    fn.__name__, fn.__qualname__ = name, qualname
    return fn


def _install() -> None:
    import ember

    from . import functional as torch_functional
    from .nn import Module, functional

    replaced: dict[int, Callable] = {}   # what modules holding a function get: nn.functional's wrapper first
    for ns in _namespaces():
        listed = _OVERRIDABLE.setdefault(ns, [])
        for name, fn in list(vars(ns).items()):
            if _wrappable(fn, name):
                cached = _WRAPPERS.get((id(ns), name))
                new = cached[1] if cached and cached[0] is fn else _named(_function_wrapper(fn), name, name)
                _WRAPPERS[(id(ns), name)] = (fn, new)
                if ns is functional or id(fn) not in replaced:
                    replaced[id(fn)] = new
                if name not in _IGNORED_FACTORIES:
                    listed.append(new)
                _rebind(ns, name, new)
    for name in torch_functional.__all__:   # torch.functional's names are torch's very functions
        if getattr(torch_functional, name) is _WRAPPERS.get((id(ember), name), (None,))[0]:
            _rebind(torch_functional, name, getattr(ember, name))
    listed = _OVERRIDABLE.setdefault(Tensor, [])
    for name, value in list(vars(Tensor).items()):
        if name in _TENSOR_UNWRAPPED or (name.startswith("_") and not (name.startswith("__") and name.endswith("__"))):
            continue
        if isinstance(value, property) and value.fget is not None:
            prop = _property_wrapper(value)
            listed.append(prop.__get__)
            _rebind(Tensor, name, prop)
        elif isinstance(value, _types.FunctionType) and not getattr(value, "_torch_function_wrapped", False):
            method = _named(_method_wrapper(value, name), name, f"Tensor.{name}")
            listed.append(method)
            _rebind(Tensor, name, method)
    _NOWRAP.add(Tensor.grad.__get__)   # type: ignore[attr-defined]
    _rebind(Tensor, "__torch_function__", classmethod(_default_torch_function))   # skips _tensor's late import
    seen: set[type] = set()
    pending = [Module]   # every Module class (private bases too) holding a functional as a staticmethod or a
    while pending:       # default argument
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        pending.extend(cls.__subclasses__())
        for attr, value in list(vars(cls).items()):
            if isinstance(value, staticmethod) and id(value.__func__) in replaced:
                _rebind(cls, attr, staticmethod(replaced[id(value.__func__)]))
            elif isinstance(value, _types.FunctionType) and value.__defaults__:
                defaults = tuple(replaced.get(id(d), d) for d in value.__defaults__)
                if defaults != value.__defaults__:
                    _rebind(value, "__defaults__", defaults)


# ---------------------------------------------------------------------------------------------- public helpers

def _has(obj: Any) -> bool:
    st = _STATE
    if st.level == _ALL_DISABLED:
        return False
    if st.modes:
        return True
    return st.level == _ENABLED and type(obj) is not Tensor and _kind(type(obj)) == _OVERLOADED


def has_torch_function(relevant_args: Iterable[Any]) -> bool:
    """Whether any of ``relevant_args`` has a ``__torch_function__`` to honour (or a mode is active)."""
    return any(_has(a) for a in relevant_args)


def has_torch_function_unary(obj: Any) -> bool:
    """``has_torch_function((obj,))`` without building the tuple."""
    return _has(obj)


def has_torch_function_variadic(*args: Any) -> bool:
    """``has_torch_function(args)``."""
    return any(_has(a) for a in args)


def _overloaded_args(relevant_args: Iterable[Any]) -> list:
    found: list = []
    for a in relevant_args:
        if _takes_part(type(a)):
            _add(found, a)
    return found


def handle_torch_function(public_api: Callable, relevant_args: Iterable[Any], *args: Any, **kwargs: Any) -> Any:
    """Call the mode's or the overloaded arguments' ``__torch_function__`` for ``public_api(*args, **kwargs)``
    (for functions written outside ember that take part in the protocol)."""
    activate()
    overloaded = _overloaded_args(relevant_args) if _STATE.level == _ENABLED else []
    return _dispatch(public_api, overloaded, args, kwargs)


def wrap_torch_function(dispatcher: Callable) -> Callable:
    """Decorator: ``dispatcher(*args, **kwargs)`` names the arguments whose ``__torch_function__`` is honoured."""
    def inner(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            relevant = dispatcher(*args, **kwargs)
            if has_torch_function(relevant):
                return handle_torch_function(wrapped, relevant, *args, **kwargs)
            return func(*args, **kwargs)
        return wrapped
    return inner


def is_tensor_like(inp: Any) -> bool:
    """A Tensor, or anything (an instance or a class) with ``__torch_function__``."""
    return type(inp) is Tensor or hasattr(inp, "__torch_function__")


def is_tensor_method_or_property(func: Callable) -> bool:
    """Whether ``func`` is a Tensor method or a Tensor property's ``__get__`` (handlers receive those)."""
    if getattr(func, "__name__", None) == "__get__":
        return isinstance(getattr(func, "__self__", None), property)
    return any(v is func for v in vars(Tensor).values())


def get_default_nowrap_functions() -> set[Callable]:
    """Functions whose results the default ``__torch_function__`` leaves unconverted (``Tensor.grad``)."""
    return set(_NOWRAP) | {Tensor.grad.__get__}   # type: ignore[attr-defined]


def get_ignored_functions() -> set[Callable]:
    """ember's public functions that torch does not let Tensor subclasses override (factories and state
    functions; the factories still reach modes)."""
    out: set[Callable] = set()
    for ns in _namespaces():
        for name in _UNWRAPPED | _IGNORED_FACTORIES:
            fn = vars(ns).get(name)
            if callable(fn) and not isinstance(fn, type):
                out.add(fn)
    out.update(getattr(Tensor, n) for n in _TENSOR_UNWRAPPED if n in vars(Tensor) and not n.startswith("__"))
    return out


def get_overridable_functions() -> dict[Any, list[Callable]]:
    """{namespace: its functions that go through the protocol}; turns the protocol on."""
    activate()
    return {ns: list(fns) for ns, fns in _OVERRIDABLE.items()}


def get_testing_overrides() -> dict[Callable, Callable]:
    """{overridable function: a stand-in returning -1}. torch's stand-ins copy each signature; ember's accept
    any arguments (partial)."""
    def dummy(*args: Any, **kwargs: Any) -> int:
        return -1
    return {fn: dummy for fns in get_overridable_functions().values() for fn in fns}


def resolve_name(f: Callable) -> str | None:
    """torch's dotted name of an overridable function (``torch.add``, ``torch.Tensor.add``), else None."""
    for ns, fns in get_overridable_functions().items():
        if any(g is f or g == f for g in fns):
            if ns is Tensor:
                name = next(n for n, v in vars(Tensor).items() if v is getattr(f, "__self__", f) or v is f)
                if isinstance(getattr(f, "__self__", None), property):
                    name = f"{name}.{f.__name__}"
                return f"torch.Tensor.{name}"
            return f"{ns.__name__.replace('ember', 'torch', 1)}.{f.__name__}"
    return None
