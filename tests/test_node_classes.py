"""grad_fn classes print as torch's: built-in nodes as ``<class 'SinBackward0'>`` (module builtins), a custom
Function's node as ``torch.autograd.function.<Name>Backward``."""

from __future__ import annotations

from typing import Any

import ember
from oracle import torch


def _node_reprs(lib: Any) -> list[str]:
    class Double(lib.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            return x * 2

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g * 2

    x = lib.ones(2, 3, requires_grad=True)
    F = lib.nn.functional
    outs = [x.sin(), x * 2, x.sum(), x.view(6), x.t(), F.gelu(x), F.relu(x), F.softmax(x, 1), x[0], x.mean(1),
            F.linear(x, lib.ones(4, 3)), F.layer_norm(x, (3,)), x.to(lib.float64), Double.apply(x)]
    nodes = [o.grad_fn for o in outs] + [outs[2].grad_fn.next_functions[0][0]]
    return [repr(type(n)) for n in nodes] + [type(n).__module__ for n in nodes]


def test_node_class_reprs_match_torch() -> None:
    assert _node_reprs(ember) == _node_reprs(torch)
