"""Gradients of gradients (``create_graph=True``) compared with torch: whether the first gradient requires grad
(torch's backward kernels that take the forward's input give gradients that do, differentiating to zeros
there), the second-order values w.r.t. every input, and torch's errors for backward kernels it cannot
differentiate. Regressions found by differential fuzzing."""
import numpy as np
import pytest

import ember
from oracle import outcomes, torch

F64 = {"float64"}


def _inputs(L, arrays, grads):
    return [L.tensor(a, dtype=L.float64 if a.dtype.kind == "f" else L.int64).requires_grad_(r)
            for a, r in zip(arrays, grads, strict=True)]


def _double(fn, arrays, grads, seed=0):
    """For ``fn(L, *inputs)``: the first gradients (values, requires_grad) with create_graph, then the second-order
    gradients of a random weighting of them w.r.t. the inputs that require grad (or the exception raised)."""
    def run(L):
        ins = _inputs(L, arrays, grads)
        diff = [t for t in ins if t.requires_grad]
        out = fn(L, *ins)
        rs = np.random.RandomState(seed)
        g = L.autograd.grad((out * L.tensor(rs.randn(*out.shape))).sum(), diff, create_graph=True)
        first = [(x.detach().numpy().copy(), x.requires_grad) for x in g]
        s = sum((x * L.tensor(rs.randn(*x.shape))).sum() for x in g if x.requires_grad)
        try:
            second = [x.detach().numpy(**({"force": True} if L is torch else {})).copy()
                      for x in L.autograd.grad(s, diff)]
        except (RuntimeError, NotImplementedError) as e:
            second = e
        return first, second

    (tf, ts), (ef, es) = outcomes(run)
    for (a, ra), (b, rb) in zip(tf, ef, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-10)
        assert rb == ra
    if isinstance(ts, Exception):
        assert type(es) is type(ts) and str(es) == str(ts), (ts, es)
        return
    for a, b in zip(ts, es, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-10)


def _rand(*shape, seed=1):
    return np.random.RandomState(seed).randn(*shape)


POOLS_PADS = {
    "max_pool1d": lambda L, x: L.nn.functional.max_pool1d(x[0, 0], 3, 2, 1),
    "max_pool2d": lambda L, x: L.nn.functional.max_pool2d(x, 2),
    "max_pool2d_ceil": lambda L, x: L.nn.functional.max_pool2d(x, 3, 2, 1, ceil_mode=True),
    "avg_pool2d": lambda L, x: L.nn.functional.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
    "adaptive_avg_pool2d": lambda L, x: L.nn.functional.adaptive_avg_pool2d(x, (3, 2)),
    "adaptive_max_pool2d": lambda L, x: L.nn.functional.adaptive_max_pool2d(x, 3),
    "fractional_max_pool2d": lambda L, x: L.nn.functional.fractional_max_pool2d(
        x, 2, output_size=3, _random_samples=L.tensor([[[0.3, 0.7]]], dtype=L.float64)),
    "max_unpool2d": lambda L, x: L.nn.functional.max_unpool2d(*L.nn.functional.max_pool2d(x, 2, return_indices=True),
                                                              2),
    "interpolate_area": lambda L, x: L.nn.functional.interpolate(x, size=(3, 4), mode="area"),
    "reflect_pad": lambda L, x: L.nn.functional.pad(x, (1, 2, 2, 1), mode="reflect"),
    "replicate_pad": lambda L, x: L.nn.functional.pad(x, (1, 2, 2, 1), mode="replicate"),
}


@pytest.mark.parametrize("name", POOLS_PADS)
def test_pools_and_pads_give_gradients_that_require_grad(name):
    _double(POOLS_PADS[name], [_rand(1, 1, 5, 6)], [True])


def test_wgan_gradient_penalty_through_max_pool():
    """The gradient penalty of a conv net with max pooling reaches the input and the weights, as in torch."""
    def fn(L, x, w):
        return L.nn.functional.max_pool2d(L.nn.functional.conv2d(x, w, padding=1).relu(), 2)
    _double(fn, [_rand(1, 2, 4, 4), _rand(3, 2, 3, 3, seed=2)], [True, True])
    _double(fn, [_rand(1, 2, 4, 4), _rand(3, 2, 3, 3, seed=2)], [True, False])


def test_gradgradcheck_max_pool_and_reflect_pad():
    x = ember.tensor(_rand(1, 1, 4, 5), dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda t: ember.nn.functional.max_pool2d(t, 2), (x,))
    assert ember.autograd.gradgradcheck(lambda t: ember.nn.functional.pad(t, (1, 2, 0, 1), mode="reflect"), (x,))


NLL = {
    "nll_mean": lambda L, x, t: L.nn.functional.nll_loss(x, t),
    "nll_none_ignore": lambda L, x, t: L.nn.functional.nll_loss(x, t, ignore_index=1, reduction="none"),
    "nll_weight_sum": lambda L, x, t: L.nn.functional.nll_loss(x, t, weight=L.tensor([0.5, 2.0, 1.0], dtype=L.float64),
                                                               reduction="sum"),
    "cross_entropy": lambda L, x, t: L.nn.functional.cross_entropy(x, t, label_smoothing=0.1),
}


@pytest.mark.parametrize("name", NLL)
def test_nll_loss_gradient_requires_grad(name):
    _double(NLL[name], [_rand(4, 3), np.array([0, 2, 1, 2])], [True, False])


def test_nll_loss_2d_gradient_requires_grad():
    _double(lambda L, x, t: L.nn.functional.nll_loss(x, t), [_rand(2, 3, 2, 2), np.array([[[0, 2], [1, 1]]] * 2)],
            [True, False])


NOT_TWICE = {   # torch has no derivative of these backward kernels
    "multi_margin": ([_rand(3, 4), np.array([0, 3, 1])], [True, False],
                     lambda L, x, t: L.nn.functional.multi_margin_loss(x, t)),
    "multilabel_margin": ([_rand(2, 4), np.array([[3, 0, -1, 1], [1, 2, 3, -1]])], [True, False],
                          lambda L, x, t: L.nn.functional.multilabel_margin_loss(x, t)),
    "embedding_bag_per_sample_weights": (
        [np.array([0, 2, 1, 2]), _rand(3, 2), _rand(4)], [False, True, True],
        lambda L, i, w, p: L.nn.functional.embedding_bag(i, w, L.tensor([0, 1]), mode="sum", per_sample_weights=p)),
    "pdist": ([_rand(4, 3)], [True], lambda L, x: L.nn.functional.pdist(x, p=3)),
    "cdist": ([_rand(3, 2), _rand(4, 2, seed=2)], [True, True], lambda L, a, b: L.cdist(a, b)),
    "cdist_p1": ([_rand(3, 2), _rand(4, 2, seed=2)], [True, False], lambda L, a, b: L.cdist(a, b, p=1)),
    "cdist_by_mm": ([_rand(3, 2), _rand(4, 2, seed=2)], [True, True],   # torch's matmul form differentiates
                    lambda L, a, b: L.cdist(a, b, compute_mode="use_mm_for_euclid_dist")),
    "cdist_long": ([_rand(26, 2), _rand(2, 2, seed=2)], [True, True], lambda L, a, b: L.cdist(a, b)),
}


@pytest.mark.parametrize("name", NOT_TWICE)
def test_double_backward_errors_as_torch(name):
    arrays, grads, fn = NOT_TWICE[name]
    _double(fn, arrays, grads)


TIED = {   # torch's backward kernels take the forward's inputs: every gradient requires grad
    "grid_sample_nearest": ([_rand(1, 2, 3, 4), np.random.RandomState(3).rand(1, 2, 3, 2) * 2.2 - 1.1],
                            [True, True], lambda L, x, g: L.nn.functional.grid_sample(x, g, mode="nearest",
                                                                                      align_corners=False)),
    "grid_sample_bilinear": ([_rand(1, 2, 3, 4), np.random.RandomState(3).rand(1, 2, 3, 2) * 2.2 - 1.1],
                             [True, True], lambda L, x, g: L.nn.functional.grid_sample(x, g, padding_mode="border",
                                                                                       align_corners=True)),
    "batch_norm": ([_rand(4, 3, 2), _rand(3, seed=2), _rand(3, seed=3)], [True, True, True],
                   lambda L, x, w, b: L.nn.functional.batch_norm(x, None, None, w, b, training=True)),
    "batch_norm_eval": ([_rand(4, 3), _rand(3, seed=2), _rand(3, seed=3)], [True, False, True],
                        lambda L, x, w, b: L.nn.functional.batch_norm(x, L.zeros(3, dtype=L.float64),
                                                                      L.ones(3, dtype=L.float64), w, b)),
    "instance_norm": ([_rand(2, 3, 4), _rand(3, seed=2), _rand(3, seed=3)], [True, True, True],
                      lambda L, x, w, b: L.nn.functional.instance_norm(x, weight=w, bias=b)),
    "layer_norm": ([_rand(3, 4), _rand(4, seed=2), _rand(4, seed=3)], [True, True, True],
                   lambda L, x, w, b: L.nn.functional.layer_norm(x, (4,), w, b)),
    "layer_norm_no_weight": ([_rand(3, 4)], [True], lambda L, x: L.nn.functional.layer_norm(x, (4,))),
    "rrelu_eval": ([_rand(3, 4)], [True], lambda L, x: L.nn.functional.rrelu(x)),
}


@pytest.mark.parametrize("name", TIED)
def test_gradients_of_kernels_taking_their_input_require_grad(name):
    arrays, grads, fn = TIED[name]
    _double(fn, arrays, grads)


SDPA = {
    "flash": ([(1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4)], {}),   # torch's flash kernel: no double backward
    "flash_causal": ([(1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4)], {"is_causal": True}),
    "math_3d": ([(2, 3, 4), (2, 5, 4), (2, 5, 4)], {}),
    "math_value_dim": ([(1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 3)], {}),
}


@pytest.mark.parametrize("name", SDPA)
def test_scaled_dot_product_attention_double_backward(name):
    shapes, kw = SDPA[name]
    _double(lambda L, q, k, v: L.nn.functional.scaled_dot_product_attention(q, k, v, **kw),
            [_rand(*s, seed=i) for i, s in enumerate(shapes)], [True] * 3)


def _gradgradcheck_both(fn, arrays, grads):
    """ember.autograd.gradgradcheck passes where torch's does, and raises torch's error where torch's does."""
    def run(L):
        ins = _inputs(L, arrays, grads)
        try:
            return L.autograd.gradgradcheck(lambda *xs: fn(L, *xs), tuple(ins))
        except (RuntimeError, NotImplementedError) as e:
            return type(e), str(e)
    t, e = outcomes(run)
    assert e == t


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_gradgradcheck_as_torch(mode):
    """torch cannot differentiate embedding_bag's backward w.r.t. the incoming gradient."""
    _gradgradcheck_both(lambda L, w: L.nn.functional.embedding_bag(L.tensor([0, 2, 1, 2]), w, L.tensor([0, 1]),
                                                                  mode=mode), [_rand(3, 2)], [True])


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d", "reflect_pad", "adaptive_max_pool2d"])
def test_pool_pad_gradgradcheck_as_torch(name):
    _gradgradcheck_both(POOLS_PADS[name], [_rand(1, 1, 4, 5)], [True])


AT_KINKS = {   # inputs at the kinks: torch's second derivatives take the one-sided value of its formulas
    "elu": lambda L, x: L.nn.functional.elu(x, alpha=0.7),
    "selu": lambda L, x: L.nn.functional.selu(x),
    "celu": lambda L, x: L.nn.functional.celu(x, alpha=1.5),
    "elu_inplace": lambda L, x: L.nn.functional.elu(x * 1, inplace=True),
    "selu_inplace": lambda L, x: L.nn.functional.selu(x * 1, inplace=True),
    "softplus_threshold": lambda L, x: L.nn.functional.softplus(x, beta=2, threshold=1),
    "prelu": lambda L, x, w: L.nn.functional.prelu(x, w),
}


@pytest.mark.parametrize("name", AT_KINKS)
def test_activation_second_derivatives_at_kinks(name):
    x = np.array([[-1.0, 0.0, 0.5], [0.25, 0.0, -0.5]])
    if name == "prelu":
        _double(AT_KINKS[name], [x, np.array([0.25, -0.5, 0.1])], [True, True])
        _double(AT_KINKS[name], [x, np.array([0.25, -0.5, 0.1])], [True, False])
    else:
        _double(AT_KINKS[name], [x], [True])


def test_prelu_second_derivative_through_the_incoming_gradient():
    """torch's formulas count x = 0 as positive for the derivatives of prelu's gradients (the gradient's value at
    0 takes the slope)."""
    def run(L):
        x = L.tensor([-1.0, 0.0, 1.0], dtype=L.float64, requires_grad=True)
        w = L.tensor([0.25], dtype=L.float64, requires_grad=True)
        go = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
        gx, gw = L.autograd.grad(L.nn.functional.prelu(x, w), (x, w), go, create_graph=True)
        return [t.detach().numpy() for t in (gx, gw, *L.autograd.grad(gx.sum() + 3 * gw.sum(), (x, w, go)))]
    for a, b in zip(*outcomes(run), strict=True):
        np.testing.assert_array_equal(b, a)


def _grads_equal(fn):
    """First gradients of ``fn(L)`` -> (output, inputs) equal torch's exactly (tie conventions)."""
    def run(L):
        out, ins = fn(L)
        w = L.tensor(np.arange(1.0, out.numel() + 1).reshape(tuple(out.shape)), dtype=L.float64)
        return [g.numpy() for g in L.autograd.grad((out * w).sum(), ins)]
    for a, b in zip(*outcomes(run), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=0)


def test_ties_embedding_bag_max_takes_the_first_maximum():
    def fn(L):
        w = L.tensor([[1., 2.], [1., 0.], [0., 2.], [1., 2.]], dtype=L.float64, requires_grad=True)
        return L.nn.functional.embedding_bag(L.tensor([0, 1, 2, 3, 1, 0]), w, L.tensor([0, 3, 3]), mode="max"), (w,)
    _grads_equal(fn)


@pytest.mark.parametrize("loss", ["multi_margin_loss", "multilabel_margin_loss"])
def test_ties_margin_losses_no_gradient_on_the_margin(loss):
    def fn(L):
        x = L.tensor([[0.0, 1.0, 0.0, 0.5], [1.0, 0.0, 2.0, 1.0]], dtype=L.float64, requires_grad=True)
        t = L.tensor([1, 3]) if loss == "multi_margin_loss" else L.tensor([[1, -1, 0, 0], [3, 2, -1, 0]])
        return getattr(L.nn.functional, loss)(x, t, reduction="none"), (x,)
    _grads_equal(fn)


def test_ties_pdist_inf_gives_each_largest_difference_all():
    def fn(L):
        x = L.tensor([[0., 0.], [1., 1.], [2., 0.5], [2., 0.5]], dtype=L.float64, requires_grad=True)
        return L.nn.functional.pdist(x, float("inf")), (x,)
    _grads_equal(fn)


def test_cdist_by_matmul_second_order_finite_at_zero_distances():
    """cdist(x, x) on more than 25 rows (torch's matmul form) differentiates twice without NaN from its zero
    diagonal (a gradient penalty on a kernel two-sample statistic)."""
    def run(L):
        x = L.tensor(_rand(26, 2), dtype=L.float64, requires_grad=True)
        (g,) = L.autograd.grad(L.cdist(x, x).sum(), x, create_graph=True)
        return [g.detach().numpy(), L.autograd.grad((g * g).sum(), x)[0].numpy()]
    for a, b in zip(*outcomes(run), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-6)


@pytest.mark.parametrize("name", ["grid_sample", "dist"])
def test_second_order_of_composed_ops_whose_inputs_share_history(name):
    """Each input's gradient counted once when the inputs derive from one tensor (was doubled through the
    other input's history)."""
    fns = {"grid_sample": lambda L, x: L.nn.functional.grid_sample(x, x[:, :, :2, :].reshape(1, 2, 2, 2).tanh(),
                                                                    align_corners=False),
           "dist": lambda L, x: L.dist(x, x.flip(3) * 2, 3).reshape(1)}
    _double(fns[name], [_rand(1, 1, 4, 4)], [True])


def test_hessians_through_tied_gradients_as_torch():
    """Forward over reverse (func.jacfwd of func.jacrev) and autograd.functional.hessian through pooling, padding
    and nll_loss; torch's forward-AD error for its CPU flash attention."""
    def run(L):
        F = L.nn.functional
        x = L.tensor(_rand(1, 1, 4, 4), dtype=L.float64)
        fns = [lambda t: F.max_pool2d(t, 2).pow(3).sum(), lambda t: F.pad(t, (1, 1, 1, 1), mode="reflect").pow(3).sum(),
               lambda t: F.nll_loss(t.reshape(4, 4).pow(3), L.tensor([0, 1, 2, 3]))]
        out = [L.func.jacfwd(L.func.jacrev(f))(x).numpy() for f in fns]
        out += [L.autograd.functional.hessian(f, x).numpy() for f in fns]
        try:
            L.func.jvp(lambda t: F.scaled_dot_product_attention(t, t, t), (x,), (x,))
        except NotImplementedError as e:
            out.append(str(e))
        return out
    t, e = outcomes(run)
    assert e[-1] == t[-1]
    for a, b in zip(t[:-1], e[:-1], strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


CHAINED = {   # the second input derives from the first: under create_graph even the first gradient was off
    "grid_sample": ([_rand(1, 2, 4, 5), np.random.RandomState(3).rand(1, 3, 3, 2) * 2.2 - 1.1],
                    lambda L, x, g: L.nn.functional.grid_sample(x, g, mode="bicubic", align_corners=False)),
    "dist": ([_rand(3, 4), _rand(3, 4, seed=2)], lambda L, a, b: L.dist(a, b, 2.5).reshape(1)),
    "householder_product": ([_rand(4, 3), _rand(3, seed=2)], lambda L, a, t: L.linalg.householder_product(a, t)),
    "index_reduce": ([_rand(3, 4), _rand(2, 4, seed=2)],
                     lambda L, x, s: x.index_reduce(0, L.tensor([0, 2]), s, "prod")),
}


@pytest.mark.parametrize("name", CHAINED)
def test_composed_ops_with_chained_inputs(name):
    arrays, fn = CHAINED[name]

    def chained(L, first, *rest):
        return fn(L, first, *(r.detach() + 0.1 * first.tanh().sum() for r in rest))
    _double(chained, arrays, [True, False])


def test_bce_refuses_a_weight_requiring_grad_before_checking_values():
    def run(L):
        x = L.tensor([0.2, 0.5], dtype=L.float64)
        try:
            L.nn.functional.binary_cross_entropy(x, L.tensor([2.0, 0.5]), weight=L.ones(2, dtype=L.float64,
                                                                                         requires_grad=True))
        except RuntimeError as e:
            return str(e)
    t, e = outcomes(run)
    assert e == t


def test_norm_second_order_at_a_zero_norm_is_nan_as_torch():
    _double(lambda L, x: L.linalg.vector_norm(x, dim=1), [np.array([[0.0, 0.0, 0.0], [2.0, 1.0, 2.0]])], [True])


def test_sinc_second_order_at_zero_is_nan_as_torch():
    _double(lambda L, x: L.sinc(x), [np.array([0.0, 0.5, -1.0, 0.0])], [True])
