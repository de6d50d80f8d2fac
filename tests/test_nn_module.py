"""nn.Module mechanics against torch: registration, traversal, state_dict round trips and errors, modes,
conversions, hooks, containers and reprs."""

from __future__ import annotations

import copy
import pickle
import sys
from collections import OrderedDict
from typing import Any

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.optim  # noqa: F401  (binds ember.optim)
from oracle import assert_close, assert_same_error, to_ember, torch

tnn = torch.nn


def _pair(build):
    """The same model built with both libraries (``build(nn_module)``), identical parameters."""
    torch.manual_seed(0)
    t = build(tnn)
    ember.manual_seed(0)
    e = build(nn)
    return e, t


class _Net:
    """A model class body usable with either library's ``nn``."""

    @staticmethod
    def build(lib):
        class Net(lib.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = lib.Linear(4, 3)
                self.act = lib.ReLU()
                self.blocks = lib.ModuleList([lib.Linear(3, 3), lib.Linear(3, 3, bias=False)])
                self.head = lib.Sequential(OrderedDict(out=lib.Linear(3, 2), soft=lib.LogSoftmax(1)))
                self.scale = lib.Parameter(lib.init.ones_(torch.empty(1) if lib is tnn else ember.empty(1)))
                self.register_buffer("steps", (torch if lib is tnn else ember).zeros(1))
                self.register_buffer("scratch", (torch if lib is tnn else ember).ones(2), persistent=False)

            def forward(self, x):
                x = self.act(self.fc1(x))
                for b in self.blocks:
                    x = b(x)
                return self.head(x * self.scale)

        return Net()


def test_repr_and_names_match_torch():
    e, t = _pair(_Net.build)
    assert repr(e) == repr(t)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]
    assert [n for n, _ in e.named_parameters(prefix="m", recurse=False)] == [
        n for n, _ in t.named_parameters(prefix="m", recurse=False)
    ]
    assert len(list(e.parameters())) == len(list(t.parameters()))
    assert len(list(e.modules())) == len(list(t.modules()))


def test_state_dict_keys_values_metadata():
    e, t = _pair(_Net.build)
    es, ts = e.state_dict(), t.state_dict()
    assert type(es) is OrderedDict and list(es) == list(ts)
    assert es._metadata == ts._metadata
    for k in ts:
        assert_close(es[k], ts[k], rtol=0, atol=0)
        assert not es[k].requires_grad and type(es[k]) is ember.Tensor
    assert isinstance(e.state_dict(keep_vars=True)["fc1.weight"], nn.Parameter)
    assert list(e.state_dict(prefix="p.")) == list(t.state_dict(prefix="p."))


def test_forward_and_gradients_match_torch():
    e, t = _pair(_Net.build)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    eo, to = e(ember.tensor(x)), t(torch.tensor(x))
    assert_close(eo, to)
    eo.sum().backward()
    to.sum().backward()
    for (n, ep), (_, tp) in zip(e.named_parameters(), t.named_parameters(), strict=True):
        assert_close(ep.grad, tp.grad, atol=1e-6), n


def test_load_state_dict_roundtrip_and_result_repr():
    e, t = _pair(_Net.build)
    res = e.load_state_dict({k: to_ember(v) for k, v in t.state_dict().items()})
    assert repr(res) == repr(t.load_state_dict(t.state_dict())) == "<All keys matched successfully>"
    sd = e.state_dict()
    sd["fc1.weight"] = ember.zeros(3, 4)
    e.load_state_dict(sd)
    assert e.fc1.weight.abs().sum().item() == 0
    assert isinstance(e.fc1.weight, nn.Parameter) and e.fc1.weight.requires_grad


def test_load_state_dict_errors_match_torch():
    e, t = _pair(lambda lib: lib.Linear(3, 2))
    bad_t = {"weight": torch.ones(3, 2), "foo": torch.ones(1)}
    bad_e = {"weight": ember.ones(3, 2), "foo": ember.ones(1)}
    assert_same_error(lambda: e.load_state_dict(bad_e), lambda: t.load_state_dict(bad_t))
    r_e = e.load_state_dict({"weight": ember.ones(2, 3), "foo": ember.ones(1)}, strict=False)
    r_t = t.load_state_dict({"weight": torch.ones(2, 3), "foo": torch.ones(1)}, strict=False)
    assert repr(r_e) == repr(r_t) and r_e.missing_keys == ["bias"]
    assert_same_error(lambda: e.load_state_dict([1]), lambda: t.load_state_dict([1]))
    e2, t2 = _pair(_Net.build)
    assert_same_error(
        lambda: e2.load_state_dict(
            {"blocks.0.weight": ember.ones(3, 3), "blocks.7.x": ember.ones(1), "nothere.x": ember.ones(1)}
        ),
        lambda: t2.load_state_dict(
            {"blocks.0.weight": torch.ones(3, 3), "blocks.7.x": torch.ones(1), "nothere.x": torch.ones(1)}
        ),
    )


def test_load_state_dict_assign_keeps_parameter_type():
    m = nn.Linear(2, 2)
    w = ember.full((2, 2), 3.0)
    m.load_state_dict({"weight": w, "bias": ember.zeros(2)}, assign=True)
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    assert m.weight.data_ptr() == w.data_ptr()


@pytest.mark.parametrize(
    "case",
    [
        "param_type",
        "module_type",
        "buffer_type",
        "before_init",
        "dot_name",
        "empty_name",
        "exists",
        "not_parameter",
        "get_submodule",
        "not_module",
        "missing_attr",
        "add_module_type",
        "train_mode",
        "forward_missing",
    ],
)
def test_registration_errors_match_torch(case):
    def run(lib, tl):
        m = lib.Linear(2, 2)
        if case == "param_type":
            m.weight = tl.ones(2)
        elif case == "module_type":
            m.sub = lib.ReLU()
            m.sub = 3
        elif case == "buffer_type":
            m.register_buffer("b", tl.zeros(1))
            m.b = 3
        elif case == "before_init":

            class Bad(lib.Module):
                def __init__(self):
                    self.x = lib.Linear(1, 1)

            Bad()
        elif case == "dot_name":
            m.register_buffer("a.b", tl.zeros(1))
        elif case == "empty_name":
            m.register_parameter("", None)
        elif case == "exists":
            m.register_buffer("weight", tl.zeros(1))
        elif case == "not_parameter":
            m.register_parameter("q", lib.Parameter(tl.ones(2)) * 1)
        elif case == "get_submodule":
            lib.Sequential(lib.Linear(1, 1)).get_submodule("0.weight.x")
        elif case == "not_module":
            lib.Sequential(lib.Linear(1, 1)).get_submodule("0.weight")
        elif case == "missing_attr":
            m.nothing
        elif case == "add_module_type":
            m.add_module("x", 3)
        elif case == "train_mode":
            m.train(1)
        elif case == "forward_missing":
            lib.Module()(1)

    assert_same_error(lambda: run(nn, ember), lambda: run(tnn, torch))


def test_setattr_moves_between_kinds_and_delattr():
    m = nn.Module()
    m.x = nn.Parameter(ember.ones(1))
    assert "x" in m._parameters
    m.x = None
    assert m._parameters["x"] is None and m.x is None
    m.y = nn.Linear(1, 1)
    del m.y
    assert "y" not in m._modules
    m.register_buffer("b", ember.ones(1), persistent=False)
    m.b = ember.zeros(2)
    assert "b" in m._non_persistent_buffers_set and "b" not in m.state_dict()
    m.c = nn.Buffer(ember.ones(1), persistent=False)
    assert "c" in m._buffers and "c" in m._non_persistent_buffers_set
    del m.c
    assert "c" not in m._buffers
    m.plain = 3
    del m.plain
    assert not hasattr(m, "plain")


def test_dir_lists_members():
    e, t = _pair(_Net.build)
    for name in ("fc1", "scale", "steps", "forward"):
        assert name in dir(e)
    extra = set(dir(e)) - set(dir(t))
    assert not {n for n in extra if not n.startswith("_")}


def test_train_eval_requires_grad_zero_grad():
    e, _ = _pair(_Net.build)
    assert e.training and e.head.soft.training
    e.eval()
    assert not e.training and not e.head.soft.training
    e.train()
    e(ember.ones(1, 4)).sum().backward()
    assert e.fc1.weight.grad is not None
    e.zero_grad(set_to_none=False)
    assert e.fc1.weight.grad.abs().sum().item() == 0
    e.zero_grad()
    assert e.fc1.weight.grad is None
    e.requires_grad_(False)
    assert not any(p.requires_grad for p in e.parameters())


def test_freeze_and_replace_head_like_the_seed():
    model = nn.Sequential(OrderedDict(body=nn.Linear(4, 4), fc=nn.Linear(4, 3)))
    for p in model.parameters():
        p.requires_grad = False
    model.fc = nn.Linear(4, 2)
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]
    opt = ember.optim.SGD(model.fc.parameters(), lr=1e-2, momentum=0.9)
    model(ember.ones(3, 4)).sum().backward()
    assert model.body.weight.grad is None
    opt.step()


def test_conversions_keep_parameter_objects():
    m = nn.Sequential(nn.Linear(2, 2), nn.Embedding(3, 2))
    m.register_buffer("idx", ember.tensor([1, 2]))
    w = m[0].weight
    m[0].weight.grad = ember.ones(2, 2)
    m.double()
    assert m[0].weight is w and w.dtype is ember.float64 and w.grad.dtype is ember.float64
    assert m.idx.dtype is ember.int64
    m.to(ember.float32)
    assert w.dtype is ember.float32
    m.half()
    assert w.dtype is ember.float16
    m.bfloat16()
    assert w.dtype is ember.bfloat16
    m.float().cpu()
    assert w.dtype is ember.float32 and w.device.type == "cpu"
    m.to("cpu", ember.float64)
    assert w.dtype is ember.float64
    assert_same_error(lambda: nn.Linear(1, 1).to(ember.int64), lambda: tnn.Linear(1, 1).to(torch.int64))


def test_apply_order_and_deepcopy_pickle():
    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]
    c = copy.deepcopy(m)
    assert c[0].weight is not m[0].weight and isinstance(c[0].weight, nn.Parameter)
    np.testing.assert_array_equal(c[0].weight.detach().numpy(), m[0].weight.detach().numpy())
    p = pickle.loads(pickle.dumps(m))
    assert isinstance(p[0].weight, nn.Parameter) and repr(p) == repr(m)


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    m = nn.Sequential(lin, lin)
    assert len(list(m.parameters())) == 2
    assert len(list(m.named_parameters(remove_duplicate=False))) == 4
    assert [n for n, _ in m.named_modules(remove_duplicate=False)] == ["", "0", "1"]


def test_forward_pre_and_post_hooks():
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(out.shape) or out + 1)
    out = m(ember.ones(1, 2))
    assert_close(out, to_torch_bias(m))
    assert calls == [ember.Size([1, 2])]
    h1.remove()
    h2.remove()
    assert_close(m(ember.zeros(1, 2)), to_torch_bias(m, 0))
    kw = m.register_forward_pre_hook(lambda mod, args, kwargs: ((args[0] + 1,), kwargs), with_kwargs=True)
    first = m.register_forward_hook(lambda mod, args, out: calls.append("first"), prepend=True)
    m(ember.zeros(1, 2))
    assert calls[-1] == "first"
    kw.remove()
    first.remove()


def to_torch_bias(m, add=1):
    return torch.tensor(m.bias.detach().numpy() + add).unsqueeze(0)


def test_forward_hook_always_call_on_error():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    seen = []
    b = Boom()
    b.register_forward_hook(lambda m, a, o: seen.append(o), always_call=True)
    with pytest.raises(ValueError):
        b(1)
    assert seen == [None]


def test_full_backward_hooks_match_torch():
    e, t = _pair(lambda lib: lib.Linear(3, 2))
    rec = {"e": [], "t": []}

    def hook(key):
        def h(mod, gin, gout):
            rec[key].append((gin[0].detach().numpy().copy(), gout[0].detach().numpy().copy()))
            return (gin[0] * 2,)

        return h

    e.register_full_backward_hook(hook("e"))
    t.register_full_backward_hook(hook("t"))
    pre = []
    e.register_full_backward_pre_hook(lambda m, go: pre.append(go[0].shape))
    xe = ember.ones(4, 3, requires_grad=True)
    xt = torch.ones(4, 3, requires_grad=True)
    ye, yt = e(xe), t(xt)
    assert type(ye.grad_fn).__name__ == type(yt.grad_fn).__name__ == "BackwardHookFunctionBackward"
    c = np.random.default_rng(1).standard_normal((4, 2)).astype(np.float32)
    ye.backward(ember.tensor(c))
    yt.backward(torch.tensor(c))
    assert pre == [ember.Size([4, 2])]
    np.testing.assert_allclose(rec["e"][0][0], rec["t"][0][0], rtol=1e-6)
    np.testing.assert_allclose(rec["e"][0][1], rec["t"][0][1])
    assert_close(xe.grad, xt.grad)
    assert_close(e.weight.grad, t.weight.grad)


def test_full_backward_hook_without_input_grad_warns():
    m = nn.Linear(2, 2)
    seen = []
    m.register_full_backward_hook(lambda mod, gin, gout: seen.append(gin))
    with pytest.warns(UserWarning, match="Full backward hook is firing"):
        m(ember.ones(1, 2)).sum().backward()
    assert seen == [(None,)]


def test_state_dict_hooks():
    m = nn.Linear(1, 1)
    m.register_state_dict_post_hook(
        lambda mod, sd, prefix, meta: sd.__setitem__(prefix + "extra", ember.ones(1))
    )
    assert "extra" in m.state_dict()
    done = []
    m.register_load_state_dict_post_hook(lambda mod, keys: done.append(list(keys.unexpected_keys)))
    m.load_state_dict(
        {"weight": ember.ones(1, 1), "bias": ember.ones(1), "extra": ember.ones(1)}, strict=False
    )
    assert done == [["extra"]]


def test_lazy_linear_materialises_and_becomes_linear():
    torch.manual_seed(0)
    t = tnn.LazyLinear(3)
    ember.manual_seed(0)
    e = nn.LazyLinear(3)
    assert repr(e) == repr(t)
    x = np.ones((2, 5), np.float32)
    assert_close(e(ember.tensor(x)), t(torch.tensor(x)), rtol=0, atol=0)
    assert type(e) is nn.Linear and repr(e) == repr(t)
    assert type(e.weight) is nn.Parameter


# ---- containers ----------------------------------------------------------------------------------
def test_sequential_indexing_slicing_and_editing():
    e, t = _pair(lambda lib: lib.Sequential(lib.Linear(2, 3), lib.ReLU(), lib.Linear(3, 1), lib.Tanh()))
    assert repr(e[1:3]) == repr(t[1:3]) and type(e[1:3]) is nn.Sequential
    assert repr(e[-1]) == repr(t[-1])
    assert_same_error(lambda: e[4], lambda: t[4])
    del e[1]
    del t[1]
    assert repr(e) == repr(t) and list(e._modules) == ["0", "1", "2"]
    e.append(nn.Sigmoid())
    t.append(tnn.Sigmoid())
    e.insert(1, nn.ReLU())
    t.insert(1, tnn.ReLU())
    e[0] = nn.Identity()
    t[0] = tnn.Identity()
    assert repr(e) == repr(t) and len(e) == len(t)
    assert repr(e + e) == repr(t + t)
    assert repr(e.pop(1)) == repr(t.pop(1)) and repr(e) == repr(t)
    named = nn.Sequential(OrderedDict(a=nn.ReLU(), b=nn.Tanh()))
    assert list(named._modules) == ["a", "b"] and isinstance(named.b, nn.Tanh)
    assert "0" not in dir(e)


def test_module_list_repr_compresses_repeats():
    e = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU(), nn.ReLU(), nn.Tanh()])
    t = tnn.ModuleList([tnn.Linear(2, 2) for _ in range(3)] + [tnn.ReLU(), tnn.ReLU(), tnn.Tanh()])
    assert repr(e) == repr(t)
    assert repr(nn.ModuleList()) == repr(tnn.ModuleList())
    e.extend([nn.Sigmoid()])
    e += [nn.ReLU()]
    assert len(e) == 8 and isinstance(e[-1], nn.ReLU)
    del e[0]
    assert list(e._modules) == [str(i) for i in range(7)]
    assert_same_error(lambda: e[9], lambda: t[9])
    assert repr(e[:2]) == "ModuleList(\n  (0-1): 2 x Linear(in_features=2, out_features=2, bias=True)\n)"


def test_module_dict():
    e = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Linear(1, 2)})
    t = tnn.ModuleDict({"b": tnn.ReLU(), "a": tnn.Linear(1, 2)})
    assert repr(e) == repr(t) and list(e) == ["b", "a"]
    e["c"] = nn.Tanh()
    assert "c" in e and len(e) == 3 and list(e.keys()) == ["b", "a", "c"]
    assert isinstance(e.pop("b"), nn.ReLU) and list(e) == ["a", "c"]
    e.update([("d", nn.ReLU())])
    assert list(e) == ["a", "c", "d"]
    assert_same_error(lambda: e.update([("x",)]), lambda: t.update([("x",)]))
    assert_same_error(lambda: e.update(3), lambda: t.update(3))


def test_parameter_list_and_dict_reprs():
    pe = nn.ParameterList([nn.Parameter(ember.ones(2, 3)), ember.ones(2), "x"])
    pt = tnn.ParameterList([tnn.Parameter(torch.ones(2, 3)), torch.ones(2), "x"])
    assert repr(pe) == repr(pt)
    assert isinstance(pe[1], nn.Parameter) and len(pe) == 3 and pe[2] == "x"
    assert [n for n, _ in pe.named_parameters()] == [n for n, _ in pt.named_parameters()]
    de = nn.ParameterDict({"b": ember.ones(1), "a": nn.Parameter(ember.ones(2, 3, dtype=ember.float64))})
    dt = tnn.ParameterDict({"b": torch.ones(1), "a": tnn.Parameter(torch.ones(2, 3, dtype=torch.float64))})
    assert repr(de) == repr(dt) and list(de) == list(dt)
    assert list(de.state_dict()) == list(dt.state_dict())
    de["c"] = ember.zeros(1)
    assert isinstance(de["c"], nn.Parameter) and "c" in de
    assert_same_error(lambda: pe(1), lambda: pt(1))
    assert_same_error(lambda: de(1), lambda: dt(1))


# ---- Parameter / Buffer --------------------------------------------------------------------------
def test_parameter_repr_and_semantics():
    for args in [(), (np.arange(3.0, dtype=np.float32),), (np.ones(2, np.float64),)]:
        e = nn.Parameter(*(ember.tensor(a) for a in args))
        t = tnn.Parameter(*(torch.tensor(a) for a in args))
        assert repr(e) == repr(t) and str(e) == str(t)
    e = nn.Parameter(ember.arange(3.0), requires_grad=False)
    assert repr(e) == repr(tnn.Parameter(torch.arange(3.0), requires_grad=False))
    base = ember.ones(2)
    p = nn.Parameter(base)
    base.add_(4)
    assert p[0].item() == 5 and p.is_leaf and p.grad_fn is None
    assert type(p * 2) is ember.Tensor and type(p.detach()) is ember.Tensor
    assert_same_error(
        lambda: nn.Parameter(ember.ones(2, dtype=ember.int64)),
        lambda: tnn.Parameter(torch.ones(2, dtype=torch.int64)),
    )
    assert nn.Parameter(ember.ones(2, requires_grad=True) * 2).is_leaf


def test_buffer_marker():
    b = nn.Buffer(ember.ones(2))
    assert type(b) is ember.Tensor and isinstance(b, nn.Buffer) and not isinstance(ember.ones(1), nn.Buffer)
    m = nn.Module()
    m.buf = b
    assert "buf" in m._buffers and list(m.state_dict()) == ["buf"]


def test_module_compile_in_place_and_merge_masks_as_torch() -> None:
    """``Module.compile()`` returns None and leaves calls and state-dict keys as they were;
    ``MultiheadAttention.merge_masks`` gives torch's mask, type and shape for each combination of masks."""
    import torch

    def facts(lib: Any) -> list:
        lib.manual_seed(0)
        m = lib.nn.MultiheadAttention(4, 2, batch_first=True)
        q = lib.rand(3, 5, 4)
        before = m(q, q, q)[0]
        out: list = [m.compile(), list(m.state_dict()), bool(lib.equal(m(q, q, q)[0], before))]
        am, kpm = lib.rand(5, 5), lib.rand(3, 5)
        for a, k in ((None, None), (am, None), (None, kpm), (am, kpm), (lib.rand(6, 5, 5), kpm),
                     (am > 0.5, kpm > 0.5)):
            mask, kind = m.merge_masks(a, k, q)
            out.append((kind, None if mask is None else (tuple(mask.shape), str(mask.dtype), mask.tolist())))
        return out

    assert facts(ember) == facts(torch)


def _compile_facts(lib: Any) -> list:
    """What ``compile`` returns for modules and functions, its printout, state-dict keys, attribute forwarding,
    pickling, and its argument errors (torch's compiled module is never called: that would run its compiler)."""
    import io

    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU())
    m.eval()
    c = lib.compile(m)
    out: list = [type(c).__name__, repr(c), list(c.state_dict()), c.training, c._orig_mod is m]
    try:
        c[0]
    except TypeError as e:   # (indexing is not forwarded: only attributes are)
        out.append(str(e))
    c.train()
    c.extra = 5
    out += [m.training, getattr(m, "extra", None), "extra" in dir(c), isinstance(c, lib.nn.Module),
            isinstance(c, sys.modules[f"{lib.__name__}._dynamo.eval_frame"].OptimizedModule)]
    buf = io.BytesIO()
    lib.save(c, buf)
    buf.seek(0)
    out += [list(lib.load(buf, weights_only=False).state_dict())]

    def f(x: Any) -> Any:
        return x + 1

    out += [lib.compile(f) is not None, callable(lib.compile(f)), lib.compile(m, disable=True) is m,
            type(lib.compile(mode="max-autotune")(m)).__name__, lib.compiler.list_backends()]
    for kw in ({"mode": "bad"}, {"mode": "default", "options": {"a": 1}}, {"backend": "nope"},
               {"backend": "nope", "disable": True}):
        try:
            lib.compile(m, **kw)
            out.append("ok")
        except Exception as e:   # noqa: BLE001 - the error types are compared
            out.append((type(e).__name__, str(e)))
    try:
        lib.compile(3)
    except AssertionError as e:
        out.append(str(e))
    return out


def test_compile_wraps_modules_as_torch() -> None:
    import torch
    assert _compile_facts(ember) == _compile_facts(torch)
