"""A tensor hook on an output of an executed node that received no gradient runs with None, as torch's (and
may not supply a gradient there)."""

from __future__ import annotations

from typing import Any

import pytest

import ember
from oracle import torch


def _seen(lib: Any, returned: Any) -> list:
    z = lib.ones(4, requires_grad=True)
    p, q = z.split(2)
    seen: list = []
    q.register_hook(lambda g: seen.append(("q", g)) or returned)
    p.register_hook(lambda g: seen.append(("p", g.tolist())))
    p.sum().backward()
    return seen + [z.grad.tolist()]


def test_hook_of_ungraded_output_sees_none() -> None:
    assert _seen(ember, None) == _seen(torch, None) == [("q", None), ("p", [1.0, 1.0]), [1.0, 1.0, 0.0, 0.0]]


@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_hook_may_not_replace_none(lib: Any) -> None:
    with pytest.raises(RuntimeError, match="can't replace a None gradient with a non-None value"):
        _seen(lib, lib.ones(2))
