"""Grad modes: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode`` — thread-local, usable
as context managers and as decorators, as in torch."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]

F = TypeVar("F", bound=Callable[..., Any])


class _GradState(threading.local):
    enabled: bool = True
    inference: bool = False


STATE = _GradState()


def is_grad_enabled() -> bool:
    """Whether operations are currently recorded for autograd."""
    return STATE.enabled


def is_inference_mode_enabled() -> bool:
    return STATE.inference


class _Mode:
    """Base of the grad-mode context managers; subclasses say what to set on enter."""

    _saved: list[tuple[bool, bool]]

    def _target(self) -> tuple[bool, bool]:
        raise NotImplementedError

    def __enter__(self) -> None:
        self.__dict__.setdefault("_saved", []).append((STATE.enabled, STATE.inference))
        STATE.enabled, STATE.inference = self._target()

    def __exit__(self, *exc: object) -> None:
        STATE.enabled, STATE.inference = self._saved.pop()

    def __call__(self, func: F) -> F:
        if inspect.isclass(func):
            raise RuntimeError(f"{type(self).__name__} cannot decorate a class")
        if inspect.isgeneratorfunction(func):
            @functools.wraps(func)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                gen = func(*args, **kwargs)
                with self.clone():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        gen.close()
                        raise
                    except BaseException as e:
                        with self.clone():
                            response = gen.throw(e)
                    else:
                        with self.clone():
                            response = gen.send(request)
            return gen_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.clone():
                return func(*args, **kwargs)
        return wrapper  # type: ignore[return-value]

    def clone(self) -> _Mode:
        return self


class no_grad(_Mode):
    """Disable gradient recording (results have ``requires_grad=False``)."""

    def __init__(self, orig_func: Callable | None = None) -> None:
        if orig_func is not None:
            raise TypeError("no_grad() takes no positional arguments; use @no_grad() or @no_grad")

    def __new__(cls, orig_func: Callable | None = None) -> Any:
        if orig_func is not None and callable(orig_func):   # bare @no_grad usage
            return cls()(orig_func)
        return super().__new__(cls)

    def _target(self) -> tuple[bool, bool]:
        return False, STATE.inference


class enable_grad(_Mode):
    """Re-enable gradient recording inside ``no_grad``."""

    def __new__(cls, orig_func: Callable | None = None) -> Any:
        if orig_func is not None and callable(orig_func):
            return cls()(orig_func)
        return super().__new__(cls)

    def _target(self) -> tuple[bool, bool]:
        return True, STATE.inference


class set_grad_enabled(_Mode):
    """Set grad mode on or off; takes effect immediately (also usable as a context manager)."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.prev = STATE.enabled
        STATE.enabled = self.mode

    def __enter__(self) -> None:
        self.__dict__.setdefault("_saved", []).append((self.prev, STATE.inference))

    def __exit__(self, *exc: object) -> None:
        STATE.enabled, STATE.inference = self._saved.pop()

    def _target(self) -> tuple[bool, bool]:
        return self.mode, STATE.inference

    def clone(self) -> _Mode:
        return _Fixed(self.mode, STATE.inference)


class _Fixed(_Mode):
    def __init__(self, enabled: bool, inference: bool) -> None:
        self.target = (enabled, inference)

    def _target(self) -> tuple[bool, bool]:
        return self.target


class inference_mode(_Mode):
    """Like ``no_grad``, and tensors made inside report ``is_inference()``."""

    def __new__(cls, mode: bool | Callable = True) -> Any:
        if callable(mode):
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool | Callable = True) -> None:
        self.mode = True if callable(mode) else bool(mode)

    def _target(self) -> tuple[bool, bool]:
        return (False, True) if self.mode else (STATE.enabled, False)
