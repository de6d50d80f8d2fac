"""Grad modes: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode`` — thread-local, usable
as context managers and as decorators (of functions and generators), as in torch."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from .. import _tensor
from .._core.warn import warn

__all__ = [
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "set_multithreading_enabled",
    "enforce_grad_layout_policy",
    "is_multithreading_enabled",
    "is_view_replay_enabled",
]

F = TypeVar("F", bound=Callable[..., Any])


class _GradState(threading.local):
    """Per-thread switches. ``grad``: the user's grad mode (whether ops build the backward graph);
    ``inference``: inference mode; ``enabled``: whether ops have anything to record, i.e. grad mode is on or
    a forward-AD level is active, outside inference mode (where torch records nothing, even under
    ``enable_grad``), so that op sites test one flag and tangents flow under ``no_grad`` as in torch (forward AD
    does not depend on grad mode). Kept by :func:`sync`."""

    grad: bool = True
    enabled: bool = True
    inference: bool = False


STATE = _GradState()
_tensor.GRAD_STATE = STATE   # tensors read the inference flag from here (no import cycle)
DUAL = [False]   # a forward-AD level is active (and not suspended while a tangent is computed)


def sync() -> None:
    """Derive ``STATE.enabled`` after a change of grad mode, inference mode or forward-AD activity."""
    STATE.enabled = (STATE.grad or DUAL[0]) and not STATE.inference


def switch(grad: bool, dual: bool) -> tuple[bool, bool]:
    """Set grad mode and forward-AD activity at once (internal: tangent computations, the engine); returns
    the previous pair, for ``switch(*prev)``."""
    prev = STATE.grad, DUAL[0]
    STATE.grad = grad
    DUAL[0] = dual
    STATE.enabled = (grad or dual) and not STATE.inference
    return prev


def is_grad_enabled() -> bool:
    """Whether operations are currently recorded for autograd."""
    return STATE.grad


def is_inference_mode_enabled() -> bool:
    """Whether this thread is inside ``inference_mode``."""
    return STATE.inference


def _push(mode: _Mode, state: tuple[bool, bool]) -> None:
    """Remember the state a manager entered from (a stack: one manager may be entered again while inside)."""
    d = mode.__dict__
    saved = d.get("_saved")
    if saved is None:
        d["_saved"] = [state]
    else:
        saved.append(state)


class _Mode:
    """Base of the grad-mode context managers; subclasses say which (grad, inference) state to enter."""

    def _target(self) -> tuple[bool, bool]:
        raise NotImplementedError

    def __enter__(self) -> None:
        st = STATE
        _push(self, (st.grad, st.inference))
        st.grad, st.inference = grad, inference = self._target()
        st.enabled = (grad or DUAL[0]) and not inference   # sync(), inline: no_grad blocks are frequent

    def __exit__(self, *exc: object) -> None:
        st = STATE
        st.grad, st.inference = grad, inference = self._saved.pop()
        st.enabled = (grad or DUAL[0]) and not inference

    def clone(self) -> _Mode:
        """A fresh manager entering the same state (one per decorated call, so calls can nest)."""
        return self

    def __call__(self, func: F) -> F:
        if inspect.isclass(func):
            warn("Decorating classes is deprecated and will be disabled in future versions. You "
                 "should only decorate functions or methods. To preserve the current behavior of "
                 "class decoration, you can directly decorate the `__init__` method and nothing "
                 "else.",
                 FutureWarning, stacklevel=2)
        if inspect.isgeneratorfunction(func):
            return self._wrap_generator(func)  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.clone():
                return func(*args, **kwargs)
        return wrapper  # type: ignore[return-value]

    def _wrap_generator(self, func: Callable) -> Callable:
        """Each step of the generator runs in this mode; the caller's mode is back in between."""
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Generator:
            gen = func(*args, **kwargs)
            try:
                with self.clone():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self.clone():
                            gen.close()
                        raise
                    except BaseException as e:
                        with self.clone():
                            response = gen.throw(e)
                    else:
                        with self.clone():
                            response = gen.send(request)
            except StopIteration as stop:
                return stop.value
        return wrapper


class _Decorator(_Mode):
    """Modes usable bare as decorators (``@no_grad``) as well as called (``@no_grad()``)."""

    def __new__(cls, orig_func: Callable | None = None) -> Any:
        if orig_func is not None and callable(orig_func):
            return cls()(orig_func)
        return super().__new__(cls)

    def __init__(self, orig_func: Callable | None = None) -> None:
        pass

    def clone(self) -> _Mode:
        return type(self)()


class no_grad(_Decorator):
    """Disable gradient recording (results have ``requires_grad=False``)."""

    def __enter__(self) -> None:   # the common block, without the generic path's calls
        st = STATE
        inference = st.inference
        _push(self, (st.grad, inference))
        st.grad = False
        st.enabled = DUAL[0] and not inference

    def _target(self) -> tuple[bool, bool]:
        return False, STATE.inference


class enable_grad(_Decorator):
    """Re-enable gradient recording inside ``no_grad``."""

    def _target(self) -> tuple[bool, bool]:
        return True, STATE.inference


class set_grad_enabled(_Mode):
    """Set grad mode on or off: at once when called, and for the block when used as a context manager
    or decorator (then the previous mode comes back)."""

    def __init__(self, mode: bool) -> None:
        self.prev = STATE.grad
        self.mode = bool(mode)
        STATE.grad = self.mode
        sync()

    def __call__(self, func: F) -> F:
        STATE.grad = self.prev   # as a decorator it only applies to the calls
        sync()
        return super().__call__(func)

    def __enter__(self) -> None:
        self.__dict__.setdefault("_saved", []).append((self.prev, STATE.inference))
        STATE.grad = self.mode
        sync()

    def _target(self) -> tuple[bool, bool]:
        return self.mode, STATE.inference

    def clone(self) -> _Mode:
        return _Fixed(self.mode)

    def __repr__(self) -> str:
        return f"torch.autograd.grad_mode.set_grad_enabled(mode={self.mode})"


class _Fixed(_Mode):
    """Enters a given grad mode (what a ``set_grad_enabled`` decorator applies per call)."""

    def __init__(self, mode: bool) -> None:
        self.mode = mode

    def _target(self) -> tuple[bool, bool]:
        return self.mode, STATE.inference


class inference_mode(_Mode):
    """Like ``no_grad``, and tensors made inside are inference tensors (``is_inference()``);
    ``inference_mode(False)`` turns both inference mode off and grad mode on."""

    def __new__(cls, mode: bool | Callable = True) -> Any:
        if callable(mode):
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool | Callable = True) -> None:
        self.mode = True if callable(mode) else bool(mode)

    def _target(self) -> tuple[bool, bool]:
        if self.mode:
            _tensor._INFERENCE[0] = True
            return False, True
        return True, False

    def clone(self) -> _Mode:
        return inference_mode(self.mode)


class _Flags(threading.local):
    """Per-thread engine switches torch exposes. ember's engine always runs backward on the calling thread,
    regenerates a mutated view by replaying its views, and never hands a parameter a gradient laid out
    differently from it, so these flags are recorded and reported but change no result."""

    def __init__(self) -> None:
        self.multithreading = True
        self.view_replay = False
        self.grad_layout = True


_FLAGS = _Flags()


class _FlagMode:
    """Sets one flag when constructed (so calling it as a function switches it); a ``with`` block restores the
    previous value on exit; as a decorator, each call of the function runs under the flag."""

    _flag: str

    def __init__(self, mode: bool = True) -> None:
        self.mode = mode
        self.prev = getattr(_FLAGS, self._flag)
        setattr(_FLAGS, self._flag, mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        setattr(_FLAGS, self._flag, self.prev)

    def clone(self) -> _FlagMode:
        return type(self)(self.mode)

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.clone():
                return func(*args, **kwargs)
        return wrapper


class set_multithreading_enabled(_FlagMode):   # noqa: N801 (torch's name)
    """Whether backward may run on per-device worker threads (``mode=False``: on the calling thread, which is
    where ember always runs it)."""

    _flag = "multithreading"


class _force_original_view_tracking(_FlagMode):   # noqa: N801 (torch's name)
    """Whether a mutated view is always regenerated by replaying its chain of views."""

    _flag = "view_replay"


class enforce_grad_layout_policy(_FlagMode):   # noqa: N801 (torch's name)
    """Whether accumulated gradients must match their parameter's layout (``enable=False`` relaxes it)."""

    _flag = "grad_layout"

    def __init__(self, enable: bool = True) -> None:
        super().__init__(enable)


def is_multithreading_enabled() -> bool:
    return _FLAGS.multithreading


def is_view_replay_enabled() -> bool:
    return _FLAGS.view_replay
