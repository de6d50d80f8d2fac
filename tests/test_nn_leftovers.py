"""Issue 4 leftovers against torch: rrelu / RReLU (same random slopes under a seed), grad_fn names of every
loss, and the DataLoader's ``in_order`` / ``multiprocessing_context``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests._slow_first import SlowFirst
from tests.oracle import assert_close, assert_same_error, check_grads, to_ember

import ember

R = np.random.default_rng(0)


# ---- rrelu ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("bounds", [(1.0 / 8, 1.0 / 3), (0.1, 0.7), (0.2, 0.2)])
def test_rrelu_same_values_and_grads(dtype: str, training: bool, bounds: tuple) -> None:
    x = R.standard_normal((5, 40)).astype(dtype)
    x[0, :3] = 0.0
    te, tt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ember.manual_seed(7)
    torch.manual_seed(7)
    ye = ember.nn.functional.rrelu(te, *bounds, training=training)
    yt = torch.nn.functional.rrelu(tt, *bounds, training=training)
    np.testing.assert_array_equal(ye.detach().numpy(), yt.detach().numpy())
    assert type(ye.grad_fn).__name__ == type(yt.grad_fn).__name__ == "RreluWithNoiseBackward0"
    g = R.standard_normal(x.shape).astype(dtype)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(te.grad.numpy(), tt.grad.numpy())
    # the generator advanced identically
    assert ember.rand(3).tolist() == torch.rand(3).tolist()


def test_rrelu_inplace_module_repr_and_errors() -> None:
    x = R.standard_normal((3, 8)).astype("float32")
    for lib in (ember, torch):
        lib.manual_seed(1)
    a, b = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = a * 1, b * 1
    ember.nn.functional.rrelu_(ye, training=True)
    torch.nn.functional.rrelu_(yt, training=True)
    np.testing.assert_array_equal(ye.detach().numpy(), yt.detach().numpy())
    assert type(ye.grad_fn).__name__ == type(yt.grad_fn).__name__
    ye.sum().backward()
    yt.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    for args in [(), (0.1, 0.3, True)]:
        assert repr(ember.nn.RReLU(*args)) == repr(torch.nn.RReLU(*args))
    me, mt = ember.nn.RReLU(), torch.nn.RReLU()
    for lib in (ember, torch):
        lib.manual_seed(2)
    np.testing.assert_array_equal(me(ember.tensor(x)).numpy(), mt(torch.tensor(x)).numpy())
    me.eval()
    mt.eval()
    np.testing.assert_array_equal(me(ember.tensor(x)).numpy(), mt(torch.tensor(x)).numpy())
    xe, xt = ember.tensor(x), torch.tensor(x)
    assert_same_error(
        lambda: ember.nn.functional.rrelu(xe, 0.5, 0.2, training=True),
        lambda: torch.nn.functional.rrelu(xt, 0.5, 0.2, training=True),
    )
    assert_same_error(
        lambda: ember.nn.functional.rrelu(ember.arange(3), training=True),
        lambda: torch.nn.functional.rrelu(torch.arange(3), training=True),
    )


def test_rrelu_gradcheck() -> None:
    x = ember.tensor(R.standard_normal((3, 4)) + 0.1, requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: ember.nn.functional.rrelu(t, training=False), (x,))
    assert ember.autograd.gradgradcheck(lambda t: ember.nn.functional.rrelu(t, training=False), (x,))


# ---- grad_fn names of every loss -----------------------------------------------------------------
def _loss_cases(lib):  # noqa: ANN001, ANN202
    F = lib.nn.functional
    r = np.random.RandomState(0)
    x, t = r.randn(4, 3), r.randn(4, 3)
    p = r.rand(4, 3) * 0.9 + 0.05
    cls = np.array([0, 2, 1, 1])
    pm = np.sign(r.randn(4))
    soft = np.exp(t) / np.exp(t).sum(1, keepdims=True)
    labels = np.array([[2, 0, -1], [1, -1, 0], [-1, 0, 1], [0, 1, 2]])
    x4, cls4, bits = r.randn(2, 3, 2, 2), cls.reshape(2, 2, 1).repeat(2, 2), (p > 0.5) * 1.0

    def T(a, g=False):  # noqa: ANN001, ANN202
        return lib.tensor(a, requires_grad=g)

    return {
        "mse": lambda red: F.mse_loss(T(x, True), T(t), reduction=red),
        "l1": lambda red: F.l1_loss(T(x, True), T(t), reduction=red),
        "smooth_l1": lambda red: F.smooth_l1_loss(T(x, True), T(t), reduction=red),
        "smooth_l1_beta0": lambda red: F.smooth_l1_loss(T(x, True), T(t), reduction=red, beta=0.0),
        "huber": lambda red: F.huber_loss(T(x, True), T(t), reduction=red),
        "nll": lambda red: F.nll_loss(T(x, True), T(cls), reduction=red),
        "nll2d": lambda red: F.nll_loss(T(x4, True), T(cls4), reduction=red),
        "ce": lambda red: F.cross_entropy(T(x, True), T(cls), reduction=red),
        "ce_smooth": lambda red: F.cross_entropy(T(x, True), T(cls), reduction=red, label_smoothing=0.1),
        "ce_soft": lambda red: F.cross_entropy(T(x, True), T(soft), reduction=red),
        "ce_soft_1d": lambda red: F.cross_entropy(T(x[0], True), T(soft[0]), reduction=red),
        "ce_soft_smooth": lambda red: F.cross_entropy(T(x, True), T(soft), reduction=red, label_smoothing=0.1),
        "bce": lambda red: F.binary_cross_entropy(T(p, True), T(p), reduction=red),
        "bce_logits": lambda red: F.binary_cross_entropy_with_logits(T(x, True), T(p), reduction=red),
        "kl_div": lambda red: F.kl_div(T(x, True), T(p), reduction="batchmean" if red == "mean" else red),
        "kl_div_log": lambda red: F.kl_div(T(x, True), T(x), reduction=red, log_target=True),
        "poisson_nll": lambda red: F.poisson_nll_loss(T(x, True), T(p), reduction=red),
        "poisson_nll_full": lambda red: F.poisson_nll_loss(T(p, True), T(p), reduction=red, log_input=False, full=True),
        "gaussian_nll": lambda red: F.gaussian_nll_loss(T(x, True), T(t), T(p), reduction=red),
        "margin_ranking": lambda red: F.margin_ranking_loss(T(x[:, 0], True), T(t[:, 0]), T(pm), reduction=red),
        "hinge_embedding": lambda red: F.hinge_embedding_loss(T(x, True), T(np.sign(t)), reduction=red),
        "cosine_embedding": lambda red: F.cosine_embedding_loss(T(x, True), T(t), T(pm), reduction=red),
        "triplet_margin": lambda red: F.triplet_margin_loss(T(x, True), T(t), T(p), reduction=red),
        "multilabel_soft_margin": lambda red: F.multilabel_soft_margin_loss(T(x, True), T(bits), reduction=red),
        "soft_margin": lambda red: F.soft_margin_loss(T(x, True), T(np.sign(t)), reduction=red),
        "multi_margin": lambda red: F.multi_margin_loss(T(x, True), T(cls), reduction=red),
        "multi_margin_p2_w": lambda red: F.multi_margin_loss(T(x, True), T(cls), p=2, weight=T(p[0]), reduction=red),
        "multilabel_margin": lambda red: F.multilabel_margin_loss(T(x, True), T(labels), reduction=red),
        "multi_margin_1d": lambda red: F.multi_margin_loss(T(x[0], True), T(cls[:1]), reduction=red),
    }


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", list(_loss_cases(torch)))
def test_loss_grad_fn_names(name: str, reduction: str) -> None:
    e, t = _loss_cases(ember)[name](reduction), _loss_cases(torch)[name](reduction)
    assert type(e.grad_fn).__name__ == type(t.grad_fn).__name__
    assert_close(e, t)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("shape", [(4, 5), (5,)])
def test_multi_margin_values_and_grads(reduction: str, p: int, shape: tuple) -> None:
    x = R.standard_normal(shape) * 0.5
    y = R.integers(0, shape[-1], shape[:-1] or (1,))
    w = R.random(shape[-1]) + 0.5
    check_grads(
        lambda lib, a, b, c: lib.nn.functional.multi_margin_loss(a, b, p=p, margin=0.8, weight=c, reduction=reduction),
        x, y, w, requires_grad=(True, False, False),
    )
    xe = ember.tensor(x, requires_grad=True)
    with pytest.raises(RuntimeError, match="derivative for aten::multi_margin_loss_backward is not implemented"):
        ember.autograd.gradgradcheck(   # as torch: its backward kernel has no derivative
            lambda a: ember.nn.functional.multi_margin_loss(a, to_ember(torch.tensor(y)), p=p, reduction=reduction),
            (xe,))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("rows", [slice(None), 0])
def test_multilabel_margin_values_grads_errors(reduction: str, rows: object) -> None:
    x = R.standard_normal((4, 5))
    y = np.array([[3, 0, -1, 1, 2], [1, 2, 3, 0, 4], [-1, 0, 1, 2, 3], [4, 4, -1, 0, 0]])
    check_grads(lambda lib, a, b: lib.nn.functional.multilabel_margin_loss(a[rows], b[rows], reduction=reduction),
                x, y)
    xe = ember.tensor(x, requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda a: ember.nn.functional.multilabel_margin_loss(a, ember.tensor(y), reduction=reduction), (xe,)
    )
    assert repr(ember.nn.MultiLabelMarginLoss()) == repr(torch.nn.MultiLabelMarginLoss())
    for bad in (y[:, :3], y + 3):
        assert_same_error(
            lambda bad=bad: ember.nn.functional.multilabel_margin_loss(ember.tensor(x), ember.tensor(bad)),
            lambda bad=bad: torch.nn.functional.multilabel_margin_loss(torch.tensor(x), torch.tensor(bad)),
        )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_soft_cross_entropy_grads(reduction: str) -> None:
    x = R.standard_normal((4, 3, 2))
    t = R.random((4, 3, 2))
    check_grads(lambda lib, a, b, c: lib.nn.functional.cross_entropy(a, b, weight=c, reduction=reduction,
                                                                     label_smoothing=0.2),
                x, t, R.random(3) + 0.5, requires_grad=(True, True, False))
    xe = ember.tensor(x, requires_grad=True)
    assert ember.autograd.gradgradcheck(
        lambda a: ember.nn.functional.cross_entropy(a, ember.tensor(t), reduction=reduction), (xe,)
    )


# ---- DataLoader: in_order / multiprocessing_context ----------------------------------------------
# The dataset lives in a module without torch so that spawned workers start in a fraction of the time.
def _batches(lib, **kw):  # noqa: ANN001, ANN003, ANN202
    loader = lib.utils.data.DataLoader(SlowFirst(), batch_size=2, num_workers=2, **kw)
    return [b.tolist() for b in loader]


@pytest.mark.parametrize("context", [None, "spawn"])
def test_dataloader_in_order(context: str | None) -> None:
    expected = [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert _batches(ember, multiprocessing_context=context) == expected
    out_of_order = _batches(ember, in_order=False, multiprocessing_context=context)
    assert sorted(out_of_order) == expected
    assert out_of_order[0] != [0, 1]  # the slow batch did not hold the others back


def test_dataloader_in_order_matches_torch_set() -> None:
    e = _batches(ember, in_order=False, multiprocessing_context="forkserver")
    t = _batches(torch, in_order=False, multiprocessing_context="forkserver")
    assert sorted(e) == sorted(t) and e[0] != [0, 1] and t[0] != [0, 1]


def test_dataloader_multiprocessing_context_validation() -> None:
    import multiprocessing

    data = list(range(4))
    for kw in [
        {"multiprocessing_context": "spawn"},
        {"num_workers": 1, "multiprocessing_context": "bogus"},
        {"num_workers": 1, "multiprocessing_context": 3},
    ]:
        assert_same_error(
            lambda kw=kw: ember.utils.data.DataLoader(data, **kw),
            lambda kw=kw: torch.utils.data.DataLoader(data, **kw),
        )
    loader = ember.utils.data.DataLoader(data, num_workers=1, multiprocessing_context="spawn")
    assert loader.multiprocessing_context is multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    assert ember.utils.data.DataLoader(data, num_workers=1, multiprocessing_context=ctx).multiprocessing_context is ctx
    assert ember.utils.data.DataLoader(data).multiprocessing_context is None


def test_dataloader_spawn_needs_picklable_dataset() -> None:
    class Local:
        def __len__(self) -> int:
            return 2

        def __getitem__(self, i: int) -> int:
            return i

    def run(lib):  # noqa: ANN001, ANN202
        return list(lib.utils.data.DataLoader(Local(), num_workers=1, multiprocessing_context="spawn"))

    with pytest.warns(UserWarning, match="picklable"), pytest.raises(AttributeError, match="pickle"):
        run(ember)
    with pytest.warns(UserWarning):
        assert_same_error(lambda: run(ember), lambda: run(torch))


@pytest.mark.parametrize(
    "name", ["relu", "relu6", "hardtanh", "leaky_relu", "elu", "selu", "celu", "silu", "mish", "hardsigmoid",
             "hardswish", "threshold"]
)
def test_inplace_activation_grad_fn_names(name: str) -> None:
    x = R.standard_normal((3, 4))
    res = []
    for lib in (ember, torch):
        a = lib.tensor(x, requires_grad=True)
        f = getattr(lib.nn.functional, name)
        args = (0.1, 0.2) if name == "threshold" else ()
        y = f(a * 1, *args, inplace=True)
        y.backward(lib.tensor(x))
        res.append((type(y.grad_fn).__name__, type(f(a * 1, *args).grad_fn).__name__, y.detach().numpy(),
                    a.grad.numpy()))
    assert res[0][:2] == res[1][:2]
    np.testing.assert_allclose(res[0][2], res[1][2], rtol=1e-6)
    np.testing.assert_allclose(res[0][3], res[1][3], rtol=1e-6)


def test_top_level_rrelu_with_generator() -> None:
    """What ``ember.rrelu`` / ``ember.rrelu_`` should be: torch's top-level signature with ``generator``."""
    from ember.nn.functional._activation import torch_rrelu, torch_rrelu_

    x = R.standard_normal(30).astype("float32")
    ge, gt = ember.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    ye = torch_rrelu(ember.tensor(x), 0.1, 0.3, True, generator=ge)
    yt = torch.rrelu(torch.tensor(x), 0.1, 0.3, True, generator=gt)
    np.testing.assert_array_equal(ye.numpy(), yt.numpy())
    a, b = ember.tensor(x), torch.tensor(x)
    assert torch_rrelu_(a, training=True, generator=ge) is a
    torch.rrelu_(b, training=True, generator=gt)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(torch_rrelu(ember.tensor(x)).numpy(), torch.rrelu(torch.tensor(x)).numpy())
