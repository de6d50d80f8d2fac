"""``optim.swap_in_optimizer_params_and_state`` against torch: the swapped-in step, what reaches the caller's
state dict, the live optimizer restored, and every refusal's text."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import ember

torch = pytest.importorskip("torch")


def _session(lib: Any) -> list[str]:
    swap = lib.optim.swap_in_optimizer_params_and_state
    out: list[str] = []
    p = lib.nn.Parameter(lib.ones(3))
    opt = lib.optim.Adam([p], lr=0.1)
    p.grad = lib.ones(3)
    opt.step()
    q = lib.nn.Parameter(lib.zeros(3))
    q.grad = lib.full((3,), 2.0)
    osd = copy.deepcopy(opt.state_dict())
    osd["param_groups"][0]["lr"] = 1.0
    with swap(opt, {"w": q}, osd):
        out.append(repr((opt.param_groups[0]["params"][0] is q, opt.param_groups[0]["lr"], next(iter(opt.state)) is q)))
        opt.step()
        out.append(repr(opt.state[q]))
    out += [repr(q), repr(osd["state"]), repr(osd["param_groups"][0]["lr"])]
    out += [repr(p), repr(opt.state[p]), repr((opt.param_groups[0]["lr"], opt.param_groups[0]["params"][0] is p))]
    group = osd["param_groups"][0]
    refused = [
        ({"w": q}, {"state": {}, "param_groups": []}), ({}, osd), ({"w": q}, [1]),
        ({"w": q}, {"state": [], "param_groups": []}), ({"w": q}, {"state": {0: 1}, "param_groups": [group]}),
        ({"w": q}, {"state": {5: {}}, "param_groups": [group]}),
        ({"w": q}, {"state": {}, "param_groups": [{"params": [0]}]}),
        ({"w": q}, {"state": {}, "param_groups": [{**group, "params": [0, 1]}]}),
        ({"w": q}, {"state": {}, "param_groups": [{**group, "params": ["a"]}]}),
        ({"w": q}, {"state": {}, "param_groups": [3]}), ({"w": q}, {"state": {}, "param_groups": (1,)}),
    ]
    for params, sd in refused:
        with pytest.raises(RuntimeError) as caught, swap(opt, params, sd):
            pass
        out.append(str(caught.value))
    with pytest.raises(RuntimeError) as caught, swap(lib.optim.SGD([lib.nn.Parameter(lib.ones(2))]), {"w": q}, osd):
        pass
    out.append(str(caught.value))
    return out


def test_swap_in_matches_torch():
    assert _session(ember) == _session(torch)
