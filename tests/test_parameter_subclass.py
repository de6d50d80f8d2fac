"""``nn.Parameter`` of a tensor subclass against torch: the subclass stays (its ``detach()`` flagged as a
parameter), ``isinstance(p, nn.Parameter)`` holds, it prints wrapped in ``Parameter(...)``, modules register it,
and a subclass whose ``detach()`` changes the type is refused with torch's error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import ember
from oracle import assert_same_error, torch


@pytest.fixture(scope="module", autouse=True)
def _protocol() -> Iterator[None]:
    """Defining the subclasses turns the __torch_function__ protocol on: leave the rest of the suite without it."""
    yield
    __import__("ember.overrides").overrides._deactivate()


def _classes(lib: Any) -> tuple[type, type]:
    disable = lib._C.DisableTorchFunctionSubclass if lib is torch else lib.DisableTorchFunctionSubclass

    class T(lib.Tensor):
        pass

    class U(lib.Tensor):   # its handler returns plain tensors: detach() changes the type
        @classmethod
        def __torch_function__(cls, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
            with disable():
                return func(*args, **(kwargs or {}))
    return T, U


def _facts(lib: Any) -> list:
    T, _ = _classes(lib)
    p = lib.nn.Parameter(lib.ones(2, 2).as_subclass(T))
    q = lib.nn.Parameter(lib.ones(2).as_subclass(T), requires_grad=False)
    m = lib.nn.Linear(2, 2)
    m.weight = p
    return [type(p).__name__, isinstance(p, lib.nn.Parameter), p.requires_grad, p.is_leaf, repr(p), repr(q),
            isinstance(lib.ones(2).as_subclass(T), lib.nn.Parameter), [n for n, _ in m.named_parameters()],
            m.weight is p]


def test_parameter_of_a_subclass_like_torch() -> None:
    assert _facts(ember) == _facts(torch)


def test_parameter_refuses_a_detach_that_changes_the_type() -> None:
    assert_same_error(lambda: ember.nn.Parameter(ember.ones(2).as_subclass(_classes(ember)[1])),
                      lambda: torch.nn.Parameter(torch.ones(2).as_subclass(_classes(torch)[1])))
