"""ember.export against torch.export: printed programs (before and after run_decompositions), graph signatures,
the runnable module (outputs, gradients, guards), dynamic dims, errors, and the .pt2 round trip."""

from __future__ import annotations

import io
import re
import zipfile

import numpy as np
import pytest

import ember
import ember.export

torch = pytest.importorskip("torch")


def models(lib):
    """The models, written once against the torch API."""
    nn = lib.nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 3)
            self.fc2 = nn.Linear(3, 2)

        def forward(self, x):
            return self.fc2(lib.relu(self.fc1(x)))

    class Res(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 3, padding=1)
            self.bn = nn.BatchNorm2d(2)

        def forward(self, x):
            return lib.relu(self.bn(self.conv(x))) + x

    class Buf(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("scale", lib.ones(3) * 2)
            self.w = nn.Parameter(lib.ones(3))

        def forward(self, x):
            y = x.view(2, 3).mul(self.scale).sum(1, keepdim=True)
            return (y * self.w).transpose(0, 1).contiguous(), y.exp()

    class Chain(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln = nn.LayerNorm(3)
            self.drop = nn.Dropout(0.5)

        def forward(self, x):
            a = x[:, 1:].unsqueeze(0)
            b = lib.cat([a, a], 1).flatten(1)
            c = lib.nn.functional.softmax(b, -1) - 1 + lib.ones(12)
            d = self.drop(lib.nn.functional.gelu(self.ln(x.t()[1:].reshape(2, -1, 3))))
            p = lib.nn.functional.max_pool2d(x[None, None], 2)
            r = lib.nn.functional.relu(x.clone(), inplace=True) @ x.t()
            return c.to(lib.float64), d.mean(-1, keepdim=True), 1 - p.sum(), r

    class Nested(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = lib.ones(2) * 3   # a plain tensor attribute: lifted as a constant

        def forward(self, xs, d, *, scale=2.0):
            return {"a": xs[0] * self.c + d["k"] * scale, "b": [xs[1].relu()]}

    class Dyn(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(x).flatten(0) * 2

    lib.manual_seed(0)
    return {"mlp": (MLP(), (lib.randn(2, 4),)), "res": (Res().eval(), (lib.randn(1, 2, 4, 4),)),
            "buf": (Buf(), (lib.randn(6),)),
            "chain": (Chain().eval(), (lib.randn(2, 4),)),
            "bn_train": (nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3)), (lib.randn(4, 3),)),
            "nested": (Nested(), ((lib.randn(2), lib.randn(2)), {"k": lib.randn(2)})),
            "dyn": (Dyn(), (lib.randn(3, 4),))}


def multi(lib):
    """Several dynamic dims (named, AUTO, DYNAMIC), a slice kept on a symbolic dim."""
    class A(lib.nn.Module):
        def forward(self, x, y):
            return x.sum(1) + 1, y[:, :2] * 2, lib.cat([x, x], 0)

    class V(lib.nn.Module):
        def forward(self, x):
            return x.view(8)
    D = lib.export.Dim
    class S(lib.nn.Module):   # sizes read from the input: computed at run time
        def forward(self, x):
            y = lib.relu(x)
            return y.view(y.size(0), -1), x.reshape(x.shape[0] * 2, 3)
    ep = lib.export.export(A(), (lib.randn(3, 4), lib.randn(5, 6)),
                           dynamic_shapes={"x": {0: D("a"), 1: D.AUTO}, "y": (D.DYNAMIC, D.STATIC)})
    sizes = lib.export.export(S(), (lib.randn(3, 2, 3),), dynamic_shapes=({0: D("b")},))
    return (str(ep), _err(lambda: lib.export.export(V(), (lib.randn(2, 4),), dynamic_shapes=({0: D.DYNAMIC},))),
            str(sizes), [tuple(t.shape) for t in sizes.module()(lib.randn(5, 2, 3))], sizes)


def data_dependent(lib):
    class C(lib.nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x + 1
            return x - 1
    return C()


def norm(text: str) -> str:
    """Only what must differ: the source locations and lines of the ``# File:`` comments."""
    return re.sub(r"# File: .*", "# File: ...", text)


def leaves(v):
    if isinstance(v, dict):
        v = list(v.values())
    return [x for item in v for x in leaves(item)] if isinstance(v, (tuple, list)) else [v]


def _err(fn):
    try:
        fn()
    except Exception as e:   # noqa: BLE001 - the type and message are what is compared
        return type(e).__name__, str(e)
    raise AssertionError("no error raised")


@pytest.fixture(scope="module")
def ref():
    """torch's results, computed once (torch.export is slow)."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return _torch_reference()


def _torch_reference():
    out = {}
    for name, (m, args) in models(torch).items():
        if name == "dyn":
            continue
        ep = torch.export.export(m, args)
        sig = ep.graph_signature
        out[name] = {"print": str(ep), "decomposed": str(ep.run_decompositions()),
                     "sig": (sig.parameters, sig.buffers, sig.user_inputs, sig.user_outputs,
                             [(s.kind.name, s.arg.name, s.target, s.persistent) for s in sig.input_specs],
                             [(s.kind.name, s.arg.name, s.target) for s in sig.output_specs])}
    m, args = models(torch)["dyn"]
    batch = torch.export.Dim("batch", min=2, max=8)
    ep = torch.export.export(m, args, dynamic_shapes={"x": {0: batch}})
    mod = ep.module()
    out["dyn"] = {"print": str(ep), "errors": [_err(lambda: mod(torch.randn(3, 5))),
                                               _err(lambda: mod(torch.randn(9, 4))), _err(lambda: ep(*args))],
                  "batch5": tuple(mod(torch.randn(5, 4)).shape), "auto": str(torch.export.export(
                      m, args, dynamic_shapes={"x": {0: torch.export.Dim.AUTO}}).range_constraints)}

    class V(torch.nn.Module):
        def forward(self, x):
            return x.view(8)
    out["errors"] = [_err(lambda: torch.export.export(lambda x: x, args)),
                     _err(lambda: torch.export.export(m, args[0])),
                     _err(lambda: torch.export.export(m, args, dynamic_shapes={"y": {0: batch}}))]
    out["multi"] = multi(torch)
    out["data"] = _err(lambda: torch.export.export(data_dependent(torch), (torch.randn(3),)))
    out["specialised"] = _err(lambda: torch.export.export(V(), (torch.randn(2, 4),),
                                                          dynamic_shapes=({0: torch.export.Dim("b")},)))
    return out


def _export_all():
    return {name: ember.export.export(m, args) for name, (m, args) in models(ember).items() if name != "dyn"}


def test_printed_programs_and_signatures_match_torch(ref):
    for name, ep in _export_all().items():
        assert norm(str(ep)) == norm(ref[name]["print"]), name
        assert norm(str(ep.run_decompositions())) == norm(ref[name]["decomposed"]), name
        sig = ep.graph_signature
        assert (sig.parameters, sig.buffers, sig.user_inputs, sig.user_outputs,
                [(s.kind.name, s.arg.name, s.target, s.persistent) for s in sig.input_specs],
                [(s.kind.name, s.arg.name, s.target) for s in sig.output_specs]) == ref[name]["sig"], name
    ep = _export_all()["mlp"]
    assert [n.target for n in ep.graph.nodes if n.op == "call_function"][0] == ember.ops.aten.linear.default
    assert str(ep.graph_signature.input_specs[0].kind) == "InputKind.PARAMETER"


def test_module_outputs_gradients_and_state():
    from ember import overrides
    was_active = overrides._ACTIVE
    for name, (m, args) in models(ember).items():
        ep = ember.export.export(m, args)
        want = m(*args)
        for gm in (ep.module(), ep.run_decompositions().module()):
            got = gm(*args)
            assert type(got) is type(want)
            for g, w in zip(leaves(got), leaves(want), strict=True):
                np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-5, atol=1e-6)
        assert dict(ep.named_parameters()).keys() == dict(m.named_parameters()).keys()
        assert list(dict(ep.named_buffers())) == [k for k, _ in m.named_buffers()]
        assert set(ep.state_dict) == set(m.state_dict()), name
    # training-mode batch norm: the decomposed program returns the new running stats, its module writes them back
    m, args = models(ember)["bn_train"]
    ref_m, ref_args = models(ember)["bn_train"]
    gm = ember.export.export(m, args).run_decompositions().module()
    np.testing.assert_allclose(gm(*args).detach().numpy(), ref_m(*ref_args).detach().numpy(), rtol=1e-5, atol=1e-6)
    for k, v in ref_m.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), rtol=1e-6, err_msg=k)
    assert int(m[1].num_batches_tracked) == 1
    # gradients flow to the module's own parameters, equal to the original's
    m, (x,) = models(ember)["res"]
    x.requires_grad_(True)
    gm = ember.export.export(m, (x,)).module()
    m(x).sum().backward()
    want = [p.grad.clone() for p in m.parameters()] + [x.grad.clone()]
    for p in m.parameters():
        p.grad = None
    x.grad = None
    gm(x).sum().backward()
    assert gm.conv.weight is m.conv.weight
    assert overrides._ACTIVE == was_active   # recording left the __torch_function__ protocol as it found it
    for g, w in zip([p.grad for p in m.parameters()] + [x.grad], want, strict=True):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-5, atol=1e-6)


def test_dynamic_batch_and_errors_match_torch(ref):
    m, args = models(ember)["dyn"]
    batch = ember.export.Dim("batch", min=2, max=8)
    ep = ember.export.export(m, args, dynamic_shapes={"x": {0: batch}})
    assert norm(str(ep)) == norm(ref["dyn"]["print"])
    mod = ep.module()
    assert tuple(mod(ember.randn(5, 4)).shape) == ref["dyn"]["batch5"]
    errors = [_err(lambda: mod(ember.randn(3, 5))), _err(lambda: mod(ember.randn(9, 4))), _err(lambda: ep(*args))]
    assert errors == ref["dyn"]["errors"]
    auto = ember.export.export(m, args, dynamic_shapes={"x": {0: ember.export.Dim.AUTO}})
    assert str(auto.range_constraints) == ref["dyn"]["auto"]
    assert repr(batch) == "Dim('batch', max=8)" and repr(ember.export.Dim.AUTO) == "DimHint(AUTO)"
    assert repr(ember.export.dims("a", "b", max=9)) == "(Dim('a', min=0, max=9), Dim('b', min=0, max=9))"
    assert _err(lambda: ember.export.Dim("b", min=5, max=4)) == ("AssertionError",
                                                                "Cannot create Dim with inconsistent min=5, max=4")
    class Scale(ember.nn.Module):
        def forward(self, x, n):
            return x * n
    scaled = ember.export.export(Scale(), (ember.randn(2), 3)).module()   # numbers are specialised, as torch's
    assert _err(lambda: scaled(ember.ones(2), 4)) == ("AssertionError", "Guard failed: n == 3")
    static = ember.export.export(m, args).module()   # without dynamic_shapes every dim is a guard
    assert _err(lambda: static(ember.randn(4, 4))) == ("AssertionError", "Guard failed: x.size()[0] == 3")

    class V(ember.nn.Module):
        def forward(self, x):
            return x.view(8)
    kind, msg = _err(lambda: ember.export.export(V(), (ember.randn(2, 4),),
                                                 dynamic_shapes=({0: ember.export.Dim("b")},)))
    t_kind, t_msg = ref["specialised"]
    assert (kind, msg) == (t_kind, t_msg)
    printed, error, sizes, shapes, sizes_ep = multi(ember)
    assert (norm(printed), error, norm(sizes), shapes) == (norm(ref["multi"][0]), ref["multi"][1],
                                                           norm(ref["multi"][2]), ref["multi"][3])
    # decomposed with dynamic batch and sequence: linear's flattening view follows both at run time
    lin = ember.nn.Linear(4, 3)
    D = ember.export.Dim
    dec = ember.export.export(lin, (ember.randn(2, 5, 4),), dynamic_shapes=({0: D("b"), 1: D("t")},)
                              ).run_decompositions()
    assert '"f32[s31*s81, 4]" = torch.ops.aten.view.default(input_1, [-1, 4])' in str(dec)
    x = ember.randn(3, 7, 4)
    np.testing.assert_allclose(dec.module()(x).detach().numpy(), lin(x).detach().numpy(), rtol=1e-6)
    kind, msg = _err(lambda: ember.export.export(data_dependent(ember), (ember.randn(3),)))
    t_kind, t_msg = ref["data"]
    assert kind == t_kind and msg.split("\n")[0] == t_msg.split("\n")[0]
    assert re.search(r'File ".*", line \d+, in forward', msg).group() in t_msg
    buf = io.BytesIO()
    ember.export.save(sizes_ep, buf)
    loaded = ember.export.load(buf)
    assert str(loaded) == sizes and [tuple(t.shape) for t in loaded.module()(ember.randn(7, 2, 3))] == [(7, 6), (14, 3)]
    assert [_err(lambda: ember.export.export(lambda x: x, args)), _err(lambda: ember.export.export(m, args[0])),
            _err(lambda: ember.export.export(m, args, dynamic_shapes={"y": {0: batch}}))] == ref["errors"]


def test_save_load_round_trip(tmp_path):
    for name, (m, args) in models(ember).items():
        ep = ember.export.export(m, args)
        path = tmp_path / f"{name}.pt2"
        ember.export.save(ep, path)
        assert zipfile.ZipFile(path).read(f"{name}/archive_format") == b"pt2"
        loaded = ember.export.load(path)
        assert str(loaded) == str(ep)
        assert [s.kind for s in loaded.graph_signature.input_specs] == [s.kind for s in ep.graph_signature.input_specs]
        for k, v in ep.state_dict.items():
            assert np.array_equal(loaded.state_dict[k].detach().numpy(), v.detach().numpy()) and \
                type(loaded.state_dict[k]) is type(v)
        want, got = m(*args), loaded.module()(*loaded.example_inputs[0])
        for g, w in zip(leaves(got), leaves(want), strict=True):
            np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-6)
        buf = io.BytesIO()
        ember.export.save(loaded, buf)
        buf.seek(0)
        assert str(ember.export.load(buf)) == str(ep)
    m, args = models(ember)["dyn"]
    ep = ember.export.export(m, args, dynamic_shapes={"x": {0: ember.export.Dim("batch", max=8)}})
    ember.export.save(ep, tmp_path / "d.pt2")
    loaded = ember.export.load(tmp_path / "d.pt2")
    assert str(loaded) == str(ep) and "s77" in str(loaded)
    assert _err(lambda: loaded.module()(ember.randn(9, 4))) == ("AssertionError", "Guard failed: x.size()[0] <= 8")
    assert _err(lambda: ember.export.save(m, tmp_path / "x.pt2"))[0] == "TypeError"
    assert list(tmp_path.glob(".tmp-export-*")) == []
