"""scaled_dot_product_attention, multi_head_attention_forward, MultiheadAttention and the Transformer modules
against torch: outputs, every gradient, init under the same seed, reprs, state_dict keys, warnings and errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ember
from oracle import assert_close, assert_same_error, to_ember, to_torch, torch

RNG = np.random.default_rng(0)
pytestmark = [pytest.mark.filterwarnings("ignore:Support for mismatched"),
              pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
              pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")]


def _pair(*shape: int, rg: bool = True, dtype: type = np.float32) -> tuple:
    a = RNG.standard_normal(shape).astype(dtype)
    return ember.tensor(a, requires_grad=rg), torch.tensor(a, requires_grad=rg)


def _backward_both(e_out, t_out) -> None:
    cot = RNG.standard_normal(tuple(t_out.shape)).astype(np.float32)
    e_out.backward(ember.tensor(cot, dtype=e_out.dtype))
    t_out.backward(torch.tensor(cot, dtype=t_out.dtype))


def _grads_match(e_tensors, t_tensors, atol: float = 1e-5) -> None:
    for e, t in zip(e_tensors, t_tensors, strict=True):
        if t.grad is None:
            assert e.grad is None
        else:
            assert_close(e.grad, t.grad, atol=atol, rtol=1e-4)


def _sdpa_case(shapes, mask=None, **kw):
    e_in, t_in = zip(*(_pair(*s) for s in shapes), strict=True)
    em, tm = (to_ember(mask), mask) if mask is not None else (None, None)
    eo = ember.nn.functional.scaled_dot_product_attention(*e_in, attn_mask=em, **kw)
    to = torch.nn.functional.scaled_dot_product_attention(*t_in, attn_mask=tm, **kw)
    assert_close(eo, to, atol=1e-5, rtol=1e-4)
    assert type(eo.grad_fn).__name__ == type(to.grad_fn).__name__
    _backward_both(eo, to)
    _grads_match(e_in, t_in)
    return eo, to


# ---- scaled_dot_product_attention ---------------------------------------------------------------------
QKV = [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8)]


@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"scale": 0.3}])
def test_sdpa_flash_path(kw):
    _sdpa_case(QKV, **kw)


@pytest.mark.parametrize("shapes", [
    [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6)],      # Ev != E: math path
    [(3, 4, 8), (3, 5, 8), (3, 5, 8)],                # 3-d
    [(4, 8), (5, 8), (5, 8)],                         # 2-d
    [(1, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8)],      # broadcast batch
    [(6, 5, 8), (6, 5, 8), (6, 5, 8)],
])
def test_sdpa_math_path_shapes(shapes):
    _sdpa_case(shapes)
    _sdpa_case(shapes, is_causal=True)


def test_sdpa_flash_mask_and_causal_together():
    _sdpa_case(QKV, torch.tensor(RNG.random((4, 5)) > 0.3), is_causal=True)
    _sdpa_case(QKV, torch.tensor(RNG.standard_normal((2, 1, 4, 5)).astype(np.float32)), is_causal=True)


def test_sdpa_causal_rectangular():
    _sdpa_case([(2, 3, 6, 8), (2, 3, 4, 8), (2, 3, 4, 8)], is_causal=True)
    _sdpa_case([(2, 3, 3, 8), (2, 3, 5, 8), (2, 3, 5, 8)], is_causal=True)


@pytest.mark.parametrize("mask_shape", [(4, 5), (2, 1, 1, 5), (1, 4, 5), (2, 3, 4, 5)])
def test_sdpa_bool_mask_with_fully_masked_row(mask_shape):
    m = RNG.random(mask_shape) > 0.3
    if mask_shape[-2] > 1:
        m[..., 1, :] = False
    eo, to = _sdpa_case(QKV, torch.tensor(m))
    assert not np.isnan(eo.detach().numpy()).any()


@pytest.mark.parametrize("mask_shape", [(4, 5), (2, 3, 4, 5), (3, 1, 5)])
def test_sdpa_float_mask(mask_shape):
    _sdpa_case(QKV, torch.tensor(RNG.standard_normal(mask_shape).astype(np.float32)))


def test_sdpa_float_mask_requires_grad():
    em, tm = _pair(3, 1, 5)
    e_in, t_in = zip(*(_pair(*s) for s in QKV), strict=True)
    eo = ember.nn.functional.scaled_dot_product_attention(*e_in, attn_mask=em)
    to = torch.nn.functional.scaled_dot_product_attention(*t_in, attn_mask=tm)
    assert type(eo.grad_fn).__name__ == type(to.grad_fn).__name__ == "UnsafeViewBackward0"
    _backward_both(eo, to)
    _grads_match((*e_in, em), (*t_in, tm))


def test_sdpa_gqa():
    _sdpa_case([(2, 4, 4, 8), (2, 2, 5, 8), (2, 1, 5, 8)], enable_gqa=True)
    _sdpa_case([(4, 4, 8), (2, 5, 8), (2, 5, 8)], enable_gqa=True, is_causal=True)


def test_sdpa_dropout_same_stream():
    e_in, t_in = zip(*(_pair(*s) for s in QKV), strict=True)
    ember.manual_seed(3)
    torch.manual_seed(3)
    eo = ember.nn.functional.scaled_dot_product_attention(*e_in, dropout_p=0.4)
    to = torch.nn.functional.scaled_dot_product_attention(*t_in, dropout_p=0.4)
    assert_close(eo, to, atol=1e-5, rtol=1e-4)
    assert type(eo.grad_fn).__name__ == "UnsafeViewBackward0"
    _backward_both(eo, to)
    _grads_match(e_in, t_in)
    ember.manual_seed(3)
    assert_close(ember.nn.functional.scaled_dot_product_attention(*e_in, dropout_p=1.0),
                 torch.zeros(2, 3, 4, 8))


def test_sdpa_float32_mask_with_float64_inputs():
    e_in, t_in = zip(*(_pair(*s, dtype=np.float64) for s in QKV), strict=True)
    mask = torch.tensor(RNG.standard_normal((4, 5)).astype(np.float32))
    eo = ember.nn.functional.scaled_dot_product_attention(*e_in, attn_mask=to_ember(mask))
    to = torch.nn.functional.scaled_dot_product_attention(*t_in, attn_mask=mask)
    assert_close(eo, to)


def test_sdpa_dtypes_and_no_grad():
    for dt in (np.float64, np.float16):
        e_in, t_in = zip(*(_pair(*s, rg=False, dtype=dt) for s in QKV), strict=True)
        eo = ember.nn.functional.scaled_dot_product_attention(*e_in)
        to = torch.nn.functional.scaled_dot_product_attention(*t_in)
        assert_close(eo, to, atol=2e-3 if dt is np.float16 else 1e-7, rtol=2e-3 if dt is np.float16 else 1e-6)
        assert eo.grad_fn is None


def _sdpa(lib):
    return lib.nn.functional.scaled_dot_product_attention


@pytest.mark.parametrize("case", [
    lambda L, q, k, v: _sdpa(L)(q, k.double(), v),
    lambda L, q, k, v: _sdpa(L)(q, k, v, attn_mask=L.ones(1, 4, 5, dtype=L.bool), is_causal=True),
    lambda L, q, k, v: _sdpa(L)(q, k, v, attn_mask=L.ones(4, 5, dtype=L.int64)),
    lambda L, q, k, v: _sdpa(L)(q, k, v, attn_mask=L.ones(4, 5, dtype=L.float64)),
    lambda L, q, k, v: _sdpa(L)(q.double(), k.double(), v.double(), attn_mask=L.ones(4, 5, dtype=L.float16)),
    lambda L, q, k, v: _sdpa(L)(q, k, v, attn_mask=L.ones(3, 5)),
    lambda L, q, k, v: _sdpa(L)(q, k, v, attn_mask=L.ones(3, 1, 4, 5)),
    lambda L, q, k, v: _sdpa(L)(q, k, v, attn_mask=L.ones(5)),
    lambda L, q, k, v: _sdpa(L)(q, k[..., :7], v),
    lambda L, q, k, v: _sdpa(L)(q, k, v[..., :4, :6]),
    lambda L, q, k, v: _sdpa(L)(q, k[:, :2], v[:, :2], enable_gqa=True),
    lambda L, q, k, v: _sdpa(L)(q[0, 0, 0], k[0, 0, 0], v[0, 0, 0]),
    lambda L, q, k, v: _sdpa(L)(q.long(), k.long(), v.long()),
    lambda L, q, k, v: _sdpa(L)(q, k, v, dropout_p=1.5),
    lambda L, q, k, v: _sdpa(L)(q, k, v, dropout_p=-0.5),
])
def test_sdpa_errors(case):
    (qe, qt), (ke, kt), (ve, vt) = (_pair(*s) for s in QKV)
    assert_same_error(lambda: case(ember, qe, ke, ve), lambda: case(torch, qt, kt, vt))


@pytest.mark.parametrize("kw, shapes", [
    ({}, [(1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4)]),
    ({"is_causal": True}, [(2, 3, 4), (2, 5, 4), (2, 5, 4)]),
    ({}, [(1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 2)]),
    ({"enable_gqa": True}, [(1, 2, 3, 4), (1, 1, 3, 4), (1, 1, 3, 4)]),
])
def test_sdpa_gradcheck(kw, shapes):
    ins = [ember.tensor(RNG.standard_normal(s), requires_grad=True) for s in shapes]
    f = ember.nn.functional.scaled_dot_product_attention
    assert ember.autograd.gradcheck(lambda *a: f(*a, **kw), ins)
    assert ember.autograd.gradgradcheck(lambda *a: f(*a, **kw), ins)


@pytest.mark.parametrize("kw", [{"is_causal": True}, {"dropout_p": 0.3}, {"attn_mask": "bool"}])
def test_sdpa_double_backward_matches_torch(kw):
    """create_graph rebuilds the probabilities with ember ops: same first and second derivatives as torch's
    math path (Ev != E selects it; torch's flash kernel has no double backward)."""
    shapes = [(2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3)]
    e_in, t_in = zip(*(_pair(*sh, dtype=np.float64) for sh in shapes), strict=True)
    if kw.get("attn_mask") == "bool":
        m = RNG.random((3, 5)) > 0.4
        m[1] = False
        kw = {"attn_mask": torch.tensor(m)}
    results = []
    for lib, ins in ((ember, e_in), (torch, t_in)):
        lib.manual_seed(4)
        args = {k: (to_ember(v) if lib is ember else v) for k, v in kw.items()}
        out = lib.nn.functional.scaled_dot_product_attention(*ins, **args)
        cot = lib.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)))
        grads = lib.autograd.grad(out, ins, cot, create_graph=True)
        second = lib.autograd.grad(sum((g * g).sum() for g in grads), ins)
        results.append((grads, second))
    for e, t in zip(results[0][0] + results[0][1], results[1][0] + results[1][1], strict=True):
        assert_close(e, t, atol=1e-9, rtol=1e-7)


def test_sdpa_gradcheck_masks():
    ins = [ember.tensor(RNG.standard_normal(s), requires_grad=True) for s in [(1, 2, 3, 4), (1, 2, 5, 4),
                                                                              (1, 2, 5, 4)]]
    bool_mask = ember.tensor(RNG.random((3, 5)) > 0.4)
    f = ember.nn.functional.scaled_dot_product_attention
    assert ember.autograd.gradcheck(lambda *a: f(*a, attn_mask=bool_mask), ins)
    float_mask = ember.tensor(RNG.standard_normal((2, 1, 5)), requires_grad=True)
    assert ember.autograd.gradcheck(lambda q, k, v, m: f(q, k, v, attn_mask=m), (*ins, float_mask))


# ---- MultiheadAttention -------------------------------------------------------------------------------
def _twin(factory, seed: int = 0):
    """The same module built by ember and torch under the same seed (parameters must already agree)."""
    ember.manual_seed(seed)
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e, t = factory(ember), factory(torch)
    es, ts = e.state_dict(), t.state_dict()
    assert list(es) == list(ts)
    for key in ts:
        assert_close(es[key], ts[key], atol=0, rtol=0)
    return e, t


def _param_grads_match(e, t, atol: float = 1e-5) -> None:
    ep, tp = dict(e.named_parameters()), dict(t.named_parameters())
    assert list(ep) == list(tp)
    for name in tp:
        if tp[name].grad is None:
            assert ep[name].grad is None, name
        else:
            assert ep[name].grad is not None, name
            assert_close(ep[name].grad, tp[name].grad, atol=atol, rtol=1e-4)


MHA_CONFIGS = [
    {},
    {"batch_first": True},
    {"kdim": 6, "vdim": 4},
    {"add_bias_kv": True, "add_zero_attn": True},
    {"bias": False},
    {"kdim": 6, "vdim": 4, "batch_first": True, "add_bias_kv": True},
]


@pytest.mark.parametrize("cfg", MHA_CONFIGS)
@pytest.mark.parametrize("need_weights, average", [(True, True), (True, False), (False, True)])
def test_mha_matches_torch(cfg, need_weights, average):
    e, t = _twin(lambda L: L.nn.MultiheadAttention(8, 2, **cfg))
    bf = cfg.get("batch_first", False)
    sh_q, sh_k = ((2, 4), (2, 5)) if bf else ((4, 2), (5, 2))
    (qe, qt), (ke, kt), (ve, vt) = _pair(*sh_q, 8), _pair(*sh_k, cfg.get("kdim", 8)), _pair(*sh_k, cfg.get("vdim", 8))
    kpm = torch.tensor(RNG.random((2, 5)) > 0.7)
    am = torch.tensor(RNG.random((4, 5)) > 0.8)
    eo, ew = e(qe, ke, ve, key_padding_mask=to_ember(kpm), attn_mask=to_ember(am), need_weights=need_weights,
               average_attn_weights=average)
    to, tw = t(qt, kt, vt, key_padding_mask=kpm, attn_mask=am, need_weights=need_weights,
               average_attn_weights=average)
    assert_close(eo, to, atol=1e-5, rtol=1e-4)
    assert type(eo.grad_fn).__name__ == type(to.grad_fn).__name__
    if need_weights:
        assert_close(ew, tw, atol=1e-6, rtol=1e-4)
        assert type(ew.grad_fn).__name__ == type(tw.grad_fn).__name__
    else:
        assert ew is None and tw is None
    _backward_both(eo, to)
    _param_grads_match(e, t)
    _grads_match((qe, ke, ve), (qt, kt, vt))


@pytest.mark.parametrize("masks", ["float", "3d", "causal", "none"])
def test_mha_self_attention_masks(masks):
    e, t = _twin(lambda L: L.nn.MultiheadAttention(8, 2, batch_first=True))
    xe, xt = _pair(2, 4, 8)
    kw: dict = {}
    if masks == "float":
        kw = {"attn_mask": torch.tensor(RNG.standard_normal((4, 4)).astype(np.float32)),
              "key_padding_mask": torch.tensor(RNG.standard_normal((2, 4)).astype(np.float32))}
    elif masks == "3d":
        kw = {"attn_mask": torch.tensor(RNG.random((4, 4, 4)) > 0.7)}
    elif masks == "causal":
        kw = {"attn_mask": torch.nn.Transformer.generate_square_subsequent_mask(4), "is_causal": True,
              "need_weights": False}
    eo, _ = e(xe, xe, xe, **{k: to_ember(v) for k, v in kw.items()})
    to, _ = t(xt, xt, xt, **kw)
    assert_close(eo, to, atol=1e-5, rtol=1e-4)
    _backward_both(eo, to)
    _param_grads_match(e, t)
    _grads_match((xe,), (xt,))


def test_mha_unbatched_and_eval_dropout():
    e, t = _twin(lambda L: L.nn.MultiheadAttention(8, 2, dropout=0.5))
    (qe, qt), (ke, kt) = _pair(4, 8), _pair(5, 8)
    kpm = torch.tensor([False, True, False, False, True])
    e.eval()
    t.eval()
    eo, ew = e(qe, ke, ke, key_padding_mask=to_ember(kpm))
    to, tw = t(qt, kt, kt, key_padding_mask=kpm)
    assert_close(eo, to, atol=1e-5, rtol=1e-4)
    assert_close(ew, tw, atol=1e-6, rtol=1e-4)
    e.train()
    t.train()
    for nw in (True, False):
        ember.manual_seed(1)
        torch.manual_seed(1)
        eo, _ = e(qe, ke, ke, need_weights=nw)
        to, _ = t(qt, kt, kt, need_weights=nw)
        assert_close(eo, to, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("cfg", [{"batch_first": True}, {"batch_first": False}, {"batch_first": True, "num_heads": 1}])
def test_inference_fastpath_fully_masked_rows(cfg):
    """Under no_grad in eval mode torch's fused kernels give NaN rows where a query may attend to nothing
    (the autograd path gives zeros); ember reproduces whichever path torch would take."""
    heads = cfg.get("num_heads", 2)
    e, t = _twin(lambda L: L.nn.MultiheadAttention(8, heads, batch_first=cfg["batch_first"]))
    e.eval()
    t.eval()
    xe, xt = _pair(*((2, 3, 8) if cfg["batch_first"] else (3, 2, 8)))
    kpm = torch.tensor([[True, True, True], [False, False, True]])
    am = torch.tensor([[False, True, True], [True, True, True], [False, False, False]])
    for kw in ({"key_padding_mask": kpm}, {"attn_mask": am}):
        ekw = {k: to_ember(v) for k, v in kw.items()}
        with ember.no_grad(), torch.no_grad():
            assert_close(e(xe, xe, xe, need_weights=False, **ekw)[0], t(xt, xt, xt, need_weights=False, **kw)[0],
                         atol=1e-5, rtol=1e-4)
        assert_close(e(xe, xe, xe, need_weights=False, **ekw)[0], t(xt, xt, xt, need_weights=False, **kw)[0],
                     atol=1e-5, rtol=1e-4)
    layer_e, layer_t = _twin(lambda L: L.nn.TransformerEncoderLayer(8, heads, 16, batch_first=cfg["batch_first"]))
    layer_e.eval()
    layer_t.eval()
    with ember.no_grad(), torch.no_grad():
        assert_close(layer_e(xe, src_key_padding_mask=to_ember(kpm)), layer_t(xt, src_key_padding_mask=kpm),
                     atol=1e-5, rtol=1e-4)
        assert_close(layer_e(xe, src_mask=to_ember(am)), layer_t(xt, src_mask=am), atol=1e-5, rtol=1e-4)


def test_mha_repr_and_state_dict():
    e, t = _twin(lambda L: L.nn.MultiheadAttention(8, 2, kdim=6, vdim=4, add_bias_kv=True))
    assert repr(e) == repr(t)
    assert type(e.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert isinstance(e.out_proj, ember.nn.Linear)
    e, t = _twin(lambda L: L.nn.MultiheadAttention(8, 4, bias=False))
    assert repr(e) == repr(t)
    assert e.in_proj_bias is None and e.q_proj_weight is None


@pytest.mark.parametrize("case", [
    lambda L: L.nn.MultiheadAttention(8, 3),
    lambda L: L.nn.MultiheadAttention(0, 3),
    lambda L: L.nn.MultiheadAttention(8, 2)(L.ones(2, 3, 4, 8), L.ones(2, 3, 4, 8), L.ones(2, 3, 4, 8)),
    lambda L: L.nn.MultiheadAttention(8, 2)(L.ones(3, 2, 8), L.ones(3, 8), L.ones(3, 8)),
    lambda L: L.nn.MultiheadAttention(8, 2)(L.ones(3, 2, 8), L.ones(3, 2, 8), L.ones(3, 2, 8),
                                            attn_mask=L.ones(2, 3)),
    lambda L: L.nn.MultiheadAttention(8, 2)(L.ones(3, 2, 8), L.ones(3, 2, 8), L.ones(3, 2, 8),
                                            attn_mask=L.ones(5, 3, 3)),
    lambda L: L.nn.MultiheadAttention(8, 2)(L.ones(3, 2, 8), L.ones(3, 2, 8), L.ones(3, 2, 8),
                                            key_padding_mask=L.ones(2, 4, dtype=L.bool)),
    lambda L: L.nn.MultiheadAttention(8, 2)(L.ones(3, 2, 8), L.ones(3, 2, 8), L.ones(3, 2, 8),
                                            key_padding_mask=L.ones(2, 3, dtype=L.int64)),
    lambda L: L.nn.MultiheadAttention(8, 2)(L.ones(3, 2, 8), L.ones(3, 2, 8), L.ones(3, 2, 8), is_causal=True),
    lambda L: L.nn.MultiheadAttention(8, 2)(L.ones(3, 2, 6), L.ones(3, 2, 6), L.ones(3, 2, 6)),
    lambda L: L.nn.MultiheadAttention(8, 2)(L.ones(3, 2, 8), L.ones(4, 2, 8), L.ones(3, 2, 8)),
    lambda L: L.nn.MultiheadAttention(8, 2)(L.ones(3, 8), L.ones(3, 8), L.ones(3, 8), attn_mask=L.ones(3, 3, 3)),
    lambda L: L.nn.TransformerEncoderLayer(8, 2, activation="tanh"),
])
def test_mha_errors(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_error(lambda: case(ember), lambda: case(torch))


def test_mismatched_mask_types_warn():
    m = ember.nn.MultiheadAttention(8, 2)
    x = ember.ones(3, 2, 8)
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask is deprecated"):
        m(x, x, x, key_padding_mask=ember.zeros(2, 3, dtype=ember.bool), attn_mask=ember.zeros(3, 3))


def test_multi_head_attention_forward_static_kv():
    e, t = _twin(lambda L: L.nn.MultiheadAttention(8, 2))
    (qe, qt), (ske, skt), (sve, svt) = _pair(4, 2, 8), _pair(4, 5, 4), _pair(4, 5, 4)

    def run(L, mod, q, sk, sv):
        return L.nn.functional.multi_head_attention_forward(
            q, q, q, 8, 2, mod.in_proj_weight, mod.in_proj_bias, None, None, False, 0.0, mod.out_proj.weight,
            mod.out_proj.bias, static_k=sk, static_v=sv)

    eo, ew = run(ember, e, qe, ske, sve)
    to, tw = run(torch, t, qt, skt, svt)
    assert_close(eo, to, atol=1e-5, rtol=1e-4)
    assert_close(ew, tw, atol=1e-6, rtol=1e-4)
    _backward_both(eo, to)
    _grads_match((qe, ske, sve), (qt, skt, svt))


# ---- Transformer layers and stacks --------------------------------------------------------------------
LAYER_CONFIGS = [
    {},
    {"norm_first": True, "batch_first": True},
    {"activation": "gelu", "bias": False},
    {"activation": "callable", "layer_norm_eps": 1e-3},
]


def _layer_kwargs(cfg: dict, lib) -> dict:
    cfg = dict(cfg)
    if cfg.get("activation") == "callable":
        cfg["activation"] = lib.tanh
    return cfg


def _train_dropout(cfg: dict) -> float:
    """Dropout for same-seed comparisons: batch_first attention outputs are transposed views, and ember's
    dropout draws its mask in a different element order for those (see test_dropout_noncontiguous_stream)."""
    return 0.0 if cfg.get("batch_first") else 0.2


def test_dropout_noncontiguous_stream():
    ember.manual_seed(0)
    torch.manual_seed(0)
    e = ember.nn.functional.dropout(ember.ones(3, 4, 5).transpose(0, 1), 0.5)
    t = torch.nn.functional.dropout(torch.ones(3, 4, 5).transpose(0, 1), 0.5)
    assert_close(e, t)


@pytest.mark.parametrize("cfg", LAYER_CONFIGS)
def test_encoder_layer_matches_torch(cfg):
    e, t = _twin(lambda L: L.nn.TransformerEncoderLayer(8, 2, 16, dropout=_train_dropout(cfg),
                                                        **_layer_kwargs(cfg, L)))
    assert repr(e) == repr(t)
    xe, xt = _pair(*((2, 5, 8) if cfg.get("batch_first") else (5, 2, 8)))
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    kpm = torch.tensor(RNG.random((2, 5)) > 0.7)
    kpm[:, 0] = False
    ember.manual_seed(7)
    torch.manual_seed(7)
    eo = e(xe, src_mask=to_ember(mask), src_key_padding_mask=to_ember(kpm))
    to = t(xt, src_mask=mask, src_key_padding_mask=kpm)
    assert_close(eo, to, atol=1e-5, rtol=1e-4)
    _backward_both(eo, to)
    _param_grads_match(e, t)
    _grads_match((xe,), (xt,))
    e.eval()
    t.eval()
    assert_close(e(xe, is_causal=True, src_mask=to_ember(mask)), t(xt, is_causal=True, src_mask=mask),
                 atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("cfg", LAYER_CONFIGS)
def test_decoder_layer_matches_torch(cfg):
    e, t = _twin(lambda L: L.nn.TransformerDecoderLayer(8, 2, 16, dropout=_train_dropout(cfg),
                                                        **_layer_kwargs(cfg, L)))
    assert repr(e) == repr(t)
    bf = cfg.get("batch_first")
    (ye, yt), (me, mt) = _pair(*((2, 4, 8) if bf else (4, 2, 8))), _pair(*((2, 6, 8) if bf else (6, 2, 8)))
    mask = torch.nn.Transformer.generate_square_subsequent_mask(4)
    mkpm = torch.tensor([[False] * 5 + [True], [False] * 6])
    ember.manual_seed(7)
    torch.manual_seed(7)
    eo = e(ye, me, tgt_mask=to_ember(mask), memory_key_padding_mask=to_ember(mkpm), tgt_is_causal=True)
    to = t(yt, mt, tgt_mask=mask, memory_key_padding_mask=mkpm, tgt_is_causal=True)
    assert_close(eo, to, atol=1e-5, rtol=1e-4)
    _backward_both(eo, to)
    _param_grads_match(e, t)
    _grads_match((ye, me), (yt, mt))


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch(batch_first):
    def make(L):
        return L.nn.Transformer(8, 2, 2, 1, 16, dropout=_train_dropout({"batch_first": batch_first}),
                                batch_first=batch_first)

    e, t = _twin(make, seed=5)
    assert repr(e) == repr(t)
    (se, st), (ye, yt) = (_pair(2, 5, 8), _pair(2, 3, 8)) if batch_first else (_pair(5, 2, 8), _pair(3, 2, 8))
    tgt_mask = torch.nn.Transformer.generate_square_subsequent_mask(3)
    ember.manual_seed(2)
    torch.manual_seed(2)
    eo = e(se, ye, tgt_mask=to_ember(tgt_mask))
    to = t(st, yt, tgt_mask=tgt_mask)
    assert_close(eo, to, atol=1e-5, rtol=1e-4)
    _backward_both(eo, to)
    _param_grads_match(e, t)
    _grads_match((se, ye), (st, yt))
    e.eval()
    t.eval()
    assert_close(e(se, ye, tgt_mask=to_ember(tgt_mask)), t(st, yt, tgt_mask=tgt_mask), atol=1e-5, rtol=1e-4)


def test_transformer_errors():
    e, t = ember.nn.Transformer(8, 2, 1, 1, 16), torch.nn.Transformer(8, 2, 1, 1, 16)
    assert_same_error(lambda: e(ember.ones(5, 2, 8), ember.ones(3, 3, 8)), lambda: t(torch.ones(5, 2, 8),
                                                                                      torch.ones(3, 3, 8)))
    assert_same_error(lambda: e(ember.ones(5, 2, 6), ember.ones(3, 2, 6)), lambda: t(torch.ones(5, 2, 6),
                                                                                      torch.ones(3, 2, 6)))


def test_generate_square_subsequent_mask():
    assert_close(ember.nn.Transformer.generate_square_subsequent_mask(4),
                 torch.nn.Transformer.generate_square_subsequent_mask(4))
    assert_close(ember.nn.Transformer.generate_square_subsequent_mask(3, dtype=ember.float64),
                 torch.nn.Transformer.generate_square_subsequent_mask(3, dtype=torch.float64))


def _nested_warning(lib, **kw) -> list[str]:
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(8, 2, 16, **kw), 2)
    return [str(w.message) for w in rec if "nested" in str(w.message)]


@pytest.mark.parametrize("kw", [{}, {"batch_first": True}, {"batch_first": True, "norm_first": True},
                                {"batch_first": True, "activation": "callable"}])
def test_encoder_nested_tensor_warning(kw):
    assert _nested_warning(ember, **_layer_kwargs(kw, ember)) == _nested_warning(torch, **_layer_kwargs(kw, torch))


@pytest.mark.parametrize("mask_check", [True, False])
def test_encoder_inference_padding_semantics(mask_check):
    """In eval mode without grad, torch runs padded batches as nested tensors: padded outputs become 0."""
    def make(L):
        layer = L.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
        return L.nn.TransformerEncoder(layer, 2, norm=L.nn.LayerNorm(8), mask_check=mask_check)

    e, t = _twin(make)
    e.eval()
    t.eval()
    with ember.no_grad():
        ember.nn.init.normal_(e.norm.bias)
    with torch.no_grad():
        t.norm.bias.copy_(to_torch(e.norm.bias.detach()))
    xe, xt = _pair(2, 4, 8, rg=False)
    for rows in ([[False, False, True, True], [False, False, False, True]],    # left-aligned
                 [[True, False, False, True], [False, False, False, False]]):  # not left-aligned
        kpm = torch.tensor(rows)
        with ember.no_grad(), torch.no_grad():
            eo, to = e(xe, src_key_padding_mask=to_ember(kpm)), t(xt, src_key_padding_mask=kpm)
        assert_close(eo, to, atol=1e-5, rtol=1e-4)
        # with gradients needed there is no nested path
        assert_close(e(xe.requires_grad_(), src_key_padding_mask=to_ember(kpm)),
                     t(xt.requires_grad_(), src_key_padding_mask=kpm), atol=1e-5, rtol=1e-4)
        xe, xt = xe.detach(), xt.detach()


def test_encoder_causal_detection_and_stack():
    def make(L):
        layer = L.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, norm_first=True)
        return L.nn.TransformerEncoder(layer, 3, norm=L.nn.LayerNorm(8), enable_nested_tensor=False)

    e, t = _twin(make)
    assert repr(e) == repr(t)
    xe, xt = _pair(5, 2, 8)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    eo, to = e(xe, mask=to_ember(mask)), t(xt, mask=mask)
    assert_close(eo, to, atol=1e-5, rtol=1e-4)
    _backward_both(eo, to)
    _param_grads_match(e, t)
    bool_mask = torch.ones(5, 5, dtype=torch.bool).triu(1)
    assert_close(e(xe, mask=to_ember(bool_mask)), t(xt, mask=bool_mask), atol=1e-5, rtol=1e-4)


def test_decoder_stack():
    def make(L):
        return L.nn.TransformerDecoder(L.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0), 2, norm=L.nn.LayerNorm(8))

    e, t = _twin(make)
    assert repr(e) == repr(t)
    (ye, yt), (me, mt) = _pair(3, 2, 8), _pair(5, 2, 8)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(3)
    eo, to = e(ye, me, tgt_mask=to_ember(mask)), t(yt, mt, tgt_mask=mask)
    assert_close(eo, to, atol=1e-5, rtol=1e-4)
    _backward_both(eo, to)
    _param_grads_match(e, t)
    _grads_match((ye, me), (yt, mt))


def test_transformer_init_is_xavier():
    e, _ = _twin(lambda L: L.nn.Transformer(16, 2, 1, 1, 32))
    w = e.encoder.layers[0].linear1.weight
    bound = math.sqrt(6 / (16 + 32))
    assert float(w.abs().max()) <= bound
