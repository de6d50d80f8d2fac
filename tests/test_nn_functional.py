"""nn.functional against torch: outputs and gradients (float64, fixed random cotangent), grad_fn names,
numerical stability and error texts for activations, layers and losses."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from oracle import assert_close, assert_same_error, check_grads, torch

TF = torch.nn.functional
RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 6)) * 2
X4 = RNG.standard_normal((2, 3, 4, 5))
HAS_ERF = hasattr(ember.Tensor, "erf")


def _F(lib):
    return lib.nn.functional


ACTIVATIONS = [
    ("relu", {}),
    ("relu6", {}),
    ("hardtanh", dict(min_val=-0.5, max_val=2.0)),
    ("leaky_relu", {}),
    ("leaky_relu", dict(negative_slope=0.2)),
    ("elu", dict(alpha=0.7)),
    ("selu", {}),
    ("celu", dict(alpha=1.3)),
    ("gelu", dict(approximate="tanh")),
    ("silu", {}),
    ("mish", {}),
    ("sigmoid", {}),
    ("tanh", {}),
    ("hardsigmoid", {}),
    ("hardswish", {}),
    ("softplus", {}),
    ("softplus", dict(beta=2.0, threshold=1.0)),
    ("softsign", {}),
    ("tanhshrink", {}),
    ("threshold", dict(threshold=0.3, value=-2.0)),
    ("logsigmoid", {}),
    ("hardshrink", dict(lambd=0.7)),
    ("softshrink", {}),
    ("softmax", dict(dim=1)),
    ("softmax", dict(dim=0)),
    ("log_softmax", dict(dim=1)),
    ("log_softmax", dict(dim=-1)),
    ("softmin", dict(dim=1)),
    ("glu", dict(dim=1)),
    ("glu", dict(dim=0)),
    pytest.param(
        "gelu", {}, marks=pytest.mark.xfail(not HAS_ERF, strict=True, reason="needs Tensor.erf (ops)")
    ),
]


@pytest.mark.parametrize("name,kwargs", ACTIVATIONS)
def test_activation_values_grads_and_grad_fn(name, kwargs):
    check_grads(lambda lib, x: getattr(_F(lib), name)(x, **kwargs), X)
    xe = ember.tensor(X, requires_grad=True)
    xt = torch.tensor(X, requires_grad=True)
    assert (
        type(getattr(F, name)(xe, **kwargs).grad_fn).__name__
        == type(getattr(TF, name)(xt, **kwargs).grad_fn).__name__
    )


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("relu", {}),
        ("elu", {}),
        ("leaky_relu", {}),
        ("hardtanh", {}),
        ("threshold", dict(threshold=0.1, value=0.0)),
        ("silu", {}),
        ("selu", {}),
    ],
)
def test_inplace_activations(name, kwargs):
    def fn(lib, x):
        y = x * 1
        out = getattr(_F(lib), name)(y, inplace=True, **kwargs)
        assert out is y
        return out

    check_grads(fn, X)
    leaf = ember.tensor(X, requires_grad=True)
    assert_same_error(
        lambda: getattr(F, name)(leaf, inplace=True, **kwargs),
        lambda: getattr(TF, name)(torch.tensor(X, requires_grad=True), inplace=True, **kwargs),
    )


def test_float32_activations_and_half():
    x32 = X.astype(np.float32)
    for name in ("silu", "softplus", "mish", "logsigmoid", "elu"):
        assert_close(
            getattr(F, name)(ember.tensor(x32)), getattr(TF, name)(torch.tensor(x32)), rtol=2e-6, atol=2e-6
        )
    h = ember.tensor(x32).half()
    out = F.softmax(h, 1)
    assert out.dtype is ember.float16
    assert_close(out, TF.softmax(torch.tensor(x32).half(), 1), rtol=2e-3, atol=1e-3)
    assert_close(
        F.softmax(ember.tensor(x32), 1, dtype=ember.float64),
        TF.softmax(torch.tensor(x32), 1, dtype=torch.float64),
    )


def test_softmax_family_stability_and_implicit_dim():
    big = np.array([[1000.0, 0.0, -1000.0], [-1e30, 1e30, 3.0]])
    for name in ("softmax", "log_softmax"):
        assert_close(getattr(F, name)(ember.tensor(big), 1), getattr(TF, name)(torch.tensor(big), 1))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax has been deprecated"):
        F.softmax(ember.tensor(X))
    assert_close(F.softmax(ember.tensor(2.0), 0), TF.softmax(torch.tensor(2.0), 0))
    assert_close(F.log_softmax(ember.tensor(X4), 1), TF.log_softmax(torch.tensor(X4), 1))
    neg_inf = np.array([[-np.inf, 0.0, 1.0]])
    assert_close(F.softmax(ember.tensor(neg_inf), 1), TF.softmax(torch.tensor(neg_inf), 1))


def test_prelu():
    check_grads(lambda lib, x, w: _F(lib).prelu(x, w), X4, np.array([0.1, 0.2, 0.3]))
    check_grads(lambda lib, x, w: _F(lib).prelu(x, w), X, np.array([0.25]))
    assert_same_error(
        lambda: F.prelu(ember.tensor(X4), ember.ones(2, dtype=ember.float64)),
        lambda: TF.prelu(torch.tensor(X4), torch.ones(2, dtype=torch.float64)),
    )


# ---- layers --------------------------------------------------------------------------------------
W = RNG.standard_normal((3, 6))
B = RNG.standard_normal(3)


@pytest.mark.parametrize("shape", [(4, 6), (2, 4, 6), (6,), (2, 2, 3, 6)])
def test_linear(shape):
    x = RNG.standard_normal(shape)
    check_grads(lambda lib, x, w, b: _F(lib).linear(x, w, b), x, W, B)
    check_grads(lambda lib, x, w: _F(lib).linear(x, w), x, W)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    for args_e, args_t in [
        ((ember.tensor(W), ember.tensor(B)), (torch.tensor(W), torch.tensor(B))),
        ((ember.tensor(W),), (torch.tensor(W),)),
    ]:
        if len(shape) in (2, 3):  # other ranks: the name depends on whether torch's matmul returned a view
            assert (
                type(F.linear(xe, *args_e).grad_fn).__name__ == type(TF.linear(xt, *args_t).grad_fn).__name__
            )
    assert_same_error(
        lambda: F.linear(ember.ones(2, 3), ember.ones(4, 5)),
        lambda: TF.linear(torch.ones(2, 3), torch.ones(4, 5)),
    )


def test_bilinear():
    x1, x2 = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 5))
    w, b = RNG.standard_normal((2, 3, 5)), RNG.standard_normal(2)
    check_grads(lambda lib, a, c, w, b: _F(lib).bilinear(a, c, w, b), x1, x2, w, b)
    check_grads(lambda lib, a, c, w: _F(lib).bilinear(a, c, w), x1[None], x2[None], w)


def test_dropout_masks_are_bit_exact():
    for p in (0.5, 0.2806483068094369, 0.9):
        for shape in ((8,), (3, 7)):
            ember.manual_seed(0)
            torch.manual_seed(0)
            x = RNG.standard_normal(shape).astype(np.float32)
            e = F.dropout(ember.tensor(x, requires_grad=True), p)
            t = TF.dropout(torch.tensor(x, requires_grad=True), p)
            assert_close(e, t, rtol=0, atol=0)
            assert type(e.grad_fn).__name__ == type(t.grad_fn).__name__ == "MulBackward0"
    ember.manual_seed(0)
    assert F.dropout(ember.ones(8), 0.5).tolist() == [0, 0, 2, 0, 0, 0, 2, 2]
    x = ember.ones(3)
    assert F.dropout(x, 0.5, training=False) is x and F.dropout(x, 0.0) is x
    assert F.dropout(x, 1.0).tolist() == [0.0, 0.0, 0.0]
    assert_same_error(lambda: F.dropout(x, 1.5), lambda: TF.dropout(torch.ones(3), 1.5))


@pytest.mark.parametrize(
    "name,shape",
    [
        ("alpha_dropout", (4, 5)),
        ("feature_alpha_dropout", (2, 3, 4)),
        ("dropout1d", (2, 3, 4)),
        ("dropout2d", (2, 3, 4, 4)),
        ("dropout3d", (2, 3, 2, 2, 2)),
        ("dropout1d", (3, 4)),
    ],
)
def test_dropout_variants_bit_exact(name, shape):
    x = RNG.standard_normal(shape).astype(np.float32)
    ember.manual_seed(3)
    torch.manual_seed(3)
    assert_close(
        getattr(F, name)(ember.tensor(x), 0.4, training=True),
        getattr(TF, name)(torch.tensor(x), 0.4, training=True),
        rtol=0,
        atol=1e-7,
    )


def test_embedding():
    idx = np.array([[1, 3, 3], [0, 4, 1]])
    w = RNG.standard_normal((5, 4))
    check_grads(lambda lib, w: _F(lib).embedding(lib.tensor(idx), w), w)
    check_grads(lambda lib, w: _F(lib).embedding(lib.tensor(idx), w, padding_idx=3), w)
    check_grads(
        lambda lib, w: _F(lib).embedding(lib.tensor(idx), w, padding_idx=-1, scale_grad_by_freq=True), w
    )
    we, wt = ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    assert type(F.embedding(ember.tensor(idx), we).grad_fn).__name__ == "EmbeddingBackward0"
    w2e, w2t = ember.tensor(w * 3), torch.tensor(w * 3)
    assert_close(
        F.embedding(ember.tensor(idx), w2e, max_norm=1.5), TF.embedding(torch.tensor(idx), w2t, max_norm=1.5)
    )
    assert_close(w2e, w2t)
    assert_same_error(lambda: F.embedding(ember.tensor([5]), we), lambda: TF.embedding(torch.tensor([5]), wt))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag(mode):
    w = RNG.standard_normal((6, 3))
    inp, off = np.array([1, 2, 4, 5, 4, 3, 2, 0]), np.array([0, 3, 3, 5])
    check_grads(lambda lib, w: _F(lib).embedding_bag(lib.tensor(inp), w, lib.tensor(off), mode=mode), w)
    check_grads(lambda lib, w: _F(lib).embedding_bag(lib.tensor(inp.reshape(2, 4)), w, mode=mode), w)
    check_grads(
        lambda lib, w: _F(lib).embedding_bag(
            lib.tensor(inp), w, lib.tensor(off), mode=mode, padding_idx=4, include_last_offset=True
        ),
        w,
    )
    if mode == "sum":
        psw = RNG.standard_normal(8)
        check_grads(
            lambda lib, w, s: _F(lib).embedding_bag(
                lib.tensor(inp), w, lib.tensor(off), mode="sum", per_sample_weights=s
            ),
            w,
            psw,
        )


def test_layer_norm_and_rms_norm():
    w, b = RNG.standard_normal((4, 5)), RNG.standard_normal((4, 5))
    check_grads(lambda lib, x, w, b: _F(lib).layer_norm(x, (4, 5), w, b), X4, w, b)
    check_grads(lambda lib, x: _F(lib).layer_norm(x, (5,), eps=1e-3), X4)
    check_grads(lambda lib, x, w: _F(lib).rms_norm(x, (4, 5), w), X4, w)
    check_grads(lambda lib, x: _F(lib).rms_norm(x, [5], eps=1e-4), X4)
    xe = ember.tensor(X4, requires_grad=True)
    assert type(F.layer_norm(xe, (5,)).grad_fn).__name__ == "NativeLayerNormBackward0"
    assert type(F.rms_norm(xe, (5,)).grad_fn).__name__ == "MulBackward0"
    assert_same_error(
        lambda: F.layer_norm(ember.ones(4, 3), (4,)), lambda: TF.layer_norm(torch.ones(4, 3), (4,))
    )


def test_layer_norm_double_backward():
    def fn(lib, x):
        y = _F(lib).layer_norm(x, (6,))
        (g,) = lib.autograd.grad((y * y * y).sum(), x, create_graph=True)
        return g

    check_grads(fn, X)


def test_normalize_distances():
    y = RNG.standard_normal((4, 6))
    check_grads(lambda lib, x: _F(lib).normalize(x), X)
    check_grads(lambda lib, x: _F(lib).normalize(x, p=1.0, dim=0), X)
    check_grads(lambda lib, a, b: _F(lib).cosine_similarity(a, b), X, y)
    check_grads(lambda lib, a, b: _F(lib).cosine_similarity(a, b, dim=0), X, y)
    check_grads(lambda lib, a, b: _F(lib).pairwise_distance(a, b), X, y)
    check_grads(lambda lib, a, b: _F(lib).pairwise_distance(a, b, p=1.0, keepdim=True), X, y)
    check_grads(lambda lib, a: _F(lib).pdist(a), X)


def test_one_hot():
    labels = ember.tensor([0, 2, 1, 2])
    assert_close(F.one_hot(labels), TF.one_hot(torch.tensor([0, 2, 1, 2])))
    assert_close(F.one_hot(labels.reshape(2, 2), 4), TF.one_hot(torch.tensor([[0, 2], [1, 2]]), 4))
    assert_close(
        F.one_hot(ember.tensor([], dtype=ember.int64), 3), TF.one_hot(torch.tensor([], dtype=torch.int64), 3)
    )
    for bad_e, bad_t, n in [([0, 3], [0, 3], 3), ([0, -1], [0, -1], -1)]:
        assert_same_error(
            lambda e=bad_e, n=n: F.one_hot(ember.tensor(e), n),
            lambda t=bad_t, n=n: TF.one_hot(torch.tensor(t), n),
        )
    assert_same_error(lambda: F.one_hot(ember.tensor([0.0])), lambda: TF.one_hot(torch.tensor([0.0])))


@pytest.mark.parametrize(
    "mode,pads,shape",
    [
        ("constant", (1, 2), (2, 3)),
        ("constant", (1, -1, 2, 0), (2, 3, 4)),
        ("constant", (0, 0, 0, 0, 1, 1), (2, 3, 4)),
        ("reflect", (2, 1), (2, 3, 4)),
        ("reflect", (1, 2, 2, 1), (1, 2, 3, 4)),
        ("reflect", (-1, 2), (1, 1, 5)),
        ("replicate", (3, 1), (2, 4)),
        ("replicate", (1, 1, 2, 0, 0, 1), (1, 2, 2, 3, 2)),
        ("circular", (2, 1), (1, 2, 4)),
        ("circular", (-1, 3), (1, 1, 5)),
        ("circular", (1, 2, 1, 0), (1, 1, 3, 3)),
    ],
)
def test_pad(mode, pads, shape):
    x = RNG.standard_normal(shape)
    kw = {"value": 1.5} if mode == "constant" else {}
    check_grads(lambda lib, x: _F(lib).pad(x, pads, mode=mode, **kw), x)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    assert (
        type(F.pad(xe, pads, mode=mode).grad_fn).__name__
        == type(TF.pad(xt, pads, mode=mode).grad_fn).__name__
    )


@pytest.mark.parametrize(
    "mode,pads,shape",
    [
        ("reflect", (3, 3), (1, 4, 3)),
        ("reflect", (1, 1, 1, 1), (4, 3)),
        ("circular", (4, 4), (1, 2, 3)),
        ("constant", (1,), (2, 3)),
        ("foo", (1, 1), (2, 3)),
        ("constant", (1,) * 8, (1, 2, 3)),
        ("constant", (-4, 2), (1, 2, 3)),
    ],
)
def test_pad_errors_match_torch(mode, pads, shape):
    assert_same_error(
        lambda: F.pad(ember.zeros(*shape), pads, mode=mode),
        lambda: TF.pad(torch.zeros(*shape), pads, mode=mode),
    )


# ---- losses --------------------------------------------------------------------------------------
T = RNG.standard_normal((4, 6))
P = RNG.random((4, 6))
LABELS = np.array([0, 5, 2, 2])
SIGN = np.sign(RNG.standard_normal((4, 6)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("mse_loss", {}),
        ("l1_loss", {}),
        ("smooth_l1_loss", {}),
        ("smooth_l1_loss", dict(beta=0.5)),
        ("smooth_l1_loss", dict(beta=0.0)),
        ("huber_loss", {}),
        ("huber_loss", dict(delta=0.3)),
        ("soft_margin_loss", {}),
        ("kl_div", {}),
        ("kl_div", dict(log_target=True)),
        ("poisson_nll_loss", {}),
        ("poisson_nll_loss", dict(log_input=False, full=True)),
    ],
)
def test_regression_losses(name, kwargs, reduction):
    target = SIGN if name == "soft_margin_loss" else np.abs(T) * 3 if name == "poisson_nll_loss" else T
    x = np.abs(X) + 0.1 if kwargs.get("log_input") is False else X
    with pytest.warns(UserWarning) if (name == "kl_div" and reduction == "mean") else _nullcontext():
        check_grads(
            lambda lib, x, t: getattr(_F(lib), name)(x, t, reduction=reduction, **kwargs),
            x,
            target,
            requires_grad=(True, name != "soft_margin_loss"),
        )
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    if name != "kl_div":
        assert (
            type(getattr(F, name)(xe, ember.tensor(target), reduction=reduction, **kwargs).grad_fn).__name__
            == type(
                getattr(TF, name)(xt, torch.tensor(target), reduction=reduction, **kwargs).grad_fn
            ).__name__
        )


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_weighted_regression_losses_and_batchmean():
    w = RNG.random((4, 6))
    for name in ("mse_loss", "l1_loss", "huber_loss"):
        for reduction in ("mean", "sum", "none"):
            check_grads(
                lambda lib, x, t, w, name=name, reduction=reduction: getattr(_F(lib), name)(
                    x, t, reduction=reduction, weight=w
                ),
                X,
                T,
                w,
                requires_grad=(True, True, False),
            )
    check_grads(lambda lib, x, t: _F(lib).kl_div(x, t, reduction="batchmean"), X, P)
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(ember.ones(4, 3), ember.ones(3))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy(reduction):
    probs = 1 / (1 + np.exp(-X))
    w = RNG.random((4, 6))
    check_grads(lambda lib, x, t: _F(lib).binary_cross_entropy(x, t, reduction=reduction), probs, P)
    check_grads(
        lambda lib, x, t: _F(lib).binary_cross_entropy(x, t, weight=lib.tensor(w), reduction=reduction),
        probs,
        P,
    )
    check_grads(
        lambda lib, x, t: _F(lib).binary_cross_entropy_with_logits(x, t, reduction=reduction), X * 20, P
    )
    pw = RNG.random(6) * 3
    check_grads(
        lambda lib, x, t: _F(lib).binary_cross_entropy_with_logits(
            x, t, weight=lib.tensor(w), pos_weight=lib.tensor(pw), reduction=reduction
        ),
        X * 20,
        P,
    )
    edge = np.array([0.0, 1.0, 0.5])
    assert_close(
        F.binary_cross_entropy(ember.tensor(edge), ember.tensor([1.0, 0.0, 0.5], dtype=ember.float64)),
        TF.binary_cross_entropy(torch.tensor(edge), torch.tensor([1.0, 0.0, 0.5], dtype=torch.float64)),
    )


def test_binary_cross_entropy_errors():
    x = ember.rand(4, 3)
    assert_same_error(
        lambda: F.binary_cross_entropy(x, ember.ones(4)),
        lambda: TF.binary_cross_entropy(torch.rand(4, 3), torch.ones(4)),
    )
    assert_same_error(
        lambda: F.binary_cross_entropy(x * 3, ember.ones(4, 3)),
        lambda: TF.binary_cross_entropy(torch.ones(4, 3) * 3, torch.ones(4, 3)),
    )
    assert_same_error(
        lambda: F.binary_cross_entropy_with_logits(x, ember.ones(4)),
        lambda: TF.binary_cross_entropy_with_logits(torch.rand(4, 3), torch.ones(4)),
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        dict(ignore_index=2),
        dict(weight="w"),
        dict(weight="w", ignore_index=5),
        dict(label_smoothing=0.1),
        dict(label_smoothing=0.2, weight="w"),
        dict(label_smoothing=0.3, ignore_index=2, weight="w"),
    ],
)
def test_cross_entropy_and_nll(kwargs, reduction):
    w = RNG.random(6) + 0.5

    def call(lib, fn, x, target):
        kw = {k: (lib.tensor(w) if v == "w" else v) for k, v in kwargs.items()}
        return getattr(_F(lib), fn)(x, target, reduction=reduction, **kw)

    check_grads(lambda lib, x: call(lib, "cross_entropy", x, lib.tensor(LABELS)), X)
    x4 = RNG.standard_normal((2, 6, 3, 2))
    lab4 = RNG.integers(0, 6, (2, 3, 2))
    check_grads(lambda lib, x: call(lib, "cross_entropy", x, lib.tensor(lab4)), x4)
    if not kwargs.get("label_smoothing"):
        check_grads(lambda lib, x: call(lib, "nll_loss", x, lib.tensor(LABELS)), X)
        check_grads(lambda lib, x: call(lib, "nll_loss", x, lib.tensor(lab4)), x4)
        xe, xt = ember.tensor(x4, requires_grad=True), torch.tensor(x4, requires_grad=True)
        if reduction != "none":
            assert (
                type(call(ember, "nll_loss", xe, ember.tensor(lab4)).grad_fn).__name__
                == type(call(torch, "nll_loss", xt, torch.tensor(lab4)).grad_fn).__name__
            )
    xe, xt = ember.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    assert (
        type(call(ember, "cross_entropy", xe, ember.tensor(LABELS)).grad_fn).__name__
        == type(call(torch, "cross_entropy", xt, torch.tensor(LABELS)).grad_fn).__name__
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("kwargs", [{}, dict(label_smoothing=0.15), dict(weight=True)])
def test_cross_entropy_class_probabilities(kwargs, reduction):
    probs = RNG.random((4, 6))
    probs /= probs.sum(1, keepdims=True)
    w = RNG.random(6) + 0.5
    kw = dict(kwargs)

    def call(lib, x, t):
        k = {kk: (lib.tensor(w) if kk == "weight" else v) for kk, v in kw.items()}
        return _F(lib).cross_entropy(x, t, reduction=reduction, **k)

    check_grads(call, X, probs)
    check_grads(lambda lib, x: _F(lib).cross_entropy(x, lib.tensor(probs[0])), X[0])


def test_cross_entropy_stability_and_unbatched():
    big = np.array([[1e4, -1e4, 0.0], [3.0, 1e30, -5.0]])
    assert_close(
        F.cross_entropy(ember.tensor(big), ember.tensor([1, 0])),
        TF.cross_entropy(torch.tensor(big), torch.tensor([1, 0])),
    )
    check_grads(lambda lib, x: _F(lib).cross_entropy(x, lib.tensor(2)), X[0])
    assert_close(
        F.nll_loss(ember.tensor(X), ember.tensor([2, 2, 2, 2]), ignore_index=2),
        TF.nll_loss(torch.tensor(X), torch.tensor([2, 2, 2, 2]), ignore_index=2),
    )


@pytest.mark.parametrize(
    "case", ["out_of_range", "negative", "batch", "dtype", "weight", "reduction", "multi"]
)
def test_cross_entropy_errors_match_torch(case):
    def run(lib):
        x = lib.zeros(4, 3)
        t, kw = lib.tensor([0, 1, 2, 1]), {}
        if case == "out_of_range":
            t = lib.tensor([0, 1, 2, 3])
        elif case == "negative":
            t = lib.tensor([0, 1, 2, -5])
        elif case == "batch":
            t = lib.tensor([0, 1, 2])
        elif case == "dtype":
            return lib.nn.functional.nll_loss(x, t.float())
        elif case == "weight":
            kw = {"weight": lib.ones(2)}
        elif case == "reduction":
            kw = {"reduction": "foo"}
        else:
            t = lib.zeros(4, 2, dtype=lib.int64)
        return lib.nn.functional.cross_entropy(x, t, **kw)

    assert_same_error(lambda: run(ember), lambda: run(torch))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_margin_and_embedding_losses(reduction):
    y = RNG.standard_normal((4, 6))
    z = RNG.standard_normal((4, 6))
    pm = np.sign(RNG.standard_normal(4))
    var = RNG.random((4, 6)) + 0.1
    check_grads(
        lambda lib, a, b: _F(lib).margin_ranking_loss(
            a, b, lib.tensor(SIGN), margin=0.3, reduction=reduction
        ),
        X,
        y,
    )
    check_grads(
        lambda lib, a: _F(lib).hinge_embedding_loss(a, lib.tensor(SIGN), margin=0.5, reduction=reduction), X
    )
    check_grads(
        lambda lib, a, b: _F(lib).cosine_embedding_loss(
            a, b, lib.tensor(pm), margin=0.2, reduction=reduction
        ),
        X,
        y,
    )
    check_grads(lambda lib, a, b, c: _F(lib).triplet_margin_loss(a, b, c, reduction=reduction), X, y, z)
    check_grads(
        lambda lib, a, b, c: _F(lib).triplet_margin_loss(
            a, b, c, p=1.0, swap=True, margin=2.0, reduction=reduction
        ),
        X,
        y,
        z,
    )
    check_grads(
        lambda lib, a: _F(lib).multilabel_soft_margin_loss(
            a, lib.tensor((P > 0.5) * 1.0), reduction=reduction
        ),
        X,
    )
    check_grads(
        lambda lib, a: _F(lib).multilabel_soft_margin_loss(
            a, lib.tensor(P), weight=lib.tensor(P[0]), reduction=reduction
        ),
        X,
    )
    check_grads(lambda lib, a: _F(lib).multi_margin_loss(a, lib.tensor(LABELS), reduction=reduction), X)
    check_grads(
        lambda lib, a: _F(lib).multi_margin_loss(
            a, lib.tensor(LABELS), p=2, margin=0.5, weight=lib.tensor(P[0]), reduction=reduction
        ),
        X,
    )
    check_grads(lambda lib, a, b, v: _F(lib).gaussian_nll_loss(a, b, v, reduction=reduction), X, y, var)
    check_grads(
        lambda lib, a, b, v: _F(lib).gaussian_nll_loss(a, b, v, full=True, reduction=reduction),
        X,
        y,
        var[:, :1],
    )


def test_legacy_reduction_arguments():
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        e = F.mse_loss(ember.tensor(X), ember.tensor(T), size_average=False)
    assert_close(e, TF.mse_loss(torch.tensor(X), torch.tensor(T), reduction="sum"))
    with pytest.warns(UserWarning):
        e = F.l1_loss(ember.tensor(X), ember.tensor(T), reduce=False)
    assert e.shape == (4, 6)


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_pointwise_loss_shapes_that_do_not_broadcast(loss: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # both warn about the size difference first
        assert_same_error(lambda: getattr(ember.nn.functional, loss)(ember.randn(2, 10), ember.tensor([1.0, 2.0])),
                          lambda: getattr(torch.nn.functional, loss)(torch.randn(2, 10), torch.tensor([1.0, 2.0])))


@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_layer_norm_array_backward_matches_torch(affine, dtype):
    """The fast array path (no create_graph): values and all gradients against torch, 16-bit floats (which
    compute in float32) and inputs whose gradient is not wanted included."""
    shape, norm = (3, 5, 4, 6), (4, 6)
    x = RNG.standard_normal(shape) * 3 + 2
    w, b = RNG.standard_normal(norm), RNG.standard_normal(norm)
    cot = RNG.standard_normal(shape)
    # bfloat16: torch sums the weight/bias gradients in bfloat16, ember in float32 (closer to the exact value)
    tol = {"float32": dict(rtol=1e-5, atol=1e-5), "bfloat16": dict(rtol=2e-2, atol=8e-2)}.get(dtype, {})
    for need_x in (True, False):
        res = []
        for lib in (ember, torch):
            dt = getattr(lib, dtype)
            xt = lib.tensor(x, dtype=dt, requires_grad=need_x)
            wt = lib.tensor(w, dtype=dt, requires_grad=True) if affine in ("both", "weight") else None
            bt = lib.tensor(b, dtype=dt, requires_grad=True) if affine in ("both", "bias") else None
            y = _F(lib).layer_norm(xt, norm, wt, bt, eps=1e-4)
            if y.requires_grad:
                y.backward(lib.tensor(cot, dtype=dt))
            res.append((y, [t.grad for t in (xt, wt, bt) if t is not None and t.requires_grad]))
        (ye, ge), (yt, gt) = res
        assert_close(ye, yt, **tol)
        assert len(ge) == len(gt)
        for a, c in zip(ge, gt, strict=True):
            assert_close(a, c, **tol)


def test_layer_norm_empty_and_gradcheck():
    for shape in ((0, 4), (3, 0)):
        xe, xt = ember.zeros(shape, requires_grad=True), torch.zeros(shape, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ye, yt = F.layer_norm(xe, shape[1:]), TF.layer_norm(xt, shape[1:])
        assert tuple(ye.shape) == tuple(yt.shape)
    x = ember.tensor(RNG.standard_normal((3, 4, 5)), requires_grad=True)
    w = ember.tensor(RNG.standard_normal(5), requires_grad=True)
    b = ember.tensor(RNG.standard_normal(5), requires_grad=True)
    assert ember.autograd.gradcheck(lambda x, w, b: F.layer_norm(x, (5,), w, b), (x, w, b))
    assert ember.autograd.gradgradcheck(lambda x, w, b: F.layer_norm(x, (5,), w, b), (x, w, b))


def _graph(fn, depth=2):
    """grad_fn names with their next_functions, ``depth`` levels deep."""
    if fn is None or depth == 0:
        return None
    return type(fn).__name__, [_graph(n, depth - 1) for n, _ in fn.next_functions]


@pytest.mark.parametrize(
    "case",
    [
        lambda lib, x, w, b: _F(lib).linear(x[0, 0, 0], w, b),  # 1-d contiguous
        lambda lib, x, w, b: _F(lib).linear(x[0, 0, :, 0], w[:, :2], b),  # 1-d strided
        lambda lib, x, w, b: _F(lib).linear(x, w, b),  # 4-d contiguous
        lambda lib, x, w, b: _F(lib).linear(x.transpose(1, 2), w, b),  # 4-d strided
        lambda lib, x, w, b: _F(lib).linear(x[0], w, b),  # 3-d
        lambda lib, x, w, b: _F(lib).linear(x[:0], w, b),  # empty 4-d
        lambda lib, x, w, b: _F(lib).linear(x, w),
        lambda lib, x, w, b: _F(lib).linear(x[0, 0, 0], w),
    ],
)
def test_linear_graph_matches_torch(case):
    x, w, b = RNG.standard_normal((2, 2, 2, 2)), RNG.standard_normal((3, 2)), RNG.standard_normal(3)
    ye = case(ember, *(ember.tensor(a, requires_grad=True) for a in (x, w, b)))
    yt = case(torch, *(torch.tensor(a, requires_grad=True) for a in (x, w, b)))
    assert type(ye.grad_fn).__name__ == type(yt.grad_fn).__name__
    if type(yt.grad_fn).__name__ in ("ViewBackward0", "AddBackward0"):  # the bias paths: one level deeper too
        names = [[type(n).__name__ for n, _ in y.grad_fn.next_functions] for y in (ye, yt)]
        assert names[0] == names[1]
    assert_close(ye, yt)
    check_grads(lambda lib, x, w, b: case(lib, x, w, b), x, w, b)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_and_pdist_grad_fn(mode):
    w, psw = RNG.standard_normal((6, 3)), RNG.standard_normal(8)
    inp, off = [1, 2, 4, 5, 4, 3, 2, 0], [0, 3, 3, 5]
    graphs = []
    for lib in (ember, torch):
        we = lib.tensor(w, requires_grad=True)
        s = lib.tensor(psw, requires_grad=True) if mode == "sum" else None
        y = _F(lib).embedding_bag(lib.tensor(inp), we, lib.tensor(off), mode=mode, per_sample_weights=s)
        d = _F(lib).pdist(lib.tensor(w, requires_grad=True))
        graphs.append((_graph(y.grad_fn), _graph(d.grad_fn)))
    assert graphs[0] == graphs[1]
    assert graphs[0][0][0] == "EmbeddingBagBackward0" and graphs[0][1][0] == "PdistBackward0"


def test_pdist_embedding_bag_gradcheck():
    """Right gradients; torch has no double backward for these, and ember raises its errors."""
    x = ember.tensor(RNG.standard_normal((5, 3)), requires_grad=True)
    for p in (1.0, 2.0, 3.0):
        assert ember.autograd.gradcheck(lambda a, p=p: F.pdist(a, p), (x,))
        with pytest.raises(NotImplementedError, match="the derivative for '_pdist_backward' is not implemented"):
            ember.autograd.gradgradcheck(lambda a, p=p: F.pdist(a, p), (x,))
    w = ember.tensor(RNG.standard_normal((6, 3)), requires_grad=True)
    s = ember.tensor(RNG.standard_normal(8), requires_grad=True)
    inp, off = ember.tensor([1, 2, 4, 5, 4, 3, 2, 0]), ember.tensor([0, 3, 3, 5])
    fn = lambda w, s: F.embedding_bag(inp, w, off, mode="sum", per_sample_weights=s)  # noqa: E731
    assert ember.autograd.gradcheck(fn, (w, s))
    with pytest.raises(NotImplementedError, match="the derivative for '_embedding_bag_backward' is not implemented"):
        ember.autograd.gradgradcheck(fn, (w, s))
