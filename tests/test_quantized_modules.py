"""Static quantized modules against torch's (x86/fbgemm engine): integer outputs bit for bit on identical weights
and inputs, reprs, state_dict keys, errors, float functions on quantized tensors, and the eager prepare/convert
flow (fuse, calibrate, convert, quantize, quantize_qat) end to end."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.ao.nn.intrinsic.quantized as eniq
import ember.ao.nn.quantized as enq
import ember.ao.quantization as eq
import ember.overrides as eo
from oracle import assert_same_error, to_ember, torch

tnq = pytest.importorskip("torch.ao.nn.quantized")
tniq = pytest.importorskip("torch.ao.nn.intrinsic.quantized")
tq = pytest.importorskip("torch.ao.quantization")
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::UserWarning")]


@pytest.fixture(scope="module", autouse=True)
def _engine_and_protocol():
    """torch's fbgemm engine (what its x86 engine runs on AVX2 machines; on AVX512 ones the x86 engine sends
    ConvTranspose2d to oneDNN, whose integers are not the float convolution's, off by up to 178); afterwards the
    rest of the suite back on the plain entry points (quantized tensors turn the ``__torch_function__`` protocol
    on)."""
    old = torch.backends.quantized.engine
    torch.backends.quantized.engine = "fbgemm"
    yield
    torch.backends.quantized.engine = old
    eo._deactivate()


def qpair(x: torch.Tensor, scale: float, zp: int, dtype=torch.quint8):
    t = torch.quantize_per_tensor(x, scale, zp, dtype)
    return t, ember.quantize_per_tensor(to_ember(x), scale, zp, getattr(ember, str(dtype)[6:]))


def qweight(w: torch.Tensor, per_channel: bool):
    """A qint8 weight in torch and the same integers/qparams in ember."""
    if per_channel:
        s = w.abs().flatten(1).amax(1).double() / 127
        zp = torch.zeros(w.shape[0], dtype=torch.long)
        return (torch.quantize_per_channel(w, s, zp, 0, torch.qint8),
                ember.quantize_per_channel(to_ember(w), to_ember(s), to_ember(zp), 0, ember.qint8))
    s = float(w.abs().max() / 127)
    return torch.quantize_per_tensor(w, s, 0, torch.qint8), ember.quantize_per_tensor(to_ember(w), s, 0, ember.qint8)


def same_q(e, t) -> None:
    assert str(e.dtype) == str(t.dtype)
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.int_repr().numpy(), t.int_repr().numpy())
    assert e.q_scale() == t.q_scale() and e.q_zero_point() == t.q_zero_point()


def seven_bit(shape, gen=None) -> torch.Tensor:
    """Activations that quantize to 0..127 at scale 0.05, zero point 64 (fbgemm's int16 pair sums cannot
    saturate: torch's x86/fbgemm default qconfigs use reduce_range for this)."""
    return (torch.randn(*shape, generator=gen) * 1.2).clamp(-3.2, 3.15)


def test_linear_and_conv_bit_exact():
    g = torch.Generator().manual_seed(0)
    cases = [  # (torch cls, ember cls, ctor args, ctor kwargs, weight shape, input shape)
        (tnq.Linear, enq.Linear, (6, 5), {}, (5, 6), (3, 2, 6)),
        (tniq.LinearReLU, eniq.LinearReLU, (6, 5), {}, (5, 6), (4, 6)),
        (tnq.Conv1d, enq.Conv1d, (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2}, (6, 2, 3), (2, 4, 7)),
        (tnq.Conv2d, enq.Conv2d, (4, 6, 3), {"padding": 2, "dilation": 2}, (6, 4, 3, 3), (2, 4, 6, 5)),
        (tniq.ConvReLU2d, eniq.ConvReLU2d, (4, 6, 3), {"stride": 2}, (6, 4, 3, 3), (1, 4, 7, 7)),
        (tnq.Conv2d, enq.Conv2d, (4, 6, 3), {"padding": 1, "padding_mode": "reflect"}, (6, 4, 3, 3), (1, 4, 5, 5)),
        (tnq.Conv3d, enq.Conv3d, (2, 4, 2), {"padding": 1}, (4, 2, 2, 2, 2), (1, 2, 3, 4, 3)),
        (tnq.ConvTranspose1d, enq.ConvTranspose1d, (4, 6, 3), {"stride": 2, "output_padding": 1, "groups": 2},
         (4, 3, 3), (2, 4, 5)),
        (tnq.ConvTranspose2d, enq.ConvTranspose2d, (4, 6, 3), {"stride": 2, "padding": 1}, (4, 6, 3, 3),
         (1, 4, 4, 3)),
    ]
    for i, (tcls, ecls, args, kw, wshape, xshape) in enumerate(cases):
        per_channel = i % 2 == 0 and "Transpose" not in tcls.__name__
        wt, we = qweight(torch.randn(*wshape, generator=g), per_channel)
        bias = torch.randn(wshape[1] * kw.get("groups", 1) if "Transpose" in tcls.__name__ else wshape[0],
                           generator=g) if i != 3 else None
        flag = {"bias_" if tcls is tnq.Linear else "bias": bias is not None}
        mt, me = tcls(*args, **kw, **flag), ecls(*args, **kw, **flag)
        mt.set_weight_bias(wt, bias)
        me.set_weight_bias(we, None if bias is None else to_ember(bias))
        for m in (mt, me):
            m.scale, m.zero_point = 0.09, 70
        xt, xe = qpair(seven_bit(xshape, g), 0.05, 64)
        same_q(me(xe), mt(xt))
        assert repr(me) == repr(mt)
        assert list(me.state_dict()) == list(mt.state_dict())
        np.testing.assert_array_equal(me.weight().int_repr().numpy(), mt.weight().int_repr().numpy())


def test_module_state_dict_round_trip_and_errors():
    wt, we = qweight(torch.randn(6, 4, 3, 3), True)
    src = enq.Conv2d(4, 6, 3)
    src.set_weight_bias(we, ember.ones(6))
    src.scale, src.zero_point = 0.25, 3
    dst = enq.Conv2d(4, 6, 3)
    dst.load_state_dict(src.state_dict())
    twin = __import__("copy").deepcopy(src)
    assert twin.weight().qscheme() is src.weight().qscheme() and twin.weight() is not src.weight()
    np.testing.assert_array_equal(twin.weight().q_per_channel_scales().numpy(), wt.q_per_channel_scales().numpy())
    assert (dst.scale, dst.zero_point) == (0.25, 3) and repr(dst) == repr(src)
    np.testing.assert_array_equal(dst.weight().int_repr().numpy(), we.int_repr().numpy())
    lin = enq.Linear(3, 2)
    lin2 = enq.Linear(3, 2)
    lin.scale = 0.5
    lin2.load_state_dict(lin.state_dict())
    assert lin2.scale == 0.5
    assert_same_error(lambda: enq.Conv2d(3, 4, 3, groups=2), lambda: tnq.Conv2d(3, 4, 3, groups=2))
    assert_same_error(lambda: enq.Conv2d(4, 4, 3, padding_mode="circular"),
                      lambda: tnq.Conv2d(4, 4, 3, padding_mode="circular"))
    assert_same_error(lambda: enq.Linear.from_float(ember.nn.Conv2d(1, 1, 1)),
                      lambda: tnq.Linear.from_float(torch.nn.Conv2d(1, 1, 1)), match_message=False)
    with pytest.raises(AssertionError, match="only works for Linear, NonDynamicallyQuantizableLinear, but got"):
        enq.Linear.from_float(ember.nn.Conv2d(1, 1, 1))
    with pytest.raises(RuntimeError, match="QUint8"):
        enq.Linear(3, 2)(ember.quantize_per_tensor(ember.ones(1, 3), 0.1, 0, ember.qint8))


def _copy_params(me, mt, names=("weight", "bias", "running_mean", "running_var")):
    with ember.no_grad():
        for n in names:
            if getattr(mt, n, None) is not None:
                getattr(me, n).copy_(to_ember(getattr(mt, n).detach()))


def test_activation_and_norm_modules():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 5, 5) * 2
    xt, xe = qpair(x, 0.03, 120)
    w, b = torch.rand(4) + 0.5, torch.randn(4)
    P = lambda lib, t: lib.nn.Parameter(to_ember(t) if lib is ember else t)   # noqa: E731
    cases = {
        "ReLU6": lambda L, q: q.ReLU6(),
        "Hardswish": lambda L, q: q.Hardswish(0.02, 30),
        "ELU": lambda L, q: q.ELU(0.02, 100, 0.7),
        "LeakyReLU": lambda L, q: q.LeakyReLU(0.025, 90, 0.05),
        "Sigmoid": lambda L, q: q.Sigmoid(1 / 256, 0),
        "Softmax": lambda L, q: q.Softmax(1, 1 / 256, 0),
        "LayerNorm": lambda L, q: q.LayerNorm([5, 5], None, None, 0.02, 128, elementwise_affine=False),
        "GroupNorm": lambda L, q: q.GroupNorm(2, 4, P(L, w), P(L, b), 0.02, 128),
        "InstanceNorm2d": lambda L, q: q.InstanceNorm2d(4, P(L, w), P(L, b), 0.02, 128, affine=True),
        "BatchNorm2d": lambda L, q: q.BatchNorm2d(4),
        "Dropout": lambda L, q: q.Dropout(0.3),
    }
    for name, make in cases.items():
        mt, me = make(torch, tnq), make(ember, enq)
        if name == "BatchNorm2d":
            with torch.no_grad():
                mt.weight.copy_(w), mt.bias.copy_(b), mt.running_mean.fill_(0.3), mt.running_var.fill_(1.7)
                mt.scale.fill_(0.04), mt.zero_point.fill_(100)
            _copy_params(me, mt, ("weight", "bias", "running_mean", "running_var", "scale", "zero_point"))
        yt, ye = mt(xt), me(xe)
        diff = np.abs(yt.int_repr().numpy().astype(int) - ye.int_repr().numpy().astype(int)).max()
        assert diff <= (1 if name == "ELU" else 0), name      # ELU: expm1 rounding, at most one step
        assert (ye.q_scale(), ye.q_zero_point()) == (yt.q_scale(), yt.q_zero_point()), name
        assert repr(me) == repr(mt), name
        assert list(me.state_dict()) == list(mt.state_dict()), name
    mt, me = tniq.BNReLU2d(4), eniq.BNReLU2d(4)
    assert repr(me) == repr(mt)
    same_q(me(xe), mt(xt))
    pt, pe = torch.nn.PReLU(4), ember.nn.PReLU(4)
    pt.weight.data = torch.rand(4)
    _copy_params(pe, pt, ("weight",))
    for m, lib in ((pt, tq), (pe, eq)):
        m.qconfig = lib.default_qconfig
        m.activation_post_process = m.qconfig.activation()
        m.activation_post_process(to_ember(x) if lib is eq else x)
    qt, qe = tnq.PReLU.from_float(pt), enq.PReLU.from_float(pe)
    assert repr(qe) == repr(qt) and list(qe.state_dict()) == list(qt.state_dict())
    same_q(qe.weight, qt.weight)
    yt, ye = qt(xt), qe(xe)     # torch's vector kernel dequantizes with a fused multiply-add: one step at most
    assert np.abs(yt.int_repr().numpy().astype(int) - ye.int_repr().numpy().astype(int)).max() <= 1
    assert (ye.q_scale(), ye.q_zero_point()) == (yt.q_scale(), yt.q_zero_point())


def test_float_functions_on_quantized_tensors():
    torch.manual_seed(1)
    xt, xe = qpair(torch.randn(2, 4, 5, 5) * 2, 0.03, 120)
    fns = [lambda L, q: L.relu(q), lambda L, q: L.nn.ReLU()(q), lambda L, q: L.nn.functional.max_pool2d(q, 2),
           lambda L, q: L.nn.functional.avg_pool2d(q, 2), lambda L, q: L.nn.functional.adaptive_avg_pool2d(q, (2, 3)),
           lambda L, q: L.nn.functional.hardtanh(q, -0.5, 0.7), lambda L, q: L.sigmoid(q), lambda L, q: L.tanh(q),
           lambda L, q: L.nn.functional.interpolate(q, scale_factor=2, mode="nearest"),
           lambda L, q: L.cat([q, q[:, :2]], 1), lambda L, q: q.flatten(1), lambda L, q: q.clamp(-1, 1),
           lambda L, q: q.mean((2, 3), keepdim=True), lambda L, q: q.permute(0, 2, 3, 1).reshape(2, -1),
           lambda L, q: L.nn.functional.relu6(q), lambda L, q: L.nn.functional.avg_pool2d(q, 3, padding=1)]
    for f in fns:
        same_q(f(ember, xe), f(torch, xt))
    # hardswish: torch's vector kernel dequantizes with a fused multiply-add, its tail without: one step at most
    ht, he = tnq.functional.hardswish(xt, 0.02, 3), enq.functional.hardswish(xe, 0.02, 3)
    assert np.abs(ht.int_repr().numpy().astype(int) - he.int_repr().numpy().astype(int)).max() <= 1
    ft, fe = tnq.QFunctional(), enq.QFunctional()
    for m in (ft, fe):
        m.scale, m.zero_point = 0.07, 80
    yt2, ye2 = qpair(torch.randn(2, 4, 5, 5), 0.05, 60)
    for op in ("add", "mul", "add_relu"):
        same_q(getattr(fe, op)(xe, ye2), getattr(ft, op)(xt, yt2))
    for op, s in (("add_scalar", 0.37), ("mul_scalar", -1.3), ("mul_scalar", 0.6)):
        same_q(getattr(fe, op)(xe, s), getattr(ft, op)(xt, s))
    same_q(fe.cat([xe, ye2], 1), ft.cat([xt, yt2], 1))
    assert repr(fe) == repr(ft) and list(fe.state_dict()) == list(ft.state_dict())


def test_per_channel_tensor_functions():
    """Selections and reshapes of a per-channel tensor carry the channels' qparams (one channel left: per tensor,
    as torch); torch's errors where it refuses to restride or has only per-tensor kernels."""
    w = torch.randn(3, 4, 2)
    scales, zps = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64), torch.tensor([0, 1, 2])
    qt = torch.quantize_per_channel(w, scales, zps, 0, torch.qint8)
    qe = ember.quantize_per_channel(to_ember(w), to_ember(scales), to_ember(zps), 0, ember.qint8)
    fns = [lambda q: q[1:], lambda q: q[::2], lambda q: q[:, 1:], lambda q: q[1], lambda q: q.reshape(3, 8),
           lambda q: q.unsqueeze(0), lambda q: q[:, :1].squeeze(1), lambda q: q.chunk(3)[1], lambda q: q.clone(),
           lambda q: q.narrow(0, 1, 2), lambda q: q.detach(), lambda q: q.unbind(0)[2]]
    for f in fns:
        e, t = f(qe), f(qt)
        assert repr(e.qscheme()) == str(t.qscheme()) and tuple(e.shape) == tuple(t.shape)
        np.testing.assert_array_equal(e.int_repr().numpy(), t.int_repr().numpy())
        if t.qscheme() == torch.per_tensor_affine:
            assert (e.q_scale(), e.q_zero_point()) == (t.q_scale(), t.q_zero_point())
        else:
            np.testing.assert_array_equal(e.q_per_channel_scales().numpy(), t.q_per_channel_scales().numpy())
            np.testing.assert_array_equal(e.q_per_channel_zero_points().numpy(),
                                          t.q_per_channel_zero_points().numpy())
            assert e.q_per_channel_axis() == t.q_per_channel_axis()
    view = qe[1:]
    view.int_repr()   # a view: the integers are shared
    assert view._data.base is not None or np.shares_memory(view._data, qe._data)
    for f in (lambda L, q: q.transpose(0, 1), lambda L, q: L.relu(q), lambda L, q: L.cat([q, q]),
              lambda L, q: L.nn.functional.max_pool1d(q, 2), lambda L, q: q.mean()):
        assert_same_error(lambda f=f: f(ember, qe), lambda f=f: f(torch, qt))


def _convnet(lib):
    nn, aq = lib.nn, lib.ao.quantization

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = aq.QuantStub()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.relu = nn.ReLU()
            self.pool = nn.MaxPool2d(2)
            self.fc1 = nn.Linear(16, 10)
            self.relu2 = nn.ReLU()
            self.fc2 = nn.Linear(10, 5)
            self.add = aq.QuantStub()
            self.ff = nn.quantized.FloatFunctional() if lib is torch else enq.FloatFunctional()
            self.dequant = aq.DeQuantStub()

        def forward(self, x):
            x = self.pool(self.relu(self.bn(self.conv(self.quant(x)))))
            x = self.relu2(self.fc1(x.flatten(1)))
            x = self.fc2(x)
            return self.dequant(self.ff.add(x, x))
    return Net


def _compare_converted(qe, qt, xe, xt, out_scale):
    """Same module tree (types, reprs with the qparams' last float bits aside), same weights, outputs within one
    output step (calibration sees float convolutions that differ from torch's in the last bits)."""
    assert [(n, type(m).__name__) for n, m in qe.named_modules()] == \
        [(n, type(m).__name__) for n, m in qt.named_modules()]
    assert list(qe.state_dict()) == list(qt.state_dict())
    numbers = lambda s: [round(float(v), 5) for v in __import__("re").findall(r"[-\d.e]+\d", s)]   # noqa: E731
    assert numbers(repr(qe)) == numbers(repr(qt))
    for (n, me), mt in zip(qe.named_modules(), qt.modules(), strict=True):
        if hasattr(mt, "weight") and callable(mt.weight):
            np.testing.assert_array_equal(me.weight().int_repr().numpy(), mt.weight().int_repr().numpy(), n)
    ye, yt = qe(xe), qt(xt)
    np.testing.assert_allclose(ye.numpy(), yt.numpy(), atol=1.01 * out_scale, rtol=0)


def test_static_prepare_convert_end_to_end():
    models = []
    for lib in (torch, ember):
        lib.manual_seed(0)
        m = _convnet(lib)().eval()
        m.qconfig = lib.ao.quantization.get_default_qconfig("x86")
        m = lib.ao.quantization.fuse_modules(m, [["conv", "bn", "relu"], ["fc1", "relu2"]])
        prepared = lib.ao.quantization.prepare(m)
        lib.manual_seed(1)
        for _ in range(2):
            prepared(lib.randn(2, 3, 4, 4))
        models.append(lib.ao.quantization.convert(prepared))
    qt, qe = models
    assert type(qe.conv) is eniq.ConvReLU2d and type(qe.ff) is enq.QFunctional and type(qe.quant) is enq.Quantize
    x = torch.randn(3, 3, 4, 4)
    _compare_converted(qe, qt, to_ember(x), x, qt.ff.scale)


def test_quantize_and_quantize_qat_mlp():
    def mlp(lib):
        nn, aq = lib.nn, lib.ao.quantization
        return nn.Sequential(aq.QuantStub(), nn.Linear(8, 6), nn.ReLU6(), nn.Linear(6, 3), aq.DeQuantStub())

    def calib(model, data):
        for x in data:
            model(x)

    def train(model, data, lib):
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        for x in data:
            opt.zero_grad()
            model(x).pow(2).sum().backward()
            opt.step()

    data_t = [torch.randn(4, 8) for _ in range(2)]
    data_e = [to_ember(x) for x in data_t]
    out = {}
    for lib, data in ((torch, data_t), (ember, data_e)):
        lib.manual_seed(0)
        m = mlp(lib)
        m.qconfig = lib.ao.quantization.get_default_qconfig("fbgemm")
        out[lib, "ptq"] = lib.ao.quantization.quantize(m, calib, [data])
        lib.manual_seed(0)
        m = mlp(lib)
        m.qconfig = lib.ao.quantization.get_default_qat_qconfig("fbgemm")
        out[lib, "qat"] = lib.ao.quantization.quantize_qat(m, lambda model, d, L=lib: train(model, d, L), [data])
    for kind in ("ptq", "qat"):
        qt, qe = out[torch, kind], out[ember, kind]
        assert type(qe[2]) is enq.ReLU6
        _compare_converted(qe, qt, data_e[0], data_t[0], qt[3].scale)


def test_qconfig_names_and_mappings():
    for name in ("default_debug_qconfig", "default_symmetric_qnnpack_qconfig", "float_qparams_weight_only_qconfig",
                 "per_channel_dynamic_qconfig", "default_dynamic_qat_qconfig", "default_reuse_input_qconfig"):
        assert repr(getattr(eq, name)).replace("ember", "torch") == repr(getattr(tq, name)), name
    assert set(type(k).__name__ for k in eq.get_default_qconfig_mapping("qnnpack").object_type_qconfigs) == \
        set(type(k).__name__ for k in tq.get_default_qconfig_mapping("qnnpack").object_type_qconfigs) - \
        {"builtin_function_or_method"} | {"function"}
    te = {k.__name__: v.__name__ for k, v in eq.get_default_static_quant_module_mappings().items()}
    tt = {k.__name__: v.__name__ for k, v in tq.get_default_static_quant_module_mappings().items()}
    skipped = {"ConvAdd2d", "ConvAddReLU2d", "LinearLeakyReLU", "LinearTanh",
               "LinearBn1d"}
    assert te == {k: v for k, v in tt.items() if k not in skipped}
    for cls in (eq.NoopObserver, eq.RecordingObserver, eq.ReuseInputObserver):
        assert repr(cls()) == repr(getattr(tq, cls.__name__)())
        assert_same_error(lambda c=cls: c().calculate_qparams(),
                          lambda c=cls: getattr(tq, c.__name__)().calculate_qparams())
    assert eq.QuantType.QAT == tq.QuantType.QAT.value and eq.fuse_conv_bn is not None
    fused = eq.fuse_conv_bn(False, ember.nn.Conv2d(2, 2, 1).eval(), ember.nn.BatchNorm2d(2).eval())
    assert type(fused) is ember.nn.Conv2d


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_quantize_dynamic_recurrent(kind):
    """int8 weights equal torch's; outputs within float32 rounding of the gate functions (the int8 GEMMs and
    their per-call activation qparams are torch's: whole-sequence input projection, per-step hidden one)."""
    torch.manual_seed(0)
    mt = torch.nn.Sequential(getattr(torch.nn, kind)(3, 4, num_layers=2, bidirectional=True, batch_first=True))
    me = ember.nn.Sequential(getattr(ember.nn, kind)(3, 4, num_layers=2, bidirectional=True, batch_first=True))
    me.load_state_dict({k: to_ember(v) for k, v in mt.state_dict().items()})
    qt, qe = tq.quantize_dynamic(mt), eq.quantize_dynamic(me)
    assert repr(qe) == repr(qt) and list(qe.state_dict()) == list(qt.state_dict())
    for name, w in qe[0].get_weight().items():
        np.testing.assert_array_equal(w.int_repr().numpy(), qt[0].get_weight()[name].int_repr().numpy())
    x = torch.randn(2, 5, 3)
    (yt, st), (ye, se) = qt(x), qe(to_ember(x))
    np.testing.assert_allclose(ye.numpy(), yt.numpy(), atol=1e-6, rtol=0)
    for a, b in zip(se if kind == "LSTM" else [se], st if kind == "LSTM" else [st], strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6, rtol=0)
    assert_same_error(lambda: qe[0](to_ember(x[0])), lambda: qt[0](x[0]))


def test_embedding_and_embedding_bag():
    torch.manual_seed(0)
    qconfig_t, qconfig_e = tq.float_qparams_weight_only_qconfig, eq.float_qparams_weight_only_qconfig
    idx = torch.tensor([0, 3, 5, 1, 2, 3])
    offsets = torch.tensor([0, 2])
    for kind, kw in (("Embedding", {}), ("EmbeddingBag", {"mode": "sum"}), ("EmbeddingBag", {"mode": "mean"})):
        ft = getattr(torch.nn, kind)(6, 5, **kw)
        fe = getattr(ember.nn, kind)(6, 5, **kw)
        fe.load_state_dict({k: to_ember(v) for k, v in ft.state_dict().items()})
        ft.qconfig, fe.qconfig = qconfig_t, qconfig_e
        qt, qe = getattr(tnq, kind).from_float(ft), getattr(enq, kind).from_float(fe)
        assert repr(qe) == repr(qt) and list(qe.state_dict()) == list(qt.state_dict())
        wt, we = qt.weight(), qe.weight()
        np.testing.assert_array_equal(we.int_repr().numpy(), wt.int_repr().numpy())
        np.testing.assert_array_equal(we.q_per_channel_zero_points().numpy(), wt.q_per_channel_zero_points().numpy())
        args_t = (idx, offsets) if kind == "EmbeddingBag" else (idx.reshape(2, 3),)
        yt, ye = qt(*args_t), qe(*(to_ember(a) for a in args_t))
        tol = 0 if kind == "Embedding" else 2e-6      # bags: fbgemm accumulates with fused multiply-adds
        np.testing.assert_allclose(ye.numpy(), yt.numpy(), atol=tol, rtol=0)
    assert_same_error(lambda: enq.Embedding.from_float(fe), lambda: tnq.Embedding.from_float(ft),
                      match_message=False)


def test_quantize_dynamic_cells():
    torch.manual_seed(0)
    mt = torch.nn.Sequential(torch.nn.LSTMCell(3, 4), torch.nn.GRUCell(3, 4),
                             torch.nn.RNNCell(3, 4, nonlinearity="relu"))
    me = ember.nn.Sequential(ember.nn.LSTMCell(3, 4), ember.nn.GRUCell(3, 4),
                             ember.nn.RNNCell(3, 4, nonlinearity="relu"))
    me.load_state_dict({k: to_ember(v) for k, v in mt.state_dict().items()})
    kinds = {torch.nn.LSTMCell, torch.nn.GRUCell, torch.nn.RNNCell}
    qt = tq.quantize_dynamic(mt, kinds)
    qe = eq.quantize_dynamic(me, {getattr(ember.nn, k.__name__) for k in kinds})
    assert repr(qe) == repr(qt) and list(qe.state_dict()) == list(qt.state_dict())
    x, h, c = torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 4)
    for (a, b) in zip(qe[0](to_ember(x), (to_ember(h), to_ember(c))), qt[0](x, (h, c)), strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6, rtol=0)
    for i in (1, 2):
        np.testing.assert_allclose(qe[i](to_ember(x), to_ember(h)).numpy(), qt[i](x, h).numpy(), atol=1e-6, rtol=0)
        np.testing.assert_allclose(qe[i](to_ember(x)).numpy(), qt[i](x).numpy(), atol=1e-6, rtol=0)


def test_low_level_quantized_functions():
    import ember.ops.quantize as Q
    torch.manual_seed(0)
    x = torch.randn(4, 5)
    for dt in (torch.quint8, torch.qint8):
        for rr in (False, True):
            same_q(Q.quantize_per_tensor_dynamic(to_ember(x), getattr(ember, str(dt)[6:]), rr),
                   torch.quantize_per_tensor_dynamic(x, dt, rr))
    qt, qe = qpair(torch.randn(1, 2, 5, 5), 0.1, 10)
    same_q(Q.quantized_max_pool2d(qe, [2, 2]), torch.quantized_max_pool2d(qt, [2, 2]))
    stats = (torch.rand(2), torch.randn(2), torch.randn(2), torch.rand(2) + 0.5)
    same_q(Q.quantized_batch_norm(qe, *map(to_ember, stats), 1e-5, 0.05, 30),
           torch.quantized_batch_norm(qt, *stats, 1e-5, 0.05, 30))
    ints = torch.tensor([1, 2, 250], dtype=torch.uint8)
    same_q(Q._make_per_tensor_quantized_tensor(to_ember(ints), 0.1, 1),
           torch._make_per_tensor_quantized_tensor(ints, 0.1, 1))


def test_legacy_nn_spellings_are_the_ao_modules() -> None:
    """``nn.quantized`` / ``nn.qat`` / ``nn.intrinsic`` (and submodules) give ``ao.nn``'s classes, as in torch."""
    import importlib

    for sub, cls in (("quantized", "Linear"), ("quantized.dynamic", "LSTM"), ("qat", "Conv2d"),
                     ("intrinsic", "ConvReLU2d"), ("intrinsic.qat", "ConvBn2d")):
        for lib in ("torch", "ember"):
            legacy, ao = (importlib.import_module(f"{lib}.{p}.{sub}") for p in ("nn", "ao.nn"))
            assert getattr(legacy, cls) is getattr(ao, cls), (lib, sub)
    assert ember.nn.quantized.Linear is ember.ao.nn.quantized.Linear and ember.nn.qat.Linear is ember.ao.nn.qat.Linear
