"""scaled_dot_product_attention, multi_head_attention_forward, MultiheadAttention and the Transformer modules
against torch: outputs, every gradient, init under the same seed, reprs, state_dict keys, warnings and errors.
Then the ``nn.attention`` package: SDPBackend / sdpa_kernel and the backends.cuda sdp flags, bias.CausalBias,
flex_attention with BlockMask."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ember
import ember.nn.attention as EA
import ember.nn.attention.bias as EAB
import ember.nn.attention.flex_attention as EFA
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


@pytest.mark.parametrize("kw, shapes, flash", [
    ({}, [(1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4)], True),
    ({"is_causal": True}, [(2, 3, 4), (2, 5, 4), (2, 5, 4)], False),
    ({}, [(1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 2)], False),
    ({"enable_gqa": True}, [(1, 2, 3, 4), (1, 1, 3, 4), (1, 1, 3, 4)], True),
])
def test_sdpa_gradcheck(kw, shapes, flash):
    ins = [ember.tensor(RNG.standard_normal(s), requires_grad=True) for s in shapes]
    f = ember.nn.functional.scaled_dot_product_attention
    assert ember.autograd.gradcheck(lambda *a: f(*a, **kw), ins)
    if not flash:
        assert ember.autograd.gradgradcheck(lambda *a: f(*a, **kw), ins)
        return
    with pytest.raises(RuntimeError, match="derivative for aten::_scaled_dot_product_flash_attention_for_cpu_"
                                           "backward is not implemented"):   # as torch's flash kernel
        ember.autograd.gradgradcheck(lambda *a: f(*a, **kw), ins)


@pytest.mark.parametrize("kw", [{"is_causal": True}, {"dropout_p": 0.3}, {"attn_mask": "bool"}])
def test_sdpa_double_backward_matches_torch(kw):
    """Same first and second derivatives as torch's math path (Ev != E selects it; torch's flash kernel has no
    double backward)."""
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


# ==== ember.nn.attention ===================================================================================
import torch.nn.attention as TA  # noqa: E402
import torch.nn.attention.bias as TAB  # noqa: E402
import torch.nn.attention.flex_attention as TFA  # noqa: E402
from torch._higher_order_ops.flex_attention import math_attention as _t_math_attention  # noqa: E402

_SDP_FLAGS = ("flash", "mem_efficient", "math", "cudnn")


def _flags(lib) -> tuple:
    c = lib.backends.cuda
    return tuple(getattr(c, f"{f}_sdp_enabled")() for f in _SDP_FLAGS)


def test_sdpbackend_enum_as_torch():
    assert list(EA.SDPBackend.__members__) == list(TA.SDPBackend.__members__)
    for name, t in TA.SDPBackend.__members__.items():
        e = getattr(EA.SDPBackend, name)
        facts = [(repr(x), str(x), int(x), x.name, x.value, hash(x)) for x in (e, t)]
        assert facts[0] == facts[1]
    assert EA.SDPBackend(1) is EA.SDPBackend.FLASH_ATTENTION and EA.SDPBackend.MATH != 0
    assert EA.SDPBackend.__module__ == "ember.nn.attention" and EA.SDPBackend is ember.backends.cuda.SDPBackend
    assert EA.__all__ == TA.__all__


def test_sdp_flags_default_set_and_type_errors():
    assert _flags(ember) == _flags(torch) == (True, True, True, True)
    e, t = ember.backends.cuda, torch.backends.cuda
    for f in _SDP_FLAGS:
        for v in (1, None, np.bool_(False)):
            assert_same_error(lambda f=f, v=v: getattr(e, f"enable_{f}_sdp")(v),
                              lambda f=f, v=v: getattr(t, f"enable_{f}_sdp")(v))
        try:
            getattr(e, f"enable_{f}_sdp")(False)
            assert getattr(e, f"{f}_sdp_enabled")() is False
        finally:
            getattr(e, f"enable_{f}_sdp")(True)
    assert e.fp16_bf16_reduction_math_sdp_allowed() is t.fp16_bf16_reduction_math_sdp_allowed() is False
    assert_same_error(lambda: e.allow_fp16_bf16_reduction_math_sdp(0), lambda: t.allow_fp16_bf16_reduction_math_sdp(0))
    assert e.is_flash_attention_available() is t.is_flash_attention_available() is False
    q = np.zeros((1, 1, 2, 4), np.float32)
    for lib in (ember, torch):
        params = lib.backends.cuda.SDPAParams(*[lib.tensor(q)] * 3, None, 0.0, True, False)
        assert (params.dropout, params.is_causal, params.enable_gqa, params.attn_mask) == (0.0, True, False, None)
        for kind in ("flash", "efficient", "cudnn"):   # no CUDA kernels: torch's CPU build says False too
            assert getattr(lib.backends.cuda, f"can_use_{kind}_attention")(params, True) is False


def test_sdpa_kernel_sets_and_restores_flags():
    for lib, A in ((ember, EA), (torch, TA)):
        B = A.SDPBackend
        with A.sdpa_kernel(B.MATH) as ctx:
            assert ctx == {} and _flags(lib) == (False, False, True, False)
            with A.sdpa_kernel([B.FLASH_ATTENTION, B.EFFICIENT_ATTENTION, B.FLASH_ATTENTION]):   # nesting
                assert _flags(lib) == (True, True, False, False)
            assert _flags(lib) == (False, False, True, False)
        assert _flags(lib) == (True, True, True, True)
        with pytest.raises(KeyError), A.sdpa_kernel([]):   # restored after an error too
            assert _flags(lib) == (False,) * 4
            raise KeyError
        assert _flags(lib) == (True, True, True, True)
        with A.sdpa_kernel([0]):   # not backends: nothing enabled, as torch
            assert _flags(lib) == (False,) * 4

        @A.sdpa_kernel(B.CUDNN_ATTENTION)
        def inside(lib=lib) -> tuple:
            return _flags(lib)

        assert inside() == inside() == (False, False, False, True)
        assert _flags(lib) == (True, True, True, True)
    for bad in ("MATH", (EA.SDPBackend.MATH,), None):
        tbad = (TA.SDPBackend.MATH,) if isinstance(bad, tuple) else bad
        assert_same_error(lambda b=bad: EA.sdpa_kernel(b).__enter__(), lambda b=tbad: TA.sdpa_kernel(b).__enter__())


def test_sdpa_kernel_set_priority():
    default = torch._C._get_sdp_priority_order()
    assert ember.backends.cuda._sdp_priority == default
    for lib, A, get in ((ember, EA, lambda: list(ember.backends.cuda._sdp_priority)),
                        (torch, TA, torch._C._get_sdp_priority_order)):
        B = A.SDPBackend
        with A.sdpa_kernel([B.MATH, B.CUDNN_ATTENTION], set_priority=True):
            assert get() == [0, 3, 1, 2, 4]
            with A.sdpa_kernel([B.FLASH_ATTENTION], set_priority=True):
                assert get() == [1, 0, 3, 2, 4]
            assert get() == [0, 3, 1, 2, 4] and _flags(lib) == (False, False, True, True)
        assert get() == default and _flags(lib) == (True,) * 4


def test_deprecated_sdp_kernel():
    for lib in (ember, torch):
        with pytest.warns(FutureWarning, match=r"`torch.backends.cuda.sdp_kernel\(\)` is deprecated"):
            with lib.backends.cuda.sdp_kernel(enable_math=False, enable_cudnn=False) as ctx:
                assert ctx == {} and _flags(lib) == (True, True, False, False)
        assert _flags(lib) == (True,) * 4


def _sdpa_under(backends: list[str], shapes, mask=None, **kw) -> list:
    """(grad_fn name or error, warning texts) from ember and torch under ``sdpa_kernel(backends)``."""
    arrays = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    out = []
    for lib, A in ((ember, EA), (torch, TA)):
        ins = [lib.tensor(a, requires_grad=True) for a in arrays]
        m = None if mask is None else lib.tensor(mask)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            try:
                with A.sdpa_kernel([getattr(A.SDPBackend, b) for b in backends]):
                    r = type(lib.nn.functional.scaled_dot_product_attention(*ins, attn_mask=m, **kw).grad_fn).__name__
            except RuntimeError as e:
                r = f"{type(e).__name__}: {e}"
        out.append((r, [(x.category, str(x.message).split(" (Triggered internally")[0]) for x in w]))
    return out


@pytest.mark.parametrize("backends, shapes, kw", [
    (["MATH"], [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8)], {}),
    (["MATH", "FLASH_ATTENTION"], [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8)], {}),
    (["FLASH_ATTENTION"], [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8)], {}),
    (["FLASH_ATTENTION"], [(3, 4, 8), (3, 5, 8), (3, 5, 8)], {}),
    (["FLASH_ATTENTION"], [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8)], {"dropout_p": 0.3}),
    (["FLASH_ATTENTION"], [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6)], {}),
    (["FLASH_ATTENTION"], [(2, 3, 4, 8), (1, 3, 5, 8), (1, 3, 5, 8)], {}),
    (["FLASH_ATTENTION"], [(2, 3, 4, 8), (2, 1, 5, 8), (2, 1, 5, 8)], {}),
    (["FLASH_ATTENTION"], [(2, 3, 4, 8), (2, 1, 5, 8), (2, 1, 5, 8)], {"enable_gqa": True}),
    (["FLASH_ATTENTION"], [(2, 3, 4, 8), (2, 1, 5, 8), (2, 3, 5, 8)], {"enable_gqa": True}),
    (["FLASH_ATTENTION"], [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8)], {"mask": np.zeros((3, 4, 5), np.float32)}),
    (["FLASH_ATTENTION"], [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8)],
     {"mask": np.zeros((4, 5), np.float32), "is_causal": True}),
    (["MATH", "FLASH_ATTENTION"], [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8)],
     {"mask": np.zeros((3, 4, 5), np.float32)}),
    (["EFFICIENT_ATTENTION"], [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8)], {}),
    (["CUDNN_ATTENTION", "OVERRIDEABLE"], [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8)], {}),
    ([], [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8)], {}),
])
def test_sdpa_obeys_kernel_choice(backends, shapes, kw):
    """Only MATH: the composite's graph; only FLASH with inputs it cannot take: torch's warnings (why) and
    RuntimeError; no CPU kernel enabled: torch's RuntimeError."""
    e, t = _sdpa_under(backends, shapes, **kw)
    assert e == t


def test_sdpa_flash_needs_unit_last_stride():
    """A query whose last dim is strided runs the math composite (torch's fused kernels need stride 1)."""
    a = RNG.standard_normal((2, 3, 8, 4)).astype(np.float32)
    k = RNG.standard_normal((2, 3, 5, 8)).astype(np.float32)
    eo = ember.nn.functional.scaled_dot_product_attention(ember.tensor(a, requires_grad=True).transpose(-1, -2),
                                                          ember.tensor(k), ember.tensor(k))
    to = torch.nn.functional.scaled_dot_product_attention(torch.tensor(a, requires_grad=True).transpose(-1, -2),
                                                          torch.tensor(k), torch.tensor(k))
    assert type(eo.grad_fn).__name__ == type(to.grad_fn).__name__
    assert_close(eo, to, atol=1e-6, rtol=1e-5)


def test_flash_attention_impl_registry():
    assert EA.list_flash_attention_impls() == TA.list_flash_attention_impls() == ["FA3", "FA4"]
    assert EA.current_flash_attention_impl() is TA.current_flash_attention_impl() is None
    assert_same_error(lambda: EA.activate_flash_attention_impl("X"), lambda: TA.activate_flash_attention_impl("X"))
    assert_same_error(lambda: EA.activate_flash_attention_impl("FA4"), lambda: TA.activate_flash_attention_impl("FA4"))

    class Handle:
        removed = 0

        def remove(self) -> None:
            Handle.removed += 1

    EA.register_flash_attention_impl("Mine", register_fn=Handle)
    try:
        EA.activate_flash_attention_impl("Mine")
        assert EA.current_flash_attention_impl() == "Mine"
        EA.restore_flash_attention_impl()
        assert EA.current_flash_attention_impl() is None and Handle.removed == 1
    finally:
        del EA._FLASH_ATTENTION_IMPLS["Mine"]


# ---- bias ---------------------------------------------------------------------------------------------------
def test_causal_bias_objects():
    assert [(v.name, int(v)) for v in EAB.CausalVariant] == [(v.name, int(v)) for v in TAB.CausalVariant]
    assert EAB.__all__ == TAB.__all__
    for q, kv in ((3, 5), (4, 4)):
        for make in ("causal_upper_left", "causal_lower_right"):
            e, t = getattr(EAB, make)(q, kv), getattr(TAB, make)(q, kv)
            assert isinstance(e, ember.Tensor) and type(e).__name__ == "CausalBias"
            assert (e.variant, e.seq_len_q, e.seq_len_kv, tuple(e.shape), repr(e.dtype)) == \
                   (t.variant, t.seq_len_q, t.seq_len_kv, tuple(t.shape), str(t.dtype))
            assert repr(e) == repr(t) and str(e) == str(t)
            assert_close(e._materialize(), t._materialize())
        assert_same_error(lambda: EAB.causal_upper_left(3), lambda: TAB.causal_upper_left(3))
        assert_same_error(lambda: EAB.causal_lower_right(1, 2, 3), lambda: TAB.causal_lower_right(1, 2, 3))
        assert_same_error(lambda: EAB.CausalBias(1, 3, 4), lambda: TAB.CausalBias(1, 3, 4))
    for lib in (EAB, TAB):
        with pytest.warns(UserWarning, match="Lower right causal bias will produce NaNs") as w:
            lib.causal_lower_right(5, 3)
        assert w[0].filename.replace("\\", "/").endswith("attention/bias.py")


@pytest.mark.parametrize("make, q_len, kv_len", [("causal_upper_left", 3, 5), ("causal_lower_right", 3, 5),
                                                ("causal_lower_right", 4, 4), ("causal_lower_right", 5, 3)])
def test_causal_bias_attention_values_and_grads(make, q_len, kv_len):
    (eq, tq), (ek, tk), (ev, tv) = _pair(2, 2, q_len, 4), _pair(2, 2, kv_len, 4), _pair(2, 2, kv_len, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eb, tb = getattr(EAB, make)(q_len, kv_len), getattr(TAB, make)(q_len, kv_len)
    eo = eb._sdpa_override(eq, ek, ev, eb)
    to = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, tb)
    assert_close(eo, to, atol=1e-6, rtol=1e-5)
    assert type(eo.grad_fn).__name__ == type(to.grad_fn).__name__
    _backward_both(eo.nan_to_num(), to.nan_to_num())
    _grads_match((eq, ek, ev), (tq, tk, tv))


def test_causal_bias_errors_and_kernel_warnings(monkeypatch):
    (eq, tq), (ek, tk) = _pair(1, 1, 3, 4, rg=False), _pair(1, 1, 5, 4, rg=False)
    eb, tb = EAB.causal_lower_right(3, 5), TAB.causal_lower_right(3, 5)
    F_t = torch.nn.functional.scaled_dot_product_attention
    assert_same_error(lambda: eb._dispatch(eq, ek, ek, eb, is_causal=True), lambda: F_t(tq, tk, tk, tb, is_causal=True))
    assert_same_error(lambda: eb._dispatch(eq, ek.double(), ek, eb), lambda: F_t(tq, tk.double(), tk, tb))
    assert_same_error(lambda: eb._dispatch(eq[0, 0, 0], ek, ek, eb), lambda: F_t(tq[0, 0, 0], tk, tk, tb))
    monkeypatch.setattr(EA, "WARN_FOR_UNFUSED_KERNELS", True)
    monkeypatch.setattr(TA, "WARN_FOR_UNFUSED_KERNELS", True)
    texts = []
    for run in (lambda: eb._dispatch(eq, ek, ek, eb), lambda: F_t(tq, tk, tk, tb)):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            run()
        texts.append([str(x.message) for x in w])
    assert texts[0] == texts[1] == ["Efficient attention can't be used because:",
                                    "Flash attention can't be used because:"]


def test_causal_bias_through_sdpa():
    (eq, tq), (ek, tk) = _pair(1, 2, 3, 4), _pair(1, 2, 5, 4)
    eo = ember.nn.functional.scaled_dot_product_attention(eq, ek, ek, EAB.causal_lower_right(3, 5))
    to = torch.nn.functional.scaled_dot_product_attention(tq, tk, tk, TAB.causal_lower_right(3, 5))
    assert_close(eo, to, atol=1e-6, rtol=1e-5)
    _backward_both(eo, to)
    _grads_match((eq, ek), (tq, tk))


# ---- flex_attention -----------------------------------------------------------------------------------------
def _flex_inputs(q_shape, kv_shape, v_dim=None, dtype=np.float32):
    """(ember, torch) pairs of query, key, value (no grad: torch's CPU FlexAttention refuses it)."""
    v_shape = (*kv_shape[:-1], v_dim or kv_shape[-1])
    return [_pair(*s, rg=False, dtype=dtype) for s in (q_shape, kv_shape, v_shape)]


def _causal(b, h, q_idx, kv_idx):
    return q_idx >= kv_idx


def _band(b, h, q_idx, kv_idx):
    return (q_idx - kv_idx).abs() <= 1


def _doc_mask(lib_doc):
    def doc(b, h, q_idx, kv_idx):
        return lib_doc[b, q_idx] == lib_doc[b, kv_idx]
    return doc


def _bias_mod(bias, per_head):
    def score_mod(score, b, h, q_idx, kv_idx):
        return score + bias[q_idx, kv_idx] * per_head[h] - 0.25 * b
    return score_mod


@pytest.fixture
def flex_quiet():
    """torch warns once per process that eager FlexAttention is unfused; ember does the same."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _same_block_masks(e, t) -> None:
    assert repr(e) == repr(t) and str(e) == str(t)
    assert e.shape == t.shape and e.BLOCK_SIZE == t.BLOCK_SIZE and e.seq_lengths == t.seq_lengths
    assert e.sparsity() == pytest.approx(t.sparsity()) and e.numel() == t.numel()
    for name in EFA.BlockMask._TENSOR_ATTRS:
        x, y = getattr(e, name), getattr(t, name)
        assert (x is None) == (y is None), name
        if y is not None:
            assert_close(x, y)
    assert_close(e.to_dense(), t.to_dense())


def test_flex_attention_values_against_torch(flex_quiet):
    (eq, tq), (ek, tk), (ev, tv) = _flex_inputs((2, 4, 6, 8), (2, 2, 7, 8), v_dim=3)
    bias, heads = RNG.standard_normal((6, 7)).astype(np.float32), RNG.standard_normal(4).astype(np.float32)
    doc = np.array([[0, 0, 0, 1, 1, 1, 1], [0, 1, 1, 1, 2, 2, 2]])
    eb = EFA.create_block_mask(EFA.and_masks(_causal, _doc_mask(ember.tensor(doc))), 2, None, 6, 7, "cpu", BLOCK_SIZE=2)
    tb = TFA.create_block_mask(TFA.and_masks(_causal, _doc_mask(torch.tensor(doc))), 2, None, 6, 7, "cpu", BLOCK_SIZE=2)
    _same_block_masks(eb, tb)
    eo = EFA.flex_attention(eq, ek, ev, _bias_mod(ember.tensor(bias), ember.tensor(heads)), eb, scale=0.3,
                            enable_gqa=True, return_aux=EFA.AuxRequest(lse=True))
    to = TFA.flex_attention(tq, tk, tv, _bias_mod(torch.tensor(bias), torch.tensor(heads)), tb, scale=0.3,
                            enable_gqa=True, return_aux=TFA.AuxRequest(lse=True))
    assert isinstance(eo[1], EFA.AuxOutput) and eo[1].max_scores is None
    assert_close(eo[0], to[0], atol=1e-6, rtol=1e-5)
    assert_close(eo[1].lse, to[1].lse, atol=1e-6, rtol=1e-5)
    assert_close(EFA.flex_attention(eq[:, :2], ek, ev), TFA.flex_attention(tq[:, :2], tk, tv), atol=1e-6, rtol=1e-5)


def test_flex_attention_fully_masked_rows_and_dtypes(flex_quiet):
    def rows(b, h, q_idx, kv_idx):
        return (q_idx != 2) & (kv_idx < 3 + b)

    for dtype, tol in ((np.float16, 1e-3), (np.float64, 1e-12)):
        (eq, tq), (ek, tk), (ev, tv) = _flex_inputs((2, 1, 5, 4), (2, 1, 6, 4), dtype=dtype)
        eb, tb = EFA.create_block_mask(rows, 2, 1, 5, 6, "cpu"), TFA.create_block_mask(rows, 2, 1, 5, 6, "cpu")
        eo, e_lse = EFA.flex_attention(eq, ek, ev, block_mask=eb, return_lse=True)
        to, tlse = TFA.flex_attention(tq, tk, tv, block_mask=tb, return_lse=True)
        assert_close(eo, to, atol=tol, rtol=tol)
        assert_close(e_lse, tlse, atol=tol, rtol=tol)   # float32 for half inputs; -inf for the masked row
        assert float(eo[:, :, 2].abs().sum()) == 0 and bool(e_lse[:, :, 2].isneginf().all())


def test_flex_attention_ignores_block_sparsity_in_eager_mode(flex_quiet):
    """Eagerly, torch's composite applies only mask_mod: the block lists do not mask (a noop_mask here)."""
    (eq, tq), (ek, tk), (ev, tv) = _flex_inputs((1, 1, 4, 4), (1, 1, 4, 4))
    em = EFA.BlockMask.from_kv_blocks(ember.tensor([[[1, 0]]], dtype=ember.int32),
                                      ember.tensor([[[[0, 1], [1, 0]]]], dtype=ember.int32), BLOCK_SIZE=2)
    tm = TFA.BlockMask.from_kv_blocks(torch.tensor([[[1, 0]]], dtype=torch.int32),
                                      torch.tensor([[[[0, 1], [1, 0]]]], dtype=torch.int32), BLOCK_SIZE=2)
    _same_block_masks(em, tm)
    assert_close(EFA.flex_attention(eq, ek, ev, block_mask=em), TFA.flex_attention(tq, tk, tv, block_mask=tm),
                 atol=1e-6, rtol=1e-5)


def test_flex_attention_captured_tensor_grads(flex_quiet):
    """torch (CPU) differentiates flex_attention with respect to tensors a score_mod captures."""
    (eq, tq), (ek, tk), (ev, tv) = _flex_inputs((1, 2, 4, 4), (1, 2, 5, 4))
    (eb, tb), (eh, th) = _pair(4, 5), _pair(2)
    em, tm = EFA.create_block_mask(_causal, 1, 1, 4, 5, "cpu"), TFA.create_block_mask(_causal, 1, 1, 4, 5, "cpu")
    eo = EFA.flex_attention(eq, ek, ev, _bias_mod(eb, eh), em)
    to = TFA.flex_attention(tq, tk, tv, _bias_mod(tb, th), tm)
    assert type(eo.grad_fn).__name__ == type(to.grad_fn).__name__ == "FlexAttentionAutogradOpBackward"
    assert_close(eo, to, atol=1e-6, rtol=1e-5)
    _backward_both(eo, to)
    _grads_match((eb, eh), (tb, th))


@pytest.mark.parametrize("gqa", [False, True])
def test_flex_math_grads_against_torch_composite(gqa):
    """Gradients for query, key, value and a captured bias, against torch's own eager composite (torch's
    CPU entry point refuses inputs that require grad, so the composite is compared directly)."""
    (eq, tq), (ek, tk), (ev, tv) = _pair(2, 4, 5, 4), _pair(2, 2 if gqa else 4, 6, 4), _pair(2, 2 if gqa else 4, 6, 3)
    (eb, tb), (eh, th) = _pair(5, 6), _pair(4)
    eo, e_lse, _ = EFA._math_attention(eq, ek, ev, _bias_mod(eb, eh), _band, 0.4)
    to, tlse, _ = _t_math_attention(tq, tk, tv, _bias_mod(tb, th), (_band,), 0.4, {})
    assert_close(eo, to, atol=1e-6, rtol=1e-5)
    assert_close(e_lse, tlse, atol=1e-5, rtol=1e-5)
    _backward_both(eo, to)
    _grads_match((eq, ek, ev, eb, eh), (tq, tk, tv, tb, th))


def test_flex_math_gradcheck():
    def f(q, k, v, bias):
        return EFA._math_attention(q, k, v, _bias_mod(bias, ember.ones(2, dtype=ember.float64)), _causal, 0.5)[0]

    ins = [ember.tensor(RNG.standard_normal(s), requires_grad=True) for s in ((1, 2, 3, 2), (1, 1, 4, 2),
                                                                            (1, 1, 4, 2), (3, 4))]
    assert ember.autograd.gradcheck(f, ins)
    assert ember.autograd.gradgradcheck(f, ins)


def test_flex_attention_warnings(monkeypatch):
    (eq, tq), (ek, tk), (ev, tv) = _flex_inputs((1, 1, 3, 4), (1, 1, 3, 4))
    seen = []
    for F_, q, k, v in ((EFA, eq, ek, ev), (TFA, tq, tk, tv)):
        monkeypatch.setattr(F_, "_WARNINGS_SHOWN", set())
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            F_.flex_attention(q, k, v, return_lse=True)
            F_.flex_attention(q, k, v, return_lse=True)   # once per process
        seen.append([(x.category, str(x.message)) for x in w])
    assert seen[0] == seen[1] and [c for c, _ in seen[0]] == [FutureWarning, UserWarning]


def test_flex_attention_errors(flex_quiet):
    (eq, tq), (ek, tk), (ev, tv) = _flex_inputs((2, 4, 6, 8), (2, 2, 6, 8))
    em, tm = EFA.create_block_mask(_causal, 2, 1, 6, 6, "cpu"), TFA.create_block_mask(_causal, 2, 1, 6, 6, "cpu")
    cases = [
        lambda F_, q, k, v, m: F_.flex_attention(q.requires_grad_(), k, v),
        lambda F_, q, k, v, m: F_.flex_attention(q[0], k[0], v[0]),
        lambda F_, q, k, v, m: F_.flex_attention(q[0, 0, 0], k, v),
        lambda F_, q, k, v, m: F_.flex_attention(q[..., :4], k, v),
        lambda F_, q, k, v, m: F_.flex_attention(q, k, v),
        lambda F_, q, k, v, m: F_.flex_attention(q[:, :3], k, v, enable_gqa=True),
        lambda F_, q, k, v, m: F_.flex_attention(q, k[:1], v[:1], enable_gqa=True),
        lambda F_, q, k, v, m: F_.flex_attention(q[:1], k, v, block_mask=m, enable_gqa=True),
        lambda F_, q, k, v, m: F_.flex_attention(q[:, :, :5], k, v, block_mask=m, enable_gqa=True),
        lambda F_, q, k, v, m: F_.flex_attention(q, k[:, :, :5], v[:, :, :5], block_mask=m._adjust(7, 7),
                                                 enable_gqa=True),
        lambda F_, q, k, v, m: F_.flex_attention(q, k, v, block_mask=m[:, :1], enable_gqa=True),
        lambda F_, q, k, v, m: F_.flex_attention(q, k, v, enable_gqa=True, return_lse=True,
                                                 return_aux=F_.AuxRequest(lse=True)),
        lambda F_, q, k, v, m: F_.flex_attention(q, k, v, enable_gqa=True, return_aux=F_.AuxRequest(max_scores=True)),
        lambda F_, q, k, v, m: F_.flex_attention(q, k, v, enable_gqa=True, kernel_options={"BACKEND": "X"}),
        lambda F_, q, k, v, m: F_.flex_attention(q, k, v, enable_gqa=True,
                                                 kernel_options={"BACKEND": "FLASH", "FORCE_USE_FLEX_ATTENTION": True}),
    ]
    for case in cases:
        assert_same_error(lambda c=case: c(EFA, eq.detach(), ek, ev, em),
                          lambda c=case: c(TFA, tq.detach(), tk, tv, tm))


def test_block_mask_api(flex_quiet):
    ek, tk = (EFA.create_block_mask(EFA.or_masks(_causal, _band), 2, 3, 10, 9, "cpu", BLOCK_SIZE=(4, 3)),
              TFA.create_block_mask(TFA.or_masks(_causal, _band), 2, 3, 10, 9, "cpu", BLOCK_SIZE=(4, 3)))
    _same_block_masks(ek, tk)
    for index in (1, -1, (0, 1), (slice(0, 2), slice(1, 2)), (slice(None), slice(None), [1])):
        t_index = tuple(torch.tensor(i) if isinstance(i, list) else i for i in index) \
            if isinstance(index, tuple) else index
        e_index = tuple(ember.tensor(i) if isinstance(i, list) else i for i in index) \
            if isinstance(index, tuple) else index
        _same_block_masks(ek[e_index], tk[t_index])
    _same_block_masks(ek._adjust(5, 4), tk._adjust(5, 4))
    _same_block_masks(ek.to("cpu"), tk.to("cpu"))
    assert ek.to_string(grid_size=-1, limit=2) == tk.to_string(grid_size=-1, limit=2)
    assert ek.to_string(grid_size=2) == tk.to_string(grid_size=2)
    assert len(ek.as_tuple()) == len(tk.as_tuple()) and len(ek.as_tuple(False)) == len(tk.as_tuple(False))
    _same_block_masks(EFA.create_block_mask(_causal, 1, 1, 6, 6, "cpu", separate_full_blocks=False),
                      TFA.create_block_mask(_causal, 1, 1, 6, 6, "cpu", separate_full_blocks=False))
    assert_same_error(lambda: ek[0].mask_mod(*[ember.tensor(0)] * 4), lambda: tk[0].mask_mod(*[torch.tensor(0)] * 4))
    one = ember.ones(1, dtype=ember.int32)
    assert_same_error(lambda: EFA.BlockMask.from_kv_blocks(one, one),
                      lambda: TFA.BlockMask.from_kv_blocks(torch.ones(1, dtype=torch.int32), torch.ones(1)))
    two = ember.ones(1, 1, dtype=ember.int32)
    assert_same_error(lambda: EFA.BlockMask.from_kv_blocks(one, two, one),
                      lambda: TFA.BlockMask.from_kv_blocks(*[torch.ones(1, dtype=torch.int32)], torch.ones(1, 1), one))


def test_create_mask_and_mod_helpers():
    doc = np.array([[0, 0, 1, 1, 1], [0, 0, 0, 0, 1]])
    for mod_e, mod_t in ((EFA.or_masks(_causal, _doc_mask(ember.tensor(doc))),
                          TFA.or_masks(_causal, _doc_mask(torch.tensor(doc)))),
                         (EFA.and_masks(), TFA.and_masks()), (EFA.or_masks(), TFA.or_masks()),
                         (EFA.noop_mask, TFA.noop_mask),
                         (lambda s, b, h, q, k: ember.where(q >= k, s, -math.inf),
                          lambda s, b, h, q, k: torch.where(q >= k, s, -math.inf))):
        e, t = EFA.create_mask(mod_e, 2, 3, 5, 5, "cpu"), TFA.create_mask(mod_t, 2, 3, 5, 5, "cpu")
        assert_close(e, t)
        assert e.is_contiguous()
    assert_close(EFA.create_mask(_causal, None, None, 3, 4, "cpu"), TFA.create_mask(_causal, None, None, 3, 4, "cpu"))
    assert_same_error(lambda: EFA.or_masks(_causal, 1), lambda: TFA.or_masks(_causal, 1), match_message=False)
    assert_same_error(lambda: EFA.create_mask(lambda b, h: b, 1, 1, 2, 2, "cpu"),
                      lambda: TFA.create_mask(lambda b, h: b, 1, 1, 2, 2, "cpu"))
    with pytest.raises(AssertionError, match="create-block_mask requires a mask_mod function! Got <function"):
        EFA.create_block_mask(lambda s, b, h, q, k: s, 1, 1, 2, 2, "cpu")
    assert EFA.__all__ == TFA.__all__
