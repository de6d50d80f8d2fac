"""ember.fx against torch.fx: the same models and graph edits, written once against the torch API and run on both
libraries, must print the same graphs and generated code, compute the same values and gradients, and fail with
the same errors."""

from __future__ import annotations

import copy
import math
import operator
import pickle
from types import SimpleNamespace
from typing import Any

import pytest

import ember
from ember import overrides as eo

torch = pytest.importorskip("torch")

from oracle import assert_close  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _protocol() -> Any:
    yield
    eo._deactivate()   # tracing turned the __torch_function__ protocol on: leave the suite on the plain entry points


def _api(lib: Any) -> SimpleNamespace:
    import importlib
    name = lib.__name__
    return SimpleNamespace(lib=lib, nn=lib.nn, F=lib.nn.functional, fx=importlib.import_module(f"{name}.fx"),
                           sp=importlib.import_module(f"{name}.fx.passes.shape_prop"))


T, E = _api(torch), _api(ember)


def _twice_plus(x: Any, y: Any) -> Any:
    return x + y * 2


torch.fx.wrap("_twice_plus")
ember.fx.wrap("_twice_plus")


def _models(a: SimpleNamespace) -> dict[str, tuple[type, list[tuple[int, ...]]]]:
    """The test models, defined against ``a``'s library: {name: (class, input shapes)}."""
    lib, nn, F = a.lib, a.nn, a.F

    class MLP(nn.Module):
        def __init__(s) -> None:
            super().__init__()
            s.fc1, s.act, s.fc2 = nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)

        def forward(s, x: Any) -> Any:
            return F.log_softmax(s.fc2(s.act(s.fc1(x))), dim=-1)

    class ConvRes(nn.Module):
        def __init__(s) -> None:
            super().__init__()
            s.conv1, s.bn, s.conv2 = nn.Conv2d(2, 2, 3, padding=1), nn.BatchNorm2d(2), nn.Conv2d(2, 2, 3, padding=1)
            s.pool, s.head = nn.AdaptiveAvgPool2d(1), nn.Sequential(nn.Flatten(), nn.Linear(2, 2))

        def forward(s, x: Any) -> Any:
            h = F.relu(s.bn(s.conv1(x)))
            h = s.conv2(h) + x
            return s.head(s.pool(lib.relu(h)))

    class Methods(nn.Module):
        def forward(s, x: Any, y: Any) -> Any:
            a = x.view(x.shape[0], -1)
            b = lib.cat([a, y.reshape(2, -1)], dim=1)
            c = b[:, 1:3].transpose(0, 1).contiguous()
            d = b.sum(1, keepdim=True) * c.mean() - b.max(dim=1)[0].unsqueeze(1)
            e = lib.stack([d.squeeze(1), d.squeeze(1)]).permute(1, 0)
            p, q = b.split(5, dim=1)
            return e.exp() / (1 + e.abs()), lib.matmul(b, b.t()).tanh(), p * q ** 2, -x // 2 % 3

    class Sub(nn.Module):
        def __init__(s) -> None:
            super().__init__()
            s.lin, s.scale = nn.Linear(3, 3), nn.Parameter(lib.full((3,), 0.5))
            s.register_buffer("shift", lib.arange(3.0))

        def forward(s, x: Any) -> Any:
            return s.lin(x) * s.scale + s.shift

    class Outer(nn.Module):
        def __init__(s) -> None:
            super().__init__()
            s.sub, s.w = Sub(), nn.Parameter(lib.ones(3, 3))
            s.blocks = nn.ModuleList([nn.Linear(3, 3), nn.Tanh()])

        def forward(s, x: Any) -> Any:
            h = s.sub(x)
            for b in s.blocks:
                h = b(h)
            return F.linear(h, s.w) + s.sub.scale, h.size(1), math.sqrt(x.size(0)) * _twice_plus(x, h)

    return {"MLP": (MLP, [(2, 4)]), "ConvRes": (ConvRes, [(2, 2, 4, 4)]), "Methods": (Methods, [(2, 2, 3), (2, 2, 2)]),
            "Outer": (Outer, [(2, 3)])}


def _all_equal(lib: Any, x: Any, y: Any) -> bool:
    if isinstance(x, (tuple, list)):
        return len(x) == len(y) and all(_all_equal(lib, a, b) for a, b in zip(x, y, strict=True))
    return bool(lib.equal(x, y)) if isinstance(x, lib.Tensor) else x == y


def _first(r: Any) -> Any:
    return r[0] if isinstance(r, tuple) else r


@pytest.mark.parametrize("name", ["MLP", "ConvRes", "Methods", "Outer"])
def test_traced_model_prints_runs_and_differentiates_as_torch(name: str) -> None:
    prints = []
    results = []
    for a in (T, E):
        a.lib.manual_seed(0)
        cls, shapes = _models(a)[name]
        m = cls()
        gm = a.fx.symbolic_trace(m)
        prints.append([str(gm.graph), gm.code, gm.print_readable(print_output=False), str(gm), type(gm).__name__,
                       list(gm.state_dict()), [n for n, _ in gm.named_modules()]])
        a.lib.manual_seed(1)
        xs = [a.lib.randn(*s, requires_grad=True) for s in shapes]
        out, ref = gm(*xs), m(*xs)
        _first(out).sum().backward()
        grads = [x.grad for x in xs] + [p.grad for p in gm.parameters()]
        for t in xs + list(m.parameters()):
            t.grad = None
        _first(ref).sum().backward()
        # the GraphModule shares the original's parameters: same values, same gradients, same graph of grad_fns
        assert all(a.lib.equal(g, h) for g, h in zip(grads, [x.grad for x in xs] + [p.grad for p in m.parameters()],
                                                     strict=True))
        assert a.lib.equal(_first(out), _first(ref)) and _first(out).grad_fn.name() == _first(ref).grad_fn.name()
        results.append((out, grads))
    assert prints[1] == prints[0]
    assert_close(results[1][0], results[0][0], rtol=1e-5, atol=1e-6)
    assert_close(results[1][1], results[0][1], rtol=1e-4, atol=1e-5)


def test_functions_are_recorded_with_torchs_targets_and_arguments() -> None:
    def program(a: SimpleNamespace) -> Any:
        lib, F = a.lib, a.F

        def f(x: Any, t: Any) -> Any:
            return (F.layer_norm(x, (4,)), F.dropout(x, p=0.2, training=False), F.max_pool2d(x[None], 2),
                    F.interpolate(x[None], scale_factor=2), F.cross_entropy(x, t), F.sigmoid(x) + F.tanh(x),
                    lib.einsum("ij,kj->ik", x, x), lib.split(x, 2), lib.linalg.norm(x), F.gelu(x, approximate="tanh"),
                    F.leaky_relu(x, 0.2), F.pad(x, (1, 1), value=0.5), F.softplus(x), F.logsigmoid(x),
                    F.threshold(x, 0.1, 2.0), F.mse_loss(x, x, reduction="sum"), F.l1_loss(x, x),
                    F.conv2d(x[None, None], lib.ones(1, 1, 2, 2)), lib.where(x > 0, x, 0.0), F.embedding(t, x),
                    lib.special.erf(x), F.normalize(x, dim=0), F.avg_pool2d(x[None], 2),
                    lib.meshgrid(x[0], x[1], indexing="ij"), lib.unravel_index(t, (2, 2)), F.softmax(x, 0),
                    lib.add(x, 1, alpha=2), x.to(lib.float64), lib.ones(4) + x, lib.relu(x), x.relu(), abs(x), ~(x > 0))
        return f

    codes, outs = [], []
    for a in (T, E):
        f = program(a)
        gm = a.fx.symbolic_trace(f)
        codes.append((gm.code, str(gm.graph).replace("<built-in function", "<function")))
        a.lib.manual_seed(0)
        x, t = a.lib.randn(4, 4), a.lib.tensor([0, 1, 2, 3])
        out, ref = gm(x, t), f(x, t)
        assert _all_equal(a.lib, out, ref)
        outs.append(out)
    assert codes[1][0] == codes[0][0]
    assert [ln for ln in codes[1][1].splitlines() if "placeholder" not in ln] == \
        [ln for ln in codes[0][1].splitlines() if "placeholder" not in ln]
    assert_close(outs[1], outs[0], rtol=1e-5, atol=1e-6)


def _edit_graph(a: SimpleNamespace) -> list[Any]:
    """Insert a node, redirect uses, add dead code, DCE, lint, reorder, copy; what is printed along the way."""
    out: list[Any] = []
    a.lib.manual_seed(0)
    gm = a.fx.symbolic_trace(_models(a)["MLP"][0]())
    g = gm.graph
    fc1 = next(n for n in g.nodes if n.target == "fc1")
    with g.inserting_after(fc1):
        new = g.call_function(a.lib.relu, (fc1,))
    replaced = fc1.replace_all_uses_with(new, delete_user_cb=lambda u: u is not new)
    with g.inserting_before(new):
        dead = g.call_method("neg", (fc1,))
    out += [replaced, g.find_nodes(op="call_module"), dead.users, new.all_input_nodes, new.prev, new.next, fc1.users,
            dead.format_node(), new.format_node()]
    out += [g.eliminate_dead_code(), g.eliminate_dead_code()]
    g.lint()
    gm.recompile()
    out += [gm.code, str(g)]
    x = a.lib.randn(2, 4)
    out.append(bool(a.lib.allclose(gm(x), a.F.log_softmax(gm.fc2(gm.act(a.lib.relu(gm.fc1(x)))), dim=-1))))
    out.append(_err(lambda: g.erase_node(fc1)))
    fc2 = next(n for n in g.nodes if n.target == "fc2")
    fc1.prepend(fc2)
    out.append(_err(g.lint).split("\n")[0])
    next(n for n in g.nodes if n.target == "act").append(fc2)
    g.lint()
    out.append([n.name for n in g.nodes])
    out.append(len(g.nodes))
    fc2.replace_input_with(fc2.args[0], new)
    out.append(str(g))
    g2 = a.fx.Graph()
    vm: dict = {}
    g2.output(g2.graph_copy(g, vm))
    copied = g2.node_copy(vm[new], lambda n: vm[fc1])
    out += [str(g2), copied.name, copied.args, str(copy.deepcopy(g))]
    return out


def _err(f: Any) -> str:
    try:
        f()
    except Exception as e:   # noqa: BLE001 - the type and message are what is compared
        return f"{type(e).__name__}: {e}"
    return "no error"


def test_graph_editing_dce_lint_and_copy_as_torch() -> None:
    ours, theirs = _edit_graph(E), _edit_graph(T)
    assert [str(v) for v in ours] == [str(v) for v in theirs]


def test_graph_built_by_hand_and_graph_module_from_dict() -> None:
    texts = []
    for a in (T, E):
        g = a.fx.Graph()
        x, b = g.placeholder("x"), g.placeholder("b", default_value=2)
        w = g.get_attr("w")
        s = g.call_function(operator.add, (x, w))
        s2 = g.call_function(a.lib.sum, (s,), {"dim": 0})
        m3 = g.call_method("mul", (s2, b))
        v = g.call_method("view", (s, [3, -1]))
        t = g.call_function(getattr, (v, "T"))
        g.output((m3, [t, {"k": s}]))
        root = a.nn.Module()
        root.w = a.nn.Parameter(a.lib.ones(3))
        gm = a.fx.GraphModule(root, g, "Built")
        gm2 = a.fx.GraphModule({"w": a.lib.zeros(3)}, g)
        r = gm(a.lib.ones(3), 3)
        texts.append([str(g), gm.code, type(gm).__name__, r[0].item(), list(gm2.state_dict()),
                      gm2(a.lib.ones(3))[0].item(), sorted(g.python_code("self").globals) if a is T else None,
                      _err(lambda g=g, s=s: g.erase_node(s)), _err(lambda s=s, a=a: a.fx.Graph().erase_node(s)),
                      _err(lambda a=a, g=g: a.fx.GraphModule(1, g))])
    texts[0][6] = None   # torch's globals also name its pytree helpers
    assert texts[1] == texts[0]
    assert sorted(ember.fx.Graph().python_code("self").globals) == ["NoneType", "device", "inf", "nan", "torch"]


def test_submodules_deepcopy_and_pickle() -> None:
    seen = []
    for a in (T, E):
        a.lib.manual_seed(0)
        gm = a.fx.symbolic_trace(_models(a)["Outer"][0]())
        added = gm.add_submodule("extra.deep", a.nn.ReLU())
        names = [n for n, _ in gm.named_modules()]
        gm.delete_all_unused_submodules()
        x = a.lib.randn(2, 3)
        gm2 = copy.deepcopy(gm)
        assert gm2.w is not gm.w and a.lib.equal(gm2.w, gm.w)
        assert gm2.code == gm.code and a.lib.equal(gm2(x)[0], gm(x)[0])
        # torch cannot pickle code naming wrapped functions or string annotations (this file's): a Sequential
        conv = a.fx.symbolic_trace(a.nn.Sequential(a.nn.Conv2d(2, 2, 3), a.nn.ReLU(), a.nn.Flatten()))
        gm3 = pickle.loads(pickle.dumps(conv))
        y = a.lib.randn(1, 2, 4, 4)
        assert gm3.code == conv.code and a.lib.equal(gm3(y), conv(y))
        seen.append([added, names, [n for n, _ in gm.named_modules()], repr(gm.get_submodule("sub.lin")),
                     type(gm2).__name__, type(gm3).__name__, list(gm3.state_dict()), gm3.print_readable(False)])
    assert seen[1] == seen[0]
    gm0 = ember.fx.symbolic_trace(_models(E)["Outer"][0]())
    gm = pickle.loads(pickle.dumps(gm0))   # ember can
    assert gm.code == gm0.code and "math_sqrt(size_1)" in gm.code and ember.equal(gm(x)[2], gm0(x)[2])


def test_interpreter_and_transformer_subclasses() -> None:
    seen = []
    for a in (T, E):
        fx = a.fx

        class Rewired(fx.Interpreter):
            def call_function(self, target: Any, args: Any, kwargs: Any) -> Any:
                return super().call_function(operator.sub if target is operator.add else target, args, kwargs)

            def call_module(self, target: Any, args: Any, kwargs: Any) -> Any:
                r = super().call_module(target, args, kwargs)
                return r * 2 if target == "sub.lin" else r

        class Swap(fx.Transformer):
            def call_function(self, target: Any, args: Any, kwargs: Any) -> Any:
                return super().call_function(operator.mul if target is operator.add else target, args, kwargs)

            def call_method(self, target: Any, args: Any, kwargs: Any) -> Any:
                return 3 if target == "size" else super().call_method(target, args, kwargs)

        a.lib.manual_seed(0)
        gm = fx.symbolic_trace(_models(a)["Outer"][0]())
        x = a.lib.randn(2, 3)
        run = Rewired(gm).run(x)
        t = Swap(gm).transform()
        seen.append([run[0].detach().numpy().round(5).tolist(), run[1], t.code, str(t.graph), type(t).__name__,
                     t(x)[1], fx.Interpreter(gm).run(x)[0].detach().numpy().round(5).tolist()])
        assert a.lib.equal(fx.Interpreter(gm).run(x)[0], gm(x)[0])
    assert seen[1] == seen[0]
    # torch's text (its error path imports torch._inductor: seconds, so not run here)
    assert _err(lambda: ember.fx.Interpreter(gm).run()) == (
        "RuntimeError: Expected positional argument for parameter x, but one was not passed in!\n\nWhile executing "
        "%x : 'Any' [num_users=3] = placeholder[target=x]\nOriginal traceback:\nNone\nUse tlparse to see full graph. "
        "(https://github.com/pytorch/tlparse?tab=readme-ov-file#tlparse-parse-structured-pt2-logs)")


def test_shape_prop_metadata() -> None:
    seen = []
    for a in (T, E):
        a.lib.manual_seed(0)
        for name, (cls, shapes) in _models(a).items():
            if name == "Outer":
                continue
            gm = a.fx.symbolic_trace(cls())
            a.sp.ShapeProp(gm).propagate(*[a.lib.randn(*s) for s in shapes])
            seen.append([(n.name, str(n.meta.get("tensor_meta")), n.meta["type"].__name__) for n in gm.graph.nodes])
    half = len(seen) // 2
    assert seen[half:] == seen[:half]
    assert "memory_format=torch.contiguous_format" in seen[half][1][1]


def _replace_pattern_case(a: SimpleNamespace) -> list[Any]:
    lib = a.lib

    def pattern(x: Any, y: Any) -> Any:
        return lib.add(x, y).relu()

    def replacement(x: Any, y: Any) -> Any:
        return lib.mul(x, y).sigmoid()

    class M(a.nn.Module):
        def forward(s, p: Any, q: Any, r: Any) -> Any:
            u = lib.add(p, q).relu()
            v = lib.add(u, r).relu()
            return v + lib.add(p, r)

    gm = a.fx.symbolic_trace(M())
    matches = a.fx.replace_pattern(gm, pattern, replacement)
    p, q, r = lib.randn(3), lib.randn(3), lib.randn(3)
    assert lib.allclose(gm(p, q, r), lib.sigmoid(lib.sigmoid(p * q) * r) + p + r)
    return [gm.code, [(m.anchor.name, sorted((k.name, v.name) for k, v in m.nodes_map.items())) for m in matches]]


def test_replace_pattern() -> None:
    assert _replace_pattern_case(E) == _replace_pattern_case(T)


def test_tracing_errors_and_special_inputs() -> None:
    def cases(a: SimpleNamespace) -> list[Any]:
        class Branch(a.nn.Module):
            def forward(s, x: Any) -> Any:
                if x.sum() > 0:
                    return x
                return -x

        def with_kw(x: Any, y: int = 3, *, flag: bool = True) -> Any:
            return x * y if flag else x

        def typed(x: torch.Tensor, n: Any) -> torch.Tensor:   # postponed: the annotations are strings
            return a.lib.relu(x) + n

        out = [_err(lambda f=f: a.fx.symbolic_trace(f)) for f in
               (Branch(), lambda x: [v for v in x], lambda x: len(x), lambda x: x in [1], lambda x: float(x),
                lambda x: {**x})]
        gm = a.fx.symbolic_trace(with_kw, concrete_args={"flag": True})
        out += [gm.code, gm(a.lib.ones(2), 2).tolist(), _err(lambda: gm(a.lib.ones(2), 2, False))]
        out += [a.fx.symbolic_trace(with_kw, concrete_args={"y": 2, "flag": True}).code]
        gm = a.fx.symbolic_trace(typed)
        out += [gm.code, str(gm.graph), type(gm).__name__]
        return out
    ours, theirs = cases(E), cases(T)
    assert ours == theirs


def _custom_tracers_case(a: SimpleNamespace) -> list[Any]:
    outer = _models(a)["Outer"][0]()
    sub_cls = type(outer.sub)

    class Inline(a.fx.Tracer):
        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            return isinstance(m, (a.nn.Linear, a.nn.Tanh))

        def create_node(self, *args: Any, **kwargs: Any) -> Any:
            n = super().create_node(*args, **kwargs)
            n.meta["tag"] = n.op
            return n

    class KeepSub(a.fx.Tracer):
        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            return isinstance(m, sub_cls) or super().is_leaf_module(m, qualname)

    tr = Inline()
    g = tr.trace(outer)
    gm = a.fx.GraphModule(tr.root, g)
    return [str(g), gm.code, [n.meta["tag"] for n in g.nodes], str(KeepSub().trace(outer))]


def test_tracer_overrides_and_node_meta() -> None:
    assert _custom_tracers_case(E) == _custom_tracers_case(T)


def test_node_and_collections_api() -> None:
    g = ember.fx.Graph()
    x = g.placeholder("x")
    y = g.call_function(ember.add, (x, [x, (x, 1)]), {"alpha": 2})
    g.output(y)
    assert isinstance(y.args[1], ember.fx.immutable_collections.immutable_list)
    assert y.all_input_nodes == [x] and list(x.users) == [y]
    assert ember.fx.map_arg(y.args, lambda n: n.name) == ("x", ["x", ("x", 1)])
    lst = ember.fx.immutable_collections.immutable_list([1, (2, 3)])
    back = pickle.loads(pickle.dumps(lst))
    assert type(back) is type(lst) and back == lst and hash(back) == hash(lst) == hash((1, (2, 3)))
    with pytest.raises(TypeError, match="'immutable_list' object does not support mutation") as ours:
        y.args[1].append(1)
    with pytest.raises(TypeError) as theirs:
        torch.fx.immutable_collections.immutable_list([1]).append(2)
    assert str(ours.value) == str(theirs.value)
    assert g.find_nodes(op="call_function", target=ember.add) == [y]
    assert y.format_node() == ("%add : [num_users=1] = call_function[target=torch.add](args = (%x, [%x, (%x, 1)]), "
                               "kwargs = {alpha: 2})")
    y.update_kwarg("alpha", 3)
    y.insert_arg(2, 5)
    assert y.kwargs == {"alpha": 3} and y.args[2] == 5


def _traced_through(a: SimpleNamespace) -> list[str]:
    class All(a.fx.Tracer):
        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            return False
    return [str(All().trace(m)) for m in (a.nn.Tanh(), a.nn.Sigmoid(), a.nn.Dropout(), a.nn.Softmax(1))]


def test_standard_modules_traced_through_as_torch() -> None:
    assert _traced_through(E) == _traced_through(T)
