"""torch.func's rules that ember.func follows: random ops under vmap by ``randomness`` ('error' refuses them,
'same' repeats the first slice's numbers, 'different' draws as torch's batched draw), and custom
autograd.Functions under transforms (setup_context required; under vmap a vmap rule or generate_vmap_rule)."""

from __future__ import annotations

from typing import Any

import pytest

import ember

torch = pytest.importorskip("torch")


def _run(lib: Any, case: Any) -> Any:
    try:
        lib.manual_seed(0)
        out = case(lib, lib.arange(6.0).reshape(2, 3))
        return "ok", [round(v, 6) for v in out.flatten().tolist()], lib.rand(1).item()
    except Exception as e:   # the error's type and text are compared
        return type(e).__name__, str(e)


RANDOM = [
    lambda L, x: L.func.vmap(lambda a: a + L.rand(3))(x),
    lambda L, x: L.func.vmap(lambda a: L.nn.functional.dropout(a, 0.5))(x),
    lambda L, x: L.func.vmap(lambda a: a * 0 + L.rand(3), randomness="same")(x),
    lambda L, x: L.func.vmap(lambda a: a * 0 + L.rand(3), randomness="different")(x),
    lambda L, x: L.func.vmap(lambda a: L.nn.functional.dropout(a + 1, 0.5), randomness="same")(x),
    lambda L, x: L.func.vmap(lambda a: L.nn.functional.dropout(a + 1, 0.5), randomness="different")(x),
    lambda L, x: L.func.vmap(L.func.vmap(lambda a: a * 0 + L.rand(()), randomness="same"), randomness="same")(x),
    lambda L, x: L.func.vmap(lambda a: L.nn.functional.dropout(a, 0.5, training=False))(x),
]


@pytest.mark.parametrize("case", RANDOM)
def test_random_ops_under_vmap_as_torch(case: Any) -> None:
    assert _run(ember, case) == _run(torch, case)


def _functions(L: Any) -> dict[str, type]:
    class Old(L.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            return x * 3

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g * 3

    class New(L.autograd.Function):
        @staticmethod
        def forward(x: Any) -> Any:
            return x * 3

        @staticmethod
        def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
            pass

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g * 3

    class Generated(New):
        generate_vmap_rule = True
    return {"Old": Old, "New": New, "Generated": Generated}


FUNCTIONS = [
    lambda L, x: L.func.vmap(_functions(L)["Old"].apply)(x),
    lambda L, x: L.func.grad(lambda t: _functions(L)["Old"].apply(t).sum())(x),
    lambda L, x: L.func.jacrev(_functions(L)["Old"].apply)(x[0]),
    lambda L, x: L.func.vmap(_functions(L)["New"].apply)(x),
    lambda L, x: L.func.grad(lambda t: _functions(L)["New"].apply(t).sum())(x),
    lambda L, x: L.func.vmap(_functions(L)["Generated"].apply)(x),
    lambda L, x: L.func.vmap(L.func.grad(lambda t: _functions(L)["Generated"].apply(t).sum()))(x),
    lambda L, x: _functions(L)["Old"].apply(x),
]


@pytest.mark.parametrize("case", FUNCTIONS)
def test_custom_functions_under_transforms_as_torch(case: Any) -> None:
    assert _run(ember, case) == _run(torch, case)
