"""Recurrent layers and packed sequences against torch: weights (names, layout, init), outputs, final states,
every gradient, grad_fn structure, reprs, errors; gradcheck/gradgradcheck in float64."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from ember.nn.modules import rnn as ermod
from ember.nn.modules.rnn import _lstm_layer
from ember.nn.utils import rnn as ernn
from oracle import assert_close, assert_same_error, to_ember, to_torch, torch

trnn = torch.nn.utils.rnn
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported:UserWarning")

CONFIGS = [
    {},
    {"batch_first": True},
    {"bias": False},
    {"num_layers": 2, "bidirectional": True},
    {"num_layers": 2, "dropout": 0.5},
]
MODES = [("LSTM", {}), ("GRU", {}), ("RNN", {}), ("RNN", {"nonlinearity": "relu"})]


def _pair(cls: str, *args, dtype: str = "float32", **kw):
    """The same module built by torch and ember under the same seed (weights must then be identical)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(7)
        tm = getattr(torch.nn, cls)(*args, **kw).to(getattr(torch, dtype))
        ember.manual_seed(7)
        em = getattr(ember.nn, cls)(*args, **kw).to(getattr(ember, dtype))
    return tm, em


def _flat(out):
    """Tensors of a module's output (packed sequences contribute their data)."""
    if isinstance(out, (trnn.PackedSequence, ernn.PackedSequence)):
        return [out.data]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _backprop_both(t_outs, e_outs, seed=0):
    """Backprop the same random cotangents through every output of both frameworks."""
    rng = np.random.default_rng(seed)
    cots = [rng.standard_normal(tuple(t.shape)) for t in t_outs]
    sum(((t * torch.tensor(c, dtype=t.dtype)).sum() for t, c in zip(t_outs, cots, strict=True))).backward()
    sum(((e * ember.tensor(c, dtype=e.dtype)).sum() for e, c in zip(e_outs, cots, strict=True))).backward()


def _grad_fn_sig(t):
    fn = t.grad_fn
    if fn is None:
        return None
    return type(fn).__name__, tuple((type(f).__name__ if f is not None else None, i) for f, i in fn.next_functions)


def _compare_module(cls, kw, x, hx=None, dtype="float32", rtol=None, atol=None, grad_fns=True):
    tm, em = _pair(cls, 3, 4, dtype=dtype, **kw)
    for (tn, tp), (en, ep) in zip(tm.named_parameters(), em.named_parameters(), strict=True):
        assert tn == en
        assert_close(ep, tp, 0, 0)
    tx, ex = x.detach().clone().requires_grad_(), to_ember(x, True)
    targs = () if hx is None else (to_torch(hx),)
    eargs = () if hx is None else (hx,)
    torch.manual_seed(3)
    ember.manual_seed(3)
    t_outs, e_outs = _flat(tm(tx, *targs)), _flat(em(ex, *eargs))
    assert_close(e_outs, t_outs, rtol, atol)
    if grad_fns:
        assert [_grad_fn_sig(e) for e in e_outs] == [_grad_fn_sig(t) for t in t_outs]
    _backprop_both(t_outs, e_outs)
    for (name, tp), ep in zip(tm.named_parameters(), em.parameters(), strict=True):
        assert_close(ep.grad, tp.grad, rtol, atol), name
    return tx, ex, targs, eargs


# ---- construction ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kw", [
    ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 2}),
    ("LSTM", {"bias": False, "proj_size": 3}),
    ("GRU", {"num_layers": 3}),
    ("RNN", {"nonlinearity": "relu", "bidirectional": True}),
])
def test_parameters_names_layout_init(cls, kw):
    tm, em = _pair(cls, 3, 5, **kw)
    assert em._flat_weights_names == tm._flat_weights_names
    assert em._all_weights == tm._all_weights
    assert [[tuple(p.shape) for p in ws] for ws in em.all_weights] == [[tuple(p.shape) for p in ws]
                                                                      for ws in tm.all_weights]
    assert list(em.state_dict()) == list(tm.state_dict())
    for ep, tp in zip(em._flat_weights, tm._flat_weights, strict=True):
        assert_close(ep, tp, 0, 0)
    assert em.flatten_parameters() is None
    assert repr(em) == repr(tm)


def test_state_dict_interchange():
    tm, _ = _pair("LSTM", 3, 4, num_layers=2)
    ember.manual_seed(123)
    em = ember.nn.LSTM(3, 4, num_layers=2)
    em.load_state_dict({k: to_ember(v) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 2, 3)).astype(np.float32)
    assert_close(em(ember.tensor(x))[0], tm(torch.tensor(x))[0])


@pytest.mark.parametrize("args,kw", [
    ((3, 4), {"num_layers": 2, "bias": False, "batch_first": True, "dropout": 0.5, "bidirectional": True,
              "proj_size": 2}),
    ((3, 4), {}),
    ((3, 4, 2), {}),
])
def test_repr(args, kw):
    for cls in ("LSTM", "GRU", "RNN"):
        if cls != "LSTM" and "proj_size" in kw:
            continue
        tm, em = _pair(cls, *args, **kw)
        assert repr(em) == repr(tm)
    assert repr(ember.nn.RNN(3, 4, 2, "relu")) == repr(torch.nn.RNN(3, 4, 2, "relu"))
    for cls, kw2 in (("RNNCell", {"nonlinearity": "relu", "bias": False}), ("LSTMCell", {"bias": False}),
                     ("GRUCell", {})):
        tm, em = _pair(cls, 3, 4, **kw2)
        assert repr(em) == repr(tm)


@pytest.mark.parametrize("make", [
    lambda nn: nn.RNN(3, 4, nonlinearity="x"),
    lambda nn: nn.GRU(3, 4, proj_size=2),
    lambda nn: nn.RNN(3, 4, proj_size=2),
    lambda nn: nn.LSTM(3, 4, proj_size=4),
    lambda nn: nn.LSTM(3, 4, proj_size=-1),
    lambda nn: nn.LSTM(3, 4, dropout=2),
    lambda nn: nn.LSTM(3, 4, dropout=True),
    lambda nn: nn.LSTM(3, 0),
    lambda nn: nn.LSTM(0, 3),
    lambda nn: nn.LSTM(3, 4, num_layers=0),
    lambda nn: nn.LSTM(3.0, 4),
    lambda nn: nn.LSTM(3, 4.0),
    lambda nn: nn.LSTM(3, 4, bias=1),
    lambda nn: nn.LSTM(3, 4, batch_first=1),
])
def test_constructor_errors(make):
    assert_same_error(lambda: make(ember.nn), lambda: make(torch.nn))


def test_dropout_warning():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1, but got "
                                         "dropout=0.5 and num_layers=1"):
        ember.nn.GRU(3, 4, dropout=0.5)


# ---- outputs and gradients ----------------------------------------------------------------------------
@pytest.mark.parametrize("mode,mkw", MODES, ids=lambda v: str(v))
@pytest.mark.parametrize("kw", CONFIGS, ids=lambda v: str(v))
@pytest.mark.parametrize("with_hx", [False, True])
def test_module_matches_torch(mode, mkw, kw, with_hx):
    rng = np.random.default_rng(1)
    kw = {**mkw, **kw}
    batch, steps = 2, 5
    shape = (batch, steps, 3) if kw.get("batch_first") else (steps, batch, 3)
    x = torch.tensor(rng.standard_normal(shape), dtype=torch.float32)
    hx = None
    if with_hx:
        layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
        h = ember.tensor(rng.standard_normal((layers, batch, 4)), dtype=ember.float32, requires_grad=True)
        c = ember.tensor(rng.standard_normal((layers, batch, 4)), dtype=ember.float32, requires_grad=True)
        hx = (h, c) if mode == "LSTM" else h
    tx, ex, targs, eargs = _compare_module(mode, kw, x, hx)
    assert_close(ex.grad, tx.grad)
    if with_hx:
        for e, t in zip(_flat(eargs), _flat(targs), strict=True):
            assert_close(e.grad, t.grad)


@pytest.mark.parametrize("kw", [{"proj_size": 2}, {"proj_size": 2, "num_layers": 2, "bidirectional": True}])
def test_lstm_projection(kw):
    rng = np.random.default_rng(2)
    x = torch.tensor(rng.standard_normal((4, 3, 3)), dtype=torch.float32)
    layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    h = ember.tensor(rng.standard_normal((layers, 3, 2)), dtype=ember.float32, requires_grad=True)
    c = ember.tensor(rng.standard_normal((layers, 3, 4)), dtype=ember.float32, requires_grad=True)
    tx, ex, targs, eargs = _compare_module("LSTM", kw, x, (h, c))
    assert_close(ex.grad, tx.grad)
    assert_close([h.grad, c.grad], [targs[0][0].grad, targs[0][1].grad])


@pytest.mark.parametrize("mode,mkw", MODES, ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_and_dtypes(mode, mkw, dtype, batch_first):
    rng = np.random.default_rng(3)
    x = torch.tensor(rng.standard_normal((5, 3)), dtype=getattr(torch, dtype))
    h = ember.tensor(rng.standard_normal((2, 4)), dtype=getattr(ember, dtype), requires_grad=True)
    hx = (h, h.detach().clone().requires_grad_()) if mode == "LSTM" else h
    tx, ex, _, _ = _compare_module(mode, {**mkw, "num_layers": 2, "batch_first": batch_first}, x, hx, dtype=dtype)
    assert_close(ex.grad, tx.grad)


def test_eval_mode_and_no_grad():
    tm, em = _pair("LSTM", 3, 4, num_layers=2, dropout=0.5)
    tm.eval()
    em.eval()
    x = np.random.default_rng(4).standard_normal((5, 2, 3)).astype(np.float32)
    with ember.no_grad():
        eo, (eh, ec) = em(ember.tensor(x))
    to, (th, tc) = tm(torch.tensor(x))
    assert_close([eo, eh, ec], [to, th, tc])
    assert eo.grad_fn is None and not eo.requires_grad


def test_lstm_double_backward_matches_torch():
    """Gradients of gradients through the fused float32 LSTM layer (its backward re-derived with ember ops)."""
    tm, em = _pair("LSTM", 3, 4, bidirectional=True)
    x = np.random.default_rng(5).standard_normal((4, 2, 3)).astype(np.float32)
    results = []
    for lib, m in ((torch, tm), (ember, em)):
        xt = lib.tensor(x, requires_grad=True)
        out, (h, c) = m(xt)
        (gx,) = lib.autograd.grad((out * out).sum() + c.sum(), xt, create_graph=True)
        (gx * gx).sum().backward()
        results.append([xt.grad, *(p.grad for p in m.parameters())])
    assert_close(results[1], results[0], 1e-4, 1e-5)


# ---- the fused LSTM layer in float64 --------------------------------------------------------------------
def _fused_inputs(bias=True, seed=6):
    rng = np.random.default_rng(seed)
    shapes = [(3, 2, 2), (2, 2), (2, 2), (8, 2), (8, 2), (8,), (8,)]
    ts = [ember.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    if not bias:
        ts[5] = ts[6] = None
    return ts


@pytest.mark.parametrize("reverse,bias", [(False, True), (True, False)])
def test_fused_lstm_layer_gradcheck(reverse, bias):
    inputs = _fused_inputs(bias)

    def fn(*a):
        out, h, c = _lstm_layer(*a, reverse)
        return out, h, c

    args = tuple(inputs)
    assert ember.autograd.gradcheck(fn, args)
    if not reverse:
        assert ember.autograd.gradgradcheck(fn, args)


def test_fused_lstm_layer_matches_composite():
    """The array forward and the hand-written backward agree with the composite LSTM in float64."""
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = _fused_inputs()
    tm, em = _pair("LSTM", 2, 2, dtype="float64")
    with ember.no_grad():
        for p, v in zip(em.parameters(), (w_ih, w_hh, b_ih, b_hh), strict=True):
            p.copy_(v)
    fused = _lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, False)
    ref_out, (ref_h, ref_c) = em(x, (h0.unsqueeze(0), c0.unsqueeze(0)))
    assert_close(fused[0], to_torch(ref_out))
    assert_close(fused[1], to_torch(ref_h[0]))
    assert_close(fused[2], to_torch(ref_c[0]))


@pytest.mark.parametrize("mode,mkw", MODES, ids=lambda v: str(v))
def test_composite_gradcheck_float64(mode, mkw):
    ember.manual_seed(0)
    for bidirectional in (True, False):
        m = getattr(ember.nn, mode)(2, 2, bidirectional=bidirectional, **mkw).double()
        dirs = 2 if bidirectional else 1
        x = ember.randn(2, 2, 2, dtype=ember.float64, requires_grad=True)
        states = [ember.randn(dirs, 2, 2, dtype=ember.float64, requires_grad=True)
                  for _ in range(2 if mode == "LSTM" else 1)]

        def fn(x, *states, m=m):
            out, hn = m(x, tuple(states) if mode == "LSTM" else states[0])
            return (out, *hn) if mode == "LSTM" else (out, hn)

        check = ember.autograd.gradcheck if bidirectional else ember.autograd.gradgradcheck
        assert check(fn, (x, *states))


# ---- packed sequences ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mode,mkw,kw", [
    *((m, mkw, kw) for m, mkw in MODES for kw in ({}, {"num_layers": 2, "bidirectional": True})),
    ("LSTM", {}, {"proj_size": 2}),
], ids=str)
@pytest.mark.parametrize("with_hx", [False, True])
def test_packed_input(mode, mkw, kw, with_hx):
    rng = np.random.default_rng(8)
    lengths = [3, 5, 1, 5, 2]
    padded = rng.standard_normal((5, 5, 3)).astype(np.float32)
    tx = torch.tensor(padded, requires_grad=True)
    ex = ember.tensor(padded, requires_grad=True)
    tp = trnn.pack_padded_sequence(tx, lengths, enforce_sorted=False)
    ep = ernn.pack_padded_sequence(ex, lengths, enforce_sorted=False)
    layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    targs = eargs = ()
    if with_hx:
        hs = [rng.standard_normal((layers, 5, kw.get("proj_size") or 4)), rng.standard_normal((layers, 5, 4))]
        states = [ember.tensor(s, dtype=ember.float32, requires_grad=True) for s in hs]
        eargs = (tuple(states) if mode == "LSTM" else states[0],)
        targs = (to_torch(eargs[0]),)
    tm, em = _pair(mode, 3, 4, **mkw, **kw)
    t_res, e_res = tm(tp, *targs), em(ep, *eargs)
    assert isinstance(e_res[0], ernn.PackedSequence)
    assert_close(e_res[0].sorted_indices, t_res[0].sorted_indices)
    assert_close(e_res[0].batch_sizes, t_res[0].batch_sizes)
    t_outs, e_outs = _flat(t_res), _flat(e_res)
    assert_close(e_outs, t_outs)
    assert [_grad_fn_sig(e) for e in e_outs] == [_grad_fn_sig(t) for t in t_outs]
    _backprop_both(t_outs, e_outs)
    assert_close(ex.grad, tx.grad)
    for ep_, tp_ in zip(em.parameters(), tm.parameters(), strict=True):
        assert_close(ep_.grad, tp_.grad)
    for e, t in zip(_flat(eargs), _flat(targs), strict=True):
        assert_close(e.grad, t.grad)


def test_packed_final_states_are_per_sequence():
    """h_n of a packed batch equals running each sequence alone to its own length."""
    ember.manual_seed(0)
    m = ember.nn.GRU(3, 4, bidirectional=True)
    seqs = [ember.randn(n, 3) for n in (2, 4, 3)]
    _, hn = m(ernn.pack_sequence(seqs, enforce_sorted=False))
    for b, s in enumerate(seqs):
        _, h_alone = m(s)
        np.testing.assert_allclose(hn[:, b].detach().numpy(), h_alone.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_pack_pad_roundtrip_and_gradients():
    rng = np.random.default_rng(9)
    padded = rng.standard_normal((4, 3, 2))
    for batch_first in (False, True):
        for sort in (True, False):
            lengths = [4, 2, 1] if sort else [2, 4, 1]
            data = padded.transpose(1, 0, 2).copy() if batch_first else padded
            tx = torch.tensor(data, requires_grad=True)
            ex = ember.tensor(data, requires_grad=True)
            tp = trnn.pack_padded_sequence(tx, lengths, batch_first=batch_first, enforce_sorted=sort)
            ep = ernn.pack_padded_sequence(ex, lengths, batch_first=batch_first, enforce_sorted=sort)
            assert_close(list(ep), list(tp))
            assert type(ep.data.grad_fn).__name__ == type(tp.data.grad_fn).__name__
            for total in (None, 6):
                t_pad, t_len = trnn.pad_packed_sequence(tp, batch_first, -1.0, total)
                e_pad, e_len = ernn.pad_packed_sequence(ep, batch_first, -1.0, total)
                assert_close([e_pad, e_len], [t_pad, t_len])
                assert _grad_fn_sig(e_pad)[0] == _grad_fn_sig(t_pad)[0]
            _backprop_both([t_pad], [e_pad])
            assert_close(ex.grad, tx.grad)


def test_pack_sequence_unpack_unpad():
    seqs = [np.arange(n * 2, dtype=np.float32).reshape(n, 2) + n for n in (3, 1, 4)]
    tp = trnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    ep = ernn.pack_sequence([ember.tensor(s) for s in seqs], enforce_sorted=False)
    assert_close(list(ep), list(tp))
    assert_close(ernn.unpack_sequence(ep), trnn.unpack_sequence(tp))
    padded = np.random.default_rng(0).standard_normal((4, 3, 2))
    lengths = [4, 1, 3]
    assert_close(ernn.unpad_sequence(ember.tensor(padded), ember.tensor(lengths)),
                 trnn.unpad_sequence(torch.tensor(padded), torch.tensor(lengths)))
    assert_close(ernn.invert_permutation(ember.tensor([2, 0, 3, 1])),
                 trnn.invert_permutation(torch.tensor([2, 0, 3, 1])))
    assert ernn.invert_permutation(None) is None


def test_packed_sequence_type():
    ep = ernn.pack_sequence([ember.ones(3, 2), ember.ones(2, 2)])
    tp = trnn.pack_sequence([torch.ones(3, 2), torch.ones(2, 2)])
    assert repr(ep) == repr(tp)
    assert ep._fields == tp._fields and isinstance(ep, tuple)
    assert ep.to(ember.float32) is ep
    d = ep.double()
    assert isinstance(d, ernn.PackedSequence) and d.data.dtype is ember.float64
    assert d.batch_sizes is ep.batch_sizes and not ep.is_cuda
    assert ernn.PackedSequence((ep.data, ep.batch_sizes)).data is ep.data
    ties = ernn.pack_padded_sequence(ember.zeros(3, 4), [2, 3, 2, 3], enforce_sorted=False)
    assert_close(ties.sorted_indices, trnn.pack_padded_sequence(torch.zeros(3, 4), [2, 3, 2, 3],
                                                                enforce_sorted=False).sorted_indices)


@pytest.mark.parametrize("call", [
    lambda r, x: r.pack_padded_sequence(x, [2, 4, 1]),
    lambda r, x: r.pack_padded_sequence(x, [4, 2]),
    lambda r, x: r.pack_padded_sequence(x, [4, 2, 0]),
    lambda r, x: r.pack_padded_sequence(x, [2, 0, 1], enforce_sorted=False),
    lambda r, x: r.pad_packed_sequence(r.pack_padded_sequence(x, [4, 2, 1]), total_length=3),
])
def test_packing_errors(call):
    x = np.zeros((4, 3, 2), dtype=np.float32)
    assert_same_error(lambda: call(ernn, ember.tensor(x)), lambda: call(trnn, torch.tensor(x)))


def test_lengths_tensor_error():
    assert_same_error(lambda: ernn.pack_padded_sequence(ember.zeros(4, 3, 2), ember.tensor([[4, 2, 1]])),
                      lambda: trnn.pack_padded_sequence(torch.zeros(4, 3, 2), torch.tensor([[4, 2, 1]])))


# ---- dropout between layers ----------------------------------------------------------------------------
def test_dropout_between_layers_same_stream():
    for cls in ("LSTM", "GRU"):
        tm, em = _pair(cls, 3, 4, num_layers=3, dropout=0.4)
        x = np.random.default_rng(10).standard_normal((4, 2, 3)).astype(np.float32)
        torch.manual_seed(11)
        ember.manual_seed(11)
        assert_close(em(ember.tensor(x))[0], tm(torch.tensor(x))[0])


# ---- forward errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("call", [
    lambda lib, m: m(lib.zeros(5, 2, 4)),
    lambda lib, m: m(lib.zeros(5, 2, 3, dtype=lib.float64)),
    lambda lib, m: m(lib.zeros(5, 2, 3, 1)),
    lambda lib, m: m(lib.zeros(0, 2, 3)),
])
def test_forward_input_errors(cls, call):
    tm, em = _pair(cls, 3, 4)
    assert_same_error(lambda: call(ember, em), lambda: call(torch, tm))


@pytest.mark.parametrize("states", [
    lambda lib: (lib.zeros(1, 3, 4), lib.zeros(1, 2, 4)),
    lambda lib: (lib.zeros(1, 2, 4), lib.zeros(1, 3, 4)),
    lambda lib: (lib.zeros(1, 2, 4), lib.zeros(1, 2, 5)),
    lambda lib: (lib.zeros(2, 4), lib.zeros(1, 2, 4)),
])
def test_lstm_hidden_errors(states):
    tm, em = _pair("LSTM", 3, 4)
    assert_same_error(lambda: em(ember.zeros(5, 2, 3), states(ember)), lambda: tm(torch.zeros(5, 2, 3), states(torch)))
    assert_same_error(lambda: em(ember.zeros(5, 3), tuple(s[0] for s in states(ember))),
                      lambda: tm(torch.zeros(5, 3), tuple(s[0] for s in states(torch))))


@pytest.mark.parametrize("cls", ["GRU", "RNN"])
@pytest.mark.parametrize("call", [
    lambda lib, m: m(lib.zeros(5, 2, 3), lib.zeros(1, 3, 4)),
    lambda lib, m: m(lib.zeros(5, 2, 3), lib.zeros(3, 4)),
    lambda lib, m: m(lib.zeros(5, 3), lib.zeros(1, 1, 4)),
    lambda lib, m: m(lib.zeros(5, 3), lib.zeros(1, 5)),
])
def test_hidden_errors(cls, call):
    tm, em = _pair(cls, 3, 4)
    assert_same_error(lambda: call(ember, em), lambda: call(torch, tm))


# ---- cells ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kw", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}),
                                    ("GRUCell", {}), ("GRUCell", {"bias": False}), ("LSTMCell", {"bias": False})])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_hx", [True, False])
def test_cells(cls, kw, batched, with_hx):
    rng = np.random.default_rng(12)
    tm, em = _pair(cls, 3, 4, **kw)
    lead = (2,) if batched else ()
    x = rng.standard_normal((*lead, 3)).astype(np.float32)
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    hs = [rng.standard_normal((*lead, 4)).astype(np.float32) for _ in range(2)]
    eh = [ember.tensor(h, requires_grad=True) for h in hs]
    th = [torch.tensor(h, requires_grad=True) for h in hs]
    lstm = cls == "LSTMCell"
    eargs = () if not with_hx else ((eh[0], eh[1]),) if lstm else (eh[0],)
    targs = () if not with_hx else ((th[0], th[1]),) if lstm else (th[0],)
    t_outs, e_outs = _flat(tm(tx, *targs)), _flat(em(ex, *eargs))
    assert_close(e_outs, t_outs)
    assert [_grad_fn_sig(e) for e in e_outs] == [_grad_fn_sig(t) for t in t_outs]
    _backprop_both(t_outs, e_outs)
    assert_close(ex.grad, tx.grad)
    for ep, tp in zip(em.parameters(), tm.parameters(), strict=True):
        assert_close(ep.grad, tp.grad)
    if with_hx:
        n = 2 if lstm else 1
        assert_close([h.grad for h in eh[:n]], [h.grad for h in th[:n]])


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_gradcheck(cls):
    ember.manual_seed(0)
    m = getattr(ember.nn, cls)(2, 3).double()
    x = ember.randn(2, 2, dtype=ember.float64, requires_grad=True)
    h = ember.randn(2, 3, dtype=ember.float64, requires_grad=True)
    c = ember.randn(2, 3, dtype=ember.float64, requires_grad=True)
    if cls == "LSTMCell":
        assert ember.autograd.gradcheck(lambda x, h, c: m(x, (h, c)), (x, h, c))
        assert ember.autograd.gradgradcheck(lambda x, h, c: m(x, (h, c)), (x, h, c))
    else:
        assert ember.autograd.gradcheck(m, (x, h))
        assert ember.autograd.gradgradcheck(m, (x, h))


@pytest.mark.parametrize("call", [
    lambda lib, c, g, r: c(lib.zeros(2, 5)),
    lambda lib, c, g, r: c(lib.zeros(2, 3), (lib.zeros(3, 4), lib.zeros(3, 4))),
    lambda lib, c, g, r: c(lib.zeros(2, 3), (lib.zeros(2, 5), lib.zeros(2, 4))),
    lambda lib, c, g, r: c(lib.zeros(2, 3), (lib.zeros(2, 4), lib.zeros(2, 5))),
    lambda lib, c, g, r: c(lib.zeros(2, 3), (lib.zeros(2, 2, 3), lib.zeros(2, 4))),
    lambda lib, c, g, r: c(lib.zeros(3), (lib.zeros(2, 4), lib.zeros(2, 4))),
    lambda lib, c, g, r: g(lib.zeros(2, 5)),
    lambda lib, c, g, r: g(lib.zeros(2, 3), lib.zeros(3, 4)),
    lambda lib, c, g, r: g(lib.zeros(2, 3), lib.zeros(2, 5)),
    lambda lib, c, g, r: r(lib.zeros(2, 2, 3)),
    lambda lib, c, g, r: r(lib.zeros(2, 3), lib.zeros(2, 2, 3)),
    lambda lib, c, g, r: r(lib.zeros(2, 3), lib.zeros(4)),
])
def test_cell_errors(call):
    (tc, ec), (tg, eg), (tr, er) = (_pair(n, 3, 4) for n in ("LSTMCell", "GRUCell", "RNNCell"))
    assert_same_error(lambda: call(ember, ec, eg, er), lambda: call(torch, tc, tg, tr))


def test_cell_unknown_nonlinearity():
    tm, em = _pair("RNNCell", 3, 4, nonlinearity="foo")
    assert_same_error(lambda: em(ember.zeros(2, 3)), lambda: tm(torch.zeros(2, 3)))


# ---- torch-level functional forms (torch.lstm, torch.gru_cell, ...) ---------------------------------------
@pytest.mark.parametrize("name,cls", [("lstm", "LSTM"), ("gru", "GRU"), ("rnn_tanh", "RNN"), ("rnn_relu", "RNN")])
@pytest.mark.parametrize("packed", [False, True])
def test_functional_recurrences(name, cls, packed):
    kw = {"nonlinearity": "relu"} if name == "rnn_relu" else {}
    tm, em = _pair(cls, 3, 4, num_layers=2, bidirectional=True, **kw)
    rng = np.random.default_rng(13)
    x = rng.standard_normal((4, 2, 3)).astype(np.float32)
    h = rng.standard_normal((4, 2, 4)).astype(np.float32)
    outs = []
    for lib, fn, m, mod in ((torch, getattr(torch, name), tm, trnn), (ember, getattr(ermod, name), em, ernn)):
        hx = [lib.tensor(h), lib.tensor(h)] if name == "lstm" else lib.tensor(h)
        params = list(m._flat_weights)
        if packed:
            p = mod.pack_padded_sequence(lib.tensor(x), [4, 2])
            outs.append(fn(p.data, p.batch_sizes, hx, params, True, 2, 0.0, True, True))
        else:
            outs.append(fn(lib.tensor(x).transpose(0, 1), hx, params, True, 2, 0.0, True, True, True))
    assert_close(list(outs[1]), list(outs[0]))


@pytest.mark.parametrize("name", ["lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell"])
def test_functional_cells(name):
    cls = {"lstm_cell": "LSTMCell", "gru_cell": "GRUCell"}.get(name, "RNNCell")
    tm, em = _pair(cls, 3, 4)
    rng = np.random.default_rng(14)
    x, h = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal((2, 4)).astype(np.float32)
    res = []
    for lib, fn, m in ((torch, getattr(torch, name), tm), (ember, getattr(ermod, name), em)):
        hx = (lib.tensor(h), lib.tensor(h)) if name == "lstm_cell" else lib.tensor(h)
        res.append(fn(lib.tensor(x), hx, m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh))
    assert_close(_flat(res[1]), _flat(res[0]))
