"""Grad modes against torch: no_grad / enable_grad / set_grad_enabled (function, context manager,
decorator, generators), inference_mode and inference tensors, and thread-locality."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import ember
from oracle import torch
from test_autograd import same


def _no_grad_block(L: Any) -> Any:
    x = L.ones(2, requires_grad=True)
    with L.no_grad():
        y = x * 2
        inner = L.is_grad_enabled()
        with L.enable_grad():
            z = x * 2
            enabled = L.is_grad_enabled()
        v = x.view(2)
    return (y.requires_grad, y.grad_fn, y.is_leaf, inner, z.requires_grad, z.grad_fn, enabled,
            L.is_grad_enabled(), v.grad_fn, v._base is x)


def _set_grad_enabled_forms(L: Any) -> Any:
    out = []
    m = L.set_grad_enabled(False)
    out.append((L.is_grad_enabled(), type(m).__name__))
    L.set_grad_enabled(True)
    with L.set_grad_enabled(False):
        out.append(L.is_grad_enabled())
        with L.set_grad_enabled(True):
            out.append(L.is_grad_enabled())
        out.append(L.is_grad_enabled())
    out.append(L.is_grad_enabled())

    @L.set_grad_enabled(False)
    def f() -> bool:
        return L.is_grad_enabled()
    out.append((L.is_grad_enabled(), f(), L.is_grad_enabled()))
    return out


def _decorators(L: Any) -> Any:
    @L.no_grad()
    def a(x: Any) -> Any:
        return x * 2

    @L.no_grad
    def b(x: Any) -> Any:
        return x * 2

    @L.enable_grad()
    def c(x: Any) -> Any:
        return x * 2

    @L.enable_grad
    def d(x: Any) -> Any:
        return x * 2

    x = L.ones(1, requires_grad=True)
    with L.no_grad():
        cd = (c(x).requires_grad, d(x).requires_grad)
    return a(x).requires_grad, b(x).requires_grad, cd, L.is_grad_enabled(), a.__name__


def _generators(L: Any) -> Any:
    @L.no_grad()
    def gen(n: int) -> Any:
        for _ in range(n):
            received = yield L.is_grad_enabled()
            if received is not None:
                yield ("got", received, L.is_grad_enabled())
        return "done"

    g = gen(2)
    out = [next(g), L.is_grad_enabled(), g.send("x"), next(g)]
    try:
        next(g)
    except StopIteration as e:
        out.append(e.value)
    return out, list(gen(3)), L.is_grad_enabled()


def _inference(L: Any) -> Any:
    x = L.ones(2, requires_grad=True)
    with L.inference_mode():
        y = x * 2
        z = L.ones(2)
        state = (L.is_inference_mode_enabled(), L.is_grad_enabled())
        with L.inference_mode(False):
            w = L.ones(2)
            off = (L.is_inference_mode_enabled(), L.is_grad_enabled())
        with L.enable_grad():
            e = (L.is_grad_enabled(), L.is_inference_mode_enabled(), L.ones(1).is_inference())
    return (y.requires_grad, y.is_inference(), z.is_inference(), x.is_inference(), state, w.is_inference(),
            off, e, L.is_inference_mode_enabled(), (z * 2).is_inference(), z[0:1].is_inference())


INFERENCE_ERRORS: dict[str, Callable] = {
    "requires_grad_outside": lambda L: _inf_tensor(L).requires_grad_(),
    "saved_for_backward": lambda L: _inf_tensor(L) * L.ones(2, requires_grad=True),
    "requires_grad_inside": lambda L: _inside(L, lambda t: t.requires_grad_().requires_grad),
    "not_saved_add": lambda L: (_inf_tensor(L) + L.ones(2, requires_grad=True)).requires_grad,
}


def _inf_tensor(L: Any) -> Any:
    with L.inference_mode():
        return L.ones(2)


def _inside(L: Any, f: Callable) -> Any:
    with L.inference_mode():
        return f(L.ones(2))


def _inference_decorators(L: Any) -> Any:
    @L.inference_mode()
    def a() -> bool:
        return L.ones(1).is_inference()

    @L.inference_mode
    def b() -> bool:
        return L.ones(1).is_inference()

    @L.inference_mode(False)
    def c() -> bool:
        return L.ones(1).is_inference()
    return a(), b(), c(), L.is_inference_mode_enabled()


PROGRAMS: dict[str, Callable] = {
    "no_grad_block": _no_grad_block, "set_grad_enabled": _set_grad_enabled_forms, "decorators": _decorators,
    "generators": _generators, "inference": _inference, "inference_decorators": _inference_decorators,
    "no_grad_exception_restores": lambda L: (_raise_in(L.no_grad()), L.is_grad_enabled()),
    "set_grad_enabled_repr": lambda L: repr(L.set_grad_enabled(True)),
    "no_grad_leaf_update": lambda L: _leaf_update(L),
}


def _raise_in(mode: Any) -> str:
    try:
        with mode:
            raise ValueError("x")
    except ValueError:
        return "raised"
    return "not raised"


def _leaf_update(L: Any) -> Any:
    x = L.ones(2, requires_grad=True)
    with L.no_grad():
        x.add_(1)
        x[0] = 5
        x.mul_(L.ones(2, requires_grad=True))
    return x, x._version, x.grad_fn


@pytest.mark.parametrize("name", PROGRAMS)
def test_grad_modes(name: str) -> None:
    same(PROGRAMS[name])


@pytest.mark.parametrize("name", INFERENCE_ERRORS)
def test_inference_tensor_rules(name: str) -> None:
    same(INFERENCE_ERRORS[name])


def test_inplace_on_inference_tensor_outside_inference_mode() -> None:
    same(lambda L: _inf_tensor(L).add_(1))


def test_view_made_in_no_grad() -> None:
    def program(L: Any) -> Any:
        x = L.ones(2, requires_grad=True)
        with L.no_grad():
            v = x[0:1]
        flags = (v.requires_grad, v.grad_fn, v.is_leaf)
        v.mul_(2)
        return flags
    same(program)


def test_class_decoration_warns() -> None:
    same(lambda L: L.no_grad()(type("A", (), {}))().__class__.__name__)


@pytest.mark.parametrize("lib", ["torch", "ember"])
def test_grad_mode_is_thread_local(lib: str) -> None:
    L = torch if lib == "torch" else ember
    x = L.ones(2, requires_grad=True)
    seen: dict[str, Any] = {}
    entered, release = threading.Event(), threading.Event()

    def worker() -> None:
        with L.no_grad():
            entered.set()
            release.wait(5)
            seen["worker"] = ((x * 2).requires_grad, L.is_grad_enabled())

    t = threading.Thread(target=worker)
    t.start()
    entered.wait(5)
    seen["main"] = ((x * 2).requires_grad, L.is_grad_enabled())   # the worker's no_grad is not ours
    with L.no_grad():
        child = {}
        t2 = threading.Thread(target=lambda: child.update(enabled=L.is_grad_enabled()))
        t2.start()
        t2.join()
    release.set()
    t.join()
    assert seen == {"main": (True, True), "worker": (False, False)}
    assert child == {"enabled": True}   # a new thread starts with grad mode on


def test_detach_and_data_in_inference_mode_alias_their_source() -> None:
    """detach()/.data made in inference mode are inference tensors only when their source is one (torch)."""
    import torch
    got = []
    for lib in (torch, ember):
        x = lib.ones(2, requires_grad=True)
        with lib.inference_mode():
            made = x * 2
            flags = [t.is_inference() for t in (x.detach(), x.data, made.detach(), made.data)]
        got.append(flags)
    assert got[0] == got[1] == [False, False, True, True]
