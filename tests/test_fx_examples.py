"""pytorch/examples' fx programs that once failed on ember: targets recorded by a trace are the functions users
hold (``node.target is torch.exp`` after tracing, as torch's), ``torch.ops.profiler`` range ops recorded into
graphs and run from generated code, and generated code calling whatever is bound at call time (a profile sees
the ops of a GraphModule)."""

from __future__ import annotations

from typing import Any

import pytest

import ember

torch = pytest.importorskip("torch")


def _invert_code(lib: Any) -> str:
    inverse = {lib.exp: lib.log, lib.log: lib.exp, lib.tan: lib.arctan, lib.arctan: lib.tan}

    def f(x: Any) -> Any:
        return lib.exp(lib.tan(x))

    traced = lib.fx.symbolic_trace(f)
    graph = lib.fx.Graph()
    env: dict[str, Any] = {}
    for node in reversed(traced.graph.nodes):
        if node.op == "call_function":
            env[node.args[0].name] = graph.call_function(inverse[node.target], (env[node.name],))
        elif node.op == "output":
            env[node.args[0].name] = graph.placeholder(node.name)
        else:
            graph.output(env[node.name])
    return lib.fx.GraphModule(traced, graph).code


def test_traced_targets_are_the_public_functions():
    assert _invert_code(ember) == _invert_code(torch)


class _RangeTracer:
    """The examples' ProfilerTracer: record_function ranges become profiler ops in the graph."""

    def __init__(self, lib: Any) -> None:
        self.lib = lib

    def trace(self, module: Any) -> Any:
        lib = self.lib
        cls = lib.autograd.profiler.record_function
        enter, leave = cls.__enter__, cls.__exit__
        tracer = lib.fx.Tracer()

        def fake_enter(rf: Any) -> Any:
            rf._fx_ctx = tracer.create_proxy("call_function", lib.ops.profiler._record_function_enter, (rf.name,), {})
            return rf._fx_ctx

        def fake_exit(rf: Any, *exc: Any) -> None:
            lib.ops.profiler._record_function_exit(rf._fx_ctx)

        cls.__enter__, cls.__exit__ = fake_enter, fake_exit
        try:
            return lib.fx.GraphModule(module, tracer.trace(module))
        finally:
            cls.__enter__, cls.__exit__ = enter, leave


def _ranged_module(lib: Any) -> Any:
    class Foo(lib.nn.Module):
        def forward(self, x: Any) -> Any:
            with lib.profiler.record_function("foo"):
                return lib.relu(x)
    return Foo()


def test_profiler_range_ops_in_graphs():
    codes = [_RangeTracer(lib).trace(_ranged_module(lib)).code for lib in (ember, torch)]
    assert codes[0] == codes[1]
    gm = _RangeTracer(ember).trace(_ranged_module(ember))
    with ember.autograd.profiler.profile() as prof:
        gm(ember.ones(2, 3))
    keys = {e.key for e in prof.key_averages()}
    assert {"foo", "aten::relu"} <= keys


def test_generated_code_is_profiled():
    gm = ember.fx.symbolic_trace(ember.nn.ReLU())
    with ember.autograd.profiler.profile() as prof:
        gm(ember.ones(2, 3))
    assert "aten::relu" in {e.key for e in prof.key_averages()}
