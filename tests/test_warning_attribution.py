"""Warnings name the line torch's would: autocast's op wrappers add no frame a warning counts
(``ember._core.warn``), and the deprecated ``set_default_tensor_type`` warns and checks as torch."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest

import ember
from ember._core.warn import transparent, warn
from oracle import outcomes, torch


def _recorded(fn: Callable[[], Any]) -> list[tuple[str, str, str]]:
    """(category, message, file) of every warning ``fn`` issues."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        fn()
    return [(w.category.__name__, str(w.message), w.filename) for w in rec]


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.functional.softmax(lib.ones(3)),
    lambda lib: lib.nn.functional.log_softmax(lib.ones(3)),
    lambda lib: lib.nn.functional.mse_loss(lib.ones(3), lib.ones(1)),
    lambda lib: lib.nn.functional.l1_loss(lib.ones(3), lib.ones(1)),
    lambda lib: lib.nn.functional.smooth_l1_loss(lib.ones(3), lib.ones(1)),
    lambda lib: lib.tensor(lib.ones(2)),   # behind the argument parser's wrapper
])
def test_wrapped_ops_warn_at_the_callers_line(call: Callable[[Any], Any]) -> None:
    got, want = _recorded(lambda: call(ember)), _recorded(lambda: call(torch))
    assert want and all(w[2] == __file__ for w in want)
    assert got == want


def test_transparent_frames_are_not_counted() -> None:
    def site() -> None:
        warn("from the site", UserWarning, stacklevel=2)

    @transparent
    def wrapper() -> None:
        site()

    def user() -> None:
        wrapper()   # stacklevel 2 names this frame: the wrapper between is skipped

    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        user()
    assert [(w.filename, w.lineno) for w in rec] == [(__file__, user.__code__.co_firstlineno + 1)]


@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "HalfTensor", "IntTensor", "torch.DoubleTensor",
                                  "torch.cuda.FloatTensor", "torch.nothing", "no_such_module_x", 3])
def test_set_default_tensor_type_matches_torch(name: Any) -> None:
    def run(lib: Any) -> tuple:
        arg = getattr(lib, name) if isinstance(name, str) and "." not in name and name[0].isupper() else name
        try:
            messages = _recorded(lambda: lib.set_default_tensor_type(arg))
            return [m[:2] for m in messages], str(lib.get_default_dtype()), str(lib.get_default_device())
        finally:
            lib.set_default_dtype(lib.float32)
            lib.set_default_device(None)

    want, got = outcomes(run)
    if isinstance(want, Exception):
        assert type(got) is type(want) and str(got) == str(want)
    else:
        assert got == want


def test_torch_function_wrappers_are_not_counted() -> None:
    class Marked(ember.Tensor):   # a subclass with __torch_function__ switches the protocol's wrappers on
        pass

    with ember.overrides.enable_reentrant_dispatch():
        Marked(ember.ones(1)) + 1
    got = _recorded(lambda: ember.nn.functional.mse_loss(ember.ones(3), ember.ones(1)))
    assert [w[2] for w in got] == [__file__]
