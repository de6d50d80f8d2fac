"""ember.onnx.export: the exported graph passes onnx's checker and, run by onnxruntime, gives ember's outputs;
names, dynamic axes and errors as torch.onnx's TorchScript exporter."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import ember  # noqa: E402
import ember.nn.functional as F  # noqa: E402
import ember.onnx  # noqa: E402
from ember import nn  # noqa: E402


def _export(model, args, **kw):
    buf = io.BytesIO()
    ember.onnx.export(model, args, buf, **kw)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    return proto, buf.getvalue()


def _run(data, *xs):
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return sess.run(None, {i.name: x.numpy() for i, x in zip(sess.get_inputs(), xs, strict=True)})


def _leaves(out):
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in _leaves(o)]
    return [out]


def _check(model, *xs, atol=1e-5, **kw):
    """Export ``model`` at ``xs``, run it with onnxruntime and compare every output with ember's."""
    proto, data = _export(model, xs, **kw)
    with ember.no_grad():
        ref = _leaves(model(*xs))
    got = _run(data, *xs)
    assert len(got) == len(ref)
    for r, o in zip(ref, got, strict=True):
        assert r.shape == o.shape
        np.testing.assert_allclose(o, r.numpy(), atol=atol, rtol=1e-5)
    return proto, data


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding="same", groups=2, dilation=2)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2, 3)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = y + F.leaky_relu(self.conv2(y), 0.2)             # residual
        y = F.avg_pool2d(self.pool(y), 1)
        y = F.hardswish(self.up(F.pad(y, (1, 1, 0, 1))))
        y = F.interpolate(y, scale_factor=2, mode="nearest") + F.interpolate(y, scale_factor=2, mode="bilinear")
        return self.fc(ember.flatten(self.gap(y), 1)).sigmoid()


class Block(nn.Module):
    """A tiny transformer block: attention by hand (matmul + softmax) and by F.scaled_dot_product_attention."""

    def __init__(self, d=8, heads=2):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Dropout(0.1), nn.Linear(2 * d, d))
        self.norm = nn.GroupNorm(2, 4)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / (c // self.heads) ** 0.5)
        mask = ember.tril(ember.ones(t, t, dtype=ember.bool))
        att = F.softmax(att.masked_fill(~mask, float("-inf")), dim=-1)
        y1 = (att @ v).transpose(1, 2).reshape(b, t, c)
        y2 = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).contiguous().view(b, t, c)
        x = x + self.proj(y1 + y2)
        x = x + self.mlp(self.ln2(x))
        return self.norm(x[:, :, :4].permute(0, 2, 1)[..., None]).squeeze(-1).mean(-1), x[:, -1]


class EmbedRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.lstm = nn.LSTM(4, 3, num_layers=2, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(6, 5)
        self.head = nn.Linear(5, 2)

    def forward(self, tokens):
        y, (h, c) = self.lstm(self.emb(tokens))
        z, hz = self.gru(y.transpose(0, 1))
        return F.log_softmax(self.head(z[-1]), dim=-1), h, c, hz


def test_mlp_names_as_torch_and_dynamic_batch():
    torch = pytest.importorskip("torch")
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.Softmax(-1))
    x = ember.randn(2, 3)
    proto, _ = _check(model, x)
    assert [n.op_type for n in proto.graph.node] == ["Gemm", "Relu", "Gemm", "Softmax"]
    # the same model through torch's TorchScript exporter: same initializer and input names, same opset
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2),
                                 torch.nn.Softmax(-1))
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(tmodel, (torch.randn(2, 3),), buf, dynamo=False)
    tproto = onnx.load_from_string(buf.getvalue())
    assert [i.name for i in proto.graph.initializer] == [i.name for i in tproto.graph.initializer]
    assert [i.name for i in proto.graph.input] == [i.name for i in tproto.graph.input] == ["onnx::Gemm_0"]
    assert proto.opset_import[0].version == tproto.opset_import[0].version
    assert [n.name for n in proto.graph.node] == [n.name for n in tproto.graph.node]
    # dynamic batch: another batch size runs
    proto, data = _export(model, (x,), input_names=["x"], output_names=["y"], dynamic_axes={"x": [0], "y": {0: "n"}},
                          dynamo=False)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "x_dynamic_axes_1"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "n"
    x5 = ember.randn(5, 3)
    np.testing.assert_allclose(_run(data, x5)[0], model(x5).detach().numpy(), atol=1e-5)


def test_cnn_residual_bn_pool(tmp_path):
    ember.manual_seed(0)
    model = CNN()
    model.bn1.running_mean.uniform_(-1, 1)
    model.bn1.running_var.uniform_(0.5, 2)
    model.train()
    x = ember.randn(2, 3, 8, 8)
    path = tmp_path / "cnn.onnx"
    assert ember.onnx.export(model, (x,), path, dynamo=False, dynamic_axes={"input.1": [0]}) is None
    assert model.training                                   # exported in eval mode, mode restored
    model.eval()
    data = path.read_bytes()
    proto = onnx.load_from_string(data)
    assert {"conv1.weight", "bn1.weight", "bn1.running_mean", "conv2.bias", "up.weight", "fc.weight"} <= {
        i.name for i in proto.graph.initializer}
    for xs in (x, ember.randn(3, 3, 8, 8)):
        np.testing.assert_allclose(_run(data, xs)[0], model(xs).detach().numpy(), atol=1e-5)


def test_transformer_block_and_program():
    ember.manual_seed(0)
    model = Block().eval()
    x = ember.randn(2, 5, 8)
    _check(model, x, opset_version=17)                       # GELU through Erf
    proto, data = _check(model, x, input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    assert "Gelu" in {n.op_type for n in proto.graph.node}
    x3 = ember.randn(3, 5, 8)
    for r, o in zip(_leaves(model(x3)), _run(data, x3), strict=True):
        np.testing.assert_allclose(o, r.detach().numpy(), atol=1e-5)
    layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, norm_first=True, activation="gelu").eval()
    _check(layer, x)
    mha = nn.MultiheadAttention(8, 2, kdim=4, vdim=4).eval()                # separate projections, both masks
    kv, keep = ember.randn(3, 2, 4), ember.tensor([[False, False, True], [False, False, False]])
    mask = ember.tensor([[False, True, False]] * 4)
    _check(lambda q, k, m: mha(q, k, k, key_padding_mask=m, attn_mask=mask,
                               average_attn_weights=False), ember.randn(4, 2, 8), kv, keep)
    program = ember.onnx.export(model, (x,))                  # torch's default (dynamo=True): an ONNXProgram
    assert isinstance(program, ember.onnx.ONNXProgram)
    np.testing.assert_allclose(program(x)[1].numpy(), model(x)[1].detach().numpy(), atol=1e-5)


def test_embedding_lstm_gru():
    ember.manual_seed(0)
    model = EmbedRNN().eval()
    tokens = ember.randint(0, 10, (2, 4))
    proto, _ = _check(model, tokens)
    assert {"LSTM", "GRU", "Gather"} <= {n.op_type for n in proto.graph.node}
    assert "emb.weight" in {i.name for i in proto.graph.initializer}


def test_ops_and_indexing():
    class Ops(nn.Module):
        def forward(self, x, y):
            a = (x - 1) / (y.abs() + 1) * 2 - x.pow(2).sqrt().exp().log() + (-x).clamp(-0.5, 0.5)
            b = ember.where(x > y, x, y) + (x < 0).float() + (x == y).float() + F.hardsigmoid(x) + F.silu(y)
            c = ember.cat([a, b], 1).unsqueeze(0).squeeze(0)[:, 1::2] + ember.stack([x, y], -1).sum(-1)
            d = c.view(x.size(0), -1).reshape(-1, 2, 2).max(dim=1).values.amax(-1, keepdim=True)
            e = x[:, None, 1:3].expand(-1, 2, 2).flatten(1) + x[:, [0, 2, 1, 3]] + ember.tanh(x[0])
            f = F.gelu(x, approximate="tanh") + F.elu(x) + F.softplus(y) + F.relu6(y) + x.mean() + x.rsqrt().isnan()
            h = F.selu(x) + F.celu(x, 0.7) + F.softmin(x, 1) + F.tanhshrink(x) + F.threshold(x, 0.1, 2.0) + F.mish(y)
            h = h + F.rms_norm(x, (4,)) + F.hardshrink(x) + F.softshrink(x) + F.normalize(x) + F.logsigmoid(y)
            i = F.instance_norm(x[None], eps=1e-3) + F.local_response_norm(x[None, :, :, None], 3)[..., 0]
            return a, b, d, e, f, h, i, F.adaptive_avg_pool1d(x[:, None], 2), x.chunk(2, 1)[1], 1 - x.t()
    ember.manual_seed(0)
    x, y = ember.randn(2, 4), ember.randn(2, 4)
    for opset in (17, 20):
        _check(Ops(), x, y, opset_version=opset)
    i, table = ember.tensor([7, -7, 5, -5, 0]), ember.randn(3, 4)
    _check(lambda i, x: (x[...], i // 3, -7 // i.clamp(min=1), i / 2, x // 0.7, 3 / x,
                         ember.div(x, 0.3, rounding_mode="floor"), i > 1.5, i.float() ** 2, x[i.abs() % 5],
                         table[i.abs().view(5, 1) % 3, 1:]), i, ember.randn(5))


def test_custom_symbolic_and_errors():
    class Det(nn.Module):
        def forward(self, x):
            return ember.linalg.det(x)
    x = ember.randn(2, 3, 3)
    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError,
                       match=r"^Exporting the operator 'aten::det' to ONNX opset version 20 is not supported$"):
        ember.onnx.export(Det(), (x,), io.BytesIO())
    assert issubclass(ember.onnx.errors.UnsupportedOperatorError, ember.onnx.OnnxExporterError)
    assert issubclass(ember.onnx.OnnxExporterError, RuntimeError)

    with pytest.warns(UserWarning, match="output 0 was not computed from the inputs"):
        _check(lambda x: ember.ones(2), x)
    seen = []

    def det_symbolic(g, a):
        seen.append(ember.onnx.is_in_onnx_export())
        return g.op("Det", a)
    ember.onnx.register_custom_op_symbolic("aten::det", det_symbolic, 11)
    try:
        _check(Det(), x, atol=1e-4)
    finally:
        ember.onnx.unregister_custom_op_symbolic("aten::det", 11)
    assert seen == [True] and not ember.onnx.is_in_onnx_export()
    with pytest.raises(ValueError, match="onnx domain is reserved"):
        ember.onnx.register_custom_op_symbolic("onnx::det", det_symbolic, 11)
    with pytest.raises(ValueError, match="f must be provided"):
        ember.onnx.export(Det(), (x,), dynamo=False)


def test_enums_and_mode_selection():
    torch = pytest.importorskip("torch")
    for name in ("TrainingMode", "OperatorExportTypes"):
        assert {k: int(v) for k, v in getattr(ember.onnx, name).__members__.items()} == {
            k: int(v) for k, v in getattr(torch.onnx, name).__members__.items()}
    assert repr(ember.onnx.TrainingMode.EVAL) == repr(torch.onnx.TrainingMode.EVAL)
    model = nn.Linear(2, 2)
    with ember.onnx.select_model_mode_for_export(model, ember.onnx.TrainingMode.EVAL):
        assert not model.training
    assert model.training
    import inspect
    assert list(inspect.signature(ember.onnx.export).parameters) == list(
        inspect.signature(torch.onnx.export).parameters)


def test_default_names_as_torch():
    """Input names (``input``, ``input.1``, ``onnx::Gemm_0``), node names (module scopes) and initializer names
    as torch's TorchScript exporter gives them."""
    torch = pytest.importorskip("torch")

    def names(module, shape, lib):
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lib.onnx.export(module.eval(), (lib.randn(*shape),), buf, dynamo=False)
        proto = onnx.load_from_string(buf.getvalue())
        return ([i.name for i in proto.graph.input], [i.name for i in proto.graph.initializer],
                [n.name for n in proto.graph.node])

    def nested(lib):
        nn = lib.nn

        class Blk(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1, self.act = nn.Conv2d(2, 2, 3, padding=1), nn.ReLU()

            def forward(self, x):
                return self.act(self.conv1(x)) + x

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.stem, self.layer1 = nn.Conv2d(1, 2, 3), nn.Sequential(Blk(), Blk())
                self.head, self.ln = nn.Sequential(nn.Flatten(), nn.Linear(18, 3)), nn.LayerNorm(3)

            def forward(self, x):
                return self.ln(self.head(self.layer1(self.stem(x))))
        return Net()
    for make, shape in ((nested, (1, 1, 5, 5)),
                        (lambda lib: lib.nn.Sequential(lib.nn.Conv2d(2, 3, 3)), (1, 2, 5, 5)),
                        (lambda lib: lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Linear(3, 2)), (1, 3)),
                        (lambda lib: lib.nn.Sequential(lib.nn.LayerNorm(3), lib.nn.GELU(), lib.nn.LayerNorm(3)),
                         (2, 3)),
                        (lambda lib: lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.Tanh()), (1, 3))):
        assert names(make(ember), shape, ember) == names(make(torch), shape, torch)


def test_export_options_and_missing_onnx(monkeypatch):
    model = nn.Linear(3, 2)
    x = ember.randn(1, 3)
    proto, _ = _export(model, x, export_params=False, dynamo=False)        # a bare tensor as args
    assert not proto.graph.initializer and [i.name for i in proto.graph.input] == ["onnx::Gemm_0", "weight", "bias"]
    proto, data = _export(model, (), kwargs={"input": x}, keep_initializers_as_inputs=True, dynamo=False)
    assert [i.name for i in proto.graph.initializer] == ["weight", "bias"] and len(proto.graph.input) == 3
    np.testing.assert_allclose(_run(data, x)[0], model(x).detach().numpy(), atol=1e-6)
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)
    with pytest.raises(ModuleNotFoundError):
        ember.onnx.export(model, (x,), io.BytesIO())
