"""Backend flags as torch keeps them: module attributes whose assignment is validated and is refused after
``ember.backends.disable_global_flags()`` (then only the ``flags()`` context managers may change them)."""

from __future__ import annotations

import contextlib
import inspect
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

_frozen = [False]


def disable_global_flags() -> None:
    """Forbid plain assignment to backend flags from now on (``flags()`` blocks still may set them)."""
    _frozen[0] = True


def flags_frozen() -> bool:
    return _frozen[0]


@contextlib.contextmanager
def allow_mutation() -> Iterator[None]:
    """Lift :func:`disable_global_flags` inside the block (what each ``flags()`` context manager does)."""
    old = _frozen[0]
    _frozen[0] = False
    try:
        yield
    finally:
        _frozen[0] = old


def _flag(name: str, check: Callable[[Any], Any] | None) -> property:
    def get(mod: types.ModuleType) -> Any:
        return mod.__dict__[name]

    def put(mod: types.ModuleType, value: Any) -> None:
        if _frozen[0]:
            raise RuntimeError(f"not allowed to set {mod.__name__.replace('ember', 'torch', 1)} flags after "
                               "disable_global_flags; please use flags() context manager instead")
        mod.__dict__[name] = value if check is None else check(value)
    return property(get, put)


def flag_module(name: str, checks: dict[str, Callable[[Any], Any] | None]) -> None:
    """Turn the globals ``checks`` names in module ``name`` into flags: reading gives the global, assigning
    runs the check (which returns the value to store, or raises torch's error)."""
    mod = sys.modules[name]
    mod.__class__ = type(f"{name.rsplit('.', 1)[-1]}_flags", (types.ModuleType,),
                         {attr: _flag(attr, check) for attr, check in checks.items()})


def flags_context(set_flags: Callable[..., tuple], **defaults: Any) -> Callable[..., Any]:
    """The ``flags(...)`` context manager of a module: it calls ``set_flags`` with ``defaults`` (in
    ``set_flags``'s parameter order) overridden by the arguments, and restores the old values after."""
    sig = inspect.Signature([inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=v)
                             for k, v in defaults.items()])

    @contextlib.contextmanager
    def flags(*args: Any, **kwargs: Any) -> Iterator[None]:
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        with allow_mutation():
            old = set_flags(*bound.args)
        try:
            yield
        finally:
            with allow_mutation():
                set_flags(*old)
    flags.__signature__ = sig  # type: ignore[attr-defined]
    flags.__doc__ = "``with flags(...):`` these backend flags inside the block, the previous ones after."
    return flags
