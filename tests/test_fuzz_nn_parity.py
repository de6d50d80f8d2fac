"""nn modules and nn.functional compared with torch (regressions found by differential fuzzing)."""
import numpy as np
import pytest

import ember
from oracle import assert_close, assert_same_error, outcomes, to_ember, torch


def _grads(fn, *arrays, cot=None):
    """fn(lib, *tensors) in both libraries; the outputs and the inputs' gradients (None where torch has none)."""
    res = []
    for lib in (torch, ember):
        xs = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
        out = fn(lib, *xs)
        out.backward(lib.tensor(np.ones(tuple(out.shape)) if cot is None else cot, dtype=lib.float64))
        res.append((out, [x.grad for x in xs]))
    (t_out, t_g), (e_out, e_g) = res
    assert_close(e_out, t_out)
    for a, b in zip(e_g, t_g, strict=True):
        assert_close(a, b)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu", "hardtanh", "relu6", "silu", "elu", "tanhshrink"])
def test_zero_dim_activation_backward(name):
    """0-d inputs: the fused backward kernels wrote into NumPy scalars (TypeError)."""
    def fn(lib, x):
        return getattr(lib.nn.functional, name)(x)
    _grads(fn, np.array(0.3), cot=np.array(0.5))


def test_conv_transpose1d_too_small_message():
    """torch runs a 1-d transposed convolution as a 2-d one: the sizes carry a leading 1."""
    assert_same_error(lambda: ember.nn.functional.conv_transpose1d(ember.ones(1, 1, 2), ember.ones(1, 1, 1), padding=1),
                      lambda: torch.nn.functional.conv_transpose1d(torch.ones(1, 1, 2), torch.ones(1, 1, 1), padding=1))


def test_hardtanh_bounds_message():
    assert_same_error(lambda: ember.nn.Hardtanh(0.5, 0.5), lambda: torch.nn.Hardtanh(0.5, 0.5))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_all_targets_ignored_gradient_is_zero(loss, weighted):
    """'mean' over no counted target is NaN, but the input's gradient stays 0 (it was 0·∞ = NaN)."""
    def fn(lib, x):
        w = lib.tensor([1.0, 2.0], dtype=lib.float64) if weighted else None
        return getattr(lib.nn.functional, loss)(x, lib.tensor([-1, -1]), weight=w, ignore_index=-1)
    _grads(fn, np.array([[0.3, 0.5], [0.1, -0.2]]))


def test_cross_entropy_probabilities_refuse_ignore_index():
    x, t = np.zeros((2, 3)), np.full((2, 3), 1 / 3)
    for ii in (0, 2):
        assert_same_error(
            lambda ii=ii: ember.nn.functional.cross_entropy(ember.tensor(x), ember.tensor(t), ignore_index=ii),
            lambda ii=ii: torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t), ignore_index=ii))
    e = ember.nn.functional.cross_entropy(ember.tensor(x), ember.tensor(t), ignore_index=-1)
    assert_close(e, torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t), ignore_index=-1))


def test_bce_zero_dim_weight():
    def fn(lib, x):
        return lib.nn.BCELoss(weight=lib.tensor(2.0, dtype=lib.float64))(x, lib.tensor(0.25, dtype=lib.float64))
    _grads(fn, np.array(0.4))


def test_embedding_bag_max_all_bags_empty():
    """Every bag empty in 'max' mode: zeros, and a weight gradient of zeros (the result was off the graph)."""
    res = []
    for lib in (torch, ember):
        w = lib.tensor(np.arange(12.0).reshape(6, 2), requires_grad=True)
        out = lib.nn.functional.embedding_bag(lib.tensor([], dtype=lib.int64), w, lib.tensor([0, 0, 0]), mode="max")
        out.backward(lib.ones(3, 2, dtype=lib.float64))
        res.append((out, w.grad))
    assert_close(res[1][0], res[0][0])
    assert_close(res[1][1], res[0][1])


@pytest.mark.parametrize("shape", [(3, 2, 0), (0,), (0, 0)])
def test_linear_without_features(shape):
    """in_features=0 (a zero-element input): bias-only results (the -1 in the flattening view was ambiguous)."""
    w, b = np.zeros((4, 0)), np.arange(4.0)
    t = torch.nn.functional.linear(torch.zeros(shape, dtype=torch.float64), torch.tensor(w), torch.tensor(b))
    e = ember.nn.functional.linear(ember.zeros(shape, dtype=ember.float64), to_ember(torch.tensor(w)),
                                   ember.tensor(b))
    assert_close(e, t)


@pytest.mark.parametrize("shape,pad", [((1, 1, 2, 2), [0, 0, 5, 5]), ((1, 2, 2), [0, 0, 5, 0]),
                                       ((1, 1, 2, 2, 2), [0, 0, 0, 0, 5, 0]), ((1, 1, 2, 2), [5, 5, 5, 5])])
def test_reflection_pad_too_large_argument_number(shape, pad):
    assert_same_error(lambda: ember.nn.functional.pad(ember.ones(shape), pad, mode="reflect"),
                      lambda: torch.nn.functional.pad(torch.ones(shape), pad, mode="reflect"))


def _same_result(expr):
    """``expr(lib)`` in both libraries: the same error (type and text) or the same shape, dtype and values."""
    t, e = outcomes(expr)
    if isinstance(t, Exception):
        assert type(e) is type(t) and str(e) == str(t), (t, e)
    else:
        assert not isinstance(e, Exception), e
        assert_close(e, t)


_POOL_CASES = [
    # ranks and empty non-batch dims, each pool's own wording
    "avg_pool2d(ones(()), 2)", "avg_pool2d(ones(3, 4), 2)", "avg_pool2d(ones(1, 2, 3, 4, 4), 2)",
    "avg_pool1d(ones(3), 2)", "avg_pool1d(ones(1, 2, 3, 4), 2)", "lp_pool2d(ones(2, 3), 2, 2)",
    "avg_pool3d(ones(1, 1, 1, 0, 4), 2)", "max_pool3d(ones(1, 4, 1, 0), 2)", "max_pool1d(ones(1, 1, 0), 2)",
    "max_pool1d(ones(3), 2, return_indices=True)",
    "adaptive_avg_pool1d(ones(1, 4, 0), 2)", "adaptive_avg_pool2d(ones(4, 0, 3), 2)",
    "adaptive_max_pool1d(ones(4, 0), 2)", "adaptive_max_pool3d(ones(1, 1, 5, 3, 0), 2)",
    "adaptive_avg_pool2d(ones(1, 0, 5, 5), 2)", "adaptive_avg_pool1d(ones(1, 0, 5), 2)",
    "adaptive_max_pool2d(ones(1, 0, 5, 5), 2)", "adaptive_avg_pool3d(ones(1, 0, 5, 5, 5), 2)",
    "interpolate(ones(1, 0, 5), scale_factor=2.0)", "interpolate(ones(0, 1, 5), scale_factor=2.0)",
    "interpolate(ones(1, 1, 0, 3), size=3, mode='bicubic')",
    "interpolate(ones(1, 0, 5, 5), scale_factor=2.0, mode='area')",
    "adaptive_max_pool1d(ones(1, 1, 4), (None,))",
    "fractional_max_pool2d(ones(1, 0, 5, 5), 2, output_size=1)",
    "fractional_max_pool3d(ones(1, 1, 7, 7, 3), 2, output_size=2)",
    # dtypes each CPU kernel refuses (checked after the shapes)
    "max_pool1d(ones(2, 3, 2, dtype=int64), 2)", "max_pool2d(ones(2, 3, 2, dtype=bool), 2)",
    "max_pool3d(ones(2, 3, 2, 2, dtype=complex64), 2)", "avg_pool2d(ones(2, 3, 2, dtype=uint8), 2)",
    "avg_pool1d(ones(2, 3, 2, dtype=bool), 2)", "avg_pool3d(ones(2, 3, 2, 2, dtype=bfloat16), 2)",
    "avg_pool2d(ones(2, 3, 2, dtype=complex64), 2)", "lp_pool2d(ones(2, 3, 2, dtype=complex64), 2, 2)",
    "max_pool2d(ones(1, 3, 1, dtype=bool), 2)",
    # max_unpool's checks in torch's order
    "max_unpool2d(ones(()), ones((), dtype=int64), 2)", "max_unpool2d(ones(1, 2), zeros(1, 2, dtype=int64), 2)",
    "max_unpool1d(ones(2), zeros(2, dtype=int64), 2)", "max_unpool3d(ones(2, 2, 2), zeros(2, 2, 2, dtype=int64), 2)",
    "max_unpool2d(ones(2, 2, 2, dtype=int64), zeros(2, 2, 2, dtype=int64), 2)",
    "max_unpool2d(ones(1, 0, 2, 2), zeros(1, 0, 2, 2, dtype=int64), 2)",
    "max_unpool1d(ones(2, 0, 2), zeros(2, 0, 2, dtype=int64), 2)",
    # empty batches and outputs
    "max_unpool2d(ones(0, 2, 2, 2), zeros(0, 2, 2, 2, dtype=int64), 2)",
    "adaptive_max_pool2d(ones(0, 4, 3, 3), 2, return_indices=True)", "adaptive_max_pool2d(ones(1, 4, 3, 3), (0, 2))",
    "fractional_max_pool2d(ones(0, 1, 5, 5), 2, output_size=1)",
]


@pytest.mark.parametrize("call", _POOL_CASES)
def test_pooling_checks_and_empty_inputs(call):
    def expr(lib):
        ns = {k: getattr(lib, k) for k in ("ones", "zeros", "int64", "bool", "uint8", "bfloat16", "complex64")}
        return eval("F." + call, {"F": lib.nn.functional, **ns})   # noqa: S307 - a fixed expression
    _same_result(expr)


@pytest.mark.parametrize("fn", ["max_pool2d", "adaptive_max_pool2d", "fractional_max_pool2d"])
def test_max_pools_backward_of_empty_batch(fn):
    kw = {"output_size": 1} if fn.startswith("fractional") else {}
    for lib in (torch, ember):
        x = lib.ones(0, 1, 4, 4, requires_grad=True)
        getattr(lib.nn.functional, fn)(x, 2, **kw).sum().backward()
        assert tuple(x.grad.shape) == (0, 1, 4, 4)


def test_tensor_size_of_zero_dim():
    _same_result(lambda lib: lib.ones(()).size(-3))


_LAYER_CASES = [
    # linear / bilinear: torch's checks in its order
    "linear(ones(()), ones(4, 3))", "linear(ones(3), ones(()), ones(()))", "linear(ones(3), ones(3), ones(()))",
    "bilinear(ones(()), ones(()), ones(4, 2, 3))", "bilinear(ones(5, 2), ones(3), ones(4, 2, 3))",
    "bilinear(ones(5, 2), ones(4, 3), ones(4, 2, 3))", "bilinear(ones(5, 2), ones(5, 3), ones(4, 2, 3), ones(5))",
    "bilinear(ones(5, 2, dtype=int64), ones(3, 3), ones(4, 2, 3))", "bilinear(ones(5, 2), ones(5, 3), ones(2, 3))",
    # cosine_similarity: integers are cast, complex refused, torch's broadcast message
    "cosine_similarity(tensor([[1, 2, 3]]), tensor([[1.0, 2.0, 4.0]], dtype=float64))",
    "cosine_similarity(ones(4, 3, dtype=bool), ones(4, 3, dtype=float16))",
    "cosine_similarity(ones(4, dtype=int64), ones(4, dtype=float64))",
    "cosine_similarity(ones(4, 3, dtype=complex64), ones(4, 3, dtype=complex64))",
    "cosine_similarity(ones(5, 5, 4, 1), ones(3, 5))",
    # rms_norm's checks
    "rms_norm(ones(3, 4), (3,))", "rms_norm(ones(3, 4), (3, 4, 5))", "rms_norm(ones(3, 4), [])",
    "rms_norm(ones(()), (3,))", "rms_norm(ones(3, 4), (4,), ones(3))",
    # kernels' dtypes: unfold/fold, replication/reflection pads, local_response_norm, convolutions
    "unfold(ones(2, 5, 3, dtype=int64), 2)", "unfold(ones(2, 5, 3, dtype=bool), 2)",
    "fold(ones(2, 4, 4, dtype=int64), (3, 3), 2)", "unfold(ones(()), 2)", "unfold(ones(1, 5), 2)",
    "pad(ones(1, 5, 1, dtype=bool), (1, 1), mode='replicate')",
    "pad(ones(1, 5, 2, 2, 2, dtype=bool), (1, 1, 1, 1, 1, 1), mode='reflect')",
    "pad(ones(1, 5, 2, 2, 2, dtype=bool), (1, 1, 1, 1, 1, 1), mode='circular')",
    "local_response_norm(ones(2, 2, 3, dtype=complex64), 2)", "local_response_norm(ones(2, 2, 3, dtype=int32), 2)",
    "conv2d(ones(1, 2, 4, 4, dtype=bool), ones(2, 2, 2, 2, dtype=bool))",
    "conv3d(ones(1, 2, 4, 4, 4, dtype=bool), ones(2, 2, 2, 2, 2, dtype=bool))",
    "conv_transpose1d(ones(1, 2, 4, dtype=int32), ones(2, 2, 2, dtype=int32))",
    "conv_transpose2d(ones(1, 2, 4, 4, dtype=int64), ones(2, 2, 2, 2, dtype=int64))",
    # a conv's bias dtype is checked before the input's rank; a transposed one checks dtypes after the shapes
    "conv2d(ones(3), ones(3, 2, 2, 2, dtype=float64), ones(3, dtype=float64))",
    "conv_transpose2d(ones(4, 2, 1), ones(2, 3, 2, 2, dtype=float64), ones(3, dtype=float64))",
    "conv_transpose2d(ones(1, 2, 4, 4, dtype=bool), ones(2, 3, 2, 2, dtype=float64))",
    "conv_transpose2d(ones(1, 2, 4, 4, dtype=complex64), ones(2, 3, 2, 2, dtype=float64))",
    "conv2d(ones(1, 2, 4, 4, dtype=complex64), ones(3, 2, 2, 2, dtype=float64))",
    "conv_transpose2d(ones(2, 5, 4, 1, dtype=complex64), ones(2, 3, 2, 2, dtype=float64), ones(3, dtype=float64))",
    "conv_transpose2d(ones(2, 2, 4, 1, dtype=complex64), ones(2, 3, 2, 2, dtype=complex64), ones(3))",
    "fractional_max_pool2d(ones(1, 4, 5, 5, dtype=complex64), 2, output_size=1)",
    # embedding index dtypes named as torch's argument checks name them
    "embedding(ones(3, dtype=bool), ones(5, 3))", "embedding(ones(3, dtype=complex64), ones(5, 3))",
    "embedding_bag(ones(1, 3, dtype=int64), ones(5, 3), per_sample_weights=ones(1, 3, dtype=bool), mode='sum')",
    "embedding_bag(ones(1, 3, dtype=int64), ones(5, 3, dtype=bool))",
    # empty inputs: pads' non-batch dims, batch_norm (returned before its checks), group_norm's empty batch
    "pad(ones(2, 0, 5), (1, 1), mode='replicate')", "pad(ones(0, 2, 5), (1, 1), mode='replicate')",
    "pad(ones(2, 5, 1, 0, 5), (1, 1, 1, 1, 1, 1), mode='reflect')",
    "batch_norm(ones(1, 2, 0, 4), zeros(3), ones(3), ones(3), ones(3))",
    "batch_norm(ones(1, 2, 0, 4), zeros(3), ones(3), training=True)", "group_norm(ones(0, 4, 4), 2)",
    # interpolate of too few dims; fractional pooling draws its samples first
    "interpolate(ones(5), scale_factor=2.0)", "fractional_max_pool2d(ones(()), 2, output_size=1)",
    "fractional_max_pool2d(ones(5, 3, 2, 3, 3, dtype=int64), 2, output_size=1)",
]


@pytest.mark.parametrize("call", _LAYER_CASES)
def test_layer_checks(call):
    def expr(lib):
        ns = {k: getattr(lib, k) for k in ("ones", "zeros", "tensor", "int32", "int64", "bool", "float16", "float64",
                                           "complex64")}
        return eval("F." + call, {"F": lib.nn.functional, **ns})   # noqa: S307 - a fixed expression
    _same_result(expr)


@pytest.mark.parametrize("call", [
    "prelu(ones(()), ones(3))", "prelu(ones(()), ones(1))", "prelu(ones(4), ones(()))",
    "glu(ones(2, 2, dtype=int64))", "glu(ones(2, 2, dtype=bool))", "glu(ones(2, 2, dtype=complex64))",
])
def test_activation_checks(call):
    def expr(lib):
        ns = {k: getattr(lib, k) for k in ("ones", "int64", "bool", "complex64")}
        return eval("F." + call, {"F": lib.nn.functional, **ns})   # noqa: S307 - a fixed expression
    _same_result(expr)


def test_prelu_zero_dim_gradients():
    res = []
    for lib in (torch, ember):
        x = lib.tensor(-2.0, dtype=lib.float64, requires_grad=True)
        w = lib.tensor([0.25], dtype=lib.float64, requires_grad=True)
        y = lib.nn.functional.prelu(x, w)
        y.backward()
        res.append((y, x.grad, w.grad))
    for e, t in zip(res[1], res[0], strict=True):
        assert_close(e, t)


@pytest.mark.parametrize("slope", [-0.5, 0.0, 0.5])
def test_inplace_leaky_relu_negative_slope_backward(slope):
    """The in-place form saved its result: torch refuses its backward for a negative slope."""
    def run(lib):
        x = lib.tensor([1.0, -1.0], requires_grad=True)
        lib.nn.functional.leaky_relu(x * 1, slope, inplace=True).sum().backward()
        return x.grad
    _same_result(run)


@pytest.mark.parametrize("build", [
    "Unflatten(1, [2.0, 2])", "Unflatten(1, (2, 'a'))", "Unflatten(1, 4)", "Unflatten('a', (('b', 2),))",
    "EmbeddingBag(5, 3, padding_idx=-6)", "EmbeddingBag(5, 3, padding_idx=5)", "Embedding(5, 3, padding_idx=5)",
])
def test_module_config_errors(build):
    _same_result(lambda lib: eval("lib.nn." + build, {"lib": lib}))   # noqa: S307 - a fixed expression


_LOSS_CASES = [
    "multi_margin_loss(ones(3, 2), ones(3, 2, dtype=int64))", "multi_margin_loss(ones(4, 1, 0), ones(4, dtype=int64))",
    "multi_margin_loss(ones(3, 2), ones(3))", "multi_margin_loss(ones(3, 2), tensor([0, 1, 2]))",
    "multi_margin_loss(ones(3, dtype=bool), tensor(0))", "multi_margin_loss(ones(1, 2), ones(0, 2))",
    "multi_margin_loss(ones(3, 2, dtype=float16), ones(3, dtype=int64))",
    "multi_margin_loss(tensor([[0.1, 0.5, 0.2], [1.0, -1.0, 0.3]]), tensor([1, 2]), p=2, weight=tensor([1.0, 2, 3]))",
    "multi_margin_loss(tensor([0.1, 0.5, 0.2]), tensor(1), reduction='none')",
    "multilabel_margin_loss(ones(1, 3, 4), ones(4, 1))", "multilabel_margin_loss(ones(3), ones(2, dtype=int64))",
    "multilabel_margin_loss(ones((), dtype=int64), ones((), dtype=int64))",
    "multilabel_margin_loss(ones(2, 3, dtype=int64), tensor([[0, 1, 1], [0, 1, 2]]))",
    "multilabel_margin_loss(ones(3), ones(3, dtype=bool))", "multilabel_margin_loss(ones(3), ones(3) * 5)",
    "multilabel_margin_loss(tensor([0.1, 0.5, 0.2]), tensor([2, 0, -1]))",
    "cosine_embedding_loss(ones(0, 3), ones(3), ones(3))", "cosine_embedding_loss(ones(2), ones(1), ones(2))",
    "cosine_embedding_loss(ones(4, 4), ones(4, 4), ones(3, 1, 3))",
    "kl_div(ones(2, 2), ones(2, 2, dtype=complex64), reduction='sum')",
    "kl_div(ones(2, 2, dtype=int64), ones(2, 2), reduction='sum')",
    # pointwise losses: broadcast first (both operands promote), then each kernel's dtypes
    "l1_loss(ones(2), tensor(0.5, dtype=float64))", "l1_loss(ones(3, dtype=bool), ones(2, dtype=complex64))",
    "mse_loss(ones(3, dtype=complex64), ones(2, dtype=complex64))",
    "smooth_l1_loss(ones(2, dtype=complex64), ones(2, dtype=complex64))",
    "huber_loss(ones(2), ones(2, dtype=complex64))", "huber_loss(ones(2, dtype=int64), ones(2, dtype=float64))",
    "huber_loss(ones(2, dtype=complex64), ones(2, dtype=complex64))",
    # soft_margin_loss: a bool or integer target in the forward, a bool input refused
    "soft_margin_loss(tensor([0.3, -0.2], dtype=float64), tensor([True, False]))",
    "soft_margin_loss(tensor([0.3, -0.2], dtype=float64), tensor([1, -1]))",
    "soft_margin_loss(tensor([True, False]), tensor([0.3, -0.2]))",
    # logsigmoid's kernel takes floats only (multilabel_soft_margin_loss goes through it); 0-d inputs
    "logsigmoid(ones(3, dtype=complex64))", "logsigmoid(ones(3, dtype=bool))",
    "multilabel_soft_margin_loss(ones((), dtype=int64), ones(4, 2))", "multilabel_soft_margin_loss(ones(()), ones(()))",
    "cross_entropy(ones(()), ones(()))",
    # ctc_loss: bool lengths are not integral; the targets' rank is checked first
    "ctc_loss(ones(3, 2, 4).log_softmax(2), ones(2, 1, dtype=int64), ones(2, dtype=bool), ones(2, dtype=int64))",
    "ctc_loss(ones(3, 2, 4).log_softmax(2), ones(2, 1, 1, dtype=int64), ones(3, dtype=int64), ones(2, dtype=int64))",
]


@pytest.mark.parametrize("call", _LOSS_CASES)
def test_loss_checks(call):
    def expr(lib):
        ns = {k: getattr(lib, k) for k in ("ones", "tensor", "int64", "bool", "float16", "float64", "complex64")}
        return eval("F." + call, {"F": lib.nn.functional, **ns})   # noqa: S307 - a fixed expression
    _same_result(expr)
