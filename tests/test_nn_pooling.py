"""Pooling (max, average, adaptive, power-average, unpooling) and padding modules against torch: values,
indices, gradients, grad_fn names, double backward, errors and reprs."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as EF
from oracle import assert_close, assert_same_error, to_ember, to_torch, torch

tnn = torch.nn
TF = torch.nn.functional
RNG = np.random.default_rng(0)


def compare(fn, x: np.ndarray, *, dtype=np.float64, grad: bool = True, rtol=None, atol=None, noncontig=False):
    """Run ``fn(F, x)`` under ember and torch; compare outputs (and indices), grad_fn names and the input
    gradient for a random cotangent."""
    x = np.asarray(x, dtype=dtype)
    t = torch.tensor(x)
    e = ember.tensor(x)
    if noncontig:
        t, e = t.transpose(-1, -2), e.transpose(-1, -2)
    t.requires_grad_(grad)
    e.requires_grad_(grad)
    ot, oe = fn(TF, t), fn(EF, e)
    if isinstance(ot, tuple):
        assert_close(oe[1], ot[1])
        ot, oe = ot[0], oe[0]
    assert_close(oe, ot, rtol, atol)
    assert oe.stride() == ot.stride()
    if not grad:
        return oe
    assert type(oe.grad_fn).__name__ == ot.grad_fn.name()
    cot = RNG.standard_normal(tuple(ot.shape)).astype(dtype)
    ot.backward(torch.tensor(cot))
    oe.backward(ember.tensor(cot))
    assert_close(e.grad, t.grad, rtol, atol)
    if not noncontig:   # (torch gives a strided leaf a grad of its own layout; ember's engine a contiguous one)
        assert e.grad.stride() == t.grad.stride()
    return oe


# ---- max pooling ---------------------------------------------------------------------------------------
MAX_CASES = [  # kernel, stride, padding, dilation, ceil_mode
    (2, None, 0, 1, False),
    (3, 2, 1, 1, False),
    (3, 2, 1, 1, True),
    (2, 1, 1, 2, True),
    (3, 3, 1, 1, True),
    ((2, 3), (1, 2), (1, 0), (2, 1), True),
    ((3, 2), (2, 3), (1, 1), (1, 2), False),
]


@pytest.mark.parametrize("k,s,p,d,ceil", MAX_CASES)
@pytest.mark.parametrize("shape", [(2, 3, 7, 8), (3, 6, 5)])
def test_max_pool2d(k, s, p, d, ceil, shape):
    compare(lambda F, x: F.max_pool2d(x, k, s, p, d, ceil, return_indices=True), RNG.standard_normal(shape))


@pytest.mark.parametrize("k,s,p,d,ceil", [(2, None, 0, 1, False), (3, 2, 1, 2, True), (4, 3, 2, 1, True)])
@pytest.mark.parametrize("shape", [(2, 3, 11), (3, 9)])
def test_max_pool1d(k, s, p, d, ceil, shape):
    compare(lambda F, x: F.max_pool1d(x, k, s, p, d, ceil, return_indices=True), RNG.standard_normal(shape))
    compare(lambda F, x: F.max_pool1d(x, k, s, p, d, ceil), RNG.standard_normal(shape))


@pytest.mark.parametrize("k,s,p,d,ceil",
                         [(2, None, 0, 1, False), (3, 2, 1, 1, True), ((2, 3, 1), 1, (1, 1, 0), 2, False)])
@pytest.mark.parametrize("shape", [(2, 2, 5, 6, 7), (2, 6, 5, 4)])
def test_max_pool3d(k, s, p, d, ceil, shape):
    compare(lambda F, x: F.max_pool3d(x, k, s, p, d, ceil, return_indices=True), RNG.standard_normal(shape))


def test_max_pool_float32_noncontiguous_and_with_indices_names():
    compare(lambda F, x: F.max_pool2d(x, 3, 2, 1), RNG.standard_normal((2, 3, 9, 8)), dtype=np.float32,
            noncontig=True)
    compare(lambda F, x: F.max_pool2d_with_indices(x, 2), RNG.standard_normal((2, 3, 6, 6)))
    compare(lambda F, x: F.max_pool1d_with_indices(x, 2), RNG.standard_normal((2, 3, 6)))
    compare(lambda F, x: F.max_pool3d_with_indices(x, 2), RNG.standard_normal((1, 2, 4, 4, 4)))


def test_max_pool_ties_take_first_and_nan_propagates():
    x = np.zeros((1, 2, 6, 6))     # all ties (as after a ReLU): the first element of each window wins
    x[0, 1, 1, 1] = np.nan
    x[0, 1, 1, 2] = np.nan
    x[0, 1, 4, 4] = -np.inf
    for args in [(2,), (3, 2, 1), (3, 1, 1, 2, True)]:
        compare(lambda F, t, a=args: F.max_pool2d(t, *a, return_indices=True), x)
    y = np.full((1, 1, 4, 4), -np.inf)   # windows of only -inf and padding: index of the first valid element
    compare(lambda F, t: F.max_pool2d(t, 3, 2, 1, return_indices=True), y)
    compare(lambda F, t: F.adaptive_max_pool2d(t, 3, return_indices=True), x)


@pytest.mark.parametrize("shape,k", [((2, 3, 8, 6), 2), ((2, 3, 9, 6), (3, 2)), ((3, 6, 4), (2, 4)),
                                     ((2, 2, 4, 6, 6), (2, 3, 1))])
def test_max_pool_exact_tiling_without_grad(shape, k):
    """Inference over windows that tile the input (the reshape fast path), NaN propagating."""
    x = RNG.standard_normal(shape)
    x[x > 1.5] = np.nan
    nd = len(shape) - 2 if len(shape) == 5 else 2
    compare(lambda F, t: getattr(F, f"max_pool{nd}d")(t, k), x, grad=False)
    compare(lambda F, t: getattr(F, f"max_pool{nd}d")(t, k), x, dtype=np.float32, grad=False)


def test_max_pool_integer_and_no_grad():
    x = RNG.integers(-5, 5, (2, 3, 6, 6))
    compare(lambda F, t: F.max_pool2d(t, 2, return_indices=True), x, dtype=np.int64, grad=False)
    with ember.no_grad():
        out = EF.max_pool2d(ember.tensor(RNG.standard_normal((1, 1, 4, 4)), requires_grad=True), 2)
    assert out.grad_fn is None


def test_max_pool_double_backward():
    x = RNG.standard_normal((2, 2, 5, 5))
    e = ember.tensor(x, requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: EF.max_pool2d(t, 3, 2, 1), (e,))
    assert ember.autograd.gradgradcheck(lambda t: EF.max_pool2d(t, 3, 2, 1), (e,))
    t = torch.tensor(x, requires_grad=True)
    cot = RNG.standard_normal((2, 2, 3, 3))
    ge, = ember.autograd.grad(EF.max_pool2d(e, 3, 2, 1), e, ember.tensor(cot, requires_grad=True), create_graph=True)
    gt, = torch.autograd.grad(TF.max_pool2d(t, 3, 2, 1), t, torch.tensor(cot, requires_grad=True), create_graph=True)
    assert type(ge.grad_fn).__name__ == gt.grad_fn.name()
    w = RNG.standard_normal(x.shape)
    (ge * ember.tensor(w)).sum().backward()
    (gt * torch.tensor(w)).sum().backward()


# ---- average pooling -----------------------------------------------------------------------------------
AVG_CASES = [(2, None, 0, False), (3, 2, 1, False), (3, 2, 1, True), ((2, 3), (1, 2), (1, 0), True), (3, 3, 1, True)]


@pytest.mark.parametrize("k,s,p,ceil", AVG_CASES)
@pytest.mark.parametrize("include", [True, False])
def test_avg_pool2d(k, s, p, ceil, include):
    compare(lambda F, x: F.avg_pool2d(x, k, s, p, ceil, include), RNG.standard_normal((2, 3, 7, 8)))
    compare(lambda F, x: F.avg_pool2d(x, k, s, p, ceil, include, 5), RNG.standard_normal((3, 7, 8)))


@pytest.mark.parametrize("k,s,p,ceil", [(2, None, 0, False), (3, 2, 1, True), (4, 3, 2, True)])
def test_avg_pool1d_3d(k, s, p, ceil):
    for include in (True, False):
        compare(lambda F, x, i=include: F.avg_pool1d(x, k, s, p, ceil, i), RNG.standard_normal((2, 3, 11)))
        compare(lambda F, x, i=include: F.avg_pool3d(x, k, s, p, ceil, i), RNG.standard_normal((2, 2, 5, 6, 7)))
    compare(lambda F, x: F.avg_pool3d(x, 2, 1, 1, False, True, 3), RNG.standard_normal((2, 4, 4, 5)))


@pytest.mark.parametrize("nd,k", [(1, 3), (2, 2), (2, (3, 2)), (3, (1, 2, 3))])
def test_avg_pool_exact_tiling(nd, k):
    """Windows that tile the input exactly (the reshape fast path), with and without a divisor override."""
    x = RNG.standard_normal((2, 3) + (6,) * nd)
    compare(lambda F, t: getattr(F, f"avg_pool{nd}d")(t, k), x)
    compare(lambda F, t: getattr(F, f"avg_pool{nd}d")(t, k), x[0], dtype=np.float32)
    if nd > 1:
        compare(lambda F, t: getattr(F, f"avg_pool{nd}d")(t, k, divisor_override=4), x)
        compare(lambda F, t: getattr(F, f"avg_pool{nd}d")(t, k), RNG.integers(-9, 9, x.shape), dtype=np.int64,
                grad=False)
    e = ember.tensor(x[:1, :1], requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda t: getattr(EF, f"avg_pool{nd}d")(t, k), (e,))


def test_avg_pool_float32_int_and_gradchecks():
    compare(lambda F, x: F.avg_pool2d(x, 3, 2, 1), RNG.standard_normal((2, 3, 9, 9)), dtype=np.float32,
            noncontig=True)
    compare(lambda F, x: F.avg_pool2d(x, 2, 1), RNG.integers(-9, 9, (1, 2, 5, 5)), dtype=np.int64, grad=False)
    e = ember.tensor(RNG.standard_normal((1, 2, 5, 5)), requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: EF.avg_pool2d(t, 3, 2, 1, True, False), (e,))
    assert ember.autograd.gradgradcheck(lambda t: EF.avg_pool2d(t, 3, 2, 1, True, False), (e,))


# ---- adaptive pooling ----------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(3, 4), (1, 1), 5, (7, 2), (None, 3), (2, 8)])
def test_adaptive_pool2d(size):
    compare(lambda F, x: F.adaptive_avg_pool2d(x, size), RNG.standard_normal((2, 3, 7, 6)))
    compare(lambda F, x: F.adaptive_max_pool2d(x, size, return_indices=True), RNG.standard_normal((3, 7, 6)))


def test_adaptive_pool1d_3d():
    for size in (1, 4, 9):
        compare(lambda F, x, s=size: F.adaptive_avg_pool1d(x, s), RNG.standard_normal((2, 3, 9)))
        compare(lambda F, x, s=size: F.adaptive_max_pool1d(x, s, True), RNG.standard_normal((3, 9)))
    compare(lambda F, x: F.adaptive_avg_pool3d(x, (2, 3, 4)), RNG.standard_normal((2, 2, 5, 6, 7)))
    compare(lambda F, x: F.adaptive_avg_pool3d(x, 1), RNG.standard_normal((2, 5, 6, 7)))
    compare(lambda F, x: F.adaptive_max_pool3d(x, (2, 3, 4), True), RNG.standard_normal((2, 2, 5, 6, 7)))
    compare(lambda F, x: F.adaptive_max_pool2d_with_indices(x, 2), RNG.standard_normal((2, 2, 5, 6)))
    compare(lambda F, x: F.adaptive_avg_pool2d(x, (3, 2)), RNG.standard_normal((2, 3, 7, 6)), dtype=np.float32)
    e = ember.tensor(RNG.standard_normal((1, 2, 5, 7)), requires_grad=True)
    for f in (lambda t: EF.adaptive_avg_pool2d(t, (3, 4)), lambda t: EF.adaptive_max_pool2d(t, (3, 4))):
        assert ember.autograd.gradcheck(f, (e,))
        assert ember.autograd.gradgradcheck(f, (e,))


# ---- fractional max pooling ----------------------------------------------------------------------------
@pytest.mark.parametrize("nd,shape,k,size", [(2, (2, 3, 9, 11), 2, (4, 5)), (2, (3, 9, 11), (3, 2), (5, 7)),
                                             (3, (2, 2, 7, 8, 9), 2, (3, 4, 5)), (3, (2, 5, 6, 7), (2, 3, 1), 3)])
def test_fractional_max_pool(nd, shape, k, size):
    samples = RNG.random(((shape[0] if len(shape) == nd + 2 else 1), shape[-nd - 1], nd))
    fn = f"fractional_max_pool{nd}d"
    for dtype in (np.float64, np.float32):
        s_t, s_e = torch.tensor(samples.astype(dtype)), ember.tensor(samples.astype(dtype))
        compare(lambda F, t, a=s_t, b=s_e: getattr(F, fn)(t, k, size, return_indices=True,
                                                          _random_samples=a if F is TF else b),
                RNG.standard_normal(shape), dtype=dtype)
    e = ember.tensor(RNG.standard_normal(shape), requires_grad=True)
    f = (lambda t: getattr(EF, fn)(t, k, size, _random_samples=ember.tensor(samples)))
    assert ember.autograd.gradcheck(f, (e,))
    assert ember.autograd.gradgradcheck(f, (e,))


def test_fractional_max_pool_random_stream_modules_and_errors():
    x = RNG.standard_normal((2, 3, 10, 9))
    torch.manual_seed(3)
    ember.manual_seed(3)
    for ratio in ((0.5, 0.5), (0.6, 0.4)):
        assert_close(EF.fractional_max_pool2d(ember.tensor(x), 2, output_ratio=ratio),
                     TF.fractional_max_pool2d(torch.tensor(x), 2, output_ratio=ratio))
        mt, me = tnn.FractionalMaxPool2d(3, output_ratio=ratio), nn.FractionalMaxPool2d(3, output_ratio=ratio)
        assert repr(me) == repr(mt)
        assert_close(me(ember.tensor(x)), mt(torch.tensor(x)))
    x3 = torch.randn(1, 1, 5, 5, 5)
    for fn in [lambda F, t: F.fractional_max_pool3d(t, 4, output_size=4), lambda F, t: F.fractional_max_pool2d(t, 2),
               lambda F, t: F.fractional_max_pool3d(t[0, 0], 2, output_size=3),
               lambda F, t: F.fractional_max_pool2d(t[0], 2, output_ratio=(0.5, 1.5))]:
        assert_same_error(lambda f=fn: f(EF, to_ember(x3)), lambda f=fn: f(TF, x3))
    assert_same_error(lambda: nn.FractionalMaxPool2d(2), lambda: tnn.FractionalMaxPool2d(2))
    assert_same_error(lambda: nn.FractionalMaxPool2d(2, 3, 0.5), lambda: tnn.FractionalMaxPool2d(2, 3, 0.5))
    assert_same_error(lambda: nn.FractionalMaxPool3d(2, output_ratio=1.5),
                      lambda: tnn.FractionalMaxPool3d(2, output_ratio=1.5))


# ---- lp pooling and unpooling --------------------------------------------------------------------------
def test_lp_pool():
    pos = np.abs(RNG.standard_normal((2, 3, 7, 8))) + 0.1
    compare(lambda F, x: F.lp_pool2d(x, 2, 2), pos)
    compare(lambda F, x: F.lp_pool2d(x, 1.5, (3, 2), 2, True), pos)
    compare(lambda F, x: F.lp_pool1d(x, 3, 2, 1), pos[0])
    compare(lambda F, x: F.lp_pool3d(x, 2, 2), np.abs(RNG.standard_normal((1, 2, 4, 4, 5))) + 0.1)
    e = ember.tensor(pos[:1, :1], requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: EF.lp_pool2d(t, 2, 2), (e,))


@pytest.mark.parametrize("nd,k,s,p", [(1, 4, 2, 1), (2, 2, None, 0), (2, 4, 2, 1), (3, 2, 1, 0)])
def test_max_unpool(nd, k, s, p):
    shape = (2, 3) + (6,) * nd
    x = torch.tensor(RNG.standard_normal(shape))
    pooled, idx = getattr(TF, f"max_pool{nd}d")(x, k, s, p, return_indices=True)
    compare(lambda F, t: getattr(F, f"max_unpool{nd}d")(t, idx if F is TF else to_ember(idx), k, s, p),
            pooled.numpy())
    size = shape[-nd:]
    compare(lambda F, t: getattr(F, f"max_unpool{nd}d")(t, idx if F is TF else to_ember(idx), k, s, p, size),
            pooled.numpy())
    if s is None:   # distinct indices (with duplicates torch's unpool is not the adjoint of its gather)
        e = ember.tensor(pooled.numpy(), requires_grad=True)
        assert ember.autograd.gradgradcheck(lambda t: getattr(EF, f"max_unpool{nd}d")(t, to_ember(idx), k, s, p),
                                            (e,))


def test_max_unpool_errors():
    x = torch.randn(1, 1, 4, 4)
    o, i = TF.max_pool2d(x, 2, return_indices=True)
    eo, ei = to_ember(o), to_ember(i)
    assert_same_error(lambda: EF.max_unpool2d(eo, ei.int(), 2), lambda: TF.max_unpool2d(o, i.int(), 2))
    assert_same_error(lambda: EF.max_unpool2d(eo, ei[..., :1], 2), lambda: TF.max_unpool2d(o, i[..., :1], 2))
    assert_same_error(lambda: EF.max_unpool2d(eo, ei, 2, output_size=(9, 9)),
                      lambda: TF.max_unpool2d(o, i, 2, output_size=(9, 9)))
    assert_same_error(lambda: EF.max_unpool2d(eo, ei, 2, output_size=(9,)),
                      lambda: TF.max_unpool2d(o, i, 2, output_size=(9,)))
    bad = torch.full_like(i, 66)
    assert_same_error(lambda: EF.max_unpool2d(eo, to_ember(bad), 2), lambda: TF.max_unpool2d(o, bad, 2))


# ---- errors --------------------------------------------------------------------------------------------
X4 = RNG.standard_normal((2, 3, 5, 5))
POOL_ERRORS = [
    lambda F, x: F.max_pool2d(x, 2, padding=2),
    lambda F, x: F.max_pool1d(x[0], 2, padding=2),
    lambda F, x: F.max_pool3d(x, 2, padding=2),
    lambda F, x: F.max_pool2d(x, 0),
    lambda F, x: F.max_pool2d(x, 2, 0),
    lambda F, x: F.max_pool2d(x, 2, dilation=0),
    lambda F, x: F.max_pool2d(x, 6),
    lambda F, x: F.max_pool1d(x[0], 6),
    lambda F, x: F.max_pool3d(x, 6),
    lambda F, x: F.max_pool2d(x[0, 0], 2),
    lambda F, x: F.max_pool1d(x, 2),
    lambda F, x: F.max_pool3d(x[0], 2),
    lambda F, x: F.max_pool2d(x[:, :0], 2),
    lambda F, x: F.max_pool2d(x, (2, 2, 2)),
    lambda F, x: F.avg_pool2d(x, 2, padding=2),
    lambda F, x: F.avg_pool1d(x[0], 2, padding=2),
    lambda F, x: F.avg_pool2d(x, 6),
    lambda F, x: F.avg_pool1d(x[0], 6),
    lambda F, x: F.avg_pool2d(x, 2, divisor_override=0),
    lambda F, x: F.avg_pool2d(x, 2, (1, 1, 1)),
    lambda F, x: F.adaptive_avg_pool2d(x[0, 0], 2),
    lambda F, x: F.adaptive_avg_pool1d(x, 2),
    lambda F, x: F.adaptive_max_pool2d(x[0, 0], 2),
    lambda F, x: F.adaptive_avg_pool2d(x, (2, 2, 2)),
    lambda F, x: F.adaptive_avg_pool2d(x.long(), 2),
    lambda F, x: F.adaptive_max_pool2d(x.long(), 2),
    lambda F, x: F.max_pool2d(x, 3, padding=2, dilation=2),
    lambda F, x: F.max_pool3d(x.unsqueeze(0), (2, 3, 3), padding=(1, 2, 1), dilation=2),
    lambda F, x: F.max_pool1d(x[0], 3, 2, 2, 3, return_indices=True),
    lambda F, x: F.max_pool1d(x[0], 4, 1, 0, 2, return_indices=True),
    lambda F, x: F.max_pool1d(x[0], 0, 1),
    lambda F, x: F.avg_pool3d(x.unsqueeze(0), (1, 6, 2), padding=(0, 1, 1)),
    lambda F, x: F.avg_pool3d(x, 6, padding=3),
]


@pytest.mark.parametrize("i", range(len(POOL_ERRORS)))
def test_pool_errors(i):
    fn = POOL_ERRORS[i]
    assert_same_error(lambda: fn(EF, ember.tensor(X4)), lambda: fn(TF, torch.tensor(X4)))


def test_max_pool1d_padding_beyond_half_kernel():
    """max_pool1d checks padding against the kernel; its with-indices path runs the 2-d checks (as torch)."""
    x = RNG.standard_normal((2, 3, 8))
    for rg in (False, True):
        for ri in (False, True):
            assert_same_error(lambda r=rg, i=ri: EF.max_pool1d(ember.tensor(x, requires_grad=r), 3, 2, 2, 3, False, i),
                              lambda r=rg, i=ri: TF.max_pool1d(torch.tensor(x, requires_grad=r), 3, 2, 2, 3, False, i))


# ---- modules -------------------------------------------------------------------------------------------
MODULES = [
    ("MaxPool2d(2)", (2, 3, 6, 6)),
    ("MaxPool2d(3, 2, 1)", (2, 3, 7, 7)),
    ("MaxPool1d(3, 2, 1, 2, True, True)", (2, 3, 9)),
    ("MaxPool3d((2, 3, 1))", (1, 2, 4, 6, 3)),
    ("AvgPool1d(2)", (2, 3, 8)),
    ("AvgPool2d(2)", (2, 3, 6, 6)),
    ("AvgPool2d(3, 2, 1, True, False, 3)", (2, 3, 7, 7)),
    ("AvgPool3d(2)", (1, 2, 4, 4, 4)),
    ("AdaptiveAvgPool1d(3)", (2, 3, 8)),
    ("AdaptiveAvgPool2d((1, 1))", (2, 3, 6, 6)),
    ("AdaptiveAvgPool3d(2)", (1, 2, 4, 5, 4)),
    ("AdaptiveMaxPool1d(3)", (2, 3, 8)),
    ("AdaptiveMaxPool2d((2, None))", (2, 3, 6, 5)),
    ("AdaptiveMaxPool3d(2, True)", (1, 2, 4, 5, 4)),
    ("LPPool1d(1.5, 2, 1, True)", (2, 3, 8)),
    ("LPPool2d(2, 3)", (2, 3, 6, 6)),
    ("LPPool3d(2, 2)", (1, 2, 4, 4, 4)),
    ("ZeroPad1d(2)", (2, 3, 4)),
    ("ZeroPad2d((1, 2, 3, 4))", (2, 3, 4, 4)),
    ("ZeroPad3d(1)", (1, 2, 3, 3, 3)),
    ("ConstantPad1d(2, 3.5)", (2, 3, 4)),
    ("ConstantPad2d(1, 0)", (3, 4, 4)),
    ("ConstantPad3d((1, 2, 0, 1, 2, 0), 1)", (1, 2, 3, 3, 3)),
    ("ReflectionPad1d(2)", (2, 3, 4)),
    ("ReflectionPad2d((1, 0, 2, 1))", (2, 3, 4, 4)),
    ("ReflectionPad3d(1)", (1, 2, 3, 3, 3)),
    ("ReplicationPad1d((1, 2))", (2, 3, 4)),
    ("ReplicationPad2d(2)", (3, 4, 4)),
    ("ReplicationPad3d(1)", (1, 2, 3, 3, 3)),
    ("CircularPad1d(1)", (2, 3, 4)),
    ("CircularPad2d((2, 1, 0, 1))", (2, 3, 4, 4)),
    ("CircularPad3d(1)", (1, 2, 3, 3, 3)),
]


@pytest.mark.parametrize("src,shape", MODULES)
def test_modules(src, shape):
    mt, me = eval(f"tnn.{src}"), eval(f"nn.{src}")
    assert repr(me) == repr(mt)
    assert {b.__name__ for b in type(mt).__mro__[1:-2]} <= {b.__name__ for b in type(me).__mro__[1:-2]}
    x = RNG.standard_normal(shape)
    xt, xe = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    ot, oe = mt(xt), me(xe)
    if isinstance(ot, tuple):
        assert_close(oe[1], ot[1])
        ot, oe = ot[0], oe[0]
    assert_close(oe, ot)
    cot = RNG.standard_normal(tuple(ot.shape))
    ot.backward(torch.tensor(cot))
    oe.backward(ember.tensor(cot))
    assert_close(xe.grad, xt.grad)


def test_unpool_modules_and_module_errors():
    mt, me = tnn.MaxUnpool2d(2), nn.MaxUnpool2d(2)
    assert repr(me) == repr(mt)
    assert repr(nn.MaxUnpool1d(3, 2, 1)) == repr(tnn.MaxUnpool1d(3, 2, 1))
    assert repr(nn.MaxUnpool3d(2)) == repr(tnn.MaxUnpool3d(2))
    x = torch.randn(2, 3, 4, 4)
    o, i = TF.max_pool2d(x, 2, return_indices=True)
    assert_close(me(to_ember(o), to_ember(i), output_size=(5, 5)), mt(o, i, output_size=(5, 5)))
    assert_same_error(lambda: nn.CircularPad1d(1)(ember.randn(1, 1, 2, 3)),
                      lambda: tnn.CircularPad1d(1)(torch.randn(1, 1, 2, 3)))
    assert_same_error(lambda: nn.ReflectionPad2d(1)(ember.randn(3, 3)),
                      lambda: tnn.ReflectionPad2d(1)(torch.randn(3, 3)))


def test_resnet_stem_paths_float32():
    """The shapes ResNet-18 and the CNN workload use, in float32, forward and backward."""
    x = RNG.standard_normal((2, 4, 16, 16))
    compare(lambda F, t: F.max_pool2d(t, 3, 2, 1), x, dtype=np.float32)
    compare(lambda F, t: F.adaptive_avg_pool2d(t, (1, 1)), x, dtype=np.float32)
    compare(lambda F, t: F.max_pool2d(F.relu(t), 2), x, dtype=np.float32)
    assert to_torch(EF.max_pool2d(ember.tensor(x, dtype=ember.float32), 2)).dtype == torch.float32
