"""Whole backward graphs vs torch for in-place variants, index writes, scatter/index reductions, nan-aware and
order-statistic reductions and other composites: for each program the graph below every output (node class
names and edges), the values and the gradients for a fixed cotangent equal torch's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import ember
from oracle import assert_close, assert_same_error, torch

R = np.random.default_rng(0)
X, Y, Z = R.standard_normal((3, 4)), R.standard_normal((3, 4)), R.standard_normal((3, 4))
COLS, ROW, VEC2 = R.standard_normal((3, 2)), R.standard_normal(4), R.standard_normal(2)
MASK = X > 0
XNAN = np.where(MASK, X, np.nan)
IDX = np.array([0, 2])
SCAT = np.array([[0, 0], [2, 3], [1, 0]])


def _graph(fn: Any) -> Any:
    return None if fn is None else (type(fn).__name__, tuple(_graph(n) for n, _ in fn.next_functions))


def _i(L: Any, a: np.ndarray) -> Any:
    return L.tensor(a)


# name -> (program(L, *tensors), inputs); each input is a float64 array made a non-leaf (x * 1) requiring grad
PROGRAMS: dict[str, tuple[Callable, list[np.ndarray]]] = {
    "add_": (lambda L, a, b: a.add_(b), [X, Y]),
    "sub_alpha": (lambda L, a, b: a.sub_(b, alpha=2), [X, Y]),
    "div_": (lambda L, a, b: a.div_(b), [X, Y]),
    "pow_": (lambda L, a: a.pow_(2), [X]),
    "sigmoid_": (lambda L, a: a.sigmoid_(), [X]),
    "clamp_": (lambda L, a: a.clamp_(-0.5, 0.5), [X]),
    "addcmul_": (lambda L, a, b, c: a.addcmul_(b, c, value=0.5), [X, Y, Z]),
    "addcdiv_": (lambda L, a, b, c: a.addcdiv_(b, c, value=0.5), [X, Y, Z]),
    "lerp_": (lambda L, a, b: a.lerp_(b, 0.3), [X, Y]),
    "fill_": (lambda L, a: a.fill_(2.0), [X]),
    "zero_": (lambda L, a: a.zero_(), [X]),
    "copy_": (lambda L, a, b: a.copy_(b), [X, Y]),
    "masked_fill_": (lambda L, a: a.masked_fill_(_i(L, MASK), 0.0), [X]),
    "masked_fill_tensor": (lambda L, a, b: a.masked_fill(_i(L, MASK), b.sum()), [X, Y]),
    "index_fill_": (lambda L, a: a.index_fill_(1, _i(L, IDX), 0.0), [X]),
    "index_add_alpha": (lambda L, a, b: a.index_add_(1, _i(L, IDX), b, alpha=2), [X, COLS]),
    "index_copy_": (lambda L, a, b: a.index_copy_(1, _i(L, IDX), b), [X, COLS]),
    "index_put_": (lambda L, a, b: a.index_put_((_i(L, IDX), _i(L, np.array([1, 3]))), b), [X, VEC2]),
    "index_put_acc": (lambda L, a, b: a.index_put_((_i(L, np.array([0, 0])), _i(L, np.array([1, 1]))), b,
                                                   accumulate=True), [X, VEC2]),
    "masked_scatter_": (lambda L, a, b: a.masked_scatter_(_i(L, MASK), b), [X, R.standard_normal(12)]),
    "scatter_": (lambda L, a, b: a.scatter_(1, _i(L, np.array([[0, 1], [2, 3], [1, 0]])), b), [X, COLS]),
    "scatter_add_": (lambda L, a, b: a.scatter_add_(1, _i(L, SCAT), b), [X, COLS]),
    "scatter_reduce_prod": (lambda L, a, b: a.scatter_reduce(1, _i(L, SCAT), b, "prod"), [X, COLS]),
    "scatter_reduce_amax": (lambda L, a, b: a.scatter_reduce(1, _i(L, SCAT), b, "amax", include_self=False),
                            [X, COLS]),
    "scatter_reduce_mean": (lambda L, a, b: a.scatter_reduce(1, _i(L, SCAT), b, "mean"), [X, COLS]),
    "index_reduce_mean": (lambda L, a, b: a.index_reduce(1, _i(L, IDX), b, "mean", include_self=False),
                          [X, COLS]),
    "index_reduce_amax": (lambda L, a, b: a.index_reduce(1, _i(L, IDX), b, "amax"), [X, COLS]),
    "put_acc": (lambda L, a, b: a.put_(_i(L, np.array([0, 0])), b, accumulate=True), [X, VEC2]),
    "setitem_column": (lambda L, a, b: (a.__setitem__((slice(None), 1), b), a)[1], [X, R.standard_normal(3)]),
    "view_of_transpose_exp_": (lambda L, a: (a.t()[1].exp_(), a)[1], [X]),
    "diagonal_zero_": (lambda L, a: (a[:, :3].diagonal().zero_(), a)[1], [X]),
    "tril_": (lambda L, a: a.tril_(), [X]),
    "t_": (lambda L, a: a.t_(), [X]),
    "squeeze_": (lambda L, a: a.unsqueeze(0).squeeze_(0), [X]),
    "cumsum_": (lambda L, a: a.cumsum_(1), [X]),
    "polygamma_": (lambda L, a: (a.abs() + 1).polygamma_(1), [X]),
    "mvlgamma_": (lambda L, a: (a.abs() + 2).mvlgamma_(2), [X]),
    "nan_to_num_": (lambda L, a: a.log().nan_to_num_(0.0), [X]),
    "nansum": (lambda L, a: a.nansum(1), [XNAN]),
    "nanmean": (lambda L, a: a.nanmean(1), [XNAN]),
    "nanmedian": (lambda L, a: a.nanmedian(1), [XNAN]),
    "nanmedian_all": (lambda L, a: a.nanmedian(), [XNAN]),
    "median": (lambda L, a: a.median(1), [X]),
    "mode": (lambda L, a: a.mode(1), [np.round(X)]),
    "kthvalue": (lambda L, a: a.kthvalue(2, 1), [X]),
    "quantile_dim": (lambda L, a: a.quantile(0.3, dim=1), [X]),
    "quantile_all": (lambda L, a: a.quantile(0.3), [X]),
    "quantile_vector_q": (lambda L, a: a.quantile(L.tensor([0.3, 0.7], dtype=L.float64), dim=1), [X]),
    "quantile_keepdim": (lambda L, a: a.quantile(0.3, dim=1, keepdim=True), [X]),
    "quantile_dim0_midpoint": (lambda L, a: a.quantile(0.5, dim=0, interpolation="midpoint"), [X]),
    "quantile_nearest": (lambda L, a: a.quantile(0.3, dim=1, interpolation="nearest"), [X]),
    "quantile_nan": (lambda L, a: a.quantile(0.3, dim=1), [XNAN]),
    "nanquantile": (lambda L, a: a.nanquantile(0.3, dim=1), [XNAN]),
    "cummax": (lambda L, a: a.cummax(1), [X]),
    "logcumsumexp": (lambda L, a: a.logcumsumexp(1), [X]),
    "aminmax": (lambda L, a: L.aminmax(a, dim=1), [X]),
    "var_mean": (lambda L, a: L.var_mean(a, dim=1, correction=0), [X]),
    "max_ties": (lambda L, a: a.max(), [np.round(X)]),
    "amax_ties": (lambda L, a: a.amax(1), [np.round(X)]),
    "take_along_dim": (lambda L, a: L.take_along_dim(a, _i(L, np.array([[0], [1], [2]])), 1), [X]),
    "masked_select": (lambda L, a: a.masked_select(_i(L, MASK)), [X]),
    "mask_index": (lambda L, a: a[a > 0], [X]),
    "renorm": (lambda L, a: a.renorm(2, 0, 1.0), [X]),
    "pairwise_distance": (lambda L, a, b: L.nn.functional.pairwise_distance(a, b), [X, Y]),
    "cosine_similarity": (lambda L, a, b: L.nn.functional.cosine_similarity(a, b), [X, Y]),
    "diagonal_scatter": (lambda L, a, b: L.diagonal_scatter(a, b), [X, R.standard_normal(3)]),
    "slice_scatter": (lambda L, a, b: L.slice_scatter(a, b, 1, 0, 2), [X, COLS]),
    "split_pieces": (lambda L, a: a.split(2, 1), [X]),
    "unbind": (lambda L, a: a.unbind(0), [X]),
}


def _run(L: Any, name: str) -> Any:
    program, arrays = PROGRAMS[name]
    leaves = [L.tensor(a, requires_grad=True) for a in arrays]
    out = program(L, *[t * 1 for t in leaves])
    outs = [o for o in (out if isinstance(out, tuple) else (out,)) if o.requires_grad]
    cotangents = [L.tensor(np.random.default_rng(1).standard_normal(tuple(o.shape))) for o in outs]
    grads = L.autograd.grad(outs, leaves, cotangents, allow_unused=True)
    return [_graph(o.grad_fn) for o in outs], outs, grads


@pytest.mark.parametrize("name", PROGRAMS)
def test_graph_values_and_gradients(name: str) -> None:
    t_graphs, t_outs, t_grads = _run(torch, name)
    e_graphs, e_outs, e_grads = _run(ember, name)
    assert e_graphs == t_graphs
    assert_close(list(e_outs), list(t_outs), equal_nan=True)
    for e, t in zip(e_grads, t_grads, strict=True):
        assert (e is None) == (t is None)
        if t is not None:
            assert_close(e, t, equal_nan=True)


# finite differences cannot check these: NaN inputs, or ties between maxima (torch's gradgradcheck fails too)
NOT_SMOOTH = {"nansum", "nanmean", "nanmedian", "nanmedian_all", "quantile_nan", "nanquantile", "max_ties",
              "amax_ties"}


@pytest.mark.parametrize("name", [n for n in PROGRAMS if n not in NOT_SMOOTH])
def test_double_backward(name: str) -> None:
    """Each backward is made of differentiable ember ops: gradients of gradients match finite differences."""
    program, arrays = PROGRAMS[name]

    def fn(*xs: Any) -> tuple:
        out = program(ember, *[x * 1 for x in xs])
        return tuple(o for o in (out if isinstance(out, tuple) else (out,)) if o.requires_grad)
    assert ember.autograd.gradgradcheck(fn, tuple(ember.tensor(a, requires_grad=True) for a in arrays))


@pytest.mark.parametrize(("size", "stride", "offset"), [((2, 2), (1, 2), 0), ((2, 2), (4, 1), 1), ((3,), (5,), 0)])
def test_as_strided_scatter_gradient(size: tuple, stride: tuple, offset: int) -> None:
    """torch 2.13's as_strided_scatter backward fails its own gradcheck (it zeroes the wrong elements of the
    input's gradient); ember's is the true derivative, checked by finite differences."""
    x = ember.tensor(X, requires_grad=True)
    src = ember.tensor(R.standard_normal(size), requires_grad=True)
    assert ember.autograd.gradcheck(lambda a, b: ember.as_strided_scatter(a, b, size, stride, offset), (x, src))
    assert not torch.autograd.gradcheck(lambda a, b: torch.as_strided_scatter(a, b, size, stride, offset),
                                        (torch.tensor(X, requires_grad=True),
                                         torch.tensor(src.detach().numpy(), requires_grad=True)),
                                        raise_exception=False)


def test_cosine_similarity_clamped_norm() -> None:
    """A norm below eps is clamped outside autograd (torch's gradient, not the clamp's)."""
    a = np.full((2, 3), 1e-10)
    b = R.standard_normal((1, 3))
    got = []
    for L in (torch, ember):
        x, y = L.tensor(a, requires_grad=True), L.tensor(b, requires_grad=True)
        out = L.nn.functional.cosine_similarity(x, y, eps=1e-8)
        out.sum().backward()
        got.append((_graph(out.grad_fn), out, x.grad, y.grad))
    assert got[1][0] == got[0][0]
    assert_close(list(got[1][1:]), list(got[0][1:]))


# ---- nn.functional: torch's C++ composites and kernels, node for node -------------------------------------
X4, W4 = R.standard_normal((2, 3, 6, 6)), R.standard_normal((4, 3, 3, 3))
X3, X2, T4 = R.standard_normal((2, 3, 8)), R.standard_normal((4, 5)), np.array([0, 2, 1, 4])
QKV = [R.standard_normal((2, 3, 4)) for _ in range(3)]
QKV4 = [R.standard_normal((2, 2, 3, 4)) for _ in range(3)]

NN_PROGRAMS: dict[str, tuple[Callable, list[np.ndarray]]] = {
    "conv2d": (lambda F, L, x, w, b: F.conv2d(x, w, b, padding=1), [X4, W4, R.standard_normal(4)]),
    "max_pool2d": (lambda F, L, x: F.max_pool2d(x, 2), [X4]),
    "prelu_channels": (lambda F, L, x, w: F.prelu(x, w), [X4, R.standard_normal(3)]),
    "prelu_shared": (lambda F, L, x, w: F.prelu(x, w), [X2, R.standard_normal(1)]),
    "prelu_1d": (lambda F, L, x, w: F.prelu(x, w), [R.standard_normal(5), R.standard_normal(1)]),
    "batch_norm": (lambda F, L, x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                   [X4, R.standard_normal(3), R.standard_normal(3)]),
    "layer_norm": (lambda F, L, x, w, b: F.layer_norm(x, (6,), w, b), [X4, R.standard_normal(6), R.standard_normal(6)]),
    "group_norm": (lambda F, L, x, w, b: F.group_norm(x, 1, w, b), [X4, R.standard_normal(3), R.standard_normal(3)]),
    "rms_norm": (lambda F, L, x, w: F.rms_norm(x, (6,), w), [X4, R.standard_normal(6)]),
    "local_response_norm_4d": (lambda F, L, x: F.local_response_norm(x, 2), [X4]),
    "local_response_norm_3d": (lambda F, L, x: F.local_response_norm(x, 3), [X3]),
    "linear_3d": (lambda F, L, x, w, b: F.linear(x, w, b), [R.standard_normal((2, 8, 3)), R.standard_normal((5, 3)),
                                                             R.standard_normal(5)]),
    "bilinear": (lambda F, L, x, y, w, b: F.bilinear(x, y, w, b), [X2, X2, R.standard_normal((2, 5, 5)),
                                                                   R.standard_normal(2)]),
    "cross_entropy": (lambda F, L, x: F.cross_entropy(x, L.tensor(T4)), [X2]),
    "cross_entropy_smoothing": (lambda F, L, x: F.cross_entropy(x, L.tensor(T4), label_smoothing=0.1), [X2]),
    "cross_entropy_smoothing_sum": (lambda F, L, x: F.cross_entropy(x, L.tensor(T4), label_smoothing=0.1,
                                                                    reduction="sum"), [X2]),
    "cross_entropy_probs": (lambda F, L, x, y: F.cross_entropy(x, y.softmax(1)), [X2, X2]),
    "soft_margin": (lambda F, L, x: F.soft_margin_loss(x, L.ones(4, 5, dtype=L.float64)), [X2]),
    "margin_ranking": (lambda F, L, x, y: F.margin_ranking_loss(x, y, L.ones(4, 5, dtype=L.float64), margin=0.3),
                       [X2, X2]),
    "triplet": (lambda F, L, x, y, z: F.triplet_margin_loss(x, y, z), [X2, X2, X2 + 1]),
    "triplet_swap": (lambda F, L, x, y, z: F.triplet_margin_loss(x, y, z, swap=True), [X2, X2, X2 + 1]),
    "cosine_embedding": (lambda F, L, x, y: F.cosine_embedding_loss(x, y, L.tensor([1, -1, 1, -1]), margin=0.2),
                         [X2, X2]),
    "hinge_embedding": (lambda F, L, x: F.hinge_embedding_loss(x, L.tensor(np.sign(X2))), [X2]),
    "ctc": (lambda F, L, x: F.ctc_loss(x.log_softmax(2), L.tensor([[1, 2], [1, 1]]), L.tensor([5, 5]),
                                       L.tensor([2, 2])), [R.standard_normal((5, 2, 4))]),
    "embedding_bag": (lambda F, L, w: F.embedding_bag(L.tensor([0, 2, 1, 3]), w, L.tensor([0, 2])), [X2]),
    "grid_sample": (lambda F, L, x, g: F.grid_sample(x, g.tanh(), align_corners=False),
                    [X4, R.standard_normal((2, 3, 3, 2))]),
    "sdpa_3d": (lambda F, L, q, k, v: F.scaled_dot_product_attention(q, k, v), QKV),
    "sdpa_3d_causal": (lambda F, L, q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), QKV),
    "sdpa_negative_scale": (lambda F, L, q, k, v: F.scaled_dot_product_attention(q, k, v, scale=-0.3), QKV),
    "sdpa_4d_flash": (lambda F, L, q, k, v: F.scaled_dot_product_attention(q, k, v), QKV4),
    "sdpa_4d_bool_mask": (lambda F, L, q, k, v: F.scaled_dot_product_attention(
        q, k, v, attn_mask=L.ones(3, 3, dtype=L.bool).tril()), QKV4),
    "sdpa_4d_dropout": (lambda F, L, q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=0.3), QKV4),
    "sdpa_gqa": (lambda F, L, q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                 [R.standard_normal((2, 4, 3, 4)), R.standard_normal((2, 2, 3, 4)), R.standard_normal((2, 2, 3, 4))]),
}


def _run_nn(L: Any, name: str) -> Any:
    program, arrays = NN_PROGRAMS[name]
    L.manual_seed(0)
    leaves = [L.tensor(a, requires_grad=True) for a in arrays]
    out = program(L.nn.functional, L, *leaves)
    cotangent = L.tensor(np.random.default_rng(1).standard_normal(tuple(out.shape)))
    grads = L.autograd.grad(out, leaves, cotangent, allow_unused=True)
    return _graph(out.grad_fn), out, grads


@pytest.mark.parametrize("name", NN_PROGRAMS)
def test_nn_graph_values_and_gradients(name: str) -> None:
    """Graphs, values (dropout: the same draws) and gradients equal torch's; gradients computed without
    create_graph do not require grad."""
    t_graph, t_out, t_grads = _run_nn(torch, name)
    e_graph, e_out, e_grads = _run_nn(ember, name)
    assert e_graph == t_graph
    assert_close(e_out, t_out)
    for e, t in zip(e_grads, t_grads, strict=True):
        assert not e.requires_grad
        assert_close(e, t)


NOT_DIFFERENTIABLE = {
    "binary_cross_entropy_weight": lambda F, L, x, w: F.binary_cross_entropy(x.sigmoid(), L.ones(4, 5) / 2,
                                                                            weight=w),
    "bce_with_logits_weight": lambda F, L, x, w: F.binary_cross_entropy_with_logits(x, L.ones(4, 5) / 2, weight=w),
    "bce_with_logits_pos_weight": lambda F, L, x, w: F.binary_cross_entropy_with_logits(x, L.ones(4, 5) / 2,
                                                                                        pos_weight=w),
    "cross_entropy_weight": lambda F, L, x, w: F.cross_entropy(x, L.tensor(T4), weight=w),
    "nll_loss_weight": lambda F, L, x, w: F.nll_loss(x, L.tensor(T4), weight=w),
    "multi_margin_weight": lambda F, L, x, w: F.multi_margin_loss(x, L.tensor(T4), weight=w),
    "soft_margin_target": lambda F, L, x, w: F.soft_margin_loss(x, w.expand(4, 5)),
}


@pytest.mark.parametrize("name", NOT_DIFFERENTIABLE)
def test_not_differentiable_arguments(name: str) -> None:
    """Arguments torch has no derivative for may not require grad (torch's RuntimeError and text)."""
    def run(L: Any) -> Any:
        x = L.tensor(X2.astype(np.float32), requires_grad=True)
        w = L.tensor(R.random(5).astype(np.float32), requires_grad=True)
        return NOT_DIFFERENTIABLE[name](L.nn.functional, L, x, w)
    assert_same_error(lambda: run(ember), lambda: run(torch))
    with ember.no_grad():
        run(ember)


def test_broadcast_tensors_returns_inputs_of_the_common_shape() -> None:
    """torch's broadcast_tensors expands only the tensors that need it; the others come back themselves."""
    for L in (torch, ember):
        a, b, c = L.ones(3, requires_grad=True), L.ones(3) * 2, L.ones(1)
        out = L.broadcast_tensors(a, b, c)
        assert out[0] is a and out[1] is b and out[2] is not c
        assert tuple(out[2].shape) == (3,)


@pytest.mark.parametrize(("xs", "ws"), [((5,), (5,)), ((4, 5), (3,)), ((4, 5), (1, 1))])
def test_prelu_weight_errors(xs: tuple, ws: tuple) -> None:
    """A 1-d input has one channel; slopes must be 0-d or 1-d (torch's RuntimeErrors)."""
    def run(L: Any) -> Any:
        return L.nn.functional.prelu(L.ones(*xs), L.ones(*ws))
    assert_same_error(lambda: run(ember), lambda: run(torch))


# ---- modules: graphs, outputs and parameter gradients -----------------------------------------------------
S5 = R.standard_normal((5, 2, 4)).astype(np.float32)
SEQ = R.standard_normal((2, 8, 3)).astype(np.float32).transpose(0, 2, 1).copy()
MODULES: dict[str, tuple[Callable, np.ndarray]] = {
    "lstm_2_layers_bidirectional": (lambda nn: nn.LSTM(4, 3, num_layers=2, bidirectional=True), S5),
    "gru": (lambda nn: nn.GRU(4, 3), S5),
    "rnn_relu": (lambda nn: nn.RNN(4, 3, nonlinearity="relu"), S5),
    "lstm_cell": (lambda nn: nn.LSTMCell(4, 3), S5[0]),
    "gru_cell": (lambda nn: nn.GRUCell(4, 3), S5[0]),
    "conv1d_groups": (lambda nn: nn.Conv1d(3, 6, 3, groups=3), X3.astype(np.float32)),
    "conv_transpose1d": (lambda nn: nn.ConvTranspose1d(3, 2, 3, stride=2), X3.astype(np.float32)),
    "lp_pool2d": (lambda nn: nn.LPPool2d(2, 2), X4.astype(np.float32)),
    "upsample_bicubic": (lambda nn: nn.Upsample(scale_factor=2, mode="bicubic"), X4.astype(np.float32)),
    "instance_norm_affine": (lambda nn: nn.InstanceNorm2d(3, affine=True), X4.astype(np.float32)),
    "channel_shuffle": (lambda nn: nn.ChannelShuffle(3), X4.astype(np.float32)),
    "reflection_pad1d": (lambda nn: nn.ReflectionPad1d(2), X3.astype(np.float32)),
    "circular_pad2d": (lambda nn: nn.CircularPad2d((1, 2, 2, 1)), X4.astype(np.float32)),
    "circular_pad1d_crop": (lambda nn: nn.CircularPad1d((-1, 2)), X3.astype(np.float32)),
    "circular_pad3d": (lambda nn: nn.CircularPad3d(1), X4[:, :, None].repeat(3, 2).astype(np.float32)),
    "transformer_encoder_layer": (lambda nn: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), SEQ),
    "transformer_encoder_layer_norm_first": (lambda nn: nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, norm_first=True, batch_first=True), SEQ),
}


def _run_module(L: Any, name: str) -> Any:
    make, x0 = MODULES[name]
    L.manual_seed(0)
    module = make(L.nn)
    x = L.tensor(x0, requires_grad=True)
    out = module(x)
    out = out[0] if isinstance(out, tuple) else out
    cotangent = L.tensor(np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(np.float32))
    return _graph(out.grad_fn), out, L.autograd.grad(out, [x, *module.parameters()], cotangent)


@pytest.mark.parametrize("name", MODULES)
def test_module_graphs(name: str) -> None:
    """Modules record torch's graph (e.g. the RNN cells' unsafe_chunk) with torch's values and gradients."""
    t_graph, t_out, t_grads = _run_module(torch, name)
    e_graph, e_out, e_grads = _run_module(ember, name)
    assert e_graph == t_graph
    assert_close(e_out, t_out, atol=1e-5, rtol=1e-4)
    assert_close(list(e_grads), list(t_grads), atol=1e-5, rtol=1e-4)


# ---- linear algebra, spectral and numeric composites ------------------------------------------------------
SQ = R.standard_normal((3, 3)) + 3 * np.eye(3)
SPD = SQ @ SQ.T
MAT, VEC = R.standard_normal((3, 4)), R.standard_normal(4)
LA_PROGRAMS: dict[str, tuple[Callable, list[np.ndarray]]] = {
    "matrix_power_2": (lambda L, a: L.linalg.matrix_power(a, 2), [SQ]),
    "matrix_power_3": (lambda L, a: L.linalg.matrix_power(a, 3), [SQ]),
    "matrix_power_7": (lambda L, a: L.linalg.matrix_power(a, 7), [SQ / 3]),
    "kron": (lambda L, a, b: L.kron(a, b), [SQ, MAT]),
    "kron_broadcast_dims": (lambda L, a, b: L.kron(a, b), [VEC, MAT]),
    "outer": (lambda L, a, b: L.outer(a, b), [VEC, VEC]),
    "tensorsolve": (lambda L, a, b: L.linalg.tensorsolve(a, b), [SQ, VEC[:3]]),
    "cov": (lambda L, a: L.cov(a), [MAT]),
    "corrcoef": (lambda L, a: L.corrcoef(a), [MAT]),
    "gradient": (lambda L, a: L.gradient(a, spacing=0.5)[1], [MAT]),
    "gradient_edge2": (lambda L, a: L.gradient(a, edge_order=2)[0], [R.standard_normal((4, 3))]),
    "trapezoid": (lambda L, a: L.trapezoid(a, dx=0.3), [MAT]),
    "trapezoid_x": (lambda L, a: L.trapezoid(a, L.tensor([0.0, 0.5, 1.5, 2.0], dtype=L.float64)), [MAT]),
    "cumulative_trapezoid_x": (lambda L, a: L.cumulative_trapezoid(a, L.tensor([0.0, 0.5, 1.5, 2.0],
                                                                                   dtype=L.float64)), [MAT]),
    "real_of_complex": (lambda L, a, b: L.complex(a, b).real, [MAT, MAT]),
    "imag_of_polar": (lambda L, a, b: L.polar(a.abs(), b).imag, [MAT, MAT]),
    "rfft_real": (lambda L, a: L.fft.rfft(a).real, [MAT]),
    "fft_real_input": (lambda L, a: L.fft.fft(a).imag, [MAT]),
    "fft2_real_input": (lambda L, a: L.fft.fft2(a).real, [MAT]),
    "ifftn_real_input": (lambda L, a: L.fft.ifftn(a).imag, [MAT]),
    "det": (lambda L, a: L.linalg.det(a), [SQ]),
    "solve": (lambda L, a, b: L.linalg.solve(a, b), [SQ, MAT]),
    "cholesky": (lambda L, a: L.linalg.cholesky(a), [SPD]),
    "eigh": (lambda L, a: L.linalg.eigh(a)[0], [SPD]),
    "svdvals": (lambda L, a: L.linalg.svdvals(a), [MAT]),
    "pinv": (lambda L, a: L.linalg.pinv(a), [MAT]),
    "lstsq": (lambda L, a, b: L.linalg.lstsq(a, b).solution, [SQ, MAT]),
    "multi_dot": (lambda L, a, b, c: L.linalg.multi_dot([a, b, c]), [SQ, SQ, MAT]),
    "matrix_norm_nuc": (lambda L, a: L.linalg.matrix_norm(a, "nuc"), [MAT]),
    "stft_centered": (lambda L, a: L.stft(a, 4, window=L.hann_window(4, dtype=L.float64),
                                          return_complex=True).abs(), [R.standard_normal(16)]),
    "stft_batch_short_window": (lambda L, a: L.stft(a, 4, hop_length=2, win_length=3, window=L.ones(3, dtype=L.float64),
                                                    onesided=False, return_complex=True).real,
                                [R.standard_normal((2, 16))]),
    "einsum_matmul": (lambda L, a, b: L.einsum("ij,jk->ik", a, b), [SQ, MAT]),
    "einsum_three_operands": (lambda L, a, b, c: L.einsum("ij,jk,kl->il", a, b, c), [SQ, SQ, MAT]),
    "einsum_diagonal": (lambda L, a: L.einsum("ii->i", a), [SQ]),
    "einsum_trace_implicit": (lambda L, a: L.einsum("ii", a), [SQ]),
    "einsum_batched_ellipsis": (lambda L, a, b: L.einsum("...ij,...jk", a, b), [R.standard_normal((2, 3, 4)), MAT.T]),
    "einsum_attention_scores": (lambda L, a, b: L.einsum("bhqd,bhkd->bhqk", a, b),
                                [R.standard_normal((2, 2, 3, 4)), R.standard_normal((2, 2, 5, 4))]),
    "einsum_repeated_and_summed": (lambda L, a, b: L.einsum("iij,jk->ik", a, b),
                                   [R.standard_normal((3, 3, 4)), MAT.T]),
    "einsum_broadcast_size_one": (lambda L, a, b: L.einsum("ij,jk", a, b), [R.standard_normal((3, 1)),
                                                                            R.standard_normal((1, 5))]),
    "baddbmm": (lambda L, a, b, c: L.baddbmm(a, b, c, beta=0.5, alpha=2), [R.standard_normal((2, 3, 3)),
                                                                          R.standard_normal((2, 3, 4)),
                                                                          R.standard_normal((2, 4, 3))]),
}


@pytest.mark.parametrize("name", LA_PROGRAMS)
def test_linalg_graph_values_and_gradients(name: str) -> None:
    program, arrays = LA_PROGRAMS[name]

    def run(L: Any) -> Any:
        leaves = [L.tensor(a, requires_grad=True) for a in arrays]
        out = program(L, *leaves)
        cotangent = L.tensor(np.random.default_rng(1).standard_normal(tuple(out.shape)))
        return _graph(out.grad_fn), out, L.autograd.grad(out, leaves, cotangent)
    t_graph, t_out, t_grads = run(torch)
    e_graph, e_out, e_grads = run(ember)
    assert e_graph == t_graph
    assert_close(e_out, t_out)
    assert_close(list(e_grads), list(t_grads))


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_einsum_half_precision(dtype: str) -> None:
    """NumPy's einsum has no half-precision loops; ember accumulates in float32 and rounds, as torch's bmm."""
    a, b = R.standard_normal((3, 4)), R.standard_normal((2, 4, 5))
    got = [L.einsum("ij,bjk->bik", L.tensor(a, dtype=getattr(L, dtype)), L.tensor(b, dtype=getattr(L, dtype)))
           for L in (torch, ember)]
    assert_close(got[1], got[0])


def test_clamp_gradient_outside_bounds_is_zero_even_if_infinite() -> None:
    """torch selects 0 outside the bounds; a multiply by the mask would give NaN for an infinite gradient."""
    for bound in ("scalar", "tensor"):
        grads = []
        for L in (torch, ember):
            x = L.tensor([1.5, 3.0], requires_grad=True)
            lo = 2.0 if bound == "scalar" else L.tensor([2.0, 2.0], requires_grad=True)
            (1 / (x.clamp(min=lo) - 2)).sum().backward()
            grads.append(x.grad)
        assert_close(grads[1], grads[0])


@pytest.mark.parametrize("make", [lambda: np.ones((3, 4)).T, lambda: np.ones((2, 3, 4)).transpose(2, 0, 1),
                                  lambda: np.ones((4, 6))[:, ::2], lambda: np.ones((4, 6))[::2].T])
def test_tensor_from_array_keeps_stride_order(make: Callable) -> None:
    """torch.tensor copies an array keeping the order of its strides (compacted), as ``order="K"``."""
    a = make()
    for dtype in (None, "float32", "bfloat16"):
        e = ember.tensor(a, dtype=None if dtype is None else getattr(ember, dtype))
        t = torch.tensor(a, dtype=None if dtype is None else getattr(torch, dtype))
        assert e.stride() == t.stride() and e.is_contiguous() == t.is_contiguous()


UNDIFFERENTIABLE = {
    "unique": lambda L, x: L.unique(x),
    "unique_unsorted_counts": lambda L, x: L.unique(x, sorted=False, return_counts=True)[0],
    "unique_dim": lambda L, x: L.unique(x.reshape(1, 4), dim=1),
    "unique_consecutive": lambda L, x: L.unique_consecutive(x),
    "histogram": lambda L, x: L.histogram(x, 3).hist,
}


@pytest.mark.parametrize("name", UNDIFFERENTIABLE)
def test_recorded_without_derivative(name: str) -> None:
    """torch records these results (they require grad) under nodes whose backward raises its error."""
    def graph(L: Any) -> Any:
        return UNDIFFERENTIABLE[name](L, L.tensor([0.5, 3.0, 3.0, -7.0], requires_grad=True))
    e, t = graph(ember), graph(torch)
    assert e.requires_grad and type(e.grad_fn).__name__ == type(t.grad_fn).__name__
    assert_same_error(lambda: graph(ember).sum().backward(), lambda: graph(torch).sum().backward())


def test_frexp_mantissa_gradient() -> None:
    """The mantissa's gradient is 2**-exponent (FrexpBackward0); the exponent is an integer result."""
    got = []
    for L in (torch, ember):
        x = L.tensor([0.7, 3.0, -7.0, 1e-3], dtype=L.float64, requires_grad=True)
        mantissa, exponent = L.frexp(x)
        mantissa.backward(L.tensor([1.0, 2.0, 3.0, 4.0], dtype=L.float64))
        got.append((type(mantissa.grad_fn).__name__, exponent.requires_grad, x.grad))
    assert got[1][:2] == got[0][:2]
    assert_close(got[1][2], got[0][2])


def test_composite_backward_with_inputs_sharing_history() -> None:
    """A one-node composite (householder_product) whose inputs share an ancestor: backward reaches the ancestor
    through both inputs (its graph must not be freed by the composite's own recomputation)."""
    grads = []
    x0 = R.standard_normal((4, 3))
    for L in (torch, ember):
        x = L.tensor(x0, requires_grad=True)
        a = x * 0.5
        L.linalg.householder_product(a, (a * a).sum(-2)).sum().backward()
        grads.append(x.grad)
    assert_close(grads[1], grads[0])


def test_set_onto_itself_or_own_view() -> None:
    """``t.set_(t)`` and ``t.set_(view of t)`` keep ``t`` a base (no alias cycle; torch's ``_base`` is None)."""
    with ember.inference_mode():
        ember.ones(1)   # makes the engine check is_inference, which walks ``_base``
    for L in (torch, ember):
        t = L.ones(3)
        t.set_(t)
        t.set_(t[1:])
        assert t._base is None and tuple(t.shape) == (2,) and not t.is_inference()
