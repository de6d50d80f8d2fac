"""torch.autograd.graph's saved-tensor hooks, gradient edges, multi-grad hooks and increment_version,
compared with torch call by call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import ember
from oracle import assert_close, assert_same_error

LIBS = (ember, torch)
X = np.arange(12.0).reshape(3, 4) / 7 - 0.5
W = np.arange(20.0).reshape(4, 5) / 9


def _inputs(lib: Any) -> tuple[Any, Any]:
    x = lib.tensor(X, dtype=lib.float32, requires_grad=True)
    w = lib.tensor(W, dtype=lib.float32, requires_grad=True)
    return x, w


# programs whose saved tensors (what is packed, in which order, what is unpacked) are torch's
PROGRAMS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "mul_self": lambda L, x, w: x * x,
    "mul_constant": lambda L, x, w: x * L.ones(3, 4),
    "mul_by_number_of_view": lambda L, x, w: x.view(12) * 2,
    "exp": lambda L, x, w: x.exp(),
    "sin": lambda L, x, w: x.sin(),
    "tanh": lambda L, x, w: x.tanh(),
    "sigmoid": lambda L, x, w: x.sigmoid(),
    "relu": lambda L, x, w: L.relu(x),
    "div": lambda L, x, w: x / (x.abs() + 1),
    "softmax": lambda L, x, w: L.softmax(x, 1),
    "log_softmax": lambda L, x, w: L.log_softmax(x, 1),
    "mean": lambda L, x, w: x.mean(1),
    "sqrt": lambda L, x, w: (x.abs() + 1).sqrt(),
    "mse": lambda L, x, w: L.nn.functional.mse_loss(x, L.zeros(3, 4)),
    "max": lambda L, x, w: x.max(1)[0],
    "cat": lambda L, x, w: L.cat([x, x]),
    "mm": lambda L, x, w: x @ w,
    "mm_constant_input": lambda L, x, w: x.detach() @ w,
    "mm_constant_weight": lambda L, x, w: x @ w.detach(),
    "linear_bias": lambda L, x, w: L.nn.functional.linear(x, w.t(), w[0]),
    "addmm": lambda L, x, w: L.addmm(L.zeros(3, 5), x, w),
    "bmm": lambda L, x, w: L.bmm(x.unsqueeze(0), w.unsqueeze(0)),
    "baddbmm": lambda L, x, w: L.baddbmm(L.zeros(1, 3, 5), x.unsqueeze(0), w.unsqueeze(0)),
    "mv": lambda L, x, w: x @ w[:, 0],
    "addmv": lambda L, x, w: L.addmv(w[0, :3], x, w[:, 1]),
    "addr": lambda L, x, w: L.addr(x, w[:3, 0], w[0, :4]),
    "dot": lambda L, x, w: x[0].dot(w[:, 0]),
    "matmul_batched": lambda L, x, w: x.unsqueeze(0).expand(2, 3, 4) @ w,
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_pack_and_unpack_calls_match_torch(name: str) -> None:
    logs, grads = [], []
    for lib in LIBS:
        x, w = _inputs(lib)
        log: list[tuple] = []

        def pack(t: Any, log: list = log) -> Any:
            log.append(("pack", tuple(t.shape), str(t.dtype).split(".")[-1], t.requires_grad))
            return t

        def unpack(t: Any, log: list = log) -> Any:
            log.append(("unpack", tuple(t.shape)))
            return t
        with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = PROGRAMS[name](lib, x, w)
        y.sum().backward()
        logs.append(log)
        grads.append(x.grad)
    assert logs[0] == logs[1]
    assert_close(grads[0], grads[1])


def test_unpacked_values_are_what_backward_uses() -> None:
    res = []
    for lib in LIBS:
        x, _ = _inputs(lib)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t.detach().clone(), lambda t: t * 0 + 1):
            (x * x).sum().backward()
        res.append(x.grad)
    assert_close(res[0], res[1])
    np.testing.assert_array_equal(res[0].numpy(), np.full((3, 4), 2.0, np.float32))   # 1·g + 1·g


@pytest.mark.parametrize("pack", ["clone", "identity", "cpu"])
def test_double_backward_through_packed_tensors(pack: str) -> None:
    """create_graph: the unpacked tensors stand where the originals stood (leaves, intermediates, outputs)."""
    res = []
    for lib in LIBS:
        x, _ = _inputs(lib)
        hooks = (lib.autograd.graph.save_on_cpu() if pack == "cpu" else
                 lib.autograd.graph.saved_tensors_hooks(
                     (lambda t: t.detach().clone()) if pack == "clone" else (lambda t: t), lambda t: t))
        with hooks:
            y = (x * x * x).sum() + x.exp().pow(2).sum() + x.tanh().sum()
        g, = lib.autograd.grad(y, x, create_graph=True)
        gg, = lib.autograd.grad((g * g).sum(), x)
        res.append((g, gg))
    assert_close(res[0][0], res[1][0])
    assert_close(res[0][1], res[1][1], rtol=1e-5, atol=1e-5)


def test_in_place_change_after_packing_is_not_checked() -> None:
    """With hooks the saved value is the hook's business: torch does not check the version (nor does ember)."""
    res = []
    for lib in LIBS:
        x, _ = _inputs(lib)
        a = x.clone()
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t.clone(), lambda t: t):
            b = a * a
        a.add_(1)
        b.sum().backward()
        res.append(x.grad)
    assert_close(res[0], res[1])


def test_errors_as_torch() -> None:
    def bad_unpack(lib: Any) -> None:
        x, _ = _inputs(lib)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: 5, lambda v: 3):
            y = x * x
        y.sum().backward()

    def in_place_pack(lib: Any) -> None:
        x, _ = _inputs(lib)

        def pack(t: Any) -> Any:
            t.add_(1)
            return t
        with lib.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            x.clone() * x

    def disabled(lib: Any) -> None:
        with lib.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
            with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                pass

    def disable_while_active(lib: Any) -> None:
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            with lib.autograd.graph.disable_saved_tensors_hooks("hooks are active"):
                pass

    def second_backward(lib: Any) -> None:
        x, _ = _inputs(lib)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            y = (x * x).sum()
        y.backward()
        y.backward()

    for case in (bad_unpack, in_place_pack, disabled, disable_while_active, second_backward):
        assert_same_error(lambda case=case: case(ember), lambda case=case: case(torch))


def test_nested_hooks_use_the_innermost_and_disable_nests() -> None:
    logs = []
    for lib in LIBS:
        x, _ = _inputs(lib)
        log: list[str] = []
        G = lib.autograd.graph
        with G.saved_tensors_hooks(lambda t, log=log: (log.append("outer"), t)[1], lambda t: t):
            with G.saved_tensors_hooks(lambda t, log=log: (log.append("inner"), t)[1], lambda t: t):
                y = x * x
            z = x.exp()
        (y.sum() + z.sum()).backward()
        with G.disable_saved_tensors_hooks("A"), G.disable_saved_tensors_hooks("B"):
            try:
                with G.saved_tensors_hooks(lambda t: t, lambda t: t):
                    pass
            except RuntimeError as e:
                log.append(str(e))
        logs.append(log)
    assert logs[0] == logs[1] == ["inner", "inner", "outer", "B"]


def test_no_grad_saves_nothing() -> None:
    for lib in LIBS:
        x, _ = _inputs(lib)
        seen: list[Any] = []
        with lib.no_grad(), lib.autograd.graph.saved_tensors_hooks(lambda t, seen=seen: seen.append(t) or t,
                                                                        lambda t: t):
            x.exp()
        assert seen == []


def test_custom_function_save_for_backward_goes_through_hooks() -> None:
    res = []
    for lib in LIBS:
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx: Any, a: Any) -> Any:
                ctx.save_for_backward(a)
                return a ** 3

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                a, = ctx.saved_tensors
                return 3 * a * a * g
        x, _ = _inputs(lib)
        log: list[str] = []
        with lib.autograd.graph.saved_tensors_hooks(lambda t, log=log: (log.append("p"), t)[1],
                                                    lambda t, log=log: (log.append("u"), t)[1]):
            y = Cube.apply(x)
        y.sum().backward()
        res.append((log, x.grad))
    assert res[0][0] == res[1][0]
    assert_close(res[0][1], res[1][1])


def test_gradient_edges() -> None:
    out = []
    for lib in LIBS:
        G = lib.autograd.graph
        x, _ = _inputs(lib)
        y = x * 2
        e_leaf, e_y = G.get_gradient_edge(x), G.get_gradient_edge(y)
        assert e_leaf.node is x.grad_fn or e_leaf.node.name() == "torch::autograd::AccumulateGrad"
        assert e_y.node is y.grad_fn and e_y.output_nr == 0 and e_y.ownership_token is None
        assert isinstance(e_y, tuple) and len(e_y) == 3
        z = (y * y).sum()
        out.append(lib.autograd.grad(z, e_y, retain_graph=True) + lib.autograd.grad(z, (e_leaf, x)))
    for a, b in zip(out[0], out[1], strict=True):
        assert_close(a, b)
    assert_same_error(lambda: ember.autograd.graph.get_gradient_edge(ember.ones(2)),
                      lambda: torch.autograd.graph.get_gradient_edge(torch.ones(2)))


def test_increment_version() -> None:
    for lib in LIBS:
        t = lib.ones(2)
        lib.autograd.graph.increment_version(t)
        lib.autograd.graph.increment_version([t, t])
        assert t._version == 3
        x, _ = _inputs(lib)
        a = x.clone()
        b = a * a
        lib.autograd.graph.increment_version(a)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            b.sum().backward()


@pytest.mark.parametrize("mode", ["all", "any"])
def test_multi_grad_hook(mode: str) -> None:
    calls = []
    for lib in LIBS:
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0, 4.0], requires_grad=True)
        c = lib.tensor([5.0, 6.0])
        log: list[Any] = []

        def fn(g: Any, log: list = log) -> None:
            if mode == "all":
                log.append([None if x is None else x.tolist() for x in g])
            else:
                log.append(g.tolist())
        h = lib.autograd.graph.register_multi_grad_hook((a, b), fn, mode=mode)
        (a * 2).sum().backward()
        (a * 3 + b * c).sum().backward()
        h.remove()
        (a + b).sum().backward()
        calls.append(log)
    assert calls[0] == calls[1]
    assert_same_error(lambda: ember.autograd.graph.register_multi_grad_hook((), print, mode="x"),
                      lambda: torch.autograd.graph.register_multi_grad_hook((), print, mode="x"))


def test_saved_tensors_stay_referenced_only_by_hook_results() -> None:
    """save_on_cpu on CPU tensors keeps values exact; the release after backward frees the packed values."""
    import gc
    import weakref
    x, _ = _inputs(ember)
    keep: list[Any] = []
    with ember.autograd.graph.saved_tensors_hooks(lambda t: (keep.append(weakref.ref(t)), t.clone())[1],
                                                  lambda t: t):
        y = (x.exp() * x).sum()
    packed = [r for r in y.grad_fn.next_functions[0][0]._saved if r is not None]
    assert packed and all(type(p).__name__ == "Packed" for p in packed)
    y.backward()
    gc.collect()
    assert all(type(p).__name__ != "Packed" for p in y.grad_fn.next_functions[0][0]._saved if p is not None)
