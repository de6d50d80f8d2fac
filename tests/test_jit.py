"""ember.jit against torch.jit: markers, helpers, script/trace wrappers, freeze, save/load.

The model tests write one torchvision-style source file twice, once importing torch and once importing
ember as torch, and run both the eager and the scripted/traced forms with the same weights.
"""

from __future__ import annotations

import copy
import importlib
import io
import os
import pickle
import sys
import textwrap
import typing
import warnings
import zipfile
from typing import Any, Optional

import pytest

import ember
import ember.jit as ejit
import ember.nn as enn
from oracle import assert_close, assert_same_error, to_ember, torch

tjit = torch.jit
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MODEL_SOURCE = '''
from typing import Dict, List, Optional, Tuple

import {torch} as torch
import {torch}.nn as nn
import {torch}.nn.functional as F


class Block(nn.Module):
    expand: torch.jit.Final[int]

    def __init__(self, c: int, expand: int = 2) -> None:
        super().__init__()
        self.expand = expand
        self.conv = nn.Conv2d(c, c * expand, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c * expand)
        self.proj = nn.Conv2d(c * expand, c, 1)
        self.memory_efficient = False

    @torch.jit.unused
    def call_checkpoint(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x) * 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn(self.conv(x)))
        if self.memory_efficient and not torch.jit.is_scripting():
            y = self.call_checkpoint(y)
        else:
            y = self.proj(y)
        return x + y


class Net(nn.Module):
    def __init__(self, num_classes: int = 3) -> None:
        super().__init__()
        self.stem = nn.Conv2d(2, 4, 3, padding=1)
        self.blocks = nn.Sequential(Block(4), Block(4))
        self.heads = nn.ModuleList([nn.Linear(4, num_classes), nn.Linear(4, 1)])
        self.register_buffer("scale", torch.tensor(0.5))

    @torch.jit.export
    def features(self, x: torch.Tensor) -> List[torch.Tensor]:
        feats = torch.jit.annotate(List[torch.Tensor], [])
        x = self.stem(x)
        feats.append(x)
        for b in self.blocks:
            x = b(x)
            feats.append(x)
        return feats

    @torch.jit.ignore
    def describe(self) -> str:
        return "net"

    def forward(self, x: torch.Tensor, bias: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = self.features(x)[-1]
        x = F.adaptive_avg_pool2d(x, 1).flatten(1) * self.scale
        out = self.heads[0](x)
        for i, h in enumerate(self.heads):
            if i > 0:
                out = out + h(x)
        if bias is not None:
            out = out + bias
        return out


def typed(a: Tuple[int, torch.Tensor], b: Dict[str, torch.Tensor], c: List[List[float]], d: bool = True,
          e: str = "x", f: float = 1e-5, g: float = 2.0, k: Optional[List[int]] = None) -> Optional[int]:
    return None


def twice(x: torch.Tensor, n: int = 2) -> torch.Tensor:
    return x * n


scripted_twice = torch.jit.script(twice)
'''


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("jit_models")
    for lib in ("torch", "ember"):
        (folder / f"jit_model_{lib}.py").write_text(MODEL_SOURCE.format(torch=lib))
    sys.path.insert(0, str(folder))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield importlib.import_module("jit_model_torch"), importlib.import_module("jit_model_ember")
    finally:
        sys.path.remove(str(folder))
        for lib in ("torch", "ember"):
            sys.modules.pop(f"jit_model_{lib}", None)


def _pair(models: Any) -> tuple[Any, Any]:
    tm, em = models
    torch.manual_seed(0)
    t_net = tm.Net()
    e_net = em.Net()
    e_net.load_state_dict({k: to_ember(v) for k, v in t_net.state_dict().items()})
    return t_net, e_net


def _same(a: Any, b: Any) -> None:
    """Two ember results are equal bit for bit."""
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
        return
    assert a.shape == b.shape and a.dtype == b.dtype and bool(ember.equal(a, b)), (a, b)


def _inputs() -> tuple[Any, Any]:
    torch.manual_seed(1)
    x = torch.randn(2, 2, 5, 5)
    return x, to_ember(x)


# ---- markers and helpers ------------------------------------------------------------------------------------
def test_markers_match_torch() -> None:
    for deco in ("ignore", "unused", "export"):
        def t_fn() -> None: ...
        def e_fn() -> None: ...
        assert getattr(tjit, deco)(t_fn) is t_fn and getattr(ejit, deco)(e_fn) is e_fn
        assert e_fn.__dict__ == t_fn.__dict__ and "_torchscript_modifier" in e_fn.__dict__
    def t_g() -> None: ...
    def e_g() -> None: ...
    with pytest.warns(FutureWarning, match=r"ignore\(True\) has been deprecated"):
        assert ejit.ignore(drop=True)(e_g) is e_g
    with pytest.warns(FutureWarning):
        tjit.ignore(drop=True)(t_g)
    assert e_g.__dict__ == t_g.__dict__
    assert_same_error(lambda: ejit.ignore(3), lambda: tjit.ignore(3))
    # unused on a property marks getter and setter
    t_prop = tjit.unused(property(lambda s: 1, lambda s, v: None))
    e_prop = ejit.unused(property(lambda s: 1, lambda s, v: None))
    assert isinstance(e_prop, property)
    assert e_prop.fget.__dict__ == t_prop.fget.__dict__ and e_prop.fset.__dict__ == t_prop.fset.__dict__


def test_eager_helpers() -> None:
    assert ejit.is_scripting() is tjit.is_scripting() is False
    assert ejit.is_tracing() is tjit.is_tracing() is False
    v = [1]
    assert ejit.annotate(list[int], v) is v
    assert ejit.Final is tjit.Final is typing.Final
    assert repr(ejit.Attribute(1, int)) == repr(tjit.Attribute(1, int))
    assert ejit.Attribute(2, int).value == 2
    assert issubclass(ejit.TracerWarning, Warning) and issubclass(ejit.Error, Exception)
    assert ejit.Future is ember.futures.Future and ejit.Iterator is tjit.Iterator


@pytest.mark.parametrize("obj, target", [
    ([1, 2], list[int]), ([1, "a"], list[int]), ({"a": [1]}, dict[str, list[int]]), ((1, "a"), tuple[int, str]),
    ((1, 2), tuple[int]), (None, Optional[int]), (3, Optional[int]), ("x", Optional[int]),  # noqa: UP045
    (3, int | str), (None, int | None),
    (1.5, (int, float)), ([[1.0]], list[list[float]]), (3, int),
])
def test_isinstance_matches_torch(obj: Any, target: Any) -> None:
    assert ejit.isinstance(obj, target) == tjit.isinstance(obj, target)


def test_isinstance_errors_and_warning() -> None:
    for bad in (list, dict, typing.List, typing.Optional, [int]):  # noqa: UP006
        assert_same_error(lambda b=bad: ejit.isinstance([1], b), lambda b=bad: tjit.isinstance([1], b))
    with pytest.warns(UserWarning, match="inner type of a container is lost"):
        assert ejit.isinstance([], list[int])


def test_annotations_module() -> None:
    from torch.jit import annotations as t_ann

    from ember.jit import annotations as e_ann

    assert e_ann.BroadcastingList2[float] is t_ann.BroadcastingList2[float] is None
    for name in ("Any", "Dict", "List", "Optional", "Tuple", "Union"):
        assert getattr(e_ann, name) is getattr(t_ann, name)
    for ann in (tuple[int, str], list[int], dict[str, int], Optional[int], int | None, int | str, int):  # noqa: UP045
        for pred in ("is_tuple", "is_list", "is_dict", "is_optional", "is_union"):
            assert getattr(e_ann, pred)(ann) == getattr(t_ann, pred)(ann), (pred, ann)


def test_interface() -> None:
    @ejit.interface
    class Iface(enn.Module):
        def forward(self, x: ember.Tensor) -> ember.Tensor: ...

    assert "__torch_script_interface__" in Iface.__dict__
    assert_same_error(lambda: ejit.interface(3), lambda: tjit.interface(3))

    class Base:
        pass

    assert_same_error(lambda: ejit.interface(type("J", (Base,), {})), lambda: tjit.interface(type("J", (Base,), {})))


def test_fusion_switches() -> None:
    t_old = tjit.set_fusion_strategy([("STATIC", 2)])
    try:
        assert ejit.set_fusion_strategy([("STATIC", 2)]) == t_old == [("STATIC", 2), ("DYNAMIC", 10)]
        assert ejit.set_fusion_strategy([("DYNAMIC", 3)]) == tjit.set_fusion_strategy([("DYNAMIC", 3)])
    finally:
        tjit.set_fusion_strategy(t_old)
        ejit.set_fusion_strategy(t_old)
    assert ejit.onednn_fusion_enabled() is False
    assert ejit.enable_onednn_fusion(True) is None and ejit.onednn_fusion_enabled() is True
    ejit.enable_onednn_fusion(False)
    with pytest.warns(UserWarning, match="Only works in script mode"), ejit.strict_fusion():
        pass
    assert_same_error(lambda: ejit.fuser("bad").__enter__(), lambda: tjit.fuser("bad").__enter__())
    with ejit.optimized_execution(False), ejit.fuser("fuser1"):
        pass
    with pytest.raises(RuntimeError, match="eagerly"):
        ejit.last_executed_optimized_graph()


def test_fork_wait() -> None:
    fut = ejit.fork(lambda a, b=1: a * 2 + b, ember.ones(2), b=3)
    assert isinstance(fut, ember.futures.Future) and fut.done()
    assert_close(ejit.wait(fut), tjit.wait(tjit.fork(lambda a, b=1: a * 2 + b, torch.ones(2), b=3)))

    def bad() -> None:
        raise ValueError("boom")

    assert_same_error(lambda: ejit.fork(bad), lambda: tjit.fork(bad))


def test_deprecation_warnings_match_torch(models: Any) -> None:
    def warned(fn: Any) -> list[str]:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            fn()
        return [str(x.message) for x in w if x.category is DeprecationWarning]

    tm, em = models
    calls = [
        lambda j, lib, net: j.script(net),
        lambda j, lib, net: j.trace(lambda x: x, lib.ones(1)),
        lambda j, lib, net: j.wait(j.fork(len, [1])),
        lambda j, lib, net: j.freeze(j.script(net).eval()),
        lambda j, lib, net: j.set_fusion_strategy(j.set_fusion_strategy([("STATIC", 2), ("DYNAMIC", 10)])),
    ]
    for call in calls:  # torch may repeat a warning (once per submodule): compare the distinct messages
        e_msgs = warned(lambda c=call: c(ejit, ember, em.Net()))
        assert e_msgs and set(e_msgs) == set(warned(lambda c=call: c(tjit, torch, tm.Net())))


# ---- script: functions ----------------------------------------------------------------------------------------
def test_script_function(models: Any) -> None:
    tm, em = models
    t_sf, e_sf = tm.scripted_twice, em.scripted_twice
    assert isinstance(e_sf, ejit.ScriptFunction) and type(e_sf).__name__ == type(t_sf).__name__
    assert e_sf.name == t_sf.name == "twice"
    assert t_sf.qualified_name == "__torch__.jit_model_torch.twice"
    assert e_sf.qualified_name == "__torch__.jit_model_ember.twice"
    assert e_sf.schema == str(t_sf.schema)
    assert ejit.script(em.typed).schema == str(tjit.script(tm.typed).schema)
    assert_close(e_sf(ember.arange(3.0), n=3), t_sf(torch.arange(3.0), n=3))
    assert "return x * n" in e_sf.code
    assert e_sf.__name__ == t_sf.__name__ == "ScriptFunction"  # torch names scripted functions so
    assert not hasattr(ejit.trace(em.twice, ember.ones(1)), "__name__")
    assert not hasattr(tjit.trace(tm.twice, torch.ones(1)), "__name__")
    with pytest.raises(RuntimeError, match="eagerly"):
        _ = e_sf.graph
    assert ejit.script(e_sf) is e_sf


def test_script_function_errors_are_python_errors() -> None:
    def f(x: ember.Tensor) -> ember.Tensor:
        return x.view(5)

    with pytest.raises(RuntimeError, match="shape"):
        ejit.script(f)(ember.ones(2))
    with pytest.raises(TypeError):
        ejit.script(f)()


def test_script_refusals_match_torch() -> None:
    lam = lambda x: x  # noqa: E731
    e_err = pytest.raises(RuntimeError, ejit.script, lam)
    t_err = pytest.raises(RuntimeError, tjit.script, lam)
    assert str(e_err.value) == str(t_err.value)
    assert_same_error(lambda: ejit.script("abc"), lambda: tjit.script("abc"))

    class C:
        pass

    assert ejit.script(C) is C


def test_compilation_unit() -> None:
    cu = ejit.CompilationUnit("def f(x: Tensor, n: int) -> Tensor:\n    return torch.relu(x) * n\n")
    t_cu = tjit.CompilationUnit("def f(x: Tensor, n: int) -> Tensor:\n    return torch.relu(x) * n\n")
    x = torch.randn(4)
    assert_close(cu.f(to_ember(x), 3), t_cu.f(x, 3))
    assert cu.find_function("f") is cu.f and cu.find_function("g") is None and cu.f.schema == str(t_cu.f.schema)
    with pytest.raises(AttributeError):
        cu.g  # noqa: B018


# ---- script: modules --------------------------------------------------------------------------------------------
def test_scripted_model_matches_torch(models: Any) -> None:
    t_net, e_net = _pair(models)
    tx, ex = _inputs()
    t_sm, e_sm = tjit.script(t_net), ejit.script(e_net)
    assert repr(e_sm) == repr(t_sm)
    assert isinstance(e_sm, ejit.ScriptModule) and isinstance(e_sm, ejit.RecursiveScriptModule)
    assert isinstance(e_sm.blocks[0], ejit.ScriptModule) and isinstance(e_sm.heads, ejit.ScriptModule)
    assert e_sm.original_name == t_sm.original_name == "Net" and e_sm.blocks[0].original_name == "Block"
    assert type(e_sm).__name__ == type(t_sm).__name__ == "RecursiveScriptModule"
    for net, sm in ((e_net, e_sm), (t_net, t_sm)):
        sm.eval()
        assert net.training and not sm.training  # own training flag
        assert sm.stem.weight is net.stem.weight  # shared parameters
    e_net.eval(), t_net.eval()
    bias = torch.randn(3)
    assert_close(e_sm(ex), t_sm(tx), atol=1e-5)
    assert_close(e_sm(ex, to_ember(bias)), t_sm(tx, bias), atol=1e-5)
    assert_close(e_net(ex), t_sm(tx), atol=1e-5)
    assert_close(e_sm.features(ex), t_sm.features(tx), atol=1e-5)
    assert e_sm.describe() == t_sm.describe() == "net"
    assert e_sm.blocks[0].expand == t_sm.blocks[0].expand == 2
    assert list(e_sm.state_dict()) == list(t_sm.state_dict())
    assert [n for n, _ in e_sm.named_modules()] == [n for n, _ in t_sm.named_modules()]
    assert "self.features(x)" in e_sm.code
    with pytest.raises(RuntimeError, match="eagerly"):
        _ = e_sm.graph
    assert_same_error(lambda: e_sm.nonexistent, lambda: t_sm.nonexistent)
    assert ejit.script(e_sm) is e_sm


def test_scripted_model_takes_torchscript_branches(models: Any) -> None:
    t_net, e_net = _pair(models)
    tx, ex = _inputs()
    t_net.eval(), e_net.eval()
    for net in (t_net, e_net):
        for block in net.blocks:
            block.memory_efficient = True  # eager: the @unused path; scripted: is_scripting() skips it
    t_sm, e_sm = tjit.script(t_net), ejit.script(e_net)
    assert_close(e_sm(ex), t_sm(tx), atol=1e-5)
    assert_close(e_net(ex), t_net(tx), atol=1e-5)
    assert not bool(ember.allclose(e_sm(ex), e_net(ex)))  # the two branches really differ


class _Modes(enn.Module):
    def __init__(self, call_unused: bool = False) -> None:
        super().__init__()
        self.call_unused = call_unused
        self.seen: list[tuple[str, bool]] = []

    @ejit.ignore
    def python_side(self) -> None:
        self.seen.append(("ignore", ejit.is_scripting()))

    @ejit.unused
    def not_scripted(self, x: ember.Tensor) -> ember.Tensor:
        return x + 1

    @ejit.export
    def exported(self) -> bool:
        return ejit.is_scripting()

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        self.seen.append(("forward", ejit.is_scripting()))
        self.python_side()
        return self.not_scripted(x) if self.call_unused else x


def test_is_scripting_inside_scripted_code() -> None:
    def f(x: ember.Tensor) -> bool:
        return ejit.is_scripting()

    assert ejit.script(f)(ember.ones(1)) is True
    assert ejit.trace(lambda x: x * ejit.is_scripting(), ember.ones(1))(ember.ones(1)).item() == 0
    m = _Modes()
    sm = ejit.script(m)
    sm(ember.ones(1))
    assert sm.seen == [("forward", True), ("ignore", False)] and not ejit.is_scripting()
    m(ember.ones(1))
    assert m.seen == [("forward", False), ("ignore", False)]
    assert sm.exported() is True and m.exported() is False
    tr = ejit.trace(_Modes(), ember.ones(1))  # has an @export method: torch scripts it instead
    tr(ember.ones(1))
    assert isinstance(tr, ejit.RecursiveScriptModule) and tr.seen[-2:] == [("forward", True), ("ignore", False)]
    tr = ejit.trace(enn.Sequential(_Modes()), ember.ones(1))
    tr(ember.ones(1))
    assert isinstance(tr, ejit.TopLevelTracedModule) and tr[0].seen[-2:] == [("forward", False), ("ignore", False)]
    # an @unused method: a stub that raises inside scripted code (as torch), normal from Python
    e_sm = ejit.script(_Modes(call_unused=True))
    with pytest.raises(ejit.Error, match="This Python function is annotated to be ignored and cannot be run"):
        e_sm(ember.ones(1))
    assert not ejit.is_scripting()
    _same(e_sm.not_scripted(ember.ones(1)), ember.full((1,), 2.0))


def test_unused_method_runs_from_python(models: Any) -> None:
    t_net, e_net = _pair(models)
    tx, ex = _inputs()
    t_sm, e_sm = tjit.script(t_net.blocks[0]), ejit.script(e_net.blocks[0])
    t_y = t_sm.call_checkpoint(t_net.blocks[0].bn(t_net.blocks[0].conv(t_net.stem(tx))))
    e_y = e_sm.call_checkpoint(e_net.blocks[0].bn(e_net.blocks[0].conv(e_net.stem(ex))))
    assert_close(e_y, t_y, atol=1e-5)


def test_scripted_module_keeps_python_semantics() -> None:
    class Sub(enn.Linear):
        def forward(self, x: ember.Tensor) -> ember.Tensor:
            return super().forward(x) * 2

    m = Sub(3, 2)
    m.attr = ejit.Attribute(5, int)
    sm = ejit.script(m)
    x = ember.randn(1, 3)
    _same(sm(x), m(x))
    assert sm.attr == 5 and m.attr == ejit.Attribute(5, int)  # scripting stores the value, as torch
    seen = []
    sm.register_forward_hook(lambda mod, i, o: seen.append(mod))
    sm(x)
    m(x)
    assert seen == [sm]  # hooks are the scripted module's own
    seq = ejit.script(enn.Sequential(enn.ReLU(), enn.Tanh()))
    assert len(seq) == 2 and [type(c).__name__ for c in seq] == ["RecursiveScriptModule"] * 2


# ---- trace --------------------------------------------------------------------------------------------------------
def test_traced_model_matches_torch(models: Any) -> None:
    t_net, e_net = _pair(models)
    tx, ex = _inputs()
    t_net.eval(), e_net.eval()
    t_sm, e_sm = tjit.trace(t_net, tx), ejit.trace(e_net, ex)  # Net has an @export method: torch scripts it
    assert repr(e_sm) == repr(t_sm) and type(e_sm).__name__ == type(t_sm).__name__ == "RecursiveScriptModule"
    assert_close(e_sm(ex), t_sm(tx), atol=1e-5)
    tx, ex = tx.repeat(1, 2, 1, 1), ex.repeat(1, 2, 1, 1)  # the blocks take 4 channels
    t_tr, e_tr = tjit.trace(t_net.blocks, tx), ejit.trace(e_net.blocks, ex)
    assert repr(e_tr) == repr(t_tr)
    assert [c.__name__ for c in type(e_tr).__mro__[1:4]] == [c.__name__ for c in type(t_tr).__mro__[:3]]
    assert isinstance(e_tr, ejit.TopLevelTracedModule) and isinstance(e_tr[0], ejit.TracedModule)
    assert not isinstance(e_tr[0], ejit.TopLevelTracedModule) and isinstance(e_tr[0].bn, ejit.TracedModule)
    assert_close(e_tr(ex), t_tr(tx), atol=1e-5)
    with pytest.warns(UserWarning, match="already a ScriptModule, tracing it is a no-op"):
        assert ejit.trace(e_tr, ex) is e_tr
    e_fw = ejit.trace(e_net.blocks.forward, ex)
    assert repr(e_fw) == repr(tjit.trace(t_net.blocks.forward, tx)) == repr(t_tr)
    assert_same_error(lambda: ejit.trace(e_net.features, ex), lambda: tjit.trace(t_net.features, tx))
    assert_same_error(lambda: ejit.trace(e_net.blocks), lambda: tjit.trace(t_net.blocks))


def test_is_tracing_during_trace() -> None:
    seen = []

    def f(x: ember.Tensor) -> ember.Tensor:
        seen.append(ejit.is_tracing())
        return x + 1

    traced = ejit.trace(f, ember.ones(2))
    assert seen == [True] and isinstance(traced, ejit.ScriptFunction) and traced.name == "f"
    assert_close(traced(ember.zeros(2)), torch.ones(2))
    assert seen == [True, False] and not ejit.is_tracing()
    ejit.trace(f, example_kwarg_inputs={"x": ember.ones(1)})
    assert seen[-1] is True


@pytest.mark.parametrize("body", [
    "x * x.sum().item()", "x if x.sum() > 0 else -x", "x * int(x.sum())", "x * float(x.sum())",
    "x * complex(x.sum()).real", "x * len(x)", "[a for a in x][0]", "x * x.tolist()[0]", "x * x.numpy()[0]",
    "x * [1, 2][x.sum().long()]",
])
def test_tracer_warnings_match_torch(body: str) -> None:
    def messages(lib: Any, jit: Any) -> list[tuple[str, str]]:
        fn = eval(f"lambda x: {body}")  # noqa: S307 (a fixed test expression)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            jit.trace(fn, lib.ones(1), check_trace=False)
        return [(x.category.__name__, str(x.message), os.path.basename(x.filename)) for x in w
                if x.category is not DeprecationWarning]

    assert messages(ember, ejit) == messages(torch, tjit)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bool(ember.ones(1)), ember.ones(1).item()  # no warnings once tracing is over


def test_tracing_restores_tensor_methods() -> None:
    names = ("item", "__bool__", "__int__", "__float__", "__complex__", "tolist", "numpy", "__len__", "__iter__")
    before = {n: ember.Tensor.__dict__.get(n) for n in names}

    def boom(x: ember.Tensor) -> ember.Tensor:
        assert ember.Tensor.__dict__["item"] is not before["item"]  # wrapped while tracing
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        ejit.trace(boom, ember.ones(1))
    assert {n: ember.Tensor.__dict__.get(n) for n in names} == before and not ejit.is_tracing()


def test_trace_output_checks_match_torch() -> None:
    for fn in (lambda x: 3, lambda x: {"a": x}, lambda x: None, lambda x: (x, 2)):
        assert_same_error(lambda f=fn: ejit.trace(f, ember.ones(1)), lambda f=fn: tjit.trace(f, torch.ones(1)))
    with pytest.warns(ejit.TracerWarning, match="Encountering a list at the output"):
        ejit.trace(lambda x: [x, x], ember.ones(1))
    ejit.trace(lambda x: {"a": [x]}, ember.ones(1), strict=False)
    assert_same_error(lambda: ejit.trace(lambda x: x, 3), lambda: tjit.trace(lambda x: x, 3))


def test_trace_module() -> None:
    class M(enn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = enn.Linear(2, 2)

        def forward(self, x: ember.Tensor) -> ember.Tensor:
            return self.lin(x)

        def double(self, x: ember.Tensor) -> ember.Tensor:
            return self.lin(x) * 2

    m = M()
    x = ember.randn(1, 2)
    tr = ejit.trace_module(m, {"forward": x, "double": (x,)})
    assert isinstance(tr, ejit.TopLevelTracedModule)
    _same(tr.double(x), m.double(x))
    assert_same_error(lambda: ejit.trace_module(3, {}), lambda: tjit.trace_module(3, {}))
    assert_same_error(lambda: ejit.trace_module(m, 3), lambda: tjit.trace_module(torch.nn.Linear(1, 1), 3))


# ---- freeze ----------------------------------------------------------------------------------------------------------
def test_freeze_and_optimize_for_inference(models: Any) -> None:
    t_net, e_net = _pair(models)
    assert_same_error(lambda: ejit.freeze(e_net.eval()), lambda: tjit.freeze(t_net.eval()))
    e_net.train(), t_net.train()
    assert_same_error(lambda: ejit.freeze(ejit.script(e_net)), lambda: tjit.freeze(tjit.script(t_net)))
    assert_same_error(lambda: ejit.optimize_for_inference(e_net), lambda: tjit.optimize_for_inference(t_net))
    tx, ex = _inputs()
    t_fz, e_fz = tjit.freeze(tjit.script(t_net).eval()), ejit.freeze(ejit.script(e_net).eval())
    assert isinstance(e_fz, ejit.RecursiveScriptModule) and not e_fz.training
    assert repr(e_fz).startswith("RecursiveScriptModule(\n  original_name=Net")
    assert_close(e_fz(ex), t_fz(tx), atol=1e-5)
    e_sm = ejit.script(e_net)
    e_opt = ejit.optimize_for_inference(e_sm)
    assert not e_sm.training and not e_opt.training
    assert isinstance(ejit.freeze(ejit.trace(e_net.eval(), ex)), ejit.RecursiveScriptModule)
    assert_close(e_opt(ex), t_fz(tx), atol=1e-5)


# ---- save / load --------------------------------------------------------------------------------------------------
def test_save_load_round_trip(models: Any, tmp_path: Any) -> None:
    _, e_net = _pair(models)
    _, ex = _inputs()
    e_net.eval()
    x4 = ex[:, :1].repeat(1, 4, 1, 1)
    traced = ejit.trace(e_net.blocks, x4)
    path = tmp_path / "traced.pt"
    ejit.save(traced, path, _extra_files={"meta.txt": "hello", "raw": b"\x00\x01"})
    assert sorted(os.listdir(tmp_path)) == ["traced.pt"]  # atomic: no temporary left behind
    extra = {"meta.txt": "", "missing": "x"}
    loaded = ejit.load(str(path), map_location="cpu", _extra_files=extra)
    assert extra == {"meta.txt": b"hello", "missing": b""}
    assert isinstance(loaded, ejit.TopLevelTracedModule) and repr(loaded) == repr(traced)
    assert not loaded.training and loaded[0].conv.weight is not e_net.blocks[0].conv.weight
    _same(loaded(x4), traced(x4))

    scripted = ejit.script(e_net).train()
    buf = io.BytesIO()
    ejit.save(scripted, buf)
    buf.seek(0)
    again = ejit.load(buf)
    assert isinstance(again, ejit.RecursiveScriptModule) and again.training and again.blocks[1].training
    assert list(again.state_dict()) == list(scripted.state_dict())
    for k, v in scripted.state_dict().items():
        _same(again.state_dict()[k], v)
    again.eval(), scripted.eval()
    _same(again(ex), scripted(ex))
    _same(again.features(ex), scripted.features(ex))
    assert again.save_to_buffer()[:4] == b"PK\x03\x04"


def test_save_load_scripted_function(models: Any, tmp_path: Any) -> None:
    _, em = models
    path = tmp_path / "f.pt"
    em.scripted_twice.save(str(path))
    loaded = ejit.load(path)
    assert isinstance(loaded, ejit.ScriptFunction) and loaded.qualified_name == em.scripted_twice.qualified_name
    _same(loaded(ember.arange(3.0)), em.twice(ember.arange(3.0)))
    ejit.ScriptFunction(os.path.join).save(str(path))  # never scripted: an archive naming it is refused
    with pytest.raises(RuntimeError, match="not a scripted or traced function"):
        ejit.load(path)
    traced = ejit.trace(em.twice, ember.ones(1))
    buf = io.BytesIO(traced.save_to_buffer())
    again = ejit.load(buf)
    assert again._scripted is False and again.name == "twice"
    holder = enn.Module()
    holder.fn = traced
    assert copy.deepcopy(holder).fn is traced


with warnings.catch_warnings():  # script_method's DeprecationWarning, raised at class creation
    warnings.simplefilter("ignore", DeprecationWarning)

    class _Legacy(ejit.ScriptModule):
        """The legacy API: subclass ScriptModule, decorate methods with script_method."""

        def __init__(self) -> None:
            super().__init__()
            self.w = enn.Parameter(ember.tensor([1.0, 2.0]))

        @ejit.script_method
        def forward(self, x: ember.Tensor) -> ember.Tensor:
            return x * self.w


def test_legacy_script_module_subclass(tmp_path: Any) -> None:
    m = _Legacy()
    assert isinstance(m, ejit.ScriptModule) and ejit.script(m) is m
    with pytest.warns(UserWarning, match="no-op"):
        assert ejit.trace(m, ember.ones(2)) is m
    path = tmp_path / "legacy.pt"
    m.save(str(path))
    loaded = ejit.load(path)
    assert type(loaded) is _Legacy
    _same(loaded(ember.ones(2)), m(ember.ones(2)))


def test_save_needs_importable_classes() -> None:
    class Local(enn.Module):
        def forward(self, x: ember.Tensor) -> ember.Tensor:
            return x

    with pytest.raises(pickle.PicklingError, match="classes and functions must be importable by name"):
        ejit.save(ejit.script(Local()), io.BytesIO())


def test_save_refusals_match_torch(tmp_path: Any) -> None:
    assert_same_error(lambda: ejit.save(enn.Linear(1, 1), str(tmp_path / "a.pt")),
                      lambda: tjit.save(torch.nn.Linear(1, 1), str(tmp_path / "b.pt")))
    missing = str(tmp_path / "missing.pt")
    assert_same_error(lambda: ejit.load(missing), lambda: tjit.load(missing))
    assert_same_error(lambda: ejit.load(str(tmp_path)), lambda: tjit.load(str(tmp_path)))


def test_load_refuses_torchscript_and_checkpoints(tmp_path: Any) -> None:
    ts = tmp_path / "ts.pt"
    tjit.save(tjit.script(torch.nn.Linear(2, 2)), str(ts))
    with pytest.raises(RuntimeError, match="TorchScript archive written by torch.jit.save: ember runs model code "
                                           "eagerly in Python and cannot execute TorchScript"):
        ejit.load(ts)
    ck = tmp_path / "ck.pt"
    ember.save({"w": ember.ones(2)}, ck)
    with pytest.raises(RuntimeError, match="not an archive written by ember.jit.save.*ember.load"):
        ejit.load(ck)
    with pytest.raises(RuntimeError, match="not a zip archive"):
        ejit.load(io.BytesIO(b"garbage"))


class _Evil:
    def __reduce__(self) -> Any:
        return os.system, ("echo pwned",)


def test_load_refuses_code_execution(tmp_path: Any) -> None:
    from ember.jit._serialization import _Archive

    path = tmp_path / "evil.pt"
    ember.save(_Archive(_Evil(), {}), path)
    with pytest.raises(pickle.UnpicklingError, match="refuses the global posix.system|refuses the global os.system"):
        ejit.load(path)
    with zipfile.ZipFile(path) as z:
        assert any(n.endswith("data.pkl") for n in z.namelist())


def test_module_docstrings_explain_differences() -> None:
    assert "TorchScript" in textwrap.dedent(ejit.load.__doc__ or "")
    assert "ember's" in (ejit.save.__doc__ or "")
