"""The parts of ``torch.jit`` that model code calls in eager mode: markers, type helpers, fusion switches, fork/wait.

In torch these steer the TorchScript compiler; in eager Python they return their argument or a plain value, as
here. ember never compiles, but it keeps the one observable effect of compilation that model code branches on:
:func:`is_scripting` is True while scripted code runs (see ``_script``), so scripted models take the same
branches, and return the same structures, as torch's compiled ones.
"""

from __future__ import annotations

import inspect
import threading
import types
import typing
from collections.abc import Callable, Container, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar, Union, get_args, get_origin

from .. import _more
from .._core.warn import warn
from ..futures import Future

__all__ = [
    "Attribute",
    "Error",
    "Final",
    "FunctionModifiers",
    "annotate",
    "enable_onednn_fusion",
    "export",
    "export_opnames",
    "fork",
    "fuser",
    "ignore",
    "interface",
    "is_scripting",
    "isinstance",
    "jit_module_from_flatbuffer",
    "last_executed_optimized_graph",
    "onednn_fusion_enabled",
    "optimized_execution",
    "run_frozen_optimizations",
    "save_jit_module_to_flatbuffer",
    "set_fusion_strategy",
    "set_module",
    "strict_fusion",
    "unused",
    "wait",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
Final = typing.Final
_builtin_isinstance = isinstance


def _deprecated(api: str, switch_to: str | None = None) -> None:
    """torch 2.13's DeprecationWarning for a TorchScript entry point (hidden by default outside ``__main__``)."""
    advice = f"switch to {switch_to}." if switch_to else "use `torch.compile` instead."
    warn(f"`torch.jit.{api}` is deprecated. Please {advice}", DeprecationWarning, stacklevel=2)


class Error(Exception):
    """``torch.jit.Error``: what an exception raised inside TorchScript code surfaces as. ember runs scripted
    code as Python, so its exceptions keep their own types and this class exists for ``except`` clauses."""


Error.__module__ = "ember.jit"


class FunctionModifiers:
    """The values of the ``_torchscript_modifier`` attribute that :func:`ignore`, :func:`unused` and
    :func:`export` set on a function (the same strings as torch, so code that inspects them agrees)."""

    UNUSED = "unused (ignored and replaced with raising of an exception)"
    IGNORE = "ignore (leave as a call to Python, cannot be torch.jit.save'd)"
    EXPORT = "export (compile this function even if nothing calls it)"
    DEFAULT = "default (compile if called from an exported function / forward)"
    COPY_TO_SCRIPT_WRAPPER = "if this method is not scripted, copy the python method onto the scripted model"
    _DROP = "_drop (function is fully ignored, declaration can be unscriptable)"


_mode = threading.local()


def is_scripting() -> bool:
    """True while scripted code runs: a scripted function, or ``forward`` / an ``@export`` method of a scripted
    module (as inside torch's compiled code); False elsewhere, including ``@ignore`` methods and traced code."""
    return getattr(_mode, "scripting", False)


def _run_scripting(on: bool, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` with :func:`is_scripting` returning ``on`` for this thread meanwhile."""
    prev = getattr(_mode, "scripting", False)
    _mode.scripting = on
    try:
        return fn(*args, **kwargs)
    finally:
        _mode.scripting = prev


def annotate(the_type: Any, the_value: T) -> T:
    """``the_value`` unchanged; TorchScript reads ``the_type`` as the value's static type."""
    return the_value


def export(fn: F) -> F:
    """Mark a module method as a scripted entry point (``fn._torchscript_modifier = EXPORT``); returns ``fn``.
    Exported methods stay callable on the scripted module."""
    fn._torchscript_modifier = FunctionModifiers.EXPORT  # type: ignore[attr-defined]
    return fn


def unused(fn: F) -> F:
    """Mark a function (or a property's getter/setter) as left out of compilation; returns it unchanged.
    Called from Python it runs normally, also on a scripted module; a scripted module's method marked so raises
    :class:`Error` when scripted code calls it, as torch's compiled stub does."""
    if _builtin_isinstance(fn, property):
        fn.fget._torchscript_modifier = FunctionModifiers.UNUSED  # type: ignore[union-attr]
        if fn.fset is not None:
            fn.fset._torchscript_modifier = FunctionModifiers.UNUSED  # type: ignore[attr-defined]
        return fn
    fn._torchscript_modifier = FunctionModifiers.UNUSED  # type: ignore[attr-defined]
    return fn


def ignore(drop: Any = False, **kwargs: Any) -> Any:
    """``@ignore`` marks a function to stay a Python call (``IGNORE``); ``@ignore(drop=True)`` (deprecated, a
    FutureWarning as in torch) marks it ``UNUSED``. The function itself is returned unchanged."""
    if callable(drop):
        drop._torchscript_modifier = FunctionModifiers.IGNORE
        return drop
    if not _builtin_isinstance(drop, bool):
        raise RuntimeError(f"Argument to @torch.jit.ignore must be a bool or a function but got {drop}")
    drop_on_export = kwargs.pop("drop_on_export", None)
    if drop_on_export or drop:
        which = "drop_on_export=True" if drop_on_export else "True"
        warn(
            f"ignore({which}) has been deprecated. TorchScript will now drop the function call on compilation. "
            "Use torch.jit.unused now. {}",
            FutureWarning,
            stacklevel=2,
        )
        drop = bool(drop_on_export) or drop

    def decorator(fn: F) -> F:
        fn._torchscript_modifier = FunctionModifiers.UNUSED if drop else FunctionModifiers.IGNORE  # type: ignore
        return fn

    return decorator


def _drop(fn: F) -> F:
    """Mark ``fn`` as fully ignored by the compiler (``_DROP``); returns it."""
    fn._torchscript_modifier = FunctionModifiers._DROP  # type: ignore[attr-defined]
    return fn


def _overload(func: F) -> F:
    """Declare a TorchScript overload signature; Python keeps the last definition, so this returns ``func``."""
    return func


_overload_method = _overload


class Attribute(NamedTuple):
    """``torch.jit.Attribute(value, type)``: a module attribute with its TorchScript type. Eager modules keep
    the pair; scripting a module stores ``value`` (as torch does)."""

    value: Any
    type: Any



def interface(obj: type) -> type:
    """Declare a TorchScript interface class; checks torch's structural rules, marks the class, returns it."""
    _deprecated("interface")
    if not inspect.isclass(obj):
        raise RuntimeError("interface must be applied to a class")
    from .. import nn

    is_module_interface = issubclass(obj, nn.Module) and len(obj.mro()) == 3
    if not is_module_interface and len(obj.mro()) > 2:
        raise RuntimeError(
            "TorchScript interface does not support inheritance yet. Please directly inherit from 'object' or "
            "'nn.Module'."
        )
    obj.__torch_script_interface__ = f"__torch__.{obj.__module__}.{obj.__qualname__}"  # type: ignore[attr-defined]
    return obj


# ---- torch.jit.isinstance ----------------------------------------------------------------------------------
_RAW_CONTAINERS = {dict: "dict", list: "list", tuple: "tuple", typing.Dict: "Dict", typing.List: "List",  # noqa: UP006
                   typing.Optional: "Optional", typing.Tuple: "Tuple"}  # noqa: UP006


def _require_args(target_type: Any) -> None:
    name = _RAW_CONTAINERS.get(target_type) if _builtin_isinstance(target_type, typing.Hashable) else None
    if name is None:
        return
    if name.endswith("ict"):
        raise RuntimeError(
            f"Attempted to use {name} without contained types. Please add contained type, e.g. {name}[int, int]"
        )
    raise RuntimeError(
        f"Attempted to use {name} without a contained type. Please add a contained type, e.g. {name}[int]"
    )


def _warn_if_empty(obj: Any) -> None:
    if _builtin_isinstance(obj, (list, dict, tuple)) and len(obj) == 0:
        warn(
            "The inner type of a container is lost when calling torch.jit.isinstance in eager mode. For example, "
            "List[int] would become list and therefore falsely return True for List[float] or List[str].",
            stacklevel=3,
        )


def _matches(obj: Any, t: Any) -> bool:
    """``obj`` against one type, recursing into parametrised containers."""
    _require_args(t)
    origin = get_origin(t)
    if origin is None:
        return _builtin_isinstance(obj, t)
    args = get_args(t)
    if origin is list:
        _warn_if_empty(obj)
        return _builtin_isinstance(obj, list) and all(_matches(e, args[0]) for e in obj)
    if origin is dict:
        _warn_if_empty(obj)
        return _builtin_isinstance(obj, dict) and all(
            _builtin_isinstance(k, args[0]) and _matches(v, args[1]) for k, v in obj.items()
        )
    if origin is tuple:
        _warn_if_empty(obj)
        return (_builtin_isinstance(obj, tuple) and len(obj) == len(args)
                and all(_matches(e, a) for e, a in zip(obj, args, strict=True)))
    if origin is Union or origin is types.UnionType:  # Optional[T] too: None always matches
        return obj is None or any(_matches(obj, a) for a in args)
    return False


def isinstance(obj: Any, target_type: Any) -> bool:  # noqa: A001 (torch's name)
    """``torch.jit.isinstance``: like ``isinstance`` but also checks parametrised containers (``list[int]``,
    ``dict[str, Tensor]``, ``tuple[int, str]``, ``Optional[T]``); a bare container type is refused."""
    if _builtin_isinstance(target_type, Container):
        if not _builtin_isinstance(target_type, tuple):
            raise RuntimeError("The second argument to `torch.jit.isinstance` must be a type or a tuple of types")
        return any(isinstance(obj, t) for t in target_type)
    return _matches(obj, target_type)


# ---- fusion and executor switches (ember has no graph executor: they only record the setting) -------------
_onednn_fusion = False
_fusion_strategy: list[tuple[str, int]] = [("STATIC", 2), ("DYNAMIC", 10)]


def enable_onednn_fusion(enabled: bool) -> None:
    """Record whether oneDNN graph fusion is enabled (ember has no fuser: a setting only)."""
    global _onednn_fusion
    _onednn_fusion = bool(enabled)


def onednn_fusion_enabled() -> bool:
    """The value given to :func:`enable_onednn_fusion` (default False)."""
    return _onednn_fusion


def set_fusion_strategy(strategy: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Record the fuser's specialisation strategy, a list of ``("STATIC" | "DYNAMIC", depth)``; returns the
    previous one (torch's default ``[("STATIC", 2), ("DYNAMIC", 10)]``)."""
    global _fusion_strategy
    _deprecated("set_fusion_strategy")
    for kind, depth in strategy:
        if kind not in ("STATIC", "DYNAMIC") or not _builtin_isinstance(depth, int):
            raise RuntimeError(f"Expected fusion strategy entries of ('STATIC' | 'DYNAMIC', int), got {(kind, depth)}")
    old, _fusion_strategy = _fusion_strategy, [(k, d) for k, d in strategy]
    return old


class strict_fusion:
    """Context manager asserting (in TorchScript) that everything inside fuses; eager code warns, as torch."""

    def __init__(self) -> None:
        if not is_scripting():
            warn("Only works in script mode", stacklevel=2)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


strict_fusion.__module__ = "ember.jit"


@contextmanager
def optimized_execution(should_optimize: bool) -> Iterator[None]:
    """Context manager toggling the graph executor's optimisations: nothing to toggle in eager ember."""
    yield


@contextmanager
def fuser(name: str) -> Iterator[None]:
    """Context manager choosing a TorchScript fuser ("fuser0".."fuser3" or "none"); validated, then a no-op."""
    if name not in ("fuser0", "fuser1", "fuser2", "fuser3", "none"):
        raise Exception(f"unrecognized fuser option (name: {name})")  # noqa: TRY002 (torch's type)
    yield


def last_executed_optimized_graph() -> Any:
    """torch returns the last TorchScript graph it ran; ember runs no graphs, so this raises."""
    raise RuntimeError("ember runs code eagerly in Python: there is no last executed TorchScript graph")


def export_opnames(m: Any) -> list[str]:
    """torch lists the TorchScript operators a module uses (for mobile builds); ember has none, so this raises."""
    raise RuntimeError("ember runs modules eagerly in Python: there are no TorchScript operators to list")


def run_frozen_optimizations(mod: Any, optimize_numerics: bool = True, preserved_methods: Any = None) -> None:
    """torch runs graph passes on a frozen module in place; ember has no graph, so nothing changes."""


def set_module(obj: Any, mod: str) -> None:
    """Set ``obj.__module__`` to ``mod`` (a string), as torch does for its public objects."""
    if not _builtin_isinstance(mod, str):
        raise TypeError("The mod argument should be a string")
    obj.__module__ = mod


def _no_flatbuffer(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("ember cannot read or write TorchScript flatbuffer modules: it does not execute TorchScript")


jit_module_from_flatbuffer = save_jit_module_to_flatbuffer = _no_flatbuffer


# ---- fork / wait ---------------------------------------------------------------------------------------------
def fork(func: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """Run ``func(*args, **kwargs)`` and return a completed :class:`Future` holding its result: eager torch also
    runs the call right away (its errors propagate from ``fork``); only TorchScript runs forks in parallel."""
    _deprecated("fork")
    return _more.fork(func, *args, **kwargs)


def wait(future: Future[T]) -> T:
    """The value of a :class:`Future` made by :func:`fork` (blocks until it is complete)."""
    _deprecated("wait")
    return _more.wait(future)
